//! The auth building blocks an app needs on top of sessions, so that the common case
//! needs no other crate: who the user is ([`CurrentUser`]), whether anyone is logged in
//! ([`LoggedIn`]), and whether they proved it recently enough for a sensitive route
//! ([`RecentAuth`], "sudo mode").
//!
//! The session's owner id is what [`Session::login`] stored; the app says how to turn it
//! into its user type with [`LoadUser`], which runs at most once per request however many
//! extractors ask. A request that fails a check gets one answer, decided by
//! one rule: a browser navigating to a page is redirected (`303`) to the configured
//! login or re-authentication page with `?next=` set to the page it asked for; an API
//! client gets `401` with `{"error":"auth","reason":...}`.
//!
//! To guard a whole router rather than one handler, use axum's
//! `middleware::from_extractor::<LoggedIn>()` as a route layer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{StatusCode, header};

use crate::rejection::SessionError;
use crate::session::Session;

mod refusal;

pub use refusal::{AuthReason, is_page_request};
pub(crate) use refusal::{page, refusal};

/// How an app loads its user from a session's owner id (the string given to
/// [`Session::login`]). `state` is the router's state (a database pool, usually).
///
/// # Example
/// ```
/// use session_tower::auth::{BoxError, LoadUser};
///
/// #[derive(Clone)]
/// struct User { name: String }
///
/// impl<S: Send + Sync> LoadUser<S> for User {
///     async fn load(owner: &str, _state: &S) -> Result<Option<Self>, BoxError> {
///         // look the user up in the app's database; `None` if they no longer exist
///         Ok(Some(User { name: owner.to_owned() }))
///     }
/// }
/// ```
pub trait LoadUser<S>: Clone + Send + Sync + Sized + 'static {
    /// The user whose id is `owner`, `None` when there is none any more (a deleted
    /// account: the request is then treated as not logged in).
    fn load(owner: &str, state: &S) -> impl Future<Output = Result<Option<Self>, BoxError>> + Send;
}

/// The error a [`LoadUser`] may fail with; answered `503` and logged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The refusal of an auth extractor, as a response (see the module docs).
#[derive(Debug)]
pub enum AuthRejection {
    /// The check failed: a redirect for a browser, `401` for an API client.
    Refused(Response),
    /// The session could not be read.
    Session(SessionError),
    /// The app's [`LoadUser`] failed: `503`.
    UserUnavailable,
    /// The route has no [`crate::SessionLayer`].
    MissingLayer,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Refused(r) => r,
            AuthRejection::Session(e) => e.into_response(),
            AuthRejection::UserUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::RETRY_AFTER, "1"),
                ],
                r#"{"error":"auth","reason":"user_unavailable"}"#,
            )
                .into_response(),
            AuthRejection::MissingLayer => crate::MissingSessionLayer.into_response(),
        }
    }
}

fn target(parts: &Parts) -> &str {
    parts.uri.path_and_query().map_or("/", |p| p.as_str())
}

fn refuse(reason: AuthReason, parts: &Parts, session: &Session) -> AuthRejection {
    AuthRejection::Refused(refusal(
        reason,
        is_page_request(&parts.headers),
        &session.settings().auth,
        target(parts),
    ))
}

async fn session_of<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Session, AuthRejection> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|_| AuthRejection::MissingLayer)
}

/// The logged-in user's owner id, or the refusal for a request without one.
async fn owner_of(parts: &Parts, session: &Session) -> Result<String, AuthRejection> {
    match session.user().await {
        Ok(Some(owner)) => Ok(owner),
        Ok(None) => Err(refuse(AuthReason::LoginRequired, parts, session)),
        Err(e) => Err(AuthRejection::Session(e)),
    }
}

/// Someone is logged in on this request's session; the extractor gives their owner id.
/// Otherwise the request is refused (see the module docs) and the handler does not run.
///
/// # Example
/// ```
/// use session_tower::auth::LoggedIn;
///
/// async fn account(LoggedIn(user): LoggedIn) -> String {
///     format!("signed in as {user}")
/// }
/// // or for every route of a router:
/// // router.route_layer(axum::middleware::from_extractor::<LoggedIn>())
/// ```
#[derive(Debug, Clone)]
pub struct LoggedIn(pub String);

