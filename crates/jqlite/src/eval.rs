//! Evaluating a parsed filter over a JSON value, as jq does, under a budget of steps
//! and bytes enforced while it runs: every value a filter produces or visits is a
//! step, every value it builds is charged, so a chain like `[.,.]|[.,.]|…|.[]|.[]`
//! stops at the budget whatever the spec.
//!
//! Values taken from the spec keep the path they were found at, through array
//! construction too (`[.a, .b] | .[]` yields `a` and `b` at their own places), so an
//! address is reported where it is written.

use std::cmp::Ordering;
use std::rc::Rc;

use serde_json::Value as J;

use crate::parse::{Expr, Op};

/// Most steps one filter may take over one spec.
pub const MAX_STEPS: u64 = 200_000;
/// Most bytes one filter may build over one spec.
pub const MAX_BYTES: usize = 4 << 20;

/// One step of a path into the input.
#[derive(Debug)]
pub enum Step {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
}

/// A path into the input, shared by the values found under it.
#[derive(Debug)]
pub struct PathNode {
    /// The path up to this step (`None`: the input itself).
    pub parent: Option<Rc<PathNode>>,
    /// The last step.
    pub step: Step,
}

/// Where a value was found in the input (`None`: the input itself, or built).
pub type Path = Option<Rc<PathNode>>;

fn extend(path: &Path, step: Step) -> Path {
    Some(Rc::new(PathNode {
        parent: path.clone(),
        step,
    }))
}

/// The steps of a path, root first.
pub fn steps(path: &Path) -> Vec<&Step> {
    let mut out = Vec::new();
    let mut cur = path.as_deref();
    while let Some(node) = cur {
        out.push(&node.step);
        cur = node.parent.as_deref();
    }
    out.reverse();
    out
}

/// A value: part of the spec, one built by the filter, or an array the filter built
/// from values that keep their places.
#[derive(Clone, Debug)]
pub enum Val<'a> {
    /// Part of the input.
    Ref(&'a J),
    /// Built by the filter.
    Own(Rc<J>),
    /// An array the filter built, whose items keep their places.
    Arr(Rc<Vec<Item<'a>>>),
}

/// A value and, when it was found in the spec, where.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    /// The value.
    pub val: Val<'a>,
    /// Where it was found.
    pub path: Path,
}

impl<'a> Item<'a> {
    fn own(v: J) -> Self {
        Self {
            val: Val::Own(Rc::new(v)),
            path: None,
        }
    }

    fn boolean(b: bool) -> Self {
        Self::own(J::Bool(b))
    }
}

/// A view of a value's JSON shape.
enum Shape<'v, 'a> {
    Json(&'v J),
    Arr(&'v [Item<'a>]),
}

impl<'a> Val<'a> {
    fn shape(&self) -> Shape<'_, 'a> {
        match self {
            Val::Ref(j) => Shape::Json(j),
            Val::Own(j) => Shape::Json(j),
            Val::Arr(items) => Shape::Arr(items),
        }
    }

    fn type_name(&self) -> &'static str {
        match self.shape() {
            Shape::Arr(_) => "array",
            Shape::Json(j) => json_type(j),
        }
    }

    fn truthy(&self) -> bool {
        !matches!(self.shape(), Shape::Json(J::Null | J::Bool(false)))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self.shape() {
            Shape::Json(J::String(s)) => Some(s),
            _ => None,
        }
    }
}

fn json_type(j: &J) -> &'static str {
    match j {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

/// Why evaluation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A run-time error, as jq reports it (`?` suppresses it).
    Runtime(String),
    /// The step or byte budget is spent (nothing suppresses it).
    Budget(String),
}

/// Outputs so far and the error that stopped more.
pub struct Fail<'a> {
    /// What the filter selected before it failed (jq prints these).
    pub partial: Vec<Item<'a>>,
    /// Why it stopped.
    pub error: EvalError,
}

/// What a run gives: the selected values, or why it stopped.
pub type R<'a> = Result<Vec<Item<'a>>, Fail<'a>>;

fn fail<'a>(partial: Vec<Item<'a>>, error: EvalError) -> Fail<'a> {
    Fail { partial, error }
}

