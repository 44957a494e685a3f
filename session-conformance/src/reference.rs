//! A reference store: small enough to be obviously correct, and keeping encoded bytes.
//!
//! It exists for two reasons. The suite's own tests wrap it in deliberately faulty stores
//! to prove that each broken promise is caught; and because it stores what
//! [`Record::encode`] produces, it exercises the decode path the `bad_bytes` cases need.
//! Every operation takes one mutex and scans where it must: it is an oracle, not a product.
//! It pushes end notices ([`SessionStore::watch_end`]) the simplest way, in process, so the
//! suite's `live` cases see both a pushing store (this one) and polling ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use session_core::{
    EndWatch, EndWatchers, Envelope, Error, OwnerSession, Record, SessionStore, SharedClock,
    StoreKey, Timestamp, async_trait,
};

use crate::RawBytes;

#[derive(Debug, Clone)]
struct Entry {
    /// The record's body, as every backend stores it.
    bytes: Vec<u8>,
    /// Its envelope, kept apart as every backend keeps it natively.
    envelope: Envelope,
    owner: Option<String>,
}

impl Entry {
    fn record(&self) -> Result<Record, Error> {
        Record::decode(&self.bytes, self.envelope)
    }
}

/// The reference store. See the module docs.
#[derive(Debug, Clone)]
pub struct ReferenceStore {
    map: Arc<Mutex<HashMap<StoreKey, Entry>>>,
    clock: SharedClock,
    watchers: EndWatchers,
}

impl ReferenceStore {
    /// An empty store reading time from `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            map: Arc::default(),
            clock,
            watchers: EndWatchers::new(),
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<StoreKey, Entry>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn live<'a>(
        map: &'a HashMap<StoreKey, Entry>,
        key: &StoreKey,
        now: Timestamp,
    ) -> Option<&'a Entry> {
        map.get(key).filter(|e| now < e.envelope.expires_at)
    }

    fn entry(record: &Record) -> Result<Entry, Error> {
        Ok(Entry {
            bytes: record.encode()?,
            envelope: record.envelope(),
            owner: record.owner.clone(),
        })
    }

    fn live_version(
        map: &HashMap<StoreKey, Entry>,
        key: &StoreKey,
        now: Timestamp,
    ) -> Result<u64, Error> {
        let e = Self::live(map, key, now).ok_or(Error::Gone)?;
        Ok(e.record()?.version)
    }
}

#[async_trait]
impl SessionStore for ReferenceStore {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        let now = self.clock.now();
        let mut map = self.map();
        if Self::live(&map, key, now).is_some() {
            return Err(Error::Collision);
        }
        map.insert(*key, Self::entry(record)?);
        Ok(())
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        let now = self.clock.now();
        let map = self.map();
        match Self::live(&map, key, now) {
            Some(e) => Ok(Some(e.record()?)),
            None => Ok(None),
        }
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        let now = self.clock.now();
        let mut map = self.map();
        if Self::live_version(&map, key, now)? != expected {
            return Err(Error::Conflict);
        }
        if record.is_expired(now) {
            map.remove(key);
            self.watchers.ended(key);
        } else {
            map.insert(*key, Self::entry(record)?);
        }
        Ok(())
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let mut map = self.map();
        if Self::live(&map, key, now).is_none() {
            return Err(Error::Gone);
        }
        // A touch moves the envelope only; the body's bytes stay as they are.
        if let Some(e) = map.get_mut(key) {
            e.envelope = Envelope {
                expires_at,
                last_seen: last_seen.max(e.envelope.last_seen),
            };
        }
        Ok(())
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        self.map().remove(key);
        self.watchers.ended(key);
        Ok(())
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let mut map = self.map();
        if Self::live_version(&map, old, now)? != expected {
            return Err(Error::Conflict);
        }
        if Self::live(&map, new, now).is_some() {
            return Err(Error::Collision);
        }
        map.insert(*new, Self::entry(record)?);
        map.remove(old);
        self.watchers.ended(old);
        Ok(())
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        let now = self.clock.now();
        let map = self.map();
        let mut out = Vec::new();
        for (k, e) in map.iter() {
            if now < e.envelope.expires_at && e.owner.as_deref() == Some(owner) {
                out.push(OwnerSession::from_record(*k, &e.record()?));
            }
        }
        Ok(out)
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        let now = self.clock.now();
        let mut map = self.map();
        let doomed: Vec<StoreKey> = map
            .iter()
            .filter(|(k, e)| e.owner.as_deref() == Some(owner) && Some(*k) != keep)
            .map(|(k, _)| *k)
            .collect();
        let mut n = 0;
        for k in doomed {
            if map.remove(&k).is_some_and(|e| now < e.envelope.expires_at) {
                n += 1;
            }
            self.watchers.ended(&k);
        }
        Ok(n)
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        let now = self.clock.now();
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, e| now < e.envelope.expires_at);
        Ok((before - map.len()) as u64)
    }

    async fn watch_end(&self, key: &StoreKey) -> Result<Option<EndWatch>, Error> {
        Ok(Some(self.watchers.watch(key)))
    }
}

#[async_trait]
impl RawBytes for ReferenceStore {
    async fn write_raw(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: Envelope,
    ) -> Result<(), Error> {
        self.map().insert(
            *key,
            Entry {
                bytes: bytes.to_vec(),
                envelope,
                owner: None,
            },
        );
        Ok(())
    }
}
