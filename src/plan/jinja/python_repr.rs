//! How a value prints inside a string: as Ansible (Python) prints it.
//!
//! `{{ flag }}` in `"x={{ flag }}"` gives `x=True`, a list gives `['a', 1]`, a
//! mapping `{'k': 'v'}` (Python's `str()`/`repr()`; Ansible's templar does
//! the same). A null printed on its own inside a string is empty (`"none={{ n
//! }}"` gives `none=`, as Ansible 2.19's finalizer does); inside a list or
//! mapping it is `None`. A lone `{{ n }}` is not printed: it keeps its type
//! (null), see [`super::native`].

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, Output, State};

use super::native::{non_finite, TooDeep};

/// The environment's formatter: strings as they are, null as nothing, anything
/// else as Python's `str()` of it.
///
/// An undefined value that reaches the output prints as nothing: with strict
/// undefined the only such value is the silent one of an inline `if` without
/// `else` (`{{ ',' if not loop.last }}`), which Jinja2 prints as `''`.
/// How many `{{ }}` outputs this thread has formatted: a render that
/// formatted none and wrote nothing output nothing at all (see
/// [`crate::plan::template`]: Ansible 2.19 makes that None).
pub fn outputs_formatted() -> u64 {
    FORMATTED.with(std::cell::Cell::get)
}

thread_local! {
    static FORMATTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Bytes the `{{ }}` outputs of the render running on this thread wrote.
    static WRITTEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts the bytes the `{{ }}` outputs of one render write, so that output
/// accumulated in a loop (`{% for %}{{ 'x' * 16000000 }}{% endfor %}`) is
/// refused once past [`super::limit::MAX_VALUE_BYTES`], before it is
/// allocated, not after the whole render. Renders nest (a lazily rendered
/// variable, `lookup('template')`): each counts its own output, and the
/// outer count is restored when the inner render ends.
pub struct OutputBudget(usize);

impl OutputBudget {
    pub fn start() -> OutputBudget {
        OutputBudget(WRITTEN.with(|w| w.replace(0)))
    }
}

impl Drop for OutputBudget {
    fn drop(&mut self) {
        WRITTEN.with(|w| w.set(self.0));
    }
}

/// Past this many bytes of output a render stops (twice the value cap): a
/// render that ends just over the cap is still refused after it, by the
/// caller's check that names the variable or template; one that would go on
/// for gigabytes stops here, holding at most this much.
const MAX_OUTPUT_BYTES: usize = 2 * super::limit::MAX_VALUE_BYTES;

/// Add `bytes` to this render's output, refusing a total past
/// [`MAX_OUTPUT_BYTES`].
fn count_output(bytes: usize) -> Result<(), Error> {
    let total = WRITTEN.with(std::cell::Cell::get).saturating_add(bytes);
    if total > MAX_OUTPUT_BYTES {
        return Err(super::limit::too_large(total, "the rendered text"));
    }
    WRITTEN.with(|w| w.set(total));
    Ok(())
}

pub fn formatter(out: &mut Output<'_>, _state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    FORMATTED.with(|n| n.set(n.get().wrapping_add(1)));
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    // a lower bound first (`size` stops counting past the value cap): a
    // value too big to print is never printed
    if value.kind() != ValueKind::String {
        super::limit::check(super::limit::size(value), "printing a value")?;
    }
    let before = WRITTEN.with(std::cell::Cell::get);
    count_output(super::limit::size(value))?;
    WRITTEN.with(|w| w.set(before));
    let text = match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => {
            let mut s = String::new();
            repr_at(value, &mut s, 0)
                .map_err(|e| Error::new(minijinja::ErrorKind::InvalidOperation, e.message()))?;
            s
        }
    };
    count_output(text.len())?;
    out.write_str(&text)
        .map_err(|e| Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// Python's `str(value)`: a string as is, anything else as its repr.
pub fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => {
            let mut s = String::new();
            repr(value, &mut s);
            s
        }
    }
}

/// Python's `repr(value)`. Lists and mappings nested more than
/// [`crate::bounds::MAX_VALUE_DEPTH`] deep are cut, shown as `...` (the
/// environment's formatter refuses them instead): a value built in a
/// template loop can be deeper than the stack allows to walk.
pub fn repr(value: &Value, out: &mut String) {
    if repr_at(value, out, 0).is_err() {
        out.push_str("...");
    }
}

