//! Go's `time.Duration` text, both ways (`Duration.String`, `time.ParseDuration`), for
//! Sprig's `duration` and `durationRound` given seconds, an `int64` of nanoseconds or a
//! duration string. (`durationRound` of a `time.Time` reads the clock, and no function
//! here makes one.)

const SECOND: u64 = 1_000_000_000;

/// `fmtFrac`: the fraction of `v` at `prec` digits, without trailing zeros (and
/// without the point when nothing is left), and `v` divided down.
fn fmt_frac(out: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
    let mut printed = false;
    for _ in 0..prec {
        let digit = v % 10;
        printed = printed || digit != 0;
        if printed {
            out.push(b'0' + digit as u8);
        }
        v /= 10;
    }
    if printed {
        out.push(b'.');
    }
    v
}

fn fmt_int(out: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        out.push(b'0');
        return;
    }
    while v > 0 {
        out.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

/// `time.Duration(d).String()`.
pub(crate) fn format(d: i64) -> String {
    // Built backwards, as Go builds it, then reversed.
    let mut out: Vec<u8> = Vec::with_capacity(32);
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    if u < SECOND {
        if u == 0 {
            return "0s".into();
        }
        out.push(b's');
        let prec = if u < 1_000 {
            out.push(b'n');
            0
        } else if u < 1_000_000 {
            // "µ", backwards.
            out.extend_from_slice(&[0xb5, 0xc2]);
            3
        } else {
            out.push(b'm');
            6
        };
        u = fmt_frac(&mut out, u, prec);
        fmt_int(&mut out, u);
    } else {
        out.push(b's');
        u = fmt_frac(&mut out, u, 9);
        fmt_int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            fmt_int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                fmt_int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Go's `time.quote`: ASCII printable as is, every other byte as `\xNN`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        if !(b' '..0x80).contains(&b) {
            out.push_str(&format!("\\x{b:02x}"));
        } else {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(char::from(b));
        }
    }
    out.push('"');
    out
}

fn unit(name: &str) -> Option<u64> {
    Some(match name {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => SECOND,
        "m" => 60 * SECOND,
        "h" => 3600 * SECOND,
        _ => return None,
    })
}

/// `time.ParseDuration`; `None` where Go returns an error.
pub(crate) fn parse(text: &str) -> Option<i64> {
    parse_go(text).ok()
}

/// `time.ParseDuration`, with Go's error message.
pub(crate) fn parse_go(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(text));
    let mut s = text.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // The integer part.
        let start = s.len();
        let mut v: u64 = 0;
        while let Some(&c) = s.first().filter(|c| c.is_ascii_digit()) {
            if v > (1 << 63) / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > 1 << 63 {
                return Err(invalid());
            }
            s = &s[1..];
        }
        let pre = start != s.len();
        // The fraction.
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let start = s.len();
            let mut overflow = false;
            while let Some(&c) = s.first().filter(|c| c.is_ascii_digit()) {
                if !overflow {
                    if f > (i64::MAX as u64) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(c - b'0');
                        if y > i64::MAX as u64 {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                s = &s[1..];
            }
            post = start != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!("time: missing unit in duration {}", quote(text)));
        }
        let name = String::from_utf8_lossy(&s[..i]);
        let Some(unit) = unit(&name) else {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                quote(&name),
                quote(text)
            ));
        };
        s = &s[i..];
        if v > (1 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        d += v;
        if d > 1 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    i64::try_from(d).map_err(|_| invalid())
}

/// Sprig's `durationRound` of a duration in nanoseconds.
pub(crate) fn round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour = 3600 * SECOND;
    let (year, month, day, minute) = (hour * 24 * 365, hour * 24 * 30, hour * 24, 60 * SECOND);
    let (n, unit) = if u > year {
        (u / year, "y")
    } else if u > month {
        (u / month, "mo")
    } else if u > day {
        (u / day, "d")
    } else if u > hour {
        (u / hour, "h")
    } else if u > minute {
        (u / minute, "m")
    } else if u > SECOND {
        (u / SECOND, "s")
    } else {
        return "0s".into();
    };
    format!("{n}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_reads_durations_as_go() {
        assert_eq!(format(90 * SECOND as i64), "1m30s");
        assert_eq!(format(3600 * SECOND as i64), "1h0m0s");
        assert_eq!(format(1_500), "1.5µs");
        assert_eq!(format(-2_500_000), "-2.5ms");
        assert_eq!(format(0), "0s");
        assert_eq!(parse("1h30m"), Some(5400 * SECOND as i64));
        assert_eq!(parse("1.5h"), Some(5400 * SECOND as i64));
        assert_eq!(parse("-2m3.5s"), Some(-123_500_000_000));
        assert_eq!(parse("3"), None);
        assert_eq!(parse(""), None);
        assert_eq!(round(parse("2h10m").unwrap_or(0)), "2h");
    }
}
