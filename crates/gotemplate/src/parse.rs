//! The parser: Go's `text/template/parse/parse.go` and the `String()` forms of its
//! nodes (execution errors quote them: `at <.a.b>`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::fmt::quote;
use super::lex::{Item, Kind, lex};

/// Deepest nesting of parentheses and control structures a template may have; deeper
/// templates are rejected (Go has no limit, and would exhaust the stack).
pub const MAX_PARSE_DEPTH: usize = 100;

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Text(Arc<str>),
    Action(Action),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template(TemplateCall),
    Break,
    Continue,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct List {
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug)]
pub(crate) struct Action {
    pub pipe: Pipe,
}

#[derive(Clone, Debug)]
pub(crate) struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Clone, Debug)]
pub(crate) struct TemplateCall {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<Pipe>,
}

#[derive(Clone, Debug)]
pub(crate) struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A number constant, as Go's NumberNode: which representations it has.
#[derive(Clone, Debug)]
pub(crate) struct Number {
    pub is_int: bool,
    pub is_float: bool,
    pub int: i64,
    pub float: f64,
    pub text: String,
}

#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Identifier(usize, String),
    Dot(usize),
    Nil(usize),
    /// `$x.a.b`: the variable and its fields.
    Variable(usize, Vec<String>),
    /// `.a.b`.
    Field(usize, Vec<String>),
    /// `(pipe).a.b` or `$x` chained after a term that is not a field or variable.
    Chain(usize, Box<Arg>, Vec<String>),
    Bool(usize, bool),
    Number(usize, Number),
    /// The quoted text as written, and its value.
    String(usize, String, Arc<str>),
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Self::Identifier(p, _)
            | Self::Dot(p)
            | Self::Nil(p)
            | Self::Variable(p, _)
            | Self::Field(p, _)
            | Self::Chain(p, ..)
            | Self::Bool(p, _)
            | Self::Number(p, _)
            | Self::String(p, ..) => *p,
            Self::Pipe(pipe) => pipe.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identifier(_, name) => f.write_str(name),
            Self::Dot(_) => f.write_str("."),
            Self::Nil(_) => f.write_str("nil"),
            Self::Variable(_, idents) => f.write_str(&idents.join(".")),
            Self::Field(_, idents) => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Self::Chain(_, node, fields) => {
                if matches!(**node, Self::Pipe(_)) {
                    write!(f, "({node})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Self::Bool(_, b) => write!(f, "{b}"),
            Self::Number(_, n) => f.write_str(&n.text),
            Self::String(_, quoted, _) => f.write_str(quoted),
            Self::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let branch = |f: &mut fmt::Formatter<'_>, name: &str, b: &Branch| {
            write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
            if let Some(e) = &b.else_list {
                write!(f, "{{{{else}}}}{e}")?;
            }
            f.write_str("{{end}}")
        };
        match self {
            Self::Text(t) => f.write_str(&quote(t)),
            Self::Action(a) => write!(f, "{{{{{}}}}}", a.pipe),
            Self::If(b) => branch(f, "if", b),
            Self::Range(b) => branch(f, "range", b),
            Self::With(b) => branch(f, "with", b),
            Self::Template(t) => match &t.pipe {
                None => write!(f, "{{{{template {}}}}}", quote(&t.name)),
                Some(p) => write!(f, "{{{{template {} {p}}}}}", quote(&t.name)),
            },
            Self::Break => f.write_str("{{break}}"),
            Self::Continue => f.write_str("{{continue}}"),
        }
    }
}

/// A parse error, in Go's words; `line` is where Go reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub message: String,
}

/// The parsed template set: the main tree and every `define`/`block`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Trees {
    pub trees: BTreeMap<String, Arc<List>>,
}

pub(crate) fn is_empty_tree(list: &List) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

/// Ends of item lists.
enum End {
    End,
    Else(usize),
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    next: usize,
    /// The last token handed out (Go's `t.token[0]`), for error lines.
    current: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    has_function: &'a dyn Fn(&str) -> bool,
    trees: &'a mut Trees,
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn error<T>(&self, message: impl Into<String>) -> PResult<T> {
        let line = self.items.get(self.current).map_or(1, |i| i.line);
        Err(ParseError {
            line,
            message: message.into(),
        })
    }

    fn next_item(&mut self) -> Item {
        let idx = self.next.min(self.items.len() - 1);
        self.current = idx;
        if self.next < self.items.len() {
            self.next += 1;
        }
        self.items[idx].clone()
    }

    fn backup(&mut self) {
        self.next = self.next.saturating_sub(1);
    }

