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

    /// Connects as [`connect`](Self::connect) does, over TLS that verifies the server's
    /// certificate and host name (`ssl-mode=VERIFY_IDENTITY`) against `tls`'s CA (default:
    /// the public web roots), showing its client certificate if it has one. A server that
    /// offers no TLS, or a certificate the CA did not sign, is refused.
    ///
    /// # Errors
    /// As [`connect`](Self::connect); a refused handshake is [`Error::Unavailable`] with
    /// the TLS error as its cause.
    ///
    /// # Example
    /// ```no_run
    /// # async fn demo() -> Result<(), session_core::Error> {
    /// let tls = session_core::Tls::from_files(Some("/etc/db/ca.pem".as_ref()), None)?;
    /// let store = session_sql::MySqlStore::connect_tls("mysql://app@db.internal/app", &tls).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    #[cfg(feature = "tls-rustls")]
    pub async fn connect_tls(url: &str, tls: &session_core::Tls) -> Result<Self, Error> {
        use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
        let mut options: MySqlConnectOptions = url.parse().map_err(|e| Error::InvalidSetting {
            setting: "mysql url",
            source: Box::new(e),
        })?;
        options = options.ssl_mode(MySqlSslMode::VerifyIdentity);
        if let Some(ca) = tls.ca_pem() {
            options = options.ssl_ca_from_pem(ca.to_vec());
        }
        if let Some((cert, key)) = tls.client_pem() {
            options = options
                .ssl_client_cert_from_pem(cert)
                .ssl_client_key_from_pem(key);
        }
        Ok(Self::new(
            crate::store::server_pool_with::<sqlx::MySql>(options).await?,
        ))
    }
}
