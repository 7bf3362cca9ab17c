//! Helpers of this crate's differential tests (one copy per engine crate, so each
//! crate's tests run on their own).

use std::path::PathBuf;
use std::process::Command;

/// A path under this crate's folder.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The Go the differential suites are recorded with: Go 1.19 with Debian's GOPATH
/// packages of Sprig 3.2.3, yaml.v2 2.4.0, ghodss/yaml and BurntSushi/toml (the
/// recordings in `tests/gotmpl/` and `tests/goyaml/` are its answers). A newer Go found
/// first on PATH answers differently (`{{else with}}`, `range` over an integer, new
/// error texts, newer Unicode tables), so it is never taken for the reference:
/// `STACKHOOK_REFERENCE_GO`, else Debian's `/usr/lib/go-1.19/bin/go`. A skip on a
/// developer machine without it, a failure under `CI=true` (.ci/run installs it).
pub fn reference_go() -> Option<PathBuf> {
    let go = std::env::var_os("STACKHOOK_REFERENCE_GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/go-1.19/bin/go"));
    let found = Command::new(&go)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("go1.19"));
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the reference Go 1.19 ({}) is required under CI=true (.ci/run installs Debian's golang-go)",
            go.display()
        );
        eprintln!(
            "skipping: the reference Go 1.19 ({}) is not installed",
            go.display()
        );
        return None;
    }
    Some(go)
}

/// Go's answers for a differential suite: `live` (Go ran) must equal the recording
/// at `recorded` (relative to the repository), which `STACKHOOK_UPDATE_GO_EXPECTED=1`
/// rewrites; without Go, the recording.
pub fn go_expected(recorded: &str, live: Option<serde_json::Value>) -> serde_json::Value {
    let path = repo(recorded);
    let kept: Option<serde_json::Value> = std::fs::read(&path)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("a JSON recording"));
    match live {
        Some(live) => {
            if std::env::var("STACKHOOK_UPDATE_GO_EXPECTED").is_ok() {
                let mut text = serde_json::to_string_pretty(&live).expect("JSON");
                text.push('\n');
                std::fs::write(&path, text).expect("write the recording");
            } else {
                assert!(
                    kept.as_ref() == Some(&live),
                    "{recorded} differs from what Go answers now; regenerate with STACKHOOK_UPDATE_GO_EXPECTED=1"
                );
            }
            live
        }
        None => kept.unwrap_or_else(|| panic!("no Go and no {recorded}")),
    }
}
