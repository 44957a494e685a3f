//! The demo shop: server-side sessions end to end.
//!
//! Run with `cargo run --release -p session-demo` and open <http://127.0.0.1:3000>.
//!
//! An anonymous visitor can fill a cart (the session is created by the first add, not by a
//! visit); logging in rotates the session id and keeps the cart (logging in over another user's
//! session starts empty); concurrent adds are merged, none lost; "your devices" lists every
//! browser signed in as the user, with revoke buttons and "log out everywhere else"; every
//! form is CSRF-protected; a small JSON API (`/api/cart`) serves front-end code and, with
//! the `x-session-id` header, non-browser clients. Logging in with "remember me" keeps
//! the cookie across browser restarts (for a week); changing the password asks for the
//! password again when the login is older than the re-authentication window (5 minutes),
//! and logs out the user's other devices. The live page (`/live`) holds a WebSocket that
//! shows the cart and closes the moment the session ends elsewhere.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod live;
pub mod metrics_page;
pub mod pages;
pub mod store;
pub mod throttle;
pub mod users;

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::HeaderName;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use session_core::{Clock, SessionStore, SystemClock};
use session_tower::auth::RecentAuth;
use session_tower::{Session, SessionError, SessionLayer, SigningKeys};

use pages::{Frame, csrf_field, esc, page};
use users::{DEMO_USERS, Users};

/// The products on sale: (id, name, price in cents). Enough of them for 64 distinct
/// concurrent adds, which the concurrency tests make.
pub const PRODUCTS: &[(&str, &str, u32)] = &[
    ("apple", "Apple", 60),
    ("pear", "Pear", 75),
    ("fig", "Fig", 120),
    ("kiwi", "Kiwi", 45),
    ("plum", "Plum", 50),
    ("cherry", "Cherries", 300),
    ("grape", "Grapes", 250),
    ("lemon", "Lemon", 40),
    ("lime", "Lime", 35),
    ("orange", "Orange", 55),
    ("mango", "Mango", 180),
    ("papaya", "Papaya", 220),
    ("peach", "Peach", 70),
    ("apricot", "Apricot", 65),
    ("banana", "Banana", 30),
    ("melon", "Melon", 350),
    ("date", "Dates", 400),
    ("guava", "Guava", 150),
    ("lychee", "Lychees", 320),
    ("quince", "Quince", 140),
    ("olive", "Olives", 280),
    ("currant", "Currants", 260),
    ("damson", "Damson", 90),
    ("medlar", "Medlar", 130),
    ("sloe", "Sloes", 110),
    ("rhubarb", "Rhubarb", 160),
    ("carrot", "Carrot", 20),
    ("potato", "Potato", 25),
    ("onion", "Onion", 15),
    ("garlic", "Garlic", 45),
    ("leek", "Leek", 60),
    ("celery", "Celery", 80),
    ("fennel", "Fennel", 120),
    ("radish", "Radishes", 70),
    ("turnip", "Turnip", 40),
    ("beet", "Beetroot", 50),
    ("kale", "Kale", 150),
    ("chard", "Chard", 140),
    ("spinach", "Spinach", 130),
    ("lettuce", "Lettuce", 90),
    ("rocket", "Rocket", 110),
    ("cress", "Cress", 60),
    ("pea", "Peas", 100),
    ("bean", "Beans", 95),
    ("lentil", "Lentils", 120),
    ("chickpea", "Chickpeas", 110),
    ("rice", "Rice", 180),
    ("oat", "Oats", 160),
    ("barley", "Barley", 140),
    ("rye", "Rye bread", 300),
    ("wheat", "Flour", 120),
    ("corn", "Sweetcorn", 80),
    ("pepper", "Pepper", 70),
    ("chili", "Chili", 30),
    ("tomato", "Tomato", 35),
    ("cucumber", "Cucumber", 45),
    ("squash", "Squash", 200),
    ("pumpkin", "Pumpkin", 400),
    ("walnut", "Walnuts", 450),
    ("almond", "Almonds", 500),
    ("hazelnut", "Hazelnuts", 480),
    ("pecan", "Pecans", 600),
    ("cashew", "Cashews", 550),
    ("pistachio", "Pistachios", 650),
];

/// The most items a cart holds.
pub const MAX_CART: usize = 100;

#[derive(Clone)]
struct App {
    users: Arc<Users>,
    throttle: Arc<throttle::LoginThrottle>,
}

