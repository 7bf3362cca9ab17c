//! `stackhook diff`: what new versions of Stacks, Depots and workloads do to the
//! catalog's workloads; exit 1 when one would be denied, 2 for unusable input.

use crate::suites::readme_block;
use crate::support::{repo, stackhook, write};

/// The example benthos Stack with `output` required as well as `input`.
fn stricter_benthos() -> String {
    std::fs::read_to_string(repo("examples/catalog/stack-benthos.yaml"))
        .unwrap()
        .replace(
            r#""required":["input"]"#,
            r#""required":["input","output"]"#,
        )
}

#[test]
fn a_workload_change_is_shown_as_readme_shows() {
    let command = "stackhook diff --catalog examples/catalog tests/fixtures/diff/orders-next.yaml";
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let run = stackhook(&args, "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, readme_block(command));
}

#[test]
fn a_stricter_stack_lists_the_workloads_it_would_deny() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "stack.yaml", &stricter_benthos());
    let run = stackhook(
        &[
            "diff",
            "--catalog",
            "examples/catalog",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Both benthos users are touched: one still valid (a new Stamp, so a rollout),
    // one denied; the flare Workflow is not.
    assert!(
        run.stdout
            .starts_with("Worker retail/orders-stream: allowed; stamp -ptvs → "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\nService retail/orders-api: allowed → denied; stamp -3xnf → "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n  spec.stackSpec: \"output\" is a required property\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("city-export"), "{}", run.stdout);
    assert!(
        run.stdout
            .ends_with("2 workloads touched: 1 would be denied, 1 changed, 0 unchanged\n"),
        "{}",
        run.stdout
    );

    let run = stackhook(
        &[
            "diff",
            "-o",
            "json",
            "--catalog",
            "examples/catalog",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["wouldBeDenied"], 1);
    let api = v["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "orders-api")
        .unwrap();
    assert_eq!(api["kind"], "Service");
    assert_eq!(api["newlyDenied"], true);
    assert_eq!(api["before"]["allowed"], true);
    assert_eq!(api["after"]["causes"][0]["path"], "spec.stackSpec");
}

#[test]
fn an_unchanged_stack_touches_its_users_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let same = std::fs::read_to_string(repo("examples/catalog/stack-flare.yaml")).unwrap();
    let file = write(dir.path(), "flare.yaml", &same);
    let run = stackhook(
        &[
            "diff",
            "--catalog",
            "examples/catalog",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Workflow retail/city-export: unchanged\n1 workload touched: 0 would be denied, 0 changed, 1 unchanged\n"
    );
}

#[test]
fn a_depot_change_touches_the_workloads_whose_addresses_name_it() {
    let dir = tempfile::tempdir().unwrap();
    // icebase without its read-write secret: orders-api writes to it.
    let depots = std::fs::read_to_string(repo("examples/catalog/depots.yaml")).unwrap();
    let icebase = depots
        .split("---")
        .next()
        .unwrap()
        .replace("    - name: icebase-rw\n      acl: rw\n", "");
    let file = write(dir.path(), "icebase.yaml", &icebase);
    let run = stackhook(
        &[
            "diff",
            "--catalog",
            "examples/catalog",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Service retail/orders-api: allowed → denied; stamp -3xnf → "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n  spec.stackSpec.outputs[0]: address \"dataos://icebase:retail/orders_raw\": depot \"icebase\" has no secret for acl rw (it has: r)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("3 workloads touched: 1 would be denied, 2 changed, 0 unchanged\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn unusable_input_is_exit_2_in_one_line() {
    let run = stackhook(&["diff", "tests/fixtures/diff/orders-next.yaml"], "");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "no catalog given: name the workloads' catalog with --catalog DIR, or read the cluster's with --kube\n"
        )
    );
    let run = stackhook(
        &["diff", "--catalog", "examples/catalog", "nowhere.yaml"],
        "",
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "nowhere.yaml: no such file or directory\n")
    );
    let run = stackhook(
        &["diff", "--catalog", "examples/catalog", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "<stdin>:1:1: skipped: v1 ConfigMap is not a Stack, Depot, workload or stackhook-config\nno input: - holds no Stack, Depot, workload or stackhook-config\n"
    );
    let run = stackhook(
        &["diff", "--catalog", "examples/catalog", "-"],
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: retail}\nspec: {stack: \"benthos:\"}\n",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("<stdin>:4:8: Worker retail/w: spec.stack: "),
        "{}",
        run.stderr
    );
    // A second Stack defining benthos:3.0 would be refused: nothing to compare.
    let twin = std::fs::read_to_string(repo("examples/catalog/stack-benthos.yaml"))
        .unwrap()
        .replace("name: benthos-3-0", "name: benthos-twin");
    let run = stackhook(&["diff", "--catalog", "examples/catalog", "-"], &twin);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "stack benthos:3.0 is defined twice: by \"benthos-3-0\" and by \"benthos-twin\"\n"
        )
    );
    let run = stackhook(
        &["diff", "--catalog", "examples/catalog", "--kube", "x.yaml"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

#[test]
fn a_namespace_settings_change_shows_the_new_ingress_host() {
    let settings = "apiVersion: v1
kind: ConfigMap
metadata: {name: stackhook-config, namespace: retail}
data:
  default: |
    ingressDomainSuffix: shop.example.org
";
    let run = stackhook(&["diff", "--catalog", "examples/catalog", "-"], settings);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "\n  -  - host: orders-api.retail.example.com\n  +  - host: orders-api.retail.shop.example.org\n"
        ),
        "{}",
        run.stdout
    );
    // Every workload of the namespace is touched; only the Service has an Ingress.
    assert!(
        run.stdout
            .ends_with("3 workloads touched: 0 would be denied, 1 changed, 2 unchanged\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_new_workload_is_shown_whole_and_a_denied_one_fails() {
    let worker = |name: &str, spec: &str| {
        format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {{name: {name}, namespace: retail}}\nspec: {{stack: benthos:3.0, stackSpec: {spec}}}\n"
        )
    };
    let run = stackhook(
        &["diff", "--catalog", "examples/catalog", "-"],
        &worker("fresh", "{input: {http_server: {}}}"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(
            "Worker retail/fresh: new: allowed\n  --- /dev/null\n  +++ Worker retail/fresh (after)\n"
        ),
        "{}",
        run.stdout
    );
    let run = stackhook(
        &["diff", "--catalog", "examples/catalog", "-"],
        &worker("broken", "{output: {}}"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Worker retail/broken: new: denied\n  spec.stackSpec: \"input\" is a required property\n1 workload touched: 1 would be denied, 0 changed, 0 unchanged\n"
    );
}
