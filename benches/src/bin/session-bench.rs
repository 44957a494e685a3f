//! `session-bench`: drives virtual users against one or more session stores and each
//! store's raw client baseline, and prints throughput and latency with the store-to-raw
//! ratio.
//!
//! Run with:
//! ```text
//! cargo run --release -p session-benches --bin session-bench -- \
//!     --store memory,redis://127.0.0.1:6379 --concurrency 1,16,64 --duration 10s \
//!     --payload 200,4096 --mix read:90,write:10 --json out.json --plot out.svg
//! ```
//! `--store` takes URLs separated by `;` or `,` (a Redis Cluster is its node URLs joined
//! with `+`). A read loads a session and reads one key; a write is the typical request:
//! load, change one key, save (compare-and-swap). The raw baseline does the same I/O with
//! the backend's own client: GET / GET+SET PX, a select / select+update, a moka get /
//! get+insert. Latencies go into an HDR histogram per virtual user. `--plot out.svg` draws
//! `out.svg` (ops/s per backend, log axis) and `out-ratio.svg` (session ÷ raw);
//! `--replot out.json --plot out.svg` draws them again from a saved run.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use session_benches::{Sessions, open, payload, plot};

#[derive(Debug, Clone)]
struct Options {
    stores: Vec<String>,
    concurrency: Vec<usize>,
    duration: Duration,
    payloads: Vec<usize>,
    read_pct: u32,
    sessions: usize,
    json: Option<String>,
    plot: Option<String>,
    /// Run only this kind of cell (`raw` or `session`), for profiling one side at a time.
    only: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: session-bench --store URL[,URL...] [--concurrency 1,16,64] [--duration 10s] \
         [--payload 200,4096] [--mix read:90,write:10] [--sessions 1000] [--json FILE] [--plot FILE.svg] \
         [--only raw|session]\n       session-bench --replot FILE.json --plot FILE.svg"
    );
    std::process::exit(2)
}

fn parse_duration(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    let secs = s.strip_suffix('s').unwrap_or(s);
    secs.parse::<f64>().ok().map(Duration::from_secs_f64)
}

fn list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn parse_args() -> Options {
    let mut o = Options {
        stores: vec![],
        concurrency: vec![1, 16, 64],
        duration: Duration::from_secs(10),
        payloads: vec![200, 4096],
        read_pct: 90,
        sessions: 1000,
        json: None,
        plot: None,
        only: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_else(|| usage());
        match args[i].as_str() {
            "--store" => {
                o.stores = v
                    .split([',', ';'])
                    .map(|s| s.replace('+', ","))
                    .filter(|s| !s.is_empty())
                    .collect();
            }
            "--concurrency" => o.concurrency = list(&v),
            "--duration" => o.duration = parse_duration(&v).unwrap_or_else(|| usage()),
            "--payload" => o.payloads = list(&v),
            "--sessions" => o.sessions = v.parse().unwrap_or_else(|_| usage()),
            "--mix" => {
                for part in v.split(',') {
                    if let Some(r) = part.strip_prefix("read:") {
                        o.read_pct = r.parse().unwrap_or_else(|_| usage());
                    }
                }
            }
            "--json" => o.json = Some(v),
            "--plot" => o.plot = Some(v),
            "--only" if v == "raw" || v == "session" => o.only = Some(v),
            _ => usage(),
        }
        i += 2;
    }
    if o.stores.is_empty() || o.concurrency.is_empty() || o.payloads.is_empty() || o.read_pct > 100
    {
        usage();
    }
    o
}

#[derive(Debug, Clone, Serialize)]
struct Cell {
    store: String,
    kind: &'static str,
    concurrency: usize,
    payload: usize,
    ops: u64,
    ops_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    ratio_to_raw: Option<f64>,
}

impl Cell {
    /// A cell from what `run_cell` measured: `ops` operations in `elapsed`, their
    /// latencies in nanoseconds in an HDR histogram. The ratio is set by the caller.
    fn measured(
        store: &str,
        kind: &'static str,
        concurrency: usize,
        payload: usize,
        hist: &Histogram<u64>,
        elapsed: Duration,
    ) -> Self {
        let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        Self {
            store: store.to_owned(),
            kind,
            concurrency,
            payload,
            ops: hist.len(),
            ops_per_sec: hist.len() as f64 / elapsed.as_secs_f64(),
            p50_us: us(0.5),
            p99_us: us(0.99),
            p999_us: us(0.999),
            ratio_to_raw: None,
        }
    }
}

/// A latency histogram from 1 ns to 60 s at three significant digits: the percentiles of
/// millions of samples in a few kilobytes, instead of every sample kept and sorted.
fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 60_000_000_000, 3) {
        Ok(h) => h,
        Err(e) => panic!("histogram bounds: {e}"),
    }
}

/// A tiny xorshift: virtual users need cheap, independent random choices, not security.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

