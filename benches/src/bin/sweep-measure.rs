//! Measures the SQL sweeper on 100,000 expired rows while a concurrent reader loads a live
//! session in a loop: batches, time, and the reader's latency before and during the sweep
//! (the lock waits a sweep imposes on traffic).
//!
//! Run with:
//! `cargo run --release -p session-benches --bin sweep-measure -- [postgres|mysql|sqlite] [rows]`
//! (URLs from `DATABASE_URL_POSTGRES` / `DATABASE_URL_MYSQL`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use session_core::{Clock, Record, SessionId, SessionStore, SystemClock};
use session_sql::{MySqlStore, PgStore, SqliteStore};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

async fn reader(
    store: Arc<dyn SessionStore>,
    key: session_core::StoreKey,
    stop: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut lat = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        store.load(&key).await.expect("load").expect("live session");
        lat.push(t.elapsed());
    }
    lat.sort();
    lat
}

async fn measure(
    name: &str,
    store: Arc<dyn SessionStore>,
    sweep: impl AsyncFnOnce() -> session_sql::SweepReport,
) {
    let now = SystemClock.now();
    let key = SessionId::generate().unwrap().store_key();
    store
        .create(&key, &Record::new(now, now.plus(Duration::from_secs(3600))))
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let base = tokio::spawn(reader(store.clone(), key, stop.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let base = base.await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(reader(store.clone(), key, stop.clone()));
    let t = Instant::now();
    let report = sweep().await;
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = during.await.unwrap();

    println!(
        "| {name} | {} | {} | {took:.2?} | {:.0} | {:?} / {:?} / {:?} | {:?} / {:?} / {:?} |",
        report.rows,
        report.batches,
        report.rows as f64 / took.as_secs_f64(),
        percentile(&base, 0.5),
        percentile(&base, 0.99),
        base.last().copied().unwrap_or_default(),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        during.last().copied().unwrap_or_default()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "postgres".into());
    let rows: i64 = args
        .next()
        .map(|s| s.parse().expect("rows"))
        .unwrap_or(100_000);
    let expired = SystemClock.now().as_millis() - 60_000;
    let table = format!("sweep_{}", std::process::id());
    println!(
        "| store | rows | batches | time | rows/s | reader p50 / p99 / max before | reader p50 / p99 / max during |"
    );
    println!("|---|---|---|---|---|---|---|");
    match which.as_str() {
        "postgres" => {
            let url = std::env::var("DATABASE_URL_POSTGRES").expect("set DATABASE_URL_POSTGRES");
            let s = PgStore::connect(&url)
                .await
                .unwrap()
                .with_table(&table)
                .unwrap();
            s.migrate().await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (skey, record, version, expires_at, owner_id, created_at, last_seen) \
                 SELECT decode(lpad(to_hex(g), 68, '0'), 'hex'), '\\x01'::bytea, 1, $1, NULL, 0, 0 FROM generate_series(1, $2) g")))
                .bind(expired).bind(rows).execute(s.pool()).await.unwrap();
            let s2 = s.clone();
            measure("PostgreSQL", Arc::new(s.clone()), async move || {
                s2.sweep().await.unwrap()
            })
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP TABLE {table}; DROP TABLE {table}_schema"
            )))
            .execute(s.pool())
            .await
            .ok();
        }
        "mysql" => {
            let url = std::env::var("DATABASE_URL_MYSQL").expect("set DATABASE_URL_MYSQL");
            let s = MySqlStore::connect(&url)
                .await
                .unwrap()
                .with_table(&table)
                .unwrap();
            s.migrate().await.unwrap();
            let mut done = 0;
            while done < rows {
                let n = (rows - done).min(1000);
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (skey, record, version, expires_at, owner_id, created_at, last_seen) \
                     WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) \
                     SELECT UNHEX(LPAD(HEX(n + ?), 68, '0')), X'01', 1, ?, NULL, 0, 0 FROM g")))
                    .bind(n).bind(done).bind(expired).execute(s.pool()).await.unwrap();
                done += n;
            }
            let s2 = s.clone();
            measure("MariaDB", Arc::new(s.clone()), async move || {
                s2.sweep().await.unwrap()
            })
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
                .execute(s.pool())
                .await
                .ok();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}_schema")))
                .execute(s.pool())
                .await
                .ok();
        }
        "sqlite" => {
            let path = std::env::temp_dir().join(format!("{table}.db"));
            let s = SqliteStore::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            s.migrate().await.unwrap();
            sqlx::query(
                "INSERT INTO sessions (skey, record, version, expires_at, owner_id, created_at, last_seen) \
                 WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) \
                 SELECT randomblob(34), X'01', 1, ?, NULL, 0, 0 FROM g")
                .bind(rows).bind(expired).execute(s.pool()).await.unwrap();
            let s2 = s.clone();
            measure("SQLite", Arc::new(s.clone()), async move || {
                s2.sweep().await.unwrap()
            })
            .await;
            let _ = std::fs::remove_file(&path);
        }
        other => panic!("unknown store {other}: use postgres, mysql or sqlite"),
    }
}
