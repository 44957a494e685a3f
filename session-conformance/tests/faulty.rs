//! The suite proves its own strength: each deliberately faulty store below wraps the
//! correct [`ReferenceStore`] and breaks exactly one promise, and at least one case must
//! catch each. The correct store must pass every case, with nothing skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use session_conformance::{Fixture, ManualClock, RawBytes, ReferenceStore, run_all};
use session_core::{
    Bytes, Error, ErrorKind, OwnerSession, Record, SessionStore, StoreKey, Timestamp, async_trait,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    IgnoresExpiry,
    UpsertsOnSave,
    SkipsVersionCheck,
    TouchRevives,
    TouchRewritesData,
    DeleteFailsOnMissing,
    RotateLeavesOldLive,
    RotateSkipsVersionCheck,
    IndexKeepsDead,
    CreateOverwrites,
    PanicsOnBadBytes,
    ReturnsAnotherKeysRecord,
    CleanupRemovesLive,
    DeleteOwnerIgnoresKeep,
    TruncatesLargeValues,
    MangleBinaryValues,
    SaveIgnoresOwnerChange,
    BadBytesLoadAsNone,
    /// `load_shared` keeps handing out the first record it loaded (a cache that never
    /// sees touches, saves or expiry).
    SharedLoadCachesStale,
    /// `save_shared` writes over whatever version is stored.
    SharedSaveSkipsVersionCheck,
}

const ALL_BUGS: &[Bug] = &[
    Bug::IgnoresExpiry,
    Bug::UpsertsOnSave,
    Bug::SkipsVersionCheck,
    Bug::TouchRevives,
    Bug::TouchRewritesData,
    Bug::DeleteFailsOnMissing,
    Bug::RotateLeavesOldLive,
    Bug::RotateSkipsVersionCheck,
    Bug::IndexKeepsDead,
    Bug::CreateOverwrites,
    Bug::PanicsOnBadBytes,
    Bug::ReturnsAnotherKeysRecord,
    Bug::CleanupRemovesLive,
    Bug::DeleteOwnerIgnoresKeep,
    Bug::TruncatesLargeValues,
    Bug::MangleBinaryValues,
    Bug::SaveIgnoresOwnerChange,
    Bug::BadBytesLoadAsNone,
    Bug::SharedLoadCachesStale,
    Bug::SharedSaveSkipsVersionCheck,
];

/// A correct store with one bug.
#[derive(Debug)]
struct Faulty {
    bug: Bug,
    inner: ReferenceStore,
    /// Every record ever written, by key: what a buggy store "remembers".
    shadow: Mutex<HashMap<StoreKey, Record>>,
    stale: Mutex<HashMap<StoreKey, Arc<Record>>>,
    created: Mutex<Vec<StoreKey>>,
}

impl Faulty {
    fn remember(&self, k: &StoreKey, r: &Record) {
        self.shadow.lock().unwrap().insert(*k, r.clone());
    }
    fn remembered(&self, k: &StoreKey) -> Option<Record> {
        self.shadow.lock().unwrap().get(k).cloned()
    }
    fn mangle(&self, r: &Record) -> Record {
        let mut r = r.clone();
        for v in r.data.values_mut() {
            match self.bug {
                Bug::TruncatesLargeValues if v.len() > 65_535 => *v = v.slice(..65_535),
                Bug::MangleBinaryValues => {
                    *v = Bytes::from(String::from_utf8_lossy(v).into_owned().into_bytes());
                }
                _ => {}
            }
        }
        r
    }
}

