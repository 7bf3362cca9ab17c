//! A Stack's `stackSpecValueSchema.jsonSchema`, compiled once per Stack generation,
//! and `stackSpec` validation with every error at its field path
//! (`spec.stackSpec.inputs[0].dataset: 3 is not of type "string"`).
//!
//! `$schema` picks the draft (4, 6, 7, 2019-09, 2020-12); a missing or unknown one
//! (real Stacks declare `draft-01`, which does not exist) means draft-07, with a
//! warning. `$ref`s are resolved inside the document only — nothing is fetched.
//! Patterns run on the linear-time `regex` engine, so no pattern can stall admission.
//! Before compiling, [`cost`] refuses schemas whose validation cost can grow
//! exponentially (it counts the paths through the `$ref`/`allOf` graph) and bounds the
//! number and size of subschemas and patterns; the schema text and the number of
//! reported errors are bounded too.

pub mod cost;

use goyaml::{push_index, push_key};
use jsonschema::{Draft, PatternOptions, Validator};
use serde_json::Value;

/// Largest schema text accepted.
pub const MAX_SCHEMA_BYTES: usize = 256 * 1024;
/// Most errors reported for one instance (the rest are counted).
pub const MAX_ERRORS: usize = 50;
/// Longest error message kept (values quoted in messages can be large).
const MAX_MESSAGE_CHARS: usize = 200;

/// Why a schema cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The text is too large.
    #[error("schema is {size} bytes, over the limit of {MAX_SCHEMA_BYTES}")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// The text is not JSON.
    #[error("schema is not valid JSON: {message} at line {line} column {column}")]
    NotJson {
        /// serde_json's message.
        message: String,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// The JSON is not a usable schema.
    #[error("schema does not compile{}: {message}", at_pointer(pointer))]
    Invalid {
        /// Where in the schema (a JSON pointer such as `/properties/port/type`; empty
        /// for the document itself or when the compiler does not say).
        pointer: String,
        /// The compiler's complaint.
        message: String,
    },
    /// Validating against it could cost too much.
    #[error("schema refused: {0}")]
    TooCostly(String),
}

/// One `stackSpec` problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaViolation {
    /// Field path, relative to the validated value (`inputs[0].dataset`; empty for the
    /// value itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A compiled schema.
pub struct CompiledSchema {
    validator: Validator,
    /// The draft in use.
    pub draft: Draft,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("draft", &self.draft)
            .finish()
    }
}

/// The draft a `$schema` URI names, if it is one this crate knows.
fn draft_of(uri: &str) -> Option<Draft> {
    let uri = uri
        .trim_end_matches('#')
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    match uri {
        "json-schema.org/draft-04/schema" => Some(Draft::Draft4),
        "json-schema.org/draft-06/schema" => Some(Draft::Draft6),
        "json-schema.org/draft-07/schema" => Some(Draft::Draft7),
        "json-schema.org/draft/2019-09/schema" => Some(Draft::Draft201909),
        "json-schema.org/draft/2020-12/schema" => Some(Draft::Draft202012),
        _ => None,
    }
}

fn shorten(mut s: String) -> String {
    if s.chars().count() > MAX_MESSAGE_CHARS {
        s = s.chars().take(MAX_MESSAGE_CHARS).collect();
        s.push('…');
    }
    s
}

impl CompiledSchema {
    /// Compiles schema text. Returns the schema and warnings (about `$schema`).
    pub fn compile(text: &str) -> Result<(Self, Vec<String>), SchemaError> {
        if text.len() > MAX_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge { size: text.len() });
        }
        let mut schema: Value = serde_json::from_str(text).map_err(|e| SchemaError::NotJson {
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
            line: e.line(),
            column: e.column(),
        })?;
        let mut warnings = Vec::new();
        let declared = schema
            .get("$schema")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let draft = match declared.as_deref().map(|d| (d, draft_of(d))) {
            Some((_, Some(draft))) => draft,
            Some((uri, None)) => {
                warnings.push(format!(
                    "unknown $schema {:?}; validating as draft-07",
                    shorten_uri(uri)
                ));
                if let Some(obj) = schema.as_object_mut() {
                    obj.remove("$schema");
                }
                Draft::Draft7
            }
            None => {
                if schema.is_object() {
                    warnings
                        .push("stackSpecValueSchema has no $schema; validating as draft-07".into());
                }
                Draft::Draft7
            }
        };
        cost::check(&schema).map_err(|e| SchemaError::TooCostly(e.0))?;
        // 64 patterns of at most 1 KiB each: each compiled program and its lazy DFA
        // cache stay small.
        let validator = jsonschema::options()
            .with_draft(draft)
            .with_pattern_options(
                PatternOptions::regex()
                    .size_limit(256 << 10)
                    .dfa_size_limit(256 << 10),
            )
            .build(&schema)
            .map_err(|e| SchemaError::Invalid {
                pointer: e.instance_path().as_str().to_owned(),
                message: shorten(e.to_string()),
            })?;
        Ok((Self { validator, draft }, warnings))
    }

    /// Every problem of `instance`, with field paths relative to it.
    pub fn validate(&self, instance: &Value) -> Vec<SchemaViolation> {
        let mut out = Vec::new();
        let mut more = 0usize;
        for error in self.validator.iter_errors(instance) {
            if out.len() >= MAX_ERRORS {
                more += 1;
                continue;
            }
            out.push(SchemaViolation {
                path: field_path(instance, error.instance_path().as_str()),
                message: shorten(error.to_string()),
            });
        }
        if more > 0 {
            out.push(SchemaViolation {
                path: String::new(),
                message: format!("… and {more} more schema errors"),
            });
        }
        out
    }
}

