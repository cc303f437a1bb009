//! Fuzz target `math_check`: see `rlvr::fuzzing::math_check` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::math_check(data));
