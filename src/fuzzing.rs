//! Fuzz oracles: one function per cargo-fuzz target, each taking raw bytes.
//!
//! The targets in `fuzz/` are one-line wrappers around these functions, so the same oracles
//! replay the committed crashers in `fuzz/regressions/<target>/` under the normal (stable)
//! test suite. Every function panics only when a property is violated; inputs that are not
//! UTF-8 are skipped.
//!
//! `math_diff` is the structured one: its bytes drive [`arbitrary::Unstructured`] to build a
//! polynomial expression tree (see [`DiffCase`]), a second tree known equal to it by a rewrite
//! (commuting, `a+a` = `2a`, distributing, scaled fractions, other spellings) or known unequal (a
//! perturbed constant, confirmed unequal by an independent exact polynomial normaliser), and
//! checks the math verifier's verdict on the two LaTeX/plain renderings.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use serde_json::Value;
use tower::ServiceExt;

use crate::Verdict;
use crate::batch::{Engine, EngineConfig};
use crate::code::{CodeConfig, Suite, TestSpec};
use crate::extract::{ExtractConfig, extract_answer, extract_gold};
use crate::math::{MathConfig, check, equivalent, parse_answer};
use crate::reward::{Recipe, RecipeError};
use crate::sample::Sample;
use crate::server::{SandboxUnavailable, ServerLimits, ServerState};

/// One fuzz oracle: panics when a property is violated.
pub type Oracle = fn(&[u8]);

/// The fuzz targets by name, for replaying regressions.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("extract", extract),
    ("math_check", math_check),
    ("sample_line", sample_line),
    ("recipe", recipe),
    ("code_spec", code_spec),
    ("server_body", server_body),
    ("math_diff", math_diff),
];

/// One engine with the built-in recipes, shared by every oracle call (building one per input would
/// dominate the fuzzing time).
fn engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(fuzzing_config()).ok()).as_ref()
}

/// The engine set-up of the oracles: default math, and code limits cut so that one input (a seed
/// may be a real submission with dozens of tests) runs in well under libFuzzer's time-out even
/// under AddressSanitizer. The limits themselves are tested elsewhere; here they only bound time.
fn fuzzing_config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.code.limits.fuel = 500_000_000;
    config.code.limits.wall_ms = 1_000;
    config.code.limits.tests = 8;
    // A mutated C++ or Rust seed is a new program to compile: a clang run of a few seconds.
    config.code.limits.compile_ms = 5_000;
    config.code.stop_at_first_failure = true;
    config
}

/// Extraction never panics, and an extracted answer is a real span on character boundaries.
pub fn extract(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(found) = extract_answer(text, &ExtractConfig::default()) {
        assert!(found.span.end <= text.len(), "span {:?} outside a {}-byte input", found.span, text.len());
        assert!(text.is_char_boundary(found.span.start) && text.is_char_boundary(found.span.end));
        assert!(found.span.start <= found.span.end);
    }
    let _ = extract_gold(text);
}

/// `gold NUL completion`: checking never panics, and the answer read from a gold that parses
/// equals itself (the gold text itself is not re-read as a completion: golds and completions are
/// extracted by different rules on purpose, e.g. `$21,16$ or $11$` is a list as a gold and its
/// last math environment as a completion). On plain
/// arithmetic (digits, `x y z`, `+ - * / ^ ( )`, spaces: no decimals, percents or choice letters,
/// where the gold steers the rules on purpose) equality is also symmetric, and printing a parsed
/// answer and reading it back keeps its meaning.
pub fn math_check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (gold, pred) = text.split_once('\0').unwrap_or((text, text));
    let config = MathConfig::default();
    let _ = check(gold, pred, &config);
    // (A choice gold, `(D) Alina`, is judged by its letter instead.)
    if let Ok(parsed) = crate::math::parse_gold(gold, &config)
        && parsed.choice().is_none()
    {
        let itself = equivalent(&parsed.answer, &parsed.answer, &config);
        assert!(
            matches!(itself.verdict, Verdict::Correct | Verdict::LimitExceeded),
            "the answer {:?} of gold {gold:?} is not equal to itself: {itself:?}",
            parsed.answer
        );
    }
    if is_plain_arithmetic(gold) && is_plain_arithmetic(pred) {
        assert_symmetric(gold, pred, &config);
        assert_reprint_keeps_meaning(gold, &config);
    }
}

