//! Shared by the Redis test binaries: finding the servers and building fixtures.

#![allow(dead_code)]

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock, RawBytes};
use session_core::{Error, SessionId, StoreKey, async_trait};
use session_redis::RedisStore;

/// The standalone server: `REDIS_URL`, or a container when Docker is reachable.
pub(crate) fn redis_url() -> String {
    test_support::url(test_support::Server::Redis)
}

/// The cluster's node URLs, or a panic that says how to provide them.
pub(crate) fn cluster_urls() -> Vec<String> {
    let v = std::env::var("REDIS_CLUSTER_URLS").unwrap_or_else(|_| {
        panic!(
            "REDIS_CLUSTER_URLS is not set: give the comma-separated node URLs of a Redis \
             Cluster, or run ./scripts/test.sh, which starts a three-master cluster"
        )
    });
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A key prefix no other test uses.
pub(crate) fn unique_prefix() -> String {
    let id = SessionId::generate().expect("rng").store_key().hash_hex();
    format!("t{}", &id[..16])
}

struct Raw(RedisStore);

#[async_trait]
impl RawBytes for Raw {
    async fn write_raw(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: session_core::Envelope,
    ) -> Result<(), Error> {
        self.0.write_raw_record(key, bytes, envelope).await
    }
}

/// The tag key the keyed Cluster fixtures use.
pub(crate) const TAG_KEY: [u8; 32] = [7; 32];

/// Which Redis a fixture runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
    /// A standalone server.
    Standalone,
    /// The cluster, with a tag key: an owner's sessions share the index's slot.
    Cluster,
    /// The cluster without a tag key: random tags, cross-slot logins.
    ClusterUntagged,
}

/// A store on `prefix`, reading time from `clock`; the prefix.
async fn store(clock: &ManualClock, on: On, prefix: String) -> (RedisStore, String) {
    let mut builder = RedisStore::builder()
        .prefix(prefix.clone())
        .clock(Arc::new(clock.clone()));
    if on == On::Cluster {
        builder = builder.tag_key(TAG_KEY);
    }
    let cluster = on != On::Standalone;
    let store = if cluster {
        builder.connect_cluster(&cluster_urls()).await
    } else {
        builder.connect(&redis_url()).await
    }
    .expect("connect to redis");
    (store, prefix)
}

/// A connection to the node at `url`, and every key on it under `prefix:` (on a cluster,
/// each node holds its own slots' keys, and SCAN on a node lists only those).
async fn keys_on(url: &str, prefix: &str) -> (redis::aio::MultiplexedConnection, Vec<String>) {
    let client = redis::Client::open(url).expect("redis url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let mut all = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut con)
            .await
            .expect("scan");
        all.extend(keys);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    (con, all)
}

/// A store on the standalone server under a new prefix, reading time from `clock`, and a
/// plain connection to the same server for looking at its keys; the prefix.
pub(crate) async fn standalone_with_connection(
    clock: session_core::SharedClock,
) -> (RedisStore, redis::aio::MultiplexedConnection, String) {
    let prefix = unique_prefix();
    let store = RedisStore::builder()
        .prefix(prefix.clone())
        .clock(clock)
        .connect(&redis_url())
        .await
        .expect("connect to redis");
    let client = redis::Client::open(redis_url()).expect("redis url");
    let con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    (store, con, prefix)
}

/// The name of `key`'s Redis key of `kind` (`r` record, `k` lock, `s` 0.1's hash) under
/// `prefix`, written out here rather than asked of the store.
pub(crate) fn key_name(prefix: &str, kind: &str, key: &StoreKey) -> String {
    format!(
        "{prefix}:{{{}}}:{kind}:{}",
        session_redis::hash_tag(key.tag()),
        key.hash_hex()
    )
}

/// Deletes every key under `prefixes` from each of `urls`.
pub(crate) async fn remove_keys(urls: Vec<String>, prefixes: Vec<String>) {
    for url in &urls {
        for prefix in &prefixes {
            let (mut con, keys) = keys_on(url, prefix).await;
            for k in keys {
                let _: i64 = redis::cmd("DEL")
                    .arg(&k)
                    .query_async(&mut con)
                    .await
                    .expect("delete a test key");
            }
        }
    }
}

/// A fixture on its own prefix, reading time from `clock`, with a sibling store on
/// another prefix of the same server and a teardown that removes both prefixes' keys.
pub(crate) async fn fixture(clock: ManualClock, on: On) -> Fixture {
    fixture_with(clock, on, unique_prefix(), unique_prefix()).await
}

/// The servers' URLs: every node of the cluster, or the one server.
pub(crate) fn urls(on: On) -> Vec<String> {
    if on != On::Standalone {
        cluster_urls()
    } else {
        vec![redis_url()]
    }
}

/// How many keys start with `prefix:` on any of `urls`.
pub(crate) async fn count_keys(urls: &[String], prefix: &str) -> usize {
    let mut n = 0;
    for url in urls {
        n += keys_on(url, prefix).await.1.len();
    }
    n
}

/// [`fixture`] on the given prefixes.
pub(crate) async fn fixture_with(
    clock: ManualClock,
    on: On,
    prefix: String,
    sibling_prefix: String,
) -> Fixture {
    let (sibling, sibling_prefix) = store(&clock, on, sibling_prefix).await;
    let (store, prefix) = store(&clock, on, prefix).await;
    let urls = urls(on);
    Fixture::from_arc(Arc::new(store.clone()))
        .raw(Raw(store))
        .sibling(sibling)
        .on_teardown(move || remove_keys(urls, vec![prefix, sibling_prefix]))
}
