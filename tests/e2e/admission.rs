//! `kubectl apply` and `helm install` of Stacks, Depots and workloads through the real
//! API server and stackhook's validating webhook.

use serde_json::{Value, json};

use super::harness::{Cluster, cluster};

/// A namespace holding the example Depots (and the Secrets they name).
fn namespace_with_depots(c: &Cluster, prefix: &str) -> String {
    let ns = c.namespace(prefix);
    for depot in c.documents("examples/catalog/depots.yaml", Some(&ns)) {
        c.apply_json(&depot);
    }
    ns
}

fn worker(ns: &str, name: &str, stack_spec: Value) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"stack": "benthos:3.0", "stackSpec": stack_spec}
    })
}

#[test]
fn kubectl_apply_refuses_each_invalid_example_naming_its_cause() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_depots(c, "e2e-invalid");
    // Each document of examples/invalid is refused, with the cause `stackhook validate`
    // gives for it (the webhook and the CLI are one code path).
    for doc in c.documents("examples/invalid/workloads.yaml", Some(&ns)) {
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let run = c.kubectl(&["apply", "-f", "-"], &doc.to_string());
        assert_ne!(run.code, 0, "{name} was stored:\n{}", run.stdout);
        // kubectl prints it as it prints the API server's own validation errors.
        let kind = doc["kind"].as_str().unwrap_or_default();
        assert!(
            run.stderr
                .contains(&format!("The {kind} \"{name}\" is invalid: ")),
            "{name}: {}",
            run.stderr
        );
        let kind = kind.to_lowercase();
        assert!(
            c.get(&kind, Some(&ns), &name).is_none(),
            "{name} exists after a refusal"
        );
    }
}

#[test]
fn every_cause_is_shown_with_its_field_path_and_a_good_worker_is_stored() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_depots(c, "e2e-causes");
    // Two problems at once: a missing `input` and a wrong type.
    let bad = worker(
        &ns,
        "two-problems",
        json!({"output": {"stdout": {}}, "inputs": "x"}),
    );
    let run = c.kubectl(&["apply", "-f", "-"], &bad.to_string());
    assert_ne!(run.code, 0);
    for path in ["spec.stackSpec", "spec.stackSpec.inputs"] {
        assert!(run.stderr.contains(path), "{path} not in: {}", run.stderr);
    }
    assert!(run.stderr.contains("input"), "{}", run.stderr);

    // Also through server-side apply: the same refusal.
    let run = c.kubectl(
        &["apply", "--server-side", "--field-manager=e2e", "-f", "-"],
        &bad.to_string(),
    );
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("spec.stackSpec.inputs"),
        "{}",
        run.stderr
    );

    // A good one is stored, through both.
    let good = worker(
        &ns,
        "good",
        json!({"input": {"http_server": {"path": "/x"}}, "output": {"stdout": {}}}),
    );
    c.apply_json(&good);
    let mut ssa = good.clone();
    ssa["metadata"]["name"] = json!("good-ssa");
    c.kubectl_ok(
        &["apply", "--server-side", "--field-manager=e2e", "-f", "-"],
        &ssa.to_string(),
    );
    assert!(c.get("worker", Some(&ns), "good").is_some());
    assert!(c.get("worker", Some(&ns), "good-ssa").is_some());
}

#[test]
fn warnings_reach_kubectl() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_depots(c, "e2e-warn");
    // An unpinned Stack version is allowed with a warning that kubectl prints.
    let mut w = worker(
        &ns,
        "unpinned",
        json!({"input": {"http_server": {"path": "/x"}}, "output": {"stdout": {}}}),
    );
    w["spec"]["stack"] = json!("benthos");
    let run = c.kubectl(&["apply", "-f", "-"], &w.to_string());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Warning:"),
        "no warning shown: {}",
        run.stderr
    );
}

