//! Linear scanners over LaTeX-flavoured text: brace pairs, `\boxed{…}`, math environments,
//! markdown bold, numbers, and the cleaning of an answer's delimiters.
//!
//! Every scanner visits each byte a bounded number of times, so extraction stays linear on
//! hostile inputs (100,000 nested braces, 200 KB of digits, 2000 boxes). None of them recurses:
//! nesting is tracked with explicit stacks and counters, so a 2 MiB thread stack is never at risk.
//! Small token grammars (the `\boxed` command, numbers) are nom parsers; the searches that find
//! where to run them are plain byte loops, because a parser that retried at every offset would be
//! quadratic.

use std::ops::Range;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while_m_n, take_while1};
use nom::character::complete::{char as one_char, digit1};
use nom::combinator::{opt, recognize};
use nom::error::{Error as NomError, ErrorKind};
use nom::multi::many0_count;
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// The first offset of `needle` in `text`. The needles searched this way (`\boxed`, `\!`,
/// `</think>`) start with a byte that is rare in prose, so a `memchr` for it and a prefix check
/// beat a general substring search, whose set-up dominates on answer-sized texts.
pub(crate) fn find_marker(text: &str, needle: &str) -> Option<usize> {
    let (bytes, n) = (text.as_bytes(), needle.as_bytes());
    let first = *n.first()?;
    memchr::memchr_iter(first, bytes).find(|&i| bytes[i..].starts_with(n))
}

/// The last offset of `needle` in `text` (see [`find_marker`]).
pub(crate) fn rfind_marker(text: &str, needle: &str) -> Option<usize> {
    let (bytes, n) = (text.as_bytes(), needle.as_bytes());
    let first = *n.first()?;
    memchr::memrchr_iter(first, bytes).find(|&i| bytes[i..].starts_with(n))
}

/// Does `text` hold a thin space `\!` or `\,` (which the extractor joins or drops)?
pub(crate) fn has_thin_space(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\\', bytes).any(|i| matches!(bytes.get(i + 1), Some(b'!' | b',')))
}

/// Matching `{…}` pairs of a text, found in one pass; `\{` and `\}` are literal braces.
pub(crate) struct BraceIndex {
    /// `(open, close)` byte offsets, sorted by `open`.
    pairs: Vec<(usize, usize)>,
}

impl BraceIndex {
    /// Indexes every balanced brace pair of `text` with an explicit stack (no recursion).
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut stack = Vec::new();
        let mut pairs = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'{' => stack.push(i),
                b'}' => {
                    if let Some(open) = stack.pop() {
                        pairs.push((open, i));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        pairs.sort_unstable();
        BraceIndex { pairs }
    }

    /// The offset of the `}` closing the `{` at `open`, if it is closed.
    pub(crate) fn close_of(&self, open: usize) -> Option<usize> {
        self.pairs.binary_search_by_key(&open, |p| p.0).ok().map(|k| self.pairs[k].1)
    }
}

/// One `\boxed…`/`\fbox…` occurrence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoxedSpan {
    /// The argument (inside the braces, or the bare token of `\boxed 5`).
    pub(crate) content: Range<usize>,
    /// The whole box, from `\boxed` to its closing brace (or the end of the bare token).
    pub(crate) whole: Range<usize>,
}

/// `\boxed` or `\fbox`, not followed by another letter (`\boxedx` is a different command).
fn box_command(input: &str) -> IResult<&str, &str> {
    let (rest, name) = alt((tag("\\boxed"), tag("\\fbox"))).parse(input)?;
    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(nom::Err::Error(NomError::new(input, ErrorKind::Tag)));
    }
    Ok((rest, name))
}

/// The bare argument of `\boxed 5` / `\boxed5`: a run of characters up to whitespace or `$`.
fn bare_box_argument(input: &str) -> IResult<&str, &str> {
    take_while1(|c: char| !c.is_whitespace() && c != '$' && c != '}').parse(input)
}

