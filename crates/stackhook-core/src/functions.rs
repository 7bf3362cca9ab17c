//! DataOS's template functions, added to the Go/Sprig/Helm set of [`gotemplate`]
//! through its public API ([`Functions::add_function`]): `getNested`, `hasNested`,
//! `getMapValue`, and `resolve "dataos://depot:collection/dataset"` — the address's
//! parts and its Depot's type and (non-secret) details, read from the catalog, in the
//! shape Poros's `resolve` gives DataOS templates. Every Stack template is parsed with
//! [`functions`]; the catalog comes per request as the execution's [`Host`]
//! ([`CatalogResolver`]).
//!
//! The shape comes from two sources in `moderndatacompany/dataos.info` (commit
//! bb270f907b30836eeebbf58cc482693e60efae54):
//! - the Depot Service's `AddressInfo` model (`docs/api_docs/dataos_kotlin_sdk/
//!   depot-service/io.dataos.ds.client.models/-address-info`): `depot`, `type`,
//!   `collection`, `dataset`, `format`, and the connection details by type, whose
//!   models (`-abfss`, `-s3`, `-gcs`, `-pulsar`, `-jdbc`, `-kafka`, `-bigquery`, …)
//!   name the fields (`account`, `container`, `relativePath`, `bucket`, `tenant`,
//!   `isPersistent`, …);
//! - the Stacks of `docs/resources/stacks/custom_stacks/case_scenarios/
//!   stack_orchestrated_by_a_worker_declared_using_a_{config,resource}_template.md`,
//!   which read them as Go fields: `.Format`, `.Resolution` (`getMapValue
//!   .Resolution "isPersistent"`), `.Pulsar.Tenant`, `.Abfss.Account`,
//!   `.Abfss.Container`, `.Abfss.RelativePath`, `.Gcs.Bucket`, `.S3.Bucket`,
//!   `.S3.RelativePath`.
//!
//! So the result has `.Depot .Collection .Dataset .Type .Format .External .Source
//! .Acl .Resolution .Spec` (`.Source` is the depot's name unless it gives one), the Depot's `spec` keys as written (`.account`), and the same keys with a
//! capital first letter under the section of the type's Go name (`.Abfss.Account`).
//! A Pulsar depot's `.Resolution.isPersistent` is its `isPersistent`, true when unset
//! (Pulsar's default topic kind); a Depot may give any other `resolution` map itself.

use std::sync::{Arc, LazyLock};

use gotemplate::{Env, FnResult, Functions, Host, Param, Template, TemplateError};
use serde_json::{Map, Value};

use crate::address::Address;
use crate::catalog::Catalog;

/// Go, Sprig and Helm's functions, and DataOS's.
static FUNCTIONS: LazyLock<Arc<Functions>> = LazyLock::new(|| {
    use Param::{Any, Str};
    let mut f = Functions::new();
    f.add_function("getNested", &[Any, Str], None, get_nested)
        .add_function("hasNested", &[Any, Str], None, has_nested)
        .add_function("getMapValue", &[Any, Str], None, get_map_value)
        .add_function("resolve", &[Str], None, resolve);
    Arc::new(f)
});

/// The functions a Stack's templates are parsed with: Go's builtins, Sprig's and
/// Helm's, and DataOS's (`getNested`, `hasNested`, `getMapValue`, `resolve`).
pub fn functions() -> &'static Arc<Functions> {
    &FUNCTIONS
}

/// Parses a Stack's template `text` as `name`, with [`functions`].
pub fn parse_template(name: &str, text: &str) -> Result<Template, TemplateError> {
    Template::parse_with(name, text, functions())
}

