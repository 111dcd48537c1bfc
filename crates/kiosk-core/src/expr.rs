//! The small expression language of forms: computed values, visibility and checks.
//! Arithmetic is exact (rationals over i128) because tax is computed on fen and the
//! rounding rule (四舍五入 to the fen) must be applied once, where the form says, not by
//! accident in a float. The same evaluator runs on the kiosk and in the back office, so
//! a recomputed value always agrees.

use std::cmp::Ordering;
use std::fmt;

/// An exact rational number, always normalised (den > 0, gcd = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Rational {
    pub const ZERO: Rational = Rational { num: 0, den: 1 };

    pub fn new(num: i128, den: i128) -> Option<Rational> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let s = if den < 0 { -1 } else { 1 };
        Some(Rational {
            num: s * num / g,
            den: s * den / g,
        })
    }

    pub fn int(v: i64) -> Rational {
        Rational {
            num: v as i128,
            den: 1,
        }
    }

    /// Parses a decimal literal such as `0.03` or `1.5`.
    pub fn parse_decimal(s: &str) -> Option<Rational> {
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        if i.is_empty() && f.is_empty() || f.len() > 18 {
            return None;
        }
        if !i.bytes().chain(f.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{i}{f}");
        let num: i128 = digits.parse().ok()?;
        Rational::new(num, 10i128.checked_pow(f.len() as u32)?)
    }

    pub fn numer(self) -> i128 {
        self.num
    }
    pub fn denom(self) -> i128 {
        self.den
    }

    fn add(self, o: Rational) -> Option<Rational> {
        let n = self
            .num
            .checked_mul(o.den)?
            .checked_add(o.num.checked_mul(self.den)?)?;
        Rational::new(n, self.den.checked_mul(o.den)?)
    }
    fn neg(self) -> Rational {
        Rational {
            num: -self.num,
            den: self.den,
        }
    }
    fn mul(self, o: Rational) -> Option<Rational> {
        Rational::new(self.num.checked_mul(o.num)?, self.den.checked_mul(o.den)?)
    }
    fn div(self, o: Rational) -> Option<Rational> {
        if o.num == 0 {
            return None;
        }
        Rational::new(self.num.checked_mul(o.den)?, self.den.checked_mul(o.num)?)
    }

    /// Half away from zero: the 四舍五入 of Chinese tax rules.
    pub fn round(self) -> i128 {
        let twice = 2 * self.num.abs() + self.den;
        let r = twice / (2 * self.den);
        if self.num < 0 { -r } else { r }
    }
    pub fn floor(self) -> i128 {
        self.num.div_euclid(self.den)
    }
    pub fn ceil(self) -> i128 {
        -((-self.num).div_euclid(self.den))
    }

    /// The value as an integer if it is one.
    pub fn as_integer(self) -> Option<i128> {
        (self.den == 1).then_some(self.num)
    }
}

