//! `tag_count`: partial credit for each R1 template tag written exactly once (open-r1's `tag_count_reward`).
//!
//! Formula: `0.25 · ([count("<think>\n") = 1] + [count("\n</think>\n") = 1] + [count("\n<answer>\n") = 1]
//! + [count("\n</answer>") = 1])`, where `count` counts non-overlapping literal occurrences, as
//! Python's `str.count` does. It is deliberately open-r1's function, newlines included, so that a
//! recipe ported from open-r1 keeps its numbers: the tags' order is not checked (that is
//! `answer_tags`'s job) and a tag written twice earns nothing for that tag. No parameters.

use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

/// The tag-count component.
pub struct TagCount;

/// The four tags, each with the newlines open-r1 requires around it.
const TAGS: [&str; 4] = ["<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"];

/// The built tag-count scorer (it has no parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TagCountScorer;

impl RewardComponent for TagCount {
    fn name(&self) -> &'static str {
        "tag_count"
    }

    fn doc(&self) -> &'static str {
        "0.25 for each of `<think>\\n`, `\\n</think>\\n`, `\\n<answer>\\n`, `\\n</answer>` occurring exactly once \
         (open-r1's tag_count_reward)"
    }

    fn params(&self) -> &'static [ParamDoc] {
        &[]
    }

    fn build(&self, _params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        Ok(Arc::new(TagCountScorer))
    }
}

impl Scorer for TagCountScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let text = ctx.completion()?;
        let placed = TAGS.iter().filter(|tag| text.matches(*tag).count() == 1).count();
        Ok((0.25 * placed as f64).into())
    }
}
