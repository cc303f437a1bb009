//! Math answer verification: parse LaTeX and plain text into one AST and decide equivalence.
//!
//! # What it checks
//! Whether the final answer of a completion means the same as the gold answer. [`verify`] finds the
//! answer with [`crate::extract`] and calls [`equivalent`], which compares two answer strings.
//!
//! # Accepted forms
//! LaTeX and plain text alike: integers with thousands separators (`7,425,000`, `9{,}500`, `1\,000`,
//! `1 000`), decimals (also `.5` and unambiguous decimal commas `1000,99`), scientific notation
//! (`1.5\times10^{3}`, `1e-3`), repeating decimals (`0.\overline{3}`), `\frac`/`\dfrac`/`\tfrac`/`\cfrac`
//! (also `\frac12`), mixed numbers (`1\frac12`, `1 1/2`), `\sqrt[n]{}`/`\sqrt3`, powers, `\cdot`
//! `\times` `\div`, implicit products, `\pi`, `e`, `i`, `\infty`, `\pm`, `n!`, `\binom`, trigonometric,
//! hyperbolic and logarithmic functions (`\log_2`, `\ln`, `\sin^2 x`, `\sin^{-1}`), `|x|`, `\left…\right`,
//! `\%` and percent words, `^\circ` and "degrees", units (`5\text{ cm}`, `10 dollars`, `\$10`, `cm^2`),
//! `\text{…}` answers, `\mathrm`/`\mathbf`, bases (`52_8`), choice letters, `\emptyset`/"no solution",
//! sets, intervals and unions, tuples, `pmatrix`/`bmatrix`/`array` matrices, `cases`, complex numbers,
//! equations, inequalities and chains (`-2 \le x \le 7`), ratios and times (`7:32`), answer lists joined
//! by `,`, `;`, "and", "or".
//!
//! # How it decides, cheapest first
//! 1. **Normalised string**: the two answers are equal after dropping spaces, `$`, `\left`/`\right`,
//!    spacing commands and `\text{}` wrappers (this alone settles most GRPO rollouts).
//! 2. **Multiple choice**: a gold that is one letter A–E (`C`, `(C)`, `\text{(C)}`) accepts only the
//!    same letter.
//! 3. **Parse** both into [`Expr`] (see `parser`), under [`MathLimits`].
//! 4. **Structure**: answer lists are sets (`1,-2` = `-2,1`, `x=\pm2` = `\{2,-2\}`, repeats collapse), but
//!    a list never equals one of its members or a part of itself (`1,2,3` ≠ `3`, `1,2` ≠ `1`); tuples
//!    compare in order; matrices cell by cell (sums, products and multiples of matrices are worked out);
//!    intervals, unions and one-variable inequalities become interval sets (`x>3` = `(3,\infty)`,
//!    `1 \le |z| \le 2` = `[-2,-1] \cup [1,2]`); assignment groups are tuples (`p=5,q=2;p=7,q=2` =
//!    `(5,2),(7,2)`); a true chain of constants answers with its end (`35+70=105` = `105`);
//!    `x = 5` is `5` when the left side is a label (a variable, `f(x)`, `|AB|`); other equations compare
//!    as `lhs − rhs` up to a constant factor (`2x-y=3` = `-4x+2y=-6`), inequalities up to a positive one.
//! 5. **Exact value**: numbers are [`num_rational::BigRational`]; sums, products, integer powers,
//!    perfect-power roots, factorials and binomials stay exact. Floats (`f64`) appear only for π, e,
//!    trigonometry, logarithms and irrational roots.
//!    Square-root monomials `c·√k` compare exactly (`\sqrt{117}` = `3\sqrt{13}`), so a rational within
//!    1e-49 of `\sqrt2` is still told apart.
//! 6. **Symbolic**: expressions with variables are evaluated at [`MathConfig::random_points`]
//!    deterministic pseudo-random rational points (seed [`MathConfig::seed`]); exact agreement at every
//!    point means equal (Schwartz–Zippel). Variables are case-sensitive (`X` ≠ `x`). Points where a
//!    negative number meets a fractional power are skipped (they test a branch, not the identity), and
//!    a point's exact integers get 1/64 of `max_integer_bits` (a point is a probe, not the answer).
//!
//! # Numeric tolerance (see [`Tolerance`])
//! * Two exact values must be equal: `1000001` ≠ `1000000`, `100.00001` ≠ `100`, `\frac{1}{2004!}` ≠
//!   `\frac{1}{2006!}`.
//! * **Gold written as a decimal** with at least `gold_decimal_min_sig_digits` (3) significant digits:
//!   a non-decimal prediction is accepted when it is within half a unit of the gold's last digit
//!   (gold `0.333` accepts `\frac13`; gold `0.33` accepts `\frac{33}{100}` exactly). Two decimals must
//!   be equal as numbers (`0.50` = `0.5`).
//! * **Prediction written as a decimal**, gold not: the prediction needs at least
//!   `pred_decimal_min_sig_digits` (5) significant digits and must be the gold rounded (half away from
//!   zero) or truncated at the prediction's last digit. For an irrational gold: |pred − gold| < one unit
//!   of the prediction's last digit. So `0.33333` = `\frac13` but `0.33` ≠ `\frac13`, `1.732` ≠ `\sqrt3`,
//!   `3.1416` = `\pi`.
//! * Non-decimal values that need floats compare with relative tolerance `rel_tol` (1e-12) plus
//!   `abs_tol` (1e-13); symbolic point evaluations with 1e-9.
//! * **Percent**: `10\%` equals `10`, `0.1` and `10\%`; nothing else (no ×100 leniency: gold `5` never
//!   matches `500` or `0.05`). **Degrees**: `45^\circ` equals `45` and `\frac{\pi}{4}`.
//!
//! # Verdicts
//! `correct`, `incorrect`, `no_answer` (nothing to read), `invalid_gold` (the gold does not parse:
//! reward 0 and a visible error, never a silent pass), `limit_exceeded` (a budget of [`MathLimits`]
//! stopped the comparison before it could decide).
//!
//! # Limits
//! Every budget is structural and deterministic (no timers, no signals): input bytes, nesting depth,
//! AST nodes, integer bits (the size of `a^b` is estimated as `b·log2|a|` and `n!` by Stirling before
//! computing), factorial argument, list length, `\pm` expansions. Values too big to compute are still
//! compared through their estimated magnitude (`10^{10^{10}}` ≠ `1`) when that decides.
//!
//! # Example
//! ```
//! use rlvr::math::{equivalent, MathConfig};
//! use rlvr::Verdict;
//! let cfg = MathConfig::default();
//! assert_eq!(equivalent("\\frac{\\sqrt2}{2}", "\\frac{1}{\\sqrt{2}}", &cfg).verdict, Verdict::Correct);
//! assert_eq!(equivalent("(1,2)", "(2,1)", &cfg).verdict, Verdict::Incorrect);
//! ```