/// Whether `text` is plain arithmetic over `x`, `y`, `z`, where no comparison rule depends on which
/// side is the gold.
fn is_plain_arithmetic(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphanumeric()) && text.bytes().all(|b| b"0123456789xyz+-*/^() ".contains(&b))
}

/// `equivalent(a, b)` and `equivalent(b, a)` agree (a budget stopping one side excepted).
fn assert_symmetric(a: &str, b: &str, config: &MathConfig) {
    let ab = equivalent(a, b, config).verdict;
    let ba = equivalent(b, a, config).verdict;
    let decided = |v: Verdict| matches!(v, Verdict::Correct | Verdict::Incorrect);
    if decided(ab) && decided(ba) {
        assert_eq!(ab, ba, "equivalence is not symmetric: {a:?} vs {b:?}");
    }
}

/// An answer that parses, printed by the AST printer, reads back as an equal answer.
fn assert_reprint_keeps_meaning(text: &str, config: &MathConfig) {
    let Ok(expr) = parse_answer(text, &config.limits) else { return };
    let printed = expr.to_string();
    // Numbers past 256 bits print abbreviated (`<17720-digit integer>`) so that explanations stay
    // short; such a print is a summary, not something to read back.
    if printed.contains("-digit integer>") || printed.contains("<rational of about") {
        return;
    }
    let again = equivalent(text, &printed, config);
    assert!(
        matches!(again.verdict, Verdict::Correct | Verdict::LimitExceeded),
        "{text:?} printed as {printed:?} does not read back as equal: {again:?}"
    );
}

/// Any line gets exactly one outcome; a line that is not a sample gets an `error` outcome.
pub fn sample_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let Some(engine) = engine() else { return };
    let outcomes = engine.score_lines(&[line]);
    assert_eq!(outcomes.len(), 1, "one line, {} outcomes", outcomes.len());
    if Sample::from_line(line).is_err() {
        assert_eq!(outcomes[0].verdict, Verdict::Error);
        assert!(outcomes[0].error.is_some());
    }
    assert!(outcomes[0].reward.is_finite(), "reward {} is not finite", outcomes[0].reward);
}

/// Any recipe text gives a recipe or a clear error naming a real line; never a panic.
pub fn recipe(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Recipe::parse(Path::new("fuzz.toml"), text) {
        Ok(recipe) => assert!(!recipe.components.is_empty()),
        Err(RecipeError::Invalid { line, .. }) => {
            assert!(line >= 1 && line <= text.lines().count() + 1, "line {line} outside the file")
        }
        Err(_) => {}
    }
}

/// Any JSON as a sample's `tests` gives a spec or a typed error, never a panic; a spec holds as
/// many tests as its array, no more than its `tests` limit, and parsing is deterministic.
pub fn code_spec(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let config = CodeConfig::default();
    let first = TestSpec::parse(&value, &config);
    assert_eq!(first, TestSpec::parse(&value, &config), "parsing {value} twice disagrees");
    match first {
        Ok(spec) => {
            assert!(
                spec.len() as u64 <= spec.limits.tests,
                "{} tests over the limit {}",
                spec.len(),
                spec.limits.tests
            );
            let given = |key: &str| value.get(key).and_then(Value::as_array).map(Vec::len);
            match &spec.suite {
                Suite::Stdio(cases) => assert_eq!(Some(cases.len()), given("stdio")),
                Suite::Call { calls, expected, .. } => {
                    assert_eq!(Some(calls.len()), given("call"));
                    assert_eq!(calls.len(), expected.len());
                }
                Suite::Script { .. } => assert!(value.get("script").is_some()),
                Suite::Pytest(_) => assert!(value.get("pytest").is_some()),
            }
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
}

/// The server's endpoints, in the order the first byte of a `server_body` input picks them.
const ENDPOINTS: [&str; 3] = ["/v1/score", "/get_reward", "/run_code"];

/// The in-process router and the runtime that drives it, built once.
fn server() -> Option<&'static (tokio::runtime::Runtime, axum::Router)> {
    static SERVER: OnceLock<Option<(tokio::runtime::Runtime, axum::Router)>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let engine = engine()?.clone();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            let runner = SandboxUnavailable { reason: "fuzzing: no sandbox".into() };
            let limits =
                ServerLimits { max_body_bytes: 1 << 20, max_samples_per_request: 256, ..ServerLimits::default() };
            let state = ServerState::new(Arc::new(engine), Arc::new(runner), limits);
            Some((runtime, crate::server::router(state)))
        })
        .as_ref()
}

