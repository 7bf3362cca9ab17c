//! The functions templates can call: Go's builtins and the Sprig/Helm functions with
//! their Go signatures (the signature decides Go's argument errors, e.g.
//! `wrong type for value; expected string; got float64`), and what an application
//! adds ([`Functions::add_function`]). None reads files, the environment or the
//! network.
//!
//! Every function that can grow data charges the execution's [`Budget`] for what it
//! is about to build before it builds it (`indent 100000000000 "x"` fails on the
//! budget, without allocating), and walks values with the depth limit of
//! [`MAX_VALUE_DEPTH`](super::fmt::MAX_VALUE_DEPTH).

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use base64::Engine as _;
use sha2::Digest as _;

use super::Bound;
use super::budget::{Budget, Exhausted, SLOT};
use super::fmt::{PrintError, Printer, quote};
use super::unicode;
use super::value::{Elem, MapRef, Mutated, Value};
use super::yaml;

/// What a function's parameter is in Go, which decides how arguments convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `reflect.Value` (Go's builtins): the value as it is, missing or nil.
    Reflect,
    /// `interface{}`.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `bool`.
    Bool,
    /// `map[string]interface{}`.
    Map,
    /// `time.Time`.
    Time,
}

impl Param {
    /// Go's name of the type.
    pub fn go_type(self) -> &'static str {
        match self {
            Self::Reflect => "reflect.Value",
            Self::Any => "interface {}",
            Self::Str => "string",
            Self::Int => "int",
            Self::Bool => "bool",
            Self::Map => "map[string]interface {}",
            Self::Time => "time.Time",
        }
    }

    pub(crate) fn can_be_nil(self) -> bool {
        matches!(self, Self::Reflect | Self::Any | Self::Map)
    }
}

/// What an application's functions consult while one execution runs (a request's
/// catalog, say), where the functions themselves are fixed when the template is
/// parsed: Go's closures over request state, as a value the caller passes in its
/// [`CallContext`]. An added function reaches it with [`Env::host`].
pub trait Host {
    /// The answer to `function` called with `args`, as JSON (charged to the
    /// execution's memory budget by [`Env::json`]), or why there is none, in words
    /// that follow `error calling FUNCTION: `.
    fn call(&self, function: &str, args: &[Value]) -> Result<serde_json::Value, String>;
}

/// What functions may consult while a template runs.
#[derive(Default)]
pub struct CallContext<'a> {
    /// What the application's functions consult ([`Host`]); without one, they say
    /// what they are missing.
    pub host: Option<&'a dyn Host>,
    /// When the review this execution is part of must be done (its time budget, before
    /// its deadline); execution stops there if that comes before its own time limit.
    pub deadline: Option<std::time::Instant>,
}

/// Why a function failed.
#[derive(Debug)]
pub enum FnError {
    /// The function's own error, in Go's words (after `error calling NAME: `).
    Go(String),
    /// An execution bound was reached.
    Bound(Bound),
}

impl From<String> for FnError {
    fn from(s: String) -> Self {
        Self::Go(s)
    }
}

impl From<&str> for FnError {
    fn from(s: &str) -> Self {
        Self::Go(s.to_owned())
    }
}

impl From<Exhausted> for FnError {
    fn from(_: Exhausted) -> Self {
        Self::Bound(Bound::Memory)
    }
}

impl From<PrintError> for FnError {
    fn from(e: PrintError) -> Self {
        Self::Bound(match e {
            PrintError::Bytes => Bound::Memory,
            PrintError::Depth => Bound::ValueDepth,
        })
    }
}

/// What a function returns.
pub type FnResult = Result<Value, FnError>;

/// The execution's step fuel and clock, for functions whose work grows faster than
/// what they build (`uniq`, `deepEqual`, `merge` compare or walk without allocating).
pub(crate) struct Fuel<'e> {
    /// Steps used so far (shared with the executor's node count).
    pub used: &'e mut u64,
    /// The step limit.
    pub limit: u64,
    /// When the execution must stop.
    pub stop_at: std::time::Instant,
}

/// What a function runs with: the caller's context, the execution's budget and fuel,
/// and the record of maps changed in place.
pub struct Env<'e, 'c> {
    pub(crate) ctx: &'e CallContext<'c>,
    pub(crate) budget: &'e mut Budget,
    pub(crate) fuel: Fuel<'e>,
    pub(crate) mutated: &'e mut Mutated,
}

impl Env<'_, '_> {
    /// The caller's [`Host`], if it gave one.
    pub fn host(&self) -> Option<&dyn Host> {
        self.ctx.host
    }

    /// A JSON value as template data (numbers are `float64`, as Go decodes JSON),
    /// charged to the memory budget.
    pub fn json(&mut self, json: &serde_json::Value) -> FnResult {
        self.charge(json_size(json))?;
        Ok(Value::from(json))
    }

    /// Spends `n` steps of the execution's fuel (the clock is read every 1,024).
    pub fn work(&mut self, n: u64) -> Result<(), FnError> {
        let before = *self.fuel.used;
        *self.fuel.used = before.saturating_add(n);
        if *self.fuel.used > self.fuel.limit {
            return Err(FnError::Bound(Bound::Steps));
        }
        if before >> 10 != *self.fuel.used >> 10 && std::time::Instant::now() > self.fuel.stop_at {
            return Err(FnError::Bound(Bound::Time));
        }
        Ok(())
    }

    /// Charges `n` bytes.
    pub fn charge(&mut self, n: usize) -> Result<(), FnError> {
        self.budget.charge(n).map_err(FnError::from)
    }

    /// A string result, charged.
    pub fn string(&mut self, s: String) -> FnResult {
        self.charge(s.len())?;
        Ok(Value::string(s))
    }

