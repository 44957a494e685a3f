//! The cases. Each is one async function checking one promise of the store contract
//! (`../DESIGN.md`, "The contract every store keeps"), named `group/name` in [`ALL`].
//!
//! Cases never sleep: expiry is driven by the fixture's [`crate::ManualClock`]. Stores with
//! native TTLs set them from the same clock, so logical expiry is what is tested; physical
//! removal is the backend's business.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use session_core::{
    Bytes, Error, ErrorKind, Record, Session, SessionConfig, SessionId, SessionStore, StoreKey,
    Write,
};
use tokio::sync::Barrier;

use crate::{Case, CaseResult, Ctx, Fail};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Fail::Failed(format!($($msg)+)));
        }
    };
}

macro_rules! cases {
    ($( $group:literal, $name:ident, $promise:literal; )*) => {
        /// Every case, in the order reports list them.
        pub static ALL: &[Case] = &[
            $( Case { group: $group, name: stringify!($name), promise: $promise,
                      run: |c| Box::pin($name(c)) }, )*
        ];
    };
}

cases! {
    "record", round_trip, "a created record loads back equal";
    "record", load_missing_is_none, "loading a key never written is None, not an error";
    "record", fields_round_trip, "owner, user agent, timestamps, deadline and version survive storage";
    "record", value_of_1_mib, "a 1 MiB value is stored whole";
    "record", value_of_5_mib, "a 5 MiB value is stored whole (no 64 KiB BLOB cap)";
    "record", binary_safe_values, "values keep every byte value, NULs included";
    "record", unicode_keys, "data keys in any script round-trip";
    "record", many_keys, "a record with 1000 keys round-trips";
    "record", empty_data, "a record without data is still a session";
    "record", keys_are_isolated, "a key loads its own record, never another key's";
    "record", shared_load_agrees, "load_shared returns what load returns: live, touched, expired, missing";
    "create", create_never_overwrites, "create on a live key is Collision and changes nothing";
    "expiry", expired_is_none_before_cleanup, "an expired record loads as None before any cleanup";
    "expiry", expiry_boundary_is_exact, "a record is live 1 ms before expires_at and gone at it";
    "expiry", save_with_past_expiry_deletes, "a save whose expiry has passed ends the session";
    "expiry", touch_extends_expiry, "touch moves expiry so the record outlives its old deadline";
    "expiry", touch_keeps_data_and_version, "touch changes neither data nor version";
    "expiry", touch_missing_is_gone, "touch of a missing key is Gone and creates nothing";
    "expiry", touch_never_revives_expired, "touch of an expired record is Gone and it stays dead";
    "expiry", touch_never_revives_deleted, "touch after delete is Gone and it stays dead";
    "save", save_bumps_version, "a save with the current version replaces data and version";
    "save", save_stale_version_conflicts, "a save with an old version is Conflict and changes nothing";
    "save", save_future_version_conflicts, "a save with a version never stored is Conflict";
    "save", save_missing_is_gone, "save of a missing key is Gone: save never creates";
    "save", save_never_resurrects_deleted, "save after delete is Gone and the session stays deleted";
    "save", save_never_resurrects_expired, "save after expiry is Gone and the session stays dead";
    "save", shared_save_is_compare_and_swap, "save_shared keeps save's contract: Conflict, Gone, replace";
    "delete", delete_removes, "a deleted record loads as None";
    "delete", delete_is_idempotent, "deleting a missing key, or twice, succeeds";
    "delete", delete_touches_only_its_key, "delete leaves other records alone";
    "rotate", rotate_moves_data, "after rotation the old key loads nothing, the new one everything";
    "rotate", rotate_stale_conflicts, "rotation with an old version is Conflict and moves nothing";
    "rotate", rotate_never_resurrects_deleted, "rotation of a deleted session is Gone; neither key loads";
    "rotate", rotate_expired_is_gone, "rotation of an expired session is Gone";
    "rotate", rotate_collision_keeps_old, "rotation onto a taken key is Collision; both records stay";
    "rotate", rotate_index_follows, "after rotation the owner index lists the new key only";
    "rotate", rotate_can_set_owner, "rotation that sets an owner (login) indexes the new key";
    "owner", owner_lists_live_sessions, "an owner's listing holds exactly their live sessions";
    "owner", owner_list_drops_expired, "expired sessions are not listed";
    "owner", owner_list_drops_deleted, "deleted sessions are not listed";
    "owner", owners_are_isolated, "one owner's listing and revocation never touch another's";
    "owner", owner_listing_has_metadata, "listings carry created-at, last-seen, expiry and user agent";
    "owner", delete_owner_removes_all, "log out everywhere deletes every session of the owner";
    "owner", delete_owner_keeps_one, "log out other devices deletes all but the kept session";
    "owner", save_owner_change_moves_index, "a save that changes the owner moves the index entry";
    "cleanup", cleanup_removes_only_expired, "cleanup removes expired records and keeps live ones";
    "cleanup", cleanups_run_concurrently, "two cleanups at once both succeed and keep live records";
    "bad_bytes", truncated_bytes_are_an_error, "a truncated record is a BadData error, not a panic";
    "bad_bytes", unknown_version_is_an_error, "an unknown format version is a BadData error";
    "bad_bytes", foreign_bytes_are_an_error, "a foreign writer's bytes (JSON) are a BadData error";
    "bad_bytes", empty_bytes_are_an_error, "zero bytes are a BadData error";
    "bad_bytes", bad_record_spares_others, "one unreadable record does not affect others";
    "handle", handle_round_trip, "a handle creates a session another handle reads";
    "handle", handle_64_tasks_distinct_keys, "64 concurrent requests adding distinct keys lose none";
    "handle", handle_64_tasks_same_key, "64 concurrent writers of one key leave one value, 63 overwrites reported";
    "handle", handle_logout_wins_over_late_save, "a request that loaded before logout cannot revive the session";
    "handle", handle_login_rotates_id, "login issues a new id, keeps data, kills the old id, indexes the owner";
    "handle", handle_touch_is_throttled, "an unchanged fresh session writes nothing; a stale one only touches";
    "handle", handle_idle_timeout, "a session unused for the idle timeout is gone";
    "handle", handle_absolute_timeout, "an active session still ends at the absolute deadline";
    "handle", handle_revoke_other_sessions, "revoking other devices ends them and spares this one and other users";
    "handle", handle_login_restarts_lifetime, "login restarts the absolute lifetime (re-authentication, R39)";
}

