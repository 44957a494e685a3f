//! lock-measure: the per-session lock and the read-modify-write call, per store.
//!
//! ```sh
//! cargo run --release -p session-benches --bin lock-measure -- \
//!   "memory;sqlite:///tmp/lock.db;postgres://postgres@127.0.0.1:5432/test;mysql://root@127.0.0.1:3306/test;redis://127.0.0.1:6379"
//! ```
//!
//! For each store (`;`-separated URLs, a Cluster as `redis://a+redis://b+…`):
//! 1. 16 contenders take one session's lock 25 times each (400 acquisitions): the most
//!    holders ever inside at once (must be 1), and the wait per acquisition, p50 and p99;
//! 2. the typical request (load, change a counter, save) with `update` against the same
//!    request with `get` + `insert`, 2 s each, interleaved over 3 rounds, at concurrency 1
//!    and 16 on distinct sessions: the ratio of their rates.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use session_benches::{Sessions, open, payload};
use session_core::{Session, SessionConfig, SessionStore};

async fn lock_round(store: &Arc<dyn SessionStore>, sessions: &Sessions) -> (usize, Vec<Duration>) {
    let config = Arc::new(
        SessionConfig::default()
            .with_lock_wait(Duration::from_secs(60))
            .with_lock_lease(Duration::from_secs(30)),
    );
    let id = sessions.id(0);
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (store, config, id) = (store.clone(), config.clone(), id.clone());
        let (inside, most) = (inside.clone(), most.clone());
        tasks.push(tokio::spawn(async move {
            let mut waits = Vec::new();
            for _ in 0..25 {
                let s = Session::new(store.clone(), config.clone(), Some(id.clone()));
                let t = Instant::now();
                s.lock().await.expect("lock");
                waits.push(t.elapsed());
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                let done: u64 = s.get("done").await.expect("get").unwrap_or(0);
                s.insert("done", &(done + 1)).expect("insert");
                inside.fetch_sub(1, Ordering::SeqCst);
                s.save().await.expect("save");
            }
            waits
        }));
    }
    let mut waits = Vec::new();
    for t in tasks {
        waits.extend(t.await.expect("task"));
    }
    waits.sort();
    (most.load(Ordering::SeqCst), waits)
}

async fn rate(
    sessions: &Arc<Sessions>,
    store: &Arc<dyn SessionStore>,
    c: usize,
    update: bool,
) -> f64 {
    let stop = Instant::now() + Duration::from_secs(2);
    let mut tasks = Vec::new();
    for w in 0..c {
        let (sessions, store) = (sessions.clone(), store.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < stop {
                // Distinct sessions per worker: the cost of the call, not of contention.
                let i = 1 + w + c * (n % 8);
                if update {
                    sessions.write_update(&store, i).await;
                } else {
                    sessions.write_insert(&store, i).await;
                }
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("task");
    }
    total as f64 / 2.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "memory".into());
    println!(
        "| store | most holders at once | lock wait p50 ms | p99 ms | update ÷ insert, c=1 | c=16 |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for url in arg.split(';') {
        let url = url.replace('+', ",");
        let target = open(&url).await;
        let sessions = Arc::new(Sessions::create(&target.store, 200, &payload(200)).await);
        let (most, waits) = lock_round(&target.store, &sessions).await;
        let pct = |p: f64| ms(waits[((waits.len() - 1) as f64 * p) as usize]);
        let mut ratios = Vec::new();
        for c in [1, 16] {
            let (mut u, mut i) = (0.0, 0.0);
            for _ in 0..3 {
                i += rate(&sessions, &target.store, c, false).await;
                u += rate(&sessions, &target.store, c, true).await;
            }
            ratios.push(u / i);
        }
        println!(
            "| {} | {most} | {:.1} | {:.1} | {:.2} | {:.2} |",
            target.name,
            pct(0.5),
            pct(0.99),
            ratios[0],
            ratios[1]
        );
        // Fill one raw entry so that clean has something to remove, then drop everything.
        target.raw.fill(1, &payload(16)).await;
        target.raw.clean().await;
    }
}
