//! The axum extractors: [`Session`], and [`LockedSession`] for routes that need their
//! session to themselves.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::rejection::MissingSessionLayer;
use crate::session::Session;

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}

/// The request's [`Session`], with its lock taken ([`Session::lock`]) before the handler
/// runs and released by the save before the response leaves. Other requests that lock the
/// same session wait; when the wait runs out the route answers 409 with
/// `{"error":"session","reason":"session_locked"}` and the handler is not called.
///
/// # Example
/// ```
/// use session_tower::{LockedSession, SessionError};
///
/// async fn checkout(session: LockedSession) -> Result<&'static str, SessionError> {
///     let paid: bool = session.get("paid").await?.unwrap_or(false);
///     if !paid {
///         session.insert("paid", &true)?; // charged once, however many tabs click
///     }
///     Ok("done")
/// }
/// ```
#[derive(Debug, Clone)]
pub struct LockedSession(pub Session);

impl std::ops::Deref for LockedSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LockedSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        session.lock().await.map_err(IntoResponse::into_response)?;
        Ok(LockedSession(session))
    }
}
