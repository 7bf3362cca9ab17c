//! Sprig v3.2.3's list, string, math, type, encoding, path, regex and dict functions
//! beyond the short list of SPEC §2, each as Sprig writes it (the Go source is the
//! reference; `tests/gotmpl/cases.yaml` holds each to Go's output and errors).
//!
//! Go's quirks are kept where they show: `substr` and `trunc` cut bytes (a cut
//! through a character becomes U+FFFD, as Go's JSON writer shows it), `nospace` and
//! `initials` read bytes as Latin-1 as goutils does, a Sprig function that panics
//! (`first "text"`) fails with the panic's message as `text/template` reports it.

use std::collections::BTreeMap;

use sha2::Digest as _;

use super::budget::SLOT;
use super::decimal::Decimal;
use super::fmt::Printer;
use super::funcs::{
    Env, FnError, FnResult, Func, Param, compile, compile_plain, error_map, hex, replace_all, s,
    to_int64,
};
use super::unicode;
use super::value::{Elem, Value};

use Param::{Any, Int, Map, Str};

/// What Go's nil `reflect.Type` does when asked its kind (Sprig calls
/// `reflect.TypeOf(list).Kind()` without checking for nil).
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

/// The items of a slice argument, or Sprig's error for `what` on another kind.
fn items<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], FnError> {
    match v {
        Value::List(l) => Ok(&l.items),
        Value::Missing | Value::Nil => Err(NIL_DEREF.into()),
        other => Err(format!("Cannot {what} on type {}", other.kind_name()).into()),
    }
}

/// `reflect.DeepEqual` over template values: the same Go type, and equal contents.
/// Each value visited costs a step and nesting is bounded, so two maps that contain
/// themselves end in an error, not in recursion without end.
pub(crate) fn deep_equal(
    e: &mut Env<'_, '_>,
    a: &Value,
    b: &Value,
    depth: usize,
) -> Result<bool, FnError> {
    if depth >= super::fmt::MAX_VALUE_DEPTH {
        return Err(FnError::Bound(super::Bound::ValueDepth));
    }
    e.work(1)?;
    Ok(match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if x.elem != y.elem || x.items.len() != y.items.len() {
                return Ok(false);
            }
            for (p, q) in x.items.iter().zip(&y.items) {
                if !deep_equal(e, p, q, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(x), Value::Map(y)) => {
            if std::rc::Rc::ptr_eq(x, y) {
                return Ok(true);
            }
            let pairs: Vec<(Value, Option<Value>)> = {
                let (x, y) = (x.borrow(), y.borrow());
                if x.elem != y.elem || x.entries.len() != y.entries.len() {
                    return Ok(false);
                }
                x.entries
                    .iter()
                    .map(|(k, v)| (v.clone(), y.entries.get(k).cloned()))
                    .collect()
            };
            for (v, w) in pairs {
                match w {
                    Some(w) if deep_equal(e, &v, &w, depth + 1)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (a, b) => super::value::scalar_eq(a, b),
    })
}

/// `cast.ToFloat64`.
fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint64(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(t) => parse_go_float(t).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `strconv.ParseFloat(s, 64)` for what it accepts that Rust's parser reads alike.
fn parse_go_float(t: &str) -> Option<f64> {
    if t.is_empty() || t.contains('_') {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return t.parse().ok();
    }
    if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    t.parse().ok()
}

/// What `encoding/json` calls the kind of a decoded JSON value that is not an
/// object, in "cannot unmarshal X into …".
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

fn list_result(e: &mut Env<'_, '_>, items: Vec<Value>) -> FnResult {
    e.list(Elem::Any, items)
}

/// Bytes as Go shows them once it must make text of them (its JSON writer,
/// `utf8.DecodeRune`): every byte that does not start a valid character is U+FFFD.
pub(crate) fn go_lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                out.push_str(valid);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{FFFD}');
                bytes = rest.get(1..).unwrap_or_default();
            }
        }
    }
}

/// A string of bytes of a string (Go slices strings by bytes).
fn lossy(e: &mut Env<'_, '_>, bytes: &[u8]) -> FnResult {
    e.string(go_lossy(bytes))
}

/// goutils' `WrapCustom`, by bytes.
fn wrap(text: &str, width: i64, newline: &str, long_words: bool) -> String {
    if text.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = usize::try_from(width.max(1)).unwrap_or(usize::MAX);
    let b = text.as_bytes();
    let len = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::with_capacity(len + len / width.max(1) * newline.len());
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(at) = space {
            out.extend_from_slice(&b[offset..offset + at]);
            out.extend_from_slice(newline.as_bytes());
            offset += at + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..width + offset]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    go_lossy(&out)
}

/// Go's message for slicing a string of `len` bytes at `[lo:hi]` out of range.
fn bounds(lo: Option<i64>, hi: Option<i64>, len: usize) -> FnError {
    let msg = match (lo, hi) {
        (None, Some(h)) => format!("slice bounds out of range [:{h}] with length {len}"),
        (Some(l), None) => format!("slice bounds out of range [{l}:{len}]"),
        (Some(_), Some(h)) if h as usize > len || h < 0 => {
            format!("slice bounds out of range [:{h}] with length {len}")
        }
        (Some(l), Some(h)) => format!("slice bounds out of range [{l}:{h}]"),
        (None, None) => "slice bounds out of range".to_owned(),
    };
    FnError::Go(format!("runtime error: {msg}"))
}

/// Sprig's `substring(start, end, s)`, by bytes.
fn substr(e: &mut Env<'_, '_>, start: i64, end: i64, text: &str) -> FnResult {
    let b = text.as_bytes();
    let len = b.len() as i64;
    if start < 0 {
        if end < 0 || end > len {
            return Err(bounds(None, Some(end), b.len()));
        }
        return lossy(e, &b[..end as usize]);
    }
    if end < 0 || end > len {
        if start > len {
            return Err(bounds(Some(start), None, b.len()));
        }
        return lossy(e, &b[start as usize..]);
    }
    if start > end {
        return Err(bounds(Some(start), Some(end), b.len()));
    }
    lossy(e, &b[start as usize..end as usize])
}

