//! Secret data → the files a Stack's program reads.
//!
//! Input is what the projector finds in its mounted Secret volumes: per depot, per ACL,
//! key → bytes. Output is a list of `(file name, bytes)`, one file per depot in the
//! chosen format plus one verbatim file per "file" key:
//!
//! | format | file | content |
//! |---|---|---|
//! | `propFile` | `<depot>` | Java properties: `java.util.Properties.load` reads back exactly the pairs |
//! | `dotenv` | `<depot>.env` | `KEY='value'`, what `set -a; . FILE` in bash reads back exactly |
//! | `envVars` | `<depot>.env` | as `dotenv`, with the `<DEPOT>_` prefix the `envFrom` projection uses |
//! | `json` | `<depot>.json` | a flat JSON object |
//! | `yaml` | `<depot>.yaml` | a flat YAML map (double-quoted scalars) |
//!
//! Keys listed as files, and values that are not text (not UTF-8, or holding NUL), go
//! to `<depot>_<key>` verbatim. When a depot has both an `r` and an `rw` Secret, only
//! `rw` is used: it grants reading too, and mixing two credentials' keys would be wrong.
//!
//! Errors name the depot and the key, never the value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use crate::model::Acl;

/// Largest value a key may hold by default (1 MiB).
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1 << 20;

/// The output formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Java `.properties` files.
    #[default]
    PropFile,
    /// Shell-sourceable `KEY='value'` files with the `<DEPOT>_` prefix.
    EnvVars,
    /// Shell-sourceable `KEY='value'` files.
    Dotenv,
    /// Flat JSON objects.
    Json,
    /// Flat YAML maps.
    Yaml,
}

impl Format {
    /// All formats, as named on the command line.
    pub const NAMES: [&'static str; 5] = ["propFile", "envVars", "dotenv", "json", "yaml"];

    /// Parses a format name (`propFile`, `envVars`, `dotenv`, `json`, `yaml`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "propFile" => Some(Self::PropFile),
            "envVars" => Some(Self::EnvVars),
            "dotenv" => Some(Self::Dotenv),
            "json" => Some(Self::Json),
            "yaml" => Some(Self::Yaml),
            _ => None,
        }
    }

    /// The file a depot's pairs go to.
    pub fn file_name(self, depot: &str) -> String {
        match self {
            Self::PropFile => depot.to_owned(),
            Self::EnvVars | Self::Dotenv => format!("{depot}.env"),
            Self::Json => format!("{depot}.json"),
            Self::Yaml => format!("{depot}.yaml"),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PropFile => "propFile",
            Self::EnvVars => "envVars",
            Self::Dotenv => "dotenv",
            Self::Json => "json",
            Self::Yaml => "yaml",
        })
    }
}

/// The secret data of the depots, as mounted: depot → ACL → key → value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretData {
    /// Depot name → ACL → key → value.
    pub depots: BTreeMap<String, BTreeMap<Acl, BTreeMap<String, Vec<u8>>>>,
}

impl SecretData {
    /// Adds one key of one depot's Secret.
    pub fn insert(&mut self, depot: &str, acl: Acl, key: &str, value: Vec<u8>) {
        self.depots
            .entry(depot.to_owned())
            .or_default()
            .entry(acl)
            .or_default()
            .insert(key.to_owned(), value);
    }
}

/// What to project and how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectionSettings {
    /// The output format.
    pub format: Format,
    /// `(depot, key)` pairs to write as whole files (the Depot's `files`).
    pub file_keys: BTreeSet<(String, String)>,
    /// Largest value a key may hold; `0` means [`DEFAULT_MAX_VALUE_BYTES`].
    pub max_value_bytes: usize,
}

/// One output file.
#[derive(Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// The file name (no directories).
    pub name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for OutputFile {
    // Never print secret content, even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputFile")
            .field("name", &self.name)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .finish()
    }
}

