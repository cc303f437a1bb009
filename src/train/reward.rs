//! Rewards for rollouts, from the same [`Engine::score_batch`] path that `rlvr score` and the
//! server use, so the trainer never re-implements a verifier.
//!
//! Each rollout becomes a [`Sample`] with its completion, the dataset's gold answer, the recipe
//! (e.g. `r1-math`) and the prompt as an extra field; the engine's [`crate::Outcome`] gives the
//! weighted reward, the verdict and every component's raw score, which the trainer logs per
//! component as TRL logs `rewards/<name>/mean`. A sample the engine cannot judge scores 0 and is
//! counted (`errors`), as a failing sample is a verdict, never a crash.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::batch::Engine;
use crate::sample::{Sample, Verdict};

use super::TrainError;

/// One completion to score.
#[derive(Debug, Clone, Copy)]
pub struct RewardItem<'a> {
    /// The prompt text (passed to the engine as the `prompt` field).
    pub prompt: &'a str,
    /// The decoded completion.
    pub completion: &'a str,
    /// The gold answer.
    pub answer: &'a str,
}

/// The score of one completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCompletion {
    /// The weighted reward the advantages are computed from.
    pub reward: f64,
    /// Whether the accuracy check passed.
    pub correct: bool,
    /// Each component's raw (unweighted) score.
    pub components: BTreeMap<String, f64>,
    /// Whether the engine returned an error verdict.
    pub error: bool,
}

/// Anything that scores a batch of completions, one result per item in order.
pub trait RewardSource: Sync {
    /// Scores a batch.
    fn score(&self, items: &[RewardItem<'_>]) -> Vec<ScoredCompletion>;
}

/// Rewards from the rlvr engine with one recipe.
#[derive(Debug, Clone)]
pub struct EngineRewards {
    engine: Engine,
    recipe: String,
}

impl EngineRewards {
    /// Rewards from `engine` under `recipe`; an unknown recipe is a configuration error.
    pub fn new(engine: Engine, recipe: &str) -> Result<EngineRewards, TrainError> {
        if engine.recipes().get(recipe).is_none() {
            let known: Vec<&str> = engine.recipes().iter().map(|r| r.name.as_str()).collect();
            return Err(TrainError::Config(format!("unknown recipe `{recipe}` (known: {})", known.join(", "))));
        }
        Ok(EngineRewards { engine, recipe: recipe.to_string() })
    }

    /// The recipe's name.
    pub fn recipe(&self) -> &str {
        &self.recipe
    }
}

impl RewardSource for EngineRewards {
    fn score(&self, items: &[RewardItem<'_>]) -> Vec<ScoredCompletion> {
        let samples: Vec<Sample> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut sample = Sample::math(i as u64, item.completion, item.answer);
                sample.recipe = Some(self.recipe.clone());
                sample.extra.insert("prompt".into(), Value::String(item.prompt.to_string()));
                sample
            })
            .collect();
        self.engine
            .score_batch(&samples)
            .into_iter()
            .map(|o| ScoredCompletion {
                reward: if o.reward.is_finite() { o.reward } else { 0.0 },
                correct: o.correct,
                components: o.components.iter().map(|(k, c)| (k.clone(), c.score)).collect(),
                error: o.verdict == Verdict::Error,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::EngineConfig;

    #[test]
    fn unknown_recipe_is_a_config_error_and_every_item_gets_a_result() {
        let engine = Engine::new(EngineConfig::default()).unwrap();
        assert!(matches!(EngineRewards::new(engine.clone(), "no-such-recipe"), Err(TrainError::Config(_))));
        let rewards = EngineRewards::new(engine, "math").unwrap();
        let items = [
            RewardItem { prompt: "1+1=", completion: "\\boxed{2}", answer: "2" },
            RewardItem { prompt: "1+1=", completion: "no answer here", answer: "2" },
        ];
        let scored = rewards.score(&items);
        assert_eq!(scored.len(), 2);
        assert!(scored.iter().all(|s| s.reward.is_finite()));
    }
}