    /// A list result, charged.
    pub(crate) fn list(&mut self, elem: Elem, items: Vec<Value>) -> FnResult {
        self.charge(SLOT * (items.len() + 1))?;
        Ok(Value::typed_list(elem, items))
    }

    /// A map result, charged.
    pub(crate) fn map(&mut self, elem: Elem, entries: BTreeMap<String, Value>) -> FnResult {
        let keys: usize = entries.keys().map(String::len).sum();
        self.charge(keys + 2 * SLOT * (entries.len() + 1))?;
        Ok(Value::typed_map(elem, entries))
    }

    /// Records that `map` is changed in place.
    pub(crate) fn mutating(&mut self, map: &MapRef) {
        self.mutated.record(map);
    }

    /// `%v` of a value, within the budget (not charged: the caller charges what it
    /// keeps).
    pub(crate) fn sprint_value(&mut self, v: &Value) -> Result<String, FnError> {
        let mut p = Printer::new(self.budget.left());
        p.print(std::slice::from_ref(v))?;
        Ok(p.buf)
    }

    /// Sprig's `strval`: strings as they are, everything else as `%v`.
    pub(crate) fn strval(&mut self, v: &Value) -> Result<String, FnError> {
        match v {
            Value::String(s) => Ok(s.to_string()),
            other => self.sprint_value(other),
        }
    }

    /// Sprig's `strslice`: a list's non-nil elements as strings, or the value itself.
    pub(crate) fn strslice(&mut self, v: &Value) -> Result<Vec<String>, FnError> {
        match v {
            Value::List(l) => {
                let mut out = Vec::with_capacity(l.items.len());
                for x in l.items.iter().filter(|x| !x.is_nil()) {
                    out.push(self.strval(x)?);
                }
                Ok(out)
            }
            Value::Nil | Value::Missing => Ok(Vec::new()),
            other => Ok(vec![self.strval(other)?]),
        }
    }
}

/// A function's body: its arguments converted to its Go parameter types (a missing
/// `Str` argument is `""`, and so on), in order.
pub type Call = fn(&mut Env<'_, '_>, &[Value]) -> FnResult;

#[derive(Clone)]
pub(crate) struct Func {
    pub name: &'static str,
    pub params: &'static [Param],
    pub variadic: Option<Param>,
    pub call: Call,
}

use Param::{Any, Bool, Int, Map, Reflect, Str};

macro_rules! funcs {
    ($( $name:literal ($($p:expr),*) $(.. $v:expr)? => $call:expr ),* $(,)?) => {
        vec![$( Func { name: $name, params: &[$($p),*], variadic: funcs!(@v $($v)?), call: $call } ),*]
    };
    (@v) => { None };
    (@v $v:expr) => { Some($v) };
}

/// The text of a `string` argument.
pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

