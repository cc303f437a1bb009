//! The `rlvr` command line. `main` parses [`Args`] and calls [`run`]; exit codes are
//! 0 (success), 1 (problems found, e.g. a wrong answer for `rlvr math`) and 2 (error).
//!
//! One file per subcommand: its arguments and what it runs ([`score`], [`math`], [`recipes`],
//! [`validate`], [`serve`], [`train`]); this file holds what they share.

mod dataset;
mod math;
mod recipes;
mod score;
mod serve;
mod train;
mod validate;

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::batch::{Engine, EngineConfig};
use crate::reward::RecipeBook;

pub use math::MathArgs;
pub use recipes::RecipesArgs;
pub use score::ScoreArgs;
pub use serve::ServeArgs;
pub use train::{TrainArgs, TrainTask};
pub use validate::ValidateArgs;

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
    /// Make a dataset for `rlvr train` (graded arithmetic with a held-out split).
    Dataset(dataset::DatasetArgs),
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

/// Runs a parsed command line.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Score(a) => score::run(a),
        Command::Math(a) => math::run(a),
        Command::Recipes(a) => recipes::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Train(a) => train::run(*a),
        Command::Dataset(a) => dataset::run(a),
    }
}

/// Whether an error is a closed output pipe (`rlvr score | head`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

pub(crate) fn recipe_book(dir: Option<&PathBuf>) -> Result<RecipeBook> {
    let mut book = RecipeBook::builtin()?;
    if let Some(dir) = dir {
        book.load_dir(dir)?;
    }
    Ok(book)
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
pub(crate) fn install_quiet_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        match caught_panic_line(crate::batch::scoring_sample(), thread.name(), info.payload(), info.location()) {
            Some(line) => eprintln!("{line}"),
            None => default(info),
        }
    }));
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
    fn serve_limit_flags_reach_the_server_limits() {
        let serve = |extra: &[&str]| {
            let argv: Vec<&str> = ["rlvr", "serve"].iter().chain(extra).copied().collect();
            match Args::try_parse_from(&argv).unwrap().command {
                Command::Serve(a) => serve::limits(&a),
                other => panic!("parsed as {other:?}"),
            }
        };
        assert_eq!(serve(&[]).unwrap(), crate::server::ServerLimits::default());
        let set = serve(&["--max-sandbox-wait", "0.25", "--request-timeout", "7", "--max-code-timeout", "3"]).unwrap();
        assert_eq!(set.max_sandbox_wait, std::time::Duration::from_millis(250));
        assert_eq!(set.request_timeout, std::time::Duration::from_secs(7));
        assert_eq!(set.max_code_timeout, std::time::Duration::from_secs(3));
        let err = serve(&["--max-sandbox-wait=-1"]).unwrap_err().to_string();
        assert!(err.contains("--max-sandbox-wait -1"), "{err}");
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
