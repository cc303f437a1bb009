//! The one AST that LaTeX and plain-text answers both parse into, and its printer.
//!
//! Numbers are exact rationals that remember how they were written ([`Number::written`]), because
//! the comparison rules depend on it: a decimal gold is compared at the precision it is written in,
//! and a decimal prediction must carry enough digits to stand for an irrational gold. The printer
//! abbreviates huge integers, so logging a parsed answer can never hang (Math-Verify's `str()` can).

use std::fmt;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, Zero};

pub use super::lexer::RelOp;

/// How a decimal literal was written: its last digit's place and its count of significant digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Digits after the decimal point, less the exponent of scientific notation (`1.5e3`: −2).
    pub frac_digits: i32,
    /// Significant digits (leading zeros excluded).
    pub sig_digits: u32,
}

/// An exact number and, for decimal literals, how it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The exact value.
    pub value: BigRational,
    /// `Some` for literals written with a decimal point (and no repeating part).
    pub written: Option<Written>,
}

/// A named constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constant {
    /// π
    Pi,
    /// Euler's number.
    E,
    /// The imaginary unit.
    I,
    /// ∞
    Infinity,
}

/// The function name under which `A \setminus B` is kept: `Func(SET_MINUS, Tuple([A, B]))`.
pub const SET_MINUS: &str = "setminus";

/// One parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(Number),
    /// A variable (case-sensitive; subscripts are part of the name: `x_1`).
    Sym(String),
    /// π, e, i, ∞.
    Const(Constant),
    /// A sum.
    Add(Vec<Expr>),
    /// A product.
    Mul(Vec<Expr>),
    /// Negation.
    Neg(Box<Expr>),
    /// `±x` inside a sum; expanded into two answers before comparison.
    PlusMinus(Box<Expr>),
    /// A quotient.
    Div(Box<Expr>, Box<Expr>),
    /// A power (roots are powers with a fractional exponent).
    Pow(Box<Expr>, Box<Expr>),
    /// A function applied to one argument (`sin`, `ln`, …).
    Func(String, Box<Expr>),
    /// A logarithm with an explicit base: `Log(base, x)`.
    Log(Box<Expr>, Box<Expr>),
    /// `n!`
    Factorial(Box<Expr>),
    /// `\binom{n}{k}`
    Binom(Box<Expr>, Box<Expr>),
    /// `|x|`
    Abs(Box<Expr>),
    /// `x\%`
    Percent(Box<Expr>),
    /// `x^\circ`
    Degree(Box<Expr>),
    /// A number in another base: digits and base (`52_8`).
    Based(String, u32),
    /// A text answer (`\text{Evelyn}`), normalised.
    Text(String),
    /// An ordered tuple or point `(a, b, …)`.
    Tuple(Vec<Expr>),
    /// A set `\{a, b\}`.
    Set(Vec<Expr>),
    /// A bare comma-separated list of answers (unordered).
    List(Vec<Expr>),
    /// An interval with open/closed ends.
    Interval {
        /// Lower end.
        lo: Box<Expr>,
        /// Upper end.
        hi: Box<Expr>,
        /// `[` at the lower end.
        lo_closed: bool,
        /// `]` at the upper end.
        hi_closed: bool,
    },
    /// A union of intervals and sets.
    Union(Vec<Expr>),
    /// A matrix, row by row (vectors are one column).
    Matrix(Vec<Vec<Expr>>),
    /// A chain of comparisons: `parts[0] ops[0] parts[1] …`.
    Rel(Vec<Expr>, Vec<RelOp>),
    /// A ratio `a:b` (also times `12:00`).
    Ratio(Vec<Expr>),
    /// The empty set (`\emptyset`, "no solution").
    EmptySet,
}

impl Expr {
    /// An integer literal.
    pub fn int(n: i64) -> Expr {
        Expr::Num(Number { value: BigRational::from_integer(BigInt::from(n)), written: None })
    }

