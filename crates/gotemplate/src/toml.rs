//! Helm's `toToml`: BurntSushi/toml's encoder (v1.2, Debian's, which Helm's is), as
//! its `encode.go` writes maps, lists and scalars: a table's plain keys first, then
//! its tables, each group sorted; arrays of maps as `[[key]]`; maps inside arrays
//! inline; nulls in maps skipped; a null in an array an error. Helm returns the error's
//! text as the output.

use std::fmt::Write as _;

use super::fmt::{MAX_VALUE_DEPTH, PrintError};
use super::value::Value;

const INDENT: &str = "  ";

/// The encoder's errors, as `err.Error()` prints them.
enum TomlError {
    Go(&'static str),
    Print(PrintError),
}

type R = Result<(), TomlError>;

struct Encoder {
    out: String,
    cap: usize,
}

#[derive(PartialEq, Eq)]
enum Kind {
    /// `nil`: no TOML type.
    None,
    Table,
    ArrayOfTables,
    Other,
}

/// `tomlTypeOfGo`, reduced to what the encoder branches on; it fails, as Go's does,
/// on a nil element of an array it classifies.
fn kind(v: &Value, depth: usize) -> Result<Kind, TomlError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(TomlError::Print(PrintError::Depth));
    }
    Ok(match v {
        Value::Missing | Value::Nil => Kind::None,
        Value::Map(_) => Kind::Table,
        Value::List(l) => {
            if l.items.is_empty() {
                return Ok(Kind::Other);
            }
            let mut all_tables = true;
            for item in &l.items {
                let k = kind(item, depth + 1)?;
                if k == Kind::None {
                    return Err(TomlError::Go("toml: cannot encode array with nil element"));
                }
                all_tables &= k == Kind::Table;
            }
            if all_tables {
                Kind::ArrayOfTables
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    })
}

fn is_bare(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// BurntSushi's `dblQuotedReplacer`.
fn quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn maybe_quoted(out: &mut String, k: &str) {
    if k.is_empty() {
        out.push_str("\"\"");
    } else if is_bare(k) {
        out.push_str(k);
    } else {
        quoted(out, k);
    }
}

impl Encoder {
    fn check(&self) -> R {
        if self.out.len() > self.cap {
            return Err(TomlError::Print(PrintError::Bytes));
        }
        Ok(())
    }

    fn indent(&mut self, key: &[String]) {
        for _ in 1..key.len() {
            self.out.push_str(INDENT);
        }
    }

    fn key_path(&mut self, key: &[String]) {
        for (i, k) in key.iter().enumerate() {
            if i > 0 {
                self.out.push('.');
            }
            maybe_quoted(&mut self.out, k);
        }
    }

    /// `enc.newline()`: only once something is written.
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn encode(&mut self, key: &mut Vec<String>, v: &Value, depth: usize) -> R {
        self.check()?;
        if depth > MAX_VALUE_DEPTH {
            return Err(TomlError::Print(PrintError::Depth));
        }
        match v {
            Value::Missing | Value::Nil => Ok(()),
            Value::Map(_) => self.table(key, v, depth),
            Value::List(_) if kind(v, depth)? == Kind::ArrayOfTables => {
                if key.is_empty() {
                    return Err(TomlError::Go(
                        "toml: top-level values must be Go maps or structs",
                    ));
                }
                let Value::List(l) = v else { return Ok(()) };
                for item in &l.items {
                    self.newline();
                    self.indent(key);
                    self.out.push_str("[[");
                    self.key_path(key);
                    self.out.push_str("]]");
                    self.newline();
                    self.map(key, item, false, depth + 1)?;
                }
                Ok(())
            }
            _ => self.key_value(key, v, false, depth),
        }
    }

    fn table(&mut self, key: &mut Vec<String>, v: &Value, depth: usize) -> R {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            self.indent(key);
            self.out.push('[');
            self.key_path(key);
            self.out.push(']');
            self.newline();
        }
        self.map(key, v, false, depth)
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool, depth: usize) -> R {
        let Some(last) = key.last() else {
            return Err(TomlError::Go(
                "toml: top-level values must be Go maps or structs",
            ));
        };
        self.indent(key);
        maybe_quoted(&mut self.out, last);
        self.out.push_str(" = ");
        self.element(v, depth + 1)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn map(&mut self, key: &mut Vec<String>, v: &Value, inline: bool, depth: usize) -> R {
        let Value::Map(m) = v else {
            return Ok(());
        };
        let entries: Vec<(String, Value)> = m
            .borrow()
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (mut direct, mut sub) = (Vec::new(), Vec::new());
        for (k, item) in &entries {
            if matches!(kind(item, depth + 1)?, Kind::Table | Kind::ArrayOfTables) {
                sub.push((k, item));
            } else {
                direct.push((k, item));
            }
        }
        if inline {
            self.out.push('{');
        }
        let trail = !sub.is_empty();
        for (group, trail) in [(direct, trail), (sub, false)] {
            let n = group.len();
            for (i, (k, item)) in group.into_iter().enumerate() {
                if item.is_nil() {
                    continue;
                }
                if inline {
                    self.key_value(std::slice::from_ref(k), item, true, depth)?;
                    if trail || i != n - 1 {
                        self.out.push_str(", ");
                    }
                } else {
                    key.push(k.clone());
                    let r = self.encode(key, item, depth + 1);
                    key.pop();
                    r?;
                }
            }
        }
        if inline {
            self.out.push('}');
        }
        Ok(())
    }

    fn element(&mut self, v: &Value, depth: usize) -> R {
        self.check()?;
        if depth > MAX_VALUE_DEPTH {
            return Err(TomlError::Print(PrintError::Depth));
        }
        match v {
            Value::Missing | Value::Nil => {}
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Uint64(u) => {
                let _ = write!(self.out, "{u}");
            }
            Value::Float(f) => {
                if f.is_nan() {
                    self.out.push_str("nan");
                } else if f.is_infinite() {
                    self.out.push_str(if *f < 0.0 { "-inf" } else { "+inf" });
                } else {
                    let text = super::fmt::format_float(*f, 'f', None);
                    self.out.push_str(&text);
                    if !text.contains('.') {
                        self.out.push_str(".0");
                    }
                }
            }
            Value::String(s) => quoted(&mut self.out, s),
            Value::Time(t) => self
                .out
                .push_str(&t.format("2006-01-02T15:04:05.999999999Z07:00")),
            Value::Semver(sv) => quoted(&mut self.out, &sv.string()),
            Value::List(l) => {
                self.out.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    self.element(item, depth + 1)?;
                    if i + 1 != l.items.len() {
                        self.out.push_str(", ");
                    }
                }
                self.out.push(']');
            }
            Value::Map(_) => self.map(&mut Vec::new(), v, true, depth)?,
        }
        Ok(())
    }
}

/// Helm's `toToml`: the TOML text, or the encoder's error as text; a value past the
/// bounds (`cap` bytes, nesting) is an error.
pub(crate) fn to_toml(v: &Value, cap: usize) -> Result<String, PrintError> {
    let mut enc = Encoder {
        out: String::new(),
        cap,
    };
    // Encode: a nil top level, in Go, is a reflect panic, which the template reports.
    if v.is_nil() {
        return Ok(String::new());
    }
    match enc.encode(&mut Vec::new(), v, 0) {
        Ok(()) => Ok(enc.out),
        Err(TomlError::Go(message)) => Ok(message.to_owned()),
        Err(TomlError::Print(e)) => Err(e),
    }
}
