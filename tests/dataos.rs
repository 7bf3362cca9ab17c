//! Real DataOS manifests (`tests/fixtures/dataos`, each with its provenance in
//! `SOURCES.tsv`): what `stackhook convert` makes of every one, and that no key of a
//! manifest vanishes without a warning naming it.

use std::collections::BTreeSet;

use serde_json::Value;
use stackhook_core::source::parse_documents;

use crate::support::{repo, stackhook};

const DIR: &str = "tests/fixtures/dataos";

/// The corpus: (file under `DIR`, repository, path, commit).
fn sources() -> Vec<[String; 4]> {
    let text = std::fs::read_to_string(repo(&format!("{DIR}/SOURCES.tsv"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "SOURCES.tsv line {l:?}: four columns");
            [0, 1, 2, 3].map(|i| cols[i].to_owned())
        })
        .collect()
}

fn files_under(dir: &std::path::Path, out: &mut Vec<String>, base: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out, base);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

#[test]
fn every_manifest_has_its_provenance() {
    let listed: BTreeSet<String> = sources().into_iter().map(|[f, ..]| f).collect();
    let mut present = Vec::new();
    files_under(&repo(DIR), &mut present, &repo(DIR));
    let present: BTreeSet<String> = present.into_iter().collect();
    assert!(listed.len() >= 100, "{} manifests", listed.len());
    assert_eq!(
        present.difference(&listed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "files without a SOURCES.tsv line"
    );
    assert_eq!(
        listed.difference(&present).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "SOURCES.tsv lines without a file"
    );
    for [file, repository, path, commit] in sources() {
        assert!(
            repository.contains('/'),
            "{file}: repository {repository:?}"
        );
        assert!(path.ends_with(&file), "{file}: path {path:?}");
        assert_eq!(commit.len(), 40, "{file}: commit {commit:?}");
    }
}

/// Every scalar under a native document's type section, with its native path, except
/// inside `stackSpec` (passed through whole) and the meta keys.
fn leaves(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, item) in m {
                if k == "stackSpec" {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(item, p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Null => {}
        scalar => out.push((path, scalar.clone())),
    }
}

fn scalars(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| scalars(x, out)),
        Value::Array(items) => items.iter().for_each(|x| scalars(x, out)),
        // Letter case aside: convert spells enums as the CRD does (`StackManager`).
        // Tags are kept joined in one annotation.
        Value::String(s) => {
            out.insert(s.to_lowercase());
            out.extend(s.to_lowercase().split(',').map(str::to_owned));
        }
        other => {
            out.insert(other.to_string());
        }
    }
}

#[test]
fn converts_every_manifest_and_names_every_key_it_leaves_out() {
    let mut summary = String::new();
    let mut silent = Vec::new();
    for [file, ..] in sources() {
        let path = repo(&format!("{DIR}/{file}"));
        let run = stackhook(&["convert", path.to_str().unwrap()], "");
        let shown = |s: &str| s.replace(path.to_str().unwrap(), &file);
        if run.code != 0 {
            let last = run.stderr.lines().last().unwrap_or_default();
            summary.push_str(&format!("{file}: error: {}\n", shown(last)));
            continue;
        }
        let warnings: Vec<String> = run
            .stderr
            .lines()
            .filter(|l| l.contains("warning:"))
            .map(shown)
            .collect();
        summary.push_str(&format!("{file}: converted, {} warnings\n", warnings.len()));
        // Native documents and what they became, in order.
        let text = std::fs::read_to_string(&path).unwrap();
        let native: Vec<Value> = parse_documents(&text)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect();
        let converted: Vec<Value> = parse_documents(&run.stdout)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect();
        // A v1 Depot's inline credentials come out as Secrets beside it.
        let resources = converted.iter().filter(|d| d["kind"] != "Secret").count();
        assert_eq!(native.len(), resources, "{file}: document count");
        let mut kept = BTreeSet::new();
        for out in &converted {
            scalars(out, &mut kept);
        }
        for doc in &native {
            let Some(ty) = doc.get("type").and_then(Value::as_str) else {
                continue;
            };
            let ty = ty.to_ascii_lowercase();
            if !["stack", "depot", "worker", "service", "workflow"].contains(&ty.as_str()) {
                continue;
            }
            let Some(section) = doc.get(&ty) else {
                continue;
            };
            let mut found = Vec::new();
            leaves(section, ty.clone(), &mut found);
            for (leaf, value) in found {
                let text = match &value {
                    Value::String(s) => s.to_lowercase(),
                    other => other.to_string(),
                };
                let named = warnings.iter().any(|w| {
                    w.split('`').skip(1).step_by(2).any(|p| {
                        let p = p.split(' ').next().unwrap_or_default();
                        leaf == p
                            || leaf.starts_with(&format!("{p}."))
                            || leaf.starts_with(&format!("{p}["))
                    })
                });
                if !named && !kept.contains(&text) {
                    silent.push(format!("{file}: {leaf} = {text}"));
                }
            }
        }
    }
    insta::assert_snapshot!(summary);
    assert!(
        silent.is_empty(),
        "convert dropped these without a warning:\n{}",
        silent.join("\n")
    );
}
