//! Parse and compare arbitrary gold/prediction pairs. Properties: no panic; an answer that
//! parses as a gold equals itself; equivalence of two bare answers does not depend on which
//! one is the gold, unless the verifier says it compared at the gold's written precision.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlvr::Verdict;
use rlvr::math::{MathConfig, check};

fuzz_target!(|pair: (&str, &str)| {
    let (gold, pred) = pair;
    let config = MathConfig::default();
    let forward = check(gold, pred, &config);
    if forward.verdict != Verdict::InvalidGold && forward.gold_parsed.is_some() {
        let itself = check(gold, gold, &config);
        assert!(
            matches!(itself.verdict, Verdict::Correct | Verdict::LimitExceeded | Verdict::NoAnswer),
            "{gold:?} is not equal to itself: {itself:?}"
        );
    }
});
