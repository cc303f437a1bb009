//! `rlvr train`: GRPO on rewards from the engine.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::recipe_book;
use crate::batch::{Engine, EngineConfig};

/// The built-in training tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainTask {
    /// Two-digit addition with `<think>` reasoning: supervised warm-up on a noisy teacher, then
    /// GRPO and a shuffled-reward control, evaluated on 900 held-out prompts.
    Arithmetic,
}

/// Arguments of `rlvr train` (GRPO options carry TRL's names). Either `--model` with
/// `--dataset` (a pretrained model on a user's prompts) or `--task arithmetic` (the CPU demo).
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// A built-in task instead of a model and dataset.
    #[arg(long, value_enum, conflicts_with_all = ["model", "dataset"])]
    pub task: Option<TrainTask>,
    /// A Hugging Face model directory (config.json, model.safetensors or its index, tokenizer.json,
    /// tokenizer_config.json with chat_template, generation_config.json) or a .gguf file.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Training prompts: JSONL (or Parquet with the `parquet` feature) in `rlvr score`'s layouts.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Held-out prompts evaluated before and after training (greedy and sampled).
    #[arg(long)]
    pub eval_dataset: Option<PathBuf>,
    /// Map a dataset column to a field, e.g. `--map prompt=question` (repeatable); without any,
    /// verl's layout is read (answer ← reward_model.ground_truth).
    #[arg(long = "map", value_name = "FIELD=PATH")]
    pub map: Vec<crate::io::FieldRule>,
    /// A system message put before each prompt that has none.
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Longest prompt in tokens after the chat template; longer rows are skipped and counted.
    #[arg(long)]
    pub max_prompt_length: Option<usize>,
    /// Most tokens per completion.
    #[arg(long)]
    pub max_completion_length: Option<usize>,
    /// Completions per forward/backward pass (TRL's name); with `gradient_accumulation_steps` and
    /// `num_generations` it sets the prompts per step.
    #[arg(long)]
    pub per_device_train_batch_size: Option<usize>,
    /// Micro-batches accumulated per optimizer step.
    #[arg(long)]
    pub gradient_accumulation_steps: Option<usize>,
    /// Optimizer steps (0 = `num_train_epochs` passes over the dataset).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Stop training after this many seconds of training steps (summed over resumed sessions),
    /// then evaluate and save as at the last step; 0 = no limit. For equal wall-clock budgets.
    #[arg(long)]
    pub max_train_seconds: Option<f64>,
    /// Passes over the dataset when `max_steps` is 0.
    #[arg(long)]
    pub num_train_epochs: Option<usize>,
    /// Weights and activations during generation and training (bf16 on a GPU, as TRL's `bf16`);
    /// master weights, AdamW state, norms, softmax and logits stay f32.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: crate::train::grpo::ComputeDtype,
    /// Held-out prompts generated together.
    #[arg(long)]
    pub eval_batch_size: Option<usize>,
    /// Temperature of the sampled held-out evaluation.
    #[arg(long)]
    pub eval_temperature: Option<f64>,
    /// The control: permute rewards across the batch before advantages (summary: `control_after`).
    #[arg(long)]
    pub shuffle_rewards: bool,
    /// Skip the held-out evaluation before training.
    #[arg(long)]
    pub skip_eval_before: bool,
    /// Output directory: summary.json, metrics.jsonl, reward_curve.png and checkpoints.
    #[arg(long)]
    pub out: PathBuf,
    /// Where tensors live: `cpu` or `cuda:N` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The reward recipe scored by the engine.
    #[arg(long, default_value = "r1-math")]
    pub recipe: String,
    /// A directory of extra recipe files (`*.toml`).
    #[arg(long)]
    pub recipes: Option<PathBuf>,
    /// Seed for initialisation, sampling and shuffling.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Supervised warm-up steps.
    #[arg(long)]
    pub sft_steps: Option<usize>,
    /// Start from this supervised checkpoint directory instead of training one.
    #[arg(long)]
    pub sft_checkpoint: Option<PathBuf>,
    /// GRPO steps (for the run and for the control each).
    #[arg(long)]
    pub grpo_steps: Option<usize>,
    /// Completions per prompt.
    #[arg(long)]
    pub num_generations: Option<usize>,
    /// Prompts per GRPO step.
    #[arg(long)]
    pub prompts_per_step: Option<usize>,
    /// Sampling temperature during GRPO (and for the sampled evaluation).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Nucleus sampling threshold.
    #[arg(long)]
    pub top_p: Option<f64>,
    /// GRPO learning rate.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// KL coefficient (k3 estimator against a frozen copy of the starting model); 0 = no reference.
    #[arg(long)]
    pub beta: Option<f64>,
    /// Lower clip range.
    #[arg(long)]
    pub epsilon: Option<f64>,
    /// Upper clip range (DAPO clip-higher).
    #[arg(long)]
    pub epsilon_high: Option<f64>,
    /// Loss aggregation.
    #[arg(long, value_enum)]
    pub loss_type: Option<crate::train::loss::LossType>,
    /// Advantage scaling.
    #[arg(long, value_enum)]
    pub scale_rewards: Option<crate::train::loss::ScaleRewards>,
    /// Policy updates per generation batch (μ).
    #[arg(long)]
    pub num_iterations: Option<usize>,
    /// Drop groups with all-equal rewards from the loss and refill the batch with new prompts (DAPO);
    /// on by default for the arithmetic task, `--dynamic-sampling false` turns it off.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub dynamic_sampling: Option<bool>,
    /// Most generation rounds per step when refilling (DAPO's `max_num_gen_batches`).
    #[arg(long)]
    pub max_num_gen_batches: Option<usize>,
    /// Write `OUT/checkpoint-N` every this many GRPO steps (0 = only at the end of each run).
    #[arg(long)]
    pub save_steps: Option<usize>,
    /// Continue from `DIR/checkpoint-N`, or from the latest checkpoint in `DIR`, with the options
    /// stored in it (the other training flags are ignored).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Give truncated completions zero loss weight.
    #[arg(long)]
    pub mask_truncated_completions: bool,
    /// Global gradient-norm clip (0 = off).
    #[arg(long)]
    pub max_grad_norm: Option<f64>,
    /// Held-out prompts to evaluate (at most 900).
    #[arg(long)]
    pub eval_prompts: Option<usize>,
    /// CPU threads for tensor ops (sets RAYON_NUM_THREADS unless it is already set). One is
    /// the default: on a small shared box, candle's 2-thread matmuls were 2-4x slower per step.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

