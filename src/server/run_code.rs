//! SandboxFusion's `POST /run_code`, so that clients written for SandboxFusion (verl's
//! `sandbox_fusion` reward, among others) can point their URL at rlvr.
//!
//! The wire types mirror SandboxFusion's `RunCodeRequest` / `RunCodeResponse` (bytedance/SandboxFusion,
//! `sandbox/server/sandbox_api.py`): request `code`, `language`, `stdin`, `compile_timeout`,
//! `run_timeout`, `memory_limit_MB`, `files` (name → base64), `fetch_files`; response `status`
//! (`Success` / `Failed` / `SandboxError`), `message`, `compile_result`, `run_result` (each `status`
//! `Finished` / `Error` / `TimeLimitExceeded`, `execution_time`, `return_code`, `stdout`, `stderr`),
//! `executor_pod_name`, `files`.
//!
//! Running the program goes through the [`CodeRunner`] trait. [`WasmRunner`] is the real one: it
//! builds and runs the program with the code verifier's languages and wasmtime sandbox
//! ([`crate::code::run`]). [`SandboxUnavailable`] answers every call with
//! [`CodeRunError::Unavailable`] (sent as `503 Service Unavailable` with status `SandboxError`,
//! never made-up output); tests use it where no program should run.
//!
//! How SandboxFusion's fields map onto the sandbox ([`WasmRunner`]):
//!
//! | SandboxFusion | rlvr |
//! |---|---|
//! | `run_timeout` (s) | `fuel` = run_timeout × [`FUEL_PER_SECOND`] decides; `wall_ms` = run_timeout × [`WasmRunner::wall_factor`] is only a backstop |
//! | `compile_timeout` (s) | `compile_ms` |
//! | `memory_limit_MB` | `memory_bytes` (at most 4096 MiB, the wasm32 address space); -1 keeps the default |
//! | `files`, `fetch_files` | not supported (guests have no working directory): 400 when non-empty |
//! | compile error | `compile_result` `Finished` with `return_code` 1 and the diagnostics in `stderr`; no `run_result` |
//! | compile past `compile_timeout` | `compile_result` `TimeLimitExceeded` |
//! | exit with status n | `run_result` `Finished`, `return_code` n |
//! | fuel or wall limit | `run_result` `TimeLimitExceeded`, `return_code` null |
//! | crash (trap), stack overflow, memory or output limit | `run_result` `Error`, `return_code` null; `message` says which |
//!
//! Python has no compile step, so its `compile_result` is null, as in SandboxFusion.
//!
//! Why fuel decides: fuel counts executed Wasm instructions, so a program's time verdict does not
//! depend on how many other programs run beside it. The wall clock is a generous backstop for time
//! spent outside Wasm. Each job waits for a slot of the engine's sandbox pool
//! ([`crate::code::admission`]) before its clock starts, at most [`CodeJob::admission_wait`]; past
//! it the job is not run and the server answers `504` (SandboxFusion's gateway answer, the one
//! status verl's client retries).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::code::CodeLimits;
use crate::code::run::{BuildStatus, ProgramJob, ProgramReport, RunError, run_program};
use crate::code::sandbox::{Exit, LimitKind};

/// A SandboxFusion `/run_code` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCodeRequest {
    /// The program's source.
    pub code: String,
    /// SandboxFusion's language name (`python`, `cpp`, `rust`, …).
    pub language: String,
    /// Standard input for the run (default empty).
    #[serde(default)]
    pub stdin: Option<String>,
    /// Seconds allowed for compilation (default 10, SandboxFusion's default).
    #[serde(default = "default_timeout")]
    pub compile_timeout: f64,
    /// Seconds allowed for the run (default 10, SandboxFusion's default).
    #[serde(default = "default_timeout")]
    pub run_timeout: f64,
    /// Memory limit in MiB; -1 (the default) leaves the runner's own limit.
    #[serde(default = "default_memory", rename = "memory_limit_MB")]
    pub memory_limit_mb: i64,
    /// Extra files placed beside the program: name → base64 content.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Files to read back after the run.
    #[serde(default)]
    pub fetch_files: Vec<String>,
}

fn default_timeout() -> f64 {
    10.0
}

fn default_memory() -> i64 {
    -1
}

/// How one step (compile or run) ended, in SandboxFusion's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessStatus {
    /// The process exited by itself (any exit code).
    Finished,
    /// The process could not be started or was killed for a reason other than time.
    Error,
    /// The process ran past its time limit.
    TimeLimitExceeded,
}