// ----- helpers ---------------------------------------------------------------------------

fn new_key() -> Result<StoreKey, Fail> {
    Ok(SessionId::generate()?.store_key())
}

fn record(ctx: &Ctx, data: &[(&str, &[u8])]) -> Record {
    let now = session_core::Clock::now(&ctx.clock);
    let mut r = Record::new(now, now.plus(HOUR));
    for (k, v) in data {
        r.data.insert((*k).to_owned(), Bytes::copy_from_slice(v));
    }
    r
}

fn owned(ctx: &Ctx, owner: &str, lifetime: Duration) -> Record {
    let mut r = record(ctx, &[("who", owner.as_bytes())]);
    r.owner = Some(owner.to_owned());
    r.expires_at = r.created_at.plus(lifetime);
    r
}

async fn created(ctx: &Ctx, r: &Record) -> Result<StoreKey, Fail> {
    let k = new_key()?;
    ctx.store.create(&k, r).await?;
    Ok(k)
}

fn expect_kind<T: std::fmt::Debug>(
    res: Result<T, Error>,
    kind: ErrorKind,
    what: &str,
) -> CaseResult {
    match res {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(Fail::Failed(format!(
            "{what}: expected {kind:?}, got {:?} ({e})",
            e.kind()
        ))),
        Ok(v) => Err(Fail::Failed(format!(
            "{what}: expected {kind:?}, got Ok({v:?})"
        ))),
    }
}

async fn must_load(ctx: &Ctx, k: &StoreKey, what: &str) -> Result<Record, Fail> {
    ctx.store
        .load(k)
        .await?
        .ok_or_else(|| Fail::Failed(format!("{what}: record missing")))
}

async fn must_be_none(ctx: &Ctx, k: &StoreKey, what: &str) -> CaseResult {
    let r = ctx.store.load(k).await?;
    ensure!(r.is_none(), "{what}: expected no record, found one");
    Ok(())
}

fn data_of<'a>(r: &'a Record, key: &str) -> Option<&'a [u8]> {
    r.data.get(key).map(|b| b.as_ref())
}

fn config(ctx: &Ctx) -> Arc<SessionConfig> {
    Arc::new(
        SessionConfig::default()
            .with_clock(Arc::new(ctx.clock.clone()))
            .with_idle_timeout(30 * MINUTE)
            .with_absolute_timeout(Some(2 * HOUR))
            .with_max_data_bytes(16 * 1024 * 1024)
            .with_max_save_attempts(1000),
    )
}

fn handle(ctx: &Ctx, id: Option<SessionId>) -> Session {
    Session::new(ctx.store.clone(), config(ctx), id)
}

async fn new_session(ctx: &Ctx, data: &[(&str, i64)]) -> Result<SessionId, Fail> {
    let s = handle(ctx, None);
    for (k, v) in data {
        s.insert(k, v)?;
    }
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::Created,
        "first save should create, did {:?}",
        rep.write
    );
    s.id()
        .await
        .ok_or_else(|| Fail::Failed("created session has no id".into()))
}

fn raw(ctx: &Ctx) -> Result<Arc<dyn crate::RawBytes>, Fail> {
    ctx.raw.clone().ok_or(Fail::Skipped(
        "store keeps decoded records, not bytes: it has no decode path to test",
    ))
}

fn keys_of(list: &[session_core::OwnerSession]) -> BTreeSet<StoreKey> {
    list.iter().map(|s| s.key).collect()
}

// ----- record ----------------------------------------------------------------------------

/// A created record loads back equal.
pub async fn round_trip(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("user", b"42"), ("csrf", b"secret")]);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(
        back == r,
        "loaded record differs from the created one: {back:?} vs {r:?}"
    );
    Ok(())
}

/// Loading a key never written is `None`.
pub async fn load_missing_is_none(ctx: Ctx) -> CaseResult {
    must_be_none(&ctx, &new_key()?, "never written").await
}

/// Every field survives storage.
pub async fn fields_round_trip(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.owner = Some("user-7".into());
    r.user_agent = Some("Mozilla/5.0 (X11; Linux) Firefox/140".into());
    r.absolute_deadline = Some(r.created_at.plus(2 * HOUR));
    r.version = 17;
    r.last_seen = r.created_at.plus(Duration::from_millis(5));
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(back.owner == r.owner, "owner changed: {:?}", back.owner);
    ensure!(back.user_agent == r.user_agent, "user agent changed");
    ensure!(back.created_at == r.created_at, "created_at changed");
    ensure!(back.last_seen == r.last_seen, "last_seen changed");
    ensure!(back.expires_at == r.expires_at, "expires_at changed");
    ensure!(
        back.absolute_deadline == r.absolute_deadline,
        "absolute deadline changed"
    );
    ensure!(back.version == 17, "version changed to {}", back.version);
    Ok(())
}

async fn big_value(ctx: &Ctx, size: usize) -> CaseResult {
    let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let r = record(ctx, &[("big", &value)]);
    let k = created(ctx, &r).await?;
    let back = must_load(ctx, &k, "after create").await?;
    let got = data_of(&back, "big").unwrap_or_default();
    ensure!(
        got.len() == size,
        "stored {} bytes, got {} back",
        size,
        got.len()
    );
    ensure!(
        got == value.as_slice(),
        "the {size}-byte value came back altered"
    );
    Ok(())
}

/// A 1 MiB value is stored whole.
pub async fn value_of_1_mib(ctx: Ctx) -> CaseResult {
    big_value(&ctx, 1024 * 1024).await
}

/// A 5 MiB value is stored whole.
pub async fn value_of_5_mib(ctx: Ctx) -> CaseResult {
    big_value(&ctx, 5 * 1024 * 1024).await
}

/// Values are binary-safe.
pub async fn binary_safe_values(ctx: Ctx) -> CaseResult {
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let r = record(&ctx, &[("bin", &all), ("nul", b"\0\0\0"), ("empty", b"")]);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(
        data_of(&back, "bin") == Some(&all[..]),
        "byte values altered"
    );
    ensure!(
        data_of(&back, "nul") == Some(&b"\0\0\0"[..]),
        "NUL bytes altered"
    );
    ensure!(
        data_of(&back, "empty") == Some(&b""[..]),
        "empty value lost"
    );
    Ok(())
}