    fn peek(&self) -> &Item {
        &self.items[self.next.min(self.items.len() - 1)]
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let item = self.next_item();
            if item.kind != Kind::Space {
                return item;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let item = self.next_non_space();
        self.backup();
        item
    }

    fn unexpected<T>(&self, item: &Item, context: &str) -> PResult<T> {
        if item.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != item.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if item.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_owned();
                }
            }
            return self.error(format!("{}{extra}", item.val));
        }
        self.error(format!("unexpected {} in {context}", item.describe()))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Item> {
        let item = self.next_non_space();
        if item.kind != kind {
            return self.unexpected(&item, context);
        }
        Ok(item)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return self.error(format!("nesting deeper than {MAX_PARSE_DEPTH} levels"));
        }
        Ok(())
    }

    fn add(&mut self, name: &str, list: List) -> PResult<()> {
        match self.trees.trees.get(name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !is_empty_tree(&list) {
                    return self.error(format!(
                        "template: multiple definition of template {}",
                        quote(name)
                    ));
                }
                Ok(())
            }
            _ => {
                self.trees.trees.insert(name.to_owned(), Arc::new(list));
                Ok(())
            }
        }
    }

    fn parse_root(&mut self) -> PResult<()> {
        let mut root = List::default();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let delim = self.next;
                self.next_item();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.next = delim;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.nodes.push(n),
                Parsed::End => return self.error("unexpected {{end}}"),
                Parsed::Else(_) => return self.error("unexpected {{else}}"),
            }
        }
        let name = self.name.to_owned();
        self.add(&name, root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let item = self.next_non_space();
        if !matches!(item.kind, Kind::String | Kind::RawString) {
            return self.unexpected(&item, context);
        }
        let name = self.unquote(&item.val)?;
        self.expect(Kind::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let End::Else(_) = end {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(&name, list)
    }

    fn item_list(&mut self) -> PResult<(List, End)> {
        let mut list = List::default();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.nodes.push(n),
                Parsed::End => return Ok((list, End::End)),
                Parsed::Else(pos) => return Ok((list, End::Else(pos))),
            }
        }
        self.error("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(item.val.into()))),
            Kind::LeftDelim => {
                let saved = self.action_line;
                self.action_line = item.line;
                let r = self.action();
                self.action_line = saved;
                r
            }
            _ => self.unexpected(&item, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let item = self.next_non_space();
        match item.kind {
            Kind::Block => return self.block_control().map(Parsed::Node),
            Kind::Break | Kind::Continue => {
                let name = if item.kind == Kind::Break {
                    "break"
                } else {
                    "continue"
                };
                let next = self.next_item();
                if next.kind != Kind::RightDelim {
                    return self.unexpected(&next, &format!("in {{{{{name}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.error(format!("{{{{{name}}}}} outside {{{{range}}}}"));
                }
                return Ok(Parsed::Node(if item.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Kind::Else => {
                let peek = self.peek_non_space();
                if peek.kind == Kind::If {
                    return Ok(Parsed::Else(peek.pos));
                }
                let t = self.expect(Kind::RightDelim, "else")?;
                return Ok(Parsed::Else(t.pos));
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Kind::If => return self.control("if", true).map(Node::If).map(Parsed::Node),
            Kind::Range => {
                return self
                    .control("range", false)
                    .map(Node::Range)
                    .map(Parsed::Node);
            }
            Kind::With => {
                return self
                    .control("with", false)
                    .map(Node::With)
                    .map(Parsed::Node);
            }
            Kind::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Parsed::Node(Node::Action(Action { pipe })))
    }

    fn control(&mut self, context: &str, allow_else_if: bool) -> PResult<Branch> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let End::Else(else_pos) = end {
            if allow_else_if && self.peek().kind == Kind::If {
                self.next_item();
                let nested = self.control("if", true)?;
                else_list = Some(List {
                    nodes: vec![Node::If(nested)],
                });
                let _ = else_pos;
            } else {
                let (list, end) = self.item_list()?;
                if let End::Else(_) = end {
                    return self.error("expected end; found {{else}}");
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let item = self.next_non_space();
        let name = self.template_name(&item, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if let End::Else(_) = end {
            return self.error(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.add(&name, list)?;
        Ok(Node::Template(TemplateCall {
            pos: item.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let item = self.next_non_space();
        let name = self.template_name(&item, context)?;
        let pipe = if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(context, Kind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template(TemplateCall {
            pos: item.pos,
            name,
            pipe,
        }))
    }

    fn template_name(&self, item: &Item, context: &str) -> PResult<String> {
        match item.kind {
            Kind::String | Kind::RawString => self.unquote(&item.val),
            _ => self.unexpected(item, context),
        }
    }

    fn unquote(&self, quoted: &str) -> PResult<String> {
        super::fmt::unquote(quoted).map_or_else(|| self.error("invalid syntax"), Ok)
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.next;
            self.next_non_space();
            let after_variable = self.peek().clone();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    break;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                            _ => return self.error("range can only initialize variables"),
                        }
                    }
                    return self.error(format!("too many declarations in {context}"));
                }
                _ => {
                    let _ = after_variable;
                    self.next = save;
                    break;
                }
            }
        }
        loop {
            let item = self.next_non_space();
            if item.kind == end {
                if pipe.cmds.is_empty() {
                    return self.error(format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args.first(),
                        Some(
                            Arg::Bool(..)
                                | Arg::Dot(_)
                                | Arg::Nil(_)
                                | Arg::Number(..)
                                | Arg::String(..)
                        )
                    ) {
                        return self.error(format!(
                            "non executable command in pipeline stage {}",
                            i + 1
                        ));
                    }
                }
                return Ok(pipe);
            }
            match item.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&item, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let item = self.next_item();
            match item.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(&item, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.error("empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let f = self.next_item();
            fields.push(f.val[1..].to_owned());
        }
        Ok(Some(match node {
            Arg::Field(_, mut idents) => {
                idents.extend(fields);
                Arg::Field(chain_pos, idents)
            }
            Arg::Variable(_, mut idents) => {
                idents.extend(fields);
                Arg::Variable(chain_pos, idents)
            }
            Arg::Bool(..) | Arg::String(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.error(format!(
                    "unexpected . after term {}",
                    quote(&node.to_string())
                ));
            }
            other => Arg::Chain(chain_pos, Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let item = self.next_non_space();
        Ok(Some(match item.kind {
            Kind::Identifier => {
                if !(self.has_function)(&item.val) {
                    if let Some(why) = super::funcs::refused(&item.val) {
                        return self.error(format!(
                            "function {} is not available: it {why}, and a template must render the same bytes from the same inputs wherever it runs",
                            quote(&item.val)
                        ));
                    }
                    return self.error(format!("function {} not defined", quote(&item.val)));
                }
                Arg::Identifier(item.pos, item.val)
            }
            Kind::Dot => Arg::Dot(item.pos),
            Kind::Nil => Arg::Nil(item.pos),
            Kind::Variable => {
                let idents: Vec<String> = item.val.split('.').map(str::to_owned).collect();
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return self.error(format!("undefined variable {}", quote(&idents[0])));
                }
                Arg::Variable(item.pos, idents)
            }
            Kind::Field => Arg::Field(
                item.pos,
                item.val[1..].split('.').map(str::to_owned).collect(),
            ),
            Kind::Bool => Arg::Bool(item.pos, item.val == "true"),
            Kind::CharConstant | Kind::Complex | Kind::Number => {
                let n = self.number(&item)?;
                Arg::Number(item.pos, n)
            }
            Kind::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline", Kind::RightParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe))
            }
            Kind::String | Kind::RawString => {
                let value = self.unquote(&item.val)?;
                Arg::String(item.pos, item.val, value.into())
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn number(&self, item: &Item) -> PResult<Number> {
        let text = item.val.clone();
        if item.kind == Kind::Complex || text.ends_with('i') {
            return self.error(format!(
                "complex constants are not supported: {}",
                quote(&text)
            ));
        }
        if item.kind == Kind::CharConstant {
            let c = super::fmt::unquote_char(&text).map_or_else(
                || self.error(format!("malformed character constant: {text}")),
                Ok,
            )?;
            return Ok(Number {
                is_int: true,
                is_float: true,
                int: i64::from(u32::from(c)),
                float: f64::from(u32::from(c)),
                text,
            });
        }
        let clean = text.replace('_', "");
        let (negative, unsigned) = match clean.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
        };
        let radix_int = |s: &str| -> Option<i128> {
            let (radix, digits) =
                if let Some(d) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    (16, d)
                } else if let Some(d) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
                    (8, d)
                } else if let Some(d) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
                    (2, d)
                } else if s.len() > 1 && s.starts_with('0') {
                    (8, &s[1..])
                } else {
                    (10, s)
                };
            i128::from_str_radix(digits, radix).ok()
        };
        let mut n = Number {
            is_int: false,
            is_float: false,
            int: 0,
            float: 0.0,
            text: text.clone(),
        };
        if let Some(v) = radix_int(unsigned) {
            let v = if negative { -v } else { v };
            if let Ok(i) = i64::try_from(v) {
                n.is_int = true;
                n.int = i;
                n.is_float = true;
                n.float = i as f64;
            } else if u64::try_from(v).is_ok() {
                return self.error(format!("{text} overflows int"));
            }
        }
        if !n.is_int {
            let looks_hex = unsigned.starts_with("0x") || unsigned.starts_with("0X");
            match clean.parse::<f64>() {
                Ok(f) if !looks_hex => {
                    if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                        return self.error(format!("integer overflow: {}", quote(&text)));
                    }
                    n.is_float = true;
                    n.float = f;
                    if f.fract() == 0.0 && f.abs() < 9.2e18 {
                        n.is_int = true;
                        n.int = f as i64;
                    }
                }
                _ => return self.error(format!("illegal number syntax: {}", quote(&text))),
            }
        }
        Ok(n)
    }
}

enum Parsed {
    Node(Node),
    End,
    Else(usize),
}

/// Parses `text` as the template `name`, adding it and its `define`s to `trees`.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
    trees: &mut Trees,
) -> Result<(), ParseError> {
    let items = lex(text);
    let mut parser = Parser {
        name,
        items,
        next: 0,
        current: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        action_line: 0,
        has_function,
        trees,
    };
    parser.parse_root()
}
