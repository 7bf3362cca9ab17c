//! No pod escapes unseen: a labelled pod created without our injection (here the
//! mutating webhook's `objectSelector` edited to skip pods with an extra label, as
//! someone might edit it, or as `failurePolicy: Ignore` lets a pod through while the
//! webhook is down) is reported by the controller: an Event on the pod and on its
//! workload, the workload's `PodsInjected` condition and the `stackhook_escaped_pods`
//! metric; with `--delete-escaped-pods` a pod with an owner is deleted.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{
    CONTROLLER_ACCOUNT, CONTROLLER_NAMESPACES, Cluster, RELEASE, RELEASE_NAMESPACE, cluster,
    eventually, private_cluster,
};

const NS: &str = CONTROLLER_NAMESPACES[0];
/// Pods with this label skip the mutating webhook while [`Bypass`] holds.
const ESCAPE_LABEL: &str = "stackhook.io/e2e-escape";

/// The mutating webhook's `objectSelector` edited to skip pods labelled
/// [`ESCAPE_LABEL`] (every other pod is sent as before, so tests running meanwhile are
/// not disturbed); restored on drop.
struct Bypass<'a>(&'a Cluster);

impl<'a> Bypass<'a> {
    fn new(c: &'a Cluster) -> Self {
        let patch = json!([{
            "op": "add",
            "path": "/webhooks/0/objectSelector/matchExpressions/-",
            "value": {"key": ESCAPE_LABEL, "operator": "DoesNotExist"}
        }]);
        c.kubectl_ok(
            &[
                "patch",
                "mutatingwebhookconfiguration",
                RELEASE,
                "--type=json",
                "-p",
                &patch.to_string(),
            ],
            "",
        );
        Self(c)
    }
}

impl Drop for Bypass<'_> {
    fn drop(&mut self) {
        let Some(config) = self.0.get("mutatingwebhookconfiguration", None, RELEASE) else {
            return;
        };
        let Some(at) = config["webhooks"][0]["objectSelector"]["matchExpressions"]
            .as_array()
            .and_then(|e| e.iter().position(|m| m["key"] == ESCAPE_LABEL))
        else {
            return;
        };
        let patch = json!([
            {"op": "test", "path": format!("/webhooks/0/objectSelector/matchExpressions/{at}/key"), "value": ESCAPE_LABEL},
            {"op": "remove", "path": format!("/webhooks/0/objectSelector/matchExpressions/{at}")}
        ]);
        let _ = self.0.kubectl(
            &[
                "patch",
                "mutatingwebhookconfiguration",
                RELEASE,
                "--type=json",
                "-p",
                &patch.to_string(),
            ],
            "",
        );
    }
}

fn worker(name: &str) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "stack": "benthos:3.0",
            "replicas": 1,
            "stackSpec": {"input": {"http_server": {"path": "/x"}}, "inputs": ["dataos://icebase:retail/orders"]}
        }
    })
}

/// Labels of a pod of Worker `name` that skips the webhook.
fn escaping_labels(name: &str) -> Value {
    json!({
        "stackhook.io/workload": name,
        "stackhook.io/workload-kind": "Worker",
        ESCAPE_LABEL: "true",
    })
}

/// A bare pod of Worker `name` created once the edited selector has reached the API
/// server's admission (until then the webhook still injects it: deleted, tried again).
fn create_escaped_pod(c: &Cluster, worker: &str, pod: &str) -> Value {
    eventually(
        Duration::from_secs(30),
        "a labelled pod created without injection",
        || {
            let _ = c.kubectl(&["delete", "pod", pod, "-n", NS, "--wait=false"], "");
            eventually(Duration::from_secs(30), "the previous pod gone", || {
                c.get("pod", Some(NS), pod).is_none().then_some(())
            });
            c.apply_json(&json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": NS, "labels": escaping_labels(worker)},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]}
            }));
            let created = c.get("pod", Some(NS), pod)?;
            let injected = created["metadata"]["annotations"]["stackhook.io/injected"].is_string();
            (!injected).then_some(created)
        },
    )
}

fn events_on(c: &Cluster, kind: &str, name: &str) -> String {
    c.kubectl_ok(
        &[
            "get",
            "events",
            "-n",
            NS,
            "--field-selector",
            &format!("involvedObject.name={name},involvedObject.kind={kind}"),
            "-o",
            "json",
        ],
        "",
    )
}

