//! Failure drills: two webhook replicas behind the real API server, a steady stream of
//! labelled Pod CREATEs (failurePolicy `Fail`), every outcome recorded.
//!
//! How two local processes sit behind the chart's Service, as Pods would: the chart
//! is installed in its Service mode (no `webhook.url`), each replica listens on this
//! machine's own address (EndpointSlice validation refuses loopback addresses) on a
//! port of its own, and the test writes one EndpointSlice per replica for the Service
//! (labelled `kubernetes.io/service-name`, managed by the test as the EndpointSlice
//! controller manages a Pod's). kube-apiserver runs with
//! `--enable-aggregator-routing=true` (`scripts/control-plane.sh`), so it resolves the
//! Service to a ready endpoint of those slices rather than to the ClusterIP, which
//! nothing here routes (no kube-proxy).
//!
//! What the drills show, against kube-apiserver v1.37's source:
//! - The endpoint is chosen per call: `WebhookRoundTripLoadBalancing` (beta, on by
//!   default in 1.37) wraps the webhook client in a `resolvingRoundTripper`
//!   (k8s.io/apiserver/pkg/util/webhook/client.go) that resolves the Service on every
//!   round trip; the resolver (`proxy.ResolveEndpoint` → `RandomEndpoint`,
//!   k8s.io/apiserver/pkg/util/proxy/proxy.go) takes a random endpoint whose `ready`
//!   condition is not false. Service-mode calls are HTTP/1.1 (`NextProtos =
//!   ["http/1.1"]`, the same file).
//! - A webhook call is never retried on a connection error: client-go retries a
//!   request whose error is a reset or EOF only when its method is GET
//!   (k8s.io/client-go/rest/request.go, `isErrRetryableFunc`), and a POST only on a
//!   response with `Retry-After`. So a replica that stops listening while its
//!   endpoint is still ready fails the calls routed to it; what keeps CREATEs from
//!   failing is that the endpoint turns not-ready before the replica stops accepting
//!   (a Pod being deleted is marked terminating at once; the replica keeps serving
//!   for `--shutdown-delay` after SIGTERM, which the chart sets).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{
    Cluster, RELEASE, RELEASE_NAMESPACE, WEBHOOK_ACCOUNT, eventually, free_port, pid_alive,
    private_control_plane,
};
use crate::support::repo;

/// The address replicas listen on: this machine's own (the source address of its
/// default route), which an EndpointSlice accepts.
fn node_ip() -> IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("a UDP socket");
    // No packet is sent: connecting a UDP socket only picks the route.
    socket
        .connect("192.0.2.254:9")
        .or_else(|_| socket.connect("10.255.255.254:9"))
        .expect("a default route (the replicas need an address that is not loopback)");
    let ip = socket.local_addr().expect("the local address").ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "no address but loopback for the replicas: {ip}"
    );
    ip
}

/// One local `stackhook serve --kube` replica.
struct Replica {
    name: String,
    port: u16,
    probe: u16,
}

/// The replicas behind the chart's Service, and the EndpointSlices that list them.
struct Replicas<'a> {
    c: &'a Cluster,
    ip: IpAddr,
    kubeconfig: PathBuf,
    tls: PathBuf,
    replicas: Vec<Replica>,
}

impl<'a> Replicas<'a> {
    /// Installs the chart in its Service mode and starts `n` replicas, each listed
    /// ready in an EndpointSlice of its own.
    fn install(c: &'a Cluster, n: usize) -> Self {
        let run = c.helm(&[
            "upgrade",
            "--install",
            RELEASE,
            repo("charts/stackhook").to_str().expect("a UTF-8 path"),
            "--namespace",
            RELEASE_NAMESPACE,
            "--create-namespace",
            "--set",
            "webhook.timeoutSeconds=10",
        ]);
        assert_eq!(
            run.code, 0,
            "helm install of charts/stackhook:\n{}{}",
            run.stdout, run.stderr
        );
        let mut set = Replicas {
            c,
            ip: node_ip(),
            kubeconfig: c.account_kubeconfig(WEBHOOK_ACCOUNT, RELEASE_NAMESPACE),
            tls: c.write_serving_certificate(),
            replicas: (0..n)
                .map(|i| Replica {
                    name: format!("stackhook-replica-{i}"),
                    port: free_port(),
                    probe: free_port(),
                })
                .collect(),
        };
        for i in 0..n {
            set.start(i);
            set.list(i, true);
        }
        set
    }

