//! `--kube`, `--controller` and `stackhook controller` outside a cluster: they say what
//! is missing and exit 2. (The in-cluster paths are tested against kube's mock client
//! in the unit tests of `cluster` and `controller`.)

use std::process::{Command, Stdio};

use crate::support::{Run, root};

fn run_without_cluster(args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_stackhook"))
        .args(args)
        .current_dir(root())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("KUBECONFIG", home.path().join("no-such-kubeconfig"))
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .into()
}

#[test]
fn the_controller_outside_a_cluster_names_the_missing_kubeconfig() {
    let run = run_without_cluster(&["controller", "--probe-listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: --kube: cannot make a Kubernetes client: ")
            && last.contains("no-such-kubeconfig"),
        "{last}"
    );
}

#[test]
fn serve_with_kube_outside_a_cluster_fails_before_serving_a_stale_catalog() {
    let run = run_without_cluster(&[
        "serve",
        "--kube",
        "--listen",
        "127.0.0.1:0",
        "--probe-listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: --kube: cannot make a Kubernetes client: "),
        "{}",
        run.stderr
    );
}

#[test]
fn the_controller_needs_the_cluster_catalog() {
    let run = run_without_cluster(&["serve", "--controller", "--catalog", "examples/catalog"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr.trim(),
        "error: --controller needs the catalog from the cluster (--kube, or run in a cluster without --catalog)"
    );
    let run = run_without_cluster(&["serve", "--kube", "--catalog", "examples/catalog"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("the argument '--kube' cannot be used with '--catalog <DIR>'"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_with_kube_outside_a_cluster_names_the_missing_kubeconfig() {
    let run = run_without_cluster(&["diff", "--kube", "examples/catalog/stack-flare.yaml"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("--kube: cannot make a Kubernetes client: ")
            && run.stderr.contains("no-such-kubeconfig")
            && run.stderr.lines().count() == 1,
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}
