//! DataOS manifests as users' repositories hold them (issue #27): Depots and
//! workloads without a workspace, scheduled DAGs, secrets, other DataOS types.

use goyaml::parse_documents;
use serde_json::Value;

use crate::support::{stackhook, write};

const STACK: &str = r#"name: tool-v1
version: v1alpha
type: stack
stack:
  name: tool
  version: "1.0"
  reconciler: stackManager
  dataOsAddressJqFilters: [".inputs[]"]
  image: {registry: docker.io, repository: team, image: tool, tag: "1"}
  command: [run]
  workflowJobConfig:
    configFileTemplate: |
      job.yaml: |
        inputs: {{ len .ApplicationSpec.StackSpec.inputs }}
"#;

const DEPOT: &str = r#"name: lake
version: v1
type: depot
layer: user
depot:
  type: S3
  spec: {bucket: lake-bucket}
  connectionSecret:
    - acl: rw
      type: key-value-properties
      data: {accesskeyid: AKIA-not-shown}
      files: {gcskey_json: ./secrets/key.json}
"#;

const WORKFLOW: &str = r#"name: nightly
version: v1
type: workflow
workflow:
  schedule:
    cron: "0 2 * * *"
    concurrencyPolicy: Forbid
    timezone: Asia/Kolkata
  dag:
    - name: ingest
      spec:
        stack: tool:1.0
        stackSpec: {inputs: ["dataos://lake:raw/orders?purpose=rw"]}
    - name: publish
      dependencies: [ingest]
      spec:
        stack: tool:1.0
        stackSpec: {inputs: ["dataos://lake:raw/orders"]}
"#;

fn docs(text: &str) -> Vec<Value> {
    parse_documents(text)
        .unwrap()
        .into_iter()
        .map(|d| d.value)
        .collect()
}

/// A repository of the Stack, a Depot and a Workflow, as files in a folder.
fn repository(depot: &str, workflow: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stack.yml", STACK);
    write(dir.path(), "depot.yml", depot);
    write(dir.path(), "workflow.yml", workflow);
    dir
}

