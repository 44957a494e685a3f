//! The suite proves its own strength: each deliberately faulty store below wraps the
//! correct [`ReferenceStore`] and breaks exactly one promise, and at least one case must
//! catch each. The correct store must pass every case, with nothing skipped.

use std::sync::Arc;

use session_conformance::{Fixture, ManualClock, ReferenceStore, run_all};

mod bugs;
mod hooks;
mod store;

use bugs::ALL_BUGS;
use store::Faulty;

fn reference(clock: ManualClock) -> Fixture {
    Fixture::with_raw(ReferenceStore::new(Arc::new(clock.clone())))
        .sibling(ReferenceStore::new(Arc::new(clock)))
}

/// The reference store passes every case and skips none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_store_passes_everything() {
    let report = run_all(|clock| async move { reference(clock) }).await;
    report.assert_passed();
    assert_eq!(report.skipped(), 0, "the reference store skipped cases");
    assert!(report.passed() >= 40, "only {} cases", report.passed());
    println!("reference store: {report}");
}

/// Every faulty store fails at least one case; prints which cases catch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_faulty_store_is_caught() {
    assert!(
        ALL_BUGS.len() >= 35,
        "only {} faulty stores",
        ALL_BUGS.len()
    );
    let mut uncaught = Vec::new();
    for &bug in ALL_BUGS {
        let report = run_all(move |clock: ManualClock| async move {
            let sibling = ReferenceStore::new(Arc::new(clock.clone()));
            Fixture::with_raw(Faulty::new(bug, clock, sibling.clone())).sibling(sibling)
        })
        .await;
        let caught: Vec<String> = report
            .failures()
            .iter()
            .map(|(c, _)| format!("{}/{}", c.group, c.name))
            .collect();
        println!(
            "{bug:?}: caught by {} case(s): {}",
            caught.len(),
            caught.join(", ")
        );
        if caught.is_empty() {
            uncaught.push(bug);
        }
    }
    assert!(
        uncaught.is_empty(),
        "faulty stores not caught: {uncaught:?}"
    );
}

/// The counts the READMEs quote are the suite's own: every "N cases" and "N deliberately
/// faulty stores" in them matches the code.
#[test]
fn readme_counts_match_the_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = session_conformance::cases::ALL.len();
    for path in [root.join("README.md"), root.join("../README.md")] {
        let text = std::fs::read_to_string(&path).unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut seen = 0;
        for w in words.windows(3) {
            let n = w[0].trim_start_matches('(').parse::<usize>();
            let Ok(n) = n else { continue };
            if w[1].trim_end_matches([',', ')', '.']) == "cases" {
                assert_eq!(n, cases, "{} says {n} cases", path.display());
                seen += 1;
            }
            if w[1] == "deliberately" && w[2] == "faulty" {
                assert_eq!(
                    n,
                    ALL_BUGS.len(),
                    "{} says {n} faulty stores",
                    path.display()
                );
                seen += 1;
            }
        }
        assert!(seen >= 2, "{} quotes no counts to check", path.display());
        // The outside crate's suite is shown as it is: the page's code block is the file.
        let outside =
            std::fs::read_to_string(root.join("../examples/outside-store/tests/conformance.rs"))
                .unwrap();
        assert!(
            text.contains(&format!("```rust\n{outside}```")),
            "{} does not show examples/outside-store/tests/conformance.rs as it is",
            path.display()
        );
        assert!(
            outside.lines().count() <= 10,
            "the outside crate's suite takes {} lines",
            outside.lines().count()
        );
    }
}
