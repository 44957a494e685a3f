//! Errors a handler sees, and the responses they become.

use axum_core::response::{IntoResponse, Response};
use http::{StatusCode, header};
use session_core::ErrorKind;

use crate::csrf::CsrfReason;

/// A session operation failed.
///
/// As a response: 503 when the store is unavailable (never an empty session that would log
/// the user out), 400 for data the client sent, 500 otherwise. The body never contains a
/// session id, key or token.
#[derive(Debug, thiserror::Error)]
#[error("session operation failed")]
pub struct SessionError {
    #[source]
    source: session_core::Error,
}

impl SessionError {
    pub(crate) fn new(source: session_core::Error) -> Self {
        Self { source }
    }

    /// The category of the underlying error.
    pub fn kind(&self) -> ErrorKind {
        self.source.kind()
    }

    /// The underlying store or handle error.
    pub fn inner(&self) -> &session_core::Error {
        &self.source
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = match self.kind() {
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Gone => StatusCode::UNAUTHORIZED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::warn!(error = %self.source, "session error");
        (status, status.canonical_reason().unwrap_or("error")).into_response()
    }
}

/// The `Session` extractor was used on a route without the layer.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("session layer missing: add SessionLayer to the router")]
pub struct MissingSessionLayer;

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// The 403 for a refused CSRF check: `{"error":"csrf","reason":"<reason>"}`.
pub(crate) fn csrf_rejection(reason: CsrfReason) -> Response {
    let body = format!(r#"{{"error":"csrf","reason":"{}"}}"#, reason.as_str());
    (
        StatusCode::FORBIDDEN,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::VARY, "Origin, Sec-Fetch-Site"),
        ],
        body,
    )
        .into_response()
}

/// The response for a request whose session the store could not serve.
pub(crate) fn outage(status: StatusCode) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        "session store unavailable, please retry",
    )
        .into_response()
}
