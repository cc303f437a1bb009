//! Answer forms that are rewritten to a form the parser already reads, before tokenising.
//!
//! Each rewrite is exact: it changes how a value is written, never which value it is, and each
//! has an adversarial case in `testdata/math/forms_round2.jsonl` (a wrong value in the same form
//! must still fail). They run only when a cheap byte test finds their trigger, so the common
//! answer (`42`, `\frac{1}{2}`) pays a few `contains` calls.
//!
//! | form | rewritten to |
//! |---|---|
//! | degrees–minutes–seconds `60^\circ 42'`, `10^\circ 30' 36''` | `(60+\frac{42}{60})^\circ` |
//! | ordinals `12^{\text{th}}`, `15\text{th Day}` | `12`, `15` |
//! | a trailing unit in `\mathrm{}` after a number, `5\,\mathrm{m}` | `5` |
//! | prose wrappers `\text{only } x=0`, `x=0 \text{ only}` | `x=0` |
//! | a "for all" tail, `f(x)=x \text{ for all } x`, `\forall x` | `f(x)=x` |
//! | set-builder `\{x \mid P\}`, `\{x : P\}`, `\{x \in \mathbb{R} \vert P\}` | `P` |
//! | set-builder less a finite set, `\{x : P\} \setminus \{-6\}` | `\left(P\right) \setminus \{-6\}` |
//! | `\lor`/`\vee`, `\land`/`\wedge` | `\text{ or }`, `\text{ and }` |
//! | `x > a \text{ and } x < b` (both bounds of one variable) | `a < x < b` |
//! | `A \approx 1.36` on a gold ([`gold_exact_part`]) | `A` |

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, checked by the unit tests below.
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

static DMS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)\s*(\d+(?:\.\d+)?)\s*(?:\\prime|\^\s*\{?\s*\\prime\s*\}?|'|′)(?:\s*(\d+(?:\.\d+)?)\s*(?:''|"|″|\\prime\s*\\prime|\^\s*\{?\s*\\prime\s*\\prime\s*\}?))?"#,
    )
});
static ORDINAL_SCRIPT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d)\s*\^\s*(?:\{\s*)?\\(?:text|mathrm|textrm|rm)\s*\{\s*(?:st|nd|rd|th)\s*\}(?:\s*\})?"));
static ORDINAL_TEXT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d)\s*\\(?:text|mathrm|textrm)\s*\{\s*(?:st|nd|rd|th)(?:\s+[A-Za-z]+)*\s*\}"));
static ORDINAL_PLAIN: LazyLock<Regex> = LazyLock::new(|| re(r"(\d)(?:st|nd|rd|th)(?:\s+[A-Za-z]+)?\s*$"));
static MATHRM_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(\d)(?:\s|\\[,;:! ]|~)*\\(?:mathrm|text|textrm|rm|operatorname)\s*\{\s*(?:m|cm|mm|km|s|ms|kg|g|mg|h|min|L|mL|ml|N|J|W|V|A|Pa|Hz|K|mol|m/s|km/h)\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*\}\s*$",
    )
});
static ONLY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\\(?:text|textrm|mathrm|mbox)\s*\{\s*only\s*\}|(?:^|\s)only(?:\s|$)"));
static FOR_ALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:,|\\,|\\;|\\quad|\s)*(?:\\(?:text|textrm|mbox)\s*\{\s*(?:for\s+(?:all|every|any)|for\s+each)\b[^{}]*\}|\\forall\b).*$",
    )
});
static SET_BUILDER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*\\\{\s*([A-Za-z])\s*(?:\\in\s*\\mathbb\s*\{?\s*[RZNQ]\s*\}?\s*)?(?:\\mid|\\vert|\||:|\\colon)\s*((?:[^\\]|\\[^}])*?)\s*\\\}\s*$",
    )
});
static SET_BUILDER_MINUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*\\\{\s*([A-Za-z])\s*(?:\\in\s*\\mathbb\s*\{?\s*[RZNQ]\s*\}?\s*)?(?:\\mid|\\vert|\||:|\\colon)\s*((?:[^\\]|\\[^}])*?)\s*\\\}\s*(?:\\setminus|\\smallsetminus)\s*(\\\{(?:[^\\]|\\[^}])*\\\})\s*$",
    )
});
static OR_AND: LazyLock<Regex> = LazyLock::new(|| re(r"\\(lor|vee|land|wedge)\b"));
static AND_CHAIN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*([A-Za-z])\s*(<|>|\\le|\\leq|\\ge|\\geq|\\leqslant|\\geqslant)\s*([^,<>]+?)\s*(?:\\text\s*\{\s*and\s*\}|\band\b)\s*([A-Za-z])\s*(<|>|\\le|\\leq|\\ge|\\geq|\\leqslant|\\geqslant)\s*([^,<>]+?)\s*$",
    )
});
static APPROX_TAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"\s*(?:\\approx|≈|\\simeq)\s*[-+−]?\s*(?:\d+\.?\d*|\.\d+)\s*(?:\\ldots|\.\.\.)?\s*$"));

