//! Template data, shaped like what Go's `encoding/json` gives a template
//! (`map[string]interface{}`, `[]interface{}`, `float64`, …) plus the concrete types
//! template constants and functions produce (`int`, `int64`, `[]string`, …).
//!
//! Two properties of Go's values matter to templates and are kept here:
//! - **Maps are references.** Sprig's `set`, `unset` and `merge` change a map in
//!   place, and every variable holding it sees the change (`$_ := set $d "k" 1` is how
//!   Helm charts build maps). A [`Value::Map`] is a shared, mutable cell.
//! - **Element types.** `typeOf`, `index` and field access differ between
//!   `[]interface {}` and `[]string`, or `map[string]interface {}` and
//!   `map[string]string`; a container remembers its element type ([`Elem`]).
//!
//! Values live for one execution (they are not `Send`). Dropping a deeply nested value
//! does not recurse, and maps that a template changed are emptied when the execution
//! ends ([`Mutated`]), so a map made to contain itself cannot leak.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

/// The static type of a container's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// `interface {}`.
    Any,
    /// `string`.
    String,
    /// `int`.
    Int,
    /// `[]interface {}` (Sprig's `chunk`).
    List,
}

impl Elem {
    /// Go's name of the element type.
    pub fn go_type(self) -> &'static str {
        match self {
            Self::Any => "interface {}",
            Self::String => "string",
            Self::Int => "int",
            Self::List => "[]interface {}",
        }
    }
}

/// A slice.
#[derive(Debug)]
pub struct List {
    /// The element type.
    pub elem: Elem,
    /// The elements.
    pub items: Vec<Value>,
}

/// A map with string keys, iterated in key order as Go templates do.
#[derive(Debug)]
pub struct MapData {
    /// The element type ([`Elem::Any`] or [`Elem::String`]).
    pub elem: Elem,
    /// The entries.
    pub entries: BTreeMap<String, Value>,
}

/// A shared, mutable map (Go maps are references).
pub type MapRef = Rc<RefCell<MapData>>;

/// A value in a template.
#[derive(Clone, Debug)]
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
    /// A Go `uint64`.
    Uint64(u64),
    /// A Go `float64`: every JSON number, float constants.
    Float(f64),
    /// A string.
    String(Arc<str>),
    /// A slice.
    List(Rc<List>),
    /// A map.
    Map(MapRef),
    /// A `time.Time` (Sprig's `toDate`, `dateModify`).
    Time(Rc<super::gotime::GoTime>),
    /// A `*semver.Version` (Sprig's `semver`).
    Semver(Rc<super::semver::Version>),
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Self {
        Self::String(s.into())
    }

    /// A string value from an owned string.
    pub fn string(s: String) -> Self {
        Self::String(s.into())
    }

    /// A `[]interface {}`.
    pub fn list(items: Vec<Value>) -> Self {
        Self::typed_list(Elem::Any, items)
    }

    /// A slice of the given element type.
    pub fn typed_list(elem: Elem, items: Vec<Value>) -> Self {
        Self::List(Rc::new(List { elem, items }))
    }

    /// A `[]string`.
    pub fn strings(items: impl IntoIterator<Item = String>) -> Self {
        Self::typed_list(Elem::String, items.into_iter().map(Value::string).collect())
    }

    /// A `map[string]interface {}`.
    pub fn map(entries: BTreeMap<String, Value>) -> Self {
        Self::typed_map(Elem::Any, entries)
    }

    /// A map of the given element type.
    pub fn typed_map(elem: Elem, entries: BTreeMap<String, Value>) -> Self {
        Self::Map(Rc::new(RefCell::new(MapData { elem, entries })))
    }

    /// Go's type name, for messages (`float64`, `[]interface {}`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Missing | Self::Nil => "interface {}",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Int64(_) => "int64",
            Self::Uint64(_) => "uint64",
            Self::Float(_) => "float64",
            Self::String(_) => "string",
            Self::List(l) => match l.elem {
                Elem::Any => "[]interface {}",
                Elem::String => "[]string",
                Elem::Int => "[]int",
                Elem::List => "[][]interface {}",
            },
            Self::Map(m) => match m.borrow().elem {
                Elem::String => "map[string]string",
                _ => "map[string]interface {}",
            },
            Self::Time(_) => "time.Time",
            Self::Semver(v) if v.by_value => "semver.Version",
            Self::Semver(_) => "*semver.Version",
        }
    }

    /// Go's `reflect.Kind` name (`kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Missing | Self::Nil => "invalid",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Int64(_) => "int64",
            Self::Uint64(_) => "uint64",
            Self::Float(_) => "float64",
            Self::String(_) => "string",
            Self::List(_) => "slice",
            Self::Map(_) => "map",
            Self::Time(_) => "struct",
            Self::Semver(v) if v.by_value => "struct",
            Self::Semver(_) => "ptr",
        }
    }

    /// Go's `isTrue`: empty and zero values are false.
    pub fn truth(&self) -> bool {
        match self {
            Self::Missing | Self::Nil => false,
            Self::Bool(b) => *b,
            Self::Int(i) | Self::Int64(i) => *i != 0,
            Self::Uint64(u) => *u != 0,
            Self::Float(f) => *f != 0.0,
            Self::String(s) => !s.is_empty(),
            Self::List(l) => !l.items.is_empty(),
            Self::Map(m) => !m.borrow().entries.is_empty(),
            // Go: a struct is always true, a non-nil pointer too.
            Self::Time(_) | Self::Semver(_) => true,
        }
    }

    /// Whether the value is missing or nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Self::Missing | Self::Nil)
    }

    /// Whether the value is missing (no value at all).
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Missing)
    }

    /// The integer, for either signed integer type.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) | Self::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// Whether two values are the same container (Go's pointer identity), or equal
    /// scalars of one type. Used where Go compares interface values (`uniq`, `has`).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::List(a), Self::List(b)) => Rc::ptr_eq(a, b),
            (Self::Map(a), Self::Map(b)) => Rc::ptr_eq(a, b),
            (a, b) => scalar_eq(a, b),
        }
    }
}

