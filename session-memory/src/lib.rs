//! An in-process session store: for a single server, development, and tests.
//!
//! # What it stores and how
//!
//! A table of 64 shards (module `table`), each a hash map behind its own mutex, maps each
//! [`StoreKey`] (a hash of the session id) to an `Arc<Record>`. Nothing is encoded: the
//! record is shared, not copied, between the table and readers.
//!
//! - **Bounds.** One byte budget: each entry weighs its record's approximate size and at
//!   least `max_bytes / max_entries`, so the same bound also caps the entry count. A write
//!   that goes over it evicts the soonest-expiring of a few sampled sessions.
//! - **Expiry.** Every read checks `expires_at` against the store's clock, so an expired
//!   record is never returned; shards sweep their expired entries as they take writes.
//! - **Atomicity.** Readers and writers of one key take its shard's mutex, so
//!   compare-and-swap is check-then-write under a lock; rotation takes both keys' shards in
//!   a fixed order, so no reader sees it half done.
//! - **Lock.** The per-session lock is a side table of leases (module `lease`), changed under
//!   the key's shard, so a holder's save checks its lease, stores and releases at once.
//! - **Owner index.** A side table `owner → {keys}`. Writes keep it in step, evictions and
//!   sweeps drop the keys they remove, and listing drops keys that are dead, so it neither
//!   lists dead sessions nor grows without bound.
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

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use session_core::{
    Error, LockAttempt, OwnerSession, Record, SessionStore, SharedClock, StoreKey, Timestamp,
    async_trait,
};

mod builder;
mod lease;
mod table;

pub use builder::MemoryStoreBuilder;
use table::{Shard, Table};

type OwnerIndex = Arc<Mutex<HashMap<String, HashSet<StoreKey>>>>;

