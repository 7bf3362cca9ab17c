//! The results of `stackhook test` as text (a line a case, the diff under a failure),
//! JSON, or JUnit XML for CI test reports.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::format::Suite;
use super::run::CaseResult;
use crate::cli::unified::indented;
use crate::output::xml_escape;

/// A suite with its cases' results.
pub struct SuiteResult<'a> {
    /// The suite.
    pub suite: &'a Suite,
    /// Its cases' results, in order.
    pub cases: Vec<CaseResult>,
}

fn counts(results: &[SuiteResult<'_>]) -> (usize, usize) {
    let all = results.iter().flat_map(|s| &s.cases);
    let failed = all.clone().filter(|c| !c.passed()).count();
    (all.count() - failed, failed)
}

/// `PASS suite › case` or `FAIL suite › case (file:line:col)` with each failure and its
/// diff, the golden files written, then `N passed, M failed`.
pub fn text(results: &[SuiteResult<'_>]) -> String {
    let mut out = String::new();
    for s in results {
        for c in &s.cases {
            if c.passed() {
                let _ = writeln!(out, "PASS {} › {}", s.suite.name, c.name);
            } else {
                let _ = writeln!(
                    out,
                    "FAIL {} › {} ({}:{})",
                    s.suite.name, c.name, s.suite.file, c.position
                );
            }
            for f in &c.failures {
                let _ = writeln!(out, "  {}: {}", f.what, f.message);
                out.push_str(&indented(&f.diff, "    "));
            }
            for w in &c.written {
                let _ = writeln!(out, "  wrote {}", w.display());
            }
        }
    }
    let (passed, failed) = counts(results);
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    out
}

/// `{"suites": [{file, line, column, name, cases: [{name, line, column, passed, failures, written}]}],
/// "passed", "failed"}`.
pub fn json(results: &[SuiteResult<'_>]) -> Result<String, serde_json::Error> {
    let (passed, failed) = counts(results);
    let suites: Vec<Value> = results
        .iter()
        .map(|s| {
            json!({
                "file": s.suite.file.as_ref(),
                "line": s.suite.position.line,
                "column": s.suite.position.col,
                "name": s.suite.name,
                "cases": s.cases.iter().map(|c| json!({
                    "name": c.name,
                    "line": c.position.line,
                    "column": c.position.col,
                    "passed": c.passed(),
                    "failures": c.failures.iter().map(|f| json!({
                        "what": f.what, "message": f.message, "diff": f.diff,
                    })).collect::<Vec<_>>(),
                    "written": c.written.iter().map(|w| w.display().to_string()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({
        "suites": suites, "passed": passed, "failed": failed,
    }))?;
    text.push('\n');
    Ok(text)
}

/// JUnit XML: a `<testsuite>` per suite, a `<testcase>` per case, a `<failure>` per
/// failed check with its diff as the body.
pub fn junit(results: &[SuiteResult<'_>]) -> String {
    let (passed, failed) = counts(results);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"stackhook test\" tests=\"{}\" failures=\"{failed}\">",
        passed + failed
    );
    for s in results {
        let failures = s.cases.iter().filter(|c| !c.passed()).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml_escape(&s.suite.name),
            xml_escape(&s.suite.file),
            s.cases.len()
        );
        for c in &s.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&s.suite.name),
                xml_escape(&c.name)
            );
            if c.passed() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for f in &c.failures {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}: {}\">{}</failure>",
                    xml_escape(&f.what),
                    xml_escape(&f.message),
                    xml_escape(&f.diff)
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
