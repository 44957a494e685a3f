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
//! use session_conformance::{Fixture, ManualClock, ReferenceStore};
//!
//! session_conformance::suite!(reference, |clock: ManualClock| async move {
//!     let store = || ReferenceStore::new(Arc::new(clock.clone()));
//!     Fixture::with_raw(store()).sibling(store())
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
//!     let store = || MemoryStore::builder().clock(Arc::new(clock.clone())).build();
//!     Fixture::new(store())
//!         .sibling(store())
//!         .skip("bad_bytes", "keeps decoded records: no decode path")
//! })
//! .await;
//! report.assert_passed(); // prints each skip with its reason
//! assert_eq!(report.skipped(), 6);
//! # }
//! ```
//!
//! Cases have stable `group/name` names; set `SESSION_CONFORMANCE_FILTER` to a substring to
//! run some of them through [`run_all`].
//!
//! # Capabilities, and skipping a group
//!
//! Two groups need more than the store. `bad_bytes` writes undecodable bytes under a key
//! and checks that the store reports an error instead of panicking or returning someone
//! else's data: it needs [`RawBytes`] ([`Fixture::with_raw`]). `isolation` checks that two
//! stores on one backend (two prefixes, tables or tenants) never see each other: it needs
//! a sibling store ([`Fixture::sibling`]). A fixture without one opts out of the group by
//! name, with a reason, and [`suite!`] is told the same group so that its tests show as
//! ignored rather than passing; a capability that is missing without an opt-out fails:
//!
//! ```
//! # use std::sync::Arc;
//! # use session_conformance::{Fixture, ManualClock};
//! # use session_memory::MemoryStore;
//! session_conformance::suite!(memory, |clock: ManualClock| async move {
//!     let store = || MemoryStore::builder().clock(Arc::new(clock.clone())).build();
//!     Fixture::new(store())
//!         .sibling(store())
//!         .skip("bad_bytes", "keeps decoded records: no decode path")
//! }, skip = { bad_bytes: "keeps decoded records: no decode path" });
//! # fn main() {}
//! ```
//!
//! A fixture can also clean up after each case ([`Fixture::on_teardown`]: remove its keys,
//! drop its table), and a crate can run cases of its own beside the built-in ones
//! ([`Case::new`], [`run_cases`], and the [`helpers`] the built-in cases use).
//!
//! # Layout
//!
//! | module | job |
//! |---|---|
//! | `list` | the list of cases, written once, expanded into [`cases::ALL`] and [`suite!`] |
//! | [`cases`] | the cases, one module per group, one async function each |
//! | [`helpers`] | what the cases share: keys, records, expectations; public for outside cases |
//! | `fixture` | [`Fixture`], [`Ctx`], [`RawBytes`]: what a store hands the suite |
//! | `runner` | [`Case`], [`run_case`], [`run_cases`], [`Report`]: running cases |
//! | [`reference`](mod@reference) | [`ReferenceStore`]: a small, obviously correct store that keeps encoded bytes |
//! | this file | the [`suite!`] macro |

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// Runs `f` to completion on a fresh two-worker tokio runtime, as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` would: what [`suite!`]
/// expands to, and how a plain `#[test]` in a crate without tokio runs [`run_cases`].
///
/// # Panics
/// When the runtime cannot start.
pub fn block_on<T, F: std::future::Future<Output = T>>(f: F) -> T {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => panic!("the conformance suite could not start a tokio runtime: {e}"),
    }
}

#[macro_use]
mod list;
pub mod cases;
mod fixture;
#[macro_use]
pub mod helpers;
pub mod reference;
mod runner;

pub use fixture::{Ctx, Fixture, ManualClock, RawBytes};
pub use reference::ReferenceStore;
pub use runner::{
    CASE_TIMEOUT, Case, CaseFn, CaseResult, Fail, Outcome, Report, run_case, run_cases,
};

use std::future::Future;

/// Runs the built-in case named `name`, as each test [`suite!`](crate::suite) expands to
/// does. `declared` are the groups the macro was told the fixture skips (their tests are
/// ignored, so this runs for them only under `--ignored`).
///
/// # Panics
/// When the case fails, when no case has that name, and when the fixture skips a group
/// the macro was not told about: that skip would otherwise show as a passing test.
pub async fn run_named<F, Fut>(name: &str, declared: &[&str], factory: F)
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    let Some(case) = cases::ALL.iter().find(|c| c.name == name) else {
        panic!("no conformance case named {name}");
    };
    match run_case(case, &factory).await {
        Outcome::Passed => {}
        Outcome::Skipped(why) if declared.contains(&case.group) => {
            eprintln!("skipped {}/{}: {why}", case.group, case.name);
        }
        Outcome::Skipped(why) => panic!(
            "the fixture skips group `{g}` ({why}), but suite! was not told: write \
             `suite!(name, factory, skip = {{ {g}: \"{why}\" }})` so its tests show as ignored",
            g = case.group
        ),
        Outcome::Failed(m) => panic!("{}/{} ({}): {m}", case.group, case.name, case.promise),
    }
}

/// Runs every built-in case ([`run_cases`] over [`cases::ALL`]).
pub async fn run_all<F, Fut>(factory: F) -> Report
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    run_cases(cases::ALL, factory).await
}

/// Expands to a module named `$name` with one `#[test]` per conformance case.
///
/// `$factory` is an expression of type `Fn(ManualClock) -> impl Future<Output = Fixture>`;
/// it is evaluated once per case. `skip = { group: "reason", ... }` names the groups the
/// fixture opts out of ([`Fixture::skip`]): their tests are `#[ignore]`d with that reason,
/// so `cargo test` lists every skip; `cargo test -- --ignored` runs them anyway.
#[macro_export]
macro_rules! suite {
    ($name:ident, $factory:expr $(,)?) => {
        $crate::suite!($name, $factory, skip = {});
    };
    ($name:ident, $factory:expr, skip = { $($group:ident : $why:literal),* $(,)? } $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__case_list!(__suite_cases! { $factory; [$($group = $why),*]; });
        }
    };
}
