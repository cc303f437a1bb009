//! Arbitrary bytes as one `rlvr score` input line: every line gets exactly one outcome, and a
//! line that is not a sample gets an `error` outcome, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlvr::batch::{Engine, EngineConfig};

fuzz_target!(|line: &str| {
    let Ok(engine) = Engine::new(EngineConfig::default()) else { return };
    let outcomes = engine.score_lines(&[line]);
    assert_eq!(outcomes.len(), 1);
    if rlvr::Sample::from_line(line).is_err() {
        assert_eq!(outcomes[0].verdict, rlvr::Verdict::Error);
        assert!(outcomes[0].error.is_some());
    }
});