/// Data keys in any script round-trip.
pub async fn unicode_keys(ctx: Ctx) -> CaseResult {
    let keys = ["ключ", "键", "🔑", "clé", "a b\tc", "", "\u{0}"];
    let pairs: Vec<(&str, &[u8])> = keys.iter().map(|k| (*k, k.as_bytes())).collect();
    let r = record(&ctx, &pairs);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    for key in keys {
        ensure!(
            data_of(&back, key) == Some(key.as_bytes()),
            "key {key:?} did not round-trip"
        );
    }
    Ok(())
}

/// A record with many keys round-trips.
pub async fn many_keys(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[]);
    for i in 0..1000 {
        r.data
            .insert(format!("item-{i}"), Bytes::from(i.to_string().into_bytes()));
    }
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "after create").await?;
    ensure!(
        back.data.len() == 1000,
        "{} of 1000 keys came back",
        back.data.len()
    );
    ensure!(back == r, "record with 1000 keys changed");
    Ok(())
}

/// A record without data is a session.
pub async fn empty_data(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[]);
    let k = created(&ctx, &r).await?;
    let back = must_load(&ctx, &k, "empty record").await?;
    ensure!(back.data.is_empty(), "data appeared from nowhere");
    Ok(())
}

/// A key loads its own record.
pub async fn keys_are_isolated(ctx: Ctx) -> CaseResult {
    let mut keys = Vec::new();
    for i in 0..8u8 {
        let r = record(&ctx, &[("n", &[i])]);
        keys.push((created(&ctx, &r).await?, i));
    }
    for (k, i) in keys {
        let back = must_load(&ctx, &k, "isolation").await?;
        ensure!(
            data_of(&back, "n") == Some(&[i][..]),
            "key {i} loaded another session's data"
        );
    }
    Ok(())
}

// ----- create ----------------------------------------------------------------------------

/// Create never overwrites.
pub async fn create_never_overwrites(ctx: Ctx) -> CaseResult {
    let first = record(&ctx, &[("owner", b"first")]);
    let k = created(&ctx, &first).await?;
    let second = record(&ctx, &[("owner", b"second")]);
    expect_kind(
        ctx.store.create(&k, &second).await,
        ErrorKind::Collision,
        "create on a live key",
    )?;
    let back = must_load(&ctx, &k, "after collision").await?;
    ensure!(
        data_of(&back, "owner") == Some(&b"first"[..]),
        "create overwrote the existing record"
    );
    Ok(())
}

// ----- expiry ----------------------------------------------------------------------------

/// Expired is None even before cleanup.
pub async fn expired_is_none_before_cleanup(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(10 * MINUTE);
    let k = created(&ctx, &r).await?;
    must_load(&ctx, &k, "before expiry").await?;
    ctx.clock.advance(11 * MINUTE);
    must_be_none(&ctx, &k, "after expiry, before cleanup").await
}

/// Expiry is exact to the millisecond.
pub async fn expiry_boundary_is_exact(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE - Duration::from_millis(1));
    must_load(&ctx, &k, "1 ms before expiry").await?;
    ctx.clock.advance(Duration::from_millis(1));
    must_be_none(&ctx, &k, "at expires_at").await
}

/// A save with a past expiry ends the session.
pub async fn save_with_past_expiry_deletes(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("k", b"v")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Timestamp::from_millis(r.created_at.as_millis() - 1);
    ctx.store.save(&k, &next, r.version).await?;
    must_be_none(&ctx, &k, "after saving an already-expired record").await
}

/// Touch extends expiry.
pub async fn touch_extends_expiry(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(10 * MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(5 * MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(30 * MINUTE), now).await?;
    ctx.clock.advance(20 * MINUTE);
    let back = must_load(&ctx, &k, "after the old deadline, within the new one").await?;
    ensure!(
        back.expires_at == now.plus(30 * MINUTE),
        "expiry not moved: {:?}",
        back.expires_at
    );
    ensure!(back.last_seen == now, "last_seen not moved");
    ctx.clock.advance(11 * MINUTE);
    must_be_none(&ctx, &k, "after the new deadline").await
}

/// Touch changes neither data nor version.
pub async fn touch_keeps_data_and_version(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1,2,3]"), ("user", b"9")]);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(HOUR), now).await?;
    let back = must_load(&ctx, &k, "after touch").await?;
    ensure!(back.data == r.data, "touch changed the data");
    ensure!(back.version == r.version, "touch changed the version");
    ensure!(
        back.owner == r.owner && back.created_at == r.created_at,
        "touch changed metadata"
    );
    // A save with the pre-touch version still succeeds: touch is not a data write.
    let mut next = back.clone();
    next.version += 1;
    ctx.store.save(&k, &next, r.version).await?;
    Ok(())
}

/// Touch of a missing key is Gone.
pub async fn touch_missing_is_gone(ctx: Ctx) -> CaseResult {
    let k = new_key()?;
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch of missing",
    )?;
    must_be_none(&ctx, &k, "after touch of a missing key").await
}

/// Touch never revives an expired record.
pub async fn touch_never_revives_expired(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("k", b"v")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(2 * MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch of expired",
    )?;
    must_be_none(&ctx, &k, "after touch of an expired record").await
}

/// Touch never revives a deleted record.
pub async fn touch_never_revives_deleted(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("k", b"v")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    let now = session_core::Clock::now(&ctx.clock);
    expect_kind(
        ctx.store.touch(&k, now.plus(HOUR), now).await,
        ErrorKind::Gone,
        "touch after delete",
    )?;
    must_be_none(&ctx, &k, "after touch of a deleted record").await
}

/// `load_shared` (what the session handle calls) agrees with `load` in every state.
pub async fn shared_load_agrees(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let shared = ctx.store.load_shared(&k).await?;
    ensure!(
        shared.as_deref() == Some(&r),
        "load_shared after create: {shared:?}"
    );
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(2 * HOUR), now).await?;
    let (plain, shared) = (ctx.store.load(&k).await?, ctx.store.load_shared(&k).await?);
    ensure!(
        plain.is_some() && shared.as_deref() == plain.as_ref(),
        "after touch, load_shared {shared:?} differs from load {plain:?}"
    );
    ctx.clock.advance(3 * HOUR);
    ensure!(
        ctx.store.load_shared(&k).await?.is_none(),
        "load_shared returned an expired record"
    );
    ensure!(
        ctx.store.load_shared(&new_key()?).await?.is_none(),
        "load_shared of a missing key is not None"
    );
    Ok(())
}

