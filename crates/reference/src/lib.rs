//! The harness every differential suite shares (the engine crates' and the binary's):
//! it finds the reference a suite compares against and keeps the reference's recorded
//! answers beside the suite, so that a machine without the reference still checks
//! against what it said, and a machine with it (always under `CI=true`) checks that
//! the recording is still what it says.
//!
//! A missing reference is a skip on a developer machine and a failure under
//! `CI=true`, where `.ci/run` installs every reference.

// A test harness: it panics, as tests do, when something is off.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether `name` is on PATH (a skip when it is not; a failure under `CI=true`).
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

/// The Go the differential suites are recorded with: Go 1.19 with Debian's GOPATH
/// packages of Sprig 3.2.3, yaml.v2 2.4.0, ghodss/yaml and BurntSushi/toml. A newer Go
/// found first on PATH answers differently (`{{else with}}`, `range` over an integer,
/// new error texts, newer Unicode tables), so it is never taken for the reference:
/// `STACKHOOK_REFERENCE_GO`, else Debian's `/usr/lib/go-1.19/bin/go`.
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
            "the reference Go 1.19 ({}) is required under CI=true (.ci/run installs Debian's golang-1.19-go)",
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

/// Builds a differential suite's Go harness (`source`, one file) with the reference
/// Go in GOPATH mode against Debian's packages (`/usr/share/gocode`), into `dir`; `needs`
/// names those packages for the failure message.
pub fn build_go_harness(go: &Path, source: &Path, dir: &Path, needs: &str) -> PathBuf {
    let harness = dir.join("harness");
    let build = Command::new(go)
        .args(["build", "-o"])
        .arg(&harness)
        .arg(source)
        .env("GO111MODULE", "off")
        .env_remove("GOROOT")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.join("cache"))
        .output()
        .expect("run the reference Go");
    assert!(
        build.status.success(),
        "building the Go harness {} failed (needs {needs}):\n{}",
        source.display(),
        String::from_utf8_lossy(&build.stderr)
    );
    harness
}

/// A reference's answers for a differential suite: `live` (the reference ran) must
/// equal the recording at `recorded`, which setting the environment variable `update`
/// rewrites instead; without the reference, the recording.
pub fn reference_answers(
    recorded: &Path,
    live: Option<serde_json::Value>,
    reference: &str,
    update: &str,
) -> serde_json::Value {
    let kept: Option<serde_json::Value> = std::fs::read(recorded)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("a JSON recording"));
    let name = recorded.display();
    match live {
        Some(live) => {
            if std::env::var(update).is_ok() {
                let mut text = serde_json::to_string_pretty(&live).expect("JSON");
                text.push('\n');
                std::fs::write(recorded, text).expect("write the recording");
            } else {
                assert!(
                    kept.as_ref() == Some(&live),
                    "{name} differs from what {reference} answers now; regenerate with {update}=1"
                );
            }
            live
        }
        None => kept.unwrap_or_else(|| panic!("no {reference} and no {name}")),
    }
}

/// Go's answers: [`reference_answers`] with Go and `STACKHOOK_UPDATE_GO_EXPECTED`.
pub fn go_expected(recorded: &Path, live: Option<serde_json::Value>) -> serde_json::Value {
    reference_answers(recorded, live, "Go", "STACKHOOK_UPDATE_GO_EXPECTED")
}