/// Why projection failed. Never carries a secret value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// A depot or key name that cannot be a file name.
    #[error("depot {depot:?}: key {key:?} cannot be used as a file name: {reason}")]
    UnsafeName {
        /// The depot.
        depot: String,
        /// The key (or the depot itself, when the depot name is bad).
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A value over the size limit.
    #[error("depot {depot:?}: key {key:?} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The depot.
        depot: String,
        /// The key.
        key: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A key that the shell formats cannot name.
    #[error(
        "depot {depot:?}: key {key:?} is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*); list it as a file key to project it as a file"
    )]
    NotAVariableName {
        /// The depot.
        depot: String,
        /// The key.
        key: String,
    },
    /// Two inputs would write the same output file.
    #[error("depot {depot:?}: key {key:?} would overwrite the output file {file:?}")]
    Collision {
        /// The depot.
        depot: String,
        /// The key.
        key: String,
        /// The file both would write.
        file: String,
    },
    /// A file key names a depot that has no Secret.
    #[error("depot {depot:?}: no secret is mounted for it (file key {key:?})")]
    MissingDepot {
        /// The depot.
        depot: String,
        /// The file key that names it.
        key: String,
    },
}

/// Checks that a name can be a single path component.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name == "." || name == ".." {
        Err("it is a relative directory name")
    } else if name.contains('/') {
        Err("it contains '/'")
    } else if name.contains('\0') {
        Err("it contains NUL")
    } else if name.starts_with('.') {
        Err("it starts with '.' (reserved for the atomic-update entries)")
    } else {
        Ok(())
    }
}

fn is_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.contains('\0'))
}

/// The prefix the `envVars` projection gives a depot's keys: upper-cased, `-` → `_`, and
/// a trailing `_`.
pub fn env_prefix(depot: &str) -> String {
    let mut p: String = depot
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    p.push('_');
    p
}

fn is_shell_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Projects secret data into output files, sorted by name.
pub fn project(
    data: &SecretData,
    options: &ProjectionSettings,
) -> Result<Vec<OutputFile>, ProjectionError> {
    let limit = if options.max_value_bytes == 0 {
        DEFAULT_MAX_VALUE_BYTES
    } else {
        options.max_value_bytes
    };
    for (depot, key) in &options.file_keys {
        if !data.depots.contains_key(depot) {
            return Err(ProjectionError::MissingDepot {
                depot: depot.clone(),
                key: key.clone(),
            });
        }
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut owners: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut claim = |name: String, depot: &str, key: &str, bytes: Vec<u8>| {
        if let Some((d, k)) = owners.get(&name) {
            // The first claimant is reported: it is the one already written.
            return Err(ProjectionError::Collision {
                depot: depot.to_owned(),
                key: key.to_owned(),
                file: format!("{name} (also from depot {d:?} key {k:?})"),
            });
        }
        owners.insert(name.clone(), (depot.to_owned(), key.to_owned()));
        files.insert(name, bytes);
        Ok(())
    };

    for (depot, acls) in &data.depots {
        check_name(depot).map_err(|reason| ProjectionError::UnsafeName {
            depot: depot.clone(),
            key: depot.clone(),
            reason,
        })?;
        let Some(secret) = acls.get(&Acl::ReadWrite).or_else(|| acls.get(&Acl::Read)) else {
            continue;
        };
        let mut pairs: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, value) in secret {
            check_name(key).map_err(|reason| ProjectionError::UnsafeName {
                depot: depot.clone(),
                key: key.clone(),
                reason,
            })?;
            if value.len() > limit {
                return Err(ProjectionError::TooLarge {
                    depot: depot.clone(),
                    key: key.clone(),
                    size: value.len(),
                    limit,
                });
            }
            let as_file = options.file_keys.contains(&(depot.clone(), key.clone()));
            match is_text(value) {
                Some(text) if !as_file => {
                    pairs.insert(key, text);
                }
                _ => claim(format!("{depot}_{key}"), depot, key, value.clone())?,
            }
        }
        let body = match options.format {
            Format::PropFile => properties(&pairs),
            Format::Dotenv => dotenv(depot, "", &pairs)?,
            Format::EnvVars => dotenv(depot, &env_prefix(depot), &pairs)?,
            Format::Json => json(&pairs),
            Format::Yaml => yaml(&pairs),
        };
        claim(
            options.format.file_name(depot),
            depot,
            "(all properties)",
            body.into_bytes(),
        )?;
    }
    Ok(files
        .into_iter()
        .map(|(name, bytes)| OutputFile { name, bytes })
        .collect())
}