/// Is the relation `op` one of `<`, `\le`?
fn upward(op: &str) -> Option<bool> {
    match op {
        "<" | "\\le" | "\\leq" | "\\leqslant" => Some(true),
        ">" | "\\ge" | "\\geq" | "\\geqslant" => Some(false),
        _ => None,
    }
}

/// The relation flipped (`>` → `<`), written so the parser reads it.
fn flipped(op: &str) -> &'static str {
    match op {
        ">" => "<",
        "<" => ">",
        "\\ge" | "\\geq" | "\\geqslant" => "\\le",
        _ => "\\ge",
    }
}

/// `x > a and x < b` → `a < x < b`; `None` unless one bound is lower and the other upper.
fn and_chain(text: &str) -> Option<String> {
    let c = AND_CHAIN.captures(text)?;
    let (v1, op1, b1, v2, op2, b2) = (&c[1], &c[2], &c[3], &c[4], &c[5], &c[6]);
    if v1 != v2 {
        return None;
    }
    match (upward(op1)?, upward(op2)?) {
        // x > a and x < b
        (false, true) => Some(format!("{b1} {} {v1} {op2} {b2}", flipped(op1))),
        // x < b and x > a
        (true, false) => Some(format!("{b2} {} {v1} {op1} {b1}", flipped(op2))),
        _ => None,
    }
}

/// Applies `f` when `trigger` says the text may hold its form.
fn step(text: Cow<'_, str>, trigger: bool, f: impl FnOnce(&str) -> Option<String>) -> Cow<'_, str> {
    if !trigger {
        return text;
    }
    match f(&text) {
        Some(s) => Cow::Owned(s),
        None => text,
    }
}

fn replaced(r: &Regex, text: &str, with: &str) -> Option<String> {
    match r.replace_all(text, with) {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) => Some(s),
    }
}

