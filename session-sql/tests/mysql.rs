//! The MySQL/MariaDB store against the conformance suite (`DATABASE_URL_MYSQL`), plus a
//! fault test that kills the pool's connections mid-run.

mod common;

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock};
use session_sql::MySqlStore;
use tokio::sync::OnceCell;

raw_adapter!(MySqlStore);

static CLEANED: OnceCell<()> = OnceCell::const_new();

/// Drops tables left by earlier runs, once per test binary, before any test makes its own.
async fn drop_old_tables(store: &MySqlStore) {
    CLEANED
        .get_or_init(|| async {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'conf\\_%'",
            )
            .fetch_all(store.pool())
            .await
            .expect("list old tables");
            for n in names {
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {n}")))
                    .execute(store.pool())
                    .await
                    .expect("drop old table");
            }
        })
        .await;
}

async fn store(clock: ManualClock) -> MySqlStore {
    let url = common::url(test_support::Server::Mysql);
    let base = MySqlStore::connect(&url).await.expect("connect to mysql");
    drop_old_tables(&base).await;
    let store = base
        .with_table(&common::unique_table())
        .unwrap()
        .with_clock(Arc::new(clock));
    store.migrate().await.expect("migrate");
    store
}

async fn fixture(clock: ManualClock) -> Fixture {
    fixture_of(store(clock).await).await
}

session_conformance::suite!(mysql, |clock: ManualClock| async move {
    crate::fixture(clock).await
});

mod sql_specific {
    include!("common/sql_cases.rs");
}

mod fault {
    include!("common/fault_case.rs");
}

type Store = MySqlStore;

async fn backend_ids(s: &MySqlStore) -> Vec<i64> {
    let mut conns = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut c = s.pool().acquire().await.unwrap();
        let id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        ids.push(id as i64);
        conns.push(c);
    }
    ids
}

async fn kill(ids: &[i64]) {
    let url = common::url(test_support::Server::Mysql);
    let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
    for id in ids {
        sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
            .execute(&admin)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn store_calls_are_measured() {
    use session_core::Clock as _;
    let clock = ManualClock::new();
    let now = clock.now();
    let store = store(clock).await;
    test_support::store_checks::store_calls_are_measured(&store, "mysql", now).await;
}