/// Every top-level `\boxed`/`\fbox` in `text`, in order; boxes nested inside a box are skipped
/// (the outer box's content already contains them). Unclosed boxes (`\boxed{5` at the end of a
/// truncated generation) are not answers.
pub(crate) fn find_boxed(text: &str) -> Vec<BoxedSpan> {
    let mut found = Vec::new();
    if find_marker(text, "\\boxed").is_none() && find_marker(text, "\\fbox").is_none() {
        return found;
    }
    let braces = BraceIndex::new(text);
    let mut pos = 0;
    while let Some(rel) = text[pos..].find('\\') {
        let at = pos + rel;
        let Ok((rest, _)) = box_command(&text[at..]) else {
            pos = at + 1;
            continue;
        };
        let after_command = text.len() - rest.len();
        let Ok((arg, spaces)) = take_while::<_, &str, NomError<&str>>(|c| c == ' ' || c == '\t').parse(rest) else {
            pos = after_command;
            continue;
        };
        let arg_start = text.len() - arg.len();
        if arg.starts_with('{') {
            match braces.close_of(arg_start) {
                Some(close) => {
                    found.push(BoxedSpan { content: arg_start + 1..close, whole: at..close + 1 });
                    pos = close + 1;
                }
                None => pos = arg_start + 1,
            }
        } else if !spaces.is_empty() || arg.starts_with(|c: char| c.is_ascii_digit()) {
            match bare_box_argument(arg) {
                Ok((after, token)) => {
                    let token = token.trim_end_matches(['.', ',', ';']);
                    found.push(BoxedSpan {
                        content: arg_start..arg_start + token.len(),
                        whole: at..arg_start + token.len(),
                    });
                    pos = text.len() - after.len();
                }
                Err(_) => pos = arg_start,
            }
        } else {
            pos = after_command;
        }
    }
    found
}

/// One math environment: `$…$`, `$$…$$`, `\(…\)` or `\[…\]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MathEnv {
    /// What is between the delimiters.
    pub(crate) content: Range<usize>,
    /// The environment with its delimiters.
    pub(crate) whole: Range<usize>,
}

/// Finds the closing delimiter `close` from `from`; an inline environment stops at a newline.
/// Returns `Ok(close_offset)` or `Err(offset where the search gave up)`.
fn find_close(bytes: &[u8], from: usize, close: &[u8], inline: bool) -> Result<usize, usize> {
    let mut i = from;
    while i < bytes.len() {
        if bytes[i..].starts_with(close) {
            return Ok(i);
        }
        match bytes[i] {
            b'\n' if inline => return Err(i),
            // `\$` is a literal dollar, `\\` a line break: neither closes anything.
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Err(bytes.len())
}

/// The math environment opening exactly at `at`, if it closes.
pub(crate) fn env_at(text: &str, at: usize) -> Option<MathEnv> {
    let bytes = text.as_bytes();
    let rest = &bytes[at..];
    let (open, close, inline): (usize, &[u8], bool) = if rest.starts_with(b"$$") {
        (2, b"$$", false)
    } else if rest.starts_with(b"$") {
        (1, b"$", true)
    } else if rest.starts_with(b"\\(") {
        (2, b"\\)", true)
    } else if rest.starts_with(b"\\[") {
        (2, b"\\]", false)
    } else {
        return None;
    };
    let c = find_close(bytes, at + open, close, inline).ok()?;
    Some(MathEnv { content: at + open..c, whole: at..c + close.len() })
}

/// Every math environment of `text`, left to right, in one pass.
///
/// Inline `$…$` and `\(…\)` may not span a newline (as in Math-Verify and Markdown renderers);
/// display `$$…$$` and `\[…\]` may. An opening delimiter without a close is skipped; where its
/// search stopped is remembered so that later openers of the same kind are not searched again.
pub(crate) fn find_math_envs(text: &str) -> Vec<MathEnv> {
    let bytes = text.as_bytes();
    let mut envs = Vec::new();
    let mut i = 0;
    // Where a failed search for a closer stopped: an opener before that point cannot close
    // either, so it is not searched again (this is what keeps `\( \( \( …` linear).
    let mut no_paren_close_before = 0;
    let mut no_bracket_close = false;
    let mut no_more_double_dollar = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() && bytes[i + 1] == b'(' && i >= no_paren_close_before => {
                match find_close(bytes, i + 2, b"\\)", true) {
                    Ok(c) => {
                        envs.push(MathEnv { content: i + 2..c, whole: i..c + 2 });
                        i = c + 2;
                    }
                    Err(stop) => {
                        no_paren_close_before = stop;
                        i += 2;
                    }
                }
            }
            b'\\' if i + 1 < bytes.len() && bytes[i + 1] == b'[' && !no_bracket_close => {
                match find_close(bytes, i + 2, b"\\]", false) {
                    Ok(c) => {
                        envs.push(MathEnv { content: i + 2..c, whole: i..c + 2 });
                        i = c + 2;
                    }
                    Err(_) => {
                        no_bracket_close = true;
                        i += 2;
                    }
                }
            }
            b'\\' => i += 2,
            b'$' if !no_more_double_dollar && bytes[i..].starts_with(b"$$") => {
                match find_close(bytes, i + 2, b"$$", false) {
                    Ok(c) => {
                        envs.push(MathEnv { content: i + 2..c, whole: i..c + 2 });
                        i = c + 2;
                    }
                    Err(_) => {
                        no_more_double_dollar = true;
                        i += 2;
                    }
                }
            }
            // A failed search for a closing `$` met no other `$` on its way, so resuming right
            // after this one re-reads that stretch once more at most: still linear.
            b'$' => match find_close(bytes, i + 1, b"$", true) {
                Ok(c) => {
                    envs.push(MathEnv { content: i + 1..c, whole: i..c + 1 });
                    i = c + 1;
                }
                Err(_) => i += 1,
            },
            _ => i += 1,
        }
    }
    envs
}

