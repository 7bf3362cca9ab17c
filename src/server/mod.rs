//! `stackhook serve`: the HTTPS admission server the API server calls.
//!
//! One TLS listener for `/validate` and `/mutate` (HTTP/1.1 and HTTP/2), one plain
//! listener for probes and metrics, a catalog (files, reloaded on change, or the
//! embedded examples), certificates from files (reloaded on change) or generated
//! self-signed. SIGTERM makes `/readyz` fail, keeps serving for `--shutdown-delay`
//! (until the API server has seen the endpoint not ready), then stops accepting, lets
//! in-flight requests finish, and exits 0.
//!
//! Whatever one request does, the server stays responsive: decisions run on a bounded
//! pool off the async runtime ([`decide`]), connections are bounded ([`conn`]), and the
//! probes are served by a thread of their own, so the kubelet's `/healthz` never waits
//! behind admission work.

pub mod catalog;
pub mod conn;
pub mod decide;
pub mod http;
pub mod metrics;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use stackhook_core::inject::Config;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::certs;
use catalog::CatalogState;
pub use conn::ConnectionLimits;
use decide::DecisionPool;
use http::AppState;
use metrics::Metrics;
use tls::ReloadingResolver;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address of the TLS admission listener.
    pub listen: SocketAddr,
    /// Address of the plain probe/metrics listener.
    pub probe_listen: SocketAddr,
    /// Serving certificate file (PEM).
    pub tls_cert: Option<PathBuf>,
    /// Its key file (PEM).
    pub tls_key: Option<PathBuf>,
    /// CA of required client certificates.
    pub client_ca: Option<PathBuf>,
    /// DNS names of a self-signed certificate.
    pub dns: Vec<String>,
    /// Where to write a self-signed certificate's CA.
    pub ca_out: Option<PathBuf>,
    /// Catalog directories (empty: the embedded examples).
    pub catalogs: Vec<PathBuf>,
    /// Per-review deadline (below the webhook's `timeoutSeconds`).
    pub deadline: Duration,
    /// Bounds of admission connections.
    pub limits: ConnectionLimits,
    /// Decisions that may run at once.
    pub decision_threads: usize,
    /// Decisions that may wait for a thread.
    pub queued_decisions: usize,
    /// The most time one review's templates may take in all.
    pub review_time: Duration,
    /// Admission settings (the in-use checks on deletion).
    pub options: stackhook_core::admit::Options,
    /// How often the catalog files are checked.
    pub reload_interval: Duration,
    /// How long in-flight requests may take after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long the listener keeps accepting after SIGTERM (not ready meanwhile).
    pub shutdown_delay: Duration,
    /// With `kube`: how long a watch may fail before reviews are denied and the
    /// process is not ready (`None`: no bound).
    pub catalog_staleness_bound: Option<Duration>,
    /// The projector image injected into pods.
    pub projector_image: Option<String>,
    /// Read the catalog from the cluster's watches instead of files.
    pub kube: bool,
    /// The namespace stackhook runs in: its `stackhook-config` applies after the
    /// workload's own, and the controller's Lease lives there.
    pub release_namespace: Option<String>,
    /// Also run the controller (needs `kube`).
    pub controller: Option<ControllerSettings>,
}

