//! The demo on TLS-only servers, configured as a user would: the `--store` URL names the
//! CA and the client certificate (`tls_ca`, `tls_cert`, `tls_key`). Sessions work over
//! Redis, Redis Cluster, PostgreSQL and MariaDB; with another CA the demo refuses to start
//! and says why.

use std::process::{Command, Stdio};

use test_support::{ChildGuard, tls};

fn tls_params(ca: &str) -> String {
    format!(
        "tls_ca={}&tls_cert={}&tls_key={}",
        tls::file(ca).display(),
        tls::file("client.pem").display(),
        tls::file("client-key.pem").display()
    )
}

fn with_params(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// Starts the demo on `store`; two visits through the API count 1 then 2.
async fn visits_count(store: &str) {
    let port = test_support::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_session-demo"))
        .args(["--store", store, "--addr", &format!("127.0.0.1:{port}")])
        .env(
            "SESSION_KEYS",
            "bG9uZy1lbm91Z2gtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE",
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start session-demo");
    let _guard = ChildGuard(child);
    test_support::wait_port(port, "session-demo", std::time::Duration::from_secs(30));
    let http = reqwest::Client::new();
    let mut id = "new".to_owned();
    for expected in ["1", "2"] {
        let r = http
            .post(format!("http://127.0.0.1:{port}/api/visits"))
            .header("x-session-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{store}");
        if let Some(v) = r.headers().get("x-session-id") {
            id = v.to_str().unwrap().to_owned();
        }
        assert_eq!(r.text().await.unwrap(), expected, "{store}");
    }
}

#[tokio::test]
async fn the_demo_runs_on_every_tls_only_store() {
    let params = tls_params("ca.pem");
    for var in [
        "REDIS_TLS_URL",
        "REDIS_TLS_CLUSTER_URLS",
        "DATABASE_URL_POSTGRES_TLS",
        "DATABASE_URL_MYSQL_TLS",
    ] {
        visits_count(&with_params(&tls::url(var), &params)).await;
    }
}

#[test]
fn with_another_ca_the_demo_does_not_start() {
    let params = tls_params("other-ca.pem");
    for var in ["REDIS_TLS_URL", "DATABASE_URL_POSTGRES_TLS"] {
        let out = Command::new(env!("CARGO_BIN_EXE_session-demo"))
            .args([
                "--store",
                &with_params(&tls::url(var), &params),
                "--addr",
                "127.0.0.1:0",
            ])
            .env(
                "SESSION_KEYS",
                "bG9uZy1lbm91Z2gtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE",
            )
            .output()
            .expect("run session-demo");
        assert!(!out.status.success(), "{var}: started");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(err.contains("certificate"), "{var}: {err}");
    }
}
