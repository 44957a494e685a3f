//! Runs the whole conformance suite as a program, on the suite's own reference store, and
//! prints what passed: the same call (`run_all`) a third-party store makes from its tests
//! with its own store in the factory.
//!
//! ```sh
//! cargo run -p session-conformance --example report
//! ```

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock, ReferenceStore, run_all};

#[tokio::main]
async fn main() {
    let report = run_all(|clock: ManualClock| async move {
        Fixture::with_raw(ReferenceStore::new(Arc::new(clock.clone())))
            .sibling(ReferenceStore::new(Arc::new(clock)))
    })
    .await;
    println!("{} passed, {} skipped", report.passed(), report.skipped());
    for (case, why) in report.failures() {
        println!("FAILED {}/{}: {why}", case.group, case.name);
    }
    if !report.failures().is_empty() {
        std::process::exit(1);
    }
}
