//! Reward-component throughput: the cost a recipe adds after the verifier has judged.
//!
//! Input: the checked-in `testdata/samples.jsonl` (16 completions, GRPO groups by id prefix),
//! repeated 64 times into 1024 samples in 64 groups of 16, scored with the shipped
//! `r1-math-shaped` recipe (tag count, Kimi group length, repetition, language consistency) from
//! stated verdicts, so that the numbers measure the reward stage alone.
//!
//! Run: `cargo bench --bench rewards`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rlvr::Sample;
use rlvr::reward::{Judged, Judgement, RecipeBook, score_judged};
use rlvr::sample::Verdict;
use serde_json::Value;

fn samples() -> Vec<Sample> {
    let text = include_str!("../testdata/samples.jsonl");
    let base: Vec<Sample> = text.lines().filter_map(|l| Sample::from_line(l).ok()).collect();
    let mut out = Vec::new();
    for copy in 0..64 {
        for s in &base {
            let mut s = s.clone();
            let prompt = s.id.as_str().and_then(|id| id.split('-').next()).unwrap_or("q").to_string();
            s.extra.insert("group".into(), Value::from(format!("{prompt}-{copy}")));
            out.push(s);
        }
    }
    out
}

fn bench_rewards(c: &mut Criterion) {
    let book = RecipeBook::builtin().expect("shipped recipes load");
    let recipe = book.get("r1-math-shaped").expect("shipped");
    let samples = samples();
    let judged: Vec<Judged<'_>> = samples
        .iter()
        .enumerate()
        .map(|(i, sample)| Judged {
            sample,
            recipe,
            judgement: Judgement::of(if i % 2 == 0 { Verdict::Correct } else { Verdict::Incorrect }),
        })
        .collect();
    let mut group = c.benchmark_group("rewards");
    group.throughput(Throughput::Elements(judged.len() as u64));
    group.bench_function("r1-math-shaped/1024", |b| b.iter(|| score_judged(&judged)));
    group.finish();
}

criterion_group!(benches, bench_rewards);
criterion_main!(benches);
