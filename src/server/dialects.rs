//! The other trainers' dialects: slime's `remote_rm`, NeMo Gym's `/verify`, and a batch form of
//! SandboxFusion's `/run_code` (one program, all of its test cases, one call).
//!
//! Each handler turns its body into rlvr samples (or code jobs), goes through the same admission,
//! queue and deadline as `/v1/score`, and answers in its client's shape. Request-shape errors are
//! `400` with a body naming what is wrong; a sample the engine cannot judge is a result (reward 0,
//! verdict `error`, the message alongside where the shape has room), never a 4xx, because these
//! clients retry every failed call and then abort the rollout. Every route is a pure function of
//! its body, so a retried request gets the same answer.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ServerState;
use super::routes::{ApiError, InFlight, admit, finish, json_response, parse_json, read_body, run_scoring};
use super::run_code::{ProcessStatus, RunCodeRequest, RunCodeResponse, RunStatus};
use crate::sample::{Outcome, Sample, json_type_name};

/// Scores one sample built from `value`; a sample that does not parse is an error outcome.
async fn score_one(state: &Arc<ServerState>, value: Value) -> Result<Outcome, ApiError> {
    let parsed = vec![Sample::from_json(value).map_err(|(id, err)| Outcome::error(id, err.to_string()))];
    let mut outcomes = run_scoring(state, parsed).await?;
    outcomes.pop().ok_or_else(|| ApiError::Internal("the engine returned no outcome".into()))
}

