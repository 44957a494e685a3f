//! What a store's TLS connection trusts and shows: the CA certificates a server's
//! certificate must chain to, and the client certificate for servers that ask for one.
//! Plain data (PEM bytes), shared by every backend; the stores' `tls-rustls` features do
//! the handshake.
//!
//! A URL can carry the same settings as `tls_ca`, `tls_cert` and `tls_key` query
//! parameters naming PEM files ([`Tls::from_url`]), so that one setting (an environment
//! variable, a `--store` flag) describes the whole connection.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::Error;

/// TLS settings for a store's connections.
///
/// With no CA given, a store verifies the server against its built-in roots (the public
/// web CAs); with one, against exactly the given certificates. The server's host name is
/// always checked against its certificate.
#[derive(Clone, Default)]
pub struct Tls {
    ca_pem: Option<Vec<u8>>,
    client_cert_pem: Option<Vec<u8>>,
    client_key_pem: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret; certificates are public but long: only whether each is set.
        f.debug_struct("Tls")
            .field("ca", &self.ca_pem.is_some())
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

/// The URL query parameters [`Tls::from_url`] reads.
pub const URL_PARAMS: [&str; 3] = ["tls_ca", "tls_cert", "tls_key"];

impl Tls {
    /// TLS verified against the store's built-in roots, with no client certificate.
    ///
    /// # Example
    /// ```
    /// let tls = session_core::Tls::new();
    /// assert!(tls.ca_pem().is_none());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts exactly the CA certificates in `pem` (one or more `CERTIFICATE` blocks).
    ///
    /// # Example
    /// ```
    /// let tls = session_core::Tls::new().with_ca_pem(b"-----BEGIN CERTIFICATE-----\n...".to_vec());
    /// assert!(tls.ca_pem().is_some());
    /// ```
    #[must_use]
    pub fn with_ca_pem(mut self, pem: Vec<u8>) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// Shows the client certificate chain `cert_pem`, proved by the private key `key_pem`
    /// (PKCS#8, PKCS#1 or SEC1), to servers that ask for one.
    ///
    /// # Example
    /// ```
    /// let tls = session_core::Tls::new().with_client_pem(b"cert".to_vec(), b"key".to_vec());
    /// assert!(tls.client_pem().is_some());
    /// ```
    #[must_use]
    pub fn with_client_pem(mut self, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        self.client_cert_pem = Some(cert_pem);
        self.client_key_pem = Some(Zeroizing::new(key_pem));
        self
    }

    /// The CA certificates to trust, if set.
    ///
    /// # Example
    /// ```
    /// assert!(session_core::Tls::new().ca_pem().is_none());
    /// ```
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.ca_pem.as_deref()
    }

    /// The client certificate chain and key, if set.
    ///
    /// # Example
    /// ```
    /// assert!(session_core::Tls::new().client_pem().is_none());
    /// ```
    pub fn client_pem(&self) -> Option<(&[u8], &[u8])> {
        match (&self.client_cert_pem, &self.client_key_pem) {
            (Some(c), Some(k)) => Some((c, k)),
            _ => None,
        }
    }

