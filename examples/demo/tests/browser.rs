//! The demo in a real headless Chromium, driven over WebDriver (chromedriver + fantoccini).
//!
//! One story, as a person would click it: an anonymous cart, login (cart kept, id rotated,
//! still logged in after 20 fetches carrying the old cookie overlapped it),
//! a second browser profile logs in as the same user, the first revokes it on "your
//! devices", the second is logged out on its next page load. Also: the session cookie is
//! invisible to `document.cookie` (HttpOnly), a form post with a wrong CSRF token gets 403,
//! the JSON API works from `fetch`, and after a restart of the server (SQLite store) the
//! user is still logged in. A screenshot of the devices page is saved to
//! `target/screenshots/devices.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (the README's test command installs them);
//! `CHROME_BIN` and `CHROMEDRIVER` override the paths.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::chrome::{browser, start_chromedriver, wait_path};
use common::demo::{session_cookie, start_demo, submit_login, text};
use fantoccini::{Client, Locator};
use serde_json::json;
use test_support::free_port;

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

/// Waits until the browser shows `path` and the page has loaded.
/// Waits (up to 10 s) until the page shows `n` elements matching `css`.
async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = count(c, css).await;
        if now == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: {now} on the page, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login(c: &Client, base: &str, user: &str, password: &str) {
    login_with(c, base, user, password, false).await;
}

/// Logs in through the form; with `overlap`, the page first fires 20 `fetch` calls that
/// carry the pre-login cookie and are still in flight while the login is answered.
async fn login_with(c: &Client, base: &str, user: &str, password: &str, overlap: bool) {
    c.goto(&format!("{base}/login")).await.unwrap();
    let fetches = "for (let i = 0; i < 20; i++) { fetch(i % 2 ? '/api/cart' : '/cart', {credentials: 'same-origin'}); }";
    submit_login(c, user, password, false, overlap.then_some(fetches)).await;
    wait_path(c, "/").await;
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The whole story in two browser profiles (see the module docs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_story_in_a_real_browser() {
    let tmp = std::env::temp_dir().join(format!("session-demo-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let db = tmp.join("sessions.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_demo(&db, port, &[]);
    let (_driver, driver_port) = start_chromedriver();
    let a = browser(driver_port, &tmp.join("profile-a")).await;
    let b = browser(driver_port, &tmp.join("profile-b")).await;

    // An anonymous visitor browses: no session yet.
    a.goto(&format!("{base}/products")).await.unwrap();
    assert!(
        session_cookie(&a).await.is_none(),
        "a session was created by a visit"
    );
    // The first add creates the session.
    a.find(Locator::Id("add-apple"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&a, "/cart").await;
    a.wait().for_element(Locator::Css("li.item")).await.unwrap();
    assert_eq!(count(&a, "li.item").await, 1);
    let anonymous_id = session_cookie(&a)
        .await
        .expect("session cookie after the first add");

    // HttpOnly: page scripts cannot see the session cookie.
    let visible = a.execute("return document.cookie", vec![]).await.unwrap();
    assert!(
        !visible.as_str().unwrap_or("").contains("__Host-id"),
        "document.cookie shows {visible}"
    );

    // Login keeps the cart and rotates the id, and the page's fetches that overlap it
    // (carrying the pre-login cookie) do not log the user out.
    login_with(&a, &base, "alice", "wonderland", true).await;
    assert!(text(&a, "#who").await.contains("alice"));
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.goto(&format!("{base}/")).await.unwrap();
        assert!(
            text(&a, "#who").await.contains("alice"),
            "logged out after fetches overlapped the login"
        );
    }
    assert_eq!(text(&a, "#cart-link").await, "Cart (1)");
    let alice_a = session_cookie(&a).await.unwrap();
    assert_ne!(alice_a, anonymous_id, "login kept the pre-login id");

    // The JSON API from fetch, with the CSRF token in a header.
    a.goto(&format!("{base}/cart")).await.unwrap();
    a.find(Locator::Id("api-add"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&a, "li.item").await < 2 {
        assert!(Instant::now() < deadline, "the API add did not show up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A wrong CSRF token is refused with 403, by fetch and by a form post.
    let status = a
        .execute(
            "return fetch('/cart/add', {method: 'POST', body: new URLSearchParams({product: 'pear', csrf_token: 'bad'})}).then(r => r.status)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    a.goto(&format!("{base}/products")).await.unwrap();
    a.execute(
        "document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'bad'); document.getElementById('add-pear').click();",
        vec![],
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let src = a.source().await.unwrap();
        if src.contains("invalid_token") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the forged form post was not refused: {src}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A second browser signs in as the same user.
    login(&b, &base, "alice", "wonderland").await;
    assert!(text(&b, "#who").await.contains("alice"));

    // The first lists both on "your devices" and revokes the other.
    a.goto(&format!("{base}/devices")).await.unwrap();
    wait_path(&a, "/devices").await;
    assert_eq!(count(&a, "tr.device").await, 2);
    assert_eq!(count(&a, "tr.current-row").await, 1);
    let png = a.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join("devices.png"), png).unwrap();
    a.find(Locator::Css("button.revoke"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The revoke posts and redirects back to the same path: wait for the new page.
    wait_count(&a, "tr.device", 1).await;

    // The revoked browser is logged out at its next page load.
    b.goto(&format!("{base}/cart")).await.unwrap();
    assert_eq!(text(&b, "#who").await, "Not signed in");

    // A restart of the server with the SQLite store keeps the user logged in.
    drop(server);
    server = start_demo(&db, port, &[]);
    a.goto(&format!("{base}/")).await.unwrap();
    assert!(
        text(&a, "#who").await.contains("alice"),
        "logged out by a restart"
    );
    assert_eq!(session_cookie(&a).await.as_deref(), Some(alice_a.as_str()));

    a.close().await.unwrap();
    b.close().await.unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
}
