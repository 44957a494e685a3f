//! Shared by the SQL test binaries.

#![allow(dead_code)]

use session_core::SessionId;

/// A table name no other test uses: `conf_` and 16 random hex digits.
pub(crate) fn unique_table() -> String {
    let h = SessionId::generate().expect("rng").store_key().hash_hex();
    format!("conf_{}", &h[..16])
}

/// The server's URL: its variable, or a container when Docker is reachable.
pub(crate) fn url(server: test_support::Server) -> String {
    test_support::url(server)
}

/// Implements `RawBytes` for a store type through its `write_raw_record`.
#[macro_export]
macro_rules! raw_adapter {
    ($store:ty) => {
        struct Raw($store);

        #[session_core::async_trait]
        impl session_conformance::RawBytes for Raw {
            async fn write_raw(
                &self,
                key: &session_core::StoreKey,
                bytes: &[u8],
                envelope: session_core::Envelope,
            ) -> Result<(), session_core::Error> {
                self.0.write_raw_record(key, bytes, envelope).await
            }
        }

        /// The fixture for `store`: raw access, a sibling in another table on the same
        /// database, and a teardown that drops both tables.
        async fn fixture_of(store: $store) -> session_conformance::Fixture {
            let sibling = store
                .clone()
                .with_table(&common::unique_table())
                .expect("sibling table name");
            sibling.migrate().await.expect("migrate the sibling table");
            let tables = [store.table().to_owned(), sibling.table().to_owned()];
            let pool = store.pool().clone();
            session_conformance::Fixture::from_arc(std::sync::Arc::new(store.clone()))
                .raw(Raw(store))
                .sibling(sibling)
                .on_teardown(move || async move {
                    for t in tables {
                        // PostgreSQL's end-notice trigger function outlives its table.
                        // Other databases have none and refuse the statement: ignored.
                        let function = format!("DROP FUNCTION IF EXISTS {t}_ended() CASCADE");
                        for name in [format!("{t}_schema"), t] {
                            let sql = format!("DROP TABLE IF EXISTS {name}");
                            sqlx::query(sqlx::AssertSqlSafe(sql))
                                .execute(&pool)
                                .await
                                .expect("drop a test table");
                        }
                        let _ = sqlx::query(sqlx::AssertSqlSafe(function))
                            .execute(&pool)
                            .await;
                    }
                })
        }
    };
}
