//! Every name rule, with its message, as admission reports it.

use crate::admit::{Operation, Verdict};
use crate::names;
use crate::test_support::{Fixture, resources};

const CATALOG: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: app-1, uid: s1, generation: 1}
spec:
  name: app
  version: "1"
  image: {registry: r.io, repository: team, image: app, tag: "1.2"}
  dataOsAddressJqFilters: [".inputs[]?"]
  workerConfig:
    configFileTemplate: "app.yaml: |\n  name: {{ .Name }}\n"
  serviceConfig: {}
  workflowJobConfig: {}
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: lake-with-a-name-long-enough-to-make-a-volume-name-too-long, namespace: ns1, uid: d1, generation: 1}
spec: {type: S3, secrets: [{name: lake-r, acl: r}]}
"#;

const LONG_DEPOT: &str = "lake-with-a-name-long-enough-to-make-a-volume-name-too-long";

fn verdict(kind: &str, name: &str, spec: &str) -> Verdict {
    let fixture = Fixture::new(CATALOG);
    let engine = fixture.engine();
    let text = format!(
        "apiVersion: stackhook.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name:?}, namespace: ns1}}\nspec: {spec}\n"
    );
    engine.resource(&resources(&text).remove(0), Operation::Create)
}

fn violations(kind: &str, name: &str, spec: &str) -> Vec<String> {
    verdict(kind, name, spec)
        .violations
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `path: <object> "<name>" would be refused by the API server: <rule>`.
fn refused(path: &str, object: &str, name: &str, rule: &str) -> String {
    format!("{path}: {object} {name:?} would be refused by the API server: {rule}")
}

#[test]
fn a_service_whose_name_is_no_dns_1035_label_is_refused() {
    assert_eq!(
        violations(
            "Service",
            "orders.api-v2",
            "{stack: \"app:1\", servicePort: 80}"
        ),
        [
            "metadata.name: the Service \"orders.api-v2\" would be refused by the API server: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    assert_eq!(
        violations(
            "Service",
            "orders-api-v2",
            "{stack: \"app:1\", servicePort: 80}"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn a_service_without_a_port_is_refused() {
    assert_eq!(
        violations("Service", "orders", "{stack: \"app:1\"}"),
        [
            "spec.servicePort: a Service needs a port: set spec.servicePort or spec.servicePorts, or the Stack's ports.servicePort (a Kubernetes Service without ports is refused)"
        ]
    );
}

#[test]
fn service_port_names_are_labels_and_unique() {
    assert_eq!(
        violations(
            "Service",
            "orders",
            "{stack: \"app:1\", servicePorts: [{name: Web, servicePort: 80}, {name: api, servicePort: 81}, {name: api, servicePort: 82}]}"
        ),
        [
            refused(
                "spec.servicePorts[0].name",
                "the Service port",
                "Web",
                &names::dns1123_label("Web")[0]
            ),
            "spec.servicePorts[2].name: Duplicate value: \"api\"".to_owned(),
        ]
    );
}

#[test]
fn ingress_fields_stackhook_cannot_apply_are_warned_about() {
    let v = verdict(
        "Service",
        "orders",
        "{stack: \"app:1\", servicePort: 80, ingress: {enabled: true, path: /o, stripPath: true, noAuthentication: true}}",
    );
    assert!(v.allowed(), "{:?}", v.violations);
    assert_eq!(
        v.warnings,
        [
            "spec.ingress.stripPath is not applied: the Ingress has no rewrite; serve the path prefix",
            "spec.ingress.noAuthentication has no effect: stackhook's Ingress adds no authentication",
        ]
    );
}

#[test]
fn a_workload_name_must_be_a_label_value_and_its_objects_subdomains() {
    let long = "a".repeat(64);
    assert_eq!(
        violations("Worker", &long, "{stack: \"app:1\"}"),
        [refused(
            "metadata.name",
            "the value of label stackhook.io/workload",
            &long,
            "must be no more than 63 characters"
        )]
    );
    // Upper case is a valid label value, but no object name.
    let v = violations("Worker", "Orders", "{stack: \"app:1\"}");
    let subdomain = &names::dns1123_subdomain("Orders")[0];
    assert_eq!(
        v,
        [
            refused(
                "metadata.name",
                "the ConfigMap",
                "Orders-worker-",
                subdomain
            ),
            refused("metadata.name", "the Deployment", "Orders", subdomain),
        ]
        .map(|m| m.replace("\"Orders-worker-\"", &stamped(&v[0])))
    );
}

/// The quoted ConfigMap name of a message (its Stamp is the workload's).
fn stamped(message: &str) -> String {
    let start = message.find('"').unwrap_or_default();
    let end = message[start + 1..].find('"').unwrap_or_default() + start + 2;
    message[start..end].to_owned()
}

#[test]
fn a_cronjob_name_has_52_characters_at_most() {
    let name = "a".repeat(53);
    assert_eq!(
        violations(
            "Workflow",
            &name,
            "{stack: \"app:1\", schedule: {cron: \"0 5 * * *\"}}"
        ),
        [refused(
            "metadata.name",
            "the CronJob",
            &name,
            "must be no more than 52 characters"
        )]
    );
    assert_eq!(
        violations("Workflow", &name, "{stack: \"app:1\"}"),
        Vec::<String>::new(),
        "a Job may have 63"
    );
}

#[test]
fn dag_job_names_and_step_labels_are_checked_at_the_step() {
    let step = "s".repeat(61);
    let v = violations(
        "Workflow",
        "wf",
        &format!("{{stack: \"app:1\", dag: [{{name: ok}}, {{name: {step}}}, {{name: Bad_Step}}]}}"),
    );
    assert_eq!(
        v,
        [
            refused(
                "spec.dag[1].name",
                "the Job",
                &format!("wf-{step}"),
                "must be no more than 63 characters"
            ),
            refused(
                "spec.dag[2].name",
                "the Job",
                "wf-Bad_Step",
                &names::dns1123_subdomain("wf-Bad_Step")[0]
            ),
        ]
    );
}

#[test]
fn a_depot_volume_name_must_be_a_dns_label() {
    assert_eq!(
        violations(
            "Worker",
            "w",
            &format!(
                "{{stack: \"app:1\", stackSpec: {{inputs: [\"dataos://{LONG_DEPOT}:raw\"]}}}}"
            )
        ),
        [refused(
            "spec.stackSpec.inputs[0]",
            "the pod volume",
            &format!("stackhook-depot-{LONG_DEPOT}-r"),
            "must be no more than 63 characters"
        )]
    );
}

#[test]
fn a_claim_volume_name_must_be_a_dns_label() {
    let name = "w".repeat(50);
    let v = violations("Worker", &name, "{stack: \"app:1\", tempVolume: scratch}");
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].starts_with(&format!("metadata.name: the pod volume \"{name}-worker-"))
            && v[0].ends_with(
                "-tdm\" would be refused by the API server: must be no more than 63 characters"
            ),
        "{v:?}"
    );
}

#[test]
fn an_ingress_name_and_host_are_subdomains() {
    let v = violations(
        "Service",
        "Orders",
        "{stack: \"app:1\", servicePort: 80, ingress: {enabled: true}}",
    );
    let subdomain = &names::dns1123_subdomain("Orders")[0];
    assert_eq!(
        v,
        [
            refused("metadata.name", "the Deployment", "Orders", subdomain),
            refused(
                "metadata.name",
                "the Service",
                "Orders",
                &names::dns1035_label("Orders")[0]
            ),
            refused("metadata.name", "the Ingress", "Orders", subdomain),
        ]
    );
    // The namespace's domain suffix makes the host.
    let mut fixture = Fixture::new(CATALOG);
    fixture.catalog.set_settings(
        "ns1",
        [(
            "all".to_owned(),
            crate::settings::Settings {
                ingress_domain_suffix: Some("Apps.Example.org".into()),
                ..crate::settings::Settings::default()
            },
        )]
        .into(),
    );
    let text = "apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {name: orders, namespace: ns1}\nspec: {stack: \"app:1\", servicePort: 80, ingress: {enabled: true}}\n";
    let v = fixture
        .engine()
        .resource(&resources(text).remove(0), Operation::Create);
    assert_eq!(
        v.violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [refused(
            "metadata.name",
            "the Ingress host",
            "orders.ns1.Apps.Example.org",
            &names::dns1123_subdomain("A")[0]
        )]
    );
}

#[test]
fn a_dag_step_name_is_a_label_value() {
    let step = "s".repeat(64);
    let v = violations(
        "Workflow",
        "wf",
        &format!("{{stack: \"app:1\", dag: [{{name: {step}}}]}}"),
    );
    assert_eq!(
        v,
        [
            refused(
                "spec.dag[0].name",
                "the Job",
                &format!("wf-{step}"),
                "must be no more than 63 characters"
            ),
            refused(
                "spec.dag[0].name",
                "the value of label stackhook.io/step",
                &step,
                "must be no more than 63 characters"
            ),
        ]
    );
}

#[test]
fn env_var_names_are_the_api_servers() {
    assert_eq!(
        violations(
            "Workflow",
            "wf",
            "{stack: \"app:1\", envs: {\"MY VAR\": x, OK: y}, dag: [{name: a, envs: {\"2X\": z}}]}"
        ),
        [
            refused(
                "spec.envs[\"MY VAR\"]",
                "the environment variable",
                "MY VAR",
                &names::env_var_name("MY VAR")[0]
            ),
            refused(
                "spec.dag[0].envs.2X",
                "the environment variable",
                "2X",
                &names::env_var_name("2X")[0]
            ),
        ]
    );
}

#[test]
fn configs_keys_are_config_map_keys() {
    assert_eq!(
        violations(
            "Worker",
            "w",
            "{stack: \"app:1\", configs: {\"app config.yaml\": x, ok.yaml: y}}"
        ),
        [refused(
            "spec.configs[\"app config.yaml\"]",
            "the ConfigMap key",
            "app config.yaml",
            &names::config_map_key("app config.yaml")[0]
        )]
    );
}
