//! `toYaml` and `toJson` as Helm writes them.
//!
//! Helm's `toYaml` is `sigs.k8s.io/yaml.Marshal`: `encoding/json` first, then the JSON
//! read back and written by `gopkg.in/yaml.v2`. So numbers are what JSON made of them
//! (`1e6` → `1000000`), and strings are quoted exactly when yaml.v2 would: when they
//! would read back as something else (`"yes"`, `"1.0"`, `""`, dates), when they hold
//! YAML indicators (`'x: y'`, `'#hash'`), or special characters; multi-line strings
//! become literal blocks (`|-`), and long plain strings fold at 80 columns. Map keys
//! sort in yaml.v2's order (digit runs compare as numbers).

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::fmt::{MAX_VALUE_DEPTH, PrintError, format_float};
use super::value::Value;
use goyaml::{Plain, is_timestamp, resolve_plain};

const BEST_WIDTH: usize = 80;
const BEST_INDENT: usize = 2;

/// A node after the JSON round trip.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Go's `encoding/json` float text.
fn json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float(f, 'e', None);
        // Go cleans e-09 to e-9.
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 2] == "e-" && &s[n - 2..n - 1] == "0" {
            s.remove(n - 2);
        }
        Some(s)
    } else {
        Some(format_float(f, 'f', None))
    }
}

/// Bytes a node is counted as, besides its text.
const NODE_COST: usize = 48;

/// The JSON round trip of `v`, counting what it builds against `cap` bytes.
fn to_node(v: &Value, depth: usize, used: &mut usize, cap: usize) -> Result<Node, PrintError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(PrintError::Depth);
    }
    *used += NODE_COST;
    if *used > cap {
        return Err(PrintError::Bytes);
    }
    Ok(match v {
        Value::Missing | Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Node::Int(i.to_string()),
        Value::Uint64(u) => Node::Int(u.to_string()),
        Value::Float(f) => match json_float(*f) {
            // What yaml.v2 reads the JSON number back as.
            Some(text) if !text.contains(['.', 'e', 'E']) => {
                if text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok() {
                    Node::Int(text)
                } else {
                    Node::Float(*f)
                }
            }
            Some(_) => Node::Float(*f),
            None => Node::Null,
        },
        Value::String(s) => {
            *used += s.len();
            if *used > cap {
                return Err(PrintError::Bytes);
            }
            Node::Str(s.to_string())
        }
        // MarshalJSON: a JSON string, which reads back as a YAML string.
        Value::Time(t) => match t.json() {
            Ok(s) => Node::Str(s),
            Err(_) => Node::Null,
        },
        Value::Semver(sv) => Node::Str(sv.string()),
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.items.len());
            for item in &l.items {
                items.push(to_node(item, depth + 1, used, cap)?);
            }
            Node::Seq(items)
        }
        Value::Map(m) => {
            let m = m.borrow();
            let mut entries = Vec::with_capacity(m.entries.len());
            for (k, item) in &m.entries {
                *used += k.len();
                entries.push((k.clone(), to_node(item, depth + 1, used, cap)?));
            }
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            Node::Map(entries)
        }
    })
}

/// yaml.v2's `keyList.Less` for string keys.
fn key_order(a: &str, b: &str) -> Ordering {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Whether yaml.v2 would read the plain scalar back as a string.
fn resolves_to_string(s: &str) -> bool {
    s != "<<" && !is_timestamp(s) && resolve_plain(s) == Plain::Str
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return false;
    }
    let mut parts = main.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    let mut count = 0;
    for p in parts {
        count += 1;
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    count > 0
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || ((0xA0..=0xD7FF).contains(&u))
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
        || (0x10000..=0x10FFFF).contains(&u)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

/// yaml.v2's `yaml_emitter_analyze_scalar`.
fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let (mut block_indicators, mut flow_indicators) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) =
        (false, false, false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == chars.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == chars.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c);
    }
    let _ = flow_indicators;
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.block_plain = false;
    }
    if block_indicators {
        a.block_plain = false;
    }
    a
}

