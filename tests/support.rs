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

pub use reference::have_tool;

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
