//! Every store span records how the operation ended (issue 16's "traces that explain a
//! failure"): hit, miss, ok, conflict, gone, collision, taken, held.

use std::sync::Arc;

use session_core::{
    Clock, Error, LockAttempt, ManualClock, Record, SessionId, SessionStore, Timestamp,
};
use session_memory::MemoryStore;

fn outcome_of(line: &str) -> &str {
    let at = line.find("outcome=").expect("an outcome field") + "outcome=".len();
    line[at..]
        .split([' ', '}'])
        .next()
        .unwrap_or_default()
        .trim_matches('"')
}

#[tokio::test]
async fn store_spans_record_their_outcome() {
    let (_guard, spans) = test_support::spans::capture();
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .clock(Arc::new(clock.clone()))
        .build();
    let now = clock.now();
    let key = SessionId::generate().unwrap().store_key();
    let record = Record::new(now, now.plus(std::time::Duration::from_secs(60)));

    assert!(store.load(&key).await.unwrap().is_none());
    store.create(&key, &record).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    assert!(matches!(
        store.create(&key, &record).await,
        Err(Error::Collision)
    ));
    assert!(matches!(
        store.save(&key, &record, 99).await,
        Err(Error::Conflict)
    ));
    let until = now.plus(std::time::Duration::from_secs(5));
    assert!(matches!(
        store.acquire_lock(&key, now, until).await,
        Ok(LockAttempt::Taken(_))
    ));
    assert!(matches!(
        store.acquire_lock(&key, now, until).await,
        Ok(LockAttempt::Held { .. })
    ));
    store.delete(&key).await.unwrap();
    let later = Timestamp::from_millis(now.as_millis() + 1);
    assert!(matches!(
        store.touch(&key, later, later).await,
        Err(Error::Gone)
    ));

    let outcomes = |name: &str| -> Vec<String> {
        spans
            .closed(name)
            .iter()
            .map(|l| outcome_of(l).to_owned())
            .collect()
    };
    assert_eq!(outcomes("memory.load"), ["miss", "hit"]);
    assert_eq!(outcomes("memory.create"), ["ok", "collision"]);
    assert_eq!(outcomes("memory.save"), ["conflict"]);
    assert_eq!(outcomes("memory.acquire_lock"), ["taken", "held"]);
    assert_eq!(outcomes("memory.delete"), ["ok"]);
    assert_eq!(outcomes("memory.touch"), ["gone"]);
    assert!(
        !spans.text().contains("error="),
        "an expected answer was logged as an error: {}",
        spans.text()
    );
}
