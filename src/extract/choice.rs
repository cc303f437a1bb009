//! Multiple-choice letters: which of `A`, `B`, `C`, `D`, … a completion picked.
//!
//! The math verifier calls [`extract_choice`] instead of [`super::extract_answer`] when the gold is
//! a letter ([`gold_choice`] says when). Tiers, strongest first, each taking its rightmost hit:
//!
//! 1. `\boxed{C}`, `\boxed{\text{(C)}}` (several different boxed letters → [`ExtractError::Hedged`]);
//! 2. `<answer>C</answer>`;
//! 3. an answer phrase followed by at most four filler words and a letter: "the answer is (C)",
//!    "The answer is for sure D, it can't be A or B", "Answer: D", "réponse est C", "答案是B";
//! 4. a letter opening the final answer: "D. it can't be A or B", "B。不是 A", "C Cecile";
//! 5. the last parenthesised letter `(C)`;
//! 6. the last letter standing alone ("therefore I think it's B").
//!
//! Letters are matched exactly as given in `choices` (pass lowercase letters for lowercase
//! options), except inside `\boxed{}` and `<answer>` where the case is ignored. A standalone
//! `A` or `I` followed by a lowercase word ("A farmer has …", "It's not A because") is an article
//! or a pronoun, not a choice. The same `</think>` and size rules apply as for
//! [`super::extract_answer`].

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::phrase::marker_ends;
use super::scan::{find_boxed, trim_answer};
use super::{ExtractConfig, ExtractError, extract_gold, final_part, find_answer_tag};

/// A choice letter read from a completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The letter, as spelled in the `choices` given.
    pub letter: char,
    /// Which rule found it.
    pub source: ChoiceSource,
    /// Byte range of the letter in the completion.
    pub span: Range<usize>,
}

/// Where a choice letter was found, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceSource {
    /// `\boxed{C}`.
    Boxed,
    /// `<answer>C</answer>`.
    AnswerTag,
    /// "the answer is C".
    AnswerPhrase,
    /// The final answer opens with the letter ("D. it can't be A or B").
    Leading,
    /// The last `(C)`.
    Parenthesized,
    /// The last letter standing alone.
    Standalone,
}

/// English markers after which a choice letter is expected (ASCII-only, for the fast DFA).
static CHOICE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)(?:\banswer(?:\*\*)?\s*(?:is\b|:)|\bcorrect\s+(?:option|choice)\s+is\b|\b(?:option|choice)\s*:)")
        .expect("the choice-marker regex is a valid constant")
});

/// Choice markers needing Unicode; only run on text that is not pure ASCII.
static INTL_CHOICE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:(?-u:\b)answer(?:\*\*)?\s*：|答案\s*(?:是|为|:|：)?|(?-u:\b)réponse\s*(?:est(?-u:\b)|:)|(?-u:\b)respuesta\s*(?:es(?-u:\b)|:)|(?-u:\b)antwort\s*(?:ist(?-u:\b)|:)|ответ\s*:)",
    )
    .expect("the international choice-marker regex is a valid constant")
});

/// `(X)` with a single letter.
static PAREN_LETTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(([A-Za-z])\)").expect("the parenthesised-letter regex is a valid constant"));

/// Most filler words ("for sure", "probably option") skipped between a marker and its letter.
const MAX_FILLER_WORDS: usize = 4;

/// The canonical spelling of `c` in `choices`, comparing exactly or ignoring ASCII case.
fn as_choice(c: char, choices: &[char], ignore_case: bool) -> Option<char> {
    choices.iter().copied().find(|&k| k == c || (ignore_case && k.eq_ignore_ascii_case(&c)))
}

/// Strips wrappers that may surround a letter: `(`, `*`, `$`, `[`, `{`, `\text{`, `\textbf{`, `\mathrm{`.
fn skip_letter_wrappers(text: &str, mut at: usize) -> usize {
    loop {
        let rest = &text[at..];
        if let Some(p) = ["\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"].iter().find(|p| rest.starts_with(**p)) {
            at += p.len();
        } else if rest.starts_with(['(', '*', '$', '[', '{', ' ']) {
            at += 1;
        } else {
            return at;
        }
    }
}

