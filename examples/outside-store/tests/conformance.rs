use std::sync::Arc;

use session_conformance::{Fixture, ManualClock};
use session_memory::MemoryStore;

// One #[test] per conformance case; no tokio in this crate's dependencies.
session_conformance::suite!(memory, |clock: ManualClock| async move {
    let store = || MemoryStore::builder().clock(Arc::new(clock.clone())).build();
    Fixture::new(store()).sibling(store()).skip("bad_bytes", "keeps no bytes")
}, skip = { bad_bytes: "keeps no bytes" });
