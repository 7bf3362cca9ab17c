//! The functions templates can call: Go's builtins, the Sprig/Helm functions of
//! SPEC §2 with their Go signatures (the signature decides Go's argument errors, e.g.
//! `wrong type for value; expected string; got float64`), and DataOS's own.
//! None reads files, the environment or the network.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use sha2::Digest as _;

use super::fmt::{print_value, quote, sprint, sprintf, sprintln};
use super::value::Value;
use super::yaml;

/// What a function's parameter is in Go, which decides how arguments convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Param {
    /// `reflect.Value` (Go's builtins): the value as it is, missing or nil.
    Reflect,
    /// `interface{}`.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `bool`.
    Bool,
    /// `map[string]interface{}`.
    Map,
}

impl Param {
    pub(crate) fn go_type(self) -> &'static str {
        match self {
            Self::Reflect => "reflect.Value",
            Self::Any => "interface {}",
            Self::Str => "string",
            Self::Int => "int",
            Self::Bool => "bool",
            Self::Map => "map[string]interface {}",
        }
    }

    pub(crate) fn can_be_nil(self) -> bool {
        matches!(self, Self::Reflect | Self::Any | Self::Map)
    }
}

/// Resolves `dataos://` addresses for the `resolve` function.
pub trait Resolver {
    /// The address's parts and its Depot's details, or why it cannot be resolved.
    fn resolve(&self, address: &str) -> Result<Value, String>;
}

/// What functions may consult while a template runs.
#[derive(Default)]
pub struct CallContext<'a> {
    /// Resolves addresses for `resolve`; without one, `resolve` fails.
    pub resolver: Option<&'a dyn Resolver>,
}

