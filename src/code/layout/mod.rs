//! Dataset test layouts: a sample may carry the tests in its dataset's own fields, and rlvr reads them
//! as they ship.
//!
//! Each layout is one entry of [`LAYOUTS`]: the fields that signal it, and a reader that turns those
//! fields into rlvr's own `tests` object (see [`crate::code`]). [`apply`] runs when a sample is read
//! ([`crate::sample::Sample::from_json`], so `rlvr score`, the server and the engine API share it, and
//! `rlvr validate` calls it on each record): when the sample has no `tests`, the layout is detected
//! from its fields; a `tests_format` field names the layout explicitly (and overrides `tests`). A
//! sample whose fields match two layouts is an error asking for `tests_format`, never a guess.
//!
//! Readers keep each dataset's own judging rules: LiveCodeBench and APPS/TACO run their import prelude
//! before the solution; APPS/TACO call tests also accept `[result] == expected` (Codewars outputs come
//! wrapped in a list); LiveCodeBench private tests are decoded base64 → zlib → a pickle that must hold
//! exactly one `str` ([`pickle`]), never unpickled.

pub mod pickle;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::sample::json_type_name;

/// Limits of the layout readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutLimits {
    /// Largest decoded (decompressed) size of one encoded test blob, such as LiveCodeBench's
    /// `private_test_cases`, in bytes (default 1 GiB). Past it the sample is an error.
    pub decoded_bytes: usize,
}

impl Default for LayoutLimits {
    fn default() -> Self {
        LayoutLimits { decoded_bytes: 1 << 30 }
    }
}

/// Why a dataset layout cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// `tests_format` names no layout.
    #[error("unknown tests_format `{0}` (known: {known})", known = known_names())]
    Unknown(String),
    /// The fields match more than one layout.
    #[error("the fields match the layouts {0} and {1}; set `tests_format` to pick one")]
    Ambiguous(&'static str, &'static str),
    /// A field of the layout has the wrong shape.
    #[error("{layout} layout: `{field}` {message}")]
    Invalid {
        /// The layout.
        layout: &'static str,
        /// The field, e.g. `input_output.inputs[3]`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A layout (or a part of one) rlvr does not judge yet.
    #[error("{layout} layout: {what} is not supported yet")]
    Unsupported {
        /// The layout.
        layout: &'static str,
        /// What is missing.
        what: String,
    },
    /// An encoded blob decodes past [`LayoutLimits::decoded_bytes`].
    #[error("{field} decodes to more than {limit} bytes (decoded_bytes)")]
    TooLarge {
        /// The field.
        field: String,
        /// The limit.
        limit: usize,
    },
}

/// One dataset layout.
pub struct Layout {
    /// Its name, as `tests_format` takes it.
    pub name: &'static str,
    /// The fields whose presence (non-null) signals it.
    pub fields: &'static [&'static str],
    /// Which datasets ship it, for the docs.
    pub doc: &'static str,
    read: fn(&Map<String, Value>, &LayoutLimits) -> Result<Resolved, LayoutError>,
}

/// What a layout reader produces: rlvr's `tests` object, and the language when the layout says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// A `tests` object in rlvr's own layout.
    pub tests: Value,
    /// The language the layout names (e.g. `verification_info.language`).
    pub language: Option<String>,
    /// The submission the row ships (a Kattis package's `submission.code`): the sample's
    /// `completion` when it has none.
    pub completion: Option<String>,
}

