//! The bugs the faulty store can have: one promise of the contract each, broken as a real
//! backend might break it (a check and a write in two steps, a stale index, an
//! off-by-one), never by refusing to work at all.

/// One broken promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bug {
    /// Expired records still load.
    IgnoresExpiry,
    /// A save of a missing key creates it.
    UpsertsOnSave,
    /// Save writes over whatever version is stored.
    SkipsVersionCheck,
    /// A touch of a dead key brings back the last record it remembers.
    TouchRevives,
    /// A touch rewrites the record, losing its data.
    TouchRewritesData,
    /// Deleting a missing key is an error.
    DeleteFailsOnMissing,
    /// Rotation creates the new key and leaves the old one live.
    RotateLeavesOldLive,
    /// Rotation writes over whatever version is stored.
    RotateSkipsVersionCheck,
    /// The owner listing remembers sessions that have ended.
    IndexKeepsDead,
    /// Create replaces a live record.
    CreateOverwrites,
    /// Undecodable bytes panic.
    PanicsOnBadBytes,
    /// A load hands out the last created record, whatever the key.
    ReturnsAnotherKeysRecord,
    /// A sweep removes live records too.
    CleanupRemovesLive,
    /// "Log out other devices" ends the kept session too.
    DeleteOwnerIgnoresKeep,
    /// Values are cut at 64 KiB (a BLOB column).
    TruncatesLargeValues,
    /// Values go through a lossy UTF-8 conversion.
    MangleBinaryValues,
    /// A save keeps the old owner in the index.
    SaveIgnoresOwnerChange,
    /// Undecodable bytes load as no session.
    BadBytesLoadAsNone,
    /// `load_shared` keeps handing out the first record it loaded (a cache that never
    /// sees touches, saves or expiry).
    SharedLoadCachesStale,
    /// `save_shared` writes over whatever version is stored.
    SharedSaveSkipsVersionCheck,
    // ----- atomicity: a check and a write in two steps -----
    /// Rotation creates the new key, then (a moment later) deletes the old one.
    RotateNotAtomic,
    /// Save checks the version, then writes in a second step that recreates a key
    /// deleted in between.
    SaveChecksThenWrites,
    /// Touch reads the record, then writes it back in a second step.
    TouchReadsThenWrites,
    /// Create checks that the key is free, then inserts in a second step.
    CreateChecksThenInserts,
    /// A sweep copies the live records, clears everything, and puts the copies back:
    /// writes made meanwhile are lost.
    SweepRebuildsFromSnapshot,
    // ----- versions -----
    /// A save stores the data but keeps the old version.
    SaveKeepsOldVersion,
    // ----- the expiry instant (`<=` for `<`, a guard's off-by-one) -----
    /// A save's liveness check counts the instant of expiry as live, and writes.
    SaveLiveAtExpiry,
    /// A save whose new expiry is the present instant stores the record as live.
    SaveKeepsExpiringNow,
    /// A save stores `expected + 1`, whatever version the record carries.
    SaveCountsVersionItself,
    /// A touch adds one to the version.
    TouchBumpsVersion,
    /// Rotation restarts the version at 1.
    RotateResetsVersion,
    /// Save accepts any version at least the stored one (only stale versions conflict).
    AcceptsNewerVersion,
    /// Versions are compared in 32 bits.
    ComparesVersionsIn32Bits,
    // ----- owners -----
    /// After a rotation to another owner, the old owner's index keeps the new key.
    RotateKeepsOldOwnerIndex,
    /// "Log out everywhere" ends every session the owner ever created, including those
    /// that moved to another owner or to none.
    DeleteOwnerByCreator,
    /// An owner listing lists a session once per owner change back to that owner.
    ListingRepeatsSessions,
    /// "Log out everywhere" counts expired sessions as deleted.
    DeleteOwnerCountsExpired,
    // ----- dead keys -----
    /// A save to a key rotated away is forwarded to it again when it carries the new
    /// key's version (a redirect left behind by the rotation).
    RotatedKeyTakesNewVersion,
    /// A touch within a second after expiry still counts (a grace period).
    TouchHasGracePeriod,
    // ----- isolation between two stores on one backend -----
    /// Loading a key missing here falls back to the sibling (a shared cache).
    LoadFallsBackToSibling,
    /// The owner listing includes the sibling's sessions (a shared owner index).
    ListsSiblingOwners,
    /// "Log out everywhere" ends the sibling's sessions of that owner too.
    DeleteOwnerAcrossSiblings,
    /// A sweep sweeps the sibling as well, and counts what it removed there.
    SweepsSibling,
    /// A rotation onto a key the sibling holds is a Collision.
    RotationCollidesWithSibling,
    /// Pushes end notices, but none for a delete.
    NoticeMissesDelete,
    /// Pushes end notices, but none for log out everywhere.
    NoticeMissesOwnerLogout,
    /// Pushes end notices, but none for a rotation.
    NoticeMissesRotate,
}

/// Every bug, in the order the test reports them.
pub(crate) const ALL_BUGS: &[Bug] = &[
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
    Bug::RotateNotAtomic,
    Bug::SaveChecksThenWrites,
    Bug::TouchReadsThenWrites,
    Bug::CreateChecksThenInserts,
    Bug::SweepRebuildsFromSnapshot,
    Bug::SaveKeepsOldVersion,
    Bug::SaveLiveAtExpiry,
    Bug::SaveKeepsExpiringNow,
    Bug::SaveCountsVersionItself,
    Bug::TouchBumpsVersion,
    Bug::RotateResetsVersion,
    Bug::AcceptsNewerVersion,
    Bug::ComparesVersionsIn32Bits,
    Bug::RotateKeepsOldOwnerIndex,
    Bug::DeleteOwnerByCreator,
    Bug::ListingRepeatsSessions,
    Bug::DeleteOwnerCountsExpired,
    Bug::RotatedKeyTakesNewVersion,
    Bug::TouchHasGracePeriod,
    Bug::LoadFallsBackToSibling,
    Bug::ListsSiblingOwners,
    Bug::DeleteOwnerAcrossSiblings,
    Bug::SweepsSibling,
    Bug::RotationCollidesWithSibling,
    Bug::NoticeMissesDelete,
    Bug::NoticeMissesOwnerLogout,
    Bug::NoticeMissesRotate,
];
