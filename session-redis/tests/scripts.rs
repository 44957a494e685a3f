//! A server that lost its scripts (restarted, failed over, `SCRIPT FLUSH`) answers our
//! `EVALSHA` with `NOSCRIPT`; the store loads the script and sends the command again, so
//! the caller sees the write succeed and it is stored.

mod common;

use std::sync::Arc;
use std::time::Duration;

use session_core::{Clock, ManualClock, Record, SessionId, SessionStore, SharedClock};

#[tokio::test]
async fn a_save_after_the_server_lost_its_scripts_is_stored() {
    let clock = Arc::new(ManualClock::new());
    let (store, mut con, _prefix) =
        common::standalone_with_connection(clock.clone() as SharedClock).await;
    let key = SessionId::generate().expect("rng").store_key();
    let now = clock.now();
    let mut record = Record::new(now, now.plus(Duration::from_secs(600)));
    record.owner = Some("ann".to_owned());
    store.create(&key, &record).await.expect("create");

    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut con)
        .await
        .expect("SCRIPT FLUSH");
    let mut next = record.clone();
    next.version += 1;
    next.data.insert("cart".into(), b"[1]".to_vec().into());
    store
        .save(&key, &next, record.version)
        .await
        .expect("a save after SCRIPT FLUSH");

    let loaded = store.load(&key).await.expect("load").expect("live");
    assert_eq!(loaded.version, next.version);
    assert_eq!(loaded.data.get("cart").map(|b| &b[..]), Some(&b"[1]"[..]));
}
