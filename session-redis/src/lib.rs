//! A Redis (and Valkey) session store, standalone or Cluster, on the `redis` crate.
//!
//! # Layout in Redis
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}:{tttt}:r:{hash}` | string | one session: a 90-byte header (expiry, last seen, version, lock counter, lengths), the owner and its index's name, then the encoded record (see [`scripts`]) |
//! | `{prefix}:{tttt}:k:{hash}` | string | the session's lock while held: `token:until`, with a TTL |
//! | `{prefix}:{tttt}:m:{hash}` | string | on Cluster, while a session moves to another slot: the new key |
//! | `{prefix}:{tttt}:s:{hash}` | hash | a session stored by version 0.1, converted to the string above when a load or delete finds nothing there |
//! | `{prefix}:{tttt}:o:{owner}` | sorted set | the owner index: store keys scored by expiry |
//! | `{prefix}:ended` | pub/sub channel | end notices: deletes and rotations publish the store key they ended, for live connections ([`SessionStore::watch_end`](session_core::SessionStore::watch_end)) |
//!
//! `tttt` is the session's shard tag (four hex digits, inside braces, so it is the Redis
//! Cluster hash tag) and `hash` the SHA-256 of the session id: Redis never holds a usable
//! session id. An owner's index carries the owner's tag, and so does every session the
//! handle logs in for that owner, so the record, its index and any later rotation share one
//! hash slot and each operation is one atomic script, on Cluster too.
//!
//! # Cost of each operation
//!
//! | operation | round trips |
//! |---|---|
//! | load | 1 (`GET`); a miss, 2 (then the conversion script for a session of 0.1's layout) |
//! | create | 1 (`SET … NX PX` without an owner, else one script) |
//! | save, touch | 1 (one script; the index update happens inside it) |
//! | delete | standalone: 1 (`GETDEL` and `PUBLISH` in one write), 2 for a logged-in session (then a `ZREM` of its index entry); Cluster, or restricted to an owner: 1 (one script) |
//! | rotate within a slot | 1 (one script) |
//! | rotate across slots (Cluster login out of an anonymous session) | 3: mark the old record moving, create the new one, delete the old one |
//! | list an owner's sessions | 1 + one `GET` per listed session |
//! | take, release the per-session lock; the holder's save | 1 each (one script; the save releases the lock) |
//!
//! Expiry is Redis's own: every write sets the key's TTL from the record's expiry, and the
//! index key expires with its longest-lived member; [`SessionStore::delete_expired`](session_core::SessionStore::delete_expired) has
//! nothing to do. Loads also compare the stored expiry with the store's clock, so an expired
//! record is never returned, even in the moment before Redis drops it.
//!
//! # Live connections
//!
//! A WebSocket waiting in `Session::ended` is told of a logout, "log out everywhere" or a
//! rotation on any node within milliseconds: deletes and the rotate script `PUBLISH` the
//! ended store key as they end it, and one listener task per store (started on the
//! first watch, on one extra connection) wakes the waiting connections. Classic pub/sub
//! needs no server setting, and on Cluster reaches every node.
//!
//! # Outages
//!
//! Standalone connections go through a `ConnectionManager` (multiplexed, reconnecting);
//! Cluster through the cluster client. Both have connect and response timeouts (a
//! standalone command answers within `2 × connect + 0.2 s + response`; a Cluster's runs
//! under a deadline of ours on top of its client's retries), so an outage is an
//! [`Error::Unavailable`](session_core::Error) or [`Error::Timeout`](session_core::Error)
//! within a bounded time, never a hang. The same store object recovers when Redis returns.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), session_core::Error> {
//! use session_redis::RedisStore;
//! let store = RedisStore::builder()
//!     .prefix("myapp")
//!     .connect("redis://127.0.0.1:6379")
//!     .await?;
//! let cluster = RedisStore::builder()
//!     .connect_cluster(&["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"])
//!     .await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod connection;
mod contract;
mod delete;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod keys;
mod layout;
mod lease;
mod notices;
mod reply;
pub mod scripts;
mod store;

pub use keys::hash_tag;
pub use store::{RedisStore, RedisStoreBuilder};
