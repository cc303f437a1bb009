//! `language_consistency`: DeepSeek-R1's language-consistency reward — the share of the reasoning
//! written in the target language.
//!
//! R1 (arXiv:2501.12948 §2.3.3) computes "the proportion of target language words in the CoT"
//! without publishing how words are assigned a language. We decide by Unicode script, which needs
//! no model and cannot be gamed by spelling: every letter belongs to one script (Latin, Cyrillic,
//! Greek, Arabic, Han, Kana, Hangul; other letters count as "other"). A *word* is a maximal run of
//! letters of one script, except in Han and Kana, which are written without spaces, where each
//! character is one word. Formula: `score = target words / all words`, in [0, 1]; a reasoning with
//! no word at all scores 0 (nothing was written in the target language).
//!
//! *Which text*: with `scope = "think"` (the default) the reasoning inside the `<think>…</think>`
//! block (with `</think>` but no `<think>`, everything before `</think>`, for prefilled
//! templates; with no `</think>`, there is no reasoning and the score is 0); with
//! `scope = "completion"` the whole completion. With `ignore_math = true` (the default) text inside
//! `$…$`, `$$…$$`, `\(…\)`, `\[…\]` and LaTeX command names (`\frac`) are skipped, so that the
//! variables of a Chinese derivation do not count as English.
//!
//! *Target*: a script (`latin`, `cyrillic`, `greek`, `arabic`, `han`, `kana`, `hangul`, or `cjk` for
//! the last three) or a language code mapped to its scripts (`en` and other Latin-script codes,
//! `ru`/`uk`/`bg`/`sr`, `el`, `ar`, `zh` → Han, `ja` → Han + Kana, `ko` → Hangul + Han).

use std::sync::Arc;

use super::{Measured, ParamDoc, ParamError, Params, RewardComponent, ScoreContext, ScoreError, Scorer};

/// The language-consistency component.
pub struct LanguageConsistency;

const PARAMS: &[ParamDoc] = &[
    ParamDoc { name: "target", default: "\"en\"", doc: "a script name or a language code (see the docs)" },
    ParamDoc { name: "scope", default: "\"think\"", doc: "\"think\" (the reasoning block) or \"completion\"" },
    ParamDoc { name: "ignore_math", default: "true", doc: "skip $…$, \\(…\\), \\[…\\] and LaTeX command names" },
];

/// A writing system, as far as this component tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Latin letters, with the Latin-1, Extended-A/B and Extended Additional blocks.
    Latin,
    /// Cyrillic and its supplement.
    Cyrillic,
    /// Greek and Greek Extended.
    Greek,
    /// Arabic and its supplement.
    Arabic,
    /// CJK unified ideographs (Chinese characters, Japanese kanji, Korean hanja).
    Han,
    /// Japanese hiragana and katakana.
    Kana,
    /// Korean hangul.
    Hangul,
    /// Any other letter.
    Other,
}

impl Script {
    /// The script of a letter, or `None` for anything that is not a letter.
    pub fn of(c: char) -> Option<Script> {
        let script = match c as u32 {
            0x41..=0x5A | 0x61..=0x7A | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x24F | 0x1E00..=0x1EFF => Script::Latin,
            0x400..=0x52F => Script::Cyrillic,
            0x370..=0x3FF | 0x1F00..=0x1FFF => Script::Greek,
            0x600..=0x6FF | 0x750..=0x77F => Script::Arabic,
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF => Script::Han,
            0x3040..=0x30FF => Script::Kana,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
            _ if c.is_alphabetic() => Script::Other,
            _ => return None,
        };
        // Punctuation inside the blocks above (Greek ';', Arabic comma, kana middle dot) is no letter.
        if !c.is_alphabetic() {
            return None;
        }
        Some(script)
    }

    /// Whether each character of this script is a word of its own.
    fn one_word_per_char(self) -> bool {
        matches!(self, Script::Han | Script::Kana)
    }
}