/// Markdown bold spans `**…**` on one line, by pairing the `**` markers left to right.
pub(crate) fn find_bold(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    let mut pos = 0;
    while let Some(rel) = text[pos..].find("**") {
        let at = pos + rel;
        match open {
            None => open = Some(at + 2),
            Some(start) => {
                if !text[start..at].contains('\n') {
                    spans.push(start..at);
                    open = None;
                } else {
                    // A bold that never closed on its line: this marker opens a new one.
                    open = Some(at + 2);
                }
            }
        }
        pos = at + 2;
    }
    spans
}

/// `,ddd` thousands group, not followed by a further digit.
fn thousands_group(input: &str) -> IResult<&str, &str> {
    let (rest, group) = recognize((one_char(','), take_while_m_n(3, 3, |c: char| c.is_ascii_digit()))).parse(input)?;
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(nom::Err::Error(NomError::new(input, ErrorKind::Digit)));
    }
    Ok((rest, group))
}

/// A written number: `7`, `7,425,000`, `1,000.99`, `1000,99` (decimal comma), `.4`, `13/28`.
pub(crate) fn number(input: &str) -> IResult<&str, &str> {
    alt((
        recognize((
            digit1,
            many0_count(thousands_group),
            opt(preceded(alt((one_char('.'), one_char(','))), digit1)),
            opt(preceded(one_char('/'), digit1)),
        )),
        recognize(preceded(one_char('.'), digit1)),
    ))
    .parse(input)
}

/// Calls `visit` with each number of `text` starting in `from..to` (with its leading minus sign),
/// left to right, in one scan; stops when `visit` returns `false`.
///
/// Digits glued to a preceding ASCII letter (`x2`, `AZYUK2A`, `\frac12`) are not numbers.
fn scan_numbers(text: &str, from: usize, to: usize, mut visit: impl FnMut(Range<usize>) -> bool) {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < to {
        let b = bytes[i];
        let starts = b.is_ascii_digit() || (b == b'.' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit());
        if !starts {
            i += 1;
            continue;
        }
        let prev = if i > 0 { bytes[i - 1] } else { b' ' };
        let Ok((rest, token)) = number(&text[i..]) else {
            i += 1;
            continue;
        };
        let end = text.len() - rest.len();
        if !(prev.is_ascii_alphanumeric() || prev == b'_') {
            let token = token.trim_end_matches([',', '.']);
            let mut start = i;
            if prev == b'-' {
                let before = if i >= 2 { bytes[i - 2] } else { b' ' };
                if !(before.is_ascii_alphanumeric() || before == b')' || before == b'}') {
                    start = i - 1;
                }
            }
            if !visit(start..i + token.len()) {
                return;
            }
        }
        i = end.max(i + 1);
    }
}

/// The last number of `text` (see [`scan_numbers`] for what counts).
///
/// Searches backwards: the last digit's run of number characters (`0-9 , . /`) is parsed, and only
/// if it holds no number (`AZYUK2A`) does the search move to the run before it. Runs are disjoint,
/// so the whole search stays one pass, and a long chain of thought costs one parse, not one per
/// number.
pub(crate) fn last_number(text: &str) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    loop {
        let last_digit = bytes[..end].iter().rposition(u8::is_ascii_digit)?;
        let mut start = last_digit;
        while start > 0 && matches!(bytes[start - 1], b'0'..=b'9' | b',' | b'.' | b'/') {
            start -= 1;
        }
        let mut last = None;
        scan_numbers(text, start, last_digit + 1, |r| {
            last = Some(r);
            true
        });
        if last.is_some() {
            return last;
        }
        end = start;
    }
}

/// The first number of `text` (see [`scan_numbers`] for what counts).
pub(crate) fn first_number(text: &str) -> Option<Range<usize>> {
    let mut first = None;
    scan_numbers(text, 0, text.len(), |r| {
        first = Some(r);
        false
    });
    first
}