impl PartialOrd for Rational {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Rational {
    fn cmp(&self, o: &Self) -> Ordering {
        // Both denominators are positive, so cross-multiplying keeps the order. Values are
        // bounded by the evaluator long before this could overflow.
        (self.num.saturating_mul(o.den)).cmp(&o.num.saturating_mul(self.den))
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Num(Rational),
    Bool(bool),
    Str(String),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Num(_) => "number",
            Value::Bool(_) => "true/false",
            Value::Str(_) => "text",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Round,
    Floor,
    Ceil,
    Min,
    Max,
    If,
}

impl Func {
    fn from_name(s: &str) -> Option<Func> {
        Some(match s {
            "round" => Func::Round,
            "floor" => Func::Floor,
            "ceil" => Func::Ceil,
            "min" => Func::Min,
            "max" => Func::Max,
            "if" => Func::If,
            _ => return None,
        })
    }
    fn arity(self) -> usize {
        match self {
            Func::Round | Func::Floor | Func::Ceil => 1,
            Func::Min | Func::Max => 2,
            Func::If => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Num(Rational),
    Bool(bool),
    Str(String),
    Var(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {pos})")]
pub struct ParseError {
    pub pos: usize,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("'{0}' has no value yet")]
    Missing(String),
    #[error("division by zero")]
    DivByZero,
    #[error("the number is too large")]
    Overflow,
    #[error("expected {expected}, found {found}")]
    Type {
        expected: &'static str,
        found: &'static str,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(Rational),
    Ident(String),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut i = 0;
    let err = |pos: usize, m: &str| ParseError {
        pos,
        message: m.to_string(),
    };
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().map(|x| x.1).collect();
            let n = Rational::parse_decimal(&text)
                .ok_or_else(|| err(pos, &format!("'{text}' is not a number")))?;
            out.push((pos, Tok::Num(n)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || chars[i].1 == '_') {
                i += 1;
            }
            out.push((
                pos,
                Tok::Ident(chars[start..i].iter().map(|x| x.1).collect()),
            ));
            continue;
        }
        if c == '"' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i].1 != '"' {
                i += 1;
            }
            if i == chars.len() {
                return Err(err(pos, "a string is not closed with \""));
            }
            out.push((pos, Tok::Str(chars[start..i].iter().map(|x| x.1).collect())));
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())]
            .iter()
            .map(|x| x.1)
            .collect();
        let op2 = ["<=", ">=", "==", "!="].into_iter().find(|o| *o == two);
        if let Some(o) = op2 {
            out.push((pos, Tok::Op(o)));
            i += 2;
            continue;
        }
        let tok = match c {
            '+' => Tok::Op("+"),
            '-' => Tok::Op("-"),
            '*' => Tok::Op("*"),
            '/' => Tok::Op("/"),
            '<' => Tok::Op("<"),
            '>' => Tok::Op(">"),
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            _ => return Err(err(pos, &format!("'{c}' is not allowed in an expression"))),
        };
        out.push((pos, tok));
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    end: usize,
    depth: usize,
}

/// Deep nesting is refused rather than risking the stack on hostile config.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.0)
    }
    fn err<T>(&self, m: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            pos: self.pos(),
            message: m.into(),
        })
    }
    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|t| t.1.clone());
        self.i += 1;
        t
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("the expression is nested too deeply");
        }
        let mut lhs = self.unary()?;
        loop {
            let (op, prec) = match self.peek() {
                Some(Tok::Ident(s)) if s == "or" => (BinOp::Or, 1),
                Some(Tok::Ident(s)) if s == "and" => (BinOp::And, 2),
                Some(Tok::Op(o)) => match *o {
                    "==" => (BinOp::Eq, 3),
                    "!=" => (BinOp::Ne, 3),
                    "<" => (BinOp::Lt, 4),
                    "<=" => (BinOp::Le, 4),
                    ">" => (BinOp::Gt, 4),
                    ">=" => (BinOp::Ge, 4),
                    "+" => (BinOp::Add, 5),
                    "-" => (BinOp::Sub, 5),
                    "*" => (BinOp::Mul, 6),
                    "/" => (BinOp::Div, 6),
                    _ => break,
                },
                _ => break,
            };
            if prec < min_prec {
                break;
            }
            self.bump();
            let rhs = self.expr(prec + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        match self.peek() {
            Some(Tok::Op("-")) => {
                self.bump();
                Ok(Expr::Neg(Box::new(self.expr(7)?)))
            }
            Some(Tok::Ident(s)) if s == "not" => {
                self.bump();
                Ok(Expr::Not(Box::new(self.expr(3)?)))
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        match self.bump() {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::LParen) => {
                let e = self.expr(0)?;
                match self.bump() {
                    Some(Tok::RParen) => Ok(e),
                    _ => {
                        self.i -= 1;
                        self.err("expected ')'")
                    }
                }
            }
            Some(Tok::Ident(name)) => match name.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "and" | "or" | "not" => Err(ParseError {
                    pos,
                    message: format!("'{name}' needs a value before it"),
                }),
                _ if self.peek() == Some(&Tok::LParen) => {
                    let Some(f) = Func::from_name(&name) else {
                        return Err(ParseError {
                            pos,
                            message: format!(
                                "'{name}' is not a function (use round, floor, ceil, min, max, if)"
                            ),
                        });
                    };
                    self.bump();
                    let mut args = Vec::new();
                    if self.peek() != Some(&Tok::RParen) {
                        loop {
                            args.push(self.expr(0)?);
                            match self.peek() {
                                Some(Tok::Comma) => {
                                    self.bump();
                                }
                                _ => break,
                            }
                        }
                    }
                    if self.bump() != Some(Tok::RParen) {
                        self.i -= 1;
                        return self.err("expected ')' after the arguments");
                    }
                    if args.len() != f.arity() {
                        return Err(ParseError {
                            pos,
                            message: format!(
                                "{name}() takes {} argument(s), not {}",
                                f.arity(),
                                args.len()
                            ),
                        });
                    }
                    Ok(Expr::Call(f, args))
                }
                _ => Ok(Expr::Var(name)),
            },
            Some(t) => Err(ParseError {
                pos,
                message: format!("unexpected {}", describe(&t)),
            }),
            None => self.err("the expression ends too early"),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Op(o) => format!("'{o}'"),
        Tok::RParen => "')'".into(),
        Tok::LParen => "'('".into(),
        Tok::Comma => "','".into(),
        Tok::Num(n) => format!("number {n}"),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Str(s) => format!("\"{s}\""),
    }
}

impl Expr {
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        let toks = lex(src)?;
        let mut p = Parser {
            toks,
            i: 0,
            end: src.len(),
            depth: 0,
        };
        if p.peek().is_none() {
            return p.err("the expression is empty");
        }
        let e = p.expr(0)?;
        if let Some(t) = p.peek().cloned() {
            return p.err(format!(
                "unexpected {} after a complete expression",
                describe(&t)
            ));
        }
        Ok(e)
    }

    /// Every field id the expression reads.
    pub fn vars(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_vars(&mut out);
        out
    }
    fn collect_vars<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Var(v) => {
                if !out.contains(&v.as_str()) {
                    out.push(v)
                }
            }
            Expr::Neg(e) | Expr::Not(e) => e.collect_vars(out),
            Expr::Bin(_, a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect_vars(out)),
            Expr::Num(_) | Expr::Bool(_) | Expr::Str(_) => {}
        }
    }

    /// Evaluates with `lookup` giving each variable's value. `if` evaluates only the branch
    /// it takes, so a check like `if(total > 0, x / total, 0)` is safe.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, EvalError> {
        let num = |e: &Expr| -> Result<Rational, EvalError> {
            match e.eval(lookup)? {
                Value::Num(n) => Ok(n),
                v => Err(EvalError::Type {
                    expected: "number",
                    found: v.type_name(),
                }),
            }
        };
        let boolean = |e: &Expr| -> Result<bool, EvalError> {
            match e.eval(lookup)? {
                Value::Bool(b) => Ok(b),
                v => Err(EvalError::Type {
                    expected: "true/false",
                    found: v.type_name(),
                }),
            }
        };
        let int = |v: i128| -> Result<Value, EvalError> {
            Rational::new(v, 1)
                .map(Value::Num)
                .ok_or(EvalError::Overflow)
        };
        Ok(match self {
            Expr::Num(n) => Value::Num(*n),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Var(v) => lookup(v).ok_or_else(|| EvalError::Missing(v.clone()))?,
            Expr::Neg(e) => Value::Num(num(e)?.neg()),
            Expr::Not(e) => Value::Bool(!boolean(e)?),
            Expr::Bin(op, a, b) => match op {
                BinOp::And => Value::Bool(boolean(a)? && boolean(b)?),
                BinOp::Or => Value::Bool(boolean(a)? || boolean(b)?),
                BinOp::Eq | BinOp::Ne => {
                    let (x, y) = (a.eval(lookup)?, b.eval(lookup)?);
                    if std::mem::discriminant(&x) != std::mem::discriminant(&y) {
                        return Err(EvalError::Type {
                            expected: x.type_name(),
                            found: y.type_name(),
                        });
                    }
                    Value::Bool((x == y) == (*op == BinOp::Eq))
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let (x, y) = (num(a)?, num(b)?);
                    Value::Bool(match op {
                        BinOp::Lt => x < y,
                        BinOp::Le => x <= y,
                        BinOp::Gt => x > y,
                        _ => x >= y,
                    })
                }
                BinOp::Add => Value::Num(num(a)?.add(num(b)?).ok_or(EvalError::Overflow)?),
                BinOp::Sub => Value::Num(num(a)?.add(num(b)?.neg()).ok_or(EvalError::Overflow)?),
                BinOp::Mul => Value::Num(num(a)?.mul(num(b)?).ok_or(EvalError::Overflow)?),
                BinOp::Div => {
                    let d = num(b)?;
                    if d == Rational::ZERO {
                        return Err(EvalError::DivByZero);
                    }
                    Value::Num(num(a)?.div(d).ok_or(EvalError::Overflow)?)
                }
            },
            Expr::Call(f, args) => match f {
                Func::Round => int(num(&args[0])?.round())?,
                Func::Floor => int(num(&args[0])?.floor())?,
                Func::Ceil => int(num(&args[0])?.ceil())?,
                Func::Min => Value::Num(num(&args[0])?.min(num(&args[1])?)),
                Func::Max => Value::Num(num(&args[0])?.max(num(&args[1])?)),
                Func::If => {
                    if boolean(&args[0])? {
                        args[1].eval(lookup)?
                    } else {
                        args[2].eval(lookup)?
                    }
                }
            },
        })
    }
}

