//! Headless Chromium over WebDriver for the browser tests: Debian's `chromium` and
//! `chromium-driver` (the README's test command installs them); `CHROME_BIN` and
//! `CHROMEDRIVER` override the paths.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use test_support::{ChildGuard, free_port};

fn find_tool(var: &str, candidates: &[&str]) -> String {
    if let Ok(p) = std::env::var(var) {
        return p;
    }
    for c in candidates {
        if Path::new(c).exists() {
            return (*c).to_owned();
        }
    }
    panic!(
        "{} not found: install Debian's chromium and chromium-driver (./scripts/test.sh does), \
         or set {var} to its path",
        candidates[0]
    );
}

pub(crate) fn start_chromedriver() -> (ChildGuard, u16) {
    let bin = find_tool(
        "CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    );
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    test_support::wait_port(port, "chromedriver", Duration::from_secs(30));
    (ChildGuard(child), port)
}

pub(crate) async fn browser(driver_port: u16, profile: &Path) -> Client {
    let chrome = find_tool(
        "CHROME_BIN",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chrome,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1100,800",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("connect to chromedriver")
}

/// Waits (up to 10 s) until the browser shows `path`, fully loaded.
pub(crate) async fn wait_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let at = c
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let ready = c.execute("return document.readyState", vec![]).await.ok();
        if at == path && ready.as_ref().and_then(|v| v.as_str()) == Some("complete") {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {path} (at {at})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Serves `router` on a free loopback port for a browser test; the port.
#[allow(dead_code)] // not every browser test serves its own app
pub(crate) async fn serve(router: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    port
}

/// The text of the page's body.
#[allow(dead_code)] // not every browser test reads it this way
pub(crate) async fn body_text(c: &Client) -> String {
    c.find(fantoccini::Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
