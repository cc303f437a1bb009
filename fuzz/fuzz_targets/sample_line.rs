//! Fuzz target `sample_line`: see `rlvr::fuzzing::sample_line` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::sample_line(data));
