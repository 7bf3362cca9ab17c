//! Reading files, directories and stdin into documents, and documents into a catalog.
//!
//! Directories are walked recursively for `*.yaml`, `*.yml` and `*.json`, in name order,
//! so output is stable. `-` reads stdin. Every document keeps its file and the position
//! of each field, for `FILE:LINE:COL` messages.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use goyaml::{Position, SourceDocument};
use serde_json::Value;
use stackhook_core::catalog::InsertError;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::model::{self, DocumentError, Parsed, Resource, native};

/// The name stdin is shown under.
pub const STDIN_NAME: &str = "<stdin>";

/// Why input cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file or directory cannot be read.
    #[error("{path}: {reason}", path = .path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// What went wrong, in words.
        reason: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A directory walk failed.
    #[error("{path}: cannot walk directory", path = .path.display())]
    Walk {
        /// The directory.
        path: PathBuf,
        /// The walk error.
        #[source]
        source: walkdir::Error,
    },
    /// YAML or JSON that does not parse.
    #[error("{file}:{position}: {message}")]
    Syntax {
        /// The file.
        file: Arc<str>,
        /// Where.
        position: Position,
        /// What.
        message: String,
    },
    /// A document that parses but is not a valid stackhook resource.
    #[error("{file}:{position}: {source}")]
    Document {
        /// The file.
        file: Arc<str>,
        /// Where: the offending field, or the document's start.
        position: Position,
        /// What.
        #[source]
        source: Box<DocumentError>,
    },
    /// A `stackhook-config` ConfigMap with an entry that is not usable.
    #[error("{file}:{position}: {source}")]
    Settings {
        /// The file.
        file: Arc<str>,
        /// Where: the ConfigMap's start.
        position: Position,
        /// What.
        #[source]
        source: stackhook_core::settings::SettingsError,
    },
    /// A second `stackhook-config` ConfigMap for a namespace: the first one loaded
    /// applies, this one is left out.
    #[error(
        "{file}:{position}: a second {name} for namespace {namespace:?}; the first, at {first_file}:{first_position}, applies (one per namespace)",
        name = stackhook_core::settings::CONFIG_MAP_NAME
    )]
    DuplicateSettings {
        /// The file of the second one.
        file: Arc<str>,
        /// Its start.
        position: Position,
        /// The namespace.
        namespace: String,
        /// The file of the first one.
        first_file: Arc<str>,
        /// Its start.
        first_position: Position,
    },
    /// A resource that conflicts with one already loaded.
    #[error("{file}:{position}: {source}")]
    Conflict {
        /// The file.
        file: Arc<str>,
        /// The document's start.
        position: Position,
        /// What.
        #[source]
        source: InsertError,
    },
    /// A `file:` node of a DataOS Workflow's DAG that cannot be read or inlined.
    #[error("{file}:{position}: {source}")]
    Include {
        /// The file.
        file: Arc<str>,
        /// The node's `file` field.
        position: Position,
        /// What.
        #[source]
        source: native::IncludeError,
    },
}

/// Several load errors, shown one per line.
#[derive(Debug)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                // Document errors already carry their cause's text, and a read error
                // names its cause in words (`no such file or directory`) unless it is
                // one without a name.
                let said = match e {
                    LoadError::Document { .. }
                    | LoadError::Conflict { .. }
                    | LoadError::Settings { .. }
                    | LoadError::Include { .. } => true,
                    LoadError::Read { reason, .. } => reason != CANNOT_READ,
                    _ => false,
                };
                if !said {
                    write!(f, ": {s}")?;
                }
                source = s.source();
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

/// One input: a file's name (as given) and its text.
#[derive(Debug)]
pub struct Input {
    /// The path as the user gave it (or found under a directory), or `<stdin>`.
    pub name: Arc<str>,
    /// The whole text.
    pub text: String,
}

/// One document of an input, after `List` expansion.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file it came from.
    pub file: Arc<str>,
    /// The parsed file document (shared by the items of a `List`).
    pub source: Arc<SourceDocument>,
    /// The path of this document inside `source` (`items[3]` for a List item, else empty).
    pub prefix: String,
    /// The document's content.
    pub value: Value,
    /// The files `file:` DAG steps were read from, for positions inside them.
    pub included: Vec<Included>,
}

