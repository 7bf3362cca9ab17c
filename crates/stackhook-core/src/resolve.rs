//! Resolving a workload: the one step every consumer starts from.
//!
//! Admission, the webhook's pod plans, the controller and `stackhook render` all need
//! the same things of a workload — its Stack (compiled), the Depots its addresses
//! name, its settings and its Stamp — and must agree on what is wrong with it. So they
//! all call [`resolve`], which returns each unit it could resolve ([`Resolved`]) and
//! every [`Problem`] it found, typed and at its field path; nothing is dropped on the
//! way. [`render`] is the only place that executes a Stack's templates.
//!
//! Consumers differ only in what they do with problems: admission denies, the
//! controller writes `Validated=False` with the same messages, `render` prints them
//! and exits 1, and the webhook injects a pod without the Depots that do not resolve
//! and says why in a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gotemplate::{CallContext, TemplateError};
use goyaml::push_key;

use crate::address::{Address, AddressError};
use crate::catalog::StackLookupError;
use crate::compiled::{CompiledStack, TemplateField, section};
use crate::engine::Engine;
use crate::functions::CatalogResolver;
use crate::model::{
    Acl, DagNode, Enforcement, Stack, StackRef, StackRefError, Workload, WorkloadKind,
};
use crate::projection::check_name;
use crate::render::{self, DepotUse, Unit};
use crate::schema::SchemaError;
use crate::settings::Settings;

/// A warning cut to what the API server shows kubectl users (under 120 characters).
pub(crate) fn short_warning(message: String) -> String {
    if message.chars().count() >= 120 {
        let mut m: String = message.chars().take(116).collect();
        m.push('…');
        m
    } else {
        message
    }
}

