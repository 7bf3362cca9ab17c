//! `stackhook project`: the secret projector, against Java's `Properties.load`, bash,
//! JSON and YAML readers, with its bad inputs, its atomicity and its watch mode.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use stackhook::project::write::AtomicWriter;
use stackhook_core::projection::OutputFile;

use crate::support::{have_tool, stackhook};

/// A value that must never appear in any output of the projector.
const MARKER: &str = "S3CR3T-MARKER-VALUE";

/// Lays out one Secret volume the way the kubelet does: files in a timestamped
/// directory, `..data` pointing at it, and one symlink per key through `..data`.
fn mount_secret(from: &Path, depot: &str, acl: &str, pairs: &[(&str, &[u8])]) {
    let dir = from.join(depot).join(acl);
    fs::create_dir_all(&dir).unwrap();
    let generation = format!("..{}", fs::read_dir(&dir).unwrap().count());
    fs::create_dir(dir.join(&generation)).unwrap();
    for (key, value) in pairs {
        fs::write(dir.join(&generation).join(key), value).unwrap();
    }
    let tmp = dir.join("..data_tmp");
    symlink(&generation, &tmp).unwrap();
    fs::rename(&tmp, dir.join("..data")).unwrap();
    for (key, _) in pairs {
        let link = dir.join(key);
        if fs::symlink_metadata(&link).is_err() {
            symlink(Path::new("..data").join(key), &link).unwrap();
        }
    }
}

fn project(from: &Path, to: &Path, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "project",
        "--from",
        from.to_str().unwrap(),
        "--to",
        to.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    stackhook(&args, "")
}

/// The tricky pairs: every character class `.properties` and shells care about.
fn tricky_pairs() -> Vec<(String, String)> {
    let long: String = "0123456789abcdef".repeat(8 * 1024);
    vec![
        ("plain".into(), "value".into()),
        ("equals".into(), "a=b==c".into()),
        ("colon".into(), "host:5432".into()),
        ("hash".into(), "#not a comment".into()),
        ("bang".into(), "!not a comment".into()),
        ("spaces".into(), "  leading and trailing  ".into()),
        ("backslashes".into(), "C:\\path\\to\\file\\".into()),
        ("crlf".into(), "line1\r\nline2\r\n".into()),
        ("newlines".into(), "a\nb\n\nc".into()),
        ("tabs".into(), "\ta\tb\t".into()),
        ("formfeed".into(), "a\x0cb".into()),
        ("latin1".into(), "grüße ü é".into()),
        ("cjk".into(), "数据湖 データ".into()),
        ("emoji".into(), "🎉 rocket 🚀".into()),
        ("empty".into(), String::new()),
        ("quotes".into(), "it's \"quoted\" $HOME `cmd` $(x)".into()),
        ("long".into(), long),
        ("key with spaces".into(), "v".into()),
        ("key=eq:colon#hash!bang".into(), "v2".into()),
        ("ключ".into(), "значение".into()),
        ("trailing_backslash".into(), "ends with \\".into()),
    ]
}

fn mount_pairs(from: &Path, depot: &str, pairs: &[(String, String)]) {
    let bytes: Vec<(&str, &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_bytes()))
        .collect();
    mount_secret(from, depot, "r", &bytes);
}

/// Escapes like the Java program below prints: UTF-16 units outside printable ASCII,
/// and `\` and tab, as `\uXXXX`.
fn java_escape(s: &str) -> String {
    let mut out = String::new();
    for unit in s.encode_utf16() {
        match unit {
            0x20..=0x7e if unit != u16::from(b'\\') => out.push(char::from(unit as u8)),
            _ => out.push_str(&format!("\\u{unit:04x}")),
        }
    }
    out
}

const JAVA_LOADER: &str = r#"
import java.io.*;
import java.util.*;

public class LoadProperties {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        try (InputStream in = new FileInputStream(args[0])) { p.load(in); }
        StringBuilder out = new StringBuilder();
        for (String k : new TreeSet<>(p.stringPropertyNames())) {
            out.append(esc(k)).append('\t').append(esc(p.getProperty(k))).append('\n');
        }
        System.out.print(out);
    }
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c < 0x20 || c > 0x7e || c == '\\') b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }
}
"#;

