//! Python string methods that minijinja-contrib's `pycompat` lacks:
//! `zfill`, `center`, `ljust`, `rjust`, `removeprefix`, `removesuffix`,
//! `partition`, `rpartition`, `swapcase`, `casefold`, `index`, `rindex`,
//! and, for their optional `start`/`end` (which pycompat does not take),
//! `find`, `rfind`, `count`, `startswith`, `endswith`.
//! Each follows Python's `str` documentation; a width pads with at most the
//! value cap, a width below the length (negative too) leaves the text as
//! it is, as Python does.

use minijinja::value::Value;
use minijinja::{Error, ErrorKind};

fn type_error(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("TypeError: {msg}"))
}

/// `s.method(*args)` when `method` is one of this module's, else None (for
/// pycompat, then minijinja's unknown-method error).
pub fn call(s: &str, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let (min, max) = match method {
        "zfill" => (1, 1),
        "center" | "ljust" | "rjust" => (1, 2),
        "removeprefix" | "removesuffix" | "partition" | "rpartition" => (1, 1),
        "index" | "rindex" | "find" | "rfind" | "count" | "startswith" | "endswith" => (1, 3),
        "swapcase" | "casefold" => (0, 0),
        _ => return None,
    };
    Some(run(s, method, args, min, max))
}

fn run(s: &str, method: &str, args: &[Value], min: usize, max: usize) -> Result<Value, Error> {
    if args.iter().any(Value::is_kwargs) {
        return Err(type_error(format!(
            "str.{method}() takes no keyword arguments"
        )));
    }
    if max == 3 && (args.len() < min || args.len() > max) {
        // the search methods' own wording (argument-clinic style)
        return Err(type_error(format!(
            "{method}() takes at {} ({} given)",
            if args.len() < min {
                "least 1 argument"
            } else {
                "most 3 arguments"
            },
            args.len()
        )));
    }
    if args.len() < min || args.len() > max {
        return Err(type_error(format!(
            "str.{method}() takes {} argument{} ({} given)",
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            },
            if max == 1 { "" } else { "s" },
            args.len()
        )));
    }
    let text_arg = |i: usize| -> Result<String, Error> {
        match args.get(i).and_then(Value::as_str) {
            Some(t) => Ok(t.to_string()),
            None => Err(type_error(format!(
                "str.{method}() argument must be str, not {}",
                args.get(i).map_or("None", super::ops::py_type)
            ))),
        }
    };
    let width = || -> Result<usize, Error> {
        let w = match args.first().map(super::ops::num) {
            Some(Some(super::ops::Num::Int(w))) => w,
            _ => {
                return Err(type_error(format!(
                    "'{}' object cannot be interpreted as an integer",
                    args.first().map_or("None", super::ops::py_type)
                )))
            }
        };
        let w = usize::try_from(w.max(0)).unwrap_or(usize::MAX);
        // the padding is at least one byte per character
        if w > s.chars().count() {
            super::limit::check(w, method)?;
        }
        Ok(w)
    };
    let fill = || -> Result<char, Error> {
        if args.len() < 2 {
            return Ok(' ');
        }
        let f = text_arg(1)?;
        let mut chars = f.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(type_error(
                "The fill character must be exactly one character long".into(),
            )),
        }
    };
    let n = s.chars().count();
    Ok(match method {
        "zfill" => {
            let w = width()?;
            if n >= w {
                Value::from(s)
            } else {
                let (sign, rest) = match s.strip_prefix(['+', '-']) {
                    Some(rest) => (&s[..1], rest),
                    None => ("", s),
                };
                Value::from(format!("{sign}{}{rest}", "0".repeat(w - n)))
            }
        }
        "center" | "ljust" | "rjust" => {
            let (w, c) = (width()?, fill()?);
            if n >= w {
                return Ok(Value::from(s));
            }
            let marg = w - n;
            let left = match method {
                // CPython's pad: the odd space goes left when the width is odd
                "center" => marg / 2 + (marg & w & 1),
                "rjust" => marg,
                _ => 0,
            };
            let pad = |k: usize| std::iter::repeat_n(c, k).collect::<String>();
            Value::from(format!("{}{s}{}", pad(left), pad(marg - left)))
        }
        "removeprefix" => {
            let p = text_arg(0)?;
            Value::from(s.strip_prefix(p.as_str()).unwrap_or(s))
        }
        "removesuffix" => {
            let p = text_arg(0)?;
            Value::from(s.strip_suffix(p.as_str()).unwrap_or(s))
        }
        "partition" | "rpartition" => {
            let sep = text_arg(0)?;
            if sep.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "ValueError: empty separator",
                ));
            }
            let found = if method == "partition" {
                s.find(sep.as_str())
            } else {
                s.rfind(sep.as_str())
            };
            let parts = match found {
                Some(at) => [&s[..at], sep.as_str(), &s[at + sep.len()..]],
                None if method == "partition" => [s, "", ""],
                None => ["", "", s],
            };
            Value::from(parts.iter().map(|p| Value::from(*p)).collect::<Vec<_>>())
        }
        "index" | "rindex" | "find" | "rfind" | "count" | "startswith" | "endswith" => {
            let (start, end) = (
                bound(args.get(1), 0, n, false)?,
                bound(args.get(2), n, n, true)?,
            );
            // Python counts characters, not bytes; `start`/`end` are a slice
            let byte = |c: usize| s.char_indices().nth(c).map_or(s.len(), |(b, _)| b);
            let window = if start <= end {
                Some(&s[byte(start)..byte(end)])
            } else {
                None
            };
            if method == "startswith" || method == "endswith" {
                let prefixes = affixes(method, args.first())?;
                // Python: a start past the end matches nothing, not even ""
                for p in &prefixes {
                    let p = p.as_ref().map_err(|item| {
                        type_error(format!(
                            "tuple for {method} must only contain str, not {}",
                            super::ops::py_type(item)
                        ))
                    })?;
                    let hit = window.is_some_and(|w| {
                        if method == "startswith" {
                            w.starts_with(p.as_str())
                        } else {
                            w.ends_with(p.as_str())
                        }
                    });
                    if hit {
                        return Ok(Value::from(true));
                    }
                }
                return Ok(Value::from(false));
            }
            let sub = text_arg(0)?;
            if method == "count" {
                let k = match window {
                    Some(w) if sub.is_empty() => w.chars().count() + 1,
                    Some(w) => w.matches(sub.as_str()).count(),
                    None => 0,
                };
                return Ok(Value::from(k));
            }
            let found = window.and_then(|w| {
                let at = if method == "index" || method == "find" {
                    w.find(sub.as_str())
                } else {
                    w.rfind(sub.as_str())
                };
                at.map(|at| start + w[..at].chars().count())
            });
            match (found, method) {
                (Some(at), _) => Value::from(at),
                (None, "find" | "rfind") => Value::from(-1),
                (None, _) => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "ValueError: substring not found",
                    ))
                }
            }
        }
        "swapcase" => Value::from(
            s.chars()
                .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
                    if c.is_uppercase() {
                        Box::new(c.to_lowercase())
                    } else if c.is_lowercase() {
                        Box::new(c.to_uppercase())
                    } else {
                        Box::new(std::iter::once(c))
                    }
                })
                .collect::<String>(),
        ),
        // full case folding differs from lower case mostly in `ß`
        _ => Value::from(s.to_lowercase().replace('ß', "ss")),
    })
}

