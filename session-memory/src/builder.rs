//! [`MemoryStoreBuilder`]: the table's bounds and its clock.

use std::sync::Arc;

use session_core::{SharedClock, SystemClock};

use crate::table::Table;
use crate::{Inner, MemoryStore};

/// Builds a [`MemoryStore`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryStoreBuilder {
    max_bytes: u64,
    max_entries: u64,
    clock: SharedClock,
}

impl Default for MemoryStoreBuilder {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            max_entries: 1_000_000,
            clock: Arc::new(SystemClock),
        }
    }
}

impl MemoryStoreBuilder {
    /// Total bytes of session data kept before eviction (default 256 MiB).
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n.max(1);
        self
    }

    /// Sessions kept before eviction (default one million).
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// The clock that decides expiry (tests pass a `ManualClock`).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the store.
    pub fn build(self) -> MemoryStore {
        MemoryStore {
            inner: Arc::new(Inner {
                table: Table::new(self.max_bytes, self.max_entries),
                clock: self.clock,
            }),
        }
    }
}
