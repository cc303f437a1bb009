//! Offline dataset validation (`rlvr validate DATASET`): find the records that would poison a
//! training run before it starts.
//!
//! * Math records (`answer`): every gold answer parses with the same parser the reward uses —
//!   an unparsable gold silently scores every rollout 0 during training.
//! * Code records (`tests`): the reference solution (`completion`) passes its own tests, the tests are
//!   not empty, and the verdict is the same on every run (`runs`, default 2), since a flaky test
//!   set makes the reward noise. A record labelled `"expect_pass": false` is expected to fail.
//! * Every record: duplicates of an earlier record (same problem text, or for code the same tests).
//!
//! Why it is built this way: validation goes through the same [`Engine`] and gold parser as scoring
//! (no second implementation to drift), streams the dataset in chunks so memory stays flat, and
//! keeps findings as data ([`Report`]) that renders to JSON, Markdown and a terminal table; the
//! library never prints, and progress is reported through a callback the CLI turns into a bar.

pub mod report;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::batch::Engine;
use crate::io::FieldMap;
use crate::math;
use crate::sample::{Sample, Verdict};

pub use report::Report;

/// Every check `rlvr validate` runs: name and what a failure means. Reports list them in this order.
pub static CHECKS: &[(Check, &str)] = &[
    (Check::MalformedRecord, "the line is not a JSON object with `answer` or `tests`"),
    (Check::GoldUnparseable, "the gold `answer` does not parse, so every rollout would score 0"),
    (Check::GoldInternalError, "parsing the gold answer crashed the parser (a bug in rlvr: please report it)"),
    (Check::EmptyTests, "the test set is empty, so any program would pass"),
    (Check::MissingReference, "no reference solution (`completion`) to check the tests with"),
    (Check::ReferenceFails, "the reference solution does not get its expected result on its own tests"),
    (Check::ReferenceNotRun, "the reference solution could not be run (sandbox unavailable or internal error)"),
    (Check::Nondeterministic, "the verdict changed between runs: flaky tests make the reward noise"),
    (Check::Duplicate, "the same problem as an earlier record"),
];

/// One check of [`CHECKS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Not a JSON object with `answer` or `tests`.
    MalformedRecord,
    /// The gold answer does not parse.
    GoldUnparseable,
    /// The gold parser panicked.
    GoldInternalError,
    /// The test set is empty.
    EmptyTests,
    /// No reference solution.
    MissingReference,
    /// The reference solution does not get its expected result.
    ReferenceFails,
    /// The reference solution could not be run.
    ReferenceNotRun,
    /// Runs disagree.
    Nondeterministic,
    /// Same problem as an earlier record.
    Duplicate,
}

impl Check {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::MalformedRecord => "malformed_record",
            Check::GoldUnparseable => "gold_unparseable",
            Check::GoldInternalError => "gold_internal_error",
            Check::EmptyTests => "empty_tests",
            Check::MissingReference => "missing_reference",
            Check::ReferenceFails => "reference_fails",
            Check::ReferenceNotRun => "reference_not_run",
            Check::Nondeterministic => "nondeterministic",
            Check::Duplicate => "duplicate",
        }
    }

    /// What a failure of this check means.
    pub fn description(self) -> &'static str {
        CHECKS.iter().find(|(c, _)| *c == self).map_or("", |(_, d)| d)
    }
}

/// Limits of one validation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateLimits {
    /// Problems listed one by one in the report (default 10 000); past it they are only counted
    /// (`problems_unlisted`), so a broken dataset cannot blow up the report.
    pub max_listed_problems: usize,
    /// Most times a reference solution is run (default 10); `runs` above it is [`ValidateError::Runs`].
    pub max_runs: usize,
}

impl Default for ValidateLimits {
    fn default() -> Self {
        ValidateLimits { max_listed_problems: 10_000, max_runs: 10 }
    }
}

