//! The per-request change log: what a handler asked for, kept apart from the loaded record
//! so that a save that lost a compare-and-swap can replay it on the fresh record.
//!
//! Three kinds of change, with three meanings under concurrency:
//! - [`Change::Set`] and [`Change::Remove`] are last-writer-wins for their key: a replay
//!   writes the same value again, whatever another request stored meanwhile;
//! - [`Change::Update`] is a read-modify-write: a replay runs its closures again on the
//!   freshly loaded value, so concurrent updates of one key all take effect.
//!
//! Owner changes, the lifetime restart of a login, the "remember me" choice and the user
//! agent travel with the log.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::Error;
use crate::record::Record;

/// A read-modify-write on one key's stored bytes: `None` in is an absent key, `None` out
/// removes it.
pub(crate) type UpdateFn = Arc<dyn Fn(Option<&[u8]>) -> Result<Option<Bytes>, Error> + Send + Sync>;

/// A pending change to one data key.
#[derive(Clone)]
pub(crate) enum Change {
    Set(Bytes),
    Remove,
    /// Closures applied in order to the stored value at write time.
    Update(Vec<UpdateFn>),
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: sizes only.
        match self {
            Change::Set(v) => write!(f, "Set({} bytes)", v.len()),
            Change::Remove => f.write_str("Remove"),
            Change::Update(fns) => write!(f, "Update({} closures)", fns.len()),
        }
    }
}

impl Change {
    /// The value after this change, given the value before it.
    pub(crate) fn value_after(&self, before: Option<&[u8]>) -> Result<Option<Bytes>, Error> {
        match self {
            Change::Set(v) => Ok(Some(v.clone())),
            Change::Remove => Ok(None),
            Change::Update(fns) => {
                let mut current: Option<Bytes> = before.map(Bytes::copy_from_slice);
                for f in fns {
                    current = f(current.as_deref())?;
                }
                Ok(current)
            }
        }
    }

    /// True for a change that a replay re-applies as it is, replacing what another request
    /// stored (so a difference is worth reporting as an overwrite).
    pub(crate) fn overwrites(&self) -> bool {
        !matches!(self, Change::Update(_))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub(crate) data: BTreeMap<String, Change>,
    /// Remove every key first (applied before `data`).
    pub(crate) clear: bool,
    /// `Some(new_owner)` when the owner should change at the next write.
    pub(crate) owner: Option<Option<String>>,
    /// A (re-)authentication: the next write restarts the absolute lifetime and records
    /// the time as `authenticated_at`.
    pub(crate) restart_lifetime: bool,
    /// `Some(remember)` when the cookie's persistence should change at the next write.
    pub(crate) remember: Option<bool>,
    pub(crate) user_agent: Option<String>,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
            && !self.clear
            && self.owner.is_none()
            && !self.restart_lifetime
            && self.remember.is_none()
    }

    /// True when writing these changes to a session that does not exist yet would store
    /// nothing worth a session (only removals, no owner).
    pub(crate) fn stores_nothing_new(&self) -> bool {
        !self.data.values().any(|c| !matches!(c, Change::Remove))
            && self.owner.as_ref().is_none_or(Option::is_none)
    }

    /// Records `update` on `key`. When the value it will apply to is already known (this
    /// request set, removed or cleared it), the closure runs now and the result is a plain
    /// set: only an update of the stored value is replayed on conflicts.
    pub(crate) fn push_update(&mut self, key: &str, update: UpdateFn) -> Result<(), Error> {
        let known = match self.data.get_mut(key) {
            Some(Change::Update(fns)) => {
                fns.push(update);
                return Ok(());
            }
            Some(Change::Set(v)) => Some(Some(v.clone())),
            Some(Change::Remove) => Some(None),
            None if self.clear => Some(None),
            None => None,
        };
        let change = match known {
            Some(before) => match update(before.as_deref())? {
                Some(v) => Change::Set(v),
                None => Change::Remove,
            },
            None => Change::Update(vec![update]),
        };
        self.data.insert(key.to_owned(), change);
        Ok(())
    }

    /// Merges `newer` (changes made while a failed write was in flight) over `self`.
    pub(crate) fn merge_newer(&mut self, newer: Changes) {
        if newer.clear {
            self.data.clear();
            self.clear = true;
        }
        for (k, change) in newer.data {
            match (self.data.remove(&k), change) {
                (Some(Change::Update(mut old)), Change::Update(new)) => {
                    old.extend(new);
                    self.data.insert(k, Change::Update(old));
                }
                (Some(old @ (Change::Set(_) | Change::Remove)), Change::Update(new)) => {
                    // The base is known: fold the newer closures into a plain value; a
                    // closure that fails leaves the older value, as if it had not run.
                    let mut c = Changes::default();
                    c.data.insert(k.clone(), old.clone());
                    let folded = new.into_iter().try_for_each(|f| c.push_update(&k, f));
                    let merged = match folded {
                        Ok(()) => c.data.remove(&k).unwrap_or(old),
                        Err(_) => old,
                    };
                    self.data.insert(k, merged);
                }
                (_, change) => {
                    self.data.insert(k, change);
                }
            }
        }
        if newer.owner.is_some() {
            self.owner = newer.owner;
        }
        if newer.user_agent.is_some() {
            self.user_agent = newer.user_agent;
        }
        self.restart_lifetime |= newer.restart_lifetime;
        if newer.remember.is_some() {
            self.remember = newer.remember;
        }
    }

