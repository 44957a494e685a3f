//! Outage and recovery: a Redis server owned by this test is stopped mid-run. Operations
//! must fail with `Unavailable` (or `Timeout`) within the configured bound, never panic or
//! hang, and the same store object must work again once the server is back.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use session_core::{ErrorKind, Record, Session, SessionConfig, SessionId, SessionStore, StoreKey};
use session_redis::RedisStore;
use test_support::{ChildGuard, free_port, wait_port};

fn start_redis(port: u16) -> ChildGuard {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("redis-server could not be started ({e}): install redis-server, or run ./scripts/test.sh"));
    wait_port(port, "redis-server", Duration::from_secs(10));
    ChildGuard(child)
}

/// A store on the test's server at `port` under `prefix`, with `connect` and `response`
/// timeouts, the handle's settings, and a session saved in it holding a cart.
async fn with_a_session(
    port: u16,
    prefix: &str,
    connect: Duration,
    response: Duration,
) -> (Arc<dyn SessionStore>, Arc<SessionConfig>, SessionId) {
    let store = RedisStore::builder()
        .prefix(prefix)
        .connect_timeout(connect)
        .response_timeout(response)
        .connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .expect("connect");
    let store: Arc<dyn SessionStore> = Arc::new(store);
    let config = Arc::new(SessionConfig::default());
    let s = Session::new(store.clone(), config.clone(), None);
    s.insert("cart", &[1, 2, 3]).unwrap();
    s.save().await.unwrap();
    let id = s.id().await.unwrap();
    (store, config, id)
}

