//! Ansible's tests (`x is failed`, `v is version('1.2', '>=')`, `s is
//! search('re')`...) that minijinja lacks; semantics from the Ansible test
//! documentation (`ansible.builtin.*` tests). minijinja's builtins (`defined`,
//! `undefined`, `none`, `string`, `number`, `integer`, `float`, `boolean`,
//! `mapping`, `iterable`, `sequence`, `in`, `true`, `false`...) are used as
//! they are.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::regex;

/// Ansible's `truthy` test: Python truthiness (`'abc'` and `'no'` are truthy,
/// `''`, `0`, `[]`, `None` falsy). With `convert_bool=True` a value Ansible's
/// `boolean()` knows (`yes`/`no`/`on`/`off`/`true`/`false`/`y`/`n`/`t`/`f`/
/// `1`/`0`, any case) is converted first; anything else is judged as it is.
/// Source: ansible-core `plugins/test/core.py` (`truthy`, `falsy`).
fn truthy(v: &Value, k: Kwargs) -> Result<bool, Error> {
    let convert = k.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    k.assert_all_used()?;
    if convert {
        let known = match v.kind() {
            ValueKind::String => {
                match v
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_lowercase()
                    .as_str()
                {
                    "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
                    "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
                    _ => None,
                }
            }
            ValueKind::Number => match f64::try_from(v.clone()) {
                Ok(1.0) => Some(true),
                Ok(0.0) => Some(false),
                _ => None,
            },
            _ => None,
        };
        if let Some(b) = known {
            return Ok(b);
        }
    }
    Ok(v.is_true())
}

/// Tests added to minijinja's builtins.
pub const NAMES: &[&str] = &[
    "succeeded",
    "success",
    "failed",
    "failure",
    "changed",
    "change",
    "skipped",
    "skip",
    "search",
    "match",
    "regex",
    "version",
    "version_compare",
    "truthy",
    "falsy",
    "contains",
    "subset",
    "superset",
    "all",
    "any",
    "successful",
    "reachable",
    "unreachable",
    "timedout",
    "started",
    "finished",
    "nan",
    "isnan",
    "issubset",
    "issuperset",
    "uri",
    "url",
    "urn",
    "vault_encrypted",
    "vaulted_file",
];