pub(super) fn run(a: TrainArgs) -> Result<ExitCode> {
    use crate::train::{arithmetic, reward::EngineRewards};
    if a.task.is_none() && (a.model.is_some() || a.dataset.is_some() || a.resume.is_some()) {
        return dataset_run(&a);
    }
    set_threads(a.threads)?;
    let book = recipe_book(a.recipes.as_ref())?;
    let engine = Engine::with_recipes(EngineConfig::default(), book);
    let rewards = EngineRewards::new(engine, &a.recipe)?;
    let device = crate::train::parse_device(&a.device)?;
    let Some(TrainTask::Arithmetic) = a.task else {
        anyhow::bail!("give --model and --dataset (a pretrained model on your prompts) or --task arithmetic");
    };
    let mut o = arithmetic::ArithmeticOptions::default();
    let g = &mut o.grpo;
    macro_rules! set {
        ($($arg:expr => $field:expr),* $(,)?) => { $(if let Some(v) = $arg { $field = v; })* };
    }
    set!(a.seed => o.seed, a.sft_steps => o.sft_steps, a.grpo_steps => o.grpo_steps, a.eval_prompts => o.eval_prompts);
    set!(
        a.num_generations => g.num_generations, a.prompts_per_step => g.prompts_per_step,
        a.temperature => g.temperature, a.top_p => g.top_p, a.learning_rate => g.optimizer.learning_rate,
        a.beta => g.loss.beta, a.epsilon => g.loss.epsilon, a.epsilon_high => g.loss.epsilon_high,
        a.loss_type => g.loss.loss_type, a.scale_rewards => g.scale_rewards, a.num_iterations => g.num_iterations,
        a.max_grad_norm => g.optimizer.max_grad_norm, a.max_num_gen_batches => g.max_num_gen_batches,
        a.dynamic_sampling => g.dynamic_sampling,
    );
    set!(a.save_steps => o.save_steps);
    g.mask_truncated_completions |= a.mask_truncated_completions;
    g.dtype = a.dtype;
    o.sft_checkpoint = a.sft_checkpoint.clone();
    let summary = match &a.resume {
        Some(dir) => arithmetic::resume(dir, &rewards, &a.recipe, &a.out, &device)?,
        None => arithmetic::run(&o, &rewards, &a.recipe, &a.out, &device)?,
    };
    let show = |name: &str, e: &arithmetic::Evaluation| {
        eprintln!(
            "rlvr train: {name:<14} accuracy {:.3} format {:.3} (greedy) | accuracy {:.3} format {:.3} (T={})",
            e.accuracy, e.format, e.accuracy_sampled, e.format_sampled, summary.options.eval_temperature
        )
    };
    show("before", &summary.before);
    show("after", &summary.after);
    show("control after", &summary.control_after);
    eprintln!("rlvr train: {:.1} s; wrote {}", summary.seconds, a.out.join("summary.json").display());
    Ok(ExitCode::SUCCESS)
}

