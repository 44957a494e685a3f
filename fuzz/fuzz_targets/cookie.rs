//! libFuzzer target `cookie`: see the table in `session_fuzz`'s crate docs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| session_fuzz::cookie(data));
