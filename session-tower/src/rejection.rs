//! Errors a handler sees, and the responses they become.

use axum_core::response::{IntoResponse, Response};
use http::{StatusCode, header};
use session_core::ErrorKind;

use crate::csrf::CsrfReason;

/// A session operation failed.
///
/// As a response, by the table of [`error_status`]: the body is `{"error":"session","reason":...}` and
/// never contains a session id, key or token.
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
        tracing::warn!(error = %session_core::observe::error_text(&self.source), "session error");
        error_response(&self.source)
    }
}

/// The status and machine-readable reason for a session error: the one table of what a
/// client sees when a session operation, or the save after the handler, failed. In no case
/// does the client get the handler's success for a write that was not stored.
///
/// | error | status | reason |
/// |---|---|---|
/// | store unavailable or timed out | 503, `Retry-After: 1` | `store_unavailable` |
/// | compare-and-swap kept losing | 503, `Retry-After: 1` | `too_many_conflicts` |
/// | session ended or moved meanwhile (logout, revocation, login in another tab) | 409 | `session_ended` |
/// | another request holds the session's lock | 409, `Retry-After: 1` | `session_locked` |
/// | this request's lock lease ran out | 409 | `lock_lost` |
/// | data over the size limit, malformed input | 400 | `bad_request` |
/// | anything else (unreadable record, misconfiguration) | 500 | `internal` |
pub fn error_status(error: &session_core::Error) -> (StatusCode, &'static str) {
    use session_core::Error as E;
    match (error.kind(), error) {
        (_, E::TooManyConflicts { .. }) => (StatusCode::SERVICE_UNAVAILABLE, "too_many_conflicts"),
        (_, E::LockLost) => (StatusCode::CONFLICT, "lock_lost"),
        (ErrorKind::Unavailable, _) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        (ErrorKind::Gone, _) => (StatusCode::CONFLICT, "session_ended"),
        (ErrorKind::Locked, _) => (StatusCode::CONFLICT, "session_locked"),
        (ErrorKind::BadRequest, _) => (StatusCode::BAD_REQUEST, "bad_request"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The response for `error`, as [`error_status`] decides it.
pub(crate) fn error_response(error: &session_core::Error) -> Response {
    let (status, reason) = error_status(error);
    let body = format!(r#"{{"error":"session","reason":"{reason}"}}"#);
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    if matches!(
        reason,
        "store_unavailable" | "too_many_conflicts" | "session_locked"
    ) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    }
    response
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

/// The 431 for a request whose `Cookie` header is over the layer's limit (a "cookie
/// bomb" planted by a sibling subdomain, or a client gone wrong). Refused rather than read
/// as "no session": a write would then start a new session and its cookie would replace
/// the user's, losing what the old one held.
pub(crate) fn cookie_header_too_large() -> Response {
    (
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        r#"{"error":"session","reason":"cookie_header_too_large"}"#,
    )
        .into_response()
}
