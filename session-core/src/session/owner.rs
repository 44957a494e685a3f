//! The owner side of a session: "your devices", revoking one of them, and "log out
//! everywhere".

use super::Session;
use crate::error::Error;
use crate::id::StoreKey;
use crate::store::OwnerSession;

impl Session {
    /// The live sessions of this session's owner, for a "your devices" page; the boolean
    /// marks this one. Empty for an anonymous session.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// for (s, current) in session.owner_sessions().await? {
    ///     println!("{} last seen {} {}", s.key.to_text(), s.last_seen.as_millis(), if current { "(this one)" } else { "" });
    /// }
    /// # Ok(()) }
    /// ```
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
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let ended = session.revoke_other_sessions().await?; // "log out everywhere else"
    /// # let _ = ended;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_other_sessions(&self) -> Result<u64, Error> {
        let Some(owner) = self.owner().await? else {
            return Ok(0);
        };
        let current = self.id().await.map(|i| i.store_key());
        self.store().delete_owner(&owner, current.as_ref()).await
    }

    /// Deletes one session of this owner, named by its store key (from
    /// [`Session::owner_sessions`]). A key that is not this owner's is left alone, so a
    /// forged form cannot end another user's session. Returns whether one was deleted.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let mine = session.owner_sessions().await?;
    /// if let Some((other, false)) = mine.into_iter().find(|(_, current)| !current) {
    ///     session.revoke_session(&other.key).await?;
    /// }
    /// # Ok(()) }
    /// ```
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
            self.mark_ended(&mut io, true);
        }
        Ok(true)
    }

    /// "Log out everywhere": deletes every session of this owner, this one included.
    ///
    /// # Errors
    /// Store errors.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.revoke_all_sessions().await?; // this one included
    /// # Ok(()) }
    /// ```
    pub async fn revoke_all_sessions(&self) -> Result<u64, Error> {
        let Some(owner) = self.owner().await? else {
            return Ok(0);
        };
        let n = self.store().delete_owner(&owner, None).await?;
        let mut io = self.io().await;
        self.mark_ended(&mut io, true);
        Ok(n)
    }
}
