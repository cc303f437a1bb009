//! Fuzz target `recipe`: see `rlvr::fuzzing::recipe` for the properties it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rlvr::fuzzing::recipe(data));