/// A DAG step inlined from a `file:` node, and the document it was written in.
#[derive(Clone, Debug)]
pub struct Included {
    /// Its index in the Workflow's `dag` after inlining.
    pub step: usize,
    /// The file it was read from (as found).
    pub file: Arc<str>,
    /// That file's document.
    pub source: Arc<SourceDocument>,
    /// Its index in that file's `workflow.dag`.
    pub inner: usize,
}

impl Document {
    /// The position of a field of this document (`spec.stack`), or of its nearest present
    /// ancestor, or the document's start.
    ///
    /// Paths are of the CRD form; for a DataOS-native document they are mapped back to
    /// where the field was written (`spec.stack` → `worker.stack`).
    pub fn position(&self, path: &str) -> Position {
        let candidates = match native::native_type(&self.value) {
            Some(ty) => native::source_paths(ty, path),
            None => vec![path.to_owned()],
        };
        let full = |p: &str| match (self.prefix.is_empty(), p.is_empty()) {
            (true, _) => p.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => {
                let sep = if p.starts_with('[') { "" } else { "." };
                format!("{}{sep}{p}", self.prefix)
            }
        };
        candidates
            .iter()
            .find_map(|c| self.source.exact_position(&full(c)))
            .unwrap_or_else(|| self.source.position(&full(&candidates[0])))
    }

    /// The position of a path of the document as written (a native path such as
    /// `depot.secrets[0]`), or of its nearest present ancestor. A message that starts
    /// with such a path (`worker.flare is …`, `depot.secrets[0] (…)`) is placed at it.
    pub fn written_position(&self, message: &str) -> Position {
        let path = message
            .trim_start_matches('`')
            .split([' ', ':', '`'])
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', ',']);
        let full = match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{path}", self.prefix),
        };
        self.source.position(&full)
    }

    /// Where the document starts.
    pub fn start(&self) -> Position {
        self.position("")
    }

    /// The file and position of a field: inside the file a `file:` step was read from
    /// when the field is of such a step (`spec.dag[2].stack`), else as [`Self::position`].
    pub fn locate(&self, path: &str) -> (Arc<str>, Position) {
        let step = path
            .strip_prefix("spec.dag[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, rest)| Some((i.parse::<usize>().ok()?, rest)));
        if let Some((i, rest)) = step
            && let Some(inc) = self.included.iter().find(|inc| inc.step == i)
        {
            let inner = format!("spec.dag[{}]{rest}", inc.inner);
            let position = native::source_paths("workflow", &inner)
                .iter()
                .find_map(|c| inc.source.exact_position(c))
                .unwrap_or_else(|| inc.source.position(&format!("workflow.dag[{}]", inc.inner)));
            return (Arc::clone(&inc.file), position);
        }
        (Arc::clone(&self.file), self.position(path))
    }
}

/// A read error's reason when the I/O error has no name of ours: its cause follows.
const CANNOT_READ: &str = "cannot read";

/// The error of reading `path`.
pub fn read_error(path: &Path, source: std::io::Error) -> LoadError {
    LoadError::Read {
        path: path.to_owned(),
        reason: match source.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".into(),
            std::io::ErrorKind::PermissionDenied => "permission denied".into(),
            std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
            _ => CANNOT_READ.into(),
        },
        source,
    }
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// Reads the given paths: files, directories (recursively) and `-` for stdin.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, LoadError> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| read_error(Path::new(STDIN_NAME), e))?;
            inputs.push(Input {
                name: STDIN_NAME.into(),
                text,
            });
            continue;
        }
        for file in manifests_under(path)? {
            inputs.push(read_file(&file)?);
        }
    }
    Ok(inputs)
}

