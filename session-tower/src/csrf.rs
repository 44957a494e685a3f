//! CSRF protection for cookie-authenticated requests.
//!
//! An unsafe request (anything but GET, HEAD, OPTIONS and TRACE) passes only if
//!
//! 1. it comes from our own origin: `Sec-Fetch-Site` is not `cross-site` or `same-site`,
//!    and either it is `same-origin` or `Origin` equals a trusted origin exactly (an `Origin`
//!    that is present must match, whatever `Sec-Fetch-Site` said); and
//! 2. when the request belongs to a live session, it carries that session's token in the
//!    `X-CSRF-Token` header or the `csrf_token` form field.
//!
//! The token is the synchronizer pattern: a 256-bit per-session secret, shown to the page
//! masked with a fresh random pad on every call (`pad ‖ pad⊕secret`), so a compressed
//! response never repeats it (BREACH). The secret is not stored: it is an HMAC of the
//! session id under a subkey of the signing keys, so any number of concurrent first renders
//! of one session all show tokens of the same secret, and a new id (login, rotation) is a
//! new secret. The session stores only a marker that tokens were issued; from then on
//! every unsafe request must carry one. A request without any session, or whose session
//! never showed a token, is protected by the origin checks alone (login forms, an anonymous
//! visitor's first add-to-cart), which is what R86 asks for.
//!
//! A rejection is a 403 whose JSON body names the reason; the handler is not called and
//! the session is not changed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};
use session_core::id::constant_time_eq;

/// The session key of the marker "tokens were shown for this session" (reserved).
pub(crate) const SECRET_KEY: &str = "__csrf";
/// The marker's stored value.
pub(crate) const ISSUED: &[u8] = b"1";
const SECRET_LEN: usize = 32;
/// Length of a masked token.
pub const TOKEN_LEN: usize = 86;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfReason {
    /// `Sec-Fetch-Site: cross-site`.
    CrossSite,
    /// `Sec-Fetch-Site: same-site` (a sibling subdomain is not our origin).
    SameSite,
    /// `Origin: null`.
    NullOrigin,
    /// `Origin` is not a trusted origin.
    OriginMismatch,
    /// Neither `Sec-Fetch-Site: same-origin` nor an `Origin` header.
    MissingOrigin,
    /// The session has a secret but the request carries no token.
    MissingToken,
    /// The token does not belong to this session.
    InvalidToken,
}

impl CsrfReason {
    /// A stable, machine-readable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CsrfReason::CrossSite => "cross_site_request",
            CsrfReason::SameSite => "same_site_request",
            CsrfReason::NullOrigin => "null_origin",
            CsrfReason::OriginMismatch => "origin_mismatch",
            CsrfReason::MissingOrigin => "missing_origin",
            CsrfReason::MissingToken => "missing_token",
            CsrfReason::InvalidToken => "invalid_token",
        }
    }
}