/// Sprig's `trunc`, by bytes.
fn trunc(e: &mut Env<'_, '_>, c: i64, text: &str) -> FnResult {
    let b = text.as_bytes();
    let len = b.len() as i64;
    if c < 0 && len + c > 0 {
        return lossy(e, &b[(len + c) as usize..]);
    }
    if c >= 0 && len > c {
        return lossy(e, &b[..c as usize]);
    }
    e.string(text.to_owned())
}

/// Bytes of a string read one by one as runes, as goutils reads them.
fn latin1(b: u8) -> char {
    char::from(b)
}

/// goutils' `DeleteWhiteSpace`.
fn nospace(text: &str) -> String {
    let kept: Vec<u8> = text
        .bytes()
        .filter(|&b| !unicode::is_space(latin1(b)))
        .collect();
    if kept.len() == text.len() {
        return text.to_owned();
    }
    kept.into_iter().map(latin1).collect()
}

/// goutils' `Initials`.
fn initials(text: &str) -> String {
    let mut out = String::new();
    let mut gap = true;
    for b in text.bytes() {
        let c = latin1(b);
        if unicode::is_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

/// goutils' `Uncapitalize`.
fn untitle(text: &str) -> String {
    let mut next = true;
    text.chars()
        .map(|c| {
            if unicode::is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                unicode::to_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `AbbreviateFull` (byte offsets; `None` is its error, which Sprig drops).
fn abbreviate_full(text: &str, offset: i64, width: i64) -> Option<String> {
    let b = text.as_bytes();
    let len = b.len() as i64;
    if text.is_empty() {
        return Some(String::new());
    }
    if width < 4 {
        return None;
    }
    if len <= width {
        return Some(text.to_owned());
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    let cut = |lo: i64, hi: i64| go_lossy(&b[lo as usize..hi as usize]);
    if offset <= 4 {
        return Some(format!("{}...", cut(0, width - 3)));
    }
    if width < 7 {
        return None;
    }
    if offset + width - 3 < len {
        let rest = abbreviate_full(&cut(offset, len), 0, width - 3)?;
        return Some(format!("...{rest}"));
    }
    Some(format!("...{}", cut(len - (width - 3), len)))
}

/// Go's `strings.Trim(s, cutset)`.
fn trim_all(cutset: &str, text: &str) -> String {
    text.trim_matches(|c| cutset.contains(c)).to_owned()
}

/// Go's `strings.Split` / `SplitN` (`n` < 0: all).
fn go_split(text: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        if n < 0 || chars.len() <= n as usize {
            return chars;
        }
        let n = n as usize;
        let head: usize = chars[..n - 1].iter().map(String::len).sum();
        let mut out = chars[..n - 1].to_vec();
        out.push(text[head..].to_owned());
        return out;
    }
    if n < 0 {
        text.split(sep).map(str::to_owned).collect()
    } else {
        text.splitn(n as usize, sep).map(str::to_owned).collect()
    }
}

/// Sprig's `untilStep`, charged before it is built. The count is worked out in
/// 128 bits (`untilStep` of the whole int64 range must not overflow), the values
/// step as Go's `int` does.
fn until_step(e: &mut Env<'_, '_>, start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FnError> {
    let (start_w, stop_w, step_w) = (i128::from(start), i128::from(stop), i128::from(step));
    let count: i128 = if stop_w < start_w {
        if step_w >= 0 {
            0
        } else {
            (start_w - stop_w - 1) / -step_w + 1
        }
    } else if step_w <= 0 || stop_w == start_w {
        0
    } else {
        (stop_w - start_w - 1) / step_w + 1
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    e.charge(SLOT.saturating_mul(count))?;
    let mut out = Vec::with_capacity(count);
    let mut i = start;
    for _ in 0..count {
        out.push(i);
        i = i.wrapping_add(step);
    }
    Ok(out)
}

fn ints(e: &mut Env<'_, '_>, v: Vec<i64>) -> FnResult {
    e.list(Elem::Int, v.into_iter().map(Value::Int).collect())
}

/// Sprig's `seq`.
fn seq(e: &mut Env<'_, '_>, p: &[Value]) -> FnResult {
    let p: Vec<i64> = p.iter().map(|v| v.as_int().unwrap_or(0)).collect();
    let nums = match p.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step(e, 1, end.wrapping_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(e, *start, end.wrapping_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return e.string(String::new());
                }
            }
            until_step(e, *start, end.wrapping_add(inc), *step)?
        }
        _ => Vec::new(),
    };
    let text = nums
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    e.string(text)
}

/// Sprig's `round`.
fn round(a: &Value, places: i64, on: Option<&Value>) -> f64 {
    let on = on.map_or(0.5, to_float64);
    let pow = 10f64.powf(places as f64);
    let digit = pow * to_float64(a);
    let frac = digit.fract();
    let r = if frac >= on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

/// Go's `path.Clean`.
fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_owned()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// Go's `path.Ext`.
fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_owned();
        }
    }
    String::new()
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The count of a regex function's `n`: all when negative.
fn take(n: i64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `regexp.MustCompile`'s error (Sprig's plain functions), or `regexp.Compile`'s
/// (the `must` ones).
fn compile_as(pattern: &str, must: bool) -> Result<regex::Regex, String> {
    if must {
        compile_plain(pattern)
    } else {
        compile(pattern)
    }
}

fn regex_find_all(e: &mut Env<'_, '_>, pattern: &str, text: &str, n: i64, must: bool) -> FnResult {
    let re = compile_as(pattern, must)?;
    let found: Vec<String> = go_matches(&re, text, take(n))
        .into_iter()
        .map(|(a, b)| text[a..b].to_owned())
        .collect();
    e.charge(found.iter().map(String::len).sum())?;
    e.list(Elem::String, found.into_iter().map(Value::string).collect())
}

/// Go's `FindAllStringIndex`: Rust's matches, without the empty ones that abut the
/// previous match (Go skips those).
fn go_matches(re: &regex::Regex, text: &str, n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut prev_end: Option<usize> = None;
    for m in re.find_iter(text) {
        if out.len() >= n {
            break;
        }
        if m.start() == m.end() && prev_end == Some(m.end()) {
            continue;
        }
        prev_end = Some(m.end());
        out.push((m.start(), m.end()));
    }
    out
}

/// Go's `Regexp.Split`.
fn regex_split(e: &mut Env<'_, '_>, pattern: &str, text: &str, n: i64, must: bool) -> FnResult {
    let re = compile_as(pattern, must)?;
    let parts: Vec<String> = if n == 0 {
        Vec::new()
    } else if !pattern.is_empty() && text.is_empty() {
        vec![String::new()]
    } else {
        let mut out = Vec::new();
        let (mut beg, mut end) = (0, 0);
        for (start, stop) in go_matches(&re, text, take(n)) {
            if n > 0 && out.len() as i64 == n - 1 {
                break;
            }
            end = start;
            if stop != 0 {
                out.push(text[beg..end].to_owned());
            }
            beg = stop;
        }
        if end != text.len() {
            out.push(text[beg..].to_owned());
        }
        out
    };
    e.charge(text.len() + parts.len() * SLOT)?;
    e.list(Elem::String, parts.into_iter().map(Value::string).collect())
}

/// Sprig's `dig`: keys, then a default, then the map.
fn dig(args: &[Value]) -> FnResult {
    let (true, Some(dict), Some(default)) = (
        args.len() >= 3,
        args.last(),
        args.get(args.len().wrapping_sub(2)),
    ) else {
        return Err("dig needs at least three arguments".into());
    };
    let keys = &args[..args.len() - 2];
    let mut cur = dict.clone();
    for (i, k) in keys.iter().enumerate() {
        let Value::String(k) = k else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not string",
                k.type_name()
            )
            .into());
        };
        let Value::Map(m) = &cur else {
            return Err(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                cur.type_name()
            )
            .into());
        };
        let next = m.borrow().entries.get(&**k).cloned();
        match next {
            Some(v) if i + 1 == keys.len() => return Ok(v),
            Some(v) => cur = v,
            None => return Ok(default.clone()),
        }
    }
    Ok(dict.clone())
}

