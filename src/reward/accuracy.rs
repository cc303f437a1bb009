//! `accuracy`: the verifier's verdict as a reward.
//!
//! Formula: `1` when the verdict is `correct`, otherwise `0`. Parameters: `correct` and
//! `incorrect` override the two values (DAPO uses `1` and `-1`).

use super::{RewardComponent, ScoreContext};

/// The accuracy component.
pub struct Accuracy;

impl RewardComponent for Accuracy {
    fn name(&self) -> &'static str {
        "accuracy"
    }

    fn doc(&self) -> &'static str {
        "1 when the accuracy verifier says correct, else 0 (params `correct`, `incorrect` override the values)"
    }

    fn score(&self, ctx: &ScoreContext<'_>) -> f64 {
        let value = |key: &str, default: f64| {
            ctx.params
                .get(key)
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                .unwrap_or(default)
        };
        if ctx.judgement.correct() { value("correct", 1.0) } else { value("incorrect", 0.0) }
    }
}