fn select_style(s: &str, simple_key: bool) -> Style {
    let can_use_plain = resolves_to_string(s) && !is_base60_float(s);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if can_use_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain || (s.is_empty() && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || simple_key) {
        style = Style::Double;
    }
    style
}

struct Emitter {
    out: String,
    column: usize,
    /// Most bytes to write; past it the emitter stops writing and reports it.
    cap: usize,
}

impl Emitter {
    fn over(&self) -> bool {
        self.out.len() > self.cap
    }

    fn put(&mut self, c: char) {
        if self.over() {
            return;
        }
        self.out.push(c);
        if c == '\n' {
            self.column = 0;
        } else {
            self.column += 1;
        }
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    /// A new line at `indent`, unless already at the start of an empty line there.
    fn line(&mut self, indent: usize) {
        if self.column > 0 {
            self.put('\n');
        }
        for _ in 0..indent {
            self.put(' ');
        }
    }

    fn fold(&mut self, indent: usize) {
        self.put('\n');
        for _ in 0..indent {
            self.put(' ');
        }
    }

    fn scalar(&mut self, node: &Node, indent: usize, simple_key: bool) {
        match node {
            Node::Null => self.put_str("null"),
            Node::Bool(b) => self.put_str(if *b { "true" } else { "false" }),
            Node::Int(t) => self.put_str(t),
            Node::Float(f) => {
                let s = match format_float(*f, 'g', None).as_str() {
                    "+Inf" => ".inf".to_owned(),
                    "-Inf" => "-.inf".to_owned(),
                    "NaN" => ".nan".to_owned(),
                    s => s.to_owned(),
                };
                self.put_str(&s);
            }
            Node::Str(s) => self.string(s, indent, simple_key),
            Node::Seq(_) => self.put_str("[]"),
            Node::Map(_) => self.put_str("{}"),
        }
    }

    fn string(&mut self, s: &str, indent: usize, simple_key: bool) {
        let allow_breaks = !simple_key;
        let chars: Vec<char> = s.chars().collect();
        match select_style(s, simple_key) {
            Style::Plain => {
                let mut spaces = false;
                for (i, &c) in chars.iter().enumerate() {
                    if c == ' ' {
                        if allow_breaks
                            && !spaces
                            && self.column > BEST_WIDTH
                            && chars.get(i + 1) != Some(&' ')
                        {
                            self.fold(indent);
                        } else {
                            self.put(c);
                        }
                        spaces = true;
                    } else {
                        self.put(c);
                        spaces = false;
                    }
                }
            }
            Style::Single => {
                self.put('\'');
                let mut spaces = false;
                for (i, &c) in chars.iter().enumerate() {
                    if c == ' ' {
                        if allow_breaks
                            && !spaces
                            && self.column > BEST_WIDTH
                            && i > 0
                            && i + 1 < chars.len()
                            && chars.get(i + 1) != Some(&' ')
                        {
                            self.fold(indent);
                        } else {
                            self.put(c);
                        }
                        spaces = true;
                    } else {
                        if c == '\'' {
                            self.put('\'');
                        }
                        self.put(c);
                        spaces = false;
                    }
                }
                self.put('\'');
            }
            Style::Double => {
                self.put('"');
                let mut spaces = false;
                for (i, &c) in chars.iter().enumerate() {
                    let u = c as u32;
                    if !is_printable(c) || u == 0xFEFF || is_break(c) || c == '"' || c == '\\' {
                        self.put('\\');
                        match u {
                            0x00 => self.put('0'),
                            0x07 => self.put('a'),
                            0x08 => self.put('b'),
                            0x09 => self.put('t'),
                            0x0A => self.put('n'),
                            0x0B => self.put('v'),
                            0x0C => self.put('f'),
                            0x0D => self.put('r'),
                            0x1B => self.put('e'),
                            0x22 => self.put('"'),
                            0x5C => self.put('\\'),
                            0x85 => self.put('N'),
                            0xA0 => self.put('_'),
                            0x2028 => self.put('L'),
                            0x2029 => self.put('P'),
                            u if u <= 0xFF => {
                                let mut h = String::new();
                                let _ = write!(h, "x{u:02X}");
                                self.put_str(&h);
                            }
                            u if u <= 0xFFFF => {
                                let mut h = String::new();
                                let _ = write!(h, "u{u:04X}");
                                self.put_str(&h);
                            }
                            u => {
                                let mut h = String::new();
                                let _ = write!(h, "U{u:08X}");
                                self.put_str(&h);
                            }
                        }
                        spaces = false;
                    } else if c == ' ' {
                        if allow_breaks
                            && !spaces
                            && self.column > BEST_WIDTH
                            && i != 0
                            && i + 1 != chars.len()
                        {
                            self.fold(indent);
                            if chars.get(i + 1) == Some(&' ') {
                                self.put('\\');
                            }
                        } else {
                            self.put(c);
                        }
                        spaces = true;
                    } else {
                        self.put(c);
                        spaces = false;
                    }
                }
                self.put('"');
            }
            Style::Literal => {
                self.put('|');
                if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
                    self.put(char::from(b'0' + BEST_INDENT as u8));
                }
                let n = chars.len();
                if !is_break(chars[n - 1]) {
                    self.put('-');
                } else if n == 1 || is_break(chars[n - 2]) {
                    self.put('+');
                }
                self.put('\n');
                let mut breaks = true;
                for &c in &chars {
                    if is_break(c) {
                        self.put('\n');
                        breaks = true;
                    } else {
                        if breaks {
                            for _ in 0..indent {
                                self.put(' ');
                            }
                            breaks = false;
                        }
                        self.put(c);
                    }
                }
            }
        }
    }

