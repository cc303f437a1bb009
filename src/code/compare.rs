//! Comparing a program's output with the expected output.
//!
//! The default follows DeepMind's CodeContests tester, made stricter where it is wrong: both texts
//! are split into whitespace-separated tokens (so CRLF, trailing spaces and blank lines do not
//! matter, and a prefix of the expected output never passes: the token counts must match); two
//! integer tokens must be equal exactly (CodeContests compares them as doubles, so a wrong 30-digit
//! integer passes there); other numeric tokens must agree within `abs_tol` or `rel_tol`; any other
//! tokens compare case-insensitively (`YES` = `yes`) unless `case_sensitive`. `strict` compares the
//! text exactly after normalising line endings and trailing whitespace on each line and at the end.
//! A leading UTF-8 byte-order mark is dropped from both texts in either mode.

use num_bigint::BigInt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How outputs are compared; set per test set as `tests.compare`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareOptions {
    /// `tokens` (default) or `strict`.
    pub mode: CompareMode,
    /// Absolute tolerance for non-integer numbers (default 1e-5).
    pub abs_tol: f64,
    /// Relative tolerance for non-integer numbers (default 1e-5).
    pub rel_tol: f64,
    /// Whether word tokens must match in case (default false).
    pub case_sensitive: bool,
    /// Call tests: a result `r` also passes when `[r]` equals the expected value (APPS/TACO's
    /// Codewars outputs come wrapped in a one-element list; default false).
    pub list_wrapped: bool,
}

/// The comparison mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareMode {
    /// Whitespace-separated tokens with numeric tolerance.
    Tokens,
    /// Exact text after trailing-whitespace normalisation.
    Strict,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            mode: CompareMode::Tokens,
            abs_tol: 1e-5,
            rel_tol: 1e-5,
            case_sensitive: false,
            list_wrapped: false,
        }
    }
}

/// Why an output does not match, for the test's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

/// The text without a leading UTF-8 byte-order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

