//! The keys a measurement left on a Redis node, found with `SCAN` (a Cluster node lists only
//! its own slots' keys, so callers go node by node) and removed one key per command (so
//! that no command spans two slots).

use redis::aio::MultiplexedConnection;

/// A connection to the node at `url`.
pub async fn connect(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis")
}

/// Every key on this node under `prefix:`.
pub async fn under(con: &mut MultiplexedConnection, prefix: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(con)
            .await
            .expect("SCAN");
        all.extend(keys);
        if next == 0 {
            return all;
        }
        cursor = next;
    }
}

/// Removes `keys` from this node, a pipeline of single-key `UNLINK`s per 1,000.
pub async fn remove(con: &mut MultiplexedConnection, keys: &[String]) {
    for chunk in keys.chunks(1000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("UNLINK").arg(k).ignore();
        }
        let _: () = pipe.query_async(con).await.expect("UNLINK");
    }
}

/// Removes every key under each of `prefixes:` from the node at `url`.
pub async fn remove_under(url: &str, prefixes: &[&str]) {
    let mut con = connect(url).await;
    for prefix in prefixes {
        let keys = under(&mut con, prefix).await;
        remove(&mut con, &keys).await;
    }
}
