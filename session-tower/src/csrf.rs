//! CSRF protection for cookie-authenticated requests.
//!
//! An unsafe request (anything but GET, HEAD, OPTIONS and TRACE) passes only if
//!
//! 1. it comes from our own origin, decided as Go 1.25's `CrossOriginProtection` does, so a
//!    same-origin app needs no configuration: an `Origin` among the trusted origins passes;
//!    `Sec-Fetch-Site: cross-site` or `same-site` is refused; any other `Origin` must name
//!    the host the request was sent to; without `Origin`, `Sec-Fetch-Site` must say
//!    `same-origin` or `none` (the full table is `check_origin`'s unit test); and
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
//! visitor's first add-to-cart).
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
pub(crate) const SECRET_LEN: usize = 32;
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
    /// The request carries the token more than once (two form fields or two headers):
    /// which one counts would be the parser's choice, so neither does.
    DuplicateToken,
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
            CsrfReason::DuplicateToken => "duplicate_token",
        }
    }
}

/// True for methods that must not change state and are never checked.
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

/// The origin checks (step 1 above), in the manner of Go 1.25's `CrossOriginProtection`,
/// so that a same-origin app needs no configuration:
///
/// 1. an `Origin` among the trusted origins passes (extra origins, proxies);
/// 2. `Sec-Fetch-Site: cross-site` or `same-site` is refused;
/// 3. any other `Origin` must name the host the request was sent to (`authority`, from
///    `Host` or the URI; default ports and case ignored), and `null` never passes;
/// 4. without `Origin`, `Sec-Fetch-Site: same-origin` or `none` passes; a request with
///    neither header is refused (Go lets it through as a non-browser; OWASP advises
///    blocking, and a client that is not a browser can send `Origin`).
///
/// A session that has shown tokens still needs its token after this (step 2 of the module).
pub(crate) fn check_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    trusted: &[String],
) -> Result<(), CsrfReason> {
    let origin = headers.get(http::header::ORIGIN).map(|v| v.as_bytes());
    if let Some(o) = origin {
        if trusted.iter().any(|t| t.as_bytes() == o) {
            return Ok(());
        }
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match site.as_deref() {
        Some("cross-site") => return Err(CsrfReason::CrossSite),
        Some("same-site") => return Err(CsrfReason::SameSite),
        _ => {}
    }
    match origin {
        Some(b"null") => Err(CsrfReason::NullOrigin),
        Some(o) => match (origin_authority(o), authority.map(normal_authority)) {
            (Some(from), Some(to)) if from == to => Ok(()),
            _ => Err(CsrfReason::OriginMismatch),
        },
        None if matches!(site.as_deref(), Some("same-origin" | "none")) => Ok(()),
        None => Err(CsrfReason::MissingOrigin),
    }
}

/// The `host[:port]` of a serialized origin (`scheme://host[:port]`, nothing after), with
/// the scheme's default port dropped and lowercased; `None` when it is not one.
fn origin_authority(origin: &[u8]) -> Option<String> {
    let origin = std::str::from_utf8(origin).ok()?;
    let (scheme, rest) = origin.split_once("://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) || !matches!(scheme, "http" | "https")
    {
        return None;
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    let host = rest.strip_suffix(default).unwrap_or(rest);
    Some(host.to_ascii_lowercase())
}

/// A request authority as [`origin_authority`] gives it: lowercased, either default port
/// dropped (a `Host` does not say which scheme the client used).
fn normal_authority(authority: &str) -> String {
    let a = authority.trim();
    let a = a
        .strip_suffix(":443")
        .or_else(|| a.strip_suffix(":80"))
        .unwrap_or(a);
    a.to_ascii_lowercase()
}

/// The authority a request was sent to: HTTP/2's `:authority` (the URI's) or `Host`.
pub(crate) fn request_authority<'a>(uri: &'a http::Uri, headers: &'a HeaderMap) -> Option<&'a str> {
    uri.authority()
        .map(http::uri::Authority::as_str)
        .or_else(|| {
            headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
        })
}

/// The token in a urlencoded form body, if any.
///
/// # Errors
/// [`CsrfReason::DuplicateToken`] when the field appears more than once.
pub(crate) fn token_in_form(body: &[u8], field: &str) -> Result<Option<Vec<u8>>, CsrfReason> {
    let mut found = form_urlencoded::parse(body).filter(|(k, _)| k == field);
    let first = found.next().map(|(_, v)| v.into_owned().into_bytes());
    if found.next().is_some() {
        return Err(CsrfReason::DuplicateToken);
    }
    Ok(first)
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

    /// Tokens are masked afresh every time and all unmask to the secret.
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

    /// The origin decision table: Go 1.25's approach, with no configuration for a
    /// same-origin app, plus the trusted list.
    #[test]
    fn origin_table() {
        let trusted = vec!["https://admin.example".to_owned()];
        let host = Some("shop.example");
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<(), CsrfReason>);
        let cases: &[Case<'_>] = &[
            (&[("sec-fetch-site", "same-origin")], Ok(())),
            (&[("sec-fetch-site", "SAME-ORIGIN")], Ok(())),
            (&[("sec-fetch-site", "none")], Ok(())),
            (
                &[("sec-fetch-site", "cross-site")],
                Err(CsrfReason::CrossSite),
            ),
            (
                &[("sec-fetch-site", "same-site")],
                Err(CsrfReason::SameSite),
            ),
            // No Sec-Fetch-Site (an older browser): Origin against Host.
            (&[("origin", "https://shop.example")], Ok(())),
            (&[("origin", "http://shop.example")], Ok(())),
            (&[("origin", "https://SHOP.example:443")], Ok(())),
            (
                &[("origin", "https://shop.example.evil.com")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "https://evil.com")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "https://shop.example:444")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "https://shop.example/path")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "https://user@shop.example")],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[("origin", "ftp://shop.example")],
                Err(CsrfReason::OriginMismatch),
            ),
            (&[("origin", "null")], Err(CsrfReason::NullOrigin)),
            // Origin is checked even when Sec-Fetch-Site says same-origin.
            (
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "https://evil.com"),
                ],
                Err(CsrfReason::OriginMismatch),
            ),
            (
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("origin", "https://shop.example"),
                ],
                Ok(()),
            ),
            // The trusted list admits another origin, even cross-site.
            (&[("origin", "https://admin.example")], Ok(())),
            (
                &[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "https://admin.example"),
                ],
                Ok(()),
            ),
            (&[], Err(CsrfReason::MissingOrigin)),
        ];
        for (headers, want) in cases {
            assert_eq!(
                check_origin(&h(headers), host, &trusted),
                *want,
                "{headers:?}"
            );
        }
        // Without a known authority only the trusted list and Sec-Fetch-Site can pass.
        assert_eq!(
            check_origin(&h(&[("origin", "https://shop.example")]), None, &trusted),
            Err(CsrfReason::OriginMismatch)
        );
        assert_eq!(
            check_origin(
                &h(&[("origin", "https://x.example")]),
                Some("x.example:443"),
                &[]
            ),
            Ok(())
        );
    }

    /// The authority comes from the URI (HTTP/2) before `Host`.
    #[test]
    fn authority_source() {
        let uri: http::Uri = "https://a.example/x".parse().unwrap();
        let headers = h(&[("host", "b.example")]);
        assert_eq!(request_authority(&uri, &headers), Some("a.example"));
        let uri: http::Uri = "/x".parse().unwrap();
        assert_eq!(request_authority(&uri, &headers), Some("b.example"));
        assert_eq!(request_authority(&uri, &HeaderMap::new()), None);
    }

    /// Safe methods are never checked.
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
            Ok(Some(b"abc-".to_vec()))
        );
        assert_eq!(token_in_form(b"a=1", "csrf_token"), Ok(None));
        assert_eq!(token_in_form(b"\xff\xfe=&&&", "csrf_token"), Ok(None));
    }

    /// A token given twice counts as neither (R83), wherever the second one is and
    /// whatever it holds, even the same value; a differently named field is no duplicate.
    #[test]
    fn duplicate_form_fields() {
        for body in [
            &b"csrf_token=a&csrf_token=b"[..],
            b"csrf_token=a&x=1&csrf_token=a",
            b"csrf_token=&csrf_token=a",
            b"csrf%5Ftoken=a&csrf_token=b",
        ] {
            assert_eq!(
                token_in_form(body, "csrf_token"),
                Err(CsrfReason::DuplicateToken),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            token_in_form(b"csrf_token=a&csrf_tokens=b", "csrf_token"),
            Ok(Some(b"a".to_vec()))
        );
    }
}
