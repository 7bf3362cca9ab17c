//! `stackhook serve`'s admission server: the HTTPS listener the API server calls.
//!
//! One TLS listener for `/validate` and `/mutate` (HTTP/1.1 and HTTP/2), one plain
//! listener for probes and metrics, certificates from files (reloaded on change) or
//! generated self-signed. SIGTERM stops accepting, lets in-flight requests finish, and
//! returns. It answers from the [`LiveCatalog`] it is given; what fills that catalog
//! (the files of [`files`], or the cluster's watches) is chosen where the process is
//! wired (`cli::wiring`), not here.
//!
//! Whatever one request does, the server stays responsive: decisions run on a bounded
//! pool off the async runtime ([`decide`]), connections are bounded ([`conn`]), and the
//! probes are served by a thread of their own, so the kubelet's `/healthz` never waits
//! behind admission work.

pub mod conn;
pub mod decide;
pub mod files;
pub mod http;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use stackhook_core::inject::InjectSettings;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::certs;
use crate::shared::live::LiveCatalog;
use crate::shared::metrics::Metrics;
use crate::shared::readiness::Components;
pub use conn::ConnectionLimits;
use decide::DecisionPool;
use http::AppState;
use tls::ReloadingResolver;

/// How the admission server is set up.
#[derive(Debug, Clone)]
pub struct ServerSettings {
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
    pub engine: stackhook_core::engine::EngineSettings,
    /// How long in-flight requests may take after SIGTERM.
    pub shutdown_grace: Duration,
    /// How long the listener keeps accepting after SIGTERM (not ready meanwhile).
    pub shutdown_delay: Duration,
    /// With `kube`: how long a watch may fail before reviews are denied and the
    /// process is not ready (`None`: no bound).
    pub catalog_staleness_bound: Option<Duration>,
    /// The projector image injected into pods.
    pub projector_image: Option<String>,
}

/// A server whose listeners are bound (the probes already answer, `/readyz` not ready
/// until the catalog is), not yet accepting admission connections.
pub struct Server {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    resolver: Arc<ReloadingResolver>,
    watched: Option<(PathBuf, PathBuf)>,
    limits: ConnectionLimits,
    shutdown_grace: Duration,
    shutdown_delay: Duration,
}

impl Server {
    /// Loads or makes the certificate (a server that cannot serve TLS fails at once)
    /// and binds both listeners; `/readyz` answers from `catalog` and `readiness`.
    pub async fn bind(
        settings: ServerSettings,
        catalog: Arc<LiveCatalog>,
        metrics: Arc<Metrics>,
        readiness: Arc<Components>,
    ) -> anyhow::Result<Self> {
        let (resolver, watched) = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => {
                let (k, expiry) =
                    tls::load(cert, key).context("cannot load --tls-cert/--tls-key")?;
                (
                    Arc::new(ReloadingResolver::new(k, expiry)),
                    Some((cert.clone(), key.clone())),
                )
            }
            (None, None) => {
                let bundle = certs::generate(&settings.dns)
                    .context("cannot make a self-signed certificate")?;
                if let Some(path) = &settings.ca_out {
                    certs::write_file(path, &bundle.ca_pem, false)?;
                    tracing::info!(ca = %path.display(), dns = ?settings.dns, "self-signed certificate; CA bundle written");
                } else {
                    tracing::info!(dns = ?settings.dns, "self-signed certificate (give --ca-out to save its CA bundle)");
                }
                let (k, expiry) =
                    tls::certified_key(bundle.cert_pem.as_bytes(), bundle.key_pem.as_bytes())?;
                (Arc::new(ReloadingResolver::new(k, expiry)), None)
            }
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        metrics.certificate_expiry.set(resolver.expiry());
        let server_config =
            tls::server_config(Arc::clone(&resolver), settings.client_ca.as_deref())?;
        let acceptor = TlsAcceptor::from(Arc::new(server_config));

        let mut inject = InjectSettings::default();
        if let Some(image) = &settings.projector_image {
            inject.projector_image = image.clone();
        }
        let mut app = AppState::new(catalog, inject, metrics, settings.deadline);
        app.decisions = DecisionPool::new(settings.decision_threads, settings.queued_decisions);
        app.review_time = settings.review_time;
        app.engine_settings = settings.engine.clone();
        app.components = readiness;
        let state = Arc::new(app);

        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let probe = serve_probes(
            settings.probe_listen,
            http::probe_router(Arc::clone(&state)),
        )?;
        tracing::info!(
            listen = %listener.local_addr()?,
            probe = %probe,
            "serving /validate and /mutate over TLS; probes and metrics over HTTP"
        );
        Ok(Self {
            listener,
            acceptor,
            state,
            resolver,
            watched,
            limits: settings.limits,
            shutdown_grace: settings.shutdown_grace,
            shutdown_delay: settings.shutdown_delay,
        })
    }

    /// Accepts admission connections until SIGTERM or SIGINT, then lets the requests
    /// in flight finish (up to the grace period) and returns.
    pub async fn serve(self) -> anyhow::Result<()> {
        let Self {
            listener,
            acceptor,
            state,
            resolver,
            watched,
            limits,
            shutdown_grace,
            shutdown_delay,
        } = self;
        if let Some((cert, key)) = watched {
            let (r, m) = (Arc::clone(&resolver), Arc::clone(&state.metrics));
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

        let components = Arc::clone(&state.components);
        let metrics = Arc::clone(&state.metrics);
        let router = http::admission_router(state, limits.max_requests_in_flight);
        let builder = conn::http_builder(&limits);
        let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
        let (stop_conns, stop_rx_conns) = tokio::sync::watch::channel(false);
        // After SIGTERM, not ready but still answering for the delay: the API server
        // routes calls to an endpoint until it sees it not ready, and never retries a
        // call whose connection is refused.
        let shutdown = async move {
            shutdown_signal().await;
            metrics.shutting_down.set(1);
            if !shutdown_delay.is_zero() {
                components.down("shutdown", "shutting down");
                tracing::info!(
                    delay = ?shutdown_delay,
                    "stopping: not ready; still serving until the endpoint is gone"
                );
                tokio::time::sleep(shutdown_delay).await;
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
        if tokio::time::timeout(shutdown_grace, connections.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the grace period; closing");
        }
        Ok(())
    }
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
