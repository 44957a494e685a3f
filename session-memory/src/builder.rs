//! [`MemoryStoreBuilder`]: the cache's bounds, its per-entry expiry and its key hasher.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use moka::sync::Cache;
use session_core::{Record, SharedClock, StoreKey, SystemClock};

use crate::{Inner, MemoryStore, OwnerIndex, STRIPES, unindex};

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

/// Builds a [`MemoryStore`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    max_bytes: u64,
    max_entries: u64,
    clock: SharedClock,
}

impl Default for MemoryStoreBuilder {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            max_entries: 1_000_000,
            clock: Arc::new(SystemClock),
        }
    }
}

impl MemoryStoreBuilder {
    /// Total bytes of session data kept before eviction (default 256 MiB).
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    /// Sessions kept before eviction (default one million).
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// The clock that decides expiry (tests pass a `ManualClock`).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the store.
    pub fn build(self) -> MemoryStore {
        let owners: OwnerIndex = Arc::default();
        let min_weight =
            u32::try_from((self.max_bytes / self.max_entries).max(1)).unwrap_or(u32::MAX);
        let listener_owners = owners.clone();
        let leases: crate::lease::Leases = Arc::default();
        let listener_leases = leases.clone();
        let cache = Cache::builder()
            .max_capacity(self.max_bytes)
            .weigher(move |_k: &StoreKey, v: &Arc<Record>| {
                u32::try_from(v.approximate_size())
                    .unwrap_or(u32::MAX)
                    .max(min_weight)
            })
            .expire_after(RecordExpiry {
                clock: self.clock.clone(),
            })
            .eviction_listener(move |k: Arc<StoreKey>, v: Arc<Record>, cause| {
                // Explicit removals and replacements keep the index in step themselves;
                // only removals moka decides on its own need the index fixed here.
                if matches!(cause, RemovalCause::Expired | RemovalCause::Size) {
                    crate::lease::forget(&listener_leases, &k);
                    if let Some(owner) = &v.owner {
                        unindex(&listener_owners, owner, &k);
                    }
                }
            })
            .build_with_hasher(KeyHasherBuilder::default());
        MemoryStore {
            inner: Arc::new(Inner {
                cache,
                stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
                owners,
                leases,
                clock: self.clock,
            }),
        }
    }
}

struct RecordExpiry {
    clock: SharedClock,
}

impl RecordExpiry {
    fn remaining(&self, r: &Record) -> Option<Duration> {
        Some(self.clock.now().until(r.expires_at))
    }
}

impl moka::Expiry<StoreKey, Arc<Record>> for RecordExpiry {
    fn expire_after_create(&self, _: &StoreKey, v: &Arc<Record>, _: Instant) -> Option<Duration> {
        self.remaining(v)
    }
    fn expire_after_update(
        &self,
        _: &StoreKey,
        v: &Arc<Record>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.remaining(v)
    }
}
