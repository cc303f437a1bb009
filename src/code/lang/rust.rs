//! Rust: `rustc --edition 2021 -O --target wasm32-wasip1` from the rustup toolchain (setup runs
//! `rustup target add wasm32-wasip1`), with a linear-memory stack of `stack_bytes` (Rust's usual
//! 1 MiB is too small for deep DFS).
//!
//! The toolchain's sysroot is mounted read-only at `/rust` in the compiler sandbox. Script tests
//! are built as a `cdylib` whose exported `rlvr_main` calls the test's `main` and returns 0 to the
//! host: `std::process::exit(0)` inside the solution ends the run without that return and fails.
//!
//! Threads: wasm32-wasip1 has none, so the submission is compiled against rlvr's `std`
//! (`verifiers/runtimes/rust_std_thread.rs`, passed as `--extern std=`): the real standard
//! library re-exported whole, except that `thread::spawn` and `thread::Builder::spawn` run the
//! closure to completion at once and `join` returns its result. That makes the big-stack idiom
//! (`Builder::new().stack_size(1 << 26).spawn(main2).unwrap().join()`) work on the program's own
//! stack of `stack_bytes`; a thread spawned from inside a spawned closure (real concurrency) panics
//! with a message saying so.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::{BuildContext, Language, Program, build_wasm};
use crate::code::compile::{BuildError, CompileJob, compile_cached};
use crate::code::sandbox::Entry;

/// The Rust language.
pub struct Rust;

/// rlvr's `std` facade (threads that run to completion when spawned).
const STD_FACADE: &str = include_str!("../../../verifiers/runtimes/rust_std_thread.rs");

/// The toolchain: its sysroot and `rustc --version` (which keys the cached `std` facade).
fn sysroot() -> Result<(PathBuf, String), BuildError> {
    static SYSROOT: OnceLock<Option<(PathBuf, String)>> = OnceLock::new();
    SYSROOT
        .get_or_init(|| {
            let out = std::process::Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
            let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
            let version = std::process::Command::new("rustc").arg("--version").output().ok()?;
            let version = String::from_utf8(version.stdout).ok()?;
            path.join("lib/rustlib/wasm32-wasip1").exists().then_some((path, version))
        })
        .clone()
        .ok_or_else(|| {
            BuildError::Toolchain(
                "rustc with the wasm32-wasip1 target was not found; run `.ci/install-code-runtimes.sh` \
                 (it runs `rustup target add wasm32-wasip1`)"
                    .into(),
            )
        })
}