static FUNCS: LazyLock<HashMap<&'static str, Func>> = LazyLock::new(|| {
    let list: Vec<Func> = funcs![
        // Go's builtins.
        "and" (Reflect) .. Reflect => |_, a| Ok(a.last().cloned().unwrap_or(Value::Missing)),
        "or" (Reflect) .. Reflect => |_, a| Ok(a.last().cloned().unwrap_or(Value::Missing)),
        "not" (Reflect) => |_, a| Ok(Value::Bool(!a[0].truth())),
        "len" (Reflect) => |_, a| length(&a[0]),
        "index" (Reflect) .. Reflect => |_, a| index(&a[0], &a[1..]),
        "print" () .. Any => |e, a| {
            let mut p = Printer::new(e.budget.left());
            p.print(a)?;
            e.string(p.buf)
        },
        "printf" (Str) .. Any => |e, a| {
            let mut p = Printer::new(e.budget.left());
            p.printf(s(&a[0]), &a[1..])?;
            e.string(p.buf)
        },
        "println" () .. Any => |e, a| {
            let mut p = Printer::new(e.budget.left());
            p.println(a)?;
            e.string(p.buf)
        },
        "html" () .. Any => |e, a| { let t = eval_args(e, a)?; e.string(html_escape(&t)) },
        "js" () .. Any => |e, a| { let t = eval_args(e, a)?; e.string(js_escape(&t)) },
        "urlquery" () .. Any => |e, a| { let t = eval_args(e, a)?; e.string(query_escape(&t)) },
        "eq" (Reflect) .. Reflect => |_, a| eq(&a[0], &a[1..]).map(Value::Bool),
        "ne" (Reflect, Reflect) => |_, a| eq(&a[0], &a[1..]).map(|b| Value::Bool(!b)),
        "lt" (Reflect, Reflect) => |_, a| lt(&a[0], &a[1]).map(Value::Bool),
        "le" (Reflect, Reflect) => |_, a| le(&a[0], &a[1]).map(Value::Bool),
        "gt" (Reflect, Reflect) => |_, a| le(&a[0], &a[1]).map(|b| Value::Bool(!b)),
        "ge" (Reflect, Reflect) => |_, a| lt(&a[0], &a[1]).map(|b| Value::Bool(!b)),
        "slice" (Any) .. Any => |e, a| slice(e, &a[0], &a[1..]),
        "mustSlice" (Any) .. Any => |e, a| slice(e, &a[0], &a[1..]),
        "call" (Reflect) .. Reflect => |_, a| match &a[0] {
            Value::Missing | Value::Nil => Err("call of nil".into()),
            v => Err(format!("non-function of type {}", v.type_name()).into()),
        },
        // Sprig and Helm.
        "toYaml" (Any) => |e, a| {
            let y = yaml::to_yaml(&a[0], e.budget.left())?;
            e.string(y.trim_end_matches('\n').to_owned())
        },
        "toJson" (Any) => |e, a| {
            let j = yaml::to_go_json(&a[0], e.budget.left())?.unwrap_or_default();
            e.string(j)
        },
        "toToml" (Any) => |e, a| {
            let t = super::toml::to_toml(&a[0], e.budget.left())?;
            e.string(t)
        },
        "decryptAES" (Str, Str) => |e, a| {
            e.charge(s(&a[1]).len())?;
            let plain = super::crypto::decrypt_aes(s(&a[0]), s(&a[1]))?;
            e.string(plain)
        },
        "fromYaml" (Str) => |e, a| from_yaml(e, s(&a[0])),
        "fromYamlArray" (Str) => |e, a| from_yaml_as(e, s(&a[0]), true),
        // Run by the executor, which has the template's `define`s (`Exec::include`).
        "include" (Str, Any) => |_, _| Err("include runs in the executor".into()),
        "tpl" (Str, Map) => |_, _| Err("tpl runs in the executor".into()),
        "indent" (Int, Str) => |e, a| indent(e, &a[0], s(&a[1]), false),
        "nindent" (Int, Str) => |e, a| indent(e, &a[0], s(&a[1]), true),
        "quote" () .. Any => |e, a| {
            let mut parts = Vec::new();
            for v in a.iter().filter(|v| !v.is_nil()) {
                parts.push(quote(&e.strval(v)?));
            }
            e.string(parts.join(" "))
        },
        "squote" () .. Any => |e, a| {
            let mut parts = Vec::new();
            for v in a.iter().filter(|v| !v.is_nil()) {
                parts.push(format!("'{}'", e.strval(v)?));
            }
            e.string(parts.join(" "))
        },
        "default" (Any) .. Any => |_, a| Ok(match a.get(1) {
            Some(v) if v.truth() => v.clone(),
            _ => a[0].clone(),
        }),
        "empty" (Any) => |_, a| Ok(Value::Bool(!a[0].truth())),
        "coalesce" () .. Any => |_, a| Ok(a.iter().find(|v| v.truth()).cloned().unwrap_or(Value::Nil)),
        "required" (Str, Any) => |_, a| match &a[1] {
            Value::Nil => Err(s(&a[0]).into()),
            Value::String(x) if x.is_empty() => Err(s(&a[0]).into()),
            v => Ok(v.clone()),
        },
        "fail" (Str) => |_, a| Err(s(&a[0]).into()),
        "ternary" (Any, Any, Bool) => |_, a| Ok(if a[2].truth() { a[0].clone() } else { a[1].clone() }),
        "list" () .. Any => |e, a| e.list(Elem::Any, a.to_vec()),
        "dict" () .. Any => |e, a| {
            let mut m = BTreeMap::new();
            for pair in a.chunks(2) {
                let k = e.strval(&pair[0])?;
                m.insert(k, pair.get(1).cloned().unwrap_or_else(|| Value::str("")));
            }
            e.map(Elem::Any, m)
        },
        "get" (Map, Str) => |_, a| Ok(map_get(&a[0], s(&a[1])).unwrap_or_else(|| Value::str(""))),
        "set" (Map, Str, Any) => |e, a| {
            let Value::Map(m) = &a[0] else { return Err("assignment to entry in nil map".into()) };
            let key = s(&a[1]);
            e.charge(key.len() + 2 * SLOT)?;
            e.mutating(m);
            m.borrow_mut().entries.insert(key.to_owned(), a[2].clone());
            Ok(a[0].clone())
        },
        "unset" (Map, Str) => |e, a| {
            if let Value::Map(m) = &a[0] {
                e.mutating(m);
                // Dropped after the borrow ends: the removed value may hold this map.
                let removed = m.borrow_mut().entries.remove(s(&a[1]));
                drop(removed);
            }
            Ok(a[0].clone())
        },
        "hasKey" (Map, Str) => |_, a| Ok(Value::Bool(map_get(&a[0], s(&a[1])).is_some())),
        "keys" () .. Map => |e, a| {
            let mut keys = Vec::new();
            for m in a {
                if let Value::Map(m) = m {
                    keys.extend(m.borrow().entries.keys().cloned());
                }
            }
            let bytes: usize = keys.iter().map(String::len).sum();
            e.charge(bytes)?;
            e.list(Elem::String, keys.into_iter().map(Value::string).collect())
        },
        "sortAlpha" (Any) => |e, a| {
            let mut items = match &a[0] {
                v @ Value::List(_) => e.strslice(v)?,
                v => vec![e.strval(v)?],
            };
            items.sort();
            let bytes: usize = items.iter().map(String::len).sum();
            e.charge(bytes)?;
            e.list(Elem::String, items.into_iter().map(Value::string).collect())
        },
        "join" (Str, Any) => |e, a| {
            let parts = e.strslice(&a[1])?;
            let sep = s(&a[0]);
            let size = parts.iter().map(String::len).sum::<usize>()
                + sep.len().saturating_mul(parts.len().saturating_sub(1));
            e.charge(size)?;
            Ok(Value::string(parts.join(sep)))
        },
        "split" (Str, Str) => |e, a| {
            let m: BTreeMap<String, Value> = s(&a[1]).split(s(&a[0])).enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::str(p))).collect();
            e.charge(s(&a[1]).len())?;
            e.map(Elem::String, m)
        },
        "upper" (Str) => |e, a| e.string(unicode::upper(s(&a[0]))),
        "lower" (Str) => |e, a| e.string(unicode::lower(s(&a[0]))),
        "swapcase" (Str) => |e, a| e.string(unicode::swap_case(s(&a[0]))),
        "title" (Str) => |e, a| e.string(unicode::title(s(&a[0]))),
        "trim" (Str) => |e, a| e.string(unicode::trim_space(s(&a[0])).to_owned()),
        "trimPrefix" (Str, Str) => |e, a| {
            let (p, x) = (s(&a[0]), s(&a[1]));
            e.string(x.strip_prefix(p).unwrap_or(x).to_owned())
        },
        "trimSuffix" (Str, Str) => |e, a| {
            let (p, x) = (s(&a[0]), s(&a[1]));
            e.string(x.strip_suffix(p).unwrap_or(x).to_owned())
        },
        "replace" (Str, Str, Str) => |e, a| go_replace(e, s(&a[2]), s(&a[0]), s(&a[1]), -1),
        "contains" (Str, Str) => |_, a| Ok(Value::Bool(s(&a[1]).contains(s(&a[0])))),
        "hasPrefix" (Str, Str) => |_, a| Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0])))),
        "hasSuffix" (Str, Str) => |_, a| Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0])))),
        "b64enc" (Str) => |e, a| e.string(base64::engine::general_purpose::STANDARD.encode(s(&a[0]))),
        "b64dec" (Str) => |e, a| e.string(b64dec(s(&a[0]))),
        "sha256sum" (Str) => |e, a| e.string(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes()))),
        "toString" (Any) => |e, a| { let t = e.strval(&a[0])?; e.string(t) },
        "int" (Any) => |_, a| Ok(Value::Int(to_int64(&a[0]))),
        "add" () .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(0i64, i64::wrapping_add))),
        "sub" (Any, Any) => |_, a| Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))),
        "mul" (Any) .. Any => |_, a| Ok(Value::Int64(a.iter().map(to_int64).fold(1i64, i64::wrapping_mul))),
        "div" (Any, Any) => |_, a| match to_int64(&a[1]) {
            0 => Err("runtime error: integer divide by zero".into()),
            d => Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d))),
        },
        "mod" (Any, Any) => |_, a| match to_int64(&a[1]) {
            0 => Err("runtime error: integer divide by zero".into()),
            d => Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d))),
        },
        "regexMatch" (Str, Str) => |_, a| Ok(Value::Bool(
            compile(s(&a[0])).is_ok_and(|r| r.is_match(s(&a[1]))))),
        "regexReplaceAll" (Str, Str, Str) => |e, a| {
            let re = compile(s(&a[0]))?;
            replace_all(e, &re, s(&a[1]), s(&a[2]), false)
        },
    ];
    list.into_iter()
        .chain(super::sprig::functions())
        .chain(super::dates::functions())
        .map(|f| (f.name, f))
        .collect()
});

