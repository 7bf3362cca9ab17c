use super::*;
use crate::model::Resource;
use crate::test_support::{Fixture, resources};

const CATALOG: &str = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: app-1, uid: s1, generation: 1}
spec:
  name: app
  version: "1"
  # Its workloads may run as `runner` (besides `default`).
  allowedServiceAccounts: [runner]
  image: {registry: r.io, repository: team, image: app, tag: "1.2"}
  command: [/app]
  arguments: [--config, /etc/dataos/config/app.yaml]
  ports: {name: http, servicePort: 80, targetPort: 8080}
  dataOsAddressJqFilters: [".inputs[]"]
  workerConfig:
    configFileTemplate: "app.yaml: |\n  name: {{ .Name }}\n"
  serviceConfig:
    configFileTemplate: "app.yaml: |\n  name: {{ .Name }}\n"
    containerResourceTemplate: |
      initContainers:
        - {name: warm, image: busybox}
      container:
        image: r.io/team/app:1.2
        args: [serve, --port, "8080"]
  workflowJobConfig:
    configFileTemplate: "job.yaml: |\n  step: {{ .Name }}\n"
---
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: spark-1, uid: s2, generation: 1}
spec:
  name: spark
  version: "1"
  workerConfig:
    resourceTemplate: |
      apiVersion: sparkoperator.k8s.io/v1beta2
      kind: SparkApplication
      metadata: {name: {{ .Name }}}
      spec: {image: spark, mainClass: {{ .ApplicationSpec.StackSpec.main }}}
---
apiVersion: stackhook.io/v1alpha1
kind: Depot
metadata: {name: lake, namespace: ns1, uid: d1, generation: 1}
spec: {type: S3, secrets: [{name: lake-r, acl: r}]}
"#;

fn workload(text: &str) -> Workload {
    match resources(text).remove(0) {
        Resource::Workload(w) => w,
        _ => panic!(),
    }
}

fn plan(text: &str, dag: &Dag<'_>) -> Result<Vec<Value>, OrchestrateError> {
    let fixture = Fixture::new(CATALOG);
    desired(
        &fixture.engine(),
        &workload(text),
        &OrchestrateSettings {
            ingress_domain_suffix: "apps.example.org".into(),
            resource_kinds: None,
        },
        dag,
    )
}

#[test]
fn resource_template_kinds_must_be_on_the_allow_list() {
    let fixture = Fixture::new(CATALOG);
    let w = workload(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: job, namespace: ns1, uid: w9}\nspec: {stack: \"spark:1\", stackSpec: {main: org.Example}}\n",
    );
    let with = |kinds: &[&str]| {
        desired(
            &fixture.engine(),
            &w,
            &OrchestrateSettings {
                resource_kinds: Some(kinds.iter().map(|k| (*k).to_owned()).collect()),
                ..OrchestrateSettings::default()
            },
            &Dag::All,
        )
    };
    assert!(with(&["SparkApplication.sparkoperator.k8s.io"]).is_ok());
    let e = with(&["ConfigMap", "Job.batch"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the Stack's resourceTemplate makes a SparkApplication.sparkoperator.k8s.io, which the controller may not create; allowed: ConfigMap, Job.batch"
    );
    assert!(
        with(&[])
            .unwrap_err()
            .to_string()
            .ends_with("allowed: none")
    );
}

#[test]
fn a_resource_template_of_several_documents_is_refused_naming_it_and_the_count() {
    let catalog = r#"
apiVersion: stackhook.io/v1alpha1
kind: Stack
metadata: {name: twice-1, uid: s3, generation: 1}
spec:
  name: twice
  version: "1"
  workerConfig:
    resourceTemplate: |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: {{ .Name }}-a}
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: {{ .Name }}-b}
"#;
    let fixture = Fixture::new(catalog);
    let w = workload(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: two, namespace: ns1, uid: w8}\nspec: {stack: \"twice:1\"}\n",
    );
    let e = desired(
        &fixture.engine(),
        &w,
        &OrchestrateSettings::default(),
        &Dag::All,
    )
    .unwrap_err();
    assert!(matches!(e, OrchestrateError::Render(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "spec.stackSpec: resourceTemplate of stack twice:1: rendered 2 YAML documents; it must render one object"
    );
}

fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

const WORKER: &str = "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: ns1, uid: w1, generation: 1}\nspec: {stack: \"app:1\", replicas: 3, serviceAccountName: runner, nodeSelector: {pool: batch}, labels: {team: data}, stackSpec: {inputs: [\"dataos://lake:raw\"]}}\n";

#[test]
fn a_worker_gets_its_config_map_and_a_deployment() {
    let objects = plan(WORKER, &Dag::All).unwrap();
    let stamp = objects[1]["spec"]["template"]["metadata"]["annotations"]["stackhook.io/stamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        kinds(&objects),
        [format!("ConfigMap/w-worker{stamp}"), "Deployment/w".into()]
    );
    let d = &objects[1];
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        json!({"stackhook.io/workload": "w", "stackhook.io/workload-kind": "Worker"})
    );
    let pod = &d["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"stackhook.io/workload": "w", "stackhook.io/workload-kind": "Worker", "team": "data"})
    );
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["image"], "r.io/team/app:1.2");
    assert_eq!(c["command"], json!(["/app"]));
    assert_eq!(
        c["args"],
        json!(["--config", "/etc/dataos/config/app.yaml"])
    );
    assert_eq!(pod["spec"]["serviceAccountName"], "runner");
    assert_eq!(pod["spec"]["nodeSelector"], json!({"pool": "batch"}));
    assert_eq!(d["metadata"]["ownerReferences"][0]["uid"], "w1");
    assert_eq!(objects[0]["immutable"], true);
}

