//! Reward components and the recipes that weight them.
//!
//! A *component* turns one judged sample into a raw score (see [`RewardComponent`]); every
//! component is registered once in [`COMPONENTS`]. A *recipe* ([`Recipe`]) names the accuracy
//! verifier and a weighted list of components; the reward is `Σ weight · score`. Built-in recipes
//! live in `verifiers/*.toml` and are compiled into the binary, so the engine runs on embedded
//! defaults with no files beside it.

pub mod accuracy;
pub mod recipe;

pub use recipe::{ComponentSpec, Recipe, RecipeBook, RecipeError, VerifierKind};

use crate::sample::{Sample, Verdict};

/// What the accuracy verifier concluded about one sample; every component can read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The answer read from the completion.
    pub extracted: Option<String>,
    /// A message when the verdict is an error or an invalid gold.
    pub error: Option<String>,
}

impl Judgement {
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
    /// The component's parameters from the recipe.
    pub params: &'a toml::Table,
}

/// One reward component: a documented formula from a judged sample to a raw score.
pub trait RewardComponent: Send + Sync {
    /// The name recipes use (`accuracy`, `think_format`, …).
    fn name(&self) -> &'static str;
    /// What the component computes, with its formula.
    fn doc(&self) -> &'static str;
    /// The raw score of one sample.
    fn score(&self, ctx: &ScoreContext<'_>) -> f64;
}

/// Every reward component, by name. Recipes may only name components listed here.
pub static COMPONENTS: &[&dyn RewardComponent] = &[&accuracy::Accuracy];

/// Looks a component up by name.
pub fn component(name: &str) -> Option<&'static dyn RewardComponent> {
    COMPONENTS.iter().copied().find(|c| c.name() == name)
}