/// `endpoint-byte body`: any body POSTed to `/v1/score`, `/get_reward` or `/run_code` (in process,
/// no socket) is answered with a JSON body and a client-error or success status, never a 5xx
/// (the sandbox's own 503 on `/run_code` excepted: there is none while fuzzing); a 200 from
/// `/v1/score` has one result per sample and from `/get_reward` one reward per query.
pub fn server_body(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else { return };
    let Some((runtime, router)) = server() else { return };
    let endpoint = ENDPOINTS[usize::from(selector) % ENDPOINTS.len()];
    let Ok(request) = axum::http::Request::post(endpoint)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_vec()))
    else {
        return;
    };
    let (status, bytes) = runtime.block_on(async {
        let response = router.clone().oneshot(request).await.unwrap_or_else(|never| match never {});
        let status = response.status();
        (status, axum::body::to_bytes(response.into_body(), usize::MAX).await)
    });
    let bytes = bytes.unwrap_or_else(|e| panic!("{endpoint}: unreadable response body: {e}"));
    let reply: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{endpoint} answered {status} with a body that is not JSON ({e})"));
    let sandbox_503 = endpoint == "/run_code" && status.as_u16() == 503;
    assert!(status.is_success() || status.is_client_error() || sandbox_503, "{endpoint} answered {status}: {reply}");
    if status.is_success() {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let (asked, answered) = match endpoint {
            "/v1/score" => {
                let samples = request.get("samples").or(Some(&request)).and_then(Value::as_array).map(Vec::len);
                (samples, reply.get("results").and_then(Value::as_array).map(Vec::len))
            }
            "/get_reward" => (
                request.get("query").and_then(Value::as_array).map(Vec::len),
                reply.get("rewards").and_then(Value::as_array).map(Vec::len),
            ),
            _ => (None, None),
        };
        if let Some(asked) = asked {
            assert_eq!(Some(asked), answered, "{endpoint}: {asked} asked, reply {reply}");
        }
    }
}

/// A polynomial over `x`, `y`, `z` with small rational constants: the trees `math_diff` renders.
#[derive(Debug, Clone, PartialEq)]
pub enum PolyExpr {
    /// A non-negative integer.
    Int(u32),
    /// A fraction `p/q`, `q ≥ 1`.
    Frac(u32, u32),
    /// `x`, `y` or `z`.
    Var(u8),
    /// `a + b`.
    Add(Box<PolyExpr>, Box<PolyExpr>),
    /// `a - b`.
    Sub(Box<PolyExpr>, Box<PolyExpr>),
    /// `a · b`.
    Mul(Box<PolyExpr>, Box<PolyExpr>),
    /// `-a`.
    Neg(Box<PolyExpr>),
    /// `a^n`, `1 ≤ n ≤ 3`.
    Pow(Box<PolyExpr>, u8),
    /// `a / k`, `k ≥ 1`.
    DivInt(Box<PolyExpr>, u32),
}

const VARS: [&str; 3] = ["x", "y", "z"];

