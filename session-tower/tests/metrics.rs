//! Every metric the library promises is emitted, under its documented name and labels,
//! on the scenario that should produce it: store calls, conflicts and replays, overwrites,
//! lock waits, outages answered 503, CSRF refusals, refused cookies, and the sweeper.
//!
//! Each test records into its own thread-local recorder (`test_support::metrics`), on
//! `#[tokio::test]`'s current-thread runtime, so tests running side by side do not count
//! into each other.

mod common;

use common::shop::{csrf_refusals, form, get_req, post_req, session_with_token};

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use http::StatusCode;
use session_core::metric;
use session_core::{
    ManualClock, Record, Session as CoreSession, SessionConfig, SessionStore, SharedClock,
    SystemClock, Timestamp,
};
use session_memory::MemoryStore;
use session_tower::{Session, SessionError, SessionLayer, SigningKeys};
use tower::ServiceExt as _;

/// The metrics these tests cover; `metric::ALL` must not grow past it untested.
const COVERED: [&str; 10] = [
    metric::STORE_CALL_SECONDS,
    metric::SAVE_CONFLICTS,
    metric::SAVE_REPLAYS,
    metric::OVERWRITTEN_KEYS,
    metric::LOCK_WAIT_SECONDS,
    metric::OUTAGE_RESPONSES,
    metric::CSRF_REFUSALS,
    metric::COOKIE_REJECTIONS,
    metric::SWEEPER_DELETED,
    metric::SWEEPER_ERRORS,
];

#[test]
fn every_metric_has_a_test() {
    let mut all = metric::ALL.to_vec();
    let mut covered = COVERED.to_vec();
    all.sort_unstable();
    covered.sort_unstable();
    assert_eq!(all, covered);
}

async fn read(session: Session) -> Result<String, SessionError> {
    let cart: Option<Vec<String>> = session.get("cart").await?;
    Ok(format!("{cart:?}"))
}

/// Changes the session without saving: the layer's save after the handler stores it.
async fn change(session: Session) -> &'static str {
    let _ = session.insert("seen", &true);
    "ok"
}

fn app(store: Arc<dyn SessionStore>) -> Router {
    app_with(
        store,
        SigningKeys::generate().unwrap(),
        Arc::new(SystemClock),
    )
}

fn app_with(store: Arc<dyn SessionStore>, keys: SigningKeys, clock: SharedClock) -> Router {
    Router::new()
        .route("/form", get(form))
        .route("/read", get(read))
        .route("/change", get(change))
        .route("/submit", post(|| async { "ok" }))
        .layer(SessionLayer::from_shared(store, keys).with_clock(clock))
}

