//! Every CSRF refusal and every refused session cookie is an event naming its reason
//! (never the token or the cookie), so an operator can tell an attack (`origin_mismatch`,
//! `bad_signature`) from a broken form (`missing_token`) in the logs.

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, StatusCode, header};
use session_memory::MemoryStore;
use session_tower::{Session, SessionError, SessionLayer, SigningKeys};
use tower::ServiceExt as _;

mod common;

use common::shop::{csrf_refusals, form, post_req, session_with_token};

async fn submit() -> &'static str {
    "ok"
}

#[tokio::test]
async fn csrf_refusals_are_events_with_their_reason() {
    let (_guard, logs) = test_support::spans::capture();
    let app = Router::new()
        .route("/form", get(form))
        .route("/submit", post(submit))
        .layer(SessionLayer::new(
            MemoryStore::new(),
            SigningKeys::generate().unwrap(),
        ));
    let (cookie, token) = session_with_token(&app).await;

    for (origin, sent, reason) in csrf_refusals(&token) {
        let r = app
            .clone()
            .oneshot(post_req(&cookie, origin, sent))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{reason}");
        let text = logs.text();
        assert!(
            text.lines()
                .any(|l| l.contains("CSRF check refused")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "no refusal event with reason {reason}: {text}"
        );
    }
    let r = app
        .clone()
        .oneshot(post_req(&cookie, "http://shop.example", Some(&token)))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the real token passes");
    assert!(!logs.text().contains(&token), "a token reached the logs");
}

#[tokio::test]
async fn refused_cookies_are_events_with_their_reason() {
    let (_guard, logs) = test_support::spans::capture();
    let app = Router::new()
        .route("/form", get(form))
        .layer(SessionLayer::new(
            MemoryStore::new(),
            SigningKeys::generate().unwrap(),
        ));
    let id = session_core::SessionId::generate().unwrap();
    let forged = SigningKeys::generate().unwrap().sign(&id);
    for (value, reason) in [(forged.as_str(), "bad_signature"), ("garbage", "malformed")] {
        let r = app
            .clone()
            .oneshot(
                Request::get("http://shop.example/form")
                    .header(header::HOST, "shop.example")
                    .header(header::COOKIE, format!("__Host-id={value}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let text = logs.text();
        assert!(
            text.lines().any(|l| l.contains("session cookie refused")
                && l.contains(&format!("reason=\"{reason}\""))),
            "no refusal event with reason {reason}: {text}"
        );
        assert!(!text.contains(value), "the cookie reached the logs");
    }
}

/// An outage's log line carries its cause, not only "unavailable".
#[tokio::test]
async fn an_outage_is_logged_with_its_cause() {
    let (_guard, logs) = test_support::spans::capture();
    let store = common::Probe::new(MemoryStore::new());
    let app = Router::new()
        .route("/form", get(form))
        .layer(SessionLayer::from_shared(
            store.clone(),
            SigningKeys::generate().unwrap(),
        ));
    store.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = app
        .oneshot(
            Request::get("http://shop.example/form")
                .header(header::HOST, "shop.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("store is down")),
        "no warning with the cause: {text}"
    );
}

/// Two requests that both set one key with `insert`: the later save overwrites the
/// earlier's value, and says so at WARN, naming the key (never the value).
#[tokio::test]
async fn an_overwrite_is_a_warning_naming_the_key() {
    use std::sync::Arc;
    let (_guard, logs) = test_support::spans::capture();
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let app = Router::new()
        .route(
            "/theme/{value}",
            post(
                move |session: Session, axum::extract::Path(v): axum::extract::Path<String>| {
                    let barrier = barrier.clone();
                    async move {
                        let _: Option<String> = session.get("theme").await?; // both load one version
                        barrier.wait().await;
                        session.insert("theme", &v)?;
                        Ok::<_, SessionError>("ok")
                    }
                },
            ),
        )
        .route("/form", get(form))
        .layer(SessionLayer::new(
            MemoryStore::new(),
            SigningKeys::generate().unwrap(),
        ));
    let (cookie, token) = session_with_token(&app).await;
    let set = |v: &str| {
        let req = Request::post(format!("http://shop.example/theme/{v}"))
            .header(header::HOST, "shop.example")
            .header(header::ORIGIN, "http://shop.example")
            .header(header::COOKIE, cookie.clone())
            .header("x-csrf-token", token.clone())
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(req)
    };
    let (a, b) = tokio::join!(set("dark"), set("sepia"));
    assert_eq!(a.unwrap().status(), StatusCode::OK);
    assert_eq!(b.unwrap().status(), StatusCode::OK);
    let text = logs.text();
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("overwrote keys"))
        .collect();
    assert_eq!(warned.len(), 1, "{text}");
    assert!(warned[0].contains("\"theme\""), "{}", warned[0]);
    assert!(
        !warned[0].contains("dark") && !warned[0].contains("sepia"),
        "a value in the log: {}",
        warned[0]
    );
}
