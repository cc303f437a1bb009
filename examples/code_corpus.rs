//! Scores a code corpus (the `rlvr score` sample format plus `expect_pass` or `expected`) through the
//! code verifier in parallel and reports agreement and wall time:
//! `cargo run --release --example code_corpus -- FILE.jsonl [threads]`.
//!
//! Rows of `../shared/corpus/code/formats/` (dataset layouts as they ship) are read too: without a
//! `completion`, the row's own candidate field is the program (`reference_solution`, `response`,
//! `model_response`, `solution_str`, `formatted_response`, or a Kattis package's `submission`), and
//! `native_pass` is the label; rows with neither are skipped and counted.

use std::time::Instant;

use rayon::prelude::*;
use rlvr::code::{CodeConfig, judge};
use rlvr::sample::{Sample, Verdict};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or_else(|| anyhow::anyhow!("usage: code_corpus FILE.jsonl [threads]"))?;
    let threads: usize = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(0);
    let text = std::fs::read_to_string(path)?;
    let mut cases = Vec::new();
    let mut unlabelled = 0;
    let mut unreadable = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut value: serde_json::Value = serde_json::from_str(line)?;
        if value.get("completion").is_none() {
            let fields = ["reference_solution", "response", "model_response", "solution_str", "formatted_response"];
            // A Kattis package row ships its program as `submission {path, code}`, which the kattis
            // layout reads as the completion: it needs no candidate field.
            let packaged = value.get("submission").is_some_and(|v| !v.is_null());
            let candidate = fields.iter().find_map(|f| value.get(*f).and_then(|v| v.as_str()).map(str::to_string));
            let label = value.get("native_pass").and_then(|v| v.as_bool());
            let (true, Some(label), Some(map)) = (candidate.is_some() || packaged, label, value.as_object_mut()) else {
                unlabelled += 1;
                continue;
            };
            map.remove("expected");
            if let Some(candidate) = candidate {
                map.insert("completion".into(), candidate.into());
            }
            map.insert("expected".into(), label.into());
            if !map.contains_key("id") {
                let id = map.get("source").cloned().unwrap_or_default();
                map.insert("id".into(), id);
            }
        }
        let expected = value.get("expect_pass").or_else(|| value.get("expected")).and_then(|v| v.as_bool());
        match Sample::from_json(value) {
            Ok(sample) => cases.push((sample, expected)),
            Err((id, e)) => {
                // A row whose layout cannot be read is an error outcome in `rlvr score`: count it.
                println!("ERROR {id}: {e}");
                unreadable.push((id, expected));
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let config = CodeConfig::default();
    let started = Instant::now();
    let reports: Vec<_> = pool.install(|| cases.par_iter().map(|(s, _)| judge(s, &config)).collect());
    let elapsed = started.elapsed();
    let (mut agree, mut errors, mut tests) = (0, 0, 0);
    for ((sample, expected), report) in cases.iter().zip(&reports) {
        tests += report.tests.len();
        let correct = report.verdict == Verdict::Correct;
        if report.verdict == Verdict::Error {
            errors += 1;
        }
        if Some(correct) == *expected {
            agree += 1;
        } else {
            let first = report.tests.iter().find(|t| t.message.is_some());
            println!(
                "MISMATCH {} expected {:?} got {} ({}/{}) {:?} {:?}",
                sample.id,
                expected,
                report.verdict,
                report.passed,
                report.total,
                report.error.as_deref().map(|e| e.chars().take(200).collect::<String>()),
                first.map(|t| (t.verdict, t.message.as_deref().unwrap_or("").chars().take(200).collect::<String>()))
            );
        }
    }
    // An unreadable row agrees only when its label is "does not pass".
    agree += unreadable.iter().filter(|(_, e)| *e == Some(false)).count();
    errors += unreadable.len();
    let samples = cases.len() + unreadable.len();
    println!(
        "{path}: {samples} samples ({unlabelled} unlabelled rows skipped), {tests} tests, agree {agree}, disagree {}, errors {errors}, wall {:.2} s ({:.2} ms/test)",
        samples - agree,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / tests.max(1) as f64
    );
    Ok(())
}
