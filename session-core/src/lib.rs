//! The core of server-side sessions: ids, records, expiry, the store trait and the
//! per-request session handle. It knows nothing of HTTP, Redis or SQL.
//!
//! A browser holds an opaque [`SessionId`] in a cookie; the server keeps the session's data
//! in a [`SessionStore`] under a [`StoreKey`], a hash of that id. A [`Session`] handle is
//! what a request works with: lazy loading, typed values, compare-and-swap saves that
//! replay on conflict, rotation at login, destruction at logout, and the owner index behind
//! "your devices" and "log out everywhere".
//!
//! # Layout
//!
//! | module | job |
//! |---|---|
//! | [`id`] | session ids (256 random bits), shard tags, store keys (SHA-256 of the id) |
//! | [`record`] | the stored record, its envelope, and the rule for storing both |
//! | [`store`] | the [`SessionStore`] trait: the contract every backend keeps |
//! | [`session`] | the per-request [`Session`] handle |
//! | [`ending`] | how a live connection learns its session ended elsewhere: [`EndWatchers`], [`EndWatch`], [`EndNotices`] |
//! | [`observe`] | store spans that record their outcome and, on failure, the error with its causes |
//! | [`metric`] | the metrics (store-call latency, conflicts, refusals, outages), through the `metrics` facade |
//! | [`tls`] | what a store's TLS connection trusts and shows ([`Tls`]), from PEM files or URL parameters |
//! | [`config`] | idle and absolute timeouts, the touch throttle, limits |
//! | [`clock`] | injectable time |
//! | [`error`] | the [`Error`] enum and its [`ErrorKind`] |
//!
//! # Example
//! ```
//! # async fn demo(store: std::sync::Arc<dyn session_core::SessionStore>) -> Result<(), session_core::Error> {
//! use std::sync::Arc;
//! use session_core::{Session, SessionConfig};
//!
//! let config = Arc::new(SessionConfig::default());
//! let session = Session::new(store, config, None);
//! session.insert("theme", "dark")?;
//! session.login("user-42").await?;      // creates the session, owned by user-42
//! let devices = session.owner_sessions().await?;
//! assert_eq!(devices.len(), 1);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod clock;
pub mod config;
pub mod ending;
pub mod error;
pub mod id;
pub mod log_tag;
pub mod metric;
pub mod observe;
mod random;
pub mod record;
pub mod session;
pub mod store;
pub mod tls;

pub use async_trait::async_trait;
pub use bytes::Bytes;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, Timestamp};
pub use config::SessionConfig;
pub use ending::{EndNotices, EndWatch, EndWatchers};
pub use error::{DecodeProblem, Error, ErrorKind};
pub use id::{SessionId, ShardTag, StoreKey};
pub use record::{Envelope, Lease, Record};
pub use session::{CookieEvents, Ended, Fence, SaveReport, Session, Write};
pub use store::{LockAttempt, OwnerSession, SessionStore};
pub use tls::Tls;
#[doc(hidden)]
pub use tracing as __tracing;
