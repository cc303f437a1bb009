//! The batch engine: score many samples in parallel, one outcome per sample, in input order.
//!
//! Every sample is judged under `catch_unwind`, so an internal bug in one verifier becomes that
//! sample's `error` verdict, never the batch's. Gold answers are parsed once per distinct gold
//! and shared across the batch: a GRPO group re-checks the same gold 8–64 times.
//!
//! Scoring has two stages. First every sample is judged by its recipe's accuracy verifier, in
//! parallel. Then [`crate::reward::score_judged`] runs the recipes' components: per-sample ones
//! in parallel, group-level ones (Kimi's length reward) once per group of this batch. The
//! judging stage is where the time goes; the split is what lets a component see its group.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use serde_json::Value;

use crate::math::{self, Gold, MathConfig, MathError};
use crate::reward::{Judged, Judgement, Recipe, RecipeBook, RecipeError, VerifierKind, score_judged};
use crate::sample::{Outcome, Sample, Verdict};

/// How the engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Math verifier settings.
    pub math: MathConfig,
    /// Code verifier settings (limits).
    pub code: crate::code::CodeConfig,
    /// Recipe for samples that name none (otherwise: `math` when the sample has an `answer`).
    pub default_recipe: Option<String>,
}

/// Scores samples. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    recipes: RecipeBook,
}

/// Parses one JSONL line into a sample, or the error outcome that stands in its place.
pub fn parse_line(line: &str) -> Result<Sample, Outcome> {
    Sample::from_line(line).map_err(|(id, err)| Outcome::error(id, err.to_string()))
}

type GoldCache = HashMap<String, Result<Gold, MathError>>;

impl Engine {
    /// An engine with the built-in recipes.
    pub fn new(config: EngineConfig) -> Result<Engine, RecipeError> {
        Ok(Engine { config, recipes: RecipeBook::builtin()? })
    }

    /// An engine with the given recipes.
    pub fn with_recipes(config: EngineConfig, recipes: RecipeBook) -> Engine {
        Engine { config, recipes }
    }