    fn pid(&self, i: usize) -> Option<u32> {
        std::fs::read_to_string(self.c.dir.join(format!("{}.pid", self.replicas[i].name)))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }

    /// Starts replica `i` (again) and waits until it is ready.
    fn start(&mut self, i: usize) {
        let r = &self.replicas[i];
        self.c.spawn(
            &r.name,
            &self.kubeconfig,
            &[
                "serve",
                "--kube",
                "--listen",
                &SocketAddr::new(self.ip, r.port).to_string(),
                "--probe-listen",
                &format!("127.0.0.1:{}", r.probe),
                "--tls-cert",
                self.tls.join("tls.crt").to_str().expect("UTF-8"),
                "--tls-key",
                self.tls.join("tls.key").to_str().expect("UTF-8"),
                "--release-namespace",
                RELEASE_NAMESPACE,
                // As the chart runs it.
                "--shutdown-delay",
                "5s",
            ],
        );
        let probe = SocketAddr::from(([127, 0, 0, 1], r.probe));
        eventually(
            Duration::from_secs(60),
            &format!("{} ready (log: {})", r.name, self.c.log(&r.name).display()),
            || (crate::serve::probe_get(probe, "/readyz").0 == 200).then_some(()),
        );
    }

    /// Sends `signal` to replica `i` and waits until it has exited.
    fn kill(&self, i: usize, signal: &str) {
        self.signal(i, signal);
        self.exited(i, signal);
    }

    /// Sends `signal` to replica `i`.
    fn signal(&self, i: usize, signal: &str) {
        let pid = self.pid(i).expect("the replica's pid file");
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits until replica `i` has exited (after `signal`).
    fn exited(&self, i: usize, signal: &str) {
        let pid = self.pid(i).expect("the replica's pid file");
        eventually(
            Duration::from_secs(30),
            &format!("{} exits on SIG{signal}", self.replicas[i].name),
            || (!pid_alive(pid)).then_some(()),
        );
    }

    /// Lists replica `i` in its EndpointSlice, ready or not (terminating), as the
    /// EndpointSlice controller lists a Pod from its readiness and deletion.
    fn list(&self, i: usize, ready: bool) {
        let r = &self.replicas[i];
        self.c.apply_json(&json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {
                "name": r.name, "namespace": RELEASE_NAMESPACE,
                "labels": {
                    "kubernetes.io/service-name": RELEASE,
                    "endpointslice.kubernetes.io/managed-by": "stackhook-e2e",
                }
            },
            "addressType": if self.ip.is_ipv4() { "IPv4" } else { "IPv6" },
            "ports": [{"name": "https", "port": r.port, "protocol": "TCP"}],
            "endpoints": [{
                "addresses": [self.ip.to_string()],
                "conditions": {"ready": ready, "serving": ready, "terminating": !ready}
            }]
        }));
    }

    /// The pod reviews replica `i` has answered (its `/metrics`).
    fn reviews(&self, i: usize) -> f64 {
        self.metric(
            i,
            "stackhook_admission_requests_total",
            "endpoint=\"mutate\"",
        )
    }

    /// The sum of a metric's samples (lines containing `filter`) on replica `i`.
    fn metric(&self, i: usize, name: &str, filter: &str) -> f64 {
        let probe = SocketAddr::from(([127, 0, 0, 1], self.replicas[i].probe));
        let (status, text) = crate::serve::probe_get(probe, "/metrics");
        assert_eq!(status, 200, "{} /metrics", self.replicas[i].name);
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(filter))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }
}

