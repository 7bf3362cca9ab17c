//! `resolve "dataos://depot:collection/dataset"` for templates: the address's parts
//! and its Depot's type and (non-secret) details, read from the catalog.

use super::funcs::Resolver;
use crate::address::Address;
use crate::catalog::Catalog;

/// Resolves addresses against the Depots of one namespace.
pub struct CatalogResolver<'a> {
    /// Where Depots are looked up.
    pub catalog: &'a dyn Catalog,
    /// The workload's namespace.
    pub namespace: &'a str,
}

impl Resolver for CatalogResolver<'_> {
    /// `{Depot, Collection, Dataset, Type, Acl, Spec}` (`Acl` from `?acl=`, else empty)
    /// plus the Depot's `spec` keys at the top
    /// (`(resolve "dataos://icebase").account`), where they do not collide.
    fn resolve(&self, address: &str) -> Result<serde_json::Value, String> {
        let parsed = Address::parse(address).map_err(|e| e.to_string())?;
        let depot = self
            .catalog
            .depot(self.namespace, &parsed.depot)
            .ok_or_else(|| {
                format!(
                    "depot {:?} not found in namespace {:?}",
                    parsed.depot, self.namespace
                )
            })?;
        let spec = serde_json::Value::Object(depot.spec.spec.clone());
        let mut out = depot.spec.spec.clone();
        let text = |s: Option<&String>| serde_json::Value::from(s.map_or("", String::as_str));
        out.insert("Depot".into(), parsed.depot.clone().into());
        out.insert("Collection".into(), text(parsed.collection.as_ref()));
        out.insert("Dataset".into(), text(parsed.dataset.as_ref()));
        out.insert("Type".into(), depot.spec.r#type.clone().into());
        out.insert("Acl".into(), parsed.acl().unwrap_or_default().into());
        out.insert("Spec".into(), spec);
        Ok(serde_json::Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryCatalog;
    use crate::model::{Parsed, parse_document};
    use crate::template::{CallContext, Limits, Template};
    use serde_json::json;

    fn catalog() -> MemoryCatalog {
        let mut c = MemoryCatalog::new();
        let doc = json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
            "metadata": {"name": "icebase", "namespace": "retail"},
            "spec": {"type": "ABFSS", "spec": {"account": "lake", "container": "c1"}}});
        let Parsed::Resource(r) = parse_document(doc).unwrap() else {
            panic!()
        };
        c.insert(*r).unwrap();
        c
    }

    fn render(t: &str, namespace: &str) -> Result<String, String> {
        let catalog = catalog();
        let resolver = CatalogResolver {
            catalog: &catalog,
            namespace,
        };
        let context = CallContext {
            resolver: Some(&resolver),
            ..CallContext::default()
        };
        Template::parse("t", t)
            .and_then(|t| t.execute_json(&json!({}), &context, &Limits::default()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn resolves_parts_type_and_details() {
        let out = render(
            r#"{{ with resolve "dataos://icebase:retail/city" }}{{ .Depot }}|{{ .Collection }}|{{ .Dataset }}|{{ .Type }}|{{ .account }}|{{ .Spec.container }}{{ end }}"#,
            "retail",
        );
        assert_eq!(out.unwrap(), "icebase|retail|city|ABFSS|lake|c1");
    }

    #[test]
    fn reports_unknown_depots_and_bad_addresses_at_the_call() {
        assert_eq!(
            render(r#"{{ resolve "dataos://icebase" }}"#, "other").unwrap_err(),
            r#"template: t:1:3: executing "t" at <resolve "dataos://icebase">: error calling resolve: depot "icebase" not found in namespace "other""#
        );
        assert!(
            render(r#"{{ resolve "dataos://Bad" }}"#, "retail")
                .unwrap_err()
                .contains("invalid character 'B'")
        );
    }

    #[test]
    fn without_a_catalog_resolve_fails_clearly() {
        let t = Template::parse("t", r#"{{ resolve "dataos://icebase" }}"#).unwrap();
        let e = t
            .execute_json(&json!({}), &CallContext::default(), &Limits::default())
            .unwrap_err();
        assert!(
            e.to_string()
                .ends_with(r#"error calling resolve: no catalog to resolve "dataos://icebase" in"#),
            "{e}"
        );
    }
}
