//! The hostile corpus (`tests/fixtures/hostile/`, made by its `make-corpus.py`): inputs
//! that once hung, crashed or exhausted stackhook. Each file says what it attacks and
//! the answer it must get. They run (a) through the CLI under an address-space limit,
//! and (b) all at once through the real HTTPS server, which must answer every review
//! within its deadline, keep `/healthz` answering within a second, stay alive, never
//! echo its environment, and close a connection that never handshakes.

use std::io::Read as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::serve::{HttpsClient, client, post, runtime, start_with_env};
use crate::support::{have_tool, repo};

struct Case {
    file: PathBuf,
    attacks: String,
    expects: Vec<String>,
    exit: i32,
    /// The file is a catalog input, not a file to validate.
    catalog: bool,
}

fn corpus() -> Vec<Case> {
    let dir = repo("tests/fixtures/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let header = |key: &str| -> Vec<String> {
                text.lines()
                    .take_while(|l| l.starts_with('#'))
                    .filter_map(|l| l.strip_prefix(&format!("# {key}: ")))
                    .map(str::to_owned)
                    .collect()
            };
            let one = |key: &str| {
                header(key)
                    .pop()
                    .unwrap_or_else(|| panic!("{} has no `# {key}:`", file.display()))
            };
            Case {
                attacks: one("attacks"),
                expects: header("expect"),
                exit: one("exit").parse().unwrap(),
                catalog: !header("catalog").is_empty(),
                file,
            }
        })
        .collect()
}

/// The 1 GiB address-space limit the CLI runs under.
const ADDRESS_SPACE: &str = "--as=1073741824";

