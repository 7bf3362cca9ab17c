//! The lexer: Go's `text/template/parse/lex.go`, state for state, so that what is a
//! token (and which error a malformed action gives) is exactly Go's.

/// A token kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// A token: its kind, byte offset, text and (1-based) line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    pub kind: Kind,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl Item {
    /// How Go's parser names a token in "unexpected …" errors.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "EOF".into(),
            Kind::Error => self.val.clone(),
            _ if is_keyword(self.kind) => format!("<{}>", self.val),
            // Go's `%.10q`: the first ten characters, quoted.
            _ if self.val.len() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                format!("{}...", go_quote(&head))
            }
            _ => go_quote(&self.val),
        }
    }
}

fn is_keyword(k: Kind) -> bool {
    matches!(
        k,
        Kind::Block
            | Kind::Break
            | Kind::Continue
            | Kind::Dot
            | Kind::Define
            | Kind::Else
            | Kind::End
            | Kind::If
            | Kind::Nil
            | Kind::Range
            | Kind::Template
            | Kind::With
    )
}

/// Go's `%q` of a string (`strconv.Quote`).
pub(crate) fn go_quote(s: &str) -> String {
    super::fmt::quote(s)
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(char::from(b[1]))
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(char::from(b[0])) && b[1] == b'-'
}

fn right_trim_length(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_length(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
    Done,
}

struct Lexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    paren_depth: i32,
    items: Vec<Item>,
}

impl<'a> Lexer<'a> {
    fn line_at(&self, pos: usize) -> usize {
        1 + self.input[..pos.min(self.input.len())]
            .matches('\n')
            .count()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.input[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
        }
    }

    fn emit(&mut self, kind: Kind) {
        let item = self.item(kind);
        self.items.push(item);
        self.start = self.pos;
    }

