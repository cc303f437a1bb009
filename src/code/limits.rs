//! Every limit of the code verifier, in one documented struct.
//!
//! CPU time is measured in wasmtime *fuel* (about one unit per executed Wasm instruction), so the
//! same program gets the same verdict on any machine under any load. A wall-clock backstop catches
//! time spent outside Wasm (the host side of WASI calls); guest `sleep`s are virtual and count
//! against `wall_ms` directly. How fuel maps to seconds depends on the language (measured on this
//! project's build box, single core, see `CodeLimits::fuel`):
//!
//! | language | fuel per guest CPU second |
//! |---|---|
//! | Python (CPython 3.11 WASI) | about 7e9–9e9: 2·10^6 rounds of a 64-bit xorshift on Python ints cost 1.9e10 fuel in 2.7 s (`examples/fuel_rate.rs`, load ≈ 3); a 10^6-iteration `s += i` loop costs 2.3e9 fuel and 0.27 s (shared/recipes/cpython-wasi.md) |
//! | C / C++ / Rust (`-O2`) | about 1e10: 2·10^8 xorshift rounds cost 3.4e9 fuel (17 per round, one per Wasm instruction) in 0.33–0.35 s (`examples/fuel_rate.rs`) |
//!
//! So the default 20e9 fuel is about 2–3 s of CPython-on-WASI work (about 0.5 s of native CPython)
//! or about 2 s of compiled C, C++ or Rust. Measure on your own machine with
//! `cargo run --release --example fuel_rate`.
//!
//! Limits are set per engine ([`crate::batch::EngineConfig`]), and a sample may lower or raise them
//! with a `limits` object inside `tests` (same field names); [`CodeLimits::merge_json`] checks them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One mebibyte.
pub const MIB: u64 = 1 << 20;

/// Resource limits for compiling and running one submission. Every field names its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeLimits {
    /// CPU budget per test run, in wasmtime fuel (default 20e9 ≈ 2 s of CPython on WASI).
    /// At the limit the run stops with `TLE` (`limit: "fuel"`).
    pub fuel: u64,
    /// Wall-clock budget per test run in milliseconds, including virtual `sleep` time (default 10 000).
    /// Past it: `TLE` (`limit: "wall"`).
    pub wall_ms: u64,
    /// Guest linear memory in bytes (default 256 MiB). A `memory.grow` past it fails (malloc returns
    /// NULL, Python raises MemoryError); a run that hit it and did not pass is `MLE`.
    pub memory_bytes: u64,
    /// Bytes of stdout per run (default 8 MiB). Past it: `OLE`, stopped within one epoch tick (10 ms).
    pub output_bytes: u64,
    /// Bytes of stderr kept per run (default 64 KiB); more is dropped, never an error.
    pub stderr_bytes: u64,
    /// Linear-memory (C shadow) stack given to C, C++ and Rust programs in bytes (default 32 MiB;
    /// Rust's usual 1 MiB is too small for deep DFS). Overflowing it is `RE` with a stack message.
    pub stack_bytes: u64,
    /// Wall-clock budget for one compilation in milliseconds (default 30 000). Past it: `CE`.
    pub compile_ms: u64,
    /// Address-space limit for the compiler process in bytes (default 4 GiB). Past it: `CE`.
    pub compile_memory_bytes: u64,
    /// Largest accepted program source in bytes (default 1 MiB). Past it: `CE`.
    pub source_bytes: u64,
    /// Most tests run per sample (default 1 000). More: the sample is an error.
    pub tests: u64,
}

impl Default for CodeLimits {
    fn default() -> Self {
        CodeLimits {
            fuel: 20_000_000_000,
            wall_ms: 10_000,
            memory_bytes: 256 * MIB,
            output_bytes: 8 * MIB,
            stderr_bytes: 64 * 1024,
            stack_bytes: 32 * MIB,
            compile_ms: 30_000,
            compile_memory_bytes: 4096 * MIB,
            source_bytes: MIB,
            tests: 1_000,
        }
    }
}

/// The largest memory a guest may be given: the wasm32 address space (4 GiB).
pub const MAX_MEMORY_BYTES: u64 = 4096 * MIB;

/// Why a `limits` object is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// The object does not match [`CodeLimits`].
    #[error("invalid code limits: {0}")]
    Invalid(String),
    /// A value is outside what the sandbox can enforce.
    #[error("code limit `{field}` = {value} is out of range (1..={max})")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The largest allowed value.
        max: u64,
    },
}

impl CodeLimits {
    /// These limits with the fields of a JSON object (e.g. `tests.limits`) overriding them.
    pub fn merge_json(&self, value: &Value) -> Result<CodeLimits, LimitsError> {
        let mut merged = serde_json::to_value(self).map_err(|e| LimitsError::Invalid(e.to_string()))?;
        let (Value::Object(base), Value::Object(over)) = (&mut merged, value) else {
            return Err(LimitsError::Invalid("`limits` must be an object".into()));
        };
        for (k, v) in over {
            base.insert(k.clone(), v.clone());
        }
        let limits: CodeLimits = serde_json::from_value(merged).map_err(|e| LimitsError::Invalid(e.to_string()))?;
        limits.validate()?;
        Ok(limits)
    }

    /// Checks that every limit is positive and enforceable.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let check = |field: &'static str, value: u64, max: u64| {
            if value == 0 || value > max { Err(LimitsError::OutOfRange { field, value, max }) } else { Ok(()) }
        };
        check("fuel", self.fuel, u64::MAX / 2)?;
        check("wall_ms", self.wall_ms, 3_600_000)?;
        check("memory_bytes", self.memory_bytes, MAX_MEMORY_BYTES)?;
        check("output_bytes", self.output_bytes, 1024 * MIB)?;
        check("stderr_bytes", self.stderr_bytes, 64 * MIB)?;
        check("stack_bytes", self.stack_bytes, 1024 * MIB)?;
        check("compile_ms", self.compile_ms, 3_600_000)?;
        check("compile_memory_bytes", self.compile_memory_bytes, 64 * 1024 * MIB)?;
        check("source_bytes", self.source_bytes, 64 * MIB)?;
        check("tests", self.tests, 1_000_000)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_overrides_and_rejects_unknown_fields() {
        let l = CodeLimits::default().merge_json(&serde_json::json!({"fuel": 5, "wall_ms": 7})).unwrap();
        assert_eq!((l.fuel, l.wall_ms, l.memory_bytes), (5, 7, 256 * MIB));
        assert!(matches!(
            CodeLimits::default().merge_json(&serde_json::json!({"cpu": 1})),
            Err(LimitsError::Invalid(_))
        ));
    }

    #[test]
    fn memory_limit_boundary() {
        let at = serde_json::json!({ "memory_bytes": MAX_MEMORY_BYTES });
        assert!(CodeLimits::default().merge_json(&at).is_ok());
        let past = serde_json::json!({ "memory_bytes": MAX_MEMORY_BYTES + 1 });
        assert!(matches!(
            CodeLimits::default().merge_json(&past),
            Err(LimitsError::OutOfRange { field: "memory_bytes", .. })
        ));
        assert!(CodeLimits::default().merge_json(&serde_json::json!({ "fuel": 0 })).is_err());
    }
}
