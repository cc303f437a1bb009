//! Python: CPython 3.11.2 compiled to WASI by the project itself (`verifiers/runtimes/build-python.sh`,
//! installed by `.ci/install-code-runtimes.sh`), pre-initialised with Wizer.
//!
//! The runtime lives outside the repository in `$RLVR_RUNTIMES` (default `~/.cache/rlvr/runtimes`)
//! under `python-<key>`, where `<key>` is the SHA-256 of its inputs (`verifiers/runtimes.toml`, the
//! build script, the driver, the import list), so a changed recipe never runs against a stale build.
//! On first use in a process rlvr snapshots the interpreter with `wasmtime-wizer` after `Py_Initialize`
//! and the common imports (`sys, collections, heapq, itertools, math, bisect, functools, re, io, os,
//! json`), caching `rlvr_python.wizer.wasm` beside it; every run then starts warm (about 1 ms).
//! A missing runtime is a toolchain error naming the one command that builds it; never a fallback.
//!
//! Program shapes: `stdio` runs the solution as `__main__`; `script` runs solution + guard + test
//! script (+ `check(entry_point)` when `check` is defined) and passes only when the driver reaches
//! the host import `rlvr.finish`, which Python code cannot call; `call` runs a harness that calls the
//! entry point (`f` or `Solution().f`) for one test and emits `json.dumps` of the result. The guard
//! wraps the entry point so that a return value that is not a plain built-in value (an object whose
//! `__eq__` always says True) raises instead of passing an `assert ==`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstancePre, Linker, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::{BuildContext, CallArgs, Language, Program};
use crate::code::compile::BuildError;
use crate::code::sandbox::{Entry, Guest, write_atomic};

const MANIFEST: &[u8] = include_bytes!("../../../verifiers/runtimes.toml");
const BUILD_SCRIPT: &[u8] = include_bytes!("../../../verifiers/runtimes/build-python.sh");
const DRIVER: &[u8] = include_bytes!("../../../verifiers/runtimes/rlvr_python.c");
const IMPORTS: &[u8] = include_bytes!("../../../verifiers/runtimes/rlvr_imports.txt");
const PYTEST_PINS: &[u8] = include_bytes!("../../../verifiers/runtimes/pytest-requirements.txt");
const PYTEST_PRELOAD: &[u8] = include_bytes!("../../../verifiers/runtimes/rlvr_pytest_preload.py");

/// Where the pytest overlay is mounted in the guest: over the runtime's own (empty) site-packages,
/// so CPython's `site` finds it (and runs `rlvr_pytest.pth`) with no change to the CPython build.
const SITE_PACKAGES: &str = "/usr/local/lib/python3.11/site-packages";

/// The command that builds the Python runtime.
pub const INSTALL_COMMAND: &str = ".ci/install-code-runtimes.sh";

/// The Python language.
pub struct Python;

/// The runtime's cache key: SHA-256 of its inputs, as `.ci/install-code-runtimes.sh` computes it.
pub fn runtime_key() -> String {
    let mut h = Sha256::new();
    for part in [MANIFEST, BUILD_SCRIPT, DRIVER, IMPORTS] {
        h.update(part);
    }
    crate::code::sandbox::hex(&h.finalize())
}

/// Where the runtime for this build of rlvr must be.
pub fn runtime_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("RLVR_RUNTIMES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache").join("rlvr").join("runtimes"),
    };
    Some(base.join(format!("python-{}", runtime_key())))
}

struct Runtime {
    module: Arc<InstancePre<Guest>>,
    stdlib: PathBuf,
}

/// The pytest overlay's cache key: SHA-256 of its pins and its preload module, as
/// `.ci/install-code-runtimes.sh` computes it.
pub fn pytest_key() -> String {
    let mut h = Sha256::new();
    h.update(PYTEST_PINS);
    h.update(PYTEST_PRELOAD);
    crate::code::sandbox::hex(&h.finalize())
}

/// Where the pytest overlay for this build of rlvr must be (`site-packages/` and `READY` inside).
pub fn pytest_dir() -> Option<PathBuf> {
    Some(runtime_dir()?.parent()?.join(format!("pytest-{}", pytest_key())))
}

