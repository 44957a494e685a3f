//! Sessions stored by version 0.1 (a hash per session under the `s` key kind) survive the
//! upgrade to the string layout: a load converts one, keeping its data, its TTL and its
//! lock counter; a logout and "log out everywhere" end one that no load has converted yet.
//! The hashes are written here with plain commands, field by field, as 0.1's scripts
//! wrote them.

mod common;

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use session_core::{
    Bytes, Clock, LockAttempt, ManualClock, Record, SessionId, SessionStore, SharedClock, StoreKey,
};
use session_redis::RedisStore;

struct Setup {
    store: RedisStore,
    clock: Arc<ManualClock>,
    con: redis::aio::MultiplexedConnection,
    prefix: String,
}

async fn setup() -> Setup {
    let prefix = common::unique_prefix();
    let clock = Arc::new(ManualClock::new());
    let store = RedisStore::builder()
        .prefix(prefix.clone())
        .clock(clock.clone() as SharedClock)
        .connect(&common::redis_url())
        .await
        .expect("connect to redis");
    let client = redis::Client::open(common::redis_url()).expect("url");
    let con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    Setup {
        store,
        clock,
        con,
        prefix,
    }
}

fn name(prefix: &str, kind: &str, key: &StoreKey) -> String {
    format!(
        "{prefix}:{{{}}}:{kind}:{}",
        session_redis::hash_tag(key.tag()),
        key.hash_hex()
    )
}

fn digits(ms: i64) -> String {
    format!("{ms:020}")
}

/// Writes `record` under `key` as 0.1 did: fields `r` (expiry and last seen as 20 digits
/// each, then the body), `e`, `l`, `v`, `o`, `x` and the lock counter `f`, and a TTL.
async fn write_hash(s: &mut Setup, key: &StoreKey, record: &Record, index: &str, f: u64) {
    let (e, l) = (
        digits(record.expires_at.as_millis()),
        digits(record.last_seen.as_millis()),
    );
    let r = [
        e.as_bytes(),
        l.as_bytes(),
        &record.encode().expect("encode"),
    ]
    .concat();
    let hash = name(&s.prefix, "s", key);
    let mut cmd = redis::cmd("HSET");
    cmd.arg(&hash)
        .arg("r")
        .arg(r)
        .arg("e")
        .arg(&e)
        .arg("l")
        .arg(&l)
        .arg("v")
        .arg(record.version)
        .arg("f")
        .arg(f);
    if let Some(o) = &record.owner {
        cmd.arg("o").arg(o);
    }
    if !index.is_empty() {
        cmd.arg("x").arg(index);
    }
    let _: i64 = cmd.query_async(&mut s.con).await.expect("HSET");
    let _: bool = s.con.pexpire(&hash, 600_000).await.expect("PEXPIRE");
}

fn record(s: &Setup, owner: Option<&str>) -> Record {
    let now = s.clock.now();
    let mut r = Record::new(now, now.plus(Duration::from_secs(600)));
    r.data
        .insert("cart".into(), Bytes::from_static(b"[\"apple\"]"));
    r.owner = owner.map(str::to_owned);
    r.version = 4;
    r
}

#[tokio::test]
async fn a_load_converts_a_hash_and_keeps_data_ttl_and_lock_counter() {
    let mut s = setup().await;
    let key = SessionId::generate().expect("rng").store_key();
    let r = record(&s, None);
    write_hash(&mut s, &key, &r, "", 5).await;

    let loaded = s.store.load(&key).await.expect("load").expect("converted");
    assert_eq!(loaded, r);
    let hash_left: bool = s.con.exists(name(&s.prefix, "s", &key)).await.unwrap();
    assert!(!hash_left, "the hash outlived its conversion");
    let ttl: i64 = s.con.pttl(name(&s.prefix, "r", &key)).await.unwrap();
    assert!((590_000..=600_000).contains(&ttl), "TTL {ttl} ms");

    // The lock counter carried over: the next token is the one after 0.1's last.
    let now = s.clock.now();
    let until = now.plus(Duration::from_secs(5));
    let attempt = s.store.acquire_lock(&key, now, until).await.expect("lock");
    assert_eq!(attempt, LockAttempt::Taken(6));
    s.store.release_lock(&key, 6, now).await.expect("release");

    // And it saves as any other session.
    let mut next = loaded.clone();
    next.version += 1;
    s.store.save(&key, &next, r.version).await.expect("save");
    assert_eq!(s.store.load(&key).await.unwrap(), Some(next));
    common::remove_keys(vec![common::redis_url()], vec![s.prefix]).await;
}