    /// Reads the CA (`ca`) and the client certificate and key (`client`) from PEM files.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the file's setting when one cannot be read.
    ///
    /// # Example
    /// ```
    /// let err = session_core::Tls::from_files(Some("/no/such/ca.pem".as_ref()), None).unwrap_err();
    /// assert_eq!(err.kind(), session_core::ErrorKind::Misconfigured);
    /// ```
    pub fn from_files(ca: Option<&Path>, client: Option<(&Path, &Path)>) -> Result<Self, Error> {
        let read = |setting: &'static str, path: &Path| {
            std::fs::read(path).map_err(|e| Error::InvalidSetting {
                setting,
                source: Box::new(e),
            })
        };
        let mut tls = Self::new();
        if let Some(path) = ca {
            tls = tls.with_ca_pem(read("tls_ca", path)?);
        }
        if let Some((cert, key)) = client {
            tls = tls.with_client_pem(read("tls_cert", cert)?, read("tls_key", key)?);
        }
        Ok(tls)
    }

    /// Splits a store URL into the URL without its `tls_ca`, `tls_cert` and `tls_key`
    /// parameters and the TLS settings those files hold (`None` when it has none of them).
    /// Other parameters stay in the URL, in their order.
    ///
    /// # Errors
    /// [`Error::Misconfigured`] for `tls_cert` without `tls_key` or the reverse;
    /// [`Error::InvalidSetting`] when a named file cannot be read.
    ///
    /// # Example
    /// ```
    /// let (url, tls) = session_core::Tls::from_url("rediss://cache.internal:6380/?protocol=resp3").unwrap();
    /// assert_eq!(url, "rediss://cache.internal:6380/?protocol=resp3");
    /// assert!(tls.is_none());
    /// ```
    pub fn from_url(url: &str) -> Result<(String, Option<Self>), Error> {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_owned(), None));
        };
        let (mut ca, mut cert, mut key) = (None, None, None);
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "tls_ca" => ca = Some(percent_decoded(value)),
                "tls_cert" => cert = Some(percent_decoded(value)),
                "tls_key" => key = Some(percent_decoded(value)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        if ca.is_none() && cert.is_none() && key.is_none() {
            return Ok((rest, None));
        }
        let client = match (&cert, &key) {
            (Some(c), Some(k)) => Some((Path::new(c.as_str()), Path::new(k.as_str()))),
            (None, None) => None,
            _ => {
                return Err(Error::Misconfigured {
                    problem: "tls_cert and tls_key go together: give both or neither",
                });
            }
        };
        let tls = Self::from_files(ca.as_deref().map(Path::new), client)?;
        Ok((rest, Some(tls)))
    }
}

/// `%XX` escapes decoded (a path with spaces or `&` in a URL); anything else as written.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("session-core-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = (dir.join("ca.pem"), dir.join("c d.pem"), dir.join("k.pem"));
        std::fs::write(&ca, b"CA").unwrap();
        std::fs::write(&cert, b"CERT").unwrap();
        std::fs::write(&key, b"KEY").unwrap();
        (ca, cert, key)
    }

    /// The TLS parameters leave the URL and their files are read; others stay in order.
    #[test]
    fn url_parameters_are_read_and_removed() {
        let (ca, cert, key) = files();
        let cert_escaped = cert.display().to_string().replace(' ', "%20");
        let url = format!(
            "rediss://h:6380/?protocol=resp3&tls_ca={}&tls_cert={cert_escaped}&tls_key={}&db=2",
            ca.display(),
            key.display()
        );
        let (rest, tls) = Tls::from_url(&url).unwrap();
        assert_eq!(rest, "rediss://h:6380/?protocol=resp3&db=2");
        let tls = tls.unwrap();
        assert_eq!(tls.ca_pem(), Some(&b"CA"[..]));
        assert_eq!(tls.client_pem(), Some((&b"CERT"[..], &b"KEY"[..])));
        let (rest, tls) =
            Tls::from_url(&format!("postgres://h/db?tls_ca={}", ca.display())).unwrap();
        assert_eq!(rest, "postgres://h/db");
        assert!(tls.unwrap().client_pem().is_none());
    }

    /// Half a client identity, or a file that is not there, is an error, not plain text.
    #[test]
    fn bad_parameters_are_errors() {
        let (_, cert, _) = files();
        let e = Tls::from_url(&format!("rediss://h/?tls_cert={}", cert.display())).unwrap_err();
        assert!(matches!(e, Error::Misconfigured { .. }), "{e:?}");
        let e = Tls::from_url("rediss://h/?tls_ca=/no/such/file").unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidSetting {
                    setting: "tls_ca",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    /// The key never shows in `Debug`.
    #[test]
    fn debug_hides_the_key() {
        let tls = Tls::new().with_client_pem(b"CERT".to_vec(), b"SECRET-KEY".to_vec());
        let shown = format!("{tls:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn percent_escapes() {
        assert_eq!(percent_decoded("/a%20b/c%26d"), "/a b/c&d");
        assert_eq!(percent_decoded("/trailing%2"), "/trailing%2");
        assert_eq!(percent_decoded("%zz"), "%zz");
    }
}
