//! `stackhook diff`'s report: per touched workload, its verdict before → after (the
//! causes of a denial), its Stamp, and a unified diff of its rendered objects; as text
//! or JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::compare::WorkloadDiff;
use crate::cli::outcome::Outcome;
use crate::cli::unified::{indented, unified};
use crate::output;

/// What became of one workload, worked out once for both formats.
struct Seen<'a> {
    diff: &'a WorkloadDiff,
    /// `allowed → denied`, `still denied`, `new: allowed`, …
    verdict: String,
    /// `-ab12 → -cd34`, when the Stamps differ.
    stamp: Option<String>,
    /// The rendered objects' unified diff.
    objects: String,
    /// Whether anything differs.
    changed: bool,
}

fn word(allowed: bool) -> &'static str {
    if allowed { "allowed" } else { "denied" }
}

fn objects_text(o: &Outcome) -> String {
    o.objects
        .as_ref()
        .ok()
        .and_then(|objects| output::to_yaml_stream(objects).ok())
        .unwrap_or_default()
}

fn stamps(o: &Outcome) -> String {
    if o.stamps.is_empty() {
        "none".into()
    } else {
        o.stamps.join(",")
    }
}

fn see(d: &WorkloadDiff) -> Seen<'_> {
    let after = d.after.verdict.allowed();
    let who = d.key.to_string();
    let (verdict, stamp, objects, changed) = match &d.before {
        None => (
            format!("new: {}", word(after)),
            None,
            unified(
                "",
                &objects_text(&d.after),
                "/dev/null",
                &format!("{who} (after)"),
            ),
            true,
        ),
        Some(b) => {
            let before = b.verdict.allowed();
            let verdict = match (before, after) {
                (true, true) => "allowed".to_owned(),
                (false, false) => "still denied".to_owned(),
                (b, a) => format!("{} → {}", word(b), word(a)),
            };
            let stamp = (b.stamps != d.after.stamps)
                .then(|| format!("{} → {}", stamps(b), stamps(&d.after)));
            // A denied workload renders nothing, and the controller keeps what it
            // made: the causes say it all, a diff to nothing would not.
            let objects = if d.after.objects.is_err() {
                String::new()
            } else {
                unified(
                    &objects_text(b),
                    &objects_text(&d.after),
                    &format!("{who} (before)"),
                    &format!("{who} (after)"),
                )
            };
            let changed = before != after
                || b.verdict != d.after.verdict
                || stamp.is_some()
                || !objects.is_empty();
            (verdict, stamp, objects, changed)
        }
    };
    Seen {
        diff: d,
        verdict,
        stamp,
        objects,
        changed,
    }
}

struct Counts {
    denied: usize,
    changed: usize,
    unchanged: usize,
}

fn counts(seen: &[Seen<'_>]) -> Counts {
    let denied = seen.iter().filter(|s| s.diff.newly_denied()).count();
    let changed = seen
        .iter()
        .filter(|s| s.changed && !s.diff.newly_denied())
        .count();
    Counts {
        denied,
        changed,
        unchanged: seen.len() - denied - changed,
    }
}

/// A block per touched workload, then `N workloads touched: …`.
pub fn text(diffs: &[WorkloadDiff]) -> String {
    let seen: Vec<Seen<'_>> = diffs.iter().map(see).collect();
    let mut out = String::new();
    for s in &seen {
        let d = s.diff;
        if !s.changed {
            let _ = writeln!(out, "{}: unchanged", d.key);
            continue;
        }
        let _ = write!(out, "{}: {}", d.key, s.verdict);
        if let Some(stamp) = &s.stamp {
            let _ = write!(out, "; stamp {stamp}");
        }
        out.push('\n');
        for v in &d.after.verdict.violations {
            let _ = writeln!(out, "  {v}");
        }
        let old_warnings = d
            .before
            .as_ref()
            .map(|b| b.verdict.warnings.as_slice())
            .unwrap_or_default();
        for w in d
            .after
            .verdict
            .warnings
            .iter()
            .filter(|w| !old_warnings.contains(w))
        {
            let _ = writeln!(out, "  warning: {w}");
        }
        out.push_str(&indented(&s.objects, "  "));
    }
    let c = counts(&seen);
    let _ = writeln!(
        out,
        "{} workload{} touched: {} would be denied, {} changed, {} unchanged",
        seen.len(),
        if seen.len() == 1 { "" } else { "s" },
        c.denied,
        c.changed,
        c.unchanged
    );
    out
}

fn side(o: &Outcome) -> Value {
    json!({
        "allowed": o.verdict.allowed(),
        "causes": o.verdict.violations.iter().map(|v| json!({"path": v.path, "message": v.message})).collect::<Vec<_>>(),
        "warnings": o.verdict.warnings,
        "stamps": o.stamps,
    })
}

/// `{"workloads": [{kind, namespace, name, inFile, before, after, newlyDenied,
/// changed, diff}], "wouldBeDenied", "changed", "unchanged"}`.
pub fn json(diffs: &[WorkloadDiff]) -> Result<String, serde_json::Error> {
    let seen: Vec<Seen<'_>> = diffs.iter().map(see).collect();
    let c = counts(&seen);
    let workloads: Vec<Value> = seen
        .iter()
        .map(|s| {
            let d = s.diff;
            json!({
                "kind": d.key.kind.to_string(),
                "namespace": d.key.namespace,
                "name": d.key.name,
                "inFile": d.in_file,
                "before": d.before.as_ref().map(side),
                "after": side(&d.after),
                "newlyDenied": d.newly_denied(),
                "changed": s.changed,
                "diff": s.objects,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({
        "workloads": workloads,
        "wouldBeDenied": c.denied,
        "changed": c.changed,
        "unchanged": c.unchanged,
    }))?;
    text.push('\n');
    Ok(text)
}