/// jq's short description of a value in errors: `string ("abc")`.
fn describe(v: &Val<'_>) -> String {
    let text = match v.shape() {
        Shape::Json(j) => j.to_string(),
        Shape::Arr(_) => "[…]".to_owned(),
    };
    let short: String = if text.chars().count() > 11 {
        let mut s: String = text.chars().take(10).collect();
        s.push_str("...");
        s
    } else {
        text
    };
    format!("{} ({short})", v.type_name())
}

/// The evaluator: a budget of [`MAX_STEPS`] steps and [`MAX_BYTES`] bytes, spent by
/// every filter it runs (one `Eval` per input).
pub struct Eval {
    steps: u64,
    bytes: usize,
}

impl Eval {
    /// An evaluator with its whole budget.
    #[allow(
        clippy::new_without_default,
        reason = "a budget is started, not defaulted"
    )]
    pub fn new() -> Self {
        Self { steps: 0, bytes: 0 }
    }

    /// Counts one step.
    pub fn step(&mut self) -> Result<(), EvalError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(EvalError::Budget(format!(
                "exceeded the address filter's budget of {MAX_STEPS} steps"
            )));
        }
        Ok(())
    }

    fn charge(&mut self, n: usize) -> Result<(), EvalError> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > MAX_BYTES {
            return Err(EvalError::Budget(format!(
                "exceeded the address filter's budget of {MAX_BYTES} bytes"
            )));
        }
        Ok(())
    }

    /// Runs `filter` with `input` as `.`: what it selects, or the error that stopped
    /// it with what it selected before.
    pub fn run<'a>(&mut self, filter: &crate::Filter, input: &Item<'a>) -> R<'a> {
        self.eval(&filter.expr, input)
    }

    /// Evaluates `e` with `input` as `.`.
    pub(crate) fn eval<'a>(&mut self, e: &Expr, input: &Item<'a>) -> R<'a> {
        let one = |this: &mut Self, item: Item<'a>| -> R<'a> {
            this.step().map_err(|err| fail(Vec::new(), err))?;
            Ok(vec![item])
        };
        match e {
            Expr::Identity => one(self, input.clone()),
            Expr::Literal(v) => one(self, Item::own(v.clone())),
            Expr::Recurse => self.recurse(input),
            Expr::Index(target, key) => {
                let targets = self.eval(target, input)?;
                let mut out = Vec::new();
                for t in targets {
                    let keys = match self.eval(key, input) {
                        Ok(k) => k,
                        Err(f) => return Err(fail(out, f.error)),
                    };
                    for k in keys {
                        match self.index(&t, &k) {
                            Ok(item) => {
                                if let Err(err) = self.step() {
                                    return Err(fail(out, err));
                                }
                                out.push(item);
                            }
                            Err(err) => return Err(fail(out, err)),
                        }
                    }
                }
                Ok(out)
            }
            Expr::Slice(target, from, to) => {
                let targets = self.eval(target, input)?;
                let mut out = Vec::new();
                for t in targets {
                    let bound = |this: &mut Self,
                                 b: &Option<Box<Expr>>|
                     -> Result<Option<f64>, EvalError> {
                        let Some(b) = b else { return Ok(None) };
                        let v = this.eval(b, input).map_err(|f| f.error)?;
                        match v.first().map(|i| i.val.shape()) {
                            Some(Shape::Json(J::Number(n))) => Ok(n.as_f64()),
                            Some(Shape::Json(J::Null)) | None => Ok(None),
                            Some(_) => Err(EvalError::Runtime(
                                "Start and end indices of an array slice must be numbers".into(),
                            )),
                        }
                    };
                    let (a, b) = match (bound(self, from), bound(self, to)) {
                        (Ok(a), Ok(b)) => (a, b),
                        (Err(e), _) | (_, Err(e)) => return Err(fail(out, e)),
                    };
                    match self.slice(&t, a, b) {
                        Ok(item) => out.push(item),
                        Err(e) => return Err(fail(out, e)),
                    }
                }
                Ok(out)
            }
            Expr::Iterate(target) => {
                let targets = self.eval(target, input)?;
                let mut out = Vec::new();
                for t in targets {
                    if let Err(e) = self.iterate(&t, &mut out) {
                        return Err(fail(out, e));
                    }
                }
                Ok(out)
            }
            Expr::Try(inner) => match self.eval(inner, input) {
                Ok(v) => Ok(v),
                Err(Fail {
                    partial,
                    error: EvalError::Runtime(_),
                }) => Ok(partial),
                Err(f) => Err(f),
            },
            Expr::Pipe(a, b) => {
                let (xs, err) = match self.eval(a, input) {
                    Ok(v) => (v, None),
                    Err(f) => (f.partial, Some(f.error)),
                };
                let mut out = Vec::new();
                for x in xs {
                    match self.eval(b, &x) {
                        Ok(v) => out.extend(v),
                        Err(f) => {
                            out.extend(f.partial);
                            return Err(fail(out, f.error));
                        }
                    }
                }
                match err {
                    Some(e) => Err(fail(out, e)),
                    None => Ok(out),
                }
            }
            Expr::Comma(a, b) => {
                let mut out = self.eval(a, input)?;
                match self.eval(b, input) {
                    Ok(v) => {
                        out.extend(v);
                        Ok(out)
                    }
                    Err(f) => {
                        out.extend(f.partial);
                        Err(fail(out, f.error))
                    }
                }
            }
            Expr::Alt(a, b) => {
                let found: Vec<Item<'a>> = match self.eval(a, input) {
                    Ok(v) => v,
                    Err(Fail {
                        partial,
                        error: EvalError::Runtime(_),
                    }) => partial,
                    Err(f) => return Err(f),
                };
                let truthy: Vec<Item<'a>> = found.into_iter().filter(|i| i.val.truthy()).collect();
                if truthy.is_empty() {
                    self.eval(b, input)
                } else {
                    Ok(truthy)
                }
            }
            Expr::Or(a, b) | Expr::And(a, b) => {
                let is_or = matches!(e, Expr::Or(..));
                let mut out = Vec::new();
                for l in self.eval(a, input)? {
                    if l.val.truthy() == is_or {
                        out.push(Item::boolean(is_or));
                        continue;
                    }
                    let rs = match self.eval(b, input) {
                        Ok(r) => r,
                        Err(f) => return Err(fail(out, f.error)),
                    };
                    out.extend(rs.into_iter().map(|r| Item::boolean(r.val.truthy())));
                }
                Ok(out)
            }
            Expr::Binary(op, a, b) => {
                // jq evaluates the right side first, then the left for each.
                let rs = self.eval(b, input)?;
                let mut out = Vec::new();
                for r in &rs {
                    let ls = match self.eval(a, input) {
                        Ok(l) => l,
                        Err(f) => return Err(fail(out, f.error)),
                    };
                    for l in &ls {
                        match self.binary(*op, l, r) {
                            Ok(v) => out.push(v),
                            Err(e) => return Err(fail(out, e)),
                        }
                    }
                }
                Ok(out)
            }
            Expr::Array(inner) => {
                let items = match inner {
                    None => Vec::new(),
                    Some(inner) => self.eval(inner, input)?,
                };
                self.charge(32 * (items.len() + 1))
                    .map_err(|e| fail(Vec::new(), e))?;
                one(
                    self,
                    Item {
                        val: Val::Arr(Rc::new(items)),
                        path: None,
                    },
                )
            }
            Expr::If(cond, then, otherwise) => {
                let mut out = Vec::new();
                for c in self.eval(cond, input)? {
                    let branch = if c.val.truthy() {
                        self.eval(then, input)
                    } else {
                        match otherwise {
                            Some(o) => self.eval(o, input),
                            None => Ok(vec![input.clone()]),
                        }
                    };
                    match branch {
                        Ok(v) => out.extend(v),
                        Err(f) => {
                            out.extend(f.partial);
                            return Err(fail(out, f.error));
                        }
                    }
                }
                Ok(out)
            }
            Expr::Call(name, args) => self.call(name, args, input),
        }
    }

    fn index<'a>(&mut self, t: &Item<'a>, k: &Item<'a>) -> Result<Item<'a>, EvalError> {
        let null = || Item::own(J::Null);
        match (&t.val, k.val.shape()) {
            (_, Shape::Json(J::String(key))) => match &t.val {
                Val::Ref(J::Object(m)) => Ok(match m.get(key.as_str()) {
                    Some(v) => Item {
                        val: Val::Ref(v),
                        path: extend(&t.path, Step::Key(key.clone())),
                    },
                    None => null(),
                }),
                Val::Own(j) if matches!(**j, J::Object(_)) => {
                    Ok(Item::own(j.get(key.as_str()).cloned().unwrap_or(J::Null)))
                }
                other if matches!(other.shape(), Shape::Json(J::Null)) => Ok(null()),
                // jq 1.6's words (1.7 dropped the second "string").
                other => Err(EvalError::Runtime(format!(
                    "Cannot index {} with string \"{key}\"",
                    other.type_name()
                ))),
            },
            (_, Shape::Json(J::Number(n))) => {
                let Some(f) = n.as_f64() else {
                    return Ok(null());
                };
                let len = match t.val.shape() {
                    Shape::Json(J::Array(a)) => a.len(),
                    Shape::Arr(a) => a.len(),
                    Shape::Json(J::Null) => return Ok(null()),
                    _ => {
                        return Err(EvalError::Runtime(format!(
                            "Cannot index {} with number",
                            t.val.type_name()
                        )));
                    }
                };
                let i = f.floor() as i64;
                let i = if i < 0 { i + len as i64 } else { i };
                if i < 0 || i as usize >= len {
                    return Ok(null());
                }
                let i = i as usize;
                Ok(match &t.val {
                    Val::Ref(J::Array(a)) => Item {
                        val: Val::Ref(&a[i]),
                        path: extend(&t.path, Step::Index(i)),
                    },
                    Val::Arr(a) => a[i].clone(),
                    Val::Own(j) => Item::own(j.get(i).cloned().unwrap_or(J::Null)),
                    Val::Ref(_) => null(),
                })
            }
            (_, Shape::Json(J::Null)) if matches!(t.val.shape(), Shape::Json(J::Object(_))) => {
                Err(EvalError::Runtime("Cannot index object with null".into()))
            }
            _ => Err(EvalError::Runtime(format!(
                "Cannot index {} with {}",
                t.val.type_name(),
                k.val.type_name()
            ))),
        }
    }

    fn slice<'a>(
        &mut self,
        t: &Item<'a>,
        from: Option<f64>,
        to: Option<f64>,
    ) -> Result<Item<'a>, EvalError> {
        let clamp = |x: Option<f64>, len: usize, default: usize| -> usize {
            match x {
                None => default,
                Some(f) => {
                    let i = f.floor() as i64;
                    let i = if i < 0 { i + len as i64 } else { i };
                    i.clamp(0, len as i64) as usize
                }
            }
        };
        match t.val.shape() {
            Shape::Json(J::Null) => Ok(Item::own(J::Null)),
            Shape::Json(J::String(s)) => {
                let chars: Vec<char> = s.chars().collect();
                let (a, b) = (
                    clamp(from, chars.len(), 0),
                    clamp(to, chars.len(), chars.len()),
                );
                let out: String = chars[a..b.max(a)].iter().collect();
                self.charge(out.len())?;
                Ok(Item::own(J::String(out)))
            }
            Shape::Json(J::Array(items)) => {
                let (a, b) = (
                    clamp(from, items.len(), 0),
                    clamp(to, items.len(), items.len()),
                );
                let b = b.max(a);
                self.charge(32 * (b - a + 1))?;
                let out = (a..b)
                    .map(|i| Item {
                        val: match &t.val {
                            Val::Ref(J::Array(r)) => Val::Ref(&r[i]),
                            _ => Val::Own(Rc::new(items[i].clone())),
                        },
                        path: match &t.val {
                            Val::Ref(_) => extend(&t.path, Step::Index(i)),
                            _ => None,
                        },
                    })
                    .collect();
                Ok(Item {
                    val: Val::Arr(Rc::new(out)),
                    path: None,
                })
            }
            Shape::Arr(items) => {
                let (a, b) = (
                    clamp(from, items.len(), 0),
                    clamp(to, items.len(), items.len()),
                );
                let b = b.max(a);
                self.charge(32 * (b - a + 1))?;
                Ok(Item {
                    val: Val::Arr(Rc::new(items[a..b].to_vec())),
                    path: None,
                })
            }
            _ => Err(EvalError::Runtime(format!(
                "Cannot index {} with object",
                t.val.type_name()
            ))),
        }
    }

    /// `.[]`: the values of an array or object. Iterating over `null` (something the
    /// spec does not have) selects nothing.
    fn iterate<'a>(&mut self, t: &Item<'a>, out: &mut Vec<Item<'a>>) -> Result<(), EvalError> {
        match &t.val {
            Val::Ref(J::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    self.step()?;
                    out.push(Item {
                        val: Val::Ref(v),
                        path: extend(&t.path, Step::Index(i)),
                    });
                }
            }
            Val::Ref(J::Object(m)) => {
                for (k, v) in m {
                    self.step()?;
                    out.push(Item {
                        val: Val::Ref(v),
                        path: extend(&t.path, Step::Key(k.clone())),
                    });
                }
            }
            Val::Arr(items) => {
                for item in items.iter() {
                    self.step()?;
                    out.push(item.clone());
                }
            }
            Val::Own(j) => match &**j {
                J::Array(a) => {
                    for v in a {
                        self.step()?;
                        out.push(Item::own(v.clone()));
                    }
                }
                J::Object(m) => {
                    for v in m.values() {
                        self.step()?;
                        out.push(Item::own(v.clone()));
                    }
                }
                J::Null => {}
                _ => {
                    return Err(EvalError::Runtime(format!(
                        "Cannot iterate over {}",
                        describe(&t.val)
                    )));
                }
            },
            Val::Ref(J::Null) => {}
            Val::Ref(_) => {
                return Err(EvalError::Runtime(format!(
                    "Cannot iterate over {}",
                    describe(&t.val)
                )));
            }
        }
        Ok(())
    }

    /// `..`: the value and everything under it, depth first (without recursing in
    /// Rust: a deep spec cannot overflow the stack).
    fn recurse<'a>(&mut self, input: &Item<'a>) -> R<'a> {
        let mut out = Vec::new();
        let mut stack = vec![input.clone()];
        while let Some(item) = stack.pop() {
            let mut children = Vec::new();
            if let Err(e @ EvalError::Budget(_)) = self.iterate(&item, &mut children) {
                return Err(fail(out, e));
            }
            if let Err(e) = self.step() {
                return Err(fail(out, e));
            }
            out.push(item);
            stack.extend(children.into_iter().rev());
        }
        Ok(out)
    }

    /// Counts the nodes of a value against the step budget (for comparisons and
    /// conversions, whose cost is the size of what they look at).
    fn visit(&mut self, v: &Val<'_>) -> Result<(), EvalError> {
        let mut stack: Vec<Val<'_>> = vec![v.clone()];
        while let Some(v) = stack.pop() {
            self.step()?;
            match v {
                Val::Arr(items) => stack.extend(items.iter().map(|i| i.val.clone())),
                Val::Ref(j) => {
                    for _ in 0..json_nodes(j) {
                        self.step()?;
                    }
                }
                Val::Own(j) => {
                    for _ in 0..json_nodes(&j) {
                        self.step()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A value as owned JSON (after [`Eval::visit`] has counted it).
    fn counted_json(&mut self, v: &Val<'_>) -> Result<J, EvalError> {
        self.visit(v)?;
        Ok(owned(v))
    }

    fn binary<'a>(&mut self, op: Op, l: &Item<'a>, r: &Item<'a>) -> Result<Item<'a>, EvalError> {
        match op {
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                self.visit(&l.val)?;
                self.visit(&r.val)?;
                let (a, b) = (owned(&l.val), owned(&r.val));
                let ord = compare(&a, &b);
                let truth = match op {
                    Op::Eq => ord == Ordering::Equal,
                    Op::Ne => ord != Ordering::Equal,
                    Op::Lt => ord == Ordering::Less,
                    Op::Le => ord != Ordering::Greater,
                    Op::Gt => ord == Ordering::Greater,
                    _ => ord != Ordering::Less,
                };
                Ok(Item::boolean(truth))
            }
            Op::Add => self.add(l, r),
            Op::Sub => {
                let (a, b) = (self.counted_json(&l.val)?, self.counted_json(&r.val)?);
                match (&a, &b) {
                    (J::Number(x), J::Number(y)) => Ok(Item::own(number(
                        x.as_f64().unwrap_or(0.0) - y.as_f64().unwrap_or(0.0),
                    ))),
                    (J::Array(x), J::Array(y)) => {
                        for _ in 0..x.len().saturating_mul(y.len()) {
                            self.step()?;
                        }
                        Ok(Item::own(J::Array(
                            x.iter().filter(|v| !y.contains(v)).cloned().collect(),
                        )))
                    }
                    _ => Err(EvalError::Runtime(format!(
                        "{} and {} cannot be subtracted",
                        describe(&l.val),
                        describe(&r.val)
                    ))),
                }
            }
        }
    }

    fn add<'a>(&mut self, l: &Item<'a>, r: &Item<'a>) -> Result<Item<'a>, EvalError> {
        match (l.val.shape(), r.val.shape()) {
            (Shape::Json(J::Null), _) => Ok(r.clone()),
            (_, Shape::Json(J::Null)) => Ok(l.clone()),
            (Shape::Json(J::Number(x)), Shape::Json(J::Number(y))) => Ok(Item::own(number(
                x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0),
            ))),
            (Shape::Json(J::String(x)), Shape::Json(J::String(y))) => {
                self.charge(x.len() + y.len())?;
                Ok(Item::own(J::String(format!("{x}{y}"))))
            }
            (Shape::Json(J::Object(_)), Shape::Json(J::Object(_))) => {
                let (mut a, b) = (self.counted_json(&l.val)?, self.counted_json(&r.val)?);
                self.charge(json_bytes(&a) + json_bytes(&b))?;
                if let (J::Object(a), J::Object(b)) = (&mut a, b) {
                    a.extend(b);
                }
                Ok(Item::own(a))
            }
            (
                Shape::Json(J::Array(_)) | Shape::Arr(_),
                Shape::Json(J::Array(_)) | Shape::Arr(_),
            ) => {
                let mut items = Vec::new();
                for side in [l, r] {
                    self.iterate(side, &mut items)?;
                }
                self.charge(32 * (items.len() + 1))?;
                Ok(Item {
                    val: Val::Arr(Rc::new(items)),
                    path: None,
                })
            }
            _ => Err(EvalError::Runtime(format!(
                "{} and {} cannot be added",
                describe(&l.val),
                describe(&r.val)
            ))),
        }
    }

    fn call<'a>(&mut self, name: &str, args: &[Expr], input: &Item<'a>) -> R<'a> {
        let err = |e: EvalError| fail(Vec::new(), e);
        let one = |this: &mut Self, item: Item<'a>| -> R<'a> {
            this.step().map_err(err)?;
            Ok(vec![item])
        };
        let shape_is = |f: fn(&Shape<'_, 'a>) -> bool| f(&input.val.shape());
        let keep_if = |this: &mut Self, keep: bool| -> R<'a> {
            this.step().map_err(err)?;
            Ok(if keep {
                vec![input.clone()]
            } else {
                Vec::new()
            })
        };
        match name {
            "select" => {
                let mut out = Vec::new();
                for c in self.eval(&args[0], input)? {
                    if c.val.truthy() {
                        out.push(input.clone());
                    }
                }
                Ok(out)
            }
            "map" => {
                let mut items = Vec::new();
                if let Err(e) = self.iterate(input, &mut items) {
                    return Err(err(e));
                }
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.eval(&args[0], &item)?);
                }
                self.charge(32 * (out.len() + 1)).map_err(err)?;
                one(
                    self,
                    Item {
                        val: Val::Arr(Rc::new(out)),
                        path: None,
                    },
                )
            }
            "has" => {
                let mut out = Vec::new();
                for k in self.eval(&args[0], input)? {
                    let truth = match (input.val.shape(), k.val.shape()) {
                        (Shape::Json(J::Object(m)), Shape::Json(J::String(key))) => {
                            m.contains_key(key.as_str())
                        }
                        (Shape::Json(J::Array(a)), Shape::Json(J::Number(n))) => n
                            .as_f64()
                            .is_some_and(|f| f >= 0.0 && (f as usize) < a.len()),
                        (Shape::Arr(a), Shape::Json(J::Number(n))) => n
                            .as_f64()
                            .is_some_and(|f| f >= 0.0 && (f as usize) < a.len()),
                        _ => {
                            return Err(fail(
                                out,
                                EvalError::Runtime(format!(
                                    "Cannot check whether {} has a {} key",
                                    input.val.type_name(),
                                    k.val.type_name()
                                )),
                            ));
                        }
                    };
                    out.push(Item::boolean(truth));
                }
                Ok(out)
            }
            "startswith" | "endswith" => {
                let mut out = Vec::new();
                for k in self.eval(&args[0], input)? {
                    match (input.val.as_str(), k.val.as_str()) {
                        (Some(s), Some(p)) => out.push(Item::boolean(if name == "startswith" {
                            s.starts_with(p)
                        } else {
                            s.ends_with(p)
                        })),
                        _ => {
                            return Err(fail(
                                out,
                                EvalError::Runtime(format!("{name}() requires string inputs")),
                            ));
                        }
                    }
                }
                Ok(out)
            }
            "length" => {
                let n = match input.val.shape() {
                    Shape::Json(J::Null) => 0.0,
                    Shape::Json(J::Bool(_)) => {
                        return Err(err(EvalError::Runtime(format!(
                            "{} has no length",
                            describe(&input.val)
                        ))));
                    }
                    Shape::Json(J::Number(n)) => n.as_f64().unwrap_or(0.0).abs(),
                    Shape::Json(J::String(s)) => s.chars().count() as f64,
                    Shape::Json(J::Array(a)) => a.len() as f64,
                    Shape::Json(J::Object(m)) => m.len() as f64,
                    Shape::Arr(a) => a.len() as f64,
                };
                one(self, Item::own(number(n)))
            }
            "keys" => {
                let keys: Vec<J> = match input.val.shape() {
                    Shape::Json(J::Object(m)) => m.keys().map(|k| J::String(k.clone())).collect(),
                    Shape::Json(J::Array(a)) => (0..a.len()).map(|i| number(i as f64)).collect(),
                    Shape::Arr(a) => (0..a.len()).map(|i| number(i as f64)).collect(),
                    _ => {
                        return Err(err(EvalError::Runtime(format!(
                            "{} has no keys",
                            describe(&input.val)
                        ))));
                    }
                };
                let bytes: usize = keys.iter().map(json_bytes).sum();
                self.charge(bytes).map_err(err)?;
                let mut keys = keys;
                keys.sort_by(compare);
                one(self, Item::own(J::Array(keys)))
            }
            "type" => {
                let t = input.val.type_name();
                one(self, Item::own(J::String(t.to_owned())))
            }
            "not" => {
                let t = !input.val.truthy();
                one(self, Item::boolean(t))
            }
            "empty" => Ok(Vec::new()),
            "values" => keep_if(self, !matches!(input.val.shape(), Shape::Json(J::Null))),
            "nulls" => keep_if(self, shape_is(|s| matches!(s, Shape::Json(J::Null)))),
            "booleans" => keep_if(self, shape_is(|s| matches!(s, Shape::Json(J::Bool(_))))),
            "numbers" => keep_if(self, shape_is(|s| matches!(s, Shape::Json(J::Number(_))))),
            "strings" => keep_if(self, shape_is(|s| matches!(s, Shape::Json(J::String(_))))),
            "arrays" => keep_if(
                self,
                shape_is(|s| matches!(s, Shape::Json(J::Array(_)) | Shape::Arr(_))),
            ),
            "objects" => keep_if(self, shape_is(|s| matches!(s, Shape::Json(J::Object(_))))),
            "iterables" => keep_if(
                self,
                shape_is(|s| matches!(s, Shape::Json(J::Array(_) | J::Object(_)) | Shape::Arr(_))),
            ),
            "scalars" => keep_if(
                self,
                shape_is(|s| !matches!(s, Shape::Json(J::Array(_) | J::Object(_)) | Shape::Arr(_))),
            ),
            "recurse" => self.recurse(input),
            "tostring" => {
                let text = match input.val.as_str() {
                    Some(s) => s.to_owned(),
                    None => self.counted_json(&input.val).map_err(err)?.to_string(),
                };
                self.charge(text.len()).map_err(err)?;
                one(self, Item::own(J::String(text)))
            }
            "ascii_downcase" | "ascii_upcase" => match input.val.as_str() {
                Some(s) => {
                    self.charge(s.len()).map_err(err)?;
                    let t = if name == "ascii_downcase" {
                        s.to_ascii_lowercase()
                    } else {
                        s.to_ascii_uppercase()
                    };
                    one(self, Item::own(J::String(t)))
                }
                None => Err(err(EvalError::Runtime(format!(
                    "{name} input must be a string"
                )))),
            },
            "any" | "all" => {
                let mut items = Vec::new();
                self.iterate(input, &mut items).map_err(err)?;
                let truth = if name == "any" {
                    items.iter().any(|i| i.val.truthy())
                } else {
                    items.iter().all(|i| i.val.truthy())
                };
                one(self, Item::boolean(truth))
            }
            "add" => {
                let mut items = Vec::new();
                self.iterate(input, &mut items).map_err(err)?;
                let mut acc = Item::own(J::Null);
                for item in &items {
                    acc = self.add(&acc, item).map_err(err)?;
                }
                one(self, acc)
            }
            _ => Err(err(EvalError::Runtime(format!("{name} is not defined")))),
        }
    }
}