/// One step's result: SandboxFusion's `CommandRunResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessResult {
    /// How the step ended.
    pub status: ProcessStatus,
    /// Wall-clock seconds the step took.
    pub execution_time: Option<f64>,
    /// The exit code, when the process exited.
    pub return_code: Option<i32>,
    /// Captured standard output (the runner bounds its size).
    pub stdout: Option<String>,
    /// Captured standard error (the runner bounds its size).
    pub stderr: Option<String>,
}

/// Overall status of a `/run_code` call, in SandboxFusion's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Every step finished with exit code 0.
    Success,
    /// A step failed: compile error, non-zero exit, time limit.
    Failed,
    /// The sandbox itself could not run the request.
    SandboxError,
}

/// A SandboxFusion `/run_code` response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCodeResponse {
    /// Overall status.
    pub status: RunStatus,
    /// Why, when the status is not `Success`; empty otherwise.
    pub message: String,
    /// The compile step, for compiled languages.
    pub compile_result: Option<ProcessResult>,
    /// The run step, when it happened.
    pub run_result: Option<ProcessResult>,
    /// SandboxFusion names the pod that ran the code; rlvr runs in-process, so always null.
    pub executor_pod_name: Option<String>,
    /// Fetched files: name → base64 content.
    pub files: BTreeMap<String, String>,
}

impl RunCodeResponse {
    /// The response for a request the sandbox could not run at all.
    pub fn sandbox_error(message: impl Into<String>) -> Self {
        RunCodeResponse {
            status: RunStatus::SandboxError,
            message: message.into(),
            compile_result: None,
            run_result: None,
            executor_pod_name: None,
            files: BTreeMap::new(),
        }
    }

    /// The response for a finished run: `Success` when every step that ran finished with exit code 0.
    pub fn from_result(result: CodeRunResult) -> Self {
        let ok = |p: &ProcessResult| p.status == ProcessStatus::Finished && p.return_code == Some(0);
        let compiled = result.compile.as_ref().is_none_or(ok);
        let ran = result.run.as_ref().is_some_and(ok);
        let (status, message) = match (compiled, ran) {
            (true, true) => (RunStatus::Success, String::new()),
            (false, _) => (RunStatus::Failed, result.message.unwrap_or_else(|| "compilation failed".to_string())),
            (true, false) => (
                RunStatus::Failed,
                result.message.unwrap_or_else(|| "the program did not finish with exit code 0".to_string()),
            ),
        };
        RunCodeResponse {
            status,
            message,
            compile_result: result.compile,
            run_result: result.run,
            executor_pod_name: None,
            files: result.files,
        }
    }
}

/// One program to run, checked and converted from a [`RunCodeRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct CodeJob {
    /// SandboxFusion's language name, as sent.
    pub language: String,
    /// The program's source.
    pub code: String,
    /// Standard input.
    pub stdin: String,
    /// Time allowed for compilation.
    pub compile_timeout: Duration,
    /// Time allowed for the run.
    pub run_timeout: Duration,
    /// Memory limit in MiB, when the client set one.
    pub memory_limit_mb: Option<u64>,
    /// Extra files: name → base64 content, as sent.
    pub files: BTreeMap<String, String>,
    /// Files to read back after the run.
    pub fetch_files: Vec<String>,
    /// Longest wait for a sandbox slot before the job is given up as [`CodeRunError::Busy`].
    pub admission_wait: Duration,
}

/// What a runner reports for one job.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRunResult {
    /// The compile step, for compiled languages.
    pub compile: Option<ProcessResult>,
    /// The run step; `None` when compilation failed.
    pub run: Option<ProcessResult>,
    /// Fetched files: name → base64 content.
    pub files: BTreeMap<String, String>,
    /// Why the job did not succeed, in more words than the step statuses (e.g. which limit fired);
    /// `None` leaves the generic message.
    pub message: Option<String>,
}

/// Why a runner could not run a job (a program that fails is a result, not an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeRunError {
    /// No sandbox is available in this build; the server answers 503.
    #[error("the code sandbox is unavailable: {0}")]
    Unavailable(String),
    /// The runner does not support this language; the server answers 400.
    #[error("unsupported language `{language}` (supported: {supported})")]
    UnsupportedLanguage {
        /// The language asked for.
        language: String,
        /// The languages the runner supports, comma-separated.
        supported: String,
    },
    /// The job is malformed (bad base64 in `files`, a path outside the sandbox, …); the server answers 400.
    #[error("invalid request: {0}")]
    InvalidJob(String),
    /// The sandbox failed internally; the server answers 500.
    #[error("sandbox failure: {0}")]
    Internal(String),
    /// No sandbox slot became free in time; the job did not run. The server answers 504 with
    /// `Retry-After`: the same request later gets the real answer.
    #[error("all sandboxes are busy, retry later: {0}")]
    Busy(String),
}

