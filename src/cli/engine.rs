//! The pieces the review, mutate and render commands share: the catalog and the
//! engine built on it, as the webhook builds them.

use std::path::PathBuf;

use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::compiled::StackCache;
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::inject::InjectSettings;
use stackhook_core::review::Reviewer;

use crate::load::{LoadError, LoadErrors, load_catalog_lenient};
use crate::shared::DEFAULT_RELEASE_NAMESPACE;

/// A loaded catalog with its cache and settings.
pub struct Loaded {
    pub catalog: MemoryCatalog,
    pub cache: StackCache,
    pub settings: EngineSettings,
    pub inject: InjectSettings,
    /// How many problems the catalog's files had (each printed when loading).
    pub catalog_problems: usize,
    /// Whether no `--catalog` was given (every workload and Stack is then unknown).
    pub no_catalog: bool,
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

impl CatalogArgs {
    /// The catalog (none given: an empty one), with the release namespace set, and the
    /// problems of what could not be read into it: a broken file is a problem of its
    /// own, the others are still read.
    pub fn load(&self) -> (MemoryCatalog, Vec<LoadError>) {
        let (mut catalog, problems) = if self.catalogs.is_empty() {
            (MemoryCatalog::new(), Vec::new())
        } else {
            let (catalog, _, problems) = load_catalog_lenient(&self.catalogs);
            (catalog, problems)
        };
        catalog.set_release_namespace(Some(self.release_namespace.clone()));
        (catalog, problems)
    }
}

impl Loaded {
    /// Loads the catalog (none: an empty catalog). Problems of the catalog's files are
    /// printed (standard error) and counted in `catalog_problems`; the rest is used.
    pub fn load(args: &CatalogArgs) -> Result<Self, LoadErrors> {
        let (catalog, problems) = args.load();
        let catalog_problems = problems.len();
        if catalog_problems > 0 {
            eprintln!("{}", LoadErrors(problems));
        }
        Ok(Self {
            catalog,
            cache: StackCache::new(),
            settings: EngineSettings::default(),
            inject: InjectSettings::default(),
            catalog_problems,
            no_catalog: args.catalogs.is_empty(),
        })
    }

    /// A line for a denial when no catalog was given, which is then its likely cause.
    pub fn hint_for_denial(&self) {
        if self.no_catalog {
            eprintln!(
                "hint: no catalog was given (--catalog DIR): every workload, Stack and Depot is unknown"
            );
        }
    }

    /// The exit code of a command whose own work succeeded: 1 when a file of the
    /// catalog could not be read (reported at load), so a broken catalog never passes
    /// as a clean run, else 0.
    pub fn exit_code(&self) -> std::process::ExitCode {
        if self.catalog_problems > 0 {
            std::process::ExitCode::from(1)
        } else {
            std::process::ExitCode::SUCCESS
        }
    }

    pub fn engine(&self) -> Engine<'_> {
        Engine::new(&self.catalog, &self.cache, &self.settings)
    }

    pub fn reviewer(&self) -> Reviewer<'_> {
        // One review per run: nothing to keep.
        Reviewer::new(self.engine(), &self.inject)
    }
}
