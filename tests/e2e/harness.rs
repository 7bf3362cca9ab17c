//! The real control plane under the end-to-end tests: stackhook installed into it the
//! way users install it, once per control plane, shared by every test.
//!
//! `STACKHOOK_E2E_KUBECONFIG` names the admin kubeconfig of a control plane that
//! `scripts/control-plane.sh up DIR` started (`scripts/test.sh` does it). Without it a
//! test is skipped on a developer machine and fails under `CI=true`.
//!
//! The first test to get here (under a file lock, since nextest runs each test in a
//! process of its own) installs the chart with `helm install`, with its webhook
//! configurations pointed at `https://localhost:PORT` (`webhook.url`), then runs the
//! webhook (`stackhook serve --kube`) and the controller (`stackhook controller`) as
//! local processes with tokens of the chart's own service accounts (TokenRequest), so
//! what they may do is what the chart's RBAC grants. The processes outlive the test that
//! started them; `scripts/control-plane.sh down DIR` stops them with the control plane.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Run, repo};

/// The release the suite installs, and its namespace.
pub const RELEASE: &str = "stackhook";
pub const RELEASE_NAMESPACE: &str = "stackhook-system";
/// The namespaces the chart's controller is given (a Role in each): tests that need
/// the controller put their workloads here, under names of their own.
pub const CONTROLLER_NAMESPACES: [&str; 2] = ["e2e-controller", "e2e-tenant"];
/// The service accounts the chart makes.
pub const WEBHOOK_ACCOUNT: &str = "stackhook";
pub const CONTROLLER_ACCOUNT: &str = "stackhook-controller";

/// The control plane with stackhook installed.
pub struct Cluster {
    /// The control plane's folder (`up DIR`).
    pub dir: PathBuf,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// kubectl, helm, … as `scripts/control-plane.sh` built them.
    pub bin: PathBuf,
    /// What the install left: ports of the local webhook and controller.
    pub state: Value,
}

/// The installed cluster, or `None` (a skip) when no control plane is given. Panics
/// under `CI=true` without one: the suite must run there.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let Some(kubeconfig) = std::env::var_os("STACKHOOK_E2E_KUBECONFIG") else {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "STACKHOOK_E2E_KUBECONFIG is required under CI=true (.ci/run starts the control plane with scripts/control-plane.sh up)"
                );
                eprintln!(
                    "skipping: no control plane (STACKHOOK_E2E_KUBECONFIG; scripts/test.sh starts one)"
                );
                return None;
            };
            let kubeconfig = PathBuf::from(kubeconfig);
            let dir = kubeconfig
                .parent()
                .expect("the kubeconfig is in the control plane's folder")
                .to_path_buf();
            let bin = PathBuf::from(
                std::fs::read_to_string(dir.join("bin"))
                    .expect("DIR/bin names the control plane's binaries (written by up)")
                    .trim(),
            );
            let mut cluster = Cluster {
                dir,
                kubeconfig,
                bin,
                state: Value::Null,
            };
            cluster.state = cluster.install_once();
            Some(cluster)
        })
        .as_ref()
}

/// A control plane of one test's own, with stackhook installed as in the shared one,
/// for what would disturb the others (restarting kube-apiserver); stopped on drop.
pub struct PrivateCluster {
    /// The cluster.
    pub cluster: Cluster,
    _dir: tempfile::TempDir,
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo("scripts/control-plane.sh"))
            .arg("down")
            .arg(&self.cluster.dir)
            .status();
    }
}

/// Starts a private control plane (`scripts/control-plane.sh up`, with the shared
/// one's binaries) and installs stackhook into it; `None` where the suite is skipped.
pub fn private_cluster() -> Option<PrivateCluster> {
    let mut private = private_control_plane()?;
    // Installed in place: a failure drops `private`, which stops its control plane.
    private.cluster.state = private.cluster.install_once();
    Some(private)
}

/// Starts a private control plane with nothing installed; `None` where the suite is
/// skipped.
pub fn private_control_plane() -> Option<PrivateCluster> {
    let shared = cluster()?;
    let dir = tempfile::Builder::new()
        .prefix("stackhook-e2e-private.")
        .tempdir()
        .expect("a folder for the private control plane");
    let up = run(
        Command::new("bash")
            .arg(repo("scripts/control-plane.sh"))
            .arg("up")
            .arg(dir.path()),
        "",
    );
    assert_eq!(up.code, 0, "control-plane.sh up:\n{}", up.stderr);
    let kubeconfig = PathBuf::from(
        up.stdout
            .lines()
            .find_map(|l| l.strip_prefix("KUBECONFIG="))
            .expect("up prints KUBECONFIG="),
    );
    let private = PrivateCluster {
        cluster: Cluster {
            dir: dir.path().to_path_buf(),
            kubeconfig,
            bin: shared.bin.clone(),
            state: Value::Null,
        },
        _dir: dir,
    };
    Some(private)
}

