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

/// Database errors made up in tests: an error with only a code, as drivers report them.
#[cfg(test)]
pub(crate) mod stand_in {
    use std::borrow::Cow;
    use std::error::Error as StdError;

    /// A database error that has only a SQLSTATE (and whether it is a unique violation),
    /// as the PostgreSQL driver reports one.
    #[derive(Debug)]
    pub(crate) struct Coded(&'static str, bool);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "sqlstate {}", self.0)
        }
    }

    impl StdError for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            "coded"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            if self.1 {
                sqlx::error::ErrorKind::UniqueViolation
            } else {
                sqlx::error::ErrorKind::Other
            }
        }
    }

    /// A `sqlx::Error::Database` that carries only `code`.
    pub(crate) fn db(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded(code, false)))
    }

    /// A unique violation (SQLSTATE 23505), as a create on a taken key gets it.
    pub(crate) fn unique_violation() -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded("23505", true)))
    }
}

/// The classification and the retry loop on errors of a given SQLSTATE, without a server.
#[cfg(test)]
mod classification {
    use super::stand_in::db;
    use super::*;
    use std::time::Duration;

    /// Serialization failure and deadlock are transient; a unique violation, a generic
    /// error and a non-database error are not.
    #[test]
    fn sqlstates_are_classified() {
        assert!(is_transient(&db("40001")));
        assert!(is_transient(&db("40P01")));
        for code in ["23505", "HY000", "40000", "57P01"] {
            assert!(!is_transient(&db(code)), "{code}");
        }
        assert!(!is_transient(&sqlx::Error::PoolTimedOut));
        assert!(!is_unique_violation(&db("40001")));
    }

    /// Runs `retrying` on an attempt that fails transiently `failures` times, then
    /// succeeds; gives the result and the number of attempts (bounded in time, so a loop
    /// that never ends fails the test instead of hanging it).
    async fn run(failures: usize) -> (Result<(), sqlx::Error>, usize) {
        let mut attempts = 0;
        let res = tokio::time::timeout(
            Duration::from_secs(5),
            retrying(|| {
                attempts += 1;
                let fail = attempts <= failures;
                async move { if fail { Err(db("40P01")) } else { Ok(()) } }
            }),
        )
        .await
        .expect("the retry loop did not end");
        (res, attempts)
    }

    /// A transient error is retried up to four times: four failures then a success is a
    /// success after five attempts; five failures are returned after five attempts.
    #[tokio::test]
    async fn transient_errors_are_retried_four_times() {
        let (res, attempts) = run(0).await;
        assert!(res.is_ok());
        assert_eq!(attempts, 1);
        let (res, attempts) = run(2).await;
        assert!(res.is_ok());
        assert_eq!(attempts, 3);
        let (res, attempts) = run(4).await;
        assert!(res.is_ok(), "four retries were not made");
        assert_eq!(attempts, 5);
        let (res, attempts) = run(usize::MAX).await;
        assert!(res.is_err_and(|e| is_transient(&e)));
        assert_eq!(attempts, 5, "not exactly four retries");
    }
}

/// MariaDB's own lock errors, provoked on purpose, told apart by error number.
#[cfg(all(test, feature = "mysql"))]
mod mysql_errors {
    use super::*;
    use sqlx::Connection;

    /// A lock wait timeout (1205, whose SQLSTATE is the generic HY000) and a deadlock
    /// (1213) from a real server are transient; a syntax error from it is not.
    #[tokio::test]
    async fn lock_wait_timeout_and_deadlock_are_transient() {
        let url = test_support::url(test_support::Server::Mysql);
        let connect = || sqlx::MySqlConnection::connect(&url);
        let (mut setup, mut a, mut b) = (
            connect().await.unwrap(),
            connect().await.unwrap(),
            connect().await.unwrap(),
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let t = format!("lock_errors_{}_{nanos}", std::process::id());
        for q in [
            format!("CREATE TABLE {t} (k INT PRIMARY KEY, v INT) ENGINE=InnoDB"),
            format!("INSERT INTO {t} VALUES (1, 0), (2, 0)"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(q))
                .execute(&mut setup)
                .await
                .unwrap();
        }
        let update = |k: i32| format!("UPDATE {t} SET v = v + 1 WHERE k = {k}");

        sqlx::query("SET SESSION innodb_lock_wait_timeout = 1")
            .execute(&mut b)
            .await
            .unwrap();
        for c in [&mut a, &mut b] {
            sqlx::query("BEGIN").execute(&mut *c).await.unwrap();
        }
        sqlx::query(sqlx::AssertSqlSafe(update(1)))
            .execute(&mut a)
            .await
            .unwrap();
        let wait = sqlx::query(sqlx::AssertSqlSafe(update(1)))
            .execute(&mut b)
            .await
            .unwrap_err();
        let code = match &wait {
            sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
            _ => None,
        };
        assert_eq!(code.as_deref(), Some("HY000"), "{wait}");
        assert!(is_transient(&wait), "lock wait timeout: {wait}");

        // b holds row 2, a holds row 1; each now asks for the other's.
        sqlx::query(sqlx::AssertSqlSafe(update(2)))
            .execute(&mut b)
            .await
            .unwrap();
        let (ra, rb) = tokio::join!(
            sqlx::query(sqlx::AssertSqlSafe(update(2))).execute(&mut a),
            async {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                sqlx::query(sqlx::AssertSqlSafe(update(1)))
                    .execute(&mut b)
                    .await
            }
        );
        let deadlock = ra
            .err()
            .or(rb.err())
            .expect("neither update was chosen as the victim");
        assert!(is_transient(&deadlock), "deadlock: {deadlock}");

        let syntax = sqlx::query("SELEC 1")
            .execute(&mut setup)
            .await
            .unwrap_err();
        assert!(!is_transient(&syntax));
        for c in [&mut a, &mut b] {
            let _ = sqlx::query("ROLLBACK").execute(&mut *c).await;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {t}")))
            .execute(&mut setup)
            .await
            .unwrap();
    }
}
