//! `stackhook serve` over real HTTPS on 127.0.0.1, with certificates made at test time.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

use crate::support::repo;

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) listen: SocketAddr,
    pub(crate) probe: SocketAddr,
    pub(crate) log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, key: &str) -> Option<SocketAddr> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    line[start..].split_whitespace().next()?.parse().ok()
}

/// Starts `stackhook serve` on free ports and waits until it is ready.
fn start(args: &[&str]) -> Server {
    start_with_env(args, &[])
}

/// [`start`] with environment variables.
pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackhook"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--probe-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let (Some(l), Some(p)) = (field(&line, "listen"), field(&line, "probe")) {
                    let _ = tx.send((l, p));
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
    }
    let (listen, probe) = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().unwrap()));
    let server = Server {
        child,
        listen,
        probe,
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if probe_get(server.probe, "/readyz").0 == 200 {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server not ready: {}", server.log.lock().unwrap());
}

/// A plain HTTP GET on the probe port: status and body.
pub(crate) fn probe_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub(crate) type HttpsClient<B> =
    Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, B>;

pub(crate) fn tls_config(ca_pem: &str, identity: Option<(&str, &str)>) -> rustls::ClientConfig {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    }
}

pub(crate) fn client<B>(ca_pem: &str, identity: Option<(&str, &str)>, http2: bool) -> HttpsClient<B>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(ca_pem, identity))
        .https_only();
    // Offer one protocol by ALPN, so the test knows which one it speaks.
    let connector = if http2 {
        builder.enable_http2().build()
    } else {
        builder.enable_http1().build()
    };
    Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build(connector)
}

pub(crate) async fn post(
    c: &HttpsClient<Full<Bytes>>,
    addr: SocketAddr,
    path: &str,
    body: Vec<u8>,
) -> Result<(u16, hyper::Version, Vec<u8>), String> {
    let req = hyper::Request::post(format!("https://localhost:{}{path}", addr.port()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = c.request(req).await.map_err(|e| format!("{e:?}"))?;
    let (status, version) = (resp.status().as_u16(), resp.version());
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, version, bytes.to_vec()))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo(&format!("tests/fixtures/reviews/{name}.json"))).unwrap()
}

/// Polls `check` every 200 ms until it holds; fails after 10 s with `what` and the
/// server's log.
async fn eventually<F, Fut>(server: &Server, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what}: {}",
            server.log.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Writes a certificate pair the way a Secret volume holds it (files behind `..data`).
