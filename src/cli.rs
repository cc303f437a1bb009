//! The `rlvr` command line. `main` parses [`Args`] and calls [`run`]; exit codes are
//! 0 (success), 1 (problems found, e.g. a wrong answer for `rlvr math`) and 2 (error).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::batch::{Engine, EngineConfig};
use crate::io::{DEFAULT_CHUNK_LINES, FieldMap, FieldRule, score_stream_mapped};
use crate::math;
use crate::reward::RecipeBook;
use crate::sample::Verdict;
use crate::server::{ServerConfig, ServerLimits, ServerState, WasmRunner};
use crate::validate::{ValidateConfig, ValidateLimits};

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
    /// Check a dataset before training: golds parse, reference solutions pass, tests are deterministic.
    Validate(ValidateArgs),
    /// Serve the engine over HTTP: /v1/score, /get_reward (OpenRLHF), /run_code (SandboxFusion), /health, /metrics.
    Serve(ServeArgs),
    /// Train a model with GRPO on rewards from the engine (`--task arithmetic`: the CPU demo).
    Train(Box<TrainArgs>),
}

/// Engine options shared by `score`, `serve` and `validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Recipe for samples that name none (the default: `math` with an `answer`, `code` with `tests`).
    #[arg(long)]
    pub recipe: Option<String>,
    /// A directory of extra recipe files (`*.toml`).
    #[arg(long)]
    pub recipes: Option<PathBuf>,
    /// Scoring threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl EngineArgs {
    /// Sizes the global thread pool and builds the engine with the built-in and extra recipes.
    pub fn engine(&self) -> Result<Engine> {
        if let Some(n) = self.threads {
            anyhow::ensure!(n > 0, "--threads must be at least 1");
            rayon::ThreadPoolBuilder::new().num_threads(n).build_global()?;
        }
        let book = recipe_book(self.recipes.as_ref())?;
        if let Some(name) = &self.recipe {
            anyhow::ensure!(book.get(name).is_some(), "unknown recipe `{name}` (see `rlvr recipes`)");
        }
        Ok(Engine::with_recipes(EngineConfig { default_recipe: self.recipe.clone(), ..EngineConfig::default() }, book))
    }
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
    /// Recipe, extra recipes, threads.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Samples scored together; memory stays proportional to this.
    #[arg(long, default_value_t = DEFAULT_CHUNK_LINES)]
    pub chunk: usize,
    /// Map a dataset column to a sample field, e.g. `--map answer=reward_model.ground_truth` (repeatable).
    /// Without any, verl's layout is read: answer ← reward_model.ground_truth, id ← extra_info.index.
    #[arg(long = "map", value_name = "FIELD=PATH")]
    pub map: Vec<FieldRule>,
}

/// Arguments of `rlvr validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The dataset: JSONL (`.parquet` with the `parquet` feature), or `-` for standard input.
    pub dataset: PathBuf,
    /// Map a dataset column to a sample field, e.g. `--map answer=reward_model.ground_truth` (repeatable).
    #[arg(long = "map", value_name = "FIELD=PATH")]
    pub map: Vec<FieldRule>,
    /// Runs per reference solution; 2 or more also checks that tests are deterministic.
    #[arg(long, default_value_t = 2)]
    pub runs: usize,
    /// Write the machine-readable report (JSON) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the human report (Markdown, with a chart) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Problems listed one by one; past it they are only counted.
    #[arg(long, default_value_t = ValidateLimits::default().max_listed_problems)]
    pub max_listed_problems: usize,
    /// Records checked together; memory stays proportional to this.
    #[arg(long, default_value_t = 1024)]
    pub chunk: usize,
    /// Recipe, extra recipes, threads.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Do not draw a progress bar.
    #[arg(long, short)]
    pub quiet: bool,
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

