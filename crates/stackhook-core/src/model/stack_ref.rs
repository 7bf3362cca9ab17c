//! Stack references as workloads write them: `name[+flavor][:version]`
//! (`benthos:3.0`, `pulsar-function+icebase-sink:3.0`, or `benthos` for the highest
//! version), and the version order used to pick "the highest".

use std::cmp::Ordering;
use std::fmt;

/// A parsed reference to a Stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackRef {
    /// The Stack's `spec.name`.
    pub name: String,
    /// The Stack's `spec.flavor`, if the reference names one.
    pub flavor: Option<String>,
    /// The Stack's `spec.version`; `None` means "the highest version".
    pub version: Option<String>,
}

/// Why a Stack reference does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StackRefError {
    /// The reference is empty.
    #[error("stack reference is empty (expected name[+flavor][:version], e.g. benthos:3.0)")]
    Empty,
    /// Nothing before `+` or `:`.
    #[error(
        "stack reference {reference:?} has no name before {separator:?} (expected name[+flavor][:version])"
    )]
    MissingName {
        /// The reference as given.
        reference: String,
        /// The separator found first.
        separator: char,
    },
    /// A `+` with nothing after it.
    #[error("stack reference {reference:?} has an empty flavor after \"+\"")]
    EmptyFlavor {
        /// The reference as given.
        reference: String,
    },
    /// A `:` with nothing after it.
    #[error("stack reference {reference:?} has an empty version after \":\"")]
    EmptyVersion {
        /// The reference as given.
        reference: String,
    },
    /// A character that no part may hold.
    #[error(
        "stack reference {reference:?}: {part} {value:?} has invalid character {found:?} (allowed: letters, digits, '-', '_', '.')"
    )]
    InvalidCharacter {
        /// The reference as given.
        reference: String,
        /// Which part: name, flavor or version.
        part: &'static str,
        /// That part's text.
        value: String,
        /// The first character that is not allowed.
        found: char,
    },
}

fn check_part(reference: &str, part: &'static str, value: &str) -> Result<(), StackRefError> {
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(found) => Err(StackRefError::InvalidCharacter {
            reference: reference.to_owned(),
            part,
            value: value.to_owned(),
            found,
        }),
        None => Ok(()),
    }
}

impl StackRef {
    /// Parses `name[+flavor][:version]`.
    pub fn parse(reference: &str) -> Result<Self, StackRefError> {
        let own = || reference.to_owned();
        if reference.is_empty() {
            return Err(StackRefError::Empty);
        }
        let (head, version) = match reference.split_once(':') {
            Some((head, version)) => {
                if version.is_empty() {
                    return Err(StackRefError::EmptyVersion { reference: own() });
                }
                (head, Some(version))
            }
            None => (reference, None),
        };
        let (name, flavor) = match head.split_once('+') {
            Some((name, flavor)) => {
                if name.is_empty() {
                    return Err(StackRefError::MissingName {
                        reference: own(),
                        separator: '+',
                    });
                }
                if flavor.is_empty() {
                    return Err(StackRefError::EmptyFlavor { reference: own() });
                }
                (name, Some(flavor))
            }
            None => (head, None),
        };
        if name.is_empty() {
            return Err(StackRefError::MissingName {
                reference: own(),
                separator: ':',
            });
        }
        check_part(reference, "name", name)?;
        if let Some(f) = flavor {
            check_part(reference, "flavor", f)?;
        }
        if let Some(v) = version {
            check_part(reference, "version", v)?;
        }
        Ok(Self {
            name: name.to_owned(),
            flavor: flavor.map(str::to_owned),
            version: version.map(str::to_owned),
        })
    }

    /// Whether the reference pins a version.
    pub fn is_pinned(&self) -> bool {
        self.version.is_some()
    }

    /// The `name[+flavor]` part, without the version.
    pub fn family(&self) -> String {
        match &self.flavor {
            Some(f) => format!("{}+{f}", self.name),
            None => self.name.clone(),
        }
    }
}

