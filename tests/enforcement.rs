//! Staged enforcement in the CLI (`validate`, `review` give the webhook's answer), and
//! the `review`/`mutate` frictions of #28: YAML reviews, the decoded patch, and a
//! controller's patch relative to the object given.

use goyaml::parse_documents;
use serde_json::{Value, json};

use crate::support::{stackhook, write};

/// A Stack in `mode` whose schema requires `input`, and a Worker of it without one.
fn catalog(mode: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "stack.yaml",
        &format!(
            r#"apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {{name: lenient-1}}
spec:
  name: lenient
  version: "1"
  enforcement: {mode}
  image: {{registry: r.io, repository: team, image: app, tag: "1"}}
  stackSpecValueSchema:
    jsonSchema: '{{"type": "object", "required": ["input"]}}'
  workerConfig:
    configFileTemplate: "app.yaml: ok"
"#
        ),
    );
    dir
}

const WORKER: &str = "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: retail}\nspec:\n  stack: lenient:1\n  stackSpec: {other: 1}\n";

#[test]
fn validate_shows_what_warn_and_audit_admit_and_exits_0() {
    for (mode, prefix) in [
        ("Warn", "would be denied under Enforce"),
        ("Audit", "audited, would be denied under Enforce"),
    ] {
        let dir = catalog(mode);
        let run = stackhook(
            &["validate", "--catalog", dir.path().to_str().unwrap(), "-"],
            WORKER,
        );
        assert_eq!(run.code, 0, "{mode}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            run.stdout,
            format!(
                "<stdin>:6:3: warning: Worker retail/w: {prefix}: spec.stackSpec: \"input\" is a required property\n1 valid, 0 invalid, 0 skipped\n"
            ),
            "{mode}"
        );
    }
    let dir = catalog("Enforce");
    let run = stackhook(
        &["validate", "--catalog", dir.path().to_str().unwrap(), "-"],
        WORKER,
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.starts_with(
            "<stdin>:6:3: Worker retail/w: spec.stackSpec: \"input\" is a required property\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_stack_with_an_unknown_mode_is_refused_naming_the_field() {
    let run = stackhook(
        &["validate", "-"],
        "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: s}\nspec: {name: s, version: \"1\", enforcement: Deny}\n",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "spec.enforcement: unknown variant `Deny`, expected one of `Audit`, `Warn`, `Enforce`"
        ),
        "{}",
        run.stdout
    );
}

fn worker_review() -> Value {
    let worker = parse_documents(WORKER).unwrap().remove(0).value;
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u1", "kind": {"group": "stackhook.io", "version": "v1alpha1", "kind": "Worker"},
            "resource": {"group": "stackhook.io", "version": "v1alpha1", "resource": "workers"},
            "namespace": "retail", "operation": "CREATE", "object": worker}
    })
}

#[test]
fn review_answers_warn_as_the_webhook_does_from_yaml_too() {
    let dir = catalog("Warn");
    let catalog = dir.path().to_str().unwrap();
    let json_run = stackhook(
        &["review", "--catalog", catalog, "-"],
        &worker_review().to_string(),
    );
    assert_eq!(json_run.code, 0, "{}", json_run.stderr);
    let response: Value = serde_json::from_str(&json_run.stdout).unwrap();
    assert_eq!(response["response"]["allowed"], true);
    assert_eq!(
        response["response"]["warnings"],
        json!(["would be denied under Enforce: spec.stackSpec: \"input\" is a required property"])
    );
    // The same review as YAML: the same answer.
    let yaml = serde_saphyr::to_string(&worker_review()).unwrap();
    let yaml_run = stackhook(&["review", "--catalog", catalog, "-"], &yaml);
    assert_eq!(yaml_run.code, 0, "{}", yaml_run.stderr);
    assert_eq!(yaml_run.stdout, json_run.stdout);
}

#[test]
fn review_of_unusable_yaml_says_where_and_exits_2() {
    let run = stackhook(&["review", "-"], "apiVersion: [x\n");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:2:1: while parsing a flow sequence, expected ',' or ']'\n"
    );
    let run = stackhook(&["review", "-"], "a: 1\n---\nb: 2\n");
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>: expected one AdmissionReview, found 2 YAML documents\n"
    );
}