pub fn register(env: &mut Environment<'static>) {
    env.add_test("succeeded", |r: Value| {
        result_flag(&r, "failed", "succeeded").map(|f| !f)
    });
    env.add_test("success", |r: Value| {
        result_flag(&r, "failed", "success").map(|f| !f)
    });
    env.add_test("successful", |r: Value| {
        result_flag(&r, "failed", "successful").map(|f| !f)
    });
    env.add_test("unreachable", |r: Value| {
        result_flag(&r, "unreachable", "unreachable")
    });
    env.add_test("reachable", |r: Value| {
        result_flag(&r, "unreachable", "reachable").map(|f| !f)
    });
    env.add_test("timedout", |r: Value| -> Result<bool, Error> {
        result_flag(&r, "timedout", "timedout")?;
        let t = r.get_attr("timedout")?;
        Ok(t.kind() == ValueKind::Map && t.get_attr("period")?.is_true())
    });
    // async only; a result without the key counts as started/finished
    env.add_test("started", |r: Value| -> Result<bool, Error> {
        result_flag(&r, "started", "started")?;
        let v = r.get_attr("started")?;
        Ok(v.is_undefined() || v.is_true())
    });
    env.add_test("finished", |r: Value| -> Result<bool, Error> {
        result_flag(&r, "finished", "finished")?;
        let v = r.get_attr("finished")?;
        Ok(v.is_undefined() || v.is_true())
    });
    for name in ["nan", "isnan"] {
        env.add_test(name, |v: Value| {
            v.kind() == ValueKind::Number && f64::try_from(v).is_ok_and(f64::is_nan)
        });
    }
    for (name, sub) in [("issubset", true), ("issuperset", false)] {
        env.add_test(name, move |a: Value, b: Value| -> Result<bool, Error> {
            let (small, big) = if sub { (a, b) } else { (b, a) };
            let big: Vec<Value> = big.try_iter()?.collect();
            Ok(small.try_iter()?.all(|x| big.contains(&x)))
        });
    }
    env.add_test("uri", |v: Value, schemes: Option<Vec<String>>| {
        uri_scheme(&v).is_some_and(|s| schemes.as_ref().is_none_or(|l| l.contains(&s)))
    });
    env.add_test("url", |v: Value, schemes: Option<Vec<String>>| {
        let Some(s) = uri_scheme(&v) else {
            return false;
        };
        if schemes.as_ref().is_some_and(|l| !l.contains(&s)) {
            return false;
        }
        let text = v.as_str().unwrap_or_default();
        let after = &text[text.find(':').map_or(0, |i| i + 1)..];
        s == "file"
            || after
                .strip_prefix("//")
                .is_some_and(|r| !r.starts_with(['/', '?', '#']) && !r.is_empty())
    });
    env.add_test("urn", |v: Value| uri_scheme(&v).as_deref() == Some("urn"));
    env.add_test("vault_encrypted", |v: Value| {
        v.as_str()
            .is_some_and(|s| s.trim_start().starts_with("$ANSIBLE_VAULT;"))
    });
    env.add_test("vaulted_file", |p: String| -> Result<bool, Error> {
        let text = std::fs::read(&p).map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("Cannot test if the file '{p}' is a vault: {e}"),
            )
        })?;
        Ok(text.starts_with(b"$ANSIBLE_VAULT;"))
    });
    env.add_test("failed", |r: Value| result_flag(&r, "failed", "failed"));
    env.add_test("failure", |r: Value| result_flag(&r, "failed", "failure"));
    env.add_test("changed", |r: Value| result_flag(&r, "changed", "changed"));
    env.add_test("change", |r: Value| result_flag(&r, "changed", "change"));
    env.add_test("skipped", |r: Value| result_flag(&r, "skipped", "skipped"));
    env.add_test("skip", |r: Value| result_flag(&r, "skipped", "skip"));
    env.add_test("search", |s: String, p: String, k: Kwargs| {
        regex_test(&s, &p, k, "search")
    });
    env.add_test("match", |s: String, p: String, k: Kwargs| {
        regex_test(&s, &p, k, "match")
    });
    env.add_test("regex", |s: String, p: String, k: Kwargs| {
        let mode: String = k
            .get::<Option<String>>("match_type")?
            .unwrap_or_else(|| "search".into());
        regex_test(&s, &p, k, &mode)
    });
    env.add_test("divisibleby", divisibleby);
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("truthy", |v: Value, k: Kwargs| truthy(&v, k));
    env.add_test("falsy", |v: Value, k: Kwargs| truthy(&v, k).map(|t| !t));
    env.add_test("contains", |seq: Value, item: Value| {
        Ok::<bool, Error>(seq.try_iter()?.any(|x| x == item))
    });
    env.add_test("subset", |a: Value, b: Value| -> Result<bool, Error> {
        let b: Vec<Value> = b.try_iter()?.collect();
        Ok(a.try_iter()?.all(|x| b.contains(&x)))
    });
    env.add_test("superset", |a: Value, b: Value| -> Result<bool, Error> {
        let a: Vec<Value> = a.try_iter()?.collect();
        Ok(b.try_iter()?.all(|x| a.contains(&x)))
    });
    env.add_test("all", |a: Value| -> Result<bool, Error> {
        Ok(a.try_iter()?.all(|x| x.is_true()))
    });
    env.add_test("any", |a: Value| -> Result<bool, Error> {
        Ok(a.try_iter()?.any(|x| x.is_true()))
    });
}

/// Jinja2's `divisibleby`: Python's `value % num == 0`, so a zero divisor
/// is Python's ZeroDivisionError (`integer modulo by zero`, `float
/// modulo`) and a string is printf-formatted (`'x' is divisibleby(2)`:
/// `not all arguments converted during string formatting`), each failing the
/// task as in ansible-core. minijinja's own test panicked on a zero divisor
/// and said false for the rest (issue 9).
fn divisibleby(v: Value, num: Value) -> Result<bool, Error> {
    let rest = super::ops::modulo(v, num, None).map_err(|e| {
        if e.kind() == ErrorKind::UndefinedError {
            return e;
        }
        Error::new(
            ErrorKind::InvalidOperation,
            format!("divisibleby: {}", e.detail().unwrap_or_default()),
        )
    })?;
    Ok(rest == Value::from(0))
}

/// The scheme of a URI as Python's `urlparse` finds it (`''` without
/// one); `None` for a value that is not a string. Ansible's `uri` test is
/// true for any string (`urlparse` never fails on one) unless schemes are
/// given.
fn uri_scheme(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let scheme = match s.find(':') {
        Some(i)
            if i > 0
                && s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            s[..i].to_ascii_lowercase()
        }
        _ => String::new(),
    };
    Some(scheme)
}

/// A registered result's flag (`failed`, `changed`, `skipped`); a result
/// without it is false. Ansible refuses anything but a mapping.
fn result_flag(r: &Value, key: &str, test: &str) -> Result<bool, Error> {
    if r.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "the `{test}` test expects a registered result (a mapping), got {}",
                r.kind()
            ),
        ));
    }
    let v = r.get_attr(key)?;
    // Python's bool(result.get(key)), as Ansible's tests
    Ok(!v.is_undefined() && v.is_true())
}

