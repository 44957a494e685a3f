//! How a live connection (a WebSocket, a server-sent event stream) learns that its session
//! ended elsewhere: a logout in another tab, "log out everywhere", a revocation, a rotation.
//!
//! A store with a push mechanism (Redis pub/sub, PostgreSQL `LISTEN`) runs one listener
//! task per store, not one per connection, and hands each notice to an [`EndWatchers`]
//! registry; each connection holds an [`EndWatch`] for its own key. A notice is a hint,
//! never the verdict: the watcher loads the record to confirm (so a notice for a key that
//! was rotated and the record of a look-alike key can never close a live session), and a
//! listener that lost its connection wakes every watcher to look again, since notices sent
//! meanwhile are lost. Stores without a push mechanism return no watch, and the caller
//! polls ([`crate::Session::ended`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::watch;

use crate::id::StoreKey;

/// One key's watchers: a counter the listener bumps per notice, and how many
/// [`EndWatch`]es hold it (the entry goes when the last one is dropped).
#[derive(Debug)]
struct Entry {
    notices: watch::Sender<u64>,
    holders: usize,
}

#[derive(Debug)]
struct Shared {
    keys: Mutex<HashMap<StoreKey, Entry>>,
    /// Bumped when notices may have been lost (the listener reconnected): every watcher
    /// looks again.
    missed: watch::Sender<u64>,
}

/// The registry a store's listener task reports to. Cloning shares it.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use session_core::{EndWatchers, SessionId};
///
/// let watchers = EndWatchers::new();
/// let key = SessionId::generate().unwrap().store_key();
/// let mut watch = watchers.watch(&key);
/// watchers.ended(&key); // what the listener calls when a notice for `key` arrives
/// watch.changed().await; // returns at once: the notice is kept until seen
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EndWatchers {
    shared: Arc<Shared>,
}

impl Default for EndWatchers {
    fn default() -> Self {
        Self::new()
    }
}

