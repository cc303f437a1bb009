//! File I/O problems: the program reads its input from a named file and/or writes its answer to one
//! (Codeforces' "input.txt / output.txt" problems, USACO's `name.in` / `name.out`), instead of stdin
//! and stdout.
//!
//! `tests.file_io = {"input": "input.txt", "output": "output.txt"}` (either key may be left out;
//! the other stream stays stdin/stdout). Each stdio test then runs in a fresh writable working
//! directory that the guest sees as `/`, so relative names (`fopen("input.txt", "r")`,
//! `open("output.txt", "w")`, `ifstream("input.txt")`) resolve there; the input file holds the
//! test's input (stdin is then empty, as on judges that give only the file), and the answer is read
//! from the output file after the run (a run that writes none gets `WA`). Everything written there
//! counts against `output_bytes` (past it: `OLE`).

use serde_json::Value;

use super::TestsError;
use crate::sample::json_type_name;

/// Which files replace stdin and stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIo {
    /// The input file's name, when the input is given as a file.
    pub input: Option<String>,
    /// The output file's name, when the answer is read from a file.
    pub output: Option<String>,
}

/// The guest path of a file I/O run's working directory.
pub const WORKDIR: &str = "/";

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && !name.starts_with(".rlvr")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl FileIo {
    /// Parses `tests.file_io`.
    pub fn parse(value: &Value) -> Result<FileIo, TestsError> {
        let invalid = |field: &str, message: String| TestsError::Invalid { field: format!("file_io{field}"), message };
        let Value::Object(map) = value else {
            return Err(invalid("", format!("must be an object, got {}", json_type_name(value))));
        };
        if let Some(key) = map.keys().find(|k| *k != "input" && *k != "output") {
            return Err(invalid("", format!("unknown key `{key}` (known: input, output)")));
        }
        let name = |key: &str| -> Result<Option<String>, TestsError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if plain_name(s) => Ok(Some(s.clone())),
                Some(Value::String(s)) => {
                    Err(invalid(&format!(".{key}"), format!("`{s}` is not a plain file name (letters, digits, `._-`)")))
                }
                Some(other) => {
                    Err(invalid(&format!(".{key}"), format!("must be a string, got {}", json_type_name(other))))
                }
            }
        };
        let io = FileIo { input: name("input")?, output: name("output")? };
        if io.input.is_none() && io.output.is_none() {
            return Err(invalid("", "names neither `input` nor `output`".into()));
        }
        if io.input.is_some() && io.input == io.output {
            return Err(invalid("", "`input` and `output` must be different files".into()));
        }
        Ok(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let both = FileIo::parse(&serde_json::json!({"input": "input.txt", "output": "output.txt"})).unwrap();
        assert_eq!(both.input.as_deref(), Some("input.txt"));
        assert!(FileIo::parse(&serde_json::json!({"output": "cow.out"})).unwrap().input.is_none());
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"input": "../x"}),
            serde_json::json!({"input": "/etc/passwd"}),
            serde_json::json!({"input": "a.txt", "output": "a.txt"}),
            serde_json::json!({"inputs": "a.txt"}),
            serde_json::json!("input.txt"),
        ] {
            assert!(FileIo::parse(&bad).is_err(), "{bad}");
        }
    }
}
