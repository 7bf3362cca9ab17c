use super::*;
use crate::catalog::MemoryCatalog;
use crate::compiled::StackCache;
use crate::engine::EngineSettings;
use crate::test_support::resources;

const CATALOG: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: flare-6-0}
spec:
  name: flare
  version: "6.0"
  dataOsAddressJqFilters:
    - .inputs[].dataset
    - {filter: ".outputs[].dataset", acl: rw}
  image: {registry: r, repository: p, image: flare, tag: "6.0"}
  stackSpecValueSchema:
    jsonSchema: |
      {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": ["inputs"],
       "properties": {"inputs": {"type": "array", "items": {"type": "object", "required": ["dataset"],
         "properties": {"dataset": {"type": "string"}}}}, "name": {"type": "string"}}}
  workflowJobConfig:
    configFileTemplate: |
      job.yaml: |
        name: {{ required "stackSpec.name is required" .ApplicationSpec.StackSpec.name }}
  workerConfig:
    configFileTemplate: |
      {{ if .ApplicationSpec.StackSpec.listOutput }}- not a map{{ else }}a.txt: ok{{ end }}
---
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: flare-5-0}
spec: {name: flare, version: "5.0", workflowJobConfig: {}}
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: icebase, namespace: retail}
spec: {type: ABFSS, secrets: [{name: icebase-r, acl: r}]}
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: lake, namespace: retail}
spec: {type: S3, secrets: [{name: lake-rw, acl: rw}]}
"#;

fn one(text: &str) -> Resource {
    resources(text).remove(0)
}

fn catalog() -> MemoryCatalog {
    let mut c = MemoryCatalog::new();
    for r in resources(CATALOG) {
        c.insert(r).unwrap();
    }
    c
}

fn admit(catalog: &MemoryCatalog, cache: &StackCache, text: &str, op: Operation) -> Verdict {
    let options = EngineSettings::default();
    Engine::new(catalog, cache, &options).resource(&one(text), op)
}

fn check(text: &str) -> Verdict {
    admit(&catalog(), &StackCache::new(), text, Operation::Create)
}

fn violations(v: &Verdict) -> Vec<String> {
    v.violations.iter().map(ToString::to_string).collect()
}

fn workflow(spec: &str) -> String {
    format!(
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {{name: wf, namespace: retail}}\nspec: {spec}\n"
    )
}

#[test]
fn admits_a_valid_workflow() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job, inputs: [{dataset: "dataos://icebase:retail/city"}], outputs: [{dataset: "dataos://lake:raw/city"}]}}"#,
    ));
    assert!(v.allowed(), "{:?}", v.violations);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
}

#[test]
fn reports_every_schema_error_by_path() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: 7, inputs: [{dataset: 3}, {}]}}"#,
    ));
    assert_eq!(
        violations(&v),
        [
            "spec.stackSpec.inputs[0].dataset: 3 is not of type \"string\"",
            "spec.stackSpec.inputs[1]: \"dataset\" is a required property",
            "spec.stackSpec.name: 7 is not of type \"string\"",
        ]
    );
}

