//! The memory store against the whole conformance suite, one test per case.

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock};
use session_memory::MemoryStore;

/// Why the memory store opts out of the `bad_bytes` group.
const NO_BYTES: &str = "the memory store keeps decoded records, not bytes: it has no decode path";

/// A fresh store on `clock`, with a sibling (a second store in the same process).
fn fixture(clock: ManualClock) -> Fixture {
    let store = || {
        MemoryStore::builder()
            .clock(Arc::new(clock.clone()))
            .build()
    };
    Fixture::new(store())
        .sibling(store())
        .skip("bad_bytes", NO_BYTES)
}

session_conformance::suite!(memory, |clock: ManualClock| async move {
    crate::fixture(clock)
}, skip = { bad_bytes: "the memory store keeps decoded records, not bytes: it has no decode path" });

/// Exactly the six `bad_bytes` cases are skipped, each with the reason, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_bad_bytes_cases_are_skipped() {
    let report =
        session_conformance::run_all(|clock: ManualClock| async move { fixture(clock) }).await;
    report.assert_passed();
    let skipped: Vec<(&str, &str)> = report
        .skips()
        .iter()
        .map(|(c, why)| (c.group, *why))
        .collect();
    assert_eq!(
        skipped,
        vec![("bad_bytes", NO_BYTES); 6],
        "unexpected skips"
    );
    println!("memory store: {report}");
}

/// Forgetting the opt-out is a failure of each `bad_bytes` case, not six silent passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_opt_out_fails() {
    let report = session_conformance::run_all(|clock: ManualClock| async move {
        let store = || {
            MemoryStore::builder()
                .clock(Arc::new(clock.clone()))
                .build()
        };
        Fixture::new(store()).sibling(store())
    })
    .await;
    let failed: Vec<&str> = report.failures().iter().map(|(c, _)| c.group).collect();
    assert_eq!(failed, vec!["bad_bytes"; 6], "{report}");
    assert_eq!(report.skipped(), 0);
}
