//! The per-request session handle, independent of HTTP.
//!
//! A [`Session`] is what a handler holds: typed `get`, `insert` and `remove`, then one
//! [`Session::save`] at the end of the request. It loads lazily (a request that never reads
//! the session costs no store call), keeps a per-key change log, and writes only when
//! something changed, or when the touch throttle says the expiry needs moving.
//!
//! Saves are compare-and-swap. When another request saved first, the store answers
//! [`Error::Conflict`]; the handle reloads, replays its own changes key by key on the fresh
//! record, and tries again (bounded). Two requests that change different keys both keep
//! their changes; when both change the same key the later save wins for that key, and
//! [`SaveReport::overwritten`] names it. A save never brings back a session that was
//! deleted meanwhile (a logout in another tab wins): it fails with [`Error::Gone`].
//!
//! Two locks, on purpose: `insert` and `remove` are synchronous (they only record a change),
//! so the change log sits behind a `std` mutex that is never held across an await; loading
//! and saving go through a tokio mutex so that two clones of one handle never race a
//! compare-and-swap against each other.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::SessionConfig;
use crate::error::Error;
use crate::id::{SessionId, ShardTag, StoreKey};
use crate::record::Record;
use crate::store::{OwnerSession, SessionStore};

/// A pending change to one data key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Set(Bytes),
    Remove,
}

#[derive(Debug, Default)]
struct Changes {
    data: BTreeMap<String, Change>,
    /// Remove every key first (applied before `data`).
    clear: bool,
    /// `Some(new_owner)` when the owner should change at the next write.
    owner: Option<Option<String>>,
    /// Restart the absolute lifetime at the next write (a (re-)authentication, R39).
    restart_lifetime: bool,
    user_agent: Option<String>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.data.is_empty() && !self.clear && self.owner.is_none() && !self.restart_lifetime
    }

    /// Merges `newer` (changes made while a save was in flight) over `self`.
    fn merge_newer(&mut self, newer: Changes) {
        if newer.clear {
            self.data.clear();
            self.clear = true;
        }
        self.data.extend(newer.data);
        if newer.owner.is_some() {
            self.owner = newer.owner;
        }
        if newer.user_agent.is_some() {
            self.user_agent = newer.user_agent;
        }
        self.restart_lifetime |= newer.restart_lifetime;
    }

    fn apply(&self, record: &mut Record) {
        if self.clear {
            record.data.clear();
        }
        for (k, c) in &self.data {
            match c {
                Change::Set(v) => {
                    record.data.insert(k.clone(), v.clone());
                }
                Change::Remove => {
                    record.data.remove(k);
                }
            }
        }
        if let Some(owner) = &self.owner {
            record.owner.clone_from(owner);
        }
    }
}

#[derive(Debug, Clone)]
enum Loaded {
    NotYet,
    /// No live record for the presented id (or no id at all).
    Missing,
    /// Shared with the store where it keeps records in memory (see
    /// [`SessionStore::load_shared`]): reads never copy it, writes build a new one.
    Present(Arc<Record>),
    /// Destroyed by this handle, or found deleted by a concurrent request.
    Ended,
}

/// What happened to the session that the cookie must reflect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CookieEvents {
    /// A new id was issued (created or rotated): the cookie must be set.
    pub id_changed: bool,
    /// The expiry moved (a save or a touch): a cookie with `Max-Age` must be refreshed.
    pub expiry_moved: bool,
    /// The session ended: a cookie the client sent must be expired.
    pub ended: bool,
}

/// What a [`Session::save`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveReport {
    /// Which store write, if any, was made.
    pub write: Write,
    /// Compare-and-swap attempts (1 when nothing conflicted).
    pub attempts: u32,
    /// Keys this save changed that another request had changed since this one loaded
    /// them: the other request's value was replaced.
    pub overwritten: Vec<String>,
}

/// The store write a save made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Write {
    /// Nothing needed writing.
    #[default]
    None,
    /// A new record was created.
    Created,
    /// The record was replaced (compare-and-swap).
    Saved,
    /// Only the expiry moved.
    Touched,
    /// The session moved to a new id.
    Rotated,
}

#[derive(Debug)]
struct Io {
    id: Option<SessionId>,
    loaded: Loaded,
    events: CookieEvents,
    /// The id the client presented, kept to know whether an ended session needs its
    /// cookie expired.
    presented: bool,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn SessionStore>,
    config: Arc<SessionConfig>,
    changes: Mutex<Changes>,
    io: tokio::sync::Mutex<Io>,
}

