//! Handlebars helpers for templates and conditions.
//!
//! The comparison helpers replace handlebars' built-ins so that, in strict
//! mode, a missing variable is an error that names it (the built-ins only say
//! "param not found"). `default` and `defined` are the two that accept a
//! missing variable on purpose.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, PathAndJson, RenderContext, RenderError,
    RenderErrorReason, Renderable, ScopedJson,
};
use serde_json::Value;

type HelperFn = fn(&str, &[Value]) -> Result<Value, String>;

/// A helper whose params must all be defined.
struct Strict {
    min: usize,
    max: usize,
    run: HelperFn,
}

fn param_values(
    h: &Helper<'_>,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Vec<Value>, RenderError> {
    let params: &[PathAndJson<'_>] = h.params();
    if params.len() < min || params.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else if max == usize::MAX {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(RenderErrorReason::Other(format!(
            "helper `{name}` takes {expected} argument(s), got {}",
            params.len()
        ))
        .into());
    }
    params
        .iter()
        .map(|p| {
            if p.is_value_missing() {
                Err(RenderErrorReason::MissingVariable(p.relative_path().cloned()).into())
            } else {
                Ok(p.value().clone())
            }
        })
        .collect()
}

impl HelperDef for Strict {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let name = h.name();
        if let Some(decided) = short_circuit(h, name) {
            return Ok(ScopedJson::Derived(Value::Bool(decided)));
        }
        let values = param_values(h, name, self.min, self.max)?;
        (self.run)(name, &values)
            .map(ScopedJson::Derived)
            .map_err(|msg| RenderErrorReason::Other(msg).into())
    }
}

/// `and`/`or` decided by an argument before an undefined one, as a guard:
/// `(and (defined peer) peer.up)` is false, not an error, when `peer` is
/// undefined. (Handlebars evaluates nested sub-expressions first, so only a
/// plain variable can be guarded this way.)
fn short_circuit(h: &Helper<'_>, name: &str) -> Option<bool> {
    let stop_at = match name {
        "and" => false,
        "or" => true,
        _ => return None,
    };
    for p in h.params() {
        if p.is_value_missing() {
            return None;
        }
        if truthy(p.value()) == stop_at {
            return Some(stop_at);
        }
    }
    None
}

/// `default VALUE FALLBACK`: FALLBACK when VALUE is undefined or null.
struct Default;

impl HelperDef for Default {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let (Some(value), Some(fallback)) = (h.param(0), h.param(1)) else {
            return Err(RenderErrorReason::Other(
                "helper `default` takes 2 arguments: (default VALUE FALLBACK)".into(),
            )
            .into());
        };
        if fallback.is_value_missing() {
            return Err(
                RenderErrorReason::MissingVariable(fallback.relative_path().cloned()).into(),
            );
        }
        let chosen = if value.is_value_missing() || value.value().is_null() {
            fallback.value().clone()
        } else {
            value.value().clone()
        };
        Ok(ScopedJson::Derived(chosen))
    }
}

/// `defined NAME`: whether a variable exists (never an error).
struct Defined;

impl HelperDef for Defined {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let defined = h.param(0).is_some_and(|p| !p.is_value_missing());
        Ok(ScopedJson::Derived(Value::Bool(defined)))
    }
}

