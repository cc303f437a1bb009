//! Several boxed answers in one final part: which of them is the answer.
//!
//! Real outputs box more than once. Qwen2.5-Math boxes intermediate results and the final one;
//! QwQ-distilled models box in the reasoning and again in the solution (`\boxed{\dfrac{8}{15}}` then
//! `\boxed{\frac{8}{15}}`); problems use a box as a blank (`12x - 7 + \boxed{\phantom{2}}`). A
//! policy under optimisation, on the other hand, learns to box every candidate. The rules:
//!
//! * **Placeholders are not answers**: a box holding nothing but `\phantom{…}`, `\quad`, `\qquad`,
//!   `\square`, `\Box`, `?`, `\_`, spaces or underscores is skipped. Empty boxes `\boxed{}` are
//!   skipped too; when every box is empty the result is `NoAnswer` (the model committed to a missing
//!   answer), when every box is some other placeholder the boxed tier is absent and the weaker tiers
//!   run.
//! * **Boxes are grouped by sentence**: consecutive boxes belong to one group unless the text between
//!   them closes a sentence (`.`, `!`, `?`, `;`, a line break, `。`) and then says something: at least
//!   [`REVISION_MIN_WORDS`] prose words, none of them an offering word ("or", "maybe",
//!   "alternatively", …). So `\boxed{3} or \boxed{4}`, `\boxed{3}, \boxed{4}, \boxed{5}` and
//!   `\boxed{3}. Or maybe \boxed{4}.` are one group, while "…is \boxed{12}. Hmm, I slipped in the
//!   second step; redoing it gives \boxed{14}." is two.
//! * **The policy** ([`MultipleBoxes`]) then picks: `Last` the last box; `RejectHedging` (the
//!   default) the last group, whose different answers are hedging; `Reject` every box, so any two
//!   different answers are hedging. Different *texts* that the math verifier finds equal
//!   (`\dfrac{8}{15}` and `\frac{8}{15}`) are one answer: the extractor reports them as
//!   [`ExtractError::Hedged`] and `math::verify` collapses them (the extractor has no equivalence of
//!   its own).

use std::collections::HashSet;
use std::ops::Range;

use super::scan::{self, BoxedSpan};
use super::{AnswerSource, ExtractError, Found, MultipleBoxed, MultipleBoxes, found};

/// Prose words the text after a sentence break needs before a later box counts as a revision.
pub(crate) const REVISION_MIN_WORDS: usize = 3;

/// Words that offer an alternative rather than revise: a box after them is in the same group.
const OFFERING_WORDS: &[&str] =
    &["or", "maybe", "perhaps", "possibly", "alternatively", "either", "might", "otherwise", "else", "could"];

/// Is a box's content a blank (`\phantom{2}`, `\quad`, `\square`, `?`) rather than an answer?
pub(crate) fn is_placeholder(content: &str) -> bool {
    let mut rest = content.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("\\phantom").or_else(|| rest.strip_prefix("\\hphantom")) {
            let r = r.trim_start();
            let Some(inner) = r.strip_prefix('{') else { return false };
            let Some(close) = inner.find('}') else { return false };
            rest = &inner[close + 1..];
            continue;
        }
        let blank = ["\\qquad", "\\quad", "\\square", "\\Box", "\\blacksquare", "\\_", "\\,", "\\;", "\\ ", "\\:"]
            .into_iter()
            .find(|b| {
                rest.starts_with(b)
                    && !(b.ends_with(|c: char| c.is_ascii_alphabetic())
                        && rest[b.len()..].starts_with(|c: char| c.is_ascii_alphabetic()))
            });
        if let Some(b) = blank {
            rest = &rest[b.len()..];
            continue;
        }
        if let Some(r) = rest.strip_prefix(['?', '_', '~']) {
            rest = r;
            continue;
        }
        return false;
    }
    true
}

/// Does the text between two boxes end one sentence and start a revising one?
fn is_revision(between: &str) -> bool {
    let Some(k) = between.find(['.', '!', '?', ';', '\n', '。']) else { return false };
    let after = &between[k..];
    if scan::prose_words(after) < REVISION_MIN_WORDS {
        return false;
    }
    !after.split(|c: char| !c.is_alphabetic()).any(|w| OFFERING_WORDS.iter().any(|o| w.eq_ignore_ascii_case(o)))
}

/// The boxed tier's reading of the boxes of `text`: `None` when there is no box that answers.
pub(crate) fn read_boxes(
    text: &str,
    boxes: Vec<BoxedSpan>,
    policy: MultipleBoxes,
    as_list: MultipleBoxed,
) -> Option<Result<Found, ExtractError>> {
    let mut any_empty = false;
    let mut answers: Vec<(Range<usize>, Found)> = Vec::new();
    for b in boxes {
        let content = &text[b.content.clone()];
        if is_placeholder(content) {
            continue;
        }
        match found(text, b.content, AnswerSource::Boxed) {
            Some(f) => answers.push((b.whole, f)),
            None => any_empty = true,
        }
    }
    if answers.is_empty() {
        return any_empty.then_some(Err(ExtractError::NoAnswer));
    }
    let first = match policy {
        MultipleBoxes::Last => answers.len() - 1,
        MultipleBoxes::Reject => 0,
        MultipleBoxes::RejectHedging => {
            let mut start = answers.len() - 1;
            while start > 0 && !is_revision(&text[answers[start - 1].0.end..answers[start].0.start]) {
                start -= 1;
            }
            start
        }
    };
    let group = &answers[first..];
    let mut seen = HashSet::new();
    let distinct: Vec<&Found> = group
        .iter()
        .map(|(_, f)| f)
        .filter(|f| seen.insert(f.answer.chars().filter(|c| !c.is_whitespace()).collect::<String>()))
        .collect();
    let (_, last) = group.last()?;
    if distinct.len() == 1 {
        return Some(Ok(Found { range: last.range.clone(), answer: last.answer.clone(), source: last.source }));
    }
    Some(match as_list {
        MultipleBoxed::Hedged => Err(ExtractError::Hedged(distinct.iter().map(|a| a.answer.clone()).collect())),
        MultipleBoxed::List => {
            let answer = distinct.iter().map(|a| a.answer.as_str()).collect::<Vec<_>>().join(", ");
            Ok(Found { range: group[0].1.range.start..last.range.end, answer, source: AnswerSource::Boxed })
        }
    })
}
