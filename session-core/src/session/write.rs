//! The one compare-and-swap loop behind [`Session::save`], [`Session::rotate`] and
//! [`Session::login`], the creation of a new session, and the throttled touch.
//!
//! Each attempt builds the next record from the current one plus the change log, then
//! either saves it under the same key or rotates it to a new one (a rotation was asked
//! for, or the owner changes: a privilege change takes a new id). A conflict reloads and
//! replays; a session found gone is never recreated.

use std::sync::Arc;

use super::changes::Changes;
use super::{Io, Loaded, SaveReport, Session, Write, unreachable_loaded};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::id::{SessionId, ShardTag, StoreKey};
use crate::record::Record;
use crate::store::SessionStore;

impl Session {
    pub(super) async fn save_locked(
        &self,
        io: &mut Io,
        pending: &Changes,
    ) -> Result<SaveReport, Error> {
        match io.loaded {
            // Saving after this handle's own logout stores nothing, by design.
            Loaded::Ended => return Ok(SaveReport::default()),
            // Ended elsewhere: changes that cannot be stored are an error, not a success.
            Loaded::Gone if pending.is_empty() => return Ok(SaveReport::default()),
            Loaded::Gone => return Err(Error::Gone),
            _ => {}
        }
        if pending.is_empty() {
            if let Some(token) = io.lease {
                return self.release(io, token).await;
            }
            // A session nobody read is not loaded just to be touched: an untouched request
            // costs no store call.
            if matches!(io.loaded, Loaded::NotYet) {
                return Ok(SaveReport::default());
            }
            return self.maybe_touch(io).await;
        }
        self.ensure_loaded(io).await?;
        self.write_locked(io, pending, false).await
    }

