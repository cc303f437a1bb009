//! `answer_tags`: the final answer is wrapped in `<answer>…</answer>` exactly once, after the reasoning.
//!
//! Formula: 1 when the completion has the shape below, else 0. Tags are matched literally.
//!
//! * `mode = "lenient"` (the default): exactly one `<answer>` and exactly one `</answer>`, in that
//!   order, and both after the last `</think>` when the completion has one. Anything may
//!   surround them; the answer may be empty.
//! * `mode = "strict"`: the whole completion is open-r1's `format_reward` template
//!   `<think>\n…\n</think>\n<answer>\n…\n</answer>`, with each of the four tags exactly once and
//!   only whitespace after `</answer>`. open-r1's regex (`re.MULTILINE`, lazy `.*?`) also accepts
//!   text on the lines after `</answer>` and repeated blocks inside the reasoning; we do not,
//!   since both let a policy hide a second answer (see `testdata/rewards/answer_tags.jsonl`).

use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

/// The answer-tags component.
pub struct AnswerTags;

const PARAMS: &[ParamDoc] = &[ParamDoc {
    name: "mode",
    default: "\"lenient\"",
    doc: "\"lenient\" (one <answer> block after the reasoning) or \"strict\" (open-r1's full template)",
}];

/// The built answer-tags scorer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AnswerTagsScorer {
    strict: bool,
}

impl RewardComponent for AnswerTags {
    fn name(&self) -> &'static str {
        "answer_tags"
    }

    fn doc(&self) -> &'static str {
        "1 when <answer>...</answer> occurs exactly once, after the reasoning, else 0 \
         (mode \"strict\": the whole completion is `<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>`)"
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
        Ok(Arc::new(AnswerTagsScorer { strict }))
    }
}

fn once(text: &str, tag: &str) -> Option<usize> {
    if text.matches(tag).count() == 1 { text.find(tag) } else { None }
}

fn lenient(text: &str) -> bool {
    let (Some(open), Some(close)) = (once(text, "<answer>"), once(text, "</answer>")) else { return false };
    let reasoning_end = text.rfind("</think>").map_or(0, |p| p + "</think>".len());
    open < close && open >= reasoning_end
}

fn strict(text: &str) -> bool {
    let tags = ["<think>", "</think>", "<answer>", "</answer>"];
    let Some(&[think_open, think_close, answer_open, answer_close]) =
        tags.iter().map(|t| once(text, t)).collect::<Option<Vec<_>>>().as_deref()
    else {
        return false;
    };
    let reasoning_start = think_open + "<think>\n".len();
    let content_start = answer_open + "<answer>\n".len();
    think_open == 0
        && text.starts_with("<think>\n")
        && think_close > reasoning_start
        && text[..think_close].ends_with('\n')
        && text[think_close..].starts_with("</think>\n<answer>\n")
        && answer_close > content_start
        && text[..answer_close].ends_with('\n')
        && text[answer_close + "</answer>".len()..].trim().is_empty()
}

impl Scorer for AnswerTagsScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let text = ctx.completion()?;
        let ok = if self.strict { strict(text) } else { lenient(text) };
        Ok(if ok { 1.0 } else { 0.0 }.into())
    }
}
