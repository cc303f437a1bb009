//! Runs every case in `testdata/code/*.jsonl` through [`super::judge`] and checks the sample verdict
//! and, where a case lists them, the per-test verdicts (`expected_test_verdicts`) and the limit of the
//! first failing test (`expected_limit`). Needs the
//! toolchain and runtimes from `.ci/install-code-runtimes.sh`, hence `#[ignore]`:
//! `cargo test --lib code::cases -- --ignored`. `RLVR_CASE_FILTER` selects cases by id substring.
//! Cases listed in `testdata/known_failures/code.toml` (the one list of known code failures, shared
//! with `cargo test --test testdata`) must fail (an unexpected pass is reported too). Adversarial
//! cases run twice and must get identical per-test verdicts.

use super::{CodeConfig, TestVerdict, judge};
use crate::sample::Sample;

/// The ids of the known failures: keys of `testdata/known_failures/code.toml` are `file::id`.
fn known_failures() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/known_failures/code.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let table: toml::Table = toml::from_str(&text).unwrap_or_default();
    table.keys().filter_map(|k| k.split_once("::").map(|(_, id)| id.to_string())).collect()
}

fn check_case(line: &str, config: &CodeConfig, known: &[String]) -> Result<Option<String>, String> {
    let value = crate::json::parse(line).map_err(|e| e.to_string())?;
    let id = value["id"].as_str().unwrap_or("?").to_string();
    if let Ok(filter) = std::env::var("RLVR_CASE_FILTER")
        && !id.contains(&filter)
    {
        return Ok(None);
    }
    let expected = value["expected"].as_bool().ok_or("expected must be a bool")?;
    // A sample the reader refuses (e.g. a dataset layout that cannot be read) is an `error` verdict,
    // as `rlvr score` reports it.
    let (sample, report) = match Sample::from_json(value.clone()) {
        Ok(sample) => {
            let report = judge(&sample, config);
            (Some(sample), report)
        }
        Err((_, e)) => (None, super::CodeReport::error(None, e.to_string())),
    };
    let got: Vec<TestVerdict> = report.tests.iter().map(|t| t.verdict).collect();
    let mut problems = Vec::new();
    if (report.verdict == crate::sample::Verdict::Correct) != expected {
        problems.push(format!("correct={} expected {expected}", report.verdict == crate::sample::Verdict::Correct));
    }
    if let Some(v) = value["expected_verdict"].as_str()
        && report.verdict.as_str() != v
    {
        problems.push(format!("verdict {} expected {v}", report.verdict));
    }
    if let Some(list) = value.get("expected_test_verdicts") {
        let want: Vec<TestVerdict> = serde_json::from_value(list.clone()).map_err(|e| e.to_string())?;
        if want != got {
            problems.push(format!("tests {got:?} expected {want:?}"));
        }
    }
    if let Some(want) = value["expected_limit"].as_str() {
        let first = report.tests.iter().find(|t| t.verdict != TestVerdict::AC);
        let limit = first.and_then(|t| t.limit).map(|l| l.as_str());
        if limit != Some(want) {
            problems.push(format!("limit of the first failure {limit:?} expected {want:?}"));
        }
    }
    if let Some(sample) = sample.as_ref().filter(|_| id.contains("/adversarial/")) {
        // The host must survive each attack with the same verdicts on a second run.
        let again = judge(sample, config);
        let again: Vec<TestVerdict> = again.tests.iter().map(|t| t.verdict).collect();
        if again != got {
            problems.push(format!("second run gave {again:?}, first {got:?}"));
        }
    }
    let known = known.contains(&id);
    let detail = || {
        let first = report.tests.iter().find(|t| t.verdict != TestVerdict::AC);
        format!(
            "{id}: {} [error: {:?}; first failure: {:?}]",
            problems.join("; "),
            report.error,
            first.map(|t| (&t.message, &t.stderr_tail))
        )
    };
    match (problems.is_empty(), known) {
        (true, false) | (false, true) => Ok(Some(id)),
        (true, true) => {
            Err(format!("{id}: known failure passed unexpectedly; remove it from testdata/known_failures/code.toml"))
        }
        (false, false) => Err(detail()),
    }
}

/// The interactive cases, per test: `cargo test --test testdata` checks only their sample
/// verdicts, and a deadlock or a flood must be the right limit, not just some failure.
#[test]
fn interactive_cases_per_test() {
    let config = CodeConfig::default();
    let known = known_failures();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/code/interactive.jsonl");
    let text = std::fs::read_to_string(path).expect("testdata/code/interactive.jsonl");
    let mut ran = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| l.contains("expected_test_verdicts")) {
        match check_case(line, &config, &known) {
            Ok(Some(_)) => ran += 1,
            Ok(None) => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 10, "only {ran} interactive cases ran");
}

#[test]
#[ignore = "needs the code toolchain and runtimes (.ci/install-code-runtimes.sh)"]
fn testdata_code_cases() {
    let config = CodeConfig::default();
    let known = known_failures();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/code");
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|x| x == "jsonl")) {
        for line in std::fs::read_to_string(path).unwrap().lines().filter(|l| !l.trim().is_empty()) {
            match check_case(line, &config, &known) {
                Ok(Some(_)) => ran += 1,
                Ok(None) => {}
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        ran + failures.len(),
        failures.join("\n")
    );
    assert!(ran > 0, "no case ran");
}
