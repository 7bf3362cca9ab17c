//! Pods admitted through the real API server: stored with stackhook's injection, once,
//! and accepted by the API server's own Pod validation.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{Cluster, cluster, eventually};

/// A namespace with the example Depots, the Secrets they name, and the example
/// workloads.
fn namespace_with_examples(c: &Cluster, prefix: &str) -> String {
    let ns = c.namespace(prefix);
    for path in [
        "examples/catalog/depots.yaml",
        "examples/catalog/workloads.yaml",
    ] {
        for doc in c.documents(path, Some(&ns)) {
            c.apply_json(&doc);
        }
    }
    ns
}

fn pod(ns: &str, name: &str, workload: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "namespace": ns,
            "labels": {"stackhook.io/workload": workload},
            "annotations": annotations
        },
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
    })
}

/// Creates a labelled pod, retrying while the webhook's catalog has not seen its
/// workload yet (a pod of an unknown workload is denied); the stored pod.
fn create_pod(c: &Cluster, pod: &Value) -> Value {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    eventually(Duration::from_secs(10), "the pod is admitted", || {
        let run = c.kubectl(&["create", "-f", "-"], &pod.to_string());
        if run.code != 0 {
            assert!(
                run.stderr.contains("not found"),
                "the pod was refused: {}",
                run.stderr
            );
            return None;
        }
        Some(())
    });
    c.get("pod", Some(ns), name).expect("the stored pod")
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn a_labelled_pod_is_stored_with_the_prop_file_injection() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_examples(c, "e2e-pod");
    let stored = create_pod(c, &pod(&ns, "orders", "orders-stream", json!({})));
    let spec = &stored["spec"];
    assert_eq!(names(&spec["initContainers"]), ["stackhook-project"]);
    let main = &spec["containers"][0];
    let env = names(&main["env"]);
    for var in [
        "DATAOS_NAME",
        "DATAOS_STAMP",
        "DATAOS_CONFIG_DIR",
        "BATCH_SIZE",
    ] {
        assert!(env.contains(&var), "{var} not in {env:?}");
    }
    let volumes = names(&spec["volumes"]);
    assert!(volumes.contains(&"stackhook-config"), "{volumes:?}");
    assert!(
        volumes
            .iter()
            .any(|v| v.starts_with("stackhook-depot-icebase")),
        "{volumes:?}"
    );
    let annotations = &stored["metadata"]["annotations"];
    assert!(
        annotations["stackhook.io/injected"].is_string(),
        "{annotations}"
    );
    assert!(
        annotations["stackhook.io/stamp"].is_string(),
        "{annotations}"
    );
}

#[test]
fn the_refresh_sidecar_is_a_native_sidecar() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_examples(c, "e2e-refresh");
    let stored = create_pod(
        c,
        &pod(
            &ns,
            "orders",
            "orders-stream",
            json!({"stackhook.io/secret-refresh": "true"}),
        ),
    );
    let init = stored["spec"]["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        init.iter().any(|c| c["restartPolicy"] == "Always"),
        "no native sidecar among {init:?}"
    );
}

#[test]
fn env_vars_projection_uses_env_from_and_no_init_container() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-envvars");
    for doc in c.documents("examples/catalog/depots.yaml", Some(&ns)) {
        c.apply_json(&doc);
    }
    // A Stack of its own (cluster-scoped, so a name of its own) projecting envVars.
    let mut stack = c.documents("examples/catalog/stack-benthos.yaml", None)[0].clone();
    stack["metadata"]["name"] = json!(format!("benthos-env-{ns}"));
    stack["spec"]["name"] = json!(format!("benthos-env-{ns}"));
    stack["spec"]["secretProjection"] = json!({"type": "envVars"});
    c.apply_json(&stack);
    c.apply_json(&json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": "env-worker", "namespace": ns},
        "spec": {
            "stack": format!("benthos-env-{ns}:3.0"),
            "stackSpec": {"input": {"http_server": {}}, "inputs": ["dataos://icebase:retail/orders"]}
        }
    }));
    let stored = create_pod(c, &pod(&ns, "env", "env-worker", json!({})));
    assert!(
        stored["spec"]["initContainers"].is_null(),
        "{}",
        stored["spec"]
    );
    let env_from = &stored["spec"]["containers"][0]["envFrom"];
    assert!(
        env_from.to_string().contains("ICEBASE_"),
        "no envFrom with the depot prefix: {env_from}"
    );
    // The Stack is in use until the Worker goes.
    c.kubectl_ok(&["delete", "worker", "env-worker", "-n", &ns], "");
    eventually(Duration::from_secs(10), "the Stack deleted", || {
        let run = c.kubectl(&["delete", "stack", &format!("benthos-env-{ns}")], "");
        (run.code == 0).then_some(())
    });
}

