//! The CPU demonstration: a tiny model learns two-digit addition with visible reasoning, first
//! from a noisy teacher (supervised), then by GRPO from the engine's `r1-math` rewards; held-out
//! prompts measure accuracy and format before and after, and a control run from the same
//! checkpoint and seed trains on shuffled rewards.
//!
//! Prompts are `47+35=`; the teacher writes `<think>7+5=12 4+3+1=8</think>\boxed{82}`. The
//! teacher is wrong on purpose: on problems with a carry it drops the carry with probability
//! [`ArithmeticOptions::p_drop_carry`] (`4+3=7`, answer 72), and with probability
//! [`ArithmeticOptions::p_broken_format`] it omits `</think>`. Supervised training copies both
//! faults; only the verifier's reward can tell the model which of its habits are right. Problems
//! with `(a + 2b) mod 9 = 0` (900 of 8100) never appear in training: they are the held-out set.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::train::TrainError;
use crate::train::checkpoint::{self, TrainerState};
use crate::train::grpo::{GrpoConfig, Prompt, Trainer, pack, token_logprobs};
use crate::train::metrics::MetricsLog;
use crate::train::model::{Model, ModelConfig, Weights, init_weights};
use crate::train::optim::{AdamW, AdamWConfig};
use crate::train::plot::{Series, line_chart};
use crate::train::reward::{RewardItem, RewardSource};
use crate::train::rng::Rng;
use crate::train::sampler::{Rollout, SamplingConfig, generate};
use crate::train::tokenizer::{SymbolTokenizer, TextTokenizer};

/// The symbols of the task's tokenizer (after `<pad>` and `<eos>`).
pub const SYMBOLS: &[&str] =
    &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", " ", "<think>", "</think>", "\\boxed{", "}"];

/// The demo's knobs; the defaults are the reported run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArithmeticOptions {
    /// Seed for initialisation, teacher noise, sampling and shuffling.
    pub seed: u64,
    /// Supervised steps on the noisy teacher.
    pub sft_steps: usize,
    /// Sequences per supervised step.
    pub sft_batch_size: usize,
    /// Peak supervised learning rate (linear warm-up over 5 % of the steps, cosine to 10 %).
    pub sft_learning_rate: f64,
    /// Probability that the teacher drops the carry on a problem that has one.
    pub p_drop_carry: f64,
    /// Probability that the teacher omits `</think>`.
    pub p_broken_format: f64,
    /// GRPO steps (for the trained run and the control each).
    pub grpo_steps: usize,
    /// GRPO options (TRL names).
    pub grpo: GrpoConfig,
    /// Held-out prompts evaluated (all 900 by default).
    pub eval_prompts: usize,
    /// Temperature of the sampled (pass@1) evaluation, independent of the GRPO sampling temperature.
    pub eval_temperature: f64,
    /// Start GRPO from this supervised checkpoint instead of training one.
    pub sft_checkpoint: Option<PathBuf>,
    /// Write `OUT/checkpoint-N` every this many GRPO steps (and at the end of each run); 0 = only at the end.
    #[serde(default)]
    pub save_steps: usize,
}

impl Default for ArithmeticOptions {
    fn default() -> Self {
        let mut grpo = GrpoConfig {
            num_generations: 8,
            prompts_per_step: 16,
            temperature: 1.0,
            max_completion_length: 24,
            micro_batch_size: 128,
            ..GrpoConfig::default()
        };
        grpo.loss.epsilon_high = 0.28;
        grpo.loss.max_completion_length = 24;
        // DAPO refill: all-equal groups leave the loss and up to two more rounds of prompts top the
        // step up (after 100 GRPO steps, held-out greedy 0.55 → 0.81 with it, 0.73 without; 0.90
        // after the default 300; testdata/train/).
        grpo.dynamic_sampling = true;
        grpo.max_num_gen_batches = 3;
        grpo.optimizer = AdamWConfig { learning_rate: 3e-4, ..AdamWConfig::default() };
        ArithmeticOptions {
            seed: 20261129,
            sft_steps: 300,
            sft_batch_size: 64,
            sft_learning_rate: 3e-3,
            p_drop_carry: 0.7,
            p_broken_format: 0.15,
            grpo_steps: 300,
            grpo,
            eval_prompts: 900,
            eval_temperature: 1.0,
            sft_checkpoint: None,
            save_steps: 50,
        }
    }
}

