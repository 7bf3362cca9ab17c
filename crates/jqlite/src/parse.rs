//! The selection subset of jq, parsed: what an address filter may be.
//!
//! Accepted (jq's syntax and precedence): `.`, `..`, `.a`, `."a"`, `.[e]`, `.[e:e]`,
//! `.[]`, postfix `?`, `|`, `,`, `//`, `or`, `and`, `==` `!=` `<` `<=` `>` `>=`, `+`,
//! `-`, `(…)`, `[…]`, `if … then … elif … else … end`, literals (numbers, strings
//! without interpolation, `true`, `false`, `null`), and the functions in
//! [`FUNCTIONS`]. Everything else jq has — `def`, variables and `as` bindings,
//! `reduce`, `foreach`, `label`, `try … catch`, string interpolation, object
//! construction, formats, assignments, `range`, `limit`, `env`, `input` — is refused
//! with a message naming it: filters select parts of a spec; they do not compute.

/// Longest filter accepted.
pub const MAX_FILTER_BYTES: usize = 4096;
/// Deepest nesting of a filter's expressions.
pub const MAX_FILTER_DEPTH: usize = 64;

/// Functions a filter may call, with their arity.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("select", 1),
    ("map", 1),
    ("has", 1),
    ("startswith", 1),
    ("endswith", 1),
    ("any", 0),
    ("all", 0),
    ("add", 0),
    ("length", 0),
    ("keys", 0),
    ("type", 0),
    ("not", 0),
    ("empty", 0),
    ("values", 0),
    ("nulls", 0),
    ("booleans", 0),
    ("numbers", 0),
    ("strings", 0),
    ("arrays", 0),
    ("objects", 0),
    ("iterables", 0),
    ("scalars", 0),
    ("recurse", 0),
    ("tostring", 0),
    ("ascii_downcase", 0),
    ("ascii_upcase", 0),
];

/// A comparison or arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
}