#[test]
fn unknown_stack_names_the_known_ones() {
    let v = check(&workflow(r#"{stack: "benthos:3.0", stackSpec: {}}"#));
    assert_eq!(
        violations(&v),
        ["spec.stack: stack \"benthos\" not found; known stacks: flare"]
    );
}

#[test]
fn unknown_version_names_the_existing_ones() {
    let v = check(&workflow(r#"{stack: "flare:7.0", stackSpec: {}}"#));
    assert_eq!(
        violations(&v),
        ["spec.stack: stack \"flare\" has no version \"7.0\" (available: 6.0, 5.0)"]
    );
}

#[test]
fn unpinned_stack_is_a_warning() {
    let v = check(&workflow(
        r#"{stack: flare, stackSpec: {name: job1, inputs: []}}"#,
    ));
    assert!(v.allowed(), "{:?}", v.violations);
    assert_eq!(
        v.warnings,
        ["spec.stack: \"flare\" is not pinned; using flare:6.0 (pin a version)"]
    );
}

#[test]
fn a_stack_without_the_kinds_section_says_which_kinds_it_serves() {
    let v = check(
        "apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {name: s, namespace: retail}\nspec: {stack: \"flare:6.0\"}\n",
    );
    assert_eq!(
        violations(&v),
        [
            "spec.stack: stack flare:6.0 has no serviceConfig for Services; it serves: Worker, Workflow"
        ]
    );
    let v = check(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: retail}\nspec: {stack: \"flare:5.0\"}\n",
    );
    assert_eq!(
        violations(&v),
        ["spec.stack: stack flare:5.0 has no workerConfig for Workers; it serves: Workflow"]
    );
}

#[test]
fn checks_each_address() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: [{dataset: "dataos://Bad:x"}, {dataset: "dataos://nope:x"}, {dataset: "dataos://lake:ok"}], outputs: [{dataset: "dataos://icebase:out"}]}}"#,
    ));
    assert_eq!(
        violations(&v),
        [
            r#"spec.stackSpec.inputs[0].dataset: address "dataos://Bad:x": depot "Bad" has invalid character 'B' at offset 9 (allowed: a-z, 0-9, -)"#,
            r#"spec.stackSpec.inputs[1].dataset: address "dataos://nope:x": depot "nope" not found in namespace "retail""#,
            r#"spec.stackSpec.outputs[0].dataset: address "dataos://icebase:out": depot "icebase" has no secret for acl rw (it has: r)"#,
        ]
    );
}

#[test]
fn a_filter_failing_at_run_time_is_named() {
    let mut c = catalog();
    c.insert(one(
        "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: loose}\nspec: {name: loose, version: \"1\", dataOsAddressJqFilters: [\".inputs[].dataset\"], workflowJobConfig: {}}\n",
    ))
    .unwrap();
    let v = admit(
        &c,
        &StackCache::new(),
        &workflow(r#"{stack: "loose:1", stackSpec: {inputs: ["flat string"]}}"#),
        Operation::Create,
    );
    assert_eq!(
        violations(&v),
        [
            r#"spec.stackSpec: address filter ".inputs[].dataset" of stack loose:1 failed: Cannot index string with string "dataset""#
        ]
    );
}

#[test]
fn a_spec_failing_its_schema_is_not_rendered() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {inputs: "dataos://icebase:x"}}"#,
    ));
    assert_eq!(
        violations(&v),
        [r#"spec.stackSpec.inputs: "dataos://icebase:x" is not of type "array""#]
    );
}

#[test]
fn dry_render_failures_carry_the_template_position() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {inputs: []}}"#,
    ));
    assert_eq!(
        violations(&v),
        [
            r#"spec.stackSpec: configFileTemplate of stack flare:6.0 fails with this spec: template: workflowJobConfig.configFileTemplate:2:11: executing "workflowJobConfig.configFileTemplate" at <required "stackSpec.name is required" .ApplicationSpec.StackSpec.name>: error calling required: stackSpec.name is required"#
        ]
    );
}

#[test]
fn the_rendered_config_must_be_a_map_of_files() {
    let v = check(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: retail}\nspec: {stack: \"flare:6.0\", stackSpec: {inputs: [], listOutput: true}}\n",
    );
    assert_eq!(
        violations(&v),
        [
            "spec.stackSpec: configFileTemplate of stack flare:6.0: the rendered configFileTemplate must be a map of file names to contents, not a list"
        ]
    );
}

#[test]
fn config_keys_must_be_file_names() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: []}, configs: {"../x": a}}"#,
    ));
    assert_eq!(
        violations(&v),
        [r#"spec.configs["../x"]: "../x" cannot be a file name: it contains '/'"#]
    );
}

