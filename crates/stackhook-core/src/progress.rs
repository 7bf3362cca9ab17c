//! What the controller reports and cleans up, as pure functions of what it applied and
//! what it observed: the workload's `status` (phase and the `Validated`,
//! `ConfigRendered` and `Ready` conditions), the DAG steps that have succeeded, the
//! Jobs that must be replaced because their Stamp changed (a Job's pod template is
//! immutable), and the ConfigMaps of Stamps older than the last three.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition as K8sCondition, Time};
use serde_json::Value;

pub use crate::condition::ResourceConditions;
use crate::model::{Enforcement, Workload, WorkloadStatus};
use crate::render::{ORCHESTRATE_ANNOTATION, STAMP_LABEL, STEP_LABEL};

/// How many Stamps' ConfigMaps are kept (the current one included), so pods of a
/// rollout in progress still find theirs.
pub const KEPT_STAMPS: usize = 3;

/// What reconciling a workload came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<'a> {
    /// The workload has problems (admission's): the first one's reason, and all of
    /// them.
    Invalid {
        /// A CamelCase reason.
        reason: &'a str,
        /// Every problem, `path: message`, separated by `; `.
        message: &'a str,
    },
    /// A template failed.
    RenderFailed(&'a str),
    /// The workload validates but its plan was not applied: objects of it exist and
    /// are not the workload's (`Conflict`), or its `resourceTemplate` makes a kind the
    /// controller may not create (`KindNotAllowed`).
    Refused {
        /// A CamelCase reason.
        reason: &'a str,
        /// Why, naming the objects.
        message: &'a str,
    },
    /// The objects were applied; `live` holds them as the API server answered (with
    /// their status).
    Applied {
        /// The applied objects as they are now.
        live: &'a [Value],
        /// The Stack's `successCondition` / `failureCondition`, for a `resourceTemplate`.
        conditions: ResourceConditions<'a>,
        /// The violations the workload's mode admitted (`Warn`, `Audit`), if any:
        /// `Validated` is `False` with them while the objects run.
        relaxed: Option<Relaxed<'a>>,
    },
}

/// Violations `Warn` or `Audit` admitted, as the `Validated` condition records them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relaxed<'a> {
    /// The mode that admitted them.
    pub enforcement: Enforcement,
    /// Every violation, `path: message`, separated by `; `.
    pub message: &'a str,
}

impl Relaxed<'_> {
    /// The `Validated` condition's reason: `AuditViolations` or `WarnViolations`.
    pub fn reason(&self) -> &'static str {
        match self.enforcement {
            Enforcement::Audit => "AuditViolations",
            Enforcement::Warn => "WarnViolations",
            // Enforce admits none; named for completeness.
            Enforcement::Enforce => "Invalid",
        }
    }

    /// The condition's (and the Event's) message.
    pub fn text(&self) -> String {
        format!(
            "admitted under {}, would be denied under Enforce: {}",
            self.enforcement, self.message
        )
    }
}

/// Who controls an object the plan would apply, as the controller finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// It does not exist yet.
    Absent,
    /// Its controller ownerReference is the workload's.
    Ours,
    /// Someone else's, or no one's: the controller does not touch it.
    Foreign(String),
}

/// Whether applying over `live` (the object as it is, if it exists) would take over
/// what the workload does not own: a Worker named like an existing Service must not
/// make it its own (and garbage-collect it with itself).
pub fn ownership(live: Option<&Value>, workload: &Workload) -> Ownership {
    let Some(live) = live else {
        return Ownership::Absent;
    };
    let refs = live
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let controller = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let what = format!(
        "{} {}",
        kind_of(live),
        live.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    );
    let Some(owner) = controller else {
        return Ownership::Foreign(format!("{what} exists and is not managed by stackhook"));
    };
    let field = |k: &str| owner.get(k).and_then(Value::as_str).unwrap_or_default();
    let ours = field("kind") == workload.kind().kind()
        && field("apiVersion").starts_with("stackhook.io/")
        && match workload.meta().uid.as_deref() {
            Some(uid) => field("uid") == uid,
            None => field("name") == workload.name(),
        };
    if ours {
        Ownership::Ours
    } else {
        Ownership::Foreign(format!(
            "{what} exists and is owned by {} {}",
            field("kind"),
            field("name")
        ))
    }
}

