//! Output checkers: programs that judge a test's output when more than one answer is right.
//!
//! A checker is `{"language", "code"}` or `{"language", "files": {name: text}}` (several sources,
//! e.g. Kattis' `validate.cc` + `validate.h`; every C/C++ translation unit among them is compiled,
//! the rest are headers; for Python the file named by `"main"`, else the only `.py` file, runs and
//! the others sit beside it, importable) plus a `convention` that says how it is called and what its
//! exit status means:
//!
//! | convention | argv | stdin | verdict |
//! |---|---|---|---|
//! | `rlvr` (default) | `input actual expected` | the input | 0 accepts, any other status rejects |
//! | `testlib` | `input output answer` | empty | 0 OK, 1 WA, 2 (and 4) PE, 8 unexpected EOF, 7 points (partial credit), 3 FAIL: a judge error |
//! | `kattis` | `input answer feedback_dir/` | the output | 42 accepted, 43 wrong answer, anything else a judge error |
//! | `open_r1` (open-r1 codeforces `generated_checker`) | `input.txt correct_output.txt solution_output.txt` | empty | exit 0 and a last stdout token `1` accepts, `0` rejects; anything else a judge error |
//!
//! Files are given as paths in the guest's read-only `/.rlvr`; a Kattis validator's feedback
//! directory is a fresh writable `/feedback/`, and the files it writes there (`judgemessage.txt`,
//! `teammessage.txt`, …) are quoted in the test's message. `#include "testlib.h"` finds the vendored
//! testlib 0.9.45 (`verifiers/runtimes/testlib/`, MIT) in every C++ build.
//!
//! Before a checker sees them, the program's output and the expected answer lose a leading UTF-8 BOM
//! and have `\r\n` turned into `\n` ([`normalize`]), so neither changes a checker's verdict.
//!
//! A checker that fails itself (testlib FAIL, a crash, a limit, an exit status outside its
//! convention) is a judge error: the sample's verdict is `error` with the checker's message, never a
//! wrong answer charged to the model. The checker runs under the sample's limits, so a checker that
//! hangs stops at the fuel or wall-clock limit and is reported the same way.

use serde_json::Value;

use super::lang::{self, BuildContext, Program};
use super::sandbox::{Exit, RunInput, RunOutput, Sandbox, Workdir};
use super::{BuildError, CodeLimits, TestVerdict, TestsError, compile};
use crate::sample::json_type_name;

/// How a checker is called and how its exit status reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Convention {
    /// rlvr's own: `argv = [input, actual, expected]`, exit 0 accepts.
    #[default]
    Rlvr,
    /// testlib (Codeforces, Polygon, CodeContests+): `checker input output answer`.
    Testlib,
    /// Kattis problemtools output validators: `validator input answer feedback_dir/ < output`.
    Kattis,
    /// open-r1 codeforces' `generated_checker` (Python):
    /// `checker.py input.txt correct_output.txt solution_output.txt`, printing `1` or `0`.
    OpenR1,
}

impl Convention {
    /// Parses a convention's name.
    pub fn parse(name: &str) -> Option<Convention> {
        match name.trim().to_ascii_lowercase().as_str() {
            "rlvr" => Some(Convention::Rlvr),
            "testlib" | "codeforces" | "polygon" => Some(Convention::Testlib),
            "kattis" | "problemtools" | "icpc" => Some(Convention::Kattis),
            "open_r1" | "open-r1" | "openr1" => Some(Convention::OpenR1),
            _ => None,
        }
    }

    /// The convention's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Convention::Rlvr => "rlvr",
            Convention::Testlib => "testlib",
            Convention::Kattis => "kattis",
            Convention::OpenR1 => "open_r1",
        }
    }
}

/// An output checker program.
#[derive(Debug, Clone, PartialEq)]
pub struct Checker {
    /// Its language.
    pub language: String,
    /// Its source files `(name, text)`; the first is the main one.
    pub files: Vec<(String, String)>,
    /// How it is called.
    pub convention: Convention,
}

/// Most source files a checker may have.
pub const MAX_CHECKER_FILES: usize = 64;

/// Whether a checker file name is a plain relative path (no `..`, no absolute path, no odd bytes).
fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('/')
        && name.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+/".contains(&b))
}

impl Checker {
    /// A one-file checker.
    pub fn single(language: &str, convention: Convention, code: &str) -> Checker {
        let name = match lang::language(language).map(|l| l.name()) {
            Some("c") => "checker.c",
            Some("cpp") => "checker.cpp",
            Some("rust") => "checker.rs",
            _ => "checker.py",
        };
        Checker { language: language.to_string(), files: vec![(name.to_string(), code.to_string())], convention }
    }

