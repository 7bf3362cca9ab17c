//! Go's `fmt` and `strconv` as templates see them: `%v` of every value (`map[a:1]`,
//! `1e+06`), `printf` verbs with flags, width and precision and Go's `%!verb(type=value)`
//! complaints, and `strconv.Quote`/`Unquote`.

use std::fmt::Write as _;

use super::value::Value;

/// Whether Go's `strconv.IsPrint` holds: letters, marks, numbers, punctuation, symbols
/// and the ASCII space (not other spaces, controls or format characters).
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xD800..=0xDFFF | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

/// `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    quote_with(s, '"')
}

fn quote_with(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        escape_char(&mut out, c, q);
    }
    out.push(q);
    out
}

fn escape_char(out: &mut String, c: char, q: char) {
    if c == q || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// `%#U`: `U+0041 'A'`.
pub(crate) fn unicode_notation(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// `strconv.Unquote` for `"…"` and `` `…` `` strings.
pub(crate) fn unquote(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        if raw.contains('`') {
            return None;
        }
        return Some(raw.replace('\r', ""));
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\n' {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(unescape(&mut chars, '"')?);
    }
    Some(out)
}

/// The rune of a `'x'` constant.
pub(crate) fn unquote_char(s: &str) -> Option<char> {
    let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut chars = inner.chars().peekable();
    let c = match chars.next()? {
        '\\' => unescape(&mut chars, '\'')?,
        '\'' | '\n' => return None,
        c => c,
    };
    chars.next().is_none().then_some(c)
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> Option<char> {
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| {
        let digits: String = (0..n).filter_map(|_| chars.next()).collect();
        if digits.len() != n {
            return None;
        }
        u32::from_str_radix(&digits, 16).ok()
    };
    Some(match chars.next()? {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '\\' => '\\',
        c if c == quote => c,
        'x' => char::from_u32(hex(chars, 2)?)?,
        'u' => char::from_u32(hex(chars, 4)?)?,
        'U' => char::from_u32(hex(chars, 8)?)?,
        c @ '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next()?.to_digit(8)?;
            }
            if v > 255 {
                return None;
            }
            char::from_u32(v)?
        }
        _ => return None,
    })
}

/// Shortest decimal digits and decimal exponent of a finite, non-zero `f`:
/// `f = 0.DIGITS × 10^exp` in Go's `decimal` terms (`dp`).
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "1.2345e3".
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

