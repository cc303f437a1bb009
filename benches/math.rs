//! Math benchmarks on checked-in inputs (`benches/data/*.jsonl`, made by `benches/make_data.py`).
//!
//! Single-threaded on purpose: each figure is what one core does, so it compares directly with
//! Math-Verify (see `benches/compare_math_verify.sh`) and multiplies by the core count for
//! `rlvr score`. Throughput is in pairs (or completions) per second.
//!
//! * `extract`: [`rlvr::extract::extract_answer`] over every completion of the pair files;
//! * `verify/<set>`: [`rlvr::math::check`] on each (gold, completion) pair — gold parsing,
//!   extraction, parsing and comparison, nothing cached between pairs.
//!
//! Run: `cargo bench --bench math` (add `-- verify/math500` to pick one).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rlvr::extract::{ExtractConfig, extract_answer};
use rlvr::math::{MathConfig, check};
use serde::Deserialize;

/// One line of a bench input file.
#[derive(Deserialize)]
struct Pair {
    #[serde(default)]
    answer: String,
    completion: String,
}

/// Reads `benches/data/<name>`; a missing or malformed file is a setup bug, so it stops the bench.
fn load(name: &str) -> Vec<Pair> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches").join("data").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (run benches/make_data.py)", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

fn bench_extract(c: &mut Criterion) {
    let completions = load("extract.jsonl");
    let config = ExtractConfig::default();
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Elements(completions.len() as u64));
    group.bench_function("completions", |b| {
        b.iter(|| {
            for pair in &completions {
                let _ = black_box(extract_answer(black_box(&pair.completion), &config));
            }
        })
    });
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let config = MathConfig::default();
    let mut group = c.benchmark_group("verify");
    for (set, file) in [
        ("numeric", "numeric_pairs.jsonl"),
        ("math500", "math500_pairs.jsonl"),
        ("math_verify_tests", "math_verify_pairs.jsonl"),
    ] {
        let pairs = load(file);
        group.throughput(Throughput::Elements(pairs.len() as u64));
        group.bench_function(set, |b| {
            b.iter(|| {
                for pair in &pairs {
                    black_box(check(black_box(&pair.answer), black_box(&pair.completion), &config));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_extract, bench_verify);
criterion_main!(benches);