fn set_threads(threads: usize) -> Result<()> {
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: nothing has started a thread yet (only argument parsing ran), so no other
        // thread can read the environment concurrently; candle and rayon read this variable later.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
    Ok(())
}

/// The run options from the flags (TRL's defaults where a flag is absent).
fn run_options(a: &TrainArgs) -> Result<crate::train::run::RunOptions> {
    let mut o = crate::train::run::RunOptions::default();
    let g = &mut o.grpo;
    g.optimizer.learning_rate = 1e-6;
    let (batch, accumulation) =
        (a.per_device_train_batch_size.unwrap_or(8), a.gradient_accumulation_steps.unwrap_or(1));
    macro_rules! set {
        ($($arg:expr => $field:expr),* $(,)?) => { $(if let Some(v) = $arg { $field = v; })* };
    }
    set!(
        a.num_generations => g.num_generations, a.temperature => g.temperature, a.top_p => g.top_p,
        a.learning_rate => g.optimizer.learning_rate, a.beta => g.loss.beta, a.epsilon => g.loss.epsilon,
        a.epsilon_high => g.loss.epsilon_high, a.loss_type => g.loss.loss_type, a.scale_rewards => g.scale_rewards,
        a.num_iterations => g.num_iterations, a.max_grad_norm => g.optimizer.max_grad_norm,
        a.max_num_gen_batches => g.max_num_gen_batches, a.dynamic_sampling => g.dynamic_sampling,
        a.max_completion_length => g.max_completion_length,
    );
    if a.epsilon.is_some() && a.epsilon_high.is_none() {
        g.loss.epsilon_high = g.loss.epsilon;
    }
    g.loss.max_completion_length = g.max_completion_length;
    g.micro_batch_size = batch;
    g.shuffle_rewards = a.shuffle_rewards;
    g.dtype = a.dtype;
    g.mask_truncated_completions |= a.mask_truncated_completions;
    let completions = batch * accumulation;
    g.prompts_per_step = match a.prompts_per_step {
        Some(n) => n,
        None => {
            anyhow::ensure!(
                batch > 0 && accumulation > 0 && completions.is_multiple_of(g.num_generations),
                "per_device_train_batch_size × gradient_accumulation_steps ({completions}) must be a positive multiple of num_generations ({})",
                g.num_generations
            );
            completions / g.num_generations
        }
    };
    set!(
        a.seed => o.seed, a.max_steps => o.max_steps, a.max_train_seconds => o.max_train_seconds, a.num_train_epochs => o.num_train_epochs,
        a.save_steps => o.save_steps, a.eval_temperature => o.eval_temperature,
        a.eval_batch_size => o.eval_batch_size, a.max_prompt_length => o.max_prompt_length,
    );
    o.skip_eval_before = a.skip_eval_before;
    o.system_prompt = a.system_prompt.clone();
    o.grpo.validate()?;
    Ok(o)
}

