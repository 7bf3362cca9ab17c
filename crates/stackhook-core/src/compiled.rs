//! Everything a Stack needs compiled — its schema, address filters and templates —
//! built once per Stack generation and shared, so admission never parses or compiles
//! on the request path.
//!
//! The cache key is the Stack's name, uid and generation (in a cluster), or its
//! content (files have no generation). Compiling a new generation drops the old one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::Digest as _;

use crate::condition::{Condition, ConditionError};
use crate::filters::{AddressFilters, FilterError};
use crate::model::{OrchestratorConfig, Stack, StackSpec, WorkloadKind};
use crate::schema::{CompiledSchema, SchemaError};
use crate::template::{Template, TemplateError};

/// Which template of a Stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateField {
    /// `configFileTemplate`.
    ConfigFile,
    /// `containerResourceTemplate` (or its misspelling).
    ContainerResource,
    /// `resourceTemplate` (`workerConfig`) or `resourceTemplateConfig.resourceTemplate`
    /// (`workflowJobConfig`).
    Resource,
}

/// The config section a workload kind uses.
pub fn section(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Worker => "workerConfig",
        WorkloadKind::Service => "serviceConfig",
        WorkloadKind::Workflow => "workflowJobConfig",
    }
}

/// One compiled template, with the field path it came from.
#[derive(Debug)]
pub struct CompiledTemplate {
    /// `spec.workerConfig.configFileTemplate`.
    pub path: String,
    /// The template, or why it does not parse.
    pub template: Result<Template, TemplateError>,
}

/// A Stack, compiled.
#[derive(Debug)]
pub struct CompiledStack {
    /// The `stackSpec` schema, if the Stack has one.
    pub schema: Option<Result<CompiledSchema, SchemaError>>,
    /// Warnings from compiling the schema (`$schema`).
    pub schema_warnings: Vec<String>,
    /// The address filters.
    pub filters: Result<AddressFilters, Vec<FilterError>>,
    templates: HashMap<(WorkloadKind, TemplateField), CompiledTemplate>,
    /// `workflowJobConfig.resourceTemplateConfig`'s success and failure conditions.
    pub conditions: ResourceConditions,
}

/// The compiled `successCondition` and `failureCondition` of a `resourceTemplateConfig`
/// (each with its field path when it does not parse).
#[derive(Debug, Default)]
pub struct ResourceConditions {
    /// `successCondition`.
    pub success: Option<Result<Condition, (String, ConditionError)>>,
    /// `failureCondition`.
    pub failure: Option<Result<Condition, (String, ConditionError)>>,
}

impl ResourceConditions {
    fn compile(spec: &StackSpec) -> Self {
        let Some(config) = spec
            .workflow_job_config
            .as_ref()
            .and_then(|c| c.resource_template_config.as_ref())
        else {
            return Self::default();
        };
        let parse = |field: &str, text: &Option<String>| {
            text.as_deref().map(|t| {
                Condition::parse(t).map_err(|e| {
                    (
                        format!("spec.workflowJobConfig.resourceTemplateConfig.{field}"),
                        e,
                    )
                })
            })
        };
        Self {
            success: parse("successCondition", &config.success_condition),
            failure: parse("failureCondition", &config.failure_condition),
        }
    }

    /// The conditions that parse, for [`crate::progress::status`].
    pub fn usable(&self) -> crate::progress::ResourceConditions<'_> {
        crate::progress::ResourceConditions {
            success: self.success.as_ref().and_then(|r| r.as_ref().ok()),
            failure: self.failure.as_ref().and_then(|r| r.as_ref().ok()),
        }
    }

    /// The ones that do not, with their field paths.
    pub fn errors(&self) -> impl Iterator<Item = &(String, ConditionError)> {
        [&self.success, &self.failure]
            .into_iter()
            .filter_map(|c| c.as_ref().and_then(|r| r.as_ref().err()))
    }
}

type Source<'a> = (WorkloadKind, TemplateField, String, &'a str);

