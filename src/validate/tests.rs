use serde_json::json;

use super::*;
use crate::batch::EngineConfig;

fn engine() -> Engine {
    Engine::new(EngineConfig::default()).unwrap()
}

fn run(lines: &[serde_json::Value], config: &ValidateConfig) -> Report {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut calls = 0;
    let report = validate_jsonl(&engine(), "test", text.as_bytes(), config, &mut |_| calls += 1).unwrap();
    assert!(calls >= 1, "progress is reported");
    report
}

fn checks_of(report: &Report) -> Vec<(usize, &'static str)> {
    report.problems.iter().map(|p| (p.line, p.check.as_str())).collect()
}

#[test]
fn malformed_lines_empty_tests_and_missing_references_are_found_per_line() {
    let text = "{not json\n\n[1]\n{\"id\": 4}\n{\"id\": 5, \"tests\": {\"stdio\": []}, \"completion\": \"x\"}\n\
                {\"id\": 6, \"tests\": {\"script\": \"  \", \"entry_point\": \"f\"}, \"completion\": \"x\"}\n\
                {\"id\": 7, \"tests\": {\"stdio\": [{\"input\": \"1\", \"output\": \"1\"}]}}\n";
    let report = validate_jsonl(&engine(), "t", text.as_bytes(), &ValidateConfig::default(), &mut |_| {}).unwrap();
    assert_eq!(
        checks_of(&report),
        vec![
            (1, "malformed_record"),
            (3, "malformed_record"),
            (4, "malformed_record"),
            (5, "empty_tests"),
            (6, "empty_tests"),
            (7, "missing_reference"),
        ]
    );
    assert_eq!(report.records, 6, "the blank line 2 is not a record");
    assert_eq!(report.code_records, 3);
    assert!(report.has_problems());
}

#[test]
fn duplicates_point_at_the_first_occurrence() {
    let tests = json!({"stdio": [{"input": "1\n", "output": "2\n"}]});
    let lines = [
        json!({"id": "a", "problem": "What is 1+1?", "answer": "2"}),
        json!({"id": "b", "problem": "What is 1+1?", "answer": "2"}),
        json!({"id": "c", "problem": "What is 2+2?", "answer": "4"}),
        json!({"id": "d", "tests": tests, "completion": "print(2)"}),
        json!({"id": "e", "tests": tests, "completion": "print(1+1)"}),
    ];
    let report = run(&lines, &ValidateConfig::default());
    let dups: Vec<&Problem> = report.problems.iter().filter(|p| p.check == Check::Duplicate).collect();
    assert_eq!(dups.len(), 2);
    assert_eq!((dups[0].line, dups[0].id.clone()), (2, json!("b")));
    assert!(dups[0].detail.contains("line 1"), "{}", dups[0].detail);
    assert_eq!((dups[1].line, dups[1].id.clone()), (5, json!("e")));
    assert_eq!(report.checks[&Check::Duplicate].checked, 5);
}

#[test]
fn every_gold_is_checked_and_a_crash_in_the_parser_is_a_finding_not_a_crash() {
    let lines = [json!({"id": 1, "answer": "\\frac{1}{2}"}), json!({"id": 2, "answer": 42})];
    let report = run(&lines, &ValidateConfig::default());
    assert_eq!(report.math_records, 2);
    assert_eq!(report.checks[&Check::GoldUnparseable].checked, 2);
    // Whatever the parser decides, each finding is a gold check on its own line.
    for p in &report.problems {
        assert!(matches!(p.check, Check::GoldUnparseable | Check::GoldInternalError), "{p:?}");
    }
}

#[test]
fn references_that_cannot_run_are_reported_not_passed() {
    let lines = [json!({"id": "p", "tests": {"stdio": [{"input": "", "output": "1\n"}]}, "completion": "print(1)"})];
    let report = run(&lines, &ValidateConfig::default());
    // Until a code verifier is registered, the engine cannot run the program: that must be visible.
    let verdicts: Vec<Check> = report.problems.iter().map(|p| p.check).collect();
    assert!(
        verdicts == vec![Check::ReferenceNotRun] || verdicts.is_empty() || verdicts == vec![Check::ReferenceFails],
        "{verdicts:?}"
    );
    assert_eq!(report.checks[&Check::ReferenceNotRun].checked, 1);
}

