//! Unit-test suites judged per test by the test framework's own report: pytest (Python) and
//! libtest (Rust `#[test]`).
//!
//! # pytest
//! The real pytest (pinned wheels, `verifiers/runtimes/pytest-requirements.txt`) runs inside the
//! CPython guest on `test_solution.py` with the solution as `solution.py`. A harness plugin records
//! the collected items and every setup/call/teardown report and hands one JSON report to the host,
//! which decides; the exit status is never enough. The sample passes only when at least one test
//! was collected, there was no collection error, every collected test has a passing call report and
//! no phase failed, the harness returned (the host saw `rlvr.finish`: `os._exit(0)` or a
//! `SystemExit` that escapes pytest fail) and exactly one report was handed over (a solution that
//! emits its own report is caught). A skip, an xfail, or a module-level `pytest.skip` is not a pass.
//! `test_*` names the test module only imports are not collected (KodCode's `from solution import *`).
//! The whole session runs under one test's limits; the solution shares the interpreter with pytest
//! (as it does natively), so this proves the outcome against exit tricks, not against a solution that
//! rewrites pytest's internals.
//!
//! # Rust `#[test]`
//! The solution and its test module are built with `rustc --test` for wasm32-wasip1. The host lists the
//! tests (`--list`), then runs each one alone (`--exact NAME`) in a fresh instance: wasm32-wasip1
//! aborts on panic, so one run per test is what gives per-test verdicts. A test passes when libtest's
//! `main` returned 0 to the host (an `exit(0)` inside a test never returns it) and reported the test
//! `ok`; a panic is `WA` with its message, an ignored test is not a pass, and no test at all fails.

use serde::Deserialize;

use super::lang::{BuildContext, Language, Program, python, rust};
use super::sandbox::{Exit, RunInput, RunOutput};
use super::{BuildError, CodeReport, Suite, TestResult, TestSpec, TestVerdict, compile, failure, limit_decision};
use crate::sample::Verdict;

/// Judges `spec` when it is a unit-test suite this module handles (`None` otherwise).
pub(super) fn judge_unit_tests(
    cx: &BuildContext<'_>,
    lang: &dyn Language,
    code: &str,
    spec: &TestSpec,
) -> Option<CodeReport> {
    match &spec.suite {
        Suite::Pytest(tests) if lang.name() == "python" => Some(pytest(cx, code, tests)),
        Suite::Script { script, .. } if lang.name() == "rust" && rust::is_libtest(script) => {
            Some(rust_tests(cx, code, script, spec))
        }
        _ => None,
    }
}

fn result(index: usize, verdict: TestVerdict, message: Option<String>, out: Option<&RunOutput>) -> TestResult {
    TestResult {
        index,
        verdict,
        limit: None,
        message,
        fuel: out.map_or(0, |o| o.fuel),
        wall_ms: out.map_or(0.0, |o| o.wall.as_secs_f64() * 1e3),
        peak_memory: out.map_or(0, |o| o.peak_memory),
        stderr_tail: out.map_or(String::new(), |o| compile::tail(&String::from_utf8_lossy(&o.stderr), 1000)),
        points: None,
    }
}

fn report(tests: Vec<TestResult>) -> CodeReport {
    let passed = tests.iter().filter(|t| t.verdict == TestVerdict::AC).count();
    let total = tests.len();
    CodeReport {
        verdict: if passed == total && total > 0 { Verdict::Correct } else { Verdict::Incorrect },
        passed,
        total,
        tests,
        language: None,
        error: None,
    }
}

fn build_failed(e: BuildError) -> CodeReport {
    match e {
        BuildError::Compile(message) | BuildError::CompileTimeout(message) => {
            let message = compile::tail(&message, 2000);
            let mut r = report(vec![result(0, TestVerdict::CE, Some(message.clone()), None)]);
            r.error = Some(format!("compile error: {message}"));
            r
        }
        other => CodeReport::error(None, other.to_string()),
    }
}

fn run(cx: &BuildContext<'_>, program: &Program, extra_args: &[&str], scratch: bool) -> Result<RunOutput, String> {
    let mut args = program.args.clone();
    args.extend(extra_args.iter().map(|a| a.to_string()));
    let input = RunInput {
        args: &args,
        stdin: b"",
        files: &program.files,
        ro_dirs: &program.ro_dirs,
        scratch,
        entry: program.entry,
    };
    cx.sandbox.run(&program.module, &input, cx.limits).map_err(|e| e.to_string())
}

