//! The auth building blocks through real HTTP: `CurrentUser` with an app's loader,
//! `LoggedIn` on a handler and as a router layer, `RecentAuth` (sudo mode), and the one
//! refusal rule (a browser is redirected to the configured page, an API client gets 401).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use common::{browser, text};
use http::StatusCode;
use session_core::ManualClock;
use session_memory::MemoryStore;
use session_tower::auth::{BoxError, CurrentUser, LoadUser, LoggedIn, RecentAuth};
use session_tower::{ConfigError, Session, SessionError, SessionLayer, SigningKeys};

const MINUTE: Duration = Duration::from_secs(60);

/// The app's state: how often its user loader ran.
#[derive(Clone, Default)]
struct AppState {
    loads: Arc<AtomicUsize>,
}

#[derive(Clone, Debug)]
struct User {
    name: String,
}

impl LoadUser<AppState> for User {
    async fn load(owner: &str, state: &AppState) -> Result<Option<Self>, BoxError> {
        state.loads.fetch_add(1, Ordering::SeqCst);
        match owner {
            "ghost" => Ok(None), // the account was deleted
            "broken" => Err("user database unreachable".into()),
            _ => Ok(Some(User {
                name: owner.to_owned(),
            })),
        }
    }
}

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, SessionError> {
    session.login(&user).await?;
    Ok("in")
}

async fn add(session: Session) -> Result<&'static str, SessionError> {
    session.insert("cart", &["apple"])?;
    Ok("added")
}

async fn cart(session: Session) -> Result<String, SessionError> {
    let cart: Option<Vec<String>> = session.get("cart").await?;
    Ok(format!("{cart:?}"))
}

/// Two extractors of the user in one handler: the loader still runs once.
async fn me(CurrentUser(a): CurrentUser<User>, CurrentUser(b): CurrentUser<User>) -> String {
    assert_eq!(a.name, b.name);
    a.name
}

async fn account(LoggedIn(user): LoggedIn) -> String {
    user
}

async fn change_password(auth: RecentAuth) -> String {
    format!("{} may change the password", auth.user)
}

struct App {
    base: String,
    state: AppState,
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn start(clock: &ManualClock, pages: bool) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let store = MemoryStore::builder()
        .clock(Arc::new(clock.clone()))
        .build();
    let mut layer = SessionLayer::new(store, SigningKeys::generate().unwrap())
        .with_clock(Arc::new(clock.clone()))
        .with_trusted_origins([base.as_str()])
        .unwrap();
    if pages {
        layer = layer
            .with_login_page("/login")
            .unwrap()
            .with_reauthentication_page("/confirm-password")
            .unwrap();
    }
    let state = AppState::default();
    let admin = Router::new()
        .route("/admin/stats", get(|| async { "stats" }))
        .route_layer(axum::middleware::from_extractor::<LoggedIn>());
    let router = Router::new()
        .route("/login/{user}", post(login))
        .route("/add", post(add))
        .route("/cart", get(cart))
        .route("/me", get(me))
        .route("/account", get(account))
        .route("/settings/password", get(change_password))
        .merge(admin)
        .layer(layer)
        .with_state(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    App { base, state }
}

/// A page request, as a browser's navigation sends it.
fn page(client: &reqwest::Client, url: String) -> reqwest::RequestBuilder {
    client
        .get(url)
        .header("accept", "text/html,application/xhtml+xml")
        .header("sec-fetch-mode", "navigate")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Nobody logged in: an API call gets 401 with the reason, a page request is sent to the
/// login page with the page it asked for, and without a configured page it gets 401 too.
#[tokio::test]
async fn not_logged_in_is_a_redirect_for_pages_and_401_for_apis() {
    let clock = ManualClock::new();
    let app = start(&clock, true).await;
    let client = no_redirects();
    for path in ["/me", "/account", "/settings/password", "/admin/stats"] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Session");
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"error":"auth","reason":"login_required"}"#,
            "{path}"
        );
    }
    let r = page(&client, app.url("/me?tab=orders&x=a b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=/me%3Ftab%3Dorders%26x%3Da%2520b"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(app.state.loads.load(Ordering::SeqCst), 0, "nobody to load");

    let bare = start(&clock, false).await;
    let r = page(&client, bare.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no login page: 401");
}

/// Logged in: the extractors give the user, loaded once per request however many ask;
/// a deleted account is not logged in; a failing loader is a 503, not a success.
#[tokio::test]
async fn the_current_user_is_loaded_once_per_request() {
    let clock = ManualClock::new();
    let app = start(&clock, true).await;
    let (alice, _) = browser(&app.base);
    alice.post(app.url("/login/alice")).send().await.unwrap();
    let r = alice.get(app.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "alice");
    assert_eq!(
        app.state.loads.load(Ordering::SeqCst),
        1,
        "two extractors, one load"
    );
    assert_eq!(text(&alice, app.url("/account")).await, "alice");
    // Her login created the session (she had none): it is stamped as recent too.
    let r = alice
        .get(app.url("/settings/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a first login counts as recent");
    let r = alice.get(app.url("/admin/stats")).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the router-wide guard lets alice in"
    );

    let (ghost, _) = browser(&app.base);
    ghost.post(app.url("/login/ghost")).send().await.unwrap();
    let r = ghost.get(app.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a deleted user");

    let (broken, _) = browser(&app.base);
    broken.post(app.url("/login/broken")).send().await.unwrap();
    let r = broken.get(app.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"auth","reason":"user_unavailable"}"#
    );
}

/// Sudo mode (the default window, five minutes): within it the route runs; after, a page request is
/// sent to the re-authentication page and an API call gets 401
/// `reauthentication_required`; logging in again as the same user renews it and keeps
/// the session's data.
#[tokio::test]
async fn recent_authentication_is_required_for_sensitive_routes() {
    let clock = ManualClock::new();
    let app = start(&clock, true).await;
    let jar = Arc::new(common::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(http::header::ORIGIN, app.base.parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    client.post(app.url("/add")).send().await.unwrap();
    client.post(app.url("/login/erin")).send().await.unwrap();
    clock.advance(4 * MINUTE);
    let r = client
        .get(app.url("/settings/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "erin may change the password");

    clock.advance(2 * MINUTE);
    let r = client
        .get(app.url("/settings/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"auth","reason":"reauthentication_required"}"#
    );
    let r = page(&client, app.url("/settings/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/confirm-password?next=/settings/password"
    );
    // Still logged in for everything else.
    let r = client.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The password is confirmed: a login as the same user renews the time.
    client.post(app.url("/login/erin")).send().await.unwrap();
    let r = client
        .get(app.url("/settings/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        text(&client, app.url("/cart")).await,
        r#"Some(["apple"])"#,
        "the data survives the re-authentication"
    );
}

/// Login and re-authentication pages must be local paths: an absolute URL, a
/// protocol-relative one or a query would make the redirect an open one or break `next`.
#[test]
fn auth_pages_are_local_paths() {
    let layer = || SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap());
    assert!(layer().with_login_page("/account/login").is_ok());
    for bad in [
        "login",
        "https://evil.example/login",
        "//evil.example/login",
        "/\\evil.example",
        "/login?x=1",
        "/login#top",
        "/log in",
        "",
    ] {
        assert_eq!(
            layer().with_login_page(bad).err(),
            Some(ConfigError::InvalidAuthPage(bad.to_owned())),
            "{bad:?}"
        );
        assert!(layer().with_reauthentication_page(bad).is_err(), "{bad:?}");
    }
}