/// The functions a template is parsed with (Go's `FuncMap` given to `Funcs` before
/// `Parse`): Go's builtins, Sprig's and Helm's, and what the application adds. The
/// parser refuses a call of a function that is not in it; the executor calls the
/// function of that name.
#[derive(Clone, Default)]
pub struct Functions {
    added: HashMap<&'static str, Func>,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.added.keys().collect();
        names.sort_unstable();
        f.debug_struct("Functions").field("added", &names).finish()
    }
}

impl Functions {
    /// Go's builtins and Sprig's and Helm's functions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces, as Go's `Funcs` does) the function `name`, whose Go
    /// signature is `params` and, if it is variadic, `variadic` for the rest: the
    /// executor converts arguments to those types and fails with Go's argument errors
    /// before `call` runs. `call` charges what it builds to the [`Env`]'s budget and
    /// fails with [`FnError::Go`] (`error calling NAME: …`); what it needs from the
    /// caller's request comes from [`Env::host`].
    pub fn add_function(
        &mut self,
        name: &'static str,
        params: &'static [Param],
        variadic: Option<Param>,
        call: Call,
    ) -> &mut Self {
        self.added.insert(
            name,
            Func {
                name,
                params,
                variadic,
                call,
            },
        );
        self
    }

    /// The function `name`, the application's before the builtins.
    pub(crate) fn get(&self, name: &str) -> Option<&Func> {
        self.added.get(name).or_else(|| FUNCS.get(name))
    }

    /// Whether a function of this name exists (for the parser's check).
    pub fn contains(&self, name: &str) -> bool {
        self.added.contains_key(name) || FUNCS.contains_key(name)
    }

    /// The names of every function, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = FUNCS.keys().chain(self.added.keys()).copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Why a Sprig or Helm function that exists there is refused here: its result
/// depends on more than its arguments.
pub(crate) fn refused(name: &str) -> Option<&'static str> {
    Some(match name {
        "env" | "expandenv" => "reads the process environment",
        "now" | "ago" => "reads the clock",
        "derivePassword" => {
            "costs 32 MiB and a tenth of a second of scrypt a call, past a template's budget"
        }
        "randAlpha"
        | "randAlphaNum"
        | "randAscii"
        | "randNumeric"
        | "randBytes"
        | "randInt"
        | "uuidv4"
        | "shuffle"
        | "genPrivateKey"
        | "genCA"
        | "genCAWithKey"
        | "genSelfSignedCert"
        | "genSelfSignedCertWithKey"
        | "genSignedCert"
        | "genSignedCertWithKey"
        | "buildCustomCert"
        | "bcrypt"
        | "htpasswd"
        | "encryptAES" => "is random",
        "getHostByName" => "reads the network",
        "lookup" => "reads the cluster",
        _ => return None,
    })
}