    /// Parses `tests.<field>`: `{"language", "code" | "files", "convention", "main"}`.
    pub fn parse(value: &Value, field: &str) -> Result<Checker, TestsError> {
        let invalid = |sub: &str, message: String| TestsError::Invalid { field: format!("{field}{sub}"), message };
        let Value::Object(map) = value else {
            return Err(invalid("", format!("must be an object, got {}", json_type_name(value))));
        };
        let string = |key: &str| -> Result<Option<String>, TestsError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => {
                    Err(invalid(&format!(".{key}"), format!("must be a string, got {}", json_type_name(other))))
                }
            }
        };
        let language = string("language")?.unwrap_or_else(|| "python".into());
        let convention = match string("convention")? {
            None => Convention::Rlvr,
            Some(name) => Convention::parse(&name).ok_or_else(|| {
                invalid(".convention", format!("unknown convention `{name}` (known: rlvr, testlib, kattis, open_r1)"))
            })?,
        };
        let code = string("code")?;
        let files = match (code, map.get("files")) {
            (Some(_), Some(_)) => return Err(invalid("", "has both `code` and `files`; give one".into())),
            (Some(code), None) => return Ok(Checker::single(&language, convention, &code)),
            (None, None) => return Err(invalid(".code", "is missing (give `code` or `files`)".into())),
            (None, Some(Value::Object(files))) => files,
            (None, Some(other)) => {
                return Err(invalid(
                    ".files",
                    format!("must be an object of file name to text, got {}", json_type_name(other)),
                ));
            }
        };
        if files.is_empty() || files.len() > MAX_CHECKER_FILES {
            return Err(invalid(".files", format!("must hold 1 to {MAX_CHECKER_FILES} files, got {}", files.len())));
        }
        let mut out = Vec::with_capacity(files.len());
        for (name, text) in files {
            if !valid_file_name(name) {
                return Err(invalid(".files", format!("`{name}` is not a plain relative file name")));
            }
            let Value::String(text) = text else {
                return Err(invalid(
                    &format!(".files.{name}"),
                    format!("must be a string, got {}", json_type_name(text)),
                ));
            };
            out.push((name.clone(), text.clone()));
        }
        // The main file first: `main` names it; else, for Python, the only `.py` file.
        let main = match string("main")? {
            Some(main) => Some(main),
            None if lang::language(&language).is_some_and(|l| l.name() == "python") => {
                let py: Vec<&String> = out.iter().map(|(n, _)| n).filter(|n| n.ends_with(".py")).collect();
                match py.as_slice() {
                    [one] => Some(one.to_string()),
                    _ => {
                        return Err(invalid(".main", "is required when a Python checker has several .py files".into()));
                    }
                }
            }
            None => None,
        };
        if let Some(main) = main {
            let at = out
                .iter()
                .position(|(n, _)| *n == main)
                .ok_or_else(|| invalid(".main", format!("names `{main}`, which is not among the files")))?;
            let first = out.remove(at);
            out.insert(0, first);
        }
        Ok(Checker { language, files: out, convention })
    }

    /// Compiles (or prepares) the checker.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<Program, String> {
        let language = lang::language(&self.language)
            .ok_or_else(|| format!("checker: unknown checker language `{}`", self.language))?;
        let files: Vec<(&str, &str)> = self.files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let built = match language.name() {
            "c" => lang::c::clang_build_files(cx, lang::c::Dialect::C, &files, false),
            "cpp" => lang::c::clang_build_files(cx, lang::c::Dialect::Cpp, &files, false),
            _ if files.len() == 1 => language.build_main(cx, files[0].1),
            // The runtime does not put the script's directory on `sys.path`, so the checker's
            // other files (placed beside it in `/.rlvr`) are importable only with it added.
            "python" => language
                .build_main(
                    cx,
                    &format!(
                        "import sys as _rlvr_sys\n_rlvr_sys.path.insert(0, \"/.rlvr\")\ndel _rlvr_sys\n{}",
                        files[0].1
                    ),
                )
                .map(|mut program| {
                    program.files.extend(files[1..].iter().map(|(n, t)| (n.replace('/', "_"), t.as_bytes().to_vec())));
                    program
                }),
            other => Err(BuildError::Unsupported(format!("a {other} checker must be one file (`code`)"))),
        };
        built.map_err(|e| match e {
            BuildError::Compile(m) | BuildError::CompileTimeout(m) => {
                format!("checker does not compile (a judge error, not the submission's): {}", compile::tail(&m, 1500))
            }
            other => format!("checker: {other}"),
        })
    }
}

/// What a checker decided about one output.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// `AC` or `WA`.
    pub verdict: TestVerdict,
    /// The checker's message (testlib's stderr, Kattis feedback files, rlvr's stdout).
    pub message: Option<String>,
    /// testlib points (exit 7), when the checker gave partial credit.
    pub points: Option<f64>,
}