/// One problem with a workload, at its field path. Its `Display` is the message
/// every consumer shows.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    /// A `configs` key that cannot be a file name.
    #[error("{key:?} cannot be a file name: {reason}")]
    ConfigName {
        /// `spec.configs["…"]`.
        path: String,
        /// The key.
        key: String,
        /// Why not.
        reason: &'static str,
    },
    /// The Stack reference does not parse.
    #[error("{error}")]
    StackReference {
        /// `spec.stack` or `spec.dag[i].stack`.
        path: String,
        /// Why.
        #[source]
        error: StackRefError,
    },
    /// No Stack matches the reference.
    #[error("{error}")]
    StackNotFound {
        /// Where the reference is.
        path: String,
        /// What exists instead.
        #[source]
        error: Box<StackLookupError>,
    },
    /// The workload names a ServiceAccount nobody granted it.
    #[error(
        "service account {account:?} is not allowed in namespace {namespace:?}; allowed: {allowed} (grant it with allowedServiceAccounts in the namespace's stackhook-config or the Stack)"
    )]
    ServiceAccountNotAllowed {
        /// `spec.serviceAccountName`.
        path: String,
        /// The account.
        account: String,
        /// The workload's namespace.
        namespace: String,
        /// The accounts that are allowed, listed.
        allowed: String,
    },
    /// The Stack has no config section for the workload's kind.
    #[error("stack {stack} has no {section} for {kind}s; {serves}")]
    KindNotServed {
        /// Where the reference is.
        path: String,
        /// `name:version`.
        stack: String,
        /// `workerConfig`, …
        section: &'static str,
        /// The workload's kind.
        kind: WorkloadKind,
        /// Which kinds it serves.
        serves: String,
    },
    /// The Stack's schema does not compile.
    #[error("stack {stack} has an invalid stackSpecValueSchema: {error}")]
    BrokenSchema {
        /// Where the reference is.
        path: String,
        /// `name:version`.
        stack: String,
        /// Why.
        #[source]
        error: Box<SchemaError>,
    },
    /// The `stackSpec` violates the Stack's schema.
    #[error("{message}")]
    Schema {
        /// `spec.stackSpec.<path>`.
        path: String,
        /// The schema's complaint.
        message: String,
    },
    /// The Stack's address filters do not parse.
    #[error("stack {stack} has invalid dataOsAddressJqFilters")]
    BrokenFilters {
        /// Where the reference is.
        path: String,
        /// `name:version`.
        stack: String,
    },
    /// An address filter failed at run time.
    #[error("address filter {filter:?} of stack {stack} failed: {message}")]
    Filter {
        /// The `stackSpec`.
        path: String,
        /// The filter.
        filter: String,
        /// `name:version`.
        stack: String,
        /// jq's message, or the budget's.
        message: String,
    },
    /// An address does not parse.
    #[error("{error}")]
    Address {
        /// Where it is written.
        path: String,
        /// Why.
        #[source]
        error: AddressError,
    },
    /// An address names a Depot that is not in the namespace.
    #[error("address {address:?}: depot {depot:?} not found in namespace {namespace:?}")]
    DepotNotFound {
        /// Where the address is.
        path: String,
        /// The address.
        address: String,
        /// The Depot.
        depot: String,
        /// The workload's namespace.
        namespace: String,
    },
    /// The Depot grants no Secret for the access the filter needs.
    #[error("address {address:?}: depot {depot:?} has no secret for acl {acl} (it has: {has})")]
    NoSecretForAcl {
        /// Where the address is.
        path: String,
        /// The address.
        address: String,
        /// The Depot.
        depot: String,
        /// The access needed.
        acl: Acl,
        /// What it grants.
        has: String,
    },
    /// A DAG step depends on a step that does not exist.
    #[error("depends on {dependency:?}, which is not a step of this Workflow")]
    UnknownDependency {
        /// `spec.dag[i].dependencies[j]`.
        path: String,
        /// The name.
        dependency: String,
    },
    /// DAG steps depend on each other in a loop.
    #[error("the steps {steps} depend on each other in a cycle")]
    DependencyCycle {
        /// `spec.dag`.
        path: String,
        /// The steps in the cycle.
        steps: String,
    },
    /// A field of the workload outside `stackSpec` is inconsistent.
    #[error("{message}")]
    Field {
        /// The field.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Two DAG steps share a name.
    #[error("step name {name:?} is used twice")]
    DuplicateStep {
        /// `spec.dag[i].name`.
        path: String,
        /// The name.
        name: String,
    },
    /// A template does not parse.
    #[error("stack {stack} has a broken {field}: {error}")]
    BrokenTemplate {
        /// Where the reference is.
        path: String,
        /// `name:version`.
        stack: String,
        /// Which template.
        field: &'static str,
        /// Go's message.
        #[source]
        error: Box<TemplateError>,
    },
    /// A template fails with this spec.
    #[error("{field} of stack {stack} fails with this spec: {error}")]
    Render {
        /// The `stackSpec`.
        path: String,
        /// `name:version`.
        stack: String,
        /// Which template.
        field: &'static str,
        /// Go's message.
        #[source]
        error: Box<TemplateError>,
    },
    /// The review's time budget ran out before these steps were rendered.
    #[error("{left} more steps were not rendered: the review reached its time budget")]
    NotRendered {
        /// `spec.dag`.
        path: String,
        /// How many.
        left: usize,
    },
    /// An object stackhook makes for the workload would get a name the API server
    /// refuses.
    #[error("{object} {name:?} would be refused by the API server: {rule}")]
    Name {
        /// The field the name comes from (`metadata.name`, `spec.dag[i].name`).
        path: String,
        /// The object named (`the Service`).
        object: String,
        /// The name it would get.
        name: String,
        /// The API server's rule, in its words.
        rule: String,
    },
    /// A template renders, but not into what it must be.
    #[error("{field} of stack {stack}: {message}")]
    Rendered {
        /// The `stackSpec`.
        path: String,
        /// `name:version`.
        stack: String,
        /// Which template.
        field: &'static str,
        /// What is wrong with the output.
        message: String,
    },
}

impl Problem {
    /// The field path the problem is at (empty for the object as a whole).
    pub fn path(&self) -> &str {
        match self {
            Self::ConfigName { path, .. }
            | Self::StackReference { path, .. }
            | Self::StackNotFound { path, .. }
            | Self::KindNotServed { path, .. }
            | Self::ServiceAccountNotAllowed { path, .. }
            | Self::BrokenSchema { path, .. }
            | Self::Schema { path, .. }
            | Self::BrokenFilters { path, .. }
            | Self::Filter { path, .. }
            | Self::Address { path, .. }
            | Self::DepotNotFound { path, .. }
            | Self::NoSecretForAcl { path, .. }
            | Self::UnknownDependency { path, .. }
            | Self::DependencyCycle { path, .. }
            | Self::DuplicateStep { path, .. }
            | Self::Field { path, .. }
            | Self::BrokenTemplate { path, .. }
            | Self::Render { path, .. }
            | Self::NotRendered { path, .. }
            | Self::Name { path, .. }
            | Self::Rendered { path, .. } => path,
        }
    }