#[async_trait]
impl SessionStore for Faulty {
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), Error> {
        self.remember(key, record);
        self.created.lock().unwrap().push(*key);
        if self.bug == Bug::CreateOverwrites {
            self.inner.delete(key).await?;
        }
        self.inner.create(key, &self.mangle(record)).await
    }

    async fn load(&self, key: &StoreKey) -> Result<Option<Record>, Error> {
        if self.bug == Bug::ReturnsAnotherKeysRecord {
            let other = self.created.lock().unwrap().last().copied();
            if let Some(other) = other {
                return self.inner.load(&other).await;
            }
        }
        match self.inner.load(key).await {
            Ok(None) if self.bug == Bug::IgnoresExpiry => Ok(self.remembered(key)),
            Err(e) if self.bug == Bug::PanicsOnBadBytes && e.kind() == ErrorKind::BadData => {
                panic!("cannot decode")
            }
            Err(e) if self.bug == Bug::BadBytesLoadAsNone && e.kind() == ErrorKind::BadData => {
                Ok(None)
            }
            other => other,
        }
    }

    async fn load_shared(&self, key: &StoreKey) -> Result<Option<Arc<Record>>, Error> {
        if self.bug == Bug::SharedLoadCachesStale {
            if let Some(r) = self.stale.lock().unwrap().get(key) {
                return Ok(Some(r.clone()));
            }
            let r = self.load(key).await?.map(Arc::new);
            if let Some(r) = &r {
                self.stale.lock().unwrap().insert(*key, r.clone());
            }
            return Ok(r);
        }
        Ok(self.load(key).await?.map(Arc::new))
    }

    async fn save_shared(
        &self,
        key: &StoreKey,
        record: &Arc<Record>,
        expected: u64,
    ) -> Result<(), Error> {
        if self.bug == Bug::SharedSaveSkipsVersionCheck {
            return match self.inner.load(key).await? {
                Some(cur) => self.inner.save(key, record, cur.version).await,
                None => Err(Error::Gone),
            };
        }
        self.save(key, record, expected).await
    }

    async fn save(&self, key: &StoreKey, record: &Record, expected: u64) -> Result<(), Error> {
        let mut record = self.mangle(record);
        if self.bug == Bug::SaveIgnoresOwnerChange {
            if let Some(old) = self.inner.load(key).await? {
                record.owner = old.owner;
            }
        }
        let res = match self.bug {
            Bug::SkipsVersionCheck => match self.inner.load(key).await? {
                Some(cur) => self.inner.save(key, &record, cur.version).await,
                None => Err(Error::Gone),
            },
            Bug::UpsertsOnSave => match self.inner.save(key, &record, expected).await {
                Err(Error::Gone) => self.inner.create(key, &record).await,
                other => other,
            },
            _ => self.inner.save(key, &record, expected).await,
        };
        if res.is_ok() {
            self.remember(key, &record);
        }
        res
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: Timestamp,
        last_seen: Timestamp,
    ) -> Result<(), Error> {
        match self.bug {
            Bug::TouchRevives => {
                if self.inner.load(key).await?.is_none() {
                    if let Some(mut r) = self.remembered(key) {
                        r.expires_at = expires_at;
                        r.last_seen = last_seen;
                        return self.inner.create(key, &r).await;
                    }
                }
                self.inner.touch(key, expires_at, last_seen).await
            }
            Bug::TouchRewritesData => {
                let cur = self.inner.load(key).await?.ok_or(Error::Gone)?;
                let mut r = cur.clone();
                r.data.clear();
                r.expires_at = expires_at;
                r.last_seen = last_seen;
                self.inner.save(key, &r, cur.version).await
            }
            _ => self.inner.touch(key, expires_at, last_seen).await,
        }
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), Error> {
        if self.bug == Bug::DeleteFailsOnMissing && self.inner.load(key).await?.is_none() {
            return Err(Error::Gone);
        }
        self.inner.delete(key).await
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        expected: u64,
    ) -> Result<(), Error> {
        self.remember(new, record);
        match self.bug {
            Bug::RotateLeavesOldLive => {
                let cur = self.inner.load(old).await?.ok_or(Error::Gone)?;
                if cur.version != expected {
                    return Err(Error::Conflict);
                }
                self.inner.create(new, record).await
            }
            Bug::RotateSkipsVersionCheck => {
                let cur = self.inner.load(old).await?.ok_or(Error::Gone)?;
                self.inner.rotate(old, new, record, cur.version).await
            }
            _ => self.inner.rotate(old, new, record, expected).await,
        }
    }

    async fn list_owner(&self, owner: &str) -> Result<Vec<OwnerSession>, Error> {
        if self.bug == Bug::IndexKeepsDead {
            let shadow = self.shadow.lock().unwrap();
            return Ok(shadow
                .iter()
                .filter(|(_, r)| r.owner.as_deref() == Some(owner))
                .map(|(k, r)| OwnerSession::from_record(*k, r))
                .collect());
        }
        self.inner.list_owner(owner).await
    }

    async fn delete_owner(&self, owner: &str, keep: Option<&StoreKey>) -> Result<u64, Error> {
        let keep = if self.bug == Bug::DeleteOwnerIgnoresKeep {
            None
        } else {
            keep
        };
        self.inner.delete_owner(owner, keep).await
    }

    async fn delete_expired(&self) -> Result<u64, Error> {
        if self.bug == Bug::CleanupRemovesLive {
            let keys: Vec<StoreKey> = self.shadow.lock().unwrap().keys().copied().collect();
            for k in keys {
                self.inner.delete(&k).await?;
            }
            return Ok(0);
        }
        self.inner.delete_expired().await
    }
}

