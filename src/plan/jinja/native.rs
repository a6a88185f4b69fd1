//! Ansible's typing rule and the bridge between minijinja values and JSON.
//!
//! A string that is exactly one `{{ expression }}` keeps the expression's
//! type: a list stays a list, a number a number. One trailing newline does
//! not count (`"{{ x }}\n"`, a YAML `|` or `>` block of one expression),
//! since Jinja's lexer drops it before Ansible 2.19 looks at the template;
//! anything else around it (a space, a second newline) makes a string. A
//! string result gets the newline back (the caller appends the template's
//! trailing newlines, as Ansible's `_post_render_mutation`).
//! Source: ansible-core 2.19's templar (native types for a lone expression)
//! and Jinja2's `keep_trailing_newline=False`.

use minijinja::value::{Value, ValueKind};
use serde_json::{Map, Value as Json};

/// The value of `omit`. An argument (or `vars` entry) whose value is exactly
/// this string is dropped, as Ansible does with its omit placeholder.
pub const OMIT: &str = "__omit_place_holder__baton";

/// The expression inside a string that is exactly `{{ expr }}` (with optional
/// `-`/`+` whitespace markers, and one trailing newline: `\n`, `\r\n` or
/// `\r`); `None` when there is text around it or more than one block.
pub fn single_expression(text: &str) -> Option<&str> {
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .or_else(|| text.strip_suffix('\r'))
        .unwrap_or(text);
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    // `{{ a }} {{ b }}` also starts and ends with braces: only a text that
    // parses as one expression is one (`{{ {'k': {'d': 1}} }}` is).
    is_one_expression(inner).then_some(inner)
}

/// Whether `expr` is exactly one Jinja expression. Parsed as `{{ expr }}` in
/// template mode: minijinja's standalone expression parser panics on a stray
/// `}}`, so nothing reaches it unless this holds.
pub fn is_one_expression(expr: &str) -> bool {
    use minijinja::machinery::ast::Stmt;
    // too deep to parse safely: not one expression here, and the render
    // path refuses it with its place
    if super::check::depth(expr, Default::default(), true).is_err() {
        return false;
    }
    let wrapped = format!("{{{{ {expr} }}}}");
    match minijinja::machinery::parse(
        &wrapped,
        "<expression>",
        Default::default(),
        Default::default(),
    ) {
        Ok(Stmt::Template(t)) => {
            t.children.len() == 1 && matches!(t.children.first(), Some(Stmt::EmitExpr(_)))
        }
        _ => false,
    }
}

/// A minijinja value as JSON, keeping mapping order. Undefined becomes null
/// (callers reject undefined before converting). `omit` inside a list or a
/// mapping is left out, at any depth (`{{ [1, omit, 2] }}` is `[1, 2]`), as
/// Ansible 2.19 does with rendered containers; `omit` alone stays, for the
/// caller to drop the argument. A float that is not finite (`'nan' | float`)
/// becomes the text Python prints for it (`nan`, `inf`, `-inf`): JSON has
/// no number for it, and null would lose it.
///
/// Unbounded: for values known to be plain data (variables that came from
/// YAML or JSON, not built inside a render). A value built in a render goes
/// through [`to_json_bounded`] or [`to_json_capped`].
pub fn to_json(value: &Value) -> Json {
    let mut left = usize::MAX;
    convert(value, 0, usize::MAX, &mut left).unwrap_or(Json::Null)
}

/// Why a value built in a render cannot be converted or printed.
#[derive(Debug, PartialEq)]
pub enum TooBig {
    /// Lists and mappings nest deeper than [`crate::bounds::MAX_VALUE_DEPTH`].
    Deep,
    /// Written out, it takes more than [`super::limit::MAX_VALUE_BYTES`].
    /// A value built in a template loop can share one part many times
    /// (`{'a': x, 'b': x}`): small in memory, it doubles in size with each
    /// step once written out, so every walk that writes it counts its bytes
    /// and stops at the cap, its cost bounded by the cap.
    Large,
    /// A stop request (Ctrl-C, SIGTERM, SIGHUP) came during the render
    /// this walk belongs to ([`super::stop`]): a walk of a large value is
    /// cut at its next part, not finished.
    Stopped,
}