/// The app's settings.
#[derive(Debug)]
pub struct Settings {
    /// The session store.
    pub store: Arc<dyn SessionStore>,
    /// Keys that sign session cookies.
    pub keys: SigningKeys,
    /// Origins allowed to send unsafe requests (the URL users open).
    pub origins: Vec<String>,
    /// Wrong passwords for one name before its logins are refused.
    pub max_login_failures: u32,
    /// How long a name's logins are refused after that.
    pub login_cooldown: std::time::Duration,
    /// How recent a login changing the password needs.
    pub reauthentication_window: std::time::Duration,
    /// How often a live page's socket looks at its session on a store that cannot push
    /// end notices (SQLite, MySQL, memory): the bound on how late it closes.
    pub live_poll: std::time::Duration,
    /// The Prometheus recorder `/metrics` renders; no `/metrics` page without it.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl Settings {
    /// Settings with the default login throttle: 5 wrong passwords, then 30 s refused.
    pub fn new(store: Arc<dyn SessionStore>, keys: SigningKeys, origins: Vec<String>) -> Self {
        Self {
            store,
            keys,
            origins,
            max_login_failures: 5,
            login_cooldown: std::time::Duration::from_secs(30),
            reauthentication_window: std::time::Duration::from_secs(5 * 60),
            live_poll: std::time::Duration::from_millis(250),
            metrics: None,
        }
    }
}

/// Headers on every response: no page of the shop may be framed by another site
/// (clickjacking the "Revoke" and "Log out everywhere" buttons).
async fn no_framing(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static("frame-ancestors 'none'"),
    );
    h.insert(
        axum::http::header::X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("DENY"),
    );
    response
}

/// Builds the router.
///
/// # Errors
/// A trusted origin that is not `scheme://host[:port]`.
pub fn router(settings: Settings) -> StdResult<Router, session_tower::ConfigError> {
    let week = std::time::Duration::from_secs(7 * 24 * 3600);
    let layer = SessionLayer::from_shared(settings.store, settings.keys)
        .with_trusted_origins(&settings.origins)?
        .with_header_id(HeaderName::from_static("x-session-id"))
        // "Remember me": a remembered session may sit unused for a week, which its
        // absolute lifetime caps; others keep the 30-minute idle timeout.
        .with_remembered_idle_timeout(week)
        .with_absolute_timeout(week)
        .with_login_page("/login")?
        .with_reauthentication_window(settings.reauthentication_window)
        .with_live_poll(settings.live_poll);
    let app = App {
        users: Arc::new(Users::demo()),
        throttle: Arc::new(throttle::LoginThrottle::new(
            settings.max_login_failures,
            settings.login_cooldown,
        )),
    };
    let router = Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/products", get(products))
        .route("/cart", get(cart_page))
        .route("/cart/add", post(cart_add))
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
        .route("/devices", get(devices))
        .route("/devices/revoke", post(revoke))
        .route("/devices/revoke-others", post(revoke_others))
        .route("/live", get(live::page))
        .route("/live/socket", get(live::socket))
        .route("/api/cart", get(api_cart).post(api_cart_add))
        .route("/api/visits", post(api_visit))
        .layer(layer)
        .layer(axum::middleware::map_response(no_framing));
    // Outside the session layer: a scraper gets no session and no cookie.
    let router = match settings.metrics {
        Some(handle) => router.route("/metrics", get(move || async move { handle.render() })),
        None => router,
    };
    Ok(router.with_state(app))
}

type Result<T> = std::result::Result<T, SessionError>;
type StdResult<T, E> = std::result::Result<T, E>;

async fn cart_of(session: &Session) -> Result<Vec<String>> {
    Ok(session.get("cart").await?.unwrap_or_default())
}

async fn render(session: &Session, title: &str, body: &str) -> Result<Html<String>> {
    let user = session.user().await?;
    let cart = cart_of(session).await?;
    let csrf = session.csrf_token().await?;
    Ok(Html(page(
        title,
        &Frame {
            user: user.as_deref(),
            cart_len: cart.len(),
            csrf: csrf.as_deref(),
        },
        body,
    )))
}

async fn home(session: Session) -> Result<Html<String>> {
    let body = r#"<p>This shop keeps its sessions on the server. Your browser holds only a signed,
random id in an <code>HttpOnly</code> cookie; the cart and your login live in the session store.</p>
<ul><li>Add something to the <a href="/products">cart</a> without logging in: the session is created by the first add.</li>
<li><a href="/login">Log in</a>: the session id changes (no fixation) and the cart stays.</li>
<li>Log in from a second browser, then open <a href="/devices">your devices</a> and revoke it.</li></ul>"#;
    render(&session, "Session demo shop", body).await
}