#[test]
fn a_new_stamp_gives_a_new_config_map_and_rolls_the_deployment() {
    let a = plan(WORKER, &Dag::All).unwrap();
    let b = plan(
        &WORKER.replace("generation: 1}", "generation: 2}"),
        &Dag::All,
    )
    .unwrap();
    assert_ne!(a[0]["metadata"]["name"], b[0]["metadata"]["name"]);
    assert_ne!(
        a[1]["spec"]["template"]["metadata"]["annotations"]["stackhook.io/stamp"],
        b[1]["spec"]["template"]["metadata"]["annotations"]["stackhook.io/stamp"]
    );
}

#[test]
fn a_service_gets_a_service_and_an_ingress_and_its_container_shape() {
    let objects = plan(
        "apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {name: api, namespace: ns1}\nspec: {stack: \"app:1\", ingress: {enabled: true, path: /api}}\n",
        &Dag::All,
    )
    .unwrap();
    assert_eq!(
        &kinds(&objects)[1..],
        ["Deployment/api", "Service/api", "Ingress/api"]
    );
    let pod = &objects[1]["spec"]["template"]["spec"];
    assert_eq!(
        pod["initContainers"],
        json!([{"name": "warm", "image": "busybox"}])
    );
    assert_eq!(
        pod["containers"][0],
        json!({"name": "app", "image": "r.io/team/app:1.2", "args": ["serve", "--port", "8080"]})
    );
    assert_eq!(
        objects[2]["spec"]["ports"],
        json!([{"name": "http", "port": 80, "targetPort": 8080}])
    );
    let rule = &objects[3]["spec"]["rules"][0];
    assert_eq!(rule["host"], "api.ns1.apps.example.org");
    assert_eq!(rule["http"]["paths"][0]["path"], "/api");
    assert_eq!(
        rule["http"]["paths"][0]["backend"]["service"],
        json!({"name": "api", "port": {"number": 80}})
    );
}

