use serde_json::json;

use super::*;
use crate::condition::Condition;
use crate::model::Resource;
use crate::test_support::resources;

fn workload(text: &str) -> Workload {
    match resources(text).remove(0) {
        Resource::Workload(w) => w,
        _ => panic!("not a workload"),
    }
}

fn worker() -> Workload {
    workload(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: ns, generation: 4}\nspec: {stack: app:1}\n",
    )
}

fn dag() -> Workload {
    workload(
        r#"
apiVersion: stackhook.io/v1alpha1
kind: Workflow
metadata: {name: etl, namespace: ns, generation: 2}
spec:
  stack: app:1
  dag:
    - {name: a}
    - {name: b, dependencies: [a]}
"#,
    )
}

fn now() -> Time {
    Time(jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default())
}

fn earlier() -> Time {
    Time(jiff::Timestamp::from_second(1_700_000_000).unwrap_or_default())
}

fn job(name: &str, step: Option<&str>, stamp: &str, state: Option<&str>) -> Value {
    let mut labels = json!({STAMP_LABEL: stamp});
    if let Some(s) = step {
        labels[STEP_LABEL] = json!(s);
    }
    let conditions: Vec<Value> = state
        .map(|t| json!({"type": t, "status": "True"}))
        .into_iter()
        .collect();
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": labels},
           "status": {"conditions": conditions}})
}

fn deployment(replicas: i64, ready: i64, generation: i64, observed: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "w", "generation": generation},
           "spec": {"replicas": replicas},
           "status": {"readyReplicas": ready, "observedGeneration": observed}})
}

fn applied<'a>(live: &'a [Value]) -> Outcome<'a> {
    Outcome::Applied {
        live,
        conditions: ResourceConditions::default(),
        relaxed: None,
    }
}

fn ready_of(s: &WorkloadStatus) -> (&str, &str, &str) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("a Ready condition");
    (
        s.phase.as_deref().unwrap_or(""),
        c.status.as_str(),
        c.reason.as_str(),
    )
}

#[test]
fn deployment_phases() {
    let w = worker();
    let cases = [
        (
            deployment(2, 2, 3, 3),
            ("Running", "True", "DeploymentReady"),
        ),
        (
            deployment(2, 1, 3, 3),
            ("Pending", "False", "DeploymentProgressing"),
        ),
        // Ready replicas of the previous generation do not count.
        (
            deployment(2, 2, 4, 3),
            ("Pending", "False", "DeploymentProgressing"),
        ),
    ];
    for (d, want) in cases {
        let live = [d];
        let s = status(
            &w,
            &applied(&live),
            Some("-abcd"),
            Some("w-wk-abcd"),
            None,
            &now(),
        );
        assert_eq!(ready_of(&s), want);
        assert_eq!(s.observed_generation, Some(4));
        assert_eq!(s.stamp.as_deref(), Some("-abcd"));
        assert_eq!(s.config_map_name.as_deref(), Some("w-wk-abcd"));
    }
}

#[test]
fn job_and_dag_phases() {
    let wf = dag();
    let cases = [
        (
            vec![job("etl-a", Some("a"), "s", None)],
            ("Running", "False", "JobsRunning"),
        ),
        (
            vec![job("etl-a", Some("a"), "s", Some("Complete"))],
            ("Running", "False", "JobsRunning"),
        ),
        (
            vec![
                job("etl-a", Some("a"), "s", Some("Complete")),
                job("etl-b", Some("b"), "s", Some("Complete")),
            ],
            ("Succeeded", "True", "JobsComplete"),
        ),
        (
            vec![
                job("etl-a", Some("a"), "s", Some("Complete")),
                job("etl-b", Some("b"), "s", Some("Failed")),
            ],
            ("Failed", "False", "JobFailed"),
        ),
    ];
    for (live, want) in cases {
        let s = status(&wf, &applied(&live), None, None, None, &now());
        assert_eq!(ready_of(&s), want, "{live:?}");
    }
}

#[test]
fn resource_template_phase_follows_its_conditions() {
    let w = worker();
    let success = Condition::parse("status.state == COMPLETED").unwrap();
    let failure = Condition::parse("status.state in (FAILED, UNKNOWN)").unwrap();
    let conditions = ResourceConditions {
        success: Some(&success),
        failure: Some(&failure),
    };
    let spark = |state: &str| {
        json!({"apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
               "metadata": {"name": "w"}, "status": {"state": state}})
    };
    for (state, want) in [
        ("RUNNING", ("Running", "False", "Running")),
        ("COMPLETED", ("Succeeded", "True", "SuccessCondition")),
        ("UNKNOWN", ("Failed", "False", "FailureCondition")),
    ] {
        let live = [spark(state)];
        let outcome = Outcome::Applied {
            live: &live,
            conditions,
            relaxed: None,
        };
        assert_eq!(
            ready_of(&status(&w, &outcome, None, None, None, &now())),
            want
        );
    }
    let nothing = Outcome::Applied {
        live: &[],
        conditions,
        relaxed: None,
    };
    assert_eq!(
        ready_of(&status(&w, &nothing, None, None, None, &now())),
        ("Pending", "False", "Pending")
    );
}

