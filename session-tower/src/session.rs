//! The session a handler works with: the core handle plus what HTTP adds (CSRF tokens,
//! login that rotates the CSRF secret, and outage tracking for the layer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use session_core::{ErrorKind, StoreKey, Timestamp};

use crate::csrf;
use crate::presented::{Presented, Source};
use crate::rejection::SessionError;

/// Per-request state shared by the layer and the handler's clones of [`Session`].
#[derive(Debug, Default)]
pub(crate) struct RequestState {
    /// A store call failed as unavailable: the layer answers 503 whatever the handler did.
    pub(crate) unavailable: AtomicBool,
    /// The handler read the session: the response depends on the cookie (`Vary: Cookie`).
    pub(crate) accessed: AtomicBool,
    /// A CSRF decision read `Origin` and `Sec-Fetch-Site` (so they go in `Vary`).
    pub(crate) csrf_checked: AtomicBool,
    /// The presented id was signed by an older key: the response re-signs it.
    pub(crate) resign: AtomicBool,
}

/// One live session of the current user, for a "your devices" page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// An identifier for revocation (a hash of the session id, not the id).
    pub key: String,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// Last use, ms since the epoch.
    pub last_seen: i64,
    /// Expiry unless used again, ms since the epoch.
    pub expires_at: i64,
    /// The browser that created it.
    pub user_agent: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

#[derive(Debug)]
struct Inner {
    settings: Arc<crate::settings::Settings>,
    presented: Presented,
    resolved: OnceLock<(session_core::Session, Source)>,
    state: RequestState,
}

