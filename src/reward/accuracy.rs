//! `accuracy`: the accuracy verifier's verdict as a reward.
//!
//! Formula, `mode = "verdict"` (the default): `correct` when the verdict is `correct`, otherwise
//! `incorrect` (defaults 1 and 0; DAPO uses 1 and −1). Every verdict other than `correct`,
//! including `no_answer`, `invalid_gold` and `error`, scores `incorrect`: a broken gold never
//! rewards (open-r1 gives 1 to skip it; we give the low value and the outcome names the error).
//!
//! Formula, `mode = "fraction"` (partial credit for code): `incorrect + (correct − incorrect) ·
//! tests_passed / tests_total`, read from [`Judgement::tests_passed`](super::Judgement) and
//! `tests_total`. A verdict without test counts (the math verifier, or a code run that never
//! reached the tests) is a typed error, never a silent 0.

use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

/// The accuracy component.
pub struct Accuracy;

const PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "correct", default: "1.0", doc: "score of a correct sample (or of all tests passing)" },
    ParamDoc { name: "incorrect", default: "0.0", doc: "score of any other verdict (or of no test passing)" },
    ParamDoc {
        name: "mode",
        default: "\"verdict\"",
        doc: "\"verdict\" (all-or-nothing) or \"fraction\" (share of code tests passed)",
    },
];

/// How the verdict becomes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Verdict,
    Fraction,
}

/// The built accuracy scorer.
#[derive(Debug, Clone, PartialEq)]
struct AccuracyScorer {
    correct: f64,
    incorrect: f64,
    mode: Mode,
}

impl RewardComponent for Accuracy {
    fn name(&self) -> &'static str {
        "accuracy"
    }

    fn doc(&self) -> &'static str {
        "the verifier's verdict: `correct` (1) when correct, else `incorrect` (0); with mode = \"fraction\", \
         incorrect + (correct - incorrect) * tests_passed / tests_total"
    }

    fn params(&self) -> &'static [ParamDoc] {
        PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let mode = match params.string("mode", "verdict")? {
            "verdict" => Mode::Verdict,
            "fraction" => Mode::Fraction,
            other => return Err(params.error("mode", format!("must be \"verdict\" or \"fraction\", got \"{other}\""))),
        };
        Ok(Arc::new(AccuracyScorer {
            correct: params.float("correct", 1.0)?,
            incorrect: params.float("incorrect", 0.0)?,
            mode,
        }))
    }
}

impl Scorer for AccuracyScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let j = ctx.judgement;
        let score = match self.mode {
            Mode::Verdict if j.correct() => self.correct,
            Mode::Verdict => self.incorrect,
            Mode::Fraction => match (j.tests_passed, j.tests_total) {
                (Some(passed), Some(total)) if total > 0 && passed <= total => {
                    self.incorrect + (self.correct - self.incorrect) * f64::from(passed) / f64::from(total)
                }
                (Some(passed), Some(total)) => {
                    return Err(ScoreError::InvalidField {
                        field: "tests_passed",
                        message: format!("is {passed} of {total} tests, which is not a fraction"),
                    });
                }
                _ => return Err(ScoreError::MissingTestCounts),
            },
        };
        Ok(score.into())
    }
}
