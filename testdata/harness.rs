//! The one data-driven test harness: every case file under `testdata/<area>/` runs through here.
//!
//! A *case file* is a `.jsonl` file in a subdirectory of `testdata/` (`math/`, `extract/`,
//! `rewards/`, `code/`, `corpus/math/`, …); top-level files such as `testdata/samples.jsonl` are
//! demo batches, not cases. Each line is one case, named `<area>/<file stem>::<id>` (or
//! `::line-<n>` where a file has no ids), and becomes one libtest trial, so
//! `cargo test --test testdata -- math_verify_tests` filters as usual.
//!
//! Most lines are samples in the `rlvr score` format plus labels; they are scored through the
//! public [`rlvr::Engine`] exactly as `rlvr score` would score them, and compared on the keys the
//! line carries:
//!
//! | key | compared with |
//! |---|---|
//! | `expected` (bool), or `expect_pass` for code | `correct` |
//! | `expected_verdict` (`correct`, `incorrect`, `no_answer`, `invalid_gold`, `limit_exceeded`, `error`) | `verdict` |
//! | `expected_extracted` (string, or null for "nothing read") | `extracted` |
//! | `expected_reward` (number, within 1e-9) | `reward` |
//!
//! A line may also carry `extract_config` (`{"last_number_fallback": false}`): the extraction
//! switches its anchor ran with, applied over rlvr's defaults for that case only (see
//! `read_extract_config`). `RLVR_TESTDATA_DEFAULT_EXTRACT=1` ignores every `extract_config` and
//! runs all cases on the default path (for the "default configuration" agreement figure; cases
//! that pass only with their config then show up as unexpected failures).
//!
//! Every case must carry `source` or `see` (where it came from) and at least one label. Two files
//! have their own readers, registered in [`READERS`]: `math500_problems.jsonl` (each gold must
//! parse and be judged equal to itself boxed) and Math-Verify's
//! `math_verify_string_extraction.jsonl` (mapped onto the engine where rlvr has the option). Reward
//! cases (`testdata/rewards/`) have their own format and runner, [`rlvr::reward::cases`].
//!
//! `testdata/known_failures.toml` and `testdata/known_failures/*.toml` (one file per area, so
//! branches do not collide in one file) list the cases where we disagree with the label, each with a
//! kind (`label`: our verdict is right and the label wrong; `gap`: rlvr falls short;
//! `unmappable`: the case tests an option rlvr does not have) and a reason. A listed case that
//! passes fails, and so does an entry naming no case or a case listed twice, so the list stays honest.
//!
//! Panics inside the engine are reported in the failing case's message; set
//! `RLVR_TESTDATA_PANICS=1` to also see them (and backtraces) as they happen.
//!
//! `-- --report` (or `--report=PATH`, or `RLVR_TESTDATA_REPORT=PATH`) prints or writes a Markdown
//! agreement table per file after the run, for the README. `RLVR_TESTDATA_FAILURES=PATH` writes
//! the unexpected failures as JSONL (`name`, `message`), to triage them into the list.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use rlvr::batch::EngineConfig;
use rlvr::extract::ExtractConfig;
use rlvr::{Engine, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Where the case files live.
fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Characters of a completion shown in a failure message.
const SHOWN_CHARS: usize = 400;

/// Tolerance when comparing `expected_reward`.
const REWARD_TOLERANCE: f64 = 1e-9;

/// A file reader: decides which files it reads and turns each line into a case.
struct Reader {
    /// Shown in the report and in `--list` as the trial kind.
    kind: &'static str,
    /// Whether this reader reads the file (by path relative to `testdata/`).
    accepts: fn(&Path) -> bool,
    /// Turns one parsed line into the check to run.
    read: fn(&Map<String, Value>) -> Result<Check, String>,
}

/// Every case-file reader, tried in order; the last accepts every file.
static READERS: &[Reader] = &[
    Reader { kind: "reward", accepts: |p| p.starts_with("rewards"), read: read_reward_case },
    Reader { kind: "server", accepts: |p| p.starts_with("server"), read: read_server_case },
    Reader { kind: "gold-self", accepts: |p| file_name_is(p, "math500_problems.jsonl"), read: read_gold_self },
    Reader {
        kind: "mv-string-extraction",
        accepts: |p| file_name_is(p, "math_verify_string_extraction.jsonl"),
        read: read_string_extraction,
    },
    Reader { kind: "sample", accepts: |_| true, read: read_sample },
];

fn file_name_is(path: &Path, name: &str) -> bool {
    path.file_name().is_some_and(|n| n == name)
}

/// What a case checks.
enum Check {
    /// Score `sample` through the engine and compare with `expect`.
    Score { sample: Value, expect: Expectation, needs_recipe: Option<String>, extract: Option<ExtractConfig> },
    /// The gold must parse, and `\boxed{gold}` must be judged correct against it.
    GoldSelf { gold: String },
    /// A reward-component case (`testdata/rewards/`), run by its own runner in the library.
    Reward(Box<rlvr::reward::cases::RewardCase>),
    /// A request to one server endpoint (`testdata/server/`), run by [`rlvr::server::cases`].
    Server(Box<rlvr::server::cases::ServerCase>),
    /// The case cannot be expressed through rlvr's API; it fails with this reason (list it as `unmappable`).
    Unmappable(String),
}

/// The labels of one case; `None` means "not checked".
#[derive(Debug, Default)]
struct Expectation {
    correct: Option<bool>,
    verdict: Option<String>,
    extracted: Option<Option<String>>,
    reward: Option<f64>,
}

impl Expectation {
    fn is_empty(&self) -> bool {
        self.correct.is_none() && self.verdict.is_none() && self.extracted.is_none() && self.reward.is_none()
    }

    /// Every difference between the labels and the outcome, one line each.
    fn diff(&self, outcome: &Outcome) -> Vec<String> {
        let mut diffs = Vec::new();
        if let Some(want) = self.correct
            && outcome.correct != want
        {
            diffs.push(format!("correct: expected {want}, got {}", outcome.correct));
        }
        if let Some(want) = &self.verdict
            && outcome.verdict.as_str() != want
        {
            diffs.push(format!("verdict: expected {want}, got {}", outcome.verdict));
        }
        if let Some(want) = &self.extracted
            && &outcome.extracted != want
        {
            diffs.push(format!("extracted: expected {want:?}, got {:?}", outcome.extracted));
        }
        if let Some(want) = self.reward
            && (outcome.reward - want).abs() > REWARD_TOLERANCE
        {
            diffs.push(format!("reward: expected {want}, got {}", outcome.reward));
        }
        diffs
    }
}

fn read_expectation(case: &Map<String, Value>) -> Result<Expectation, String> {
    let bool_key = |key: &str| match case.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("`{key}` must be true or false, got {other}")),
    };
    let correct = match (bool_key("expected")?, bool_key("expect_pass")?) {
        (Some(_), Some(_)) => return Err("a case has `expected` or `expect_pass`, not both".into()),
        (a, b) => a.or(b),
    };
    let verdict = match case.get("expected_verdict") {
        None => None,
        Some(Value::String(v)) => {
            const VERDICTS: [&str; 6] =
                ["correct", "incorrect", "no_answer", "invalid_gold", "limit_exceeded", "error"];
            if !VERDICTS.contains(&v.as_str()) {
                return Err(format!("`expected_verdict` must be one of {VERDICTS:?}, got {v:?}"));
            }
            Some(v.clone())
        }
        Some(other) => return Err(format!("`expected_verdict` must be a string, got {other}")),
    };
    let extracted = match case.get("expected_extracted") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(other) => return Err(format!("`expected_extracted` must be a string or null, got {other}")),
    };
    let reward = match case.get("expected_reward") {
        None => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => return Err(format!("`expected_reward` must be a number, got {other}")),
    };
    Ok(Expectation { correct, verdict, extracted, reward })
}

