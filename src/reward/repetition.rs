//! `repetition`: the n-gram repetition penalty of "Demystifying Long CoT" (Appendix C.2), as open-r1 has it.
//!
//! Formula: the completion is lower-cased and split on whitespace into words; with `G` the list
//! of its word `n`-grams (`n = ngram_size`), `score = (1 − |set(G)| / |G|) · max_penalty`. An empty
//! completion, or one with fewer than `n` words, scores 0. `max_penalty` must be ≤ 0 and
//! `ngram_size` ≥ 1 (checked at load). This is open-r1's `get_repetition_penalty_reward`;
//! lower-casing and whitespace follow Rust's Unicode definitions, which agree with Python's
//! for all text except the ASCII separator controls U+001C–U+001F (Python splits on them).
//! With `unit = "token_ids"` the n-grams are taken over the sample's `completion_ids` (an array
//! of integers, as TRL's and verl's rollouts have them) instead of words, which is TRL's current
//! `get_repetition_penalty_reward`; a sample without that field is a typed error.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

/// The repetition penalty component.
pub struct Repetition;

const PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "ngram_size", default: "3", doc: "words per n-gram (≥ 1)" },
    ParamDoc { name: "max_penalty", default: "-1.0", doc: "score of a fully repetitive completion (≤ 0)" },
    ParamDoc {
        name: "unit",
        default: "\"words\"",
        doc: "\"words\" (lower-cased, whitespace-separated; open-r1) or \"token_ids\" (`completion_ids`; TRL)",
    },
];

/// The built repetition scorer.
#[derive(Debug, Clone, PartialEq)]
struct RepetitionScorer {
    ngram_size: usize,
    max_penalty: f64,
    token_ids: bool,
}

impl RewardComponent for Repetition {
    fn name(&self) -> &'static str {
        "repetition"
    }

    fn doc(&self) -> &'static str {
        "n-gram repetition penalty: (1 - unique n-grams / total n-grams) * max_penalty over lower-cased \
         whitespace-separated words; 0 with fewer than ngram_size words"
    }

    fn params(&self) -> &'static [ParamDoc] {
        PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let ngram_size = params.count("ngram_size", 3)?;
        if ngram_size == 0 {
            return Err(params.error("ngram_size", "must be at least 1"));
        }
        let max_penalty = params.float("max_penalty", -1.0)?;
        if max_penalty > 0.0 {
            return Err(params.error("max_penalty", format!("{max_penalty} should not be positive")));
        }
        let token_ids = match params.string("unit", "words")? {
            "words" => false,
            "token_ids" => true,
            other => return Err(params.error("unit", format!("must be \"words\" or \"token_ids\", got \"{other}\""))),
        };
        Ok(Arc::new(RepetitionScorer { ngram_size, max_penalty, token_ids }))
    }
}

impl RepetitionScorer {
    /// `(1 − unique / total) · max_penalty` over the n-grams of `items`; 0 with fewer than n items.
    fn penalty<T: Eq + std::hash::Hash>(&self, items: &[T]) -> f64 {
        if items.len() < self.ngram_size {
            return 0.0;
        }
        let ngrams: Vec<&[T]> = items.windows(self.ngram_size).collect();
        let unique: HashSet<&[T]> = ngrams.iter().copied().collect();
        (1.0 - unique.len() as f64 / ngrams.len() as f64) * self.max_penalty
    }
}

/// The sample's `completion_ids`, as integers.
fn completion_ids(ctx: &ScoreContext<'_>) -> Result<Vec<i64>, ScoreError> {
    let invalid = |message: String| ScoreError::InvalidField { field: "completion_ids", message };
    match ctx.sample.extra.get("completion_ids") {
        None | Some(serde_json::Value::Null) => Err(invalid("is required by unit = \"token_ids\"".into())),
        Some(serde_json::Value::Array(ids)) => {
            ids.iter().map(|id| id.as_i64().ok_or_else(|| invalid(format!("must hold integers, got {id}")))).collect()
        }
        Some(other) => Err(invalid(format!("must be an array of integers, got {other}"))),
    }
}

impl Scorer for RepetitionScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        if self.token_ids {
            return Ok(self.penalty(&completion_ids(ctx)?).into());
        }
        let lower = ctx.completion()?.to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        Ok(self.penalty(&words).into())
    }
}
