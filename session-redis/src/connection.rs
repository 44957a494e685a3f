//! The connection: one handle over a standalone server or a Cluster, how it is opened,
//! and how long a command can take in an outage.
//!
//! A standalone server's `ConnectionManager` bounds every step of a command itself: a
//! reconnect is at most two attempts (`set_number_of_retries(1)`), each within the
//! connect timeout (TCP, TLS and the handshake together), with one back-off of 100 to
//! 200 ms between them; the reply then waits at most the response timeout. A command
//! therefore answers within `2 × connect + 0.2 s + response` (6.2 s by default), and a
//! timer of ours around it would only be a second one (`session-redis/tests/fault.rs`
//! holds that bound with the server gone, with it frozen, and with a reconnect into a
//! frozen server). A Cluster's client retries across nodes with back-offs of its own, so
//! there every command also runs under our deadline ([`bounded`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{RedisError, Value};
use session_core::Error;

/// A standalone server's connection manager or a Cluster connection; both are cheap
/// handles onto one shared multiplexed connection.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// How a URL becomes a client: over plain TCP, or (`rediss://`) over TLS with the
/// builder's CA and client certificate. The store's command connection and its end-notice
/// listener both open theirs here, so both get the same TLS.
#[derive(Debug, Clone, Default)]
pub(crate) struct Connector {
    #[cfg_attr(not(feature = "tls-rustls"), allow(dead_code))]
    pub(crate) tls: Option<Arc<session_core::Tls>>,
}

impl Connector {
    /// A client for `url`.
    pub(crate) fn client(&self, url: &str) -> Result<redis::Client, Error> {
        let invalid = |e: RedisError| Error::InvalidSetting {
            setting: "redis url",
            source: Box::new(e),
        };
        if !is_tls(url) {
            if self.tls.is_some() {
                return Err(Error::Misconfigured {
                    problem: "TLS settings were given for a redis:// URL: use rediss://",
                });
            }
            return redis::Client::open(url).map_err(invalid);
        }
        #[cfg(feature = "tls-rustls")]
        {
            tls::ensure_provider();
            match &self.tls {
                Some(t) => {
                    redis::Client::build_with_tls(url, tls::certificates(t)).map_err(invalid)
                }
                None => redis::Client::open(url).map_err(invalid),
            }
        }
        #[cfg(not(feature = "tls-rustls"))]
        {
            Err(Error::Misconfigured {
                problem: "a rediss:// URL needs session-redis's `tls-rustls` feature",
            })
        }
    }

    /// A Cluster client builder for `nodes`.
    fn cluster(&self, nodes: Vec<&str>) -> Result<ClusterClientBuilder, Error> {
        let tls = nodes.iter().any(|n| is_tls(n));
        if tls && nodes.iter().any(|n| !is_tls(n)) {
            return Err(Error::Misconfigured {
                problem: "a Redis Cluster's node URLs must all be redis:// or all rediss://",
            });
        }
        if !tls && self.tls.is_some() {
            return Err(Error::Misconfigured {
                problem: "TLS settings were given for redis:// node URLs: use rediss://",
            });
        }
        let builder = ClusterClientBuilder::new(nodes);
        if !tls {
            return Ok(builder);
        }
        #[cfg(feature = "tls-rustls")]
        {
            tls::ensure_provider();
            Ok(match &self.tls {
                Some(t) => builder.certs(tls::certificates(t)),
                None => builder,
            })
        }
        #[cfg(not(feature = "tls-rustls"))]
        {
            Err(Error::Misconfigured {
                problem: "a rediss:// URL needs session-redis's `tls-rustls` feature",
            })
        }
    }
}

fn is_tls(url: &str) -> bool {
    url.get(..9)
        .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"))
}

#[cfg(feature = "tls-rustls")]
mod tls {
    /// rustls needs one process-wide crypto provider when more than one is compiled in (a
    /// dependency may bring aws-lc-rs): install ring's unless one is set already.
    pub(super) fn ensure_provider() {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race to another installer is fine: either way one is installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    }

    pub(super) fn certificates(tls: &session_core::Tls) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: tls.client_pem().map(|(cert, key)| redis::ClientTlsConfig {
                client_cert: cert.to_vec(),
                client_key: key.to_vec(),
            }),
            root_cert: tls.ca_pem().map(<[u8]>::to_vec),
        }
    }
}

/// The back-off between a standalone connection's two reconnect attempts (before jitter,
/// which adds less than as much again).
const RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// Opens a standalone server's connection.
pub(crate) async fn open_single(
    connector: &Connector,
    url: &str,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> Result<Conn, Error> {
    let client = connector.client(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(response_timeout))
        // The bound in the module's comment: two attempts, one back-off of 100 ms plus a
        // jitter below it.
        .set_number_of_retries(1)
        .set_min_delay(RECONNECT_DELAY)
        .set_max_delay(RECONNECT_DELAY);
    let manager = bounded(
        connect_timeout * 2,
        "connect",
        ConnectionManager::new_with_config(client, config),
    )
    .await?;
    Ok(Conn::Single(manager))
}

/// Opens a Cluster connection through any of its nodes.
pub(crate) async fn open_cluster(
    connector: &Connector,
    nodes: Vec<&str>,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> Result<Conn, Error> {
    let client = connector
        .cluster(nodes)?
        .connection_timeout(connect_timeout)
        .response_timeout(response_timeout)
        .retries(2)
        .build()
        .map_err(|e| Error::InvalidSetting {
            setting: "redis cluster urls",
            source: Box::new(e),
        })?;
    let conn = bounded(
        connect_timeout * 2,
        "connect",
        client.get_async_connection(),
    )
    .await?;
    Ok(Conn::Cluster(conn))
}

pub(crate) async fn bounded<T>(
    limit: Duration,
    operation: &'static str,
    fut: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(backend(operation, e)),
        Err(_) => Err(Error::Timeout { operation }),
    }
}

/// A client error as the store reports it: a timeout as [`Error::Timeout`], the rest as
/// [`Error::Unavailable`].
pub(crate) fn backend(operation: &'static str, e: RedisError) -> Error {
    if e.is_timeout() {
        Error::Timeout { operation }
    } else {
        Error::unavailable(operation, e)
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}
