//! What the memory store tells about itself: its entry count and its `Debug` output, which
//! names the count and never a key.

use std::sync::Arc;

use session_core::{ManualClock, Record, SessionId, SessionStore};
use session_memory::MemoryStore;

#[tokio::test]
async fn entry_count_and_debug_follow_the_store() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .clock(Arc::new(clock.clone()))
        .build();
    assert_eq!(store.entry_count(), 0);
    let now = session_core::Clock::now(&clock);
    let mut keys = Vec::new();
    for _ in 0..3 {
        let k = SessionId::generate().unwrap().store_key();
        store
            .create(
                &k,
                &Record::new(now, now.plus(std::time::Duration::from_secs(60))),
            )
            .await
            .unwrap();
        keys.push(k);
    }
    assert_eq!(store.entry_count(), 3);
    let debug = format!("{store:?}");
    assert!(debug.starts_with("MemoryStore"), "{debug}");
    assert!(debug.contains("entries: 3"), "{debug}");
    for k in &keys {
        assert!(!debug.contains(&k.hash_hex()), "Debug shows a key: {debug}");
    }
    store.delete(&keys[0]).await.unwrap();
    assert_eq!(store.entry_count(), 2);
}

fn key() -> session_core::StoreKey {
    SessionId::generate().unwrap().store_key()
}

/// A sweep removes and counts exactly the expired sessions it holds.
#[tokio::test]
async fn sweep_counts_what_it_removed() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .clock(Arc::new(clock.clone()))
        .build();
    let now = session_core::Clock::now(&clock);
    let minute = std::time::Duration::from_secs(60);
    for _ in 0..3 {
        store
            .create(&key(), &Record::new(now, now.plus(minute)))
            .await
            .unwrap();
    }
    let live = key();
    store
        .create(&live, &Record::new(now, now.plus(60 * minute)))
        .await
        .unwrap();
    clock.advance(2 * minute);
    assert_eq!(store.delete_expired().await.unwrap(), 3);
    assert_eq!(store.entry_count(), 1);
    assert_eq!(store.delete_expired().await.unwrap(), 0);
    assert!(store.load(&live).await.unwrap().is_some());
}

/// Expired sessions leave memory as the store takes writes, without a sweep: each shard
/// drops its expired entries once it has taken as many writes as it held. (The count is
/// read from `Debug`, which, unlike `entry_count`, sweeps nothing itself.)
#[tokio::test]
async fn expired_sessions_leave_memory_without_a_sweep() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .clock(Arc::new(clock.clone()))
        .build();
    let now = session_core::Clock::now(&clock);
    let minute = std::time::Duration::from_secs(60);
    // Created to expire in a minute, and one saved from an hour down to a minute.
    for _ in 0..1000 {
        store
            .create(&key(), &Record::new(now, now.plus(minute)))
            .await
            .unwrap();
    }
    let saved = key();
    let r = Record::new(now, now.plus(60 * minute));
    store.create(&saved, &r).await.unwrap();
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = now.plus(minute);
    store.save(&saved, &next, r.version).await.unwrap();
    clock.advance(2 * minute);
    let later = session_core::Clock::now(&clock);
    for _ in 0..6000 {
        store
            .create(&key(), &Record::new(later, later.plus(60 * minute)))
            .await
            .unwrap();
    }
    assert!(
        format!("{store:?}").contains("entries: 6000"),
        "expired sessions are still held: {store:?}"
    );
    assert!(store.load(&saved).await.unwrap().is_none());
}

/// A signed-in session's id (which the cookie carries) does not carry a tag computable
/// from the user name: the memory store co-locates nothing, so the tag is random.
#[tokio::test]
async fn a_logged_in_id_says_nothing_about_its_user() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let config = Arc::new(session_core::SessionConfig::default());
    let mut tags = Vec::new();
    for _ in 0..3 {
        let s = session_core::Session::new(store.clone(), config.clone(), None);
        s.insert("cart", &1).unwrap();
        s.save().await.unwrap();
        s.login("bob").await.unwrap();
        s.save().await.unwrap();
        tags.push(s.id().await.unwrap().tag());
    }
    let unkeyed = session_core::ShardTag::for_owner("bob");
    assert!(
        tags.iter().any(|t| *t != unkeyed),
        "every login of bob carried the tag anyone can compute from his name"
    );
}
