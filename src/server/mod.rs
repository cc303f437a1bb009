//! The reward server (`rlvr serve`): the engine behind HTTP for training loops in other processes.
//!
//! Endpoints (all JSON):
//!
//! * `POST /v1/score` — `{"samples": [...]}` → `{"results": [...]}`, the `rlvr score` contract, same order;
//! * `POST /get_reward` — OpenRLHF's remote reward protocol (`query`/`prompts`/`labels` → `rewards`);
//! * `POST /run_code` — SandboxFusion's request and response shape, served by a [`CodeRunner`];
//! * `POST /run_code/batch` — one program, all its test cases, one call (verl calls once per case);
//! * `POST /remote_rm` (`/remote_rm/object`) — slime's `--rm-type remote_rm`: `{prompt, response, label}`
//!   → a JSON number (an object for `--reward-key reward`);
//! * `POST /verify` — a NeMo Gym resources server's verify call (OpenAI Responses `response`);
//! * `GET /health` and `GET /metrics` (Prometheus text format).
//!
//! Why it is built this way: scoring is CPU work on rayon, so handlers never score on a tokio worker;
//! each request's batch runs on the blocking pool and fans out over rayon, and the async side only
//! parses, queues and answers. The queue is a semaphore counted in *samples*, not requests, because
//! a GRPO step sends a few large batches: admission is all-or-nothing per request, and a request that
//! does not fit is answered at once with 429 and `Retry-After` instead of piling up memory. Every
//! limit lives in [`ServerLimits`]; the same names are the `rlvr serve` flags.

pub mod cases;
mod dialects;
pub mod metrics;
pub mod openrlhf;
mod routes;
pub mod run_code;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::batch::Engine;
use crate::sample::{Outcome, Sample};

pub use metrics::Metrics;
pub use run_code::{
    CodeJob, CodeRunError, CodeRunResult, CodeRunner, ProcessResult, ProcessStatus, RunCodeRequest, RunCodeResponse,
    SandboxUnavailable, WasmRunner,
};

/// The server's limits. Each field names its default and what a request past it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest request body in bytes (default 64 MiB). A larger body gets `413 Payload Too Large`.
    pub max_body_bytes: usize,
    /// Most samples (or `/get_reward` queries) in one request (default 65 536). More gets 413.
    pub max_samples_per_request: usize,
    /// Samples admitted (queued or being scored) across all requests at once (default 262 144); a
    /// `/run_code` call counts as one. A request that does not fit gets `429 Too Many Requests` with
    /// `Retry-After`; nothing is queued unboundedly.
    pub max_queued_samples: usize,
    /// Per-request deadline (default 120 s), from admission to answer. Past it: `504 Gateway Timeout`
    /// (the batch still finishes in the background and keeps its queue slots until then).
    pub request_timeout: Duration,
    /// Largest `run_timeout` or `compile_timeout` a `/run_code` request may ask for (default 60 s).
    /// A larger one gets `400` with status `SandboxError`.
    pub max_code_timeout: Duration,
    /// Longest a `/run_code` job waits for a sandbox slot (default 10 s; the pool's size is
    /// [`crate::code::admission`]'s). Past it the job is not run: `504` with `Retry-After`, kind
    /// `sandbox_busy` (verl's SandboxFusion client retries 504).
    pub max_sandbox_wait: Duration,
    /// The `Retry-After` the server sends with 429 and 503 answers (default 1 s, rounded up to seconds).
    pub retry_after: Duration,
    /// How long a graceful shutdown waits for in-flight requests (default 60 s); past it the server
    /// stops with [`ServerError::ShutdownTimedOut`].
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body_bytes: 64 << 20,
            max_samples_per_request: 65_536,
            max_queued_samples: 262_144,
            request_timeout: Duration::from_secs(120),
            max_code_timeout: Duration::from_secs(60),
            max_sandbox_wait: Duration::from_secs(10),
            retry_after: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(60),
        }
    }
}

/// Where the server listens and how it is limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address to bind (default `127.0.0.1`: loopback only; expose it on purpose).
    pub host: IpAddr,
    /// Port to bind (default 8080; 0 picks a free one).
    pub port: u16,
    /// Request limits.
    pub limits: ServerLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 8080, limits: ServerLimits::default() }
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// Accepting or serving connections failed.
    #[error("serving: {0}")]
    Serve(#[source] std::io::Error),
    /// In-flight requests were still running when the shutdown grace period ran out.
    #[error("shutdown: requests still in flight after the {0:?} grace period")]
    ShutdownTimedOut(Duration),
}

/// Scores a batch of samples: the engine, or a stand-in in tests. Must keep input order and return
/// exactly one outcome per sample.
pub trait Scorer: Send + Sync + 'static {
    /// Scores `samples`, one outcome each, in order.
    fn score_batch(&self, samples: &[Sample]) -> Vec<Outcome>;
}

impl Scorer for Engine {
    fn score_batch(&self, samples: &[Sample]) -> Vec<Outcome> {
        Engine::score_batch(self, samples)
    }
}

/// Everything the handlers share.
pub struct ServerState {
    scorer: Arc<dyn Scorer>,
    runner: Arc<dyn CodeRunner>,
    limits: ServerLimits,
    queue: Arc<Semaphore>,
    metrics: Metrics,
    in_flight: AtomicUsize,
}

impl ServerState {
    /// State for a server that scores with `scorer` and runs code with `runner`.
    pub fn new(scorer: Arc<dyn Scorer>, runner: Arc<dyn CodeRunner>, limits: ServerLimits) -> Arc<ServerState> {
        let queue = Arc::new(Semaphore::new(limits.max_queued_samples.min(Semaphore::MAX_PERMITS)));
        Arc::new(ServerState {
            scorer,
            runner,
            limits,
            queue,
            metrics: Metrics::default(),
            in_flight: AtomicUsize::new(0),
        })
    }

    /// The server's limits.
    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// The server's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The queue's capacity in samples.
    pub fn queue_capacity(&self) -> usize {
        self.limits.max_queued_samples.min(Semaphore::MAX_PERMITS)
    }

    /// Samples admitted and not yet answered.
    pub fn queue_depth(&self) -> usize {
        self.queue_capacity().saturating_sub(self.queue.available_permits())
    }

    /// Requests admitted and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// The axum router with every endpoint and the body-size limit.
pub fn router(state: Arc<ServerState>) -> axum::Router {
    routes::router(state)
}

/// Binds `config.host:config.port`.
pub async fn bind(config: &ServerConfig) -> Result<TcpListener, ServerError> {
    let addr = SocketAddr::new(config.host, config.port);
    TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })
}

/// Serves on `listener` until `shutdown` completes, then stops accepting, lets in-flight requests
/// finish (at most `limits.shutdown_grace`) and returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let grace = state.limits.shutdown_grace;
    let app = router(state);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = started_tx.send(());
    });
    let deadline = async move {
        // If the server ends first, this branch is never polled to completion.
        if started_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server => served.map_err(ServerError::Serve),
        () = deadline => Err(ServerError::ShutdownTimedOut(grace)),
    }
}

/// Waits for Ctrl-C or (on Unix) SIGTERM: the signals a terminal or a process manager sends.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If no handler can be installed, never trigger: the server then runs until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests;