/// `json.MarshalIndent(v, "", "  ")`, or with HTML left unescaped.
fn to_json_with(
    e: &mut Env<'_, '_>,
    v: &Value,
    pretty: bool,
    raw: bool,
) -> Result<String, FnError> {
    let compact = super::yaml::to_go_json(v, e.budget.left())?.unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(&compact).unwrap_or(serde_json::Value::Null);
    let mut text = if pretty {
        serde_json::to_string_pretty(&value).unwrap_or_default()
    } else {
        compact.clone()
    };
    if pretty {
        // Go escapes <, > and & in strings, as the compact form already shows.
        text = go_html_escape(&text);
    }
    if raw {
        text = text
            .replace("\\u003c", "<")
            .replace("\\u003e", ">")
            .replace("\\u0026", "&");
    }
    e.charge(text.len())?;
    Ok(text)
}

fn go_html_escape(text: &str) -> String {
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `json.Unmarshal` into `interface{}`: the value, or Go's message for text that is
/// not JSON; a budget breach is the execution's error.
fn from_json(e: &mut Env<'_, '_>, text: &str) -> Result<Result<Value, String>, FnError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => {
            e.charge(super::funcs::json_size(&v))?;
            Ok(Ok(Value::from(&v)))
        }
        Err(err) => Ok(Err(go_json_error(text, &err))),
    }
}

/// `encoding/json`'s syntax error for `text` (which serde refused), from a port of
/// Go's scanner: the same first bad byte and the same words.
fn go_json_error(text: &str, err: &serde_json::Error) -> String {
    go_json_check(text.as_bytes()).unwrap_or_else(|| {
        if err.is_eof() {
            "unexpected end of JSON input".into()
        } else {
            // Valid JSON that serde refused: only its nesting limit does that.
            "JSON nested deeper than 128 levels".into()
        }
    })
}

