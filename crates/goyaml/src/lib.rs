//! YAML as Go reads it: text → documents, with the position of every field.
//!
//! A tool that reports `FILE:LINE:COL` for each problem in a Kubernetes manifest needs
//! a document to remember where each of its fields was written, and needs the values to
//! be what `kubectl` and Helm would send. This crate reads multi-document YAML
//! (JSON is YAML too) from saphyr-parser's event stream into `serde_json::Value`s and
//! records, for each field path (`spec.stackSpec.inputs[0]`), the position of its key
//! (or, for list items, of the item).
//!
//! Plain scalars resolve as `gopkg.in/yaml.v2` resolves them, which is how `kubectl`
//! and Helm read manifests ([`resolve_plain`]): `yes` is `true`, `0755` is 493; quoted
//! and block scalars are text; `!!str` forces text. Anchors, aliases
//! and `<<` merge keys work; duplicate keys are an error, as they are for `kubectl`.
//! Nesting depth and alias expansion are bounded ([`Limits`]), in values and in bytes,
//! so a hostile file cannot exhaust memory or the stack: an anchor on a 200 KB string
//! referenced 5,000 times is refused, not expanded to a gigabyte.
//!
//! # What it matches
//!
//! `gopkg.in/yaml.v2` 2.4.0 (as Debian ships it, read by Go 1.19): every file of
//! `tests/goyaml/cases` and a corpus of real manifests give the same documents as
//! yaml.v2 unmarshalling into `interface{}` (through `encoding/json`, as
//! `sigs.k8s.io/yaml` does), or both fail. `tests/goyaml.rs` runs that comparison
//! against the real Go where it is installed, and against its recorded answers
//! elsewhere. Two differences are intended and listed there: a duplicate key is an
//! error (as `kubectl apply` makes it), and `\/` in a double-quoted scalar is read as
//! YAML 1.2's escape of `/`.
//!
//! # Bounds
//!
//! [`Limits`]: values after alias expansion ([`MAX_NODES`]), bytes aliases may add
//! ([`MAX_ALIAS_BYTES`]), and a total (a template's `fromYaml` reads within its own
//! memory budget, [`Limits::within`]); nesting is at most [`MAX_DEPTH`]. Exceeding one
//! is a [`SyntaxError`] with `limit` set.
//!
//! # Extending it
//!
//! Scalar resolution is one function, [`resolve_plain`] (with [`is_timestamp`] and
//! [`is_yaml_float`], which a YAML writer uses to quote what would read back as
//! another type); a new case goes into `tests/goyaml/cases` and is recorded with
//! `STACKHOOK_UPDATE_GO_EXPECTED=1` from the real yaml.v2.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

/// Deepest nesting of maps and lists a document may have.
pub const MAX_DEPTH: usize = 256;
/// Most values a document may hold after alias expansion (stops "billion laughs").
pub const MAX_NODES: usize = 1_000_000;
/// Most bytes aliases may add to a text's documents, beyond the text's own size.
pub const MAX_ALIAS_BYTES: usize = 16 << 20;
/// Bytes a value is counted as, besides its text.
const VALUE_COST: usize = 16;

/// How much a text may expand into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most values in one document, after expanding aliases.
    pub max_nodes: usize,
    /// Most bytes (strings and keys, plus [`VALUE_COST`] a value) all documents of the
    /// text may hold after expanding aliases, beyond the text's own length.
    pub max_alias_bytes: usize,
    /// Most bytes in all, whatever the text's length (`usize::MAX`: no such bound).
    pub max_total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: MAX_NODES,
            max_alias_bytes: MAX_ALIAS_BYTES,
            max_total_bytes: usize::MAX,
        }
    }
}

impl Limits {
    /// At most `bytes` in all (a template's `fromYaml`, within its memory budget).
    pub fn within(bytes: usize) -> Self {
        Self {
            max_total_bytes: bytes,
            ..Self::default()
        }
    }
}

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
    /// Whether a size limit stopped reading (rather than the syntax).
    pub limit: bool,
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
    /// Each anchored value with its node count and bytes.
    anchors: HashMap<usize, (Value, usize, usize)>,
    nodes: usize,
    root: Option<Value>,
    max_nodes: usize,
    /// Items of the top-level `items` list are handed over one by one (a `List`).
    split: Option<Split>,
    /// Items finished and not yet handed over.
    done: Vec<Piece>,
}