/// Arguments of `rlvr serve`. Each limit flag is the [`crate::server::ServerLimits`] field of the same name.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to bind; the default is loopback only, so exposing the server is a decision.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to bind (0 picks a free one; the address is printed on standard error).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Recipe, extra recipes, threads.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Largest request body in bytes; larger gets 413.
    #[arg(long, default_value_t = ServerLimits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Most samples in one request; more gets 413.
    #[arg(long, default_value_t = ServerLimits::default().max_samples_per_request)]
    pub max_samples_per_request: usize,
    /// Samples queued or being scored at once; a request that does not fit gets 429 with Retry-After.
    #[arg(long, default_value_t = ServerLimits::default().max_queued_samples)]
    pub max_queued_samples: usize,
    /// Per-request deadline in seconds; past it 504.
    #[arg(long, default_value_t = ServerLimits::default().request_timeout.as_secs_f64())]
    pub request_timeout: f64,
    /// Largest `run_timeout`/`compile_timeout` (seconds) a /run_code request may ask for.
    #[arg(long, default_value_t = ServerLimits::default().max_code_timeout.as_secs_f64())]
    pub max_code_timeout: f64,
    /// Seconds sent in `Retry-After` with 429 answers.
    #[arg(long, default_value_t = ServerLimits::default().retry_after.as_secs_f64())]
    pub retry_after: f64,
    /// Seconds a graceful shutdown (Ctrl-C, SIGTERM) waits for in-flight requests.
    #[arg(long, default_value_t = ServerLimits::default().shutdown_grace.as_secs_f64())]
    pub shutdown_grace: f64,
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

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Score(a) => score(a),
        Command::Math(a) => math_check(a),
        Command::Recipes(a) => recipes(a),
        Command::Serve(a) => serve(a),
        Command::Validate(a) => validate(a),
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
    install_quiet_panic_hook();
    let engine = a.engine.engine()?;
    let is_parquet = |p: &std::path::Path| p.extension().is_some_and(|e| e == "parquet");
    if is_parquet(&a.input) || a.output.as_deref().is_some_and(is_parquet) {
        return score_parquet(&engine, &a);
    }
    let map = FieldMap::from_rules(a.map.clone());
    // The stream runs on a pool thread, so each chunk's parallel stages start inside the pool
    // instead of being handed across threads (a sleep and a wake-up per stage): with small chunks
    // (`--chunk 1`, a trainer streaming a few samples at a time) that hand-off cost 10-20 %.
    let summary = rayon::scope(|_| -> Result<crate::io::StreamSummary> {
        let (input, from_file): (Box<dyn io::BufRead>, bool) = if a.input.as_os_str() == "-" {
            (Box::new(io::stdin().lock()), false)
        } else {
            let file = File::open(&a.input).with_context(|| format!("cannot open {}", a.input.display()))?;
            let regular = file.metadata().is_ok_and(|m| m.is_file());
            (Box::new(BufReader::new(file)), regular)
        };
        let output: Box<dyn Write> = match &a.output {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(io::stdout().lock())),
        };
        // Each chunk's results are flushed as soon as they are scored when the input is a stream (a
        // training loop waits for them); from a regular file, a write per chunk only costs system calls.
        let mut output = FlushPerChunk { inner: output, enabled: !from_file };
        let summary = score_stream_mapped(&engine, input, &mut output, a.chunk, Some(&map))?;
        output.inner.flush().context("writing output")?;
        Ok(summary)
    })?;
    eprintln!("rlvr: scored {} samples: {} correct, {} errors", summary.samples, summary.correct, summary.errors);
    Ok(ExitCode::SUCCESS)
}

/// An output whose `flush` (called once per scored chunk) goes through only when `enabled`.
struct FlushPerChunk<W: Write> {
    inner: W,
    enabled: bool,
}

impl<W: Write> Write for FlushPerChunk<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.enabled { self.inner.flush() } else { Ok(()) }
    }
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

/// The one line a caught panic is reported with, or `None` for a panic nothing catches (those
/// keep Rust's default report with its backtrace). A panic is caught when it happens while the
/// engine judges a sample (`sample`) or on a guest thread (`rlvr-guest`, whose panics the code
/// verifier turns into an error verdict).
pub fn caught_panic_line(
    sample: Option<crate::batch::ScoringSample>,
    thread: Option<&str>,
    payload: &(dyn std::any::Any + Send),
    location: Option<&std::panic::Location<'_>>,
) -> Option<String> {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    let what = what.lines().next().unwrap_or_default();
    let at = location.map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    match (sample, thread) {
        (Some(s), _) => Some(format!(
            "rlvr: internal panic while judging sample {} of its batch{at}: {what} (caught: that sample's verdict is error)",
            s.index
        )),
        (None, Some("rlvr-guest")) => {
            Some(format!("rlvr: internal panic in a code run{at}: {what} (caught: that sample's verdict is error)"))
        }
        (None, _) => None,
    }
}

/// Reports panics the engine catches with one line on standard error instead of a message and a
/// backtrace per sample; other panics keep the default hook.
fn install_quiet_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        match caught_panic_line(crate::batch::scoring_sample(), thread.name(), info.payload(), info.location()) {
            Some(line) => eprintln!("{line}"),
            None => default(info),
        }
    }));
}

