//! What caches may keep: a response that read its session says `private, no-store` (the
//! cart, the user name, a CSRF token are this browser's alone) unless its handler chose
//! otherwise or the layer was told to leave such responses alone; a response carrying the
//! cookie always says `no-store`; one that never touched its session says nothing.

mod common;

use std::sync::Arc;

use common::{browser, start};
use http::{HeaderValue, StatusCode};
use session_memory::MemoryStore;

fn cache_control(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn session_pages_are_private_and_not_stored() {
    let h = start(Arc::new(MemoryStore::new()), |l| l).await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add/apple")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        cache_control(&r).as_deref(),
        Some("no-store"),
        "sets the cookie"
    );
    // A read that sets no cookie: the cart page.
    let r = client.get(h.url("/cart")).send().await.unwrap();
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(cache_control(&r).as_deref(), Some("private, no-store"));
    assert!(r.headers().get_all("vary").iter().any(|v| v == "Cookie"));
    assert_eq!(r.text().await.unwrap(), r#"["apple"]"#);
    // The CSRF token page.
    let r = client.get(h.url("/token")).send().await.unwrap();
    assert_eq!(cache_control(&r).as_deref(), Some("private, no-store"));
    // The handler's own rule stands.
    let r = client.get(h.url("/cart-cached")).send().await.unwrap();
    assert_eq!(cache_control(&r).as_deref(), Some("private, max-age=60"));
    // A page that never touched the session says nothing.
    let r = client.get(h.url("/untouched")).send().await.unwrap();
    assert_eq!(cache_control(&r), None);
}

#[tokio::test]
async fn the_read_rule_is_configurable() {
    let h = start(Arc::new(MemoryStore::new()), |l| {
        l.with_read_cache_control(Some(HeaderValue::from_static("private, max-age=5")))
    })
    .await;
    let (client, _) = browser(&h.base);
    client.post(h.url("/add/pear")).send().await.unwrap();
    let r = client.get(h.url("/cart")).send().await.unwrap();
    assert_eq!(cache_control(&r).as_deref(), Some("private, max-age=5"));

    let h = start(Arc::new(MemoryStore::new()), |l| {
        l.with_read_cache_control(None)
    })
    .await;
    let (client, _) = browser(&h.base);
    let r = client.post(h.url("/add/fig")).send().await.unwrap();
    assert_eq!(
        cache_control(&r).as_deref(),
        Some("no-store"),
        "the cookie rule stays"
    );
    let r = client.get(h.url("/cart")).send().await.unwrap();
    assert_eq!(cache_control(&r), None);
}