#[test]
fn a_bad_stack_and_a_bad_depot_are_refused() {
    let Some(c) = cluster() else { return };
    let stack = json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Stack",
        "metadata": {"name": "e2e-broken-template"},
        "spec": {
            "name": "e2e-broken", "version": "1.0", "flavor": "default",
            "image": {"registry": "docker.io", "repository": "library", "image": "busybox", "tag": "1"},
            "stackSpecValueSchema": {"jsonSchema": "{\"type\": \"object\"}"},
            "workerConfig": {"configFileTemplate": "{{ .x "}
        }
    });
    let run = c.kubectl(&["apply", "-f", "-"], &stack.to_string());
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "The Stack \"e2e-broken-template\" is invalid: spec.workerConfig.configFileTemplate: "
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("unclosed action"), "{}", run.stderr);

    let ns = c.namespace("e2e-bad-depot");
    let depot = json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
        "metadata": {"name": "nosecrets", "namespace": ns},
        "spec": {"type": "S3", "secrets": [{"name": "x", "acl": "rwx"}]}
    });
    let run = c.kubectl(&["apply", "-f", "-"], &depot.to_string());
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("acl"), "{}", run.stderr);
}

#[test]
fn deleting_a_stack_or_depot_in_use_is_refused() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_depots(c, "e2e-inuse");
    let mut docs = c.documents("examples/catalog/workloads.yaml", Some(&ns));
    docs.retain(|d| d["kind"] == "Workflow");
    for d in &docs {
        c.apply_json(d);
    }
    // The webhook's catalog follows the apply: the Depot's delete is then refused.
    let run = super::harness::eventually(
        std::time::Duration::from_secs(10),
        "the Depot delete refused",
        || {
            let run = c.kubectl(
                &["delete", "depot", "icebase", "-n", &ns, "--dry-run=server"],
                "",
            );
            (run.code != 0).then_some(run)
        },
    );
    // Not a field's problem: Forbidden, naming the webhook and the users.
    assert!(
        run.stderr.contains(
            "Error from server (Forbidden): admission webhook \"workloads.stackhook.io\" denied the request: "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Workflow") && run.stderr.contains("city-export"),
        "{}",
        run.stderr
    );

    let run = c.kubectl(&["delete", "stack", "flare-6-0", "--dry-run=server"], "");
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("admission webhook \"stacks.stackhook.io\" denied the request: ")
            && run.stderr.contains("is used by"),
        "{}",
        run.stderr
    );
}

#[test]
fn helm_install_of_a_chart_with_a_bad_workload_fails_with_our_message() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_depots(c, "e2e-helm");
    let chart = tempfile::tempdir().unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: orders\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    let bad = worker(&ns, "from-helm", json!({"output": {"stdout": {}}}));
    std::fs::write(
        chart.path().join("templates/worker.yaml"),
        serde_json::to_string_pretty(&bad).unwrap(),
    )
    .unwrap();
    let run = c.helm(&[
        "install",
        "orders",
        chart.path().to_str().unwrap(),
        "--namespace",
        &ns,
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("denied the request") && run.stderr.contains("spec.stackSpec"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_service_the_api_server_could_not_serve_is_refused_at_its_fields() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_depots(c, "e2e-service");
    let service = |name: &str, port: Option<u16>| {
        let mut s = json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"stack": "benthos:3.0", "stackSpec": {"input": {"http_server": {}}}}
        });
        if let Some(p) = port {
            s["spec"]["servicePort"] = json!(p);
        }
        s
    };
    // A name that is a DNS-1123 subdomain (so the API server stores the Service
    // workload) but not the DNS-1035 label its core Service needs.
    let run = c.kubectl(
        &["apply", "-f", "-"],
        &service("orders.api-v2", Some(8080)).to_string(),
    );
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("The Service \"orders.api-v2\" is invalid: metadata.name: "),
        "{}",
        run.stderr
    );
    // The example Stack has a port, so a Service workload gets one: a good one is stored.
    c.apply_json(&service("orders-api", None));
    assert!(
        c.get("services.stackhook.io", Some(&ns), "orders-api")
            .is_some()
    );
}
