//! sqlx errors, mapped to the portable kinds of `session_core::Error`.

use session_core::Error;

/// Maps a driver error. Everything that is not a rejected setting counts as the backend
/// being unavailable: lost connections, killed backends, deadlocks and pool timeouts are
/// all worth retrying later.
pub(crate) fn map(operation: &'static str, e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::PoolTimedOut => Error::Timeout { operation },
        sqlx::Error::Configuration(source) => Error::InvalidSetting {
            setting: "database url",
            source,
        },
        other => Error::unavailable(operation, other),
    }
}

/// True for a unique or primary-key violation (a create or rotation onto a taken key).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True for an error worth retrying at once inside one call: PostgreSQL serialization
/// failure (SQLSTATE 40001) and deadlock (40P01); MySQL and MariaDB deadlock (error 1213,
/// SQLSTATE 40001) and lock wait timeout (error 1205, whose SQLSTATE is the generic HY000,
/// so it is told by the driver's error number, never by the message text).
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("40001" | "40P01"))
                || matches!(mysql_number(d.as_ref()), Some(1213 | 1205))
        }
        _ => false,
    }
}

/// The MySQL / MariaDB error number of a database error, when it is one.
fn mysql_number(d: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    #[cfg(feature = "mysql")]
    {
        d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(sqlx::mysql::MySqlDatabaseError::number)
    }
    #[cfg(not(feature = "mysql"))]
    {
        let _ = d;
        None
    }
}

/// Runs `attempt` again, up to four more times, while it fails with a transient error
/// ([`is_transient`]): InnoDB picks a victim when a delete, an owner-wide delete and a
/// touch or rotation lock the same rows and index entries in different orders, and
/// PostgreSQL can do the same. Each statement it wraps is one atomic write that the
/// database rolled back whole, so running it again is safe.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e) if is_transient(&e) && retries < 4 => {
                retries += 1;
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    /// Real driver errors are told apart by kind: a duplicate key is a unique violation and
    /// not transient; a syntax error and a missing row are neither; a non-transient error
    /// is not retried.
    #[tokio::test]
    async fn errors_are_classified_by_kind() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&pool)
            .await
            .unwrap();
        let dup = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(is_unique_violation(&dup));
        assert!(!is_transient(&dup));
        let syntax = sqlx::query("SELEC 1").execute(&pool).await.unwrap_err();
        assert!(!is_unique_violation(&syntax));
        assert!(!is_transient(&syntax));
        assert!(!is_unique_violation(&sqlx::Error::RowNotFound));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
        let mut attempts = 0;
        let res: Result<(), sqlx::Error> = retrying(|| {
            attempts += 1;
            async { Err(sqlx::Error::RowNotFound) }
        })
        .await;
        assert!(res.is_err());
        assert_eq!(attempts, 1, "a non-transient error is not retried");
        assert!(matches!(
            map("load", sqlx::Error::PoolTimedOut),
            Error::Timeout { operation: "load" }
        ));
    }
}
