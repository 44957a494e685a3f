//! Stores by URL, each with its raw baseline.

use std::sync::Arc;

use moka::sync::Cache;
use session_core::{Bytes, SessionStore};

use crate::{Raw, Target};

/// moka keyed like the store (a 34-byte key), holding the payload bytes.
struct MokaRaw {
    cache: Cache<[u8; 34], Bytes>,
    // Set once by the first `fill`, then read without a lock: a lock per operation would
    // bounce a cache line between cores, slow the baseline and flatter the ratio.
    keys: std::sync::OnceLock<Vec<[u8; 34]>>,
}

impl MokaRaw {
    fn key(&self, i: usize) -> [u8; 34] {
        let keys = self.keys.get().map_or(&[][..], Vec::as_slice);
        keys.get(i % keys.len().max(1)).copied().unwrap_or([0; 34])
    }
}

#[session_core::async_trait]
impl Raw for MokaRaw {
    async fn fill(&self, n: usize, payload: &Bytes) {
        // Later fills (the next payload size) reuse the keys and overwrite the values.
        let keys = self.keys.get_or_init(|| {
            (0..n)
                .map(|_| {
                    session_core::SessionId::generate()
                        .expect("rng")
                        .store_key()
                        .to_bytes()
                })
                .collect()
        });
        for k in keys {
            self.cache.insert(*k, payload.clone());
        }
    }
    async fn read(&self, i: usize) -> Bytes {
        self.cache.get(&self.key(i)).unwrap_or_default()
    }
    async fn write(&self, i: usize, payload: &Bytes) {
        let k = self.key(i);
        let _ = self.cache.get(&k);
        self.cache.insert(k, payload.clone());
    }
    async fn clean(&self) {}
}

#[derive(Clone)]
enum RedisConn {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl RedisConn {
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        match self {
            RedisConn::Single(c) => cmd.query_async(&mut c.clone()).await.expect("redis"),
            RedisConn::Cluster(c) => cmd.query_async(&mut c.clone()).await.expect("redis"),
        }
    }
}

struct RedisRaw {
    conn: RedisConn,
    prefix: String,
    /// The store's key prefix, and every node, for [`Raw::clean`].
    store_prefix: String,
    nodes: Vec<String>,
}

#[session_core::async_trait]
impl Raw for RedisRaw {
    async fn fill(&self, n: usize, payload: &Bytes) {
        for i in 0..n {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{}:{i}", self.prefix))
                .arg(payload.as_ref())
                .arg("PX")
                .arg(3_600_000);
            let _: () = self.conn.query(&cmd).await;
        }
    }
    async fn read(&self, i: usize) -> Bytes {
        let mut cmd = redis::cmd("GET");
        cmd.arg(format!("{}:{i}", self.prefix));
        let v: Vec<u8> = self.conn.query(&cmd).await;
        Bytes::from(v)
    }
    async fn write(&self, i: usize, payload: &Bytes) {
        let key = format!("{}:{i}", self.prefix);
        let mut get = redis::cmd("GET");
        get.arg(&key);
        let _: Vec<u8> = self.conn.query(&get).await;
        let mut set = redis::cmd("SET");
        set.arg(&key).arg(payload.as_ref()).arg("PX").arg(3_600_000);
        let _: () = self.conn.query(&set).await;
    }
    async fn clean(&self) {
        // Node by node: on a Cluster each node holds only its own slots' keys, and SCAN
        // through the cluster client would see one node. Keys go one DEL each, so no
        // command spans two slots.
        for node in &self.nodes {
            crate::redis_keys::remove_under(node, &[&self.prefix, &self.store_prefix]).await;
        }
    }
}

macro_rules! sql_raw {
    (
        $name:ident, $db:ty, $pool:ty, $store:ty, $kind:literal,
        $create:expr, $clear:expr, $select:expr, $update:expr, $insert:expr
    ) => {
        impl $name {
            /// The store on a fresh table `table`, and this raw client on `raw_table`
            /// (created and emptied) in the store's own pool.
            async fn target(url: &str, table: String, raw_table: String) -> Target {
                let s = <$store>::connect(url)
                    .await
                    .expect($kind)
                    .with_table(&table)
                    .expect("table");
                s.migrate().await.expect("migrate");
                let pool = s.pool().clone();
                for sql in [format!($create, raw_table), format!($clear, raw_table)] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&pool)
                        .await
                        .expect("raw table");
                }
                Target {
                    name: $kind.into(),
                    store: Arc::new(s),
                    raw: Arc::new($name {
                        pool,
                        table: raw_table,
                        store_table: table,
                        writes: Default::default(),
                    }),
                }
            }
        }

        struct $name {
            pool: $pool,
            table: String,
            /// The store's table, dropped with ours by [`Raw::clean`].
            store_table: String,
            /// Stamped into each written value. SQLite and InnoDB skip an UPDATE that
            /// changes nothing (no page write, no log flush), so rewriting the same bytes
            /// would measure a no-op; a session save always changes its row.
            writes: std::sync::atomic::AtomicU64,
        }

        #[session_core::async_trait]
        impl Raw for $name {
            async fn fill(&self, n: usize, payload: &Bytes) {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", self.table)))
                    .execute(&self.pool)
                    .await
                    .expect("clear");
                for i in 0..n {
                    sqlx::query(sqlx::AssertSqlSafe(format!($insert, self.table)))
                        .bind(i as i64)
                        .bind(payload.to_vec())
                        .execute(&self.pool)
                        .await
                        .expect("insert");
                }
            }
            async fn read(&self, i: usize) -> Bytes {
                let row: (Vec<u8>,) =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!($select, self.table)))
                        .bind(i as i64)
                        .fetch_one(&self.pool)
                        .await
                        .expect("select");
                Bytes::from(row.0)
            }
            async fn write(&self, i: usize, payload: &Bytes) {
                let _ = self.read(i).await;
                let value = crate::stamped(payload, &self.writes);
                sqlx::query(sqlx::AssertSqlSafe(format!($update, self.table)))
                    .bind(value)
                    .bind(i as i64)
                    .execute(&self.pool)
                    .await
                    .expect("update");
            }
            async fn clean(&self) {
                for t in [
                    self.table.clone(),
                    self.store_table.clone(),
                    format!("{}_schema", self.store_table),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {t}")))
                        .execute(&self.pool)
                        .await
                        .expect("drop");
                }
            }
        }
    };
}

