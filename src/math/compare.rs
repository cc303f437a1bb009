//! Equivalence of two parsed answers, cheapest test first.
//!
//! Order: structural equality → shape dispatch (answer lists as multisets, tuples in order, matrices
//! cell by cell, intervals and inequalities as interval sets, equations by proportional `lhs − rhs`)
//! → scalar values (exact rationals; floats only for π, e, trig, logs, irrational roots) → for
//! expressions with variables, evaluation at deterministic pseudo-random rational points
//! (Schwartz–Zippel: two different rational functions agree on a few random points with negligible
//! probability). Decimal literals follow the precision rules documented in [`super`].

use std::cell::Cell;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::MathConfig;
use super::ast::{Constant, Expr, RelOp, SET_MINUS};
use super::eval::{Env, EvalError, Real, Value, eval, log2_abs};

/// The comparison of one gold with one prediction.
pub struct Comparer<'a> {
    cfg: &'a MathConfig,
    /// The smaller integer budget used at random evaluation points (a point is a probe, not the answer).
    point_limits: super::MathLimits,
    /// Set when a budget prevented a decision somewhere in the comparison.
    pub limit_hit: Cell<Option<&'static str>>,
}

/// Largest number of alternatives one `\pm`-expansion may produce.
const MAX_PM_ALTERNATIVES: usize = 16;

fn is_rel(e: &Expr) -> bool {
    matches!(e, Expr::Rel(..))
}

fn has_pm(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::PlusMinus(_)))
}

/// Replaces the first `±x` by `x` (`plus`) or `-x`.
fn replace_first_pm(e: &Expr, plus: bool, done: &mut bool) -> Expr {
    if *done {
        return e.clone();
    }
    if let Expr::PlusMinus(x) = e {
        *done = true;
        return if plus { (**x).clone() } else { Expr::Neg(x.clone()) };
    }
    let map = |v: &Vec<Expr>, done: &mut bool| v.iter().map(|c| replace_first_pm(c, plus, done)).collect::<Vec<_>>();
    let b = |x: &Expr, done: &mut bool| Box::new(replace_first_pm(x, plus, done));
    match e {
        Expr::Add(v) => Expr::Add(map(v, done)),
        Expr::Mul(v) => Expr::Mul(map(v, done)),
        Expr::Tuple(v) => Expr::Tuple(map(v, done)),
        Expr::Rel(v, ops) => Expr::Rel(map(v, done), ops.clone()),
        Expr::Neg(a) => Expr::Neg(b(a, done)),
        Expr::Div(a, c) => {
            let a = b(a, done);
            Expr::Div(a, b(c, done))
        }
        Expr::Pow(a, c) => {
            let a = b(a, done);
            Expr::Pow(a, b(c, done))
        }
        Expr::Func(n, a) => Expr::Func(n.clone(), b(a, done)),
        Expr::Abs(a) => Expr::Abs(b(a, done)),
        Expr::Percent(a) => Expr::Percent(b(a, done)),
        Expr::Degree(a) => Expr::Degree(b(a, done)),
        other => other.clone(),
    }
}

fn expand_pm(e: &Expr, out: &mut Vec<Expr>) -> bool {
    if !has_pm(e) {
        out.push(e.clone());
        return true;
    }
    let mut work = vec![e.clone()];
    while let Some(x) = work.pop() {
        if !has_pm(&x) {
            out.push(x);
            continue;
        }
        if out.len() + work.len() + 2 > MAX_PM_ALTERNATIVES {
            return false;
        }
        for plus in [false, true] {
            let mut done = false;
            work.push(replace_first_pm(&x, plus, &mut done));
        }
    }
    true
}

/// The answers an expression stands for, and whether it was a collection.
fn answers(e: &Expr) -> Option<(Vec<Expr>, bool)> {
    let mut out = Vec::new();
    match e {
        Expr::List(v) | Expr::Set(v) => {
            for x in v {
                if !expand_pm(x, &mut out) {
                    return None;
                }
            }
            Some((out, true))
        }
        _ => {
            if !expand_pm(e, &mut out) {
                return None;
            }
            let many = out.len() > 1;
            Some((out, many))
        }
    }
}

/// `x \in S` → `S` when `S` is a set or list of answers.
fn member_of(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Rel(parts, ops) if ops.len() == 1 && ops[0] == RelOp::In && is_label(&parts[0]) => {
            matches!(parts[1], Expr::Set(_) | Expr::List(_)).then_some(&parts[1])
        }
        _ => None,
    }
}

