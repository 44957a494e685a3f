//! "Remember me": whether the client keeps the session's cookie across browser restarts.
//!
//! The choice is the session's, stored in its record ([`Record::remember`]), so each
//! login decides it (the "remember me" box) while the default stays a browser-session
//! cookie. A remembered session may have its own, longer idle timeout
//! ([`SessionConfig::with_remembered_idle_timeout`](crate::SessionConfig::with_remembered_idle_timeout));
//! its absolute lifetime caps it like any other.
//!
//! [`Record::remember`]: crate::Record::remember

use super::{Loaded, Session};
use crate::error::Error;

impl Session {
    /// Chooses whether the session's cookie outlives the browser (a persistent cookie
    /// with `Max-Age` up to the session's expiry) or not (the default). Stored by the next
    /// save (usually the [`Session::login`] that follows the login form); a change sets the
    /// cookie again.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session, remember_box: bool) -> Result<(), session_core::Error> {
    /// session.set_remember(remember_box);
    /// session.login("user-42").await?; // the new cookie is persistent if the box was ticked
    /// # Ok(()) }
    /// ```
    pub fn set_remember(&self, remember: bool) {
        self.changes().remember = Some(remember);
    }

    /// True when the session is remembered (its pending choice if there is one).
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.set_remember(true);
    /// assert!(session.remembered().await?);
    /// # Ok(()) }
    /// ```
    pub async fn remembered(&self) -> Result<bool, Error> {
        if let Some(r) = self.changes().remember {
            return Ok(r);
        }
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        Ok(matches!(&io.loaded, Loaded::Present(r) if r.remember))
    }
}