    /// A short CamelCase reason, for conditions and Events.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::StackReference { .. } | Self::StackNotFound { .. } => "StackNotFound",
            Self::KindNotServed { .. } => "KindNotServed",
            Self::ServiceAccountNotAllowed { .. } => "ServiceAccountNotAllowed",
            Self::BrokenSchema { .. }
            | Self::BrokenFilters { .. }
            | Self::BrokenTemplate { .. } => "StackInvalid",
            Self::Schema { .. } | Self::ConfigName { .. } | Self::Field { .. } => "SpecInvalid",
            Self::Name { .. } => "NameInvalid",
            Self::Filter { .. } | Self::Address { .. } => "AddressInvalid",
            Self::DepotNotFound { .. } | Self::NoSecretForAcl { .. } => "DepotNotFound",
            Self::UnknownDependency { .. }
            | Self::DependencyCycle { .. }
            | Self::DuplicateStep { .. } => "DagInvalid",
            Self::Render { .. } | Self::Rendered { .. } | Self::NotRendered { .. } => {
                "RenderFailed"
            }
        }
    }

    /// `path: message`, as violations are shown.
    pub fn at(&self) -> String {
        if self.path().is_empty() {
            self.to_string()
        } else {
            format!("{}: {self}", self.path())
        }
    }

    /// Whether the problem is one of conformance to the Stack, which `Warn` and
    /// `Audit` admit (see [`crate::enforce`] for why exactly these).
    pub fn relaxable(&self) -> bool {
        matches!(
            self,
            Self::Schema { .. }
                | Self::Filter { .. }
                | Self::Address { .. }
                | Self::DepotNotFound { .. }
                | Self::NoSecretForAcl { .. }
        )
    }

    /// Whether the problem is about a Depot the workload needs (the webhook injects
    /// without it, and warns).
    pub fn is_depot(&self) -> bool {
        matches!(
            self,
            Self::DepotNotFound { .. } | Self::NoSecretForAcl { .. }
        )
    }
}

/// An address a Stack's filters found in a unit's `stackSpec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedAddress {
    /// Where it is written.
    pub path: String,
    /// The address.
    pub address: Address,
    /// The access the filter says it needs.
    pub acl: Acl,
}

/// One unit of a workload, resolved as far as it could be.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The unit (the workload, or one DAG step).
    pub unit: Unit,
    /// Its Stack.
    pub stack: Arc<Stack>,
    /// The Stack, compiled.
    pub compiled: Arc<CompiledStack>,
    /// The Depots its addresses need and that exist with a Secret for the access
    /// (read-write wins over read for one depot).
    pub depots: Vec<DepotUse>,
    /// The addresses found, with their places.
    pub addresses: Vec<ResolvedAddress>,
    /// Its namespace's `stackhook-config` settings.
    pub settings: Settings,
    /// Its Stamp.
    pub stamp: String,
    /// Whether resolving it found no problem (its templates may run).
    pub clean: bool,
    /// Whether every problem resolving it found is one `Warn` and `Audit` admit
    /// ([`Problem::relaxable`]): its templates may run under those modes.
    pub renderable: bool,
    /// Its mode: the namespace's `enforcement`, else its Stack's.
    pub enforcement: Enforcement,
}

impl Resolved {
    /// Whether the unit has config to mount: a `configFileTemplate` or `configs`.
    pub fn has_config(&self, workload: &Workload) -> bool {
        self.compiled
            .template(workload.kind(), TemplateField::ConfigFile)
            .is_some()
            || !workload.common().configs.is_empty()
    }

    /// The ConfigMap's name, `{Name}-{Type}{Stamp}`.
    pub fn config_map_name(&self, workload: &Workload) -> String {
        render::config_map_name(&self.unit.name, workload.kind(), &self.stamp)
    }
}

