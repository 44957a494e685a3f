//! The per-request session handle, independent of HTTP.
//!
//! A [`Session`] is what a handler holds: typed `get`, `insert`, `update` and `remove`, then
//! one [`Session::save`] at the end of the request. It loads lazily (a request that never
//! reads the session costs no store call), keeps a per-key change log, and writes only when
//! something changed, or when the touch throttle says the expiry needs moving.
//!
//! Saves are compare-and-swap. When another request saved first, the store answers
//! [`Error::Conflict`]; the handle reloads, replays its own changes key by key on the fresh
//! record, and tries again (bounded). What a replay merges:
//!
//! | change | on a conflict |
//! |---|---|
//! | [`Session::update`] | the closure runs again on the fresh value: concurrent updates of one key all take effect |
//! | [`Session::insert`], [`Session::remove`] | the same value is written again: last writer wins for that key, and [`SaveReport::overwritten`] names it |
//! | changes to different keys | both kept |
//!
//! A save never brings back a session that was deleted meanwhile (a logout in another tab
//! wins): it fails with [`Error::Gone`] and stores nothing. What a replay cannot merge (a
//! checkout, a one-time code) takes the session's lock, [`Session::lock`].
//!
//! Two locks inside the handle, on purpose: `insert` and `remove` are synchronous (they
//! only record a change), so the change log sits behind a `std` mutex that is never held
//! across an await; loading and saving go through a tokio mutex so that two clones of one
//! handle never race a compare-and-swap against each other.
//!
//! | module | job |
//! |---|---|
//! | `changes` | the change log and how it replays |
//! | `data` | reading and changing the session's values: `get`, `insert`, `update`, `remove` |
//! | `write` | the one compare-and-swap loop behind save, rotate and login; the touch |
//! | `live` | [`Session::ended`]: a live connection learns that its session ended elsewhere |
//! | `lock` | the per-session lock, through the store's own lock primitive |
//! | `owner` | "your devices" and revocation |
//! | `remember` | "remember me": the cookie's persistence, chosen per session |
//! | `authenticated` | when the owner last logged in, for recent-authentication checks |
//! | `report` | [`CookieEvents`], [`SaveReport`], [`Write`] |

mod authenticated;
mod changes;
mod data;
mod live;
mod lock;
mod owner;
mod remember;
mod report;
mod write;

use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::SessionConfig;
use crate::error::Error;
use crate::id::SessionId;
use crate::record::Record;
use crate::store::SessionStore;

use changes::Changes;
pub use live::Ended;
pub use lock::Fence;
pub use report::{CookieEvents, SaveReport, Write};

#[derive(Debug, Clone)]
enum Loaded {
    NotYet,
    /// No live record for the presented id (or no id at all).
    Missing,
    /// Shared with the store where it keeps records in memory (see
    /// [`SessionStore::load_shared`]): reads never copy it, writes build a new one.
    Present(Arc<Record>),
    /// Ended by this handle (logout, revocation of itself, its limits ran out).
    Ended,
    /// Found deleted or moved by another request after it was loaded.
    Gone,
}

