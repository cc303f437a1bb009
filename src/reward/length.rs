//! Length shaping: `length` (Kimi-1.5, group-level) and `cosine_length` ("Demystifying Long CoT").
//!
//! `length` — Kimi k1.5's length reward (arXiv:2501.12599 §2.3.3), as open-r1's `len_reward`.
//! Within one group (see [the module docs](super)), with `len` the completion's length and
//! `min`/`max` the group's extremes: `λ = 0.5 − (len − min) / (max − min)`; a correct sample scores
//! `λ`, any other scores `min(0, λ)`; when every member has the same length all score 0. The
//! group is required: on a sample with no `group`/`prompt` it is a typed error, since a group of
//! one would always give 0. Every member must be measured in the same unit.
//!
//! `cosine_length` — the cosine length-scaling reward of "Demystifying Long Chain-of-Thought
//! Reasoning" (arXiv:2502.03373, Eq. 1), as open-r1's `get_cosine_scaled_reward`. With
//! `p = min(len / max_len, 1)` and `c = cos(p·π)`: a correct sample scores
//! `min_value_correct + ½(max_value_correct − min_value_correct)(1 + c)` (short is best), any other
//! scores `max_value_wrong + ½(min_value_wrong − max_value_wrong)(1 + c)` (short is worst). It
//! reads one sample only: the schedule is fixed by `max_len`, not by the group. open-r1 does not
//! clamp `p`, so past `2·max_len` its cosine climbs back and a very long correct answer is
//! rewarded as if it were short; we clamp at `max_len` (the paper's `L_max`), and the test data
//! records both numbers.

use std::sync::Arc;

use super::{
    Measured, ParamDoc, ParamError, Params, RewardComponent, Scope, ScoreContext, ScoreError, Scorer, UnitChoice,
};

/// Kimi-1.5's group length reward.
pub struct KimiLength;

/// The cosine-scaled correctness/length reward.
pub struct CosineLength;

const KIMI_PARAMS: &[ParamDoc] = &[
    UnitChoice::DOC,
    ParamDoc {
        name: "group_size",
        default: "none",
        doc: "when set, a group with another number of members in the batch is an error (catches split groups)",
    },
];

const COSINE_PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "min_value_wrong", default: "-1.0", doc: "score of the shortest wrong completion" },
    ParamDoc { name: "max_value_wrong", default: "-0.5", doc: "score of a wrong completion at max_len" },
    ParamDoc { name: "min_value_correct", default: "0.5", doc: "score of a correct completion at max_len" },
    ParamDoc { name: "max_value_correct", default: "1.0", doc: "score of the shortest correct completion" },
    ParamDoc { name: "max_len", default: "1000", doc: "length where the cosine schedule ends (must be > 0)" },
    UnitChoice::DOC,
];

/// The built Kimi length scorer.
#[derive(Debug, Clone, PartialEq)]
struct KimiScorer {
    unit: UnitChoice,
    group_size: Option<usize>,
}

/// The built cosine scorer.
#[derive(Debug, Clone, PartialEq)]
struct CosineScorer {
    min_value_wrong: f64,
    max_value_wrong: f64,
    min_value_correct: f64,
    max_value_correct: f64,
    max_len: f64,
    unit: UnitChoice,
}

impl RewardComponent for KimiLength {
    fn name(&self) -> &'static str {
        "length"
    }

    fn doc(&self) -> &'static str {
        "Kimi-1.5 group length reward: lambda = 0.5 - (len - min) / (max - min) over the group; \
         correct: lambda, otherwise min(0, lambda); 0 when all lengths are equal (needs `group` or `prompt`)"
    }

    fn params(&self) -> &'static [ParamDoc] {
        KIMI_PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let group_size = params.count_opt("group_size")?;
        if group_size == Some(0) {
            return Err(params.error("group_size", "must be at least 1"));
        }
        Ok(Arc::new(KimiScorer { unit: UnitChoice::from_params(params)?, group_size }))
    }
}

impl RewardComponent for CosineLength {
    fn name(&self) -> &'static str {
        "cosine_length"
    }

    fn doc(&self) -> &'static str {
        "cosine length scaling: c = cos(pi * min(len / max_len, 1)); correct: min_value_correct + \
         (max_value_correct - min_value_correct)(1 + c)/2, otherwise max_value_wrong + (min_value_wrong - \
         max_value_wrong)(1 + c)/2"
    }

    fn params(&self) -> &'static [ParamDoc] {
        COSINE_PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let max_len = params.float("max_len", 1000.0)?;
        if max_len <= 0.0 {
            return Err(params.error("max_len", format!("must be positive, got {max_len}")));
        }
        Ok(Arc::new(CosineScorer {
            min_value_wrong: params.float("min_value_wrong", -1.0)?,
            max_value_wrong: params.float("max_value_wrong", -0.5)?,
            min_value_correct: params.float("min_value_correct", 0.5)?,
            max_value_correct: params.float("max_value_correct", 1.0)?,
            max_len,
            unit: UnitChoice::from_params(params)?,
        }))
    }
}

impl Scorer for KimiScorer {
    fn scope(&self) -> Scope {
        Scope::Group
    }

    fn score(&self, _ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        Err(ScoreError::NoGroup)
    }

    fn score_group(&self, group: &[ScoreContext<'_>]) -> Vec<Result<Measured, ScoreError>> {
        let fail_all = |err: ScoreError| group.iter().map(|_| Err(err.clone())).collect();
        if let Some(expected) = self.group_size.filter(|&n| n != group.len()) {
            return fail_all(ScoreError::GroupSizeMismatch { expected, found: group.len() });
        }
        let measured: Vec<_> = group.iter().map(|ctx| ctx.length(self.unit)).collect();
        if let Some((index, err)) = measured.iter().enumerate().find_map(|(i, m)| m.as_ref().err().map(|e| (i, e))) {
            return (0..group.len())
                .map(|i| match &measured[i] {
                    Err(own) => Err(own.clone()),
                    Ok(_) => Err(ScoreError::GroupMember { index, message: err.to_string() }),
                })
                .collect();
        }
        let lengths: Vec<_> = measured.into_iter().flatten().collect();
        let Some(&(_, unit)) = lengths.first() else { return Vec::new() };
        if lengths.iter().any(|&(_, u)| u != unit) {
            return fail_all(ScoreError::MixedUnits);
        }
        let min = lengths.iter().map(|&(l, _)| l).fold(f64::INFINITY, f64::min);
        let max = lengths.iter().map(|&(l, _)| l).fold(f64::NEG_INFINITY, f64::max);
        group
            .iter()
            .zip(&lengths)
            .map(|(ctx, &(len, _))| {
                let score = if max == min {
                    0.0
                } else {
                    let lambda = 0.5 - (len - min) / (max - min);
                    if ctx.judgement.correct() { lambda } else { lambda.min(0.0) }
                };
                Ok(Measured { score, unit: Some(unit) })
            })
            .collect()
    }
}

impl Scorer for CosineScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let (len, unit) = ctx.length(self.unit)?;
        let progress = (len / self.max_len).min(1.0);
        let cosine = (progress * std::f64::consts::PI).cos();
        let (low, high) = if ctx.judgement.correct() {
            (self.min_value_correct, self.max_value_correct)
        } else {
            (self.max_value_wrong, self.min_value_wrong)
        };
        Ok(Measured { score: low + 0.5 * (high - low) * (1.0 + cosine), unit: Some(unit) })
    }
}
