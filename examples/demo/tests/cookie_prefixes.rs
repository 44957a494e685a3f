//! The newer cookie standards in a real browser: a session cookie named with the
//! `__Host-Http-` or `__Http-` prefix (settable only by a server's `Set-Cookie`, with
//! `HttpOnly`), and one marked `Partitioned` (CHIPS), are kept by headless Chromium and sent
//! back, never shown to scripts; logout's removal cookie, which carries the same
//! attributes, removes them. What this Chromium does with a script that tries to set such
//! names is printed, since that is the browser's behaviour, not ours.

mod common;

use axum::Router;
use axum::routing::get;
use common::chrome::{body_text, browser, serve, start_chromedriver, wait_path};
use fantoccini::Client;
use session_memory::MemoryStore;
use session_tower::{SameSite, Session, SessionLayer, SigningKeys};

/// An app whose session cookie is `name`, partitioned when asked. GET routes only: the
/// cookie's handling is under test here, not CSRF.
fn app(name: &str, partitioned: bool) -> Router {
    let mut layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap())
        .with_cookie_name(name)
        .unwrap();
    if partitioned {
        layer = layer
            .with_same_site(SameSite::None)
            .unwrap()
            .with_partitioned_cookie()
            .unwrap();
    }
    Router::new()
        .route(
            "/",
            get(|s: Session| async move {
                let n: Option<String> = s.get("note").await.unwrap();
                format!("note={}", n.unwrap_or_default())
            }),
        )
        .route(
            "/set",
            get(|s: Session| async move {
                s.insert("note", "kept").unwrap();
                "set"
            }),
        )
        .route(
            "/end",
            get(|s: Session| async move {
                s.logout().await.unwrap();
                "ended"
            }),
        )
        .layer(layer)
}

async fn open(c: &Client, url: &str, path: &str) -> String {
    c.goto(url).await.unwrap();
    wait_path(c, path).await;
    body_text(c).await
}

async fn script_cookies(c: &Client) -> String {
    c.execute("return document.cookie", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixed_and_partitioned_cookies_round_trip_in_chromium() {
    let (_driver, driver_port) = start_chromedriver();
    let profile = std::env::temp_dir().join(format!("cookie-prefixes-{}", std::process::id()));
    let c = browser(driver_port, &profile).await;
    for (name, partitioned) in [
        ("__Host-Http-id", false),
        ("__Http-id", false),
        ("__Host-Http-id", true),
    ] {
        let port = serve(app(name, partitioned)).await;
        let base = format!("http://localhost:{port}");
        assert_eq!(open(&c, &format!("{base}/set"), "/set").await, "set");
        assert_eq!(
            open(&c, &format!("{base}/"), "/").await,
            "note=kept",
            "{name} (partitioned: {partitioned}) was not kept and sent back"
        );
        let seen = script_cookies(&c).await;
        assert!(!seen.contains(name), "{name} is visible to scripts: {seen}");
        let cookies = c.get_all_cookies().await.unwrap();
        let ours = cookies
            .iter()
            .find(|k| k.name() == name)
            .unwrap_or_else(|| panic!("{name} not in the browser's jar"));
        assert_eq!(ours.http_only(), Some(true), "{name}");
        assert_eq!(ours.secure(), Some(true), "{name}");
        // The removal cookie repeats the attributes, partitioned included, so it removes.
        assert_eq!(open(&c, &format!("{base}/end"), "/end").await, "ended");
        assert!(
            c.get_all_cookies()
                .await
                .unwrap()
                .iter()
                .all(|k| k.name() != name),
            "{name} (partitioned: {partitioned}) survived its removal cookie"
        );
        assert_eq!(open(&c, &format!("{base}/"), "/").await, "note=");
        // What this Chromium lets a script do with the prefixes (its behaviour, printed).
        for js_name in ["plain-js", "__Host-Http-js", "__Http-js"] {
            c.execute(
                &format!("document.cookie = '{js_name}=1; Path=/; Secure'"),
                vec![],
            )
            .await
            .unwrap();
            let kept = script_cookies(&c).await.contains(js_name);
            println!("Chromium keeps a script-set {js_name} cookie: {kept}");
        }
    }
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}
