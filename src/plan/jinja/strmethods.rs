//! Python string methods that minijinja-contrib's `pycompat` lacks:
//! `zfill`, `center`, `ljust`, `rjust`, `removeprefix`, `removesuffix`,
//! `partition`, `rpartition`, `swapcase`, `casefold`, `index`, `rindex`.
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
        "removeprefix" | "removesuffix" | "partition" | "rpartition" | "index" | "rindex" => (1, 1),
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
        "index" | "rindex" => {
            let sub = text_arg(0)?;
            let found = if method == "index" {
                s.find(sub.as_str())
            } else {
                s.rfind(sub.as_str())
            };
            match found {
                // Python counts characters, not bytes
                Some(at) => Value::from(s[..at].chars().count()),
                None => {
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
        assert!(eval_py("'abc'.index('x')").contains("substring not found"));
        assert!(eval_py("'abc'.partition('')").contains("empty separator"));
        assert!(eval_py("'abc'.center(5, 'xy')").contains("exactly one character"));
        assert!(eval_py("'abc'.zfill('5')").contains("cannot be interpreted as an integer"));
        assert!(eval_py("'abc'.zfill()").contains("takes 1 argument"));
        assert!(eval_py("'abc'.zfill(10 ** 12)").contains("limit"));
    }
}
