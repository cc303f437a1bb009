//! `rlvr._rlvr`: the rlvr engine as a CPython extension module (abi3, CPython ≥ 3.9).
//!
//! The Python package `rlvr` (in `python/rlvr/`) re-exports these items and adds the drop-ins for
//! Math-Verify, TRL, verl, OpenRLHF and Ray on top. Everything here is a thin bridge: samples go
//! from Python objects to the engine's JSON values while holding the GIL, the engine scores the
//! whole batch with the GIL released (rayon threads, no Python calls, no signals), and outcomes come
//! back as dicts with exactly the fields of an `rlvr score` result line.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use rlvr::batch::EngineConfig;
use rlvr::code::limits::CodeLimits;
use rlvr::math::{MathConfig, MathLimits};
use rlvr::reward::RecipeBook;
use rlvr::sample::{Outcome, Sample};

create_exception!(
    _rlvr,
    RlvrError,
    PyValueError,
    "An engine error (bad recipe, bad limits, bad arguments), with the engine's message."
);

/// Deepest nesting of a Python value converted to a sample's JSON (serde_json's own recursion limit).
pub const MAX_VALUE_DEPTH: usize = 128;

/// The default math configuration, shared by `verify` and `check`.
static MATH: LazyLock<MathConfig> = LazyLock::new(MathConfig::default);

/// Names of the math limits a `limits` dict may set (the [`MathLimits`] fields); every other key is
/// a [`CodeLimits`] field.
const MATH_LIMIT_KEYS: &[&str] = &[
    "max_answer_bytes",
    "max_depth",
    "max_nodes",
    "max_integer_bits",
    "max_factorial",
    "max_list_items",
    "max_intervals",
];

/// Converts a Python value to JSON: `None`, `bool`, `int` (beyond 64 bits: the engine's exact
/// big-integer marker), finite `float`, `str`, `dict` with `str` keys, `list`/`tuple`, and objects
/// with `tolist()` (numpy arrays and scalars, as verl's batches hold them).
fn to_json(value: &Bound<'_, PyAny>, depth: usize, path: &mut String) -> Result<Value, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(format!("`{path}` is nested deeper than {MAX_VALUE_DEPTH} levels"));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = value.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::from(v));
        }
        let digits = i.str().map_err(|e| e.to_string())?.to_string();
        let mut marker = Map::new();
        marker.insert(rlvr::json::BIGINT_KEY.to_string(), Value::String(digits));
        return Ok(Value::Object(marker));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        let v = f.value();
        return serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| format!("`{path}` is {v}, which JSON cannot carry"));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow().map_err(|e| format!("`{path}`: {e}"))?.into_owned()));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let key: String = key
                .cast::<PyString>()
                .map_err(|_| format!("`{path}` has a key that is not a string"))?
                .to_cow()
                .map_err(|e| e.to_string())?
                .into_owned();
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            let converted = to_json(&item, depth + 1, path);
            path.truncate(len);
            map.insert(key, converted?);
        }
        return Ok(Value::Object(map));
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        let mut items = Vec::new();
        for (i, item) in value.try_iter().map_err(|e| e.to_string())?.enumerate() {
            let item = item.map_err(|e| e.to_string())?;
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let converted = to_json(&item, depth + 1, path);
            path.truncate(len);
            items.push(converted?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(tolist) = value.getattr("tolist")
        && tolist.is_callable()
    {
        let plain = tolist.call0().map_err(|e| format!("`{path}`: tolist() failed: {e}"))?;
        return to_json(&plain, depth + 1, path);
    }
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    let at = if path.is_empty() { "the sample".to_string() } else { format!("`{path}`") };
    Err(format!("{at} is a Python `{type_name}`, which has no JSON form"))
}

/// Converts JSON to Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// The outcome as the dict `rlvr score` writes as JSON, built field by field (going through a
/// `serde_json::Value` first cost as much as scoring a simple pair). A component with a
/// `length_unit` goes through serde so its spelling stays the JSON one.
fn outcome_to_python<'py>(py: Python<'py>, outcome: &Outcome) -> PyResult<Bound<'py, PyAny>> {
    let internal = |e: serde_json::Error| RlvrError::new_err(format!("internal: {e}"));
    // JSON has no NaN or infinity: serde writes them as null, and so does this.
    let number = |x: f64| x.is_finite().then_some(x);
    let components = PyDict::new(py);
    for (name, c) in &outcome.components {
        if c.length_unit.is_some() {
            components.set_item(name, to_python(py, &serde_json::to_value(c).map_err(internal)?)?)?;
        } else {
            let score = PyDict::new(py);
            score.set_item("score", number(c.score))?;
            score.set_item("weight", number(c.weight))?;
            components.set_item(name, score)?;
        }
    }
    let dict = PyDict::new(py);
    dict.set_item("id", to_python(py, &outcome.id)?)?;
    dict.set_item("reward", number(outcome.reward))?;
    dict.set_item("correct", outcome.correct)?;
    dict.set_item("verdict", outcome.verdict.as_str())?;
    dict.set_item("components", components)?;
    dict.set_item("extracted", outcome.extracted.as_deref())?;
    dict.set_item("error", outcome.error.as_deref())?;
    Ok(dict.into_any())
}

