//! Ours against tower-sessions 0.14 (memory, moka, Redis-on-fred and sqlx stores) and
//! actix-session 0.11 (Redis), side by side in one process, on the same servers, with
//! interleaved rounds, each as a ratio to the same backend's raw client (moka; GET+SET;
//! a select and an update by primary key in sqlx).
//!
//! Two workloads: `request` (load a session, change one key, save) and `create-delete`
//! (make a session holding the payload, then end it; memory and Redis only). Ours goes
//! through the `Session` handle exactly as an application drives it; the peers go through
//! their public store APIs, each turning the payload into its own data model (a
//! `serde_json::Value` for tower-sessions, a JSON string for actix-session).
//!
//! tower-sessions' sqlx store is on sqlx 0.8 and ours on 0.9, so the SQL rows also run a
//! raw sqlx 0.8 client on the same table shape; it is listed, never the best peer.
//!
//! Run with:
//! `cargo run --release -p session-benches --example peer-bench -- [--redis URL]
//!  [--postgres URL] [--mysql URL] [--sqlite URL]
//!  [--concurrency 1,16,64] [--payload 211,4096] [--duration 1s] [--rounds 3] [--sessions 1000]
//!  [--backend memory,redis,sqlite,postgres,mysql] [--workload request,create-delete]`
//!
//! Each cell is the median of the rounds; within a round every contender runs once, in
//! turn, so that a slow moment of the machine falls on all of them alike.

mod actix;
mod contender;
mod kv;
mod shape;
mod sql;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use session_benches::{Sessions, payload};
use session_core::{Bytes, SessionConfig, SessionId, SessionStore};

use actix::Actix;
use contender::{Contender, Ours, TowerSessions};
use kv::{RawMoka, RawRedis};

struct Options {
    redis: String,
    postgres: String,
    mysql: String,
    sqlite: String,
    concurrency: Vec<usize>,
    payloads: Vec<usize>,
    duration: Duration,
    rounds: usize,
    sessions: usize,
    backends: Vec<String>,
    workloads: Vec<String>,
}