/// The end of the brace group opening at `open` (just past its closing `}`, or the end of `bytes`).
fn skip_braced(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Number of prose words in `text`: runs of two or more letters (any script) that are not a LaTeX
/// command name, not inside a `\text{…}`-style or `\begin{…}` argument, and not `and`/`or`
/// joining answers.
pub(crate) fn prose_words(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            let name = &text[start..j];
            i = j.max(start);
            if matches!(
                name,
                "text" | "textbf" | "textit" | "mathrm" | "mbox" | "textnormal" | "operatorname" | "begin" | "end"
            ) && i < bytes.len()
                && bytes[i] == b'{'
            {
                let argument_start = i;
                i = skip_braced(bytes, i);
                // `\begin{array}{cc}`: the column spec is not prose either.
                let environment = &text[argument_start..i];
                if name == "begin"
                    && matches!(environment, "{array}" | "{tabular}" | "{subarray}")
                    && bytes.get(i) == Some(&b'{')
                {
                    i = skip_braced(bytes, i);
                }
            }
            continue;
        }
        let Some(c) = text[i..].chars().next() else { break };
        if c.is_alphabetic() {
            let start = i;
            let mut letters = 0;
            for c in text[start..].chars().take_while(|c| c.is_alphabetic()) {
                i += c.len_utf8();
                letters += 1;
            }
            let word = &text[start..i];
            if letters >= 2 && !word.eq_ignore_ascii_case("and") && !word.eq_ignore_ascii_case("or") {
                count += 1;
            }
            continue;
        }
        i += c.len_utf8();
    }
    count
}

/// Number of unescaped `$` in `text`.
pub(crate) fn unescaped_dollars(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'$' => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// Characters around an answer that are never part of it: control characters and emoji.
fn is_noise(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}' | '\u{FE0F}')
}

/// When the whole of `s` is wrapped in one pair of quotes (`"…"`, `\"…\"`, `“…”`): the opening
/// quote's length and the length of what is inside.
fn quoted(s: &str) -> Option<(usize, usize)> {
    [("\\\"", "\\\""), ("\"", "\""), ("“", "”")].into_iter().find_map(|(open, close)| {
        let inner = s.strip_prefix(open)?.strip_suffix(close)?;
        let single = !inner.is_empty() && !inner.contains(open) && !inner.contains(close);
        single.then_some((open.len(), inner.len()))
    })
}

/// Trims whitespace, control characters, emoji, trailing sentence punctuation, markdown `*`, and math delimiters wrapping the
/// whole answer, repeatedly; returns the sub-range of `range` that holds the answer.
pub(crate) fn trim_answer(text: &str, range: Range<usize>) -> Range<usize> {
    let (mut start, mut end) = (range.start, range.end);
    // Each round removes at least one byte or stops, so this ends after at most len rounds;
    // in practice one or two.
    loop {
        let s = &text[start..end];
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || is_noise(c));
        start += s.len() - t.len();
        let t = t.trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, '*' | '.' | '。' | ',' | ';' | '，') || is_noise(c)
        });
        end = start + t.len();
        let s = &text[start..end];
        let before = (start, end);
        if s.len() >= 4 && s.starts_with("$$") && s.ends_with("$$") && !s[2..s.len() - 2].contains('$') {
            start += 2;
            end -= 2;
        } else if s.len() >= 2 && s.starts_with('$') && s.ends_with('$') && unescaped_dollars(&s[1..s.len() - 1]) == 0 {
            start += 1;
            end -= 1;
        } else if s.len() >= 4
            && ((s.starts_with("\\(") && s.ends_with("\\)") && !s[2..s.len() - 2].contains("\\)"))
                || (s.starts_with("\\[") && s.ends_with("\\]") && !s[2..s.len() - 2].contains("\\]")))
        {
            start += 2;
            end -= 2;
        } else if let Some((open, inner)) = quoted(s) {
            // A quoted answer (`"$12$ and $13$"`, `\"…\"`, `“…”`): the quotes are not math.
            start += open;
            end = start + inner;
        } else if unescaped_dollars(s) == 1 && s.starts_with('$') {
            // A lone leading `$` is a currency sign (`$1,000.99`), not a delimiter.
            start += 1;
        } else if unescaped_dollars(s) == 1 && s.ends_with('$') && !s.ends_with("\\$") {
            end -= 1;
        }
        if (start, end) == before {
            return start..end;
        }
    }
}

