//! A document checked against the generated CRD schema itself, as the API server's
//! strict field validation checks it (`kubectl apply` refuses `spec.logLevle`): unknown
//! fields outside the parts that keep them (`stackSpec`), types, enums and required
//! fields. `stackhook validate` runs it on every document in CRD form, so the two
//! cannot drift: the schema is the one `stackhook crds` prints.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use goyaml::{push_index, push_key};
use serde_json::Value;

/// One place the document does not fit its CRD schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaMismatch {
    /// The field path (`spec.logLevle`).
    pub path: String,
    /// What is wrong, in the API server's words where it has them.
    pub message: String,
}

/// Each kind's `openAPIV3Schema`, from the CRDs the binary generates.
static SCHEMAS: LazyLock<BTreeMap<String, Value>> = LazyLock::new(|| {
    super::crds()
        .into_iter()
        .filter_map(|crd| {
            let kind = crd.spec.names.kind.clone();
            let schema = crd
                .spec
                .versions
                .first()
                .and_then(|v| v.schema.as_ref())
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .and_then(|s| serde_json::to_value(s).ok())?;
            Some((kind, schema))
        })
        .collect()
});

/// Checks a document of one of the five kinds, in CRD form, against its schema. A
/// document of another group or kind gets nothing.
pub fn check(doc: &Value) -> Vec<SchemaMismatch> {
    let is_ours = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v == super::API_VERSION);
    let Some(schema) = doc
        .get("kind")
        .and_then(Value::as_str)
        .filter(|_| is_ours)
        .and_then(|k| SCHEMAS.get(k))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Some(object) = doc.as_object() else {
        return out;
    };
    for (key, value) in object {
        match key.as_str() {
            // Checked by the API server as ObjectMeta; written by it (status).
            "apiVersion" | "kind" | "metadata" | "status" => {}
            _ => match schema.pointer(&format!("/properties/{key}")) {
                Some(s) => walk(s, value, key.clone(), &mut out),
                None => out.push(SchemaMismatch {
                    path: key.clone(),
                    message: format!("unknown field {key:?}"),
                }),
            },
        }
    }
    out
}

/// Fits a converted DataOS document (CRD form) to its kind's schema as DataOS reads
/// its manifests, with Go's `encoding/json`: a key that matches a field only
/// case-insensitively (`loglevel`) takes the field's spelling, and a key the schema
/// has no place for is removed. Returns the paths removed, for the warning that names
/// them. Parts that keep unknown fields (`stackSpec`) are left as they are.
pub fn fit(doc: &mut Value) -> Vec<String> {
    let Some(schema) = doc
        .get("kind")
        .and_then(Value::as_str)
        .and_then(|k| SCHEMAS.get(k))
    else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    if let Some(spec) = doc.get_mut("spec")
        && let Some(s) = schema.pointer("/properties/spec")
    {
        fit_walk(s, spec, "spec".into(), &mut removed);
    }
    removed
}

fn fit_walk(schema: &Value, value: &mut Value, path: String, removed: &mut Vec<String>) {
    if schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let field = properties.and_then(|ps| {
                    ps.get_key_value(&key)
                        .or_else(|| ps.iter().find(|(k, _)| k.eq_ignore_ascii_case(&key)))
                });
                let (name, sub) = match (field, additional) {
                    (Some((name, s)), _) => (name.clone(), s),
                    (None, Some(s)) => (key.clone(), s),
                    (None, None) => {
                        map.remove(&key);
                        let mut p = path.clone();
                        push_key(&mut p, &key);
                        removed.push(p);
                        continue;
                    }
                };
                if name != key {
                    // The exact spelling wins over a case-insensitive match, as in Go.
                    if map.contains_key(&name) {
                        map.remove(&key);
                        continue;
                    }
                    if let Some(v) = map.remove(&key) {
                        map.insert(name.clone(), v);
                    }
                }
                let mut p = path.clone();
                push_key(&mut p, &name);
                if let Some(v) = map.get_mut(&name) {
                    fit_walk(sub, v, p, removed);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    let mut p = path.clone();
                    push_index(&mut p, i);
                    fit_walk(s, item, p, removed);
                }
            }
        }
        _ => {}
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(schema: &Value, value: &Value, path: String, out: &mut Vec<SchemaMismatch>) {
    let flag = |k: &str| schema.get(k).and_then(Value::as_bool).unwrap_or(false);
    // A null is dropped by the API server for a field that is not nullable.
    if value.is_null() {
        return;
    }
    if flag("x-kubernetes-int-or-string") {
        if !matches!(type_of(value), "integer" | "string") {
            out.push(SchemaMismatch {
                path,
                message: format!("must be an integer or a string, not {}", type_of(value)),
            });
        }
        return;
    }
    let preserve = flag("x-kubernetes-preserve-unknown-fields");
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let got = type_of(value);
        let fits = want == got || (want == "number" && got == "integer");
        if !fits {
            out.push(SchemaMismatch {
                path,
                message: format!("must be of type {want}, not {got}"),
            });
            return;
        }
    } else if preserve {
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        out.push(SchemaMismatch {
            path: path.clone(),
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        });
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, v) in map {
                let mut p = path.clone();
                push_key(&mut p, key);
                match (properties.and_then(|ps| ps.get(key)), additional) {
                    (Some(s), _) | (None, Some(s)) => walk(s, v, p, out),
                    (None, None) if preserve => {}
                    (None, None) => out.push(SchemaMismatch {
                        message: format!("unknown field {p:?}"),
                        path: p,
                    }),
                }
            }
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if map.get(required).is_none_or(Value::is_null) {
                    let mut p = path.clone();
                    push_key(&mut p, required);
                    out.push(SchemaMismatch {
                        path: p,
                        message: "Required value".into(),
                    });
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.clone();
                    push_index(&mut p, i);
                    walk(s, item, p, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(doc: Value) -> Vec<String> {
        check(&doc)
            .into_iter()
            .map(|m| format!("{}: {}", m.path, m.message))
            .collect()
    }

    #[test]
    fn refuses_what_the_api_server_refuses() {
        let got = messages(json!({
            "apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
            "metadata": {"name": "w", "namespace": "n"},
            "spec": {"stack": "s:1", "logLevle": "DEBUG", "replicas": "two",
                     "stackSpec": {"anything": {"goes": [1]}}, "envs": {"A": 1}}
        }));
        assert_eq!(
            got,
            [
                "spec.envs.A: must be of type string, not integer",
                "spec.logLevle: unknown field \"spec.logLevle\"",
                "spec.replicas: must be of type integer, not string",
            ]
        );
        assert_eq!(
            messages(
                json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Worker",
                "metadata": {"name": "w"}, "spec": {"stackSpec": {}}})
            ),
            ["spec.stack: Required value"]
        );
        assert_eq!(
            messages(
                json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
                "metadata": {"name": "d"}, "spec": {"type": "S3", "secrets": [{"name": "x", "acl": "all"}]}, "extra": 1})
            ),
            [
                "extra: unknown field \"extra\"",
                "spec.secrets[0].acl: Unsupported value: \"all\": supported values: \"r\", \"rw\""
            ]
        );
    }

    #[test]
    fn leaves_other_documents_alone() {
        assert!(
            check(&json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": 1}})).is_empty()
        );
        assert!(check(&json!({"name": "native", "type": "worker"})).is_empty());
    }
}