fn kind_of(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn label<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// A Job's state: `Some(true)` complete, `Some(false)` failed, `None` still going.
fn job_done(job: &Value) -> Option<bool> {
    let conditions = job.pointer("/status/conditions").and_then(Value::as_array);
    for c in conditions.into_iter().flatten() {
        let is_true = c.get("status").and_then(Value::as_str) == Some("True");
        match c.get("type").and_then(Value::as_str) {
            Some("Complete" | "SuccessCriteriaMet") if is_true => return Some(true),
            Some("Failed" | "FailureTarget") if is_true => return Some(false),
            _ => {}
        }
    }
    None
}

/// The DAG steps whose Jobs have completed with the Stamp `planned` (the whole plan,
/// `Dag::All`) gives them: a step that ran for an older Stamp must run again.
pub fn succeeded_steps(live_jobs: &[Value], planned: &[Value]) -> BTreeSet<String> {
    let stamps: BTreeMap<&str, Option<&str>> = planned
        .iter()
        .filter(|o| kind_of(o) == "Job")
        .filter_map(|o| {
            Some((
                o.pointer("/metadata/name")?.as_str()?,
                label(o, STAMP_LABEL),
            ))
        })
        .collect();
    live_jobs
        .iter()
        .filter(|j| kind_of(j) == "Job" && job_done(j) == Some(true))
        .filter(|j| {
            j.pointer("/metadata/name")
                .and_then(Value::as_str)
                .and_then(|n| stamps.get(n))
                .is_some_and(|s| *s == label(j, STAMP_LABEL))
        })
        .filter_map(|j| label(j, STEP_LABEL).map(str::to_owned))
        .collect()
}

/// A scheduled DAG's latest run and the steps that succeeded in it. `planned` is
/// `orchestrate::desired` with `Dag::All`: its CronJobs (one per first step) start a
/// run's Jobs as `<cronjob>-<run>`, where Kubernetes makes `<run>` of the scheduled
/// time; the run is the latest such suffix among `live_jobs`. A step succeeded in the
/// run when a live Job of it, named with that suffix, has completed.
pub fn scheduled_run(live_jobs: &[Value], planned: &[Value]) -> (Option<String>, BTreeSet<String>) {
    let crons: Vec<&str> = planned
        .iter()
        .filter(|o| kind_of(o) == "CronJob")
        .filter_map(|o| o.pointer("/metadata/name")?.as_str())
        .collect();
    let run_of = |job: &Value| -> Option<(u64, String)> {
        let name = job.pointer("/metadata/name")?.as_str()?;
        crons.iter().find_map(|c| {
            let run = name.strip_prefix(c)?.strip_prefix('-')?;
            let n = (!run.is_empty() && run.bytes().all(|b| b.is_ascii_digit()))
                .then(|| run.parse::<u64>().ok())??;
            Some((n, run.to_owned()))
        })
    };
    let Some((_, run)) = live_jobs
        .iter()
        .filter(|j| kind_of(j) == "Job")
        .filter_map(run_of)
        .max_by_key(|(n, _)| *n)
    else {
        return (None, BTreeSet::new());
    };
    let suffix = format!("-{run}");
    let succeeded = live_jobs
        .iter()
        .filter(|j| kind_of(j) == "Job" && job_done(j) == Some(true))
        .filter(|j| {
            j.pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.ends_with(&suffix))
        })
        .filter_map(|j| label(j, STEP_LABEL).map(str::to_owned))
        .collect();
    (Some(run), succeeded)
}

/// The names of live Jobs that `desired` holds with another Stamp: they must be
/// deleted before the new one is applied, since a Job's template cannot change.
pub fn jobs_to_replace(desired: &[Value], live: &[Value]) -> Vec<String> {
    let want: BTreeMap<&str, Option<&str>> = desired
        .iter()
        .filter(|o| kind_of(o) == "Job")
        .filter_map(|o| {
            let name = o.pointer("/metadata/name").and_then(Value::as_str)?;
            Some((name, label(o, STAMP_LABEL)))
        })
        .collect();
    live.iter()
        .filter(|o| kind_of(o) == "Job")
        .filter_map(|o| {
            let name = o.pointer("/metadata/name").and_then(Value::as_str)?;
            let wanted = want.get(name)?;
            (*wanted != label(o, STAMP_LABEL)).then(|| name.to_owned())
        })
        .collect()
}