fn seconds(flag: &str, value: f64) -> Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(value).map_err(|e| anyhow::anyhow!("--{flag} {value}: {e}"))
}

fn serve(a: ServeArgs) -> Result<ExitCode> {
    install_quiet_panic_hook();
    let engine = a.engine.engine()?;
    let limits = ServerLimits {
        max_body_bytes: a.max_body_bytes,
        max_samples_per_request: a.max_samples_per_request,
        max_queued_samples: a.max_queued_samples,
        request_timeout: seconds("request-timeout", a.request_timeout)?,
        max_code_timeout: seconds("max-code-timeout", a.max_code_timeout)?,
        retry_after: seconds("retry-after", a.retry_after)?,
        shutdown_grace: seconds("shutdown-grace", a.shutdown_grace)?,
        ..ServerLimits::default()
    };
    crate::code::admission::configure_global(None)?;
    let config = ServerConfig { host: a.host, port: a.port, limits: limits.clone() };
    let runner = WasmRunner { limits: engine.config().code.limits, ..WasmRunner::default() };
    let state = ServerState::new(std::sync::Arc::new(engine), std::sync::Arc::new(runner), limits);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let listener = crate::server::bind(&config).await?;
        let addr = listener.local_addr()?;
        eprintln!("rlvr: listening on http://{addr} (Ctrl-C to stop)");
        crate::server::serve(listener, state, crate::server::shutdown_signal()).await?;
        eprintln!("rlvr: stopped");
        anyhow::Ok(())
    });
    // In-flight work already had its grace period; do not wait on abandoned scoring.
    runtime.shutdown_background();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Counts the lines of a file, to size the progress bar; `None` for standard input or on error.