/// An output or answer as a checker should see it: without a leading UTF-8 BOM, `\r\n` as `\n`.
pub fn normalize(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains("\r\n") { text.replace("\r\n", "\n").into() } else { text.into() }
}

/// Most bytes of Kattis feedback files quoted in a message.
pub const FEEDBACK_BYTES: usize = 2000;

fn tail_of(bytes: &[u8], n: usize) -> String {
    compile::tail(String::from_utf8_lossy(bytes).trim(), n)
}

/// Runs the checker on one test's output. `Err` is a judge error (the checker failed itself).
pub fn check(
    sandbox: &Sandbox,
    checker: &Program,
    convention: Convention,
    input: &str,
    actual: &str,
    expected: &str,
    limits: &CodeLimits,
) -> Result<CheckOutcome, String> {
    let (actual, expected) = (normalize(actual), normalize(expected));
    let mut files = checker.files.clone();
    files.push(("input".into(), input.as_bytes().to_vec()));
    let mut args = checker.args.clone();
    let (stdin, workdir): (&[u8], Option<Workdir<'_>>) = match convention {
        Convention::Rlvr => {
            files.push(("actual".into(), actual.as_bytes().to_vec()));
            files.push(("expected".into(), expected.as_bytes().to_vec()));
            args.extend(["/.rlvr/input", "/.rlvr/actual", "/.rlvr/expected"].map(String::from));
            (input.as_bytes(), None)
        }
        Convention::Testlib => {
            files.push(("output".into(), actual.as_bytes().to_vec()));
            files.push(("answer".into(), expected.as_bytes().to_vec()));
            args.extend(["/.rlvr/input", "/.rlvr/output", "/.rlvr/answer"].map(String::from));
            (b"", None)
        }
        Convention::Kattis => {
            files.push(("answer".into(), expected.as_bytes().to_vec()));
            args.extend(["/.rlvr/input", "/.rlvr/answer", "/feedback/"].map(String::from));
            (actual.as_bytes(), Some(Workdir { guest: "/feedback", files: &[] }))
        }
        Convention::OpenR1 => {
            files.push(("input.txt".into(), input.as_bytes().to_vec()));
            files.push(("correct_output.txt".into(), expected.as_bytes().to_vec()));
            files.push(("solution_output.txt".into(), actual.as_bytes().to_vec()));
            args.extend(
                ["/.rlvr/input.txt", "/.rlvr/correct_output.txt", "/.rlvr/solution_output.txt"].map(String::from),
            );
            (b"", None)
        }
    };
    let input =
        RunInput { args: &args, stdin, files: &files, ro_dirs: &checker.ro_dirs, scratch: false, entry: checker.entry };
    let out = sandbox.run_with_workdir(&checker.module, &input, limits, workdir.as_ref()).map_err(|e| e.to_string())?;
    decide(convention, &out)
}

fn judge_error(convention: Convention, out: &RunOutput, what: &str) -> String {
    let stderr = tail_of(&out.stderr, 500);
    let stdout = tail_of(&out.stdout, 300);
    let mut message = format!("the {} checker failed ({what}), a judge error", convention.as_str());
    for (label, text) in [("stderr", stderr), ("stdout", stdout)] {
        if !text.is_empty() {
            message.push_str(&format!("; {label}: {text}"));
        }
    }
    message
}

fn exit_status(convention: Convention, out: &RunOutput) -> Result<i32, String> {
    match &out.exit {
        Exit::Status(code) | Exit::Returned(code) => Ok(*code),
        Exit::ExitedEarly(code) => Err(judge_error(convention, out, &format!("exited with {code} while starting"))),
        Exit::Limit(limit) => Err(judge_error(convention, out, &format!("stopped by the {} limit", limit.as_str()))),
        Exit::Trap(trap) => Err(judge_error(convention, out, &format!("crashed: {trap}"))),
    }
}

