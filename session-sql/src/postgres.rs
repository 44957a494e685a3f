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

    /// Connects as [`connect`](Self::connect) does, over TLS that verifies the server's
    /// certificate and host name (`sslmode=verify-full`) against `tls`'s CA (default: the
    /// public web roots), showing its client certificate if it has one. A server that
    /// offers no TLS, or a certificate the CA did not sign, is refused.
    ///
    /// The URL alone can say the same (`?sslmode=verify-full&sslrootcert=ca.pem`,
    /// `&sslcert=…&sslkey=…`) with this feature on; this takes the PEM bytes instead.
    ///
    /// # Errors
    /// As [`connect`](Self::connect); a refused handshake is [`Error::Unavailable`] with
    /// the TLS error as its cause.
    ///
    /// # Example
    /// ```no_run
    /// # async fn demo() -> Result<(), session_core::Error> {
    /// let tls = session_core::Tls::from_files(Some("/etc/db/ca.pem".as_ref()), None)?;
    /// let store = session_sql::PgStore::connect_tls("postgres://app@db.internal/app", &tls).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    #[cfg(feature = "tls-rustls")]
    pub async fn connect_tls(url: &str, tls: &session_core::Tls) -> Result<Self, Error> {
        use sqlx::postgres::{PgConnectOptions, PgSslMode};
        let mut options: PgConnectOptions = url.parse().map_err(|e| Error::InvalidSetting {
            setting: "postgres url",
            source: Box::new(e),
        })?;
        options = options.ssl_mode(PgSslMode::VerifyFull);
        if let Some(ca) = tls.ca_pem() {
            options = options.ssl_root_cert_from_pem(ca.to_vec());
        }
        if let Some((cert, key)) = tls.client_pem() {
            options = options
                .ssl_client_cert_from_pem(cert)
                .ssl_client_key_from_pem(key);
        }
        Ok(Self::new(
            crate::store::server_pool_with::<sqlx::Postgres>(options).await?,
        ))
    }
}