/// Runs one program in a sandbox. Implemented by the code verifier; called on a blocking thread,
/// so it may block for up to the job's timeouts.
pub trait CodeRunner: Send + Sync + 'static {
    /// Runs `job` and reports each step; a program that fails to compile, crashes or times out is
    /// an `Ok` result with that status.
    fn run(&self, job: &CodeJob) -> Result<CodeRunResult, CodeRunError>;
}

/// The runner used while no sandbox is built in: every job gets [`CodeRunError::Unavailable`].
#[derive(Debug, Clone, Default)]
pub struct SandboxUnavailable {
    /// Why there is no sandbox, shown to clients.
    pub reason: String,
}

impl CodeRunner for SandboxUnavailable {
    fn run(&self, _job: &CodeJob) -> Result<CodeRunResult, CodeRunError> {
        Err(CodeRunError::Unavailable(self.reason.clone()))
    }
}

/// Fuel a `/run_code` job gets per second of `run_timeout`: what CPython on WASI burns in the time
/// *native* CPython (SandboxFusion's interpreter) needs for one second of CPU-bound work, with
/// headroom, so a program that passes SandboxFusion's native run within `run_timeout` passes here.
/// Measured by `benches/fuel_per_native_second.py` on the release binary (README, "Reward
/// server"): 0.98e10–3.79e10 fuel per native second over four programs (an integer loop and an
/// xorshift mix cost the most, sorting the least); 4.5e10 is the largest with 19 % headroom.
/// Compiled languages do more work per unit of fuel, so they only gain.
pub const FUEL_PER_SECOND: u64 = 45_000_000_000;

/// Default [`WasmRunner::wall_factor`].
pub const WALL_FACTOR: u32 = 12;

/// The runner that builds and runs programs in rlvr's wasmtime sandbox ([`crate::code::run`]).
#[derive(Debug, Clone)]
pub struct WasmRunner {
    /// Limits a job starts from; the request's timeouts and memory limit replace their fields.
    pub limits: CodeLimits,
    /// Wall-clock backstop as a multiple of `run_timeout` (default [`WALL_FACTOR`] = 12: burning
    /// the whole fuel budget takes about 4 × `run_timeout` alone on a core, so the backstop leaves 3×
    /// room for a loaded machine). Only time fuel does not see (host calls, virtual `sleep`) should
    /// ever reach it.
    pub wall_factor: u32,
}

impl Default for WasmRunner {
    fn default() -> Self {
        WasmRunner { limits: CodeLimits::default(), wall_factor: WALL_FACTOR }
    }
}

impl WasmRunner {
    /// The sandbox limits for one job (see the module's table).
    pub fn limits_for(&self, job: &CodeJob) -> Result<CodeLimits, CodeRunError> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut limits = self.limits;
        limits.wall_ms = millis(job.run_timeout).saturating_mul(u64::from(self.wall_factor.max(1))).min(3_600_000);
        limits.compile_ms = millis(job.compile_timeout);
        limits.fuel = (job.run_timeout.as_secs_f64() * FUEL_PER_SECOND as f64).max(1.0) as u64;
        if let Some(mb) = job.memory_limit_mb {
            limits.memory_bytes = mb.saturating_mul(1 << 20);
        }
        limits.validate().map_err(|e| CodeRunError::InvalidJob(e.to_string()))?;
        Ok(limits)
    }
}

impl CodeRunner for WasmRunner {
    fn run(&self, job: &CodeJob) -> Result<CodeRunResult, CodeRunError> {
        if !job.files.is_empty() || !job.fetch_files.is_empty() {
            return Err(CodeRunError::InvalidJob(
                "`files` and `fetch_files` are not supported: rlvr's guests have no working directory; \
                 send the data on `stdin` or inside `code`"
                    .into(),
            ));
        }
        let limits = self.limits_for(job)?;
        // One slot covers the build and the run; it is taken before either clock starts.
        let slot = crate::code::admission::global()
            .acquire_within(job.admission_wait)
            .map_err(|e| CodeRunError::Busy(e.to_string()))?;
        let program = ProgramJob { language: &job.language, source: &job.code, stdin: job.stdin.as_bytes(), limits };
        let report = slot.enter(|| run_program(&program)).map_err(|e| match e {
            RunError::UnknownLanguage { language, known } => {
                CodeRunError::UnsupportedLanguage { language, supported: known }
            }
            RunError::Limits(e) => CodeRunError::InvalidJob(e.to_string()),
            RunError::Unsupported(why) => CodeRunError::InvalidJob(why),
            RunError::Toolchain(why) => CodeRunError::Unavailable(why),
            RunError::Sandbox(why) => CodeRunError::Internal(why),
        })?;
        Ok(sandbox_fusion_result(report, &limits))
    }
}

