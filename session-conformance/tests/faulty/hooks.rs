//! The later bugs, as hooks the faulty store asks before doing the right thing: each
//! returns `Some(result)` when it handles the call (its bug is this store's) and `None`
//! otherwise. Two-step bugs pause between their steps so that a concurrent operation can
//! land in between, as it would against a networked backend.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use session_core::{Clock, Error, OwnerSession, Record, SessionStore, StoreKey, Timestamp};

use crate::bugs::Bug;
use crate::store::Faulty;

/// What the hooks remember between calls.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// The owner each key was created with.
    creator: HashMap<StoreKey, String>,
    /// Keys rotated away, and where to.
    moved: HashMap<StoreKey, StoreKey>,
    /// Index entries an owner should no longer have.
    extra: HashMap<String, Vec<StoreKey>>,
    /// Keys whose owner a save changed.
    changed: HashSet<StoreKey>,
}

/// The gap between the two steps of a two-step write.
async fn pause() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

type Res<T> = Option<Result<T, Error>>;

impl Faulty {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn notes(&self) -> std::sync::MutexGuard<'_, Notes> {
        self.notes.lock().unwrap()
    }

    /// The live sessions among `keys`, as listing entries.
    async fn live_entries(&self, keys: &[StoreKey]) -> Result<Vec<OwnerSession>, Error> {
        let mut out = Vec::new();
        for k in keys {
            if let Some(r) = self.inner.load(k).await? {
                out.push(OwnerSession::from_record(*k, &r));
            }
        }
        Ok(out)
    }

    pub(crate) async fn hook_create(&self, key: &StoreKey, record: &Record) -> Res<()> {
        if let Some(o) = &record.owner {
            self.notes().creator.insert(*key, o.clone());
        }
        match self.bug {
            Bug::CreateChecksThenInserts => Some(
                async {
                    if self.inner.load(key).await?.is_some() {
                        return Err(Error::Collision);
                    }
                    pause().await;
                    self.inner.delete(key).await?;
                    self.inner.create(key, record).await
                }
                .await,
            ),
            _ => None,
        }
    }

    pub(crate) async fn hook_load(&self, key: &StoreKey) -> Res<Option<Record>> {
        match self.bug {
            Bug::LoadFallsBackToSibling => Some(
                async {
                    match self.inner.load(key).await? {
                        Some(r) => Ok(Some(r)),
                        None => self.sibling.load(key).await,
                    }
                }
                .await,
            ),
            _ => None,
        }
    }

    pub(crate) async fn hook_save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Res<()> {
        let old_owner = match self.inner.load(key).await {
            Ok(r) => r.and_then(|r| r.owner),
            Err(e) => return Some(Err(e)),
        };
        if old_owner != record.owner {
            self.notes().changed.insert(*key);
        }
        let mut r = record.clone();
        let res = match self.bug {
            Bug::SaveChecksThenWrites => {
                async {
                    let cur = self.inner.load(key).await?.ok_or(Error::Gone)?;
                    if cur.version != expected {
                        return Err(Error::Conflict);
                    }
                    pause().await;
                    self.inner.delete(key).await?;
                    if record.is_expired(self.now()) {
                        return Ok(());
                    }
                    self.inner.create(key, record).await
                }
                .await
            }
            Bug::SaveKeepsOldVersion => {
                r.version = expected;
                self.inner.save(key, &r, expected).await
            }
            Bug::SaveCountsVersionItself => {
                r.version = expected.wrapping_add(1);
                self.inner.save(key, &r, expected).await
            }
            Bug::AcceptsNewerVersion | Bug::ComparesVersionsIn32Bits => {
                async {
                    let cur = self.inner.load(key).await?.ok_or(Error::Gone)?;
                    let ok = if self.bug == Bug::AcceptsNewerVersion {
                        expected >= cur.version
                    } else {
                        expected as u32 == cur.version as u32
                    };
                    if !ok {
                        return Err(Error::Conflict);
                    }
                    self.inner.save(key, record, cur.version).await
                }
                .await
            }
            Bug::RotatedKeyTakesNewVersion => match self.inner.save(key, record, expected).await {
                Err(Error::Gone) => {
                    async {
                        let Some(new) = self.notes().moved.get(key).copied() else {
                            return Err(Error::Gone);
                        };
                        match self.inner.load(&new).await? {
                            Some(cur) if cur.version == expected => {
                                self.inner.create(key, record).await
                            }
                            _ => Err(Error::Gone),
                        }
                    }
                    .await
                }
                other => other,
            },
            _ => return None,
        };
        if res.is_ok() {
            self.remember(key, &r);
        }
        Some(res)
    }

    pub(crate) async fn hook_touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Res<()> {
        match self.bug {
            Bug::TouchReadsThenWrites => Some(
                async {
                    let mut cur = self.inner.load(key).await?.ok_or(Error::Gone)?;
                    pause().await;
                    cur.expires_at = expires_at;
                    cur.last_seen = last_seen.max(cur.last_seen);
                    self.inner.delete(key).await?;
                    self.inner.create(key, &cur).await
                }
                .await,
            ),
            Bug::TouchBumpsVersion => Some(
                async {
                    self.inner.touch(key, expires_at, last_seen).await?;
                    let cur = self.inner.load(key).await?.ok_or(Error::Gone)?;
                    let mut next = cur.clone();
                    next.version = cur.version.wrapping_add(1);
                    self.inner.save(key, &next, cur.version).await
                }
                .await,
            ),
            Bug::TouchHasGracePeriod => Some(
                async {
                    match self.inner.touch(key, expires_at, last_seen).await {
                        Err(Error::Gone) => {}
                        other => return other,
                    }
                    let now = self.now();
                    match self.remembered(key) {
                        Some(mut r)
                            if r.expires_at <= now
                                && now < r.expires_at.plus(Duration::from_secs(1)) =>
                        {
                            r.expires_at = expires_at;
                            r.last_seen = last_seen;
                            self.inner.create(key, &r).await
                        }
                        _ => Err(Error::Gone),
                    }
                }
                .await,
            ),
            _ => None,
        }
    }

    pub(crate) async fn hook_rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Res<()> {
        let before = match self.inner.load(old).await {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let res = match self.bug {
            Bug::RotateNotAtomic => {
                async {
                    let cur = before.clone().ok_or(Error::Gone)?;
                    if cur.version != expected {
                        return Err(Error::Conflict);
                    }
                    self.inner.create(new, record).await?;
                    pause().await;
                    self.inner.delete(old).await
                }
                .await
            }
            Bug::RotateResetsVersion => {
                let mut r = record.clone();
                r.version = 1;
                self.inner.rotate(old, new, &r, expected).await
            }
            Bug::RotationCollidesWithSibling => {
                async {
                    if self.sibling.load(new).await?.is_some() {
                        return Err(Error::Collision);
                    }
                    self.inner.rotate(old, new, record, expected).await
                }
                .await
            }
            Bug::RotateKeepsOldOwnerIndex | Bug::RotatedKeyTakesNewVersion => {
                self.inner.rotate(old, new, record, expected).await
            }
            _ => return None,
        };
        if res.is_ok() {
            self.remember(new, record);
            let mut notes = self.notes();
            notes.moved.insert(*old, *new);
            if let Some(o) = before.and_then(|b| b.owner) {
                if record.owner.as_deref() != Some(o.as_str()) {
                    notes.extra.entry(o).or_default().push(*new);
                }
            }
        }
        Some(res)
    }

    pub(crate) async fn hook_list_owner(&self, owner: &str) -> Res<Vec<OwnerSession>> {
        let mut list = match self.inner.list_owner(owner).await {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        match self.bug {
            Bug::RotateKeepsOldOwnerIndex => {
                let extra = self.notes().extra.get(owner).cloned().unwrap_or_default();
                match self.live_entries(&extra).await {
                    Ok(more) => list.extend(more),
                    Err(e) => return Some(Err(e)),
                }
            }
            Bug::ListingRepeatsSessions => {
                let changed = self.notes().changed.clone();
                let again: Vec<OwnerSession> = list
                    .iter()
                    .filter(|s| changed.contains(&s.key))
                    .cloned()
                    .collect();
                list.extend(again);
            }
            Bug::ListsSiblingOwners => match self.sibling.list_owner(owner).await {
                Ok(more) => list.extend(more),
                Err(e) => return Some(Err(e)),
            },
            _ => return None,
        }
        Some(Ok(list))
    }

    pub(crate) async fn hook_delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Res<u64> {
        let also: Vec<StoreKey> = match self.bug {
            Bug::RotateKeepsOldOwnerIndex => {
                self.notes().extra.get(owner).cloned().unwrap_or_default()
            }
            Bug::DeleteOwnerByCreator => {
                let notes = self.notes();
                notes
                    .creator
                    .iter()
                    .filter(|(_, o)| o.as_str() == owner)
                    .map(|(k, _)| *k)
                    .collect()
            }
            Bug::DeleteOwnerCountsExpired => {
                let now = self.now();
                let expired = {
                    let shadow = self.shadow.lock().unwrap();
                    shadow
                        .iter()
                        .filter(|(k, r)| {
                            r.owner.as_deref() == Some(owner)
                                && r.is_expired(now)
                                && Some(*k) != keep
                        })
                        .count() as u64
                };
                return Some(
                    self.inner
                        .delete_owner(owner, keep)
                        .await
                        .map(|n| n + expired),
                );
            }
            Bug::DeleteOwnerAcrossSiblings => {
                return Some(
                    async {
                        let n = self.inner.delete_owner(owner, keep).await?;
                        self.sibling.delete_owner(owner, keep).await?;
                        Ok(n)
                    }
                    .await,
                );
            }
            _ => return None,
        };
        Some(
            async {
                let mut n = self.inner.delete_owner(owner, keep).await?;
                for k in also.iter().filter(|k| Some(*k) != keep) {
                    if self.inner.load(k).await?.is_some() {
                        self.inner.delete(k).await?;
                        n += 1;
                    }
                }
                Ok(n)
            }
            .await,
        )
    }

    pub(crate) async fn hook_delete_expired(&self) -> Res<u64> {
        match self.bug {
            Bug::SweepsSibling => Some(
                async {
                    Ok(self.inner.delete_expired().await? + self.sibling.delete_expired().await?)
                }
                .await,
            ),
            Bug::SweepRebuildsFromSnapshot => Some(
                async {
                    let n = self.inner.delete_expired().await?;
                    let keys: Vec<StoreKey> = self.shadow.lock().unwrap().keys().copied().collect();
                    let mut copies = Vec::new();
                    for k in &keys {
                        if let Some(r) = self.inner.load(k).await? {
                            copies.push((*k, r));
                        }
                    }
                    pause().await;
                    let all: Vec<StoreKey> = self.shadow.lock().unwrap().keys().copied().collect();
                    for k in &all {
                        self.inner.delete(k).await?;
                    }
                    for (k, r) in &copies {
                        self.inner.create(k, r).await?;
                    }
                    Ok(n)
                }
                .await,
            ),
            _ => None,
        }
    }
}
