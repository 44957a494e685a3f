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

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, SqliteConnection};
    use std::time::Instant;

    fn temp_db(name: &str) -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        std::env::temp_dir().join(format!(
            "session-sql-{name}-{}-{nanos}.db",
            std::process::id()
        ))
    }

    /// `sqlite::memory:` is one database on one connection: concurrent calls all see the
    /// migrated table (a second connection would have a database of its own, without it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_memory_is_one_connection() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.pool().options().get_max_connections(), 1);
        let file = SqliteStore::connect(&format!("sqlite://{}", temp_db("pool").display()))
            .await
            .unwrap();
        assert_eq!(file.pool().options().get_max_connections(), 8);
    }

    /// SQLITE_BUSY from a real lock is "busy"; other errors are not.
    #[tokio::test]
    async fn busy_is_told_by_code() {
        let path = temp_db("busy");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut holder = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (k INTEGER)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .unwrap();
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .busy_timeout(Duration::ZERO);
        let mut other = SqliteConnection::connect_with(&options).await.unwrap();
        let busy = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(is_busy(&busy), "{busy}");
        let syntax = sqlx::query("SELEC 1")
            .execute(&mut other)
            .await
            .unwrap_err();
        assert!(!is_busy(&syntax), "{syntax}");
        assert!(!is_busy(&sqlx::Error::PoolTimedOut));
        let _ = std::fs::remove_file(path);
    }

    /// A file that cannot be opened fails at once, without the busy retries.
    #[tokio::test]
    async fn unopenable_file_fails_fast() {
        let start = Instant::now();
        let res = SqliteStore::connect("sqlite:///nonexistent-dir-for-session-sql/x.db").await;
        assert!(res.is_err());
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
    }
}
