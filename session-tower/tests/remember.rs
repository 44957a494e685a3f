//! "Remember me" chosen per session at login, and a configurable cookie `Path`, through
//! real HTTP: an axum app on 127.0.0.1:0 and reqwest clients with cookie jars.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Probe, browser, start, text};
use session_core::ManualClock;
use session_memory::MemoryStore;
use session_tower::{ConfigError, SessionLayer, SigningKeys};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn set_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
}

fn max_age(cookie: &str) -> Option<u64> {
    cookie
        .split(';')
        .find_map(|a| a.trim().strip_prefix("Max-Age="))
        .map(|v| v.parse().unwrap())
}

/// Two users log in on one app, one ticking "remember me": only that one gets a
/// persistent cookie, its `Max-Age` capped by the absolute lifetime (7 days, though the
/// remembered idle timeout is 10), and only that session outlives the 30-minute idle
/// timeout. Unticking it later turns the cookie back into a browser-session one, and the
/// short idle timeout applies again.
#[tokio::test]
async fn remember_me_is_chosen_per_session() {
    let clock = ManualClock::new();
    let store = Probe::new(
        MemoryStore::builder()
            .clock(Arc::new(clock.clone()))
            .build(),
    );
    let h = start(store, |l| {
        l.with_clock(Arc::new(clock.clone()))
            .with_idle_timeout(30 * MINUTE)
            .with_remembered_idle_timeout(10 * DAY)
            .with_absolute_timeout(7 * DAY)
    })
    .await;

    let (alice, _) = browser(&h.base);
    let r = alice.post(h.url("/login/alice")).send().await.unwrap();
    let cookie = set_cookie(&r).expect("login sets the cookie");
    assert_eq!(max_age(&cookie), None, "not remembered: {cookie}");
    assert_eq!(text(&alice, h.url("/remembered")).await, "false");

    let (bob, _) = browser(&h.base);
    let r = bob
        .post(h.url("/login-remembered/bob"))
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&r).expect("login sets the cookie");
    assert_eq!(
        max_age(&cookie),
        Some((7 * DAY).as_secs()),
        "capped by the absolute lifetime: {cookie}"
    );
    assert_eq!(text(&bob, h.url("/remembered")).await, "true");

    // Two hours later: past the idle timeout, within the remembered one.
    clock.advance(2 * HOUR);
    assert_eq!(text(&alice, h.url("/whoami")).await, "anonymous");
    let r = bob.get(h.url("/whoami")).send().await.unwrap();
    let cookie = set_cookie(&r).expect("the touch refreshes a remembered cookie");
    assert_eq!(r.text().await.unwrap(), "bob");
    assert_eq!(
        max_age(&cookie),
        Some((7 * DAY - 2 * HOUR).as_secs()),
        "Max-Age follows the absolute deadline: {cookie}"
    );

    // "Forget this device": the cookie is set again without Max-Age.
    let r = bob.post(h.url("/forget")).send().await.unwrap();
    let cookie = set_cookie(&r).expect("a changed choice sets the cookie again");
    assert_eq!(max_age(&cookie), None, "still persistent: {cookie}");
    assert_eq!(text(&bob, h.url("/whoami")).await, "bob");
    assert_eq!(text(&bob, h.url("/remembered")).await, "false");
    clock.advance(31 * MINUTE);
    assert_eq!(
        text(&bob, h.url("/whoami")).await,
        "anonymous",
        "a forgotten session has the plain idle timeout again"
    );
}

/// The layer-wide persistent cookie still applies to every session, remembered or not.
#[tokio::test]
async fn the_layer_setting_makes_every_cookie_persistent() {
    // A manual clock: on the system clock, a millisecond between the save and the
    // cookie would make the Max-Age 1799.
    let clock = ManualClock::new();
    let store = Probe::new(
        MemoryStore::builder()
            .clock(Arc::new(clock.clone()))
            .build(),
    );
    let h = start(store, |l| {
        l.with_clock(Arc::new(clock.clone()))
            .with_persistent_cookie()
    })
    .await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/login/carol")).send().await.unwrap();
    assert_eq!(max_age(&set_cookie(&r).unwrap()), Some(30 * 60));
}

/// A configured `Path` is on the cookie that is set and on the one that removes it; the
/// prefix rules are checked when the layer is built.
#[tokio::test]
async fn cookie_path_is_configurable_and_checked() {
    let h = start(Probe::new(MemoryStore::new()), |l| {
        l.with_cookie_name("__Secure-id")
            .unwrap()
            .with_cookie_path("/app")
            .unwrap()
    })
    .await;
    let (client, jar) = browser(&h.base);
    let r = client.post(h.url("/login/dave")).send().await.unwrap();
    let cookie = set_cookie(&r).unwrap();
    assert!(cookie.starts_with("__Secure-id="), "{cookie}");
    assert!(cookie.contains("; Path=/app;"), "{cookie}");
    assert!(jar.get("__Secure-id").is_some());
    let r = client.post(h.url("/logout")).send().await.unwrap();
    let cleared = set_cookie(&r).unwrap();
    assert!(
        cleared.contains("; Path=/app;"),
        "removal on another path: {cleared}"
    );
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let layer = || SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap());
    assert!(matches!(
        layer().with_cookie_path("/app").err(),
        Some(ConfigError::HostPrefixViolated)
    ));
    assert!(layer().with_cookie_path("/").is_ok());
    let named = || layer().with_cookie_name("id").unwrap();
    for bad in ["app", "", "/a;b", "/a b", "/a,b", "/a\u{7f}"] {
        assert!(
            matches!(
                named().with_cookie_path(bad).err(),
                Some(ConfigError::InvalidAttribute("path"))
            ),
            "{bad:?} was accepted"
        );
    }
}