/// A sample in the `rlvr score` format with its labels.
fn read_sample(case: &Map<String, Value>) -> Result<Check, String> {
    let expect = read_expectation(case)?;
    if expect.is_empty() {
        return Err("the case has no label (`expected`, `expect_pass`, `expected_verdict`, …)".into());
    }
    // The recipe the engine will pick: a case for a recipe the engine does not register (asked
    // of `Engine::recipes`, never read from an error message) is reported as ignored.
    let needs_recipe = match case.get("recipe") {
        Some(Value::String(r)) => Some(r.clone()),
        _ if case.get("answer").is_none_or(Value::is_null) && case.contains_key("tests") => Some("code".into()),
        _ => None,
    };
    let extract = read_extract_config(case)?;
    let mut sample = case.clone();
    sample.remove("extract_config");
    Ok(Check::Score { sample: Value::Object(sample), expect, needs_recipe, extract })
}

/// A case's `extract_config`: the [`ExtractConfig`] switches its anchor ran with, over rlvr's
/// defaults. Math-Verify's `LatexExtractionConfig` alone (no `ExprExtractionConfig`) reads no bare
/// numbers, which is `{"last_number_fallback": false}`. Unknown keys are an error.
fn read_extract_config(case: &Map<String, Value>) -> Result<Option<ExtractConfig>, String> {
    let Some(value) = case.get("extract_config") else { return Ok(None) };
    if std::env::var_os("RLVR_TESTDATA_DEFAULT_EXTRACT").is_some_and(|v| v == "1") {
        return Ok(None);
    }
    let fields = value.as_object().ok_or("`extract_config` must be an object")?;
    let mut config = ExtractConfig::default();
    for (key, value) in fields {
        let flag = value.as_bool().ok_or_else(|| format!("`extract_config.{key}` must be true or false"))?;
        match key.as_str() {
            "after_think" => config.after_think = flag,
            "last_number_fallback" => config.last_number_fallback = flag,
            "math_env_fallback" => config.math_env_fallback = flag,
            other => return Err(format!("unknown `extract_config` key `{other}`")),
        }
    }
    Ok(Some(config))
}

