//! Helpers of this crate's differential tests (one copy per engine crate, so each
//! crate's tests run on their own).

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A path under this crate's folder.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Whether a reference tool is on PATH. Missing is a skip on a developer machine, and a
/// failure under `CI=true`, where `.ci/run` installs every tool.
pub fn have_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required under CI=true (.ci/run installs it)"
        );
        eprintln!("skipping: {name} is not installed");
    }
    found
}
