//! Rust: `rustc --edition 2021 -O --target wasm32-wasip1` from the rustup toolchain (setup runs
//! `rustup target add wasm32-wasip1`), with a linear-memory stack of `stack_bytes` (Rust's usual
//! 1 MiB is too small for deep DFS).
//!
//! The toolchain's sysroot is mounted read-only at `/rust` in the compiler sandbox. Script tests
//! are built as a `cdylib` whose exported `rlvr_main` calls the test's `main` and returns 0 to the
//! host: `std::process::exit(0)` inside the solution ends the run without that return and fails.
//! Known failure: `std::thread::spawn` returns an error on wasm32-wasip1 (no threads), so the
//! "big stack thread" idiom panics; raise `stack_bytes` instead.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{BuildContext, CallArgs, Language, Program, calls_unsupported, load_module};
use crate::code::compile::{BuildError, CompileJob, compile_cached};
use crate::code::sandbox::Entry;

/// The Rust language.
pub struct Rust;

fn sysroot() -> Result<PathBuf, BuildError> {
    static SYSROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    SYSROOT
        .get_or_init(|| {
            let out = std::process::Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
            let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
            path.join("lib/rustlib/wasm32-wasip1").exists().then_some(path)
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

fn build(cx: &BuildContext<'_>, source: &str, script: bool) -> Result<Program, BuildError> {
    let sysroot = sysroot()?;
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
        sources: vec![("main.rs".into(), source.as_bytes())],
        output: "main.wasm",
        mounts: vec![(sysroot, "/rust".into())],
    };
    let wasm = compile_cached(&job, cx.limits).map_err(|e| match e {
        BuildError::Compile(text) => BuildError::Compile(text.replace("/src/", "")),
        other => other,
    })?;
    let module = load_module(cx, &wasm, "main.rs")?;
    Ok(Program {
        module,
        args: vec!["main".into()],
        files: Vec::new(),
        ro_dirs: Vec::new(),
        entry: if script { Entry::Reactor } else { Entry::Command },
    })
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
    fn build_calls(
        &self,
        _cx: &BuildContext<'_>,
        _solution: &str,
        _entry_point: &str,
        _calls: &[CallArgs],
    ) -> Result<Program, BuildError> {
        Err(calls_unsupported("Rust"))
    }
}
