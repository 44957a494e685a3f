//! The Redis store's calls are timed under `backend="redis"`, with their operation and
//! outcome, on a standalone server and on the cluster.

mod common;

use session_core::{Clock as _, SystemClock};
use session_redis::RedisStore;

async fn calls_are_measured(store: RedisStore) {
    test_support::store_checks::store_calls_are_measured(&store, "redis", SystemClock.now()).await;
}

#[tokio::test]
async fn standalone_calls_are_measured() {
    let store = RedisStore::builder()
        .prefix(common::unique_prefix())
        .connect(&common::redis_url())
        .await
        .expect("connect to redis");
    calls_are_measured(store).await;
}

#[tokio::test]
async fn cluster_calls_are_measured() {
    let store = RedisStore::builder()
        .prefix(common::unique_prefix())
        .connect_cluster(&common::cluster_urls())
        .await
        .expect("connect to the cluster");
    calls_are_measured(store).await;
}