async fn run_cell<F, Fut>(
    label: &str,
    o: &Options,
    concurrency: usize,
    op: F,
) -> (Histogram<u64>, Duration)
where
    F: Fn(bool, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for vu in 0..concurrency {
        let (op, stop, done) = (op.clone(), stop.clone(), done.clone());
        let (read_pct, sessions, deadline) = (o.read_pct, o.sessions, start + o.duration);
        tasks.push(tokio::spawn(async move {
            let mut rng =
                Rng(0x9E37_79B9_7F4A_7C15 ^ (vu as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
            let mut lat = histogram();
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                // In-process stores never wait, so their futures never yield: let the
                // progress task and the other virtual users run now and then.
                n += 1;
                if n % 16 == 0 {
                    tokio::task::yield_now().await;
                }
                let read = (rng.next() % 100) < u64::from(read_pct);
                let i = (rng.next() % sessions as u64) as usize;
                let t = Instant::now();
                op(read, i).await;
                lat.saturating_record(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
                done.fetch_add(1, Ordering::Relaxed);
            }
            lat
        }));
    }
    let mut last = Instant::now();
    while start.elapsed() < o.duration {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if last.elapsed() >= Duration::from_millis(250) {
            last = Instant::now();
            let frac = (start.elapsed().as_secs_f64() / o.duration.as_secs_f64()).min(1.0);
            let bar = "#".repeat((frac * 30.0) as usize);
            eprint!(
                "\r{label:<44} [{bar:<30}] {:>9} ops",
                done.load(Ordering::Relaxed)
            );
            let _ = std::io::stderr().flush();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = histogram();
    for t in tasks {
        let h = t.await.expect("virtual user");
        all.add(&h).expect("histograms of the same bounds add");
    }
    let elapsed = start.elapsed();
    eprint!("\r{:<90}\r", "");
    (all, elapsed)
}

impl Cell {
    fn point(&self) -> plot::Point {
        plot::Point {
            store: self.store.clone(),
            kind: self.kind.to_owned(),
            concurrency: self.concurrency,
            payload: self.payload,
            ops_per_sec: self.ops_per_sec,
        }
    }
}

/// Writes the throughput chart to `path` and the ratio chart beside it (`-ratio.svg`).
fn draw(points: &[plot::Point], path: &str) {
    let ratio_path = match path.strip_suffix(".svg") {
        Some(stem) => format!("{stem}-ratio.svg"),
        None => format!("{path}-ratio.svg"),
    };
    for r in [
        plot::throughput(points, path),
        plot::ratio(points, &ratio_path),
    ] {
        if let Err(e) = r {
            eprintln!("session-bench: {e}");
            std::process::exit(1);
        }
    }
    eprintln!("session-bench: wrote {path} and {ratio_path}");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `--replot run.json --plot out.svg` draws the charts of an earlier run, measuring nothing.
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--replot") {
        let (Some(json), Some(out)) = (
            args.get(i + 1),
            args.iter()
                .position(|a| a == "--plot")
                .and_then(|j| args.get(j + 1)),
        ) else {
            usage();
        };
        let text = std::fs::read_to_string(json).unwrap_or_else(|e| panic!("read {json}: {e}"));
        let points: Vec<plot::Point> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {json}: {e}"));
        draw(&points, out);
        return;
    }
    let o = parse_args();
    let mut cells: Vec<Cell> = Vec::new();
    for url in &o.stores {
        let target = open(url).await;
        for &size in &o.payloads {
            let body = payload(size);
            let sessions = Arc::new(Sessions::create(&target.store, o.sessions, &body).await);
            target.raw.fill(o.sessions, &body).await;
            for &c in &o.concurrency {
                let mut raw_ops = None;
                if o.only.as_deref() != Some("session") {
                    // One shared handle per operation on each side, so that the
                    // harness's own reference counting weighs the same on both.
                    let ctx = Arc::new((target.raw.clone(), body.clone()));
                    let label = format!("{} raw c={c} p={size}", target.name);
                    let (lat, el) = run_cell(&label, &o, c, move |read, i| {
                        let ctx = ctx.clone();
                        async move {
                            let (raw, b) = &*ctx;
                            if read {
                                raw.read(i).await;
                            } else {
                                raw.write(i, b).await;
                            }
                        }
                    })
                    .await;
                    let cell = Cell::measured(&target.name, "raw", c, size, &lat, el);
                    raw_ops = Some(cell.ops_per_sec);
                    cells.push(cell);
                }
                if o.only.as_deref() == Some("raw") {
                    continue;
                }

                let ctx = Arc::new((target.store.clone(), sessions.clone(), body.clone()));
                let label = format!("{} session c={c} p={size}", target.name);
                let (lat, el) = run_cell(&label, &o, c, move |read, i| {
                    let ctx = ctx.clone();
                    async move {
                        let (store, s, b) = &*ctx;
                        if read {
                            s.read(store, i).await;
                        } else {
                            s.write(store, i, b).await;
                        }
                    }
                })
                .await;
                let mut cell = Cell::measured(&target.name, "session", c, size, &lat, el);
                cell.ratio_to_raw = raw_ops.map(|raw| cell.ops_per_sec / raw);
                cells.push(cell);
            }
        }
        target.raw.clean().await;
    }
    println!(
        "read:{} write:{}  duration {:?} per cell, {} sessions\n",
        o.read_pct,
        100 - o.read_pct,
        o.duration,
        o.sessions
    );
    println!(
        "| store | kind | conc | payload | ops/s | p50 µs | p99 µs | p99.9 µs | ratio to raw |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for c in &cells {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            c.store,
            c.kind,
            c.concurrency,
            c.payload,
            c.ops_per_sec,
            c.p50_us,
            c.p99_us,
            c.p999_us,
            c.ratio_to_raw
                .map(|r| format!("{r:.2}"))
                .unwrap_or_default()
        );
    }
    if let Some(path) = &o.json {
        std::fs::write(path, serde_json::to_string_pretty(&cells).expect("json"))
            .expect("write json");
    }
    if let Some(path) = &o.plot {
        let points: Vec<plot::Point> = cells.iter().map(Cell::point).collect();
        draw(&points, path);
    }
}