/// The variable of a one-argument function name on the left of `=`: `f(x)` (parsed `f·x`) → `x`.
fn bound_variable(e: &Expr) -> Option<(&str, &str)> {
    const FUNCTION_NAMES: &[&str] = &["f", "g", "h", "F", "G", "H", "P", "T"];
    match e {
        Expr::Mul(v) if v.len() == 2 => match (&v[0], &v[1]) {
            (Expr::Sym(name), Expr::Sym(var)) if FUNCTION_NAMES.contains(&name.as_str()) && var != name => {
                Some((name, var))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A list of inequalities joined by "or" (`x < -2 \text{ or } x > 3`) read as the union of their
/// solution sets, when it is compared with an interval set.
fn or_union(e: &Expr) -> Option<Expr> {
    let Expr::List(items) = e else { return None };
    let inequality = |x: &Expr| matches!(x, Expr::Rel(_, ops) if ops.iter().all(|o| matches!(o, RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge)));
    (items.len() >= 2 && items.iter().all(inequality)).then(|| Expr::Union(items.clone()))
}

/// Names an integer parameter of a periodic solution family may have (`k`, `n`, `m`, …).
const PARAMETERS: &[&str] = &["k", "n", "m", "l", "j", "t"];

/// Most residues one side of a family comparison is expanded to (families × common period / own period).
const MAX_FAMILY_RESIDUES: usize = 64;

/// One periodic family `base + k·period`, `k` any integer.
struct Family {
    base: Expr,
    period: Expr,
}

/// `k \in \mathbb{Z}` (or `k \in Z`, `k` an integer parameter): the family's parameter declared.
fn is_integer_declaration(e: &Expr) -> bool {
    match e {
        Expr::Rel(parts, ops) if ops.len() == 1 && ops[0] == RelOp::In => {
            matches!(&parts[0], Expr::Sym(s) if PARAMETERS.contains(&s.as_str()))
                && (matches!(&parts[1], Expr::Sym(z) if z == "Z" || z == "mathbb{Z}")
                    || matches!(&parts[1], Expr::Text(z) if z == "Z"))
        }
        _ => false,
    }
}

/// `(x, y) = (1, 2)` → `(1, 2)`: a tuple labelled by a tuple of names.
fn tuple_value(e: &Expr) -> Option<&Expr> {
    match label_eq(e) {
        Some((Expr::Tuple(_), value @ Expr::Tuple(_))) => Some(value),
        _ => None,
    }
}

fn is_label(e: &Expr) -> bool {
    match e {
        Expr::Sym(_) => true,
        // `T(10)`, `f(3)`: a function of a constant, parsed `T·10`.
        Expr::Mul(v)
            if v.len() == 2
                && matches!(&v[0], Expr::Sym(s) if s.chars().count() == 1)
                && matches!(&v[1], Expr::Num(n) if n.written.is_none() && n.value.is_integer()) =>
        {
            true
        }
        Expr::Mul(v) => {
            v.iter().all(|x| matches!(x, Expr::Sym(_)) || matches!(x, Expr::Tuple(t) if t.iter().all(is_label)))
        }
        Expr::Abs(a) => is_label(a),
        Expr::Div(a, b) => is_label(a) && is_label(b),
        Expr::Ratio(v) | Expr::Tuple(v) => v.iter().all(is_label),
        _ => false,
    }
}

fn head(e: &Expr) -> Option<&str> {
    match e {
        Expr::Sym(s) => Some(s),
        Expr::Mul(v) | Expr::Ratio(v) | Expr::Tuple(v) => v.first().and_then(head),
        Expr::Div(a, _) => head(a),
        Expr::Abs(a) => head(a),
        _ => None,
    }
}

/// Whether the constants `a` and `b` evaluate within 5 % of each other (real and imaginary parts):
/// what `a \approx b` must meet, in a completion's chain and in a gold's decimal tail.
pub(super) fn approximates(a: &Expr, b: &Expr, env: &Env<'_>) -> bool {
    match (eval(a, env).and_then(|v| v.approx()), eval(b, env).and_then(|v| v.approx())) {
        (Ok((x, xi)), Ok((y, yi))) => {
            (x - y).abs() <= 0.05 * x.abs().max(y.abs()) && (xi - yi).abs() <= 0.05 * xi.abs().max(yi.abs())
        }
        _ => false,
    }
}

fn mentions(e: &Expr, name: &str) -> bool {
    e.any(&|x| matches!(x, Expr::Sym(s) if s == name))
}

/// `x = 5` → (`x`, `5`); a chain `x = 5+5+1 = 11` takes the last part joined by `=`.
fn label_eq(e: &Expr) -> Option<(&Expr, &Expr)> {
    let Expr::Rel(parts, ops) = e else { return None };
    if !ops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::Approx)) || !is_label(&parts[0]) {
        return None;
    }
    let last_eq = ops.iter().rposition(|o| *o == RelOp::Eq).map_or(parts.len() - 1, |k| k + 1);
    Some((&parts[0], &parts[last_eq]))
}

fn inf_sign(e: &Expr) -> Option<i8> {
    match e {
        Expr::Const(Constant::Infinity) => Some(1),
        Expr::Neg(a) => inf_sign(a).map(|s| -s),
        _ => None,
    }
}

fn interval_like(e: &Expr) -> bool {
    match e {
        Expr::Interval { .. } | Expr::Union(_) => true,
        Expr::Func(name, _) => name == SET_MINUS,
        Expr::Rel(_, ops) => {
            ops.iter().all(|o| matches!(o, RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge))
                || (ops.len() == 1 && ops[0] == RelOp::In)
        }
        _ => false,
    }
}

/// One interval of an interval set.
#[derive(Debug, Clone)]
struct Iv {
    lo: Expr,
    hi: Expr,
    lo_closed: bool,
    hi_closed: bool,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Written precision of a decimal answer: the unit of its last digit and its significant digits.
fn written_precision(e: &Expr) -> Option<(BigRational, u32)> {
    match e {
        Expr::Num(n) => n.written.map(|w| {
            let p = num_traits::pow::Pow::pow(BigRational::from_integer(BigInt::from(10)), -w.frac_digits);
            (p, w.sig_digits)
        }),
        Expr::Neg(a) => written_precision(a),
        Expr::Mul(v) if v.len() == 2 => {
            let (unit, sig) = written_precision(&v[0])?;
            if let Expr::Pow(b, k) = &v[1]
                && matches!(&**b, Expr::Num(n) if n.value == BigRational::from_integer(BigInt::from(10)))
            {
                let k = match &**k {
                    Expr::Num(n) if n.value.is_integer() => n.value.to_integer(),
                    Expr::Neg(x) => match &**x {
                        Expr::Num(n) if n.value.is_integer() => -n.value.to_integer(),
                        _ => return None,
                    },
                    _ => return None,
                };
                let k: i32 = k.try_into().ok()?;
                if k.abs() > 400 {
                    return None;
                }
                let p = num_traits::pow::Pow::pow(BigRational::from_integer(BigInt::from(10)), k);
                return Some((unit * p, sig));
            }
            None
        }
        _ => None,
    }
}

/// Rounds `x` to a multiple of `unit`, half away from zero.
fn round_to(x: &BigRational, unit: &BigRational) -> BigRational {
    let k = x / unit;
    let half = BigRational::new(BigInt::one(), BigInt::from(2));
    let r = if k.is_negative() { -((-k + half).floor()) } else { (k + half).floor() };
    r * unit
}

fn trunc_to(x: &BigRational, unit: &BigRational) -> BigRational {
    (x / unit).trunc() * unit
}

impl<'a> Comparer<'a> {
    /// A comparer under `cfg`.
    pub fn new(cfg: &'a MathConfig) -> Self {
        let mut point_limits = cfg.limits.clone();
        point_limits.max_integer_bits = (cfg.limits.max_integer_bits / 64).max(4096).min(cfg.limits.max_integer_bits);
        Comparer { cfg, point_limits, limit_hit: Cell::new(None) }
    }

    fn env<'b>(&'b self, vars: &'b [(String, Value)]) -> Env<'b> {
        let limits = if vars.is_empty() { &self.cfg.limits } else { &self.point_limits };
        Env { limits, vars, branch: std::cell::Cell::new(false) }
    }

    fn limit(&self, what: &'static str) {
        self.limit_hit.set(Some(what));
    }

    /// Whether `pred` means the same as `gold`.
    pub fn equal(&self, g: &Expr, p: &Expr) -> bool {
        if g == p {
            return true;
        }
        // `x \in \{1, 2\}` is the set itself.
        let g = member_of(g).unwrap_or(g);
        let p = member_of(p).unwrap_or(p);
        let many = |e: &Expr| matches!(e, Expr::List(_) | Expr::Set(_)) || has_pm(e);
        // Periodic solution families (`\frac{\pi}{6} + k\pi`) compare as sets modulo their period.
        if let Some(gf) = self.families(g)
            && let Some(pf) = self.families(p)
        {
            return self.families_equal(&gf, &pf);
        }
        // `(x, y, z) = (1, 2, 3)` against the list `1, 2, 3`: the tuple of names is a label.
        if many(g)
            && !many(p)
            && let Some(value) = tuple_value(p)
        {
            return self.equal(g, value);
        }
        if many(p)
            && !many(g)
            && let Some(value) = tuple_value(g)
        {
            return self.equal(value, p);
        }
        // Inequalities joined by "or" against an interval set: their union.
        if interval_like(g)
            && let Some(u) = or_union(p)
        {
            return self.item(g, &u);
        }
        if interval_like(p)
            && let Some(u) = or_union(g)
        {
            return self.item(&u, p);
        }
        if !many(g) && !many(p) {
            return self.item(g, p);
        }
        let (Some((gs, gmany)), Some((ps, pmany))) = (answers(g), answers(p)) else {
            self.limit("max_pm_alternatives");
            return false;
        };
        if !gmany && !pmany {
            return self.item(g, p);
        }
        if gs.len().max(ps.len()) > self.cfg.limits.max_list_items {
            self.limit("max_list_items");
            return false;
        }
        // An unordered list against a tuple of the same length: compare in order (`{1,3}` vs `(1,3)`).
        if let (true, false, Expr::Tuple(t)) = (gmany, pmany, p)
            && t.len() == gs.len()
        {
            return gs.iter().zip(t).all(|(a, b)| self.item(a, b));
        }
        if let (false, true, Expr::Tuple(t)) = (gmany, pmany, g)
            && t.len() == ps.len()
        {
            return t.iter().zip(&ps).all(|(a, b)| self.item(a, b));
        }
        // Answer lists are sets: every gold answer is predicted and every predicted answer is a gold
        // answer (`1, 2, 3` ≠ `3`; repeats such as `2, 2` collapse).
        gs.iter().all(|a| ps.iter().any(|b| self.item(a, b))) && ps.iter().all(|b| gs.iter().any(|a| self.item(a, b)))
    }

    /// The periodic families an answer lists (`\frac{\pi}{6} + k\pi, \frac{5\pi}{6} + 2n\pi`,
    /// `x = \frac{\pi}{4} + m\pi, m \in \mathbb{Z}`): every item is linear in one integer parameter
    /// ([`PARAMETERS`]) with a period that is a multiple of π, checked exactly at three values of
    /// the parameter. `None` when any item is not such a family.
    fn families(&self, e: &Expr) -> Option<Vec<Family>> {
        if !e.any(&|x| matches!(x, Expr::Const(Constant::Pi)))
            || !e.any(&|x| matches!(x, Expr::Sym(s) if PARAMETERS.contains(&s.as_str())))
        {
            return None;
        }
        let items: Vec<&Expr> = match e {
            Expr::List(v) | Expr::Set(v) => v.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            if is_integer_declaration(item) {
                continue;
            }
            let value = match label_eq(item) {
                Some((Expr::Sym(_), value)) => value,
                Some(_) => return None,
                None => item,
            };
            let vars = value.free_symbols();
            let [k] = vars.as_slice() else { return None };
            if !PARAMETERS.contains(&k.as_str()) {
                return None;
            }
            let at = |n: i64| value.clone().substitute(k, &Expr::int(n));
            let base = at(0);
            let period = Expr::Add(vec![at(1), Expr::Neg(Box::new(base.clone()))]);
            let linear = |n: i64, e: Expr| {
                self.item(&e, &Expr::Add(vec![base.clone(), Expr::Mul(vec![Expr::int(n), period.clone()])]))
            };
            if !period.any(&|x| matches!(x, Expr::Const(Constant::Pi))) || !linear(2, at(2)) || !linear(-1, at(-1)) {
                return None;
            }
            out.push(Family { base, period });
        }
        (!out.is_empty() && out.len() <= MAX_FAMILY_RESIDUES).then_some(out)
    }

    /// An approximate real value, for choosing candidates that are then checked exactly.
    fn approx(&self, e: &Expr) -> Option<f64> {
        let (re, im) = eval(e, &self.env(&[])).ok()?.approx().ok()?;
        (re.is_finite() && im.abs() < 1e-12).then_some(re)
    }

    /// Two lists of families are the same set: both are expanded to one common period `L` (each
    /// family `a + kT` becomes the `L/T` residues `a + tT`), and every residue of one side must
    /// equal a residue of the other modulo `L`, exactly (the integer multiple of `L` is found
    /// numerically and then checked by the ordinary exact comparison).
    fn families_equal(&self, gs: &[Family], ps: &[Family]) -> bool {
        let Some(t0) = gs.first().map(|f| f.period.clone()) else { return false };
        let Some(t0v) = self.approx(&t0).filter(|v| *v != 0.0) else { return false };
        // Each period as the fraction num/den of t0, checked exactly.
        let mut ratios = Vec::new();
        for f in gs.iter().chain(ps) {
            let Some(r) = self.approx(&f.period).map(|v| (v / t0v).abs()) else { return false };
            let Some((num, den)) = (1..=12i64).find_map(|d| {
                let n = (r * d as f64).round();
                ((r * d as f64 - n).abs() < 1e-9 && n >= 1.0).then_some((n as i64, d))
            }) else {
                return false;
            };
            let scaled = |e: &Expr, m: i64| Expr::Mul(vec![Expr::int(m), e.clone()]);
            let same_sign = self.item(&scaled(&f.period, den), &scaled(&t0, num));
            let opposite = !same_sign && self.item(&scaled(&f.period, -den), &scaled(&t0, num));
            if !same_sign && !opposite {
                return false;
            }
            ratios.push((num, den, if same_sign { 1 } else { -1 }));
        }
        let gcd = |a: i64, b: i64| num_integer::gcd(a, b);
        let lcm_num = ratios.iter().fold(1i64, |acc, (n, d, _)| {
            let g = gcd(*n, *d);
            let n = n / g;
            acc / gcd(acc, n) * n
        });
        let gcd_den = ratios.iter().fold(0i64, |acc, (n, d, _)| gcd(acc, d / gcd(*n, *d)));
        // L = t0 · lcm_num / gcd_den; family i contributes L / T_i = lcm_num·d_i / (gcd_den·n_i) residues.
        let period = Expr::Div(Box::new(Expr::Mul(vec![Expr::int(lcm_num), t0])), Box::new(Expr::int(gcd_den)));
        let Some(lv) = self.approx(&period) else { return false };
        let mut residues: [Vec<Expr>; 2] = [Vec::new(), Vec::new()];
        for (k, (f, (n, d, sign))) in gs.iter().chain(ps).zip(&ratios).enumerate() {
            let (n, d) = (n / gcd(*n, *d), d / gcd(*n, *d));
            let count = (lcm_num * d) / (gcd_den * n);
            if count <= 0 || count as usize > MAX_FAMILY_RESIDUES {
                return false;
            }
            let side = usize::from(k >= gs.len());
            for t in 0..count {
                let step = Expr::Mul(vec![Expr::int(t * sign), f.period.clone()]);
                residues[side].push(Expr::Add(vec![f.base.clone(), step]));
            }
            if residues[side].len() > MAX_FAMILY_RESIDUES {
                return false;
            }
        }
        let same = |a: &Expr, b: &Expr| {
            let (Some(av), Some(bv)) = (self.approx(a), self.approx(b)) else { return false };
            let m = ((av - bv) / lv).round();
            if ((av - bv) / lv - m).abs() > 1e-6 || m.abs() > 1e6 {
                return false;
            }
            let shifted = Expr::Add(vec![b.clone(), Expr::Mul(vec![Expr::int(m as i64), period.clone()])]);
            self.item(a, &shifted)
        };
        let [g, p] = &residues;
        g.iter().all(|a| p.iter().any(|b| same(a, b))) && p.iter().all(|b| g.iter().any(|a| same(a, b)))
    }

    fn multiset<T>(&self, gs: &[T], ps: &[T], eq: &dyn Fn(&T, &T) -> bool) -> bool {
        let mut used = vec![false; ps.len()];
        'outer: for g in gs {
            for (k, p) in ps.iter().enumerate() {
                if !used[k] && eq(g, p) {
                    used[k] = true;
                    continue 'outer;
                }
            }
            return false;
        }
        true
    }

    fn item(&self, g: &Expr, p: &Expr) -> bool {
        if g == p {
            return true;
        }
        // Cheapest check first: two plain rationals (`-\frac{72}{19}` vs `-72/19`, `860.68` vs
        // `860.69`) are decided by their exact values, as the general path below would decide them.
        if let (Some(a), Some(b)) = (plain_value(g), plain_value(p)) {
            let (gw, pw) = (written_precision(g), written_precision(p));
            if gw.is_none() && pw.is_none() {
                return a == b;
            }
            return self.numeric_eq(&Value::q(a), gw, &Value::q(b), pw);
        }
        match (label_eq(g), label_eq(p)) {
            (Some((gl, gr)), Some((pl, pr))) => {
                // `f(x) = x` is `f(z) = z`: the function's variable is bound, so rename it.
                if let (Some((gf, gv)), Some((pf, pv))) = (bound_variable(gl), bound_variable(pl))
                    && gf == pf
                    && gv != pv
                    && !mentions(pr, gv)
                {
                    let renamed = pr.clone().substitute(pv, &Expr::Sym(gv.to_string()));
                    return self.item(gr, &renamed);
                }
                let clash = match (head(gl), head(pl)) {
                    (Some(a), Some(b)) if a != b => mentions(gr, b) || mentions(pr, a),
                    _ => false,
                };
                if !clash {
                    return self.item(gr, pr);
                }
            }
            (Some((_, gr)), None) if !is_rel(p) => return self.item(gr, p),
            (None, Some((_, pr))) if !is_rel(g) => return self.item(g, pr),
            _ => {}
        }
        // A true chain of constants (`35 + 70 = 105`, `\frac{9.5}{3.14159} \approx 3.01`) answers with its
        // ends; a false one (`1 = 5`) answers nothing.
        if !is_rel(g)
            && let Some(ends) = self.constant_chain(p)
        {
            return ends.iter().any(|e| self.item(g, e));
        }
        if (interval_like(g) || interval_like(p))
            && let (Some(a), Some(b)) = (self.intervals(g), self.intervals(p))
        {
            if a.len().max(b.len()) > self.cfg.limits.max_intervals {
                self.limit("max_intervals");
                return false;
            }
            return a.len() == b.len() && self.multiset(&a, &b, &|x, y| self.iv_eq(x, y));
        }
        // Sums, products and scalar multiples of matrices are worked out cell by cell.
        if let (Expr::Matrix(_), Some(m)) = (g, matrix_value(p, 0)) {
            return self.item(g, &Expr::Matrix(m));
        }
        if let (Some(m), Expr::Matrix(_)) = (matrix_value(g, 0), p) {
            return self.item(&Expr::Matrix(m), p);
        }
        match (g, p) {
            (Expr::Rel(..), Expr::Rel(..)) => self.rel_eq(g, p),
            (Expr::Rel(..), _) | (_, Expr::Rel(..)) => false,
            (Expr::Tuple(a), Expr::Tuple(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| self.item(x, y)),
            (Expr::Matrix(a), Expr::Matrix(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(r, s)| r.len() == s.len() && r.iter().zip(s).all(|(x, y)| self.item(x, y)))
            }
            (Expr::Matrix(_), Expr::Interval { lo, hi, lo_closed: true, hi_closed: true }) => {
                self.item(g, &Expr::Tuple(vec![(**lo).clone(), (**hi).clone()]))
            }
            (Expr::Interval { lo, hi, lo_closed: true, hi_closed: true }, Expr::Matrix(_)) => {
                self.item(&Expr::Tuple(vec![(**lo).clone(), (**hi).clone()]), p)
            }
            (Expr::Matrix(m), Expr::Tuple(t)) | (Expr::Tuple(t), Expr::Matrix(m)) => {
                let flat: Vec<&Expr> = m.iter().flatten().collect();
                let vector = m.len() == 1 || m.iter().all(|r| r.len() == 1);
                vector && flat.len() == t.len() && flat.iter().zip(t).all(|(x, y)| self.item(x, y))
            }
            (Expr::List(_) | Expr::Set(_), _) | (_, Expr::List(_) | Expr::Set(_)) => self.equal(g, p),
            (Expr::Text(a), Expr::Text(b)) => text_key(a) == text_key(b),
            (Expr::Text(a), other) | (other, Expr::Text(a)) => {
                letters(other).is_some_and(|l| text_key(&l) == text_key(a))
            }
            (Expr::EmptySet, _) | (_, Expr::EmptySet) => false,
            (Expr::Ratio(a), Expr::Ratio(b)) => {
                // Clock times: `20:34` is `20:34:00` (trailing zero seconds only).
                let zero = |e: &Expr| matches!(e, Expr::Num(n) if n.value.is_zero());
                let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                (a.len() == b.len() || (short.len() >= 2 && long[short.len()..].iter().all(zero)))
                    && short.iter().zip(long.iter()).all(|(x, y)| self.item(x, y))
            }
            (Expr::Ratio(_), _) | (_, Expr::Ratio(_)) => false,
            (Expr::Based(d1, b1), Expr::Based(d2, b2)) => {
                b1 == b2 && d1.trim_start_matches('0') == d2.trim_start_matches('0')
            }
            (Expr::Based(d, _), Expr::Num(n)) | (Expr::Num(n), Expr::Based(d, _)) => {
                n.written.is_none() && n.value.is_integer() && n.value.numer().to_string() == *d
            }
            (Expr::Tuple(_) | Expr::Matrix(_) | Expr::Interval { .. } | Expr::Union(_), _)
            | (_, Expr::Tuple(_) | Expr::Matrix(_) | Expr::Interval { .. } | Expr::Union(_)) => false,
            _ => {
                if let (Some(a), Some(b)) = (inf_sign(g), inf_sign(p)) {
                    return a == b;
                }
                self.scalar(g, p)
            }
        }
    }

    /// The first and last parts of a chain of `=`/`\approx` between constants, when every link holds
    /// (`=` exactly, `\approx` within 5%); the first part counts only before a `\approx`.
    fn constant_chain<'e>(&self, e: &'e Expr) -> Option<[&'e Expr; 2]> {
        let Expr::Rel(parts, ops) = e else { return None };
        if !ops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::Approx))
            || parts.iter().any(|x| !x.free_symbols().is_empty())
        {
            return None;
        }
        for (k, op) in ops.iter().enumerate() {
            let (a, b) = (&parts[k], &parts[k + 1]);
            let holds = match op {
                RelOp::Eq => self.item(a, b),
                _ => approximates(a, b, &self.env(&[])),
            };
            if !holds {
                return None;
            }
        }
        let last = &parts[parts.len() - 1];
        let first = if ops[0] == RelOp::Approx { &parts[0] } else { last };
        Some([first, last])
    }

    fn intervals(&self, e: &Expr) -> Option<Vec<Iv>> {
        match e {
            Expr::Interval { lo, hi, lo_closed, hi_closed } => {
                Some(vec![Iv { lo: (**lo).clone(), hi: (**hi).clone(), lo_closed: *lo_closed, hi_closed: *hi_closed }])
            }
            Expr::Tuple(v) if v.len() == 2 => {
                Some(vec![Iv { lo: v[0].clone(), hi: v[1].clone(), lo_closed: false, hi_closed: false }])
            }
            Expr::Union(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    out.extend(self.intervals(p)?);
                }
                Some(out)
            }
            Expr::Set(items) => Some(
                items.iter().map(|x| Iv { lo: x.clone(), hi: x.clone(), lo_closed: true, hi_closed: true }).collect(),
            ),
            Expr::EmptySet => Some(Vec::new()),
            // `A \setminus \{p, …\}`: the intervals of `A` less each point, decided only when the
            // points and the finite ends are exact rationals.
            Expr::Func(name, arg) if name == SET_MINUS => {
                let Expr::Tuple(sides) = &**arg else { return None };
                let [from, Expr::Set(points)] = sides.as_slice() else { return None };
                let mut ivs = self.intervals(from)?;
                if points.len().max(ivs.len()) > self.cfg.limits.max_intervals {
                    self.limit("max_intervals");
                    return None;
                }
                for p in points {
                    let at = self.exact(p)?;
                    let mut rest = Vec::with_capacity(ivs.len() + 1);
                    for iv in ivs {
                        rest.extend(self.without_point(iv, p, &at)?);
                    }
                    ivs = rest;
                }
                Some(ivs)
            }
            Expr::Rel(parts, ops) if ops.len() == 1 && ops[0] == RelOp::In => self.intervals(&parts[1]),
            Expr::Rel(parts, ops) => self.inequality(parts, ops),
            _ => None,
        }
    }

    fn inequality(&self, parts: &[Expr], ops: &[RelOp]) -> Option<Vec<Iv>> {
        let up = ops.iter().all(|o| matches!(o, RelOp::Lt | RelOp::Le));
        let down = ops.iter().all(|o| matches!(o, RelOp::Gt | RelOp::Ge));
        if !up && !down {
            return None;
        }
        let mut parts: Vec<&Expr> = parts.iter().collect();
        let mut closed: Vec<bool> = ops.iter().map(|o| matches!(o, RelOp::Le | RelOp::Ge)).collect();
        if down {
            parts.reverse();
            closed.reverse();
        }
        let inf = Expr::Const(Constant::Infinity);
        let ninf = Expr::Neg(Box::new(inf.clone()));
        let constant = |e: &Expr| e.free_symbols().is_empty();
        match parts.len() {
            2 => {
                let (a, b) = (parts[0], parts[1]);
                if is_label(a) && constant(b) {
                    return Some(vec![Iv { lo: ninf, hi: b.clone(), lo_closed: false, hi_closed: closed[0] }]);
                }
                if is_label(b) && constant(a) {
                    return Some(vec![Iv { lo: a.clone(), hi: inf, lo_closed: closed[0], hi_closed: false }]);
                }
                // A linear inequality in one variable: solve it.
                let vars = Expr::Add(vec![a.clone(), b.clone()]).free_symbols();
                if vars.len() != 1 {
                    return None;
                }
                let d = Expr::Add(vec![a.clone(), Expr::Neg(Box::new(b.clone()))]);
                let at = |k: i64| -> Option<BigRational> {
                    let vals = [(vars[0].clone(), Value::q(BigRational::from_integer(BigInt::from(k))))];
                    eval(&d, &self.env(&vals)).ok()?.as_q().cloned()
                };
                let (d0, d1, d2) = (at(0)?, at(1)?, at(2)?);
                let slope = &d1 - &d0;
                if slope.is_zero() || &d2 - &d1 != slope {
                    return None;
                }
                let root = Expr::Num(super::ast::Number { value: -d0 / &slope, written: None });
                // d < 0 means a < b.
                Some(vec![if slope.is_positive() {
                    Iv { lo: ninf, hi: root, lo_closed: false, hi_closed: closed[0] }
                } else {
                    Iv { lo: root, hi: inf, lo_closed: closed[0], hi_closed: false }
                }])
            }
            // `a \le |z| \le b` is `[-b, -a] \cup [a, b]`.
            3 if matches!(parts[1], Expr::Abs(x) if is_label(x)) && constant(parts[0]) && constant(parts[2]) => {
                let neg = |e: &Expr| Expr::Neg(Box::new(e.clone()));
                Some(vec![
                    Iv { lo: neg(parts[2]), hi: neg(parts[0]), lo_closed: closed[1], hi_closed: closed[0] },
                    Iv { lo: parts[0].clone(), hi: parts[2].clone(), lo_closed: closed[0], hi_closed: closed[1] },
                ])
            }
            3 if is_label(parts[1]) && constant(parts[0]) && constant(parts[2]) => Some(vec![Iv {
                lo: parts[0].clone(),
                hi: parts[2].clone(),
                lo_closed: closed[0],
                hi_closed: closed[1],
            }]),
            _ => None,
        }
    }

    /// The exact rational value of a constant expression.
    fn exact(&self, e: &Expr) -> Option<BigRational> {
        if !e.free_symbols().is_empty() {
            return None;
        }
        eval(e, &self.env(&[])).ok()?.as_q().cloned()
    }

    /// `iv` less the point `p` (value `at`): unchanged, an open end, split in two, or gone.
    fn without_point(&self, iv: Iv, p: &Expr, at: &BigRational) -> Option<Vec<Iv>> {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let side = |end: &Expr| match inf_sign(end) {
            Some(s) => Some(if s < 0 { Less } else { Greater }),
            None => Some(self.exact(end)?.cmp(at)),
        };
        let (lo, hi) = (side(&iv.lo)?, side(&iv.hi)?);
        Some(match (lo, hi) {
            (Greater, _) | (_, Less) => vec![iv],
            (Equal, _) if !iv.lo_closed => vec![iv],
            (_, Equal) if !iv.hi_closed => vec![iv],
            (Equal, Equal) => Vec::new(),
            (Equal, _) => vec![Iv { lo_closed: false, ..iv }],
            (_, Equal) => vec![Iv { hi_closed: false, ..iv }],
            (Less, Greater) => vec![
                Iv { lo: iv.lo, hi: p.clone(), lo_closed: iv.lo_closed, hi_closed: false },
                Iv { lo: p.clone(), hi: iv.hi, lo_closed: false, hi_closed: iv.hi_closed },
            ],
        })
    }

    fn iv_eq(&self, a: &Iv, b: &Iv) -> bool {
        let end = |x: &Expr, y: &Expr, cx: bool, cy: bool| match (inf_sign(x), inf_sign(y)) {
            (Some(s), Some(t)) => s == t,
            (None, None) => cx == cy && self.item(x, y),
            _ => false,
        };
        end(&a.lo, &b.lo, a.lo_closed, b.lo_closed) && end(&a.hi, &b.hi, a.hi_closed, b.hi_closed)
    }

    fn rel_eq(&self, g: &Expr, p: &Expr) -> bool {
        let (Expr::Rel(gp, go), Expr::Rel(pp, po)) = (g, p) else { return false };
        if go == po && gp.len() == pp.len() && gp.iter().zip(pp).all(|(x, y)| self.item(x, y)) {
            return true;
        }
        if gp.len() != 2 || pp.len() != 2 {
            return false;
        }
        let norm = |parts: &[Expr], op: RelOp| -> (Expr, RelOp) {
            let (l, r, op) = match op {
                RelOp::Gt => (&parts[1], &parts[0], RelOp::Lt),
                RelOp::Ge => (&parts[1], &parts[0], RelOp::Le),
                RelOp::Approx => (&parts[0], &parts[1], RelOp::Eq),
                o => (&parts[0], &parts[1], o),
            };
            (Expr::Add(vec![l.clone(), Expr::Neg(Box::new(r.clone()))]), op)
        };
        let (dg, og) = norm(gp, go[0]);
        let (dp, op) = norm(pp, po[0]);
        if og != op || og == RelOp::In {
            return false;
        }
        self.proportional(&dg, &dp, matches!(og, RelOp::Lt | RelOp::Le))
    }

    /// Whether `a = c·b` for one constant `c ≠ 0` (positive when `positive`), by random evaluation.
    fn proportional(&self, a: &Expr, b: &Expr, positive: bool) -> bool {
        let mut vars = Expr::Add(vec![a.clone(), b.clone()]).free_symbols();
        vars.dedup();
        let mut ratio: Option<Value> = None;
        let mut ok_points = 0;
        for attempt in 0..(2 * self.cfg.random_points as u64 + 2) {
            if ok_points >= self.cfg.random_points {
                break;
            }
            let vals = self.point(&vars, attempt);
            let env = self.env(&vals);
            let (va, vb) = match (eval(a, &env), eval(b, &env)) {
                (Ok(x), Ok(y)) => (x, y),
                (Err(EvalError::TooLarge { .. }), _) | (_, Err(EvalError::TooLarge { .. })) => {
                    self.limit("max_integer_bits");
                    return false;
                }
                _ => continue,
            };
            ok_points += 1;
            if vb.is_zero() || va.is_zero() {
                if !(self.close(&va, &Value::q(BigRational::zero()), true)
                    && self.close(&vb, &Value::q(BigRational::zero()), true))
                {
                    return false;
                }
                continue;
            }
            let Ok(r) = va.div(&vb) else { return false };
            match &ratio {
                None => {
                    if positive {
                        let pos = match (&r.re, r.im.is_zero()) {
                            (Real::Q(q), true) => q.is_positive(),
                            (Real::F(x), true) => *x > 0.0,
                            _ => false,
                        };
                        if !pos {
                            return false;
                        }
                    }
                    ratio = Some(r);
                }
                Some(r0) => {
                    if !self.close(r0, &r, true) {
                        return false;
                    }
                }
            }
        }
        ok_points > 0
    }

    fn point(&self, vars: &[String], attempt: u64) -> Vec<(String, Value)> {
        vars.iter()
            .map(|v| {
                let r = splitmix(self.cfg.seed ^ fnv(v) ^ attempt.wrapping_mul(0x1000_0000_01b3));
                let num = (r % 23) as i64 + 2;
                let den = ((r >> 16) % 7) as i64 + 1;
                // The first points are positive (so roots and logs are defined), later ones signed.
                let sign = match attempt {
                    0 | 1 => 1,
                    2 => -1,
                    _ if (r >> 40) & 1 == 1 => -1,
                    _ => 1,
                };
                (v.clone(), Value::q(BigRational::new(BigInt::from(sign * num), BigInt::from(den))))
            })
            .collect()
    }

    /// Closeness of two values computed from expressions (exact: equality; floats: tolerance).
    fn close(&self, a: &Value, b: &Value, symbolic: bool) -> bool {
        if a.is_exact() && b.is_exact() {
            return a == b;
        }
        let (rel, abs) =
            if symbolic { (1e-9, 1e-12) } else { (self.cfg.tolerance.rel_tol, self.cfg.tolerance.abs_tol) };
        match (a.approx(), b.approx()) {
            (Ok((ar, ai)), Ok((br, bi))) => {
                let scale = ar.hypot(ai).max(br.hypot(bi));
                (ar - br).abs() <= rel * scale + abs && (ai - bi).abs() <= rel * scale + abs
            }
            _ => false,
        }
    }

    fn scalar(&self, g: &Expr, p: &Expr) -> bool {
        // Percent and degree signs: `10\%` is 10 or 0.1; `45^\circ` is 45 or π/4. Never both sides stripped
        // against each other's full value (which would make 10% equal 1000%).
        let strip = |e: &Expr| -> Option<Expr> {
            match e {
                Expr::Percent(x) | Expr::Degree(x) => Some((**x).clone()),
                _ => None,
            }
        };
        if self.value_eq(g, p) {
            return true;
        }
        match (strip(g), strip(p)) {
            (Some(gs), None) => self.value_eq(&gs, p),
            (None, Some(ps)) => self.value_eq(g, &ps),
            (Some(gs), Some(ps)) => std::mem::discriminant(g) == std::mem::discriminant(p) && self.value_eq(&gs, &ps),
            (None, None) => false,
        }
    }

    fn value_eq(&self, g: &Expr, p: &Expr) -> bool {
        let mut vars = g.free_symbols();
        vars.extend(p.free_symbols());
        vars.sort();
        vars.dedup();
        if !vars.is_empty() {
            return self.symbolic_eq(g, p, &vars);
        }
        // Square-root monomials `c·√k` decide exactly: `\sqrt{117}` = `3\sqrt{13}`, `\frac{1}{\sqrt2}` = `\frac{\sqrt2}{2}`.
        // (Without a power on either side both radicands are 1 and the shortcut does not apply.)
        let has_pow = |e: &Expr| e.any(&|x| matches!(x, Expr::Pow(..)));
        if (has_pow(g) || has_pow(p))
            && written_precision(g).is_none()
            && written_precision(p).is_none()
            && let (Some((c1, k1)), Some((c2, k2))) = (sqrt_monomial(g), sqrt_monomial(p))
            && (!k1.is_one() || !k2.is_one())
        {
            return c1.signum() == c2.signum() && &c1 * &c1 * k1 == &c2 * &c2 * k2;
        }
        let env = self.env(&[]);
        let (vg, vp) = match (eval(g, &env), eval(p, &env)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(EvalError::TooLarge { log2_magnitude: Some(m) }), Ok(v))
            | (Ok(v), Err(EvalError::TooLarge { log2_magnitude: Some(m) })) => {
                // One side is astronomically large, the other was computed within budget.
                let lv = match v.as_q() {
                    Some(q) => log2_abs(q),
                    None => v.approx().map(|(r, i)| r.hypot(i).log2()).unwrap_or(f64::NAN),
                };
                if lv.is_finite() && m > lv + 16.0 {
                    return false;
                }
                if v.is_zero() {
                    return false;
                }
                self.limit("max_integer_bits");
                return false;
            }
            (Err(EvalError::TooLarge { .. }), _) | (_, Err(EvalError::TooLarge { .. })) => {
                self.limit("max_integer_bits");
                return false;
            }
            _ => return false,
        };
        self.numeric_eq(&vg, written_precision(g), &vp, written_precision(p))
    }

    fn numeric_eq(&self, g: &Value, gw: Option<(BigRational, u32)>, p: &Value, pw: Option<(BigRational, u32)>) -> bool {
        if g.is_exact() && p.is_exact() && g == p {
            return true;
        }
        let tol = &self.cfg.tolerance;
        if !(g.is_exact() && p.is_exact()) && self.close(g, p, false) {
            // Equal to float precision (`\\cos\\frac{\\pi}{3}` vs `0.5`).
            return true;
        }
        if !g.is_real() || !p.is_real() {
            return !(g.is_exact() && p.is_exact()) && self.close(g, p, false);
        }
        match (gw, pw) {
            (Some(_), Some(_)) => false,
            (Some((unit, sig)), None) if sig >= tol.gold_decimal_min_sig_digits => {
                // Gold written as a decimal: the prediction must round to it at the gold's precision.
                let half = &unit / BigRational::from_integer(BigInt::from(2));
                match (&g.re, &p.re) {
                    (Real::Q(a), Real::Q(b)) => (a - b).abs() <= half,
                    _ => match (g.re.f(), p.re.f(), half_f(&half)) {
                        (Ok(a), Ok(b), Some(h)) => (a - b).abs() <= h * (1.0 + 1e-9),
                        _ => false,
                    },
                }
            }
            (None, Some((unit, sig))) if sig >= tol.pred_decimal_min_sig_digits => {
                // A decimal prediction of a fraction or irrational: it must be the gold rounded or truncated.
                match (&g.re, &p.re) {
                    (Real::Q(a), Real::Q(b)) => *b == round_to(a, &unit) || *b == trunc_to(a, &unit),
                    _ => match (g.re.f(), p.re.f(), half_f(&unit)) {
                        (Ok(a), Ok(b), Some(u)) => (a - b).abs() < u + 4.0 * f64::EPSILON * a.abs(),
                        _ => false,
                    },
                }
            }
            (None, None) if !(g.is_exact() && p.is_exact()) => self.close(g, p, false),
            _ => false,
        }
    }

    fn symbolic_eq(&self, g: &Expr, p: &Expr, vars: &[String]) -> bool {
        let mut ok_points = 0;
        for attempt in 0..(2 * self.cfg.random_points as u64 + 2) {
            if ok_points >= self.cfg.random_points {
                break;
            }
            let vals = self.point(vars, attempt);
            let env = self.env(&vals);
            match (eval(g, &env), eval(p, &env)) {
                // A point where a negative number met a fractional power tests a branch, not the identity.
                (Ok(_), Ok(_)) if env.branch.get() => {}
                (Ok(a), Ok(b)) => {
                    if !self.close(&a, &b, true) {
                        return false;
                    }
                    ok_points += 1;
                }
                (Err(EvalError::TooLarge { .. }), _) | (_, Err(EvalError::TooLarge { .. })) => {
                    self.limit("max_integer_bits");
                    return false;
                }
                (Err(EvalError::NotScalar), _) | (_, Err(EvalError::NotScalar)) => return false,
                _ => {}
            }
        }
        ok_points > 0
    }
}

