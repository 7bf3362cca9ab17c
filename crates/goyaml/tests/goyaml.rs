//! The YAML reader against Go's `gopkg.in/yaml.v2` (what `kubectl`, Helm and DataOS
//! read manifests with): every file of `tests/goyaml/cases` and every real manifest of
//! the workspace's corpus (`tests/fixtures/dataos` and `tests/fixtures/dataos-users` at
//! its root) must give the same documents, or both fail.
//!
//! Go's answers are recorded in `tests/goyaml/expected.json`. Where Go is installed
//! (always under `CI=true`) `tests/goyaml/harness.go` is built and run, and its answers
//! must equal the recording; `STACKHOOK_UPDATE_GO_EXPECTED=1` rewrites it.

// Test code panics on purpose when something is off.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Command;

use goyaml::parse_documents;
use serde_json::{Value, json};

mod support;

use support::{reference_go, repo};

/// Where stackhook reads YAML differently from yaml.v2 on purpose, and why.
const INTENDED: [(&str, &str); 2] = [
    (
        "cases/error_duplicate_key.yaml",
        "a duplicate key is an error, as `kubectl apply` makes it (sigs.k8s.io/yaml strict); yaml.v2 keeps the last",
    ),
    (
        "cases/dq_escape_slash_is_yaml_1_2.yaml",
        "`\\/` is YAML 1.2's escape of `/`, which saphyr-parser reads and yaml.v2 (YAML 1.1) refuses; refusing it would mean scanning every quoted scalar twice",
    ),
];

/// The workspace's corpus of real manifests, from this crate's folder.
const CORPUS: &str = "../../tests/fixtures";

/// The files compared, relative to `tests/`.
fn files() -> Vec<String> {
    let mut out = Vec::new();
    let mut cases: Vec<String> = std::fs::read_dir(repo("tests/goyaml/cases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("goyaml/cases/{n}"))
        .collect();
    cases.sort();
    out.extend(cases);
    // The real manifests are the workspace's corpus, named from this crate's `tests/`.
    let sources = std::fs::read_to_string(repo(&format!("{CORPUS}/dataos/SOURCES.tsv"))).unwrap();
    out.extend(
        sources
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
            .map(|f| format!("../{CORPUS}/dataos/{f}")),
    );
    let users =
        std::fs::read_to_string(repo(&format!("{CORPUS}/dataos-users/SOURCES.tsv"))).unwrap();
    out.extend(
        users
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
            .map(|f| format!("../{CORPUS}/dataos-users/{f}")),
    );
    out
}

/// Runs the Go harness over the files; `None` when Go is not installed.
fn go_answers(files: &[String]) -> Option<Value> {
    let go = reference_go()?;
    let dir = tempfile::tempdir().unwrap();
    let harness = support::build_go_harness(
        &go,
        &repo("tests/goyaml/harness.go"),
        dir.path(),
        "golang-1.19-go, golang-gopkg-yaml.v2-dev",
    );
    let out = Command::new(&harness)
        .current_dir(repo("tests"))
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Numbers as JSON compares them: 1.0 and 1 are one number.
fn normal(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => v.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(normal).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normal(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn reads_yaml_as_go_yaml_v2_does() {
    let files = files();
    assert!(files.len() >= 200, "{} files", files.len());
    let expected = support::go_expected(&repo("tests/goyaml/expected.json"), go_answers(&files));
    let expected: BTreeMap<String, Value> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["file"].as_str().unwrap().to_owned(), a.clone()))
        .collect();
    let intended: BTreeMap<&str, &str> = INTENDED.into_iter().collect();

    let mut failures = Vec::new();
    let mut agreed = 0;
    for file in &files {
        let text = std::fs::read_to_string(repo(&format!("tests/{file}"))).unwrap();
        let ours = parse_documents(&text).map(|docs| {
            docs.into_iter()
                .map(|d| normal(&d.value))
                .collect::<Vec<_>>()
        });
        let go = &expected[file.as_str()];
        let same = match (&ours, go.get("documents")) {
            (Ok(docs), Some(Value::Array(theirs))) => {
                docs == &theirs.iter().map(normal).collect::<Vec<_>>()
            }
            (Err(_), None) => true,
            _ => false,
        };
        let short = file.trim_start_matches("goyaml/");
        match (same, intended.get(short)) {
            (true, None) => agreed += 1,
            (true, Some(why)) => failures.push(format!(
                "{short}: listed as an intended difference ({why}) but agrees with Go now"
            )),
            (false, Some(_)) => {}
            (false, None) => failures.push(format!(
                "{short}:\n  go:   {}\n  ours: {}",
                go.get("documents")
                    .or(go.get("error"))
                    .unwrap_or(&Value::Null),
                match &ours {
                    Ok(d) => serde_json::to_string(d).unwrap(),
                    Err(e) => e.to_string(),
                }
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files read differently from yaml.v2:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert_eq!(agreed + INTENDED.len(), files.len());
}
