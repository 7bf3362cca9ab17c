//! `charts/stackhook` installed by a real Helm (v4, as the library helm-sdkpy ships)
//! into a small fake API server on loopback (`tests/helm/`): what Helm sends is what a
//! cluster would get. Each values combination is checked against the Kubernetes
//! schema and for the properties users rely on: webhook selectors and `caBundle`,
//! least-privilege RBAC, the restricted security context, certificates kept across
//! upgrades.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use rustls::client::danger::ServerCertVerifier as _;
use serde_json::{Value, json};

use crate::support::{assert_kubernetes_valid, have_python_module, have_tool, repo, stackhook};

const NAMESPACE: &str = "stackhook-system";

/// Whether helm-sdkpy can be imported.
fn have_helm() -> bool {
    have_python_module("helm_sdkpy")
}

struct Release {
    install: Vec<Value>,
    upgrade_patched: Vec<String>,
    lint: Value,
}

fn helm(values: &Value, extra: &[&str]) -> Result<Release, String> {
    let out = Command::new("python3")
        .arg(repo("tests/helm/render.py"))
        .arg(repo("charts/stackhook"))
        .arg(values.to_string())
        .args(extra)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let release = |o: &&Value| o["type"] != "helm.sh/release.v1";
    Ok(Release {
        install: v["install"]
            .as_array()
            .unwrap()
            .iter()
            .filter(release)
            .cloned()
            .collect(),
        upgrade_patched: v["upgrade_patched"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|s| !s.starts_with("Secret/sh.helm.release"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        lint: v["lint"].clone(),
    })
}

fn install(values: Value) -> Vec<Value> {
    helm(&values, &[])
        .unwrap_or_else(|e| panic!("helm install failed: {e}"))
        .install
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

fn kinds(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every object of a kind the Kubernetes schema knows, through kubernetes-validate.
fn assert_valid(objects: &[Value]) {
    if !have_tool("kubernetes-validate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = objects
        .iter()
        .filter(|o| {
            !["Certificate", "Issuer", "ServiceMonitor"].contains(&o["kind"].as_str().unwrap_or(""))
        })
        .enumerate()
        .map(|(i, o)| crate::support::write(dir.path(), &format!("{i}.json"), &o.to_string()))
        .collect();
    assert_kubernetes_valid(&files);
}

fn webhooks(objects: &[Value]) -> Vec<&Value> {
    [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ]
    .iter()
    .flat_map(|k| {
        find(objects, k, "stackhook")["webhooks"]
            .as_array()
            .unwrap()
    })
    .collect()
}

fn ca_bundles(objects: &[Value]) -> BTreeSet<String> {
    webhooks(objects)
        .iter()
        .map(|w| {
            w["clientConfig"]["caBundle"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[test]
fn the_default_install_is_valid_and_safe() {
    if !have_helm() {
        return;
    }
    let release = helm(&json!({}), &["--lint"]).unwrap();
    // Lint: no warnings or errors (severity 2 and 3).
    assert_eq!(release.lint["Errors"], Value::Null, "{}", release.lint);
    for m in release.lint["Messages"].as_array().into_iter().flatten() {
        assert!(m["Severity"].as_i64() < Some(2), "lint: {m}");
    }
    let objects = release.install;
    assert_valid(&objects);
    assert_eq!(
        kinds(&objects),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
            "Deployment",
            "MutatingWebhookConfiguration",
            "PodDisruptionBudget",
            "Secret",
            "Service",
            "ServiceAccount",
            "ValidatingWebhookConfiguration",
        ]
        .map(String::from)
        .into()
    );

    // The CRDs Helm installed are `stackhook crds`.
    let crds: BTreeSet<String> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    let printed = stackhook(&["crds"], "").stdout;
    for name in &crds {
        assert!(printed.contains(&format!("name: {name}")), "{name}");
    }
    assert_eq!(crds.len(), 5);

    // Webhooks: v1 reviews, no side effects, the values' policy and timeout, the
    // release namespace and kube-system never sent.
    for w in webhooks(&objects) {
        assert_eq!(w["admissionReviewVersions"], json!(["v1"]));
        assert_eq!(w["sideEffects"], "None");
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["timeoutSeconds"], 10);
        assert_eq!(w["clientConfig"]["service"]["namespace"], NAMESPACE);
        if w["name"] != "stacks.stackhook.io" {
            assert_eq!(
                w["namespaceSelector"]["matchExpressions"][0],
                json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [NAMESPACE, "kube-system"]})
            );
        }
    }
    let validating = find(&objects, "ValidatingWebhookConfiguration", "stackhook");
    assert_eq!(
        validating["webhooks"][0]["rules"][0]["operations"],
        json!(["CREATE", "UPDATE", "DELETE"])
    );
    assert_eq!(
        validating["webhooks"][1]["rules"],
        json!([
            {"apiGroups": ["stackhook.io"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE", "DELETE"],
             "resources": ["depots"], "scope": "Namespaced"},
            {"apiGroups": ["stackhook.io"], "apiVersions": ["v1alpha1"], "operations": ["CREATE", "UPDATE"],
             "resources": ["workers", "services", "workflows"], "scope": "Namespaced"}
        ])
    );
    let mutating = &find(&objects, "MutatingWebhookConfiguration", "stackhook")["webhooks"][0];
    assert_eq!(mutating["reinvocationPolicy"], "IfNeeded");
    assert_eq!(mutating["rules"][0]["resources"], json!(["pods"]));
    assert_eq!(mutating["rules"][0]["operations"], json!(["CREATE"]));
    assert_eq!(
        mutating["objectSelector"],
        json!({"matchExpressions": [{"key": "stackhook.io/workload", "operator": "Exists"}]})
    );

    // RBAC: no wildcards; the webhook's account writes nothing. Without namespaces
    // for it, the controller is not deployed.
    assert_least_privilege(&objects);
    assert!(!objects.iter().any(|o| o["kind"] == "Role"));

    // The Deployment: two replicas apart, restricted, probes on the plain port.
    let deployment = find(&objects, "Deployment", "stackhook");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
            ["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(
        container["securityContext"],
        json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
               "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "metrics"})
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "metrics"})
    );
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.starts_with(&["serve", "--kube"]), "{args:?}");
    assert!(!args.contains(&"--controller"), "{args:?}");
    assert!(
        args.contains(&"--projector-image=ghcr.io/stackhook/stackhook:0.1.0"),
        "{args:?}"
    );
    // The container's flags are the binary's own (a renamed flag breaks this test).
    let help = stackhook(&["serve", "--help"], "").stdout;
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap();
        assert!(
            help.contains(flag),
            "{flag} is not a `stackhook serve` flag"
        );
    }
    assert_eq!(
        find(&objects, "PodDisruptionBudget", "stackhook")["spec"]["minAvailable"],
        1
    );
}

#[test]
fn the_self_signed_ca_is_the_webhooks_ca_and_survives_an_upgrade() {
    if !have_helm() {
        return;
    }
    let release = helm(&json!({}), &["--upgrade", "{}"]).unwrap();
    let objects = &release.install;
    let secret = find(objects, "Secret", "stackhook-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(
        secret["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    let ca = secret["data"]["ca.crt"].as_str().unwrap();
    assert_eq!(ca_bundles(objects), [ca.to_owned()].into());
    // The serving certificate is signed by that CA, for the Service's names.
    let pem = |field: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(secret["data"][field].as_str().unwrap())
            .unwrap()
    };
    stackhook::server::tls::certified_key(&pem("tls.crt"), &pem("tls.key")).unwrap();
    let der = |bytes: &[u8]| {
        let (_, p) = x509_parser::pem::parse_x509_pem(bytes).unwrap();
        p.contents
    };
    let (ca_der, cert_der) = (der(&pem("ca.crt")), der(&pem("tls.crt")));
    let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).unwrap();
    assert_eq!(cert.issuer(), ca_cert.subject());
    // The chain verifies for the Service's DNS name, as the API server checks it.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_der.clone().into()).unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        roots.into(),
        rustls::crypto::ring::default_provider().into(),
    )
    .build()
    .unwrap();
    verifier
        .verify_server_cert(
            &cert_der.clone().into(),
            &[],
            &rustls_pki_types::ServerName::try_from("stackhook.stackhook-system.svc").unwrap(),
            &[],
            rustls_pki_types::UnixTime::now(),
        )
        .unwrap();
    let sans = crate::support::subject_alt_names(&cert);
    assert!(
        sans.contains(&"DNSName(stackhook.stackhook-system.svc)".to_owned()),
        "{sans:?}"
    );
    let checksum = &find(objects, "Deployment", "stackhook")["spec"]["template"]["metadata"]["annotations"]
        ["checksum/tls"];
    assert!(
        checksum.as_str().is_some_and(|c| c.len() == 64),
        "{checksum}"
    );

    // `helm upgrade` reads the Secret back: the Secret, the webhooks' caBundle and the
    // Deployment (its checksum) are left as they were.
    for kept in [
        "Secret/stackhook-tls",
        "ValidatingWebhookConfiguration/stackhook",
        "MutatingWebhookConfiguration/stackhook",
        "Deployment/stackhook",
    ] {
        assert!(
            !release.upgrade_patched.contains(&kept.to_owned()),
            "{kept} changed: {:?}",
            release.upgrade_patched
        );
    }
}

/// `webhook.url`: the webhook configurations call a webhook outside the cluster, whose
/// host the self-signed certificate names (how the end-to-end suite runs it).
#[test]
fn an_outside_url_replaces_the_service_in_every_webhook() {
    if !have_helm() {
        return;
    }
    let objects = install(json!({"webhook": {"url": "https://localhost:9443"}}));
    for webhook in webhooks(&objects) {
        let config = &webhook["clientConfig"];
        assert!(config["service"].is_null(), "{config}");
        let url = config["url"].as_str().unwrap_or_default();
        assert!(
            url == "https://localhost:9443/validate" || url == "https://localhost:9443/mutate",
            "{url}"
        );
    }
    let secret = find(&objects, "Secret", "stackhook-tls");
    let pem = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["tls.crt"].as_str().unwrap())
        .unwrap();
    let (_, p) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&p.contents).unwrap();
    let sans = crate::support::subject_alt_names(&cert);
    assert!(sans.contains(&"DNSName(localhost)".to_owned()), "{sans:?}");
    // A path, query or plain http is refused by the values schema.
    for bad in [
        "https://localhost:9443/x",
        "http://localhost:9443",
        "localhost",
    ] {
        let err = helm(&json!({"webhook": {"url": bad}}), &[]).err();
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("webhook.url") || e.contains("url")),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn cert_manager_mode_injects_the_ca_from_its_certificate() {
    if !have_helm() {
        return;
    }
    let objects = install(
        json!({"certificates": {"mode": "certManager"}, "serviceMonitor": {"enabled": true}}),
    );
    assert_valid(&objects);
    for k in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        assert_eq!(
            find(&objects, k, "stackhook")["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "stackhook-system/stackhook"
        );
    }
    // cainjector fills caBundle; the chart leaves it out.
    assert_eq!(ca_bundles(&objects), [String::new()].into());
    let certificate = find(&objects, "Certificate", "stackhook");
    assert_eq!(certificate["spec"]["secretName"], "stackhook-tls");
    assert_eq!(
        certificate["spec"]["issuerRef"]["name"],
        "stackhook-selfsigned"
    );
    assert!(
        certificate["spec"]["dnsNames"]
            .as_array()
            .unwrap()
            .contains(&json!("stackhook.stackhook-system.svc"))
    );
    assert_eq!(
        find(&objects, "Issuer", "stackhook-selfsigned")["spec"],
        json!({"selfSigned": {}})
    );
    assert!(
        !objects.iter().any(|o| o["kind"] == "Secret"),
        "no Secret in cert-manager mode"
    );
    let monitor = find(&objects, "ServiceMonitor", "stackhook");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");

    // A given ClusterIssuer: no Issuer made.
    let objects = install(json!({"certificates": {"mode": "certManager",
        "certManager": {"issuerRef": {"name": "corp-ca", "kind": "ClusterIssuer"}}}}));
    assert_eq!(
        find(&objects, "Certificate", "stackhook")["spec"]["issuerRef"]["kind"],
        "ClusterIssuer"
    );
    assert!(!objects.iter().any(|o| o["kind"] == "Issuer"));
}