/// Where Go's scanner is inside a container.
#[derive(Clone, Copy, PartialEq)]
enum Within {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

/// Scans `b` as Go's `checkValid` does: `Some(message)` at the first error, `None`
/// when only the end came too soon (or nothing is wrong).
fn go_json_check(b: &[u8]) -> Option<String> {
    let bad = |c: u8, ctx: &str| {
        // Go quotes the byte as the rune of that number (Latin-1).
        let c = char::from(c);
        Some(format!("invalid character {} {ctx}", quote_char(c)))
    };
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let mut stack: Vec<Within> = Vec::new();
    let mut i = 0;
    let n = b.len();
    // Each turn reads one value where one may start, then what may follow it.
    'value: loop {
        while i < n && is_space(b[i]) {
            i += 1;
        }
        if i >= n {
            return None;
        }
        let in_key = stack.last() == Some(&Within::ObjectKey);
        match b[i] {
            b'"' => {
                i += 1;
                loop {
                    if i >= n {
                        return None;
                    }
                    match b[i] {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\' => {
                            i += 1;
                            if i >= n {
                                return None;
                            }
                            match b[i] {
                                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => i += 1,
                                b'u' => {
                                    i += 1;
                                    for _ in 0..4 {
                                        if i >= n {
                                            return None;
                                        }
                                        if !b[i].is_ascii_hexdigit() {
                                            return bad(
                                                b[i],
                                                "in \\u hexadecimal character escape",
                                            );
                                        }
                                        i += 1;
                                    }
                                }
                                c => return bad(c, "in string escape code"),
                            }
                        }
                        c if c < 0x20 => return bad(c, "in string literal"),
                        _ => i += 1,
                    }
                }
            }
            _ if in_key => return bad(b[i], "looking for beginning of object key string"),
            b'{' => {
                i += 1;
                while i < n && is_space(b[i]) {
                    i += 1;
                }
                if i < n && b[i] == b'}' {
                    i += 1;
                } else {
                    stack.push(Within::ObjectKey);
                    continue 'value;
                }
            }
            b'[' => {
                i += 1;
                while i < n && is_space(b[i]) {
                    i += 1;
                }
                if i < n && b[i] == b']' {
                    i += 1;
                } else {
                    stack.push(Within::ArrayValue);
                    continue 'value;
                }
            }
            b'-' | b'0'..=b'9' => {
                if b[i] == b'-' {
                    i += 1;
                    if i >= n {
                        return None;
                    }
                    if !b[i].is_ascii_digit() {
                        return bad(b[i], "in numeric literal");
                    }
                }
                if b[i] == b'0' {
                    i += 1;
                } else {
                    while i < n && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i < n && b[i] == b'.' {
                    i += 1;
                    if i >= n {
                        return None;
                    }
                    if !b[i].is_ascii_digit() {
                        return bad(b[i], "after decimal point in numeric literal");
                    }
                    while i < n && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i < n && (b[i] == b'e' || b[i] == b'E') {
                    i += 1;
                    if i < n && (b[i] == b'+' || b[i] == b'-') {
                        i += 1;
                    }
                    if i >= n {
                        return None;
                    }
                    if !b[i].is_ascii_digit() {
                        return bad(b[i], "in exponent of numeric literal");
                    }
                    while i < n && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            c @ (b't' | b'f' | b'n') => {
                let word: &[u8] = match c {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                let name = std::str::from_utf8(word).unwrap_or_default();
                for (k, &want) in word.iter().enumerate().skip(1) {
                    let at = i + k;
                    if at >= n {
                        return None;
                    }
                    if b[at] != want {
                        return bad(
                            b[at],
                            &format!(
                                "in literal {name} (expecting {})",
                                quote_char(char::from(want))
                            ),
                        );
                    }
                }
                i += word.len();
            }
            c => return bad(c, "looking for beginning of value"),
        }
        // After a value: what the container allows next.
        loop {
            while i < n && is_space(b[i]) {
                i += 1;
            }
            let Some(top) = stack.last().copied() else {
                if i < n {
                    return bad(b[i], "after top-level value");
                }
                return None;
            };
            if i >= n {
                return None;
            }
            match (top, b[i]) {
                (Within::ObjectKey, b':') => {
                    i += 1;
                    *stack.last_mut()? = Within::ObjectValue;
                    continue 'value;
                }
                (Within::ObjectKey, c) => return bad(c, "after object key"),
                (Within::ObjectValue, b',') => {
                    i += 1;
                    *stack.last_mut()? = Within::ObjectKey;
                    continue 'value;
                }
                (Within::ObjectValue, b'}') | (Within::ArrayValue, b']') => {
                    i += 1;
                    stack.pop();
                }
                (Within::ObjectValue, c) => return bad(c, "after object key:value pair"),
                (Within::ArrayValue, b',') => {
                    i += 1;
                    continue 'value;
                }
                (Within::ArrayValue, c) => return bad(c, "after array element"),
            }
        }
    }
}

/// `encoding/json`'s `quoteChar`.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = super::fmt::quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

pub(crate) fn functions() -> Vec<Func> {
    macro_rules! f {
        ($name:literal ($($p:expr),*) $(.. $v:expr)? => $call:expr) => {
            Func { name: $name, params: &[$($p),*], variadic: f!(@v $($v)?), call: $call }
        };
        (@v) => { None };
        (@v $v:expr) => { Some($v) };
    }
    vec![
        // Lists.
        f!("first" (Any) => |_, a| Ok(items(&a[0], "find first")?.first().cloned().unwrap_or(Value::Nil))),
        f!("mustFirst" (Any) => |_, a| Ok(items(&a[0], "find first")?.first().cloned().unwrap_or(Value::Nil))),
        f!("last" (Any) => |_, a| Ok(items(&a[0], "find last")?.last().cloned().unwrap_or(Value::Nil))),
        f!("mustLast" (Any) => |_, a| Ok(items(&a[0], "find last")?.last().cloned().unwrap_or(Value::Nil))),
        f!("rest" (Any) => |e, a| { let l = items(&a[0], "find rest")?; list_result(e, l.get(1..).unwrap_or_default().to_vec()) }),
        f!("mustRest" (Any) => |e, a| { let l = items(&a[0], "find rest")?; list_result(e, l.get(1..).unwrap_or_default().to_vec()) }),
        f!("initial" (Any) => |e, a| { let l = items(&a[0], "find initial")?; list_result(e, l[..l.len().saturating_sub(1)].to_vec()) }),
        f!("mustInitial" (Any) => |e, a| { let l = items(&a[0], "find initial")?; list_result(e, l[..l.len().saturating_sub(1)].to_vec()) }),
        f!("append" (Any, Any) => |e, a| { let mut l = items(&a[0], "push")?.to_vec(); l.push(a[1].clone()); list_result(e, l) }),
        f!("push" (Any, Any) => |e, a| { let mut l = items(&a[0], "push")?.to_vec(); l.push(a[1].clone()); list_result(e, l) }),
        f!("mustAppend" (Any, Any) => |e, a| { let mut l = items(&a[0], "push")?.to_vec(); l.push(a[1].clone()); list_result(e, l) }),
        f!("mustPush" (Any, Any) => |e, a| { let mut l = items(&a[0], "push")?.to_vec(); l.push(a[1].clone()); list_result(e, l) }),
        f!("prepend" (Any, Any) => |e, a| { let mut l = vec![a[1].clone()]; l.extend_from_slice(items(&a[0], "prepend")?); list_result(e, l) }),
        f!("mustPrepend" (Any, Any) => |e, a| { let mut l = vec![a[1].clone()]; l.extend_from_slice(items(&a[0], "prepend")?); list_result(e, l) }),
        f!("reverse" (Any) => |e, a| { let mut l = items(&a[0], "find reverse")?.to_vec(); l.reverse(); list_result(e, l) }),
        f!("mustReverse" (Any) => |e, a| { let mut l = items(&a[0], "find reverse")?.to_vec(); l.reverse(); list_result(e, l) }),
        f!("compact" (Any) => |e, a| { let l = items(&a[0], "compact")?.iter().filter(|v| v.truth()).cloned().collect(); list_result(e, l) }),
        f!("mustCompact" (Any) => |e, a| { let l = items(&a[0], "compact")?.iter().filter(|v| v.truth()).cloned().collect(); list_result(e, l) }),
        f!("uniq" (Any) => |e, a| uniq(e, &a[0])),
        f!("mustUniq" (Any) => |e, a| uniq(e, &a[0])),
        f!("without" (Any) .. Any => |e, a| without(e, &a[0], &a[1..])),
        f!("mustWithout" (Any) .. Any => |e, a| without(e, &a[0], &a[1..])),
        f!("has" (Any, Any) => |e, a| has(e, &a[0], &a[1]).map(Value::Bool)),
        f!("mustHas" (Any, Any) => |e, a| has(e, &a[0], &a[1]).map(Value::Bool)),
        f!("concat" () .. Any => |e, a| {
            let mut out = Vec::new();
            for v in a {
                match v {
                    Value::List(l) => out.extend_from_slice(&l.items),
                    // Sprig asks reflect.TypeOf(nil) for its Kind, which panics.
                    Value::Nil | Value::Missing => {
                        return Err("runtime error: invalid memory address or nil pointer dereference".into())
                    }
                    other => {
                        return Err(format!("Cannot concat type {} as list", other.kind_name()).into())
                    }
                }
            }
            list_result(e, out)
        }),
        f!("chunk" (Int, Any) => |e, a| chunk(e, a[0].as_int().unwrap_or(0), &a[1])),
        f!("mustChunk" (Int, Any) => |e, a| chunk(e, a[0].as_int().unwrap_or(0), &a[1])),
        f!("tuple" () .. Any => |e, a| list_result(e, a.to_vec())),
        f!("until" (Int) => |e, a| {
            let n = a[0].as_int().unwrap_or(0);
            let v = until_step(e, 0, n, if n < 0 { -1 } else { 1 })?;
            ints(e, v)
        }),
        f!("untilStep" (Int, Int, Int) => |e, a| {
            let [start, stop, step] = [&a[0], &a[1], &a[2]].map(|v| v.as_int().unwrap_or(0));
            let v = until_step(e, start, stop, step)?;
            ints(e, v)
        }),
        f!("seq" () .. Int => |e, a| seq(e, a)),
        // Strings.
        f!("substr" (Int, Int, Str) => |e, a| substr(e, a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0), s(&a[2]))),
        f!("trunc" (Int, Str) => |e, a| trunc(e, a[0].as_int().unwrap_or(0), s(&a[1]))),
        f!("repeat" (Int, Str) => |e, a| {
            let n = a[0].as_int().unwrap_or(0);
            let Ok(n) = usize::try_from(n) else {
                return Err("strings: negative Repeat count".into());
            };
            let text = s(&a[1]);
            let size = text.len().checked_mul(n).ok_or("strings: Repeat count causes overflow")?;
            e.charge(size)?;
            Ok(Value::string(text.repeat(n)))
        }),
        f!("trimAll" (Str, Str) => |e, a| e.string(trim_all(s(&a[0]), s(&a[1])))),
        f!("trimall" (Str, Str) => |e, a| e.string(trim_all(s(&a[0]), s(&a[1])))),
        f!("nospace" (Str) => |e, a| e.string(nospace(s(&a[0])))),
        f!("camelcase" (Str) => |e, a| e.string(super::xstrings::camel_case(s(&a[0])))),
        f!("snakecase" (Str) => |e, a| e.string(super::xstrings::lower_case(s(&a[0]), '_'))),
        f!("kebabcase" (Str) => |e, a| e.string(super::xstrings::lower_case(s(&a[0]), '-'))),
        f!("wrap" (Int, Str) => |e, a| {
            let t = s(&a[1]);
            e.charge(t.len().saturating_mul(2))?;
            e.string(wrap(t, a[0].as_int().unwrap_or(0), "", false))
        }),
        f!("wrapWith" (Int, Str, Str) => |e, a| {
            let (t, sep) = (s(&a[2]), s(&a[1]));
            let width = a[0].as_int().unwrap_or(0).max(1) as usize;
            e.charge(t.len().saturating_add((t.len() / width + 1).saturating_mul(sep.len().max(1))))?;
            e.string(wrap(t, a[0].as_int().unwrap_or(0), sep, true))
        }),
        f!("initials" (Str) => |e, a| e.string(initials(s(&a[0])))),
        f!("untitle" (Str) => |e, a| e.string(untitle(s(&a[0])))),
        f!("abbrev" (Int, Str) => |e, a| {
            let (w, t) = (a[0].as_int().unwrap_or(0), s(&a[1]));
            if w < 4 {
                return e.string(t.to_owned());
            }
            e.string(abbreviate_full(t, 0, w).unwrap_or_default())
        }),
        f!("abbrevboth" (Int, Int, Str) => |e, a| {
            let (l, r, t) = (a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0), s(&a[2]));
            if r < 4 || l > 0 && r < 7 {
                return e.string(t.to_owned());
            }
            e.string(abbreviate_full(t, l, r).unwrap_or_default())
        }),
        f!("plural" (Str, Str, Int) => |e, a| {
            let t = if a[2].as_int() == Some(1) { s(&a[0]) } else { s(&a[1]) };
            e.string(t.to_owned())
        }),
        f!("splitList" (Str, Str) => |e, a| {
            let parts = go_split(s(&a[1]), s(&a[0]), -1);
            e.charge(s(&a[1]).len())?;
            e.list(Elem::String, parts.into_iter().map(Value::string).collect())
        }),
        f!("splitn" (Str, Int, Str) => |e, a| {
            let parts = go_split(s(&a[2]), s(&a[0]), a[1].as_int().unwrap_or(0));
            e.charge(s(&a[2]).len())?;
            let m: BTreeMap<String, Value> = parts.into_iter().enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::string(p))).collect();
            e.map(Elem::String, m)
        }),
        f!("toStrings" (Any) => |e, a| {
            let parts = e.strslice(&a[0])?;
            e.charge(parts.iter().map(String::len).sum())?;
            e.list(Elem::String, parts.into_iter().map(Value::string).collect())
        }),
        f!("cat" () .. Any => |e, a| {
            let kept: Vec<Value> = a.iter().filter(|v| !v.is_nil()).cloned().collect();
            let format = vec!["%v"; kept.len()].join(" ");
            let mut p = Printer::new(e.budget.left());
            p.printf(&format, &kept)?;
            e.string(p.buf)
        }),
        // Numbers.
        f!("add1" (Any) => |_, a| Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))),
        f!("max" (Any) .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(to_int64(&a[0]), i64::max)))),
        f!("biggest" (Any) .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(to_int64(&a[0]), i64::max)))),
        f!("min" (Any) .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(to_int64(&a[0]), i64::min)))),
        f!("maxf" (Any) .. Any => |_, a| Ok(Value::Float(a[1..].iter().map(to_float64).fold(to_float64(&a[0]), go_max)))),
        f!("minf" (Any) .. Any => |_, a| Ok(Value::Float(a[1..].iter().map(to_float64).fold(to_float64(&a[0]), go_min)))),
        f!("addf" () .. Any => |_, a| decimal_op(&Value::Float(0.0), a, |x, y| Ok(x.add(y)))),
        f!("add1f" (Any) => |_, a| decimal_op(&a[0], &[Value::Float(1.0)], |x, y| Ok(x.add(y)))),
        f!("subf" (Any) .. Any => |_, a| decimal_op(&a[0], &a[1..], |x, y| Ok(x.sub(y)))),
        f!("mulf" (Any) .. Any => |_, a| decimal_op(&a[0], &a[1..], |x, y| Ok(x.mul(y)))),
        f!("divf" (Any) .. Any => |_, a| decimal_op(&a[0], &a[1..], Decimal::div)),
        f!("floor" (Any) => |_, a| Ok(Value::Float(to_float64(&a[0]).floor()))),
        f!("ceil" (Any) => |_, a| Ok(Value::Float(to_float64(&a[0]).ceil()))),
        f!("round" (Any, Int) .. Any => |_, a| Ok(Value::Float(round(&a[0], a[1].as_int().unwrap_or(0), a.get(2))))),
        f!("int64" (Any) => |_, a| Ok(Value::Int64(to_int64(&a[0])))),
        f!("float64" (Any) => |_, a| Ok(Value::Float(to_float64(&a[0])))),
        f!("atoi" (Str) => |_, a| Ok(Value::Int(atoi(s(&a[0]))))),
        f!("toDecimal" (Any) => |e, a| {
            let text = e.strval(&a[0])?;
            Ok(Value::Int64(parse_octal(&text).unwrap_or(0)))
        }),
        // Durations (Sprig's date functions of given durations).
        f!("duration" (Any) => |e, a| {
            let secs = match &a[0] {
                Value::String(t) => parse_int10(t).unwrap_or(0),
                Value::Int64(n) => *n,
                _ => 0,
            };
            e.string(super::duration::format(secs.wrapping_mul(1_000_000_000)))
        }),
        f!("durationRound" (Any) => |e, a| {
            let d = match &a[0] {
                Value::String(t) => super::duration::parse(t).unwrap_or(0),
                Value::Int64(n) => *n,
                Value::Time(_) => {
                    return Err("durationRound of a time.Time is the time since it, which reads the clock; this engine does not".into());
                }
                _ => 0,
            };
            e.string(super::duration::round(d))
        }),
        f!("urlParse" (Str) => |e, a| {
            let parts = super::url::url_parse(s(&a[0]))?;
            let entries = parts.into_iter().map(|(k, v)| (k, Value::string(v))).collect();
            e.charge(2 * s(&a[0]).len())?;
            e.map(Elem::Any, entries)
        }),
        f!("urlJoin" (Map) => |e, a| {
            let Value::Map(m) = &a[0] else {
                return Err(NIL_DEREF.into());
            };
            let m = m.borrow();
            let get = |key: &str| match m.entries.get(key) {
                None => Ok(String::new()),
                Some(Value::String(v)) => Ok(v.to_string()),
                Some(Value::Nil | Value::Missing) => Err(NIL_DEREF.to_owned()),
                Some(other) => Err(format!(
                    "unable to parse {key} key, must be of type string, but {} found",
                    other.kind_name()
                )),
            };
            let joined = super::url::url_join(&get)?;
            drop(m);
            e.string(joined)
        }),
        f!("all" () .. Any => |_, a| Ok(Value::Bool(a.iter().all(Value::truth)))),
        f!("any" () .. Any => |_, a| Ok(Value::Bool(a.iter().any(Value::truth)))),
        f!("hello" () => |e, _| e.string("Hello!".to_owned())),
        // Types.
        f!("kindOf" (Any) => |e, a| e.string(a[0].kind_name().to_owned())),
        f!("kindIs" (Str, Any) => |_, a| Ok(Value::Bool(s(&a[0]) == a[1].kind_name()))),
        f!("typeOf" (Any) => |e, a| e.string(go_type(&a[0]).to_owned())),
        f!("typeIs" (Str, Any) => |_, a| Ok(Value::Bool(s(&a[0]) == go_type(&a[1])))),
        f!("typeIsLike" (Str, Any) => |_, a| {
            let (want, t) = (s(&a[0]), go_type(&a[1]));
            Ok(Value::Bool(want == t || format!("*{want}") == t))
        }),
        f!("deepEqual" (Any, Any) => |e, a| Ok(Value::Bool(deep_equal(e, &a[0], &a[1], 0)?))),
        // Encodings and hashes.
        f!("b32enc" (Str) => |e, a| e.string(data_encoding::BASE32.encode(s(&a[0]).as_bytes()))),
        f!("b32dec" (Str) => |e, a| {
            let text = match data_encoding::BASE32.decode(s(&a[0]).as_bytes()) {
                Ok(b) => go_lossy(&b),
                Err(err) => format!("illegal base32 data at input byte {}", err.position),
            };
            e.string(text)
        }),
        f!("sha1sum" (Str) => |e, a| e.string(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes())))),
        f!("adler32sum" (Str) => |e, a| e.string(adler2::adler32_slice(s(&a[0]).as_bytes()).to_string())),
        f!("toPrettyJson" (Any) => |e, a| { let t = to_json_with(e, &a[0], true, false)?; Ok(Value::string(t)) }),
        f!("mustToPrettyJson" (Any) => |e, a| { let t = to_json_with(e, &a[0], true, false)?; Ok(Value::string(t)) }),
        f!("toRawJson" (Any) => |e, a| { let t = to_json_with(e, &a[0], false, true)?; Ok(Value::string(t)) }),
        f!("mustToRawJson" (Any) => |e, a| { let t = to_json_with(e, &a[0], false, true)?; Ok(Value::string(t)) }),
        f!("mustToJson" (Any) => |e, a| { let t = to_json_with(e, &a[0], false, false)?; Ok(Value::string(t)) }),
        // Helm's, which replaces Sprig's (nil on bad input): a map, or `{Error: …}`.
        f!("fromJson" (Str) => |e, a| Ok(match from_json(e, s(&a[0]))? {
            Ok(v @ Value::Map(_)) => v,
            // `null` unmarshals into a nil map.
            Ok(Value::Nil) => Value::map(BTreeMap::new()),
            Ok(other) => error_map(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(message) => error_map(message),
        })),
        f!("mustFromJson" (Str) => |e, a| from_json(e, s(&a[0]))?.map_err(FnError::Go)),
        // Helm's: a list, or a list holding the error.
        f!("fromJsonArray" (Str) => |e, a| Ok(match from_json(e, s(&a[0]))? {
            Ok(v @ Value::List(_)) => v,
            // `null` unmarshals into a nil slice.
            Ok(Value::Nil) => Value::Nil,
            Ok(other) => Value::list(vec![Value::string(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                match other { Value::Map(_) => "object", Value::String(_) => "string",
                              Value::Bool(_) => "bool", _ => "number" }
            ))]),
            Err(message) => Value::list(vec![Value::string(message)]),
        })),
        // Paths.
        f!("base" (Str) => |e, a| e.string(base(s(&a[0])))),
        f!("dir" (Str) => |e, a| e.string(dir(s(&a[0])))),
        f!("clean" (Str) => |e, a| e.string(clean(s(&a[0])))),
        f!("ext" (Str) => |e, a| e.string(ext(s(&a[0])))),
        f!("isAbs" (Str) => |_, a| Ok(Value::Bool(s(&a[0]).starts_with('/')))),
        // filepath's, which on Linux are path's.
        f!("osBase" (Str) => |e, a| e.string(base(s(&a[0])))),
        f!("osDir" (Str) => |e, a| e.string(dir(s(&a[0])))),
        f!("osClean" (Str) => |e, a| e.string(clean(s(&a[0])))),
        f!("osExt" (Str) => |e, a| e.string(ext(s(&a[0])))),
        f!("osIsAbs" (Str) => |_, a| Ok(Value::Bool(s(&a[0]).starts_with('/')))),
        // Regular expressions.
        f!("regexFind" (Str, Str) => |e, a| {
            let found = compile(s(&a[0]))?.find(s(&a[1])).map_or(String::new(), |m| m.as_str().to_owned());
            e.string(found)
        }),
        f!("mustRegexFind" (Str, Str) => |e, a| {
            let found = compile_plain(s(&a[0]))?.find(s(&a[1])).map_or(String::new(), |m| m.as_str().to_owned());
            e.string(found)
        }),
        f!("regexFindAll" (Str, Str, Int) => |e, a| regex_find_all(e, s(&a[0]), s(&a[1]), a[2].as_int().unwrap_or(0), false)),
        f!("mustRegexFindAll" (Str, Str, Int) => |e, a| regex_find_all(e, s(&a[0]), s(&a[1]), a[2].as_int().unwrap_or(0), true)),
        f!("regexSplit" (Str, Str, Int) => |e, a| regex_split(e, s(&a[0]), s(&a[1]), a[2].as_int().unwrap_or(0), false)),
        f!("mustRegexSplit" (Str, Str, Int) => |e, a| regex_split(e, s(&a[0]), s(&a[1]), a[2].as_int().unwrap_or(0), true)),
        f!("mustRegexReplaceAll" (Str, Str, Str) => |e, a| {
            let re = compile_plain(s(&a[0]))?;
            replace_all(e, &re, s(&a[1]), s(&a[2]), false)
        }),
        f!("mustRegexReplaceAllLiteral" (Str, Str, Str) => |e, a| {
            let re = compile_plain(s(&a[0]))?;
            replace_all(e, &re, s(&a[1]), s(&a[2]), true)
        }),
        f!("mustRegexMatch" (Str, Str) => |_, a| Ok(Value::Bool(compile_plain(s(&a[0]))?.is_match(s(&a[1]))))),
        f!("regexQuoteMeta" (Str) => |e, a| e.string(quote_meta(s(&a[0])))),
        f!("regexReplaceAllLiteral" (Str, Str, Str) => |e, a| {
            let re = compile(s(&a[0]))?;
            replace_all(e, &re, s(&a[1]), s(&a[2]), true)
        }),
        // Dicts.
        f!("pluck" (Str) .. Map => |e, a| {
            let key = s(&a[0]);
            let found: Vec<Value> = a[1..].iter().filter_map(|m| match m {
                Value::Map(m) => m.borrow().entries.get(key).cloned(),
                _ => None,
            }).collect();
            list_result(e, found)
        }),
        f!("pick" (Map) .. Str => |e, a| {
            let Value::Map(m) = &a[0] else { return e.map(Elem::Any, BTreeMap::new()) };
            let picked: BTreeMap<String, Value> = a[1..].iter().filter_map(|k| {
                let k = s(k);
                m.borrow().entries.get(k).map(|v| (k.to_owned(), v.clone()))
            }).collect();
            e.map(Elem::Any, picked)
        }),
        f!("omit" (Map) .. Str => |e, a| {
            let Value::Map(m) = &a[0] else { return e.map(Elem::Any, BTreeMap::new()) };
            let kept: BTreeMap<String, Value> = m.borrow().entries.iter()
                .filter(|(k, _)| !a[1..].iter().any(|o| s(o) == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone())).collect();
            e.map(Elem::Any, kept)
        }),
        f!("values" (Map) => |e, a| {
            let vals: Vec<Value> = match &a[0] {
                Value::Map(m) => m.borrow().entries.values().cloned().collect(),
                _ => Vec::new(),
            };
            list_result(e, vals)
        }),
        f!("dig" () .. Any => |_, a| dig(a)),
        f!("merge" (Map) .. Map => |e, a| merge(e, a, false)),
        f!("mustMerge" (Map) .. Map => |e, a| merge(e, a, false)),
        f!("mergeOverwrite" (Map) .. Map => |e, a| merge(e, a, true)),
        f!("mustMergeOverwrite" (Map) .. Map => |e, a| merge(e, a, true)),
        f!("deepCopy" (Any) => |e, a| deep_copy(e, &a[0], 0)),
        f!("mustDeepCopy" (Any) => |e, a| deep_copy(e, &a[0], 0)),
    ]
}

