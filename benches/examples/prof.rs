//! One operation in a loop on one thread, for instruction counts under callgrind:
//!
//! ```sh
//! cargo build --release -p session-benches --example prof
//! URL=redis://127.0.0.1:6379 valgrind --tool=callgrind ./target/release/examples/prof read 20000
//! URL=redis://127.0.0.1:6379 valgrind --tool=callgrind ./target/release/examples/prof read 0
//! ```
//!
//! The second run counts the setup (sessions created, raw entries filled); subtract it and
//! divide by the iterations for instructions per operation. Operations: `read`, `write`
//! (the typical request), `create-delete` (a new session holding the payload, then its
//! end, as `peer-bench` does), `raw-read`, `raw-write`, and on Redis `actix-write` and
//! `actix-create-delete` (actix-session's Redis store doing the same, as `peer-bench`
//! drives it: the client's count for the best peer). `URL` defaults to `memory`. A tracing
//! subscriber at `info` is installed, as in a deployed service, so disabled `debug` spans
//! cost what they cost there.

#![allow(missing_docs)]

use std::sync::Arc;

use session_benches::{Sessions, open, payload};

#[path = "peer-bench/actix.rs"]
mod actix;
use actix::Actix;

/// Sessions, and raw entries beside them.
const ENTRIES: usize = 1000;

fn main() {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_else(|| "read".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let url = std::env::var("URL").unwrap_or_else(|_| "memory".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = open(&url).await;
        let body = payload(200);
        let s = Arc::new(Sessions::create(&t.store, ENTRIES, &body).await);
        let config = Arc::new(session_core::SessionConfig::default());
        t.raw.fill(ENTRIES, &body).await;
        let actix = if op.starts_with("actix") {
            Some(Actix::new(&url, ENTRIES, &body).await)
        } else {
            None
        };
        for i in 0..n {
            match op.as_str() {
                // Wrap as `Sessions` does: a SQL raw read of a missing row would fail.
                "raw-read" => drop(t.raw.read(i % ENTRIES).await),
                "raw-write" => t.raw.write(i % ENTRIES, &body).await,
                "write" => s.write(&t.store, i, &body).await,
                "read" => drop(s.read(&t.store, i).await),
                "create-delete" => {
                    let h = session_core::Session::new(t.store.clone(), config.clone(), None);
                    h.insert_raw("cart", body.clone()).expect("insert");
                    h.save().await.expect("create");
                    h.destroy().await.expect("delete");
                }
                "actix-write" => actix.as_ref().expect("actix").request(i).await,
                "actix-create-delete" => actix.as_ref().expect("actix").create_delete().await,
                other => panic!("unknown operation {other}"),
            }
        }
        t.raw.clean().await;
    });
}
