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

impl Setup {
    async fn new() -> Setup {
        let clock = Arc::new(ManualClock::new());
        let (store, con, prefix) =
            common::standalone_with_connection(clock.clone() as SharedClock).await;
        Setup {
            store,
            clock,
            con,
            prefix,
        }
    }

    /// A live record of `owner` holding a cart, at version 4.
    fn record(&self, owner: Option<&str>) -> Record {
        let now = self.clock.now();
        let mut r = Record::new(now, now.plus(Duration::from_secs(600)));
        r.data
            .insert("cart".into(), Bytes::from_static(b"[\"apple\"]"));
        r.owner = owner.map(str::to_owned);
        r.version = 4;
        r
    }

    /// A new session of `owner` stored as 0.1 did: fields `r` (expiry and last seen as 20
    /// digits each, then the body), `e`, `l`, `v`, `o`, `x` (the index's name, when it
    /// shared the slot) and the lock counter `f`, and a TTL; listed in `index` if given.
    async fn hash_session(
        &mut self,
        owner: Option<&str>,
        index: &str,
        f: u64,
    ) -> (StoreKey, Record) {
        let key = SessionId::generate().expect("rng").store_key();
        let record = self.record(owner);
        let e = format!("{:020}", record.expires_at.as_millis());
        let l = format!("{:020}", record.last_seen.as_millis());
        let r = [
            e.as_bytes(),
            l.as_bytes(),
            &record.encode().expect("encode"),
        ]
        .concat();
        let hash = self.name("s", &key);
        let mut cmd = redis::cmd("HSET");
        cmd.arg(&hash)
            .arg("r")
            .arg(r)
            .arg("e")
            .arg(&e)
            .arg("l")
            .arg(&l);
        cmd.arg("v").arg(record.version).arg("f").arg(f);
        if let Some(o) = &record.owner {
            cmd.arg("o").arg(o);
        }
        if !index.is_empty() {
            cmd.arg("x").arg(index);
            let _: i64 = self
                .con
                .zadd(index, key.to_text(), record.expires_at.as_millis())
                .await
                .expect("ZADD");
        }
        let _: i64 = cmd.query_async(&mut self.con).await.expect("HSET");
        let _: bool = self.con.pexpire(&hash, 600_000).await.expect("PEXPIRE");
        (key, record)
    }

    fn name(&self, kind: &str, key: &StoreKey) -> String {
        common::key_name(&self.prefix, kind, key)
    }

    async fn exists(&mut self, kind: &str, key: &StoreKey) -> bool {
        let name = self.name(kind, key);
        self.con.exists(name).await.expect("EXISTS")
    }

    async fn done(self) {
        common::remove_keys(vec![common::redis_url()], vec![self.prefix]).await;
    }
}

#[tokio::test]
async fn a_load_converts_a_hash_and_keeps_data_ttl_and_lock_counter() {
    let mut s = Setup::new().await;
    let (key, r) = s.hash_session(None, "", 5).await;

    let loaded = s.store.load(&key).await.expect("load").expect("converted");
    assert_eq!(loaded, r);
    assert!(
        !s.exists("s", &key).await,
        "the hash outlived its conversion"
    );
    let ttl: i64 = s.con.pttl(s.name("r", &key)).await.unwrap();
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
    s.done().await;
}

#[tokio::test]
async fn an_expired_or_missing_hash_converts_to_nothing() {
    let mut s = Setup::new().await;
    let (key, _) = s.hash_session(None, "", 0).await;
    s.clock.advance(Duration::from_secs(601));
    assert_eq!(s.store.load(&key).await.unwrap(), None);
    assert!(!s.exists("r", &key).await, "an expired hash was converted");
    let other = SessionId::generate().expect("rng").store_key();
    assert_eq!(s.store.load(&other).await.unwrap(), None);
    s.done().await;
}

#[tokio::test]
async fn a_logout_ends_an_unconverted_hash() {
    let mut s = Setup::new().await;
    let (key, _) = s.hash_session(None, "", 0).await;
    s.store.delete(&key).await.expect("delete");
    assert_eq!(s.store.load(&key).await.unwrap(), None);
    assert!(!s.exists("s", &key).await, "the hash outlived the logout");
    s.done().await;
}

#[tokio::test]
async fn log_out_everywhere_ends_unconverted_hashes() {
    let mut s = Setup::new().await;
    // One session of today's layout makes the owner's index; 0.1 sessions join it as 0.1
    // did (the index's key and member names did not change).
    let fresh = SessionId::generate().expect("rng").store_key();
    let r = s.record(Some("ada"));
    s.store.create(&fresh, &r).await.expect("create");
    let index: Vec<String> = s
        .con
        .keys(format!("{}:*:o:ada", s.prefix))
        .await
        .expect("KEYS");
    let [index] = <[String; 1]>::try_from(index).expect("one index");
    let (old, _) = s.hash_session(Some("ada"), &index, 0).await;
    assert_eq!(s.store.list_owner("ada").await.unwrap().len(), 2);

    // The listing converted that one; this one no load has read.
    let (unread, _) = s.hash_session(Some("ada"), &index, 0).await;
    assert_eq!(s.store.delete_owner("ada", None).await.unwrap(), 3);
    for key in [&fresh, &old, &unread] {
        assert_eq!(s.store.load(key).await.unwrap(), None);
    }
    let left: Vec<String> = s.con.keys(format!("{}:*", s.prefix)).await.expect("KEYS");
    assert!(left.is_empty(), "left behind: {left:?}");
    s.done().await;
}
