//! `stackhook convert`: DataOS-native manifests to CRD form, and its bad inputs.

use goyaml::parse_documents;
use serde_json::Value;

use crate::support::{repo, stackhook, write};

fn docs(yaml: &str) -> Vec<Value> {
    parse_documents(yaml)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

#[test]
fn converts_the_seed_benthos_stack_keeping_every_field() {
    let path = repo("examples/native/benthos-stack.yaml");
    let original = &docs(&std::fs::read_to_string(&path).unwrap())[0];
    let run = stackhook(&["convert", path.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let converted = &docs(&run.stdout)[0];

    assert_eq!(converted["apiVersion"], "stackhook.io/v1alpha1");
    assert_eq!(converted["kind"], "Stack");
    assert_eq!(converted["metadata"]["name"], "benthos-new");
    assert_eq!(converted["metadata"].get("namespace"), None);
    let annotations = &converted["metadata"]["annotations"];
    assert_eq!(annotations["stackhook.io/owner"], "iamgroot");
    assert_eq!(
        annotations["stackhook.io/tags"],
        "dataos:type:resource,dataos:resource:stack"
    );

    let section = original["stack"].as_object().unwrap();
    let spec = converted["spec"].as_object().unwrap();
    for (key, value) in section {
        let got = &spec[key];
        if key == "reconciler" {
            // Read in any case, written in its canonical spelling.
            assert_eq!(got, "StackManager");
        } else {
            assert_eq!(got, value, "spec.{key} differs");
        }
    }
    // The JSON Schema string, byte for byte.
    assert_eq!(
        spec["stackSpecValueSchema"]["jsonSchema"],
        section["stackSpecValueSchema"]["jsonSchema"]
    );
}

#[test]
fn converts_the_native_examples() {
    let run = stackhook(&["convert", "examples/native"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    // `layer` has no CRD field: converting says so, at its own line.
    assert_eq!(
        run.stderr,
        "examples/native/icebase-depot.yaml:7:1: warning: Depot retail/icebase: `layer` left out: the CRD form has no place for it\n"
    );
}

#[test]
fn converts_from_stdin_and_passes_other_documents_through() {
    let input = "name: w\ntype: worker\nworkspace: ns\nworker:\n  stack: benthos:3.0\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = docs(&run.stdout);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["kind"], "Worker");
    assert_eq!(out[0]["metadata"]["namespace"], "ns");
    assert_eq!(out[0]["spec"]["stack"], "benthos:3.0");
    assert_eq!(out[1]["kind"], "ConfigMap");
    let run = stackhook(&["convert", "-"], input);
    assert_eq!(run.code, 0);
}

#[test]
fn unparseable_yaml_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.yaml",
        "name: w\ntype: worker\nworker:\n  stack: [benthos\n",
    );
    let run = stackhook(&["convert", path.to_str().unwrap()], "");
    assert_eq!(run.code, 2);
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("{}:5:1: ", path.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn unparseable_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.json",
        "{\n  \"kind\": \"Worker\",\n  \"spec\": {,}\n}\n",
    );
    let run = stackhook(&["convert", path.to_str().unwrap()], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(&format!("{}:3:", path.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn wrong_api_version_is_an_error_naming_the_value() {
    let input =
        "apiVersion: stackhook.io/v1\nkind: Worker\nmetadata:\n  name: w\nspec:\n  stack: a:1\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:1:1: Worker: unsupported apiVersion \"stackhook.io/v1\" (expected \"stackhook.io/v1alpha1\")\n"
    );
}

#[test]
fn malformed_stack_references_are_errors_at_their_field() {
    for (reference, message) in [
        (
            "benthos:",
            r#"stack reference "benthos:" has an empty version after ":""#,
        ),
        (
            ":3.0",
            r#"stack reference ":3.0" has no name before ':' (expected name[+flavor][:version])"#,
        ),
        (
            "a+:1",
            r#"stack reference "a+:1" has an empty flavor after "+""#,
        ),
    ] {
        let input = format!(
            "name: w\ntype: worker\nworkspace: ns\nworker:\n  replicas: 1\n  stack: \"{reference}\"\n"
        );
        let run = stackhook(&["convert"], &input);
        assert_eq!(run.code, 2, "{reference}");
        assert_eq!(
            run.stderr,
            format!("<stdin>:6:3: Worker ns/w: spec.stack: {message}\n")
        );
    }
}

#[test]
fn malformed_addresses_are_errors_at_their_field() {
    let input = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata:\n  name: soda\nspec:\n  name: soda\n  version: \"1.0\"\n  environmentVars:\n    RESOURCE_DIR_PATH: /etc/dataos/resources\n    PULSAR_TOPIC_ADDRESS: dataos://Bad_Depot:x\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:10:5: Stack soda: spec.environmentVars.PULSAR_TOPIC_ADDRESS: address \"dataos://Bad_Depot:x\": depot \"Bad_Depot\" has invalid character 'B' at offset 9 (allowed: a-z, 0-9, -)\n"
    );
    let input = "name: w\ntype: worker\nworker:\n  stack: a:1\n  envs:\n    IN: \"dataos://\"\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:6:5: Worker public/w: spec.envs.IN: address \"dataos://\" has no depot name after \"dataos://\"\n"
    );
}

#[test]
fn a_workload_without_a_workspace_goes_to_public_as_dataos_ctl_applies_it() {
    let run = stackhook(
        &["convert"],
        "name: w\ntype: worker\nworker:\n  stack: a:1\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("  namespace: public\n"),
        "{}",
        run.stdout
    );
    let run = stackhook(
        &["convert"],
        "name: w\nworkspace: retail\ntype: worker\nworker:\n  stack: a:1\n",
    );
    assert!(
        run.stdout.contains("  namespace: retail\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn type_errors_point_at_the_field() {
    let input = "apiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata:\n  name: d\n  namespace: ns\nspec:\n  type: S3\n  secrets:\n    - name: s3\n      acl: write\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:10:7: Depot ns/d: spec.secrets[0].acl: unknown variant `write`, expected `r` or `rw`\n"
    );
}

#[test]
fn a_missing_file_is_an_error() {
    let run = stackhook(&["convert", "no/such/file.yaml"], "");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: no/such/file.yaml: no such file or directory: No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_native_document_without_its_section_is_an_error() {
    let run = stackhook(&["convert"], "name: w\ntype: worker\n");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:1:1: DataOS worker manifest \"w\" has no `worker:` section (nor a v2alpha `spec:`)\n"
    );
}

#[test]
fn a_v2alpha_depot_converts_with_its_details_and_inferred_acls() {
    // The shape of the DataOS documentation's v2alpha PostgreSQL Depot template.
    let input = "name: postgresdepot\nversion: v2alpha\ntype: depot\nlayer: user\ndepot:\n  type: POSTGRESQL\n  description: orders database\n  external: true\n  secrets:\n    - name: postgresdepot-r\n      keys:\n        - postgresdepot-r\n    - name: postgresdepot-rw\n      allkeys: true\n  postgresql:\n    subprotocol: postgresql\n    host: db.example.com\n    port: 5432\n    database: orders\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let spec = "  external: true\n  secrets:\n  - acl: r\n    name: postgresdepot-r\n  - acl: rw\n    name: postgresdepot-rw\n  spec:\n    database: orders\n    host: db.example.com\n    port: 5432\n    subprotocol: postgresql\n  type: POSTGRESQL";
    assert!(run.stdout.contains(spec), "{spec}\n---\n{}", run.stdout);
    for warning in [
        "warning: Depot public/postgresdepot: depot.secrets[0] has no acl; r from the instance-secret's name \"postgresdepot-r\"",
        "warning: Depot public/postgresdepot: depot.secrets[1] has no acl; rw from the instance-secret's name \"postgresdepot-rw\"",
        "warning: Depot public/postgresdepot: `depot.secrets[0].keys` left out: every key of the Secret is projected",
    ] {
        assert!(
            run.stderr.contains(warning),
            "{warning}\n---\n{}",
            run.stderr
        );
    }
}

const STEP_WORKFLOW: &str = "version: v1\nname: {name}\ntype: workflow\nworkflow:\n  dag:\n";

fn workflow_file(name: &str, steps: &str) -> String {
    STEP_WORKFLOW.replace("{name}", name) + steps
}

#[test]
fn inlines_the_workflows_that_file_steps_name() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "parts/ingest.yaml",
        &workflow_file(
            "ingest",
            "    - name: a\n      spec: {stack: flare:7.0, stackSpec: {job: 1}}\n    - name: b\n      dependencies: [a]\n      spec: {stack: flare:7.0, stackSpec: {job: 2}}\n",
        ),
    );
    write(
        dir.path(),
        "parts/profile.yaml",
        &workflow_file(
            "profile",
            "    - name: p\n      spec: {stack: flare:7.0, stackSpec: {job: 3}}\n",
        ),
    );
    let main = write(
        dir.path(),
        "super.yaml",
        "version: v1\nname: super\ntype: workflow\nworkspace: ns\nworkflow:\n  dag:\n    - name: ingest\n      file: parts/ingest.yaml\n    - name: profile\n      file: parts/profile.yaml\n      dependencies: [ingest]\n    - name: report\n      dependencies: [profile]\n      spec: {stack: flare:7.0, stackSpec: {job: 4}}\n",
    );
    let run = stackhook(&["convert", main.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let converted = &docs(&run.stdout)[0];
    let steps: Vec<(String, Value)> = converted["spec"]["dag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s.get("dependencies").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("ingest-a".into(), Value::Null),
            ("ingest-b".into(), serde_json::json!(["ingest-a"])),
            ("profile".into(), serde_json::json!(["ingest-b"])),
            ("report".into(), serde_json::json!(["profile"])),
        ]
    );
    assert_eq!(converted["spec"]["dag"][2]["stackSpec"]["job"], 3);

    // A file that is not there is an error at the node's `file` line.
    let missing = write(
        dir.path(),
        "broken.yaml",
        "version: v1\nname: broken\ntype: workflow\nworkflow:\n  dag:\n    - name: x\n      file: parts/nope.yaml\n",
    );
    let run = stackhook(&["convert", missing.to_str().unwrap()], "");
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "{}:7:7: workflow.dag[0].file: parts/nope.yaml: no such file",
            missing.display()
        )
    );

    // A file of several documents is refused, not read as its first.
    let two = write(
        dir.path(),
        "parts/two.yaml",
        &format!(
            "{}---\n{}",
            workflow_file("one", "    - name: a\n      spec: {stack: flare:7.0}\n"),
            workflow_file("two", "    - name: b\n      spec: {stack: flare:7.0}\n")
        ),
    );
    let main = write(
        dir.path(),
        "two-docs.yaml",
        "version: v1\nname: two-docs\ntype: workflow\nworkflow:\n  dag:\n    - name: x\n      file: parts/two.yaml\n",
    );
    let run = stackhook(&["convert", main.to_str().unwrap()], "");
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "{}:7:7: workflow.dag[0].file: parts/two.yaml: {} holds 2 YAML documents; a step's file must hold one",
            main.display(),
            two.display()
        )
    );
}

#[test]
fn a_problem_in_a_file_step_is_reported_where_that_file_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "parts/ingest.yaml",
        &workflow_file(
            "ingest",
            "    - name: a\n      spec:\n        stack: nosuch:1.0\n",
        ),
    );
    let main = write(
        dir.path(),
        "super.yaml",
        "version: v1\nname: super\ntype: workflow\nworkspace: ns\nworkflow:\n  dag:\n    - name: ingest\n      file: parts/ingest.yaml\n    - name: report\n      dependencies: [ingest]\n      spec: {stack: alsonot:1.0}\n",
    );
    let run = stackhook(&["validate", main.to_str().unwrap()], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let part = dir.path().join("parts/ingest.yaml");
    assert_eq!(
        run.stdout,
        format!(
            "{}:8:9: Workflow ns/super: spec.dag[0].stack: stack \"nosuch\" not found; the catalog has no Stacks\n{}:11:14: Workflow ns/super: spec.dag[1].stack: stack \"alsonot\" not found; the catalog has no Stacks\n0 valid, 1 invalid, 0 skipped\n",
            part.display(),
            main.display()
        )
    );
}