/// A reward-component case: one component, a group of judged samples and the expected raw
/// scores; [`rlvr::reward::cases::RewardCase::run`] scores them the way the engine does.
fn read_reward_case(case: &Map<String, Value>) -> Result<Check, String> {
    let line = Value::Object(case.clone()).to_string();
    rlvr::reward::cases::RewardCase::from_line(&line).map(|c| Check::Reward(Box::new(c)))
}

/// A server case: one request to one endpoint and the answer it must get.
fn read_server_case(case: &Map<String, Value>) -> Result<Check, String> {
    let line = Value::Object(case.clone()).to_string();
    rlvr::server::cases::ServerCase::from_line(&line).map(|c| Check::Server(Box::new(c)))
}

/// A MATH-500 problem: its gold must parse and equal itself boxed.
fn read_gold_self(case: &Map<String, Value>) -> Result<Check, String> {
    match case.get("answer") {
        Some(Value::String(gold)) => Ok(Check::GoldSelf { gold: gold.clone() }),
        _ => Err("a MATH-500 line needs a string `answer`".into()),
    }
}

/// One of Math-Verify's `parse()` tests: `input`, `expected` (`[value, matched string]`, `[]`,
/// `[value]`, `"len==1"` or a SymPy expression) and the `config` it ran with.
///
/// Choice-letter cases map onto the engine: the matched letter becomes the gold, so the outcome
/// must be `correct` with exactly that letter extracted (rlvr keeps the letter's case, so the
/// matched string is compared rather than the lowercased value); `[]` must give `no_answer`.
/// Options rlvr does not have (boxed priority, switching normalisations off) and SymPy-level
/// expectations are [`Check::Unmappable`].
fn read_string_extraction(case: &Map<String, Value>) -> Result<Check, String> {
    let input = case.get("input").and_then(Value::as_str).ok_or("needs a string `input`")?;
    let config = case.get("config").and_then(Value::as_str).ok_or("needs a string `config`")?;
    let expected = case.get("expected").ok_or("needs `expected`")?;
    for (option, why) in [
        ("boxed_match_priority=", "rlvr's ExtractConfig has no boxed-match priority: `\\boxed{}` always ranks first"),
        ("malformed_operators=False", "rlvr cannot switch off repairing `\\frac12`-style operators"),
    ] {
        if config.contains(option) {
            return Ok(Check::Unmappable(format!("Math-Verify option `{option}`: {why}")));
        }
    }
    let score = |gold: &str, verdict: &str, extracted: Option<&str>| Check::Score {
        sample: json!({ "answer": gold, "completion": input }),
        expect: Expectation {
            correct: Some(verdict == "correct"),
            verdict: Some(verdict.into()),
            extracted: extracted.map(|e| Some(e.to_string())),
            reward: None,
        },
        needs_recipe: None,
        extract: None,
    };
    Ok(match expected {
        // `[]`: nothing may be read. Any gold will do; the verdict must be `no_answer`.
        Value::Array(items) if items.is_empty() => score("A", "no_answer", None),
        // `[value, matched]`: the matched string is what rlvr must extract.
        Value::Array(items) if items.len() == 2 => {
            let matched = items[1].as_str().ok_or("`expected[1]` must be a string")?;
            score(matched, "correct", Some(matched))
        }
        // `[value]`: the parsed value, given as text rlvr reads; it must be judged equal.
        Value::Array(items) if items.len() == 1 => {
            let value = items[0].as_str().ok_or("`expected[0]` must be a string")?;
            score(value, "correct", None)
        }
        // `len(parse(input)) == 1`: exactly one answer is found; the input judged against itself.
        Value::String(s) if s == "len==1" => score(input, "correct", None),
        Value::String(sympy) => {
            Check::Unmappable(format!("expects the SymPy object `{sympy}`; rlvr has no SymPy form to compare with"))
        }
        other => return Err(format!("unknown `expected` form {other}")),
    })
}

