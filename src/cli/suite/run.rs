//! Running a case: its workload through admission, the controller's render and the
//! webhook's Pod mutation ([`crate::cli::outcome`]), each result held against what the
//! case expects. A difference is a [`Failure`] with a unified diff; with `update`,
//! golden files are written instead of compared.

use std::fmt::Write as _;
use std::path::PathBuf;

use stackhook_core::admit::{Verdict, Violation};
use stackhook_core::compiled::StackCache;
use stackhook_core::model::{self, Resource};

use super::format::{Case, ExpectedCause, Golden, Suite};
use crate::cli::engine::Loaded;
use crate::cli::outcome::{self, Outcome};
use crate::cli::unified::unified;
use crate::output;

/// A difference between what a case expects and what stackhook made.
#[derive(Clone, Debug)]
pub struct Failure {
    /// What was checked: `verdict`, `objects`, `files[NAME]`, `podPatch`.
    pub what: String,
    /// What went wrong, in a line.
    pub message: String,
    /// The unified diff, expected → actual (empty when there is nothing to diff).
    pub diff: String,
}

/// The result of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Where the case is written.
    pub position: goyaml::Position,
    /// Its failures (none: it passed).
    pub failures: Vec<Failure>,
    /// The golden files written (`--update`).
    pub written: Vec<PathBuf>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every case of a suite.
pub fn run_suite(suite: &Suite, update: bool) -> Vec<CaseResult> {
    suite
        .cases
        .iter()
        .map(|c| run_case(suite, c, update))
        .collect()
}

fn run_case(suite: &Suite, case: &Case, update: bool) -> CaseResult {
    let mut result = CaseResult {
        name: case.name.clone(),
        position: case.position,
        failures: Vec::new(),
        written: Vec::new(),
    };
    // The workload joins the catalog, as the webhook's catalog holds it when its
    // Pods are created.
    let mut catalog = suite.catalog.clone();
    if let Err(e) = catalog.insert(Resource::Workload(case.workload.clone())) {
        result.failures.push(Failure {
            what: "workload".into(),
            message: e.to_string(),
            diff: String::new(),
        });
        return result;
    }
    let engine = Loaded {
        catalog,
        cache: StackCache::new(),
        settings: Default::default(),
        inject: Default::default(),
        catalog_problems: 0,
        no_catalog: false,
    };
    let admission = engine.engine();
    let mut made = outcome::outcome(&admission, &case.workload, &outcome::render_defaults());
    // The API server's strict field validation refuses what the CRD schema does not
    // allow before the webhook is asked, as `stackhook validate` reports it.
    for m in model::strict::check(&case.document) {
        made.verdict.violations.push(Violation {
            path: m.path,
            message: m.message,
        });
    }
    if let Some(f) = check_verdict(&made.verdict, case) {
        result.failures.push(f);
    }
    if case.expect.allowed {
        check_made(&engine, &made, case, update, &mut result);
    }
    result
}

/// The verdict as lines (`verdict:`, `cause:`, `warning:`), expected and actual: a
/// cause or warning the case names and the verdict has is shown alike on both sides,
/// so the diff shows only what differs. `None` when they agree.
fn check_verdict(verdict: &Verdict, case: &Case) -> Option<Failure> {
    let word = |allowed: bool| if allowed { "allowed" } else { "denied" };
    let mut expected = format!("verdict: {}\n", word(case.expect.allowed));
    let mut actual = format!("verdict: {}\n", word(verdict.allowed()));
    let mut ok = case.expect.allowed == verdict.allowed();

    let causes: Vec<String> = verdict.violations.iter().map(cause_line).collect();
    let matched = match_all(&case.expect.causes, &verdict.violations, |e, v| {
        e.field == v.path && v.message.contains(&e.message)
    });
    ok &= side_by_side(
        &matched,
        &causes,
        |i| format!("cause: {}", expected_cause(&case.expect.causes[i])),
        &mut expected,
        &mut actual,
    );

    let warnings: Vec<String> = verdict
        .warnings
        .iter()
        .map(|w| format!("warning: {w}"))
        .collect();
    let matched = match_all(&case.expect.warnings, &verdict.warnings, |e, w| {
        w.contains(e.as_str())
    });
    ok &= side_by_side(
        &matched,
        &warnings,
        |i| format!("warning: …{}…", case.expect.warnings[i]),
        &mut expected,
        &mut actual,
    );
    if ok {
        return None;
    }
    let message = if case.expect.allowed == verdict.allowed() {
        format!(
            "{} as expected, but its causes or warnings differ",
            word(verdict.allowed())
        )
    } else {
        format!(
            "expected {}, got {}",
            word(case.expect.allowed),
            word(verdict.allowed())
        )
    };
    Some(Failure {
        what: "verdict".into(),
        message,
        diff: unified(&expected, &actual, "expected", "actual"),
    })
}

