//! The template engine against Go's `text/template` + Sprig (+ Helm's functions):
//! every case of `tests/gotmpl/cases.yaml`, output or error, byte for byte.
//!
//! Go's answers are recorded in `tests/gotmpl/expected.json`. Where Go is installed
//! (always under `CI=true`) the harness `tests/gotmpl/harness.go` is built and run, and
//! its answers must equal the recording; `STACKHOOK_UPDATE_GO_EXPECTED=1` rewrites it.

// Test code panics on purpose when something is off.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use gotemplate::{CallContext, Functions, Limits, Template};
use serde_json::{Value, json};

mod support;

use support::{reference_go, repo};

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("tests/gotmpl/cases.yaml")).unwrap();
    let docs = goyaml::parse_documents(&text).unwrap();
    docs[0].value.as_array().unwrap().clone()
}

/// Runs the Go harness over the cases; `None` when Go is not installed.
fn go_answers(cases: &[Value]) -> Option<Value> {
    let go = reference_go()?;
    let dir = tempfile::tempdir().unwrap();
    let harness = support::build_go_harness(
        &go,
        &repo("tests/gotmpl/harness.go"),
        dir.path(),
        "golang-1.19-go, golang-github-masterminds-sprig-dev, golang-github-ghodss-yaml-dev, golang-github-burntsushi-toml-dev",
    );
    // Sprig's `date` and `toDate` read the local zone; stackhook's is UTC.
    let mut child = Command::new(&harness)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn renders_every_case_exactly_as_go() {
    let cases = cases();
    assert!(
        cases.len() >= 150,
        "the suite has {} cases; it promises at least 150",
        cases.len()
    );
    let expected = support::go_expected(&repo("tests/gotmpl/expected.json"), go_answers(&cases));
    let expected: BTreeMap<String, Value> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r.clone()))
        .collect();

    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let template = case["template"].as_str().unwrap();
        let data = case.get("data").cloned().unwrap_or(Value::Null);
        let ours = Template::parse(name, template)
            .and_then(|t| t.execute_json(&data, &CallContext::default(), &Limits::default()));
        let ours = match ours {
            Ok(out) => json!({"name": name, "output": out}),
            Err(e) => json!({"name": name, "error": e.to_string()}),
        };
        let go = &expected[name];
        if &ours != go {
            failures.push(format!(
                "{name}:\n  template: {template:?}\n  go:   {}\n  ours: {}",
                go.get("output").or(go.get("error")).unwrap(),
                ours.get("output").or(ours.get("error")).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_unicode_tables_are_what_go_generates() {
    let Some(go) = reference_go() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&go)
        .arg("run")
        .arg(repo("tests/gotmpl/gen_unicode.go"))
        .env("GO111MODULE", "off")
        .env_remove("GOROOT")
        .env("GOCACHE", dir.path().join("cache"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(repo("src/unicode_tables.rs")).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "src/unicode_tables.rs differs from what tests/gotmpl/gen_unicode.go prints; regenerate it"
    );
}

#[test]
fn the_differential_suite_calls_every_function() {
    let text = std::fs::read_to_string(repo("tests/gotmpl/cases.yaml")).unwrap();
    let templates: Vec<String> = cases()
        .iter()
        .filter_map(|c| c["template"].as_str().map(str::to_owned))
        .collect();
    assert!(!text.is_empty());
    let uncalled: Vec<&str> = Functions::new()
        .names()
        .into_iter()
        .filter(|name| {
            !templates.iter().any(|t| {
                t.match_indices(name).any(|(i, _)| {
                    let before = t[..i].chars().next_back();
                    let after = t[i + name.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '$')
                        && !after.is_some_and(char::is_alphanumeric)
                })
            })
        })
        .collect();
    assert!(
        uncalled.is_empty(),
        "functions no case in tests/gotmpl/cases.yaml calls: {uncalled:?}"
    );
}
