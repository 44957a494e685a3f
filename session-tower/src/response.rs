//! The response decisions after a request used its session, as a plain function: whether
//! the cookie is issued, expired or left alone, and which caching headers go with it. The
//! service applies the decision; the table tests below call it without a runtime.

use session_core::CookieEvents;

use crate::presented::Source;

/// What happens to the session cookie (or the API header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieAction {
    /// Nothing is sent.
    Keep,
    /// The cookie is expired (`Max-Age=0`; an empty API header).
    Expire,
    /// The current id is sent, signed.
    Issue,
}

/// What `Cache-Control` a response gets from its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cache {
    /// None from the session: it was not read.
    Leave,
    /// The layer's read rule (default `private, no-store`), unless the handler set its own:
    /// the response shows what the session holds.
    UnlessSet,
    /// `no-store`, over whatever the handler set: the response carries a session id.
    NoStore,
}

/// The headers a response gets from its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) cookie: CookieAction,
    /// The response's `Cache-Control`.
    pub(crate) cache: Cache,
    /// `Vary: Cookie`: the response depends on the session.
    pub(crate) vary_cookie: bool,
}

/// The decision for a request whose session saw `events`.
///
/// - Only a session this request ended has its cookie expired, and only if the client
///   presented one: an unknown or dead id is left alone, since the browser may hold a
///   newer cookie by then.
/// - A new id is always issued; with a persistent cookie, a moved expiry re-issues it so
///   that its `Max-Age` follows; a changed "remember me" re-issues it with or without
///   `Max-Age`.
pub(crate) fn decide(
    events: CookieEvents,
    source: Source,
    persistent: bool,
    accessed: bool,
) -> Decision {
    let cookie = if events.ended && source != Source::None {
        CookieAction::Expire
    } else if events.id_changed || events.remember_changed || (events.expiry_moved && persistent) {
        CookieAction::Issue
    } else {
        CookieAction::Keep
    };
    Decision {
        cookie,
        cache: if cookie != CookieAction::Keep {
            Cache::NoStore
        } else if accessed {
            Cache::UnlessSet
        } else {
            Cache::Leave
        },
        vary_cookie: accessed || events.id_changed || events.ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id_changed: bool, expiry_moved: bool, ended: bool) -> CookieEvents {
        CookieEvents {
            id_changed,
            expiry_moved,
            ended,
            remember_changed: false,
        }
    }

    /// The decision table.
    #[test]
    fn table() {
        use Cache::{Leave, NoStore, UnlessSet};
        use CookieAction::*;
        use Source::{Cookie, Header, None as NoId};
        // (events, source, persistent, accessed) -> (cookie, cache, vary)
        let cases = [
            // Read only: nothing sent, but the response varies on the cookie.
            (
                ev(false, false, false),
                Cookie,
                false,
                true,
                (Keep, UnlessSet, true),
            ),
            // Nothing touched the session's data: no Vary either.
            (
                ev(false, false, false),
                NoId,
                false,
                false,
                (Keep, Leave, false),
            ),
            // Created or rotated: the id is issued, uncached.
            (
                ev(true, true, false),
                NoId,
                false,
                true,
                (Issue, NoStore, true),
            ),
            (
                ev(true, true, false),
                Cookie,
                false,
                true,
                (Issue, NoStore, true),
            ),
            (
                ev(true, true, false),
                Header,
                false,
                true,
                (Issue, NoStore, true),
            ),
            // A save moved the expiry: only a persistent cookie is re-issued.
            (
                ev(false, true, false),
                Cookie,
                false,
                true,
                (Keep, UnlessSet, true),
            ),
            (
                ev(false, true, false),
                Cookie,
                true,
                true,
                (Issue, NoStore, true),
            ),
            // This request ended its session: the presented cookie is expired.
            (
                ev(false, false, true),
                Cookie,
                false,
                true,
                (Expire, NoStore, true),
            ),
            (
                ev(false, false, true),
                Header,
                false,
                true,
                (Expire, NoStore, true),
            ),
            // Ended, but the client presented nothing: nothing to expire.
            (
                ev(false, false, true),
                NoId,
                false,
                true,
                (Keep, UnlessSet, true),
            ),
            // "Remember me" changed (either way) on a saved session: issued again, so that
            // the browser replaces the cookie with or without Max-Age.
            (
                CookieEvents {
                    remember_changed: true,
                    ..ev(false, true, false)
                },
                Cookie,
                false,
                true,
                (Issue, NoStore, true),
            ),
            // Ended and then a new session created in the same request: issue the new one.
            (
                ev(true, true, false),
                Cookie,
                true,
                true,
                (Issue, NoStore, true),
            ),
        ];
        for (i, (events, source, persistent, accessed, (cookie, cache, vary))) in
            cases.into_iter().enumerate()
        {
            let d = decide(events, source, persistent, accessed);
            assert_eq!(
                d,
                Decision {
                    cookie,
                    cache,
                    vary_cookie: vary
                },
                "case {i}"
            );
        }
    }
}
