//! Raw sqlx 0.9 running session-sql's own statements on a table of its shape, with none of
//! the library around them: no handle, no record to decode or encode, no retry or probe.
//!
//! It splits "ours ÷ raw" in two measured parts: this side ÷ raw is what our statements
//! cost against a plain select and update by primary key (a wider row, the guarded
//! five-column `UPDATE` that is the compare-and-swap and the no-resurrection check, an
//! index on `owner_id`); ours ÷ this side is what the library's own code costs on top.
//! Shown beside the peers, never counted as one.
//!
//! The statements are session-sql's `load` and `save` (`session-sql/src/dialect.rs`), with
//! `version` read by the select so that the compare-and-swap can be stated without a record
//! to decode; the table has session-sql's columns and owner index.

use std::str::FromStr as _;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use session_core::{Bytes, Clock as _, SystemClock, async_trait};

use crate::contender::Contender;

/// Milliseconds since the epoch, from the clock the stores use.
fn now_ms() -> i64 {
    SystemClock.now().as_millis()
}

/// session-sql's statements in the `?` dialects (MySQL and SQLite); `{t}` is the table.
const INSERT: &str = "INSERT INTO {t} (skey, record, version, expires_at, owner_id, created_at, \
                      last_seen, sweep_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
const LOAD: &str =
    "SELECT record, expires_at, last_seen, version FROM {t} WHERE skey = ? AND expires_at > ?";
const SAVE: &str = "UPDATE {t} SET record = ?, version = ?, expires_at = ?, owner_id = ?, \
                    last_seen = ? WHERE skey = ? AND version = ? AND expires_at > ?";

/// A 34-byte primary key, as long as a store key's bytes.
fn skey(i: usize) -> Vec<u8> {
    let mut k = vec![0u8; 34];
    k[26..].copy_from_slice(&(i as u64).to_be_bytes());
    k
}

/// An hour, as the sessions' idle expiry.
const TTL_MS: i64 = 3_600_000;

macro_rules! shape {
    (
        $name:ident, $pool:ty, $create:literal, [$($index:literal),*], $insert:expr,
        $load:expr, $save:expr
    ) => {
        pub(crate) struct $name {
            pool: $pool,
            table: String,
            body: Bytes,
            n: usize,
            writes: AtomicU64,
        }

        impl $name {
            async fn new(pool: $pool, n: usize, body: &Bytes) -> Self {
                let table = format!("shape_{}", std::process::id());
                // MySQL declares its indexes inside the CREATE: no pushes there.
                #[allow(unused_mut)]
                let mut ddl = vec![format!("DROP TABLE IF EXISTS {table}"), format!($create, table)];
                $(ddl.push(format!($index, table));)*
                for sql in ddl {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&pool)
                        .await
                        .expect("shape table");
                }
                let now = now_ms();
                for i in 0..n {
                    sqlx::query(sqlx::AssertSqlSafe($insert.replace("{t}", &table)))
                        .bind(skey(i))
                        .bind(body.to_vec())
                        .bind(1_i64)
                        .bind(now + TTL_MS)
                        .bind(None::<String>)
                        .bind(now)
                        .bind(now)
                        .bind(now + TTL_MS)
                        .execute(&pool)
                        .await
                        .expect("insert");
                }
                Self {
                    pool,
                    table,
                    body: body.clone(),
                    n,
                    writes: AtomicU64::new(0),
                }
            }
        }

        #[async_trait]
        impl Contender for $name {
            fn name(&self) -> &'static str {
                "raw, our statements"
            }
            fn is_peer(&self) -> bool {
                false
            }
            async fn request(&self, i: usize) {
                let key = skey(i % self.n);
                let now = now_ms();
                let row: Option<(Vec<u8>, i64, i64, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe($load.replace("{t}", &self.table)))
                        .bind(key.clone())
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await
                        .expect("load");
                let Some((_, _, _, version)) = row else {
                    return;
                };
                let value = session_benches::stamped(&self.body, &self.writes);
                // A lost compare-and-swap (two users on one row) updates nothing, as ours
                // would report a conflict; either way the statement ran.
                sqlx::query(sqlx::AssertSqlSafe($save.replace("{t}", &self.table)))
                    .bind(value)
                    .bind(version + 1)
                    .bind(now + TTL_MS)
                    .bind(None::<String>)
                    .bind(now)
                    .bind(key)
                    .bind(version)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .expect("save");
            }
            async fn create_delete(&self) {
                unreachable!("SQL backends run the request workload only")
            }
            async fn clean(&self) {
                let sql = format!("DROP TABLE IF EXISTS {}", self.table);
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&self.pool)
                    .await
                    .expect("drop");
            }
        }
    };
}

