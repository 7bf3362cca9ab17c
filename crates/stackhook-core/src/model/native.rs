//! The DataOS-native manifest shape and its conversion to CRD form.
//!
//! ```yaml
//! name: benthos-stack        # -> metadata.name
//! version: v1alpha           # -> annotation stackhook.io/dataos-version
//! type: stack                # -> kind: Stack (stack|depot|worker|service|workflow)
//! workspace: public          # -> metadata.namespace (not for Stacks: cluster-scoped)
//! tags: [a, b]               # -> annotation stackhook.io/tags: "a,b"
//! description: …             # -> annotation stackhook.io/description
//! owner: iamgroot            # -> annotation stackhook.io/owner
//! stack: {…}                 # the section named after the type -> spec
//! ```
//!
//! Workflow DAG steps in DataOS nest their fields under `spec:`; they are lifted into
//! the step. A Workflow section without its own `stack` takes the first step's, since the
//! CRD requires one (it is the default for steps that do not name theirs).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{API_VERSION, json_type};

/// The annotation holding the native manifest's `tags`, comma-separated.
pub const TAGS_ANNOTATION: &str = "stackhook.io/tags";
/// The annotation holding the native manifest's `description`.
pub const DESCRIPTION_ANNOTATION: &str = "stackhook.io/description";
/// The annotation holding the native manifest's `owner`.
pub const OWNER_ANNOTATION: &str = "stackhook.io/owner";
/// The annotation holding the section's `title`, when it has one.
pub const TITLE_ANNOTATION: &str = "stackhook.io/title";
/// The annotation holding the native manifest's `version` (the DataOS resource version).
pub const DATAOS_VERSION_ANNOTATION: &str = "stackhook.io/dataos-version";

const TYPES: [(&str, &str); 5] = [
    ("stack", "Stack"),
    ("depot", "Depot"),
    ("worker", "Worker"),
    ("service", "Service"),
    ("workflow", "Workflow"),
];

/// Keys of the native resource meta section (everything else at the top is the section).
const META_KEYS: [&str; 8] = [
    "name",
    "version",
    "type",
    "workspace",
    "tags",
    "description",
    "owner",
    "layer",
];

/// Why a DataOS-native document cannot be converted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NativeError {
    /// `name` is missing or not text.
    #[error("DataOS {manifest_type} manifest has no `name`")]
    MissingName {
        /// The manifest's type.
        manifest_type: String,
    },
    /// The section named after the type is missing.
    #[error(
        "DataOS {manifest_type} manifest {name:?} has no `{manifest_type}:` section (nor a v2alpha `spec:`)"
    )]
    MissingSection {
        /// The manifest's type.
        manifest_type: String,
        /// The manifest's name.
        name: String,
    },
    /// A field has the wrong shape.
    #[error(
        "DataOS {manifest_type} manifest {name:?}: {field}: expected {expected}, found {found}"
    )]
    WrongShape {
        /// The manifest's type.
        manifest_type: String,
        /// The manifest's name.
        name: String,
        /// The field path.
        field: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
}

/// A converted document, and the native keys that have no place in the CRD form.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The document in CRD form (not yet type-checked).
    pub value: Value,
    /// Keys of the native document that were not carried over (`layer`, unknown keys
    /// beside the section, a Depot's `external`), for a warning.
    pub dropped: Vec<String>,
    /// What was inferred rather than read (a Depot Secret's ACL from its name), for a
    /// warning.
    pub notes: Vec<String>,
    /// Documents the conversion adds (the Secrets a v1 Depot's inline
    /// `connectionSecret` becomes), to be applied with the converted one.
    pub extra: Vec<Value>,
    /// For a DataOS resource of a type stackhook does not handle (`bundle`, `lens`,
    /// `policy`…), why it is skipped; the document comes back unchanged.
    pub skipped: Option<String>,
}

impl Converted {
    fn unchanged(value: Value) -> Self {
        Self {
            value,
            dropped: Vec::new(),
            notes: Vec::new(),
            extra: Vec::new(),
            skipped: None,
        }
    }
}

/// The DataOS types that become Kubernetes Secrets.
const SECRET_TYPES: [&str; 2] = ["instance-secret", "secret"];

/// The type of a document in DataOS-native shape, whatever the type (`bundle`,
/// `instance-secret`…): no `apiVersion`/`kind`, a text `type`, and a `version` or a
/// section named after the type. Lower-cased.
pub fn dataos_type(doc: &Value) -> Option<String> {
    if doc.get("apiVersion").is_some() || doc.get("kind").is_some() {
        return None;
    }
    let t = doc.get("type")?.as_str()?;
    (doc.get("version").is_some() || doc.get(t).is_some()).then(|| t.to_ascii_lowercase())
}

/// Why stackhook skips a DataOS resource of type `ty` (not one of the five it
/// converts to CRD form, nor a secret).
pub fn unhandled_reason(ty: &str) -> String {
    format!("stackhook does not handle DataOS {ty} resources")
}

/// The native type of a document (`stack`, `worker`, …) if it is in DataOS-native shape:
/// a `type` this module knows and no `apiVersion`/`kind`.
pub fn native_type(doc: &Value) -> Option<&'static str> {
    if doc.get("apiVersion").is_some() || doc.get("kind").is_some() {
        return None;
    }
    let t = doc.get("type")?.as_str()?;
    TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(t))
        .map(|(n, _)| *n)
}

/// Whether a document is in DataOS-native shape.
pub fn is_native(doc: &Value) -> bool {
    native_type(doc).is_some()
}