#[test]
fn dag_steps_are_checked_with_their_own_stack_and_spec() {
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: []}, dag: [{name: a}, {name: b, stack: "flare:9"}, {name: c, stackSpec: {inputs: 3}}]}"#,
    ));
    let got = violations(&v);
    assert_eq!(
        got[0],
        "spec.dag[1].stack: stack \"flare\" has no version \"9\" (available: 6.0, 5.0)"
    );
    assert_eq!(
        got[1],
        "spec.dag[2].stackSpec.inputs: 3 is not of type \"array\""
    );
}

#[test]
fn stack_rules() {
    let bad = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: broken}
spec:
  name: "bro ken"
  version: "6.0"
  image: {registry: r, repository: "", image: i, tag: ""}
  ports: {name: http_metrics_port, servicePort: 70000}
  environmentVars: {"1ST": x, OK: y}
  dataOsAddressJqFilters: [".ok", ".inputs[", "range(10)"]
  stackSpecValueSchema:
    jsonSchema: "{\"type\": \"object\",\n \"properties\": }"
  workerConfig:
    configFileTemplate: "a: {{ .x"
    conatinerResourceTemplate: "{{ end }}"
  workflowJobConfig:
    resourceTemplateConfig:
      resourceTemplate: "kind: X"
      successCondition: "status.state == COMPLETED"
      failureCondition: "status.state in FAILED"
"#;
    let v = check(bad);
    assert_eq!(
        violations(&v),
        [
            r#"spec.name: name "bro ken" has invalid character ' ' (allowed: letters, digits, '-', '_', '.')"#,
            "spec.image.repository: must be set",
            "spec.image.tag: must be set",
            r#"spec.environmentVars.1ST: "1ST" cannot name an environment variable: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"#,
            r#"spec.ports.name: "http_metrics_port" cannot name the container's port: must be no more than 15 characters"#,
            r#"spec.ports.name: "http_metrics_port" cannot name the container's port: must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#,
            "spec.ports.servicePort: 70000 is not a port number (1-65535)",
            "spec.stackSpecValueSchema.jsonSchema: schema is not valid JSON: expected value at line 2 column 16",
            "spec.dataOsAddressJqFilters[1]: cannot parse: expected a filter at the end",
            "spec.dataOsAddressJqFilters[2]: `range` is not allowed in address filters (they select parts of the spec; they do not compute)",
            "spec.workerConfig.conatinerResourceTemplate: template: workerConfig.conatinerResourceTemplate:1: unexpected {{end}}",
            "spec.workerConfig.configFileTemplate: template: workerConfig.configFileTemplate:1: unclosed action",
            r#"spec.workflowJobConfig.resourceTemplateConfig.failureCondition: condition "status.state in FAILED": in needs a list in parentheses, found "FAILED""#,
        ]
    );
    assert_eq!(
        v.warnings,
        [
            "spec.workerConfig.conatinerResourceTemplate is deprecated: use containerResourceTemplate"
        ]
    );
}

#[test]
fn a_duplicate_stack_is_denied_but_an_update_of_itself_is_not() {
    let dup = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: other}\nspec: {name: flare, version: \"6.0\", workerConfig: {}}\n";
    assert_eq!(
        violations(&check(dup)),
        ["spec.version: stack flare:6.0 already exists (Stack \"flare-6-0\")"]
    );
    let same = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: flare-6-0}\nspec: {name: flare, version: \"6.0\", workerConfig: {}}\n";
    let v = admit(&catalog(), &StackCache::new(), same, Operation::Update);
    assert!(v.allowed(), "{:?}", v.violations);
}

#[test]
fn unknown_schema_draft_is_a_warning() {
    let s = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: s}\nspec: {name: s, version: \"1\", workerConfig: {}, stackSpecValueSchema: {jsonSchema: '{\"$schema\": \"draft-01\"}'}}\n";
    let v = check(s);
    assert!(v.allowed());
    assert_eq!(
        v.warnings,
        ["unknown $schema \"draft-01\"; validating as draft-07"]
    );
}