/// Every dataset layout; detection tries them all and refuses a sample that matches two.
pub static LAYOUTS: &[Layout] = &[
    Layout {
        name: "livecodebench",
        fields: &["public_test_cases", "private_test_cases"],
        doc: "LiveCodeBench code_generation(_lite): `public_test_cases` / `private_test_cases` (JSON strings, or base64+zlib+pickle blobs) of `{input, output, testtype}`, `metadata` (JSON string) with `func_name` for functional tests",
        read: read_livecodebench,
    },
    Layout {
        name: "ground_truth",
        fields: &["ground_truth"],
        doc: "rLLM/DeepCoder and verl/PRIME re-exports: `ground_truth` is a list of LiveCodeBench tests (`metadata.func_name` per test), an APPS `input_output` object or JSON string, or KodCode pytest code",
        read: read_ground_truth,
    },
    Layout {
        name: "apps",
        fields: &["input_output", "input_output_field"],
        doc: "APPS / TACO: `input_output` (a JSON string or an object) with `inputs`, `outputs` and optional `fn_name` (call tests, arguments as a list)",
        read: read_apps_field,
    },
    Layout {
        name: "nemo_code_gen",
        fields: &["verifier_metadata"],
        doc: "NeMo Gym `code_gen`: `verifier_metadata.unit_tests {inputs, outputs}`",
        read: read_nemo,
    },
    Layout {
        name: "verification_info",
        fields: &["verification_info"],
        doc: "PrimeIntellect SYNTHETIC-1 / verifiable-coding-problems and open-r1: `verification_info` (string or object) with `language` and `test_cases[{type, fn_name, input, output}]`",
        read: read_verification_info,
    },
    Layout {
        name: "kodcode",
        fields: &["test_code", "test_info"],
        doc: "KodCode: pipeline rows `test_code`, HF export `test` + `test_info`; pytest tests importing `from solution import …`",
        read: read_kodcode,
    },
    Layout {
        name: "codeforces",
        fields: &["official_tests"],
        doc: "open-r1 codeforces: `official_tests [{input, output}]`, `input_mode` (`file`: `input.txt` / `output.txt`), `generated_checker` (a Python checker, convention `open_r1`)",
        read: read_codeforces,
    },
    Layout {
        name: "codecontests",
        fields: &["public_tests", "private_tests", "generated_tests"],
        doc: "DeepMind CodeContests: `public_tests` / `private_tests` / `generated_tests` as `{input: [...], output: [...]}`",
        read: read_codecontests,
    },
    Layout {
        name: "kattis",
        fields: &["problem_yaml", "output_validator"],
        doc: "Kattis / ICPC problem packages (problemtools): `problem_yaml` (text; `type: interactive` or legacy `validation: custom interactive`), `tests [{name, in, ans}]` (samples given only as `.interaction` files are skipped), `output_validator {files}` (the checker, or the interactor of an interactive problem; Kattis convention), `submission {path, code}` (the program when the row has no `completion`; its language from the file extension)",
        read: read_kattis,
    },
];

fn known_names() -> String {
    std::iter::once("rlvr").chain(LAYOUTS.iter().map(|l| l.name)).collect::<Vec<_>>().join(", ")
}

/// The layout named `name` (`rlvr` is rlvr's own `tests` field and has no entry).
pub fn layout(name: &str) -> Option<&'static Layout> {
    LAYOUTS.iter().find(|l| l.name == name)
}

fn present(map: &Map<String, Value>, field: &str) -> bool {
    map.get(field).is_some_and(|v| !v.is_null())
}

/// The layout a sample's fields signal, if any.
pub fn detect(map: &Map<String, Value>) -> Result<Option<&'static Layout>, LayoutError> {
    let mut found: Option<&'static Layout> = None;
    for candidate in LAYOUTS {
        // `test` alone is too common a word to signal KodCode; with `test_info` it does.
        if candidate.fields.iter().any(|f| present(map, f)) {
            if let Some(first) = found {
                return Err(LayoutError::Ambiguous(first.name, candidate.name));
            }
            found = Some(candidate);
        }
    }
    Ok(found)
}

/// Reads a sample's dataset layout into its `tests` (and `language`, when absent and the layout names
/// one). Does nothing when the sample has `tests` and no `tests_format`, or when no layout matches.
/// Removes `tests_format`, so applying twice is the same as once.
pub fn apply(map: &mut Map<String, Value>, limits: &LayoutLimits) -> Result<(), LayoutError> {
    let format = match map.remove("tests_format") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(LayoutError::Invalid {
                layout: "rlvr",
                field: "tests_format".into(),
                message: format!("must be a string, got {}", json_type_name(&other)),
            });
        }
    };
    let chosen = match format.as_deref() {
        Some("rlvr") => return Ok(()),
        Some(name) => Some(layout(name).ok_or_else(|| LayoutError::Unknown(name.to_string()))?),
        // rlvr's own `tests` is an object; a dataset's own `tests` field (a Kattis package's list
        // of `{name, in, ans}`) is read by its layout.
        None if map.get("tests").is_some_and(Value::is_object) => return Ok(()),
        None if present(map, "tests") => match detect(map)? {
            None => return Ok(()),
            found => found,
        },
        None => detect(map)?,
    };
    let Some(chosen) = chosen else { return Ok(()) };
    let resolved = (chosen.read)(map, limits)?;
    map.insert("tests".into(), resolved.tests);
    if let Some(language) = resolved.language
        && !present(map, "language")
    {
        map.insert("language".into(), Value::String(language));
    }
    if let Some(completion) = resolved.completion
        && !present(map, "completion")
    {
        map.insert("completion".into(), Value::String(completion));
    }
    Ok(())
}

/// LiveCodeBench's import prelude (`lcb_runner/evaluation/testing_util.py`), run before the solution.
pub const LCB_PRELUDE: &str = "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\nfrom statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\nimport io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n";

