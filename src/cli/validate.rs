//! `stackhook validate`: the admission rules, offline, over files — for CI, and for
//! `helm template … | stackhook validate -`.
//!
//! Every Stack, Depot and workload in the inputs is checked against the catalog
//! (`--catalog`) plus the Stacks and Depots of the inputs themselves, with the same
//! core functions the webhook calls. Problems are reported at the line and column of
//! the field they are about.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::engine::CatalogArgs;
use clap::{Args, ValueEnum};
use goyaml::Position;
use serde_json::{Value, json};
use stackhook_core::admit::{Operation, Verdict, Violation};
use stackhook_core::compiled::StackCache;
use stackhook_core::enforce::{AUDIT_PREFIX, WARN_PREFIX};
use stackhook_core::engine::{Engine, EngineSettings};
use stackhook_core::model::{self, Enforcement, Parsed, Resource};

use super::{EXIT_UNUSABLE, stdin_if_empty};
use crate::load::{self, Document, LoadError, LoadErrors};
use crate::output::{self, xml_escape};

/// Exit code when any document is invalid.
const EXIT_INVALID: u8 = 1;

/// How results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `FILE:LINE:COL: KIND NS/NAME: FIELD: message`, then a summary line.
    #[default]
    Text,
    /// One JSON object per document, in a list.
    Json,
    /// JUnit XML, one test case per document.
    Junit,
    /// TAP version 13 (Test Anything Protocol), one test point per document, the
    /// problems in its YAML diagnostic block.
    Tap,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files or directories (searched recursively for *.yaml, *.yml, *.json); `-` reads
    /// stdin. Default: stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Check documents in CRD form against the CRD schema as the API server's strict
    /// field validation does (unknown fields outside `stackSpec`, types, enums,
    /// required fields); `--strict=false` makes those warnings.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    strict: bool,
    /// Also print a summary: documents and files read, and the count of each outcome
    /// per kind (text: after the problems; json: the list becomes
    /// `{"documents": [...], "summary": {...}}`; junit: suite properties; tap: comments).
    #[arg(long)]
    summary: bool,
    /// Kinds to skip, comma-separated or repeated (`--skip Workflow,Depot`): counted as
    /// skipped, not judged. A kind is the document's `kind`, or the CRD kind a
    /// DataOS-native document converts to (`Worker`).
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    skip: Vec<String>,
    /// Kinds to reject, comma-separated or repeated (`--reject Secret`): any document
    /// of such a kind is invalid, whatever it holds.
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    reject: Vec<String>,
}

/// One validated document.
struct Checked {
    doc: Document,
    kind: String,
    namespace: Option<String>,
    name: String,
    verdict: Verdict,
}