/// The matrix an expression of matrices stands for (`A + B`, `AB`, `2A`), built cell by cell; `None`
/// for a bare matrix (nothing to compute) or anything else.
fn matrix_value(e: &Expr, depth: usize) -> Option<Vec<Vec<Expr>>> {
    const MAX_CELLS: usize = 400;
    if depth > 8 {
        return None;
    }
    let as_matrix = |x: &Expr| -> Option<Vec<Vec<Expr>>> {
        match x {
            Expr::Matrix(m) => Some(m.clone()),
            _ => matrix_value(x, depth + 1),
        }
    };
    match e {
        Expr::Add(terms) => {
            let mut acc: Option<Vec<Vec<Expr>>> = None;
            for t in terms {
                let (neg, t) = match t {
                    Expr::Neg(x) => (true, &**x),
                    x => (false, x),
                };
                let mut m = as_matrix(t)?;
                if neg {
                    m = m.into_iter().map(|r| r.into_iter().map(|c| Expr::Neg(Box::new(c))).collect()).collect();
                }
                acc = Some(match acc {
                    None => m,
                    Some(a) => {
                        if a.len() != m.len() || a.iter().zip(&m).any(|(r, s)| r.len() != s.len()) {
                            return None;
                        }
                        a.into_iter()
                            .zip(m)
                            .map(|(r, s)| r.into_iter().zip(s).map(|(x, y)| Expr::Add(vec![x, y])).collect())
                            .collect()
                    }
                });
            }
            acc
        }
        Expr::Mul(factors) => {
            let mut acc: Option<Vec<Vec<Expr>>> = None;
            let mut scalars = Vec::new();
            for f in factors {
                let m = match f {
                    Expr::Matrix(m) => m.clone(),
                    other => match matrix_value(other, depth + 1) {
                        Some(m) => m,
                        None => {
                            scalars.push(other.clone());
                            continue;
                        }
                    },
                };
                acc = Some(match acc {
                    None => m,
                    Some(a) => {
                        let inner = a.first()?.len();
                        if inner != m.len() || a.len() * m.first()?.len() > MAX_CELLS {
                            return None;
                        }
                        let cols = m.first()?.len();
                        (0..a.len())
                            .map(|i| {
                                (0..cols)
                                    .map(|j| {
                                        Expr::Add(
                                            (0..inner)
                                                .map(|k| Expr::Mul(vec![a[i][k].clone(), m[k][j].clone()]))
                                                .collect(),
                                        )
                                    })
                                    .collect()
                            })
                            .collect()
                    }
                });
            }
            let m = acc?;
            if scalars.is_empty() {
                return Some(m);
            }
            Some(
                m.into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|c| {
                                let mut v = scalars.clone();
                                v.push(c);
                                Expr::Mul(v)
                            })
                            .collect()
                    })
                    .collect(),
            )
        }
        Expr::Neg(x) => {
            let m = as_matrix(x)?;
            Some(m.into_iter().map(|r| r.into_iter().map(|c| Expr::Neg(Box::new(c))).collect()).collect())
        }
        _ => None,
    }
}

