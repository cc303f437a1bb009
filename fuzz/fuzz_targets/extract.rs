//! Fuzz target `extract`: see `rlvr::fuzzing::extract` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::extract(data));
