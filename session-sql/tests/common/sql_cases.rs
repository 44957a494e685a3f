// Tests every SQL store shares, included into each driver's test binary. The including
// file provides `store(clock)` and the `Store` alias.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use session_conformance::ManualClock;
use session_core::{
    Bytes, Clock, Error, ErrorKind, OwnerSession, Record, SessionId, SessionStore, StoreKey,
    Timestamp, async_trait,
};

use super::{Store, store};

fn record(now: Timestamp, ttl: Duration) -> Record {
    let mut r = Record::new(now, now.plus(ttl));
    r.data.insert("k".into(), Bytes::from_static(b"v"));
    r
}

async fn fill(store: &Store, now: Timestamp, expired: usize, live: usize) -> Vec<StoreKey> {
    let mut live_keys = Vec::new();
    for i in 0..expired + live {
        let k = SessionId::generate().unwrap().store_key();
        let ttl = if i < expired {
            Duration::from_secs(60)
        } else {
            Duration::from_secs(7200)
        };
        store.create(&k, &record(now, ttl)).await.unwrap();
        if i >= expired {
            live_keys.push(k);
        }
    }
    live_keys
}

/// Migrations run twice, and from two tasks at once, without error.
#[tokio::test]
async fn migrate_is_idempotent_and_concurrent() {
    let s = store(ManualClock::new()).await;
    s.migrate().await.unwrap();
    let (a, b) = tokio::join!(s.migrate(), s.migrate());
    a.unwrap();
    b.unwrap();
}

/// An upgrade another node half made (its columns added, the version not yet recorded)
/// is finished, not refused: each step that fails is checked against what the schema
/// holds.
#[tokio::test]
async fn migrate_finishes_an_upgrade_another_node_began() {
    let s = store(ManualClock::new()).await;
    let forget = format!("DELETE FROM {}_schema WHERE version >= 2", s.table());
    sqlx::query(sqlx::AssertSqlSafe(forget))
        .execute(s.pool())
        .await
        .unwrap();
    s.migrate()
        .await
        .expect("the lease columns, the trigger and the sweep index exist already: the steps are done");
    let version = format!("SELECT MAX(version) FROM {}_schema", s.table());
    let (v,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(version))
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(v, 4, "the latest version recorded");
}

/// `Debug` names the backend and the table, nothing else.
#[tokio::test]
async fn debug_shows_backend_and_table() {
    let s = store(ManualClock::new()).await;
    let d = format!("{s:?}");
    assert!(d.starts_with("SqlStore {"), "{d}");
    assert!(d.contains(s.table()), "{d}");
    assert!(d.contains("backend"), "{d}");
}

/// `read_raw_record` gives back what `write_raw_record` stored and what a create stored:
/// the encoder's bytes and the envelope, expired or not; `None` for a missing key.
#[tokio::test]
async fn raw_records_read_back() {
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    let now = clock.now();
    let r = record(now, Duration::from_secs(60));
    let k = SessionId::generate().unwrap().store_key();
    s.create(&k, &r).await.unwrap();
    let (bytes, envelope) = s.read_raw_record(&k).await.unwrap().expect("a row");
    assert_eq!(bytes, r.encode().unwrap());
    assert_eq!(envelope, r.envelope());
    clock.advance(Duration::from_secs(120));
    assert!(
        s.read_raw_record(&k).await.unwrap().is_some(),
        "raw reads see expired rows too"
    );
    let other = SessionId::generate().unwrap().store_key();
    s.write_raw_record(&other, b"\x02junk", envelope).await.unwrap();
    assert_eq!(
        s.read_raw_record(&other).await.unwrap().map(|(b, _)| b),
        Some(b"\x02junk".to_vec())
    );
    let missing = SessionId::generate().unwrap().store_key();
    assert!(s.read_raw_record(&missing).await.unwrap().is_none());
}

/// Table names that could inject SQL are refused before any statement runs.
#[tokio::test]
async fn bad_table_name_is_refused() {
    let s = store(ManualClock::new()).await;
    let err = s.with_table("x; DROP TABLE y").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Misconfigured);
}

/// The sweep deletes expired rows in bounded batches and leaves live ones.
#[tokio::test]
async fn sweep_is_batched_and_spares_live_rows() {
    let clock = ManualClock::new();
    let s = store(clock.clone()).await.with_sweep_batch(100);
    let live = fill(&s, clock.now(), 450, 20).await;
    clock.advance(Duration::from_secs(120));
    let report = s.sweep().await.unwrap();
    assert_eq!(report.rows, 450);
    assert_eq!(report.batches, 5, "450 rows in batches of 100");
    for k in &live {
        assert!(s.load(k).await.unwrap().is_some());
    }
    assert_eq!(s.sweep().await.unwrap().rows, 0);
}