/// Digits of `f` rounded to `sig` significant digits, trailing zeros kept.
fn rounded_digits(f: f64, sig: usize) -> (String, i32) {
    let s = format!("{:.*e}", sig.saturating_sub(1), f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (digits, exp.parse::<i32>().unwrap_or(0) + 1)
}

fn exp_suffix(out: &mut String, e: i32, upper: bool) {
    out.push(if upper { 'E' } else { 'e' });
    out.push(if e < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", e.abs());
}

/// `%e` from digits `d` and decimal point position `dp`.
fn fmt_e(neg: bool, digits: &str, dp: i32, prec: Option<usize>, upper: bool) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let first = digits.chars().next().unwrap_or('0');
    out.push(first);
    let rest = &digits[first.len_utf8().min(digits.len())..];
    let rest = match prec {
        Some(p) => {
            let mut r = rest.to_owned();
            while r.len() < p {
                r.push('0');
            }
            r.truncate(p);
            r
        }
        None => rest.to_owned(),
    };
    if !rest.is_empty() {
        out.push('.');
        out.push_str(&rest);
    }
    let e = if digits.bytes().all(|b| b == b'0') {
        0
    } else {
        dp - 1
    };
    exp_suffix(&mut out, e, upper);
    out
}

/// `%f` from digits and decimal point position, with exactly `prec` fraction digits
/// (`None`: as many as the digits need).
fn fmt_f(neg: bool, digits: &str, dp: i32, prec: Option<usize>) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp as usize {
            out.push(digits.as_bytes().get(i).map_or('0', |b| char::from(*b)));
        }
    }
    let frac_len = match prec {
        Some(p) => p,
        None => (digits.len() as i32 - dp).max(0) as usize,
    };
    if frac_len > 0 {
        out.push('.');
        for i in 0..frac_len as i32 {
            let idx = dp + i;
            let c = if idx < 0 {
                '0'
            } else {
                digits
                    .as_bytes()
                    .get(idx as usize)
                    .map_or('0', |b| char::from(*b))
            };
            out.push(c);
        }
    }
    out
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`: what `%v` prints for a float64.
pub(crate) fn format_float_g(f: f64) -> String {
    format_float(f, 'g', None)
}

/// `strconv.FormatFloat(f, verb, prec, 64)` for `e`, `E`, `f`, `g`, `G`.
pub(crate) fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
    let upper = verb.is_ascii_uppercase();
    if f == 0.0 {
        return match verb {
            'e' | 'E' => fmt_e(
                neg,
                "0",
                1,
                prec.or(Some(0)).filter(|_| prec.is_some()),
                upper,
            ),
            'f' | 'F' => fmt_f(neg, "0", 1, prec),
            _ => {
                if neg {
                    "-0".into()
                } else {
                    "0".into()
                }
            }
        };
    }
    match verb {
        'e' | 'E' => {
            let (digits, dp) = match prec {
                Some(p) => rounded_digits(f, p + 1),
                None => shortest_digits(f),
            };
            fmt_e(neg, &digits, dp, prec, upper)
        }
        'f' | 'F' => match prec {
            Some(p) => {
                let s = format!("{:.*}", p, f.abs());
                if neg { format!("-{s}") } else { s }
            }
            None => {
                let (digits, dp) = shortest_digits(f);
                fmt_f(neg, &digits, dp, None)
            }
        },
        _ => {
            let (digits, dp, eprec) = match prec {
                None => {
                    let (d, dp) = shortest_digits(f);
                    (d, dp, 6)
                }
                Some(p) => {
                    let p = p.max(1);
                    let (d, dp) = rounded_digits(f, p);
                    let trimmed = d.trim_end_matches('0');
                    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
                    let mut eprec = p as i32;
                    if eprec > trimmed.len() as i32 && trimmed.len() as i32 >= dp {
                        eprec = trimmed.len() as i32;
                    }
                    (trimmed.to_owned(), dp, eprec)
                }
            };
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                fmt_e(neg, &digits, dp, None, upper)
            } else {
                fmt_f(neg, &digits, dp, None)
            }
        }
    }
}

/// `%v` of a value as `fmt.Print` writes it (`<nil>` for nil; `Missing` is a nil
/// interface argument too).
pub(crate) fn print_value(out: &mut String, v: &Value) {
    match v {
        Value::Missing | Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float_g(*f)),
        Value::String(s) => out.push_str(s),
        Value::List(_) | Value::Strings(_) | Value::Map(_) | Value::StringMap(_) => {
            format_verb(out, v, &Spec::plain('v'));
        }
    }
}

/// A parsed `%…` directive.
#[derive(Clone, Debug, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    verb: char,
}

impl Spec {
    fn plain(verb: char) -> Self {
        Self {
            verb,
            ..Self::default()
        }
    }
}

fn pad(out: &mut String, body: &str, spec: &Spec, numeric: bool) {
    let len = body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        // Zeros go after the sign.
        let (sign, rest) = match body.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), &body[1..]),
            _ => (None, body),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    match v {
        Value::Missing | Value::Nil => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        _ => {
            let mut shown = String::new();
            print_value(&mut shown, v);
            let _ = write!(out, "%!{verb}({}={shown})", v.type_name());
        }
    }
}

fn signed(i: i64, spec: &Spec, body: String) -> String {
    if i >= 0 && spec.plus {
        format!("+{body}")
    } else if i >= 0 && spec.space {
        format!(" {body}")
    } else {
        body
    }
}

fn format_int(out: &mut String, v: &Value, i: i64, spec: &Spec) {
    let abs = i.unsigned_abs();
    let neg = if i < 0 { "-" } else { "" };
    let body = match spec.verb {
        'v' | 'd' => format!("{neg}{abs}"),
        'b' => format!("{neg}{abs:b}"),
        'o' => format!("{neg}{}{abs:o}", if spec.sharp { "0" } else { "" }),
        'O' => format!("{neg}0o{abs:o}"),
        'x' => format!("{neg}{}{abs:x}", if spec.sharp { "0x" } else { "" }),
        'X' => format!("{neg}{}{abs:X}", if spec.sharp { "0X" } else { "" }),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            return pad(out, &c.to_string(), spec, false);
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            return pad(out, &quote_with(&c.to_string(), '\''), spec, false);
        }
        'U' => {
            let c = u32::try_from(i).unwrap_or(0xfffd);
            let mut s = format!("U+{c:04X}");
            if spec.sharp
                && let Some(ch) = char::from_u32(c).filter(|ch| is_print(*ch))
            {
                let _ = write!(s, " '{ch}'");
            }
            return pad(out, &s, spec, false);
        }
        _ => return bad_verb(out, v, spec.verb),
    };
    let body = match spec.prec {
        Some(p) if body.trim_start_matches('-').len() < p => {
            let digits = body.trim_start_matches('-');
            format!("{neg}{}{digits}", "0".repeat(p - digits.len()))
        }
        _ => body,
    };
    pad(out, &signed(i, spec, body), spec, spec.prec.is_none());
}

fn format_float_verb(out: &mut String, v: &Value, f: f64, spec: &Spec) {
    let verb = match spec.verb {
        'v' => 'g',
        c @ ('e' | 'E' | 'f' | 'F' | 'g' | 'G') => c,
        _ => return bad_verb(out, v, spec.verb),
    };
    // fmt's %e and %f default to 6 digits; %g and %v to the shortest.
    let prec = match verb {
        'e' | 'E' | 'f' | 'F' => spec.prec.or(Some(6)),
        _ => spec.prec,
    };
    let mut body = format_float(f, verb, prec);
    if (spec.plus || spec.space) && !body.starts_with('-') && !body.starts_with('+') {
        body.insert(0, if spec.plus { '+' } else { ' ' });
    } else if !spec.plus && body.starts_with('+') {
        body.remove(0);
    }
    pad(out, &body, spec, f.is_finite());
}

fn format_string(out: &mut String, v: &Value, s: &str, spec: &Spec) {
    let truncated: String = match spec.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_owned(),
    };
    let body = match spec.verb {
        'v' | 's' => truncated,
        'q' => {
            if spec.sharp && !truncated.contains('`') {
                format!("`{truncated}`")
            } else {
                quote(&truncated)
            }
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in truncated.bytes().enumerate() {
                if i > 0 && spec.space {
                    h.push(' ');
                }
                if spec.verb == 'x' {
                    let _ = write!(h, "{b:02x}");
                } else {
                    let _ = write!(h, "{b:02X}");
                }
            }
            h
        }
        _ => return bad_verb(out, v, spec.verb),
    };
    pad(out, &body, spec, false);
}