/// Reads a `limits` dict into the math and code limits; an unknown key or a bad value is an error.
fn read_limits(limits: &Bound<'_, PyDict>) -> PyResult<(MathLimits, CodeLimits)> {
    let mut math = MathLimits::default();
    let mut code = Map::new();
    for (key, value) in limits.iter() {
        let key: String = key.extract().map_err(|_| PyTypeError::new_err("limits keys must be strings"))?;
        if MATH_LIMIT_KEYS.contains(&key.as_str()) {
            let n: u64 = value
                .extract()
                .map_err(|_| RlvrError::new_err(format!("limit `{key}` must be a non-negative integer")))?;
            let size = || usize::try_from(n).map_err(|_| RlvrError::new_err(format!("limit `{key}` is too large")));
            match key.as_str() {
                "max_answer_bytes" => math.max_answer_bytes = size()?,
                "max_depth" => math.max_depth = size()?,
                "max_nodes" => math.max_nodes = size()?,
                "max_integer_bits" => math.max_integer_bits = n,
                "max_factorial" => math.max_factorial = n,
                "max_list_items" => math.max_list_items = size()?,
                _ => math.max_intervals = size()?,
            }
        } else {
            let mut path = key.clone();
            let value = to_json(&value, 0, &mut path).map_err(RlvrError::new_err)?;
            code.insert(key, value);
        }
    }
    let code: CodeLimits = serde_json::from_value(Value::Object(code)).map_err(|e| {
        RlvrError::new_err(format!(
            "invalid limits: {e} (math limits: {}; code limits: the fields of `tests.limits`)",
            MATH_LIMIT_KEYS.join(", ")
        ))
    })?;
    Ok((math, code))
}

/// The rlvr engine: scores batches of samples in parallel, one result per sample, in order.
#[pyclass(frozen, module = "rlvr._rlvr")]
struct Engine {
    engine: rlvr::Engine,
    /// A pool of its own when `threads` was given; otherwise rayon's global pool (one thread per core).
    pool: Option<Arc<rayon::ThreadPool>>,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (recipes=None, threads=None, limits=None, default_recipe=None))]
    fn new(
        recipes: Option<PathBuf>,
        threads: Option<usize>,
        limits: Option<&Bound<'_, PyDict>>,
        default_recipe: Option<String>,
    ) -> PyResult<Self> {
        let mut book = RecipeBook::builtin().map_err(|e| RlvrError::new_err(e.to_string()))?;
        if let Some(dir) = &recipes {
            book.load_dir(dir).map_err(|e| RlvrError::new_err(e.to_string()))?;
        }
        if let Some(name) = &default_recipe
            && book.get(name).is_none()
        {
            return Err(RlvrError::new_err(format!("unknown recipe `{name}` (see rlvr.recipes())")));
        }
        let mut config = EngineConfig { default_recipe, ..EngineConfig::default() };
        if let Some(limits) = limits {
            let (math, code) = read_limits(limits)?;
            config.math.limits = math;
            config.code.limits = code;
        }
        let pool = match threads {
            None => None,
            Some(0) => return Err(RlvrError::new_err("threads must be at least 1")),
            Some(n) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("rlvr-score-{i}"))
                    .build()
                    .map_err(|e| RlvrError::new_err(e.to_string()))?,
            )),
        };
        Ok(Engine { engine: rlvr::Engine::with_recipes(config, book), pool })
    }

    /// Scores a batch; the GIL is released while the engine works.
    fn score<'py>(&self, py: Python<'py>, samples: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        if samples.cast::<PyString>().is_ok() || samples.cast::<PyDict>().is_ok() {
            return Err(PyTypeError::new_err("score() takes a list of sample dicts"));
        }
        let mut parsed: Vec<Result<Sample, Outcome>> = Vec::new();
        for item in samples.try_iter().map_err(|_| PyTypeError::new_err("score() takes a list of sample dicts"))? {
            let item = item?;
            let mut path = String::new();
            parsed.push(match to_json(&item, 0, &mut path) {
                Ok(value) => Sample::from_json(value).map_err(|(id, err)| Outcome::error(id, err.to_string())),
                Err(message) => {
                    let id = item
                        .cast::<PyDict>()
                        .ok()
                        .and_then(|d| d.get_item("id").ok().flatten())
                        .and_then(|id| to_json(&id, 0, &mut String::from("id")).ok())
                        .unwrap_or(Value::Null);
                    Err(Outcome::error(id, message))
                }
            });
        }
        let outcomes = py.detach(|| match &self.pool {
            Some(pool) => pool.install(|| self.engine.score_parsed(parsed)),
            None => self.engine.score_parsed(parsed),
        });
        let list = PyList::empty(py);
        for outcome in &outcomes {
            list.append(outcome_to_python(py, outcome)?)?;
        }
        Ok(list)
    }

    /// The names of the recipes this engine knows.
    fn recipes(&self) -> Vec<String> {
        self.engine.recipes().iter().map(|r| r.name.clone()).collect()
    }

    /// How many code judgements this engine ran (identical submissions in one batch count once).
    fn code_judgements(&self) -> u64 {
        self.engine.code_judgements()
    }

    /// Scoring threads: the engine's own pool size, or the global pool's.
    #[getter]
    fn threads(&self) -> usize {
        self.pool.as_ref().map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }
}

