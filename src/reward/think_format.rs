//! `think_format`: DeepSeek-R1's format reward — reasoning in one `<think>…</think>` block, then the answer.
//!
//! Formula: 1 when the completion has the shape below, else 0. Tags are matched literally and
//! case-sensitively; a tag is "one well-formed block" only if it occurs exactly once, so nested
//! (`<think>a<think>b</think></think>`) and repeated blocks score 0 in both variants.
//!
//! * `mode = "strict"` — R1's template as open-r1's `format_reward` writes it: the completion
//!   starts with `<think>\n` (no text before it, not even whitespace), the reasoning is not blank
//!   and ends with a newline, `</think>` is followed by a newline and by a non-blank answer.
//! * `mode = "lenient"` (the default) — TRL's `think_format_reward` with two deliberate
//!   differences: whitespace before `<think>` is allowed (TRL scores it 0) and a second
//!   `</think>` scores 0 (TRL scores it 1). Reasoning and answer may be empty.
//!
//! `prefilled = true` is for chat templates that end the prompt with `<think>\n` (the R1 distills):
//! the completion then starts inside the reasoning, must contain no `<think>` at all, and exactly
//! one `</think>`; the strict variant still requires the newlines and a non-blank answer.

use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// The think-format component.
pub struct ThinkFormat;

const PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "mode", default: "\"lenient\"", doc: "\"strict\" (R1's newline template) or \"lenient\"" },
    ParamDoc {
        name: "prefilled",
        default: "false",
        doc: "the prompt already ends with `<think>`: the completion must not open the block again",
    },
];

/// The built think-format scorer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ThinkFormatScorer {
    strict: bool,
    prefilled: bool,
}

impl RewardComponent for ThinkFormat {
    fn name(&self) -> &'static str {
        "think_format"
    }

    fn doc(&self) -> &'static str {
        "1 when the completion is one <think>...</think> block followed by the answer, else 0 \
         (mode \"strict\": R1's `<think>\\n...\\n</think>\\n` answer template; \"lenient\": any spacing)"
    }

    fn params(&self) -> &'static [ParamDoc] {
        PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let strict = match params.string("mode", "lenient")? {
            "strict" => true,
            "lenient" => false,
            other => return Err(params.error("mode", format!("must be \"strict\" or \"lenient\", got \"{other}\""))),
        };
        Ok(Arc::new(ThinkFormatScorer { strict, prefilled: params.boolean("prefilled", false)? }))
    }
}

impl ThinkFormatScorer {
    /// Whether `text` has the configured shape.
    fn well_formed(&self, text: &str) -> bool {
        let opens = text.matches(OPEN).count();
        if text.matches(CLOSE).count() != 1 || opens != usize::from(!self.prefilled) {
            return false;
        }
        let body_start = match (self.prefilled, self.strict) {
            (true, _) => 0,
            (false, true) if text.starts_with("<think>\n") => "<think>\n".len(),
            (false, false) if text.trim_start().starts_with(OPEN) => text.len() - text.trim_start().len() + OPEN.len(),
            (false, _) => return false,
        };
        let Some(close) = text.find(CLOSE) else { return false };
        if close < body_start {
            return false;
        }
        if !self.strict {
            return true;
        }
        let reasoning = &text[body_start..close];
        let after = &text[close + CLOSE.len()..];
        reasoning.ends_with('\n') && !reasoning.trim().is_empty() && after.starts_with('\n') && !after.trim().is_empty()
    }
}

impl Scorer for ThinkFormatScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        Ok(if self.well_formed(ctx.completion()?) { 1.0 } else { 0.0 }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(strict: bool, prefilled: bool, text: &str) -> bool {
        ThinkFormatScorer { strict, prefilled }.well_formed(text)
    }

    #[test]
    fn a_close_tag_inside_the_opening_newline_is_not_a_block() {
        // "<think>\n</think>" has its only newline shared between the two tags: no reasoning line.
        assert!(!check(true, false, "<think>\n</think>\nanswer"));
        assert!(check(false, false, "<think></think>"));
    }

    #[test]
    fn close_before_open_is_malformed() {
        assert!(!check(false, false, "</think><think>"));
    }
}
