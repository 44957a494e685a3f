//! Sessions outside one request: [`LiveSession`], the extractor a WebSocket (or an event
//! stream) opens with, and keeps for as long as the connection lives.
//!
//! A WebSocket handshake is a `GET`, so the layer's CSRF checks (unsafe methods only) never
//! see it, and a page on another site may open one to us with the user's cookie
//! (cross-site WebSocket hijacking). So the extractor runs the origin checks itself, as for
//! an unsafe request: browsers always send `Origin` on a handshake. It then requires a live
//! session: a socket opened without one is refused (401) and creates none.
//!
//! The connection saves on demand ([`Session::save`]: nothing is saved for it after the
//! handshake's response), and [`LiveSession::ended`] tells it when the session ends
//! elsewhere, through the store's notices where it has them (Redis, PostgreSQL) and by
//! polling where not (see `session_core::Session::ended`).

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{StatusCode, header};
pub use session_core::Ended;

use crate::csrf;
use crate::rejection::{self, MissingSessionLayer};
use crate::session::Session;

/// The request's [`Session`], checked for a connection that outlives the request: the
/// request comes from our own origin (or a trusted one), and a live session exists.
/// Refusals: `403 {"error":"csrf","reason":...}` for another origin, `401
/// {"error":"session","reason":"no_session"}` without a session, `503` when the store is
/// down.
///
/// # Example
/// ```
/// use axum::extract::ws::{Message, WebSocketUpgrade};
/// use axum::response::Response;
/// use session_tower::LiveSession;
///
/// async fn live(ws: WebSocketUpgrade, live: LiveSession) -> Response {
///     ws.on_upgrade(move |mut socket| async move {
///         tokio::select! {
///             // Logged out elsewhere, revoked, expired: close at once.
///             why = live.ended() => {
///                 let _ = socket.send(Message::Text(format!("ended: {why:?}").into())).await;
///             }
///             _ = async { while let Some(Ok(_)) = socket.recv().await {} } => {}
///         }
///     })
/// }
/// ```
#[derive(Debug, Clone)]
pub struct LiveSession(Session);

impl std::ops::Deref for LiveSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl LiveSession {
    /// Waits until the session ends elsewhere (a logout, "log out everywhere", a
    /// revocation, a rotation by a login in another tab, or its expiry) and says which.
    /// Cancel-safe. After it returns, reads find nothing and saves fail.
    ///
    /// # Example
    /// ```
    /// # async fn demo(live: session_tower::LiveSession) {
    /// let why = live.ended().await; // then close the socket
    /// # let _ = why; }
    /// ```
    pub async fn ended(&self) -> Ended {
        self.0.core().ended().await
    }

    /// The session, as a handler's [`Session`].
    ///
    /// # Example
    /// ```
    /// # fn demo(live: session_tower::LiveSession) {
    /// let session: session_tower::Session = live.into_session();
    /// # let _ = session; }
    /// ```
    pub fn into_session(self) -> Session {
        self.0
    }
}

/// The 401 for a live connection opened without a session.
fn no_session() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        r#"{"error":"session","reason":"no_session"}"#,
    )
        .into_response()
}

impl<S: Send + Sync> FromRequestParts<S> for LiveSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|e: MissingSessionLayer| e.into_response())?;
        let authority = csrf::request_authority(&parts.uri, &parts.headers);
        let trusted = &session.settings().csrf.trusted_origins;
        if let Err(reason) = csrf::check_origin(&parts.headers, authority, trusted) {
            tracing::info!(
                reason = reason.as_str(),
                "CSRF check refused a live connection"
            );
            return Err(rejection::csrf_rejection(reason));
        }
        if !session
            .exists()
            .await
            .map_err(IntoResponse::into_response)?
        {
            return Err(no_session());
        }
        Ok(LiveSession(session))
    }
}
