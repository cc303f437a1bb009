//! Recursive-descent parser from tokens to [`Expr`], with explicit depth and size budgets.
//!
//! Precedence, loosest first: answer list (`,` `;` "and") → relation chain (`=` `<` `\in`) → ratio
//! (`:`) → union (`\cup`) → sum (`+ - \pm`) → product (explicit and implicit) → unary sign → postfix
//! (`^ ! \% ^\circ _`) → atom. Every nesting level passes through [`Parser::enter`], so the depth limit
//! bounds the depth of the tree (which bounds the recursion of `Drop` and of comparison). The parser's
//! own recursion is bounded apart from it: deep bracket nesting is parsed inside out with an explicit
//! stack ([`parse_deep_groups_first`]), sign and postfix chains are loops, and what is left stops at
//! [`MAX_RECURSION`] descents.
//! A failed parse is an error, never a fallback to "some number inside it".

use std::sync::LazyLock;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use regex::Regex;

use super::ast::{Constant, Expr, Number, SET_MINUS, Written};
use super::lexer::{NumLit, RelOp, Tok, tokenize};
use super::{MathError, MathLimits};

/// Words read as units after a quantity (and dropped): `10 cm`, `125 miles`, `5 dollars`.
const UNITS: &[&str] = &[
    "cm", "mm", "km", "kg", "mg", "ml", "lb", "lbs", "oz", "ft", "yd", "mi", "mph", "kmh", "sec", "hr", "hrs", "min",
    "mins", "cents", "cent", "unit", "units", "sq", "yuan", "rs", "usd", "eur", "gal", "qt", "pt", "am", "pm", "ms",
    "kw", "mw", "hz", "kb", "mb", "gb", "tb", "rad", "dm", "st", "nd", "rd", "th",
];

/// Parses one answer string (already extracted) into an expression.
pub fn parse(src: &str, limits: &MathLimits) -> Result<Expr, MathError> {
    parse_with(src, limits, true)
}

/// [`parse`], with the inside-out pass over deep groups on or off (off: plain recursive descent,
/// which the tests compare it with).
fn parse_with(src: &str, limits: &MathLimits, deep_groups_first: bool) -> Result<Expr, MathError> {
    if src.len() > limits.max_answer_bytes {
        return Err(MathError::Limit {
            limit: "max_answer_bytes",
            value: src.len() as u64,
            max: limits.max_answer_bytes as u64,
        });
    }
    // The commonest answer, a plain integer (`42`), skips the tokenizer and the parser: the same
    // `Expr` they would build, at a fraction of the cost.
    let trimmed = src.trim();
    if (1..=18).contains(&trimmed.len())
        && trimmed.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = trimmed.parse::<i64>()
    {
        return Ok(Expr::int(n));
    }
    let rewritten = super::forms::rewrite(src);
    let cleaned = undouble_backslashes(&strip_html_tags(&preclean(&rewritten)));
    let toks = drop_redundant_groups(tokenize(&cleaned)?);
    if toks.is_empty() {
        return Err(MathError::Parse { text: src.to_string(), reason: "empty answer".into() });
    }
    let mut nodes = 0;
    let toks = if deep_groups_first { parse_deep_groups_first(toks, limits, src, &mut nodes)? } else { toks };
    let mut p = Parser::new(toks, limits, src, nodes);
    let (items, _) = p.seq(&[])?;
    let items = assignment_groups(items, &p.semis);
    match items.len() {
        0 => Err(MathError::Parse { text: src.to_string(), reason: "empty answer".into() }),
        1 => Ok(items.into_iter().next().unwrap_or(Expr::EmptySet)),
        _ => Ok(Expr::List(items)),
    }
}

/// Drops grouping that groups nothing new: `((x))` is `(x)` and `{{x}}` is `{x}`, so 300 nested
/// parentheses around `1` cost one level of depth, not 300. Pairs are matched with an explicit
/// stack over `(`, `[`, `{`; a bracket closed by another kind (`(0,1]`) pairs with nothing, so an
/// interval is never taken apart.
fn drop_redundant_groups(mut toks: Vec<Tok>) -> Vec<Tok> {
    let opens = |t: &Tok| matches!(t, Tok::LParen | Tok::LBrace | Tok::LBrack);
    if toks.windows(2).all(|w| !(opens(&w[0]) && w[0] == w[1])) {
        return toks;
    }
    let mut partner = vec![usize::MAX; toks.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let open = match t {
            Tok::RParen => Tok::LParen,
            Tok::RBrace => Tok::LBrace,
            Tok::RBrack => Tok::LBrack,
            t if opens(t) => {
                stack.push(i);
                continue;
            }
            _ => continue,
        };
        if let Some(o) = stack.pop()
            && toks[o] == open
        {
            partner[o] = i;
            partner[i] = o;
        }
    }
    let mut keep = vec![true; toks.len()];
    for i in 0..toks.len().saturating_sub(1) {
        let j = partner[i];
        if j != usize::MAX
            && j > i + 1
            && matches!(toks[i], Tok::LParen | Tok::LBrace)
            && toks[i + 1] == toks[i]
            && partner[i + 1] == j - 1
        {
            keep[i] = false;
            keep[j] = false;
        }
    }
    let mut k = 0;
    toks.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    toks
}

/// How many levels of paired brackets one parser pass descends before [`parse_deep_groups_first`]
/// has already parsed the group below: the parser's recursion stays within this many bracket levels.
const GROUP_CHUNK: usize = 16;

/// The most recursive descents (through [`Parser::atom`]) of one parser pass. Nesting split at
/// paired brackets never comes near it; nesting that cannot be split there (a chain of intervals
/// `(a, [b, …)`, unpaired `|`) is refused past it as `max_depth`, so the stack a parse uses is
/// bounded whatever `max_depth` says.
const MAX_RECURSION: usize = 200;

/// A bracketed group parsed ahead of its surroundings; it stands in the token stream for the tokens
/// it was parsed from.
#[derive(Clone, PartialEq)]
pub struct ParsedGroup {
    expr: Expr,
    /// The deepest nesting reached inside the group, counting the group's own level.
    depth: usize,
    /// The group's opening token (`\sin(x)` takes a `(` group as its argument).
    open: Tok,
}

impl std::fmt::Debug for ParsedGroup {
    // The group's tree can be deep: an error message names its bracket, not its contents.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} group", self.open)
    }
}

/// Whether a token ends an operand, so that a `|` after it closes an absolute value.
fn ends_operand(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Num(_)
            | Tok::Letter(_)
            | Tok::Word(_)
            | Tok::Name(_)
            | Tok::Text(_)
            | Tok::Pi
            | Tok::Infty
            | Tok::Empty
            | Tok::Dots
            | Tok::RParen
            | Tok::RBrace
            | Tok::RBrack
            | Tok::RSet
            | Tok::Bang
            | Tok::Percent
            | Tok::Degree
            | Tok::Prime
            | Tok::End(_)
            | Tok::Parsed(_)
    )
}