    /// The loop: writes `pending` by compare-and-swap, rotating when `rotate` is set or the
    /// owner changes.
    pub(super) async fn write_locked(
        &self,
        io: &mut Io,
        pending: &Changes,
        rotate: bool,
    ) -> Result<SaveReport, Error> {
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
            let current = match &io.loaded {
                Loaded::Present(r) => r.clone(),
                Loaded::Missing => return self.create_locked(io, pending, report).await,
                Loaded::Ended | Loaded::Gone => return Err(Error::Gone),
                Loaded::NotYet => return unreachable_loaded(),
            };
            let key = self.current_key(io)?;
            let next = self.next_record(&current, pending, now)?;
            let rotating = rotate || next.owner != current.owner;
            let (result, new_id) = if rotating {
                let mut next = self.restart_if_asked(next, pending, now);
                // A new id starts unlocked, on every store: a lease kept in the record (the
                // trait's provided lock) must not move with it.
                next.lease = None;
                let new_id = SessionId::generate_with_tag(rotation_tag(
                    self.store(),
                    &key,
                    &current,
                    &next,
                )?)?;
                let r = self
                    .store()
                    .rotate(&key, &new_id.store_key(), &next, current.version)
                    .await;
                (r.map(|()| Arc::new(next)), Some(new_id))
            } else {
                let next = Arc::new(next);
                let r = match io.lease {
                    Some(token) => {
                        self.store()
                            .save_fenced(&key, &next, current.version, token, now)
                            .await
                    }
                    None => self.store().save_shared(&key, &next, current.version).await,
                };
                (r.map(|()| next), None)
            };
            match result {
                Ok(next) => {
                    io.events.remember_changed |= next.remember != current.remember;
                    io.loaded = Loaded::Present(next);
                    io.events.expiry_moved = true;
                    io.lease = None;
                    report.write = match new_id {
                        Some(id) => {
                            self.mark_moved(&key, current.version, now).await;
                            io.id = Some(id);
                            io.events.id_changed = true;
                            Write::Rotated
                        }
                        None => Write::Saved,
                    };
                    crate::metric::save_stored(report.attempts, report.overwritten.len());
                    return Ok(report);
                }
                Err(Error::Conflict) => {
                    crate::metric::save_conflict();
                    self.reload_after_conflict(io, &key, &current, pending, &mut report)
                        .await?;
                    // A loser yields so the winner's task can finish; under heavy
                    // contention this turns a spin into a queue.
                    tokio::task::yield_now().await;
                }
                // 2^-256 for a new id: only a broken random source or a faulty store.
                Err(Error::Collision) if rotating => {}
                Err(Error::Gone) => {
                    self.mark_ended(io, false);
                    return Err(Error::Gone);
                }
                Err(Error::LockLost) => {
                    io.lease = None;
                    return Err(Error::LockLost);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The record the next write stores: `current` with the changes applied, a new version
    /// and a fresh expiry. (A lock this handle holds is checked and released by the store,
    /// in `save_fenced`.)
    fn next_record(
        &self,
        current: &Record,
        pending: &Changes,
        now: Timestamp,
    ) -> Result<Record, Error> {
        let config = &self.inner.config;
        let mut next = Record::clone(current);
        pending.apply(&mut next)?;
        self.check_size(&next)?;
        next.version = current.version.wrapping_add(1);
        next.last_seen = now;
        next.expires_at = config.expires_at(now, next.absolute_deadline, next.remember);
        Ok(next)
    }

    /// Leaves a moved-id mark under the id a rotation left (see
    /// [`SessionConfig::with_rotation_grace`](crate::SessionConfig::with_rotation_grace)).
    /// Best effort: without it, an overlapping request with the old id is a new visitor,
    /// which is what it was before the mark existed; the rotation itself has succeeded.
    async fn mark_moved(&self, old: &StoreKey, last_version: u64, now: Timestamp) {
        let grace = self.inner.config.rotation_grace();
        if grace.is_zero() {
            return;
        }
        let mut mark = Record::moved_mark(now, now.plus(grace));
        // A version no request ever loaded from the old id: a write that loaded it before
        // the rotation conflicts, reloads, finds the mark, and is Gone.
        mark.version = last_version.wrapping_add(1);
        if let Err(e) = self.store().create(old, &mark).await {
            tracing::debug!(error = %e, "no moved-id mark left after a rotation");
        }
    }

    /// Releases the lock this handle holds when it has nothing else to store. The store
    /// refuses a lease that ran out, so a holder learns that it lost the lock.
    async fn release(&self, io: &mut Io, token: u64) -> Result<SaveReport, Error> {
        let key = self.current_key(io)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let now = self.inner.config.clock().now();
            match self.store().release_lock(&key, token, now).await {
                Ok(()) => {
                    io.lease = None;
                    // A store that keeps the lease in the record changed its version.
                    io.loaded = Loaded::NotYet;
                    return Ok(SaveReport {
                        write: Write::None,
                        attempts,
                        overwritten: Vec::new(),
                    });
                }
                Err(Error::Conflict) if attempts < self.inner.config.max_save_attempts() => {
                    tokio::task::yield_now().await;
                }
                Err(Error::Gone) => {
                    self.mark_ended(io, false);
                    return Err(Error::Gone);
                }
                Err(Error::LockLost) => {
                    io.lease = None;
                    return Err(Error::LockLost);
                }
                Err(Error::Conflict) => {
                    return Err(Error::TooManyConflicts { attempts });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A login restarts the lifetime: `created_at` is the sign-in time, and the absolute
    /// deadline counts from it; `authenticated_at` records it for recent-authentication
    /// checks.
    fn restart_if_asked(&self, mut next: Record, pending: &Changes, now: Timestamp) -> Record {
        if pending.restart_lifetime {
            let config = &self.inner.config;
            next.created_at = now;
            next.authenticated_at = Some(now);
            next.absolute_deadline = config.absolute_deadline(now);
            next.expires_at = config.expires_at(now, next.absolute_deadline, next.remember);
        }
        next
    }

    /// Creates the session for a visitor that had none (or whose id was unknown).
    async fn create_locked(
        &self,
        io: &mut Io,
        pending: &Changes,
        mut report: SaveReport,
    ) -> Result<SaveReport, Error> {
        if pending.stores_nothing_new() {
            return Ok(report);
        }
        // An id that was unknown when loaded may have been rotated away since (a login in
        // another tab, whose moved mark was still being written): look once more, so that
        // this request does not start a session whose cookie would replace the login's.
        if let Some(presented) = io.id.as_ref().map(SessionId::store_key) {
            if self
                .store()
                .load_shared(&presented)
                .await?
                .is_some_and(|r| r.is_moved_mark())
            {
                self.mark_ended(io, false);
                return Err(Error::Gone);
            }
        }
        let config = &self.inner.config;
        loop {
            let now = config.clock().now();
            let mut record = Record::new(now, now);
            record.absolute_deadline = config.absolute_deadline(now);
            record.user_agent.clone_from(&pending.user_agent);
            pending.apply(&mut record)?;
            record.expires_at = config.expires_at(now, record.absolute_deadline, record.remember);
            // A login on a visitor without a session: stamped as any login is.
            let record = self.restart_if_asked(record, pending, now);
            self.check_size(&record)?;
            // Never adopt an id the client made up: a new session gets a new id.
            let id = match record
                .owner
                .as_deref()
                .and_then(|o| self.store().owner_tag(o))
            {
                Some(t) => SessionId::generate_with_tag(t)?,
                None => SessionId::generate()?,
            };
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
                Err(Error::Collision) if report.attempts < config.max_save_attempts() => {
                    report.attempts += 1;
                }
                Err(e) => return Err(e),
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
            Some(fresh) if !fresh.is_moved_mark() && !self.inner.config.has_ended(&fresh, now) => {
                for (k, change) in &pending.data {
                    if change.overwrites()
                        && before.data.get(k) != fresh.data.get(k)
                        && !report.overwritten.contains(k)
                    {
                        report.overwritten.push(k.clone());
                    }
                }
                io.loaded = Loaded::Present(fresh);
                Ok(())
            }
            _ => {
                self.mark_ended(io, false);
                Err(Error::Gone)
            }
        }
    }

    pub(super) fn current_key(&self, io: &Io) -> Result<StoreKey, Error> {
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

    /// Moves the expiry when the throttle says so. A session found gone meanwhile is not
    /// an error here: this request stored nothing of its own.
    async fn maybe_touch(&self, io: &mut Io) -> Result<SaveReport, Error> {
        let config = &self.inner.config;
        let Loaded::Present(r) = &io.loaded else {
            return Ok(SaveReport::default());
        };
        let now = config.clock().now();
        if now.since(r.last_seen) < config.touch_after() {
            return Ok(SaveReport::default());
        }
        let expires_at = config.expires_at(now, r.absolute_deadline, r.remember);
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
                self.mark_ended(io, false);
                Ok(SaveReport::default())
            }
            Err(e) => Err(e),
        }
    }
}

/// The shard tag of a rotated id: the old one unless the owner changed, so that on Redis
/// Cluster a plain rotation stays inside one hash slot and is a single atomic script.
fn rotation_tag(
    store: &dyn SessionStore,
    old: &StoreKey,
    current: &Record,
    next: &Record,
) -> Result<ShardTag, Error> {
    Ok(match (&next.owner, &current.owner) {
        (Some(n), Some(o)) if n == o => old.tag(),
        // A new owner: the store's tag for them, or a fresh random one (never the old
        // tag, which the pre-login cookie showed).
        (Some(n), _) => match store.owner_tag(n) {
            Some(t) => t,
            None => ShardTag::random()?,
        },
        (None, _) => old.tag(),
    })
}
