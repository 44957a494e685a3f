//! The sessions of a memory store: 64 shards, each a hash map behind its own mutex, under
//! one byte budget.
//!
//! Why not moka, the store's first engine: every write already took one of 64 striped
//! mutexes for its compare-and-swap, so moka's lock-free machinery ran under a lock anyway,
//! and its insert (weigher, per-entry timer wheel, frequency sketch, eviction listener) was
//! 6,400 of the 16,600 instructions of a typical request, its two lookups another 3,700
//! (callgrind, `benches/examples/prof.rs`). A map under the shard's mutex does the same job
//! in a few hundred, and the mutex that serialises a key's writers is the map's own.
//!
//! - **Budget.** Every entry weighs its record's approximate size, and at least
//!   `max_bytes / max_entries`, so one budget caps both bytes and entries. A write that
//!   takes the total over it evicts, from its own shard, the soonest-expiring of up to
//!   eight sampled entries (expired ones go first: they expire soonest), until the total is
//!   back under; never the entry it has just written. When its shard holds nothing else,
//!   it evicts from the first other shard it can lock without waiting.
//! - **Expiry.** Readers check `expires_at` against the store's clock, so an expired
//!   record is never returned. Each shard sweeps out its expired entries once it has taken
//!   as many writes as it held entries after its last sweep (so about one entry looked at
//!   per write), and
//!   [`MemoryStore::entry_count`](crate::MemoryStore::entry_count) and `delete_expired`
//!   sweep every shard.
//! - **Side tables.** Whatever leaves a shard (a removal, an eviction, a sweep) leaves the
//!   owner index and the lease table with it, in the same critical section.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use session_core::{Record, StoreKey, Timestamp};

use crate::{OwnerIndex, lock, unindex};

/// Number of shards; a key's shard is the first byte of its hash, modulo this.
pub(crate) const SHARDS: usize = 64;

/// Entries looked at to choose one to evict.
const SAMPLE: usize = 8;

/// Hashes a [`StoreKey`] by taking bytes of its SHA-256 half as they are.
///
/// The default SipHash exists to stop an attacker from choosing keys that collide; store
/// keys are SHA-256 outputs of ids the server generated (an id the client makes up is never
/// stored), so they are already uniform and cannot be chosen. SipHash over 34 bytes was a
/// tenth of a memory-store load in profiles.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Fold up to the first 8 bytes of each write; `StoreKey`'s hash field is written
        // as one 32-byte slice, whose first 8 bytes are as random as any.
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(b);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type KeyHasherBuilder = std::hash::BuildHasherDefault<KeyHasher>;

/// A stored record and the weight it was counted with.
pub(crate) struct Entry {
    pub(crate) record: Arc<Record>,
    weight: u64,
}

/// One shard's map, its writes since its last sweep, and how many writes make the next:
/// as many as the shard held after the last (at least 16), so sweeping costs about one
/// entry looked at per write, and expired entries are never more than the live ones plus
/// the writes since.
#[derive(Default)]
pub(crate) struct Shard {
    map: HashMap<StoreKey, Entry, KeyHasherBuilder>,
    writes: usize,
    sweep_after: usize,
}

impl Shard {
    /// The record under `key`, expired or not.
    pub(crate) fn get(&self, key: &StoreKey) -> Option<&Arc<Record>> {
        self.map.get(key).map(|e| &e.record)
    }

    /// The record under `key` if it has not expired at `now`.
    pub(crate) fn live(&self, key: &StoreKey, now: Timestamp) -> Option<&Arc<Record>> {
        self.get(key).filter(|r| !r.is_expired(now))
    }
}

/// The shards, the budget, and the side tables that follow removals.
pub(crate) struct Table {
    shards: Box<[Mutex<Shard>]>,
    bytes: AtomicU64,
    max_bytes: u64,
    min_weight: u64,
    pub(crate) owners: OwnerIndex,
    pub(crate) leases: crate::lease::Leases,
}

