//! A Stack's `dataOsAddressJqFilters`: compiled once per Stack generation (jaq), run
//! over a workload's `stackSpec` to find the `dataos://` addresses it uses — each with
//! the field path it was found at, so a bad address is reported where it is written.
//!
//! Every string result, and every string leaf of an object or list result, that
//! starts with `dataos://` is an address. A filter that iterates over something absent
//! (`.inputs[]` on a spec without `inputs`) selects nothing, as jq's `?` would; any
//! other run-time error is reported, naming the filter.
//!
//! Filters run inside the API server's request path, so constructs that can run
//! without bound regardless of the input are refused when the Stack is admitted
//! (`def`, `range`, `repeat`, `while`, `until`, `recurse` with an argument,
//! `limit`, `input(s)`, `$ENV`/`env`, and `*`, which repeats strings); what remains is
//! bounded by the size of the `stackSpec`, and results are capped.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value;

use crate::model::{Acl, AddressFilter};
use crate::source::{push_index, push_key};

/// Most results one filter may produce.
pub const MAX_RESULTS: usize = 10_000;

type Filter = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

struct Compiled {
    text: String,
    acl: Acl,
    /// `path(FILTER)`, for the field paths of results; `None` if it does not compile.
    paths: Option<Filter>,
    plain: Filter,
}

/// The compiled filters of one Stack.
pub struct AddressFilters {
    filters: Vec<Compiled>,
}

impl std::fmt::Debug for AddressFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.filters.iter().map(|c| &c.text))
            .finish()
    }
}

/// A filter that cannot be used, by index in `dataOsAddressJqFilters`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Index in `dataOsAddressJqFilters`.
    pub index: usize,
    /// What is wrong.
    pub message: String,
}

/// An address found in a `stackSpec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundAddress {
    /// The string as written.
    pub text: String,
    /// The access the filter says it needs.
    pub acl: Acl,
    /// Where in the `stackSpec` it is (`inputs[0].dataset`); the spec itself when the
    /// filter is not a path expression.
    pub path: String,
    /// The filter that selected it.
    pub filter: String,
}

const DENIED_IDENTIFIERS: [&str; 10] = [
    "def", "range", "repeat", "while", "until", "limit", "input", "inputs", "env", "getpath",
];

/// Refuses constructs that could run without bound whatever the input.
fn screen(filter: &str) -> Result<(), String> {
    let bytes = filter.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'*' => return Err("`*` (string repetition) is not allowed in address filters".into()),
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &filter[start..i];
                let after_dot = start > 0 && bytes[start - 1] == b'.';
                if after_dot {
                    continue;
                }
                if DENIED_IDENTIFIERS.contains(&word) || word == "$ENV" || word == "$__loc__" {
                    return Err(format!(
                        "`{word}` is not allowed in address filters (it could run without bound)"
                    ));
                }
                if word == "recurse" && filter[i..].trim_start().starts_with('(') {
                    return Err("`recurse(f)` is not allowed in address filters (use `..`)".into());
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn compile_one(code: &str) -> Result<Filter, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(&arena, File { code, path: () })
        .map_err(|errors| describe_load_errors(code, &errors))?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let names: Vec<String> = errors
                .iter()
                .flat_map(|(_, errs)| {
                    errs.iter()
                        .map(|(name, undefined)| format!("{} `{name}`", undefined.as_str()))
                })
                .collect();
            format!("undefined {}", names.join(", "))
        })
}

fn describe_load_errors(code: &str, errors: &jaq_core::load::Errors<&str, ()>) -> String {
    use jaq_core::load::Error;
    let offset = |rest: &str| code.len().saturating_sub(rest.len());
    let mut parts = Vec::new();
    for (_, e) in errors {
        match e {
            Error::Lex(list) => parts.extend(list.iter().map(|(expect, rest)| {
                if rest.is_empty() {
                    format!("expected {} at the end", expect.as_str())
                } else {
                    format!("expected {} at offset {}", expect.as_str(), offset(rest))
                }
            })),
            Error::Parse(list) => parts.extend(list.iter().map(|(expect, found)| {
                if found.is_empty() {
                    format!("expected {} at the end", expect.as_str())
                } else {
                    format!("expected {} at offset {}", expect.as_str(), offset(found))
                }
            })),
            Error::Io(list) => parts.extend(list.iter().map(|(_, m)| m.clone())),
        }
    }
    format!("cannot parse: {}", parts.join("; "))
}

