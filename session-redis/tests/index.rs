//! The owner index on the server: a save that drops a session's owner takes its key out of
//! the owner's index in the same step, whether the session lives on or ends. The listing
//! would hide a stale entry (it checks each record's owner), so this reads the index with
//! plain commands, not through the store. An anonymous save sends the script no member,
//! so here the script finds it from the record's key.

mod common;

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use session_core::{Clock, ManualClock, Record, SessionId, SessionStore, SharedClock, StoreKey};

/// A session of `owner` created under a new key, and its record.
async fn logged_in(
    store: &dyn SessionStore,
    clock: &ManualClock,
    owner: &str,
) -> (StoreKey, Record) {
    let key = SessionId::generate().expect("rng").store_key();
    let now = clock.now();
    let mut record = Record::new(now, now.plus(Duration::from_secs(600)));
    record.owner = Some(owner.to_owned());
    store.create(&key, &record).await.expect("create");
    (key, record)
}

async fn in_index(con: &mut MultiplexedConnection, index: &str, key: &StoreKey) -> bool {
    let score: Option<f64> = con.zscore(index, key.to_text()).await.expect("ZSCORE");
    score.is_some()
}

#[tokio::test]
async fn a_save_that_drops_the_owner_leaves_no_index_entry() {
    let clock = Arc::new(ManualClock::new());
    let (store, mut con, prefix) =
        common::standalone_with_connection(clock.clone() as SharedClock).await;

    let (kept, record) = logged_in(&store, &clock, "ann").await;
    let indexes: Vec<String> = con.keys(format!("{prefix}:*:o:ann")).await.expect("KEYS");
    let [index] = indexes.as_slice() else {
        panic!("ann's index: {indexes:?}");
    };
    assert!(
        in_index(&mut con, index, &kept).await,
        "a logged-in session is indexed"
    );
    let mut next = record.clone();
    next.version += 1;
    next.owner = None;
    store
        .save(&kept, &next, record.version)
        .await
        .expect("save");
    assert!(
        !in_index(&mut con, index, &kept).await,
        "a save that dropped the owner left the key in the index"
    );
    assert!(store.load(&kept).await.expect("load").is_some());

    // The same when the save ends the session (its new expiry has passed).
    let (ended, record) = logged_in(&store, &clock, "ann").await;
    assert!(in_index(&mut con, index, &ended).await);
    let mut next = record.clone();
    next.version += 1;
    next.owner = None;
    next.expires_at = clock.now();
    store
        .save(&ended, &next, record.version)
        .await
        .expect("save");
    assert!(store.load(&ended).await.expect("load").is_none());
    assert!(
        !in_index(&mut con, index, &ended).await,
        "a save that ended the session left the key in the index"
    );

    common::remove_keys(vec![common::redis_url()], vec![prefix]).await;
}
