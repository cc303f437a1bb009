//! `rlvr serve`: the engine over HTTP.

use std::process::ExitCode;

use anyhow::Result;

use super::{EngineArgs, install_quiet_panic_hook};
use crate::server::{ServerConfig, ServerLimits, ServerState, WasmRunner};

/// Arguments of `rlvr serve`. Each limit flag is the [`crate::server::ServerLimits`] field of the same name.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to bind; the default is loopback only, so exposing the server is a decision.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to bind (0 picks a free one; the address is printed on standard error).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Recipe, extra recipes, threads.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Largest request body in bytes; larger gets 413.
    #[arg(long, default_value_t = ServerLimits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Most samples in one request; more gets 413.
    #[arg(long, default_value_t = ServerLimits::default().max_samples_per_request)]
    pub max_samples_per_request: usize,
    /// Samples queued or being scored at once; a request that does not fit gets 429 with Retry-After.
    #[arg(long, default_value_t = ServerLimits::default().max_queued_samples)]
    pub max_queued_samples: usize,
    /// Per-request deadline in seconds; past it 504.
    #[arg(long, default_value_t = ServerLimits::default().request_timeout.as_secs_f64())]
    pub request_timeout: f64,
    /// Largest `run_timeout`/`compile_timeout` (seconds) a /run_code request may ask for.
    #[arg(long, default_value_t = ServerLimits::default().max_code_timeout.as_secs_f64())]
    pub max_code_timeout: f64,
    /// Seconds a /run_code job may wait for a sandbox slot; past it 504 with Retry-After.
    #[arg(long, default_value_t = ServerLimits::default().max_sandbox_wait.as_secs_f64())]
    pub max_sandbox_wait: f64,
    /// Seconds sent in `Retry-After` with 429 answers.
    #[arg(long, default_value_t = ServerLimits::default().retry_after.as_secs_f64())]
    pub retry_after: f64,
    /// Seconds a graceful shutdown (Ctrl-C, SIGTERM) waits for in-flight requests.
    #[arg(long, default_value_t = ServerLimits::default().shutdown_grace.as_secs_f64())]
    pub shutdown_grace: f64,
}

fn seconds(flag: &str, value: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value).map_err(|e| anyhow::anyhow!("--{flag} {value}: {e}"))
}

/// The server limits the flags ask for; a negative or non-finite number of seconds is an error
/// naming its flag.
pub(super) fn limits(a: &ServeArgs) -> Result<ServerLimits> {
    Ok(ServerLimits {
        max_body_bytes: a.max_body_bytes,
        max_samples_per_request: a.max_samples_per_request,
        max_queued_samples: a.max_queued_samples,
        request_timeout: seconds("request-timeout", a.request_timeout)?,
        max_code_timeout: seconds("max-code-timeout", a.max_code_timeout)?,
        max_sandbox_wait: seconds("max-sandbox-wait", a.max_sandbox_wait)?,
        retry_after: seconds("retry-after", a.retry_after)?,
        shutdown_grace: seconds("shutdown-grace", a.shutdown_grace)?,
    })
}

pub(super) fn run(a: ServeArgs) -> Result<ExitCode> {
    install_quiet_panic_hook();
    let engine = a.engine.engine()?;
    let limits = limits(&a)?;
    crate::code::admission::configure_global(None)?;
    let config = ServerConfig { host: a.host, port: a.port, limits: limits.clone() };
    let runner = WasmRunner { limits: engine.config().code.limits, ..WasmRunner::default() };
    let state = ServerState::new(std::sync::Arc::new(engine), std::sync::Arc::new(runner), limits);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let listener = crate::server::bind(&config).await?;
        let addr = listener.local_addr()?;
        eprintln!("rlvr: listening on http://{addr} (Ctrl-C to stop)");
        crate::server::serve(listener, state, crate::server::shutdown_signal()).await?;
        eprintln!("rlvr: stopped");
        anyhow::Ok(())
    });
    // In-flight work already had its grace period; do not wait on abandoned scoring.
    runtime.shutdown_background();
    result?;
    Ok(ExitCode::SUCCESS)
}
