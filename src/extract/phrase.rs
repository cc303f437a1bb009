//! Answer phrases: "the (final) answer is …", `Answer: …`, `**Answer:** …`, "Final Answer: The
//! final answer is … I hope it is correct.", GSM8K's `#### n`, and their equivalents in other
//! languages ("答案是", "la réponse est", "Ответ:").
//!
//! The markers are one case-insensitive regex, compiled once (`LazyLock`); the regex crate runs in
//! linear time, so a 1 MB completion costs one pass. What follows a marker is read by a small
//! hand-written scanner ([`phrase_tail`]) that knows where an answer stops: at the end of the line,
//! at a sentence end (a `.` that is not a decimal point), at "I hope it is correct", or at a comma
//! that starts a new clause ("5, which is …"). A math environment right after the marker is taken
//! whole, even across lines (`The answer is:\n\[ 42 \]`).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::scan::{env_at, find_math_envs, first_number, prose_words};

/// English answer markers. ASCII-only (`(?i-u)`), so the regex stays on its fast DFA with a
/// literal prefilter: ~0.15 µs per 2 KB, against ~4 µs for the same pattern in Unicode mode.
static ANSWER_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)(?:\bfinal\s+answer(?:\*\*)?\s*(?:is\b|:)|\banswer(?:\*\*)?\s*(?:is\b|:))")
        .expect("the answer-marker regex is a valid constant")
});

/// Answer markers needing Unicode ("答案是", "la réponse est", "Ответ:", "answer："); only run on
/// text that is not pure ASCII.
static INTL_ANSWER_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:(?-u:\b)answer(?:\*\*)?\s*：|(?:最终)?答案\s*(?:是|为|:|：)|(?-u:\b)réponse\s*(?:est(?-u:\b)|:)|(?-u:\b)respuesta\s*(?:es(?-u:\b)|:)|(?-u:\b)antwort\s*(?:ist(?-u:\b)|:)|(?-u:\b)risposta\s*(?:è|:)|ответ\s*:)",
    )
    .expect("the international answer-marker regex is a valid constant")
});

/// Where the markers of `ascii` (and of `intl` when `text` is not pure ASCII) end, in order.
pub(crate) fn marker_ends(text: &str, ascii: &Regex, intl: &Regex) -> Vec<usize> {
    let mut ends: Vec<usize> = ascii.find_iter(text).map(|m| m.end()).collect();
    if !text.is_ascii() {
        ends.extend(intl.find_iter(text).map(|m| m.end()));
        ends.sort_unstable();
        ends.dedup();
    }
    ends
}

/// The "final answer is" of Minerva's format sentence.
static MINERVA_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)final\s+answer\s+is(?-u:\b)").expect("the Minerva regex is a valid constant")
});

/// GSM8K's final-answer marker.
static GSM8K_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"####").expect("the GSM8K regex is a valid constant"));

/// The answer after the rightmost answer phrase that is followed by something, as a range of `text`.
/// At most `max_markers` markers are tried, from the right.
pub(crate) fn find_answer_phrase(text: &str, max_markers: usize) -> Option<Range<usize>> {
    let ends = marker_ends(text, &ANSWER_MARKER, &INTL_ANSWER_MARKER);
    ends.iter().rev().take(max_markers).find_map(|&end| phrase_tail(text, end))
}

/// The answer after the rightmost `####`, up to the end of its line.
/// At most `max_markers` markers are tried, from the right.
pub(crate) fn find_gsm8k(text: &str, max_markers: usize) -> Option<Range<usize>> {
    let ends: Vec<usize> = GSM8K_MARKER.find_iter(text).map(|m| m.end()).collect();
    ends.iter().rev().take(max_markers).find_map(|&end| {
        let rest = &text[end..];
        let line_end = rest.find('\n').map_or(text.len(), |n| end + n);
        let line = &text[end..line_end];
        let trimmed = line.trim_start_matches(|c: char| c.is_whitespace() || c == '#');
        let start = line_end - trimmed.len();
        let trimmed = trimmed.trim_end();
        (!trimmed.is_empty()).then(|| start..start + trimmed.len())
    })
}

