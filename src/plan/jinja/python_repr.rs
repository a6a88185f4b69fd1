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

use super::native::{non_finite, TooBig};

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
    super::stop::checkpoint()?;
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
            super::native::check_walkable(value, "printing a value")?;
            let mut s = String::new();
            repr_at(value, &mut s, 0, MAX_REPR_BYTES).map_err(|e| e.error("printing a value"))?;
            s
        }
    };
    count_output(text.len())?;
    out.write_str(&text)
        .map_err(|e| Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()))
}

/// The most bytes one `repr` writes: twice the value cap, as for a
/// render's output (the caller's check names what is over the cap). A value that shares
/// one part many times (built in a template loop) is small in memory but
/// doubles in text with each step; the walk stops here, its cost bounded
/// by the cap, not by the value's expanded size.
const MAX_REPR_BYTES: usize = super::native::WALK_BYTES;

/// Python's `str(value)`: a string as is, anything else as its repr. An
/// error when the text would exceed [`MAX_REPR_BYTES`] or the value nests
/// deeper than [`crate::bounds::MAX_VALUE_DEPTH`] ([`TooBig`]).
pub fn py_str(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::String => Ok(value.as_str().unwrap_or_default().to_string()),
        _ => {
            let mut s = String::new();
            repr(value, &mut s)?;
            Ok(s)
        }
    }
}

/// Python's `repr(value)` appended to `out`, refused as [`py_str`] is.
pub fn repr(value: &Value, out: &mut String) -> Result<(), Error> {
    super::native::check_walkable(value, "writing a value as text")?;
    let limit = out.len().saturating_add(MAX_REPR_BYTES);
    repr_at(value, out, 0, limit).map_err(|e| e.error("writing a value as text"))
}

/// `repr` into `out`, failing once `out` passes `limit` bytes: checked at
/// every node, and each node writes at least one byte.
fn repr_at(value: &Value, out: &mut String, depth: usize, limit: usize) -> Result<(), TooBig> {
    if out.len() > limit {
        return Err(TooBig::Large);
    }
    let inner = || {
        if depth >= crate::bounds::MAX_VALUE_DEPTH {
            Err(TooBig::Deep)
        } else {
            Ok(depth + 1)
        }
    };
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => match f64::try_from(value.clone()).ok().and_then(non_finite) {
            Some(text) if value.as_i64().is_none() => out.push_str(text),
            // Python's repr(float): exponent from 1e16 and below 1e-4
            // (minijinja writes `10000000000000000.0`)
            _ if !value.is_integer() => match f64::try_from(value.clone()) {
                Ok(f) => out.push_str(&crate::pyformat::py_float(f)),
                Err(_) => out.push_str(&value.to_string()),
            },
            _ => out.push_str(&value.to_string()),
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            if out.len().saturating_add(s.len()) > limit {
                return Err(TooBig::Large);
            }
            quote(s, out)
        }
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
                    repr_at(&item, out, depth, limit)?;
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
                    repr_at(&key, out, depth, limit)?;
                    out.push_str(": ");
                    repr_at(&item, out, depth, limit)?;
                }
            }
            out.push('}');
        }
        _ => {
            // a value of another kind (a datetime, a namespace) prints
            // through its own Display, which may walk what it holds
            let text = value.to_string();
            if out.len().saturating_add(text.len()) > limit {
                return Err(TooBig::Large);
            }
            out.push_str(&text)
        }
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
            py_str(&v).unwrap(),
            r#"{'k': 'v', 'l': ['a', 1, True, None, 1.5], 'q': "it's"}"#
        );
        assert_eq!(py_str(&Value::from(true)).unwrap(), "True");
        assert_eq!(py_str(&Value::from(())).unwrap(), "None");
        assert_eq!(py_str(&Value::from("plain")).unwrap(), "plain");
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
        // error, not a stack overflow; so is `py_str` of it.
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
        let err = py_str(&v).unwrap_err();
        assert!(err.to_string().contains("more than 256 deep"), "{err}");
    }

    /// A mapping that holds the same part twice, 40 times over: 2^40
    /// leaves written out, a few hundred bytes in memory. Every walk that
    /// writes it stops at the value cap, fast.
    fn shared_dag(levels: usize) -> Value {
        let mut v = Value::from("x");
        for _ in 0..levels {
            let mut m = std::collections::BTreeMap::new();
            m.insert("a", v.clone());
            m.insert("b", v);
            v = Value::from(m);
        }
        v
    }

    #[test]
    fn a_value_that_shares_its_parts_is_refused_at_the_cap_not_expanded() {
        let started = std::time::Instant::now();
        let v = shared_dag(40);
        let err = py_str(&v).unwrap_err();
        assert!(err.to_string().contains("16 MiB limit"), "{err}");
        // (`~` and `%` are rewritten by the templater: see tests/value_cap.rs)
        let env = crate::plan::jinja::env::environment();
        let dag = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = {'a': ns.s, 'b': ns.s} %}{% endfor %}";
        for tail in [
            "{{ ns.s }}",
            "{{ ns.s | string }}",
            "{{ ns.s | tojson }}",
            "{{ ns.s | to_json }}",
            "{{ ns.s | to_nice_json }}",
            "{{ ns.s | to_yaml }}",
            "{{ ns.s | pprint }}",
            "{{ ns.s | hash('sha1') }}",
        ] {
            let err = env.render_str(&format!("{dag}{tail}"), ()).unwrap_err();
            let d = err.detail().unwrap_or_default();
            assert!(d.contains("16 MiB limit"), "{tail}: {err}");
        }
        // a shared value that fits still prints in full
        let small = shared_dag(3);
        assert_eq!(py_str(&small).unwrap().matches("'x'").count(), 8);
        // the whole test, debug build included, in well under the time the
        // expanded walks took (2^40 leaves never finish)
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
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

    #[test]
    fn floats_print_as_python_repr_prints_them() {
        // trial case 144 (`{{ 1e16 }}` was 10000000000000000.0); each
        // expected text is python3's repr() of the same expression
        for (expr, python) in [
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("123456789012345678.0", "1.2345678901234568e+17"),
            ("1e-4", "0.0001"),
            ("1e-5", "1e-05"),
            ("0.0001234", "0.0001234"),
            ("-1e16", "-1e+16"),
            ("-0.0", "-0.0"),
            ("0.1", "0.1"),
            ("1/3", "0.3333333333333333"),
            ("2.5e-300", "2.5e-300"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
            ("9999999999999998.0", "9999999999999998.0"),
            ("1e22", "1e+22"),
            ("1.5", "1.5"),
            ("100.0", "100.0"),
            ("12345.678", "12345.678"),
            ("0.000099", "9.9e-05"),
            ("2**53*1.0", "9007199254740992.0"),
            ("1e100", "1e+100"),
            ("-1.5e-7", "-1.5e-07"),
            ("3.14159e15", "3141590000000000.0"),
        ] {
            assert_eq!(super::super::eval_py(expr), python, "{expr}");
            assert_eq!(
                super::super::eval_py(&format!("[{expr}]")),
                format!("[{python}]"),
                "{expr}"
            );
        }
    }
}