fn regex_test(s: &str, pattern: &str, kwargs: Kwargs, mode: &str) -> Result<bool, Error> {
    let i = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let m = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let anchored;
    let pattern = if mode == "match" {
        anchored = format!(r"\A(?:{pattern})");
        anchored.as_str()
    } else {
        pattern
    };
    let re =
        regex::compile(pattern, i, m).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
    re.is_match(s)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

/// `version(other, operator='eq', strict=False)`: loose version comparison
/// (numeric parts as numbers, others as text), as Ansible's LooseVersion.
fn version(v: Value, other: Value, op: Option<String>, kwargs: Kwargs) -> Result<bool, Error> {
    let op = match op {
        Some(o) => o,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let _ = kwargs.get::<Option<bool>>("strict")?;
    let _ = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    let ord = loose_compare(&v.to_string(), &other.to_string())?;
    Ok(match op.as_str() {
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("version: unknown operator `{other}` (use <, <=, >, >=, ==, != or lt, le, gt, ge, eq, ne)"),
            ))
        }
    })
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Part {
    Num(u64),
    Text(String),
}

fn parts(v: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    let flush = |cur: &mut String, digits: bool, out: &mut Vec<Part>| {
        if !cur.is_empty() {
            out.push(if digits {
                Part::Num(cur.parse().unwrap_or(u64::MAX))
            } else {
                Part::Text(std::mem::take(cur))
            });
            cur.clear();
        }
    };
    for c in v.trim().chars() {
        if c.is_ascii_digit() {
            if !digits {
                flush(&mut cur, digits, &mut out);
                digits = true;
            }
            cur.push(c);
        } else if c.is_alphabetic() {
            if digits {
                flush(&mut cur, digits, &mut out);
                digits = false;
            }
            cur.push(c);
        } else {
            flush(&mut cur, digits, &mut out);
        }
    }
    flush(&mut cur, digits, &mut out);
    out
}

/// LooseVersion's comparison as Python runs it: the lists of parts compare
/// item by item, and a number against a word at the first difference is
/// Python's TypeError (`'1.0' is version('x')` fails in ansible-core, issue 9,
/// trial case 311).
fn loose_compare(a: &str, b: &str) -> Result<Ordering, Error> {
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let kind = |p: &Part| match p {
            Part::Num(_) => "int",
            Part::Text(_) => "str",
        };
        if x != y && kind(x) != kind(y) {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "version: Version comparison failed: '<' not supported between instances of '{}' and '{}'",
                    kind(x),
                    kind(y)
                ),
            ));
        }
        if x != y {
            break;
        }
    }
    Ok(pa.cmp(&pb))
}

pub fn compare_versions(a: &str, b: &str) -> Ordering {
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod unit {
    use super::super::eval_py;

    /// Issue 9, hostile trial cases (number first): ansible-core 2.19's
    /// answer, or its error.
    #[test]
    fn divisibleby_is_python_modulo_and_fails_where_it_raises() {
        for (case, expr, want) in [
            (
                175,
                "5 is divisibleby(0)",
                "ERROR divisibleby: integer modulo by zero",
            ),
            (
                261,
                "[1, 2, 3] | select('divisibleby', 0) | list",
                "ERROR divisibleby: integer modulo by zero",
            ),
            (
                625,
                "5 is divisibleby(0.0)",
                "ERROR divisibleby: float modulo",
            ),
            (
                176,
                "'x' is divisibleby(2)",
                "ERROR divisibleby: not all arguments converted during string formatting",
            ),
            (0, "'%d' is divisibleby(2)", "False"),
            (0, "6 is divisibleby(3)", "True"),
            (0, "7 is divisibleby(2)", "False"),
            (0, "-7 is divisibleby(7)", "True"),
            (0, "6.0 is divisibleby(1.5)", "True"),
            (
                0,
                "[1, 2, 3, 4] | select('divisibleby', 2) | list",
                "[2, 4]",
            ),
            (0, "range(0, -10, -3) | list", "[0, -3, -6, -9]"),
            (
                0,
                "range(-1, -9223372036854775807, -1) | list",
                "ERROR range has too many elements",
            ),
        ] {
            assert_eq!(eval_py(expr), want, "case {case}: {expr}");
        }
    }

    #[test]
    fn truthy_and_falsy_are_python_truthiness_unless_convert_bool() {
        let env = super::super::env::environment();
        let t = |e: &str| {
            env.compile_expression(e)
                .unwrap()
                .eval(())
                .unwrap()
                .is_true()
        };
        assert!(t("'abc' is truthy") && t("'no' is truthy") && t("1 is truthy"));
        assert!(t("'' is falsy") && t("0 is falsy") && t("[] is falsy") && t("none is falsy"));
        assert!(!t("'no' is falsy") && !t("[1] is falsy"));
        assert!(t("'no' is falsy(convert_bool=True)") && t("'Off' is falsy(convert_bool=True)"));
        assert!(t("'yes' is truthy(convert_bool=True)") && t("'abc' is truthy(convert_bool=True)"));
        assert!(t("0 is falsy(convert_bool=True)") && !t("'no' is truthy(convert_bool=true)"));
    }
}
