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

fn redact(url: &str) -> String {
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
        let s = session_sql::SqliteStore::connect(url)
            .await
            .map_err(fail("SQLite"))?;
        s.migrate().await.map_err(fail("SQLite"))?;
        return Ok(Arc::new(s));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let s = session_sql::PgStore::connect(url)
            .await
            .map_err(fail("PostgreSQL"))?;
        s.migrate().await.map_err(fail("PostgreSQL"))?;
        return Ok(Arc::new(s));
    }
    if url.starts_with("mysql://") || url.starts_with("mariadb://") {
        let url = url.replacen("mariadb://", "mysql://", 1);
        let s = session_sql::MySqlStore::connect(&url)
            .await
            .map_err(fail("MySQL"))?;
        s.migrate().await.map_err(fail("MySQL"))?;
        return Ok(Arc::new(s));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
        let builder = session_redis::RedisStore::builder().prefix("demo");
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
