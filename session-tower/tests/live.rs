//! Live connections over real sockets: a WebSocket opened with the session cookie shows
//! the cart, saves on demand, is refused from another origin or without a session (and
//! then creates none), and closes when its session ends elsewhere: "log out everywhere"
//! from a second browser, on Redis (pub/sub), PostgreSQL (LISTEN/NOTIFY), MySQL and memory
//! (polling), and on expiry.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::{SinkExt as _, StreamExt as _};
use session_core::SessionStore;
use session_tower::{LiveSession, Session, SessionError, SessionLayer, SigningKeys};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

const COOKIE: &str = "__Host-id";

async fn login(
    session: Session,
    axum::extract::Path(user): axum::extract::Path<String>,
) -> Result<&'static str, SessionError> {
    session
        .update("cart", |c: &mut Vec<String>| c.push("apple".into()))
        .await?;
    session.login(&user).await?;
    Ok("ok")
}

async fn everywhere(session: Session) -> Result<String, SessionError> {
    Ok(session.revoke_all_devices().await?.to_string())
}

async fn cart(session: Session) -> Result<String, SessionError> {
    let cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
    Ok(cart.join(","))
}

/// The live page's socket: the cart at once, "add" adds a pear and saves, and a close
/// frame (4000, the reason) when the session ends elsewhere.
async fn socket(ws: WebSocketUpgrade, live: LiveSession) -> Response {
    ws.on_upgrade(move |mut socket| async move {
        let cart: Vec<String> = live.get("cart").await.ok().flatten().unwrap_or_default();
        if socket
            .send(Message::Text(cart.join(",").into()))
            .await
            .is_err()
        {
            return;
        }
        let ended = live.ended();
        tokio::pin!(ended);
        loop {
            tokio::select! {
                why = &mut ended => {
                    let frame = CloseFrame { code: 4000, reason: format!("{why:?}").into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Text(t))) if t.as_str() == "add" => {
                        let saved = async {
                            let c = live
                                .update("cart", |c: &mut Vec<String>| c.push("pear".into()))
                                .await?;
                            live.save().await?;
                            Ok::<_, SessionError>(c)
                        };
                        let reply = match saved.await {
                            Ok(c) => c.join(","),
                            Err(e) => format!("error: {:?}", e.kind()),
                        };
                        if socket.send(Message::Text(reply.into())).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                }
            }
        }
    })
}

fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/login/{user}", post(login))
        .route("/everywhere", post(everywhere))
        .route("/cart", get(cart))
        .route("/ws", get(socket))
        .layer(layer)
}