/// The explicit stack behind deep nesting. Brackets are paired with a stack (`(`, `{`, `[`, `\{`,
/// and `|` as an opener where no operand precedes it); wherever paired brackets nest at least
/// [`GROUP_CHUNK`] deep, the groups at every [`GROUP_CHUNK`]-th level from the inside are parsed first,
/// innermost first, each by a fresh parser pass over just its tokens, and replaced by one
/// [`Tok::Parsed`]. A group is replaced only when its pass consumes exactly its tokens; a group whose
/// pass does not is left for the main pass to read as written, so the result is the tree the
/// recursive parser builds, and the recursion of any pass stays within [`GROUP_CHUNK`] bracket levels.
/// Shallow input (nearly all of it) comes back untouched after one scan.
fn parse_deep_groups_first(
    toks: Vec<Tok>,
    lim: &MathLimits,
    src: &str,
    nodes: &mut usize,
) -> Result<Vec<Tok>, MathError> {
    let closes = |open: &Tok, close: &Tok| {
        matches!(
            (open, close),
            (Tok::LParen, Tok::RParen)
                | (Tok::LBrace, Tok::RBrace)
                | (Tok::LBrack, Tok::RBrack)
                | (Tok::LSet, Tok::RSet)
                | (Tok::Pipe, Tok::Pipe)
        )
    };
    // Pass 1: pair brackets and measure each group's height (0: no paired group inside).
    let mut partner = vec![usize::MAX; toks.len()];
    let mut height = vec![0usize; toks.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut tallest = 0;
    // A `|` that closed an absolute value ends an operand too.
    let mut closing_pipe = vec![false; toks.len()];
    for (i, t) in toks.iter().enumerate() {
        let after_operand = i > 0 && (ends_operand(&toks[i - 1]) || closing_pipe[i - 1]);
        let opens = match t {
            Tok::LParen | Tok::LBrace | Tok::LBrack | Tok::LSet => true,
            Tok::Pipe => !(after_operand && stack.last().is_some_and(|&(o, _)| toks[o] == Tok::Pipe)),
            Tok::RParen | Tok::RBrace | Tok::RBrack | Tok::RSet => false,
            _ => continue,
        };
        if opens {
            stack.push((i, 0));
            continue;
        }
        if let Some((o, h)) = stack.pop()
            && closes(&toks[o], t)
        {
            partner[o] = i;
            partner[i] = o;
            closing_pipe[i] = *t == Tok::Pipe;
            height[o] = h;
            tallest = tallest.max(h);
            if let Some(parent) = stack.last_mut() {
                parent.1 = parent.1.max(h + 1);
            }
        }
    }
    if tallest + 1 < GROUP_CHUNK {
        return Ok(toks);
    }
    // Pass 2: rebuild the stream left to right; at the close of a group whose height is one below a
    // multiple of GROUP_CHUNK, parse the group's tokens (its deeper groups already replaced).
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut opened: Vec<usize> = Vec::new();
    for (i, t) in toks.into_iter().enumerate() {
        let j = partner[i];
        if j == usize::MAX {
            out.push(t);
            continue;
        }
        if j > i {
            opened.push(out.len());
            out.push(t);
            continue;
        }
        let start = opened.pop().unwrap_or(out.len());
        out.push(t);
        // `\sqrt[n]` reads its index bracket itself (the token before a group is never replaced).
        let sqrt_index =
            out[start] == Tok::LBrack && start > 0 && matches!(&out[start - 1], Tok::Cmd(c) if c == "sqrt");
        if height[j] % GROUP_CHUNK != GROUP_CHUNK - 1 || sqrt_index {
            continue;
        }
        let group: Vec<Tok> = out[start..].to_vec();
        let open = group[0].clone();
        let len = group.len();
        let mut p = Parser::new(group, lim, src, *nodes);
        match p.atom() {
            Ok(expr) if p.i == len => {
                *nodes = p.nodes;
                out.truncate(start);
                out.push(Tok::Parsed(Box::new(ParsedGroup { expr, depth: p.peak, open })));
            }
            Err(e @ MathError::Limit { .. }) => return Err(e),
            // Not a group read on its own: the main pass reads these tokens as written.
            _ => {}
        }
    }
    Ok(out)
}

/// `p=5, q=2; p=7, q=2`: groups of assignments separated by `;` are the tuples `(5, 2), (7, 2)`.
fn assignment_groups(items: Vec<Expr>, semis: &[usize]) -> Vec<Expr> {
    let assignment =
        |e: &Expr| matches!(e, Expr::Rel(p, o) if o.len() == 1 && o[0] == RelOp::Eq && matches!(p[0], Expr::Sym(_)));
    if items.is_empty() || !items.iter().all(assignment) {
        return items;
    }
    let name = |e: &Expr| match e {
        Expr::Rel(p, _) => match &p[0] {
            Expr::Sym(s) => s.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let names: Vec<String> = items.iter().map(name).collect();
    let mut bounds: Vec<usize> = semis.iter().copied().filter(|&k| k > 0 && k < items.len()).collect();
    if bounds.is_empty() {
        // `p=5, q=2, p=7, q=2`: the names repeat with a period, and each period is one solution.
        let period = (2..items.len()).find(|&k| {
            items.len().is_multiple_of(k)
                && names[..k].iter().enumerate().all(|(a, x)| names[..k].iter().skip(a + 1).all(|y| y != x))
                && names.iter().enumerate().all(|(i, x)| *x == names[i % k])
        });
        match period {
            Some(k) => bounds = (1..items.len() / k).map(|j| j * k).collect(),
            None => return items,
        }
    }
    bounds.dedup();
    let mut groups = Vec::new();
    let mut start = 0;
    for end in bounds.into_iter().chain(std::iter::once(items.len())) {
        let values: Vec<Expr> = items[start..end]
            .iter()
            .filter_map(|e| match e {
                Expr::Rel(p, _) => p.get(1).cloned(),
                _ => None,
            })
            .collect();
        groups.push(if values.len() == 1 {
            values.into_iter().next().unwrap_or(Expr::EmptySet)
        } else {
            Expr::Tuple(values)
        });
        start = end;
    }
    groups
}

/// Drops HTML tags such as `</p>` or `<br/>` (a letter right after `<` or `</`, up to the next `>`).
fn strip_html_tags(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('<') || !s.contains('>') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find('<') {
        out.push_str(&rest[..k]);
        let tail = &rest[k + 1..];
        let name = tail.strip_prefix('/').unwrap_or(tail);
        let end = tail.find('>');
        match end {
            Some(e)
                if name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && tail[..e].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b' ') =>
            {
                out.push(' ');
                rest = &tail[e + 1..];
            }
            _ => {
                out.push('<');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Answers copied through JSON twice arrive as `\\\\frac{1}{2}`: halve the backslashes when a doubled
/// command is present and no single-backslash command is.
fn undouble_backslashes(s: &str) -> String {
    let b = s.as_bytes();
    let mut doubled = false;
    let mut single = false;
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'\\' {
            let mut n = 0;
            while k + n < b.len() && b[k + n] == b'\\' {
                n += 1;
            }
            let next = b.get(k + n).copied().unwrap_or(0);
            if next.is_ascii_alphabetic() {
                if n == 2 {
                    doubled = true;
                } else if n == 1 {
                    single = true;
                }
            }
            k += n;
        } else {
            k += 1;
        }
    }
    if doubled && !single {
        return s.replace("\\\\", "\\");
    }
    if doubled && !s.contains("begin{") {
        // Outside environments `\\` is never a row break: `\\dfrac` is a doubled `\dfrac`.
        let mut out = String::with_capacity(s.len());
        let b = s.as_bytes();
        let mut k = 0;
        let mut last = 0;
        while k + 2 < b.len() {
            if b[k] == b'\\' && b[k + 1] == b'\\' && b[k + 2].is_ascii_alphabetic() && (k == 0 || b[k - 1] != b'\\') {
                out.push_str(&s[last..k]);
                last = k + 1;
                k += 2;
            } else {
                k += 1;
            }
        }
        out.push_str(&s[last..]);
        return out;
    }
    s.to_string()
}

/// String-level clean-up that needs the whole answer: trailing punctuation and decimal commas.
/// A 12-hour clock time (`08:34 P.M.`, `8:34\text{ pm}`, `12:05 AM`) as the 24-hour time it
/// names (`20:34`, `00:05`), so that it compares with a gold written either way. Only hours 1–12
/// with two-digit minutes (and optional seconds) count; anything else is left to the parser.
fn twelve_hour_clock(s: &str) -> Option<String> {
    static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{1,2}):(\d{2}(?::\d{2})?)\s*(?:\\text\{\s*)?([AaPp])\.?\s*[Mm]\.?\s*\}?$")
            .expect("the clock-time regex is a valid constant")
    });
    let caps = CLOCK.captures(s)?;
    let hour: u32 = caps[1].parse().ok()?;
    if !(1..=12).contains(&hour) {
        return None;
    }
    let afternoon = caps[3].eq_ignore_ascii_case("p");
    let hour24 = match (afternoon, hour) {
        (false, 12) => 0,
        (true, 12) => 12,
        (true, h) => h + 12,
        (false, h) => h,
    };
    Some(format!("{hour24:02}:{}", &caps[2]))
}

fn preclean(src: &str) -> String {
    let mut s = src.trim();
    loop {
        let t = s.trim_end_matches(['.', ',', ';', ' ', '\n', '\t']).trim_end();
        let t = t.strip_suffix("\\.").unwrap_or(t);
        if t.len() == s.len() {
            break;
        }
        s = t;
    }
    if let Some(time) = twelve_hour_clock(s) {
        return time;
    }
    // A decimal comma is only read where a list is implausible: `1000,99`, `0,111`, `2,74`.
    let b = s.as_bytes();
    if let Some(c) = s.find(',') {
        let (a, f) = (&s[..c], &s[c + 1..]);
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|d| d.is_ascii_digit());
        if digits(a)
            && digits(f)
            && (f.len() != 3 || a == "0")
            && (a == "0" || a.len() >= 4 || f.len() >= 2)
            && b.len() < 40
        {
            return format!("{a}.{f}");
        }
    }
    s.to_string()
}

struct Parser<'a> {
    t: Vec<Tok>,
    i: usize,
    depth: usize,
    /// The deepest `depth` reached.
    peak: usize,
    /// Recursive descents through [`Parser::atom`] now open (at most [`MAX_RECURSION`]).
    nest: usize,
    nodes: usize,
    lim: &'a MathLimits,
    src: &'a str,
    abs: usize,
    /// Item indices (at the top level) that follow a `;`.
    semis: Vec<usize>,
}