fn is_integer(token: &str) -> bool {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn as_number(token: &str) -> Option<f64> {
    let body = token.strip_prefix(['+', '-']).unwrap_or(token);
    let numeric = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if !numeric {
        return None;
    }
    token.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Whether two numbers agree within the tolerances.
pub fn close(actual: f64, expected: f64, opts: &CompareOptions) -> bool {
    let diff = (actual - expected).abs();
    diff <= opts.abs_tol || diff <= opts.rel_tol * expected.abs()
}

fn token_equal(actual: &str, expected: &str, opts: &CompareOptions) -> bool {
    if actual == expected {
        return true;
    }
    if is_integer(actual) && is_integer(expected) {
        return actual.parse::<BigInt>().ok() == expected.parse::<BigInt>().ok();
    }
    if let (Some(a), Some(e)) = (as_number(actual), as_number(expected)) {
        return close(a, e, opts);
    }
    !opts.case_sensitive && actual.eq_ignore_ascii_case(expected)
}

fn strict_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').map(|l| l.trim_end()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// Compares program output with the expected output.
pub fn compare_output(actual: &str, expected: &str, opts: &CompareOptions) -> Result<(), Mismatch> {
    // A UTF-8 byte-order mark (Windows editors, some dataset files) is not part of the answer.
    let (actual, expected) = (strip_bom(actual), strip_bom(expected));
    match opts.mode {
        CompareMode::Strict => {
            let (a, e) = (strict_lines(actual), strict_lines(expected));
            for (i, (x, y)) in a.iter().zip(&e).enumerate() {
                if x != y {
                    return Err(Mismatch(format!("line {}: expected {:?}, got {:?}", i + 1, short(y), short(x))));
                }
            }
            if a.len() != e.len() {
                return Err(Mismatch(format!("expected {} lines, got {}", e.len(), a.len())));
            }
            Ok(())
        }
        CompareMode::Tokens => {
            let mut a = actual.split_ascii_whitespace();
            let mut e = expected.split_ascii_whitespace();
            let mut index = 0usize;
            loop {
                match (a.next(), e.next()) {
                    (None, None) => return Ok(()),
                    (Some(x), Some(y)) => {
                        if !token_equal(x, y, opts) {
                            return Err(Mismatch(format!(
                                "token {}: expected {:?}, got {:?}",
                                index + 1,
                                short(y),
                                short(x)
                            )));
                        }
                    }
                    (None, Some(y)) => {
                        return Err(Mismatch(format!("output ended at token {}; expected {:?}", index + 1, short(y))));
                    }
                    (Some(x), None) => {
                        return Err(Mismatch(format!("extra output at token {}: {:?}", index + 1, short(x))));
                    }
                }
                index += 1;
            }
        }
    }
}

/// Compares a call test's returned value with the expected one ([`compare_json`]); with
/// `list_wrapped`, `[actual] == expected` also passes.
pub fn compare_result(actual: &Value, expected: &Value, opts: &CompareOptions) -> bool {
    compare_json(actual, expected, opts)
        || (opts.list_wrapped
            && matches!(expected, Value::Array(e) if e.len() == 1 && compare_json(actual, &e[0], opts)))
}

/// Compares a returned JSON value with the expected one: same shape, integers exact, other numbers
/// within the tolerances, strings exact.
pub fn compare_json(actual: &Value, expected: &Value, opts: &CompareOptions) -> bool {
    // Integers past 64 bits arrive as `crate::json` markers: exact, against an integer or an
    // integral float (as Python's `==` compares them).
    if crate::json::big_int(actual).is_some() || crate::json::big_int(expected).is_some() {
        return match (crate::json::exact_integer(actual), crate::json::exact_integer(expected)) {
            (Some(a), Some(e)) => a == e,
            _ => false,
        };
    }
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => match (a.as_i64(), e.as_i64(), a.as_u64(), e.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => match (a.as_f64(), e.as_f64()) {
                (Some(x), Some(y)) => close(x, y, opts),
                _ => false,
            },
        },
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| compare_json(x, y, opts))
        }
        (Value::Object(a), Value::Object(e)) => {
            a.len() == e.len() && a.iter().all(|(k, x)| e.get(k).is_some_and(|y| compare_json(x, y, opts)))
        }
        (a, e) => a == e,
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= 40 { s.to_string() } else { format!("{}…", s.chars().take(40).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(a: &str, e: &str) -> bool {
        compare_output(a, e, &CompareOptions::default()).is_ok()
    }

    #[test]
    fn codecontests_policy() {
        assert!(ok("1 2 3 \n", "1 2 3\n"));
        assert!(ok("1\r\n2\r\n", "1\n2\n"));
        assert!(ok("0.333333333", "0.3333333333"));
        assert!(ok("1.0", "1"));
        assert!(ok("yes", "YES"));
        assert!(!ok("1", "1\n2\n3"));
        assert!(ok("1\n\n2", "1\n2"));
        assert!(ok("1\n2", "1 2"));
        assert!(!ok("123456789012345678901234567891", "123456789012345678901234567890"));
        assert!(!ok("0.334", "0.333"));
        assert!(!ok("", "0"));
        assert!(ok("", ""));
    }

    #[test]
    fn tolerance_boundary() {
        let o = CompareOptions { abs_tol: 0.5, rel_tol: 0.0, ..CompareOptions::default() };
        assert!(compare_output("1.5", "1", &o).is_ok());
        assert!(compare_output("1.5000001", "1", &o).is_err());
    }

    #[test]
    fn strict_mode() {
        let o = CompareOptions { mode: CompareMode::Strict, ..CompareOptions::default() };
        assert!(compare_output("a b  \r\nc\n\n", "a b\nc", &o).is_ok());
        assert!(compare_output("a b\nc\n", "a b\nc", &o).is_ok());
        assert!(compare_output("YES", "yes", &o).is_err());
        assert!(compare_output("1 2", "1\n2", &o).is_err());
    }

    #[test]
    fn bom_is_not_part_of_the_answer() {
        for mode in [CompareMode::Tokens, CompareMode::Strict] {
            let o = CompareOptions { mode, ..CompareOptions::default() };
            assert!(compare_output("\u{feff}1 2\r\n", "1 2\n", &o).is_ok());
            assert!(compare_output("1 2\n", "\u{feff}1 2\n", &o).is_ok());
            assert!(compare_output("\u{feff}1 3\n", "1 2\n", &o).is_err());
        }
    }

    #[test]
    fn json_values() {
        let o = CompareOptions::default();
        assert!(compare_json(&serde_json::json!([1, 2]), &serde_json::json!([1, 2]), &o));
        assert!(!compare_json(&serde_json::json!([1, 2]), &serde_json::json!([1, 2, 3]), &o));
        assert!(!compare_json(&serde_json::json!(true), &serde_json::json!(1), &o));
        assert!(compare_json(&serde_json::json!(0.1), &serde_json::json!(0.1000001), &o));
        let wrapped = CompareOptions { list_wrapped: true, ..o };
        assert!(compare_result(&serde_json::json!(true), &serde_json::json!([true]), &wrapped));
        assert!(compare_result(&serde_json::json!([true]), &serde_json::json!([true]), &wrapped));
        assert!(!compare_result(&serde_json::json!(true), &serde_json::json!([true]), &o));
        assert!(!compare_result(&serde_json::json!(true), &serde_json::json!([true, true]), &wrapped));
    }

    #[test]
    fn byte_order_mark_is_not_output() {
        assert!(ok("\u{feff}3\r\n", "3\n"));
        assert!(ok("3\n", "\u{feff}3"));
        let strict = CompareOptions { mode: CompareMode::Strict, ..CompareOptions::default() };
        assert!(compare_output("\u{feff}a b\r\n", "a b", &strict).is_ok());
    }
}
