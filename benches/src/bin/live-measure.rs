//! live-measure: how long after "log out everywhere" a live WebSocket on that session is
//! closed, per store, over real HTTP and WebSocket connections on loopback.
//!
//! ```sh
//! cargo run --release -p session-benches --bin live-measure -- \
//!   "memory;sqlite:///tmp/live.db;mysql://root@127.0.0.1:3306/test;postgres://postgres@127.0.0.1:5432/test;redis://127.0.0.1:6379"
//! ```
//!
//! For each store (`;`-separated URLs, a Cluster as comma-separated nodes) and each of
//! `TRIALS` trials: browser A logs in as a fresh user and opens the socket (which sends
//! a greeting); browser B logs in as the same user; after 300 ms plus a spread over one
//! poll period (so polling is measured at every phase), the clock starts as B sends `POST
//! /everywhere` and stops when A's socket receives the server's close frame. The app
//! polls every 250 ms on stores that cannot push (the demo's setting); Redis and
//! PostgreSQL push. Prints p50, p90 and max per store.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::StreamExt as _;
use session_tower::{LiveSession, Session, SessionError, SessionLayer, SigningKeys};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

const TRIALS: usize = 25;
const POLL: Duration = Duration::from_millis(250);

async fn login(
    session: Session,
    axum::extract::Path(user): axum::extract::Path<String>,
) -> Result<&'static str, SessionError> {
    session.insert("cart", &vec!["apple"])?;
    session.login(&user).await?;
    Ok("ok")
}

async fn everywhere(session: Session) -> Result<String, SessionError> {
    Ok(session.revoke_all_devices().await?.to_string())
}

async fn socket(ws: WebSocketUpgrade, live: LiveSession) -> Response {
    ws.on_upgrade(move |mut socket| async move {
        if socket.send(Message::Text("hello".into())).await.is_err() {
            return;
        }
        tokio::select! {
            why = live.ended() => {
                let frame = CloseFrame { code: 4000, reason: format!("{why:?}").into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
            }
            _ = async { while let Some(Ok(_)) = socket.recv().await {} } => {}
        }
    })
}

/// Logs in as `user`; the session cookie's value.
async fn log_in(http: &reqwest::Client, base: &str, user: &str) -> String {
    let r = http
        .post(format!("{base}/login/{user}"))
        .header("origin", base)
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success(), "login: {}", r.status());
    let set = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    let pair = set.split(';').next().unwrap_or_default();
    pair.split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

async fn trial(http: &reqwest::Client, base: &str, user: &str, i: usize) -> Duration {
    let a = log_in(http, base, user).await;
    let mut req = format!("{}/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .expect("request");
    let h = req.headers_mut();
    h.insert("cookie", format!("__Host-id={a}").parse().expect("cookie"));
    h.insert("origin", base.parse().expect("origin"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("socket");
    match ws.next().await {
        Some(Ok(tungstenite::Message::Text(_))) => {}
        other => panic!("no greeting: {other:?}"),
    }
    let b = log_in(http, base, user).await;
    // A live page stays open for a while before anyone logs out; how long is spread over
    // one poll period (i * 97 mod 250 ms), so that polling stores are not measured at one
    // phase of their period only.
    let spread = (i as u64 * 97) % POLL.as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(300 + spread)).await;
    let start = Instant::now();
    let r = http
        .post(format!("{base}/everywhere"))
        .header("origin", base)
        .header("cookie", format!("__Host-id={b}"))
        .send()
        .await
        .expect("log out everywhere");
    assert_eq!(r.text().await.expect("body"), "2", "both sessions revoked");
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(tungstenite::Message::Close(_)))) => return start.elapsed(),
            Ok(Some(Ok(_))) => {}
            other => panic!("no close frame within 10 s: {other:?}"),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let urls = std::env::args().nth(1).unwrap_or_else(|| "memory".into());
    println!("| store | mechanism | trials | p50 ms | p90 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for url in urls.split(';').filter(|u| !u.is_empty()) {
        let target = session_benches::open(url).await;
        let pushes = target
            .store
            .watch_end(
                &session_core::SessionId::generate()
                    .expect("rng")
                    .store_key(),
            )
            .await
            .expect("watch")
            .is_some();
        let layer =
            SessionLayer::from_shared(target.store.clone(), SigningKeys::generate().expect("keys"))
                .with_live_poll(POLL);
        let app = Router::new()
            .route("/login/{user}", post(login))
            .route("/everywhere", post(everywhere))
            .route("/ws", get(socket))
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let mut took = Vec::new();
        for i in 0..TRIALS {
            took.push(trial(&http, &base, &format!("u{i}-{}", std::process::id()), i).await);
        }
        server.abort();
        took.sort();
        let at = |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize];
        let mechanism = if pushes {
            "pushed notice".to_owned()
        } else {
            format!("poll every {} ms", POLL.as_millis())
        };
        println!(
            "| {} | {mechanism} | {} | {:.1} | {:.1} | {:.1} |",
            target.name,
            took.len(),
            ms(at(0.5)),
            ms(at(0.9)),
            ms(at(1.0)),
        );
    }
}