/// Why a case is on the known-failures list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FailureKind {
    /// Our verdict is right and the label is wrong (corpus labels are never edited).
    Label,
    /// A known gap in rlvr.
    Gap,
    /// The case tests an API or option rlvr does not have.
    Unmappable,
}

/// One entry of `testdata/known_failures.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFailure {
    kind: FailureKind,
    reason: String,
}

/// The known-failure files: `testdata/known_failures.toml`, then `testdata/known_failures/*.toml`
/// in name order. Several files let each area keep its own list (`corpus.toml`, `code.toml`, …)
/// without the branches that edit them colliding in one file.
fn known_failure_files() -> Vec<PathBuf> {
    let root = testdata_dir();
    let mut files = vec![root.join("known_failures.toml")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("known_failures"))
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect()
        })
        .unwrap_or_default();
    more.sort();
    files.extend(more);
    files
}

/// Reads every known-failure file. A file that does not parse, an empty reason, or a case listed
/// in two files is a problem (each becomes a failing trial); the first listing of a case is kept.
fn load_known_failures() -> (BTreeMap<String, (KnownFailure, PathBuf)>, Vec<String>) {
    let mut table: BTreeMap<String, (KnownFailure, PathBuf)> = BTreeMap::new();
    let mut problems = Vec::new();
    for path in known_failure_files() {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", path.display()));
                continue;
            }
        };
        let entries: BTreeMap<String, KnownFailure> = match toml::from_str(&text) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        for (name, entry) in entries {
            if entry.reason.trim().is_empty() {
                problems.push(format!("{}: `{name}` has an empty reason", path.display()));
            }
            if let Some((_, first)) = table.get(&name) {
                problems.push(format!(
                    "`{name}` is listed in both {} and {}: keep one entry",
                    first.display(),
                    path.display()
                ));
                continue;
            }
            table.insert(name, (entry, path.clone()));
        }
    }
    (table, problems)
}

/// How one case ended, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Agree,
    Known(FailureKind),
    Disagree,
    NotRun,
}

