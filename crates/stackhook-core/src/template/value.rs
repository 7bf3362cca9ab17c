//! Template data, shaped like what Go's `encoding/json` gives a template
//! (`map[string]interface{}`, `[]interface{}`, `float64`, …) plus the concrete types
//! template constants and functions produce (`int`, `int64`).

use std::collections::BTreeMap;
use std::sync::Arc;

/// A value in a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No value at all (Go's invalid `reflect.Value`): a missing map key, no data.
    /// Prints `<no value>`.
    Missing,
    /// A JSON `null` (a nil `interface{}`). Prints `<nil>` inside containers.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A Go `int`: template constants, `len`, `int`.
    Int(i64),
    /// A Go `int64`: Sprig's arithmetic.
    Int64(i64),
    /// A Go `float64`: every JSON number, float constants.
    Float(f64),
    /// A string.
    String(Arc<str>),
    /// A list (`[]interface{}`).
    List(Arc<Vec<Value>>),
    /// A map (`map[string]interface{}`), iterated in key order as Go templates do.
    Map(Arc<BTreeMap<String, Value>>),
    /// A list of strings (`[]string`: Sprig's `keys`, `sortAlpha`).
    Strings(Arc<Vec<String>>),
    /// A map of strings (`map[string]string`: Sprig's `split`).
    StringMap(Arc<BTreeMap<String, String>>),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Self {
        Self::String(s.into())
    }

    /// Go's type name, for messages (`float64`, `[]interface {}`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Missing | Self::Nil => "interface {}",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Int64(_) => "int64",
            Self::Float(_) => "float64",
            Self::String(_) => "string",
            Self::List(_) => "[]interface {}",
            Self::Map(_) => "map[string]interface {}",
            Self::Strings(_) => "[]string",
            Self::StringMap(_) => "map[string]string",
        }
    }

    /// Go's `isTrue`: empty and zero values are false.
    pub fn truth(&self) -> bool {
        match self {
            Self::Missing | Self::Nil => false,
            Self::Bool(b) => *b,
            Self::Int(i) | Self::Int64(i) => *i != 0,
            Self::Float(f) => *f != 0.0,
            Self::String(s) => !s.is_empty(),
            Self::List(l) => !l.is_empty(),
            Self::Map(m) => !m.is_empty(),
            Self::Strings(l) => !l.is_empty(),
            Self::StringMap(m) => !m.is_empty(),
        }
    }

    /// Whether the value is missing or nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Self::Missing | Self::Nil)
    }

    /// The integer, for either integer type.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) | Self::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of a list-like value.
    pub fn list_items(&self) -> Option<Vec<Value>> {
        match self {
            Self::List(l) => Some(l.as_ref().clone()),
            Self::Strings(l) => Some(l.iter().map(|s| Self::str(s)).collect()),
            _ => None,
        }
    }

    /// The entries of a map-like value.
    pub fn map_entries(&self) -> Option<BTreeMap<String, Value>> {
        match self {
            Self::Map(m) => Some(m.as_ref().clone()),
            Self::StringMap(m) => Some(m.iter().map(|(k, v)| (k.clone(), Self::str(v))).collect()),
            _ => None,
        }
    }

    /// The value as JSON (Missing and Nil become `null`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Self::Missing | Self::Nil => J::Null,
            Self::Bool(b) => J::Bool(*b),
            Self::Int(i) | Self::Int64(i) => J::Number((*i).into()),
            Self::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Self::String(s) => J::String(s.to_string()),
            Self::List(l) => J::Array(l.iter().map(Self::to_json).collect()),
            Self::Strings(l) => J::Array(l.iter().map(|s| J::String(s.clone())).collect()),
            Self::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Self::StringMap(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), J::String(v.clone())))
                    .collect(),
            ),
        }
    }
}

impl From<&serde_json::Value> for Value {
    /// JSON as Go's `encoding/json` decodes it into `interface{}`: every number a
    /// `float64`, `null` a nil interface.
    fn from(v: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        match v {
            J::Null => Self::Nil,
            J::Bool(b) => Self::Bool(*b),
            J::Number(n) => Self::Float(n.as_f64().unwrap_or(0.0)),
            J::String(s) => Self::String(s.as_str().into()),
            J::Array(a) => Self::List(Arc::new(a.iter().map(Self::from).collect())),
            J::Object(m) => Self::Map(Arc::new(
                m.iter().map(|(k, v)| (k.clone(), Self::from(v))).collect(),
            )),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Self::from(&v)
    }
}