fn is_sep(t: &Tok) -> bool {
    match t {
        Tok::Comma | Tok::Semi | Tok::AndOr => true,
        Tok::Text(s) => matches!(s.trim(), "and" | "or" | "," | ";" | "" | "or " | "and " | "&"),
        _ => false,
    }
}

fn int_lit(l: &NumLit) -> bool {
    l.frac.is_none() && l.rep.is_empty() && l.exp == 0
}

fn number(l: &NumLit) -> Expr {
    if let Some(n) = small_number(l) {
        return Expr::Num(n);
    }
    big_number(l)
}

/// [`number`] in big-integer arithmetic, for any literal.
fn big_number(l: &NumLit) -> Expr {
    let ten = BigInt::from(10);
    let int =
        if l.int.is_empty() { BigInt::zero() } else { BigInt::parse_bytes(l.int.as_bytes(), 10).unwrap_or_default() };
    let frac = l.frac.as_deref().unwrap_or("");
    let fnum =
        if frac.is_empty() { BigInt::zero() } else { BigInt::parse_bytes(frac.as_bytes(), 10).unwrap_or_default() };
    let scale = ten.pow(frac.len() as u32);
    // Integers skip the rational normalisation (a gcd on a 100,000-digit number is not free).
    let mut value = if frac.is_empty() {
        BigRational::from_integer(int)
    } else {
        BigRational::new(int * &scale + fnum, scale.clone())
    };
    let mut written = None;
    if !l.rep.is_empty() {
        let rnum = BigInt::parse_bytes(l.rep.as_bytes(), 10).unwrap_or_default();
        let rden = (ten.pow(l.rep.len() as u32) - BigInt::one()) * scale;
        value += BigRational::new(rnum, rden);
    } else if l.frac.is_some() || l.exp != 0 {
        let all = format!("{}{}", l.int, frac);
        let sig = all.trim_start_matches('0').len().max(1) as u32;
        written = Some(Written { frac_digits: frac.len() as i32 - l.exp, sig_digits: sig });
    }
    if l.exp != 0 {
        let p = BigRational::from_integer(ten.pow(l.exp.unsigned_abs()));
        value = if l.exp > 0 { value * p } else { value / p };
    }
    Expr::Num(Number { value, written })
}