pub use crate::train::metrics::Evaluation;

/// What `rlvr train --task arithmetic` writes to `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Held-out numbers of the supervised model.
    pub before: Evaluation,
    /// Held-out numbers after GRPO with the engine's rewards.
    pub after: Evaluation,
    /// Held-out numbers after the same GRPO run with shuffled rewards.
    pub control_after: Evaluation,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Seconds of supervised training, GRPO and the control.
    pub stage_seconds: StageSeconds,
    /// Number of held-out prompts evaluated.
    pub held_out: usize,
    /// The recipe the rewards came from.
    pub recipe: String,
    /// The options of the run.
    pub options: ArithmeticOptions,
}

/// Time per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageSeconds {
    /// Supervised training (0 when loaded from a checkpoint).
    pub sft: f64,
    /// GRPO with real rewards.
    pub grpo: f64,
    /// GRPO with shuffled rewards.
    pub control: f64,
    /// All evaluations.
    pub eval: f64,
}

impl StageSeconds {
    /// The GRPO run's (`control = false`) or the control's seconds.
    fn run_mut(&mut self, control: bool) -> &mut f64 {
        if control { &mut self.control } else { &mut self.grpo }
    }
}

/// The task's tokenizer.
pub fn tokenizer() -> Result<TextTokenizer, TrainError> {
    Ok(TextTokenizer::Symbols(SymbolTokenizer::new(SYMBOLS)?))
}

/// A problem `a + b`.
pub type Problem = (u32, u32);

/// Whether `(a, b)` is held out from training.
pub fn is_held_out(a: u32, b: u32) -> bool {
    (a + 2 * b).is_multiple_of(9)
}

/// All problems with two-digit operands, split into (training, held-out).
pub fn problems() -> (Vec<Problem>, Vec<Problem>) {
    (10..100).flat_map(|a| (10..100).map(move |b| (a, b))).partition(|&(a, b)| !is_held_out(a, b))
}

/// The prompt text of `a + b`.
pub fn prompt_text(a: u32, b: u32) -> String {
    format!("{a}+{b}=")
}

/// The teacher's completion; `drop_carry` forgets the carry into the tens, `broken_format` omits `</think>`.
pub fn teacher(a: u32, b: u32, drop_carry: bool, broken_format: bool) -> String {
    let (ua, ub, ta, tb) = (a % 10, b % 10, a / 10, b / 10);
    let units = ua + ub;
    let carry = if drop_carry { 0 } else { units / 10 };
    let tens = ta + tb + carry;
    let tens_step = if carry > 0 { format!("{ta}+{tb}+{carry}={tens}") } else { format!("{ta}+{tb}={tens}") };
    let answer = tens * 10 + units % 10;
    let close = if broken_format { "" } else { "</think>" };
    format!("<think>{ua}+{ub}={units} {tens_step}{close}\\boxed{{{answer}}}")
}

fn to_prompt(tok: &TextTokenizer, (a, b): (u32, u32)) -> Result<Prompt, TrainError> {
    let text = prompt_text(a, b);
    Ok(Prompt { ids: tok.encode(&text)?, text, answer: (a + b).to_string() })
}

fn cosine_lr(step: usize, total: usize, peak: f64) -> f64 {
    let warmup = (total / 20).max(1);
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let progress = (step - warmup) as f64 / (total - warmup).max(1) as f64;
    peak * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
}