/// A string argument's text (a `Str` parameter is always a string).
fn text(v: &gotemplate::Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A map's entry, if `v` is a map that has `key`.
fn map_get(v: &gotemplate::Value, key: &str) -> Option<gotemplate::Value> {
    match v {
        gotemplate::Value::Map(m) => m.borrow().entries.get(key).cloned(),
        _ => None,
    }
}

/// The value at a dotted path of maps (`a.b.c`), if every step is there.
fn nested(v: &gotemplate::Value, path: &str) -> Option<gotemplate::Value> {
    let mut cur = v.clone();
    for part in path.split('.') {
        cur = map_get(&cur, part)?;
    }
    Some(cur)
}

/// `getNested MAP "a.b"`: the value at the path, nil when a step is missing.
fn get_nested(_: &mut Env<'_, '_>, a: &[gotemplate::Value]) -> FnResult {
    Ok(nested(&a[0], text(&a[1])).unwrap_or(gotemplate::Value::Nil))
}

/// `hasNested MAP "a.b"`: whether the path is there (even holding null).
fn has_nested(_: &mut Env<'_, '_>, a: &[gotemplate::Value]) -> FnResult {
    Ok(gotemplate::Value::Bool(
        nested(&a[0], text(&a[1])).is_some(),
    ))
}

/// `getMapValue MAP "k"`: the key's value, `""` when absent.
fn get_map_value(_: &mut Env<'_, '_>, a: &[gotemplate::Value]) -> FnResult {
    Ok(map_get(&a[0], text(&a[1])).unwrap_or_else(|| gotemplate::Value::str("")))
}

/// `resolve "dataos://…"`: what the execution's [`CatalogResolver`] answers.
fn resolve(e: &mut Env<'_, '_>, a: &[gotemplate::Value]) -> FnResult {
    let address = text(&a[0]);
    let Some(host) = e.host() else {
        return Err(format!(
            "no catalog to resolve {} in",
            gotemplate::fmt::quote(address)
        )
        .into());
    };
    let json = host.call("resolve", a)?;
    e.json(&json)
}

/// The Go field name of a depot type's connection section (`ABFSS` → `Abfss`), as the
/// Depot Service's models name them; other types take their name with a capital
/// first letter (`SNOWFLAKE` → `Snowflake`).
fn section_name(ty: &str) -> String {
    let lower = ty.to_ascii_lowercase();
    match lower.as_str() {
        "s3" => "S3".into(),
        "elasticsearch" => "ElasticSearch".into(),
        "mongodb" => "MongoDb".into(),
        _ => capitalized(&lower),
    }
}

fn capitalized(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// What Poros resolves about the dataset beyond the address: a Depot's own
/// `resolution` map, or for Pulsar whether its topics are persistent.
fn resolution(ty: &str, details: &Map<String, Value>) -> Value {
    if let Some(Value::Object(r)) = details.get("resolution") {
        return Value::Object(r.clone());
    }
    let mut out = Map::new();
    if ty.eq_ignore_ascii_case("pulsar") {
        let persistent = details
            .get("isPersistent")
            .cloned()
            .unwrap_or(Value::Bool(true));
        out.insert("isPersistent".into(), persistent);
    }
    Value::Object(out)
}

/// Resolves addresses against the Depots of one namespace: the [`Host`] a Stack's
/// templates run with.
pub struct CatalogResolver<'a> {
    /// Where Depots are looked up.
    pub catalog: &'a dyn Catalog,
    /// The workload's namespace.
    pub namespace: &'a str,
}

impl Host for CatalogResolver<'_> {
    fn call(&self, function: &str, args: &[gotemplate::Value]) -> Result<Value, String> {
        match (function, args.first().and_then(gotemplate::Value::as_str)) {
            ("resolve", Some(address)) => self.resolve(address),
            _ => Err(format!("{function} is not a function of the catalog")),
        }
    }
}