/// The per-case results gathered while trials run.
#[derive(Default)]
struct Ledger {
    rows: Mutex<Vec<(String, String, Status)>>,
    /// Unexpected failures as `(case name, message)`, for `RLVR_TESTDATA_FAILURES`.
    failures: Mutex<Vec<(String, String)>>,
}

impl Ledger {
    fn record(&self, file: &str, source: &str, status: Status) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.push((file.to_string(), source.to_string(), status));
        }
    }

    fn record_failure(&self, name: &str, message: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push((name.to_string(), message.to_string()));
        }
    }

    /// The unexpected failures as JSONL (`{"name", "message"}`), sorted by name, for triage.
    fn failures_jsonl(&self) -> String {
        let mut failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        failures.sort();
        failures.iter().map(|(name, message)| json!({ "name": name, "message": message }).to_string() + "\n").collect()
    }

    /// A Markdown table: one row per case file, then the total.
    fn markdown(&self) -> String {
        #[derive(Default)]
        struct Row {
            sources: BTreeSet<String>,
            cases: usize,
            agree: usize,
            label: usize,
            gap: usize,
            unmappable: usize,
            disagree: usize,
            not_run: usize,
        }
        let mut by_file: BTreeMap<String, Row> = BTreeMap::new();
        let rows = self.rows.lock().map(|r| r.clone()).unwrap_or_default();
        for (file, source, status) in rows {
            let row = by_file.entry(file).or_default();
            if !source.is_empty() {
                row.sources.insert(source);
            }
            row.cases += 1;
            match status {
                Status::Agree => row.agree += 1,
                Status::Known(FailureKind::Label) => row.label += 1,
                Status::Known(FailureKind::Gap) => row.gap += 1,
                Status::Known(FailureKind::Unmappable) => row.unmappable += 1,
                Status::Disagree => row.disagree += 1,
                Status::NotRun => row.not_run += 1,
            }
        }
        let mut out = String::from(
            "| file | source | cases | agree | agreement | known: label wrong | known: gap | known: unmappable | unexpected | not run |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        let mut total = Row::default();
        let pct = |agree: usize, run: usize| {
            if run == 0 { "–".to_string() } else { format!("{:.1}%", 100.0 * agree as f64 / run as f64) }
        };
        for (file, row) in &by_file {
            let run = row.cases - row.not_run;
            let sources = summarize_sources(&row.sources);
            let _ = writeln!(
                out,
                "| {file} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                sources.replace('|', "\\|"),
                row.cases,
                row.agree,
                pct(row.agree, run),
                row.label,
                row.gap,
                row.unmappable,
                row.disagree,
                row.not_run
            );
            total.cases += row.cases;
            total.agree += row.agree;
            total.label += row.label;
            total.gap += row.gap;
            total.unmappable += row.unmappable;
            total.disagree += row.disagree;
            total.not_run += row.not_run;
        }
        let _ = writeln!(
            out,
            "| **total** | | {} | {} | {} | {} | {} | {} | {} | {} |",
            total.cases,
            total.agree,
            pct(total.agree, total.cases - total.not_run),
            total.label,
            total.gap,
            total.unmappable,
            total.disagree,
            total.not_run
        );
        out
    }
}

/// Sources shown per report row.
const SHOWN_SOURCES: usize = 3;

/// Characters of one source shown in the report.
const SHOWN_SOURCE_CHARS: usize = 60;

/// The report's source cell: the first few sources, each shortened, and how many more there are.
fn summarize_sources(sources: &BTreeSet<String>) -> String {
    let mut shown: Vec<String> = sources
        .iter()
        .take(SHOWN_SOURCES)
        .map(|s| {
            if s.chars().count() <= SHOWN_SOURCE_CHARS {
                s.clone()
            } else {
                format!("{}…", s.chars().take(SHOWN_SOURCE_CHARS).collect::<String>())
            }
        })
        .collect();
    if sources.len() > SHOWN_SOURCES {
        shown.push(format!("+{} more", sources.len() - SHOWN_SOURCES));
    }
    shown.join(", ")
}

