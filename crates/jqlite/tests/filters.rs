//! The evaluator against `jq`: every case of `tests/filters/cases.yaml`,
//! the values selected and the error, as jq 1.6 gives them.
//!
//! jq's answers are recorded in `tests/filters/expected.json`. Where jq is installed
//! (always under `CI=true`) each case also runs through `jq -c`, and its answers must
//! equal the recording; `STACKHOOK_UPDATE_JQ_EXPECTED=1` rewrites it.

// Test code panics on purpose when something is off.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

mod support;

use support::{have_tool, reference_answers, repo};

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("tests/filters/cases.yaml")).unwrap();
    let docs = goyaml::parse_documents(&text).unwrap();
    docs[0].value.as_array().unwrap().clone()
}

/// What jq prints for one case: its values, and its error message if it failed.
fn jq(filter: &str, input: &Value) -> Value {
    let mut child = Command::new("jq")
        .args(["-c", filter])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let values: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // `jq: error (at <stdin>:0): MESSAGE`
    let error = stderr
        .lines()
        .find_map(|l| l.strip_prefix("jq: error (at <stdin>:0): "))
        .map(str::to_owned);
    assert!(
        out.status.success() || error.is_some(),
        "jq failed on {filter:?}: {stderr}"
    );
    json!({"values": values, "error": error})
}

/// Numbers compare as jq holds them (f64): `1` and `1.0` are one value.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn selects_every_case_exactly_as_jq() {
    let cases = cases();
    assert!(cases.len() >= 70, "{} cases", cases.len());
    let live = have_tool("jq").then(|| {
        let live: serde_json::Map<String, Value> = cases
            .iter()
            .map(|c| {
                let name = c["name"].as_str().unwrap().to_owned();
                (name, jq(c["filter"].as_str().unwrap(), &c["input"]))
            })
            .collect();
        Value::Object(live)
    });
    let expected = reference_answers(
        &repo("tests/filters/expected.json"),
        live,
        "jq",
        "STACKHOOK_UPDATE_JQ_EXPECTED",
    );
    let mut failures = Vec::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let (values, error) = jqlite::evaluate(c["filter"].as_str().unwrap(), &c["input"]);
        let ours = json!({"values": values, "error": error});
        if normalize(&ours) != normalize(&expected[name]) {
            failures.push(format!(
                "{name}: {}\n  jq:   {}\n  ours: {ours}",
                c["filter"], expected[name]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