fn number(f: f64) -> J {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        J::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(J::Null, J::Number)
    }
}

fn json_nodes(j: &J) -> usize {
    let mut n = 0usize;
    let mut stack = vec![j];
    while let Some(j) = stack.pop() {
        n += 1;
        match j {
            J::Array(a) => stack.extend(a.iter()),
            J::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    n
}

fn json_bytes(j: &J) -> usize {
    match j {
        J::String(s) => 16 + s.len(),
        J::Array(a) => 16 + a.iter().map(json_bytes).sum::<usize>(),
        J::Object(m) => {
            16 + m
                .iter()
                .map(|(k, v)| k.len() + json_bytes(v))
                .sum::<usize>()
        }
        _ => 16,
    }
}

/// A value as owned JSON.
pub fn owned(v: &Val<'_>) -> J {
    match v {
        Val::Ref(j) => (*j).clone(),
        Val::Own(j) => (**j).clone(),
        Val::Arr(items) => J::Array(items.iter().map(|i| owned(&i.val)).collect()),
    }
}

/// jq's order: null < false < true < numbers < strings < arrays < objects.
fn compare(a: &J, b: &J) -> Ordering {
    fn rank(j: &J) -> u8 {
        match j {
            J::Null => 0,
            J::Bool(false) => 1,
            J::Bool(true) => 2,
            J::Number(_) => 3,
            J::String(_) => 4,
            J::Array(_) => 5,
            J::Object(_) => 6,
        }
    }
    match (a, b) {
        (J::Number(x), J::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (J::String(x), J::String(y)) => x.cmp(y),
        (J::Array(x), J::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (J::Object(x), J::Object(y)) => {
            let mut xk: Vec<&String> = x.keys().collect();
            let mut yk: Vec<&String> = y.keys().collect();
            xk.sort();
            yk.sort();
            match xk.cmp(&yk) {
                Ordering::Equal => {}
                o => return o,
            }
            for k in xk {
                let o = compare(&x[k.as_str()], &y[k.as_str()]);
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        }
        _ => rank(a).cmp(&rank(b)),
    }
}
