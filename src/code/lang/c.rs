//! C: Debian's clang-16 to wasm32-wasi (wasi-libc), `-O2 -std=gnu17`, run by the sandbox.
//!
//! The clang driver (shared with [`super::cpp`]) compiles inside the compiler sandbox with a
//! private sysroot made of the wasm32-wasi headers and libraries only, links the stdin shim
//! (`verifiers/runtimes/rlvr_stdin.c`, which makes fd 0 the input file) and gives the program a
//! linear-memory stack of `stack_bytes`. Script tests are linked as a WASI *reactor*: the host runs
//! the constructors, then calls `main` itself and reads its return value, so an `exit(0)` in a
//! static initialiser or inside the solution can never pass for a completed test run.

use std::path::PathBuf;

use super::{BuildContext, CallArgs, Language, Program, calls_unsupported, load_module};
use crate::code::compile::{BuildError, CompileJob, compile_cached};
use crate::code::sandbox::Entry;

/// The stdin shim linked into every C/C++ program.
pub const STDIN_SHIM: &str = include_str!("../../../verifiers/runtimes/rlvr_stdin.c");
/// `bits/stdc++.h` for libc++.
pub const BITS_STDCXX: &str = include_str!("../../../verifiers/runtimes/include/bits/stdc++.h");

/// The C language.
pub struct C;

/// Which clang front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `clang-16 -std=gnu17`.
    C,
    /// `clang++-16 -std=gnu++17` with libc++.
    Cpp,
}

/// Compiles one C or C++ translation unit (plus the stdin shim) and loads it.
pub fn clang_build(
    cx: &BuildContext<'_>,
    dialect: Dialect,
    source: &str,
    reactor: bool,
) -> Result<Program, BuildError> {
    let (driver, std, main_file, shim_file, language) = match dialect {
        Dialect::C => ("clang-16", "-std=gnu17", "main.c", "rlvr_stdin.c", "c"),
        Dialect::Cpp => ("clang++-16", "-std=gnu++17", "main.cpp", "rlvr_stdin.cc", "cpp"),
    };
    let mut argv: Vec<String> = [driver, "--target=wasm32-wasi", "--sysroot=/sysroot", "-O2", std, "-fno-exceptions"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if dialect == Dialect::Cpp {
        // Debian links libc++ into the wasm32 libdir with relative symlinks that point outside the
        // private sysroot, so name libc++'s real directory.
        argv.extend(
            [
                "-nostdinc++",
                "-isystem",
                "/usr/lib/llvm-16/include/wasm32-wasi/c++/v1",
                "-L/usr/lib/llvm-16/lib/wasm32-wasi",
            ]
            .map(String::from),
        );
    }
    argv.extend(
        [
            "-isystem",
            "/src/include",
            "-D_WASI_EMULATED_SIGNAL",
            "-D_WASI_EMULATED_PROCESS_CLOCKS",
            "-D_WASI_EMULATED_GETPID",
            "-fdiagnostics-color=never",
            main_file,
            shim_file,
            "-o",
            "main.wasm",
        ]
        .map(String::from),
    );
    argv.push(format!("-Wl,-z,stack-size={}", cx.limits.stack_bytes));
    argv.extend(["-Wl,--strip-debug", "-lm"].map(String::from));
    argv.extend(
        ["-lwasi-emulated-signal", "-lwasi-emulated-process-clocks", "-lwasi-emulated-getpid"].map(String::from),
    );
    if reactor {
        argv.extend(["-mexec-model=reactor", "-Wl,--export=__main_void"].map(String::from));
    }
    let job = CompileJob {
        language,
        argv,
        sources: vec![
            (main_file.to_string(), source.as_bytes()),
            (shim_file.to_string(), STDIN_SHIM.as_bytes()),
            ("include/bits/stdc++.h".to_string(), BITS_STDCXX.as_bytes()),
        ],
        output: "main.wasm",
        mounts: vec![
            (PathBuf::from("/usr/include/wasm32-wasi"), "/sysroot/include/wasm32-wasi".into()),
            (PathBuf::from("/usr/lib/wasm32-wasi"), "/sysroot/lib/wasm32-wasi".into()),
        ],
    };
    let wasm = compile_cached(&job, cx.limits).map_err(|e| match e {
        BuildError::Compile(text) => BuildError::Compile(explain_clang(&text)),
        other => other,
    })?;
    let module = load_module(cx, &wasm, main_file)?;
    Ok(Program {
        module,
        args: vec!["main".into()],
        files: Vec::new(),
        ro_dirs: Vec::new(),
        entry: if reactor { Entry::Reactor } else { Entry::Command },
    })
}

/// Adds the reason to compile errors whose cause is the platform rather than the program.
fn explain_clang(text: &str) -> String {
    let text = text.replace("/src/", "");
    if text.contains("exceptions disabled") || text.contains("__cxa_throw") || text.contains("__cxa_begin_catch") {
        format!(
            "C++ exceptions are not supported: Debian's wasm32 libc++abi (LLVM 16) is built without exception \
             support, so `throw`/`try` cannot be compiled for WASI here (known failure)\n{text}"
        )
    } else if text.contains("wasm lacks") || text.contains("not supported on WASI") {
        format!("the program uses an OS feature WASI preview 1 does not have\n{text}")
    } else {
        text
    }
}

impl Language for C {
    fn name(&self) -> &'static str {
        "c"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["c11", "c17", "gnu17"]
    }
    fn doc(&self) -> &'static str {
        "clang-16 -O2 -std=gnu17 → wasm32-wasi (wasi-libc), 32 MiB stack by default; script tests: solution + main, main's return checked by the host"
    }
    fn build_main(&self, cx: &BuildContext<'_>, source: &str) -> Result<Program, BuildError> {
        clang_build(cx, Dialect::C, source, false)
    }
    fn build_script(
        &self,
        cx: &BuildContext<'_>,
        solution: &str,
        script: &str,
        _entry_point: Option<&str>,
    ) -> Result<Program, BuildError> {
        clang_build(cx, Dialect::C, &format!("{solution}\n\n{script}\n"), true)
    }
    fn build_calls(
        &self,
        _cx: &BuildContext<'_>,
        _solution: &str,
        _entry_point: &str,
        _calls: &[CallArgs],
    ) -> Result<Program, BuildError> {
        Err(calls_unsupported("C"))
    }
}
