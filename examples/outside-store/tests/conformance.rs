use std::sync::Arc;

use session_conformance::{Fixture, ManualClock};
use session_memory::MemoryStore;

// One #[test] per conformance case; no tokio in this crate's dependencies.
session_conformance::suite!(memory, |clock: ManualClock| async move {
    Fixture::new(MemoryStore::builder().clock(Arc::new(clock)).build())
});
