//! Streaming JSONL: read samples in chunks, score each chunk in parallel, write results in order.
//!
//! Memory stays flat however long the input is: at most one chunk of lines and its outcomes is
//! held at a time. A line that is not UTF-8 or not a sample becomes an error outcome in its place.
//! Chunk boundaries never split a GRPO group (see [`score_records`]), so group-level reward terms
//! see the same groups as when the whole file is one batch.

pub mod map;
#[cfg(feature = "parquet")]
pub mod parquet;

use std::io::{BufRead, Write};

use serde_json::Value;

pub use map::{FieldMap, FieldRule};

use crate::batch::{Engine, parse_line};
use crate::reward::apply::group_key;
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
    let mut value: Value = crate::json::parse(line)
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
    let mut written = StreamSummary::default();
    // A chunk's lines are serialised into one reused buffer and written at once: serde_json's many
    // small writes then go to a `Vec`, not through `output`'s (often dynamic) writer.
    let mut buf = Vec::new();
    score_records(engine, JsonlRecords::new(input), chunk_lines, map, &mut |outcomes| {
        buf.clear();
        for outcome in &outcomes {
            write_outcome(&mut buf, outcome, &mut written)?;
        }
        output.write_all(&buf).map_err(StreamError::Write)?;
        output.flush().map_err(StreamError::Write)
    })
}
/// Writes one outcome as a JSONL line and counts it.
pub fn write_outcome(
    output: &mut impl Write,
    outcome: &Outcome,
    summary: &mut StreamSummary,
) -> Result<(), StreamError> {
    serde_json::to_writer(&mut *output, outcome).map_err(|e| StreamError::Write(e.into()))?;
    output.write_all(b"\n").map_err(StreamError::Write)?;
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
                Ok(text) => crate::json::parse(text).map_err(|e| format!("invalid JSON: {e}")),
                Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
            };
            return Some(Ok((self.line, value)));
        }
    }
}

/// Scores decoded records chunk by chunk and hands each chunk's outcomes, in input order, to `sink`.
/// A record that is not JSON or not a sample becomes an error outcome in its place; an `Err` from
/// the record source stops the run.
///
/// A GRPO group (consecutive samples with the same `group`, else `prompt`, see [`crate::reward`])
/// is never split by a chunk boundary: when a chunk fills, its trailing group is carried over into
/// the next chunk. Only a group larger than a whole chunk is split (memory stays bounded by
/// `chunk`); give such inputs a larger `chunk`.
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
    let chunk = chunk.max(1);
    let mut summary = StreamSummary::default();
    let mut pending: Vec<Result<Sample, Outcome>> = Vec::with_capacity(chunk);
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
        if pending.len() >= chunk || (done && !pending.is_empty()) {
            let carried = if done { Vec::new() } else { split_trailing_group(&mut pending) };
            let outcomes = engine.score_parsed(std::mem::replace(&mut pending, carried));
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

/// Removes and returns the trailing run of samples that share the last sample's group, unless
/// that run is the whole chunk (then nothing is carried, so a chunk never grows past its size).
pub fn split_trailing_group(chunk: &mut Vec<Result<Sample, Outcome>>) -> Vec<Result<Sample, Outcome>> {
    let key_of = |item: &Result<Sample, Outcome>| item.as_ref().ok().and_then(group_key);
    let Some(last) = chunk.last().and_then(key_of) else { return Vec::new() };
    let run = chunk.iter().rev().take_while(|item| key_of(item).as_ref() == Some(&last)).count();
    if run == chunk.len() {
        return Vec::new();
    }
    chunk.split_off(chunk.len() - run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::EngineConfig;

    fn line(id: usize, group: &str, completion: &str) -> String {
        serde_json::json!({"id": id, "group": group, "recipe": "r1-math-shaped", "answer": "4", "completion": completion})
            .to_string()
    }

    fn stream(engine: &Engine, input: &str, chunk: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let summary = score_stream(engine, input.as_bytes(), &mut out, chunk).unwrap();
        let outcomes: Vec<Value> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(summary.samples, outcomes.len());
        outcomes
    }

    #[test]
    fn a_group_straddling_a_chunk_boundary_is_scored_whole() {
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let short = "<think>\nTwo plus two is four.\n</think>\n<answer>\n\\boxed{4}\n</answer>";
        let long = "<think>\nfive five five five five five\n</think>\n<answer>\n\\boxed{5}\n</answer>";
        // Chunk size 2 puts the boundary between the two members of q1.
        let input = [line(0, "q0", short), line(1, "q1", short), line(2, "q1", long), line(3, "q2", short)].join("\n");
        let whole = stream(&engine, &input, 100);
        let chunked = stream(&engine, &input, 2);
        assert_eq!(chunked, whole);
        // The group statistic really is the two-member one (Kimi length: 0.5 for the shorter, correct member).
        assert_eq!(whole[1]["components"]["length"]["score"], serde_json::json!(0.5), "{}", whole[1]);
        assert_eq!(whole[2]["components"]["length"]["score"], serde_json::json!(-0.5), "{}", whole[2]);
        assert_eq!(Value::Array(chunked.iter().map(|o| o["id"].clone()).collect()), serde_json::json!([0, 1, 2, 3]));
    }

    #[test]
    fn carrying_never_grows_a_chunk_past_its_size() {
        let sample = |group: &str| Sample::from_line(&line(0, group, "4")).map_err(|_| Outcome::error(Value::Null, ""));
        let mut all_one_group = vec![sample("a"), sample("a"), sample("a")];
        assert!(split_trailing_group(&mut all_one_group).is_empty());
        assert_eq!(all_one_group.len(), 3);
        let mut mixed = vec![sample("a"), sample("b"), sample("b")];
        assert_eq!(split_trailing_group(&mut mixed).len(), 2);
        assert_eq!(mixed.len(), 1);
        let mut bad_last = vec![sample("a"), Err(Outcome::error(Value::Null, "bad line"))];
        assert!(split_trailing_group(&mut bad_last).is_empty());
    }
}
