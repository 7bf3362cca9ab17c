//! The pure engine of stackhook.
//!
//! Everything that decides — what a resource means, whether a workload is valid, what a
//! pod becomes — lives here, with no tokio, no HTTP, no Kubernetes client and no
//! filesystem. The webhook, the controller and the CLI call these functions, so they
//! cannot disagree. Input comes from a [`catalog::Catalog`], filled by the binary.

pub mod address;
pub mod admit;
#[cfg(test)]
mod agreement_tests;
mod borrowed;
pub mod catalog;
pub mod compiled;
pub mod condition;
pub mod engine;
pub mod filters;
pub mod functions;
pub mod inject;
pub mod model;
pub mod names;
pub mod orchestrate;
pub mod progress;
pub mod projection;
pub mod render;
pub mod resolve;
pub mod review;
pub mod schema;
pub mod settings;
#[cfg(test)]
mod test_support;

pub use address::{Address, AddressError};
pub use catalog::{Catalog, MemoryCatalog};

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
}
