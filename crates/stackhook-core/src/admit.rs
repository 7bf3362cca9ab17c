//! Admission verdicts for Stacks, Depots and workloads (SPEC §3, `/validate`): the one
//! answer to "is this valid?" that the webhook, `stackhook validate` and the controller
//! share. Pure: everything comes from the catalog and the compiled-Stack cache.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::catalog::WorkloadKey;
use crate::enforce::{self, WARN_PREFIX};
use crate::engine::Engine;
use crate::model::{Acl, Depot, Enforcement, Resource, Stack, Workload};
use crate::projection::check_name;
use crate::resolve;

/// Most workloads a denied Stack or Depot deletion names.
pub const MAX_LISTED_USERS: usize = 5;

/// One problem, at a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `spec.stackSpec.inputs[0]`; empty for the object as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A verdict: allowed when there is no violation. Warnings never deny.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Every problem that denies.
    pub violations: Vec<Violation>,
    /// Advice (each under 120 characters); under `Warn`, also each relaxed violation
    /// (prefixed with [`WARN_PREFIX`]).
    pub warnings: Vec<String>,
    /// The mode a workload was judged in (`Enforce` for everything else).
    pub enforcement: Enforcement,
    /// The violations `Warn` or `Audit` admitted (never any under `Enforce`).
    pub relaxed: Vec<Violation>,
}

impl Verdict {
    /// Whether the object is admitted.
    pub fn allowed(&self) -> bool {
        self.violations.is_empty()
    }

    fn deny(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.violations.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(resolve::short_warning(message));
    }
}

/// The operation being admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A new object.
    Create,
    /// A change.
    Update,
    /// A deletion (checked for Stacks and Depots: refused while in use).
    Delete,
}

