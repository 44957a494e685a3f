//! The one refusal rule of the auth extractors, as plain functions: a browser asking for
//! a page is redirected to the page that fixes it, with `next`; anything else gets `401`.
//! Unit-tested below without a runtime.

use axum_core::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::error::ConfigError;
use crate::settings::AuthPages;

/// Why a request was refused by an auth extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthReason {
    /// Nobody is logged in on this session (or its user no longer exists).
    LoginRequired,
    /// Logged in, but not within the route's window.
    ReauthenticationRequired,
}

impl AuthReason {
    /// The machine-readable reason in the `401` body.
    ///
    /// # Example
    /// ```
    /// use session_tower::auth::AuthReason;
    /// assert_eq!(AuthReason::LoginRequired.as_str(), "login_required");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AuthReason::LoginRequired => "login_required",
            AuthReason::ReauthenticationRequired => "reauthentication_required",
        }
    }
}

/// True for a request a browser makes to show a page (a navigation, or one that accepts
/// HTML): such a request is redirected; anything else is an API call and gets `401`.
///
/// # Example
/// ```
/// use http::{HeaderMap, HeaderValue, header};
/// let mut h = HeaderMap::new();
/// h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
/// assert!(!session_tower::auth::is_page_request(&h));
/// h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
/// assert!(session_tower::auth::is_page_request(&h));
/// ```
pub fn is_page_request(headers: &HeaderMap) -> bool {
    let navigate = headers
        .get("sec-fetch-mode")
        .is_some_and(|v| v.as_bytes() == b"navigate");
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    navigate || html
}

/// The response to a request refused for `reason`: `303 See Other` to the page for it
/// (the re-authentication page, else the login page) with `next` set to `target` (the
/// refused request's path and query), for a page request when such a page is set; `401`
/// with `{"error":"auth","reason":...}` otherwise. Never cached.
pub(crate) fn refusal(
    reason: AuthReason,
    page_request: bool,
    pages: &AuthPages,
    target: &str,
) -> Response {
    let page = match reason {
        AuthReason::ReauthenticationRequired => {
            pages.reauthenticate.as_ref().or(pages.login.as_ref())
        }
        AuthReason::LoginRequired => pages.login.as_ref(),
    };
    match page {
        Some(page) if page_request => {
            let location = format!("{page}?next={}", encode_next(target));
            let mut r =
                (StatusCode::SEE_OTHER, [(header::CACHE_CONTROL, "no-store")]).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
                (header::WWW_AUTHENTICATE, "Session"),
            ],
            format!(r#"{{"error":"auth","reason":"{}"}}"#, reason.as_str()),
        )
            .into_response(),
    }
}

/// Percent-encodes a request target for a `next` query value: everything but unreserved
/// characters and `/`, so that the login page gets it back whole, and a target can never
/// end the query or start a fragment.
fn encode_next(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for b in target.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a configured page: a local absolute path (`/login`), never `//host` (which a
/// browser reads as another site), with no query, fragment or non-visible characters.
pub(crate) fn page(path: &str) -> Result<String, ConfigError> {
    let local = path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\");
    let clean = path
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"?#".contains(&b));
    if local && clean {
        Ok(path.to_owned())
    } else {
        Err(ConfigError::InvalidAuthPage(path.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    /// Navigations and HTML-accepting requests are pages; fetch calls, JSON clients and
    /// `*/*` are APIs.
    #[test]
    fn pages_are_told_from_api_calls() {
        assert!(is_page_request(&headers(&[("sec-fetch-mode", "navigate")])));
        assert!(is_page_request(&headers(&[(
            "accept",
            "text/html,*/*;q=0.8"
        )])));
        assert!(!is_page_request(&headers(&[(
            "accept",
            "application/json"
        )])));
        assert!(!is_page_request(&headers(&[("accept", "*/*")])));
        assert!(!is_page_request(&headers(&[("sec-fetch-mode", "cors")])));
        assert!(!is_page_request(&HeaderMap::new()));
    }

    /// The refusal table: which page, if any, and the 401 otherwise.
    #[test]
    fn refusal_table() {
        let both = AuthPages {
            login: Some("/login".into()),
            reauthenticate: Some("/confirm".into()),
            ..AuthPages::default()
        };
        let login_only = AuthPages {
            login: Some("/login".into()),
            ..AuthPages::default()
        };
        let location = |r: &Response| r.headers().get(header::LOCATION).cloned();
        let r = refusal(AuthReason::LoginRequired, true, &both, "/a?b=c");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r).unwrap(), "/login?next=/a%3Fb%3Dc");
        let r = refusal(AuthReason::ReauthenticationRequired, true, &both, "/a");
        assert_eq!(location(&r).unwrap(), "/confirm?next=/a");
        let r = refusal(
            AuthReason::ReauthenticationRequired,
            true,
            &login_only,
            "/a",
        );
        assert_eq!(
            location(&r).unwrap(),
            "/login?next=/a",
            "falls back to the login page"
        );
        for (reason, pages) in [
            (AuthReason::LoginRequired, &both),
            (AuthReason::LoginRequired, &AuthPages::default()),
        ] {
            let r = refusal(reason, false, pages, "/a");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert!(location(&r).is_none());
        }
        let r = refusal(AuthReason::LoginRequired, true, &AuthPages::default(), "/a");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no page configured");
    }

    /// `next` keeps unreserved characters and `/`, and encodes everything that could end
    /// the query or start a fragment.
    #[test]
    fn next_is_encoded() {
        assert_eq!(encode_next("/a-b_c.d~e/f"), "/a-b_c.d~e/f");
        assert_eq!(encode_next("/x?y=1&z=#f"), "/x%3Fy%3D1%26z%3D%23f");
        assert_eq!(encode_next("/é"), "/%C3%A9");
    }
}
