//! Lenient readers for fields that DataOS manifests write loosely: a version written as
//! `2.0` (a YAML number), env values written as `1` or `true`. They are read as text, the
//! way the DataOS tooling reads them; the CRD schema still says `string`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
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

/// A workload's `stackSpec`: any JSON object, shared cheaply (every request that
/// reads a workload reads its spec; none needs its own copy).
#[derive(Clone, Debug, PartialEq)]
pub struct StackSpecValue(std::sync::Arc<Value>);

impl Serialize for StackSpecValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Default for StackSpecValue {
    fn default() -> Self {
        Self(std::sync::Arc::new(Value::Object(serde_json::Map::new())))
    }
}

impl StackSpecValue {
    /// The spec, always a JSON object.
    pub fn value(&self) -> &Value {
        &self.0
    }

    /// Whether it has no fields.
    pub fn is_empty(&self) -> bool {
        self.0.as_object().is_none_or(serde_json::Map::is_empty)
    }
}

impl From<Value> for StackSpecValue {
    fn from(v: Value) -> Self {
        Self(std::sync::Arc::new(v))
    }
}

impl<'de> Deserialize<'de> for StackSpecValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(Self::default()),
            v @ Value::Object(_) => Ok(Self::from(v)),
            _ => Err(serde::de::Error::custom("stackSpec must be a map")),
        }
    }
}

impl schemars::JsonSchema for StackSpecValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StackSpec".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        any_object_schema(g)
    }
}
