//! `stackhook template`: one Go template rendered from the command line.

use serde_json::json;
use stackhook_core::functions::parse_template;

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

#[test]
fn seed_benthos_template_renders_the_expected_jobconfig() {
    let stack = std::fs::read_to_string(repo("examples/native/benthos-stack.yaml")).unwrap();
    let stack = &goyaml::parse_documents(&stack).unwrap()[0].value;
    let text = stack["stack"]["serviceConfig"]["configFileTemplate"]
        .as_str()
        .unwrap();
    let template = parse_template("configFileTemplate", text).unwrap();
    let data = json!({
        "Name": "orders-api", "Type": "service", "Stamp": "-x1y2", "MetricPort": 8093,
        "ApplicationSpec": {"LogLevel": "INFO", "StackSpec": {
            "input": {"http_server": {"path": "/post"}},
            "output": {"stdout": {}}
        }}
    });
    let out = template
        .execute_json(
            &data,
            &gotemplate::CallContext::default(),
            &gotemplate::Limits::default(),
        )
        .unwrap();
    // A YAML map of file names to contents…
    let files = &goyaml::parse_documents(&out).unwrap()[0].value;
    let jobconfig = files["jobconfig.yaml"].as_str().unwrap();
    assert_eq!(files.as_object().unwrap().len(), 1);
    // …whose one file is the benthos config, itself valid YAML.
    let config = &goyaml::parse_documents(jobconfig).unwrap()[0].value;
    assert_eq!(
        config,
        &json!({
            "input": {"http_server": {"path": "/post"}},
            "output": {"stdout": {}},
            "logger": {"level": "INFO", "add_timestamp": true, "format": "json",
                       "static_fields": {"@service": "orders-api"}},
            "http": {"address": "0.0.0.0:8093", "root_path": "/dataos-benthos", "debug_endpoints": false},
            "metrics": {"prometheus": {
                "push_url": "http://prometheus-pushgateway.sentinel.svc.cluster.local:9091",
                "push_interval": "5s",
                "push_job_name": "orders-api-service-x1y2"
            }}
        })
    );
}

/// The README's table of the function set names every function the engine has, and
/// nothing it lacks.
#[test]
fn the_readme_lists_the_function_set() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let section = readme
        .split("| functions | from |")
        .nth(1)
        .and_then(|s| s.split("\n\n").next())
        .expect("README.md has the function table");
    let mut listed = std::collections::BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| ")) {
        let names = row.split('|').nth(1).unwrap_or_default();
        for code in names.split('`').skip(1).step_by(2) {
            // `must…` stands for the must forms of the row's functions.
            for name in code.split_whitespace().filter(|n| !n.ends_with('…')) {
                listed.insert(name.to_owned());
            }
        }
    }
    let have: std::collections::BTreeSet<String> = stackhook_core::functions::functions()
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let missing: Vec<&String> = listed.difference(&have).collect();
    assert!(
        missing.is_empty(),
        "README lists functions the engine lacks: {missing:?}"
    );
    // `must…` forms are named once, with their function.
    let unlisted: Vec<&String> = have
        .difference(&listed)
        .filter(|n| {
            !n.strip_prefix("must")
                .is_some_and(|rest| listed.iter().any(|l| l.eq_ignore_ascii_case(rest)))
        })
        .collect();
    assert!(
        unlisted.is_empty(),
        "README's function table misses: {unlisted:?}"
    );
}
