//! Reward components and the recipes that weight them.
//!
//! A *component* is one documented formula from a judged sample to a raw score. Each lives in its
//! own file, implements [`RewardComponent`] and is registered once in [`COMPONENTS`]; help text,
//! recipe validation and the invariant tests are all driven from that table. A component is
//! *built* once per recipe from its parameters ([`RewardComponent::build`]), so a typo in a
//! parameter is a load-time error naming the file and line, and scoring never re-reads TOML.
//!
//! A *recipe* ([`Recipe`]) names the accuracy verifier and a weighted list of components; the
//! reward is `Σ weight · score`. Built-in recipes live in `verifiers/*.toml` and are compiled into
//! the binary, so the engine runs on embedded defaults with no files beside it.
//!
//! # Groups
//!
//! Some shaping terms (Kimi-1.5's length reward) compare the completions sampled for one prompt.
//! A *group* is explicit: within one [`crate::Engine::score_batch`] call, the samples that use the
//! same recipe and share the same `group` field (any JSON value but null), or, when a sample has no
//! `group`, the same `prompt` field. Group members keep their input order. A group-level
//! component ([`Scope::Group`]) on a sample with neither field gives that sample an error outcome,
//! never a number computed on a group of one. Groups are only as complete as the batch: a caller
//! that splits one prompt's completions over two batches gets two groups, which the `group_size`
//! parameter of the group components turns into a visible error.
//!
//! # Lengths
//!
//! Length-based components measure in tokens when the sample carries `completion_tokens` (the
//! count the training loop already has, as TRL and verl do), otherwise in Unicode scalar values
//! (Python's `len(str)`, which the open-r1 anchors use). The unit used is reported in the
//! outcome's `components` entry as `length_unit`.

pub mod accuracy;
pub mod answer_tags;
pub mod apply;
pub mod cases;
pub mod language;
pub mod length;
pub mod overlong;
pub mod params;
pub mod recipe;
pub mod repetition;
pub mod tag_count;
pub mod think_format;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

pub use apply::{Judged, score_judged};
pub use params::{ParamDoc, ParamError, Params};
pub use recipe::{
    ComponentSpec, Recipe, RecipeBook, RecipeError, RecipeExample, RecipeExtract, RewardLimits, VerifierKind,
};

use crate::sample::{LengthUnit, Sample, Verdict};

/// What the accuracy verifier concluded about one sample; every component can read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The answer read from the completion.
    pub extracted: Option<String>,
    /// A message when the verdict is an error or an invalid gold.
    pub error: Option<String>,
    /// Code verifier only: how many tests passed (None for math, or when no test ran).
    pub tests_passed: Option<u32>,
    /// Code verifier only: how many tests there were; `accuracy` with `mode = "fraction"` reads
    /// `tests_passed / tests_total` and gives a typed error when either is missing.
    pub tests_total: Option<u32>,
}

impl Judgement {
    /// A judgement with only a verdict (no extracted answer, no error, no test counts).
    pub fn of(verdict: Verdict) -> Judgement {
        Judgement { verdict, extracted: None, error: None, tests_passed: None, tests_total: None }
    }

    /// Whether the accuracy check passed.
    pub fn correct(&self) -> bool {
        self.verdict == Verdict::Correct
    }
}

/// Everything a component sees when it scores one sample.
#[derive(Debug, Clone, Copy)]
pub struct ScoreContext<'a> {
    /// The sample being scored.
    pub sample: &'a Sample,
    /// The accuracy verifier's verdict on it.
    pub judgement: &'a Judgement,
    /// The recipe's limits.
    pub limits: &'a RewardLimits,
}

impl<'a> ScoreContext<'a> {
    /// The completion text, or [`ScoreError::CompletionTooLong`] past `max_completion_bytes`.
    ///
    /// Components that scan the text read it through here, so the limit holds for all of them.
    pub fn completion(&self) -> Result<&'a str, ScoreError> {
        let text = self.sample.completion.as_str();
        if text.len() > self.limits.max_completion_bytes {
            return Err(ScoreError::CompletionTooLong { bytes: text.len(), limit: self.limits.max_completion_bytes });
        }
        Ok(text)
    }

    /// The completion's length in `unit` (see the module docs), and the unit actually used.
    pub fn length(&self, unit: UnitChoice) -> Result<(f64, LengthUnit), ScoreError> {
        let tokens = match self.sample.extra.get("completion_tokens") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or(ScoreError::InvalidField {
                field: "completion_tokens",
                message: format!("must be a non-negative integer, got {v}"),
            })?),
        };
        match (unit, tokens) {
            (UnitChoice::Tokens | UnitChoice::Auto, Some(n)) => Ok((n as f64, LengthUnit::Tokens)),
            (UnitChoice::Tokens, None) => Err(ScoreError::MissingTokenCount),
            (UnitChoice::Chars | UnitChoice::Auto, _) => {
                Ok((self.completion()?.chars().count() as f64, LengthUnit::Chars))
            }
        }
    }
}

/// Which length a length-based component measures (parameter `unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitChoice {
    /// Tokens when the sample has `completion_tokens`, else characters (the default).
    Auto,
    /// Always `completion_tokens`; a sample without it gets [`ScoreError::MissingTokenCount`].
    Tokens,
    /// Always characters (Unicode scalar values), ignoring `completion_tokens`.
    Chars,
}

impl UnitChoice {
    /// The documentation line shared by every component with a `unit` parameter.
    pub const DOC: ParamDoc = ParamDoc {
        name: "unit",
        default: "\"auto\"",
        doc: "\"auto\" (tokens when the sample has `completion_tokens`, else characters), \"tokens\" or \"chars\"",
    };