/// A `start`/`end` argument as CPython's `ADJUST_INDICES` reads it against
/// a text of `n` characters: missing or None is `default`, a negative index
/// counts from the end (clamped at 0), an end past the end is the end (a
/// start past the end stays there: nothing is found, not even "").
fn bound(v: Option<&Value>, default: usize, n: usize, end: bool) -> Result<usize, Error> {
    let Some(v) = v.filter(|v| !v.is_none() && !v.is_undefined()) else {
        return Ok(default);
    };
    let Some(super::ops::Num::Int(i)) = super::ops::num(v) else {
        return Err(type_error(
            "slice indices must be integers or None or have an __index__ method".into(),
        ));
    };
    let len = i128::try_from(n).unwrap_or(i128::MAX);
    let i = match i {
        i if i < 0 => (i + len).max(0),
        i if end => i.min(len),
        i => i,
    };
    Ok(usize::try_from(i).unwrap_or(usize::MAX))
}

/// The first argument of `startswith`/`endswith`: a str or a tuple (list)
/// of str.
fn affixes(method: &str, v: Option<&Value>) -> Result<Vec<Result<String, Value>>, Error> {
    let refuse = |v: &Value| {
        type_error(format!(
            "{method} first arg must be str or a tuple of str, not {}",
            super::ops::py_type(v)
        ))
    };
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    if let Some(t) = v.as_str() {
        return Ok(vec![Ok(t.to_string())]);
    }
    if v.kind() != minijinja::value::ValueKind::Seq {
        return Err(refuse(v));
    }
    // kept in order, a non-str item as None: Python refuses it only when
    // no earlier item matched
    Ok(v.try_iter()
        .map_err(|_| refuse(v))?
        .map(|item| item.as_str().map(str::to_string).ok_or(item))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::eval_py;

    #[test]
    fn string_methods_answer_as_python() {
        // trial case 193; each expected text is python3's answer
        for (expr, python) in [
            ("'abc'.zfill(-1)", "abc"),
            ("'42'.zfill(5)", "00042"),
            ("'-42'.zfill(5)", "-0042"),
            ("'+4'.zfill(4)", "+004"),
            ("'abc'.center(8, '*')", "**abc***"),
            ("'abc'.center(-5)", "abc"),
            ("'ab'.center(5)", "  ab "),
            ("'abc'.ljust(5, '.')", "abc.."),
            ("'abc'.rjust(5)", "  abc"),
            ("'abc'.rjust(2)", "abc"),
            ("'prefix-x'.removeprefix('prefix-')", "x"),
            ("'x.txt'.removesuffix('.txt')", "x"),
            ("'x.txt'.removesuffix('.md')", "x.txt"),
            ("'a=b=c'.partition('=')", "['a', '=', 'b=c']"),
            ("'a=b=c'.rpartition('=')", "['a=b', '=', 'c']"),
            ("'abc'.partition('x')", "['abc', '', '']"),
            ("'abc'.rpartition('x')", "['', '', 'abc']"),
            ("'éab'.index('b')", "2"),
            ("'abab'.rindex('ab')", "2"),
            ("'Hello Wörld'.swapcase()", "hELLO wÖRLD"),
            ("'Straße'.casefold()", "strasse"),
        ] {
            assert_eq!(eval_py(expr), python, "{expr}");
        }
        // x2: start and end as python3 reads them
        for (expr, python) in [
            ("'abcabc'.rindex('c', 5)", "5"),
            ("'abcabc'.find('c', 3)", "5"),
            ("'abcabc'.find('c', -2)", "5"),
            ("'abcabc'.find('x')", "-1"),
            ("'abcabc'.rfind('a', none, 3)", "0"),
            ("'abcabc'.rfind('a', -100, -1)", "3"),
            ("'abcabc'.find('', 10)", "-1"),
            ("'abcabc'.find('', 6)", "6"),
            ("'abcabc'.find('a', true)", "3"),
            ("'abcabc'.find('a', 4, 2)", "-1"),
            ("'éabé'.find('é', 1)", "3"),
            ("'abcabc'.count('a', 1)", "1"),
            ("'abcabc'.count('')", "7"),
            ("'abcabc'.count('', 2, 4)", "3"),
            ("'abcabc'.count('a', 4, 2)", "0"),
            ("'abcabc'.startswith('b', 1)", "True"),
            ("'abcabc'.startswith('a', 1)", "False"),
            ("'abcabc'.startswith(('x', 'c'), 2)", "True"),
            ("'abc'.startswith('', 3)", "True"),
            ("'abc'.startswith('', 5)", "False"),
            ("'abcabc'.endswith('b', 0, 5)", "True"),
            ("'abcabc'.endswith('c', 0, 5)", "False"),
            ("'abcabc'.index('a', 1)", "3"),
        ] {
            assert_eq!(eval_py(expr), python, "{expr}");
        }
        assert!(eval_py("'abcabc'.index('a', 1, 3)").contains("substring not found"));
        assert!(eval_py("'abc'.find('a', 'x')").contains("slice indices must be integers"));
        assert!(eval_py("'abc'.startswith(1)").contains("first arg must be str or a tuple"));
        assert!(eval_py("'abc'.find('a', 1, 2, 3)")
            .contains("find() takes at most 3 arguments (4 given)"));
        assert!(eval_py("'abc'.startswith()")
            .contains("startswith() takes at least 1 argument (0 given)"));
        assert!(eval_py("'abc'.startswith(('x', 1))")
            .contains("tuple for startswith must only contain str, not int"));
        assert_eq!(eval_py("'abc'.startswith(('a', 1))"), "True");
        assert_eq!(eval_py("'abc'.count('', 10)"), "0");
        assert!(eval_py("'abc'.index('x')").contains("substring not found"));
        assert!(eval_py("'abc'.partition('')").contains("empty separator"));
        assert!(eval_py("'abc'.center(5, 'xy')").contains("exactly one character"));
        assert!(eval_py("'abc'.zfill('5')").contains("cannot be interpreted as an integer"));
        assert!(eval_py("'abc'.zfill()").contains("takes 1 argument"));
        assert!(eval_py("'abc'.zfill(10 ** 12)").contains("limit"));
    }
}
