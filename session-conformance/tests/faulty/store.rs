//! The faulty store: the correct [`ReferenceStore`] wrapped so that it breaks exactly one
//! promise, the one its [`Bug`] names. The first twenty bugs are written inline below; the
//! later ones (two-step writes, versions, owners, dead keys, siblings) are hooks in
//! `hooks.rs`, each asked first and answering `None` when its bug is not this store's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use session_conformance::{ManualClock, RawBytes, ReferenceStore};
use session_core::{
    Bytes, EndWatch, EndWatchers, Error, ErrorKind, OwnerSession, Record, SessionStore, StoreKey,
    Timestamp, async_trait,
};

use crate::bugs::Bug;

/// A correct store with one bug.
#[derive(Debug)]
pub(crate) struct Faulty {
    pub(crate) bug: Bug,
    pub(crate) inner: ReferenceStore,
    /// The fixture's sibling store (they share a map): what a store leaking across
    /// prefixes or tables reaches.
    pub(crate) sibling: ReferenceStore,
    pub(crate) clock: ManualClock,
    /// Every record ever written, by key: what a buggy store "remembers".
    pub(crate) shadow: Mutex<HashMap<StoreKey, Record>>,
    stale: Mutex<HashMap<StoreKey, Arc<Record>>>,
    pub(crate) created: Mutex<Vec<StoreKey>>,
    /// Bookkeeping of the hooks' bugs: owners at creation, rotations, extra index entries.
    pub(crate) notes: Mutex<crate::hooks::Notes>,
    /// Its own end notices (not the inner store's), so that a bug can leave one out.
    notices: EndWatchers,
}

impl Faulty {
    /// A store with `bug`, its sibling being `sibling`.
    pub(crate) fn new(bug: Bug, clock: ManualClock, sibling: ReferenceStore) -> Self {
        Self {
            bug,
            inner: ReferenceStore::new(Arc::new(clock.clone())),
            sibling,
            clock,
            shadow: Mutex::default(),
            stale: Mutex::default(),
            created: Mutex::default(),
            notes: Mutex::default(),
            notices: EndWatchers::new(),
        }
    }

    /// Pushes the end notice for `key`, unless `bug` is this store's.
    fn notify(&self, key: &StoreKey, unless: Bug) {
        if self.bug != unless {
            self.notices.ended(key);
        }
    }

    pub(crate) fn remember(&self, k: &StoreKey, r: &Record) {
        self.shadow.lock().unwrap().insert(*k, r.clone());
    }
    pub(crate) fn remembered(&self, k: &StoreKey) -> Option<Record> {
        self.shadow.lock().unwrap().get(k).cloned()
    }
    fn mangle(&self, r: &Record) -> Record {
        let mut r = r.clone();
        for v in r.data.values_mut() {
            match self.bug {
                Bug::TruncatesLargeValues if v.len() > 65_535 => *v = v.slice(..65_535),
                Bug::MangleBinaryValues => {
                    *v = Bytes::from(String::from_utf8_lossy(v).into_owned().into_bytes());
                }
                _ => {}
            }
        }
        r
    }
}