impl PolyExpr {
    fn generate(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<PolyExpr> {
        let boxed = |u: &mut Unstructured<'_>| PolyExpr::generate(u, depth - 1).map(Box::new);
        let pick: u8 = if depth == 0 || u.is_empty() { u.int_in_range(0..=2)? } else { u.int_in_range(0..=8)? };
        Ok(match pick {
            0 => PolyExpr::Int(u.int_in_range(0..=1200)?),
            1 => PolyExpr::Frac(u.int_in_range(0..=40)?, u.int_in_range(1..=40)?),
            2 => PolyExpr::Var(u.int_in_range(0..=2)?),
            3 => PolyExpr::Add(boxed(u)?, boxed(u)?),
            4 => PolyExpr::Sub(boxed(u)?, boxed(u)?),
            5 => PolyExpr::Mul(boxed(u)?, boxed(u)?),
            6 => PolyExpr::Neg(boxed(u)?),
            7 => PolyExpr::Pow(boxed(u)?, u.int_in_range(1..=3)?),
            _ => PolyExpr::DivInt(boxed(u)?, u.int_in_range(1..=12)?),
        })
    }

    fn children_mut(&mut self) -> Vec<&mut PolyExpr> {
        match self {
            PolyExpr::Int(_) | PolyExpr::Frac(..) | PolyExpr::Var(_) => Vec::new(),
            PolyExpr::Add(a, b) | PolyExpr::Sub(a, b) | PolyExpr::Mul(a, b) => vec![a.as_mut(), b.as_mut()],
            PolyExpr::Neg(a) | PolyExpr::Pow(a, _) | PolyExpr::DivInt(a, _) => vec![a.as_mut()],
        }
    }

    fn size(&self) -> usize {
        match self {
            PolyExpr::Int(_) | PolyExpr::Frac(..) | PolyExpr::Var(_) => 1,
            PolyExpr::Add(a, b) | PolyExpr::Sub(a, b) | PolyExpr::Mul(a, b) => 1 + a.size() + b.size(),
            PolyExpr::Neg(a) | PolyExpr::Pow(a, _) | PolyExpr::DivInt(a, _) => 1 + a.size(),
        }
    }

    /// The `index`-th node in pre-order (wrapping), mutably.
    fn node_mut(&mut self, index: usize) -> &mut PolyExpr {
        fn walk<'t>(node: &'t mut PolyExpr, index: &mut usize) -> Option<&'t mut PolyExpr> {
            if *index == 0 {
                return Some(node);
            }
            *index -= 1;
            node.children_mut().into_iter().find_map(|child| walk(child, index))
        }
        let mut index = index % self.size();
        // The index is below the size, so the walk always ends on a node.
        match walk(self, &mut index) {
            Some(node) => node,
            None => unreachable!("pre-order index below the tree size"),
        }
    }

    /// The exact polynomial, or `None` when it grows past `MAX_TERMS` terms or degree `MAX_DEGREE`.
    fn polynomial(&self) -> Option<Polynomial> {
        const MAX_TERMS: usize = 400;
        const MAX_DEGREE: u32 = 24;
        let int = |n: u32| BigRational::from_integer(BigInt::from(n));
        let p = match self {
            PolyExpr::Int(n) => Polynomial::constant(int(*n)),
            PolyExpr::Frac(p, q) => Polynomial::constant(BigRational::new(BigInt::from(*p), BigInt::from(*q))),
            PolyExpr::Var(v) => {
                let mut exponents = [0; 3];
                exponents[usize::from(*v % 3)] = 1;
                Polynomial(BTreeMap::from([(exponents, BigRational::one())]))
            }
            PolyExpr::Add(a, b) => a.polynomial()?.add(&b.polynomial()?),
            PolyExpr::Sub(a, b) => a.polynomial()?.add(&b.polynomial()?.scale(&-BigRational::one())),
            PolyExpr::Mul(a, b) => a.polynomial()?.mul(&b.polynomial()?),
            PolyExpr::Neg(a) => a.polynomial()?.scale(&-BigRational::one()),
            PolyExpr::Pow(a, n) => {
                let base = a.polynomial()?;
                let mut out = Polynomial::constant(BigRational::one());
                for _ in 0..*n {
                    out = out.mul(&base);
                    if out.0.len() > MAX_TERMS {
                        return None;
                    }
                }
                out
            }
            PolyExpr::DivInt(a, k) => a.polynomial()?.scale(&BigRational::new(BigInt::one(), BigInt::from(*k))),
        };
        let too_big = p.0.len() > MAX_TERMS || p.0.keys().any(|e| e.iter().sum::<u32>() > MAX_DEGREE);
        (!too_big).then_some(p)
    }

    /// Renders the tree in `style`; every compound operand is parenthesised, so precedence never
    /// depends on the parser's reading of a spelling.
    fn render(&self, style: &Spelling) -> String {
        let operand = |e: &PolyExpr| match e {
            PolyExpr::Int(_) | PolyExpr::Var(_) => e.render(style),
            PolyExpr::Frac(..) if style.latex_fracs => e.render(style),
            _ => format!("{}{}{}", style.open(), e.render(style), style.close()),
        };
        match self {
            PolyExpr::Int(n) if style.thousands && *n >= 1000 => format!("{}{{,}}{:03}", n / 1000, n % 1000),
            PolyExpr::Int(n) => n.to_string(),
            PolyExpr::Frac(p, q) if style.latex_fracs => format!("{}{{{p}}}{{{q}}}", style.frac_command()),
            PolyExpr::Frac(p, q) => format!("{p}/{q}"),
            PolyExpr::Var(v) => VARS[usize::from(*v % 3)].to_string(),
            PolyExpr::Add(a, b) => format!("{} + {}", add_operand(a, style), add_operand(b, style)),
            PolyExpr::Sub(a, b) => format!("{} - {}", add_operand(a, style), operand(b)),
            PolyExpr::Mul(a, b) => match (a.as_ref(), b.as_ref()) {
                (PolyExpr::Int(n), PolyExpr::Var(_)) if style.implicit && (*n < 1000 || !style.thousands) => {
                    format!("{n}{}", b.render(style))
                }
                _ => format!("{} {} {}", operand(a), style.times(), operand(b)),
            },
            PolyExpr::Neg(a) => format!("-{}", operand(a)),
            PolyExpr::Pow(a, n) => match a.as_ref() {
                PolyExpr::Var(_) | PolyExpr::Int(0..1000) => format!("{}^{{{n}}}", a.render(style)),
                _ => format!("{}{}{}^{{{n}}}", style.open(), a.render(style), style.close()),
            },
            PolyExpr::DivInt(a, k) if style.latex_fracs => {
                format!("{}{{{}}}{{{k}}}", style.frac_command(), a.render(style))
            }
            PolyExpr::DivInt(a, k) => format!("{} / {k}", operand(a)),
        }
    }
}

