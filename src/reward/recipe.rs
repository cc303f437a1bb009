//! Declarative reward recipes (`verifiers/*.toml`).
//!
//! ```toml
//! name = "r1-math"
//! description = "DeepSeek-R1: accuracy plus the think format."
//! verifier = "math"
//!
//! [limits]                      # optional; see RewardLimits for every key and its default
//! max_completion_bytes = 1048576
//!
//! [[component]]
//! name = "accuracy"
//! weight = 1.0
//!
//! [[component]]
//! name = "think_format"
//! weight = 0.5
//! params = { mode = "strict" }
//!
//! [[example]]                   # scored by the test suite: the recipe documents itself
//! completion = "<think>\n2+2=4\n</think>\n\\boxed{4}"
//! answer = "4"
//! verdict = "correct"
//! reward = 1.5
//! components = { accuracy = 1.0, think_format = 1.0 }
//! ```
//!
//! Everything is checked when the file is loaded — unknown keys at any level, unknown
//! components, unknown or ill-typed parameters, non-finite weights, limits, examples naming
//! components the recipe lacks — and reported as a [`RecipeError`] with the file, the 1-based line
//! and the key, before any sample is scored. Each component is built once here, so scoring never
//! touches TOML again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use toml::Spanned;

use super::{Judgement, Scorer};
use crate::sample::{Sample, Verdict};

/// Which accuracy verifier a recipe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifierKind {
    /// The math answer verifier (needs `answer`).
    Math,
    /// The code verifier (needs `tests`).
    Code,
}

/// Limits on the work reward components do for one sample; a recipe's `[limits]` table sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardLimits {
    /// Longest completion, in bytes, that a text-reading component (format, repetition, language,
    /// character lengths) scans. Default 1 MiB (1 048 576). At the limit the sample is scored;
    /// one byte past, its outcome is `limit_exceeded` naming the component. The accuracy
    /// verifier has its own limits.
    pub max_completion_bytes: usize,
    /// Most members of one group a group-level component compares. Default 4096. One past, every
    /// member of that group gets a `limit_exceeded` outcome.
    pub max_group_size: usize,
}

impl Default for RewardLimits {
    fn default() -> Self {
        RewardLimits { max_completion_bytes: 1 << 20, max_group_size: 4096 }
    }
}

/// How a math recipe reads completions; its `[extract]` table sets these over the engine's
/// [`crate::extract::ExtractConfig`] (unset keys keep the engine's setting).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecipeExtract {
    /// Reasoning marker pairs by name: `"think"` (`<think>`), `"thought"` (`<|begin_of_thought|>`,
    /// Sky-T1 and QwQ-distilled models), `"reasoning"` (`<reasoning>`). Default: all three.
    pub reasoning: Option<Vec<String>>,
    /// Several boxed answers: `"last"`, `"reject_hedging"` (the default) or `"reject"`.
    pub multiple_boxes: Option<crate::extract::MultipleBoxes>,
}

impl RecipeExtract {
    /// The engine's extraction settings with this table's keys applied; `None` when the table sets
    /// nothing (the engine's settings are used as they are).
    pub fn apply(&self, base: &crate::extract::ExtractConfig) -> Option<crate::extract::ExtractConfig> {
        if self.reasoning.is_none() && self.multiple_boxes.is_none() {
            return None;
        }
        let mut config = base.clone();
        if let Some(names) = &self.reasoning {
            config.reasoning = names.iter().filter_map(|n| crate::extract::ReasoningMarkers::named(n)).collect();
        }
        if let Some(policy) = self.multiple_boxes {
            config.multiple_boxes = policy;
        }
        Some(config)
    }
}

/// One weighted component of a recipe, built and ready to score.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    /// A name from [`super::COMPONENTS`]; unique within the recipe.
    pub name: String,
    /// The weight; the reward is `Σ weight · score`.
    pub weight: f64,
    /// Parameters passed to the component, as written.
    pub params: toml::Table,
    /// The component built with those parameters.
    pub scorer: Arc<dyn Scorer>,
}

impl PartialEq for ComponentSpec {
    /// Two specs are equal when name, weight and parameters are: the scorer follows from them.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.weight == other.weight && self.params == other.params
    }
}

/// A worked example in a recipe: one sample, the verdict it should get and the reward it must score.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeExample {
    /// The completion.
    pub completion: String,
    /// The gold answer (math recipes).
    #[serde(default)]
    pub answer: Option<String>,
    /// The code tests (code recipes), as the sample's `tests` object.
    #[serde(default)]
    pub tests: Option<toml::Table>,
    /// Other sample fields: `group`, `prompt`, `completion_tokens`, …
    #[serde(default)]
    pub fields: toml::Table,
    /// The accuracy verdict the verifier must reach.
    pub verdict: Verdict,
    /// Code only: tests passed, as the code verifier reports them.
    #[serde(default)]
    pub tests_passed: Option<u32>,
    /// Code only: tests run.
    #[serde(default)]
    pub tests_total: Option<u32>,
    /// The expected reward.
    pub reward: f64,
    /// Expected raw scores of some or all components, by name.
    #[serde(default)]
    pub components: BTreeMap<String, f64>,
    /// What the example shows.
    #[serde(default)]
    pub note: Option<String>,
}

