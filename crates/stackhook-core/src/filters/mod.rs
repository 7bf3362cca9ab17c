//! A Stack's `dataOsAddressJqFilters`: parsed once per Stack generation, run over a
//! workload's `stackSpec` to find the `dataos://` addresses it uses — each with the
//! field path it was found at, so a bad address is reported where it is written.
//!
//! Every string result, and every string leaf of an object or list result, that
//! starts with `dataos://` is an address. A filter that iterates over something absent
//! (`.inputs[]` on a spec without `inputs`) selects nothing, as jq's `?` would; any
//! other run-time error is reported, naming the filter.
//!
//! Filters run inside the API server's request path, so they are not jq programs but
//! jq's selection subset ([`jqlite`]): paths, iteration, `select`, comparisons, array
//! construction, `if`, `//` and a few functions. Nothing in it can loop, recurse,
//! read the environment or build without bound, and evaluation still runs under a
//! budget of steps and bytes (it is our own evaluator, checked against `jq` in
//! `crates/jqlite/tests/filters.rs`). The real Stacks' filters (`.inputs[].dataset`,
//! `.datasets[] | select(type == "object") | [.address, .depot] | map(select(. != null)) | .[]`)
//! are in it.

use goyaml::{push_index, push_key};
use jqlite::{Eval, EvalError, Filter, Item, Step, Val};
use serde_json::Value;

use crate::model::{Acl, AddressFilter};

/// Most results one filter may produce.
pub const MAX_RESULTS: usize = 10_000;

struct Compiled {
    text: String,
    acl: Acl,
    filter: Filter,
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
    /// filter built the value.
    pub path: String,
    /// The filter that selected it.
    pub filter: String,
}