/// An operand of `+` or the left of `-`: only a negation or a plain-text fraction needs parentheses.
fn add_operand(e: &PolyExpr, style: &Spelling) -> String {
    let wrap = match e {
        PolyExpr::Neg(_) => true,
        PolyExpr::Frac(..) | PolyExpr::DivInt(..) => !style.latex_fracs,
        _ => false,
    };
    if wrap { format!("{}{}{}", style.open(), e.render(style), style.close()) } else { e.render(style) }
}

/// A polynomial as exponents of `(x, y, z)` → non-zero coefficient.
#[derive(Debug, Clone, PartialEq)]
struct Polynomial(BTreeMap<[u32; 3], BigRational>);

impl Polynomial {
    fn constant(c: BigRational) -> Polynomial {
        let mut terms = BTreeMap::new();
        if !c.is_zero() {
            terms.insert([0; 3], c);
        }
        Polynomial(terms)
    }

    fn add(&self, other: &Polynomial) -> Polynomial {
        let mut terms = self.0.clone();
        for (e, c) in &other.0 {
            let sum = terms.get(e).cloned().unwrap_or_else(BigRational::zero) + c;
            if sum.is_zero() {
                terms.remove(e);
            } else {
                terms.insert(*e, sum);
            }
        }
        Polynomial(terms)
    }

    fn scale(&self, k: &BigRational) -> Polynomial {
        Polynomial(self.0.iter().map(|(e, c)| (*e, c * k)).filter(|(_, c)| !c.is_zero()).collect())
    }

    fn mul(&self, other: &Polynomial) -> Polynomial {
        let mut out = Polynomial(BTreeMap::new());
        for (ea, ca) in &self.0 {
            for (eb, cb) in &other.0 {
                let e = [ea[0] + eb[0], ea[1] + eb[1], ea[2] + eb[2]];
                out = out.add(&Polynomial(BTreeMap::from([(e, ca * cb)])));
            }
        }
        out
    }
}

/// How one side of a `math_diff` pair is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spelling {
    /// `\frac{a}{b}` (else `a/b`).
    pub latex_fracs: bool,
    /// Which of `\frac`, `\dfrac`, `\tfrac`.
    pub frac_kind: u8,
    /// Which of `\cdot`, `\times`, `*`.
    pub times_kind: u8,
    /// `2x` for a number times a variable.
    pub implicit: bool,
    /// `1{,}000` for integers from 1000.
    pub thousands: bool,
    /// `\left( … \right)` (else `( … )`).
    pub left_right: bool,
}

impl<'a> Arbitrary<'a> for Spelling {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Spelling {
            latex_fracs: bool::arbitrary(u)?,
            frac_kind: u8::arbitrary(u)?,
            times_kind: u8::arbitrary(u)?,
            implicit: bool::arbitrary(u)?,
            thousands: bool::arbitrary(u)?,
            left_right: bool::arbitrary(u)?,
        })
    }
}

