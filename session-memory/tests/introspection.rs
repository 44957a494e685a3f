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
