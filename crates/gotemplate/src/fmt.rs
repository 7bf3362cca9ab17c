//! Go's `fmt` and `strconv` as templates see them: `%v` of every value (`map[a:1]`,
//! `1e+06`), `printf` with Go's flags, argument indexes (`%[2]s`), width and precision
//! and its `%!verb(type=value)` complaints, and `strconv`'s `Quote`, `Unquote` and
//! `FormatFloat`. The printer follows `fmt/print.go` and `fmt/format.go` of Go 1.19.
//!
//! Printing is bounded: a [`Printer`] is given the most bytes it may write, checks
//! before every padding and every element of a container (a list holding itself twice
//! at every level would otherwise print 2^n elements), and refuses values nested
//! deeper than [`MAX_VALUE_DEPTH`]. As in Go, a width or precision above 10^6 is not
//! one (`%!(NOVERB)`, `%!(BADWIDTH)`, `%!(BADPREC)`).

use std::fmt::Write as _;

use super::value::{Elem, Value};

/// Deepest nesting of lists and maps a value may have when it is printed, encoded or
/// compared (templates can build deeper ones in a loop).
pub const MAX_VALUE_DEPTH: usize = 1000;

/// Why printing stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PrintError {
    /// The output would pass the byte cap.
    Bytes,
    /// A value is nested deeper than [`MAX_VALUE_DEPTH`].
    Depth,
}

pub(crate) type PResult = Result<(), PrintError>;

/// Whether Go's `strconv.IsPrint` holds: letters, marks, numbers, punctuation, symbols
/// and the ASCII space (not other spaces, controls or format characters).
pub(crate) fn is_print(c: char) -> bool {
    super::unicode::is_print(c)
}

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// `strconv.QuoteToASCII`.
pub(crate) fn quote_ascii(s: &str) -> String {
    quote_with(s, '"', true)
}

fn quote_with(s: &str, q: char, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        escape_char(&mut out, c, q, ascii);
    }
    out.push(q);
    out
}

fn escape_char(out: &mut String, c: char, q: char, ascii: bool) {
    if c == q || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if if ascii {
        c.is_ascii() && is_print(c)
    } else {
        is_print(c)
    } {
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

/// `strconv.QuoteRune` (`'x'`).
fn quote_rune(c: char, ascii: bool) -> String {
    let mut out = String::from('\'');
    escape_char(&mut out, c, '\'', ascii);
    out.push('\'');
    out
}

/// `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\x7f')))
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

// ---------------------------------------------------------------------------------
// strconv.FormatFloat

/// The exact decimal expansion of any finite float64 has at most 767 significant
/// digits and 1074 fraction digits; past these, more precision only adds zeros (and
/// Rust's formatter takes at most 65535).
const EXACT_SIGNIFICANT: usize = 800;
const EXACT_FRACTION: usize = 1100;

/// Decimal digits (no leading zeros) and the position of the decimal point: the value
/// is `0.DIGITS × 10^dp`, as Go's `decimalSlice`. `digits` is empty for zero.
struct Decimal {
    digits: String,
    dp: i32,
}

fn from_exp_form(s: &str) -> Decimal {
    let (mantissa, exp) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    if digits.bytes().all(|b| b == b'0') {
        return Decimal {
            digits: String::new(),
            dp: 0,
        };
    }
    Decimal {
        digits,
        dp: exp + 1,
    }
}

/// Shortest digits that read back as `f` (Go's Ryu shortest; Rust's `{:e}`).
fn shortest_digits(f: f64) -> Decimal {
    from_exp_form(&format!("{:e}", f.abs()))
}

/// `f` rounded to `n` (≥ 1) significant digits, trailing zeros kept.
fn significant(f: f64, n: usize) -> Decimal {
    let exact = n.min(EXACT_SIGNIFICANT);
    let mut d = from_exp_form(&format!("{:.*e}", exact - 1, f.abs()));
    if !d.digits.is_empty() {
        d.digits.extend(std::iter::repeat_n('0', n - exact));
    }
    d
}

/// `strconv.FormatFloat(f, verb, prec, 64)`; `prec` `None` is Go's -1 (shortest).
pub(crate) fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    let mut out = String::new();
    append_float(&mut out, f, verb, prec);
    out
}

fn append_float(out: &mut String, f: f64, verb: char, prec: Option<usize>) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    let neg = f.is_sign_negative();
    match verb {
        'b' => return fmt_b(out, f),
        'x' | 'X' => return fmt_x(out, f, prec, verb),
        _ => {}
    }
    let shortest = prec.is_none();
    let (d, prec) = match prec {
        None => {
            let d = shortest_digits(f);
            let p = match verb {
                'e' | 'E' => d.digits.len().saturating_sub(1),
                'f' => (d.digits.len() as i64 - i64::from(d.dp)).max(0) as usize,
                _ => d.digits.len(),
            };
            (d, p)
        }
        Some(p) => match verb {
            'e' | 'E' => (significant(f, p + 1), p),
            'f' => (fraction_digits(f, p), p),
            _ => {
                let p = p.max(1);
                (significant(f, p), p)
            }
        },
    };
    format_digits(out, shortest, neg, &d, prec, verb);
}