impl std::str::FromStr for StackRef {
    type Err = StackRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for StackRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.family())?;
        if let Some(v) = &self.version {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// Orders Stack versions the way people read them: `3.10` after `3.9`, `v2` after `v1`,
/// `2.0` after `2.0-rc1`. Versions are split into runs of digits and runs of other
/// characters; digit runs compare as numbers, other runs as text; a version that is a
/// prefix of another and continues with a pre-release marker (`-`) sorts first.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (version_tokens(a), version_tokens(b));
    for (x, y) in ta.iter().zip(tb.iter()) {
        let ord = match (x, y) {
            (Token::Num(x), Token::Num(y)) => x.cmp(y),
            (Token::Num(_), Token::Text(_)) => Ordering::Greater,
            (Token::Text(_), Token::Num(_)) => Ordering::Less,
            (Token::Text(x), Token::Text(y)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // `2.0` vs `2.0-rc1`: the one that goes on with a pre-release is lower.
    let rest_is_prerelease =
        |t: &[Token<'_>]| matches!(t.first(), Some(Token::Text(s)) if s.starts_with('-'));
    match ta.len().cmp(&tb.len()) {
        Ordering::Less if rest_is_prerelease(&tb[ta.len()..]) => Ordering::Greater,
        Ordering::Greater if rest_is_prerelease(&ta[tb.len()..]) => Ordering::Less,
        other => other.then_with(|| a.cmp(b)),
    }
}

#[derive(Debug)]
enum Token<'a> {
    Num(u128),
    Text(&'a str),
}

fn version_tokens(v: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let digit = bytes[i].is_ascii_digit();
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() == digit {
            i += 1;
        }
        let run = &v[start..i];
        if digit {
            // Runs too long for u128 compare as text, which still orders them stably.
            out.push(run.parse().map_or(Token::Text(run), Token::Num));
        } else if run != "." {
            out.push(Token::Text(run));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        let r = StackRef::parse("benthos:3.0").unwrap();
        assert_eq!(
            (r.name.as_str(), r.flavor, r.version.as_deref()),
            ("benthos", None, Some("3.0"))
        );
        let r = StackRef::parse("pulsar-function+icebase-sink:3.0").unwrap();
        assert_eq!(r.flavor.as_deref(), Some("icebase-sink"));
        assert_eq!(r.to_string(), "pulsar-function+icebase-sink:3.0");
        let r = StackRef::parse("benthos").unwrap();
        assert!(!r.is_pinned());
        let r = StackRef::parse("flare+python").unwrap();
        assert_eq!(r.family(), "flare+python");
        assert_eq!(r.version, None);
    }

    #[test]
    fn rejects_empty_version() {
        assert_eq!(
            StackRef::parse("benthos:").unwrap_err().to_string(),
            r#"stack reference "benthos:" has an empty version after ":""#
        );
    }

    #[test]
    fn rejects_missing_name() {
        assert_eq!(
            StackRef::parse(":3.0").unwrap_err().to_string(),
            r#"stack reference ":3.0" has no name before ':' (expected name[+flavor][:version])"#
        );
        assert_eq!(
            StackRef::parse("+py:1").unwrap_err().to_string(),
            r#"stack reference "+py:1" has no name before '+' (expected name[+flavor][:version])"#
        );
    }

    #[test]
    fn rejects_empty_flavor() {
        assert_eq!(
            StackRef::parse("a+:1").unwrap_err().to_string(),
            r#"stack reference "a+:1" has an empty flavor after "+""#
        );
    }

    #[test]
    fn rejects_empty_and_odd_characters() {
        assert_eq!(
            StackRef::parse("").unwrap_err().to_string(),
            "stack reference is empty (expected name[+flavor][:version], e.g. benthos:3.0)"
        );
        assert_eq!(
            StackRef::parse("ben thos:1").unwrap_err().to_string(),
            r#"stack reference "ben thos:1": name "ben thos" has invalid character ' ' (allowed: letters, digits, '-', '_', '.')"#
        );
        assert_eq!(
            StackRef::parse("a:1:2").unwrap_err().to_string(),
            r#"stack reference "a:1:2": version "1:2" has invalid character ':' (allowed: letters, digits, '-', '_', '.')"#
        );
        assert!(StackRef::parse("a+b+c:1").is_err());
    }

    #[test]
    fn orders_versions_numerically() {
        let mut v = vec!["3.10", "3.9", "1.0", "v2", "3.0", "3.0-rc1", "10", "2.0.1"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            vec!["v2", "1.0", "2.0.1", "3.0-rc1", "3.0", "3.9", "3.10", "10"]
        );
        assert_eq!(compare_versions("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare_versions("v1", "v2"), Ordering::Less);
    }
}
