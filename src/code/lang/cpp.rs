//! C++: Debian's clang++-22 to wasm32-wasi with libc++ 22, `-O2 -std=gnu++17`, `bits/stdc++.h`
//! provided (`verifiers/runtimes/include`), exceptions on (`-fwasm-exceptions`, with the exception
//! runtime rlvr builds: see [`super::c`]). Shares the clang driver with C.

use super::c::{Dialect, clang_build};
use super::{BuildContext, Language, Program};
use crate::code::compile::BuildError;

/// The C++ language.
pub struct Cpp;

impl Language for Cpp {
    fn name(&self) -> &'static str {
        "cpp"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["c++", "cxx", "cc", "cpp17"]
    }
    fn doc(&self) -> &'static str {
        "clang++-22 -O2 -std=gnu++17 + libc++ → wasm32-wasi, bits/stdc++.h provided, exceptions via Wasm exception handling; script tests: solution + main, main's return checked by the host"
    }
    fn build_main(&self, cx: &BuildContext<'_>, source: &str) -> Result<Program, BuildError> {
        clang_build(cx, Dialect::Cpp, source, false)
    }
    fn build_script(
        &self,
        cx: &BuildContext<'_>,
        solution: &str,
        script: &str,
        _entry_point: Option<&str>,
    ) -> Result<Program, BuildError> {
        clang_build(cx, Dialect::Cpp, &format!("{solution}\n\n{script}\n"), true)
    }
    fn title(&self) -> &'static str {
        "C++"
    }
}