/// True for methods that must not change state and are never checked (R74).
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `secret` masked with a fresh pad, base64url.
pub(crate) fn mask(secret: &[u8]) -> Option<String> {
    if secret.len() != SECRET_LEN {
        return None;
    }
    let mut out = [0u8; 2 * SECRET_LEN];
    getrandom::fill(&mut out[..SECRET_LEN]).ok()?;
    for i in 0..SECRET_LEN {
        out[SECRET_LEN + i] = out[i] ^ secret[i];
    }
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// True when `token` unmasks to `secret`. Length and alphabet are checked before decoding.
pub(crate) fn token_matches(token: &[u8], secret: &[u8]) -> bool {
    if token.len() != TOKEN_LEN
        || secret.len() != SECRET_LEN
        || !token
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    {
        return false;
    }
    let mut raw = [0u8; 2 * SECRET_LEN + 2];
    match URL_SAFE_NO_PAD.decode_slice(token, &mut raw) {
        Ok(n) if n == 2 * SECRET_LEN => {}
        _ => return false,
    }
    let mut unmasked = [0u8; SECRET_LEN];
    for i in 0..SECRET_LEN {
        unmasked[i] = raw[i] ^ raw[SECRET_LEN + i];
    }
    constant_time_eq(&unmasked, secret)
}

/// The origin checks (step 1 above).
pub(crate) fn check_origin(headers: &HeaderMap, trusted: &[String]) -> Result<(), CsrfReason> {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match site.as_deref() {
        Some("cross-site") => return Err(CsrfReason::CrossSite),
        Some("same-site") => return Err(CsrfReason::SameSite),
        _ => {}
    }
    match headers.get(http::header::ORIGIN) {
        Some(origin) => {
            let origin = origin.as_bytes();
            if origin == b"null" {
                return Err(CsrfReason::NullOrigin);
            }
            if trusted.iter().any(|t| t.as_bytes() == origin) {
                Ok(())
            } else {
                Err(CsrfReason::OriginMismatch)
            }
        }
        None if site.as_deref() == Some("same-origin") => Ok(()),
        None => Err(CsrfReason::MissingOrigin),
    }
}

/// The token in a urlencoded form body, if any.
pub(crate) fn token_in_form(body: &[u8], field: &str) -> Option<Vec<u8>> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.into_owned().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    fn new_secret() -> Option<[u8; SECRET_LEN]> {
        let mut s = [0u8; SECRET_LEN];
        getrandom::fill(&mut s).ok()?;
        Some(s)
    }

    /// Tokens are masked afresh every time and all unmask to the secret (R82).
    #[test]
    fn masking() {
        let s = new_secret().unwrap();
        let a = mask(&s).unwrap();
        let b = mask(&s).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(token_matches(a.as_bytes(), &s));
        assert!(token_matches(b.as_bytes(), &s));
        let other = new_secret().unwrap();
        assert!(!token_matches(a.as_bytes(), &other));
        for bad in ["", "x", &"A".repeat(86), &"*".repeat(86), &a[..85]] {
            assert!(!token_matches(bad.as_bytes(), &s), "{bad}");
        }
    }

    /// The origin decision table (R76, R77).
    #[test]
    fn origin_table() {
        let trusted = vec!["https://shop.example".to_owned()];
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<(), CsrfReason>);
        let cases: &[Case<'_>] = &[
            (&[("sec-fetch-site", "same-origin")], Ok(())),
            (&[("sec-fetch-site", "SAME-ORIGIN")], Ok(())),
            (
                &[("sec-fetch-site", "cross-site")],
                Err(CsrfReason::CrossSite),
            ),
            (
                &[("sec-fetch-site", "same-site")],
                Err(CsrfReason::SameSite),
            ),
            (&[("origin", "https://shop.example")], Ok(())),
            (
                &[("origin", "https://shop.example.evil.com")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "http://shop.example")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "https://shop.example:444")],
                Err(CsrfReason::OriginMismatch),
            ),
            (&[("origin", "null")], Err(CsrfReason::NullOrigin)),
            (
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "https://evil.com"),
                ],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[
                    ("sec-fetch-site", "none"),
                    ("origin", "https://shop.example"),
                ],
                Ok(()),
            ),
            (&[], Err(CsrfReason::MissingOrigin)),
            (
                &[("sec-fetch-site", "none")],
                Err(CsrfReason::MissingOrigin),
            ),
        ];
        for (headers, want) in cases {
            assert_eq!(check_origin(&h(headers), &trusted), *want, "{headers:?}");
        }
    }

    /// Safe methods are never checked (R74).
    #[test]
    fn safe_methods() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(is_safe(&m));
        }
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(!is_safe(&m));
        }
    }

    /// The form field is found, percent-decoding included.
    #[test]
    fn form_field() {
        assert_eq!(
            token_in_form(b"a=1&csrf_token=abc%2D&b=2", "csrf_token"),
            Some(b"abc-".to_vec())
        );
        assert_eq!(token_in_form(b"a=1", "csrf_token"), None);
        assert_eq!(token_in_form(b"\xff\xfe=&&&", "csrf_token"), None);
    }
}