/// One CREATE's outcome: created, or the API server's message.
#[derive(Clone, Debug)]
struct Outcome {
    created: bool,
    message: String,
}

/// A steady stream of Pod CREATEs of `workload`'s Pods (one at a time, about 20 a
/// second), every outcome recorded, until stopped.
struct Stream {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stream {
    fn start(kubeconfig: &Path, namespace: &str, workload: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let (kubeconfig, namespace, workload) = (
            kubeconfig.to_path_buf(),
            namespace.to_owned(),
            workload.to_owned(),
        );
        let (s, o) = (Arc::clone(&stop), Arc::clone(&outcomes));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the stream");
            runtime.block_on(create_pods(kubeconfig, namespace, workload, s, o));
        });
        Stream {
            stop,
            outcomes,
            thread: Some(thread),
        }
    }

    fn len(&self) -> usize {
        self.outcomes.lock().expect("the outcomes").len()
    }

    /// The outcomes from `from` on.
    fn since(&self, from: usize) -> Vec<Outcome> {
        self.outcomes.lock().expect("the outcomes")[from..].to_vec()
    }

    /// Waits until `n` more CREATEs than now have an outcome.
    fn more(&self, n: usize, what: &str) {
        let target = self.len() + n;
        eventually(
            Duration::from_secs(60),
            &format!("{n} more Pod CREATEs ({what})"),
            || (self.len() >= target).then_some(()),
        );
    }

    /// Waits until the last `n` CREATEs all succeeded.
    fn succeeding(&self, n: usize, what: &str) {
        eventually(
            Duration::from_secs(60),
            &format!("{n} Pod CREATEs in a row succeed ({what})"),
            || {
                let o = self.outcomes.lock().expect("the outcomes");
                (o.len() >= n && o[o.len() - n..].iter().all(|o| o.created)).then_some(())
            },
        );
    }

    fn stop(mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("the stream's thread");
        }
        self.outcomes.lock().expect("the outcomes").clone()
    }
}

async fn create_pods(
    kubeconfig: PathBuf,
    namespace: String,
    workload: String,
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
) {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, PostParams};
    let kubeconfig = kube::config::Kubeconfig::read_from(&kubeconfig).expect("the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("a client configuration");
    let client = kube::Client::try_from(config).expect("a client");
    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "stream-", "labels": {"stackhook.io/workload": workload}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
    }))
    .expect("a Pod");
    while !stop.load(Ordering::Relaxed) {
        let outcome = match pods.create(&PostParams::default(), &pod).await {
            Ok(_) => Outcome {
                created: true,
                message: String::new(),
            },
            Err(kube::Error::Api(e)) => Outcome {
                created: false,
                message: e.message,
            },
            Err(e) => Outcome {
                created: false,
                message: format!("the client: {e}"),
            },
        };
        outcomes.lock().expect("the outcomes").push(outcome);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The failures among `outcomes`, for a message.
fn failures(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| !o.created)
        .map(|o| o.message.clone())
        .collect()
}

fn worker(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"stack": "benthos:3.0", "stackSpec": {"input": {"http_server": {}}}}
    })
}

/// Creates one Pod with kubectl; `Ok` or the API server's message.
fn create_pod(c: &Cluster, ns: &str, labels: Value) -> Result<(), String> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "single-", "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}
    });
    let run = c.kubectl(&["create", "-f", "-"], &pod.to_string());
    if run.code == 0 {
        Ok(())
    } else {
        Err(run.stderr)
    }
}

