//! The per-session lock, for what a replay cannot merge (a checkout, a one-time code).
//!
//! The lock is a lease kept in the record itself ([`crate::record::Lease`]) and taken by
//! the same compare-and-swap every store already proves in the conformance suite, so every
//! backend, a third party's included, gets the same lock with the same promises:
//!
//! - **Exclusive**: taking it is a compare-and-swap from "free or expired" to "held by
//!   token t+1"; of two concurrent takers exactly one wins, the other sees it held.
//! - **Self-freeing**: a holder that dies leaves a lease that ends on its own after
//!   [`SessionConfig::lock_lease`](crate::SessionConfig::lock_lease).
//! - **Fenced**: every write by the holder checks, inside its compare-and-swap, that the
//!   stored lease still carries its token and has not run out; otherwise the write fails
//!   with [`Error::LockLost`]. A new holder's acquisition changes the record's version, so
//!   a stale holder's write always conflicts and sees the new token.
//! - **Released by the holder's save**: the write that stores the holder's changes also
//!   ends its lease, in one store call.
//!
//! Requests that do not take the lock are not held up by it; they still merge by
//! compare-and-swap, and carry the lease over unchanged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Loaded, Session, unreachable_loaded};
use crate::error::Error;
use crate::record::{Lease, Record};

/// The fencing token of a lock acquisition: larger for every later acquisition of the same
/// session's lock. Hand it to anything the holder writes to, so that it can refuse a holder
/// whose lease ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fence(pub u64);

/// Longest pause between two looks at a held lock.
const MAX_POLL: Duration = Duration::from_millis(25);

impl Session {
    /// Takes exclusive use of this session: until this handle saves (or its lease runs
    /// out), every other [`Session::lock`] on the same session waits. Take it before
    /// reading what the critical section depends on; the record is reloaded after the
    /// lock is taken. Calling it again while holding the lock returns the same token.
    ///
    /// # Errors
    /// [`Error::LockTimeout`] after [`SessionConfig::lock_wait`](crate::SessionConfig::lock_wait)
    /// while another handle holds it; [`Error::Gone`] when there is no live session to lock;
    /// store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let fence = session.lock().await?;          // others now wait
    /// let code: Option<String> = session.get("one_time_code").await?;
    /// session.remove("one_time_code");            // used at most once
    /// session.save().await?;                      // stores and releases, in one write
    /// # let _ = (fence, code); Ok(()) }
    /// ```
    pub async fn lock(&self) -> Result<Fence, Error> {
        let config = self.inner.config.clone();
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let mut lost_races = 0u32;
        let mut io = self.io().await;
        if let Some(token) = io.lease {
            return Ok(Fence(token));
        }
        loop {
            self.ensure_loaded(&mut io).await?;
            let current = match &io.loaded {
                Loaded::Present(r) => r.clone(),
                Loaded::Missing | Loaded::Ended | Loaded::Gone => return Err(Error::Gone),
                Loaded::NotYet => return unreachable_loaded(),
            };
            let now = config.clock().now();
            let waited = started.elapsed();
            let held = current.lease.is_some_and(|l| l.is_held(now));
            // Bounded whether the lock is held or the takers keep conflicting.
            if (held || lost_races > 0) && waited >= config.lock_wait() {
                return Err(Error::LockTimeout {
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                });
            }
            if held {
                tokio::time::sleep(pause.min(config.lock_wait() - waited)).await;
                pause = (pause * 2).min(MAX_POLL);
                io.loaded = Loaded::NotYet;
                continue;
            }
            let token = current.lease.map_or(1, |l| l.token.wrapping_add(1));
            let mut next = Record::clone(&current);
            next.lease = Some(Lease {
                token,
                until: now.plus(config.lock_lease()),
            });
            next.version = current.version.wrapping_add(1);
            let next = Arc::new(next);
            let key = self.current_key(&io)?;
            match self.store().save_shared(&key, &next, current.version).await {
                Ok(()) => {
                    io.loaded = Loaded::Present(next);
                    io.lease = Some(token);
                    return Ok(Fence(token));
                }
                Err(Error::Conflict) => {
                    lost_races += 1;
                    io.loaded = Loaded::NotYet;
                    tokio::task::yield_now().await;
                }
                Err(Error::Gone) => {
                    self.mark_ended(&mut io, false);
                    return Err(Error::Gone);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The fencing token of the lock this handle holds, if it holds one.
    pub async fn fence(&self) -> Option<Fence> {
        self.io().await.lease.map(Fence)
    }

    /// Releases the lock this handle holds, storing its pending changes in the same write
    /// (the same as [`Session::save`]).
    ///
    /// # Errors
    /// As [`Session::save`]; [`Error::LockLost`] when the lease had run out.
    pub async fn unlock(&self) -> Result<(), Error> {
        self.save().await.map(drop)
    }
}
