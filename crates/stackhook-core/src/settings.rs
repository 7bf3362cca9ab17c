//! Per-namespace defaults from the `stackhook-config` ConfigMap (SPEC §5), chosen the
//! way the koalja operator chooses a domain suffix (seeds/001): every entry of the
//! ConfigMap's `data` is a YAML document with an optional `selector` (labels) and
//! settings; among the entries whose selector matches the workload's labels, the most
//! specific (the most labels) wins, and an entry without a selector matches everything
//! as the least specific. Ties go to the entry whose key sorts first. A ConfigMap in
//! the workload's namespace is consulted before the one in the release namespace.
//!
//! ```yaml
//! apiVersion: v1
//! kind: ConfigMap
//! metadata: {name: stackhook-config, namespace: retail}
//! data:
//!   prod: |
//!     selector: {env: prod}
//!     ingressDomainSuffix: prod.example.org
//!     secretRefresh: true
//!     projectorResources: {limits: {memory: 32Mi}}
//!     allowedServiceAccounts: [orders-writer]
//!     enforcement: Enforce
//!   default: |
//!     ingressDomainSuffix: example.org
//!     enforcement: Warn
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::Enforcement;

/// The name of the ConfigMap.
pub const CONFIG_MAP_NAME: &str = "stackhook-config";

/// Settings an entry may give; unset ones fall through to the next source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Labels the workload must carry for the entry to apply.
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    /// Hosts of Ingresses are `<name>.<namespace>.<suffix>`.
    #[serde(default)]
    pub ingress_domain_suffix: Option<String>,
    /// The projector image.
    #[serde(default)]
    pub projector_image: Option<String>,
    /// The projector containers' `resources` (requests and limits).
    #[serde(default)]
    pub projector_resources: Option<Value>,
    /// Run the refresh sidecar for every pod.
    #[serde(default)]
    pub secret_refresh: Option<bool>,
    /// The ServiceAccounts workloads may run as (`spec.serviceAccountName`), besides
    /// the namespace's `default` and those the workload's Stack allows.
    #[serde(default)]
    pub allowed_service_accounts: Option<Vec<String>>,
    /// The platform's host name, `.DataOsFqdn` in templates (DataOS Stacks build
    /// URLs from it); the Ingress domain suffix when unset.
    #[serde(default)]
    pub data_os_fqdn: Option<String>,
    /// Overrides the `enforcement` of every Stack for the workloads the entry
    /// selects: `Enforce`, `Warn` or `Audit`.
    #[serde(default)]
    pub enforcement: Option<Enforcement>,
}

