//! `rlvr score`: JSONL (or Parquet) samples in, one JSONL result per sample out, in input order.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{EngineArgs, install_quiet_panic_hook};
use crate::batch::Engine;
use crate::io::{DEFAULT_CHUNK_LINES, FieldMap, FieldRule, score_stream_mapped};

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

pub(super) fn run(a: ScoreArgs) -> Result<ExitCode> {
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