/// Is there a prose word (two or more ASCII letters, not `and`/`or`) starting at `at`?
fn prose_word_at(text: &str, at: usize) -> bool {
    let word: String = text[at..].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    word.len() >= 2 && !word.eq_ignore_ascii_case("and") && !word.eq_ignore_ascii_case("or")
}

/// Reads the answer that follows a marker ending at `from`: `None` when nothing follows.
pub(crate) fn phrase_tail(text: &str, from: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let mut start = from;
    while start < bytes.len() {
        let c = text[start..].chars().next()?;
        if c.is_whitespace() || c == '*' || c == ':' || c == '：' {
            start += c.len_utf8();
        } else {
            break;
        }
    }
    if start >= bytes.len() {
        return None;
    }
    if let Some(env) = env_at(text, start) {
        return Some(env.whole);
    }
    let mut depth = 0usize;
    let mut i = start;
    let mut end = bytes.len();
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                end = i;
                break;
            }
            b'$' | b'\\' => {
                if let Some(env) = env_at(text, i) {
                    i = env.whole.end;
                } else if bytes[i] == b'\\' {
                    // Skip the backslash and the whole character it escapes.
                    i += 1 + text[i + 1..].chars().next().map_or(0, char::len_utf8);
                } else {
                    i += 1;
                }
                continue;
            }
            // A closing markup tag (`8</p>`, `5</answer>`) ends the answer; a bare `<` is math.
            b'<' if bytes.get(i + 1) == Some(&b'/') => {
                end = i;
                break;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' if depth == 0 && (i + 1 == bytes.len() || bytes[i + 1].is_ascii_whitespace()) => {
                end = i;
                break;
            }
            b',' | b';' if depth == 0 => {
                let after = text[i + 1..].trim_start_matches([' ', '\t']);
                let next = text.len() - after.len();
                if next > i + 1 && prose_word_at(text, next) {
                    end = i;
                    break;
                }
            }
            b'I' | b'i' if bytes.len() - i >= 6 && bytes[i..i + 6].eq_ignore_ascii_case(b"i hope") => {
                end = i;
                break;
            }
            _ => {}
        }
        // Multi-byte characters: `。` and `，` end the answer; others are skipped whole.
        if bytes[i] >= 0x80 {
            let c = text[i..].chars().next()?;
            if depth == 0 && matches!(c, '。' | '，' | '；') {
                end = i;
                break;
            }
            i += c.len_utf8();
        } else {
            i += 1;
        }
    }
    let tail = &text[start..end];
    // "Final Answer: The largest $n$ is 34." — the answer is what follows the last " is ".
    if prose_words(tail) >= 2
        && let Some(is_at) = tail.rfind(" is ")
    {
        start += is_at + 4;
    }
    let tail = &text[start..end];
    // A sentence after the marker ("Réponse: Janeth aura encore 220 $ à payer d'ici 12 mois",
    // "答案：每份应该是 (\frac{2}{5}) 吨"): its first math environment, or else its first bracketed
    // formula, or else its first number, is the answer.
    if prose_words(tail) >= 3 || cjk_sentence(tail) {
        if let Some(env) = find_math_envs(tail).into_iter().next() {
            return Some(start + env.whole.start..start + env.whole.end);
        }
        if let Some(formula) = bracketed_formula(tail) {
            return Some(start + formula.start..start + formula.end);
        }
        if let Some(number) = first_number(tail) {
            return Some(start + number.start..start + number.end);
        }
    }
    // "the answer is not obvious": words without a digit or any math are not an answer; an
    // earlier marker or a weaker tier gets its chance.
    let tail = tail.trim();
    let mathless = !tail.contains(|c: char| c.is_ascii_digit() || c == '\\' || c == '$');
    if tail.is_empty() || (mathless && prose_words(tail) >= 2) {
        return None;
    }
    Some(start..end)
}

/// Does `text` hold a run of two or more CJK characters (a sentence in a script written without
/// spaces, which [`prose_words`] counts as a single word)?
fn cjk_sentence(text: &str) -> bool {
    let cjk = |c: char| matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}');
    let mut run = 0;
    text.chars().any(|c| {
        run = if cjk(c) { run + 1 } else { 0 };
        run >= 2
    })
}