/// Reads a checker's (or an interactor's) run by its convention.
pub(super) fn decide(convention: Convention, out: &RunOutput) -> Result<CheckOutcome, String> {
    let code = exit_status(convention, out)?;
    let outcome = |verdict, message: String| CheckOutcome {
        verdict,
        message: (!message.is_empty()).then_some(message),
        points: None,
    };
    match convention {
        Convention::Rlvr => Ok(match code {
            0 => outcome(TestVerdict::AC, String::new()),
            _ => outcome(TestVerdict::WA, format!("checker rejected the output: {}", tail_of(&out.stdout, 300))),
        }),
        Convention::Testlib => {
            let said = tail_of(&out.stderr, 500);
            match code {
                0 => Ok(outcome(TestVerdict::AC, said)),
                1 => Ok(outcome(TestVerdict::WA, format!("wrong answer (testlib): {said}"))),
                2 | 4 => Ok(outcome(TestVerdict::WA, format!("presentation error (testlib PE): {said}"))),
                8 => Ok(outcome(TestVerdict::WA, format!("unexpected end of output (testlib): {said}"))),
                7 => {
                    // quitp writes "points <value> <message>" to stderr.
                    let text = String::from_utf8_lossy(&out.stderr);
                    let points = text
                        .split_whitespace()
                        .skip_while(|w| *w != "points")
                        .nth(1)
                        .and_then(|p| p.parse::<f64>().ok())
                        .filter(|p| p.is_finite() && *p >= 0.0)
                        .ok_or_else(|| judge_error(convention, out, "exit 7 (points) without a readable score"))?;
                    Ok(CheckOutcome {
                        verdict: TestVerdict::WA,
                        message: Some(format!("partial credit (testlib points {points}): {said}")),
                        points: Some(points),
                    })
                }
                3 => Err(judge_error(convention, out, "testlib FAIL, exit 3")),
                other => Err(judge_error(convention, out, &format!("exit status {other}, not a testlib verdict"))),
            }
        }
        Convention::OpenR1 => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            match (code, stdout.split_whitespace().last()) {
                (0, Some("1")) => Ok(outcome(TestVerdict::AC, String::new())),
                (0, Some("0")) => {
                    Ok(outcome(TestVerdict::WA, format!("checker printed 0: {}", tail_of(&out.stderr, 300))))
                }
                (0, last) => Err(judge_error(convention, out, &format!("printed {last:?}, not 1 or 0"))),
                (other, _) => Err(judge_error(convention, out, &format!("exit status {other}"))),
            }
        }
        Convention::Kattis => {
            let mut feedback = String::new();
            for (name, bytes) in &out.workdir_files {
                let text = tail_of(bytes, FEEDBACK_BYTES);
                if !text.is_empty() && feedback.len() < FEEDBACK_BYTES {
                    feedback.push_str(&format!("{name}: {text}\n"));
                }
            }
            let feedback = feedback.trim_end().to_string();
            match code {
                42 => Ok(outcome(TestVerdict::AC, feedback)),
                43 => Ok(outcome(TestVerdict::WA, format!("wrong answer (validator exit 43). {feedback}"))),
                other => Err(format!(
                    "{}. {feedback}",
                    judge_error(convention, out, &format!("exit status {other}; only 42 and 43 are verdicts"))
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let one = Checker::parse(
            &serde_json::json!({"language": "cpp", "code": "int main(){}", "convention": "testlib"}),
            "checker",
        )
        .unwrap();
        assert_eq!(one.convention, Convention::Testlib);
        assert_eq!(one.files[0].0, "checker.cpp");
        let many = Checker::parse(
            &serde_json::json!({"language": "cpp", "files": {"validate.h": "", "validate.cc": ""}, "convention": "kattis"}),
            "checker",
        )
        .unwrap();
        assert_eq!(many.files.len(), 2);
        let py = Checker::parse(
            &serde_json::json!({"files": {"util.py": "", "check.py": ""}, "main": "check.py"}),
            "checker",
        )
        .unwrap();
        assert_eq!(py.files[0].0, "check.py");
        for bad in [
            serde_json::json!({"code": "x", "files": {"a.py": ""}}),
            serde_json::json!({"files": {"../evil.py": ""}}),
            serde_json::json!({"files": {"a.py": "", "b.py": ""}}),
            serde_json::json!({"code": "x", "convention": "hackerrank"}),
            serde_json::json!({"files": {}}),
            serde_json::json!({"language": "cpp"}),
        ] {
            assert!(Checker::parse(&bad, "checker").is_err(), "{bad}");
        }
    }

    #[test]
    fn checker_file_limit_boundary() {
        let files = |n: usize| -> serde_json::Map<String, Value> {
            (0..n).map(|i| (format!("f{i}.h"), Value::String(String::new()))).collect()
        };
        let at = serde_json::json!({"language": "cpp", "files": files(MAX_CHECKER_FILES)});
        assert!(Checker::parse(&at, "checker").is_ok());
        let past = serde_json::json!({"language": "cpp", "files": files(MAX_CHECKER_FILES + 1)});
        assert!(Checker::parse(&past, "checker").is_err());
    }

    #[test]
    fn normalize_bom_and_crlf() {
        assert_eq!(normalize("\u{feff}1 2\r\n3\r\n"), "1 2\n3\n");
        assert_eq!(normalize("plain\n"), "plain\n");
    }
}
