//! Pods that escaped admission: labelled for a workload, and created without our
//! injection (the webhook's `failurePolicy: Ignore` while it was unreachable, or a
//! webhook configuration someone edited), or injected for a Stamp whose ConfigMap is
//! no longer kept. The controller watches pods and reports each one [`escaped`] finds,
//! with the workload's `PodsInjected` condition ([`condition`]) saying how many.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};

use crate::inject::INJECTED_ANNOTATION;
use crate::model::{Workload, WorkloadKind};
use crate::render::{STAMP_ANNOTATION, WORKLOAD_KIND_LABEL, WORKLOAD_LABEL};

/// The workload condition that says whether every pod went through admission.
pub const CONDITION: &str = "PodsInjected";

/// Why a pod escaped.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Escape {
    /// It has no `stackhook.io/injected` annotation: admission never mutated it.
    NotInjected,
    /// It was injected for a Stamp that is neither the workload's current one nor one
    /// whose ConfigMap is kept: its config is gone, or about to go.
    StaleStamp {
        /// The pod's Stamp (`-` and 4 base36 characters).
        pod: String,
        /// The workload's.
        current: String,
    },
}

impl Escape {
    /// A CamelCase reason, for Events and the condition.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotInjected => "NotInjected",
            Self::StaleStamp { .. } => "StaleStamp",
        }
    }

    /// A bounded label value, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotInjected => "not_injected",
            Self::StaleStamp { .. } => "stale_stamp",
        }
    }

    /// Why, in words.
    pub fn describe(&self) -> String {
        match self {
            Self::NotInjected => format!(
                "created without stackhook's injection (no {INJECTED_ANNOTATION} annotation): the webhook was skipped (failurePolicy Ignore, or an edited webhook configuration)"
            ),
            Self::StaleStamp { pod, current } => format!(
                "injected for Stamp {pod}, which is not the workload's ({current}) nor one whose ConfigMap is kept"
            ),
        }
    }
}

/// The workload a pod's labels name: its kind (`stackhook.io/workload-kind`, Worker
/// when absent, as the webhook reads it) and name; `None` when unlabelled or of an
/// unknown kind (the webhook denies those).
pub fn workload_of(pod: &ObjectMeta) -> Option<(WorkloadKind, &str)> {
    let labels = pod.labels.as_ref()?;
    let name = labels.get(WORKLOAD_LABEL)?;
    let kind = labels
        .get(WORKLOAD_KIND_LABEL)
        .map_or("Worker", String::as_str);
    Some((WorkloadKind::parse(kind)?, name.as_str()))
}

/// Whether `pod` escaped admission for `workload`, and why; `None` for a pod that went
/// through it, one being deleted, or one not labelled for this workload.
///
/// `kept` are the Stamps whose ConfigMaps the workload keeps (the last
/// [`crate::progress::KEPT_STAMPS`]): a pod of a rollout in progress has one of them
/// and has not escaped. Stamps compare without their leading `-` (labels drop it).
pub fn escaped(pod: &ObjectMeta, workload: &Workload, kept: &[&str]) -> Option<Escape> {
    if pod.deletion_timestamp.is_some() {
        return None;
    }
    let (kind, name) = workload_of(pod)?;
    if kind != workload.kind()
        || name != workload.name()
        || pod.namespace.as_deref() != Some(workload.namespace())
    {
        return None;
    }
    let annotations = pod.annotations.as_ref();
    let annotation = |key: &str| annotations.and_then(|a| a.get(key)).map(String::as_str);
    if annotation(INJECTED_ANNOTATION).is_none() {
        return Some(Escape::NotInjected);
    }
    let current = workload.status().and_then(|s| s.stamp.as_deref())?;
    let bare = |s: &str| s.trim_start_matches('-').to_owned();
    let stamp = annotation(STAMP_ANNOTATION)?;
    let known = bare(stamp) == bare(current) || kept.iter().any(|k| bare(k) == bare(stamp));
    (!known).then(|| Escape::StaleStamp {
        pod: stamp.to_owned(),
        current: current.to_owned(),
    })
}

/// Most pods a condition's message names.
const NAMED: usize = 5;

/// The workload's `PodsInjected` condition from its escaped pods (name → why):
/// `False` naming up to five while any is found, `True` once none is left after some
/// were (the previous conditions have one; `None` when none ever was, so a workload
/// whose pods all went through admission carries no such condition). The transition
/// time is kept while the status is.
pub fn condition(
    escaped: &BTreeMap<String, Escape>,
    previous: &[Condition],
    generation: Option<i64>,
    now: &Time,
) -> Option<Condition> {
    let (status, reason, message) = match escaped.values().next() {
        None if !previous.iter().any(|c| c.type_ == CONDITION) => return None,
        None => (
            "True",
            "Injected",
            "every pod of the workload went through admission".to_owned(),
        ),
        Some(first) => {
            let names: Vec<&str> = escaped.keys().take(NAMED).map(String::as_str).collect();
            let more = escaped.len().saturating_sub(NAMED);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            (
                "False",
                first.reason(),
                format!(
                    "{} pod(s) escaped admission: {}{tail}; {}",
                    escaped.len(),
                    names.join(", "),
                    first.describe()
                ),
            )
        }
    };
    let since = previous
        .iter()
        .find(|c| c.type_ == CONDITION && c.status == status)
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Some(Condition {
        type_: CONDITION.into(),
        status: status.into(),
        reason: reason.into(),
        message,
        last_transition_time: since,
        observed_generation: generation,
    })
}

#[cfg(test)]
mod tests;
