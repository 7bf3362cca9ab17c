//! Least privilege, enforced by the real authorizer: what the chart's accounts may do,
//! asked of the API server (`kubectl auth can-i` impersonating them).

use super::harness::{
    CONTROLLER_ACCOUNT, CONTROLLER_NAMESPACES, Cluster, RELEASE_NAMESPACE, WEBHOOK_ACCOUNT, cluster,
};

fn can(c: &Cluster, account: &str, verb: &str, resource: &str, namespace: &str) -> bool {
    let who = format!("--as=system:serviceaccount:{RELEASE_NAMESPACE}:{account}");
    let run = c.kubectl(
        &["auth", "can-i", verb, resource, "-n", namespace, &who],
        "",
    );
    run.stdout.trim() == "yes"
}

const WRITES: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

#[test]
fn the_webhooks_account_can_write_nothing() {
    let Some(c) = cluster() else { return };
    for ns in [
        CONTROLLER_NAMESPACES[0],
        "default",
        RELEASE_NAMESPACE,
        "kube-system",
    ] {
        for resource in [
            "configmaps",
            "secrets",
            "pods",
            "deployments.apps",
            "workers.stackhook.io",
            "stacks.stackhook.io",
            "leases.coordination.k8s.io",
        ] {
            for verb in WRITES {
                assert!(
                    !can(c, WEBHOOK_ACCOUNT, verb, resource, ns),
                    "the webhook's account may {verb} {resource} in {ns}"
                );
            }
        }
        // Nor read Secrets: the webhook never reads them.
        assert!(!can(c, WEBHOOK_ACCOUNT, "get", "secrets", ns));
    }
    // What it needs: reading the catalog.
    assert!(can(
        c,
        WEBHOOK_ACCOUNT,
        "watch",
        "workers.stackhook.io",
        "default"
    ));
    assert!(can(
        c,
        WEBHOOK_ACCOUNT,
        "list",
        "stacks.stackhook.io",
        "default"
    ));
}

#[test]
fn the_controllers_account_writes_only_in_its_namespaces() {
    let Some(c) = cluster() else { return };
    for ns in CONTROLLER_NAMESPACES {
        assert!(can(c, CONTROLLER_ACCOUNT, "patch", "deployments.apps", ns));
        assert!(can(c, CONTROLLER_ACCOUNT, "create", "configmaps", ns));
        // Labelled pods, to find those that escaped admission; deleted only with
        // controller.deleteEscapedPods (off in this install; escaped.rs turns it on).
        for verb in ["get", "list", "watch"] {
            assert!(can(c, CONTROLLER_ACCOUNT, verb, "pods", ns), "{verb} pods");
        }
        for verb in WRITES {
            assert!(!can(c, CONTROLLER_ACCOUNT, verb, "pods", ns), "{verb} pods");
        }
    }
    for ns in ["kube-system", RELEASE_NAMESPACE, "default"] {
        assert!(
            !can(c, CONTROLLER_ACCOUNT, "list", "pods", ns),
            "list pods in {ns}"
        );
        for resource in [
            "configmaps",
            "deployments.apps",
            "jobs.batch",
            "services",
            "pods",
        ] {
            for verb in WRITES {
                assert!(
                    !can(c, CONTROLLER_ACCOUNT, verb, resource, ns),
                    "the controller's account may {verb} {resource} in {ns}"
                );
            }
        }
    }
    // Its Lease, and nothing else, in the release namespace.
    assert!(can(
        c,
        CONTROLLER_ACCOUNT,
        "patch",
        "leases.coordination.k8s.io/stackhook-controller",
        RELEASE_NAMESPACE
    ));
    assert!(!can(
        c,
        CONTROLLER_ACCOUNT,
        "patch",
        "leases.coordination.k8s.io/someone-elses",
        RELEASE_NAMESPACE
    ));
    assert!(!can(
        c,
        CONTROLLER_ACCOUNT,
        "get",
        "secrets",
        RELEASE_NAMESPACE
    ));
}
