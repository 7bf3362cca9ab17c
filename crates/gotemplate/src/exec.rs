//! The executor: Go's `text/template/exec.go`, including where it reports an error
//! (`template: NAME:LINE:COL: executing "NAME" at <NODE>: …`, COL a 0-based byte
//! offset as Go counts it) and the difference between a missing value (`<no value>`)
//! and a JSON null (`<nil>`, and an error when a field is taken of it).

use std::sync::Arc;
use std::time::Instant;

use super::budget::{Budget, SLOT};
use super::fmt::{PrintError, display, print_value};
use super::funcs::{CallContext, Env, FnError, Fuel, Func, Param};
use super::parse::{self, Arg, Branch, Command, List, Node, Pipe, TemplateCall};
use super::value::{Elem, Mutated, Value};
use super::{Bound, Limits, Template, TemplateError};

/// Deepest nesting of pipelines and template calls in one execution, whatever the
/// templates: each level is a few stack frames.
pub(crate) const MAX_EXEC_DEPTH: usize = 1000;

/// A value and whether it has Go's static type `interface{}` (it came out of a map or
/// list), which decides Go's wording of some errors.
#[derive(Clone, Debug)]
struct V {
    v: Value,
    iface: bool,
}

impl V {
    fn concrete(v: Value) -> Self {
        Self { v, iface: false }
    }
    fn boxed(v: Value) -> Self {
        Self { v, iface: true }
    }
    fn missing() -> Self {
        Self::concrete(Value::Missing)
    }
    /// What `evalPipeline` does to every command's result: an `interface{}` is unwrapped
    /// to what it holds (and a nil one becomes no value).
    fn unwrapped(self) -> Self {
        match self.v {
            Value::Nil => Self::missing(),
            v => Self::concrete(v),
        }
    }
}

/// The node an error is reported at: its position and Go's `String()`.
#[derive(Clone)]
/// Where execution is, for error messages: the node is only formatted when an error
/// names it (formatting every node visited cost a tenth of a dry render).
struct At<'t> {
    pos: usize,
    text: &'t dyn std::fmt::Display,
}

pub(crate) enum Flow {
    Error(TemplateError),
    Break,
    Continue,
}

impl From<TemplateError> for Flow {
    fn from(e: TemplateError) -> Self {
        Self::Error(e)
    }
}

type R<T> = Result<T, Flow>;

pub(crate) struct Exec<'t> {
    tmpl: &'t Template,
    context: &'t CallContext<'t>,
    limits: &'t Limits,
    /// The template being executed (a `define` name or the main one).
    name: String,
    vars: Vec<(String, V)>,
    at: Option<At<'t>>,
    out: String,
    /// `{{template}}` calls in progress.
    depth: usize,
    /// Pipelines and template calls in progress.
    nesting: usize,
    range_iterations: u64,
    /// When execution must stop.
    stop_at: Instant,
    /// Whether `stop_at` is the caller's deadline rather than the time limit.
    stop_is_deadline: bool,
    steps: u64,
    /// Output written by callers of the `include`s in progress, set aside while they
    /// run: the output limit covers all of it together.
    held_out: usize,
    budget: Budget,
    mutated: Mutated,
    /// `missingkey=zero`, which Helm's `tpl` sets: a missing map key is a nil
    /// `interface{}` rather than no value.
    missing_zero: bool,
}

impl<'t> Exec<'t> {
    pub(crate) fn new(
        tmpl: &'t Template,
        context: &'t CallContext<'t>,
        limits: &'t Limits,
    ) -> Self {
        let own = Instant::now() + limits.timeout;
        let (stop_at, stop_is_deadline) = match context.deadline {
            Some(d) if d < own => (d, true),
            _ => (own, false),
        };
        Self {
            tmpl,
            context,
            limits,
            name: tmpl.name.clone(),
            vars: Vec::new(),
            at: None,
            out: String::new(),
            depth: 0,
            nesting: 0,
            range_iterations: 0,
            stop_at,
            stop_is_deadline,
            steps: 0,
            held_out: 0,
            budget: Budget::new(limits.max_alloc_bytes),
            mutated: Mutated::default(),
            missing_zero: false,
        }
    }

