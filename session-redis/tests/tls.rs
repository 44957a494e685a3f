//! `rediss://` against real TLS-only servers (a standalone Redis and a three-master
//! Cluster, both requiring client certificates, started by `scripts/test.sh`): with the
//! right CA and client certificate every operation works, end notices included; a server
//! whose certificate the configured CA did not sign is refused, and so is a client that
//! shows no certificate.

use std::sync::Arc;

use session_core::observe::error_text;
use session_core::{ErrorKind, SessionId, SessionStore, Tls};
use session_redis::RedisStore;
use test_support::tls;

fn prefix() -> String {
    format!(
        "tls{}",
        &SessionId::generate().unwrap().store_key().hash_hex()[..12]
    )
}

async fn standalone(t: Tls) -> Result<RedisStore, session_core::Error> {
    RedisStore::builder()
        .prefix(prefix())
        .tls(t)
        .connect(&tls::url("REDIS_TLS_URL"))
        .await
}

async fn cluster(t: Tls) -> Result<RedisStore, session_core::Error> {
    let urls: Vec<String> = tls::url("REDIS_TLS_CLUSTER_URLS")
        .split(',')
        .map(str::to_owned)
        .collect();
    RedisStore::builder()
        .prefix(prefix())
        .tls(t)
        .connect_cluster(&urls)
        .await
}

/// A round trip, and a live handle told of a delete by the (TLS) notice listener.
async fn works(store: RedisStore) {
    test_support::store_checks::round_trip_now(&store).await;
    test_support::store_checks::end_is_pushed(Arc::new(store)).await;
}

#[tokio::test]
async fn standalone_over_tls_with_the_ca_and_a_client_certificate() {
    works(standalone(tls::trusted()).await.expect("connect over TLS")).await;
}

#[tokio::test]
async fn cluster_over_tls_with_the_ca_and_a_client_certificate() {
    works(
        cluster(tls::trusted())
            .await
            .expect("connect to the cluster over TLS"),
    )
    .await;
}

fn assert_refused(result: Result<RedisStore, session_core::Error>, what: &str) -> String {
    let err = result.err().unwrap_or_else(|| panic!("{what}: connected"));
    assert!(
        matches!(err.kind(), ErrorKind::Unavailable),
        "{what}: {err:?}"
    );
    error_text(&err)
}

#[tokio::test]
async fn a_server_the_configured_ca_did_not_sign_is_refused() {
    let other = tls::other_ca();
    let text = assert_refused(standalone(other.clone()).await, "standalone, other CA");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    let text = assert_refused(cluster(other).await, "cluster, other CA");
    assert!(!text.is_empty());
}

/// The server's address under a name its certificate does not carry: the same server,
/// refused.
#[tokio::test]
async fn a_host_name_the_certificate_does_not_carry_is_refused() {
    let url = tls::url("REDIS_TLS_URL");
    let other = url.replace("127.0.0.1", "127.0.0.2");
    assert_ne!(
        other, url,
        "REDIS_TLS_URL must be on 127.0.0.1 (and the server on 127.0.0.2 too)"
    );
    let result = RedisStore::builder()
        .prefix(prefix())
        .tls(tls::trusted())
        .connect(&other)
        .await;
    let text = assert_refused(result, "a name the certificate does not carry");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_by_a_server_that_requires_one() {
    let no_client = Tls::new().with_ca_pem(tls::pem("ca.pem"));
    let store = standalone(no_client).await;
    // The handshake may finish before the server checks: then the first command fails.
    if let Ok(store) = store {
        let key = SessionId::generate().unwrap().store_key();
        let err = store.load(&key).await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Unavailable), "{err:?}");
    }
}

#[tokio::test]
async fn tls_settings_for_a_plain_url_are_a_configuration_error() {
    let err = RedisStore::builder()
        .tls(tls::trusted())
        .connect("redis://127.0.0.1:6379")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Misconfigured, "{err:?}");
}