impl TooBig {
    /// The sentence for an error message.
    pub fn message(&self) -> String {
        match self {
            TooBig::Deep => format!(
                "the value is nested more than {} deep (lists and mappings inside each other), the most baton keeps; \
                 a value that wraps itself once per task, loop or variable grows without end",
                crate::bounds::MAX_VALUE_DEPTH
            ),
            TooBig::Large => format!(
                "the value written out takes more than {} bytes, twice baton's 16 MiB limit for one value \
                 (a value that holds the same part many times, such as `{{'a': x, 'b': x}}` built in a loop, \
                 doubles with each step); build large data outside templates (ship a file with \
                 `copy`/`template`, or loop over items in tasks)",
                WALK_BYTES
            ),
            TooBig::Stopped => super::stop::cut_short().to_string(),
        }
    }

    /// As a template error, `what` (`tojson`, `printing a value`) first.
    pub fn error(&self, what: &str) -> minijinja::Error {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("{what}: {}", self.message()),
        )
    }
}

/// The most bytes a walk that converts or prints a value goes through:
/// twice the value cap, as for a render's output
/// ([`super::python_repr`]). A value just over the cap is still refused
/// after the walk, by the caller's check that names the variable, argument
/// or template; one that would go on for gigabytes stops here.
pub const WALK_BYTES: usize = 2 * super::limit::MAX_VALUE_BYTES;

/// [`to_json`] for a rendered value: refused when lists and mappings nest
/// more than [`crate::bounds::MAX_VALUE_DEPTH`] deep, or when written out
/// it takes more than [`super::limit::MAX_VALUE_BYTES`] (counted as it is
/// converted, so a value that shares one part many times is refused after
/// at most that many bytes of work, not after its whole expanded size).
/// Deeper values would overflow the stack wherever they are later walked:
/// printed, serialised, merged, dropped.
pub fn to_json_bounded(value: &Value) -> Result<Json, TooBig> {
    check_size(value)?;
    let mut left = WALK_BYTES;
    convert(value, 0, crate::bounds::MAX_VALUE_DEPTH, &mut left)
}

/// [`to_json_bounded`] inside a render (a filter): the error names `what`.
pub fn to_json_capped(value: &Value, what: &str) -> Result<Json, minijinja::Error> {
    to_json_bounded(value).map_err(|e| e.error(what))
}

/// Whether `value` written out fits the cap and the depth bound, for code
/// about to convert or print it, or to hand it to a walk that has no bound
/// of its own (minijinja's `tojson`, `pprint`, `~`).
///
/// A list or mapping met again (the same one, shared) is counted from
/// memory, not walked again, so a value that holds one part many times is
/// measured in time linear in its size in memory, and refused at once
/// when written out it would pass the cap ([`TooBig`]).
pub fn check_walkable(value: &Value, what: &str) -> Result<(), minijinja::Error> {
    check_size(value).map_err(|e| e.error(what))
}

/// [`check_walkable`] as a [`TooBig`].
pub fn check_size(value: &Value) -> Result<(), TooBig> {
    if super::stop::stop_seen() {
        return Err(TooBig::Stopped);
    }
    if !matches!(
        value.kind(),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map
    ) {
        return Ok(());
    }
    let mut left = WALK_BYTES;
    let mut seen = std::collections::HashMap::new();
    walk_size(value, 0, &mut left, &mut seen)
}

/// The bytes `value` takes by [`crate::plan::vars::value_bytes`]'s measure
/// (strings by length, keys by length, other scalars 8, collections the sum
/// of their parts plus a slot per item or entry, as JSON would hold them),
/// without converting it, and whether `omit` is inside a
/// list or mapping (conversion would drop it). A list or mapping met again
/// (the same one, shared: `[v, v]`) is counted from memory, so a value
/// that holds one part many times is measured in time linear in its size
/// in memory. The sum saturates.
///
/// Errors: as [`check_size`] (run first: it bounds the depth and the
/// walk of parts that are not shared lists or mappings).
pub fn measure(value: &Value) -> Result<(usize, bool), TooBig> {
    check_size(value)?;
    let mut seen = std::collections::HashMap::new();
    Ok(measure_walk(value, &mut seen))
}

