//! `stackhook crds`: the generated CRDs, the chart's copy, and the API server's schema.

use crate::support::{assert_kubernetes_valid, have_tool, repo, stackhook};

const CHART_CRDS: &str = "charts/stackhook/crds/stackhook-crds.yaml";

#[test]
fn crds_prints_five_crds() {
    let run = stackhook(&["crds"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = goyaml::parse_documents(&run.stdout).unwrap();
    let kinds: Vec<_> = docs
        .iter()
        .map(|d| {
            d.value["spec"]["names"]["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["Stack", "Depot", "Worker", "Service", "Workflow"]);
    for d in &docs {
        assert_eq!(d.value["apiVersion"], "apiextensions.k8s.io/v1");
        let schema = &d.value["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert!(
            schema["description"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );
    }
}

#[test]
fn chart_crds_match_the_generator() {
    let run = stackhook(&["crds"], "");
    let committed = std::fs::read_to_string(repo(CHART_CRDS)).unwrap();
    assert!(
        run.stdout == committed,
        "{CHART_CRDS} differs from `stackhook crds`; regenerate it with:\n  cargo run -- crds > {CHART_CRDS}"
    );
}

#[test]
fn crds_pass_kubernetes_validate() {
    if !have_tool("kubernetes-validate") {
        return;
    }
    assert_kubernetes_valid(&[repo(CHART_CRDS)]);
}
