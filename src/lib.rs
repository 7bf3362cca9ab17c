//! The I/O side of stackhook: the command line, file loading and output. Decisions come
//! from `stackhook-core`; this crate reads, calls and prints.
//!
//! Three layers, kept by the `layering` test below:
//!
//! - the base every room stands on: [`shared`] (the live catalog, metrics, readiness,
//!   the watches' stores), [`load`], [`output`], [`logging`], [`certs`];
//! - the rooms, each one job, importing only the base and never each other: [`server`]
//!   (the admission webhook), [`cluster`] (the catalog from the cluster's watches),
//!   [`controller`], [`project`] (the secret projector);
//! - [`cli`], the only layer that imports the rooms: one module per command, and
//!   [`cli::wiring`], the one place that starts rooms together with their shared state.

pub mod certs;
pub mod cli;
pub mod cluster;
pub mod controller;
pub mod load;
pub mod logging;
pub mod output;
pub mod project;
pub mod server;
pub mod shared;

#[cfg(test)]
mod layering {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// What every room may stand on: imports nothing of the rooms or the command line.
    const BASE: [&str; 5] = ["shared", "load", "output", "logging", "certs"];
    /// The rooms: each does one job and imports only [`BASE`], never another room.
    const ROOMS: [&str; 4] = ["server", "cluster", "controller", "project"];
    /// The command line, the only layer that imports the rooms (and wires them, in
    /// `cli::wiring`).
    const TOP: &str = "cli";

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The `crate::<module>`s a file's code names (tests included; comments and doc
    /// links are not imports), `use crate::{a, b::c}` counted as `a` and `b`.
    fn imports(text: &str) -> BTreeSet<String> {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let word = |s: &str| -> String {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect()
        };
        let mut names = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + 7..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                names.extend(group.split(',').map(word));
            } else {
                names.insert(word(rest));
            }
        }
        names.retain(|n| !n.is_empty() && n != "self");
        names
    }

    #[test]
    fn the_rooms_of_the_binary_do_not_import_each_other() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for file in &files {
            let rel = file.strip_prefix(&src).unwrap();
            let module = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if module == "lib" || module == "main" {
                continue;
            }
            seen.insert(module.clone());
            let allowed: Vec<&str> = if BASE.contains(&module.as_str())
                || ROOMS.contains(&module.as_str())
            {
                BASE.to_vec()
            } else if module == TOP {
                BASE.iter().chain(ROOMS.iter()).copied().collect()
            } else {
                problems.push(format!(
                    "src/{}: module `{module}` has no place in the layering (add it to BASE, ROOMS or make it part of cli)",
                    rel.display()
                ));
                continue;
            };
            let text = std::fs::read_to_string(file).unwrap();
            for name in imports(&text) {
                if name != module && !allowed.contains(&name.as_str()) {
                    problems.push(format!(
                        "src/{} imports crate::{name}: `{module}` may import only {}",
                        rel.display(),
                        allowed.join(", ")
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        for m in BASE.iter().chain(ROOMS.iter()).chain([&TOP]) {
            assert!(seen.contains(*m), "no module `{m}` under src/");
        }
    }

    #[test]
    fn an_import_is_read_in_each_form() {
        let text = "use crate::shared::live;\n// crate::server in a comment\nuse crate::{load, output::Format};\nlet x = crate::cli::EXIT_UNUSABLE;\n";
        let found: Vec<String> = imports(text).into_iter().collect();
        assert_eq!(found, ["cli", "load", "output", "shared"]);
    }
}