/// APPS/TACO's prelude (`apps/eval/testing_util.py`, without `numpy`, which the guest lacks).
pub const APPS_PRELUDE: &str = "import sys\nimport time\nimport itertools\nfrom itertools import accumulate, product, permutations, combinations\nimport collections\nfrom collections import Counter, OrderedDict, deque, defaultdict, ChainMap\nfrom functools import lru_cache\nimport math\nfrom math import sqrt, hypot, factorial, cos, sin, pi, ceil, floor, log, log10, log2, gcd\nimport fractions\nfrom typing import List, Tuple\nimport random\nimport heapq\nfrom heapq import *\n";

fn invalid(layout: &'static str, field: impl Into<String>, message: impl Into<String>) -> LayoutError {
    LayoutError::Invalid { layout, field: field.into(), message: message.into() }
}

/// A field that may be a JSON value or a JSON string holding one (HF datasets store both).
fn json_field(layout: &'static str, field: &str, value: &Value) -> Result<Value, LayoutError> {
    match value {
        Value::String(text) => {
            crate::json::parse(text).map_err(|e| invalid(layout, field, format!("is a string that is not JSON ({e})")))
        }
        other => Ok(other.clone()),
    }
}

/// Drops a leading UTF-8 byte-order mark (Windows-made test files carry one).
fn strip_bom(text: &str) -> String {
    text.strip_prefix('\u{feff}').unwrap_or(text).to_string()
}

/// A test's input or output text; APPS sometimes stores one as a list of lines.
fn text(layout: &'static str, field: &str, value: &Value) -> Result<String, LayoutError> {
    match value {
        Value::String(s) => Ok(strip_bom(s)),
        Value::Array(lines) if lines.iter().all(Value::is_string) => {
            let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
            Ok(strip_bom(&lines.join("\n")))
        }
        other => Err(invalid(layout, field, format!("must be a string, got {}", json_type_name(other)))),
    }
}

fn stdio_tests(cases: Vec<(String, String)>) -> Value {
    let cases: Vec<Value> =
        cases.into_iter().map(|(input, output)| json!({"input": input, "output": output})).collect();
    json!({ "stdio": cases })
}

fn python(tests: Value) -> Result<Resolved, LayoutError> {
    Ok(Resolved { tests, language: None, completion: None })
}

// ---------- LiveCodeBench ----------

/// One LiveCodeBench test: `{input, output, testtype, metadata?}`.
fn lcb_tests(
    layout: &'static str,
    tests: &[(String, Value)],
    func_name: Option<String>,
) -> Result<Resolved, LayoutError> {
    if tests.is_empty() {
        return Err(invalid(layout, "tests", "hold no test case"));
    }
    let mut stdio = Vec::new();
    let mut calls = Vec::new();
    let mut entry = func_name;
    for (field, test) in tests {
        let get = |k: &str| test.get(k).ok_or_else(|| invalid(layout, format!("{field}.{k}"), "is missing"));
        let input = text(layout, &format!("{field}.input"), get("input")?)?;
        let output = text(layout, &format!("{field}.output"), get("output")?)?;
        match test.get("testtype").and_then(Value::as_str).unwrap_or("stdin") {
            "stdin" => stdio.push((input, output)),
            "functional" => {
                if let Some(name) = test.get("metadata").and_then(|m| m.get("func_name")).and_then(Value::as_str) {
                    entry = Some(name.to_string());
                }
                // Each input line is one JSON argument; the output is one JSON value.
                let mut args = Vec::new();
                for (i, line) in input.split('\n').enumerate() {
                    let arg = crate::json::parse(line).map_err(|e| {
                        invalid(layout, format!("{field}.input line {}", i + 1), format!("is not JSON ({e})"))
                    })?;
                    args.push(arg);
                }
                let expected = crate::json::parse(output.trim())
                    .map_err(|e| invalid(layout, format!("{field}.output"), format!("is not JSON ({e})")))?;
                calls.push(json!({"args": args, "expected": expected}));
            }
            other => {
                return Err(invalid(
                    layout,
                    format!("{field}.testtype"),
                    format!("`{other}` is not stdin or functional"),
                ));
            }
        }
    }
    match (stdio.is_empty(), calls.is_empty()) {
        (false, true) => {
            let mut t = stdio_tests(stdio);
            t["prelude"] = Value::String(LCB_PRELUDE.into());
            python(t)
        }
        (true, false) => {
            let entry =
                entry.ok_or_else(|| invalid(layout, "metadata.func_name", "is required for functional tests"))?;
            python(json!({"call": calls, "entry_point": entry, "prelude": LCB_PRELUDE}))
        }
        _ => Err(LayoutError::Unsupported { layout, what: "a problem mixing stdin and functional tests".into() }),
    }
}