/// A letter at `at` (after wrappers) that is not the start of a longer word.
fn letter_at(text: &str, at: usize, choices: &[char], ignore_case: bool) -> Option<(char, Range<usize>)> {
    let at = skip_letter_wrappers(text, at);
    let c = text[at..].chars().next()?;
    let letter = as_choice(c, choices, ignore_case)?;
    let after = at + c.len_utf8();
    let next = text[after..].chars().next();
    if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '\'' || n == '_') {
        return None;
    }
    Some((letter, at..after))
}

/// Is the letter at `range` an article or pronoun ("A farmer", "I think") rather than a choice?
fn is_article(text: &str, range: &Range<usize>) -> bool {
    let c = &text[range.clone()];
    if c != "A" && c != "I" && c != "a" {
        return false;
    }
    let mut rest = text[range.end..].chars();
    rest.next() == Some(' ') && rest.next().is_some_and(|n| n.is_ascii_lowercase())
}

/// The letter a boxed or tagged answer holds: `C`, `(C)`, `\text{(C)}`, `C. Cecile`.
fn letter_in(text: &str, range: Range<usize>, choices: &[char]) -> Option<(char, Range<usize>)> {
    let range = trim_answer(text, range);
    if range.is_empty() {
        return None;
    }
    letter_at(&text[..range.end], range.start, choices, true)
}

/// The letter after a marker ending at `from`, skipping a few filler words.
fn letter_after_marker(text: &str, from: usize, choices: &[char]) -> Option<(char, Range<usize>)> {
    let mut at = from;
    for _ in 0..=MAX_FILLER_WORDS {
        let rest = &text[at..];
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '：');
        at += rest.len() - trimmed.len();
        if let Some(found) = letter_at(text, at, choices, false) {
            return Some(found);
        }
        let word: usize = trimmed.chars().take_while(|c| c.is_ascii_lowercase()).map(char::len_utf8).sum();
        let after_word = trimmed[word..].chars().next();
        if word < 2 || after_word.is_some_and(|c| !c.is_whitespace() && c != ',') {
            return None;
        }
        at += word;
        if text[at..].starts_with(',') {
            at += 1;
        }
    }
    None
}

/// Finds the multiple-choice letter a completion picked, among `choices` (e.g. `['A','B','C','D']`).
///
/// See the module documentation for the tiers. Errors: [`ExtractError::TooLong`] past
/// `config.max_input_bytes`, [`ExtractError::Hedged`] for several different boxed letters, and
/// [`ExtractError::NoAnswer`] when no letter is found (or the answer is inside `<think>`).
pub fn extract_choice(completion: &str, choices: &[char], config: &ExtractConfig) -> Result<Choice, ExtractError> {
    if completion.len() > config.max_input_bytes {
        return Err(ExtractError::TooLong { len: completion.len(), limit: config.max_input_bytes });
    }
    let (offset, part) = final_part(completion, config);
    let found = |letter: char, span: Range<usize>, source: ChoiceSource| Choice {
        letter,
        source,
        span: offset + span.start..offset + span.end,
    };

    let boxed: Vec<(char, Range<usize>)> =
        find_boxed(part).into_iter().filter_map(|b| letter_in(part, b.content, choices)).collect();
    if let Some((letter, span)) = boxed.last() {
        let mut distinct: Vec<String> = Vec::new();
        for (l, _) in &boxed {
            if !distinct.iter().any(|d| d.starts_with(*l)) {
                distinct.push(l.to_string());
            }
        }
        if distinct.len() > 1 {
            return Err(ExtractError::Hedged(distinct));
        }
        return Ok(found(*letter, span.clone(), ChoiceSource::Boxed));
    }
    if let Some(tag) = find_answer_tag(part)
        && let Some((letter, span)) = letter_in(part, tag, choices)
    {
        return Ok(found(letter, span, ChoiceSource::AnswerTag));
    }
    let markers = marker_ends(part, &CHOICE_MARKER, &INTL_CHOICE_MARKER);
    if let Some((letter, span)) =
        markers.iter().rev().take(config.max_answer_markers).find_map(|&end| letter_after_marker(part, end, choices))
    {
        return Ok(found(letter, span, ChoiceSource::AnswerPhrase));
    }
    let lead = part.len() - part.trim_start().len();
    if let Some((letter, span)) = letter_at(part, lead, choices, false)
        && !is_article(part, &span)
    {
        return Ok(found(letter, span, ChoiceSource::Leading));
    }
    if let Some((letter, span)) = PAREN_LETTER
        .captures_iter(part)
        .filter_map(|caps| {
            let m = caps.get(1)?;
            let c = m.as_str().chars().next()?;
            as_choice(c, choices, false).map(|l| (l, m.range()))
        })
        .last()
    {
        return Ok(found(letter, span, ChoiceSource::Parenthesized));
    }
    standalone_letter(part, choices)
        .map(|(letter, span)| found(letter, span, ChoiceSource::Standalone))
        .ok_or(ExtractError::NoAnswer)
}

