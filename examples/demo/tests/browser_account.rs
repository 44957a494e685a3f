//! Remember-me and sudo mode in the demo, in a real headless Chromium over WebDriver.
//!
//! One story: bob logs in on one browser without "remember me" (a browser-session
//! cookie) and on a second with it (a cookie that outlives the browser, for a week). The
//! second changes the password right away; later (past the re-authentication window,
//! shortened to 3 s for the test) it is asked for the password again, is sent back to the
//! password page, and the change logs the first browser out. The old password no longer
//! works, the new one does.
//!
//! Needs Debian's `chromium` and `chromium-driver`, as `browser.rs` does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod common;

use common::chrome::{browser, start_chromedriver, wait_path};
use common::demo::{start_demo, submit_login, text};
use fantoccini::{Client, Locator};
use test_support::free_port;

/// Seconds from now until the session cookie expires; `None` for a browser-session
/// cookie.
async fn cookie_lifetime(c: &Client) -> Option<i64> {
    let cookie = c
        .get_named_cookie("__Host-id")
        .await
        .expect("session cookie");
    let expires = cookie.expires_datetime()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Some(expires.unix_timestamp() - now)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_and_sudo_mode_in_a_real_browser() {
    let tmp = std::env::temp_dir().join(format!("session-demo-account-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = start_demo(
        &tmp.join("sessions.db"),
        port,
        &["--reauth-window-secs", "3"],
    );
    let (_driver, driver_port) = start_chromedriver();
    let a = browser(driver_port, &tmp.join("profile-a")).await;
    let b = browser(driver_port, &tmp.join("profile-b")).await;

    // Without the box: a cookie that ends with the browser.
    a.goto(&format!("{base}/login")).await.unwrap();
    submit_login(&a, "bob", "builder", false, None).await;
    wait_path(&a, "/").await;
    assert!(text(&a, "#who").await.contains("bob"));
    assert_eq!(cookie_lifetime(&a).await, None, "a browser-session cookie");

    // With it: the cookie lives as long as a remembered session may, a week.
    b.goto(&format!("{base}/login")).await.unwrap();
    submit_login(&b, "bob", "builder", true, None).await;
    wait_path(&b, "/").await;
    let week = 7 * 24 * 3600;
    let life = cookie_lifetime(&b).await.expect("a persistent cookie");
    assert!(
        (week - 120..=week).contains(&life),
        "remembered for {life} s, not a week"
    );

    // Just logged in: the password page opens at once.
    b.goto(&format!("{base}/account/password")).await.unwrap();
    wait_path(&b, "/account/password").await;
    b.find(Locator::Id("new-password")).await.unwrap();

    // Past the window: asked for the password again, then sent back.
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.find(Locator::Id("password-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&b, "/login").await;
    let url = b.current_url().await.unwrap();
    assert_eq!(url.query(), Some("next=/account/password"));
    assert!(text(&b, "#confirm").await.contains("confirm your password"));
    submit_login(&b, "bob", "builder", false, None).await;
    wait_path(&b, "/account/password").await;
    assert!(
        cookie_lifetime(&b).await.is_some(),
        "confirming the password forgot \"remember me\""
    );
    b.find(Locator::Id("new-password"))
        .await
        .unwrap()
        .send_keys("a-new-password")
        .await
        .unwrap();
    b.find(Locator::Id("change"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text(&b, "#changed").await.contains("Password changed"));

    // The other browser was logged out by the change.
    a.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(text(&a, "#who").await, "Not signed in");
    // The old password no longer works; the new one does.
    a.goto(&format!("{base}/login")).await.unwrap();
    submit_login(&a, "bob", "builder", false, None).await;
    assert!(text(&a, "#error").await.contains("Wrong name or password"));
    submit_login(&a, "bob", "a-new-password", false, None).await;
    wait_path(&a, "/").await;
    assert!(text(&a, "#who").await.contains("bob"));

    a.close().await.unwrap();
    b.close().await.unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
}
