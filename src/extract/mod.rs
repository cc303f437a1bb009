//! Answer extraction: find the final answer in a model's completion.
//!
//! # What it does
//!
//! [`extract_answer`] reads the completion the way a grader would: it looks only at the final part
//! (after the reasoning, see [`ExtractConfig::reasoning`]), then tries the tiers below from the most explicit to the least, and
//! the first tier that finds something wins. Within a tier the rightmost hit wins, because a model
//! that corrects itself writes its final answer last.
//!
//! | tier | [`AnswerSource`] | example |
//! |---|---|---|
//! | 0 | `AnswerPhrase` | Minerva's sentence "The final answer is $18$. I hope it is correct." (outranks boxes: Minerva-style models box intermediate results) |
//! | 1 | `Boxed` | `\boxed{\frac{1}{2}}`, `\fbox{3}`, `\boxed 5`, `\boxed5` |
//! | 2 | `AnswerTag` | `<answer>18</answer>` (the last complete pair) |
//! | 3 | `Gsm8k` | `#### 18` |
//! | 4 | `AnswerPhrase` | "the answer is 18.", `Answer: 18`, `**Answer:** 18`, "答案是 18", "la réponse est 18"; when a sentence follows the marker ("Answer: Jane started 3 hours ago"), its first math environment or number |
//! | 5 | `Bold` | `**73**` (a bold span that starts like an answer: digit, sign, `$`, `\`, bracket) |
//! | 6 | `Whole` | the whole trimmed final part, when short and answer-like: `-5`, `7,425,000`, `$x^2$`, `(1,2)`, `\text{Evelyn}` |
//! | 7 | `MathEnv` | the last `$…$`, `$$…$$`, `\(…\)`, `\[…\]` whose content is not prose, unless a number follows it |
//! | 8 | `LastNumber` | the last number (`7,425,000`, `-3`, `.5`, `13/28`), when no math environment comes after it |
//!
//! The answer text has its delimiters stripped: `$…$`, `$$…$$`, `\(…\)`, `\[…\]` around it, markdown
//! `**`, a trailing period or comma, a lone currency `$`, and the thin spaces `\!` and `\,`. Its
//! inner text is kept as written: `\text{}`, units and `x =` are the math verifier's business.
//!
//! # Decisions
//!
//! * **Reasoning is not an answer.** With [`ExtractConfig::after_think`] (the default), only the
//!   text after the last `</think>` is searched; an answer written only inside the reasoning gives
//!   [`ExtractError::NoAnswer`]. A `<think>` that is never closed makes everything after it
//!   reasoning, so a completion that opens `<think>` and never closes it has no answer (a truncated
//!   rollout must not be rewarded for a number in its scratch work).
//! * **Hedging never passes; revising is allowed.** Several boxes are read by
//!   [`ExtractConfig::multiple_boxes`] (rules in `boxes.rs`): by default the boxes of the last sentence or
//!   list are read, and several *different* answers there (`\boxed{3}` or `\boxed{4}`) give
//!   [`ExtractError::Hedged`] with the distinct answers, while a box in a later sentence that says
//!   something revises the earlier ones. The same answer boxed twice (`\boxed{840}` … `\boxed{840}`)
//!   is one answer; answers written differently (`\boxed{\frac12} = \boxed{0.5}`) are `Hedged` here
//!   and the math verifier decides whether they mean the same. Placeholder boxes (`\phantom{2}`,
//!   `\quad`, `\square`) are skipped. Math-Verify's row 47 (`\boxed{17}, …, \boxed{18}` for a
//!   two-answer problem) is `Hedged` by default; a verifier whose gold has several answers can set
//!   [`ExtractConfig::multiple_boxed`] to [`MultipleBoxed::List`] to read them as the list `17, 18`.
//! * **Reasoning markers.** [`ExtractConfig::reasoning`] lists the pairs recognised: `<think>`,
//!   `<|begin_of_thought|>` (with the answer inside `<|begin_of_solution|>…<|end_of_solution|>`)
//!   and `<reasoning>`; the final part starts after the last closing marker of any of them.
//! * **An empty box is an empty answer.** When every box in the final part is empty (`\boxed{}`),
//!   the result is `NoAnswer`; the weaker tiers are not consulted, since the model did commit to a
//!   (missing) final answer.
//! * **Multiple choice is separate.** When the gold is a letter ([`gold_choice`]), call
//!   [`extract_choice`], which reads letters ("I think it's B", `(C)`, `\text{(C)}`) instead.
//! * **Golds are not completions.** [`extract_gold`] unwraps `\boxed{}`, `<answer>`, `####` and
//!   delimiters but never guesses a last number.
//!
//! # Calling it from a verifier
//!
//! [`extract_for_gold`] does the routing below in one call; use it in place of `extract_answer`.
//!
//! ```text
//! gold_choice(gold) == Some(letter)  → extract_choice(completion, &choices_up_to(letter), &config)
//! otherwise                          → extract_gold(gold) for the gold, extract_answer(completion, &config):
//!   Ok(extraction)          parse extraction.answer (extraction.source says how sure the reading is)
//!   Err(NoAnswer)           Verdict::NoAnswer
//!   Err(Hedged(answers))    Verdict::Incorrect (for a gold with several answers, extract_for_gold
//!                           already read the boxes as one list, so Hedged means a single-answer gold)
//!   Err(TooLong { .. })     Verdict::LimitExceeded
//! ```
//!
//! # Why it is built this way
//!
//! Every scan is linear and iterative (see [`scan`]): reward functions see hostile text from a
//! policy under optimisation, so 100,000 nested braces, 200 KB of digits or 2000 boxes must cost a
//! single pass, and nothing may recurse on input nesting. Regexes are compiled once (`LazyLock`)
//! and run by the linear-time `regex` crate; small token grammars are `nom` parsers.