// ----- save ------------------------------------------------------------------------------

/// A save with the current version replaces the record.
pub async fn save_bumps_version(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1"), ("b", b"2")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.data.remove("a");
    next.data.insert("c".into(), Bytes::from_static(b"3"));
    next.version = r.version + 1;
    ctx.store.save(&k, &next, r.version).await?;
    let back = must_load(&ctx, &k, "after save").await?;
    ensure!(back == next, "saved record differs on load: {back:?}");
    let mut third = next.clone();
    third.version += 1;
    ctx.store.save(&k, &third, next.version).await?;
    ensure!(
        must_load(&ctx, &k, "second save").await?.version == third.version,
        "second save lost"
    );
    Ok(())
}

/// A stale version is Conflict.
pub async fn save_stale_version_conflicts(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let mut winner = r.clone();
    winner
        .data
        .insert("a".into(), Bytes::from_static(b"winner"));
    winner.version = r.version + 1;
    ctx.store.save(&k, &winner, r.version).await?;
    let mut loser = r.clone();
    loser.data.insert("a".into(), Bytes::from_static(b"loser"));
    loser.version = r.version + 1;
    expect_kind(
        ctx.store.save(&k, &loser, r.version).await,
        ErrorKind::Conflict,
        "stale save",
    )?;
    let back = must_load(&ctx, &k, "after conflict").await?;
    ensure!(
        data_of(&back, "a") == Some(&b"winner"[..]),
        "the losing save changed the record"
    );
    Ok(())
}

/// A version never stored is Conflict.
pub async fn save_future_version_conflicts(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version = r.version + 6;
    expect_kind(
        ctx.store.save(&k, &next, r.version + 5).await,
        ErrorKind::Conflict,
        "future version",
    )?;
    ensure!(
        must_load(&ctx, &k, "after").await?.version == r.version,
        "record changed"
    );
    Ok(())
}

/// Save never creates.
pub async fn save_missing_is_gone(ctx: Ctx) -> CaseResult {
    let k = new_key()?;
    let r = record(&ctx, &[("a", b"1")]);
    expect_kind(
        ctx.store.save(&k, &r, 0).await,
        ErrorKind::Gone,
        "save of a missing key",
    )?;
    expect_kind(
        ctx.store.save(&k, &r, 1).await,
        ErrorKind::Gone,
        "save of a missing key",
    )?;
    must_be_none(&ctx, &k, "after save of a missing key").await
}

/// `save_shared` (what the session handle calls) keeps `save`'s contract.
pub async fn shared_save_is_compare_and_swap(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.data.insert("a".into(), Bytes::from_static(b"2"));
    next.version = r.version + 1;
    let next = Arc::new(next);
    ctx.store.save_shared(&k, &next, r.version).await?;
    let back = must_load(&ctx, &k, "after save_shared").await?;
    ensure!(back == *next, "save_shared stored {back:?}");
    expect_kind(
        ctx.store.save_shared(&k, &next, r.version).await,
        ErrorKind::Conflict,
        "stale save_shared",
    )?;
    ensure!(
        must_load(&ctx, &k, "after stale save_shared").await? == *next,
        "a stale save_shared changed the record"
    );
    ctx.store.delete(&k).await?;
    expect_kind(
        ctx.store.save_shared(&k, &next, next.version).await,
        ErrorKind::Gone,
        "save_shared after delete",
    )?;
    must_be_none(&ctx, &k, "after save_shared of a deleted key").await
}

/// Save never resurrects a deleted session.
pub async fn save_never_resurrects_deleted(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    let mut next = r.clone();
    next.version += 1;
    expect_kind(
        ctx.store.save(&k, &next, r.version).await,
        ErrorKind::Gone,
        "save after delete",
    )?;
    must_be_none(&ctx, &k, "after save of a deleted session").await
}

/// Save never resurrects an expired session.
pub async fn save_never_resurrects_expired(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"1")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(2 * MINUTE);
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Clock::now(&ctx.clock).plus(HOUR);
    expect_kind(
        ctx.store.save(&k, &next, r.version).await,
        ErrorKind::Gone,
        "save after expiry",
    )?;
    must_be_none(&ctx, &k, "after save of an expired session").await
}

// ----- delete ----------------------------------------------------------------------------

/// Delete removes.
pub async fn delete_removes(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    must_be_none(&ctx, &k, "after delete").await
}

/// Delete is idempotent.
pub async fn delete_is_idempotent(ctx: Ctx) -> CaseResult {
    ctx.store.delete(&new_key()?).await?;
    let r = record(&ctx, &[("a", b"1")]);
    let k = created(&ctx, &r).await?;
    ctx.store.delete(&k).await?;
    ctx.store.delete(&k).await?;
    must_be_none(&ctx, &k, "after two deletes").await
}

/// Delete touches only its key.
pub async fn delete_touches_only_its_key(ctx: Ctx) -> CaseResult {
    let a = created(&ctx, &record(&ctx, &[("n", b"a")])).await?;
    let b = created(&ctx, &record(&ctx, &[("n", b"b")])).await?;
    ctx.store.delete(&a).await?;
    let back = must_load(&ctx, &b, "the other record").await?;
    ensure!(
        data_of(&back, "n") == Some(&b"b"[..]),
        "the other record changed"
    );
    Ok(())
}

// ----- rotate ----------------------------------------------------------------------------

/// Rotation moves the data atomically.
pub async fn rotate_moves_data(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1]"), ("user", b"5")]);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    must_be_none(&ctx, &old, "old key after rotation").await?;
    let back = must_load(&ctx, &new, "new key after rotation").await?;
    ensure!(back.data == r.data, "data changed in rotation");
    // The moved record continues its version history: the next save uses it.
    let mut third = back.clone();
    third.version += 1;
    ctx.store.save(&new, &third, back.version).await?;
    Ok(())
}