type Call = fn(&CallContext<'_>, &[Value]) -> Result<Value, String>;

pub(crate) struct Func {
    pub name: &'static str,
    pub params: &'static [Param],
    pub variadic: Option<Param>,
    pub call: Call,
}

use Param::{Any, Bool, Int, Map, Reflect, Str};

macro_rules! funcs {
    ($( $name:literal ($($p:expr),*) $(.. $v:expr)? => $call:expr ),* $(,)?) => {
        vec![$( Func { name: $name, params: &[$($p),*], variadic: funcs!(@v $($v)?), call: $call } ),*]
    };
    (@v) => { None };
    (@v $v:expr) => { Some($v) };
}

static FUNCS: LazyLock<HashMap<&'static str, Func>> = LazyLock::new(|| {
    let list: Vec<Func> = funcs![
        // Go's builtins.
        "and" (Reflect) .. Reflect => |_, a| Ok(a.last().cloned().unwrap_or(Value::Missing)),
        "or" (Reflect) .. Reflect => |_, a| Ok(a.last().cloned().unwrap_or(Value::Missing)),
        "not" (Reflect) => |_, a| Ok(Value::Bool(!a[0].truth())),
        "len" (Reflect) => |_, a| length(&a[0]),
        "index" (Reflect) .. Reflect => |_, a| index(&a[0], &a[1..]),
        "print" () .. Any => |_, a| Ok(Value::String(sprint(a).into())),
        "printf" (Str) .. Any => |_, a| Ok(Value::String(sprintf(&text(&a[0]), &a[1..]).into())),
        "println" () .. Any => |_, a| Ok(Value::String(sprintln(a).into())),
        "html" () .. Any => |_, a| Ok(Value::String(html_escape(&eval_args(a)).into())),
        "js" () .. Any => |_, a| Ok(Value::String(js_escape(&eval_args(a)).into())),
        "urlquery" () .. Any => |_, a| Ok(Value::String(query_escape(&eval_args(a)).into())),
        "eq" (Reflect) .. Reflect => |_, a| eq(&a[0], &a[1..]).map(Value::Bool),
        "ne" (Reflect, Reflect) => |_, a| eq(&a[0], &a[1..]).map(|b| Value::Bool(!b)),
        "lt" (Reflect, Reflect) => |_, a| lt(&a[0], &a[1]).map(Value::Bool),
        "le" (Reflect, Reflect) => |_, a| le(&a[0], &a[1]).map(Value::Bool),
        "gt" (Reflect, Reflect) => |_, a| le(&a[0], &a[1]).map(|b| Value::Bool(!b)),
        "ge" (Reflect, Reflect) => |_, a| lt(&a[0], &a[1]).map(|b| Value::Bool(!b)),
        "slice" (Any) .. Any => |_, a| slice(&a[0], &a[1..]),
        "call" (Reflect) .. Reflect => |_, a| match &a[0] {
            Value::Missing | Value::Nil => Err("call of nil".into()),
            v => Err(format!("non-function of type {}", v.type_name())),
        },
        // Sprig and Helm.
        "toYaml" (Any) => |_, a| Ok(Value::String(yaml::to_yaml(&a[0]).trim_end_matches('\n').into())),
        "toJson" (Any) => |_, a| Ok(Value::String(yaml::to_go_json(&a[0]).into())),
        "fromYaml" (Str) => |_, a| Ok(from_yaml(&text(&a[0]))),
        "indent" (Int, Str) => |_, a| Ok(Value::String(indent(&a[0], &a[1]).into())),
        "nindent" (Int, Str) => |_, a| Ok(Value::String(format!("\n{}", indent(&a[0], &a[1])).into())),
        "quote" () .. Any => |_, a| Ok(Value::String(
            a.iter().filter(|v| !v.is_nil()).map(|v| quote(&strval(v))).collect::<Vec<_>>().join(" ").into())),
        "squote" () .. Any => |_, a| Ok(Value::String(
            a.iter().filter(|v| !v.is_nil()).map(|v| format!("'{}'", strval(v))).collect::<Vec<_>>().join(" ").into())),
        "default" (Any) .. Any => |_, a| Ok(match a.get(1) {
            Some(v) if v.truth() => v.clone(),
            _ => a[0].clone(),
        }),
        "empty" (Any) => |_, a| Ok(Value::Bool(!a[0].truth())),
        "coalesce" () .. Any => |_, a| Ok(a.iter().find(|v| v.truth()).cloned().unwrap_or(Value::Nil)),
        "required" (Str, Any) => |_, a| match &a[1] {
            Value::Nil => Err(text(&a[0])),
            Value::String(s) if s.is_empty() => Err(text(&a[0])),
            v => Ok(v.clone()),
        },
        "fail" (Str) => |_, a| Err(text(&a[0])),
        "ternary" (Any, Any, Bool) => |_, a| Ok(if a[2].truth() { a[0].clone() } else { a[1].clone() }),
        "list" () .. Any => |_, a| Ok(Value::List(Arc::new(a.to_vec()))),
        "dict" () .. Any => |_, a| {
            let mut m = BTreeMap::new();
            for pair in a.chunks(2) {
                m.insert(strval(&pair[0]), pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
            }
            Ok(Value::Map(Arc::new(m)))
        },
        "get" (Map, Str) => |_, a| Ok(map_of(&a[0]).and_then(|m| m.get(&text(&a[1])).cloned()).unwrap_or_else(|| Value::str(""))),
        "hasKey" (Map, Str) => |_, a| Ok(Value::Bool(map_of(&a[0]).is_some_and(|m| m.contains_key(&text(&a[1]))))),
        "keys" () .. Map => |_, a| Ok(Value::Strings(Arc::new(
            a.iter().filter_map(map_of).flat_map(|m| m.keys().cloned().collect::<Vec<_>>()).collect()))),
        "sortAlpha" (Any) => |_, a| {
            let mut items = match &a[0] {
                v @ (Value::List(_) | Value::Strings(_)) => strslice(v),
                v => vec![strval(v)],
            };
            items.sort();
            Ok(Value::Strings(Arc::new(items)))
        },
        "join" (Str, Any) => |_, a| Ok(Value::String(strslice(&a[1]).join(&text(&a[0])).into())),
        "split" (Str, Str) => |_, a| Ok(Value::StringMap(Arc::new(
            text(&a[1]).split(text(&a[0]).as_str()).enumerate().map(|(i, p)| (format!("_{i}"), p.to_owned())).collect()))),
        "upper" (Str) => |_, a| Ok(Value::String(text(&a[0]).to_uppercase().into())),
        "lower" (Str) => |_, a| Ok(Value::String(text(&a[0]).to_lowercase().into())),
        "title" (Str) => |_, a| Ok(Value::String(title(&text(&a[0])).into())),
        "trim" (Str) => |_, a| Ok(Value::String(text(&a[0]).trim().into())),
        "trimPrefix" (Str, Str) => |_, a| {
            let (p, s) = (text(&a[0]), text(&a[1]));
            Ok(Value::String(s.strip_prefix(p.as_str()).unwrap_or(&s).into()))
        },
        "trimSuffix" (Str, Str) => |_, a| {
            let (p, s) = (text(&a[0]), text(&a[1]));
            Ok(Value::String(s.strip_suffix(p.as_str()).unwrap_or(&s).into()))
        },
        "replace" (Str, Str, Str) => |_, a| Ok(Value::String(go_replace(&text(&a[2]), &text(&a[0]), &text(&a[1])).into())),
        "contains" (Str, Str) => |_, a| Ok(Value::Bool(text(&a[1]).contains(text(&a[0]).as_str()))),
        "hasPrefix" (Str, Str) => |_, a| Ok(Value::Bool(text(&a[1]).starts_with(text(&a[0]).as_str()))),
        "hasSuffix" (Str, Str) => |_, a| Ok(Value::Bool(text(&a[1]).ends_with(text(&a[0]).as_str()))),
        "b64enc" (Str) => |_, a| Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(text(&a[0])).into())),
        "b64dec" (Str) => |_, a| Ok(Value::String(b64dec(&text(&a[0])).into())),
        "sha256sum" (Str) => |_, a| Ok(Value::String(hex(&sha2::Sha256::digest(text(&a[0]).as_bytes())).into())),
        "toString" (Any) => |_, a| Ok(Value::String(strval(&a[0]).into())),
        "int" (Any) => |_, a| Ok(Value::Int(to_int64(&a[0]))),
        "add" () .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(0i64, i64::wrapping_add))),
        "sub" (Any, Any) => |_, a| Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))),
        "mul" (Any) .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(1i64, i64::wrapping_mul))),
        "div" (Any, Any) => |_, a| match to_int64(&a[1]) {
            0 => Err("runtime error: integer divide by zero".into()),
            d => Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d))),
        },
        "mod" (Any, Any) => |_, a| match to_int64(&a[1]) {
            0 => Err("runtime error: integer divide by zero".into()),
            d => Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d))),
        },
        "regexMatch" (Str, Str) => |_, a| Ok(Value::Bool(
            compile(&text(&a[0])).is_ok_and(|r| r.is_match(&text(&a[1]))))),
        "regexReplaceAll" (Str, Str, Str) => |_, a| {
            let re = compile(&text(&a[0]))?;
            Ok(Value::String(re.replace_all(&text(&a[1]), text(&a[2]).as_str()).into_owned().into()))
        },
        // DataOS.
        "getNested" (Any, Str) => |_, a| Ok(nested(&a[0], &text(&a[1])).unwrap_or(Value::Nil)),
        "hasNested" (Any, Str) => |_, a| Ok(Value::Bool(nested(&a[0], &text(&a[1])).is_some())),
        "getMapValue" (Any, Str) => |_, a| Ok(map_of(&a[0]).and_then(|m| m.get(&text(&a[1])).cloned()).unwrap_or_else(|| Value::str(""))),
        "resolve" (Str) => |ctx, a| match ctx.resolver {
            Some(r) => r.resolve(&text(&a[0])),
            None => Err(format!("no catalog to resolve {} in", quote(&text(&a[0])))),
        },
    ];
    list.into_iter().map(|f| (f.name, f)).collect()
});

pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    FUNCS.get(name)
}

/// Whether a function of this name exists (for the parser's check).
pub(crate) fn exists(name: &str) -> bool {
    FUNCS.contains_key(name)
}

/// The names of every function, sorted.
pub fn names() -> Vec<&'static str> {
    let mut v: Vec<_> = FUNCS.keys().copied().collect();
    v.sort_unstable();
    v
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => strval(other),
    }
}

/// Sprig's `strval`: strings as they are, everything else as `%v`.
fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => {
            let mut s = String::new();
            print_value(&mut s, other);
            s
        }
    }
}

/// Sprig's `strslice`: a list's non-nil elements as strings, or the value itself.
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Strings(l) => l.as_ref().clone(),
        Value::Nil | Value::Missing => Vec::new(),
        other => vec![strval(other)],
    }
}

fn map_of(v: &Value) -> Option<BTreeMap<String, Value>> {
    v.map_entries()
}

fn nested(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v.clone();
    for part in path.split('.') {
        cur = map_of(&cur)?.get(part)?.clone();
    }
    Some(cur)
}

/// `cast.ToInt64`: numbers truncate, strings parse (else 0), booleans are 0/1.
fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(s).unwrap_or(0),
        _ => 0,
    }
}

fn parse_go_int(s: &str) -> Option<i64> {
    let s = s.strip_suffix(".0").unwrap_or(s);
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(d) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, d)
    } else if let Some(d) = digits.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = digits.strip_prefix("0o") {
        (8, d)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn indent(spaces: &Value, s: &Value) -> String {
    let pad = " ".repeat(usize::try_from(spaces.as_int().unwrap_or(0)).unwrap_or(0));
    format!("{pad}{}", text(s).replace('\n', &format!("\n{pad}")))
}

fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Go's `strings.Replace(s, old, new, -1)`, including an empty `old`.
fn go_replace(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in s.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    s.replace(old, new)
}

fn b64dec(s: &str) -> String {
    match base64::engine::general_purpose::STANDARD.decode(s) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(
            base64::DecodeError::InvalidByte(offset, _)
            | base64::DecodeError::InvalidLastSymbol { offset, .. },
        ) => {
            format!("illegal base64 data at input byte {offset}")
        }
        Err(_) => format!(
            "illegal base64 data at input byte {}",
            s.len().saturating_sub(s.len() % 4)
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Regexes are RE2 in Go and linear-time in the `regex` crate: no pattern can stall a
/// render. A size limit keeps compiled programs small.
fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("regexp: Compile({}): {e}", quote(pattern)))
}

fn from_yaml(s: &str) -> Value {
    match crate::source::parse_documents(s) {
        Ok(docs) => match docs.into_iter().next().map(|d| d.value) {
            Some(v @ serde_json::Value::Object(_)) => Value::from(&v),
            None => Value::Map(Arc::new(BTreeMap::new())),
            Some(other) => error_map(format!(
                "error unmarshaling JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                crate::model::json_type(&other)
            )),
        },
        Err(e) => error_map(format!(
            "error converting YAML to JSON: yaml: line {}: {}",
            e.position.line, e.message
        )),
    }
}

fn error_map(message: String) -> Value {
    Value::Map(Arc::new(
        [("Error".to_owned(), Value::String(message.into()))].into(),
    ))
}

/// `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if !c.is_ascii() && !super::fmt::is_print(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The text of the escaping functions' arguments (`evalArgs` in Go).
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let args: Vec<Value> = args
        .iter()
        .map(|v| {
            if *v == Value::Missing {
                Value::Nil
            } else {
                v.clone()
            }
        })
        .collect();
    sprint(&args)
}

