//! The training loop for a pretrained model on a dataset (`rlvr train --model … --dataset …`):
//! held-out evaluation before, epochs of shuffled prompts through [`Trainer::step_with`] (GRPO,
//! optionally DAPO's dynamic sampling), a metrics line per step, Hugging Face checkpoints every
//! `save_steps` and at the end, held-out evaluation after, and `summary.json`.
//!
//! Checkpoints are `OUT/checkpoint-N`: a model directory `transformers` loads unchanged
//! (`config.json`, `model.safetensors`, tokenizer files) plus `optimizer.safetensors`,
//! `trainer_state.json` (options, data position, generator state) and the metrics so far, so
//! `--resume` continues exactly. Ctrl-C or SIGTERM finishes the current step, writes a
//! checkpoint and returns with `interrupted: true`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::TrainError;
use super::checkpoint::{self, TrainerState};
use super::grpo::{GrpoConfig, Prompt, Trainer};
use super::hf::{self, PretrainedModel};
use super::metrics::{Evaluation, MetricsLog};
use super::model::Model;
use super::reward::{RewardItem, RewardSource};
use super::rng::Rng;
use super::sampler::{SamplingConfig, generate};

/// Options of a dataset run (TRL's names where TRL has one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// GRPO options.
    pub grpo: GrpoConfig,
    /// Seed for sampling and data order.
    pub seed: u64,
    /// Optimizer steps; 0 = `num_train_epochs` passes over the dataset.
    pub max_steps: usize,
    /// Passes over the dataset when `max_steps` is 0.
    pub num_train_epochs: usize,
    /// Stop after this many seconds of training steps (all sessions of a resumed run), then
    /// evaluate and save as after the last step; 0 = no limit.
    #[serde(default)]
    pub max_train_seconds: f64,
    /// Write `checkpoint-N` every this many steps (0 = only at the end).
    pub save_steps: usize,
    /// Temperature of the sampled held-out evaluation.
    pub eval_temperature: f64,
    /// Held-out prompts generated together.
    pub eval_batch_size: usize,
    /// Longest prompt in tokens; longer dataset rows are skipped.
    pub max_prompt_length: usize,
    /// Skip the held-out evaluation before training (e.g. a control run from a measured start).
    pub skip_eval_before: bool,
    /// A system message put before each prompt that has none.
    pub system_prompt: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            grpo: GrpoConfig { max_completion_length: 256, ..GrpoConfig::default() },
            seed: 42,
            max_steps: 0,
            num_train_epochs: 1,
            max_train_seconds: 0.0,
            save_steps: 500,
            eval_temperature: 1.0,
            eval_batch_size: 64,
            max_prompt_length: 512,
            skip_eval_before: false,
            system_prompt: None,
        }
    }
}

/// What a dataset run writes to `summary.json` (the demo's schema: `before`, `after`,
/// `control_after`, `held_out`, plus `model`, `device`, `task`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Held-out numbers of the starting model (absent when skipped or without an eval set).
    pub before: Option<Evaluation>,
    /// Held-out numbers after training with the engine's rewards.
    pub after: Option<Evaluation>,
    /// Held-out numbers after training with shuffled rewards (a control run).
    pub control_after: Option<Evaluation>,
    /// Held-out prompts evaluated.
    pub held_out: usize,
    /// The model path.
    pub model: String,
    /// The device.
    pub device: String,
    /// What was trained on (`dataset:PATH`).
    pub task: String,
    /// The reward recipe.
    pub recipe: String,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Training prompts used, and rows skipped (training, held-out).
    pub train_prompts: usize,
    /// Rows skipped from the training set.
    pub skipped_train_rows: usize,
    /// Rows skipped from the held-out set.
    pub skipped_eval_rows: usize,
    /// Wall-clock seconds of training steps (all sessions of a resumed run).
    pub train_seconds: f64,
    /// Completion tokens generated in training.
    pub generated_tokens: usize,
    /// Generated tokens per second of sampling.
    pub generated_tokens_per_second: f64,
    /// Scoring's share of training time.
    pub scoring_share: f64,
    /// Whether the run stopped on Ctrl-C/SIGTERM (a checkpoint was written).
    pub interrupted: bool,
    /// The last checkpoint written.
    pub checkpoint: Option<PathBuf>,
    /// The options.
    pub options: RunOptions,
}

/// Where a run stood at a checkpoint (the `progress` of its `trainer_state.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    options: RunOptions,
    /// Epoch (from 0) and position in its order.
    epoch: usize,
    cursor: usize,
    /// SHA-256 of the training prompts, so a resume on other data is refused.
    data_sha256: String,
    before: Option<Evaluation>,
    train_seconds: f64,
    sampling_seconds: f64,
    scoring_seconds: f64,
    generated_tokens: usize,
}

