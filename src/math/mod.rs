//! Math answer verification: parse LaTeX and plain text into one AST and decide equivalence.
//!
//! INTERFACE SKELETON — the math work fills this module in.

use crate::extract::{self, ExtractConfig};
use crate::sample::Verdict;

/// Resource limits for parsing and comparing; each limit gives a typed error, never a hang.
#[derive(Debug, Clone, PartialEq)]
pub struct MathLimits {
    /// Longest answer text parsed, in bytes.
    pub max_answer_bytes: usize,
    /// Deepest nesting of the parsed expression.
    pub max_depth: usize,
    /// Most AST nodes in one parsed answer.
    pub max_nodes: usize,
    /// Largest exact integer (in bits) computed during evaluation.
    pub max_integer_bits: u64,
}

impl Default for MathLimits {
    fn default() -> Self {
        MathLimits { max_answer_bytes: 16 * 1024, max_depth: 200, max_nodes: 10_000, max_integer_bits: 1 << 20 }
    }
}

/// Everything the math verifier can be told.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MathConfig {
    /// Parse and evaluation limits.
    pub limits: MathLimits,
    /// How the predicted answer is found in the completion.
    pub extract: ExtractConfig,
}

/// A parsed gold answer, reusable across a GRPO group.
#[derive(Debug, Clone)]
pub struct Gold {
    /// The gold answer as given.
    pub raw: String,
}

/// Why a gold answer is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MathError {
    /// The text does not parse.
    #[error("cannot parse `{text}`: {reason}")]
    Parse {
        /// The text.
        text: String,
        /// What went wrong.
        reason: String,
    },
}

/// The result of checking one completion against one gold answer, with its explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MathCheck {
    /// The verdict.
    pub verdict: Verdict,
    /// The answer read from the completion.
    pub extracted: Option<String>,
    /// The gold as parsed, printed back.
    pub gold_parsed: Option<String>,
    /// The prediction as parsed, printed back.
    pub pred_parsed: Option<String>,
    /// Why the verdict is what it is, in one sentence.
    pub reason: String,
}

/// Parses a gold answer once, so a group of completions can share it.
pub fn parse_gold(answer: &str, config: &MathConfig) -> Result<Gold, MathError> {
    let _ = (answer, config, extract::extract_gold as fn(&str) -> String);
    todo!("gold parsing")
}

/// Checks a completion against a parsed gold.
pub fn verify(gold: &Gold, completion: &str, config: &MathConfig) -> MathCheck {
    let _ = (gold, completion, config);
    todo!("math verification")
}

/// Parses the gold and checks one completion; an unparsable gold gives [`Verdict::InvalidGold`].
pub fn check(answer: &str, completion: &str, config: &MathConfig) -> MathCheck {
    match parse_gold(answer, config) {
        Ok(gold) => verify(&gold, completion, config),
        Err(err) => MathCheck {
            verdict: Verdict::InvalidGold,
            extracted: None,
            gold_parsed: None,
            pred_parsed: None,
            reason: err.to_string(),
        },
    }
}