fn repr_at(value: &Value, out: &mut String, depth: usize) -> Result<(), TooDeep> {
    let inner = || {
        if depth >= crate::bounds::MAX_VALUE_DEPTH {
            Err(TooDeep)
        } else {
            Ok(depth + 1)
        }
    };
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => match f64::try_from(value.clone()).ok().and_then(non_finite) {
            Some(text) if value.as_i64().is_none() => out.push_str(text),
            _ => out.push_str(&value.to_string()),
        },
        ValueKind::String => quote(value.as_str().unwrap_or_default(), out),
        ValueKind::Seq | ValueKind::Iterable => {
            let depth = inner()?;
            out.push('[');
            if let Ok(items) = value.try_iter() {
                // `omit` inside a container is left out (Ansible 2.19).
                let items = items.filter(|v| v.as_str() != Some(super::native::OMIT));
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr_at(&item, out, depth)?;
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            let depth = inner()?;
            out.push('{');
            if let Ok(keys) = value.try_iter() {
                let entries = keys
                    .map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        (k, v)
                    })
                    .filter(|(_, v)| v.as_str() != Some(super::native::OMIT));
                for (i, (key, item)) in entries.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr_at(&key, out, depth)?;
                    out.push_str(": ");
                    repr_at(&item, out, depth)?;
                }
            }
            out.push('}');
        }
        _ => out.push_str(&value.to_string()),
    }
    Ok(())
}

/// A Python string literal: single quotes unless the text has one and no double quote.
fn quote(s: &str, out: &mut String) {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_python() {
        let v =
            Value::from_serialize(json!({"k": "v", "l": ["a", 1, true, null, 1.5], "q": "it's"}));
        assert_eq!(
            py_str(&v),
            r#"{'k': 'v', 'l': ['a', 1, True, None, 1.5], 'q': "it's"}"#
        );
        assert_eq!(py_str(&Value::from(true)), "True");
        assert_eq!(py_str(&Value::from(())), "None");
        assert_eq!(py_str(&Value::from("plain")), "plain");
    }

    #[test]
    fn non_finite_floats_print_as_python_and_deep_values_do_not_overflow() {
        let env = crate::plan::jinja::env::environment();
        let out = env
            .render_str(
                "{{ 'nan'|float }} {{ 'inf'|float }} {{ -('inf'|float) }} {{ ['nan'|float] }} {{ 2.5 }}",
                (),
            )
            .unwrap();
        assert_eq!(out, "nan inf -inf [nan] 2.5");
        // A list built 5,000 deep in a template loop: printing it is an
        // error, not a stack overflow; `py_str` cuts it.
        let deep = "{% set ns = namespace(x=1) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}";
        let err = env
            .render_str(&format!("{deep}{{{{ ns.x }}}}"), ())
            .unwrap_err();
        assert!(
            err.detail()
                .unwrap_or_default()
                .contains("more than 256 deep"),
            "{err}"
        );
        let mut v = Value::from(1);
        for _ in 0..5_000 {
            v = Value::from(vec![v]);
        }
        let text = py_str(&v);
        assert!(text.starts_with("[[[") && text.ends_with("[..."), "cut");
        assert_eq!(text.matches('[').count(), crate::bounds::MAX_VALUE_DEPTH);
    }

    #[test]
    fn a_null_prints_empty_in_text_but_none_inside_a_list() {
        let env = crate::plan::jinja::env::environment();
        let ctx = minijinja::context! { n => Value::from(()), l => vec![Value::from(()), Value::from(1)] };
        let out = env.render_str("none={{ n }} l={{ l }}", ctx).unwrap();
        assert_eq!(out, "none= l=[None, 1]");
    }

    #[test]
    fn an_inline_if_without_else_prints_nothing() {
        let env = crate::plan::jinja::env::environment();
        let out = env
            .render_str("[{{ 'x' if false }}]", minijinja::context! {})
            .unwrap();
        assert_eq!(out, "[]");
        let out = env
            .render_str(
                "{% for i in [1, 2, 3] %}{{ i }}{{ ',' if not loop.last }}{% endfor %}",
                minijinja::context! {},
            )
            .unwrap();
        assert_eq!(out, "1,2,3");
        // A really undefined variable is still an error (strict undefined).
        assert!(env
            .render_str("[{{ nope }}]", minijinja::context! {})
            .is_err());
    }
}