mod boxes;
mod choice;
mod phrase;
mod scan;

use std::ops::Range;

pub use choice::{Choice, ChoiceSource, choice_in_gold_text, choices_up_to, extract_choice, gold_choice};
pub(crate) use scan::has_thin_space;

/// Which boxes of the final part are read when there are several (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultipleBoxes {
    /// The last box is the answer, whatever came before (Math-Verify's reading).
    Last,
    /// The last *group* of boxes is read: boxes in one sentence or list (`\boxed{3} or \boxed{4}`,
    /// `\boxed{3}, \boxed{4}`) are one group, and a box in a later sentence that says something
    /// ("Hmm, I slipped; redoing it gives \boxed{14}") revises the earlier ones (the default).
    #[default]
    RejectHedging,
    /// Every box is read: any two different answers are hedging, wherever they are.
    Reject,
}

impl MultipleBoxes {
    /// The policy named as in recipes and on the command line: `last`, `reject_hedging`, `reject`.
    pub fn from_name(name: &str) -> Option<MultipleBoxes> {
        match name {
            "last" => Some(MultipleBoxes::Last),
            "reject_hedging" => Some(MultipleBoxes::RejectHedging),
            "reject" => Some(MultipleBoxes::Reject),
            _ => None,
        }
    }
}

/// A pair of markers around a model's reasoning (`<think>` … `</think>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasoningMarkers {
    /// The opening marker.
    pub open: String,
    /// The closing marker; the answer is searched after the last one.
    pub close: String,
}

impl ReasoningMarkers {
    /// A pair of markers.
    pub fn new(open: &str, close: &str) -> Self {
        ReasoningMarkers { open: open.to_string(), close: close.to_string() }
    }

    /// The built-in marker pairs by name: `think` (`<think>`, DeepSeek-R1, Qwen3), `thought`
    /// (`<|begin_of_thought|>`, Sky-T1 and other QwQ-distilled models) and `reasoning`
    /// (`<reasoning>`, TRL's GRPO examples).
    pub fn named(name: &str) -> Option<ReasoningMarkers> {
        match name {
            "think" => Some(ReasoningMarkers::new("<think>", "</think>")),
            "thought" => Some(ReasoningMarkers::new("<|begin_of_thought|>", "<|end_of_thought|>")),
            "reasoning" => Some(ReasoningMarkers::new("<reasoning>", "</reasoning>")),
            _ => None,
        }
    }

    /// Every built-in pair (the default of [`ExtractConfig::reasoning`]).
    pub fn all() -> Vec<ReasoningMarkers> {
        ["think", "thought", "reasoning"].into_iter().filter_map(ReasoningMarkers::named).collect()
    }
}

/// The markers around the final solution of Sky-T1-style outputs: when present after the
/// reasoning, only the text between them is searched.
const SOLUTION_MARKERS: (&str, &str) = ("<|begin_of_solution|>", "<|end_of_solution|>");