/// The answer text of `text[range]`: the negative space `\!` is removed with the whitespace around
/// it (`11,\! 111` → `11,111`), the thin space `\,` is removed (`1\,000` → `1000`).
pub(crate) fn answer_text(text: &str, range: &Range<usize>) -> String {
    let raw = &text[range.clone()];
    if !has_thin_space(raw) {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find("\\!") {
        out.push_str(rest[..at].trim_end());
        rest = rest[at + 2..].trim_start();
    }
    out.push_str(rest);
    out.replace("\\,", "")
}

/// Are the braces of `text` balanced (ignoring `\{` and `\}`)?
pub(crate) fn balanced_braces(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed_contents(text: &str) -> Vec<&str> {
        find_boxed(text).into_iter().map(|b| &text[b.content]).collect()
    }

    #[test]
    fn braces_pair_with_escapes() {
        let text = r"{a\{b}{c}";
        let index = BraceIndex::new(text);
        assert_eq!(index.close_of(0), Some(5));
        assert_eq!(index.close_of(6), Some(8));
        assert_eq!(index.close_of(3), None);
    }

    #[test]
    fn boxed_forms() {
        assert_eq!(boxed_contents(r"\boxed{\frac{1}{2}}"), vec![r"\frac{1}{2}"]);
        assert_eq!(boxed_contents(r"so \boxed 5."), vec!["5"]);
        assert_eq!(boxed_contents(r"$\boxed5$"), vec!["5"]);
        assert_eq!(boxed_contents(r"\boxed{}"), vec![""]);
        assert_eq!(boxed_contents(r"\fbox{3} and \boxed{\boxed{4}}"), vec!["3", r"\boxed{4}"]);
        assert_eq!(boxed_contents(r"\boxedx{3} \boxed{5"), Vec::<&str>::new());
        assert_eq!(boxed_contents(r"\boxed{5 \boxed{6}"), vec!["6"]);
    }

    #[test]
    fn math_envs_inline_and_display() {
        let text = "a $x$ b $$y$$ \\(z\\) \\[w\\] \\$5 $p\nq$ \\[\n9\n\\] \\( \\( $r$";
        let contents: Vec<&str> = find_math_envs(text).into_iter().map(|e| &text[e.content]).collect();
        assert_eq!(contents, vec!["x", "y", "z", "w", "\n9\n", "r"]);
    }

    #[test]
    fn numbers() {
        let last = |t: &str| last_number(t).map(|r| t[r].to_string());
        assert_eq!(last("it is 7,425,000."), Some("7,425,000".into()));
        assert_eq!(last("x = -5"), Some("-5".into()));
        assert_eq!(last("3-5"), Some("5".into()));
        assert_eq!(last("1,000.99€"), Some("1,000.99".into()));
        assert_eq!(last("AZYUK2A"), None);
        assert_eq!(last("ratio 13/28"), Some("13/28".into()));
        assert_eq!(last("about .4 of it"), Some(".4".into()));
        assert_eq!(last("no digits"), None);
        assert_eq!(last("x2 and 7 then AZYUK2A"), Some("7".into()));
        assert_eq!(last("value -3."), Some("-3".into()));
        assert_eq!(last("1,000.99,"), Some("1,000.99".into()));
        assert_eq!(first_number("aura 220 $ dans 12 mois").map(|r| r.start), Some(5));
    }

    #[test]
    fn trimming() {
        let t = |s: &str| s[trim_answer(s, 0..s.len())].to_string();
        assert_eq!(t(" $\\frac12$. "), "\\frac12");
        assert_eq!(t("$$ 9 $$"), "9");
        assert_eq!(t("\\( 9 \\)"), "9");
        assert_eq!(t("$1$ and $2$"), "$1$ and $2$");
        assert_eq!(t("$1,000.99"), "1,000.99");
        assert_eq!(t("**73**"), "73");
        assert_eq!(t("8 🎉"), "8");
        assert_eq!(t("3\u{0}"), "3");
        let a = |s: &str| answer_text(s, &(0..s.len()));
        assert_eq!(a("11,\\! 111,\\! 100"), "11,111,100");
        assert_eq!(a("1\\,000"), "1000");
    }

    #[test]
    fn prose_word_count() {
        assert_eq!(prose_words(r"\text{Evelyn}"), 0);
        assert_eq!(prose_words(r"5\text{ cm}"), 0);
        assert_eq!(prose_words("No valid answer here"), 4);
        assert_eq!(prose_words(r"\frac{1}{2} and x"), 0);
        assert_eq!(prose_words(r"\begin{pmatrix}1 & 0\end{pmatrix}"), 0);
        assert_eq!(prose_words("首先，3 + 4"), 1);
        assert_eq!(prose_words("3页"), 0);
    }
}