/// Python's `bool(v)`: empty and zero values are false, every other string
/// (`"false"` too) is true.
pub fn python_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Lenient truthiness: null, false, 0, empty strings, lists and mappings are
/// false, and so are the strings "false", "no", "off" and "0".
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => {
            let s = s.trim();
            !(s.is_empty()
                || s.eq_ignore_ascii_case("false")
                || s.eq_ignore_ascii_case("no")
                || s.eq_ignore_ascii_case("off")
                || s == "0")
        }
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(_) | Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Equality that treats `5` and `"5"` as equal when one side is a number:
/// `-e` values always arrive as strings.
fn loose_eq(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            matches!((as_number(a), as_number(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

fn compare(name: &str, a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
        if matches!(a, Value::Number(_))
            || matches!(b, Value::Number(_))
            || (a.is_string() && b.is_string() && !a.as_str().unwrap_or_default().is_empty())
        {
            return x
                .partial_cmp(&y)
                .ok_or_else(|| format!("`{name}` cannot compare NaN"));
        }
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => Err(format!(
            "`{name}` compares numbers or strings, got {a} and {b}"
        )),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn h_eq(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(loose_eq(&p[0], &p[1])))
}
fn h_ne(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(!loose_eq(&p[0], &p[1])))
}
fn h_cmp(name: &str, p: &[Value]) -> Result<Value, String> {
    use std::cmp::Ordering::*;
    let ord = compare(name, &p[0], &p[1])?;
    Ok(Value::Bool(match name {
        "gt" => ord == Greater,
        "gte" => ord != Less,
        "lt" => ord == Less,
        _ => ord != Greater,
    }))
}
fn h_and(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(p.iter().all(truthy)))
}
fn h_or(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(p.iter().any(truthy)))
}
fn h_not(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(!truthy(&p[0])))
}
fn h_bool(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::Bool(truthy(&p[0])))
}
fn h_join(_: &str, p: &[Value]) -> Result<Value, String> {
    let sep = p.get(1).map_or_else(|| ",".to_string(), text);
    match &p[0] {
        Value::Array(items) => Ok(Value::String(
            items.iter().map(text).collect::<Vec<_>>().join(&sep),
        )),
        other => Ok(Value::String(text(other))),
    }
}
fn h_quote(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(crate::shell::quote(&text(&p[0]))))
}
fn h_to_json(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(p[0].to_string()))
}
/// Parses JSON text (e.g. a command's stdout) into a value, as Ansible's
/// `from_json` filter does; `"{{ from_json r.stdout }}"` keeps the structure.
fn h_from_json(_: &str, p: &[Value]) -> Result<Value, String> {
    let text = text(&p[0]);
    serde_json::from_str(&text).map_err(|e| {
        let shown: String = text.chars().take(80).collect();
        format!("`from_json`: not JSON ({e}): {shown:?}")
    })
}
fn h_contains(_: &str, p: &[Value]) -> Result<Value, String> {
    let found = match &p[0] {
        Value::String(s) => s.contains(&text(&p[1])),
        Value::Array(items) => items.iter().any(|i| loose_eq(i, &p[1])),
        Value::Object(map) => map.contains_key(&text(&p[1])),
        _ => false,
    };
    Ok(Value::Bool(found))
}
fn h_trim(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(text(&p[0]).trim().to_string()))
}
fn h_lower(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(text(&p[0]).to_lowercase()))
}
fn h_upper(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(text(&p[0]).to_uppercase()))
}
fn h_int(_: &str, p: &[Value]) -> Result<Value, String> {
    as_number(&p[0])
        .map(|f| Value::from(f as i64))
        .ok_or_else(|| format!("`int` cannot make a number of {}", p[0]))
}
fn h_split(_: &str, p: &[Value]) -> Result<Value, String> {
    let sep = p.get(1).map_or_else(|| " ".to_string(), text);
    let s = text(&p[0]);
    let parts: Vec<Value> = if sep == " " {
        s.split_whitespace()
            .map(|x| Value::String(x.into()))
            .collect()
    } else {
        s.split(sep.as_str())
            .map(|x| Value::String(x.into()))
            .collect()
    };
    Ok(Value::Array(parts))
}
fn h_replace(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(
        text(&p[0]).replace(&text(&p[1]), &text(&p[2])),
    ))
}
fn h_basename(_: &str, p: &[Value]) -> Result<Value, String> {
    let s = text(&p[0]);
    Ok(Value::String(
        s.rsplit('/').next().unwrap_or_default().to_string(),
    ))
}
fn h_dirname(_: &str, p: &[Value]) -> Result<Value, String> {
    let s = text(&p[0]);
    Ok(Value::String(
        s.rsplit_once('/').map_or("", |(d, _)| d).to_string(),
    ))
}
fn h_first(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(p[0]
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or(Value::Null))
}
fn h_last(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(p[0]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or(Value::Null))
}
fn h_concat(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(p.iter().map(text).collect()))
}
fn h_regex_match(_: &str, p: &[Value]) -> Result<Value, String> {
    let re =
        regex::Regex::new(&text(&p[1])).map_err(|e| format!("`regex_match`: bad pattern: {e}"))?;
    Ok(Value::Bool(re.is_match(&text(&p[0]))))
}
fn h_len(_: &str, p: &[Value]) -> Result<Value, String> {
    let n = match &p[0] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        Value::Null => 0,
        other => {
            return Err(format!(
                "`len` needs a list, mapping or string, got {other}"
            ))
        }
    };
    Ok(Value::from(n))
}
/// Renders its argument as JSON text; used to get native values out of `{{ }}`.
fn h_native(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(p[0].to_string()))
}
/// "1" or "0"; used to evaluate conditions.
fn h_truthy(_: &str, p: &[Value]) -> Result<Value, String> {
    Ok(Value::String(if truthy(&p[0]) { "1" } else { "0" }.into()))
}