/// mergo's `isEmptyValue` for a map element (an interface): nil, or the zero of what
/// it holds.
fn mergo_empty(v: &Value) -> bool {
    !v.truth()
}

/// mergo's `deepMerge` of one `map[string]interface{}` into another, as Sprig's
/// `merge` (`overwrite` false) and `mergeOverwrite` call it. Nested maps are merged in
/// place (Go maps are references); lists are replaced, never merged.
fn merge_into(
    e: &mut Env<'_, '_>,
    dst: &super::value::MapRef,
    src: &super::value::MapRef,
    overwrite: bool,
    depth: usize,
) -> Result<(), FnError> {
    if depth >= super::fmt::MAX_VALUE_DEPTH {
        return Err(FnError::Bound(super::Bound::ValueDepth));
    }
    e.mutating(dst);
    let entries: Vec<(String, Value)> = src
        .borrow()
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, sv) in entries {
        // A map whose entries lead back to it would make this walk exponential.
        e.work(1)?;
        let dv = dst.borrow().entries.get(&key).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().entries.insert(key, Value::Nil);
            }
            continue;
        }
        match &sv {
            Value::Map(sm) => {
                if let Some(Value::Map(dm)) = &dv {
                    merge_into(e, dm, sm, overwrite, depth + 1)?;
                }
            }
            Value::List(_) => {
                let dst_empty = dst.borrow().entries.is_empty();
                let slice = match &dv {
                    _ if overwrite || dst_empty => sv.clone(),
                    None | Some(Value::Nil) => Value::typed_list(
                        match &sv {
                            Value::List(l) => l.elem,
                            _ => Elem::Any,
                        },
                        Vec::new(),
                    ),
                    Some(d) => d.clone(),
                };
                e.charge(key.len() + 2 * SLOT)?;
                dst.borrow_mut().entries.insert(key.clone(), slice);
            }
            _ => {}
        }
        if dv.as_ref().is_some_and(|d| !mergo_empty(d))
            && matches!(sv, Value::Map(_) | Value::List(_))
        {
            continue;
        }
        if overwrite || dv.as_ref().is_none_or(mergo_empty) {
            e.charge(key.len() + 2 * SLOT)?;
            // Dropped after the borrow ends: the value replaced may hold this map.
            let replaced = dst.borrow_mut().entries.insert(key, sv);
            drop(replaced);
        }
    }
    Ok(())
}

