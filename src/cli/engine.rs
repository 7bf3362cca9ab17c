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

impl Engine {
    /// Loads the catalog directories (none: an empty catalog).
    pub fn load(catalogs: &[PathBuf]) -> Result<Self, LoadErrors> {
        let catalog = if catalogs.is_empty() {
            MemoryCatalog::new()
        } else {
            load_catalog(catalogs)?.0
        };
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
