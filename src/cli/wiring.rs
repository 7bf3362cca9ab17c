//! The one place the binary is wired: which rooms start, in which order, with which
//! shared state (the way linkerd's policy-controller wires everything in its
//! `args.rs`). The rooms — [`server`](crate::server), [`cluster`](crate::cluster),
//! [`controller`](crate::controller), [`project`](crate::project) — do not import each
//! other; they share the small types of [`shared`](crate::shared) (the live catalog,
//! metrics, readiness, the watches' stores, the change announcements). The command
//! line is the only layer that imports the rooms, and within it this module is the
//! only one that starts more than one of them; `lib.rs`'s layering test keeps it so.
//!
//! `serve`: the admission server's listeners first (so `/readyz` can say "not yet"),
//! then its catalog from files or from the cluster's watches, then, when asked for, the
//! controller on the same watches' stores; on SIGTERM the server drains, then the
//! controller stops. `controller`: the probe listener, the watches and the controller.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use stackhook_core::inject::InjectSettings;

use crate::cluster;
use crate::controller;
use crate::server::http::{self, AppState};
use crate::server::{self, Server, ServerSettings};
use crate::shared::live::LiveCatalog;
use crate::shared::metrics::Metrics;
use crate::shared::readiness::Components;
use crate::shared::{DEFAULT_RELEASE_NAMESPACE, Stores, TOUCHED_BACKLOG, Touched};

/// What `stackhook serve` runs.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// The admission server.
    pub server: ServerSettings,
    /// Catalog directories (empty: the embedded examples; ignored with `kube`).
    pub catalogs: Vec<PathBuf>,
    /// How often the catalog files are checked.
    pub reload_interval: Duration,
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
    pub orchestrate: stackhook_core::orchestrate::OrchestrateSettings,
    /// The namespaces it manages (`--namespaces`; the release namespace is added).
    pub namespaces: controller::Namespaces,
    /// Whether an escaped pod with an owner is deleted (`--delete-escaped-pods`).
    pub delete_escaped: bool,
}

/// `stackhook serve`: runs until SIGTERM or SIGINT.
pub async fn serve(settings: ServeSettings) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let catalog = Arc::new(LiveCatalog::new());
    let readiness = Arc::new(Components::default());
    let server = Server::bind(
        settings.server.clone(),
        Arc::clone(&catalog),
        Arc::clone(&metrics),
        Arc::clone(&readiness),
    )
    .await?;

    // The catalog loads after the listeners are up, so /readyz can say "not yet".
    let cluster = if settings.kube {
        catalog.set_staleness_bound(settings.server.catalog_staleness_bound);
        // The controller in this process reads the watches' stores; without it the
        // catalog keeps the objects packed and holds the only copy.
        let keep_stores = settings.controller.is_some();
        Some(
            start_cluster(
                settings.release_namespace.clone(),
                &catalog,
                &metrics,
                keep_stores,
            )
            .await?,
        )
    } else {
        // As in a cluster: the release namespace's stackhook-config applies after a
        // workload's own.
        let namespace = settings
            .release_namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_RELEASE_NAMESPACE.to_owned());
        server::files::load_and_watch(
            settings.catalogs.clone(),
            namespace,
            settings.reload_interval,
            &catalog,
            &metrics,
        )
        .await?;
        None
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let controller = match (&settings.controller, cluster) {
        (Some(controller), Some(cluster)) => Some(tokio::spawn(run_controller(
            controller.clone(),
            settings.release_namespace.clone(),
            cluster,
            Arc::clone(&catalog),
            stop_rx,
            Arc::clone(&readiness),
            Arc::clone(&metrics),
        ))),
        (Some(_), None) => anyhow::bail!(CONTROLLER_NEEDS_KUBE),
        _ => None,
    };

    server.serve().await?;
    let _ = stop_tx.send(true);
    if let Some(c) = controller {
        let _ = c.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// `stackhook controller`: the probe listener, the catalog from the cluster and the
/// controller, without the admission listener. Runs until SIGTERM or SIGINT.
pub async fn controller_only(
    probe_listen: SocketAddr,
    release_namespace: Option<String>,
    settings: ControllerSettings,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let catalog = Arc::new(LiveCatalog::new());
    let state = Arc::new(AppState::new(
        Arc::clone(&catalog),
        InjectSettings::default(),
        Arc::clone(&metrics),
        Duration::from_secs(8),
    ));
    let components = Arc::clone(&state.components);
    let probe = server::serve_probes(probe_listen, http::probe_router(state))?;
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
    server::shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_tx.send(true);
    let _ = controller.await;
    Ok(())
}

/// The connection to the cluster: the client, the watches' stores, and where the
/// catalog announces what its changes touched.
pub struct Cluster {
    /// The API client.
    pub client: kube::Client,
    /// The reflectors' stores, when kept (the controller reconciles from the
    /// workload ones).
    pub stores: Option<Stores>,
    /// What each catalog change touched.
    pub touched: Touched,
    /// Where the controller counts the violations `Warn` and `Audit` admitted
    /// (`stackhook_workload_violations`).
    pub violations: controller::Violations,
}

/// Connects to the API server and starts the watches that fill the catalog; ready
/// once they have synced.
pub async fn start_cluster(
    release_namespace: Option<String>,
    catalog: &Arc<LiveCatalog>,
    metrics: &Arc<Metrics>,
    keep_stores: bool,
) -> anyhow::Result<Cluster> {
    // One level of the error: kube's own message already repeats its causes.
    let client = kube::Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("--kube: cannot make a Kubernetes client: {e}"))?;
    let (tx, _) = tokio::sync::broadcast::channel(TOUCHED_BACKLOG);
    let stores = cluster::catalog::start(
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
        violations: controller::Violations(metrics.workload_violations.clone()),
    })
}

/// The controller's name among the [`Components`] `/readyz` answers for.
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
    catalog: Arc<LiveCatalog>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    components: Arc<Components>,
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
        controller::Context::new(client, catalog, settings.orchestrate, &settings.identity);
    ctx.violations = violations;
    ctx.namespaces = controller::Namespaces {
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
        match controller::run_leader(
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
            violations: controller::Violations::default(),
        };
        let settings = ControllerSettings {
            identity: "pod-0".into(),
            orchestrate: stackhook_core::orchestrate::OrchestrateSettings::default(),
            namespaces: controller::Namespaces::default(),
            delete_escaped: false,
        };
        let components = Arc::new(Components::default());
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        run_controller(
            settings,
            None,
            cluster,
            Arc::new(LiveCatalog::new()),
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
