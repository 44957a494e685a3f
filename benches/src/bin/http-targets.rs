//! Serves the same handler three ways for a load generator (wrk, or any HTTP client): without
//! sessions (port P), behind the session layer without touching the session (P+1),
//! reading the session (P+2), and behind a layer that does nothing (P+3: the floor any
//! tower middleware pays). Sessions are in memory; a session cookie is printed for
//! requests that should carry one.
//!
//! Run with `cargo run --release -p session-benches --bin http-targets -- 4000`, then for
//! example `wrk -c64 -t2 -d10s -H "cookie: <printed>" http://127.0.0.1:4001/`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use session_core::{Clock, Record, SessionId, SessionStore, SystemClock};
use session_memory::MemoryStore;
use session_tower::{Session, SessionLayer, SigningKeys};

async fn plain() -> &'static str {
    "ok"
}

/// A layer that does nothing.
#[derive(Clone)]
struct Noop<S>(S);

impl<S, R> tower::Service<R> for Noop<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> S::Future {
        self.0.call(req)
    }
}

async fn reads(session: Session) -> String {
    session
        .get::<String>("user")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let base: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(4000);
    let store = Arc::new(MemoryStore::new());
    let keys = SigningKeys::generate().expect("keys");
    let id = SessionId::generate().expect("rng");
    let now = SystemClock.now();
    let mut r = Record::new(now, now.plus(Duration::from_secs(3600)));
    r.data.insert(
        "user".into(),
        session_core::Bytes::from_static(b"\"user-42\""),
    );
    store.create(&id.store_key(), &r).await.expect("create");
    println!("cookie: __Host-id={}", keys.sign(&id));
    let layer = SessionLayer::from_shared(store, keys);
    let apps = [
        Router::new().route("/", get(plain)),
        Router::new().route("/", get(plain)).layer(layer.clone()),
        Router::new().route("/", get(reads)).layer(layer),
        Router::new()
            .route("/", get(plain))
            .layer(tower::layer::layer_fn(Noop)),
    ];
    let mut tasks = Vec::new();
    for (i, app) in apps.into_iter().enumerate() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", base + i as u16))
            .await
            .expect("bind");
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve")
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