/// Converts a DataOS-native document into CRD form. Documents that are not native come
/// back unchanged.
pub fn to_crd(doc: Value) -> Result<Converted, NativeError> {
    let Some(ty) = native_type(&doc) else {
        return match dataos_type(&doc) {
            Some(t) if SECRET_TYPES.contains(&t.as_str()) => dataos_secret(doc, &t),
            Some(t) => Ok(Converted {
                skipped: Some(unhandled_reason(&t)),
                ..Converted::unchanged(doc)
            }),
            None => Ok(Converted::unchanged(doc)),
        };
    };
    let kind = TYPES.iter().find(|(n, _)| *n == ty).map_or("", |(_, k)| *k);
    let original = doc.clone();
    let Value::Object(mut top) = doc else {
        return Ok(Converted::unchanged(doc));
    };
    let name = match top.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(NativeError::MissingName {
                manifest_type: ty.into(),
            });
        }
    };
    let shape = |field: &str, expected: &'static str, found: &Value| NativeError::WrongShape {
        manifest_type: ty.into(),
        name: name.clone(),
        field: field.into(),
        expected,
        found: json_type(found),
    };
    // DataOS v2alpha (and 2.0) writes the section as `spec:`.
    let v2 = !top.contains_key(ty) && top.get("spec").is_some_and(Value::is_object);
    let section_key = if v2 { "spec" } else { ty };
    let mut section = match top.remove(section_key) {
        Some(Value::Object(m)) => m,
        Some(other) => return Err(shape(ty, "a map", &other)),
        None => {
            return Err(NativeError::MissingSection {
                manifest_type: ty.into(),
                name,
            });
        }
    };

    let mut annotations = Map::new();
    let mut tags: Vec<String> = Vec::new();
    for source in [top.get("tags"), section.get("tags")].into_iter().flatten() {
        match source {
            Value::Array(items) => tags.extend(items.iter().map(scalar_text)),
            Value::Null => {}
            other => return Err(shape("tags", "a list", other)),
        }
    }
    section.remove("tags");
    if !tags.is_empty() {
        annotations.insert(TAGS_ANNOTATION.into(), Value::String(tags.join(",")));
    }
    common_annotations(&top, &mut annotations);
    if let Some(title) = section.remove("title").filter(|v| !v.is_null()) {
        annotations.insert(TITLE_ANNOTATION.into(), Value::String(scalar_text(&title)));
    }
    // A Depot section's own description is the Depot's description when the meta
    // section has none.
    let (mut section_dropped, mut notes) = (Vec::new(), Vec::new());
    let mut extra = Vec::new();
    if ty == "depot"
        && let Some(d) = section.remove("description").filter(|v| !v.is_null())
    {
        let text = Value::String(scalar_text(&d));
        match annotations.get(DESCRIPTION_ANNOTATION) {
            None => {
                annotations.insert(DESCRIPTION_ANNOTATION.into(), text);
            }
            Some(kept) if *kept == text => {}
            Some(_) => section_dropped
                .push("depot.description (the manifest's own description is kept)".into()),
        }
    }

    match ty {
        "stack" => {
            section
                .entry("name")
                .or_insert_with(|| Value::String(name.clone()));
            v2alpha_stack(&mut section, &mut section_dropped, &mut notes);
        }
        "workflow" => {
            lift_dag_specs(&mut section, &mut section_dropped, &shape)?;
            end_on(&mut section, &mut section_dropped, &mut notes);
            if let Some(Value::Array(nodes)) = section.get_mut("dag") {
                for (i, node) in nodes.iter_mut().enumerate() {
                    if let Value::Object(node) = node
                        && let Some(note) = legacy_stack_section(node)
                    {
                        notes.push(format!("workflow.dag[{i}].{note}"));
                    }
                }
            }
        }
        "depot" => {
            extra = connection_secrets(
                &mut section,
                &name,
                Some(
                    top.get("workspace")
                        .and_then(Value::as_str)
                        .unwrap_or(DEFAULT_WORKSPACE),
                ),
                &mut section_dropped,
                &mut notes,
            );
            depot_section(&mut section, &mut section_dropped, &mut notes);
        }
        _ => {}
    }
    if matches!(ty, "worker" | "service" | "workflow")
        && let Some(note) = legacy_stack_section(&mut section)
    {
        notes.push(format!("{ty}.{note}"));
    }
    if ty == "workflow" && top.get("version").is_none_or(Value::is_null) {
        // dataos-ctl refuses a Workflow without its resource version.
        notes.push("version is missing (DataOS requires it: v1 for a Workflow)".into());
    }
    if matches!(ty, "worker" | "service" | "workflow") {
        if let Some(note) = run_as_user(&mut section, &mut annotations) {
            notes.push(format!("{ty}.{note}"));
        }
        notes.extend(retry_notes(ty, &section));
    }

    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(name.clone()));
    if ty != "stack"
        && let Some(ws) = top.get("workspace").filter(|v| !v.is_null())
    {
        metadata.insert("namespace".into(), Value::String(scalar_text(ws)));
    } else if ty != "stack" {
        // dataos-ctl applies a workload without `workspace` to `public`; a Depot has
        // no workspace in DataOS (it is instance-wide), so it goes where the workloads
        // that name it without one go.
        metadata.insert("namespace".into(), Value::String(DEFAULT_WORKSPACE.into()));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }

    let mut dropped: Vec<String> = top
        .keys()
        .filter(|k| !META_KEYS.contains(&k.as_str()) || k.as_str() == "layer")
        .cloned()
        .collect();
    if ty == "stack" && top.contains_key("workspace") {
        dropped.push("workspace (Stacks are cluster-scoped)".into());
    }
    dropped.sort();
    dropped.extend(section_dropped);

    let mut value = json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "spec": section,
    });
    if matches!(ty, "worker" | "service" | "workflow" | "stack") {
        // Every key DataOS would read but the CRD has no field for is named.
        for path in super::strict::fit(&mut value) {
            let candidates = source_paths(ty, &path);
            let native = candidates
                .iter()
                .find(|p| lookup(&original, p).is_some())
                .or(candidates.first())
                .cloned()
                .unwrap_or(path);
            dropped.push(native);
        }
    }
    if v2 {
        // Paths name the section as it was written.
        let rename = |p: &mut String| {
            if let Some(rest) = p.strip_prefix(ty)
                && (rest.is_empty() || rest.starts_with(['.', '[', ' ']))
            {
                *p = format!("spec{rest}");
            }
        };
        dropped.iter_mut().for_each(rename);
        notes.iter_mut().for_each(rename);
    }
    Ok(Converted {
        value,
        dropped,
        notes,
        extra,
        skipped: None,
    })
}

/// The annotation holding a DataOS secret's `type` (`key-value-properties`…).
pub const SECRET_TYPE_ANNOTATION: &str = "stackhook.io/dataos-secret-type";