fn layer(store: impl SessionStore) -> SessionLayer {
    SessionLayer::new(store, SigningKeys::generate().unwrap())
        .with_live_poll(Duration::from_millis(100))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the socket with `cookie` (if any) and `origin`; the HTTP status on refusal.
async fn open(
    base: &str,
    cookie: Option<&str>,
    origin: &str,
) -> Result<Ws, http::Response<Option<Vec<u8>>>> {
    let mut req = format!("{}/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", format!("{COOKIE}={c}").parse().unwrap());
    }
    req.headers_mut().insert("origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => Err(*resp),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

async fn next_text(ws: &mut Ws) -> String {
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(tungstenite::Message::Text(t)))) => t.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Waits for the server's close frame; its reason and how long it took.
async fn close_reason(ws: &mut Ws, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    loop {
        match tokio::time::timeout(within, ws.next()).await {
            Ok(Some(Ok(tungstenite::Message::Close(Some(f))))) => {
                return (f.reason.to_string(), start.elapsed());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame within {within:?}, got {other:?}"),
        }
    }
}

/// Two browsers of one user; the first opens the live socket, the second logs out
/// everywhere, and the socket closes.
async fn closes_on_logout_everywhere(store: impl SessionStore, user: &str) -> Duration {
    let base = common::serve(app(layer(store))).await;
    let (a, jar_a) = common::browser(&base);
    let (b, _) = common::browser(&base);
    for c in [&a, &b] {
        let r = c.post(format!("{base}/login/{user}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let cookie = jar_a.get(COOKIE).expect("a session cookie");
    let mut ws = open(&base, Some(&cookie), &base).await.expect("handshake");
    assert_eq!(next_text(&mut ws).await, "apple");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = b.post(format!("{base}/everywhere")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "2", "both sessions revoked");
    let (reason, took) = close_reason(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(reason, "Removed");
    took
}

fn prefix() -> String {
    let h = session_core::SessionId::generate()
        .unwrap()
        .store_key()
        .hash_hex();
    format!("live{}", &h[..12])
}

#[tokio::test]
async fn closes_on_logout_everywhere_memory() {
    closes_on_logout_everywhere(session_memory::MemoryStore::new(), "ann").await;
}

#[tokio::test]
async fn closes_on_logout_everywhere_redis() {
    let url = test_support::url(test_support::Server::Redis);
    let store = session_redis::RedisStore::builder()
        .prefix(prefix())
        .connect(&url)
        .await
        .unwrap();
    closes_on_logout_everywhere(store, "bea").await;
}

#[tokio::test]
async fn closes_on_logout_everywhere_postgres() {
    let url = test_support::url(test_support::Server::Postgres);
    let store = session_sql::PgStore::connect(&url)
        .await
        .unwrap()
        .with_table(&prefix())
        .unwrap();
    store.migrate().await.unwrap();
    closes_on_logout_everywhere(store.clone(), "cat").await;
    drop_pg(&store).await;
}

async fn drop_pg(store: &session_sql::PgStore) {
    let t = store.table();
    for sql in [
        format!("DROP TABLE IF EXISTS {t}"),
        format!("DROP TABLE IF EXISTS {t}_schema"),
        format!("DROP FUNCTION IF EXISTS {t}_ended() CASCADE"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn closes_on_logout_everywhere_mysql() {
    let url = test_support::url(test_support::Server::Mysql);
    let store = session_sql::MySqlStore::connect(&url)
        .await
        .unwrap()
        .with_table(&prefix())
        .unwrap();
    store.migrate().await.unwrap();
    closes_on_logout_everywhere(store.clone(), "dan").await;
    let t = store.table();
    for sql in [
        format!("DROP TABLE IF EXISTS {t}"),
        format!("DROP TABLE IF EXISTS {t}_schema"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .unwrap();
    }
}

/// The socket saves on demand, and the next HTTP request sees what it saved.
#[tokio::test]
async fn a_socket_saves_on_demand() {
    let base = common::serve(app(layer(session_memory::MemoryStore::new()))).await;
    let (a, jar) = common::browser(&base);
    a.post(format!("{base}/login/eve")).send().await.unwrap();
    let mut ws = open(&base, Some(&jar.get(COOKIE).unwrap()), &base)
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, "apple");
    ws.send(tungstenite::Message::Text("add".into()))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, "apple,pear");
    let cart = a
        .get(format!("{base}/cart"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(cart, "apple,pear", "what the socket saved");
}

/// Another site's page cannot open the socket with the user's cookie (cross-site
/// WebSocket hijacking): 403 with the CSRF reason, and the handler never runs.
#[tokio::test]
async fn a_socket_from_another_origin_is_refused() {
    let base = common::serve(app(layer(session_memory::MemoryStore::new()))).await;
    let (a, jar) = common::browser(&base);
    a.post(format!("{base}/login/fay")).send().await.unwrap();
    let cookie = jar.get(COOKIE).unwrap();
    let refused = open(&base, Some(&cookie), "https://evil.example")
        .await
        .expect_err("refused");
    assert_eq!(refused.status(), 403);
    let body = String::from_utf8(refused.body().clone().unwrap_or_default()).unwrap();
    assert!(body.contains("origin_mismatch"), "{body}");
}

/// Without a session: 401, no cookie set, no session created.
#[tokio::test]
async fn a_socket_without_a_session_is_refused_and_creates_none() {
    let store = Arc::new(session_memory::MemoryStore::new());
    let base = common::serve(app(layer(store.clone()))).await;
    for cookie in [None, Some("not-a-signed-id")] {
        let refused = open(&base, cookie, &base).await.expect_err("refused");
        assert_eq!(refused.status(), 401, "{cookie:?}");
        assert!(refused.headers().get("set-cookie").is_none(), "{cookie:?}");
    }
    assert_eq!(store.entry_count(), 0, "a refused socket created a session");
}

/// A session that runs out closes its socket, saying so.
#[tokio::test]
async fn a_socket_closes_when_its_session_expires() {
    let layer = layer(session_memory::MemoryStore::new())
        .with_idle_timeout(Duration::from_secs(1))
        .with_absolute_timeout(Duration::from_secs(60))
        .with_touch_after(Duration::from_millis(500));
    let base = common::serve(app(layer)).await;
    let (a, jar) = common::browser(&base);
    a.post(format!("{base}/login/gus")).send().await.unwrap();
    let mut ws = open(&base, Some(&jar.get(COOKIE).unwrap()), &base)
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await, "apple");
    let (reason, _) = close_reason(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(reason, "Expired");
}