/// What a group of several different boxed answers means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultipleBoxed {
    /// Several different boxed answers are hedging: [`ExtractError::Hedged`] (the default).
    #[default]
    Hedged,
    /// Read the distinct boxed answers as one list, joined with `, ` in order of appearance
    /// (for golds with several answers, e.g. both roots of an equation).
    List,
}

/// How extraction behaves; every limit is explicit.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractConfig {
    /// When the completion contains `</think>`, search only after the last one, and treat text
    /// after an unclosed `<think>` as reasoning (default: true).
    pub after_think: bool,
    /// Fall back to the last number in the text when no other tier finds an answer (default: true).
    pub last_number_fallback: bool,
    /// Fall back to the last math environment (`$…$`, `\(…\)`, `\[…\]`) before the last number
    /// (default: true).
    pub math_env_fallback: bool,
    /// The whole final part is taken as the answer when it is one line of at most this many bytes
    /// and looks like an answer (default: 128; 0 turns the tier off).
    pub max_whole_bytes: usize,
    /// Which boxes are read when there are several (default: [`MultipleBoxes::RejectHedging`]).
    pub multiple_boxes: MultipleBoxes,
    /// Several different boxed answers among those read: hedging (default) or a list.
    pub multiple_boxed: MultipleBoxed,
    /// The reasoning markers recognised by [`ExtractConfig::after_think`] (default: all of
    /// [`ReasoningMarkers::all`]: `<think>`, `<|begin_of_thought|>`, `<reasoning>`).
    pub reasoning: Vec<ReasoningMarkers>,
    /// Completions longer than this many bytes are not searched: [`ExtractError::TooLong`]
    /// (default: 1 MiB; a completion of exactly this length is searched).
    pub max_input_bytes: usize,
    /// How many answer markers ("the answer is", `####`, "final answer is"), from the right, are
    /// tried when the ones after them are followed by nothing usable (default: 16). Bounds the work
    /// on completions made of thousands of empty markers; past it the phrase tier gives up and the
    /// weaker tiers run.
    pub max_answer_markers: usize,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            after_think: true,
            last_number_fallback: true,
            math_env_fallback: true,
            max_whole_bytes: 128,
            multiple_boxes: MultipleBoxes::RejectHedging,
            multiple_boxed: MultipleBoxed::Hedged,
            reasoning: ReasoningMarkers::all(),
            max_input_bytes: 1 << 20,
            max_answer_markers: 16,
        }
    }
}

/// Where in the completion an answer was found, from most to least explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// The last `\boxed{…}` or `\fbox{…}`.
    Boxed,
    /// `<answer>…</answer>` tags.
    AnswerTag,
    /// GSM8K's `#### n`.
    Gsm8k,
    /// "The (final) answer is …", `Answer: …`.
    AnswerPhrase,
    /// A markdown bold answer, `**73**`.
    Bold,
    /// The whole (short) completion is the answer.
    Whole,
    /// The last math environment, `$…$`, `\(…\)`, `\[…\]`.
    MathEnv,
    /// The last number in the text.
    LastNumber,
    /// A multiple-choice letter, read by [`extract_choice`] (see [`extract_for_gold`]).
    Choice,
}

/// The answer found in a completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// The answer text with math delimiters (`$…$`, `\(…\)`, `\[…\]`) stripped.
    pub answer: String,
    /// Which rule found it.
    pub source: AnswerSource,
    /// Byte range of the answer in the completion: `completion[span]` is the answer as written
    /// (it still holds any `\!`/`\,` that [`Extraction::answer`] drops).
    pub span: Range<usize>,
}

/// Why no single answer could be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    /// Nothing that looks like an answer.
    #[error("no answer found")]
    NoAnswer,
    /// Several different final answers (e.g. two different `\boxed{}`): hedging never passes.
    #[error("several different final answers: {0:?}")]
    Hedged(Vec<String>),
    /// The completion is longer than [`ExtractConfig::max_input_bytes`].
    #[error("completion is {len} bytes, over the limit of {limit}")]
    TooLong {
        /// The completion's length in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
}