impl AddressFilters {
    /// Compiles every filter. All failures are reported.
    pub fn compile(filters: &[AddressFilter]) -> Result<Self, Vec<FilterError>> {
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        for (index, f) in filters.iter().enumerate() {
            let text = f.filter();
            let result = screen(text).and_then(|()| compile_one(text));
            match result {
                Ok(plain) => compiled.push(Compiled {
                    text: text.to_owned(),
                    acl: f.acl(),
                    paths: compile_one(&format!("path({text})")).ok(),
                    plain,
                }),
                Err(message) => errors.push(FilterError { index, message }),
            }
        }
        if errors.is_empty() {
            Ok(Self { filters: compiled })
        } else {
            Err(errors)
        }
    }

    /// How many filters there are.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Runs every filter over `spec`: the addresses found, and the filters that failed.
    pub fn extract(&self, spec: &Value) -> (Vec<FoundAddress>, Vec<FilterError>) {
        let input = to_val(spec);
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for (index, f) in self.filters.iter().enumerate() {
            let by_path = f.paths.as_ref().map(|p| run(p, &input));
            let result = match by_path {
                Some(Ok(paths)) => Ok(paths
                    .iter()
                    .filter_map(|p| {
                        let (path, value) = follow(spec, p)?;
                        Some((path, value.clone()))
                    })
                    .collect::<Vec<_>>()),
                // Not a path expression: run it for its values; the spec is the place.
                _ => run(&f.plain, &input)
                    .map(|values| values.into_iter().map(|v| (String::new(), v)).collect()),
            };
            match result {
                Ok(results) => {
                    for (path, value) in results {
                        collect_addresses(&value, path, &mut |path, text| {
                            found.push(FoundAddress {
                                text: text.to_owned(),
                                acl: f.acl,
                                path,
                                filter: f.text.clone(),
                            });
                        });
                    }
                }
                Err(message) => errors.push(FilterError { index, message }),
            }
        }
        (found, errors)
    }
}

/// JSON → jaq, directly (no text round trip: this runs on every admission).
fn to_val(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::from(*b),
        Value::Number(n) => match n.as_i64().and_then(|i| isize::try_from(i).ok()) {
            Some(i) => Val::from(i),
            None => Val::from(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Val::from(s.clone()),
        Value::Array(items) => Val::Arr(jaq_json::Rc::new(items.iter().map(to_val).collect())),
        Value::Object(map) => {
            let mut m = jaq_json::Map::default();
            for (k, v) in map {
                m.insert(Val::from(k.clone()), to_val(v));
            }
            Val::obj(m)
        }
    }
}

/// jaq → JSON, directly; the rare number forms go through their text.
fn from_val(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(jaq_json::Num::Int(i)) => Value::from(*i as i64),
        Val::Num(jaq_json::Num::Float(f)) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        Val::Num(_) => serde_json::from_str(&v.to_string()).unwrap_or(Value::Null),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(items) => Value::Array(items.iter().map(from_val).collect()),
        Val::Obj(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                        other => other.to_string(),
                    };
                    (key, from_val(v))
                })
                .collect(),
        ),
    }
}

/// Runs a filter; values come back as JSON. Iterating over null selects nothing.
fn run(filter: &Filter, input: &Val) -> Result<Vec<Value>, String> {
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for result in filter.id.run((ctx, input.clone())).map(unwrap_valr) {
        match result {
            Ok(v) => {
                if out.len() >= MAX_RESULTS {
                    return Err(format!("selects more than {MAX_RESULTS} values"));
                }
                out.push(from_val(&v));
            }
            Err(e) => {
                let message = e.to_string();
                if message.starts_with("cannot use null as iterable") {
                    continue;
                }
                return Err(message);
            }
        }
    }
    Ok(out)
}

/// Follows a jq path (`["inputs", 0, "dataset"]`) into `spec`: its field path and value.
fn follow<'v>(spec: &'v Value, path: &Value) -> Option<(String, &'v Value)> {
    let mut field = String::new();
    let mut current = spec;
    for step in path.as_array()? {
        match step {
            Value::String(k) => {
                push_key(&mut field, k);
                current = current.get(k)?;
            }
            Value::Number(n) => {
                let i = usize::try_from(n.as_i64()?).ok()?;
                push_index(&mut field, i);
                current = current.get(i)?;
            }
            _ => return None,
        }
    }
    Some((field, current))
}

