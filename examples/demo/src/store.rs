//! Opens the session store named by a URL, so one flag switches backends.

use std::sync::Arc;

use session_core::SessionStore;

/// Why the store could not be opened; printed at startup.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no store we know.
    #[error(
        "unknown store URL {0:?}: use memory, sqlite://FILE, redis://HOST:PORT, \
         a comma-separated list of redis:// nodes (Cluster), postgres://… or mysql://…"
    )]
    Unknown(String),
    /// The database file could not be created.
    #[error("could not create {path}")]
    File {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store was named but could not be reached or set up.
    #[error("could not open the {kind} store at {url}")]
    Open {
        /// Which backend.
        kind: &'static str,
        /// The URL (without credentials).
        url: String,
        /// Why.
        #[source]
        source: session_core::Error,
    },
}

/// `url` with its credentials replaced by `***`: what may be printed or logged.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Opens `url`; SQL stores are migrated.
///
/// # Errors
/// [`StoreError`] with what went wrong.
pub async fn open(url: &str) -> Result<Arc<dyn SessionStore>, StoreError> {
    let fail = |kind: &'static str| {
        let url = redact(url);
        move |source| StoreError::Open { kind, url, source }
    };
    if url == "memory" {
        return Ok(Arc::new(session_memory::MemoryStore::new()));
    }
    if url.starts_with("sqlite:") {
        if let Some(path) = sqlite_file(url) {
            if !path.exists() {
                // Created by us, readable by the owner only; SQLite gives its -wal and
                // -shm files the database file's permissions.
                write_private(&path, b"").map_err(|e| StoreError::File {
                    path: path.display().to_string(),
                    source: e,
                })?;
            }
        }
        let s = session_sql::SqliteStore::connect(url)
            .await
            .map_err(fail("SQLite"))?;
        s.migrate().await.map_err(fail("SQLite"))?;
        return Ok(Arc::new(s));
    }
    // `tls_ca`, `tls_cert` and `tls_key` name PEM files: the CA the server's certificate
    // must chain to and the client certificate to show (for a Cluster, after the last node).
    let (url, tls) = session_core::Tls::from_url(url).map_err(fail("TLS-configured"))?;
    let url = url.as_str();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let s = match &tls {
            Some(tls) => session_sql::PgStore::connect_tls(url, tls).await,
            None => session_sql::PgStore::connect(url).await,
        }
        .map_err(fail("PostgreSQL"))?;
        s.migrate().await.map_err(fail("PostgreSQL"))?;
        return Ok(Arc::new(s));
    }
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        let url = url.replacen("mariadb://", "mysql://", 1);
        let s = match &tls {
            Some(tls) => session_sql::MySqlStore::connect_tls(&url, tls).await,
            None => session_sql::MySqlStore::connect(&url).await,
        }
        .map_err(fail("MySQL"))?;
        s.migrate().await.map_err(fail("MySQL"))?;
        return Ok(Arc::new(s));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
        let mut builder = session_redis::RedisStore::builder().prefix("demo");
        if let Some(tls) = tls {
            builder = builder.tls(tls);
        }
        let store = if nodes.len() > 1 {
            builder
                .connect_cluster(&nodes)
                .await
                .map_err(fail("Redis Cluster"))?
        } else {
            builder.connect(url).await.map_err(fail("Redis"))?
        };
        return Ok(Arc::new(store));
    }
    Err(StoreError::Unknown(url.to_owned()))
}

/// The file of a `sqlite:` URL, unless it is an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.starts_with(":memory:") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Creates `path` holding `bytes`, readable and writable by its owner only (0600 on
/// Unix): the signing key and the session database are secrets.
///
/// # Errors
/// When the file exists already or cannot be written.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_and_sqlite_paths() {
        assert_eq!(
            redact("postgres://app:hunter2@db:5432/s"),
            "postgres://***@db:5432/s"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            sqlite_file("sqlite://a/b.db?mode=rwc"),
            Some("a/b.db".into())
        );
        assert_eq!(sqlite_file("sqlite:x.db"), Some("x.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