/// [`read_inputs`] that goes on past a path or file it cannot read: the inputs it
/// could read, and the errors of those it could not (each a problem of its own, so one
/// broken file does not hide the verdict on the others).
pub fn read_inputs_lenient(paths: &[PathBuf]) -> (Vec<Input>, Vec<LoadError>) {
    let (mut inputs, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        if path.as_os_str() == "-" {
            match read_inputs(std::slice::from_ref(path)) {
                Ok(i) => inputs.extend(i),
                Err(e) => errors.push(e),
            }
            continue;
        }
        match manifests_under(path) {
            Ok(files) => {
                for file in files {
                    match read_file(&file) {
                        Ok(i) => inputs.push(i),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (inputs, errors)
}

/// The manifests a path names: itself if a file, else the `.yaml`, `.yml` and
/// `.json` files under it (recursively, links followed, hidden files and `stackhook
/// test` suites left out), in file-name order.
pub fn manifests_under(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| read_error(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|source| LoadError::Walk {
            path: path.to_owned(),
            source,
        })?;
        let hidden = entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.');
        // A `stackhook test` suite beside a Stack is not a manifest of the catalog.
        let suite = is_suite_file(entry.path());
        if entry.file_type().is_file() && is_manifest(entry.path()) && !hidden && !suite {
            out.push(entry.path().to_owned());
        }
    }
    Ok(out)
}

/// The file name of a `stackhook test` suite (also as the end of one:
/// `benthos.stackhook-test.yaml`). Folder walks of manifests leave suites out.
pub const SUITE_FILE_NAME: &str = "stackhook-test.yaml";

/// Whether a file is a `stackhook test` suite, by its name.
pub fn is_suite_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == SUITE_FILE_NAME || n.ends_with(&format!(".{SUITE_FILE_NAME}")))
}

/// Reads one file.
pub fn read_file(path: &Path) -> Result<Input, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| read_error(path, e))?;
    Ok(Input {
        name: path.display().to_string().into(),
        text,
    })
}

