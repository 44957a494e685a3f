//! Ours against tower-sessions 0.14 (memory, moka and Redis-on-fred stores) and
//! actix-session 0.11 (Redis), side by side in one process, on the same Redis, with
//! interleaved rounds, each as a ratio to the same backend's raw client (moka; GET+SET).
//!
//! Two workloads: `request` (load a session, change one key, save) and `create-delete`
//! (make a session holding the payload, then end it). Ours goes through the `Session`
//! handle exactly as an application drives it; the peers go through their public store
//! APIs, each turning the payload into its own data model (a `serde_json::Value` for
//! tower-sessions, a JSON string for actix-session).
//!
//! Run with:
//! `cargo run --release -p session-benches --example peer-bench -- [--redis URL]
//!  [--concurrency 1,16,64] [--payload 211,4096] [--duration 1s] [--rounds 3] [--sessions 1000]
//!  [--backend memory,redis] [--workload request,create-delete]`
//!
//! Each cell is the median of the rounds; within a round every contender runs once, in
//! turn, so that a slow moment of the machine falls on all of them alike.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_session::storage::{SessionKey, SessionStore as _};
use session_benches::{Sessions, payload};
use session_core::{Bytes, Session, SessionConfig, SessionId, SessionStore, async_trait};
use tower_sessions::session::{Id, Record};

/// One side of the comparison, prepared with its sessions.
#[async_trait]
trait Contender: Send + Sync {
    fn name(&self) -> &'static str;
    /// Load session `i`, change one key, save.
    async fn request(&self, i: usize);
    /// Make a session holding the payload, then end it.
    async fn create_delete(&self);
}

struct Ours {
    name: &'static str,
    store: Arc<dyn SessionStore>,
    sessions: Sessions,
    config: Arc<SessionConfig>,
    body: Bytes,
}

#[async_trait]
impl Contender for Ours {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn request(&self, i: usize) {
        self.sessions.write(&self.store, i, &self.body).await;
    }
    async fn create_delete(&self) {
        let s = Session::new(self.store.clone(), self.config.clone(), None);
        s.insert_raw("cart", self.body.clone()).expect("insert");
        s.save().await.expect("create");
        s.destroy().await.expect("delete");
    }
}

struct RawMoka {
    cache: moka::sync::Cache<[u8; 34], Bytes>,
    keys: Vec<[u8; 34]>,
    next: AtomicU64,
    body: Bytes,
}

#[async_trait]
impl Contender for RawMoka {
    fn name(&self) -> &'static str {
        "raw moka"
    }
    async fn request(&self, i: usize) {
        let k = self.keys[i % self.keys.len()];
        let _ = self.cache.get(&k);
        self.cache.insert(k, self.body.clone());
    }
    async fn create_delete(&self) {
        let mut k = [0u8; 34];
        k[..8].copy_from_slice(&self.next.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        self.cache.insert(k, self.body.clone());
        self.cache.invalidate(&k);
    }
}

struct RawRedis {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    next: AtomicU64,
    body: Bytes,
}

#[async_trait]
impl Contender for RawRedis {
    fn name(&self) -> &'static str {
        "raw redis"
    }
    async fn request(&self, i: usize) {
        let key = format!("{}:{}", self.prefix, i % 1_000_000);
        let mut c = self.conn.clone();
        let _: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut c)
            .await
            .expect("GET");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(self.body.as_ref())
            .arg("PX")
            .arg(3_600_000)
            .query_async(&mut c)
            .await
            .expect("SET");
    }
    async fn create_delete(&self) {
        let key = format!(
            "{}:n{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg(self.body.as_ref())
            .arg("PX")
            .arg(3_600_000)
            .query_async(&mut c)
            .await
            .expect("SET");
        let _: i64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut c)
            .await
            .expect("DEL");
    }
}

/// A tower-sessions store: records of `{"cart": <payload as a JSON value>}`.
struct TowerSessions<S> {
    name: &'static str,
    store: S,
    ids: Vec<Id>,
    value: serde_json::Value,
}

fn expiry() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::hours(1)
}

impl<S: tower_sessions::SessionStore> TowerSessions<S> {
    async fn new(name: &'static str, store: S, n: usize, body: &Bytes) -> Self {
        let value: serde_json::Value = serde_json::from_slice(body).expect("a JSON payload");
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let mut r = Record {
                id: Id::default(),
                data: HashMap::from([("cart".to_owned(), value.clone())]),
                expiry_date: expiry(),
            };
            store.create(&mut r).await.expect("create");
            ids.push(r.id);
        }
        Self {
            name,
            store,
            ids,
            value,
        }
    }
}

#[async_trait]
impl<S: tower_sessions::SessionStore> Contender for TowerSessions<S> {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn request(&self, i: usize) {
        let id = self.ids[i % self.ids.len()];
        let mut r = self.store.load(&id).await.expect("load").expect("present");
        r.data.insert("cart".to_owned(), self.value.clone());
        r.expiry_date = expiry();
        self.store.save(&r).await.expect("save");
    }
    async fn create_delete(&self) {
        let mut r = Record {
            id: Id::default(),
            data: HashMap::from([("cart".to_owned(), self.value.clone())]),
            expiry_date: expiry(),
        };
        self.store.create(&mut r).await.expect("create");
        self.store.delete(&r.id).await.expect("delete");
    }
}

/// actix-session's Redis store: states of `{"cart": <payload as a JSON string>}`.
struct Actix {
    store: actix_session::storage::RedisSessionStore,
    keys: Vec<String>,
    value: String,
}

fn ttl() -> time::Duration {
    time::Duration::hours(1)
}

#[async_trait]
impl Contender for Actix {
    fn name(&self) -> &'static str {
        "actix redis"
    }
    async fn request(&self, i: usize) {
        let key = SessionKey::try_from(self.keys[i % self.keys.len()].clone()).expect("key");
        let mut state = self.store.load(&key).await.expect("load").expect("present");
        state.insert("cart".to_owned(), self.value.clone());
        self.store.update(key, state, &ttl()).await.expect("update");
    }
    async fn create_delete(&self) {
        let state = HashMap::from([("cart".to_owned(), self.value.clone())]);
        let key = self.store.save(state, &ttl()).await.expect("save");
        self.store.delete(&key).await.expect("delete");
    }
}

struct Options {
    redis: String,
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
        concurrency: vec![1, 16, 64],
        payloads: vec![211, 4096],
        duration: Duration::from_secs(1),
        rounds: 3,
        sessions: 1000,
        backends: vec!["memory".to_owned(), "redis".to_owned()],
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
            let actix_store = actix_session::storage::RedisSessionStore::new(o.redis.clone())
                .await
                .expect("actix-session connects");
            let value = String::from_utf8(body.to_vec()).expect("a UTF-8 payload");
            let mut keys = Vec::with_capacity(n);
            for _ in 0..n {
                let state = HashMap::from([("cart".to_owned(), value.clone())]);
                let key = actix_store.save(state, &ttl()).await.expect("save");
                keys.push(key.as_ref().to_owned());
            }
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
                Arc::new(Actix {
                    store: actix_store,
                    keys,
                    value,
                }),
            ]
        }
        other => {
            eprintln!("peer-bench: unknown backend {other} (memory, redis)");
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
            for workload in &o.workloads {
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
        }
    }
}