/// How to validate.
#[derive(Debug, Clone)]
pub struct ValidateConfig {
    /// Runs per reference solution (default 2: one for correctness, one more for determinism).
    pub runs: usize,
    /// Records checked together in parallel (default 1024); memory stays proportional to it.
    pub chunk: usize,
    /// Dataset columns to sample fields (verl's layout by default).
    pub map: FieldMap,
    /// Limits.
    pub limits: ValidateLimits,
}

impl Default for ValidateConfig {
    fn default() -> Self {
        ValidateConfig { runs: 2, chunk: 1024, map: FieldMap::verl_defaults(), limits: ValidateLimits::default() }
    }
}

/// Errors that stop a validation run (a bad record never does; it is a finding).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The dataset could not be read.
    #[error("reading the dataset: {0}")]
    Read(#[source] std::io::Error),
    /// `runs` is outside `1..=max_runs`.
    #[error("runs must be between 1 and {max}, got {got}")]
    Runs {
        /// The value given.
        got: usize,
        /// `max_runs`.
        max: usize,
    },
}

/// One finding: which record, which check, and what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// 1-based line (or row) of the record in the dataset.
    pub line: usize,
    /// The record's `id`, if it has one.
    pub id: Value,
    /// The check that failed.
    pub check: Check,
    /// The details (the parse error, the verdicts of each run, the earlier duplicate, …).
    pub detail: String,
}

/// Progress, reported after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Records checked so far.
    pub records: usize,
    /// Problems found so far.
    pub problems: usize,
}

/// A record read from the dataset, before checking.
struct Record {
    line: usize,
    value: Result<Value, String>,
}