/// Splits an input into documents, expanding Kubernetes `List`s: [`each_document`],
/// collected (the first error ends it).
pub fn documents(input: &Input) -> Result<Vec<Document>, LoadError> {
    let mut out = Vec::new();
    let mut first = None;
    each_document(input, &mut |doc| match doc {
        Ok(d) => out.push(d),
        Err(e) => {
            first.get_or_insert(e);
        }
    });
    match first {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Hands each document of an input to `each` as soon as it is read, the items of a
/// Kubernetes `List` one by one, so that what is held at a time is one document
/// whatever the file's layout (a file of 10,000 Workers, or `kubectl get -o yaml`).
/// A document whose `file:` steps cannot be inlined is handed over as its error, and
/// the next ones follow; a syntax error ends the input (documents before it were
/// handed over).
pub fn each_document(input: &Input, each: &mut dyn FnMut(Result<Document, LoadError>)) {
    let read = goyaml::read_documents(
        &input.text,
        &goyaml::Limits::default(),
        goyaml::Lists::Items,
        &mut |piece| {
            let goyaml::Piece { mut document, item } = piece;
            // The document's positions stay with it; its value is moved, not copied.
            let value = std::mem::take(&mut document.value);
            let source = Arc::new(document);
            let Some(i) = item else {
                let mut document = Document {
                    file: Arc::clone(&input.name),
                    source,
                    prefix: String::new(),
                    value,
                    included: Vec::new(),
                };
                each(inline_dag_files(&mut document, input).map(|()| document));
                return;
            };
            // Nested lists are rare; items of a nested list point at the outer item.
            for value in model::expand_lists(value) {
                each(Ok(Document {
                    file: Arc::clone(&input.name),
                    source: Arc::clone(&source),
                    prefix: format!("items[{i}]"),
                    value,
                    included: Vec::new(),
                }));
            }
        },
    );
    if let Err(e) = read {
        each(Err(LoadError::Syntax {
            file: Arc::clone(&input.name),
            position: e.position,
            message: e.message,
        }));
    }
}

/// Inlines the `file:` steps of a DataOS Workflow, as dataos-ctl does: a relative
/// path is read beside the manifest, or else from the working directory (where
/// dataos-ctl runs, which is how the DataOS docs write them).
fn inline_dag_files(doc: &mut Document, input: &Input) -> Result<(), LoadError> {
    let base = Path::new(&*input.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut read_files: Vec<(String, Arc<str>, Arc<SourceDocument>)> = Vec::new();
    let mut read = |path: &str| -> Result<Value, String> {
        let given = Path::new(path);
        let candidates = if given.is_absolute() {
            vec![given.to_path_buf()]
        } else {
            vec![base.join(given), given.to_path_buf()]
        };
        let Some(found) = candidates.iter().find(|p| p.is_file()) else {
            return Err("no such file".into());
        };
        let text = std::fs::read_to_string(found).map_err(|e| e.to_string())?;
        let docs = goyaml::parse_documents(&text).map_err(|e| e.to_string())?;
        // Keeping the first of several would drop the others without a word.
        if docs.len() > 1 {
            return Err(format!(
                "{} holds {} YAML documents; a step's file must hold one",
                found.display(),
                docs.len()
            ));
        }
        let first = docs
            .into_iter()
            .next()
            .ok_or_else(|| "the file holds no document".to_owned())?;
        let value = first.value.clone();
        let name: Arc<str> = found.to_string_lossy().into();
        read_files.push((path.to_owned(), name, Arc::new(first)));
        Ok(value)
    };
    let inlined = native::inline_dag_files(&mut doc.value, &mut read).map_err(|source| {
        let position = doc.source.position(&source.field);
        LoadError::Include {
            file: Arc::clone(&doc.file),
            position,
            source,
        }
    })?;
    doc.included = inlined
        .into_iter()
        .filter_map(|s| {
            let (_, file, source) = read_files.iter().find(|(p, ..)| *p == s.file)?;
            Some(Included {
                step: s.step,
                file: Arc::clone(file),
                source: Arc::clone(source),
                inner: s.inner,
            })
        })
        .collect();
    Ok(())
}

/// What a document turned out to be, with errors placed at their field.
pub fn parse(doc: &Document) -> Result<Parsed, LoadError> {
    model::parse_document(doc.value.clone()).map_err(|source| LoadError::Document {
        file: Arc::clone(&doc.file),
        position: source
            .field_path()
            .map_or_else(|| doc.start(), |p| doc.position(p)),
        source: Box::new(source),
    })
}

/// What loading a catalog found.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Resources added.
    pub resources: usize,
    /// Documents of kinds stackhook does not handle.
    pub skipped: usize,
}

/// Fills a catalog from files, directories and stdin. Every error is collected, so a
/// user sees all of them at once.
pub fn load_catalog(paths: &[PathBuf]) -> Result<(MemoryCatalog, LoadReport), LoadErrors> {
    let inputs = read_inputs(paths).map_err(|e| LoadErrors(vec![e]))?;
    load_inputs(&inputs)
}

/// Fills a catalog from inputs already read (files, stdin, the embedded examples):
/// the one loader, so every source means the same — `stackhook-config` ConfigMaps
/// included, conflicts reported, each object's content hash recorded.
pub fn load_inputs(inputs: &[Input]) -> Result<(MemoryCatalog, LoadReport), LoadErrors> {
    load_into(MemoryCatalog::new(), inputs)
}

/// [`load_inputs`] into `catalog` (a [`MemoryCatalog::compact`] one, for a server that
/// holds thousands of workloads).
pub fn load_into(
    catalog: MemoryCatalog,
    inputs: &[Input],
) -> Result<(MemoryCatalog, LoadReport), LoadErrors> {
    let (catalog, report, errors) = load_into_lenient(catalog, inputs);
    if errors.is_empty() {
        Ok((catalog, report))
    } else {
        Err(LoadErrors(errors))
    }
}

/// Fills a catalog from files, directories and stdin, going on past what is broken: the
/// catalog of everything that could be read, and every problem (a file that cannot be
/// read or parsed, a document that does not convert, a conflict), each at its place.
pub fn load_catalog_lenient(paths: &[PathBuf]) -> (MemoryCatalog, LoadReport, Vec<LoadError>) {
    let (inputs, mut errors) = read_inputs_lenient(paths);
    let (catalog, report, more) = load_into_lenient(MemoryCatalog::new(), &inputs);
    errors.extend(more);
    (catalog, report, errors)
}

/// [`load_into`] that keeps what it could read beside the problems it found.
pub fn load_into_lenient(
    mut catalog: MemoryCatalog,
    inputs: &[Input],
) -> (MemoryCatalog, LoadReport, Vec<LoadError>) {
    let mut report = LoadReport::default();
    let mut errors = Vec::new();
    // Where each namespace's stackhook-config was read, to name both of two.
    let mut settings_at: BTreeMap<String, (Arc<str>, Position)> = BTreeMap::new();
    for input in inputs {
        // One document at a time: a file's whole parse is never held.
        each_document(input, &mut |doc| match doc {
            Ok(doc) => take(
                &mut catalog,
                &doc,
                &mut settings_at,
                &mut report,
                &mut errors,
            ),
            Err(e) => errors.push(e),
        });
    }
    (catalog, report, errors)
}

/// Adds one document to the catalog: a resource, a namespace's `stackhook-config`, or
/// a document of another kind counted as skipped.
fn take(
    catalog: &mut MemoryCatalog,
    doc: &Document,
    settings_at: &mut BTreeMap<String, (Arc<str>, Position)>,
    report: &mut LoadReport,
    errors: &mut Vec<LoadError>,
) {
    match parse(doc) {
        Ok(Parsed::Resource(r)) => add(catalog, doc, *r, report, errors),
        Ok(Parsed::Skipped { .. }) if is_settings(&doc.value) => {
            // Per-namespace settings, as the cluster's stackhook-config gives them.
            match stackhook_core::settings::entries(&doc.value) {
                Ok(entries) => {
                    let namespace = doc
                        .value
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or("default");
                    if let Some((first_file, first_position)) = settings_at.get(namespace) {
                        errors.push(LoadError::DuplicateSettings {
                            file: Arc::clone(&doc.file),
                            position: doc.start(),
                            namespace: namespace.to_owned(),
                            first_file: Arc::clone(first_file),
                            first_position: *first_position,
                        });
                        return;
                    }
                    settings_at.insert(namespace.to_owned(), (Arc::clone(&doc.file), doc.start()));
                    catalog.set_settings(namespace, entries);
                    report.resources += 1;
                }
                Err(source) => errors.push(LoadError::Settings {
                    file: Arc::clone(&doc.file),
                    position: doc.start(),
                    source,
                }),
            }
        }
        Ok(Parsed::Skipped { .. }) => report.skipped += 1,
        Err(e) => errors.push(e),
    }
}

/// Whether a document is a `v1` ConfigMap named `stackhook-config`.
fn is_settings(doc: &Value) -> bool {
    doc.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && doc.get("kind").and_then(Value::as_str) == Some("ConfigMap")
        && doc.pointer("/metadata/name").and_then(Value::as_str)
            == Some(stackhook_core::settings::CONFIG_MAP_NAME)
}

fn add(
    catalog: &mut MemoryCatalog,
    doc: &Document,
    mut resource: Resource,
    report: &mut LoadReport,
    errors: &mut Vec<LoadError>,
) {
    // Files have no uid/generation: hash each object once here, not per request.
    model::record_content_hash(&mut resource);
    match catalog.insert(resource) {
        Ok(()) => report.resources += 1,
        Err(source) => errors.push(LoadError::Conflict {
            file: Arc::clone(&doc.file),
            position: doc.start(),
            source,
        }),
    }
}

/// The example catalog compiled into the binary: what `serve` answers from when no
/// `--catalog` is given.
pub const EMBEDDED: [(&str, &str); 4] = [
    (
        "examples/catalog/stack-benthos.yaml",
        include_str!("../examples/catalog/stack-benthos.yaml"),
    ),
    (
        "examples/catalog/stack-flare.yaml",
        include_str!("../examples/catalog/stack-flare.yaml"),
    ),
    (
        "examples/catalog/depots.yaml",
        include_str!("../examples/catalog/depots.yaml"),
    ),
    (
        "examples/catalog/workloads.yaml",
        include_str!("../examples/catalog/workloads.yaml"),
    ),
];

/// Loads the embedded catalog, with the loader files go through; the release
/// namespace's `stackhook-config` applies as in a cluster.
pub fn embedded(release_namespace: Option<&str>) -> Result<MemoryCatalog, LoadErrors> {
    let inputs: Vec<Input> = EMBEDDED
        .iter()
        .map(|(name, text)| Input {
            name: (*name).into(),
            text: (*text).to_owned(),
        })
        .collect();
    let (mut catalog, _) = load_into(MemoryCatalog::compact(), &inputs)?;
    catalog.set_release_namespace(release_namespace.map(str::to_owned));
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhook_core::catalog::Catalog as _;

    const STACK: &str = "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata: {name: app}\nspec:\n  name: app\n  version: \"1.0\"\n  image: {registry: r.io, repository: team, image: app, tag: \"1\"}\n";

    fn worker(i: usize) -> String {
        format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata: {{name: w{i}, namespace: ns{}}}\nspec:\n  stack: \"app:1.0\"\n  replicas: {i}\n",
            i % 3
        )
    }

    fn input(name: &str, text: String) -> Input {
        Input {
            name: name.into(),
            text,
        }
    }

    /// What a catalog holds, comparable.
    fn contents(c: &MemoryCatalog) -> (String, Vec<String>) {
        let mut workloads: Vec<String> = c.workloads().iter().map(|w| format!("{w:?}")).collect();
        workloads.sort();
        (format!("{:?}", c.counts()), workloads)
    }

    /// `kubectl get workers -A -o yaml`'s layout: `items` before `kind`, each item
    /// indented under `- `.
    fn as_list(docs: &[String]) -> String {
        let mut out = String::from("apiVersion: v1\nitems:\n");
        for d in docs {
            for (j, line) in d.lines().enumerate() {
                out.push_str(if j == 0 { "- " } else { "  " });
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
        out
    }

    #[test]
    fn a_list_and_a_multi_document_file_load_as_split_files_do() {
        let workers: Vec<String> = (0..30).map(worker).collect();
        let mut split = vec![input("stack.yaml", STACK.into())];
        split.extend(
            workers
                .iter()
                .enumerate()
                .map(|(i, w)| input(&format!("w{i}.yaml"), w.clone())),
        );
        let (want, report) = load_inputs(&split).unwrap();
        assert_eq!(report.resources, 31);
        let one_file = input("all.yaml", format!("{STACK}---\n{}", workers.join("---\n")));
        let list = input("list.yaml", as_list(&workers));
        for layout in [
            vec![one_file],
            vec![input("stack.yaml", STACK.into()), list],
        ] {
            let (got, report) = load_inputs(&layout).unwrap();
            assert_eq!(report.resources, 31, "{}", layout[layout.len() - 1].name);
            assert_eq!(
                contents(&got),
                contents(&want),
                "{}",
                layout[layout.len() - 1].name
            );
        }
    }

    #[test]
    fn errors_in_a_list_and_a_multi_document_file_keep_their_positions() {
        let mut workers: Vec<String> = (0..4).map(worker).collect();
        workers[2] = workers[2].replace("replicas: 2", "replicas: many");
        let e = load_inputs(&[input("list.yaml", as_list(&workers))])
            .unwrap_err()
            .to_string();
        // Item 2 is lines 15-20; its replicas are indented under `- `.
        assert!(
            e.starts_with("list.yaml:20:5: Worker ns2/w2: spec.replicas"),
            "{e}"
        );
        assert!(e.contains("replicas"), "{e}");
        let e = load_inputs(&[input("all.yaml", workers.join("---\n"))])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("all.yaml:20:3: Worker ns2/w2: spec.replicas"),
            "{e}"
        );
        // A syntax error after some documents: those before it are read, and it is
        // placed where it is.
        let text = format!("{}---\nkind: List\nitems:\n- a: [1\n", worker(0));
        let (catalog, _, errors) =
            load_into_lenient(MemoryCatalog::new(), &[input("broken.yaml", text)]);
        assert_eq!(catalog.workloads().len(), 1);
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(shown[0].starts_with("broken.yaml:11:"), "{shown:?}");
    }
}
