//! Retiring a signing key without logging anyone out: a cookie signed by an older key of
//! the ring is re-signed with the newest on the next response of a live session, so once
//! every active user has been by, the older key can go.

mod common;

use std::sync::Arc;

use common::{AppState, app, bare};
use session_core::SessionStore;
use session_memory::MemoryStore;
use session_tower::{SessionLayer, SigningKeys};

async fn serve(store: Arc<dyn SessionStore>, keys: SigningKeys) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let layer = SessionLayer::from_shared(store, keys)
        .with_trusted_origins([base.as_str()])
        .unwrap();
    let router = app(layer, AppState::default());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

fn cookie_value(r: &reqwest::Response) -> Option<String> {
    let v = r.headers().get("set-cookie")?.to_str().ok()?;
    let pair = v.split(';').next()?;
    Some(pair.split_once('=')?.1.to_owned())
}

async fn cart(base: &str, cookie: &str) -> (String, Option<String>) {
    let r = bare()
        .get(format!("{base}/cart"))
        .header("cookie", format!("__Host-id={cookie}"))
        .send()
        .await
        .unwrap();
    let set = cookie_value(&r);
    (r.text().await.unwrap(), set)
}

#[tokio::test]
async fn an_older_keys_cookie_is_re_signed_with_the_newest() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let before = serve(store.clone(), SigningKeys::new(&[old]).unwrap()).await;
    let r = bare()
        .post(format!("{before}/add/apple"))
        .header("origin", &before)
        .send()
        .await
        .unwrap();
    let old_cookie = cookie_value(&r).expect("a cookie for the new session");

    // The ring now signs with the new key and still accepts the old one.
    let during = serve(store.clone(), SigningKeys::new(&[new, old]).unwrap()).await;
    let (body, resigned) = cart(&during, &old_cookie).await;
    assert_eq!(body, r#"["apple"]"#);
    let resigned = resigned.expect("the old key's cookie is re-signed");
    assert_ne!(resigned, old_cookie);
    let only_new = SigningKeys::new(&[new]).unwrap();
    assert_eq!(
        only_new.verify(&resigned),
        SigningKeys::new(&[old]).unwrap().verify(&old_cookie)
    );
    // The newest key's cookie is left alone.
    let (body, again) = cart(&during, &resigned).await;
    assert_eq!(body, r#"["apple"]"#);
    assert_eq!(again, None, "a current cookie is not re-issued");

    // The old key retired: the re-signed cookie still opens the session.
    let after = serve(store.clone(), only_new).await;
    assert_eq!(cart(&after, &resigned).await.0, r#"["apple"]"#);
    assert_eq!(
        cart(&after, &old_cookie).await.0,
        "[]",
        "the old key is gone"
    );

    // A dead session's old-key cookie is not re-signed into anything.
    let dead = SigningKeys::new(&[old])
        .unwrap()
        .sign(&session_core::SessionId::generate().unwrap());
    let (body, set) = cart(&during, &dead).await;
    assert_eq!(body, "[]");
    assert_eq!(set, None);
}
