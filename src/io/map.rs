//! Mapping dataset columns to sample fields (`--map answer=reward_model.ground_truth`).
//!
//! Datasets name things their own way: verl's Parquet layout keeps the gold answer in
//! `reward_model.ground_truth` and the row number in `extra_info.index`; others use `solution`,
//! `final_answer` or `test_list`. A [`FieldMap`] copies the value at a dotted path of each record into
//! a top-level sample field before the record is read as a sample, so the contract in
//! [`crate::sample`] stays one shape. The original columns stay in the record (recipes may read them).
//!
//! Without any `--map`, [`FieldMap::verl_defaults`] applies: `answer ← reward_model.ground_truth` and
//! `id ← extra_info.index`, each only when the record lacks the target field and has the source.

use std::str::FromStr;

use serde_json::Value;

/// One `target=source.path` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    /// The sample field to set (`answer`, `completion`, `tests`, `id`, …).
    pub target: String,
    /// The dotted path read from the record (`reward_model.ground_truth`); an array index is a number.
    pub source: Vec<String>,
}

/// Why a `--map` rule is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldMapError {
    /// The rule has no `=`.
    #[error("`{0}` is not a mapping: write TARGET=SOURCE.PATH, e.g. answer=reward_model.ground_truth")]
    NoEquals(String),
    /// The target or a path segment is empty.
    #[error("`{0}` has an empty field name")]
    EmptyName(String),
}

impl FromStr for FieldRule {
    type Err = FieldMapError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        let (target, source) = rule.split_once('=').ok_or_else(|| FieldMapError::NoEquals(rule.to_string()))?;
        let target = target.trim();
        let source: Vec<String> = source.trim().split('.').map(str::to_string).collect();
        if target.is_empty() || source.iter().any(String::is_empty) {
            return Err(FieldMapError::EmptyName(rule.to_string()));
        }
        Ok(FieldRule { target: target.to_string(), source })
    }
}

/// The rules applied to every record, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldMap {
    rules: Vec<FieldRule>,
    /// Explicit rules overwrite the target; default rules only fill a missing one.
    overwrite: bool,
}

impl FieldMap {
    /// Explicit rules (from `--map`): each sets its target whenever the source exists.
    pub fn new(rules: Vec<FieldRule>) -> FieldMap {
        FieldMap { rules, overwrite: true }
    }

    /// verl's layout: `answer ← reward_model.ground_truth`, `id ← extra_info.index`, when missing.
    pub fn verl_defaults() -> FieldMap {
        let rule = |target: &str, path: &[&str]| FieldRule {
            target: target.to_string(),
            source: path.iter().map(|s| s.to_string()).collect(),
        };
        FieldMap {
            rules: vec![rule("answer", &["reward_model", "ground_truth"]), rule("id", &["extra_info", "index"])],
            overwrite: false,
        }
    }

    /// The map `rlvr` uses for a list of `--map` rules: the rules given, or verl's defaults if none.
    pub fn from_rules(rules: Vec<FieldRule>) -> FieldMap {
        if rules.is_empty() { FieldMap::verl_defaults() } else { FieldMap::new(rules) }
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[FieldRule] {
        &self.rules
    }

    /// Applies the rules to one record; a record that is not an object, or lacks a source, is left as is.
    pub fn apply(&self, record: &mut Value) {
        for rule in &self.rules {
            let Some(found) = lookup(record, &rule.source).cloned() else { continue };
            let Value::Object(map) = record else { return };
            if self.overwrite || map.get(&rule.target).is_none_or(Value::is_null) {
                map.insert(rule.target.clone(), found);
            }
        }
    }
}

/// The value at a dotted path, through objects (by key) and arrays (by index).
pub fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn verl_layout_fills_answer_and_id_only_when_missing() {
        let mut row = json!({"data_source": "gsm8k", "prompt": [{"role": "user", "content": "1+1?"}],
                             "reward_model": {"ground_truth": "2", "style": "rule"}, "extra_info": {"index": 7}});
        FieldMap::verl_defaults().apply(&mut row);
        assert_eq!(row["answer"], "2");
        assert_eq!(row["id"], 7);
        let mut has_answer = json!({"answer": "3", "reward_model": {"ground_truth": "2"}});
        FieldMap::verl_defaults().apply(&mut has_answer);
        assert_eq!(has_answer["answer"], "3");
    }

    #[test]
    fn explicit_rules_overwrite_and_index_arrays() {
        let rules = vec!["answer=solutions.1".parse().unwrap(), "completion=response".parse().unwrap()];
        let mut row = json!({"answer": "old", "solutions": ["a", "b"], "response": "text"});
        FieldMap::from_rules(rules).apply(&mut row);
        assert_eq!(row["answer"], "b");
        assert_eq!(row["completion"], "text");
    }

    #[test]
    fn malformed_rules_are_typed_errors() {
        assert_eq!("answer".parse::<FieldRule>(), Err(FieldMapError::NoEquals("answer".into())));
        assert_eq!("=a.b".parse::<FieldRule>(), Err(FieldMapError::EmptyName("=a.b".into())));
        assert_eq!("answer=a..b".parse::<FieldRule>(), Err(FieldMapError::EmptyName("answer=a..b".into())));
    }
}
