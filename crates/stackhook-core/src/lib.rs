//! The pure engine of stackhook: what a resource means, whether a workload is valid,
//! what a pod becomes, what the controller makes — with no tokio, no HTTP, no
//! Kubernetes client and no filesystem. The webhook, the controller and the CLI call
//! these functions, so they cannot disagree. Input comes from a [`catalog::Catalog`],
//! filled by the binary.
//!
//! # The path a decision takes
//!
//! ```text
//!  model ──▶ catalog ──▶ resolve ──┬──▶ admit ───────────────┬──▶ review
//!                                  ├──▶ inject ──────────────┘
//!                                  └──▶ render ──▶ orchestrate ──▶ progress
//! ```
//!
//! 1. **model** — what a resource is: [`model`] (Stack, Depot, Worker, Service,
//!    Workflow as CRD types, and DataOS's native shapes), [`address`] (`dataos://`),
//!    [`names`] (the API server's name rules), [`settings`] (a namespace's defaults).
//! 2. **catalog** — what is known: [`catalog`] (every lookup, behind one trait) and,
//!    once per Stack content, [`compiled`] (its [`schema`], address [`filters`],
//!    templates parsed with DataOS's [`functions`], and [`condition`]s).
//! 3. **resolve** — the one step every consumer starts from: [`resolve`] takes a
//!    workload, with the [`engine`] every decision runs with, to its Stack, Depots,
//!    settings and Stamp, and every problem at its field path.
//! 4. **decide** — [`admit`] (is it valid?) under the Stack's [`enforce`]ment mode,
//!    [`inject`] (what its Pod becomes),
//!    [`render`] (its template context, config files and Stamp) and [`projection`]
//!    (Secret data → files), [`orchestrate`] (what the controller makes) and
//!    [`progress`] (what the controller reports and cleans up), [`escape`] (whether a
//!    labelled Pod escaped admission).
//! 5. **review** — [`review`]: one AdmissionReview in, one out, for `/validate` and
//!    `/mutate`.
//!
//! The Go-compatible engines are crates of their own, which know nothing of
//! stackhook: `gotemplate` (Go's `text/template` with Sprig and Helm), `goyaml` (YAML
//! as yaml.v2 reads it, with positions) and `jqlite` (jq's selection subset).

// 1. The model.
pub mod model;

pub mod address;

pub mod names;

pub mod settings;

// 2. The catalog, and each Stack compiled once.
pub mod catalog;

pub mod compiled;

pub mod schema;

pub mod filters;

pub mod functions;

pub mod condition;

// 3. Resolving a workload.
pub mod engine;

pub mod resolve;

// 4. The decisions.
pub mod admit;

pub mod enforce;

pub mod inject;

pub mod render;

pub mod projection;

pub mod orchestrate;

pub mod progress;

pub mod escape;

// 5. The wire.
pub mod review;

#[cfg(test)]
mod agreement_tests;
mod borrowed;
#[cfg(test)]
mod test_support;

#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Every `crate::<module>` a top-level module (its file and its directory) names.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = Vec::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        for file in files {
            let rel = file.strip_prefix(&src).unwrap();
            let module = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            // Tests may use anything.
            if module == "lib" || module == "test_support" || rel.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            // Doc links and comments are not imports.
            let text: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let deps = graph.entry(module.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                let name: String = text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    deps.insert(name);
                }
            }
        }
        graph
    }

    #[test]
    fn the_core_modules_import_each_other_without_a_cycle() {
        let graph = imports();
        // Depth-first search for a back edge, reporting the cycle it closes.
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(i) = path.iter().position(|p| p == m) {
                let mut cycle = path[i..].to_vec();
                cycle.push(m.to_owned());
                return Some(cycle);
            }
            if !done.insert(m.to_owned()) {
                return None;
            }
            path.push(m.to_owned());
            for d in graph.get(m).into_iter().flatten() {
                if let Some(c) = visit(d, graph, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            let mut path = Vec::new();
            if let Some(cycle) = visit(m, &graph, &mut path, &mut done) {
                panic!(
                    "the core's modules import in a cycle: {}",
                    cycle.join(" → ")
                );
            }
        }
        assert!(graph.len() > 10, "{graph:?}");
    }

    /// The engines know nothing of stackhook: none depends on this crate (or any
    /// stackhook crate), and no source of theirs names one.
    #[test]
    fn the_engine_crates_do_not_depend_on_stackhook() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for engine in ["gotemplate", "goyaml", "jqlite"] {
            let dir = crates.join(engine);
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            let mut in_dependencies = false;
            for line in manifest.lines().map(str::trim) {
                if line.starts_with('[') {
                    in_dependencies = line.contains("dependencies");
                } else if in_dependencies {
                    let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
                    assert!(
                        !name.starts_with("stackhook"),
                        "{engine} depends on {name}: the engines must know nothing of stackhook"
                    );
                }
            }
            let mut stack = vec![dir.join("src"), dir.join("tests"), dir.join("benches")];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|e| e == "rs") {
                        let text = std::fs::read_to_string(&path).unwrap();
                        assert!(
                            !text.contains("stackhook_core"),
                            "{} names stackhook_core",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}
