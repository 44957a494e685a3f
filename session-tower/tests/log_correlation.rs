//! R68 over a real request: the store's spans name the session by the keyed tag of the
//! layer's log subkey, which `SigningKeys::log_correlation` also gives, and never by the
//! cookie, the id or the store key. (Its own test binary: the log key and the subscriber
//! are process-wide.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use session_memory::MemoryStore;
use session_tower::{Session, SessionError, SessionLayer, SigningKeys};
use tower::ServiceExt;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn set(session: Session) -> Result<&'static str, SessionError> {
    session.insert("n", &1)?;
    Ok("ok")
}

async fn get_n(session: Session) -> Result<String, SessionError> {
    Ok(format!("{:?}", session.get::<i32>("n").await?))
}

#[tokio::test]
async fn spans_carry_the_keyed_tag_only() {
    let logs = Captured::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .init();

    let keys = SigningKeys::new(&[[9u8; 32]]).unwrap();
    let app = Router::new()
        .route("/set", get(set))
        .route("/get", get(get_n))
        .layer(SessionLayer::new(MemoryStore::new(), keys.clone()));
    let r = app
        .clone()
        .oneshot(Request::get("/set").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    let value = pair.split_once('=').unwrap().1.to_owned();
    let r = app
        .oneshot(
            Request::get("/get")
                .header("cookie", &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let id = keys.verify(&value).expect("the cookie verifies");
    let key = id.store_key();
    let tag = format!("StoreKey(~{})", keys.log_correlation(&key));
    assert!(
        text.contains(&tag),
        "no span names the session as {tag}:\n{text}"
    );
    assert!(
        text.contains("memory.load"),
        "the store's spans were not captured:\n{text}"
    );
    for secret in [&value[..20], &id.encode()[..20], &key.hash_hex()[..12]] {
        assert!(!text.contains(secret), "the logs show {secret}:\n{text}");
    }
    // Another ring names the same session differently: the tag is keyed.
    let other = SigningKeys::new(&[[10u8; 32]]).unwrap();
    assert_ne!(other.log_correlation(&key), keys.log_correlation(&key));
}
