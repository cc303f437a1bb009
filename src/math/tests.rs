//! Unit tests of the math internals; the labelled cases live in `testdata/math/`.

use super::*;

fn eq(g: &str, p: &str) -> Verdict {
    equivalent(g, p, &MathConfig::default()).verdict
}

#[test]
fn basics() {
    assert_eq!(eq("\\frac12", "0.5"), Verdict::Correct);
    assert_eq!(eq("2", "3"), Verdict::Incorrect);
}

/// A crude stand-in for `crate::extract` while developing: last `\boxed{}`, else the whole text.
fn crude_extract(s: &str) -> String {
    if let Some(k) = s.rfind("\\boxed{") {
        let b = &s[k + 7..];
        let mut depth = 1;
        for (i, c) in b.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return b[..i].to_string();
                    }
                }
                _ => {}
            }
        }
    }
    s.trim().trim_matches('$').to_string()
}

#[test]
#[ignore = "development aid: reads /work/shared/corpus/math and prints disagreements"]
fn corpus_agreement() {
    let dir = std::path::Path::new("/work/shared/corpus/math");
    let mut total = 0;
    let mut agree = 0;
    for name in [
        "math_verify_tests",
        "mario_eval_is_equiv",
        "qwen25math_grader",
        "hendrycks_math_equivalence",
        "lighteval_extractive_match",
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))) else { continue };
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let (Some(g), Some(c), Some(e)) = (v["answer"].as_str(), v["completion"].as_str(), v["expected"].as_bool())
            else {
                continue;
            };
            let g = crude_extract(g);
            let p = crude_extract(c);
            let r = equivalent(&g, &p, &MathConfig::default());
            total += 1;
            if (r.verdict == Verdict::Correct) == e {
                agree += 1;
            } else if g.len() < 200 && p.len() < 200 {
                eprintln!(
                    "MISMATCH {} exp={e} got={} gold={g:?} pred={p:?} :: {} | {:?} | {:?}",
                    v["id"], r.verdict, r.reason, r.gold_parsed, r.pred_parsed
                );
            }
        }
    }
    eprintln!("agreement {agree}/{total}");
    assert!(agree * 100 >= total * 60);
}

#[test]
#[ignore = "development aid: every MATH-500 gold must parse"]
fn math500_golds_parse() {
    let Ok(text) = std::fs::read_to_string("/work/shared/corpus/math/math500_problems.jsonl") else { return };
    let mut bad = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let g = v["answer"].as_str().unwrap_or_default();
        if let Err(e) = parse_answer(g, &MathLimits::default()) {
            bad += 1;
            eprintln!("GOLD FAIL {g:?}: {e}");
        }
    }
    assert_eq!(bad, 0);
}

#[test]
#[ignore = "development aid: runs testdata/math through `equivalent` with a crude extraction"]
fn testdata_math_dev() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/math");
    let mut total = 0;
    let mut bad = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let (Some(g), Some(c), Some(e)) = (v["answer"].as_str(), v["completion"].as_str(), v["expected"].as_bool())
            else {
                continue;
            };
            let start = std::time::Instant::now();
            let r = equivalent(g, &crude_extract(c), &MathConfig::default());
            let took = start.elapsed();
            total += 1;
            let want_verdict = v["expected_verdict"].as_str();
            let ok = (r.verdict == Verdict::Correct) == e && want_verdict.is_none_or(|w| w == r.verdict.as_str());
            if !ok || took.as_millis() > 20 {
                bad += usize::from(!ok);
                let short = |s: &str| s.chars().take(120).collect::<String>();
                eprintln!(
                    "{} {} exp={e} got={} {:?} gold={:?} pred={:?} :: {}",
                    if ok { "SLOW" } else { "FAIL" },
                    v["id"],
                    r.verdict,
                    took,
                    short(g),
                    short(&crude_extract(c)),
                    short(&r.reason)
                );
            }
        }
    }
    eprintln!("testdata/math: {} of {total} fail", bad);
    assert_eq!(bad, 0);
}

#[test]
fn big_integer_parse_is_fast() {
    let big = "9".repeat(100_000);
    let t = std::time::Instant::now();
    let e = parse_answer(&big, &MathLimits::default());
    assert!(e.is_ok());
    eprintln!("parse 100k digits: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let r = equivalent(&big, &big, &MathConfig::default());
    eprintln!("equivalent: {:?}", t.elapsed());
    assert_eq!(r.verdict, Verdict::Correct);
}