#[test]
fn existing_secret_mode_uses_the_given_secret_and_bundle() {
    if !have_helm() {
        return;
    }
    let objects = install(json!({
        "certificates": {"mode": "existingSecret", "existingSecret": {"name": "my-tls", "caBundle": "Q0E="}},
        "webhook": {"failurePolicy": "Ignore", "timeoutSeconds": 5, "excludeNamespaces": ["legacy"]},
        "controller": {"enabled": false},
    }));
    assert_valid(&objects);
    assert_eq!(ca_bundles(&objects), ["Q0E=".to_owned()].into());
    assert!(!objects.iter().any(|o| o["kind"] == "Secret"));
    let deployment = find(&objects, "Deployment", "stackhook");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
        "my-tls"
    );
    for w in webhooks(&objects) {
        assert_eq!(
            (w["failurePolicy"].as_str(), w["timeoutSeconds"].as_i64()),
            (Some("Ignore"), Some(5))
        );
    }
    let mutating = &find(&objects, "MutatingWebhookConfiguration", "stackhook")["webhooks"][0];
    assert_eq!(
        mutating["namespaceSelector"]["matchExpressions"][0]["values"],
        json!([NAMESPACE, "kube-system", "legacy"])
    );
    // Without the controller: read-only access, no Lease.
    assert!(!objects.iter().any(|o| o["kind"] == "Role"));
    assert_least_privilege(&objects);
}

