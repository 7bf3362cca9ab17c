//! The controller against the real API server: what it applies, that it converges,
//! that what it owns is collected, that a Stack change rolls out, and that it leaves
//! alone what it does not own.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{CONTROLLER_NAMESPACES, Cluster, cluster, eventually};

const NS: &str = CONTROLLER_NAMESPACES[0];

fn worker(name: &str, stack: &str) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "stack": stack,
            "replicas": 1,
            "stackSpec": {"input": {"http_server": {"path": "/x"}}, "inputs": ["dataos://icebase:retail/orders"]}
        }
    })
}

fn wait_for(c: &Cluster, kind: &str, name: &str) -> Value {
    eventually(
        Duration::from_secs(60),
        &format!("{kind} {NS}/{name} applied by the controller"),
        || c.get(kind, Some(NS), name),
    )
}

/// The pods of `NS` that `selector` selects, once there is one.
fn pods_of(c: &Cluster, selector: &str, what: &str) -> Vec<Value> {
    eventually(Duration::from_secs(60), what, || {
        let out = c.kubectl_ok(&["get", "pods", "-n", NS, "-l", selector, "-o", "json"], "");
        let list: Value = serde_json::from_str(&out).ok()?;
        let items = list["items"].as_array()?.clone();
        (!items.is_empty()).then_some(items)
    })
}

fn resource_version(v: &Value) -> String {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn condition<'a>(workload: &'a Value, kind: &str) -> Option<&'a Value> {
    workload["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

#[test]
fn a_worker_gets_its_deployment_whose_pods_are_injected_and_a_second_pass_writes_nothing() {
    let Some(c) = cluster() else { return };
    let name = "converges";
    c.apply_json(&worker(name, "benthos:3.0"));
    let deployment = wait_for(c, "deployment", name);
    assert_eq!(
        deployment["metadata"]["ownerReferences"][0]["kind"], "Worker",
        "{deployment}"
    );
    // kube-controller-manager makes the ReplicaSet's Pod; our webhook injects it.
    let pods = pods_of(
        c,
        &format!("stackhook.io/workload={name}"),
        "the Deployment's pod",
    );
    let init = pods[0]["spec"]["initContainers"].to_string();
    assert!(init.contains("stackhook-project"), "{init}");

    // Its config rendered, with an Event on the workload. (Never Ready: no kubelet
    // runs its pods, and the condition says so.)
    let stored = eventually(
        Duration::from_secs(30),
        "the Worker's config rendered",
        || {
            let w = c.get("worker", Some(NS), name)?;
            (condition(&w, "ConfigRendered")?["status"] == "True").then_some(w)
        },
    );
    assert_eq!(
        condition(&stored, "Ready").unwrap()["reason"],
        "DeploymentProgressing",
        "{}",
        stored["status"]
    );
    let events = c.kubectl_ok(
        &[
            "get",
            "events",
            "-n",
            NS,
            "--field-selector",
            &format!("involvedObject.name={name},involvedObject.kind=Worker"),
            "-o",
            "json",
        ],
        "",
    );
    assert!(
        events.contains("\"reason\""),
        "no Event on the Worker: {events}"
    );

    // A further pass (an annotation makes the controller reconcile the Worker again)
    // writes nothing: no resourceVersion of what it applied moves, nor the status.
    let configmap_name = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["configMap"].is_object()))
        .map(|v| {
            v["configMap"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
    let before_deployment = resource_version(&c.get("deployment", Some(NS), name).unwrap());
    let before_configmap = configmap_name
        .as_deref()
        .and_then(|n| c.get("configmap", Some(NS), n))
        .map(|v| resource_version(&v));
    c.kubectl_ok(
        &[
            "annotate",
            "worker",
            name,
            "-n",
            NS,
            "e2e.stackhook.io/poke=1",
            "--overwrite",
        ],
        "",
    );
    let after_annotate = resource_version(&c.get("worker", Some(NS), name).unwrap());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        resource_version(&c.get("deployment", Some(NS), name).unwrap()),
        before_deployment,
        "the Deployment was written again"
    );
    if let (Some(n), Some(before)) = (configmap_name.as_deref(), before_configmap) {
        assert_eq!(
            resource_version(&c.get("configmap", Some(NS), n).unwrap()),
            before,
            "the ConfigMap was written again"
        );
    }
    assert_eq!(
        resource_version(&c.get("worker", Some(NS), name).unwrap()),
        after_annotate,
        "the Worker's status was written again"
    );

    // Deleting the Worker collects what it owned (kube-controller-manager's garbage
    // collector, through the owner references).
    c.kubectl_ok(&["delete", "worker", name, "-n", NS], "");
    eventually(Duration::from_secs(60), "the Deployment collected", || {
        c.get("deployment", Some(NS), name).is_none().then_some(())
    });
}

#[test]
fn a_stack_change_rolls_the_deployment() {
    let Some(c) = cluster() else { return };
    let stack_name = "e2e-rolling";
    let mut stack = c.documents("examples/catalog/stack-benthos.yaml", None)[0].clone();
    stack["metadata"]["name"] = json!(stack_name);
    stack["spec"]["name"] = json!(stack_name);
    c.apply_json(&stack);
    let name = "rolls";
    // The webhook may not have seen the new Stack yet: retry the apply.
    eventually(Duration::from_secs(10), "the Worker admitted", || {
        let run = c.kubectl(
            &["apply", "-f", "-"],
            &worker(name, &format!("{stack_name}:3.0")).to_string(),
        );
        (run.code == 0).then_some(())
    });
    let first = wait_for(c, "deployment", name);
    let stamp = |d: &Value| {
        d["spec"]["template"]["metadata"]["annotations"]["stackhook.io/stamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let old_stamp = stamp(&first);
    stack["spec"]["environmentVars"]["E2E_CHANGED"] = json!("yes");
    c.apply_json(&stack);
    let rolled = eventually(
        Duration::from_secs(60),
        "a new stamp on the pod template",
        || {
            let d = c.get("deployment", Some(NS), name)?;
            (stamp(&d) != old_stamp).then_some(d)
        },
    );
    assert_ne!(stamp(&rolled), old_stamp);
    // A new ReplicaSet for the new template.
    eventually(Duration::from_secs(60), "a second ReplicaSet", || {
        let out = c.kubectl_ok(&["get", "replicasets", "-n", NS, "-o", "json"], "");
        let list: Value = serde_json::from_str(&out).ok()?;
        let owned = list["items"]
            .as_array()?
            .iter()
            .filter(|rs| rs["metadata"]["ownerReferences"][0]["name"] == name)
            .count();
        (owned >= 2).then_some(())
    });
    c.kubectl_ok(&["delete", "worker", name, "-n", NS], "");
}

#[test]
fn a_deployment_we_do_not_own_is_left_alone_with_a_conflict_condition() {
    let Some(c) = cluster() else { return };
    let name = "not-ours";
    c.apply_json(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "theirs", "image": "busybox:1.36"}]}}
        }
    }));
    let before = c.get("deployment", Some(NS), name).unwrap();
    c.apply_json(&worker(name, "benthos:3.0"));
    let w = eventually(Duration::from_secs(60), "a Conflict condition", || {
        let w = c.get("worker", Some(NS), name)?;
        (condition(&w, "Ready")?["reason"] == "Conflict").then_some(w)
    });
    assert_eq!(condition(&w, "Ready").unwrap()["status"], "False");
    let after = c.get("deployment", Some(NS), name).unwrap();
    assert_eq!(resource_version(&after), resource_version(&before));
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["name"],
        "theirs"
    );
    c.kubectl_ok(&["delete", "worker", name, "-n", NS], "");
}