/// The inside of the first `(…)` whose content starts with a LaTeX command (`(\frac{2}{5})`): a
/// formula a model bracketed instead of writing `\(…\)`.
fn bracketed_formula(text: &str) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let open = text.find("(\\")?;
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + 1..i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Minerva's format sentence, "The final answer is X. I hope it is correct.": the rightmost
/// "final answer is" whose answer is followed by "I hope". Few-shot Minerva-style models box
/// intermediate results, so this sentence outranks `\boxed{}` (as in Math-Verify, priority 0).
/// At most `max_markers` markers are tried, from the right.
pub(crate) fn find_minerva(text: &str, max_markers: usize) -> Option<Range<usize>> {
    // The sign-off is required below; most completions lack it, and this scan is cheaper than the
    // marker regex.
    let bytes = text.as_bytes();
    let signed_off = memchr::memchr2_iter(b'h', b'H', bytes)
        .any(|i| i >= 2 && bytes[i - 2..].get(..6).is_some_and(|w| w.eq_ignore_ascii_case(b"i hope")));
    if !signed_off {
        return None;
    }
    let ends: Vec<usize> = MINERVA_MARKER.find_iter(text).map(|m| m.end()).collect();
    ends.iter().rev().take(max_markers).find_map(|&end| {
        let tail = phrase_tail(text, end)?;
        let after = text[tail.end..].trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '$' | '"'));
        let hope = after.as_bytes().get(..6).is_some_and(|b| b.eq_ignore_ascii_case(b"i hope"));
        hope.then_some(tail)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(text: &str) -> Option<&str> {
        find_answer_phrase(text, 16).map(|r| text[r].trim())
    }

    #[test]
    fn english_markers() {
        assert_eq!(phrase("So the answer is 18."), Some("18"));
        assert_eq!(phrase("Final Answer: The final answer is $\\frac12$. I hope it is correct."), Some("$\\frac12$"));
        assert_eq!(phrase("**Answer:** 42"), Some("42"));
        assert_eq!(phrase("Answer: 3.5 kg"), Some("3.5 kg"));
        assert_eq!(phrase("The answer is:\n\n\\[ 42 \\]"), Some("\\[ 42 \\]"));
        assert_eq!(phrase("Final Answer: The largest $n$ is 34."), Some("34"));
        assert_eq!(phrase("the answer is 5, which is prime"), Some("5"));
        assert_eq!(phrase("the answer is (1, 2), done"), Some("(1, 2)"));
        assert_eq!(phrase("no marker here"), None);
        assert_eq!(phrase("The answer is"), None);
        assert_eq!(phrase("The answer is not obvious yet."), None);
        assert_eq!(phrase("The answer is Evelyn."), Some("Evelyn"));
        assert_eq!(phrase("<p>The answer is 8</p>"), Some("8"));
        assert_eq!(phrase("The answer is x < 3."), Some("x < 3"));
        assert_eq!(phrase("Réponse: Janeth aura encore 220 $ à payer d'ici 12 mois."), Some("220"));
        assert_eq!(phrase("Final Answer: Jane started growing Sphere 3 hours ago."), Some("3"));
        assert_eq!(phrase("The answer is the value $x = 4$ that we found"), Some("$x = 4$"));
    }

    #[test]
    fn other_languages() {
        assert_eq!(phrase("所以答案是 42。"), Some("42"));
        assert_eq!(phrase("Donc la réponse est 7."), Some("7"));
        assert_eq!(phrase("Ответ: 12"), Some("12"));
        assert_eq!(phrase("答案：每份应该是 (\\frac{2}{5}) 吨。"), Some("\\frac{2}{5}"));
        assert_eq!(phrase("答案：每份应该是 $\\frac{2}{5}$ 吨。"), Some("$\\frac{2}{5}$"));
    }

    #[test]
    fn minerva_sentence() {
        let text = r"so \boxed{200} and \boxed{255}. Final Answer: The final answer is $10,455$. I hope it is correct.";
        assert_eq!(find_minerva(text, 16).map(|r| &text[r]), Some("$10,455$"));
        assert_eq!(find_minerva("The final answer is 5.", 16), None);
    }

    #[test]
    fn gsm8k() {
        let text = "She has 3 + 15 = 18 apples.\n#### 18";
        assert_eq!(find_gsm8k(text, 16).map(|r| &text[r]), Some("18"));
        assert_eq!(find_gsm8k("#### \n", 16), None);
    }
}
