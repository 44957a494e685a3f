//! libFuzzer target `csrf_token`: see the table in `session_fuzz`'s crate docs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| session_tower::fuzzing::csrf_token(data));
