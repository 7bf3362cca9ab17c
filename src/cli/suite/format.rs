//! The test-suite file: `stackhook-test.yaml` (or `NAME.stackhook-test.yaml`) next to a
//! Stack, one suite per YAML document, read into [`Suite`]s with every file it names
//! read and every workload parsed, so that a bad suite is reported before anything runs.
//!
//! ```yaml
//! apiVersion: cli.stackhook.io/v1alpha1
//! kind: StackTest
//! metadata: {name: benthos}
//! catalog: [stack-benthos.yaml, depots.yaml]   # files or folders, beside this file
//! cases:
//!   - name: orders-stream renders its config
//!     workload: {file: workloads.yaml, kind: Worker, name: orders-stream}
//!     expect:
//!       verdict: allowed
//!       objects: golden/orders-stream.objects.golden
//!       files: {jobconfig.yaml: golden/orders-stream.jobconfig.golden}
//!       podPatch: golden/orders-stream.patch.golden
//!   - name: a Worker without input is denied
//!     workload: {apiVersion: stackhook.io/v1alpha1, kind: Worker, …}   # inline
//!     expect:
//!       verdict: denied
//!       causes: [{field: spec.stackSpec, message: '"input" is a required property'}]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use goyaml::{Position, SourceDocument};
use serde::Deserialize;
use serde_json::Value;
use stackhook_core::catalog::MemoryCatalog;
use stackhook_core::model::{self, Parsed, Resource, Workload};

use crate::load::{self, LoadError, LoadErrors};

/// The `apiVersion` of a suite.
pub const API_VERSION: &str = "cli.stackhook.io/v1alpha1";
/// The `kind` of a suite.
pub const KIND: &str = "StackTest";
use crate::load::{SUITE_FILE_NAME as FILE_NAME, is_suite_file};

/// Why a suite cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A file the suite is or names cannot be read or parsed (its own message says
    /// which and where).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The suite's catalog has problems.
    #[error("{file}: the catalog of suite {suite:?}:\n{errors}")]
    Catalog {
        /// The suite file.
        file: Arc<str>,
        /// The suite.
        suite: String,
        /// The catalog's problems, each at its place.
        errors: LoadErrors,
    },
    /// A field of the suite is wrong.
    #[error("{file}:{position}: {path}: {message}")]
    Field {
        /// The suite file.
        file: Arc<str>,
        /// Where the field is (or its nearest ancestor).
        position: Position,
        /// The field path inside the suite (`cases[1].expect.verdict`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A path given on the command line holds no suite.
    #[error("{path}: no test suite (files named {FILE_NAME} or *.{FILE_NAME})", path = .path.display())]
    NoSuites {
        /// The path.
        path: PathBuf,
    },
}

/// A suite ready to run.
#[derive(Debug)]
pub struct Suite {
    /// The suite file, as found.
    pub file: Arc<str>,
    /// Where the suite's document starts.
    pub position: Position,
    /// `metadata.name`.
    pub name: String,
    /// The Stacks, Depots, workloads and `stackhook-config`s the cases run against.
    pub catalog: MemoryCatalog,
    /// The cases, in order.
    pub cases: Vec<Case>,
}

/// One case: a workload and what stackhook must make of it.
#[derive(Debug)]
pub struct Case {
    /// Its name.
    pub name: String,
    /// Where it is written.
    pub position: Position,
    /// The workload, as the catalog holds it.
    pub workload: Workload,
    /// The workload's document as written (CRD form), for the API server's strict
    /// field checks.
    pub document: Value,
    /// The Pod to mutate (from `pod:`); else one of the workload's rendered objects'.
    pub pod: Option<Value>,
    /// What is expected.
    pub expect: Expect,
}

/// What a case expects.
#[derive(Debug)]
pub struct Expect {
    /// Allowed (true) or denied.
    pub allowed: bool,
    /// The causes of a denial: each matches one violation, and every violation one.
    pub causes: Vec<ExpectedCause>,
    /// Substrings of the warnings: each matches one warning, and every warning one.
    pub warnings: Vec<String>,
    /// The golden file of every rendered object (a YAML stream).
    pub objects: Option<Golden>,
    /// Golden files of single rendered files, by file name.
    pub files: Vec<(String, Golden)>,
    /// The golden file of the Pod's JSON patch.
    pub pod_patch: Option<Golden>,
}

/// A denial's cause a case expects.
#[derive(Clone, Debug)]
pub struct ExpectedCause {
    /// The field path, exactly (`spec.stackSpec.inputs[0]`; empty for the object).
    pub field: String,
    /// A part of the message.
    pub message: String,
}

/// A golden file: where it is read from and written to, and how it is shown.
#[derive(Clone, Debug)]
pub struct Golden {
    /// The path (the suite's folder joined with what the suite says).
    pub path: PathBuf,
}