/// The inputs of a run.
pub struct RunInputs<'a> {
    /// The model (from `--model`, or the checkpoint being resumed).
    pub model: PretrainedModel,
    /// Training prompts.
    pub train: &'a [Prompt],
    /// Held-out prompts.
    pub eval: &'a [Prompt],
    /// Skipped rows (training, held-out), for the summary.
    pub skipped: (usize, usize),
    /// Rewards (the engine with the recipe).
    pub rewards: &'a dyn RewardSource,
    /// The recipe name.
    pub recipe: &'a str,
    /// The device name and device.
    pub device: (&'a str, &'a Device),
    /// The task label (`dataset:PATH`).
    pub task: String,
    /// Set by Ctrl-C/SIGTERM; checked between steps.
    pub stop: &'a AtomicBool,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers that set the returned flag (the run then checkpoints and stops).
pub fn stop_on_signals() -> &'static AtomicBool {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    &STOP
}

fn data_sha256(prompts: &[Prompt]) -> String {
    let mut h = Sha256::new();
    for p in prompts {
        h.update(p.text.as_bytes());
        h.update([0]);
        h.update(p.answer.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The order of epoch `epoch`: a permutation of the prompts drawn from the seed.
fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed ^ 0xDA7A ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).shuffle(&mut order);
    order
}

/// One greedy held-out completion (the lines of `OUT/eval_before.jsonl` and `OUT/eval_after.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalCompletion {
    /// The prompt's token ids (chat template applied).
    pub prompt_ids: Vec<u32>,
    /// The greedy completion's token ids, stop token included when one was generated.
    pub completion_ids: Vec<u32>,
    /// The decoded completion.
    pub completion: String,
    /// The gold answer.
    pub answer: String,
    /// The engine's verdict.
    pub correct: bool,
}

/// Held-out accuracy and format rate, greedy and at `temperature`, generated `batch` prompts at a
/// time, with the greedy completions.
pub fn evaluate(
    model: &Model,
    pretrained: &PretrainedModel,
    prompts: &[Prompt],
    rewards: &dyn RewardSource,
    (max_new_tokens, temperature, batch, seed): (usize, f64, usize, u64),
    device: &Device,
) -> Result<(Evaluation, Vec<EvalCompletion>), TrainError> {
    let tok = &pretrained.tokenizer;
    let mut rng = Rng::new(seed);
    let mut greedy = Vec::new();
    let mut run = |temperature: f64| -> Result<(f64, f64), TrainError> {
        let sampling =
            SamplingConfig { temperature, top_p: 1.0, max_new_tokens, stop_tokens: pretrained.eos_ids.clone() };
        let (mut correct, mut formatted) = (0usize, 0.0);
        for chunk in prompts.chunks(batch.max(1)) {
            let ids: Vec<Vec<u32>> = chunk.iter().map(|p| p.ids.clone()).collect();
            let rollouts = generate(model, &ids, &sampling, tok.pad_id(), &mut rng, device)?;
            let texts: Vec<String> = rollouts.iter().map(|r| tok.decode(&r.completion)).collect::<Result<_, _>>()?;
            let items: Vec<RewardItem<'_>> = chunk
                .iter()
                .zip(&texts)
                .map(|(p, t)| RewardItem { prompt: &p.text, completion: t, answer: &p.answer })
                .collect();
            for (i, s) in rewards.score(&items).into_iter().enumerate() {
                if temperature == 0.0 {
                    greedy.push(EvalCompletion {
                        prompt_ids: chunk[i].ids.clone(),
                        completion_ids: rollouts[i].completion.clone(),
                        completion: texts[i].clone(),
                        answer: chunk[i].answer.clone(),
                        correct: s.correct,
                    });
                }
                correct += s.correct as usize;
                formatted += s.components.iter().filter(|(k, _)| k.contains("format")).map(|(_, v)| *v).sum::<f64>();
            }
        }
        let n = prompts.len().max(1) as f64;
        Ok((correct as f64 / n, formatted / n))
    };
    let (accuracy, format) = run(0.0)?;
    let (accuracy_sampled, format_sampled) = if temperature > 0.0 { run(temperature)? } else { (accuracy, format) };
    Ok((Evaluation { accuracy, format, accuracy_sampled, format_sampled }, greedy))
}

/// Starts a run from `inputs.model` with `options`, writing everything under `out`.
pub fn run(options: &RunOptions, inputs: RunInputs<'_>, out: &Path) -> Result<RunSummary, TrainError> {
    execute(options.clone(), inputs, out, None).map_err(TrainError::classify)
}

/// The options stored in a checkpoint of a dataset run (a resumed run keeps them).
pub fn stored_options(dir: &Path) -> Result<RunOptions, TrainError> {
    Ok(read_progress(dir)?.2.options)
}