fn count_lines(path: &std::path::Path) -> Option<u64> {
    use std::io::Read;
    let mut file = File::open(path).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            return Some(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

fn validate(a: ValidateArgs) -> Result<ExitCode> {
    install_quiet_panic_hook();
    let engine = a.engine.engine()?;
    let config = ValidateConfig {
        runs: a.runs,
        chunk: a.chunk,
        map: FieldMap::from_rules(a.map.clone()),
        limits: ValidateLimits { max_listed_problems: a.max_listed_problems, ..ValidateLimits::default() },
    };
    let stdin = a.dataset.as_os_str() == "-";
    let bar = if a.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let total = if stdin { None } else { count_lines(&a.dataset) };
        let bar = indicatif::ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} records, {msg} ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    };
    let mut progress = |p: crate::validate::Progress| {
        bar.set_position(p.records as u64);
        bar.set_message(format!("{} problems", p.problems));
    };
    let name = a.dataset.display().to_string();
    let report = if stdin {
        crate::validate::validate_jsonl(&engine, &name, io::stdin().lock(), &config, &mut progress)?
    } else if a.dataset.extension().is_some_and(|e| e == "parquet") {
        validate_parquet(&engine, &a.dataset, &config, &mut progress)?
    } else {
        let file = File::open(&a.dataset).with_context(|| format!("cannot open {}", a.dataset.display()))?;
        crate::validate::validate_jsonl(&engine, &name, BufReader::new(file), &config, &mut progress)?
    };
    bar.finish_and_clear();
    if let Some(path) = &a.json {
        std::fs::write(path, report.to_json()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &a.report {
        std::fs::write(path, report.to_markdown(50)).with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{}", report.summary_table());
    io::stdout().flush()?;
    Ok(if report.has_problems() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[cfg(feature = "parquet")]
fn validate_parquet(
    engine: &Engine,
    path: &std::path::Path,
    config: &ValidateConfig,
    progress: &mut dyn FnMut(crate::validate::Progress),
) -> Result<crate::validate::Report> {
    let rows = crate::io::parquet::read_rows(path)?;
    let records = rows.map(|row| row.map_err(|e| io::Error::other(e.to_string())));
    Ok(crate::validate::validate_records(engine, &path.display().to_string(), records, config, progress)?)
}

#[cfg(not(feature = "parquet"))]
fn validate_parquet(
    _engine: &Engine,
    path: &std::path::Path,
    _config: &ValidateConfig,
    _progress: &mut dyn FnMut(crate::validate::Progress),
) -> Result<crate::validate::Report> {
    anyhow::bail!("{} is Parquet, and this rlvr was built without the `parquet` feature", path.display())
}

/// `rlvr score` with Parquet on either side: rows in (verl's layout by default), outcomes out.
#[cfg(feature = "parquet")]
fn score_parquet(engine: &Engine, a: &ScoreArgs) -> Result<ExitCode> {
    use crate::io::parquet::{OutcomeWriter, read_rows};
    use crate::io::{JsonlRecords, Record, StreamError, score_records};
    let records: Box<dyn Iterator<Item = Result<Record, io::Error>>> =
        if a.input.extension().is_some_and(|e| e == "parquet") {
            Box::new(read_rows(&a.input)?.map(|r| r.map_err(|e| io::Error::other(e.to_string()))))
        } else if a.input.as_os_str() == "-" {
            Box::new(JsonlRecords::new(io::stdin().lock()))
        } else {
            let file = File::open(&a.input).with_context(|| format!("cannot open {}", a.input.display()))?;
            Box::new(JsonlRecords::new(BufReader::new(file)))
        };
    let map = FieldMap::from_rules(a.map.clone());
    let run = || -> Result<crate::io::StreamSummary> {
        match a.output.as_deref().filter(|p| p.extension().is_some_and(|e| e == "parquet")) {
            Some(path) => {
                let mut writer = OutcomeWriter::create(path)?;
                let summary = score_records(engine, records, a.chunk, Some(&map), &mut |outcomes| {
                    outcomes.into_iter().for_each(|o| writer.push(o));
                    writer.flush().map_err(|e| StreamError::Write(io::Error::other(e.to_string())))
                })?;
                writer.finish()?;
                Ok(summary)
            }
            None => {
                let mut output: Box<dyn Write> = match &a.output {
                    Some(path) => Box::new(BufWriter::new(
                        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
                    )),
                    None => Box::new(BufWriter::new(io::stdout().lock())),
                };
                let mut ignored = crate::io::StreamSummary::default();
                let summary = score_records(engine, records, a.chunk, Some(&map), &mut |outcomes| {
                    for o in &outcomes {
                        crate::io::write_outcome(&mut output, o, &mut ignored)?;
                    }
                    output.flush().map_err(StreamError::Write)
                })?;
                Ok(summary)
            }
        }
    };
    let summary = run()?;
    eprintln!("rlvr: scored {} samples: {} correct, {} errors", summary.samples, summary.correct, summary.errors);
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "parquet"))]
fn score_parquet(_engine: &Engine, _a: &ScoreArgs) -> Result<ExitCode> {
    anyhow::bail!("Parquet input or output needs rlvr built with the `parquet` feature")
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
        a.max_grad_norm => g.optimizer.max_grad_norm, a.max_num_gen_batches => g.max_num_gen_batches,
        a.dynamic_sampling => g.dynamic_sampling,
    );
    set!(a.save_steps => o.save_steps);
    g.mask_truncated_completions |= a.mask_truncated_completions;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::ScoringSample;

    #[test]
    fn caught_panics_are_one_line_naming_the_sample() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("index out of bounds\nsecond line");
        let line = caught_panic_line(Some(ScoringSample { index: 12 }), Some("rayon-1"), payload.as_ref(), None);
        let line = line.expect("a panic while judging is caught");
        assert!(line.contains("sample 12") && line.contains("index out of bounds"), "{line}");
        assert!(!line.contains('\n'), "one line: {line:?}");
        let guest = caught_panic_line(None, Some("rlvr-guest"), payload.as_ref(), None);
        assert!(guest.is_some_and(|l| l.contains("code run")));
        assert_eq!(caught_panic_line(None, Some("main"), payload.as_ref(), None), None, "uncaught: default hook");
    }

    #[test]
    fn engine_options_are_shared_by_score_serve_and_validate() {
        for command in ["score", "serve", "validate"] {
            let mut argv = vec!["rlvr", command, "--recipe", "code", "--recipes", "extra", "--threads", "3"];
            if command == "validate" {
                argv.push("data.jsonl");
            }
            let args = Args::try_parse_from(&argv).unwrap_or_else(|e| panic!("{command}: {e}"));
            let engine = match args.command {
                Command::Score(a) => a.engine,
                Command::Serve(a) => a.engine,
                Command::Validate(a) => a.engine,
                other => panic!("parsed as {other:?}"),
            };
            assert_eq!(engine.recipe.as_deref(), Some("code"));
            assert_eq!(engine.recipes, Some(PathBuf::from("extra")));
            assert_eq!(engine.threads, Some(3));
        }
    }
}