/// `f` rounded to `n` fraction digits.
fn fraction_digits(f: f64, n: usize) -> Decimal {
    let exact = n.min(EXACT_FRACTION);
    let s = format!("{:.*}", exact, f.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let all: String = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    if trimmed.is_empty() {
        return Decimal {
            digits: String::new(),
            dp: 0,
        };
    }
    let lead = all.len() - trimmed.len();
    let dp = int.len() as i32 - lead as i32;
    Decimal {
        digits: trimmed.to_owned(),
        dp,
    }
}

fn format_digits(
    out: &mut String,
    shortest: bool,
    neg: bool,
    d: &Decimal,
    prec: usize,
    verb: char,
) {
    let nd = d.digits.len() as i64;
    let dp = i64::from(d.dp);
    match verb {
        'e' | 'E' => fmt_e(out, neg, d, prec as i64, verb),
        'f' => fmt_f(out, neg, d, prec as i64),
        _ => {
            let mut prec = prec as i64;
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            let e = if verb == 'G' { 'E' } else { 'e' };
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                return fmt_e(out, neg, d, prec - 1, e);
            }
            if prec > dp {
                prec = nd;
            }
            fmt_f(out, neg, d, (prec - dp).max(0));
        }
    }
}

fn fmt_e(out: &mut String, neg: bool, d: &Decimal, prec: i64, verb: char) {
    if neg {
        out.push('-');
    }
    let digits = d.digits.as_bytes();
    out.push(digits.first().map_or('0', |b| char::from(*b)));
    if prec > 0 {
        out.push('.');
        let m = digits.len().min(prec as usize + 1);
        if m > 1 {
            out.push_str(&d.digits[1..m]);
        }
        let have = m.max(1) - 1;
        out.extend(std::iter::repeat_n('0', prec as usize - have));
    }
    out.push(verb);
    let mut exp = i64::from(d.dp) - 1;
    if digits.is_empty() {
        exp = 0;
    }
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.abs();
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

fn fmt_f(out: &mut String, neg: bool, d: &Decimal, prec: i64) {
    if neg {
        out.push('-');
    }
    let digits = d.digits.as_bytes();
    let dp = i64::from(d.dp);
    if dp > 0 {
        let m = digits.len().min(dp as usize);
        out.push_str(&d.digits[..m]);
        out.extend(std::iter::repeat_n('0', dp as usize - m));
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec {
            let j = dp + i;
            out.push(if (0..digits.len() as i64).contains(&j) {
                char::from(digits[j as usize])
            } else {
                '0'
            });
        }
    }
}

/// `%b` of a float64: `mantissa p exponent`, both decimal.
fn fmt_b(out: &mut String, f: f64) {
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp += -1023 - 52;
    if neg {
        out.push('-');
    }
    let _ = write!(out, "{mant}p");
    if exp >= 0 {
        out.push('+');
    }
    let _ = write!(out, "{exp}");
}

/// `%x` / `%X` of a float64: hexadecimal mantissa and binary exponent.
fn fmt_x(out: &mut String, f: f64, prec: Option<usize>, verb: char) {
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1u64 << 52;
    }
    exp += -1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if let Some(p) = prec.filter(|p| *p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if verb == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(verb);
    out.push(char::from(b'0' + ((mant >> 60) & 1) as u8));
    mant <<= 4;
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(char::from(hex[((mant >> 60) & 15) as usize]));
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(char::from(hex[((mant >> 60) & 15) as usize]));
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if verb == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.abs();
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

// ---------------------------------------------------------------------------------
// fmt

/// Go's `fmt` flags, width and precision for one directive.
#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: usize,
    prec: usize,
}

/// Go's `fmt.pp`: a buffer and the flags of the directive being printed.
pub(crate) struct Printer {
    /// What has been printed.
    pub buf: String,
    cap: usize,
    f: Flags,
    erroring: bool,
    reordered: bool,
    good_arg_num: bool,
}

fn too_large(x: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&x)
}

