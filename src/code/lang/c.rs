//! C: Debian's clang-22 to wasm32-wasi (wasi-libc), `-O2 -std=gnu17`, run by the sandbox.
//!
//! The clang driver (shared with [`super::cpp`]) compiles inside the compiler sandbox with a
//! private sysroot made of the wasm32-wasi headers and libraries only, links the stdin shim
//! (`verifiers/runtimes/rlvr_stdin.c`, which makes fd 0 the input file) and gives the program a
//! linear-memory stack of `stack_bytes`. Script tests are linked as a WASI *reactor*: the host runs
//! the constructors, then calls `main` itself and reads its return value, so an `exit(0)` in a
//! static initialiser or inside the solution can never pass for a completed test run.
//!
//! C++ exceptions: Debian's wasm32 libc++abi (LLVM 19 and 22 alike) is built without exception
//! support (no `__cxa_throw`). rlvr compiles the missing pieces itself, once, from the LLVM 22
//! sources vendored in `verifiers/runtimes/cxx-eh/` (libc++abi's `cxa_exception.cpp` and
//! `cxa_personality.cpp`, libunwind's `Unwind-wasm.c`, and the `__cpp_exception` tag) into one
//! relocatable object linked before libc++abi. Programs are built with `-fwasm-exceptions` in the
//! standard (exnref) encoding that wasmtime runs. Exceptions thrown by user code and by libc++'s
//! headers (`vector::at`, `throw` in templates) work. The same object carries libc++'s own
//! `string.cpp` compiled with exceptions (`std::stoi`/`stoll`/`stod`…, and `std::string`'s members,
//! which libc++.a instantiates), so the throws programs meet most (`stoi("abc")`, `s.at(9)`) reach
//! their `catch`; the linker then never takes Debian's exception-less copies from `libc++.a`. The
//! remaining throws compiled into `libc++.a` (iostreams' `exceptions()`, `std::regex_error`, …)
//! abort, and the verdict is an RE that says so.

use std::sync::Arc;

use super::{BuildContext, Language, Program, build_wasm};
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
    /// `clang-22 -std=gnu17`.
    C,
    /// `clang++-22 -std=gnu++17` with libc++ and Wasm exceptions.
    Cpp,
}

/// Where Debian's LLVM 22 keeps libc++ for wasm32 (headers, then libraries).
const LIBCXX_INCLUDE: &str = "/usr/lib/llvm-22/include/wasm32-wasi/c++/v1";
const LIBCXX_LIB: &str = "/usr/lib/llvm-22/lib/wasm32-wasi";

/// Flags every C++ object needs for exceptions in the encoding wasmtime implements.
const CXX_EH_FLAGS: [&str; 3] = ["-fwasm-exceptions", "-mllvm", "-wasm-use-legacy-eh=false"];

macro_rules! vendored {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../../verifiers/runtimes/cxx-eh/", $path)))),*]
    };
}

/// The vendored LLVM 22 sources of the C++ exception runtime (`verifiers/runtimes/cxx-eh/`).
const CXX_EH_SOURCES: &[(&str, &[u8])] = vendored![
    "rlvr_eh.cpp",
    "libcxxabi/src/cxa_exception.cpp",
    "libcxxabi/src/cxa_exception.h",
    "libcxxabi/src/cxa_handlers.h",
    "libcxxabi/src/cxa_personality.cpp",
    "libcxxabi/src/fallback_malloc.h",
    "libcxxabi/src/private_typeinfo.h",
    "libcxx/src/include/atomic_support.h",
    "libcxx/src/string.cpp",
    "libunwind/include/__libunwind_config.h",
    "libunwind/include/unwind.h",
    "libunwind/include/unwind_itanium.h",
    "libunwind/src/Unwind-wasm.c",
    "libunwind/src/config.h",
    "rlvr_new.cpp",
    "rlvr_fstream.cpp",
];

