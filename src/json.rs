//! JSON input with exact big integers.
//!
//! serde_json reads an integer literal beyond `i64`/`u64` as an `f64`, so a 30-digit expected return
//! value of a call test would be compared (and a 30-digit argument passed to the program) rounded to
//! 17 significant digits. Its `arbitrary_precision` feature would fix that globally but changes how
//! every crate in the build sees numbers (the tokenizers crate's tagged enums stop deserialising).
//! Instead, [`parse`] rewrites each such literal into a marker object `{"$rlvr_bigint": "<digits>"}`
//! before parsing; the code verifier passes markers to the guest as integers ([`to_text`]) and compares
//! them exactly; everywhere else a sample's markers are turned back into numbers ([`restore_lossy`]).

use num_bigint::BigInt;
use num_traits::FromPrimitive;
use serde_json::Value;

/// The key of the marker object that stands for an integer too large for `i64`/`u64`.
pub const BIGINT_KEY: &str = "$rlvr_bigint";

/// Shortest digit run that may not fit in 64 bits (`u64::MAX` has 20 digits, `i64::MIN` 19).
const LONG_DIGITS: usize = 19;

/// Parses JSON text; integer literals that do not fit in `i64`/`u64` become marker objects.
pub fn parse(text: &str) -> serde_json::Result<Value> {
    if !has_long_digit_run(text.as_bytes()) {
        return serde_json::from_str(text);
    }
    serde_json::from_str(&mark_big_integers(text))
}

/// The digits of a marker object, when `value` is one.
pub fn big_int(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(BIGINT_KEY)?.as_str(),
        _ => None,
    }
}

/// The exact integer a JSON value stands for: a marker, an integer, or a float with an integral value.
pub fn exact_integer(value: &Value) -> Option<BigInt> {
    if let Some(digits) = big_int(value) {
        return digits.parse().ok();
    }
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(BigInt::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(BigInt::from(u));
    }
    n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0).and_then(BigInt::from_f64)
}

/// JSON text of `value` with every marker written back as its integer literal.
pub fn to_text(value: &Value) -> String {
    let mut out = String::new();
    write_text(value, &mut out);
    out
}

fn write_text(value: &Value, out: &mut String) {
    if let Some(digits) = big_int(value) {
        out.push_str(digits);
        return;
    }
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_text(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_text(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Turns every marker in `value` back into a (rounded) JSON number, as serde_json would have read it.
pub fn restore_lossy(value: &mut Value) {
    if let Some(digits) = big_int(value) {
        let number = digits.parse::<f64>().ok().and_then(serde_json::Number::from_f64);
        *value = number.map_or(Value::Null, Value::Number);
        return;
    }
    match value {
        Value::Array(items) => items.iter_mut().for_each(restore_lossy),
        Value::Object(map) => map.values_mut().for_each(restore_lossy),
        _ => {}
    }
}

/// Does `bytes` hold [`LONG_DIGITS`] digits in a row? Checks windows from their last byte
/// backwards: a non-digit at `k` rules out every window that covers `k`, so the next window ends
/// at `k + LONG_DIGITS` and prose is skipped about `LONG_DIGITS` bytes at a time.
fn has_long_digit_run(bytes: &[u8]) -> bool {
    let mut end = LONG_DIGITS - 1;
    'windows: while end < bytes.len() {
        let mut k = end;
        loop {
            if !bytes[k].is_ascii_digit() {
                end = k + LONG_DIGITS;
                continue 'windows;
            }
            if k + LONG_DIGITS == end + 1 {
                return true;
            }
            k -= 1;
        }
    }
    false
}

/// Rewrites integer literals outside strings that overflow `i64` and `u64` into marker objects; other
/// text is copied unchanged (invalid JSON stays invalid, and is reported by the parser).
fn mark_big_integers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 32);
    let mut copied = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || matches!(bytes[i], b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                i += 1;
            }
            let token = &text[start..i];
            let integer = token.bytes().skip(usize::from(token.starts_with('-'))).all(|c| c.is_ascii_digit());
            if integer && token.len() > 1 && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                out.push_str(&text[copied..start]);
                out.push_str("{\"");
                out.push_str(BIGINT_KEY);
                out.push_str("\":\"");
                out.push_str(token);
                out.push_str("\"}");
                copied = i;
            }
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The skipping scan finds a run exactly when the byte-by-byte count does.
    #[test]
    fn long_digit_run_scan_agrees_with_counting() {
        let naive = |b: &[u8]| {
            let mut run = 0;
            b.iter().any(|c| {
                run = if c.is_ascii_digit() { run + 1 } else { 0 };
                run >= LONG_DIGITS
            })
        };
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            let digit_bias = state >> 60;
            let text: Vec<u8> = (0..len)
                .map(|i| {
                    let r = state.rotate_left(i as u32 * 7) % 16;
                    if r < 13 + digit_bias.min(2) { b'0' + (r % 10) as u8 } else { b'x' }
                })
                .collect();
            assert_eq!(has_long_digit_run(&text), naive(&text), "{}", String::from_utf8_lossy(&text));
        }
        assert!(has_long_digit_run(&[b'7'; LONG_DIGITS]));
        assert!(!has_long_digit_run(&[b'7'; LONG_DIGITS - 1]));
    }

    #[test]
    fn big_integers_survive_exactly_and_small_ones_stay_numbers() {
        let v = parse(r#"{"a": [123456789012345678901234567890, -99999999999999999999, 5, 1.5e300], "s": "123456789012345678901234567890"}"#).unwrap();
        assert_eq!(big_int(&v["a"][0]), Some("123456789012345678901234567890"));
        assert_eq!(big_int(&v["a"][1]), Some("-99999999999999999999"));
        assert_eq!(v["a"][2], serde_json::json!(5));
        assert!(v["a"][3].is_f64(), "a float literal stays a float");
        assert_eq!(v["s"], serde_json::json!("123456789012345678901234567890"), "strings are never touched");
        assert_eq!(to_text(&v["a"]), "[123456789012345678901234567890,-99999999999999999999,5,1.5e+300]");
    }

    #[test]
    fn boundary_of_64_bits() {
        let at = parse("[18446744073709551615, -9223372036854775808]").unwrap();
        assert!(at[0].is_u64() && at[1].is_i64(), "u64::MAX and i64::MIN are plain numbers");
        let past = parse("[18446744073709551616, -9223372036854775809]").unwrap();
        assert_eq!(big_int(&past[0]), Some("18446744073709551616"));
        assert_eq!(big_int(&past[1]), Some("-9223372036854775809"));
    }

    #[test]
    fn escapes_and_invalid_input() {
        let v = parse(r#"["\"12345678901234567890123\"", 12345678901234567890123]"#).unwrap();
        assert_eq!(v[0], serde_json::json!("\"12345678901234567890123\""));
        assert_eq!(big_int(&v[1]), Some("12345678901234567890123"));
        assert!(parse("[12345678901234567890123").is_err());
        assert!(parse("\"12345678901234567890123").is_err());
    }

    #[test]
    fn exact_and_lossy_views() {
        let mut v = parse("[123456789012345678901234567890, 1e20]").unwrap();
        assert_eq!(exact_integer(&v[0]), "123456789012345678901234567890".parse().ok());
        assert_eq!(exact_integer(&v[1]), "100000000000000000000".parse().ok());
        restore_lossy(&mut v);
        assert_eq!(v, serde_json::json!([1.2345678901234568e29, 1e20]));
    }
}