/// The pytest-enabled guest and its extra mounts (host directory, guest path).
type PytestRuntime = (Arc<InstancePre<Guest>>, Vec<(PathBuf, String)>);

/// The CPython runtime snapshotted with pytest imported (through the overlay's `.pth`), and the
/// read-only directories a pytest run mounts.
fn pytest_runtime(cx: &BuildContext<'_>) -> Result<PytestRuntime, BuildError> {
    static RUNTIME: Mutex<Option<PytestRuntime>> = Mutex::new(None);
    let mut slot = RUNTIME.lock().map_err(|_| BuildError::Toolchain("pytest runtime lock poisoned".into()))?;
    if let Some(rt) = slot.as_ref() {
        return Ok(rt.clone());
    }
    let missing = |why: String| {
        BuildError::Toolchain(format!(
            "pytest for the Python WASI runtime is missing ({why}); install it with `{INSTALL_COMMAND}`"
        ))
    };
    let dir = pytest_dir().ok_or_else(|| missing("neither RLVR_RUNTIMES nor HOME is set".into()))?;
    if !dir.join("READY").exists() {
        return Err(missing(format!("{} has no READY file", dir.display())));
    }
    let python = runtime_dir().ok_or_else(|| missing("no Python runtime directory".into()))?;
    if !python.join("READY").exists() {
        return Err(BuildError::Toolchain(format!(
            "the Python WASI runtime is missing ({} has no READY file); build it with `{INSTALL_COMMAND}`",
            python.display()
        )));
    }
    let stdlib = python.join("usr").join("local");
    // An empty `/`: pytest stats the parents of its test directory (conftest and config lookup), and an
    // unmounted `/` answers those with "capabilities insufficient".
    let root = dir.join("empty-root");
    std::fs::create_dir_all(&root)
        .map_err(|e| BuildError::Toolchain(format!("cannot create {}: {e}", root.display())))?;
    let ro_dirs = vec![
        (root, "/".to_string()),
        (stdlib.clone(), "/usr/local".to_string()),
        (dir.join("site-packages"), SITE_PACKAGES.to_string()),
    ];
    // Keyed by the CPython runtime too: the snapshot is of that interpreter.
    let snapshot_path = dir.join(format!("rlvr_python_pytest-{}.wizer.wasm", &runtime_key()[..16]));
    let snapshot = match std::fs::read(&snapshot_path) {
        Ok(bytes) => bytes,
        Err(_) => {
            let wasm = std::fs::read(python.join("rlvr_python.wasm")).map_err(|e| missing(e.to_string()))?;
            let snap = snapshot_with(&wasm, &ro_dirs).map_err(|e| {
                BuildError::Toolchain(format!("Wizer snapshot of the Python runtime with pytest failed: {e}"))
            })?;
            write_atomic(&snapshot_path, &snap)
                .map_err(|e| BuildError::Toolchain(format!("cannot write {}: {e}", snapshot_path.display())))?;
            snap
        }
    };
    let module = super::load_module(cx, &snapshot, "python runtime with pytest")?;
    *slot = Some((module.clone(), ro_dirs.clone()));
    Ok((module, ro_dirs))
}

