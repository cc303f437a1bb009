//! Data-driven server cases (`testdata/server/*.jsonl`), run by the test harness: one request to
//! one endpoint of a real router (the real [`Engine`] and [`WasmRunner`]), in process, and the
//! answer compared with the case's expectation.
//!
//! A line: `{"id", "source" or "see", "path", "body"` (JSON) or `"body_text"` (raw bytes, for
//! malformed JSON)`, "status"` (expected HTTP status, default 200)`, "expect"` (a JSON value the
//! answer must *contain*: every key of an expected object must be present and match, arrays match
//! element by element, numbers within 1e-9; a string `"…"` in `expect_contains` must occur in the
//! answer's text)`, "metrics"` (lines that must appear in `GET /metrics` afterwards)`}`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;

use super::{ServerLimits, ServerState, WasmRunner};
use crate::batch::{Engine, EngineConfig};

/// One server case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerCase {
    /// Unique name within its file.
    pub id: String,
    /// Where the request comes from (a client's source file).
    #[serde(default)]
    pub source: Option<String>,
    /// Why the case exists (an issue).
    #[serde(default)]
    pub see: Option<String>,
    /// The endpoint, e.g. `/get_reward`.
    pub path: String,
    /// The JSON body.
    #[serde(default)]
    pub body: Option<Value>,
    /// A raw body instead of `body`.
    #[serde(default)]
    pub body_text: Option<String>,
    /// Expected HTTP status (default 200).
    #[serde(default = "ok")]
    pub status: u16,
    /// A value the answer must contain.
    #[serde(default)]
    pub expect: Option<Value>,
    /// Substrings the answer's text must contain.
    #[serde(default)]
    pub expect_contains: Vec<String>,
    /// Lines `GET /metrics` must show afterwards.
    #[serde(default)]
    pub metrics: Vec<String>,
}

fn ok() -> u16 {
    200
}

/// Whether `actual` contains `expected` (see the module docs); `Err` says where it differs.
pub fn contains(actual: &Value, expected: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (k, v) in want {
                let here = format!("{at}.{k}");
                match got.get(k) {
                    Some(g) => contains(g, v, &here)?,
                    None if v.is_null() => {}
                    None => return Err(format!("{here}: missing (expected {v})")),
                }
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Err(format!("{at}: {} elements, expected {}", got.len(), want.len()));
            }
            want.iter().zip(got).enumerate().try_for_each(|(i, (w, g))| contains(g, w, &format!("{at}[{i}]")))
        }
        (Value::Number(w), Value::Number(g)) => match (w.as_f64(), g.as_f64()) {
            (Some(w), Some(g)) if (w - g).abs() <= 1e-9 => Ok(()),
            _ => Err(format!("{at}: {g}, expected {w}")),
        },
        (w, g) if w == g => Ok(()),
        (w, g) => Err(format!("{at}: {g}, expected {w}")),
    }
}

impl ServerCase {
    /// Reads one JSONL line.
    pub fn from_line(line: &str) -> Result<ServerCase, String> {
        let case: ServerCase = serde_json::from_str(line).map_err(|e| e.to_string())?;
        if case.body.is_some() == case.body_text.is_some() {
            return Err("give exactly one of `body` and `body_text`".into());
        }
        if case.expect.is_none() && case.expect_contains.is_empty() && case.metrics.is_empty() {
            return Err("a case needs `expect`, `expect_contains` or `metrics`".into());
        }
        Ok(case)
    }

    /// Sends the request to a fresh server state and checks the answer.
    pub fn run(&self) -> Result<(), String> {
        let engine = Engine::new(EngineConfig::default()).map_err(|e| e.to_string())?;
        let runner = WasmRunner { limits: engine.config().code.limits, ..WasmRunner::default() };
        let state = ServerState::new(Arc::new(engine), Arc::new(runner), ServerLimits::default());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(self.run_on(state))
    }

    async fn run_on(&self, state: Arc<ServerState>) -> Result<(), String> {
        let router = super::router(state);
        let body = match (&self.body, &self.body_text) {
            (Some(v), _) => v.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.path)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .map_err(|e| e.to_string())?;
        let response = router.clone().oneshot(request).await.unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut problems = Vec::new();
        if status != self.status {
            problems.push(format!("status {status}, expected {}", self.status));
        }
        if let Some(expect) = &self.expect {
            match serde_json::from_str::<Value>(&text) {
                Ok(actual) => {
                    if let Err(e) = contains(&actual, expect, "$") {
                        problems.push(e);
                    }
                }
                Err(e) => problems.push(format!("the answer is not JSON ({e})")),
            }
        }
        for needle in &self.expect_contains {
            if !text.contains(needle.as_str()) {
                problems.push(format!("the answer does not contain {needle:?}"));
            }
        }
        if !self.metrics.is_empty() {
            let request = Request::builder().uri("/metrics").body(Body::empty()).map_err(|e| e.to_string())?;
            let response = router.oneshot(request).await.unwrap_or_else(|never| match never {});
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| e.to_string())?;
            let metrics = String::from_utf8_lossy(&bytes);
            for line in &self.metrics {
                if !metrics.lines().any(|l| l == line) {
                    problems.push(format!("/metrics has no line {line:?}"));
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(format!("{}\nanswer: {text}", problems.join("\n"))) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containment_is_by_key_and_element() {
        let actual = json!({"a": 1, "b": [1.0, {"c": "x", "d": 2}]});
        assert!(contains(&actual, &json!({"b": [1, {"c": "x"}]}), "$").is_ok());
        assert!(contains(&actual, &json!({"b": [1]}), "$").is_err());
        assert!(contains(&actual, &json!({"a": 2}), "$").is_err());
        assert!(contains(&actual, &json!({"z": 2}), "$").is_err());
    }
}