impl AddressFilters {
    /// Compiles every filter. All failures are reported.
    pub fn compile(filters: &[AddressFilter]) -> Result<Self, Vec<FilterError>> {
        let mut compiled = Vec::new();
        let mut errors = Vec::new();
        for (index, f) in filters.iter().enumerate() {
            let text = f.filter();
            match Filter::parse(text) {
                Ok(filter) => compiled.push(Compiled {
                    text: text.to_owned(),
                    acl: f.acl(),
                    filter,
                }),
                Err(e) => errors.push(FilterError {
                    index,
                    message: e.0,
                }),
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
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for (index, f) in self.filters.iter().enumerate() {
            let mut eval = Eval::new();
            let input = Item {
                val: Val::Ref(spec),
                path: None,
            };
            let outcome = match eval.run(&f.filter, &input) {
                Ok(results) => collect(&mut eval, &results, f, &mut found),
                Err(fail) => Err(fail.error),
            };
            if let Err(e) = outcome {
                let message = match e {
                    EvalError::Runtime(m) | EvalError::Budget(m) => m,
                };
                errors.push(FilterError { index, message });
            }
        }
        (found, errors)
    }
}

/// The addresses among a filter's results, within its budget.
fn collect(
    eval: &mut Eval,
    results: &[Item<'_>],
    f: &Compiled,
    found: &mut Vec<FoundAddress>,
) -> Result<(), EvalError> {
    if results.len() > MAX_RESULTS {
        return Err(EvalError::Budget(format!(
            "selects more than {MAX_RESULTS} values"
        )));
    }
    // `..` yields a value and its ancestors: each address once per place.
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(Item<'_>, Option<String>)> =
        results.iter().rev().map(|i| (i.clone(), None)).collect();
    while let Some((item, place)) = stack.pop() {
        eval.step()?;
        let path = place.unwrap_or_else(|| field_path(&item.path));
        match &item.val {
            Val::Arr(items) => {
                for i in items.iter().rev() {
                    stack.push((i.clone(), None));
                }
            }
            Val::Ref(j) => json_leaves(eval, j, path, f, &mut seen, found)?,
            Val::Own(j) => json_leaves(eval, j, path, f, &mut seen, found)?,
        }
        if found.len() > MAX_RESULTS {
            return Err(EvalError::Budget(format!(
                "selects more than {MAX_RESULTS} addresses"
            )));
        }
    }
    Ok(())
}

fn json_leaves(
    eval: &mut Eval,
    j: &Value,
    path: String,
    f: &Compiled,
    seen: &mut std::collections::HashSet<(String, String)>,
    found: &mut Vec<FoundAddress>,
) -> Result<(), EvalError> {
    let mut stack = vec![(j, path)];
    while let Some((j, path)) = stack.pop() {
        eval.step()?;
        match j {
            Value::String(s)
                if crate::address::Address::is_address(s)
                    && seen.insert((path.clone(), s.clone())) =>
            {
                found.push(FoundAddress {
                    text: s.clone(),
                    acl: f.acl,
                    path,
                    filter: f.text.clone(),
                });
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    let mut p = path.clone();
                    push_index(&mut p, i);
                    stack.push((item, p));
                }
            }
            Value::Object(map) => {
                let entries: Vec<_> = map.iter().collect();
                for (k, item) in entries.into_iter().rev() {
                    let mut p = path.clone();
                    push_key(&mut p, k);
                    stack.push((item, p));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn field_path(path: &jqlite::Path) -> String {
    let mut out = String::new();
    for step in jqlite::steps(path) {
        match step {
            Step::Key(k) => push_key(&mut out, k),
            Step::Index(i) => push_index(&mut out, *i),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jqlite::{MAX_BYTES, MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_STEPS};
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

    fn refused(filter: &str) -> String {
        let list: Vec<AddressFilter> = serde_json::from_value(json!([filter])).unwrap();
        let errors = AddressFilters::compile(&list).unwrap_err();
        errors[0].message.clone()
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
    fn the_filters_of_real_stacks_work_with_their_places() {
        let f = filters(json!([
            ".inputs[].dataset",
            ".source.address",
            ".output.datasets[]",
            ".depots",
            r#".datasets[] | select(type == "object") | [.address, .depot] | map(select(. != null)) | .[]"#
        ]));
        let got = found(
            &f,
            json!({
                "inputs": [{"dataset": "dataos://icebase:retail/city"}],
                "source": {"address": "dataos://pg:public/orders"},
                "output": {"datasets": ["dataos://lake:out/a"]},
                "depots": ["dataos://s3depot"],
                "datasets": ["dataos://skipped:as/string", {"address": "dataos://x:y/z"}, {"depot": "dataos://w"}]
            }),
        );
        let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "inputs[0].dataset",
                "source.address",
                "output.datasets[0]",
                "depots[0]",
                "datasets[1].address",
                "datasets[2].depot"
            ]
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
    fn other_runtime_errors_are_reported_in_jqs_words() {
        let f = filters(json!([".a.b", ".a[]"]));
        let (_, errors) = f.extract(&json!({"a": "str"}));
        assert_eq!(
            errors,
            [
                FilterError {
                    index: 0,
                    message: "Cannot index string with string \"b\"".into()
                },
                FilterError {
                    index: 1,
                    message: "Cannot iterate over string (\"str\")".into()
                }
            ]
        );
        // `?` suppresses them, as in jq.
        let f = filters(json!([".a.b?", ".a[]?"]));
        assert_eq!(f.extract(&json!({"a": "str"})).1, []);
    }

    #[test]
    fn reports_every_filter_that_does_not_parse_or_is_not_a_selection() {
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
        let not_allowed = |what: &str| {
            format!(
                "{what} is not allowed in address filters (they select parts of the spec; they do not compute)"
            )
        };
        assert_eq!(
            got,
            [
                (1, "cannot parse: expected a filter at the end".into()),
                (2, not_allowed("`nofunc`")),
                (3, not_allowed("`range`")),
                (4, not_allowed("`def`")),
                (5, not_allowed("`*`")),
            ]
        );
    }

    #[test]
    fn code_inside_strings_is_refused_not_run() {
        let interpolation = "string interpolation `\\(…)` is not allowed in address filters (they select parts of the spec; they do not compute)";
        for f in [
            r#""\(last(range(1e12)))""#,
            r#""dataos://\($ENV|tostring)""#,
            r#""\(env)""#,
            r#""\(def f: 1 + f; f)""#,
        ] {
            assert_eq!(refused(f), interpolation, "{f}");
        }
        assert!(refused("$ENV").starts_with("`$ENV` (variables) is not allowed"));
        assert!(refused("env").starts_with("`env` is not allowed"));
        assert!(refused("input").starts_with("`input` is not allowed"));
        assert!(refused("select(.a; .b)").starts_with("`select/2` is not allowed"));
        assert!(refused(".a as $x | $x").starts_with("`as` (variable binding) is not allowed"));
        assert!(refused("reduce .[] as $x (0; . + $x)").starts_with("`reduce` is not allowed"));
        assert!(refused("{a: .b}").starts_with("object construction `{…}` is not allowed"));
        assert!(refused("-.a").starts_with("unary `-` (except before a number) is not allowed"));
        assert!(refused("@base64").starts_with("`@base64` (formats) is not allowed"));
        assert!(refused(".a |= 1").starts_with("assignment `|=` is not allowed"));
    }

    #[test]
    fn work_that_multiplies_stops_at_the_budget() {
        let chain = format!("{}{}select(false)", "[.,.]|".repeat(30), ".[]|".repeat(30));
        let f = filters(json!([chain]));
        let (found, errors) = f.extract(&json!({}));
        assert!(found.is_empty());
        assert_eq!(
            errors[0].message,
            format!("exceeded the address filter's budget of {MAX_STEPS} steps")
        );
        // Comparing two shared structures counts what they hold, not their pointers.
        let f = filters(json!([format!("{}. == .", "[.,.]|".repeat(40))]));
        assert_eq!(
            f.extract(&json!({})).1[0].message,
            format!("exceeded the address filter's budget of {MAX_STEPS} steps")
        );
        // Doubling a string stops on the byte budget.
        let f = filters(json!([format!(".s{}", "|. + .".repeat(40))]));
        assert_eq!(
            f.extract(&json!({"s": "ab"})).1[0].message,
            format!("exceeded the address filter's budget of {MAX_BYTES} bytes")
        );
        // And a result made of shared parts is walked under the same budget.
        let f = filters(json!([format!("\"dataos://x\"{}", "|[.,.]".repeat(40))]));
        assert_eq!(
            f.extract(&json!({})).1[0].message,
            format!("exceeded the address filter's budget of {MAX_STEPS} steps")
        );
    }

    #[test]
    fn deep_specs_and_long_filters_are_bounded() {
        let mut deep = json!("dataos://d");
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let f = filters(json!([".."]));
        assert_eq!(found(&f, json!({ "a": deep })).len(), 1);
        assert_eq!(
            refused(&".a".repeat(MAX_FILTER_BYTES)),
            format!(
                "filter is {} bytes, over the limit of {MAX_FILTER_BYTES}",
                2 * MAX_FILTER_BYTES
            )
        );
        assert_eq!(
            refused(&format!("{}.{}", "(".repeat(100), ")".repeat(100))),
            format!("filter nested deeper than {MAX_FILTER_DEPTH} levels")
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
    fn field_names_are_not_keywords() {
        let f = filters(json!([".range[]", ".def.limit", ".if.then"]));
        assert_eq!(f.len(), 3);
    }
}
