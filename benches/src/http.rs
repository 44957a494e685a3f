//! The HTTP fixtures shared by the criterion `http` bench, `http-targets` and the
//! `prof_http` example: one handler served without sessions, behind a layer that does
//! nothing, behind a layer that only hands each request a value of its own (the least any
//! session layer does), behind the session layer untouched, reading its session, and
//! behind tower-sessions' layer untouched (the peer's cost, measured the same way).

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

/// The least a session layer can do: give each request a value of its own in the request
/// extensions (where an axum extractor finds it), shared with the layer, and look at it
/// again when the response comes back. What is left of the session layer's cost above
/// this is its own.
#[derive(Debug, Clone)]
pub struct Handed<S>(pub S);

/// The per-request value [`Handed`] gives: one flag, shared with the layer.
#[derive(Debug, Clone, Default)]
pub struct Hand(pub Arc<std::sync::atomic::AtomicBool>);

impl<S, B> tower::Service<http::Request<B>> for Handed<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = HandedFuture<S::Future>;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let hand = Hand::default();
        req.extensions_mut().insert(hand.clone());
        HandedFuture {
            fut: self.0.call(req),
            hand,
        }
    }
}

pin_project_lite::pin_project! {
    /// [`Handed`]'s response future: the inner one, then a look at the flag.
    pub struct HandedFuture<F> {
        #[pin]
        fut: F,
        hand: Hand,
    }
}

impl<F: std::future::Future> std::future::Future for HandedFuture<F> {
    type Output = F::Output;
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = std::task::ready!(this.fut.poll(cx));
        // Read as a session layer reads "was I used?"; never set here.
        std::hint::black_box(this.hand.0.load(std::sync::atomic::Ordering::Relaxed));
        Poll::Ready(out)
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
    /// Behind [`Handed`].
    pub handed: Router,
    /// Behind tower-sessions' layer (its memory store); the handler never touches the
    /// session.
    pub peer_untouched: Router,
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
            handed: Router::new()
                .route("/", get(plain))
                .layer(tower::layer::layer_fn(Handed)),
            peer_untouched: Router::new().route("/", get(plain)).layer(
                tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default()),
            ),
            untouched: Router::new().route("/", get(plain)).layer(layer.clone()),
            read: Router::new().route("/", get(reads)).layer(layer),
            cookie,
        }
    }
}