    fn map(&mut self, entries: &[(String, Node)], indent: usize, first_inline: bool) {
        for (i, (k, v)) in entries.iter().enumerate() {
            if self.over() {
                return;
            }
            if i > 0 || !first_inline {
                self.line(indent);
            }
            self.string(k, indent + BEST_INDENT, true);
            self.put(':');
            match v {
                Node::Map(m) if !m.is_empty() => self.map(m, indent + BEST_INDENT, false),
                Node::Seq(s) if !s.is_empty() => self.seq(s, indent, false),
                scalar => {
                    self.put(' ');
                    self.scalar(scalar, indent + BEST_INDENT, false);
                }
            }
        }
    }

    fn seq(&mut self, items: &[Node], indent: usize, first_inline: bool) {
        for (i, item) in items.iter().enumerate() {
            if self.over() {
                return;
            }
            if i > 0 || !first_inline {
                self.line(indent);
            }
            self.put('-');
            self.put(' ');
            match item {
                Node::Map(m) if !m.is_empty() => self.map(m, indent + BEST_INDENT, true),
                Node::Seq(s) if !s.is_empty() => self.seq(s, indent + BEST_INDENT, true),
                scalar => self.scalar(scalar, indent + BEST_INDENT, false),
            }
        }
    }
}

/// `yaml.Marshal` of the value after a JSON round trip, ending in a newline; at most
/// `cap` bytes (counting what the round trip builds).
pub(crate) fn to_yaml(v: &Value, cap: usize) -> Result<String, PrintError> {
    let mut used = 0;
    let node = to_node(v, 0, &mut used, cap)?;
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        cap: cap.saturating_sub(used),
    };
    match &node {
        Node::Map(m) if !m.is_empty() => e.map(m, 0, true),
        Node::Seq(s) if !s.is_empty() => e.seq(s, 0, true),
        scalar => e.scalar(scalar, BEST_INDENT, false),
    }
    if e.column > 0 {
        e.put('\n');
    }
    if e.over() {
        return Err(PrintError::Bytes);
    }
    Ok(e.out)
}