    /// Applies the data and owner changes to `record`.
    ///
    /// # Errors
    /// [`Error::Value`] when an update closure cannot read the stored value.
    pub(crate) fn apply(&self, record: &mut Record) -> Result<(), Error> {
        if self.clear {
            record.data.clear();
        }
        for (k, c) in &self.data {
            match c {
                Change::Set(v) => {
                    record.data.insert(k.clone(), v.clone());
                }
                Change::Remove => {
                    record.data.remove(k);
                }
                Change::Update(_) => match c.value_after(record.data.get(k).map(|b| &b[..]))? {
                    Some(v) => {
                        record.data.insert(k.clone(), v);
                    }
                    None => {
                        record.data.remove(k);
                    }
                },
            }
        }
        if let Some(owner) = &self.owner {
            record.owner.clone_from(owner);
        }
        if let Some(remember) = self.remember {
            record.remember = remember;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn add(n: u8) -> UpdateFn {
        Arc::new(move |b: Option<&[u8]>| {
            let mut v = b.map(<[u8]>::to_vec).unwrap_or_default();
            v.push(n);
            Ok(Some(Bytes::from(v)))
        })
    }

    fn record(pairs: &[(&str, &[u8])]) -> Record {
        let mut r = Record::new(Timestamp::from_millis(0), Timestamp::from_millis(10));
        for (k, v) in pairs {
            r.data.insert((*k).to_owned(), Bytes::copy_from_slice(v));
        }
        r
    }

    /// An update replays on whatever value the record holds when it is applied.
    #[test]
    fn update_applies_to_the_fresh_value() {
        let mut c = Changes::default();
        c.push_update("k", add(7)).unwrap();
        let mut fresh = record(&[("k", &[1, 2])]);
        c.apply(&mut fresh).unwrap();
        assert_eq!(&fresh.data["k"][..], &[1, 2, 7]);
        let mut other = record(&[("k", &[9])]);
        c.apply(&mut other).unwrap();
        assert_eq!(&other.data["k"][..], &[9, 7]);
    }

    /// Two updates of one key compose in order.
    #[test]
    fn updates_compose() {
        let mut c = Changes::default();
        c.push_update("k", add(1)).unwrap();
        c.push_update("k", add(2)).unwrap();
        let mut r = record(&[]);
        c.apply(&mut r).unwrap();
        assert_eq!(&r.data["k"][..], &[1, 2]);
    }

    /// After a set, remove or clear, the base is known: the update is folded into a set.
    #[test]
    fn update_after_set_is_a_set() {
        let mut c = Changes::default();
        c.data
            .insert("k".into(), Change::Set(Bytes::from_static(&[5])));
        c.push_update("k", add(6)).unwrap();
        assert!(matches!(&c.data["k"], Change::Set(v) if v[..] == [5, 6]));
        let mut c = Changes {
            clear: true,
            ..Changes::default()
        };
        c.push_update("k", add(1)).unwrap();
        assert!(matches!(&c.data["k"], Change::Set(v) if v[..] == [1]));
        assert!(c.data["k"].overwrites());
    }

    /// A set made after an update replaces it (last writer wins within a request too).
    #[test]
    fn set_after_update_replaces_it() {
        let mut older = Changes::default();
        older.push_update("k", add(1)).unwrap();
        let mut newer = Changes::default();
        newer
            .data
            .insert("k".into(), Change::Set(Bytes::from_static(&[9])));
        older.merge_newer(newer);
        assert!(matches!(&older.data["k"], Change::Set(v) if v[..] == [9]));
    }

    /// Merging keeps both requests' updates of one key.
    #[test]
    fn merge_keeps_both_updates() {
        let mut older = Changes::default();
        older.push_update("k", add(1)).unwrap();
        let mut newer = Changes::default();
        newer.push_update("k", add(2)).unwrap();
        older.merge_newer(newer);
        let mut r = record(&[("k", &[0])]);
        older.apply(&mut r).unwrap();
        assert_eq!(&r.data["k"][..], &[0, 1, 2]);
    }

    /// A failing closure fails the apply and names nothing but the error.
    #[test]
    fn failing_update_is_an_error() {
        let bad: UpdateFn = Arc::new(|_| Err(Error::Gone));
        let mut c = Changes::default();
        c.push_update("k", bad).unwrap();
        assert!(c.apply(&mut record(&[("k", &[1])])).is_err());
    }

    /// Only removals store nothing in a new session; an update does.
    #[test]
    fn what_a_new_session_stores() {
        let mut c = Changes::default();
        c.data.insert("k".into(), Change::Remove);
        assert!(c.stores_nothing_new());
        c.push_update("j", add(1)).unwrap();
        assert!(!c.stores_nothing_new());
    }
}