/// LiveCodeBench's `private_test_cases`: JSON text, or base64 → zlib → pickled `str` → JSON text.
pub fn decode_lcb_private(blob: &str, limits: &LayoutLimits) -> Result<String, LayoutError> {
    let layout = "livecodebench";
    let field = "private_test_cases";
    let trimmed = blob.trim();
    if trimmed.starts_with('[') {
        return Ok(trimmed.to_string());
    }
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .map_err(|e| invalid(layout, field, format!("is neither JSON nor base64 ({e})")))?;
    let pickled = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&compressed, limits.decoded_bytes).map_err(
        |e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                LayoutError::TooLarge { field: field.into(), limit: limits.decoded_bytes }
            }
            status => invalid(layout, field, format!("is base64 but not zlib data ({status:?})")),
        },
    )?;
    pickle::read_pickled_str(&pickled).map_err(|e| invalid(layout, field, e.to_string()))
}

fn lcb_list(layout: &'static str, field: &str, value: &Value) -> Result<Vec<(String, Value)>, LayoutError> {
    let list = json_field(layout, field, value)?;
    let Value::Array(items) = list else {
        return Err(invalid(layout, field, format!("must be a list of tests, got {}", json_type_name(&list))));
    };
    Ok(items.into_iter().enumerate().map(|(i, t)| (format!("{field}[{i}]"), t)).collect())
}

fn read_livecodebench(map: &Map<String, Value>, limits: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "livecodebench";
    let mut tests = Vec::new();
    if let Some(public) = map.get("public_test_cases").filter(|v| !v.is_null()) {
        tests.extend(lcb_list(layout, "public_test_cases", public)?);
    }
    match map.get("private_test_cases") {
        None | Some(Value::Null) => {}
        Some(Value::String(blob)) if blob.trim().is_empty() => {}
        Some(Value::String(blob)) => {
            let decoded = decode_lcb_private(blob, limits)?;
            tests.extend(lcb_list(layout, "private_test_cases", &Value::String(decoded))?);
        }
        Some(other) => tests.extend(lcb_list(layout, "private_test_cases", other)?),
    }
    let func_name = match map.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m) => {
            let m = json_field(layout, "metadata", m)?;
            m.get("func_name").and_then(Value::as_str).map(str::to_string)
        }
    };
    lcb_tests(layout, &tests, func_name)
}

// ---------- APPS / TACO ----------

/// An APPS `input_output` object: stdio tests, or call tests when `fn_name` is set.
fn read_apps(layout: &'static str, field: &str, value: &Value) -> Result<Resolved, LayoutError> {
    let io = json_field(layout, field, value)?;
    let Value::Object(io) = io else {
        return Err(invalid(layout, field, format!("must be an object, got {}", json_type_name(&io))));
    };
    let list = |k: &str| -> Result<&Vec<Value>, LayoutError> {
        match io.get(k) {
            Some(Value::Array(a)) => Ok(a),
            Some(other) => {
                Err(invalid(layout, format!("{field}.{k}"), format!("must be a list, got {}", json_type_name(other))))
            }
            None => Err(invalid(layout, format!("{field}.{k}"), "is missing")),
        }
    };
    let (inputs, outputs) = (list("inputs")?, list("outputs")?);
    if inputs.len() != outputs.len() {
        return Err(invalid(layout, field, format!("has {} inputs and {} outputs", inputs.len(), outputs.len())));
    }
    if inputs.is_empty() {
        return Err(invalid(layout, field, "holds no test case"));
    }
    match io.get("fn_name") {
        None | Some(Value::Null) => {
            let mut cases = Vec::with_capacity(inputs.len());
            for (i, (input, output)) in inputs.iter().zip(outputs).enumerate() {
                cases.push((
                    text(layout, &format!("{field}.inputs[{i}]"), input)?,
                    text(layout, &format!("{field}.outputs[{i}]"), output)?,
                ));
            }
            let mut t = stdio_tests(cases);
            t["prelude"] = Value::String(APPS_PRELUDE.into());
            python(t)
        }
        Some(Value::String(name)) => {
            let calls: Vec<Value> = inputs
                .iter()
                .zip(outputs)
                .map(|(input, output)| {
                    // Arguments come as a list; a bare value is the single argument.
                    let args = match input {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    };
                    json!({"args": args, "expected": output})
                })
                .collect();
            python(json!({
                "call": calls,
                "entry_point": name,
                "prelude": APPS_PRELUDE,
                "compare": {"list_wrapped": true},
            }))
        }
        Some(other) => {
            Err(invalid(layout, format!("{field}.fn_name"), format!("must be a string, got {}", json_type_name(other))))
        }
    }
}

fn read_apps_field(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let field = if present(map, "input_output") { "input_output" } else { "input_output_field" };
    read_apps("apps", field, &map[field])
}

fn read_nemo(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "nemo_code_gen";
    let meta = json_field(layout, "verifier_metadata", &map["verifier_metadata"])?;
    let tests = meta.get("unit_tests").ok_or_else(|| invalid(layout, "verifier_metadata.unit_tests", "is missing"))?;
    read_apps(layout, "verifier_metadata.unit_tests", tests)
}

