//! CSRF with no configuration, in a real browser: an app that sets up the session layer
//! with nothing but a store and keys accepts its own plain HTML form (with and without a
//! token shown), and refuses the same form posted from another site, in headless Chromium.

mod common;

use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};
use common::chrome::{body_text, browser, serve, start_chromedriver, wait_path};
use fantoccini::{Client, Locator};
use session_memory::MemoryStore;
use session_tower::{Session, SessionLayer, SigningKeys};

/// The app: a page with two forms (one with the session's CSRF token, one without), and
/// the route they post to, which stores the note.
fn app() -> Router {
    let layer = SessionLayer::new(MemoryStore::new(), SigningKeys::generate().unwrap());
    Router::new()
        .route("/", get(page))
        .route("/note", post(note))
        .layer(layer)
}

async fn page(session: Session) -> Html<String> {
    let note: Option<String> = session.get("note").await.unwrap();
    let token = if session.exists().await.unwrap() {
        session.csrf_token().await.unwrap()
    } else {
        None
    };
    let hidden = token
        .map(|t| format!(r#"<input type="hidden" name="csrf_token" value="{t}">"#))
        .unwrap_or_default();
    Html(format!(
        r#"<p id="note">{}</p>
<form method="post" action="/note"><input name="note" id="text">{hidden}<button id="go">Save</button></form>"#,
        note.unwrap_or_default()
    ))
}

async fn note(
    session: Session,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> Html<String> {
    session.insert("note", &form["note"]).unwrap();
    Html(r#"<p id="saved">saved</p>"#.to_owned())
}

/// Types `text` into the page's form, submits it, and waits (up to 10 s) until the
/// browser shows the response of `/note`.
async fn submit(c: &Client, text: &str) {
    c.find(Locator::Css("#text"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    c.find(Locator::Css("#go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, "/note").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_form_passes_and_cross_site_fails() {
    let port = serve(app()).await;
    // The attacker's page, on another site (127.0.0.1 is not localhost's site).
    let evil = Router::new().route(
        "/",
        get(move || async move {
            Html(format!(
                r#"<form method="post" action="http://localhost:{port}/note"><input name="note" id="text"><button id="go">Win</button></form>"#
            ))
        }),
    );
    let evil_port = serve(evil).await;
    let (_driver, driver_port) = start_chromedriver();
    let profile = std::env::temp_dir().join(format!("zero-csrf-{}", std::process::id()));
    let c = browser(driver_port, &profile).await;
    let home = format!("http://localhost:{port}/");

    // No session yet: the form has no token, and the origin checks alone let it in.
    c.goto(&home).await.unwrap();
    submit(&c, "first").await;
    assert_eq!(
        body_text(&c).await,
        "saved",
        "a same-origin form with no token"
    );

    // Now the session exists and the page shows a token: the form carries it.
    c.goto(&home).await.unwrap();
    assert_eq!(body_text(&c).await.lines().next(), Some("first"));
    submit(&c, "second").await;
    assert_eq!(
        body_text(&c).await,
        "saved",
        "a same-origin form with its token"
    );

    // The same form from another site is refused before the handler runs.
    c.goto(&format!("http://127.0.0.1:{evil_port}/"))
        .await
        .unwrap();
    submit(&c, "evil").await;
    let refused = body_text(&c).await;
    assert!(
        refused.contains("cross_site_request"),
        "a cross-site form: {refused}"
    );
    c.goto(&home).await.unwrap();
    assert_eq!(
        body_text(&c).await.lines().next(),
        Some("second"),
        "the cross-site post changed the note"
    );
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}
