//! `repetition`: the n-gram repetition penalty of "Demystifying Long CoT" (Appendix C.2), as open-r1 has it.
//!
//! Formula: the completion is lower-cased and split on whitespace into words; with `G` the list
//! of its word `n`-grams (`n = ngram_size`), `score = (1 − |set(G)| / |G|) · max_penalty`. An empty
//! completion, or one with fewer than `n` words, scores 0. `max_penalty` must be ≤ 0 and
//! `ngram_size` ≥ 1 (checked at load). This is open-r1's `get_repetition_penalty_reward`;
//! lower-casing and whitespace follow Rust's Unicode definitions, which agree with Python's
//! for all text except the ASCII separator controls U+001C–U+001F (Python splits on them).
//! TRL's newer version counts token ids instead of words; that needs the ids, which a sample
//! does not carry.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

/// The repetition penalty component.
pub struct Repetition;

const PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "ngram_size", default: "3", doc: "words per n-gram (≥ 1)" },
    ParamDoc { name: "max_penalty", default: "-1.0", doc: "score of a fully repetitive completion (≤ 0)" },
];

/// The built repetition scorer.
#[derive(Debug, Clone, PartialEq)]
struct RepetitionScorer {
    ngram_size: usize,
    max_penalty: f64,
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
        Ok(Arc::new(RepetitionScorer { ngram_size, max_penalty }))
    }
}

impl Scorer for RepetitionScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let lower = ctx.completion()?.to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        if words.len() < self.ngram_size {
            return Ok(0.0.into());
        }
        let ngrams: Vec<&[&str]> = words.windows(self.ngram_size).collect();
        let unique: HashSet<&[&str]> = ngrams.iter().copied().collect();
        let scaling = 1.0 - unique.len() as f64 / ngrams.len() as f64;
        Ok((scaling * self.max_penalty).into())
    }
}