/// A DataOS `instance-secret` or `secret` as a Kubernetes Secret of the same name (so a
/// Depot's `<depot>-r`/`<depot>-rw` finds it): `data:`/`values:` become `stringData`
/// (never shown in a message), a value that is a `${…}` placeholder is named by key,
/// `files:` (paths on the author's machine) are named. An instance-secret is
/// instance-wide in DataOS: it goes where Depots without a workspace go.
fn dataos_secret(doc: Value, ty: &str) -> Result<Converted, NativeError> {
    let Value::Object(mut top) = doc else {
        return Ok(Converted::unchanged(doc));
    };
    let name = match top.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(NativeError::MissingName {
                manifest_type: ty.into(),
            });
        }
    };
    let section_key = if top.contains_key(ty) { ty } else { "spec" };
    let mut section = match top.remove(section_key) {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(NativeError::WrongShape {
                manifest_type: ty.into(),
                name,
                field: section_key.into(),
                expected: "a map",
                found: json_type(&other),
            });
        }
        None => {
            return Err(NativeError::MissingSection {
                manifest_type: ty.into(),
                name,
            });
        }
    };
    let (mut dropped, mut notes) = (Vec::new(), Vec::new());
    let namespace = match top.get("workspace").filter(|v| !v.is_null()) {
        Some(ws) if ty == "secret" => scalar_text(ws),
        Some(_) => {
            dropped.push("workspace (an instance-secret is instance-wide)".into());
            DEFAULT_WORKSPACE.into()
        }
        None => DEFAULT_WORKSPACE.into(),
    };
    let mut annotations = Map::new();
    common_annotations(&top, &mut annotations);
    if let Some(t) = section.remove("type").filter(|v| !v.is_null()) {
        annotations.insert(
            SECRET_TYPE_ANNOTATION.into(),
            Value::String(scalar_text(&t)),
        );
    }
    if let Some(acl) = section.remove("acl").map(|a| scalar_text(&a)) {
        if !matches!(acl.as_str(), "r" | "rw") {
            dropped.push(format!("{ty}.acl (neither r nor rw)"));
        } else if !name.ends_with(&format!("-{acl}")) {
            notes.push(format!(
                "{ty}.acl {acl}: a Depot names its Secrets <depot>-r / <depot>-rw; this one keeps its name {name:?}"
            ));
        }
    }
    let mut string_data = Map::new();
    match section.remove("data").or_else(|| section.remove("values")) {
        Some(Value::Object(data)) => {
            for (k, v) in data {
                let text = scalar_text(&v);
                if text.contains("${") {
                    notes.push(format!(
                        "{ty}.data.{k} is a ${{…}} placeholder, not a value; fill it in before applying"
                    ));
                }
                string_data.insert(k, Value::String(text));
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => dropped.push(format!("{ty}.data (not a map: {})", json_type(&other))),
    }
    if let Some(files) = section.remove("files") {
        let keys: Vec<String> = match &files {
            Value::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        dropped.push(format!(
            "{ty}.files (on the author's machine: put {} in the Secret {name} yourself)",
            if keys.is_empty() {
                "them".to_owned()
            } else {
                keys.join(", ")
            }
        ));
    }
    for key in section.keys() {
        dropped.push(format!("{ty}.{key}"));
    }
    for key in top.keys() {
        if !META_KEYS.contains(&key.as_str()) || key == "layer" {
            dropped.push(key.clone());
        }
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(name));
    metadata.insert("namespace".into(), Value::String(namespace));
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    Ok(Converted {
        value: json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": string_data,
        }),
        dropped,
        notes,
        extra: Vec::new(),
        skipped: None,
    })
}

/// A legacy section named after the stack (`flare:` beside `stack: flare:6.0`, as
/// older DataOS manifests write the stack's spec) becomes the `stackSpec`; what it
/// did, for a note.
fn legacy_stack_section(obj: &mut Map<String, Value>) -> Option<String> {
    if obj.contains_key("stackSpec") {
        return None;
    }
    let stack = obj.get("stack")?.as_str()?;
    let base = stack.split([':', '+']).next()?.to_ascii_lowercase();
    let key = obj
        .iter()
        .find(|(k, v)| k.to_ascii_lowercase() == base && v.is_object())
        .map(|(k, _)| k.clone())?;
    let spec = obj.remove(&key)?;
    obj.insert("stackSpec".into(), spec);
    Some(format!(
        "{key} is the legacy section named after the stack; read as stackSpec"
    ))
}

/// The annotation holding a DataOS `runAsUser` that is a user id, not a UNIX uid.
pub const RUN_AS_USER_ANNOTATION: &str = "stackhook.io/dataos-run-as-user";

/// DataOS's `runAsUser`: a number is the pods' `securityContext.runAsUser`; a DataOS
/// user id (`iamgroot`, as the DataOS docs write it) has no Kubernetes meaning and is
/// kept in an annotation. What it did, for a note.
fn run_as_user(
    section: &mut Map<String, Value>,
    annotations: &mut Map<String, Value>,
) -> Option<String> {
    let key = section
        .keys()
        .find(|k| k.eq_ignore_ascii_case("runAsUser"))?
        .clone();
    let value = section.remove(&key)?;
    let uid = match &value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match uid {
        Some(uid) => {
            let ctx = section
                .entry("securityContext")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(ctx) = ctx {
                ctx.entry("runAsUser").or_insert(Value::from(uid));
            }
            None
        }
        None => {
            let text = scalar_text(&value);
            annotations.insert(RUN_AS_USER_ANNOTATION.into(), Value::String(text.clone()));
            Some(format!(
                "{key}: {text:?} is a DataOS user, not a UNIX uid; kept in the annotation {RUN_AS_USER_ANNOTATION}"
            ))
        }
    }
}

/// A schedule's `endOn`: Kubernetes CronJobs have no end, so the controller suspends
/// them once it has passed (a note says so); one that is not an RFC 3339 time (a
/// `${…}` placeholder) is named and left out.
fn end_on(section: &mut Map<String, Value>, dropped: &mut Vec<String>, notes: &mut Vec<String>) {
    let Some(Value::Object(schedule)) = section.get_mut("schedule") else {
        return;
    };
    let Some(value) = schedule.get("endOn") else {
        return;
    };
    let text = scalar_text(value);
    if text.trim().parse::<jiff::Timestamp>().is_ok() {
        notes.push(format!(
            "workflow.schedule.endOn {text}: a CronJob has no end; the controller suspends it then"
        ));
    } else {
        schedule.remove("endOn");
        dropped.push(format!(
            "workflow.schedule.endOn (not an RFC 3339 time: {text:?})"
        ));
    }
}

/// Retry strategies a Kubernetes Job cannot tell apart from any failure, named.
fn retry_notes(ty: &str, section: &Map<String, Value>) -> Vec<String> {
    let strategy = |retry: Option<&Value>| {
        retry
            .and_then(|r| r.get("strategy"))
            .and_then(Value::as_str)
            .filter(|s| matches!(*s, "OnError" | "OnTransientError"))
            .map(str::to_owned)
    };
    let mut notes = Vec::new();
    let note = |path: String, s: String| {
        format!(
            "{path}.retry.strategy {s}: a Kubernetes Job retries every failure of its pod, up to retry.count times"
        )
    };
    if let Some(s) = strategy(section.get("retry")) {
        notes.push(note(ty.to_owned(), s));
    }
    if let Some(Value::Array(nodes)) = section.get("dag") {
        for (i, node) in nodes.iter().enumerate() {
            if let Some(s) = strategy(node.get("retry")) {
                notes.push(note(format!("{ty}.dag[{i}]"), s));
            }
        }
    }
    notes
}

/// A v2alpha Stack's keys that older Stacks do not have: `projection: {type}` is the
/// `secretProjection` (when the Stack has none); the rest have no meaning to stackhook
/// and are named (`certificates`, `secretJqFilters`, `includeAddresses`,
/// `executionModes`).
fn v2alpha_stack(
    section: &mut Map<String, Value>,
    dropped: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if let Some(projection) = section.remove("projection") {
        if section.contains_key("secretProjection") {
            dropped.push("stack.projection (secretProjection is kept)".into());
        } else if projection.get("type").is_some_and(Value::is_string) {
            notes.push("stack.projection is v2alpha's secretProjection; read as it".into());
            section.insert("secretProjection".into(), projection);
        } else {
            dropped.push("stack.projection (no type)".into());
        }
    }
    for (key, why) in [
        ("certificates", "stackhook mounts no DataOS certificates"),
        (
            "secretJqFilters",
            "secrets come from the Depots addresses name",
        ),
        ("includeAddresses", "addresses are always resolved"),
        (
            "executionModes",
            "the kinds a Stack serves are its workerConfig, serviceConfig, workflowJobConfig",
        ),
    ] {
        if section.remove(key).is_some() {
            dropped.push(format!("stack.{key} ({why})"));
        }
    }
}

