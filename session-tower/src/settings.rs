//! The settings every request of one layer shares: built and checked by
//! [`crate::SessionLayer`], read by the service, the session and the cookie decisions.

use std::sync::Arc;

use http::HeaderName;
use session_core::{SessionConfig, SessionStore};

use crate::config::{CookieConfig, CsrfConfig, OutagePolicy};
use crate::signing::SigningKeys;

/// Everything a request needs, shared by all requests.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) keys: SigningKeys,
    pub(crate) cookie: CookieConfig,
    pub(crate) csrf: CsrfConfig,
    pub(crate) session: Arc<SessionConfig>,
    pub(crate) header_id: Option<HeaderName>,
    pub(crate) discard_on_login: Arc<[String]>,
    pub(crate) outage: OutagePolicy,
    /// `Cache-Control` for a response whose handler read the session and set none itself.
    pub(crate) read_cache_control: Option<http::HeaderValue>,
    /// Where the auth extractors send a browser that must log in, or log in again.
    pub(crate) auth: AuthPages,
}

/// The pages of [`crate::auth`]'s redirects (`None` answers browsers 401 like API
/// clients), and how recent a login [`crate::auth::RecentAuth`] asks for.
#[derive(Debug, Clone)]
pub(crate) struct AuthPages {
    pub(crate) login: Option<String>,
    pub(crate) reauthenticate: Option<String>,
    pub(crate) window: std::time::Duration,
}

impl Default for AuthPages {
    fn default() -> Self {
        Self {
            login: None,
            reauthenticate: None,
            window: std::time::Duration::from_secs(5 * 60),
        }
    }
}

/// The default `Cache-Control` of a response that read its session: a page showing a
/// cart, a user name or a CSRF token is for this browser only, and not to be kept.
pub(crate) const READ_CACHE_CONTROL: &str = "private, no-store";