/// Rotation checks the version.
pub async fn rotate_stale_conflicts(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let old = created(&ctx, &r).await?;
    let mut saved = r.clone();
    saved.version += 1;
    ctx.store.save(&old, &saved, r.version).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    expect_kind(
        ctx.store.rotate(&old, &new, &next, r.version).await,
        ErrorKind::Conflict,
        "stale rotation",
    )?;
    must_load(&ctx, &old, "old key after failed rotation").await?;
    must_be_none(&ctx, &new, "new key after failed rotation").await
}

/// Rotation of a deleted session is Gone.
pub async fn rotate_never_resurrects_deleted(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("a", b"1")]);
    let old = created(&ctx, &r).await?;
    ctx.store.delete(&old).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    expect_kind(
        ctx.store.rotate(&old, &new, &next, r.version).await,
        ErrorKind::Gone,
        "rotation after delete",
    )?;
    must_be_none(&ctx, &old, "old key").await?;
    must_be_none(&ctx, &new, "new key").await
}

/// Rotation of an expired session is Gone.
pub async fn rotate_expired_is_gone(ctx: Ctx) -> CaseResult {
    let mut r = record(&ctx, &[("a", b"1")]);
    r.expires_at = r.created_at.plus(MINUTE);
    let old = created(&ctx, &r).await?;
    ctx.clock.advance(2 * MINUTE);
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.expires_at = session_core::Clock::now(&ctx.clock).plus(HOUR);
    expect_kind(
        ctx.store.rotate(&old, &new, &next, r.version).await,
        ErrorKind::Gone,
        "rotation after expiry",
    )?;
    must_be_none(&ctx, &new, "new key").await
}

/// Rotation onto a taken key is Collision.
pub async fn rotate_collision_keeps_old(ctx: Ctx) -> CaseResult {
    let a = record(&ctx, &[("n", b"a")]);
    let b = record(&ctx, &[("n", b"b")]);
    let ka = created(&ctx, &a).await?;
    let kb = created(&ctx, &b).await?;
    let mut next = a.clone();
    next.version += 1;
    expect_kind(
        ctx.store.rotate(&ka, &kb, &next, a.version).await,
        ErrorKind::Collision,
        "rotation onto a taken key",
    )?;
    let back_a = must_load(&ctx, &ka, "old key").await?;
    let back_b = must_load(&ctx, &kb, "taken key").await?;
    ensure!(
        data_of(&back_a, "n") == Some(&b"a"[..]),
        "old record changed"
    );
    ensure!(
        data_of(&back_b, "n") == Some(&b"b"[..]),
        "taken record overwritten"
    );
    Ok(())
}

/// The owner index follows a rotation.
pub async fn rotate_index_follows(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "alice", HOUR);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    let list = ctx.store.list_owner("alice").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([new]),
        "index after rotation: {list:?}"
    );
    Ok(())
}

/// A rotation can set the owner (login).
pub async fn rotate_can_set_owner(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[7]")]);
    let old = created(&ctx, &r).await?;
    let new = new_key()?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("bob".into());
    ctx.store.rotate(&old, &new, &next, r.version).await?;
    let list = ctx.store.list_owner("bob").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([new]),
        "owner not indexed at login: {list:?}"
    );
    let back = must_load(&ctx, &new, "after login rotation").await?;
    ensure!(back.owner.as_deref() == Some("bob"), "owner not stored");
    must_be_none(&ctx, &old, "anonymous key after login").await
}

// ----- owner index -----------------------------------------------------------------------

/// Listing holds exactly the live sessions.
pub async fn owner_lists_live_sessions(ctx: Ctx) -> CaseResult {
    let mut keys = BTreeSet::new();
    for _ in 0..5 {
        keys.insert(created(&ctx, &owned(&ctx, "carol", HOUR)).await?);
    }
    created(&ctx, &record(&ctx, &[("anon", b"1")])).await?;
    let list = ctx.store.list_owner("carol").await?;
    ensure!(
        list.len() == 5,
        "listed {} sessions, expected 5 (duplicates?)",
        list.len()
    );
    ensure!(keys_of(&list) == keys, "listed keys differ");
    ensure!(
        ctx.store.list_owner("nobody").await?.is_empty(),
        "unknown owner has sessions"
    );
    Ok(())
}

/// Expired sessions are not listed.
pub async fn owner_list_drops_expired(ctx: Ctx) -> CaseResult {
    let _short = created(&ctx, &owned(&ctx, "dave", 10 * MINUTE)).await?;
    let long = created(&ctx, &owned(&ctx, "dave", 2 * HOUR)).await?;
    ctx.clock.advance(20 * MINUTE);
    let list = ctx.store.list_owner("dave").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([long]),
        "expired session listed: {list:?}"
    );
    Ok(())
}

/// Deleted sessions are not listed.
pub async fn owner_list_drops_deleted(ctx: Ctx) -> CaseResult {
    let a = created(&ctx, &owned(&ctx, "erin", HOUR)).await?;
    let b = created(&ctx, &owned(&ctx, "erin", HOUR)).await?;
    ctx.store.delete(&a).await?;
    let list = ctx.store.list_owner("erin").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([b]),
        "deleted session listed: {list:?}"
    );
    ctx.store.delete(&b).await?;
    ensure!(
        ctx.store.list_owner("erin").await?.is_empty(),
        "deleted sessions listed"
    );
    Ok(())
}

/// Owners are isolated.
pub async fn owners_are_isolated(ctx: Ctx) -> CaseResult {
    let f = created(&ctx, &owned(&ctx, "frank", HOUR)).await?;
    let g = created(&ctx, &owned(&ctx, "grace", HOUR)).await?;
    // A prefix of another owner's name is another owner.
    let fr = created(&ctx, &owned(&ctx, "fran", HOUR)).await?;
    ensure!(
        keys_of(&ctx.store.list_owner("frank").await?) == BTreeSet::from([f]),
        "frank's listing wrong"
    );
    let n = ctx.store.delete_owner("frank", None).await?;
    ensure!(n == 1, "deleted {n} sessions for frank, expected 1");
    must_load(
        &ctx,
        &g,
        "grace's session after frank logged out everywhere",
    )
    .await?;
    must_load(
        &ctx,
        &fr,
        "fran's session after frank logged out everywhere",
    )
    .await?;
    Ok(())
}

