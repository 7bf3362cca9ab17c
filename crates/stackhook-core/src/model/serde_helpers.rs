//! Lenient readers for fields that DataOS manifests write loosely: a version written as
//! `2.0` (a YAML number), env values written as `1` or `true`. They are read as text, the
//! way the DataOS tooling reads them; the CRD schema still says `string`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn scalar_to_string<E: serde::de::Error>(value: Value) -> Result<String, E> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok(String::new()),
        Value::Array(_) => Err(E::custom("expected text, found a list")),
        Value::Object(_) => Err(E::custom("expected text, found a map")),
    }
}

/// Reads a string, number or boolean as text.
pub fn deserialize_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    scalar_to_string(Value::deserialize(d)?)
}

/// Reads a map whose values may be strings, numbers or booleans, as text.
pub fn deserialize_scalar_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, Value>>::deserialize(d)?.unwrap_or_default();
    map.into_iter()
        .map(|(k, v)| {
            scalar_to_string(v)
                .map(|s| (k.clone(), s))
                .map_err(|e: D::Error| serde::de::Error::custom(format!("{k}: {e}")))
        })
        .collect()
}

/// Schema for a field that holds any JSON object (`stackSpec`, a Depot's `spec`).
pub fn any_object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}