/// The in-process store. Cheap to clone; clones share one table.
#[derive(Clone)]
pub struct MemoryStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) table: Table,
    pub(crate) clock: SharedClock,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.inner.table.len())
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

    /// Sessions currently held, after dropping those that have expired.
    pub fn entry_count(&self) -> u64 {
        self.inner.table.sweep_all(self.now());
        self.inner.table.len() as u64
    }

    /// Keys in the owner index, summed over owners (to check it does not grow unbounded).
    pub fn owner_index_len(&self) -> usize {
        lock(self.owners()).values().map(HashSet::len).sum()
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn owners(&self) -> &Mutex<HashMap<String, HashSet<StoreKey>>> {
        &self.inner.table.owners
    }

    /// The live record under `key`, read under its shard's lock. A rotation holds both
    /// keys' shards while it inserts the new record and removes the old, so a reader never
    /// sees the rotation half done (both keys live, or neither).
    fn read(&self, key: &StoreKey) -> Option<Arc<Record>> {
        let now = self.now();
        self.inner.table.lock_key(key).live(key, now).cloned()
    }

    fn index(&self, owner: &str, key: StoreKey) {
        lock(self.owners())
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
        let now = self.now();
        let mut shard = self.inner.table.lock_key(key);
        let current = shard.live(key, now).ok_or(Error::Gone)?;
        if current.version != expected {
            return Err(Error::Conflict);
        }
        let owner_changed = current.owner != record.owner;
        self.store_locked(&mut shard, key, owner_changed, record, stored, now);
        Ok(())
    }

    /// The write of a compare-and-swap that succeeded: stores `record` over the current
    /// one (or deletes it when `record` has expired) and, when the owner changed, moves the
    /// key in the owner index. Caller holds the key's shard.
    fn store_locked(
        &self,
        shard: &mut Shard,
        key: &StoreKey,
        owner_changed: bool,
        record: &Record,
        stored: impl FnOnce() -> Arc<Record>,
        now: Timestamp,
    ) {
        if record.is_expired(now) {
            self.inner.table.remove(shard, key);
            return;
        }
        let old = self.inner.table.put(shard, key, stored(), now);
        if owner_changed {
            if let Some(o) = old.as_ref().and_then(|r| r.owner.as_deref()) {
                unindex(self.owners(), o, key);
            }
            if let Some(o) = &record.owner {
                self.index(o, *key);
            }
        }
    }

    /// Stores a new `record` under `key`, free or expired, and indexes its owner. Caller
    /// holds the key's shard.
    fn insert_new(&self, shard: &mut Shard, key: &StoreKey, record: &Record, now: Timestamp) {
        // An expired leftover under the key is replaced, and leaves the index with it.
        self.inner.table.remove(shard, key);
        self.inner
            .table
            .put(shard, key, Arc::new(record.clone()), now);
        if let Some(owner) = &record.owner {
            self.index(owner, *key);
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "create", key = ?key),
            || -> Result<(), Error> {
                let now = self.now();
                let mut shard = self.inner.table.lock_key(key);
                if shard.live(key, now).is_some() {
                    return Err(Error::Collision);
                }
                self.insert_new(&mut shard, key, record, now);
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
                // The stored record itself: records are never changed in place (every write
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
                let now = self.now();
                let mut shard = self.inner.table.lock_key(key);
                let current = shard.live(key, now).ok_or(Error::Gone)?;
                let mut next = Record::clone(current);
                next.expires_at = expires_at;
                next.last_seen = last_seen.max(current.last_seen);
                let next = Arc::new(next);
                self.store_locked(&mut shard, key, false, &next, || next.clone(), now);
                Ok(())
            },
        )
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "delete", key = ?key),
            || -> Result<(), Error> {
                let mut shard = self.inner.table.lock_key(key);
                self.inner.table.remove(&mut shard, key);
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
                let now = self.now();
                let (a, b) = (Table::shard_of(old), Table::shard_of(new));
                // Fixed order (lower shard first) so two rotations never deadlock.
                let mut first = self.inner.table.lock(a.min(b));
                let mut second = (a != b).then(|| self.inner.table.lock(a.max(b)));
                let (old_shard, new_shard) = match second.as_mut() {
                    None => (&mut *first, None),
                    Some(s) if a < b => (&mut *first, Some(&mut **s)),
                    Some(s) => (&mut **s, Some(&mut *first)),
                };
                let current = old_shard.live(old, now).ok_or(Error::Gone)?;
                if current.version != expected {
                    return Err(Error::Conflict);
                }
                let target = match new_shard {
                    Some(shard) => shard,
                    None => &mut *old_shard,
                };
                if target.live(new, now).is_some() {
                    return Err(Error::Collision);
                }
                self.insert_new(target, new, record, now);
                self.inner.table.remove(old_shard, old);
                Ok(())
            },
        )
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "list_owner"),
            || -> Result<Vec<OwnerSession>, Error> {
                let keys: Vec<StoreKey> = lock(self.owners())
                    .get(owner)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                let mut out = Vec::with_capacity(keys.len());
                let mut dead = Vec::new();
                for k in keys {
                    match self.read(&k) {
                        Some(r) if r.owner.as_deref() == Some(owner) => {
                            out.push(OwnerSession::from_record(k, &r));
                        }
                        _ => dead.push(k),
                    }
                }
                for k in dead {
                    unindex(self.owners(), owner, &k);
                }
                Ok(out)
            },
        )
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "delete_owner"),
            || -> Result<u64, Error> {
                let keys: Vec<StoreKey> = lock(self.owners())
                    .get(owner)
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_default();
                let mut n = 0;
                for k in keys {
                    if Some(&k) == keep {
                        continue;
                    }
                    let now = self.now();
                    let mut shard = self.inner.table.lock_key(&k);
                    match shard.get(&k) {
                        Some(r) if r.owner.as_deref() == Some(owner) => {
                            if !r.is_expired(now) {
                                n += 1;
                            }
                            self.inner.table.remove(&mut shard, &k);
                        }
                        _ => unindex(self.owners(), owner, &k),
                    }
                }
                Ok(n)
            },
        )
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        session_core::observe::run(
            session_core::store_call!("memory", "delete_expired"),
            || -> Result<u64, Error> { Ok(self.inner.table.sweep_all(self.now())) },
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
