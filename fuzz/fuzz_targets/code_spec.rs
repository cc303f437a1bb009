//! Fuzz target `code_spec`: see `rlvr::fuzzing::code_spec` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::code_spec(data));
