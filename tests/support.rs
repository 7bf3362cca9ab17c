//! Helpers shared by the integration tests.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the repository root.
pub fn repo(path: &str) -> PathBuf {
    root().join(path)
}

/// The result of running the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `stackhook ARGS` in the repository root, with `stdin` as its input.
pub fn stackhook(args: &[&str], stdin: &str) -> Run {
    stackhook_in(&root(), args, stdin)
}

/// Runs `stackhook ARGS` in `dir`, with `stdin` as its input.
pub fn stackhook_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackhook"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stackhook");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for stackhook").into()
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

/// Whether python3 can import `module` (a skip on a developer machine, a failure under
/// `CI=true`, like [`have_tool`]).
pub fn have_python_module(module: &str) -> bool {
    if !have_tool("python3") {
        return false;
    }
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the Python module {module} is required under CI=true (.ci/run installs it)"
        );
        eprintln!("skipping: the Python module {module} is not installed");
    }
    ok
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// Checks files against the Kubernetes OpenAPI schema of the oldest supported
/// version (1.33), strictly (unknown fields are errors).
pub fn assert_kubernetes_valid(files: &[PathBuf]) {
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "--kubernetes-version", "1.33.0", "--quiet"])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate's subject alternative names as x509-parser shows them
/// (`DNSName(host)`).
pub fn subject_alt_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    cert.subject_alternative_name()
        .expect("a valid SAN extension")
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Go's answers for a differential suite: `live` (Go ran) must equal the recording
/// at `recorded` (relative to the repository), which `STACKHOOK_UPDATE_GO_EXPECTED=1`
/// rewrites; without Go, the recording.
pub fn go_expected(recorded: &str, live: Option<serde_json::Value>) -> serde_json::Value {
    reference_answers(recorded, live, "Go", "STACKHOOK_UPDATE_GO_EXPECTED")
}

/// A reference's answers (Go, jq) for a differential suite: `live` (the reference
/// ran) must equal the recording at `recorded` (relative to the repository), which
/// setting `update` rewrites; without the reference, the recording.
pub fn reference_answers(
    recorded: &str,
    live: Option<serde_json::Value>,
    reference: &str,
    update: &str,
) -> serde_json::Value {
    let path = repo(recorded);
    let kept: Option<serde_json::Value> = std::fs::read(&path)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("a JSON recording"));
    match live {
        Some(live) => {
            if std::env::var(update).is_ok() {
                let mut text = serde_json::to_string_pretty(&live).expect("JSON");
                text.push('\n');
                std::fs::write(&path, text).expect("write the recording");
            } else {
                assert!(
                    kept.as_ref() == Some(&live),
                    "{recorded} differs from what {reference} answers now; regenerate with {update}=1"
                );
            }
            live
        }
        None => kept.unwrap_or_else(|| panic!("no {reference} and no {recorded}")),
    }
}