/// [`number`] for the common literal: at most 18 digits in all, no repeating part, an exponent
/// that keeps the value within 18 digits. Machine arithmetic builds the same reduced value and
/// written precision without big-integer parsing, powers or a big gcd.
fn small_number(l: &NumLit) -> Option<Number> {
    let frac = l.frac.as_deref().unwrap_or("");
    if !l.rep.is_empty() || l.int.len() + frac.len() > 18 || l.exp.unsigned_abs() > 18 {
        return None;
    }
    let digits =
        |s: &str| s.bytes().try_fold(0u64, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0')));
    let int = digits(&l.int)?;
    let fnum = digits(frac)?;
    let scale = 10u64.pow(frac.len() as u32);
    let mut num = u128::from(int) * u128::from(scale) + u128::from(fnum);
    let mut den = u128::from(scale);
    // Scientific notation: scale by the power of ten (at most 10^18 here, so no overflow in u128
    // for a numerator below 10^18).
    let p = u128::from(10u64.pow(l.exp.unsigned_abs()));
    if l.exp > 0 {
        num *= p;
    } else {
        den *= p;
    }
    let g = num_integer::gcd(num, den);
    if g > 1 {
        num /= g;
        den /= g;
    }
    let written = if l.frac.is_some() || l.exp != 0 {
        let sig = l.int.bytes().chain(frac.bytes()).skip_while(|&b| b == b'0').count().max(1) as u32;
        Some(Written { frac_digits: frac.len() as i32 - l.exp, sig_digits: sig })
    } else {
        None
    };
    let value = BigRational::new_raw(BigInt::from(num), BigInt::from(den));
    Some(Number { value, written })
}

fn percent_word(w: &str) -> bool {
    matches!(w.to_ascii_lowercase().as_str(), "percent" | "pct" | "percentage" | "percents")
}

fn degree_word(w: &str) -> bool {
    matches!(w.to_ascii_lowercase().as_str(), "degree" | "degrees" | "deg")
}

fn unit_word(w: &str) -> bool {
    let l = w.to_ascii_lowercase();
    UNITS.contains(&l.as_str()) || w.chars().count() >= 4 || !w.is_ascii()
}

fn unit_text(t: &str) -> bool {
    let t = t.trim();
    !t.is_empty()
        && t.chars().next().is_some_and(|c| c.is_alphabetic())
        && t.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '^' || c.is_ascii_digit() || c == '/')
}