/// The ConfigMaps (of one workload, as listed by its labels) to delete: those of Stamps
/// older than the last [`KEPT_STAMPS`], where `current` Stamps always count as the
/// newest and the others are ordered by their newest ConfigMap's creation time.
pub fn stale_config_maps(existing: &[Value], current: &BTreeSet<String>) -> Vec<String> {
    let mut newest: BTreeMap<&str, &str> = BTreeMap::new();
    for cm in existing {
        let (Some(stamp), created) = (
            label(cm, STAMP_LABEL),
            cm.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .unwrap_or(""),
        ) else {
            continue;
        };
        let e = newest.entry(stamp).or_insert(created);
        if created > *e {
            *e = created;
        }
    }
    let mut older: Vec<(&str, &str)> = newest
        .into_iter()
        .filter(|(s, _)| !current.contains(*s))
        .map(|(s, t)| (t, s))
        .collect();
    // Newest first; RFC 3339 timestamps in UTC sort as text.
    older.sort_by(|a, b| b.cmp(a));
    let keep_older = KEPT_STAMPS.saturating_sub(current.len());
    let kept: BTreeSet<&str> = older
        .iter()
        .take(keep_older)
        .map(|(_, s)| *s)
        .chain(current.iter().map(String::as_str))
        .collect();
    existing
        .iter()
        .filter(|cm| label(cm, STAMP_LABEL).is_some_and(|s| !kept.contains(s)))
        .filter_map(|cm| cm.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// Where a workload is in its life, as `status.phase` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadPhase {
    /// Applied, not ready yet.
    Pending,
    /// Ready (a Deployment's replicas, a CronJob scheduled), or running.
    Running,
    /// Its Jobs, or its resourceTemplate object, succeeded.
    Succeeded,
    /// A Job, or its resourceTemplate object, failed.
    Failed,
    /// It has problems: nothing is applied.
    Invalid,
}

impl WorkloadPhase {
    /// The text of `status.phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Invalid => "Invalid",
        }
    }
}

/// A phase and why.
struct Phase {
    phase: WorkloadPhase,
    ready: bool,
    reason: &'static str,
    message: String,
}

impl Phase {
    fn of(
        phase: WorkloadPhase,
        ready: bool,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            phase,
            ready,
            reason,
            message: message.into(),
        }
    }
}

fn phase(workload: &Workload, live: &[Value], conditions: ResourceConditions<'_>) -> Phase {
    if !crate::orchestrate::orchestrated(workload) {
        return Phase::of(
            WorkloadPhase::Running,
            true,
            "ConfigOnly",
            format!("{ORCHESTRATE_ANNOTATION} is \"false\": only the ConfigMap is made"),
        );
    }
    let main: Vec<&Value> = live.iter().filter(|o| kind_of(o) != "ConfigMap").collect();
    if conditions.success.is_some() || conditions.failure.is_some() {
        let Some(object) = main.first() else {
            return pending("the resourceTemplate object is not there yet");
        };
        if conditions.failure.is_some_and(|c| c.holds(object)) {
            return Phase::of(
                WorkloadPhase::Failed,
                false,
                "FailureCondition",
                format!("{} met its failureCondition", describe(object)),
            );
        }
        if conditions.success.is_some_and(|c| c.holds(object)) {
            return Phase::of(
                WorkloadPhase::Succeeded,
                true,
                "SuccessCondition",
                format!("{} met its successCondition", describe(object)),
            );
        }
        return Phase::of(
            WorkloadPhase::Running,
            false,
            "Running",
            format!("waiting for {} to meet a condition", describe(object)),
        );
    }
    let deployments: Vec<&&Value> = main.iter().filter(|o| kind_of(o) == "Deployment").collect();
    let jobs: Vec<&&Value> = main.iter().filter(|o| kind_of(o) == "Job").collect();
    if let Some(d) = deployments.first() {
        let want = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let ready = int(d, "/status/readyReplicas");
        let current = int(d, "/status/observedGeneration") >= int(d, "/metadata/generation");
        return if ready >= want && current {
            Phase::of(
                WorkloadPhase::Running,
                true,
                "DeploymentReady",
                format!("{ready}/{want} replicas ready"),
            )
        } else {
            Phase::of(
                WorkloadPhase::Pending,
                false,
                "DeploymentProgressing",
                format!("{ready}/{want} replicas ready"),
            )
        };
    }
    if main.iter().any(|o| kind_of(o) == "CronJob") {
        return Phase::of(
            WorkloadPhase::Running,
            true,
            "Scheduled",
            "the CronJob is scheduled",
        );
    }
    if !jobs.is_empty() {
        let steps = match workload {
            Workload::Workflow(wf) => wf.spec.dag.len().max(1),
            _ => 1,
        };
        if let Some(failed) = jobs.iter().find(|j| job_done(j) == Some(false)) {
            return Phase::of(
                WorkloadPhase::Failed,
                false,
                "JobFailed",
                format!("{} failed", describe(failed)),
            );
        }
        let done = jobs.iter().filter(|j| job_done(j) == Some(true)).count();
        return if done >= steps {
            Phase::of(
                WorkloadPhase::Succeeded,
                true,
                "JobsComplete",
                format!("{done}/{steps} jobs complete"),
            )
        } else {
            Phase::of(
                WorkloadPhase::Running,
                false,
                "JobsRunning",
                format!("{done}/{steps} jobs complete"),
            )
        };
    }
    match main.first() {
        Some(o) => Phase::of(
            WorkloadPhase::Running,
            true,
            "Applied",
            format!("{} applied", describe(o)),
        ),
        None => pending("nothing applied yet"),
    }
}

