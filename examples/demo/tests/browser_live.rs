//! The demo's live page in a real headless Chromium: alice opens `/live` on one browser
//! (a WebSocket showing her cart), adds a pear over the socket (saved: the page's own API
//! call reads it back), then logs out everywhere else from a second browser; the live page closes, saying
//! why, within a second of the click. The demo runs on SQLite, which cannot push notices,
//! so this is the polling path (every 250 ms, the demo's default).
//!
//! Needs Debian's `chromium` and `chromium-driver`, as `browser.rs` does.

use std::time::{Duration, Instant};

mod common;

use common::chrome::{browser, start_chromedriver, wait_path};
use common::demo::{start_demo, submit_login, text};
use fantoccini::{Client, Locator};
use test_support::free_port;

/// Milliseconds since the epoch, by the browser's clock (both browsers share the host's).
async fn now_ms(c: &Client) -> i64 {
    c.execute("return Date.now()", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap()
}

/// Waits until `css`'s text contains `want`.
async fn wait_text(c: &Client, css: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = text(c, css).await;
        if t.contains(want) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "{css} says {t:?}, never {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_closes_when_the_user_logs_out_everywhere() {
    let tmp = std::env::temp_dir().join(format!("session-demo-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = start_demo(&tmp.join("sessions.db"), port, &[]);
    let (_driver, driver_port) = start_chromedriver();
    let a = browser(driver_port, &tmp.join("profile-a")).await;
    let b = browser(driver_port, &tmp.join("profile-b")).await;

    // Before logging in, the page's socket is refused (no session, none created).
    a.goto(&format!("{base}/live")).await.unwrap();
    wait_text(&a, "#live-status", "closed").await;

    a.goto(&format!("{base}/login")).await.unwrap();
    submit_login(&a, "alice", "wonderland", false, None).await;
    wait_path(&a, "/").await;
    a.goto(&format!("{base}/live")).await.unwrap();
    wait_text(&a, "#live-status", "connected").await;
    wait_text(&a, "#live-cart", "(empty)").await;
    a.find(Locator::Id("live-add"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&a, "#live-cart", "pear").await;
    // Saved by the socket: an ordinary request of the same browser sees it.
    let saved = a
        .execute_async(
            "const done = arguments[0]; \
             fetch('/api/cart').then(r => r.json()).then(j => done(j.items.join(',')));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        saved.as_str(),
        Some("pear"),
        "the socket's add was not saved"
    );

    // The second browser logs out everywhere else.
    b.goto(&format!("{base}/login")).await.unwrap();
    submit_login(&b, "alice", "wonderland", false, None).await;
    wait_path(&b, "/").await;
    b.goto(&format!("{base}/devices")).await.unwrap();
    let button = b.find(Locator::Id("revoke-others")).await.unwrap();
    let clicked = now_ms(&b).await;
    button.click().await.unwrap();

    let status = wait_text(&a, "#live-status", "closed: ").await;
    assert!(status.contains("ended elsewhere"), "{status}");
    let closed: i64 = a
        .find(Locator::Id("live-status"))
        .await
        .unwrap()
        .attr("data-closed-at")
        .await
        .unwrap()
        .expect("closing time")
        .parse()
        .unwrap();
    let took = closed - clicked;
    println!("live page closed {took} ms after the click");
    assert!(
        (0..=1000).contains(&took),
        "the live page closed {took} ms after \"log out everywhere else\", not within a second"
    );
    // And it was a real logout: the first browser is signed out.
    a.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(text(&a, "#who").await, "Not signed in");

    a.close().await.unwrap();
    b.close().await.unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
}
