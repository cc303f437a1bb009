//! The code verifier: compile and run model-written code in wasmtime sandboxes against tests.
//!
//! # What it checks
//! The program in the completion's last fenced code block (or the whole completion when it has no
//! fence) is built for its `language` (default `python`) and run against the sample's `tests`. The
//! sample is `correct` when every test passes; the fraction passed is reported for partial credit.
//!
//! # Accepted forms
//! `tests` is one of:
//! * `{"stdio": [{"input": "...", "output": "..."}]}`: run with stdin, compare stdout ([`compare`]);
//! * `{"call": [{"args": [...], "kwargs": {...}, "expected": ...}], "entry_point": "f"}` (Python):
//!   call `f` (or `Solution().f`) once per test; the return value is serialised to JSON in the guest
//!   and compared on the host, so an object whose `__eq__` always says True cannot pass;
//! * `{"script": "...", "entry_point": "f"}`: HumanEval/MBPP/MultiPL-E style; the test code runs after
//!   the solution (Python: `check(entry_point)` is called when `check` is defined; C, C++, Rust: the
//!   script is a `main` with asserts compiled with the solution; Rust: a script with `#[test]`
//!   functions is built with libtest, `rustc --test`, and judged per test, see [`unit`]);
//! * `{"pytest": "..."}` (Python): a pytest test module run by the real pytest against the solution
//!   as `solution.py`, judged by pytest's per-test outcome reports (see [`unit`]).
//!
//! A sample may instead carry its dataset's own fields (LiveCodeBench, APPS/TACO, KodCode, …):
//! [`layout`] reads them into `tests` when the sample is read.
//!
//! Optional keys: `prelude` (Python source run before the solution, as LiveCodeBench and APPS do),
//! `compare` ([`compare::CompareOptions`]), `checker` (a program that judges stdio
//! outputs: `{"language", "code" | "files", "convention": "rlvr" | "testlib" | "kattis"}`, see
//! [`checker`]), `file_io` (`{"input": "input.txt", "output": "output.txt"}`, see [`fileio`]),
//! `limits` ([`CodeLimits`] fields), `stop_at_first_failure` (bool), `interactor` (stdio tests of
//! an interactive problem: `{"language", "code" | "files", "convention"}`, run linked to the
//! program by pipes, see [`interact`]; with a testlib interactor, `checker` judges its `tout`).
//!
//! # Verdicts
//! Per test: `AC`, `WA`, `TLE`, `MLE`, `OLE`, `RE`, `CE`, with fuel, wall time, peak memory, the
//! limit that fired and the stderr tail. A pass is proven by the host, never by an exit status
//! alone: stdio output is compared on the host, call results are compared on the host, and script
//! tests pass only when control returns to the host after the tests (see [`lang`]). Expected outputs
//! never enter the guest. A non-zero exit after correct output is `RE`.
//!
//! # Limits
//! [`CodeLimits`]: fuel (deterministic CPU), wall clock, memory, output, stack, compile time and memory,
//! source size, number of tests. Each limit that fires is named in the test's `limit`.
//!
//! # Example
//! ```json
//! {"id": 1, "language": "python", "completion": "```python\nprint(sum(map(int, input().split())))\n```",
//!  "tests": {"stdio": [{"input": "1 2\n", "output": "3\n"}]}}
//! ```

pub mod admission;
pub mod checker;
pub mod compare;
pub mod compile;
pub mod fileio;
pub mod interact;
pub mod lang;
pub mod layout;
pub mod limits;
pub mod run;
pub mod sandbox;
pub mod unit;

#[cfg(test)]
mod cases;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use checker::{Checker, Convention};
pub use compare::{CompareMode, CompareOptions};
pub use compile::BuildError;
pub use fileio::FileIo;
pub use lang::{LANGUAGES, Language, language};
pub use limits::CodeLimits;
pub use sandbox::{LimitKind, Sandbox};