/// Equality of two scalars of the same Go type (false for other pairs).
pub(crate) fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Missing | Value::Nil, Value::Missing | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint64(x), Value::Uint64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// Moves the children of a container that nothing else holds onto `stack`, so a long
/// chain of containers is dropped in a loop instead of one stack frame per level.
fn take_children(stack: &mut Vec<Value>, v: Value) {
    match v {
        Value::List(rc) => {
            if let Ok(mut list) = Rc::try_unwrap(rc) {
                stack.append(&mut list.items);
            }
        }
        Value::Map(rc) => {
            if let Ok(cell) = Rc::try_unwrap(rc) {
                let mut map = cell.into_inner();
                stack.extend(std::mem::take(&mut map.entries).into_values());
            }
        }
        _ => {}
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::List(_) | Value::Map(_))
}

fn drop_iteratively(mut stack: Vec<Value>) {
    while let Some(v) = stack.pop() {
        take_children(&mut stack, v);
    }
}

impl Drop for List {
    fn drop(&mut self) {
        if self.items.iter().any(is_container) {
            drop_iteratively(std::mem::take(&mut self.items));
        }
    }
}

impl Drop for MapData {
    fn drop(&mut self) {
        if self.entries.values().any(is_container) {
            drop_iteratively(std::mem::take(&mut self.entries).into_values().collect());
        }
    }
}

/// The maps an execution changed in place. Only a change can make a map contain
/// itself, so emptying these when the execution ends frees every cycle.
#[derive(Default)]
pub(crate) struct Mutated {
    maps: Vec<Weak<RefCell<MapData>>>,
}

impl Mutated {
    /// Records that `map` was changed.
    pub(crate) fn record(&mut self, map: &MapRef) {
        if !self
            .maps
            .last()
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Rc::as_ptr(map)))
        {
            self.maps.push(Rc::downgrade(map));
        }
    }
}

impl Drop for Mutated {
    fn drop(&mut self) {
        let mut stack = Vec::new();
        for weak in self.maps.drain(..) {
            if let Some(map) = weak.upgrade()
                && let Ok(mut m) = map.try_borrow_mut()
            {
                stack.extend(std::mem::take(&mut m.entries).into_values());
            }
        }
        drop_iteratively(stack);
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
            J::Array(a) => Self::list(a.iter().map(Self::from).collect()),
            J::Object(m) => Self::map(m.iter().map(|(k, v)| (k.clone(), Self::from(v))).collect()),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Self::from(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_chain_of_containers_drops_without_recursing() {
        let mut v = Value::list(Vec::new());
        for i in 0..1_000_000 {
            v = if i % 2 == 0 {
                Value::list(vec![v])
            } else {
                Value::map([("a".to_owned(), v)].into())
            };
        }
        drop(v);
    }

    #[test]
    fn a_map_that_contains_itself_is_freed_when_the_execution_ends() {
        let m = Value::map(BTreeMap::new());
        let Value::Map(cell) = &m else { unreachable!() };
        let weak = Rc::downgrade(cell);
        {
            let mut mutated = Mutated::default();
            cell.borrow_mut().entries.insert("me".into(), m.clone());
            mutated.record(cell);
            drop(m);
            assert!(weak.upgrade().is_some(), "the cycle keeps it alive");
        }
        assert!(weak.upgrade().is_none());
    }
}
