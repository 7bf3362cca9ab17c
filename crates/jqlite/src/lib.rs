//! jq's selection subset over `serde_json` values, evaluated as jq 1.6 evaluates it,
//! keeping the path every selected value was found at.
//!
//! # What it matches
//!
//! jq 1.6: every case of `tests/filters/cases.yaml` selects the same values, in the
//! same order, and fails with the same message as `jq -c` (`tests/filters.rs` runs `jq`
//! where it is installed, and compares with its recorded answers elsewhere). The
//! subset is what selecting parts of a document needs ([`Filter::parse`] lists it):
//! paths, iteration, `select`, comparisons, array construction, `if`, `//` and the
//! functions of [`FUNCTIONS`]. Anything else jq has (`def`, variables, `reduce`,
//! string interpolation, object construction, `env`, `input`, …) is refused with a
//! message naming it.
//!
//! # Bounds
//!
//! Nothing in the subset can loop, recurse without bound or read the environment. A
//! filter is at most [`MAX_FILTER_BYTES`] long and [`MAX_FILTER_DEPTH`] deep; one
//! [`Eval`] spends at most [`MAX_STEPS`] steps (every value produced or visited) and
//! [`MAX_BYTES`] bytes (every value built), so `[.,.]|[.,.]|…|.[]|.[]` stops at the
//! budget whatever the input.
//!
//! # Paths
//!
//! Values taken from the input keep where they were found ([`Item::path`]), through
//! array construction too (`[.a, .b] | .[]` yields `a` and `b` at their own places),
//! so an application can report a value where it is written.
//!
//! # Extending it
//!
//! A function is a name and arity in [`FUNCTIONS`] (the parser accepts it) and a case
//! of the evaluator's `call`; a new case goes into `tests/filters/cases.yaml` and is
//! recorded from jq with `STACKHOOK_UPDATE_JQ_EXPECTED=1`.

mod eval;
mod parse;

use serde_json::Value;

pub use eval::{
    Eval, EvalError, Fail, Item, MAX_BYTES, MAX_STEPS, Path, PathNode, Step, Val, owned, steps,
};
pub use parse::{FUNCTIONS, MAX_FILTER_BYTES, MAX_FILTER_DEPTH, ParseError};

/// A parsed filter: parse once, run over many inputs.
#[derive(Debug)]
pub struct Filter {
    expr: parse::Expr,
}

impl Filter {
    /// Parses a filter of the selection subset. Accepted (jq's syntax and precedence):
    /// `.`, `..`, `.a`, `."a"`, `.[e]`, `.[e:e]`, `.[]`, postfix `?`, `|`, `,`, `//`,
    /// `or`, `and`, `==` `!=` `<` `<=` `>` `>=`, `+`, `-`, `(…)`, `[…]`,
    /// `if … then … elif … else … end`, literals and the functions in [`FUNCTIONS`].
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse::parse(text).map(|expr| Self { expr })
    }
}

/// The values `filter` selects from `input`, as `jq -c` would print them, and the
/// error that stopped it if one did (jq's message, or the budget's; values selected
/// before it are kept, as jq prints them): what the differential tests compare with
/// `jq`.
pub fn evaluate(filter: &str, input: &Value) -> (Vec<Value>, Option<String>) {
    let filter = match Filter::parse(filter) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), Some(e.0)),
    };
    let mut eval = Eval::new();
    let item = Item {
        val: Val::Ref(input),
        path: None,
    };
    let (results, error) = match eval.run(&filter, &item) {
        Ok(results) => (results, None),
        Err(fail) => (
            fail.partial,
            Some(match fail.error {
                EvalError::Runtime(m) | EvalError::Budget(m) => m,
            }),
        ),
    };
    (results.iter().map(|i| owned(&i.val)).collect(), error)
}
