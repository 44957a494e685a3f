//! The HTTP layer's per-request cost, one request at a time on one thread, for
//! instruction counts under callgrind (see `prof.rs` for the method):
//!
//! ```sh
//! valgrind --tool=callgrind ./target/release/examples/prof_http untouched 20000
//! ```
//!
//! Routes: `plain` (no session layer), `noop` (a layer that does nothing), `untouched` (layer, handler ignores the session),
//! `read` (handler reads one key). Each request carries a valid session cookie.

#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
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

/// A layer that does nothing: what any tower middleware costs axum per request.
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

fn main() {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let mut args = std::env::args().skip(1);
    let route = args.next().unwrap_or_else(|| "untouched".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let keys = SigningKeys::generate().expect("keys");
        let id = SessionId::generate().expect("rng");
        let now = SystemClock.now();
        let mut r = Record::new(now, now.plus(Duration::from_secs(3600)));
        r.data
            .insert("user".into(), session_core::Bytes::from_static(b"\"u\""));
        store.create(&id.store_key(), &r).await.expect("create");
        let cookie = format!("__Host-id={}", keys.sign(&id));
        let layer = SessionLayer::from_shared(store, keys);
        let app: Router = match route.as_str() {
            "plain" => Router::new().route("/", get(plain)),
            "noop" => Router::new()
                .route("/", get(plain))
                .layer(tower::layer::layer_fn(Noop)),
            "untouched" => Router::new().route("/", get(plain)).layer(layer),
            "read" => Router::new().route("/", get(reads)).layer(layer),
            other => panic!("unknown route {other}"),
        };
        for _ in 0..n {
            let req = Request::get("/")
                .header("cookie", &cookie)
                .body(Body::empty())
                .expect("request");
            let _ = app.clone().oneshot(req).await.expect("response");
        }
    });
}
