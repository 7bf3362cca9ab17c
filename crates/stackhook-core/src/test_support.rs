//! Helpers shared by the unit tests of several modules.

use crate::model::{Parsed, Resource, parse_document};
use crate::source::parse_documents;

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