/// Rewrites the forms of the module table; text without any of them is returned as it is.
pub(crate) fn rewrite(src: &str) -> Cow<'_, str> {
    let mut t = Cow::Borrowed(src);
    let has = |t: &str, n: &str| t.contains(n);
    let deg = (has(&t, "\\circ") || has(&t, "°")) && (has(&t, "'") || has(&t, "\\prime") || has(&t, "′"));
    t = step(t, deg, |s| {
        let mut changed = false;
        let out = DMS.replace_all(s, |c: &regex::Captures<'_>| {
            changed = true;
            let mut v = format!("({}+\\frac{{{}}}{{60}}", &c[1], &c[2]);
            if let Some(sec) = c.get(3) {
                v.push_str(&format!("+\\frac{{{}}}{{3600}}", sec.as_str()));
            }
            v.push_str(")^\\circ");
            v
        });
        changed.then(|| out.into_owned())
    });
    let ordinal = ["st", "nd", "rd", "th"].iter().any(|o| has(&t, o));
    let command = has(&t, "\\");
    t = step(t, ordinal && command, |s| {
        let a = replaced(&ORDINAL_SCRIPT, s, "$1");
        let b = replaced(&ORDINAL_TEXT, a.as_deref().unwrap_or(s), "$1");
        b.or(a)
    });
    t = step(t, ordinal, |s| replaced(&ORDINAL_PLAIN, s, "$1"));
    let styled = has(&t, "\\m") || has(&t, "\\t") || has(&t, "\\o") || has(&t, "\\r");
    t = step(t, styled, |s| replaced(&MATHRM_UNIT, s, "$1"));
    let only = has(&t, "only");
    t = step(t, only, |s| replaced(&ONLY, s, " ").filter(|r| !r.trim().is_empty()));
    let for_all = has(&t, "for") || has(&t, "\\forall");
    t = step(t, for_all, |s| replaced(&FOR_ALL, s, "").filter(|r| !r.trim().is_empty()));
    let set = has(&t, "\\{");
    t = step(t, set, |s| {
        // `\{x \mid P\} \setminus \{…\}` keeps its difference, with `P` in parentheses.
        if let Some(c) = SET_BUILDER_MINUS.captures(s) {
            return Some(format!("\\left({}\\right) \\setminus {}", &c[2], &c[3]));
        }
        SET_BUILDER.captures(s).map(|c| c[2].to_string())
    });
    let logic = has(&t, "\\l") || has(&t, "\\v") || has(&t, "\\w");
    t = step(t, logic, |s| {
        let mut changed = false;
        let out = OR_AND.replace_all(s, |c: &regex::Captures<'_>| {
            changed = true;
            if matches!(&c[1], "lor" | "vee") { " \\text{ or } " } else { " \\text{ and } " }
        });
        changed.then(|| out.into_owned())
    });
    let and = has(&t, "and");
    step(t, and, and_chain)
}

/// A gold's exact part when it ends with an approximation: `\frac{1+\sqrt{97}}{8} \approx 1.36`
/// means `\frac{1+\sqrt{97}}{8}` (the decimal is the author's rounding, not a second answer).
pub(crate) fn gold_exact_part(gold: &str) -> &str {
    if !(gold.contains("approx") || gold.contains('≈') || gold.contains("simeq")) {
        return gold;
    }
    match APPROX_TAIL.find(gold) {
        Some(m) if !gold[..m.start()].trim().is_empty() => &gold[..m.start()],
        _ => gold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for r in [
            &DMS,
            &ORDINAL_SCRIPT,
            &ORDINAL_TEXT,
            &ORDINAL_PLAIN,
            &MATHRM_UNIT,
            &ONLY,
            &FOR_ALL,
            &SET_BUILDER,
            &SET_BUILDER_MINUS,
            &OR_AND,
            &AND_CHAIN,
            &APPROX_TAIL,
        ] {
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn rewrites() {
        assert_eq!(rewrite("60^\\circ 42'"), "(60+\\frac{42}{60})^\\circ");
        assert_eq!(rewrite("10^\\circ 30' 36''"), "(10+\\frac{30}{60}+\\frac{36}{3600})^\\circ");
        assert_eq!(rewrite("12^{\\text{th}}"), "12");
        assert_eq!(rewrite("15\\text{th Day}"), "15");
        assert_eq!(rewrite("15th"), "15");
        assert_eq!(rewrite("5\\,\\mathrm{m}"), "5");
        assert_eq!(rewrite("\\{x \\mid -1 < x < 1\\}"), "-1 < x < 1");
        assert_eq!(rewrite("x > 1 \\text{ and } x < 3"), "1 < x < 3");
        assert_eq!(rewrite("x < 3 \\land x \\ge 1"), "1 \\le x < 3");
        assert_eq!(rewrite("42"), "42");
        assert_eq!(rewrite("f(x)=x \\text{ for all } x"), "f(x)=x");
        assert_eq!(gold_exact_part("\\frac{1+\\sqrt{97}}{8} \\approx 1.36"), "\\frac{1+\\sqrt{97}}{8}");
        assert_eq!(gold_exact_part("\\approx 1.36"), "\\approx 1.36");
    }
}