impl CatalogResolver<'_> {
    /// `{Depot, Collection, Dataset, Type, Format, Acl, Resolution, Spec}` and the
    /// type's section (`Abfss`), see the module docs (`Acl` from `?acl=`, else empty),
    /// plus the Depot's `spec` keys at the top (`(resolve "dataos://icebase").account`),
    /// where they do not collide.
    pub fn resolve(&self, address: &str) -> Result<Value, String> {
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
        let details = &depot.spec.spec;
        let spec = Value::Object(details.clone());
        let mut out = details.clone();
        let text = |s: Option<&String>| Value::from(s.map_or("", String::as_str));
        let ty = depot.spec.r#type.as_str();
        out.insert("Depot".into(), parsed.depot.clone().into());
        out.insert("Collection".into(), text(parsed.collection.as_ref()));
        out.insert("Dataset".into(), text(parsed.dataset.as_ref()));
        out.insert("Type".into(), ty.into());
        out.insert("Acl".into(), parsed.acl().unwrap_or_default().into());
        let format = details
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("format"))
            .map_or(Value::from(""), |(_, v)| v.clone());
        out.insert("Format".into(), format);
        out.insert("Resolution".into(), resolution(ty, details));
        out.insert(
            "External".into(),
            Value::Bool(depot.spec.external.unwrap_or(false)),
        );
        out.insert(
            "Source".into(),
            depot
                .spec
                .source
                .clone()
                .unwrap_or_else(|| parsed.depot.clone())
                .into(),
        );
        let section: Map<String, Value> = details
            .iter()
            .map(|(k, v)| (capitalized(k), v.clone()))
            .collect();
        out.insert(section_name(ty), Value::Object(section));
        out.insert("Spec".into(), spec);
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MemoryCatalog;
    use crate::model::{Parsed, parse_document};
    use gotemplate::{CallContext, Limits};
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
            host: Some(&resolver),
            ..CallContext::default()
        };
        parse_template("t", t)
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

    /// The real pulsar-function Stack of the DataOS docs (stack_orchestrated_by_a_
    /// worker_declared_using_a_config_template.md) reads these.
    #[test]
    fn gives_the_fields_poros_gives_by_depot_type() {
        let mut c = catalog();
        for doc in [
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
                "metadata": {"name": "systemstreams", "namespace": "retail"},
                "spec": {"type": "PULSAR", "spec": {"tenant": "system", "adminUrl": "http://a"}}}),
            json!({"apiVersion": "stackhook.io/v1alpha1", "kind": "Depot",
                "metadata": {"name": "lakehouses3", "namespace": "retail"},
                "spec": {"type": "S3", "spec": {"bucket": "b1", "relativePath": "lake", "format": "ICEBERG"}}}),
        ] {
            let Parsed::Resource(r) = parse_document(doc).unwrap() else {
                panic!()
            };
            c.insert(*r).unwrap();
        }
        let resolver = CatalogResolver {
            catalog: &c,
            namespace: "retail",
        };
        let context = CallContext {
            host: Some(&resolver),
            ..CallContext::default()
        };
        let run = |t: &str| {
            parse_template("t", t)
                .and_then(|t| t.execute_json(&json!({}), &context, &Limits::default()))
                .unwrap()
        };
        assert_eq!(
            run(
                r#"{{ $d := resolve "dataos://systemstreams:poros/events" }}{{ if getMapValue $d.Resolution "isPersistent" }}persistent{{ else }}non-persistent{{ end }}://{{ $d.Pulsar.Tenant }}/{{ $d.Collection }}/{{ $d.Dataset }}"#
            ),
            "persistent://system/poros/events"
        );
        assert_eq!(
            run(
                r#"{{ $d := resolve "dataos://lakehouses3:mesh/t?acl=rw" }}{{ if eq $d.Format "ICEBERG" }}s3a://{{ $d.S3.Bucket }}/{{ $d.S3.RelativePath }} {{ $d.Acl }}{{ end }}"#
            ),
            "s3a://b1/lake rw"
        );
        assert_eq!(
            run(
                r#"{{ with resolve "dataos://icebase:retail/city" }}{{ .Abfss.Account }}@{{ .Abfss.Container }}|{{ .Format }}|{{ len .Resolution }}{{ end }}"#
            ),
            "lake@c1||0"
        );
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
        let t = parse_template("t", r#"{{ resolve "dataos://icebase" }}"#).unwrap();
        let e = t
            .execute_json(&json!({}), &CallContext::default(), &Limits::default())
            .unwrap_err();
        assert!(
            e.to_string()
                .ends_with(r#"error calling resolve: no catalog to resolve "dataos://icebase" in"#),
            "{e}"
        );
    }

    /// Go's answers for these (recorded with the definitions of
    /// `crates/gotemplate/tests/gotmpl/harness.go` before they moved here).
    #[test]
    fn get_nested_has_nested_and_get_map_value_answer_as_go() {
        let run = |t: &str, data: Value| {
            parse_template("t", t)
                .and_then(|t| t.execute_json(&data, &CallContext::default(), &Limits::default()))
                .unwrap()
        };
        assert_eq!(
            run(
                r#"{{ getNested .m "a.b" }}|{{ getNested .m "a.x" }}|{{ getNested .m "a.b.c" }}"#,
                json!({"m": {"a": {"b": "B"}}})
            ),
            "B|<no value>|<no value>"
        );
        assert_eq!(
            run(
                r#"{{ hasNested .m "a.b" }} {{ hasNested .m "a.z" }} {{ hasNested .m "a" }}"#,
                json!({"m": {"a": {"b": null}}})
            ),
            "true false true"
        );
        assert_eq!(
            run(
                r#"[{{ getMapValue .m "k" }}][{{ getMapValue .m "z" }}]"#,
                json!({"m": {"k": "v"}})
            ),
            "[v][]"
        );
    }

    #[test]
    fn the_builtins_alone_do_not_have_the_dataos_functions() {
        let e = Template::parse("t", r#"{{ getNested . "a" }}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"template: t:1: function "getNested" not defined"#
        );
        assert!(functions().names().contains(&"resolve"));
    }
}
