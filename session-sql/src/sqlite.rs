//! The SQLite store: embedded, no server, sessions survive a restart.

use std::str::FromStr;
use std::time::Duration;

use session_core::Error;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

/// Sessions in a SQLite table.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), session_core::Error> {
/// let store = session_sql::SqliteStore::connect("sqlite::memory:").await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
pub type SqliteStore = crate::SqlStore<sqlx::Sqlite>;

impl crate::SqlStore<sqlx::Sqlite> {
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
        let pool = while_busy(|| {
            SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { 8 })
                .acquire_timeout(Duration::from_secs(10))
                // An in-memory database lives as long as its connection: keep it.
                .idle_timeout(None)
                .max_lifetime(None)
                .min_connections(u32::from(in_memory))
                .connect_with(options.clone())
        })
        .await
        .map_err(|e| crate::error::map("connect", e))?;
        Ok(Self::new(pool))
    }
}

/// How many times a connect told "busy" is tried again, and how long apart: a second in
/// all, far longer than switching a file to WAL takes.
const BUSY_RETRIES: u32 = 50;
const BUSY_PAUSE: Duration = Duration::from_millis(20);

/// Runs `attempt` until it succeeds, fails with anything but "busy", or has been retried
/// [`BUSY_RETRIES`] times.
async fn while_busy<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e) if retries < BUSY_RETRIES && is_busy(&e) => {
                retries += 1;
                tokio::time::sleep(BUSY_PAUSE).await;
            }
            other => return other,
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
    use crate::error::stand_in::db;
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

    /// Runs `while_busy` on an attempt that answers "busy" `busy` times before `last`;
    /// returns the outcome and the number of attempts.
    async fn busy_then(busy: u32, last: Result<(), sqlx::Error>) -> (Result<(), sqlx::Error>, u32) {
        let calls = std::cell::Cell::new(0);
        let mut last = Some(last);
        let res = while_busy(|| {
            calls.set(calls.get() + 1);
            let out = if calls.get() <= busy {
                Err(db("5"))
            } else {
                last.take().expect("called once more after the last answer")
            };
            async move { out }
        })
        .await;
        (res, calls.get())
    }

    /// "Busy" is retried, 20 ms apart, until the connect succeeds; after the last of 50
    /// retries, or on any other error, the error is the answer.
    #[tokio::test(start_paused = true)]
    async fn busy_connects_are_retried_fifty_times() {
        let start = tokio::time::Instant::now();
        let (res, calls) = busy_then(3, Ok(())).await;
        assert!(res.is_ok());
        assert_eq!(calls, 4);
        assert_eq!(start.elapsed(), BUSY_PAUSE * 3);

        let (res, calls) = busy_then(BUSY_RETRIES, Ok(())).await;
        assert!(res.is_ok(), "the 50th retry may still succeed");
        assert_eq!(calls, BUSY_RETRIES + 1);

        let (res, calls) = busy_then(1000, Ok(())).await;
        assert!(res.as_ref().is_err_and(is_busy), "{res:?}");
        assert_eq!(calls, BUSY_RETRIES + 1, "one attempt and fifty retries");

        let (res, calls) = busy_then(0, Err(db("14"))).await;
        assert!(res.is_err());
        assert_eq!(calls, 1, "a file that cannot be opened is not retried");
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