/// Go's `parsenum`: a decimal number at `s[start..end]`, `None` (and the end) on
/// overflow.
fn parse_num(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: i64 = 0;
    let mut is_num = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + i64::from(s[i] - b'0');
        is_num = true;
        i += 1;
    }
    (num as usize, is_num, i)
}

impl Printer {
    /// A printer that may write at most `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buf: String::new(),
            cap,
            f: Flags::default(),
            erroring: false,
            reordered: false,
            good_arg_num: true,
        }
    }

    fn room(&self, n: usize) -> PResult {
        if self.buf.len().saturating_add(n) > self.cap {
            Err(PrintError::Bytes)
        } else {
            Ok(())
        }
    }

    fn write(&mut self, s: &str) -> PResult {
        self.room(s.len())?;
        self.buf.push_str(s);
        Ok(())
    }

    fn write_char(&mut self, c: char) -> PResult {
        self.room(c.len_utf8())?;
        self.buf.push(c);
        Ok(())
    }

    fn write_padding(&mut self, n: usize) -> PResult {
        self.room(n)?;
        let c = if self.f.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
        Ok(())
    }

    fn pad(&mut self, s: &str) -> PResult {
        if !self.f.wid_present || self.f.wid == 0 {
            return self.write(s);
        }
        let width = self.f.wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.write(s)?;
            self.write_padding(width)
        } else {
            self.write_padding(width)?;
            self.write(s)
        }
    }

    fn fmt_boolean(&mut self, b: bool) -> PResult {
        self.pad(if b { "true" } else { "false" })
    }

    fn fmt_unicode(&mut self, u: u64) -> PResult {
        let mut prec = 4;
        if self.f.prec_present && self.f.prec > 4 {
            prec = self.f.prec;
        }
        self.room(prec + 16)?;
        let hex = format!("{u:X}");
        let mut s = String::from("U+");
        s.extend(std::iter::repeat_n('0', prec.saturating_sub(hex.len())));
        s.push_str(&hex);
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            s.push_str(" '");
            s.push(c);
            s.push('\'');
        }
        let zero = self.f.zero;
        self.f.zero = false;
        let r = self.pad(&s);
        self.f.zero = zero;
        r
    }

    /// `fmt.fmtInteger`.
    fn fmt_integer(&mut self, u: u64, base: u32, signed: bool, verb: char, upper: bool) -> PResult {
        let negative = signed && (u as i64) < 0;
        let u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        self.room(self.f.wid + self.f.prec + 70)?;
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let zero = self.f.zero;
                self.f.zero = false;
                let r = self.write_padding(self.f.wid);
                self.f.zero = zero;
                return r;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match (base, upper) {
            (10, _) => u.to_string(),
            (16, false) => format!("{u:x}"),
            (16, true) => format!("{u:X}"),
            (8, _) => format!("{u:o}"),
            _ => format!("{u:b}"),
        };
        if digits.len() < prec {
            digits.insert_str(0, &"0".repeat(prec - digits.len()));
        }
        let mut prefix = String::new();
        if self.f.sharp {
            match base {
                2 => prefix.push_str("0b"),
                8 if !digits.starts_with('0') => prefix.push('0'),
                16 => prefix.push_str(if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            prefix.insert_str(0, "0o");
        }
        if negative {
            prefix.insert(0, '-');
        } else if self.f.plus {
            prefix.insert(0, '+');
        } else if self.f.space {
            prefix.insert(0, ' ');
        }
        prefix.push_str(&digits);
        let zero = self.f.zero;
        self.f.zero = false;
        let r = self.pad(&prefix);
        self.f.zero = zero;
        r
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if self.f.prec_present
            && let Some((i, _)) = s.char_indices().nth(self.f.prec)
        {
            return &s[..i];
        }
        s
    }

    fn fmt_s(&mut self, s: &str) -> PResult {
        let s = self.truncate(s);
        self.pad(s)
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) -> PResult {
        let mut length = s.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid)?;
            }
            return Ok(());
        }
        self.room(width.max(self.f.wid))?;
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width)?;
        }
        let x = if upper { 'X' } else { 'x' };
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(x);
        }
        for (i, b) in s.bytes().take(length).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(x);
                }
            }
            if upper {
                let _ = write!(self.buf, "{b:02X}");
            } else {
                let _ = write!(self.buf, "{b:02x}");
            }
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width)?;
        }
        Ok(())
    }

    fn fmt_q(&mut self, s: &str) -> PResult {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            return self.pad(&format!("`{s}`"));
        }
        let quoted = if self.f.plus {
            quote_ascii(s)
        } else {
            quote(s)
        };
        self.pad(&quoted)
    }

    fn fmt_c(&mut self, c: u64) -> PResult {
        let c = u32::try_from(c)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        self.pad(c.encode_utf8(&mut [0; 4]))
    }

    fn fmt_qc(&mut self, c: u64) -> PResult {
        let c = u32::try_from(c)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        let q = quote_rune(c, self.f.plus);
        self.pad(&q)
    }

    /// `fmt.fmtFloat`; `prec` is the verb's default (-1 as `None`).
    fn fmt_float_with(&mut self, v: f64, verb: char, prec: Option<usize>) -> PResult {
        let prec = if self.f.prec_present {
            Some(self.f.prec)
        } else {
            prec
        };
        self.room(prec.unwrap_or(0) + self.f.wid + 340)?;
        let mut num = String::from("+");
        append_float(&mut num, v, verb, prec);
        if num[1..].starts_with(['-', '+']) {
            num.remove(0);
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            let zero = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            let r = self.pad(&num);
            self.f.zero = zero;
            return r;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i64 = match verb {
                'v' | 'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
                _ => 0,
            };
            let mut tail = String::new();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let bytes: Vec<u8> = num.bytes().collect();
            let mut cut = bytes.len();
            for (i, &b) in bytes.iter().enumerate().skip(1) {
                match b {
                    b'.' => has_point = true,
                    b'p' | b'P' => {
                        tail = num[i..].to_owned();
                        cut = i;
                        break;
                    }
                    b'e' | b'E' if verb != 'x' && verb != 'X' => {
                        tail = num[i..].to_owned();
                        cut = i;
                        break;
                    }
                    _ => {
                        if b != b'0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
            }
            num.truncate(cut);
            if !has_point {
                if num.len() == 2 && num.as_bytes()[1] == b'0' {
                    digits -= 1;
                }
                num.push('.');
            }
            while digits > 0 {
                num.push('0');
                digits -= 1;
            }
            num.push_str(&tail);
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero && self.f.wid_present && self.f.wid > num.len() {
                let (sign, rest) = num.split_at(1);
                let (sign, rest) = (sign.to_owned(), rest.to_owned());
                self.write(&sign)?;
                self.write_padding(self.f.wid - num.len())?;
                return self.write(&rest);
            }
            return self.pad(&num);
        }
        let rest = num[1..].to_owned();
        self.pad(&rest)
    }

    fn fmt_float(&mut self, v: f64, verb: char) -> PResult {
        match verb {
            'v' => self.fmt_float_with(v, 'g', None),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float_with(v, verb, None),
            'f' | 'e' | 'E' => self.fmt_float_with(v, verb, Some(6)),
            'F' => self.fmt_float_with(v, 'f', Some(6)),
            _ => self.bad_verb(verb, &Value::Float(v)),
        }
    }

    fn fmt_int(&mut self, u: u64, signed: bool, verb: char, v: &Value) -> PResult {
        match verb {
            'v' if self.f.sharp_v && !signed => {
                let sharp = self.f.sharp;
                self.f.sharp = true;
                let r = self.fmt_integer(u, 16, false, 'v', false);
                self.f.sharp = sharp;
                r
            }
            'v' | 'd' => self.fmt_integer(u, 10, signed, verb, false),
            'b' => self.fmt_integer(u, 2, signed, verb, false),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, false),
            'x' => self.fmt_integer(u, 16, signed, verb, false),
            'X' => self.fmt_integer(u, 16, signed, verb, true),
            'c' => self.fmt_c(u),
            'q' => self.fmt_qc(u),
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) -> PResult {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, v),
        }
    }

    /// `%!verb(type=value)`.
    fn bad_verb(&mut self, verb: char, v: &Value) -> PResult {
        self.erroring = true;
        self.write("%!")?;
        self.write_char(verb)?;
        self.write_char('(')?;
        let r = if v.is_nil() {
            self.write("<nil>")
        } else {
            self.write(v.type_name())?;
            self.write_char('=')?;
            let flags = self.f;
            let r = self.print_arg(v, 'v', 0);
            self.f = flags;
            r
        };
        self.erroring = false;
        r?;
        self.write_char(')')
    }

    /// `pp.printArg`: one argument (an `interface{}` holding `v`).
    pub(crate) fn print_arg(&mut self, v: &Value, verb: char, depth: usize) -> PResult {
        if v.is_nil() {
            return match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            };
        }
        if verb == 'T' {
            return self.fmt_s(v.type_name());
        }
        if verb == 'p' {
            return self.bad_verb(verb, v);
        }
        self.print_value(v, verb, depth)
    }

    /// `pp.printValue`.
    fn print_value(&mut self, v: &Value, verb: char, depth: usize) -> PResult {
        if depth > MAX_VALUE_DEPTH {
            return Err(PrintError::Depth);
        }
        match v {
            Value::Missing | Value::Nil => {
                if depth == 0 {
                    self.write("<invalid reflect.Value>")
                } else if verb == 'v' {
                    self.write("<nil>")
                } else {
                    self.bad_verb(verb, v)
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.fmt_boolean(*b),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_int(*i as u64, true, verb, v),
            Value::Uint64(u) => self.fmt_int(*u, false, verb, v),
            Value::Float(f) => self.fmt_float(*f, verb),
            Value::String(s) => self.fmt_string(s, verb, v),
            // Stringers: Go's handleMethods formats what String() returns.
            Value::Time(t) => self.fmt_string(&t.string(), verb, v),
            Value::Semver(sv) => self.fmt_string(&sv.string(), verb, v),
            Value::Map(m) => {
                let m = m.borrow();
                if self.f.sharp_v {
                    self.write(v.type_name())?;
                    self.write_char('{')?;
                } else {
                    self.write("map[")?;
                }
                for (i, (k, item)) in m.entries.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.write(", ")?;
                        } else {
                            self.write_char(' ')?;
                        }
                    }
                    self.fmt_string(k, verb, &Value::str(k))?;
                    self.write_char(':')?;
                    self.print_element(item, m.elem, verb, depth + 1)?;
                }
                self.write_char(if self.f.sharp_v { '}' } else { ']' })
            }
            Value::List(l) => {
                if self.f.sharp_v {
                    self.write(v.type_name())?;
                    self.write_char('{')?;
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.write(", ")?;
                        }
                        self.print_element(item, l.elem, verb, depth + 1)?;
                    }
                    self.write_char('}')
                } else {
                    self.write_char('[')?;
                    for (i, item) in l.items.iter().enumerate() {
                        if i > 0 {
                            self.write_char(' ')?;
                        }
                        self.print_element(item, l.elem, verb, depth + 1)?;
                    }
                    self.write_char(']')
                }
            }
        }
    }

    /// An element of a container: an `interface {}` element is unwrapped (and a nil
    /// one prints `<nil>` whatever the verb), a typed one is printed as it is.
    fn print_element(&mut self, item: &Value, elem: Elem, verb: char, depth: usize) -> PResult {
        if depth > MAX_VALUE_DEPTH {
            return Err(PrintError::Depth);
        }
        if elem == Elem::Any && item.is_nil() {
            return if self.f.sharp_v {
                self.write("interface {}(nil)")
            } else {
                self.write("<nil>")
            };
        }
        self.print_value(item, verb, depth)
    }

    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &[u8],
        i: usize,
        n: usize,
    ) -> (usize, usize, bool) {
        if format.len() <= i || format[i] != b'[' {
            return (arg_num, i, false);
        }
        self.reordered = true;
        let (index, wid, ok) = parse_arg_number(&format[i..]);
        if ok && let Some(index) = index.filter(|x| *x < n) {
            return (index, i + wid, true);
        }
        self.good_arg_num = false;
        (arg_num, i + wid, ok)
    }

    /// `fmt.Sprintf`.
    pub(crate) fn printf(&mut self, format: &str, a: &[Value]) -> PResult {
        let bytes = format.as_bytes();
        let end = bytes.len();
        let mut arg_num = 0usize;
        let mut after_index;
        self.reordered = false;
        let mut i = 0;
        'format: while i < end {
            self.good_arg_num = true;
            let last = i;
            while i < end && bytes[i] != b'%' {
                i += 1;
            }
            if i > last {
                self.write(&format[last..i])?;
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match bytes[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    c => {
                        if c.is_ascii_lowercase() && arg_num < a.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(&a[arg_num], char::from(c), 0)?;
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }
            (arg_num, i, after_index) = self.arg_number(arg_num, bytes, i, a.len());
            if i < end && bytes[i] == b'*' {
                i += 1;
                let (w, ok, next) = int_from_arg(a, arg_num);
                arg_num = next;
                self.f.wid_present = ok;
                if !ok {
                    self.write("%!(BADWIDTH)")?;
                }
                if w < 0 {
                    self.f.wid = w.unsigned_abs() as usize;
                    self.f.minus = true;
                    self.f.zero = false;
                } else {
                    self.f.wid = w as usize;
                }
                after_index = false;
            } else {
                let (w, present, next) = parse_num(bytes, i, end);
                self.f.wid = w;
                self.f.wid_present = present;
                i = next;
                if after_index && present {
                    self.good_arg_num = false;
                }
            }
            if i + 1 < end && bytes[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (arg_num, i, after_index) = self.arg_number(arg_num, bytes, i, a.len());
                if i < end && bytes[i] == b'*' {
                    i += 1;
                    let (p, ok, next) = int_from_arg(a, arg_num);
                    arg_num = next;
                    let (p, ok) = if p < 0 { (0, false) } else { (p as usize, ok) };
                    self.f.prec = p;
                    self.f.prec_present = ok;
                    if !ok {
                        self.write("%!(BADPREC)")?;
                    }
                    after_index = false;
                } else {
                    let (p, present, next) = parse_num(bytes, i, end);
                    i = next;
                    self.f.prec = if present { p } else { 0 };
                    self.f.prec_present = true;
                }
            }
            if !after_index {
                (arg_num, i, after_index) = self.arg_number(arg_num, bytes, i, a.len());
            }
            let _ = after_index;
            if i >= end {
                self.write("%!(NOVERB)")?;
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('\u{FFFD}');
            i += verb.len_utf8();
            if verb == '%' {
                self.write_char('%')?;
            } else if !self.good_arg_num {
                self.write("%!")?;
                self.write_char(verb)?;
                self.write("(BADINDEX)")?;
            } else if arg_num >= a.len() {
                self.write("%!")?;
                self.write_char(verb)?;
                self.write("(MISSING)")?;
            } else {
                if verb == 'v' {
                    self.f.sharp_v = self.f.sharp;
                    self.f.sharp = false;
                    self.f.plus_v = self.f.plus;
                    self.f.plus = false;
                }
                self.print_arg(&a[arg_num], verb, 0)?;
                arg_num += 1;
            }
        }
        if !self.reordered && arg_num < a.len() {
            self.f = Flags::default();
            self.write("%!(EXTRA ")?;
            for (i, v) in a[arg_num..].iter().enumerate() {
                if i > 0 {
                    self.write(", ")?;
                }
                if v.is_nil() {
                    self.write("<nil>")?;
                } else {
                    self.write(v.type_name())?;
                    self.write_char('=')?;
                    self.print_arg(v, 'v', 0)?;
                }
            }
            self.write_char(')')?;
        }
        Ok(())
    }

    /// `fmt.Sprint`: spaces between operands when neither is a string.
    pub(crate) fn print(&mut self, a: &[Value]) -> PResult {
        let mut prev_string = false;
        for (i, v) in a.iter().enumerate() {
            let is_string = matches!(v, Value::String(_));
            if i > 0 && !is_string && !prev_string {
                self.write_char(' ')?;
            }
            self.f = Flags::default();
            self.print_arg(v, 'v', 0)?;
            prev_string = is_string;
        }
        Ok(())
    }

    /// `fmt.Sprintln`: spaces always, and a newline.
    pub(crate) fn println(&mut self, a: &[Value]) -> PResult {
        for (i, v) in a.iter().enumerate() {
            if i > 0 {
                self.write_char(' ')?;
            }
            self.f = Flags::default();
            self.print_arg(v, 'v', 0)?;
        }
        self.write_char('\n')
    }
}

/// Go's `intFromArg`: the argument as a width or precision.
fn int_from_arg(a: &[Value], arg_num: usize) -> (i64, bool, usize) {
    let Some(v) = a.get(arg_num) else {
        return (0, false, arg_num);
    };
    let (num, ok) = match v {
        Value::Int(i) | Value::Int64(i) => (*i, true),
        Value::Uint64(u) => match i64::try_from(*u) {
            Ok(i) => (i, true),
            Err(_) => (0, false),
        },
        _ => (0, false),
    };
    if too_large(num) {
        return (0, false, arg_num + 1);
    }
    (num, ok, arg_num + 1)
}

/// Go's `parseArgNumber`: `[n]` at the start of `format`: the 0-based index (`None`
/// for `[0]`), the bytes taken, and whether it is one.
fn parse_arg_number(format: &[u8]) -> (Option<usize>, usize, bool) {
    if format.len() < 3 {
        return (None, 1, false);
    }
    for i in 1..format.len() {
        if format[i] == b']' {
            let (width, ok, next) = parse_num(format, 1, i);
            if !ok || next != i {
                return (None, i + 1, false);
            }
            return (width.checked_sub(1), i + 1, true);
        }
    }
    (None, 1, false)
}

/// `%v` of a value as `fmt.Print` writes it, bounded by `cap` bytes.
pub(crate) fn print_value(out: &mut String, v: &Value, cap: usize) -> PResult {
    let mut p = Printer::new(cap.saturating_add(out.len()));
    p.buf = std::mem::take(out);
    let r = p.print_arg(v, 'v', 0);
    *out = p.buf;
    r
}

/// `fmt.Sprint` of one value, unbounded: for error messages about small values.
pub(crate) fn display(v: &Value) -> String {
    let mut out = String::new();
    let _ = print_value(&mut out, v, 1 << 16);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sprintf(format: &str, args: &[Value]) -> String {
        let mut p = Printer::new(usize::MAX);
        p.printf(format, args).unwrap();
        p.buf
    }

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
            assert_eq!(format_float(f, 'g', None), s, "{f}");
        }
        assert_eq!(format_float(1.23556, 'f', Some(2)), "1.24");
        assert_eq!(format_float(1234.5678, 'e', None), "1.2345678e+03");
        assert_eq!(format_float(1234.5678, 'e', Some(2)), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'g', Some(3)), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'f', Some(0)), "1235");
        assert_eq!(format_float(1.5, 'x', None), "0x1.8p+00");
        assert_eq!(format_float(1.5, 'b', None), "6755399441055744p-52");
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
        assert_eq!(
            sprintf("%T %T", &[Value::Float(3.0), v("x")]),
            "float64 string"
        );
        assert_eq!(sprintf("%[2]s %[1]s", &[v("a"), v("b")]), "b a");
        assert_eq!(sprintf("%[3]s", &[v("a")]), "%!s(BADINDEX)");
    }

    #[test]
    fn widths_and_precisions_over_a_million_are_refused_as_go_refuses_them() {
        assert_eq!(
            sprintf("%999999999999d", &[Value::Int(5)]),
            "%!(NOVERB)%!(EXTRA int=5)"
        );
        assert_eq!(
            sprintf("%.999999999f", &[Value::Float(1.5)]),
            "%!(NOVERB)%!(EXTRA float64=1.5)"
        );
        assert_eq!(
            sprintf("%*d", &[Value::Int(10_000_000), Value::Int(5)]),
            "%!(BADWIDTH)5"
        );
        assert_eq!(
            sprintf("%.*f", &[Value::Int(10_000_000), Value::Float(1.5)]),
            "%!(BADPREC)1.500000"
        );
    }

    #[test]
    fn printing_stops_at_the_cap() {
        let mut p = Printer::new(100);
        assert_eq!(
            p.printf("%9999999d", &[Value::Int(1)]),
            Err(PrintError::Bytes)
        );
        assert!(p.buf.len() <= 100);
        let mut big = Value::list(vec![Value::str("x")]);
        for _ in 0..64 {
            big = Value::list(vec![big.clone(), big]);
        }
        let mut out = String::new();
        assert_eq!(print_value(&mut out, &big, 1 << 20), Err(PrintError::Bytes));
        assert!(out.len() <= 1 << 20);
    }

    #[test]
    fn quotes_like_strconv() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
        assert_eq!(quote_ascii("é"), "\"\\u00e9\"");
        assert_eq!(unquote("\"a\\tb\\u00e9\"").as_deref(), Some("a\tbé"));
        assert_eq!(unquote("`raw\\n`").as_deref(), Some("raw\\n"));
        assert_eq!(unquote_char("'a'"), Some('a'));
        assert_eq!(unquote_char("'\\n'"), Some('\n'));
    }
}
