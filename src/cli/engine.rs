//! The pieces the review, mutate and render commands share: the catalog and the
//! engine built on it, as the webhook builds them.

use std::path::PathBuf;

use stackhook_core::MemoryCatalog;
use stackhook_core::admit::{Admission, Options};
use stackhook_core::compiled::StackCache;
use stackhook_core::inject::Config;
use stackhook_core::review::Reviewer;

use crate::load::{LoadErrors, load_catalog};

/// A loaded catalog with its cache and settings.
pub struct Engine {
    pub catalog: MemoryCatalog,
    pub cache: StackCache,
    pub options: Options,
    pub inject: Config,
}

/// Where the CLI's catalog comes from, as the cluster's would.
#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// Catalogs of Stacks, Depots, workloads and `stackhook-config` ConfigMaps (files
    /// or directories).
    #[arg(long = "catalog", value_name = "DIR")]
    pub catalogs: Vec<PathBuf>,
    /// The namespace stackhook runs in: its `stackhook-config` applies after a
    /// workload's own namespace's, as in a cluster.
    #[arg(long, env = "POD_NAMESPACE", default_value = DEFAULT_RELEASE_NAMESPACE)]
    pub release_namespace: String,
}

/// The namespace the chart is installed in, by the README's `helm install`.
pub const DEFAULT_RELEASE_NAMESPACE: &str = "stackhook-system";

impl CatalogArgs {
    /// The catalog (none given: an empty one), with the release namespace set.
    pub fn load(&self) -> Result<MemoryCatalog, LoadErrors> {
        let mut catalog = if self.catalogs.is_empty() {
            MemoryCatalog::new()
        } else {
            load_catalog(&self.catalogs)?.0
        };
        catalog.set_release_namespace(Some(self.release_namespace.clone()));
        Ok(catalog)
    }
}

impl Engine {
    /// Loads the catalog (none: an empty catalog).
    pub fn load(args: &CatalogArgs) -> Result<Self, LoadErrors> {
        let catalog = args.load()?;
        Ok(Self {
            catalog,
            cache: StackCache::new(),
            options: Options::default(),
            inject: Config::default(),
        })
    }

    pub fn admission(&self) -> Admission<'_> {
        Admission {
            catalog: &self.catalog,
            cache: &self.cache,
            options: &self.options,
            deadline: None,
        }
    }

    pub fn reviewer(&self) -> Reviewer<'_> {
        Reviewer {
            admission: self.admission(),
            inject: &self.inject,
            // One review per run: nothing to reuse.
            memo: None,
        }
    }
}
