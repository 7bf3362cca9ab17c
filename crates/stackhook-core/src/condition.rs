//! The `successCondition` / `failureCondition` of a Stack's `resourceTemplate`: when the
//! object it renders (a SparkApplication, say) has succeeded or failed. The syntax is
//! Argo's resource-template conditions, which are Kubernetes label-selector requirements
//! over field paths:
//!
//! ```text
//! status.applicationState.state == COMPLETED
//! status.phase != Running
//! status.applicationState.state in (FAILED, SUBMISSION_FAILED, UNKNOWN)
//! status.phase notin (Pending, Running)
//! status.succeeded > 0, status.active < 1
//! ```
//!
//! Requirements separated by `,` must all hold. Values are bare words or quoted
//! strings; a field is compared by its text (`true`, `3`, `COMPLETED`), and `>`/`<`
//! compare numbers. A field the object does not have yet meets no requirement, not even
//! `!=` or `notin`: a status that has not been reported decides nothing.

use serde_json::Value;

/// A parsed condition: requirements that must all hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    requirements: Vec<Requirement>,
}

#[derive(Clone, Debug, PartialEq)]
struct Requirement {
    path: Vec<String>,
    op: Op,
}

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Gt(f64),
    Lt(f64),
}

/// A condition that cannot be parsed, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("condition {text:?}: {message}")]
pub struct ConditionError {
    /// The whole condition.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

impl Condition {
    /// Parses a condition.
    pub fn parse(text: &str) -> Result<Self, ConditionError> {
        let fail = |message: String| ConditionError {
            text: text.to_owned(),
            message,
        };
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                return Err(fail("an empty requirement (a stray `,`?)".into()));
            }
            requirements.push(parse_requirement(part).map_err(fail)?);
        }
        Ok(Self { requirements })
    }

    /// Whether `object` meets every requirement.
    pub fn holds(&self, object: &Value) -> bool {
        self.requirements.iter().all(|r| r.holds(object))
    }
}

/// Splits on commas outside parentheses and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0usize);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let (path, rest) = match part.find(|c: char| c.is_whitespace() || "=!<>".contains(c)) {
        Some(i) => (&part[..i], part[i..].trim_start()),
        None => {
            return Err(format!(
                "{part:?} has no operator (==, !=, in, notin, >, <)"
            ));
        }
    };
    let path = parse_path(path)?;
    let (op, value) = if let Some(v) = rest.strip_prefix("==") {
        ("==", v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        ("!=", v)
    } else if let Some(v) = rest.strip_prefix('=') {
        ("==", v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (">", v)
    } else if let Some(v) = rest.strip_prefix('<') {
        ("<", v)
    } else if let Some(v) = strip_word(rest, "notin") {
        ("notin", v)
    } else if let Some(v) = strip_word(rest, "in") {
        ("in", v)
    } else {
        return Err(format!(
            "expected ==, !=, in, notin, > or < after {:?}, found {rest:?}",
            path.join(".")
        ));
    };
    let value = value.trim();
    let op = match op {
        "in" | "notin" => {
            let inner = value
                .strip_prefix('(')
                .and_then(|v| v.strip_suffix(')'))
                .ok_or_else(|| format!("{op} needs a list in parentheses, found {value:?}"))?;
            let values = split_top_level(inner)
                .into_iter()
                .map(|v| parse_value(v.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            if op == "in" {
                Op::In(values)
            } else {
                Op::NotIn(values)
            }
        }
        ">" | "<" => {
            let n: f64 = value
                .parse()
                .map_err(|_| format!("{op} needs a number, found {value:?}"))?;
            if op == ">" { Op::Gt(n) } else { Op::Lt(n) }
        }
        _ => {
            let v = parse_value(value)?;
            if op == "==" { Op::Eq(v) } else { Op::Ne(v) }
        }
    };
    Ok(Requirement { path, op })
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(word)?;
    (rest.starts_with(|c: char| c.is_whitespace() || c == '(')).then_some(rest)
}

fn parse_path(path: &str) -> Result<Vec<String>, String> {
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err(format!("{path:?} is not a field path (like status.phase)"));
    }
    Ok(segments)
}

fn parse_value(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("a value is missing".into());
    }
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q) {
            return inner
                .strip_suffix(q)
                .map(str::to_owned)
                .ok_or_else(|| format!("unterminated quote in {value:?}"));
        }
    }
    if value.contains(char::is_whitespace) {
        return Err(format!("{value:?} has spaces; quote it"));
    }
    Ok(value.to_owned())
}

