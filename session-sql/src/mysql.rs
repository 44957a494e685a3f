//! The MySQL / MariaDB store.

use session_core::Error;

/// Sessions in a MySQL or MariaDB table (InnoDB, `LONGBLOB` records: no 64 KiB cap).
///
/// # Example
/// ```no_run
/// # async fn demo() -> Result<(), session_core::Error> {
/// let store = session_sql::MySqlStore::connect("mysql://root@127.0.0.1:3306/test").await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
pub type MySqlStore = crate::SqlStore<sqlx::MySql>;

impl crate::SqlStore<sqlx::MySql> {
    /// Connects a pool (up to 16 connections, 3 s acquire timeout) to `url`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a bad URL; [`Error::Unavailable`] when the server
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Ok(Self::new(
            crate::store::server_pool::<sqlx::MySql>(url).await?,
        ))
    }
}