    /// The recipes this engine knows.
    pub fn recipes(&self) -> &RecipeBook {
        &self.recipes
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Scores one sample.
    pub fn score(&self, sample: &Sample) -> Outcome {
        self.score_batch(std::slice::from_ref(sample))
            .pop()
            .unwrap_or_else(|| Outcome::error(sample.id.clone(), "internal: no outcome"))
    }

    /// Scores a batch in parallel; the outcomes are in input order, one per sample.
    ///
    /// Samples are judged first, all in parallel; then each recipe's components run, the
    /// group-level ones once per group of this batch (see [`crate::reward`] for what a group is).
    pub fn score_batch(&self, samples: &[Sample]) -> Vec<Outcome> {
        let golds = self.parse_golds(samples);
        let judged: Vec<Result<Judged<'_>, Outcome>> =
            samples.par_iter().map(|sample| self.judge_guarded(sample, &golds)).collect();
        let ready: Vec<Judged<'_>> = judged.iter().filter_map(|j| j.as_ref().ok().cloned()).collect();
        let mut scored = score_judged(&ready).into_iter();
        judged
            .into_iter()
            .map(|j| match j {
                Ok(_) => scored.next().unwrap_or_else(|| Outcome::error(Value::Null, "internal: outcome missing")),
                Err(outcome) => outcome,
            })
            .collect()
    }

    /// Parses each JSONL line and scores the good ones; a bad line gets its own error outcome.
    pub fn score_lines<S: AsRef<str> + Sync>(&self, lines: &[S]) -> Vec<Outcome> {
        self.score_parsed(lines.par_iter().map(|line| parse_line(line.as_ref())).collect())
    }

    /// Scores the samples among `parsed`, keeping the error outcomes where they stand.
    pub fn score_parsed(&self, parsed: Vec<Result<Sample, Outcome>>) -> Vec<Outcome> {
        let good: Vec<Sample> = parsed.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
        let mut scored = self.score_batch(&good).into_iter();
        parsed
            .into_iter()
            .map(|r| match r {
                Ok(_) => scored.next().unwrap_or_else(|| Outcome::error(Value::Null, "internal: outcome missing")),
                Err(outcome) => outcome,
            })
            .collect()
    }

    fn parse_golds(&self, samples: &[Sample]) -> GoldCache {
        let mut distinct: Vec<&str> = samples.iter().filter_map(|s| s.answer.as_deref()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        distinct
            .par_iter()
            .filter_map(|answer| {
                let parsed = catch_unwind(|| math::parse_gold(answer, &self.config.math)).ok()?;
                Some((answer.to_string(), parsed))
            })
            .collect()
    }

    fn judge_guarded<'a>(&'a self, sample: &'a Sample, golds: &GoldCache) -> Result<Judged<'a>, Outcome> {
        match catch_unwind(AssertUnwindSafe(|| self.judge_one(sample, golds))) {
            Ok(Ok(judged)) => Ok(judged),
            Ok(Err(message)) => Err(Outcome::error(sample.id.clone(), message)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(Outcome::error(sample.id.clone(), format!("internal error while scoring: {what}")))
            }
        }
    }

    fn recipe_for(&self, sample: &Sample) -> Result<&Recipe, String> {
        let name = match (&sample.recipe, &self.config.default_recipe) {
            (Some(name), _) | (None, Some(name)) => name.as_str(),
            (None, None) if sample.answer.is_some() => "math",
            (None, None) if sample.tests.is_some() => "code",
            (None, None) => return Err("sample has neither `answer` nor `tests`, and no `recipe` was given".into()),
        };
        self.recipes.get(name).ok_or_else(|| format!("unknown recipe `{name}`"))
    }

    fn judge_one<'a>(&'a self, sample: &'a Sample, golds: &GoldCache) -> Result<Judged<'a>, String> {
        // Test-only hook: a sample carrying `rlvr_test_panic` panics inside the verifier stage, so the
        // reliability suite can show that a panic stays that sample's `error`. Never in release builds.
        #[cfg(any(test, feature = "test-hooks"))]
        if let Some(message) = sample.extra.get("rlvr_test_panic") {
            panic!("test hook: {message}");
        }
        let recipe = self.recipe_for(sample)?;
        let judgement = match recipe.verifier {
            VerifierKind::Math => self.judge_math(sample, golds, &recipe.name)?,
            VerifierKind::Code => self.judge_code(sample),
        };
        Ok(Judged { sample, recipe, judgement })
    }

    fn judge_code(&self, sample: &Sample) -> Judgement {
        let report = crate::code::judge(sample, &self.config.code);
        // A compile error or a sample-level error ran no test: the pass fraction is then absent,
        // so a fraction recipe reports it instead of inventing 0 of 0.
        let counted = report.total > 0;
        Judgement {
            verdict: report.verdict,
            extracted: None,
            error: report.error,
            tests_passed: counted.then(|| u32::try_from(report.passed).unwrap_or(u32::MAX)),
            tests_total: counted.then(|| u32::try_from(report.total).unwrap_or(u32::MAX)),
        }
    }

    fn judge_math(&self, sample: &Sample, golds: &GoldCache, recipe: &str) -> Result<Judgement, String> {
        let answer = sample.answer.as_deref().ok_or_else(|| format!("recipe `{recipe}` needs the field `answer`"))?;
        let parsed;
        let gold = match golds.get(answer) {
            Some(gold) => gold,
            None => {
                parsed = math::parse_gold(answer, &self.config.math);
                &parsed
            }
        };
        Ok(match gold {
            Ok(gold) => {
                let check = math::verify(gold, &sample.completion, &self.config.math);
                Judgement { extracted: check.extracted, ..Judgement::of(check.verdict) }
            }
            Err(err) => {
                Judgement { error: Some(format!("invalid gold answer: {err}")), ..Judgement::of(Verdict::InvalidGold) }
            }
        })
    }
}