sql_raw!(
    PgRaw,
    sqlx::Postgres,
    sqlx::PgPool,
    session_sql::PgStore,
    "postgres",
    "CREATE TABLE IF NOT EXISTS {} (k BIGINT PRIMARY KEY, v BYTEA NOT NULL)",
    "TRUNCATE {}",
    "SELECT v FROM {} WHERE k = $1",
    "UPDATE {} SET v = $1 WHERE k = $2",
    "INSERT INTO {} (k, v) VALUES ($1, $2)"
);
sql_raw!(
    MyRaw,
    sqlx::MySql,
    sqlx::MySqlPool,
    session_sql::MySqlStore,
    "mysql",
    "CREATE TABLE IF NOT EXISTS {} (k BIGINT PRIMARY KEY, v LONGBLOB NOT NULL)",
    "TRUNCATE {}",
    "SELECT v FROM {} WHERE k = ?",
    "UPDATE {} SET v = ? WHERE k = ?",
    "INSERT INTO {} (k, v) VALUES (?, ?)"
);
sql_raw!(
    LiteRaw,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    session_sql::SqliteStore,
    "sqlite",
    "CREATE TABLE IF NOT EXISTS {} (k INTEGER PRIMARY KEY, v BLOB NOT NULL)",
    "DELETE FROM {}",
    "SELECT v FROM {} WHERE k = ?",
    "UPDATE {} SET v = ? WHERE k = ?",
    "INSERT INTO {} (k, v) VALUES (?, ?)"
);

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", std::process::id())
}

/// Opens the store named by `url` (`memory`, `sqlite://FILE`, `redis://…`, several
/// comma-separated `redis://` nodes for a Cluster, `postgres://…`, `mysql://…`) on fresh
/// tables or key prefixes, with its raw baseline.
///
/// # Panics
/// When the server cannot be reached: this is a benchmark tool.
pub async fn open(url: &str) -> Target {
    if url == "memory" {
        let store: Arc<dyn SessionStore> = Arc::new(session_memory::MemoryStore::new());
        let raw = Arc::new(MokaRaw {
            cache: Cache::builder().max_capacity(1_000_000).build(),
            keys: Default::default(),
        });
        return Target {
            name: "memory".into(),
            store,
            raw,
        };
    }
    if url.starts_with("redis://") {
        let nodes: Vec<&str> = url.split(',').collect();
        let store_prefix = unique("bench");
        let builder = session_redis::RedisStore::builder().prefix(store_prefix.clone());
        let (name, store) = if nodes.len() > 1 {
            (
                "redis-cluster",
                builder.connect_cluster(&nodes).await.expect("cluster"),
            )
        } else {
            ("redis", builder.connect(url).await.expect("redis"))
        };
        let conn = if nodes.len() > 1 {
            let client = redis::cluster::ClusterClient::new(nodes.clone()).expect("cluster urls");
            RedisConn::Cluster(client.get_async_connection().await.expect("cluster"))
        } else {
            let client = redis::Client::open(nodes[0]).expect("url");
            RedisConn::Single(
                redis::aio::ConnectionManager::new(client)
                    .await
                    .expect("redis"),
            )
        };
        let raw = Arc::new(RedisRaw {
            conn,
            prefix: unique("rawbench"),
            store_prefix,
            nodes: nodes.iter().map(|n| (*n).to_owned()).collect(),
        });
        return Target {
            name: name.into(),
            store: Arc::new(store),
            raw,
        };
    }
    let table = unique("bench");
    let raw_table = unique("rawbench");
    if url.starts_with("postgres") {
        return PgRaw::target(url, table, raw_table).await;
    }
    if url.starts_with("mysql") {
        return MyRaw::target(url, table, raw_table).await;
    }
    if url.starts_with("sqlite") {
        return LiteRaw::target(url, table, raw_table).await;
    }
    panic!("unknown store URL {url}");
}
