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
//! get+insert.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use session_benches::{Sessions, open, payload};

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
         [--only raw|session]"
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
    /// latencies sorted in nanoseconds. The ratio is set by the caller.
    fn measured(
        store: &str,
        kind: &'static str,
        concurrency: usize,
        payload: usize,
        ops: u64,
        sorted: &[u32],
        elapsed: Duration,
    ) -> Self {
        Self {
            store: store.to_owned(),
            kind,
            concurrency,
            payload,
            ops,
            ops_per_sec: ops as f64 / elapsed.as_secs_f64(),
            p50_us: pct(sorted, 0.5),
            p99_us: pct(sorted, 0.99),
            p999_us: pct(sorted, 0.999),
            ratio_to_raw: None,
        }
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

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    f64::from(sorted[((sorted.len() - 1) as f64 * p).round() as usize]) / 1000.0
}

async fn run_cell<F, Fut>(
    label: &str,
    o: &Options,
    concurrency: usize,
    op: F,
) -> (u64, Vec<u32>, Duration)
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
            let mut lat = Vec::with_capacity(1 << 16);
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
                lat.push(u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX));
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
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("virtual user"));
    }
    let elapsed = start.elapsed();
    eprint!("\r{:<90}\r", "");
    all.sort_unstable();
    (all.len() as u64, all, elapsed)
}

fn svg(cells: &[Cell], path: &str) {
    let (w, h, m) = (760.0, 420.0, 60.0);
    let max_ops = cells.iter().map(|c| c.ops_per_sec).fold(1.0, f64::max);
    let conc: Vec<usize> = {
        let mut v: Vec<usize> = cells.iter().map(|c| c.concurrency).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let x = |c: usize| {
        let i = conc.iter().position(|&v| v == c).unwrap_or(0) as f64;
        m + i * (w - 2.0 * m) / ((conc.len().max(2) - 1) as f64)
    };
    let y = |ops: f64| h - m - ops / max_ops * (h - 2.0 * m);
    let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ];
    let mut series: Vec<(String, Vec<&Cell>)> = Vec::new();
    for c in cells {
        let key = format!("{} {} {}B", c.store, c.kind, c.payload);
        match series.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(c),
            None => series.push((key, vec![c])),
        }
    }
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{m}" y="24" font-size="15">Throughput (ops/s) against concurrency</text>
<line x1="{m}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/><line x1="{m}" y1="{m}" x2="{m}" y2="{b}" stroke="black"/>
<text x="{m}" y="{t}" text-anchor="middle">0</text><text x="8" y="{m}">{max_ops:.0}</text>
"#,
        b = h - m,
        r = w - m,
        t = h - m + 16.0
    );
    for c in &conc {
        out.push_str(&format!(
            r#"<text x="{}" y="{}" text-anchor="middle">{c}</text>"#,
            x(*c),
            h - m + 16.0
        ));
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        let dash = if name.contains(" raw ") {
            r#" stroke-dasharray="5,4""#
        } else {
            ""
        };
        let path_d: Vec<String> = pts
            .iter()
            .map(|c| format!("{:.1},{:.1}", x(c.concurrency), y(c.ops_per_sec)))
            .collect();
        out.push_str(&format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{}"/>"#,
            path_d.join(" ")
        ));
        out.push_str(&format!(
            r#"<text x="{}" y="{}" fill="{color}">{name}</text>"#,
            w - m - 150.0,
            m + 14.0 * i as f64
        ));
    }
    out.push_str("</svg>\n");
    std::fs::write(path, out).expect("write plot");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
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
                    let (ops, lat, el) = run_cell(&label, &o, c, move |read, i| {
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
                    let cell = Cell::measured(&target.name, "raw", c, size, ops, &lat, el);
                    raw_ops = Some(cell.ops_per_sec);
                    cells.push(cell);
                }
                if o.only.as_deref() == Some("raw") {
                    continue;
                }

                let ctx = Arc::new((target.store.clone(), sessions.clone(), body.clone()));
                let label = format!("{} session c={c} p={size}", target.name);
                let (ops, lat, el) = run_cell(&label, &o, c, move |read, i| {
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
                let mut cell = Cell::measured(&target.name, "session", c, size, ops, &lat, el);
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
        svg(&cells, path);
    }
}
