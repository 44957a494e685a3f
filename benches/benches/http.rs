//! The HTTP layer's cost: an axum handler without sessions, behind a layer that does
//! nothing (the floor any tower middleware pays), the same handler behind the
//! session layer without touching the session, and one that reads its session (memory
//! store). Requests go through the router in process (`oneshot`), so the figures are the
//! layer's own cost, not the network's.
//!
//! Run with `cargo bench -p session-benches --bench http`.

#![allow(missing_docs)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use session_core::{Clock, Record, SessionId, SessionStore, SystemClock};
use session_memory::MemoryStore;
use session_tower::{Session, SessionLayer, SigningKeys};
use tower::ServiceExt as _;

async fn plain() -> &'static str {
    "ok"
}

async fn reads(session: Session) -> String {
    session
        .get::<String>("user")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A layer that does nothing: what any tower middleware costs axum per request, the floor
/// under the session layer's own cost.
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

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(MemoryStore::new());
    let keys = SigningKeys::generate().expect("keys");
    let id = SessionId::generate().expect("rng");
    let now = SystemClock.now();
    let mut r = Record::new(now, now.plus(std::time::Duration::from_secs(3600)));
    r.data.insert(
        "user".into(),
        session_core::Bytes::from_static(b"\"user-42\""),
    );
    rt.block_on(store.create(&id.store_key(), &r))
        .expect("create");
    let cookie = format!("__Host-id={}", keys.sign(&id));

    let without: Router = Router::new().route("/", get(plain));
    let noop: Router = Router::new()
        .route("/", get(plain))
        .layer(tower::layer::layer_fn(Noop));
    let layer = SessionLayer::from_shared(store, keys);
    let untouched: Router = Router::new().route("/", get(plain)).layer(layer.clone());
    let read: Router = Router::new().route("/", get(reads)).layer(layer);

    let mut g = c.benchmark_group("http");
    for (name, app) in [
        ("handler without sessions", without),
        ("handler behind a layer that does nothing", noop),
        ("session layer, untouched", untouched),
        ("session layer, session read", read),
    ] {
        let cookie = cookie.clone();
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let app = app.clone();
                let req = Request::get("/")
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .expect("request");
                async move { app.oneshot(req).await.expect("response") }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