/// Why `--controller` is refused without the cluster's catalog.
pub const CONTROLLER_NEEDS_KUBE: &str = "--controller needs the catalog from the cluster (--kube, or run in a cluster without --catalog)";

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct ControllerSettings {
    /// This replica's name in the Lease (the pod name).
    pub identity: String,
    /// Installation-wide defaults.
    pub defaults: stackhook_core::orchestrate::Defaults,
    /// The namespaces it manages (`--namespaces`; the release namespace is added).
    pub namespaces: crate::controller::Namespaces,
    /// Whether an escaped pod with an owner is deleted (`--delete-escaped-pods`).
    pub delete_escaped: bool,
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(config: ServeConfig) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let catalog = Arc::new(CatalogState::new());

    // Certificates first: a server that cannot serve TLS should fail at once.
    let (resolver, watched) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let (k, expiry) = tls::load(cert, key).context("cannot load --tls-cert/--tls-key")?;
            (
                Arc::new(ReloadingResolver::new(k, expiry)),
                Some((cert.clone(), key.clone())),
            )
        }
        (None, None) => {
            let bundle =
                certs::generate(&config.dns).context("cannot make a self-signed certificate")?;
            if let Some(path) = &config.ca_out {
                certs::write_file(path, &bundle.ca_pem, false)?;
                tracing::info!(ca = %path.display(), dns = ?config.dns, "self-signed certificate; CA bundle written");
            } else {
                tracing::info!(dns = ?config.dns, "self-signed certificate (give --ca-out to save its CA bundle)");
            }
            let (k, expiry) =
                tls::certified_key(bundle.cert_pem.as_bytes(), bundle.key_pem.as_bytes())?;
            (Arc::new(ReloadingResolver::new(k, expiry)), None)
        }
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    metrics.certificate_expiry.set(resolver.expiry());
    let server_config = tls::server_config(Arc::clone(&resolver), config.client_ca.as_deref())?;
    let acceptor = TlsAcceptor::from(Arc::new(server_config));

    let mut inject = Config::default();
    if let Some(image) = &config.projector_image {
        inject.projector_image = image.clone();
    }
    let mut app = AppState::new(
        Arc::clone(&catalog),
        inject,
        Arc::clone(&metrics),
        config.deadline,
    );
    app.decisions = DecisionPool::new(config.decision_threads, config.queued_decisions);
    app.review_time = config.review_time;
    app.options = config.options.clone();
    let state = Arc::new(app);

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let probe = serve_probes(config.probe_listen, http::probe_router(Arc::clone(&state)))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        probe = %probe,
        "serving /validate and /mutate over TLS; probes and metrics over HTTP"
    );

    // The catalog loads after the listeners are up, so /readyz can say "not yet".
    let cluster = if config.kube {
        catalog.set_staleness_bound(config.catalog_staleness_bound);
        // The controller in this process reads the watches' stores; without it the
        // catalog keeps the objects packed and holds the only copy.
        let keep_stores = config.controller.is_some();
        Some(
            start_cluster(
                config.release_namespace.clone(),
                &catalog,
                &metrics,
                keep_stores,
            )
            .await?,
        )
    } else {
        load_files(&config, &catalog, &metrics).await?;
        None
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let controller = match (&config.controller, cluster) {
        (Some(settings), Some(cluster)) => Some(tokio::spawn(run_controller(
            settings.clone(),
            config.release_namespace.clone(),
            cluster,
            Arc::clone(&catalog),
            stop_rx,
            Arc::clone(&state.components),
            Arc::clone(&metrics),
        ))),
        (Some(_), None) => anyhow::bail!(CONTROLLER_NEEDS_KUBE),
        _ => None,
    };
    if let Some((cert, key)) = watched {
        let (r, m) = (Arc::clone(&resolver), Arc::clone(&metrics));
        tokio::spawn(async move {
            let expiry = tokio::spawn(tls::watch(
                Arc::clone(&r),
                cert,
                key,
                Duration::from_secs(1),
            ));
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                m.certificate_expiry.set(r.expiry());
                if expiry.is_finished() {
                    break;
                }
            }
        });
    }

    let limits = config.limits;
    let components = Arc::clone(&state.components);
    let router = http::admission_router(state, limits.max_requests_in_flight);
    let builder = conn::http_builder(&limits);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (stop_conns, stop_rx_conns) = tokio::sync::watch::channel(false);
    let shutdown = {
        let delay = config.shutdown_delay;
        async move {
            shutdown_signal().await;
            if !delay.is_zero() {
                components.down("shutdown", "shutting down");
                tracing::info!(
                    delay = ?delay,
                    "stopping: not ready; still serving until the endpoint is gone"
                );
                tokio::time::sleep(delay).await;
            }
        }
    };
    tokio::pin!(shutdown);
    loop {
        // A permit per open connection: at the cap, new ones wait in the kernel's
        // backlog until one closes.
        let permit = tokio::select! {
            p = Arc::clone(&connections).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without it Nagle holds the last TLS record of a response until the
        // client's delayed ACK: milliseconds added to a sub-millisecond answer.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let (acceptor, builder, router) = (acceptor.clone(), builder.clone(), router.clone());
        let stop = stop_rx_conns.clone();
        tokio::spawn(async move {
            let _permit = permit;
            conn::serve(tcp, peer, acceptor, builder, router, limits, stop).await;
        });
    }
    drop(listener);
    tracing::info!("stopping: no new connections; finishing requests in flight");
    let _ = stop_conns.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(config.shutdown_grace, connections.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period; closing");
    }
    let _ = stop_tx.send(true);
    if let Some(c) = controller {
        let _ = c.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves the probe routes on a thread and runtime of their own, so that no amount of
/// admission work can delay `/healthz`. Returns the address bound.
pub fn serve_probes(addr: SocketAddr, router: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("stackhook-probes".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the probe listener");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "probe listener stopped");
                        return;
                    }
                };
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "probe listener stopped");
                }
            });
        })?;
    Ok(bound)
}

