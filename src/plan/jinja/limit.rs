//! A byte cap on every value a render produces, checked before the value
//! is allocated.
//!
//! A few bytes of template can ask for gigabytes (`'x' * 10**9`, `[1] *
//! 10**9`, a `replace` or `~` that doubles a string in a loop, `'%1000000000s'
//! % x`, `indent(width=10**9)`); the step budget (fuel) does not see them,
//! as each is one step. So the operators that grow values (`*`, `+`, `~`,
//! rewritten by [`super::rewrite`] into calls of [`super::ops`]) and the
//! filters that do (`replace`, `regex_replace`, `center`, `indent`, `join`,
//! `batch`, `%` formatting, the string methods `replace`/`join`/`format`)
//! compute the size of their result first and refuse one over
//! [`MAX_VALUE_BYTES`].
//!
//! Sizes are lower bounds of the text the value prints as (a string its
//! bytes, a list its items and `, ` separators), so a value refused is at
//! least that large; a list is measured by its length and its first
//! [`VISIT_BUDGET`] items, so measuring costs little even in loops.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

/// The most bytes one value inside a render may take: the cap on a
/// rendered value (16 MiB), one constant for both.
pub use crate::plan::vars::MAX_VALUE_BYTES;

/// Items (at any depth) that [`size`] looks at before it counts the rest at
/// their minimum size.
const VISIT_BUDGET: usize = 4096;

/// The error for a value of `bytes` made by `what` (`'*'`, `replace`...).
pub fn too_large(bytes: usize, what: &str) -> Error {
    let shown = if bytes == usize::MAX {
        "more than 2^64".to_string()
    } else {
        bytes.to_string()
    };
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "{what}: a value of {shown} bytes exceeds baton's 16 MiB limit for one value \
             ({MAX_VALUE_BYTES} bytes); build large data outside templates (ship a file with \
             `copy`/`template`, or loop over items in tasks) instead of one giant value"
        ),
    )
}

/// `Ok` when `bytes` fits the cap, else [`too_large`].
pub fn check(bytes: usize, what: &str) -> Result<(), Error> {
    if bytes > MAX_VALUE_BYTES {
        Err(too_large(bytes, what))
    } else {
        Ok(())
    }
}

/// [`check`] of `a + b` bytes (saturating).
pub fn check_sum(a: usize, b: usize, what: &str) -> Result<(), Error> {
    check(a.saturating_add(b), what)
}

/// [`check`] of `a × n` bytes (saturating).
pub fn check_product(a: usize, n: usize, what: &str) -> Result<(), Error> {
    check(a.saturating_mul(n), what)
}

/// A lower bound of the bytes `v` prints as (saturating; stops counting
/// once over the cap). Unsized iterables count 0: they may be one-shot
/// streams, and measuring must not consume them.
pub fn size(v: &Value) -> usize {
    let mut visits = 0usize;
    size_in(v, &mut visits, 0)
}

fn size_in(v: &Value, visits: &mut usize, depth: usize) -> usize {
    *visits += 1;
    match v.kind() {
        ValueKind::String | ValueKind::Bytes => v
            .as_str()
            .map(str::len)
            .or_else(|| v.as_bytes().map(<[u8]>::len))
            .unwrap_or(0),
        ValueKind::Number if v.is_integer() => match i128::try_from(v.clone()) {
            Ok(i) => {
                i.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 1 + usize::from(i < 0)
            }
            Err(_) => 1,
        },
        ValueKind::Number => 3, // `0.0`, `inf`
        ValueKind::Bool | ValueKind::None => 4,
        ValueKind::Undefined => 0,
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => {
            let is_map = v.kind() == ValueKind::Map;
            // each item prints at least one byte and a separator (`, `, or
            // `: ` and `, ` for an entry)
            let per_item = if is_map { 6 } else { 3 };
            let Some(len) = v.len() else { return 2 };
            // `[` items and separators `]`: 3n bytes at least (2 when empty)
            let floor = len.saturating_mul(per_item).max(2);
            if floor > MAX_VALUE_BYTES || depth > 32 || *visits >= VISIT_BUDGET {
                return floor;
            }
            let Ok(iter) = v.try_iter() else { return floor };
            let mut total = 2usize;
            let mut seen = 0usize;
            for item in iter {
                if total > MAX_VALUE_BYTES || *visits >= VISIT_BUDGET {
                    break;
                }
                let sep = if seen > 0 { 2 } else { 0 };
                seen += 1;
                total = total.saturating_add(size_in(&item, visits, depth + 1) + sep);
                if is_map {
                    let value = v.get_item(&item).unwrap_or_default();
                    total = total.saturating_add(size_in(&value, visits, depth + 1) + 2);
                }
            }
            let rest = len.saturating_sub(seen).saturating_mul(per_item);
            total.saturating_add(rest).max(floor)
        }
        _ => 1,
    }
}

