//! The HTTP layer's per-request cost, one request at a time on one thread, for
//! instruction counts under callgrind (see `prof.rs` for the method):
//!
//! ```sh
//! valgrind --tool=callgrind ./target/release/examples/prof_http untouched 20000
//! ```
//!
//! Routes: `plain` (no session layer), `noop` (a layer that does nothing), `handed` (a
//! layer that only hands each request a value of its own), `untouched` (layer, handler
//! ignores the session), `read` (handler reads one key), `peer-untouched` (tower-sessions'
//! layer, handler ignores the session). Each request carries a valid session cookie.

#![allow(missing_docs)]

use axum::body::Body;
use http::Request;
use session_benches::http::Apps;
use tower::ServiceExt as _;

fn main() {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let mut args = std::env::args().skip(1);
    let route = args.next().unwrap_or_else(|| "untouched".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let apps = Apps::new().await;
        let app = match route.as_str() {
            "plain" => apps.plain,
            "noop" => apps.noop,
            "handed" => apps.handed,
            "peer-untouched" => apps.peer_untouched,
            "untouched" => apps.untouched,
            "read" => apps.read,
            other => panic!("unknown route {other}"),
        }
        // As `axum::serve` does once per connection: a router not given its state turns
        // its handlers into routes (applying every layer again) on each call.
        .with_state(());
        for _ in 0..n {
            let req = Request::get("/")
                .header("cookie", &apps.cookie)
                .body(Body::empty())
                .expect("request");
            let _ = app.clone().oneshot(req).await.expect("response");
        }
    });
}