#[test]
fn a_scheduled_workflow_becomes_a_cron_job_whose_manual_run_is_injected() {
    let Some(c) = cluster() else { return };
    let name = "nightly";
    c.apply_json(&json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "stack": "flare:6.0",
            "schedule": {"cron": "0 5 * * *", "concurrencyPolicy": "Forbid"},
            "stackSpec": {
                "inputs": [{"dataset": "dataos://icebase:retail/city", "format": "iceberg"}],
                "outputs": [{"dataset": "dataos://gcdexport:none/city/city.csv"}]
            }
        }
    }));
    wait_for(c, "cronjob", name);
    let job = format!("{name}-manual");
    c.kubectl_ok(
        &[
            "create",
            "job",
            &job,
            "--from",
            &format!("cronjob/{name}"),
            "-n",
            NS,
        ],
        "",
    );
    let pods = pods_of(c, &format!("job-name={job}"), "the Job's pod");
    assert!(
        pods[0]["metadata"]["annotations"]["stackhook.io/injected"].is_string(),
        "{}",
        pods[0]["metadata"]
    );
    c.kubectl_ok(&["delete", "workflow", name, "-n", NS], "");
    // The Job is the CronJob's (ownerReference), so it goes with it.
    c.kubectl_ok(&["delete", "job", &job, "-n", NS, "--ignore-not-found"], "");
}