fn measure_walk(
    value: &Value,
    seen: &mut std::collections::HashMap<usize, (usize, bool)>,
) -> (usize, bool) {
    match value.kind() {
        ValueKind::String => return (value.as_str().map_or(0, str::len), false),
        ValueKind::Bytes => return (value.as_bytes().map_or(0, <[u8]>::len), false),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => {}
        _ => return (8, false),
    }
    let id = identity(value);
    if let Some(known) = id.and_then(|id| seen.get(&id)) {
        return *known;
    }
    let is_map = value.kind() == ValueKind::Map;
    let (mut total, mut omit) = (0usize, false);
    use crate::plan::vars::{ENTRY_SLOT_BYTES, ITEM_SLOT_BYTES};
    if let Some(list) = as_list(value) {
        for item in list {
            let (b, o) = measure_walk(item, seen);
            omit |= o || is_omit(item);
            total = total.saturating_add(b).saturating_add(ITEM_SLOT_BYTES);
        }
    } else if let Ok(items) = value.try_iter() {
        for item in items {
            let part = if is_map {
                let v = value.get_item(&item).unwrap_or_default();
                let key = item.as_str().map_or(8, str::len);
                let (b, o) = measure_walk(&v, seen);
                omit |= o || is_omit(&v);
                key.saturating_add(b).saturating_add(ENTRY_SLOT_BYTES)
            } else {
                let (b, o) = measure_walk(&item, seen);
                omit |= o || is_omit(&item);
                b.saturating_add(ITEM_SLOT_BYTES)
            };
            total = total.saturating_add(part);
        }
    }
    if let Some(id) = id {
        seen.insert(id, (total, omit));
    }
    (total, omit)
}

/// The address of the list or mapping behind `value`, the same for every
/// copy of it (minijinja values share their contents). `None` for other
/// kinds of objects: they are walked without memory, on the byte budget.
fn identity(value: &Value) -> Option<usize> {
    if let Some(m) = value.downcast_object_ref::<indexmap::IndexMap<Value, Value>>() {
        return Some(std::ptr::from_ref(m) as usize);
    }
    value
        .downcast_object_ref::<Vec<Value>>()
        .map(|l| std::ptr::from_ref(l) as usize)
}

/// The items of a plain list (a template list, or one made from JSON),
/// read in place: iterating it through minijinja's object protocol makes
/// each item by index, several times the cost, which a walk of millions
/// of items (a list doubled in a loop, measured at the cap) pays in full.
fn as_list(value: &Value) -> Option<&[Value]> {
    value.downcast_object_ref::<Vec<Value>>().map(Vec::as_slice)
}

/// Python's text for a float that is not finite.
pub fn non_finite(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("nan")
    } else if f.is_infinite() {
        Some(if f > 0.0 { "inf" } else { "-inf" })
    } else {
        None
    }
}

/// The fewest bytes `value` itself (not its items) writes out as: a string
/// its bytes and quotes, a container its brackets, anything else 1. At
/// least 1, so a walk charging it visits at most as many nodes as the
/// budget has bytes.
fn own_bytes(value: &Value) -> usize {
    match value.kind() {
        ValueKind::String => value.as_str().map_or(0, str::len) + 2,
        ValueKind::Bytes => value.as_bytes().map_or(0, <[u8]>::len) + 3,
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => 2,
        ValueKind::Bool | ValueKind::None | ValueKind::Undefined => 4,
        _ => 1,
    }
}

/// Take `bytes` from the budget `left`. Every walk that converts, prints
/// or measures a value charges each part here, so this is also where a
/// stop request cuts it.
///
/// The stop request is looked for at each 64 KiB of the budget (and when
/// a walk begins, [`check_size`]): looked for at every part, its
/// thread-local read was an eighth of a walk over millions of small parts.
fn charge(left: &mut usize, bytes: usize) -> Result<(), TooBig> {
    let after = left.checked_sub(bytes);
    if after.is_none_or(|after| (*left ^ after) >> 16 != 0) && super::stop::stop_seen() {
        return Err(TooBig::Stopped);
    }
    *left = after.ok_or(TooBig::Large)?;
    Ok(())
}

