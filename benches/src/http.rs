//! The HTTP fixtures shared by the criterion `http` bench, `http-targets` and the
//! `prof_http` example: one handler served without sessions, behind a layer that does
//! nothing, behind the session layer untouched, and reading its session.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use session_core::{Clock, Record, SessionId, SessionStore, SystemClock};
use session_memory::MemoryStore;
use session_tower::{Session, SessionLayer, SigningKeys};

/// A layer that does nothing: what any tower middleware costs axum per request, the floor
/// under the session layer's own cost.
#[derive(Debug, Clone)]
pub struct Noop<S>(pub S);

impl<S, R> tower::Service<R> for Noop<S>
where
    S: tower::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> S::Future {
        self.0.call(req)
    }
}

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

/// The four ways of serving the handler, and a `Cookie` header value naming a live
/// session of the memory store behind them.
pub struct Apps {
    /// The handler without sessions.
    pub plain: Router,
    /// Behind [`Noop`].
    pub noop: Router,
    /// Behind the session layer; the handler never touches the session.
    pub untouched: Router,
    /// Behind the session layer; the handler reads one key.
    pub read: Router,
    /// `__Host-id=<signed id>` of a live session.
    pub cookie: String,
}

impl Apps {
    /// Creates the store, one session in it, and the routers.
    ///
    /// # Panics
    /// When the random source fails: this is a benchmark fixture.
    pub async fn new() -> Self {
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
        let cookie = format!("__Host-id={}", keys.sign(&id));
        let layer = SessionLayer::from_shared(store, keys);
        Self {
            plain: Router::new().route("/", get(plain)),
            noop: Router::new()
                .route("/", get(plain))
                .layer(tower::layer::layer_fn(Noop)),
            untouched: Router::new().route("/", get(plain)).layer(layer.clone()),
            read: Router::new().route("/", get(reads)).layer(layer),
            cookie,
        }
    }
}
