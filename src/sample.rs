//! The `rlvr score` contract: one [`Sample`] in, one [`Outcome`] out.
//!
//! Samples arrive as JSON objects of unknown quality. [`Sample::from_json`] checks the fields this
//! engine reads and reports the first problem as a [`SampleError`]; the caller turns that into an
//! error outcome for that sample alone (see [`Outcome::error`]), echoing whatever `id` it could read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One rollout to score, as read from a JSONL line or an HTTP body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Any JSON value, echoed unchanged in the outcome.
    #[serde(default)]
    pub id: Value,
    /// The model output to judge.
    pub completion: String,
    /// The gold answer for math recipes (bare `42`, `$\frac12$` or `\boxed{2}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Code tests (see the code verifier); kept as raw JSON until a code recipe reads them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Value>,
    /// Programming language of the code in `completion` (default `python`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Name of the reward recipe; defaults to `math` when `answer` is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
    /// Every other field of the input object (prompt, group, labels, …), kept for recipes.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a JSON value is not a usable sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    /// The line is not valid JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The JSON value is not an object.
    #[error("a sample must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// A required field is absent.
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// The sample's dataset test layout (LiveCodeBench, APPS, …) cannot be read.
    #[error("tests layout: {0}")]
    Layout(#[from] crate::code::layout::LayoutError),
    /// A field has the wrong JSON type.
    #[error("field `{field}` must be {expected}, got {found}")]
    WrongType {
        /// The field's name.
        field: &'static str,
        /// The type the contract requires.
        expected: &'static str,
        /// The JSON type that was found.
        found: &'static str,
    },
}

/// Name of a JSON value's type, for error messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Sample {
    /// Builds a sample for a completion and a gold answer (the common math case).
    pub fn math(id: impl Into<Value>, completion: impl Into<String>, answer: impl Into<String>) -> Self {
        Sample {
            id: id.into(),
            completion: completion.into(),
            answer: Some(answer.into()),
            tests: None,
            language: None,
            recipe: None,
            extra: Map::new(),
        }
    }

    /// Parses one JSONL line; on failure also returns the `id` it could read (or null).
    pub fn from_line(line: &str) -> Result<Sample, (Value, SampleError)> {
        let value = crate::json::parse(line).map_err(|e| (Value::Null, SampleError::InvalidJson(e.to_string())))?;
        Sample::from_json(value)
    }

    /// Checks a JSON value against the contract; on failure also returns the `id` it could read.
    ///
    /// The value may carry [`crate::json`]'s big-integer markers: `tests` keeps them (call tests
    /// compare big integers exactly), a numeric `answer` becomes its exact digits, and everywhere
    /// else they become numbers again, as serde_json reads them.
    ///
    /// A sample without `tests` (or with `tests_format`) may carry its dataset's own test fields:
    /// [`crate::code::layout`] reads them into `tests`.
    pub fn from_json(value: Value) -> Result<Sample, (Value, SampleError)> {
        Sample::from_json_with(value, &crate::code::layout::LayoutLimits::default())
    }

    /// [`Sample::from_json`] with explicit limits for the dataset layout readers.
    pub fn from_json_with(
        value: Value,
        layout_limits: &crate::code::layout::LayoutLimits,
    ) -> Result<Sample, (Value, SampleError)> {
        let Value::Object(mut map) = value else {
            return Err((Value::Null, SampleError::NotAnObject(json_type_name(&value))));
        };
        if let Err(e) = crate::code::layout::apply(&mut map, layout_limits) {
            let mut id = map.get("id").cloned().unwrap_or(Value::Null);
            crate::json::restore_lossy(&mut id);
            return Err((id, SampleError::Layout(e)));
        }
        // One pass over the fields: the contract's fields move out, the rest stay as extras.
        let (mut id, mut completion, mut answer, mut tests, mut language, mut recipe) =
            (None, None, None, None, None, None);
        let mut extra = Map::new();
        for (key, mut value) in map {
            let slot = match key.as_str() {
                "id" => &mut id,
                "completion" => &mut completion,
                "answer" => {
                    if let Some(digits) = crate::json::big_int(&value) {
                        value = Value::String(digits.to_string());
                    }
                    &mut answer
                }
                "tests" => {
                    // A bare big integer is not a tests object: it stays a number, and a type error below.
                    if crate::json::big_int(&value).is_some() {
                        crate::json::restore_lossy(&mut value);
                    }
                    tests = Some(value);
                    continue;
                }
                "language" => &mut language,
                "recipe" => &mut recipe,
                _ => {
                    crate::json::restore_lossy(&mut value);
                    extra.insert(key, value);
                    continue;
                }
            };
            crate::json::restore_lossy(&mut value);
            *slot = Some(value);
        }
        let id = id.unwrap_or(Value::Null);
        let fail = |e| Err((id.clone(), e));
        let completion = match completion {
            Some(Value::String(s)) => s,
            Some(other) => {
                return fail(SampleError::WrongType {
                    field: "completion",
                    expected: "a string",
                    found: json_type_name(&other),
                });
            }
            None => return fail(SampleError::MissingField("completion")),
        };
        let optional_string = |field: &'static str, value: Option<Value>| match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            // A numeric gold (`"answer": 42`) is common in datasets; read it as its text.
            Some(Value::Number(n)) if field == "answer" => Ok(Some(n.to_string())),
            Some(other) => Err(SampleError::WrongType { field, expected: "a string", found: json_type_name(&other) }),
        };
        let answer = match optional_string("answer", answer) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        let language = match optional_string("language", language) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        let recipe = match optional_string("recipe", recipe) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        let tests = match tests {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(other) => {
                return fail(SampleError::WrongType {
                    field: "tests",
                    expected: "an object",
                    found: json_type_name(&other),
                });
            }
        };
        Ok(Sample { id, completion, answer, tests, language, recipe, extra })
    }
}