shape!(
    PgShape,
    sqlx::PgPool,
    "CREATE TABLE {} (skey BYTEA PRIMARY KEY, record BYTEA NOT NULL, version BIGINT NOT NULL, \
     expires_at BIGINT NOT NULL, owner_id TEXT, created_at BIGINT NOT NULL, \
     last_seen BIGINT NOT NULL, lock_token BIGINT NOT NULL DEFAULT 0, \
     lock_until BIGINT NOT NULL DEFAULT 0, sweep_after BIGINT NOT NULL DEFAULT 0)",
    [
        "CREATE INDEX ON {} (owner_id)",
        "CREATE INDEX ON {} (sweep_after)"
    ],
    "INSERT INTO {t} (skey, record, version, expires_at, owner_id, created_at, last_seen, \
     sweep_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    "SELECT record, expires_at, last_seen, version FROM {t} WHERE skey = $1 AND expires_at > $2",
    "UPDATE {t} SET record = $1, version = $2, expires_at = $3, owner_id = $4, last_seen = $5 \
     WHERE skey = $6 AND version = $7 AND expires_at > $8"
);
shape!(
    MyShape,
    sqlx::MySqlPool,
    "CREATE TABLE {} (skey VARBINARY(34) NOT NULL PRIMARY KEY, record LONGBLOB NOT NULL, \
     version BIGINT NOT NULL, expires_at BIGINT NOT NULL, owner_id VARCHAR(255) NULL, \
     created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL, \
     lock_token BIGINT NOT NULL DEFAULT 0, lock_until BIGINT NOT NULL DEFAULT 0, \
     sweep_after BIGINT NOT NULL DEFAULT 0, INDEX owner_idx (owner_id), \
     INDEX sweep_idx (sweep_after)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    [],
    INSERT,
    LOAD,
    SAVE
);
shape!(
    LiteShape,
    sqlx::SqlitePool,
    "CREATE TABLE {} (skey BLOB PRIMARY KEY, record BLOB NOT NULL, version INTEGER NOT NULL, \
     expires_at INTEGER NOT NULL, owner_id TEXT, created_at INTEGER NOT NULL, \
     last_seen INTEGER NOT NULL, lock_token INTEGER NOT NULL DEFAULT 0, \
     lock_until INTEGER NOT NULL DEFAULT 0, sweep_after INTEGER NOT NULL DEFAULT 0)",
    [
        "CREATE INDEX IF NOT EXISTS shape_owner_idx ON {} (owner_id)",
        "CREATE INDEX IF NOT EXISTS shape_sweep_idx ON {} (sweep_after)"
    ],
    INSERT,
    LOAD,
    SAVE
);

/// This side on the database at `url`, pooled as session-sql pools (16 connections on
/// PostgreSQL and MySQL; 8 on a SQLite file in WAL mode with a 5 s busy timeout).
pub(crate) async fn contender(url: &str, n: usize, body: &Bytes) -> std::sync::Arc<dyn Contender> {
    if url.starts_with("postgres") {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .expect("postgres");
        std::sync::Arc::new(PgShape::new(pool, n, body).await)
    } else if url.starts_with("mysql") {
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .expect("mysql");
        std::sync::Arc::new(MyShape::new(pool, n, body).await)
    } else {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .expect("sqlite url")
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(5))
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .expect("sqlite");
        std::sync::Arc::new(LiteShape::new(pool, n, body).await)
    }
}
