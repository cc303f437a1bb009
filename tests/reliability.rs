//! The reliability suite: malformed samples mixed into a batch, determinism across thread counts,
//! peak memory of a large streamed batch, and the limit boundary pairs no other test covers.
//!
//! Needs the `test-hooks` feature (enabled for this crate's tests by its dev-dependency on itself):
//! a sample with the field `rlvr_test_panic` panics inside the engine.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use rlvr::batch::{Engine, EngineConfig};
use rlvr::code::limits::{LimitsError, MAX_MEMORY_BYTES, MIB};
use rlvr::code::{CodeConfig, CodeLimits, TestSpec, TestsError};
use rlvr::server::RunCodeRequest;
use rlvr::server::run_code::JobError;
use rlvr::{Outcome, Verdict};
use serde_json::{Value, json};

/// What one line of the mixed batch is and what its outcome must be.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// A good sample: scored with this verdict, its id echoed.
    Scored(Verdict),
    /// A bad line: its own `error` outcome; the id when the line still had a readable one.
    Error(Option<i64>),
}

/// The malformed lines, one per class, cycled through the batch. `{i}` is the line's index.
fn malformed(i: usize, class: usize) -> (Vec<u8>, Expect) {
    let id = i64::try_from(i).unwrap_or(i64::MAX);
    match class % 7 {
        // Truncated JSON.
        0 => (format!(r#"{{"id": {i}, "completion": "\\boxed{{1}}", "answer": "#).into_bytes(), Expect::Error(None)),
        // Not an object.
        1 => (format!("[{i}, \"\\\\boxed{{1}}\"]").into_bytes(), Expect::Error(None)),
        // Wrong type for `completion`.
        2 => (format!(r#"{{"id": {i}, "completion": 42, "answer": "1"}}"#).into_bytes(), Expect::Error(Some(id))),
        // Wrong type for `answer`.
        3 => (format!(r#"{{"id": {i}, "completion": "x", "answer": [1, 2]}}"#).into_bytes(), Expect::Error(Some(id))),
        // An invalid escape and a lone surrogate escape: not JSON.
        4 => (format!(r#"{{"id": {i}, "completion": "\q\ud800", "answer": "1"}}"#).into_bytes(), Expect::Error(None)),
        // A sample that panics inside the engine (test-only hook).
        5 => (
            format!(r#"{{"id": {i}, "completion": "\\boxed{{1}}", "answer": "1", "rlvr_test_panic": "boom {i}"}}"#)
                .into_bytes(),
            Expect::Error(Some(id)),
        ),
        // Invalid UTF-8 inside a string (bytes 0xff 0xfe).
        _ => {
            let mut line = format!(r#"{{"id": {i}, "completion": "\\boxed{{1}} "#).into_bytes();
            line.extend_from_slice(&[0xff, 0xfe]);
            line.extend_from_slice(br#"", "answer": "1"}"#);
            (line, Expect::Error(None))
        }
    }
}

/// A batch of `n` lines: every 10th malformed (cycling through the classes), the rest good math
/// samples, a third of them wrong.
fn mixed_batch(n: usize) -> Vec<(Vec<u8>, Expect)> {
    (0..n)
        .map(|i| {
            if i % 10 == 7 {
                return malformed(i, i / 10);
            }
            let gold = i * 7 + 3;
            let (answer, verdict) = if i % 3 == 0 { (gold + 1, Verdict::Incorrect) } else { (gold, Verdict::Correct) };
            let line = json!({
                "id": i,
                "completion": format!("<think>7·{i}+3</think> The answer is $\\boxed{{{gold}}}$."),
                "answer": answer.to_string(),
            });
            (line.to_string().into_bytes(), Expect::Scored(verdict))
        })
        .collect()
}

fn assert_outcomes(batch: &[(Vec<u8>, Expect)], outcomes: &[Outcome], path: &str) {
    assert_eq!(outcomes.len(), batch.len(), "{path}: one outcome per line");
    for (i, ((_, expect), outcome)) in batch.iter().zip(outcomes).enumerate() {
        match expect {
            Expect::Scored(verdict) => {
                assert_eq!(outcome.id, json!(i), "{path}: line {i} out of order");
                assert_eq!(outcome.verdict, *verdict, "{path}: line {i}: {outcome:?}");
                assert!(outcome.error.is_none(), "{path}: line {i}: {outcome:?}");
            }
            Expect::Error(id) => {
                assert_eq!(outcome.verdict, Verdict::Error, "{path}: line {i}: {outcome:?}");
                assert!(outcome.error.as_deref().is_some_and(|e| !e.is_empty()), "{path}: line {i}: {outcome:?}");
                assert_eq!(outcome.reward, 0.0);
                if let Some(id) = id {
                    assert_eq!(outcome.id, json!(id), "{path}: line {i}: the id is echoed");
                }
            }
        }
    }
}

fn engine() -> Engine {
    Engine::new(EngineConfig::default()).expect("built-in recipes load")
}

#[test]
fn mixed_batch_of_1000_through_the_engine() {
    let batch = mixed_batch(1000);
    let engine = engine();
    // `score_lines` takes text, so the invalid-UTF-8 lines go through lossy decoding there (they
    // become lines with U+FFFD, still malformed by their other class); the raw bytes go through the
    // streaming reader below and the binary.
    let text: Vec<String> = batch.iter().map(|(line, _)| String::from_utf8_lossy(line).into_owned()).collect();
    let outcomes = engine.score_lines(&text);
    assert_eq!(outcomes.len(), 1000);
    for (i, ((_, expect), outcome)) in batch.iter().zip(&outcomes).enumerate() {
        if let Expect::Scored(verdict) = expect {
            assert_eq!((&outcome.id, outcome.verdict), (&json!(i), *verdict), "line {i}");
        }
    }
    let mut bytes = Vec::new();
    for (line, _) in &batch {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    let mut out = Vec::new();
    let summary = rlvr::io::score_stream_mapped(&engine, &bytes[..], &mut out, 64, None).expect("stream scores");
    assert_eq!(summary.samples, 1000);
    assert_eq!(summary.errors, 100);
    let streamed: Vec<Outcome> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("JSONL"))
        .collect();
    assert_outcomes(&batch, &streamed, "score_stream");
}

#[test]
fn mixed_batch_of_1000_through_the_binary() {
    let batch = mixed_batch(1000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rlvr"))
        .args(["score", "-", "--threads", "2", "--chunk", "100"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlvr starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || {
        for (line, _) in mixed_batch(1000) {
            stdin.write_all(&line).and_then(|()| stdin.write_all(b"\n")).expect("write a line");
        }
    });
    let output = child.wait_with_output().expect("rlvr finishes");
    writer.join().expect("writer thread");
    assert!(output.status.success(), "rlvr score failed: {}", String::from_utf8_lossy(&output.stderr));
    let outcomes: Vec<Outcome> = output
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("JSONL"))
        .collect();
    assert_outcomes(&batch, &outcomes, "rlvr score");
}

/// The sample batch, the math pathological cases and the mixed batch, as text lines.
fn determinism_lines() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines: Vec<String> = Vec::new();
    for file in ["testdata/samples.jsonl", "testdata/math/pathological.jsonl"] {
        let text = std::fs::read_to_string(root.join(file)).expect("testdata is readable");
        lines.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    lines.extend(mixed_batch(400).into_iter().map(|(line, _)| String::from_utf8_lossy(&line).into_owned()));
    lines
}

#[test]
fn same_batch_same_results_with_1_and_4_threads() {
    let lines = determinism_lines();
    let engine = engine();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        pool.install(|| engine.score_lines(&lines))
    };
    let one = run(1);
    assert_eq!(one.len(), lines.len());
    assert_eq!(one, run(1), "1 thread, twice");
    let four = run(4);
    assert_eq!(one, four, "1 thread vs 4 threads");
    assert_eq!(four, run(4), "4 threads, twice");
}

/// Runs `child` to its end and returns its exit status and peak resident memory (KiB), sampled from
/// `/proc/<pid>/status` (`VmHWM`, the high-water mark of the child's own address space) every 2 ms.
/// Not `wait4`'s `ru_maxrss`: Linux carries the forking parent's high-water mark across `exec`, so
/// that figure reports the test process's memory, not the child's.
fn wait_peak_rss_kib(mut child: std::process::Child) -> (i32, i64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0i64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kib) = text
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for rlvr") {
            return (status.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Peak RSS bound for `rlvr score` over the 200k-sample stream (see the README's reliability table).
/// Measured in session 9 (debug build, `--threads 2`, 93 MiB of input): 28 MiB, the same as
/// `/usr/bin/time -f %M` gives; the bound leaves room for allocator and thread-stack variation.
const PEAK_RSS_BOUND_MIB: i64 = 64;

#[test]
fn streaming_200k_samples_keeps_peak_memory_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("big.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).expect("create input"));
    let padding = "reasoning ".repeat(40);
    for i in 0..200_000u64 {
        let line = json!({
            "id": i,
            "completion": format!("<think>{padding}</think> The answer is $\\boxed{{{}}}$.", i % 977),
            "answer": ((i + i % 2) % 977).to_string(),
        });
        writeln!(file, "{line}").expect("write input");
    }
    file.flush().expect("flush input");
    drop(file);
    let input_bytes = std::fs::metadata(&input).expect("input written").len();
    let child = Command::new(env!("CARGO_BIN_EXE_rlvr"))
        .arg("score")
        .arg(&input)
        .args(["-o", "/dev/null", "--threads", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rlvr starts");
    let (status, peak_kib) = wait_peak_rss_kib(child);
    assert!(peak_kib > 0, "no VmHWM sample of the child was read");
    assert_eq!(status, 0, "rlvr score exited with status {status}");
    let peak_mib = peak_kib / 1024;
    let input_mib = i64::try_from(input_bytes >> 20).unwrap_or(i64::MAX);
    eprintln!("rlvr score: 200000 samples ({input_mib} MiB of JSONL), peak RSS {peak_mib} MiB");
    assert!(peak_mib < PEAK_RSS_BOUND_MIB, "peak RSS {peak_mib} MiB over the {PEAK_RSS_BOUND_MIB} MiB bound");
}

/// Every `CodeLimits` field's enforceable maximum: at it a sample's `tests.limits` is accepted, one
/// past (and zero) gives `LimitsError::OutOfRange` naming the field.
const CODE_LIMIT_MAXIMA: &[(&str, u64)] = &[
    ("fuel", u64::MAX / 2),
    ("wall_ms", 3_600_000),
    ("memory_bytes", MAX_MEMORY_BYTES),
    ("output_bytes", 1024 * MIB),
    ("stderr_bytes", 64 * MIB),
    ("stack_bytes", 1024 * MIB),
    ("compile_ms", 3_600_000),
    ("compile_memory_bytes", 64 * 1024 * MIB),
    ("source_bytes", 64 * MIB),
    ("tests", 1_000_000),
];

#[test]
fn code_limits_boundary_pairs() {
    let defaults = CodeLimits::default();
    let one = |field: &str, value: u64| Value::Object([(field.to_string(), json!(value))].into_iter().collect());
    for &(field, max) in CODE_LIMIT_MAXIMA {
        let at = defaults.merge_json(&one(field, max));
        assert!(at.is_ok(), "{field} = {max}: {at:?}");
        for bad in [max + 1, 0] {
            match defaults.merge_json(&one(field, bad)) {
                Err(LimitsError::OutOfRange { field: f, value, max: m }) => {
                    assert_eq!((f, value, m), (field, bad, max));
                }
                other => panic!("{field} = {bad}: expected OutOfRange, got {other:?}"),
            }
        }
    }
    let serialised = serde_json::to_value(defaults).expect("limits serialise");
    let fields = serialised.as_object().map(|m| m.len()).unwrap_or(0);
    assert_eq!(fields, CODE_LIMIT_MAXIMA.len(), "a CodeLimits field has no boundary pair here");
}

#[test]
fn code_tests_count_boundary_pair() {
    let config = CodeConfig::default();
    let spec = |n: usize| {
        let cases: Vec<Value> = (0..n).map(|i| json!({"input": i.to_string(), "output": i.to_string()})).collect();
        TestSpec::parse(&json!({"stdio": cases, "limits": {"tests": 5}}), &config)
    };
    assert_eq!(spec(5).map(|s| s.len()), Ok(5));
    assert_eq!(spec(6), Err(TestsError::TooMany { count: 6, limit: 5 }));
}

#[test]
fn run_code_timeout_boundary_pairs() {
    let max = Duration::from_secs(20);
    let request = |compile: f64, run: f64| RunCodeRequest {
        code: "print(1)".into(),
        language: "python".into(),
        stdin: None,
        compile_timeout: compile,
        run_timeout: run,
        memory_limit_mb: -1,
        files: Default::default(),
        fetch_files: Vec::new(),
    };
    assert!(request(20.0, 20.0).into_job(max, std::time::Duration::from_secs(1)).is_ok(), "at max_code_timeout");
    let past = 20.0 + 1e-9;
    for (req, field) in [(request(past, 1.0), "compile_timeout"), (request(1.0, past), "run_timeout")] {
        match req.into_job(max, std::time::Duration::from_secs(1)) {
            Err(JobError::Timeout { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field} one past the limit: {other:?}"),
        }
    }
}
