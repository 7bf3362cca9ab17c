//! `stackhook test`: the example suites pass (CI runs them here), a broken Stack or
//! a wrong expectation fails with a diff, `--update` writes golden files, and a bad
//! suite is exit 2 with its place.

use std::path::Path;

use crate::support::{repo, stackhook, stackhook_in, write};

/// The example catalog copied into `dir`, suites and golden files included.
fn copy_examples(dir: &Path) {
    for entry in walkdir::WalkDir::new(repo("examples/catalog")) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(repo("examples/catalog")).unwrap();
        let to = dir.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// The README's ```console block that starts with `$ COMMAND`.
pub fn readme_block(command: &str) -> String {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let start = format!("```console\n$ {command}\n");
    let at = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README has no console block for `{command}`"));
    let rest = &readme[at + start.len()..];
    rest[..rest.find("```").unwrap()].to_owned()
}

#[test]
fn the_example_suites_pass_as_readme_shows() {
    let run = stackhook(&["test", "examples/"], "");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, readme_block("stackhook test examples/"));
}

#[test]
fn a_broken_stack_fails_with_a_diff_of_the_rendered_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let stack = dir.path().join("stack-benthos.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(
        &stack,
        text.replace("add_timestamp: true", "add_timestamp: false"),
    )
    .unwrap();
    let run = stackhook_in(dir.path(), &["test", "benthos.stackhook-test.yaml"], "");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "  files[jobconfig.yaml]: differs from golden/orders-stream.jobconfig.golden (`stackhook test --update` rewrites it)\n    --- golden/orders-stream.jobconfig.golden\n    +++ actual\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n    - add_timestamp: true\n    + add_timestamp: false\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("2 passed, 2 failed\n"),
        "{}",
        run.stdout
    );
}

const SUITE_HEAD: &str = "apiVersion: cli.stackhook.io/v1alpha1
kind: StackTest
metadata: {name: mine}
catalog: [stack-benthos.yaml, depots.yaml]
cases:
";

const NO_INPUT: &str = "    workload:
      apiVersion: stackhook.io/v1alpha1
      kind: Worker
      metadata: {name: no-input, namespace: retail}
      spec: {stack: benthos:3.0, stackSpec: {output: {stdout: {}}}}
";

#[test]
fn a_wrong_verdict_fails_with_a_diff_of_verdict_and_causes() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let suite = format!(
        "{SUITE_HEAD}  - name: expected allowed\n{NO_INPUT}    expect: {{verdict: allowed}}\n  - name: wrong cause\n{NO_INPUT}    expect:\n      verdict: denied\n      causes: [{{field: spec.stackSpec.input, message: required}}]\n"
    );
    write(dir.path(), "mine.stackhook-test.yaml", &suite);
    let run = stackhook_in(dir.path(), &["test", "mine.stackhook-test.yaml"], "");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        r#"FAIL mine › expected allowed (mine.stackhook-test.yaml:6:5)
  verdict: expected allowed, got denied
    --- expected
    +++ actual
    @@ -1 +1,2 @@
    -verdict: allowed
    +verdict: denied
    +cause: spec.stackSpec: "input" is a required property
FAIL mine › wrong cause (mine.stackhook-test.yaml:13:5)
  verdict: denied as expected, but its causes or warnings differ
    --- expected
    +++ actual
    @@ -1,2 +1,2 @@
     verdict: denied
    -cause: spec.stackSpec.input: …required…
    +cause: spec.stackSpec: "input" is a required property
0 passed, 2 failed
"#
    );
}

