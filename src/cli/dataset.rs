//! `rlvr dataset`: datasets rlvr makes itself (today: graded arithmetic for `rlvr train`).

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::train::task::graded;

/// Arguments of `rlvr dataset`.
#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// Which dataset.
    #[command(subcommand)]
    pub kind: DatasetKind,
}

/// The datasets.
#[derive(Debug, clap::Subcommand)]
pub enum DatasetKind {
    /// `What is A × B?` at a level of difficulty (1: one-digit sums … 4: 2–9 × 10–99 … 6: three-digit
    /// products), written as OUT/train.jsonl and OUT/test.jsonl (disjoint; GSM8K's `question`/`answer`).
    Arithmetic {
        /// Difficulty level, 1–6.
        #[arg(long)]
        level: usize,
        /// Training rows.
        #[arg(long, default_value_t = 5000)]
        train: usize,
        /// Held-out rows.
        #[arg(long, default_value_t = 500)]
        test: usize,
        /// Seed of the draw.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

pub(super) fn run(a: DatasetArgs) -> Result<ExitCode> {
    match a.kind {
        DatasetKind::Arithmetic { level, train, test, seed, out } => {
            let (train_rows, test_rows) = graded::generate(level, train, test, seed)?;
            fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            crate::train::write_jsonl(&out.join("train.jsonl"), &train_rows)?;
            crate::train::write_jsonl(&out.join("test.jsonl"), &test_rows)?;
            eprintln!(
                "level {level}: {} train and {} held-out rows in {}",
                train_rows.len(),
                test_rows.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