/// Bits above which the exact square-root path gives way to the evaluator (which has the real budget).
const MONOMIAL_MAX_BITS: u64 = 4096;

/// Nesting and size bounds of [`plain_rational`]; anything larger takes the general path.
const PLAIN_MAX_DEPTH: usize = 8;
const PLAIN_MAX_BITS: u64 = 512;

/// [`plain_rational`], worked out in machine integers when every step fits (the common case:
/// `-\frac{74}{9}`, `2.9`), else in big integers.
fn plain_value(e: &Expr) -> Option<BigRational> {
    match plain_machine(e, 0) {
        Some((n, d)) => Some(BigRational::new_raw(BigInt::from(n), BigInt::from(d))),
        None => plain_rational(e, 0),
    }
}

/// [`plain_rational`] as a reduced `(numerator, denominator > 0)` pair of `i128`s; `None` when the
/// expression is not plain or a step would overflow (then the big-integer path decides).
fn plain_machine(e: &Expr, depth: usize) -> Option<(i128, i128)> {
    if depth > PLAIN_MAX_DEPTH {
        return None;
    }
    match e {
        Expr::Num(n) => Some((n.value.numer().to_i128()?, n.value.denom().to_i128()?)),
        Expr::Neg(a) => plain_machine(a, depth + 1).and_then(|(n, d)| Some((n.checked_neg()?, d))),
        Expr::Div(a, b) => {
            let (bn, bd) = plain_machine(b, depth + 1)?;
            if bn == 0 {
                return None;
            }
            let (an, ad) = plain_machine(a, depth + 1)?;
            reduced(an.checked_mul(bd)?, ad.checked_mul(bn)?)
        }
        Expr::Add(v) | Expr::Mul(v) if v.len() <= 4 => {
            let add = matches!(e, Expr::Add(_));
            let mut acc: Option<(i128, i128)> = None;
            for x in v {
                let (xn, xd) = plain_machine(x, depth + 1)?;
                acc = Some(match acc {
                    None => (xn, xd),
                    Some((an, ad)) if add => {
                        reduced(an.checked_mul(xd)?.checked_add(xn.checked_mul(ad)?)?, ad.checked_mul(xd)?)?
                    }
                    Some((an, ad)) => reduced(an.checked_mul(xn)?, ad.checked_mul(xd)?)?,
                });
            }
            acc
        }
        _ => None,
    }
}

