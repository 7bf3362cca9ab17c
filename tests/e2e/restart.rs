//! The webhook's catalog across a restart of kube-apiserver, and the controller's Lease
//! released on SIGTERM (on a control plane of the test's own, so the other tests are not
//! disturbed).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{
    CONTROLLER_ACCOUNT, CONTROLLER_NAMESPACES, Cluster, RELEASE_NAMESPACE, WEBHOOK_ACCOUNT,
    eventually, free_port, private_cluster,
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

/// A webhook process of the test's own with `--catalog-staleness-bound`, reached
/// directly on loopback.
struct Bounded<'a> {
    c: &'a Cluster,
    port: u16,
    probe: u16,
}

impl<'a> Bounded<'a> {
    const NAME: &'static str = "stackhook-bounded";

    fn start(c: &'a Cluster, bound: &str) -> Self {
        let (port, probe) = (free_port(), free_port());
        let tls = c.dir.join("stackhook-tls");
        c.spawn(
            Self::NAME,
            &c.account_kubeconfig(WEBHOOK_ACCOUNT, RELEASE_NAMESPACE),
            &[
                "serve",
                "--kube",
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
                "--catalog-staleness-bound",
                bound,
            ],
        );
        let b = Bounded { c, port, probe };
        eventually(Duration::from_secs(60), "the bounded webhook ready", || {
            (b.probe("/readyz").0 == 200).then_some(())
        });
        b
    }

    fn probe(&self, path: &str) -> (u16, String) {
        crate::serve::probe_get(SocketAddr::from(([127, 0, 0, 1], self.probe)), path)
    }

    /// Its answer to the review of a Pod CREATE of `workload`: allowed, and the
    /// denial's message.
    fn review(&self, ns: &str, workload: &str) -> (bool, String) {
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "stale-drill",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": ns, "operation": "CREATE", "userInfo": {"username": "e2e"},
                "object": {
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "probe", "namespace": ns,
                                 "labels": {"stackhook.io/workload": workload}},
                    "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
                }
            }
        });
        let run = super::harness::run(
            std::process::Command::new("curl").args([
                "-sS",
                "--max-time",
                "20",
                "-k",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
                &format!("https://127.0.0.1:{}/mutate", self.port),
            ]),
            &review.to_string(),
        );
        assert_eq!(run.code, 0, "curl: {}", run.stderr);
        let answer: Value = serde_json::from_str(&run.stdout).expect("an AdmissionReview");
        let response = &answer["response"];
        (
            response["allowed"] == json!(true),
            response["status"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    fn stop(self) {
        let pid = std::fs::read_to_string(self.c.dir.join(format!("{}.pid", Self::NAME))).unwrap();
        std::process::Command::new("kill")
            .arg(pid.trim())
            .status()
            .unwrap();
    }
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

    // A webhook beside the installed one, with a short staleness bound, asked
    // directly (it is in no webhook configuration): what it decides while kube-apiserver
    // is down.
    let bounded = Bounded::start(c, "3s");
    assert!(
        bounded.review(&ns, "before").0,
        "a pod of a known workload is admitted"
    );

    let control_plane = |step: &str| {
        let run = super::harness::run(
            std::process::Command::new("bash")
                .arg(repo("scripts/control-plane.sh"))
                .arg(step)
                .arg(&c.dir),
            "",
        );
        assert_eq!(run.code, 0, "control-plane.sh {step}: {}", run.stderr);
    };
    control_plane("stop-apiserver");
    // Its watches fail: past the bound it is not ready and decides nothing (before
    // the bound it answers from the catalog of its last list, which the bound allows).
    let why = eventually(
        Duration::from_secs(60),
        "/readyz fails once the watches have failed longer than the bound",
        || {
            let (code, body) = bounded.probe("/readyz");
            (code == 503).then_some(body)
        },
    );
    assert!(
        why.starts_with("not ready: catalog: the watch of ")
            && why.contains("longer than the catalog's staleness bound of 3 s"),
        "{why}"
    );
    let (allowed, message) = bounded.review(&ns, "before");
    assert!(!allowed, "a decision on a stale catalog: {message}");
    assert!(
        message.starts_with("stackhook's catalog may be out of date: its watch of ")
            && message.contains(
                "longer than its staleness bound of 3 s; denied, nothing was decided on it"
            ),
        "{message}"
    );
    control_plane("start-apiserver");
    // Listed again: ready, and deciding.
    eventually(
        Duration::from_secs(60),
        "ready again once the watches have listed again",
        || (bounded.probe("/readyz").0 == 200).then_some(()),
    );
    assert!(bounded.review(&ns, "before").0);
    bounded.stop();

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
