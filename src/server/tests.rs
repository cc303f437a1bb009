//! Tests that start the real server on a loopback port (127.0.0.1, port 0) and drive every endpoint
//! over plain HTTP/1.1, including every limit at its boundary and shutdown under load.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::sample::Verdict;

/// A scorer whose verdict is plain string equality, optionally slow or held at a gate, so that
/// queue and deadline tests do not depend on how fast the real verifiers are.
#[derive(Default)]
struct TestScorer {
    delay: Duration,
    gate: Option<Arc<Gate>>,
    batches: AtomicUsize,
}

#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    changed: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.changed.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.changed.wait(open).unwrap();
        }
    }
}

impl Scorer for TestScorer {
    fn score_batch(&self, samples: &[Sample]) -> Vec<Outcome> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        if let Some(gate) = &self.gate {
            gate.wait();
        }
        std::thread::sleep(self.delay);
        samples
            .iter()
            .map(|s| {
                let correct = s.answer.as_deref() == Some(s.completion.trim());
                Outcome {
                    id: s.id.clone(),
                    reward: f64::from(u8::from(correct)),
                    correct,
                    verdict: if correct { Verdict::Correct } else { Verdict::Incorrect },
                    components: BTreeMap::new(),
                    extracted: Some(s.completion.trim().to_string()),
                    error: None,
                }
            })
            .collect()
    }
}

/// A runner that "runs" a program by echoing its stdin, to check the SandboxFusion wire shape.
struct EchoRunner;

impl CodeRunner for EchoRunner {
    fn run(&self, job: &CodeJob) -> Result<CodeRunResult, CodeRunError> {
        if job.language != "python" {
            return Err(CodeRunError::UnsupportedLanguage {
                language: job.language.clone(),
                supported: "python".into(),
            });
        }
        let exit = if job.code.contains("exit(1)") { 1 } else { 0 };
        Ok(CodeRunResult {
            compile: None,
            run: Some(ProcessResult {
                status: ProcessStatus::Finished,
                execution_time: Some(0.0),
                return_code: Some(exit),
                stdout: Some(job.stdin.clone()),
                stderr: Some(String::new()),
            }),
            files: BTreeMap::new(),
            message: None,
        })
    }
}

