//! `rlvr validate`: check a dataset before training.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{EngineArgs, install_quiet_panic_hook};
use crate::batch::Engine;
use crate::io::{FieldMap, FieldRule};
use crate::validate::{ValidateConfig, ValidateLimits};

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

pub(super) fn run(a: ValidateArgs) -> Result<ExitCode> {
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