/// Loads `key` until the store answers again, every failure meanwhile retryable; fails
/// the test if that takes `within` or more.
async fn load_when_back(
    store: &dyn SessionStore,
    key: &StoreKey,
    within: Duration,
) -> Option<Record> {
    let started = Instant::now();
    loop {
        match store.load(key).await {
            Ok(r) => return r,
            Err(e) => {
                assert!(e.is_retryable(), "{e}");
                assert!(started.elapsed() < within, "no recovery: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The server goes away and comes back; the store reports the outage fast and recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_unavailable_then_recovers() {
    let port = free_port();
    let server = start_redis(port);
    let timeout = Duration::from_millis(500);
    let (store, config, id) = with_a_session(port, "fault", timeout, timeout).await;

    drop(server);
    let outage_start = Instant::now();

    // Every operation during the outage fails as retryable, within the bound.
    let bound = bound(timeout, timeout);
    let mut failures = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let err = store
            .load(&id.store_key())
            .await
            .expect_err("load during outage");
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(
            t.elapsed() <= bound,
            "an operation took {:?} during the outage",
            t.elapsed()
        );
        failures += 1;
        let h = Session::new(store.clone(), config.clone(), Some(id.clone()));
        let err = h
            .get::<Vec<i32>>("cart")
            .await
            .expect_err("handle during outage");
        assert!(err.is_retryable(), "{err}");
        failures += 1;
    }
    let max_fail_latency = outage_start.elapsed() / failures;

    let server = start_redis(port);
    let outage = outage_start.elapsed();
    let restarted = Instant::now();
    // The same store object works again, without being rebuilt. Redis kept nothing
    // (no persistence), so the session itself is gone: that is the server's loss, not ours.
    let recovered = load_when_back(&*store, &id.store_key(), Duration::from_secs(15)).await;
    let recovery = restarted.elapsed();
    assert!(recovered.is_none());
    let s = Session::new(store.clone(), config, None);
    s.insert("after", &true).unwrap();
    s.save().await.expect("save after recovery");

    println!(
        "| outage | failed ops | mean failure latency | recovery after restart |\n|---|---|---|---|\n| {outage:?} | {failures} | {max_fail_latency:?} | {recovery:?} |"
    );
    drop(server);
}

/// The longest a standalone store's command may take in an outage, as
/// `session-redis/src/connection.rs` states it (`2 × connect + 0.2 s + response`), with
/// 250 ms for a busy machine's scheduling.
fn bound(connect: Duration, response: Duration) -> Duration {
    connect * 2 + Duration::from_millis(200) + response + Duration::from_millis(250)
}

fn signal(server: &ChildGuard, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &server.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} failed");
}

/// A frozen server (`SIGSTOP`: its connections stay open and its port takes new ones, but
/// nothing answers) is the outage no refused connection reveals. Commands on the open
/// connection, and commands that must reconnect (the connection was cut just before the
/// freeze, so a new one's handshake gets no answer), each end as a retryable error within
/// the stated bound, never a hang; the same store works again after `SIGCONT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_answered_within_the_bound_then_recovers() {
    let port = free_port();
    let server = start_redis(port);
    let (connect, response) = (Duration::from_millis(400), Duration::from_millis(600));
    let (store, _, id) = with_a_session(port, "frozen", connect, response).await;
    let bound = bound(connect, response);
    let expect_bounded_failure = async |what: &str| {
        let t = Instant::now();
        // Our own watch, so that a broken bound fails the test instead of hanging it.
        let err = tokio::time::timeout(bound * 4, store.load(&id.store_key()))
            .await
            .unwrap_or_else(|_| panic!("{what}: a load hung past {:?}", bound * 4))
            .expect_err("a load from a frozen server");
        assert!(err.is_retryable(), "{what}: {err}");
        assert!(
            t.elapsed() <= bound,
            "{what}: a load took {:?} (bound {bound:?})",
            t.elapsed()
        );
        err
    };

    signal(&server, "STOP");
    for _ in 0..3 {
        let err = expect_bounded_failure("open connection").await;
        assert!(matches!(err, session_core::Error::Timeout { .. }), "{err}");
    }
    signal(&server, "CONT");
    let back = store
        .load(&id.store_key())
        .await
        .expect("load after SIGCONT");
    assert!(back.is_some(), "the session survived the freeze");

    // Cut the store's connection, then freeze: every load now needs a new connection, whose
    // handshake the frozen server never answers.
    let killed = Command::new("redis-cli")
        .args([
            "-p",
            &port.to_string(),
            "CLIENT",
            "KILL",
            "TYPE",
            "normal",
            "SKIPME",
            "yes",
        ])
        .output()
        .expect("redis-cli");
    assert!(killed.status.success(), "CLIENT KILL failed");
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal(&server, "STOP");
    for _ in 0..4 {
        expect_bounded_failure("reconnecting").await;
    }
    signal(&server, "CONT");
    let back = load_when_back(&*store, &id.store_key(), Duration::from_secs(10)).await;
    assert!(back.is_some(), "the session survived the reconnect");
}

/// A Redis at its `maxmemory` with `noeviction` (what the README recommends for sessions)
/// refuses writes: the store reports them as `Unavailable` (the layer's 503), loses no
/// session that was stored, and reads go on working.
#[tokio::test]
async fn a_full_redis_refuses_writes_as_unavailable_and_keeps_what_it_has() {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "redis-server could not be started: install redis-server, or run ./scripts/test.sh",
        );
    let _server = ChildGuard(child);
    wait_port(port, "redis-server", Duration::from_secs(10));
    let store: Arc<dyn SessionStore> = Arc::new(
        RedisStore::builder()
            .prefix("full")
            .connect(&format!("redis://127.0.0.1:{port}"))
            .await
            .expect("connect"),
    );
    let config = Arc::new(SessionConfig::default());
    let value = "x".repeat(4000);
    let mut stored = Vec::new();
    let refused = loop {
        let s = Session::new(store.clone(), config.clone(), None);
        s.insert("data", &value).unwrap();
        match s.save().await {
            Ok(_) => stored.push(s.id().await.unwrap()),
            Err(e) => break e,
        }
        assert!(
            stored.len() < 10_000,
            "2 MB never filled: the server took 40 MB"
        );
    };
    assert_eq!(refused.kind(), ErrorKind::Unavailable, "{refused}");
    assert!(!stored.is_empty());
    // A stored session's save that would grow it is refused the same way, and keeps the
    // stored version.
    let s = Session::new(store.clone(), config.clone(), Some(stored[0].clone()));
    s.insert("more", &value).unwrap();
    let err = s.save().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    for id in &stored {
        let s = Session::new(store.clone(), config.clone(), Some(id.clone()));
        let data: Option<String> = s.get("data").await.unwrap();
        assert_eq!(
            data.as_deref(),
            Some(value.as_str()),
            "a stored session was lost"
        );
    }
}