impl Table {
    pub(crate) fn new(max_bytes: u64, max_entries: u64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            bytes: AtomicU64::new(0),
            max_bytes,
            min_weight: (max_bytes / max_entries.max(1)).max(1),
            owners: OwnerIndex::default(),
            leases: crate::lease::Leases::default(),
        }
    }

    /// The shard `key` lives in.
    pub(crate) fn shard_of(key: &StoreKey) -> usize {
        usize::from(key.hash()[0]) % SHARDS
    }

    /// Locks shard `i`.
    pub(crate) fn lock(&self, i: usize) -> MutexGuard<'_, Shard> {
        lock(&self.shards[i])
    }

    /// Locks `key`'s shard.
    pub(crate) fn lock_key(&self, key: &StoreKey) -> MutexGuard<'_, Shard> {
        self.lock(Self::shard_of(key))
    }

    /// Entries held, expired or not.
    pub(crate) fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.lock(i).map.len()).sum()
    }

    fn weight(&self, r: &Record) -> u64 {
        u64::try_from(r.approximate_size())
            .unwrap_or(u64::MAX)
            .max(self.min_weight)
    }

    /// Stores `record` under `key` in `shard` (the key's shard, locked by the caller),
    /// returning what it replaced, then keeps the shard swept and the budget kept. The
    /// caller keeps the owner index in step for the replaced record; evicted and swept
    /// entries leave it here.
    pub(crate) fn put(
        &self,
        shard: &mut Shard,
        key: &StoreKey,
        record: Arc<Record>,
        now: Timestamp,
    ) -> Option<Arc<Record>> {
        let weight = self.weight(&record);
        self.bytes.fetch_add(weight, Ordering::Relaxed);
        let old = shard.map.insert(*key, Entry { record, weight });
        if let Some(old) = &old {
            self.bytes.fetch_sub(old.weight, Ordering::Relaxed);
        }
        shard.writes += 1;
        if shard.writes >= shard.sweep_after {
            self.sweep(shard, now);
        }
        if self.over_budget() {
            self.evict(shard, key);
        }
        old.map(|e| e.record)
    }

    /// Removes `key` from `shard` with its lease and owner-index entry.
    pub(crate) fn remove(&self, shard: &mut Shard, key: &StoreKey) -> Option<Arc<Record>> {
        let e = shard.map.remove(key)?;
        self.bytes.fetch_sub(e.weight, Ordering::Relaxed);
        self.forget(key, &e.record);
        Some(e.record)
    }

    /// Removes the entries of `shard` that have expired at `now`; returns how many.
    pub(crate) fn sweep(&self, shard: &mut Shard, now: Timestamp) -> u64 {
        let mut n = 0;
        shard.map.retain(|k, e| {
            if !e.record.is_expired(now) {
                return true;
            }
            self.bytes.fetch_sub(e.weight, Ordering::Relaxed);
            self.forget(k, &e.record);
            n += 1;
            false
        });
        shard.writes = 0;
        shard.sweep_after = shard.map.len().max(16);
        n
    }

    /// Sweeps every shard; returns how many expired entries left.
    pub(crate) fn sweep_all(&self, now: Timestamp) -> u64 {
        (0..SHARDS)
            .map(|i| self.sweep(&mut self.lock(i), now))
            .sum()
    }

    fn over_budget(&self) -> bool {
        self.bytes.load(Ordering::Relaxed) > self.max_bytes
    }

    /// Evicts from `shard` (`keep`'s) until under budget, sparing `keep`; when the shard
    /// has nothing else to give, from the first other shard that is free.
    fn evict(&self, shard: &mut Shard, keep: &StoreKey) {
        let i = Self::shard_of(keep);
        while self.over_budget() {
            if !self.evict_one(shard, Some(keep)) {
                break;
            }
        }
        for j in 1..SHARDS {
            if !self.over_budget() {
                return;
            }
            let mut other = match self.shards[(i + j) % SHARDS].try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                // Held (perhaps by this very write, a rotation's second shard): never wait
                // for a second shard while holding one.
                Err(TryLockError::WouldBlock) => continue,
            };
            while self.over_budget() && self.evict_one(&mut other, None) {}
        }
    }

    /// Evicts the soonest-expiring of a few entries of `shard`, other than `keep`; false
    /// when there is none.
    fn evict_one(&self, shard: &mut Shard, keep: Option<&StoreKey>) -> bool {
        let victim = shard
            .map
            .iter()
            .filter(|(k, _)| Some(*k) != keep)
            .take(SAMPLE)
            .min_by_key(|(_, e)| e.record.expires_at)
            .map(|(k, _)| *k);
        match victim {
            Some(k) => self.remove(shard, &k).is_some(),
            None => false,
        }
    }

    /// The side tables' part of a removal.
    fn forget(&self, key: &StoreKey, record: &Record) {
        crate::lease::forget(&self.leases, key);
        if let Some(owner) = &record.owner {
            unindex(&self.owners, owner, key);
        }
    }
}
