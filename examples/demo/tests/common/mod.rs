//! Shared by the demo's test binaries.

pub(crate) mod chrome;
// Not every test binary uses every helper.
#[allow(dead_code)]
pub(crate) mod demo;
