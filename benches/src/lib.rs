//! Shared by `session-bench` and the criterion benches: opening stores by URL, the raw
//! client baselines that do the same I/O without session logic, and the two operations of
//! the workload (a read: load a session; a write: the typical request, load + change one key
//! + save).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use session_core::{
    Bytes, Clock, Record, Session, SessionConfig, SessionId, SessionStore, StoreKey, SystemClock,
};

/// A store under test and its raw baseline.
pub struct Target {
    /// A short name for tables (`memory`, `redis`, `postgres`, …).
    pub name: String,
    /// The store.
    pub store: Arc<dyn SessionStore>,
    /// The same I/O done with the backend's own client.
    pub raw: Arc<dyn Raw>,
}

/// The raw baseline: what a store does on the wire, without ids, records or versions.
#[session_core::async_trait]
pub trait Raw: Send + Sync {
    /// Prepares `n` entries of `payload`.
    async fn fill(&self, n: usize, payload: &Bytes);
    /// Reads entry `i` (one GET / select / cache get).
    async fn read(&self, i: usize) -> Bytes;
    /// Reads entry `i` and writes `payload` back (GET + SET / select + update / get + insert).
    async fn write(&self, i: usize, payload: &Bytes);
    /// Removes what this run wrote to a server: the raw entries and the store's tables or
    /// keys, so that repeated runs leave nothing behind.
    async fn clean(&self);
}

/// The sessions of a store workload.
pub struct Sessions {
    ids: Vec<SessionId>,
    config: Arc<SessionConfig>,
}

impl Sessions {
    /// Creates `n` sessions holding `payload` under the key `cart`.
    pub async fn create(store: &Arc<dyn SessionStore>, n: usize, payload: &Bytes) -> Self {
        let now = SystemClock.now();
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let id = SessionId::generate().expect("rng");
            let mut r = Record::new(now, now.plus(Duration::from_secs(3600)));
            r.data.insert("cart".into(), payload.clone());
            r.data
                .insert("user".into(), Bytes::from_static(b"\"user-42\""));
            store.create(&id.store_key(), &r).await.expect("create");
            ids.push(id);
        }
        Self {
            ids,
            config: Arc::new(SessionConfig::default()),
        }
    }

    /// The number of sessions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// A request's handle on session `i`.
    fn handle(&self, store: &Arc<dyn SessionStore>, i: usize) -> Session {
        Session::new(store.clone(), self.config.clone(), Some(self.id(i)))
    }

    /// The id of session `i`.
    pub fn id(&self, i: usize) -> SessionId {
        self.ids[i % self.ids.len()].clone()
    }

    /// The store key of session `i`.
    pub fn key(&self, i: usize) -> StoreKey {
        self.ids[i % self.ids.len()].store_key()
    }

    /// A read request: load session `i` and read one key.
    pub async fn read(&self, store: &Arc<dyn SessionStore>, i: usize) -> Bytes {
        let s = self.handle(store, i);
        s.get_raw("cart").await.expect("load").expect("present")
    }

    /// The typical request: load session `i`, change one key, save.
    pub async fn write(&self, store: &Arc<dyn SessionStore>, i: usize, payload: &Bytes) {
        let s = self.handle(store, i);
        let _ = s.get_raw("cart").await.expect("load");
        s.insert_raw("cart", payload.clone()).expect("insert");
        s.save().await.expect("save");
    }

    /// The typical request with a read-modify-write instead of a plain insert: load
    /// session `i`, increment a counter with `update` (replayed on a conflict), save.
    pub async fn write_update(&self, store: &Arc<dyn SessionStore>, i: usize) {
        let s = self.handle(store, i);
        let _ = s.get_raw("cart").await.expect("load");
        s.update("visits", |n: &mut u64| *n += 1)
            .await
            .expect("update");
        s.save().await.expect("save");
    }

    /// The same request with `insert` of the same counter (last writer wins).
    pub async fn write_insert(&self, store: &Arc<dyn SessionStore>, i: usize) {
        let s = self.handle(store, i);
        let _ = s.get_raw("cart").await.expect("load");
        let n: u64 = s.get("visits").await.expect("get").unwrap_or(0);
        s.insert("visits", &(n + 1)).expect("insert");
        s.save().await.expect("save");
    }
}

/// `payload` with the next number of `writes` stamped over its first bytes: what the raw
/// SQL clients write, since SQLite and InnoDB skip an update that changes nothing.
pub fn stamped(payload: &Bytes, writes: &std::sync::atomic::AtomicU64) -> Vec<u8> {
    let n = writes
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_le_bytes();
    let mut value = payload.to_vec();
    let m = value.len().min(n.len());
    value[..m].copy_from_slice(&n[..m]);
    value
}

/// A payload of `n` bytes that is a JSON cart (valid JSON, so that a peer that parses
/// values into its own data model can).
pub fn payload(n: usize) -> Bytes {
    let mut s = String::from("[");
    let mut i = 0;
    while s.len() + 25 < n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{{\"sku\":{i:>8},\"q\":1}}"));
        i += 1;
    }
    while s.len() + 1 < n {
        s.push(' ');
    }
    s.push(']');
    Bytes::from(s)
}

#[cfg(test)]
mod tests {
    /// Every size the benchmarks use is exact and parses as JSON.
    #[test]
    fn payloads_are_json_of_the_asked_size() {
        for n in [2, 30, 200, 211, 4096] {
            let p = super::payload(n);
            assert_eq!(p.len(), n);
            let v: serde_json::Value = serde_json::from_slice(&p).unwrap();
            assert!(v.is_array());
        }
    }
}

pub mod http;
pub mod plot;
mod raw;
pub mod redis_keys;
pub use raw::open;