fn target_scripts(target: &str) -> Option<&'static [Script]> {
    Some(match target {
        "latin" | "en" | "fr" | "de" | "es" | "it" | "pt" | "nl" | "sv" | "da" | "no" | "fi" | "pl" | "cs" | "ro"
        | "hu" | "tr" | "vi" | "id" | "ms" => &[Script::Latin],
        "cyrillic" | "ru" | "uk" | "bg" | "sr" | "be" | "kk" => &[Script::Cyrillic],
        "greek" | "el" => &[Script::Greek],
        "arabic" | "ar" | "fa" | "ur" => &[Script::Arabic],
        "han" | "zh" => &[Script::Han],
        "kana" => &[Script::Kana],
        "hangul" => &[Script::Hangul],
        "ja" => &[Script::Han, Script::Kana],
        "ko" => &[Script::Hangul, Script::Han],
        "cjk" => &[Script::Han, Script::Kana, Script::Hangul],
        _ => return None,
    })
}

/// The built language-consistency scorer.
#[derive(Debug, Clone, PartialEq)]
struct LanguageScorer {
    target: &'static [Script],
    think_only: bool,
    ignore_math: bool,
}

impl RewardComponent for LanguageConsistency {
    fn name(&self) -> &'static str {
        "language_consistency"
    }

    fn doc(&self) -> &'static str {
        "DeepSeek-R1 language consistency: words of the reasoning in the target script / all words \
         (script-based: Latin, Cyrillic, Greek, Arabic, Han, Kana, Hangul); 0 when there are no words"
    }

    fn params(&self) -> &'static [ParamDoc] {
        PARAMS
    }

    fn build(&self, params: &Params) -> Result<Arc<dyn Scorer>, ParamError> {
        let target_name = params.string("target", "en")?;
        let target = target_scripts(target_name).ok_or_else(|| {
            params.error("target", format!("unknown script or language `{target_name}` (e.g. en, zh, ja, ko, ru, cjk)"))
        })?;
        let think_only = match params.string("scope", "think")? {
            "think" => true,
            "completion" => false,
            other => return Err(params.error("scope", format!("must be \"think\" or \"completion\", got \"{other}\""))),
        };
        Ok(Arc::new(LanguageScorer { target, think_only, ignore_math: params.boolean("ignore_math", true)? }))
    }
}

/// The reasoning text of a completion, per the `scope = "think"` rules; `None` when there is none.
fn reasoning(text: &str) -> Option<&str> {
    let close = text.find("</think>")?;
    let before = &text[..close];
    Some(match before.find("<think>") {
        Some(open) => &before[open + "<think>".len()..],
        None => before,
    })
}

/// Counts `(target words, all words)` in `text`.
pub fn count_words(text: &str, target: &[Script], ignore_math: bool) -> (usize, usize) {
    let (mut in_target, mut total) = (0, 0);
    let mut current: Option<Script> = None;
    let mut math_end: Option<&str> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if ignore_math {
            if let Some(end) = math_end {
                match rest.strip_prefix(end) {
                    Some(after) => (math_end, rest) = (None, after),
                    None => rest = &rest[c.len_utf8()..],
                }
                current = None;
                continue;
            }
            let opener = [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")]
                .into_iter()
                .find(|(open, _)| rest.starts_with(open));
            if let Some((open, close)) = opener {
                (math_end, rest, current) = (Some(close), &rest[open.len()..], None);
                continue;
            }
            if c == '\\' {
                let name_len = rest[1..].bytes().take_while(u8::is_ascii_alphabetic).count();
                rest = &rest[1 + name_len..];
                current = None;
                continue;
            }
        }
        rest = &rest[c.len_utf8()..];
        let script = Script::of(c);
        if let Some(s) = script
            && (current != script || s.one_word_per_char())
        {
            total += 1;
            in_target += usize::from(target.contains(&s));
        }
        current = script;
    }
    (in_target, total)
}

impl Scorer for LanguageScorer {
    fn score(&self, ctx: &ScoreContext<'_>) -> Result<Measured, ScoreError> {
        let text = ctx.completion()?;
        let Some(text) = (if self.think_only { reasoning(text) } else { Some(text) }) else {
            return Ok(0.0.into());
        };
        let (in_target, total) = count_words(text, self.target, self.ignore_math);
        Ok(if total == 0 { 0.0 } else { in_target as f64 / total as f64 }.into())
    }
}