    pub(crate) fn run(mut self, name: &str, data: Value) -> Result<String, TemplateError> {
        let tmpl: &'t Template = self.tmpl;
        let Some(tree) = tmpl.trees.trees.get(name) else {
            return Err(TemplateError::Execution {
                name: self.tmpl.name.clone(),
                line: 0,
                col: 0,
                message: format!(
                    "template: no template {} associated with template {}",
                    super::fmt::quote(name),
                    super::fmt::quote(&self.tmpl.name)
                ),
                bound: None,
            });
        };
        self.name = name.to_owned();
        // Go: reflect.ValueOf(nil data) is no value at all.
        let dot = V::concrete(if matches!(data, Value::Nil) {
            Value::Missing
        } else {
            data
        });
        self.vars.push(("$".into(), dot.clone()));
        match self.walk(&dot, tree) {
            Ok(()) => Ok(self.out),
            Err(Flow::Error(e)) => Err(e),
            Err(Flow::Break | Flow::Continue) => Ok(self.out),
        }
    }

    fn at_node(&mut self, pos: usize, text: &'t dyn std::fmt::Display) {
        self.at = Some(At { pos, text });
    }

    fn at_arg(&mut self, arg: &'t Arg) {
        self.at_node(arg.pos(), arg);
    }

    fn error(&self, message: impl Into<String>) -> Flow {
        self.error_with(message.into(), None)
    }

    fn error_with(&self, message: String, bound: Option<Bound>) -> Flow {
        let source = self
            .tmpl
            .sources
            .get(&self.name)
            .unwrap_or(&self.tmpl.source);
        match &self.at {
            None => Flow::Error(TemplateError::Execution {
                name: self.tmpl.name.clone(),
                line: 0,
                col: 0,
                message: format!("template: {}: {message}", self.name),
                bound,
            }),
            Some(at) => {
                let before = &source[..at.pos.min(source.len())];
                let line = 1 + before.matches('\n').count();
                let col = match before.rfind('\n') {
                    Some(i) => at.pos - (i + 1),
                    None => at.pos,
                };
                Flow::Error(TemplateError::Execution {
                    name: self.tmpl.name.clone(),
                    line,
                    col,
                    message: format!(
                        "template: {}:{line}:{col}: executing {} at <{}>: {message}",
                        self.tmpl.name,
                        super::fmt::quote(&self.name),
                        at.text
                    ),
                    bound,
                })
            }
        }
    }