/// rlvr's override of libc++'s `__config_site` (file streams on; see the file).
const LIBCXX_CONFIG: &[u8] = include_bytes!("../../../verifiers/runtimes/libcxx-config/__config_site");
/// Where the override sits in the compiler sandbox (searched before libc++'s own headers).
const LIBCXX_CONFIG_DIR: &str = "/src/libcxx-config";
/// testlib.h (`verifiers/runtimes/testlib/`, MIT), offered to every C++ build as `#include "testlib.h"`.
pub const TESTLIB_H: &str = include_str!("../../../verifiers/runtimes/testlib/testlib.h");

/// Flags that keep allocation observable: clang may otherwise delete a `malloc` whose result is only
/// tested against NULL (and fold the test to "non-NULL"), so a loop that allocates until malloc fails
/// never sees the failure the memory limit produces; native judges' GCC builds keep such calls.
const ALLOC_FLAGS: [&str; 3] = ["-fno-builtin-malloc", "-fno-builtin-calloc", "-fno-builtin-realloc"];

fn clang_argv(driver: &str) -> Vec<String> {
    [driver, "--target=wasm32-wasi", "-Wno-deprecated", "--sysroot=/sysroot", "-O2", "-fdiagnostics-color=never"]
        .map(String::from)
        .to_vec()
}

fn sysroot_mounts() -> Vec<(std::path::PathBuf, String)> {
    vec![
        ("/usr/include/wasm32-wasi".into(), "/sysroot/include/wasm32-wasi".into()),
        ("/usr/lib/wasm32-wasi".into(), "/sysroot/lib/wasm32-wasi".into()),
    ]
}

/// The C++ exception runtime as one relocatable Wasm object, compiled once (cached like programs).
fn cxx_eh_object(cx: &BuildContext<'_>) -> Result<Arc<Vec<u8>>, BuildError> {
    let mut argv = clang_argv("clang++-22");
    argv.extend(CXX_EH_FLAGS.map(String::from));
    argv.extend(
        [
            "-w",
            "-DNDEBUG",
            "-std=c++20",
            "-nostdinc++",
            "-isystem",
            LIBCXX_CONFIG_DIR,
            "-isystem",
            LIBCXX_INCLUDE,
            "-Ilibcxxabi/src",
            "-Ilibunwind/include",
            "-Ilibunwind/src",
            "-Ilibcxx/src",
            "-D_LIBCXXABI_HAS_NO_THREADS",
            "-D_LIBCXXABI_BUILDING_LIBRARY",
            "-D_LIBCPP_BUILDING_LIBRARY",
            "-D_LIBUNWIND_HIDE_SYMBOLS",
            "libcxxabi/src/cxa_exception.cpp",
            "libcxxabi/src/cxa_personality.cpp",
            "libcxx/src/string.cpp",
            "rlvr_eh.cpp",
            "rlvr_new.cpp",
            "rlvr_fstream.cpp",
            "-nostdlib",
            "-nostartfiles",
            "-r",
            "-o",
            "rlvr_eh.o",
        ]
        .map(String::from),
    );
    let job = CompileJob {
        language: "cpp-eh-runtime",
        argv,
        sources: CXX_EH_SOURCES
            .iter()
            .map(|(name, bytes)| (name.to_string(), *bytes))
            .chain([("libcxx-config/__config_site".to_string(), LIBCXX_CONFIG)])
            .collect(),
        output: "rlvr_eh.o",
        mounts: sysroot_mounts(),
    };
    // The runtime is ours, not the submission's: any failure is the toolchain's.
    compile_cached(&job, cx.limits)
        .map_err(|e| BuildError::Toolchain(format!("building the C++ exception runtime: {e}")))
}

/// Compiles one C or C++ translation unit (plus the stdin shim) and loads it.
pub fn clang_build(
    cx: &BuildContext<'_>,
    dialect: Dialect,
    source: &str,
    reactor: bool,
) -> Result<Program, BuildError> {
    let main_file = match dialect {
        Dialect::C => "main.c",
        Dialect::Cpp => "main.cpp",
    };
    clang_build_files(cx, dialect, &[(main_file, source)], reactor)
}

/// Whether a file name is a C or C++ translation unit (the rest of a multi-file build are headers).
pub fn is_translation_unit(name: &str) -> bool {
    [".c", ".cc", ".cpp", ".cxx", ".c++", ".C"].iter().any(|ext| name.ends_with(ext))
}

