//! Streaming JSONL: read samples in chunks, score each chunk in parallel, write results in order.
//!
//! Memory stays flat however long the input is: at most one chunk of lines and its outcomes is
//! held at a time. A line that is not UTF-8 or not a sample becomes an error outcome in its place.

pub mod map;
#[cfg(feature = "parquet")]
pub mod parquet;

use std::io::{BufRead, Write};

use serde_json::Value;

pub use map::{FieldMap, FieldRule};

use crate::batch::{Engine, parse_line};
use crate::sample::{Outcome, Sample};

/// Lines scored together; large enough to keep every core busy, small enough to stay flat.
pub const DEFAULT_CHUNK_LINES: usize = 4096;

/// Errors that stop a whole stream (a single bad line never does).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The input could not be read.
    #[error("reading input: {0}")]
    Read(#[source] std::io::Error),
    /// The output could not be written.
    #[error("writing output: {0}")]
    Write(#[source] std::io::Error),
}

/// Counts from one streamed run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Outcomes written.
    pub samples: usize,
    /// Outcomes whose verdict is `error`.
    pub errors: usize,
    /// Outcomes that passed the accuracy check.
    pub correct: usize,
}

/// Scores every non-blank JSONL line of `input` and writes one outcome line per sample to `output`.
pub fn score_stream(
    engine: &Engine,
    input: impl BufRead,
    output: impl Write,
    chunk_lines: usize,
) -> Result<StreamSummary, StreamError> {
    score_stream_mapped(engine, input, output, chunk_lines, None)
}

/// Parses one JSONL line, applies `map` (if any) and reads the result as a sample.
pub fn parse_mapped_line(line: &str, map: Option<&FieldMap>) -> Result<Sample, Outcome> {
    let Some(map) = map else { return parse_line(line) };
    let mut value: Value = serde_json::from_str(line)
        .map_err(|e| Outcome::error(Value::Null, crate::sample::SampleError::InvalidJson(e.to_string()).to_string()))?;
    map.apply(&mut value);
    Sample::from_json(value).map_err(|(id, err)| Outcome::error(id, err.to_string()))
}

/// [`score_stream`], with dataset columns mapped to sample fields first (`rlvr score --map`).
pub fn score_stream_mapped(
    engine: &Engine,
    input: impl BufRead,
    mut output: impl Write,
    chunk_lines: usize,
    map: Option<&FieldMap>,
) -> Result<StreamSummary, StreamError> {
    let mut summary = StreamSummary::default();
    let mut input = input;
    let mut chunk: Vec<Result<Sample, Outcome>> = Vec::with_capacity(chunk_lines.max(1));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = input.read_until(b'\n', &mut buf).map_err(StreamError::Read)?;
        if read > 0 {
            match std::str::from_utf8(&buf) {
                Ok(line) if line.trim().is_empty() => {}
                Ok(line) => chunk.push(parse_mapped_line(line, map)),
                Err(err) => chunk.push(Err(Outcome::error(
                    Value::Null,
                    format!("invalid UTF-8 at byte {} of the line", err.valid_up_to()),
                ))),
            }
        }
        if chunk.len() >= chunk_lines.max(1) || (read == 0 && !chunk.is_empty()) {
            for outcome in engine.score_parsed(std::mem::take(&mut chunk)) {
                write_outcome(&mut output, &outcome, &mut summary)?;
            }
            output.flush().map_err(StreamError::Write)?;
        }
        if read == 0 {
            return Ok(summary);
        }
    }
}

/// Writes one outcome as a JSONL line and counts it.
pub fn write_outcome(
    output: &mut impl Write,
    outcome: &Outcome,
    summary: &mut StreamSummary,
) -> Result<(), StreamError> {
    let line = serde_json::to_string(outcome).map_err(|e| StreamError::Write(e.into()))?;
    output.write_all(line.as_bytes()).and_then(|()| output.write_all(b"\n")).map_err(StreamError::Write)?;
    summary.samples += 1;
    summary.errors += usize::from(outcome.verdict == crate::sample::Verdict::Error);
    summary.correct += usize::from(outcome.correct);
    Ok(())
}

/// The records of a JSONL input as `(line number from 1, JSON value or why the line is not JSON)`,
/// skipping blank lines; the shape every record source (JSONL, Parquet) yields.
pub struct JsonlRecords<R> {
    input: R,
    line: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonlRecords<R> {
    /// Reads records from `input`.
    pub fn new(input: R) -> Self {
        JsonlRecords { input, line: 0, buf: Vec::new() }
    }
}

/// One record: its line (or row) number and its JSON value, or why it is not JSON.
pub type Record = (usize, Result<Value, String>);

impl<R: BufRead> Iterator for JsonlRecords<R> {
    type Item = Result<Record, std::io::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Err(e) => return Some(Err(e)),
                Ok(0) => return None,
                Ok(_) => {}
            }
            self.line += 1;
            let value = match std::str::from_utf8(&self.buf) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}")),
                Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
            };
            return Some(Ok((self.line, value)));
        }
    }
}

/// Scores decoded records chunk by chunk and hands each chunk's outcomes, in input order, to `sink`.
/// A record that is not JSON or not a sample becomes an error outcome in its place; an `Err` from
/// the record source stops the run.
pub fn score_records<I>(
    engine: &Engine,
    records: I,
    chunk: usize,
    map: Option<&FieldMap>,
    sink: &mut dyn FnMut(Vec<Outcome>) -> Result<(), StreamError>,
) -> Result<StreamSummary, StreamError>
where
    I: IntoIterator<Item = Result<Record, std::io::Error>>,
{
    let mut summary = StreamSummary::default();
    let mut pending: Vec<Result<Sample, Outcome>> = Vec::with_capacity(chunk.max(1));
    let mut records = records.into_iter();
    loop {
        let next = records.next().transpose().map_err(StreamError::Read)?;
        let done = next.is_none();
        if let Some((_, value)) = next {
            pending.push(match value {
                Err(why) => Err(Outcome::error(Value::Null, why)),
                Ok(mut value) => {
                    if let Some(map) = map {
                        map.apply(&mut value);
                    }
                    Sample::from_json(value).map_err(|(id, err)| Outcome::error(id, err.to_string()))
                }
            });
        }
        if pending.len() >= chunk.max(1) || (done && !pending.is_empty()) {
            let outcomes = engine.score_parsed(std::mem::take(&mut pending));
            for o in &outcomes {
                summary.samples += 1;
                summary.errors += usize::from(o.verdict == crate::sample::Verdict::Error);
                summary.correct += usize::from(o.correct);
            }
            sink(outcomes)?;
        }
        if done {
            return Ok(summary);
        }
    }
}
