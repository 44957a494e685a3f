//! Memory-store specifics the shared suite cannot know: byte and entry bounds, and an owner
//! index that shrinks with eviction and expiry.

use std::sync::Arc;
use std::time::Duration;

use session_core::{Bytes, Clock, ManualClock, Record, SessionId, SessionStore};
use session_memory::MemoryStore;

fn record(now: session_core::Timestamp, owner: Option<&str>, size: usize) -> Record {
    let mut r = Record::new(now, now.plus(Duration::from_secs(3600)));
    r.data.insert("v".into(), Bytes::from(vec![7u8; size]));
    r.owner = owner.map(str::to_owned);
    r
}

/// The entry bound holds: inserting ten times the limit leaves at most the limit.
#[tokio::test]
async fn entry_count_is_bounded() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .max_entries(100)
        .max_bytes(10 * 1024 * 1024)
        .clock(Arc::new(clock.clone()))
        .build();
    for _ in 0..1000 {
        let k = SessionId::generate().unwrap().store_key();
        store
            .create(&k, &record(clock.now(), None, 10))
            .await
            .unwrap();
    }
    assert!(
        store.entry_count() <= 100,
        "{} entries",
        store.entry_count()
    );
}

/// The byte bound holds: 1000 sessions of 10 KiB in a 1 MiB store keep at most 1 MiB.
#[tokio::test]
async fn bytes_are_bounded() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .max_entries(1_000_000)
        .max_bytes(1024 * 1024)
        .clock(Arc::new(clock.clone()))
        .build();
    for _ in 0..1000 {
        let k = SessionId::generate().unwrap().store_key();
        store
            .create(&k, &record(clock.now(), None, 10 * 1024))
            .await
            .unwrap();
    }
    assert!(
        store.entry_count() <= 103,
        "{} entries of 10 KiB",
        store.entry_count()
    );
}

/// Evicted sessions leave the owner index: it does not grow without bound.
#[tokio::test]
async fn owner_index_shrinks_with_eviction() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .max_entries(50)
        .clock(Arc::new(clock.clone()))
        .build();
    for i in 0..2000 {
        let k = SessionId::generate().unwrap().store_key();
        let owner = format!("user-{}", i % 10);
        store
            .create(&k, &record(clock.now(), Some(&owner), 10))
            .await
            .unwrap();
    }
    assert!(
        store.owner_index_len() <= 60,
        "owner index holds {}",
        store.owner_index_len()
    );
    let mut listed = 0;
    for i in 0..10 {
        listed += store.list_owner(&format!("user-{i}")).await.unwrap().len();
    }
    assert!(
        listed <= 50,
        "{listed} sessions listed, at most 50 are stored"
    );
}

/// Listing drops index entries of logically expired sessions.
#[tokio::test]
async fn owner_index_shrinks_with_expiry() {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .clock(Arc::new(clock.clone()))
        .build();
    for _ in 0..20 {
        let k = SessionId::generate().unwrap().store_key();
        store
            .create(&k, &record(clock.now(), Some("u"), 10))
            .await
            .unwrap();
    }
    assert_eq!(store.owner_index_len(), 20);
    clock.advance(Duration::from_secs(7200));
    assert!(store.list_owner("u").await.unwrap().is_empty());
    assert_eq!(store.owner_index_len(), 0);
}

/// A gigantic payload is refused by the handle's configured limit with a clear error,
/// before anything is stored.
#[tokio::test]
async fn gigantic_payload_hits_the_limit() {
    use session_core::{Error, ErrorKind, Session, SessionConfig};
    use std::sync::Arc;
    let store: Arc<dyn session_core::SessionStore> = Arc::new(MemoryStore::new());
    let config = Arc::new(SessionConfig::default().with_max_data_bytes(1024 * 1024));
    let s = Session::new(store, config, None);
    let big = vec![b'x'; 5 * 1024 * 1024];
    let err = s.insert_raw("big", Bytes::from(big)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    // Many values that are each small but together too large fail at save, storing nothing.
    for i in 0..3 {
        s.insert_raw(&format!("part{i}"), Bytes::from(vec![0u8; 400 * 1024]))
            .unwrap();
    }
    let err = s.save().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{err}");
    assert!(s.id().await.is_none(), "a session was created");
}
