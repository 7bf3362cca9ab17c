//! Sprig's `urlParse` and `urlJoin`: Go 1.19's `net/url` `Parse` and `URL.String`,
//! ported (scheme, opaque, authority, userinfo, host and port checks, the escape and
//! unescape modes, `RawPath` and `RawFragment`), with Go's error messages.

use std::collections::BTreeMap;

use super::fmt::quote;
use super::sprig::go_lossy;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn lossy(b: &[u8]) -> String {
    go_lossy(b)
}

fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
    let mut n = 0;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                n += 1;
                if i + 2 >= s.len()
                    || !s[i + 1].is_ascii_hexdigit()
                    || !s[i + 2].is_ascii_hexdigit()
                {
                    let bad = &s[i..s.len().min(i + 3)];
                    return Err(format!("invalid URL escape {}", quote(&lossy(bad))));
                }
                let esc = &s[i..i + 3];
                if mode == Mode::Host && unhex(s[i + 1]) < 8 && esc != b"%25" {
                    return Err(format!("invalid URL escape {}", quote(&lossy(esc))));
                }
                if mode == Mode::Zone {
                    let v = (unhex(s[i + 1]) << 4) | unhex(s[i + 2]);
                    if esc != b"%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(format!("invalid URL escape {}", quote(&lossy(esc))));
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(format!(
                        "invalid character {} in host name",
                        quote(&lossy(&s[i..=i]))
                    ));
                }
                i += 1;
            }
        }
    }
    if n == 0 {
        return Ok(s.to_vec());
    }
    let mut t = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            t.push((unhex(s[i + 1]) << 4) | unhex(s[i + 2]));
            i += 3;
        } else {
            t.push(s[i]);
            i += 1;
        }
    }
    Ok(t)
}

fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    let mut t = Vec::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            t.push(b'%');
            t.push(b"0123456789ABCDEF"[usize::from(c >> 4)]);
            t.push(b"0123456789ABCDEF"[usize::from(c & 15)]);
        } else {
            t.push(c);
        }
    }
    t
}

fn valid_encoded(s: &[u8], mode: Mode) -> bool {
    s.iter().all(|&c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|r| {
        r.is_ascii_alphanumeric()
            || matches!(
                r,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

/// A `url.Userinfo`.
struct User {
    name: Vec<u8>,
    password: Option<Vec<u8>>,
}

impl User {
    fn string(&self) -> Vec<u8> {
        let mut s = escape(&self.name, Mode::UserPassword);
        if let Some(p) = &self.password {
            s.push(b':');
            s.extend(escape(p, Mode::UserPassword));
        }
        s
    }
}

/// A `url.URL`.
#[derive(Default)]
struct Url {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: Option<User>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_path: Vec<u8>,
    omit_host: bool,
    force_query: bool,
    raw_query: Vec<u8>,
    fragment: Vec<u8>,
    raw_fragment: Vec<u8>,
}

fn cut(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&c| c == sep) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn get_scheme(raw: &[u8]) -> Result<(&[u8], &[u8]), String> {
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok((b"", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok((b"", raw)),
        }
    }
    Ok((b"", raw))
}

fn parse_host(host: &[u8]) -> Result<Vec<u8>, String> {
    if host.first() == Some(&b'[') {
        let Some(i) = host.iter().rposition(|&c| c == b']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(format!(
                "invalid port {} after host",
                quote(&lossy(colon_port))
            ));
        }
        if let Some(zone) = host[..i].windows(3).position(|w| w == b"%25") {
            let mut out = unescape(&host[..zone], Mode::Host)?;
            out.extend(unescape(&host[zone..i], Mode::Zone)?);
            out.extend(unescape(&host[i..], Mode::Host)?);
            return Ok(out);
        }
    } else if let Some(i) = host.iter().rposition(|&c| c == b':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(format!(
                "invalid port {} after host",
                quote(&lossy(colon_port))
            ));
        }
    }
    unescape(host, Mode::Host)
}