impl Requirement {
    fn holds(&self, object: &Value) -> bool {
        let mut v = object;
        for segment in &self.path {
            let next = match v {
                Value::Object(m) => m.get(segment),
                Value::Array(a) => segment.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            match next {
                Some(n) => v = n,
                None => return false,
            }
        }
        let text = match v {
            Value::Null => return false,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        match &self.op {
            Op::Eq(want) => &text == want,
            Op::Ne(want) => &text != want,
            Op::In(set) => set.contains(&text),
            Op::NotIn(set) => !set.contains(&text),
            Op::Gt(n) => text.parse::<f64>().is_ok_and(|x| x > *n),
            Op::Lt(n) => text.parse::<f64>().is_ok_and(|x| x < *n),
        }
    }
}

/// The success and failure conditions of a `resourceTemplate` object.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResourceConditions<'a> {
    /// When the object has succeeded.
    pub success: Option<&'a Condition>,
    /// When the object has failed.
    pub failure: Option<&'a Condition>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spark(state: &str) -> Value {
        json!({"status": {"applicationState": {"state": state}, "executors": 3, "done": true}})
    }

    #[test]
    fn operators_on_a_status() {
        let cases = [
            (
                "status.applicationState.state == COMPLETED",
                "COMPLETED",
                true,
            ),
            (
                "status.applicationState.state == COMPLETED",
                "RUNNING",
                false,
            ),
            (
                "status.applicationState.state = COMPLETED",
                "COMPLETED",
                true,
            ),
            (
                "status.applicationState.state != COMPLETED",
                "RUNNING",
                true,
            ),
            (
                "status.applicationState.state in (FAILED, UNKNOWN)",
                "UNKNOWN",
                true,
            ),
            (
                "status.applicationState.state in (FAILED, UNKNOWN)",
                "RUNNING",
                false,
            ),
            (
                "status.applicationState.state notin (FAILED, UNKNOWN)",
                "RUNNING",
                true,
            ),
            (
                "status.applicationState.state == 'COMPLETED'",
                "COMPLETED",
                true,
            ),
            (
                "status.applicationState.state in (\"A, B\", C)",
                "A, B",
                true,
            ),
            ("status.executors > 2", "X", true),
            ("status.executors < 3", "X", false),
            ("status.done == true", "X", true),
            ("status.executors == 3, status.done == true", "X", true),
            ("status.executors == 3, status.done == false", "X", false),
        ];
        for (text, state, want) in cases {
            let c = Condition::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.holds(&spark(state)), want, "{text} on {state}");
        }
    }

    #[test]
    fn a_missing_field_meets_nothing() {
        let empty = json!({"metadata": {"name": "x"}});
        for text in [
            "status.phase == Failed",
            "status.phase != Failed",
            "status.phase notin (Running)",
            "status.count < 1",
        ] {
            assert!(!Condition::parse(text).unwrap().holds(&empty), "{text}");
        }
    }

    #[test]
    fn list_indices_reach_into_arrays() {
        let job = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(
            Condition::parse("status.conditions.0.type == Complete")
                .unwrap()
                .holds(&job)
        );
    }

    #[test]
    fn bad_conditions_say_what_is_wrong() {
        let cases = [
            (
                "status.phase",
                "\"status.phase\" has no operator (==, !=, in, notin, >, <)",
            ),
            (
                "status.phase ~ x",
                "expected ==, !=, in, notin, > or < after \"status.phase\", found \"~ x\"",
            ),
            (
                "status..phase == x",
                "\"status..phase\" is not a field path (like status.phase)",
            ),
            (
                "status.phase in FAILED",
                "in needs a list in parentheses, found \"FAILED\"",
            ),
            ("status.count > many", "> needs a number, found \"many\""),
            ("status.phase == ", "a value is missing"),
            ("status.phase == 'open", "unterminated quote in \"'open\""),
            (
                "status.phase == two words",
                "\"two words\" has spaces; quote it",
            ),
            ("status.phase == a,", "an empty requirement (a stray `,`?)"),
        ];
        for (text, message) in cases {
            let e = Condition::parse(text).expect_err(text);
            assert_eq!(e.message, message, "{text}");
            assert_eq!(e.to_string(), format!("condition {text:?}: {message}"));
        }
    }
}
