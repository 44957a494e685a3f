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

/// A fixture on its own prefix, reading time from `clock`.
pub(crate) async fn fixture(clock: ManualClock, cluster: bool) -> Fixture {
    let builder = RedisStore::builder()
        .prefix(unique_prefix())
        .clock(Arc::new(clock));
    let store = if cluster {
        builder.connect_cluster(&cluster_urls()).await
    } else {
        builder.connect(&redis_url()).await
    }
    .expect("connect to redis");
    Fixture {
        store: Arc::new(store.clone()),
        raw: Some(Arc::new(Raw(store))),
    }
}
