//! Fuzz target `server_body`: see `rlvr::fuzzing::server_body` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::server_body(data));