mod ast;
mod compare;
mod eval;
mod forms;
mod lexer;
mod parser;

use std::sync::Arc;

pub use ast::{Constant, Expr, Number, RelOp, Written};

use crate::extract::{self, ExtractConfig, ExtractError};
use crate::sample::Verdict;

/// Resource limits for parsing and comparing; each limit gives a typed error, never a hang.
#[derive(Debug, Clone, PartialEq)]
pub struct MathLimits {
    /// Longest answer text parsed, in bytes (default 128 KiB; longer: [`MathError::Limit`]).
    pub max_answer_bytes: usize,
    /// Deepest nesting of the parsed expression (default 1 000; deeper: [`MathError::Limit`]). Grouping
    /// that groups nothing new (`((x))`, `{{x}}`) is dropped first and does not count. Nesting through
    /// paired brackets is parsed inside out with an explicit stack; nesting no bracket pair splits (a
    /// chain of intervals, unpaired `|`) stops at 200 recursive levels whatever this says.
    pub max_depth: usize,
    /// Most AST nodes in one parsed answer (default 10 000; more: [`MathError::Limit`]).
    pub max_nodes: usize,
    /// Largest exact integer (in bits) computed during evaluation (default 2^20; larger: the value is
    /// compared by magnitude or the verdict is `limit_exceeded`).
    pub max_integer_bits: u64,
    /// Largest `n` for which `n!` is computed exactly (default 20 000; larger: as `max_integer_bits`).
    pub max_factorial: u64,
    /// Most answers in one list or set (default 1 000; more: `limit_exceeded`).
    pub max_list_items: usize,
    /// Most intervals in one side of an interval comparison, and most points taken out by one
    /// `\setminus` (default 256; more: `limit_exceeded`), so a union of thousands of pieces cannot
    /// cost seconds.
    pub max_intervals: usize,
}

