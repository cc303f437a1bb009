//! How wasmtime fuel maps to seconds, per language: runs the same CPU-bound program (an xorshift
//! mix over `n` rounds, `n` read from stdin so no compiler can fold it away) in each language's
//! sandbox and prints fuel used, wall time and fuel per second. Wall time includes
//! instantiation (~0.1 ms), so use an `n` that runs for at least a few hundred milliseconds.
//!
//! `cargo run --release --example fuel_rate [N_COMPILED] [N_PYTHON]` (defaults 200000000 and
//! 2000000; needs `.ci/install-code-runtimes.sh`). Measure on an idle core: fuel is exact, the
//! seconds are not.

use rlvr::code::CodeLimits;
use rlvr::code::run::{ProgramJob, run_program};

const PROGRAMS: &[(&str, &str)] = &[
    (
        "c",
        "#include <stdio.h>\nint main(void){ unsigned long long n, x = 88172645463325252ULL; \
         if (scanf(\"%llu\", &n) != 1) return 1; for (unsigned long long i = 0; i < n; i++) \
         { x ^= x << 13; x ^= x >> 7; x ^= x << 17; } printf(\"%llu\\n\", x); return 0; }\n",
    ),
    (
        "cpp",
        "#include <bits/stdc++.h>\nint main(){ unsigned long long n, x = 88172645463325252ULL; std::cin >> n; \
         for (unsigned long long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; } \
         std::cout << x << '\\n'; }\n",
    ),
    (
        "rust",
        "use std::io::Read;\nfn main(){ let mut s = String::new(); std::io::stdin().read_to_string(&mut s).unwrap(); \
         let n: u64 = s.trim().parse().unwrap(); let mut x: u64 = 88172645463325252; \
         for _ in 0..n { x ^= x << 13; x ^= x >> 7; x ^= x << 17; } println!(\"{x}\"); }\n",
    ),
    (
        "python",
        "n = int(input())\nx = 88172645463325252\nM = (1 << 64) - 1\nfor _ in range(n):\n    \
         x ^= (x << 13) & M\n    x ^= x >> 7\n    x ^= (x << 17) & M\nprint(x)\n",
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n_compiled: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200_000_000);
    let n_python: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2_000_000);
    let limits = CodeLimits { fuel: u64::MAX / 4, wall_ms: 600_000, ..CodeLimits::default() };
    println!("| language | rounds | fuel | wall (s) | fuel per second | fuel per round | exit |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (language, source) in PROGRAMS {
        let n = if *language == "python" { n_python } else { n_compiled };
        let stdin = format!("{n}\n");
        // The first run builds (and caches) the program; the second is the one measured.
        let job = ProgramJob { language, source, stdin: stdin.as_bytes(), limits };
        run_program(&job)?;
        let report = run_program(&job)?;
        let Some(run) = report.run else {
            println!("| {language} | build failed: {:?} |", report.build);
            continue;
        };
        let secs = run.wall.as_secs_f64();
        println!(
            "| {language} | {n} | {:.3e} | {secs:.3} | {:.2e} | {:.1} | {:?} |",
            run.fuel as f64,
            run.fuel as f64 / secs,
            run.fuel as f64 / n as f64,
            run.exit
        );
    }
    Ok(())
}