/// What resolving a workload found.
#[derive(Clone, Debug, Default)]
pub struct Resolution {
    /// The units that resolved far enough to render (their Stack exists and serves
    /// the kind), in order.
    pub units: Vec<Resolved>,
    /// Every problem found, in the order of the fields.
    pub problems: Vec<Problem>,
    /// Advice (unpinned Stack references), each under 120 characters.
    pub warnings: Vec<String>,
    /// The strictest mode of its units (`Enforce` when none resolved).
    pub enforcement: Enforcement,
}

impl Resolution {
    /// Whether there is nothing wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The unit named `name` (the workload's, or `<workflow>-<step>`).
    pub fn unit(&self, name: &str) -> Option<&Resolved> {
        self.units.iter().find(|r| r.unit.name == name)
    }
}

/// Resolves every unit of `workload` against the catalog: Stack, schema, addresses,
/// Depots, settings, Stamp, and the Workflow's DAG. No template runs here.
pub fn resolve(engine: &Engine<'_>, workload: &Workload) -> Resolution {
    let mut out = Resolution::default();
    for key in workload.common().configs.keys() {
        if let Err(reason) = check_name(key) {
            let mut path = "spec.configs".to_owned();
            push_key(&mut path, key);
            out.problems.push(Problem::ConfigName {
                path,
                key: key.clone(),
                reason,
            });
        }
    }
    dag_problems(workload, &mut out.problems);
    scaling_problems(workload, &mut out.problems);
    secret_ref_problems(workload, &mut out.problems);
    let no_labels = BTreeMap::new();
    let settings = engine.catalog.settings(
        workload.namespace(),
        workload.meta().labels.as_ref().unwrap_or(&no_labels),
    );
    for unit in render::units(workload) {
        let before = out.problems.len();
        if let Some(mut r) = resolve_unit(engine, workload, unit, &settings, &mut out) {
            r.clean = out.problems.len() == before;
            r.renderable = out.problems[before..].iter().all(Problem::relaxable);
            out.units.push(r);
        }
    }
    out.enforcement = out
        .units
        .iter()
        .map(|r| r.enforcement)
        .max()
        .unwrap_or_default();
    out
}

/// The ServiceAccount every pod gets unless something grants another.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// A ServiceAccount is granted, not picked: `default`, or one the namespace's
/// settings or the Stack allow.
fn service_account_problem(
    workload: &Workload,
    stack: &Stack,
    settings: &Settings,
) -> Option<Problem> {
    let account = workload.common().service_account_name.as_deref()?;
    let from_settings = settings
        .allowed_service_accounts
        .as_deref()
        .unwrap_or_default();
    let allowed = |a: &str| {
        a == DEFAULT_SERVICE_ACCOUNT
            || from_settings.iter().any(|s| s == a)
            || stack.spec.allowed_service_accounts.iter().any(|s| s == a)
    };
    if allowed(account) {
        return None;
    }
    let mut list: Vec<&str> = std::iter::once(DEFAULT_SERVICE_ACCOUNT)
        .chain(from_settings.iter().map(String::as_str))
        .chain(
            stack
                .spec
                .allowed_service_accounts
                .iter()
                .map(String::as_str),
        )
        .collect();
    list.sort_unstable();
    list.dedup();
    Some(Problem::ServiceAccountNotAllowed {
        path: "spec.serviceAccountName".into(),
        account: account.to_owned(),
        namespace: workload.namespace().to_owned(),
        allowed: list.join(", "),
    })
}