fn runtime(cx: &BuildContext<'_>) -> Result<(Arc<InstancePre<Guest>>, PathBuf), BuildError> {
    static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
    let mut slot = RUNTIME.lock().map_err(|_| BuildError::Toolchain("python runtime lock poisoned".into()))?;
    if let Some(rt) = slot.as_ref() {
        return Ok((rt.module.clone(), rt.stdlib.clone()));
    }
    let missing = |why: String| {
        BuildError::Toolchain(format!("the Python WASI runtime is missing ({why}); build it with `{INSTALL_COMMAND}`"))
    };
    let dir = runtime_dir().ok_or_else(|| missing("neither RLVR_RUNTIMES nor HOME is set".into()))?;
    if !dir.join("READY").exists() {
        return Err(missing(format!("{} has no READY file", dir.display())));
    }
    let stdlib = dir.join("usr").join("local");
    let snapshot_path = dir.join("rlvr_python.wizer.wasm");
    let snapshot = match std::fs::read(&snapshot_path) {
        Ok(bytes) => bytes,
        Err(_) => {
            let wasm = std::fs::read(dir.join("rlvr_python.wasm")).map_err(|e| missing(e.to_string()))?;
            let snap = snapshot_python(&wasm, &stdlib)
                .map_err(|e| BuildError::Toolchain(format!("Wizer snapshot of the Python runtime failed: {e}")))?;
            write_atomic(&snapshot_path, &snap)
                .map_err(|e| BuildError::Toolchain(format!("cannot write {}: {e}", snapshot_path.display())))?;
            snap
        }
    };
    let module = super::load_module(cx, &snapshot, "python runtime")?;
    *slot = Some(Runtime { module: module.clone(), stdlib: stdlib.clone() });
    Ok((module, stdlib))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Runs the driver's `wizer.initialize` (Py_Initialize + imports) and returns the snapshot module.
pub fn snapshot_python(wasm: &[u8], stdlib: &Path) -> Result<Vec<u8>, String> {
    snapshot_with(wasm, &[(stdlib.to_path_buf(), "/usr/local".to_string())])
}

/// [`snapshot_python`] with these read-only directories mounted `(host, guest)`.
fn snapshot_with(wasm: &[u8], ro_dirs: &[(PathBuf, String)]) -> Result<Vec<u8>, String> {
    // Compiled on this thread, like the sandbox's modules: the snapshot runs on a guest thread, and
    // wasmtime's parallel compilation would wait for rayon pool threads that may all be batch
    // workers waiting for their guest threads (see `Sandbox::new`).
    let mut config = Config::new();
    config.parallel_compilation(false);
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    let mut b = WasiCtxBuilder::new();
    b.args(&["python"]).insecure_random_seed(0x1234_5678);
    for (host, guest) in ro_dirs {
        b.preopened_dir(host, guest, FsPerms::ReadOnly).map_err(|e| e.to_string())?;
    }
    let err = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
    b.stderr(err.clone());
    let mut store = Store::new(&engine, b.build_p1());
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).map_err(|e| e.to_string())?;
    linker.func_wrap("rlvr", "finish", |_: i32| {}).map_err(|e| e.to_string())?;
    linker.func_wrap("rlvr", "emit", |_: i32, _: i32, _: i32| {}).map_err(|e| e.to_string())?;
    let mut wizer = wasmtime_wizer::Wizer::new();
    wizer.init_func("wizer.initialize");
    let result =
        block_on(wizer.run(&mut store, wasm, async |store, module| linker.instantiate_async(store, module).await));
    result.map_err(|e| format!("{e:#}; stderr: {}", String::from_utf8_lossy(&err.contents())))
}

/// Python source of a JSON value: `json.loads("<json text>")` (JSON string escapes are valid Python).
fn py_json(value: &impl serde::Serialize) -> String {
    // `to_text` writes big-integer markers back as integer literals, which `json.loads` reads exactly.
    let text = serde_json::to_value(value).map(|v| crate::json::to_text(&v)).unwrap_or_else(|_| "null".into());
    let quoted = serde_json::to_string(&text).unwrap_or_else(|_| "\"null\"".into());
    format!("__import__('json').loads({quoted})")
}

/// Rebinds the entry point to a wrapper that rejects return values that are not plain built-in data.
fn guard(entry_point: &str) -> String {
    format!(
        r#"
def __rlvr_guard(name):
    import types as _types
    def _ok(v, depth=0):
        # Reject values whose equality is defined in the submission (an `__eq__` that always says
        # True); built-in and standard-library types (Counter, OrderedDict, …) are fine.
        eq = type(v).__eq__
        if isinstance(eq, _types.FunctionType) and not eq.__code__.co_filename.startswith("/usr/local/lib/"):
            return False
        if depth > 200:
            return True
        if isinstance(v, (list, tuple, set, frozenset)):
            return all(_ok(x, depth + 1) for x in v)
        if isinstance(v, dict):
            return all(_ok(k, depth + 1) and _ok(x, depth + 1) for k, x in v.items())
        return True
    g = globals()
    f = g.get(name)
    if not callable(f):
        return
    def checked(*args, **kwargs):
        r = f(*args, **kwargs)
        if not _ok(r):
            raise TypeError("rlvr: %s returned a %s, whose == is user-defined" % (name, type(r).__name__))
        return r
    checked.__name__ = getattr(f, "__name__", name)
    checked.__doc__ = getattr(f, "__doc__", None)
    g[name] = checked
__rlvr_guard({name})
del __rlvr_guard
"#,
        name = py_json(&entry_point)
    )
}

