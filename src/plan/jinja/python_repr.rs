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

/// The environment's formatter: strings as they are, null as nothing, anything
/// else as Python's `str()` of it.
///
/// An undefined value that reaches the output prints as nothing: with strict
/// undefined the only such value is the silent one of an inline `if` without
/// `else` (`{{ ',' if not loop.last }}`), which Jinja2 prints as `''`.
pub fn formatter(out: &mut Output<'_>, _state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    out.write_str(&py_str(value))
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

/// Python's `repr(value)`.
pub fn repr(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&value.to_string()),
        ValueKind::String => quote(value.as_str().unwrap_or_default(), out),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            if let Ok(items) = value.try_iter() {
                // `omit` inside a container is left out (Ansible 2.19).
                let items = items.filter(|v| v.as_str() != Some(super::native::OMIT));
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr(&item, out);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
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
                    repr(&key, out);
                    out.push_str(": ");
                    repr(&item, out);
                }
            }
            out.push('}');
        }
        _ => out.push_str(&value.to_string()),
    }
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