#[test]
fn a_workflow_is_a_job_or_with_a_schedule_a_cron_job() {
    let wf = "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: etl, namespace: ns1}\nspec: {stack: \"app:1\"}\n";
    let objects = plan(wf, &Dag::All).unwrap();
    assert_eq!(kinds(&objects)[1], "Job/etl");
    assert_eq!(
        objects[1]["spec"]["template"]["spec"]["restartPolicy"],
        "Never"
    );
    let objects = plan(&wf.replace("{stack: \"app:1\"}", "{stack: \"app:1\", schedule: {cron: \"0 5 * * *\", concurrencyPolicy: Forbid, timezone: Europe/Paris}}"), &Dag::All).unwrap();
    assert_eq!(kinds(&objects)[1], "CronJob/etl");
    assert_eq!(objects[1]["spec"]["schedule"], "0 5 * * *");
    assert_eq!(objects[1]["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(objects[1]["spec"]["timeZone"], "Europe/Paris");
    assert_eq!(
        objects[1]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["stackhook.io/workload-kind"],
        "Workflow"
    );
}

#[test]
fn dag_steps_start_when_their_dependencies_have_succeeded() {
    let wf = "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: etl, namespace: ns1}\nspec: {stack: \"app:1\", dag: [{name: load, dependencies: [extract, clean]}, {name: extract}, {name: clean, dependencies: [extract]}]}\n";
    let all = plan(wf, &Dag::All).unwrap();
    let jobs: Vec<String> = kinds(&all)
        .into_iter()
        .filter(|k| k.starts_with("Job/"))
        .collect();
    assert_eq!(jobs, ["Job/etl-extract", "Job/etl-clean", "Job/etl-load"]);
    let load = all
        .iter()
        .find(|o| o["metadata"]["name"] == "etl-load")
        .unwrap();
    assert_eq!(
        load["metadata"]["annotations"]["stackhook.io/after"],
        "extract,clean"
    );
    assert_eq!(
        load["spec"]["template"]["metadata"]["labels"]["stackhook.io/step"],
        "load"
    );
    let none = BTreeSet::new();
    let first = plan(wf, &Dag::Succeeded(&none)).unwrap();
    assert_eq!(
        kinds(&first)
            .into_iter()
            .filter(|k| k.starts_with("Job/"))
            .collect::<Vec<_>>(),
        ["Job/etl-extract"]
    );
    let done: BTreeSet<String> = ["extract".to_owned()].into();
    let second = plan(wf, &Dag::Succeeded(&done)).unwrap();
    assert_eq!(
        kinds(&second)
            .into_iter()
            .filter(|k| k.starts_with("Job/"))
            .collect::<Vec<_>>(),
        ["Job/etl-extract", "Job/etl-clean"]
    );
}

#[test]
fn a_scheduled_dag_runs_its_first_steps_by_cronjob_and_the_rest_per_run() {
    let wf = "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: etl, namespace: ns1}\nspec: {stack: \"app:1\", schedule: {cron: \"*/5 * * * *\", concurrencyPolicy: Forbid, timezone: Asia/Kolkata, endOn: \"2024-11-01T23:40:45Z\"}, dag: [{name: load, dependencies: [extract]}, {name: extract}]}\n";
    let all = plan(wf, &Dag::All).unwrap();
    let main: Vec<String> = kinds(&all)
        .into_iter()
        .filter(|k| !k.starts_with("ConfigMap/"))
        .collect();
    assert_eq!(main, ["CronJob/etl-extract", "Job/etl-load"]);
    let cron = &all[all.len() - 2];
    assert_eq!(cron["spec"]["schedule"], "*/5 * * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(cron["spec"]["timeZone"], "Asia/Kolkata");
    assert_eq!(
        cron["metadata"]["annotations"]["stackhook.io/end-on"],
        "2024-11-01T23:40:45Z"
    );
    // The Jobs the CronJob starts carry the step's labels, so the controller sees them.
    assert_eq!(
        cron["spec"]["jobTemplate"]["metadata"]["labels"]["stackhook.io/step"],
        "extract"
    );
    let load = &all[all.len() - 1];
    assert_eq!(
        load["metadata"]["annotations"]["stackhook.io/scheduled-by"],
        "etl-extract"
    );

    // Before any run: the CronJob only.
    let none = BTreeSet::new();
    let idle = plan(
        wf,
        &Dag::Run {
            run: None,
            succeeded: &none,
        },
    )
    .unwrap();
    assert!(kinds(&idle).iter().all(|k| !k.starts_with("Job/")));
    // A run whose first step succeeded: its next step, named after the run.
    let job = |name: &str, step: &str, done: bool| {
        json!({"kind": "Job", "metadata": {"name": name, "labels": {"stackhook.io/step": step}},
               "status": {"conditions": [{"type": if done {"Complete"} else {"Failed"}, "status": "True"}]}})
    };
    let live = [
        job("etl-extract-28930000", "extract", true),
        job("etl-extract-28930005", "extract", true),
        job("etl-load-28930000", "load", false),
    ];
    let (run, succeeded) = crate::progress::scheduled_run(&live, &all);
    assert_eq!(run.as_deref(), Some("28930005"));
    assert_eq!(succeeded, ["extract".to_owned()].into());
    let next = plan(
        wf,
        &Dag::Run {
            run: run.as_deref(),
            succeeded: &succeeded,
        },
    )
    .unwrap();
    let jobs: Vec<String> = kinds(&next)
        .into_iter()
        .filter(|k| k.starts_with("Job/"))
        .collect();
    assert_eq!(jobs, ["Job/etl-load-28930005"]);
    assert_eq!(
        next[next.len() - 1]["metadata"]["annotations"]["stackhook.io/run"],
        "28930005"
    );

    // After endOn the controller suspends the CronJob.
    let w = workload(wf);
    let mut objects = next.clone();
    end_schedules(&w, &mut objects, "2024-11-01T00:00:00Z".parse().unwrap());
    assert!(objects.iter().all(|o| o["spec"].get("suspend").is_none()));
    end_schedules(&w, &mut objects, "2024-11-02T00:00:00Z".parse().unwrap());
    assert_eq!(objects[objects.len() - 2]["spec"]["suspend"], true);
    assert!(scheduled_dag(&w));
}

#[test]
fn a_scheduled_dags_step_names_must_leave_room_for_the_run() {
    let long = "s".repeat(41);
    let wf = format!(
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {{name: nightly-etl, namespace: ns1}}\nspec: {{stack: \"app:1\", schedule: {{cron: \"0 2 * * *\"}}, dag: [{{name: {long}}}]}}\n"
    );
    let Err(OrchestrateError::Invalid(problems)) = plan(&wf, &Dag::All) else {
        panic!("accepted");
    };
    assert_eq!(
        problems.iter().map(Problem::at).collect::<Vec<_>>(),
        [format!(
            "spec.dag[0].name: a scheduled step's objects are named \"nightly-etl-{long}\" and after each run; 53 characters is over the 52 a CronJob's name may have"
        )]
    );
}

#[test]
fn dag_cycles_and_unknown_steps_are_errors() {
    let wf = |dag: &str| {
        format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {{name: etl, namespace: ns1}}\nspec: {{stack: \"app:1\", dag: {dag}}}\n"
        )
    };
    assert_eq!(
        plan(
            &wf("[{name: a, dependencies: [b]}, {name: b, dependencies: [a]}]"),
            &Dag::All
        )
        .unwrap_err()
        .to_string(),
        "spec.dag: the steps \"a\", \"b\" depend on each other in a cycle"
    );
    assert_eq!(
        plan(&wf("[{name: a, dependencies: [zz]}]"), &Dag::All)
            .unwrap_err()
            .to_string(),
        "spec.dag[0].dependencies[0]: depends on \"zz\", which is not a step of this Workflow"
    );
}

#[test]
fn a_step_after_a_step_named_twice_is_one_problem_not_a_panic() {
    // The cycle check and the plan's order are one function: a step after a name two
    // steps share is ordered (no cycle), and the name given twice is the problem.
    let wf = "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: etl, namespace: ns1}\nspec: {stack: \"app:1\", dag: [{name: a}, {name: a}, {name: b, dependencies: [a]}]}\n";
    let Err(OrchestrateError::Invalid(problems)) = plan(wf, &Dag::All) else {
        panic!("accepted");
    };
    assert_eq!(
        problems.iter().map(Problem::at).collect::<Vec<_>>(),
        ["spec.dag[1].name: step name \"a\" is used twice"]
    );
}

#[test]
fn a_resource_template_replaces_the_deployment() {
    let objects = plan(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: job, namespace: ns1, uid: w9}\nspec: {stack: \"spark:1\", stackSpec: {main: org.Example}}\n",
        &Dag::All,
    )
    .unwrap();
    assert_eq!(kinds(&objects), ["SparkApplication/job"]);
    assert_eq!(objects[0]["spec"]["mainClass"], "org.Example");
    assert_eq!(objects[0]["metadata"]["namespace"], "ns1");
    assert_eq!(objects[0]["metadata"]["ownerReferences"][0]["uid"], "w9");
}

#[test]
fn orchestrate_false_makes_only_the_config_map() {
    let objects = plan(
        &WORKER.replace(
            "uid: w1,",
            "uid: w1, annotations: {stackhook.io/orchestrate: \"false\"},",
        ),
        &Dag::All,
    )
    .unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["kind"], "ConfigMap");
}

#[test]
fn an_unresolvable_workload_is_an_error() {
    let e = plan("apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: ns1}\nspec: {stack: \"nope:1\"}\n", &Dag::All).unwrap_err();
    assert_eq!(
        e.to_string(),
        "spec.stack: stack \"nope\" not found; known stacks: app, spark"
    );
}

#[test]
fn the_namespace_settings_give_the_ingress_domain() {
    let mut fixture = Fixture::new(CATALOG);
    let suffix = |s: &str| crate::settings::Settings {
        ingress_domain_suffix: Some(s.into()),
        ..Default::default()
    };
    fixture
        .catalog
        .set_settings("ns1", vec![("default".into(), suffix("ns1.example.net"))]);
    let engine = fixture.engine();
    let service = workload(
        "apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {name: api, namespace: ns1}\nspec: {stack: \"app:1\", ingress: {enabled: true}}\n",
    );
    let objects = desired(
        &engine,
        &service,
        &OrchestrateSettings::default(),
        &Dag::All,
    )
    .unwrap();
    let ingress = objects.iter().find(|o| o["kind"] == "Ingress").unwrap();
    assert_eq!(
        ingress["spec"]["rules"][0]["host"],
        "api.ns1.ns1.example.net"
    );
}

const SCALED: &str = "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: ns1, uid: w1, generation: 1}\nspec:\n  stack: \"app:1\"\n  replicas: 3\n  autoScaling: {minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70}\n  highAvailabilityConfig: {level: zone, mode: required}\n  securityContext: {runAsUser: 1001}\n  persistentVolume: {name: data, directory: /models, readOnly: true}\n  tempVolume: scratch\n";

#[test]
fn autoscaling_and_high_availability_become_an_autoscaler_a_budget_and_anti_affinity() {
    let objects = plan(SCALED, &Dag::All).unwrap();
    let names = kinds(&objects);
    assert_eq!(
        names[1..],
        [
            "Deployment/w",
            "HorizontalPodAutoscaler/w",
            "PodDisruptionBudget/w"
        ]
    );
    let d = &objects[1];
    // The autoscaler owns the count.
    assert!(d["spec"].get("replicas").is_none(), "{}", d["spec"]);
    let hpa = &objects[2]["spec"];
    assert_eq!(
        hpa["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"})
    );
    assert_eq!(
        (hpa["minReplicas"].clone(), hpa["maxReplicas"].clone()),
        (json!(2), json!(5))
    );
    assert_eq!(
        hpa["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}])
    );
    let selector = json!({"matchLabels": {"stackhook.io/workload": "w", "stackhook.io/workload-kind": "Worker"}});
    assert_eq!(
        objects[3]["spec"],
        json!({"maxUnavailable": 1, "selector": selector})
    );
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(
        pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
        json!([{"labelSelector": selector, "topologyKey": "topology.kubernetes.io/zone"}])
    );
    assert_eq!(pod["securityContext"], json!({"runAsUser": 1001}));
    let stamp = d["spec"]["template"]["metadata"]["annotations"]["stackhook.io/stamp"]
        .as_str()
        .unwrap();
    assert_eq!(
        pod["containers"][0]["volumeMounts"],
        json!([
            {"name": format!("w-worker{stamp}-tdm"), "mountPath": "/var/dataos/temp_data", "subPath": format!("w{stamp}")},
            {"name": format!("w-worker{stamp}-pdm"), "mountPath": "/var/dataos/persistent_data/models", "subPath": "models", "readOnly": true}
        ])
    );
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": format!("w-worker{stamp}-tdm"), "persistentVolumeClaim": {"claimName": "scratch"}},
            {"name": format!("w-worker{stamp}-pdm"), "persistentVolumeClaim": {"claimName": "data", "readOnly": true}}
        ])
    );
}

#[test]
fn preferred_spreading_is_a_weighted_term_and_disabled_scaling_keeps_replicas() {
    let w = SCALED
        .replace(
            "{minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70}",
            "{enabled: false}",
        )
        .replace("{level: zone, mode: required}", "{}");
    let objects = plan(&w, &Dag::All).unwrap();
    assert_eq!(
        kinds(&objects)[1..],
        ["Deployment/w", "PodDisruptionBudget/w"]
    );
    assert_eq!(objects[1]["spec"]["replicas"], 3);
    let anti = &objects[1]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
    assert_eq!(
        anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"],
        100
    );
    assert_eq!(
        anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"],
        "kubernetes.io/hostname"
    );
}

#[test]
fn autoscaling_needs_a_ceiling_above_its_floor() {
    let bad = |scaling: &str| {
        let w = SCALED.replace(
            "{minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70}",
            scaling,
        );
        plan(&w, &Dag::All).unwrap_err().to_string()
    };
    assert_eq!(
        bad("{minReplicas: 2}"),
        "spec.autoScaling.maxReplicas: is required when autoScaling is enabled"
    );
    assert_eq!(
        bad("{minReplicas: 4, maxReplicas: 3, targetMemoryUtilizationPercentage: 0}"),
        "spec.autoScaling.maxReplicas: 3 is below minReplicas 4; spec.autoScaling.targetMemoryUtilizationPercentage: must be a positive percentage, not 0"
    );
}

#[test]
fn retry_count_is_the_jobs_backoff_limit_per_step() {
    let wf = "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf, namespace: ns1, uid: f1, generation: 1}\nspec:\n  stack: \"app:1\"\n  retry: {count: 5}\n  dag:\n    - {name: a}\n    - {name: b, dependencies: [a], retry: {count: 0, strategy: OnFailure}}\n";
    let objects = plan(wf, &Dag::All).unwrap();
    let jobs: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Job").collect();
    assert_eq!(jobs[0]["spec"]["backoffLimit"], 5);
    assert_eq!(jobs[1]["spec"]["backoffLimit"], 0);
}

#[test]
fn dataos_secrets_must_be_environment_of_the_own_namespace() {
    let w = "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: ns1, uid: w1, generation: 1}\nspec:\n  stack: \"app:1\"\n  dataosSecrets:\n    - {name: creds, workspace: other}\n    - {name: keys, consumptionType: propFile}\n";
    assert_eq!(
        plan(w, &Dag::All).unwrap_err().to_string(),
        "spec.dataosSecrets[0].workspace: Secret \"creds\" is in namespace \"other\"; a pod of namespace \"ns1\" can read only its own namespace's Secrets; spec.dataosSecrets[1].consumptionType: \"propFile\" is not supported: dataosSecrets are read as envVars; files come from a Depot's secrets (secretProjection)"
    );
}

#[test]
fn a_template_that_mounts_a_volume_nothing_provides_is_an_error_naming_it() {
    let catalog = CATALOG.replace(
        "        args: [serve, --port, \"8080\"]\n",
        "        args: [serve, --port, \"8080\"]\n        volumeMounts:\n          - {name: '{{ .Name }}-{{ .Type }}{{ .Stamp }}-pdm', mountPath: /data}\n          - {name: cache, mountPath: /cache}\n",
    );
    let fixture = Fixture::new(&catalog);
    let s = workload(
        "apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {name: api, namespace: ns1, uid: s9}\nspec: {stack: \"app:1\", servicePort: 80}\n",
    );
    let e = desired(
        &fixture.engine(),
        &s,
        &OrchestrateSettings::default(),
        &Dag::All,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("spec.stackSpec: containerResourceTemplate of stack app:1: container \"app\" mounts volume \"api-service-"),
        "{e}"
    );
    assert!(
        e.ends_with("-pdm\", which neither the template nor stackhook provides (the workload has no persistentVolume)"),
        "{e}"
    );
}

#[test]
fn nothing_is_made_that_the_api_server_would_refuse_by_its_name_or_lack_of_ports() {
    let service = |name: &str, spec: &str| {
        plan(
            &format!("apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {{name: {name:?}, namespace: ns1}}\nspec: {spec}\n"),
            &Dag::All,
        )
        .map(|objects| kinds(&objects))
        .map_err(|e| e.to_string())
    };
    assert_eq!(
        service("orders.api-v2", "{stack: \"app:1\"}").unwrap_err(),
        "metadata.name: the Service \"orders.api-v2\" would be refused by the API server: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    );
    let host = "h".repeat(250);
    assert!(
        service(&host[..60], "{stack: \"app:1\", ingress: {enabled: true}}").is_ok(),
        "a long name still makes a valid host"
    );
}

/// The pod templates of `objects` (Deployments, Jobs, CronJobs).
fn pod_templates(objects: &[Value]) -> Vec<Value> {
    objects
        .iter()
        .filter_map(|o| {
            o.pointer("/spec/template")
                .or_else(|| o.pointer("/spec/jobTemplate/spec/template"))
                .cloned()
        })
        .collect()
}

#[test]
fn the_pods_the_controller_makes_pass_the_api_servers_rules_before_and_after_injection() {
    use crate::inject::{InjectSettings, inject_json, pod_rules};
    for text in [
        WORKER.to_owned(),
        "apiVersion: stackhook.io/v1alpha1\nkind: Service\nmetadata: {name: api, namespace: ns1}\nspec: {stack: \"app:1\", ingress: {enabled: true}, stackSpec: {inputs: [\"dataos://lake:raw\"]}}\n".to_owned(),
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf, namespace: ns1}\nspec: {stack: \"app:1\", schedule: {cron: \"0 5 * * *\"}, stackSpec: {inputs: [\"dataos://lake:raw\"]}}\n".to_owned(),
        "apiVersion: stackhook.io/v1alpha1\nkind: Workflow\nmetadata: {name: dag, namespace: ns1}\nspec: {stack: \"app:1\", dag: [{name: a}, {name: b, dependencies: [a]}]}\n".to_owned(),
    ] {
        let fixture = Fixture::new(&format!("{CATALOG}---\n{text}"));
        let engine = fixture.engine();
        let objects = desired(
            &engine,
            &workload(&text),
            &OrchestrateSettings {
                ingress_domain_suffix: "apps.example.org".into(),
                resource_kinds: None,
            },
            &Dag::All,
        )
        .unwrap();
        // Every object's name and label values are what the API server accepts.
        for o in &objects {
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let rule = if o["kind"] == "Service" {
                crate::names::dns1035_label
            } else {
                crate::names::dns1123_subdomain
            };
            assert_eq!(rule(name), Vec::<String>::new(), "{name}");
            for v in o["metadata"]["labels"].as_object().into_iter().flatten() {
                let value = v.1.as_str().unwrap_or_default();
                assert_eq!(crate::names::label_value(value), Vec::<String>::new());
            }
        }
        let templates = pod_templates(&objects);
        assert!(!templates.is_empty(), "{text}");
        for mut pod in templates {
            pod["metadata"]["namespace"] = "ns1".into();
            assert_eq!(pod_rules::check(&pod), Vec::<String>::new(), "{pod:#}");
            let ops = inject_json(&pod.to_string(), "ns1", &engine, &InjectSettings::default())
                .unwrap()
                .unwrap();
            assert!(!ops.is_empty(), "{text}: not injected");
            let patch: json_patch::Patch =
                serde_json::from_value(serde_json::to_value(&ops).unwrap()).unwrap();
            json_patch::patch(&mut pod, &patch).unwrap();
            assert_eq!(pod_rules::check(&pod), Vec::<String>::new(), "{pod:#}");
        }
    }
}