// ---------- rLLM / verl ground_truth ----------

fn read_ground_truth(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "ground_truth";
    let source = map.get("data_source").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    let value = &map["ground_truth"];
    if let Value::String(code) = value {
        let trimmed = code.trim_start();
        if source.contains("kodcode") || !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
            return pytest(code);
        }
    }
    match json_field(layout, "ground_truth", value)? {
        Value::Array(items) => {
            let tests: Vec<(String, Value)> =
                items.into_iter().enumerate().map(|(i, t)| (format!("ground_truth[{i}]"), t)).collect();
            lcb_tests(layout, &tests, None)
        }
        obj @ Value::Object(_) => read_apps(layout, "ground_truth", &obj),
        other => {
            Err(invalid(layout, "ground_truth", format!("must be a list or an object, got {}", json_type_name(&other))))
        }
    }
}

// ---------- verification_info ----------

fn read_verification_info(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "verification_info";
    let info = json_field(layout, "verification_info", &map["verification_info"])?;
    let language = info.get("language").and_then(Value::as_str).map(str::to_string);
    let Some(Value::Array(cases)) = info.get("test_cases") else {
        return Err(invalid(layout, "verification_info.test_cases", "must be a list"));
    };
    if cases.is_empty() {
        return Err(invalid(layout, "verification_info.test_cases", "holds no test case"));
    }
    let (mut stdio, mut calls, mut entry) = (Vec::new(), Vec::new(), None);
    for (i, case) in cases.iter().enumerate() {
        let field = format!("verification_info.test_cases[{i}]");
        let get = |k: &str| case.get(k).ok_or_else(|| invalid(layout, format!("{field}.{k}"), "is missing"));
        match case.get("type").and_then(Value::as_str).unwrap_or("stdin_stdout") {
            "stdin_stdout" | "stdin" | "stdio" => stdio.push((
                text(layout, &format!("{field}.input"), get("input")?)?,
                text(layout, &format!("{field}.output"), get("output")?)?,
            )),
            "function_call" => {
                if let Some(name) = case.get("fn_name").and_then(Value::as_str) {
                    entry = Some(name.to_string());
                }
                let args = match json_field(layout, &format!("{field}.input"), get("input")?)? {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                let expected = json_field(layout, &format!("{field}.output"), get("output")?)?;
                calls.push(json!({"args": args, "expected": expected}));
            }
            other => {
                return Err(invalid(
                    layout,
                    format!("{field}.type"),
                    format!("`{other}` is not stdin_stdout or function_call"),
                ));
            }
        }
    }
    let tests = match (stdio.is_empty(), calls.is_empty()) {
        (false, true) => stdio_tests(stdio),
        (true, false) => {
            let entry =
                entry.ok_or_else(|| invalid(layout, "test_cases[].fn_name", "is required for function_call tests"))?;
            json!({"call": calls, "entry_point": entry, "prelude": APPS_PRELUDE, "compare": {"list_wrapped": true}})
        }
        _ => {
            return Err(LayoutError::Unsupported {
                layout,
                what: "a problem mixing stdin and function_call tests".into(),
            });
        }
    };
    Ok(Resolved { tests, language, completion: None })
}

// ---------- KodCode (pytest) ----------

/// KodCode's test module: `from solution import *` and the test code, as its pipeline writes
/// `test_solution.py` (`pipeline/step2.2_gen_unit_tests.py`).
fn pytest(test_code: &str) -> Result<Resolved, LayoutError> {
    python(json!({ "pytest": format!("from solution import *\n\n{test_code}") }))
}

fn read_kodcode(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "kodcode";
    let field = if present(map, "test_code") { "test_code" } else { "test" };
    match map.get(field) {
        Some(Value::String(code)) if !code.trim().is_empty() => pytest(code),
        Some(other) => {
            Err(invalid(layout, field, format!("must be a non-empty string, got {}", json_type_name(other))))
        }
        None => Err(invalid(layout, field, "is missing (HF export rows carry `test` beside `test_info`)")),
    }
}

// ---------- open-r1 codeforces ----------

fn read_codeforces(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "codeforces";
    let tests = json_field(layout, "official_tests", &map["official_tests"])?;
    let Value::Array(tests) = tests else {
        return Err(invalid(layout, "official_tests", "must be a list of {input, output}"));
    };
    // open-r1's runner: `input_mode: "file"` reads `input.txt` and writes `output.txt`.
    let file_io = match map.get("input_mode").and_then(Value::as_str).unwrap_or("stdio") {
        "stdio" => None,
        "file" => Some(json!({"input": "input.txt", "output": "output.txt"})),
        other => return Err(invalid(layout, "input_mode", format!("is `{other}`, not `stdio` or `file`"))),
    };
    if map.get("interaction_format").is_some_and(|v| v.as_str().is_some_and(|s| !s.trim().is_empty())) {
        return Err(LayoutError::Unsupported {
            layout,
            what: "an interactive problem without its interactor (`interaction_format` is only the statement's \
                   text; give the interactor as `tests.interactor`)"
                .into(),
        });
    }
    // `generated_checker`: a Python checker run as `checker.py input.txt correct_output.txt
    // solution_output.txt`, printing 1 (accept) or 0 (open-r1 `cf_scoring.py` and its piston runner).
    let checker = match map.get("generated_checker") {
        Some(Value::String(code)) if !code.trim().is_empty() => {
            Some(json!({"language": "python", "code": code, "convention": "open_r1"}))
        }
        _ => None,
    };
    let mut cases = Vec::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        let get = |k: &str| t.get(k).ok_or_else(|| invalid(layout, format!("official_tests[{i}].{k}"), "is missing"));
        cases.push((
            text(layout, &format!("official_tests[{i}].input"), get("input")?)?,
            text(layout, &format!("official_tests[{i}].output"), get("output")?)?,
        ));
    }
    if cases.is_empty() {
        return Err(invalid(layout, "official_tests", "holds no test case"));
    }
    let mut tests = stdio_tests(cases);
    if let Some(checker) = checker {
        tests["checker"] = checker;
    }
    if let Some(file_io) = file_io {
        tests["file_io"] = file_io;
    }
    python(tests)
}

