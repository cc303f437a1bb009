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
    // Compiled on this thread, like the sandbox's modules: the snapshot runs on a guest thread, and
    // wasmtime's parallel compilation would wait for rayon pool threads that may all be batch
    // workers waiting for their guest threads (see `Sandbox::new`).
    let mut config = Config::new();
    config.parallel_compilation(false);
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    let mut b = WasiCtxBuilder::new();
    b.args(&["python"]).insecure_random_seed(0x1234_5678);
    b.preopened_dir(stdlib, "/usr/local", FsPerms::ReadOnly).map_err(|e| e.to_string())?;
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
