//! A tenant, impersonated and bound to Kubernetes' `edit` role in its own namespace
//! only, uses stackhook through the chart's aggregated roles and cannot get stackhook to
//! create what it could not create itself.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{CONTROLLER_NAMESPACES, Cluster, cluster, eventually};
use crate::support::Run;

const TENANT_NS: &str = CONTROLLER_NAMESPACES[1];
const OTHER_NS: &str = CONTROLLER_NAMESPACES[0];
const TENANT: &str = "e2e-tenant-user";

fn bind_tenant(c: &Cluster) {
    c.apply_json(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "e2e-tenant-edit", "namespace": TENANT_NS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": TENANT}]
    }));
}

fn as_tenant(c: &Cluster, object: &Value) -> Run {
    c.kubectl(
        &["apply", "-f", "-", &format!("--as={TENANT}")],
        &object.to_string(),
    )
}

fn worker(ns: &str, name: &str, stack: &str) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"stack": stack, "stackSpec": {"input": {"http_server": {}}}}
    })
}

#[test]
fn a_tenant_declares_workloads_in_its_namespace_and_nowhere_else() {
    let Some(c) = cluster() else { return };
    bind_tenant(c);
    // `edit` covers Workers through the chart's aggregated ClusterRole.
    let run = eventually(Duration::from_secs(10), "edit aggregates Workers", || {
        let run = as_tenant(c, &worker(TENANT_NS, "tenants-own", "benthos:3.0"));
        (run.code == 0).then_some(run)
    });
    assert!(run.stdout.contains("created") || run.stdout.contains("configured"));
    let run = as_tenant(c, &worker(OTHER_NS, "not-the-tenants", "benthos:3.0"));
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("Forbidden"), "{}", run.stderr);
    // Stacks are the platform team's.
    let mut stack = c.documents("examples/catalog/stack-benthos.yaml", None)[0].clone();
    stack["metadata"]["name"] = json!("e2e-tenants-stack");
    let run = as_tenant(c, &stack);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("Forbidden"), "{}", run.stderr);
    c.kubectl_ok(&["delete", "worker", "tenants-own", "-n", TENANT_NS], "");
}

#[test]
fn a_tenant_cannot_use_a_service_account_it_is_not_granted() {
    let Some(c) = cluster() else { return };
    bind_tenant(c);
    let mut w = worker(TENANT_NS, "borrowed-account", "benthos:3.0");
    w["spec"]["serviceAccountName"] = json!("stackhook-controller");
    let run = eventually(Duration::from_secs(10), "RBAC lets the tenant try", || {
        let run = as_tenant(c, &w);
        (!run.stderr.contains("Forbidden")).then_some(run)
    });
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "spec.serviceAccountName: service account \"stackhook-controller\" is not allowed"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_resource_template_makes_no_kind_off_the_allow_list_and_nothing_in_another_namespace() {
    let Some(c) = cluster() else { return };
    bind_tenant(c);
    // A Stack (the platform team's) whose resourceTemplate makes a Secret in
    // kube-system: a kind the controller was not allowed (the chart's
    // resourceTemplateKinds is empty), in a namespace the tenant cannot write.
    let mut stack = c.documents("examples/catalog/stack-benthos.yaml", None)[0].clone();
    let name = "e2e-resource-template";
    stack["metadata"]["name"] = json!(name);
    stack["spec"]["name"] = json!(name);
    stack["spec"]["workerConfig"]["resourceTemplate"] = json!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Name }}-stolen\n  namespace: kube-system\nstringData:\n  x: y\n"
    );
    c.apply_json(&stack);
    let w = worker(TENANT_NS, "sneaky", &format!("{name}:3.0"));
    eventually(
        Duration::from_secs(10),
        "the tenant's Worker admitted",
        || (as_tenant(c, &w).code == 0).then_some(()),
    );
    let status = eventually(
        Duration::from_secs(60),
        "KindNotAllowed on the Worker",
        || {
            let w = c.get("worker", Some(TENANT_NS), "sneaky")?;
            let ready = w["status"]["conditions"]
                .as_array()?
                .iter()
                .find(|c| c["type"] == "Ready")?
                .clone();
            (ready["reason"] == "KindNotAllowed").then_some(ready)
        },
    );
    assert_eq!(status["status"], "False");
    assert!(
        c.get("secret", Some("kube-system"), "sneaky-stolen")
            .is_none()
    );
    assert!(c.get("secret", Some(TENANT_NS), "sneaky-stolen").is_none());
    c.kubectl_ok(&["delete", "worker", "sneaky", "-n", TENANT_NS], "");
    eventually(Duration::from_secs(10), "the Stack deleted", || {
        (c.kubectl(&["delete", "stack", name], "").code == 0).then_some(())
    });
}