fn parse_authority(authority: &[u8]) -> Result<(Option<User>, Vec<u8>), String> {
    let at = authority.iter().rposition(|&c| c == b'@');
    let host = parse_host(match at {
        Some(i) => &authority[i + 1..],
        None => authority,
    })?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..i];
    if !valid_userinfo(&String::from_utf8_lossy(userinfo)) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match cut(userinfo, b':') {
        (name, None) => User {
            name: unescape(name, Mode::UserPassword)?,
            password: None,
        },
        (name, Some(password)) => User {
            name: unescape(name, Mode::UserPassword)?,
            password: Some(unescape(password, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

impl Url {
    fn set_path(&mut self, p: &[u8]) -> Result<(), String> {
        self.path = unescape(p, Mode::Path)?;
        self.raw_path = if escape(&self.path, Mode::Path) == p {
            Vec::new()
        } else {
            p.to_vec()
        };
        Ok(())
    }

    fn escaped_path(&self) -> Vec<u8> {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).is_ok_and(|p| p == self.path)
        {
            return self.raw_path.clone();
        }
        if self.path == b"*" {
            return b"*".to_vec();
        }
        escape(&self.path, Mode::Path)
    }

    fn escaped_fragment(&self) -> Vec<u8> {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).is_ok_and(|f| f == self.fragment)
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// `url.Parse`'s inner `parse(rawURL, false)`.
    fn parse_inner(raw: &[u8]) -> Result<Self, String> {
        if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
            return Err("net/url: invalid control character in URL".into());
        }
        let mut url = Self::default();
        if raw == b"*" {
            url.path = b"*".to_vec();
            return Ok(url);
        }
        let (scheme, mut rest) = get_scheme(raw)?;
        url.scheme = scheme.to_ascii_lowercase();
        if rest.last() == Some(&b'?') && rest.iter().filter(|&&c| c == b'?').count() == 1 {
            url.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else {
            let (r, q) = cut(rest, b'?');
            rest = r;
            url.raw_query = q.unwrap_or_default().to_vec();
        }
        if rest.first() != Some(&b'/') {
            if !url.scheme.is_empty() {
                url.opaque = rest.to_vec();
                return Ok(url);
            }
            if cut(rest, b'/').0.contains(&b':') {
                return Err("first path segment in URL cannot contain colon".into());
            }
        }
        if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
            let mut authority = &rest[2..];
            rest = b"";
            if let Some(i) = authority.iter().position(|&c| c == b'/') {
                (authority, rest) = (&authority[..i], &authority[i..]);
            }
            let (user, host) = parse_authority(authority)?;
            url.user = user;
            url.host = host;
        } else if !url.scheme.is_empty() && rest.first() == Some(&b'/') {
            url.omit_host = true;
        }
        url.set_path(rest)?;
        Ok(url)
    }

    /// `url.Parse`, with its `*url.Error` text.
    fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.as_bytes();
        let (u, frag) = cut(raw, b'#');
        let mut url =
            Self::parse_inner(u).map_err(|e| format!("parse {}: {e}", quote(&lossy(u))))?;
        let Some(frag) = frag.filter(|f| !f.is_empty()) else {
            return Ok(url);
        };
        let f = unescape(frag, Mode::Fragment)
            .map_err(|e| format!("parse {}: {e}", quote(&lossy(raw))))?;
        url.raw_fragment = if escape(&f, Mode::Fragment) == frag {
            Vec::new()
        } else {
            frag.to_vec()
        };
        url.fragment = f;
        Ok(url)
    }

    /// `URL.Hostname()`.
    fn hostname(&self) -> &[u8] {
        let mut host: &[u8] = &self.host;
        if let Some(colon) = host.iter().rposition(|&c| c == b':')
            && valid_optional_port(&host[colon..])
        {
            host = &host[..colon];
        }
        if host.len() >= 2 && host[0] == b'[' && host[host.len() - 1] == b']' {
            host = &host[1..host.len() - 1];
        }
        host
    }

    /// `URL.String()`.
    fn string(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        if !self.scheme.is_empty() {
            buf.extend(&self.scheme);
            buf.push(b':');
        }
        if self.opaque.is_empty() {
            let no_authority = self.host.is_empty() && self.user.is_none();
            if !(no_authority && (self.scheme.is_empty() || self.omit_host)) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.extend(b"//");
                }
                if let Some(u) = &self.user {
                    buf.extend(u.string());
                    buf.push(b'@');
                }
                if !self.host.is_empty() {
                    buf.extend(escape(&self.host, Mode::Host));
                }
            }
            let path = self.escaped_path();
            if path.first().is_some_and(|&c| c != b'/') && !self.host.is_empty() {
                buf.push(b'/');
            }
            if buf.is_empty() && cut(&path, b'/').0.contains(&b':') {
                buf.extend(b"./");
            }
            buf.extend(path);
        } else {
            buf.extend(&self.opaque);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push(b'?');
            buf.extend(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push(b'#');
            buf.extend(self.escaped_fragment());
        }
        buf
    }
}

/// Sprig's `urlParse`: the URL's parts, or the message of Sprig's panic.
pub(crate) fn url_parse(v: &str) -> Result<BTreeMap<String, String>, String> {
    let u = Url::parse(v).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut d = BTreeMap::new();
    d.insert("scheme".into(), lossy(&u.scheme));
    d.insert("host".into(), lossy(&u.host));
    d.insert("hostname".into(), lossy(u.hostname()));
    d.insert("path".into(), lossy(&u.path));
    d.insert("query".into(), lossy(&u.raw_query));
    d.insert("opaque".into(), lossy(&u.opaque));
    d.insert("fragment".into(), lossy(&u.fragment));
    d.insert(
        "userinfo".into(),
        u.user
            .as_ref()
            .map(|u| lossy(&u.string()))
            .unwrap_or_default(),
    );
    Ok(d)
}

/// Sprig's `urlJoin` of the parts `get` returns (each a string or absent).
pub(crate) fn url_join(get: &dyn Fn(&str) -> Result<String, String>) -> Result<String, String> {
    let mut u = Url {
        scheme: get("scheme")?.into_bytes(),
        host: get("host")?.into_bytes(),
        path: get("path")?.into_bytes(),
        raw_query: get("query")?.into_bytes(),
        opaque: get("opaque")?.into_bytes(),
        fragment: get("fragment")?.into_bytes(),
        ..Url::default()
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let temp = Url::parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        u.user = temp.user;
    }
    Ok(lossy(&u.string()))
}