fn write_secret_volume(dir: &Path, generation: &str, bundle: &stackhook::certs::Bundle) {
    let gen_dir = dir.join(generation);
    std::fs::create_dir_all(&gen_dir).unwrap();
    std::fs::write(gen_dir.join("tls.crt"), &bundle.cert_pem).unwrap();
    std::fs::write(gen_dir.join("tls.key"), &bundle.key_pem).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    symlink(generation, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for f in ["tls.crt", "tls.key"] {
        if std::fs::symlink_metadata(dir.join(f)).is_err() {
            symlink(Path::new("..data").join(f), dir.join(f)).unwrap();
        }
    }
}

#[test]
fn validates_and_mutates_over_https_http1_and_http2() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = stackhook::certs::generate(&["localhost".into()]).unwrap();
    let paths = stackhook::certs::write_bundle(&bundle, dir.path()).unwrap();
    let server = start(&[
        "--tls-cert",
        paths[1].to_str().unwrap(),
        "--tls-key",
        paths[2].to_str().unwrap(),
        "--catalog",
        "examples/catalog",
    ]);
    let rt = runtime();
    rt.block_on(async {
        for http2 in [false, true] {
            let c = client(&bundle.ca_pem, None, http2);
            let (status, version, body) =
                post(&c, server.listen, "/validate", fixture("worker-create"))
                    .await
                    .unwrap();
            assert_eq!(status, 200);
            assert_eq!(
                version,
                if http2 {
                    hyper::Version::HTTP_2
                } else {
                    hyper::Version::HTTP_11
                }
            );
            let r: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(r["response"]["allowed"], true);
            let (_, _, body) = post(
                &c,
                server.listen,
                "/validate",
                fixture("worker-create-invalid"),
            )
            .await
            .unwrap();
            let r: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(r["response"]["allowed"], false);
            assert_eq!(
                r["response"]["status"]["details"]["causes"][0]["field"],
                "spec.stackSpec"
            );
            let (_, _, body) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .unwrap();
            let r: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(r["response"]["uid"], "0a1b2c3d-0001-4000-8000-000000000001");
            assert_eq!(r["response"]["patchType"], "JSONPatch");
        }
    });
    let (status, metrics) = probe_get(server.probe, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("stackhook_admission_requests_total{endpoint=\"mutate\",kind=\"Pod\",operation=\"CREATE\",result=\"patched\"} 2"), "{metrics}");
    assert!(
        metrics.contains("stackhook_admission_denials_total{kind=\"Worker\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("stackhook_admission_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("stackhook_catalog_objects{kind=\"Stack\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("stackhook_tls_certificate_expiry_timestamp_seconds"),
        "{metrics}"
    );
    assert_eq!(probe_get(server.probe, "/healthz"), (200, "ok".into()));
    // One log line per decision, with uid, kind, object, operation, result, latency.
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("admission decision uid=0a1b2c3d-0010-4000-8000-000000000010 endpoint=\"validate\" kind=Worker object=Worker retail/orders-broken operation=CREATE result=\"denied\" latency_us="), "{log}");
}

#[test]
fn rejects_oversized_and_malformed_requests() {
    // Self-signed mode: the CA bundle it writes is what clients trust.
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.crt");
    let server = start(&["--ca-out", ca_path.to_str().unwrap()]);
    let ca_pem = std::fs::read_to_string(&ca_path).unwrap();
    let rt = runtime();
    rt.block_on(async {
        // Over HTTP/2 an early answer to a large upload arrives cleanly; over HTTP/1.1
        // the server closes while the client may still be sending.
        let h2 = client(&ca_pem, None, true);
        let c = client(&ca_pem, None, false);
        let (status, _, body) = post(&h2, server.listen, "/validate", vec![b' '; 4 * 1024 * 1024])
            .await
            .unwrap();
        assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
        let (status, _, body) = post(
            &c,
            server.listen,
            "/validate",
            b"{\"apiVersion\": ".to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(status, 400);
        assert_eq!(
            String::from_utf8_lossy(&body),
            "cannot decode the AdmissionReview: EOF while parsing a value at line 1 column 15"
        );
        // Still serving.
        let (status, _, _) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
            .await
            .unwrap();
        assert_eq!(status, 200);
    });
}

#[test]
fn picks_up_a_rotated_certificate_while_old_connections_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let first = stackhook::certs::generate(&["localhost".into()]).unwrap();
    write_secret_volume(dir.path(), "..gen1", &first);
    let server = start(&[
        "--tls-cert",
        dir.path().join("tls.crt").to_str().unwrap(),
        "--tls-key",
        dir.path().join("tls.key").to_str().unwrap(),
    ]);
    let rt = runtime();
    rt.block_on(async {
        let old = client(&first.ca_pem, None, true);
        assert_eq!(
            post(&old, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .unwrap()
                .0,
            200
        );

        let second = stackhook::certs::generate(&["localhost".into()]).unwrap();
        write_secret_volume(dir.path(), "..gen2", &second);
        eventually(&server, "rotated certificate not served", || async {
            // A new connection trusting only the new CA.
            let fresh = client(&second.ca_pem, None, true);
            post(&fresh, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .is_ok()
        })
        .await;
        // The connection made before the rotation still works.
        assert_eq!(
            post(&old, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .unwrap()
                .0,
            200
        );
        // A new connection trusting only the old CA is refused the new certificate.
        let stale = client(&first.ca_pem, None, true);
        assert!(
            post(&stale, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .is_err()
        );
    });
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .contains("serving certificate reloaded")
    );
}

#[test]
fn requires_a_client_certificate_when_a_client_ca_is_given() {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa,
        KeyPair,
    };
    let dir = tempfile::tempdir().unwrap();
    let serving = stackhook::certs::generate(&["localhost".into()]).unwrap();
    let paths = stackhook::certs::write_bundle(&serving, dir.path()).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let client_ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.path().join("client-ca.crt"), client_ca.pem()).unwrap();
    let mut leaf = CertificateParams::new(vec!["kube-apiserver".into()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &client_ca).unwrap();
    let server = start(&[
        "--tls-cert",
        paths[1].to_str().unwrap(),
        "--tls-key",
        paths[2].to_str().unwrap(),
        "--client-ca",
        dir.path().join("client-ca.crt").to_str().unwrap(),
    ]);
    let rt = runtime();
    rt.block_on(async {
        let anonymous = client(&serving.ca_pem, None, false);
        assert!(
            post(
                &anonymous,
                server.listen,
                "/mutate",
                fixture("deployment-pod")
            )
            .await
            .is_err()
        );
        let apiserver = client(
            &serving.ca_pem,
            Some((&cert.pem(), &key.serialize_pem())),
            false,
        );
        assert_eq!(
            post(
                &apiserver,
                server.listen,
                "/mutate",
                fixture("deployment-pod")
            )
            .await
            .unwrap()
            .0,
            200
        );
    });
}

#[test]
fn after_sigterm_a_shutdown_delay_keeps_answering_while_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = stackhook::certs::generate(&["localhost".into()]).unwrap();
    let paths = stackhook::certs::write_bundle(&bundle, dir.path()).unwrap();
    // Long enough that everything below happens within it (the process is killed when
    // the test ends).
    let server = start(&[
        "--tls-cert",
        paths[1].to_str().unwrap(),
        "--tls-key",
        paths[2].to_str().unwrap(),
        "--shutdown-delay",
        "120s",
    ]);
    assert_eq!(probe_get(server.probe, "/readyz").0, 200);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Not ready at once, saying why…
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let (status, body) = probe_get(server.probe, "/readyz");
        if status != 200 || Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        (status, body.as_str()),
        (503, "not ready: shutdown: shutting down")
    );
    // …and still answering reviews on new connections: the API server may route
    // calls here until it has seen the endpoint go.
    let rt = runtime();
    rt.block_on(async {
        let c = client(&bundle.ca_pem, None, false);
        let (status, _, bytes) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
            .await
            .expect("a review answered during the shutdown delay");
        assert_eq!(status, 200);
        let r: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(r["response"]["allowed"], true);
    });
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .contains("stopping: not ready; still serving until the endpoint is gone"),
        "{}",
        server.log.lock().unwrap()
    );
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = stackhook::certs::generate(&["localhost".into()]).unwrap();
    let paths = stackhook::certs::write_bundle(&bundle, dir.path()).unwrap();
    let mut server = start(&[
        "--tls-cert",
        paths[1].to_str().unwrap(),
        "--tls-key",
        paths[2].to_str().unwrap(),
    ]);
    let rt = runtime();
    let body = fixture("deployment-pod");
    let (head, tail) = body.split_at(body.len() / 2);
    let (head, tail) = (Bytes::copy_from_slice(head), Bytes::copy_from_slice(tail));
    rt.block_on(async {
        type Chunks = tokio::sync::mpsc::Receiver<Result<Frame<Bytes>, std::convert::Infallible>>;
        let c: HttpsClient<StreamBody<tokio_stream_shim::Stream<Chunks>>> =
            client(&bundle.ca_pem, None, true);
        let mut senders = Vec::new();
        let mut pending = Vec::new();
        for _ in 0..20 {
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            tx.send(Ok(Frame::data(head.clone()))).await.unwrap();
            let req =
                hyper::Request::post(format!("https://localhost:{}/mutate", server.listen.port()))
                    .body(StreamBody::new(tokio_stream_shim::Stream(rx)))
                    .unwrap();
            pending.push(tokio::spawn(c.request(req)));
            senders.push(tx);
        }
        // Every request is half sent; now the server is told to stop.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = server.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        for tx in senders {
            tx.send(Ok(Frame::data(tail.clone()))).await.unwrap();
        }
        for p in pending {
            let resp = p.await.unwrap().expect("a request in flight was lost");
            assert_eq!(resp.status(), 200);
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let r: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(r["response"]["allowed"], true);
        }
    });
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "exit: {status:?}\n{}",
        server.log.lock().unwrap()
    );
    assert!(
        server
            .log
            .lock()
            .unwrap()
            .contains("stopping: no new connections")
    );
}

