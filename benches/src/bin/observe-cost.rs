//! What metrics and traces cost on session-bench's typical request (load a session, change
//! one key, save) on the memory store, where the store itself costs least and the
//! overhead shows most. One mode per process, since a recorder or a subscriber, once
//! installed, stays for the process:
//!
//! - `none`: no metrics recorder and no tracing subscriber (the facades' no-op paths);
//! - `prometheus`: `metrics-exporter-prometheus`'s recorder installed;
//! - `tracing-info`: a `fmt` subscriber at INFO, writing to a sink (store spans are DEBUG,
//!   so they stay disabled: a typical production setting);
//! - `tracing-debug`: the same at DEBUG: every store span is built and recorded;
//! - `both`: the recorder and the DEBUG subscriber.
//!
//! Run with:
//! `cargo run --release -p session-benches --bin observe-cost -- MODE [requests]`
//! and compare modes run alternately; `scripts/observe-cost.sh` does that, and counts
//! instructions per request with callgrind.

use std::sync::Arc;
use std::time::Instant;

use session_benches::Sessions;
use session_core::SessionStore;

fn install(mode: &str) {
    let prometheus = || {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::set_global_recorder(recorder).expect("one recorder");
        session_core::metric::describe();
    };
    let subscriber = |level: tracing::Level| {
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::sink)
            .init();
    };
    match mode {
        "none" => {}
        "prometheus" => prometheus(),
        "tracing-info" => subscriber(tracing::Level::INFO),
        "tracing-debug" => subscriber(tracing::Level::DEBUG),
        "both" => {
            prometheus();
            subscriber(tracing::Level::DEBUG);
        }
        other => {
            eprintln!(
                "observe-cost: unknown mode {other:?} (none, prometheus, tracing-info, tracing-debug, both)"
            );
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("none", String::as_str);
    let requests: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    install(mode);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store: Arc<dyn SessionStore> = Arc::new(session_memory::MemoryStore::new());
        let payload = bytes::Bytes::from(vec![b'x'; 200]);
        let sessions = Sessions::create(&store, 1000, &payload).await;
        let started = Instant::now();
        for i in 0..requests {
            sessions.write(&store, i % sessions.len(), &payload).await;
        }
        let elapsed = started.elapsed();
        println!(
            "{mode}: {requests} requests, {:.0} ns per request",
            elapsed.as_nanos() as f64 / requests.max(1) as f64
        );
    });
}
