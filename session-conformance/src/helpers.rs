//! What the built-in cases share, public so that a crate's own cases ([`crate::Case::new`])
//! can be written the same way: fresh keys, records with data, expectations that turn a
//! store's answer into a [`Fail`] naming what went wrong, and session handles on the
//! case's clock.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use session_core::{
    Bytes, Error, ErrorKind, OwnerSession, Record, Session, SessionConfig, SessionId, SessionStore,
    StoreKey, Write,
};

use crate::{CaseResult, Ctx, Fail, RawBytes};

/// One minute.
pub const MINUTE: Duration = Duration::from_secs(60);
/// One hour.
pub const HOUR: Duration = Duration::from_secs(3600);

/// Returns `Err(Fail::Failed(format!(...)))` from the enclosing case unless `$cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::Fail::Failed(format!($($msg)+)));
        }
    };
}
pub use crate::ensure;

/// A key never used before.
///
/// # Errors
/// When the system's random source fails.
pub fn new_key() -> Result<StoreKey, Fail> {
    Ok(SessionId::generate()?.store_key())
}

/// A record created now on the case's clock, live for an hour, holding `data`.
pub fn record(ctx: &Ctx, data: &[(&str, &[u8])]) -> Record {
    let now = session_core::Clock::now(&ctx.clock);
    let mut r = Record::new(now, now.plus(HOUR));
    for (k, v) in data {
        r.data.insert((*k).to_owned(), Bytes::copy_from_slice(v));
    }
    r
}

/// A record of `owner`, live for `lifetime`.
pub fn owned(ctx: &Ctx, owner: &str, lifetime: Duration) -> Record {
    let mut r = record(ctx, &[("who", owner.as_bytes())]);
    r.owner = Some(owner.to_owned());
    r.expires_at = r.created_at.plus(lifetime);
    r
}

/// `r` created under a fresh key in the store under test; the key.
///
/// # Errors
/// When the create fails.
pub async fn created(ctx: &Ctx, r: &Record) -> Result<StoreKey, Fail> {
    created_in(&*ctx.store, r).await
}

/// `r` created under a fresh key in `store`; the key.
///
/// # Errors
/// When the create fails.
pub async fn created_in(store: &dyn SessionStore, r: &Record) -> Result<StoreKey, Fail> {
    let k = new_key()?;
    store.create(&k, r).await?;
    Ok(k)
}

/// `Ok` when `res` is an error of `kind`; a failure naming `what` otherwise.
///
/// # Errors
/// When `res` succeeded or failed with another kind.
pub fn expect_kind<T: std::fmt::Debug>(
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

/// The live record under `k`, or a failure naming `what`.
///
/// # Errors
/// When it is missing or the load fails.
pub async fn must_load(ctx: &Ctx, k: &StoreKey, what: &str) -> Result<Record, Fail> {
    ctx.store
        .load(k)
        .await?
        .ok_or_else(|| Fail::Failed(format!("{what}: record missing")))
}

/// `Ok` when `k` loads nothing.
///
/// # Errors
/// When it loads a record or the load fails.
pub async fn must_be_none(ctx: &Ctx, k: &StoreKey, what: &str) -> CaseResult {
    let r = ctx.store.load(k).await?;
    ensure!(r.is_none(), "{what}: expected no record, found one");
    Ok(())
}

/// The value of `key` in `r`'s data.
pub fn data_of<'a>(r: &'a Record, key: &str) -> Option<&'a [u8]> {
    r.data.get(key).map(|b| b.as_ref())
}

/// The configuration the cases' session handles use: the case's clock, a 30-minute idle
/// and 2-hour absolute timeout, large limits.
pub fn config(ctx: &Ctx) -> Arc<SessionConfig> {
    Arc::new(
        SessionConfig::default()
            .with_clock(Arc::new(ctx.clock.clone()))
            .with_idle_timeout(30 * MINUTE)
            .with_absolute_timeout(Some(2 * HOUR))
            .with_max_data_bytes(16 * 1024 * 1024)
            .with_max_save_attempts(1000),
    )
}

/// A session handle on the store under test, as a request with cookie `id` would get.
pub fn handle(ctx: &Ctx, id: Option<SessionId>) -> Session {
    Session::new(ctx.store.clone(), config(ctx), id)
}

/// A new session holding `data`, saved; its id.
///
/// # Errors
/// When the save fails or does not create.
pub async fn new_session(ctx: &Ctx, data: &[(&str, i64)]) -> Result<SessionId, Fail> {
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

/// The fixture's raw byte access.
///
/// # Errors
/// When the fixture has none: it should have opted out of the case's group.
pub fn raw(ctx: &Ctx) -> Result<Arc<dyn RawBytes>, Fail> {
    ctx.raw.clone().ok_or_else(|| {
        Fail::Failed(
            "the fixture has no raw byte access: give it one (Fixture::with_raw) or opt out \
             of the `bad_bytes` group (Fixture::skip) with a reason"
                .into(),
        )
    })
}

/// The fixture's sibling store.
///
/// # Errors
/// When the fixture has none: it should have opted out of the `isolation` group.
pub fn sibling(ctx: &Ctx) -> Result<Arc<dyn SessionStore>, Fail> {
    ctx.sibling.clone().ok_or_else(|| {
        Fail::Failed(
            "the fixture has no sibling store: give it one on the same backend \
             (Fixture::sibling) or opt out of the `isolation` group (Fixture::skip) with a \
             reason"
                .into(),
        )
    })
}

/// The keys of a listing, as a set.
pub fn keys_of(list: &[OwnerSession]) -> BTreeSet<StoreKey> {
    list.iter().map(|s| s.key).collect()
}
