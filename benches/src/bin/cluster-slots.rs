//! How evenly sessions spread over a Redis Cluster's hash slots: makes N sessions (half
//! anonymous, half logged in, spread over N/10 owners) through the `Session` handle on a
//! store with a tag key (so that each owner's sessions share their index's slot), then
//! counts the keys in every slot (`CLUSTER COUNTKEYSINSLOT` on each master) and prints the
//! spread: mean, coefficient of variation, the largest slot against the mean, the share
//! of slots within 10% of the mean, and keys per master. The keys are removed afterwards.
//!
//! Run with:
//! `cargo run --release -p session-benches --bin cluster-slots -- [sessions] [node URLs, comma-separated] [untagged]`
//! (default 1,000,000 sessions and `REDIS_CLUSTER_URLS`; `untagged`: no tag key, so every
//! session gets a random tag and owners' sessions do not share a slot).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use session_core::{Session, SessionConfig, SessionId, SessionStore};
use session_redis::RedisStore;

/// Each master's URL and the slot ranges it serves.
async fn masters(url: &str) -> Vec<(String, Vec<(u16, u16)>)> {
    let client = redis::Client::open(url).expect("node url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to a node");
    let slots: redis::Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut con)
        .await
        .expect("CLUSTER SLOTS");
    let mut by_master: Vec<(String, Vec<(u16, u16)>)> = Vec::new();
    let redis::Value::Array(ranges) = slots else {
        panic!("CLUSTER SLOTS: {slots:?}")
    };
    for range in ranges {
        let redis::Value::Array(parts) = range else {
            continue;
        };
        let num = |v: &redis::Value| match v {
            redis::Value::Int(n) => u16::try_from(*n).expect("a slot"),
            other => panic!("slot {other:?}"),
        };
        let (start, end) = (num(&parts[0]), num(&parts[1]));
        let redis::Value::Array(node) = &parts[2] else {
            continue;
        };
        let host = match &node[0] {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("host {other:?}"),
        };
        let port = match &node[1] {
            redis::Value::Int(p) => *p,
            other => panic!("port {other:?}"),
        };
        let url = format!("redis://{host}:{port}");
        match by_master.iter_mut().find(|(u, _)| *u == url) {
            Some((_, r)) => r.push((start, end)),
            None => by_master.push((url, vec![(start, end)])),
        }
    }
    by_master
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let urls: Vec<String> = args
        .get(1)
        .cloned()
        .or_else(|| std::env::var("REDIS_CLUSTER_URLS").ok())
        .expect("node URLs: an argument or REDIS_CLUSTER_URLS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let prefix = format!(
        "slots{}",
        &SessionId::generate().unwrap().store_key().hash_hex()[..6]
    );
    let mut key = [0u8; 32];
    getrandom_key(&mut key);
    let mut builder = RedisStore::builder().prefix(prefix.clone());
    if args.get(2).map(String::as_str) != Some("untagged") {
        builder = builder.tag_key(key);
    }
    let store: Arc<dyn SessionStore> = Arc::new(
        builder
            .connect_cluster(&urls)
            .await
            .expect("connect to the cluster"),
    );
    let config = Arc::new(SessionConfig::default());
    let next = Arc::new(AtomicUsize::new(0));
    let owners = (n / 10).max(1);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, config, next) = (store.clone(), config.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let s = Session::new(store.clone(), config.clone(), None);
                    s.insert("cart", "[]").unwrap();
                    if i % 2 == 0 {
                        s.save().await.expect("save");
                    } else {
                        s.login(&format!("user-{}", (i / 2) % owners))
                            .await
                            .expect("login");
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    eprintln!(
        "made {n} sessions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut counts = Vec::with_capacity(16384);
    let mut per_master = Vec::new();
    for (url, ranges) in masters(&urls[0]).await {
        let client = redis::Client::open(url.as_str()).expect("url");
        let mut con = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let mut pipe = redis::pipe();
        for (a, b) in &ranges {
            for slot in *a..=*b {
                pipe.cmd("CLUSTER").arg("COUNTKEYSINSLOT").arg(slot);
            }
        }
        let got: Vec<u64> = pipe.query_async(&mut con).await.expect("COUNTKEYSINSLOT");
        per_master.push((url, got.iter().sum::<u64>()));
        counts.extend(got);
    }
    let total: u64 = counts.iter().sum();
    let mean = total as f64 / counts.len() as f64;
    let var = counts
        .iter()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        / counts.len() as f64;
    let max = counts.iter().copied().max().unwrap_or(0);
    let min = counts.iter().copied().min().unwrap_or(0);
    let within = counts
        .iter()
        .filter(|&&c| (c as f64 - mean).abs() <= 0.1 * mean)
        .count();
    println!(
        "| sessions | keys | slots | mean keys per slot | CV | min | max | max ÷ mean | slots within 10% of the mean |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {n} | {total} | {} | {mean:.1} | {:.3} | {min} | {max} | {:.2} | {:.1}% |",
        counts.len(),
        var.sqrt() / mean,
        max as f64 / mean,
        100.0 * within as f64 / counts.len() as f64
    );
    for (url, keys) in &per_master {
        println!(
            "- {url}: {keys} keys ({:.1}%)",
            100.0 * *keys as f64 / total as f64
        );
    }

    // Clean up, node by node.
    for (url, _) in &per_master {
        session_benches::redis_keys::remove_under(url, &[&prefix]).await;
    }
}

fn getrandom_key(key: &mut [u8; 32]) {
    // The store key of a fresh id is 32 random-looking bytes: enough for a test tag key.
    let k = SessionId::generate().unwrap().store_key().to_bytes();
    key.copy_from_slice(&k[2..34]);
}
