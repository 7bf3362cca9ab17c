//! Admission verdicts for Stacks, Depots and workloads (SPEC §3, `/validate`): the one
//! answer to "is this valid?" that the webhook, `stackhook validate` and the controller
//! share. Pure: everything comes from the catalog and the compiled-Stack cache.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::address::Address;
use crate::catalog::Catalog;
use crate::compiled::{CompiledStack, StackCache, TemplateField, section};
use crate::model::{Acl, Depot, Resource, Stack, StackRef, Workload};
use crate::projection::check_name;
use crate::render::{self, DepotUse, Unit};
use crate::source::push_key;
use crate::template::{CallContext, CatalogResolver, Limits};

/// Most workloads a denied Stack deletion names.
pub const MAX_LISTED_USERS: usize = 10;

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
    /// Every problem found.
    pub violations: Vec<Violation>,
    /// Advice (each under 120 characters).
    pub warnings: Vec<String>,
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
        // Warnings must stay short (the API server shows them to kubectl users).
        let message = if message.chars().count() >= 120 {
            let mut m: String = message.chars().take(116).collect();
            m.push('…');
            m
        } else {
            message
        };
        self.warnings.push(message);
    }
}

/// The operation being admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A new object.
    Create,
    /// A change.
    Update,
    /// A deletion (checked for Stacks only).
    Delete,
}

/// Admission settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Deny deleting a Stack that workloads use (default true).
    pub deny_stack_delete_in_use: bool,
    /// Bounds for the dry render.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            deny_stack_delete_in_use: true,
            limits: Limits::default(),
        }
    }
}

/// The admission engine: a catalog, the compiled-Stack cache, and settings.
pub struct Admission<'a> {
    /// Where Stacks, Depots and workloads are looked up.
    pub catalog: &'a dyn Catalog,
    /// Compiled Stacks.
    pub cache: &'a StackCache,
    /// Settings.
    pub options: &'a Options,
    /// When the request being answered must be answered: template execution stops
    /// there (the webhook answers a denial in time rather than not at all).
    pub deadline: Option<std::time::Instant>,
}

/// A unit with its Stack found and its Depots checked.
pub struct ResolvedUnit {
    /// The unit.
    pub unit: Unit,
    /// Its Stack.
    pub stack: Arc<Stack>,
    /// The Stack, compiled.
    pub compiled: Arc<CompiledStack>,
    /// The Depots its addresses need (read-write wins over read for one depot).
    pub depots: Vec<DepotUse>,
    /// Its Stamp.
    pub stamp: String,
}

