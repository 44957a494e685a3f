//! What a request presents as its session id: the `Cookie` fields (or the API header) kept
//! unparsed until the session is first used, and the one decision that turns them into at
//! most one verified id.

use http::HeaderValue;
use session_core::SessionId;

use crate::cookie;
use crate::settings::Settings;

/// Where the request's session id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// No id: a new visitor (or a rejected cookie).
    None,
    /// The session cookie.
    Cookie,
    /// The API header.
    Header,
}

/// What a request presented, kept unparsed until the session is first used: a request
/// whose handler never touches its session pays for neither the HMAC nor the hash.
#[derive(Debug)]
pub(crate) struct Presented {
    /// The first `Cookie` field; the usual request has exactly one.
    pub(crate) cookie: Option<HeaderValue>,
    /// Any further `Cookie` fields (HTTP/2 may split them); empty, so unallocated, for most.
    pub(crate) more_cookies: Vec<HeaderValue>,
    pub(crate) header: Option<HeaderValue>,
    pub(crate) user_agent: Option<HeaderValue>,
}

impl Presented {
    /// Takes what the session may need from `headers`: cheap reference-counted clones,
    /// no parsing.
    pub(crate) fn from_headers(
        headers: &http::HeaderMap,
        id_header: Option<&http::HeaderName>,
    ) -> Self {
        let mut cookies = headers.get_all(http::header::COOKIE).iter();
        Self {
            cookie: cookies.next().cloned(),
            more_cookies: cookies.cloned().collect(),
            header: id_header.and_then(|n| headers.get(n).cloned()),
            user_agent: headers.get(http::header::USER_AGENT).cloned(),
        }
    }

    /// The bytes of all `Cookie` fields together: what the layer's limit is measured on.
    /// Counted on the values kept here, so the request's headers are searched once.
    pub(crate) fn cookie_bytes(&self) -> usize {
        self.cookie
            .iter()
            .chain(&self.more_cookies)
            .map(|v| v.as_bytes().len())
            .sum()
    }
}

/// The id the request presents (if exactly one valid one), where it came from, and
/// whether an older key of the ring signed it (so the response re-signs it).
pub(crate) fn presented_id(
    p: &Presented,
    settings: &Settings,
) -> (Option<SessionId>, Source, bool) {
    let c = &settings.cookie;
    let joined: Vec<HeaderValue>;
    let fields: &[HeaderValue] = match &p.cookie {
        None => &[],
        Some(first) if p.more_cookies.is_empty() => std::slice::from_ref(first),
        Some(first) => {
            joined = std::iter::once(first)
                .chain(&p.more_cookies)
                .cloned()
                .collect();
            &joined
        }
    };
    // An oversized header was refused before the handler ran (`Presented::cookie_bytes`).
    let values = cookie::values(fields, &c.name, c.max_header_bytes).unwrap_or_default();
    let mut valid: Vec<SessionId> = Vec::new();
    let mut stale = false;
    let mut refused = None;
    for v in &values {
        let checked = std::str::from_utf8(v)
            .map_err(|_| crate::signing::CookieRejection::Malformed)
            .and_then(|s| settings.keys.check(s));
        match checked {
            Ok((id, current)) => {
                stale |= !current;
                if !valid.contains(&id) {
                    valid.push(id);
                }
            }
            Err(reason) => {
                session_core::metric::cookie_rejection(reason.as_str());
                refused = Some(reason);
            }
        }
    }
    match valid.len() {
        1 => return (valid.pop(), Source::Cookie, stale),
        0 if !values.is_empty() => {
            tracing::info!(
                cookies = values.len(),
                reason = refused.map_or("", |r| r.as_str()),
                "session cookie refused"
            );
        }
        0 => {}
        n => {
            // Never choose by position: an injected cookie could come first or last.
            session_core::metric::cookie_rejection("ambiguous");
            tracing::warn!(
                candidates = n,
                "several valid session cookies; ignoring all"
            );
            return (None, Source::None, false);
        }
    }
    // An API client opts into the header transport by sending the header, with a signed id
    // or with anything else (`new`) to start a session; the new id comes back in it.
    if values.is_empty() {
        if let Some(v) = &p.header {
            let found = v
                .to_str()
                .ok()
                .and_then(|s| settings.keys.verify_and_age(s));
            return match found {
                Some((id, current)) => (Some(id), Source::Header, !current),
                None => (None, Source::Header, false),
            };
        }
    }
    (None, Source::None, false)
}
