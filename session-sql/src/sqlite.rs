//! The SQLite store: embedded, no server, sessions survive a restart.

use std::str::FromStr;
use std::time::Duration;

use session_core::Error;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::dialect::Dialect;

sql_store! {
    /// Sessions in a SQLite table.
    ///
    /// # Example
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), session_core::Error> {
    /// let store = session_sql::SqliteStore::connect("sqlite::memory:").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    SqliteStore, sqlx::Sqlite, Dialect::Sqlite, "sqlite"
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, such as `sqlite://sessions.db`, in
    /// WAL mode with a 5 s busy timeout. `sqlite::memory:` gives a private in-memory
    /// database on a single connection (each connection would otherwise see its own).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a bad URL; [`Error::Unavailable`] when the file cannot
    /// be opened.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| crate::error::map("connect", e))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(5));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = if in_memory {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        };
        // Switching a file to WAL takes a lock that the busy timeout does not cover: when
        // several processes (or tests) open the same file at once, one may be told
        // "database is locked". That is worth a few quick retries, not a failed start.
        let mut attempt = 0;
        loop {
            let res = SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { 8 })
                .acquire_timeout(Duration::from_secs(10))
                // An in-memory database lives as long as its connection: keep it.
                .idle_timeout(None)
                .max_lifetime(None)
                .min_connections(u32::from(in_memory))
                .connect_with(options.clone())
                .await;
            match res {
                Ok(pool) => return Ok(Self::new(pool)),
                Err(e) if attempt < 50 && is_busy(&e) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(crate::error::map("connect", e)),
            }
        }
    }
}

fn is_busy(e: &sqlx::Error) -> bool {
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6).
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5" | "6")))
}
