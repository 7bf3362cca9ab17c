//! `stackhook serve`: arguments → the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::logging::{self, LogFormat};
use stackhook_core::orchestrate::OrchestrateSettings;

use super::wiring::{self, ControllerSettings, ServeSettings};
use crate::server::{self, ServerSettings};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Catalogs of Stacks, Depots and workloads (files or directories), reloaded when
    /// they change. Default: the example catalog built into the binary.
    #[arg(
        long = "catalog",
        value_name = "DIR",
        env = "STACKHOOK_CATALOG",
        value_delimiter = ','
    )]
    catalogs: Vec<PathBuf>,
    /// Address of the HTTPS admission listener.
    #[arg(long, default_value = "0.0.0.0:8443", env = "STACKHOOK_LISTEN")]
    listen: SocketAddr,
    /// Address of the plain-HTTP listener for /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080", env = "STACKHOOK_PROBE_LISTEN")]
    probe_listen: SocketAddr,
    /// Serving certificate (PEM); reloaded when it changes. Without it, a
    /// self-signed certificate is made.
    #[arg(
        long,
        value_name = "FILE",
        env = "STACKHOOK_TLS_CERT",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// Serving certificate's key (PEM).
    #[arg(
        long,
        value_name = "FILE",
        env = "STACKHOOK_TLS_KEY",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Require a client certificate signed by this CA (the API server's).
    #[arg(long, value_name = "FILE", env = "STACKHOOK_CLIENT_CA")]
    client_ca: Option<PathBuf>,
    /// DNS names of the self-signed certificate (repeatable).
    #[arg(long = "dns", value_name = "NAME", default_value = "localhost")]
    dns: Vec<String>,
    /// Where to write the self-signed certificate's CA bundle.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
    /// Per-review deadline, below the webhook's `timeoutSeconds` (10 s by default): a
    /// review not decided by then is answered with a denial saying so.
    #[arg(long, default_value = "8s", value_parser = parse_duration, env = "STACKHOOK_REQUEST_TIMEOUT")]
    request_timeout: Duration,
    /// Longest TLS handshake; a connection that does not finish it is closed.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    tls_handshake_timeout: Duration,
    /// Longest wait for a request's headers (HTTP/1.1).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// A connection without traffic this long is closed.
    #[arg(long, default_value = "90s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// With the catalog from the cluster: once a watch has been failing this long
    /// (the API server unreachable or restarting), reviews are denied saying so and
    /// /readyz fails, until the watch has listed again; `0s`: no bound.
    #[arg(long, default_value = "60s", value_parser = parse_duration, env = "STACKHOOK_CATALOG_STALENESS_BOUND")]
    catalog_staleness_bound: Duration,
    /// After SIGTERM, keep accepting and answering reviews this long (with /readyz
    /// saying "shutting down") before closing the listener: the API server routes a
    /// call to an endpoint until it sees it not ready, and never retries a call whose
    /// connection is refused. Set it above the time an EndpointSlice change takes to
    /// reach the API server (the chart sets 5s).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    shutdown_delay: Duration,
    /// Most admission connections open at once (more wait to be accepted).
    #[arg(long, default_value_t = 1024, env = "STACKHOOK_MAX_CONNECTIONS")]
    max_connections: usize,
    /// Most concurrent HTTP/2 streams on one connection.
    #[arg(long, default_value_t = 250)]
    max_concurrent_streams: u32,
    /// Most admission requests read or answered at once (bodies up to 3 MiB each);
    /// more wait for a slot.
    #[arg(long, default_value_t = 64)]
    max_requests_in_flight: usize,
    /// Decisions that may run at once (default: one per core).
    #[arg(long, env = "STACKHOOK_DECISION_THREADS")]
    decision_threads: Option<usize>,
    /// Decisions that may wait for a thread; past that, reviews are denied at once
    /// ("try again").
    #[arg(long, default_value_t = 64)]
    queued_decisions: usize,
    /// The most time one review's templates may take in all (a Workflow renders one
    /// per step); past it the review is denied, naming the budget.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    review_time_budget: Duration,
    /// Refuse deleting a Stack that workloads use (`=false`: allow it; their pods then
    /// fail admission until the Stack is back).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
          env = "STACKHOOK_DENY_STACK_DELETE_IN_USE")]
    deny_stack_delete_in_use: bool,
    /// Refuse deleting a Depot that workloads' addresses name (`=false`: allow it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL",
          env = "STACKHOOK_DENY_DEPOT_DELETE_IN_USE")]
    deny_depot_delete_in_use: bool,
    /// The projector image injected into pods (default: this version's stackhook image).
    #[arg(long, env = "STACKHOOK_PROJECTOR_IMAGE")]
    projector_image: Option<String>,
    /// Read Stacks, Depots, workloads and `stackhook-config` from the cluster through
    /// watches. The default inside a cluster when no --catalog is given.
    #[arg(long, env = "STACKHOOK_KUBE", conflicts_with = "catalogs")]
    kube: bool,
    /// Also run the controller (with --kube): ConfigMaps, Deployments, Jobs, CronJobs,
    /// Services for every workload, under a Lease.
    #[arg(long, env = "STACKHOOK_CONTROLLER")]
    controller: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "STACKHOOK_LOG_FORMAT")]
    log_format: LogFormat,
}