/// Waits until `check` holds, polling; panics with `what` after `limit`.
pub fn eventually<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A digest of every file of the chart, so that a changed chart is installed again.
fn chart_digest() -> String {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(repo("charts/stackhook"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    for f in files {
        f.hash(&mut hasher);
        std::fs::read(&f).unwrap_or_default().hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether a process is running (not gone, not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

impl Cluster {
    /// Runs kubectl as the admin with `stdin`.
    pub fn kubectl(&self, args: &[&str], stdin: &str) -> Run {
        self.kubectl_with(&self.kubeconfig, args, stdin)
    }

    /// Runs kubectl with another kubeconfig.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str], stdin: &str) -> Run {
        run(
            Command::new(self.bin.join("kubectl"))
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(args),
            stdin,
        )
    }

    /// kubectl that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str], stdin: &str) -> String {
        let run = self.kubectl(args, stdin);
        assert_eq!(
            run.code,
            0,
            "kubectl {}:\n{}{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
        run.stdout
    }

    /// An object as JSON, or `None` when it does not exist.
    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let mut args = vec!["get", kind, name, "-o", "json"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        let run = self.kubectl(&args, "");
        if run.code != 0 {
            assert!(
                run.stderr.contains("NotFound") || run.stderr.contains("not found"),
                "kubectl {}: {}",
                args.join(" "),
                run.stderr
            );
            return None;
        }
        Some(serde_json::from_str(&run.stdout).expect("kubectl's JSON"))
    }

    /// Writes the chart's serving certificate and key (its Secret) to
    /// `DIR/stackhook-tls/`, as a Secret volume would hold them; returns the folder.
    pub fn write_serving_certificate(&self) -> PathBuf {
        let secret = self
            .get("secret", Some(RELEASE_NAMESPACE), &format!("{RELEASE}-tls"))
            .expect("the chart's serving certificate Secret");
        let pem = |key: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(secret["data"][key].as_str().unwrap_or_default())
                .expect("base64 in the Secret")
        };
        let tls = self.dir.join("stackhook-tls");
        std::fs::create_dir_all(&tls).expect("mkdir");
        std::fs::write(tls.join("tls.crt"), pem("tls.crt")).expect("write");
        std::fs::write(tls.join("tls.key"), pem("tls.key")).expect("write");
        tls
    }

    /// Runs helm with the admin kubeconfig.
    pub fn helm(&self, args: &[&str]) -> Run {
        let home = self.dir.join("helm-home");
        run(
            Command::new(self.bin.join("helm"))
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args)
                .env("HELM_CACHE_HOME", home.join("cache"))
                .env("HELM_CONFIG_HOME", home.join("config"))
                .env("HELM_DATA_HOME", home.join("data")),
            "",
        )
    }

    /// A fresh namespace for one test (`<prefix>-<n>`), labelled like the suite's.
    pub fn namespace(&self, prefix: &str) -> String {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        self.apply_json(&json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"stackhook.io/e2e": "true"}}
        }));
        name
    }

    /// `kubectl apply` of one object (JSON), which must succeed.
    pub fn apply_json(&self, object: &Value) -> String {
        self.kubectl_ok(&["apply", "-f", "-"], &object.to_string())
    }

    /// The documents of a YAML file of the repository, with `namespace` set on the
    /// namespaced ones (the examples are written for `retail`).
    pub fn documents(&self, path: &str, namespace: Option<&str>) -> Vec<Value> {
        let text = std::fs::read_to_string(repo(path)).expect("a repository file");
        goyaml::parse_documents(&text)
            .expect("valid YAML")
            .into_iter()
            .map(|d| d.value)
            .filter(|v| v.is_object())
            .map(|mut v| {
                if let Some(ns) = namespace
                    && v["metadata"].get("namespace").is_some()
                {
                    v["metadata"]["namespace"] = json!(ns);
                }
                v
            })
            .collect()
    }

    /// A kubeconfig for a service account of the release, with a token from the
    /// TokenRequest API: what the account may do is what RBAC grants it.
    pub fn account_kubeconfig(&self, account: &str, namespace: &str) -> PathBuf {
        let token = self.kubectl_ok(
            &[
                "create",
                "token",
                account,
                "-n",
                namespace,
                "--duration=24h",
            ],
            "",
        );
        let server = self.kubectl_ok(
            &[
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.clusters[0].cluster.server}",
            ],
            "",
        );
        let path = self.dir.join(format!("{namespace}.{account}.kubeconfig"));
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: {account}\n  user:\n    token: {token}\ncontexts:\n- name: local\n  context: {{cluster: local, user: {account}, namespace: {namespace}}}\ncurrent-context: local\n",
            ca = self.dir.join("pki/ca.crt").display(),
            token = token.trim(),
        );
        std::fs::write(&path, text).expect("write the kubeconfig");
        path
    }

    /// Installs the chart and starts the local processes, once per control plane (a
    /// file lock orders the test processes; the state file says it was done).
    fn install_once(&self) -> Value {
        let lock = File::create(self.dir.join("stackhook-e2e.lock")).expect("the lock file");
        lock.lock().expect("the install lock");
        let state_file = self.dir.join("stackhook-e2e.json");
        let binary = env!("CARGO_BIN_EXE_stackhook");
        // What was installed: this build of the binary and this text of the chart.
        let built = format!(
            "{:?} {}",
            std::fs::metadata(binary).and_then(|m| m.modified()).ok(),
            chart_digest()
        );
        let kept: Option<Value> = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let state = match kept {
            Some(state) if state["binary"] == json!(built) && self.processes_alive(&state) => state,
            Some(state) => {
                // A new build, or a process that died: the release upgraded (the chart
                // may have changed too), new processes on the same port.
                self.stop_processes();
                let mut state = self.helm_install(state["webhook_port"].as_u64());
                self.start_processes(&mut state);
                state["binary"] = json!(built);
                self.seed();
                state
            }
            None => {
                let mut state = self.helm_install(None);
                self.start_processes(&mut state);
                state["binary"] = json!(built);
                self.seed();
                state
            }
        };
        std::fs::write(&state_file, state.to_string()).expect("write the state file");
        drop(lock);
        state
    }

    fn processes_alive(&self, state: &Value) -> bool {
        ["stackhook-webhook", "stackhook-controller"]
            .iter()
            .all(|name| {
                std::fs::read_to_string(self.dir.join(format!("{name}.pid")))
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                    .is_some_and(pid_alive)
            })
            && state["webhook_port"].is_u64()
    }

    /// Stops the local webhook and controller.
    pub fn stop_processes(&self) {
        for name in ["stackhook-webhook", "stackhook-controller"] {
            let pid_file = self.dir.join(format!("{name}.pid"));
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok())
            {
                let _ = Command::new("kill").arg(pid.to_string()).status();
                eventually(Duration::from_secs(10), "the old process ends", || {
                    (!pid_alive(pid)).then_some(())
                });
            }
            let _ = std::fs::remove_file(pid_file);
        }
    }

    /// `helm install` of the chart, its webhooks pointed at a local port.
    fn helm_install(&self, port: Option<u64>) -> Value {
        for ns in CONTROLLER_NAMESPACES {
            self.apply_json(&json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"stackhook.io/e2e": "true"}}
            }));
        }
        let port = port.unwrap_or_else(|| u64::from(free_port()));
        let namespaces = format!(
            "controller.namespaces={{{}}}",
            CONTROLLER_NAMESPACES.join(",")
        );
        let url = format!("webhook.url=https://localhost:{port}");
        // `upgrade --install`: a run that stopped half-way left the release behind.
        let run = self.helm(&[
            "upgrade",
            "--install",
            RELEASE,
            repo("charts/stackhook").to_str().expect("a UTF-8 path"),
            "--namespace",
            RELEASE_NAMESPACE,
            "--create-namespace",
            "--set",
            &url,
            "--set",
            &namespaces,
            "--set",
            "webhook.timeoutSeconds=10",
        ]);
        assert_eq!(
            run.code, 0,
            "helm install of charts/stackhook:\n{}{}",
            run.stdout, run.stderr
        );
        json!({"webhook_port": port})
    }

    /// What the tests share, applied through the webhook: the example Stacks
    /// (cluster-scoped) and the example Depots in the controller's namespaces.
    pub fn seed(&self) {
        for ns in CONTROLLER_NAMESPACES {
            for doc in self.documents("examples/catalog/depots.yaml", Some(ns)) {
                self.apply_json(&doc);
            }
        }
        for path in [
            "examples/catalog/stack-benthos.yaml",
            "examples/catalog/stack-flare.yaml",
        ] {
            for doc in self.documents(path, None) {
                self.apply_json(&doc);
            }
        }
    }

    /// Starts the webhook and the controller as local processes with the chart's
    /// service accounts' tokens and the chart's serving certificate.
    fn start_processes(&self, state: &mut Value) {
        let port = state["webhook_port"].as_u64().expect("the webhook port");
        let tls = self.write_serving_certificate();

        let webhook_probe = free_port();
        let webhook_kubeconfig = self.account_kubeconfig(WEBHOOK_ACCOUNT, RELEASE_NAMESPACE);
        self.spawn(
            "stackhook-webhook",
            &webhook_kubeconfig,
            &[
                "serve",
                "--kube",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--probe-listen",
                &format!("127.0.0.1:{webhook_probe}"),
                "--tls-cert",
                tls.join("tls.crt").to_str().expect("UTF-8"),
                "--tls-key",
                tls.join("tls.key").to_str().expect("UTF-8"),
                "--release-namespace",
                RELEASE_NAMESPACE,
            ],
        );
        let controller_probe = free_port();
        self.spawn_controller(controller_probe, &[]);
        state["webhook_probe"] = json!(webhook_probe);
        state["controller_probe"] = json!(controller_probe);
        for (what, probe) in [
            ("stackhook-webhook", webhook_probe),
            ("stackhook-controller", controller_probe),
        ] {
            eventually(
                Duration::from_secs(60),
                &format!("{what} ready (log: {})", self.log(what).display()),
                || {
                    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], probe));
                    (crate::serve::probe_get(addr, "/readyz").0 == 200).then_some(())
                },
            );
        }
    }

    /// Starts the local controller on `probe`, with `extra` arguments.
    fn spawn_controller(&self, probe: u16, extra: &[&str]) {
        let kubeconfig = self.account_kubeconfig(CONTROLLER_ACCOUNT, RELEASE_NAMESPACE);
        let probe_listen = format!("127.0.0.1:{probe}");
        let namespaces = CONTROLLER_NAMESPACES.join(",");
        let mut args = vec![
            "controller",
            "--probe-listen",
            &probe_listen,
            "--release-namespace",
            RELEASE_NAMESPACE,
            "--namespaces",
            &namespaces,
            "--identity",
            "e2e-controller",
        ];
        args.extend_from_slice(extra);
        self.spawn("stackhook-controller", &kubeconfig, &args);
    }

    /// Restarts the local controller with `extra` arguments, on the same probe port,
    /// and waits until it is ready. For a private cluster only: the shared one's
    /// processes are the other tests' too.
    pub fn restart_controller(&self, extra: &[&str]) {
        let pid_file = self.dir.join("stackhook-controller.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            eventually(Duration::from_secs(30), "the controller ends", || {
                (!pid_alive(pid)).then_some(())
            });
        }
        let probe = self.state["controller_probe"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("the controller's probe port");
        self.spawn_controller(probe, extra);
        eventually(Duration::from_secs(60), "the controller ready", || {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], probe));
            (crate::serve::probe_get(addr, "/readyz").0 == 200).then_some(())
        });
    }

    /// The log file of a local process.
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{name}.log"))
    }

    // Never waited for on purpose: the process outlives this test process (init reaps
    // it), and `control-plane.sh down` stops it through its pid file.
    #[allow(clippy::zombie_processes)]
    /// Starts `stackhook ARGS` as `name` (its log and pid file in the control plane's
    /// folder) with `kubeconfig`.
    pub fn spawn(&self, name: &str, kubeconfig: &Path, args: &[&str]) {
        let log = File::create(self.log(name)).expect("the log file");
        let child = Command::new(env!("CARGO_BIN_EXE_stackhook"))
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            // Its own process group: it outlives this test process, and the control
            // plane's `down` stops it.
            .process_group(0)
            .spawn()
            .expect("start stackhook");
        std::fs::write(self.dir.join(format!("{name}.pid")), child.id().to_string())
            .expect("write the pid file");
    }
}

/// Runs a command with `stdin`.
pub fn run(command: &mut Command, stdin: &str) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child
        .wait_with_output()
        .expect("wait for the command")
        .into()
}