impl RecipeExample {
    /// The sample this example stands for (`id` is `"<recipe>#<index>"`, `recipe` is set).
    pub fn to_sample(&self, recipe: &str, index: usize) -> Sample {
        let json = |t: &toml::Table| serde_json::to_value(t).unwrap_or(Value::Null);
        let extra = match json(&self.fields) {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        Sample {
            id: Value::String(format!("{recipe}#{index}")),
            completion: self.completion.clone(),
            answer: self.answer.clone(),
            tests: self.tests.as_ref().map(json),
            language: None,
            recipe: Some(recipe.to_string()),
            extra,
        }
    }

    /// The judgement the example states, for scoring its components without running a verifier.
    pub fn judgement(&self) -> Judgement {
        Judgement { tests_passed: self.tests_passed, tests_total: self.tests_total, ..Judgement::of(self.verdict) }
    }
}

/// A named, documented way to turn a sample into a reward.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// The name samples use in `recipe`.
    pub name: String,
    /// What the recipe is for, shown by `rlvr recipes`.
    pub description: String,
    /// The accuracy verifier.
    pub verifier: VerifierKind,
    /// The weighted components, in file order.
    pub components: Vec<ComponentSpec>,
    /// Limits for the components.
    pub limits: RewardLimits,
    /// Worked examples, checked by the test suite.
    pub examples: Vec<RecipeExample>,
    /// How a math recipe reads completions (its `[extract]` table).
    pub extract: RecipeExtract,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    name: Spanned<String>,
    #[serde(default)]
    weight: Option<Spanned<f64>>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    name: Spanned<String>,
    description: String,
    verifier: VerifierKind,
    #[serde(default, rename = "component")]
    components: Vec<RawComponent>,
    #[serde(default)]
    limits: Option<Spanned<RewardLimits>>,
    #[serde(default)]
    extract: Option<Spanned<RecipeExtract>>,
    #[serde(default, rename = "example")]
    examples: Vec<Spanned<RecipeExample>>,
}

/// Why a recipe file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid recipe.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem (1 when unknown).
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Two recipes share a name.
    #[error("{path}: recipe `{name}` is already defined")]
    Duplicate {
        /// The second file.
        path: PathBuf,
        /// The name.
        name: String,
    },
}

/// The recipes compiled into the binary: `(file name, TOML text)`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("code.toml", include_str!("../../verifiers/code.toml")),
    ("code-partial.toml", include_str!("../../verifiers/code-partial.toml")),
    ("dapo-math.toml", include_str!("../../verifiers/dapo-math.toml")),
    ("gsm8k.toml", include_str!("../../verifiers/gsm8k.toml")),
    ("math.toml", include_str!("../../verifiers/math.toml")),
    ("r1-code.toml", include_str!("../../verifiers/r1-code.toml")),
    ("r1-math.toml", include_str!("../../verifiers/r1-math.toml")),
    ("r1-math-shaped.toml", include_str!("../../verifiers/r1-math-shaped.toml")),
];