/// minijinja's `indent`, `join`, `batch`, `format`, `tojson` and `pprint`
/// filters, each refused when its result would exceed the cap. Register
/// after the builtins.
///
/// `join`, `format`, `tojson` and `pprint` write their values through
/// minijinja's own walks, which have no bound: a value that shares one part
/// many times (`{'a': x, 'b': x}` built in a loop) is small in memory and
/// exponential written out. Each first walks the value against the cap
/// ([`super::native::check_walkable`]), which stops at the cap.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter(
        "tojson",
        |value: &Value, indent: Option<Value>, kw: Kwargs| -> Result<Value, Error> {
            super::native::check_walkable(value, "tojson")?;
            // minijinja makes the indentation string up front: a huge
            // `indent` is an allocation failure (an abort), not an error
            let width = indent.clone().or(kw.peek::<Option<Value>>("indent")?);
            if let Some(w) = width.filter(|w| w.kind() == minijinja::value::ValueKind::Number) {
                check(usize::try_from(w).unwrap_or(usize::MAX), "tojson")?;
            }
            minijinja::filters::tojson(value, indent, kw)
        },
    );
    env.add_filter("pprint", |value: &Value| -> Result<String, Error> {
        super::native::check_walkable(value, "pprint")?;
        Ok(minijinja::filters::pprint(value))
    });
    env.add_filter(
        "indent",
        |text: minijinja::value::StringInput<'_>,
         width: Option<i64>,
         first: Option<bool>,
         blank: Option<bool>,
         kw: Kwargs|
         -> Result<Value, Error> {
            let w = match width {
                Some(w) => w,
                None => kw.get::<Option<i64>>("width")?.unwrap_or(4),
            };
            // Jinja2 indents with `" " * width`: a negative width is none
            let w = usize::try_from(w).unwrap_or(0);
            let width = Some(w);
            let lines = text.as_str().split('\n').count();
            check_sum(text.as_str().len(), w.saturating_mul(lines), "indent")?;
            minijinja::filters::indent(text, width, first, blank, kw)
        },
    );
    env.add_filter(
        "join",
        |state: &State, value: &Value, joiner: Option<Value>| -> Result<Value, Error> {
            super::native::check_walkable(value, "join")?;
            let sep = joiner.as_ref().map_or(0, size);
            let n = value.len().unwrap_or(0);
            check_sum(
                size(value).saturating_sub(2 * n.max(1)),
                sep.saturating_mul(n.saturating_sub(1)),
                "join",
            )?;
            let joiner = match &joiner {
                Some(j) => Some(minijinja::value::StringInput::new(state, j)?),
                None => None,
            };
            minijinja::filters::join(state, value, joiner)
        },
    );
    // `batch` is filters::batch, which reserves nothing up front
    env.add_filter(
        "slice",
        |state: &State,
         value: Value,
         count: usize,
         fill_with: Option<Value>,
         kw: Kwargs|
         -> Result<Value, Error> {
            // Jinja2 makes exactly `count` slices, empty ones included: each
            // costs at least the two bytes of `[]`.
            check_product(count, 2, "slice")?;
            // the items again, and a list for each slice
            super::grow::charge(
                value.len().unwrap_or(0).saturating_add(count),
                0,
                0,
                "slice",
            )?;
            let fill_with = slice_fill(fill_with, &kw)?;
            minijinja::filters::slice(state, value, count, fill_with)
        },
    );
    env.add_filter(
        "format",
        |state: &State, fmt: &Value, args: Rest<Value>| -> Result<Value, Error> {
            check_format(&fmt.to_string(), &args)?;
            for a in args.iter() {
                super::native::check_walkable(a, "format")?;
            }
            // Jinja2's `format` is Python's `fmt % args`: positional
            // arguments are a tuple, each must be used (`'%s' | format(1, 2)`
            // is `not all arguments converted`, issue 9, trial case 274);
            // keyword arguments (a mapping) stay minijinja's
            if args
                .iter()
                .any(|a| a.kind() == minijinja::value::ValueKind::Map)
            {
                return minijinja::filters::format(state, fmt, args);
            }
            let text = super::python_repr::py_str(fmt)?;
            super::percent::format(&text, &Value::from(args.0), true)
                .map(Value::from)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("format: {}", e.detail().unwrap_or_default()),
                    )
                })
        },
    );
}