/// The session of the current request. Extract it in a handler (`session: Session`).
///
/// Reads load lazily; writes are saved by the layer before the response leaves.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl Session {
    pub(crate) fn new(settings: Arc<crate::settings::Settings>, presented: Presented) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                presented,
                resolved: OnceLock::new(),
                state: RequestState::default(),
            }),
        }
    }

    fn resolve(&self) -> &(session_core::Session, Source) {
        self.inner.resolved.get_or_init(|| {
            let settings = &self.inner.settings;
            let (id, source, stale) =
                crate::presented::presented_id(&self.inner.presented, settings);
            self.inner.state.resign.store(stale, Ordering::Relaxed);
            let core =
                session_core::Session::new(settings.store.clone(), settings.session.clone(), id);
            if let Some(ua) = self
                .inner
                .presented
                .user_agent
                .as_ref()
                .and_then(|v| v.to_str().ok())
            {
                core.set_user_agent(ua);
            }
            (core, source)
        })
    }

    /// The core session if the request used it; `None` when nothing touched it.
    pub(crate) fn used(&self) -> Option<&(session_core::Session, Source)> {
        self.inner.resolved.get()
    }

    /// The layer's settings this session was made with.
    pub(crate) fn settings(&self) -> &Arc<crate::settings::Settings> {
        &self.inner.settings
    }

    pub(crate) fn state(&self) -> &RequestState {
        &self.inner.state
    }

    /// Where the id came from (resolving the session if needed).
    pub(crate) fn source(&self) -> Source {
        self.resolve().1
    }

    pub(crate) fn track<T>(&self, r: Result<T, session_core::Error>) -> Result<T, SessionError> {
        self.inner.state.accessed.store(true, Ordering::Relaxed);
        r.map_err(|e| {
            if e.kind() == ErrorKind::Unavailable {
                self.inner.state.unavailable.store(true, Ordering::SeqCst);
            }
            SessionError::new(e)
        })
    }

    /// The core handle. Not public: calling it directly would bypass the reserved CSRF key
    /// and the outage tracking that turns a failed store call into the layer's 503.
    pub(crate) fn core(&self) -> &session_core::Session {
        &self.resolve().0
    }

    /// The data keys, with this request's pending changes (the reserved CSRF key is not
    /// listed).
    ///
    /// # Errors
    /// Store errors (a 503 as a response).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let names = session.keys().await?; // the app's keys, never the library's `__` ones
    /// assert!(names.iter().all(|k| !k.starts_with("__")));
    /// # Ok(()) }
    /// ```
    pub async fn keys(&self) -> Result<Vec<String>, SessionError> {
        let r = self.core().keys().await;
        let mut keys = self.track(r)?;
        keys.retain(|k| k != csrf::SECRET_KEY);
        Ok(keys)
    }

    /// True if a live session exists (loading it if needed).
    ///
    /// # Errors
    /// Store errors (a 503 as a response).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// if !session.exists().await? {
    ///     // a first visit: nothing stored, no cookie set unless something is inserted
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self) -> Result<bool, SessionError> {
        let r = self.core().exists().await;
        self.track(r)
    }

    /// The stored bytes under `key`, for values written with [`Session::insert_raw`].
    ///
    /// # Errors
    /// Store errors (a 503 as a response).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let bytes = session.get_raw("avatar").await?; // the stored bytes, not decoded
    /// let _size = bytes.map_or(0, |b| b.len());
    /// # Ok(()) }
    /// ```
    pub async fn get_raw(&self, key: &str) -> Result<Option<bytes::Bytes>, SessionError> {
        unreserved(key)?;
        let r = self.core().get_raw(key).await;
        self.track(r)
    }

    /// Stores bytes as they are under `key` (binary-safe); read them with
    /// [`Session::get_raw`]. Last writer wins, as for [`Session::insert`].
    ///
    /// # Errors
    /// Over the size limit; the reserved key.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.insert_raw("avatar", bytes::Bytes::from_static(b"\x89PNG"))?;
    /// # Ok(()) }
    /// ```
    pub fn insert_raw(&self, key: &str, value: bytes::Bytes) -> Result<(), SessionError> {
        unreserved(key)?;
        let r = self.core().insert_raw(key, value);
        self.track(r)
    }

    /// The value under `key`.
    ///
    /// # Errors
    /// Store errors (a 503 as a response); a value that does not deserialize as `T`.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let theme: Option<String> = session.get("theme").await?;
    /// let theme = theme.unwrap_or_else(|| "light".into());
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let r = self.core().get(key).await;
        self.track(r)
    }

    /// Stores `value` under `key`; saved before the response leaves.
    ///
    /// # Errors
    /// A value that does not serialize, or is over the size limit.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.insert("theme", "dark")?; // stored when the response leaves (last writer wins)
    /// # Ok(()) }
    /// ```
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), SessionError> {
        unreserved(key)?;
        let r = self.core().insert(key, value);
        self.track(r)
    }

    /// Removes `key` (the reserved CSRF key is left alone).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.remove("checkout_step");
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, key: &str) {
        if key != csrf::SECRET_KEY {
            self.core().remove(key);
        }
    }

    /// The authenticated user, if any.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// match session.user().await? {
    ///     Some(user) => println!("signed in as {user}"),
    ///     None => println!("anonymous"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn user(&self) -> Result<Option<String>, SessionError> {
        let r = self.core().owner().await;
        self.track(r)
    }

    /// Read-modify-write of the value under `key` (absent reads as `T::default()`); saved
    /// before the response leaves. When a concurrent request saved first, `f` runs again on
    /// the value that request stored, so concurrent updates all take effect (64 cart adds
    /// keep 64 items). Returns the value as `f` leaves it on the record loaded now. See
    /// [`session_core::Session::update`].
    ///
    /// # Errors
    /// Store errors; a stored value that is not a `T`; the reserved key.
    ///
    /// # Example
    /// ```
    /// # async fn add(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let cart = session.update("cart", |c: &mut Vec<String>| c.push("fig".into())).await?;
    /// # let _ = cart; Ok(()) }
    /// ```
    pub async fn update<T, F>(&self, key: &str, f: F) -> Result<T, SessionError>
    where
        T: Serialize + DeserializeOwned + Default + 'static,
        F: Fn(&mut T) + Send + Sync + 'static,
    {
        unreserved(key)?;
        let r = self.core().update(key, f).await;
        self.track(r)
    }

    /// Takes exclusive use of this session for the rest of the request: every other request
    /// that takes the lock waits (up to the configured wait) until this one's response has
    /// been saved. For what a replay cannot merge: a checkout, a one-time code. Take it
    /// before reading what the critical section depends on. [`crate::LockedSession`] does
    /// this for a whole route.
    ///
    /// # Errors
    /// As a response: 409 `session_locked` after the wait; 409 `session_ended` when there is
    /// no session to lock; 503 on an outage.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let _fence = session.lock().await?; // other lockers of this session wait
    /// let code: Option<String> = session.get("one_time_code").await?;
    /// session.remove("one_time_code"); // so it is used at most once
    /// # let _ = code;
    /// # Ok(()) }
    /// ```
    pub async fn lock(&self) -> Result<session_core::Fence, SessionError> {
        let r = self.core().lock().await;
        self.track(r)
    }

    /// Logs `user` in: a new session id (no fixation) and with it a new CSRF secret (tokens
    /// from before the login stop working). The login rule: from an anonymous session the
    /// data is kept, except the keys named in `SessionLayer::with_discard_on_login`; from
    /// a session of a different user the session starts empty; the same user signing in
    /// again keeps the data.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// // after checking the password:
    /// session.login("alice").await?; // new id and CSRF secret; an anonymous cart is kept
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, user: &str) -> Result<(), SessionError> {
        let owner = self.core().owner().await;
        if self.track(owner)?.is_none() {
            for k in self.inner.settings.discard_on_login.iter() {
                self.core().remove(k);
            }
        }
        let r = self.core().login(user).await;
        self.track(r).map(drop)
    }

    /// Issues a new id for this session, keeping its data; call it on any privilege change
    /// (password change, role change, step-up). The CSRF secret, derived from the id,
    /// changes with it.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.rotate().await?; // same data and user, a new id (after a privilege change)
    /// # Ok(()) }
    /// ```
    pub async fn rotate(&self) -> Result<(), SessionError> {
        let r = self.core().rotate().await;
        self.track(r).map(drop)
    }

    /// Saves now instead of after the handler, and says what the save did: the keys an
    /// `insert` overwrote after another request changed them are in
    /// [`SaveReport::overwritten`](session_core::SaveReport::overwritten). A lock this
    /// request holds is released by it. The layer still saves anything changed later.
    ///
    /// # Errors
    /// As the layer's save: see [`crate::error_status`].
    ///
    /// # Example
    /// ```
    /// # async fn h(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.insert("theme", "dark")?;
    /// let report = session.save().await?;
    /// if report.overwritten.iter().any(|k| k == "theme") {
    ///     // another tab changed the theme meanwhile; this request's value won
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn save(&self) -> Result<session_core::SaveReport, SessionError> {
        let r = self.core().save().await;
        self.track(r)
    }

    /// Logs out: deletes the session and expires the cookie.
    ///
    /// # Errors
    /// Store errors (the session then still exists; the layer answers 503).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.logout().await?; // deleted in the store; the cookie is expired
    /// # Ok(()) }
    /// ```
    pub async fn logout(&self) -> Result<(), SessionError> {
        let r = self.core().destroy().await;
        self.track(r)
    }

    /// A CSRF token for a form field or the `X-CSRF-Token` header, freshly masked on each
    /// call; `None` when there is no session yet (such requests are protected by the origin
    /// checks alone). The first token of a session marks it, so that its unsafe requests
    /// need a token from then on; a session with unsaved data is stored first, since the
    /// token derives from its id.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let token = session.csrf_token().await?.unwrap_or_default();
    /// let form = format!(r#"<input type="hidden" name="csrf_token" value="{token}">"#);
    /// # let _ = form;
    /// # Ok(()) }
    /// ```
    pub async fn csrf_token(&self) -> Result<Option<String>, SessionError> {
        let exists = self.core().exists().await;
        if !self.track(exists)? {
            if !self.core().is_modified() {
                return Ok(None);
            }
            let saved = self.core().save().await;
            self.track(saved)?;
        }
        let marked = self.core().get_raw(csrf::SECRET_KEY).await;
        if self.track(marked)?.is_none() {
            // Idempotent: concurrent first renders all write the same marker.
            let r = self
                .core()
                .insert_raw(csrf::SECRET_KEY, bytes::Bytes::from_static(csrf::ISSUED));
            self.track(r)?;
        }
        let Some(id) = self.core().id().await else {
            return Ok(None);
        };
        let secret = self.inner.settings.keys.csrf_secrets(&id).next();
        Ok(secret.and_then(|s| csrf::mask(&s)))
    }

    /// The current user's live sessions, newest activity first.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// for d in session.devices().await? {
    ///     println!("{} {:?} {}", d.key, d.user_agent, if d.current { "(this one)" } else { "" });
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn devices(&self) -> Result<Vec<Device>, SessionError> {
        let r = self.core().owner_sessions().await;
        Ok(self
            .track(r)?
            .into_iter()
            .map(|(s, current)| Device {
                key: s.key.to_text(),
                created_at: s.created_at.as_millis(),
                last_seen: s.last_seen.as_millis(),
                expires_at: s.expires_at.as_millis(),
                user_agent: s.user_agent,
                current,
            })
            .collect())
    }

    /// Ends one of the current user's sessions, named by [`Device::key`]. A key that is not
    /// theirs (or not a key) changes nothing and returns `false`.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let key = "the key shown on the devices page";
    /// if !session.revoke_device(key).await? {
    ///     // not one of this user's sessions (or already gone)
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn revoke_device(&self, key: &str) -> Result<bool, SessionError> {
        let Ok(key) = StoreKey::parse_text(key) else {
            return Ok(false);
        };
        let r = self.core().revoke_session(&key).await;
        self.track(r)
    }

    /// "Log out my other devices".
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let n = session.revoke_other_devices().await?; // "log out everywhere else"
    /// println!("{n} other sessions ended");
    /// # Ok(()) }
    /// ```
    pub async fn revoke_other_devices(&self) -> Result<u64, SessionError> {
        let r = self.core().revoke_other_sessions().await;
        self.track(r)
    }

    /// "Log out everywhere", this device included.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// session.revoke_all_devices().await?; // this one too: the cookie is expired
    /// # Ok(()) }
    /// ```
    pub async fn revoke_all_devices(&self) -> Result<u64, SessionError> {
        let r = self.core().revoke_all_sessions().await;
        self.track(r)
    }

    /// When the session expires unless used, if it exists and was loaded.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// if let Some(t) = session.expires_at().await {
    ///     println!("ends at {} ms unless used", t.as_millis());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn expires_at(&self) -> Option<Timestamp> {
        self.core().expires_at().await
    }
}

/// Refuses the key the layer keeps its CSRF marker under.
fn unreserved(key: &str) -> Result<(), SessionError> {
    if key == csrf::SECRET_KEY {
        return Err(SessionError::new(session_core::Error::Misconfigured {
            problem: "the key __csrf is reserved for the CSRF marker",
        }));
    }
    Ok(())
}