fn collect_addresses(value: &Value, path: String, found: &mut dyn FnMut(String, &str)) {
    match value {
        Value::String(s) if crate::address::Address::is_address(s) => found(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut p = path.clone();
                push_index(&mut p, i);
                collect_addresses(item, p, found);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let mut p = path.clone();
                push_key(&mut p, k);
                collect_addresses(item, p, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filters(list: Value) -> AddressFilters {
        let list: Vec<AddressFilter> = serde_json::from_value(list).unwrap();
        AddressFilters::compile(&list).unwrap()
    }

    fn found(f: &AddressFilters, spec: Value) -> Vec<(String, String, Acl)> {
        let (found, errors) = f.extract(&spec);
        assert!(errors.is_empty(), "{errors:?}");
        found.into_iter().map(|a| (a.path, a.text, a.acl)).collect()
    }

    #[test]
    fn finds_addresses_with_their_paths_and_acls() {
        let f = filters(json!([".inputs[]", {"filter": ".outputs[].dataset", "acl": "rw"}]));
        let got = found(
            &f,
            json!({"inputs": ["dataos://a:b/c", "not an address"], "outputs": [{"dataset": "dataos://d"}]}),
        );
        assert_eq!(
            got,
            [
                ("inputs[0]".into(), "dataos://a:b/c".into(), Acl::Read),
                (
                    "outputs[0].dataset".into(),
                    "dataos://d".into(),
                    Acl::ReadWrite
                ),
            ]
        );
    }

    #[test]
    fn finds_string_leaves_of_objects() {
        let f = filters(json!([".input"]));
        let got = found(
            &f,
            json!({"input": {"kafka": {"topics": ["dataos://k:t"]}, "n": 1}}),
        );
        assert_eq!(
            got,
            [(
                "input.kafka.topics[0]".into(),
                "dataos://k:t".into(),
                Acl::Read
            )]
        );
    }

    #[test]
    fn iterating_over_something_absent_selects_nothing() {
        let f = filters(json!([".inputs[]", ".outputs[].dataset"]));
        assert!(found(&f, json!({})).is_empty());
    }

    #[test]
    fn non_path_filters_still_find_addresses() {
        let f = filters(json!([r#""dataos://" + .depot"#]));
        assert_eq!(
            found(&f, json!({"depot": "icebase"})),
            [(String::new(), "dataos://icebase".into(), Acl::Read)]
        );
    }

    #[test]
    fn other_runtime_errors_are_reported() {
        let f = filters(json!([".a.b"]));
        let (_, errors) = f.extract(&json!({"a": "str"}));
        assert_eq!(
            errors,
            [FilterError {
                index: 0,
                message: "cannot index \"str\" with \"b\"".into()
            }]
        );
    }

    #[test]
    fn reports_every_filter_that_does_not_compile() {
        let list: Vec<AddressFilter> = serde_json::from_value(json!([
            ".ok",
            ".inputs[",
            "nofunc(1)",
            "range(1e9)",
            "def f: f; f",
            "[.[]|.]*1000000"
        ]))
        .unwrap();
        let errors = AddressFilters::compile(&list).unwrap_err();
        let got: Vec<(usize, String)> = errors.into_iter().map(|e| (e.index, e.message)).collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    "cannot parse: expected closing bracket at the end".into()
                ),
                (2, "undefined filter `nofunc`".into()),
                (
                    3,
                    "`range` is not allowed in address filters (it could run without bound)".into()
                ),
                (
                    4,
                    "`def` is not allowed in address filters (it could run without bound)".into()
                ),
                (
                    5,
                    "`*` (string repetition) is not allowed in address filters".into()
                ),
            ]
        );
    }

    #[test]
    fn caps_results() {
        let f = filters(json!([".l[]"]));
        let l: Vec<u32> = (0..(MAX_RESULTS as u32 + 1)).collect();
        let (_, errors) = f.extract(&json!({ "l": l }));
        assert_eq!(errors[0].message, "selects more than 10000 values");
    }

    #[test]
    fn converts_values_both_ways() {
        let v = json!({"a": [1, -2, 1.5, "x", null, true, {"b": []}], "big": 1e300});
        assert_eq!(from_val(&to_val(&v)), v);
    }

    #[test]
    fn field_names_do_not_trip_the_screen() {
        let f = filters(json!([".range[]", ".def.limit"]));
        assert_eq!(f.len(), 2);
    }
}