const READ: [&str; 3] = ["get", "list", "watch"];

/// The rules bound to `account` (a ServiceAccount of the release), with the namespace
/// they apply in (`None`: every namespace).
fn rules_of<'a>(objects: &'a [Value], account: &str) -> Vec<(Option<&'a str>, &'a Value)> {
    let mut out = Vec::new();
    for binding in objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRoleBinding" || o["kind"] == "RoleBinding")
    {
        let bound = binding["subjects"].as_array().unwrap().iter().any(|s| {
            s["kind"] == "ServiceAccount" && s["name"] == account && s["namespace"] == NAMESPACE
        });
        if !bound {
            continue;
        }
        let namespace = binding["metadata"]["namespace"].as_str();
        let role_kind = binding["roleRef"]["kind"].as_str().unwrap();
        let role = objects
            .iter()
            .find(|o| {
                o["kind"] == role_kind
                    && o["metadata"]["name"] == binding["roleRef"]["name"]
                    && o["metadata"]["namespace"].as_str() == namespace
            })
            .unwrap_or_else(|| panic!("{binding} binds a role that is not installed"));
        for rule in role["rules"].as_array().unwrap() {
            out.push((namespace, rule));
        }
    }
    out
}

/// No wildcard in any rule; the webhook's account can only read; nothing can write
/// in the system namespaces; cluster-wide rules only read.
fn assert_least_privilege(objects: &[Value]) {
    for o in objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRole" || o["kind"] == "Role")
    {
        for rule in o["rules"].as_array().unwrap() {
            for field in ["apiGroups", "resources", "verbs"] {
                assert!(
                    !rule[field].as_array().unwrap().contains(&json!("*")),
                    "{} has a wildcard in {field}: {rule}",
                    o["metadata"]["name"]
                );
            }
        }
        // A ClusterRole aggregated into Kubernetes' default roles grants nothing by
        // itself: only through a binding of `edit`/`admin`/`view` that a cluster's admin
        // makes, per namespace. The chart binds it to no one.
        let aggregated = o["metadata"]["labels"].as_object().is_some_and(|l| {
            l.keys()
                .any(|k| k.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
        });
        if aggregated {
            let name = &o["metadata"]["name"];
            assert!(
                !objects.iter().any(|b| (b["kind"] == "ClusterRoleBinding"
                    || b["kind"] == "RoleBinding")
                    && &b["roleRef"]["name"] == name),
                "the chart binds the aggregated ClusterRole {name}"
            );
            continue;
        }
        if o["kind"] == "ClusterRole" {
            for rule in o["rules"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    assert!(
                        READ.contains(&verb.as_str().unwrap()),
                        "ClusterRole {} writes everywhere: {rule}",
                        o["metadata"]["name"]
                    );
                }
            }
        }
        assert!(
            !["kube-system", "kube-public", "kube-node-lease"]
                .contains(&o["metadata"]["namespace"].as_str().unwrap_or("")),
            "a Role in a system namespace: {o}"
        );
    }
    let webhook = rules_of(objects, "stackhook");
    assert!(!webhook.is_empty());
    for (_, rule) in webhook {
        assert_eq!(
            rule["verbs"],
            json!(READ),
            "the webhook's account may {rule}"
        );
    }
}

