//! TLS to PostgreSQL and MariaDB against real servers that take only TLS connections with
//! a client certificate (started by `scripts/test.sh`): with the right CA and client
//! certificate the store works, end notices included on PostgreSQL; a server whose
//! certificate the configured CA did not sign is refused, as are a plain connection, a
//! client without a certificate and (PostgreSQL) a host name the certificate does not
//! carry; and the URL's own parameters (`sslrootcert`, `ssl-ca`, …) do the same as
//! `connect_tls`.

use std::sync::Arc;

use session_core::observe::error_text;
use session_core::{ErrorKind, SessionId, Tls};
use session_sql::{MySqlStore, PgStore};
use test_support::store_checks::round_trip_now;
use test_support::tls;

fn table() -> String {
    format!(
        "tls_{}",
        &SessionId::generate().unwrap().store_key().hash_hex()[..12]
    )
}

/// The error text of a refused connection (an outage, never a panic or a success).
fn refused<T>(result: Result<T, session_core::Error>, what: &str) -> String {
    let Err(err) = result else {
        panic!("{what}: connected")
    };
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{what}: {err:?}");
    error_text(&err)
}

/// The cases both databases run, for a store type, its URL variable, the URL parameters
/// that ask for verified TLS with the test certificates, and the one that turns TLS off.
macro_rules! tls_cases {
    ($store:ty, $var:literal, $params:expr, $plain:literal) => {
        use super::*;

        fn url() -> String {
            tls::url($var)
        }

        async fn connected(tls: &Tls) -> $store {
            let store = <$store>::connect_tls(&url(), tls)
                .await
                .expect("connect over TLS")
                .with_table(&table())
                .unwrap();
            store.migrate().await.unwrap();
            store
        }

        #[tokio::test]
        async fn over_tls_with_the_ca_and_a_client_certificate() {
            round_trip_now(&connected(&tls::trusted()).await).await;
        }

        #[tokio::test]
        async fn the_urls_own_parameters_work_too() {
            let url = format!("{}?{}", url(), $params);
            let store = <$store>::connect(&url)
                .await
                .expect("connect")
                .with_table(&table())
                .unwrap();
            store.migrate().await.unwrap();
            round_trip_now(&store).await;
        }

        #[tokio::test]
        async fn a_server_the_configured_ca_did_not_sign_is_refused() {
            let text = refused(
                <$store>::connect_tls(&url(), &tls::other_ca()).await,
                "other CA",
            );
            assert!(text.to_lowercase().contains("certificate"), "{text}");
        }

        #[tokio::test]
        async fn plain_connections_and_missing_client_certificates_are_refused() {
            refused(
                <$store>::connect(&format!("{}?{}", url(), $plain)).await,
                "plain",
            );
            let no_client = Tls::new().with_ca_pem(tls::pem("ca.pem"));
            refused(
                <$store>::connect_tls(&url(), &no_client).await,
                "no client certificate",
            );
        }
    };
}

fn files(names: [(&str, &str); 3]) -> String {
    names
        .iter()
        .map(|(param, file)| format!("{param}={}", tls::file(file).display()))
        .collect::<Vec<_>>()
        .join("&")
}

mod postgres {
    tls_cases!(
        PgStore,
        "DATABASE_URL_POSTGRES_TLS",
        format!(
            "sslmode=verify-full&{}",
            files([
                ("sslrootcert", "ca.pem"),
                ("sslcert", "client.pem"),
                ("sslkey", "client-key.pem")
            ])
        ),
        "sslmode=disable"
    );

    /// The end-notice listener connects with the pool's options: over TLS too.
    #[tokio::test]
    async fn end_notices_arrive_over_tls() {
        let store = connected(&tls::trusted()).await;
        test_support::store_checks::end_is_pushed(Arc::new(store)).await;
    }

    /// The same server under a name its certificate does not carry: refused.
    #[tokio::test]
    async fn a_host_name_the_certificate_does_not_carry_is_refused() {
        let url = url();
        let other = url.replace("127.0.0.1", "127.0.0.2");
        assert_ne!(
            other, url,
            "DATABASE_URL_POSTGRES_TLS must be on 127.0.0.1 (and 127.0.0.2)"
        );
        let text = refused(
            PgStore::connect_tls(&other, &tls::trusted()).await,
            "other name",
        );
        assert!(text.to_lowercase().contains("certificate"), "{text}");
    }
}

mod mysql {
    tls_cases!(
        MySqlStore,
        "DATABASE_URL_MYSQL_TLS",
        format!(
            "ssl-mode=VERIFY_IDENTITY&{}",
            files([
                ("ssl-ca", "ca.pem"),
                ("ssl-cert", "client.pem"),
                ("ssl-key", "client-key.pem")
            ])
        ),
        "ssl-mode=DISABLED"
    );
}