#[test]
fn every_hostile_input_gets_its_clear_error_from_the_cli_under_an_address_space_limit() {
    if !have_tool("prlimit") {
        return;
    }
    let cases = corpus();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let benign = repo("tests/fixtures/hostile/template-printf-width.yaml");
    let mut failures = Vec::new();
    for case in &cases {
        let catalog = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("prlimit");
        cmd.arg(ADDRESS_SPACE)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_stackhook"))
            .arg("validate");
        if case.catalog {
            std::fs::copy(&case.file, catalog.path().join("input.yaml")).unwrap();
            cmd.arg("--catalog").arg(catalog.path()).arg(&benign);
        } else {
            cmd.arg(&case.file);
        }
        let mut child = cmd
            .current_dir(repo(""))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A hang is a failure, not a stuck test run.
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let name = case.file.file_name().unwrap().to_string_lossy();
        match status.and_then(|s| s.code()) {
            None => failures.push(format!(
                "{name} ({}): hung, or ended by a signal (an abort): {text}",
                case.attacks
            )),
            Some(code) if code != case.exit => failures.push(format!(
                "{name} ({}): exit {code}, wanted {}: {text}",
                case.attacks, case.exit
            )),
            Some(_) => {}
        }
        for e in &case.expects {
            if !text.contains(e.as_str()) {
                failures.push(format!("{name}: the answer lacks {e:?}: {text}"));
            }
        }
        if text.contains("panicked") {
            failures.push(format!("{name}: panicked: {text}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// An AdmissionReview of `doc` (CREATE), as the API server sends it.
fn review_of(doc: &Value, uid: &str) -> Value {
    let kind = doc["kind"].as_str().unwrap();
    let (group, version) = doc["apiVersion"].as_str().unwrap().split_once('/').unwrap();
    let plural = format!("{}s", kind.to_lowercase());
    let mut request = json!({
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": plural},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "name": doc["metadata"]["name"],
        "operation": "CREATE",
        "userInfo": {"username": "attacker", "groups": ["system:authenticated"]},
        "object": doc,
        "oldObject": null,
        "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
    });
    if let Some(ns) = doc["metadata"]["namespace"].as_str() {
        request["namespace"] = json!(ns);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

fn documents(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    goyaml::parse_documents(&text)
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .unwrap_or_default()
}

/// `/healthz` with a one-second budget for the whole exchange.
fn healthz_within_a_second(addr: std::net::SocketAddr) -> Result<(), String> {
    use std::io::Write as _;
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut out = String::new();
    s.read_to_string(&mut out)
        .map_err(|e| format!("read after {:?}: {e}", started.elapsed()))?;
    if !out.starts_with("HTTP/1.1 200") {
        return Err(format!("answered {out:?}"));
    }
    if started.elapsed() > Duration::from_secs(1) {
        return Err(format!("answered after {:?}", started.elapsed()));
    }
    Ok(())
}

const CANARY: &str = "canary-7f3a91-do-not-echo";

#[test]
fn the_server_answers_the_whole_corpus_at_once_in_time_and_stays_healthy() {
    let cases = corpus();
    // The hostile Stacks make the catalog; their workloads and the Stacks themselves
    // are what gets reviewed.
    let catalog = tempfile::tempdir().unwrap();
    let mut reviews: Vec<(String, &'static str, Vec<u8>)> = Vec::new();
    for case in cases.iter().filter(|c| !c.catalog) {
        let docs = documents(&case.file);
        let name = case
            .file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for (i, doc) in docs.iter().enumerate() {
            if doc["kind"] == "Stack" {
                let path = catalog.path().join(format!("{name}-{i}.json"));
                std::fs::write(path, doc.to_string()).unwrap();
            }
            for copy in 0..3 {
                let uid = format!("{name}-{i}-{copy}");
                let body = serde_json::to_vec(&review_of(doc, &uid)).unwrap();
                reviews.push((uid, "/validate", body));
            }
        }
    }
    // And what cannot even be read: JSON nested 100,000 deep.
    let deep = format!(
        r#"{{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {{"uid": "deep", "kind": {{"group": "stackhook.io", "version": "v1alpha1", "kind": "Worker"}}, "operation": "CREATE", "object": {}{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    reviews.push(("deep".into(), "/validate", deep.into_bytes()));
    assert!(reviews.len() > 60, "{}", reviews.len());

    let timeout = Duration::from_secs(3);
    let server = start_with_env(
        &[
            "--catalog",
            catalog.path().to_str().unwrap(),
            "--ca-out",
            catalog.path().join("ca.crt.out").to_str().unwrap(),
            "--request-timeout",
            "3s",
            "--tls-handshake-timeout",
            "1s",
            "--decision-threads",
            "2",
        ],
        &[("STACKHOOK_TEST_CANARY", CANARY)],
    );
    let ca = std::fs::read_to_string(catalog.path().join("ca.crt.out")).unwrap();

    // Probes while the reviews run.
    let probe = server.probe;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut probes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                probes += 1;
                if let Err(e) = healthz_within_a_second(probe) {
                    failures.push(e);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (probes, failures)
        })
    };

    let rt = runtime();
    let answers = rt.block_on(async {
        let h1: HttpsClient<Full<Bytes>> = client(&ca, None, false);
        let h2: HttpsClient<Full<Bytes>> = client(&ca, None, true);
        let mut tasks = Vec::new();
        for (i, (uid, path, body)) in reviews.iter().cloned().enumerate() {
            let c = if i % 2 == 0 { h1.clone() } else { h2.clone() };
            let listen = server.listen;
            tasks.push(tokio::spawn(async move {
                // Within the deadline, with a second for the network and the TLS.
                let r = tokio::time::timeout(
                    timeout + Duration::from_secs(1),
                    post(&c, listen, path, body),
                )
                .await;
                (uid, r)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (probes, probe_failures) = prober.join().unwrap();

    let mut failures = Vec::new();
    for (uid, r) in &answers {
        match r {
            Err(_) => failures.push(format!("{uid}: no answer within the deadline")),
            Ok(Err(e)) => failures.push(format!("{uid}: {e}")),
            Ok(Ok((status, _, body))) => {
                let text = String::from_utf8_lossy(body);
                if text.contains(CANARY) {
                    failures.push(format!("{uid}: the answer holds the environment: {text}"));
                }
                // Refused as unreadable (or denied, if it waited out the deadline).
                if uid == "deep"
                    && !text
                        .contains("the review's object cannot be read: recursion limit exceeded")
                    && !text.contains("\"reason\":\"Timeout\"")
                {
                    failures.push(format!("deep: {status} {text}"));
                }
                let v: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(_) => {
                        failures.push(format!("{uid}: {status} {text}"));
                        continue;
                    }
                };
                if *status != 200 || v["response"]["uid"] != json!(uid) {
                    failures.push(format!("{uid}: {status} {text}"));
                }
                // The slow Workflow is stopped by the review's time budget (or, if it
                // waited, answered at the deadline), never left unanswered.
                if uid.starts_with("template-slow-workflow.yaml-1")
                    && !(text.contains("the review reached its time budget")
                        || text.contains("\"reason\":\"Timeout\""))
                {
                    failures.push(format!("{uid}: {text}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nserver log:\n{}",
        failures.join("\n"),
        server.log.lock().unwrap()
    );
    assert!(
        probe_failures.is_empty(),
        "/healthz failed {} of {probes} times: {probe_failures:?}",
        probe_failures.len()
    );
    assert!(probes > 0);

    // Still alive and healthy.
    let mut child = server;
    assert!(child.child.try_wait().unwrap().is_none(), "the server died");
    healthz_within_a_second(child.probe).unwrap();

    // A connection that never starts its TLS handshake is closed after the timeout.
    let mut idle = TcpStream::connect(child.listen).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 16];
    let n = idle
        .read(&mut buf)
        .expect("the server closes the connection");
    assert_eq!(n, 0, "the idle connection was closed");
    let _ = &mut child;
}
