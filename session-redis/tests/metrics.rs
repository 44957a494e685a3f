//! The Redis store's calls are timed under `backend="redis"`, with their operation and
//! outcome, on a standalone server and on the cluster.

mod common;

use std::time::Duration;

use session_core::{Clock as _, Record, SessionId, SessionStore, SystemClock, metric};
use session_redis::RedisStore;

async fn calls_are_measured(store: RedisStore) {
    let recorded = test_support::metrics::capture();
    let now = SystemClock.now();
    let key = SessionId::generate().unwrap().store_key();
    store
        .create(&key, &Record::new(now, now.plus(Duration::from_secs(60))))
        .await
        .unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    store.delete(&key).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_none());
    let m = recorded.take();
    for (operation, outcome) in [
        ("create", "ok"),
        ("load", "hit"),
        ("load", "miss"),
        ("delete", "ok"),
    ] {
        let labels = [
            ("backend", "redis"),
            ("operation", operation),
            ("outcome", outcome),
        ];
        assert_eq!(
            m.count(metric::STORE_CALL_SECONDS, &labels),
            1,
            "{labels:?}: {}",
            m.listing()
        );
    }
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
