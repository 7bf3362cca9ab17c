//! Everything a Stack needs compiled — its schema, address filters and templates —
//! built once per Stack content and shared, so admission never parses or compiles on
//! the request path.
//!
//! The cache key is a digest of the Stack's spec, never its name, uid or generation:
//! a dry-run or refused UPDATE at generation N must not decide a later real UPDATE at
//! the same generation, and two objects with the same spec compile the same. The
//! digest of a catalog's Stack is computed once per object (kept by pointer while the
//! object lives). The cache is bounded by weight and evicts the least recently used,
//! so no stream of distinct Stacks can grow it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use gotemplate::{Template, TemplateError};
use sha2::Digest as _;

use crate::condition::{Condition, ConditionError};
use crate::filters::{AddressFilters, FilterError};
use crate::model::{OrchestratorConfig, Stack, StackSpec, WorkloadKind};
use crate::schema::{CompiledSchema, SchemaError};

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

impl TemplateField {
    /// The field's name, as messages give it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConfigFile => "configFileTemplate",
            Self::ContainerResource => "containerResourceTemplate",
            Self::Resource => "resourceTemplate",
        }
    }
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
    /// The workload kind whose section it is in.
    pub kind: WorkloadKind,
    /// Which template it is.
    pub field: TemplateField,
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
    /// Estimated bytes it holds.
    pub weight: usize,
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
    pub fn usable(&self) -> crate::condition::ResourceConditions<'_> {
        crate::condition::ResourceConditions {
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
                let template = crate::functions::parse_template(&name, text);
                (
                    (kind, field),
                    CompiledTemplate {
                        kind,
                        field,
                        path,
                        template,
                    },
                )
            })
            .collect();
        // Parse trees, compiled schemas and filters are a few times their text; each
        // pattern's program and DFA cache are bounded by the schema's regex limits.
        let text = serde_json::to_vec(spec).map_or(0, |t| t.len());
        let patterns = spec
            .stack_spec_value_schema
            .as_ref()
            .map_or(0, |s| s.json_schema.matches("pattern").count());
        let weight = 1024 + 8 * text + patterns * (64 << 10);
        Self {
            schema,
            schema_warnings,
            filters: AddressFilters::compile(&spec.data_os_address_jq_filters),
            templates,
            conditions: ResourceConditions::compile(spec),
            weight,
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

/// A digest of a Stack's spec: what its compiled form is a function of.
pub type SpecDigest = [u8; 16];

/// The digest of a spec.
pub fn spec_digest(spec: &StackSpec) -> SpecDigest {
    let text = serde_json::to_vec(spec).unwrap_or_default();
    let digest = sha2::Sha256::digest(&text);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

#[derive(Clone)]
struct CompiledWeight;

impl quick_cache::Weighter<SpecDigest, Arc<CompiledStack>> for CompiledWeight {
    fn weight(&self, _: &SpecDigest, value: &Arc<CompiledStack>) -> u64 {
        value.weight as u64
    }
}

/// Memory the compiled Stacks may hold, in bytes (estimated).
pub const COMPILED_BUDGET: u64 = 64 << 20;
/// Stacks whose digest is kept by object.
const DIGESTS_KEPT: usize = 4096;

/// Compiled Stacks, shared by every request.
pub struct StackCache {
    entries: quick_cache::sync::Cache<SpecDigest, Arc<CompiledStack>, CompiledWeight>,
    /// Digests by object address, with the object to tell a reused address apart.
    digests: Mutex<HashMap<usize, (Weak<Stack>, SpecDigest)>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for StackCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackCache")
            .field("len", &self.entries.len())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for StackCache {
    fn default() -> Self {
        Self::with_budget(COMPILED_BUDGET)
    }
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
    /// An empty cache of the default budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache that holds at most `bytes` of compiled Stacks (estimated).
    pub fn with_budget(bytes: u64) -> Self {
        Self {
            entries: quick_cache::sync::Cache::with_weighter(1024, bytes, CompiledWeight),
            digests: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn digest(&self, stack: &Arc<Stack>) -> SpecDigest {
        let addr = Arc::as_ptr(stack) as usize;
        let digests = self.digests.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((weak, d)) = digests.get(&addr)
            && weak.upgrade().is_some_and(|s| Arc::ptr_eq(&s, stack))
        {
            return *d;
        }
        drop(digests);
        let d = spec_digest(&stack.spec);
        let mut digests = self.digests.lock().unwrap_or_else(PoisonError::into_inner);
        if digests.len() >= DIGESTS_KEPT {
            digests.retain(|_, (w, _)| w.strong_count() > 0);
            if digests.len() >= DIGESTS_KEPT {
                digests.clear();
            }
        }
        digests.insert(addr, (Arc::downgrade(stack), d));
        d
    }

    /// The compiled form of `stack`'s spec, compiling it on first use.
    pub fn get(&self, stack: &Arc<Stack>) -> Arc<CompiledStack> {
        let key = self.digest(stack);
        if let Some(found) = self.entries.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return found;
        }
        // Compile outside any lock; a racing request may compile the same spec too,
        // and one of the results is kept.
        let compiled = Arc::new(CompiledStack::compile(&stack.spec));
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.entries.insert(key, Arc::clone(&compiled));
        compiled
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// How many compiled Stacks are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The estimated bytes held.
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}