#[derive(Deserialize)]
struct LoginQuery {
    error: Option<String>,
    /// The page that sent the user here (a route that needs a login, or a recent one).
    next: Option<String>,
}

/// `next` when it is a page of this site; anything else (`//other.example`, a full URL)
/// would make the login an open redirect.
fn local_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

async fn login_page(session: Session, Query(q): Query<LoginQuery>) -> Result<Html<String>> {
    let next = local_next(q.next.as_deref());
    let signed_in = session.user().await?;
    let csrf = session.csrf_token().await?;
    let users: String = DEMO_USERS
        .iter()
        .map(|(u, p)| format!("<li><code>{}</code> / <code>{}</code></li>", esc(u), esc(p)))
        .collect();
    let error = match q.error.as_deref() {
        Some("throttled") => {
            r#"<p id="error" style="color:#b00">Too many wrong passwords for that name: wait a little and try again.</p>"#
        }
        Some(_) => r#"<p id="error" style="color:#b00">Wrong name or password.</p>"#,
        None => "",
    };
    let confirm = match &signed_in {
        Some(_) if next != "/" => {
            r#"<p id="confirm">Please confirm your password to continue.</p>"#
        }
        _ => "",
    };
    let body = format!(
        r#"{error}{confirm}<form method="post" action="/login">{}
<input type="hidden" name="next" value="{}">
<p><label>Name <input name="username" id="username" autocomplete="username" value="{}"></label></p>
<p><label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label></p>
<p><label><input type="checkbox" name="remember" id="remember"> Remember me on this device</label></p>
<p><button id="login">Log in</button></p></form>
<p class="note">Demo accounts (passwords are stored as argon2 hashes):</p><ul>{users}</ul>"#,
        csrf_field(csrf.as_deref()),
        esc(next),
        esc(signed_in.as_deref().unwrap_or_default()),
    );
    render(&session, "Log in", &body).await
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    /// The "remember me" box: present when ticked.
    remember: Option<String>,
    next: Option<String>,
}

async fn login(
    State(app): State<App>,
    session: Session,
    Form(f): Form<LoginForm>,
) -> Result<Redirect> {
    // Refused while throttled, even with the right password: otherwise guessing would
    // only be slowed for wrong ones.
    if app.throttle.check(&f.username).is_err() {
        return Ok(Redirect::to("/login?error=throttled"));
    }
    if !app.users.verify(&f.username, &f.password) {
        app.throttle.failed(&f.username);
        return Ok(Redirect::to("/login?error=1"));
    }
    app.throttle.succeeded(&f.username);
    // Confirming the password on an already remembered session keeps it remembered.
    let remembered = session.user().await?.as_deref() == Some(f.username.as_str())
        && session.remembered().await?;
    session.set_remember(f.remember.is_some() || remembered);
    session.login(&f.username).await?;
    Ok(Redirect::to(local_next(f.next.as_deref())))
}

