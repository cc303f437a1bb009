//! The batch engine: score many samples in parallel, one outcome per sample, in input order.
//!
//! Every sample is judged under `catch_unwind`, so an internal bug in one verifier becomes that
//! sample's `error` verdict, never the batch's. Gold answers are parsed once per distinct gold
//! and shared across the batch: a GRPO group re-checks the same gold 8–64 times.
//!
//! Scoring has two stages. First every sample is judged by its recipe's accuracy verifier, in
//! parallel. Then [`crate::reward::score_judged`] runs the recipes' components: per-sample ones
//! in parallel, group-level ones (Kimi's length reward) once per group of this batch. The
//! judging stage is where the time goes; the split is what lets a component see its group.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde_json::Value;

use crate::math::{self, Gold, MathConfig, MathError};
use crate::reward::{Judged, Judgement, Recipe, RecipeBook, RecipeError, VerifierKind, score_judged};
use crate::sample::{Outcome, Sample, Verdict};

/// How the engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Math verifier settings.
    pub math: MathConfig,
    /// Code verifier settings (limits).
    pub code: crate::code::CodeConfig,
    /// Recipe for samples that name none (otherwise: `math` when the sample has an `answer`).
    pub default_recipe: Option<String>,
}

/// Scores samples. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    recipes: RecipeBook,
    /// Code judgements run (shared by clones of this engine).
    code_judgements: Arc<AtomicU64>,
}

/// Parses one JSONL line into a sample, or the error outcome that stands in its place.
pub fn parse_line(line: &str) -> Result<Sample, Outcome> {
    Sample::from_line(line).map_err(|(id, err)| Outcome::error(id, err.to_string()))
}

/// Each distinct gold of a batch, parsed once, sorted by its text (borrowed from the batch's
/// samples): a binary search finds a sample's gold without hashing it.
struct GoldCache<'a>(Vec<(&'a str, Result<Gold, MathError>)>);

impl GoldCache<'_> {
    fn get(&self, answer: &str) -> Option<&Result<Gold, MathError>> {
        self.0.binary_search_by(|(k, _)| (*k).cmp(answer)).ok().map(|i| &self.0[i].1)
    }
}

/// Identity of a code submission: SHA-256 of its language, extracted program and tests.
type CodeKey = [u8; 32];

/// Code judgements of one batch, one per distinct submission (`Err`: the judge panicked).
type CodeCache = HashMap<CodeKey, Result<Judgement, String>>;

/// Where a sample's scoring stands, for a panic hook that wants to say which sample panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoringSample {
    /// The sample's index in the batch given to [`Engine::score_batch`].
    pub index: usize,
}

thread_local! {
    static SCORING: std::cell::Cell<Option<ScoringSample>> = const { std::cell::Cell::new(None) };
}

/// The sample this thread is judging right now, if any (set around each sample's judgement, so a
/// panic hook can name the sample whose panic is about to be caught).
pub fn scoring_sample() -> Option<ScoringSample> {
    SCORING.with(std::cell::Cell::get)
}

/// `f` over `items` with each index, in parallel, in order. A single item runs on the calling
/// thread: a one-sample batch (a server request, `--chunk 1`) skips rayon's fork-join set-up.
pub(crate) fn map_indexed<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(usize, &'a T) -> R + Sync + Send) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().enumerate().map(|(i, item)| f(i, item)).collect();
    }
    items.par_iter().enumerate().map(|(i, item)| f(i, item)).collect()
}

/// Hands the `Ok` items to `score` (which returns one outcome per item, in order) and puts each
/// outcome back in its item's place among the `Err` outcomes.
fn with_errors_in_place<T>(items: Vec<Result<T, Outcome>>, score: impl FnOnce(Vec<T>) -> Vec<Outcome>) -> Vec<Outcome> {
    let mut good = Vec::with_capacity(items.len());
    let mut slots: Vec<Option<Outcome>> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(item) => {
                good.push(item);
                slots.push(None);
            }
            Err(outcome) => slots.push(Some(outcome)),
        }
    }
    let mut scored = score(good).into_iter();
    slots
        .into_iter()
        .map(|slot| {
            slot.unwrap_or_else(|| {
                scored.next().unwrap_or_else(|| Outcome::error(Value::Null, "internal: outcome missing"))
            })
        })
        .collect()
}