impl Spelling {
    fn frac_command(&self) -> &'static str {
        ["\\frac", "\\dfrac", "\\tfrac"][usize::from(self.frac_kind % 3)]
    }

    fn times(&self) -> &'static str {
        ["\\cdot", "\\times", "*"][usize::from(self.times_kind % 3)]
    }

    fn open(&self) -> &'static str {
        if self.left_right { "\\left(" } else { "(" }
    }

    fn close(&self) -> &'static str {
        if self.left_right { "\\right)" } else { ")" }
    }
}

/// A rewrite that keeps a polynomial's value, applied at one node of one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// `a + b` → `b + a`, `a · b` → `b · a`.
    Commute,
    /// `a · (b + c)` → `a·b + a·c`.
    Distribute,
    /// `p/q` → `(kp)/(kq)`, `n` → `(kn)/k`.
    Scale(u8),
    /// `a - b` → `a + (-b)`.
    SubAsAddNeg,
    /// `a / k` → `(1/k) · a`.
    DivAsMul,
    /// `a^2` → `a · a`, `a^3` → `a · a^2`.
    PowAsMul,
}

/// One generated pair: the trees, their spellings, and whether they are equal by construction.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffCase {
    /// The gold side.
    pub gold: PolyExpr,
    /// The prediction side.
    pub pred: PolyExpr,
    /// Whether the two are equal by construction.
    pub equal: bool,
    /// The gold's spelling.
    pub gold_spelling: Spelling,
    /// The prediction's spelling.
    pub pred_spelling: Spelling,
}

impl<'a> Arbitrary<'a> for Rewrite {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let pick: u8 = u.int_in_range(0..=5)?;
        Ok(match pick {
            0 => Rewrite::Commute,
            1 => Rewrite::Distribute,
            2 => Rewrite::Scale(u8::arbitrary(u)?),
            3 => Rewrite::SubAsAddNeg,
            4 => Rewrite::DivAsMul,
            _ => Rewrite::PowAsMul,
        })
    }
}

impl Rewrite {
    /// Applies the rewrite to `node` in place; returns whether it applied.
    fn apply(self, node: &mut PolyExpr) -> bool {
        let taken = std::mem::replace(node, PolyExpr::Int(0));
        let (result, applied) = match taken {
            PolyExpr::Add(a, b) if self == Rewrite::Commute => (PolyExpr::Add(b, a), true),
            PolyExpr::Mul(a, b) if self == Rewrite::Commute => (PolyExpr::Mul(b, a), true),
            PolyExpr::Mul(a, bc) if self == Rewrite::Distribute && matches!(*bc, PolyExpr::Add(..)) => match *bc {
                PolyExpr::Add(b, c) => {
                    (PolyExpr::Add(Box::new(PolyExpr::Mul(a.clone(), b)), Box::new(PolyExpr::Mul(a, c))), true)
                }
                other => (PolyExpr::Mul(a, Box::new(other)), false),
            },
            PolyExpr::Frac(p, q) if matches!(self, Rewrite::Scale(_)) => {
                let k = self.scale_factor();
                (PolyExpr::Frac(p * k, q * k), true)
            }
            PolyExpr::Int(n) if matches!(self, Rewrite::Scale(_)) => {
                let k = self.scale_factor();
                (PolyExpr::Frac(n * k, k), true)
            }
            PolyExpr::Sub(a, b) if self == Rewrite::SubAsAddNeg => (PolyExpr::Add(a, Box::new(PolyExpr::Neg(b))), true),
            PolyExpr::DivInt(a, k) if self == Rewrite::DivAsMul => {
                (PolyExpr::Mul(Box::new(PolyExpr::Frac(1, k)), a), true)
            }
            PolyExpr::Pow(a, n) if self == Rewrite::PowAsMul && n >= 2 => {
                let rest = if n == 2 { a.clone() } else { Box::new(PolyExpr::Pow(a.clone(), n - 1)) };
                (PolyExpr::Mul(a, rest), true)
            }
            other => (other, false),
        };
        *node = result;
        applied
    }

    fn scale_factor(self) -> u32 {
        match self {
            Rewrite::Scale(k) => u32::from(k % 9) + 2,
            _ => 1,
        }
    }
}