/// A filter expression.
#[derive(Debug)]
pub enum Expr {
    /// `.`
    Identity,
    /// `..`
    Recurse,
    /// A literal.
    Literal(serde_json::Value),
    /// `E.name`, `E["name"]`, `E[e]`.
    Index(Box<Expr>, Box<Expr>),
    /// `E[a:b]`.
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    /// `E[]`.
    Iterate(Box<Expr>),
    /// `E?`.
    Try(Box<Expr>),
    /// `a | b`.
    Pipe(Box<Expr>, Box<Expr>),
    /// `a, b`.
    Comma(Box<Expr>, Box<Expr>),
    /// `a // b`.
    Alt(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a OP b`.
    Binary(Op, Box<Expr>, Box<Expr>),
    /// `[E]` (`None`: `[]`).
    Array(Option<Box<Expr>>),
    /// `if c then a (elif …) else b end`.
    If(Box<Expr>, Box<Expr>, Option<Box<Expr>>),
    /// A function of [`FUNCTIONS`].
    Call(&'static str, Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Dot,
    DotDot,
    Field(String),
    Ident(String),
    Var(String),
    Str(String),
    Num(f64),
    Format(String),
    Punct(&'static str),
}

/// Why a filter is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

fn refused(what: &str) -> ParseError {
    ParseError(format!(
        "{what} is not allowed in address filters (they select parts of the spec; they do not compute)"
    ))
}

const PUNCTS: &[&str] = &[
    "?//", "|=", "+=", "-=", "*=", "/=", "%=", "//=", "==", "!=", "<=", ">=", "//", "|", ",", "(",
    ")", "[", "]", "{", "}", ":", ";", "?", "<", ">", "+", "-", "*", "/", "%", "=",
];

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident_start = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c == b'.' {
            if b.get(i + 1) == Some(&b'.') {
                out.push((Tok::DotDot, start));
                i += 2;
            } else if b.get(i + 1).is_some_and(|c| ident_start(*c)) {
                i += 1;
                let s = i;
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                out.push((Tok::Field(text[s..i].to_owned()), start));
            } else if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let (n, next) = number(text, i)?;
                out.push((Tok::Num(n), start));
                i = next;
            } else {
                out.push((Tok::Dot, start));
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() {
            let (n, next) = number(text, i)?;
            out.push((Tok::Num(n), start));
            i = next;
            continue;
        }
        if ident_start(c) {
            while i < b.len() && (ident_char(b[i]) || (b[i] == b':' && b.get(i + 1) == Some(&b':')))
            {
                i += if b[i] == b':' { 2 } else { 1 };
            }
            out.push((Tok::Ident(text[start..i].to_owned()), start));
            continue;
        }
        if c == b'$' || c == b'@' {
            i += 1;
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            let name = text[start + 1..i].to_owned();
            out.push((
                if c == b'$' {
                    Tok::Var(name)
                } else {
                    Tok::Format(name)
                },
                start,
            ));
            continue;
        }
        if c == b'"' {
            let (s, next) = string(text, i)?;
            out.push((Tok::Str(s), start));
            i = next;
            continue;
        }
        match PUNCTS.iter().find(|p| text[i..].starts_with(**p)) {
            Some(p) => {
                out.push((Tok::Punct(p), start));
                i += p.len();
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(ParseError(format!(
                    "cannot parse: unexpected {ch:?} at offset {i}"
                )));
            }
        }
    }
    Ok(out)
}

fn number(text: &str, start: usize) -> Result<(f64, usize), ParseError> {
    let b = text.as_bytes();
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        i += 1;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    text[start..i]
        .parse::<f64>()
        .map(|n| (n, i))
        .map_err(|_| ParseError(format!("cannot parse: bad number at offset {start}")))
}

fn string(text: &str, start: usize) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + off + 1)),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('(') => return Err(refused("string interpolation `\\(…)`")),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = (0..4)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    let c = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| {
                            ParseError(format!("cannot parse: bad \\u escape at offset {start}"))
                        })?;
                    out.push(c);
                }
                _ => {
                    return Err(ParseError(format!(
                        "cannot parse: bad escape in the string at offset {start}"
                    )));
                }
            },
            c => out.push(c),
        }
    }
    Err(ParseError(format!(
        "cannot parse: unterminated string at offset {start}"
    )))
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
    len: usize,
}

type P<T> = Result<T, ParseError>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(_, o)| *o)
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(i)) if i == w)
    }

    fn expect(&mut self, p: &str) -> P<()> {
        if self.is(p) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{p}`")))
        }
    }

    fn expect_word(&mut self, w: &str) -> P<()> {
        if self.is_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{w}`")))
        }
    }

    fn unexpected(&self, wanted: &str) -> ParseError {
        match self.peek() {
            None => ParseError(format!("cannot parse: expected {wanted} at the end")),
            Some(_) => ParseError(format!(
                "cannot parse: expected {wanted} at offset {}",
                self.offset()
            )),
        }
    }

    fn enter(&mut self) -> P<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(ParseError(format!(
                "filter nested deeper than {MAX_FILTER_DEPTH} levels"
            )));
        }
        Ok(())
    }

    /// `a | b` (lowest, right-associative).
    fn pipe(&mut self) -> P<Expr> {
        self.enter()?;
        if self.is_word("def") {
            return Err(refused("`def`"));
        }
        let left = self.comma()?;
        if self.is_word("as") {
            return Err(refused("`as` (variable binding)"));
        }
        let e = if self.is("|") {
            self.pos += 1;
            Expr::Pipe(Box::new(left), Box::new(self.pipe()?))
        } else {
            left
        };
        self.depth -= 1;
        Ok(e)
    }

    fn comma(&mut self) -> P<Expr> {
        let mut left = self.alt()?;
        while self.is(",") {
            self.pos += 1;
            left = Expr::Comma(Box::new(left), Box::new(self.alt()?));
        }
        Ok(left)
    }

    fn alt(&mut self) -> P<Expr> {
        let left = self.or()?;
        for p in ["=", "|=", "+=", "-=", "*=", "/=", "%=", "//="] {
            if self.is(p) {
                return Err(refused(&format!("assignment `{p}`")));
            }
        }
        if self.is("?//") {
            return Err(refused("destructuring alternative `?//`"));
        }
        if self.is("//") {
            self.pos += 1;
            self.enter()?;
            let right = self.alt()?;
            self.depth -= 1;
            return Ok(Expr::Alt(Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn or(&mut self) -> P<Expr> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> P<Expr> {
        let mut left = self.compare()?;
        while self.is_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.compare()?));
        }
        Ok(left)
    }

    fn compare(&mut self) -> P<Expr> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Tok::Punct("==")) => Op::Eq,
            Some(Tok::Punct("!=")) => Op::Ne,
            Some(Tok::Punct("<")) => Op::Lt,
            Some(Tok::Punct("<=")) => Op::Le,
            Some(Tok::Punct(">")) => Op::Gt,
            Some(Tok::Punct(">=")) => Op::Ge,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.additive()?;
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn additive(&mut self) -> P<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct("+")) => Op::Add,
                Some(Tok::Punct("-")) => Op::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> P<Expr> {
        let left = self.postfix()?;
        if let Some(Tok::Punct(p @ ("*" | "/" | "%"))) = self.peek() {
            return Err(refused(&format!("`{p}`")));
        }
        Ok(left)
    }

    /// A term and its suffixes: `.a`, `[…]`, `?`.
    fn postfix(&mut self) -> P<Expr> {
        let mut e = self.term()?;
        loop {
            match self.peek() {
                Some(Tok::Field(name)) => {
                    let key = Expr::Literal(name.clone().into());
                    self.pos += 1;
                    e = Expr::Index(Box::new(e), Box::new(key));
                }
                Some(Tok::Dot) if matches!(self.toks.get(self.pos + 1), Some((Tok::Str(_), _))) => {
                    self.pos += 1;
                    let Some((Tok::Str(s), _)) = self.toks.get(self.pos) else {
                        return Err(self.unexpected("a string"));
                    };
                    let key = Expr::Literal(s.clone().into());
                    self.pos += 1;
                    e = Expr::Index(Box::new(e), Box::new(key));
                }
                Some(Tok::Dot)
                    if matches!(self.toks.get(self.pos + 1), Some((Tok::Punct("["), _))) =>
                {
                    self.pos += 1;
                }
                Some(Tok::Punct("[")) => {
                    self.pos += 1;
                    e = self.bracket(e)?;
                }
                Some(Tok::Punct("?")) => {
                    self.pos += 1;
                    e = Expr::Try(Box::new(e));
                }
                _ => return Ok(e),
            }
        }
    }

    /// After `E[`: `]`, `e]`, `a:b]`.
    fn bracket(&mut self, e: Expr) -> P<Expr> {
        if self.is("]") {
            self.pos += 1;
            return Ok(Expr::Iterate(Box::new(e)));
        }
        let from = if self.is(":") {
            None
        } else {
            Some(Box::new(self.pipe()?))
        };
        if self.is(":") {
            self.pos += 1;
            let to = if self.is("]") {
                None
            } else {
                Some(Box::new(self.pipe()?))
            };
            self.expect("]")?;
            return Ok(Expr::Slice(Box::new(e), from, to));
        }
        self.expect("]")?;
        match from {
            Some(index) => Ok(Expr::Index(Box::new(e), index)),
            None => Err(self.unexpected("an index")),
        }
    }

    fn term(&mut self) -> P<Expr> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.unexpected("a filter"));
        };
        self.pos += 1;
        match tok {
            Tok::Dot => {
                if let Some(Tok::Str(s)) = self.peek().cloned() {
                    self.pos += 1;
                    let key = Expr::Literal(s.into());
                    return Ok(Expr::Index(Box::new(Expr::Identity), Box::new(key)));
                }
                if self.is("[") {
                    self.pos += 1;
                    return self.bracket(Expr::Identity);
                }
                Ok(Expr::Identity)
            }
            Tok::DotDot => Ok(Expr::Recurse),
            Tok::Field(name) => {
                let key = Expr::Literal(name.into());
                Ok(Expr::Index(Box::new(Expr::Identity), Box::new(key)))
            }
            Tok::Num(n) => Ok(Expr::Literal(
                serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into),
            )),
            Tok::Str(s) => Ok(Expr::Literal(s.into())),
            Tok::Var(name) => Err(refused(&format!("`${name}` (variables)"))),
            Tok::Format(name) => Err(refused(&format!("`@{name}` (formats)"))),
            Tok::Punct("(") => {
                let e = self.pipe()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Punct("[") => {
                if self.is("]") {
                    self.pos += 1;
                    return Ok(Expr::Array(None));
                }
                let e = self.pipe()?;
                self.expect("]")?;
                Ok(Expr::Array(Some(Box::new(e))))
            }
            Tok::Punct("{") if self.is("}") => {
                self.pos += 1;
                Ok(Expr::Literal(serde_json::Value::Object(
                    serde_json::Map::new(),
                )))
            }
            Tok::Punct("{") => Err(refused("object construction `{…}`")),
            Tok::Punct("-") => match self.peek() {
                Some(Tok::Num(n)) => {
                    let n = -*n;
                    self.pos += 1;
                    Ok(Expr::Literal(
                        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into),
                    ))
                }
                _ => Err(refused("unary `-` (except before a number)")),
            },
            Tok::Punct(p) => {
                self.pos -= 1;
                Err(self.unexpected(&format!("a filter (found `{p}`)")))
            }
            Tok::Ident(word) => self.word(&word),
        }
    }

    fn word(&mut self, word: &str) -> P<Expr> {
        match word {
            "true" => return Ok(Expr::Literal(true.into())),
            "false" => return Ok(Expr::Literal(false.into())),
            "null" => return Ok(Expr::Literal(serde_json::Value::Null)),
            "if" => return self.if_rest(),
            "def" | "reduce" | "foreach" | "label" | "try" | "catch" | "import" | "include"
            | "as" | "__loc__" => return Err(refused(&format!("`{word}`"))),
            _ => {}
        }
        // The outermost refusal is the one named: `limit(1; repeat(.))` is `limit`.
        if !FUNCTIONS.iter().any(|(name, _)| *name == word) {
            return Err(refused(&format!("`{word}`")));
        }
        let mut args = Vec::new();
        if self.is("(") {
            self.pos += 1;
            loop {
                args.push(self.pipe()?);
                if self.is(";") {
                    self.pos += 1;
                    continue;
                }
                self.expect(")")?;
                break;
            }
        }
        match FUNCTIONS
            .iter()
            .find(|(name, arity)| *name == word && *arity == args.len())
        {
            Some((name, _)) => Ok(Expr::Call(name, args)),
            None => Err(refused(&format!("`{word}/{}`", args.len()))),
        }
    }

    /// After `if`.
    fn if_rest(&mut self) -> P<Expr> {
        let cond = self.pipe()?;
        self.expect_word("then")?;
        let then = self.pipe()?;
        let otherwise = if self.is_word("elif") {
            self.pos += 1;
            Some(Box::new(self.if_rest()?))
        } else if self.is_word("else") {
            self.pos += 1;
            let e = self.pipe()?;
            self.expect_word("end")?;
            Some(Box::new(e))
        } else {
            self.expect_word("end")?;
            None
        };
        Ok(Expr::If(Box::new(cond), Box::new(then), otherwise))
    }
}

/// Parses a filter of the selection subset.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    if text.len() > MAX_FILTER_BYTES {
        return Err(ParseError(format!(
            "filter is {} bytes, over the limit of {MAX_FILTER_BYTES}",
            text.len()
        )));
    }
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        len: text.len(),
    };
    let e = p.pipe()?;
    if p.pos < p.toks.len() {
        return Err(p.unexpected("the end of the filter"));
    }
    Ok(e)
}