/// Settings of the in-cluster mode, shared by `serve` and `controller`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The namespace stackhook runs in: its `stackhook-config` applies after the
    /// workload's own, and the controller's Lease lives there.
    #[arg(long, env = "POD_NAMESPACE")]
    release_namespace: Option<String>,
    /// This replica's name in the Lease (default: the host name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Ingress hosts are `<name>.<namespace>.<suffix>` unless a namespace's
    /// `stackhook-config` says otherwise.
    #[arg(
        long,
        default_value = "example.com",
        env = "STACKHOOK_INGRESS_DOMAIN_SUFFIX"
    )]
    ingress_domain_suffix: String,
    /// The namespaces whose workloads the controller manages (default: all but
    /// kube-system, kube-public, kube-node-lease and the release namespace, which
    /// are never managed).
    #[arg(
        long,
        env = "STACKHOOK_NAMESPACES",
        value_delimiter = ',',
        value_name = "NS"
    )]
    namespaces: Vec<String>,
    /// The kinds a Stack's `resourceTemplate` may make, as `Kind.group`
    /// (`SparkApplication.sparkoperator.k8s.io`; `Kind` for the core group). A
    /// workload whose Stack makes another kind is not applied (`KindNotAllowed`).
    #[arg(
        long,
        env = "STACKHOOK_RESOURCE_TEMPLATE_KINDS",
        value_delimiter = ',',
        value_name = "KIND"
    )]
    resource_template_kinds: Vec<String>,
    /// Delete a labelled pod that escaped admission (created without the webhook's
    /// injection, or injected for a Stamp no longer kept) when an owner (a ReplicaSet,
    /// a Job) will recreate it through admission. Such pods are reported (metric,
    /// Events, the workload's PodsInjected condition) either way.
    #[arg(long, env = "STACKHOOK_DELETE_ESCAPED_PODS")]
    delete_escaped_pods: bool,
}

impl ClusterArgs {
    pub(crate) fn release_namespace(&self) -> Option<String> {
        self.release_namespace.clone()
    }

    pub(crate) fn controller(&self) -> ControllerSettings {
        let identity = self.identity.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| format!("stackhook-{}", std::process::id()))
        });
        ControllerSettings {
            identity,
            orchestrate: OrchestrateSettings {
                ingress_domain_suffix: self.ingress_domain_suffix.clone(),
                resource_kinds: Some(
                    self.resource_template_kinds
                        .iter()
                        .filter(|k| !k.is_empty())
                        .cloned()
                        .collect(),
                ),
            },
            namespaces: crate::controller::Namespaces {
                only: self.namespaces.iter().any(|n| !n.is_empty()).then(|| {
                    self.namespaces
                        .iter()
                        .filter(|n| !n.is_empty())
                        .cloned()
                        .collect()
                }),
                release: None,
            },
            delete_escaped: self.delete_escaped_pods,
        }
    }
}

/// Whether this process runs in a Kubernetes pod (the API server's address is set).
pub(crate) fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 8s or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{s:?} is not a duration such as 8s or 500ms")),
    }
}

impl ServeArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            catalogs,
            listen,
            probe_listen,
            tls_cert,
            tls_key,
            client_ca,
            dns,
            ca_out,
            request_timeout,
            tls_handshake_timeout,
            header_read_timeout,
            idle_timeout,
            shutdown_delay,
            catalog_staleness_bound,
            max_connections,
            max_concurrent_streams,
            max_requests_in_flight,
            decision_threads,
            queued_decisions,
            review_time_budget,
            deny_stack_delete_in_use,
            deny_depot_delete_in_use,
            projector_image,
            kube,
            controller,
            cluster,
            log_format,
        } = self;
        let kube = *kube || (catalogs.is_empty() && in_cluster());
        if *controller && !kube {
            anyhow::bail!(wiring::CONTROLLER_NEEDS_KUBE);
        }
        logging::init(*log_format);
        let server = ServerSettings {
            listen: *listen,
            probe_listen: *probe_listen,
            tls_cert: tls_cert.clone(),
            tls_key: tls_key.clone(),
            client_ca: client_ca.clone(),
            dns: dns.clone(),
            ca_out: ca_out.clone(),
            deadline: *request_timeout,
            limits: server::ConnectionLimits {
                handshake_timeout: *tls_handshake_timeout,
                header_read_timeout: *header_read_timeout,
                idle_timeout: *idle_timeout,
                max_connections: (*max_connections).max(1),
                max_concurrent_streams: (*max_concurrent_streams).max(1),
                max_requests_in_flight: (*max_requests_in_flight).max(1),
            },
            decision_threads: decision_threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            queued_decisions: *queued_decisions,
            review_time: *review_time_budget,
            engine: stackhook_core::engine::EngineSettings {
                deny_stack_delete_in_use: *deny_stack_delete_in_use,
                deny_depot_delete_in_use: *deny_depot_delete_in_use,
                ..Default::default()
            },
            shutdown_grace: Duration::from_secs(25),
            shutdown_delay: *shutdown_delay,
            catalog_staleness_bound: (!catalog_staleness_bound.is_zero())
                .then_some(*catalog_staleness_bound),
            projector_image: projector_image.clone(),
        };
        let settings = ServeSettings {
            server,
            catalogs: catalogs.clone(),
            reload_interval: Duration::from_secs(2),
            kube,
            release_namespace: cluster.release_namespace(),
            controller: controller.then(|| cluster.controller()),
        };
        // Decisions run on the blocking threads: a deep template or schema walk gets
        // a generous stack, whatever the platform's default.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(8 << 20)
            .build()?;
        runtime.block_on(wiring::serve(settings))?;
        Ok(ExitCode::SUCCESS)
    }
}