fn parse_args() -> Options {
    let mut o = Options {
        redis: "redis://127.0.0.1:6379".to_owned(),
        postgres: "postgres://postgres@127.0.0.1:5432/test".to_owned(),
        mysql: "mysql://root@127.0.0.1:3306/test".to_owned(),
        sqlite: "sqlite:///tmp/peer-bench.db".to_owned(),
        concurrency: vec![1, 16, 64],
        payloads: vec![211, 4096],
        duration: Duration::from_secs(1),
        rounds: 3,
        sessions: 1000,
        backends: ["memory", "redis", "sqlite", "postgres", "mysql"]
            .map(str::to_owned)
            .to_vec(),
        workloads: vec!["request".to_owned(), "create-delete".to_owned()],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list = |v: &str| -> Vec<usize> {
        v.split(',')
            .map(|x| x.trim().parse().expect("a number"))
            .collect()
    };
    let words = |v: &str| -> Vec<String> { v.split(',').map(|x| x.trim().to_owned()).collect() };
    for pair in args.chunks(2) {
        let (flag, v) = (pair[0].as_str(), pair.get(1).map_or("", String::as_str));
        match flag {
            "--redis" => o.redis = v.to_owned(),
            "--postgres" => o.postgres = v.to_owned(),
            "--mysql" => o.mysql = v.to_owned(),
            "--sqlite" => o.sqlite = v.to_owned(),
            "--concurrency" => o.concurrency = list(v),
            "--payload" => o.payloads = list(v),
            "--duration" => {
                o.duration = Duration::from_secs_f64(
                    v.trim_end_matches('s')
                        .parse()
                        .expect("seconds, like 1s or 0.5s"),
                );
            }
            "--rounds" => o.rounds = v.parse().expect("a number"),
            "--sessions" => o.sessions = v.parse().expect("a number"),
            "--backend" => o.backends = words(v),
            "--workload" => o.workloads = words(v),
            _ => {
                eprintln!("peer-bench: unknown flag {flag} (see the file's header)");
                std::process::exit(2);
            }
        }
    }
    o
}

/// Operations per second of `op` run by `concurrency` tasks for `duration`.
async fn run_cell(
    contender: Arc<dyn Contender>,
    workload: &str,
    concurrency: usize,
    sessions: usize,
    duration: Duration,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let create = workload == "create-delete";
    let start = Instant::now();
    let mut tasks = Vec::new();
    for vu in 0..concurrency {
        let (c, stop, done) = (contender.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = vu.wrapping_mul(7919);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if create {
                    c.create_delete().await;
                } else {
                    c.request(i % sessions).await;
                }
                i = i.wrapping_add(104_729);
                n += 1;
                // In-process stores never wait: let the other users and the timer run.
                if n % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            done.fetch_add(n, Ordering::Relaxed);
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("virtual user");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn contenders(backend: &str, o: &Options, body: &Bytes) -> Vec<Arc<dyn Contender>> {
    let n = o.sessions;
    let config = Arc::new(SessionConfig::default());
    let prefix = format!(
        "peer{}",
        &SessionId::generate().expect("rng").store_key().hash_hex()[..8]
    );
    match backend {
        "memory" => {
            let ours: Arc<dyn SessionStore> = Arc::new(session_memory::MemoryStore::new());
            let cache = moka::sync::Cache::new(1_000_000);
            let keys: Vec<[u8; 34]> = (0..n)
                .map(|_| SessionId::generate().expect("rng").store_key().to_bytes())
                .collect();
            for k in &keys {
                cache.insert(*k, body.clone());
            }
            vec![
                Arc::new(RawMoka {
                    cache,
                    keys,
                    next: AtomicU64::new(0),
                    body: body.clone(),
                }),
                Arc::new(Ours {
                    name: "ours memory",
                    sessions: Sessions::create(&ours, n, body).await,
                    store: ours,
                    config,
                    body: body.clone(),
                }),
                Arc::new(
                    TowerSessions::new(
                        "ts memory",
                        tower_sessions::MemoryStore::default(),
                        n,
                        body,
                    )
                    .await,
                ),
                Arc::new(
                    TowerSessions::new(
                        "ts moka",
                        tower_sessions_moka_store::MokaStore::new(Some(1_000_000)),
                        n,
                        body,
                    )
                    .await,
                ),
            ]
        }
        "redis" => {
            let client = redis::Client::open(o.redis.as_str()).expect("redis url");
            let conn = redis::aio::ConnectionManager::new(client)
                .await
                .expect("connect to redis");
            let raw = RawRedis {
                conn,
                prefix: format!("{prefix}raw"),
                next: AtomicU64::new(0),
                body: body.clone(),
            };
            for i in 0..n {
                raw.request(i).await;
            }
            let ours: Arc<dyn SessionStore> = Arc::new(
                session_redis::RedisStore::builder()
                    .prefix(prefix.clone())
                    .connect(&o.redis)
                    .await
                    .expect("connect to redis"),
            );
            use tower_sessions_redis_store::fred::prelude::{ClientLike as _, Config, Pool};
            let pool = Pool::new(
                Config::from_url(&o.redis).expect("url"),
                None,
                None,
                None,
                6,
            )
            .expect("fred pool");
            let _connection = pool.connect();
            pool.wait_for_connect().await.expect("fred connects");
            let ts = TowerSessions::new(
                "ts redis",
                tower_sessions_redis_store::RedisStore::new(pool),
                n,
                body,
            )
            .await;
            let actix = Actix::new(&o.redis, n, body).await;
            vec![
                Arc::new(raw),
                Arc::new(Ours {
                    name: "ours redis",
                    sessions: Sessions::create(&ours, n, body).await,
                    store: ours,
                    config,
                    body: body.clone(),
                }),
                Arc::new(ts),
                Arc::new(actix),
            ]
        }
        "postgres" => sql::contenders(&o.postgres, n, body).await,
        "mysql" => sql::contenders(&o.mysql, n, body).await,
        "sqlite" => sql::contenders(&o.sqlite, n, body).await,
        other => {
            eprintln!(
                "peer-bench: unknown backend {other} (memory, redis, sqlite, postgres, mysql)"
            );
            std::process::exit(2);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let o = parse_args();
    println!(
        "| workload | backend | payload | c | raw ops/s | ours ops/s | best peer | best peer ops/s | ours ÷ raw | best peer ÷ raw | ours ÷ best peer | every peer ops/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
    for backend in &o.backends {
        for &size in &o.payloads {
            let body = payload(size);
            let all = contenders(backend, &o, &body).await;
            let in_process_or_redis = matches!(backend.as_str(), "memory" | "redis");
            for workload in &o.workloads {
                if workload == "create-delete" && !in_process_or_redis {
                    continue;
                }
                for &c in &o.concurrency {
                    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); all.len()];
                    for _ in 0..o.rounds {
                        for (k, contender) in all.iter().enumerate() {
                            runs[k].push(
                                run_cell(contender.clone(), workload, c, o.sessions, o.duration)
                                    .await,
                            );
                        }
                    }
                    let ops: Vec<f64> = runs.into_iter().map(median).collect();
                    let (raw, ours) = (ops[0], ops[1]);
                    let (best, best_ops) = all[2..]
                        .iter()
                        .zip(&ops[2..])
                        .filter(|(c, _)| c.is_peer())
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|(c, o)| (c.name(), *o))
                        .expect("peers");
                    let peers: Vec<String> = all[2..]
                        .iter()
                        .zip(&ops[2..])
                        .map(|(c, o)| format!("{} {o:.0}", c.name()))
                        .collect();
                    println!(
                        "| {workload} | {backend} | {size} | {c} | {raw:.0} | {ours:.0} | {best} | {best_ops:.0} | {:.2} | {:.2} | {:.2} | {} |",
                        ours / raw,
                        best_ops / raw,
                        ours / best_ops,
                        peers.join(", ")
                    );
                }
            }
            for contender in &all {
                contender.clean().await;
            }
        }
    }
}
