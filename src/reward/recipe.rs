//! Declarative reward recipes (`verifiers/*.toml`).
//!
//! ```toml
//! name = "r1-math"
//! description = "DeepSeek-R1: accuracy plus the think format."
//! verifier = "math"
//!
//! [[component]]
//! name = "accuracy"
//! weight = 1.0
//! ```
//!
//! Recipes are checked when loaded (unknown keys, unknown components, bad weights), so a broken
//! file is reported with its path and line before any sample is scored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Which accuracy verifier a recipe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifierKind {
    /// The math answer verifier (needs `answer`).
    Math,
    /// The code verifier (needs `tests`).
    Code,
}

/// One weighted component of a recipe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    /// A name from [`super::COMPONENTS`].
    pub name: String,
    /// The weight; the reward is `Σ weight · score`.
    #[serde(default = "one")]
    pub weight: f64,
    /// Parameters passed to the component.
    #[serde(default)]
    pub params: toml::Table,
}

fn one() -> f64 {
    1.0
}

/// A named, documented way to turn a sample into a reward.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The name samples use in `recipe`.
    pub name: String,
    /// What the recipe is for, shown by `rlvr recipes`.
    pub description: String,
    /// The accuracy verifier.
    pub verifier: VerifierKind,
    /// The weighted components.
    #[serde(rename = "component")]
    pub components: Vec<ComponentSpec>,
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
const BUILTIN: &[(&str, &str)] = &[
    ("math.toml", include_str!("../../verifiers/math.toml")),
    ("code.toml", include_str!("../../verifiers/code.toml")),
];

impl Recipe {
    /// Parses and checks one recipe file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Recipe, RecipeError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let recipe: Recipe = toml::from_str(text).map_err(|e| RecipeError::Invalid {
            path: path.to_owned(),
            line: e.span().map_or(1, |s| line_of(s.start)),
            message: e.message().to_owned(),
        })?;
        let invalid = |key: &str, message: String| {
            let line = text.find(key).map_or(1, line_of);
            RecipeError::Invalid { path: path.to_owned(), line, message }
        };
        if recipe.components.is_empty() {
            return Err(invalid("name", "a recipe needs at least one [[component]]".into()));
        }
        for spec in &recipe.components {
            if super::component(&spec.name).is_none() {
                let known: Vec<_> = super::COMPONENTS.iter().map(|c| c.name()).collect();
                return Err(invalid(
                    &format!("\"{}\"", spec.name),
                    format!("component.name: unknown component `{}` (known: {})", spec.name, known.join(", ")),
                ));
            }
            if !spec.weight.is_finite() {
                return Err(invalid("weight", format!("component `{}`: weight must be finite", spec.name)));
            }
        }
        Ok(recipe)
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
            book.insert(Recipe::parse(&Path::new("verifiers").join(file), text)?, Path::new(file))?;
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
