//! The MySQL / MariaDB store.

use std::time::Duration;

use session_core::Error;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

use crate::dialect::Dialect;

sql_store! {
    /// Sessions in a MySQL or MariaDB table (InnoDB, `LONGBLOB` records: no 64 KiB cap).
    ///
    /// # Example
    /// ```no_run
    /// # async fn demo() -> Result<(), session_core::Error> {
    /// let store = session_sql::MySqlStore::connect("mysql://root@127.0.0.1:3306/test").await?;
    /// store.migrate().await?;
    /// # Ok(()) }
    /// ```
    MySqlStore, sqlx::MySql, Dialect::MySql, "mysql"
}

impl MySqlStore {
    /// Connects a pool (up to 16 connections, 3 s acquire timeout) to `url`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a bad URL; [`Error::Unavailable`] when the server
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let pool: MySqlPool = MySqlPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await
            .map_err(|e| crate::error::map("connect", e))?;
        Ok(Self::new(pool))
    }
}