/// Go's `json.Marshal` (sorted keys, HTML-safe escaping), at most `cap` bytes;
/// `Ok(None)` where Go fails (NaN, infinities).
pub(crate) fn to_go_json(v: &Value, cap: usize) -> Result<Option<String>, PrintError> {
    let mut out = String::new();
    match write_json(&mut out, v, 0, cap) {
        Ok(true) => Ok(Some(out)),
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `v` as JSON; `Ok(false)` for a value JSON cannot hold.
fn write_json(out: &mut String, v: &Value, depth: usize, cap: usize) -> Result<bool, PrintError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(PrintError::Depth);
    }
    if out.len() > cap {
        return Err(PrintError::Bytes);
    }
    match v {
        Value::Missing | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Uint64(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => match json_float(*f) {
            Some(t) => out.push_str(&t),
            None => return Ok(false),
        },
        Value::String(s) => json_string(out, s),
        Value::Time(t) => match t.json() {
            Ok(s) => json_string(out, &s),
            Err(_) => return Ok(false),
        },
        Value::Semver(sv) => json_string(out, &sv.string()),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_json(out, item, depth + 1, cap)? {
                    return Ok(false);
                }
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.borrow().entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                if !write_json(out, item, depth + 1, cap)? {
                    return Ok(false);
                }
            }
            out.push('}');
        }
    }
    if out.len() > cap {
        return Err(PrintError::Bytes);
    }
    Ok(true)
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_keys_like_yaml_v2() {
        let mut keys = vec!["a10", "a9", "b", "B", "_x", "a"];
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(keys, ["_x", "B", "a", "a9", "a10", "b"]);
    }

    #[test]
    fn quotes_what_would_read_back_otherwise() {
        for (s, quoted) in [
            ("yes", "\"yes\""),
            ("1.0", "\"1.0\""),
            ("", "\"\""),
            ("x: y", "'x: y'"),
            ("#hash", "'#hash'"),
            ("plain text", "plain text"),
            ("2024-01-01", "\"2024-01-01\""),
            ("0755", "\"0755\""),
            ("1:20", "\"1:20\""),
            ("a\tb", "\"a\\tb\""),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
        ] {
            assert_eq!(
                to_yaml(&Value::str(s), usize::MAX).unwrap(),
                format!("{quoted}\n"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn writes_numbers_as_json_leaves_them() {
        let yaml = |v| to_yaml(&v, usize::MAX).unwrap();
        let json = |v| to_go_json(&v, usize::MAX).unwrap().unwrap();
        assert_eq!(yaml(Value::Float(1e6)), "1000000\n");
        assert_eq!(yaml(Value::Float(1.5)), "1.5\n");
        assert_eq!(yaml(Value::Float(1e21)), "1e+21\n");
        assert_eq!(json(Value::Float(1e-7)), "1e-7");
        assert_eq!(json(Value::Float(2.0)), "2");
    }

    #[test]
    fn stops_at_the_cap_and_the_depth_limit() {
        let mut big = Value::list(vec![Value::str("x")]);
        for _ in 0..64 {
            big = Value::list(vec![big.clone(), big]);
        }
        assert_eq!(to_yaml(&big, 1 << 20), Err(PrintError::Bytes));
        assert_eq!(to_go_json(&big, 1 << 20), Err(PrintError::Bytes));
        let mut deep = Value::list(Vec::new());
        for _ in 0..=MAX_VALUE_DEPTH {
            deep = Value::list(vec![deep]);
        }
        assert_eq!(to_yaml(&deep, usize::MAX), Err(PrintError::Depth));
        assert_eq!(to_go_json(&deep, usize::MAX), Err(PrintError::Depth));
    }
}