#[async_trait]
impl RawBytes for Faulty {
    async fn write_raw(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: session_core::Envelope,
    ) -> Result<(), Error> {
        self.inner.write_raw(key, bytes, envelope).await
    }
}

fn reference(clock: ManualClock) -> Fixture {
    Fixture::with_raw(ReferenceStore::new(Arc::new(clock)))
}

/// The reference store passes every case and skips none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_store_passes_everything() {
    let report = run_all(|clock| async move { reference(clock) }).await;
    report.assert_passed();
    assert_eq!(report.skipped(), 0, "the reference store skipped cases");
    assert!(report.passed() >= 40, "only {} cases", report.passed());
    println!("reference store: {report}");
}

/// Every faulty store fails at least one case; prints which cases catch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_faulty_store_is_caught() {
    assert!(ALL_BUGS.len() >= 12);
    let mut uncaught = Vec::new();
    for &bug in ALL_BUGS {
        let report = run_all(move |clock: ManualClock| async move {
            Fixture::with_raw(Faulty {
                bug,
                inner: ReferenceStore::new(Arc::new(clock)),
                shadow: Mutex::default(),
                stale: Mutex::default(),
                created: Mutex::default(),
            })
        })
        .await;
        let caught: Vec<String> = report
            .failures()
            .iter()
            .map(|(c, _)| format!("{}/{}", c.group, c.name))
            .collect();
        println!(
            "{bug:?}: caught by {} case(s): {}",
            caught.len(),
            caught.join(", ")
        );
        if caught.is_empty() {
            uncaught.push(bug);
        }
    }
    assert!(
        uncaught.is_empty(),
        "faulty stores not caught: {uncaught:?}"
    );
}

/// The counts the READMEs quote are the suite's own: every "N cases" and "N deliberately
/// faulty stores" in them matches the code.
#[test]
fn readme_counts_match_the_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = session_conformance::cases::ALL.len();
    for path in [root.join("README.md"), root.join("../README.md")] {
        let text = std::fs::read_to_string(&path).unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut seen = 0;
        for w in words.windows(3) {
            let n = w[0].trim_start_matches('(').parse::<usize>();
            let Ok(n) = n else { continue };
            if w[1].trim_end_matches([',', ')', '.']) == "cases" {
                assert_eq!(n, cases, "{} says {n} cases", path.display());
                seen += 1;
            }
            if w[1] == "deliberately" && w[2] == "faulty" {
                assert_eq!(
                    n,
                    ALL_BUGS.len(),
                    "{} says {n} faulty stores",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen >= 2, "{} quotes no counts to check", path.display());
    }
}
