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
//! to decode. The table and the pool are session-sql's own: a store opened on a table of
//! this side's and migrated, so the columns, indexes and pool sizes are the library's
//! rather than a copy of them.

use std::sync::atomic::AtomicU64;

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
    ($name:ident, $store:ty, $pool:ty, $kind:literal, $insert:expr, $load:expr, $save:expr) => {
        pub(crate) struct $name {
            pool: $pool,
            table: String,
            body: Bytes,
            n: usize,
            writes: AtomicU64,
        }

        impl $name {
            /// session-sql's table `shape_<pid>` at `url`, migrated and emptied, holding
            /// `n` rows of `body`; its store's pool.
            async fn new(url: &str, n: usize, body: &Bytes) -> Self {
                let table = format!("shape_{}", std::process::id());
                let store = <$store>::connect(url)
                    .await
                    .expect($kind)
                    .with_table(&table)
                    .expect("table");
                store.migrate().await.expect("migrate");
                let pool = store.pool().clone();
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&pool)
                    .await
                    .expect("empty the table");
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
                for t in [self.table.clone(), format!("{}_schema", self.table)] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {t}")))
                        .execute(&self.pool)
                        .await
                        .expect("drop");
                }
            }
        }
    };
}

shape!(
    PgShape,
    session_sql::PgStore,
    sqlx::PgPool,
    "postgres",
    "INSERT INTO {t} (skey, record, version, expires_at, owner_id, created_at, last_seen, \
     sweep_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    "SELECT record, expires_at, last_seen, version FROM {t} WHERE skey = $1 AND expires_at > $2",
    "UPDATE {t} SET record = $1, version = $2, expires_at = $3, owner_id = $4, last_seen = $5 \
     WHERE skey = $6 AND version = $7 AND expires_at > $8"
);
shape!(
    MyShape,
    session_sql::MySqlStore,
    sqlx::MySqlPool,
    "mysql",
    INSERT,
    LOAD,
    SAVE
);
shape!(
    LiteShape,
    session_sql::SqliteStore,
    sqlx::SqlitePool,
    "sqlite",
    INSERT,
    LOAD,
    SAVE
);

/// This side on the database at `url`, on session-sql's table and pool.
pub(crate) async fn contender(url: &str, n: usize, body: &Bytes) -> std::sync::Arc<dyn Contender> {
    if url.starts_with("postgres") {
        std::sync::Arc::new(PgShape::new(url, n, body).await)
    } else if url.starts_with("mysql") {
        std::sync::Arc::new(MyShape::new(url, n, body).await)
    } else {
        std::sync::Arc::new(LiteShape::new(url, n, body).await)
    }
}
