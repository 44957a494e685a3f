//! "Remember me" on the request's session: the choice a login form's box makes, which
//! the layer turns into a persistent cookie (`Max-Age` up to the session's expiry) or a
//! browser-session cookie (the default).

use std::sync::atomic::Ordering;

use crate::rejection::SessionError;
use crate::session::Session;

impl Session {
    /// Chooses whether the session's cookie outlives the browser. Call it before
    /// [`Session::login`] with the login form's "remember me" box; the response that
    /// stores the choice sets the cookie again, with `Max-Age` when remembered. Stays with
    /// the session until changed (a later `set_remember(false)` turns the cookie back
    /// into a browser-session one).
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session, remember_box: bool) -> Result<(), session_tower::SessionError> {
    /// // after checking the password:
    /// session.set_remember(remember_box);
    /// session.login("alice").await?;
    /// # Ok(()) }
    /// ```
    pub fn set_remember(&self, remember: bool) {
        self.core().set_remember(remember);
        // The response depends on the session now, as after any change.
        self.state().accessed.store(true, Ordering::Relaxed);
    }

    /// True when the session is remembered.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_tower::Session) -> Result<(), session_tower::SessionError> {
    /// let label = if session.remembered().await? { "this device is remembered" } else { "" };
    /// # let _ = label;
    /// # Ok(()) }
    /// ```
    pub async fn remembered(&self) -> Result<bool, SessionError> {
        let r = self.core().remembered().await;
        self.track(r)
    }
}
