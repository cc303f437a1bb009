//! A user's dataset of prompts with gold answers, in the layouts `rlvr score` reads: JSONL (or
//! Parquet with the `parquet` feature), `prompt` as a string or a list of chat messages
//! (`[{"role": "user", "content": …}]`, verl's layout), the gold in `answer` or
//! `reward_model.ground_truth`, and `--map FIELD=PATH` rules (e.g. `prompt=question` for GSM8K).
//!
//! A malformed row (not JSON, no prompt, no gold, a message without `role`/`content`, a prompt
//! longer than `max_prompt_length` tokens after the chat template) is skipped and recorded with
//! its line number and the reason; it never stops the run.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::io::{FieldMap, JsonlRecords, Record};
use crate::train::TrainError;
use crate::train::chat::{ChatTemplate, Message};
use crate::train::grpo::Prompt;
use crate::train::tokenizer::TextTokenizer;

/// A dataset row that was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// Line (JSONL, from 1) or row (Parquet, from 1) number.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// What reading a dataset gave.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The prompts, in file order.
    pub prompts: Vec<Prompt>,
    /// The rows skipped, in file order.
    pub skipped: Vec<SkippedRow>,
}

/// How rows become prompts.
#[derive(Debug)]
pub struct PromptFormat<'a> {
    /// The model's chat template.
    pub chat: &'a ChatTemplate,
    /// The tokenizer (prompt length is counted in its tokens).
    pub tokenizer: &'a TextTokenizer,
    /// A system message put first when the row's messages have none.
    pub system_prompt: Option<&'a str>,
    /// Longest prompt in tokens after the template; longer rows are skipped (verl's
    /// `filter_overlong_prompts`; TRL truncates instead, which cuts the question).
    pub max_prompt_length: usize,
}

/// The messages of a row's `prompt`: a string becomes one user message.
pub fn messages(prompt: &Value) -> Result<Vec<Message>, String> {
    match prompt {
        Value::String(s) => Ok(vec![Message::new("user", s)]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let role = m.get("role").and_then(Value::as_str);
                let content = m.get("content").and_then(Value::as_str);
                match (role, content) {
                    (Some(r), Some(c)) => Ok(Message::new(r, c)),
                    _ => Err(format!("prompt message {i} lacks a string `role` or `content`")),
                }
            })
            .collect(),
        Value::Array(_) => Err("`prompt` is an empty list of messages".into()),
        _ => Err("`prompt` is neither a string nor a list of chat messages".into()),
    }
}

/// The gold answer of a row (after mapping): `answer` as a string or a number.
fn gold(row: &Value) -> Result<String, String> {
    match row.get("answer") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ Value::Number(_)) => Ok(crate::json::to_text(v)),
        Some(_) => Err("`answer` is neither a string nor a number".into()),
        None => {
            Err("no gold answer: neither `answer` nor `reward_model.ground_truth` (map one with --map answer=PATH)"
                .into())
        }
    }
}

fn to_prompt(row: &Value, format: &PromptFormat<'_>) -> Result<Prompt, String> {
    if !row.is_object() {
        return Err("the row is not a JSON object".into());
    }
    let prompt = row.get("prompt").ok_or("no `prompt` field (map one with --map prompt=PATH, e.g. prompt=question)")?;
    let mut msgs = messages(prompt)?;
    if let Some(system) = format.system_prompt
        && msgs.first().is_none_or(|m| m.role != "system")
    {
        msgs.insert(0, Message::new("system", system));
    }
    let answer = gold(row)?;
    let text = format.chat.render(&msgs, true).map_err(|e| e.to_string())?;
    let ids = format.tokenizer.encode(&text).map_err(|e| e.to_string())?;
    if ids.len() > format.max_prompt_length {
        return Err(format!(
            "prompt has {} tokens, more than max_prompt_length {}",
            ids.len(),
            format.max_prompt_length
        ));
    }
    Ok(Prompt { text, ids, answer })
}

/// Reads prompts from records (`(line, JSON or why not)`), applying `map` to each.
pub fn from_records(
    records: impl Iterator<Item = Result<Record, std::io::Error>>,
    map: &FieldMap,
    format: &PromptFormat<'_>,
    path: &Path,
) -> Result<Dataset, TrainError> {
    let mut data = Dataset::default();
    for record in records {
        let (line, value) = record.map_err(|e| TrainError::io(path, e))?;
        let result = value.and_then(|mut v| {
            map.apply(&mut v);
            to_prompt(&v, format)
        });
        match result {
            Ok(p) => data.prompts.push(p),
            Err(reason) => data.skipped.push(SkippedRow { line, reason }),
        }
    }
    Ok(data)
}

/// Reads a JSONL or (with the `parquet` feature) Parquet dataset.
pub fn read(path: &Path, map: &FieldMap, format: &PromptFormat<'_>) -> Result<Dataset, TrainError> {
    if path.extension().is_some_and(|e| e == "parquet") {
        return read_parquet(path, map, format);
    }
    let file = std::fs::File::open(path).map_err(|e| TrainError::io(path, e))?;
    from_records(JsonlRecords::new(std::io::BufReader::new(file)), map, format, path)
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path, map: &FieldMap, format: &PromptFormat<'_>) -> Result<Dataset, TrainError> {
    let rows = crate::io::parquet::read_rows(path)
        .map_err(|e| TrainError::Data { path: path.to_owned(), message: e.to_string() })?;
    from_records(rows.map(|r| r.map_err(|e| std::io::Error::other(e.to_string()))), map, format, path)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path, _map: &FieldMap, _format: &PromptFormat<'_>) -> Result<Dataset, TrainError> {
    Err(TrainError::Data {
        path: path.to_owned(),
        message: "Parquet needs rlvr built with the `parquet` feature; convert to JSONL or rebuild".into(),
    })
}