/// Sprig's `merge` / `mergeOverwrite`: every source into the first map, which is
/// returned (a nil first map becomes a new one).
fn merge(e: &mut Env<'_, '_>, args: &[Value], overwrite: bool) -> FnResult {
    let dst = match &args[0] {
        Value::Map(m) => std::rc::Rc::clone(m),
        _ => match Value::map(BTreeMap::new()) {
            Value::Map(m) => m,
            _ => return Err("merge of a non-map".into()),
        },
    };
    for src in &args[1..] {
        if let Value::Map(src) = src {
            merge_into(e, &dst, src, overwrite, 0)?;
        }
    }
    Ok(Value::Map(dst))
}

/// copystructure's `Copy`: new maps and lists all the way down, the element types
/// kept.
fn deep_copy(e: &mut Env<'_, '_>, v: &Value, depth: usize) -> FnResult {
    if depth >= super::fmt::MAX_VALUE_DEPTH {
        return Err(FnError::Bound(super::Bound::ValueDepth));
    }
    e.work(1)?;
    Ok(match v {
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.items.len());
            for x in &l.items {
                items.push(deep_copy(e, x, depth + 1)?);
            }
            e.list(l.elem, items)?
        }
        Value::Map(m) => {
            let (elem, entries): (Elem, Vec<(String, Value)>) = {
                let m = m.borrow();
                (
                    m.elem,
                    m.entries
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            };
            let mut out = BTreeMap::new();
            for (k, x) in entries {
                out.insert(k, deep_copy(e, &x, depth + 1)?);
            }
            e.map(elem, out)?
        }
        // copystructure asks the type of nil, and reflect panics.
        Value::Nil | Value::Missing if depth == 0 => {
            return Err("reflect: call of reflect.Value.Type on zero Value".into());
        }
        other => other.clone(),
    })
}

