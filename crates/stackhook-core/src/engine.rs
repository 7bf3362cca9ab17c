//! The engine every decision runs with: the catalog it reads, the compiled-Stack
//! cache, the settings, and the deadline of the request being answered. Admission
//! ([`crate::admit`]), resolution ([`crate::resolve`]), injection and orchestration
//! all take it.

use crate::catalog::Catalog;
use crate::compiled::StackCache;
use gotemplate::Limits;

/// Admission settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Deny deleting a Stack that workloads use (default true).
    pub deny_stack_delete_in_use: bool,
    /// Deny deleting a Depot that workloads' addresses name (default true).
    pub deny_depot_delete_in_use: bool,
    /// Bounds for the dry render.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            deny_stack_delete_in_use: true,
            deny_depot_delete_in_use: true,
            limits: Limits::default(),
        }
    }
}

/// The admission engine: a catalog, the compiled-Stack cache, and settings.
pub struct Admission<'a> {
    /// Where Stacks, Depots and workloads are looked up.
    pub catalog: &'a dyn Catalog,
    /// Compiled Stacks.
    pub cache: &'a StackCache,
    /// Settings.
    pub options: &'a Options,
    /// When the request being answered must be answered: template execution stops
    /// there (the webhook answers a denial in time rather than not at all).
    pub deadline: Option<std::time::Instant>,
}