/// Supervised training on the noisy teacher; returns the mean loss of the last 10 % of steps.
pub fn supervised(
    config: &ModelConfig,
    weights: &Weights,
    tok: &TextTokenizer,
    options: &ArithmeticOptions,
    rng: &mut Rng,
    device: &Device,
) -> Result<f64, TrainError> {
    let (train, _) = problems();
    let mut opt = AdamW::new(
        weights,
        AdamWConfig { learning_rate: options.sft_learning_rate, weight_decay: 0.01, ..AdamWConfig::default() },
    )?;
    let mut tail = Vec::new();
    for step in 0..options.sft_steps {
        opt.set_learning_rate(cosine_lr(step, options.sft_steps, options.sft_learning_rate));
        let mut rows = Vec::with_capacity(options.sft_batch_size);
        for _ in 0..options.sft_batch_size {
            let (a, b) = train[rng.below(train.len())];
            let has_carry = a % 10 + b % 10 >= 10;
            let drop = has_carry && rng.uniform() < options.p_drop_carry;
            let broken = rng.uniform() < options.p_broken_format;
            let mut completion = tok.encode(&teacher(a, b, drop, broken))?;
            completion.push(tok.eos_id());
            rows.push(Rollout { prompt: tok.encode(&prompt_text(a, b))?, completion, truncated: false });
        }
        let refs: Vec<&Rollout> = rows.iter().collect();
        let packed = pack(&refs, tok.pad_id(), false, device)?;
        let model = Model::new(config, weights, device)?;
        let lp = token_logprobs(&model, &packed, 1.0)?;
        let tokens = packed.mask.sum_all()?;
        let loss = (lp.logp * &packed.mask)?.sum_all()?.neg()?.broadcast_div(&tokens)?;
        let value = loss.to_scalar::<f32>()? as f64;
        if !value.is_finite() {
            return Err(TrainError::NonFinite { what: "loss", step: step + 1 });
        }
        let grads = opt.gradients(&loss.backward()?);
        opt.step(&grads)?;
        if step >= options.sft_steps - options.sft_steps.div_ceil(10) {
            tail.push(value);
        }
    }
    Ok(tail.iter().sum::<f64>() / tail.len().max(1) as f64)
}

/// Held-out accuracy and format rate, greedy and at `temperature`, scored by `rewards`.
pub fn evaluate(
    (config, weights): (&ModelConfig, &Weights),
    tok: &TextTokenizer,
    prompts: &[Prompt],
    rewards: &dyn RewardSource,
    temperature: f64,
    seed: u64,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    let model = Model::inference(config, weights, device, candle_core::DType::F32)?;
    let mut rng = Rng::new(seed);
    let mut run = |temperature: f64| -> Result<(f64, f64), TrainError> {
        let sampling = SamplingConfig { temperature, top_p: 1.0, max_new_tokens: 24, stop_tokens: vec![tok.eos_id()] };
        let (mut correct, mut formatted) = (0usize, 0.0);
        for chunk in prompts.chunks(256) {
            let ids: Vec<Vec<u32>> = chunk.iter().map(|p| p.ids.clone()).collect();
            let rollouts = generate(&model, &ids, &sampling, tok.pad_id(), &mut rng, device)?;
            let texts: Vec<String> = rollouts.iter().map(|r| tok.decode(&r.completion)).collect::<Result<_, _>>()?;
            let items: Vec<RewardItem<'_>> = chunk
                .iter()
                .zip(&texts)
                .map(|(p, t)| RewardItem { prompt: &p.text, completion: t, answer: &p.answer })
                .collect();
            for s in rewards.score(&items) {
                correct += s.correct as usize;
                formatted += s.components.iter().filter(|(k, _)| k.contains("format")).map(|(_, v)| *v).sum::<f64>();
            }
        }
        let n = prompts.len().max(1) as f64;
        Ok((correct as f64 / n, formatted / n))
    };
    let (accuracy, format) = run(0.0)?;
    let (accuracy_sampled, format_sampled) = run(temperature)?;
    Ok(Evaluation { accuracy, format, accuracy_sampled, format_sampled })
}

fn copy_weights(weights: &Weights) -> Result<Weights, TrainError> {
    let mut out = Weights::new();
    for (k, v) in weights {
        out.insert(k.clone(), candle_core::Var::from_tensor(&v.as_tensor().copy()?)?);
    }
    Ok(out)
}

