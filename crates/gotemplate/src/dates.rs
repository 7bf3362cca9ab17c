//! Sprig's date functions of a given time, and `semver`/`semverCompare`: the
//! functions whose values are Go objects (`time.Time`, `*semver.Version`) rather than
//! JSON-shaped data. The ones that would read the clock (`now`, `ago`, and `date` of
//! anything but a time or an integer, which Sprig replaces by the current time) are
//! refused: the webhook and the controller must render the same bytes.

use std::rc::Rc;

use super::funcs::{Env, FnError, FnResult, Func, Param, s};
use super::gotime::{self, GoTime};
use super::semver;
use super::value::Value;

use Param::{Any, Str, Time};

/// What `date` and friends were given: Sprig's `time.Time`, or seconds since the
/// epoch for `int`/`int64`; anything else is the clock in Sprig, refused here.
fn time_of(v: &Value, func: &str) -> Result<GoTime, FnError> {
    match v {
        Value::Time(t) => Ok((**t).clone()),
        Value::Int(n) | Value::Int64(n) => Ok(GoTime::unix(*n)),
        other => Err(format!(
            "{func} of a {} reads the clock in Sprig (only a time.Time or an integer of seconds is a date), which this engine does not do",
            other.type_name()
        )
        .into()),
    }
}

fn in_zone(e: &mut Env<'_, '_>, layout: &str, t: &Value, zone: &str, func: &str) -> FnResult {
    let t = time_of(t, func)?.in_loc(gotime::load_location(zone));
    e.charge(layout.len() * 4 + 64)?;
    e.string(t.format(layout))
}

fn time_value(t: GoTime) -> FnResult {
    Ok(Value::Time(Rc::new(t)))
}

fn to_date(e: &mut Env<'_, '_>, layout: &str, value: &str, must: bool) -> FnResult {
    e.charge(layout.len() + value.len())?;
    match gotime::parse(layout, value) {
        Ok(t) => time_value(t),
        Err(err) if must => Err(err.into()),
        Err(_) => time_value(GoTime::zero()),
    }
}

fn date_modify(a: &[Value], must: bool) -> FnResult {
    let Value::Time(t) = &a[1] else {
        return Err("expected a time.Time".into());
    };
    match super::duration::parse_go(s(&a[0])) {
        Ok(d) => time_value(t.add(d)),
        Err(err) if must => Err(err.into()),
        Err(_) => Ok(a[1].clone()),
    }
}

/// The functions of this module.
pub(crate) fn functions() -> Vec<Func> {
    macro_rules! f {
        ($name:literal ($($p:expr),*) $(.. $v:expr)? => $call:expr) => {
            Func { name: $name, params: &[$($p),*], variadic: f!(@v $($v)?), call: $call }
        };
        (@v) => { None };
        (@v $v:expr) => { Some($v) };
    }
    vec![
        f!("toDate" (Str, Str) => |e, a| to_date(e, s(&a[0]), s(&a[1]), false)),
        f!("mustToDate" (Str, Str) => |e, a| to_date(e, s(&a[0]), s(&a[1]), true)),
        f!("date" (Str, Any) => |e, a| in_zone(e, s(&a[0]), &a[1], "Local", "date")),
        f!("dateInZone" (Str, Any, Str) => |e, a| in_zone(e, s(&a[0]), &a[1], s(&a[2]), "dateInZone")),
        f!("htmlDate" (Any) => |e, a| in_zone(e, "2006-01-02", &a[0], "Local", "htmlDate")),
        f!("htmlDateInZone" (Any, Str) => |e, a| in_zone(e, "2006-01-02", &a[0], s(&a[1]), "htmlDateInZone")),
        f!("dateModify" (Str, Time) => |_, a| date_modify(a, false)),
        f!("mustDateModify" (Str, Time) => |_, a| date_modify(a, true)),
        // Sprig's snake_case aliases of the three above (its genericMap has them).
        f!("date_in_zone" (Str, Any, Str) => |e, a| in_zone(e, s(&a[0]), &a[1], s(&a[2]), "date_in_zone")),
        f!("date_modify" (Str, Time) => |_, a| date_modify(a, false)),
        f!("must_date_modify" (Str, Time) => |_, a| date_modify(a, true)),
        f!("unixEpoch" (Time) => |e, a| match &a[0] {
            Value::Time(t) => e.string(t.secs.to_string()),
            _ => Err("expected a time.Time".into()),
        }),
        f!("semver" (Str) => |e, a| {
            e.charge(2 * s(&a[0]).len() + 64)?;
            Ok(Value::Semver(Rc::new(semver::Version::parse(s(&a[0]))?)))
        }),
        f!("semverCompare" (Str, Str) => |e, a| {
            e.charge(s(&a[0]).len() * 8 + s(&a[1]).len())?;
            Ok(Value::Bool(semver::satisfies(s(&a[0]), s(&a[1]))?))
        }),
    ]
}