use crate::sample::{Sample, Verdict, json_type_name};
use lang::{BuildContext, CallArgs, Program};
use sandbox::{Entry, Exit, RunInput, RunOutput};

/// Code verifier settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeConfig {
    /// Default limits; a sample's `tests.limits` overrides fields.
    pub limits: CodeLimits,
    /// Stop at the first failing test (the remaining tests count as not passed).
    pub stop_at_first_failure: bool,
}

/// The verdict of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TestVerdict {
    /// Accepted.
    AC,
    /// Wrong answer (also: exited before the tests completed, forged result).
    WA,
    /// Time limit (fuel or wall clock).
    TLE,
    /// Memory limit.
    MLE,
    /// Output limit.
    OLE,
    /// Runtime error (trap, non-zero exit, uncaught exception, stack overflow).
    RE,
    /// Compile error.
    CE,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test's index in the sample's tests.
    pub index: usize,
    /// The verdict.
    pub verdict: TestVerdict,
    /// The limit that fired, if any.
    pub limit: Option<LimitKind>,
    /// Why it failed (mismatch, error message), if it did.
    pub message: Option<String>,
    /// Fuel used.
    pub fuel: u64,
    /// Wall time in milliseconds (instantiation + run).
    pub wall_ms: f64,
    /// Peak linear memory in bytes.
    pub peak_memory: u64,
    /// The end of stderr.
    pub stderr_tail: String,
    /// Partial credit a checker gave (testlib points, exit 7); the test itself is then not `AC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
}

/// What the code verifier concluded about one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeReport {
    /// `correct` when every test passed; `incorrect` when one failed; `no_answer` without code;
    /// `error` when the sample or the toolchain is at fault.
    pub verdict: Verdict,
    /// Tests passed.
    pub passed: usize,
    /// Tests in the sample.
    pub total: usize,
    /// One result per test that ran, in order.
    pub tests: Vec<TestResult>,
    /// The language used.
    pub language: Option<String>,
    /// Why the sample could not be judged (verdict `error`), or the compile error.
    pub error: Option<String>,
}

impl CodeReport {
    /// Fraction of tests passed (0 when there are none).
    pub fn pass_fraction(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.passed as f64 / self.total as f64 }
    }

    fn error(language: Option<String>, message: impl Into<String>) -> CodeReport {
        CodeReport {
            verdict: Verdict::Error,
            passed: 0,
            total: 0,
            tests: Vec::new(),
            language,
            error: Some(message.into()),
        }
    }
}

/// Why a sample's `tests` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestsError {
    /// `tests` is missing.
    #[error("the code verifier needs the field `tests`")]
    Missing,
    /// A field has the wrong shape.
    #[error("tests.{field}: {message}")]
    Invalid {
        /// The field, e.g. `stdio[3].input`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Not exactly one of `stdio`, `call`, `script`, `pytest`.
    #[error("tests must have exactly one of `stdio`, `call`, `script`, `pytest`")]
    Kind,
    /// A test form this verifier recognises but does not run (yet).
    #[error("tests.{field}: {message}")]
    Unsupported {
        /// The field, e.g. `interactor`.
        field: String,
        /// What is missing.
        message: String,
    },
    /// More tests than [`CodeLimits::tests`].
    #[error("{count} tests, over the limit of {limit} (tests)")]
    TooMany {
        /// Tests given.
        count: usize,
        /// The limit.
        limit: u64,
    },
}

/// The test kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Suite {
    /// Stdin/stdout tests: `(input, expected output)`.
    Stdio(Vec<(String, String)>),
    /// Function-call tests.
    Call {
        /// Function name (or `Solution().f`).
        entry_point: String,
        /// Arguments per test.
        calls: Vec<CallArgs>,
        /// Expected return value per test.
        expected: Vec<Value>,
    },
    /// One test script run after the solution.
    Script {
        /// The test code.
        script: String,
        /// The function under test.
        entry_point: Option<String>,
    },
    /// A pytest test module (Python), run against the solution as `solution.py`.
    Pytest(String),
}

