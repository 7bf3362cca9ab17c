//! `stackhook template`: one Go template rendered from the command line.

use crate::support::{repo, stackhook, write};

#[test]
fn renders_to_stdout_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "t.tmpl",
        "{{ .name | upper }}\n{{- range .l }} {{ . }}{{ end }}",
    );
    let data = write(dir.path(), "data.yaml", "name: orders\nl: [1, two]\n");
    let run = stackhook(
        &[
            "template",
            "--template",
            t.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "ORDERS 1 two");
}

#[test]
fn reads_json_data_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "t.tmpl", "{{ .n }} {{ toYaml .m }}\n");
    let run = stackhook(
        &["template", "--template", t.to_str().unwrap(), "--data", "-"],
        r#"{"n": 1000000, "m": {"b": [1], "a": "yes"}}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "1e+06 a: \"yes\"\nb:\n- 1\n");
}

#[test]
fn renders_the_seed_template_with_depots_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "t.tmpl",
        "{{ with resolve .in }}{{ .Type }} {{ .Dataset }} {{ .bucket }}{{ end }}",
    );
    let run = stackhook(
        &[
            "template",
            "--template",
            t.to_str().unwrap(),
            "--data",
            "-",
            "--catalog",
            repo("examples/catalog").to_str().unwrap(),
            "--namespace",
            "retail",
        ],
        "in: dataos://gcdexport:none/city/city.csv\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "GCS city/city.csv retail-exports");
}

#[test]
fn parse_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "config.tmpl", "a: 1\nb: {{ .x \n");
    let run = stackhook(&["template", "--template", t.to_str().unwrap()], "");
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "template: config.tmpl:3: unclosed action started at config.tmpl:2\n"
    );
}

#[test]
fn execution_errors_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "t.tmpl",
        "name: {{ .name }}\nport: {{ required \"port is required\" .port }}\n",
    );
    let run = stackhook(
        &[
            "template",
            "--template",
            t.to_str().unwrap(),
            "--name",
            "serviceConfig",
            "--data",
            "-",
        ],
        "name: x\n",
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "template: serviceConfig:2:9: executing \"serviceConfig\" at <required \"port is required\" .port>: error calling required: port is required\n"
    );
}

#[test]
fn bad_inputs_are_clear() {
    let run = stackhook(&["template", "--template", "no/such.tmpl"], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: cannot read the template no/such.tmpl"),
        "{}",
        run.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "t.tmpl", "x");
    let run = stackhook(
        &["template", "--template", t.to_str().unwrap(), "--data", "-"],
        "a: [1\n",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("error: <stdin>:2:1: "),
        "{}",
        run.stderr
    );
    let run = stackhook(
        &["template", "--template", t.to_str().unwrap(), "--data", "-"],
        "a: 1\n---\nb: 2\n",
    );
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: <stdin>: the data holds 2 documents; give one\n"
    );
}

#[test]
fn hostile_templates_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(
        dir.path(),
        "t.tmpl",
        "{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}{{ template \"loop\" . }}",
    );
    let run = stackhook(&["template", "--template", t.to_str().unwrap()], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("exceeded the template call depth limit of 100"),
        "{}",
        run.stderr
    );
}