#[test]
fn review_prints_the_decoded_patch_on_request() {
    let args = [
        "review",
        "tests/fixtures/reviews/deployment-pod.json",
        "--catalog",
        "examples/catalog",
    ];
    let plain: Value = serde_json::from_str(&stackhook(&args, "").stdout).unwrap();
    let encoded = plain["response"]["patch"].as_str().unwrap();
    use base64::Engine as _;
    let expected: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    let run = stackhook(&[&args[..], &["--decode-patch"]].concat(), "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let decoded: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(decoded["response"]["patch"], expected);
    assert_eq!(decoded["response"]["patch"][0]["op"], "add");
    assert_eq!(decoded["response"]["patchType"], "JSONPatch");
}

/// A controller of `kind` whose pods are the example Worker's, as `kubectl create`
/// writes it.
fn controller(kind: &str) -> Value {
    let template = json!({
        "metadata": {"labels": {"app": "o", "stackhook.io/workload": "orders-stream"}},
        "spec": {"containers": [{"name": "app", "image": "x"}], "restartPolicy": "OnFailure"}
    });
    let (api_version, spec) = match kind {
        "Job" => ("batch/v1", json!({"template": template})),
        "CronJob" => (
            "batch/v1",
            json!({"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}),
        ),
        _ => (
            "apps/v1",
            json!({"selector": {"matchLabels": {"app": "o"}}, "template": template}),
        ),
    };
    json!({"apiVersion": api_version, "kind": kind,
        "metadata": {"name": "orders-stream", "namespace": "retail"}, "spec": spec})
}

#[test]
fn mutate_patch_applies_to_the_controller_given_and_equals_its_mutated_print() {
    for (kind, template) in [
        ("Deployment", "/spec/template"),
        ("StatefulSet", "/spec/template"),
        ("DaemonSet", "/spec/template"),
        ("ReplicaSet", "/spec/template"),
        ("Job", "/spec/template"),
        ("CronJob", "/spec/jobTemplate/spec/template"),
    ] {
        let object = controller(kind);
        let run = stackhook(
            &["mutate", "--patch", "--catalog", "examples/catalog"],
            &object.to_string(),
        );
        assert_eq!(run.code, 0, "{kind}: {}", run.stderr);
        let ops: Value = serde_json::from_str(&run.stdout).unwrap();
        for op in ops.as_array().unwrap() {
            let path = op["path"].as_str().unwrap();
            assert!(path.starts_with(&format!("{template}/")), "{kind}: {path}");
        }
        let patch: json_patch::Patch = serde_json::from_value(ops).unwrap();
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &patch).unwrap();
        let init = patched
            .pointer(&format!("{template}/spec/initContainers/0/name"))
            .cloned();
        assert_eq!(init, Some(json!("stackhook-project")), "{kind}");

        // Without --patch: the object given, mutated (what the patch makes of it).
        let run = stackhook(
            &["mutate", "--catalog", "examples/catalog"],
            &object.to_string(),
        );
        assert_eq!(run.code, 0, "{kind}: {}", run.stderr);
        let printed = parse_documents(&run.stdout).unwrap().remove(0).value;
        assert_eq!(printed, patched, "{kind}");
    }
}

#[test]
fn mutate_of_a_pod_keeps_pod_paths() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "retail", "labels": {"stackhook.io/workload": "orders-stream"}},
        "spec": {"containers": [{"name": "app", "image": "x"}]}});
    let run = stackhook(
        &["mutate", "--patch", "--catalog", "examples/catalog"],
        &pod.to_string(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ops: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ops[0]["path"], "/metadata/annotations");
}

#[test]
fn render_makes_the_objects_of_an_audited_workload_and_names_its_violations() {
    let dir = catalog("Audit");
    let run = stackhook(
        &["render", "--catalog", dir.path().to_str().unwrap(), "-"],
        WORKER,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "Worker retail/w: warning: admitted under Audit, would be denied under Enforce: spec.stackSpec: \"input\" is a required property\n"
    );
    let kinds: Vec<Value> = parse_documents(&run.stdout)
        .unwrap()
        .into_iter()
        .map(|d| d.value["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("ConfigMap"), json!("Deployment")]);
    // Under Enforce: nothing, and why.
    let dir = catalog("Enforce");
    let run = stackhook(
        &["render", "--catalog", dir.path().to_str().unwrap(), "-"],
        WORKER,
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "Worker retail/w: spec.stackSpec: \"input\" is a required property\n"
    );
}
