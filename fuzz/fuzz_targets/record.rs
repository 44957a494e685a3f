//! libFuzzer target `record`: see the table in `session_fuzz`'s crate docs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| session_fuzz::record(data));
