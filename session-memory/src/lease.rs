//! The per-session lock, natively: a side table of leases beside the cache, changed under
//! the same shard mutex as the record, so that a holder's fenced save checks its
//! lease, stores and releases in one critical section.
//!
//! An entry outlives its release (its `until` is set to the release time) so that fencing
//! tokens only grow for as long as the session lives; it leaves with the record (delete,
//! rotation, expiry, eviction), so the table never holds more entries than the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use session_core::{Error, LockAttempt, Record, StoreKey, Timestamp};

use crate::{MemoryStore, lock};

/// One session's lease: the token of the latest acquisition and when it ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    token: u64,
    until: Timestamp,
}

/// Leases by store key.
pub(crate) type Leases = Arc<Mutex<HashMap<StoreKey, Lease>>>;

impl MemoryStore {
    pub(crate) fn acquire(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        let shard = self.inner.table.lock_key(key);
        shard.live(key, now).ok_or(Error::Gone)?;
        let mut leases = lock(&self.inner.table.leases);
        let lease = leases.entry(*key).or_insert(Lease {
            token: 0,
            until: now,
        });
        if now < lease.until {
            return Ok(LockAttempt::Held { until: lease.until });
        }
        lease.token += 1;
        lease.until = until;
        Ok(LockAttempt::Taken(lease.token))
    }

    pub(crate) fn save_fenced_native(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let mut shard = self.inner.table.lock_key(key);
        let current = shard.live(key, now).ok_or(Error::Gone)?;
        self.check_lease(key, token, now)?;
        if current.version != expected {
            return Err(Error::Conflict);
        }
        let owner_changed = current.owner != record.owner;
        self.end_lease(key, now);
        self.store_locked(
            &mut shard,
            key,
            owner_changed,
            record,
            || record.clone(),
            now,
        );
        Ok(())
    }

    pub(crate) fn release(&self, key: &StoreKey, token: u64, now: Timestamp) -> Result<(), Error> {
        let shard = self.inner.table.lock_key(key);
        shard.live(key, now).ok_or(Error::Gone)?;
        self.check_lease(key, token, now)?;
        self.end_lease(key, now);
        Ok(())
    }

    /// Caller holds the key's shard.
    fn check_lease(&self, key: &StoreKey, token: u64, now: Timestamp) -> Result<(), Error> {
        match lock(&self.inner.table.leases).get(key) {
            Some(l) if l.token == token && now < l.until => Ok(()),
            _ => Err(Error::LockLost),
        }
    }

    /// Caller holds the key's shard.
    fn end_lease(&self, key: &StoreKey, now: Timestamp) {
        if let Some(l) = lock(&self.inner.table.leases).get_mut(key) {
            l.until = now;
        }
    }
}

/// Drops `key`'s lease with its record.
pub(crate) fn forget(leases: &Mutex<HashMap<StoreKey, Lease>>, key: &StoreKey) {
    lock(leases).remove(key);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use session_core::{Clock, ManualClock, SessionStore, SharedClock};

    use super::*;

    /// The native lock lives beside the record: taking and releasing it leaves the record
    /// (and its version) as it was, and the table empties with the record.
    #[tokio::test]
    async fn lock_leaves_the_record_alone() {
        let clock = Arc::new(ManualClock::new());
        let store = MemoryStore::builder()
            .clock(clock.clone() as SharedClock)
            .build();
        let key = session_core::SessionId::generate().unwrap().store_key();
        let now = clock.now();
        let record = Record::new(now, now.plus(Duration::from_secs(60)));
        store.create(&key, &record).await.unwrap();
        let until = now.plus(Duration::from_secs(10));
        let LockAttempt::Taken(token) = store.acquire_lock(&key, now, until).await.unwrap() else {
            panic!("a free lock was not taken");
        };
        assert_eq!(
            store.acquire_lock(&key, now, until).await.unwrap(),
            LockAttempt::Held { until }
        );
        let loaded = store.load(&key).await.unwrap().unwrap();
        assert_eq!((loaded.version, loaded.lease), (record.version, None));
        store.release_lock(&key, token, now).await.unwrap();
        assert_eq!(
            store.load(&key).await.unwrap().unwrap().version,
            record.version
        );
        store.delete(&key).await.unwrap();
        assert!(store.inner.table.leases.lock().unwrap().is_empty());
    }
}