#[test]
fn reloads_the_catalog_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["stack-benthos.yaml", "stack-flare.yaml", "depots.yaml"] {
        std::fs::copy(repo(&format!("examples/catalog/{f}")), dir.path().join(f)).unwrap();
    }
    let server = start(&[
        "--catalog",
        dir.path().to_str().unwrap(),
        "--ca-out",
        dir.path().join("ca.pem").to_str().unwrap(),
    ]);
    let ca_pem = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let c = client(&ca_pem, None, false);
        let deny = |body: Vec<u8>| {
            let r: Value = serde_json::from_slice(&body).unwrap();
            r["response"]["allowed"] == false
        };
        // No workloads yet: the pod's workload is unknown.
        let (_, _, body) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
            .await
            .unwrap();
        assert!(deny(body));
        std::fs::copy(
            repo("examples/catalog/workloads.yaml"),
            dir.path().join("workloads.yaml"),
        )
        .unwrap();
        eventually(&server, "catalog not reloaded", || async {
            let (_, _, body) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .unwrap();
            !deny(body)
        })
        .await;
        // The webhook keeps each workload's patch for its catalog: a changed workload
        // changes the next pod's patch.
        let batch_size = |body: Vec<u8>| {
            let r: Value = serde_json::from_slice(&body).unwrap();
            let patch = base64::engine::general_purpose::STANDARD
                .decode(r["response"]["patch"].as_str().unwrap())
                .unwrap();
            let ops: Vec<Value> = serde_json::from_slice(&patch).unwrap();
            ops.iter()
                .find(|op| op["value"]["name"] == "BATCH_SIZE")
                .map(|op| op["value"]["value"].as_str().unwrap().to_owned())
        };
        let (_, _, body) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
            .await
            .unwrap();
        assert_eq!(batch_size(body).as_deref(), Some("500"));
        let workloads = std::fs::read_to_string(repo("examples/catalog/workloads.yaml")).unwrap();
        std::fs::write(
            dir.path().join("workloads.yaml"),
            workloads.replace("BATCH_SIZE: \"500\"", "BATCH_SIZE: \"800\""),
        )
        .unwrap();
        eventually(&server, "changed workload not used", || async {
            let (_, _, body) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
                .await
                .unwrap();
            batch_size(body).as_deref() == Some("800")
        })
        .await;
        // A broken file: the last good catalog keeps serving.
        std::fs::write(dir.path().join("broken.yaml"), "kind: [\n").unwrap();
        eventually(&server, "broken catalog not reported", || async {
            server
                .log
                .lock()
                .unwrap()
                .contains("catalog reload failed; keeping the last good catalog")
        })
        .await;
        let (_, _, body) = post(&c, server.listen, "/mutate", fixture("deployment-pod"))
            .await
            .unwrap();
        assert!(!deny(body));
    });
    assert!(server.log.lock().unwrap().contains("broken.yaml:2:1"));
}