/// One unit: `None` when its Stack cannot be used at all.
fn resolve_unit(
    engine: &Engine<'_>,
    workload: &Workload,
    unit: Unit,
    settings: &Settings,
    out: &mut Resolution,
) -> Option<Resolved> {
    let reference = match StackRef::parse(&unit.stack) {
        Ok(r) => r,
        Err(error) => {
            out.problems.push(Problem::StackReference {
                path: unit.stack_path.clone(),
                error,
            });
            return None;
        }
    };
    let stack = match engine.catalog.stack(&reference) {
        Ok(s) => s,
        Err(error) => {
            out.problems.push(Problem::StackNotFound {
                path: unit.stack_path.clone(),
                error: Box::new(error),
            });
            return None;
        }
    };
    let warning = (!reference.is_pinned()).then(|| {
        format!(
            "{}: {:?} is not pinned; using {} (pin a version)",
            unit.stack_path,
            unit.stack,
            stack.spec.reference()
        )
    });
    if let Some(w) = warning.filter(|w| !out.warnings.contains(w)) {
        out.warnings.push(short_warning(w));
    }
    let kind = workload.kind();
    let served = stack.spec.served_kinds();
    let reference_text = stack.spec.reference().to_string();
    if !served.contains(&kind.kind()) {
        out.problems.push(Problem::KindNotServed {
            path: unit.stack_path.clone(),
            stack: reference_text,
            section: section(kind),
            kind,
            serves: if served.is_empty() {
                "it serves no workload kind".to_owned()
            } else {
                format!("it serves: {}", served.join(", "))
            },
        });
        return None;
    }
    if let Some(p) = service_account_problem(workload, &stack, settings) {
        out.problems.push(p);
    }
    let compiled = engine.cache.get(&stack);
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
    match &compiled.schema {
        Some(Ok(schema)) => {
            for e in schema.validate(unit.stack_spec.value()) {
                schema_ok = false;
                out.problems.push(Problem::Schema {
                    path: at(&e.path),
                    message: e.message,
                });
            }
        }
        Some(Err(error)) => out.problems.push(Problem::BrokenSchema {
            path: unit.stack_path.clone(),
            stack: reference_text.clone(),
            error: Box::new(error.clone()),
        }),
        None => {}
    }
    let mut needed: BTreeMap<String, Acl> = BTreeMap::new();
    let mut addresses = Vec::new();
    // The same address at the same place is one problem, however many filters
    // select it.
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
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
                out.problems.push(Problem::Filter {
                    path: unit.stack_spec_path.clone(),
                    filter,
                    stack: reference_text.clone(),
                    message: e.message,
                });
            }
            for found in found {
                let path = at(&found.path);
                let parsed = match Address::parse(&found.text) {
                    Ok(a) => a,
                    Err(error) => {
                        if reported.insert((path.clone(), found.text.clone())) {
                            out.problems.push(Problem::Address { path, error });
                        }
                        continue;
                    }
                };
                let namespace = workload.namespace();
                let Some(depot) = engine.catalog.depot(namespace, &parsed.depot) else {
                    if reported.insert((path.clone(), found.text.clone())) {
                        out.problems.push(Problem::DepotNotFound {
                            path,
                            address: found.text.clone(),
                            depot: parsed.depot.clone(),
                            namespace: namespace.to_owned(),
                        });
                    }
                    continue;
                };
                // The filter's access, or more when the address asks for it (`?acl=rw`).
                let acl = match parsed.acl() {
                    Some("rw") => Acl::ReadWrite,
                    _ => found.acl,
                };
                if depot.spec.secret_for(acl).is_none() {
                    let has: Vec<&str> =
                        depot.spec.secrets.iter().map(|s| s.acl.as_str()).collect();
                    if reported.insert((path.clone(), found.text.clone())) {
                        out.problems.push(Problem::NoSecretForAcl {
                            path,
                            address: found.text.clone(),
                            depot: parsed.depot.clone(),
                            acl,
                            has: if has.is_empty() {
                                "none".to_owned()
                            } else {
                                has.join(", ")
                            },
                        });
                    }
                    continue;
                }
                let needs = needed.entry(parsed.depot.clone()).or_insert(acl);
                if acl == Acl::ReadWrite {
                    *needs = Acl::ReadWrite;
                }
                addresses.push(ResolvedAddress {
                    path,
                    address: parsed,
                    acl,
                });
            }
        }
        Err(_) => out.problems.push(Problem::BrokenFilters {
            path: unit.stack_path.clone(),
            stack: reference_text.clone(),
        }),
    }
    for t in compiled.templates() {
        if let Err(error) = &t.template
            && t.kind == kind
        {
            out.problems.push(Problem::BrokenTemplate {
                path: unit.stack_path.clone(),
                stack: reference_text.clone(),
                field: t.field.name(),
                error: Box::new(error.clone()),
            });
        }
    }
    let depots: Vec<DepotUse> = needed
        .into_iter()
        .filter_map(|(name, acl)| {
            let depot = engine.catalog.depot(workload.namespace(), &name)?;
            let secret = depot.spec.secret_for(acl)?.clone();
            Some(DepotUse { depot, acl, secret })
        })
        .collect();
    let stamp = render::stamp(workload, &stack, &depots);
    // The namespace's setting wins over the Stack's.
    let enforcement = settings
        .enforcement
        .or(stack.spec.enforcement)
        .unwrap_or_default();
    Some(Resolved {
        unit,
        stack,
        compiled,
        depots,
        addresses,
        enforcement,
        settings: settings.clone(),
        stamp,
        clean: true,
        renderable: true,
    })
}