impl Recipe {
    /// Parses, checks and builds one recipe file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Recipe, RecipeError> {
        // Counted on bytes, so an offset inside a multi-byte character cannot panic.
        let line_of = |offset: usize| text.as_bytes().iter().take(offset).filter(|&&b| b == b'\n').count() + 1;
        let invalid = |offset: usize, message: String| RecipeError::Invalid {
            path: path.to_owned(),
            line: line_of(offset),
            message,
        };
        let raw: RawRecipe =
            toml::from_str(text).map_err(|e| invalid(e.span().map_or(0, |s| s.start), e.message().to_owned()))?;
        let name_at = raw.name.span().start;
        let name = raw.name.into_inner();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid(name_at, format!("name: `{name}` must be non-empty ASCII letters, digits, - or _")));
        }
        if raw.components.is_empty() {
            return Err(invalid(name_at, "a recipe needs at least one [[component]]".into()));
        }
        let mut components: Vec<ComponentSpec> = Vec::with_capacity(raw.components.len());
        for c in raw.components {
            let at = c.name.span().start;
            let cname = c.name.into_inner();
            let Some(component) = super::component(&cname) else {
                let known: Vec<_> = super::COMPONENTS.iter().map(|c| c.name()).collect();
                return Err(invalid(
                    at,
                    format!("component.name: unknown component `{cname}` (known: {})", known.join(", ")),
                ));
            };
            if components.iter().any(|s| s.name == cname) {
                return Err(invalid(at, format!("component.name: `{cname}` appears twice; give it one weight")));
            }
            let weight = match c.weight {
                Some(w) if !w.get_ref().is_finite() => {
                    return Err(invalid(w.span().start, format!("component `{cname}`: weight must be finite")));
                }
                Some(w) => w.into_inner(),
                None => 1.0,
            };
            let spans: BTreeMap<String, usize> = c.params.iter().map(|(k, v)| (k.clone(), v.span().start)).collect();
            let params: toml::Table = c.params.into_iter().map(|(k, v)| (k, v.into_inner())).collect();
            let scorer = super::build_component(component, &params).map_err(|e| {
                let at = spans.get(&e.key).copied().unwrap_or(at);
                invalid(at, format!("component.{e}"))
            })?;
            components.push(ComponentSpec { name: cname, weight, params, scorer });
        }
        let limits = match raw.limits {
            None => RewardLimits::default(),
            Some(l) => {
                let at = l.span().start;
                let limits = l.into_inner();
                if limits.max_completion_bytes == 0 || limits.max_group_size == 0 {
                    return Err(invalid(
                        at,
                        "limits: max_completion_bytes and max_group_size must be at least 1".into(),
                    ));
                }
                limits
            }
        };
        let mut examples = Vec::with_capacity(raw.examples.len());
        for e in raw.examples {
            let at = e.span().start;
            let example = e.into_inner();
            if let Some(unknown) = example.components.keys().find(|k| !components.iter().any(|c| &c.name == *k)) {
                return Err(invalid(
                    at,
                    format!("example.components: `{unknown}` is not a component of recipe `{name}`"),
                ));
            }
            let reserved = ["id", "completion", "answer", "tests", "language", "recipe"];
            if let Some(key) = example.fields.keys().find(|k| reserved.contains(&k.as_str())) {
                return Err(invalid(at, format!("example.fields.{key}: set `{key}` on the example itself")));
            }
            if !example.reward.is_finite() {
                return Err(invalid(at, "example.reward must be finite".into()));
            }
            examples.push(example);
        }
        let extract = match raw.extract {
            None => RecipeExtract::default(),
            Some(x) => {
                let at = x.span().start;
                let x = x.into_inner();
                if let Some(bad) =
                    x.reasoning.iter().flatten().find(|n| crate::extract::ReasoningMarkers::named(n).is_none())
                {
                    return Err(invalid(
                        at,
                        format!("extract.reasoning: unknown markers `{bad}` (known: think, thought, reasoning)"),
                    ));
                }
                if raw.verifier != VerifierKind::Math {
                    return Err(invalid(at, "extract: only a math recipe reads answers".into()));
                }
                x
            }
        };
        Ok(Recipe { name, description: raw.description, verifier: raw.verifier, components, limits, examples, extract })
    }

    /// Whether any component needs the group (see [`super::Scope::Group`]).
    pub fn needs_group(&self) -> bool {
        self.components.iter().any(|c| c.scorer.scope() == super::Scope::Group)
    }
}

/// All recipes available to the engine, by name.
#[derive(Debug, Clone)]
pub struct RecipeBook {
    recipes: BTreeMap<String, Recipe>,
}

impl RecipeBook {
    /// The built-in recipes from `verifiers/`.
    pub fn builtin() -> Result<RecipeBook, RecipeError> {
        let mut book = RecipeBook { recipes: BTreeMap::new() };
        for (file, text) in BUILTIN {
            let path = Path::new("verifiers").join(file);
            book.insert(Recipe::parse(&path, text)?, &path)?;
        }
        Ok(book)
    }

    /// Adds every `*.toml` recipe in `dir`; a user recipe may not reuse a built-in name.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), RecipeError> {
        let io = |source| RecipeError::Io { path: dir.to_owned(), source };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text =
                std::fs::read_to_string(&path).map_err(|source| RecipeError::Io { path: path.clone(), source })?;
            let recipe = Recipe::parse(&path, &text)?;
            self.insert(recipe, &path)?;
        }
        Ok(())
    }

    fn insert(&mut self, recipe: Recipe, path: &Path) -> Result<(), RecipeError> {
        if self.recipes.contains_key(&recipe.name) {
            return Err(RecipeError::Duplicate { path: path.to_owned(), name: recipe.name });
        }
        self.recipes.insert(recipe.name.clone(), recipe);
        Ok(())
    }

    /// Looks a recipe up by name.
    pub fn get(&self, name: &str) -> Option<&Recipe> {
        self.recipes.get(name)
    }

    /// Every recipe, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Recipe> {
        self.recipes.values()
    }
}
