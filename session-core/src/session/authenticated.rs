//! When the session's owner last proved who they are, for routes that want a recent
//! proof ("sudo mode": changing a password, deleting an account).
//!
//! [`Session::login`] records the time ([`Record::authenticated_at`]); logging in again as
//! the same owner (after re-checking the password) renews it without touching the data.
//!
//! [`Record::authenticated_at`]: crate::Record::authenticated_at

use std::time::Duration;

use super::{Loaded, Session};
use crate::clock::Timestamp;
use crate::error::Error;

impl Session {
    /// When the owner last logged in on this session; `None` for an anonymous session.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.login("user-42").await?;
    /// assert!(session.authenticated_at().await?.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn authenticated_at(&self) -> Result<Option<Timestamp>, Error> {
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        Ok(match &io.loaded {
            Loaded::Present(r) if r.owner.is_some() => r.authenticated_at,
            _ => None,
        })
    }

    /// True when the owner logged in on this session less than `window` ago (by the
    /// configured clock); false for an anonymous session.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # use std::time::Duration;
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// if !session.authenticated_within(Duration::from_secs(5 * 60)).await? {
    ///     // ask for the password again, then `session.login(user)` renews the time
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn authenticated_within(&self, window: Duration) -> Result<bool, Error> {
        let now = self.inner.config.clock().now();
        Ok(self
            .authenticated_at()
            .await?
            .is_some_and(|at| now < at.plus(window)))
    }
}
