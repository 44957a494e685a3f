//! actix-session's Redis store driven as an application drives it: sessions of
//! `{"cart": <payload as a JSON string>}`, a request that loads, changes the cart and
//! saves, and a create followed by its delete. Shared by `peer-bench` (as a contender)
//! and `prof` (its client instructions under callgrind).

use std::collections::HashMap;

use actix_session::storage::{RedisSessionStore, SessionKey, SessionStore as _};

/// actix-session's Redis store and the keys of the sessions made in it.
pub(crate) struct Actix {
    pub(crate) store: RedisSessionStore,
    pub(crate) keys: Vec<String>,
    pub(crate) value: String,
}

/// The TTL every state is saved with.
pub(crate) fn ttl() -> time::Duration {
    time::Duration::hours(1)
}

impl Actix {
    /// Connects to `url` and saves `n` sessions holding `body` (UTF-8) as their cart.
    pub(crate) async fn new(url: &str, n: usize, body: &[u8]) -> Self {
        let store = RedisSessionStore::new(url)
            .await
            .expect("actix-session connects");
        let value = String::from_utf8(body.to_vec()).expect("a UTF-8 payload");
        let mut keys = Vec::with_capacity(n);
        for _ in 0..n {
            let state = HashMap::from([("cart".to_owned(), value.clone())]);
            let key = store.save(state, &ttl()).await.expect("save");
            keys.push(key.as_ref().to_owned());
        }
        Self { store, keys, value }
    }

    /// Loads session `i`, sets its cart, saves.
    pub(crate) async fn request(&self, i: usize) {
        let key = SessionKey::try_from(self.keys[i % self.keys.len()].clone()).expect("key");
        let mut state = self.store.load(&key).await.expect("load").expect("present");
        state.insert("cart".to_owned(), self.value.clone());
        self.store.update(key, state, &ttl()).await.expect("update");
    }

    /// Saves a new session holding the cart, then deletes it.
    pub(crate) async fn create_delete(&self) {
        let state = HashMap::from([("cart".to_owned(), self.value.clone())]);
        let key = self.store.save(state, &ttl()).await.expect("save");
        self.store.delete(&key).await.expect("delete");
    }
}
