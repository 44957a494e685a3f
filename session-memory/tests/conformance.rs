//! The memory store against the whole conformance suite, one test per case.

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock};
use session_memory::MemoryStore;

session_conformance::suite!(memory, |clock: ManualClock| async move {
    Fixture::new(MemoryStore::builder().clock(Arc::new(clock)).build())
});

/// The memory store keeps decoded records, so it has no decode path: exactly the six
/// `bad_bytes` cases are skipped, and they are counted here rather than passing silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_bad_bytes_cases_are_skipped() {
    let report = session_conformance::run_all(|clock: ManualClock| async move {
        Fixture::new(MemoryStore::builder().clock(Arc::new(clock)).build())
    })
    .await;
    report.assert_passed();
    let skipped: Vec<&str> = report
        .results
        .iter()
        .filter(|(_, o)| matches!(o, session_conformance::Outcome::Skipped(_)))
        .map(|(c, _)| c.group)
        .collect();
    assert_eq!(skipped, vec!["bad_bytes"; 6], "unexpected skips");
    println!("memory store: {report}");
}
