//! criterion benches for every store, each beside its raw client doing the same I/O.
//!
//! Run with `cargo bench -p session-benches --bench stores`. The memory and SQLite stores
//! always run; Redis, Redis Cluster, PostgreSQL and MySQL run when `REDIS_URL`,
//! `REDIS_CLUSTER_URLS`, `DATABASE_URL_POSTGRES` and `DATABASE_URL_MYSQL` are set.
//! Payloads: about 200 bytes (a user id, a CSRF secret, flags) and 4 KiB (a cart).

#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use session_benches::{Sessions, Target, open, payload};
use session_core::{Clock, Record, SessionId, SystemClock};
use tokio::runtime::Runtime;

fn targets() -> Vec<String> {
    let mut t = vec![
        "memory".to_owned(),
        format!(
            "sqlite://{}",
            std::env::temp_dir()
                .join(format!("bench-{}.db", std::process::id()))
                .display()
        ),
    ];
    // A Cluster is its node URLs, comma-separated, which `open` understands as is.
    for var in [
        "REDIS_URL",
        "REDIS_CLUSTER_URLS",
        "DATABASE_URL_POSTGRES",
        "DATABASE_URL_MYSQL",
    ] {
        match std::env::var(var) {
            Ok(v) => t.push(v),
            Err(_) => eprintln!("{var} not set: that store is not benched"),
        }
    }
    t
}

fn bench_target(c: &mut Criterion, rt: &Runtime, target: &Target) {
    for size in [200usize, 4096] {
        let body = payload(size);
        let sessions = Arc::new(rt.block_on(Sessions::create(&target.store, 64, &body)));
        rt.block_on(target.raw.fill(64, &body));
        let mut g = c.benchmark_group(format!("{}/{}B", target.name, size));
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500));

        let raw = target.raw.clone();
        g.bench_function("raw read", |b| b.to_async(rt).iter(|| raw.read(1)));
        let raw = target.raw.clone();
        let bb = body.clone();
        g.bench_function("raw read+write", |b| {
            b.to_async(rt).iter(|| raw.write(2, &bb))
        });

        let store = target.store.clone();
        let key = sessions.key(3);
        g.bench_function("load", |b| b.to_async(rt).iter(|| store.load(&key)));

        let s = sessions.clone();
        let store = target.store.clone();
        g.bench_function("read request (load, read a key)", |b| {
            b.to_async(rt).iter(|| s.read(&store, 4))
        });

        let s = sessions.clone();
        let store = target.store.clone();
        let bb = body.clone();
        g.bench_function("typical request (load, change a key, save)", |b| {
            b.to_async(rt).iter(|| s.write(&store, 5, &bb))
        });

        let store = target.store.clone();
        let key = sessions.key(6);
        let record = rt
            .block_on(store.load(&key))
            .expect("load")
            .expect("present");
        let version = Arc::new(AtomicU64::new(record.version));
        g.bench_function("save (compare-and-swap)", |b| {
            b.to_async(rt).iter(|| {
                let (store, version, mut r) = (store.clone(), version.clone(), record.clone());
                async move {
                    let v = version.fetch_add(1, Ordering::SeqCst);
                    r.version = v + 1;
                    store.save(&key, &r, v).await.expect("save");
                }
            })
        });

        let store = target.store.clone();
        let key = sessions.key(7);
        g.bench_function("touch", |b| {
            b.to_async(rt).iter(|| {
                let now = SystemClock.now();
                let store = store.clone();
                async move {
                    store
                        .touch(&key, now.plus(Duration::from_secs(3600)), now)
                        .await
                        .expect("touch")
                }
            })
        });

        let store = target.store.clone();
        let bb = body.clone();
        g.bench_function("create", |b| {
            b.to_async(rt).iter(|| {
                let (store, bb) = (store.clone(), bb.clone());
                async move {
                    let now = SystemClock.now();
                    let mut r = Record::new(now, now.plus(Duration::from_secs(600)));
                    r.data.insert("cart".into(), bb);
                    store
                        .create(&SessionId::generate().expect("rng").store_key(), &r)
                        .await
                        .expect("create");
                }
            })
        });

        let store = target.store.clone();
        let bb = body.clone();
        g.bench_function("rotate", |b| {
            b.to_async(rt).iter_custom(|iters| {
                let (store, bb) = (store.clone(), bb.clone());
                async move {
                    let now = SystemClock.now();
                    let mut r = Record::new(now, now.plus(Duration::from_secs(600)));
                    r.data.insert("cart".into(), bb);
                    let mut key = SessionId::generate().expect("rng").store_key();
                    store.create(&key, &r).await.expect("create");
                    let t = Instant::now();
                    for _ in 0..iters {
                        let next = SessionId::generate_with_tag(key.tag())
                            .expect("rng")
                            .store_key();
                        let mut n = r.clone();
                        n.version = r.version + 1;
                        store
                            .rotate(&key, &next, &n, r.version)
                            .await
                            .expect("rotate");
                        r = n;
                        key = next;
                    }
                    t.elapsed()
                }
            })
        });

        let store = target.store.clone();
        g.bench_function("delete", |b| {
            b.to_async(rt).iter_custom(|iters| {
                let store = store.clone();
                async move {
                    let now = SystemClock.now();
                    let r = Record::new(now, now.plus(Duration::from_secs(600)));
                    let mut keys = Vec::new();
                    for _ in 0..iters {
                        let k = SessionId::generate().expect("rng").store_key();
                        store.create(&k, &r).await.expect("create");
                        keys.push(k);
                    }
                    let t = Instant::now();
                    for k in &keys {
                        store.delete(k).await.expect("delete");
                    }
                    t.elapsed()
                }
            })
        });
        g.finish();
    }
}

fn stores(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for url in targets() {
        let target = rt.block_on(open(&url));
        bench_target(c, &rt, &target);
        rt.block_on(target.raw.clean());
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);
