//! Text → documents, with the position of every field.
//!
//! `stackhook validate` reports `FILE:LINE:COL` for each problem, so a document must
//! remember where each of its fields was written. This module reads multi-document YAML
//! (JSON is YAML too) from saphyr-parser's event stream into `serde_json::Value`s and
//! records, for each field path (`spec.stackSpec.inputs[0]`), the position of its key
//! (or, for list items, of the item).
//!
//! Scalars resolve by the YAML 1.2 core schema (as the API server's own YAML reader
//! does for everything Kubernetes manifests use): plain `true`, `null`, `12`, `1.5`
//! are typed; quoted and block scalars are text; `!!str` forces text. Anchors, aliases
//! and `<<` merge keys work; duplicate keys are an error, as they are for `kubectl`.
//! Nesting depth and alias expansion are bounded, so a hostile file cannot exhaust
//! memory or the stack.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

/// Deepest nesting of maps and lists a document may have.
pub const MAX_DEPTH: usize = 256;
/// Most values a document may hold after alias expansion (stops "billion laughs").
pub const MAX_NODES: usize = 1_000_000;

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1 (in characters).
    pub col: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

impl Position {
    fn of(span: &Span) -> Self {
        Self {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

/// A syntax error, with its position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {message}")]
pub struct SyntaxError {
    /// Where the error is.
    pub position: Position,
    /// What is wrong.
    pub message: String,
}

/// One document of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceDocument {
    /// The document's content.
    pub value: Value,
    /// Where the document's content starts.
    pub start: Position,
    positions: HashMap<String, Position>,
}

impl SourceDocument {
    /// The position of a field, by its path (`spec.stackSpec.inputs[0]`), or the position
    /// of its nearest ancestor that is present, or the document's start.
    pub fn position(&self, path: &str) -> Position {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) if i > 0 => p = &p[..i],
                _ => return self.start,
            }
        }
    }

    /// The position of exactly this field, if it is present.
    pub fn exact_position(&self, path: &str) -> Option<Position> {
        self.positions.get(path).copied()
    }
}

/// Appends a map key to a field path: `a` + `b` → `a.b`; keys that are not plain
/// identifiers are quoted: `metadata.annotations["stackhook.io/x"]`.
pub fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        // Debug formatting quotes and escapes like a JSON string.
        let _ = write!(path, "[{key:?}]");
    }
}

/// Appends a list index to a field path: `a` + 0 → `a[0]`.
pub fn push_index(path: &mut String, index: usize) {
    let _ = write!(path, "[{index}]");
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        path_len: usize,
    },
    Map {
        map: Map<String, Value>,
        /// Keys set by `<<` merges, which explicit keys may override.
        merged: Vec<String>,
        key: Option<(String, Position)>,
        anchor: usize,
        path_len: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    path: String,
    positions: HashMap<String, Position>,
    anchors: HashMap<usize, Value>,
    nodes: usize,
    root: Option<Value>,
}

fn err(position: Position, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
    }
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

impl Builder {
    fn new() -> Self {
        Self {
            stack: Vec::new(),
            path: String::new(),
            positions: HashMap::new(),
            anchors: HashMap::new(),
            nodes: 0,
            root: None,
        }
    }

    /// Before a node starts: extend the path for its place in the parent, record where
    /// it is, and return the path length to restore when it ends.
    fn enter(&mut self, pos: Position) -> usize {
        let before = self.path.len();
        match self.stack.last() {
            Some(Frame::Seq { items, .. }) => {
                push_index(&mut self.path, items.len());
                self.positions.insert(self.path.clone(), pos);
            }
            Some(Frame::Map {
                key: Some((k, kpos)),
                ..
            }) => {
                let kpos = *kpos;
                push_key(&mut self.path, &k.clone());
                self.positions.insert(self.path.clone(), kpos);
            }
            _ => {}
        }
        before
    }

