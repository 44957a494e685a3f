//! The connection: one handle over a standalone server or a Cluster, how it is opened,
//! and the deadline every command runs under (our own bound over the client's timeouts,
//! so that an outage is answered within a known time whatever the client retries).

use std::future::Future;
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

/// Opens a standalone server's connection.
pub(crate) async fn open_single(
    url: &str,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> Result<Conn, Error> {
    let client = redis::Client::open(url).map_err(|e| Error::InvalidSetting {
        setting: "redis url",
        source: Box::new(e),
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
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
    nodes: Vec<&str>,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> Result<Conn, Error> {
    let client = ClusterClientBuilder::new(nodes)
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

fn backend(operation: &'static str, e: RedisError) -> Error {
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