impl EndWatchers {
    /// An empty registry.
    ///
    /// # Example
    /// ```
    /// let watchers = session_core::EndWatchers::new();
    /// assert_eq!(watchers.watched(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                keys: Mutex::new(HashMap::new()),
                missed: watch::Sender::new(0),
            }),
        }
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<StoreKey, Entry>> {
        // Every change under this lock is one map operation: a panic cannot leave it half
        // done, so a poisoned lock is still consistent.
        self.shared
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A watch on `key`, registered before this returns: a notice from then on wakes it.
    ///
    /// # Example
    /// ```
    /// # use session_core::{EndWatchers, SessionId};
    /// let watchers = EndWatchers::new();
    /// let key = SessionId::generate().unwrap().store_key();
    /// let watch = watchers.watch(&key);
    /// assert_eq!(watchers.watched(), 1);
    /// drop(watch);
    /// assert_eq!(watchers.watched(), 0);
    /// ```
    pub fn watch(&self, key: &StoreKey) -> EndWatch {
        let mut keys = self.keys();
        let entry = keys.entry(*key).or_insert_with(|| Entry {
            notices: watch::Sender::new(0),
            holders: 0,
        });
        entry.holders += 1;
        EndWatch {
            notices: entry.notices.subscribe(),
            missed: self.shared.missed.subscribe(),
            key: *key,
            watchers: self.clone(),
        }
    }

    /// A notice that the record under `key` may have ended: wakes its watchers, if any.
    ///
    /// # Example
    /// ```
    /// # use session_core::{EndWatchers, SessionId};
    /// let watchers = EndWatchers::new();
    /// let key = SessionId::generate().unwrap().store_key();
    /// watchers.ended(&key); // nobody watches: nothing happens
    /// ```
    pub fn ended(&self, key: &StoreKey) {
        if let Some(entry) = self.keys().get(key) {
            entry.notices.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Notices may have been lost (the listener's connection dropped, or it has just
    /// subscribed): wakes every watcher to look again.
    ///
    /// # Example
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use session_core::{EndWatchers, SessionId};
    /// let watchers = EndWatchers::new();
    /// let mut watch = watchers.watch(&SessionId::generate().unwrap().store_key());
    /// watchers.missed();
    /// watch.changed().await; // returns at once
    /// # }
    /// ```
    pub fn missed(&self) {
        self.shared.missed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many keys are watched (for tests and metrics).
    ///
    /// # Example
    /// ```
    /// assert_eq!(session_core::EndWatchers::new().watched(), 0);
    /// ```
    pub fn watched(&self) -> usize {
        self.keys().len()
    }

    fn release(&self, key: &StoreKey) {
        let mut keys = self.keys();
        if let Some(entry) = keys.get_mut(key) {
            entry.holders -= 1;
            if entry.holders == 0 {
                keys.remove(key);
            }
        }
    }
}

/// One connection's watch on its session's key, from [`EndWatchers::watch`] (through
/// [`SessionStore::watch_end`](crate::SessionStore::watch_end)). Dropping it unregisters.
#[derive(Debug)]
pub struct EndWatch {
    notices: watch::Receiver<u64>,
    missed: watch::Receiver<u64>,
    key: StoreKey,
    watchers: EndWatchers,
}

impl EndWatch {
    /// Waits for the next hint that the session may have ended: a notice for its key, or
    /// word that notices were lost. A hint sent before this call and not yet seen returns
    /// at once. The caller confirms by loading the record.
    /// (The watch holds the registry, so its senders outlive it and this never spins.)
    ///
    /// # Example
    /// ```
    /// # async fn demo(mut watch: session_core::EndWatch) {
    /// watch.changed().await; // then load the record: is it really gone?
    /// # }
    /// ```
    pub async fn changed(&mut self) {
        tokio::select! {
            _ = self.notices.changed() => {}
            _ = self.missed.changed() => {}
        }
    }
}

impl Drop for EndWatch {
    fn drop(&mut self) {
        self.watchers.release(&self.key);
    }
}

/// What a store with a push mechanism keeps (shared by its clones): the registry, and its
/// listener task, started by the first watch and aborted when the last clone of the store
/// is dropped.
#[derive(Debug, Default)]
pub struct EndNotices {
    watchers: EndWatchers,
    listener: OnceLock<Option<Listener>>,
}

/// Aborts the listener task when dropped.
#[derive(Debug)]
struct Listener(tokio::task::JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl EndNotices {
    /// A watch on `key`, spawning the listener with `start` the first time (it reports to
    /// the registry it is given). `None` when `start` gave no task: the store has no push
    /// mechanism after all (this driver, this server), and callers poll.
    ///
    /// # Example
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use session_core::{EndNotices, SessionId};
    ///
    /// let notices = EndNotices::default();
    /// let key = SessionId::generate().unwrap().store_key();
    /// let watch = notices.watch(&key, |watchers| {
    ///     Some(tokio::spawn(async move {
    ///         // subscribe, then for each notice: watchers.ended(&key)
    ///         watchers.missed();
    ///     }))
    /// });
    /// assert!(watch.is_some());
    /// # }
    /// ```
    pub fn watch(
        &self,
        key: &StoreKey,
        start: impl FnOnce(EndWatchers) -> Option<tokio::task::JoinHandle<()>>,
    ) -> Option<EndWatch> {
        let watch = self.watchers.watch(key);
        let listener = self
            .listener
            .get_or_init(|| start(self.watchers.clone()).map(Listener));
        listener.as_ref().map(|_| watch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use std::time::Duration;

    fn key() -> StoreKey {
        SessionId::generate().unwrap().store_key()
    }

    async fn woke(watch: &mut EndWatch) -> bool {
        tokio::time::timeout(Duration::from_millis(50), watch.changed())
            .await
            .is_ok()
    }

    /// A notice wakes the watchers of its key only, and is kept until seen.
    #[tokio::test]
    async fn a_notice_wakes_its_key_only() {
        let w = EndWatchers::new();
        let (a, b) = (key(), key());
        let mut wa = w.watch(&a);
        let mut wb = w.watch(&b);
        w.ended(&a);
        assert!(woke(&mut wa).await);
        assert!(!woke(&mut wb).await, "another key's notice woke this one");
        assert!(!woke(&mut wa).await, "one notice woke twice");
    }

    /// Two connections on one session both wake; the entry stays until both are dropped.
    #[tokio::test]
    async fn shared_keys_are_counted() {
        let w = EndWatchers::new();
        let k = key();
        let mut one = w.watch(&k);
        let mut two = w.watch(&k);
        assert_eq!(w.watched(), 1);
        w.ended(&k);
        assert!(woke(&mut one).await && woke(&mut two).await);
        drop(one);
        assert_eq!(w.watched(), 1);
        w.ended(&k);
        assert!(woke(&mut two).await, "the survivor lost its registration");
        drop(two);
        assert_eq!(w.watched(), 0);
    }

    /// Lost notices wake everyone.
    #[tokio::test]
    async fn missed_wakes_every_watcher() {
        let w = EndWatchers::new();
        let mut a = w.watch(&key());
        let mut b = w.watch(&key());
        w.missed();
        assert!(woke(&mut a).await && woke(&mut b).await);
    }
}
