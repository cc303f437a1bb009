//! Answer extraction: find the final answer in a model's completion.
//!
//! INTERFACE SKELETON — the extraction work fills this module in (nom parsers, priority tiers).

use std::ops::Range;

/// How extraction behaves; every limit is explicit.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractConfig {
    /// When the completion contains `</think>`, search only after the last one (default: true).
    pub after_think: bool,
    /// Fall back to the last number / bare expression when no marker is found (default: true).
    pub last_number_fallback: bool,
    /// Completions longer than this many bytes are not searched (default: 1 MiB).
    pub max_input_bytes: usize,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig { after_think: true, last_number_fallback: true, max_input_bytes: 1 << 20 }
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
    /// "The (final) answer is …".
    AnswerPhrase,
    /// GSM8K's `#### n`.
    Gsm8k,
    /// The whole (short) completion is the answer.
    Whole,
    /// The last number or math expression in the text.
    LastNumber,
}

/// The answer found in a completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// The answer text with math delimiters (`$…$`, `\(…\)`, `\[…\]`) stripped.
    pub answer: String,
    /// Which rule found it.
    pub source: AnswerSource,
    /// Byte range of the answer in the completion.
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

/// Finds the final answer in a completion.
pub fn extract_answer(completion: &str, config: &ExtractConfig) -> Result<Extraction, ExtractError> {
    let _ = (completion, config);
    todo!("answer extraction")
}

/// Reads a gold answer: `\boxed{2}` → `2`, `$\frac12$` → `\frac12`, bare `42` → `42`.
pub fn extract_gold(gold: &str) -> String {
    let _ = gold;
    todo!("gold extraction")
}