/// The repository a `source` names (`owner/repo@commit:path` → `owner/repo`).
fn source_repo(source: &str) -> String {
    match source.split_once('@') {
        Some((repo, _)) => repo.to_string(),
        None => source.rsplit_once(':').map_or(source, |(head, _)| head).to_string(),
    }
}

/// Everything a trial needs, shared between trials.
struct Shared {
    engine: Result<Engine, String>,
    known: BTreeMap<String, (KnownFailure, PathBuf)>,
    ledger: Ledger,
}

/// One case, ready to run.
struct Case {
    name: String,
    /// The case file relative to `testdata/`, without `.jsonl`.
    file: String,
    line: usize,
    /// `source`, or else `see`: shown with a failure.
    source: String,
    /// The repository (or document) `source` cites, for the report; `see` notes are not sources.
    cited_repo: Option<String>,
    check: Result<Check, String>,
}

impl Case {
    /// Runs the check; `Err` lists what differs.
    fn run(&self, engine: &Engine) -> Result<Completion, String> {
        let check = self.check.as_ref().map_err(|e| format!("malformed case: {e}"))?;
        match check {
            Check::Unmappable(why) => Err(format!("not mappable onto rlvr: {why}")),
            Check::Reward(case) => case.run().map(|()| Completion::Completed),
            Check::Server(case) => case.run().map(|()| Completion::Completed),
            Check::Score { sample, expect, needs_recipe, extract } => {
                if let Some(recipe) = needs_recipe
                    && engine.recipes().get(recipe).is_none()
                {
                    return Ok(Completion::ignored_with(format!("no `{recipe}` recipe is built in yet")));
                }
                let line = sample.to_string();
                let outcome = match extract {
                    None => score_line(engine, &line)?,
                    Some(extract) => {
                        let mut config = engine.config().clone();
                        config.math.extract = extract.clone();
                        score_line(&Engine::with_recipes(config, engine.recipes().clone()), &line)?
                    }
                };
                let diffs = expect.diff(&outcome);
                if diffs.is_empty() { Ok(Completion::Completed) } else { Err(describe(sample, &outcome, &diffs)) }
            }
            Check::GoldSelf { gold } => {
                let config = &engine.config().math;
                match catch_unwind(AssertUnwindSafe(|| rlvr::math::parse_gold(gold, config))) {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => return Err(format!("gold {gold:?} does not parse: {err}")),
                    Err(panic) => return Err(format!("parse_gold({gold:?}) panicked: {}", panic_text(&*panic))),
                }
                let sample = json!({ "answer": gold, "completion": format!("\\boxed{{{gold}}}") });
                let outcome = score_line(engine, &sample.to_string())?;
                let expect =
                    Expectation { correct: Some(true), verdict: Some("correct".into()), extracted: None, reward: None };
                let diffs = expect.diff(&outcome);
                if diffs.is_empty() { Ok(Completion::Completed) } else { Err(describe(&sample, &outcome, &diffs)) }
            }
        }
    }
}

fn score_line(engine: &Engine, line: &str) -> Result<Outcome, String> {
    engine.score_lines(&[line]).pop().ok_or_else(|| "the engine returned no outcome".to_string())
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= SHOWN_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{head}… ({} bytes in all)", text.len())
}

/// The failure message: what was asked, what came back, and each difference.
fn describe(sample: &Value, outcome: &Outcome, diffs: &[String]) -> String {
    let field = |key: &str| sample.get(key).and_then(Value::as_str).map(shorten).unwrap_or_else(|| "(none)".into());
    let mut msg = String::new();
    let _ = writeln!(msg, "  answer:     {}", field("answer"));
    let _ = writeln!(msg, "  completion: {}", field("completion"));
    let _ = writeln!(
        msg,
        "  outcome:    verdict {}, correct {}, extracted {:?}, reward {}",
        outcome.verdict, outcome.correct, outcome.extracted, outcome.reward
    );
    if let Some(err) = &outcome.error {
        let _ = writeln!(msg, "  error:      {}", shorten(err));
    }
    for diff in diffs {
        let _ = writeln!(msg, "  ≠ {diff}");
    }
    msg
}