fn pending(message: &str) -> Phase {
    Phase::of(WorkloadPhase::Pending, false, "Pending", message)
}

fn describe(o: &Value) -> String {
    format!(
        "{} {}",
        kind_of(o),
        o.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
    )
}

/// The workload's status after a reconcile. `previous` keeps each condition's
/// `lastTransitionTime` while its status does not change; `now` stamps the ones that do.
pub fn status(
    workload: &Workload,
    outcome: &Outcome<'_>,
    stamp: Option<&str>,
    config_map_name: Option<&str>,
    previous: Option<&WorkloadStatus>,
    now: &Time,
) -> WorkloadStatus {
    let generation = workload.meta().generation;
    let cond = |type_: &str, ok: bool, reason: &str, message: String| {
        let status = if ok { "True" } else { "False" };
        let since = previous
            .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
            .filter(|c| c.status == status)
            .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
        K8sCondition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            last_transition_time: since,
            observed_generation: generation,
        }
    };
    let (phase, conditions) = match outcome {
        Outcome::Invalid { reason, message } => (
            WorkloadPhase::Invalid,
            vec![
                cond("Validated", false, reason, (*message).to_owned()),
                cond("ConfigRendered", false, reason, "not rendered".into()),
                cond("Ready", false, reason, "not applied".into()),
            ],
        ),
        Outcome::RenderFailed(why) => (
            WorkloadPhase::Invalid,
            vec![
                cond("Validated", true, "Valid", "the workload validates".into()),
                cond("ConfigRendered", false, "RenderFailed", (*why).to_owned()),
                cond("Ready", false, "RenderFailed", "not applied".into()),
            ],
        ),
        Outcome::Refused { reason, message } => (
            WorkloadPhase::Failed,
            vec![
                cond("Validated", true, "Valid", "the workload validates".into()),
                cond("ConfigRendered", false, reason, "not applied".into()),
                cond("Ready", false, reason, (*message).to_owned()),
            ],
        ),
        Outcome::Applied {
            live,
            conditions,
            relaxed,
        } => {
            let p = phase(workload, live, *conditions);
            let validated = match relaxed {
                Some(r) => cond("Validated", false, r.reason(), r.text()),
                None => cond("Validated", true, "Valid", "the workload validates".into()),
            };
            (
                p.phase,
                vec![
                    validated,
                    cond(
                        "ConfigRendered",
                        true,
                        "Rendered",
                        config_map_name.map_or_else(
                            || "the Stack renders no config".into(),
                            |n| format!("ConfigMap {n}"),
                        ),
                    ),
                    cond("Ready", p.ready, p.reason, p.message),
                ],
            )
        }
    };
    WorkloadStatus {
        phase: Some(phase.as_str().into()),
        conditions,
        observed_generation: generation,
        stamp: stamp.map(str::to_owned),
        config_map_name: config_map_name.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests;
