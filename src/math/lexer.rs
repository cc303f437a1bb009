//! Tokenizer for LaTeX and plain-text answers.
//!
//! One pass over the bytes, no regexes, no recursion: spacing commands (`\,`, `\!`, `\left`, `\quad`, …)
//! vanish here, synonyms collapse (`\dfrac`/`\tfrac`/`\cfrac` → `frac`, `\le`/`≤` → `Le`), and number
//! literals are read whole, with thousands separators (`7,425,000`, `9{,}500`, `1\,000`, `1 000`) and
//! repeating decimals (`0.\overline{3}`) resolved, so the parser never sees those ambiguities.

use super::MathError;

/// A number literal as written: integer digits, fraction digits, repeating fraction digits.
#[derive(Debug, Clone, PartialEq)]
pub struct NumLit {
    /// Digits before the decimal point (may be empty for `.5`).
    pub int: String,
    /// Digits after the decimal point; `None` when no point was written.
    pub frac: Option<String>,
    /// Repeating digits (`0.1\overline{6}` has frac `1`, rep `6`).
    pub rep: String,
    /// Decimal exponent of scientific notation (`1.5e3` has 3).
    pub exp: i32,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelOp {
    /// `=`
    Eq,
    /// `\approx`
    Approx,
    /// `\ne`
    Ne,
    /// `<`
    Lt,
    /// `\le`
    Le,
    /// `>`
    Gt,
    /// `\ge`
    Ge,
    /// `\in`
    In,
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A number literal.
    Num(NumLit),
    /// A single letter (variables are one letter in LaTeX; `ab` is `a·b`).
    Letter(char),
    /// A run of two or more letters that is not a known word (units, names, English).
    Word(String),
    /// A Greek letter or other named symbol (`\alpha` → `alpha`).
    Name(String),
    /// A function name (`sin`, `log`, `ln`, …).
    Func(String),
    /// A structural command (`frac`, `sqrt`, `binom`, `overline`).
    Cmd(String),
    /// The contents of `\text{…}` and friends.
    Text(String),
    /// `\pi`
    Pi,
    /// `\infty`
    Infty,
    /// `\emptyset`
    Empty,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBrack,
    /// `]`
    RBrack,
    /// `\{`
    LSet,
    /// `\}`
    RSet,
    /// `|`
    Pipe,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `\pm`
    PlusMinus,
    /// `\mp`
    MinusPlus,
    /// `*`, `\cdot`, `\times`
    Times,
    /// `/`, `\div`
    Slash,
    /// `^`
    Caret,
    /// `_`
    Under,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `!`
    Bang,
    /// `%`, `\%`
    Percent,
    /// `\circ`, `°`
    Degree,
    /// `'`
    Prime,
    /// A comparison.
    Rel(RelOp),
    /// `\cup`
    Cup,
    /// `\setminus` (set difference)
    SetMinus,
    /// `&`
    Amp,
    /// `\\`
    RowSep,
    /// `\begin{env}`
    Begin(String),
    /// `\end{env}`
    End(String),
    /// `\dots` and friends.
    Dots,
    /// A lone `.` that is not part of a number.
    Dot,
    /// The words `and` / `or` between answers.
    AndOr,
    /// A bracketed group already parsed (by the parser's inside-out pass over deep nesting).
    Parsed(Box<super::parser::ParsedGroup>),
}

const FUNCS: &[&str] = &[
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "arcsec", "arccsc", "sinh",
    "cosh", "tanh", "coth", "ln", "log", "lg", "exp",
];

/// Two-letter words kept whole because they are units (`10 cm`); other short words are products.
pub const SHORT_UNITS: &[&str] = &[
    "cm", "mm", "km", "kg", "mg", "ml", "lb", "oz", "ft", "yd", "mi", "hr", "am", "pm", "ms", "kw", "mw", "hz", "kb",
    "mb", "gb", "tb", "dm", "st", "nd", "rd", "th", "sq", "rs",
];

const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "varrho",
    "sigma",
    "varsigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
    "ell",
];

/// Commands that only change spacing or size and are dropped.
const IGNORED: &[&str] = &[
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "quad",
    "qquad",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "limits",
    "nolimits",
    "hline",
    "boxed",
    "fbox",
    "middle",
    "mathpunct",
    "mathord",
    "nonumber",
    "notag",
    "relax",
    "hfill",
    "enspace",
    "thinspace",
    "negthinspace",
    "medspace",
    "thickspace",
    "small",
    "large",
    "Large",
    "tiny",
    "normalsize",
    "phantom",
    "cr",
];