impl fmt::Display for Golden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SuiteDoc {
    api_version: String,
    kind: String,
    metadata: MetaDoc,
    #[serde(default)]
    catalog: Vec<String>,
    cases: Vec<CaseDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaDoc {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDoc {
    name: String,
    workload: Value,
    #[serde(default)]
    pod: Option<Value>,
    expect: ExpectDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExpectDoc {
    verdict: VerdictWord,
    #[serde(default)]
    causes: Vec<CauseDoc>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    objects: Option<String>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    pod_patch: Option<String>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum VerdictWord {
    Allowed,
    Denied,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CauseDoc {
    field: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectorDoc {
    file: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The suite files a path names: itself when a file, else the suite files under it
/// (recursively, in name order; hidden folders and cache folders tagged with
/// `CACHEDIR.TAG`, as cargo's `target/` is, left out).
pub fn suite_files(path: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let meta = std::fs::metadata(path).map_err(|e| load::read_error(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        // Hidden folders (`.git`) and build caches (`target/`) hold no suites worth
        // running, and walking a cache can take long.
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_name().to_string_lossy().starts_with('.')
                    || (e.file_type().is_dir() && e.path().join("CACHEDIR.TAG").exists()))
        });
    for entry in walk {
        let entry = entry.map_err(|source| LoadError::Walk {
            path: path.to_owned(),
            source,
        })?;
        if entry.file_type().is_file() && is_suite_file(entry.path()) {
            out.push(entry.path().to_owned());
        }
    }
    if out.is_empty() {
        return Err(SuiteError::NoSuites {
            path: path.to_owned(),
        });
    }
    Ok(out)
}

/// Reads the suites of one file.
pub fn read_suites(path: &Path) -> Result<Vec<Suite>, SuiteError> {
    let input = load::read_file(path)?;
    let docs = goyaml::parse_documents(&input.text).map_err(|e| LoadError::Syntax {
        file: Arc::clone(&input.name),
        position: e.position,
        message: e.message,
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let reader = Reader {
        file: Arc::clone(&input.name),
        base,
    };
    docs.iter().map(|doc| reader.suite(doc)).collect()
}

/// Reads one suite file's documents, with paths relative to its folder.
struct Reader {
    file: Arc<str>,
    base: PathBuf,
}

impl Reader {
    fn field(&self, doc: &SourceDocument, path: &str, message: impl Into<String>) -> SuiteError {
        SuiteError::Field {
            file: Arc::clone(&self.file),
            position: doc.position(path),
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn suite(&self, doc: &SourceDocument) -> Result<Suite, SuiteError> {
        let parsed: SuiteDoc =
            serde_path_to_error::deserialize(doc.value.clone()).map_err(|e| {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                self.field(doc, &path, e.into_inner().to_string())
            })?;
        if parsed.api_version != API_VERSION {
            return Err(self.field(
                doc,
                "apiVersion",
                format!("{:?} is not {API_VERSION:?}", parsed.api_version),
            ));
        }
        if parsed.kind != KIND {
            return Err(self.field(doc, "kind", format!("{:?} is not {KIND:?}", parsed.kind)));
        }
        if parsed.cases.is_empty() {
            return Err(self.field(doc, "cases", "a suite needs at least one case"));
        }
        let catalog_paths: Vec<PathBuf> =
            parsed.catalog.iter().map(|p| self.base.join(p)).collect();
        let catalog = if catalog_paths.is_empty() {
            MemoryCatalog::new()
        } else {
            let (catalog, _, problems) = load::load_catalog_lenient(&catalog_paths);
            if !problems.is_empty() {
                return Err(SuiteError::Catalog {
                    file: Arc::clone(&self.file),
                    suite: parsed.metadata.name,
                    errors: LoadErrors(problems),
                });
            }
            catalog
        };
        let mut cases = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (i, case) in parsed.cases.into_iter().enumerate() {
            let at = format!("cases[{i}]");
            if !names.insert(case.name.clone()) {
                return Err(self.field(
                    doc,
                    &format!("{at}.name"),
                    format!("a second case named {:?}", case.name),
                ));
            }
            cases.push(self.case(doc, &at, case)?);
        }
        Ok(Suite {
            file: Arc::clone(&self.file),
            position: doc.position(""),
            name: parsed.metadata.name,
            catalog,
            cases,
        })
    }

    fn case(&self, doc: &SourceDocument, at: &str, case: CaseDoc) -> Result<Case, SuiteError> {
        let (workload, document) = self.workload(doc, &format!("{at}.workload"), &case.workload)?;
        let pod = match &case.pod {
            None => None,
            Some(v) => Some(self.pod(doc, &format!("{at}.pod"), v, workload.namespace())?),
        };
        let e = case.expect;
        let allowed = e.verdict == VerdictWord::Allowed;
        if !allowed && e.causes.is_empty() {
            return Err(self.field(
                doc,
                &format!("{at}.expect.causes"),
                "a denied case lists the causes it is denied for",
            ));
        }
        if allowed && !e.causes.is_empty() {
            return Err(self.field(
                doc,
                &format!("{at}.expect.causes"),
                "an allowed case has no causes",
            ));
        }
        if !allowed && (e.objects.is_some() || !e.files.is_empty() || e.pod_patch.is_some()) {
            return Err(self.field(
                doc,
                &format!("{at}.expect"),
                "objects, files and podPatch are only made for an allowed workload",
            ));
        }
        let golden = |p: &String| Golden {
            path: self.base.join(p),
        };
        Ok(Case {
            name: case.name,
            position: doc.position(at),
            workload,
            document,
            pod,
            expect: Expect {
                allowed,
                causes: e
                    .causes
                    .into_iter()
                    .map(|c| ExpectedCause {
                        field: c.field,
                        message: c.message,
                    })
                    .collect(),
                warnings: e.warnings,
                objects: e.objects.as_ref().map(golden),
                files: e
                    .files
                    .iter()
                    .map(|(k, v)| (k.clone(), golden(v)))
                    .collect(),
                pod_patch: e.pod_patch.as_ref().map(golden),
            },
        })
    }

    /// The workload a case names: a file holding one, `{file, kind, namespace, name}`
    /// choosing one of a file's, or the document inline.
    fn workload(
        &self,
        doc: &SourceDocument,
        at: &str,
        value: &Value,
    ) -> Result<(Workload, Value), SuiteError> {
        let selector = match value {
            Value::String(file) => SelectorDoc {
                file: file.clone(),
                kind: None,
                namespace: None,
                name: None,
            },
            Value::Object(map) if map.contains_key("file") => {
                serde_path_to_error::deserialize(value.clone()).map_err(|e| {
                    let inner = e.path().to_string();
                    let path = if inner == "." {
                        at.to_owned()
                    } else {
                        format!("{at}.{inner}")
                    };
                    self.field(doc, &path, e.into_inner().to_string())
                })?
            }
            Value::Object(_) => {
                let parsed = model::parse_document(value.clone()).map_err(|e| {
                    let path = match e.field_path() {
                        Some(p) => format!("{at}.{p}"),
                        None => at.to_owned(),
                    };
                    self.field(doc, &path, e.to_string())
                })?;
                let not_a_workload = || self.field(doc, at, "not a Worker, Service or Workflow");
                let Parsed::Resource(mut r) = parsed else {
                    return Err(not_a_workload());
                };
                model::record_content_hash(&mut r);
                return match *r {
                    Resource::Workload(w) => Ok((w, crd_form(value))),
                    _ => Err(not_a_workload()),
                };
            }
            _ => {
                return Err(self.field(
                    doc,
                    at,
                    "give a file, {file, kind, namespace, name}, or the workload inline",
                ));
            }
        };
        let path = self.base.join(&selector.file);
        let named = |e: LoadError| self.field(doc, at, LoadErrors(vec![e]).to_string());
        let input = load::read_file(&path).map_err(named)?;
        let mut found = Vec::new();
        for d in load::documents(&input).map_err(named)? {
            if let Parsed::Resource(mut r) = load::parse(&d).map_err(named)?
                && let Resource::Workload(w) = &*r
                && selector
                    .kind
                    .as_deref()
                    .is_none_or(|k| k == w.kind().to_string())
                && selector
                    .namespace
                    .as_deref()
                    .is_none_or(|n| n == w.namespace())
                && selector.name.as_deref().is_none_or(|n| n == w.name())
            {
                model::record_content_hash(&mut r);
                if let Resource::Workload(w) = *r {
                    found.push((w, crd_form(&d.value)));
                }
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(self.field(
                doc,
                at,
                format!("{} holds no such workload", path.display()),
            )),
            n => Err(self.field(
                doc,
                at,
                format!(
                    "{} holds {n} such workloads ({}); choose one with kind, namespace and name",
                    path.display(),
                    found
                        .iter()
                        .map(|(w, _)| format!("{} {}/{}", w.kind(), w.namespace(), w.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The Pod a case mutates: a file holding one object, or the object inline; a
    /// Deployment, Job, … stands for the Pod of its template.
    fn pod(
        &self,
        doc: &SourceDocument,
        at: &str,
        value: &Value,
        namespace: &str,
    ) -> Result<Value, SuiteError> {
        let object = match value {
            Value::String(file) => {
                let named = |e: LoadError| self.field(doc, at, LoadErrors(vec![e]).to_string());
                let input = load::read_file(&self.base.join(file)).map_err(named)?;
                let docs = load::documents(&input).map_err(named)?;
                let [one] = docs.as_slice() else {
                    return Err(self.field(
                        doc,
                        at,
                        format!("{file} holds {} documents; give one Pod", docs.len()),
                    ));
                };
                one.value.clone()
            }
            Value::Object(_) => value.clone(),
            _ => return Err(self.field(doc, at, "give a file or the Pod inline")),
        };
        super::super::mutate::pod_of(&object, namespace).map_err(|e| self.field(doc, at, e))
    }
}

/// A workload's document in CRD form (a DataOS-native one converted), for the strict
/// field checks; a document that does not convert as written.
fn crd_form(value: &Value) -> Value {
    model::native::native_type(value)
        .and_then(|_| model::native::to_crd(value.clone()).ok().map(|c| c.value))
        .unwrap_or_else(|| value.clone())
}
