//! The SQL sides, on one database: ours, and raw sqlx 0.9 in ours' pool (session-bench's
//! baseline: a select and an update by primary key); tower-sessions' sqlx store, which is
//! on sqlx 0.8, and raw sqlx 0.8 doing the same select + update, so that each side can be
//! put against the raw client of its own sqlx as well; and raw sqlx 0.9 running our own
//! statements (`shape`), which splits ours ÷ raw into the statements' share and the
//! library's.
//!
//! Pools are sized alike: 16 connections on PostgreSQL and MySQL, 8 on a SQLite file in
//! WAL mode with a 5 s busy timeout, as session-sql opens them.

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use session_benches::{Raw, Sessions};
use session_core::{Bytes, SessionConfig, async_trait};
use tower_sessions_sqlx_store::sqlx as sqlx08;

use crate::contender::{Contender, Ours, TowerSessions};

/// Raw sqlx 0.9 in ours' pool: session-bench's baseline.
struct RawSql {
    raw: Arc<dyn Raw>,
    body: Bytes,
}

#[async_trait]
impl Contender for RawSql {
    fn name(&self) -> &'static str {
        "raw sqlx 0.9"
    }
    async fn request(&self, i: usize) {
        self.raw.write(i, &self.body).await;
    }
    async fn create_delete(&self) {
        unreachable!("SQL backends run the request workload only")
    }
    async fn clean(&self) {
        self.raw.clean().await;
    }
}

/// A table of `(k, v)` rows for the raw sqlx 0.8 client, and the statements on it.
macro_rules! raw08 {
    ($name:ident, $pool:ty, $create:literal, $select:literal, $update:literal, $insert:literal) => {
        struct $name {
            pool: $pool,
            table: String,
            /// tower-sessions' table on the same pool, which the peer cannot drop itself:
            /// `clean` drops it with this one's.
            peer_table: String,
            body: Bytes,
            /// Stamped into each written value, as session-bench's raw client does: SQLite
            /// and InnoDB skip an update that changes nothing.
            writes: AtomicU64,
        }

        impl $name {
            async fn new(pool: $pool, peer_table: String, n: usize, body: &Bytes) -> Self {
                let table = format!("raw08_{}", std::process::id());
                for sql in [
                    format!("DROP TABLE IF EXISTS {table}"),
                    format!($create, table),
                ] {
                    sqlx08::query(&sql).execute(&pool).await.expect("raw table");
                }
                let insert = format!($insert, table);
                for i in 0..n {
                    sqlx08::query(&insert)
                        .bind(i as i64)
                        .bind(body.to_vec())
                        .execute(&pool)
                        .await
                        .expect("insert");
                }
                Self {
                    pool,
                    table,
                    peer_table,
                    body: body.clone(),
                    writes: AtomicU64::new(0),
                }
            }
        }

        #[async_trait]
        impl Contender for $name {
            fn name(&self) -> &'static str {
                "raw sqlx 0.8"
            }
            fn is_peer(&self) -> bool {
                false
            }
            async fn request(&self, i: usize) {
                let select = format!($select, self.table);
                let _: (Vec<u8>,) = sqlx08::query_as(&select)
                    .bind(i as i64)
                    .fetch_one(&self.pool)
                    .await
                    .expect("select");
                let value = session_benches::stamped(&self.body, &self.writes);
                let update = format!($update, self.table);
                sqlx08::query(&update)
                    .bind(value)
                    .bind(i as i64)
                    .execute(&self.pool)
                    .await
                    .expect("update");
            }
            async fn create_delete(&self) {
                unreachable!("SQL backends run the request workload only")
            }
            async fn clean(&self) {
                for t in [&self.table, &self.peer_table] {
                    let sql = format!("DROP TABLE IF EXISTS {t}");
                    sqlx08::query(&sql).execute(&self.pool).await.expect("drop");
                }
            }
        }
    };
}

raw08!(
    RawPg08,
    sqlx08::PgPool,
    "CREATE TABLE {} (k BIGINT PRIMARY KEY, v BYTEA NOT NULL)",
    "SELECT v FROM {} WHERE k = $1",
    "UPDATE {} SET v = $1 WHERE k = $2",
    "INSERT INTO {} (k, v) VALUES ($1, $2)"
);
raw08!(
    RawMy08,
    sqlx08::MySqlPool,
    "CREATE TABLE {} (k BIGINT PRIMARY KEY, v LONGBLOB NOT NULL)",
    "SELECT v FROM {} WHERE k = ?",
    "UPDATE {} SET v = ? WHERE k = ?",
    "INSERT INTO {} (k, v) VALUES (?, ?)"
);
raw08!(
    RawLite08,
    sqlx08::SqlitePool,
    "CREATE TABLE {} (k INTEGER PRIMARY KEY, v BLOB NOT NULL)",
    "SELECT v FROM {} WHERE k = ?",
    "UPDATE {} SET v = ? WHERE k = ?",
    "INSERT INTO {} (k, v) VALUES (?, ?)"
);

/// Every side on the database at `url` (`postgres://…`, `mysql://…` or `sqlite://FILE`),
/// with `n` sessions holding `body` each.
pub(crate) async fn contenders(url: &str, n: usize, body: &Bytes) -> Vec<Arc<dyn Contender>> {
    let target = session_benches::open(url).await;
    target.raw.fill(n, body).await;
    let ours: Arc<dyn Contender> = Arc::new(Ours {
        name: "ours",
        sessions: Sessions::create(&target.store, n, body).await,
        store: target.store.clone(),
        config: Arc::new(SessionConfig::default()),
        body: body.clone(),
    });
    let raw: Arc<dyn Contender> = Arc::new(RawSql {
        raw: target.raw.clone(),
        body: body.clone(),
    });
    let table = format!("ts_{}", std::process::id());
    let (peer, raw08): (Arc<dyn Contender>, Arc<dyn Contender>) = if url.starts_with("postgres") {
        let pool = sqlx08::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .expect("postgres (sqlx 0.8)");
        let store = tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
            .with_table_name(&table)
            .expect("table name");
        store.migrate().await.expect("tower-sessions migrate");
        (
            Arc::new(TowerSessions::new("ts postgres", store, n, body).await),
            Arc::new(RawPg08::new(pool, format!("\"tower_sessions\".\"{table}\""), n, body).await),
        )
    } else if url.starts_with("mysql") {
        let pool = sqlx08::mysql::MySqlPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .expect("mysql (sqlx 0.8)");
        let store = tower_sessions_sqlx_store::MySqlStore::new(pool.clone())
            .with_table_name(&table)
            .expect("table name");
        store.migrate().await.expect("tower-sessions migrate");
        (
            Arc::new(TowerSessions::new("ts mysql", store, n, body).await),
            Arc::new(RawMy08::new(pool, format!("`tower_sessions`.`{table}`"), n, body).await),
        )
    } else {
        let options = sqlx08::sqlite::SqliteConnectOptions::from_str(url)
            .expect("sqlite url")
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(5))
            .journal_mode(sqlx08::sqlite::SqliteJournalMode::Wal);
        let pool = sqlx08::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .expect("sqlite (sqlx 0.8)");
        let store = tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
            .with_table_name(&table)
            .expect("table name");
        store.migrate().await.expect("tower-sessions migrate");
        (
            Arc::new(TowerSessions::new("ts sqlite", store, n, body).await),
            Arc::new(RawLite08::new(pool, format!("\"{table}\""), n, body).await),
        )
    };
    let shape = crate::shape::contender(url, n, body).await;
    vec![raw, ours, peer, raw08, shape]
}
