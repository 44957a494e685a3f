//! An in-process session store on [moka]: for a single server, development, and tests.
//!
//! # What it stores and how
//!
//! A moka cache maps each [`StoreKey`] (a hash of the session id) to an `Arc<Record>`.
//! Nothing is encoded: the record is shared, not copied, between the cache and readers.
//!
//! - **Bounds.** The cache is bounded by total bytes through a weigher. Each entry weighs at
//!   least `max_bytes / max_entries`, so the same bound also caps the entry count. When full,
//!   moka evicts by its TinyLFU policy.
//! - **Expiry.** Each entry expires at its record's `expires_at` (moka's per-entry expiry),
//!   and every read also checks `expires_at` against the store's clock, so an expired record
//!   is never returned, whether or not moka has dropped it yet.
//! - **Atomicity.** Writers of one key serialise on one of 64 striped mutexes, so
//!   compare-and-swap is check-then-write under a lock; rotation takes both keys' stripes in
//!   a fixed order. Readers take no lock. (moka's own `and_compute_with` covers one key
//!   only; rotation and the owner index need two keys and a side table.)
//! - **Lock.** The per-session lock is a side table of leases (module `lease`), changed under
//!   the key's stripe, so a holder's save checks its lease, stores and releases at once.
//! - **Owner index.** A side table `owner → {keys}`. Writes keep it in step, moka's eviction
//!   listener drops keys that expire or are evicted, and listing drops keys that are dead, so
//!   it neither lists dead sessions nor grows without bound.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use session_core::{Session, SessionConfig, SessionStore};
//! use session_memory::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), session_core::Error> {
//! let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
//! let session = Session::new(store, Arc::new(SessionConfig::default()), None);
//! session.insert("cart", &["apple", "pear"])?;
//! let _ = session.save().await?;
//! assert!(session.id().await.is_some());
//! # Ok(()) }
//! ```
//!
//! [moka]: https://docs.rs/moka

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use moka::sync::Cache;
use session_core::{
    Error, LockAttempt, OwnerSession, Record, SessionStore, SharedClock, StoreKey, Timestamp,
    async_trait,
};

mod builder;
mod lease;

use builder::KeyHasherBuilder;
pub use builder::MemoryStoreBuilder;

const STRIPES: usize = 64;

type OwnerIndex = Arc<Mutex<HashMap<String, HashSet<StoreKey>>>>;

/// The in-process store. Cheap to clone; clones share one cache.
#[derive(Clone)]
pub struct MemoryStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) cache: Cache<StoreKey, Arc<Record>, KeyHasherBuilder>,
    pub(crate) stripes: Box<[Mutex<()>]>,
    pub(crate) owners: OwnerIndex,
    pub(crate) leases: lease::Leases,
    pub(crate) clock: SharedClock,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.inner.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section below leaves the data consistent at each step, so a panic in
    // another thread (poison) does not make it unsafe to go on.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn unindex(owners: &Mutex<HashMap<String, HashSet<StoreKey>>>, owner: &str, key: &StoreKey) {
    let mut map = lock(owners);
    if let Some(set) = map.get_mut(owner) {
        set.remove(key);
        if set.is_empty() {
            map.remove(owner);
        }
    }
}