/// Runs `f` with [`scoring_sample`] reporting `index`, under `catch_unwind`.
fn guarded<R>(index: usize, f: impl FnOnce() -> R) -> Result<R, String> {
    let previous = SCORING.with(|s| s.replace(Some(ScoringSample { index })));
    let result = catch_unwind(AssertUnwindSafe(f));
    SCORING.with(|s| s.set(previous));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

impl Engine {
    /// An engine with the built-in recipes.
    pub fn new(config: EngineConfig) -> Result<Engine, RecipeError> {
        Ok(Engine { config, recipes: RecipeBook::builtin()?, code_judgements: Arc::default() })
    }

    /// An engine with the given recipes.
    pub fn with_recipes(config: EngineConfig, recipes: RecipeBook) -> Engine {
        Engine { config, recipes, code_judgements: Arc::default() }
    }

    /// How many code judgements this engine (and its clones) ran; identical submissions in one
    /// batch count once.
    pub fn code_judgements(&self) -> u64 {
        self.code_judgements.load(Ordering::Relaxed)
    }

    /// The recipes this engine knows.
    pub fn recipes(&self) -> &RecipeBook {
        &self.recipes
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Scores one sample.
    pub fn score(&self, sample: &Sample) -> Outcome {
        self.score_batch(std::slice::from_ref(sample))
            .pop()
            .unwrap_or_else(|| Outcome::error(sample.id.clone(), "internal: no outcome"))
    }

    /// Scores a batch in parallel; the outcomes are in input order, one per sample.
    ///
    /// Samples are judged first, all in parallel; then each recipe's components run, the
    /// group-level ones once per group of this batch (see [`crate::reward`] for what a group is).
    pub fn score_batch(&self, samples: &[Sample]) -> Vec<Outcome> {
        let golds = self.parse_golds(samples);
        let (code_keys, code) = self.judge_distinct_code(samples);
        let judged: Vec<Result<Judged<'_>, Outcome>> = map_indexed(samples, |index, sample| {
            let code = code_keys[index].as_ref().and_then(|k| code.get(k));
            self.judge_guarded(index, sample, &golds, code)
        });
        // The judged samples move on to their components; the error outcomes keep their places.
        with_errors_in_place(judged, |ready| score_judged(&ready))
    }

    /// Parses each JSONL line and scores the good ones; a bad line gets its own error outcome.
    pub fn score_lines<S: AsRef<str> + Sync>(&self, lines: &[S]) -> Vec<Outcome> {
        self.score_parsed(lines.par_iter().map(|line| parse_line(line.as_ref())).collect())
    }

    /// Scores the samples among `parsed`, keeping the error outcomes where they stand.
    pub fn score_parsed(&self, parsed: Vec<Result<Sample, Outcome>>) -> Vec<Outcome> {
        // The samples move into one batch (no copy of any completion).
        with_errors_in_place(parsed, |good| self.score_batch(&good))
    }

    fn parse_golds<'a>(&self, samples: &'a [Sample]) -> GoldCache<'a> {
        let mut distinct: Vec<&str> = samples.iter().filter_map(|s| s.answer.as_deref()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        // A gold whose parse panicked is left out: the sample's own judgement parses it again,
        // under its guard, and so gets the panic as its error.
        let parsed = map_indexed(&distinct, |_, answer| {
            catch_unwind(|| math::parse_gold(answer, &self.config.math)).ok().map(|parsed| (*answer, parsed))
        });
        GoldCache(parsed.into_iter().flatten().collect())
    }

    /// Judges each distinct code submission of the batch once, in parallel; returns each sample's
    /// key (`None` for samples that are not code) and the judgements by key.
    fn judge_distinct_code(&self, samples: &[Sample]) -> (Vec<Option<CodeKey>>, CodeCache) {
        let keys: Vec<Option<CodeKey>> = map_indexed(samples, |_, s| self.code_key(s));
        let mut first: HashMap<CodeKey, usize> = HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                first.entry(*key).or_insert(index);
            }
        }
        let distinct: Vec<(CodeKey, usize)> = first.into_iter().collect();
        let judged = distinct
            .par_iter()
            .map(|&(key, index)| (key, guarded(index, || self.judge_code(&samples[index]))))
            .collect();
        (keys, judged)
    }

    /// The identity of a code sample's submission; `None` when the sample is not judged as code.
    fn code_key(&self, sample: &Sample) -> Option<CodeKey> {
        let recipe = self.recipe_for(sample).ok()?;
        if recipe.verifier != VerifierKind::Code {
            return None;
        }
        let language = sample.language.as_deref().unwrap_or("python");
        let language = crate::code::language(language).map_or(language, |l| l.name());
        let program = crate::code::extract_code(&sample.completion);
        let tests = sample.tests.as_ref().map(Value::to_string).unwrap_or_default();
        Some(crate::code::sandbox::content_hash(&[language.as_bytes(), program.as_bytes(), tests.as_bytes()]))
    }

    fn judge_guarded<'a>(
        &'a self,
        index: usize,
        sample: &'a Sample,
        golds: &GoldCache,
        code: Option<&Result<Judgement, String>>,
    ) -> Result<Judged<'a>, Outcome> {
        let panicked = |what: &str| Outcome::error(sample.id.clone(), format!("internal error while scoring: {what}"));
        if let Some(Err(what)) = code {
            return Err(panicked(what));
        }
        match guarded(index, || self.judge_one(sample, golds, code.and_then(|c| c.as_ref().ok()))) {
            Ok(Ok(judged)) => Ok(judged),
            Ok(Err(message)) => Err(Outcome::error(sample.id.clone(), message)),
            Err(what) => Err(panicked(&what)),
        }
    }

    fn recipe_for(&self, sample: &Sample) -> Result<&Recipe, String> {
        let name = match (&sample.recipe, &self.config.default_recipe) {
            (Some(name), _) | (None, Some(name)) => name.as_str(),
            (None, None) if sample.answer.is_some() => "math",
            (None, None) if sample.tests.is_some() => "code",
            (None, None) => return Err("sample has neither `answer` nor `tests`, and no `recipe` was given".into()),
        };
        self.recipes.get(name).ok_or_else(|| format!("unknown recipe `{name}`"))
    }

    fn judge_one<'a>(
        &'a self,
        sample: &'a Sample,
        golds: &GoldCache,
        code: Option<&Judgement>,
    ) -> Result<Judged<'a>, String> {
        // Test-only hook: a sample carrying `rlvr_test_panic` panics inside the verifier stage, so the
        // reliability suite can show that a panic stays that sample's `error`. Never in release builds.
        #[cfg(any(test, feature = "test-hooks"))]
        if let Some(message) = sample.extra.get("rlvr_test_panic") {
            panic!("test hook: {message}");
        }
        let recipe = self.recipe_for(sample)?;
        let judgement = match (recipe.verifier, code) {
            (VerifierKind::Math, _) => self.judge_math(sample, golds, recipe)?,
            (VerifierKind::Code, Some(judged)) => judged.clone(),
            (VerifierKind::Code, None) => self.judge_code(sample),
        };
        Ok(Judged { sample, recipe, judgement })
    }

    fn judge_code(&self, sample: &Sample) -> Judgement {
        self.code_judgements.fetch_add(1, Ordering::Relaxed);
        let report = crate::code::judge(sample, &self.config.code);
        // A compile error or a sample-level error ran no test: the pass fraction is then absent,
        // so a fraction recipe reports it instead of inventing 0 of 0.
        let counted = report.total > 0;
        Judgement {
            verdict: report.verdict,
            extracted: None,
            error: report.error,
            tests_passed: counted.then(|| u32::try_from(report.passed).unwrap_or(u32::MAX)),
            tests_total: counted.then(|| u32::try_from(report.total).unwrap_or(u32::MAX)),
        }
    }

    fn judge_math(&self, sample: &Sample, golds: &GoldCache, recipe: &Recipe) -> Result<Judgement, String> {
        // A recipe's `[extract]` table (reasoning markers, several boxes) applies to its samples only.
        let own;
        let config = match recipe.extract.apply(&self.config.math.extract) {
            Some(extract) => {
                own = MathConfig { extract, ..self.config.math.clone() };
                &own
            }
            None => &self.config.math,
        };
        let recipe = &recipe.name;
        let answer = sample.answer.as_deref().ok_or_else(|| format!("recipe `{recipe}` needs the field `answer`"))?;
        let parsed;
        let gold = match golds.get(answer) {
            Some(gold) => gold,
            None => {
                parsed = math::parse_gold(answer, &self.config.math);
                &parsed
            }
        };
        Ok(match gold {
            Ok(gold) => {
                let check = math::judge(gold, &sample.completion, config);
                Judgement { extracted: check.extracted, ..Judgement::of(check.verdict) }
            }
            Err(err) => {
                Judgement { error: Some(format!("invalid gold answer: {err}")), ..Judgement::of(Verdict::InvalidGold) }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_sample(id: usize, program: &str, expected: &str) -> Sample {
        let line = serde_json::json!({
            "id": id,
            "completion": format!("```python\n{program}\n```"),
            "tests": {"stdio": [{"input": "2 3\n", "output": expected}]},
        });
        Sample::from_line(&line.to_string()).unwrap()
    }

    #[test]
    fn identical_code_submissions_are_judged_once() {
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let sum = "a, b = map(int, input().split())\nprint(a + b)";
        let mut batch: Vec<Sample> = (0..8).map(|i| code_sample(i, sum, "5\n")).collect();
        // Same program, other tests: another submission. Other program, same tests: another too.
        batch.push(code_sample(8, sum, "6\n"));
        batch.push(code_sample(9, "print(5)", "5\n"));
        batch.push(Sample::math(10, "\\boxed{4}", "4"));
        let before = engine.code_judgements();
        let outcomes = engine.score_batch(&batch);
        assert_eq!(engine.code_judgements() - before, 3, "8 identical submissions + 2 distinct ones");
        assert_eq!(outcomes.len(), batch.len());
        for (i, outcome) in outcomes.iter().enumerate().take(8) {
            assert_eq!(outcome.id, serde_json::json!(i), "each copy keeps its own id");
            assert_eq!((outcome.verdict, outcome.reward), (outcomes[0].verdict, outcomes[0].reward));
        }
        // A second batch judges again: the dedup is per batch, never a stale cache.
        engine.score_batch(&batch[..2]);
        assert_eq!(engine.code_judgements() - before, 4);
    }

    #[test]
    fn more_fresh_compiled_programs_than_pool_threads_finish() {
        // Every global-pool thread judges a C program that wasmtime has never compiled (the nonce
        // defeats both caches), and two more wait: compilation must not need a free pool thread.
        let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let count = rayon::current_num_threads() + 2;
        let batch: Vec<Sample> = (0..count)
            .map(|i| {
                let program = format!("#include <stdio.h>\nint main(void) {{ puts(\"{nonce}-{i}\"); return 0; }}");
                let line = serde_json::json!({
                    "id": i,
                    "language": "c",
                    "completion": format!("```c\n{program}\n```"),
                    "tests": {"stdio": [{"input": "", "output": format!("{nonce}-{i}\n")}]},
                });
                Sample::from_line(&line.to_string()).unwrap()
            })
            .collect();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let engine = Engine::new(EngineConfig::default()).unwrap();
            let _ = done.send(engine.score_batch(&batch));
        });
        let outcomes = finished.recv_timeout(std::time::Duration::from_secs(300)).expect("the batch deadlocked");
        assert_eq!(outcomes.len(), count);
        for outcome in &outcomes {
            assert_eq!(outcome.verdict, Verdict::Correct, "{outcome:?}");
        }
    }

    #[test]
    fn scoring_sample_is_set_only_while_judging() {
        assert_eq!(scoring_sample(), None);
        let seen = guarded(7, scoring_sample).unwrap();
        assert_eq!(seen, Some(ScoringSample { index: 7 }));
        assert_eq!(scoring_sample(), None);
        let panicked = guarded(3, || -> u8 { panic!("boom") });
        assert_eq!(panicked, Err("boom".to_string()));
        assert_eq!(scoring_sample(), None, "reset after a caught panic");
    }
}