#[test]
fn a_repositorys_depot_and_scheduled_workflow_without_workspaces_meet() {
    let dir = repository(DEPOT, WORKFLOW);
    let wf = dir.path().join("workflow.yml");
    let catalog = dir.path().to_str().unwrap();

    let run = stackhook(&["validate", catalog], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with("3 valid, 0 invalid, 0 skipped\n"),
        "{}",
        run.stdout
    );

    let run = stackhook(&["render", "--catalog", catalog, wf.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = docs(&run.stdout);
    let kinds: Vec<String> = out
        .iter()
        .filter(|d| d["kind"] != "ConfigMap")
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(kinds, ["CronJob/nightly-ingest", "Job/nightly-publish"]);
    let cron = out.iter().find(|d| d["kind"] == "CronJob").unwrap();
    assert_eq!(cron["spec"]["schedule"], "0 2 * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(cron["spec"]["timeZone"], "Asia/Kolkata");
    let job = out.iter().find(|d| d["kind"] == "Job").unwrap();
    assert_eq!(
        job["metadata"]["annotations"]["stackhook.io/after"],
        "ingest"
    );
    assert_eq!(
        job["metadata"]["annotations"]["stackhook.io/scheduled-by"],
        "nightly-ingest"
    );

    // The Depot lands where the Workflow does; its inline credentials and file keys
    // are kept, the values never shown.
    let run = stackhook(
        &["convert", dir.path().join("depot.yml").to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = docs(&run.stdout);
    assert_eq!(out[0]["metadata"]["namespace"], "public");
    assert_eq!(
        out[0]["spec"]["secrets"],
        serde_json::json!([{"name": "lake-rw", "acl": "rw", "files": ["gcskey_json"]}])
    );
    assert_eq!(out[1]["kind"], "Secret");
    assert_eq!(out[1]["metadata"]["namespace"], "public");
    assert!(!run.stderr.contains("AKIA"), "{}", run.stderr);
    // The warning is at the entry's line, not the document's first.
    assert!(
        run.stderr.contains(
            "depot.yml:12:7: warning: Depot public/lake: `depot.connectionSecret[0].files"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_depot_missing_from_the_workloads_namespace_is_reported_where_it_was_looked_for() {
    let dir = repository(&DEPOT.replace("layer: user", "workspace: data"), WORKFLOW);
    let run = stackhook(&["validate", dir.path().to_str().unwrap()], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "address \"dataos://lake:raw/orders?purpose=rw\": depot \"lake\" not found in namespace \"public\""
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_addresses_are_named_for_what_is_wrong() {
    let dir = repository(
        DEPOT,
        &WORKFLOW.replace("?purpose=rw", "?purpose=write").replace(
            "\"dataos://lake:raw/orders\"]",
            "\"dataos://lake:raw/a,dataos://lake:raw/b\", \"dataos://lake:raw/c?format=csv\"]",
        ),
    );
    let run = stackhook(&["validate", dir.path().to_str().unwrap()], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    for message in [
        "address \"dataos://lake:raw/orders?purpose=write\": purpose \"write\" is not r or rw",
        "address \"dataos://lake:raw/a,dataos://lake:raw/b\" holds a second address at offset 20: write one address per field",
        "address \"dataos://lake:raw/c?format=csv\": unknown parameter \"format\" (known: acl, purpose)",
    ] {
        assert!(
            run.stdout.contains(message),
            "{message}\n---\n{}",
            run.stdout
        );
    }
}

#[test]
fn dataos_secrets_convert_and_other_types_are_named() {
    let input = "name: lake-r\nversion: v1\ntype: instance-secret\nlayer: user\ninstance-secret:\n  type: key-value-properties\n  acl: r\n  data:\n    accesskeyid: AKIA-not-shown\n    secretkey: ${{s3-secret}}\n---\nname: sales\nversion: v1beta\ntype: bundle\nbundle:\n  resources: []\n---\nname: orders\nversion: v1alpha\ntype: lens\nlens: {}\n";
    let run = stackhook(&["convert"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = docs(&run.stdout);
    assert_eq!(out[0]["kind"], "Secret");
    assert_eq!(out[0]["metadata"]["name"], "lake-r");
    assert_eq!(out[1]["type"], "bundle");
    assert!(!run.stderr.contains("AKIA"), "{}", run.stderr);
    for warning in [
        "<stdin>:10:5: warning: Secret public/lake-r: instance-secret.data.secretkey is a ${…} placeholder, not a value; fill it in before applying",
        "<stdin>:12:1: warning: DataOS bundle sales: stackhook does not handle DataOS bundle resources; passed through unchanged",
        "<stdin>:18:1: warning: DataOS lens orders: stackhook does not handle DataOS lens resources; passed through unchanged",
    ] {
        assert!(
            run.stderr.contains(warning),
            "{warning}\n---\n{}",
            run.stderr
        );
    }
    let run = stackhook(&["validate", "-"], input);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "<stdin>:12:1: skipped: sales DataOS bundle (stackhook does not handle DataOS bundle resources)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("0 valid, 0 invalid, 3 skipped\n"),
        "{}",
        run.stdout
    );
    // The same reason in the machine-read formats.
    let run = stackhook(&["validate", "-", "-o", "json"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let bundle = report
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "sales")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert_eq!(
        bundle["skipped"],
        "DataOS bundle (stackhook does not handle DataOS bundle resources)"
    );
    assert_eq!(bundle["line"], 12);
    let run = stackhook(&["validate", "-", "-o", "junit"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "<testcase classname=\"&lt;stdin&gt;\" name=\"sales\">\n      <skipped message=\"DataOS bundle (stackhook does not handle DataOS bundle resources)\"/>"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn one_broken_file_of_the_catalog_is_a_problem_of_its_own() {
    let dir = repository(DEPOT, WORKFLOW);
    write(
        dir.path(),
        "broken.yml",
        "name: x\ntype: worker\nworker: [1\n",
    );
    let catalog = dir.path().to_str().unwrap();
    let run = stackhook(&["validate", catalog], "");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with("3 valid, 0 invalid, 0 skipped\n"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("broken.yml:"), "{}", run.stderr);
    let run = stackhook(&["render", "--catalog", catalog], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("kind: CronJob"), "{}", run.stdout);
    assert!(run.stderr.contains("broken.yml:"), "{}", run.stderr);
    // mutate (and review) answer from what could be read, and exit 1 all the same.
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "public",
        "labels": {"stackhook.io/workload": "nightly", "stackhook.io/workload-kind": "Workflow",
                   "stackhook.io/step": "ingest"}},
        "spec": {"containers": [{"name": "main", "image": "x"}]}}"#;
    let run = stackhook(&["mutate", "-", "--catalog", catalog], pod);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("stackhook-project"), "{}", run.stdout);
    assert!(run.stderr.contains("broken.yml:"), "{}", run.stderr);
}

#[test]
fn a_native_document_that_does_not_convert_is_named_as_written() {
    let run = stackhook(
        &["validate", "-"],
        "name: orders\nversion: v1\ntype: workflow\nworkspace: sales\nworkflow:\n  dag: {}\n",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("<stdin>:1:1: DataOS workflow sales/orders: "),
        "{}",
        run.stdout
    );
}

#[test]
fn a_v2alpha_stack_and_a_dataos_2_depot_serve_a_workload() {
    let dir = tempfile::tempdir().unwrap();
    let stack = STACK
        .replace("version: v1alpha\ntype: stack\nstack:", "version: v2alpha\ntype: stack\nspec:")
        .replace(
            "  reconciler: stackManager\n",
            "  reconciler: stackManager\n  projection: {type: envVars}\n  executionModes: [workflow]\n  secretJqFilters: [\".secrets[]\"]\n",
        );
    write(dir.path(), "stack.yml", &stack);
    write(
        dir.path(),
        "depot.yml",
        "name: lake\nversion: v2alpha\ntype: depot\nspec:\n  type: lakehouse\n  secrets:\n    - {id: lake-rw, purpose: rw}\n",
    );
    write(dir.path(), "workflow.yml", WORKFLOW);
    let catalog = dir.path().to_str().unwrap();
    let run = stackhook(&["validate", catalog], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with("3 valid, 0 invalid, 0 skipped\n"),
        "{}",
        run.stdout
    );
    let run = stackhook(
        &["convert", dir.path().join("stack.yml").to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("secretProjection:\n    type: envVars"),
        "{}",
        run.stdout
    );
    for warning in [
        "stack.yml:9:3: warning: Stack tool-v1: `spec.executionModes` left out: the kinds a Stack serves are its workerConfig, serviceConfig, workflowJobConfig",
        "stack.yml:10:3: warning: Stack tool-v1: `spec.secretJqFilters` left out: secrets come from the Depots addresses name",
        "stack.yml:8:3: warning: Stack tool-v1: spec.projection is v2alpha's secretProjection; read as it",
    ] {
        assert!(
            run.stderr.contains(warning),
            "{warning}\n---\n{}",
            run.stderr
        );
    }
    let run = stackhook(&["render", "--catalog", catalog], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("kind: CronJob"), "{}", run.stdout);
}
