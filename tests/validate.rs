//! `stackhook validate`: output formats, exit codes, positions, stdin.

use serde_json::Value;

use crate::support::{repo, stackhook, write};

fn catalog() -> String {
    repo("examples/catalog").to_str().unwrap().to_owned()
}

#[test]
fn the_examples_catalog_is_valid() {
    let run = stackhook(&["validate", "examples/catalog", "examples/native"], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // stripPath has no class-independent Ingress form: said, not dropped silently.
    assert_eq!(
        run.stdout,
        "examples/catalog/workloads.yaml:34:5: warning: Service retail/orders-api: spec.ingress.stripPath is not applied: the Ingress has no rewrite; serve the path prefix\n12 valid, 0 invalid, 0 skipped\n"
    );
}

#[test]
fn the_invalid_examples_are_reported_at_their_fields() {
    let run = stackhook(&["validate", "examples/"], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn reads_stdin_with_stacks_and_depots_from_the_input_itself() {
    // As `helm template chart | stackhook validate -` would give it: a chart that
    // brings its own Stack, plus a ConfigMap that is skipped.
    let input = r#"---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: echo-1}
spec:
  name: echo
  version: "1"
  stackSpecValueSchema:
    jsonSchema: '{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["message"]}'
  workerConfig: {}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: hello, namespace: apps}
spec:
  stack: echo:1
  stackSpec:
    msg: typo
"#;
    let run = stackhook(&["validate", "-"], input);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "<stdin>:21:3: Worker apps/hello: spec.stackSpec: \"message\" is a required property\n1 valid, 1 invalid, 1 skipped\n"
    );
}

/// Warnings do not fail, and are placed at the field they name.
#[test]
fn warnings_do_not_fail() {
    let run = stackhook(
        &["validate", "--catalog", &catalog(), "-"],
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: retail}\nspec:\n  stack: flare\n  stackSpec: {inputs: [{dataset: \"dataos://icebase:retail/city\"}], outputs: []}\n",
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.stdout,
        "<stdin>:5:3: warning: Workflow retail/w: spec.stack: \"flare\" is not pinned; using flare:6.0 (pin a version)\n1 valid, 0 invalid, 0 skipped\n"
    );
}

#[test]
fn positions_point_into_native_documents() {
    let run = stackhook(
        &["validate", "--catalog", &catalog(), "-"],
        "name: w\nversion: v1\ntype: workflow\nworkspace: retail\nworkflow:\n  stack: flare:6.0\n  stackSpec:\n    inputs:\n      - dataset: dataos://nope:x\n    outputs: []\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        "<stdin>:9:9: Workflow retail/w: spec.stackSpec.inputs[0].dataset: address \"dataos://nope:x\": depot \"nope\" not found in namespace \"retail\""
    );
}

#[test]
fn documents_of_the_wrong_shape_are_invalid_not_unusable() {
    let run = stackhook(
        &["validate", "-"],
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: n1}\nspec:\n  stack: \"a:\"\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "<stdin>:5:3: Worker n1/w: spec.stack: stack reference \"a:\" has an empty version after \":\"\n0 valid, 1 invalid, 0 skipped\n"
    );
}

#[test]
fn unparseable_input_is_a_problem_of_its_own_beside_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-broken.yaml", "kind: [\n");
    write(
        dir.path(),
        "b-ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let run = stackhook(&["validate", dir.path().to_str().unwrap()], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "0 valid, 0 invalid, 1 skipped\n");
    assert!(
        run.stderr.starts_with(&format!(
            "{}:2:1: ",
            dir.path().join("a-broken.yaml").display()
        )),
        "{}",
        run.stderr
    );
    let run = stackhook(&["validate", "no/such/dir"], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("no/such/dir: no such file or directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_output_has_one_object_per_document() {
    let run = stackhook(&["validate", "-o", "json", "examples/"], "");
    assert_eq!(run.code, 1);
    let list: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list.len(), 21);
    let bad = list.iter().find(|d| d["name"] == "bad-address").unwrap();
    assert_eq!(bad["kind"], "Workflow");
    assert_eq!(bad["namespace"], "retail");
    assert_eq!(bad["file"], "examples/invalid/workloads.yaml");
    assert_eq!(bad["allowed"], false);
    assert_eq!(
        bad["violations"][0]["path"],
        "spec.stackSpec.inputs[0].dataset"
    );
    assert_eq!(bad["violations"][0]["line"], 56);
    let ok = list
        .iter()
        .find(|d| d["name"] == "orders-stream" && d["kind"] == "Worker")
        .unwrap();
    assert_eq!(ok["allowed"], true);
}

#[test]
fn junit_output_has_one_testcase_per_document() {
    let run = stackhook(&["validate", "-o", "junit", "examples/"], "");
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"stackhook validate\" tests=\"21\" failures=\"9\" skipped=\"0\">"));
    assert_eq!(run.stdout.matches("<testcase ").count(), 21);
    assert_eq!(run.stdout.matches("<failure ").count(), 9);
    assert!(run.stdout.contains("name=\"Workflow retail/unknown-depot\">\n      <failure message=\"1 problem(s)\">examples/invalid/workloads.yaml:69:9: spec.stackSpec.inputs[0].dataset: address &quot;dataos://warehouse:sales/orders&quot;: depot &quot;warehouse&quot; not found"));
    if crate::support::have_tool("python3") {
        // Well-formed XML.
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "r.xml", &run.stdout);
        let ok = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
            ])
            .arg(f)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

#[test]
fn hostile_stacks_are_bounded_and_reported() {
    let long_alternation = "a|".repeat(20_000);
    let input = format!(
        r#"apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {{name: hostile}}
spec:
  name: hostile
  version: "1"
  dataOsAddressJqFilters: ["[limit(1e9; repeat(.))]"]
  stackSpecValueSchema:
    jsonSchema: '{{"type": "object", "properties": {{"s": {{"type": "string", "pattern": "^({long_alternation}b)+$"}}}}}}'
  workerConfig:
    configFileTemplate: '{{{{ define "x" }}}}{{{{ template "x" . }}}}{{{{ end }}}}{{{{ template "x" . }}}}'
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {{name: w, namespace: n1}}
spec:
  stack: hostile:1
  stackSpec: {{s: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!}}
"#
    );
    let run = stackhook(&["validate", "-"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("spec.dataOsAddressJqFilters[0]: `limit` is not allowed in address filters"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("exceeded the template call depth limit of 100")
            || run.stdout.contains("has invalid dataOsAddressJqFilters"),
        "{}",
        run.stdout
    );
}

#[test]
fn fields_the_crd_does_not_have_are_refused_as_kubectl_refuses_them() {
    let doc = "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: retail}\nspec:\n  stack: benthos:3.0\n  logLevle: DEBUG\n  stackSpec: {input: {http_server: {}}, anything: {goes: here}}\n";
    let run = stackhook(&["validate", "--catalog", "examples/catalog", "-"], doc);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "<stdin>:6:3: Worker retail/w: spec.logLevle: unknown field \"spec.logLevle\""
        ),
        "{}",
        run.stdout
    );
    let run = stackhook(
        &[
            "validate",
            "--catalog",
            "examples/catalog",
            "--strict=false",
            "-",
        ],
        doc,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("warning: Worker retail/w: spec.logLevle: unknown field \"spec.logLevle\""),
        "{}",
        run.stdout
    );
}

#[test]
fn a_service_whose_objects_the_api_server_would_refuse_is_invalid_at_its_fields() {
    let input = r#"apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: echo-1}
spec:
  name: echo
  version: "1"
  serviceConfig: {}
---
apiVersion: stackhook.io/v1alpha1
kind: Service
metadata:
  name: orders.api-v2
  namespace: apps
spec:
  stack: echo:1
"#;
    let run = stackhook(&["validate", "-"], input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "<stdin>:12:3: Service apps/orders.api-v2: metadata.name: the Service \"orders.api-v2\" would be refused by the API server: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')\n<stdin>:14:1: Service apps/orders.api-v2: spec.servicePort: a Service needs a port: set spec.servicePort or spec.servicePorts, or the Stack's ports.servicePort (a Kubernetes Service without ports is refused)\n1 valid, 1 invalid, 0 skipped\n"
    );
}

/// Friction seen by a new user (#28): what a command says when it was given nothing to
/// work with.
#[test]
fn no_input_no_catalog_and_a_missing_file_are_each_said_plainly() {
    // Empty stdin is no input, not "0 valid".
    let run = stackhook(&["validate", "-"], "");
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        run.stderr.trim(),
        "no input: <stdin> holds no YAML or JSON document"
    );
    // A missing file: one clear line, the cause said once.
    let run = stackhook(&["validate", "no-such-file.yaml"], "");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        run.stderr.trim(),
        "no-such-file.yaml: no such file or directory"
    );
    // mutate without a catalog says that no catalog was given.
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"retail","labels":{"stackhook.io/workload":"orders-stream"}},"spec":{"containers":[{"name":"a","image":"x"}]}}"#;
    let run = stackhook(&["mutate", "-"], pod);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "hint: no catalog was given (--catalog DIR): every workload, Stack and Depot is unknown"
        ),
        "{}",
        run.stderr
    );
}

