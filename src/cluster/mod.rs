//! The in-cluster side: the catalog from Kubernetes watches.

pub mod catalog;
pub mod snapshot;