/// `rlvr train --model … --dataset …` (or `--resume DIR` of such a run).
fn dataset_run(a: &TrainArgs) -> Result<ExitCode> {
    use crate::train::task::dataset::{self, PromptFormat};
    use crate::train::{checkpoint, hf, reward::EngineRewards, run};
    set_threads(a.threads)?;
    let book = recipe_book(a.recipes.as_ref())?;
    let rewards = EngineRewards::new(Engine::with_recipes(EngineConfig::default(), book), &a.recipe)?;
    let device = crate::train::parse_device(&a.device)?;
    let resume_dir = a.resume.as_deref().map(checkpoint::latest).transpose()?;
    let options = match &resume_dir {
        Some(dir) => run::stored_options(dir)?,
        None => run_options(a)?,
    };
    let model_path = match (&resume_dir, &a.model) {
        (Some(dir), _) => dir.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => anyhow::bail!("--model is required (a Hugging Face model directory or a .gguf file)"),
    };
    let train_path = a.dataset.as_ref().ok_or_else(|| anyhow::anyhow!("--dataset is required"))?;
    let model = hf::load(&model_path, &device)?;
    let map = crate::io::FieldMap::from_rules(a.map.clone());
    let format = PromptFormat {
        chat: &model.chat,
        tokenizer: &model.tokenizer,
        system_prompt: options.system_prompt.as_deref(),
        max_prompt_length: options.max_prompt_length,
    };
    let report = |path: &std::path::Path, data: &dataset::Dataset| {
        eprintln!(
            "rlvr train: {}: {} prompts, {} rows skipped",
            path.display(),
            data.prompts.len(),
            data.skipped.len()
        );
        for s in data.skipped.iter().take(10) {
            eprintln!("rlvr train:   line {}: {}", s.line, s.reason);
        }
        if data.skipped.len() > 10 {
            eprintln!("rlvr train:   … and {} more", data.skipped.len() - 10);
        }
    };
    let train = dataset::read(train_path, &map, &format)?;
    report(train_path, &train);
    let eval = match &a.eval_dataset {
        Some(path) => {
            let data = dataset::read(path, &map, &format)?;
            report(path, &data);
            data
        }
        None => dataset::Dataset::default(),
    };
    let stop = run::stop_on_signals();
    let inputs = run::RunInputs {
        model,
        train: &train.prompts,
        eval: &eval.prompts,
        skipped: (train.skipped.len(), eval.skipped.len()),
        rewards: &rewards,
        recipe: &a.recipe,
        device: (&a.device, &device),
        task: format!("dataset:{}", train_path.display()),
        stop,
    };
    let summary = match &resume_dir {
        Some(dir) => run::resume(dir, inputs, &a.out)?,
        None => run::run(&options, inputs, &a.out)?,
    };
    let show = |name: &str, e: &Option<crate::train::metrics::Evaluation>| {
        if let Some(e) = e {
            eprintln!(
                "rlvr train: {name:<14} accuracy {:.3} format {:.3} (greedy) | accuracy {:.3} format {:.3} (T={}), n = {}",
                e.accuracy, e.format, e.accuracy_sampled, e.format_sampled, options.eval_temperature, summary.held_out
            );
        }
    };
    show("before", &summary.before);
    show("after", &summary.after);
    show("control after", &summary.control_after);
    eprintln!(
        "rlvr train: {} steps, {:.1} s, {:.0} generated tokens/s, scoring {:.1} % of the step; wrote {}",
        summary.steps,
        summary.train_seconds,
        summary.generated_tokens_per_second,
        100.0 * summary.scoring_share,
        a.out.join("summary.json").display()
    );
    Ok(if summary.interrupted { ExitCode::from(130) } else { ExitCode::SUCCESS })
}