/// Two documents whose problems come out of line order from the rules (the second
/// document's Stack is missing, the first's schema fails deeper down).
const TWO_WORKERS: &str = r#"apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: b, namespace: retail}
spec:
  stack: nope:1
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: d, namespace: retail}
spec: {type: ABFSS}
---
apiVersion: stackhook.io/v1alpha1
kind: Worker
metadata: {name: a, namespace: retail}
spec:
  stack: benthos
  stackSpec: {}
"#;

#[test]
fn text_problems_come_sorted_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let second = write(dir.path(), "b.yaml", TWO_WORKERS);
    let first = write(dir.path(), "a.yaml", TWO_WORKERS);
    // Given b before a: the report still reads a, then b, each top to bottom.
    let run = stackhook(
        &[
            "validate",
            "--catalog",
            &catalog(),
            second.to_str().unwrap(),
            first.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let places: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|l| l.split(": ").next())
        .filter(|p| p.contains(".yaml:"))
        .map(|p| p.rsplit('/').next().unwrap().to_owned())
        .collect();
    let mut sorted = places.clone();
    sorted.sort_by_key(|p| {
        let mut parts = p.split(':');
        let file = parts.next().unwrap().to_owned();
        let line: usize = parts.next().unwrap().parse().unwrap();
        let col: usize = parts.next().unwrap().parse().unwrap();
        (file, line, col)
    });
    assert_eq!(places, sorted, "{}", run.stdout);
    assert_eq!(places.first().map(String::as_str), Some("a.yaml:5:3"));
}