/// `slice`'s filler, given by position or as Jinja2's keyword
/// `fill_with=` (`slice(3, fill_with='x')`); `none` means no filler, as
/// Jinja2's default `fill_with=None` does.
fn slice_fill(positional: Option<Value>, kw: &Kwargs) -> Result<Option<Value>, Error> {
    let named: Option<Value> = kw.get("fill_with")?;
    kw.assert_all_used()?;
    if positional.is_some() && named.is_some() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "slice: fill_with given twice, by position and by name",
        ));
    }
    Ok(positional.or(named).filter(|v| !v.is_none()))
}

/// A format string's widths and precisions (`%1000000000s`, `{:>1000000000}`),
/// and integer arguments where a width comes from them (`%*s`, `{:{}}`),
/// must each fit the cap.
pub fn check_format(fmt: &str, args: &[Value]) -> Result<(), Error> {
    let mut in_spec = false;
    let mut takes_width = false;
    let mut number = 0usize;
    for c in fmt.chars().chain(std::iter::once('\0')) {
        if !c.is_ascii_digit() {
            check(number, "format width")?;
        }
        match c {
            '%' | '{' | ':' => {
                if in_spec && c == '{' {
                    takes_width = true;
                }
                in_spec = true;
            }
            '*' if in_spec => takes_width = true,
            '0'..='9' if in_spec => {
                number = number
                    .saturating_mul(10)
                    .saturating_add(c as usize - '0' as usize);
                continue;
            }
            '.' | '<' | '>' | '^' | '+' | '-' | ' ' | '#' | '(' | ')' if in_spec => {}
            _ => in_spec = false,
        }
        number = 0;
    }
    if takes_width {
        for a in args {
            if let Some(n) = a.as_usize() {
                check(n, "format width")?;
            }
        }
    }
    Ok(())
}

