//! The reward-component test case format (`testdata/rewards/<component>.jsonl`) and its runner.
//!
//! A component's numbers are best pinned down on hand-made inputs with hand-given verdicts, so a
//! reward case is not an `rlvr score` sample: it names one component, its parameters and limits,
//! a group of samples (each with the `verdict` and, for code, `tests_passed`/`tests_total` the
//! verifier would have reached) and the expected raw score of each — or, for a sample that must
//! fail, `{"error": "text in the message", "verdict": "error" | "limit_exceeded"}`:
//!
//! ```json
//! {"id": "length/kimi-mixed", "component": "length", "params": {}, "limits": {"max_group_size": 8},
//!  "samples": [{"completion": "xx", "verdict": "correct"}, {"completion": "xxxx"}],
//!  "expected": [0.5, -0.5], "expected_unit": "chars", "source": "...",
//!  "anchor": "open-r1 len_reward", "anchor_differs": "why, when it does"}
//! ```
//!
//! [`RewardCase::run`] scores the samples through [`super::score_judged`], the path the engine
//! uses, with a one-component recipe of weight 1. All samples of a case form one group (their
//! `group` is the case id) unless a sample sets `group` itself (`null` opts out). The runner is a
//! library function so that both the unit tests and the `testdata/` harness can call it.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ComponentSpec, Judged, Judgement, Recipe, RewardLimits, VerifierKind, build_component, component};
use crate::sample::{LengthUnit, Outcome, Sample, Verdict};

/// Scores within this distance of the expected value pass (the anchors are Python floats).
pub const TOLERANCE: f64 = 1e-9;

/// One line of `testdata/rewards/<component>.jsonl`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardCase {
    /// Unique name, `<component>/<what>`.
    pub id: String,
    /// The component under test.
    pub component: String,
    /// Its parameters, as a recipe would give them.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The recipe limits (defaults when absent).
    #[serde(default)]
    pub limits: Option<RewardLimits>,
    /// The samples, scored as one group; `verdict`, `tests_passed`, `tests_total` form the judgement.
    pub samples: Vec<Map<String, Value>>,
    /// Per sample: the raw score, or `{"error": …, "verdict": …}`.
    pub expected: Vec<Value>,
    /// The length unit every numeric score must report.
    #[serde(default)]
    pub expected_unit: Option<LengthUnit>,
    /// Where the case and its numbers come from.
    #[serde(default)]
    pub source: Option<String>,
    /// The issue or case it regresses.
    #[serde(default)]
    pub see: Option<String>,
    /// The anchor implementation (`testdata/rewards/reference/anchors.py`) computing the same numbers.
    #[serde(default)]
    pub anchor: Option<String>,
    /// Why our numbers deliberately differ from the anchor's, when they do.
    #[serde(default)]
    pub anchor_differs: Option<String>,
    /// Anything else worth knowing.
    #[serde(default)]
    pub note: Option<String>,
}

impl RewardCase {
    /// Parses one line.
    pub fn from_line(line: &str) -> Result<RewardCase, String> {
        serde_json::from_str(line).map_err(|e| format!("not a reward case: {e}"))
    }

    /// The one-component recipe the case runs.
    pub fn recipe(&self) -> Result<Recipe, String> {
        let component = component(&self.component).ok_or_else(|| format!("unknown component `{}`", self.component))?;
        let params: toml::Table =
            serde_json::from_value(Value::Object(self.params.clone())).map_err(|e| format!("params: {e}"))?;
        let scorer = build_component(component, &params).map_err(|e| e.to_string())?;
        Ok(Recipe {
            name: format!("case-{}", self.component),
            description: self.id.clone(),
            verifier: VerifierKind::Math,
            components: vec![ComponentSpec { name: self.component.clone(), weight: 1.0, params, scorer }],
            limits: self.limits.clone().unwrap_or_default(),
            examples: Vec::new(),
            extract: Default::default(),
        })
    }

    /// The samples and the judgements they state.
    pub fn samples(&self) -> Result<Vec<(Sample, Judgement)>, String> {
        self.samples
            .iter()
            .enumerate()
            .map(|(i, fields)| {
                let mut map = fields.clone();
                let verdict: Verdict = match map.remove("verdict") {
                    None => Verdict::Incorrect,
                    Some(v) => serde_json::from_value(v).map_err(|e| format!("sample {i}: verdict: {e}"))?,
                };
                let mut count = |key: &str| match map.remove(key) {
                    None => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .map(Some)
                        .ok_or_else(|| format!("sample {i}: `{key}` must be a small non-negative integer")),
                };
                let (tests_passed, tests_total) = (count("tests_passed")?, count("tests_total")?);
                map.entry("group").or_insert_with(|| Value::from(self.id.clone()));
                map.insert("id".into(), Value::from(format!("{}#{i}", self.id)));
                let sample = Sample::from_json(Value::Object(map)).map_err(|(_, e)| format!("sample {i}: {e}"))?;
                Ok((sample, Judgement { tests_passed, tests_total, ..Judgement::of(verdict) }))
            })
            .collect()
    }

    /// Scores the samples as the engine would; one outcome per sample.
    pub fn score(&self) -> Result<Vec<Outcome>, String> {
        let recipe = self.recipe()?;
        let samples = self.samples()?;
        let judged: Vec<Judged<'_>> =
            samples.iter().map(|(sample, j)| Judged { sample, recipe: &recipe, judgement: j.clone() }).collect();
        Ok(super::score_judged(&judged))
    }

    /// Runs the case; `Err` says what differs, one line per sample.
    pub fn run(&self) -> Result<(), String> {
        if self.source.as_deref().or(self.see.as_deref()).is_none_or(str::is_empty) {
            return Err("the case names no `source` or `see`".into());
        }
        let outcomes = self.score()?;
        if outcomes.len() != self.expected.len() {
            return Err(format!("{} samples but {} expected values", outcomes.len(), self.expected.len()));
        }
        let diffs: Vec<String> = outcomes
            .iter()
            .zip(&self.expected)
            .enumerate()
            .filter_map(|(i, (outcome, want))| self.mismatch(outcome, want).map(|why| format!("sample {i}: {why}")))
            .collect();
        if diffs.is_empty() { Ok(()) } else { Err(diffs.join("\n")) }
    }

    fn mismatch(&self, outcome: &Outcome, expected: &Value) -> Option<String> {
        match expected {
            Value::Number(n) => {
                let want = n.as_f64()?;
                let Some(got) = outcome.components.get(&self.component) else {
                    return Some(format!("expected {want}, got error {:?}", outcome.error));
                };
                if (got.score - want).abs() > TOLERANCE || outcome.error.is_some() {
                    return Some(format!("expected {want}, got {} (error {:?})", got.score, outcome.error));
                }
                match self.expected_unit {
                    Some(unit) if got.length_unit != Some(unit) => {
                        Some(format!("expected length_unit {unit:?}, got {:?}", got.length_unit))
                    }
                    _ => None,
                }
            }
            Value::Object(e) => {
                let text = e.get("error").and_then(Value::as_str).unwrap_or("");
                let verdict = e.get("verdict").and_then(Value::as_str).unwrap_or("error");
                match &outcome.error {
                    Some(msg) if msg.contains(text) && outcome.verdict.as_str() == verdict && outcome.reward == 0.0 => {
                        None
                    }
                    other => {
                        Some(format!("expected {verdict} error containing `{text}`, got {} {other:?}", outcome.verdict))
                    }
                }
            }
            other => Some(format!("bad expected entry {other}")),
        }
    }
}
