//! What a store hands the suite for one case (the [`Fixture`]), and what each case receives
//! (the [`Ctx`]): the store, its optional capabilities, the groups it opts out of, and how
//! to clean up after it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use session_core::{Envelope, Error, SessionStore, StoreKey, async_trait};

pub use session_core::ManualClock;

/// Writes bytes under a key without going through the encoder, so the suite can plant
/// truncated, foreign or unknown-version records.
#[async_trait]
pub trait RawBytes: Send + Sync + 'static {
    /// Stores `bytes` as the body of the record under `key`, with `envelope` in the
    /// backend's native fields (see `session_core::record` for the rule).
    ///
    /// # Errors
    /// Backend errors.
    async fn write_raw(
        &self,
        key: &StoreKey,
        bytes: &[u8],
        envelope: Envelope,
    ) -> Result<(), Error>;
}

type Teardown = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// What a factory hands the suite for one case: a fresh store, and what else it can do.
///
/// Two capabilities are needed by whole groups: raw byte access ([`Fixture::with_raw`], for
/// the `bad_bytes` group) and a sibling store on the same backend ([`Fixture::sibling`],
/// for the `isolation` group). A fixture without one must opt out of the group by name
/// with [`Fixture::skip`] and a reason; otherwise those cases fail, so a forgotten
/// capability is never a row of silent passes.
pub struct Fixture {
    /// The store under test: fresh and isolated from every other case.
    pub store: Arc<dyn SessionStore>,
    /// Raw access for the `bad_bytes` cases, if the store keeps bytes.
    pub raw: Option<Arc<dyn RawBytes>>,
    /// A second store on the same backend (another prefix, table or tenant) reading the
    /// same clock, for the `isolation` cases.
    pub sibling: Option<Arc<dyn SessionStore>>,
    skips: Vec<(&'static str, &'static str)>,
    teardown: Option<Teardown>,
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .field("raw", &self.raw.is_some())
            .field("sibling", &self.sibling.is_some())
            .field("skips", &self.skips)
            .field("teardown", &self.teardown.is_some())
            .finish()
    }
}

impl Fixture {
    /// A fixture without raw access.
    pub fn new(store: impl SessionStore) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// A fixture for a store that is already shared.
    pub fn from_arc(store: Arc<dyn SessionStore>) -> Self {
        Self {
            store,
            raw: None,
            sibling: None,
            skips: Vec::new(),
            teardown: None,
        }
    }

    /// A fixture whose store also accepts raw bytes.
    pub fn with_raw<S: SessionStore + RawBytes>(store: S) -> Self {
        let store = Arc::new(store);
        let mut f = Self::from_arc(store.clone());
        f.raw = Some(store);
        f
    }

    /// Gives raw byte access through another value than the store itself.
    #[must_use]
    pub fn raw(mut self, raw: impl RawBytes) -> Self {
        self.raw = Some(Arc::new(raw));
        self
    }

    /// Adds a sibling: a second, equally fresh store on the same backend, under another
    /// prefix, table or tenant, reading the same clock.
    #[must_use]
    pub fn sibling(mut self, store: impl SessionStore) -> Self {
        self.sibling = Some(Arc::new(store));
        self
    }

    /// Opts out of every case of `group`, for `reason`. Reports list each such case as
    /// skipped with the reason; [`suite!`](crate::suite) must name the group too, so that
    /// its tests show as ignored.
    #[must_use]
    pub fn skip(mut self, group: &'static str, reason: &'static str) -> Self {
        self.skips.push((group, reason));
        self
    }

    /// Runs `f` after the case, whether it passed, failed, panicked or timed out: where a
    /// fixture removes its keys or drops its table.
    #[must_use]
    pub fn on_teardown<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.teardown = Some(Box::new(move || Box::pin(f())));
        self
    }

    /// The reason this fixture skips `group`, if it does.
    pub fn skips(&self, group: &str) -> Option<&'static str> {
        self.skips
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, why)| *why)
    }

    pub(crate) fn into_parts(self, clock: ManualClock) -> (Ctx, Option<Teardown>) {
        let ctx = Ctx {
            store: self.store,
            raw: self.raw,
            sibling: self.sibling,
            clock,
        };
        (ctx, self.teardown)
    }
}

/// What each case receives.
#[derive(Clone)]
pub struct Ctx {
    /// The store under test.
    pub store: Arc<dyn SessionStore>,
    /// Raw access, if any.
    pub raw: Option<Arc<dyn RawBytes>>,
    /// The sibling store, if any.
    pub sibling: Option<Arc<dyn SessionStore>>,
    /// The clock the store reads; cases move it instead of sleeping.
    pub clock: ManualClock,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("store", &self.store)
            .field("raw", &self.raw.is_some())
            .field("sibling", &self.sibling.is_some())
            .finish_non_exhaustive()
    }
}