/// Count the bytes `value` writes out as against `left` (separators 2 per
/// item, and 2 more per mapping entry), without building anything. `seen`
/// holds the bytes of each list or mapping already counted, by address.
fn walk_size(
    value: &Value,
    depth: usize,
    left: &mut usize,
    seen: &mut std::collections::HashMap<usize, usize>,
) -> Result<(), TooBig> {
    charge(left, own_bytes(value))?;
    if !matches!(
        value.kind(),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map
    ) {
        return Ok(());
    }
    if depth >= crate::bounds::MAX_VALUE_DEPTH {
        return Err(TooBig::Deep);
    }
    let id = identity(value);
    if let Some(bytes) = id.and_then(|id| seen.get(&id)) {
        return charge(left, *bytes);
    }
    let before = *left;
    let is_map = value.kind() == ValueKind::Map;
    if let Some(list) = as_list(value) {
        for item in list {
            charge(left, 2)?;
            walk_size(item, depth + 1, left, seen)?;
        }
    } else if let Ok(items) = value.try_iter() {
        for item in items {
            charge(left, 2)?;
            if is_map {
                charge(left, 2)?;
                let v = value.get_item(&item).unwrap_or_default();
                walk_size(&item, depth + 1, left, seen)?;
                walk_size(&v, depth + 1, left, seen)?;
            } else {
                walk_size(&item, depth + 1, left, seen)?;
            }
        }
    }
    if let Some(id) = id {
        seen.insert(id, before - *left);
    }
    Ok(())
}