/// `dataosSecrets`: Secrets of the workload's own namespace, read as environment
/// variables.
fn secret_ref_problems(workload: &Workload, problems: &mut Vec<Problem>) {
    let mut lists = vec![("spec".to_owned(), &workload.common().dataos_secrets)];
    if let Workload::Workflow(wf) = workload {
        lists.extend(
            wf.spec
                .dag
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("spec.dag[{i}]"), &n.dataos_secrets)),
        );
    }
    for (at, list) in lists {
        for (j, s) in list.iter().enumerate() {
            let path = format!("{at}.dataosSecrets[{j}]");
            if let Some(ws) = s
                .workspace
                .as_deref()
                .filter(|w| *w != workload.namespace())
            {
                problems.push(Problem::Field {
                    path: format!("{path}.workspace"),
                    message: format!(
                        "Secret {:?} is in namespace {ws:?}; a pod of namespace {:?} can read only its own namespace's Secrets",
                        s.name,
                        workload.namespace()
                    ),
                });
            }
            if let Some(t) = s
                .consumption_type
                .as_deref()
                .filter(|t| !t.eq_ignore_ascii_case("envVars"))
            {
                problems.push(Problem::Field {
                    path: format!("{path}.consumptionType"),
                    message: format!(
                        "{t:?} is not supported: dataosSecrets are read as envVars; files come from a Depot's secrets (secretProjection)"
                    ),
                });
            }
        }
    }
}

/// A Worker's or Service's `autoScaling`: a bound to scale to, not below the floor.
fn scaling_problems(workload: &Workload, problems: &mut Vec<Problem>) {
    let scaling = match workload {
        Workload::Worker(w) => w.spec.auto_scaling.as_ref(),
        Workload::Service(s) => s.spec.auto_scaling.as_ref(),
        Workload::Workflow(_) => None,
    };
    let Some(a) = scaling.filter(|a| a.enabled()) else {
        return;
    };
    let min = a.min_replicas.unwrap_or(1);
    if min < 1 {
        problems.push(Problem::Field {
            path: "spec.autoScaling.minReplicas".into(),
            message: format!("must be at least 1, not {min}"),
        });
    }
    match a.max_replicas {
        None => problems.push(Problem::Field {
            path: "spec.autoScaling.maxReplicas".into(),
            message: "is required when autoScaling is enabled".into(),
        }),
        Some(max) if max < min => problems.push(Problem::Field {
            path: "spec.autoScaling.maxReplicas".into(),
            message: format!("{max} is below minReplicas {min}"),
        }),
        Some(_) => {}
    }
    for (field, value) in [
        (
            "targetCPUUtilizationPercentage",
            a.target_cpu_utilization_percentage,
        ),
        (
            "targetMemoryUtilizationPercentage",
            a.target_memory_utilization_percentage,
        ),
    ] {
        if let Some(v) = value.filter(|v| *v < 1) {
            problems.push(Problem::Field {
                path: format!("spec.autoScaling.{field}"),
                message: format!("must be a positive percentage, not {v}"),
            });
        }
    }
}

/// The longest `<workflow>-<step>` of a scheduled DAG (the API server's limit on a
/// CronJob's name, which leaves 11 characters for the Jobs' `-<run>`).
const MAX_SCHEDULED_STEP_NAME: usize = 52;