#[tokio::test]
async fn store_calls_are_timed_by_backend_operation_and_outcome() {
    let recorded = test_support::metrics::capture();
    let app = app(Arc::new(MemoryStore::new()));
    let (cookie, _) = session_with_token(&app).await;
    let r = app
        .clone()
        .oneshot(get_req("/read", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m = recorded.take();
    let name = metric::STORE_CALL_SECONDS;
    let labels = |op, outcome| {
        [
            ("backend", "memory"),
            ("operation", op),
            ("outcome", outcome),
        ]
    };
    assert_eq!(m.count(name, &labels("create", "ok")), 1, "{}", m.listing());
    assert_eq!(m.count(name, &labels("load", "hit")), 1, "{}", m.listing());
    assert!(
        m.matching(name, &[])
            .all(|s| s.kind == test_support::metrics::Kind::Histogram),
        "{}",
        m.listing()
    );
    // No label carries the session id or its cookie.
    let value = cookie.split('=').nth(1).unwrap();
    assert!(!m.listing().contains(value), "{}", m.listing());
}

#[tokio::test]
async fn conflicts_replays_and_overwrites_are_counted() {
    let recorded = test_support::metrics::capture();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let config = Arc::new(SessionConfig::default());
    let first = CoreSession::new(store.clone(), config.clone(), None);
    first.insert("theme", "light").unwrap();
    first.save().await.unwrap();
    let id = first.id().await.unwrap();
    recorded.take();

    // Two handles load one version; both set `theme` (last writer wins) and one merges a
    // counter with `update`.
    let a = CoreSession::new(store.clone(), config.clone(), Some(id.clone()));
    let b = CoreSession::new(store.clone(), config.clone(), Some(id));
    let _: Option<String> = a.get("theme").await.unwrap();
    let _: Option<String> = b.get("theme").await.unwrap();
    a.insert("theme", "dark").unwrap();
    a.save().await.unwrap();
    b.insert("theme", "sepia").unwrap();
    let report = b.save().await.unwrap();
    assert_eq!(report.attempts, 2);
    let m = recorded.take();
    assert_eq!(m.count(metric::SAVE_CONFLICTS, &[]), 1, "{}", m.listing());
    assert_eq!(m.count(metric::SAVE_REPLAYS, &[]), 1, "{}", m.listing());
    assert_eq!(m.count(metric::OVERWRITTEN_KEYS, &[]), 1, "{}", m.listing());
    assert_eq!(
        m.count(
            metric::STORE_CALL_SECONDS,
            &[
                ("backend", "memory"),
                ("operation", "save"),
                ("outcome", "conflict")
            ]
        ),
        1,
        "{}",
        m.listing()
    );

    // A save with nothing in its way is neither a conflict nor a replay.
    b.insert("theme", "dark").unwrap();
    b.save().await.unwrap();
    let m = recorded.take();
    for name in [
        metric::SAVE_CONFLICTS,
        metric::SAVE_REPLAYS,
        metric::OVERWRITTEN_KEYS,
    ] {
        assert_eq!(m.count(name, &[]), 0, "{name}: {}", m.listing());
    }
}

#[tokio::test]
async fn lock_waits_are_timed_by_outcome() {
    let recorded = test_support::metrics::capture();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let config = Arc::new(SessionConfig::default().with_lock_wait(Duration::from_millis(40)));
    let first = CoreSession::new(store.clone(), config.clone(), None);
    first.insert("n", &1).unwrap();
    first.save().await.unwrap();
    let id = first.id().await.unwrap();
    recorded.take();

    let holder = CoreSession::new(store.clone(), config.clone(), Some(id.clone()));
    holder.lock().await.unwrap();
    let waiter = CoreSession::new(store.clone(), config.clone(), Some(id));
    let err = waiter.lock().await.unwrap_err();
    assert!(
        matches!(err, session_core::Error::LockTimeout { .. }),
        "{err:?}"
    );
    let m = recorded.take();
    assert_eq!(
        m.count(metric::LOCK_WAIT_SECONDS, &[("outcome", "taken")]),
        1,
        "{}",
        m.listing()
    );
    assert_eq!(
        m.count(metric::LOCK_WAIT_SECONDS, &[("outcome", "timeout")]),
        1,
        "{}",
        m.listing()
    );
}

#[tokio::test]
async fn outages_answered_503_are_counted_by_stage() {
    let recorded = test_support::metrics::capture();
    let store = common::Probe::new(MemoryStore::new());
    let app = app(store.clone());
    let (cookie, token) = session_with_token(&app).await;
    recorded.take();
    store.down.store(true, Ordering::SeqCst);

    // A handler's read failed: the layer answers 503 whatever the handler returned.
    let r = app
        .clone()
        .oneshot(get_req("/read", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The CSRF check could not read the session's secret.
    let r = app
        .clone()
        .oneshot(post_req(&cookie, "http://shop.example", Some(&token)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // The save after the handler failed.
    let r = app.clone().oneshot(get_req("/change", None)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    let m = recorded.take();
    for stage in ["request", "csrf_check", "save"] {
        assert_eq!(
            m.count(metric::OUTAGE_RESPONSES, &[("stage", stage)]),
            1,
            "{stage}: {}",
            m.listing()
        );
    }
    assert_eq!(m.count(metric::OUTAGE_RESPONSES, &[]), 3, "{}", m.listing());
}

#[tokio::test]
async fn csrf_refusals_are_counted_by_reason() {
    let recorded = test_support::metrics::capture();
    let app = app(Arc::new(MemoryStore::new()));
    let (cookie, token) = session_with_token(&app).await;
    for (origin, sent, reason) in csrf_refusals(&token) {
        let r = app
            .clone()
            .oneshot(post_req(&cookie, origin, sent))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{reason}");
        let m = recorded.take();
        assert_eq!(
            m.count(metric::CSRF_REFUSALS, &[("reason", reason)]),
            1,
            "{}",
            m.listing()
        );
        assert_eq!(m.count(metric::CSRF_REFUSALS, &[]), 1, "{}", m.listing());
    }
    let r = app
        .clone()
        .oneshot(post_req(&cookie, "http://shop.example", Some(&token)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(recorded.take().count(metric::CSRF_REFUSALS, &[]), 0);
}

#[tokio::test]
async fn refused_cookies_are_counted_by_reason() {
    let recorded = test_support::metrics::capture();
    let keys = SigningKeys::generate().unwrap();
    let app = app_with(
        Arc::new(MemoryStore::new()),
        keys.clone(),
        Arc::new(SystemClock),
    );
    let (one, _) = session_with_token(&app).await;
    let (two, _) = session_with_token(&app).await;
    recorded.take();
    let forged = SigningKeys::generate()
        .unwrap()
        .sign(&session_core::SessionId::generate().unwrap());
    let huge = format!("pad={}", "x".repeat(9000));
    // Signed by the app's own keys, but no session was ever stored under it.
    let never_stored = keys.sign(&session_core::SessionId::generate().unwrap());
    for (cookie, reason, status) in [
        (
            format!("__Host-id={forged}"),
            "bad_signature",
            StatusCode::OK,
        ),
        ("__Host-id=garbage".to_owned(), "malformed", StatusCode::OK),
        (format!("{one}; {two}"), "ambiguous", StatusCode::OK),
        (
            huge,
            "header_too_large",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            format!("__Host-id={never_stored}"),
            "unknown",
            StatusCode::OK,
        ),
    ] {
        let r = app
            .clone()
            .oneshot(get_req("/read", Some(&cookie)))
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{reason}");
        let m = recorded.take();
        assert_eq!(
            m.count(metric::COOKIE_REJECTIONS, &[("reason", reason)]),
            1,
            "{}",
            m.listing()
        );
        assert_eq!(
            m.count(metric::COOKIE_REJECTIONS, &[]),
            1,
            "{}",
            m.listing()
        );
    }
    let r = app
        .clone()
        .oneshot(get_req("/read", Some(&one)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(recorded.take().count(metric::COOKIE_REJECTIONS, &[]), 0);
}

/// A session over its idle timeout, presented again: ended, and counted as `expired`.
#[tokio::test]
async fn an_expired_session_presented_again_is_counted() {
    let recorded = test_support::metrics::capture();
    let clock = ManualClock::new();
    let app = app_with(
        Arc::new(MemoryStore::new()),
        SigningKeys::generate().unwrap(),
        Arc::new(clock.clone()),
    );
    let (cookie, _) = session_with_token(&app).await;
    recorded.take();
    clock.advance(Duration::from_secs(31 * 60)); // the idle timeout is 30 minutes
    let r = app
        .clone()
        .oneshot(get_req("/read", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m = recorded.take();
    assert_eq!(
        m.count(metric::COOKIE_REJECTIONS, &[("reason", "expired")]),
        1,
        "{}",
        m.listing()
    );
    assert_eq!(
        m.count(metric::COOKIE_REJECTIONS, &[]),
        1,
        "{}",
        m.listing()
    );
}

#[tokio::test]
async fn the_sweeper_counts_rows_and_errors() {
    let recorded = test_support::metrics::capture();
    let store = session_sql::SqliteStore::connect("sqlite::memory:")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let past = Timestamp::from_millis(1_000);
    for _ in 0..3 {
        let key = session_core::SessionId::generate().unwrap().store_key();
        store.create(&key, &Record::new(past, past)).await.unwrap();
    }
    let sweeper = session_sql::spawn_sweeper(Arc::new(store), Duration::from_millis(5));
    let deleted = wait_for(&recorded, metric::SWEEPER_DELETED, 3).await;
    sweeper.shutdown().await;
    assert_eq!(
        deleted.count(metric::SWEEPER_DELETED, &[]),
        3,
        "{}",
        deleted.listing()
    );
    assert!(
        deleted.count(
            metric::STORE_CALL_SECONDS,
            &[
                ("backend", "sqlite"),
                ("operation", "delete_expired"),
                ("outcome", "ok")
            ]
        ) >= 1,
        "{}",
        deleted.listing()
    );

    // A table that was never created: every sweep fails, and each failure is counted.
    let broken = session_sql::SqliteStore::connect("sqlite::memory:")
        .await
        .unwrap()
        .with_table("never_migrated")
        .unwrap();
    let sweeper = session_sql::spawn_sweeper(Arc::new(broken), Duration::from_millis(5));
    let failed = wait_for(&recorded, metric::SWEEPER_ERRORS, 1).await;
    sweeper.shutdown().await;
    assert_eq!(
        failed.count(metric::SWEEPER_DELETED, &[]),
        0,
        "{}",
        failed.listing()
    );
}

/// Waits (up to 5 s) until `name` has counted `at_least`, and returns what was recorded.
async fn wait_for(
    recorded: &test_support::metrics::Recorded,
    name: &str,
    at_least: u64,
) -> test_support::metrics::Measured {
    let mut all = Vec::new();
    for _ in 0..500 {
        all.extend(recorded.take().0);
        let so_far = test_support::metrics::Measured(all.clone());
        if so_far.count(name, &[]) >= at_least {
            return so_far;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{name} never reached {at_least}: {}",
        test_support::metrics::Measured(all).listing()
    );
}
