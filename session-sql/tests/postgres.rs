//! The PostgreSQL store against the conformance suite (`DATABASE_URL_POSTGRES`), plus a
//! fault test that terminates the pool's backends mid-run.

mod common;

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock};
use session_sql::PgStore;
use tokio::sync::OnceCell;

raw_adapter!(PgStore);

static CLEANED: OnceCell<()> = OnceCell::const_new();

/// Drops tables left by earlier runs, once per test binary, before any test makes its own.
async fn drop_old_tables(store: &PgStore) {
    CLEANED
        .get_or_init(|| async {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'conf\\_%'",
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

async fn store(clock: ManualClock) -> PgStore {
    let url = common::url(test_support::Server::Postgres);
    let base = PgStore::connect(&url).await.expect("connect to postgres");
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

session_conformance::suite!(postgres, |clock: ManualClock| async move {
    crate::fixture(clock).await
});

mod sql_specific {
    include!("common/sql_cases.rs");
}

mod fault {
    include!("common/fault_case.rs");
}

type Store = PgStore;

async fn backend_ids(s: &PgStore) -> Vec<i64> {
    let mut conns = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut c = s.pool().acquire().await.unwrap();
        let id: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *c)
            .await
            .unwrap();
        ids.push(i64::from(id));
        conns.push(c);
    }
    ids
}

async fn kill(ids: &[i64]) {
    let url = common::url(test_support::Server::Postgres);
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    for id in ids {
        let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1::int)")
            .bind(*id as i32)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert!(killed, "backend {id} was not terminated");
    }
}
