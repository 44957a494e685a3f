//! A delete leaves nothing of the session behind in Redis: the record, and the logged-in
//! session's entry in its owner's index, on a standalone server (where a plain delete is a
//! `GETDEL` and `PUBLISH` and the index entry goes by a following `ZREM`) and on Cluster (the
//! `DELETE` script, or the cross-slot follow-up). The conformance suite cannot see a stale
//! index entry: listing an owner's sessions prunes members whose record is gone, so it
//! answers the same either way. Looking at the keys can.
//!
//! (A rotation leaves the old key behind as a short-lived "moved" marker on a standalone
//! server and a tagged Cluster; the tests follow the keys of the live session only.)

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::On;
use session_core::{Session, SessionConfig, SessionStore};
use session_redis::RedisStore;

async fn store(on: On, prefix: &str) -> RedisStore {
    let b = RedisStore::builder().prefix(prefix);
    match on {
        On::Standalone => b.connect(&common::redis_url()).await.unwrap(),
        On::Cluster => b
            .tag_key(common::TAG_KEY)
            .connect_cluster(&common::cluster_urls())
            .await
            .unwrap(),
        On::ClusterUntagged => b.connect_cluster(&common::cluster_urls()).await.unwrap(),
    }
}

/// Every key under `prefix` on any of `urls`, with the owner field of those that are
/// session records.
async fn keys(urls: &[String], prefix: &str) -> BTreeSet<(String, Option<String>)> {
    let mut out = BTreeSet::new();
    for url in urls {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        let names: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut con)
            .await
            .unwrap();
        for name in names {
            let owner: Option<String> = if name.contains("}:r:") {
                // The owner follows the 90-byte header, its length at bytes 80-84.
                let value: Vec<u8> = redis::cmd("GET")
                    .arg(&name)
                    .query_async(&mut con)
                    .await
                    .unwrap();
                let len: usize = std::str::from_utf8(&value[80..85])
                    .unwrap()
                    .parse()
                    .unwrap();
                (len > 0).then(|| String::from_utf8(value[90..90 + len].to_vec()).unwrap())
            } else {
                None
            };
            out.insert((name, owner));
        }
    }
    out
}

async fn nothing_left_after_delete(on: On) {
    let prefix = common::unique_prefix();
    let urls = common::urls(on);
    let store: Arc<dyn SessionStore> = Arc::new(store(on, &prefix).await);
    let config = Arc::new(SessionConfig::default());

    // A logged-in session: its record (owner "ada") and its owner's index.
    let s = Session::new(store.clone(), config.clone(), None);
    s.insert("cart", &vec!["apple"]).unwrap();
    s.save().await.unwrap();
    s.login("ada").await.unwrap();
    s.save().await.unwrap();
    assert_eq!(store.list_owner("ada").await.unwrap().len(), 1);
    let before = keys(&urls, &prefix).await;
    let session: Vec<_> = before
        .iter()
        .filter(|(name, owner)| owner.as_deref() == Some("ada") || name.contains("}:o:"))
        .cloned()
        .collect();
    assert_eq!(session.len(), 2, "{on:?}: record and index, in {before:?}");

    s.destroy().await.unwrap();
    let after = keys(&urls, &prefix).await;
    let expected: BTreeSet<_> = before
        .difference(&session.into_iter().collect())
        .cloned()
        .collect();
    assert_eq!(
        after, expected,
        "{on:?}: the record or its index entry outlived the delete"
    );

    // An anonymous session: its one key, then not.
    let s = Session::new(store.clone(), config, None);
    s.insert("cart", &vec!["pear"]).unwrap();
    s.save().await.unwrap();
    assert_eq!(keys(&urls, &prefix).await.len(), after.len() + 1, "{on:?}");
    s.destroy().await.unwrap();
    assert_eq!(keys(&urls, &prefix).await, after, "{on:?}");

    common::remove_keys(urls, vec![prefix]).await;
}

#[tokio::test]
async fn standalone() {
    nothing_left_after_delete(On::Standalone).await;
}

#[tokio::test]
async fn cluster() {
    nothing_left_after_delete(On::Cluster).await;
}

#[tokio::test]
async fn cluster_untagged() {
    nothing_left_after_delete(On::ClusterUntagged).await;
}