/// The part of `text` that holds the final answer, with its byte offset in `text`: after the last
/// closing reasoning marker of any configured pair, up to an opening marker that is never closed,
/// and inside `<|begin_of_solution|>` … `<|end_of_solution|>` when the rest has that block.
pub(crate) fn final_part<'a>(text: &'a str, config: &ExtractConfig) -> (usize, &'a str) {
    if !config.after_think {
        return (0, text);
    }
    let start = config
        .reasoning
        .iter()
        .filter_map(|m| scan::rfind_marker(text, &m.close).map(|i| i + m.close.len()))
        .max()
        .unwrap_or(0);
    let rest = &text[start..];
    let end = config.reasoning.iter().filter_map(|m| scan::find_marker(rest, &m.open)).min().unwrap_or(rest.len());
    let rest = &rest[..end];
    let (open, close) = SOLUTION_MARKERS;
    if let Some(k) = scan::rfind_marker(rest, open) {
        let body = &rest[k + open.len()..];
        let body_end = scan::find_marker(body, close).unwrap_or(body.len());
        return (start + k + open.len(), &body[..body_end]);
    }
    (start, rest)
}

/// The content of the last complete `<answer>…</answer>` pair; when tags are nested or repeated
/// inside it, only the text after the last inner tag (`<answer><answer>1</answer>2</answer>` → `2`).
pub(crate) fn find_answer_tag(text: &str) -> Option<Range<usize>> {
    let close = text.rfind("</answer>")?;
    let open = text[..close].rfind("<answer>")?;
    let content = open + "<answer>".len()..close;
    let inner = &text[content.clone()];
    let after_inner_tag = inner.rfind("</answer>").map(|i| content.start + i + "</answer>".len());
    Some(after_inner_tag.unwrap_or(content.start)..close)
}

/// An answer found in `text` (the final part), before offsetting into the completion.
struct Found {
    range: Range<usize>,
    answer: String,
    source: AnswerSource,
}

/// Makes a [`Found`] from a raw range: trims delimiters; `None` when nothing is left.
fn found(text: &str, raw: Range<usize>, source: AnswerSource) -> Option<Found> {
    let range = scan::trim_answer(text, raw);
    let answer = scan::answer_text(text, &range);
    (!answer.trim().is_empty()).then_some(Found { range, answer, source })
}

/// Does `s` start like an answer (digit, sign, math delimiter, command or bracket)?
fn starts_like_answer(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit() || "-+−.$\\([{".contains(c))
}

/// Outcome of the boxed tier: an answer, a decisive failure, or nothing boxed at all.
enum BoxedTier {
    Answer(Found),
    Failed(ExtractError),
    Absent,
}

/// Tier 1: the boxed answers of the final part, read by [`ExtractConfig::multiple_boxes`] (rules in `boxes.rs`).
fn boxed_tier(text: &str, config: &ExtractConfig) -> BoxedTier {
    let found = scan::find_boxed(text);
    if found.is_empty() {
        return BoxedTier::Absent;
    }
    match boxes::read_boxes(text, found, config.multiple_boxes, config.multiple_boxed) {
        Some(Ok(f)) => BoxedTier::Answer(f),
        Some(Err(e)) => BoxedTier::Failed(e),
        None => BoxedTier::Absent,
    }
}

/// Tier 6: the whole final part, when it is one short line that reads as an answer.
fn whole_tier(text: &str, config: &ExtractConfig) -> Option<Found> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > config.max_whole_bytes || trimmed.contains('\n') {
        return None;
    }
    let start = text.len() - text.trim_start().len();
    let candidate = found(text, start..start + trimmed.len(), AnswerSource::Whole)?;
    let body = candidate.answer.as_str();
    // A truncated `\boxed{5`, unbalanced braces or stray `$` are debris, not an answer.
    if body.contains("\\boxed")
        || body.contains("\\fbox")
        || !scan::balanced_braces(body)
        || scan::unescaped_dollars(body) > 0
    {
        return None;
    }
    let words = scan::prose_words(body);
    let answer_like =
        if starts_like_answer(trimmed) { words <= 2 } else { words == 0 || body.chars().all(char::is_alphabetic) };
    answer_like.then_some(candidate)
}

/// Tier 7: the last math environment whose content is not prose.
fn math_env_tier(text: &str) -> Option<Found> {
    scan::find_math_envs(text)
        .into_iter()
        .rev()
        .filter(|env| scan::prose_words(&text[env.content.clone()]) == 0)
        .find_map(|env| found(text, env.whole, AnswerSource::MathEnv))
}

