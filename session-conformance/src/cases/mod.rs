//! The cases. Each is one async function checking one promise of the store contract
//! (the table at the top of `session_core::store`), named `group/name` in [`ALL`].
//!
//! Cases never sleep: expiry is driven by the fixture's [`crate::ManualClock`]. Stores with
//! native TTLs set them from the same clock, so logical expiry is what is tested; physical
//! removal is the backend's business. The one exception is the `live` group, which waits
//! (a bounded time) for a notice or a poll to arrive.

#[allow(unused_imports)]
use std::collections::BTreeSet;
#[allow(unused_imports)]
use std::sync::Arc;
#[allow(unused_imports)]
use std::time::Duration;

#[allow(unused_imports)]
use session_core::{
    Bytes, Envelope, Error, ErrorKind, Record, Session, SessionConfig, SessionId, SessionStore,
    StoreKey, Write,
};
#[allow(unused_imports)]
use tokio::sync::Barrier;

#[allow(unused_imports)]
use crate::helpers::*;
#[allow(unused_imports)]
use crate::{CaseResult, Ctx, Fail};

crate::__case_list!(__cases_static! {});

mod bad_bytes;
mod cleanup;
mod create;
mod dead_keys;
mod delete;
mod expiry;
mod handle;
mod handle_concurrency;
mod isolation;
mod live;
mod lock;
mod owner;
mod owner_change;
mod race;
mod record;
mod rotate;
mod save;
mod version;

pub use bad_bytes::*;
pub use cleanup::*;
pub use create::*;
pub use dead_keys::*;
pub use delete::*;
pub use expiry::*;
pub use handle::*;
pub use handle_concurrency::*;
pub use isolation::*;
pub use live::*;
pub use lock::*;
pub use owner::*;
pub use owner_change::*;
pub use race::*;
pub use record::*;
pub use rotate::*;
pub use save::*;
pub use version::*;
