//! Helpers of this crate's differential tests: the shared harness (`reference`), and
//! paths under this crate's folder.

use std::path::PathBuf;

pub use reference::{build_go_harness, go_expected, reference_go};

/// A path under this crate's folder.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}