/// Tiers 7 and 8 as one: the last math environment or the last number, whichever ends later.
///
/// A chain of thought often closes with a sentence ("so there are 12 sequences", "increases by
/// 100%") after its last formula; the answer is then the number, not the formula before it. Within
/// a formula the environment wins, since it ends after every number inside it. Math-Verify ranks
/// its plain-LaTeX and plain-number patterns equally and takes the rightmost match the same way.
fn last_env_or_number(text: &str, config: &ExtractConfig) -> Option<Found> {
    let env = if config.math_env_fallback { math_env_tier(text) } else { None };
    let number = || scan::last_number(text).and_then(|r| found(text, r, AnswerSource::LastNumber));
    let number = if config.last_number_fallback { number() } else { None };
    match (env, number) {
        (Some(env), Some(number)) if number.range.start >= env.range.end => Some(number),
        (Some(env), _) => Some(env),
        (None, number) => number,
    }
}

/// Finds the final answer in a completion (see the module documentation for the tiers).
pub fn extract_answer(completion: &str, config: &ExtractConfig) -> Result<Extraction, ExtractError> {
    if completion.len() > config.max_input_bytes {
        return Err(ExtractError::TooLong { len: completion.len(), limit: config.max_input_bytes });
    }
    let (offset, text) = final_part(completion, config);
    let result = find_in_final_part(text, config)?;
    Ok(Extraction {
        answer: result.answer,
        source: result.source,
        span: offset + result.range.start..offset + result.range.end,
    })
}

/// The tiers, in order, over the final part.
fn find_in_final_part(text: &str, config: &ExtractConfig) -> Result<Found, ExtractError> {
    if text.trim().is_empty() {
        return Err(ExtractError::NoAnswer);
    }
    if let Some(f) =
        phrase::find_minerva(text, config.max_answer_markers).and_then(|r| found(text, r, AnswerSource::AnswerPhrase))
    {
        return Ok(f);
    }
    match boxed_tier(text, config) {
        BoxedTier::Answer(f) => return Ok(f),
        BoxedTier::Failed(e) => return Err(e),
        BoxedTier::Absent => {}
    }
    if let Some(tag) = find_answer_tag(text) {
        // Inside the tags, an answer phrase still marks the answer: `<answer>The answer is 5</answer>`.
        let inner = &text[tag.clone()];
        let raw = match phrase::find_answer_phrase(inner, config.max_answer_markers) {
            Some(r) => tag.start + r.start..tag.start + r.end,
            None => tag,
        };
        return found(text, raw, AnswerSource::AnswerTag).ok_or(ExtractError::NoAnswer);
    }
    let tiers: [&dyn Fn() -> Option<Found>; 5] = [
        &|| phrase::find_gsm8k(text, config.max_answer_markers).and_then(|r| found(text, r, AnswerSource::Gsm8k)),
        &|| {
            phrase::find_answer_phrase(text, config.max_answer_markers)
                .and_then(|r| found(text, r, AnswerSource::AnswerPhrase))
        },
        &|| {
            scan::find_bold(text)
                .into_iter()
                .rev()
                .filter(|r| starts_like_answer(text[r.clone()].trim_start()))
                .find_map(|r| found(text, r, AnswerSource::Bold))
        },
        &|| whole_tier(text, config),
        &|| last_env_or_number(text, config),
    ];
    tiers.iter().find_map(|tier| tier()).ok_or(ExtractError::NoAnswer)
}

/// Extracts the answer to compare with `gold`: the choice letter when the gold is a letter
/// ([`gold_choice`]: `C`, `(C)`, `\text{(C)}`, `(D) Alina`), otherwise [`extract_answer`].
///
/// For a letter gold the [`Extraction::answer`] is the letter alone (`"B"` from "therefore I think
/// it's B"), with [`AnswerSource::Choice`]; the options are `A`–`D`, or up to the gold's letter.
///
/// When the gold has several answers (`1, -2`, `(2,2), (6,2)`, `6 \text{ and } 8`), several
/// different boxes are read as one list ([`MultipleBoxed::List`]) instead of hedging: the verifier
/// then compares the whole list with the gold, so boxing extra candidates still fails.
pub fn extract_for_gold(gold: &str, completion: &str, config: &ExtractConfig) -> Result<Extraction, ExtractError> {
    if let Some(letter) = gold_choice(gold) {
        return extract_choice(completion, &choices_up_to(letter), config).map(|choice| Extraction {
            answer: choice.letter.to_string(),
            source: AnswerSource::Choice,
            span: choice.span,
        });
    }
    if config.multiple_boxed == MultipleBoxed::Hedged && gold_has_several_answers(&extract_gold(gold)) {
        let list = ExtractConfig { multiple_boxed: MultipleBoxed::List, ..config.clone() };
        return extract_answer(completion, &list);
    }
    extract_answer(completion, config)
}