// ---------- CodeContests ----------

fn read_codecontests(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "codecontests";
    let mut cases = Vec::new();
    for field in ["public_tests", "private_tests", "generated_tests"] {
        let Some(group) = map.get(field).filter(|v| !v.is_null()) else { continue };
        let group = json_field(layout, field, group)?;
        let list = |k: &str| match group.get(k) {
            Some(Value::Array(a)) => Ok(a.clone()),
            _ => Err(invalid(layout, format!("{field}.{k}"), "must be a list of strings")),
        };
        let (inputs, outputs) = (list("input")?, list("output")?);
        if inputs.len() != outputs.len() {
            return Err(invalid(layout, field, format!("has {} inputs and {} outputs", inputs.len(), outputs.len())));
        }
        for (i, (input, output)) in inputs.iter().zip(&outputs).enumerate() {
            cases.push((
                text(layout, &format!("{field}.input[{i}]"), input)?,
                text(layout, &format!("{field}.output[{i}]"), output)?,
            ));
        }
    }
    if cases.is_empty() {
        return Err(invalid(layout, "public_tests", "no test case in public_tests, private_tests or generated_tests"));
    }
    python(stdio_tests(cases))
}

// ---------- Kattis problem packages ----------

/// The language of a source file, from its extension (the languages rlvr runs; others by name,
/// so the verifier's error names them).
fn language_of_path(path: &str) -> Option<String> {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(
        match ext.as_str() {
            "c" => "c",
            "cc" | "cpp" | "cxx" | "c++" | "cp" => "cpp",
            "py" | "py3" => "python",
            "rs" => "rust",
            other => other,
        }
        .to_string(),
    )
}

/// A top-level `key: value` of a problem.yaml (only plain scalar values are read).
fn yaml_scalar<'a>(yaml: &'a str, key: &str) -> Option<&'a str> {
    yaml.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let value = rest.split('#').next().unwrap_or("").trim();
        Some(value.trim_matches(|c| c == '"' || c == '\''))
    })
}