/// Where a demo stood when a checkpoint was written (stored in its `trainer_state.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    /// The options of the run (a resumed run keeps them).
    options: ArithmeticOptions,
    /// The run being trained (`grpo` or `control`).
    run: String,
    /// GRPO steps done in that run.
    run_step: usize,
    /// The prompt generator (both runs draw the same prompt sequence from it).
    prompt_rng: Rng,
    /// The supervised checkpoint both runs start from.
    sft_dir: PathBuf,
    /// Held-out numbers of the supervised model.
    before: Evaluation,
    /// Held-out numbers after GRPO, once measured.
    after: Option<Evaluation>,
    /// Time spent so far.
    stages: StageSeconds,
    /// Wall-clock seconds so far.
    seconds: f64,
}

/// A checkpoint to continue from.
struct Resumed {
    dir: PathBuf,
    state: TrainerState,
    weights: Weights,
    progress: Progress,
}

const RUNS: [(&str, bool); 2] = [("grpo", false), ("control", true)];

/// Runs the whole demonstration and writes `summary.json`, `metrics.jsonl`, `reward_curve.png`,
/// the `sft/`, `grpo/` and `control/` checkpoints and `checkpoint-N` every `save_steps` under `out`.
pub fn run(
    options: &ArithmeticOptions,
    rewards: &dyn RewardSource,
    recipe: &str,
    out: &Path,
    device: &Device,
) -> Result<Summary, TrainError> {
    execute(options, rewards, recipe, out, device, None)
}

/// Continues a demonstration from `checkpoint` (a `checkpoint-N` directory, or a run directory:
/// its latest) with the options stored in it: model, optimizer moments, sampling and prompt
/// generators, step counter and metrics log are restored, so the remaining steps are the ones the
/// uninterrupted run would have taken.
pub fn resume(
    checkpoint: &Path,
    rewards: &dyn RewardSource,
    recipe: &str,
    out: &Path,
    device: &Device,
) -> Result<Summary, TrainError> {
    let dir = checkpoint::latest(checkpoint)?;
    let (state, weights) = checkpoint::load(&dir, device)?;
    let bad = |message: String| TrainError::Checkpoint { path: dir.join(checkpoint::STATE_FILE), message };
    let value = state.progress.clone().ok_or_else(|| bad("no demo progress: not a `checkpoint-N` of a run".into()))?;
    let progress: Progress = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    if !RUNS.iter().any(|(name, _)| *name == progress.run) {
        return Err(bad(format!("unknown run `{}`", progress.run)));
    }
    let options = progress.options.clone();
    execute(&options, rewards, recipe, out, device, Some(Resumed { dir, state, weights, progress }))
}