/// Does an (extracted) gold list several answers? A `,` or `;` outside brackets that is not a
/// thousands separator (`7,425,000`), or the word `and`/`or`.
pub fn gold_has_several_answers(gold: &str) -> bool {
    let bytes = gold.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if matches!(bytes.get(i + 1), Some(b'{') | Some(b'}')) => {
                if bytes[i + 1] == b'{' {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
                i += 2;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return true,
            b',' if depth == 0 => {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let thousands = digits == 3 && i > 0 && bytes[i - 1].is_ascii_digit();
                if !thousands {
                    return true;
                }
            }
            // `6 \text{ and } 8`: the joining word counts at any depth (it sits inside `\text{}`).
            b'a' | b'o' => {
                let word_start = i == 0 || !bytes[i - 1].is_ascii_alphabetic();
                let word = if bytes[i] == b'a' { &b"and"[..] } else { &b"or"[..] };
                let word_end = bytes.get(i + word.len()).is_none_or(|b| !b.is_ascii_alphabetic());
                if word_start && bytes[i..].starts_with(word) && word_end {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Reads a gold answer: `\boxed{2}` → `2`, `$\frac12$` → `\frac12`, bare `42` → `42`.
///
/// A gold with several different boxes (`\(\boxed{1}\) and \(\boxed{-2}\)`) is a multi-answer gold
/// and reads as the list `1, -2`. `<answer>` tags, GSM8K's `#### n` and an answer sentence
/// ("The final answer is $28\%$. I hope it is correct.", "Answer: 5") are unwrapped too. The
/// last-number fallback is never applied: a gold sentence without a marker is returned trimmed,
/// for the math side to parse or reject as an invalid gold.
pub fn extract_gold(gold: &str) -> String {
    // A plain gold (`42`, `-3/4`, `1,000`, `0.5`) has no command, tag, `####`, word or non-ASCII
    // text for the finders to match, so it goes straight to the final trim.
    let plain =
        !gold.bytes().any(|b| b.is_ascii_alphabetic() || matches!(b, b'\\' | b'<' | b'#' | b'$') || !b.is_ascii());
    if !plain && let Some(answer) = marked_gold_answer(gold) {
        return answer;
    }
    let range = scan::trim_answer(gold, 0..gold.len());
    scan::answer_text(gold, &range)
}

/// The answer a gold marks explicitly: a box, an answer tag, `####`, or an answer sentence.
fn marked_gold_answer(gold: &str) -> Option<String> {
    // A gold does not revise itself: every box is one of its answers.
    let config = ExtractConfig {
        after_think: false,
        multiple_boxes: MultipleBoxes::Reject,
        multiple_boxed: MultipleBoxed::List,
        ..ExtractConfig::default()
    };
    if let BoxedTier::Answer(f) = boxed_tier(gold, &config) {
        return Some(f.answer);
    }
    if let Some(tag) = find_answer_tag(gold)
        && let Some(f) = found(gold, tag, AnswerSource::AnswerTag)
    {
        return Some(f.answer);
    }
    if let Some(f) =
        phrase::find_gsm8k(gold, config.max_answer_markers).and_then(|r| found(gold, r, AnswerSource::Gsm8k))
    {
        return Some(f.answer);
    }
    // A worked solution used as the gold ("… Final Answer: The final answer is $28\%$. I hope it
    // is correct."): its explicit answer sentence marks the answer, as in a completion.
    let phrase = phrase::find_minerva(gold, config.max_answer_markers)
        .or_else(|| phrase::find_answer_phrase(gold, config.max_answer_markers));
    phrase.and_then(|r| found(gold, r, AnswerSource::AnswerPhrase)).map(|f| f.answer)
}

#[cfg(test)]
mod tests;
