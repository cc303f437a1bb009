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

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Score(a) => score(a),
        Command::Math(a) => math_check(a),
        Command::Recipes(a) => recipes(a),
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
