//! Go's `text/template` with Sprig's and Helm's functions, rendering exactly as Go
//! does and failing with Go's messages, within execution budgets.
//!
//! ```
//! use gotemplate::{CallContext, Limits, Template};
//!
//! let t = Template::parse("t", "{{ .name | upper | quote }}").unwrap();
//! let out = t.execute_json(&serde_json::json!({"name": "orders"}), &CallContext::default(), &Limits::default());
//! assert_eq!(out.unwrap(), r#""ORDERS""#);
//! ```
//!
//! # What it matches
//!
//! Go 1.19's `text/template` (lexer, parser, executor and builtins, state for state,
//! with Go's error texts and positions), Sprig 3.2.3's function map (`genericMap`,
//! its snake_case aliases included) and the functions Helm 3 adds (`toYaml`,
//! `fromYaml`, `fromYamlArray`, `toToml`, `include`, `tpl`, `required`, …).
//! `tests/gotmpl.rs` holds every case of `tests/gotmpl/cases.yaml` (every function is
//! called) to Go's output or error, byte for byte: against the real Go and Sprig
//! where they are installed, against their recorded answers elsewhere. Functions
//! whose result depends on more than their arguments (the clock, randomness, the
//! environment, the network, the cluster) are refused at parse time with the reason.
//!
//! # Why our own engine
//!
//! `gotmpl` 0.6 (crates.io) was measured first, against Go 1.19's `text/template`
//! with the differential cases in `tests/gotmpl/cases.yaml`: 29 of the first 104
//! differed. Some were Sprig's absence, but the rest were in the parser and the
//! executor: it accepted `{{end}}`, `{{else}}` and a missing `{{end}}` without error,
//! did not reject undefined functions at parse time, gave `{{template "t"}}` the
//! caller's dot instead of nil, printed `<no value>` where Go fails on a field of a
//! JSON null, and reported execution errors without a position. Those are the two
//! properties this crate exists for (Go's exact behaviour, and errors that point at
//! the line), so the engine here follows Go's own lexer, parser and executor (`lex.go`,
//! `parse.go`, `exec.go`, `funcs.go`) state for state, and is checked against Go and
//! Sprig on every case in CI.
//!
//! The reference is the Go and Sprig that Debian ships (Go 1.19, Sprig 3), which is
//! what the differential suite runs. Like it, this engine does not support what later
//! Go versions added (`range` over an integer, `{{else with}}`).
//!
//! # Bounds
//!
//! Templates written by one party may run inside another's request path (an
//! admission webhook's), so execution is bounded ([`Limits`]): output size, bytes
//! allocated (every function charges what it builds before building it), steps,
//! total `range` iterations, `{{template}}` call depth, value nesting, and
//! wall-clock time (or the caller's deadline, [`CallContext::deadline`]). Exceeding
//! one is an error naming the [`Bound`]. Parsing is
//! bounded by [`parse::MAX_PARSE_DEPTH`]. Regular expressions are linear-time. No
//! function reads files, the environment or the network.
//!
//! # Caching
//!
//! Parse once ([`Template::parse`]), execute many times ([`Template::execute`]): a
//! `Template` is immutable and `Send + Sync`.
//!
//! # Extending it
//!
//! An application adds its own functions the way Go's `Funcs` does, before parsing:
//! [`Functions::add_function`] with the function's Go signature ([`Param`]s), then
//! [`Template::parse_with`]. A function that needs the caller's request (a catalog to
//! look names up in) reads it from the [`Host`] the caller puts in its
//! [`CallContext`]; it charges what it builds to the execution's budget through its
//! [`Env`]. A new Sprig or Helm function goes into `sprig.rs` or `funcs.rs` with a case
//! in `tests/gotmpl/cases.yaml`, recorded from Go with `STACKHOOK_UPDATE_GO_EXPECTED=1`.