fn read_kattis(map: &Map<String, Value>, _: &LayoutLimits) -> Result<Resolved, LayoutError> {
    let layout = "kattis";
    let yaml = map.get("problem_yaml").map(|v| text(layout, "problem_yaml", v)).transpose()?.unwrap_or_default();
    // 2023-07: `type: interactive` (a list of types too); legacy: `validation: custom interactive`.
    let kind = yaml_scalar(&yaml, "type").unwrap_or("pass-fail");
    let validation = yaml_scalar(&yaml, "validation").unwrap_or("default");
    let interactive = kind.contains("interactive") || validation.split_whitespace().any(|w| w == "interactive");
    if kind.contains("multi-pass")
        || validation.contains("multi-pass")
        || kind.contains("scoring")
        || validation.contains("score")
    {
        return Err(LayoutError::Unsupported {
            layout,
            what: format!("problem type `{kind}` / validation `{validation}`"),
        });
    }
    for flags in ["validator_flags", "output_validator_flags"] {
        if yaml_scalar(&yaml, flags).is_some_and(|f| !f.is_empty()) {
            return Err(LayoutError::Unsupported { layout, what: format!("`{flags}` (validator arguments)") });
        }
    }
    let tests = json_field(layout, "tests", map.get("tests").unwrap_or(&Value::Null))?;
    let Value::Array(tests) = tests else {
        return Err(invalid(layout, "tests", "must be a list of {name, in, ans}"));
    };
    let mut cases = Vec::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        // A sample given only as an `.interaction` transcript has no input to run.
        let Some(input) = t.get("in").filter(|v| !v.is_null()) else { continue };
        let answer = match t.get("ans") {
            None | Some(Value::Null) => String::new(),
            Some(v) => text(layout, &format!("tests[{i}].ans"), v)?,
        };
        cases.push((text(layout, &format!("tests[{i}].in"), input)?, answer));
    }
    if cases.is_empty() {
        return Err(invalid(layout, "tests", "has no test with an `in` file"));
    }
    let mut tests = stdio_tests(cases);
    match map.get("output_validator").filter(|v| !v.is_null()) {
        Some(validator) => {
            let validator = json_field(layout, "output_validator", validator)?;
            let files = validator
                .get("files")
                .and_then(Value::as_object)
                .ok_or_else(|| invalid(layout, "output_validator.files", "must be an object of file name to text"))?;
            let language = files
                .keys()
                .filter_map(|name| language_of_path(name))
                .find(|l| ["cpp", "c", "python", "rust"].contains(&l.as_str()))
                .ok_or_else(|| invalid(layout, "output_validator.files", "holds no C, C++, Python or Rust source"))?;
            let program = json!({"language": language, "files": files, "convention": "kattis"});
            tests[if interactive { "interactor" } else { "checker" }] = program;
        }
        None if interactive => {
            return Err(invalid(
                layout,
                "output_validator",
                "is required: an interactive problem needs its interactor",
            ));
        }
        None => {}
    }
    let (mut language, mut completion) = (None, None);
    if let Some(submission) = map.get("submission").filter(|v| !v.is_null()) {
        let submission = json_field(layout, "submission", submission)?;
        language = submission.get("path").and_then(Value::as_str).and_then(language_of_path);
        completion = submission.get("code").and_then(Value::as_str).map(str::to_string);
    }
    Ok(Resolved { tests, language, completion })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(row: Value) -> Result<Map<String, Value>, LayoutError> {
        let Value::Object(mut map) = row else { panic!("not an object") };
        apply(&mut map, &LayoutLimits::default())?;
        Ok(map)
    }

    #[test]
    fn every_layout_is_named_once_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for l in LAYOUTS {
            assert!(seen.insert(l.name), "duplicate layout {}", l.name);
            assert!(!l.doc.is_empty() && !l.fields.is_empty());
        }
        let readme = include_str!("../../../README.md");
        for l in LAYOUTS {
            assert!(readme.contains(&format!("`{}`", l.name)), "README does not document layout {}", l.name);
        }
    }

    #[test]
    fn lcb_functional_and_private_blob() {
        let map = resolve(json!({
            "completion": "x",
            "public_test_cases": "[{\"input\": \"[1, 2]\\n3\", \"output\": \"[4, 5]\", \"testtype\": \"functional\"}]",
            "metadata": "{\"func_name\": \"add\"}"
        }))
        .unwrap();
        assert_eq!(map["tests"]["entry_point"], "add");
        assert_eq!(map["tests"]["call"][0]["args"], json!([[1, 2], 3]));
        assert_eq!(map["tests"]["call"][0]["expected"], json!([4, 5]));
        // python3 -c 'import base64,zlib,pickle,json; print(base64.b64encode(zlib.compress(pickle.dumps(json.dumps([{"input":"1\n","output":"2\n","testtype":"stdin"}])))).decode())'
        let blob = "eJxrYJlqwwABPRbR1UqZeQWlJUpWCkqGMXlKOgpK+aUlUAEjiEBJanFJSWVBKkiouCQlM0+pNnaKHgCVCRRG";
        let map = resolve(
            json!({"completion": "x", "public_test_cases": "[]", "private_test_cases": blob, "metadata": "{}"}),
        )
        .unwrap();
        assert_eq!(map["tests"]["stdio"], json!([{"input": "1\n", "output": "2\n"}]));
        assert_eq!(map["tests"]["prelude"], LCB_PRELUDE);
        let bad = resolve(json!({"private_test_cases": "eJzLSM3JyVcozy/KSQEAGgsEXQ=="}));
        assert!(matches!(bad, Err(LayoutError::Invalid { .. })), "a zlib blob that is not a pickle: {bad:?}");
    }

    #[test]
    fn decoded_bytes_limit_boundary() {
        let row = |limit: usize| {
            let blob =
                std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/code/lcb_private_blob.txt"))
                    .unwrap();
            decode_lcb_private(blob.trim(), &LayoutLimits { decoded_bytes: limit })
        };
        let full = row(1 << 30).unwrap();
        // The pickle around the JSON text is 18 bytes longer than it (PROTO, FRAME, BINUNICODE's length, MEMOIZE, STOP).
        let size = full.len() + 18;
        assert!(row(size).is_ok(), "exactly at the limit");
        assert!(matches!(row(size - 1), Err(LayoutError::TooLarge { .. })), "one byte past it");
    }

    #[test]
    fn apps_call_wraps_and_stdio_lists() {
        let map = resolve(
            json!({"completion": "x", "input_output": {"fn_name": "f", "inputs": [[1, 2], 3], "outputs": [[3], 4]}}),
        )
        .unwrap();
        assert_eq!(map["tests"]["call"][1]["args"], json!([3]));
        assert_eq!(map["tests"]["compare"]["list_wrapped"], json!(true));
        let map = resolve(json!({"completion": "x", "input_output": "{\"inputs\": [[\"1\", \"2\"]], \"outputs\": [\"\\ufeff3\\n\"]}"}))
            .unwrap();
        assert_eq!(map["tests"]["stdio"][0], json!({"input": "1\n2", "output": "3\n"}));
    }

    #[test]
    fn explicit_format_overrides_and_ambiguity_is_an_error() {
        let row = json!({"completion": "x", "tests": {"stdio": []}, "tests_format": "codecontests",
            "public_tests": {"input": ["1"], "output": ["2"]}});
        let map = resolve(row).unwrap();
        assert_eq!(map["tests"]["stdio"][0]["output"], "2");
        assert!(!map.contains_key("tests_format"));
        let both = json!({"completion": "x", "input_output": {"inputs": ["1"], "outputs": ["1"]}, "public_tests": {"input": [], "output": []}});
        assert_eq!(resolve(both), Err(LayoutError::Ambiguous("apps", "codecontests")));
        assert!(matches!(resolve(json!({"tests_format": "nope"})), Err(LayoutError::Unknown(_))));
        // No layout field and no tests: left alone (the code verifier reports the missing tests).
        assert!(!resolve(json!({"completion": "x"})).unwrap().contains_key("tests"));
    }

    #[test]
    fn codeforces_checker_file_io_and_interaction() {
        let tests = [json!({"input": "1", "output": "1"})];
        let map = resolve(json!({"official_tests": tests, "generated_checker": "print(1)"})).unwrap();
        assert_eq!(map["tests"]["checker"], json!({"language": "python", "code": "print(1)", "convention": "open_r1"}));
        let map = resolve(json!({"official_tests": tests, "input_mode": "file"})).unwrap();
        assert_eq!(map["tests"]["file_io"], json!({"input": "input.txt", "output": "output.txt"}));
        let bad = resolve(json!({"official_tests": tests, "input_mode": "tape"}));
        assert!(matches!(bad, Err(LayoutError::Invalid { .. })), "{bad:?}");
        let interactive = resolve(json!({"official_tests": tests, "interaction_format": "Print ? x to ask."}));
        assert!(matches!(interactive, Err(LayoutError::Unsupported { .. })));
    }

    /// A Kattis package: the list `tests` is the package's, samples without `in` are skipped, an
    /// interactive problem's validator is the interactor, the submission is the completion.
    #[test]
    fn kattis_packages() {
        let package = |kind: &str| {
            json!({"problem_yaml": format!("name: x\n{kind}\n"),
                "tests": "[{\"name\": \"sample/1\", \"interaction\": \">1\\n\"}, {\"name\": \"secret/1\", \"in\": \"5\\n\", \"ans\": \"\"}]",
                "output_validator": {"dir": "output_validator", "files": {"validate.cc": "", "validate.h": ""}},
                "submission": "{\"path\": \"submissions/accepted/a.py\", \"code\": \"print(1)\"}"})
        };
        let map = resolve(package("type: interactive")).unwrap();
        assert_eq!(map["tests"]["stdio"], json!([{"input": "5\n", "output": ""}]));
        assert_eq!(map["tests"]["interactor"]["convention"], "kattis");
        assert_eq!(map["tests"]["interactor"]["language"], "cpp");
        assert_eq!((map["language"].as_str(), map["completion"].as_str()), (Some("python"), Some("print(1)")));
        let legacy = resolve(package("validation: custom interactive")).unwrap();
        assert!(legacy["tests"].get("interactor").is_some());
        let checked = resolve(package("validation: custom")).unwrap();
        assert!(checked["tests"].get("checker").is_some() && checked["tests"].get("interactor").is_none());
        assert!(matches!(resolve(package("type: scoring")), Err(LayoutError::Unsupported { .. })));
        assert!(matches!(
            resolve(package("validator_flags: float_tolerance 1e-6")),
            Err(LayoutError::Unsupported { .. })
        ));
        // A completion the row carries wins over the packaged submission.
        let mut own = package("type: interactive");
        own["completion"] = json!("mine");
        assert_eq!(resolve(own).unwrap()["completion"], "mine");
    }
}