    fn item(&self, kind: Kind) -> Item {
        Item {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_owned(),
            line: self.line_at(self.start),
        }
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn error(&mut self, message: String) -> State {
        self.items.push(Item {
            kind: Kind::Error,
            pos: self.start,
            val: message,
            line: self.line_at(self.start),
        });
        State::Done
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = &self.input[self.pos..];
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            return (true, true);
        }
        (rest.starts_with(RIGHT_DELIM), false)
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(c) => RIGHT_DELIM.starts_with(c),
        }
    }

    fn step(&mut self, state: State) -> State {
        match state {
            State::Text => self.lex_text(),
            State::LeftDelim => self.lex_left_delim(),
            State::Comment => self.lex_comment(),
            State::RightDelim => self.lex_right_delim(),
            State::InsideAction => self.lex_inside_action(),
            State::Space => self.lex_space(),
            State::Identifier => self.lex_identifier(),
            State::Field => self.lex_field_or_variable(Kind::Field),
            State::Variable => {
                if self.at_terminator() {
                    self.emit(Kind::Variable);
                    State::InsideAction
                } else {
                    self.lex_field_or_variable(Kind::Variable)
                }
            }
            State::Char => {
                self.lex_quoted('\'', Kind::CharConstant, "unterminated character constant")
            }
            State::Number => self.lex_number(),
            State::Quote => self.lex_quoted('"', Kind::String, "unterminated quoted string"),
            State::RawQuote => self.lex_raw_quote(),
            State::Done => State::Done,
        }
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = self.input[self.pos..].find(LEFT_DELIM) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT_DELIM.len();
                let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                    right_trim_length(&self.input[self.start..self.pos])
                } else {
                    0
                };
                self.pos -= trim;
                let item = self.item(Kind::Text);
                self.pos += trim;
                self.ignore();
                if !item.val.is_empty() {
                    self.items.push(item);
                }
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.emit(Kind::Text);
        }
        self.emit(Kind::Eof);
        State::Done
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += LEFT_DELIM.len();
        let trim = has_left_trim_marker(&self.input[self.pos..]);
        let after_marker = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.ignore();
            return State::Comment;
        }
        let item = self.item(Kind::LeftDelim);
        self.items.push(item);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.input[self.pos..].find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT_DELIM.len();
        if trim {
            self.pos += left_trim_length(&self.input[self.pos..]);
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += RIGHT_DELIM.len();
        let item = self.item(Kind::RightDelim);
        if trim {
            self.pos += left_trim_length(&self.input[self.pos..]);
        }
        self.ignore();
        self.items.push(item);
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.error("unclosed left paren".into());
        }
        let c = self.next();
        match c {
            None => return self.error("unclosed action".into()),
            Some(c) if is_space(c) => {
                self.backup(Some(c));
                return State::Space;
            }
            Some('=') => self.emit(Kind::Assign),
            Some(':') => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(Kind::Declare);
            }
            Some('|') => self.emit(Kind::Pipe),
            Some('"') => return State::Quote,
            Some('`') => return State::RawQuote,
            Some('$') => return State::Variable,
            Some('\'') => return State::Char,
            Some('.') => {
                if self.peek().is_some_and(|n| !n.is_ascii_digit()) {
                    return State::Field;
                }
                self.backup(c);
                return State::Number;
            }
            Some(ch) if ch == '+' || ch == '-' || ch.is_ascii_digit() => {
                self.backup(c);
                return State::Number;
            }
            Some(ch) if is_alphanumeric(ch) => {
                self.backup(c);
                return State::Identifier;
            }
            Some('(') => {
                self.emit(Kind::LeftParen);
                self.paren_depth += 1;
            }
            Some(')') => {
                self.emit(Kind::RightParen);
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.error("unexpected right paren U+0029 ')'".into());
                }
            }
            Some(ch) if ch.is_ascii() && !ch.is_ascii_control() => self.emit(Kind::Char),
            Some(ch) => {
                return self.error(format!(
                    "unrecognized character in action: {}",
                    super::fmt::unicode_notation(ch)
                ));
            }
        }
        State::InsideAction
    }

    fn lex_space(&mut self) -> State {
        let mut spaces = 0;
        while self.peek().is_some_and(is_space) {
            self.next();
            spaces += 1;
        }
        let at = self.pos - 1;
        if has_right_trim_marker(&self.input[at..])
            && self.input[at + TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM)
        {
            self.pos -= 1;
            if spaces == 1 {
                return State::RightDelim;
            }
        }
        self.emit(Kind::Space);
        State::InsideAction
    }

    fn lex_identifier(&mut self) -> State {
        loop {
            let c = self.next();
            if c.is_some_and(is_alphanumeric) {
                continue;
            }
            self.backup(c);
            if !self.at_terminator() {
                let found = c.unwrap_or('\u{fffd}');
                return self.error(format!(
                    "bad character {}",
                    super::fmt::unicode_notation(found)
                ));
            }
            let word = &self.input[self.start..self.pos];
            let kind = match word {
                "block" => Kind::Block,
                "break" => Kind::Break,
                "continue" => Kind::Continue,
                "define" => Kind::Define,
                "else" => Kind::Else,
                "end" => Kind::End,
                "if" => Kind::If,
                "range" => Kind::Range,
                "nil" => Kind::Nil,
                "template" => Kind::Template,
                "with" => Kind::With,
                "true" | "false" => Kind::Bool,
                _ => Kind::Identifier,
            };
            self.emit(kind);
            return State::InsideAction;
        }
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> State {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return State::InsideAction;
        }
        let mut last;
        loop {
            last = self.next();
            if !last.is_some_and(is_alphanumeric) {
                self.backup(last);
                break;
            }
        }
        if !self.at_terminator() {
            let found = last.unwrap_or('\u{fffd}');
            return self.error(format!(
                "bad character {}",
                super::fmt::unicode_notation(found)
            ));
        }
        self.emit(kind);
        State::InsideAction
    }

    fn lex_quoted(&mut self, quote: char, kind: Kind, unterminated: &str) -> State {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => return self.error(unterminated.into()),
                    Some(_) => {}
                },
                Some('\n') | None => return self.error(unterminated.into()),
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.emit(kind);
        State::InsideAction
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::RawString);
        State::InsideAction
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_owned();
            return self.error(format!("bad number syntax: {}", go_quote(&text)));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_owned();
                return self.error(format!("bad number syntax: {}", go_quote(&text)));
            }
            self.emit(Kind::Complex);
        } else {
            self.emit(Kind::Number);
        }
        State::InsideAction
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }
}

/// Splits a template into tokens. An error token, if any, is the last.
pub(crate) fn lex(input: &str) -> Vec<Item> {
    let mut lexer = Lexer {
        input,
        start: 0,
        pos: 0,
        paren_depth: 0,
        items: Vec::new(),
    };
    let mut state = State::Text;
    while !matches!(state, State::Done) {
        state = lexer.step(state);
    }
    lexer.items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        lex(s).into_iter().map(|i| (i.kind, i.val)).collect()
    }

    #[test]
    fn lexes_fields_one_segment_at_a_time() {
        assert_eq!(
            kinds("{{.a.b}}"),
            vec![
                (Kind::LeftDelim, "{{".into()),
                (Kind::Field, ".a".into()),
                (Kind::Field, ".b".into()),
                (Kind::RightDelim, "}}".into()),
                (Kind::Eof, String::new()),
            ]
        );
    }

    #[test]
    fn trims_around_markers() {
        let k = kinds("a  {{- 1 -}}  b");
        assert_eq!(k[0], (Kind::Text, "a".into()));
        assert_eq!(k[3], (Kind::RightDelim, "}}".into()));
        assert_eq!(k[4], (Kind::Text, "b".into()));
    }

    #[test]
    fn reports_errors_with_their_line() {
        let items = lex("line1\n{{ .x ");
        let last = items.last().unwrap();
        assert_eq!(
            (last.kind, last.val.as_str(), last.line),
            (Kind::Error, "unclosed action", 2)
        );
        let items = lex("{{ 1x }}");
        assert_eq!(items.last().unwrap().val, "bad number syntax: \"1x\"");
    }
}