#[test]
fn cronjob_and_config_only_phases() {
    let live = [json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "w"}})];
    assert_eq!(
        ready_of(&status(&dag(), &applied(&live), None, None, None, &now())),
        ("Running", "True", "Scheduled")
    );
    let off = workload(
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {name: w, namespace: ns, annotations: {stackhook.io/orchestrate: \"false\"}}\nspec: {stack: app:1}\n",
    );
    assert_eq!(
        ready_of(&status(&off, &applied(&[]), None, None, None, &now())),
        ("Running", "True", "ConfigOnly")
    );
}

#[test]
fn failures_are_invalid_with_the_reason_on_the_condition() {
    let w = worker();
    let s = status(
        &w,
        &Outcome::Invalid {
            reason: "StackNotFound",
            message: "spec.stack: stack app:1 not found",
        },
        None,
        None,
        None,
        &now(),
    );
    assert_eq!(s.phase.as_deref(), Some("Invalid"));
    let validated = &s.conditions[0];
    assert_eq!(
        (
            validated.type_.as_str(),
            validated.status.as_str(),
            validated.reason.as_str(),
            validated.message.as_str()
        ),
        (
            "Validated",
            "False",
            "StackNotFound",
            "spec.stack: stack app:1 not found"
        )
    );
    let s = status(
        &w,
        &Outcome::RenderFailed("spec.workerConfig.configFileTemplate:1:3: boom"),
        None,
        None,
        None,
        &now(),
    );
    let types: Vec<(&str, &str)> = s
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("Validated", "True"),
            ("ConfigRendered", "False"),
            ("Ready", "False")
        ]
    );
    assert_eq!(
        s.conditions[1].message,
        "spec.workerConfig.configFileTemplate:1:3: boom"
    );
}

#[test]
fn transition_times_move_only_when_the_status_changes() {
    let w = worker();
    let ready = [deployment(1, 1, 1, 1)];
    let mut previous = status(&w, &applied(&ready), None, None, None, &earlier());
    // Ready was True; the next reconcile finds it progressing.
    let progressing = [deployment(1, 0, 2, 1)];
    let next = status(
        &w,
        &applied(&progressing),
        None,
        None,
        Some(&previous),
        &now(),
    );
    let at = |s: &WorkloadStatus, t: &str| {
        s.conditions
            .iter()
            .find(|c| c.type_ == t)
            .map(|c| c.last_transition_time.clone())
    };
    assert_eq!(at(&next, "Validated"), Some(earlier()));
    assert_eq!(at(&next, "Ready"), Some(now()));
    previous = next;
    let again = status(
        &w,
        &applied(&progressing),
        None,
        None,
        Some(&previous),
        &earlier(),
    );
    assert_eq!(at(&again, "Ready"), Some(now()));
}

#[test]
fn succeeded_steps_are_the_complete_jobs() {
    let live = [
        job("etl-a", Some("a"), "s", Some("Complete")),
        job("etl-b", Some("b"), "s", Some("Failed")),
        job("etl-c", Some("c"), "s", None),
        job("etl-d", Some("d"), "old", Some("Complete")),
        job("other", None, "s", Some("Complete")),
    ];
    let planned = [
        job("etl-a", Some("a"), "s", None),
        job("etl-b", Some("b"), "s", None),
        job("etl-c", Some("c"), "s", None),
        job("etl-d", Some("d"), "s", None),
    ];
    // d completed, but for an older Stamp: it runs again.
    assert_eq!(
        succeeded_steps(&live, &planned),
        BTreeSet::from(["a".to_owned()])
    );
}

#[test]
fn jobs_with_another_stamp_are_replaced() {
    let desired = [
        job("etl-a", Some("a"), "new", None),
        job("etl-b", Some("b"), "new", None),
    ];
    let live = [
        job("etl-a", Some("a"), "old", Some("Complete")),
        job("etl-b", Some("b"), "new", None),
        job("etl-gone", Some("x"), "old", None),
    ];
    assert_eq!(jobs_to_replace(&desired, &live), ["etl-a"]);
}

#[test]
fn config_maps_beyond_the_last_three_stamps_go() {
    let cm = |name: &str, stamp: &str, created: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "labels": {STAMP_LABEL: stamp}, "creationTimestamp": created}})
    };
    let existing = [
        cm("w-wk-aaaa", "aaaa", "2026-01-01T00:00:00Z"),
        cm("w-wk-bbbb", "bbbb", "2026-01-02T00:00:00Z"),
        cm("w-wk-cccc", "cccc", "2026-01-03T00:00:00Z"),
        cm("w-wk-dddd", "dddd", "2026-01-04T00:00:00Z"),
        // The current Stamp, however old its ConfigMap (a rollback to it).
        cm("w-wk-zzzz", "zzzz", "2025-01-01T00:00:00Z"),
    ];
    let current = BTreeSet::from(["zzzz".to_owned()]);
    assert_eq!(
        stale_config_maps(&existing, &current),
        ["w-wk-aaaa", "w-wk-bbbb"]
    );
    // Three or fewer Stamps: nothing goes.
    assert!(stale_config_maps(&existing[2..], &current).is_empty());
}

#[test]
fn violations_admitted_under_audit_make_validated_false_while_the_objects_run() {
    let w = worker();
    let live = [deployment(1, 1, 1, 1)];
    let outcome = Outcome::Applied {
        live: &live,
        conditions: ResourceConditions::default(),
        relaxed: Some(Relaxed {
            enforcement: Enforcement::Audit,
            message: "spec.stackSpec.replicas: 0 is less than the minimum of 1",
        }),
    };
    let s = status(&w, &outcome, None, None, None, &now());
    assert_eq!(ready_of(&s), ("Running", "True", "DeploymentReady"));
    let validated = s
        .conditions
        .iter()
        .find(|c| c.type_ == "Validated")
        .unwrap();
    assert_eq!(validated.status, "False");
    assert_eq!(validated.reason, "AuditViolations");
    assert_eq!(
        validated.message,
        "admitted under Audit, would be denied under Enforce: spec.stackSpec.replicas: 0 is less than the minimum of 1"
    );
}