#[test]
fn verl_layout_is_mapped_by_default() {
    let lines = [json!({"data_source": "x", "prompt": [{"role": "user", "content": "q"}],
                        "reward_model": {"ground_truth": "3", "style": "rule"}, "extra_info": {"index": 9}})];
    let report = run(&lines, &ValidateConfig::default());
    assert_eq!(report.math_records, 1);
    assert!(report.problems.iter().all(|p| p.id == json!(9)));
}

#[test]
fn listed_problems_stop_at_the_limit_and_the_rest_are_counted() {
    let lines: Vec<_> = (0..3).map(|i| json!({"id": i})).collect();
    let at = ValidateConfig {
        limits: ValidateLimits { max_listed_problems: 3, ..ValidateLimits::default() },
        ..ValidateConfig::default()
    };
    let report = run(&lines, &at);
    assert_eq!((report.problems.len(), report.problems_unlisted, report.problems_total), (3, 0, 3));
    let below = ValidateConfig {
        limits: ValidateLimits { max_listed_problems: 2, ..ValidateLimits::default() },
        ..ValidateConfig::default()
    };
    let report = run(&lines, &below);
    assert_eq!((report.problems.len(), report.problems_unlisted, report.problems_total), (2, 1, 3));
}

#[test]
fn runs_at_the_limit_work_and_one_past_is_an_error() {
    let limits = ValidateLimits { max_runs: 3, ..ValidateLimits::default() };
    let ok = ValidateConfig { runs: 3, limits: limits.clone(), ..ValidateConfig::default() };
    assert!(validate_jsonl(&engine(), "t", &b"{\"id\": 1}\n"[..], &ok, &mut |_| {}).is_ok());
    let past = ValidateConfig { runs: 4, limits: limits.clone(), ..ValidateConfig::default() };
    assert!(matches!(
        validate_jsonl(&engine(), "t", &b""[..], &past, &mut |_| {}),
        Err(ValidateError::Runs { got: 4, max: 3 })
    ));
    let zero = ValidateConfig { runs: 0, limits, ..ValidateConfig::default() };
    assert!(matches!(validate_jsonl(&engine(), "t", &b""[..], &zero, &mut |_| {}), Err(ValidateError::Runs { .. })));
}

#[test]
fn chunking_does_not_change_the_findings() {
    let lines: Vec<_> = (0..10)
        .map(|i| json!({"id": i, "problem": format!("p{}", i % 4), "tests": {"stdio": []}, "completion": "x"}))
        .collect();
    let one = run(&lines, &ValidateConfig { chunk: 1, ..ValidateConfig::default() });
    let all = run(&lines, &ValidateConfig { chunk: 1000, ..ValidateConfig::default() });
    assert_eq!(one.problems, all.problems);
    assert_eq!(one.checks, all.checks);
}

#[test]
fn reports_render_every_failing_check() {
    let lines = [json!({"id": 1}), json!({"id": 2, "tests": {}, "completion": "x"})];
    let report = run(&lines, &ValidateConfig::default());
    let md = report.to_markdown(50);
    assert!(md.contains("## `malformed_record`") && md.contains("## `empty_tests`"), "{md}");
    assert!(md.contains("```mermaid\npie"));
    assert!(md.contains("█"));
    let table = report.summary_table();
    assert!(table.contains("empty_tests") && table.contains("100.0%"), "{table}");
    let parsed: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(parsed["problems_total"], 2);
    assert_eq!(parsed["problems"][1]["check"], "empty_tests");
}

#[test]
fn empty_test_sets_are_recognised() {
    for empty in [json!(null), json!({}), json!({"stdio": []}), json!({"script": "\n", "entry_point": "f"}), json!([])]
    {
        assert!(tests_are_empty(&empty), "{empty}");
    }
    for full in [json!({"stdio": [{"input": "", "output": ""}]}), json!({"script": "assert f() == 1"})] {
        assert!(!tests_are_empty(&full), "{full}");
    }
}
