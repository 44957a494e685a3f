//! The cases. Each is one async function checking one promise of the store contract
//! (the table at the top of `session_core::store`), named `group/name` in [`ALL`].
//!
//! Cases never sleep: expiry is driven by the fixture's [`crate::ManualClock`]. Stores with
//! native TTLs set them from the same clock, so logical expiry is what is tested; physical
//! removal is the backend's business.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use session_core::{
    Bytes, Envelope, Error, ErrorKind, Record, Session, SessionConfig, SessionId, SessionStore,
    StoreKey, Write,
};
use tokio::sync::Barrier;

use crate::{CaseResult, Ctx, Fail};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Fail::Failed(format!($($msg)+)));
        }
    };
}

crate::__case_list!(__cases_static! {});

mod bad_bytes;
mod cleanup;
mod create;
mod delete;
mod expiry;
mod handle;
mod handle_concurrency;
mod lock;
mod owner;
mod record;
mod rotate;
mod save;

pub use bad_bytes::*;
pub use cleanup::*;
pub use create::*;
pub use delete::*;
pub use expiry::*;
pub use handle::*;
pub use handle_concurrency::*;
pub use lock::*;
pub use owner::*;
pub use record::*;
pub use rotate::*;
pub use save::*;

// ----- helpers shared by the groups -----------------------------------------------------

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