#[test]
fn deleting_a_used_stack_is_denied_naming_users() {
    let mut c = catalog();
    for i in 0..12 {
        c.insert(one(&format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {{name: w{i:02}, namespace: retail}}\nspec: {{stack: \"flare:6.0\"}}\n"
        )))
        .unwrap();
    }
    let stack = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: flare-6-0}\nspec: {name: flare, version: \"6.0\"}\n";
    let v = admit(&c, &StackCache::new(), stack, Operation::Delete);
    assert_eq!(
        violations(&v),
        [
            "stack flare:6.0 is used by 12 workloads: Workflow retail/w00, Workflow retail/w01, Workflow retail/w02, Workflow retail/w03, Workflow retail/w04 and 7 more"
        ]
    );
    let unused = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: flare-5-0}\nspec: {name: flare, version: \"5.0\"}\n";
    assert!(admit(&c, &StackCache::new(), unused, Operation::Delete).allowed());
    let options = EngineSettings {
        deny_stack_delete_in_use: false,
        ..EngineSettings::default()
    };
    let cache = StackCache::new();
    assert!(
        Engine::new(&c, &cache, &options)
            .resource(&one(stack), Operation::Delete)
            .allowed()
    );
}

#[test]
fn deleting_a_used_depot_is_denied_naming_users() {
    let mut c = catalog();
    for (name, address) in [
        ("reads", "dataos://icebase:retail/city"),
        ("writes", "dataos://lake:raw/x"),
    ] {
        c.insert(one(&format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {{name: {name}, namespace: retail}}\nspec: {{stack: \"flare:6.0\", stackSpec: {{name: job, inputs: [{{dataset: \"{address}\"}}]}}}}\n"
        )))
        .unwrap();
    }
    let depot = "apiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata: {name: icebase, namespace: retail}\nspec: {type: ABFSS}\n";
    let v = admit(&c, &StackCache::new(), depot, Operation::Delete);
    assert_eq!(
        violations(&v),
        ["depot retail/icebase is used by 1 workload: Workflow retail/reads"]
    );
    // A Depot of the same name in another namespace is not the one they use.
    let elsewhere = depot.replace("namespace: retail", "namespace: other");
    assert!(admit(&c, &StackCache::new(), &elsewhere, Operation::Delete).allowed());
    let options = EngineSettings {
        deny_depot_delete_in_use: false,
        ..EngineSettings::default()
    };
    let cache = StackCache::new();
    let off = Engine::new(&c, &cache, &options);
    assert!(off.resource(&one(depot), Operation::Delete).allowed());
}

#[test]
fn a_workload_that_cannot_be_decoded_still_blocks_deleting_its_depot_and_stack() {
    let mut c = catalog();
    let key = |name: &str| WorkloadKey {
        namespace: "retail".into(),
        kind: crate::model::WorkloadKind::Workflow,
        name: name.into(),
    };
    c.insert_undecodable(key("broken"), &["flare:6.0"]);
    // Elsewhere: no bearing on a Depot of retail.
    c.insert_undecodable(
        WorkloadKey {
            namespace: "other".into(),
            ..key("far")
        },
        &[],
    );
    let depot = "apiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata: {name: icebase, namespace: retail}\nspec: {type: ABFSS}\n";
    let v = admit(&c, &StackCache::new(), depot, Operation::Delete);
    assert_eq!(
        violations(&v),
        ["depot retail/icebase is used by 1 workload: Workflow retail/broken"]
    );
    assert_eq!(
        v.warnings,
        [
            "Workflow retail/broken cannot be decoded from the catalog; counted as a user of depot retail/icebase"
        ]
    );
    let stack = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: flare-6-0}\nspec: {name: flare, version: \"6.0\"}\n";
    let v = admit(&c, &StackCache::new(), stack, Operation::Delete);
    assert_eq!(
        violations(&v),
        ["stack flare:6.0 is used by 1 workload: Workflow retail/broken"]
    );
}

fn update(catalog: &MemoryCatalog, old: &str, new: &str) -> Verdict {
    let options = EngineSettings::default();
    let cache = StackCache::new();
    let value = |t: &str| goyaml::parse_documents(t).unwrap().remove(0).value;
    Engine::new(catalog, &cache, &options).update(&one(new), &value(old), &value(new))
}

#[test]
fn updates_ratchet_as_crd_validation_does() {
    // Valid once; its Depot has gone since.
    let old = workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: [{dataset: "dataos://gone:a/b"}]}}"#,
    );
    let c = catalog();
    assert!(!check(&old).allowed());
    // Metadata only: allowed, with what is wrong as a warning.
    let labelled = old.replace(
        "namespace: retail}",
        "namespace: retail, labels: {team: a}}",
    );
    let v = update(&c, &old, &labelled);
    assert!(v.allowed(), "{v:?}");
    assert_eq!(
        v.warnings,
        [
            "allowed because only metadata changed; the Workflow no longer validates:",
            "spec.stackSpec.inputs[0].dataset: address \"dataos://gone:a/b\": depot \"gone\" not found in namespace \"retail\""
        ]
    );
    // Being deleted (the finalizer removal): allowed, silently.
    let deleting = old.replace(
        "namespace: retail}",
        "namespace: retail, deletionTimestamp: \"2026-12-02T10:00:00Z\", finalizers: []}",
    );
    let v = update(&c, &old, &deleting);
    assert!(v.allowed() && v.warnings.is_empty(), "{v:?}");
    // A changed spec is judged in full.
    let changed = old.replace("name: job1,", "name: job2,");
    assert_eq!(
        violations(&update(&c, &old, &changed)),
        [
            "spec.stackSpec.inputs[0].dataset: address \"dataos://gone:a/b\": depot \"gone\" not found in namespace \"retail\""
        ]
    );
}