/// The workspace dataos-ctl applies a workload to when the manifest names none.
pub const DEFAULT_WORKSPACE: &str = "public";

/// A v1 Depot's `connectionSecret` (credentials written in the manifest) as
/// Kubernetes Secrets, `<depot>-<acl>`, listed in the Depot's `secrets`: the Secrets to
/// apply with it. A note says the credentials were inline (it never shows them); a
/// `files:` entry (paths on the author's machine) is named, not read.
fn connection_secrets(
    section: &mut Map<String, Value>,
    depot: &str,
    namespace: Option<&str>,
    dropped: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Vec<Value> {
    let Some(Value::Array(entries)) = section.remove("connectionSecret") else {
        return Vec::new();
    };
    let mut secrets = Vec::new();
    let mut listed = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let Value::Object(mut entry) = entry else {
            dropped.push(format!("depot.connectionSecret[{i}]"));
            continue;
        };
        let given = entry.remove("acl").map(|a| scalar_text(&a));
        let acl = given
            .clone()
            .filter(|a| a == "r" || a == "rw")
            .unwrap_or_else(|| "r".into());
        if given.as_ref().is_some_and(|g| *g != acl) {
            dropped.push(format!(
                "depot.connectionSecret[{i}].acl (neither r nor rw; r assumed)"
            ));
        }
        let secret_type = entry.remove("type").map(|t| scalar_text(&t));
        let name = format!("{depot}-{acl}");
        // `files: {key: ./path}` are on the author's machine: their keys are listed
        // (projected as whole files), their content is the user's to add.
        let files: Vec<String> = match entry.remove("files") {
            Some(Value::Object(files)) => files.keys().cloned().collect(),
            Some(Value::Array(paths)) => paths
                .iter()
                .map(|p| {
                    let p = scalar_text(p);
                    p.rsplit(['/', '\\']).next().unwrap_or_default().to_owned()
                })
                .filter(|k| !k.is_empty())
                .collect(),
            Some(Value::String(path)) => path
                .rsplit(['/', '\\'])
                .next()
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        if !files.is_empty() {
            dropped.push(format!(
                "depot.connectionSecret[{i}].files (on the author's machine: put {} in the Secret {name} yourself; the Depot lists the keys)",
                files.join(", ")
            ));
        }
        // The docs write the credentials as `data:` or `values:`.
        let data = match entry.remove("data").or_else(|| entry.remove("values")) {
            Some(Value::Object(data)) => Some(data),
            Some(_) => {
                dropped.push(format!("depot.connectionSecret[{i}].data (not a map)"));
                None
            }
            None => None,
        };
        for key in entry.keys() {
            dropped.push(format!("depot.connectionSecret[{i}].{key}"));
        }
        let mut listing = json!({"name": name, "acl": acl});
        if !files.is_empty() {
            listing["files"] = json!(files);
        }
        let Some(data) = data else {
            if !files.is_empty() {
                listed.push(listing);
            }
            if secret_type.is_some() {
                dropped.push(format!(
                    "depot.connectionSecret[{i}].type (no inline data, so no Secret is written)"
                ));
            }
            continue;
        };
        let string_data: Map<String, Value> = data
            .into_iter()
            .map(|(k, v)| (k, Value::String(scalar_text(&v))))
            .collect();
        notes.push(format!(
            "depot.connectionSecret[{i}] held {} credential key(s) inline: written as the Secret {name:?} (acl {acl}); keep it out of version control",
            string_data.len()
        ));
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::String(name.clone()));
        if let Some(ns) = namespace {
            metadata.insert("namespace".into(), Value::String(ns.into()));
        }
        if let Some(t) = secret_type {
            metadata.insert("annotations".into(), json!({ SECRET_TYPE_ANNOTATION: t }));
        }
        secrets.push(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": string_data,
        }));
        listed.push(listing);
    }
    if !listed.is_empty() {
        let list = section
            .entry("secrets")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.extend(listed);
        }
    }
    secrets
}

/// A DataOS Depot section (v1 or v2alpha) in the CRD's shape: the connection details
/// v2alpha writes under a key named after the type (`postgresql:`, `s3:`…) become the
/// Depot's `spec`; a Secret without `acl` takes it from the instance-secret's name
/// (`<depot>-r`, `<depot>-rw`), with a note; what has no place in the CRD is named in
/// `dropped`.
fn depot_section(
    section: &mut Map<String, Value>,
    dropped: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let ty = section
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let key = ty.as_deref().and_then(|ty| {
        section
            .keys()
            .find(|k| k.to_ascii_lowercase() == ty && k.as_str() != "type")
            .or_else(|| {
                // A JDBC depot names its section after the database (`postgresql:`).
                (ty == "jdbc").then_some(())?;
                section.iter().find_map(|(k, v)| {
                    let named = JDBC_SECTIONS.contains(&k.to_ascii_lowercase().as_str());
                    (v.is_object() && (named || v.get("subprotocol").is_some())).then_some(k)
                })
            })
            .cloned()
    });
    if let Some(key) = key
        && let Some(Value::Object(details)) = section.remove(&key)
    {
        if ty.as_deref() != Some(key.to_ascii_lowercase().as_str()) {
            notes.push(format!(
                "depot.{key} is the JDBC connection section; read as the depot's spec"
            ));
        }
        let spec = section
            .entry("spec")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(spec) = spec {
            for (k, v) in details {
                spec.entry(k).or_insert(v);
            }
        }
    }
    if let Some(Value::Array(secrets)) = section.get_mut("secrets") {
        for (i, secret) in secrets.iter_mut().enumerate() {
            let Value::Object(secret) = secret else {
                continue;
            };
            // DataOS 2.0 writes a secret as `{id, purpose}`.
            if !secret.contains_key("name")
                && let Some(id) = secret.remove("id")
            {
                secret.insert("name".into(), Value::String(scalar_text(&id)));
            }
            if !secret.contains_key("acl")
                && let Some(purpose) = secret.remove("purpose")
            {
                secret.insert("acl".into(), Value::String(scalar_text(&purpose)));
            }
            for key in ["keys", "allKeys", "allkeys"] {
                if secret.remove(key).is_some() {
                    dropped.push(format!(
                        "depot.secrets[{i}].{key} (every key of the Secret is projected)"
                    ));
                }
            }
            if !secret.contains_key("acl") {
                let name = secret
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (acl, why) = if name.ends_with("-rw") {
                    ("rw", format!("from the instance-secret's name {name:?}"))
                } else if name.ends_with("-r") {
                    ("r", format!("from the instance-secret's name {name:?}"))
                } else {
                    (
                        "r",
                        format!("read assumed: the name {name:?} ends in neither -r nor -rw"),
                    )
                };
                notes.push(format!("depot.secrets[{i}] has no acl; {acl} {why}"));
                secret.insert("acl".into(), Value::String(acl.into()));
            }
        }
    }
    // Informational in DataOS; a placeholder (`${{true}}`) is named, not an error.
    if section.get("external").is_some_and(|v| !v.is_boolean()) {
        section.remove("external");
        dropped.push("depot.external (not true or false)".into());
    }
    if section.get("source").is_some_and(|v| !v.is_string()) {
        section.remove("source");
        dropped.push("depot.source (not text)".into());
    }
    let unknown: Vec<String> = section
        .keys()
        .filter(|k| !["type", "spec", "secrets", "external", "source"].contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        section.remove(&key);
        dropped.push(format!("depot.{key}"));
    }
}