/// Names a user may call, for documentation and did-you-mean.
pub const HELPER_NAMES: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "bool",
    "default",
    "defined",
    "join",
    "quote",
    "to_json",
    "from_json",
    "contains",
    "trim",
    "lower",
    "upper",
    "int",
    "split",
    "replace",
    "basename",
    "dirname",
    "first",
    "last",
    "concat",
    "regex_match",
    "len",
];

pub const NATIVE_HELPER: &str = "__baton_native";
pub const TRUTHY_HELPER: &str = "__baton_truthy";

pub fn register(hb: &mut Handlebars<'static>) {
    let strict: &[(&str, usize, usize, HelperFn)] = &[
        ("eq", 2, 2, h_eq),
        ("ne", 2, 2, h_ne),
        ("gt", 2, 2, h_cmp),
        ("gte", 2, 2, h_cmp),
        ("lt", 2, 2, h_cmp),
        ("lte", 2, 2, h_cmp),
        ("and", 1, usize::MAX, h_and),
        ("or", 1, usize::MAX, h_or),
        ("not", 1, 1, h_not),
        ("bool", 1, 1, h_bool),
        ("join", 1, 2, h_join),
        ("quote", 1, 1, h_quote),
        ("to_json", 1, 1, h_to_json),
        ("from_json", 1, 1, h_from_json),
        ("contains", 2, 2, h_contains),
        ("trim", 1, 1, h_trim),
        ("lower", 1, 1, h_lower),
        ("upper", 1, 1, h_upper),
        ("int", 1, 1, h_int),
        ("split", 1, 2, h_split),
        ("replace", 3, 3, h_replace),
        ("basename", 1, 1, h_basename),
        ("dirname", 1, 1, h_dirname),
        ("first", 1, 1, h_first),
        ("last", 1, 1, h_last),
        ("concat", 1, usize::MAX, h_concat),
        ("regex_match", 2, 2, h_regex_match),
        ("len", 1, 1, h_len),
        (NATIVE_HELPER, 1, 1, h_native),
        (TRUTHY_HELPER, 1, 1, h_truthy),
    ];
    for (name, min, max, run) in strict {
        hb.register_helper(
            name,
            Box::new(Strict {
                min: *min,
                max: *max,
                run: *run,
            }),
        );
    }
    hb.register_helper("default", Box::new(Default));
    hb.register_helper("defined", Box::new(Defined));
}

/// `#if` / `#unless` that refuse an undefined variable instead of treating it
/// as false; `(defined x)` is the explicit way to test for one.
struct StrictIf {
    negate: bool,
}

impl HelperDef for StrictIf {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn handlebars::Output,
    ) -> handlebars::HelperResult {
        let param = h.param(0).ok_or_else(|| {
            RenderErrorReason::Other(format!("`#{}` needs a condition", h.name()))
        })?;
        if param.is_value_missing() {
            return Err(RenderErrorReason::MissingVariable(param.relative_path().cloned()).into());
        }
        let yes = truthy(param.value()) != self.negate;
        let branch = if yes { h.template() } else { h.inverse() };
        match branch {
            Some(t) => t.render(r, ctx, rc, out),
            None => Ok(()),
        }
    }
}

pub fn register_blocks(hb: &mut Handlebars<'static>) {
    hb.register_helper("if", Box::new(StrictIf { negate: false }));
    hb.register_helper("unless", Box::new(StrictIf { negate: true }));
}