impl Default for MathLimits {
    fn default() -> Self {
        MathLimits {
            max_answer_bytes: 128 * 1024,
            max_depth: 1_000,
            max_nodes: 10_000,
            max_integer_bits: 1 << 20,
            max_factorial: 20_000,
            max_list_items: 1_000,
            max_intervals: 256,
        }
    }
}

/// Numeric tolerance rules (see the module docs for the full rule).
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    /// A decimal prediction of a non-decimal gold needs at least this many significant digits (default 5).
    pub pred_decimal_min_sig_digits: u32,
    /// A decimal gold is compared at its written precision only with at least this many significant
    /// digits (default 3); below that the prediction must equal it exactly.
    pub gold_decimal_min_sig_digits: u32,
    /// Relative tolerance between two float values that were not written as decimals (default 1e-12).
    pub rel_tol: f64,
    /// Absolute tolerance added to `rel_tol` (default 1e-13).
    pub abs_tol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { pred_decimal_min_sig_digits: 5, gold_decimal_min_sig_digits: 3, rel_tol: 1e-12, abs_tol: 1e-13 }
    }
}

/// Everything the math verifier can be told.
#[derive(Debug, Clone, PartialEq)]
pub struct MathConfig {
    /// Parse and evaluation limits.
    pub limits: MathLimits,
    /// How the predicted answer is found in the completion.
    pub extract: ExtractConfig,
    /// Numeric tolerance rules.
    pub tolerance: Tolerance,
    /// Points at which expressions with variables are evaluated (default 4).
    pub random_points: usize,
    /// Seed of the evaluation points (default fixed, so verdicts are reproducible).
    pub seed: u64,
}

impl Default for MathConfig {
    fn default() -> Self {
        MathConfig {
            limits: MathLimits::default(),
            extract: ExtractConfig::default(),
            tolerance: Tolerance::default(),
            random_points: 4,
            seed: 0x5EED_2026,
        }
    }
}

/// A parsed gold answer, reusable across a GRPO group.
#[derive(Debug, Clone)]
pub struct Gold {
    /// The gold answer as given.
    pub raw: String,
    /// The answer text read from it (`\boxed{2}` → `2`).
    pub answer: String,
    parsed: Arc<Answer>,
}

/// One side of a comparison, prepared once.
#[derive(Debug)]
struct Answer {
    key: String,
    choice: Option<char>,
    expr: Option<Expr>,
}

impl Answer {
    /// The parsed answer printed back (for explanations; printing is not free, so only on demand).
    fn printed(&self) -> Option<String> {
        self.expr.as_ref().map(Expr::to_string)
    }
}

/// Why an answer is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MathError {
    /// The text does not parse.
    #[error("cannot parse `{text}`: {reason}")]
    Parse {
        /// The text.
        text: String,
        /// What went wrong.
        reason: String,
    },
    /// A limit of [`MathLimits`] was reached while parsing.
    #[error("answer exceeds `{limit}`: {value} > {max}")]
    Limit {
        /// The name of the [`MathLimits`] field.
        limit: &'static str,
        /// The size found (at the point parsing stopped).
        value: u64,
        /// The configured limit.
        max: u64,
    },
}

/// The result of checking one completion against one gold answer, with its explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MathCheck {
    /// The verdict.
    pub verdict: Verdict,
    /// The answer read from the completion.
    pub extracted: Option<String>,
    /// The gold as parsed, printed back.
    pub gold_parsed: Option<String>,
    /// The prediction as parsed, printed back.
    pub pred_parsed: Option<String>,
    /// Why the verdict is what it is, in one sentence.
    pub reason: String,
}

