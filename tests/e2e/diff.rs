//! `stackhook diff --kube` against the real API server: the catalog listed from the
//! cluster (read-only), a stricter Stack in a file, and the workloads it would deny.

use std::process::Command;

use serde_json::{Value, json};

use super::harness::{cluster, run};

#[test]
fn diff_kube_lists_the_workloads_a_stricter_stack_would_deny() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-diff");
    // A Stack family of this test's own, so that no other test's workloads use it.
    let family = format!("e2e-diff-{}", std::process::id());
    let mut stack = c.documents("examples/catalog/stack-benthos.yaml", None)[0].clone();
    stack["metadata"]["name"] = json!(family);
    stack["spec"]["name"] = json!(family);
    c.apply_json(&stack);
    let reference = format!("{family}:3.0");
    for (name, spec) in [
        (
            "with-output",
            json!({"input": {"http_server": {}}, "output": {"stdout": {}}}),
        ),
        ("without-output", json!({"input": {"http_server": {}}})),
    ] {
        c.apply_json(&json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"stack": reference, "stackSpec": spec}
        }));
    }
    let generation = |c: &super::harness::Cluster| {
        c.get("stack", None, &family).expect("the Stack")["metadata"]["generation"].clone()
    };
    let before = generation(c);

    // The same Stack with `output` required too, as a file.
    let mut stricter = stack.clone();
    let schema = stricter["spec"]["stackSpecValueSchema"]["jsonSchema"]
        .as_str()
        .expect("the schema")
        .replace(
            r#""required":["input"]"#,
            r#""required":["input","output"]"#,
        );
    stricter["spec"]["stackSpecValueSchema"]["jsonSchema"] = json!(schema);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("stricter.json");
    std::fs::write(&file, stricter.to_string()).expect("write the Stack");

    let diff = run(
        Command::new(env!("CARGO_BIN_EXE_stackhook"))
            .args(["diff", "--kube", "-o", "json"])
            .arg(&file)
            .env("KUBECONFIG", &c.kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST"),
        "",
    );
    assert_eq!(diff.code, 1, "{}{}", diff.stdout, diff.stderr);
    let report: Value = serde_json::from_str(&diff.stdout).expect("JSON");
    let workloads = report["workloads"].as_array().expect("workloads");
    // Exactly the two users of the family are touched, one of them denied.
    let mut names: Vec<(&str, &str, bool)> = workloads
        .iter()
        .map(|w| {
            (
                w["namespace"].as_str().unwrap_or_default(),
                w["name"].as_str().unwrap_or_default(),
                w["newlyDenied"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            (ns.as_str(), "with-output", false),
            (ns.as_str(), "without-output", true)
        ]
    );
    assert_eq!(report["wouldBeDenied"], 1);
    let denied = workloads
        .iter()
        .find(|w| w["name"] == "without-output")
        .expect("without-output");
    assert_eq!(
        denied["after"]["causes"],
        json!([{"path": "spec.stackSpec", "message": "\"output\" is a required property"}])
    );
    // The one still allowed gets a new Stamp: the Stack's next generation.
    let kept = workloads
        .iter()
        .find(|w| w["name"] == "with-output")
        .expect("with-output");
    assert_eq!(kept["after"]["allowed"], true);
    assert_ne!(kept["before"]["stamps"], kept["after"]["stamps"]);

    // The fix in the same file, the Worker naming no namespace: it is placed in the
    // kubeconfig context's, as `kubectl apply` would place it, and nothing is denied.
    let kubeconfig = dir.path().join("in-namespace.kubeconfig");
    std::fs::copy(&c.kubeconfig, &kubeconfig).expect("copy the kubeconfig");
    c.kubectl_with(
        &kubeconfig,
        &["config", "set-context", "--current", "--namespace", &ns],
        "",
    );
    let fixed = json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": "without-output"},
        "spec": {"stack": reference, "stackSpec": {"input": {"http_server": {}}, "output": {"stdout": {}}}}
    });
    std::fs::write(&file, format!("{stricter}\n---\n{fixed}\n")).expect("write the file");
    let diff = run(
        Command::new(env!("CARGO_BIN_EXE_stackhook"))
            .args(["diff", "--kube", "-o", "json"])
            .arg(&file)
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST"),
        "",
    );
    assert_eq!(diff.code, 0, "{}{}", diff.stdout, diff.stderr);
    let report: Value = serde_json::from_str(&diff.stdout).expect("JSON");
    assert_eq!(report["wouldBeDenied"], 0);
    let fixed = report["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["name"] == "without-output")
        .expect("without-output");
    assert_eq!(fixed["namespace"], json!(ns));
    assert_eq!(fixed["inFile"], true);
    assert_eq!(fixed["after"]["allowed"], true);

    // Read-only: the cluster's Stack is as it was.
    assert_eq!(generation(c), before);
    for name in ["with-output", "without-output"] {
        c.kubectl_ok(&["delete", "worker", name, "-n", &ns], "");
    }
    c.kubectl_ok(&["delete", "stack", &family], "");
}