/// A parsed `tests` object.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSpec {
    /// The tests.
    pub suite: Suite,
    /// How stdio outputs (and call results) are compared.
    pub compare: CompareOptions,
    /// An optional checker for stdio tests.
    pub checker: Option<Checker>,
    /// The interactor of an interactive problem (stdio tests: input and answer go to it).
    pub interactor: Option<Checker>,
    /// Files instead of stdin/stdout, for stdio tests.
    pub file_io: Option<FileIo>,
    /// The limits for this sample.
    pub limits: CodeLimits,
    /// Stop at the first failure.
    pub stop_at_first_failure: bool,
    /// Python source run before the solution (a dataset's import prelude).
    pub prelude: Option<String>,
}

impl TestSpec {
    /// Number of tests.
    pub fn len(&self) -> usize {
        match &self.suite {
            Suite::Stdio(cases) => cases.len(),
            Suite::Call { calls, .. } => calls.len(),
            Suite::Script { .. } | Suite::Pytest(_) => 1,
        }
    }

    /// Whether there are no tests.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses and checks a sample's `tests` object.
    pub fn parse(tests: &Value, config: &CodeConfig) -> Result<TestSpec, TestsError> {
        let invalid = |field: &str, message: String| TestsError::Invalid { field: field.to_string(), message };
        let Value::Object(map) = tests else {
            return Err(invalid("", format!("must be an object, got {}", json_type_name(tests))));
        };
        let string = |v: &Value, field: &str| -> Result<String, TestsError> {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| invalid(field, format!("must be a string, got {}", json_type_name(v))))
        };
        let entry_point = map.get("entry_point").map(|v| string(v, "entry_point")).transpose()?;
        let kinds = ["stdio", "call", "script", "pytest"].iter().filter(|k| map.contains_key(**k)).count();
        if kinds != 1 {
            return Err(TestsError::Kind);
        }
        let suite = if let Some(stdio) = map.get("stdio") {
            let Value::Array(cases) = stdio else {
                return Err(invalid("stdio", format!("must be an array, got {}", json_type_name(stdio))));
            };
            let mut out = Vec::with_capacity(cases.len());
            for (i, case) in cases.iter().enumerate() {
                let field = |f: &str| format!("stdio[{i}].{f}");
                let input = case.get("input").ok_or_else(|| invalid(&field("input"), "is missing".into()))?;
                let output = case.get("output").ok_or_else(|| invalid(&field("output"), "is missing".into()))?;
                out.push((string(input, &field("input"))?, string(output, &field("output"))?));
            }
            Suite::Stdio(out)
        } else if let Some(call) = map.get("call") {
            let Value::Array(cases) = call else {
                return Err(invalid("call", format!("must be an array, got {}", json_type_name(call))));
            };
            let entry_point =
                entry_point.clone().ok_or_else(|| invalid("entry_point", "is required for call tests".into()))?;
            let (mut calls, mut expected) = (Vec::new(), Vec::new());
            for (i, case) in cases.iter().enumerate() {
                let args = match case.get("args") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(other) => {
                        return Err(invalid(
                            &format!("call[{i}].args"),
                            format!("must be an array, got {}", json_type_name(other)),
                        ));
                    }
                };
                let kwargs = match case.get("kwargs") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(other) => {
                        return Err(invalid(
                            &format!("call[{i}].kwargs"),
                            format!("must be an object, got {}", json_type_name(other)),
                        ));
                    }
                };
                let exp =
                    case.get("expected").ok_or_else(|| invalid(&format!("call[{i}].expected"), "is missing".into()))?;
                calls.push(CallArgs { args, kwargs });
                expected.push(exp.clone());
            }
            Suite::Call { entry_point, calls, expected }
        } else if let Some(tests) = map.get("pytest") {
            Suite::Pytest(string(tests, "pytest")?)
        } else {
            let script = map.get("script").map(|v| string(v, "script")).transpose()?.unwrap_or_default();
            Suite::Script { script, entry_point }
        };
        let compare = match map.get("compare") {
            None | Some(Value::Null) => CompareOptions::default(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| invalid("compare", e.to_string()))?,
        };
        let checker = match map.get("checker") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Checker::parse(v, "checker")?),
        };
        let interactor = match map.get("interactor") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Checker::parse(v, "interactor")?),
        };
        let file_io = match map.get("file_io") {
            None | Some(Value::Null) => None,
            Some(v) => Some(FileIo::parse(v)?),
        };
        if let Some(interactor) = &interactor {
            if !matches!(suite, Suite::Stdio(_)) {
                return Err(invalid("interactor", "goes with `stdio` tests (each input and answer go to it)".into()));
            }
            if file_io.is_some() {
                return Err(invalid("interactor", "cannot be combined with `file_io`".into()));
            }
            if interactor.convention == Convention::OpenR1 {
                return Err(invalid(
                    "interactor.convention",
                    "open_r1 is a checker's convention; use rlvr, testlib or kattis".into(),
                ));
            }
            if checker.is_some() && interactor.convention != Convention::Testlib {
                return Err(invalid(
                    "checker",
                    "with an interactor, a checker judges a testlib interactor's `tout`; this interactor's \
                     convention gives the verdict itself"
                        .into(),
                ));
            }
        }
        let limits = match map.get("limits") {
            None | Some(Value::Null) => config.limits,
            Some(v) => config.limits.merge_json(v).map_err(|e| invalid("limits", e.to_string()))?,
        };
        let stop_at_first_failure = match map.get("stop_at_first_failure") {
            None | Some(Value::Null) => config.stop_at_first_failure,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(
                    "stop_at_first_failure",
                    format!("must be a boolean, got {}", json_type_name(other)),
                ));
            }
        };
        let prelude = map.get("prelude").filter(|v| !v.is_null()).map(|v| string(v, "prelude")).transpose()?;
        let spec = TestSpec { suite, compare, checker, interactor, file_io, limits, stop_at_first_failure, prelude };
        if spec.len() as u64 > spec.limits.tests {
            return Err(TestsError::TooMany { count: spec.len(), limit: spec.limits.tests });
        }
        Ok(spec)
    }
}