/// Parses one answer string into an expression (no extraction).
pub fn parse_answer(text: &str, limits: &MathLimits) -> Result<Expr, MathError> {
    parser::parse(text, limits)
}

/// The normalised string used by the fast path: no spaces, `$`, spacing commands or style wrapper names.
/// Braces stay: `\frac{1}{2}3` and `\frac{1}{23}` must not collide.
fn string_key(s: &str) -> String {
    const DROP: &[&str] = &[
        "\\left",
        "\\right",
        "\\displaystyle",
        "\\!",
        "\\,",
        "\\;",
        "\\:",
        "\\ ",
        "\\quad",
        "\\qquad",
        "\\boxed",
        "\\text",
        "\\textbf",
        "\\mathrm",
        "\\mathbf",
        "\\textnormal",
        "\\mbox",
        "\\textrm",
        "$",
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s.trim();
    'scan: while let Some(c) = rest.chars().next() {
        if c == '\\' {
            for d in DROP {
                if let Some(r) = rest.strip_prefix(d)
                    && !r.starts_with(|n: char| {
                        n.is_ascii_alphabetic() && d.ends_with(|l: char| l.is_ascii_alphabetic())
                    })
                {
                    rest = r;
                    continue 'scan;
                }
            }
            for (from, to) in [("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\cfrac", "\\frac")] {
                if let Some(r) = rest.strip_prefix(from) {
                    out.push_str(to);
                    rest = r;
                    continue 'scan;
                }
            }
        }
        if !c.is_whitespace() && c != '~' {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    while out.ends_with('.') || out.ends_with(',') {
        out.pop();
    }
    out
}

fn join_thin_spaces(s: &str) -> std::borrow::Cow<'_, str> {
    if !extract::has_thin_space(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find(['\\']) {
        out.push_str(&rest[..k]);
        let tail = &rest[k..];
        if tail.starts_with("\\!") || tail.starts_with("\\,") {
            out.push_str(&tail[..2]);
            rest = tail[2..].trim_start_matches(' ');
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// A multiple-choice letter: `C`, `(C)`, `\text{(C)}`, `C)`, `\textbf{C}`.
fn choice_letter(key: &str) -> Option<char> {
    let core = key.trim_start_matches(['(', '{']).trim_end_matches([')', '}', ':', '.']);
    let mut chars = core.chars();
    let c = chars.next()?;
    if chars.next().is_none() && c.is_ascii_uppercase() && c <= 'E' {
        return Some(c);
    }
    None
}

fn prepare(text: &str, limits: &MathLimits) -> (Answer, Option<MathError>) {
    let key = string_key(text);
    let choice = choice_letter(&key);
    match parser::parse(text, limits) {
        Ok(expr) => (Answer { key, choice, expr: Some(expr) }, None),
        Err(e) => (Answer { key, choice, expr: None }, Some(e)),
    }
}

/// Parses a gold answer once, so a group of completions can share it.
pub fn parse_gold(answer: &str, config: &MathConfig) -> Result<Gold, MathError> {
    // In math mode `11,\! 111` is `11,111`: join thin spaces to what follows before the extractor
    // removes them, so the space is not read as a list separator.
    let joined = join_thin_spaces(answer);
    let text = extract::extract_gold(&joined);
    let (mut parsed, err) = prepare(gold_exact_part(&text, &config.limits), &config.limits);
    // A multiple-choice gold (`C`, `(C)`, `\text{(C)}`, `(D) Alina`) is read by the extractor's rule
    // (from the text already extracted, unless joining thin spaces changed the gold).
    let letter = match joined {
        std::borrow::Cow::Borrowed(_) => extract::choice_in_gold_text(&text),
        std::borrow::Cow::Owned(_) => extract::gold_choice(answer),
    };
    if let Some(letter) = letter {
        parsed.choice = Some(letter);
    }
    if let Some(e) = err
        && parsed.choice.is_none()
    {
        return Err(e);
    }
    Ok(Gold { raw: answer.to_string(), answer: text, parsed: Arc::new(parsed) })
}

/// A gold's exact part ([`forms::gold_exact_part`]: `A \approx 1.36` means `A`), where `A` is a
/// constant that the decimal approximates within 5 %, the rule a completion's chain `a \approx b`
/// meets. Otherwise (`13 \approx 1.3`, a symbolic or unparsable `A`) the gold is read whole, as it
/// is in a completion, so a completion that copies the gold is judged as the gold.
fn gold_exact_part<'t>(text: &'t str, limits: &MathLimits) -> &'t str {
    let exact = forms::gold_exact_part(text);
    if exact.len() < text.len() && !approximation_holds(exact, text, limits) { text } else { exact }
}

/// Whether the last part of the chain `text` (`… \approx 1.36`) is within 5 % of the constant `exact`.
fn approximation_holds(exact: &str, text: &str, limits: &MathLimits) -> bool {
    let (Ok(a), Ok(ast::Expr::Rel(parts, ops))) = (parser::parse(exact, limits), parser::parse(text, limits)) else {
        return false;
    };
    let (Some(b), Some(ast::RelOp::Approx)) = (parts.last(), ops.last()) else { return false };
    compare::approximates(&a, b, &eval::Env { limits, vars: &[], branch: std::cell::Cell::new(false) })
}

impl Gold {
    /// The multiple-choice letter, when the gold is one.
    pub fn choice(&self) -> Option<char> {
        self.parsed.choice
    }

    /// How many answers the gold lists (`1, -2` has two; `\pm 2` has two).
    fn answer_count(&self) -> usize {
        match &self.parsed.expr {
            Some(Expr::List(v) | Expr::Set(v)) => v.len(),
            Some(e) if e.any(&|x| matches!(x, Expr::PlusMinus(_))) => 2,
            _ => 1,
        }
    }
}

/// Checks an extracted answer against a prepared gold; `detail` adds the printed forms of both
/// sides to the result (an explanation; the batch engine does not need them).
fn check_answers(gold: &Answer, pred_text: &str, config: &MathConfig, detail: bool) -> MathCheck {
    let mut out = MathCheck {
        verdict: Verdict::Incorrect,
        extracted: Some(pred_text.to_string()),
        gold_parsed: if detail { gold.printed() } else { None },
        pred_parsed: None,
        reason: String::new(),
    };
    if pred_text.len() > config.limits.max_answer_bytes && pred_text != gold.key {
        out.verdict = Verdict::LimitExceeded;
        out.reason =
            format!("answer is {} bytes, over max_answer_bytes = {}", pred_text.len(), config.limits.max_answer_bytes);
        return out;
    }
    let key = string_key(pred_text);
    if !gold.key.is_empty() && key == gold.key {
        out.verdict = Verdict::Correct;
        out.reason = "the answers are identical after normalisation".into();
        return out;
    }
    if let Some(letter) = gold.choice {
        let pred = choice_letter(&key);
        out.verdict = if pred == Some(letter) { Verdict::Correct } else { Verdict::Incorrect };
        out.reason = match pred {
            Some(p) if p == letter => format!("choice ({letter}) matches"),
            Some(p) => format!("choice ({p}) is not the gold choice ({letter})"),
            None => format!("the gold is choice ({letter}) and the answer is not a choice letter"),
        };
        return out;
    }
    let Some(gexpr) = gold.expr.as_ref() else {
        out.verdict = Verdict::InvalidGold;
        out.reason = "the gold answer does not parse".into();
        return out;
    };
    let pexpr = match parser::parse(pred_text, &config.limits) {
        Ok(e) => e,
        Err(e @ MathError::Limit { .. }) => {
            out.verdict = Verdict::LimitExceeded;
            out.reason = e.to_string();
            return out;
        }
        Err(e) => {
            out.reason = format!("the answer does not parse: {e}");
            return out;
        }
    };
    if detail {
        out.pred_parsed = Some(pexpr.to_string());
    }
    // Two exact integers (no written precision) are equal exactly when their values are: decided
    // without the comparer's general machinery.
    if let (Expr::Num(g), Expr::Num(p)) = (gexpr, &pexpr)
        && g.written.is_none()
        && p.written.is_none()
        && g.value.is_integer()
        && p.value.is_integer()
    {
        if g.value == p.value {
            out.verdict = Verdict::Correct;
            out.reason = "the answers are mathematically equivalent".into();
        } else {
            out.reason = "the answers differ".into();
        }
        return out;
    }
    let cmp = compare::Comparer::new(config);
    if cmp.equal(gexpr, &pexpr) {
        out.verdict = Verdict::Correct;
        out.reason = "the answers are mathematically equivalent".into();
    } else if let Some(limit) = cmp.limit_hit.get() {
        out.verdict = Verdict::LimitExceeded;
        out.reason = format!("could not decide within `{limit}`");
    } else {
        out.reason = "the answers differ".into();
    }
    out
}

/// Compares two already-extracted answers; `gold_answer` steers (labels, decimal precision, choices).
pub fn equivalent(gold_answer: &str, pred_answer: &str, config: &MathConfig) -> MathCheck {
    let (gold, err) = prepare(gold_exact_part(gold_answer, &config.limits), &config.limits);
    if let Some(e) = err
        && gold.choice.is_none()
    {
        let verdict = match e {
            MathError::Limit { .. } => Verdict::LimitExceeded,
            MathError::Parse { .. } => Verdict::InvalidGold,
        };
        return MathCheck {
            verdict,
            extracted: Some(pred_answer.to_string()),
            gold_parsed: None,
            pred_parsed: None,
            reason: format!("invalid gold answer: {e}"),
        };
    }
    check_answers(&gold, pred_answer, config, true)
}

/// Checks a completion against a parsed gold, with the explanation (`gold_parsed`, `pred_parsed`).
pub fn verify(gold: &Gold, completion: &str, config: &MathConfig) -> MathCheck {
    verify_with(gold, completion, config, true)
}

/// [`verify`] without printing the parsed forms back (`gold_parsed`/`pred_parsed` stay `None`
/// unless the gold is a choice letter): the same verdict and extraction, for batch scoring.
pub fn judge(gold: &Gold, completion: &str, config: &MathConfig) -> MathCheck {
    verify_with(gold, completion, config, false)
}

fn verify_with(gold: &Gold, completion: &str, config: &MathConfig, detail: bool) -> MathCheck {
    if let Some(letter) = gold.parsed.choice {
        return verify_choice(gold, letter, completion, config);
    }
    match extract::extract_answer(completion, &config.extract) {
        Ok(found) => {
            // The extractor drops `\!` and `\,`; the raw span keeps `11,\! 111` one number.
            let raw = completion.get(found.span.clone()).filter(|r| extract::has_thin_space(r));
            let mut check = check_answers(&gold.parsed, raw.unwrap_or(&found.answer), config, detail);
            check.extracted = Some(found.answer);
            check
        }
        // Several boxes written differently that mean the same (`\dfrac{8}{15}`, `\frac{8}{15}`)
        // are one answer: the last of them is checked.
        Err(ExtractError::Hedged(answers)) if all_equivalent(&answers, config) => {
            let last = answers.last().map_or("", String::as_str);
            let mut check = check_answers(&gold.parsed, last, config, detail);
            check.reason = format!("several boxes with one meaning: {}", check.reason);
            check
        }
        // Several different boxed answers for a gold with several answers: they are the list.
        Err(ExtractError::Hedged(answers)) if gold.answer_count() >= 2 => {
            let mut check = check_answers(&gold.parsed, &answers.join(", "), config, detail);
            check.reason = format!("several boxed answers read as one list: {}", check.reason);
            check
        }
        Err(e) => extraction_failed(gold, e, detail),
    }
}

/// Are the boxed answers one answer written several ways? Each must equal the first both ways
/// round (the comparison is steered by its gold side, e.g. a decimal gold's precision), so
/// `\boxed{0.333}` and `\boxed{\frac13}` stay two answers. At most `max_list_items` are compared.
fn all_equivalent(answers: &[String], config: &MathConfig) -> bool {
    let Some((first, rest)) = answers.split_first() else { return false };
    if rest.is_empty() || answers.len() > config.limits.max_list_items {
        return false;
    }
    let (head, err) = prepare(first, &config.limits);
    if err.is_some() || head.expr.is_none() {
        return false;
    }
    rest.iter().all(|other| {
        if check_answers(&head, other, config, false).verdict != Verdict::Correct {
            return false;
        }
        let (this, err) = prepare(other, &config.limits);
        err.is_none() && check_answers(&this, first, config, false).verdict == Verdict::Correct
    })
}

fn extraction_failed(gold: &Gold, e: ExtractError, detail: bool) -> MathCheck {
    let verdict = match e {
        ExtractError::NoAnswer => Verdict::NoAnswer,
        ExtractError::Hedged(_) => Verdict::Incorrect,
        ExtractError::TooLong { .. } => Verdict::LimitExceeded,
    };
    MathCheck {
        verdict,
        extracted: None,
        gold_parsed: if detail { gold.parsed.printed() } else { None },
        pred_parsed: None,
        reason: e.to_string(),
    }
}

/// Words that rule out the choice after them: "C non A", "C, not A", "C pas A".
const NEGATIONS: &[&str] = &["not", "non", "no", "pas", "nicht", "kein", "nein", "不是", "非", "не"];

/// Is the word just before `chars[k]` (skipping spaces and commas) a negation?
fn negated(chars: &[char], k: usize) -> bool {
    let mut end = k;
    while end > 0 && (chars[end - 1].is_whitespace() || chars[end - 1] == ',') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && chars[start - 1].is_alphabetic() {
        start -= 1;
    }
    let word: String = chars[start..end].iter().collect::<String>().to_lowercase();
    NEGATIONS.contains(&word.as_str())
}

/// The distinct choice letters standing alone in an answer (`C, D` → `['C', 'D']`); a letter after
/// a negation ("C non A", "C, not A") is ruled out, not named.
fn named_choices(answer: &str, choices: &[char]) -> Vec<char> {
    let chars: Vec<char> = answer.chars().collect();
    let mut out = Vec::new();
    for (k, c) in chars.iter().enumerate() {
        let alone = |j: Option<&char>| j.is_none_or(|x| !x.is_alphanumeric());
        if choices.contains(c)
            && alone(k.checked_sub(1).and_then(|j| chars.get(j)))
            && alone(chars.get(k + 1))
            && !negated(&chars, k)
            && !out.contains(c)
        {
            out.push(*c);
        }
    }
    out
}

fn verify_choice(gold: &Gold, letter: char, completion: &str, config: &MathConfig) -> MathCheck {
    let choices = extract::choices_up_to(letter);
    match extract::extract_choice(completion, &choices, &config.extract) {
        Ok(found) => {
            // A final answer naming several choices (`\boxed{C, D}`, `(C) and (D)`) is hedging.
            if let Ok(answer) = extract::extract_answer(completion, &config.extract) {
                let named = named_choices(&answer.answer, &choices);
                if named.len() >= 2 {
                    return MathCheck {
                        verdict: Verdict::Incorrect,
                        extracted: Some(answer.answer),
                        gold_parsed: Some(letter.to_string()),
                        pred_parsed: None,
                        reason: format!("the answer names several choices: {named:?}"),
                    };
                }
            }
            let right = found.letter == letter;
            MathCheck {
                verdict: if right { Verdict::Correct } else { Verdict::Incorrect },
                extracted: Some(found.letter.to_string()),
                gold_parsed: Some(letter.to_string()),
                pred_parsed: Some(found.letter.to_string()),
                reason: if right {
                    format!("choice ({letter}) matches")
                } else {
                    format!("choice ({}) is not the gold choice ({letter})", found.letter)
                },
            }
        }
        Err(e) => extraction_failed(gold, e, true),
    }
}

/// Parses the gold and checks one completion; an unparsable gold gives [`Verdict::InvalidGold`].
pub fn check(answer: &str, completion: &str, config: &MathConfig) -> MathCheck {
    match parse_gold(answer, config) {
        Ok(gold) => verify(&gold, completion, config),
        Err(err) => MathCheck {
            verdict: match err {
                MathError::Limit { .. } => Verdict::LimitExceeded,
                MathError::Parse { .. } => Verdict::InvalidGold,
            },
            extracted: None,
            gold_parsed: None,
            pred_parsed: None,
            reason: err.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