/// Commands whose braced argument is read as text.
const TEXT_CMDS: &[&str] = &[
    "text",
    "textbf",
    "textit",
    "textrm",
    "textnormal",
    "textsf",
    "texttt",
    "mbox",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "boldsymbol",
    "bm",
    "mathbb",
    "mathcal",
    "operatorname",
    "emph",
    "textup",
    "hbox",
];

fn err(text: &str, reason: impl Into<String>) -> MathError {
    MathError::Parse { text: text.to_string(), reason: reason.into() }
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    out: Vec<Tok>,
    /// Open `(`, `[`, `\{` minus closed ones: inside them a plain `,` separates items.
    brackets: i64,
}

/// Splits an answer into tokens.
pub fn tokenize(src: &str) -> Result<Vec<Tok>, MathError> {
    let mut lx = Lexer { src, b: src.as_bytes(), i: 0, out: Vec::with_capacity(src.len() / 2 + 4), brackets: 0 };
    lx.run()?;
    Ok(lx.out)
}

impl Lexer<'_> {
    fn push(&mut self, t: Tok) {
        match t {
            Tok::LParen | Tok::LBrack | Tok::LSet => self.brackets += 1,
            Tok::RParen | Tok::RBrack | Tok::RSet => self.brackets -= 1,
            _ => {}
        }
        self.out.push(t);
    }

    fn peek(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn run(&mut self) -> Result<(), MathError> {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'$' | b'~' => self.i += 1,
                b'0'..=b'9' => self.number()?,
                b'.' if self.peek(1).is_ascii_digit() => self.number()?,
                b'.' => {
                    self.i += 1;
                    self.push(Tok::Dot);
                }
                b'a'..=b'z' | b'A'..=b'Z' => self.word(),
                b'\\' => self.command()?,
                b'{' => self.simple(Tok::LBrace),
                b'}' => self.simple(Tok::RBrace),
                b'(' => self.simple(Tok::LParen),
                b')' => self.simple(Tok::RParen),
                b'[' => self.simple(Tok::LBrack),
                b']' => self.simple(Tok::RBrack),
                b'|' => self.simple(Tok::Pipe),
                b'+' => self.simple(Tok::Plus),
                b'-' => self.simple(Tok::Minus),
                b'*' => {
                    // `**73**` markdown bold and `2**3` powers.
                    if self.peek(1) == b'*' {
                        self.i += 2;
                        if matches!(self.out.last(), Some(Tok::Num(_) | Tok::Letter(_) | Tok::RParen | Tok::RBrace))
                            && (self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'(')
                        {
                            self.push(Tok::Caret);
                        }
                    } else {
                        self.simple(Tok::Times)
                    }
                }
                b'/' => self.simple(Tok::Slash),
                b'^' => self.simple(Tok::Caret),
                b'_' => self.simple(Tok::Under),
                b',' => self.simple(Tok::Comma),
                b';' => self.simple(Tok::Semi),
                b':' => self.simple(Tok::Colon),
                b'!' => {
                    if self.peek(1) == b'=' {
                        self.i += 2;
                        self.push(Tok::Rel(RelOp::Ne));
                    } else {
                        self.simple(Tok::Bang)
                    }
                }
                b'%' => self.simple(Tok::Percent),
                b'\'' => self.simple(Tok::Prime),
                b'&' => self.simple(Tok::Amp),
                b'=' => {
                    self.i += if self.peek(1) == b'=' { 2 } else { 1 };
                    self.push(Tok::Rel(RelOp::Eq));
                }
                b'<' => {
                    if self.peek(1) == b'=' {
                        self.i += 2;
                        self.push(Tok::Rel(RelOp::Le));
                    } else {
                        self.simple(Tok::Rel(RelOp::Lt))
                    }
                }
                b'>' => {
                    if self.peek(1) == b'=' {
                        self.i += 2;
                        self.push(Tok::Rel(RelOp::Ge));
                    } else {
                        self.simple(Tok::Rel(RelOp::Gt))
                    }
                }
                b'"' | b'`' | b'#' => self.i += 1,
                // Control characters (a stray NUL, a form feed) are whitespace.
                0..=0x1f | 0x7f => self.i += 1,
                _ if c >= 0x80 => self.unicode()?,
                _ => return Err(err(self.src, format!("unexpected character `{}` at byte {}", c as char, self.i))),
            }
        }
        Ok(())
    }

    fn simple(&mut self, t: Tok) {
        self.i += 1;
        self.push(t);
    }

    fn unicode(&mut self) -> Result<(), MathError> {
        let rest = &self.src[self.i..];
        let Some(ch) = rest.chars().next() else { return Ok(()) };
        self.i += ch.len_utf8();
        let tok = match ch {
            'π' => Tok::Pi,
            '∞' => Tok::Infty,
            '√' => Tok::Cmd("sqrt".into()),
            '≤' | '⩽' => Tok::Rel(RelOp::Le),
            '≥' | '⩾' => Tok::Rel(RelOp::Ge),
            '≠' => Tok::Rel(RelOp::Ne),
            '≈' => Tok::Rel(RelOp::Approx),
            '∈' => Tok::Rel(RelOp::In),
            '−' | '–' => Tok::Minus,
            '×' | '·' | '⋅' => Tok::Times,
            '÷' => Tok::Slash,
            '±' => Tok::PlusMinus,
            '°' => Tok::Degree,
            '∪' => Tok::Cup,
            '∅' => Tok::Empty,
            '²' | '³' => {
                self.push(Tok::Caret);
                let d = if ch == '²' { "2" } else { "3" };
                Tok::Num(NumLit { int: d.into(), frac: None, rep: String::new(), exp: 0 })
            }
            '€' | '£' | '¥' => return Ok(()),
            // Emoji, CJK punctuation, exotic spaces: noise around an answer, never part of it.
            c if !c.is_alphanumeric() => return Ok(()),
            c if c.is_alphabetic() => {
                let mut w = String::from(c);
                while let Some(n) = self.src[self.i..].chars().next() {
                    if !n.is_alphabetic() || n.is_ascii() {
                        break;
                    }
                    w.push(n);
                    self.i += n.len_utf8();
                }
                Tok::Word(w)
            }
            c => return Err(err(self.src, format!("unexpected character `{c}`"))),
        };
        self.push(tok);
        Ok(())
    }

    fn digits(&mut self) -> String {
        let start = self.i;
        while self.peek(0).is_ascii_digit() {
            self.i += 1;
        }
        self.src[start..self.i].to_string()
    }

    /// Length of a thousands separator at the cursor followed by exactly three digits, if any.
    fn thousands_sep(&self, in_brackets: bool) -> Option<usize> {
        let rest = &self.b[self.i..];
        let seps: [&[u8]; 6] = [b"{,}", b",\\!", b"\\,", b",", b"\\ ", b" "];
        for sep in seps {
            if in_brackets && (sep == b"," || sep == b" ") {
                // `(12,102)` is a pair, not twelve thousand.
                continue;
            }
            if rest.starts_with(sep) {
                let mut k = sep.len();
                if sep == b",\\!" && rest.get(k) == Some(&b' ') {
                    k += 1;
                }
                let d = &rest[k..];
                if d.len() >= 3
                    && d[..3].iter().all(u8::is_ascii_digit)
                    && !d.get(3).is_some_and(|c| c.is_ascii_digit() || *c == b'.' && sep == b" ")
                {
                    // A plain space only separates thousands inside a number: `1 000`, not `2 3`.
                    return Some(k);
                }
            }
        }
        None
    }

    fn number(&mut self) -> Result<(), MathError> {
        let mut int = self.digits();
        if int.len() <= 3 && !int.is_empty() && int != "0" {
            let mut grouped = String::new();
            let save = self.i;
            let mut groups = 0;
            let in_brackets = self.brackets > 0;
            while let Some(k) = self.thousands_sep(in_brackets) {
                self.i += k;
                grouped.push_str(&self.src[self.i..self.i + 3]);
                self.i += 3;
                groups += 1;
            }
            if groups > 0 {
                int.push_str(&grouped);
            } else {
                self.i = save;
            }
        }
        let mut frac = None;
        let mut rep = String::new();
        if self.peek(0) == b'.' && (self.peek(1).is_ascii_digit() || self.b[self.i + 1..].starts_with(b"\\overline")) {
            self.i += 1;
            frac = Some(self.digits());
            if self.b[self.i..].starts_with(b"\\overline{") {
                let save = self.i;
                self.i += "\\overline{".len();
                let r = self.digits();
                if self.peek(0) == b'}' && !r.is_empty() {
                    self.i += 1;
                    rep = r;
                } else {
                    self.i = save;
                }
            }
        } else if self.peek(0) == b'.' && !self.peek(1).is_ascii_alphanumeric() && self.peek(1) != b'\\' {
            // `5.` at the end of a sentence: the point is punctuation.
            self.i += 1;
        }
        // Scientific notation `1e-3`, `2.5E+4`: only when digits follow, so `2e` stays 2·e.
        let mut exp = 0i32;
        if matches!(self.peek(0), b'e' | b'E') && rep.is_empty() {
            let (sign, k) = match self.peek(1) {
                b'-' => (-1, 2),
                b'+' => (1, 2),
                _ => (1, 1),
            };
            if self.peek(k).is_ascii_digit() {
                let save = self.i;
                self.i += k;
                let d = self.digits();
                match d.parse::<i32>() {
                    Ok(v) if v <= 10_000 => exp = sign * v,
                    _ => self.i = save,
                }
            }
        }
        self.push(Tok::Num(NumLit { int, frac, rep, exp }));
        Ok(())
    }

    fn word(&mut self) {
        let start = self.i;
        while self.peek(0).is_ascii_alphabetic() {
            self.i += 1;
        }
        let w = &self.src[start..self.i];
        let glued = start > 0 && self.b[start - 1].is_ascii_digit();
        if glued && w.len() <= 3 && !matches!(w, "pi" | "and" | "or") {
            // `10cm` is `10·c·m`, not a unit: units are written apart (`10 cm`) or spelled out (`10weeks`).
            for c in w.chars() {
                self.push(Tok::Letter(c));
            }
            return;
        }
        if w.len() == 1 {
            self.push(Tok::Letter(w.as_bytes()[0] as char));
            return;
        }
        let tok = match w {
            "and" | "or" => Tok::AndOr,
            "pi" => Tok::Pi,
            "inf" | "infty" | "infinity" | "oo" => Tok::Infty,
            "sqrt" => Tok::Cmd("sqrt".into()),
            "frac" | "dfrac" | "tfrac" => Tok::Cmd("frac".into()),
            _ if FUNCS.contains(&w) => Tok::Func(w.to_string()),
            _ if w.len() >= 3 || SHORT_UNITS.contains(&w) => Tok::Word(w.to_string()),
            _ => {
                // `xy`, `ab`: a product of one-letter variables.
                for c in w.chars() {
                    self.push(Tok::Letter(c));
                }
                return;
            }
        };
        self.push(tok);
    }

    /// Reads a `{…}` argument verbatim (balanced braces), returning its contents.
    fn braced_raw(&mut self) -> Option<String> {
        while self.peek(0) == b' ' {
            self.i += 1;
        }
        if self.peek(0) != b'{' {
            return None;
        }
        let start = self.i + 1;
        let mut depth = 0usize;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let s = self.src[start..self.i].to_string();
                        self.i += 1;
                        return Some(s);
                    }
                }
                b'\\' => self.i += 1,
                _ => {}
            }
            self.i += 1;
        }
        None
    }

    /// Lexes a command whose name is only the first `len` letters of the letters that follow.
    fn command_prefix(&mut self, len: usize) -> Result<(), MathError> {
        let end = self.i + 1 + len;
        let mut sub = Lexer { src: &self.src[..end], b: &self.b[..end], i: self.i, out: Vec::new(), brackets: 0 };
        sub.command()?;
        self.out.append(&mut sub.out);
        self.i = end;
        Ok(())
    }

    fn command(&mut self) -> Result<(), MathError> {
        self.i += 1;
        let c = self.peek(0);
        if c >= 0x80 {
            // `\` before a non-ASCII character: drop the backslash, lex the character.
            return Ok(());
        }
        if !c.is_ascii_alphabetic() {
            self.i += 1;
            let tok = match c {
                b',' | b'!' | b';' | b':' | b' ' | b'>' | b'\n' | b'/' | b'@' => return Ok(()),
                b'{' => Tok::LSet,
                b'}' => Tok::RSet,
                b'%' => Tok::Percent,
                b'$' | b'#' | b'&' => return Ok(()),
                b'\\' => Tok::RowSep,
                b'|' => Tok::Pipe,
                b'(' | b')' | b'[' | b']' => return Ok(()),
                0 => return Ok(()),
                _ => return Err(err(self.src, format!("unknown command `\\{}`", c as char))),
            };
            self.push(tok);
            return Ok(());
        }
        let start = self.i;
        while self.peek(0).is_ascii_alphabetic() {
            self.i += 1;
        }
        let name = &self.src[start..self.i];
        if IGNORED.contains(&name) {
            if matches!(name, "left" | "right" | "middle") && self.peek(0) == b'.' {
                self.i += 1;
            }
            if name == "phantom" {
                self.braced_raw();
            }
            return Ok(());
        }
        if TEXT_CMDS.contains(&name) {
            let Some(content) = self.braced_raw() else {
                return Err(err(self.src, format!("`\\{name}` needs a braced argument")));
            };
            let content = content.trim().to_string();
            let math_style = name.starts_with("math") || name == "boldsymbol" || name == "bm";
            let single = content.len() == 1 && content.as_bytes()[0].is_ascii_alphabetic();
            if name == "operatorname" && FUNCS.contains(&content.as_str()) {
                self.push(Tok::Func(content));
            } else if math_style && single {
                self.push(Tok::Letter(content.as_bytes()[0] as char));
            } else if math_style && (content.starts_with('\\') || content.bytes().any(|b| b.is_ascii_digit())) {
                // `\mathbf{\alpha}`, `\mathrm{2x}`: styling around math, lex the inside.
                let inner = tokenize(&content)?;
                self.out.extend(inner);
            } else {
                self.push(Tok::Text(content));
            }
            return Ok(());
        }
        let tok = match name {
            "frac" | "dfrac" | "tfrac" | "cfrac" => Tok::Cmd("frac".into()),
            "binom" | "dbinom" | "tbinom" => Tok::Cmd("binom".into()),
            "sqrt" => Tok::Cmd("sqrt".into()),
            "overline" => Tok::Cmd("overline".into()),
            "pi" => Tok::Pi,
            "infty" | "infin" => Tok::Infty,
            "emptyset" | "varnothing" => Tok::Empty,
            "circ" | "degree" => Tok::Degree,
            "cdot" | "times" | "ast" | "bullet" => Tok::Times,
            "div" => Tok::Slash,
            "pm" => Tok::PlusMinus,
            "mp" => Tok::MinusPlus,
            "le" | "leq" | "leqslant" | "leqq" => Tok::Rel(RelOp::Le),
            "ge" | "geq" | "geqslant" | "geqq" => Tok::Rel(RelOp::Ge),
            "lt" => Tok::Rel(RelOp::Lt),
            "gt" => Tok::Rel(RelOp::Gt),
            "ne" | "neq" => Tok::Rel(RelOp::Ne),
            "approx" | "simeq" | "sim" | "cong" | "equiv" => Tok::Rel(RelOp::Approx),
            "in" => Tok::Rel(RelOp::In),
            // `\lceil x \rceil` is the function `ceil` of the bracketed `x`.
            "lceil" | "lfloor" => {
                self.push(Tok::Func(if name == "lceil" { "ceil" } else { "floor" }.into()));
                Tok::LParen
            }
            "rceil" | "rfloor" => Tok::RParen,
            "cup" => Tok::Cup,
            "setminus" | "smallsetminus" => Tok::SetMinus,
            "lbrace" => Tok::LSet,
            "rbrace" => Tok::RSet,
            "langle" => Tok::LParen,
            "rangle" => Tok::RParen,
            "lvert" | "rvert" | "vert" | "mid" | "lVert" | "rVert" | "Vert" => Tok::Pipe,
            "dots" | "ldots" | "cdots" | "vdots" => Tok::Dots,
            "prime" => Tok::Prime,
            "colon" => Tok::Colon,
            "land" | "lor" | "wedge" | "vee" => Tok::AndOr,
            "begin" | "end" => {
                let Some(env) = self.braced_raw() else {
                    return Err(err(self.src, format!("`\\{name}` needs an environment name")));
                };
                let env = env.trim().trim_end_matches('*').to_string();
                if name == "begin" {
                    if env == "array" {
                        self.braced_raw();
                    }
                    Tok::Begin(env)
                } else {
                    Tok::End(env)
                }
            }
            _ if FUNCS.contains(&name) => Tok::Func(name.to_string()),
            "arcsinh" | "arccosh" | "arctanh" => Tok::Func(name.to_string()),
            _ if GREEK.contains(&name) => Tok::Name(name.to_string()),
            // An operator name as a subscript is a label, `m_{\max}` as `m_{\text{max}}`.
            "max" | "min" | "sup" | "inf"
                if matches!(self.out.as_slice(), [.., Tok::Under] | [.., Tok::Under, Tok::LBrace]) =>
            {
                Tok::Text(name.to_string())
            }
            _ => {
                // `\quadx`, `\cdotx`: a known command glued to a letter.
                const GLUED: &[&str] =
                    &["qquad", "quad", "cdot", "times", "infty", "pi", "pm", "mp", "div", "left", "right"];
                if let Some(known) = GLUED.iter().find(|k| name.starts_with(**k)) {
                    self.i = start - 1;
                    return self.command_prefix(known.len());
                }
                return Err(err(self.src, format!("unsupported command `\\{name}`")));
            }
        };
        self.push(tok);
        Ok(())
    }
}