impl<S: Send + Sync> FromRequestParts<S> for LoggedIn {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = session_of(parts, state).await?;
        owner_of(parts, &session).await.map(LoggedIn)
    }
}

/// The loaded user of a request, cached in its extensions so that [`LoadUser::load`] runs
/// once per request.
#[derive(Clone)]
struct Cached<U>(Arc<Option<U>>);

/// The logged-in user, loaded by the app's [`LoadUser`] (once per request); a request
/// with nobody logged in, or whose user no longer exists, is refused.
///
/// # Example
/// ```
/// use session_tower::auth::{BoxError, CurrentUser, LoadUser};
///
/// #[derive(Clone)]
/// struct User { name: String }
///
/// impl<S: Send + Sync> LoadUser<S> for User {
///     async fn load(owner: &str, _state: &S) -> Result<Option<Self>, BoxError> {
///         Ok(Some(User { name: owner.to_owned() }))
///     }
/// }
///
/// async fn hello(CurrentUser(user): CurrentUser<User>) -> String {
///     format!("hello, {}", user.name)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser<U>(pub U);

impl<S, U> FromRequestParts<S> for CurrentUser<U>
where
    S: Send + Sync,
    U: LoadUser<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = session_of(parts, state).await?;
        let user = match parts.extensions.get::<Cached<U>>() {
            Some(Cached(user)) => user.clone(),
            None => {
                let owner = owner_of(parts, &session).await?;
                let user = U::load(&owner, state).await.map_err(|e| {
                    tracing::warn!(error = %e, "loading the session's user failed");
                    AuthRejection::UserUnavailable
                })?;
                let user = Arc::new(user);
                parts.extensions.insert(Cached(user.clone()));
                user
            }
        };
        match user.as_ref() {
            Some(u) => Ok(CurrentUser(u.clone())),
            None => Err(refuse(AuthReason::LoginRequired, parts, &session)),
        }
    }
}

/// Someone is logged in, and logged in (or confirmed their password with a new
/// [`Session::login`]) within the layer's re-authentication window ("sudo mode", 5
/// minutes unless [`SessionLayer::with_reauthentication_window`](crate::SessionLayer::with_reauthentication_window)
/// says otherwise). Otherwise a browser is sent to the re-authentication page and an API
/// client gets `401` with `reauthentication_required`; nobody logged in at all is
/// `login_required`. A route with a window of its own checks
/// [`Session::authenticated_within`] itself.
///
/// # Example
/// ```
/// use session_tower::auth::RecentAuth;
///
/// async fn change_password(auth: RecentAuth) -> String {
///     format!("{} may change the password", auth.user)
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecentAuth {
    /// The owner id.
    pub user: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RecentAuth {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = session_of(parts, state).await?;
        let user = owner_of(parts, &session).await?;
        let window = session.settings().auth.window;
        match session.authenticated_within(window).await {
            Ok(true) => Ok(RecentAuth { user }),
            Ok(false) => Err(refuse(
                AuthReason::ReauthenticationRequired,
                parts,
                &session,
            )),
            Err(e) => Err(AuthRejection::Session(e)),
        }
    }
}

impl Session {
    /// When the user last logged in on this session; `None` when nobody is logged in.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// if let Some(t) = session.authenticated_at().await? {
    ///     println!("signed in at {} ms", t.as_millis());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn authenticated_at(&self) -> Result<Option<session_core::Timestamp>, SessionError> {
        let r = self.core().authenticated_at().await;
        self.track(r)
    }

    /// True when the user logged in on this session less than `window` ago; what
    /// [`RecentAuth`] checks. To renew it after re-checking the password, log in again as
    /// the same user ([`Session::login`]: a new id, the data kept).
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let recent = session.authenticated_within(Duration::from_secs(300)).await?;
    /// # let _ = recent;
    /// # Ok(()) }
    /// ```
    pub async fn authenticated_within(&self, window: Duration) -> Result<bool, SessionError> {
        let r = self.core().authenticated_within(window).await;
        self.track(r)
    }
}