/// Reads every case file under `testdata/<area>/`, in path order.
fn collect_cases() -> Result<Vec<Case>, String> {
    let root = testdata_dir();
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&root).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        // `testdata/train/` holds the trainer's inputs (datasets, chat-template renders), run by
        // `tests/train.rs` and the `train` unit tests, not scoring cases.
        if path.is_dir() && !path.ends_with("train") {
            walk_jsonl(&path, &mut files)?;
        }
    }
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&root).map_err(|e| e.to_string())?;
        let file = rel.with_extension("").to_string_lossy().replace('\\', "/");
        let reader = READERS.iter().find(|r| (r.accepts)(rel)).ok_or("no reader accepts the file")?;
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = index + 1;
            let parsed: Result<Map<String, Value>, String> = match rlvr::json::parse(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err("the line is not a JSON object".into()),
                Err(e) => Err(format!("invalid JSON: {e}")),
            };
            let id = parsed.as_ref().ok().and_then(|m| m.get("id")).and_then(|id| match id {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            });
            let name = format!("{file}::{}", id.unwrap_or_else(|| format!("line-{line_no}")));
            let field = |key: &str| parsed.as_ref().ok().and_then(|m| m.get(key)).and_then(Value::as_str);
            let cited = field("source").map(str::to_string);
            let source = cited.clone().or_else(|| field("see").map(str::to_string));
            let check = match (&parsed, &source) {
                (Err(e), _) => Err(e.clone()),
                (Ok(_), None) => Err("the case has no `source` or `see`".into()),
                (Ok(map), Some(_)) => (reader.read)(map),
            };
            cases.push(Case {
                name,
                file: file.clone(),
                line: line_no,
                source: source.unwrap_or_default(),
                cited_repo: cited.as_deref().map(source_repo),
                check,
            });
        }
    }
    Ok(cases)
}