    /// Calls `f` on every direct child.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Num(_) | Expr::Sym(_) | Expr::Const(_) | Expr::Based(..) | Expr::Text(_) | Expr::EmptySet => vec![],
            Expr::Add(v) | Expr::Mul(v) | Expr::Tuple(v) | Expr::Set(v) | Expr::List(v) | Expr::Union(v) => {
                v.iter().collect()
            }
            Expr::Ratio(v) | Expr::Rel(v, _) => v.iter().collect(),
            Expr::Neg(a)
            | Expr::PlusMinus(a)
            | Expr::Func(_, a)
            | Expr::Factorial(a)
            | Expr::Abs(a)
            | Expr::Percent(a)
            | Expr::Degree(a) => vec![a],
            Expr::Div(a, b) | Expr::Pow(a, b) | Expr::Log(a, b) | Expr::Binom(a, b) => vec![a, b],
            Expr::Interval { lo, hi, .. } => vec![lo, hi],
            Expr::Matrix(rows) => rows.iter().flatten().collect(),
        }
    }

    /// This expression with `f` applied to each direct child (depth is bounded by the parser's limit).
    pub fn map_children(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let all = |v: Vec<Expr>, f: &mut dyn FnMut(Expr) -> Expr| v.into_iter().map(&mut *f).collect::<Vec<_>>();
        let one = |a: Box<Expr>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(f(*a));
        match self {
            e @ (Expr::Num(_) | Expr::Sym(_) | Expr::Const(_) | Expr::Based(..) | Expr::Text(_) | Expr::EmptySet) => e,
            Expr::Add(v) => Expr::Add(all(v, f)),
            Expr::Mul(v) => Expr::Mul(all(v, f)),
            Expr::Tuple(v) => Expr::Tuple(all(v, f)),
            Expr::Set(v) => Expr::Set(all(v, f)),
            Expr::List(v) => Expr::List(all(v, f)),
            Expr::Union(v) => Expr::Union(all(v, f)),
            Expr::Ratio(v) => Expr::Ratio(all(v, f)),
            Expr::Rel(v, ops) => Expr::Rel(all(v, f), ops),
            Expr::Neg(a) => Expr::Neg(one(a, f)),
            Expr::PlusMinus(a) => Expr::PlusMinus(one(a, f)),
            Expr::Func(n, a) => Expr::Func(n, one(a, f)),
            Expr::Factorial(a) => Expr::Factorial(one(a, f)),
            Expr::Abs(a) => Expr::Abs(one(a, f)),
            Expr::Percent(a) => Expr::Percent(one(a, f)),
            Expr::Degree(a) => Expr::Degree(one(a, f)),
            Expr::Div(a, b) => Expr::Div(one(a, f), one(b, f)),
            Expr::Pow(a, b) => Expr::Pow(one(a, f), one(b, f)),
            Expr::Log(a, b) => Expr::Log(one(a, f), one(b, f)),
            Expr::Binom(a, b) => Expr::Binom(one(a, f), one(b, f)),
            Expr::Interval { lo, hi, lo_closed, hi_closed } => {
                Expr::Interval { lo: one(lo, f), hi: one(hi, f), lo_closed, hi_closed }
            }
            Expr::Matrix(rows) => Expr::Matrix(rows.into_iter().map(|r| all(r, f)).collect()),
        }
    }

    /// This expression with every variable `from` replaced by `to`.
    pub fn substitute(self, from: &str, to: &Expr) -> Expr {
        match self {
            Expr::Sym(s) if s == from => to.clone(),
            other => other.map_children(&mut |c| c.substitute(from, to)),
        }
    }

    /// Whether any node satisfies `pred` (depth is bounded by the parser's limit).
    pub fn any(&self, pred: &dyn Fn(&Expr) -> bool) -> bool {
        pred(self) || self.children().into_iter().any(|c| c.any(pred))
    }

    /// The variables in this expression, sorted and deduplicated.
    pub fn free_symbols(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_symbols(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_symbols(&self, out: &mut Vec<String>) {
        if let Expr::Sym(s) = self {
            out.push(s.clone());
        }
        for c in self.children() {
            c.collect_symbols(out);
        }
    }
}

fn write_number(f: &mut fmt::Formatter<'_>, n: &Number) -> fmt::Result {
    let v = &n.value;
    let bits = v.numer().bits().max(v.denom().bits());
    if bits > 256 {
        let digits = (bits as f64 * std::f64::consts::LOG10_2).floor() as u64 + 1;
        let sign = if v.is_negative() { "-" } else { "" };
        return if v.denom() == &BigInt::from(1) {
            write!(f, "{sign}<{digits}-digit integer>")
        } else {
            write!(f, "{sign}<rational of about {digits} digits>")
        };
    }
    if let Some(w) = n.written
        && w.frac_digits < 0
    {
        // Scientific notation keeps its written precision: `1.5e3` prints as `15e2`.
        let scale = BigInt::from(10).pow(w.frac_digits.unsigned_abs());
        let mantissa = (v / BigRational::from_integer(scale)).to_integer();
        return write!(f, "{mantissa}e{}", -w.frac_digits);
    }
    if let Some(w) = n.written
        && w.frac_digits >= 0
    {
        let scale = BigInt::from(10).pow(w.frac_digits as u32);
        let scaled = (v * BigRational::from_integer(scale)).to_integer();
        let sign = if scaled.is_negative() { "-" } else { "" };
        let s = scaled.abs().to_string();
        let fd = w.frac_digits as usize;
        if fd == 0 {
            return write!(f, "{sign}{s}");
        }
        let s = format!("{s:0>width$}", width = fd + 1);
        let (a, b) = s.split_at(s.len() - fd);
        return write!(f, "{sign}{a}.{b}");
    }
    if v.is_integer() { write!(f, "{}", v.numer()) } else { write!(f, "\\frac{{{}}}{{{}}}", v.numer(), v.denom()) }
}

fn join(f: &mut fmt::Formatter<'_>, items: &[Expr], sep: &str) -> fmt::Result {
    for (k, e) in items.iter().enumerate() {
        if k > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Num(n) => write_number(f, n),
            Expr::Sym(s) => f.write_str(s),
            Expr::Const(Constant::Pi) => f.write_str("\\pi"),
            Expr::Const(Constant::E) => f.write_str("e"),
            Expr::Const(Constant::I) => f.write_str("i"),
            Expr::Const(Constant::Infinity) => f.write_str("\\infty"),
            Expr::Add(v) => {
                f.write_str("(")?;
                for (k, e) in v.iter().enumerate() {
                    match e {
                        Expr::Neg(x) => write!(f, " - {x}")?,
                        Expr::PlusMinus(x) => write!(f, " \\pm {x}")?,
                        _ if k == 0 => write!(f, "{e}")?,
                        _ => write!(f, " + {e}")?,
                    }
                }
                f.write_str(")")
            }
            Expr::Mul(v) => join(f, v, " \\cdot "),
            Expr::Neg(a) => write!(f, "-{a}"),
            Expr::PlusMinus(a) => write!(f, "\\pm {a}"),
            Expr::Div(a, b) => write!(f, "\\frac{{{a}}}{{{b}}}"),
            Expr::Pow(a, b) => write!(f, "{{{a}}}^{{{b}}}"),
            Expr::Func(n, a) => write!(f, "\\{n}({a})"),
            Expr::Log(b, a) => write!(f, "\\log_{{{b}}}({a})"),
            Expr::Factorial(a) => write!(f, "{{{a}}}!"),
            Expr::Binom(a, b) => write!(f, "\\binom{{{a}}}{{{b}}}"),
            Expr::Abs(a) => write!(f, "|{a}|"),
            Expr::Percent(a) => write!(f, "{a}\\%"),
            Expr::Degree(a) => write!(f, "{a}^\\circ"),
            Expr::Based(d, b) => write!(f, "{d}_{{{b}}}"),
            Expr::Text(t) => write!(f, "\\text{{{t}}}"),
            Expr::Tuple(v) => {
                f.write_str("(")?;
                join(f, v, ", ")?;
                f.write_str(")")
            }
            Expr::Set(v) => {
                f.write_str("\\{")?;
                join(f, v, ", ")?;
                f.write_str("\\}")
            }
            Expr::List(v) => join(f, v, ", "),
            Expr::Interval { lo, hi, lo_closed, hi_closed } => {
                write!(f, "{}{lo}, {hi}{}", if *lo_closed { "[" } else { "(" }, if *hi_closed { "]" } else { ")" })
            }
            Expr::Union(v) => join(f, v, " \\cup "),
            Expr::Matrix(rows) => {
                f.write_str("\\begin{pmatrix}")?;
                for (k, r) in rows.iter().enumerate() {
                    if k > 0 {
                        f.write_str(" \\\\ ")?;
                    }
                    join(f, r, " & ")?;
                }
                f.write_str("\\end{pmatrix}")
            }
            Expr::Rel(parts, ops) => {
                for (k, p) in parts.iter().enumerate() {
                    if k > 0 {
                        let op = match ops[k - 1] {
                            RelOp::Eq => "=",
                            RelOp::Approx => "\\approx",
                            RelOp::Ne => "\\ne",
                            RelOp::Lt => "<",
                            RelOp::Le => "\\le",
                            RelOp::Gt => ">",
                            RelOp::Ge => "\\ge",
                            RelOp::In => "\\in",
                        };
                        write!(f, " {op} ")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
            Expr::Ratio(v) => join(f, v, ":"),
            Expr::EmptySet => f.write_str("\\emptyset"),
        }
    }
}

impl Number {
    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.value.is_zero()
    }
}