mod budget;
mod crypto;
mod dates;
mod decimal;
mod duration;
mod exec;
pub mod fmt;
mod funcs;
mod gotime;
mod lex;
pub mod parse;
mod semver;
mod sprig;
mod toml;
mod unicode;
mod url;
#[rustfmt::skip]
#[allow(
    dead_code,
    reason = "generated: every class Go's unicode package has; functions use a subset"
)]
mod unicode_tables;
mod value;
mod xstrings;
mod yaml;

use std::sync::Arc;
use std::time::Duration;

pub use funcs::{Call, CallContext, Env, FnError, FnResult, Functions, Host, Param};
pub use value::Value;

/// The builtins alone, for [`Template::parse`].
static BUILTINS: std::sync::LazyLock<Arc<Functions>> =
    std::sync::LazyLock::new(|| Arc::new(Functions::new()));

/// Which execution bound was exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// [`Limits::max_output_bytes`].
    Output,
    /// [`Limits::max_alloc_bytes`].
    Memory,
    /// [`Limits::max_steps`].
    Steps,
    /// [`Limits::max_range_iterations`].
    RangeIterations,
    /// [`Limits::max_template_depth`].
    CallDepth,
    /// Pipelines, control structures and template calls nested deeper than the
    /// executor allows (a stack bound, not configurable).
    Nesting,
    /// A value nested deeper than [`fmt::MAX_VALUE_DEPTH`] was printed, encoded or
    /// compared.
    ValueDepth,
    /// [`Limits::timeout`], or the caller's deadline.
    Time,
}

/// Execution bounds, enforced while the template runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest output, in bytes (default 1 MiB).
    pub max_output_bytes: usize,
    /// Most bytes one execution may allocate for strings, lists and maps, over its
    /// whole run and counting what it later drops (default 16 MiB): charged before
    /// each allocation, so a template that doubles a string in a loop stops here.
    pub max_alloc_bytes: usize,
    /// Most steps (nodes, pipeline commands, range iterations) one execution may take
    /// (default 1,000,000).
    pub max_steps: u64,
    /// Most `range` iterations in one execution, over all loops (default 100,000).
    pub max_range_iterations: u64,
    /// Deepest nesting of `{{template}}` calls (default 100).
    pub max_template_depth: usize,
    /// Longest execution (default 250 ms).
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_output_bytes: 1 << 20,
            max_alloc_bytes: 16 << 20,
            max_steps: 1_000_000,
            max_range_iterations: 100_000,
            max_template_depth: 100,
            timeout: Duration::from_millis(250),
        }
    }
}

/// A template error, in Go's words: `template: NAME:LINE: …` when parsing,
/// `template: NAME:LINE:COL: executing "NAME" at <NODE>: …` when executing (COL is
/// Go's 0-based byte offset in the line).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The template's name.
        name: String,
        /// The line Go reports.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Execution failed.
    #[error("{message}")]
    Execution {
        /// The template's name.
        name: String,
        /// The line of the failing node (0 when unknown).
        line: usize,
        /// Go's column of the failing node.
        col: usize,
        /// The whole message, as Go writes it.
        message: String,
        /// The execution bound that was exceeded, if that is what failed.
        bound: Option<Bound>,
    },
}

impl TemplateError {
    /// The line the error is at (1-based; 0 when unknown).
    pub fn line(&self) -> usize {
        match self {
            Self::Parse { line, .. } | Self::Execution { line, .. } => *line,
        }
    }

    /// The bound that was exceeded, if any.
    pub fn bound(&self) -> Option<Bound> {
        match self {
            Self::Execution { bound, .. } => *bound,
            Self::Parse { .. } => None,
        }
    }
}

/// A parsed template and its `define`s. Parse once, execute many times.
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    source: Arc<str>,
    trees: parse::Trees,
    /// The text of the trees that `tpl` parsed, which error positions refer to (every
    /// other tree is from `source`).
    sources: std::collections::BTreeMap<String, Arc<str>>,
    /// What it was parsed with; `tpl` parses with it too.
    functions: Arc<Functions>,
}