#[async_trait]
impl SessionStore for Faulty {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        if let Some(res) = self.hook_create(key, record).await {
            return res;
        }
        self.remember(key, record);
        self.created.lock().unwrap().push(*key);
        if self.bug == Bug::CreateOverwrites {
            self.inner.delete(key).await?;
        }
        self.inner.create(key, &self.mangle(record)).await
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        if let Some(res) = self.hook_load(key).await {
            return res;
        }
        if self.bug == Bug::ReturnsAnotherKeysRecord {
            let other = self.created.lock().unwrap().last().copied();
            if let Some(other) = other {
                return self.inner.load(&other).await;
            }
        }
        match self.inner.load(key).await {
            Ok(None) if self.bug == Bug::IgnoresExpiry => Ok(self.remembered(key)),
            Err(e) if self.bug == Bug::PanicsOnBadBytes && e.kind() == ErrorKind::BadData => {
                panic!("cannot decode")
            }
            Err(e) if self.bug == Bug::BadBytesLoadAsNone && e.kind() == ErrorKind::BadData => {
                Ok(None)
            }
            other => other,
        }
    }

    async fn load_shared(&self, key: &StoreKey) -> Result<Option<Arc<Record>>, Error> {
        if self.bug == Bug::SharedLoadCachesStale {
            if let Some(r) = self.stale.lock().unwrap().get(key) {
                return Ok(Some(r.clone()));
            }
            let r = self.load(key).await?.map(Arc::new);
            if let Some(r) = &r {
                self.stale.lock().unwrap().insert(*key, r.clone());
            }
            return Ok(r);
        }
        Ok(self.load(key).await?.map(Arc::new))
    }

    async fn save_shared(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
    ) -> Result<(), Error> {
        if self.bug == Bug::SharedSaveSkipsVersionCheck {
            return match self.inner.load(key).await? {
                Some(cur) => self.inner.save(key, record, cur.version).await,
                None => Err(Error::Gone),
            };
        }
        self.save(key, record, expected).await
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        if let Some(res) = self.hook_save(key, record, expected).await {
            return res;
        }
        let mut record = self.mangle(record);
        if self.bug == Bug::SaveIgnoresOwnerChange {
            if let Some(old) = self.inner.load(key).await? {
                record.owner = old.owner;
            }
        }
        let res = match self.bug {
            Bug::SkipsVersionCheck => match self.inner.load(key).await? {
                Some(cur) => self.inner.save(key, &record, cur.version).await,
                None => Err(Error::Gone),
            },
            Bug::UpsertsOnSave => match self.inner.save(key, &record, expected).await {
                Err(Error::Gone) => self.inner.create(key, &record).await,
                other => other,
            },
            Bug::SaveLiveAtExpiry => match self.inner.save(key, &record, expected).await {
                Err(Error::Gone) => match self.remembered(key) {
                    Some(old)
                        if old.version == expected
                            && old.expires_at == session_core::Clock::now(&self.clock) =>
                    {
                        self.inner.create(key, &record).await
                    }
                    _ => Err(Error::Gone),
                },
                other => other,
            },
            Bug::SaveKeepsExpiringNow
                if record.expires_at == session_core::Clock::now(&self.clock) =>
            {
                // Stored as if it had a millisecond left.
                record.expires_at = Timestamp::from_millis(record.expires_at.as_millis() + 1);
                self.inner.save(key, &record, expected).await
            }
            _ => self.inner.save(key, &record, expected).await,
        };
        if res.is_ok() {
            self.remember(key, &record);
        }
        res
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        if let Some(res) = self.hook_touch(key, expires_at, last_seen).await {
            return res;
        }
        match self.bug {
            Bug::TouchRevives => {
                if self.inner.load(key).await?.is_none() {
                    if let Some(mut r) = self.remembered(key) {
                        r.expires_at = expires_at;
                        r.last_seen = last_seen;
                        return self.inner.create(key, &r).await;
                    }
                }
                self.inner.touch(key, expires_at, last_seen).await
            }
            Bug::TouchRewritesData => {
                let cur = self.inner.load(key).await?.ok_or(Error::Gone)?;
                let mut r = cur.clone();
                r.data.clear();
                r.expires_at = expires_at;
                r.last_seen = last_seen;
                self.inner.save(key, &r, cur.version).await
            }
            _ => self.inner.touch(key, expires_at, last_seen).await,
        }
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        if self.bug == Bug::DeleteFailsOnMissing && self.inner.load(key).await?.is_none() {
            return Err(Error::Gone);
        }
        self.inner.delete(key).await?;
        self.notify(key, Bug::NoticeMissesDelete);
        Ok(())
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        if let Some(res) = self.hook_rotate(old, new, record, expected).await {
            return res;
        }
        self.remember(new, record);
        match self.bug {
            Bug::RotateLeavesOldLive => {
                let cur = self.inner.load(old).await?.ok_or(Error::Gone)?;
                if cur.version != expected {
                    return Err(Error::Conflict);
                }
                self.inner.create(new, record).await
            }
            Bug::RotateSkipsVersionCheck => {
                let cur = self.inner.load(old).await?.ok_or(Error::Gone)?;
                self.inner.rotate(old, new, record, cur.version).await
            }
            _ => {
                self.inner.rotate(old, new, record, expected).await?;
                self.notify(old, Bug::NoticeMissesRotate);
                Ok(())
            }
        }
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        if let Some(res) = self.hook_list_owner(owner).await {
            return res;
        }
        if self.bug == Bug::IndexKeepsDead {
            let shadow = self.shadow.lock().unwrap();
            return Ok(shadow
                .iter()
                .filter(|(_, r)| r.owner.as_deref() == Some(owner))
                .map(|(k, r)| OwnerSession::from_record(*k, r))
                .collect());
        }
        self.inner.list_owner(owner).await
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        if let Some(res) = self.hook_delete_owner(owner, keep).await {
            return res;
        }
        let keep = if self.bug == Bug::DeleteOwnerIgnoresKeep {
            None
        } else {
            keep
        };
        let listed = self.inner.list_owner(owner).await?;
        let n = self.inner.delete_owner(owner, keep).await?;
        for s in listed.iter().filter(|s| Some(&s.key) != keep) {
            self.notify(&s.key, Bug::NoticeMissesOwnerLogout);
        }
        Ok(n)
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        if let Some(res) = self.hook_delete_expired().await {
            return res;
        }
        if self.bug == Bug::CleanupRemovesLive {
            let keys: Vec<StoreKey> = self.shadow.lock().unwrap().keys().copied().collect();
            for k in keys {
                self.inner.delete(&k).await?;
            }
            return Ok(0);
        }
        self.inner.delete_expired().await
    }

    async fn watch_end(&self, key: &StoreKey) -> Result<Option<EndWatch>, Error> {
        Ok(Some(self.notices.watch(key)))
    }
}

#[async_trait]
impl RawBytes for Faulty {
    async fn write_raw(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: session_core::Envelope,
    ) -> Result<(), Error> {
        self.inner.write_raw(key, bytes, envelope).await
    }
}