    /// Reads the `unit` parameter.
    pub fn from_params(params: &Params) -> Result<UnitChoice, ParamError> {
        match params.string("unit", "auto")? {
            "auto" => Ok(UnitChoice::Auto),
            "tokens" => Ok(UnitChoice::Tokens),
            "chars" => Ok(UnitChoice::Chars),
            other => Err(params.error("unit", format!("must be \"auto\", \"tokens\" or \"chars\", got \"{other}\""))),
        }
    }
}

/// A component's raw score, with the length unit when it measured one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// The raw score, before weighting.
    pub score: f64,
    /// The unit lengths were counted in, for length-based components.
    pub unit: Option<LengthUnit>,
}

impl From<f64> for Measured {
    fn from(score: f64) -> Measured {
        Measured { score, unit: None }
    }
}

/// Why a component could not score one sample; the sample gets an error outcome naming it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// A group-level component on a sample with neither `group` nor `prompt`.
    #[error("needs the sample's group: give each completion of one prompt the same `group` (or `prompt`) field")]
    NoGroup,
    /// The group found in the batch does not have the size the recipe expects.
    #[error("group has {found} samples in this batch, the recipe's `group_size` is {expected}")]
    GroupSizeMismatch {
        /// The recipe's `group_size`.
        expected: usize,
        /// The members found in the batch.
        found: usize,
    },
    /// The group is larger than [`RewardLimits::max_group_size`].
    #[error("group has {size} samples, over the limit max_group_size = {limit}")]
    GroupTooLarge {
        /// The members found.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The completion is longer than [`RewardLimits::max_completion_bytes`].
    #[error("completion is {bytes} bytes, over the limit max_completion_bytes = {limit}")]
    CompletionTooLong {
        /// The completion's length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// `unit = "tokens"` but the sample has no `completion_tokens`.
    #[error("unit is \"tokens\" but the sample has no `completion_tokens` field")]
    MissingTokenCount,
    /// `accuracy` with `mode = "fraction"` but the verifier reported no test counts.
    #[error("mode \"fraction\" needs the verifier's tests_passed/tests_total, which this verdict does not carry")]
    MissingTestCounts,
    /// Another member of the sample's group could not be measured, so no group statistic exists.
    #[error("group member {index} (0-based, in input order) could not be scored: {message}")]
    GroupMember {
        /// The failing member's position in the group.
        index: usize,
        /// Its error.
        message: String,
    },
    /// A group mixes token counts and character counts (some members lack `completion_tokens`).
    #[error("group mixes lengths in tokens and in characters; give every member `completion_tokens` or none")]
    MixedUnits,
    /// The component panicked or broke its contract; a bug, reported instead of a number.
    #[error("internal error: {0}")]
    Internal(String),
    /// A sample field a component reads has the wrong type.
    #[error("field `{field}` {message}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl ScoreError {
    /// Whether the error is a configured limit (reported as `limit_exceeded`, not `error`).
    pub fn is_limit(&self) -> bool {
        matches!(self, ScoreError::CompletionTooLong { .. } | ScoreError::GroupTooLarge { .. })
    }
}

/// Whether a component scores samples one at a time or a whole group at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// [`Scorer::score`] is called per sample.
    Sample,
    /// [`Scorer::score_group`] is called once per group (see the module docs).
    Group,
}

/// A component built with its recipe's parameters, ready to score; immutable, hence unwind-safe.
pub trait Scorer: Send + Sync + fmt::Debug + std::panic::RefUnwindSafe + std::panic::UnwindSafe {
    /// Whether this scorer needs the group.
    fn scope(&self) -> Scope {
        Scope::Sample
    }

    /// The raw score of one sample. Group-level scorers return [`ScoreError::NoGroup`] here.
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError>;

    /// The raw scores of one group, one per member in order; per-sample scorers score each alone.
    fn score_group(&self, group: &[ScoreContext<'_>]) -> Vec<Result<Measured, ScoreError>> {
        group.iter().map(|ctx| self.score(ctx)).collect()
    }
}

/// One reward component: a documented formula and its parameters.
pub trait RewardComponent: Send + Sync {
    /// The name recipes use (`accuracy`, `think_format`, …).
    fn name(&self) -> &'static str;
    /// What the component computes, with its formula.
    fn doc(&self) -> &'static str;
    /// The parameters it accepts; any other key in a recipe is a load error.
    fn params(&self) -> &'static [ParamDoc];
    /// Builds the scorer from checked parameters.
    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError>;
}

/// Every reward component, by name. Recipes may only name components listed here.
pub static COMPONENTS: &[&dyn RewardComponent] = &[
    &accuracy::Accuracy,
    &think_format::ThinkFormat,
    &answer_tags::AnswerTags,
    &tag_count::TagCount,
    &length::KimiLength,
    &length::CosineLength,
    &overlong::Overlong,
    &repetition::Repetition,
    &language::LanguageConsistency,
];

/// Looks a component up by name.
pub fn component(name: &str) -> Option<&'static dyn RewardComponent> {
    COMPONENTS.iter().copied().find(|c| c.name() == name)
}

/// Checks the parameter names against the component's table and builds its scorer.
pub fn build_component(component: &dyn RewardComponent, params: &toml::Table) -> Result<Arc<dyn Scorer>, ParamError> {
    for key in params.keys() {
        if !component.params().iter().any(|p| p.name == key) {
            let known: Vec<_> = component.params().iter().map(|p| p.name).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return Err(ParamError {
                key: key.clone(),
                message: format!("unknown parameter `{key}` for component `{}` (known: {known})", component.name()),
            });
        }
    }
    component.build(&Params::new(component.name(), params))
}
