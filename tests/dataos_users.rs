//! Real DataOS manifests from users' public repositories (`tests/fixtures/dataos-users`,
//! provenance in `SOURCES.tsv`), not the documentation: every file gets an answer from
//! `convert`, and each repository is validated and rendered against its own files as
//! its catalog. Neither repository publishes the Stacks it uses (`flare`, `scanner`,
//! `alpha`…), so those workloads fail with that message only.

use std::collections::BTreeSet;

use crate::support::{repo, stackhook};

const DIR: &str = "tests/fixtures/dataos-users";

/// (file under `DIR`, repository, path, commit, license).
fn sources() -> Vec<[String; 5]> {
    let text = std::fs::read_to_string(repo(&format!("{DIR}/SOURCES.tsv"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 5, "SOURCES.tsv line {l:?}: five columns");
            [0, 1, 2, 3, 4].map(|i| cols[i].to_owned())
        })
        .collect()
}

#[test]
fn every_file_has_its_provenance_and_no_credentials() {
    let sources = sources();
    assert!(sources.len() >= 10, "{} files", sources.len());
    for [file, repository, path, commit, _] in &sources {
        let text = std::fs::read_to_string(repo(&format!("{DIR}/{file}"))).unwrap();
        assert!(file.ends_with(path.as_str()), "{file}");
        assert_eq!(commit.len(), 40, "{file}");
        assert!(repository.contains('/'), "{file}");
        let lower = text.to_lowercase();
        for word in [
            "password",
            "private_key",
            "secretkey",
            "accesskey",
            "token:",
        ] {
            assert!(
                !lower.contains(word),
                "{file} may carry credentials ({word})"
            );
        }
    }
}

#[test]
fn every_real_file_gets_an_answer() {
    let mut summary = String::new();
    for [file, ..] in sources() {
        let path = repo(&format!("{DIR}/{file}"));
        let run = stackhook(&["convert", path.to_str().unwrap()], "");
        let shown = |s: &str| s.replace(path.to_str().unwrap(), &file);
        let lines: Vec<String> = run.stderr.lines().map(shown).collect();
        // An answer: the converted document, or a warning or error naming the file.
        assert!(
            run.code == 0 && !run.stdout.trim().is_empty() || !lines.is_empty(),
            "{file}: no answer"
        );
        assert!(run.code == 0 || run.code == 2, "{file}: exit {}", run.code);
        summary.push_str(&format!("{file}: exit {}\n", run.code));
        for line in lines {
            summary.push_str(&format!("  {line}\n"));
        }
    }
    insta::assert_snapshot!(summary);
}

#[test]
fn each_repository_is_validated_and_rendered_against_its_own_files() {
    let repos: BTreeSet<String> = sources()
        .into_iter()
        .map(|[file, ..]| file.split('/').next().unwrap().to_owned())
        .collect();
    let mut summary = String::new();
    for name in repos {
        let dir = repo(&format!("{DIR}/{name}"));
        let dir_text = dir.to_str().unwrap();
        let shown = |s: &str| s.replace(dir_text, &name);
        let run = stackhook(&["validate", dir_text], "");
        // A broken file is a problem of its own: never exit 2, never silence.
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        summary.push_str(&format!("== validate {name}\n{}", shown(&run.stdout)));
        for line in run.stderr.lines() {
            summary.push_str(&format!("stderr: {}\n", shown(line)));
        }
        let run = stackhook(&["render", "--catalog", dir_text], "");
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        summary.push_str(&format!("== render {name}\n"));
        for line in run.stderr.lines() {
            summary.push_str(&format!("{}\n", shown(line)));
        }
        // Whatever rendered is real YAML.
        goyaml::parse_documents(&run.stdout).unwrap();
    }
    // Every workload that fails, fails only because no one publishes its Stack (or
    // its file is broken YAML): nothing about Depots, secrets, or shapes.
    for line in summary.lines().filter(|l| l.contains(": spec.")) {
        assert!(
            line.contains("not found; ") || line.contains("has no version"),
            "{line}"
        );
    }
    insta::assert_snapshot!(summary);
}
