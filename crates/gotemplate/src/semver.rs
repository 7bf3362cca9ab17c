//! Sprig's `semver` and `semverCompare`: Masterminds/semver v3 (the version Debian's
//! Sprig 3.2.3 is built with, 3.2.0), ported: `NewVersion`, `Compare`, and
//! `NewConstraint` + `Check` with its regular expressions, wildcards, ranges and the
//! rule that prerelease versions only satisfy constraints that name a prerelease.
//! The `regex` crate and Go's `regexp` are both RE2 with leftmost-first alternation;
//! `\s` is spelled as Go's ASCII class because Rust's is Unicode.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

/// A `*semver.Version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
    /// A `semver.Version` value (what `IncMajor` & co. return), not a pointer: it has
    /// no `Original`, `Compare`, `LessThan`… (pointer methods, in Go).
    pub by_value: bool,
}

const SEMVER: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
const S: &str = r"[\t\n\f\r ]";

struct Regexes {
    version: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

#[allow(clippy::expect_used)] // constant patterns, covered by the tests below
static RE: LazyLock<Regexes> = LazyLock::new(|| Regexes {
    version: Regex::new(&format!("^{SEMVER}$")).expect("semver pattern"),
    constraint: Regex::new(&format!(r"^{S}*({OPS}){S}*({CV}){S}*$")).expect("constraint"),
    range: Regex::new(&format!(r"{S}*({CV}){S}+-{S}+({CV}){S}*")).expect("range"),
    find: Regex::new(&format!(r"({OPS}){S}*({CV})")).expect("find"),
    valid: Regex::new(&format!(
        r"^({S}*({OPS}){S}*({CV}){S}*)((?:{S}+|,{S}*)({OPS}){S}*({CV}){S}*)*$"
    ))
    .expect("valid"),
});

const ALLOWED: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";

fn only(s: &str, set: &str) -> bool {
    s.chars().all(|c| set.contains(c))
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if only(part, "0123456789") {
            if part.len() > 1 && part.starts_with('0') {
                return Err("Version segment starts with 0".into());
            }
        } else if !only(part, ALLOWED) {
            return Err("Invalid Prerelease string".into());
        }
    }
    Ok(())
}

fn segment(s: &str) -> Result<u64, String> {
    s.trim_start_matches('.').parse::<u64>().map_err(|_| {
        format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            super::fmt::quote(s.trim_start_matches('.'))
        )
    })
}

impl Version {
    /// `semver.NewVersion`.
    pub(crate) fn parse(v: &str) -> Result<Self, String> {
        let m = RE
            .version
            .captures(v)
            .ok_or_else(|| "Invalid Semantic Version".to_owned())?;
        let get = |i: usize| m.get(i).map_or("", |m| m.as_str());
        let sv = Self {
            major: segment(get(1))?,
            minor: if get(2).is_empty() {
                0
            } else {
                segment(get(2))?
            },
            patch: if get(3).is_empty() {
                0
            } else {
                segment(get(3))?
            },
            pre: get(5).to_owned(),
            metadata: get(8).to_owned(),
            original: v.to_owned(),
            by_value: false,
        };
        if !sv.pre.is_empty() {
            validate_prerelease(&sv.pre)?;
        }
        if !sv.metadata.is_empty() && !sv.metadata.split('.').all(|p| only(p, ALLOWED)) {
            return Err("Invalid Metadata string".into());
        }
        Ok(sv)
    }

    /// `Version.String()`.
    pub(crate) fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    fn v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    /// `IncMajor`, `IncMinor`, `IncPatch`.
    pub(crate) fn inc(&self, part: &str) -> Self {
        let mut next = self.clone();
        next.metadata.clear();
        match part {
            "IncMajor" => {
                (next.major, next.minor, next.patch) = (self.major.wrapping_add(1), 0, 0);
            }
            "IncMinor" => (next.minor, next.patch) = (self.minor.wrapping_add(1), 0),
            _ if self.pre.is_empty() => next.patch = self.patch.wrapping_add(1),
            _ => {}
        }
        next.pre.clear();
        next.by_value = true;
        next.original = format!("{}{}", self.v_prefix(), next.string());
        next
    }

