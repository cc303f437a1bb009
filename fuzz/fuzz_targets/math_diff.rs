//! Fuzz target `math_diff`: see `rlvr::fuzzing::math_diff` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::math_diff(data));