#[test]
fn update_writes_the_golden_files_render_and_mutate_agree_with() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let suite = format!(
        "{SUITE_HEAD}  - name: orders-stream\n    workload: {{file: workloads.yaml, kind: Worker, name: orders-stream}}\n    expect:\n      verdict: allowed\n      objects: new/objects.golden\n      files: {{jobconfig.yaml: new/jobconfig.golden}}\n      podPatch: new/patch.golden\n"
    );
    write(dir.path(), "mine.stackhook-test.yaml", &suite);
    let run = stackhook_in(dir.path(), &["test", "mine.stackhook-test.yaml"], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "  objects: no golden file new/objects.golden (`stackhook test --update` writes it)\n"
        ),
        "{}",
        run.stdout
    );
    let run = stackhook_in(
        dir.path(),
        &["test", "--update", "mine.stackhook-test.yaml"],
        "",
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "PASS mine › orders-stream\n  wrote new/objects.golden\n  wrote new/jobconfig.golden\n  wrote new/patch.golden\n1 passed, 0 failed\n"
    );
    // The goldens are what `render` prints for the workload and `mutate --patch` for
    // its Deployment's Pod.
    let objects = std::fs::read_to_string(dir.path().join("new/objects.golden")).unwrap();
    let workloads = std::fs::read_to_string(repo("examples/catalog/workloads.yaml")).unwrap();
    let worker = workloads.split("---").next().unwrap();
    let rendered = stackhook_in(
        dir.path(),
        &[
            "render",
            "--catalog",
            "stack-benthos.yaml",
            "--catalog",
            "depots.yaml",
            "-",
        ],
        worker,
    );
    assert_eq!(rendered.code, 0, "{}", rendered.stderr);
    assert_eq!(objects, rendered.stdout);
    let deployment = objects
        .split("---\n")
        .find(|d| d.contains("kind: Deployment"))
        .unwrap();
    let patch = stackhook_in(
        dir.path(),
        &["mutate", "--patch", "--catalog", "."],
        deployment,
    );
    assert_eq!(patch.code, 0, "{}", patch.stderr);
    // `mutate` answers for the Deployment (paths under its pod template); the golden is
    // the patch the Pod itself gets at admission.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("new/patch.golden")).unwrap(),
        patch.stdout.replace("\"/spec/template/", "\"/")
    );
    // Written once, they pass.
    let run = stackhook_in(dir.path(), &["test", "mine.stackhook-test.yaml"], "");
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn json_and_junit_name_each_case_and_carry_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let suite = format!(
        "{SUITE_HEAD}  - name: expected allowed\n{NO_INPUT}    expect: {{verdict: allowed}}\n"
    );
    write(dir.path(), "mine.stackhook-test.yaml", &suite);
    let run = stackhook_in(
        dir.path(),
        &["test", "-o", "json", "mine.stackhook-test.yaml"],
        "",
    );
    assert_eq!(run.code, 1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["failed"], 1);
    let case = &v["suites"][0]["cases"][0];
    assert_eq!(case["name"], "expected allowed");
    assert_eq!(case["line"], 6);
    assert_eq!(case["failures"][0]["what"], "verdict");
    assert!(
        case["failures"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+verdict: denied\n")
    );
    let run = stackhook_in(
        dir.path(),
        &["test", "-o", "junit", "mine.stackhook-test.yaml"],
        "",
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("<testcase classname=\"mine\" name=\"expected allowed\">\n      <failure message=\"verdict: expected allowed, got denied\">--- expected\n"), "{}", run.stdout);
}

#[test]
fn a_bad_suite_is_exit_2_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let cases: [(&str, String); 5] = [
        (
            "a misspelt field",
            format!(
                "{SUITE_HEAD}  - name: x\n    workload: workloads.yaml\n    expect: {{verdit: allowed}}\n"
            ),
        ),
        (
            "a missing workload file",
            format!(
                "{SUITE_HEAD}  - name: x\n    workload: {{file: nowhere.yaml}}\n    expect: {{verdict: allowed}}\n"
            ),
        ),
        (
            "a file of several workloads",
            format!(
                "{SUITE_HEAD}  - name: x\n    workload: workloads.yaml\n    expect: {{verdict: allowed}}\n"
            ),
        ),
        (
            "a denial without causes",
            format!("{SUITE_HEAD}  - name: x\n{NO_INPUT}    expect: {{verdict: denied}}\n"),
        ),
        (
            "a missing catalog file",
            format!(
                "{}  - name: x\n{NO_INPUT}    expect: {{verdict: denied}}\n",
                SUITE_HEAD.replace("depots.yaml", "depot.yaml")
            ),
        ),
    ];
    let expected = [
        "mine.stackhook-test.yaml:8:14: cases[0].expect.verdit: unknown field `verdit`, expected one of `verdict`, `causes`, `warnings`, `objects`, `files`, `podPatch`\n",
        "mine.stackhook-test.yaml:7:5: cases[0].workload: nowhere.yaml: no such file or directory\n",
        "mine.stackhook-test.yaml:7:5: cases[0].workload: workloads.yaml holds 3 such workloads (Worker retail/orders-stream, Service retail/orders-api, Workflow retail/city-export); choose one with kind, namespace and name\n",
        "mine.stackhook-test.yaml:12:5: cases[0].expect.causes: a denied case lists the causes it is denied for\n",
        "mine.stackhook-test.yaml: the catalog of suite \"mine\":\ndepot.yaml: no such file or directory\n",
    ];
    for ((what, suite), expected) in cases.iter().zip(expected) {
        write(dir.path(), "mine.stackhook-test.yaml", suite);
        let run = stackhook_in(dir.path(), &["test", "mine.stackhook-test.yaml"], "");
        assert_eq!(run.code, 2, "{what}: {}", run.stdout);
        assert_eq!(run.stderr, expected, "{what}");
        assert_eq!(run.stdout, "", "{what}");
    }
    let run = stackhook(&["test", "no/such/dir"], "");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "no/such/dir: no such file or directory\n")
    );
    let run = stackhook(&["test", "src"], "");
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            2,
            "src: no test suite (files named stackhook-test.yaml or *.stackhook-test.yaml)\n"
        )
    );
}

#[test]
fn a_folder_walk_leaves_out_hidden_and_cache_folders() {
    let dir = tempfile::tempdir().unwrap();
    // A build cache (cargo's target/ carries CACHEDIR.TAG) and a hidden folder, each
    // with a suite file that is not to be run.
    for folder in ["target", ".git"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        write(
            &dir.path().join(folder),
            "stackhook-test.yaml",
            "not: [a suite",
        );
    }
    write(
        &dir.path().join("target"),
        "CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    let run = stackhook_in(dir.path(), &["test"], "");
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr.trim(),
        ".: no test suite (files named stackhook-test.yaml or *.stackhook-test.yaml)"
    );
}