/// The last choice letter with no ASCII letter or digit on either side, skipping articles.
fn standalone_letter(text: &str, choices: &[char]) -> Option<(char, Range<usize>)> {
    let mut best = None;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if let Some(letter) = as_choice(c, choices, false) {
            let before_ok = prev.is_none_or(|p| !(p.is_ascii_alphanumeric() || p == '\\' || p == '_'));
            let span = i..i + c.len_utf8();
            let after = text[span.end..].chars().next();
            let after_ok = after.is_none_or(|n| !(n.is_ascii_alphanumeric() || n == '\'' || n == '_'));
            if before_ok && after_ok && !is_article(text, &span) {
                best = Some((letter, span));
            }
        }
        prev = Some(c);
    }
    best
}

/// The letter a gold answer names, when it is a multiple-choice gold: `C`, `(C)`, `\text{(C)}`,
/// `$\boxed{C}$`, `C.`, `(D) Alina`, `C Cecile`. Only capital letters `A`–`Z` count; `x` or `e`
/// are math answers.
pub fn gold_choice(gold: &str) -> Option<char> {
    choice_in_gold_text(&extract_gold(gold))
}

/// [`gold_choice`] of a gold whose answer text [`extract_gold`] already read.
pub fn choice_in_gold_text(gold: &str) -> Option<char> {
    let text = gold.trim();
    // Both rules below read an ASCII capital; a gold without one (`42`, `\frac{1}{2}`) has no letter.
    if !text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    leading_gold_letter(text).or_else(|| {
        // "Alina and the answer is\n(C) Cecile": a gold sentence naming its letter after a marker.
        let capitals: Vec<char> = ('A'..='Z').collect();
        let end = *marker_ends(text, &CHOICE_MARKER, &INTL_CHOICE_MARKER).last()?;
        let (letter, span) = letter_after_marker(text, end, &capitals)?;
        (!is_article(text, &span)).then_some(letter)
    })
}

/// The letter a gold opens with: `C`, `(C)`, `C.`, `(D) Alina`, `C Cecile`.
fn leading_gold_letter(text: &str) -> Option<char> {
    let at = skip_letter_wrappers(text, 0);
    let c = text[at..].chars().next()?;
    if !c.is_ascii_uppercase() {
        return None;
    }
    let rest = &text[at + 1..];
    let rest = rest.trim_start_matches(['}', ')', '*', '$']);
    let wrapped = at > 0;
    let punctuated = rest.strip_prefix(['.', ')']).is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace));
    let ok = rest.is_empty()
        || punctuated
        || (wrapped && rest.starts_with(char::is_whitespace))
        || (rest.starts_with(' ') && rest[1..].starts_with(|n: char| n.is_ascii_uppercase()));
    ok.then_some(c)
}

