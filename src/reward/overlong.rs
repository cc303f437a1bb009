//! `overlong`: DAPO's soft overlong punishment (arXiv:2503.14476, Eq. 13).
//!
//! Formula, with `L` the completion's length, `L_max = max_length`, `L_cache = buffer` and
//! `f = penalty_factor`:
//!
//! ```text
//! 0                                  if L ≤ L_max − L_cache
//! f · ((L_max − L_cache) − L) / L_cache   if L_max − L_cache < L ≤ L_max
//! −f                                 if L > L_max
//! ```
//!
//! With `f = 1` this is TRL's `get_soft_overlong_punishment` and verl's DAPO reward manager
//! (`overlong_buffer.penalty_factor`). verl does not clamp past `L_max`, because its responses are
//! truncated there; we clamp at `−f`, as the paper and TRL do. `L` is counted in tokens when the
//! sample has `completion_tokens` (what DAPO meant), otherwise in characters; the unit used is
//! reported beside the score. `buffer` must be between 1 and `max_length`, checked at load.

use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer, UnitChoice};

/// The soft overlong punishment component.
pub struct Overlong;

const PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "max_length", default: "required", doc: "L_max: longer completions get −penalty_factor" },
    ParamDoc { name: "buffer", default: "required", doc: "L_cache: the penalty ramps linearly over the last `buffer`" },
    ParamDoc { name: "penalty_factor", default: "1.0", doc: "the penalty at and past max_length (verl's factor)" },
    UnitChoice::DOC,
];

/// The built overlong scorer.
#[derive(Debug, Clone, PartialEq)]
struct OverlongScorer {
    max_length: f64,
    buffer: f64,
    penalty_factor: f64,
    unit: UnitChoice,
}

impl RewardComponent for Overlong {
    fn name(&self) -> &'static str {
        "overlong"
    }

    fn doc(&self) -> &'static str {
        "DAPO soft overlong punishment: 0 up to max_length - buffer, then penalty_factor * \
         ((max_length - buffer) - len) / buffer, and -penalty_factor past max_length"
    }

    fn params(&self) -> &'static [ParamDoc] {
        PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let max_length = params.count_required("max_length")?;
        let buffer = params.count_required("buffer")?;
        if buffer == 0 {
            return Err(params.error("buffer", "must be at least 1"));
        }
        if buffer > max_length {
            return Err(params.error("buffer", format!("({buffer}) must not exceed max_length ({max_length})")));
        }
        let penalty_factor = params.float("penalty_factor", 1.0)?;
        if penalty_factor < 0.0 {
            return Err(params.error("penalty_factor", "must not be negative (it is subtracted)"));
        }
        Ok(Arc::new(OverlongScorer {
            max_length: max_length as f64,
            buffer: buffer as f64,
            penalty_factor,
            unit: UnitChoice::from_params(params)?,
        }))
    }
}

impl Scorer for OverlongScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let (len, unit) = ctx.length(self.unit)?;
        let expected = self.max_length - self.buffer;
        let score = if len <= expected {
            0.0
        } else if len <= self.max_length {
            self.penalty_factor * (expected - len) / self.buffer
        } else {
            -self.penalty_factor
        };
        Ok(Measured { score, unit: Some(unit) })
    }
}
