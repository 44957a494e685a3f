//! The HTTP layer's cost: an axum handler without sessions, behind a layer that does
//! nothing (the floor any tower middleware pays), the same handler behind the
//! session layer without touching the session, and one that reads its session (memory
//! store). Requests go through the router in process (`oneshot`), so the figures are the
//! layer's own cost, not the network's.
//!
//! Run with `cargo bench -p session-benches --bench http`.

#![allow(missing_docs)]

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use session_benches::http::Apps;
use tower::ServiceExt as _;

fn http(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let apps = rt.block_on(Apps::new());
    let (without, noop, untouched, read, cookie) = (
        apps.plain,
        apps.noop,
        apps.untouched,
        apps.read,
        apps.cookie,
    );

    let mut g = c.benchmark_group("http");
    for (name, app) in [
        ("handler without sessions", without),
        ("handler behind a layer that does nothing", noop),
        ("session layer, untouched", untouched),
        ("session layer, session read", read),
    ] {
        let cookie = cookie.clone();
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let app = app.clone();
                let req = Request::get("/")
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .expect("request");
                async move { app.oneshot(req).await.expect("response") }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
