//! The catalog as the cluster holds it now, listed once (read-only): the objects the
//! watches of `serve --kube` would bring in, turned into catalog changes by the same
//! [`Watched`] conversions, for one-shot commands such as `stackhook diff --kube`.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt as _};
use stackhook_core::catalog::Change;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::model::{Depot, Service, Stack, Worker, Workflow};
use stackhook_core::settings::CONFIG_MAP_NAME;

use super::catalog::{Watched, settings_of};

/// Objects asked for in one page of a list.
const PAGE: u32 = 500;

/// Why the cluster's catalog cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// No client (no kubeconfig, no in-cluster service account).
    #[error("cannot make a Kubernetes client")]
    Client(#[source] kube::Error),
    /// A list failed (unreachable, forbidden, the CRDs not installed).
    #[error("cannot list {what}")]
    List {
        /// The kind listed.
        what: &'static str,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// The cluster as listed once.
pub struct Snapshot {
    /// Its catalog.
    pub catalog: MemoryCatalog,
    /// What could not join it (a second Stack defining a version, a
    /// `stackhook-config` that cannot be read), each in a line.
    pub problems: Vec<String>,
    /// The kubeconfig context's namespace: where `kubectl apply` puts an object that
    /// names none.
    pub default_namespace: String,
}

/// Lists the cluster's catalog once, with the kubeconfig's (or the in-cluster)
/// credentials.
pub async fn list_catalog(release_namespace: Option<String>) -> Result<Snapshot, SnapshotError> {
    let client = Client::try_default().await.map_err(SnapshotError::Client)?;
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    changes.extend(list::<Stack>(&client, "Stacks", ListParams::default()).await?);
    changes.extend(list::<Depot>(&client, "Depots", ListParams::default()).await?);
    changes.extend(list::<Worker>(&client, "Workers", ListParams::default()).await?);
    changes.extend(list::<Service>(&client, "Services", ListParams::default()).await?);
    changes.extend(list::<Workflow>(&client, "Workflows", ListParams::default()).await?);
    let configs = ListParams::default().fields(&format!("metadata.name={CONFIG_MAP_NAME}"));
    for cm in list_all::<ConfigMap>(&client, "ConfigMaps", configs).await? {
        // The watch leaves a broken one out with a log line; here it is said.
        if let Err(problem) = settings_of(&cm) {
            problems.push(format!(
                "ConfigMap {}/{}: {problem}; left out",
                cm.namespace().unwrap_or_default(),
                cm.name_any()
            ));
        }
        changes.extend(<ConfigMap as Watched>::upsert(Arc::new(cm)));
    }
    let mut catalog = MemoryCatalog::new();
    catalog.set_release_namespace(release_namespace);
    let applied = catalog.apply(changes);
    problems.extend(applied.problems.iter().map(ToString::to_string));
    Ok(Snapshot {
        catalog,
        problems,
        default_namespace: client.default_namespace().to_owned(),
    })
}

async fn list<K: Watched>(
    client: &Client,
    what: &'static str,
    params: ListParams,
) -> Result<Vec<Change>, SnapshotError> {
    Ok(list_all::<K>(client, what, params)
        .await?
        .into_iter()
        .filter_map(|o| K::upsert(Arc::new(o)))
        .collect())
}

/// Every object of a kind, page by page.
async fn list_all<K: Watched>(
    client: &Client,
    what: &'static str,
    params: ListParams,
) -> Result<Vec<K>, SnapshotError> {
    let api = Api::<K>::all(client.clone());
    let mut params = params.limit(PAGE);
    let mut out = Vec::new();
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|source| SnapshotError::List { what, source })?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}