/// The static type of an expression, checked when the configuration loads so that a bad
/// formula is an error for IT, never a surprise for a taxpayer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Num,
    Bool,
    Str,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Num => "a number",
            Ty::Bool => "true/false",
            Ty::Str => "text",
        }
    }
}

impl Expr {
    /// Infers the type, given each variable's type; the error says what to change.
    pub fn typecheck(&self, var: &dyn Fn(&str) -> Option<Ty>) -> Result<Ty, String> {
        let want = |e: &Expr, t: Ty, what: &str| -> Result<(), String> {
            let got = e.typecheck(var)?;
            if got == t {
                Ok(())
            } else {
                Err(format!(
                    "{what} needs {}, but it is given {}",
                    t.name(),
                    got.name()
                ))
            }
        };
        match self {
            Expr::Num(_) => Ok(Ty::Num),
            Expr::Bool(_) => Ok(Ty::Bool),
            Expr::Str(_) => Ok(Ty::Str),
            Expr::Var(v) => var(v).ok_or_else(|| format!("there is no field '{v}' in this form")),
            Expr::Neg(e) => want(e, Ty::Num, "'-'").map(|_| Ty::Num),
            Expr::Not(e) => want(e, Ty::Bool, "'not'").map(|_| Ty::Bool),
            Expr::Bin(op, a, b) => match op {
                BinOp::And | BinOp::Or => {
                    want(a, Ty::Bool, "'and'/'or'")?;
                    want(b, Ty::Bool, "'and'/'or'")?;
                    Ok(Ty::Bool)
                }
                BinOp::Eq | BinOp::Ne => {
                    let ta = a.typecheck(var)?;
                    want(b, ta, "'=='/'!='")?;
                    Ok(Ty::Bool)
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    want(a, Ty::Num, "a comparison")?;
                    want(b, Ty::Num, "a comparison")?;
                    Ok(Ty::Bool)
                }
                _ => {
                    want(a, Ty::Num, "arithmetic")?;
                    want(b, Ty::Num, "arithmetic")?;
                    Ok(Ty::Num)
                }
            },
            Expr::Call(f, args) => match f {
                Func::If => {
                    want(&args[0], Ty::Bool, "the condition of if()")?;
                    let t = args[1].typecheck(var)?;
                    want(&args[2], t, "both branches of if()")?;
                    Ok(t)
                }
                _ => {
                    for a in args {
                        want(a, Ty::Num, "round/floor/ceil/min/max")?;
                    }
                    Ok(Ty::Num)
                }
            },
        }
    }

