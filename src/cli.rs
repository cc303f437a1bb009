//! The `rlvr` command line. `main` parses [`Args`] and calls [`run`]; exit codes are
//! 0 (success), 1 (problems found, e.g. a wrong answer for `rlvr math`) and 2 (error).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::batch::{Engine, EngineConfig};
use crate::io::{DEFAULT_CHUNK_LINES, score_stream};
use crate::math;
use crate::reward::RecipeBook;
use crate::sample::Verdict;

/// Reinforcement learning with verifiable rewards: score model outputs exactly and fast.
#[derive(Debug, Parser)]
#[command(name = "rlvr", version, about)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score JSONL samples; writes one JSONL result per sample, in input order.
    Score(ScoreArgs),
    /// Check one gold answer against one prediction and explain the verdict.
    Math(MathArgs),
    /// List the reward recipes with their documentation.
    Recipes(RecipesArgs),
    /// Train a model with GRPO on rewards from the engine (`--task arithmetic`: the CPU demo).
    Train(Box<TrainArgs>),
}

/// Arguments of `rlvr score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// JSONL samples: a path, or `-` for standard input.
    #[arg(default_value = "-")]
    pub input: PathBuf,
    /// Where to write results (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Recipe for samples that name none.
    #[arg(long)]
    pub recipe: Option<String>,
    /// A directory of extra recipe files (`*.toml`).
    #[arg(long)]
    pub recipes: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Samples scored together; memory stays proportional to this.
    #[arg(long, default_value_t = DEFAULT_CHUNK_LINES)]
    pub chunk: usize,
}

/// Arguments of `rlvr math`.
#[derive(Debug, clap::Args)]
pub struct MathArgs {
    /// The gold answer (bare `42`, `$\frac12$` or `\boxed{2}`).
    pub gold: String,
    /// The prediction: a bare answer or a whole completion.
    pub pred: String,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `rlvr recipes`.
#[derive(Debug, clap::Args)]
pub struct RecipesArgs {
    /// A directory of extra recipe files (`*.toml`).
    #[arg(long)]
    pub recipes: Option<PathBuf>,
}

/// The built-in training tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainTask {
    /// Two-digit addition with `<think>` reasoning: supervised warm-up on a noisy teacher, then
    /// GRPO and a shuffled-reward control, evaluated on 900 held-out prompts.
    Arithmetic,
}

/// Arguments of `rlvr train` (GRPO options carry TRL's names).
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The task.
    #[arg(long, value_enum)]
    pub task: TrainTask,
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
    /// Drop groups with all-equal rewards from the loss.
    #[arg(long)]
    pub dynamic_sampling: bool,
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

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Score(a) => score(a),
        Command::Math(a) => math_check(a),
        Command::Recipes(a) => recipes(a),
        Command::Train(a) => train(*a),
    }
}

/// Whether an error is a closed output pipe (`rlvr score | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

fn recipe_book(dir: Option<&PathBuf>) -> Result<RecipeBook> {
    let mut book = RecipeBook::builtin()?;
    if let Some(dir) = dir {
        book.load_dir(dir)?;
    }
    Ok(book)
}

fn score(a: ScoreArgs) -> Result<ExitCode> {
    let book = recipe_book(a.recipes.as_ref())?;
    if let Some(name) = &a.recipe {
        anyhow::ensure!(book.get(name).is_some(), "unknown recipe `{name}` (see `rlvr recipes`)");
    }
    let engine =
        Engine::with_recipes(EngineConfig { default_recipe: a.recipe.clone(), ..EngineConfig::default() }, book);
    let run = || -> Result<()> {
        let input: Box<dyn io::BufRead> = if a.input.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            let file = File::open(&a.input).with_context(|| format!("cannot open {}", a.input.display()))?;
            Box::new(BufReader::new(file))
        };
        let output: Box<dyn Write> = match &a.output {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(io::stdout().lock())),
        };
        let summary = score_stream(&engine, input, output, a.chunk)?;
        eprintln!("rlvr: scored {} samples: {} correct, {} errors", summary.samples, summary.correct, summary.errors);
        Ok(())
    };
    match a.threads {
        Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n).build()?.install(run)?,
        None => run()?,
    }
    Ok(ExitCode::SUCCESS)
}

fn math_check(a: MathArgs) -> Result<ExitCode> {
    let check = math::check(&a.gold, &a.pred, &math::MathConfig::default());
    if a.json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        println!("verdict:   {}", check.verdict);
        println!("extracted: {}", show(&check.extracted));
        println!("gold:      {}", show(&check.gold_parsed));
        println!("pred:      {}", show(&check.pred_parsed));
        println!("why:       {}", check.reason);
    }
    Ok(match check.verdict {
        Verdict::Correct => ExitCode::SUCCESS,
        Verdict::InvalidGold | Verdict::Error => ExitCode::from(2),
        _ => ExitCode::from(1),
    })
}

fn recipes(a: RecipesArgs) -> Result<ExitCode> {
    let book = recipe_book(a.recipes.as_ref())?;
    let mut out = io::stdout().lock();
    for recipe in book.iter() {
        writeln!(out, "{} (verifier: {:?})\n    {}", recipe.name, recipe.verifier, recipe.description)?;
        for c in &recipe.components {
            let doc = crate::reward::component(&c.name).map_or("", |c| c.doc());
            writeln!(out, "    - {} × {}: {}", c.name, c.weight, doc)?;
            if !c.params.is_empty() {
                let params: Vec<String> = c.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                writeln!(out, "      params: {}", params.join(", "))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn train(a: TrainArgs) -> Result<ExitCode> {
    use crate::train::{arithmetic, reward::EngineRewards};
    anyhow::ensure!(a.threads > 0, "--threads must be at least 1");
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: nothing has started a thread yet (only argument parsing ran), so no other
        // thread can read the environment concurrently; candle and rayon read this variable later.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", a.threads.to_string()) };
    }
    let book = recipe_book(a.recipes.as_ref())?;
    let engine = Engine::with_recipes(EngineConfig::default(), book);
    let rewards = EngineRewards::new(engine, &a.recipe)?;
    let device = crate::train::parse_device(&a.device)?;
    let TrainTask::Arithmetic = a.task;
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
        a.max_grad_norm => g.optimizer.max_grad_norm,
    );
    g.dynamic_sampling |= a.dynamic_sampling;
    g.mask_truncated_completions |= a.mask_truncated_completions;
    o.sft_checkpoint = a.sft_checkpoint.clone();
    let summary = arithmetic::run(&o, &rewards, &a.recipe, &a.out, &device)?;
    let show = |name: &str, e: &arithmetic::Evaluation| {
        eprintln!(
            "rlvr train: {name:<14} accuracy {:.3} format {:.3} (greedy) | accuracy {:.3} format {:.3} (T={})",
            e.accuracy, e.format, e.accuracy_sampled, e.format_sampled, o.eval_temperature
        )
    };
    show("before", &summary.before);
    show("after", &summary.after);
    show("control after", &summary.control_after);
    eprintln!("rlvr train: {:.1} s; wrote {}", summary.seconds, a.out.join("summary.json").display());
    Ok(ExitCode::SUCCESS)
}
