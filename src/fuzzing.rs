//! Fuzz oracles: one function per cargo-fuzz target, each taking raw bytes.
//!
//! The targets in `fuzz/` are one-line wrappers around these functions, so the same oracles
//! replay the committed crashers in `fuzz/regressions/<target>/` under the normal (stable)
//! test suite. Every function panics only when a property is violated; inputs that are not
//! UTF-8 are skipped.

use std::path::Path;

use crate::Verdict;
use crate::batch::{Engine, EngineConfig};
use crate::extract::{ExtractConfig, extract_answer, extract_gold};
use crate::math::{MathConfig, check};
use crate::reward::{Recipe, RecipeError};
use crate::sample::Sample;

/// One fuzz oracle: panics when a property is violated.
pub type Oracle = fn(&[u8]);

/// The fuzz targets by name, for replaying regressions.
pub const TARGETS: &[(&str, Oracle)] =
    &[("extract", extract), ("math_check", math_check), ("sample_line", sample_line), ("recipe", recipe)];

/// Extraction never panics, and an extracted answer is a real span on character boundaries.
pub fn extract(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(found) = extract_answer(text, &ExtractConfig::default()) {
        assert!(found.span.end <= text.len(), "span {:?} outside a {}-byte input", found.span, text.len());
        assert!(text.is_char_boundary(found.span.start) && text.is_char_boundary(found.span.end));
        assert!(found.span.start <= found.span.end);
    }
    let _ = extract_gold(text);
}

/// `gold NUL completion`: checking never panics, and a gold that parses equals itself.
pub fn math_check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (gold, pred) = text.split_once('\0').unwrap_or((text, text));
    let config = MathConfig::default();
    let forward = check(gold, pred, &config);
    if forward.verdict != Verdict::InvalidGold {
        let itself = check(gold, gold, &config);
        assert!(
            matches!(itself.verdict, Verdict::Correct | Verdict::LimitExceeded | Verdict::NoAnswer),
            "gold {gold:?} is not equal to itself: {itself:?}"
        );
    }
}

/// Any line gets exactly one outcome; a line that is not a sample gets an `error` outcome.
pub fn sample_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let Ok(engine) = Engine::new(EngineConfig::default()) else { return };
    let outcomes = engine.score_lines(&[line]);
    assert_eq!(outcomes.len(), 1, "one line, {} outcomes", outcomes.len());
    if Sample::from_line(line).is_err() {
        assert_eq!(outcomes[0].verdict, Verdict::Error);
        assert!(outcomes[0].error.is_some());
    }
    assert!(outcomes[0].reward.is_finite(), "reward {} is not finite", outcomes[0].reward);
}

/// Any recipe text gives a recipe or a clear error naming a real line; never a panic.
pub fn recipe(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Recipe::parse(Path::new("fuzz.toml"), text) {
        Ok(recipe) => assert!(!recipe.components.is_empty()),
        Err(RecipeError::Invalid { line, .. }) => {
            assert!(line >= 1 && line <= text.lines().count() + 1, "line {line} outside the file")
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::TARGETS;

    /// Replays every committed input under `fuzz/regressions/<target>/` through its oracle, and runs
    /// every oracle over the bundled sample batch's lines, completions and gold/completion pairs.
    #[test]
    fn regressions_and_samples_satisfy_every_oracle() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut replayed = 0;
        for (name, oracle) in TARGETS {
            let dir = root.join("fuzz/regressions").join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).expect("regression input is readable");
                oracle(&data);
                replayed += 1;
            }
        }
        let samples = std::fs::read_to_string(root.join("testdata/samples.jsonl")).expect("sample batch is readable");
        let mut checked = 0;
        for line in samples.lines() {
            super::sample_line(line.as_bytes());
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line) {
                let completion = map.get("completion").and_then(|v| v.as_str()).unwrap_or_default();
                super::extract(completion.as_bytes());
                if let Some(gold) = map.get("answer").and_then(|v| v.as_str()) {
                    super::math_check(format!("{gold}\0{completion}").as_bytes());
                }
            }
            checked += 1;
        }
        for recipe in std::fs::read_dir(root.join("verifiers")).expect("verifiers/ exists").flatten() {
            if recipe.path().extension().is_some_and(|x| x == "toml") {
                super::recipe(&std::fs::read(recipe.path()).expect("recipe is readable"));
                checked += 1;
            }
        }
        assert!(checked >= 16, "only {checked} inputs checked ({replayed} regressions replayed)");
    }
}