/// Compiles several C or C++ files (every translation unit among them, plus the stdin shim; the
/// others are headers found by `#include "name"`) and loads the program. The first file is the one
/// `source_bytes` counts and names the module. `testlib.h` is on the include path of C++ builds.
pub fn clang_build_files(
    cx: &BuildContext<'_>,
    dialect: Dialect,
    files: &[(&str, &str)],
    reactor: bool,
) -> Result<Program, BuildError> {
    let (driver, std, shim_file, language) = match dialect {
        Dialect::C => ("clang-22", "-std=gnu17", "rlvr_stdin.c", "c"),
        Dialect::Cpp => ("clang++-22", "-std=gnu++17", "rlvr_stdin.cc", "cpp"),
    };
    let main_file = files.first().map_or("main.c", |(name, _)| *name);
    let mut argv = clang_argv(driver);
    argv.push(std.into());
    argv.extend(ALLOC_FLAGS.map(String::from));
    let eh_object;
    let mut sources: Vec<(String, &[u8])> =
        files.iter().map(|(name, text)| (name.to_string(), text.as_bytes())).collect();
    sources.extend([
        (shim_file.to_string(), STDIN_SHIM.as_bytes()),
        ("include/bits/stdc++.h".to_string(), BITS_STDCXX.as_bytes()),
    ]);
    if dialect == Dialect::Cpp {
        eh_object = cxx_eh_object(cx)?;
        sources.push(("rlvr_eh.o".to_string(), eh_object.as_slice()));
        sources.push(("libcxx-config/__config_site".to_string(), LIBCXX_CONFIG));
        sources.push(("include/testlib.h".to_string(), TESTLIB_H.as_bytes()));
        argv.extend(CXX_EH_FLAGS.map(String::from));
        // Debian links libc++ into the wasm32 libdir with relative symlinks that point outside the
        // private sysroot, so name libc++'s real directory.
        argv.extend(["-nostdinc++", "-isystem", LIBCXX_CONFIG_DIR, "-isystem", LIBCXX_INCLUDE].map(String::from));
        argv.push(format!("-L{LIBCXX_LIB}"));
    }
    argv.extend(
        [
            "-isystem",
            "/src/include",
            "-D_WASI_EMULATED_SIGNAL",
            "-D_WASI_EMULATED_PROCESS_CLOCKS",
            "-D_WASI_EMULATED_GETPID",
        ]
        .map(String::from),
    );
    argv.extend(files.iter().filter(|(name, _)| is_translation_unit(name)).map(|(name, _)| name.to_string()));
    argv.push(shim_file.into());
    if dialect == Dialect::Cpp {
        argv.push("rlvr_eh.o".into());
    }
    argv.extend(["-o", "main.wasm"].map(String::from));
    argv.push(format!("-Wl,-z,stack-size={}", cx.limits.stack_bytes));
    argv.extend(["-Wl,--strip-debug", "-lm"].map(String::from));
    argv.extend(
        ["-lwasi-emulated-signal", "-lwasi-emulated-process-clocks", "-lwasi-emulated-getpid"].map(String::from),
    );
    if reactor {
        argv.extend(["-mexec-model=reactor", "-Wl,--export=__main_void"].map(String::from));
    }
    let job = CompileJob { language, argv, sources, output: "main.wasm", mounts: sysroot_mounts() };
    build_wasm(cx, &job, main_file, if reactor { Entry::Reactor } else { Entry::Command }, explain_clang)
}

/// Adds the reason to compile errors whose cause is the platform rather than the program.
fn explain_clang(text: &str) -> String {
    if text.contains("wasm lacks") || text.contains("not supported on WASI") {
        format!("the program uses an OS feature WASI preview 1 does not have\n{text}")
    } else {
        text.to_string()
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
        "clang-22 -O2 -std=gnu17 → wasm32-wasi (wasi-libc), 32 MiB stack by default; script tests: solution + main, main's return checked by the host"
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
    fn title(&self) -> &'static str {
        "C"
    }
}