fn read_progress(dir: &Path) -> Result<(PathBuf, TrainerState, Progress), TrainError> {
    let state_path = dir.join(checkpoint::STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| TrainError::io(&state_path, e))?;
    let bad = |m: String| TrainError::Checkpoint { path: state_path.clone(), message: m };
    let state: TrainerState = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let value =
        state.progress.clone().ok_or_else(|| bad("no run progress: not a checkpoint-N of a dataset run".into()))?;
    let progress: Progress = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    Ok((state_path, state, progress))
}

/// Continues the run whose checkpoint `inputs.model` was loaded from (`dir`): options, optimizer
/// moments, generator, data position, metrics and the starting evaluation are restored; the
/// training prompts must be the ones the run started with.
pub fn resume(dir: &Path, inputs: RunInputs<'_>, out: &Path) -> Result<RunSummary, TrainError> {
    let (state_path, state, progress) = read_progress(dir)?;
    let bad = |m: String| TrainError::Checkpoint { path: state_path.clone(), message: m };
    if progress.data_sha256 != data_sha256(inputs.train) {
        return Err(bad("the training prompts differ from the ones this run started with (same --dataset, --map, --system-prompt and template needed)".into()));
    }
    let options = progress.options.clone();
    execute(options, inputs, out, Some((dir.to_owned(), state, progress))).map_err(TrainError::classify)
}

