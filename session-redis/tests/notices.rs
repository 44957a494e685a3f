//! End notices between nodes: a live connection on one app node learns of a logout made on
//! another (two stores on one prefix, as two app processes have), on a standalone server
//! and on Cluster (where the delete runs on one master and the listener may sit on
//! another); and the listener survives losing its connection.

mod common;

use std::sync::Arc;
use std::time::Duration;

use session_core::{Ended, Session, SessionConfig, SessionStore};
use session_redis::RedisStore;

/// Two "nodes": stores on one prefix, each with its own connections and listener.
async fn two_nodes(cluster: bool) -> (RedisStore, RedisStore) {
    let prefix = common::unique_prefix();
    let open = || async {
        let b = RedisStore::builder().prefix(prefix.clone());
        if cluster {
            b.connect_cluster(&common::cluster_urls()).await.unwrap()
        } else {
            b.connect(&common::redis_url()).await.unwrap()
        }
    };
    (open().await, open().await)
}

/// A live handle on node `a` for a new session; the session's id.
async fn live_on(a: &RedisStore) -> (Session, session_core::SessionId) {
    // Polling is off in effect (an hour): only a notice can end the wait in time.
    let config = SessionConfig::default()
        .with_live_poll(Duration::from_secs(3600))
        .with_live_recheck(Duration::from_secs(3600));
    let s = Session::new(Arc::new(a.clone()), Arc::new(config), None);
    s.insert("cart", &vec!["apple"]).unwrap();
    s.save().await.unwrap();
    let id = s.id().await.unwrap();
    (s, id)
}

async fn ends_within(live: &Session, what: &str) -> Ended {
    tokio::time::timeout(Duration::from_secs(3), live.ended())
        .await
        .unwrap_or_else(|_| panic!("not told of {what} within 3 s"))
}

async fn logout_elsewhere_is_pushed(cluster: bool) {
    let (a, b) = two_nodes(cluster).await;
    let (live, id) = live_on(&a).await;
    let waiting = tokio::spawn({
        let live = live.clone();
        async move { ends_within(&live, "a logout on the other node").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // let it subscribe and look
    assert!(!waiting.is_finished(), "ended before the logout");
    b.delete(&id.store_key()).await.unwrap();
    assert_eq!(waiting.await.unwrap(), Ended::Removed);
}

#[tokio::test]
async fn a_logout_on_another_node_reaches_a_live_connection() {
    logout_elsewhere_is_pushed(false).await;
}

#[tokio::test]
async fn a_logout_on_another_node_reaches_a_live_connection_on_cluster() {
    logout_elsewhere_is_pushed(true).await;
}

/// Killing the listener's connection (`CLIENT KILL TYPE pubsub`) loses nothing: the
/// listener resubscribes, and a logout after that still arrives.
#[tokio::test]
async fn the_listener_resubscribes_after_losing_its_connection() {
    let (a, b) = two_nodes(false).await;
    let (live, id) = live_on(&a).await;
    let waiting = tokio::spawn({
        let live = live.clone();
        async move { tokio::time::timeout(Duration::from_secs(5), live.ended()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = redis::Client::open(common::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(killed >= 1, "no subscriber connection to kill");
    // Back within the listener's first backoff steps.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "losing the listener ended a live session"
    );
    b.delete(&id.store_key()).await.unwrap();
    let why = waiting
        .await
        .unwrap()
        .expect("not told of the logout after resubscribing");
    assert_eq!(why, Ended::Removed);
}
