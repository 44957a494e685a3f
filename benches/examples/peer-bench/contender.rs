//! What every side of the comparison implements, and the two sides that work on any
//! backend: ours through the `Session` handle, and a tower-sessions store.

use std::collections::HashMap;
use std::sync::Arc;

use session_benches::Sessions;
use session_core::{Bytes, Session, SessionConfig, SessionStore, async_trait};
use tower_sessions::session::{Id, Record};

/// One side of the comparison, prepared with its sessions.
#[async_trait]
pub(crate) trait Contender: Send + Sync {
    fn name(&self) -> &'static str;
    /// Load session `i`, change one key, save.
    async fn request(&self, i: usize);
    /// Make a session holding the payload, then end it.
    async fn create_delete(&self);
    /// False for a second raw baseline, which is shown but never the best peer.
    fn is_peer(&self) -> bool {
        true
    }
    /// Drops what this side wrote to a server.
    async fn clean(&self) {}
}

pub(crate) struct Ours {
    pub(crate) name: &'static str,
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) sessions: Sessions,
    pub(crate) config: Arc<SessionConfig>,
    pub(crate) body: Bytes,
}

#[async_trait]
impl Contender for Ours {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn request(&self, i: usize) {
        self.sessions.write(&self.store, i, &self.body).await;
    }
    async fn create_delete(&self) {
        let s = Session::new(self.store.clone(), self.config.clone(), None);
        s.insert_raw("cart", self.body.clone()).expect("insert");
        s.save().await.expect("create");
        s.destroy().await.expect("delete");
    }
}

/// A tower-sessions store: records of `{"cart": <payload as a JSON value>}`.
pub(crate) struct TowerSessions<S> {
    name: &'static str,
    store: S,
    ids: Vec<Id>,
    value: serde_json::Value,
}

pub(crate) fn expiry() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::hours(1)
}

impl<S: tower_sessions::SessionStore> TowerSessions<S> {
    pub(crate) async fn new(name: &'static str, store: S, n: usize, body: &Bytes) -> Self {
        let value: serde_json::Value = serde_json::from_slice(body).expect("a JSON payload");
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let mut r = Record {
                id: Id::default(),
                data: HashMap::from([("cart".to_owned(), value.clone())]),
                expiry_date: expiry(),
            };
            store.create(&mut r).await.expect("create");
            ids.push(r.id);
        }
        Self {
            name,
            store,
            ids,
            value,
        }
    }
}

#[async_trait]
impl<S: tower_sessions::SessionStore> Contender for TowerSessions<S> {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn request(&self, i: usize) {
        let id = self.ids[i % self.ids.len()];
        let mut r = self.store.load(&id).await.expect("load").expect("present");
        r.data.insert("cart".to_owned(), self.value.clone());
        r.expiry_date = expiry();
        self.store.save(&r).await.expect("save");
    }
    async fn create_delete(&self) {
        let mut r = Record {
            id: Id::default(),
            data: HashMap::from([("cart".to_owned(), self.value.clone())]),
            expiry_date: expiry(),
        };
        self.store.create(&mut r).await.expect("create");
        self.store.delete(&r.id).await.expect("delete");
    }
}
