//! A test app on a real socket, a cookie jar, and stores that count or fail on demand.

#![allow(dead_code)]

pub(crate) mod shop;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::HeaderValue;
use session_core::{Error, OwnerSession, Record, SessionStore, StoreKey, Timestamp, async_trait};
use session_tower::{Session, SessionError, SessionLayer};
use tokio::sync::Notify;

/// Wraps a store: counts calls, and fails every call while `down` is set.
#[derive(Debug)]
pub(crate) struct Probe<S> {
    pub(crate) inner: S,
    pub(crate) calls: AtomicUsize,
    pub(crate) down: AtomicBool,
}

impl<S> Probe<S> {
    pub(crate) fn new(inner: S) -> Arc<Self> {
        Arc::new(Self {
            inner,
            calls: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        })
    }
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn hit(&self) -> Result<(), Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::unavailable(
                "probe",
                std::io::Error::other("store is down"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for Probe<S> {
    async fn create(&self, k: &StoreKey, r: &Record) -> Result<(), Error> {
        self.hit()?;
        self.inner.create(k, r).await
    }
    async fn load(&self, k: &StoreKey) -> Result<Option<Record>, Error> {
        self.hit()?;
        self.inner.load(k).await
    }
    async fn save(&self, k: &StoreKey, r: &Record, v: u64) -> Result<(), Error> {
        self.hit()?;
        self.inner.save(k, r, v).await
    }
    async fn touch(&self, k: &StoreKey, e: Timestamp, l: Timestamp) -> Result<(), Error> {
        self.hit()?;
        self.inner.touch(k, e, l).await
    }
    async fn delete(&self, k: &StoreKey) -> Result<(), Error> {
        self.hit()?;
        self.inner.delete(k).await
    }
    async fn rotate(&self, o: &StoreKey, n: &StoreKey, r: &Record, v: u64) -> Result<(), Error> {
        self.hit()?;
        self.inner.rotate(o, n, r, v).await
    }
    async fn list_owner(&self, o: &str) -> Result<Vec<OwnerSession>, Error> {
        self.hit()?;
        self.inner.list_owner(o).await
    }
    async fn delete_owner(&self, o: &str, k: Option<&StoreKey>) -> Result<u64, Error> {
        self.hit()?;
        self.inner.delete_owner(o, k).await
    }
    async fn delete_expired(&self) -> Result<u64, Error> {
        self.hit()?;
        self.inner.delete_expired().await
    }
}

/// Shared with handlers: coordination for the slow-request test, and a call counter.
#[derive(Clone, Default)]
pub(crate) struct AppState {
    pub(crate) loaded: Arc<Notify>,
    pub(crate) release: Arc<Notify>,
    pub(crate) handler_calls: Arc<AtomicUsize>,
}

async fn cart(session: Session) -> Result<Json<Vec<String>>, SessionError> {
    Ok(Json(session.get("cart").await?.unwrap_or_default()))
}

/// The cart, with the handler's own caching rule.
async fn cart_cached(session: Session) -> Result<impl IntoResponse, SessionError> {
    let cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
    Ok((
        [(http::header::CACHE_CONTROL, "private, max-age=60")],
        Json(cart),
    ))
}

async fn add(
    session: Session,
    State(st): State<AppState>,
    Path(item): Path<String>,
) -> Result<String, SessionError> {
    st.handler_calls.fetch_add(1, Ordering::SeqCst);
    // Each item under its own key as well as in the cart list: concurrent adds change
    // different keys, so none may be lost.
    session.insert(&format!("item:{item}"), &true)?;
    let mut cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
    cart.push(item);
    session.insert("cart", &cart)?;
    Ok(cart.len().to_string())
}

async fn items(session: Session) -> Result<Json<Vec<String>>, SessionError> {
    // A failure is tracked like any other session call: an outage is the layer's 503.
    let keys = session.keys().await?;
    Ok(Json(
        keys.into_iter()
            .filter_map(|k| k.strip_prefix("item:").map(str::to_owned))
            .collect(),
    ))
}

async fn add_then_redirect(session: Session) -> Result<Redirect, SessionError> {
    session.insert("cart", &vec!["redirected"])?;
    Ok(Redirect::to("/cart"))
}

async fn slow_add(
    session: Session,
    State(st): State<AppState>,
) -> Result<&'static str, SessionError> {
    let _: Option<Vec<String>> = session.get("cart").await?;
    st.loaded.notify_one();
    st.release.notified().await;
    session.insert("cart", &vec!["late"])?;
    Ok("late")
}

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, SessionError> {
    session.login(&user).await?;
    Ok("in")
}

async fn login_remembered(
    session: Session,
    Path(user): Path<String>,
) -> Result<&'static str, SessionError> {
    session.set_remember(true);
    session.login(&user).await?;
    Ok("in")
}

async fn forget(session: Session) -> &'static str {
    session.set_remember(false);
    "forgotten"
}

