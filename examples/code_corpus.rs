//! Scores a code corpus (the `rlvr score` sample format plus `expect_pass` or `expected`) through the
//! code verifier in parallel and reports agreement and wall time:
//! `cargo run --release --example code_corpus -- FILE.jsonl [threads]`.

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
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line)?;
        let expected = value.get("expect_pass").or_else(|| value.get("expected")).and_then(|v| v.as_bool());
        let sample = Sample::from_json(value).map_err(|(id, e)| anyhow::anyhow!("{id}: {e}"))?;
        cases.push((sample, expected));
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
    println!(
        "{path}: {} samples, {tests} tests, agree {agree}, disagree {}, errors {errors}, wall {:.2} s ({:.2} ms/test)",
        cases.len(),
        cases.len() - agree,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / tests.max(1) as f64
    );
    Ok(())
}