/// The sections a DataOS JDBC depot writes its connection under, named after the
/// database (DataOS's JDBC depot pages).
const JDBC_SECTIONS: [&str; 8] = [
    "postgresql",
    "postgres",
    "mysql",
    "mssql",
    "sqlserver",
    "oracle",
    "redshift",
    "jdbc",
];

/// Why a `file:` DAG node cannot be inlined.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct IncludeError {
    /// The node's `file` field (`workflow.dag[1].file`).
    pub field: String,
    /// What went wrong (the file is missing, or is not a Workflow).
    pub message: String,
}

/// Inlines the `file:` nodes of a DataOS Workflow's DAG (a workflow of workflows, as
/// dataos-ctl applies it): each such node is replaced by the steps of the Workflow
/// manifest in that file, which `read` returns. The inlined steps are named
/// `<node>-<step>` (or the node's name when the file has one step), keep their own
/// dependencies, and take the node's: its `dependencies` go to the file's first steps,
/// and a step that depended on the node depends on the file's last steps. The node's
/// other keys (`retry`, …) are given to each inlined step. Files are read one level
/// deep: a `file:` node inside an included Workflow is an error.
pub fn inline_dag_files(
    doc: &mut Value,
    read: &mut dyn FnMut(&str) -> Result<Value, String>,
) -> Result<Vec<InlinedStep>, IncludeError> {
    let mut inlined = Vec::new();
    if native_type(doc) != Some("workflow") {
        return Ok(inlined);
    }
    let Some(Value::Array(nodes)) = doc.pointer_mut("/workflow/dag") else {
        return Ok(inlined);
    };
    if !nodes.iter().any(|n| n.get("file").is_some()) {
        return Ok(inlined);
    }
    // The steps each node became: (name, new steps, first names, last names).
    let mut out: Vec<Value> = Vec::new();
    let mut renamed: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for (i, node) in std::mem::take(nodes).into_iter().enumerate() {
        let Value::Object(mut node) = node else {
            out.push(node);
            continue;
        };
        let Some(file) = node.remove("file") else {
            out.push(Value::Object(node));
            continue;
        };
        let field = format!("workflow.dag[{i}].file");
        let err = |message: String| IncludeError {
            field: field.clone(),
            message,
        };
        let path = file
            .as_str()
            .ok_or_else(|| err(format!("expected a path, found {}", json_type(&file))))?;
        let included = read(path).map_err(|e| err(format!("{path}: {e}")))?;
        if native_type(&included) != Some("workflow") {
            return Err(err(format!("{path} is not a DataOS Workflow manifest")));
        }
        let steps = match included.pointer("/workflow/dag") {
            Some(Value::Array(steps)) if !steps.is_empty() => steps.clone(),
            _ => return Err(err(format!("{path} has no workflow.dag steps"))),
        };
        if steps.iter().any(|s| s.get("file").is_some()) {
            return Err(err(format!(
                "{path} has file: steps of its own; one level of files is read"
            )));
        }
        let node_name = node
            .remove("name")
            .and_then(|n| n.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("step{i}"));
        let own_deps = node.remove("dependencies");
        let inner: Vec<String> = steps
            .iter()
            .map(|s| scalar_text(s.get("name").unwrap_or(&Value::Null)))
            .collect();
        let single = steps.len() == 1;
        let name_of = |inner_name: &str| {
            if single {
                node_name.clone()
            } else {
                format!("{node_name}-{inner_name}")
            }
        };
        let deps_of = |s: &Value| -> Vec<String> {
            match s.get("dependencies") {
                Some(Value::String(d)) => vec![d.clone()],
                Some(Value::Array(ds)) => ds.iter().map(scalar_text).collect(),
                _ => Vec::new(),
            }
        };
        let depended_on: BTreeSet<String> = steps.iter().flat_map(&deps_of).collect();
        let mut lasts = Vec::new();
        for (j, (step, inner_name)) in steps.into_iter().zip(&inner).enumerate() {
            let Value::Object(mut step) = step else {
                continue;
            };
            inlined.push(InlinedStep {
                step: out.len(),
                file: path.to_owned(),
                inner: j,
            });
            let deps = deps_of(&Value::Object(step.clone()));
            let mut new_deps: Vec<Value> = deps
                .iter()
                .filter(|d| inner.contains(d))
                .map(|d| Value::String(name_of(d)))
                .collect();
            if deps.is_empty()
                && let Some(own) = &own_deps
            {
                match own {
                    Value::Array(ds) => new_deps.extend(ds.iter().cloned()),
                    other => new_deps.push(other.clone()),
                }
            }
            let name = name_of(inner_name);
            if !depended_on.contains(inner_name) {
                lasts.push(name.clone());
            }
            step.insert("name".into(), Value::String(name));
            if new_deps.is_empty() {
                step.remove("dependencies");
            } else {
                step.insert("dependencies".into(), Value::Array(new_deps));
            }
            for (k, v) in &node {
                step.entry(k.clone()).or_insert_with(|| v.clone());
            }
            out.push(Value::Object(step));
        }
        renamed.insert(node_name, lasts);
    }
    // A step that depended on an inlined node depends on that node's last steps.
    for step in &mut out {
        let Some(deps) = step.get_mut("dependencies") else {
            continue;
        };
        let list: Vec<String> = match deps {
            Value::String(d) => vec![d.clone()],
            Value::Array(ds) => ds.iter().map(scalar_text).collect(),
            _ => continue,
        };
        if list.iter().any(|d| renamed.contains_key(d)) {
            let mut new = Vec::new();
            for d in list {
                match renamed.get(&d) {
                    Some(lasts) => new.extend(lasts.iter().cloned().map(Value::String)),
                    None => new.push(Value::String(d)),
                }
            }
            *deps = Value::Array(new);
        }
    }
    if let Some(Value::Array(nodes)) = doc.pointer_mut("/workflow/dag") {
        *nodes = out;
    }
    Ok(inlined)
}

/// A DAG step that came from a `file:` node: where problems about it were written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlinedStep {
    /// Its index in the Workflow's `dag` after inlining.
    pub step: usize,
    /// The `file:` path, as written.
    pub file: String,
    /// Its index in that file's `workflow.dag`.
    pub inner: usize,
}