/// Sprig's `slice` (which replaces Go's builtin when Sprig is loaded).
fn slice(list: &Value, indices: &[Value]) -> Result<Value, String> {
    let Some(items) = list.list_items() else {
        let kind = match list {
            Value::String(_) => "string",
            Value::Map(_) | Value::StringMap(_) => "map",
            Value::Float(_) => "float64",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Bool(_) => "bool",
            _ => "invalid",
        };
        return Err(format!("list should be type of slice or array but {kind}"));
    };
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = indices.first().map_or(0, to_int64);
    let end = indices.get(1).map_or(items.len() as i64, to_int64);
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return Err("reflect: slice index out of range".into());
    };
    if start > end || end > items.len() {
        return Err("reflect: slice index out of range".into());
    }
    Ok(Value::List(Arc::new(items[start..end].to_vec())))
}

fn length(v: &Value) -> Result<Value, String> {
    let n = match v {
        Value::Missing => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::Nil => return Err("len of nil pointer".into()),
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Strings(l) => l.len(),
        Value::StringMap(m) => m.len(),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if *item == Value::Missing {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for idx in indexes {
        let idx = if *idx == Value::Nil {
            Value::Missing
        } else {
            idx.clone()
        };
        if item == Value::Nil {
            return Err("index of nil pointer".into());
        }
        item = match &item {
            Value::List(_) | Value::Strings(_) | Value::String(_) => {
                let len = match &item {
                    Value::List(l) => l.len(),
                    Value::Strings(l) => l.len(),
                    Value::String(s) => s.len(),
                    _ => 0,
                };
                let x = match &idx {
                    Value::Int(i) | Value::Int64(i) => *i,
                    Value::Missing => return Err("cannot index slice/array with nil".into()),
                    other => {
                        return Err(format!(
                            "cannot index slice/array with type {}",
                            other.type_name()
                        ));
                    }
                };
                if x < 0 || x as usize > len {
                    return Err(format!("index out of range: {x}"));
                }
                let x = x as usize;
                match &item {
                    Value::List(l) => l.get(x).cloned(),
                    Value::Strings(l) => l.get(x).map(|s| Value::str(s)),
                    Value::String(s) => s.as_bytes().get(x).map(|b| Value::Int(i64::from(*b))),
                    _ => None,
                }
                .ok_or_else(|| {
                    if matches!(item, Value::String(_)) {
                        "reflect: string index out of range".to_owned()
                    } else {
                        "reflect: slice index out of range".to_owned()
                    }
                })?
            }
            Value::Map(m) => match &idx {
                Value::String(k) => m.get(k.as_ref()).cloned().unwrap_or(Value::Nil),
                Value::Missing => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::StringMap(m) => match &idx {
                Value::String(k) => Value::str(m.get(k.as_ref()).map_or("", String::as_str)),
                Value::Missing => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

#[derive(PartialEq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Missing | Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = kind(a);
    for b in rest {
        let k2 = kind(b);
        let truth = if k1 != k2 {
            if k1 != Kind::Invalid && k2 != Kind::Invalid {
                return Err(BAD_COMPARISON.into());
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ if k1 == Kind::Int => a.as_int() == b.as_int(),
                _ if k1 == Kind::Invalid => true,
                _ => return Err(format!("non-comparable type {}", a.type_name())),
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    if k1 != k2 {
        return Err(BAD_COMPARISON.into());
    }
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) => Err(BAD_COMPARISON_TYPE.into()),
        _ => Ok(a.as_int() < b.as_int()),
    }
}

fn le(a: &Value, b: &Value) -> Result<bool, String> {
    Ok(lt(a, b)? || eq(a, std::slice::from_ref(b))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_capitalises_words_like_go() {
        assert_eq!(title("hello wORLD"), "Hello WORLD");
        assert_eq!(title("a-b_c d.e"), "A-B_c D.E");
    }

    #[test]
    fn every_spec_function_exists() {
        for name in [
            "toYaml",
            "toJson",
            "fromYaml",
            "indent",
            "nindent",
            "quote",
            "squote",
            "default",
            "empty",
            "coalesce",
            "required",
            "fail",
            "ternary",
            "list",
            "dict",
            "get",
            "hasKey",
            "keys",
            "join",
            "split",
            "upper",
            "lower",
            "title",
            "trim",
            "trimPrefix",
            "trimSuffix",
            "replace",
            "contains",
            "hasPrefix",
            "hasSuffix",
            "b64enc",
            "b64dec",
            "sha256sum",
            "toString",
            "int",
            "add",
            "sub",
            "mul",
            "div",
            "mod",
            "regexMatch",
            "regexReplaceAll",
            "getNested",
            "hasNested",
            "getMapValue",
            "resolve",
        ] {
            assert!(exists(name), "{name}");
        }
    }
}
