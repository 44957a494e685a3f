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
//! | [`watch_end`](SessionStore::watch_end) | a hint when the record under a key may have ended elsewhere; provided as "no push mechanism" (callers poll), overridden by stores that have one |
//! | [`acquire_lock`](SessionStore::acquire_lock), [`save_fenced`](SessionStore::save_fenced), [`release_lock`](SessionStore::release_lock) | the per-session lock: exclusive, self-freeing after its lease, fenced; provided (a lease in the record), overridden by each backend with its own primitive |

use std::sync::Arc;

use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::ending::EndWatch;
use crate::error::Error;
use crate::id::{ShardTag, StoreKey};
use crate::record::{Lease, Record};

/// What [`SessionStore::acquire_lock`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockAttempt {
    /// The lock is this caller's, with this fencing token: larger than the token of every
    /// earlier acquisition of the same session's lock.
    Taken(u64),
    /// Another holder's lease runs until then.
    Held {
        /// When that lease ends unless released first.
        until: Timestamp,
    },
}

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

    /// The shard tag new sessions of `owner` get, or `None` for a random one (the default).
    ///
    /// Only a store that must keep an owner's keys together overrides it (Redis Cluster,
    /// where the owner index and the sessions share a hash slot only if they share a tag),
    /// and then with a keyed function ([`ShardTag::keyed`]): the tag is the first bytes of
    /// the session id, which travel in the cookie, so an unkeyed function of the user name
    /// would let anyone test candidate names against a cookie.
    fn owner_tag(&self, owner: &str) -> Option<ShardTag> {
        let _ = owner;
        None
    }

    /// A watch that wakes when the record under `key` may have ended on any node (deleted,
    /// its owner's sessions revoked, rotated away, swept), for a live connection that must
    /// close then. `None`, the provided answer, says the store has no push mechanism and
    /// the caller polls [`load`](Self::load) instead ([`crate::Session::ended`] does
    /// both). A wake-up is a hint, confirmed by a load; a store that overrides this must
    /// wake the watch for every deletion and rotation of `key` made through this trait,
    /// and wake every watch when its listener may have missed notices.
    ///
    /// # Errors
    /// Backend errors while starting the listener (the caller then polls).
    async fn watch_end(&self, key: &StoreKey) -> Result<Option<EndWatch>, Error> {
        let _ = key;
        Ok(None)
    }

    /// Takes the session's lock with a lease ending at `until`, unless a lease that is
    /// still running at `now` is held.
    ///
    /// The lock lives beside the record, not in its data: taking and releasing it must not
    /// change what [`load`](Self::load) returns, except in this provided version. That one
    /// works on any store: it keeps the lease in the record ([`Record::lease`]) and takes it
    /// by compare-and-swap, so it changes the record's version. Backends override the
    /// three lock methods with their own primitive (a Redis key set only if absent, a SQL
    /// lease column, a per-key entry in memory); the conformance suite's `lock` cases hold
    /// for both.
    ///
    /// # Errors
    /// [`Error::Gone`] if no live record exists; [`Error::Conflict`] when a concurrent
    /// write raced the acquisition (look again); backend errors.
    async fn acquire_lock(
        &self,
        key: &StoreKey,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<LockAttempt, Error> {
        let current = self.load(key).await?.ok_or(Error::Gone)?;
        if let Some(l) = current.lease.filter(|l| l.is_held(now)) {
            return Ok(LockAttempt::Held { until: l.until });
        }
        let token = current.lease.map_or(1, |l| l.token.wrapping_add(1));
        let mut next = current.clone();
        next.lease = Some(Lease { token, until });
        next.version = current.version.wrapping_add(1);
        self.save(key, &next, current.version).await?;
        Ok(LockAttempt::Taken(token))
    }

    /// [`save_shared`](Self::save_shared) by the holder of lock `token`: stores `record`
    /// only if that lease is still running at `now`, and releases the lock in the same
    /// atomic write.
    ///
    /// # Errors
    /// [`Error::LockLost`] when the lease ran out or another acquisition replaced it;
    /// otherwise as [`save`](Self::save).
    async fn save_fenced(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected_version: u64,
        token: u64,
        now: Timestamp,
    ) -> Result<(), Error> {
        let current = self.load(key).await?.ok_or(Error::Gone)?;
        if current.version != expected_version {
            return Err(Error::Conflict);
        }
        if !current.lease.is_some_and(|l| l.is_held_by(token, now)) {
            return Err(Error::LockLost);
        }
        // An acquisition in between changes the version, so this write then conflicts and
        // the caller's retry finds the lock lost.
        let mut next = Record::clone(record);
        next.lease = Some(Lease { token, until: now });
        self.save(key, &next, expected_version).await
    }

    /// Releases lock `token` without storing anything else.
    ///
    /// # Errors
    /// [`Error::LockLost`] when the lease had already run out or been replaced;
    /// [`Error::Gone`] if no live record exists; backend errors.
    async fn release_lock(&self, key: &StoreKey, token: u64, now: Timestamp) -> Result<(), Error> {
        let current = self.load(key).await?.ok_or(Error::Gone)?;
        if !current.lease.is_some_and(|l| l.is_held_by(token, now)) {
            return Err(Error::LockLost);
        }
        // One load, then the compare-and-swap: an acquisition in between changes the
        // version, so this write conflicts and the caller looks again.
        let mut next = current.clone();
        next.lease = Some(Lease { token, until: now });
        next.version = current.version.wrapping_add(1);
        self.save(key, &next, current.version).await
    }
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
            fn owner_tag(&self, owner: &str) -> Option<ShardTag> {
                (**self).owner_tag(owner)
            }
            async fn watch_end(&self, key: &StoreKey) -> Result<Option<EndWatch>, Error> {
                (**self).watch_end(key).await
            }

            async fn acquire_lock(
                &self,
                key: &StoreKey,
                now: Timestamp,
                until: Timestamp,
            ) -> Result<LockAttempt, Error> {
                (**self).acquire_lock(key, now, until).await
            }
            async fn save_fenced(
                &self,
                key: &StoreKey,
                record: &Arc<Record>,
                expected_version: u64,
                token: u64,
                now: Timestamp,
            ) -> Result<(), Error> {
                (**self)
                    .save_fenced(key, record, expected_version, token, now)
                    .await
            }
            async fn release_lock(
                &self,
                key: &StoreKey,
                token: u64,
                now: Timestamp,
            ) -> Result<(), Error> {
                (**self).release_lock(key, token, now).await
            }
        }
    };
}

forward!(Arc<S>);
forward!(Box<S>);
