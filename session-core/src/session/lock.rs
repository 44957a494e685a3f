//! The per-session lock, for what a replay cannot merge (a checkout, a one-time code).
//!
//! The lock is the store's: [`SessionStore::acquire_lock`](crate::SessionStore::acquire_lock)
//! and its two siblings, which each backend implements with its own primitive (a Redis
//! key set only if absent, with a check-and-delete release; a SQL lease column; a per-key
//! entry in memory) and any other store gets as a lease kept in the record. The promises,
//! proved on every backend by the conformance suite's `lock` cases:
//!
//! - **Exclusive**: of two concurrent takers exactly one gets the lock; the other sees it
//!   held and waits here, up to [`SessionConfig::lock_wait`](crate::SessionConfig::lock_wait).
//! - **Self-freeing**: a holder that dies leaves a lease that ends on its own after
//!   [`SessionConfig::lock_lease`](crate::SessionConfig::lock_lease).
//! - **Fenced**: every acquisition gets a larger token, and the holder's write goes through
//!   [`save_fenced`](crate::SessionStore::save_fenced), which the store refuses with
//!   [`Error::LockLost`] once the lease ran out or another holder took it.
//! - **Released by the holder's save**: the write that stores the holder's changes also
//!   ends its lease, in one store call; a holder with nothing to store releases it alone.
//!
//! Requests that do not take the lock are not held up by it; they still merge by
//! compare-and-swap. A rotation (a login) moves the session to a new id that starts
//! unlocked.

use std::time::{Duration, Instant};

use super::{Loaded, Session};
use crate::error::Error;
use crate::store::LockAttempt;

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
        let mut io = self.io().await;
        if let Some(token) = io.lease {
            return Ok(Fence(token));
        }
        match io.loaded {
            Loaded::Missing | Loaded::Ended | Loaded::Gone => return Err(Error::Gone),
            Loaded::NotYet | Loaded::Present(_) => {}
        }
        let key = self.current_key(&io)?;
        loop {
            let now = config.clock().now();
            let attempt = self
                .store()
                .acquire_lock(&key, now, now.plus(config.lock_lease()))
                .await;
            let waited = started.elapsed();
            match attempt {
                Ok(LockAttempt::Taken(token)) => {
                    crate::metric::lock_wait("taken", waited);
                    // What the critical section reads must be read under the lock.
                    io.loaded = Loaded::NotYet;
                    io.lease = Some(token);
                    return Ok(Fence(token));
                }
                Ok(LockAttempt::Held { .. }) | Err(Error::Conflict)
                    if waited >= config.lock_wait() =>
                {
                    crate::metric::lock_wait("timeout", waited);
                    return Err(Error::LockTimeout {
                        waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                Ok(LockAttempt::Held { .. }) => {
                    tokio::time::sleep(pause.min(config.lock_wait() - waited)).await;
                    pause = (pause * 2).min(MAX_POLL);
                }
                // A write raced the acquisition: look again at once.
                Err(Error::Conflict) => tokio::task::yield_now().await,
                Err(Error::Gone) => {
                    self.mark_ended(&mut io, false);
                    return Err(Error::Gone);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The fencing token of the lock this handle holds, if it holds one.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.lock().await?;
    /// let fence = session.fence().await.expect("held");
    /// // hand `fence.0` to a system that refuses writes with a smaller token
    /// # let _ = fence;
    /// # Ok(()) }
    /// ```
    pub async fn fence(&self) -> Option<Fence> {
        self.io().await.lease.map(Fence)
    }

    /// Releases the lock this handle holds, storing its pending changes in the same write
    /// (the same as [`Session::save`]).
    ///
    /// # Errors
    /// As [`Session::save`]; [`Error::LockLost`] when the lease had run out.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.lock().await?;
    /// session.insert("paid", &true)?;
    /// session.unlock().await?; // stores and releases in one write
    /// # Ok(()) }
    /// ```
    pub async fn unlock(&self) -> Result<(), Error> {
        self.save().await.map(drop)
    }
}