/// A run that ended in a limit, a trap or an early exit, as one test's result.
fn run_failed(index: usize, out: &RunOutput, fallback: &str) -> TestResult {
    let (verdict, limit, message) = match &out.exit {
        Exit::Limit(limit) => limit_decision(*limit, out),
        Exit::Status(code) | Exit::ExitedEarly(code) => {
            (TestVerdict::WA, None, Some(format!("{fallback} (exited with status {code})")))
        }
        _ => failure(out).unwrap_or((TestVerdict::WA, None, Some(fallback.to_string()))),
    };
    TestResult { limit, ..result(index, verdict, message, Some(out)) }
}

// ---------- pytest ----------

#[derive(Debug, Deserialize)]
struct PytestState {
    collected: Vec<String>,
    reports: Vec<PhaseReport>,
    errors: Vec<CollectError>,
}

#[derive(Debug, Deserialize)]
struct PhaseReport {
    nodeid: String,
    when: String,
    outcome: String,
    #[serde(default)]
    exception: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct CollectError {
    nodeid: String,
    message: String,
}

fn pytest(cx: &BuildContext<'_>, code: &str, tests: &str) -> CodeReport {
    let program = match python::build_pytest(cx, code, tests) {
        Ok(p) => p,
        Err(e) => return build_failed(e),
    };
    let out = match run(cx, &program, &[], true) {
        Ok(out) => out,
        Err(e) => return CodeReport::error(None, e),
    };
    report(pytest_verdicts(&out))
}

/// The per-test verdicts of one pytest run, from the harness's report.
fn pytest_verdicts(out: &RunOutput) -> Vec<TestResult> {
    if let Exit::Limit(_) = out.exit {
        return vec![run_failed(0, out, "")];
    }
    if out.emitted.len() > 1 {
        return vec![result(
            0,
            TestVerdict::WA,
            Some("more than one pytest report was handed over (forged)".into()),
            Some(out),
        )];
    }
    let Some((_, text)) = out.emitted.first() else {
        return vec![run_failed(0, out, "the test run ended before pytest reported (os._exit, or an exit at import)")];
    };
    if out.finished != Some(0) {
        return vec![run_failed(0, out, "the pytest harness did not complete after pytest reported")];
    }
    let state: PytestState = match serde_json::from_slice(text) {
        Ok(s) => s,
        Err(e) => return vec![result(0, TestVerdict::WA, Some(format!("malformed pytest report: {e}")), Some(out))],
    };
    let mut results = Vec::new();
    for error in &state.errors {
        let message = format!("collection of {} failed: {}", error.nodeid, compile::tail(&error.message, 600));
        results.push(result(results.len(), TestVerdict::RE, Some(message), Some(out)));
    }
    if state.collected.is_empty() && results.is_empty() {
        results.push(result(0, TestVerdict::WA, Some("pytest collected no test".into()), Some(out)));
    }
    for nodeid in &state.collected {
        let phases: Vec<&PhaseReport> = state.reports.iter().filter(|r| &r.nodeid == nodeid).collect();
        let called = phases.iter().any(|p| p.when == "call" && p.outcome == "passed");
        let bad = phases.iter().find(|p| p.outcome != "passed");
        let (verdict, message) = match bad {
            None if called => (TestVerdict::AC, None),
            None => (TestVerdict::WA, Some(format!("{nodeid}: did not run"))),
            Some(p) => {
                let verdict = match p.outcome.as_str() {
                    // An assertion, `pytest.fail` or a `pytest.raises` that saw nothing: a wrong answer.
                    "failed" if p.when == "call" && matches!(p.exception.as_str(), "AssertionError" | "Failed") => {
                        TestVerdict::WA
                    }
                    "failed" => TestVerdict::RE,
                    _ => TestVerdict::WA,
                };
                let what = match p.outcome.as_str() {
                    "skipped" => "skipped (a skip is not a pass)",
                    "xfailed" => "xfailed (an expected failure is not a pass)",
                    "xpassed" => "xpassed",
                    _ => "failed",
                };
                (verdict, Some(format!("{nodeid}: {what} in {}: {}", p.when, compile::tail(&p.message, 600))))
            }
        };
        results.push(result(results.len(), verdict, message, Some(out)));
    }
    results
}

// ---------- Rust libtest ----------

fn rust_tests(cx: &BuildContext<'_>, code: &str, script: &str, spec: &TestSpec) -> CodeReport {
    let program = match rust::build_libtest(cx, &format!("{code}\n\n{script}\n")) {
        Ok(p) => p,
        Err(e) => return build_failed(e),
    };
    // One run of every test first: when libtest's `main` returned 0 to the host, its summary is the
    // last thing on stdout (a test may print a forged one, but only before it), and it says how many
    // passed. Anything else is judged test by test below.
    let all = match run(cx, &program, &["--test-threads", "1"], false) {
        Ok(out) => out,
        Err(e) => return CodeReport::error(None, e),
    };
    if all.exit == Exit::Returned(0)
        && let Some(passed) = all_passed(&String::from_utf8_lossy(&all.stdout))
    {
        let per_test = |o: &RunOutput| {
            let mut r = result(0, TestVerdict::AC, None, Some(o));
            r.fuel /= passed as u64;
            r.wall_ms /= passed as f64;
            r
        };
        let results = (0..passed).map(|index| TestResult { index, ..per_test(&all) }).collect();
        return report(results);
    }
    let listed = match run(cx, &program, &["--list", "--format", "terse"], false) {
        Ok(out) => out,
        Err(e) => return CodeReport::error(None, e),
    };
    if listed.exit != Exit::Returned(0) {
        return report(vec![run_failed(0, &listed, "listing the tests failed")]);
    }
    let names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return report(vec![result(
            0,
            TestVerdict::WA,
            Some("the test module has no #[test] function".into()),
            Some(&listed),
        )]);
    }
    let mut results = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let out = match run(cx, &program, &["--exact", name, "--test-threads", "1", "--nocapture"], false) {
            Ok(out) => out,
            Err(e) => return CodeReport::error(None, e),
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let result = match &out.exit {
            Exit::Returned(0) if stdout.contains(&format!("test {name} ... ok")) => {
                result(index, TestVerdict::AC, None, Some(&out))
            }
            Exit::Returned(0) if stdout.contains(&format!("test {name} ... ignored")) => result(
                index,
                TestVerdict::WA,
                Some(format!("{name}: ignored (an ignored test is not a pass)")),
                Some(&out),
            ),
            Exit::Returned(code) => {
                result(index, TestVerdict::WA, Some(format!("{name}: libtest returned {code}")), Some(&out))
            }
            Exit::Status(101) => {
                let why = compile::tail(stdout.trim(), 600);
                result(index, TestVerdict::WA, Some(format!("{name} failed: {why}")), Some(&out))
            }
            Exit::Trap(_) if String::from_utf8_lossy(&out.stderr).contains("panicked") => {
                let panic = compile::tail(String::from_utf8_lossy(&out.stderr).trim(), 600);
                result(index, TestVerdict::WA, Some(format!("{name} panicked: {panic}")), Some(&out))
            }
            _ => run_failed(index, &out, &format!("{name}: the test did not return to libtest")),
        };
        let failed = result.verdict != TestVerdict::AC;
        results.push(result);
        if failed && spec.stop_at_first_failure {
            break;
        }
    }
    let mut r = report(results);
    r.total = names.len();
    if r.passed != r.total {
        r.verdict = Verdict::Incorrect;
    }
    r
}

/// The number of tests libtest's last summary line says passed, when none failed or was ignored.
fn all_passed(stdout: &str) -> Option<usize> {
    let summary = stdout.lines().rev().find(|l| l.starts_with("test result: "))?;
    let rest = summary.strip_prefix("test result: ok. ")?;
    let mut counts = rest.split("; ").map(|part| part.split_once(' '));
    let passed: usize = counts.next()??.0.parse().ok()?;
    for (n, what) in counts.flatten() {
        if matches!(what, "failed" | "ignored") && n != "0" {
            return None;
        }
    }
    (passed > 0).then_some(passed)
}

#[cfg(test)]
mod tests {
    use super::all_passed;

    #[test]
    fn libtest_summary() {
        let ok = "running 2 tests\ntest a ... ok\ntest b ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n";
        assert_eq!(all_passed(ok), Some(2));
        let forged = "test result: ok. 5 passed; 0 failed; 0 ignored\ntest result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        assert_eq!(all_passed(forged), None, "the last summary counts, and an ignored test is not a pass");
        assert_eq!(all_passed("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n"), None);
        assert_eq!(all_passed("test result: FAILED. 1 passed; 1 failed; 0 ignored\n"), None);
    }
}