/// A [`ProgramReport`] in SandboxFusion's terms.
fn sandbox_fusion_result(report: ProgramReport, limits: &CodeLimits) -> CodeRunResult {
    let mut message = None;
    let compile = report.build.map(|build| {
        let (status, return_code, stderr) = match build.status {
            BuildStatus::Built => (ProcessStatus::Finished, Some(0), String::new()),
            BuildStatus::Failed(text) => (ProcessStatus::Finished, Some(1), text),
            BuildStatus::TimedOut(text) => {
                message = Some(format!("compilation ran past compile_timeout ({} ms)", limits.compile_ms));
                (ProcessStatus::TimeLimitExceeded, None, text)
            }
        };
        ProcessResult {
            status,
            execution_time: Some(build.wall.as_secs_f64()),
            return_code,
            stdout: Some(String::new()),
            stderr: Some(stderr),
        }
    });
    let run = report.run.map(|run| {
        let (status, return_code) = match &run.exit {
            Exit::Status(code) | Exit::Returned(code) | Exit::ExitedEarly(code) => {
                if *code != 0 && run.memory_refused {
                    message = Some(format!(
                        "exit status {code} after the memory limit ({} bytes) was hit",
                        limits.memory_bytes
                    ));
                }
                (ProcessStatus::Finished, Some(*code))
            }
            Exit::Limit(LimitKind::Fuel) => {
                message = Some(format!("time limit (fuel): the run used its {} fuel (run_timeout)", limits.fuel));
                (ProcessStatus::TimeLimitExceeded, None)
            }
            Exit::Limit(LimitKind::Wall) => {
                message = Some(format!("time limit (wall-clock backstop): {} ms", limits.wall_ms));
                (ProcessStatus::TimeLimitExceeded, None)
            }
            Exit::Limit(kind) => {
                message = Some(match kind {
                    LimitKind::Memory => format!("memory limit: {} bytes", limits.memory_bytes),
                    LimitKind::Output => format!("output limit: {} bytes of stdout", limits.output_bytes),
                    _ => "stack overflow".to_string(),
                });
                (ProcessStatus::Error, None)
            }
            Exit::Trap(trap) => {
                message = Some(format!("the program crashed: {trap}"));
                (ProcessStatus::Error, None)
            }
        };
        ProcessResult {
            status,
            execution_time: Some(run.wall.as_secs_f64()),
            return_code,
            stdout: Some(String::from_utf8_lossy(&run.stdout).into_owned()),
            stderr: Some(String::from_utf8_lossy(&run.stderr).into_owned()),
        }
    });
    CodeRunResult { compile, run, files: BTreeMap::new(), message }
}

/// Why a request cannot become a job.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    /// A timeout is negative, not a number, or above the server's limit.
    #[error("`{field}` must be between 0 and {max} seconds, got {got}")]
    Timeout {
        /// `run_timeout` or `compile_timeout`.
        field: &'static str,
        /// The server's `max_code_timeout`, in seconds.
        max: f64,
        /// The value sent.
        got: f64,
    },
}

impl RunCodeRequest {
    /// Checks the timeouts against `max_timeout` and builds the job; it waits at most
    /// `admission_wait` for a sandbox slot.
    pub fn into_job(self, max_timeout: Duration, admission_wait: Duration) -> Result<CodeJob, JobError> {
        let max = max_timeout.as_secs_f64();
        let check = |field: &'static str, got: f64| {
            if got.is_finite() && got >= 0.0 && got <= max {
                Ok(Duration::from_secs_f64(got))
            } else {
                Err(JobError::Timeout { field, max, got })
            }
        };
        Ok(CodeJob {
            compile_timeout: check("compile_timeout", self.compile_timeout)?,
            run_timeout: check("run_timeout", self.run_timeout)?,
            language: self.language,
            code: self.code,
            stdin: self.stdin.unwrap_or_default(),
            memory_limit_mb: u64::try_from(self.memory_limit_mb).ok().filter(|&mb| mb > 0),
            files: self.files,
            fetch_files: self.fetch_files,
            admission_wait,
        })
    }
}