fn cause_line(v: &Violation) -> String {
    if v.path.is_empty() {
        format!("cause: {}", v.message)
    } else {
        format!("cause: {}: {}", v.path, v.message)
    }
}

fn expected_cause(c: &ExpectedCause) -> String {
    let message = if c.message.is_empty() {
        "…".to_owned()
    } else {
        format!("…{}…", c.message)
    };
    if c.field.is_empty() {
        message
    } else {
        format!("{}: {message}", c.field)
    }
}

/// For each actual item, the expectation it matched (each expectation matches at
/// most one item, in order); and the expectations that matched none.
struct Matched {
    of_actual: Vec<Option<usize>>,
    unmatched: Vec<usize>,
}

fn match_all<E, A>(expected: &[E], actual: &[A], matches: impl Fn(&E, &A) -> bool) -> Matched {
    let mut of_actual = vec![None; actual.len()];
    let mut unmatched = Vec::new();
    for (i, e) in expected.iter().enumerate() {
        match (0..actual.len()).find(|&j| of_actual[j].is_none() && matches(e, &actual[j])) {
            Some(j) => of_actual[j] = Some(i),
            None => unmatched.push(i),
        }
    }
    Matched {
        of_actual,
        unmatched,
    }
}

/// Writes matched items alike on both sides, then the actual items nothing expected
/// and the expectations nothing matched; whether all matched.
fn side_by_side(
    matched: &Matched,
    actual_lines: &[String],
    expected_line: impl Fn(usize) -> String,
    expected: &mut String,
    actual: &mut String,
) -> bool {
    for (line, m) in actual_lines.iter().zip(&matched.of_actual) {
        let _ = writeln!(actual, "{line}");
        if m.is_some() {
            let _ = writeln!(expected, "{line}");
        }
    }
    for &i in &matched.unmatched {
        let _ = writeln!(expected, "{}", expected_line(i));
    }
    matched.unmatched.is_empty() && matched.of_actual.iter().all(Option::is_some)
}