#[test]
fn tap_output_has_a_test_point_per_document_with_its_problems() {
    let run = stackhook(
        &["validate", "-o", "tap", "--catalog", &catalog(), "-"],
        TWO_WORKERS,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        r#"TAP version 13
1..3
not ok 1 - <stdin>:1:1: Worker retail/b
  ---
  problems:
  - "<stdin>:5:3: spec.stack: stack \"nope\" not found; known stacks: benthos, flare"
  ...
ok 2 - <stdin>:7:1: Depot retail/d
not ok 3 - <stdin>:12:1: Worker retail/a
  ---
  problems:
  - "<stdin>:17:3: spec.stackSpec: \"input\" is a required property"
  warnings:
  - "spec.stack: \"benthos\" is not pinned; using benthos:3.0 (pin a version)"
  ...
"#
    );
}

#[test]
fn summary_counts_each_outcome_per_kind_in_every_format() {
    let args = ["validate", "--summary", "--catalog", &catalog(), "-"];
    let run = stackhook(&args, TWO_WORKERS);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.ends_with(
            "1 valid, 2 invalid, 0 skipped\nSummary: 3 documents in 1 files: 1 valid, 2 invalid, 0 skipped\n  Depot: 1 valid, 0 invalid, 0 skipped\n  Worker: 0 valid, 2 invalid, 0 skipped\n"
        ),
        "{}",
        run.stdout
    );
    let run = stackhook(&[&args[..], &["-o", "json"]].concat(), TWO_WORKERS);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["documents"].as_array().unwrap().len(), 3);
    assert_eq!(report["summary"]["invalid"], 2);
    assert_eq!(report["summary"]["kinds"]["Worker"]["invalid"], 2);
    let run = stackhook(&[&args[..], &["-o", "tap"]].concat(), TWO_WORKERS);
    assert!(
        run.stdout
            .ends_with("# Summary: 3 documents in 1 files: 1 valid, 2 invalid, 0 skipped\n# \x20 Depot: 1 valid, 0 invalid, 0 skipped\n# \x20 Worker: 0 valid, 2 invalid, 0 skipped\n"),
        "{}",
        run.stdout
    );
    let run = stackhook(&[&args[..], &["-o", "junit"]].concat(), TWO_WORKERS);
    assert!(
        run.stdout
            .contains("<property name=\"Worker\" value=\"0 valid, 2 invalid, 0 skipped\"/>"),
        "{}",
        run.stdout
    );
}

