//! The webhook's catalog across a restart of kube-apiserver, and the controller's Lease
//! released on SIGTERM (on a control plane of the test's own, so the other tests are not
//! disturbed).

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{
    CONTROLLER_ACCOUNT, CONTROLLER_NAMESPACES, Cluster, RELEASE_NAMESPACE, eventually,
    private_cluster,
};
use crate::support::repo;

fn worker(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"stack": "benthos:3.0", "stackSpec": {"input": {"http_server": {}}}}
    })
}

/// Whether a pod of `workload` would be admitted now (a server-side dry-run create).
fn admitted(c: &Cluster, ns: &str, workload: &str) -> bool {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe", "namespace": ns, "labels": {"stackhook.io/workload": workload}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
    });
    c.kubectl(&["create", "--dry-run=server", "-f", "-"], &pod.to_string())
        .code
        == 0
}

#[test]
fn the_catalog_follows_the_cluster_across_a_kube_apiserver_restart() {
    let Some(private) = private_cluster() else {
        return;
    };
    let c = &private.cluster;
    // One of the controller's namespaces (the Depots are there): this control plane
    // is the test's own.
    let ns = CONTROLLER_NAMESPACES[0].to_owned();
    c.apply_json(&worker(&ns, "before"));
    eventually(Duration::from_secs(5), "the Worker seen", || {
        admitted(c, &ns, "before").then_some(())
    });

    let restart = super::harness::run(
        std::process::Command::new("bash")
            .arg(repo("scripts/control-plane.sh"))
            .arg("restart-apiserver")
            .arg(&c.dir),
        "",
    );
    assert_eq!(restart.code, 0, "{}", restart.stderr);

    // What was known is still answered; what changes after the restart is seen, once
    // the watches are back.
    assert!(admitted(c, &ns, "before"));
    c.apply_json(&worker(&ns, "after"));
    eventually(
        Duration::from_secs(30),
        "a Worker made after the restart seen",
        || admitted(c, &ns, "after").then_some(()),
    );
    c.kubectl_ok(&["delete", "worker", "before", "-n", &ns], "");
    eventually(
        Duration::from_secs(30),
        "a deletion after the restart seen",
        || (!admitted(c, &ns, "before")).then_some(()),
    );

    // The controller holds its Lease, and lets go of it on SIGTERM (so another replica
    // takes over at once rather than after the lease expires).
    let holder = |c: &Cluster| {
        c.get("lease", Some(RELEASE_NAMESPACE), "stackhook-controller")
            .map(|l| l["spec"]["holderIdentity"].clone())
    };
    assert_eq!(holder(c), Some(json!("e2e-controller")));
    let pid = std::fs::read_to_string(c.dir.join("stackhook-controller.pid")).unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", pid.trim()])
        .status()
        .unwrap();
    eventually(Duration::from_secs(20), "the Lease released", || {
        (holder(c) != Some(json!("e2e-controller"))).then_some(())
    });

    // `serve --kube --controller`: the webhook and the controller in one process (as a
    // small installation runs them), on the webhook's port, with the controller's
    // account (which reads what the webhook reads).
    c.stop_processes();
    let port = c.state["webhook_port"].as_u64().unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = c.account_kubeconfig(CONTROLLER_ACCOUNT, RELEASE_NAMESPACE);
    let tls = c.dir.join("stackhook-tls");
    c.spawn(
        "stackhook-webhook",
        &kubeconfig,
        &[
            "serve",
            "--kube",
            "--controller",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--probe-listen",
            &format!("127.0.0.1:{probe}"),
            "--tls-cert",
            tls.join("tls.crt").to_str().unwrap(),
            "--tls-key",
            tls.join("tls.key").to_str().unwrap(),
            "--release-namespace",
            RELEASE_NAMESPACE,
            "--namespaces",
            &ns,
            "--identity",
            "one-process",
        ],
    );
    eventually(
        Duration::from_secs(60),
        "the one process holds the Lease",
        || (holder(c) == Some(json!("one-process"))).then_some(()),
    );
    // Its webhook answers from the watches, its controller applies a new Worker.
    c.apply_json(&worker(&ns, "one"));
    eventually(Duration::from_secs(10), "the new Worker seen", || {
        admitted(c, &ns, "one").then_some(())
    });
    eventually(Duration::from_secs(60), "the Deployment applied", || {
        c.get("deployment", Some(&ns), "one")
    });
}
