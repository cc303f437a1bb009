//! Languages: how to turn a submission into a runnable [`Program`].
//!
//! Each language is one file implementing [`Language`], registered once in [`LANGUAGES`]. A
//! language knows how to build the three program shapes the test kinds need: a stdin/stdout
//! program, a solution followed by a test script, and (where offered) a harness that calls one
//! function per test and hands the serialised return value to the host.

pub mod c;
pub mod cpp;
pub mod python;
pub mod rust;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};
use wasmtime::InstancePre;

use super::compile::{BuildError, CompileJob, compile_cached};
use super::limits::CodeLimits;
use super::sandbox::{Entry, Guest, Sandbox};

/// A built program, ready to run once per test.
#[derive(Clone)]
pub struct Program {
    /// The compiled module.
    pub module: Arc<InstancePre<Guest>>,
    /// `argv`; call tests append the test's index.
    pub args: Vec<String>,
    /// Files placed in `/.rlvr` (e.g. `main.py`).
    pub files: Vec<(String, Vec<u8>)>,
    /// Read-only runtime directories `(host, guest)`.
    pub ro_dirs: Vec<(PathBuf, String)>,
    /// How to start it.
    pub entry: Entry,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("args", &self.args).field("entry", &self.entry).finish_non_exhaustive()
    }
}

/// One function-call test's arguments (the expected value stays on the host).
#[derive(Debug, Clone, PartialEq)]
pub struct CallArgs {
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
}

/// What every build gets: the sandbox and the limits.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// The sandbox that will run the program (compiles the module).
    pub sandbox: &'a Sandbox,
    /// The sample's limits.
    pub limits: &'a CodeLimits,
}

/// One programming language.
pub trait Language: Send + Sync {
    /// The canonical name (`python`, `c`, `cpp`, `rust`).
    fn name(&self) -> &'static str;
    /// Other names accepted in `language` and as code-fence tags.
    fn aliases(&self) -> &'static [&'static str];
    /// How programs are built and run, for the docs.
    fn doc(&self) -> &'static str;
    /// A program reading stdin and writing stdout.
    fn build_main(&self, cx: &BuildContext<'_>, source: &str) -> Result<Program, BuildError>;
    /// The solution followed by a test script; it passes only when the script completes (for
    /// Python: the host import `rlvr.finish` is reached; for compiled languages: `main` returns 0
    /// to the host).
    fn build_script(
        &self,
        cx: &BuildContext<'_>,
        solution: &str,
        script: &str,
        entry_point: Option<&str>,
    ) -> Result<Program, BuildError>;
    /// A harness that runs call test number `argv[last]` and emits its result with `rlvr.emit`.
    /// Languages without one refuse with [`calls_unsupported`].
    fn build_calls(
        &self,
        _cx: &BuildContext<'_>,
        _solution: &str,
        _entry_point: &str,
        _calls: &[CallArgs],
    ) -> Result<Program, BuildError> {
        Err(calls_unsupported(self.title()))
    }
    /// The language's name in messages (`C++`).
    fn title(&self) -> &'static str;
    /// Whether a build runs a compiler (so a run reports its build step); `false` for interpreters.
    fn compiled(&self) -> bool {
        true
    }
}

/// Every language, by name. The first is the default (`python`).
pub static LANGUAGES: &[&dyn Language] = &[&python::Python, &c::C, &cpp::Cpp, &rust::Rust];

/// Looks a language up by name or alias (case-insensitive).
pub fn language(name: &str) -> Option<&'static dyn Language> {
    let name = name.trim().to_ascii_lowercase();
    LANGUAGES.iter().copied().find(|l| l.name() == name || l.aliases().contains(&name.as_str()))
}

/// The error for languages that have no function-call harness.
pub fn calls_unsupported(language: &str) -> BuildError {
    BuildError::Unsupported(format!(
        "function-call tests (`call`) are offered for Python only; for {language} use `stdio` or `script` tests"
    ))
}

/// Compiles Wasm bytes into a module of the sandbox, as a build result.
pub fn load_module(cx: &BuildContext<'_>, wasm: &[u8], what: &str) -> Result<Arc<InstancePre<Guest>>, BuildError> {
    cx.sandbox.module(wasm, what).map_err(|e| BuildError::Toolchain(e.to_string()))
}

/// Runs a compiler job (cached by content), loads its Wasm and wraps it as a program started by
/// `entry` with `argv = ["main"]`. `explain` rewrites compile errors (after the sandbox's `/src/`
/// prefix is dropped from paths) to say when the platform, not the program, is the cause.
pub fn build_wasm(
    cx: &BuildContext<'_>,
    job: &CompileJob<'_>,
    what: &str,
    entry: Entry,
    explain: fn(&str) -> String,
) -> Result<Program, BuildError> {
    let wasm = compile_cached(job, cx.limits).map_err(|e| match e {
        BuildError::Compile(text) => BuildError::Compile(explain(&text.replace("/src/", ""))),
        other => other,
    })?;
    let module = load_module(cx, &wasm, what)?;
    Ok(Program { module, args: vec!["main".into()], files: Vec::new(), ro_dirs: Vec::new(), entry })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for l in LANGUAGES {
            assert!(seen.insert(l.name()), "duplicate {}", l.name());
            for a in l.aliases() {
                assert!(seen.insert(a), "duplicate alias {a}");
            }
            assert!(!l.doc().is_empty());
        }
        assert_eq!(language("C++").map(|l| l.name()), Some("cpp"));
        assert_eq!(language("py").map(|l| l.name()), Some("python"));
        assert!(language("cobol").is_none());
    }
}