/// Loads the catalog from files (or the embedded examples) and watches the files.
async fn load_files(
    config: &ServeConfig,
    catalog: &Arc<CatalogState>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<()> {
    let dirs = config.catalogs.clone();
    // As in a cluster: the release namespace's stackhook-config applies after a
    // workload's own.
    let ns = config
        .release_namespace
        .clone()
        .unwrap_or_else(|| crate::cli::DEFAULT_RELEASE_NAMESPACE.to_owned());
    let (loaded, files) = if dirs.is_empty() {
        let ns = ns.clone();
        let loaded = tokio::task::spawn_blocking(move || catalog::embedded(Some(&ns))).await?;
        (loaded, None)
    } else {
        let mut files = catalog::FileCatalog::new(dirs.clone(), Some(ns.clone()));
        let (loaded, files) = tokio::task::spawn_blocking(move || {
            let loaded = files.refresh().map(Option::unwrap_or_default);
            (loaded, files)
        })
        .await?;
        (loaded, Some(files))
    };
    let loaded = loaded.map_err(|e| anyhow::anyhow!("cannot load the catalog:\n{e}"))?;
    let counts = loaded.counts();
    catalog.replace(loaded, metrics);
    tracing::info!(
        stacks = counts.stacks,
        depots = counts.depots,
        workloads = counts.workloads,
        source = if dirs.is_empty() {
            "embedded examples"
        } else {
            "files"
        },
        "catalog loaded; ready"
    );
    if let Some(files) = files {
        tokio::spawn(catalog::watch(
            Arc::clone(catalog),
            Arc::clone(metrics),
            files,
            config.reload_interval,
        ));
    }
    Ok(())
}

/// The connection to the cluster: the client, the watches' stores, and where the
/// catalog announces what its changes touched.
pub struct Cluster {
    /// The API client.
    pub client: kube::Client,
    /// The reflectors' stores, when kept (the controller reconciles from the
    /// workload ones).
    pub stores: Option<crate::cluster::catalog::Stores>,
    /// What each catalog change touched.
    pub touched: crate::controller::Touched,
    /// Where the controller counts the violations `Warn` and `Audit` admitted
    /// (`stackhook_workload_violations`).
    pub violations: crate::controller::Violations,
}

/// Connects to the API server and starts the watches that fill the catalog; ready
/// once they have synced.
pub async fn start_cluster(
    release_namespace: Option<String>,
    catalog: &Arc<CatalogState>,
    metrics: &Arc<Metrics>,
    keep_stores: bool,
) -> anyhow::Result<Cluster> {
    // One level of the error: kube's own message already repeats its causes.
    let client = kube::Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("--kube: cannot make a Kubernetes client: {e}"))?;
    let (tx, _) = tokio::sync::broadcast::channel(crate::controller::TOUCHED_BACKLOG);
    let stores = crate::cluster::catalog::start(
        client.clone(),
        Arc::clone(catalog),
        Arc::clone(metrics),
        release_namespace,
        tx.clone(),
        keep_stores,
    );
    tracing::info!(
        "watching Stacks, Depots, workloads and stackhook-config; ready after the first sync"
    );
    Ok(Cluster {
        client,
        stores,
        touched: tx,
        violations: crate::controller::Violations(metrics.workload_violations.clone()),
    })
}

/// The controller's name among the [`http::Components`] `/readyz` answers for.
pub const CONTROLLER: &str = "controller";