/// The state of a `List` whose items are handed over one by one.
struct Split {
    /// Whether the `items` list is being read (it is over once it ends).
    active: bool,
    /// The document's positions and value count while an item is being read.
    saved: Option<(HashMap<String, Position>, usize)>,
    /// Where the item being read starts.
    start: Position,
}

/// What the documents of one text hold so far, in bytes, against the limits.
struct Weight {
    bytes: usize,
    cap: usize,
}

fn err(position: Position, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
        limit: false,
    }
}

fn limit(position: Position, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
        limit: true,
    }
}

/// Values and bytes of a finished value.
fn weigh(v: &Value) -> (usize, usize) {
    match v {
        Value::Array(a) => a.iter().fold((1, VALUE_COST), |(n, b), x| {
            let (xn, xb) = weigh(x);
            (n + xn, b + xb)
        }),
        Value::Object(m) => m.iter().fold((1, VALUE_COST), |(n, b), (k, x)| {
            let (xn, xb) = weigh(x);
            (n + xn, b + xb + k.len())
        }),
        Value::String(s) => (1, VALUE_COST + s.len()),
        _ => (1, VALUE_COST),
    }
}

impl Builder {
    fn new(max_nodes: usize) -> Self {
        Self {
            stack: Vec::new(),
            path: String::new(),
            positions: HashMap::new(),
            anchors: HashMap::new(),
            nodes: 0,
            root: None,
            max_nodes,
            split: None,
            done: Vec::new(),
        }
    }

    /// Whether the next node is an item of the `items` list being split (the stack is
    /// the root map and that list).
    fn at_split_item(&self) -> bool {
        self.split.as_ref().is_some_and(|s| s.active) && self.stack.len() == 2
    }

    /// Splits the list that starts next (the root map's `items`) into its items.
    fn split_next(&mut self) {
        self.split = Some(Split {
            active: false,
            saved: None,
            start: Position::default(),
        });
    }

    /// Whether the next node is the value of the root map's `items` key, with the
    /// document's `kind` if a key before it gave it.
    fn at_top_level_items(&self) -> Option<Option<&str>> {
        match self.stack.as_slice() {
            [
                Frame::Map {
                    map,
                    key: Some((k, _)),
                    ..
                },
            ] if k == "items" => Some(map.get("kind").map(|k| k.as_str().unwrap_or_default())),
            _ => None,
        }
    }