fn condition(c: &Cluster, name: &str) -> Option<Value> {
    let w = c.get("worker", Some(NS), name)?;
    w["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "PodsInjected")
        .cloned()
}

/// The controller's `stackhook_escaped_pods{reason="not_injected"}`.
fn escaped_metric(c: &Cluster) -> f64 {
    let probe = c.state["controller_probe"].as_u64().unwrap_or_default();
    let addr = SocketAddr::from(([127, 0, 0, 1], u16::try_from(probe).unwrap_or_default()));
    let (_, body) = crate::serve::probe_get(addr, "/metrics");
    body.lines()
        .find(|l| l.starts_with("stackhook_escaped_pods{reason=\"not_injected\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn a_labelled_pod_created_without_injection_is_reported_on_it_and_its_workload() {
    let Some(c) = cluster() else { return };
    let name = "escapes";
    c.apply_json(&worker(name));
    // The Worker is in the controller's catalog once it has reconciled it.
    eventually(Duration::from_secs(60), "the Worker reconciled", || {
        c.get("worker", Some(NS), name)?["status"]["stamp"]
            .as_str()
            .map(str::to_owned)
    });
    let pod = format!("{name}-bare");
    {
        let _bypass = Bypass::new(c);
        create_escaped_pod(c, name, &pod);
    }
    // Reported within a reconcile period: an Event on the pod and on the Worker, the
    // condition, the metric.
    let events = eventually(
        Duration::from_secs(30),
        "an Event on the escaped pod",
        || {
            let e = events_on(c, "Pod", &pod);
            e.contains("\"NotInjected\"").then_some(e)
        },
    );
    assert!(events.contains("escaped admission"), "{events}");
    // A bare pod has no owner to recreate it: never deleted (nor is the option on).
    assert!(!events.contains("deleted,"), "{events}");
    let events = eventually(Duration::from_secs(30), "an Event on the Worker", || {
        let e = events_on(c, "Worker", name);
        e.contains("\"PodEscaped\"").then_some(e)
    });
    assert!(
        events.contains(&format!("Pod {pod} escaped admission")),
        "{events}"
    );
    let found = eventually(Duration::from_secs(30), "PodsInjected=False", || {
        condition(c, name).filter(|c| c["status"] == "False")
    });
    assert_eq!(found["reason"], "NotInjected", "{found}");
    let message = found["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "1 pod(s) escaped admission: {pod}; created without stackhook's injection"
        )),
        "{message}"
    );
    assert!(escaped_metric(c) >= 1.0, "the metric counts it");
    assert!(c.get("pod", Some(NS), &pod).is_some(), "the pod is kept");

    // Once it is gone, the condition says every pod went through admission.
    c.kubectl_ok(&["delete", "pod", &pod, "-n", NS, "--wait=false"], "");
    let cleared = eventually(Duration::from_secs(30), "PodsInjected=True", || {
        condition(c, name).filter(|c| c["status"] == "True")
    });
    assert_eq!(cleared["reason"], "Injected", "{cleared}");
    c.kubectl_ok(&["delete", "worker", name, "-n", NS, "--wait=false"], "");
}

#[test]
fn with_delete_escaped_pods_an_escaped_pod_with_an_owner_is_deleted_for_it_to_come_back() {
    // Its own control plane: the option changes the controller and its Role.
    let Some(private) = private_cluster() else {
        return;
    };
    let c = &private.cluster;
    let upgrade = c.helm(&[
        "upgrade",
        RELEASE,
        crate::support::repo("charts/stackhook")
            .to_str()
            .expect("a UTF-8 path"),
        "--namespace",
        RELEASE_NAMESPACE,
        "--reuse-values",
        "--set",
        "controller.deleteEscapedPods=true",
    ]);
    assert_eq!(upgrade.code, 0, "{}{}", upgrade.stdout, upgrade.stderr);
    let who = format!("--as=system:serviceaccount:{RELEASE_NAMESPACE}:{CONTROLLER_ACCOUNT}");
    let can = |ns: &str| {
        c.kubectl(&["auth", "can-i", "delete", "pods", "-n", ns, &who], "")
            .stdout
            .trim()
            == "yes"
    };
    assert!(
        can(NS),
        "the option grants pods delete in the managed namespaces"
    );
    assert!(!can("default"), "and nowhere else");
    c.restart_controller(&["--delete-escaped-pods"]);

    let name = "escapes-owned";
    c.apply_json(&worker(name));
    eventually(Duration::from_secs(60), "the Worker reconciled", || {
        c.get("worker", Some(NS), name)?["status"]["stamp"]
            .as_str()
            .map(str::to_owned)
    });
    let _bypass = Bypass::new(c);
    // Its ReplicaSet's pods skip the webhook; the first one that does is deleted.
    let bare = format!("{name}-probe");
    create_escaped_pod(c, name, &bare);
    c.apply_json(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("{name}-rogue"), "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {ESCAPE_LABEL: "true", "app": "rogue"}},
            "template": {
                "metadata": {"labels": {"stackhook.io/workload": name, "stackhook.io/workload-kind": "Worker", ESCAPE_LABEL: "true", "app": "rogue"}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]}
            }
        }
    }));
    let events = eventually(Duration::from_secs(60), "an escaped pod deleted", || {
        let e = events_on(c, "Worker", name);
        e.contains("deleted, so that its owner recreates it through admission")
            .then_some(e)
    });
    assert!(events.contains("\"PodEscaped\""), "{events}");
    // The bare pod has no owner: reported, not deleted.
    let bare_events = eventually(Duration::from_secs(30), "the bare pod reported", || {
        let e = events_on(c, "Pod", &bare);
        e.contains("\"NotInjected\"").then_some(e)
    });
    assert!(
        bare_events.contains("not deleted: it has no owner to recreate it"),
        "{bare_events}"
    );
    assert!(c.get("pod", Some(NS), &bare).is_some());
}
