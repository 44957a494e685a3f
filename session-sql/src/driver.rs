//! The databases a [`SqlStore`](crate::SqlStore) runs on: one sealed trait, implemented for
//! the three sqlx drivers this crate has features for.
//!
//! Why a trait and not three copies of the store: the store's logic (guards, retries,
//! probes, the sweep loop) is written once as generic code, so that every line of it is
//! compiled, tested and mutation-tested as itself rather than as a macro expansion.

use crate::dialect::Dialect;

/// A database that [`SqlStore`](crate::SqlStore) can keep sessions in: `sqlx::Postgres`,
/// `sqlx::MySql` or `sqlx::Sqlite`, each behind its cargo feature. Sealed: the store's
/// statements are written for exactly these three.
pub trait Driver: sqlx::Database + sealed::Sealed {}

impl<DB: sqlx::Database + sealed::Sealed> Driver for DB {}

pub(crate) mod sealed {
    /// What the store needs to know of a driver beyond sqlx's traits.
    pub trait Sealed: sqlx::Database {
        /// The SQL dialect of its statements.
        const DIALECT: crate::dialect::Dialect;
        /// The backend's name in spans and `Debug`.
        const BACKEND: &'static str;
        /// The rows a statement changed (each driver has this as an inherent method).
        fn rows_affected(result: &Self::QueryResult) -> u64;
        /// Spawns the end-notice listener on `channel` (see `notices`); `None`, the
        /// default, for a database that cannot push notices.
        fn listen(
            pool: &sqlx::Pool<Self>,
            channel: String,
            watchers: session_core::EndWatchers,
        ) -> Option<tokio::task::JoinHandle<()>> {
            let _ = (pool, channel, watchers);
            None
        }
    }
}

#[cfg(feature = "postgres")]
impl sealed::Sealed for sqlx::Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    const BACKEND: &'static str = "postgres";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
    fn listen(
        pool: &sqlx::Pool<Self>,
        channel: String,
        watchers: session_core::EndWatchers,
    ) -> Option<tokio::task::JoinHandle<()>> {
        crate::notices::postgres::start(pool.clone(), channel, watchers)
    }
}

#[cfg(feature = "mysql")]
impl sealed::Sealed for sqlx::MySql {
    const DIALECT: Dialect = Dialect::MySql;
    const BACKEND: &'static str = "mysql";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

#[cfg(feature = "sqlite")]
impl sealed::Sealed for sqlx::Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    const BACKEND: &'static str = "sqlite";
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}
