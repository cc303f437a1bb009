//! Parquet in and out (feature `parquet`): dataset rows in as JSON records, outcomes out as a table.
//!
//! Rows are converted to the same JSON objects a JSONL line would give (structs → objects, lists →
//! arrays), so [`super::FieldMap`] and the sample contract apply unchanged: verl's layout
//! (`data_source`, `prompt` as a list of `{role, content}`, `reward_model.ground_truth`,
//! `extra_info`) reads with the default mapping. Reading goes record batch by record batch, so memory
//! stays proportional to [`READ_BATCH_ROWS`], not to the file.
//!
//! Outcomes are written with one column per [`Outcome`] field: `id` (the id's text: a string id as is,
//! anything else as JSON), `reward` (f64), `correct` (bool), `verdict`, `extracted`, `error` (nullable
//! strings) and `components` (JSON text, since recipes differ in their components).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde_json::{Map, Number, Value};

use crate::sample::Outcome;

/// Rows decoded at a time when reading.
pub const READ_BATCH_ROWS: usize = 1024;

/// Why a Parquet file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ParquetIoError {
    /// The file could not be opened or created.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet data is malformed or could not be encoded.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow could not build or decode a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A column has a type with no JSON reading.
    #[error("column `{column}` has type {data_type}, which rlvr cannot read as JSON")]
    UnsupportedType {
        /// The column (dotted for nested fields).
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
}

/// The rows of a Parquet file as `(row number from 1, JSON object)`, batch by batch.
pub struct Rows {
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    next_in_batch: usize,
    row: usize,
}

/// Opens a Parquet file for reading rows.
pub fn read_rows(path: &Path) -> Result<Rows, ParquetIoError> {
    let file = File::open(path).map_err(|source| ParquetIoError::File { path: path.display().to_string(), source })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.with_batch_size(READ_BATCH_ROWS).build()?;
    Ok(Rows { reader, batch: None, next_in_batch: 0, row: 0 })
}

impl Iterator for Rows {
    /// A row, or why the file stopped being readable; a row whose columns cannot be read is an
    /// `Ok((row, Err(why)))`, a finding for that row alone.
    type Item = Result<(usize, Result<Value, String>), ParquetIoError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = &self.batch
                && self.next_in_batch < batch.num_rows()
            {
                let i = self.next_in_batch;
                self.next_in_batch += 1;
                self.row += 1;
                return Some(Ok((self.row, row_to_json(batch, i).map_err(|e| e.to_string()))));
            }
            match self.reader.next()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.next_in_batch = 0;
                }
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

/// Row `i` of a batch as a JSON object, one key per column.
pub fn row_to_json(batch: &RecordBatch, i: usize) -> Result<Value, ParquetIoError> {
    let mut object = Map::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        object.insert(field.name().clone(), value_at(column.as_ref(), i, field.name())?);
    }
    Ok(Value::Object(object))
}

fn number(n: Option<Number>) -> Value {
    n.map_or(Value::Null, Value::Number)
}

/// The JSON value of element `i` of an Arrow array.
fn value_at(array: &dyn Array, i: usize, column: &str) -> Result<Value, ParquetIoError> {
    if array.is_null(i) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(i).to_string()),
        DataType::Binary => Value::String(String::from_utf8_lossy(array.as_binary::<i32>().value(i)).into_owned()),
        DataType::LargeBinary => Value::String(String::from_utf8_lossy(array.as_binary::<i64>().value(i)).into_owned()),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => number(Number::from_f64(f64::from(array.as_primitive::<Float32Type>().value(i)))),
        DataType::Float64 => number(Number::from_f64(array.as_primitive::<Float64Type>().value(i))),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut object = Map::new();
            for (field, child) in fields.iter().zip(s.columns()) {
                let path = format!("{column}.{}", field.name());
                object.insert(field.name().clone(), value_at(child.as_ref(), i, &path)?);
            }
            Value::Object(object)
        }
        DataType::List(_) => list(array.as_list::<i32>().value(i).as_ref(), column)?,
        DataType::LargeList(_) => list(array.as_list::<i64>().value(i).as_ref(), column)?,
        DataType::Map(..) => {
            let entries = array.as_map().value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut object = Map::new();
            for j in 0..entries.len() {
                let key = match value_at(keys.as_ref(), j, column)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                object.insert(key, value_at(values.as_ref(), j, column)?);
            }
            Value::Object(object)
        }
        other => {
            return Err(ParquetIoError::UnsupportedType { column: column.to_string(), data_type: other.to_string() });
        }
    })
}

fn list(items: &dyn Array, column: &str) -> Result<Value, ParquetIoError> {
    (0..items.len()).map(|j| value_at(items, j, column)).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

/// Writes outcomes to a Parquet file, a row group per `flush`.
pub struct OutcomeWriter {
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
    pending: Vec<Outcome>,
}

/// The schema of an outcome table.
pub fn outcome_schema() -> Schema {
    Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("reward", DataType::Float64, false),
        Field::new("correct", DataType::Boolean, false),
        Field::new("verdict", DataType::Utf8, false),
        Field::new("extracted", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, true),
        Field::new("components", DataType::Utf8, false),
    ])
}