/// Java properties text, as `Properties.store` escapes it (every character outside
/// printable ASCII as `\uXXXX`, UTF-16 surrogate pairs beyond the BMP), keys sorted, no
/// timestamp comment. Pure ASCII, so it reads the same as ISO-8859-1 or UTF-8.
pub fn properties(pairs: &BTreeMap<&str, &str>) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        escape_property(&mut out, key, true);
        out.push('=');
        escape_property(&mut out, value, false);
        out.push('\n');
    }
    out
}

fn escape_property(out: &mut String, text: &str, is_key: bool) {
    for (i, c) in text.chars().enumerate() {
        match c {
            // In keys every space is escaped; in values only a leading one (load strips
            // leading white space, keeps the rest).
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
}

fn dotenv(
    depot: &str,
    prefix: &str,
    pairs: &BTreeMap<&str, &str>,
) -> Result<String, ProjectionError> {
    let mut out = String::new();
    for (key, value) in pairs {
        if !is_shell_name(key) {
            return Err(ProjectionError::NotAVariableName {
                depot: depot.to_owned(),
                key: (*key).to_owned(),
            });
        }
        out.push_str(prefix);
        out.push_str(key);
        out.push_str("='");
        out.push_str(&value.replace('\'', "'\\''"));
        out.push_str("'\n");
    }
    Ok(out)
}

fn json(pairs: &BTreeMap<&str, &str>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
        .collect();
    let mut text = serde_json::to_string_pretty(&map).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// A flat YAML map with double-quoted keys and values. JSON string escaping is valid
/// YAML double-quoted style, so every value reads back exactly, whatever it holds.
fn yaml(pairs: &BTreeMap<&str, &str>) -> String {
    if pairs.is_empty() {
        return "{}\n".to_owned();
    }
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let mut out = String::new();
    for (k, v) in pairs {
        let _ = writeln!(out, "{}: {}", quote(k), quote(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, Acl, &str, &[u8])]) -> SecretData {
        let mut d = SecretData::default();
        for (depot, acl, key, value) in pairs {
            d.insert(depot, *acl, key, value.to_vec());
        }
        d
    }

    fn one(pairs: &[(&str, &str)]) -> String {
        let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        properties(&map)
    }

    #[test]
    fn escapes_properties_like_store() {
        assert_eq!(one(&[("a", "b")]), "a=b\n");
        assert_eq!(one(&[("k=1", "v:2#!")]), "k\\=1=v\\:2\\#\\!\n");
        assert_eq!(
            one(&[("sp ace", " lead and trail ")]),
            "sp\\ ace=\\ lead and trail \n"
        );
        assert_eq!(
            one(&[("k", "a\\b\tc\nd\re\x0cf")]),
            "k=a\\\\b\\tc\\nd\\re\\ff\n"
        );
        assert_eq!(one(&[("k", "ü世🎉")]), "k=\\u00FC\\u4E16\\uD83C\\uDF89\n");
        assert_eq!(one(&[("k", "")]), "k=\n");
        assert_eq!(one(&[("b", "2"), ("a", "1")]), "a=1\nb=2\n");
    }

    #[test]
    fn writes_each_format() {
        let d = data(&[
            ("icebase", Acl::Read, "user", b"u"),
            ("icebase", Acl::Read, "pass", b"it's"),
        ]);
        let run = |format| {
            let files = project(
                &d,
                &ProjectionSettings {
                    format,
                    ..ProjectionSettings::default()
                },
            )
            .unwrap();
            assert_eq!(files.len(), 1);
            (
                files[0].name.clone(),
                String::from_utf8(files[0].bytes.clone()).unwrap(),
            )
        };
        assert_eq!(
            run(Format::PropFile),
            ("icebase".into(), "pass=it's\nuser=u\n".into())
        );
        assert_eq!(
            run(Format::Dotenv),
            ("icebase.env".into(), "pass='it'\\''s'\nuser='u'\n".into())
        );
        assert_eq!(
            run(Format::EnvVars),
            (
                "icebase.env".into(),
                "ICEBASE_pass='it'\\''s'\nICEBASE_user='u'\n".into()
            )
        );
        assert_eq!(
            run(Format::Json),
            (
                "icebase.json".into(),
                "{\n  \"pass\": \"it's\",\n  \"user\": \"u\"\n}\n".into()
            )
        );
        assert_eq!(
            run(Format::Yaml),
            (
                "icebase.yaml".into(),
                "\"pass\": \"it's\"\n\"user\": \"u\"\n".into()
            )
        );
    }

    #[test]
    fn file_keys_and_binary_values_become_verbatim_files() {
        let d = data(&[
            ("gcs", Acl::Read, "gcs-key.json", b"{\"k\": 1}"),
            ("gcs", Acl::Read, "bin", &[0xff, 0x00, 0x01]),
            ("gcs", Acl::Read, "project", b"p1"),
        ]);
        let options = ProjectionSettings {
            file_keys: [("gcs".to_owned(), "gcs-key.json".to_owned())].into(),
            ..ProjectionSettings::default()
        };
        let files = project(&d, &options).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["gcs", "gcs_bin", "gcs_gcs-key.json"]);
        assert_eq!(files[0].bytes, b"project=p1\n");
        assert_eq!(files[1].bytes, [0xff, 0x00, 0x01]);
    }

    #[test]
    fn read_write_secret_wins_over_read() {
        let d = data(&[
            ("db", Acl::Read, "user", b"reader"),
            ("db", Acl::ReadWrite, "user", b"writer"),
        ]);
        let files = project(&d, &ProjectionSettings::default()).unwrap();
        assert_eq!(files[0].bytes, b"user=writer\n");
    }

    #[test]
    fn rejects_unsafe_names_without_the_value() {
        for (key, reason) in [
            ("", "it is empty"),
            ("..", "it is a relative directory name"),
            ("a/b", "it contains '/'"),
            ("a\0b", "it contains NUL"),
            (
                ".hidden",
                "it starts with '.' (reserved for the atomic-update entries)",
            ),
        ] {
            let d = data(&[("db", Acl::Read, key, b"SECRET-VALUE")]);
            let e = project(&d, &ProjectionSettings::default()).unwrap_err();
            let text = e.to_string();
            assert_eq!(
                text,
                format!("depot \"db\": key {key:?} cannot be used as a file name: {reason}")
            );
            assert!(!text.contains("SECRET-VALUE"));
        }
    }

    #[test]
    fn rejects_values_over_the_limit() {
        let d = data(&[("db", Acl::Read, "big", &[b'x'; 11])]);
        let e = project(
            &d,
            &ProjectionSettings {
                max_value_bytes: 10,
                ..ProjectionSettings::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "depot \"db\": key \"big\" is 11 bytes, over the limit of 10 bytes"
        );
    }

    #[test]
    fn rejects_dotenv_keys_that_are_not_shell_names() {
        let d = data(&[("s3", Acl::Read, "access-key", b"AKIA")]);
        let e = project(
            &d,
            &ProjectionSettings {
                format: Format::Dotenv,
                ..ProjectionSettings::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("depot \"s3\": key \"access-key\" is not a shell variable name"),
            "{e}"
        );
    }

    #[test]
    fn rejects_colliding_output_names() {
        // Depot "a" key "b" as a file is "a_b"; so is depot "a_b"'s properties file.
        let d = data(&[
            ("a", Acl::Read, "b", &[0xff]),
            ("a_b", Acl::Read, "k", b"v"),
        ]);
        let e = project(&d, &ProjectionSettings::default()).unwrap_err();
        assert!(matches!(e, ProjectionError::Collision { .. }), "{e}");
    }

    #[test]
    fn file_keys_must_name_a_mounted_depot() {
        let options = ProjectionSettings {
            file_keys: [("gcs".to_owned(), "key.json".to_owned())].into(),
            ..ProjectionSettings::default()
        };
        let e = project(&SecretData::default(), &options).unwrap_err();
        assert_eq!(
            e.to_string(),
            "depot \"gcs\": no secret is mounted for it (file key \"key.json\")"
        );
    }

    #[test]
    fn env_prefix_follows_the_envfrom_rule() {
        assert_eq!(env_prefix("my-depot"), "MY_DEPOT_");
    }

    #[test]
    fn debug_output_hides_content() {
        let f = OutputFile {
            name: "db".into(),
            bytes: b"SECRET".to_vec(),
        };
        assert_eq!(
            format!("{f:?}"),
            "OutputFile { name: \"db\", bytes: <6 bytes> }"
        );
    }
}