#[derive(Debug)]
struct Io {
    id: Option<SessionId>,
    loaded: Loaded,
    events: CookieEvents,
    /// The fencing token of the lock this handle holds, if it took it.
    lease: Option<u64>,
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
    ///
    /// # Example
    /// ```
    /// # use std::sync::Arc;
    /// # use session_core::{Session, SessionConfig, SessionId, SessionStore};
    /// # fn demo(store: Arc<dyn SessionStore>, from_cookie: Option<SessionId>) {
    /// let config = Arc::new(SessionConfig::default());
    /// let session = Session::new(store, config, from_cookie); // no store call yet
    /// # let _ = session; }
    /// ```
    pub fn new(
        store: Arc<dyn SessionStore>,
        config: Arc<SessionConfig>,
        id: Option<SessionId>,
    ) -> Self {
        let loaded = if id.is_some() {
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
                    lease: None,
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

    /// Puts back changes taken for a write that failed, under any made meanwhile; after
    /// [`Error::Gone`] there is nothing to put them back into.
    fn restore(&self, pending: Changes, error: &Error) {
        if error.kind() == crate::ErrorKind::Gone {
            return;
        }
        let newer = std::mem::take(&mut *self.changes());
        let mut restored = pending;
        restored.merge_newer(newer);
        *self.changes() = restored;
    }

    /// The one place a session ends for this handle. `here` is true when this handle ended
    /// it (the cookie must then be expired); false when another request did.
    fn mark_ended(&self, io: &mut Io, here: bool) {
        io.lease = None;
        if here {
            io.loaded = Loaded::Ended;
            io.events.ended = true;
            *self.changes() = Changes::default();
        } else {
            io.loaded = Loaded::Gone;
        }
    }

    /// The current id, if the session exists or was presented.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.insert("x", &1)?;
    /// session.save().await?;
    /// let id = session.id().await.expect("created"); // what the signed cookie carries
    /// # let _ = id;
    /// # Ok(()) }
    /// ```
    pub async fn id(&self) -> Option<SessionId> {
        let io = self.io().await;
        match io.loaded {
            Loaded::Ended | Loaded::Gone => None,
            _ => io.id.clone(),
        }
    }

    /// What the cookie must reflect after this request.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.save().await?;
    /// let events = session.cookie_events().await;
    /// if events.id_changed {
    ///     // send the new cookie
    /// } else if events.ended {
    ///     // expire the cookie
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn cookie_events(&self) -> CookieEvents {
        self.io().await.events
    }

    /// The loaded record's expiry, if there is a live record.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let when = session.expires_at().await; // None when there is no session
    /// # let _ = when;
    /// # Ok(()) }
    /// ```
    pub async fn expires_at(&self) -> Option<crate::Timestamp> {
        match &self.io().await.loaded {
            Loaded::Present(r) => Some(r.expires_at),
            _ => None,
        }
    }

    /// True if the store was asked for this session (or it was found to be new).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// if !session.was_loaded().await {
    ///     // nothing read the session: no Vary: Cookie needed
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn was_loaded(&self) -> bool {
        !matches!(self.io().await.loaded, Loaded::NotYet)
    }

    /// True if there are changes not yet saved.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.insert("x", &1)?;
    /// assert!(session.is_modified());
    /// # Ok(()) }
    /// ```
    pub fn is_modified(&self) -> bool {
        !self.changes().is_empty()
    }

    /// True if a live session exists (loading it if needed).
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// if session.exists().await? {
    ///     println!("a returning visitor");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self) -> Result<bool, Error> {
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        Ok(matches!(io.loaded, Loaded::Present(_)))
    }

    /// The owner (the authenticated user) of this session, if any.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let user: Option<String> = session.owner().await?;
    /// # let _ = user;
    /// # Ok(()) }
    /// ```
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
            // Rotated away (a login in another tab): ended elsewhere, cookie left alone.
            Some(r) if r.is_moved_mark() => io.loaded = Loaded::Gone,
            Some(r) if !self.inner.config.has_ended(&r, now) => io.loaded = Loaded::Present(r),
            Some(_) => {
                // Live for the store but over our (possibly stricter) limits: end it, so it
                // cannot come back if the limits are relaxed again. This request saw its
                // own session run out: its cookie is expired.
                self.store().delete(&key).await?;
                self.mark_ended(io, true);
                io.loaded = Loaded::Missing;
                crate::metric::cookie_rejection("expired");
                tracing::debug!(key = ?key, "presented session id over its time limits; ended");
            }
            // Unknown or dead: a new visitor as far as this request goes, but the cookie is
            // left alone (a login in another tab may have replaced it already). Counted, so
            // that guessing shows (R16); the key in the event is its keyed log tag.
            None => {
                io.loaded = Loaded::Missing;
                crate::metric::cookie_rejection("unknown");
                tracing::debug!(key = ?key, "presented session id unknown to the store");
            }
        }
        Ok(())
    }

    /// Writes pending changes, creating the session if needed, or touches it when the
    /// throttle says so. Does nothing when nothing changed and the session is fresh. A
    /// handle that holds the session's lock releases it with this write.
    ///
    /// # Errors
    /// [`Error::Gone`] if the session was deleted or moved meanwhile and there were changes
    /// to store (they are not stored, and the session is not recreated);
    /// [`Error::TooLarge`] over the data limit; [`Error::TooManyConflicts`] when the
    /// compare-and-swap kept losing; [`Error::LockLost`] when this handle held the lock and
    /// its lease ran out; store errors. On error the pending changes are kept, except after
    /// `Gone`.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.insert("step", &2)?;
    /// let report = session.save().await?;
    /// println!("{:?} after {} attempts", report.write, report.attempts);
    /// # Ok(()) }
    /// ```
    pub async fn save(&self) -> Result<SaveReport, Error> {
        let mut io = self.io().await;
        let pending = std::mem::take(&mut *self.changes());
        let result = self.save_locked(&mut io, &pending).await;
        if let Err(e) = &result {
            self.restore(pending, e);
        }
        result
    }

    /// Moves the session to a new id, keeping its data and pending changes. Call it when
    /// privileges change; [`Session::login`] does it for you.
    ///
    /// # Errors
    /// As [`Session::save`].
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.rotate().await?; // a new id for the same data
    /// # Ok(()) }
    /// ```
    pub async fn rotate(&self) -> Result<SaveReport, Error> {
        let mut io = self.io().await;
        let pending = std::mem::take(&mut *self.changes());
        let result = async {
            self.ensure_loaded(&mut io).await?;
            self.write_locked(&mut io, &pending, true).await
        }
        .await;
        if let Err(e) = &result {
            self.restore(pending, e);
        }
        result
    }

    /// Marks the session as `owner`'s and rotates its id (no session fixation).
    ///
    /// The login rule: from an anonymous session, the data gathered before login (a cart)
    /// is kept; from a session of a different owner, the session starts empty (bob never
    /// inherits alice's cart); signing in again as the same owner keeps the data.
    ///
    /// # Errors
    /// As [`Session::save`].
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.login("user-42").await?; // new id, owner set, data kept from an anonymous session
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, owner: &str) -> Result<SaveReport, Error> {
        let previous = self.owner().await?;
        {
            let mut c = self.changes();
            if previous.is_some_and(|p| p != owner) {
                c.data.clear();
                c.clear = true;
            }
            c.owner = Some(Some(owner.to_owned()));
            // Authentication restarts both the idle and the absolute clock (NIST SP
            // 800-63B-4 §5.2); `created_at` becomes the sign-in time shown on "your devices".
            c.restart_lifetime = true;
        }
        self.rotate().await
    }

    /// Ends the session: deletes the record and drops pending changes (logout).
    ///
    /// # Errors
    /// Store errors; the session is then still alive and the call may be repeated.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.destroy().await?; // logout: gone from the store
    /// # Ok(()) }
    /// ```
    pub async fn destroy(&self) -> Result<(), Error> {
        let mut io = self.io().await;
        if let Some(id) = &io.id {
            self.store().delete(&id.store_key()).await?;
        }
        self.mark_ended(&mut io, true);
        Ok(())
    }
}

/// `ensure_loaded` runs before every match on the load state; reaching `NotYet` after it
/// would be a bug in this module, reported as an error rather than a panic.
fn unreachable_loaded<T>() -> Result<T, Error> {
    Err(Error::Misconfigured {
        problem: "session state was read before it was loaded",
    })
}