/// Listings carry metadata.
pub async fn owner_listing_has_metadata(ctx: Ctx) -> CaseResult {
    let mut r = owned(&ctx, "heidi", HOUR);
    r.user_agent = Some("TestBrowser/1.0".into());
    let k = created(&ctx, &r).await?;
    ctx.clock.advance(MINUTE);
    let now = session_core::Clock::now(&ctx.clock);
    ctx.store.touch(&k, now.plus(HOUR), now).await?;
    let list = ctx.store.list_owner("heidi").await?;
    let [s] = list.as_slice() else {
        return Err(Fail::Failed(format!(
            "expected one session, got {}",
            list.len()
        )));
    };
    ensure!(s.key == k, "wrong key listed");
    ensure!(s.created_at == r.created_at, "created_at wrong in listing");
    ensure!(
        s.last_seen == now,
        "last_seen not updated by touch in listing"
    );
    ensure!(
        s.expires_at == now.plus(HOUR),
        "expires_at wrong in listing"
    );
    ensure!(
        s.user_agent.as_deref() == Some("TestBrowser/1.0"),
        "user agent missing"
    );
    Ok(())
}

/// Log out everywhere.
pub async fn delete_owner_removes_all(ctx: Ctx) -> CaseResult {
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(created(&ctx, &owned(&ctx, "ivan", HOUR)).await?);
    }
    let n = ctx.store.delete_owner("ivan", None).await?;
    ensure!(n == 4, "deleted {n}, expected 4");
    for k in &keys {
        must_be_none(&ctx, k, "after log out everywhere").await?;
    }
    ensure!(
        ctx.store.list_owner("ivan").await?.is_empty(),
        "listing not empty"
    );
    Ok(())
}

/// Log out other devices.
pub async fn delete_owner_keeps_one(ctx: Ctx) -> CaseResult {
    let mut keys = Vec::new();
    for _ in 0..4 {
        keys.push(created(&ctx, &owned(&ctx, "judy", HOUR)).await?);
    }
    let n = ctx.store.delete_owner("judy", Some(&keys[2])).await?;
    ensure!(n == 3, "deleted {n}, expected 3");
    for (i, k) in keys.iter().enumerate() {
        if i == 2 {
            must_load(&ctx, k, "the kept session").await?;
        } else {
            must_be_none(&ctx, k, "another device").await?;
        }
    }
    let list = ctx.store.list_owner("judy").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([keys[2]]),
        "listing after revocation: {list:?}"
    );
    Ok(())
}

/// A save that changes the owner moves the index entry.
pub async fn save_owner_change_moves_index(ctx: Ctx) -> CaseResult {
    let r = owned(&ctx, "mallory", HOUR);
    let k = created(&ctx, &r).await?;
    let mut next = r.clone();
    next.version += 1;
    next.owner = Some("niaj".into());
    ctx.store.save(&k, &next, r.version).await?;
    ensure!(
        ctx.store.list_owner("mallory").await?.is_empty(),
        "old owner still lists it"
    );
    ensure!(
        keys_of(&ctx.store.list_owner("niaj").await?) == BTreeSet::from([k]),
        "new owner does not list it"
    );
    let mut anon = next.clone();
    anon.version += 1;
    anon.owner = None;
    ctx.store.save(&k, &anon, next.version).await?;
    ensure!(
        ctx.store.list_owner("niaj").await?.is_empty(),
        "owner removed but still listed"
    );
    Ok(())
}

// ----- cleanup ---------------------------------------------------------------------------

/// Cleanup removes only expired records.
pub async fn cleanup_removes_only_expired(ctx: Ctx) -> CaseResult {
    let mut short = Vec::new();
    let mut long = Vec::new();
    for i in 0..5u8 {
        let mut r = record(&ctx, &[("n", &[i])]);
        r.expires_at = r.created_at.plus(10 * MINUTE);
        short.push(created(&ctx, &r).await?);
        let mut r = record(&ctx, &[("n", &[i + 100])]);
        r.expires_at = r.created_at.plus(2 * HOUR);
        long.push((created(&ctx, &r).await?, i + 100));
    }
    ctx.clock.advance(20 * MINUTE);
    let n = ctx.store.delete_expired().await?;
    ensure!(
        n <= 5,
        "cleanup reported {n} removals; only 5 records had expired"
    );
    for k in &short {
        must_be_none(&ctx, k, "expired record after cleanup").await?;
    }
    for (k, i) in &long {
        let back = must_load(&ctx, k, "live record after cleanup").await?;
        ensure!(
            data_of(&back, "n") == Some(&[*i][..]),
            "live record altered by cleanup"
        );
    }
    let again = ctx.store.delete_expired().await?;
    ensure!(again == 0, "a second cleanup removed {again} more records");
    Ok(())
}

/// Two cleanups at once.
pub async fn cleanups_run_concurrently(ctx: Ctx) -> CaseResult {
    let mut live = Vec::new();
    for i in 0..40u8 {
        let mut r = record(&ctx, &[("n", &[i])]);
        r.expires_at = r
            .created_at
            .plus(if i % 2 == 0 { 5 * MINUTE } else { 2 * HOUR });
        let k = created(&ctx, &r).await?;
        if i % 2 == 1 {
            live.push(k);
        }
    }
    ctx.clock.advance(10 * MINUTE);
    let (a, b) = tokio::join!(ctx.store.delete_expired(), ctx.store.delete_expired());
    let (a, b) = (a?, b?);
    ensure!(
        a + b <= 20,
        "two cleanups removed {} records; only 20 had expired",
        a + b
    );
    for k in &live {
        must_load(&ctx, k, "live record after concurrent cleanups").await?;
    }
    Ok(())
}

// ----- bad bytes -------------------------------------------------------------------------

async fn bad_bytes_case(ctx: &Ctx, bytes: &[u8], what: &str) -> CaseResult {
    let raw = raw(ctx)?;
    let k = new_key()?;
    let now = session_core::Clock::now(&ctx.clock);
    raw.write_raw(&k, bytes, now.plus(HOUR)).await?;
    expect_kind(ctx.store.load(&k).await, ErrorKind::BadData, what)
}

/// A truncated record is an error.
pub async fn truncated_bytes_are_an_error(ctx: Ctx) -> CaseResult {
    let r = record(&ctx, &[("cart", b"[1,2,3]")]);
    let full = r.encode()?;
    for cut in [1, full.len() / 2, full.len() - 1] {
        bad_bytes_case(&ctx, &full[..cut], "truncated record").await?;
    }
    Ok(())
}