/// The rendered objects, files and Pod patch against their golden files.
fn check_made(engine: &Loaded, made: &Outcome, case: &Case, update: bool, result: &mut CaseResult) {
    let wants_objects = case.expect.objects.is_some()
        || !case.expect.files.is_empty()
        || case.expect.pod_patch.is_some();
    if !wants_objects {
        return;
    }
    let objects = match &made.objects {
        Ok(o) => o,
        Err(e) => {
            result.failures.push(Failure {
                what: "objects".into(),
                message: format!("nothing is rendered: {e}"),
                diff: String::new(),
            });
            return;
        }
    };
    if let Some(golden) = &case.expect.objects {
        match output::to_yaml_stream(objects) {
            Ok(text) => compare(golden, &text, "objects", update, result),
            Err(e) => result.failures.push(Failure {
                what: "objects".into(),
                message: e.to_string(),
                diff: String::new(),
            }),
        }
    }
    let files = outcome::rendered_files(objects);
    for (name, golden) in &case.expect.files {
        let what = format!("files[{name}]");
        let found: Vec<_> = files.iter().filter(|(_, n, _)| n == name).collect();
        match found.as_slice() {
            [(_, _, content)] => compare(golden, content, &what, update, result),
            [] => result.failures.push(Failure {
                what,
                message: format!(
                    "no rendered file {name:?}; the ConfigMaps hold: {}",
                    list_or_none(files.iter().map(|(_, n, _)| n.as_str()))
                ),
                diff: String::new(),
            }),
            several => result.failures.push(Failure {
                what,
                message: format!(
                    "{name:?} is rendered into {} ConfigMaps ({}); check them with objects",
                    several.len(),
                    several
                        .iter()
                        .map(|(cm, _, _)| cm.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                diff: String::new(),
            }),
        }
    }
    if let Some(golden) = &case.expect.pod_patch {
        let pod = case
            .pod
            .clone()
            .or_else(|| outcome::pod_of_objects(objects, case.workload.namespace()));
        let Some(pod) = pod else {
            result.failures.push(Failure {
                what: "podPatch".into(),
                message: "the workload renders no object with a Pod template; give the case a pod"
                    .into(),
                diff: String::new(),
            });
            return;
        };
        match outcome::pod_patch(engine, &pod).and_then(|ops| {
            serde_json::to_string_pretty(&ops)
                .map(|t| t + "\n")
                .map_err(|e| e.to_string())
        }) {
            Ok(text) => compare(golden, &text, "podPatch", update, result),
            Err(e) => result.failures.push(Failure {
                what: "podPatch".into(),
                message: e,
                diff: String::new(),
            }),
        }
    }
}

fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// `actual` against a golden file; with `update`, the file is written when it differs
/// (or is missing).
fn compare(golden: &Golden, actual: &str, what: &str, update: bool, result: &mut CaseResult) {
    let kept = std::fs::read_to_string(&golden.path);
    if let Ok(kept) = &kept
        && kept == actual
    {
        return;
    }
    if update {
        let written = golden
            .path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&golden.path, actual));
        match written {
            Ok(()) => result.written.push(golden.path.clone()),
            Err(e) => result.failures.push(Failure {
                what: what.into(),
                message: format!("cannot write {golden}: {e}"),
                diff: String::new(),
            }),
        }
        return;
    }
    match kept {
        Ok(kept) => result.failures.push(Failure {
            what: what.into(),
            message: format!("differs from {golden} (`stackhook test --update` rewrites it)"),
            diff: unified(&kept, actual, &golden.to_string(), "actual"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => result.failures.push(Failure {
            what: what.into(),
            message: format!("no golden file {golden} (`stackhook test --update` writes it)"),
            diff: String::new(),
        }),
        Err(e) => result.failures.push(Failure {
            what: what.into(),
            message: format!("cannot read {golden}: {e}"),
            diff: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_expectation_matches_one_item_and_every_item_must_be_matched() {
        let actual = ["a: x", "a: x", "b: y"];
        let m = match_all(&["x", "x"], &actual, |e, a| a.contains(e));
        assert_eq!(m.of_actual, [Some(0), Some(1), None]);
        assert!(m.unmatched.is_empty());
        let lines: Vec<String> = actual.iter().map(|s| (*s).to_owned()).collect();
        let (mut expected, mut got) = (String::new(), String::new());
        // `b: y` is not expected: not all matched, and it shows on the actual side only.
        assert!(!side_by_side(
            &m,
            &lines,
            |i| format!("…{i}…"),
            &mut expected,
            &mut got
        ));
        assert_eq!(expected, "a: x\na: x\n");
        assert_eq!(got, "a: x\na: x\nb: y\n");
    }

    #[test]
    fn an_expectation_nothing_matches_shows_on_the_expected_side() {
        let m = match_all(&["z"], &["a"], |e, a: &&str| a.contains(e));
        assert_eq!(m.unmatched, [0]);
        let (mut expected, mut got) = (String::new(), String::new());
        assert!(!side_by_side(
            &m,
            &["a".to_owned()],
            |_| "cause: …z…".into(),
            &mut expected,
            &mut got
        ));
        assert_eq!(expected, "cause: …z…\n");
        assert_eq!(got, "a\n");
    }
}