/// The program in a completion: the last fenced code block, or the whole text when there is none.
/// An unclosed final fence (a truncated generation) yields the text after it.
pub fn extract_code(completion: &str) -> &str {
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut open: Option<usize> = None;
    let mut offset = 0;
    for line in completion.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            match open {
                None => open = Some(offset + line.len()),
                Some(start) => {
                    blocks.push((start, offset));
                    open = None;
                }
            }
        }
        offset += line.len();
    }
    if let Some((start, end)) = blocks.last() {
        return &completion[*start..*end];
    }
    if let Some(start) = open {
        return &completion[start..];
    }
    completion
}

/// Judges one sample. Never panics on sample content; toolchain problems give verdict `error`.
pub fn judge(sample: &Sample, config: &CodeConfig) -> CodeReport {
    let lang_name = sample.language.as_deref().unwrap_or("python");
    let Some(lang) = language(lang_name) else {
        let known: Vec<&str> = LANGUAGES.iter().map(|l| l.name()).collect();
        return CodeReport::error(
            Some(lang_name.to_string()),
            format!("unknown language `{lang_name}` (known: {})", known.join(", ")),
        );
    };
    let name = Some(lang.name().to_string());
    let spec = match sample.tests.as_ref().ok_or(TestsError::Missing).and_then(|t| TestSpec::parse(t, config)) {
        Ok(spec) => spec,
        Err(e) => return CodeReport::error(name, e.to_string()),
    };
    let code = extract_code(&sample.completion);
    if code.trim().is_empty() {
        return CodeReport {
            verdict: Verdict::NoAnswer,
            passed: 0,
            total: spec.len(),
            tests: Vec::new(),
            language: name,
            error: None,
        };
    }
    let sandbox = match Sandbox::global() {
        Ok(s) => s,
        Err(e) => return CodeReport::error(name, e),
    };
    let with_prelude;
    let code = match &spec.prelude {
        Some(prelude) if lang.name() == "python" => {
            with_prelude = format!("{prelude}\n{code}");
            with_prelude.as_str()
        }
        _ => code,
    };
    match sandbox::on_big_stack(|| judge_in_sandbox(sandbox, lang, code, &spec)) {
        Ok(mut report) => {
            report.language = name;
            report
        }
        Err(e) => CodeReport::error(name, format!("internal error in the code verifier: {e}")),
    }
}

