//! The HTTP handlers: parse, admit into the queue, score on the blocking pool, answer.
//!
//! Every failure is an [`ApiError`] with one HTTP status; `/run_code` renders it in SandboxFusion's
//! body shape (`{"status": "SandboxError", "message": …}`), the other endpoints as
//! `{"error": {"kind": …, "message": …}}`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OwnedSemaphorePermit;

use super::metrics::QueueGauge;
use super::run_code::{CodeRunError, RunCodeRequest, RunCodeResponse};
use super::{Scorer, ServerState};
use crate::sample::{Outcome, Sample, json_type_name};

pub(super) fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/v1/score", post(score))
        .route("/get_reward", post(get_reward))
        .route("/run_code", post(run_code))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

/// Why a request was not answered with results.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("request body is larger than the limit of {limit} bytes (max_body_bytes)")]
    BodyTooLarge { limit: usize },
    #[error("cannot read the request body: {0}")]
    BadBody(String),
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{got} samples in one request, the limit is {limit} (max_samples_per_request)")]
    TooManySamples { got: usize, limit: usize },
    #[error("queue full: {needed} samples do not fit ({depth} of {capacity} queued); retry later")]
    QueueFull { needed: usize, depth: usize, capacity: usize, retry_after: Duration },
    #[error("deadline of {0:?} exceeded (request_timeout)")]
    Deadline(Duration),
    #[error("{0}")]
    Sandbox(CodeRunError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BodyTooLarge { .. } | ApiError::TooManySamples { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadBody(_) | ApiError::InvalidJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Deadline(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Sandbox(CodeRunError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Sandbox(CodeRunError::UnsupportedLanguage { .. } | CodeRunError::InvalidJob(_)) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Sandbox(CodeRunError::Internal(_)) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::BadBody(_) => "bad_body",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::TooManySamples { .. } => "too_many_samples",
            ApiError::QueueFull { .. } => "queue_full",
            ApiError::Deadline(_) => "deadline_exceeded",
            ApiError::Sandbox(CodeRunError::Unavailable(_)) => "sandbox_unavailable",
            ApiError::Sandbox(CodeRunError::UnsupportedLanguage { .. }) => "unsupported_language",
            ApiError::Sandbox(CodeRunError::InvalidJob(_)) => "invalid_job",
            ApiError::Sandbox(CodeRunError::Internal(_)) => "sandbox_error",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The response, in the generic shape or (for `/run_code`) SandboxFusion's.
    fn into_response(self, sandbox_shape: bool) -> Response {
        let status = self.status();
        let body = if sandbox_shape {
            serde_json::to_value(RunCodeResponse::sandbox_error(self.to_string())).unwrap_or(Value::Null)
        } else {
            json!({"error": {"kind": self.kind(), "message": self.to_string()}})
        };
        let mut response = json_response(status, &body);
        if let ApiError::QueueFull { retry_after, .. } = &self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], Body::from(bytes)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot serialise the response: {e}")).into_response(),
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<ServerState>);

impl InFlight {
    fn new(state: &Arc<ServerState>) -> Self {
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn read_body(body: Result<Bytes, BytesRejection>, state: &ServerState) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge { limit: state.limits.max_body_bytes }
        } else {
            ApiError::BadBody(rejection.body_text())
        }
    })
}

/// Takes `n` slots in the queue, or says it is full. `n` must be at least 1.
fn admit(state: &ServerState, n: usize) -> Result<OwnedSemaphorePermit, ApiError> {
    let capacity = state.queue_capacity();
    if n > capacity {
        return Err(ApiError::TooManySamples { got: n, limit: capacity });
    }
    let permits = u32::try_from(n).map_err(|_| ApiError::TooManySamples { got: n, limit: u32::MAX as usize })?;
    state.queue.clone().try_acquire_many_owned(permits).map_err(|_| ApiError::QueueFull {
        needed: n,
        depth: state.queue_depth(),
        capacity,
        retry_after: state.limits.retry_after,
    })
}

/// Scores on the blocking pool under the request deadline; error outcomes stay where they stand.
async fn run_scoring(state: &Arc<ServerState>, parsed: Vec<Result<Sample, Outcome>>) -> Result<Vec<Outcome>, ApiError> {
    if parsed.is_empty() {
        return Ok(Vec::new());
    }
    let permit = admit(state, parsed.len())?;
    let _in_flight = InFlight::new(state);
    let scorer = state.scorer.clone();
    let task = tokio::task::spawn_blocking(move || {
        let outcomes = score_parsed(scorer.as_ref(), parsed);
        drop(permit);
        outcomes
    });
    match tokio::time::timeout(state.limits.request_timeout, task).await {
        Err(_) => Err(ApiError::Deadline(state.limits.request_timeout)),
        Ok(Err(join)) => Err(ApiError::Internal(format!("the scoring task failed: {join}"))),
        Ok(Ok(outcomes)) => Ok(outcomes),
    }
}

fn score_parsed(scorer: &dyn Scorer, parsed: Vec<Result<Sample, Outcome>>) -> Vec<Outcome> {
    let good: Vec<Sample> = parsed.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
    let mut scored = scorer.score_batch(&good).into_iter();
    parsed
        .into_iter()
        .map(|r| match r {
            Ok(sample) => scored.next().unwrap_or_else(|| Outcome::error(sample.id, "internal: outcome missing")),
            Err(outcome) => outcome,
        })
        .collect()
}

fn finish(state: &ServerState, endpoint: &'static str, start: Instant, result: Result<Response, ApiError>) -> Response {
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            state.metrics.record_rejection(err.kind());
            err.into_response(endpoint == "run_code")
        }
    };
    state.metrics.record_request(endpoint, response.status().as_u16(), start.elapsed());
    response
}

