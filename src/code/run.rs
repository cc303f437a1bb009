//! Running one program on one stdin and reporting everything it did: the build step (for compiled
//! languages), exit, stdout, stderr, wall time, fuel and memory.
//!
//! This is the API behind the server's SandboxFusion-compatible `/run_code`: no tests, no verdict,
//! only what happened. It uses the same languages, builds (and build cache) and sandbox as the
//! test runner in [`super`], so a program behaves here exactly as it does when it is judged.
//! A program that does not compile, crashes or runs out of time is a [`ProgramReport`], never an
//! error; [`RunError`] is only for requests the sandbox cannot serve (unknown language, missing
//! toolchain, a host-side failure).

use std::time::{Duration, Instant};

use super::compile::BuildError;
use super::lang::{BuildContext, LANGUAGES, language};
use super::limits::CodeLimits;
use super::sandbox::{self, Exit, RunInput, Sandbox};

/// One program to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgramJob<'a> {
    /// Language name or alias (see [`LANGUAGES`]).
    pub language: &'a str,
    /// The program's source.
    pub source: &'a str,
    /// Bytes of standard input.
    pub stdin: &'a [u8],
    /// Limits for the build and the run.
    pub limits: CodeLimits,
}

/// How the build step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStatus {
    /// The program was built.
    Built,
    /// The compiler rejected the program (or a size or memory limit fired); its diagnostics.
    Failed(String),
    /// The compiler ran past `compile_ms`.
    TimedOut(String),
}

/// The build step of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildStep {
    /// How it ended.
    pub status: BuildStatus,
    /// Wall time of the build (near zero when the build cache answered).
    pub wall: Duration,
}

/// The run step of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramRun {
    /// How the program ended.
    pub exit: Exit,
    /// Standard output, at most `output_bytes + 1` bytes.
    pub stdout: Vec<u8>,
    /// Standard error, at most `stderr_bytes` bytes.
    pub stderr: Vec<u8>,
    /// Wall time of instantiation and execution.
    pub wall: Duration,
    /// Fuel consumed.
    pub fuel: u64,
    /// Largest linear memory the program had, in bytes.
    pub peak_memory: u64,
    /// Whether a memory grow was refused at `memory_bytes`.
    pub memory_refused: bool,
}

/// Everything one job did.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramReport {
    /// The canonical language name.
    pub language: &'static str,
    /// The build step: always for compiled languages, for interpreted ones only when it failed.
    pub build: Option<BuildStep>,
    /// The run step; `None` when the build failed.
    pub run: Option<ProgramRun>,
}

/// Why a job could not be run at all (a failing program is a [`ProgramReport`], not this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// No language has this name or alias.
    #[error("unknown language `{language}` (known: {known})")]
    UnknownLanguage {
        /// The name asked for.
        language: String,
        /// The canonical names, comma-separated.
        known: String,
    },
    /// The limits cannot be enforced.
    #[error(transparent)]
    Limits(#[from] super::limits::LimitsError),
    /// The language cannot build this kind of program.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The toolchain, runtime or sandbox is missing or broken (the operator's problem).
    #[error("toolchain: {0}")]
    Toolchain(String),
    /// The sandbox failed on the host side, or the run thread failed.
    #[error("sandbox: {0}")]
    Sandbox(String),
}

/// The canonical names of the languages programs can be written in, comma-separated.
pub fn known_languages() -> String {
    LANGUAGES.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
}

/// Builds and runs one program on a thread with the stack guests need.
pub fn run_program(job: &ProgramJob<'_>) -> Result<ProgramReport, RunError> {
    let lang = language(job.language)
        .ok_or_else(|| RunError::UnknownLanguage { language: job.language.to_string(), known: known_languages() })?;
    job.limits.validate()?;
    let sandbox = Sandbox::global().map_err(RunError::Toolchain)?;
    let name = lang.name();
    sandbox::on_big_stack(|| {
        let cx = BuildContext { sandbox, limits: &job.limits };
        let started = Instant::now();
        let built = lang.build_main(&cx, job.source);
        let wall = started.elapsed();
        let not_built = |status| ProgramReport { language: name, build: Some(BuildStep { status, wall }), run: None };
        let program = match built {
            Ok(program) => program,
            Err(BuildError::Compile(text)) => return Ok(not_built(BuildStatus::Failed(text))),
            Err(BuildError::CompileTimeout(text)) => return Ok(not_built(BuildStatus::TimedOut(text))),
            Err(BuildError::Unsupported(why)) => return Err(RunError::Unsupported(why)),
            Err(BuildError::Toolchain(why)) => return Err(RunError::Toolchain(why)),
        };
        let build = lang.compiled().then_some(BuildStep { status: BuildStatus::Built, wall });
        let input = RunInput {
            args: &program.args,
            stdin: job.stdin,
            files: &program.files,
            ro_dirs: &program.ro_dirs,
            scratch: false,
            entry: program.entry,
        };
        let out = sandbox.run(&program.module, &input, &job.limits).map_err(|e| RunError::Sandbox(e.to_string()))?;
        let run = ProgramRun {
            exit: out.exit,
            stdout: out.stdout,
            stderr: out.stderr,
            wall: out.wall,
            fuel: out.fuel,
            peak_memory: out.peak_memory,
            memory_refused: out.memory_refused,
        };
        Ok(ProgramReport { language: name, build, run: Some(run) })
    })
    .map_err(RunError::Sandbox)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job<'a>(language: &'a str, source: &'a str, stdin: &'a [u8]) -> ProgramJob<'a> {
        ProgramJob { language, source, stdin, limits: CodeLimits::default() }
    }

    #[test]
    fn unknown_language_is_a_typed_error() {
        let err = run_program(&job("cobol", "DISPLAY 'HI'.", b"")).unwrap_err();
        assert!(
            matches!(&err, RunError::UnknownLanguage { language, known } if language == "cobol" && known.contains("python"))
        );
    }

    #[test]
    fn unenforceable_limits_are_a_typed_error() {
        let mut j = job("python", "print(1)", b"");
        j.limits.wall_ms = 0;
        assert!(matches!(run_program(&j), Err(RunError::Limits(_))));
    }

    /// A compile past `compile_ms` is reported as timed out and is not cached: the same source with
    /// the default limit then builds. The source is unique per run so no earlier build is cached.
    #[test]
    fn a_compile_timeout_is_reported_and_not_cached() {
        let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let source = format!("// {nonce}\nint main() {{ return 0; }}\n");
        let mut hurried = job("c", &source, b"");
        hurried.limits.compile_ms = 1;
        let report = run_program(&hurried).expect("the C toolchain is installed (.ci/install-code-runtimes.sh)");
        let build = report.build.expect("C has a build step");
        assert!(matches!(&build.status, BuildStatus::TimedOut(text) if text.contains("compile_ms")), "{build:?}");
        assert!(report.run.is_none());
        let report = run_program(&job("c", &source, b"")).expect("the C toolchain is installed");
        assert_eq!(report.build.map(|b| b.status), Some(BuildStatus::Built));
        assert!(matches!(report.run.map(|r| r.exit), Some(Exit::Status(0))), "the program runs after a fresh build");
    }
}