impl MemoryStore {
    /// A store with default bounds (256 MiB, one million sessions) and the system clock.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for bounds and clock.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder::default()
    }

    /// Sessions currently held (including expired ones not yet dropped).
    pub fn entry_count(&self) -> u64 {
        self.inner.cache.run_pending_tasks();
        self.inner.cache.entry_count()
    }

    /// Keys in the owner index, summed over owners (to check it does not grow unbounded).
    pub fn owner_index_len(&self) -> usize {
        self.inner.cache.run_pending_tasks();
        lock(&self.inner.owners).values().map(HashSet::len).sum()
    }

    fn stripe(&self, key: &StoreKey) -> usize {
        let h = key.hash();
        usize::from(h[0]) % STRIPES
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn live(&self, key: &StoreKey) -> Option<Arc<Record>> {
        let now = self.now();
        self.inner.cache.get(key).filter(|r| !r.is_expired(now))
    }

    /// `live` under the key's stripe lock. A rotation holds both keys' stripes while it
    /// inserts the new record and removes the old, so a reader that takes the stripe
    /// never sees the rotation half done (both keys live, or neither); the uncontended
    /// lock costs a few nanoseconds.
    fn read(&self, key: &StoreKey) -> Option<Arc<Record>> {
        let _g = lock(&self.inner.stripes[self.stripe(key)]);
        self.live(key)
    }

    fn index(&self, owner: &str, key: StoreKey) {
        lock(&self.inner.owners)
            .entry(owner.to_owned())
            .or_default()
            .insert(key);
    }

    /// The compare-and-swap behind `save` and `save_shared`; `stored` makes the value to
    /// keep, called only once the swap is certain.
    fn save_with(
        &self,
        key: &StoreKey,
        record: &Record,
        expected: u64,
        stored: impl FnOnce() -> Arc<Record>,
    ) -> Result<(), Error> {
        let _g = lock(&self.inner.stripes[self.stripe(key)]);
        let current = self.live(key).ok_or(Error::Gone)?;
        if current.version != expected {
            return Err(Error::Conflict);
        }
        self.store_locked(key, &current, record, stored);
        Ok(())
    }

    /// The write of a compare-and-swap that succeeded: stores `record` over `current` (or
    /// deletes it when `record` has expired) and keeps the owner index in step. Caller
    /// holds the key's stripe.
    fn store_locked(
        &self,
        key: &StoreKey,
        current: &Record,
        record: &Record,
        stored: impl FnOnce() -> Arc<Record>,
    ) {
        if record.is_expired(self.now()) {
            self.remove_locked(key);
            return;
        }
        self.inner.cache.insert(*key, stored());
        if current.owner != record.owner {
            if let Some(o) = &current.owner {
                unindex(&self.inner.owners, o, key);
            }
            if let Some(o) = &record.owner {
                self.index(o, *key);
            }
        }
    }

    /// Removes `key` from cache and index. Caller holds the key's stripe.
    fn remove_locked(&self, key: &StoreKey) {
        lease::forget(&self.inner.leases, key);
        if let Some(old) = self.inner.cache.remove(key) {
            if let Some(owner) = &old.owner {
                unindex(&self.inner.owners, owner, key);
            }
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "create", key = ?key),
            || -> Result<(), Error> {
                let _g = lock(&self.inner.stripes[self.stripe(key)]);
                if self.live(key).is_some() {
                    return Err(Error::Collision);
                }
                // An expired leftover under the key is replaced, and leaves the index with it.
                self.remove_locked(key);
                self.inner.cache.insert(*key, Arc::new(record.clone()));
                if let Some(owner) = &record.owner {
                    self.index(owner, *key);
                }
                Ok(())
            },
        )
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "load", key = ?key),
            || -> Result<Option<Record>, Error> { Ok(self.read(key).map(|r| (*r).clone())) },
        )
    }

    async fn load_shared(&self, key: &StoreKey) -> Result<Option<Arc<Record>>, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "load", key = ?key),
            || -> Result<Option<Arc<Record>>, Error> {
                // The cached record itself: records are never changed in place (every write
                // inserts a new one), so handing it out is safe and costs a reference count.
                Ok(self.read(key))
            },
        )
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "save", key = ?key),
            || -> Result<(), Error> {
                self.save_with(key, record, expected, || Arc::new(record.clone()))
            },
        )
    }

    async fn save_shared(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
    ) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "save", key = ?key),
            || -> Result<(), Error> { self.save_with(key, record, expected, || record.clone()) },
        )
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "touch", key = ?key),
            || -> Result<(), Error> {
                let _g = lock(&self.inner.stripes[self.stripe(key)]);
                let current = self.live(key).ok_or(Error::Gone)?;
                let mut next = (*current).clone();
                next.expires_at = expires_at;
                next.last_seen = last_seen.max(current.last_seen);
                self.inner.cache.insert(*key, Arc::new(next));
                Ok(())
            },
        )
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "delete", key = ?key),
            || -> Result<(), Error> {
                let _g = lock(&self.inner.stripes[self.stripe(key)]);
                self.remove_locked(key);
                Ok(())
            },
        )
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "rotate", old = ?old, new = ?new),
            || -> Result<(), Error> {
                let (a, b) = (self.stripe(old), self.stripe(new));
                // Fixed order (lower stripe first) so two rotations never deadlock.
                let _g1 = lock(&self.inner.stripes[a.min(b)]);
                let _g2 = (a != b).then(|| lock(&self.inner.stripes[a.max(b)]));
                let current = self.live(old).ok_or(Error::Gone)?;
                if current.version != expected {
                    return Err(Error::Conflict);
                }
                if self.live(new).is_some() {
                    return Err(Error::Collision);
                }
                self.remove_locked(new);
                self.inner.cache.insert(*new, Arc::new(record.clone()));
                if let Some(o) = &record.owner {
                    self.index(o, *new);
                }
                self.remove_locked(old);
                Ok(())
            },
        )
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "list_owner"),
            || -> Result<Vec<OwnerSession>, Error> {
                let keys: Vec<StoreKey> = lock(&self.inner.owners)
                    .get(owner)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                let mut out = Vec::with_capacity(keys.len());
                let mut dead = Vec::new();
                for k in keys {
                    match self.live(&k) {
                        Some(r) if r.owner.as_deref() == Some(owner) => {
                            out.push(OwnerSession::from_record(k, &r));
                        }
                        _ => dead.push(k),
                    }
                }
                for k in dead {
                    unindex(&self.inner.owners, owner, &k);
                }
                Ok(out)
            },
        )
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "delete_owner"),
            || -> Result<u64, Error> {
                let keys: Vec<StoreKey> = lock(&self.inner.owners)
                    .get(owner)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                let mut n = 0;
                for k in keys {
                    if Some(&k) == keep {
                        continue;
                    }
                    let _g = lock(&self.inner.stripes[self.stripe(&k)]);
                    match self.inner.cache.get(&k) {
                        Some(r) if r.owner.as_deref() == Some(owner) => {
                            if !r.is_expired(self.now()) {
                                n += 1;
                            }
                            self.remove_locked(&k);
                        }
                        _ => unindex(&self.inner.owners, owner, &k),
                    }
                }
                Ok(n)
            },
        )
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "delete_expired"),
            || -> Result<u64, Error> {
                let now = self.now();
                let expired: Vec<StoreKey> = self
                    .inner
                    .cache
                    .iter()
                    .filter(|(_, r)| r.is_expired(now))
                    .map(|(k, _)| *k)
                    .collect();
                let mut n = 0;
                for k in expired {
                    let _g = lock(&self.inner.stripes[self.stripe(&k)]);
                    // Re-check under the lock: a touch may have extended it since the scan.
                    if self
                        .inner
                        .cache
                        .get(&k)
                        .is_some_and(|r| r.is_expired(self.now()))
                    {
                        self.remove_locked(&k);
                        n += 1;
                    }
                }
                Ok(n)
            },
        )
    }

    async fn acquire_lock(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "acquire_lock", key = ?key),
            || -> Result<LockAttempt, Error> { self.acquire(key, now, until) },
        )
    }

    async fn save_fenced(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "save_fenced", key = ?key),
            || -> Result<(), Error> { self.save_fenced_native(key, record, expected, token, now) },
        )
    }

    async fn release_lock(&self, key: &StoreKey, token: u64, now: Timestamp) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "release_lock", key = ?key),
            || -> Result<(), Error> { self.release(key, token, now) },
        )
    }
}