fn walk_jsonl(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk_jsonl(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
    Ok(())
}

/// Builds one trial per case, plus the checks that keep the known-failures list honest.
fn trials(cases: Vec<Case>, shared: Arc<Shared>) -> Vec<Trial> {
    let mut trials = Vec::with_capacity(cases.len() + 1);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let names: BTreeSet<String> = cases.iter().map(|c| c.name.clone()).collect();
    for mut case in cases {
        let count = seen.entry(case.name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            let first = case.name.clone();
            case.name = format!("{first}#{count}");
            case.check = Err(format!("duplicate case name `{first}`: ids must be unique within a file"));
        }
        let kind = match &case.check {
            Ok(Check::Score { needs_recipe: Some(recipe), .. }) => recipe.clone(),
            _ => READERS
                .iter()
                .find(|r| (r.accepts)(Path::new(&format!("{}.jsonl", case.file))))
                .map_or("sample", |r| r.kind)
                .to_string(),
        };
        let shared = Arc::clone(&shared);
        trials.push(Trial::ignorable_test(case.name.clone(), move || run_case(&case, &shared)).with_kind(kind));
    }
    for (name, (known, file)) in &shared.known {
        if !names.contains(name) {
            let msg =
                format!("{} names `{name}`, which is no case ({:?}: {})", file.display(), known.kind, known.reason);
            trials.push(Trial::test(format!("known_failures::{name}"), move || Err(msg.into())));
        }
    }
    trials
}

fn run_case(case: &Case, shared: &Shared) -> Result<Completion, Failed> {
    let engine = shared.engine.as_ref().map_err(|e| Failed::from(format!("no engine: {e}")))?;
    let listed = shared.known.get(&case.name);
    let known = listed.map(|(entry, _)| entry);
    let result = catch_unwind(AssertUnwindSafe(|| case.run(engine)))
        .unwrap_or_else(|panic| Err(format!("the harness panicked: {}", panic_text(&*panic))));
    let header = format!("{} (testdata/{}.jsonl:{}, source: {})", case.name, case.file, case.line, case.source);
    let repo = case.cited_repo.as_deref().unwrap_or_default();
    match (result, known) {
        (Ok(Completion::Ignored { reason }), _) => {
            shared.ledger.record(&case.file, repo, Status::NotRun);
            Ok(Completion::Ignored { reason })
        }
        (Ok(Completion::Completed), None) => {
            shared.ledger.record(&case.file, repo, Status::Agree);
            Ok(Completion::Completed)
        }
        (Err(_), Some(known)) => {
            shared.ledger.record(&case.file, repo, Status::Known(known.kind));
            Ok(Completion::Completed)
        }
        (Ok(Completion::Completed), Some(known)) => {
            shared.ledger.record(&case.file, repo, Status::Agree);
            Err(format!(
                "{header}\n  passes, but {} lists `{}` ({:?}: {}): remove the entry",
                listed.map_or_else(String::new, |(_, file)| file.display().to_string()),
                case.name,
                known.kind,
                known.reason
            )
            .into())
        }
        (Err(diff), None) => {
            shared.ledger.record(&case.file, repo, Status::Disagree);
            shared.ledger.record_failure(&case.name, &diff);
            Err(format!("{header}\n{diff}").into())
        }
    }
}

/// Where the report goes, if anywhere.
enum ReportTo {
    Stdout,
    File(PathBuf),
}

fn main() -> std::process::ExitCode {
    // `--report[=PATH]` is ours; everything else is libtest's.
    let mut report = std::env::var_os("RLVR_TESTDATA_REPORT").map(|p| ReportTo::File(PathBuf::from(p)));
    let mut libtest_args = Vec::new();
    for arg in std::env::args() {
        if arg == "--report" {
            report = Some(ReportTo::Stdout);
        } else if let Some(path) = arg.strip_prefix("--report=") {
            report = Some(ReportTo::File(PathBuf::from(path)));
        } else {
            libtest_args.push(arg);
        }
    }
    let args = Arguments::from_iter(libtest_args);
    // The engine turns a verifier's panic into that case's `error` outcome, whose message the
    // failure shows; the default hook would also print it (with a backtrace) from a worker
    // thread, once per case. `RLVR_TESTDATA_PANICS=1` keeps the default hook for debugging.
    if std::env::var_os("RLVR_TESTDATA_PANICS").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }

    let mut setup_errors = Vec::new();
    let (known, problems) = load_known_failures();
    for (i, problem) in problems.into_iter().enumerate() {
        setup_errors.push((format!("known_failures::problem-{}", i + 1), problem));
    }
    let cases = collect_cases().unwrap_or_else(|e| {
        setup_errors.push(("harness::case-files".to_string(), e));
        Vec::new()
    });
    let engine = Engine::new(EngineConfig::default()).map_err(|e| e.to_string());
    let shared = Arc::new(Shared { engine, known, ledger: Ledger::default() });
    let mut all = trials(cases, Arc::clone(&shared));
    for (what, err) in setup_errors {
        all.push(Trial::test(what, move || Err(err.into())));
    }

    let conclusion = libtest_mimic::run(&args, all);
    if let Some(to) = report {
        let table = shared.ledger.markdown();
        match to {
            ReportTo::Stdout => println!("\n{table}"),
            ReportTo::File(path) => {
                if let Err(e) = std::fs::write(&path, &table) {
                    eprintln!("cannot write the report to {}: {e}", path.display());
                    return std::process::ExitCode::from(2);
                }
            }
        }
    }
    if let Some(path) = std::env::var_os("RLVR_TESTDATA_FAILURES")
        && let Err(e) = std::fs::write(&path, shared.ledger.failures_jsonl())
    {
        eprintln!("cannot write the failures to {}: {e}", PathBuf::from(path).display());
        return std::process::ExitCode::from(2);
    }
    conclusion.exit_code()
}