impl Checked {
    fn who(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The file and position of a violation (inside the file of a `file:` DAG step
    /// when it is about one).
    fn locate(&self, v: &Violation) -> (std::sync::Arc<str>, Position) {
        self.doc.locate(&v.path)
    }
}

/// Namespace and name of a document, in CRD form (a native one is converted first).
fn identity(value: &Value) -> (Option<String>, String) {
    // Only a DataOS-native document needs converting to be read as CRD form.
    let converted = model::native::native_type(value)
        .and_then(|_| model::native::to_crd(value.clone()).map(|c| c.value).ok());
    let meta = converted.as_ref().unwrap_or(value).get("metadata");
    // A native document that does not convert is still named as it was written.
    let native = |k: &str| {
        model::native::dataos_type(value)
            .and_then(|_| value.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let text = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    (
        text("namespace").or_else(|| native("workspace")),
        text("name")
            .or_else(|| native("name"))
            .unwrap_or_else(|| "<unnamed>".into()),
    )
}

impl ValidateArgs {
    pub(crate) fn run(&self) -> anyhow::Result<ExitCode> {
        let Self {
            paths,
            catalog,
            format,
            strict,
            summary,
            skip,
            reject,
        } = self;
        if let Some(kind) = skip.iter().find(|k| reject.contains(k)) {
            eprintln!("--skip and --reject both name kind {kind}: say which one");
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
        // A file that cannot be read or parsed is a problem of its own, reported with
        // the verdicts on everything else (exit 1), not instead of them.
        let (mut catalog, mut unusable) = catalog.load();
        let (inputs, unreadable) = load::read_inputs_lenient(&stdin_if_empty(paths));
        unusable.extend(unreadable);

        let mut parsed: Vec<(Document, Result<Parsed, LoadError>)> = Vec::new();
        for input in &inputs {
            match load::documents(input) {
                Ok(docs) => {
                    for doc in docs {
                        let result = load::parse(&doc);
                        parsed.push((doc, result));
                    }
                }
                Err(e) => unusable.push(e),
            }
        }
        // Nothing at all to judge is not "0 valid": a CI step that fed no manifests (an
        // empty pipe, a folder without YAML) must not pass.
        if parsed.is_empty() && unusable.is_empty() {
            let given = if paths.is_empty() {
                load::STDIN_NAME.to_owned()
            } else {
                paths
                    .iter()
                    .map(|p| {
                        if p.as_os_str() == "-" {
                            load::STDIN_NAME.to_owned()
                        } else {
                            p.display().to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            eprintln!("no input: {given} holds no YAML or JSON document");
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
        // The inputs' Stacks and Depots join the catalog, so a chart can ship its own.
        for (_, result) in &parsed {
            if let Ok(Parsed::Resource(r)) = result
                && matches!(**r, Resource::Stack(_) | Resource::Depot(_))
            {
                // A conflicting Stack is reported by its own verdict.
                let _ = catalog.insert((**r).clone());
            }
        }

        let cache = StackCache::new();
        let options = EngineSettings::default();
        let engine = Engine::new(&catalog, &cache, &options);
        let mut checked = Vec::new();
        let mut skipped = 0usize;
        let mut skip_reasons = Vec::new();
        // Each skipped document's kind and file, for the summary.
        let mut skipped_kinds: Vec<(String, std::sync::Arc<str>)> = Vec::new();
        for (doc, result) in parsed {
            let (namespace, name) = identity(&doc.value);
            let kind = kind_of(&doc.value, &result);
            if skip.contains(&kind) {
                skipped += 1;
                skipped_kinds.push((kind.clone(), std::sync::Arc::clone(&doc.file)));
                skip_reasons.push(Skip {
                    file: doc.file.to_string(),
                    position: doc.start(),
                    name: format!("{kind} {}", model::display_name(&doc.value)),
                    reason: format!("kind {kind} is skipped (--skip)"),
                    shown: false,
                });
                continue;
            }
            if reject.contains(&kind) {
                checked.push(Checked {
                    doc,
                    kind: kind.clone(),
                    namespace,
                    name,
                    verdict: Verdict {
                        violations: vec![Violation {
                            path: String::new(),
                            message: format!("kind {kind} is rejected (--reject)"),
                        }],
                        ..Verdict::default()
                    },
                });
                continue;
            }
            let mismatches = model::strict::check(&doc.value);
            let mut checked_one = |c: Checked| {
                let mut c = c;
                for m in &mismatches {
                    if *strict {
                        c.verdict.violations.push(Violation {
                            path: m.path.clone(),
                            message: m.message.clone(),
                        });
                    } else {
                        c.verdict
                            .warnings
                            .push(format!("{}: {}", m.path, m.message));
                    }
                }
                checked.push(c);
            };
            match result {
                Ok(Parsed::Skipped { what }) => {
                    skipped += 1;
                    skipped_kinds.push((kind, std::sync::Arc::clone(&doc.file)));
                    // A DataOS type stackhook does not handle is said, not silent.
                    if what.starts_with("DataOS ") {
                        skip_reasons.push(Skip {
                            file: doc.file.to_string(),
                            position: doc.start(),
                            name: model::display_name(&doc.value),
                            reason: what.to_string(),
                            shown: true,
                        });
                    }
                }
                Ok(Parsed::Resource(r)) => {
                    let mut verdict = engine.resource(&r, Operation::Create);
                    // Admission is silent on what Audit admits; CI is told (exit 0).
                    if verdict.enforcement == Enforcement::Audit {
                        let audited = verdict.relaxed.iter().map(|v| format!("{AUDIT_PREFIX}{v}"));
                        verdict.warnings.extend(audited);
                    }
                    let namespace = matches!(*r, Resource::Stack(_))
                        .then_some(None)
                        .unwrap_or(namespace);
                    checked_one(Checked {
                        kind: r.kind().to_owned(),
                        doc,
                        namespace,
                        name,
                        verdict,
                    });
                }
                Err(LoadError::Document { source, .. }) => {
                    let violation = match source.field_path() {
                        Some(path) => Violation {
                            path: path.to_owned(),
                            message: field_message(&source),
                        },
                        None => Violation {
                            path: String::new(),
                            message: source.to_string(),
                        },
                    };
                    checked_one(Checked {
                        doc,
                        kind,
                        namespace,
                        name,
                        verdict: Verdict {
                            violations: vec![violation],
                            ..Verdict::default()
                        },
                    });
                }
                Err(e) => unusable.push(e),
            }
        }

        let totals = summary.then(|| Summary::of(&checked, &skipped_kinds));
        let text = match format {
            Format::Text => text_report(&checked, skipped, &skip_reasons, totals.as_ref()),
            Format::Json => json_report(&checked, &skip_reasons, totals.as_ref())?,
            Format::Junit => junit_report(&checked, &skip_reasons, totals.as_ref()),
            Format::Tap => tap_report(&checked, &skip_reasons, totals.as_ref())?,
        };
        output::emit(&text)?;
        if !unusable.is_empty() {
            eprintln!("{}", LoadErrors(unusable));
            return Ok(ExitCode::from(EXIT_INVALID));
        }
        if checked.iter().any(|c| !c.verdict.allowed()) {
            return Ok(ExitCode::from(EXIT_INVALID));
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The kind a document is judged as: the CRD kind of a stackhook resource (a
/// DataOS-native one included), else its `kind`, else `DataOS <type>`, else `document`.
fn kind_of(value: &Value, parsed: &Result<Parsed, LoadError>) -> String {
    if let Ok(Parsed::Resource(r)) = parsed {
        return r.kind().to_owned();
    }
    match (
        value.get("kind").and_then(Value::as_str),
        model::native::dataos_type(value),
    ) {
        (Some(kind), _) => kind.to_owned(),
        (None, Some(ty)) => format!("DataOS {ty}"),
        (None, None) => "document".to_owned(),
    }
}

/// Counts for `--summary`: everything read, and each outcome per kind.
struct Summary {
    documents: usize,
    files: usize,
    valid: usize,
    invalid: usize,
    skipped: usize,
    /// kind → (valid, invalid, skipped).
    kinds: std::collections::BTreeMap<String, [usize; 3]>,
}

impl Summary {
    fn of(checked: &[Checked], skipped_kinds: &[(String, std::sync::Arc<str>)]) -> Self {
        let mut kinds: std::collections::BTreeMap<String, [usize; 3]> = Default::default();
        let mut files = std::collections::BTreeSet::new();
        for c in checked {
            files.insert(c.doc.file.as_ref());
            let slot = if c.verdict.allowed() { 0 } else { 1 };
            kinds.entry(c.kind.clone()).or_default()[slot] += 1;
        }
        // A file that holds only skipped documents was read too.
        for (k, file) in skipped_kinds {
            files.insert(file.as_ref());
            kinds.entry(k.clone()).or_default()[2] += 1;
        }
        let invalid = checked.iter().filter(|c| !c.verdict.allowed()).count();
        Self {
            documents: checked.len() + skipped_kinds.len(),
            files: files.len(),
            valid: checked.len() - invalid,
            invalid,
            skipped: skipped_kinds.len(),
            kinds,
        }
    }

    /// `Summary: 21 documents in 4 files: …`, then one line per kind.
    fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "Summary: {} documents in {} files: {} valid, {} invalid, {} skipped",
            self.documents, self.files, self.valid, self.invalid, self.skipped
        )];
        for (kind, [valid, invalid, skipped]) in &self.kinds {
            out.push(format!(
                "  {kind}: {valid} valid, {invalid} invalid, {skipped} skipped"
            ));
        }
        out
    }

    fn json(&self) -> Value {
        json!({
            "documents": self.documents,
            "files": self.files,
            "valid": self.valid,
            "invalid": self.invalid,
            "skipped": self.skipped,
            "kinds": self.kinds.iter().map(|(k, [v, i, s])| {
                (k.clone(), json!({"valid": v, "invalid": i, "skipped": s}))
            }).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// The message of a field error without the `Kind name: path:` prefix it carries.
fn field_message(e: &model::DocumentError) -> String {
    match e {
        model::DocumentError::Field { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// A document of a DataOS type stackhook does not handle: skipped, with the reason,
/// in every output format.
struct Skip {
    file: String,
    position: Position,
    /// What the document is (`DataOS bundle public/x`).
    name: String,
    /// Why it is skipped.
    reason: String,
    /// Whether the text report prints it (a DataOS type stackhook does not handle),
    /// or only counts it (a kind the user skipped).
    shown: bool,
}

/// One line of the text report, with where it sorts: by file, then line and column.
struct Line {
    file: String,
    position: Position,
    text: String,
}

fn text_report(
    checked: &[Checked],
    skipped: usize,
    skip_reasons: &[Skip],
    summary: Option<&Summary>,
) -> String {
    let mut lines = Vec::new();
    for s in skip_reasons.iter().filter(|s| s.shown) {
        lines.push(Line {
            file: s.file.clone(),
            position: s.position,
            text: format!("skipped: {} {}", s.name, s.reason),
        });
    }
    for c in checked {
        for v in &c.verdict.violations {
            let (file, position) = c.locate(v);
            lines.push(Line {
                file: file.to_string(),
                position,
                text: format!("{}: {v}", c.who()),
            });
        }
        let mut said = std::collections::BTreeSet::new();
        for w in &c.verdict.warnings {
            // Once each, at the field it names (`spec.stack: …`), else the document.
            if !said.insert(w.as_str()) {
                continue;
            }
            let field = w
                .strip_prefix(WARN_PREFIX)
                .or_else(|| w.strip_prefix(AUDIT_PREFIX))
                .unwrap_or(w);
            let path = field.split([':', ' ']).next().unwrap_or_default();
            let (file, position) = if path.starts_with("spec") || path.starts_with("metadata") {
                c.doc.locate(path)
            } else {
                (std::sync::Arc::clone(&c.doc.file), c.doc.start())
            };
            lines.push(Line {
                file: file.to_string(),
                position,
                text: format!("warning: {}: {w}", c.who()),
            });
        }
    }
    // A stable sort: lines at one place keep the order the rules gave them.
    lines.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
    let mut out = String::new();
    for l in &lines {
        let _ = writeln!(out, "{}:{}: {}", l.file, l.position, l.text);
    }
    let invalid = checked.iter().filter(|c| !c.verdict.allowed()).count();
    let _ = writeln!(
        out,
        "{} valid, {invalid} invalid, {skipped} skipped",
        checked.len() - invalid
    );
    for line in summary.map(Summary::lines).unwrap_or_default() {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A violation's place and text, in the order of their places.
fn sorted_violations(c: &Checked) -> Vec<(std::sync::Arc<str>, Position, &Violation)> {
    let mut list: Vec<_> = c
        .verdict
        .violations
        .iter()
        .map(|v| {
            let (file, pos) = c.locate(v);
            (file, pos, v)
        })
        .collect();
    list.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    list
}

/// The TAP diagnostic block of a document: its problems and warnings as YAML.
#[derive(serde::Serialize)]
struct TapDiagnostic {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

fn tap_report(
    checked: &[Checked],
    skip_reasons: &[Skip],
    summary: Option<&Summary>,
) -> anyhow::Result<String> {
    let mut out = String::from("TAP version 13\n");
    let _ = writeln!(out, "1..{}", checked.len() + skip_reasons.len());
    let mut n = 0usize;
    for c in checked {
        n += 1;
        let start = c.doc.start();
        let status = if c.verdict.allowed() { "ok" } else { "not ok" };
        let _ = writeln!(
            out,
            "{status} {n} - {}:{start}: {}",
            tap_text(&c.doc.file),
            tap_text(&c.who())
        );
        let diagnostic = TapDiagnostic {
            problems: sorted_violations(c)
                .into_iter()
                .map(|(file, pos, v)| format!("{file}:{pos}: {v}"))
                .collect(),
            warnings: c.verdict.warnings.clone(),
        };
        if !diagnostic.problems.is_empty() || !diagnostic.warnings.is_empty() {
            out.push_str("  ---\n");
            for line in output::to_yaml(&diagnostic)?.lines() {
                let _ = writeln!(out, "  {line}");
            }
            out.push_str("  ...\n");
        }
    }
    for s in skip_reasons {
        n += 1;
        let _ = writeln!(
            out,
            "ok {n} - {}:{}: {} # SKIP {}",
            tap_text(&s.file),
            s.position,
            tap_text(&s.name),
            tap_text(&s.reason)
        );
    }
    for line in summary.map(Summary::lines).unwrap_or_default() {
        let _ = writeln!(out, "# {line}");
    }
    Ok(out)
}

/// A description on a TAP line: `#` starts a directive there, so it is escaped.
fn tap_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('#', "\\#")
}

fn json_report(
    checked: &[Checked],
    skip_reasons: &[Skip],
    summary: Option<&Summary>,
) -> anyhow::Result<String> {
    let skipped = skip_reasons.iter().map(|s| {
        json!({
            "file": s.file,
            "line": s.position.line,
            "column": s.position.col,
            "name": s.name,
            "skipped": s.reason,
        })
    });
    let list: Vec<Value> = checked
        .iter()
        .map(|c| {
            let start = c.doc.start();
            json!({
                "file": c.doc.file.as_ref(),
                "line": start.line,
                "column": start.col,
                "kind": c.kind,
                "namespace": c.namespace,
                "name": c.name,
                "allowed": c.verdict.allowed(),
                "violations": sorted_violations(c).into_iter().map(|(file, pos, v)| {
                    json!({"path": v.path, "message": v.message, "file": file.as_ref(), "line": pos.line, "column": pos.col})
                }).collect::<Vec<_>>(),
                "warnings": c.verdict.warnings,
            })
        })
        .chain(skipped)
        .collect();
    let report = match summary {
        Some(summary) => json!({"documents": list, "summary": summary.json()}),
        None => Value::Array(list),
    };
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    Ok(text)
}

fn junit_report(checked: &[Checked], skip_reasons: &[Skip], summary: Option<&Summary>) -> String {
    let failures = checked.iter().filter(|c| !c.verdict.allowed()).count();
    let tests = checked.len() + skip_reasons.len();
    let skipped = skip_reasons.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"stackhook validate\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"stackhook validate\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">"
    );
    if let Some(summary) = summary {
        out.push_str("    <properties>\n");
        let _ = writeln!(
            out,
            "      <property name=\"files\" value=\"{}\"/>",
            summary.files
        );
        for (kind, [valid, invalid, skipped]) in &summary.kinds {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{valid} valid, {invalid} invalid, {skipped} skipped\"/>",
                xml_escape(kind)
            );
        }
        out.push_str("    </properties>\n");
    }
    for s in skip_reasons {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
            xml_escape(&s.file),
            xml_escape(&s.name),
            xml_escape(&s.reason)
        );
    }
    for c in checked {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml_escape(&c.doc.file),
            xml_escape(&c.who())
        );
        if c.verdict.allowed() && c.verdict.warnings.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        if !c.verdict.allowed() {
            let body: Vec<String> = sorted_violations(c)
                .into_iter()
                .map(|(file, pos, v)| format!("{file}:{pos}: {v}"))
                .collect();
            let _ = writeln!(
                out,
                "      <failure message=\"{} problem(s)\">{}</failure>",
                c.verdict.violations.len(),
                xml_escape(&body.join("\n"))
            );
        }
        if !c.verdict.warnings.is_empty() {
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml_escape(&c.verdict.warnings.join("\n"))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