#[tokio::test]
async fn an_expired_or_missing_hash_converts_to_nothing() {
    let mut s = setup().await;
    let key = SessionId::generate().expect("rng").store_key();
    let r = record(&s, None);
    write_hash(&mut s, &key, &r, "", 0).await;
    s.clock.advance(Duration::from_secs(601));
    assert_eq!(s.store.load(&key).await.unwrap(), None);
    let other = SessionId::generate().expect("rng").store_key();
    assert_eq!(s.store.load(&other).await.unwrap(), None);
    let made: bool = s.con.exists(name(&s.prefix, "r", &key)).await.unwrap();
    assert!(!made, "an expired hash was converted");
    common::remove_keys(vec![common::redis_url()], vec![s.prefix]).await;
}

#[tokio::test]
async fn a_logout_ends_an_unconverted_hash() {
    let mut s = setup().await;
    let key = SessionId::generate().expect("rng").store_key();
    let r = record(&s, None);
    write_hash(&mut s, &key, &r, "", 0).await;
    s.store.delete(&key).await.expect("delete");
    assert_eq!(s.store.load(&key).await.unwrap(), None);
    let left: bool = s.con.exists(name(&s.prefix, "s", &key)).await.unwrap();
    assert!(!left, "the hash outlived the logout");
    common::remove_keys(vec![common::redis_url()], vec![s.prefix]).await;
}

#[tokio::test]
async fn log_out_everywhere_ends_unconverted_hashes() {
    let mut s = setup().await;
    // One session of today's layout makes the owner's index; a 0.1 session joins it as
    // 0.1 did (the index's key and member names did not change).
    let fresh = SessionId::generate().expect("rng").store_key();
    s.store
        .create(&fresh, &record(&s, Some("ada")))
        .await
        .expect("create");
    let index: Vec<String> = s
        .con
        .keys(format!("{}:*:o:ada", s.prefix))
        .await
        .expect("KEYS");
    let [index] = <[String; 1]>::try_from(index).expect("one index");
    let old = SessionId::generate().expect("rng").store_key();
    let r = record(&s, Some("ada"));
    write_hash(&mut s, &old, &r, &index, 0).await;
    let _: i64 = s
        .con
        .zadd(&index, old.to_text(), r.expires_at.as_millis())
        .await
        .expect("ZADD");

    assert_eq!(s.store.list_owner("ada").await.unwrap().len(), 2);
    // The listing converted the old one; a second 0.1 session has not been read at all.
    let unread = SessionId::generate().expect("rng").store_key();
    let r2 = record(&s, Some("ada"));
    write_hash(&mut s, &unread, &r2, &index, 0).await;
    let _: i64 = s
        .con
        .zadd(&index, unread.to_text(), r.expires_at.as_millis())
        .await
        .expect("ZADD");

    assert_eq!(s.store.delete_owner("ada", None).await.unwrap(), 3);
    for key in [&fresh, &old, &unread] {
        assert_eq!(s.store.load(key).await.unwrap(), None);
    }
    let left: Vec<String> = s.con.keys(format!("{}:*", s.prefix)).await.expect("KEYS");
    assert!(left.is_empty(), "left behind: {left:?}");
    common::remove_keys(vec![common::redis_url()], vec![s.prefix]).await;
}
