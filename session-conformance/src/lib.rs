//! The conformance suite: the executable form of the store contract.
//!
//! Every store in this workspace runs it against a real backend, and so can a store written
//! anywhere else. A behaviour the suite does not test is not promised; one it tests holds for
//! every backend identically.
//!
//! # Running it for your store
//!
//! Give the suite a factory: an async closure that receives the suite's [`ManualClock`] and
//! returns a [`Fixture`] holding a fresh, isolated store (its own key prefix, table or
//! namespace) that reads time from that clock. [`suite!`] expands to one `#[test]` per case
//! (each on its own two-worker tokio runtime, which the suite brings: the calling crate
//! needs no tokio dependency), so a failure names its case. What it needs from the caller:
//! `session-conformance` as a dev-dependency, and a factory expression of type
//! `Fn(ManualClock) -> impl Future<Output = Fixture>`:
//!
//! ```
//! use std::sync::Arc;
//! use session_conformance::{Fixture, ManualClock};
//! use session_memory::MemoryStore;
//!
//! session_conformance::suite!(memory, |clock: ManualClock| async move {
//!     Fixture::new(MemoryStore::builder().clock(Arc::new(clock)).build())
//! });
//! # fn main() {}
//! ```
//!
//! Or run everything from one test and get every failure listed at once:
//!
//! ```
//! # use std::sync::Arc;
//! # use session_conformance::{Fixture, ManualClock};
//! # use session_memory::MemoryStore;
//! # #[tokio::main] async fn main() {
//! let report = session_conformance::run_all(|clock: ManualClock| async move {
//!     Fixture::new(MemoryStore::builder().clock(Arc::new(clock)).build())
//! })
//! .await;
//! report.assert_passed();
//! # }
//! ```
//!
//! Cases have stable `group/name` names; set `SESSION_CONFORMANCE_FILTER` to a substring to
//! run some of them through [`run_all`].
//!
//! # Capabilities
//!
//! Cases in the `bad_bytes` group write undecodable bytes under a key and check that the
//! store reports an error instead of panicking or returning someone else's data. They need
//! [`RawBytes`], a way to write bytes past the encoder; a store that keeps decoded records
//! (the memory store) has no decode path, and those cases are counted as skipped.
//!
//! # Layout
//!
//! | module | job |
//! |---|---|
//! | `list` | the list of cases, written once, expanded into [`cases::ALL`] and [`suite!`] |
//! | [`cases`] | the cases, one module per group, one async function each |
//! | [`reference`](mod@reference) | [`ReferenceStore`]: a small, obviously correct store that keeps encoded bytes |
//! | this file | fixtures, the runner, the report and the [`suite!`] macro |

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use session_core::ManualClock;

/// What [`suite!`] expands to, so that a caller needs no dependency of its own on tokio.
#[doc(hidden)]
pub mod __private {
    /// Runs `f` to completion on a fresh two-worker runtime, as
    /// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` would.
    pub fn block_on<F: std::future::Future<Output = ()>>(f: F) {
        match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(f),
            Err(e) => panic!("the conformance suite could not start a tokio runtime: {e}"),
        }
    }
}
use session_core::{Envelope, Error, SessionStore, StoreKey, async_trait};

#[macro_use]
mod list;
pub mod cases;
pub mod reference;

pub use reference::ReferenceStore;

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

/// What a factory hands the suite for one case.
#[derive(Clone)]
pub struct Fixture {
    /// The store under test: fresh and isolated from every other case.
    pub store: Arc<dyn SessionStore>,
    /// Raw access for the `bad_bytes` cases, if the store keeps bytes.
    pub raw: Option<Arc<dyn RawBytes>>,
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .field("raw", &self.raw.is_some())
            .finish()
    }
}

impl Fixture {
    /// A fixture without raw access.
    pub fn new(store: impl SessionStore) -> Self {
        Self {
            store: Arc::new(store),
            raw: None,
        }
    }

    /// A fixture whose store also accepts raw bytes.
    pub fn with_raw<S: SessionStore + RawBytes>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            store: store.clone(),
            raw: Some(store),
        }
    }
}

/// What each case receives.
#[derive(Clone)]
pub struct Ctx {
    /// The store under test.
    pub store: Arc<dyn SessionStore>,
    /// Raw access, if any.
    pub raw: Option<Arc<dyn RawBytes>>,
    /// The clock the store reads; cases move it instead of sleeping.
    pub clock: ManualClock,
}

