//! What a signed-in session's id (the part of the cookie that is not secret) says about
//! its user: nothing without the store's tag key. On Cluster with a tag key an owner's
//! sessions carry the keyed tag, so they share their index's hash slot; without one, and
//! on a standalone server, tags are random.

mod common;

use std::sync::Arc;

use session_core::{Session, SessionConfig, SessionStore, ShardTag};
use session_redis::RedisStore;

async fn tag_after_login(store: Arc<dyn SessionStore>, user: &str) -> ShardTag {
    let s = Session::new(store, Arc::new(SessionConfig::default()), None);
    s.insert("cart", &1).unwrap();
    s.save().await.unwrap();
    s.login(user).await.unwrap();
    s.save().await.unwrap();
    let tag = s.id().await.unwrap().tag();
    s.destroy().await.unwrap();
    tag
}

#[tokio::test]
async fn keyed_on_cluster_with_a_tag_key() {
    let store: Arc<dyn SessionStore> = Arc::new(
        RedisStore::builder()
            .prefix(common::unique_prefix())
            .tag_key(common::TAG_KEY)
            .connect_cluster(&common::cluster_urls())
            .await
            .unwrap(),
    );
    for user in ["bob", "alice", "carol"] {
        let keyed = ShardTag::keyed(&common::TAG_KEY, user);
        assert_eq!(tag_after_login(store.clone(), user).await, keyed, "{user}");
        assert_eq!(
            tag_after_login(store.clone(), user).await,
            keyed,
            "{user}, again"
        );
    }
    // The keyed tags are not the ones anyone can compute from the names.
    let unkeyed_matches = ["bob", "alice", "carol"]
        .iter()
        .filter(|u| ShardTag::keyed(&common::TAG_KEY, u) == ShardTag::for_owner(u))
        .count();
    assert!(unkeyed_matches <= 1);
    // Its Debug output does not show the key.
    let debug = format!("{:?}", RedisStore::builder().tag_key(common::TAG_KEY));
    assert!(
        debug.contains("<secret>") && !debug.contains("[7, 7"),
        "{debug}"
    );
}

#[tokio::test]
async fn random_without_a_tag_key() {
    let cluster: Arc<dyn SessionStore> = Arc::new(
        RedisStore::builder()
            .prefix(common::unique_prefix())
            .connect_cluster(&common::cluster_urls())
            .await
            .unwrap(),
    );
    let standalone: Arc<dyn SessionStore> = Arc::new(
        RedisStore::builder()
            .prefix(common::unique_prefix())
            .tag_key(common::TAG_KEY)
            .connect(&common::redis_url())
            .await
            .unwrap(),
    );
    for store in [cluster, standalone] {
        let mut tags = Vec::new();
        for _ in 0..3 {
            tags.push(tag_after_login(store.clone(), "bob").await);
        }
        assert!(
            tags.iter().any(|t| *t != ShardTag::for_owner("bob"))
                && tags
                    .iter()
                    .any(|t| *t != ShardTag::keyed(&common::TAG_KEY, "bob")),
            "{store:?}: every login of bob carried a tag derived from his name"
        );
    }
}
