//! The demo binary under test, and what the browser tests read from its pages.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use test_support::ChildGuard;

pub(crate) const KEYS: &str = "bG9uZy1lbm91Z2gtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE";

fn wait_port(port: u16, what: &str) {
    test_support::wait_port(port, what, Duration::from_secs(30));
}

/// Starts the demo binary on `port` with the SQLite store at `db`, plus `extra` flags.
pub(crate) fn start_demo(db: &Path, port: u16, extra: &[&str]) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_session-demo"))
        .args([
            "--store",
            &format!("sqlite://{}", db.display()),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .env("SESSION_KEYS", KEYS)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start session-demo");
    wait_port(port, "session-demo");
    ChildGuard(child)
}

/// The text of `css`, retried while the page is still changing (a stale element after a
/// navigation is not a failure of the app).
pub(crate) async fn text(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await,
            Err(e) => Err(e),
        };
        match r {
            Ok(t) => return t,
            Err(e) => {
                assert!(Instant::now() < deadline, "{css}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The value of the session cookie in the browser, if it holds one.
pub(crate) async fn session_cookie(c: &Client) -> Option<String> {
    c.get_named_cookie("__Host-id")
        .await
        .ok()
        .map(|k| k.value().to_owned())
}

/// Fills and submits the login form on the page the browser shows; with `remember`, ticks
/// "remember me"; `before_click` is a script run just before the button is pressed.
pub(crate) async fn submit_login(
    c: &Client,
    user: &str,
    password: &str,
    remember: bool,
    before_click: Option<&str>,
) {
    let name = c.find(Locator::Id("username")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys(user).await.unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    if remember {
        c.find(Locator::Id("remember"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    if let Some(script) = before_click {
        c.execute(script, vec![]).await.unwrap();
    }
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}