    /// One unit of work: counted against the step limit, and every 32 steps the
    /// clock is read.
    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(self.bound(Bound::Steps));
        }
        if self.steps.is_multiple_of(32) && Instant::now() > self.stop_at {
            return Err(self.bound(Bound::Time));
        }
        Ok(())
    }

    /// What a bound says when it is exceeded.
    fn bound_message(&self, bound: Bound) -> String {
        match bound {
            Bound::Output => format!(
                "exceeded the output limit of {} bytes",
                self.limits.max_output_bytes
            ),
            Bound::Memory => format!(
                "exceeded the memory limit of {} bytes",
                self.limits.max_alloc_bytes
            ),
            Bound::Steps => format!("exceeded the step limit of {}", self.limits.max_steps),
            Bound::RangeIterations => format!(
                "exceeded the range iteration limit of {}",
                self.limits.max_range_iterations
            ),
            Bound::CallDepth => format!(
                "exceeded the template call depth limit of {}",
                self.limits.max_template_depth
            ),
            Bound::Nesting => {
                format!("nested deeper than {MAX_EXEC_DEPTH} pipelines and template calls")
            }
            Bound::ValueDepth => format!(
                "a value is nested deeper than {} levels",
                super::fmt::MAX_VALUE_DEPTH
            ),
            Bound::Time if self.stop_is_deadline => {
                "stopped: the review reached its time budget".to_owned()
            }
            Bound::Time => format!(
                "exceeded the execution time limit of {} ms",
                self.limits.timeout.as_millis()
            ),
        }
    }

    fn bound(&self, bound: Bound) -> Flow {
        self.error_with(self.bound_message(bound), Some(bound))
    }

    /// Charges the memory budget for what execution itself builds.
    fn charge(&mut self, n: usize) -> R<()> {
        self.budget.charge(n).map_err(|_| self.bound(Bound::Memory))
    }

    fn enter(&mut self) -> R<()> {
        self.nesting += 1;
        if self.nesting > MAX_EXEC_DEPTH {
            self.nesting -= 1;
            return Err(self.bound(Bound::Nesting));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.held_out + self.out.len() + s.len() > self.limits.max_output_bytes {
            return Err(self.bound(Bound::Output));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk(&mut self, dot: &V, list: &'t List) -> R<()> {
        self.enter()?;
        let mut result = Ok(());
        for node in &list.nodes {
            result = self.walk_node(dot, node);
            if result.is_err() {
                break;
            }
        }
        self.leave();
        result
    }

    fn walk_node(&mut self, dot: &V, node: &'t Node) -> R<()> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(t),
            Node::Action(a) => {
                self.at_node(a.pipe.pos, node);
                let val = self.eval_pipeline(dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    self.at_node(a.pipe.pos, node);
                    match &val.v {
                        Value::Missing => self.write("<no value>")?,
                        Value::String(s) => self.write(s)?,
                        v => {
                            let room = self.limits.max_output_bytes.saturating_sub(self.out.len());
                            let mut out = std::mem::take(&mut self.out);
                            let r = print_value(&mut out, v, room);
                            self.out = out;
                            r.map_err(|e| match e {
                                PrintError::Bytes => self.bound(Bound::Output),
                                PrintError::Depth => self.bound(Bound::ValueDepth),
                            })?;
                        }
                    }
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_or_with(dot, b, false, node),
            Node::With(b) => self.walk_if_or_with(dot, b, true, node),
            Node::Range(b) => self.walk_range(dot, b, node),
            Node::Template(t) => self.walk_template(dot, t, node),
            Node::Break => Err(Flow::Break),
            Node::Continue => Err(Flow::Continue),
        }
    }

    fn walk_if_or_with(&mut self, dot: &V, b: &'t Branch, with: bool, node: &'t Node) -> R<()> {
        let mark = self.vars.len();
        self.at_node(b.pos, node);
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let result = if val.v.truth() {
            if with {
                self.walk(&val, &b.list)
            } else {
                self.walk(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &V, b: &'t Branch, node: &'t Node) -> R<()> {
        let mark = self.vars.len();
        self.at_node(b.pos, node);
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let inner_mark = self.vars.len();
        let items: Vec<(V, V)> = match &val.v {
            Value::List(l) => {
                self.charge(2 * SLOT * l.items.len())?;
                let boxed = l.elem == Elem::Any;
                l.items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let v = if boxed {
                            V::boxed(v.clone())
                        } else {
                            V::concrete(v.clone())
                        };
                        (V::concrete(Value::Int(i as i64)), v)
                    })
                    .collect()
            }
            Value::Map(m) => {
                let m = m.borrow();
                let keys: usize = m.entries.keys().map(String::len).sum();
                let boxed = m.elem == Elem::Any;
                let items = m
                    .entries
                    .iter()
                    .map(|(k, v)| {
                        let v = if boxed {
                            V::boxed(v.clone())
                        } else {
                            V::concrete(v.clone())
                        };
                        (V::concrete(Value::str(k)), v)
                    })
                    .collect();
                drop(m);
                self.charge(keys + 2 * SLOT * m_len(&val.v))?;
                items
            }
            Value::Missing => Vec::new(),
            other => {
                return Err(self.error(format!("range can't iterate over {}", display(other))));
            }
        };
        let mut result = Ok(());
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                result = self.walk(dot, e);
            }
        } else {
            for (index, elem) in items {
                self.step()?;
                self.range_iterations += 1;
                if self.range_iterations > self.limits.max_range_iterations {
                    return Err(self.bound(Bound::RangeIterations));
                }
                let decl = &b.pipe.decl;
                if !decl.is_empty() {
                    if b.pipe.is_assign {
                        let first = if decl.len() > 1 {
                            index.clone()
                        } else {
                            elem.clone()
                        };
                        self.set_var(&decl[0], first);
                    } else {
                        self.set_top_var(1, elem.clone());
                    }
                }
                if decl.len() > 1 {
                    if b.pipe.is_assign {
                        self.set_var(&decl[1], elem.clone());
                    } else {
                        self.set_top_var(2, index.clone());
                    }
                }
                let r = self.walk(&elem, &b.list);
                self.vars.truncate(inner_mark);
                match r {
                    Ok(()) | Err(Flow::Continue) => {}
                    Err(Flow::Break) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        self.vars.truncate(mark);
        result
    }

    fn walk_template(&mut self, dot: &V, t: &'t TemplateCall, node: &'t Node) -> R<()> {
        self.at_node(t.pos, node);
        let tmpl: &'t Template = self.tmpl;
        let Some(tree) = tmpl.trees.trees.get(&t.name) else {
            return Err(self.error(format!(
                "template {} not defined",
                super::fmt::quote(&t.name)
            )));
        };
        if self.depth >= self.limits.max_template_depth {
            return Err(self.bound(Bound::CallDepth));
        }
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => V::missing(),
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, t.name.clone());
        self.depth += 1;
        let r = self.walk(&new_dot, tree);
        self.depth -= 1;
        self.name = saved_name;
        self.vars = saved_vars;
        r
    }

    /// Helm's `include NAME DATA`: the output of a defined template, as a string, under
    /// the same budgets and call-depth bound as `{{template}}`.
    fn include(&mut self, argv: &[Value], cmd: Option<&'t Command>, ident: &'t Arg) -> R<V> {
        let name = argv.first().and_then(Value::as_str).unwrap_or_default();
        let data = argv.get(1).cloned().unwrap_or(Value::Nil);
        let tmpl: &'t Template = self.tmpl;
        let at_call = |this: &mut Self| match cmd {
            Some(c) => this.at_node(c.pos, c),
            None => this.at_arg(ident),
        };
        let Some(tree) = tmpl.trees.trees.get(name) else {
            at_call(self);
            return Err(self.error(format!(
                "error calling include: template: no template {} associated with template {}",
                super::fmt::quote(name),
                super::fmt::quote(&tmpl.name)
            )));
        };
        if self.depth >= self.limits.max_template_depth {
            at_call(self);
            return Err(self.bound(Bound::CallDepth));
        }
        let dot = V::concrete(if data.is_nil() { Value::Missing } else { data });
        let saved_at = self.at.clone();
        let saved_out = std::mem::take(&mut self.out);
        self.held_out += saved_out.len();
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name.to_owned());
        self.depth += 1;
        let walked = self.walk(&dot, tree);
        self.depth -= 1;
        self.name = saved_name;
        self.vars = saved_vars;
        self.held_out -= saved_out.len();
        let produced = std::mem::replace(&mut self.out, saved_out);
        at_call(self);
        match walked {
            Ok(()) | Err(Flow::Break | Flow::Continue) => {
                self.charge(produced.len())?;
                self.at = saved_at;
                Ok(V::concrete(Value::string(produced)))
            }
            Err(Flow::Error(e)) => {
                let bound = e.bound();
                Err(self.error_with(format!("error calling include: {e}"), bound))
            }
        }
    }

    /// Helm's `tpl TEXT VALUES`: `TEXT` parsed as a template named after the one being
    /// rendered (Helm names it `.Template.Name`, which is that), with the `define`s
    /// of this template and its own, run over `VALUES` with `missingkey=zero`, and
    /// `<no value>` removed from the output, as Helm 3's `pkg/engine` does. It runs
    /// under this execution's budgets (steps, memory, output, time, call depth).
    fn tpl(&mut self, argv: &[Value], cmd: Option<&'t Command>, ident: &'t Arg) -> R<V> {
        let text = argv.first().and_then(Value::as_str).unwrap_or_default();
        let vals = argv.get(1).cloned().unwrap_or(Value::Nil);
        let saved_at = self.at.clone();
        match cmd {
            Some(c) => self.at_node(c.pos, c),
            None => self.at_arg(ident),
        }
        if self.depth >= self.limits.max_template_depth {
            return Err(self.bound(Bound::CallDepth));
        }
        let quoted = super::fmt::quote(text);
        // Parsing builds a tree several times the text's size.
        self.charge(text.len().saturating_mul(8))?;
        let main = self.tmpl.name.clone();
        let mut fresh = parse::Trees::default();
        let functions = &self.tmpl.functions;
        if let Err(e) = parse::parse(&main, text, &|n| functions.contains(n), &mut fresh) {
            return Err(self.error(format!(
                "error calling tpl: cannot parse template {quoted}: template: {main}:{}: {}",
                e.line, e.message
            )));
        }
        let root = fresh.trees.get(&main).cloned().unwrap_or_default();
        let mut trees = self.tmpl.trees.clone();
        let mut sources = self.tmpl.sources.clone();
        let source: Arc<str> = text.into();
        for (name, tree) in fresh.trees {
            // text/template's associate: an empty definition does not replace one.
            if parse::is_empty_tree(&tree) && trees.trees.contains_key(&name) {
                continue;
            }
            trees.trees.insert(name.clone(), tree);
            sources.insert(name, Arc::clone(&source));
        }
        let nested = Template {
            name: main.clone(),
            source: Arc::clone(&self.tmpl.source),
            trees,
            sources,
            functions: Arc::clone(&self.tmpl.functions),
        };
        let dot = V::concrete(if vals.is_nil() { Value::Missing } else { vals });
        let mut sub = Exec {
            tmpl: &nested,
            context: self.context,
            limits: self.limits,
            name: main,
            vars: vec![("$".into(), dot.clone())],
            at: None,
            out: String::new(),
            depth: self.depth + 1,
            nesting: self.nesting,
            range_iterations: self.range_iterations,
            stop_at: self.stop_at,
            stop_is_deadline: self.stop_is_deadline,
            steps: self.steps,
            held_out: self.held_out + self.out.len(),
            budget: std::mem::replace(&mut self.budget, Budget::new(0)),
            mutated: std::mem::take(&mut self.mutated),
            missing_zero: true,
        };
        let walked = sub.walk(&dot, &root);
        self.steps = sub.steps;
        self.range_iterations = sub.range_iterations;
        self.budget = sub.budget;
        self.mutated = sub.mutated;
        let produced = sub.out;
        match walked {
            Ok(()) | Err(Flow::Break | Flow::Continue) => {
                let out = produced.replace("<no value>", "");
                self.charge(out.len())?;
                self.at = saved_at;
                Ok(V::concrete(Value::string(out)))
            }
            Err(Flow::Error(e)) => {
                let bound = e.bound();
                Err(self.error_with(
                    format!(
                        "error calling tpl: error during tpl function execution for {quoted}: {e}"
                    ),
                    bound,
                ))
            }
        }
    }

    fn set_var(&mut self, name: &str, v: V) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn set_top_var(&mut self, n: usize, v: V) {
        let len = self.vars.len();
        if let Some(slot) = self.vars.get_mut(len.wrapping_sub(n)) {
            slot.1 = v;
        }
    }

    fn var_value(&self, name: &str) -> R<V> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.error(format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &V, pipe: &'t Pipe) -> R<V> {
        self.at_node(pipe.pos, pipe);
        self.enter()?;
        let mut value: Option<V> = None;
        for cmd in &pipe.cmds {
            self.step()?;
            let v = match self.eval_command(dot, cmd, value.take()) {
                Ok(v) => v,
                Err(e) => {
                    self.leave();
                    return Err(e);
                }
            };
            value = Some(v.unwrapped());
        }
        self.leave();
        let value = value.unwrap_or_else(V::missing);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Arg], fin: &Option<V>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V, cmd: &'t Command, fin: Option<V>) -> R<V> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(pos, idents) => {
                self.at_node(*pos, first);
                self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin)
            }
            Arg::Chain(..) => self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier(_, name) => {
                self.eval_function(dot, name, first, Some(cmd), &cmd.args, fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(..) => self.eval_variable(dot, first, &cmd.args, fin),
            _ => {
                self.at_arg(first);
                self.not_a_function(&cmd.args, &fin)?;
                match first {
                    Arg::Bool(_, b) => Ok(V::concrete(Value::Bool(*b))),
                    Arg::Dot(_) => Ok(dot.clone()),
                    Arg::Nil(_) => Err(self.error("nil is not a command")),
                    Arg::Number(..) => self.ideal_constant(first).map(V::concrete),
                    Arg::String(_, _, s) => Ok(V::concrete(Value::String(Arc::clone(s)))),
                    _ => Err(self.error(format!(
                        "can't evaluate command {}",
                        super::fmt::quote(&first.to_string())
                    ))),
                }
            }
        }
    }

    fn ideal_constant(&mut self, arg: &'t Arg) -> R<Value> {
        self.at_arg(arg);
        let Arg::Number(_, n) = arg else {
            return Ok(Value::Missing);
        };
        let is_hex =
            n.text.starts_with("0x") || n.text.starts_with("0X") || n.text.starts_with("-0x");
        let is_rune = n.text.starts_with('\'');
        if n.is_float && !is_hex && !is_rune && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        Err(self.error(format!("{} overflows int", n.text)))
    }

    fn eval_variable(&mut self, dot: &V, arg: &'t Arg, args: &'t [Arg], fin: Option<V>) -> R<V> {
        let Arg::Variable(pos, idents) = arg else {
            return Ok(V::missing());
        };
        self.at_node(*pos, arg);
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, arg, &idents[1..], args, fin)
    }

    fn eval_chain(&mut self, dot: &V, arg: &'t Arg, args: &'t [Arg], fin: Option<V>) -> R<V> {
        let Arg::Chain(pos, node, fields) = arg else {
            return Ok(V::missing());
        };
        self.at_node(*pos, arg);
        if matches!(**node, Arg::Nil(_)) {
            return Err(self.error(format!("indirection through explicit nil in {arg}")));
        }
        let receiver = self.eval_arg_any(dot, node)?;
        self.eval_field_chain(dot, receiver, arg, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V,
        mut receiver: V,
        node: &'t Arg,
        idents: &[String],
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, node, &[], &None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, &fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &V,
        field: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: &Option<V>,
        receiver: V,
    ) -> R<V> {
        let _ = node;
        let type_name = if receiver.iface {
            "interface {}"
        } else {
            receiver.v.type_name()
        };
        match &receiver.v {
            Value::Missing => Ok(V::missing()),
            Value::Nil => Err(self.error(format!("nil pointer evaluating interface {{}}.{field}"))),
            Value::Map(m) => {
                if args.len() > 1 || fin.is_some() {
                    return Err(self.error(format!("{field} is not a method but has arguments")));
                }
                let m = m.borrow();
                Ok(match (m.entries.get(field), m.elem) {
                    (Some(v), Elem::Any) => V::boxed(v.clone()),
                    (Some(v), _) => V::concrete(v.clone()),
                    (None, Elem::String) => V::concrete(Value::str("")),
                    (None, _) if self.missing_zero => V::boxed(Value::Nil),
                    (None, _) => V::missing(),
                })
            }
            Value::Time(_) | Value::Semver(_) => {
                let mut argv = Vec::new();
                for arg in args.iter().skip(1) {
                    argv.push(self.eval_arg_any(dot, arg)?.v);
                }
                if let Some(f) = fin {
                    argv.push(f.v.clone());
                }
                match super::dates::method(&receiver.v, field, &argv) {
                    Some(Ok(v)) => {
                        // What a method builds (`.Format`'s text) counts against the
                        // memory budget like a function's result.
                        if let Value::String(text) = &v {
                            self.charge(text.len())?;
                        }
                        Ok(V::concrete(v))
                    }
                    Some(Err(message)) => Err(self.error(message)),
                    None => {
                        Err(self.error(format!("can't evaluate field {field} in type {type_name}")))
                    }
                }
            }
            _ => Err(self.error(format!("can't evaluate field {field} in type {type_name}"))),
        }
    }

    fn eval_function(
        &mut self,
        dot: &V,
        name: &str,
        ident: &'t Arg,
        cmd: Option<&'t Command>,
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        self.at_arg(ident);
        let tmpl: &'t Template = self.tmpl;
        let Some(func) = tmpl.functions.get(name) else {
            return Err(self.error(format!(
                "{} is not a defined function",
                super::fmt::quote(name)
            )));
        };
        self.eval_call(dot, func, cmd, ident, args, fin)
    }

    fn eval_call(
        &mut self,
        dot: &V,
        func: &Func,
        cmd: Option<&'t Command>,
        ident: &'t Arg,
        args: &'t [Arg],
        fin: Option<V>,
    ) -> R<V> {
        let name = func.name;
        let args = if args.is_empty() { args } else { &args[1..] };
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = func.params.len();
        if func.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {num_fixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != num_fixed {
            return Err(self.error(format!(
                "wrong number of args for {name}: want {num_fixed} got {num_in}"
            )));
        }

        // and/or evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            let mut v = V::missing();
            for arg in args {
                v = self.eval_arg(dot, Param::Reflect, arg)?;
                if v.v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }

        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        for (i, arg) in args.iter().enumerate() {
            let param = func
                .params
                .get(i)
                .copied()
                .or(func.variadic)
                .unwrap_or(Param::Any);
            let v = self.eval_arg(dot, param, arg)?;
            argv.push(self.pass(param, v.v));
        }
        if let Some(f) = fin {
            let param = func
                .params
                .get(args.len())
                .copied()
                .or(func.variadic)
                .unwrap_or(Param::Any);
            let v = self.validate_type(f, param)?;
            argv.push(self.pass(param, v.v));
        }
        if name == "include" {
            return self.include(&argv, cmd, ident);
        }
        if name == "tpl" {
            return self.tpl(&argv, cmd, ident);
        }
        let result = {
            let mut env = Env {
                ctx: self.context,
                budget: &mut self.budget,
                fuel: Fuel {
                    used: &mut self.steps,
                    limit: self.limits.max_steps,
                    stop_at: self.stop_at,
                },
                mutated: &mut self.mutated,
            };
            (func.call)(&mut env, &argv)
        };
        // Go points an error at the call; after a success it still points at the
        // last argument evaluated.
        if result.is_err() {
            match cmd {
                Some(c) => self.at_node(c.pos, c),
                None => self.at_arg(ident),
            }
        }
        match result {
            Ok(v) => Ok(V::concrete(v)),
            Err(FnError::Go(message)) => {
                Err(self.error(format!("error calling {name}: {message}")))
            }
            Err(FnError::Bound(bound)) => Err(self.error_with(
                format!("error calling {name}: {}", self.bound_message(bound)),
                Some(bound),
            )),
        }
    }

    /// What a function receives: builtins see missing and nil apart; other functions
    /// get Go's nil for both.
    fn pass(&self, param: Param, v: Value) -> Value {
        match (param, v) {
            (Param::Reflect, v) => v,
            (_, Value::Missing) => Value::Nil,
            (_, v) => v,
        }
    }

    fn eval_arg_any(&mut self, dot: &V, arg: &'t Arg) -> R<V> {
        self.eval_arg(dot, Param::Any, arg)
    }

    fn eval_arg(&mut self, dot: &V, param: Param, arg: &'t Arg) -> R<V> {
        self.at_arg(arg);
        match arg {
            Arg::Dot(_) => return self.validate_type(dot.clone(), param),
            Arg::Nil(_) => {
                if param.can_be_nil() {
                    return Ok(V::concrete(Value::Nil));
                }
                return Err(self.error(format!("cannot assign nil to {}", param.go_type())));
            }
            Arg::Field(pos, idents) => {
                self.at_node(*pos, arg);
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    arg,
                    idents,
                    std::slice::from_ref(arg),
                    None,
                )?;
                return self.validate_type(v, param);
            }
            Arg::Variable(..) => {
                let v = self.eval_variable(dot, arg, &[], None)?;
                return self.validate_type(v, param);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, param);
            }
            Arg::Identifier(_, name) => {
                let v = self.eval_function(dot, name, arg, None, &[], None)?;
                return self.validate_type(v, param);
            }
            Arg::Chain(..) => {
                let v = self.eval_chain(dot, arg, &[], None)?;
                return self.validate_type(v, param);
            }
            _ => {}
        }
        match param {
            Param::Bool => match arg {
                Arg::Bool(_, b) => Ok(V::concrete(Value::Bool(*b))),
                _ => Err(self.error(format!("expected bool; found {arg}"))),
            },
            Param::Int => match arg {
                Arg::Number(_, n) if n.is_int => Ok(V::concrete(Value::Int(n.int))),
                _ => Err(self.error(format!("expected integer; found {arg}"))),
            },
            Param::Str => match arg {
                Arg::String(_, _, s) => Ok(V::concrete(Value::String(Arc::clone(s)))),
                _ => Err(self.error(format!("expected string; found {arg}"))),
            },
            Param::Any | Param::Reflect => match arg {
                Arg::Bool(_, b) => Ok(V::concrete(Value::Bool(*b))),
                Arg::Number(..) => self.ideal_constant(arg).map(V::concrete),
                Arg::String(_, _, s) => Ok(V::concrete(Value::String(Arc::clone(s)))),
                _ => Err(self.error(format!(
                    "can't handle assignment of {arg} to empty interface argument"
                ))),
            },
            Param::Map | Param::Time => Err(self.error(format!(
                "can't handle {arg} for arg of type {}",
                param.go_type()
            ))),
        }
    }

    fn validate_type(&self, v: V, param: Param) -> R<V> {
        if v.v.is_missing() {
            if param.can_be_nil() {
                return Ok(V::concrete(if param == Param::Reflect {
                    Value::Missing
                } else {
                    Value::Nil
                }));
            }
            return Err(self.error(format!("invalid value; expected {}", param.go_type())));
        }
        let ok = match param {
            Param::Any | Param::Reflect => true,
            Param::Str => matches!(v.v, Value::String(_)),
            Param::Int => matches!(v.v, Value::Int(_)),
            Param::Bool => matches!(v.v, Value::Bool(_)),
            Param::Map => matches!(&v.v, Value::Map(m) if m.borrow().elem == Elem::Any),
            Param::Time => matches!(v.v, Value::Time(_)),
        };
        if ok {
            return Ok(v);
        }
        let got = if matches!(v.v, Value::Nil) {
            "interface {}"
        } else {
            v.v.type_name()
        };
        Err(self.error(format!(
            "wrong type for value; expected {}; got {got}",
            param.go_type()
        )))
    }
}

fn m_len(v: &Value) -> usize {
    match v {
        Value::Map(m) => m.borrow().entries.len(),
        _ => 0,
    }
}
