//! Reading and changing a session's values: typed `get` and `insert` over JSON bytes, raw
//! bytes, the read-modify-write `update`, removal. Reads see this request's own pending
//! changes; writes only record a change, stored by the next save.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::changes::{Change, UpdateFn};
use super::{Loaded, Session};
use crate::error::Error;

impl Session {
    /// The typed value under `key`, including this request's own pending changes.
    ///
    /// # Errors
    /// Store errors from the lazy load; [`Error::Value`] if the stored value does not
    /// deserialize as `T`.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let cart: Option<Vec<String>> = session.get("cart").await?;
    /// # Ok(()) }
    /// ```
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
    /// Store errors from the lazy load; an error from a pending [`Session::update`].
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let raw = session.get_raw("cart").await?; // the stored JSON bytes
    /// # let _ = raw;
    /// # Ok(()) }
    /// ```
    pub async fn get_raw(&self, key: &str) -> Result<Option<Bytes>, Error> {
        let pending = {
            let c = self.changes();
            match c.data.get(key) {
                Some(Change::Set(v)) => return Ok(Some(v.clone())),
                Some(Change::Remove) => return Ok(None),
                None if c.clear => return Ok(None),
                Some(update @ Change::Update(_)) => Some(update.clone()),
                None => None,
            }
        };
        let mut io = self.io().await;
        self.ensure_loaded(&mut io).await?;
        let stored = match &io.loaded {
            Loaded::Present(r) => r.data.get(key).cloned(),
            _ => None,
        };
        match pending {
            Some(update) => update.value_after(stored.as_deref()),
            None => Ok(stored),
        }
    }

    /// The data keys, including this request's own pending changes.
    ///
    /// # Errors
    /// Store errors from the lazy load.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// for key in session.keys().await? {
    ///     println!("{key}");
    /// }
    /// # Ok(()) }
    /// ```
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
                Change::Set(_) | Change::Update(_) => {
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
    /// Last writer wins: if another request changes `key` before this one saves, this
    /// value replaces theirs, and the save's [`SaveReport::overwritten`](crate::SaveReport::overwritten) names the key. To
    /// change a value based on what is stored (a counter, a cart), use
    /// [`Session::update`].
    ///
    /// # Errors
    /// [`Error::Value`] if `value` does not serialize; [`Error::TooLarge`] if it alone is
    /// over the configured limit. Nothing is recorded on error.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.insert("cart", &["apple"])?;
    /// session.save().await?;
    /// # Ok(()) }
    /// ```
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
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.insert_raw("blob", bytes::Bytes::from_static(b"raw"))?;
    /// # Ok(()) }
    /// ```
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

    /// Read-modify-write of the value under `key` (absent reads as `T::default()`): `f`
    /// changes it, and the result is saved by the next [`Session::save`]. Returns the value
    /// as `f` leaves it now, on the record this handle has loaded.
    ///
    /// When another request saved first, the save runs `f` again on the freshly stored
    /// value, as often as the compare-and-swap needs: 64 concurrent increments of a counter
    /// end at 64, and 64 concurrent appends to a cart leave 64 items. `f` must therefore
    /// depend on nothing but its argument and what it captured, and do nothing else (no I/O).
    ///
    /// # Errors
    /// Store errors from the lazy load; [`Error::Value`] when the stored value is not a `T`.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// let count: u64 = session.update("visits", |n: &mut u64| *n += 1).await?;
    /// let cart: Vec<String> = session.update("cart", |c: &mut Vec<String>| c.push("fig".into())).await?;
    /// session.save().await?;
    /// # Ok(()) }
    /// ```
    pub async fn update<T, F>(&self, key: &str, f: F) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned + Default + 'static,
        F: Fn(&mut T) + Send + Sync + 'static,
    {
        let name = key.to_owned();
        let update: UpdateFn = Arc::new(move |stored: Option<&[u8]>| {
            let value_error = |source| Error::Value {
                key: name.clone(),
                source,
            };
            let mut value: T = match stored {
                Some(b) => serde_json::from_slice(b).map_err(value_error)?,
                None => T::default(),
            };
            f(&mut value);
            let bytes = serde_json::to_vec(&value).map_err(value_error)?;
            Ok(Some(Bytes::from(bytes)))
        });
        self.changes().push_update(key, update)?;
        Ok(self.get(key).await?.unwrap_or_default())
    }

    /// Removes `key` (at the next save). Last writer wins, as for [`Session::insert`].
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.remove("cart");
    /// session.save().await?;
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, key: &str) {
        self.changes().data.insert(key.to_owned(), Change::Remove);
    }

    /// Removes every key (at the next save); the session itself stays.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.clear(); // every key goes; the session itself stays
    /// session.save().await?;
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) {
        let mut c = self.changes();
        c.data.clear();
        c.clear = true;
    }

    /// Records the client's user agent, shown on a "your devices" page; kept only when the
    /// session is created.
    ///
    /// # Example
    /// ```
    /// # async fn demo(session: session_core::Session) -> Result<(), session_core::Error> {
    /// session.set_user_agent("Mozilla/5.0 (X11; Linux x86_64)"); // shown on "your devices"
    /// # Ok(()) }
    /// ```
    pub fn set_user_agent(&self, ua: &str) {
        // Bounded: a header can be large, and this value is stored with every session.
        let ua: String = ua.chars().take(256).collect();
        self.changes().user_agent = Some(ua);
    }
}