fn program(module: Arc<InstancePre<Guest>>, stdlib: PathBuf, mode: &str, source: String) -> Program {
    Program {
        module,
        args: vec!["python".into(), mode.into(), "/.rlvr/main.py".into()],
        files: vec![("main.py".into(), source.into_bytes())],
        ro_dirs: vec![(stdlib, "/usr/local".into())],
        entry: Entry::Command,
    }
}

impl Language for Python {
    fn name(&self) -> &'static str {
        "python"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["py", "python3", "py3"]
    }
    fn doc(&self) -> &'static str {
        "CPython 3.11.2 on WASI (-O3, pymalloc, 32 MiB C stack), Wizer snapshot with common modules imported; stdio, script and call tests"
    }
    fn build_main(&self, cx: &BuildContext<'_>, source: &str) -> Result<Program, BuildError> {
        check_size(cx, source)?;
        let (module, stdlib) = runtime(cx)?;
        Ok(program(module, stdlib, "run", source.to_string()))
    }
    fn build_script(
        &self,
        cx: &BuildContext<'_>,
        solution: &str,
        script: &str,
        entry_point: Option<&str>,
    ) -> Result<Program, BuildError> {
        check_size(cx, solution)?;
        let (module, stdlib) = runtime(cx)?;
        let mut source = format!("{solution}\n\n");
        if let Some(entry) = entry_point {
            source.push_str(&guard(entry));
        }
        // `check(entry_point)` runs only when the test script defines `check` (MBPP solutions may
        // define a function of that name themselves).
        source.push_str("\n__rlvr_check_before = globals().get('check')\n");
        source.push_str(&format!("\n{script}\n"));
        if let Some(entry) = entry_point {
            source.push_str(&format!(
                "\nif globals().get('check') is not __rlvr_check_before:\n    check(globals()[{}])\n",
                py_json(&entry)
            ));
        }
        Ok(program(module, stdlib, "script", source))
    }
    fn title(&self) -> &'static str {
        "Python"
    }
    fn compiled(&self) -> bool {
        false
    }
    fn build_calls(
        &self,
        cx: &BuildContext<'_>,
        solution: &str,
        entry_point: &str,
        calls: &[CallArgs],
    ) -> Result<Program, BuildError> {
        check_size(cx, solution)?;
        let (module, stdlib) = runtime(cx)?;
        let cases: Vec<serde_json::Value> = calls.iter().map(|c| serde_json::json!([c.args, c.kwargs])).collect();
        let harness = format!(
            r#"

def __rlvr_call():
    import sys as _sys, json as _json, _rlvr
    _index = int(_sys.argv[-1])
    _args, _kwargs = {cases}[_index]
    _entry = {entry}
    _g = globals()
    if _entry in _g:
        _f = _g[_entry]
    elif "." in _entry or "(" in _entry:
        _f = eval(_entry, _g)
    elif "Solution" in _g:
        _f = getattr(_g["Solution"](), _entry)
    else:
        raise NameError("entry point %r is not defined" % _entry)
    try:
        _r = _f(*_args, **_kwargs)
    except Exception as _e:
        _rlvr.emit(_index, "err:%s: %s" % (type(_e).__name__, str(_e)[:500]))
        return
    try:
        _text = "ok:" + _json.dumps(_r)
    except Exception as _e:
        _text = "bad:%s: %s" % (type(_e).__name__, str(_e)[:500])
    _rlvr.emit(_index, _text)
__rlvr_call()
del __rlvr_call
"#,
            cases = py_json(&cases),
            entry = py_json(&entry_point)
        );
        Ok(program(module, stdlib, "script", format!("{solution}\n{harness}")))
    }
}

