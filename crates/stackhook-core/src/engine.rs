//! The engine every decision runs with: the catalog it reads, the compiled-Stack
//! cache, the settings, and the deadline of the request being answered. Admission
//! ([`crate::admit`]), resolution ([`crate::resolve`]), injection and orchestration
//! all take it. One way to make it: [`Engine::new`], then [`Engine::until`] when a
//! request's deadline applies.

use std::time::Instant;

use crate::catalog::Catalog;
use crate::compiled::StackCache;
use gotemplate::Limits;

/// The engine's settings: the in-use checks on deletion and the dry render's bounds.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// Deny deleting a Stack that workloads use (default true).
    pub deny_stack_delete_in_use: bool,
    /// Deny deleting a Depot that workloads' addresses name (default true).
    pub deny_depot_delete_in_use: bool,
    /// Bounds for the dry render.
    pub limits: Limits,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            deny_stack_delete_in_use: true,
            deny_depot_delete_in_use: true,
            limits: Limits::default(),
        }
    }
}

/// The decision engine: a catalog, the compiled-Stack cache, settings, and the
/// deadline of the request being answered (none by default).
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    /// Where Stacks, Depots and workloads are looked up.
    pub(crate) catalog: &'a dyn Catalog,
    /// Compiled Stacks.
    pub(crate) cache: &'a StackCache,
    /// Settings.
    pub(crate) settings: &'a EngineSettings,
    /// When the request being answered must be answered: template execution stops
    /// there (the webhook answers a denial in time rather than not at all).
    pub(crate) deadline: Option<Instant>,
}

impl<'a> Engine<'a> {
    /// The engine over `catalog`, compiling Stacks into `cache`, without a deadline.
    pub fn new(
        catalog: &'a dyn Catalog,
        cache: &'a StackCache,
        settings: &'a EngineSettings,
    ) -> Self {
        Self {
            catalog,
            cache,
            settings,
            deadline: None,
        }
    }

    /// The same engine, stopping template execution at `deadline`.
    #[must_use]
    pub fn until(self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self
        }
    }

    /// Where Stacks, Depots and workloads are looked up.
    pub fn catalog(&self) -> &'a dyn Catalog {
        self.catalog
    }

    /// The compiled-Stack cache.
    pub fn cache(&self) -> &'a StackCache {
        self.cache
    }
}