async fn score(State(state): State<Arc<ServerState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let result = score_inner(&state, body).await;
    finish(&state, "score", start, result)
}

async fn score_inner(state: &Arc<ServerState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let bytes = read_body(body, state)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let value: Value = crate::json::parse(text).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(ApiError::BadRequest(format!(
            "the body must be a JSON object with a `samples` array, got {}",
            json_type_name(&value)
        )));
    };
    let items = match object.remove("samples") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::BadRequest(format!("`samples` must be an array, got {}", json_type_name(&other))));
        }
        None => return Err(ApiError::BadRequest("missing field `samples` (an array of samples)".into())),
    };
    let limit = state.limits.max_samples_per_request;
    if items.len() > limit {
        return Err(ApiError::TooManySamples { got: items.len(), limit });
    }
    let parsed = items
        .into_iter()
        .map(|item| Sample::from_json(item).map_err(|(id, err)| Outcome::error(id, err.to_string())))
        .collect();
    let outcomes = run_scoring(state, parsed).await?;
    state.metrics.record_verdicts("score", outcomes.iter().map(|o| o.verdict));
    Ok(json_response(StatusCode::OK, &json!({ "results": outcomes })))
}

/// OpenRLHF's remote reward request: `query` is prompt + response, `labels` the gold answers.
#[derive(Debug, Deserialize)]
struct RewardRequest {
    query: Vec<String>,
    #[serde(default)]
    prompts: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<Vec<Value>>,
}

async fn get_reward(State(state): State<Arc<ServerState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let result = get_reward_inner(&state, body).await;
    finish(&state, "get_reward", start, result)
}

async fn get_reward_inner(state: &Arc<ServerState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let bytes = read_body(body, state)?;
    let request: RewardRequest = serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let n = request.query.len();
    let limit = state.limits.max_samples_per_request;
    if n > limit {
        return Err(ApiError::TooManySamples { got: n, limit });
    }
    for (field, len) in
        [("prompts", request.prompts.as_ref().map(Vec::len)), ("labels", request.labels.as_ref().map(Vec::len))]
    {
        if let Some(len) = len.filter(|&len| len != n) {
            return Err(ApiError::BadRequest(format!("`{field}` has {len} entries but `query` has {n}")));
        }
    }
    let parsed = request
        .query
        .into_iter()
        .enumerate()
        .map(|(i, query)| {
            let prompt = request.prompts.as_ref().and_then(|p| p.get(i));
            // OpenRLHF sends prompt + response as one string; the response is what follows the prompt.
            let completion = match prompt.and_then(|p| query.strip_prefix(p.as_str())) {
                Some(rest) => rest.to_string(),
                None => query,
            };
            let mut value = json!({ "id": i, "completion": completion });
            if let Some(label) = request.labels.as_ref().and_then(|l| l.get(i)) {
                value["answer"] = label.clone();
            }
            if let Some(prompt) = prompt {
                value["prompt"] = Value::String(prompt.clone());
            }
            Sample::from_json(value).map_err(|(id, err)| Outcome::error(id, err.to_string()))
        })
        .collect();
    let outcomes = run_scoring(state, parsed).await?;
    state.metrics.record_verdicts("get_reward", outcomes.iter().map(|o| o.verdict));
    let rewards: Vec<f64> = outcomes.iter().map(|o| o.reward).collect();
    let correct: Vec<f64> = outcomes.iter().map(|o| f64::from(u8::from(o.correct))).collect();
    let verdicts: Vec<&str> = outcomes.iter().map(|o| o.verdict.as_str()).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "rewards": rewards,
            "scores": rewards,
            "extra_logs": { "correct": correct },
            "verdicts": verdicts,
        }),
    ))
}

async fn run_code(State(state): State<Arc<ServerState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let result = run_code_inner(&state, body).await;
    finish(&state, "run_code", start, result)
}

async fn run_code_inner(state: &Arc<ServerState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let bytes = read_body(body, state)?;
    let request: RunCodeRequest = serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let job = request.into_job(state.limits.max_code_timeout).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let permit = admit(state, 1)?;
    let _in_flight = InFlight::new(state);
    let runner = state.runner.clone();
    let task = tokio::task::spawn_blocking(move || {
        let result = runner.run(&job);
        drop(permit);
        result
    });
    let result = match tokio::time::timeout(state.limits.request_timeout, task).await {
        Err(_) => return Err(ApiError::Deadline(state.limits.request_timeout)),
        Ok(Err(join)) => return Err(ApiError::Internal(format!("the sandbox task failed: {join}"))),
        Ok(Ok(result)) => result,
    };
    let response = RunCodeResponse::from_result(result.map_err(ApiError::Sandbox)?);
    Ok(json_response(StatusCode::OK, &response))
}

async fn health(State(state): State<Arc<ServerState>>) -> Response {
    let start = Instant::now();
    let body = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "queue_depth": state.queue_depth(),
        "queue_capacity": state.queue_capacity(),
        "in_flight": state.in_flight(),
    });
    finish(&state, "health", start, Ok(json_response(StatusCode::OK, &body)))
}

async fn metrics(State(state): State<Arc<ServerState>>) -> Response {
    let start = Instant::now();
    let text = state
        .metrics
        .render(QueueGauge { depth: state.queue_depth(), capacity: state.queue_capacity() }, state.in_flight());
    let response = (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response();
    finish(&state, "metrics", start, Ok(response))
}
