//! [`ConfigError`]: why a layer could not be built. Its own module, so that the modules
//! that check settings (`config`, `signing`) depend on it and not on each other.

/// A setting the layer cannot work with; returned when the layer is built, so a
/// misconfiguration is a startup error, not a cookie that browsers silently drop.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key ring is empty.
    #[error("no signing keys given")]
    NoKeys,
    /// A key is shorter than 32 bytes.
    #[error("signing key #{index} is {len} bytes; at least 32 are needed")]
    KeyTooShort {
        /// Position in the ring.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A key is not base64.
    #[error("signing key #{index} is not valid base64")]
    KeyEncoding {
        /// Position in the list.
        index: usize,
    },
    /// The key variable is not set.
    #[error("environment variable {variable} with the signing keys is not set")]
    MissingKeyVariable {
        /// The variable's name.
        variable: String,
    },
    /// The random source failed.
    #[error("operating system random source failed")]
    Rng,
    /// The cookie name is not an RFC 9110 token.
    #[error("cookie name {0:?} is not a valid token")]
    InvalidCookieName(String),
    /// A `__Host-` cookie must be `Secure`, have `Path=/` and no `Domain`.
    #[error("a __Host- cookie must be Secure, with Path=/ and no Domain")]
    HostPrefixViolated,
    /// A `__Secure-` cookie must be `Secure`.
    #[error("a __Secure- cookie must be Secure")]
    SecurePrefixViolated,
    /// A `__Http-` or `__Host-Http-` cookie must be `Secure` and `HttpOnly` (browsers let
    /// only a server's `Set-Cookie` set it, never a script).
    #[error("a __Http- or __Host-Http- cookie must be Secure and HttpOnly")]
    HttpPrefixViolated,
    /// A `Partitioned` cookie must be `Secure`.
    #[error("a Partitioned cookie must be Secure")]
    PartitionedNeedsSecure,
    /// `SameSite=None` needs `Secure`.
    #[error("SameSite=None requires Secure")]
    SameSiteNoneNeedsSecure,
    /// Path or domain contain characters that would inject attributes.
    #[error("cookie {0} contains ';', a control character or whitespace")]
    InvalidAttribute(&'static str),
    /// The cookie as written would exceed the 4096 bytes browsers keep
    /// ([`crate::config::MAX_COOKIE_BYTES`]).
    #[error("the session cookie would be {0} bytes; browsers keep at most 4096")]
    CookieTooLarge(usize),
    /// A trusted origin is not `scheme://host[:port]`.
    #[error("trusted origin {0:?} is not a serialized origin (scheme://host[:port])")]
    InvalidOrigin(String),
    /// A login or re-authentication page is not a plain local path (`/login`): an
    /// absolute URL, a query or a fragment, or characters outside visible ASCII.
    #[error("auth page {0:?} must be a local path such as /login")]
    InvalidAuthPage(String),
    /// The session settings are inconsistent.
    #[error("session settings: {0}")]
    Session(&'static str),
}
