//! The PostgreSQL store.

use session_core::Error;

/// Sessions in a PostgreSQL table.
///
/// # Example
/// ```no_run
/// # async fn demo() -> Result<(), session_core::Error> {
/// let store = session_sql::PgStore::connect("postgres://postgres@127.0.0.1:5432/test").await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
pub type PgStore = crate::SqlStore<sqlx::Postgres>;

impl crate::SqlStore<sqlx::Postgres> {
    /// Connects a pool (up to 16 connections, 3 s acquire timeout) to `url`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a bad URL; [`Error::Unavailable`] when the server
    /// cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Ok(Self::new(
            crate::store::server_pool::<sqlx::Postgres>(url).await?,
        ))
    }
}