/// A method of a `time.Time` or `*semver.Version` (`{{ $t.Year }}`,
/// `{{ ($v).Major }}`) with its arguments; `None` when the type has no such method.
pub(crate) fn method(
    receiver: &Value,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, String>> {
    let want = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    match receiver {
        Value::Time(t) => {
            let r = match name {
                "Format" => want(1).and_then(|()| match &args[0] {
                    Value::String(layout) => Ok(Value::string(t.format(layout))),
                    other => Err(format!(
                        "wrong type for value; expected string; got {}",
                        other.type_name()
                    )),
                }),
                "String" => want(0).map(|()| Value::string(t.string())),
                "UTC" | "Local" => {
                    want(0).map(|()| Value::Time(Rc::new(t.in_loc(gotime::Loc::Utc))))
                }
                "IsZero" => want(0).map(|()| Value::Bool(t.is_zero())),
                "Month" | "Weekday" => {
                    want(0).map(|()| Value::str(t.name_field(name).unwrap_or_default()))
                }
                _ => match t.field(name) {
                    Some(n) => want(0).map(|()| match name {
                        "Unix" | "UnixMilli" | "UnixNano" => Value::Int64(n),
                        _ => Value::Int(n),
                    }),
                    None => return None,
                },
            };
            Some(r)
        }
        Value::Semver(v) => {
            let r = match name {
                "Major" => want(0).map(|()| Value::Uint64(v.major)),
                "Minor" => want(0).map(|()| Value::Uint64(v.minor)),
                "Patch" => want(0).map(|()| Value::Uint64(v.patch)),
                "Prerelease" => want(0).map(|()| Value::str(&v.pre)),
                "Metadata" => want(0).map(|()| Value::str(&v.metadata)),
                "Original" | "LessThan" | "GreaterThan" | "Equal" | "Compare" if v.by_value => {
                    return None;
                }
                "Original" => want(0).map(|()| Value::str(&v.original)),
                "String" => want(0).map(|()| Value::string(v.string())),
                "IncMajor" | "IncMinor" | "IncPatch" => {
                    want(0).map(|()| Value::Semver(Rc::new(v.inc(name))))
                }
                "LessThan" | "GreaterThan" | "Equal" | "Compare" => {
                    want(1).and_then(|()| match &args[0] {
                        Value::Semver(o) if !o.by_value => {
                            let c = v.compare(o);
                            Ok(match name {
                                "LessThan" => Value::Bool(c.is_lt()),
                                "GreaterThan" => Value::Bool(c.is_gt()),
                                "Equal" => Value::Bool(c.is_eq()),
                                _ => Value::Int(c as i64),
                            })
                        }
                        other => Err(format!(
                            "wrong type for value; expected *semver.Version; got {}",
                            other.type_name()
                        )),
                    })
                }
                _ => return None,
            };
            Some(r)
        }
        _ => None,
    }
}