/// Why the controller does not run without the watches' stores.
pub const CONTROLLER_NEEDS_STORES: &str =
    "the controller needs the watches' stores; none were kept";

/// Runs the controller under the Lease until `stop` turns true, saying in
/// `components` when it cannot run (so `/readyz` is not ready).
pub async fn run_controller(
    settings: ControllerSettings,
    release_namespace: Option<String>,
    cluster: Cluster,
    catalog: Arc<CatalogState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    components: Arc<http::Components>,
    metrics: Arc<Metrics>,
) {
    let Cluster {
        client,
        stores,
        touched,
        violations,
    } = cluster;
    let Some(stores) = stores else {
        tracing::error!("{CONTROLLER_NEEDS_STORES}");
        components.down(CONTROLLER, CONTROLLER_NEEDS_STORES);
        return;
    };
    let namespace = release_namespace.unwrap_or_else(|| client.default_namespace().to_owned());
    let mut ctx =
        crate::controller::Context::new(client, catalog, settings.defaults, &settings.identity);
    ctx.violations = violations;
    ctx.namespaces = crate::controller::Namespaces {
        release: Some(namespace.clone()),
        ..settings.namespaces
    };
    ctx.delete_escaped = settings.delete_escaped;
    ctx.metrics = metrics;
    let ctx = Arc::new(ctx);
    // Taking part in the election needs the API server (the Lease is read or made
    // first); while it cannot be reached, try again rather than idle without a
    // controller.
    let mut delay = Duration::from_secs(5);
    loop {
        let mut stop_here = stop.clone();
        let stopped = async move {
            let _ = stop_here.wait_for(|s| *s).await;
        };
        components.up(CONTROLLER);
        match crate::controller::run_leader(
            Arc::clone(&ctx),
            touched.clone(),
            stores.clone(),
            &namespace,
            &settings.identity,
            stopped,
        )
        .await
        {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(
                    error = %e,
                    retry_in_s = delay.as_secs(),
                    "the controller cannot take part in leader election"
                );
                components.down(
                    CONTROLLER,
                    format!("cannot take part in leader election: {e}"),
                );
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

/// `stackhook controller`: the probe listener, the catalog from the cluster and the
/// controller, without the admission listener. Runs until SIGTERM or SIGINT.
pub async fn run_controller_only(
    probe_listen: SocketAddr,
    release_namespace: Option<String>,
    settings: ControllerSettings,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let catalog = Arc::new(CatalogState::new());
    let state = Arc::new(AppState::new(
        Arc::clone(&catalog),
        Config::default(),
        Arc::clone(&metrics),
        Duration::from_secs(8),
    ));
    let components = Arc::clone(&state.components);
    let probe = serve_probes(probe_listen, http::probe_router(state))?;
    tracing::info!(%probe, "controller; probes and metrics over HTTP");
    let cluster = start_cluster(release_namespace.clone(), &catalog, &metrics, true).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let controller = tokio::spawn(run_controller(
        settings,
        release_namespace,
        cluster,
        catalog,
        stop_rx,
        components,
        Arc::clone(&metrics),
    ));
    shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    let _ = controller.await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_controller_without_stores_makes_the_process_not_ready() {
        // Nothing is asked of the API server: the controller stops before.
        let (service, _handle) = tower_test::mock::pair::<
            axum::http::Request<kube::client::Body>,
            axum::http::Response<kube::client::Body>,
        >();
        let client = kube::Client::new(service, "default");
        let (touched, _) = tokio::sync::broadcast::channel(1);
        let cluster = Cluster {
            client,
            stores: None,
            touched,
            violations: crate::controller::Violations::default(),
        };
        let settings = ControllerSettings {
            identity: "pod-0".into(),
            defaults: stackhook_core::orchestrate::Defaults::default(),
            namespaces: crate::controller::Namespaces::default(),
            delete_escaped: false,
        };
        let components = Arc::new(http::Components::default());
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        run_controller(
            settings,
            None,
            cluster,
            Arc::new(CatalogState::new()),
            stop_rx,
            Arc::clone(&components),
            Arc::new(Metrics::new()),
        )
        .await;
        assert_eq!(
            components.problem().as_deref(),
            Some("controller: the controller needs the watches' stores; none were kept")
        );
    }
}