/// Roughly what a JSON value costs as template data.
pub(crate) fn json_size(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::String(s) => SLOT + s.len(),
        serde_json::Value::Array(a) => SLOT + a.iter().map(json_size).sum::<usize>(),
        serde_json::Value::Object(m) => {
            SLOT + m
                .iter()
                .map(|(k, v)| SLOT + k.len() + json_size(v))
                .sum::<usize>()
        }
        _ => SLOT,
    }
}

fn map_get(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Map(m) => m.borrow().entries.get(key).cloned(),
        _ => None,
    }
}

/// `cast.ToInt64`: numbers truncate, strings parse (else 0), booleans are 0/1.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(s).unwrap_or(0),
        _ => 0,
    }
}

fn parse_go_int(s: &str) -> Option<i64> {
    let s = s.strip_suffix(".0").unwrap_or(s);
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(d) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, d)
    } else if let Some(d) = digits.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = digits.strip_prefix("0o") {
        (8, d)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Sprig's `indent`/`nindent`: the size is known before anything is built, so a
/// huge count fails on the budget instead of allocating.
fn indent(e: &mut Env<'_, '_>, spaces: &Value, text: &str, newline: bool) -> FnResult {
    let n = spaces.as_int().unwrap_or(0);
    let Ok(n) = usize::try_from(n) else {
        return Err("strings: negative Repeat count".into());
    };
    let lines = text.matches('\n').count() + 1;
    let size = n
        .checked_mul(lines)
        .and_then(|p| p.checked_add(text.len() + usize::from(newline)))
        .ok_or(Exhausted)?;
    e.charge(size)?;
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(size);
    if newline {
        out.push('\n');
    }
    out.push_str(&pad);
    out.push_str(&text.replace('\n', &format!("\n{pad}")));
    Ok(Value::string(out))
}

/// Go's `strings.Replace(s, old, new, n)` (`n` < 0: all), within the budget.
fn go_replace(e: &mut Env<'_, '_>, s: &str, old: &str, new: &str, n: i64) -> FnResult {
    let count = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let count = if n < 0 { count } else { count.min(n as usize) };
    let size = s
        .len()
        .checked_add(new.len().checked_mul(count).ok_or(Exhausted)?)
        .ok_or(Exhausted)?;
    e.charge(size)?;
    if old.is_empty() {
        let mut out = String::with_capacity(size);
        let mut done = 0;
        let mut chars = s.chars();
        loop {
            if done < count {
                out.push_str(new);
                done += 1;
            }
            match chars.next() {
                Some(c) => out.push(c),
                None => break,
            }
        }
        return Ok(Value::string(out));
    }
    Ok(Value::string(s.replacen(old, new, count)))
}

fn b64dec(s: &str) -> String {
    match b64_decode_go(s) {
        Ok(bytes) => super::sprig::go_lossy(&bytes),
        Err(message) => message,
    }
}

/// `base64.StdEncoding.DecodeString`, with Go's error text.
pub(crate) fn b64_decode_go(s: &str) -> Result<Vec<u8>, String> {
    match base64::engine::general_purpose::STANDARD.decode(s) {
        Ok(bytes) => Ok(bytes),
        Err(
            base64::DecodeError::InvalidByte(offset, _)
            | base64::DecodeError::InvalidLastSymbol { offset, .. },
        ) => Err(format!("illegal base64 data at input byte {offset}")),
        Err(_) => Err(format!(
            "illegal base64 data at input byte {}",
            s.len().saturating_sub(s.len() % 4)
        )),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `Regexp.ReplaceAllString` (`literal`: `ReplaceAllLiteralString`), within the
/// budget: each match is replaced by at most the replacement with every group expanded
/// to the whole input, and that worst case is charged before anything is built.
pub(crate) fn replace_all(
    e: &mut Env<'_, '_>,
    re: &regex::Regex,
    input: &str,
    repl: &str,
    literal: bool,
) -> FnResult {
    let matches = re.find_iter(input).count();
    let groups = if literal {
        0
    } else {
        repl.matches('$').count()
    };
    e.charge(
        input.len().saturating_add(
            matches.saturating_mul(
                repl.len()
                    .saturating_add(groups.saturating_mul(input.len())),
            ),
        ),
    )?;
    let out = if literal {
        re.replace_all(input, regex::NoExpand(repl))
    } else {
        re.replace_all(input, repl)
    };
    Ok(Value::string(out.into_owned()))
}

/// Regexes are RE2 in Go and linear-time in the `regex` crate: no pattern can stall a
/// render. A size limit keeps compiled programs small.
pub(crate) fn compile(pattern: &str) -> Result<regex::Regex, String> {
    compile_plain(pattern).map_err(|e| format!("regexp: Compile({}): {e}", go_regex_quote(pattern)))
}

/// `regexp.Compile`: the error as Go's `regexp/syntax` words it.
pub(crate) fn compile_plain(pattern: &str) -> Result<regex::Regex, String> {
    let pattern = match go_syntax(pattern) {
        Ok(p) => p,
        Err((code, expr)) => return Err(format!("error parsing regexp: {code}: `{expr}`")),
    };
    let pattern = pattern.as_ref();
    regex::RegexBuilder::new(pattern)
        // Go reads `\0`, and `\1`–`\7` before an octal digit, as octal escapes (up to
        // three digits); `go_syntax` has refused the backreferences Go refuses.
        .octal(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| go_regex_error(pattern, &e))
}

/// `regexp`'s `quote`: backquoted when it can be.
fn go_regex_quote(s: &str) -> String {
    let can_backquote = !s
        .chars()
        .any(|c| c == '`' || c == '\u{FEFF}' || (c.is_control() && c != '\t'));
    if can_backquote {
        format!("`{s}`")
    } else {
        quote(s)
    }
}

/// What Go 1.19's `regexp/syntax` refuses that the `regex` crate reads, or words
/// differently, as Go's error code and the text it quotes: a backreference (`\1`,
/// which Go reads as an octal escape only when an octal digit follows), a `(?`
/// group other than flags `imsU`, `:` and `P<name>` (look-around, atomic groups,
/// `(?<name>`, which Go 1.19 predates, and `x`/`u`/`R` flags), and a repeat count
/// over 1,000. A `{` that does not start a repeat count is a literal in Go (`a{x}`)
/// and is escaped for the `regex` crate, which refuses it.
fn go_syntax(pattern: &str) -> Result<std::borrow::Cow<'_, str>, (&'static str, &str)> {
    let b = pattern.as_bytes();
    let mut literal_braces = Vec::new();
    let mut i = 0;
    // Where the class being read started (`[` or `[^`), to see a leading `]`.
    let mut class: Option<usize> = None;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let digit = b.get(i + 1).copied().unwrap_or_default();
                let next = b.get(i + 2).copied().unwrap_or_default();
                let backreference = matches!(digit, b'1'..=b'7') && !(b'0'..=b'7').contains(&next);
                if backreference || matches!(digit, b'8' | b'9') {
                    return Err(("invalid escape sequence", &pattern[i..i + 2]));
                }
                // Skip the escaped character, however long its UTF-8 is.
                i += 1 + pattern[i + 1..].chars().next().map_or(0, char::len_utf8);
                continue;
            }
            b']' if class.is_some_and(|start| i > start) => class = None,
            b'[' if class.is_none() => {
                let caret = usize::from(b.get(i + 1) == Some(&b'^'));
                class = Some(i + 1 + caret);
            }
            b'(' if class.is_none() && b.get(i + 1) == Some(&b'?') => {
                if b.len() - i > 4 && b[i + 2] == b'P' && b[i + 3] == b'<' {
                    i += 4;
                    continue;
                }
                // Go's parsePerlFlags: flags, an optional `-` and more, then `:` or `)`.
                let mut j = i + 2;
                let mut negated = false;
                let mut saw_flag = false;
                loop {
                    let Some(c) = pattern[j..].chars().next() else {
                        return Err(("invalid or unsupported Perl syntax", &pattern[i..]));
                    };
                    j += c.len_utf8();
                    match c {
                        'i' | 'm' | 's' | 'U' => saw_flag = true,
                        '-' if !negated => {
                            negated = true;
                            saw_flag = false;
                        }
                        ':' | ')' if !negated || saw_flag => break,
                        _ => return Err(("invalid or unsupported Perl syntax", &pattern[i..j])),
                    }
                }
                i = j;
                continue;
            }
            b'{' if class.is_none() => match repeat(&pattern[i..]) {
                Some((len, true)) => return Err(("invalid repeat count", &pattern[i..i + len])),
                Some((len, false)) => {
                    i += len;
                    continue;
                }
                None => literal_braces.push(i),
            },
            _ => {}
        }
        i += 1;
    }
    if literal_braces.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(pattern));
    }
    let mut out = String::with_capacity(pattern.len() + literal_braces.len());
    let mut from = 0;
    for at in literal_braces {
        out.push_str(&pattern[from..at]);
        out.push('\\');
        from = at;
    }
    out.push_str(&pattern[from..]);
    Ok(std::borrow::Cow::Owned(out))
}