/// The background sweeper removes expired rows and stops on shutdown.
#[tokio::test]
async fn background_sweeper_sweeps_and_stops() {
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    fill(&s, clock.now(), 30, 0).await;
    clock.advance(Duration::from_secs(120));
    let sweeper = session_sql::spawn_sweeper(Arc::new(s.clone()), Duration::from_millis(20));
    let deadline = Instant::now() + Duration::from_secs(10);
    // Only the background task sweeps here: the test must fail if it never ran.
    while count_rows(&s).await > 0 {
        assert!(Instant::now() < deadline, "sweeper did not sweep");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.shutdown().await;
}

async fn count_rows(s: &Store) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {}",
        s.table()
    )))
    .fetch_one(s.pool())
    .await
    .unwrap()
}

/// A store whose first sweeps fail, as a database would during an outage.
#[derive(Debug)]
struct Flaky {
    inner: Store,
    failures_left: AtomicU32,
}

#[async_trait]
impl SessionStore for Flaky {
    async fn create(&self, k: &StoreKey, r: &Record) -> Result<(), Error> {
        self.inner.create(k, r).await
    }
    async fn load(&self, k: &StoreKey) -> Result<Option<Record>, Error> {
        self.inner.load(k).await
    }
    async fn save(&self, k: &StoreKey, r: &Record, v: u64) -> Result<(), Error> {
        self.inner.save(k, r, v).await
    }
    async fn touch(&self, k: &StoreKey, e: Timestamp, l: Timestamp) -> Result<(), Error> {
        self.inner.touch(k, e, l).await
    }
    async fn delete(&self, k: &StoreKey) -> Result<(), Error> {
        self.inner.delete(k).await
    }
    async fn rotate(&self, o: &StoreKey, n: &StoreKey, r: &Record, v: u64) -> Result<(), Error> {
        self.inner.rotate(o, n, r, v).await
    }
    async fn list_owner(&self, o: &str) -> Result<Vec<OwnerSession>, Error> {
        self.inner.list_owner(o).await
    }
    async fn delete_owner(&self, o: &str, k: Option<&StoreKey>) -> Result<u64, Error> {
        self.inner.delete_owner(o, k).await
    }
    async fn delete_expired(&self) -> Result<u64, Error> {
        if self.failures_left.load(Ordering::SeqCst) > 0 {
            self.failures_left.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Timeout { operation: "sweep" });
        }
        self.inner.delete_expired().await
    }
}

