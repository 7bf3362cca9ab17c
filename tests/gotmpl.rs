//! The template engine against Go's `text/template` + Sprig (+ Helm's functions):
//! every case of `tests/gotmpl/cases.yaml`, output or error, byte for byte.
//!
//! Go's answers are recorded in `tests/gotmpl/expected.json`. Where Go is installed
//! (always under `CI=true`) the harness `tests/gotmpl/harness.go` is built and run, and
//! its answers must equal the recording; `STACKHOOK_UPDATE_GO_EXPECTED=1` rewrites it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use stackhook_core::template::{CallContext, Limits, Template};

use crate::support::{reference_go, repo};

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("tests/gotmpl/cases.yaml")).unwrap();
    let docs = stackhook_core::source::parse_documents(&text).unwrap();
    docs[0].value.as_array().unwrap().clone()
}

/// Runs the Go harness over the cases; `None` when Go is not installed.
fn go_answers(cases: &[Value]) -> Option<Value> {
    let go = reference_go()?;
    let dir = tempfile::tempdir().unwrap();
    let harness = dir.path().join("harness");
    let build = Command::new(&go)
        .args(["build", "-o"])
        .arg(&harness)
        .arg(repo("tests/gotmpl/harness.go"))
        .env("GO111MODULE", "off")
        .env_remove("GOROOT")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "building the Go harness failed (needs golang-go, golang-github-masterminds-sprig-dev, golang-github-ghodss-yaml-dev, golang-github-burntsushi-toml-dev):\n{}",
        String::from_utf8_lossy(&build.stderr)
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
    let expected = crate::support::go_expected("tests/gotmpl/expected.json", go_answers(&cases));
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
fn seed_benthos_template_renders_the_expected_jobconfig() {
    let stack = std::fs::read_to_string(repo("examples/native/benthos-stack.yaml")).unwrap();
    let stack = &stackhook_core::source::parse_documents(&stack).unwrap()[0].value;
    let text = stack["stack"]["serviceConfig"]["configFileTemplate"]
        .as_str()
        .unwrap();
    let template = Template::parse("configFileTemplate", text).unwrap();
    let data = json!({
        "Name": "orders-api", "Type": "service", "Stamp": "-x1y2", "MetricPort": 8093,
        "ApplicationSpec": {"LogLevel": "INFO", "StackSpec": {
            "input": {"http_server": {"path": "/post"}},
            "output": {"stdout": {}}
        }}
    });
    let out = template
        .execute_json(&data, &CallContext::default(), &Limits::default())
        .unwrap();
    // A YAML map of file names to contents…
    let files = &stackhook_core::source::parse_documents(&out).unwrap()[0].value;
    let jobconfig = files["jobconfig.yaml"].as_str().unwrap();
    assert_eq!(files.as_object().unwrap().len(), 1);
    // …whose one file is the benthos config, itself valid YAML.
    let config = &stackhook_core::source::parse_documents(jobconfig).unwrap()[0].value;
    assert_eq!(
        config,
        &json!({
            "input": {"http_server": {"path": "/post"}},
            "output": {"stdout": {}},
            "logger": {"level": "INFO", "add_timestamp": true, "format": "json",
                       "static_fields": {"@service": "orders-api"}},
            "http": {"address": "0.0.0.0:8093", "root_path": "/dataos-benthos", "debug_endpoints": false},
            "metrics": {"prometheus": {
                "push_url": "http://prometheus-pushgateway.sentinel.svc.cluster.local:9091",
                "push_interval": "5s",
                "push_job_name": "orders-api-service-x1y2"
            }}
        })
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
    let committed =
        std::fs::read_to_string(repo("crates/stackhook-core/src/template/unicode_tables.rs"))
            .unwrap();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "crates/stackhook-core/src/template/unicode_tables.rs differs from what tests/gotmpl/gen_unicode.go prints; regenerate it"
    );
}

/// The README's table of the function set names every function the engine has, and
/// nothing it lacks.
#[test]
fn the_readme_lists_the_function_set() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let section = readme
        .split("| functions | from |")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .expect("README.md has the function table");
    let mut listed = std::collections::BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| ")) {
        let names = row.split('|').nth(1).unwrap_or_default();
        for code in names.split('`').skip(1).step_by(2) {
            // `must…` stands for the must forms of the row's functions.
            for name in code.split_whitespace().filter(|n| !n.ends_with('…')) {
                listed.insert(name.to_owned());
            }
        }
    }
    let have: std::collections::BTreeSet<String> = stackhook_core::template::function_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let missing: Vec<&String> = listed.difference(&have).collect();
    assert!(
        missing.is_empty(),
        "README lists functions the engine lacks: {missing:?}"
    );
    // `must…` forms are named once, with their function.
    let unlisted: Vec<&String> = have
        .difference(&listed)
        .filter(|n| {
            !n.strip_prefix("must")
                .is_some_and(|rest| listed.iter().any(|l| l.eq_ignore_ascii_case(rest)))
        })
        .collect();
    assert!(
        unlisted.is_empty(),
        "README's function table misses: {unlisted:?}"
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
    // `resolve` needs a catalog; tests/template.rs holds it to its documented shape.
    let exempt = ["resolve"];
    let uncalled: Vec<&str> = stackhook_core::template::function_names()
        .into_iter()
        .filter(|name| !exempt.contains(name))
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
