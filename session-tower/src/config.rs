//! Layer settings, and the checks that make a bad combination fail at startup.

use http::HeaderName;

pub use crate::error::ConfigError;

/// The most bytes of a cookie (name, `=`, value) that browsers keep (RFC 6265 §6.1):
/// checked when the layer is built and again before a cookie is sent.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only on same-site requests.
    Strict,
    /// Also sent on top-level navigations from other sites (the default).
    Lax,
    /// Always sent; needs `Secure`.
    None,
}

impl SameSite {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// How the session cookie is written.
#[derive(Debug, Clone)]
pub(crate) struct CookieConfig {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    /// When true the cookie carries `Max-Age` up to the session's expiry.
    pub(crate) persistent: bool,
    /// When true the cookie is `Partitioned` (CHIPS): kept per top-level site, for an app
    /// embedded in others' pages.
    pub(crate) partitioned: bool,
    /// Largest `Cookie` header (all fields together) a request may bring; a larger one is
    /// refused with 431 before the handler runs.
    pub(crate) max_header_bytes: usize,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            name: "__Host-id".to_owned(),
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            persistent: false,
            partitioned: false,
            max_header_bytes: 8192,
        }
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn clean_attribute(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
}

impl CookieConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !is_token(&self.name) {
            return Err(ConfigError::InvalidCookieName(self.name.clone()));
        }
        if !clean_attribute(&self.path) || !self.path.starts_with('/') {
            return Err(ConfigError::InvalidAttribute("path"));
        }
        if let Some(d) = &self.domain {
            if d.is_empty() || !clean_attribute(d) {
                return Err(ConfigError::InvalidAttribute("domain"));
            }
        }
        // Browsers match the prefixes case-insensitively (RFC 6265bis §4.1.3), so do we.
        let lower = self.name.to_ascii_lowercase();
        if lower.starts_with("__host-")
            && (!self.secure || self.path != "/" || self.domain.is_some())
        {
            return Err(ConfigError::HostPrefixViolated);
        }
        if lower.starts_with("__secure-") && !self.secure {
            return Err(ConfigError::SecurePrefixViolated);
        }
        if (lower.starts_with("__http-") || lower.starts_with("__host-http-"))
            && (!self.secure || !self.http_only)
        {
            return Err(ConfigError::HttpPrefixViolated);
        }
        if self.partitioned && !self.secure {
            return Err(ConfigError::PartitionedNeedsSecure);
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(ConfigError::SameSiteNoneNeedsSecure);
        }
        // Name, '=', the signed value: what browsers count against their 4096-byte limit.
        let size = self.name.len() + 1 + crate::signing::SIGNED_LEN;
        if size > MAX_COOKIE_BYTES {
            return Err(ConfigError::CookieTooLarge(size));
        }
        Ok(())
    }
}

/// CSRF settings.
#[derive(Debug, Clone)]
pub(crate) struct CsrfConfig {
    pub(crate) enabled: bool,
    pub(crate) trusted_origins: Vec<String>,
    pub(crate) header: HeaderName,
    pub(crate) form_field: String,
    pub(crate) max_form_bytes: usize,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trusted_origins: Vec::new(),
            header: HeaderName::from_static("x-csrf-token"),
            form_field: "csrf_token".to_owned(),
            max_form_bytes: 1024 * 1024,
        }
    }
}

/// Checks that `origin` is `scheme://host[:port]` with nothing else.
pub(crate) fn validate_origin(origin: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::InvalidOrigin(origin.to_owned());
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', ' '])
        || rest.ends_with(':')
        || !rest.is_ascii()
    {
        return Err(bad());
    }
    Ok(())
}

/// What the layer does when the store fails.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutagePolicy {
    pub(crate) status: http::StatusCode,
}

impl Default for OutagePolicy {
    fn default() -> Self {
        Self {
            status: http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cookie combinations browsers would reject fail at startup.
    #[test]
    fn cookie_validation_table() {
        let base = CookieConfig::default();
        assert!(base.validate().is_ok());
        let cases: Vec<(CookieConfig, ConfigError)> = vec![
            (
                CookieConfig {
                    secure: false,
                    ..base.clone()
                },
                ConfigError::HostPrefixViolated,
            ),
            (
                CookieConfig {
                    path: "/app".into(),
                    ..base.clone()
                },
                ConfigError::HostPrefixViolated,
            ),
            (
                CookieConfig {
                    domain: Some("example.com".into()),
                    ..base.clone()
                },
                ConfigError::HostPrefixViolated,
            ),
            (
                CookieConfig {
                    name: "__secure-x".into(),
                    secure: false,
                    ..base.clone()
                },
                ConfigError::SecurePrefixViolated,
            ),
            (
                CookieConfig {
                    name: "__Http-id".into(),
                    secure: false,
                    ..base.clone()
                },
                ConfigError::HttpPrefixViolated,
            ),
            (
                CookieConfig {
                    name: "__http-id".into(),
                    http_only: false,
                    ..base.clone()
                },
                ConfigError::HttpPrefixViolated,
            ),
            (
                CookieConfig {
                    name: "__Host-Http-id".into(),
                    http_only: false,
                    ..base.clone()
                },
                ConfigError::HttpPrefixViolated,
            ),
            (
                CookieConfig {
                    name: "__Host-Http-id".into(),
                    path: "/app".into(),
                    ..base.clone()
                },
                ConfigError::HostPrefixViolated,
            ),
            (
                CookieConfig {
                    name: "id".into(),
                    secure: false,
                    partitioned: true,
                    ..base.clone()
                },
                ConfigError::PartitionedNeedsSecure,
            ),
            (
                CookieConfig {
                    name: "id".into(),
                    secure: false,
                    same_site: SameSite::None,
                    ..base.clone()
                },
                ConfigError::SameSiteNoneNeedsSecure,
            ),
            (
                CookieConfig {
                    name: "a b".into(),
                    ..base.clone()
                },
                ConfigError::InvalidCookieName("a b".into()),
            ),
            (
                CookieConfig {
                    name: "".into(),
                    ..base.clone()
                },
                ConfigError::InvalidCookieName("".into()),
            ),
            (
                CookieConfig {
                    name: "id".into(),
                    path: "/; Domain=evil".into(),
                    ..base.clone()
                },
                ConfigError::InvalidAttribute("path"),
            ),
            (
                CookieConfig {
                    name: "id".into(),
                    domain: Some("a.com;x".into()),
                    ..base.clone()
                },
                ConfigError::InvalidAttribute("domain"),
            ),
            (
                CookieConfig {
                    name: "n".repeat(4010),
                    ..base.clone()
                },
                ConfigError::CookieTooLarge(4010 + 1 + 90),
            ),
        ];
        for (c, e) in cases {
            assert_eq!(c.validate(), Err(e));
        }
    }

    /// Trusted origins must be bare serialized origins.
    #[test]
    fn origin_validation() {
        for ok in [
            "https://example.com",
            "http://127.0.0.1:3000",
            "https://a.b.c:8443",
        ] {
            assert!(validate_origin(ok).is_ok(), "{ok}");
        }
        for bad in [
            "example.com",
            "https://",
            "https://a.com/",
            "https://a.com/path",
            "null",
            "ftp://a.com",
            "https://a.com:",
        ] {
            assert!(validate_origin(bad).is_err(), "{bad}");
        }
    }
}
