//! The TLS tests' servers and certificates, from the variables `scripts/test.sh` exports:
//! a missing one fails the test with a message naming it, never skips it.

use std::path::PathBuf;

/// A TLS server's URL from `var` (`REDIS_TLS_URL`, `REDIS_TLS_CLUSTER_URLS`,
/// `DATABASE_URL_POSTGRES_TLS`, `DATABASE_URL_MYSQL_TLS`).
pub fn url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: point it at a TLS-only server whose certificate \
             $SESSION_TLS_DIR/ca.pem signs, or run ./scripts/test.sh, which starts one"
        )
    })
}

/// A file of `SESSION_TLS_DIR` (made by `scripts/tls-certs.sh`): `ca.pem`, `client.pem`,
/// `client-key.pem`, `other-ca.pem`.
pub fn file(name: &str) -> PathBuf {
    let dir = std::env::var("SESSION_TLS_DIR").unwrap_or_else(|_| {
        panic!(
            "SESSION_TLS_DIR is not set: run ./scripts/tls-certs.sh DIR and set it to DIR, \
             or run ./scripts/test.sh, which does"
        )
    });
    let path = PathBuf::from(dir).join(name);
    assert!(
        path.exists(),
        "{} is missing (scripts/tls-certs.sh makes it)",
        path.display()
    );
    path
}

/// The PEM bytes of `name` in `SESSION_TLS_DIR`.
pub fn pem(name: &str) -> Vec<u8> {
    std::fs::read(file(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// TLS settings that the test servers accept: their CA, and the client certificate it
/// signed.
pub fn trusted() -> session_core::Tls {
    session_core::Tls::new()
        .with_ca_pem(pem("ca.pem"))
        .with_client_pem(pem("client.pem"), pem("client-key.pem"))
}

/// The same client certificate, but trusting a CA that signed none of the servers'
/// certificates.
pub fn other_ca() -> session_core::Tls {
    session_core::Tls::new()
        .with_ca_pem(pem("other-ca.pem"))
        .with_client_pem(pem("client.pem"), pem("client-key.pem"))
}