impl Engine<'_> {
    /// The verdict for any stackhook resource.
    pub fn resource(&self, resource: &Resource, operation: Operation) -> Verdict {
        match (resource, operation) {
            (Resource::Stack(s), Operation::Delete) => self.stack_delete(s),
            (Resource::Depot(d), Operation::Delete) => self.depot_delete(d),
            (_, Operation::Delete) => Verdict::default(),
            (Resource::Stack(s), _) => self.stack(s),
            (Resource::Depot(d), _) => depot(d),
            (Resource::Workload(w), _) => self.workload(w),
        }
    }

    /// A Stack on CREATE or UPDATE.
    pub fn stack(&self, stack: &Arc<Stack>) -> Verdict {
        let mut v = Verdict::default();
        let spec = &stack.spec;
        let me = stack.metadata.name.as_deref().unwrap_or_default();
        for (path, value, part) in [
            ("spec.name", Some(&spec.name), "name"),
            ("spec.flavor", spec.flavor.as_ref(), "flavor"),
            ("spec.version", Some(&spec.version), "version"),
        ] {
            let Some(value) = value else { continue };
            if value.is_empty() {
                v.deny(path, format!("{part} must not be empty"));
            } else if let Some(c) = value
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            {
                v.deny(path, format!("{part} {value:?} has invalid character {c:?} (allowed: letters, digits, '-', '_', '.')"));
            }
        }
        if let Some(image) = &spec.image {
            for field in image.missing_fields() {
                v.deny(format!("spec.image.{field}"), "must be set");
            }
            if image
                .auth
                .as_ref()
                .is_some_and(|a| a.image_pull_secret.is_empty())
            {
                v.deny(
                    "spec.image.auth.imagePullSecret",
                    "must be set when auth is given",
                );
            }
        }
        for key in spec.environment_vars.keys() {
            for rule in crate::names::env_var_name(key) {
                let mut path = "spec.environmentVars".to_owned();
                goyaml::push_key(&mut path, key);
                v.deny(
                    path,
                    format!("{key:?} cannot name an environment variable: {rule}"),
                );
            }
        }
        if let Some(ports) = &spec.ports {
            // The name is the program container's port name (an IANA service name)
            // and the Service port's (a DNS-1123 label, implied by it).
            if !ports.name.is_empty() {
                for rule in crate::names::port_name(&ports.name) {
                    v.deny(
                        "spec.ports.name",
                        format!("{:?} cannot name the container's port: {rule}", ports.name),
                    );
                }
            }
            for (field, port) in [
                ("servicePort", ports.service_port),
                ("targetPort", ports.target_port),
            ] {
                if let Some(p) = port.filter(|p| !(1..=65535).contains(p)) {
                    v.deny(
                        format!("spec.ports.{field}"),
                        format!("{p} is not a port number (1-65535)"),
                    );
                }
            }
        }
        if let Some(other) = self
            .catalog
            .stack_versions(&spec.name, spec.flavor.as_deref())
            .iter()
            .find(|s| s.spec.version == spec.version && s.metadata.name.as_deref() != Some(me))
        {
            v.deny(
                "spec.version",
                format!(
                    "stack {} already exists (Stack {:?})",
                    spec.reference(),
                    other.metadata.name.as_deref().unwrap_or_default()
                ),
            );
        }
        let compiled = self.cache.get(stack);
        if let Some(Err(e)) = &compiled.schema {
            v.deny("spec.stackSpecValueSchema.jsonSchema", e.to_string());
        }
        for w in &compiled.schema_warnings {
            v.warn(w.clone());
        }
        if let Err(errors) = &compiled.filters {
            for e in errors {
                v.deny(
                    format!("spec.dataOsAddressJqFilters[{}]", e.index),
                    e.message.clone(),
                );
            }
        }
        for t in compiled.templates() {
            if let Err(e) = &t.template {
                v.deny(t.path.clone(), e.to_string());
            }
        }
        for (path, e) in compiled.conditions.errors() {
            v.deny(path.clone(), e.to_string());
        }
        for (section_name, misspelled) in [
            (
                "workerConfig",
                spec.worker_config
                    .as_ref()
                    .is_some_and(|c| c.conatiner_resource_template.is_some()),
            ),
            (
                "serviceConfig",
                spec.service_config
                    .as_ref()
                    .is_some_and(|c| c.conatiner_resource_template.is_some()),
            ),
            (
                "workflowJobConfig",
                spec.workflow_job_config
                    .as_ref()
                    .is_some_and(|c| c.conatiner_resource_template.is_some()),
            ),
        ] {
            if misspelled {
                v.warn(format!("spec.{section_name}.conatinerResourceTemplate is deprecated: use containerResourceTemplate"));
            }
        }
        if spec.served_kinds().is_empty() {
            v.warn("the Stack has no workerConfig, serviceConfig or workflowJobConfig: no workload can use it".into());
        }
        v
    }

    /// A Stack on DELETE: denied while workloads use it.
    pub fn stack_delete(&self, stack: &Stack) -> Verdict {
        if !self.settings.deny_stack_delete_in_use {
            return Verdict::default();
        }
        let what = format!("stack {}", stack.spec.reference());
        in_use(&what, &self.catalog.workloads_using(stack))
    }

    /// A Depot on DELETE: denied while addresses of workloads in its namespace name
    /// it (found as admission finds them, by the Stacks' filters).
    pub fn depot_delete(&self, depot: &Depot) -> Verdict {
        if !self.settings.deny_depot_delete_in_use {
            return Verdict::default();
        }
        let namespace = depot.metadata.namespace.as_deref().unwrap_or_default();
        let name = depot.metadata.name.as_deref().unwrap_or_default();
        let what = format!("depot {namespace}/{name}");
        let mut users: Vec<WorkloadKey> = self
            .catalog
            .workloads_in(namespace)
            .into_iter()
            .filter(|w| {
                resolve::resolve(self, w)
                    .units
                    .iter()
                    .any(|u| u.addresses.iter().any(|a| a.address.depot == name))
            })
            .map(|w| WorkloadKey {
                namespace: w.namespace().to_owned(),
                kind: w.kind(),
                name: w.name().to_owned(),
            })
            .collect();
        // A workload that cannot be read may name the Depot: it blocks the delete.
        let undecodable = self.catalog.undecodable_in(namespace);
        users.extend(undecodable.iter().map(|u| u.key.clone()));
        users.sort();
        let mut v = in_use(&what, &users);
        for u in &undecodable {
            v.warn(format!(
                "{} cannot be decoded from the catalog; counted as a user of {what}",
                u.key
            ));
        }
        v
    }

    /// An UPDATE, ratcheted as the API server ratchets CRD validation: an object being
    /// deleted is let go (the garbage collector's finalizer removal must not fail
    /// because a Depot went away), and a change of metadata only (labels,
    /// annotations, finalizers, ownerReferences) is allowed, with the problems the
    /// object now has as warnings. A changed `spec` is judged in full.
    pub fn update(&self, resource: &Resource, old: &Value, new: &Value) -> Verdict {
        let deleting = |o: &Value| {
            o.pointer("/metadata/deletionTimestamp")
                .is_some_and(|t| !t.is_null())
        };
        if deleting(old) || deleting(new) {
            return Verdict::default();
        }
        let verdict = self.resource(resource, Operation::Update);
        if verdict.allowed() || old.get("spec") != new.get("spec") {
            return verdict;
        }
        let mut warnings = verdict.warnings;
        warnings.push(format!(
            "allowed because only metadata changed; the {} no longer validates:",
            resource.kind()
        ));
        warnings.extend(
            verdict
                .violations
                .iter()
                .map(|v| resolve::short_warning(v.to_string())),
        );
        Verdict {
            violations: Vec::new(),
            warnings,
            ..verdict
        }
    }

    /// A Worker, Service or Workflow on CREATE or UPDATE: every problem
    /// [`resolve::problems`] finds, the same ones the controller and `render` report,
    /// judged in the workload's mode ([`enforce::judge`]): under `Warn` each admitted
    /// violation is also a warning, under `Audit` it is only kept in
    /// [`Verdict::relaxed`] (the controller records it).
    pub fn workload(&self, workload: &Workload) -> Verdict {
        let (resolution, problems) = resolve::problems(self, workload);
        let judged = enforce::judge(resolution.enforcement, problems);
        let violation = |p: &resolve::Problem| Violation {
            path: p.path().to_owned(),
            message: p.to_string(),
        };
        let relaxed: Vec<Violation> = judged.relaxed.iter().map(violation).collect();
        let mut warnings = resolution.warnings;
        if judged.enforcement == Enforcement::Warn {
            warnings.extend(
                relaxed
                    .iter()
                    .map(|v| resolve::short_warning(format!("{WARN_PREFIX}{v}"))),
            );
        }
        Verdict {
            violations: judged.denied.iter().map(violation).collect(),
            warnings,
            enforcement: judged.enforcement,
            relaxed,
        }
    }
}

