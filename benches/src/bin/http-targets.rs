//! Serves the same handler six ways for a load generator (wrk, or any HTTP client):
//! without sessions (port P), behind the session layer without touching the session (P+1),
//! reading the session (P+2), behind a layer that does nothing (P+3: the floor any tower
//! middleware pays), behind a layer that only hands each request a value of its own
//! (P+4: the floor any session layer pays) and behind tower-sessions' layer untouched
//! (P+5). Sessions are in memory; a session cookie is printed for requests that should
//! carry one.
//!
//! Run with `cargo run --release -p session-benches --bin http-targets -- 4000`, then for
//! example `wrk -c64 -t2 -d10s -H "cookie: <printed>" http://127.0.0.1:4001/`.

use session_benches::http::Apps;

#[tokio::main]
async fn main() {
    let base: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(4000);
    let apps = Apps::new().await;
    println!("cookie: {}", apps.cookie);
    let routers = [
        apps.plain,
        apps.untouched,
        apps.read,
        apps.noop,
        apps.handed,
        apps.peer_untouched,
    ];
    let mut tasks = Vec::new();
    for (i, app) in routers.into_iter().enumerate() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", base + i as u16))
            .await
            .expect("bind");
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve")
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
