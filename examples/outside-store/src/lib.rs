//! Nothing here: the crate exists for its test, `tests/conformance.rs`, which runs the
//! whole conformance suite on a store the way a crate outside this workspace would.
