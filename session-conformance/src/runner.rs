//! Running cases: one [`Case`] against a fresh [`Fixture`], and a list of them into a
//! [`Report`]. Which cases exist is not this module's business (the crate root runs the
//! built-in list through it), so the cases can use its types without a circle.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use session_core::{Error, ManualClock};

use crate::fixture::{Ctx, Fixture};

/// Why a case did not pass: the store broke a promise, and the text says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fail {
    /// The store broke a promise (or lacks a capability the fixture did not opt out of).
    Failed(String),
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

/// A case's body: a plain function from the context to its boxed future.
pub type CaseFn = fn(Ctx) -> Pin<Box<dyn Future<Output = CaseResult> + Send>>;

/// One case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// The group (`record`, `save`, `rotate`, …): what a fixture opts out of.
    pub group: &'static str,
    /// The name, unique across groups.
    pub name: &'static str,
    /// The promise it checks, in one line.
    pub promise: &'static str,
    run: CaseFn,
}

impl Case {
    /// A case of your own, to run beside the built-in ones with [`run_cases`]:
    ///
    /// ```
    /// use session_conformance::{Case, CaseResult, Ctx, helpers::*};
    ///
    /// async fn load_of_a_new_key_is_none(ctx: Ctx) -> CaseResult {
    ///     let k = new_key()?;
    ///     must_be_none(&ctx, &k, "fresh key").await
    /// }
    ///
    /// const MINE: Case = Case::new("mine", "load_of_a_new_key_is_none", "a new key loads nothing",
    ///     |ctx| Box::pin(load_of_a_new_key_is_none(ctx)));
    /// # let _ = MINE;
    /// ```
    pub const fn new(
        group: &'static str,
        name: &'static str,
        promise: &'static str,
        run: CaseFn,
    ) -> Self {
        Self {
            group,
            name,
            promise,
            run,
        }
    }
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
    /// The fixture opted out of its group, for this reason.
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

    /// Cases that were skipped, with the fixture's reason.
    pub fn skips(&self) -> Vec<(&Case, &'static str)> {
        self.results
            .iter()
            .filter_map(|(c, o)| match o {
                Outcome::Skipped(why) => Some((c, *why)),
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
        self.skips().len()
    }

    /// Panics with every failure listed, if there is any; prints every skip either way.
    ///
    /// # Panics
    /// When a case failed; that is its purpose in a test.
    pub fn assert_passed(&self) {
        for (c, why) in self.skips() {
            eprintln!("skipped {}/{}: {why}", c.group, c.name);
        }
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

/// Runs one case against a fresh fixture from `factory`, then the fixture's teardown. A
/// panic in the store or the case and a case that exceeds [`CASE_TIMEOUT`] both count as
/// failures; a case whose group the fixture skips does not run.
pub async fn run_case<F, Fut>(case: &Case, factory: &F) -> Outcome
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    let clock = ManualClock::new();
    let fixture = factory(clock.clone()).await;
    let skip = fixture.skips(case.group);
    let (ctx, teardown) = fixture.into_parts(clock);
    let outcome = match skip {
        Some(why) => Outcome::Skipped(why),
        None => {
            let run = case.run;
            let task = tokio::spawn(tokio::time::timeout(CASE_TIMEOUT, run(ctx)));
            match task.await {
                Ok(Ok(Ok(()))) => Outcome::Passed,
                Ok(Ok(Err(Fail::Failed(m)))) => Outcome::Failed(m),
                Ok(Err(_)) => Outcome::Failed(format!("timed out after {CASE_TIMEOUT:?}")),
                Err(e) if e.is_panic() => Outcome::Failed("panicked".to_owned()),
                Err(e) => Outcome::Failed(format!("task failed: {e}")),
            }
        }
    };
    if let Some(teardown) = teardown {
        teardown().await;
    }
    outcome
}

/// Runs `cases` (those whose `group/name` contains `SESSION_CONFORMANCE_FILTER`, when
/// set), each against a fresh fixture, and reports them all. Pass your own cases
/// ([`Case::new`]) here, alone or after [`cases::ALL`](crate::cases::ALL).
pub async fn run_cases<'a, F, Fut>(cases: impl IntoIterator<Item = &'a Case>, factory: F) -> Report
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = Fixture>,
{
    let filter = std::env::var("SESSION_CONFORMANCE_FILTER").unwrap_or_default();
    let mut report = Report::default();
    for case in cases {
        if !format!("{}/{}", case.group, case.name).contains(&filter) {
            continue;
        }
        let outcome = run_case(case, &factory).await;
        report.results.push((*case, outcome));
    }
    report
}
