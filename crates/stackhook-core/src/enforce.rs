//! Staged enforcement (SPEC §3): what admission does with a workload's problems when
//! its Stack, or its namespace's `stackhook-config`, says `Warn` or `Audit` instead of
//! `Enforce`.
//!
//! Only a workload's *conformance* to its Stack is relaxed: its `stackSpec` against
//! the schema, and the addresses the Stack's filters find in it (one that does not
//! parse, names a missing Depot or one without a secret for the access). Each of
//! these leaves everything stackhook makes for the workload intact: the config still
//! renders (admission dry-renders it in every mode), and a Depot that does not resolve
//! is left out of the pod with a warning, as for a Depot deleted after admission.
//! Every other problem — no such Stack or step, a kind the Stack does not serve, a
//! broken Stack, a template that fails, a name or field the API server would refuse,
//! a ServiceAccount not granted, a DAG that cannot run — would make the workload's
//! objects or pods impossible or widen what it may do, and is denied in every mode.
//!
//! Which mode applies: the namespace's `stackhook-config` entry for the workload
//! (`enforcement`, chosen as every setting is) wins over the Stack's
//! `spec.enforcement`; neither set means `Enforce`. A Workflow whose steps use
//! Stacks of different modes is held to the strictest of them.

use crate::model::Enforcement;
use crate::resolve::Problem;

/// The prefix of a warning for a violation admitted under `Warn`: the field and its
/// problem follow, so kubectl prints `Warning: would be denied under Enforce:
/// spec.stackSpec.replicas: …`.
pub const WARN_PREFIX: &str = "would be denied under Enforce: ";

/// The prefix `stackhook validate` gives a violation admitted under `Audit` (the
/// webhook says nothing of those; the controller records them).
pub const AUDIT_PREFIX: &str = "audited, would be denied under Enforce: ";

/// A workload's problems, split by its mode.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judged {
    /// The mode that applied.
    pub enforcement: Enforcement,
    /// The problems that deny the workload.
    pub denied: Vec<Problem>,
    /// The problems admitted under `Warn` or `Audit`.
    pub relaxed: Vec<Problem>,
}

impl Judged {
    /// Whether the workload is admitted.
    pub fn allowed(&self) -> bool {
        self.denied.is_empty()
    }
}

/// Splits `problems` into what denies and what `enforcement` admits. Under
/// `Enforce` every problem denies; otherwise the relaxable ones
/// ([`Problem::relaxable`]) are admitted, and the rest still deny.
pub fn judge(enforcement: Enforcement, problems: Vec<Problem>) -> Judged {
    let (relaxed, denied) = if enforcement == Enforcement::Enforce {
        (Vec::new(), problems)
    } else {
        problems.into_iter().partition(Problem::relaxable)
    };
    Judged {
        enforcement,
        denied,
        relaxed,
    }
}

#[cfg(test)]
mod tests;