/// Sprig's `execDecimalOp`: `a`, then each of `rest` applied with `op`, in decimal.
fn decimal_op(
    a: &Value,
    rest: &[Value],
    op: fn(&Decimal, &Decimal) -> Result<Decimal, String>,
) -> FnResult {
    let mut acc = Decimal::from_f64(to_float64(a))?;
    for x in rest {
        acc = op(&acc, &Decimal::from_f64(to_float64(x))?)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `strconv.Atoi` as Sprig keeps its value: 0 for text that is not a number, the
/// nearest int64 for one out of range (Go returns both with its error).
fn atoi(t: &str) -> i64 {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    t.parse().unwrap_or(if t.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// `strconv.ParseInt(s, 10, 64)`.
fn parse_int10(t: &str) -> Option<i64> {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `strconv.ParseInt(s, 8, 64)`.
fn parse_octal(t: &str) -> Option<i64> {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || digits.contains('_') {
        return None;
    }
    i64::from_str_radix(t, 8).ok()
}

/// `fmt.Sprintf("%T")` of a value.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Missing | Value::Nil => "<nil>",
        other => other.type_name(),
    }
}

/// Sprig's `uniq`: quadratic in Go too; every comparison costs fuel.
fn uniq(e: &mut Env<'_, '_>, list: &Value) -> FnResult {
    let mut out: Vec<Value> = Vec::new();
    for v in items(list, "find uniq")? {
        let mut seen = false;
        for o in &out {
            if deep_equal(e, o, v, 0)? {
                seen = true;
                break;
            }
        }
        if !seen {
            out.push(v.clone());
        }
    }
    list_result(e, out)
}

/// Whether `needle` is deeply equal to one of `haystack`.
fn contains(e: &mut Env<'_, '_>, haystack: &[Value], needle: &Value) -> Result<bool, FnError> {
    for h in haystack {
        if deep_equal(e, needle, h, 0)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn without(e: &mut Env<'_, '_>, list: &Value, omit: &[Value]) -> FnResult {
    let mut kept = Vec::new();
    for v in items(list, "find without")? {
        if !contains(e, omit, v)? {
            kept.push(v.clone());
        }
    }
    list_result(e, kept)
}

fn has(e: &mut Env<'_, '_>, needle: &Value, haystack: &Value) -> Result<bool, FnError> {
    if haystack.is_nil() {
        return Ok(false);
    }
    let items = items(haystack, "find has")?;
    contains(e, items, needle)
}

fn chunk(e: &mut Env<'_, '_>, size: i64, list: &Value) -> FnResult {
    let l = items(list, "chunk")?;
    if size <= 0 {
        return Err("runtime error: makeslice: len out of range".into());
    }
    let chunks: Vec<Value> = l
        .chunks(size as usize)
        .map(|c| Value::list(c.to_vec()))
        .collect();
    e.charge(SLOT * (l.len() + chunks.len()))?;
    e.list(Elem::List, chunks)
}