#[test]
fn pod_creates_through_replica_loss_certificate_rotation_and_an_outage() {
    let Some(private) = private_control_plane() else {
        return;
    };
    let c = &private.cluster;
    let mut set = Replicas::install(c, 2);
    for path in [
        "examples/catalog/stack-benthos.yaml",
        "examples/catalog/stack-flare.yaml",
    ] {
        for doc in c.documents(path, None) {
            c.apply_json(&doc);
        }
    }
    let ns = c.namespace("drill");
    c.apply_json(&worker(&ns, "stream"));
    let stream = Stream::start(&c.kubeconfig, &ns, "stream");
    stream.succeeding(20, "the Worker seen by both replicas");

    // The API server spreads the calls over both endpoints.
    eventually(
        Duration::from_secs(60),
        "both replicas answer reviews",
        || (set.reviews(0) > 0.0 && set.reviews(1) > 0.0).then_some(()),
    );

    // 1a. A replica leaves as a deleted Pod does: SIGTERM and its endpoint turned
    // not-ready (terminating) at the same moment. It keeps answering for its
    // --shutdown-delay, by when the API server routes nothing more to it: no CREATE
    // fails.
    let start = stream.len();
    set.signal(0, "TERM");
    set.list(0, false);
    set.exited(0, "TERM");
    stream.more(20, "with one replica");
    let failed = failures(&stream.since(start));
    assert!(
        failed.is_empty(),
        "CREATEs failed while a not-ready replica stopped: {failed:#?}"
    );
    set.start(0);
    set.list(0, true);
    eventually(
        Duration::from_secs(60),
        "the restarted replica answers again",
        || {
            let before = set.reviews(0);
            stream.more(10, "back to two replicas");
            (set.reviews(0) > before).then_some(())
        },
    );

    // 1b. A replica crashes (SIGKILL) while its endpoint is still listed ready: the
    // API server does not retry a webhook call whose connection is refused, so the
    // calls routed to it fail until its endpoint turns not-ready (the kubelet's
    // readiness report); then every CREATE succeeds again.
    let start = stream.len();
    set.kill(1, "KILL");
    stream.more(20, "with a dead endpoint listed ready");
    set.list(1, false);
    stream.succeeding(30, "the dead endpoint not ready");
    let outcomes = stream.since(start);
    let failed = failures(&outcomes);
    eprintln!(
        "replica crash: {} of {} CREATEs failed while its endpoint was listed ready",
        failed.len(),
        outcomes.len()
    );
    let dead = format!("{}", SocketAddr::new(set.ip, set.replicas[1].port));
    for message in &failed {
        assert!(
            message.contains("failed calling webhook \"pods.stackhook.io\"")
                && message.contains(&dead)
                && message.contains("connection refused"),
            "a CREATE failed other than by the dead replica's refused connection: {message}"
        );
    }
    set.start(1);
    set.list(1, true);
    eventually(
        Duration::from_secs(60),
        "the restarted replica answers again",
        || {
            let before = set.reviews(1);
            stream.more(10, "back to two replicas");
            (set.reviews(1) > before).then_some(())
        },
    );

    // 2. The serving certificate and its CA rotated mid-stream, in the order that
    // fails nothing: the caBundle trusts the old and new CA, the Secret (and so the
    // files the replicas read, as a Secret volume is updated) takes the new
    // certificate, the replicas reload it, then the old CA leaves the caBundle.
    let start = stream.len();
    rotate_certificate(c, &set);
    stream.more(30, "after the rotation");
    let failed = failures(&stream.since(start));
    assert!(
        failed.is_empty(),
        "CREATEs failed during the certificate rotation: {failed:#?}"
    );

    // 3. Every replica down: labelled Pods are refused, naming stackhook's webhook;
    // unlabelled Pods, and labelled ones in a namespace the webhook excludes, are not
    // sent to it.
    let outcomes = stream.stop();
    eprintln!("drills: {} Pod CREATEs in all", outcomes.len());
    set.kill(0, "TERM");
    set.kill(1, "TERM");
    let labelled = json!({"stackhook.io/workload": "stream"});
    let refused = create_pod(c, &ns, labelled.clone())
        .expect_err("a labelled Pod is refused while every replica is down");
    assert!(
        refused.contains("failed calling webhook \"pods.stackhook.io\"")
            && refused.contains("connection refused"),
        "{refused}"
    );
    set.list(0, false);
    set.list(1, false);
    eventually(
        Duration::from_secs(30),
        "no endpoint left for the Service",
        || {
            let refused = create_pod(c, &ns, labelled.clone())
                .expect_err("a labelled Pod is refused while every replica is down");
            refused
                .contains("no endpoints available for service \"stackhook\"")
                .then_some(refused)
        },
    );
    create_pod(c, &ns, json!({"app": "other"})).expect("an unlabelled Pod is not sent");
    create_pod(c, RELEASE_NAMESPACE, labelled)
        .expect("a labelled Pod in the release namespace is not sent");
}