impl OutcomeWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<OutcomeWriter, ParquetIoError> {
        let file =
            File::create(path).map_err(|source| ParquetIoError::File { path: path.display().to_string(), source })?;
        let schema = Arc::new(outcome_schema());
        let writer = ArrowWriter::try_new(file, schema.clone(), None)?;
        Ok(OutcomeWriter { writer, schema, pending: Vec::new() })
    }

    /// Buffers one outcome.
    pub fn push(&mut self, outcome: Outcome) {
        self.pending.push(outcome);
    }

    /// Writes the buffered outcomes as one batch.
    pub fn flush(&mut self) -> Result<(), ParquetIoError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let outcomes = std::mem::take(&mut self.pending);
        let id: StringArray = outcomes
            .iter()
            .map(|o| match &o.id {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
            .collect();
        let reward: Float64Array = outcomes.iter().map(|o| Some(o.reward)).collect();
        let correct: BooleanArray = outcomes.iter().map(|o| Some(o.correct)).collect();
        let verdict: StringArray = outcomes.iter().map(|o| Some(o.verdict.as_str())).collect();
        let extracted: StringArray = outcomes.iter().map(|o| o.extracted.as_deref()).collect();
        let error: StringArray = outcomes.iter().map(|o| o.error.as_deref()).collect();
        let components: StringArray =
            outcomes.iter().map(|o| Some(serde_json::to_string(&o.components).unwrap_or_default())).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(id),
            Arc::new(reward),
            Arc::new(correct),
            Arc::new(verdict),
            Arc::new(extracted),
            Arc::new(error),
            Arc::new(components),
        ];
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        self.writer.write(&batch)?;
        Ok(())
    }

    /// Flushes and writes the file footer.
    pub fn finish(mut self) -> Result<(), ParquetIoError> {
        self.flush()?;
        self.writer.close()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
    use arrow_array::{Int64Array, StructArray};
    use serde_json::json;

    use super::*;
    use crate::sample::Verdict;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rlvr-parquet-test-{}-{name}", std::process::id()))
    }

    /// A two-row file in verl's layout, written with arrow the way pandas/pyarrow lay it out.
    fn write_verl_file(path: &Path) {
        let role_content = vec![Field::new("content", DataType::Utf8, true), Field::new("role", DataType::Utf8, true)];
        let mut prompt = ListBuilder::new(StructBuilder::from_fields(role_content.clone(), 2));
        for question in ["What is 1+1?", "What is 2+2?"] {
            let item = prompt.values();
            item.field_builder::<StringBuilder>(0).unwrap().append_value(question);
            item.field_builder::<StringBuilder>(1).unwrap().append_value("user");
            item.append(true);
            prompt.append(true);
        }
        let prompt = prompt.finish();
        let reward_model = StructArray::from(vec![
            (
                Arc::new(Field::new("ground_truth", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["2", "4"])) as ArrayRef,
            ),
            (Arc::new(Field::new("style", DataType::Utf8, true)), Arc::new(StringArray::from(vec!["rule", "rule"]))),
        ]);
        let extra_info = StructArray::from(vec![(
            Arc::new(Field::new("index", DataType::Int64, true)),
            Arc::new(Int64Array::from(vec![0, 1])) as ArrayRef,
        )]);
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("data_source", Arc::new(StringArray::from(vec!["openai/gsm8k", "openai/gsm8k"]))),
            ("prompt", Arc::new(prompt)),
            ("reward_model", Arc::new(reward_model)),
            ("extra_info", Arc::new(extra_info)),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn verl_rows_read_as_json_records() {
        let path = temp("verl.parquet");
        write_verl_file(&path);
        let rows: Vec<_> = read_rows(&path).unwrap().map(|r| r.unwrap()).collect();
        std::fs::remove_file(&path).ok();
        assert_eq!(rows.len(), 2);
        let (row, value) = &rows[1];
        assert_eq!(*row, 2);
        let value = value.as_ref().unwrap();
        assert_eq!(value["reward_model"]["ground_truth"], "4");
        assert_eq!(value["prompt"], json!([{"content": "What is 2+2?", "role": "user"}]));
        assert_eq!(value["extra_info"]["index"], 1);
        let mut mapped = value.clone();
        crate::io::FieldMap::verl_defaults().apply(&mut mapped);
        assert_eq!((mapped["answer"].clone(), mapped["id"].clone()), (json!("4"), json!(1)));
    }

    #[test]
    fn outcomes_round_trip_through_parquet() {
        let path = temp("out.parquet");
        let mut writer = OutcomeWriter::create(&path).unwrap();
        let mut components = BTreeMap::new();
        components.insert(
            "accuracy".to_string(),
            crate::sample::ComponentScore { score: 1.0, weight: 1.0, length_unit: None },
        );
        writer.push(Outcome {
            id: json!("a"),
            reward: 1.0,
            correct: true,
            verdict: Verdict::Correct,
            components,
            extracted: Some("2".into()),
            error: None,
        });
        writer.push(Outcome::error(json!(7), "bad"));
        writer.finish().unwrap();
        let rows: Vec<Value> = read_rows(&path).unwrap().map(|r| r.unwrap().1.unwrap()).collect();
        std::fs::remove_file(&path).ok();
        assert_eq!(rows[0]["id"], "a");
        assert_eq!(rows[0]["verdict"], "correct");
        assert_eq!(rows[0]["components"], "{\"accuracy\":{\"score\":1.0,\"weight\":1.0}}");
        assert_eq!(rows[1]["id"], "7");
        assert_eq!(rows[1]["error"], "bad");
        assert_eq!(rows[1]["extracted"], Value::Null);
    }
}