async fn remembered(session: Session) -> Result<String, SessionError> {
    Ok(session.remembered().await?.to_string())
}

async fn logout(session: Session) -> Result<&'static str, SessionError> {
    session.logout().await?;
    Ok("out")
}

async fn whoami(session: Session) -> Result<String, SessionError> {
    Ok(session.user().await?.unwrap_or_else(|| "anonymous".into()))
}

async fn token(session: Session) -> Result<String, SessionError> {
    Ok(session.csrf_token().await?.unwrap_or_else(|| "none".into()))
}

async fn devices(session: Session) -> Result<impl IntoResponse, SessionError> {
    Ok(Json(session.devices().await?))
}

async fn revoke(session: Session, Path(key): Path<String>) -> Result<String, SessionError> {
    Ok(session.revoke_device(&key).await?.to_string())
}

async fn note_set(session: Session, body: String) -> Result<&'static str, SessionError> {
    session.insert("note", &body)?;
    Ok("stored")
}

async fn note_get(session: Session) -> Result<Json<Option<String>>, SessionError> {
    Ok(Json(session.get("note").await?))
}

async fn revoke_others(session: Session) -> Result<String, SessionError> {
    Ok(session.revoke_other_devices().await?.to_string())
}

/// The test app behind `layer`.
pub(crate) fn app(layer: SessionLayer, state: AppState) -> Router {
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/cart", get(cart))
        .route("/cart-cached", get(cart_cached))
        .route("/items", get(items))
        .route("/add/{item}", post(add))
        .route("/add-redirect", post(add_then_redirect))
        .route("/slow-add", post(slow_add))
        .route("/login/{user}", post(login))
        .route("/login-remembered/{user}", post(login_remembered))
        .route("/forget", post(forget))
        .route("/remembered", get(remembered))
        .route("/logout", post(logout))
        .route("/whoami", get(whoami))
        .route("/token", get(token))
        .route("/devices", get(devices))
        .route("/revoke/{key}", post(revoke))
        .route("/revoke-others", post(revoke_others))
        .route("/note", get(note_get).post(note_set))
        .layer(layer)
        .with_state(state)
}

/// The body of a GET of `url`.
pub(crate) async fn text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Serves `app` on 127.0.0.1 and returns its base URL.
pub(crate) async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// A cookie jar that, like a browser on localhost, keeps `Secure` cookies over plain HTTP;
/// it honours `Max-Age=0` by removing the cookie.
#[derive(Debug, Default)]
pub(crate) struct Jar {
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Jar {
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }
    pub(crate) fn set(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.into(), value.into());
    }
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, _url: &reqwest::Url) {
        let mut jar = self.cookies.lock().unwrap();
        for h in headers {
            let Ok(s) = h.to_str() else { continue };
            let mut parts = s.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let expired = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            if expired {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().into(), value.trim().into());
            }
        }
    }

    fn cookies(&self, _url: &reqwest::Url) -> Option<HeaderValue> {
        let jar = self.cookies.lock().unwrap();
        if jar.is_empty() {
            return None;
        }
        let s: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        HeaderValue::from_str(&s.join("; ")).ok()
    }
}

/// A browser-like client: its own jar, and `Origin` set to `origin` on every request.
pub(crate) fn browser(origin: &str) -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::ORIGIN, HeaderValue::from_str(origin).unwrap());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .default_headers(headers)
        .build()
        .unwrap();
    (client, jar)
}

/// A client without cookies or default headers.
pub(crate) fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A running app and what tests need to poke at it.
pub(crate) struct Harness {
    pub(crate) base: String,
    pub(crate) state: AppState,
    pub(crate) keys: session_tower::SigningKeys,
}

impl Harness {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// Binds a port, builds the layer with that origin trusted, and serves the test app.
pub(crate) async fn start(
    store: Arc<dyn SessionStore>,
    tweak: impl FnOnce(SessionLayer) -> SessionLayer,
) -> Harness {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let keys = session_tower::SigningKeys::generate().unwrap();
    let layer = SessionLayer::from_shared(store, keys.clone())
        .with_trusted_origins([base.as_str()])
        .unwrap();
    let state = AppState::default();
    let router = app(tweak(layer), state.clone());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Harness { base, state, keys }
}