fn execute(
    options: &ArithmeticOptions,
    rewards: &dyn RewardSource,
    recipe: &str,
    out: &Path,
    device: &Device,
    mut resumed: Option<Resumed>,
) -> Result<Summary, TrainError> {
    let started = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let tok = tokenizer()?;
    let (train, held_out) = problems();
    let held_out: Vec<Prompt> =
        held_out.into_iter().take(options.eval_prompts).map(|p| to_prompt(&tok, p)).collect::<Result<_, _>>()?;
    let temperature = options.eval_temperature;
    let eval_seed = options.seed ^ 0xE7A1;
    let log_path = out.join("metrics.jsonl");
    let (config, sft, mut p, mut log) = match &resumed {
        Some(r) => {
            let (state, sft) = checkpoint::load(&r.progress.sft_dir, device)?;
            let lines = MetricsLog::read(&r.dir.join(checkpoint::METRICS_FILE))?;
            (state.model, sft, r.progress.clone(), MetricsLog::restore(&log_path, &lines)?)
        }
        None => {
            let mut rng = Rng::new(options.seed);
            let mut stages = StageSeconds::default();
            let (config, sft, sft_dir) = match &options.sft_checkpoint {
                Some(dir) => {
                    let (state, weights) = checkpoint::load(dir, device)?;
                    (state.model, weights, dir.clone())
                }
                None => {
                    let t = Instant::now();
                    let config = ModelConfig::tiny(tok.vocab_size());
                    let weights = init_weights(&config, &mut rng, device)?;
                    supervised(&config, &weights, &tok, options, &mut rng, device)?;
                    let state = TrainerState {
                        model: config.clone(),
                        step: options.sft_steps,
                        rng: rng.clone(),
                        stage: "sft".into(),
                        progress: None,
                    };
                    let dir = out.join("sft");
                    checkpoint::save(&dir, &weights, None, &state)?;
                    stages.sft = t.elapsed().as_secs_f64();
                    (config, weights, std::path::absolute(&dir).map_err(|e| TrainError::io(&dir, e))?)
                }
            };
            let t = Instant::now();
            let before = evaluate((&config, &sft), &tok, &held_out, rewards, temperature, eval_seed, device)?;
            stages.eval += t.elapsed().as_secs_f64();
            let progress = Progress {
                options: options.clone(),
                run: RUNS[0].0.into(),
                run_step: 0,
                // The same prompt order for both runs: only the rewards differ.
                prompt_rng: Rng::new(options.seed ^ 0x9E37),
                sft_dir,
                before,
                after: None,
                stages,
                seconds: 0.0,
            };
            (config, sft, progress, MetricsLog::create(&log_path)?)
        }
    };
    let seconds_before = p.seconds;
    let first = RUNS.iter().position(|(name, _)| *name == p.run).unwrap_or(0);
    let mut control_after = None;
    for (index, &(name, shuffle)) in RUNS.iter().enumerate().skip(first) {
        let t = Instant::now();
        let grpo = GrpoConfig { shuffle_rewards: shuffle, ..options.grpo.clone() };
        let mut trainer = match resumed.take() {
            Some(r) => {
                let mut trainer = Trainer::new(config.clone(), r.weights, &tok, rewards, grpo, 0, device.clone())?;
                checkpoint::load_optimizer(&r.dir, trainer.optimizer_mut(), r.state.step, device)?;
                trainer.set_rng(r.state.rng);
                trainer
            }
            None => {
                p.run = name.into();
                p.run_step = 0;
                p.prompt_rng = Rng::new(options.seed ^ 0x9E37);
                Trainer::new(config.clone(), copy_weights(&sft)?, &tok, rewards, grpo, options.seed, device.clone())?
            }
        }
        .with_run_name(name);
        while p.run_step < options.grpo_steps {
            let prompt_rng = &mut p.prompt_rng;
            let mut draw = || -> Result<Option<Vec<Prompt>>, TrainError> {
                let batch = (0..options.grpo.prompts_per_step)
                    .map(|_| to_prompt(&tok, train[prompt_rng.below(train.len())]))
                    .collect::<Result<_, _>>()?;
                Ok(Some(batch))
            };
            let metrics = trainer.step_with(&mut draw)?;
            log.write(&metrics)?;
            p.run_step += 1;
            if (options.save_steps > 0 && p.run_step.is_multiple_of(options.save_steps))
                || p.run_step == options.grpo_steps
            {
                let mut q = p.clone();
                *q.stages.run_mut(shuffle) += t.elapsed().as_secs_f64();
                q.seconds = seconds_before + started.elapsed().as_secs_f64();
                let dir = out.join(format!("{}{}", checkpoint::PREFIX, index * options.grpo_steps + p.run_step));
                save_progress(&dir, &trainer, &q, &log_path)?;
            }
        }
        let state = TrainerState {
            model: config.clone(),
            step: trainer.optimizer().steps(),
            rng: trainer.rng().clone(),
            stage: name.into(),
            progress: None,
        };
        checkpoint::save(&out.join(name), trainer.weights(), Some(trainer.optimizer()), &state)?;
        *p.stages.run_mut(shuffle) += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let evaluation =
            evaluate((&config, trainer.weights()), &tok, &held_out, rewards, temperature, eval_seed, device)?;
        p.stages.eval += t.elapsed().as_secs_f64();
        if shuffle {
            control_after = Some(evaluation);
        } else {
            p.after = Some(evaluation);
        }
    }
    let curves = MetricsLog::read(&log_path)?;
    let series: Vec<Series> = RUNS
        .iter()
        .zip([[0u8, 90, 200], [220, 50, 40]])
        .map(|((name, _), color)| Series {
            points: curves.iter().filter(|m| m.run == *name).map(|m| m.accuracy).collect(),
            color,
        })
        .collect();
    let png = line_chart(&series, 0.0, 1.0, 640, 400);
    let plot_path = out.join("reward_curve.png");
    std::fs::write(&plot_path, png).map_err(|e| TrainError::io(&plot_path, e))?;
    let missing = || TrainError::Config("the demo ended without both evaluations".into());
    let summary = Summary {
        before: p.before,
        after: p.after.ok_or_else(missing)?,
        control_after: control_after.ok_or_else(missing)?,
        seconds: seconds_before + started.elapsed().as_secs_f64(),
        stage_seconds: p.stages,
        held_out: held_out.len(),
        recipe: recipe.to_string(),
        options: options.clone(),
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| TrainError::Config(e.to_string()))?;
    std::fs::write(out.join("summary.json"), json).map_err(|e| TrainError::io(out.join("summary.json"), e))?;
    Ok(summary)
}