/// An entry that is not usable, named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{config_map} entry {key:?}: {message}")]
pub struct SettingsError {
    /// `namespace/stackhook-config`.
    pub config_map: String,
    /// The data key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// The entries of one `stackhook-config` ConfigMap (as JSON), parsed.
pub fn entries(config_map: &Value) -> Result<Vec<(String, Settings)>, SettingsError> {
    let name = format!(
        "{}/{}",
        config_map
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        CONFIG_MAP_NAME
    );
    let mut out = Vec::new();
    if let Some(data) = config_map.get("data").and_then(Value::as_object) {
        for (key, text) in data {
            let err = |message: String| SettingsError {
                config_map: name.clone(),
                key: key.clone(),
                message,
            };
            let text = text.as_str().unwrap_or_default();
            let docs = goyaml::parse_documents(text).map_err(|e| err(e.to_string()))?;
            let value = docs
                .into_iter()
                .next()
                .map_or(Value::Object(serde_json::Map::new()), |d| d.value);
            let settings: Settings =
                serde_json::from_value(value).map_err(|e| err(e.to_string()))?;
            out.push((key.clone(), settings));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The entry that applies to a workload with `labels`: the matching one with the most
/// specific selector.
pub fn choose<'a>(
    entries: &'a [(String, Settings)],
    labels: &BTreeMap<String, String>,
) -> Option<&'a Settings> {
    entries
        .iter()
        .filter(|(_, s)| s.selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
        .max_by(|(ka, a), (kb, b)| {
            a.selector
                .len()
                .cmp(&b.selector.len())
                .then_with(|| kb.cmp(ka))
        })
        .map(|(_, s)| s)
}

/// The settings for a workload: its namespace's entry, then the release namespace's,
/// field by field.
pub fn resolve(sources: &[&[(String, Settings)]], labels: &BTreeMap<String, String>) -> Settings {
    let mut out = Settings::default();
    for entries in sources {
        if let Some(s) = choose(entries, labels) {
            out.ingress_domain_suffix = out
                .ingress_domain_suffix
                .or_else(|| s.ingress_domain_suffix.clone());
            out.projector_image = out.projector_image.or_else(|| s.projector_image.clone());
            out.projector_resources = out
                .projector_resources
                .or_else(|| s.projector_resources.clone());
            out.secret_refresh = out.secret_refresh.or(s.secret_refresh);
            out.allowed_service_accounts = out
                .allowed_service_accounts
                .or_else(|| s.allowed_service_accounts.clone());
            out.data_os_fqdn = out.data_os_fqdn.or_else(|| s.data_os_fqdn.clone());
            out.enforcement = out.enforcement.or(s.enforcement);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(namespace: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP_NAME, "namespace": namespace}, "data": data})
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_most_specific_matching_selector_wins() {
        let e = entries(&cm("retail", json!({
            "default": "ingressDomainSuffix: example.com\n",
            "prod": "selector: {env: prod}\ningressDomainSuffix: prod.example.org\n",
            "prod-eu": "selector: {env: prod, region: eu}\ningressDomainSuffix: eu.prod.example.org\n",
        })))
        .unwrap();
        let suffix = |l: &[(&str, &str)]| {
            choose(&e, &labels(l)).and_then(|s| s.ingress_domain_suffix.clone())
        };
        assert_eq!(suffix(&[]).as_deref(), Some("example.com"));
        assert_eq!(
            suffix(&[("env", "prod")]).as_deref(),
            Some("prod.example.org")
        );
        assert_eq!(
            suffix(&[("env", "prod"), ("region", "eu"), ("x", "y")]).as_deref(),
            Some("eu.prod.example.org")
        );
        assert_eq!(
            suffix(&[("env", "dev"), ("region", "eu")]).as_deref(),
            Some("example.com")
        );
    }

    #[test]
    fn ties_go_to_the_first_key_and_nothing_may_match() {
        let e = entries(&cm(
            "ns",
            json!({
                "b": "selector: {team: a}\nprojectorImage: b\n",
                "a": "selector: {team: a}\nprojectorImage: a\n",
            }),
        ))
        .unwrap();
        assert_eq!(
            choose(&e, &labels(&[("team", "a")]))
                .unwrap()
                .projector_image
                .as_deref(),
            Some("a")
        );
        assert!(choose(&e, &labels(&[("team", "z")])).is_none());
    }

    #[test]
    fn the_workload_namespace_comes_before_the_release_namespace() {
        let local = entries(&cm("retail", json!({"default": "secretRefresh: true\n"}))).unwrap();
        let release = entries(&cm(
            "stackhook-system",
            json!({"default": "secretRefresh: false\ningressDomainSuffix: corp.example\n"}),
        ))
        .unwrap();
        let s = resolve(&[&local, &release], &labels(&[]));
        assert_eq!(s.secret_refresh, Some(true));
        assert_eq!(s.ingress_domain_suffix.as_deref(), Some("corp.example"));
    }

    #[test]
    fn enforcement_is_chosen_like_every_setting() {
        let local = entries(&cm(
            "retail",
            json!({"canary": "selector: {track: canary}\nenforcement: Warn\n"}),
        ))
        .unwrap();
        let release = entries(&cm(
            "stackhook-system",
            json!({"default": "enforcement: Audit\n"}),
        ))
        .unwrap();
        let mode = |l: &[(&str, &str)]| resolve(&[&local, &release], &labels(l)).enforcement;
        assert_eq!(mode(&[("track", "canary")]), Some(Enforcement::Warn));
        assert_eq!(mode(&[]), Some(Enforcement::Audit));
        assert_eq!(resolve(&[&local], &labels(&[])).enforcement, None);
        let e = entries(&cm("retail", json!({"x": "enforcement: Deny\n"}))).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "retail/stackhook-config entry \"x\": unknown variant `Deny`, expected one of `Audit`, `Warn`, `Enforce`"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_bad_entry_is_named() {
        let e = entries(&cm("retail", json!({"prod": "selectr: {env: prod}\n"}))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("retail/stackhook-config entry \"prod\": unknown field `selectr`"),
            "{e}"
        );
    }
}