/// minijinja-contrib's Python string methods, with `replace`, `join` and
/// `format` refused when their result would exceed the cap.
pub fn unknown_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        if let Some(result) = super::strmethods::call(s, method, args) {
            return result;
        }
        match method {
            "replace" => {
                let arg = |i: usize| args.get(i).and_then(Value::as_str).unwrap_or_default();
                let count = args
                    .get(2)
                    .and_then(|c| c.as_i64())
                    .and_then(|c| usize::try_from(c).ok());
                check(
                    super::filters::replaced_len(s, arg(0), arg(1), count),
                    "replace",
                )?;
            }
            "join" => {
                if let Some(items) = args.first() {
                    let n = items.len().unwrap_or(0);
                    check_sum(
                        size(items).saturating_sub(2 * n.max(1)),
                        s.len().saturating_mul(n.saturating_sub(1)),
                        "join",
                    )?;
                }
            }
            "format" => check_format(s, args)?,
            // Python's str.split('') raises (issue 9, trial case 194)
            "split" | "rsplit" if args.first().and_then(Value::as_str) == Some("") => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{method}: empty separator"),
                ));
            }
            "split" | "rsplit" => {
                let sep = args.first().and_then(Value::as_str);
                let max = args
                    .get(1)
                    .and_then(Value::as_i64)
                    .and_then(|m| usize::try_from(m).ok())
                    .map(|m| m.saturating_add(1));
                super::grow::charge(super::grow::split_count(s, sep, max), 0, s.len(), method)?;
            }
            "splitlines" => super::grow::charge(s.lines().count(), 0, s.len(), method)?,
            _ => {}
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_the_printed_text_at_least() {
        assert_eq!(size(&Value::from("abc")), 3);
        assert_eq!(size(&Value::from(-120)), 4);
        assert_eq!(size(&Value::from(0)), 1);
        // `[1, 22]` is 7 bytes
        assert_eq!(size(&Value::from(vec![1, 22])), 7);
        assert_eq!(size(&Value::from(Vec::<i32>::new())), 2);
        assert!(size(&Value::from(vec!["x".repeat(100); 3])) >= 300);
        // a long list is measured by its length, not item by item
        let long: Vec<i32> = vec![0; 10_000_000];
        assert!(size(&Value::from(long)) > MAX_VALUE_BYTES);
    }

    #[test]
    fn the_error_says_how_large_and_what_to_do() {
        let e = check(MAX_VALUE_BYTES + 1, "'*'").unwrap_err();
        let d = e.detail().unwrap_or_default();
        assert!(
            d.contains("16777217 bytes exceeds baton's 16 MiB limit"),
            "{d}"
        );
        assert!(d.contains("build large data outside templates"), "{d}");
        assert!(check(MAX_VALUE_BYTES, "x").is_ok());
        assert!(check_product(usize::MAX, 2, "x").is_err());
    }

    use super::super::eval_rewritten as eval;

    #[test]
    fn huge_batch_and_slice_sizes_neither_panic_nor_reserve_the_count() {
        // Jinja2: a batch larger than the sequence is the whole sequence.
        assert_eq!(
            eval("range(3) | batch(10**18) | list").as_deref(),
            Ok("[[0, 1, 2]]")
        );
        assert_eq!(eval("[1] | batch(10**9) | list").as_deref(), Ok("[[1]]"));
        assert_eq!(
            eval("range(5) | batch(2) | list").as_deref(),
            Ok("[[0, 1], [2, 3], [4]]")
        );
        // padded up to the count, or exactly `count` slices: refused at the cap
        for expr in [
            "[1] | batch(10**9, 0) | list",
            "range(10) | slice(10**18) | list",
        ] {
            let e = eval(expr).unwrap_err();
            assert!(e.contains("16 MiB limit"), "{expr}: {e}");
        }
        assert_eq!(
            eval("range(4) | slice(2) | list").as_deref(),
            Ok("[[0, 1], [2, 3]]")
        );
    }

    #[test]
    fn slice_takes_fill_with_by_name_as_jinja2_does() {
        // ansible-core 2.19.14 printed these (Jinja2 pads every slice past
        // the ones that got an extra item, all of them when none did)
        assert_eq!(
            eval("[1, 2, 3, 4, 5] | slice(3, fill_with='x') | list").as_deref(),
            Ok(r#"[[1, 2], [3, 4], [5, "x"]]"#)
        );
        assert_eq!(
            eval("[1, 2, 3, 4, 5, 6] | slice(3, fill_with='x') | list").as_deref(),
            Ok(r#"[[1, 2, "x"], [3, 4, "x"], [5, 6, "x"]]"#)
        );
        assert_eq!(
            eval("[1, 2, 3, 4, 5] | slice(3, 0) | list").as_deref(),
            Ok("[[1, 2], [3, 4], [5, 0]]")
        );
        assert_eq!(
            eval("[1, 2, 3, 4, 5] | slice(3, fill_with=none) | list").as_deref(),
            Ok("[[1, 2], [3, 4], [5]]")
        );
        let e = eval("[1] | slice(2, 0, fill_with=1) | list").unwrap_err();
        assert!(e.contains("fill_with given twice"), "{e}");
        assert!(eval("[1] | slice(2, fil_with=1) | list").is_err());
    }

    #[test]
    fn huge_indents_and_widths_are_refused_before_the_text_is_written() {
        for expr in [
            "{'a': [1, [2, [3]]]} | to_nice_json(indent=10**9)",
            "{'a': [1, [2, [3]]]} | to_json(indent=10**9)",
            "{'a': [1, [2, [3]]]} | to_nice_json(10**9)",
            "range(1000) | list | to_json(indent=100000)",
            "range(1000) | list | to_json(separators=['x' * 100000, ':'])",
            "'x' | center(10**9)",
            "'x\ny' | indent(10**9)",
            "'x' * 10**9",
            "'%*d' % (10**9, 1)",
        ] {
            let e = eval(expr).unwrap_err();
            assert!(e.contains("16 MiB limit"), "{expr}: {e}");
        }
        assert_eq!(
            eval("{'a': [1]} | to_nice_json(indent=2)").as_deref(),
            Ok("{\n  \"a\": [\n    1\n  ]\n}")
        );
        // PyYAML ignores an indent outside 2..9, so a huge one costs nothing
        assert_eq!(
            eval("{'a': [1]} | to_nice_yaml(indent=10**9)").as_deref(),
            Ok("a:\n- 1\n")
        );
    }
}