fn convert(value: &Value, depth: usize, max: usize, left: &mut usize) -> Result<Json, TooBig> {
    charge(left, own_bytes(value))?;
    let inner = || -> Result<usize, TooBig> {
        if depth >= max {
            Err(TooBig::Deep)
        } else {
            Ok(depth + 1)
        }
    };
    Ok(match value.kind() {
        ValueKind::Undefined | ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(value.is_true()),
        ValueKind::Number => {
            // `is_integer` first: as_i64 would also take a whole float
            // (`4 / 2` is 2.0 in Python and stays a float)
            if let Some(i) = value.as_i64().filter(|_| value.is_integer()) {
                Json::from(i)
            } else if let Some(u) = u64::try_from(value.clone())
                .ok()
                .filter(|_| value.is_integer())
            {
                Json::from(u)
            } else if let Some(i) = i128::try_from(value.clone())
                .ok()
                .filter(|_| value.is_integer())
            {
                // beyond JSON's 64-bit integers (`{{ 2 ** 100 }}`): the
                // exact digits as text, never a float that loses them
                Json::String(i.to_string())
            } else if let Ok(f) = f64::try_from(value.clone()) {
                match serde_json::Number::from_f64(f) {
                    Some(n) => Json::Number(n),
                    None => Json::String(non_finite(f).unwrap_or("nan").to_string()),
                }
            } else {
                Json::String(value.to_string())
            }
        }
        ValueKind::String => Json::String(value.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Json::String(String::from_utf8_lossy(value.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let depth = inner()?;
            let mut list = Vec::new();
            if let Some(items) = as_list(value) {
                list.reserve(items.len());
                for item in items.iter().filter(|v| !is_omit(v)) {
                    charge(left, 2)?;
                    list.push(convert(item, depth, max, left)?);
                }
            } else if let Ok(items) = value.try_iter() {
                for item in items.filter(|v| !is_omit(v)) {
                    charge(left, 2)?;
                    list.push(convert(&item, depth, max, left)?);
                }
            }
            Json::Array(list)
        }
        ValueKind::Map => {
            let depth = inner()?;
            let mut map = Map::new();
            if let Ok(keys) = value.try_iter() {
                for key in keys {
                    let item = value.get_item(&key).unwrap_or_default();
                    if is_omit(&item) {
                        continue;
                    }
                    let name = match key.as_str() {
                        Some(s) => s.to_string(),
                        None => key.to_string(),
                    };
                    charge(left, name.len() + 6)?;
                    map.insert(name, convert(&item, depth, max, left)?);
                }
            }
            Json::Object(map)
        }
        _ => Json::String(value.to_string()),
    })
}

fn is_omit(value: &Value) -> bool {
    value.as_str() == Some(OMIT)
}

/// A JSON value as a minijinja value.
pub fn from_json(value: &Json) -> Value {
    Value::from_serialize(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omit_is_left_out_of_rendered_lists_and_mappings_at_any_depth() {
        let env = super::super::env::environment();
        let ev = |e: &str| to_json(&env.compile_expression(e).unwrap().eval(()).unwrap());
        assert_eq!(ev("{'a': 1, 'b': omit}"), json!({"a": 1}));
        assert_eq!(ev("[1, omit, 2]"), json!([1, 2]));
        assert_eq!(
            ev("{'l': [omit, {'x': omit, 'y': 2}]}"),
            json!({"l": [{"y": 2}]})
        );
        assert_eq!(ev("omit"), json!(OMIT));
        // a whole float stays a float (Python: 4 / 2 is 2.0)
        assert_eq!(ev("4 / 2"), json!(2.0));
        assert_eq!(ev("[2.0, 3]"), json!([2.0, 3]));
    }

    #[test]
    fn rendered_values_deeper_than_the_bound_are_refused() {
        let env = super::super::env::environment();
        let nest = |n: usize| {
            let mut v = Value::from(1);
            for _ in 0..n {
                v = Value::from(vec![v]);
            }
            v
        };
        let max = crate::bounds::MAX_VALUE_DEPTH;
        let ok = to_json_bounded(&nest(max)).unwrap();
        assert_eq!(ok.to_string().matches('[').count(), max);
        assert_eq!(to_json_bounded(&nest(max + 1)), Err(TooBig::Deep));
        // Deeper than unbounded conversion walks on a test thread's stack:
        // refused after `max` levels.
        assert_eq!(to_json_bounded(&nest(5_000)), Err(TooBig::Deep));
        assert!(TooBig::Deep.message().contains("more than 256 deep"));
        // A mapping counts as a level too.
        let m = env.compile_expression("{'a': x}").unwrap();
        let v = m.eval(minijinja::context! { x => nest(max) }).unwrap();
        assert_eq!(to_json_bounded(&v), Err(TooBig::Deep));
    }

    #[test]
    fn a_shared_value_is_measured_once_and_refused_past_the_cap() {
        // `{'a': x, 'b': x}` 40 times over: 2^40 leaves written out
        let dag = |levels: usize| {
            let env = super::super::env::environment();
            let src = format!(
                "{{% set ns = namespace(s='x') %}}{{% for i in range({levels}) %}}\
                 {{% set ns.s = {{'a': ns.s, 'b': ns.s}} %}}{{% endfor %}}{{{{ ns.s | type_debug }}}}"
            );
            assert_eq!(env.render_str(&src, ()).unwrap(), "dict");
            let mut v = Value::from("x");
            for _ in 0..levels {
                let mut m = indexmap::IndexMap::new();
                m.insert(Value::from("a"), v.clone());
                m.insert(Value::from("b"), v);
                v = Value::from_object(m);
            }
            v
        };
        let started = std::time::Instant::now();
        assert_eq!(to_json_bounded(&dag(40)), Err(TooBig::Large));
        assert_eq!(check_size(&dag(1000)), Err(TooBig::Deep));
        let e = check_walkable(&dag(64), "tojson").unwrap_err();
        assert!(
            e.to_string()
                .contains("tojson: the value written out takes more than 33554432 bytes"),
            "{e}"
        );
        // memory, not the walk: 40 levels measured at once
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // a shared value that fits converts in full
        let j = to_json_bounded(&dag(10)).unwrap();
        assert_eq!(j.to_string().matches("\"x\"").count(), 1024);
    }

    #[test]
    fn measure_counts_shared_parts_by_their_written_out_bytes_once_each() {
        // [v, v] 20 times over a 16-byte string: 2^20 strings, 16 MiB of
        // text and 2^21 - 2 list slots by `value_bytes`, 21 lists in memory
        let mut v = Value::from("0123456789abcdef");
        for _ in 0..20 {
            v = Value::from(vec![v.clone(), v]);
        }
        let slots = ((2 << 20) - 2) * crate::plan::vars::ITEM_SLOT_BYTES;
        assert_eq!(measure(&v), Ok(((16 << 20) + slots, false)));
        // as `value_bytes` counts the same data in JSON
        let small = Value::from_serialize(json!({"ab": [1, "xyz", null], "c": {"d": true}}));
        let as_json = to_json(&small);
        assert_eq!(
            measure(&small),
            Ok((crate::plan::vars::value_bytes(&as_json), false))
        );
        let slots =
            3 * crate::plan::vars::ENTRY_SLOT_BYTES + 3 * crate::plan::vars::ITEM_SLOT_BYTES;
        assert_eq!(
            measure(&small).map(|m| m.0),
            Ok(2 + 8 + 3 + 8 + 1 + 1 + 8 + slots)
        );
        // `omit` inside is seen (conversion drops it), at any depth
        let omitted = Value::from(vec![Value::from(vec![Value::from(OMIT)])]);
        assert_eq!(
            measure(&omitted),
            Ok((OMIT.len() + 2 * crate::plan::vars::ITEM_SLOT_BYTES, true))
        );
        // one more doubling is past the walk's byte budget: refused as Large
        let over = Value::from(vec![v.clone(), v.clone(), v]);
        assert_eq!(measure(&over), Err(TooBig::Large));
    }

    #[test]
    fn a_stop_request_cuts_a_conversion_or_measure_walk() {
        let v = Value::from(vec![Value::from(vec![1, 2, 3]); 4]);
        {
            let _watch = super::super::stop::RenderWatch::start();
            assert!(to_json_bounded(&v).is_ok());
            super::super::stop::request_stop_on_this_thread();
            assert_eq!(to_json_bounded(&v), Err(TooBig::Stopped));
            assert_eq!(check_size(&v), Err(TooBig::Stopped));
            assert_eq!(measure(&v), Err(TooBig::Stopped));
            assert!(TooBig::Stopped.message().contains("render cut short"));
        }
        // a walk that begins after the request runs normally
        let _watch = super::super::stop::RenderWatch::start();
        assert_eq!(to_json_bounded(&v).map(|j| j[3][2].clone()), Ok(json!(3)));
    }

    #[test]
    fn non_finite_floats_keep_pythons_text_not_null() {
        let env = super::super::env::environment();
        let ev = |e: &str| to_json(&env.compile_expression(e).unwrap().eval(()).unwrap());
        assert_eq!(ev("'nan' | float"), json!("nan"));
        assert_eq!(ev("'inf' | float"), json!("inf"));
        assert_eq!(ev("-('inf' | float)"), json!("-inf"));
        assert_eq!(ev("['nan' | float, 1.5]"), json!(["nan", 1.5]));
    }

    #[test]
    fn integers_beyond_64_bits_keep_every_digit() {
        let env = super::super::env::environment();
        let ev = |e: &str| to_json(&env.compile_expression(e).unwrap().eval(()).unwrap());
        assert_eq!(
            ev("123456789012345678901234567890"),
            json!("123456789012345678901234567890")
        );
        assert_eq!(
            ev("-123456789012345678901234567890 - 1"),
            json!("-123456789012345678901234567891")
        );
        assert_eq!(ev("18446744073709551615"), json!(18446744073709551615u64));
        assert_eq!(ev("[2 ** 64]"), json!(["18446744073709551616"]));
    }

    #[test]
    fn only_a_lone_expression_is_native() {
        assert_eq!(single_expression("{{ x }}"), Some(" x "));
        assert_eq!(single_expression("{{- x -}}"), Some(" x "));
        assert_eq!(single_expression(" {{ x }}"), None);
        // one trailing newline is Jinja's, not text (Ansible 2.19)
        assert_eq!(single_expression("{{ x }}\n"), Some(" x "));
        assert_eq!(single_expression("{{ x }}\r\n"), Some(" x "));
        assert_eq!(single_expression("{{ x }}\n\n"), None);
        assert_eq!(single_expression("\n{{ x }}"), None);
        assert_eq!(single_expression("{{ x }} "), None);
        assert_eq!(single_expression("{{ a }}{{ b }}"), None);
        assert_eq!(single_expression("{{ a }} {% if b %}{% endif %}"), None);
    }

    #[test]
    fn json_round_trip_keeps_order_and_types() {
        let j = json!({"z": 1, "a": [true, null, 1.5, "s"], "m": {"k": "v"}});
        assert_eq!(to_json(&from_json(&j)), j);
        assert_eq!(
            serde_json::to_string(&to_json(&from_json(&j))).unwrap(),
            r#"{"z":1,"a":[true,null,1.5,"s"],"m":{"k":"v"}}"#
        );
    }
}