    /// Adds a finished value to its parent; `nodes` is how many values it adds to the
    /// document (its children were counted when they were added).
    fn add(
        &mut self,
        value: Value,
        nodes: usize,
        anchor: usize,
        pos: Position,
    ) -> Result<(), SyntaxError> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(err(
                pos,
                format!("document has more than {MAX_NODES} values (after expanding aliases)"),
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, merged, key, ..
            }) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Null => "null".to_owned(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        Value::Array(_) | Value::Object(_) => {
                            return Err(err(pos, "a map key must be a scalar, not a list or map"));
                        }
                    };
                    if map.contains_key(&k) && !merged.contains(&k) {
                        return Err(err(pos, format!("duplicate key {k:?}")));
                    }
                    *key = Some((k, pos));
                }
                Some((k, kpos)) if k == "<<" => merge(map, merged, value, kpos)?,
                Some((k, _)) => {
                    merged.retain(|m| m != &k);
                    map.insert(k, value);
                }
            },
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        pos: Position,
    ) -> Result<(), SyntaxError> {
        let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        let before = if is_key { None } else { Some(self.enter(pos)) };
        let value = resolve_scalar(text, style, tag);
        self.add(value, 1, anchor, pos)?;
        if let Some(before) = before {
            self.path.truncate(before);
        }
        Ok(())
    }

    fn alias(&mut self, id: usize, pos: Position) -> Result<(), SyntaxError> {
        let value = self
            .anchors
            .get(&id)
            .cloned()
            .ok_or_else(|| err(pos, "alias to an unknown anchor"))?;
        let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        let before = if is_key { None } else { Some(self.enter(pos)) };
        let nodes = count_nodes(&value);
        self.add(value, nodes, 0, pos)?;
        if let Some(before) = before {
            self.path.truncate(before);
        }
        Ok(())
    }

    fn start(&mut self, seq: bool, anchor: usize, pos: Position) -> Result<(), SyntaxError> {
        if matches!(self.stack.last(), Some(Frame::Map { key: None, .. })) {
            return Err(err(pos, "a map key must be a scalar, not a list or map"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(err(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let path_len = self.enter(pos);
        self.stack.push(if seq {
            Frame::Seq {
                items: Vec::new(),
                anchor,
                path_len,
            }
        } else {
            Frame::Map {
                map: Map::new(),
                merged: Vec::new(),
                key: None,
                anchor,
                path_len,
            }
        });
        Ok(())
    }

    fn end(&mut self, pos: Position) -> Result<(), SyntaxError> {
        let (value, anchor, path_len) = match self.stack.pop() {
            Some(Frame::Seq {
                items,
                anchor,
                path_len,
            }) => (Value::Array(items), anchor, path_len),
            Some(Frame::Map {
                map,
                anchor,
                path_len,
                ..
            }) => (Value::Object(map), anchor, path_len),
            None => return Err(err(pos, "unbalanced end of collection")),
        };
        self.path.truncate(path_len);
        self.add(value, 1, anchor, pos)
    }
}

fn merge(
    map: &mut Map<String, Value>,
    merged: &mut Vec<String>,
    value: Value,
    pos: Position,
) -> Result<(), SyntaxError> {
    let sources = match value {
        Value::Object(m) => vec![m],
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m),
                _ => Err(err(pos, "a `<<` merge list must hold only maps")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(err(pos, "a `<<` merge key needs a map or a list of maps")),
    };
    for source in sources {
        for (k, v) in source {
            if !map.contains_key(&k) {
                merged.push(k.clone());
                map.insert(k, v);
            }
        }
    }
    Ok(())
}

/// Resolves a scalar by the YAML 1.2 core schema.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        match tag.suffix.as_str() {
            "str" | "binary" | "timestamp" => return Value::String(text.to_owned()),
            "null" => return Value::Null,
            "bool" | "int" | "float" => {
                return plain_scalar(text).unwrap_or_else(|| Value::String(text.to_owned()));
            }
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    plain_scalar(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

fn plain_scalar(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let bytes = text.as_bytes();
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::Number(u.into()));
        }
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8)
            .ok()
            .map(|i| Value::Number(i.into()));
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16)
            .ok()
            .map(|i| Value::Number(i.into()));
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let looks_float = {
        let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
        let int_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = i - int_start;
        let mut frac_digits = 0;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
                frac_digits += 1;
            }
        }
        let mut ok = int_digits > 0 || frac_digits > 0;
        if ok && i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
            i += 1;
            if i < bytes.len() && matches!(bytes[i], b'-' | b'+') {
                i += 1;
            }
            let exp_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            ok = i > exp_start;
        }
        ok && i == bytes.len()
    };
    if looks_float {
        // Infinity and NaN (`.inf`, `.nan`) have no JSON form; they stay text.
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

/// Reads every document of a YAML (or JSON) text. Empty documents (a lone `---`, a
/// file of comments) are left out.
pub fn parse_documents(text: &str) -> Result<Vec<SourceDocument>, SyntaxError> {
    let mut docs = Vec::new();
    let mut builder = Builder::new();
    let mut doc_start = Position { line: 1, col: 1 };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            err(
                Position {
                    line: e.marker().line(),
                    col: e.marker().col() + 1,
                },
                e.info().to_owned(),
            )
        })?;
        let pos = Position::of(&span);
        match event {
            Event::DocumentStart(_) => {
                builder = Builder::new();
                doc_start = pos;
            }
            Event::DocumentEnd => {
                let b = std::mem::replace(&mut builder, Builder::new());
                if let Some(value) = b.root
                    && !value.is_null()
                {
                    docs.push(SourceDocument {
                        value,
                        start: doc_start,
                        positions: b.positions,
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if builder.stack.is_empty() {
                    doc_start = pos;
                }
                builder.scalar(&text, style, anchor, tag.as_deref(), pos)?;
            }
            Event::Alias(id) => builder.alias(id, pos)?,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if builder.stack.is_empty() {
                    doc_start = pos;
                }
                let seq = matches!(event, Event::SequenceStart(..));
                builder.start(seq, anchor, pos)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.end(pos)?,
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> SourceDocument {
        let mut d = parse_documents(text).unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        d.remove(0)
    }

    #[test]
    fn reads_multiple_documents_with_their_start_lines() {
        let docs = parse_documents("a: 1\n---\n# comment\nb: 2\n---\n---\nc: [x]\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].value, json!({"a": 1}));
        assert_eq!(docs[1].start, Position { line: 4, col: 1 });
        assert_eq!(docs[2].value, json!({"c": ["x"]}));
        assert_eq!(docs[2].start.line, 7);
    }

    #[test]
    fn records_field_positions() {
        let d = one(
            "kind: Worker\nspec:\n  stack: benthos\n  stackSpec:\n    inputs:\n      - dataos://a\n      - dataos://b\n",
        );
        assert_eq!(d.position("spec.stack"), Position { line: 3, col: 3 });
        assert_eq!(
            d.position("spec.stackSpec.inputs[1]"),
            Position { line: 7, col: 9 }
        );
        // An absent field falls back to its nearest present ancestor.
        assert_eq!(
            d.position("spec.stackSpec.outputs[0]"),
            Position { line: 4, col: 3 }
        );
        assert_eq!(d.position("status"), d.start);
        assert_eq!(d.exact_position("spec.nope"), None);
    }

    #[test]
    fn quotes_odd_keys_in_paths() {
        let d = one("metadata:\n  annotations:\n    stackhook.io/x: y\n");
        assert_eq!(
            d.exact_position(r#"metadata.annotations["stackhook.io/x"]"#),
            Some(Position { line: 3, col: 5 })
        );
    }

    #[test]
    fn resolves_scalars_by_the_core_schema() {
        let d = one(
            "a: true\nb: ~\nc: 12\nd: 1.5\ne: '12'\nf: yes\ng: 0x1f\nh: 2.0\ni: !!str 7\nj: .inf\nk: 1e3\nl: 0755\nm: -3\nn: |\n  text\n",
        );
        assert_eq!(
            d.value,
            json!({"a": true, "b": null, "c": 12, "d": 1.5, "e": "12", "f": "yes", "g": 31,
                   "h": 2.0, "i": "7", "j": ".inf", "k": 1000.0, "l": 755, "m": -3, "n": "text\n"})
        );
    }

    #[test]
    fn reads_json() {
        let d = one("{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": null}");
        assert_eq!(d.value, json!({"a": [1, 2, {"b": "c"}], "d": null}));
    }

    #[test]
    fn expands_anchors_and_merge_keys() {
        let d = one("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nlist: [*b]\n");
        assert_eq!(
            d.value,
            json!({"base": {"x": 1, "y": 2}, "derived": {"x": 1, "y": 3}, "list": [{"x": 1, "y": 2}]})
        );
    }

    #[test]
    fn rejects_duplicate_keys_with_position() {
        let e = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.to_string(), r#"3:1: duplicate key "a""#);
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let e = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(e.position.line, 2, "{e}");
        let e = parse_documents("a: b: c\n").unwrap_err();
        assert_eq!(e.position, Position { line: 1, col: 5 }, "{e}");
        let e = parse_documents("{\"a\": 1,,}").unwrap_err();
        assert_eq!(e.position.line, 1, "{e}");
    }

    #[test]
    fn bounds_depth_and_alias_expansion() {
        let deep = "[".repeat(MAX_DEPTH + 10);
        // saphyr-parser stops first, at its own recursion limit; either bound will do.
        let e = parse_documents(&deep).unwrap_err();
        assert!(
            e.message.contains("recursion limit") || e.message.contains("nesting deeper"),
            "{e}"
        );

        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..7u8 {
            let (prev, next) = ((b'a' + i) as char, (b'b' + i) as char);
            bomb.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = parse_documents(&bomb).unwrap_err();
        assert!(e.message.contains("more than 1000000 values"), "{e}");
    }

    #[test]
    fn skips_empty_documents() {
        assert!(parse_documents("").unwrap().is_empty());
        assert!(
            parse_documents("# only a comment\n---\n")
                .unwrap()
                .is_empty()
        );
    }
}