fn execute(
    options: RunOptions,
    inputs: RunInputs<'_>,
    out: &Path,
    resumed: Option<(PathBuf, TrainerState, Progress)>,
) -> Result<RunSummary, TrainError> {
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let RunInputs {
        model: pretrained,
        train,
        eval,
        skipped,
        rewards,
        recipe,
        device: (device_name, device),
        task,
        stop,
    } = inputs;
    if train.is_empty() {
        return Err(TrainError::Config("the training dataset has no usable prompt".into()));
    }
    if options.max_train_seconds.is_nan() || options.max_train_seconds < 0.0 {
        return Err(TrainError::Config(format!("max_train_seconds must be ≥ 0, got {}", options.max_train_seconds)));
    }
    let g = &options.grpo;
    let longest = train.iter().chain(eval).map(|p| p.ids.len()).max().unwrap_or(0);
    if longest + g.max_completion_length > pretrained.config.max_position_embeddings {
        return Err(TrainError::TooLong {
            len: longest + g.max_completion_length,
            max: pretrained.config.max_position_embeddings,
        });
    }
    let eval_params =
        (g.max_completion_length, options.eval_temperature, options.eval_batch_size, options.seed ^ 0xE7A1);
    let log_path = out.join(checkpoint::METRICS_FILE);
    let (mut p, mut log, optimizer_from) = match resumed {
        Some((dir, state, progress)) => {
            let lines = MetricsLog::read(&dir.join(checkpoint::METRICS_FILE))?;
            (progress, MetricsLog::restore(&log_path, &lines)?, Some((dir, state)))
        }
        None => {
            let before = if eval.is_empty() || options.skip_eval_before {
                None
            } else {
                let model = Model::inference(&pretrained.config, &pretrained.weights, device, g.dtype.dtype())?;
                let (e, lines) = evaluate(&model, &pretrained, eval, rewards, eval_params, device)?;
                super::write_jsonl(&out.join("eval_before.jsonl"), &lines)?;
                Some(e)
            };
            let progress = Progress {
                options: options.clone(),
                epoch: 0,
                cursor: 0,
                data_sha256: data_sha256(train),
                before,
                train_seconds: 0.0,
                sampling_seconds: 0.0,
                scoring_seconds: 0.0,
                generated_tokens: 0,
            };
            (progress, MetricsLog::create(&log_path)?, None)
        }
    };
    let total_steps = if options.max_steps > 0 {
        options.max_steps
    } else {
        options.num_train_epochs * train.len().div_ceil(g.prompts_per_step)
    };
    let mut trainer = Trainer::new(
        pretrained.config.clone(),
        pretrained.weights.clone(),
        &pretrained.tokenizer,
        rewards,
        g.clone(),
        options.seed,
        device.clone(),
    )?
    .with_stop_tokens(pretrained.eos_ids.clone())
    .with_run_name(if g.shuffle_rewards { "control" } else { "grpo" });
    if let Some((dir, state)) = &optimizer_from {
        checkpoint::load_optimizer(dir, trainer.optimizer_mut(), state.step, device)?;
        trainer.set_rng(state.rng.clone());
    }
    let mut order = epoch_order(train.len(), options.seed, p.epoch);
    let mut last_checkpoint = None;
    let mut interrupted = false;
    while trainer.optimizer().steps() < total_steps {
        let started = Instant::now();
        let (epoch, cursor) = (&mut p.epoch, &mut p.cursor);
        let mut draw = || -> Result<Option<Vec<Prompt>>, TrainError> {
            let mut batch = Vec::with_capacity(g.prompts_per_step);
            while batch.len() < g.prompts_per_step {
                if *cursor >= order.len() {
                    *epoch += 1;
                    *cursor = 0;
                    order = epoch_order(train.len(), options.seed, *epoch);
                }
                batch.push(train[order[*cursor]].clone());
                *cursor += 1;
            }
            Ok(Some(batch))
        };
        let metrics = trainer.step_with(&mut draw)?;
        p.train_seconds += started.elapsed().as_secs_f64();
        p.sampling_seconds += metrics.seconds.sampling;
        p.scoring_seconds += metrics.seconds.scoring;
        p.generated_tokens += metrics.tokens_generated;
        log.write(&metrics)?;
        let step = trainer.optimizer().steps();
        eprintln!(
            "rlvr train: step {step}/{total_steps} reward {:.3} accuracy {:.3} zero-std groups {:.2} length {:.1} ({:.1} s)",
            metrics.reward,
            metrics.accuracy,
            metrics.frac_reward_zero_std,
            metrics.mean_length,
            started.elapsed().as_secs_f64()
        );
        interrupted = stop.load(Ordering::SeqCst);
        let out_of_time = options.max_train_seconds > 0.0 && p.train_seconds >= options.max_train_seconds;
        let last = step == total_steps || out_of_time;
        if interrupted || last || (options.save_steps > 0 && step.is_multiple_of(options.save_steps)) {
            let dir = out.join(format!("{}{step}", checkpoint::PREFIX));
            save(&dir, &trainer, &pretrained, &p, &log_path)?;
            last_checkpoint = Some(dir);
        }
        if interrupted {
            eprintln!("rlvr train: stopped by signal after step {step}; resume with --resume {}", out.display());
            break;
        }
        if out_of_time && step < total_steps {
            eprintln!("rlvr train: --max-train-seconds {} reached after step {step}", options.max_train_seconds);
            break;
        }
    }
    let after = if eval.is_empty() || interrupted {
        None
    } else {
        let model = Model::inference(&pretrained.config, trainer.weights(), device, g.dtype.dtype())?;
        let (e, lines) = evaluate(&model, &pretrained, eval, rewards, eval_params, device)?;
        super::write_jsonl(&out.join("eval_after.jsonl"), &lines)?;
        Some(e)
    };
    let (after, control_after) = if g.shuffle_rewards { (None, after) } else { (after, None) };
    let summary = RunSummary {
        before: p.before,
        after,
        control_after,
        held_out: eval.len(),
        model: pretrained.source.display().to_string(),
        device: device_name.to_string(),
        task,
        recipe: recipe.to_string(),
        steps: trainer.optimizer().steps(),
        train_prompts: train.len(),
        skipped_train_rows: skipped.0,
        skipped_eval_rows: skipped.1,
        train_seconds: p.train_seconds,
        generated_tokens: p.generated_tokens,
        generated_tokens_per_second: p.generated_tokens as f64 / p.sampling_seconds.max(1e-9),
        scoring_share: p.scoring_seconds / p.train_seconds.max(1e-9),
        interrupted,
        checkpoint: last_checkpoint,
        options,
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| TrainError::Config(e.to_string()))?;
    let path = out.join("summary.json");
    std::fs::write(&path, json).map_err(|e| TrainError::io(&path, e))?;
    Ok(summary)
}

/// Writes a checkpoint: the model directory plus optimizer, trainer state and metrics so far.
fn save(
    dir: &Path,
    trainer: &Trainer<'_>,
    pretrained: &PretrainedModel,
    p: &Progress,
    log_path: &Path,
) -> Result<(), TrainError> {
    hf::save_model_dir(dir, trainer.weights(), &pretrained.files)?;
    let moments: HashMap<String, Tensor> = trainer.optimizer().state_tensors().into_iter().collect();
    candle_core::safetensors::save(&moments, dir.join(checkpoint::OPTIMIZER_FILE))?;
    let state = TrainerState {
        model: trainer.model_config().clone(),
        step: trainer.optimizer().steps(),
        rng: trainer.rng().clone(),
        stage: "grpo".into(),
        progress: Some(serde_json::to_value(p).map_err(|e| TrainError::Config(e.to_string()))?),
    };
    let json = serde_json::to_string_pretty(&state).map_err(|e| TrainError::Config(e.to_string()))?;
    let state_path = dir.join(checkpoint::STATE_FILE);
    std::fs::write(&state_path, json).map_err(|e| TrainError::io(&state_path, e))?;
    let target = dir.join(checkpoint::METRICS_FILE);
    std::fs::copy(log_path, &target).map_err(|e| TrainError::io(&target, e))?;
    Ok(())
}