#[test]
fn an_address_may_ask_for_more_access_than_its_filter() {
    // `.inputs[].dataset` reads; `?acl=rw` asks to write, which icebase cannot grant.
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: [{dataset: "dataos://icebase:retail/city?acl=rw"}, {dataset: "dataos://icebase:retail?acl=r"}]}}"#,
    ));
    assert_eq!(
        violations(&v),
        [
            "spec.stackSpec.inputs[0].dataset: address \"dataos://icebase:retail/city?acl=rw\": depot \"icebase\" has no secret for acl rw (it has: r)"
        ]
    );
    let v = check(&workflow(
        r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: [{dataset: "dataos://icebase:retail?acl=admin"}]}}"#,
    ));
    assert_eq!(
        violations(&v),
        [
            "spec.stackSpec.inputs[0].dataset: address \"dataos://icebase:retail?acl=admin\": acl \"admin\" is not r or rw"
        ]
    );
}

#[test]
fn service_accounts_are_granted_not_picked() {
    let worker = |sa: &str| {
        workflow(&format!(
            r#"{{stack: "flare:6.0", serviceAccountName: {sa}, stackSpec: {{name: job1, inputs: []}}}}"#
        ))
    };
    let mut c = catalog();
    let cache = StackCache::new();
    assert!(admit(&c, &cache, &worker("default"), Operation::Create).allowed());
    let v = admit(&c, &cache, &worker("cluster-admin-ish"), Operation::Create);
    assert_eq!(
        violations(&v),
        [
            "spec.serviceAccountName: service account \"cluster-admin-ish\" is not allowed in namespace \"retail\"; allowed: default (grant it with allowedServiceAccounts in the namespace's stackhook-config or the Stack)"
        ]
    );
    // Granted by the namespace's stackhook-config…
    c.set_settings(
        "retail",
        vec![(
            "default".into(),
            crate::settings::Settings {
                allowed_service_accounts: Some(vec!["orders-writer".into()]),
                ..Default::default()
            },
        )],
    );
    assert!(admit(&c, &cache, &worker("orders-writer"), Operation::Create).allowed());
    let v = admit(&c, &cache, &worker("other"), Operation::Create);
    assert!(
        violations(&v)[0].contains("allowed: default, orders-writer"),
        "{v:?}"
    );
    // …or by the Stack.
    let mut granting = catalog();
    granting.remove_stack("flare-6-0");
    let stack = CATALOG.split("---").next().unwrap().replace(
        "  version: \"6.0\"\n",
        "  version: \"6.0\"\n  allowedServiceAccounts: [flare-runner]\n",
    );
    granting.insert(one(&stack)).unwrap();
    assert!(
        admit(
            &granting,
            &StackCache::new(),
            &worker("flare-runner"),
            Operation::Create
        )
        .allowed()
    );
}