#[test]
fn prop_file_reads_back_exactly_with_java_properties_load() {
    if !have_tool("javac") || !have_tool("java") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in"), dir.path().join("out"));
    let pairs = tricky_pairs();
    mount_pairs(&from, "icebase", &pairs);
    let run = project(&from, &to, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let java = dir.path().join("java");
    fs::create_dir(&java).unwrap();
    fs::write(java.join("LoadProperties.java"), JAVA_LOADER).unwrap();
    let status = Command::new("javac")
        .arg("LoadProperties.java")
        .current_dir(&java)
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("java")
        .args(["-cp", java.to_str().unwrap(), "LoadProperties"])
        .arg(to.join("icebase"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let sorted: BTreeMap<String, String> = pairs.into_iter().collect();
    // Java sorts keys by UTF-16 code units; for these keys that is the same as by char.
    let expected: String = sorted
        .iter()
        .map(|(k, v)| format!("{}\t{}\n", java_escape(k), java_escape(v)))
        .collect();
    let got = String::from_utf8(out.stdout).unwrap();
    assert_eq!(got.lines().count(), sorted.len());
    for (e, g) in expected.lines().zip(got.lines()) {
        assert_eq!(g, e);
    }
    // The file is plain ASCII (every other character escaped), with no date comment.
    let text = fs::read(to.join("icebase")).unwrap();
    assert!(text.iter().all(|b| b.is_ascii()));
    assert!(!text.starts_with(b"#"));
}

#[test]
fn dotenv_reads_back_exactly_in_bash() {
    if !have_tool("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in"), dir.path().join("out"));
    // Shell variable names only: the others go to files or are rejected (tested below).
    let pairs: Vec<(String, String)> = tricky_pairs()
        .into_iter()
        .filter(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    mount_pairs(&from, "icebase", &pairs);
    for (format, prefix) in [("dotenv", ""), ("envVars", "ICEBASE_")] {
        let run = project(&from, &to, &["--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        for (key, value) in &pairs {
            let script = format!(
                "set -a; . '{}'; printf '%s' \"${prefix}{key}\"",
                to.join("icebase.env").display()
            );
            let out = Command::new("bash").args(["-c", &script]).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                *value,
                "{format} {key}"
            );
        }
    }
}

#[test]
fn json_and_yaml_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in"), dir.path().join("out"));
    let pairs = tricky_pairs();
    mount_pairs(&from, "icebase", &pairs);
    let expected: BTreeMap<String, String> = pairs.into_iter().collect();

    let run = project(&from, &to, &["--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: BTreeMap<String, String> =
        serde_json::from_slice(&fs::read(to.join("icebase.json")).unwrap()).unwrap();
    assert_eq!(got, expected);

    let run = project(&from, &to, &["--format", "yaml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    if have_tool("python3") {
        // PyYAML as the reference reader.
        let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))";
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(to.join("icebase.yaml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, expected);
    }
}

#[test]
fn file_keys_and_binary_values_are_verbatim_files() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in"), dir.path().join("out"));
    let key_json = br#"{"type": "service_account", "private_key": "-----X-----\n"}"#;
    let binary: &[u8] = &[0x00, 0xff, 0xfe, 0x80];
    mount_secret(
        &from,
        "gcdexport",
        "rw",
        &[
            ("gcs-key.json", key_json),
            ("keystore", binary),
            ("project", b"p"),
        ],
    );
    let run = project(
        &from,
        &to,
        &["--file", "gcdexport/gcs-key.json", "--depot", "gcdexport"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fs::read(to.join("gcdexport_gcs-key.json")).unwrap(),
        key_json
    );
    assert_eq!(fs::read(to.join("gcdexport_keystore")).unwrap(), binary);
    assert_eq!(
        fs::read_to_string(to.join("gcdexport")).unwrap(),
        "project=p\n"
    );
}

#[test]
fn files_and_directories_get_the_configured_modes() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in"), dir.path().join("out"));
    mount_secret(&from, "db", "r", &[("user", b"u")]);
    for (mode, file_mode, dir_mode) in [
        ("0400", 0o400, 0o500),
        ("0440", 0o440, 0o550),
        ("644", 0o644, 0o755),
    ] {
        let run = project(&from, &to, &["--mode", mode]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let meta = fs::metadata(to.join("db")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, file_mode, "{mode}");
        let generation = fs::read_link(to.join("..data")).unwrap();
        let meta = fs::metadata(to.join(generation)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, dir_mode, "{mode}");
    }
}

/// Each bad input: a clear message naming the depot and key, exit 1 (or 2 for a bad
/// flag), nothing in `--to`, and never the value.
#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::write(&outside, MARKER).unwrap();

    type Setup = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Setup, Vec<&str>, i32, String)> = vec![
        (
            "missing --from",
            Box::new(|_: &Path| {}),
            vec![],
            1,
            "--from {FROM}: no such directory".into(),
        ),
        (
            "value over the limit",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("big", MARKER.as_bytes())])),
            vec!["--max-value-bytes", "8"],
            1,
            "depot \"db\": key \"big\" is over the limit of 8 bytes".into(),
        ),
        (
            "key escaping its directory",
            Box::new(move |from: &Path| {
                mount_secret(from, "db", "r", &[("user", b"u")]);
                symlink(&outside, from.join("db/r/stolen")).unwrap();
            }),
            vec![],
            1,
            "depot \"db\": key \"stolen\" points outside its secret directory".into(),
        ),
        (
            "unreadable key",
            Box::new(|from: &Path| {
                mount_secret(from, "db", "r", &[("user", b"u")]);
                symlink("..data/gone", from.join("db/r/dangling")).unwrap();
            }),
            vec![],
            1,
            "depot \"db\": key \"dangling\": cannot read {FROM}/db/r/dangling: No such file or directory (os error 2)".into(),
        ),
        (
            "missing depot directory",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("user", b"u")])),
            vec!["--depot", "icebase"],
            1,
            "depot \"icebase\": no secret directory {FROM}/icebase".into(),
        ),
        (
            "unknown ACL directory",
            Box::new(|from: &Path| mount_secret(from, "db", "write", &[("user", MARKER.as_bytes())])),
            vec![],
            1,
            "depot \"db\": unexpected entry \"write\" (expected the ACL directories r and rw)".into(),
        ),
        (
            "dotenv key that is not a variable name",
            Box::new(|from: &Path| mount_secret(from, "s3", "r", &[("access-key", MARKER.as_bytes())])),
            vec!["--format", "dotenv"],
            1,
            "depot \"s3\": key \"access-key\" is not a shell variable name".into(),
        ),
        (
            "file key for an absent depot",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("user", b"u")])),
            vec!["--file", "gcs/key.json"],
            1,
            "depot \"gcs\": no secret is mounted for it (file key \"key.json\")".into(),
        ),
        (
            "file key escaping the output directory",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("user", b"u")])),
            vec!["--file", "db/../../etc/passwd"],
            2,
            "\"db/../../etc/passwd\": key \"../../etc/passwd\": it contains '/'".into(),
        ),
        (
            "file key with NUL-free but empty name",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("user", b"u")])),
            vec!["--file", "db/"],
            2,
            "\"db/\": key \"\": it is empty".into(),
        ),
        (
            "unknown format",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("user", b"u")])),
            vec!["--format", "xml"],
            2,
            "unknown format \"xml\" (expected one of: propFile, envVars, dotenv, json, yaml)".into(),
        ),
        (
            "mode the owner cannot read",
            Box::new(|from: &Path| mount_secret(from, "db", "r", &[("user", b"u")])),
            vec!["--mode", "0200"],
            2,
            "mode 0200 does not let the owner read the files".into(),
        ),
    ];
    for (i, (what, setup, extra, code, message)) in cases.into_iter().enumerate() {
        let from = dir.path().join(format!("in{i}"));
        let to = dir.path().join(format!("out{i}"));
        setup(&from);
        let run = project(&from, &to, &extra);
        let message = message.replace("{FROM}", &from.display().to_string());
        assert_eq!(run.code, code, "{what}: {}", run.stderr);
        assert!(
            run.stderr.contains(&message),
            "{what}: expected {message:?} in\n{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(MARKER) && !run.stdout.contains(MARKER),
            "{what}: leaked the value"
        );
        let written = fs::read_dir(&to).map(|d| d.count()).unwrap_or(0);
        assert_eq!(written, 0, "{what}: wrote into --to");
    }
}

