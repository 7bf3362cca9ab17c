//! The Depot: a named data source in a namespace, with references to the Kubernetes
//! Secrets that hold its credentials. stackhook never reads those Secrets; it only
//! mounts them into the pods that need them.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::serde_helpers::any_object_schema;
use super::stack::Acl;

/// A Depot: where data lives (`dataos://<depot>:<collection>/<dataset>` names it) and
/// which Secrets grant access to it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "stackhook.io",
    derive = "PartialEq",
    version = "v1alpha1",
    kind = "Depot",
    plural = "depots",
    shortname = "dpt",
    category = "stackhook",
    namespaced,
    doc = "A Depot: a named data source and the Secrets that grant read or read-write access to it.",
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DepotSpec {
    /// The kind of source: S3, GCS, ABFSS, POSTGRESQL, KAFKA, PULSAR, … (free text).
    #[serde(default)]
    pub r#type: String,
    /// Non-secret connection details (bucket, host, port, …), given to templates
    /// through `resolve`.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schemars(schema_with = "any_object_schema")]
    pub spec: serde_json::Map<String, serde_json::Value>,
    /// The Secrets (in this namespace) that grant access, one per ACL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<DepotSecret>,
    /// The source is managed outside the platform (DataOS's `external`; `.External`
    /// of `resolve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// The name the source is catalogued under (DataOS's `source`; `.Source` of
    /// `resolve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl DepotSpec {
    /// The Secret that grants `acl`. A read-write Secret also serves reads when the
    /// Depot has no read-only one.
    pub fn secret_for(&self, acl: Acl) -> Option<&DepotSecret> {
        self.secrets.iter().find(|s| s.acl == acl).or_else(|| {
            (acl == Acl::Read)
                .then(|| self.secrets.iter().find(|s| s.acl == Acl::ReadWrite))
                .flatten()
        })
    }
}

/// A reference to a Secret that grants access to a Depot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepotSecret {
    /// The Secret's name, in the Depot's namespace.
    pub name: String,
    /// The access it grants: `r` (read) or `rw` (read-write).
    pub acl: Acl,
    /// Keys to project as whole files (`<depot>_<key>`), e.g. a service-account JSON;
    /// all other keys become properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_falls_back_to_the_read_write_secret() {
        let d: DepotSpec = serde_json::from_value(json!({
            "type": "S3", "secrets": [{"name": "s3-rw", "acl": "rw"}]
        }))
        .unwrap();
        assert_eq!(d.secret_for(Acl::Read).unwrap().name, "s3-rw");
        assert_eq!(d.secret_for(Acl::ReadWrite).unwrap().name, "s3-rw");

        let d: DepotSpec = serde_json::from_value(json!({
            "type": "S3", "secrets": [{"name": "s3-r", "acl": "r"}]
        }))
        .unwrap();
        assert_eq!(d.secret_for(Acl::Read).unwrap().name, "s3-r");
        assert!(d.secret_for(Acl::ReadWrite).is_none());
    }

    #[test]
    fn rejects_an_unknown_acl() {
        let e =
            serde_json::from_value::<DepotSecret>(json!({"name": "x", "acl": "w"})).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown variant `w`, expected `r` or `rw`"),
            "{e}"
        );
    }
}