    /// Before a node starts: extend the path for its place in the parent, record where
    /// it is, and return the path length to restore when it ends.
    fn enter(&mut self, pos: Position) -> usize {
        let before = self.path.len();
        if self.at_split_item()
            && let Some(split) = self.split.as_mut()
        {
            // An item of a split List: its positions are its own document's.
            split.saved = Some((std::mem::take(&mut self.positions), self.nodes));
            split.start = pos;
        }
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
        if self.nodes > self.max_nodes {
            return Err(limit(
                pos,
                format!(
                    "document has more than {} values (after expanding aliases)",
                    self.max_nodes
                ),
            ));
        }
        if anchor != 0 {
            let (n, b) = weigh(&value);
            self.anchors.insert(anchor, (value.clone(), n, b));
        }
        if self.at_split_item()
            && let Some(Split {
                saved: saved @ Some(_),
                start,
                ..
            }) = self.split.as_mut()
            && let Some(Frame::Seq { items, .. }) = self.stack.last_mut()
            && let Some((positions, nodes)) = saved.take()
        {
            // Handed over now; a placeholder keeps the next item's index.
            let item = items.len();
            items.push(Value::Null);
            self.done.push(Piece {
                document: SourceDocument {
                    value,
                    start: *start,
                    positions: std::mem::replace(&mut self.positions, positions),
                },
                item: Some(item),
            });
            // Each item is held to the limit of values as a document of its own.
            self.nodes = nodes;
            return Ok(());
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

    fn alias(&mut self, id: usize, pos: Position, weight: &mut Weight) -> Result<(), SyntaxError> {
        let (value, nodes, bytes) = self
            .anchors
            .get(&id)
            .ok_or_else(|| err(pos, "alias to an unknown anchor"))?;
        let (nodes, bytes) = (*nodes, *bytes);
        // Checked before the value is copied: the copy is what a "billion laughs"
        // file makes, in bytes as much as in values.
        weight.add(bytes, pos)?;
        if self.nodes + nodes > self.max_nodes {
            return Err(limit(
                pos,
                format!(
                    "document has more than {} values (after expanding aliases)",
                    self.max_nodes
                ),
            ));
        }
        let value = value.clone();
        let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        let before = if is_key { None } else { Some(self.enter(pos)) };
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
        if seq
            && self.stack.len() == 1
            && let Some(split) = self.split.as_mut()
        {
            split.active = true;
        }
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
        if self.stack.len() == 1
            && let Some(split) = self.split.as_mut()
        {
            // The split `items` list is over: what follows is the List's own.
            split.active = false;
        }
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
    match resolve_plain(text) {
        Plain::Str => None,
        Plain::Null => Some(Value::Null),
        Plain::Bool(b) => Some(Value::Bool(b)),
        Plain::Int(i) => Some(Value::Number(i.into())),
        Plain::Uint(u) => Some(Value::Number(u.into())),
        // Infinity and NaN have no JSON form (kubectl cannot send them either): text.
        Plain::Float(f) => {
            Some(Number::from_f64(f).map_or_else(|| Value::String(text.to_owned()), Value::Number))
        }
    }
}

/// What a plain (unquoted) scalar means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Plain {
    /// Text.
    Str,
    /// `null`, `~`, empty.
    Null,
    /// A boolean, including YAML 1.1's `yes`/`no`/`on`/`off`/`y`/`n`.
    Bool(bool),
    /// An integer (decimal, `0x`, `0o`, `0b`, or a leading-`0` octal).
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// A float (including `.inf` and `.nan`).
    Float(f64),
}

/// Resolves a plain scalar the way `gopkg.in/yaml.v2` does — which is how `kubectl`
/// (through `sigs.k8s.io/yaml`) and Helm read YAML, so a manifest means here what it
/// means when applied: `yes` and `on` are `true`, `0755` is 493. Timestamps stay text,
/// as they do in the JSON kubectl sends.
pub fn resolve_plain(text: &str) -> Plain {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Plain::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Plain::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        ".nan" | ".NaN" | ".NAN" => return Plain::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match text.as_bytes()[0] {
        b'.' => text.parse::<f64>().map_or(Plain::Str, Plain::Float),
        b'+' | b'-' | b'0'..=b'9' => {
            if is_timestamp(text) {
                return Plain::Str;
            }
            let plain = text.replace('_', "");
            if let Some(p) = parse_int_base0(&plain) {
                return p;
            }
            if is_yaml_float(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return Plain::Float(f);
            }
            let (neg, bin) = match plain.strip_prefix("-0b") {
                Some(d) => (true, Some(d)),
                None => (false, plain.strip_prefix("0b")),
            };
            if let Some(Ok(v)) = bin.map(|d| i64::from_str_radix(d, 2)) {
                return Plain::Int(if neg { -v } else { v });
            }
            Plain::Str
        }
        _ => Plain::Str,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`.
fn parse_int_base0(s: &str) -> Option<Plain> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, d) = if let Some(d) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, d)
    } else if let Some(d) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, d)
    } else if let Some(d) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, d)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if d.is_empty() || d.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(d, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude)
            .ok()
            .map(|m| -m)
            .or((magnitude == 1 << 63).then_some(i64::MIN))?;
        Some(Plain::Int(v))
    } else {
        Some(i64::try_from(magnitude).map_or(Plain::Uint(magnitude), Plain::Int))
    }
}

/// yaml.v2's float form: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
pub fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// yaml.v2's timestamp forms: `2006-1-2`, optionally with a time of day.
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let (date, time) = match rest.find(['T', 't', ' ']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut parts = date.split('-');
    let field = |p: Option<&str>| {
        p.filter(|p| !p.is_empty() && p.len() <= 2)
            .and_then(|p| p.parse::<u32>().ok())
    };
    let (month, day) = (field(parts.next()), field(parts.next()));
    if parts.next().is_some() || !matches!(month, Some(1..=12)) || !matches!(day, Some(1..=31)) {
        return false;
    }
    match time {
        None => true,
        Some(t) => {
            let t = t.trim_end_matches('Z');
            let t = t.rfind(['+', '-']).map_or(t, |i| &t[..i]);
            let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
            let fields: Vec<&str> = hms.split(':').collect();
            fields.len() == 3
                && fields
                    .iter()
                    .all(|f| !f.is_empty() && f.len() <= 2 && f.bytes().all(|c| c.is_ascii_digit()))
                && frac.bytes().all(|c| c.is_ascii_digit())
        }
    }
}

impl Weight {
    fn add(&mut self, bytes: usize, pos: Position) -> Result<(), SyntaxError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.cap {
            return Err(limit(
                pos,
                format!(
                    "expanding aliases makes more than {} bytes; refusing (as yaml.v2 refuses excessive aliasing)",
                    self.cap
                ),
            ));
        }
        Ok(())
    }
}

/// Reads every document of a YAML (or JSON) text, within the default [`Limits`].
/// Empty documents (a lone `---`, a file of comments) are left out.
pub fn parse_documents(text: &str) -> Result<Vec<SourceDocument>, SyntaxError> {
    parse_documents_with(text, &Limits::default())
}

/// The scanner's message for a quoted scalar's continuation line written left of the
/// block it is in.
const QUOTED_INDENT_ERROR: &str = "invalid indentation in quoted scalar";

/// Most quoted scalars of one text that [`parse_documents_with`] re-indents.
const MAX_REINDENTS: usize = 64;
/// Most bytes [`parse_documents_with`] reads again after re-indenting, so that a text
/// of many such scalars costs a bounded multiple of one reading.
const MAX_REREAD_BYTES: usize = 4 << 20;

/// Reads every document of a YAML (or JSON) text within `limits`.
///
/// A multi-line quoted scalar whose continuation lines sit at (or left of) its key's
/// indentation is read as Go's yaml.v2 (and so `kubectl` and DataOS) reads it:
/// saphyr-parser refuses it, so the continuation lines are indented and the text read
/// again. That changes no value (a quoted scalar's line folding drops a continuation
/// line's leading blanks) and no line number.
pub fn parse_documents_with(
    text: &str,
    limits: &Limits,
) -> Result<Vec<SourceDocument>, SyntaxError> {
    let mut docs = Vec::new();
    read_documents(text, limits, Lists::Whole, &mut |p| docs.push(p.document))?;
    Ok(docs)
}

/// What [`read_documents`] hands over: a whole document, or one item of a `List`.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// The document, or the item. An item's positions are under its path in the
    /// List (`items[3].spec.stack`), and its start is the item's.
    pub document: SourceDocument,
    /// The item's index in the List's `items`; `None` for a whole document.
    pub item: Option<usize>,
}

/// How [`read_documents`] hands over a `List` (a top-level map whose `kind` ends in
/// `List`, with an `items` list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lists {
    /// As one document.
    Whole,
    /// Item by item, each as soon as it is read; the List itself is not handed over.
    Items,
}

/// Reads the documents of a YAML (or JSON) text within `limits`, handing each to
/// `each` as soon as it is read, so that no more than one document (or one item of a
/// List, with [`Lists::Items`]) is held at a time, whatever the text holds. Documents
/// handed over before a syntax error stay handed over; the error is returned.
///
/// Quoted scalars are re-indented as [`parse_documents_with`] says; the text read
/// again, the pieces already handed over are not handed over again.
pub fn read_documents(
    text: &str,
    limits: &Limits,
    lists: Lists,
    each: &mut dyn FnMut(Piece),
) -> Result<(), SyntaxError> {
    let mut fixed: Option<String> = None;
    let mut reread = 0usize;
    // Pieces handed over so far: a reading again skips them.
    let mut handed = 0usize;
    for round in 0..=MAX_REINDENTS {
        let current = fixed.as_deref().unwrap_or(text);
        let skip = handed;
        let mut seen = 0usize;
        let mut hand = |p: Piece| {
            seen += 1;
            if seen > skip {
                handed += 1;
                each(p);
            }
        };
        match parse_once(current, limits, lists, &mut hand) {
            Err(Parse::QuotedIndent { error, line, col }) if round < MAX_REINDENTS => {
                reread = reread.saturating_add(current.len());
                if reread > MAX_REREAD_BYTES {
                    return Err(error);
                }
                match reindent_quoted(current, line, col) {
                    Some(next) => fixed = Some(next),
                    None => return Err(error),
                }
            }
            Err(Parse::QuotedIndent { error, .. } | Parse::Other(error)) => return Err(error),
            Ok(()) => return Ok(()),
        }
    }
    Ok(())
}

/// The `kind` of each document of a text, as its root map's `kind` key gives it
/// (`None`: none, or not a plain text), read from the events alone (no values are
/// built): where `items` comes before `kind`, as `kubectl get -o yaml` writes a List.
fn top_level_kinds(text: &str) -> Vec<Option<String>> {
    let mut kinds = Vec::new();
    // Per open collection: whether it is a map, and whether a key comes next.
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut last_key_is_kind = false;
    for event in Parser::new_from_str(text) {
        let Ok((event, _)) = event else {
            // The reading proper reports it.
            break;
        };
        match event {
            Event::DocumentStart(_) => {
                kinds.push(None);
                stack.clear();
            }
            Event::Scalar(value, ..) => {
                if let [(true, key_next)] = stack.as_mut_slice() {
                    if *key_next {
                        last_key_is_kind = value == "kind";
                    } else if last_key_is_kind && let Some(k) = kinds.last_mut() {
                        *k = Some(value.into_owned());
                    }
                }
                if let Some((true, key_next)) = stack.last_mut() {
                    *key_next = !*key_next;
                }
            }
            Event::Alias(_) => {
                if let Some((true, key_next)) = stack.last_mut() {
                    *key_next = !*key_next;
                }
            }
            Event::SequenceStart(..) => stack.push((false, false)),
            Event::MappingStart(..) => stack.push((true, true)),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                if let Some((true, key_next)) = stack.last_mut() {
                    *key_next = !*key_next;
                }
            }
            Event::DocumentEnd | Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
    kinds
}

/// Why one reading failed: a quoted scalar's indentation (which [`reindent_quoted`]
/// may repair), or anything else.
enum Parse {
    QuotedIndent {
        error: SyntaxError,
        /// The opening quote's line (1-based) and column (0-based, in characters).
        line: usize,
        col: usize,
    },
    Other(SyntaxError),
}

impl From<SyntaxError> for Parse {
    fn from(e: SyntaxError) -> Self {
        Self::Other(e)
    }
}

/// The text with the continuation lines of the quoted scalar opening at `line`:`col`
/// indented one column right of the key it is the value of; `None` when there is no
/// quoted scalar there or nothing to indent.
fn reindent_quoted(text: &str, line: usize, col: usize) -> Option<String> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[line_start..];
    let quote_at = line_start + rest.char_indices().nth(col)?.0;
    let quote = text[quote_at..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    // The key's column: the opening line's indentation, past any `- ` of sequences.
    let opening = &text[line_start..quote_at];
    let mut key_col = 0;
    let mut chars = opening.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => key_col += 1,
            '-' if chars.peek().is_some_and(|n| *n == ' ') => key_col += 1,
            _ => break,
        }
    }
    let want = key_col + 1;
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..=quote_at]);
    let mut changed = false;
    let mut iter = text[quote_at + 1..].char_indices().peekable();
    let base = quote_at + 1;
    let mut end = text.len();
    while let Some((i, c)) = iter.next() {
        out.push(c);
        match c {
            '\\' if quote == '"' => {
                if let Some((_, n)) = iter.next() {
                    out.push(n);
                    if n == '\n' {
                        changed |= pad_line(&mut out, &mut iter, want);
                    }
                }
            }
            '\'' if quote == '\'' => {
                if iter.peek().is_some_and(|(_, n)| *n == '\'') {
                    iter.next();
                    out.push('\'');
                } else {
                    end = base + i + 1;
                    break;
                }
            }
            '"' if quote == '"' => {
                end = base + i + 1;
                break;
            }
            '\n' => changed |= pad_line(&mut out, &mut iter, want),
            _ => {}
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[end.min(text.len())..]);
    Some(out)
}

/// After a line break inside a quoted scalar: indents the next line to `want` columns
/// when it is less indented and not blank. Whether it did.
fn pad_line(
    out: &mut String,
    iter: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    want: usize,
) -> bool {
    let mut spaces = 0;
    while iter.peek().is_some_and(|(_, c)| *c == ' ') {
        iter.next();
        spaces += 1;
    }
    let blank = iter.peek().is_none_or(|(_, c)| matches!(c, '\n' | '\r'));
    let pad = if blank { spaces } else { spaces.max(want) };
    out.extend(std::iter::repeat_n(' ', pad));
    pad != spaces
}

fn parse_once(
    text: &str,
    limits: &Limits,
    lists: Lists,
    each: &mut dyn FnMut(Piece),
) -> Result<(), Parse> {
    // Which document this is (counted as the second reading of top_level_kinds counts
    // them), and the kinds of all, read when a List's `items` come before its `kind`.
    let mut index = 0usize;
    let mut kinds: Option<Vec<Option<String>>> = None;
    let mut builder = Builder::new(limits.max_nodes);
    let mut doc_start = Position { line: 1, col: 1 };
    // The text's own values cost at most the text's length (and a value each), so
    // what passes this is what aliases add.
    let mut weight = Weight {
        bytes: 0,
        cap: text
            .len()
            .saturating_mul(2)
            .saturating_add(limits.max_alias_bytes)
            .min(limits.max_total_bytes),
    };
    // A block scalar that runs to the end of a text without a final line break has no
    // line break to keep: yaml.v2 reads `a: |\n  x` as "x", not "x\n".
    let unterminated = !text.ends_with(['\n', '\r']);
    let total_chars = if unterminated {
        text.chars().count()
    } else {
        0
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let error = err(
                Position {
                    line: e.marker().line(),
                    col: e.marker().col() + 1,
                },
                e.info().to_owned(),
            );
            if e.info() == QUOTED_INDENT_ERROR {
                Parse::QuotedIndent {
                    error,
                    line: e.marker().line(),
                    col: e.marker().col(),
                }
            } else {
                Parse::Other(error)
            }
        })?;
        let pos = Position::of(&span);
        match event {
            Event::DocumentStart(_) => {
                builder = Builder::new(limits.max_nodes);
                doc_start = pos;
                index += 1;
            }
            Event::DocumentEnd => {
                let b = std::mem::replace(&mut builder, Builder::new(limits.max_nodes));
                // A split List's items were handed over: the List itself is not.
                if b.split.is_none()
                    && let Some(value) = b.root
                    && !value.is_null()
                {
                    each(Piece {
                        document: SourceDocument {
                            value,
                            start: doc_start,
                            positions: b.positions,
                        },
                        item: None,
                    });
                }
            }
            Event::Scalar(mut text, style, anchor, tag) => {
                if builder.stack.is_empty() {
                    doc_start = pos;
                }
                if unterminated
                    && matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && span.end.index() >= total_chars
                    && text.ends_with('\n')
                {
                    text.to_mut().pop();
                }
                weight.add(VALUE_COST + text.len(), pos)?;
                builder.scalar(&text, style, anchor, tag.as_deref(), pos)?;
            }
            Event::Alias(id) => builder.alias(id, pos, &mut weight)?,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if builder.stack.is_empty() {
                    doc_start = pos;
                }
                weight.add(VALUE_COST, pos)?;
                let seq = matches!(event, Event::SequenceStart(..));
                if seq
                    && lists == Lists::Items
                    && let Some(kind) = builder.at_top_level_items()
                {
                    let list = match kind {
                        Some(kind) => kind.ends_with("List"),
                        None => kinds
                            .get_or_insert_with(|| top_level_kinds(text))
                            .get(index.saturating_sub(1))
                            .and_then(Option::as_deref)
                            .is_some_and(|k| k.ends_with("List")),
                    };
                    if list {
                        builder.split_next();
                    }
                }
                builder.start(seq, anchor, pos)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.end(pos)?,
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        for piece in builder.done.drain(..) {
            each(piece);
        }
    }
    Ok(())
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
    fn a_block_scalar_at_the_end_without_a_line_break_gains_none() {
        assert_eq!(one("a: |\n  abc").value, json!({"a": "abc"}));
        assert_eq!(one("a: |+\n  abc").value, json!({"a": "abc"}));
        assert_eq!(one("a: >\n  abc\n  def").value, json!({"a": "abc def"}));
        assert_eq!(one("a: |\n  abc\n").value, json!({"a": "abc\n"}));
        assert_eq!(
            one("a: |\n  abc\nb: 1").value,
            json!({"a": "abc\n", "b": 1})
        );
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
    fn resolves_scalars_like_kubectl() {
        let d = one(
            "a: true\nb: ~\nc: 12\nd: 1.5\ne: '12'\nf: yes\ng: 0x1f\nh: 2.0\ni: !!str 7\nj: .inf\nk: 1e3\nl: 0755\nm: -3\nt: |\n  text\no: off\np: 2024-01-02\nq: 1_000\nr: .5\ns: 08\n",
        );
        // yaml.v2's reading, as kubectl's and Helm's: YAML 1.1 booleans and octal.
        assert_eq!(
            d.value,
            json!({"a": true, "b": null, "c": 12, "d": 1.5, "e": "12", "f": true, "g": 31,
                   "h": 2.0, "i": "7", "j": ".inf", "k": 1000.0, "l": 493, "m": -3, "t": "text\n",
                   "o": false, "p": "2024-01-02", "q": 1000, "r": 0.5, "s": 8.0})
        );
    }

    #[test]
    fn reads_quoted_scalars_continued_at_their_keys_indentation_as_yaml_v2_does() {
        for (text, want) in [
            ("a:\n  b: \"x\n  y\"\n", json!({"a": {"b": "x y"}})),
            ("k: \"one\ntwo\"\n", json!({"k": "one two"})),
            ("a:\n  b: \"x\n y\"\n", json!({"a": {"b": "x y"}})),
            (
                "l:\n- k: 'it''s\n  fine'\n  j: 1\n",
                json!({"l": [{"k": "it's fine", "j": 1}]}),
            ),
            ("k: \"a\\\n b\"\n", json!({"k": "ab"})),
            ("k: \"x\n\n  y\"\nz: 1\n", json!({"k": "x\ny", "z": 1})),
            (
                "a: \"p\nq\"\nb: \"r\ns\"\n",
                json!({"a": "p q", "b": "r s"}),
            ),
        ] {
            assert_eq!(one(text).value, want, "{text:?}");
        }
        // Positions after the scalar are where they were written.
        let d = one("k: \"one\ntwo\"\nnext: 1\n");
        assert_eq!(d.position("next").line, 3);
        // Re-indenting is bounded: past 64 such scalars the text is refused, naming
        // the first one left.
        let many: String = (0..70).map(|i| format!("k{i}: \"a\nb\"\n")).collect();
        let e = parse_documents(&many).unwrap_err();
        assert_eq!(e.to_string(), "129:6: invalid indentation in quoted scalar");
        // An unclosed quote is still an error, at its opening.
        let e = parse_documents("k: \"one\ntwo\n").unwrap_err();
        assert!(e.to_string().contains("1:4"), "{e}");
    }

    #[test]
    fn reads_json() {
        let d = one("{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": null}");
        assert_eq!(d.value, json!({"a": [1, 2, {"b": "c"}], "d": null}));
    }

    #[test]
    fn expands_anchors_and_merge_keys() {
        let d = one("base: &b {x: 1, w: 2}\nderived:\n  <<: *b\n  w: 3\nlist: [*b]\n");
        assert_eq!(
            d.value,
            json!({"base": {"x": 1, "w": 2}, "derived": {"x": 1, "w": 3}, "list": [{"x": 1, "w": 2}]})
        );
        // As with kubectl (yaml.v2), a key `y` is the boolean true.
        assert_eq!(one("y: 1\n").value, json!({"true": 1}));
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
        // 10^8 values of a few bytes each: the byte bound comes first.
        let e = parse_documents(&bomb).unwrap_err();
        assert!(
            e.message.contains("expanding aliases makes more than"),
            "{e}"
        );
        assert!(e.limit);
        let e = parse_documents_with(
            &bomb,
            &Limits {
                max_nodes: 1000,
                ..Limits::default()
            },
        )
        .unwrap_err();
        assert!(e.message.contains("more than 1000 values"), "{e}");
    }

    #[test]
    fn bounds_the_bytes_aliases_expand_to() {
        // A 200 KB string referenced 5,000 times would be a gigabyte.
        let mut text = format!("big: &big \"{}\"\nuses:\n", "x".repeat(200_000));
        for _ in 0..5_000 {
            text.push_str("  - *big\n");
        }
        let e = parse_documents(&text).unwrap_err();
        assert!(e.limit);
        assert_eq!(
            e.to_string(),
            format!(
                "{}: expanding aliases makes more than {} bytes; refusing (as yaml.v2 refuses excessive aliasing)",
                e.position,
                text.len() * 2 + MAX_ALIAS_BYTES
            )
        );
        // A few uses of it are fine.
        let ok = format!(
            "big: &big \"{}\"\nuses: [*big, *big]\n",
            "x".repeat(200_000)
        );
        assert_eq!(parse_documents(&ok).unwrap().len(), 1);
        // Within a smaller budget, the same text is refused sooner.
        let e = parse_documents_with(&ok, &Limits::within(300_000)).unwrap_err();
        assert!(e.limit, "{e}");
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

    /// Every piece [`read_documents`] hands over.
    fn pieces(text: &str, lists: Lists) -> Result<Vec<Piece>, SyntaxError> {
        let mut out = Vec::new();
        read_documents(text, &Limits::default(), lists, &mut |p| out.push(p))?;
        Ok(out)
    }

    #[test]
    fn a_list_is_handed_over_item_by_item_with_positions_under_its_path() {
        // As `kubectl get -o yaml` writes it: `items` before `kind`.
        let text = "apiVersion: v1\nitems:\n- kind: Worker\n  metadata: {name: a}\n- kind: Worker\n  metadata:\n    name: b\nkind: List\nmetadata: {resourceVersion: \"\"}\n---\nkind: Stack\nspec: {x: 1}\n";
        let got = pieces(text, Lists::Items).unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].item, Some(0));
        assert_eq!(
            got[0].document.value,
            json!({"kind": "Worker", "metadata": {"name": "a"}})
        );
        assert_eq!(got[0].document.start, Position { line: 3, col: 3 });
        assert_eq!(got[1].item, Some(1));
        assert_eq!(
            got[1].document.position("items[1].metadata.name"),
            Position { line: 7, col: 5 }
        );
        // An item holds its own positions only.
        assert_eq!(got[1].document.exact_position("items[0].metadata"), None);
        assert_eq!(got[2].item, None);
        assert_eq!(
            got[2].document.value,
            json!({"kind": "Stack", "spec": {"x": 1}})
        );
        assert_eq!(
            got[2].document.position("spec.x"),
            Position { line: 12, col: 8 }
        );
        // Whole, the List is one document, as parse_documents reads it.
        let whole = pieces(text, Lists::Whole).unwrap();
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].document.value["items"][1]["metadata"]["name"], "b");
        assert_eq!(
            whole[0].document.position("items[1].metadata.name"),
            got[1].document.position("items[1].metadata.name")
        );
    }

    #[test]
    fn only_a_list_kind_is_split_wherever_its_kind_is_written() {
        for (text, split) in [
            ("kind: WorkerList\nitems: [{a: 1}, {b: 2}]\n", true),
            ("items: [{a: 1}, {b: 2}]\nkind: List\n", true),
            (
                "{\"items\": [{\"a\": 1}, {\"b\": 2}], \"kind\": \"List\"}",
                true,
            ),
            // Not a List: a document that happens to have items.
            ("kind: Thing\nitems: [{a: 1}, {b: 2}]\n", false),
            ("items: [{a: 1}, {b: 2}]\nkind: Thing\n", false),
            ("items: [{a: 1}, {b: 2}]\n", false),
            // A nested `items` or `kind` is not the document's.
            ("spec: {kind: List}\nitems: [{a: 1}, {b: 2}]\n", false),
            ("a: {items: [{a: 1}, {b: 2}]}\nkind: List\n", false),
        ] {
            let got = pieces(text, Lists::Items).unwrap();
            let want = pieces(text, Lists::Whole).unwrap();
            if split {
                assert_eq!(got.len(), 2, "{text}: {got:?}");
                assert_eq!(got[1].document.value, json!({"b": 2}), "{text}");
                assert_eq!(got[1].item, Some(1), "{text}");
            } else {
                assert_eq!(got, want, "{text}");
            }
        }
        // An empty List hands over nothing, as its items are nothing.
        assert!(
            pieces("kind: List\nitems: []\n", Lists::Items)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_syntax_error_after_some_documents_keeps_them_handed_over_and_its_position() {
        let mut got = Vec::new();
        let e = read_documents(
            "a: 1\n---\nkind: List\nitems:\n- x: 1\n- x: [2\n",
            &Limits::default(),
            Lists::Items,
            &mut |p| got.push(p.document.value),
        )
        .unwrap_err();
        assert_eq!(got, vec![json!({"a": 1}), json!({"x": 1})]);
        assert_eq!(e.position.line, 7, "{e}");
    }

    #[test]
    fn a_reindented_text_hands_over_no_piece_twice() {
        let text = "a: 1\n---\nkind: List\nitems:\n- k: \"one\ntwo\"\n- k: 2\n";
        let got = pieces(text, Lists::Items).unwrap();
        let values: Vec<_> = got.iter().map(|p| p.document.value.clone()).collect();
        assert_eq!(
            values,
            vec![json!({"a": 1}), json!({"k": "one two"}), json!({"k": 2})]
        );
        assert_eq!(got[2].document.start.line, 7);
    }

    #[test]
    fn each_item_of_a_list_is_held_to_the_limit_of_values_alone() {
        let limits = Limits {
            max_nodes: 10,
            ..Limits::default()
        };
        let items: String = (0..20).map(|i| format!("- {{a: {i}, b: {i}}}\n")).collect();
        let text = format!("kind: List\nitems:\n{items}");
        let mut n = 0;
        read_documents(&text, &limits, Lists::Items, &mut |_| n += 1).unwrap();
        assert_eq!(n, 20);
        // Whole, it is one document of more than 10 values.
        let e = parse_documents_with(&text, &limits).unwrap_err();
        assert!(e.limit, "{e}");
    }
}
