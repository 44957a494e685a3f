//! [`SessionLayer`]: its builder methods, each validated when it is given.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, StatusCode};
use session_core::{SessionConfig, SessionStore, SharedClock};

use crate::config::{
    ConfigError, CookieConfig, CsrfConfig, OutagePolicy, SameSite, validate_origin,
};
use crate::service::SessionService;
use crate::settings::Settings;
use crate::signing::SigningKeys;

/// The tower layer that gives every request a lazily loaded [`crate::Session`].
///
/// Defaults are the secure ones: a `__Host-id` cookie that is `Secure`, `HttpOnly`,
/// `SameSite=Lax`, `Path=/`, without `Domain` and without `Max-Age`; 30 minutes idle and 12
/// hours absolute; CSRF checks on every unsafe method. Settings that weaken a default are
/// named `with_insecure_*`. Settings that can make the cookie invalid return
/// `Result`, so a bad combination fails at startup.
///
/// # Deployment caveat
///
/// CSRF origin checks need no configuration for a same-origin app: `Sec-Fetch-Site:
/// same-origin` passes, and without that header `Origin` must name the request's own `Host`
/// (Go 1.25's approach). [`SessionLayer::with_trusted_origins`] adds other origins, and is
/// what a deployment behind a proxy that rewrites `Host` needs: give the origin users see
/// (`https://shop.example`). Over plain `http://localhost` browsers still accept `Secure`
/// cookies, so development works without TLS.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use session_memory::MemoryStore;
/// use session_tower::{SessionLayer, SigningKeys};
///
/// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
///     .with_idle_timeout(Duration::from_secs(15 * 60))
///     .with_trusted_origins(["https://shop.example"]).unwrap();
/// let app: axum::Router = axum::Router::new().layer(layer);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SessionLayer {
    pub(crate) settings: Arc<Settings>,
}

impl SessionLayer {
    /// A layer over `store`, signing cookies with `keys`.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_idle_timeout(Duration::from_secs(30 * 60));
    /// let app: axum::Router = axum::Router::new().layer(layer);
    /// ```
    pub fn new(store: impl SessionStore, keys: SigningKeys) -> Self {
        Self::from_shared(Arc::new(store), keys)
    }

    /// As [`SessionLayer::new`], for a store already behind an `Arc`.
    ///
    /// # Example
    /// ```
    /// use std::sync::Arc;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SessionStore, SigningKeys};
    ///
    /// let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    /// let layer = SessionLayer::from_shared(store.clone(), SigningKeys::generate().unwrap());
    /// // `store` is still at hand, for a sweeper or an admin page
    /// # let _ = layer;
    /// ```
    pub fn from_shared(store: Arc<dyn SessionStore>, keys: SigningKeys) -> Self {
        keys.install_log_key();
        Self {
            settings: Arc::new(Settings {
                store,
                keys,
                cookie: CookieConfig::default(),
                csrf: CsrfConfig::default(),
                session: Arc::new(SessionConfig::default()),
                header_id: None,
                discard_on_login: Arc::from(Vec::new()),
                outage: OutagePolicy::default(),
                read_cache_control: Some(http::HeaderValue::from_static(
                    crate::settings::READ_CACHE_CONTROL,
                )),
                auth: crate::settings::AuthPages::default(),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        let mut s = Settings {
            store: self.settings.store.clone(),
            keys: self.settings.keys.clone(),
            cookie: self.settings.cookie.clone(),
            csrf: self.settings.csrf.clone(),
            session: self.settings.session.clone(),
            header_id: self.settings.header_id.clone(),
            discard_on_login: self.settings.discard_on_login.clone(),
            read_cache_control: self.settings.read_cache_control.clone(),
            outage: self.settings.outage,
            auth: self.settings.auth.clone(),
        };
        f(&mut s);
        self.settings = Arc::new(s);
        self
    }

    fn edit_cookie(self, f: impl FnOnce(&mut CookieConfig)) -> Result<Self, ConfigError> {
        let mut c = self.settings.cookie.clone();
        f(&mut c);
        c.validate()?;
        Ok(self.edit(|s| s.cookie = c))
    }

    fn edit_session(self, f: impl FnOnce(SessionConfig) -> SessionConfig) -> Self {
        self.edit(|s| s.session = Arc::new(f((*s.session).clone())))
    }

    /// A session unused this long ends (default 30 minutes).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_idle_timeout(Duration::from_secs(15 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_idle_timeout(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_idle_timeout(d))
    }

    /// A remembered session ("remember me", [`Session::set_remember`](crate::Session::set_remember))
    /// may sit unused this long (default: the idle timeout); its cookie's `Max-Age`
    /// follows. The absolute timeout still caps it.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let month = Duration::from_secs(30 * 24 * 3600);
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_remembered_idle_timeout(month)
    ///     .with_absolute_timeout(month);
    /// # let _ = layer;
    /// ```
    pub fn with_remembered_idle_timeout(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_remembered_idle_timeout(d))
    }

    /// A session ends this long after login or creation however active (default 12 hours).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_absolute_timeout(Duration::from_secs(8 * 3600));
    /// # let _ = layer;
    /// ```
    pub fn with_absolute_timeout(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_absolute_timeout(Some(d)))
    }