/// Whether `prediction` (a bare answer or a whole completion) is equivalent to `gold`.
#[pyfunction]
fn verify(py: Python<'_>, gold: String, prediction: String) -> bool {
    py.detach(|| rlvr::math::check(&gold, &prediction, &MATH).verdict == rlvr::Verdict::Correct)
}

/// The verdict explained, as `rlvr math --json` prints it.
#[pyfunction]
fn check<'py>(py: Python<'py>, gold: String, prediction: String) -> PyResult<Bound<'py, PyAny>> {
    let check = py.detach(|| rlvr::math::check(&gold, &prediction, &MATH));
    let value = serde_json::to_value(&check).map_err(|e| RlvrError::new_err(format!("internal: {e}")))?;
    to_python(py, &value)
}

/// The final answer the engine reads from a completion, or `None`.
#[pyfunction]
fn extract_answer(completion: String) -> Option<String> {
    rlvr::extract::extract_answer(&completion, &MATH.extract).ok().map(|found| found.answer)
}

/// The answer text the engine reads from a gold (`\boxed{2}` → `2`, `$\frac12$` → `\frac12`).
#[pyfunction]
fn extract_gold(gold: String) -> String {
    rlvr::extract::extract_gold(&gold)
}

/// Whether `gold` parses as a gold answer (what the engine needs before it can judge).
#[pyfunction]
fn gold_parses(gold: String) -> bool {
    rlvr::math::parse_gold(&gold, &MATH).is_ok()
}

/// The response inside an OpenRLHF query (prompt + response decoded as one string), found by
/// `rlvr serve`'s `/get_reward` rule ([`rlvr::server::openrlhf::find_response`]): after the prompt
/// when the query starts with it, else after the prompt's tail (whitespace and special tokens
/// ignored). Raises `ValueError` when the response cannot be told apart from the prompt, so that
/// text the model did not write is never scored.
#[pyfunction]
#[pyo3(signature = (query, prompt=None))]
fn openrlhf_response(query: String, prompt: Option<String>) -> PyResult<String> {
    match prompt {
        None => Ok(query),
        Some(prompt) => rlvr::server::openrlhf::find_response(&query, &prompt)
            .map(str::to_string)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string())),
    }
}

/// The `rlvr._rlvr` extension module.
#[pymodule]
fn _rlvr(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("RlvrError", m.py().get_type::<RlvrError>())?;
    m.add("MAX_VALUE_DEPTH", MAX_VALUE_DEPTH)?;
    m.add("INSTALL_COMMAND", rlvr::code::lang::python::INSTALL_COMMAND)?;
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(extract_answer, m)?)?;
    m.add_function(wrap_pyfunction!(gold_parses, m)?)?;
    m.add_function(wrap_pyfunction!(extract_gold, m)?)?;
    m.add_function(wrap_pyfunction!(openrlhf_response, m)?)?;
    Ok(())
}