    /// `Version.Compare`.
    pub(crate) fn compare(&self, o: &Self) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

fn compare_prerelease(v: &str, o: &str) -> Ordering {
    let s: Vec<&str> = v.split('.').collect();
    let t: Vec<&str> = o.split('.').collect();
    for i in 0..s.len().max(t.len()) {
        let d = compare_pre_part(
            s.get(i).copied().unwrap_or(""),
            t.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, Err(_)) => Ordering::Less,
        (Err(_), _) => Ordering::Greater,
        (Ok(a), Ok(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::parse("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = RE
        .constraint
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let get = |i: usize| m.get(i).map_or("", |m| m.as_str());
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(get(3)) || get(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", get(6))
    } else if is_x(get(4).trim_start_matches('.')) || get(4).is_empty() {
        (minor_dirty, dirty) = (true, true);
        format!("{}.0.0{}", get(3), get(6))
    } else if is_x(get(5).trim_start_matches('.')) || get(5).is_empty() {
        (patch_dirty, dirty) = (true, true);
        format!("{}{}.0{}", get(3), get(4), get(6))
    } else {
        get(2).to_owned()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint Parser Error".to_owned())?;
    Ok(Constraint {
        con,
        op: get(1).to_owned(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        let released_only = !v.pre.is_empty() && c.pre.is_empty();
        match self.op.as_str() {
            "!=" => {
                if self.dirty {
                    if released_only {
                        return false;
                    }
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if released_only {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            "<" => !released_only && v.compare(c) == Ordering::Less,
            ">=" | "=>" => !released_only && v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if released_only {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if released_only || v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            // "" and "=".
            _ => {
                if released_only {
                    return false;
                }
                if self.dirty {
                    return self.tilde(v);
                }
                v.compare(c) == Ordering::Equal
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if (!v.pre.is_empty() && c.pre.is_empty()) || v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// `semver.NewConstraint(c).Check(semver.NewVersion(v))`, with their errors.
pub(crate) fn satisfies(constraint: &str, version: &str) -> Result<bool, String> {
    let rewritten = rewrite_range(constraint);
    let mut ors = Vec::new();
    for part in rewritten.split("||") {
        if !RE.valid.is_match(part) {
            return Err(format!("improper constraint: {part}"));
        }
        let found: Vec<&str> = RE.find.find_iter(part).map(|m| m.as_str()).collect();
        let found = if found.is_empty() { vec![part] } else { found };
        let mut ands = Vec::with_capacity(found.len());
        for s in found {
            ands.push(parse_constraint(s)?);
        }
        ors.push(ands);
    }
    let v = Version::parse(version)?;
    Ok(ors.iter().any(|ands| ands.iter().all(|c| c.check(&v))))
}

/// `rewriteRange`: `1.2 - 1.4.5` becomes `>= 1.2, <= 1.4.5`.
fn rewrite_range(i: &str) -> String {
    let mut o = i.to_owned();
    for caps in RE.range.captures_iter(i) {
        let (Some(all), Some(a), Some(b)) = (caps.get(0), caps.get(1), caps.get(11)) else {
            continue;
        };
        o = o.replacen(
            all.as_str(),
            &format!(">= {}, <= {}", a.as_str(), b.as_str()),
            1,
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_constraints_as_masterminds_semver() {
        for (c, v, want) in [
            ("^1.2", "1.3.0", true),
            ("^1.2", "2.0.0", false),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            (">= 1.2, < 2", "1.9.9", true),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4.5", "1.4.6", false),
            ("1.x", "1.9.0", true),
            (">1.0.0", "1.1.0-beta", false),
            (">1.0.0-alpha", "1.1.0-beta", true),
            ("<1 || >=3", "3.1.0", true),
            ("!=1.2.3", "1.2.3", false),
            ("*", "0.0.1", true),
        ] {
            assert_eq!(satisfies(c, v), Ok(want), "{c} {v}");
        }
        assert_eq!(
            satisfies("bad", "1.0.0"),
            Err("improper constraint: bad".into())
        );
        assert_eq!(satisfies("^1", "x"), Err("Invalid Semantic Version".into()));
    }
}