/// A `{n}`, `{n,}` or `{n,m}` at the start of `s` (else Go reads `{` as a literal):
/// its length, and whether a count is over Go's 1,000.
fn repeat(s: &str) -> Option<(usize, bool)> {
    let close = s.find('}')?;
    let inner = &s[1..close];
    let (min, max) = match inner.split_once(',') {
        Some((min, max)) => (min, (!max.is_empty()).then_some(max)),
        None => (inner, Some(inner)),
    };
    let number = |t: &str| {
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse::<u64>().unwrap_or(u64::MAX))
    };
    let min = number(min)?;
    let max = match max {
        Some(m) => Some(number(m)?),
        None => None,
    };
    Some((close + 1, min > 1000 || max.is_some_and(|m| m > 1000)))
}

/// A syntax error as Go's `regexp/syntax.Error` prints it (`error parsing regexp:
/// missing closing ): `(``), from the position regex-syntax reports.
fn go_regex_error(pattern: &str, e: &regex::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let Err(err) = regex_syntax::ast::parse::Parser::new().parse(pattern) else {
        return match e {
            regex::Error::CompiledTooBig(_) => {
                "error parsing regexp: expression too large".to_owned()
            }
            other => format!("error parsing regexp: {other}"),
        };
    };
    let span = err.span();
    let from = |at: usize| pattern.get(at..).unwrap_or_default();
    let (code, expr) = match err.kind() {
        K::GroupUnclosed => ("missing closing )", pattern),
        K::GroupUnopened => ("unexpected )", pattern),
        K::ClassUnclosed => ("missing closing ]", from(span.start.offset)),
        K::ClassRangeInvalid => (
            "invalid character class range",
            pattern
                .get(span.start.offset..span.end.offset)
                .unwrap_or_default(),
        ),
        K::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
        K::EscapeUnrecognized | K::EscapeHexInvalid | K::EscapeHexEmpty => (
            "invalid escape sequence",
            pattern
                .get(span.start.offset..span.end.offset)
                .unwrap_or_default(),
        ),
        // Go names the operator; regex-syntax's span of it may be empty.
        K::RepetitionMissing => (
            "missing argument to repetition operator",
            pattern
                .get(span.start.offset..span.end.offset.max(span.start.offset + 1))
                .unwrap_or_default(),
        ),
        K::RepetitionCountInvalid | K::RepetitionCountDecimalEmpty | K::RepetitionCountUnclosed => {
            (
                "invalid repeat count",
                pattern
                    .get(span.start.offset..span.end.offset)
                    .unwrap_or_default(),
            )
        }
        K::GroupNameInvalid | K::GroupNameEmpty | K::GroupNameUnexpectedEof => {
            ("invalid named capture", pattern)
        }
        K::FlagUnrecognized | K::FlagUnexpectedEof | K::FlagDanglingNegation => {
            ("invalid or unsupported Perl syntax", pattern)
        }
        _ => return format!("error parsing regexp: {}", err.kind()),
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

/// What `encoding/json` calls a JSON value's kind in "cannot unmarshal X into …".
pub(crate) fn go_json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Helm's `fromYaml` (`array` false: a map, or `{Error: …}`) and `fromYamlArray`
/// (a list, or `[message]`), through sigs.k8s.io/yaml's YAML → JSON → Go.
pub(crate) fn from_yaml_as(e: &mut Env<'_, '_>, text: &str, array: bool) -> FnResult {
    let (want, fail): (&str, fn(String) -> Value) = if array {
        ("[]interface {}", |m| Value::list(vec![Value::string(m)]))
    } else {
        ("map[string]interface {}", error_map)
    };
    let limits = goyaml::Limits::within(e.budget.left());
    let value = match goyaml::parse_documents_with(text, &limits) {
        Ok(docs) => match docs.into_iter().next().map(|d| d.value) {
            Some(v @ serde_json::Value::Object(_)) if !array => {
                e.charge(json_size(&v))?;
                Value::from(&v)
            }
            Some(v @ serde_json::Value::Array(_)) if array => {
                e.charge(json_size(&v))?;
                Value::from(&v)
            }
            None | Some(serde_json::Value::Null) if array => Value::list(Vec::new()),
            None | Some(serde_json::Value::Null) => Value::map(BTreeMap::new()),
            Some(other) => fail(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type {want}",
                go_json_kind(&other)
            )),
        },
        Err(err) if err.limit => return Err(FnError::Bound(Bound::Memory)),
        Err(err) => fail(format!(
            "error converting YAML to JSON: {}",
            yaml_v2_error(&err)
        )),
    };
    Ok(value)
}

/// A syntax error as yaml.v2 words it (`yaml: line 1: did not find expected ',' or
/// ']'`), from the reader's: yaml.v2 prints libyaml's problem without its context
/// (`while parsing a flow sequence`), in libyaml's words, and its line the way
/// `parser.fail` computes it — a parser error's 0-based line of the problem (so one
/// less than the line it is on, and the end of a text without a final line break
/// counts as the line after it), a scanner error's 1-based line, and no line at all
/// when that comes to 0.
fn yaml_v2_error(err: &goyaml::SyntaxError) -> String {
    let (parser, problem) = match err.message.strip_prefix("while parsing ") {
        Some(rest) => (true, rest.split_once(", ").map_or(rest, |(_, p)| p)),
        None => (
            false,
            err.message
                .strip_prefix("while scanning ")
                .map_or(err.message.as_str(), |rest| {
                    rest.split_once(", ").map_or(rest, |(_, p)| p)
                }),
        ),
    };
    let problem = match problem {
        "expected ',' or ']'" => "did not find expected ',' or ']'",
        "expected ',' or '}'" => "did not find expected ',' or '}'",
        p if p.starts_with("tabs disallowed") => "found character that cannot start any token",
        p => p,
    };
    // The reader's lines are 1-based; a scanner error on the first line has none.
    let line = if parser {
        err.position.line.saturating_sub(1)
    } else if err.position.line > 1 {
        err.position.line
    } else {
        0
    };
    if line == 0 {
        format!("yaml: {problem}")
    } else {
        format!("yaml: line {line}: {problem}")
    }
}

fn from_yaml(e: &mut Env<'_, '_>, text: &str) -> FnResult {
    from_yaml_as(e, text, false)
}

pub(crate) fn error_map(message: String) -> Value {
    Value::map([("Error".to_owned(), Value::string(message))].into())
}

/// `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c if !c.is_ascii() && !unicode::is_print(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The text of the escaping functions' arguments (`evalArgs` in Go), within the
/// budget. The escapes at most grow it sixfold (`<` → `\u003C`), charged by the
/// caller's `string`.
fn eval_args(e: &mut Env<'_, '_>, args: &[Value]) -> Result<String, FnError> {
    if let [Value::String(s)] = args {
        e.charge(s.len().saturating_mul(6))?;
        return Ok(s.to_string());
    }
    let args: Vec<Value> = args
        .iter()
        .map(|v| {
            if v.is_missing() {
                Value::Nil
            } else {
                v.clone()
            }
        })
        .collect();
    let mut p = Printer::new(e.budget.left() / 7);
    p.print(&args)?;
    e.charge(p.buf.len().saturating_mul(6))?;
    Ok(p.buf)
}

/// Sprig's `slice` (which replaces Go's builtin when Sprig is loaded).
/// The panic of Go's `reflect.Value.Slice`, which Sprig's `slice` lets through.
const SLICE_OUT_OF_BOUNDS: &str = "reflect.Value.Slice: slice index out of bounds";

fn slice(e: &mut Env<'_, '_>, list: &Value, indices: &[Value]) -> FnResult {
    let Value::List(l) = list else {
        let kind = match list {
            Value::Missing | Value::Nil => "invalid",
            Value::Map(_) => "map",
            other => other.kind_name(),
        };
        return Err(format!("list should be type of slice or array but {kind}").into());
    };
    let items = &l.items;
    if items.is_empty() {
        return Ok(Value::Nil);
    }
    let start = indices.first().map_or(0, to_int64);
    let end = indices.get(1).map_or(items.len() as i64, to_int64);
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return Err(SLICE_OUT_OF_BOUNDS.into());
    };
    if start > end || end > items.len() {
        return Err(SLICE_OUT_OF_BOUNDS.into());
    }
    e.list(l.elem, items[start..end].to_vec())
}

