//! The file catalog loader: directories, multi-document YAML, Lists, skips and errors.

use std::path::PathBuf;

use stackhook::load::load_catalog;
use stackhook_core::catalog::Catalog as _;
use stackhook_core::catalog::CatalogCounts;
use stackhook_core::model::{StackRef, WorkloadKind};

use crate::support::{repo, write};

#[test]
fn loads_the_example_catalog() {
    let (catalog, report) = load_catalog(&[repo("examples/catalog")]).unwrap();
    assert_eq!(
        catalog.counts(),
        CatalogCounts {
            stacks: 2,
            depots: 3,
            workloads: 3
        }
    );
    assert_eq!(report.resources, 8);
    assert_eq!(report.skipped, 0);
    let benthos = catalog.stack(&StackRef::parse("benthos").unwrap()).unwrap();
    assert_eq!(benthos.spec.version, "3.0");
    assert!(catalog.depot("retail", "gcdexport").is_some());
    assert!(
        catalog
            .workload("retail", WorkloadKind::Workflow, "city-export")
            .is_some()
    );
    let users: Vec<_> = catalog
        .workloads_using(&benthos)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        users,
        ["Worker retail/orders-stream", "Service retail/orders-api"]
    );
}

#[test]
fn reads_both_shapes_lists_and_skips_other_kinds() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nested/list.json",
        r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
             "metadata": {"name": "d", "namespace": "ns"}, "spec": {"type": "S3"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}
        ]}"#,
    );
    write(
        dir.path(),
        "native.yml",
        "name: s\ntype: stack\nstack:\n  version: 1.0\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n",
    );
    write(dir.path(), "README.md", "not a manifest: ignored");
    let (catalog, report) = load_catalog(&[PathBuf::from(dir.path())]).unwrap();
    assert_eq!(report.resources, 2);
    assert_eq!(report.skipped, 2);
    assert!(catalog.depot("ns", "d").is_some());
    // `version: 1.0` is a YAML number; it is read as the text "1.0".
    assert!(catalog.stack(&StackRef::parse("s:1.0").unwrap()).is_ok());
}

#[test]
fn reports_every_bad_document_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "kind: [\n");
    write(
        dir.path(),
        "b.yaml",
        "apiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata:\n  name: w\nspec:\n  stack: ok:1\n---\napiVersion: stackhook.io/v1alpha1\nkind: Worker\nmetadata:\n  name: v\nspec:\n  replicas: x\n  stack: ok:1\n",
    );
    let errors = load_catalog(&[PathBuf::from(dir.path())]).unwrap_err();
    let text = errors.to_string();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(&format!("{}:2:1: ", dir.path().join("a.yaml").display())),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{}:13:3: Worker v: spec.replicas: invalid type: string \"x\"",
            dir.path().join("b.yaml").display()
        )),
        "{text}"
    );
}

#[test]
fn rejects_two_stacks_with_the_same_name_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let stack = |meta: &str| {
        format!(
            "apiVersion: stackhook.io/v1alpha1\nkind: Stack\nmetadata:\n  name: {meta}\nspec:\n  name: benthos\n  version: \"3.0\"\n"
        )
    };
    write(dir.path(), "a.yaml", &stack("one"));
    write(dir.path(), "b.yaml", &format!("# second\n{}", stack("two")));
    let errors = load_catalog(&[PathBuf::from(dir.path())]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "{}:2:1: stack benthos:3.0 is defined twice: by \"one\" and by \"two\"",
            dir.path().join("b.yaml").display()
        )
    );
}