/// The harness of a pytest run: runs pytest on `test_solution.py` with a plugin that records every
/// collected item and every phase report, and hands one JSON report to the host with `_rlvr.emit`
/// (the host decides: see [`crate::code::unit`]). `test_*` names the test module merely imports
/// (`from heapq import merge as test_merge`, `from solution import *`) are not collected.
const PYTEST_HARNESS: &str = r#"
def __rlvr_pytest():
    import os, sys, json, inspect, _rlvr
    emit = _rlvr.emit
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.environ.setdefault("TMPDIR", "/tmp")
    sys.path.insert(0, "/.rlvr")
    sys.dont_write_bytecode = True
    os.chdir("/.rlvr")  # pytest returns to its start directory, and `/` is not in the sandbox
    if not hasattr(os, "getuid"):
        # WASI has no user ids; pytest's tmp_path reads -1 as "unknown" and skips its owner check.
        os.getuid = lambda: -1
    import pytest
    state = {"collected": [], "reports": [], "errors": [], "exitstatus": None}
    raised = {}

    def text(report):
        try:
            return str(report.longreprtext)[-800:]
        except Exception:
            return ""

    class Recorder:
        @pytest.hookimpl(tryfirst=True)
        def pytest_pycollect_makeitem(self, collector, name, obj):
            if isinstance(collector, pytest.Module) and (inspect.isfunction(obj) or inspect.isclass(obj)
                                                         or inspect.isbuiltin(obj)):
                if getattr(obj, "__module__", None) != collector.obj.__name__:
                    return []
            return None

        def pytest_collection_modifyitems(self, session, config, items):
            state["collected"] = [item.nodeid for item in items]

        def pytest_collectreport(self, report):
            if report.failed:
                state["errors"].append({"nodeid": report.nodeid, "message": text(report)})
            elif report.skipped:
                state["errors"].append({"nodeid": report.nodeid, "message": "skipped at collection: " + text(report)})

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_makereport(self, item, call):
            if call.excinfo is not None:
                raised[(item.nodeid, call.when)] = call.excinfo.type.__name__
            return None

        def pytest_runtest_logreport(self, report):
            outcome = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            state["reports"].append({"nodeid": report.nodeid, "when": report.when, "outcome": outcome,
                                     "exception": raised.get((report.nodeid, report.when), ""),
                                     "message": text(report) if report.outcome != "passed" else ""})

        def pytest_sessionfinish(self, session, exitstatus):
            state["exitstatus"] = int(exitstatus)

    args = ["-q", "-p", "no:cacheprovider", "-p", "no:faulthandler", "-p", "no:pastebin", "-p", "no:stepwise",
            "-p", "no:legacypath", "-p", "no:logging", "--capture=sys", "-c", "/.rlvr/pytest.ini", "--rootdir=/.rlvr", "--import-mode=prepend",
            "-o", "python_files=test_solution.py", "-o", "console_output_style=classic",
            "/.rlvr/test_solution.py"]
    pytest.main(args, plugins=[Recorder()])
    emit(0, json.dumps(state))
__rlvr_pytest()
del __rlvr_pytest
"#;

/// A pytest run of `tests` (the test module, as `test_solution.py`) against `solution` (as
/// `solution.py`), with the real pytest from the overlay; runs in `script` mode, so the host sees
/// `rlvr.finish` only when the harness returns.
pub fn build_pytest(cx: &BuildContext<'_>, solution: &str, tests: &str) -> Result<Program, BuildError> {
    check_size(cx, solution)?;
    let (module, ro_dirs) = pytest_runtime(cx)?;
    Ok(Program {
        module,
        args: vec!["python".into(), "script".into(), "/.rlvr/main.py".into()],
        files: vec![
            ("main.py".into(), PYTEST_HARNESS.as_bytes().to_vec()),
            ("solution.py".into(), solution.as_bytes().to_vec()),
            ("test_solution.py".into(), tests.as_bytes().to_vec()),
            // An explicit (empty) config: pytest's search for one would stat `/`, outside the sandbox.
            ("pytest.ini".into(), b"[pytest]\n".to_vec()),
        ],
        ro_dirs,
        entry: Entry::Command,
    })
}

fn check_size(cx: &BuildContext<'_>, source: &str) -> Result<(), BuildError> {
    if source.len() as u64 > cx.limits.source_bytes {
        return Err(BuildError::Compile(format!(
            "source is {} bytes, over the limit of {} bytes (source_bytes)",
            source.len(),
            cx.limits.source_bytes
        )));
    }
    Ok(())
}