/// `n / d` in lowest terms with a positive denominator; `None` if `d` is zero or a value is `i128::MIN`.
fn reduced(n: i128, d: i128) -> Option<(i128, i128)> {
    if d == 0 || n == i128::MIN || d == i128::MIN {
        return None;
    }
    // The gcd divides `|d| < 2^127`, so it fits an i128.
    let g = num_integer::gcd(n.unsigned_abs(), d.unsigned_abs()) as i128;
    let (n, d) = (n / g, d / g);
    Some(if d < 0 { (-n, -d) } else { (n, d) })
}

/// The exact value of an expression built only from numbers, negation, sums, products and
/// quotients of small size (`-\frac{72}{19}`, `3 \cdot 4 + 1`); `None` for anything else (a
/// symbol, a power, a zero divisor, numbers past [`PLAIN_MAX_BITS`]), which the general
/// comparison handles.
fn plain_rational(e: &Expr, depth: usize) -> Option<BigRational> {
    if depth > PLAIN_MAX_DEPTH {
        return None;
    }
    let small = |q: BigRational| (q.numer().bits().max(q.denom().bits()) <= PLAIN_MAX_BITS).then_some(q);
    match e {
        Expr::Num(n) => small(n.value.clone()),
        Expr::Neg(a) => plain_rational(a, depth + 1).map(|q| -q),
        Expr::Div(a, b) => {
            let d = plain_rational(b, depth + 1)?;
            if d.is_zero() {
                return None;
            }
            small(plain_rational(a, depth + 1)? / d)
        }
        Expr::Add(v) | Expr::Mul(v) if v.len() <= 4 => {
            let mut acc: Option<BigRational> = None;
            for x in v {
                let q = plain_rational(x, depth + 1)?;
                acc = Some(match (acc, matches!(e, Expr::Add(_))) {
                    (None, _) => q,
                    (Some(a), true) => small(a + q)?,
                    (Some(a), false) => small(a * q)?,
                });
            }
            acc
        }
        _ => None,
    }
}