fn length(v: &Value) -> FnResult {
    let n = match v {
        Value::Missing => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::Nil => return Err("len of nil pointer".into()),
        Value::String(s) => s.len(),
        Value::List(l) => l.items.len(),
        Value::Map(m) => m.borrow().entries.len(),
        other => return Err(format!("len of type {}", other.type_name()).into()),
    };
    Ok(Value::Int(n as i64))
}

fn index(item: &Value, indexes: &[Value]) -> FnResult {
    if item.is_missing() {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for idx in indexes {
        let idx = if matches!(idx, Value::Nil) {
            Value::Missing
        } else {
            idx.clone()
        };
        if matches!(item, Value::Nil) {
            return Err("index of nil pointer".into());
        }
        item = match &item {
            Value::List(_) | Value::String(_) => {
                let len = match &item {
                    Value::List(l) => l.items.len(),
                    Value::String(s) => s.len(),
                    _ => 0,
                };
                let x = match &idx {
                    Value::Int(i) | Value::Int64(i) => *i,
                    Value::Uint64(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                    Value::Missing => return Err("cannot index slice/array with nil".into()),
                    other => {
                        return Err(format!(
                            "cannot index slice/array with type {}",
                            other.type_name()
                        )
                        .into());
                    }
                };
                if x < 0 || x as usize > len {
                    return Err(format!("index out of range: {x}").into());
                }
                let x = x as usize;
                match &item {
                    Value::List(l) => l.items.get(x).cloned(),
                    Value::String(s) => s.as_bytes().get(x).map(|b| Value::Int(i64::from(*b))),
                    _ => None,
                }
                .ok_or_else(|| {
                    if matches!(item, Value::String(_)) {
                        "reflect: string index out of range".to_owned()
                    } else {
                        "reflect: slice index out of range".to_owned()
                    }
                })?
            }
            Value::Map(m) => {
                let m = m.borrow();
                match &idx {
                    Value::String(k) => {
                        m.entries
                            .get(k.as_ref())
                            .cloned()
                            .unwrap_or(if m.elem == Elem::String {
                                Value::str("")
                            } else {
                                Value::Nil
                            })
                    }
                    Value::Missing => return Err("value is nil; should be of type string".into()),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )
                        .into());
                    }
                }
            }
            other => {
                return Err(format!("can't index item of type {}", other.type_name()).into());
            }
        };
    }
    Ok(item)
}

