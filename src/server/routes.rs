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
        .route("/run_code/batch", post(super::dialects::run_code_batch))
        .route("/remote_rm", post(super::dialects::remote_rm))
        .route("/remote_rm/object", post(super::dialects::remote_rm_object))
        .route("/verify", post(super::dialects::verify))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .with_state(state)
}

/// Why a request was not answered with results.
#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    #[error("request body is larger than the limit of {limit} bytes (max_body_bytes)")]
    BodyTooLarge { limit: usize },
    #[error("cannot read the request body: {0}")]
    BadBody(String),
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the JSON body does not have the fields this endpoint reads: {0}")]
    WrongShape(String),
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
            ApiError::BadBody(_) | ApiError::InvalidJson(_) | ApiError::WrongShape(_) | ApiError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Deadline(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Sandbox(CodeRunError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            // 504, not 503: SandboxFusion's gateway answers 504 when busy, and verl retries only 504.
            ApiError::Sandbox(CodeRunError::Busy(_)) => StatusCode::GATEWAY_TIMEOUT,
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
            ApiError::WrongShape(_) => "wrong_shape",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::TooManySamples { .. } => "too_many_samples",
            ApiError::QueueFull { .. } => "queue_full",
            ApiError::Deadline(_) => "deadline_exceeded",
            ApiError::Sandbox(CodeRunError::Unavailable(_)) => "sandbox_unavailable",
            ApiError::Sandbox(CodeRunError::UnsupportedLanguage { .. }) => "unsupported_language",
            ApiError::Sandbox(CodeRunError::InvalidJob(_)) => "invalid_job",
            ApiError::Sandbox(CodeRunError::Internal(_)) => "sandbox_error",
            ApiError::Sandbox(CodeRunError::Busy(_)) => "sandbox_busy",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The response, in the generic shape or (for `/run_code`) SandboxFusion's.
    pub(super) fn into_response(self, sandbox_shape: bool) -> Response {
        let status = self.status();
        let body = if sandbox_shape {
            serde_json::to_value(RunCodeResponse::sandbox_error(self.to_string())).unwrap_or(Value::Null)
        } else {
            json!({"error": {"kind": self.kind(), "message": self.to_string()}})
        };
        let mut response = json_response(status, &body);
        let retry_after = match &self {
            ApiError::QueueFull { retry_after, .. } => Some(*retry_after),
            ApiError::Sandbox(CodeRunError::Busy(_)) => Some(Duration::from_secs(1)),
            _ => None,
        };
        if let Some(retry_after) = retry_after {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Reads a JSON body into `T`: a syntax error is `invalid_json`, valid JSON without the fields
/// `T` needs is `wrong_shape` (the message names the field).
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::WrongShape(e.to_string()),
        _ => ApiError::InvalidJson(e.to_string()),
    })
}

pub(super) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], Body::from(bytes)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot serialise the response: {e}")).into_response(),
    }
}

/// Counts a request as in flight until dropped.
pub(super) struct InFlight(Arc<ServerState>);

impl InFlight {
    pub(super) fn new(state: &Arc<ServerState>) -> Self {
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(super) fn read_body(body: Result<Bytes, BytesRejection>, state: &ServerState) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge { limit: state.limits.max_body_bytes }
        } else {
            ApiError::BadBody(rejection.body_text())
        }
    })
}

/// Takes `n` slots in the queue, or says it is full. `n` must be at least 1.
pub(super) fn admit(state: &ServerState, n: usize) -> Result<OwnedSemaphorePermit, ApiError> {
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
pub(super) async fn run_scoring(
    state: &Arc<ServerState>,
    parsed: Vec<Result<Sample, Outcome>>,
) -> Result<Vec<Outcome>, ApiError> {
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

pub(super) fn finish(
    state: &ServerState,
    endpoint: &'static str,
    start: Instant,
    result: Result<Response, ApiError>,
) -> Response {
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            state.metrics.record_rejection(err.kind());
            err.into_response(endpoint.starts_with("run_code"))
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

/// OpenRLHF's remote reward request: `query` is the decoded prompt + response, `prompts` the
/// prompt texts, `labels` the gold answers (`""` for every sample when `--label_key` is not set).
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
    let request: RewardRequest = parse_json(&bytes)?;
    let n = request.query.len();
    let limit = state.limits.max_samples_per_request;
    if n > limit {
        return Err(ApiError::TooManySamples { got: n, limit });
    }
    let Some(prompts) = request.prompts else {
        return Err(ApiError::BadRequest(
            "missing field `prompts`: OpenRLHF's `query` is prompt + response, and without the prompt the \
             response cannot be told apart from it (scoring the whole query would reward the prompt's own answers)"
                .into(),
        ));
    };
    for (field, len) in [("prompts", Some(prompts.len())), ("labels", request.labels.as_ref().map(Vec::len))] {
        if let Some(len) = len.filter(|&len| len != n) {
            return Err(ApiError::BadRequest(format!("`{field}` has {len} entries but `query` has {n}")));
        }
    }
    let is_empty_label = |label: Option<&Value>| match label {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    };
    let empty_labels = (0..n).filter(|&i| is_empty_label(request.labels.as_ref().and_then(|l| l.get(i)))).count();
    if empty_labels > 0 {
        state.metrics.record_input_warning("empty_label", empty_labels as u64);
        // Once per request: OpenRLHF reads only `rewards`, so without this the zeros are silent.
        eprintln!(
            "rlvr: /get_reward: {empty_labels} of {n} samples have an empty label (OpenRLHF sends \"\" when \
             --label_key is not set); they score 0"
        );
    }
    let mut not_found = 0u64;
    let parsed = request
        .query
        .into_iter()
        .zip(prompts)
        .enumerate()
        .map(|(i, (query, prompt))| {
            let completion = match super::openrlhf::find_response(&query, &prompt) {
                Ok(response) => response.to_string(),
                Err(err) => {
                    not_found += 1;
                    return Err(Outcome::error(Value::from(i), err.to_string()));
                }
            };
            let mut value = json!({ "id": i, "completion": completion, "prompt": prompt });
            if let Some(label) = request.labels.as_ref().and_then(|l| l.get(i)) {
                value["answer"] = label.clone();
            }
            Sample::from_json(value).map_err(|(id, err)| Outcome::error(id, err.to_string()))
        })
        .collect();
    state.metrics.record_input_warning("response_not_found", not_found);
    let outcomes = run_scoring(state, parsed).await?;
    state.metrics.record_verdicts("get_reward", outcomes.iter().map(|o| o.verdict));
    let rewards: Vec<f64> = outcomes.iter().map(|o| o.reward).collect();
    let correct: Vec<f64> = outcomes.iter().map(|o| f64::from(u8::from(o.correct))).collect();
    let verdicts: Vec<&str> = outcomes.iter().map(|o| o.verdict.as_str()).collect();
    let errors: Vec<Option<&str>> = outcomes.iter().map(|o| o.error.as_deref()).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "rewards": rewards,
            "scores": rewards,
            "extra_logs": { "correct": correct },
            "verdicts": verdicts,
            "errors": errors,
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
    let request: RunCodeRequest = parse_json(&bytes)?;
    let job = request
        .into_job(state.limits.max_code_timeout, state.limits.max_sandbox_wait)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
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