#[test]
fn never_prints_a_secret_value_in_any_mode() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("in");
    mount_secret(
        &from,
        "db",
        "r",
        &[
            ("password", MARKER.as_bytes()),
            ("TOKEN", MARKER.as_bytes()),
        ],
    );
    mount_secret(&from, "gcs", "rw", &[("key.json", MARKER.as_bytes())]);
    for format in ["propFile", "envVars", "dotenv", "json", "yaml"] {
        for log_format in ["text", "json"] {
            let to = dir.path().join(format!("out-{format}-{log_format}"));
            let mut child = Command::new(env!("CARGO_BIN_EXE_stackhook"))
                .args([
                    "project",
                    "--from",
                    from.to_str().unwrap(),
                    "--to",
                    to.to_str().unwrap(),
                ])
                .args([
                    "--format",
                    format,
                    "--log-format",
                    log_format,
                    "--file",
                    "gcs/key.json",
                ])
                .env("RUST_LOG", "trace")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let output = child.wait().unwrap();
            let mut text = String::new();
            use std::io::Read as _;
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            // The dotenv formats reject "key.json"-style names only for non-file keys.
            assert!(
                output.success() || format.contains("env"),
                "{format}: {text}"
            );
            assert!(
                !text.contains(MARKER),
                "{format}/{log_format} printed a secret: {text}"
            );
            assert!(text.contains("projected"), "{format}: {text}");
        }
    }
}

