//! TLS to PostgreSQL and MariaDB against real servers that take only TLS connections with
//! a client certificate (started by `scripts/test.sh`): with the right CA and client
//! certificate the store works, end notices included on PostgreSQL; a server whose
//! certificate the configured CA did not sign is refused, as is a plain connection; and
//! the URL's own parameters (`sslrootcert`, `ssl-ca`, …) do the same as the builder.

use std::sync::Arc;
use std::time::Duration;

use session_core::observe::error_text;
use session_core::{
    Clock as _, ErrorKind, Record, Session, SessionConfig, SessionId, SessionStore, SystemClock,
    Tls,
};
use session_sql::{MySqlStore, PgStore};
use test_support::tls;

fn good_tls() -> Tls {
    Tls::new()
        .with_ca_pem(tls::pem("ca.pem"))
        .with_client_pem(tls::pem("client.pem"), tls::pem("client-key.pem"))
}

fn other_ca() -> Tls {
    Tls::new()
        .with_ca_pem(tls::pem("other-ca.pem"))
        .with_client_pem(tls::pem("client.pem"), tls::pem("client-key.pem"))
}

fn table() -> String {
    format!(
        "tls_{}",
        &SessionId::generate().unwrap().store_key().hash_hex()[..12]
    )
}

/// Migrate, create, load, delete.
async fn works<S: SessionStore>(store: &S) {
    let now = SystemClock.now();
    let key = SessionId::generate().unwrap().store_key();
    store
        .create(&key, &Record::new(now, now.plus(Duration::from_secs(60))))
        .await
        .unwrap();
    assert!(store.load(&key).await.unwrap().is_some());
    store.delete(&key).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_none());
}

fn refused<T>(result: Result<T, session_core::Error>, what: &str) -> String {
    let Err(err) = result else {
        panic!("{what}: connected")
    };
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{what}: {err:?}");
    error_text(&err)
}

mod postgres {
    use super::*;

    fn url() -> String {
        tls::url("DATABASE_URL_POSTGRES_TLS")
    }

    #[tokio::test]
    async fn over_tls_with_the_ca_and_a_client_certificate() {
        let store = PgStore::connect_tls(&url(), &good_tls())
            .await
            .expect("connect over TLS")
            .with_table(&table())
            .unwrap();
        store.migrate().await.unwrap();
        works(&store).await;

        // The end-notice listener connects with the pool's options: over TLS too.
        let config = SessionConfig::default()
            .with_live_poll(Duration::from_secs(3600))
            .with_live_recheck(Duration::from_secs(3600));
        let live = Session::new(Arc::new(store.clone()), Arc::new(config), None);
        live.insert("cart", &["apple"]).unwrap();
        live.save().await.unwrap();
        let id = live.id().await.unwrap();
        let waiting = tokio::spawn({
            let live = live.clone();
            async move { tokio::time::timeout(Duration::from_secs(5), live.ended()).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        store.delete(&id.store_key()).await.unwrap();
        assert_eq!(
            waiting
                .await
                .unwrap()
                .expect("no end notice over TLS within 5 s"),
            session_core::Ended::Removed
        );
    }

    #[tokio::test]
    async fn the_urls_own_parameters_work_too() {
        let url = format!(
            "{}?sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
            url(),
            tls::file("ca.pem").display(),
            tls::file("client.pem").display(),
            tls::file("client-key.pem").display()
        );
        let store = PgStore::connect(&url)
            .await
            .expect("connect")
            .with_table(&table())
            .unwrap();
        store.migrate().await.unwrap();
        works(&store).await;
    }

    #[tokio::test]
    async fn a_server_the_configured_ca_did_not_sign_is_refused() {
        let text = refused(PgStore::connect_tls(&url(), &other_ca()).await, "other CA");
        assert!(text.to_lowercase().contains("certificate"), "{text}");
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
            PgStore::connect_tls(&other, &good_tls()).await,
            "other name",
        );
        assert!(text.to_lowercase().contains("certificate"), "{text}");
    }

    #[tokio::test]
    async fn plain_connections_and_missing_client_certificates_are_refused() {
        refused(
            PgStore::connect(&format!("{}?sslmode=disable", url())).await,
            "plain",
        );
        let no_client = Tls::new().with_ca_pem(tls::pem("ca.pem"));
        refused(
            PgStore::connect_tls(&url(), &no_client).await,
            "no client certificate",
        );
    }
}

mod mysql {
    use super::*;

    fn url() -> String {
        tls::url("DATABASE_URL_MYSQL_TLS")
    }

    #[tokio::test]
    async fn over_tls_with_the_ca_and_a_client_certificate() {
        let store = MySqlStore::connect_tls(&url(), &good_tls())
            .await
            .expect("connect over TLS")
            .with_table(&table())
            .unwrap();
        store.migrate().await.unwrap();
        works(&store).await;
    }

    #[tokio::test]
    async fn the_urls_own_parameters_work_too() {
        let url = format!(
            "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}&ssl-cert={}&ssl-key={}",
            url(),
            tls::file("ca.pem").display(),
            tls::file("client.pem").display(),
            tls::file("client-key.pem").display()
        );
        let store = MySqlStore::connect(&url)
            .await
            .expect("connect")
            .with_table(&table())
            .unwrap();
        store.migrate().await.unwrap();
        works(&store).await;
    }

    #[tokio::test]
    async fn a_server_the_configured_ca_did_not_sign_is_refused() {
        let text = refused(
            MySqlStore::connect_tls(&url(), &other_ca()).await,
            "other CA",
        );
        assert!(text.to_lowercase().contains("certificate"), "{text}");
    }

    #[tokio::test]
    async fn plain_connections_and_missing_client_certificates_are_refused() {
        refused(
            MySqlStore::connect(&format!("{}?ssl-mode=DISABLED", url())).await,
            "plain",
        );
        let no_client = Tls::new().with_ca_pem(tls::pem("ca.pem"));
        refused(
            MySqlStore::connect_tls(&url(), &no_client).await,
            "no client certificate",
        );
    }
}