fn judge_in_sandbox(sandbox: &Sandbox, lang: &dyn Language, code: &str, spec: &TestSpec) -> CodeReport {
    let cx = BuildContext { sandbox, limits: &spec.limits };
    if let Some(report) = unit::judge_unit_tests(&cx, lang, code, spec) {
        return report;
    }
    let total = spec.len();
    let built = match &spec.suite {
        Suite::Stdio(_) => lang.build_main(&cx, code),
        Suite::Call { entry_point, calls, .. } => lang.build_calls(&cx, code, entry_point, calls),
        Suite::Script { script, entry_point } => lang.build_script(&cx, code, script, entry_point.as_deref()),
        Suite::Pytest(_) => Err(BuildError::Unsupported(format!("pytest tests are Python only, not {}", lang.title()))),
    };
    let program = match built {
        Ok(p) => p,
        Err(BuildError::Compile(message) | BuildError::CompileTimeout(message)) => {
            let tests = (0..total)
                .map(|index| TestResult {
                    index,
                    verdict: TestVerdict::CE,
                    limit: None,
                    message: Some(compile::tail(&message, 2000)),
                    fuel: 0,
                    wall_ms: 0.0,
                    peak_memory: 0,
                    stderr_tail: String::new(),
                    points: None,
                })
                .collect();
            return CodeReport {
                verdict: Verdict::Incorrect,
                passed: 0,
                total,
                tests,
                language: None,
                error: Some(format!("compile error: {}", compile::tail(&message, 2000))),
            };
        }
        Err(e) => return CodeReport::error(None, e.to_string()),
    };
    let checker = match (&spec.suite, &spec.checker) {
        (Suite::Stdio(_), Some(checker)) => match checker.build(&cx) {
            Ok(p) => Some(p),
            Err(e) => return CodeReport::error(None, e),
        },
        _ => None,
    };
    let interactor = match (&spec.suite, &spec.interactor) {
        (Suite::Stdio(cases), Some(interactor)) => match interactor.build(&cx) {
            Ok(p) => Some((p, interactor.convention, cases)),
            Err(e) => return CodeReport::error(None, e.replacen("checker", "interactor", 1)),
        },
        _ => None,
    };
    let mut results = Vec::with_capacity(total);
    for index in 0..total {
        let result = match &interactor {
            Some((built, convention, cases)) => interact::run_test(
                sandbox,
                &program,
                built,
                *convention,
                checker.as_ref(),
                &cases[index].0,
                &cases[index].1,
                &spec.limits,
                index,
            ),
            None => run_test(sandbox, &program, checker.as_ref(), spec, index),
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => return CodeReport::error(None, e),
        };
        let failed = result.verdict != TestVerdict::AC;
        results.push(result);
        if failed && spec.stop_at_first_failure {
            break;
        }
    }
    let passed = results.iter().filter(|r| r.verdict == TestVerdict::AC).count();
    CodeReport {
        verdict: if passed == total && total > 0 { Verdict::Correct } else { Verdict::Incorrect },
        passed,
        total,
        tests: results,
        language: None,
        error: None,
    }
}