#[test]
fn readers_never_see_a_mix_of_generations_nor_a_missing_file_between_swaps() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_owned();
    let writer = AtomicWriter::new(&to, 0o400);
    // Each file holds its generation padded to a fixed size, so a torn read shows.
    let generation = |n: usize| -> Vec<OutputFile> {
        ["a", "b", "c"]
            .iter()
            .map(|name| OutputFile {
                name: (*name).into(),
                bytes: format!("{n:>8}{}", ".".repeat(4088)).into_bytes(),
            })
            .collect()
    };
    writer.write(&generation(0)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (to, done) = (to.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut samples, mut consistent) = (0usize, 0usize);
            while !done.load(Ordering::Relaxed) {
                let before = fs::read_link(to.join("..data")).unwrap();
                let gens: Vec<Option<String>> = ["a", "b", "c"]
                    .iter()
                    .map(|name| match fs::read(to.join(name)) {
                        Ok(bytes) => {
                            assert_eq!(bytes.len(), 4096, "torn read of {name}");
                            Some(String::from_utf8(bytes[..8].to_vec()).unwrap())
                        }
                        // One open() resolves the name through `..data` to a
                        // generation; a reader descheduled inside it while the writer
                        // makes two more generations finds that one removed. That can
                        // only happen across swaps, never while `..data` stands still.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                        Err(e) => panic!("{name}: {e}"),
                    })
                    .collect();
                let after = fs::read_link(to.join("..data")).unwrap();
                if gens.iter().any(Option::is_none) {
                    assert_ne!(before, after, "a file was missing while ..data stood still");
                    continue;
                }
                let gens: Vec<String> = gens.into_iter().flatten().collect();
                samples += 1;
                if before == after {
                    consistent += 1;
                    assert!(
                        gens.iter().all(|g| *g == gens[0]),
                        "mixed generations {gens:?}"
                    );
                }
            }
            (samples, consistent)
        })
    };
    for n in 1..=1000 {
        writer.write(&generation(n)).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let (samples, consistent) = reader.join().unwrap();
    assert!(
        samples > 0 && consistent > 0,
        "{samples} samples, {consistent} consistent"
    );
    // Only the current and previous generations remain.
    let generations = fs::read_dir(&to)
        .unwrap()
        .filter(|e| {
            let name = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            name.starts_with("..") && name != "..data"
        })
        .count();
    assert_eq!(generations, 2);
}

fn wait_for(path: &Path, expected: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if fs::read_to_string(path).is_ok_and(|t| t == expected) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn watch_follows_a_secret_rotation_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("in"), dir.path().join("out"));
    mount_secret(&from, "db", "r", &[("password", b"old")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackhook"))
        .args([
            "project",
            "--watch",
            "--from",
            from.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = to.join("db");
    assert!(
        wait_for(&out, "password=old\n", Duration::from_secs(10)).is_some(),
        "initial projection"
    );

    // Rotate the way the kubelet does: a new generation, then the ..data swap. The
    // projector promises a second; the limit here leaves room for a loaded CI machine.
    mount_secret(&from, "db", "r", &[("password", b"new")]);
    let took = wait_for(&out, "password=new\n", Duration::from_secs(5));
    assert!(took.is_some(), "rotation not picked up");
    eprintln!("rotation picked up after {took:?}");

    // A broken input keeps the last good output.
    fs::create_dir_all(from.join("db/bogus")).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(fs::read_to_string(&out).unwrap(), "password=new\n");
    fs::remove_dir(from.join("db/bogus")).unwrap();

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit on SIGTERM: {status:?}");
    let mut stderr = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("projection failed; keeping the last good output"),
        "{stderr}"
    );
    assert!(stderr.contains("stopping on signal"), "{stderr}");
}
