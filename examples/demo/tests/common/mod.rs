//! Shared by the demo's test binaries.

pub(crate) mod chrome;