/// An unknown format version is an error.
pub async fn unknown_version_is_an_error(ctx: Ctx) -> CaseResult {
    let mut b = record(&ctx, &[("a", b"1")]).encode()?;
    b[0] = 0xEE;
    bad_bytes_case(&ctx, &b, "unknown format version").await
}

/// Foreign bytes are an error.
pub async fn foreign_bytes_are_an_error(ctx: Ctx) -> CaseResult {
    bad_bytes_case(
        &ctx,
        br#"{"cookie":{"originalMaxAge":null},"user":"x"}"#,
        "JSON from another library",
    )
    .await?;
    bad_bytes_case(
        &ctx,
        b"\x82\xa4user\xa1x",
        "MessagePack from another library",
    )
    .await
}

/// Zero bytes are an error.
pub async fn empty_bytes_are_an_error(ctx: Ctx) -> CaseResult {
    bad_bytes_case(&ctx, b"", "empty value").await
}

/// An unreadable record spares its neighbours.
pub async fn bad_record_spares_others(ctx: Ctx) -> CaseResult {
    let raw = raw(&ctx)?;
    let good = created(&ctx, &record(&ctx, &[("mine", b"yes")])).await?;
    let bad = new_key()?;
    let now = session_core::Clock::now(&ctx.clock);
    raw.write_raw(&bad, &[1, 0xff, 0xff], now.plus(HOUR))
        .await?;
    expect_kind(ctx.store.load(&bad).await, ErrorKind::BadData, "bad record")?;
    let back = must_load(&ctx, &good, "good record next to a bad one").await?;
    ensure!(
        data_of(&back, "mine") == Some(&b"yes"[..]),
        "good record altered"
    );
    ctx.store.delete(&bad).await?;
    must_be_none(&ctx, &bad, "a bad record can be deleted").await
}

// ----- the handle ------------------------------------------------------------------------

/// A handle creates a session that another handle reads.
pub async fn handle_round_trip(ctx: Ctx) -> CaseResult {
    let s = handle(&ctx, None);
    s.insert("cart", &vec!["apple", "pear"])?;
    s.insert_raw("bin", Bytes::from_static(&[0, 159, 146, 150]))?;
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::Created,
        "expected a create, got {:?}",
        rep.write
    );
    let id = s
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after create".into()))?;
    let again = handle(&ctx, Some(id.clone()));
    let cart: Option<Vec<String>> = again.get("cart").await?;
    ensure!(
        cart == Some(vec!["apple".into(), "pear".into()]),
        "cart read back as {cart:?}"
    );
    ensure!(
        again.get_raw("bin").await?.as_deref() == Some(&[0, 159, 146, 150][..]),
        "raw value altered"
    );
    again.remove("cart");
    let rep = again.save().await?;
    ensure!(
        rep.write == Write::Saved,
        "expected a save, got {:?}",
        rep.write
    );
    let third = handle(&ctx, Some(id));
    ensure!(
        third.get::<Vec<String>>("cart").await?.is_none(),
        "removed key still there"
    );
    Ok(())
}

/// 64 concurrent requests adding distinct keys lose nothing.
pub async fn handle_64_tasks_distinct_keys(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("init", 0)]).await?;
    let barrier = Arc::new(Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64i64 {
        let s = handle(&ctx, Some(id.clone()));
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            // Everyone loads before anyone saves, so the saves really race.
            s.exists().await?;
            barrier.wait().await;
            s.insert(&format!("item-{i}"), &i)?;
            s.save().await
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        let rep = t
            .await
            .map_err(|e| Fail::Failed(format!("task failed: {e}")))??;
        ensure!(
            rep.overwritten.is_empty(),
            "distinct keys reported as overwritten: {:?}",
            rep.overwritten
        );
        conflicts += rep.attempts - 1;
    }
    let back = must_load(&ctx, &id.store_key(), "after 64 writers").await?;
    for i in 0..64 {
        ensure!(
            data_of(&back, &format!("item-{i}")) == Some(i.to_string().as_bytes()),
            "item-{i} was lost ({} keys present, {conflicts} conflicts replayed)",
            back.data.len()
        );
    }
    ensure!(
        back.data.len() == 65,
        "unexpected keys: {}",
        back.data.len()
    );
    ensure!(
        conflicts >= 63,
        "the saves did not race ({conflicts} conflicts)"
    );
    Ok(())
}

/// 64 concurrent writers of one key leave one value, and the overwrites are reported.
pub async fn handle_64_tasks_same_key(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("same", -1)]).await?;
    let barrier = Arc::new(Barrier::new(64));
    let mut tasks = Vec::new();
    for i in 0..64i64 {
        let s = handle(&ctx, Some(id.clone()));
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            s.exists().await?;
            barrier.wait().await;
            s.insert("same", &i)?;
            s.save().await
        }));
    }
    let mut reported = 0;
    for t in tasks {
        let rep = t
            .await
            .map_err(|e| Fail::Failed(format!("task failed: {e}")))??;
        if rep.overwritten.iter().any(|k| k == "same") {
            reported += 1;
        }
    }
    let s = handle(&ctx, Some(id));
    let v: Option<i64> = s.get("same").await?;
    ensure!(
        matches!(v, Some(0..=63)),
        "final value {v:?} is none of the writers'"
    );
    ensure!(
        reported == 63,
        "{reported} saves reported an overwrite; every one of the 63 losers should"
    );
    Ok(())
}

/// A request that loaded before a logout cannot bring the session back.
pub async fn handle_logout_wins_over_late_save(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("user", 1)]).await?;
    let slow = handle(&ctx, Some(id.clone()));
    ensure!(slow.exists().await?, "session missing before logout");
    let logout = handle(&ctx, Some(id.clone()));
    logout.destroy().await?;
    slow.insert("cart", &[1, 2, 3])?;
    expect_kind(slow.save().await, ErrorKind::Gone, "late save after logout")?;
    must_be_none(&ctx, &id.store_key(), "after the late save").await?;
    ensure!(
        slow.id().await.is_none(),
        "the late handle still offers an id"
    );
    ensure!(
        slow.cookie_events().await.ended,
        "the late handle does not report the end"
    );
    Ok(())
}