fn run_once(
    sandbox: &Sandbox,
    program: &Program,
    args: &[String],
    stdin: &[u8],
    files: &[(String, Vec<u8>)],
    limits: &CodeLimits,
) -> Result<RunOutput, String> {
    let input = RunInput { args, stdin, files, ro_dirs: &program.ro_dirs, scratch: false, entry: program.entry };
    sandbox.run(&program.module, &input, limits).map_err(|e| e.to_string())
}

fn run_test(
    sandbox: &Sandbox,
    program: &Program,
    checker: Option<&Program>,
    spec: &TestSpec,
    index: usize,
) -> Result<TestResult, String> {
    let limits = &spec.limits;
    let file_io = match &spec.suite {
        Suite::Stdio(_) => spec.file_io.as_ref(),
        _ => None,
    };
    let (args, stdin): (Vec<String>, &[u8]) = match &spec.suite {
        Suite::Stdio(_) if file_io.is_some_and(|io| io.input.is_some()) => (program.args.clone(), b""),
        Suite::Stdio(cases) => (program.args.clone(), cases[index].0.as_bytes()),
        Suite::Call { .. } => {
            let mut args = program.args.clone();
            args.push(index.to_string());
            (args, b"")
        }
        Suite::Script { .. } | Suite::Pytest(_) => (program.args.clone(), b""),
    };
    let out = match (file_io, &spec.suite) {
        (Some(io), Suite::Stdio(cases)) => {
            let files: Vec<(String, Vec<u8>)> =
                io.input.iter().map(|name| (name.clone(), cases[index].0.as_bytes().to_vec())).collect();
            let workdir = sandbox::Workdir { guest: fileio::WORKDIR, files: &files };
            let input = RunInput {
                args: &args,
                stdin,
                files: &program.files,
                ro_dirs: &program.ro_dirs,
                scratch: false,
                entry: program.entry,
            };
            sandbox.run_with_workdir(&program.module, &input, limits, Some(&workdir)).map_err(|e| e.to_string())?
        }
        _ => run_once(sandbox, program, &args, stdin, &program.files, limits)?,
    };
    let mut points = None;
    let (verdict, limit, message) = match &spec.suite {
        Suite::Stdio(cases) => match failure(&out) {
            Some(f) => f,
            None => {
                let actual = match file_io.and_then(|io| io.output.as_ref()) {
                    None => Some(String::from_utf8_lossy(&out.stdout)),
                    Some(name) => out
                        .workdir_files
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, bytes)| String::from_utf8_lossy(bytes)),
                };
                let expected = &cases[index].1;
                match (actual, checker, &spec.checker) {
                    (None, _, _) => (
                        TestVerdict::WA,
                        None,
                        Some(format!(
                            "the program wrote no `{}`",
                            file_io.and_then(|io| io.output.as_deref()).unwrap_or_default()
                        )),
                    ),
                    (Some(actual), Some(program), Some(spec_checker)) => {
                        let outcome = checker::check(
                            sandbox,
                            program,
                            spec_checker.convention,
                            &cases[index].0,
                            &actual,
                            expected,
                            limits,
                        )?;
                        points = outcome.points;
                        (outcome.verdict, None, outcome.message)
                    }
                    (Some(actual), _, _) => match compare::compare_output(&actual, expected, &spec.compare) {
                        Ok(()) => (TestVerdict::AC, None, None),
                        Err(m) => (TestVerdict::WA, None, Some(m.0)),
                    },
                }
            }
        },
        Suite::Call { expected, .. } => call_verdict(&out, index, &expected[index], &spec.compare),
        Suite::Script { .. } | Suite::Pytest(_) => script_verdict(&out, program.entry),
    };
    Ok(TestResult::of_run(index, (verdict, limit, message), &out, points))
}

type Decision = (TestVerdict, Option<LimitKind>, Option<String>);

impl TestResult {
    /// Test `index`'s result: its decision, with the costs and stderr of the program's run `out`.
    fn of_run(index: usize, (verdict, limit, message): Decision, out: &RunOutput, points: Option<f64>) -> TestResult {
        TestResult {
            index,
            verdict,
            limit,
            message,
            fuel: out.fuel,
            wall_ms: out.wall.as_secs_f64() * 1e3,
            peak_memory: out.peak_memory,
            stderr_tail: compile::tail(&String::from_utf8_lossy(&out.stderr), 1000),
            points,
        }
    }
}