/// A Workflow's DAG: every dependency names a step, no step name twice, no cycle, and
/// names a scheduled DAG's objects can carry.
fn dag_problems(workload: &Workload, problems: &mut Vec<Problem>) {
    let Workload::Workflow(wf) = workload else {
        return;
    };
    let dag = &wf.spec.dag;
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, node) in dag.iter().enumerate() {
        if names.insert(node.name.as_str(), i).is_some() {
            problems.push(Problem::DuplicateStep {
                path: format!("spec.dag[{i}].name"),
                name: node.name.clone(),
            });
        }
    }
    // A scheduled DAG's objects are `<name>-<step>` (a CronJob, whose Jobs Kubernetes
    // names `<cronjob>-<minutes>`) and `<name>-<step>-<run>`: 52 characters leave room
    // for the run, as the API server requires of a CronJob's name.
    if wf.spec.schedule.as_ref().is_some_and(|s| s.cron.is_some()) {
        for (i, node) in dag.iter().enumerate() {
            let object = format!("{}-{}", workload.name(), node.name);
            let length = object.chars().count();
            if length > MAX_SCHEDULED_STEP_NAME {
                problems.push(Problem::Field {
                    path: format!("spec.dag[{i}].name"),
                    message: format!(
                        "a scheduled step's objects are named {object:?} and after each run; {length} characters is over the {MAX_SCHEDULED_STEP_NAME} a CronJob's name may have"
                    ),
                });
            }
        }
    }
    let mut known = true;
    for (i, node) in dag.iter().enumerate() {
        for (j, dep) in node.dependencies.iter().enumerate() {
            if !names.contains_key(dep.as_str()) {
                known = false;
                problems.push(Problem::UnknownDependency {
                    path: format!("spec.dag[{i}].dependencies[{j}]"),
                    dependency: dep.clone(),
                });
            }
        }
    }
    if !known {
        return;
    }
    // What cannot be ordered is on a cycle (or after one).
    let order = dag_order(dag);
    if order.len() < dag.len() {
        let ordered: BTreeSet<usize> = order.into_iter().collect();
        let steps: Vec<String> = dag
            .iter()
            .enumerate()
            .filter(|(i, _)| !ordered.contains(i))
            .map(|(_, n)| format!("{:?}", n.name))
            .collect();
        problems.push(Problem::DependencyCycle {
            path: "spec.dag".into(),
            steps: steps.join(", "),
        });
    }
}