#[derive(PartialEq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Missing | Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint64(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Go's `eq`: basic kinds compare by value (signed and unsigned integers with each
/// other), anything else is not comparable.
fn eq(a: &Value, rest: &[Value]) -> Result<bool, FnError> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = kind(a);
    for b in rest {
        let k2 = kind(b);
        let truth = match (&k1, &k2) {
            (Kind::Int, Kind::Uint) | (Kind::Uint, Kind::Int) => int_uint_eq(a, b),
            _ if k1 != k2 => {
                if k1 != Kind::Invalid && k2 != Kind::Invalid {
                    return Err(BAD_COMPARISON.into());
                }
                false
            }
            (Kind::Invalid, _) => true,
            (Kind::Other, _) => {
                return Err(format!("non-comparable type {}", a.type_name()).into());
            }
            _ => match (a, b) {
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                _ => super::value::scalar_eq(a, b),
            },
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn int_uint_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(i) | Value::Int64(i), Value::Uint64(u))
        | (Value::Uint64(u), Value::Int(i) | Value::Int64(i)) => *i >= 0 && (*i as u64) == *u,
        _ => false,
    }
}

fn lt(a: &Value, b: &Value) -> Result<bool, FnError> {
    let (k1, k2) = (kind(a), kind(b));
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    match (a, b) {
        (Value::Int(i) | Value::Int64(i), Value::Uint64(u)) => {
            return Ok(*i < 0 || (*i as u64) < *u);
        }
        (Value::Uint64(u), Value::Int(i) | Value::Int64(i)) => return Ok(*i >= 0 && *u < *i as u64),
        _ => {}
    }
    if k1 != k2 {
        return Err(BAD_COMPARISON.into());
    }
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::String(x), Value::String(y)) => Ok(x < y),
        (Value::Uint64(x), Value::Uint64(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) => Err(BAD_COMPARISON_TYPE.into()),
        _ => Ok(a.as_int() < b.as_int()),
    }
}

fn le(a: &Value, b: &Value) -> Result<bool, FnError> {
    Ok(lt(a, b)? || eq(a, std::slice::from_ref(b))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_function_exists() {
        for name in [
            "toYaml",
            "toJson",
            "fromYaml",
            "indent",
            "nindent",
            "quote",
            "squote",
            "default",
            "empty",
            "coalesce",
            "required",
            "fail",
            "ternary",
            "list",
            "dict",
            "get",
            "hasKey",
            "keys",
            "join",
            "split",
            "upper",
            "lower",
            "title",
            "trim",
            "trimPrefix",
            "trimSuffix",
            "replace",
            "contains",
            "hasPrefix",
            "hasSuffix",
            "b64enc",
            "b64dec",
            "sha256sum",
            "toString",
            "int",
            "add",
            "sub",
            "mul",
            "div",
            "mod",
            "regexMatch",
            "regexReplaceAll",
        ] {
            assert!(Functions::new().contains(name), "{name}");
        }
    }
}