#[test]
fn with_a_second_mutating_step_after_ours_the_injection_is_there_once() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_examples(c, "e2e-reinvoke");
    // An in-tree MutatingAdmissionPolicy that changes every pod of this namespace
    // (an env var on the first container): the API server then reinvokes our webhook
    // (reinvocationPolicy IfNeeded), which must not inject again.
    let policy = format!("e2e-second-step-{ns}");
    c.apply_json(&json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": policy},
        "spec": {
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["pods"]
            }]},
            "failurePolicy": "Fail",
            "reinvocationPolicy": "IfNeeded",
            "mutations": [{
                "patchType": "ApplyConfiguration",
                "applyConfiguration": {"expression":
                    "Object{metadata: Object.metadata{labels: {\"e2e.stackhook.io/second-step\": \"done\"}}}"}
            }]
        }
    }));
    c.apply_json(&json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": policy},
        "spec": {
            "policyName": policy,
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
        }
    }));
    // The policy is picked up asynchronously: wait for it to act.
    let stored = eventually(Duration::from_secs(20), "the second step acted", || {
        let name = format!("orders-{}", rand_suffix());
        let stored = create_pod(c, &pod(&ns, &name, "orders-stream", json!({})));
        (stored["metadata"]["labels"]["e2e.stackhook.io/second-step"] == "done").then_some(stored)
    });
    assert_eq!(
        names(&stored["spec"]["initContainers"]),
        ["stackhook-project"]
    );
    let volumes = names(&stored["spec"]["volumes"]);
    let config = volumes.iter().filter(|v| **v == "stackhook-config").count();
    assert_eq!(config, 1, "{volumes:?}");
    let env = names(&stored["spec"]["containers"][0]["env"]);
    assert_eq!(
        env.iter().filter(|v| **v == "DATAOS_STAMP").count(),
        1,
        "{env:?}"
    );
    c.kubectl_ok(
        &[
            "delete",
            "mutatingadmissionpolicybinding,mutatingadmissionpolicy",
            &policy,
        ],
        "",
    );
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

#[test]
fn a_pod_of_an_unknown_workload_is_refused_naming_it() {
    let Some(c) = cluster() else { return };
    let ns = c.namespace("e2e-unknown");
    let run = c.kubectl(
        &["create", "-f", "-"],
        &pod(&ns, "lost", "no-such-worker", json!({})).to_string(),
    );
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("pods.stackhook.io") && run.stderr.contains("no-such-worker"),
        "{}",
        run.stderr
    );
    // An unlabelled pod is not sent to the webhook at all.
    let mut plain = pod(&ns, "plain", "x", json!({}));
    plain["metadata"]["labels"] = json!({"app": "plain"});
    c.kubectl_ok(&["create", "-f", "-"], &plain.to_string());
}

/// The volume a container mounts at the service-account token's path.
fn token_volume(container: &Value) -> Option<&str> {
    container["volumeMounts"]
        .as_array()?
        .iter()
        .find(|m| m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount")
        .and_then(|m| m["name"].as_str())
}

/// kube-apiserver runs its in-tree admission plugins again after a webhook changed a
/// pod, and calls a `reinvocationPolicy: IfNeeded` webhook again when they changed it
/// since: its ServiceAccount plugin would, mounting the token in the projector. The
/// projector has that mount already, so the API server calls the webhook once.
#[test]
fn the_api_server_calls_the_webhook_once_per_pod() {
    let Some(c) = cluster() else { return };
    let ns = namespace_with_examples(c, "e2e-once");
    let stored = create_pod(c, &pod(&ns, "once", "orders-stream", json!({})));
    let spec = &stored["spec"];
    let app_token = token_volume(&spec["containers"][0]);
    assert!(
        app_token.is_some_and(|v| v.starts_with("kube-api-access-")),
        "the ServiceAccount plugin mounted no token: {spec}"
    );
    assert_eq!(
        token_volume(&spec["initContainers"][0]),
        app_token,
        "{spec}"
    );
    // The webhook's own log: one decision for the pod (a denial while the catalog
    // had not seen the workload yet is a CREATE of its own, retried by create_pod).
    let needle = format!(" object={ns}/once ");
    let log = c.log("stackhook-webhook");
    let decisions = eventually(Duration::from_secs(5), "the webhook logs the pod", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains("admission decision") && l.contains(&needle))
            .filter(|l| !l.contains("result=\"denied\""))
            .map(str::to_owned)
            .collect();
        (!lines.is_empty()).then_some(lines)
    });
    assert_eq!(decisions.len(), 1, "{decisions:#?}");
}