fn format_verb(out: &mut String, v: &Value, spec: &Spec) {
    match v {
        Value::Missing | Value::Nil => {
            if spec.verb == 'v' {
                pad(out, "<nil>", spec, false);
            } else {
                bad_verb(out, v, spec.verb);
            }
        }
        Value::Bool(b) => match spec.verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec, false),
            _ => bad_verb(out, v, spec.verb),
        },
        Value::Int(i) | Value::Int64(i) => format_int(out, v, *i, spec),
        Value::Float(f) => format_float_verb(out, v, *f, spec),
        Value::String(s) => format_string(out, v, s, spec),
        Value::List(_) | Value::Strings(_) => {
            let items = v.list_items().unwrap_or_default();
            let mut body = String::from("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    body.push(' ');
                }
                let inner = Spec {
                    width: spec.width,
                    ..spec.clone()
                };
                format_verb(&mut body, item, &inner);
            }
            body.push(']');
            out.push_str(&body);
        }
        Value::Map(_) | Value::StringMap(_) => {
            let entries = v.map_entries().unwrap_or_default();
            out.push_str("map[");
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_verb(out, &Value::str(k), spec);
                out.push(':');
                format_verb(out, item, spec);
            }
            out.push(']');
        }
    }
}

/// `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut arg = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(digit) = d.to_digit(10) else { break };
                n = Some(n.unwrap_or(0) * 10 + digit as usize);
                chars.next();
            }
            n
        };
        if chars.peek().is_some_and(|&(_, c)| c == '*') {
            chars.next();
            spec.width = args
                .get(arg)
                .and_then(Value::as_int)
                .and_then(|w| usize::try_from(w).ok());
            arg += 1;
        } else {
            spec.width = number(&mut chars);
        }
        if chars.peek().is_some_and(|&(_, c)| c == '.') {
            chars.next();
            if chars.peek().is_some_and(|&(_, c)| c == '*') {
                chars.next();
                spec.prec = args
                    .get(arg)
                    .and_then(Value::as_int)
                    .and_then(|w| usize::try_from(w).ok());
                arg += 1;
            } else {
                spec.prec = Some(number(&mut chars).unwrap_or(0));
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(arg) {
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
            Some(v) => format_verb(&mut out, v, &spec),
        }
        arg += 1;
    }
    if arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, v) in args[arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if v.is_nil() {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}=", v.type_name());
                print_value(&mut out, v);
            }
        }
        out.push(')');
    }
    out
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, v) in args.iter().enumerate() {
        let is_string = matches!(v, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_value(&mut out, v);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: spaces always, and a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_value(&mut out, v);
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_floats_like_go() {
        for (f, s) in [
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (1e21, "1e+21"),
            (3.0, "3"),
            (-2.5, "-2.5"),
            (1234567.5, "1.2345675e+06"),
            (0.0001, "0.0001"),
        ] {
            assert_eq!(format_float_g(f), s, "{f}");
        }
        assert_eq!(format_float(1.23556, 'f', Some(2)), "1.24");
        assert_eq!(format_float(1234.5678, 'e', None), "1.2345678e+03");
        assert_eq!(format_float(1234.5678, 'e', Some(2)), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'f', Some(0)), "1235");
    }

    #[test]
    fn sprintf_matches_go() {
        let v = |s: &str| Value::str(s);
        assert_eq!(
            sprintf("%s|%q|%d", &[v("s"), v("q"), Value::Int(42)]),
            "s|\"q\"|42"
        );
        assert_eq!(
            sprintf(
                "[%-5s][%5s][%05d][%+d]",
                &[v("ab"), v("cd"), Value::Int(42), Value::Int(7)]
            ),
            "[ab   ][   cd][00042][+7]"
        );
        assert_eq!(sprintf("%s %s", &[v("one")]), "one %!s(MISSING)");
        assert_eq!(
            sprintf("%s", &[v("one"), v("two")]),
            "one%!(EXTRA string=two)"
        );
        assert_eq!(sprintf("%d", &[v("str")]), "%!d(string=str)");
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%x %X", &[Value::Int(255), v("hi")]), "ff 6869");
    }

    #[test]
    fn quotes_like_strconv() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
        assert_eq!(unquote("\"a\\tb\\u00e9\"").as_deref(), Some("a\tbé"));
        assert_eq!(unquote("`raw\\n`").as_deref(), Some("raw\\n"));
        assert_eq!(unquote_char("'a'"), Some('a'));
        assert_eq!(unquote_char("'\\n'"), Some('\n'));
    }
}
