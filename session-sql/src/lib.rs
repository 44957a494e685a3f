//! Session stores on sqlx: PostgreSQL, MySQL/MariaDB and SQLite, each behind its feature.
//!
//! | feature | store |
//! |---|---|
//! | `postgres` | [`PgStore`] |
//! | `mysql` | [`MySqlStore`] (MySQL and MariaDB) |
//! | `sqlite` | [`SqliteStore`] |
//!
//! All three are one generic type, [`SqlStore`], on the driver's database type:
//! `PgStore` is `SqlStore<sqlx::Postgres>`, and so on.
//!
//! # Table layout
//!
//! One row per session: `skey` (the 34-byte store key, a hash of the session id: the
//! database never holds a usable id) as primary key, `record` (the versioned binary record;
//! `LONGBLOB` on MySQL, no cap below 16 MiB), `version`, `expires_at` (ms),
//! `owner_id` (indexed, for "your devices" and "log out everywhere"), `created_at`,
//! `last_seen`, the per-session lock's lease, `lock_token` and `lock_until` (migration
//! 2), and `sweep_after` (indexed, migration 4): a lower bound of `expires_at` that only
//! the create and the sweeper write, so that a save, which moves `expires_at`, writes no
//! index entry (PostgreSQL can keep it a heap-only update). The table name is
//! configurable; [`PgStore::migrate`] and friends create or upgrade it from embedded,
//! versioned migrations recorded in `{table}_schema`.
//!
//! # Contract, in SQL
//!
//! Create is an `INSERT` (a unique violation is a collision); save is
//! `UPDATE … WHERE skey = ? AND version = ? AND expires_at > ?`, never an upsert, so a
//! save can neither lose a concurrent update nor resurrect a deleted session; rotation
//! updates the primary key under the same guard, atomically in one statement; touch updates
//! only `expires_at` and `last_seen`. Loads filter on `expires_at`, so expired rows are never
//! returned; the [sweeper](spawn_sweeper) finds them through `sweep_after` and deletes
//! them in bounded batches, re-arming the live rows it met with their current expiry.
//!
//! # Live connections
//!
//! On PostgreSQL, migration 3 adds a trigger that `pg_notify`s the old key of every row
//! deleted or moved to a new key (logout, "log out everywhere", rotation, sweep, and any
//! other writer's `DELETE`), on channel `{table}_ended`; a store's first live connection
//! starts one listener (one pool connection in `LISTEN`), so a WebSocket waiting in
//! `Session::ended` on any node is told at once. MySQL and SQLite have no such mechanism:
//! live connections there poll their row (`SessionConfig::with_live_poll`).
//!
//! # Example
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), session_core::Error> {
//! # #[cfg(feature = "sqlite")] {
//! use std::{sync::Arc, time::Duration};
//! let store = Arc::new(session_sql::SqliteStore::connect("sqlite::memory:").await?);
//! store.migrate().await?;
//! let sweeper = session_sql::spawn_sweeper(store.clone(), Duration::from_secs(300));
//! // … serve requests …
//! sweeper.shutdown().await;
//! # }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod dialect;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod driver;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod error;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod lease;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod notices;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod ops;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
mod store;
mod sweeper;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub use driver::Driver;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use mysql::MySqlStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
pub use store::SqlStore;
pub use sweeper::{SweepReport, Sweeper, spawn_sweeper};