/// The order a DAG's steps run in, as indices into `dag`: round by round, every step
/// whose dependencies have all run, in the DAG's order. A step that cannot be ordered
/// (on a cycle or after one, or after a dependency no step is named) is left out: the
/// checks above report it, and the controller's plan runs only what is ordered.
pub(crate) fn dag_order(dag: &[DagNode]) -> Vec<usize> {
    let names: BTreeMap<&str, usize> = dag
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut order = Vec::new();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    while order.len() < dag.len() {
        let ready: Vec<usize> = (0..dag.len())
            .filter(|i| !done.contains(i))
            .filter(|i| {
                dag[*i]
                    .dependencies
                    .iter()
                    .all(|d| names.get(d.as_str()).is_some_and(|j| done.contains(j)))
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            done.insert(i);
            order.push(i);
        }
    }
    order
}

/// Renders one template of a resolved unit: `None` when the Stack has no such
/// template. The only place a Stack's templates run: admission (`dry_run`), the
/// controller's ConfigMap and objects, `stackhook render`.
pub fn render(
    engine: &Engine<'_>,
    workload: &Workload,
    r: &Resolved,
    field: TemplateField,
    dry_run: bool,
) -> Result<Option<String>, Problem> {
    let Some(t) = r.compiled.template(workload.kind(), field) else {
        return Ok(None);
    };
    let stack = r.stack.spec.reference().to_string();
    let template = t
        .template
        .as_ref()
        .map_err(|error| Problem::BrokenTemplate {
            path: r.unit.stack_path.clone(),
            stack: stack.clone(),
            field: field.name(),
            error: Box::new(error.clone()),
        })?;
    let fqdn = r
        .settings
        .data_os_fqdn
        .as_deref()
        .or(r.settings.ingress_domain_suffix.as_deref())
        .unwrap_or_default();
    let platform = render::Platform {
        has_config: r.has_config(workload),
        fqdn,
    };
    let context = render::context(
        workload, &r.unit, &r.stack, &r.stamp, &r.depots, dry_run, platform,
    );
    let resolver = CatalogResolver {
        catalog: engine.catalog,
        namespace: workload.namespace(),
    };
    let call = CallContext {
        host: Some(&resolver),
        deadline: engine.deadline,
    };
    template
        .execute_json(&context, &call, &engine.settings.limits)
        .map(Some)
        .map_err(|error| Problem::Render {
            path: r.unit.stack_spec_path.clone(),
            stack,
            field: field.name(),
            error: Box::new(error),
        })
}

/// The config files of a unit: its `configFileTemplate` rendered into a map of file
/// names to text.
pub fn config_files(
    engine: &Engine<'_>,
    workload: &Workload,
    r: &Resolved,
    dry_run: bool,
) -> Result<BTreeMap<String, String>, Problem> {
    let Some(out) = render(engine, workload, r, TemplateField::ConfigFile, dry_run)? else {
        return Ok(BTreeMap::new());
    };
    render::config_files(&out).map_err(|e| Problem::Rendered {
        path: r.unit.stack_spec_path.clone(),
        stack: r.stack.spec.reference().to_string(),
        field: TemplateField::ConfigFile.name(),
        message: e.to_string(),
    })
}

/// The unit's ConfigMap, rendered for real.
pub fn config_map(
    engine: &Engine<'_>,
    workload: &Workload,
    r: &Resolved,
) -> Result<serde_json::Value, Problem> {
    let files = config_files(engine, workload, r, false)?;
    Ok(render::config_map(workload, &r.unit, &r.stamp, files))
}

/// Everything wrong with a workload, as admission judges it: what [`resolve`] finds,
/// and a dry render of each unit's `configFileTemplate` with the real context.
pub fn problems(engine: &Engine<'_>, workload: &Workload) -> (Resolution, Vec<Problem>) {
    let mut resolution = resolve(engine, workload);
    let mut problems = resolution.problems.clone();
    let suffix = resolution
        .units
        .first()
        .and_then(|r| r.settings.ingress_domain_suffix.clone());
    let (named, warnings) = names::problems(workload, &resolution.units, suffix.as_deref());
    problems.extend(named);
    resolution
        .warnings
        .extend(warnings.into_iter().map(short_warning));
    // A unit that already has a problem would fail its render for the same reason;
    // but under Warn and Audit one whose problems are all admitted must render, or
    // the controller could not make its ConfigMap.
    let relaxed = resolution.enforcement != Enforcement::Enforce;
    let clean: Vec<&Resolved> = resolution
        .units
        .iter()
        .filter(|r| r.clean || (relaxed && r.renderable))
        .collect();
    for (i, r) in clean.iter().enumerate() {
        match config_files(engine, workload, r, true) {
            Ok(_) => {}
            // Once the review's time budget is spent, the other steps would say so
            // too: one problem says it for them.
            Err(p) if out_of_time(engine, &p) => {
                problems.push(p);
                let left = clean.len() - i - 1;
                if left > 0 {
                    problems.push(Problem::NotRendered {
                        path: "spec.dag".into(),
                        left,
                    });
                }
                break;
            }
            Err(p) => problems.push(p),
        }
    }
    dedupe(&mut problems);
    (resolution, problems)
}

/// The problems of the names the objects made for `workload` would get (SPEC §3,
/// "Names"), and warnings for fields those objects cannot carry; `ingress_suffix` is
/// the Ingress domain suffix, when known.
pub fn name_problems(
    workload: &Workload,
    units: &[Resolved],
    ingress_suffix: Option<&str>,
) -> (Vec<Problem>, Vec<String>) {
    names::problems(workload, units, ingress_suffix)
}

/// Whether a render stopped because the review's time is up.
fn out_of_time(engine: &Engine<'_>, p: &Problem) -> bool {
    matches!(p, Problem::Render { error, .. } if error.bound() == Some(gotemplate::Bound::Time))
        && engine
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
}

/// Drops problems identical to an earlier one (DAG steps sharing a `stackSpec`).
fn dedupe(problems: &mut Vec<Problem>) {
    let mut seen = BTreeSet::new();
    problems.retain(|p| seen.insert(p.at()));
}

mod names;

#[cfg(test)]
mod tests {
    #[test]
    fn a_problem_is_small_enough_to_return_by_value() {
        assert!(size_of::<super::Problem>() <= 128);
    }
}