/// `e` as `c·√k` with rationals `c` and `k ≥ 0`, when it is built from rationals, products, quotients,
/// integer powers, square roots of rationals and sums of like radicals.
fn sqrt_monomial(e: &Expr) -> Option<(BigRational, BigRational)> {
    let small = |q: &BigRational| q.numer().bits().max(q.denom().bits()) <= MONOMIAL_MAX_BITS;
    let r = match e {
        Expr::Num(n) => (n.value.clone(), BigRational::one()),
        Expr::Neg(a) => {
            let (c, k) = sqrt_monomial(a)?;
            (-c, k)
        }
        Expr::Mul(v) => {
            let mut c = BigRational::one();
            let mut k = BigRational::one();
            for x in v {
                let (cx, kx) = sqrt_monomial(x)?;
                c *= cx;
                k *= kx;
                if !small(&c) || !small(&k) {
                    return None;
                }
            }
            (c, k)
        }
        Expr::Div(a, b) => {
            let (ca, ka) = sqrt_monomial(a)?;
            let (cb, kb) = sqrt_monomial(b)?;
            if cb.is_zero() || kb.is_zero() {
                return None;
            }
            (ca / cb, ka / kb)
        }
        Expr::Add(v) => {
            let mut c = BigRational::zero();
            let mut k: Option<BigRational> = None;
            for x in v {
                let (cx, kx) = sqrt_monomial(x)?;
                if cx.is_zero() {
                    continue;
                }
                match &k {
                    Some(k0) if *k0 != kx => return None,
                    _ => k = Some(kx),
                }
                c += cx;
            }
            (c, k.unwrap_or_else(BigRational::one))
        }
        Expr::Pow(b, x) => {
            let x = plain_value(x)?;
            let (c, k) = sqrt_monomial(b)?;
            let half = BigRational::new(BigInt::one(), BigInt::from(2));
            if x == half {
                if !k.is_one() || c.is_negative() {
                    return None;
                }
                (BigRational::one(), c)
            } else if x.is_integer() {
                let n: i32 = x.to_integer().try_into().ok()?;
                if n.abs() > 64 || (n < 0 && (c.is_zero() || k.is_zero())) {
                    return None;
                }
                (num_traits::pow::Pow::pow(&c, n), num_traits::pow::Pow::pow(&k, n))
            } else {
                return None;
            }
        }
        _ => return None,
    };
    if small(&r.0) && small(&r.1) { Some(r) } else { None }
}