#[test]
fn the_controller_runs_apart_and_writes_only_in_its_namespaces() {
    if !have_helm() {
        return;
    }
    let objects = install(json!({
        "controller": {
            "namespaces": ["retail", "orders"],
            "resourceTemplateKinds": [{"kind": "SparkApplication", "group": "sparkoperator.k8s.io", "resource": "sparkapplications"}],
        },
        "networkPolicy": {"enabled": true, "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]},
    }));
    assert_valid(&objects);
    assert_least_privilege(&objects);
    find(&objects, "ServiceAccount", "stackhook");
    find(&objects, "ServiceAccount", "stackhook-controller");
    let webhook = find(&objects, "Deployment", "stackhook");
    let controller = find(&objects, "Deployment", "stackhook-controller");
    assert_eq!(
        controller["spec"]["template"]["spec"]["serviceAccountName"],
        "stackhook-controller"
    );
    // The webhook's Service and Deployment never select the controller's pods.
    let selector = &webhook["spec"]["selector"]["matchLabels"];
    let labels = &controller["spec"]["template"]["metadata"]["labels"];
    assert_ne!(
        selector["app.kubernetes.io/name"],
        labels["app.kubernetes.io/name"]
    );
    assert_eq!(
        find(&objects, "Service", "stackhook")["spec"]["selector"],
        *selector
    );
    let args: Vec<&str> = controller["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(args[0], "controller");
    assert!(args.contains(&"--namespaces=retail,orders"), "{args:?}");
    assert!(
        args.contains(&"--resource-template-kinds=SparkApplication.sparkoperator.k8s.io"),
        "{args:?}"
    );
    let help = stackhook(&["controller", "--help"], "").stdout;
    for arg in &args[1..] {
        let flag = arg.split('=').next().unwrap();
        assert!(
            help.contains(flag),
            "{flag} is not a `stackhook controller` flag"
        );
    }
    // Writes: a Role in each chosen namespace (with the resourceTemplate kind), and
    // the Lease in the release namespace; nowhere else.
    let writes: BTreeSet<&str> = rules_of(&objects, "stackhook-controller")
        .into_iter()
        .filter(|(_, r)| {
            r["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| !READ.contains(&v.as_str().unwrap()))
        })
        .map(|(ns, _)| ns.expect("a cluster-wide write"))
        .collect();
    assert_eq!(writes, ["orders", "retail", NAMESPACE].into());
    let retail = objects
        .iter()
        .find(|o| o["kind"] == "Role" && o["metadata"]["namespace"] == "retail")
        .unwrap();
    assert!(
        retail["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["resources"] == json!(["sparkapplications"])
                && r["apiGroups"] == json!(["sparkoperator.k8s.io"])),
        "{retail}"
    );
    let lease = find(&objects, "Role", "stackhook-leader-election");
    assert_eq!(lease["rules"][0]["resources"], json!(["leases"]));
    // The NetworkPolicy: the admission port from anywhere, metrics from monitoring.
    let policy = find(&objects, "NetworkPolicy", "stackhook");
    assert_eq!(
        policy["spec"]["ingress"][0],
        json!({"ports": [{"port": 8443, "protocol": "TCP"}]})
    );
    assert_eq!(
        policy["spec"]["ingress"][1]["from"],
        json!([{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}])
    );
}

#[test]
fn the_controller_is_refused_system_and_release_namespaces() {
    if !have_helm() {
        return;
    }
    for ns in ["kube-system", NAMESPACE] {
        let error = helm(&json!({"controller": {"namespaces": ["retail", ns]}}), &[])
            .err()
            .unwrap_or_else(|| panic!("{ns} was accepted"));
        assert!(
            error.contains(&format!(
                "controller.namespaces: \"{ns}\" is not a namespace the controller may manage"
            )),
            "{error}"
        );
    }
}

#[test]
fn bad_values_are_refused_by_the_schema() {
    if !have_helm() {
        return;
    }
    let cases = [
        (
            json!({"bogus": 1}),
            "at '': additional properties 'bogus' not allowed",
        ),
        (
            json!({"webhook": {"timeoutSeconds": 99}}),
            "at '/webhook/timeoutSeconds': maximum: got 99, want 30",
        ),
        (
            json!({"certificates": {"mode": "vault"}}),
            "at '/certificates/mode': value must be one of 'selfSigned', 'certManager', 'existingSecret'",
        ),
        (
            json!({"certificates": {"mode": "existingSecret"}}),
            "at '/certificates/existingSecret/name': minLength: got 0, want 1",
        ),
        (
            json!({"controller": {"extraRules": [{"apiGroups": ["x"], "resources": ["*"], "verbs": ["get"]}]}}),
            "at '/controller/extraRules/0/resources/0'",
        ),
    ];
    for (values, message) in cases {
        let error = helm(&values, &[])
            .err()
            .unwrap_or_else(|| panic!("{values} was accepted"));
        assert!(
            error.contains("values don't meet the specifications of the schema"),
            "{error}"
        );
        assert!(error.contains(message), "{values}: {error}");
    }
}

#[test]
fn the_image_runs_the_one_binary_as_the_charts_user() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --locked --bin stackhook"));
    assert!(dockerfile.contains("USER 65532:65532"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/usr/local/bin/stackhook"]"#));
    let deployment =
        std::fs::read_to_string(repo("charts/stackhook/templates/deployment.yaml")).unwrap();
    assert!(deployment.contains("runAsUser: 65532"));
}

#[test]
fn no_private_key_is_committed() {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo("."))
        .output()
        .unwrap();
    assert!(out.status.success(), "git ls-files failed");
    let files: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty())
        .collect();
    assert!(files.contains(&"certs/make-dev-certs.sh"), "{files:?}");
    let marker = ["-----BEGIN", " PRIVATE KEY-----"].concat();
    for f in files {
        let text = std::fs::read(repo(f)).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        assert!(!text.contains(&marker), "{f} holds a private key");
    }
}
