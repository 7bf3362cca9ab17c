//! Staged enforcement through the real API server: a Stack in `Warn` mode lets a
//! non-conforming Worker in with kubectl printing each violation, a namespace's
//! `stackhook-config` overrides it, and a Worker admitted under `Audit` gets its
//! `Validated` condition and an Event from the controller while its Deployment is made.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{CONTROLLER_NAMESPACES, Cluster, cluster, eventually};

/// A Stack of its own (cluster-scoped, so named per test) in `mode`, whose schema
/// requires `input` and types `inputs`.
fn stack(c: &Cluster, name: &str, mode: &str) {
    c.apply_json(&json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
        "metadata": {"name": format!("{name}-1")},
        "spec": {
            "name": name, "version": "1", "enforcement": mode,
            "image": {"registry": "docker.io", "repository": "library", "image": "busybox", "tag": "1.36"},
            "stackSpecValueSchema": {"jsonSchema": r#"{"type":"object","required":["input"],"properties":{"input":{"type":"object"},"inputs":{"type":"array"}}}"#},
            "workerConfig": {"configFileTemplate": "app.yaml: |\n  inputs: {{ toJson .ApplicationSpec.StackSpec.inputs }}\n"}
        }
    }));
}

fn worker(ns: &str, name: &str, stack: &str) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"stack": format!("{stack}:1"), "replicas": 1, "stackSpec": {"inputs": "x"}}
    })
}

/// kubectl's `Warning:` lines.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Warning: "))
        .collect()
}

#[test]
fn a_stack_in_warn_mode_lets_a_non_conforming_worker_in_with_kubectl_warnings() {
    let Some(c) = cluster() else { return };
    stack(c, "e2e-warn", "Warn");
    let ns = c.namespace("e2e-warn");
    // The Stack reaches the webhook's catalog through its watch.
    let run = eventually(
        Duration::from_secs(30),
        "the Warn Stack in the catalog",
        || {
            let run = c.kubectl(
                &["apply", "-f", "-"],
                &worker(&ns, "lenient", "e2e-warn").to_string(),
            );
            (run.code == 0).then_some(run)
        },
    );
    assert_eq!(
        warnings(&run.stderr),
        [
            "would be denied under Enforce: spec.stackSpec: \"input\" is a required property",
            "would be denied under Enforce: spec.stackSpec.inputs: \"x\" is not of type \"array\"",
        ],
        "{}",
        run.stderr
    );
    assert!(c.get("worker", Some(&ns), "lenient").is_some());

    // The namespace enforces what the Stack only warns about.
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "stackhook-config", "namespace": ns},
        "data": {"default": "enforcement: Enforce\n"}
    }));
    let run = eventually(
        Duration::from_secs(30),
        "the namespace's stackhook-config in the catalog",
        || {
            let run = c.kubectl(
                &["apply", "-f", "-"],
                &worker(&ns, "strict", "e2e-warn").to_string(),
            );
            (run.code != 0).then_some(run)
        },
    );
    assert!(
        run.stderr.contains("The Worker \"strict\" is invalid: ")
            && run.stderr.contains("spec.stackSpec.inputs"),
        "{}",
        run.stderr
    );
    assert!(warnings(&run.stderr).is_empty(), "{}", run.stderr);
}

#[test]
fn a_worker_admitted_under_audit_gets_its_condition_event_and_deployment() {
    let Some(c) = cluster() else { return };
    let ns = CONTROLLER_NAMESPACES[0];
    stack(c, "e2e-audit", "Audit");
    let name = "audited";
    let run = eventually(
        Duration::from_secs(30),
        "the Audit Stack in the catalog",
        || {
            let run = c.kubectl(
                &["apply", "-f", "-"],
                &worker(ns, name, "e2e-audit").to_string(),
            );
            (run.code == 0).then_some(run)
        },
    );
    // Audit is silent at admission.
    assert!(warnings(&run.stderr).is_empty(), "{}", run.stderr);

    // The controller makes its objects all the same…
    eventually(
        Duration::from_secs(60),
        "the audited Worker's Deployment",
        || c.get("deployment", Some(ns), name),
    );
    // …and records the violations on its status…
    let validated = eventually(
        Duration::from_secs(60),
        "the audited Worker's Validated condition",
        || {
            let w = c.get("worker", Some(ns), name)?;
            let conditions = w["status"]["conditions"].as_array()?.clone();
            conditions
                .into_iter()
                .find(|c| c["type"] == "Validated" && c["reason"] == "AuditViolations")
        },
    );
    assert_eq!(validated["status"], "False");
    assert_eq!(
        validated["message"],
        "admitted under Audit, would be denied under Enforce: spec.stackSpec: \"input\" is a required property; spec.stackSpec.inputs: \"x\" is not of type \"array\""
    );
    // …and as an Event.
    let event = eventually(Duration::from_secs(30), "the AuditViolations Event", || {
        let out = c.kubectl_ok(
            &[
                "get",
                "events",
                "-n",
                ns,
                "--field-selector",
                &format!("involvedObject.name={name},involvedObject.kind=Worker"),
                "-o",
                "json",
            ],
            "",
        );
        let list: Value = serde_json::from_str(&out).ok()?;
        list["items"]
            .as_array()?
            .iter()
            .find(|e| e["reason"] == "AuditViolations")
            .cloned()
    });
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["message"], validated["message"]);
}