fn limit_decision(limit: LimitKind, out: &RunOutput) -> Decision {
    let verdict = match limit {
        LimitKind::Fuel | LimitKind::Wall => TestVerdict::TLE,
        LimitKind::Memory => TestVerdict::MLE,
        LimitKind::Output => TestVerdict::OLE,
        LimitKind::Stack => TestVerdict::RE,
        LimitKind::Idle => TestVerdict::TLE,
    };
    let what = match limit {
        LimitKind::Fuel => format!("CPU limit: used all {} fuel", out.fuel),
        LimitKind::Wall => format!(
            "wall-clock limit ({:.0} ms run, {:.0} ms slept)",
            out.wall.as_secs_f64() * 1e3,
            out.slept.as_secs_f64() * 1e3
        ),
        LimitKind::Memory => format!("memory limit (peak {} bytes)", out.peak_memory),
        LimitKind::Output => "output limit".to_string(),
        LimitKind::Stack => "stack overflow".to_string(),
        LimitKind::Idle => "deadlock: both guests waited for input (idleness limit)".to_string(),
    };
    (verdict, Some(limit), Some(what))
}

fn python_compile_error(out: &RunOutput) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.trim_end().lines().last()?;
    ["SyntaxError", "IndentationError", "TabError"]
        .iter()
        .any(|e| last.starts_with(e))
        .then(|| compile::tail(stderr.trim_end(), 1000))
}

/// The verdict of a run that did not end normally (or `None` when the program exited 0).
fn failure(out: &RunOutput) -> Option<Decision> {
    match &out.exit {
        Exit::Limit(limit) => Some(limit_decision(*limit, out)),
        Exit::Status(0) | Exit::Returned(0) => None,
        _ if out.memory_refused => Some(limit_decision(LimitKind::Memory, out)),
        Exit::Status(code) | Exit::Returned(code) | Exit::ExitedEarly(code) => {
            if let Some(ce) = python_compile_error(out) {
                return Some((TestVerdict::CE, None, Some(ce)));
            }
            Some((TestVerdict::RE, None, Some(format!("exit status {code}"))))
        }
        Exit::Trap(trap) => Some((TestVerdict::RE, None, Some(libcxx_throw(out).unwrap_or_else(|| trap.clone())))),
    }
}

/// The reason for a trap that is an exception thrown inside Debian's prebuilt `libc++.a`, which is
/// compiled without exceptions: libc++ prints `<type> was thrown in -fno-exceptions mode` and aborts,
/// so no `catch` in the program can see it. `std::string` and `std::sto*` are rebuilt with exceptions (see
/// `src/code/lang/c.rs`); the rest of `libc++.a` (iostreams, `<regex>`, …) is a known toolchain limit.
fn libcxx_throw(out: &RunOutput) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().rev().find(|l| l.contains(" was thrown in -fno-exceptions mode"))?;
    Some(format!(
        "libc++ aborted: {} (Debian's wasm32 libc++.a is built without exceptions, so an exception it throws itself, e.g. from <regex> or iostreams, cannot be caught; known limit)",
        compile::tail(line.trim(), 200)
    ))
}

fn script_verdict(out: &RunOutput, entry: Entry) -> Decision {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let assertion = stderr.contains("AssertionError") || stderr.contains("Assertion") || stderr.contains("assertion");
    match (entry, &out.exit) {
        (_, Exit::Limit(limit)) => limit_decision(*limit, out),
        (Entry::Command, Exit::Status(0)) if out.finished == Some(0) => (TestVerdict::AC, None, None),
        (Entry::Reactor, Exit::Returned(0)) => (TestVerdict::AC, None, None),
        (Entry::Reactor, Exit::Returned(v)) => (TestVerdict::WA, None, Some(format!("main returned {v}"))),
        (_, Exit::ExitedEarly(code)) => (
            TestVerdict::WA,
            None,
            Some(format!("exited with status {code} during initialisation, before the tests ran")),
        ),
        (_, Exit::Status(0)) => {
            (TestVerdict::WA, None, Some("exited with status 0 before the tests completed".to_string()))
        }
        _ if assertion => (TestVerdict::WA, None, Some("a test assertion failed".to_string())),
        _ => failure(out).unwrap_or((TestVerdict::RE, None, Some("the test run failed".into()))),
    }
}

