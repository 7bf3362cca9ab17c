//! README.md's `console` examples, run: every `$ command` line in a ```` ```console ````
//! block runs in the repository's root with this build's `stackhook` first on PATH, and
//! must print (stdout, then stderr) exactly the lines that follow it. Examples that need
//! a cluster or tools CI does not have are fenced as `sh`, which this test leaves alone.

use std::path::Path;
use std::process::Command;

use crate::support::root;

/// One `$ command` of a console block and the output README shows for it.
#[derive(Debug)]
struct Example {
    /// README line of the `$`.
    line: usize,
    command: String,
    expected: String,
}

/// Every console example, with the block's earlier commands that only set a shell
/// variable (`D=…`) as its prelude.
fn examples(readme: &str) -> Vec<(Vec<String>, Example)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut prelude: Vec<String> = Vec::new();
    let mut current: Option<Example> = None;
    let mut lines = readme.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if !in_block {
            if line.trim_end() == "```console" {
                in_block = true;
                prelude.clear();
            }
            continue;
        }
        let end = line.trim_end() == "```";
        if (end || line.starts_with("$ "))
            && let Some(example) = current.take()
        {
            out.push((prelude.clone(), example));
        }
        if end {
            in_block = false;
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            let mut command = command.to_owned();
            // A command continued with `\` goes on to the next lines.
            while command.ends_with('\\') {
                command.pop();
                match lines.next() {
                    Some((_, next)) => command.push_str(next.trim_start()),
                    None => break,
                }
            }
            let is_assignment = command
                .split_once('=')
                .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            if is_assignment {
                prelude.push(command);
            } else {
                current = Some(Example {
                    line: i + 1,
                    command,
                    expected: String::new(),
                });
            }
        } else if let Some(example) = current.as_mut() {
            example.expected.push_str(line);
            example.expected.push('\n');
        }
    }
    out
}

#[test]
fn every_console_example_in_the_readme_prints_what_the_readme_shows() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 6, "{examples:#?}");
    let bin = Path::new(env!("CARGO_BIN_EXE_stackhook")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for (prelude, example) in &examples {
        let mut script = prelude.join("\n");
        script.push('\n');
        script.push_str(&example.command);
        let output = Command::new("bash")
            .args(["-c", &script])
            .current_dir(&root)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let mut actual = String::from_utf8_lossy(&output.stdout).into_owned();
        actual.push_str(&String::from_utf8_lossy(&output.stderr));
        if actual != example.expected {
            failures.push(format!(
                "README.md:{}: $ {}\n{}",
                example.line,
                example.command,
                similar::TextDiff::from_lines(&example.expected, &actual)
                    .unified_diff()
                    .header("README shows", "it prints")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_example_reader_takes_continuations_and_variables() {
    let readme =
        "text\n```console\n$ D=x\n$ echo a \\\n   b\na b\n$ true\n```\n```sh\n$ not run\n```\n";
    let found = examples(readme);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].0, vec!["D=x".to_owned()]);
    assert_eq!(found[0].1.command, "echo a b");
    assert_eq!(found[0].1.expected, "a b\n");
    assert_eq!(found[0].1.line, 4);
    assert_eq!(found[1].1.command, "true");
    assert_eq!(found[1].1.expected, "");
}