    /// Every `field == "literal"` (or `!=`) comparison, so the loader can check that the
    /// literal is one of the field's options: a typo there makes a rule that never holds.
    pub fn string_comparisons(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Bin(BinOp::Eq | BinOp::Ne, a, b) = e {
                match (&**a, &**b) {
                    (Expr::Var(v), Expr::Str(s)) | (Expr::Str(s), Expr::Var(v)) => {
                        out.push((v.as_str(), s.as_str()))
                    }
                    _ => {}
                }
            }
        });
        out
    }

    fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Neg(e) | Expr::Not(e) => e.walk(f),
            Expr::Bin(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.walk(f)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eval(src: &str, vars: &[(&str, i64)]) -> Result<Value, EvalError> {
        let e = Expr::parse(src).unwrap();
        e.eval(&|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| Value::Num(Rational::int(*v)))
        })
    }
    fn n(v: i64) -> Value {
        Value::Num(Rational::int(v))
    }

    #[test]
    fn tax_rounding_is_half_away_from_zero() {
        // 12345 fen at 3% = 370.35 fen -> 370; 12350 fen -> 370.5 -> 371.
        assert_eq!(eval("round(s * 0.03)", &[("s", 12_345)]), Ok(n(370)));
        assert_eq!(eval("round(s * 0.03)", &[("s", 12_350)]), Ok(n(371)));
        assert_eq!(eval("round(0 - s * 0.03)", &[("s", 12_350)]), Ok(n(-371)));
        assert_eq!(eval("floor(7 / 2)", &[]), Ok(n(3)));
        assert_eq!(eval("ceil(7 / 2)", &[]), Ok(n(4)));
        assert_eq!(eval("floor(-7 / 2)", &[]), Ok(n(-4)));
    }

    #[test]
    fn precedence_logic_and_if() {
        assert_eq!(eval("1 + 2 * 3", &[]), Ok(n(7)));
        assert_eq!(eval("(1 + 2) * 3", &[]), Ok(n(9)));
        assert_eq!(eval("-2 * 3", &[]), Ok(n(-6)));
        assert_eq!(eval("1 < 2 and not 3 < 2", &[]), Ok(Value::Bool(true)));
        assert_eq!(eval("if(x > 0, 10 / x, 0)", &[("x", 0)]), Ok(n(0)));
        assert_eq!(eval("max(a - b, 0)", &[("a", 5), ("b", 9)]), Ok(n(0)));
        assert_eq!(eval("\"r3\" == \"r3\"", &[]), Ok(Value::Bool(true)));
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(eval("1 / x", &[("x", 0)]), Err(EvalError::DivByZero));
        assert_eq!(eval("y + 1", &[]), Err(EvalError::Missing("y".into())));
        assert!(matches!(
            eval("1 + (2 < 3)", &[]),
            Err(EvalError::Type { .. })
        ));
        assert!(
            Expr::parse("round(1, 2)")
                .unwrap_err()
                .message
                .contains("takes 1")
        );
        assert!(
            Expr::parse("sqrt(2)")
                .unwrap_err()
                .message
                .contains("not a function")
        );
        assert_eq!(Expr::parse("1 +").unwrap_err().pos, 3);
        assert!(Expr::parse("(1").is_err());
        assert!(Expr::parse("").is_err());
        assert!(Expr::parse("a $ b").unwrap_err().message.contains("'$'"));
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(Expr::parse(&deep).is_err());
    }

    #[test]
    fn vars_are_listed_once() {
        let e = Expr::parse("round(a * 0.03) + a - if(c == \"x\", b, 0)").unwrap();
        assert_eq!(e.vars(), vec!["a", "c", "b"]);
    }

    proptest! {
        #[test]
        fn parse_and_eval_never_panic(s in "[a-c0-9+*/()<>=!., -]{0,40}|\\PC{0,20}") {
            if let Ok(e) = Expr::parse(&s) {
                let _ = e.eval(&|_| Some(Value::Num(Rational::int(7))));
            }
        }

        #[test]
        fn round_matches_integer_half_up(fen in 0i64..10_000_000_000, rate_pm in 0i64..1000) {
            // round(fen * rate‰) computed exactly, compared with integer arithmetic.
            let got = eval("round(a * b / 1000)", &[("a", fen), ("b", rate_pm)]).unwrap();
            let p = fen as i128 * rate_pm as i128;
            let expected = (p + 500) / 1000;
            prop_assert_eq!(got, Value::Num(Rational::new(expected, 1).unwrap()));
        }
    }
}