impl<'a> Parser<'a> {
    fn new(t: Vec<Tok>, lim: &'a MathLimits, src: &'a str, nodes: usize) -> Self {
        Parser { t, i: 0, depth: 0, peak: 0, nest: 0, nodes, lim, src, abs: 0, semis: Vec::new() }
    }

    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, MathError> {
        Err(MathError::Parse { text: self.src.to_string(), reason: reason.into() })
    }

    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.t.get(self.i + 1)
    }

    /// Takes the next token. The cursor only moves forward (no parse rule backtracks or looks
    /// behind it), so the token is moved out, not cloned; a fieldless token stands in its place.
    fn bump(&mut self) -> Option<Tok> {
        let t = self.t.get_mut(self.i).map(|t| std::mem::replace(t, Tok::Dots));
        self.i += 1;
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn node(&mut self) -> Result<(), MathError> {
        self.nodes += 1;
        if self.nodes > self.lim.max_nodes {
            return Err(MathError::Limit {
                limit: "max_nodes",
                value: self.nodes as u64,
                max: self.lim.max_nodes as u64,
            });
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), MathError> {
        self.depth += 1;
        self.peak = self.peak.max(self.depth);
        if self.depth > self.lim.max_depth {
            return Err(MathError::Limit {
                limit: "max_depth",
                value: self.depth as u64,
                max: self.lim.max_depth as u64,
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Items separated by `,`/`;`/"and" up to one of `closers` (consumed and returned) or the end.
    fn seq(&mut self, closers: &[Tok]) -> Result<(Vec<Expr>, Option<Tok>), MathError> {
        let mut items = Vec::new();
        let closer = loop {
            while self.peek().is_some_and(|t| is_sep(t) || *t == Tok::Dot) {
                if self.depth == 0 && self.peek() == Some(&Tok::Semi) {
                    self.semis.push(items.len());
                }
                self.i += 1;
            }
            match self.peek() {
                None if closers.is_empty() => break None,
                None => return self.fail("unclosed bracket"),
                Some(t) if closers.contains(t) => break self.bump(),
                Some(_) => {}
            }
            let item = self.relation()?;
            items.push(item);
            match self.peek() {
                None => {}
                Some(t) if is_sep(t) || closers.contains(t) || *t == Tok::Dot => {}
                Some(t) => return self.fail(format!("unexpected {t:?}")),
            }
        };
        Ok((items, closer))
    }

    fn relation(&mut self) -> Result<Expr, MathError> {
        let first = self.ratio()?;
        if !matches!(self.peek(), Some(Tok::Rel(_))) {
            return Ok(first);
        }
        let mut parts = vec![first];
        let mut ops = Vec::new();
        while let Some(Tok::Rel(op)) = self.peek() {
            let op = *op;
            self.i += 1;
            ops.push(op);
            parts.push(self.ratio()?);
        }
        if ops.is_empty() { Ok(parts.pop().unwrap_or(Expr::EmptySet)) } else { Ok(Expr::Rel(parts, ops)) }
    }

    fn ratio(&mut self) -> Result<Expr, MathError> {
        let first = self.union()?;
        if self.peek() != Some(&Tok::Colon) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.eat(&Tok::Colon) {
            parts.push(self.union()?);
        }
        Ok(Expr::Ratio(parts))
    }

    /// `\cup` and `\setminus`, one precedence, left to right. `A \setminus B` is a set difference,
    /// `Func(SET_MINUS, (A, B))`: the comparison reads it as intervals less the points of a finite `B`.
    fn union(&mut self) -> Result<Expr, MathError> {
        let mut acc = self.add()?;
        loop {
            if self.eat(&Tok::Cup) {
                let next = self.add()?;
                acc = match acc {
                    Expr::Union(mut parts) => {
                        parts.push(next);
                        Expr::Union(parts)
                    }
                    other => Expr::Union(vec![other, next]),
                };
            } else if self.eat(&Tok::SetMinus) {
                let next = self.add()?;
                acc = Expr::Func(SET_MINUS.into(), Box::new(Expr::Tuple(vec![acc, next])));
            } else {
                return Ok(acc);
            }
        }
    }

    fn add(&mut self) -> Result<Expr, MathError> {
        let first = self.mul()?;
        if !matches!(self.peek(), Some(Tok::Plus | Tok::Minus | Tok::PlusMinus | Tok::MinusPlus)) {
            return Ok(first);
        }
        let mut terms = vec![first];
        loop {
            match self.peek() {
                Some(Tok::Plus) => {
                    self.i += 1;
                    terms.push(self.mul()?);
                }
                Some(Tok::Minus) => {
                    self.i += 1;
                    let t = self.mul()?;
                    terms.push(Expr::Neg(Box::new(t)));
                }
                Some(Tok::PlusMinus | Tok::MinusPlus) => {
                    self.i += 1;
                    let t = self.mul()?;
                    terms.push(Expr::PlusMinus(Box::new(t)));
                }
                _ => break,
            }
            self.node()?;
        }
        Ok(if terms.len() == 1 { terms.pop().unwrap_or(Expr::EmptySet) } else { Expr::Add(terms) })
    }

    fn starts_atom(&self, t: &Tok) -> bool {
        match t {
            Tok::Num(_)
            | Tok::Letter(_)
            | Tok::Name(_)
            | Tok::Pi
            | Tok::Infty
            | Tok::LParen
            | Tok::LBrace
            | Tok::Cmd(_)
            | Tok::Func(_)
            | Tok::Begin(_)
            | Tok::Word(_)
            | Tok::Parsed(_) => true,
            Tok::Pipe => self.abs == 0,
            _ => false,
        }
    }

    /// Skips a `^2` after a unit (`cm^2`).
    fn skip_unit_power(&mut self) -> Result<(), MathError> {
        if self.eat(&Tok::Caret) {
            self.script()?;
        }
        Ok(())
    }

    fn mul(&mut self) -> Result<Expr, MathError> {
        let first = self.unary()?;
        let first_tok_int = matches!(&first, Expr::Num(n) if n.written.is_none() && n.value.is_integer())
            || matches!(&first, Expr::Neg(b) if matches!(&**b, Expr::Num(n) if n.written.is_none() && n.value.is_integer()));
        let mut factors = vec![first];
        let mut acc: Option<Expr> = None;
        // `a/b/c/…` nests to the left: each quotient counts as one level of depth.
        let mut wraps = 0usize;
        while let Some(t) = self.peek().cloned() {
            match t {
                Tok::Times => {
                    self.i += 1;
                    factors.push(self.unary()?);
                }
                Tok::Slash => {
                    self.i += 1;
                    let d = self.unary()?;
                    let n = fold(acc.take(), std::mem::take(&mut factors));
                    self.enter()?;
                    wraps += 1;
                    acc = Some(Expr::Div(Box::new(n), Box::new(d)));
                }
                Tok::Word(w) if percent_word(&w) => {
                    self.i += 1;
                    let n = fold(acc.take(), std::mem::take(&mut factors));
                    self.enter()?;
                    wraps += 1;
                    acc = Some(Expr::Percent(Box::new(n)));
                }
                Tok::Word(w) if degree_word(&w) => {
                    self.i += 1;
                    let n = fold(acc.take(), std::mem::take(&mut factors));
                    self.enter()?;
                    wraps += 1;
                    acc = Some(Expr::Degree(Box::new(n)));
                }
                Tok::Word(w) if unit_word(&w) => {
                    self.i += 1;
                    self.skip_unit_power()?;
                }
                Tok::Text(s) => {
                    let l = s.trim().to_ascii_lowercase();
                    if percent_word(&l) || l == "%" {
                        self.i += 1;
                        let n = fold(acc.take(), std::mem::take(&mut factors));
                        self.enter()?;
                        wraps += 1;
                        acc = Some(Expr::Percent(Box::new(n)));
                    } else if degree_word(&l) {
                        self.i += 1;
                        let n = fold(acc.take(), std::mem::take(&mut factors));
                        self.enter()?;
                        wraps += 1;
                        acc = Some(Expr::Degree(Box::new(n)));
                    } else if is_sep(&Tok::Text(s.clone())) {
                        break;
                    } else if unit_text(&l) {
                        self.i += 1;
                        self.skip_unit_power()?;
                    } else {
                        break;
                    }
                }
                Tok::Cmd(ref c) if c == "frac" && first_tok_int && factors.len() == 1 && acc.is_none() => {
                    let save = self.i;
                    let f = self.postfix()?;
                    match (&f, &factors[0]) {
                        (Expr::Div(a, b), whole) if is_int_lit(a) && is_int_lit(b) => {
                            let mixed = match whole {
                                Expr::Neg(w) => Expr::Neg(Box::new(Expr::Add(vec![(**w).clone(), f.clone()]))),
                                w => Expr::Add(vec![w.clone(), f.clone()]),
                            };
                            factors[0] = mixed;
                        }
                        _ => {
                            let _ = save;
                            factors.push(f);
                        }
                    }
                }
                Tok::Num(ref l)
                    if first_tok_int
                        && factors.len() == 1
                        && acc.is_none()
                        && int_lit(l)
                        && self.t.get(self.i + 1) == Some(&Tok::Slash)
                        && matches!(self.t.get(self.i + 2), Some(Tok::Num(d)) if int_lit(d)) =>
                {
                    // Plain-text mixed number `1 1/2`.
                    let a = number(l);
                    let b = match self.t.get(self.i + 2) {
                        Some(Tok::Num(d)) => number(d),
                        _ => return self.fail("mixed number"),
                    };
                    self.i += 3;
                    let f = Expr::Div(Box::new(a), Box::new(b));
                    let mixed = match &factors[0] {
                        Expr::Neg(w) => Expr::Neg(Box::new(Expr::Add(vec![(**w).clone(), f]))),
                        w => Expr::Add(vec![w.clone(), f]),
                    };
                    factors[0] = mixed;
                }
                ref t if self.starts_atom(t) => {
                    factors.push(self.postfix()?);
                }
                _ => break,
            }
            self.node()?;
        }
        self.depth -= wraps;
        Ok(fold(acc, factors))
    }

    /// Prefix signs (`-`, `+`, `\pm`, `\mp`), each one level deeper, read in a loop (`-----1`
    /// does not recurse), then the operand.
    fn unary(&mut self) -> Result<Expr, MathError> {
        let mut signs = Vec::new();
        while let Some(t @ (Tok::Minus | Tok::Plus | Tok::PlusMinus | Tok::MinusPlus)) = self.peek() {
            signs.push(t.clone());
            self.i += 1;
            self.enter()?;
        }
        let operand = self.postfix();
        self.depth -= signs.len();
        let mut e = operand?;
        for sign in signs.iter().rev() {
            e = match sign {
                Tok::Minus => Expr::Neg(Box::new(e)),
                Tok::PlusMinus | Tok::MinusPlus => Expr::PlusMinus(Box::new(e)),
                _ => e,
            };
        }
        Ok(e)
    }

    fn postfix(&mut self) -> Result<Expr, MathError> {
        let base = self.atom()?;
        // Each postfix operator wraps the tree one level deeper (`1!!!…`), so it counts as nesting.
        let mut wraps = 0;
        let r = self.postfix_chain(base, &mut wraps);
        self.depth -= wraps;
        r
    }

    fn postfix_chain(&mut self, mut base: Expr, wraps: &mut usize) -> Result<Expr, MathError> {
        while matches!(self.peek(), Some(Tok::Caret | Tok::Bang | Tok::Percent | Tok::Degree | Tok::Prime | Tok::Under))
        {
            self.enter()?;
            *wraps += 1;
            match self.peek() {
                Some(Tok::Caret) => {
                    self.i += 1;
                    if self.eat(&Tok::Degree) {
                        base = Expr::Degree(Box::new(base));
                    } else if self.peek() == Some(&Tok::LBrace)
                        && self.peek2() == Some(&Tok::Degree)
                        && self.t.get(self.i + 2) == Some(&Tok::RBrace)
                    {
                        self.i += 3;
                        base = Expr::Degree(Box::new(base));
                    } else if self.peek() == Some(&Tok::Prime) {
                        self.i += 1;
                        base = rename(base, "'");
                    } else {
                        let e = self.script()?;
                        base = Expr::Pow(Box::new(base), Box::new(e));
                    }
                }
                Some(Tok::Bang) => {
                    self.i += 1;
                    base = Expr::Factorial(Box::new(base));
                }
                Some(Tok::Percent) => {
                    self.i += 1;
                    base = Expr::Percent(Box::new(base));
                }
                Some(Tok::Degree) => {
                    self.i += 1;
                    base = Expr::Degree(Box::new(base));
                }
                Some(Tok::Prime) => {
                    self.i += 1;
                    base = rename(base, "'");
                }
                Some(Tok::Under) => {
                    self.i += 1;
                    let sub = self.script()?;
                    base = match (base, &sub) {
                        (Expr::Num(n), Expr::Num(b)) if n.value.is_integer() && b.value.is_integer() => {
                            let digits = n.value.numer().to_string();
                            let radix: u32 = b.value.numer().to_string().parse().unwrap_or(0);
                            Expr::Based(digits, radix)
                        }
                        (Expr::Num(n), Expr::Text(_) | Expr::Sym(_)) => Expr::Num(n),
                        (Expr::Sym(s), sub) => Expr::Sym(format!("{s}_{}", sub_name(sub))),
                        (b, sub) => {
                            let name = format!("{b}_{}", sub_name(sub));
                            Expr::Sym(name)
                        }
                    };
                }
                _ => break,
            }
            self.node()?;
        }
        Ok(base)
    }

    /// The argument of `^` or `_`: a braced group, or one token.
    fn script(&mut self) -> Result<Expr, MathError> {
        match self.peek() {
            Some(Tok::LBrace) => self.atom(),
            Some(Tok::Minus) => {
                self.i += 1;
                let e = self.script()?;
                Ok(Expr::Neg(Box::new(e)))
            }
            Some(Tok::Plus) => {
                self.i += 1;
                self.script()
            }
            _ => self.atom(),
        }
    }

    /// The argument of `\frac`, `\sqrt`, `\binom`: a braced group or a single token (`\frac12`).
    fn arg(&mut self) -> Result<Expr, MathError> {
        if let Some(Tok::Num(l)) = self.peek()
            && int_lit(l)
            && l.int.len() > 1
        {
            let first = l.int[..1].to_string();
            let rest = l.int[1..].to_string();
            self.t[self.i] = Tok::Num(NumLit { int: rest, frac: None, rep: String::new(), exp: 0 });
            self.node()?;
            return Ok(number(&NumLit { int: first, frac: None, rep: String::new(), exp: 0 }));
        }
        self.atom()
    }

    fn group(&mut self, closers: &[Tok]) -> Result<(Vec<Expr>, Option<Tok>), MathError> {
        let saved = self.abs;
        self.abs = 0;
        let r = self.seq(closers);
        self.abs = saved;
        r
    }

    fn atom(&mut self) -> Result<Expr, MathError> {
        if self.nest >= MAX_RECURSION {
            // Nesting that no pair of brackets splits (see `parse_deep_groups_first`).
            return Err(MathError::Limit {
                limit: "max_depth",
                value: self.nest as u64 + 1,
                max: MAX_RECURSION.min(self.lim.max_depth) as u64,
            });
        }
        self.nest += 1;
        self.enter()?;
        let e = self.atom_inner();
        self.leave();
        self.nest -= 1;
        e
    }

    fn atom_inner(&mut self) -> Result<Expr, MathError> {
        if let Some(Tok::Parsed(_)) = self.peek()
            && let Some(Tok::Parsed(g)) = self.bump()
        {
            // The group's own level is the one `atom` just entered.
            let depth = self.depth - 1 + g.depth;
            self.peak = self.peak.max(depth);
            if depth > self.lim.max_depth {
                return Err(MathError::Limit {
                    limit: "max_depth",
                    value: depth as u64,
                    max: self.lim.max_depth as u64,
                });
            }
            return Ok(g.expr);
        }
        self.node()?;
        let Some(t) = self.bump() else { return self.fail("unexpected end of answer") };
        match t {
            Tok::Num(l) => Ok(number(&l)),
            Tok::Letter('e') => Ok(Expr::Const(Constant::E)),
            Tok::Letter('i') => Ok(Expr::Const(Constant::I)),
            Tok::Letter(c) => Ok(Expr::Sym(c.to_string())),
            Tok::Name(n) => Ok(Expr::Sym(n)),
            Tok::Word(w) => {
                if w.chars().count() >= 3 || !w.is_ascii() {
                    Ok(Expr::Text(w))
                } else {
                    Ok(Expr::Mul(w.chars().map(|c| Expr::Sym(c.to_string())).collect()))
                }
            }
            Tok::Pi => Ok(Expr::Const(Constant::Pi)),
            Tok::Infty => Ok(Expr::Const(Constant::Infinity)),
            Tok::Empty => Ok(Expr::EmptySet),
            Tok::Dots => Ok(Expr::Sym("…".into())),
            Tok::LParen => {
                let (mut items, close) = self.group(&[Tok::RParen, Tok::RBrack])?;
                match (close, items.len()) {
                    (_, 0) => self.fail("empty parentheses"),
                    (Some(Tok::RParen), 1) => Ok(items.pop().unwrap_or(Expr::EmptySet)),
                    (Some(Tok::RParen), _) => Ok(Expr::Tuple(items)),
                    (_, 2) => Ok(interval(items, false, true)),
                    _ => self.fail("`(` closed by `]` needs two ends"),
                }
            }
            Tok::LBrack => {
                let (mut items, close) = self.group(&[Tok::RBrack, Tok::RParen])?;
                match (close, items.len()) {
                    (_, 0) => self.fail("empty brackets"),
                    (Some(Tok::RBrack), 1) => Ok(items.pop().unwrap_or(Expr::EmptySet)),
                    (Some(Tok::RBrack), 2) => Ok(interval(items, true, true)),
                    (Some(Tok::RBrack), _) => Ok(Expr::Tuple(items)),
                    (_, 2) => Ok(interval(items, true, false)),
                    _ => self.fail("`[` closed by `)` needs two ends"),
                }
            }
            Tok::LSet => {
                let (items, _) = self.group(&[Tok::RSet])?;
                Ok(if items.is_empty() { Expr::EmptySet } else { Expr::Set(items) })
            }
            Tok::LBrace => {
                let (mut items, _) = self.group(&[Tok::RBrace])?;
                match items.len() {
                    0 => self.fail("empty braces"),
                    1 => Ok(items.pop().unwrap_or(Expr::EmptySet)),
                    _ => Ok(Expr::List(items)),
                }
            }
            Tok::Pipe => {
                self.abs += 1;
                let e = self.add()?;
                self.abs -= 1;
                if !self.eat(&Tok::Pipe) {
                    return self.fail("unclosed `|`");
                }
                Ok(Expr::Abs(Box::new(e)))
            }
            Tok::Cmd(c) => self.command(&c),
            Tok::Func(name) => self.function(name),
            Tok::Begin(env) => self.environment(&env),
            Tok::Text(s) => self.text(&s),
            Tok::PlusMinus => {
                let e = self.unary()?;
                Ok(Expr::PlusMinus(Box::new(e)))
            }
            Tok::Minus => {
                let e = self.unary()?;
                Ok(Expr::Neg(Box::new(e)))
            }
            other => self.fail(format!("unexpected {other:?}")),
        }
    }

    fn command(&mut self, c: &str) -> Result<Expr, MathError> {
        let e = match c {
            "frac" => {
                let a = self.arg()?;
                let b = self.arg()?;
                Expr::Div(Box::new(a), Box::new(b))
            }
            "binom" => {
                let a = self.arg()?;
                let b = self.arg()?;
                Expr::Binom(Box::new(a), Box::new(b))
            }
            "sqrt" => {
                let index = if self.eat(&Tok::LBrack) {
                    let (mut items, _) = self.group(&[Tok::RBrack])?;
                    if items.len() != 1 {
                        return self.fail("bad root index");
                    }
                    items.pop()
                } else {
                    None
                };
                let x = self.arg()?;
                let n = index.unwrap_or_else(|| Expr::int(2));
                Expr::Pow(Box::new(x), Box::new(Expr::Div(Box::new(Expr::int(1)), Box::new(n))))
            }
            "overline" => {
                let a = self.arg()?;
                Expr::Sym(format!("\\overline{{{a}}}"))
            }
            other => return self.fail(format!("unsupported command `\\{other}`")),
        };
        Ok(e)
    }

    fn function(&mut self, name: String) -> Result<Expr, MathError> {
        let mut power = None;
        let mut base = None;
        for _ in 0..2 {
            if self.eat(&Tok::Caret) {
                power = Some(self.script()?);
            } else if self.eat(&Tok::Under) {
                base = Some(self.script()?);
            }
        }
        let paren = match self.peek() {
            Some(Tok::LParen) => true,
            Some(Tok::Parsed(g)) => g.open == Tok::LParen,
            _ => false,
        };
        let arg = if paren {
            self.postfix()?
        } else {
            let mut factors = Vec::new();
            while let Some(t) = self.peek() {
                if matches!(t, Tok::Func(_)) || !self.starts_atom(t) || matches!(t, Tok::Word(w) if unit_word(w)) {
                    break;
                }
                factors.push(self.postfix()?);
            }
            if factors.is_empty() {
                return self.fail(format!("`{name}` needs an argument"));
            }
            fold(None, factors)
        };
        let name = match name.as_str() {
            "lg" => {
                base = Some(Expr::int(10));
                "log".to_string()
            }
            _ => name,
        };
        let mut e = match base {
            Some(b) => Expr::Log(Box::new(b), Box::new(arg)),
            None => Expr::Func(name.clone(), Box::new(arg)),
        };
        if let Some(p) = power {
            let inverse = matches!(&p, Expr::Neg(x) if matches!(&**x, Expr::Num(n) if n.value.is_one()));
            e = match e {
                Expr::Func(n, a) if inverse && !n.starts_with("arc") && !n.starts_with('l') && n != "exp" => {
                    Expr::Func(format!("arc{n}"), a)
                }
                e => Expr::Pow(Box::new(e), Box::new(p)),
            };
        }
        Ok(e)
    }

    fn environment(&mut self, env: &str) -> Result<Expr, MathError> {
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        let mut row: Vec<Expr> = Vec::new();
        let saved = self.abs;
        self.abs = 0;
        loop {
            match self.peek() {
                None => return self.fail(format!("unclosed environment `{env}`")),
                Some(Tok::End(e)) if e == env => {
                    self.i += 1;
                    break;
                }
                Some(Tok::Amp) => {
                    self.i += 1;
                }
                Some(Tok::RowSep) => {
                    self.i += 1;
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                Some(_) => {
                    let cell = self.relation()?;
                    row.push(cell);
                    while self.peek().is_some_and(|t| matches!(t, Tok::Comma | Tok::Dot | Tok::Semi)) {
                        self.i += 1;
                    }
                }
            }
        }
        self.abs = saved;
        if !row.is_empty() {
            rows.push(row);
        }
        match env {
            "pmatrix" | "bmatrix" | "matrix" | "Bmatrix" | "vmatrix" | "Vmatrix" | "smallmatrix" | "array" => {
                let w = rows.first().map_or(0, Vec::len);
                if w == 0 || rows.iter().any(|r| r.len() != w) {
                    return self.fail("ragged or empty matrix");
                }
                Ok(Expr::Matrix(rows))
            }
            "cases" | "align" | "aligned" | "gather" | "gathered" | "eqnarray" | "split" => {
                let items: Vec<Expr> = rows.into_iter().filter_map(|r| r.into_iter().next()).collect();
                Ok(if items.len() == 1 {
                    items.into_iter().next().unwrap_or(Expr::EmptySet)
                } else {
                    Expr::List(items)
                })
            }
            other => self.fail(format!("unsupported environment `{other}`")),
        }
    }

    fn text(&mut self, s: &str) -> Result<Expr, MathError> {
        let norm: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = norm.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "no solution" | "no solutions" | "none" | "no real solutions" | "no real solution" | "empty set" | "∅"
        ) {
            return Ok(Expr::EmptySet);
        }
        if !norm.is_empty() && norm.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b',') {
            let inner = parse(&norm, self.lim)?;
            return Ok(inner);
        }
        if norm.is_empty() {
            return self.fail("empty text");
        }
        Ok(Expr::Text(norm))
    }
}

fn is_int_lit(e: &Expr) -> bool {
    matches!(e, Expr::Num(n) if n.written.is_none() && n.value.is_integer())
}

fn interval(items: Vec<Expr>, lo_closed: bool, hi_closed: bool) -> Expr {
    let mut it = items.into_iter();
    let lo = it.next().unwrap_or(Expr::EmptySet);
    let hi = it.next().unwrap_or(Expr::EmptySet);
    Expr::Interval { lo: Box::new(lo), hi: Box::new(hi), lo_closed, hi_closed }
}

fn fold(acc: Option<Expr>, mut factors: Vec<Expr>) -> Expr {
    if let Some(a) = acc {
        factors.insert(0, a);
    }
    match factors.len() {
        0 => Expr::int(1),
        1 => factors.pop().unwrap_or(Expr::EmptySet),
        _ => Expr::Mul(factors),
    }
}

fn rename(e: Expr, suffix: &str) -> Expr {
    match e {
        Expr::Sym(s) => Expr::Sym(format!("{s}{suffix}")),
        other => Expr::Sym(format!("{other}{suffix}")),
    }
}

fn sub_name(e: &Expr) -> String {
    match e {
        Expr::Sym(s) | Expr::Text(s) => s.clone(),
        Expr::Mul(v) => v.iter().map(sub_name).collect(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inside-out parsing of deep groups builds exactly the tree plain recursive descent builds, on
    /// every kind of bracket nesting, mixed, and on inputs where a group cannot be read on its own.
    #[test]
    fn deep_groups_first_builds_the_recursive_tree() {
        let lim = MathLimits { max_depth: 190, ..MathLimits::default() };
        let layers = [
            ("(1+", ")"),
            ("\\frac{1}{2+", "}"),
            ("\\frac{", "}{3}"),
            ("\\sqrt{", "}"),
            ("\\sqrt[3]{", "}"),
            ("2^{", "}"),
            ("|x-", "|"),
            ("\\sin(", ")"),
            ("\\sin^2(", ")"),
            ("\\{1, ", "\\}"),
            ("[1, ", "]"),
            ("-(", ")!"),
            ("\\left(x\\cdot", "\\right)"),
            ("(a, (b, ", "])"),
        ];
        let mut cases = Vec::new();
        for (k, (open, close)) in layers.iter().enumerate() {
            for n in [GROUP_CHUNK - 1, GROUP_CHUNK, 2 * GROUP_CHUNK + 3, 60] {
                cases.push(format!("{}y{}", open.repeat(n), close.repeat(n)));
                // Mixed with the next kind, level by level.
                let (o2, c2) = layers[(k + 1) % layers.len()];
                let mut s = String::new();
                for i in 0..n {
                    s.push_str(if i % 2 == 0 { open } else { o2 });
                }
                s.push('1');
                for i in (0..n).rev() {
                    s.push_str(if i % 2 == 0 { close } else { c2 });
                }
                cases.push(s);
            }
        }
        // Groups a pass cannot read on its own (an unclosed interval, a stray `|`) are read as written.
        cases.push(format!("{}1{} (0, 1]", "(1+".repeat(40), ")".repeat(40)));
        cases.push(format!("|{}1{}| |", "(1+".repeat(40), ")".repeat(40)));
        cases.push(format!("{}1{}", "((1+".repeat(20), ")+2)".repeat(20)));
        cases.push(format!("{}1{}, x=2; y=3", "(1+".repeat(40), ")".repeat(40)));
        // A root index deep enough to be parsed first stays `\sqrt`'s own bracket.
        for k in [GROUP_CHUNK - 1, 2 * GROUP_CHUNK - 1] {
            cases.push(format!("\\sqrt[{}3{}]{{2}}", "(1+".repeat(k), ")".repeat(k)));
        }
        for c in &cases {
            let split = parse_with(c, &lim, true);
            let plain = parse_with(c, &lim, false);
            match (&split, &plain) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{c}"),
                (Err(a), Err(b)) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "{c}: {a} / {b}"),
                _ => panic!("{c}: {split:?} / {plain:?}"),
            }
        }
        assert!(cases.iter().filter(|c| parse_with(c, &lim, true).is_ok()).count() > 100);
    }

    /// The depth a deep group reports is the depth recursive descent counts: the limit holds at
    /// `max_depth` and fails one past it, with the groups parsed first.
    #[test]
    fn deep_groups_first_keeps_the_depth_limit() {
        for d in [GROUP_CHUNK, 3 * GROUP_CHUNK + 1, 150] {
            let lim = MathLimits { max_depth: d, ..MathLimits::default() };
            // `k` nested `(1+…)` nest `k + 1` atoms.
            let at = format!("{}1{}", "(1+".repeat(d - 1), ")".repeat(d - 1));
            let past = format!("{}1{}", "(1+".repeat(d), ")".repeat(d));
            assert!(parse_with(&at, &lim, true).is_ok(), "{d}");
            for split in [true, false] {
                match parse_with(&past, &lim, split) {
                    Err(MathError::Limit { limit: "max_depth", value, max }) => {
                        assert_eq!((value, max), (d as u64 + 1, d as u64), "{d} {split}")
                    }
                    other => panic!("{d} {split}: {other:?}"),
                }
            }
        }
    }

    /// Nesting no bracket pair splits stops at MAX_RECURSION descents: a typed limit, not a deep stack.
    #[test]
    fn unsplit_nesting_stops_at_the_recursion_bound() {
        let lim = MathLimits::default();
        let intervals = |k: usize| format!("{}1{}", "(0, ".repeat(k), "]".repeat(k));
        assert!(parse_with(&intervals(MAX_RECURSION - 1), &lim, true).is_ok());
        match parse_with(&intervals(MAX_RECURSION), &lim, true) {
            Err(MathError::Limit { limit: "max_depth", .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    /// The machine-arithmetic path builds exactly what the big-integer path builds.
    #[test]
    fn small_number_agrees_with_big_number() {
        let ints = ["", "0", "7", "00012", "999999999", "123456789012345678", "100"];
        let fracs = [None, Some(""), Some("0"), Some("5"), Some("050"), Some("000000001"), Some("123456789")];
        let mut checked = 0;
        for int in ints {
            for frac in fracs {
                // Exponents at the fast path's bound (±18) and past it (±19, the big-integer path).
                for exp in [-19, -18, -7, -1, 0, 1, 3, 18, 19] {
                    let lit = NumLit { int: int.into(), frac: frac.map(String::from), rep: String::new(), exp };
                    if let Some(small) = small_number(&lit) {
                        assert_eq!(Expr::Num(small), big_number(&lit), "{lit:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 200, "only {checked} literals took the fast path");
        let long = NumLit { int: "1234567890123456789".into(), frac: None, rep: String::new(), exp: 0 };
        assert!(small_number(&long).is_none());
        let far = NumLit { int: "5".into(), frac: None, rep: String::new(), exp: 19 };
        assert!(small_number(&far).is_none());
    }
}
