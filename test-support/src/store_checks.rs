//! Checks any backend's tests run on a connected store: a round trip of one session, and
//! that its calls are measured under the backend's label.

use std::time::Duration;

use session_core::{Clock as _, Record, SessionId, SessionStore, SystemClock, Timestamp, metric};

/// Create, load (a hit), delete, load (a miss) of one session expiring a minute after
/// `now` (the store's clock's time).
pub async fn round_trip(store: &dyn SessionStore, now: Timestamp) {
    let key = SessionId::generate().unwrap().store_key();
    store
        .create(&key, &Record::new(now, now.plus(Duration::from_secs(60))))
        .await
        .unwrap();
    assert!(
        store.load(&key).await.unwrap().is_some(),
        "a created session was not found"
    );
    store.delete(&key).await.unwrap();
    assert!(
        store.load(&key).await.unwrap().is_none(),
        "a deleted session was found"
    );
}

/// [`round_trip`] at the system clock's time.
pub async fn round_trip_now(store: &dyn SessionStore) {
    round_trip(store, SystemClock.now()).await;
}

/// A [`round_trip`]'s four calls are each timed once under `backend`'s label, with their
/// operation and outcome (recorded on this thread: run the test on a current-thread
/// runtime).
pub async fn store_calls_are_measured(store: &dyn SessionStore, backend: &str, now: Timestamp) {
    let recorded = crate::metrics::capture();
    round_trip(store, now).await;
    let m = recorded.take();
    for (operation, outcome) in [
        ("create", "ok"),
        ("load", "hit"),
        ("load", "miss"),
        ("delete", "ok"),
    ] {
        let labels = [
            ("backend", backend),
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

/// A live handle on a new session of `store`, with polling off in effect (an hour), is
/// told within 5 s that a delete ended it: the store pushed the end.
pub async fn end_is_pushed(store: std::sync::Arc<dyn SessionStore>) {
    use session_core::{Ended, Session, SessionConfig};
    let config = SessionConfig::default()
        .with_live_poll(Duration::from_secs(3600))
        .with_live_recheck(Duration::from_secs(3600));
    let live = Session::new(store.clone(), std::sync::Arc::new(config), None);
    live.insert("cart", &["apple"]).unwrap();
    live.save().await.unwrap();
    let id = live.id().await.unwrap();
    let waiting = tokio::spawn({
        let live = live.clone();
        async move { tokio::time::timeout(Duration::from_secs(5), live.ended()).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await; // let the listener subscribe
    store.delete(&id.store_key()).await.unwrap();
    let ended = waiting.await.unwrap().expect("no end notice within 5 s");
    assert_eq!(ended, Ended::Removed);
}