/// The sweeper keeps running after errors (peers' sweepers die on the first one).
#[tokio::test]
async fn sweeper_survives_errors() {
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    fill(&s, clock.now(), 10, 0).await;
    clock.advance(Duration::from_secs(120));
    let flaky = Arc::new(Flaky {
        inner: s.clone(),
        failures_left: AtomicU32::new(3),
    });
    let sweeper = session_sql::spawn_sweeper(flaky.clone(), Duration::from_millis(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_rows(&s).await > 0 {
        assert!(Instant::now() < deadline, "sweeper stopped after errors");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(flaky.failures_left.load(Ordering::SeqCst), 0);
    sweeper.shutdown().await;
}

/// The lock is a lease in the row's own columns: taking it leaves the record (and its
/// version) as it was.
#[tokio::test]
async fn lock_is_a_lease_beside_the_record() {
    use session_core::LockAttempt;
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    let now = clock.now();
    let k = SessionId::generate().unwrap().store_key();
    let r = record(now, Duration::from_secs(600));
    s.create(&k, &r).await.unwrap();
    let until = now.plus(Duration::from_secs(10));
    let LockAttempt::Taken(token) = s.acquire_lock(&k, now, until).await.unwrap() else {
        panic!("a free lock was not taken");
    };
    let loaded = s.load(&k).await.unwrap().unwrap();
    assert_eq!((loaded.version, loaded.lease), (r.version, None));
    assert_eq!(
        s.acquire_lock(&k, now, until).await.unwrap(),
        LockAttempt::Held { until }
    );
    s.release_lock(&k, token, now).await.unwrap();
    assert_eq!(
        s.release_lock(&k, token, now).await.unwrap_err().kind(),
        ErrorKind::Locked
    );
}

/// A table made before the lock existed (schema version 1) gains the lease columns on the
/// next `migrate`, keeps its sessions, and locks.
#[tokio::test]
async fn migrate_upgrades_a_version_1_table() {
    use session_core::LockAttempt;
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    let now = clock.now();
    let k = SessionId::generate().unwrap().store_key();
    s.create(&k, &record(now, Duration::from_secs(600))).await.unwrap();
    let t = s.table().to_owned();
    for sql in [
        format!("ALTER TABLE {t} DROP COLUMN lock_token"),
        format!("ALTER TABLE {t} DROP COLUMN lock_until"),
        format!("DELETE FROM {t}_schema WHERE version >= 2"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(s.pool())
            .await
            .unwrap();
    }
    let err = s
        .acquire_lock(&k, now, now.plus(Duration::from_secs(10)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "no lease columns yet");
    s.migrate().await.unwrap();
    assert!(s.load(&k).await.unwrap().is_some(), "the session was lost");
    assert!(matches!(
        s.acquire_lock(&k, now, now.plus(Duration::from_secs(10)))
            .await
            .unwrap(),
        LockAttempt::Taken(1)
    ));
}

/// Which database `Store` is on, from its type's name, for the few statements written
/// here by hand.
fn on(db: &str) -> bool {
    std::any::type_name::<Store>().contains(db)
}

/// The sweep index's column and its expiry, as stored for `k`.
async fn sweep_columns(s: &Store, k: &StoreKey) -> (i64, i64) {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT sweep_after, expires_at FROM {} WHERE skey = {}",
        s.table(),
        if on("Postgres") { "$1" } else { "?" }
    )))
    .bind(k.to_bytes().to_vec())
    .fetch_one(s.pool())
    .await
    .unwrap()
}

/// A save or touch moves the expiry but not `sweep_after`, so the sweeper meets a live
/// session among its candidates: it keeps it, re-arms it with its expiry, and deletes it
/// once that has passed.
#[tokio::test]
async fn sweep_rearms_a_session_whose_expiry_moved_on() {
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    let now = clock.now();
    let k = SessionId::generate().unwrap().store_key();
    s.create(&k, &record(now, Duration::from_secs(60))).await.unwrap();
    let later = now.plus(Duration::from_secs(600));
    s.touch(&k, later, now).await.unwrap();
    let (armed, expires) = sweep_columns(&s, &k).await;
    assert_eq!(armed, now.plus(Duration::from_secs(60)).as_millis(), "set at create only");
    assert_eq!(expires, later.as_millis());
    clock.advance(Duration::from_secs(120));
    assert_eq!(s.sweep().await.unwrap().rows, 0, "the session is live");
    assert!(s.load(&k).await.unwrap().is_some());
    assert_eq!(sweep_columns(&s, &k).await, (later.as_millis(), later.as_millis()), "re-armed");
    clock.advance(Duration::from_secs(600));
    assert_eq!(s.sweep().await.unwrap().rows, 1);
    assert!(s.load(&k).await.unwrap().is_none());
}

/// A table from before migration 4 (the sweep read `expires_at`'s index) gains
/// `sweep_after` on the next `migrate`; its rows get 0, so the first sweep deletes the
/// expired ones and re-arms the live ones, which stay loadable.
#[tokio::test]
async fn migrate_moves_the_sweep_to_its_own_index() {
    assert!(on("Postgres") || on("MySql") || on("Sqlite"), "{}", std::any::type_name::<Store>());
    let clock = ManualClock::new();
    let s = store(clock.clone()).await;
    let live = fill(&s, clock.now(), 3, 2).await;
    let t = s.table().to_owned();
    let drop_index = if on("MySql") {
        format!("DROP INDEX {t}_sweep_idx ON {t}")
    } else {
        format!("DROP INDEX {t}_sweep_idx")
    };
    for sql in [
        drop_index,
        format!("ALTER TABLE {t} DROP COLUMN sweep_after"),
        format!("CREATE INDEX {t}_expires_idx ON {t} (expires_at)"),
        format!("DELETE FROM {t}_schema WHERE version >= 4"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(s.pool())
            .await
            .unwrap();
    }
    s.migrate().await.unwrap();
    for k in &live {
        assert_eq!(sweep_columns(&s, k).await.0, 0, "not armed before the first sweep");
    }
    clock.advance(Duration::from_secs(120));
    assert_eq!(s.sweep().await.unwrap().rows, 3, "the expired rows");
    for k in &live {
        assert!(s.load(k).await.unwrap().is_some(), "a live session was swept");
        let (armed, expires) = sweep_columns(&s, k).await;
        assert_eq!(armed, expires, "re-armed by the first sweep");
    }
    assert_eq!(count_rows(&s).await, 2);
}