struct TestServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    fn start(scorer: Arc<dyn Scorer>, runner: Arc<dyn CodeRunner>, limits: ServerLimits) -> TestServer {
        let state = ServerState::new(scorer, runner, limits);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            let result = runtime.block_on(async move {
                let config = ServerConfig { port: 0, ..ServerConfig::default() };
                let listener = bind(&config).await?;
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, served, async move {
                    let _ = stop_rx.await;
                })
                .await
            });
            // Scoring past the grace period is abandoned, as `rlvr serve` does.
            runtime.shutdown_background();
            result
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("server did not start");
        assert!(addr.ip().is_loopback(), "tests bind loopback only");
        TestServer { addr, state, stop: Some(stop_tx), thread: Some(thread) }
    }

    fn scoring(scorer: TestScorer, limits: ServerLimits) -> TestServer {
        TestServer::start(Arc::new(scorer), Arc::new(SandboxUnavailable { reason: "test".into() }), limits)
    }

    /// Triggers graceful shutdown and returns how the server ended.
    fn shutdown(&mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.take().map_or(Ok(()), |t| t.join().expect("server thread panicked"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection; the server's answer, read to the end.
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // The server may answer (413) and close before reading the whole body; the answer still counts.
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no HTTP head in the answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    HttpResponse { status, headers, body: raw[split + 4..].to_vec() }
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> HttpResponse {
    http(addr, "POST", path, body.to_string().as_bytes())
}

fn samples(n: usize) -> Value {
    let samples: Vec<Value> =
        (0..n).map(|i| json!({"id": i, "completion": if i % 2 == 0 { "7" } else { "8" }, "answer": "7"})).collect();
    json!({ "samples": samples })
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn score_answers_every_sample_in_order_with_malformed_ones_in_place() {
    let server = TestServer::scoring(TestScorer::default(), ServerLimits::default());
    let body = json!({"samples": [
        {"id": "a", "completion": "7", "answer": "7"},
        {"id": "b", "answer": "7"},
        {"id": "c", "completion": "9", "answer": "7"},
        42,
    ]});
    let response = post(server.addr, "/v1/score", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    let results = response.json()["results"].as_array().cloned().unwrap();
    let got: Vec<(Value, &str)> =
        results.iter().map(|r| (r["id"].clone(), r["verdict"].as_str().unwrap_or("?"))).collect();
    assert_eq!(
        got,
        vec![(json!("a"), "correct"), (json!("b"), "error"), (json!("c"), "incorrect"), (Value::Null, "error")]
    );
    assert!(results[1]["error"].as_str().unwrap().contains("completion"));
}

#[test]
fn score_runs_through_the_real_engine() {
    let engine = Engine::new(crate::batch::EngineConfig::default()).unwrap();
    let server = TestServer::start(
        Arc::new(engine),
        Arc::new(SandboxUnavailable { reason: "test".into() }),
        ServerLimits::default(),
    );
    let body = json!({"samples": [
        {"id": 1, "completion": "The answer is \\boxed{4}.", "answer": "4"},
        {"id": 2, "completion": "no answer field here"},
        {"id": 3, "completion": "x", "answer": "4", "recipe": "no_such_recipe"},
    ]});
    let response = post(server.addr, "/v1/score", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    let results = response.json()["results"].as_array().cloned().unwrap();
    assert_eq!(results.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![json!(1), json!(2), json!(3)]);
    // Whatever the math verifier decides for sample 1, the other two are the engine's own errors.
    assert_eq!(results[1]["verdict"], "error");
    assert_eq!(results[2]["verdict"], "error");
    assert!(results[2]["error"].as_str().unwrap().contains("no_such_recipe"));
    for r in &results {
        assert!(r["reward"].is_number() && r["components"].is_object(), "contract fields present: {r}");
    }
}

#[test]
fn malformed_bodies_get_400_with_a_typed_kind() {
    let server = TestServer::scoring(TestScorer::default(), ServerLimits::default());
    let cases: [(&[u8], &str); 4] = [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "bad_request"),
        (b"{\"samples\": 3}", "bad_request"),
        (b"{}", "bad_request"),
    ];
    for (body, kind) in cases {
        let response = http(server.addr, "POST", "/v1/score", body);
        assert_eq!(response.status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(response.json()["error"]["kind"], kind);
    }
}

#[test]
fn body_size_limit_at_the_limit_works_and_one_past_is_413() {
    let limit = 1024;
    let server =
        TestServer::scoring(TestScorer::default(), ServerLimits { max_body_bytes: limit, ..ServerLimits::default() });
    let body = |len: usize| {
        let mut b = samples(2).to_string().into_bytes();
        b.resize(len, b' ');
        b
    };
    let at = http(server.addr, "POST", "/v1/score", &body(limit));
    assert_eq!(at.status, 200, "{}", at.text());
    assert_eq!(at.json()["results"].as_array().map(Vec::len), Some(2));
    let past = http(server.addr, "POST", "/v1/score", &body(limit + 1));
    assert_eq!(past.status, 413);
    assert_eq!(past.json()["error"]["kind"], "body_too_large");
    // The same limit guards the other endpoints.
    let past = http(server.addr, "POST", "/get_reward", &body(limit + 1));
    assert_eq!(past.status, 413);
}

#[test]
fn samples_per_request_at_the_limit_works_and_one_past_is_413() {
    let limits = ServerLimits { max_samples_per_request: 3, ..ServerLimits::default() };
    let server = TestServer::scoring(TestScorer::default(), limits);
    assert_eq!(post(server.addr, "/v1/score", &samples(3)).status, 200);
    let past = post(server.addr, "/v1/score", &samples(4));
    assert_eq!(past.status, 413);
    assert_eq!(past.json()["error"]["kind"], "too_many_samples");
    let queries = json!({"query": ["a", "b", "c", "d"]});
    assert_eq!(post(server.addr, "/get_reward", &queries).status, 413);
}

#[test]
fn full_queue_answers_429_with_retry_after_and_recovers() {
    let gate = Arc::new(Gate::default());
    let scorer = TestScorer { gate: Some(gate.clone()), ..TestScorer::default() };
    let limits = ServerLimits { max_queued_samples: 4, retry_after: Duration::from_secs(2), ..ServerLimits::default() };
    let server = TestServer::scoring(scorer, limits);
    let addr = server.addr;
    // Exactly at the limit: 4 queued samples are admitted and held at the gate.
    let held = std::thread::spawn(move || post(addr, "/v1/score", &samples(4)));
    wait_until("4 samples queued", || server.state.queue_depth() == 4);
    // One past: a single extra sample is turned away at once.
    let rejected = post(addr, "/v1/score", &samples(1));
    assert_eq!(rejected.status, 429, "{}", rejected.text());
    assert_eq!(rejected.header("retry-after"), Some("2"));
    assert_eq!(rejected.json()["error"]["kind"], "queue_full");
    let metrics = http(addr, "GET", "/metrics", b"").text();
    assert!(metrics.contains("rlvr_queue_depth 4\n"), "{metrics}");
    assert!(metrics.contains("rlvr_rejected_total{reason=\"queue_full\"} 1\n"), "{metrics}");
    // A request larger than the whole queue can never fit: 413, not an endless 429.
    assert_eq!(post(addr, "/v1/score", &samples(5)).status, 413);
    gate.open();
    let held = held.join().unwrap();
    assert_eq!(held.status, 200);
    assert_eq!(held.json()["results"].as_array().map(Vec::len), Some(4));
    wait_until("queue drained", || server.state.queue_depth() == 0);
    assert_eq!(post(addr, "/v1/score", &samples(4)).status, 200);
}

#[test]
fn request_deadline_gives_504_and_fast_requests_pass() {
    let scorer = TestScorer { delay: Duration::from_millis(600), ..TestScorer::default() };
    let limits = ServerLimits { request_timeout: Duration::from_millis(150), ..ServerLimits::default() };
    let server = TestServer::scoring(scorer, limits);
    let late = post(server.addr, "/v1/score", &samples(2));
    assert_eq!(late.status, 504);
    assert_eq!(late.json()["error"]["kind"], "deadline_exceeded");
    // An empty batch needs no scoring and is inside any deadline.
    let empty = post(server.addr, "/v1/score", &json!({"samples": []}));
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), json!({"results": []}));

    let quick = TestServer::scoring(
        TestScorer::default(),
        ServerLimits { request_timeout: Duration::from_secs(5), ..ServerLimits::default() },
    );
    assert_eq!(post(quick.addr, "/v1/score", &samples(2)).status, 200);
}

#[test]
fn get_reward_speaks_openrlhf() {
    let server = TestServer::scoring(TestScorer::default(), ServerLimits::default());
    let body = json!({
        "query": ["Q1: 2+5? 7", "Q2: 3+5? 9", "no prompt prefix"],
        "prompts": ["Q1: 2+5? ", "Q2: 3+5? ", "other"],
        "labels": ["7", "8", 3],
    });
    let response = post(server.addr, "/get_reward", &body);
    assert_eq!(response.status, 200, "{}", response.text());
    let got = response.json();
    assert_eq!(got["rewards"], json!([1.0, 0.0, 0.0]));
    assert_eq!(got["scores"], got["rewards"]);
    assert_eq!(got["extra_logs"]["correct"], json!([1.0, 0.0, 0.0]));
    // The third query does not contain its prompt: an error, not a score of the whole query.
    assert_eq!(got["verdicts"], json!(["correct", "incorrect", "error"]));
    assert!(got["errors"][2].as_str().unwrap().contains("could not be found"), "{got}");
    let mismatched =
        post(server.addr, "/get_reward", &json!({"query": ["a", "b"], "prompts": ["", ""], "labels": ["1"]}));
    assert_eq!(mismatched.status, 400);
    assert!(mismatched.json()["error"]["message"].as_str().unwrap().contains("labels"));
    assert_eq!(post(server.addr, "/get_reward", &json!({"prompts": []})).status, 400);
}

#[test]
fn run_code_without_a_sandbox_is_503_in_sandboxfusion_shape() {
    let server = TestServer::start(
        Arc::new(TestScorer::default()),
        Arc::new(SandboxUnavailable { reason: "this build has no code verifier".into() }),
        ServerLimits::default(),
    );
    let response = post(server.addr, "/run_code", &json!({"code": "print(1)", "language": "python"}));
    assert_eq!(response.status, 503);
    let body = response.json();
    assert_eq!(body["status"], "SandboxError");
    assert!(body["message"].as_str().unwrap().contains("unavailable"), "{body}");
    assert_eq!(body["run_result"], Value::Null);
}

#[test]
fn run_code_passes_sandboxfusion_fields_through_the_runner() {
    let limits = ServerLimits { max_code_timeout: Duration::from_secs(20), ..ServerLimits::default() };
    let server = TestServer::start(Arc::new(TestScorer::default()), Arc::new(EchoRunner), limits);
    let ok = post(
        server.addr,
        "/run_code",
        &json!({"code": "print(input())", "language": "python", "stdin": "hello\n", "run_timeout": 20,
                "memory_limit_MB": 256}),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let body = ok.json();
    assert_eq!(body["status"], "Success");
    assert_eq!(body["run_result"]["status"], "Finished");
    assert_eq!(body["run_result"]["return_code"], 0);
    assert_eq!(body["run_result"]["stdout"], "hello\n");
    assert_eq!(body["compile_result"], Value::Null);
    assert_eq!(body["files"], json!({}));

    let failed = post(server.addr, "/run_code", &json!({"code": "exit(1)", "language": "python"}));
    assert_eq!(failed.json()["status"], "Failed");

    // run_timeout at the limit (above) works; one past is refused before anything runs.
    let too_long = post(server.addr, "/run_code", &json!({"code": "1", "language": "python", "run_timeout": 20.5}));
    assert_eq!(too_long.status, 400);
    assert_eq!(too_long.json()["status"], "SandboxError");

    let unsupported = post(server.addr, "/run_code", &json!({"code": "1", "language": "cobol"}));
    assert_eq!(unsupported.status, 400);
    assert!(unsupported.json()["message"].as_str().unwrap().contains("cobol"));
}

#[test]
fn health_and_metrics_report_counts() {
    let server = TestServer::scoring(TestScorer::default(), ServerLimits::default());
    let health = http(server.addr, "GET", "/health", b"");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(post(server.addr, "/v1/score", &samples(3)).status, 200);
    let metrics = http(server.addr, "GET", "/metrics", b"");
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    let text = metrics.text();
    for line in [
        "rlvr_requests_total{endpoint=\"score\",status=\"200\"} 1\n",
        "rlvr_samples_total{endpoint=\"score\"} 3\n",
        "rlvr_verdicts_total{verdict=\"correct\"} 2\n",
        "rlvr_verdicts_total{verdict=\"incorrect\"} 1\n",
        "rlvr_request_duration_seconds_count{endpoint=\"score\"} 1\n",
        "rlvr_queue_capacity 262144\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn unknown_paths_are_404() {
    let server = TestServer::scoring(TestScorer::default(), ServerLimits::default());
    assert_eq!(http(server.addr, "GET", "/nope", b"").status, 404);
    assert_eq!(http(server.addr, "GET", "/v1/score", b"").status, 405);
}

#[test]
fn graceful_shutdown_under_load_finishes_every_in_flight_request() {
    let scorer = TestScorer { delay: Duration::from_millis(400), ..TestScorer::default() };
    let mut server = TestServer::scoring(scorer, ServerLimits::default());
    let addr = server.addr;
    let clients: Vec<_> = (0..8).map(|_| std::thread::spawn(move || post(addr, "/v1/score", &samples(5)))).collect();
    wait_until("8 requests in flight", || server.state.in_flight() == 8);
    server.shutdown().expect("graceful shutdown");
    for client in clients {
        let response = client.join().unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.json()["results"].as_array().map(Vec::len), Some(5));
    }
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "still accepting after shutdown");
}

#[test]
fn shutdown_grace_period_is_enforced() {
    let scorer = TestScorer { delay: Duration::from_secs(3), ..TestScorer::default() };
    let limits = ServerLimits { shutdown_grace: Duration::from_millis(100), ..ServerLimits::default() };
    let mut server = TestServer::scoring(scorer, limits);
    let addr = server.addr;
    let client = std::thread::spawn(move || {
        let _ = std::panic::catch_unwind(|| post(addr, "/v1/score", &samples(1)));
    });
    wait_until("request in flight", || server.state.in_flight() == 1);
    let started = Instant::now();
    assert!(matches!(server.shutdown(), Err(ServerError::ShutdownTimedOut(_))));
    assert!(started.elapsed() < Duration::from_secs(2), "the grace period bounds shutdown");
    let _ = client.join();
}

/// Starts a server whose `/run_code` runs programs for real in the wasmtime sandbox.
fn sandbox_server() -> TestServer {
    let limits = ServerLimits { max_code_timeout: Duration::from_secs(60), ..ServerLimits::default() };
    TestServer::start(Arc::new(TestScorer::default()), Arc::new(WasmRunner::default()), limits)
}

/// A `/run_code` call that must be answered 200; a missing toolchain fails here with the server's
/// own explanation (which names the install command), as the testdata harness does.
fn run_code_ok(addr: SocketAddr, body: Value) -> Value {
    let response = post(addr, "/run_code", &body);
    assert_eq!(
        response.status,
        200,
        "/run_code answered {}: {} (a missing runtime or compiler is built by .ci/install-code-runtimes.sh)",
        response.status,
        response.text()
    );
    response.json()
}

#[test]
fn run_code_runs_python_in_the_sandbox() {
    let server = sandbox_server();
    let ok = run_code_ok(
        server.addr,
        json!({"code": "a, b = map(int, input().split())\nprint(a + b)", "language": "python", "stdin": "2 40\n"}),
    );
    assert_eq!(ok["status"], "Success", "{ok}");
    assert_eq!(ok["compile_result"], Value::Null, "python has no compile step");
    assert_eq!(ok["run_result"]["status"], "Finished");
    assert_eq!(ok["run_result"]["return_code"], 0);
    assert_eq!(ok["run_result"]["stdout"], "42\n");
    assert!(ok["run_result"]["execution_time"].as_f64().is_some_and(|t| t > 0.0), "{ok}");

    let exit3 = run_code_ok(
        server.addr,
        json!({"code": "import sys\nsys.stderr.write('bye\\n')\nsys.exit(3)", "language": "python"}),
    );
    assert_eq!(exit3["status"], "Failed");
    assert_eq!(exit3["run_result"]["status"], "Finished");
    assert_eq!(exit3["run_result"]["return_code"], 3);
    assert_eq!(exit3["run_result"]["stderr"], "bye\n");

    let syntax = run_code_ok(server.addr, json!({"code": "def f(:\n  pass", "language": "python"}));
    assert_eq!(syntax["status"], "Failed");
    assert_eq!(syntax["run_result"]["status"], "Finished");
    assert_eq!(syntax["run_result"]["return_code"], 1);
    assert!(syntax["run_result"]["stderr"].as_str().unwrap().contains("SyntaxError"), "{syntax}");

    let forever =
        run_code_ok(server.addr, json!({"code": "while True:\n  pass", "language": "python", "run_timeout": 0.2}));
    assert_eq!(forever["status"], "Failed");
    assert_eq!(forever["run_result"]["status"], "TimeLimitExceeded", "{forever}");
    assert_eq!(forever["run_result"]["return_code"], Value::Null);
    assert!(forever["message"].as_str().unwrap().contains("time limit"), "{forever}");

    let files = post(
        server.addr,
        "/run_code",
        &json!({"code": "print(open('a.txt').read())", "language": "python", "files": {"a.txt": "aGk="}}),
    );
    assert_eq!(files.status, 400);
    assert!(files.json()["message"].as_str().unwrap().contains("files"));
}

#[test]
fn run_code_compiles_and_runs_cpp_in_the_sandbox() {
    let server = sandbox_server();
    let sum = "#include <bits/stdc++.h>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<\"\\n\";}";
    let ok = run_code_ok(server.addr, json!({"code": sum, "language": "cpp", "stdin": "5 37"}));
    assert_eq!(ok["status"], "Success", "{ok}");
    assert_eq!(ok["compile_result"]["status"], "Finished");
    assert_eq!(ok["compile_result"]["return_code"], 0);
    assert_eq!(ok["run_result"]["status"], "Finished");
    assert_eq!(ok["run_result"]["stdout"], "42\n");

    let broken = run_code_ok(server.addr, json!({"code": "int main(){ return x; }", "language": "cpp"}));
    assert_eq!(broken["status"], "Failed");
    assert_eq!(broken["compile_result"]["status"], "Finished");
    assert_eq!(broken["compile_result"]["return_code"], 1);
    assert!(broken["compile_result"]["stderr"].as_str().unwrap().contains("error"), "{broken}");
    assert_eq!(broken["run_result"], Value::Null);

    let crash =
        run_code_ok(server.addr, json!({"code": "#include <cstdlib>\nint main(){ abort(); }", "language": "cpp"}));
    assert_eq!(crash["status"], "Failed");
    assert_eq!(crash["run_result"]["status"], "Error", "{crash}");
    assert!(crash["message"].as_str().unwrap().contains("crashed"), "{crash}");
}

/// `max_sandbox_wait` boundary pair: with every sandbox slot taken, a `/run_code` job that gets a
/// slot within its wait runs (200); one that does not is not run and gets `504` with
/// `Retry-After` (the status verl's client retries), in SandboxFusion's shape.
#[test]
fn run_code_waits_for_a_sandbox_slot_at_most_max_sandbox_wait() {
    let pool = crate::code::admission::global();
    let body = json!({"code": "print(6 * 7)", "language": "python"});

    let short = ServerLimits { max_sandbox_wait: Duration::from_millis(200), ..ServerLimits::default() };
    let server = TestServer::start(Arc::new(TestScorer::default()), Arc::new(WasmRunner::default()), short);
    let all = pool.acquire_many(pool.capacity(), None).expect("no deadline");
    let busy = post(server.addr, "/run_code", &body);
    drop(all);
    assert_eq!(busy.status, 504, "{}", busy.text());
    assert_eq!(busy.json()["status"], "SandboxError");
    assert!(busy.json()["message"].as_str().unwrap().contains("busy"), "{}", busy.text());
    assert_eq!(busy.header("retry-after"), Some("1"));

    let long = ServerLimits { max_sandbox_wait: Duration::from_secs(30), ..ServerLimits::default() };
    let server = TestServer::start(Arc::new(TestScorer::default()), Arc::new(WasmRunner::default()), long);
    let all = pool.acquire_many(pool.capacity(), None).expect("no deadline");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(all);
    });
    let served = run_code_ok(server.addr, body);
    release.join().unwrap();
    assert_eq!(served["run_result"]["stdout"], "42\n", "{served}");
}
