//! Measures Redis memory per session, for sizing a server: the growth of `used_memory`
//! over N sessions made through the `Session` handle, divided by N, for sessions holding
//! 211 B and 4 KiB of data, anonymous and logged in (a logged-in session also has an entry
//! in its owner's index). Also prints `MEMORY USAGE` of one session's key.
//!
//! Run with:
//! `cargo run --release -p session-benches --bin redis-memory -- [redis://127.0.0.1:6379] [sessions]`
//! (default 20,000 sessions per cell; the keys are removed afterwards).

use std::sync::Arc;

use session_core::{Session, SessionConfig, SessionId, SessionStore};
use session_redis::RedisStore;

async fn used_memory(con: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(con)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let config = Arc::new(SessionConfig::default());
    println!(
        "| data | sessions | bytes per session (used_memory) | MEMORY USAGE of one session key |"
    );
    println!("|---|---|---|---|");
    for (size, logged_in) in [(211, false), (211, true), (4096, false), (4096, true)] {
        let prefix = format!(
            "mem{}",
            &SessionId::generate().unwrap().store_key().hash_hex()[..8]
        );
        let store: Arc<dyn SessionStore> = Arc::new(
            RedisStore::builder()
                .prefix(prefix.clone())
                .connect(&url)
                .await
                .expect("connect"),
        );
        // One string value whose JSON encoding is `size` bytes (two quotes around it).
        let value = "x".repeat(size - 2);
        let before = used_memory(&mut con).await;
        for i in 0..n {
            let s = Session::new(store.clone(), config.clone(), None);
            s.insert("data", &value).unwrap();
            if logged_in {
                // 100 sessions per owner, as devices and tabs pile up.
                s.login(&format!("user-{}", i / 100)).await.unwrap();
            } else {
                s.save().await.unwrap();
            }
        }
        let after = used_memory(&mut con).await;
        let found = session_benches::redis_keys::under(&mut con, &prefix).await;
        let sample = found
            .iter()
            .find(|k| !k.contains(":owner:") && !k.contains(":o:"))
            .cloned()
            .unwrap_or_default();
        let usage: Option<i64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&sample)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut con)
            .await
            .expect("MEMORY USAGE");
        println!(
            "| {size} B, {} | {n} | {} | {} |",
            if logged_in { "logged in" } else { "anonymous" },
            (after - before) / i64::try_from(n).unwrap(),
            usage.unwrap_or(0)
        );
        session_benches::redis_keys::remove(&mut con, &found).await;
    }
}