fn half_f(q: &BigRational) -> Option<f64> {
    Real::Q(q.clone()).f().ok()
}

/// Text answers compare case-insensitively, ignoring spaces and punctuation.
pub fn text_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// `Mul(E, v, e, …)` read back as the word it spells, for text-vs-symbols comparisons.
fn letters(e: &Expr) -> Option<String> {
    match e {
        Expr::Sym(s) => Some(s.clone()),
        Expr::Const(Constant::E) => Some("e".into()),
        Expr::Const(Constant::I) => Some("i".into()),
        Expr::Mul(v) => v.iter().map(letters).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{MathLimits, parser};

    /// Machine arithmetic gives the big-integer value wherever it answers, and leaves overflow to it.
    #[test]
    fn plain_machine_agrees_with_plain_rational() {
        let cases = [
            "-\\frac{74}{9}",
            "2.9",
            "240.06",
            "\\frac{-34}{18}",
            "3 \\cdot 4 + 1",
            "\\frac{1}{3} + \\frac{1}{6}",
            "-\\frac{0}{5}",
            "\\frac{5}{0}",
            "99999999999999999 \\cdot 99999999999999999 \\cdot 99999999999999999",
            "\\frac{170141183460469231731687303715884105727}{3}",
            "1.5e-12 + 7",
            "x + 1",
        ];
        let mut machine = 0;
        for case in cases {
            let e = parser::parse(case, &MathLimits::default()).expect(case);
            let big = plain_rational(&e, 0);
            if let Some((n, d)) = plain_machine(&e, 0) {
                machine += 1;
                assert_eq!(Some(BigRational::new_raw(n.into(), d.into())), big, "{case}");
            }
            assert_eq!(plain_value(&e), big, "{case}");
        }
        assert!(machine >= 8, "{machine} cases took the machine path");
    }
}