    /// Write a touch only when the session was last seen this long ago (default: a quarter
    /// of the idle timeout).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_touch_after(Duration::from_secs(60));
    /// # let _ = layer;
    /// ```
    pub fn with_touch_after(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_touch_after(d))
    }

    /// The clock for expiry decisions (tests pass a manual clock).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_clock(std::sync::Arc::new(session_tower::ManualClock::new())); // tests
    /// # let _ = layer;
    /// ```
    pub fn with_clock(self, clock: SharedClock) -> Self {
        self.edit_session(|c| c.with_clock(clock))
    }

    /// The largest session data, in bytes (default 4 MiB).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_max_data_bytes(64 * 1024);
    /// # let _ = layer;
    /// ```
    pub fn with_max_data_bytes(self, n: usize) -> Self {
        self.edit_session(|c| c.with_max_data_bytes(n))
    }

    /// How long a request's session lock ([`crate::Session::lock`], [`crate::LockedSession`])
    /// lasts if its holder never finishes (default 10 s); a holder still running after it
    /// can no longer write.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_lock_lease(Duration::from_secs(30)); // a slow checkout
    /// # let _ = layer;
    /// ```
    pub fn with_lock_lease(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_lock_lease(d))
    }

    /// How long a request waits for another request's session lock before it is answered
    /// 409 `session_locked` (default 5 s).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_lock_wait(Duration::from_secs(2));
    /// # let _ = layer;
    /// ```
    pub fn with_lock_wait(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_lock_wait(d))
    }

    /// How long the id a login (or any rotation) left behind stays marked as moved, so
    /// that a request from another tab still carrying it is answered 409 `session_ended`
    /// instead of starting a session whose cookie would replace the login's. Default 60 s;
    /// `Duration::ZERO` leaves no mark. See `SessionConfig::with_rotation_grace`.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_rotation_grace(Duration::from_secs(120));
    /// # let _ = layer;
    /// ```
    pub fn with_rotation_grace(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_rotation_grace(d))
    }

    /// How often a [`LiveSession`](crate::LiveSession) looks at its session when the store
    /// cannot push end notices (memory, SQLite, MySQL): the bound on how late a socket
    /// there learns of a logout elsewhere, at one read per socket per period. Default 1 s.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_live_poll(Duration::from_millis(250));
    /// # let _ = layer;
    /// ```
    pub fn with_live_poll(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_live_poll(d))
    }

    /// How often a [`LiveSession`](crate::LiveSession) looks at its session even though the
    /// store pushes end notices (Redis, PostgreSQL): the safety net. Default 60 s.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_live_recheck(Duration::from_secs(30));
    /// # let _ = layer;
    /// ```
    pub fn with_live_recheck(self, d: Duration) -> Self {
        self.edit_session(|c| c.with_live_recheck(d))
    }

    /// Checks the session settings together.
    ///
    /// # Errors
    /// [`ConfigError::Session`] when the timeouts do not fit together.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_idle_timeout(Duration::from_secs(600))
    ///     .validated()
    ///     .expect("timeouts fit together");
    /// # let _ = layer;
    /// ```
    pub fn validated(self) -> Result<Self, ConfigError> {
        session_check(&self.settings.session)?;
        Ok(self)
    }

    /// The cookie name (default `__Host-id`).
    ///
    /// # Errors
    /// A name that is not a token, or a prefix the other attributes do not satisfy.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_cookie_name("__Host-shop")
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_cookie_name(self, name: &str) -> Result<Self, ConfigError> {
        self.edit_cookie(|c| c.name = name.to_owned())
    }

    /// Where [`CurrentUser`](crate::auth::CurrentUser) and [`LoggedIn`](crate::auth::LoggedIn)
    /// send a browser that is not logged in: `303 See Other` to `path?next=<the page it
    /// asked for>`. API clients (no `text/html` in `Accept`, not a navigation) get `401`
    /// either way; without a login page, so do browsers.
    ///
    /// # Errors
    /// A path that does not start with `/` (an absolute URL would make the redirect an
    /// open one), or one holding `?`, `#` or characters outside visible ASCII.
    ///
    /// # Example
    /// ```
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_login_page("/login")
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_login_page(self, path: &str) -> Result<Self, ConfigError> {
        let path = crate::auth::page(path)?;
        Ok(self.edit(|s| s.auth.login = Some(path)))
    }

    /// Where [`RecentAuth`](crate::auth::RecentAuth) sends a browser whose login is too old
    /// for the route ("confirm your password"): `303` to `path?next=…`, as for
    /// [`Self::with_login_page`]. Without it, the login page; without either, `401`.
    ///
    /// # Errors
    /// As [`Self::with_login_page`].
    ///
    /// # Example
    /// ```
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_reauthentication_page("/confirm-password")
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_reauthentication_page(self, path: &str) -> Result<Self, ConfigError> {
        let path = crate::auth::page(path)?;
        Ok(self.edit(|s| s.auth.reauthenticate = Some(path)))
    }

    /// How recent a login [`RecentAuth`](crate::auth::RecentAuth) asks for (default 5
    /// minutes): a route guarded by it runs only within this long of the user's last
    /// login on the session.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_reauthentication_window(Duration::from_secs(10 * 60));
    /// # let _ = layer;
    /// ```
    pub fn with_reauthentication_window(self, window: Duration) -> Self {
        self.edit(|s| s.auth.window = window)
    }

    /// The cookie's `Path` (default `/`), for an app mounted under a prefix: browsers send
    /// the cookie only to paths under it. A `__Host-` cookie must keep `Path=/`, so rename
    /// it first (`__Secure-` allows any path).
    ///
    /// # Errors
    /// A path that does not start with `/` or holds `;`, `,`, spaces or control
    /// characters; any path but `/` on a `__Host-` cookie.
    ///
    /// # Example
    /// ```
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_cookie_name("__Secure-shop")
    ///     .unwrap()
    ///     .with_cookie_path("/shop")
    ///     .unwrap();
    /// # let _ = layer;
    /// // The default `__Host-id` cannot leave `/`:
    /// assert!(SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_cookie_path("/shop")
    ///     .is_err());
    /// ```
    pub fn with_cookie_path(self, path: &str) -> Result<Self, ConfigError> {
        self.edit_cookie(|c| c.path = path.to_owned())
    }

    /// `SameSite` (default `Lax`).
    ///
    /// # Errors
    /// `None` without `Secure`.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_same_site(session_tower::SameSite::Strict)
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_same_site(self, same_site: SameSite) -> Result<Self, ConfigError> {
        self.edit_cookie(|c| c.same_site = same_site)
    }

    /// Give every session's cookie a `Max-Age` up to the session's expiry, so it survives
    /// a browser restart (default: a browser-session cookie). To let each user choose at
    /// login ("remember me"), leave this off and call
    /// [`Session::set_remember`](crate::Session::set_remember) instead.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_persistent_cookie(); // Max-Age: survives a browser restart
    /// # let _ = layer;
    /// ```
    pub fn with_persistent_cookie(self) -> Self {
        self.edit(|s| s.cookie.persistent = true)
    }

    /// Mark the cookie `Partitioned` (CHIPS), for an app embedded in other sites' pages:
    /// the browser keeps one cookie per top-level site it is embedded in. Usually with
    /// `SameSite=None`. The removal cookie carries the attribute too.
    ///
    /// # Errors
    /// When the cookie is not `Secure` (browsers drop such a cookie).
    ///
    /// # Example
    /// ```
    /// use session_memory::MemoryStore;
    /// use session_tower::{SameSite, SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_cookie_name("__Host-Http-id") // settable only by a server, with HttpOnly
    ///     .unwrap()
    ///     .with_same_site(SameSite::None)
    ///     .unwrap()
    ///     .with_partitioned_cookie()
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_partitioned_cookie(self) -> Result<Self, ConfigError> {
        self.edit_cookie(|c| c.partitioned = true)
    }

    /// Drop `Secure` (plain-HTTP deployments only; rename the `__Host-` cookie first).
    ///
    /// # Errors
    /// When the name's prefix needs `Secure`.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_cookie_name("id")
    ///     .unwrap()
    ///     .with_insecure_cookie() // plain-HTTP testing only
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_insecure_cookie(self) -> Result<Self, ConfigError> {
        tracing::warn!("session cookie without Secure: only for plain-HTTP development");
        self.edit_cookie(|c| c.secure = false)
    }

    /// Set `Domain` (sends the cookie to subdomains; rename the `__Host-` cookie first).
    ///
    /// # Errors
    /// A domain with forbidden characters, or a `__Host-` name.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_cookie_name("__Secure-id")
    ///     .unwrap()
    ///     .with_insecure_domain("shop.example") // sent to every subdomain too
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_insecure_domain(self, domain: &str) -> Result<Self, ConfigError> {
        tracing::warn!("session cookie with Domain: subdomains receive it too");
        self.edit_cookie(|c| c.domain = Some(domain.to_owned()))
    }

    /// Origins whose unsafe requests are accepted besides the app's own
    /// (`https://admin.example`, or the origin users see behind a proxy that rewrites
    /// `Host`), compared exactly with `Origin`. Not needed for a same-origin app.
    ///
    /// # Errors
    /// An entry that is not `scheme://host[:port]`.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_trusted_origins(["https://admin.shop.example"])
    ///     .unwrap();
    /// # let _ = layer;
    /// ```
    pub fn with_trusted_origins<I, S>(self, origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Vec::new();
        for o in origins {
            validate_origin(o.as_ref())?;
            list.push(o.as_ref().to_owned());
        }
        Ok(self.edit(|s| s.csrf.trusted_origins = list))
    }

    /// Turn CSRF checks off (for a pure API behind another protection).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_insecure_csrf_disabled(); // an API behind another protection
    /// # let _ = layer;
    /// ```
    pub fn with_insecure_csrf_disabled(self) -> Self {
        tracing::warn!("CSRF protection disabled");
        self.edit(|s| s.csrf.enabled = false)
    }

    /// Also accept the signed session id in request header `name`, for non-browser API
    /// clients; a new id is returned in the same response header. Requests that use the
    /// header are not CSRF-checked: a header is not an ambient credential.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_header_id(http::HeaderName::from_static("x-session")); // for non-browser clients
    /// # let _ = layer;
    /// ```
    pub fn with_header_id(self, name: HeaderName) -> Self {
        self.edit(|s| s.header_id = Some(name))
    }

    /// Keys an anonymous session drops when it logs in ([`crate::Session::login`]); the
    /// rest of its data (a cart) is kept. A login over another user's session starts empty
    /// whatever this says.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_discard_on_login(["checkout_step"]); // the cart survives login, this does not
    /// # let _ = layer;
    /// ```
    pub fn with_discard_on_login<I, S>(self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let discard: Vec<String> = keys.into_iter().map(Into::into).collect();
        self.edit(|s| s.discard_on_login = Arc::from(discard))
    }

    /// The status for a request whose session store is unavailable (default 503).
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_outage_status(http::StatusCode::SERVICE_UNAVAILABLE);
    /// # let _ = layer;
    /// ```
    pub fn with_outage_status(self, status: StatusCode) -> Self {
        self.edit(|s| s.outage.status = status)
    }

    /// The `Cache-Control` a response gets when its handler read the session (a page with
    /// the cart, the user name or a CSRF token) and set no `Cache-Control` of its own;
    /// default `private, no-store`, `None` to leave such responses alone. A response that
    /// sets or expires the cookie always gets `no-store`, whatever this says.
    ///
    /// # Example
    /// ```
    /// use http::HeaderValue;
    /// use session_memory::MemoryStore;
    /// use session_tower::{SessionLayer, SigningKeys};
    ///
    /// // Let a shared cache keep nothing, but let this browser keep pages for a minute.
    /// let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
    ///     .with_read_cache_control(Some(HeaderValue::from_static("private, max-age=60")));
    /// # let _ = layer;
    /// ```
    pub fn with_read_cache_control(self, value: Option<http::HeaderValue>) -> Self {
        self.edit(|s| s.read_cache_control = value)
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    /// # Panics
    /// When the session settings do not fit together (a touch threshold not shorter than
    /// the idle timeout, an absolute timeout shorter than the idle one): the layer is built
    /// at startup, so a misconfiguration stops the app there with the reason, not later on
    /// a request. Call [`SessionLayer::validated`] first to get it as a [`ConfigError`].
    fn layer(&self, inner: S) -> Self::Service {
        if let Err(e) = session_check(&self.settings.session) {
            panic!("invalid session settings: {e}");
        }
        SessionService {
            inner,
            settings: self.settings.clone(),
        }
    }
}

/// The session settings' own check, as a [`ConfigError`] that keeps the reason.
fn session_check(config: &SessionConfig) -> Result<(), ConfigError> {
    config.validate().map_err(|e| match e {
        session_core::Error::Misconfigured { problem } => ConfigError::Session(problem),
        _ => ConfigError::Session("the session settings were rejected"),
    })
}