fn call_verdict(out: &RunOutput, index: usize, expected: &Value, opts: &CompareOptions) -> Decision {
    if let Exit::Limit(limit) = out.exit {
        return limit_decision(limit, out);
    }
    let mine: Vec<&Vec<u8>> = out.emitted.iter().filter(|(i, _)| *i as i64 == index as i64).map(|(_, t)| t).collect();
    if out.emitted.len() > 1 || mine.len() > 1 {
        return (TestVerdict::WA, None, Some("more than one result was reported (forged result)".into()));
    }
    let Some(text) = mine.first() else {
        if let Some(f) = failure(out) {
            return f;
        }
        return (TestVerdict::WA, None, Some("the program exited before the call returned".into()));
    };
    if let Some(f) = failure(out) {
        return f;
    }
    if out.finished != Some(0) {
        return (TestVerdict::WA, None, Some("the harness did not complete".into()));
    }
    let text = String::from_utf8_lossy(text);
    if let Some(err) = text.strip_prefix("err:") {
        return (TestVerdict::RE, None, Some(err.to_string()));
    }
    if let Some(err) = text.strip_prefix("bad:") {
        return (TestVerdict::WA, None, Some(format!("the return value is not plain JSON data ({err})")));
    }
    let Some(json) = text.strip_prefix("ok:") else {
        return (TestVerdict::WA, None, Some("malformed result".into()));
    };
    match crate::json::parse(json) {
        Ok(actual) if compare::compare_result(&actual, expected, opts) => (TestVerdict::AC, None, None),
        Ok(actual) => {
            let (expected, actual) = (crate::json::to_text(expected), crate::json::to_text(&actual));
            (TestVerdict::WA, None, Some(compile::tail(&format!("expected {expected}, got {actual}"), 300)))
        }
        Err(e) => (TestVerdict::WA, None, Some(format!("result is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_last_fence() {
        assert_eq!(extract_code("a\n```python\nx=1\n```\nb\n```py\ny=2\n```\n"), "y=2\n");
        assert_eq!(extract_code("print(1)"), "print(1)");
        assert_eq!(extract_code("```cpp\nint main(){}"), "int main(){}");
    }

    #[test]
    fn parse_kinds() {
        let c = CodeConfig::default();
        let s = TestSpec::parse(&serde_json::json!({"stdio": [{"input": "1", "output": "2"}]}), &c).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(TestSpec::parse(&serde_json::json!({}), &c), Err(TestsError::Kind));
        let e = TestSpec::parse(&serde_json::json!({"call": [{"args": [1], "expected": 2}]}), &c);
        assert!(matches!(e, Err(TestsError::Invalid { .. })));
        let s = TestSpec::parse(&serde_json::json!({"script": "assert f(1)==1", "entry_point": "f"}), &c).unwrap();
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn tests_limit_boundary() {
        let c = CodeConfig::default();
        let at = serde_json::json!({"stdio": [{"input": "", "output": ""}, {"input": "", "output": ""}], "limits": {"tests": 2}});
        assert!(TestSpec::parse(&at, &c).is_ok());
        let past = serde_json::json!({"stdio": [{"input": "", "output": ""}, {"input": "", "output": ""}], "limits": {"tests": 1}});
        assert!(matches!(TestSpec::parse(&past, &c), Err(TestsError::TooMany { count: 2, limit: 1 })));
    }
}