/// Writes `dir` as a resumable checkpoint: weights, optimizer, generators, progress, metrics so far.
fn save_progress(dir: &Path, trainer: &Trainer<'_>, p: &Progress, log_path: &Path) -> Result<(), TrainError> {
    let progress = serde_json::to_value(p).map_err(|e| TrainError::Config(e.to_string()))?;
    let state = TrainerState {
        model: trainer.model_config().clone(),
        step: trainer.optimizer().steps(),
        rng: trainer.rng().clone(),
        stage: p.run.clone(),
        progress: Some(progress),
    };
    checkpoint::save(dir, trainer.weights(), Some(trainer.optimizer()), &state)?;
    let target = dir.join(checkpoint::METRICS_FILE);
    std::fs::copy(log_path, &target).map_err(|e| TrainError::io(&target, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teacher_writes_the_right_and_the_buggy_solutions() {
        assert_eq!(teacher(47, 35, false, false), "<think>7+5=12 4+3+1=8</think>\\boxed{82}");
        assert_eq!(teacher(47, 35, true, false), "<think>7+5=12 4+3=7</think>\\boxed{72}");
        assert_eq!(teacher(99, 99, false, true), "<think>9+9=18 9+9+1=19\\boxed{198}");
        assert_eq!(teacher(12, 34, true, false), "<think>2+4=6 1+3=4</think>\\boxed{46}");
        let tok = tokenizer().unwrap();
        let ids = tok.encode(&teacher(99, 99, false, false)).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), teacher(99, 99, false, false));
        assert!(ids.len() < ArithmeticOptions::default().grpo.max_completion_length, "{} tokens", ids.len());
    }

    /// A development stand-in for the engine's `r1-math` (last `\boxed{}` integer equals the
    /// gold; format 1 for one `<think>…</think>` then the answer), used only to tune the demo
    /// while the engine's math verifier was being built. The shipped `rlvr train` uses the engine.
    struct StandIn;

    impl RewardSource for StandIn {
        fn score(&self, items: &[RewardItem<'_>]) -> Vec<crate::train::reward::ScoredCompletion> {
            items
                .iter()
                .map(|i| {
                    let c = i.completion;
                    let boxed = c.rfind("\\boxed{").and_then(|p| {
                        let rest = &c[p + 7..];
                        rest.find('}').map(|e| rest[..e].to_string())
                    });
                    let correct = boxed.as_deref() == Some(i.answer);
                    let format = c.starts_with("<think>") && c.matches("</think>").count() == 1;
                    let score = |b: bool| b as u8 as f64;
                    crate::train::reward::ScoredCompletion {
                        reward: score(correct) + score(format),
                        correct,
                        components: [("accuracy".into(), score(correct)), ("think_format".into(), score(format))]
                            .into_iter()
                            .collect(),
                        error: false,
                    }
                })
                .collect()
        }
    }

    #[test]
    #[ignore = "minutes of CPU: tuning run of the demo with a stand-in reward (RLVR_DEMO_SFT, RLVR_DEMO_GRPO)"]
    fn demo_with_a_stand_in_reward() {
        let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
        let options = ArithmeticOptions {
            sft_steps: env("RLVR_DEMO_SFT", 300),
            grpo_steps: env("RLVR_DEMO_GRPO", 300),
            eval_prompts: env("RLVR_DEMO_EVAL", 900),
            ..ArithmeticOptions::default()
        };
        let out = std::env::temp_dir().join("rlvr-demo-standin");
        let summary = run(&options, &StandIn, "stand-in", &out, &Device::Cpu).unwrap();
        eprintln!("{}", serde_json::to_string_pretty(&summary).unwrap());
    }

    /// Metrics lines without their timings (which differ between runs).
    fn untimed(path: &Path) -> Vec<crate::train::metrics::StepMetrics> {
        let mut lines = MetricsLog::read(path).unwrap();
        for m in &mut lines {
            m.seconds = Default::default();
            m.scoring_share = 0.0;
        }
        lines
    }

    #[test]
    fn a_resumed_run_takes_the_same_steps_as_the_uninterrupted_one() {
        let engine = crate::Engine::new(crate::batch::EngineConfig::default()).unwrap();
        let rewards = crate::train::reward::EngineRewards::new(engine, "r1-math").unwrap();
        let mut options = ArithmeticOptions {
            sft_steps: 4,
            sft_batch_size: 8,
            grpo_steps: 3,
            eval_prompts: 6,
            save_steps: 1,
            ..ArithmeticOptions::default()
        };
        options.grpo.prompts_per_step = 2;
        options.grpo.num_generations = 4;
        options.grpo.num_iterations = 2;
        options.grpo.dynamic_sampling = true;
        options.grpo.max_num_gen_batches = 2;
        options.grpo.optimizer.learning_rate = 3e-3;
        let root = std::env::temp_dir().join(format!("rlvr-resume-test-{}", std::process::id()));
        let full = root.join("full");
        let uninterrupted = run(&options, &rewards, "r1-math", &full, &Device::Cpu).unwrap();
        let expected = untimed(&full.join("metrics.jsonl"));
        assert_eq!(expected.len(), 6, "3 GRPO steps and 3 control steps");
        assert!(expected.iter().all(|m| m.loss != 0.0 || m.trained_groups == 0));
        // Mid-run (checkpoint-2: GRPO step 2 of 3), at the end of the GRPO run (checkpoint-3, before
        // its evaluation) and inside the control (checkpoint-5, found as the latest of a copy).
        for (from, dir) in [("checkpoint-2", "a"), ("checkpoint-3", "b")] {
            let out = root.join(dir);
            let resumed = resume(&full.join(from), &rewards, "r1-math", &out, &Device::Cpu).unwrap();
            assert_eq!(untimed(&out.join("metrics.jsonl")), expected, "resumed from {from}");
            assert_eq!((resumed.after, resumed.control_after), (uninterrupted.after, uninterrupted.control_after));
        }
        let partial = root.join("partial");
        std::fs::create_dir_all(&partial).unwrap();
        for n in [4, 5] {
            let from = full.join(format!("checkpoint-{n}"));
            let to = partial.join(format!("checkpoint-{n}"));
            std::fs::create_dir_all(&to).unwrap();
            for f in std::fs::read_dir(&from).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
            }
        }
        let resumed = resume(&partial, &rewards, "r1-math", &partial, &Device::Cpu).unwrap();
        assert_eq!(untimed(&partial.join("metrics.jsonl")), expected, "resumed from the latest (checkpoint-5)");
        assert_eq!(resumed.control_after, uninterrupted.control_after);
        assert!(matches!(
            resume(&root.join("full/sft"), &rewards, "r1-math", &root, &Device::Cpu),
            Err(TrainError::Checkpoint { .. })
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn held_out_prompts_never_reach_training() {
        let (train, held) = problems();
        assert_eq!(train.len() + held.len(), 8100);
        assert_eq!(held.len(), 900);
        assert!(train.iter().all(|&(a, b)| !is_held_out(a, b)));
        assert!(held.iter().all(|&(a, b)| is_held_out(a, b)));
    }
}