/// The start of every rustc command line in the compiler sandbox.
fn rustc_argv() -> Vec<String> {
    // The sandbox has no /proc, so the loader cannot resolve rustc's `$ORIGIN` runpath: name the dir.
    let mut argv: Vec<String> = [
        "/usr/bin/env",
        "LD_LIBRARY_PATH=/rust/lib",
        "/rust/bin/rustc",
        "--edition",
        "2021",
        "-O",
        "--target",
        "wasm32-wasip1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(["-A", "warnings", "--color", "never", "-C", "debuginfo=0", "-C", "strip=debuginfo"].map(String::from));
    argv
}

/// Compiles rlvr's `std` facade for this toolchain, once (cached like programs).
fn std_facade(cx: &BuildContext<'_>, sysroot: &Path, version: &str) -> Result<Arc<Vec<u8>>, BuildError> {
    let mut argv = rustc_argv();
    argv.extend(
        ["--crate-type", "rlib", "--crate-name", "std", "-C", "metadata=rlvr", "std.rs", "-o", "libstd_rlvr.rlib"]
            .map(String::from),
    );
    let job = CompileJob {
        language: "rust-std-facade",
        argv,
        // The version is hashed with the sources: a new rustc never reuses an old facade.
        sources: vec![("std.rs".into(), STD_FACADE.as_bytes()), ("rustc-version".into(), version.as_bytes())],
        output: "libstd_rlvr.rlib",
        mounts: vec![(sysroot.to_path_buf(), "/rust".into())],
    };
    compile_cached(&job, cx.limits).map_err(|e| BuildError::Toolchain(format!("building rlvr's Rust std facade: {e}")))
}

fn build(cx: &BuildContext<'_>, source: &str, script: bool) -> Result<Program, BuildError> {
    let (sysroot, version) = sysroot()?;
    let facade = std_facade(cx, &sysroot, &version)?;
    let mut argv = rustc_argv();
    argv.extend(["--extern", "std=libstd_rlvr.rlib"].map(String::from));
    argv.push("-C".into());
    argv.push(format!("link-arg=-zstack-size={}", cx.limits.stack_bytes));
    let source = if script {
        argv.extend(["--crate-type", "cdylib"].map(String::from));
        format!(
            "{source}\n\n#[unsafe(no_mangle)]\npub extern \"C\" fn rlvr_main() -> i32 {{\n    let _ = main();\n    \
             use std::io::Write as _;\n    let _ = std::io::stdout().flush();\n    0\n}}\n"
        )
    } else {
        source.to_string()
    };
    argv.extend(["main.rs", "-o", "main.wasm"].map(String::from));
    let job = CompileJob {
        language: "rust",
        argv,
        sources: vec![("main.rs".into(), source.as_bytes()), ("libstd_rlvr.rlib".into(), facade.as_slice())],
        output: "main.wasm",
        mounts: vec![(sysroot, "/rust".into())],
    };
    build_wasm(cx, &job, "main.rs", if script { Entry::Reactor } else { Entry::Command }, str::to_string)
}

/// Whether a Rust script is a libtest module (the HumanEval-Rust form: `#[test]` functions, usually
/// in `#[cfg(test)] mod tests`), built with `rustc --test` rather than as a `main`.
pub fn is_libtest(script: &str) -> bool {
    script.contains("#[test]")
}

/// Builds solution + test module with libtest (`rustc --test`). The harness's `main` is exported
/// (`__main_void`) and called by the host as a reactor main, so a test that calls
/// `std::process::exit(0)` ends the run without the return value the host waits for.
pub fn build_libtest(cx: &BuildContext<'_>, source: &str) -> Result<Program, BuildError> {
    let (sysroot, version) = sysroot()?;
    let facade = std_facade(cx, &sysroot, &version)?;
    let mut argv = rustc_argv();
    argv.extend(
        ["--test", "--extern", "std=libstd_rlvr.rlib", "-C", "link-arg=--export=__main_void"].map(String::from),
    );
    argv.push("-C".into());
    argv.push(format!("link-arg=-zstack-size={}", cx.limits.stack_bytes));
    argv.extend(["main.rs", "-o", "main.wasm"].map(String::from));
    let job = CompileJob {
        language: "rust-libtest",
        argv,
        sources: vec![("main.rs".into(), source.as_bytes()), ("libstd_rlvr.rlib".into(), facade.as_slice())],
        output: "main.wasm",
        mounts: vec![(sysroot, "/rust".into())],
    };
    build_wasm(cx, &job, "main.rs (libtest)", Entry::Reactor, str::to_string)
}

impl Language for Rust {
    fn name(&self) -> &'static str {
        "rust"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["rs"]
    }
    fn doc(&self) -> &'static str {
        "rustc -O --edition 2021 --target wasm32-wasip1, 32 MiB stack by default; script tests: solution + main, built as a cdylib whose main is called by the host"
    }
    fn build_main(&self, cx: &BuildContext<'_>, source: &str) -> Result<Program, BuildError> {
        build(cx, source, false)
    }
    fn build_script(
        &self,
        cx: &BuildContext<'_>,
        solution: &str,
        script: &str,
        _entry_point: Option<&str>,
    ) -> Result<Program, BuildError> {
        build(cx, &format!("{solution}\n\n{script}\n"), true)
    }
    fn title(&self) -> &'static str {
        "Rust"
    }
}