/// Validates a JSONL dataset; `progress` is called after each chunk.
pub fn validate_jsonl(
    engine: &Engine,
    name: &str,
    input: impl BufRead,
    config: &ValidateConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, ValidateError> {
    let records = crate::io::JsonlRecords::new(input);
    validate_records(engine, name, records, config, progress)
}

/// Validates records given as `(line, JSON or why it is not JSON)`; the core of every input format.
pub fn validate_records<I>(
    engine: &Engine,
    name: &str,
    records: I,
    config: &ValidateConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<Report, ValidateError>
where
    I: IntoIterator<Item = Result<(usize, Result<Value, String>), std::io::Error>>,
{
    if config.runs == 0 || config.runs > config.limits.max_runs {
        return Err(ValidateError::Runs { got: config.runs, max: config.limits.max_runs });
    }
    let start = Instant::now();
    let mut state = Validation::new(name, config);
    let mut chunk = Vec::with_capacity(config.chunk.max(1));
    let mut records = records.into_iter();
    loop {
        let next = records.next().transpose().map_err(ValidateError::Read)?;
        let done = next.is_none();
        if let Some((line, value)) = next {
            chunk.push(Record { line, value });
        }
        if chunk.len() >= config.chunk.max(1) || (done && !chunk.is_empty()) {
            state.check_chunk(engine, std::mem::take(&mut chunk));
            progress(Progress { records: state.report.records, problems: state.report.problems_total });
        }
        if done {
            break;
        }
    }
    state.report.elapsed_seconds = start.elapsed().as_secs_f64();
    Ok(state.report)
}

/// What a record is, once read.
enum Kind {
    Math { answer: String },
    Code { sample: Box<Sample>, expect_pass: bool },
}

struct Validation<'a> {
    config: &'a ValidateConfig,
    report: Report,
    /// Hash of a problem key → (line, id) of the first record with it.
    seen: HashMap<u64, (usize, Value)>,
}

impl<'a> Validation<'a> {
    fn new(name: &str, config: &'a ValidateConfig) -> Self {
        Validation { config, report: Report::new(name, config.runs), seen: HashMap::new() }
    }

    fn problem(&mut self, line: usize, id: &Value, check: Check, detail: impl Into<String>) {
        self.report.add_problem(
            Problem { line, id: id.clone(), check, detail: detail.into() },
            self.config.limits.max_listed_problems,
        );
    }

    fn check_chunk(&mut self, engine: &Engine, chunk: Vec<Record>) {
        let mut math_items: Vec<(usize, Value, String)> = Vec::new();
        let mut code_items: Vec<(usize, Value, Sample, bool)> = Vec::new();
        for record in chunk {
            self.report.records += 1;
            self.report.count_checked(Check::MalformedRecord);
            let mut value = match record.value {
                Ok(value) => value,
                Err(why) => {
                    self.problem(record.line, &Value::Null, Check::MalformedRecord, why);
                    continue;
                }
            };
            self.config.map.apply(&mut value);
            let id = value.get("id").cloned().unwrap_or(Value::Null);
            // A dataset's own test fields (LiveCodeBench, APPS, …) become `tests`, as `rlvr score` reads them.
            if let Value::Object(map) = &mut value
                && let Err(e) = crate::code::layout::apply(map, &crate::code::layout::LayoutLimits::default())
            {
                self.problem(record.line, &id, Check::MalformedRecord, format!("tests layout: {e}"));
                continue;
            }
            match self.classify(record.line, &id, value) {
                Some(Kind::Math { answer }) => math_items.push((record.line, id, answer)),
                Some(Kind::Code { sample, expect_pass }) => code_items.push((record.line, id, *sample, expect_pass)),
                None => {}
            }
        }
        self.check_golds(engine, math_items);
        self.check_references(engine, code_items);
    }

    /// Sorts a record into math or code, checking duplicates and empty tests on the way.
    fn classify(&mut self, line: usize, id: &Value, value: Value) -> Option<Kind> {
        let Value::Object(object) = &value else {
            let found = crate::sample::json_type_name(&value);
            self.problem(line, id, Check::MalformedRecord, format!("a record must be a JSON object, got {found}"));
            return None;
        };
        let has_tests = object.contains_key("tests");
        let answer = object.get("answer").filter(|a| !a.is_null());
        if !has_tests && answer.is_none() {
            self.problem(line, id, Check::MalformedRecord, "neither `answer` (math) nor `tests` (code)");
            return None;
        }
        self.check_duplicate(line, id, object, has_tests);
        if !has_tests {
            self.report.math_records += 1;
            return match answer {
                Some(Value::String(s)) => Some(Kind::Math { answer: s.clone() }),
                Some(Value::Number(n)) => Some(Kind::Math { answer: n.to_string() }),
                Some(other) => {
                    let found = crate::sample::json_type_name(other);
                    self.problem(line, id, Check::MalformedRecord, format!("`answer` must be a string, got {found}"));
                    None
                }
                None => None,
            };
        }
        self.report.code_records += 1;
        self.report.count_checked(Check::EmptyTests);
        if object.get("tests").is_none_or(tests_are_empty) {
            self.problem(line, id, Check::EmptyTests, "`tests` has no test cases");
            return None;
        }
        self.report.count_checked(Check::MissingReference);
        if object.get("completion").is_none_or(|c| c.as_str().is_none_or(|s| s.trim().is_empty())) {
            self.problem(line, id, Check::MissingReference, "no `completion` to run against the tests");
            return None;
        }
        let expect_pass = object.get("expect_pass").and_then(Value::as_bool).unwrap_or(true);
        match Sample::from_json(value) {
            Ok(sample) => Some(Kind::Code { sample: Box::new(sample), expect_pass }),
            Err((_, err)) => {
                self.problem(line, id, Check::MalformedRecord, err.to_string());
                None
            }
        }
    }

    fn check_duplicate(&mut self, line: usize, id: &Value, object: &serde_json::Map<String, Value>, code: bool) {
        let problem_text =
            ["prompt", "problem", "question"].iter().find_map(|k| object.get(*k)).filter(|v| !v.is_null());
        // Code: the same tests are the same problem, whatever the prompt says; math: the same problem text.
        let key = match (code, problem_text) {
            (true, _) => object.get("tests").map(|t| ("tests", t)),
            (false, Some(text)) => Some(("problem", text)),
            (false, None) => None,
        };
        let Some((what, key)) = key else { return };
        self.report.count_checked(Check::Duplicate);
        let mut hasher = DefaultHasher::new();
        what.hash(&mut hasher);
        key.to_string().hash(&mut hasher);
        match self.seen.get(&hasher.finish()) {
            Some((first_line, first_id)) => {
                let detail = format!("same {what} as line {first_line} (id {first_id})");
                self.problem(line, id, Check::Duplicate, detail);
            }
            None => {
                self.seen.insert(hasher.finish(), (line, id.clone()));
            }
        }
    }

    fn check_golds(&mut self, engine: &Engine, items: Vec<(usize, Value, String)>) {
        let mathcfg = &engine.config().math;
        let results: Vec<Option<(Check, String)>> = items
            .par_iter()
            .map(|(_, _, answer)| match catch_unwind(AssertUnwindSafe(|| math::parse_gold(answer, mathcfg))) {
                Ok(Ok(_)) => None,
                Ok(Err(err)) => Some((Check::GoldUnparseable, format!("`{answer}`: {err}"))),
                Err(panic) => Some((Check::GoldInternalError, format!("`{answer}`: {}", panic_message(&panic)))),
            })
            .collect();
        for ((line, id, _), result) in items.iter().zip(results) {
            self.report.count_checked(Check::GoldUnparseable);
            self.report.count_checked(Check::GoldInternalError);
            if let Some((check, detail)) = result {
                self.problem(*line, id, check, detail);
            }
        }
    }

    fn check_references(&mut self, engine: &Engine, items: Vec<(usize, Value, Sample, bool)>) {
        if items.is_empty() {
            return;
        }
        let samples: Vec<Sample> = items.iter().map(|(_, _, s, _)| s.clone()).collect();
        let runs: Vec<Vec<crate::sample::Outcome>> =
            (0..self.config.runs).map(|_| engine.score_batch(&samples)).collect();
        for (i, (line, id, _, expect_pass)) in items.iter().enumerate() {
            let outcomes: Vec<&crate::sample::Outcome> = runs.iter().filter_map(|run| run.get(i)).collect();
            let Some(first) = outcomes.first() else { continue };
            self.report.count_checked(Check::ReferenceNotRun);
            if let Some(failed) = outcomes.iter().find(|o| o.verdict == Verdict::Error) {
                let why = failed.error.clone().unwrap_or_else(|| "no message".into());
                self.problem(*line, id, Check::ReferenceNotRun, why);
                continue;
            }
            self.report.count_checked(Check::ReferenceFails);
            let passed = first.verdict == Verdict::Correct;
            if passed != *expect_pass {
                let detail = format!(
                    "expected to {}, got `{}`{}",
                    if *expect_pass { "pass" } else { "fail" },
                    first.verdict,
                    first.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                );
                self.problem(*line, id, Check::ReferenceFails, detail);
            }
            if self.config.runs > 1 {
                self.report.count_checked(Check::Nondeterministic);
                if outcomes.iter().any(|o| o.verdict != first.verdict || o.reward != first.reward) {
                    let seen: Vec<String> = outcomes.iter().map(|o| format!("{} ({})", o.verdict, o.reward)).collect();
                    self.problem(*line, id, Check::Nondeterministic, format!("runs gave {}", seen.join(", ")));
                }
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Keys that describe a test set rather than hold test cases.
const TEST_METADATA_KEYS: &[&str] = &["entry_point", "fn_name", "language", "timeout", "time_limit", "memory_limit"];

/// Whether a `tests` value holds no test case: null, blank, an empty list, or an object whose every
/// non-metadata value is itself null, blank or empty.
pub fn tests_are_empty(tests: &Value) -> bool {
    fn blank(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Bool(_) | Value::Number(_) => false,
        }
    }
    match tests {
        Value::Object(o) => o.iter().filter(|(k, _)| !TEST_METADATA_KEYS.contains(&k.as_str())).all(|(_, v)| blank(v)),
        other => blank(other),
    }
}

#[cfg(test)]
mod tests;
