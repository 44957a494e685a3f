//! A shop's form page and the requests tests send it in-process (`oneshot`), for the tests
//! of what the layer reports: events and metrics.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use session_tower::{Session, SessionError};
use tower::ServiceExt as _;

/// `GET /form`: makes a session (a cart), which then shows a CSRF token; the body is it.
pub(crate) async fn form(session: Session) -> Result<String, SessionError> {
    session.insert("cart", &["apple"])?;
    session.save().await?;
    Ok(session.csrf_token().await?.unwrap_or_default())
}

/// `GET path` on shop.example, with `cookie` if given.
pub(crate) fn get_req(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b =
        Request::get(format!("http://shop.example{path}")).header(header::HOST, "shop.example");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

/// `POST /submit` from `origin` with `cookie`, and the CSRF token header if given.
pub(crate) fn post_req(cookie: &str, origin: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::post("http://shop.example/submit")
        .header(header::HOST, "shop.example")
        .header(header::ORIGIN, origin)
        .header(header::COOKIE, cookie);
    if let Some(t) = token {
        b = b.header("x-csrf-token", t);
    }
    b.body(Body::empty()).unwrap()
}

/// `GET /form` on `app`: the new session's cookie (`name=value`) and its CSRF token.
pub(crate) async fn session_with_token(app: &Router) -> (String, String) {
    let r = app.clone().oneshot(get_req("/form", None)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
    (cookie, String::from_utf8(body.to_vec()).unwrap())
}

/// The CSRF refusals a session with a token can meet: (origin, token sent, reason).
pub(crate) fn csrf_refusals(token: &str) -> [(&'static str, Option<&str>, &'static str); 3] {
    [
        ("https://evil.example", Some(token), "origin_mismatch"),
        ("http://shop.example", None, "missing_token"),
        ("http://shop.example", Some("forged"), "invalid_token"),
    ]
}
