//! Shared by the demo's test binaries.

// Not every test binary uses every helper (the metrics page's test needs no browser).
#[allow(dead_code)]
pub(crate) mod chrome;
#[allow(dead_code)]
pub(crate) mod demo;