/// The usual option letters for a gold letter: `A` to `D`, or up to the gold letter when later.
pub fn choices_up_to(gold_letter: char) -> Vec<char> {
    let last = gold_letter.to_ascii_uppercase().max('D');
    ('A'..=last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABCD: &[char] = &['A', 'B', 'C', 'D'];

    fn pick(text: &str) -> Option<char> {
        extract_choice(text, ABCD, &ExtractConfig::default()).ok().map(|c| c.letter)
    }

    #[test]
    fn lighteval_english_cases() {
        assert_eq!(pick("thinking about it I think the correct answer is C"), Some('C'));
        assert_eq!(
            pick("Let's think step by step. It's not A because it doesn't make sense, therefore I think it's B"),
            Some('B')
        );
        assert_eq!(pick("The answer is for sure D, it can't be A or B"), Some('D'));
        assert_eq!(pick("The answer: D, it doesn't make sense for it to be A or B"), Some('D'));
        assert_eq!(pick("D. it can't be A or B"), Some('D'));
        assert_eq!(pick("C"), Some('C'));
    }

    #[test]
    fn lighteval_multilingual_cases() {
        assert_eq!(pick("réponse est C non A"), Some('C'));
        assert_eq!(pick("B。 不是 A"), Some('B'));
        assert_eq!(pick("B。不是 A"), Some('B'));
        assert_eq!(pick("B不是 A"), Some('B'));
        assert_eq!(pick("答案是B"), Some('B'));
    }

    #[test]
    fn math_verify_string_cases() {
        assert_eq!(pick("The answer is A."), Some('A'));
        assert_eq!(pick("Final answer is B"), Some('B'));
        assert_eq!(pick("No valid answer here"), None);
        assert_eq!(pick("A. Because B is not valid"), Some('A'));
        assert_eq!(pick("Because B is valid"), Some('B'));
        let u = extract_choice("The answer is U.", &['U'], &ExtractConfig::default());
        assert_eq!(u.map(|c| c.letter), Ok('U'));
    }

    #[test]
    fn boxed_and_parenthesised() {
        assert_eq!(pick(r"so $\boxed{\text{(C)}}$."), Some('C'));
        assert_eq!(pick(r"\boxed{c}"), Some('C'));
        assert_eq!(pick("Option (A) fails, so we pick (C) here"), Some('C'));
        assert_eq!(
            extract_choice(r"\boxed{A} or \boxed{B}", ABCD, &ExtractConfig::default()),
            Err(ExtractError::Hedged(vec!["A".into(), "B".into()]))
        );
        assert_eq!(pick("A farmer has 3 cows."), None);
        assert_eq!(pick("<think>the answer is B</think>"), None);
    }

    #[test]
    fn gold_letters() {
        assert_eq!(gold_choice("C"), Some('C'));
        assert_eq!(gold_choice("(D) Alina"), Some('D'));
        assert_eq!(gold_choice("C Cecile"), Some('C'));
        assert_eq!(gold_choice("A Peter\nCelina bum"), Some('A'));
        assert_eq!(gold_choice(r"\(\boxed{\text{C}}\)."), Some('C'));
        assert_eq!(gold_choice("$x$"), None);
        assert_eq!(gold_choice("42"), None);
        assert_eq!(gold_choice("Evelyn"), None);
        assert_eq!(gold_choice("A farmer"), None);
        assert_eq!(gold_choice("$$A:B=1$$"), None);
        assert_eq!(gold_choice("B. 12 apples"), Some('B'));
        assert_eq!(gold_choice("Alina and the answer is\n(C) Cecile"), Some('C'));
        assert_eq!(gold_choice("Alina and the answer is\nC Cecile"), Some('C'));
        assert_eq!(gold_choice("So the answer is 12"), None);
        assert_eq!(gold_choice("the answer is A farmer"), None);
        assert_eq!(choices_up_to('B'), vec!['A', 'B', 'C', 'D']);
        assert_eq!(choices_up_to('F'), vec!['A', 'B', 'C', 'D', 'E', 'F']);
    }
}