#[test]
fn skip_leaves_kinds_unjudged_and_reject_refuses_them() {
    let run = stackhook(
        &[
            "validate",
            "--skip",
            "Worker",
            "--reject",
            "Depot",
            "--catalog",
            &catalog(),
            "-",
        ],
        TWO_WORKERS,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "<stdin>:7:1: Depot retail/d: kind Depot is rejected (--reject)\n0 valid, 1 invalid, 2 skipped\n"
    );
    // Skipped documents are test points of their own in TAP and JUnit.
    let run = stackhook(
        &[
            "validate",
            "--skip",
            "Worker,Depot",
            "-o",
            "tap",
            "--catalog",
            &catalog(),
            "-",
        ],
        TWO_WORKERS,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "ok 1 - <stdin>:1:1: Worker retail/b # SKIP kind Worker is skipped (--skip)\n"
        ),
        "{}",
        run.stdout
    );
    // One kind both skipped and rejected is a contradiction, said as such.
    let run = stackhook(
        &["validate", "--skip", "Depot", "--reject", "Depot", "-"],
        TWO_WORKERS,
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "--skip and --reject both name kind Depot: say which one"
    );
}

#[test]
fn a_schema_that_does_not_compile_names_the_place_inside_it() {
    let stack = r#"apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: echo-1}
spec:
  name: echo
  version: "1"
  stackSpecValueSchema:
    jsonSchema: '{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"port": {"minimum": "1"}}}'
  workerConfig: {}
"#;
    let run = stackhook(&["validate", "-"], stack);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "<stdin>:8:5: Stack echo-1: spec.stackSpecValueSchema.jsonSchema: schema does not compile at /properties/port/minimum: \"1\" is not of type \"number\"\n0 valid, 1 invalid, 0 skipped\n"
    );
}

#[test]
fn the_summary_counts_a_file_that_holds_only_skipped_documents() {
    let dir = tempfile::tempdir().unwrap();
    let workers = write(dir.path(), "workers.yaml", TWO_WORKERS);
    let config = write(
        dir.path(),
        "config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
    );
    let run = stackhook(
        &[
            "validate",
            "--summary",
            "--catalog",
            &catalog(),
            workers.to_str().unwrap(),
            config.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "Summary: 4 documents in 2 files: 1 valid, 2 invalid, 1 skipped\n  ConfigMap: 0 valid, 0 invalid, 1 skipped\n"
        ),
        "{}",
        run.stdout
    );
}
