//! Applying recipes to judged samples: per-sample components, then group-level ones.
//!
//! The engine judges every sample first (the expensive, parallel part), then hands the judged
//! samples here. Groups are formed as [the module docs](super) say — same recipe and same `group`
//! (else `prompt`) within this call — and each group-level component is called once per group.
//! Every component call runs under `catch_unwind`: a panic becomes that sample's (or that
//! group's) error outcome, never the batch's. When a component cannot score a sample, the sample's
//! reward is 0, its verdict `error` (or `limit_exceeded` for a configured limit) and `error` names
//! the component; the components that did score are still listed.
//!
//! A sample that could not be judged at all (unknown recipe, missing `answer`) never reaches
//! this stage, so it is not a member of its group; set the group components' `group_size` to
//! turn such a shrunken group into an error for every member instead of a statistic over fewer.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;

use super::{Judgement, Measured, Recipe, Scope, ScoreContext, ScoreError};
use crate::sample::{ComponentScore, Outcome, Sample, Verdict};

/// A sample with its recipe and the accuracy verifier's judgement, ready for its components.
#[derive(Debug, Clone)]
pub struct Judged<'a> {
    /// The sample.
    pub sample: &'a Sample,
    /// Its recipe.
    pub recipe: &'a Recipe,
    /// The accuracy verifier's judgement.
    pub judgement: Judgement,
}

impl Judged<'_> {
    fn context(&self) -> ScoreContext<'_> {
        ScoreContext { sample: self.sample, judgement: &self.judgement, limits: &self.recipe.limits }
    }
}

/// The key of a sample's group: its `group` field, else its `prompt` field (null counts as absent).
pub fn group_key(sample: &Sample) -> Option<String> {
    let field = |name: &str| sample.extra.get(name).filter(|v| !v.is_null());
    match (field("group"), field("prompt")) {
        (Some(group), _) => Some(format!("group:{group}")),
        (None, Some(prompt)) => Some(format!("prompt:{prompt}")),
        (None, None) => None,
    }
}

/// `(item index, component index)` → that component's score for that item.
type GroupScores = HashMap<(usize, usize), Result<Measured, ScoreError>>;

/// Scores every judged sample with its recipe's components; one outcome per item, in order.
pub fn score_judged(items: &[Judged<'_>]) -> Vec<Outcome> {
    let mut groups: HashMap<(&str, String), Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if item.recipe.needs_group()
            && let Some(key) = group_key(item.sample)
        {
            groups.entry((item.recipe.name.as_str(), key)).or_default().push(i);
        }
    }
    let group_scores: GroupScores = if groups.is_empty() {
        GroupScores::new()
    } else {
        groups.into_par_iter().flat_map_iter(|(_, members)| score_group(items, &members)).collect()
    };
    crate::batch::map_indexed(items, |i, item| assemble(i, item, &group_scores))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn score_group(items: &[Judged<'_>], members: &[usize]) -> Vec<((usize, usize), Result<Measured, ScoreError>)> {
    let Some(recipe) = members.first().map(|&i| items[i].recipe) else { return Vec::new() };
    let contexts: Vec<ScoreContext<'_>> = members.iter().map(|&i| items[i].context()).collect();
    let mut out = Vec::new();
    for (c, spec) in recipe.components.iter().enumerate() {
        if spec.scorer.scope() != Scope::Group {
            continue;
        }
        let results = if members.len() > recipe.limits.max_group_size {
            let err = ScoreError::GroupTooLarge { size: members.len(), limit: recipe.limits.max_group_size };
            vec![Err(err); members.len()]
        } else {
            match catch_unwind(AssertUnwindSafe(|| spec.scorer.score_group(&contexts))) {
                Ok(results) if results.len() == members.len() => results,
                Ok(results) => {
                    let err =
                        ScoreError::Internal(format!("{} scores for a group of {}", results.len(), members.len()));
                    vec![Err(err); members.len()]
                }
                Err(panic) => vec![Err(ScoreError::Internal(panic_message(&*panic))); members.len()],
            }
        };
        out.extend(members.iter().zip(results).map(|(&i, r)| ((i, c), r)));
    }
    out
}

fn assemble(index: usize, item: &Judged<'_>, group_scores: &GroupScores) -> Outcome {
    let ctx = item.context();
    let mut components = BTreeMap::new();
    let mut reward = 0.0;
    let mut failure: Option<(String, ScoreError)> = None;
    for (c, spec) in item.recipe.components.iter().enumerate() {
        let result = match spec.scorer.scope() {
            Scope::Group if group_key(item.sample).is_none() => Err(ScoreError::NoGroup),
            Scope::Group => group_scores
                .get(&(index, c))
                .cloned()
                .unwrap_or_else(|| Err(ScoreError::Internal("group score missing".into()))),
            Scope::Sample => catch_unwind(AssertUnwindSafe(|| spec.scorer.score(&ctx)))
                .unwrap_or_else(|panic| Err(ScoreError::Internal(panic_message(&*panic)))),
        };
        match result {
            Ok(m) => {
                reward += spec.weight * m.score;
                components.insert(
                    spec.name.clone(),
                    ComponentScore { score: m.score, weight: spec.weight, length_unit: m.unit },
                );
            }
            Err(err) => {
                failure.get_or_insert((spec.name.clone(), err));
            }
        }
    }
    let j = &item.judgement;
    match failure {
        None => Outcome {
            id: item.sample.id.clone(),
            reward,
            correct: j.correct(),
            verdict: j.verdict,
            components,
            extracted: j.extracted.clone(),
            error: j.error.clone(),
        },
        Some((name, err)) => Outcome {
            id: item.sample.id.clone(),
            reward: 0.0,
            correct: j.correct(),
            verdict: if err.is_limit() { Verdict::LimitExceeded } else { Verdict::Error },
            components,
            extracted: j.extracted.clone(),
            error: Some(format!("component `{name}`: {err}")),
        },
    }
}