async fn password_page(session: Session, auth: RecentAuth) -> Result<Html<String>> {
    let csrf = session.csrf_token().await?;
    let body = format!(
        r#"<p>Signed in as <b>{}</b> within the last few minutes, so you may change the password.</p>
<form method="post" action="/account/password">{}
<p><label>New password <input name="password" id="new-password" type="password" autocomplete="new-password"></label></p>
<p><button id="change">Change password</button></p></form>
<p class="note">Changing it logs out your other devices.</p>"#,
        esc(&auth.user),
        csrf_field(csrf.as_deref())
    );
    render(&session, "Change password", &body).await
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

async fn change_password(
    State(app): State<App>,
    session: Session,
    auth: RecentAuth,
    Form(f): Form<PasswordForm>,
) -> Result<Response> {
    if f.password.len() < 8 {
        let body = r#"<p id="error" style="color:#b00">At least 8 characters, please.</p>"#;
        return Ok(render(&session, "Change password", body)
            .await?
            .into_response());
    }
    app.users.set_password(&auth.user, &f.password);
    session.revoke_other_devices().await?;
    let body = r#"<p id="changed">Password changed; your other devices were logged out.</p>"#;
    Ok(render(&session, "Password changed", body)
        .await?
        .into_response())
}

async fn logout(session: Session) -> Result<Redirect> {
    session.logout().await?;
    Ok(Redirect::to("/"))
}

async fn products(session: Session) -> Result<Html<String>> {
    let csrf = session.csrf_token().await?;
    let rows: String = PRODUCTS
        .iter()
        .map(|(id, name, cents)| {
            format!(
                r#"<tr><td>{}</td><td>€{}.{:02}</td><td><form method="post" action="/cart/add">{}<input type="hidden" name="product" value="{}"><button class="add" id="add-{}">Add to cart</button></form></td></tr>"#,
                esc(name), cents / 100, cents % 100, csrf_field(csrf.as_deref()), esc(id), esc(id)
            )
        })
        .collect();
    render(&session, "Products", &format!("<table>{rows}</table>")).await
}

#[derive(Deserialize)]
struct AddForm {
    product: String,
}

fn known(product: &str) -> bool {
    PRODUCTS.iter().any(|(id, _, _)| *id == product)
}

/// Adds `product` to the cart. A read-modify-write: when concurrent adds conflict, each is
/// replayed on the cart the others stored, so none is lost.
async fn add(session: &Session, product: &str) -> Result<Vec<String>> {
    if !known(product) {
        return cart_of(session).await;
    }
    let product = product.to_owned();
    session
        .update("cart", move |cart: &mut Vec<String>| {
            if cart.len() < MAX_CART {
                cart.push(product.clone());
            }
        })
        .await
}

async fn cart_add(session: Session, Form(f): Form<AddForm>) -> Result<Redirect> {
    add(&session, &f.product).await?;
    Ok(Redirect::to("/cart"))
}

async fn cart_page(session: Session) -> Result<Html<String>> {
    let cart = cart_of(&session).await?;
    let items: String = if cart.is_empty() {
        "<p id=\"empty\">Your cart is empty.</p>".to_owned()
    } else {
        let li: String = cart
            .iter()
            .map(|p| format!("<li class=\"item\">{}</li>", esc(p)))
            .collect();
        format!("<ul id=\"items\">{li}</ul>")
    };
    let body = format!(
        r#"{items}
<p><button id="api-add">Add a kiwi through the JSON API</button> <span class="note">(<code>fetch</code> with the CSRF token in a header)</span></p>
<script>
document.getElementById('api-add').addEventListener('click', async () => {{
  const meta = document.querySelector('meta[name=csrf-token]');
  const r = await fetch('/api/cart', {{
    method: 'POST', credentials: 'same-origin',
    headers: {{'content-type': 'application/json', 'x-csrf-token': meta ? meta.content : ''}},
    body: JSON.stringify({{product: 'kiwi'}})
  }});
  if (r.ok) location.reload(); else document.body.insertAdjacentHTML('beforeend', '<p id="api-error">API said ' + r.status + '</p>');
}});
</script>"#
    );
    render(&session, "Cart", &body).await
}

async fn devices(session: Session) -> Result<Response> {
    if session.user().await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    let list = session.devices().await?;
    let csrf = session.csrf_token().await?;
    let body = pages::devices_table(&list, csrf.as_deref(), SystemClock.now().as_millis());
    Ok(render(&session, "Your devices", &body)
        .await?
        .into_response())
}

#[derive(Deserialize)]
struct RevokeForm {
    key: String,
}

async fn revoke(session: Session, Form(f): Form<RevokeForm>) -> Result<Redirect> {
    session.revoke_device(&f.key).await?;
    Ok(Redirect::to("/devices"))
}

async fn revoke_others(session: Session) -> Result<Redirect> {
    session.revoke_other_devices().await?;
    Ok(Redirect::to("/devices"))
}

#[derive(serde::Serialize)]
struct ApiCart {
    user: Option<String>,
    items: Vec<String>,
}

async fn api_cart(session: Session) -> Result<Json<ApiCart>> {
    Ok(Json(ApiCart {
        user: session.user().await?,
        items: cart_of(&session).await?,
    }))
}

async fn api_cart_add(session: Session, Json(f): Json<AddForm>) -> Result<Json<ApiCart>> {
    let items = add(&session, &f.product).await?;
    Ok(Json(ApiCart {
        user: session.user().await?,
        items,
    }))
}

/// Counts a visit: a read-modify-write of one counter, merged under concurrency.
async fn api_visit(session: Session) -> Result<Json<u64>> {
    Ok(Json(
        session
            .update("visits", |n: &mut u64| *n = n.saturating_add(1))
            .await?,
    ))
}