fn add_section<'a>(
    out: &mut Vec<Source<'a>>,
    kind: WorkloadKind,
    config: Option<&'a dyn OrchestratorConfig>,
    resource: Option<(&'static str, &'a str)>,
) {
    let Some(config) = config else { return };
    let sec = section(kind);
    if let Some(t) = config.config_file_template() {
        out.push((
            kind,
            TemplateField::ConfigFile,
            format!("spec.{sec}.configFileTemplate"),
            t,
        ));
    }
    if let Some(t) = config.container_resource_template() {
        let key = if config.uses_misspelled_container_template() {
            "conatinerResourceTemplate"
        } else {
            "containerResourceTemplate"
        };
        out.push((
            kind,
            TemplateField::ContainerResource,
            format!("spec.{sec}.{key}"),
            t,
        ));
    }
    if let Some((field, t)) = resource {
        out.push((
            kind,
            TemplateField::Resource,
            format!("spec.{sec}.{field}"),
            t,
        ));
    }
}

fn sources(spec: &StackSpec) -> Vec<Source<'_>> {
    let mut out = Vec::new();
    add_section(
        &mut out,
        WorkloadKind::Worker,
        spec.worker_config
            .as_ref()
            .map(|c| c as &dyn OrchestratorConfig),
        spec.worker_config
            .as_ref()
            .and_then(|c| c.resource_template.as_deref())
            .map(|t| ("resourceTemplate", t)),
    );
    add_section(
        &mut out,
        WorkloadKind::Service,
        spec.service_config
            .as_ref()
            .map(|c| c as &dyn OrchestratorConfig),
        None,
    );
    add_section(
        &mut out,
        WorkloadKind::Workflow,
        spec.workflow_job_config
            .as_ref()
            .map(|c| c as &dyn OrchestratorConfig),
        spec.workflow_job_config
            .as_ref()
            .and_then(|c| c.resource_template_config.as_ref())
            .map(|r| {
                (
                    "resourceTemplateConfig.resourceTemplate",
                    r.resource_template.as_str(),
                )
            }),
    );
    out
}

impl CompiledStack {
    /// Compiles everything in a Stack's spec.
    pub fn compile(spec: &StackSpec) -> Self {
        let (schema, schema_warnings) = match &spec.stack_spec_value_schema {
            None => (None, Vec::new()),
            Some(s) => match CompiledSchema::compile(&s.json_schema) {
                Ok((schema, warnings)) => (Some(Ok(schema)), warnings),
                Err(e) => (Some(Err(e)), Vec::new()),
            },
        };
        let templates = sources(spec)
            .into_iter()
            .map(|(kind, field, path, text)| {
                let name = path.trim_start_matches("spec.").to_owned();
                let template = Template::parse(&name, text);
                ((kind, field), CompiledTemplate { path, template })
            })
            .collect();
        Self {
            schema,
            schema_warnings,
            filters: AddressFilters::compile(&spec.data_os_address_jq_filters),
            templates,
            conditions: ResourceConditions::compile(spec),
        }
    }

    /// A template of the config section for `kind`.
    pub fn template(&self, kind: WorkloadKind, field: TemplateField) -> Option<&CompiledTemplate> {
        self.templates.get(&(kind, field))
    }

    /// Every template, in a stable order.
    pub fn templates(&self) -> Vec<&CompiledTemplate> {
        let mut all: Vec<&CompiledTemplate> = self.templates.values().collect();
        all.sort_by(|a, b| a.path.cmp(&b.path));
        all
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    name: String,
    version: String,
}

fn key(stack: &Stack) -> Key {
    let version = crate::model::version_identity(&stack.metadata, || {
        let text = serde_json::to_string(&stack.spec).unwrap_or_default();
        let digest = sha2::Sha256::digest(text.as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    });
    Key {
        name: stack.metadata.name.clone().unwrap_or_default(),
        version,
    }
}

/// Compiled Stacks, shared by every request.
#[derive(Debug, Default)]
pub struct StackCache {
    entries: Mutex<HashMap<Key, Arc<CompiledStack>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often the cache was hit and missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that compiled.
    pub misses: u64,
}

impl StackCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The compiled form of this generation of `stack`, compiling it on first use (and
    /// dropping older generations of the same Stack).
    pub fn get(&self, stack: &Stack) -> Arc<CompiledStack> {
        let key = key(stack);
        if let Some(found) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Arc::clone(found);
        }
        // Compile outside the lock; a racing request may compile the same generation
        // too, and one of the results wins.
        let compiled = Arc::new(CompiledStack::compile(&stack.spec));
        self.misses.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|k, _| k.name != key.name || k.version == key.version);
        Arc::clone(entries.entry(key).or_insert(compiled))
    }

    /// Drops the compiled forms of a Stack that is gone.
    pub fn forget(&self, name: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| k.name != name);
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// How many Stacks are held.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