/// Rotates the serving certificate and its CA without a window of distrust (see the
/// caller); returns once the old CA is gone from the caBundles.
fn rotate_certificate(c: &Cluster, set: &Replicas) {
    let fresh = c.dir.join("rotated-tls");
    let service = format!("{RELEASE}.{RELEASE_NAMESPACE}.svc");
    let run = super::harness::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_stackhook"))
            .args(["certs", "--dns", &service, "--out"])
            .arg(&fresh),
        "",
    );
    assert_eq!(run.code, 0, "stackhook certs: {}", run.stderr);
    let read = |f: &str| std::fs::read_to_string(fresh.join(f)).expect("the new certificate");
    let (new_ca, new_crt, new_key) = (read("ca.crt"), read("tls.crt"), read("tls.key"));
    let secret = c
        .get("secret", Some(RELEASE_NAMESPACE), &format!("{RELEASE}-tls"))
        .expect("the chart's Secret");
    let old_ca = {
        use base64::Engine as _;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(secret["data"]["ca.crt"].as_str().expect("ca.crt"))
                .expect("base64"),
        )
        .expect("PEM")
    };

    set_ca_bundle(c, &format!("{old_ca}\n{new_ca}"));
    c.apply_json(&json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": format!("{RELEASE}-tls"), "namespace": RELEASE_NAMESPACE},
        "stringData": {"ca.crt": new_ca, "tls.crt": new_crt, "tls.key": new_key}
    }));
    let expiry_before: Vec<f64> = (0..set.replicas.len())
        .map(|i| set.metric(i, "stackhook_tls_certificate_expiry_timestamp_seconds", ""))
        .collect();
    // As the kubelet updates a Secret volume: each file replaced whole.
    for (file, text) in [("tls.key", &new_key), ("tls.crt", &new_crt)] {
        let tmp = set.tls.join(format!(".{file}.new"));
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, set.tls.join(file)).expect("rename");
    }
    for (i, before) in expiry_before.iter().enumerate() {
        eventually(
            Duration::from_secs(30),
            &format!("{} serves the new certificate", set.replicas[i].name),
            || {
                (set.metric(i, "stackhook_tls_certificate_expiry_timestamp_seconds", "") != *before)
                    .then_some(())
            },
        );
    }
    set_ca_bundle(c, &new_ca);
}

/// Sets the caBundle of every webhook of the chart's two configurations.
fn set_ca_bundle(c: &Cluster, pem: &str) {
    use base64::Engine as _;
    let bundle = base64::engine::general_purpose::STANDARD.encode(pem);
    for kind in [
        "mutatingwebhookconfiguration",
        "validatingwebhookconfiguration",
    ] {
        let config = c.get(kind, None, RELEASE).expect("the configuration");
        let count = config["webhooks"].as_array().map_or(0, Vec::len);
        let patch: Vec<Value> = (0..count)
            .map(|i| {
                json!({"op": "replace", "path": format!("/webhooks/{i}/clientConfig/caBundle"), "value": bundle})
            })
            .collect();
        c.kubectl_ok(
            &[
                "patch",
                kind,
                RELEASE,
                "--type=json",
                "-p",
                &Value::from(patch).to_string(),
            ],
            "",
        );
    }
}
