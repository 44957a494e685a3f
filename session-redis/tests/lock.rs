//! The per-session lock is Redis's own: a lock key beside the record with a TTL, not a
//! rewrite of the record. Read with plain commands on the server, not through the store.

mod common;

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use session_core::{Clock, LockAttempt, ManualClock, Record, SessionId, SessionStore, SharedClock};

#[tokio::test]
async fn lock_is_a_key_with_a_ttl_beside_the_record() {
    let clock = Arc::new(ManualClock::new());
    let (store, mut con, prefix) =
        common::standalone_with_connection(clock.clone() as SharedClock).await;

    let id = SessionId::generate().expect("rng");
    let key = id.store_key();
    let now = clock.now();
    let record = Record::new(now, now.plus(Duration::from_secs(600)));
    store.create(&key, &record).await.expect("create");
    let lock_key = common::key_name(&prefix, "k", &key);
    let until = now.plus(Duration::from_secs(10));

    let LockAttempt::Taken(token) = store.acquire_lock(&key, now, until).await.expect("acquire")
    else {
        panic!("a free lock was not taken");
    };
    let value: Option<String> = con.get(&lock_key).await.expect("GET");
    assert_eq!(value, Some(format!("{token}:{}", until.as_millis())));
    let ttl: i64 = con.pttl(&lock_key).await.expect("PTTL");
    assert!((1..=10_000).contains(&ttl), "lock key TTL {ttl} ms");
    let loaded = store.load(&key).await.expect("load").expect("live");
    assert_eq!((loaded.version, loaded.lease), (record.version, None));
    assert_eq!(
        store.acquire_lock(&key, now, until).await.expect("second"),
        LockAttempt::Held { until }
    );

    store.release_lock(&key, token, now).await.expect("release");
    let gone: bool = con.exists(&lock_key).await.expect("EXISTS");
    assert!(!gone, "release left the lock key");
    assert_eq!(
        store
            .release_lock(&key, token, now)
            .await
            .unwrap_err()
            .kind(),
        session_core::ErrorKind::Locked,
        "a second release is refused"
    );
    let LockAttempt::Taken(next) = store.acquire_lock(&key, now, until).await.expect("again")
    else {
        panic!("a released lock was not free");
    };
    assert!(next > token, "token {next} after {token}");
}
