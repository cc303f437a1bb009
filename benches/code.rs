//! Per-test latency of the code verifier (Python with the Wizer snapshot, C++, Rust), beside native
//! `python3` per test measured in the same run. Each sample holds `TESTS` stdio tests of an a+b
//! program, so the time per element is the time per test (builds are cached after the first run).
//! The unit-test forms hold `TESTS` test functions in one module: a pytest module (the real pytest
//! in the guest) and a Rust `#[cfg(test)]` module (libtest); an interactive sample holds `TESTS`
//! stdio tests, each a C++ program linked to a C++ interactor.
//!
//! `cargo bench --bench code` (needs `.ci/install-code-runtimes.sh`).

use std::io::Write;
use std::process::{Command, Stdio};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rlvr::code::{CodeConfig, judge};
use rlvr::sample::{Sample, Verdict};

const TESTS: usize = 50;

const PROGRAMS: &[(&str, &str)] = &[
    ("python", "a, b = map(int, input().split())\nprint(a + b)\n"),
    (
        "cpp",
        "#include <bits/stdc++.h>\nint main(){ long long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n",
    ),
    (
        "rust",
        "use std::io::Read;\nfn main(){ let mut s = String::new(); std::io::stdin().read_to_string(&mut s).unwrap(); \
         let v: Vec<i64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect(); println!(\"{}\", v[0] + v[1]); }\n",
    ),
];

fn sample(language: &str, code: &str) -> Sample {
    let cases: Vec<serde_json::Value> = (0..TESTS)
        .map(|i| serde_json::json!({"input": format!("{i} 4\n"), "output": format!("{}\n", i + 4)}))
        .collect();
    Sample::from_json(serde_json::json!({
        "id": language,
        "language": language,
        "completion": format!("```\n{code}```"),
        "tests": {"stdio": cases},
    }))
    .expect("bench sample is valid")
}

/// `TESTS` pytest test functions against `add`.
fn pytest_sample() -> Sample {
    let tests: String =
        (0..TESTS).map(|i| format!("def test_{i}():\n    assert add({i}, 4) == {}\n\n", i + 4)).collect();
    Sample::from_json(serde_json::json!({
        "id": "pytest",
        "language": "python",
        "completion": "```python\ndef add(a, b):\n    return a + b\n```",
        "tests": {"pytest": format!("from solution import add\n\n{tests}")},
    }))
    .expect("bench sample is valid")
}

/// `TESTS` `#[test]` functions against `add`, as HumanEval-Rust writes them.
fn rust_test_sample() -> Sample {
    let tests: String =
        (0..TESTS).map(|i| format!("    #[test]\n    fn t{i}() {{ assert_eq!(add({i}, 4), {}); }}\n", i + 4)).collect();
    Sample::from_json(serde_json::json!({
        "id": "rust_test",
        "language": "rust",
        "completion": "```rust\nfn add(a: i64, b: i64) -> i64 { a + b }\n```",
        "tests": {"script": format!("#[cfg(test)]\nmod tests {{\n    use super::*;\n{tests}}}\n")},
    }))
    .expect("bench sample is valid")
}

/// `TESTS` interactive tests: the interactor sends `a b`, the program answers `a+b`.
fn interactive_sample() -> Sample {
    let cases: Vec<serde_json::Value> =
        (0..TESTS).map(|i| serde_json::json!({"input": format!("{i} 4\n"), "output": ""})).collect();
    let interactor = "#include <cstdio>\nint main(int argc, char** argv){ FILE* in = fopen(argv[1], \"r\"); long long a, b, c; \
                      if (fscanf(in, \"%lld %lld\", &a, &b) != 2) return 2; printf(\"%lld %lld\\n\", a, b); fflush(stdout); \
                      if (scanf(\"%lld\", &c) != 1) return 1; return c == a + b ? 0 : 1; }\n";
    Sample::from_json(serde_json::json!({
        "id": "interactive",
        "language": "cpp",
        "completion": format!("```\n{}```", PROGRAMS[1].1),
        "tests": {"stdio": cases, "interactor": {"language": "cpp", "code": interactor}},
    }))
    .expect("bench sample is valid")
}

fn bench(c: &mut Criterion) {
    let config = CodeConfig::default();
    let mut group = c.benchmark_group("code_per_test");
    group.throughput(Throughput::Elements(TESTS as u64));
    group.sample_size(10);
    let forms =
        [("pytest", pytest_sample()), ("rust_test", rust_test_sample()), ("interactive_cpp", interactive_sample())];
    let stdio = PROGRAMS.iter().map(|(language, code)| (*language, sample(language, code)));
    for (name, s) in stdio.chain(forms) {
        let warm = judge(&s, &config);
        assert_eq!(
            warm.verdict,
            Verdict::Correct,
            "{name}: {:?}",
            warm.error.or(warm.tests.first().and_then(|t| t.message.clone()))
        );
        group.bench_function(name, |b| b.iter(|| judge(&s, &config)));
    }
    let python = PROGRAMS[0].1;
    group.bench_function("native_python3", |b| {
        b.iter(|| {
            for i in 0..TESTS {
                let mut child = Command::new("python3")
                    .args(["-c", python])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("python3 runs");
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = writeln!(stdin, "{i} 4");
                }
                let out = child.wait_with_output().expect("python3 finishes");
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), (i + 4).to_string());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