#[test]
fn certs_command_writes_a_verifiable_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let run = crate::support::stackhook(
        &[
            "certs",
            "--dns",
            "stackhook.stackhook-system.svc",
            "--dns",
            "stackhook.stackhook-system.svc.cluster.local",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
    let cert = CertificateDer::from_pem_slice(&read("tls.crt")).unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
    let sans = crate::support::subject_alt_names(&parsed);
    assert_eq!(
        sans,
        [
            "DNSName(stackhook.stackhook-system.svc)",
            "DNSName(stackhook.stackhook-system.svc.cluster.local)"
        ]
    );
    // The serving pair loads, and the key is owner-only.
    stackhook::server::tls::certified_key(&read("tls.crt"), &read("tls.key")).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(dir.path().join("tls.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let run = crate::support::stackhook(&["certs", "--out", dir.path().to_str().unwrap()], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--dns <NAME>"), "{}", run.stderr);
}

/// A tiny `Stream` over a tokio receiver (no tokio-stream dependency for one test).
mod tokio_stream_shim {
    pub struct Stream<R>(pub R);

    impl<T> futures_core::Stream for Stream<tokio::sync::mpsc::Receiver<T>> {
        type Item = T;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<T>> {
            self.0.poll_recv(cx)
        }
    }
}

#[test]
fn closes_connections_that_stall_before_their_headers_or_sit_idle() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    let server = start(&[
        "--ca-out",
        ca.to_str().unwrap(),
        "--header-read-timeout",
        "1s",
        "--idle-timeout",
        "1s",
    ]);
    let ca = std::fs::read_to_string(ca).unwrap();
    let connect = || {
        let config = Arc::new(tls_config(&ca, None));
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config, name).unwrap();
        let tcp = std::net::TcpStream::connect(server.listen).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    };
    // Headers that never end: closed at the header-read timeout (hyper's timer is
    // set, so the timeout is not silently off).
    let mut stalled = connect();
    stalled
        .write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    let mut out = Vec::new();
    let r = stalled.read_to_end(&mut out);
    assert!(
        r.is_ok() || matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof),
        "{r:?}"
    );
    // A connection that handshakes and then says nothing: closed when idle.
    let mut idle = connect();
    idle.write_all(b"").unwrap();
    idle.flush().unwrap();
    let mut out = Vec::new();
    let r = idle.read_to_end(&mut out);
    assert!(
        r.is_ok() || matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof),
        "{r:?}"
    );
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    // And the server still serves.
    assert_eq!(probe_get(server.probe, "/healthz").0, 200);
}