/// The denial of deleting `what` while `users` use it (none: allowed), naming up to
/// [`MAX_LISTED_USERS`] of them.
fn in_use(what: &str, users: &[WorkloadKey]) -> Verdict {
    let mut v = Verdict::default();
    if users.is_empty() {
        return v;
    }
    let listed: Vec<String> = users
        .iter()
        .take(MAX_LISTED_USERS)
        .map(ToString::to_string)
        .collect();
    let more = users.len().saturating_sub(MAX_LISTED_USERS);
    let mut message = format!(
        "{what} is used by {} workload{}: {}",
        users.len(),
        if users.len() == 1 { "" } else { "s" },
        listed.join(", ")
    );
    if more > 0 {
        message.push_str(&format!(" and {more} more"));
    }
    v.deny("", message);
    v
}

/// A Depot on CREATE or UPDATE.
pub fn depot(depot: &Depot) -> Verdict {
    let mut v = Verdict::default();
    if depot.spec.r#type.trim().is_empty() {
        v.deny(
            "spec.type",
            "must be set (S3, GCS, ABFSS, POSTGRESQL, KAFKA, …)",
        );
    }
    let mut seen: BTreeMap<Acl, usize> = BTreeMap::new();
    for (i, secret) in depot.spec.secrets.iter().enumerate() {
        if secret.name.is_empty() {
            v.deny(format!("spec.secrets[{i}].name"), "must be set");
        }
        if let Some(first) = seen.insert(secret.acl, i) {
            v.deny(
                format!("spec.secrets[{i}].acl"),
                format!(
                    "acl {} is already granted by spec.secrets[{first}]",
                    secret.acl
                ),
            );
        }
        for (j, key) in secret.files.iter().enumerate() {
            if let Err(reason) = check_name(key) {
                v.deny(
                    format!("spec.secrets[{i}].files[{j}]"),
                    format!("{key:?} cannot be a file name: {reason}"),
                );
            }
        }
    }
    v
}

#[cfg(test)]
mod tests;
