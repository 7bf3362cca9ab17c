//! The pure engine of stackhook.
//!
//! Everything that decides — what a resource means, whether a workload is valid, what a
//! pod becomes — lives here, with no tokio, no HTTP, no Kubernetes client and no
//! filesystem. The webhook, the controller and the CLI call these functions, so they
//! cannot disagree. Input comes from a [`catalog::Catalog`], filled by the binary.

pub mod address;
pub mod admit;
mod borrowed;
pub mod catalog;
pub mod compiled;
pub mod condition;
pub mod filters;
pub mod inject;
pub mod model;
pub mod orchestrate;
pub mod progress;
pub mod projection;
pub mod render;
pub mod resolve;
pub mod review;
pub mod schema;
pub mod settings;
pub mod source;
pub mod template;
#[cfg(test)]
mod test_support;

pub use address::{Address, AddressError};
pub use catalog::{Catalog, MemoryCatalog};