/// ` at /properties/port/type` for a pointer into the schema, nothing for its root.
fn at_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" at {pointer}")
    }
}

fn shorten_uri(uri: &str) -> String {
    uri.chars().take(60).collect()
}

/// A JSON pointer (`/inputs/0/dataset`) as a field path (`inputs[0].dataset`): a
/// segment is a list index where the instance there is a list.
pub fn field_path(instance: &Value, pointer: &str) -> String {
    let mut path = String::new();
    let mut current = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match current {
            Some(Value::Array(items)) => {
                let index: usize = segment.parse().unwrap_or(0);
                push_index(&mut path, index);
                current = items.get(index);
            }
            other => {
                push_key(&mut path, &segment);
                current = other.and_then(|v| v.get(&segment));
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SEED: &str = r#"{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"input":{"type":"object"},"metrics":{"type":"object"},"logger":{"type":"object"},"http":{"type":"object"},"pipeline":{"type":"object"},"output":{"type":"object"}},"required":["input"]}"#;

    #[test]
    fn honours_the_declared_draft() {
        let (s, warnings) = CompiledSchema::compile(SEED).unwrap();
        assert_eq!(s.draft, Draft::Draft4);
        assert!(warnings.is_empty());
        for (uri, draft) in [
            ("http://json-schema.org/draft-06/schema#", Draft::Draft6),
            ("http://json-schema.org/draft-07/schema", Draft::Draft7),
            (
                "https://json-schema.org/draft/2019-09/schema",
                Draft::Draft201909,
            ),
            (
                "https://json-schema.org/draft/2020-12/schema",
                Draft::Draft202012,
            ),
        ] {
            let (s, _) = CompiledSchema::compile(&json!({"$schema": uri}).to_string()).unwrap();
            assert_eq!(s.draft, draft, "{uri}");
        }
    }

    #[test]
    fn unknown_or_missing_schema_is_draft_07_with_a_warning() {
        let (s, w) = CompiledSchema::compile(
            r#"{"$schema": "http://json-schema.org/draft-01/schema#", "type": "object"}"#,
        )
        .unwrap();
        assert_eq!(s.draft, Draft::Draft7);
        assert_eq!(
            w,
            [
                r#"unknown $schema "http://json-schema.org/draft-01/schema#"; validating as draft-07"#
            ]
        );
        assert!(w[0].len() < 120);
        let (_, w) = CompiledSchema::compile(r#"{"type": "object"}"#).unwrap();
        assert_eq!(
            w,
            ["stackSpecValueSchema has no $schema; validating as draft-07"]
        );
    }

    #[test]
    fn reports_every_error_with_its_path() {
        let (s, _) = CompiledSchema::compile(
            r#"{"type": "object", "required": ["input"], "properties": {"inputs": {"type": "array", "items": {"type": "object", "properties": {"dataset": {"type": "string"}}}}, "a.b": {"type": "integer"}}}"#,
        )
        .unwrap();
        let v = s.validate(&json!({"inputs": [{"dataset": "x"}, {"dataset": 3}], "a.b": "no"}));
        let got: Vec<(String, String)> = v.into_iter().map(|v| (v.path, v.message)).collect();
        assert_eq!(
            got,
            [
                (String::new(), "\"input\" is a required property".to_owned()),
                (
                    "[\"a.b\"]".to_owned(),
                    "\"no\" is not of type \"integer\"".to_owned()
                ),
                (
                    "inputs[1].dataset".to_owned(),
                    "3 is not of type \"string\"".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn bad_schemas_are_errors_with_positions() {
        let e =
            CompiledSchema::compile("{\"type\": \"object\",\n  \"properties\": {,}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "schema is not valid JSON: key must be a string at line 2 column 18"
        );
        let e = CompiledSchema::compile(r#"{"type": "bogus"}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("schema does not compile at /type: "),
            "{e}"
        );
        // The place inside the schema, as a JSON pointer.
        let e = CompiledSchema::compile(
            r#"{"type": "object", "properties": {"port": {"type": "integer", "minimum": "1"}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"schema does not compile at /properties/port/minimum: "1" is not of type "number""#
        );
        let e = CompiledSchema::compile(&" ".repeat(MAX_SCHEMA_BYTES + 1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "schema is {} bytes, over the limit of 262144",
                MAX_SCHEMA_BYTES + 1
            )
        );
        let deep = format!("{}{}", "{\"items\":".repeat(200), "}".repeat(200));
        let e = CompiledSchema::compile(&deep).unwrap_err();
        assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
        let e =
            CompiledSchema::compile(r#"{"$ref": "https://example.com/remote.json"}"#).unwrap_err();
        assert!(e.to_string().starts_with("schema does not compile"), "{e}");
    }

    #[test]
    fn pathological_patterns_run_in_linear_time() {
        let (s, _) =
            CompiledSchema::compile(r#"{"type": "string", "pattern": "^(a+)+$"}"#).unwrap();
        let input = format!("{}!", "a".repeat(50_000));
        assert_eq!(s.validate(&json!(input)).len(), 1);
    }

    #[test]
    fn caps_the_number_of_errors() {
        let (s, _) =
            CompiledSchema::compile(r#"{"type": "array", "items": {"type": "string"}}"#).unwrap();
        let v = s.validate(&json!((0..80).collect::<Vec<_>>()));
        assert_eq!(v.len(), MAX_ERRORS + 1);
        assert_eq!(v.last().unwrap().message, "… and 30 more schema errors");
    }
}