/// Login rotates the id.
pub async fn handle_login_rotates_id(ctx: Ctx) -> CaseResult {
    let anon = new_session(&ctx, &[("cart", 3)]).await?;
    let s = handle(&ctx, Some(anon.clone()));
    let rep = s.login("oscar").await?;
    ensure!(rep.write == Write::Rotated, "login did {:?}", rep.write);
    let new = s
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after login".into()))?;
    ensure!(new != anon, "login kept the pre-login id");
    ensure!(
        s.cookie_events().await.id_changed,
        "cookie not flagged for the new id"
    );
    must_be_none(&ctx, &anon.store_key(), "pre-login id after login").await?;
    let back = must_load(&ctx, &new.store_key(), "post-login id").await?;
    ensure!(
        data_of(&back, "cart") == Some(&b"3"[..]),
        "cart lost at login"
    );
    ensure!(back.owner.as_deref() == Some("oscar"), "owner not set");
    let list = ctx.store.list_owner("oscar").await?;
    ensure!(
        keys_of(&list) == BTreeSet::from([new.store_key()]),
        "owner index after login: {list:?}"
    );
    // Login straight from nothing also creates an owned session.
    let fresh = handle(&ctx, None);
    fresh.login("oscar").await?;
    ensure!(
        ctx.store.list_owner("oscar").await?.len() == 2,
        "login without data created no session"
    );
    Ok(())
}

/// The touch throttle.
pub async fn handle_touch_is_throttled(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1)]).await?;
    let before = must_load(&ctx, &id.store_key(), "created").await?;
    ctx.clock.advance(MINUTE);
    let s = handle(&ctx, Some(id.clone()));
    ensure!(s.exists().await?, "session missing");
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::None,
        "a fresh, unchanged session was written: {:?}",
        rep.write
    );
    let same = must_load(&ctx, &id.store_key(), "after a fresh request").await?;
    ensure!(
        same == before,
        "the store record changed on a fresh request"
    );
    ctx.clock.advance(10 * MINUTE);
    let s = handle(&ctx, Some(id.clone()));
    ensure!(s.exists().await?, "session missing");
    let rep = s.save().await?;
    ensure!(
        rep.write == Write::Touched,
        "a stale session was not touched: {:?}",
        rep.write
    );
    let now = session_core::Clock::now(&ctx.clock);
    let after = must_load(&ctx, &id.store_key(), "after touch").await?;
    ensure!(
        after.expires_at == now.plus(30 * MINUTE),
        "touch set expiry {:?}",
        after.expires_at
    );
    ensure!(
        after.version == before.version && after.data == before.data,
        "touch rewrote data"
    );
    Ok(())
}

/// The idle timeout.
pub async fn handle_idle_timeout(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1)]).await?;
    ctx.clock.advance(29 * MINUTE);
    ensure!(
        handle(&ctx, Some(id.clone())).exists().await?,
        "ended before the idle timeout"
    );
    ctx.clock.advance(2 * MINUTE);
    let s = handle(&ctx, Some(id.clone()));
    ensure!(!s.exists().await?, "alive after 31 idle minutes");
    ensure!(
        s.get::<i64>("a").await?.is_none(),
        "data readable after idle timeout"
    );
    Ok(())
}

/// The absolute timeout.
pub async fn handle_absolute_timeout(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("a", 1)]).await?;
    // Active every 20 minutes: the idle timeout never strikes.
    for step in 1..=5 {
        ctx.clock.advance(20 * MINUTE);
        let s = handle(&ctx, Some(id.clone()));
        ensure!(
            s.exists().await?,
            "ended early, after {} minutes",
            step * 20
        );
        s.insert("step", &step)?;
        let _ = s.save().await?;
    }
    ctx.clock.advance(20 * MINUTE); // 120 minutes: the absolute deadline
    let s = handle(&ctx, Some(id.clone()));
    ensure!(!s.exists().await?, "alive at the absolute deadline");
    Ok(())
}

/// Revoking other devices.
pub async fn handle_revoke_other_sessions(ctx: Ctx) -> CaseResult {
    let mut ids = Vec::new();
    for device in 0..3 {
        let s = handle(&ctx, None);
        s.set_user_agent(&format!("device-{device}"));
        s.insert("d", &device)?;
        s.login("peggy").await?;
        ids.push(s.id().await.ok_or_else(|| Fail::Failed("no id".into()))?);
    }
    let other_user = handle(&ctx, None);
    other_user.login("trent").await?;
    let trent = other_user
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id".into()))?;

    let here = handle(&ctx, Some(ids[0].clone()));
    let devices = here.owner_sessions().await?;
    ensure!(devices.len() == 3, "listed {} devices", devices.len());
    ensure!(
        devices.iter().filter(|(_, cur)| *cur).count() == 1,
        "current device not marked once"
    );
    let n = here.revoke_other_sessions().await?;
    ensure!(n == 2, "revoked {n}, expected 2");
    must_load(&ctx, &ids[0].store_key(), "this device").await?;
    must_be_none(&ctx, &ids[1].store_key(), "other device").await?;
    must_be_none(&ctx, &ids[2].store_key(), "other device").await?;
    must_load(&ctx, &trent.store_key(), "another user's session").await?;
    Ok(())
}

/// Login restarts the absolute lifetime.
pub async fn handle_login_restarts_lifetime(ctx: Ctx) -> CaseResult {
    let id = new_session(&ctx, &[("cart", 1)]).await?;
    // 100 minutes into a 2-hour lifetime, active every 20 minutes.
    for _ in 0..5 {
        ctx.clock.advance(20 * MINUTE);
        let h = handle(&ctx, Some(id.clone()));
        ensure!(h.exists().await?, "ended early");
        let _ = h.save().await?;
    }
    let s = handle(&ctx, Some(id));
    s.login("victor").await?;
    let new = s
        .id()
        .await
        .ok_or_else(|| Fail::Failed("no id after login".into()))?;
    ctx.clock.advance(25 * MINUTE);
    // 125 minutes after creation, 25 after login: alive, because login restarted the clock.
    let again = handle(&ctx, Some(new.clone()));
    ensure!(
        again.exists().await?,
        "login did not restart the absolute lifetime"
    );
    let _ = again.save().await?;
    for _ in 0..5 {
        ctx.clock.advance(20 * MINUTE);
        let h = handle(&ctx, Some(new.clone()));
        if !h.exists().await? {
            return Ok(());
        }
        let _ = h.save().await?;
    }
    Err(Fail::Failed(
        "the session outlived its restarted absolute lifetime".into(),
    ))
}
