//! The demo's `/metrics` page, as an operator would scrape it: with `--metrics` the
//! library's metrics appear in Prometheus' text format, with their labels and help text,
//! and the page sets no session cookie; without the flag there is no such page.

mod common;

use common::demo::start_demo;

fn db(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("demo-metrics-{name}-{}.db", std::process::id()))
}

#[tokio::test]
async fn metrics_page_shows_the_librarys_metrics() {
    let port = test_support::free_port();
    let path = db("on");
    let _demo = start_demo(&path, port, &["--metrics"]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // A session through the header transport (an API client): created, then read back.
    let r = http
        .post(format!("{base}/api/visits"))
        .header("x-session-id", "new")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-session-id"].to_str().unwrap().to_owned();
    let r = http
        .post(format!("{base}/api/visits"))
        .header("x-session-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "2");
    // A form post from another site, and a forged cookie.
    let r = http
        .post(format!("{base}/cart/add"))
        .header("origin", "https://evil.example")
        .form(&[("product", "apple")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(format!("{base}/cart"))
        .header("cookie", "__Host-id=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "a scrape got a cookie"
    );
    let text = r.text().await.unwrap();
    for line in [
        r#"session_csrf_refusals_total{reason="origin_mismatch"} 1"#,
        r#"session_cookie_rejections_total{reason="malformed"} 1"#,
        r#"session_store_call_duration_seconds_count{backend="sqlite",operation="create",outcome="ok"} 1"#,
        r#"session_store_call_duration_seconds_count{backend="sqlite",operation="load",outcome="hit"} 1"#,
        "# TYPE session_store_call_duration_seconds histogram",
        "# HELP session_csrf_refusals_total Requests refused by the CSRF check, by reason",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    assert!(!text.contains(&id), "a session id on the metrics page");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn no_metrics_page_without_the_flag() {
    let port = test_support::free_port();
    let path = db("off");
    let _demo = start_demo(&path, port, &[]);
    let r = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let _ = std::fs::remove_file(&path);
}