#[test]
fn depot_rules() {
    let v = check(
        "apiVersion: stackhook.io/v1alpha1\nkind: Depot\nmetadata: {name: d, namespace: ns1}\nspec: {secrets: [{name: a, acl: r, files: [\"../k\"]}, {name: \"\", acl: r}]}\n",
    );
    assert_eq!(
        violations(&v),
        [
            "spec.type: must be set (S3, GCS, ABFSS, POSTGRESQL, KAFKA, …)",
            "spec.secrets[0].files[0]: \"../k\" cannot be a file name: it contains '/'",
            "spec.secrets[1].name: must be set",
            "spec.secrets[1].acl: acl r is already granted by spec.secrets[0]",
        ]
    );
}

#[test]
fn compiles_a_stack_generation_once() {
    let c = catalog();
    let cache = StackCache::new();
    let w = workflow(r#"{stack: "flare:6.0", stackSpec: {name: job1, inputs: []}}"#);
    assert!(admit(&c, &cache, &w, Operation::Create).allowed());
    assert_eq!(cache.stats().misses, 1);
    assert_eq!(cache.stats().hits, 0);
    assert!(admit(&c, &cache, &w, Operation::Update).allowed());
    assert_eq!(cache.stats().misses, 1);
    assert_eq!(cache.stats().hits, 1);
}

#[test]
fn compiled_stacks_are_keyed_by_content_not_generation() {
    let cache = StackCache::new();
    let stack = |generation: i64, schema: &str| match one(&format!(
        "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {{name: s, uid: u1, generation: {generation}}}\nspec: {{name: s, version: \"1\", stackSpecValueSchema: {{jsonSchema: '{schema}'}}}}\n"
    )) {
        Resource::Stack(s) => s,
        _ => unreachable!(),
    };
    // A dry-run UPDATE with a broken schema at generation 2 ...
    let broken = cache.get(&stack(2, "{not json"));
    assert!(matches!(broken.schema, Some(Err(_))));
    // ... does not decide the real UPDATE at generation 2.
    let good = cache.get(&stack(2, r#"{"type": "object"}"#));
    assert!(matches!(good.schema, Some(Ok(_))));
    // Equal specs share one compiled form, whatever their generation.
    cache.get(&stack(3, r#"{"type": "object"}"#));
    assert_eq!(cache.stats().misses, 2);
    assert_eq!(cache.stats().hits, 1);
}

#[test]
fn the_compiled_stack_cache_is_bounded_by_weight() {
    let cache = StackCache::with_budget(64 << 10);
    for i in 0..200 {
        let s = match one(&format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {{name: s{i}}}\nspec: {{name: s{i}, version: \"1\"}}\n"
        )) {
            Resource::Stack(s) => s,
            _ => unreachable!(),
        };
        cache.get(&s);
    }
    assert!(cache.weight() <= 64 << 10, "{}", cache.weight());
    assert!(cache.len() < 200);
}
