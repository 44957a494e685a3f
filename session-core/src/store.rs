//! The store trait: the contract every backend keeps.
//!
//! A store maps a [`StoreKey`] to a [`Record`]. It never sees session ids, only their
//! hashes. All methods are single atomic operations from the caller's point of view; the
//! conformance suite (`session-conformance`) is the executable form of this contract, and a
//! behaviour it does not test is not promised.
//!
//! | operation | promise |
//! |---|---|
//! | [`create`](SessionStore::create) | insert if absent; a taken key is [`Error::Collision`], never an overwrite |
//! | [`load`](SessionStore::load) | a missing or expired record is `None`, even before the backend removed it |
//! | [`load_shared`](SessionStore::load_shared), [`save_shared`](SessionStore::save_shared) | `load` and `save` for a reference-counted record; provided, overridden only by stores that keep records in memory |
//! | [`save`](SessionStore::save) | compare-and-swap on the version: stale is [`Error::Conflict`], dead is [`Error::Gone`]; never resurrects |
//! | [`touch`](SessionStore::touch) | moves expiry and last-seen, leaves data alone, never revives |
//! | [`delete`](SessionStore::delete) | idempotent |
//! | [`rotate`](SessionStore::rotate) | new key, same data, atomic; the owner index follows |
//! | [`list_owner`](SessionStore::list_owner) | live sessions of an owner only |
//! | [`delete_owner`](SessionStore::delete_owner) | all of an owner's sessions, or all but one |
//! | [`delete_expired`](SessionStore::delete_expired) | removes only expired records; safe to run concurrently |

use std::sync::Arc;

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::error::Error;
use crate::id::StoreKey;
use crate::record::Record;

/// One live session of an owner, as a "your devices" page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerSession {
    /// The session's store key (a hash; safe to put in a form to revoke it).
    pub key: StoreKey,
    /// When the session was created.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_seen: Timestamp,
    /// When it will expire unless used.
    pub expires_at: Timestamp,
    /// The user agent that created it.
    pub user_agent: Option<String>,
}

impl OwnerSession {
    /// The listing entry for `record` stored under `key`.
    pub fn from_record(key: StoreKey, record: &Record) -> Self {
        Self {
            key,
            created_at: record.created_at,
            last_seen: record.last_seen,
            expires_at: record.expires_at,
            user_agent: record.user_agent.clone(),
        }
    }
}

/// Storage for session records.
///
/// Implementations must be safe to share between tasks (`Arc<dyn SessionStore>`), and every
/// method is one atomic operation against the backend.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// Inserts `record` under `key` if no live record is there.
    ///
    /// # Errors
    /// [`Error::Collision`] if a live record exists under `key`; backend errors.
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error>;

    /// The live record under `key`, or `None` if there is none or it has expired.
    ///
    /// # Errors
    /// [`Error::Decode`] when the stored bytes are unreadable; backend errors.
    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error>;

    /// [`load`](Self::load), returning a reference-counted record. The session handle calls
    /// this one: a store that keeps decoded records in memory hands out its own copy
    /// instead of cloning it on every request. The default wraps `load`; the contract is
    /// the same, and the conformance suite checks both. A store that overrides it must
    /// never change a record it has handed out: every write stores a new one.
    ///
    /// # Errors
    /// As [`load`](Self::load).
    async fn load_shared(&self, key: &StoreKey) -> Result<Option<Arc<Record>>, Error> {
        Ok(self.load(key).await?.map(Arc::new))
    }

    /// Replaces the record under `key` with `record` if the stored version is
    /// `expected_version` and the stored record is live.
    ///
    /// A `record` whose `expires_at` has already passed deletes the session instead.
    ///
    /// # Errors
    /// [`Error::Conflict`] on a version mismatch; [`Error::Gone`] if no live record exists
    /// (the save never creates one); backend errors.
    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
    ) -> Result<(), Error>;

    /// [`save`](Self::save) of a reference-counted record, which a store that keeps records
    /// in memory can keep without copying. The session handle calls this one; the default
    /// calls `save`, with the same contract.
    ///
    /// # Errors
    /// As [`save`](Self::save).
    async fn save_shared(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected_version: u64,
    ) -> Result<(), Error> {
        self.save(key, record, expected_version).await
    }

    /// Sets the live record's expiry and last-seen time without changing its data or version.
    ///
    /// # Errors
    /// [`Error::Gone`] if no live record exists (a touch never revives); backend errors.
    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error>;

    /// Removes the record under `key`; removing a missing record succeeds.
    ///
    /// # Errors
    /// Backend errors only.
    async fn delete(&self, key: &StoreKey) -> Result<(), Error>;

    /// Atomically moves the session at `old` (which must be live at `expected_version`) to
    /// `new`, storing `record` there (its owner may differ from the old one's, as at login).
    /// Afterwards `old` loads nothing and the owner index lists `new`.
    ///
    /// # Errors
    /// [`Error::Conflict`] on a version mismatch; [`Error::Gone`] if `old` is not live;
    /// [`Error::Collision`] if `new` is taken; backend errors.
    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected_version: u64,
    ) -> Result<(), Error>;

    /// The live sessions whose owner is `owner`, in no particular order.
    ///
    /// # Errors
    /// Backend errors.
    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error>;

    /// Deletes every session of `owner` except `keep` (when given); returns how many were
    /// deleted.
    ///
    /// # Errors
    /// Backend errors.
    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error>;

    /// Removes expired records; returns how many. Backends with native expiry may do nothing.
    ///
    /// # Errors
    /// Backend errors.
    async fn delete_expired(&self) -> Result<u64, Error>;
}

macro_rules! forward {
    ($ty:ty) => {
        #[async_trait]
        impl<S: SessionStore + ?Sized> SessionStore for $ty {
            async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
                (**self).create(key, record).await
            }
            async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
                (**self).load(key).await
            }
            async fn load_shared(&self, key: &StoreKey) -> Result<Option<Arc<Record>>, Error> {
                (**self).load_shared(key).await
            }
            async fn save_shared(
                &self,
                key: &StoreKey,
                record: &Arc<Record>,
                expected_version: u64,
            ) -> Result<(), Error> {
                (**self).save_shared(key, record, expected_version).await
            }
            async fn save(
                &self,
                key: &StoreKey,
                record: &Record,
                expected_version: u64,
            ) -> Result<(), Error> {
                (**self).save(key, record, expected_version).await
            }
            async fn touch(
                &self,
                key: &StoreKey,
                expires_at: Timestamp,
                last_seen: Timestamp,
            ) -> Result<(), Error> {
                (**self).touch(key, expires_at, last_seen).await
            }
            async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
                (**self).delete(key).await
            }
            async fn rotate(
                &self,
                old: &StoreKey,
                new: &StoreKey,
                record: &Record,
                expected_version: u64,
            ) -> Result<(), Error> {
                (**self).rotate(old, new, record, expected_version).await
            }
            async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
                (**self).list_owner(owner).await
            }
            async fn delete_owner(
                &self,
                owner: &str,
                keep: Option<&StoreKey>,
            ) -> Result<u64, Error> {
                (**self).delete_owner(owner, keep).await
            }
            async fn delete_expired(&self) -> Result<u64, Error> {
                (**self).delete_expired().await
            }
        }
    };
}

forward!(Arc<S>);
forward!(Box<S>);
