//! Helpers shared by the unit tests of several modules.

use crate::catalog::MemoryCatalog;
use crate::compiled::StackCache;
use crate::engine::{Engine, EngineSettings};
use crate::model::{Parsed, Resource, parse_document};
use goyaml::parse_documents;

/// Every document of a YAML stream as a resource; panics on anything else, since a
/// test's own fixture that does not parse is a broken test.
pub(crate) fn resources(text: &str) -> Vec<Resource> {
    parse_documents(text)
        .unwrap()
        .into_iter()
        .map(|d| match parse_document(d.value).unwrap() {
            Parsed::Resource(r) => *r,
            Parsed::Skipped { what } => panic!("skipped {what}"),
        })
        .collect()
}

/// A catalog with its compiled-Stack cache and default settings: what an `Engine`
/// borrows.
pub(crate) struct Fixture {
    pub(crate) catalog: MemoryCatalog,
    pub(crate) cache: StackCache,
    pub(crate) settings: EngineSettings,
}

impl Fixture {
    /// A catalog of every resource in `text`.
    pub(crate) fn new(text: &str) -> Self {
        let mut catalog = MemoryCatalog::new();
        for r in resources(text) {
            catalog.insert(r).unwrap();
        }
        Self {
            catalog,
            cache: StackCache::new(),
            settings: EngineSettings::default(),
        }
    }

    /// The admission context over this catalog.
    pub(crate) fn engine(&self) -> Engine<'_> {
        Engine::new(&self.catalog, &self.cache, &self.settings)
    }
}