impl Template {
    /// Parses `text` as the template `name`, with Go's, Sprig's and Helm's functions.
    pub fn parse(name: &str, text: &str) -> Result<Self, TemplateError> {
        Self::parse_with(name, text, &BUILTINS)
    }

    /// Parses `text` as the template `name`, with `functions` (the builtins and what
    /// the application added): a call of any other function is a parse error, as in
    /// Go.
    pub fn parse_with(
        name: &str,
        text: &str,
        functions: &Arc<Functions>,
    ) -> Result<Self, TemplateError> {
        let mut trees = parse::Trees::default();
        parse::parse(name, text, &|n| functions.contains(n), &mut trees).map_err(|e| {
            TemplateError::Parse {
                name: name.to_owned(),
                line: e.line,
                message: e.message,
            }
        })?;
        Ok(Self {
            name: name.to_owned(),
            source: text.into(),
            trees,
            sources: std::collections::BTreeMap::new(),
            functions: Arc::clone(functions),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the template with `data` as dot. Maps are references, as in Go: a
    /// template may change the maps of `data` in place (Sprig's `set`), and the maps
    /// it changed are emptied when the execution ends (that frees any cycle it made),
    /// so give each execution its own data.
    pub fn execute(
        &self,
        data: Value,
        context: &CallContext<'_>,
        limits: &Limits,
    ) -> Result<String, TemplateError> {
        exec::Exec::new(self, context, limits).run(&self.name, data)
    }

    /// Executes with JSON data, decoded as Go decodes JSON (numbers are `float64`).
    pub fn execute_json(
        &self,
        data: &serde_json::Value,
        context: &CallContext<'_>,
        limits: &Limits,
    ) -> Result<String, TemplateError> {
        self.execute(Value::from(data), context, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Renders with the default limits but a time limit no machine reaches: these tests
    /// are about the other bounds, whose errors must not turn into the time limit's on a
    /// busy machine (the time limit has a test of its own).
    fn render(t: &str, data: serde_json::Value) -> Result<String, String> {
        let limits = Limits {
            timeout: Duration::from_secs(600),
            ..Limits::default()
        };
        Template::parse("t", t)
            .and_then(|t| t.execute_json(&data, &CallContext::default(), &limits))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn functions_that_read_more_than_their_arguments_are_refused_by_name() {
        for (name, why) in [
            ("now", "reads the clock"),
            ("env \"HOME\"", "reads the process environment"),
            ("randAlpha 5", "is random"),
            ("uuidv4", "is random"),
            ("getHostByName \"x\"", "reads the network"),
            ("lookup \"v1\" \"Secret\" \"ns\" \"s\"", "reads the cluster"),
        ] {
            let e = Template::parse("t", &format!("a\n{{{{ {name} }}}}")).unwrap_err();
            let function = name.split(' ').next().unwrap_or_default();
            assert_eq!(
                e.to_string(),
                format!(
                    "template: t:2: function \"{function}\" is not available: it {why}, and a template must render the same bytes from the same inputs wherever it runs"
                )
            );
        }
        let e = Template::parse("t", "{{ nosuch }}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "template: t:1: function \"nosuch\" not defined"
        );
    }

    #[test]
    fn what_time_methods_and_tpl_build_is_bounded() {
        // A time's .Format of a long layout, kept in a list, reaches the memory budget.
        let e = render(
            "{{ $t := toDate \"2006\" \"2021\" }}{{ $l := repeat 1000000 \"x\" }}{{ $a := list }}{{ range until 1000 }}{{ $a = append $a ($t.Format $l) }}{{ end }}",
            json!({}),
        )
        .unwrap_err();
        assert!(
            e.ends_with("exceeded the memory limit of 16777216 bytes"),
            "{e}"
        );
        // tpl calling itself stops at the call depth limit.
        let e = render(
            "{{ define \"x\" }}{{ tpl \"{{ include \\\"x\\\" . }}\" . }}{{ end }}{{ include \"x\" . }}",
            json!({}),
        )
        .unwrap_err();
        assert!(
            e.ends_with("exceeded the template call depth limit of 100"),
            "{e}"
        );
    }

    #[test]
    fn functions_whose_work_outgrows_what_they_build_spend_the_step_fuel() {
        // 20,000 distinct values: 2·10^8 comparisons, far past the 10^6 steps.
        let e = render("{{ uniq (until 20000) }}", json!({})).unwrap_err();
        assert!(
            e.ends_with("error calling uniq: exceeded the step limit of 1000000"),
            "{e}"
        );
        // A map whose two entries both lead back to it: merging it into itself would
        // walk 2^depth entries; the first descent meets the depth bound.
        let e = render(
            r#"{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ $_ := set $d "b" $d }}{{ merge $d $d }}"#,
            json!({}),
        )
        .unwrap_err();
        assert!(
            e.ends_with("error calling merge: a value is nested deeper than 1000 levels"),
            "{e}"
        );
        // Two maps that contain themselves: equal all the way down, until the bound.
        let e = render(
            r#"{{ $a := dict }}{{ $_ := set $a "x" $a }}{{ $b := dict }}{{ $_ := set $b "x" $b }}{{ deepEqual $a $b }}"#,
            json!({}),
        )
        .unwrap_err();
        assert!(
            e.contains("error calling deepEqual: ") && e.contains("nested deeper than 1000"),
            "{e}"
        );
    }

    #[test]
    fn the_output_limit_covers_what_includes_set_aside() {
        let t = r#"{{ define "big" }}{{ repeat 600000 "b" }}{{ end }}{{ repeat 600000 "a" }}{{ $kept := include "big" . }}"#;
        let e = render(t, json!({})).unwrap_err();
        assert!(
            e.contains("exceeded the output limit of 1048576 bytes"),
            "{e}"
        );
    }

    #[test]
    fn ranges_over_the_whole_int64_line_neither_overflow_nor_allocate_first() {
        assert_eq!(
            render(
                "{{ untilStep -9223372036854775808 9223372036854775807 4611686018427387904 }}",
                json!({})
            )
            .unwrap(),
            "[-9223372036854775808 -4611686018427387904 0 4611686018427387904]"
        );
        let e = render("{{ len (untilStep 0 9223372036854775807 1) }}", json!({})).unwrap_err();
        assert!(
            e.contains("error calling untilStep: ") && e.contains("memory"),
            "{e}"
        );
        assert_eq!(
            render("[{{ seq 9223372036854775807 }}]", json!({})).unwrap(),
            "[]"
        );
    }

    #[test]
    fn json_nested_past_the_readers_limit_is_an_error_that_says_so() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = render("{{ mustFromJson .j }}", json!({ "j": deep })).unwrap_err();
        assert!(
            e.ends_with("error calling mustFromJson: JSON nested deeper than 128 levels"),
            "{e}"
        );
    }

    #[test]
    fn merging_a_map_that_contains_itself_stops_at_the_depth_bound() {
        // Go recurses until its stack overflows; here the value-depth bound answers.
        let e = render(
            r#"{{ $d := dict }}{{ $_ := set $d "x" $d }}{{ merge $d $d }}"#,
            json!({}),
        )
        .unwrap_err();
        assert!(e.contains("error calling merge: "), "{e}");
        assert!(e.contains("nested deeper than 1000"), "{e}");
    }

    #[test]
    fn renders_fields_and_functions() {
        assert_eq!(render("{{ .a | upper }}", json!({"a": "x"})).unwrap(), "X");
    }

    #[test]
    fn bounds_output_size() {
        let limits = Limits {
            max_output_bytes: 10,
            ..Limits::default()
        };
        let t = Template::parse("t", "{{ range .l }}abcdef{{ end }}").unwrap();
        let e = t
            .execute_json(&json!({"l": [1, 2, 3]}), &CallContext::default(), &limits)
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::Output));
        assert!(
            e.to_string()
                .ends_with("exceeded the output limit of 10 bytes"),
            "{e}"
        );
    }

    #[test]
    fn bounds_range_iterations() {
        let limits = Limits {
            max_range_iterations: 5,
            ..Limits::default()
        };
        let t = Template::parse("t", "{{ range .l }}{{ range $.l }}{{ end }}{{ end }}").unwrap();
        let e = t
            .execute_json(&json!({"l": [1, 2, 3]}), &CallContext::default(), &limits)
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::RangeIterations));
        assert!(
            e.to_string()
                .contains("exceeded the range iteration limit of 5"),
            "{e}"
        );
    }

    #[test]
    fn bounds_recursion_depth() {
        let t = Template::parse(
            "t",
            "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
        )
        .unwrap();
        let e = t
            .execute_json(&json!({}), &CallContext::default(), &Limits::default())
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::CallDepth));
        assert!(
            e.to_string()
                .contains("exceeded the template call depth limit of 100"),
            "{e}"
        );
    }

    #[test]
    fn bounds_time() {
        let limits = Limits {
            timeout: Duration::from_millis(1),
            max_range_iterations: u64::MAX,
            ..Limits::default()
        };
        // 3 nested ranges of 200: 8 million iterations, far more than 1 ms.
        let t = Template::parse(
            "t",
            "{{ range .l }}{{ range $.l }}{{ range $.l }}{{ end }}{{ end }}{{ end }}",
        )
        .unwrap();
        let l: Vec<u32> = (0..200).collect();
        let e = t
            .execute_json(&json!({ "l": l }), &CallContext::default(), &limits)
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::Time));
        assert!(
            e.to_string()
                .contains("exceeded the execution time limit of 1 ms"),
            "{e}"
        );
    }

    fn fails(t: &str) -> TemplateError {
        let t = Template::parse("t", t).unwrap();
        t.execute_json(&json!({}), &CallContext::default(), &Limits::default())
            .unwrap_err()
    }

    #[test]
    fn growing_functions_fail_on_the_memory_budget_before_allocating() {
        for (t, node) in [
            (
                r#"{{ indent 100000000000 "x" }}"#,
                r#"indent 100000000000 "x""#,
            ),
            (
                r#"{{ nindent 100000000000 "x" }}"#,
                r#"nindent 100000000000 "x""#,
            ),
            (
                r#"{{ $x := "ab" }}{{ range $i, $_ := until 64 }}{{ $x = printf "%s%s" $x $x }}{{ end }}"#,
                r#"printf "%s%s" $x $x"#,
            ),
            (
                r#"{{ $x := "ab" }}{{ range $i, $_ := until 64 }}{{ $x = replace "a" $x $x }}{{ end }}"#,
                r#"replace "a" $x $x"#,
            ),
        ] {
            if t.contains("until") && !Functions::new().contains("until") {
                continue;
            }
            let e = fails(t);
            assert_eq!(e.bound(), Some(Bound::Memory), "{t}: {e}");
            let name = node.split(' ').next().unwrap();
            assert!(
                e.to_string().ends_with(&format!(
                    "at <{node}>: error calling {name}: exceeded the memory limit of 16777216 bytes"
                )),
                "{t}: {e}"
            );
        }
    }

    #[test]
    fn doubling_a_variable_in_a_range_stops_at_the_memory_budget() {
        let t = Template::parse(
            "t",
            r#"{{ $x := "ab" }}{{ range .l }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ len $x }}"#,
        )
        .unwrap();
        let l: Vec<u32> = (0..64).collect();
        let e = t
            .execute_json(
                &json!({ "l": l }),
                &CallContext::default(),
                &Limits::default(),
            )
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::Memory), "{e}");
    }

    #[test]
    fn widths_and_precisions_are_capped_as_go_caps_them() {
        assert_eq!(
            render(r#"{{ printf "%999999999999d" 5 }}"#, json!({})).unwrap(),
            "%!(NOVERB)%!(EXTRA int=5)"
        );
        assert_eq!(
            render(r#"{{ printf "%.999999999f" 1.5 }}"#, json!({})).unwrap(),
            "%!(NOVERB)%!(EXTRA float64=1.5)"
        );
        // Just under Go's cap is allowed, within the budget and the output limit.
        assert_eq!(
            render(r#"{{ len (printf "%.900000f" 1.5) }}"#, json!({})).unwrap(),
            "900002"
        );
        let e = render(r#"{{ printf "%9999999d" 5 }}"#, json!({})).unwrap_err();
        assert!(
            e.ends_with("exceeded the output limit of 1048576 bytes"),
            "{e}"
        );
    }

    #[test]
    fn values_nested_in_a_loop_are_refused_when_printed_and_dropped_without_recursing() {
        let t = Template::parse(
            "t",
            r#"{{ $x := list }}{{ range .l }}{{ range $.l }}{{ $x = list $x }}{{ end }}{{ end }}{{ $x }}"#,
        )
        .unwrap();
        let l: Vec<u32> = (0..40).collect();
        let e = t
            .execute_json(
                &json!({ "l": l }),
                &CallContext::default(),
                &Limits::default(),
            )
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::ValueDepth), "{e}");
        assert!(
            e.to_string()
                .ends_with("a value is nested deeper than 1000 levels"),
            "{e}"
        );
    }

    #[test]
    fn bounds_steps() {
        let limits = Limits {
            max_steps: 1000,
            ..Limits::default()
        };
        let t = Template::parse("t", "{{ range .l }}{{ range $.l }}{{ end }}{{ end }}").unwrap();
        let l: Vec<u32> = (0..100).collect();
        let e = t
            .execute_json(&json!({ "l": l }), &CallContext::default(), &limits)
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::Steps));
        assert!(
            e.to_string().contains("exceeded the step limit of 1000"),
            "{e}"
        );
    }

    #[test]
    fn stops_at_the_callers_deadline() {
        let t = Template::parse(
            "t",
            "{{ range .l }}{{ range $.l }}{{ range $.l }}{{ end }}{{ end }}{{ end }}",
        )
        .unwrap();
        let l: Vec<u32> = (0..200).collect();
        let limits = Limits {
            max_range_iterations: u64::MAX,
            max_steps: u64::MAX,
            ..Limits::default()
        };
        let context = CallContext {
            deadline: Some(std::time::Instant::now()),
            ..CallContext::default()
        };
        let e = t
            .execute_json(&json!({ "l": l }), &context, &limits)
            .unwrap_err();
        assert_eq!(e.bound(), Some(Bound::Time));
        assert!(
            e.to_string()
                .contains("stopped: the review reached its time budget"),
            "{e}"
        );
    }

    #[test]
    fn deep_recursion_is_refused_on_a_small_stack() {
        // A recursive template that nests a parenthesised pipeline at each level:
        // the executor's own depth bound must come before the thread's stack ends.
        let mut t = String::from(r#"{{ define "r" }}{{ template "r" "#);
        t.push_str(&"(".repeat(90));
        t.push('.');
        t.push_str(&")".repeat(90));
        t.push_str(" }}{{ end }}{{ template \"r\" . }}");
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || fails(&t).to_string())
            .unwrap();
        let e = handle.join().unwrap();
        assert!(
            e.contains("nested deeper than 1000") || e.contains("call depth limit"),
            "{e}"
        );
    }

    #[test]
    fn rejects_deep_nesting_at_parse_time() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(200), ")".repeat(200));
        let e = Template::parse("t", &deep).unwrap_err();
        assert!(
            e.to_string().contains("nesting deeper than 100 levels"),
            "{e}"
        );
    }

    #[test]
    fn templates_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Template>();
    }
}