/// Why a case did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fail {
    /// The store broke a promise; the text says which.
    Failed(String),
    /// The store lacks a capability the case needs.
    Skipped(&'static str),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        let mut msg = format!("unexpected store error: {e}");
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        Fail::Failed(msg)
    }
}

/// A case's result.
pub type CaseResult = Result<(), Fail>;

type CaseFn = fn(Ctx) -> Pin<Box<dyn Future<Output = CaseResult> + Send>>;

/// One case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// The group (`record`, `save`, `rotate`, …).
    pub group: &'static str,
    /// The name, unique across groups.
    pub name: &'static str,
    /// The promise it checks, in one line.
    pub promise: &'static str,
    run: CaseFn,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group, self.name)
    }
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed, with the reason (a panic or a timeout counts as a failure).
    Failed(String),
    /// It was skipped for a missing capability.
    Skipped(&'static str),
}

/// The results of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each case with its outcome, in suite order.
    pub results: Vec<(Case, Outcome)>,
}

impl Report {
    /// Cases that failed.
    pub fn failures(&self) -> Vec<(&Case, &str)> {
        self.results
            .iter()
            .filter_map(|(c, o)| match o {
                Outcome::Failed(m) => Some((c, m.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Number of cases that passed.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| *o == Outcome::Passed)
            .count()
    }

    /// Number of cases that were skipped.
    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Skipped(_)))
            .count()
    }

    /// Panics with every failure listed, if there is any.
    ///
    /// # Panics
    /// When a case failed; that is its purpose in a test.
    pub fn assert_passed(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            let mut msg = format!("{} conformance case(s) failed:\n", failures.len());
            for (c, m) in failures {
                msg.push_str(&format!("  {}/{}: {m}\n", c.group, c.name));
            }
            panic!("{msg}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failures().len(),
            self.skipped()
        )
    }
}

/// The longest a case may take before it counts as hung.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs one case against a fresh fixture from `factory`. A panic in the store or the case
/// and a case that exceeds [`CASE_TIMEOUT`] both count as failures.
pub async fn run_case<F, Fut>(case: &Case, factory: &F) -> Outcome
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    let clock = ManualClock::new();
    let fixture = factory(clock.clone()).await;
    let ctx = Ctx {
        store: fixture.store,
        raw: fixture.raw,
        clock,
    };
    let run = case.run;
    let task = tokio::spawn(tokio::time::timeout(CASE_TIMEOUT, run(ctx)));
    match task.await {
        Ok(Ok(Ok(()))) => Outcome::Passed,
        Ok(Ok(Err(Fail::Failed(m)))) => Outcome::Failed(m),
        Ok(Ok(Err(Fail::Skipped(why)))) => Outcome::Skipped(why),
        Ok(Err(_)) => Outcome::Failed(format!("timed out after {CASE_TIMEOUT:?}")),
        Err(e) if e.is_panic() => Outcome::Failed("panicked".to_owned()),
        Err(e) => Outcome::Failed(format!("task failed: {e}")),
    }
}

/// Runs the case named `name` (as the [`suite!`] macro does) and panics unless it passed
/// or was skipped for a missing capability.
///
/// # Panics
/// When the case fails or no case has that name.
pub async fn run_named<F, Fut>(name: &str, factory: F)
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    let Some(case) = cases::ALL.iter().find(|c| c.name == name) else {
        panic!("no conformance case named {name}");
    };
    match run_case(case, &factory).await {
        Outcome::Passed => {}
        Outcome::Skipped(why) => eprintln!("skipped {}/{}: {why}", case.group, case.name),
        Outcome::Failed(m) => panic!("{}/{} ({}): {m}", case.group, case.name, case.promise),
    }
}

/// Runs every case (or those whose `group/name` contains `SESSION_CONFORMANCE_FILTER`),
/// each against a fresh fixture, and reports them all.
pub async fn run_all<F, Fut>(factory: F) -> Report
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    let filter = std::env::var("SESSION_CONFORMANCE_FILTER").unwrap_or_default();
    let mut report = Report::default();
    for case in cases::ALL {
        if !format!("{}/{}", case.group, case.name).contains(&filter) {
            continue;
        }
        let outcome = run_case(case, &factory).await;
        report.results.push((*case, outcome));
    }
    report
}

/// Expands to a module named `$name` with one `#[tokio::test]` per conformance case.
///
/// `$factory` is an expression of type `Fn(ManualClock) -> impl Future<Output = Fixture>`;
/// it is evaluated once per case.
#[macro_export]
macro_rules! suite {
    ($name:ident, $factory:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__case_list!(__suite_cases! { $factory; });
        }
    };
}