/// `dag: [{name, spec: {stack, stackSpec, …}, dependencies}]` → the step's fields lifted
/// out of `spec`, and the Workflow's `stack` defaulted from the first step.
fn lift_dag_specs(
    section: &mut Map<String, Value>,
    dropped: &mut Vec<String>,
    shape: &dyn Fn(&str, &'static str, &Value) -> NativeError,
) -> Result<(), NativeError> {
    let Some(dag) = section.get_mut("dag") else {
        return Ok(());
    };
    let Value::Array(nodes) = dag else {
        return Err(shape("workflow.dag", "a list", dag));
    };
    for (i, node) in nodes.iter_mut().enumerate() {
        let Value::Object(node) = node else {
            return Err(shape(&format!("workflow.dag[{i}]"), "a map", node));
        };
        match node.remove("spec") {
            Some(Value::Object(spec)) => {
                for (k, v) in spec {
                    match node.get(&k) {
                        None => {
                            node.insert(k, v);
                        }
                        Some(own) if *own == v => {}
                        Some(_) => dropped.push(format!(
                            "workflow.dag[{i}].spec.{k} (the step's own {k} is kept)"
                        )),
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(other) => return Err(shape(&format!("workflow.dag[{i}].spec"), "a map", &other)),
        }
        if let Some(Value::String(dep)) = node.get("dependencies") {
            let dep = dep.clone();
            node.insert("dependencies".into(), json!([dep]));
        }
    }
    let first_stack = nodes
        .iter()
        .find_map(|n| n.get("stack").filter(|s| s.is_string()).cloned());
    if !section.contains_key("stack")
        && let Some(s) = first_stack
    {
        section.insert("stack".into(), s);
    }
    Ok(())
}

/// Where a field of the converted (CRD-form) document was written in the native one:
/// candidate native paths, most specific first. `spec.stack` of a Worker →
/// `worker.stack`; `spec.dag[0].stackSpec` → `workflow.dag[0].spec.stackSpec`, then
/// `workflow.dag[0].stackSpec`; `metadata.namespace` → `workspace`.
pub fn source_paths(native_type: &str, crd_path: &str) -> Vec<String> {
    if crd_path == "metadata.name" {
        return vec!["name".into()];
    }
    if crd_path == "metadata.namespace" {
        return vec!["workspace".into()];
    }
    if crd_path.starts_with("metadata")
        || crd_path.starts_with("apiVersion")
        || crd_path.starts_with("kind")
    {
        return vec![String::new()];
    }
    let Some(rest) = crd_path.strip_prefix("spec") else {
        return vec![crd_path.to_owned()];
    };
    let section = format!("{native_type}{rest}");
    if native_type == "workflow"
        && let Some(after_dag) = rest.strip_prefix(".dag[")
        && let Some((index, field)) = after_dag.split_once(']')
        && let Some(field) = field.strip_prefix('.')
    {
        return vec![format!("workflow.dag[{index}].spec.{field}"), section];
    }
    vec![section]
}

/// The value at a dotted path with `[i]` indexes (`workflow.dag[1].spec.tags`).
fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = doc;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for index in indexes.split('[').skip(1) {
            cur = cur.get(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(cur)
}

/// The annotations every DataOS resource's top-level keys give: description, owner
/// and the DataOS version.
fn common_annotations(top: &Map<String, Value>, annotations: &mut Map<String, Value>) {
    for (key, annotation) in [
        ("description", DESCRIPTION_ANNOTATION),
        ("owner", OWNER_ANNOTATION),
        ("version", DATAOS_VERSION_ANNOTATION),
    ] {
        if let Some(v) = top.get(key).filter(|v| !v.is_null()) {
            annotations.insert(annotation.into(), Value::String(scalar_text(v)));
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_worker_with_meta_fields() {
        let doc = json!({
            "name": "orders-sync", "version": "v1beta", "type": "worker",
            "workspace": "public", "tags": ["dataos:type:resource", "orders"],
            "description": "syncs orders", "owner": "iamgroot", "layer": "user",
            "worker": {"title": "Orders", "replicas": 1, "stack": "benthos:3.0",
                       "compute": "runnable-default", "stackSpec": {"input": {}}}
        });
        let c = to_crd(doc).unwrap();
        assert_eq!(
            c.value,
            json!({
                "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
                "metadata": {"name": "orders-sync", "namespace": "public", "annotations": {
                    "stackhook.io/tags": "dataos:type:resource,orders",
                    "stackhook.io/description": "syncs orders",
                    "stackhook.io/owner": "iamgroot",
                    "stackhook.io/dataos-version": "v1beta",
                    "stackhook.io/title": "Orders"
                }},
                "spec": {"replicas": 1, "stack": "benthos:3.0",
                         "compute": "runnable-default", "stackSpec": {"input": {}}}
            })
        );
        assert_eq!(c.dropped, ["layer"]);
    }

    #[test]
    fn stacks_are_cluster_scoped_and_default_their_name() {
        let c = to_crd(
            json!({"name": "my-stack", "type": "stack", "workspace": "public",
            "stack": {"version": "1.0"}}),
        )
        .unwrap();
        assert_eq!(c.value["metadata"], json!({"name": "my-stack"}));
        assert_eq!(c.value["spec"]["name"], "my-stack");
        assert_eq!(c.dropped, ["workspace (Stacks are cluster-scoped)"]);
    }

    #[test]
    fn lifts_dag_step_specs() {
        let c = to_crd(json!({"name": "wf", "type": "workflow", "workspace": "ns", "version": "v1",
        "workflow": {"schedule": {"cron": "0 5 * * *", "endOn": "2024-11-01T23:40:45Z"}, "dag": [
            {"name": "a", "spec": {"stack": "flare:5.0", "stackSpec": {"x": 1}}},
            {"name": "b", "dependencies": "a", "spec": {"stack": "flare:5.0"}}
        ]}}))
        .unwrap();
        assert_eq!(c.value["spec"]["stack"], "flare:5.0");
        assert_eq!(
            c.value["spec"]["dag"],
            json!([
                {"name": "a", "stack": "flare:5.0", "stackSpec": {"x": 1}},
                {"name": "b", "dependencies": ["a"], "stack": "flare:5.0"}
            ])
        );
        // The schedule is kept beside the dag; its end is the controller's to keep.
        assert_eq!(
            c.value["spec"]["schedule"],
            json!({"cron": "0 5 * * *", "endOn": "2024-11-01T23:40:45Z"})
        );
        assert_eq!(
            c.notes,
            [
                "workflow.schedule.endOn 2024-11-01T23:40:45Z: a CronJob has no end; the controller suspends it then"
            ]
        );
        let c = to_crd(json!({"name": "wf", "type": "workflow",
        "workflow": {"schedule": {"cron": "0 5 * * *", "endOn": "${2022-01-01T23:40:45Z}"},
                     "dag": [{"name": "a", "spec": {"stack": "flare:5.0"}}]}}))
        .unwrap();
        assert_eq!(c.value["spec"]["schedule"], json!({"cron": "0 5 * * *"}));
        assert_eq!(
            c.dropped,
            ["workflow.schedule.endOn (not an RFC 3339 time: \"${2022-01-01T23:40:45Z}\")"]
        );
    }

    #[test]
    fn names_every_key_the_crd_has_no_field_for_and_reads_keys_as_go_does() {
        let c = to_crd(json!({"name": "w", "type": "worker", "workspace": "ns",
        "worker": {"stack": "flare:6.0", "loglevel": "DEBUG", "replicas": 2,
                   "autoScaling": {"enabled": true, "maxReplicas": 3},
                   "runAsUser": "me", "flare": {"job": {"x": 1}}}}))
        .unwrap();
        assert_eq!(c.value["spec"]["logLevel"], "DEBUG");
        assert_eq!(c.value["spec"]["stackSpec"], json!({"job": {"x": 1}}));
        // Keys with a Kubernetes meaning are mapped, not dropped.
        assert_eq!(
            c.value["spec"]["autoScaling"],
            json!({"enabled": true, "maxReplicas": 3})
        );
        assert!(c.dropped.is_empty(), "{:?}", c.dropped);
        assert_eq!(
            c.value["metadata"]["annotations"]["stackhook.io/dataos-run-as-user"],
            "me"
        );
        assert_eq!(
            c.notes,
            [
                "worker.flare is the legacy section named after the stack; read as stackSpec",
                "worker.runAsUser: \"me\" is a DataOS user, not a UNIX uid; kept in the annotation stackhook.io/dataos-run-as-user"
            ]
        );
        let c = to_crd(json!({"name": "w", "type": "worker",
        "worker": {"stack": "s:1", "runAsUser": 1001,
                   "highAvailabilityConfig": {"level": "zone", "mode": "required"}}}))
        .unwrap();
        assert_eq!(
            c.value["spec"]["securityContext"],
            json!({"runAsUser": 1001})
        );
        assert_eq!(
            c.value["spec"]["highAvailabilityConfig"],
            json!({"level": "zone", "mode": "required"})
        );
        assert!(c.notes.is_empty() && c.dropped.is_empty());
        let c = to_crd(
            json!({"name": "wf", "type": "workflow", "workflow": {"dag": [
            {"name": "a", "description": "first", "spec": {"stack": "flare:5.0",
             "tags": ["t"], "persistentVolume": {"name": "v", "directory": "d"},
             "retry": {"count": 4, "strategy": "OnTransientError"},
             "flare": {"job": {}}}}]}}),
        )
        .unwrap();
        assert_eq!(
            c.dropped,
            ["workflow.dag[0].description", "workflow.dag[0].spec.tags"]
        );
        assert_eq!(
            c.value["spec"]["dag"][0]["persistentVolume"],
            json!({"name": "v", "directory": "d"})
        );
        assert_eq!(c.value["spec"]["dag"][0]["retry"]["count"], 4);
        assert_eq!(
            c.notes.last().map(String::as_str),
            Some(
                "workflow.dag[0].retry.strategy OnTransientError: a Kubernetes Job retries every failure of its pod, up to retry.count times"
            )
        );
        assert_eq!(c.value["spec"]["dag"][0]["stackSpec"], json!({"job": {}}));
        assert_eq!(c.value["metadata"]["namespace"], "public");
    }

    #[test]
    fn a_jdbc_depots_section_named_after_its_database_is_its_spec() {
        let c = to_crd(json!({"name": "pg", "type": "depot", "version": "v2alpha",
        "depot": {"type": "JDBC", "external": true, "source": "pgsource",
                  "secrets": [{"name": "pg-r", "keys": ["pg-r"]}],
                  "postgresql": {"subprotocol": "postgresql", "host": "db", "port": 5432}}}))
        .unwrap();
        assert_eq!(
            c.value["spec"]["spec"],
            json!({"subprotocol": "postgresql", "host": "db", "port": 5432})
        );
        assert_eq!(c.value["spec"]["external"], true);
        assert_eq!(c.value["spec"]["source"], "pgsource");
        assert_eq!(
            c.notes,
            [
                "depot.postgresql is the JDBC connection section; read as the depot's spec",
                "depot.secrets[0] has no acl; r from the instance-secret's name \"pg-r\""
            ]
        );
        assert_eq!(
            c.dropped,
            ["depot.secrets[0].keys (every key of the Secret is projected)"]
        );
    }

    #[test]
    fn a_v1_depots_inline_credentials_become_secrets() {
        let c = to_crd(json!({"name": "pg", "type": "depot", "workspace": "data",
        "depot": {"type": "JDBC", "spec": {"host": "h"}, "connectionSecret": [
            {"acl": "r", "type": "key-value-properties",
             "data": {"username": "u", "password": "p", "port": 5432}},
            {"acl": "rw", "type": "key-value-properties", "files": {"key": "./k.json"}}
        ]}}))
        .unwrap();
        assert_eq!(
            c.value["spec"]["secrets"],
            json!([{"name": "pg-r", "acl": "r"}, {"name": "pg-rw", "acl": "rw", "files": ["key"]}])
        );
        assert_eq!(
            c.extra,
            [
                json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "pg-r", "namespace": "data", "annotations":
                    {"stackhook.io/dataos-secret-type": "key-value-properties"}},
                "stringData": {"username": "u", "password": "p", "port": "5432"}})
            ]
        );
        assert_eq!(
            c.dropped,
            [
                "depot.connectionSecret[1].files (on the author's machine: put key in the Secret pg-rw yourself; the Depot lists the keys)",
                "depot.connectionSecret[1].type (no inline data, so no Secret is written)"
            ]
        );
        assert_eq!(
            c.notes,
            [
                "depot.connectionSecret[0] held 3 credential key(s) inline: written as the Secret \"pg-r\" (acl r); keep it out of version control"
            ]
        );
        // `data:` and `files:` in one entry: both kept.
        let c = to_crd(json!({"name": "gcs", "type": "depot",
        "depot": {"type": "GCS", "connectionSecret": [
            {"acl": "rw", "type": "key-value-properties", "data": {"projectid": "p"},
             "files": {"gcskey_json": "secrets/gcs-key.json"}}]}}))
        .unwrap();
        assert_eq!(
            c.value["spec"]["secrets"],
            json!([{"name": "gcs-rw", "acl": "rw", "files": ["gcskey_json"]}])
        );
        assert_eq!(c.extra[0]["stringData"], json!({"projectid": "p"}));
        assert_eq!(c.dropped.len(), 1, "{:?}", c.dropped);
        assert!(!c.notes.concat().contains("\"p\""));
    }

    #[test]
    fn a_depot_without_workspace_goes_where_workloads_without_one_go() {
        let c = to_crd(json!({"name": "pg", "type": "depot",
        "depot": {"type": "JDBC", "connectionSecret": [
            {"acl": "r", "data": {"username": "u"}}]}}))
        .unwrap();
        assert_eq!(c.value["metadata"]["namespace"], DEFAULT_WORKSPACE);
        assert_eq!(c.extra[0]["metadata"]["namespace"], DEFAULT_WORKSPACE);
        let w = to_crd(json!({"name": "w", "type": "worker", "worker": {"stack": "s:1"}})).unwrap();
        assert_eq!(
            w.value["metadata"]["namespace"],
            c.value["metadata"]["namespace"]
        );
    }

    #[test]
    fn reads_v2alpha_stacks_and_names_their_extra_keys() {
        let c = to_crd(
            json!({"name": "dbt-v2", "version": "v2alpha", "type": "stack",
        "spec": {"name": "dbt", "flavor": "python", "version": "2.0",
                 "projection": {"type": "envVars"}, "certificates": {"x": 1},
                 "secretJqFilters": [".s"], "includeAddresses": true,
                 "executionModes": ["workflow"], "imageName": "nope",
                 "dataOsAddressJqFilters": [".inputs[]"]}}),
        )
        .unwrap();
        assert_eq!(c.value["kind"], "Stack");
        assert_eq!(
            c.value["spec"]["secretProjection"],
            json!({"type": "envVars"})
        );
        assert_eq!(c.value["spec"]["flavor"], "python");
        assert_eq!(
            c.dropped,
            [
                "spec.certificates (stackhook mounts no DataOS certificates)",
                "spec.secretJqFilters (secrets come from the Depots addresses name)",
                "spec.includeAddresses (addresses are always resolved)",
                "spec.executionModes (the kinds a Stack serves are its workerConfig, serviceConfig, workflowJobConfig)",
                "spec.imageName"
            ]
        );
        assert_eq!(
            c.notes,
            ["spec.projection is v2alpha's secretProjection; read as it"]
        );
        // An older Stack's unknown key is named too.
        let c = to_crd(json!({"name": "s", "type": "stack",
        "stack": {"version": "1.0", "imagee": {}}}))
        .unwrap();
        assert_eq!(c.dropped, ["stack.imagee"]);
    }

    #[test]
    fn reads_dataos_2_depots() {
        let c = to_crd(
            json!({"name": "lake", "version": "v2alpha", "type": "depot",
        "spec": {"type": "lakehouse", "secrets": [{"id": "lake-rw", "purpose": "rw"},
                                                   {"id": "lake-r", "purpose": "r"}]}}),
        )
        .unwrap();
        assert_eq!(c.value["kind"], "Depot");
        assert_eq!(c.value["spec"]["type"], "lakehouse");
        assert_eq!(
            c.value["spec"]["secrets"],
            json!([{"name": "lake-rw", "acl": "rw"}, {"name": "lake-r", "acl": "r"}])
        );
        assert!(c.dropped.is_empty() && c.notes.is_empty());
    }

    #[test]
    fn dataos_secrets_become_kubernetes_secrets_without_showing_values() {
        let c = to_crd(
            json!({"name": "lake-rw", "version": "v1", "type": "instance-secret",
        "layer": "user", "instance-secret": {"type": "key-value-properties", "acl": "rw",
            "data": {"accesskeyid": "AKIA-secret-value", "secretkey": "${{secret}}"},
            "files": {"key_json": "./k.json"}}}),
        )
        .unwrap();
        assert_eq!(
            c.value,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "lake-rw", "namespace": "public", "annotations": {
                "stackhook.io/dataos-version": "v1",
                "stackhook.io/dataos-secret-type": "key-value-properties"}},
            "stringData": {"accesskeyid": "AKIA-secret-value", "secretkey": "${{secret}}"}})
        );
        assert_eq!(
            c.notes,
            [
                "instance-secret.data.secretkey is a ${…} placeholder, not a value; fill it in before applying"
            ]
        );
        assert_eq!(
            c.dropped,
            [
                "instance-secret.files (on the author's machine: put key_json in the Secret lake-rw yourself)",
                "layer"
            ]
        );
        let all = format!("{:?}{:?}", c.notes, c.dropped);
        assert!(!all.contains("AKIA"), "{all}");
        let c = to_crd(json!({"name": "gh", "version": "v1", "type": "secret",
            "workspace": "team", "secret": {"acl": "r", "data": {"token": "t"}}}))
        .unwrap();
        assert_eq!(c.value["metadata"]["namespace"], "team");
        assert_eq!(
            c.notes,
            [
                "secret.acl r: a Depot names its Secrets <depot>-r / <depot>-rw; this one keeps its name \"gh\""
            ]
        );
        assert_eq!(
            to_crd(json!({"version": "v1", "type": "secret", "secret": {}}))
                .unwrap_err()
                .to_string(),
            "DataOS secret manifest has no `name`"
        );
    }

    #[test]
    fn other_dataos_types_are_skipped_with_a_reason() {
        let doc = json!({"name": "b", "version": "v1beta", "type": "bundle", "bundle": {}});
        let c = to_crd(doc.clone()).unwrap();
        assert_eq!(c.value, doc);
        assert_eq!(
            c.skipped.as_deref(),
            Some("stackhook does not handle DataOS bundle resources")
        );
        // Not DataOS at all: nothing to say.
        let c = to_crd(json!({"type": "x"})).unwrap();
        assert_eq!(c.skipped, None);
    }

    #[test]
    fn a_manifest_without_version_is_named() {
        let c = to_crd(json!({"name": "wf", "type": "workflow",
            "workflow": {"dag": [{"name": "a", "spec": {"stack": "flare:5.0"}}]}}))
        .unwrap();
        assert_eq!(
            c.notes,
            ["version is missing (DataOS requires it: v1 for a Workflow)"]
        );
    }

    #[test]
    fn maps_crd_paths_back_to_native_ones() {
        assert_eq!(source_paths("worker", "spec.stack"), ["worker.stack"]);
        assert_eq!(source_paths("worker", "metadata.namespace"), ["workspace"]);
        assert_eq!(
            source_paths("workflow", "spec.dag[1].stackSpec.inputs[0]"),
            [
                "workflow.dag[1].spec.stackSpec.inputs[0]",
                "workflow.dag[1].stackSpec.inputs[0]"
            ]
        );
        assert_eq!(source_paths("stack", "spec"), ["stack"]);
    }

    #[test]
    fn leaves_crd_documents_alone() {
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap", "type": "worker"});
        assert!(!is_native(&doc));
        assert_eq!(to_crd(doc.clone()).unwrap().value, doc);
    }

    #[test]
    fn reports_a_missing_section_and_name() {
        assert_eq!(
            to_crd(json!({"name": "w", "type": "worker"}))
                .unwrap_err()
                .to_string(),
            r#"DataOS worker manifest "w" has no `worker:` section (nor a v2alpha `spec:`)"#
        );
        assert_eq!(
            to_crd(json!({"type": "depot", "depot": {}}))
                .unwrap_err()
                .to_string(),
            "DataOS depot manifest has no `name`"
        );
        assert_eq!(
            to_crd(json!({"name": "w", "type": "workflow", "workflow": {"dag": {}}}))
                .unwrap_err()
                .to_string(),
            r#"DataOS workflow manifest "w": workflow.dag: expected a list, found a map"#
        );
    }
}
