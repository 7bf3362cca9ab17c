//! What the binary's rooms share, so that none of them imports another: the live
//! catalog, the metrics, readiness, the watches' stores, the channel on which catalog
//! changes are announced, and a few constants. It imports no room (`server`,
//! `cluster`, `controller`, `project`, `cli`); see the layering test in `lib.rs`.

pub mod live;
pub mod metrics;
pub mod readiness;

use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::reflector::Store;
use stackhook_core::catalog::Dependents;
use stackhook_core::model::{Depot, Service, Stack, Worker, Workflow};
use tokio::sync::broadcast;

/// The namespace the chart is installed in, by the README's `helm install`: the
/// release namespace when none is given outside a cluster.
pub const DEFAULT_RELEASE_NAMESPACE: &str = "stackhook-system";

/// What the catalog's changes touched, as the catalog task announces them: the
/// workloads whose Stack, Depots, settings or own spec changed ([`Dependents`]).
pub type Touched = broadcast::Sender<Arc<Dependents>>;

/// How many announcements a slow controller may be behind before it reconciles every
/// workload instead.
pub const TOUCHED_BACKLOG: usize = 256;

/// The reflectors' stores.
#[derive(Clone)]
pub struct Stores {
    /// Stacks (cluster-scoped).
    pub stacks: Store<Stack>,
    /// Depots.
    pub depots: Store<Depot>,
    /// Workers (also the controller's).
    pub workers: Store<Worker>,
    /// Services (also the controller's).
    pub services: Store<Service>,
    /// Workflows (also the controller's).
    pub workflows: Store<Workflow>,
    /// `stackhook-config` ConfigMaps.
    pub configs: Store<ConfigMap>,
}

/// An error and its causes, `: `-separated, on one line (for logs). Causes are I/O
/// errors and our own error types, none of which carries a secret value.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