/// The verdict of one sample: what the accuracy check concluded, or why it could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The answer (or program) is right.
    Correct,
    /// The answer was read and is wrong.
    Incorrect,
    /// No final answer could be found in the completion.
    NoAnswer,
    /// The gold answer itself does not parse: reward 0 and a visible error, never a silent pass.
    InvalidGold,
    /// The answer was too large or too deep to judge within the configured limits.
    LimitExceeded,
    /// The sample itself was malformed, or judging it failed internally.
    Error,
}

impl Verdict {
    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Incorrect => "incorrect",
            Verdict::NoAnswer => "no_answer",
            Verdict::InvalidGold => "invalid_gold",
            Verdict::LimitExceeded => "limit_exceeded",
            Verdict::Error => "error",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unit a length-based reward component counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// The sample's `completion_tokens` field.
    Tokens,
    /// Unicode scalar values of the completion (Python's `len(str)`).
    Chars,
}

/// One reward component's contribution: its raw score and the weight the recipe gave it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ComponentScore {
    /// The component's raw score, before weighting.
    pub score: f64,
    /// The recipe's weight for this component; the reward is the sum of `score * weight`.
    pub weight: f64,
    /// For length-based components, whether lengths were counted in tokens or characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_unit: Option<LengthUnit>,
}

/// The result for one sample, written as one JSONL line in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The sample's `id`, echoed (null when it could not be read).
    pub id: Value,
    /// The weighted reward.
    pub reward: f64,
    /// Whether the accuracy check passed.
    pub correct: bool,
    /// What the accuracy check concluded.
    pub verdict: Verdict,
    /// Each reward component's raw score and weight.
    pub components: BTreeMap<String, ComponentScore>,
    /// The answer the engine read from the completion, if any.
    pub extracted: Option<String>,
    /// A message when the sample was malformed or could not be judged; null otherwise.
    pub error: Option<String>,
}

impl Outcome {
    /// The outcome of a sample that could not be scored at all.
    pub fn error(id: Value, message: impl Into<String>) -> Self {
        Outcome {
            id,
            reward: 0.0,
            correct: false,
            verdict: Verdict::Error,
            components: BTreeMap::new(),
            extracted: None,
            error: Some(message.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integers_are_exact_in_tests_and_answer_and_numbers_elsewhere() {
        let line = r#"{"id": 123456789012345678901234567890, "completion": "x", "answer": 123456789012345678901234567890,
            "tests": {"call": [{"args": [1], "expected": 123456789012345678901234567890}]}, "meta": [99999999999999999999999]}"#;
        let sample = Sample::from_line(line).unwrap();
        assert_eq!(sample.id, serde_json::json!(1.2345678901234568e29), "the id reads as serde_json reads it");
        assert_eq!(sample.answer.as_deref(), Some("123456789012345678901234567890"), "a numeric gold keeps its digits");
        let expected = &sample.tests.as_ref().unwrap()["call"][0]["expected"];
        assert_eq!(crate::json::big_int(expected), Some("123456789012345678901234567890"));
        assert_eq!(sample.extra["meta"], serde_json::json!([1e23]));
        let bare = Sample::from_line(r#"{"completion": "x", "tests": 123456789012345678901234567890}"#);
        assert!(matches!(bare, Err((_, SampleError::WrongType { field: "tests", .. }))), "{bare:?}");
    }
}