impl Admission<'_> {
    /// The verdict for any stackhook resource.
    pub fn resource(&self, resource: &Resource, operation: Operation) -> Verdict {
        match (resource, operation) {
            (Resource::Stack(s), Operation::Delete) => self.stack_delete(s),
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
        if let Some(ports) = &spec.ports {
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
        let mut v = Verdict::default();
        if !self.options.deny_stack_delete_in_use {
            return v;
        }
        let users = self.catalog.workloads_using(stack);
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
            "stack {} is used by {} workload{}: {}",
            stack.spec.reference(),
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

    /// A Worker, Service or Workflow on CREATE or UPDATE.
    pub fn workload(&self, workload: &Workload) -> Verdict {
        let mut v = Verdict::default();
        for key in workload.common().configs.keys() {
            if let Err(reason) = check_name(key) {
                let mut path = "spec.configs".to_owned();
                push_key(&mut path, key);
                v.deny(path, format!("{key:?} cannot be a file name: {reason}"));
            }
        }
        for unit in render::units(workload) {
            let before = v.violations.len();
            if let Some(resolved) = self.resolve_unit(workload, unit, true, &mut v) {
                // A spec that already failed would fail the render for the same reason.
                if v.violations.len() == before {
                    self.dry_render(workload, &resolved, &mut v);
                }
            }
        }
        v
    }

    /// Finds a unit's Stack, checks its `stackSpec` (against the schema when `schema`
    /// is set; mutation leaves that to validation) and addresses, and computes its
    /// Depots and Stamp. Problems go into `v`; `None` when nothing more can be checked.
    pub fn resolve_unit(
        &self,
        workload: &Workload,
        unit: Unit,
        schema: bool,
        v: &mut Verdict,
    ) -> Option<ResolvedUnit> {
        let reference = match StackRef::parse(&unit.stack) {
            Ok(r) => r,
            Err(e) => {
                v.deny(unit.stack_path.clone(), e.to_string());
                return None;
            }
        };
        let stack = match self.catalog.stack(&reference) {
            Ok(s) => s,
            Err(e) => {
                v.deny(unit.stack_path.clone(), e.to_string());
                return None;
            }
        };
        if !reference.is_pinned() {
            v.warn(format!(
                "{}: {:?} is not pinned; using {} (pin a version)",
                unit.stack_path,
                unit.stack,
                stack.spec.reference()
            ));
        }
        let kind = workload.kind();
        let served = stack.spec.served_kinds();
        if !served.contains(&kind.kind()) {
            let serves = if served.is_empty() {
                "it serves no workload kind".to_owned()
            } else {
                format!("it serves: {}", served.join(", "))
            };
            v.deny(
                unit.stack_path.clone(),
                format!(
                    "stack {} has no {} for {}s; {serves}",
                    stack.spec.reference(),
                    section(kind),
                    kind
                ),
            );
            return None;
        }
        let compiled = self.cache.get(&stack);
        let reference_text = stack.spec.reference().to_string();
        let at = |rel: &str| {
            if rel.is_empty() {
                unit.stack_spec_path.clone()
            } else if rel.starts_with('[') {
                format!("{}{rel}", unit.stack_spec_path)
            } else {
                format!("{}.{rel}", unit.stack_spec_path)
            }
        };
        let mut schema_ok = true;
        match compiled.schema.as_ref().filter(|_| schema) {
            Some(Ok(schema)) => {
                for e in schema.validate(unit.stack_spec.value()) {
                    schema_ok = false;
                    v.deny(at(&e.path), e.message);
                }
            }
            Some(Err(e)) => v.deny(
                unit.stack_path.clone(),
                format!("stack {reference_text} has an invalid stackSpecValueSchema: {e}"),
            ),
            None => {}
        }
        let mut needed: BTreeMap<String, Acl> = BTreeMap::new();
        match &compiled.filters {
            Ok(filters) => {
                let (found, errors) = filters.extract(unit.stack_spec.value());
                // On a spec of the wrong shape a filter fails for the reason the schema
                // already gave.
                for e in errors.into_iter().filter(|_| schema_ok) {
                    let filter = stack
                        .spec
                        .data_os_address_jq_filters
                        .get(e.index)
                        .map(|f| f.filter().to_owned())
                        .unwrap_or_default();
                    v.deny(
                        unit.stack_spec_path.clone(),
                        format!(
                            "address filter {filter:?} of stack {reference_text} failed: {}",
                            e.message
                        ),
                    );
                }
                for address in found {
                    let path = at(&address.path);
                    let parsed = match Address::parse(&address.text) {
                        Ok(a) => a,
                        Err(e) => {
                            v.deny(path, e.to_string());
                            continue;
                        }
                    };
                    let namespace = workload.namespace();
                    let Some(depot) = self.catalog.depot(namespace, &parsed.depot) else {
                        v.deny(
                            path,
                            format!(
                                "depot {:?} not found in namespace {namespace:?}",
                                parsed.depot
                            ),
                        );
                        continue;
                    };
                    if depot.spec.secret_for(address.acl).is_none() {
                        let has: Vec<&str> =
                            depot.spec.secrets.iter().map(|s| s.acl.as_str()).collect();
                        let has = if has.is_empty() {
                            "none".to_owned()
                        } else {
                            has.join(", ")
                        };
                        v.deny(
                            path,
                            format!(
                                "depot {:?} has no secret for acl {} (it has: {has})",
                                parsed.depot, address.acl
                            ),
                        );
                        continue;
                    }
                    let acl = needed.entry(parsed.depot).or_insert(address.acl);
                    if address.acl == Acl::ReadWrite {
                        *acl = Acl::ReadWrite;
                    }
                }
            }
            Err(_) => v.deny(
                unit.stack_path.clone(),
                format!("stack {reference_text} has invalid dataOsAddressJqFilters"),
            ),
        }
        let depots: Vec<DepotUse> = needed
            .into_iter()
            .filter_map(|(name, acl)| {
                let depot = self.catalog.depot(workload.namespace(), &name)?;
                let secret = depot.spec.secret_for(acl)?.clone();
                Some(DepotUse { depot, acl, secret })
            })
            .collect();
        let stamp = render::stamp(workload, &stack, &depots);
        Some(ResolvedUnit {
            unit,
            stack,
            compiled,
            depots,
            stamp,
        })
    }

    /// The unit's ConfigMap: its `configFileTemplate` rendered for real (not a dry
    /// run) plus the workload's `configs`. The message says what failed.
    pub fn config_map(
        &self,
        workload: &Workload,
        r: &ResolvedUnit,
    ) -> Result<serde_json::Value, String> {
        let reference = r.stack.spec.reference();
        let files = match r
            .compiled
            .template(workload.kind(), TemplateField::ConfigFile)
        {
            None => BTreeMap::new(),
            Some(t) => {
                let template = t
                    .template
                    .as_ref()
                    .map_err(|e| format!("stack {reference}: {e}"))?;
                let context =
                    render::context(workload, &r.unit, &r.stack, &r.stamp, &r.depots, false);
                let resolver = CatalogResolver {
                    catalog: self.catalog,
                    namespace: workload.namespace(),
                };
                let call = CallContext {
                    resolver: Some(&resolver),
                    deadline: self.deadline,
                };
                let out = template
                    .execute_json(&context, &call, &self.options.limits)
                    .map_err(|e| format!("configFileTemplate of stack {reference}: {e}"))?;
                render::config_files(&out)
                    .map_err(|e| format!("configFileTemplate of stack {reference}: {e}"))?
            }
        };
        Ok(render::config_map(workload, &r.unit, &r.stamp, files))
    }

    /// Renders the unit's `configFileTemplate` with the real context.
    fn dry_render(&self, workload: &Workload, r: &ResolvedUnit, v: &mut Verdict) {
        let Some(t) = r
            .compiled
            .template(workload.kind(), TemplateField::ConfigFile)
        else {
            return;
        };
        let reference = r.stack.spec.reference();
        let template = match &t.template {
            Ok(t) => t,
            Err(e) => {
                v.deny(
                    r.unit.stack_path.clone(),
                    format!("stack {reference} has a broken configFileTemplate: {e}"),
                );
                return;
            }
        };
        let context = render::context(workload, &r.unit, &r.stack, &r.stamp, &r.depots, true);
        let resolver = CatalogResolver {
            catalog: self.catalog,
            namespace: workload.namespace(),
        };
        let call = CallContext {
            resolver: Some(&resolver),
            deadline: self.deadline,
        };
        match template.execute_json(&context, &call, &self.options.limits) {
            Ok(out) => {
                if let Err(e) = render::config_files(&out) {
                    v.deny(
                        r.unit.stack_spec_path.clone(),
                        format!("configFileTemplate of stack {reference}: {e}"),
                    );
                }
            }
            Err(e) => v.deny(
                r.unit.stack_spec_path.clone(),
                format!("configFileTemplate of stack {reference} fails with this spec: {e}"),
            ),
        }
    }
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