/// A handle on one session for the length of one request (or job, or socket task).
///
/// Clones share state.
///
/// # Example
/// ```
/// # use std::sync::Arc;
/// # use session_core::{Session, SessionConfig, SessionStore};
/// # async fn demo(store: Arc<dyn SessionStore>) -> Result<(), session_core::Error> {
/// let config = Arc::new(SessionConfig::default());
/// // A first request: nothing presented, something stored.
/// let session = Session::new(store.clone(), config.clone(), None);
/// session.insert("cart", &vec!["apple"])?;
/// let _ = session.save().await?;
/// let id = session.id().await.expect("created");
///
/// // A later request presents the id.
/// let session = Session::new(store, config, Some(id));
/// let cart: Option<Vec<String>> = session.get("cart").await?;
/// assert_eq!(cart, Some(vec!["apple".to_string()]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl Session {
    /// A handle for the session identified by `id` (as presented by the client, already
    /// verified by the caller), or for a new visitor when `id` is `None`. Nothing is loaded
    /// until a method needs it.
    pub fn new(
        store: Arc<dyn SessionStore>,
        config: Arc<SessionConfig>,
        id: Option<SessionId>,
    ) -> Self {
        let presented = id.is_some();
        let loaded = if presented {
            Loaded::NotYet
        } else {
            Loaded::Missing
        };
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                changes: Mutex::new(Changes::default()),
                io: tokio::sync::Mutex::new(Io {
                    id,
                    loaded,
                    events: CookieEvents::default(),
                    presented,
                }),
            }),
        }
    }

    /// The store as a trait object. Calling through `&dyn` rather than `Arc<dyn>` matters:
    /// `Arc<S>` implements the trait too, and going through that forwarding impl would box
    /// every store future twice.
    fn store(&self) -> &dyn SessionStore {
        self.inner.store.as_ref()
    }

    /// The I/O state, locked. Almost always uncontended (one request, one task), and
    /// `try_lock` is a single atomic operation where `lock().await` builds and polls a
    /// semaphore waiter: the fast path saves a memory-store read about 110 instructions.
    async fn io(&self) -> tokio::sync::MutexGuard<'_, Io> {
        match self.inner.io.try_lock() {
            Ok(guard) => guard,
            Err(_) => self.inner.io.lock().await,
        }
    }

    fn changes(&self) -> MutexGuard<'_, Changes> {
        // A poisoned lock means a panic elsewhere while recording a change; the map itself
        // is still consistent (every mutation is a single insert), so keep using it.
        self.inner
            .changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The typed value under `key`, including this request's own pending changes.
    ///
    /// # Errors
    /// Store errors from the lazy load; [`Error::Value`] if the stored value does not
    /// deserialize as `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.get_raw(key).await? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|source| Error::Value {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// The serialized bytes under `key`.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    pub async fn get_raw(&self, key: &str) -> Result<Option<Bytes>, Error> {
        {
            let c = self.changes();
            match c.data.get(key) {
                Some(Change::Set(v)) => return Ok(Some(v.clone())),
                Some(Change::Remove) => return Ok(None),
                None if c.clear => return Ok(None),
                None => {}
            }
        }
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        Ok(match &io.loaded {
            Loaded::Present(r) => r.data.get(key).cloned(),
            _ => None,
        })
    }

    /// The data keys, including this request's own pending changes.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    pub async fn keys(&self) -> Result<Vec<String>, Error> {
        let mut keys: std::collections::BTreeSet<String> = {
            let mut io = self.io().await;
            self.ensure_loaded(&mut io).await?;
            match &io.loaded {
                Loaded::Present(r) => r.data.keys().cloned().collect(),
                _ => Default::default(),
            }
        };
        let c = self.changes();
        if c.clear {
            keys.clear();
        }
        for (k, change) in &c.data {
            match change {
                Change::Set(_) => {
                    keys.insert(k.clone());
                }
                Change::Remove => {
                    keys.remove(k);
                }
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// Stores `value` under `key` (saved by the next [`Session::save`]).
    ///
    /// # Errors
    /// [`Error::Value`] if `value` does not serialize; [`Error::TooLarge`] if it alone is
    /// over the configured limit. Nothing is recorded on error.
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|source| Error::Value {
            key: key.to_owned(),
            source,
        })?;
        self.insert_raw(key, Bytes::from(bytes))
    }

    /// Stores already-serialized bytes under `key`; [`Session::get_raw`] returns them as
    /// they are (binary-safe). Read them back with `get_raw`, not `get`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if the value is over the configured limit.
    pub fn insert_raw(&self, key: &str, value: Bytes) -> Result<(), Error> {
        let limit = self.inner.config.max_data_bytes();
        let size = key.len() + value.len();
        if size > limit {
            return Err(Error::TooLarge { size, limit });
        }
        self.changes()
            .data
            .insert(key.to_owned(), Change::Set(value));
        Ok(())
    }

    /// Removes `key` (at the next save).
    pub fn remove(&self, key: &str) {
        self.changes().data.insert(key.to_owned(), Change::Remove);
    }

    /// Removes every key (at the next save); the session itself stays.
    pub fn clear(&self) {
        let mut c = self.changes();
        c.data.clear();
        c.clear = true;
    }

    /// Records the client's user agent, shown on a "your devices" page; kept only when the
    /// session is created.
    pub fn set_user_agent(&self, ua: &str) {
        // Bounded: a header can be large, and this value is stored with every session.
        let ua: String = ua.chars().take(256).collect();
        self.changes().user_agent = Some(ua);
    }

    /// The current id, if the session exists or was presented.
    pub async fn id(&self) -> Option<SessionId> {
        let io = self.io().await;
        match io.loaded {
            Loaded::Ended => None,
            _ => io.id.clone(),
        }
    }

    /// What the cookie must reflect after this request.
    pub async fn cookie_events(&self) -> CookieEvents {
        self.io().await.events
    }

    /// The loaded record's expiry, if there is a live record.
    pub async fn expires_at(&self) -> Option<crate::Timestamp> {
        match &self.io().await.loaded {
            Loaded::Present(r) => Some(r.expires_at),
            _ => None,
        }
    }

    /// True if the store was asked for this session (or it was found to be new).
    pub async fn was_loaded(&self) -> bool {
        !matches!(self.io().await.loaded, Loaded::NotYet)
    }

    /// True if there are changes not yet saved.
    pub fn is_modified(&self) -> bool {
        !self.changes().is_empty()
    }

    /// True if a live session exists (loading it if needed).
    ///
    /// # Errors
    /// Store errors from the lazy load.
    pub async fn exists(&self) -> Result<bool, Error> {
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        Ok(matches!(io.loaded, Loaded::Present(_)))
    }

    /// The owner (the authenticated user) of this session, if any.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    pub async fn owner(&self) -> Result<Option<String>, Error> {
        if let Some(o) = &self.changes().owner {
            return Ok(o.clone());
        }
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        Ok(match &io.loaded {
            Loaded::Present(r) => r.owner.clone(),
            _ => None,
        })
    }

    async fn ensure_loaded(&self, io: &mut Io) -> Result<(), Error> {
        if !matches!(io.loaded, Loaded::NotYet) {
            return Ok(());
        }
        let Some(id) = &io.id else {
            io.loaded = Loaded::Missing;
            return Ok(());
        };
        let key = id.store_key();
        let now = self.inner.config.clock().now();
        match self.store().load_shared(&key).await? {
            Some(r) if !self.inner.config.has_ended(&r, now) => io.loaded = Loaded::Present(r),
            Some(_) => {
                // Live for the store but over our (possibly stricter) limits: end it, so it
                // cannot come back if the limits are relaxed again.
                self.store().delete(&key).await?;
                io.loaded = Loaded::Missing;
                io.events.ended = true;
            }
            None => {
                io.loaded = Loaded::Missing;
                io.events.ended = io.presented;
            }
        }
        Ok(())
    }

    /// Writes pending changes, creating the session if needed, or touches it when the
    /// throttle says so. Does nothing when nothing changed and the session is fresh.
    ///
    /// # Errors
    /// [`Error::Gone`] if the session was deleted meanwhile (it is not recreated);
    /// [`Error::TooLarge`] over the data limit; [`Error::TooManyConflicts`] when the
    /// compare-and-swap kept losing; store errors. On error the pending changes are kept,
    /// except after `Gone`.
    pub async fn save(&self) -> Result<SaveReport, Error> {
        let mut io = self.io().await;
        let pending = std::mem::take(&mut *self.changes());
        let result = self.save_locked(&mut io, &pending).await;
        match &result {
            Err(e) if e.kind() != crate::ErrorKind::Gone => {
                let newer = std::mem::take(&mut *self.changes());
                let mut restored = pending;
                restored.merge_newer(newer);
                *self.changes() = restored;
            }
            _ => {}
        }
        result
    }

    async fn save_locked(&self, io: &mut Io, pending: &Changes) -> Result<SaveReport, Error> {
        if matches!(io.loaded, Loaded::Ended) {
            return Ok(SaveReport::default());
        }
        if pending.is_empty() {
            // A session nobody read is not loaded just to be touched: an untouched request
            // costs no store call.
            if matches!(io.loaded, Loaded::NotYet) {
                return Ok(SaveReport::default());
            }
            return self.maybe_touch(io).await;
        }
        self.ensure_loaded(io).await?;
        let config = &self.inner.config;
        let mut report = SaveReport::default();
        loop {
            report.attempts += 1;
            if report.attempts > config.max_save_attempts() {
                return Err(Error::TooManyConflicts {
                    attempts: report.attempts - 1,
                });
            }
            let now = config.clock().now();
            match &io.loaded {
                Loaded::Present(current) => {
                    let key = self.current_key(io)?;
                    let mut next = Record::clone(current);
                    pending.apply(&mut next);
                    self.check_size(&next)?;
                    next.version = current.version.wrapping_add(1);
                    next.last_seen = now;
                    next.expires_at = config.expires_at(now, next.absolute_deadline);
                    let owner_changed = next.owner != current.owner;
                    if owner_changed {
                        // An owner change is a privilege change: it takes a new id.
                        return self.rotate_locked(io, pending, report).await;
                    }
                    let next = Arc::new(next);
                    match self.store().save_shared(&key, &next, current.version).await {
                        Ok(()) => {
                            io.loaded = Loaded::Present(next);
                            io.events.expiry_moved = true;
                            report.write = Write::Saved;
                            return Ok(report);
                        }
                        Err(Error::Conflict) => {
                            let before = current.clone();
                            self.reload_after_conflict(io, &key, &before, pending, &mut report)
                                .await?;
                            // A loser yields so the winner's task can finish; under heavy
                            // contention this turns a spin into a queue.
                            tokio::task::yield_now().await;
                        }
                        Err(Error::Gone) => {
                            io.loaded = Loaded::Ended;
                            io.events.ended = true;
                            return Err(Error::Gone);
                        }
                        Err(e) => return Err(e),
                    }
                }
                Loaded::Missing => {
                    let only_removals = !pending.data.values().any(|c| matches!(c, Change::Set(_)))
                        && pending.owner.as_ref().is_none_or(Option::is_none);
                    if only_removals {
                        return Ok(report);
                    }
                    let mut record = Record::new(now, now);
                    record.absolute_deadline = config.absolute_deadline(now);
                    record.expires_at = config.expires_at(now, record.absolute_deadline);
                    record.user_agent.clone_from(&pending.user_agent);
                    pending.apply(&mut record);
                    self.check_size(&record)?;
                    // Never adopt an id the client made up: a new session gets a new id.
                    let tag = match &record.owner {
                        Some(o) => ShardTag::for_owner(o),
                        None => ShardTag::random()?,
                    };
                    let id = SessionId::generate_with_tag(tag)?;
                    match self.store().create(&id.store_key(), &record).await {
                        Ok(()) => {
                            io.id = Some(id);
                            io.loaded = Loaded::Present(Arc::new(record));
                            io.events.id_changed = true;
                            io.events.expiry_moved = true;
                            io.events.ended = false;
                            report.write = Write::Created;
                            return Ok(report);
                        }
                        // 2^-256: only a broken random source or a faulty store gets here.
                        Err(Error::Collision) => continue,
                        Err(e) => return Err(e),
                    }
                }
                Loaded::Ended => return Err(Error::Gone),
                Loaded::NotYet => unreachable_loaded()?,
            }
        }
    }

    async fn reload_after_conflict(
        &self,
        io: &mut Io,
        key: &StoreKey,
        before: &Record,
        pending: &Changes,
        report: &mut SaveReport,
    ) -> Result<(), Error> {
        let now = self.inner.config.clock().now();
        match self.store().load_shared(key).await? {
            Some(fresh) if !self.inner.config.has_ended(&fresh, now) => {
                for k in pending.data.keys() {
                    if before.data.get(k) != fresh.data.get(k) && !report.overwritten.contains(k) {
                        report.overwritten.push(k.clone());
                    }
                }
                io.loaded = Loaded::Present(fresh);
                Ok(())
            }
            _ => {
                io.loaded = Loaded::Ended;
                io.events.ended = true;
                Err(Error::Gone)
            }
        }
    }

    fn current_key(&self, io: &Io) -> Result<StoreKey, Error> {
        io.id.as_ref().map(SessionId::store_key).ok_or(Error::Gone)
    }

    fn check_size(&self, r: &Record) -> Result<(), Error> {
        let size: usize = r.data.iter().map(|(k, v)| k.len() + v.len()).sum();
        let limit = self.inner.config.max_data_bytes();
        if size > limit {
            return Err(Error::TooLarge { size, limit });
        }
        Ok(())
    }

    async fn maybe_touch(&self, io: &mut Io) -> Result<SaveReport, Error> {
        let config = &self.inner.config;
        let Loaded::Present(r) = &io.loaded else {
            return Ok(SaveReport::default());
        };
        let now = config.clock().now();
        if now.since(r.last_seen) < config.touch_after() {
            return Ok(SaveReport::default());
        }
        let expires_at = config.expires_at(now, r.absolute_deadline);
        let key = self.current_key(io)?;
        match self.store().touch(&key, expires_at, now).await {
            Ok(()) => {
                if let Loaded::Present(r) = &mut io.loaded {
                    // Copies the record only if the store shares it (a memory store).
                    let r = Arc::make_mut(r);
                    r.expires_at = expires_at;
                    r.last_seen = now;
                }
                io.events.expiry_moved = true;
                Ok(SaveReport {
                    write: Write::Touched,
                    attempts: 1,
                    overwritten: Vec::new(),
                })
            }
            Err(Error::Gone) => {
                io.loaded = Loaded::Ended;
                io.events.ended = true;
                Err(Error::Gone)
            }
            Err(e) => Err(e),
        }
    }

    /// Moves the session to a new id, keeping its data and pending changes. Call it when
    /// privileges change; [`Session::login`] does it for you.
    ///
    /// # Errors
    /// As [`Session::save`].
    pub async fn rotate(&self) -> Result<SaveReport, Error> {
        let mut io = self.io().await;
        let pending = std::mem::take(&mut *self.changes());
        let result = async {
            self.ensure_loaded(&mut io).await?;
            self.rotate_locked(&mut io, &pending, SaveReport::default())
                .await
        }
        .await;
        if let Err(e) = &result {
            if e.kind() != crate::ErrorKind::Gone {
                let newer = std::mem::take(&mut *self.changes());
                let mut restored = pending;
                restored.merge_newer(newer);
                *self.changes() = restored;
            }
        }
        result
    }

    /// Marks the session as `owner`'s and rotates its id (no session fixation): the data
    /// gathered before login (a cart) is kept.
    ///
    /// # Errors
    /// As [`Session::save`].
    pub async fn login(&self, owner: &str) -> Result<SaveReport, Error> {
        {
            let mut c = self.changes();
            c.owner = Some(Some(owner.to_owned()));
            // Authentication restarts both the idle and the absolute clock (NIST SP
            // 800-63B-4 §5.2); `created_at` becomes the sign-in time shown on "your devices".
            c.restart_lifetime = true;
        }
        self.rotate().await
    }

    async fn rotate_locked(
        &self,
        io: &mut Io,
        pending: &Changes,
        mut report: SaveReport,
    ) -> Result<SaveReport, Error> {
        let config = &self.inner.config;
        loop {
            report.attempts += 1;
            if report.attempts > config.max_save_attempts() {
                return Err(Error::TooManyConflicts {
                    attempts: report.attempts - 1,
                });
            }
            let now = config.clock().now();
            let current = match &io.loaded {
                Loaded::Present(r) => r.clone(),
                Loaded::Missing => {
                    // Nothing stored yet: creating is already a fresh id.
                    let mut with_marker = Changes {
                        data: pending.data.clone(),
                        clear: pending.clear,
                        owner: pending.owner.clone(),
                        user_agent: pending.user_agent.clone(),
                        restart_lifetime: pending.restart_lifetime,
                    };
                    if with_marker.owner.is_none() && with_marker.data.is_empty() {
                        // A rotation of nothing stores nothing.
                        with_marker.clear = false;
                        return Ok(report);
                    }
                    let mut r = Box::pin(self.save_locked(io, &with_marker)).await?;
                    r.attempts += report.attempts - 1;
                    return Ok(r);
                }
                Loaded::Ended | Loaded::NotYet => return Err(Error::Gone),
            };
            let old_key = self.current_key(io)?;
            let mut next = Record::clone(&current);
            pending.apply(&mut next);
            self.check_size(&next)?;
            if pending.restart_lifetime {
                next.created_at = now;
                next.absolute_deadline = config.absolute_deadline(now);
            }
            next.version = current.version.wrapping_add(1);
            next.last_seen = now;
            next.expires_at = config.expires_at(now, next.absolute_deadline);
            // Keep the old tag unless the owner changed, so that on Redis Cluster a plain
            // rotation stays inside one hash slot and is a single atomic script.
            let tag = match (&next.owner, &current.owner) {
                (Some(n), Some(o)) if n == o => old_key.tag(),
                (Some(n), _) => ShardTag::for_owner(n),
                (None, _) => old_key.tag(),
            };
            let new_id = SessionId::generate_with_tag(tag)?;
            let new_key = new_id.store_key();
            match self
                .store()
                .rotate(&old_key, &new_key, &next, current.version)
                .await
            {
                Ok(()) => {
                    io.id = Some(new_id);
                    io.loaded = Loaded::Present(Arc::new(next));
                    io.events.id_changed = true;
                    io.events.expiry_moved = true;
                    report.write = Write::Rotated;
                    return Ok(report);
                }
                Err(Error::Conflict) => {
                    self.reload_after_conflict(io, &old_key, &current, pending, &mut report)
                        .await?;
                    tokio::task::yield_now().await;
                }
                Err(Error::Collision) => continue,
                Err(Error::Gone) => {
                    io.loaded = Loaded::Ended;
                    io.events.ended = true;
                    return Err(Error::Gone);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends the session: deletes the record and drops pending changes (logout).
    ///
    /// # Errors
    /// Store errors; the session is then still alive and the call may be repeated.
    pub async fn destroy(&self) -> Result<(), Error> {
        let mut io = self.io().await;
        if let Some(id) = &io.id {
            self.store().delete(&id.store_key()).await?;
        }
        *self.changes() = Changes::default();
        io.loaded = Loaded::Ended;
        io.events.ended = true;
        Ok(())
    }

    /// The live sessions of this session's owner, for a "your devices" page; the boolean
    /// marks this one. Empty for an anonymous session.
    ///
    /// # Errors
    /// Store errors.
    pub async fn owner_sessions(&self) -> Result<Vec<(OwnerSession, bool)>, Error> {
        let Some(owner) = self.owner().await? else {
            return Ok(Vec::new());
        };
        let current = self.id().await.map(|i| i.store_key());
        let mut list = self.store().list_owner(&owner).await?;
        list.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
        Ok(list
            .into_iter()
            .map(|s| {
                let here = Some(s.key) == current;
                (s, here)
            })
            .collect())
    }

    /// "Log out my other devices": deletes every session of this owner but this one.
    ///
    /// # Errors
    /// Store errors.
    pub async fn revoke_other_sessions(&self) -> Result<u64, Error> {
        let Some(owner) = self.owner().await? else {
            return Ok(0);
        };
        let current = self.id().await.map(|i| i.store_key());
        self.inner
            .store
            .as_ref()
            .delete_owner(&owner, current.as_ref())
            .await
    }

    /// Deletes one session of this owner, named by its store key (from
    /// [`Session::owner_sessions`]). A key that is not this owner's is left alone, so a
    /// forged form cannot end another user's session. Returns whether one was deleted.
    ///
    /// # Errors
    /// Store errors.
    pub async fn revoke_session(&self, key: &StoreKey) -> Result<bool, Error> {
        let Some(owner) = self.owner().await? else {
            return Ok(false);
        };
        let list = self.store().list_owner(&owner).await?;
        if !list.iter().any(|s| &s.key == key) {
            return Ok(false);
        }
        self.store().delete(key).await?;
        if self.id().await.is_some_and(|i| &i.store_key() == key) {
            let mut io = self.io().await;
            io.loaded = Loaded::Ended;
            io.events.ended = true;
        }
        Ok(true)
    }

    /// "Log out everywhere": deletes every session of this owner, this one included.
    ///
    /// # Errors
    /// Store errors.
    pub async fn revoke_all_sessions(&self) -> Result<u64, Error> {
        let Some(owner) = self.owner().await? else {
            return Ok(0);
        };
        let n = self.store().delete_owner(&owner, None).await?;
        let mut io = self.io().await;
        io.loaded = Loaded::Ended;
        io.events.ended = true;
        *self.changes() = Changes::default();
        Ok(n)
    }
}

/// `ensure_loaded` runs before every match on the load state; reaching `NotYet` after it
/// would be a bug in this module, reported as an error rather than a panic.
fn unreachable_loaded() -> Result<(), Error> {
    Err(Error::Misconfigured {
        problem: "session state was read before it was loaded",
    })
}