impl<'a> Arbitrary<'a> for DiffCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut gold = PolyExpr::generate(u, 4)?;
        let mut pred = gold.clone();
        let equal = bool::arbitrary(u)?;
        if equal {
            if bool::arbitrary(u)? {
                // `2 · a` on the gold, `a + a` on the prediction, at the same node of the same tree.
                let at = usize::arbitrary(u)?;
                let a = gold.node_mut(at).clone();
                *gold.node_mut(at) = PolyExpr::Mul(Box::new(PolyExpr::Int(2)), Box::new(a.clone()));
                *pred.node_mut(at) = PolyExpr::Add(Box::new(a.clone()), Box::new(a));
            }
            let rewrites: u8 = u.int_in_range(1..=4)?;
            for _ in 0..rewrites {
                let rewrite = Rewrite::arbitrary(u)?;
                let at = usize::arbitrary(u)?;
                rewrite.apply(pred.node_mut(at));
            }
        } else {
            let at = usize::arbitrary(u)?;
            let delta: u32 = u.int_in_range(1..=5)?;
            let node = pred.node_mut(at);
            *node = match std::mem::replace(node, PolyExpr::Int(0)) {
                PolyExpr::Int(n) => PolyExpr::Int(n + delta),
                PolyExpr::Frac(p, q) => PolyExpr::Frac(p + delta, q),
                other => PolyExpr::Add(Box::new(other), Box::new(PolyExpr::Int(delta))),
            };
        }
        Ok(DiffCase {
            gold,
            pred,
            equal,
            gold_spelling: Spelling::arbitrary(u)?,
            pred_spelling: Spelling::arbitrary(u)?,
        })
    }
}

/// Structured differential oracle: a generated pair known equal must be `correct`, a pair known
/// unequal (confirmed by exact polynomial normal forms) must be `incorrect`, both ways round, and
/// the gold's printed AST reads back as equal. A budget stop (`limit_exceeded`) is allowed.
pub fn math_diff(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(case) = DiffCase::arbitrary(&mut u) else { return };
    let (Some(gold_poly), Some(pred_poly)) = (case.gold.polynomial(), case.pred.polynomial()) else { return };
    assert!(!case.equal || gold_poly == pred_poly, "generator bug: rewrite changed the value: {case:?}");
    let equal = gold_poly == pred_poly;
    let gold = case.gold.render(&case.gold_spelling);
    let pred = case.pred.render(&case.pred_spelling);
    let config = MathConfig::default();
    let expected = if equal { Verdict::Correct } else { Verdict::Incorrect };
    for (a, b) in [(&gold, &pred), (&pred, &gold)] {
        let got = equivalent(a, b, &config);
        assert!(
            got.verdict == expected || got.verdict == Verdict::LimitExceeded,
            "gold {a:?} vs prediction {b:?}: expected {expected:?} ({}), got {got:?}",
            if case.equal { "equal by construction" } else { "unequal: a perturbed constant" }
        );
    }
    assert_reprint_keeps_meaning(&gold, &config);
}

#[cfg(test)]
mod tests {
    use super::TARGETS;

    /// Replays every committed input under `fuzz/regressions/<target>/` through its oracle, and runs
    /// every oracle over the bundled sample batch's lines, completions and gold/completion pairs.
    #[test]
    fn regressions_and_samples_satisfy_every_oracle() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut replayed = 0;
        for (name, oracle) in TARGETS {
            let dir = root.join("fuzz/regressions").join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).expect("regression input is readable");
                oracle(&data);
                replayed += 1;
            }
        }
        let samples = std::fs::read_to_string(root.join("testdata/samples.jsonl")).expect("sample batch is readable");
        let mut checked = 0;
        for line in samples.lines() {
            super::sample_line(line.as_bytes());
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line) {
                let completion = map.get("completion").and_then(|v| v.as_str()).unwrap_or_default();
                super::extract(completion.as_bytes());
                if let Some(gold) = map.get("answer").and_then(|v| v.as_str()) {
                    super::math_check(format!("{gold}\0{completion}").as_bytes());
                }
            }
            checked += 1;
        }
        for recipe in std::fs::read_dir(root.join("verifiers")).expect("verifiers/ exists").flatten() {
            if recipe.path().extension().is_some_and(|x| x == "toml") {
                super::recipe(&std::fs::read(recipe.path()).expect("recipe is readable"));
                checked += 1;
            }
        }
        assert!(checked >= 16, "only {checked} inputs checked ({replayed} regressions replayed)");
    }
}
