//! The SQLite store against the conformance suite: in a temporary file, and in memory.

mod common;

use std::sync::Arc;

use session_conformance::ManualClock;
use session_sql::SqliteStore;

raw_adapter!(SqliteStore);

type Store = SqliteStore;

fn db_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("session-sql-test-{}.db", std::process::id()))
}

/// A store on the binary's temporary database file, in a table of its own.
async fn store(clock: ManualClock) -> SqliteStore {
    let url = format!("sqlite://{}", db_path().display());
    let store = SqliteStore::connect(&url)
        .await
        .expect("open sqlite file")
        .with_table(&common::unique_table())
        .unwrap()
        .with_clock(Arc::new(clock));
    store.migrate().await.expect("migrate");
    store
}

async fn memory_store(clock: ManualClock) -> SqliteStore {
    let store = SqliteStore::connect("sqlite::memory:")
        .await
        .expect("open sqlite memory")
        .with_clock(Arc::new(clock));
    store.migrate().await.expect("migrate");
    store
}

session_conformance::suite!(file, |clock: ManualClock| async move {
    fixture_of(crate::store(clock).await).await
});

session_conformance::suite!(memory, |clock: ManualClock| async move {
    fixture_of(crate::memory_store(clock).await).await
});

mod sql_specific {
    include!("common/sql_cases.rs");
}

/// Sessions survive reopening the database file (what a server restart does).
#[tokio::test]
async fn sessions_survive_reopening_the_file() {
    use session_core::{Session, SessionConfig, SessionStore};
    let dir = std::env::temp_dir().join(format!("session-sql-reopen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/s.db", dir.display());
    let config = Arc::new(SessionConfig::default());
    let id = {
        let s = SqliteStore::connect(&url).await.unwrap();
        s.migrate().await.unwrap();
        let store: Arc<dyn SessionStore> = Arc::new(s.clone());
        let h = Session::new(store, config.clone(), None);
        h.insert("user", "alice").unwrap();
        h.save().await.unwrap();
        s.pool().close().await;
        h.id().await.unwrap()
    };
    let s = SqliteStore::connect(&url).await.unwrap();
    s.migrate().await.unwrap();
    let h = Session::new(Arc::new(s), config, Some(id));
    assert_eq!(
        h.get::<String>("user").await.unwrap().as_deref(),
        Some("alice")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fixture's teardown drops what it made: after cases ran on a store with a known
/// table, neither that table nor its schema table is left in the database file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_drops_the_tables() {
    use sqlx::Row as _;
    let table = common::unique_table();
    let cases: Vec<session_conformance::Case> = session_conformance::cases::ALL
        .iter()
        .filter(|c| c.group == "owner_change")
        .copied()
        .collect();
    let t = table.clone();
    let report = session_conformance::run_cases(&cases, |clock: ManualClock| {
        let t = t.clone();
        async move {
            let url = format!("sqlite://{}", db_path().display());
            let store = SqliteStore::connect(&url)
                .await
                .unwrap()
                .with_table(&t)
                .unwrap()
                .with_clock(Arc::new(clock));
            store.migrate().await.unwrap();
            fixture_of(store).await
        }
    })
    .await;
    report.assert_passed();
    let url = format!("sqlite://{}", db_path().display());
    let check = SqliteStore::connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?")
        .bind(format!("{table}%"))
        .fetch_all(check.pool())
        .await
        .unwrap();
    let left: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    assert!(left.is_empty(), "tables left after the teardowns: {left:?}");
}

#[tokio::test]
async fn store_calls_are_measured() {
    use session_core::Clock as _;
    let clock = ManualClock::new();
    let now = clock.now();
    let store = memory_store(clock).await;
    test_support::store_checks::store_calls_are_measured(&store, "sqlite", now).await;
}