fn body_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, ApiError> {
    match parse_json::<Value>(bytes)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::WrongShape(format!(
            "the body must be a JSON object ({what}), got {}",
            json_type_name(&other)
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// slime: `--rm-type remote_rm --rm-url http://HOST:PORT/remote_rm`

/// slime's `POST {prompt, response, label}` → the reward as a bare JSON number (slime's default,
/// no `--reward-key`).
pub(super) async fn remote_rm(State(state): State<Arc<ServerState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let result = remote_rm_inner(&state, body).await.map(|o| json_response(StatusCode::OK, &o.reward));
    finish(&state, "remote_rm", start, result)
}

/// The same, answered as an object (`reward`, `score`, `correct`, `verdict`, `extracted`, `error`)
/// for slime's `--reward-key reward`.
pub(super) async fn remote_rm_object(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    let result = remote_rm_inner(&state, body).await.map(|o| {
        json_response(
            StatusCode::OK,
            &json!({
                "reward": o.reward,
                "score": o.reward,
                "correct": o.correct,
                "verdict": o.verdict.as_str(),
                "extracted": o.extracted,
                "error": o.error,
            }),
        )
    });
    finish(&state, "remote_rm", start, result)
}

async fn remote_rm_inner(state: &Arc<ServerState>, body: Result<Bytes, BytesRejection>) -> Result<Outcome, ApiError> {
    let bytes = read_body(body, state)?;
    let mut body = body_object(&bytes, "slime's {prompt, response, label}")?;
    let response = match body.remove("response") {
        Some(Value::String(text)) => text,
        Some(other) => {
            return Err(ApiError::WrongShape(format!("`response` must be a string, got {}", json_type_name(&other))));
        }
        None => return Err(ApiError::WrongShape("missing field `response` (the generated text)".into())),
    };
    let mut sample = Map::new();
    sample.insert("id".into(), Value::from(0));
    // A structured label carries sample fields (`answer`, `tests`, `language`, `recipe`); a plain
    // one is the gold answer.
    match body.remove("label") {
        Some(Value::Object(fields)) => sample.extend(fields),
        Some(Value::Null) | None => state.metrics.record_input_warning("empty_label", 1),
        Some(Value::String(s)) if s.trim().is_empty() => {
            state.metrics.record_input_warning("empty_label", 1);
            sample.insert("answer".into(), Value::String(s));
        }
        Some(label) => {
            sample.insert("answer".into(), label);
        }
    }
    if let Some(Value::String(prompt)) = body.remove("prompt") {
        sample.insert("prompt".into(), Value::String(prompt));
    }
    sample.insert("completion".into(), Value::String(response));
    let outcome = score_one(state, Value::Object(sample)).await?;
    state.metrics.record_verdicts("remote_rm", [outcome.verdict]);
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// NeMo Gym: a resources server's `POST /verify` (math_with_judge's request and response)

/// NeMo Gym's verify call: `responses_create_params`, an OpenAI Responses `response`, `question`,
/// `expected_answer` → the request echoed with `reward`, `extracted_answer`, `library_reward` and
/// `judge_evaluations` (null: rlvr judges by itself, no LLM judge).
pub(super) async fn verify(State(state): State<Arc<ServerState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let result = verify_inner(&state, body).await;
    finish(&state, "verify", start, result)
}

/// The text the model wrote: every `output_text` of every `message` item, concatenated (reasoning
/// items and tool calls are skipped), as math_with_judge's `verify` does.
fn responses_output_text(response: &Value) -> Result<String, ApiError> {
    let output = response.get("output").and_then(Value::as_array).ok_or_else(|| {
        ApiError::WrongShape("`response.output` must be an array (an OpenAI Responses object)".into())
    })?;
    let mut text = String::new();
    for item in output {
        if item.get("type").and_then(Value::as_str) != Some("message") {
            continue;
        }
        for content in item.get("content").and_then(Value::as_array).into_iter().flatten() {
            if content.get("type").and_then(Value::as_str) == Some("output_text")
                && let Some(t) = content.get("text").and_then(Value::as_str)
            {
                text.push_str(t);
            }
        }
    }
    Ok(text)
}

/// math_with_judge's `_strip_math_delimiters`: outer `\(…\)` and `$…$` come off the gold.
fn strip_math_delimiters(gold: &str) -> &str {
    let mut s = gold.trim();
    if let Some(inner) = s.strip_prefix("\\(").and_then(|r| r.strip_suffix("\\)")) {
        s = inner.trim();
    }
    if s.len() > 1
        && let Some(inner) = s.strip_prefix('$').and_then(|r| r.strip_suffix('$'))
    {
        s = inner.trim();
    }
    s
}

async fn verify_inner(state: &Arc<ServerState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let bytes = read_body(body, state)?;
    let mut body = body_object(&bytes, "a NeMo Gym verify request")?;
    if !body.get("responses_create_params").is_some_and(Value::is_object) {
        return Err(ApiError::WrongShape("missing object field `responses_create_params`".into()));
    }
    let response = body.get("response").ok_or_else(|| ApiError::WrongShape("missing field `response`".into()))?;
    let completion = responses_output_text(response)?;
    let gold = match body.get("expected_answer") {
        Some(Value::String(gold)) => strip_math_delimiters(gold).to_string(),
        Some(other) => {
            return Err(ApiError::WrongShape(format!(
                "`expected_answer` must be a string, got {}",
                json_type_name(other)
            )));
        }
        None => return Err(ApiError::WrongShape("missing field `expected_answer`".into())),
    };
    if gold.is_empty() {
        state.metrics.record_input_warning("empty_label", 1);
    }
    let mut sample = json!({ "id": 0, "completion": completion, "answer": gold });
    if let Some(Value::String(question)) = body.get("question") {
        sample["prompt"] = Value::String(question.clone());
    }
    let outcome = score_one(state, sample).await?;
    state.metrics.record_verdicts("verify", [outcome.verdict]);
    body.insert("reward".into(), json!(outcome.reward));
    body.insert("extracted_answer".into(), json!(outcome.extracted));
    body.insert("library_reward".into(), json!(outcome.reward));
    body.insert("judge_evaluations".into(), Value::Null);
    body.insert("verdict".into(), json!(outcome.verdict.as_str()));
    if let Some(error) = &outcome.error {
        body.insert("error".into(), json!(error));
    }
    Ok(json_response(StatusCode::OK, &body))
}

// ---------------------------------------------------------------------------------------------
// `/run_code/batch`: all test cases of one program in one call

/// One test case of a batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchCase {
    /// Standard input (default empty).
    #[serde(default)]
    stdin: Option<String>,
    /// The expected standard output; when set, the case passes if stdout equals it with trailing
    /// newlines ignored (verl's rule in `sandbox_fusion/utils.py`).
    #[serde(default)]
    expected_output: Option<String>,
}

/// A `/run_code` request without `stdin`, plus `cases` (and `stop_at_first_failure`).
#[derive(Debug, Deserialize)]
struct BatchRequest {
    #[serde(flatten)]
    run: RunCodeRequest,
    cases: Vec<BatchCase>,
    #[serde(default)]
    stop_at_first_failure: bool,
}

/// Runs one program on each case; answers `{"status", "passed", "total", "results": [RunCodeResponse
/// + "passed"]}`.
pub(super) async fn run_code_batch(
    State(state): State<Arc<ServerState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let start = Instant::now();
    let result = run_code_batch_inner(&state, body).await;
    finish(&state, "run_code_batch", start, result)
}

fn case_passed(response: &RunCodeResponse, expected: Option<&str>) -> bool {
    let finished = response.status == RunStatus::Success
        && response.run_result.as_ref().is_some_and(|r| r.status == ProcessStatus::Finished);
    match expected {
        None => finished,
        Some(expected) => {
            let stdout = response.run_result.as_ref().and_then(|r| r.stdout.as_deref()).unwrap_or("");
            finished && stdout.trim_end_matches('\n') == expected.trim_end_matches('\n')
        }
    }
}

async fn run_code_batch_inner(
    state: &Arc<ServerState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = read_body(body, state)?;
    let request: BatchRequest = parse_json(&bytes)?;
    if request.run.stdin.is_some() {
        return Err(ApiError::WrongShape("`stdin` goes inside each of `cases`, not at the top level".into()));
    }
    let n = request.cases.len();
    let limit = state.limits.max_samples_per_request;
    if n > limit {
        return Err(ApiError::TooManySamples { got: n, limit });
    }
    if n == 0 {
        return Err(ApiError::WrongShape(
            "`cases` is empty: give at least one {\"stdin\", \"expected_output\"}".into(),
        ));
    }
    let job = request
        .run
        .into_job(state.limits.max_code_timeout, state.limits.max_sandbox_wait)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let permit = admit(state, n)?;
    let _in_flight = InFlight::new(state);
    let runner = state.runner.clone();
    let cases = request.cases;
    let stop = request.stop_at_first_failure;
    let task = tokio::task::spawn_blocking(move || {
        let mut results = Vec::with_capacity(cases.len());
        for case in &cases {
            let mut one = job.clone();
            one.stdin = case.stdin.clone().unwrap_or_default();
            let response = RunCodeResponse::from_result(runner.run(&one)?);
            let passed = case_passed(&response, case.expected_output.as_deref());
            // A program that does not compile fails every case the same way: build it once.
            if response.run_result.is_none() && response.compile_result.is_some() {
                results.resize(cases.len(), (response, false));
                break;
            }
            results.push((response, passed));
            if stop && !passed {
                break;
            }
        }
        drop(permit);
        Ok::<_, super::run_code::CodeRunError>(results)
    });
    let results = match tokio::time::timeout(state.limits.request_timeout, task).await {
        Err(_) => return Err(ApiError::Deadline(state.limits.request_timeout)),
        Ok(Err(join)) => return Err(ApiError::Internal(format!("the sandbox task failed: {join}"))),
        Ok(Ok(results)) => results.map_err(ApiError::Sandbox)?,
    };
    let passed = results.iter().filter(|(_, p)| *p).count();
    let mut shown = Vec::with_capacity(results.len());
    for (response, ok) in results {
        let mut value = serde_json::to_value(&response).map_err(|e| ApiError::Internal(e.to_string()))?;
        value["passed"] = Value::Bool(ok);
        shown.push(value);
    }
    let status = if passed == n { "Success" } else { "Failed" };
    Ok(json_response(StatusCode::OK, &json!({ "status": status, "passed": passed, "total": n, "results": shown })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_delimiters_come_off_as_in_nemo_gym() {
        assert_eq!(strip_math_delimiters("\\(\\frac{333}{1997}\\)"), "\\frac{333}{1997}");
        assert_eq!(strip_math_delimiters(" $x^2$ "), "x^2");
        assert_eq!(strip_math_delimiters("$"), "$");
        assert_eq!(strip_math_delimiters("42"), "42");
    }

    #[test]
    fn output_text_skips_reasoning_and_concatenates_messages() {
        let response = json!({"output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "\\boxed{1}"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "The answer is "},
                                            {"type": "refusal", "refusal": "no"}]},
            {"type": "function_call", "arguments": "{\"x\": \"\\\\boxed{2}\"}"},
            {"type": "message", "content": [{"type": "output_text", "text": "\\boxed{3}"}]}
        ]});
        assert_eq!(responses_output_text(&response).unwrap(), "The answer is \\boxed{3}");
        assert!(matches!(responses_output_text(&json!({"output": "x"})), Err(ApiError::WrongShape(_))));
    }
}
