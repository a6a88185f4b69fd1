//! Python's printf-style string formatting, `"%s-%02d" % (a, b)` and
//! `"%(k)s" % d`, as Jinja2 evaluates the `%` operator on a string.
//!
//! Source: Python's "printf-style String Formatting" (library/stdtypes):
//! `%[(key)][flags][width][.precision][length]type`, flags `#0- +`, width
//! and precision `*` from the arguments, types `diouxXeEfFgGcrsa%`.
//! Arguments: a tuple's items; a mapping for `%(key)s`; any other value is
//! the one argument. Python's errors are kept: too few or too many
//! arguments, `%d` of a string, an unknown type character.
//!
//! One leniency: minijinja has no tuples, so a list that is not written as
//! a tuple literal counts as the arguments when the format wants more than
//! one (`'%s=%s' % pair`, with `pair` from `dict.items()` or `zip`, where
//! Python has a tuple); with one field it is printed whole, as Python does.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::ops::{num, py_type, Num};
use super::python_repr::{py_str, repr};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

#[derive(Default)]
struct Spec {
    key: Option<String>,
    alt: bool,
    zero: bool,
    left: bool,
    space: bool,
    plus: bool,
    width: Option<Count>,
    precision: Option<Count>,
    ty: char,
}

enum Count {
    Star,
    N(usize),
}

enum Piece<'a> {
    Text(&'a str),
    Field(Spec),
}

fn parse(fmt: &str) -> Result<Vec<Piece<'_>>, Error> {
    let mut out = Vec::new();
    let bytes = fmt.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        if text_start < i {
            out.push(Piece::Text(&fmt[text_start..i]));
        }
        let start = i;
        i += 1;
        let mut spec = Spec::default();
        if bytes.get(i) == Some(&b'(') {
            let mut depth = 1;
            let key_start = i + 1;
            i += 1;
            while i < bytes.len() && depth > 0 {
                match bytes[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            if depth > 0 {
                return Err(err("incomplete format key"));
            }
            spec.key = Some(fmt[key_start..i - 1].to_string());
        }
        while let Some(&c) = bytes.get(i) {
            match c {
                b'#' => spec.alt = true,
                b'0' => spec.zero = true,
                b'-' => spec.left = true,
                b' ' => spec.space = true,
                b'+' => spec.plus = true,
                _ => break,
            }
            i += 1;
        }
        let count = |i: &mut usize| -> Option<Count> {
            if bytes.get(*i) == Some(&b'*') {
                *i += 1;
                return Some(Count::Star);
            }
            let s = *i;
            while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            fmt[s..*i].parse().ok().map(Count::N)
        };
        spec.width = count(&mut i);
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(count(&mut i).unwrap_or(Count::N(0)));
        }
        if matches!(bytes.get(i), Some(b'h' | b'l' | b'L')) {
            i += 1;
        }
        let Some(ty) = fmt[i..].chars().next() else {
            return Err(err("incomplete format"));
        };
        if !"diouxXeEfFgGcrsa%".contains(ty) {
            return Err(err(format!(
                "unsupported format character '{ty}' (0x{:x}) at index {i}",
                ty as u32
            )));
        }
        spec.ty = ty;
        i += ty.len_utf8();
        text_start = i;
        if ty == '%' && spec.key.is_none() && start + 2 == i {
            out.push(Piece::Text("%"));
        } else {
            out.push(Piece::Field(spec));
        }
    }
    if text_start < bytes.len() {
        out.push(Piece::Text(&fmt[text_start..]));
    }
    Ok(out)
}

/// `fmt % args`; `tuple` when `args` was written as a tuple literal.
pub fn format(fmt: &str, args: &Value, tuple: bool) -> Result<String, Error> {
    let pieces = parse(fmt)?;
    let wanted: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Field(s) if s.key.is_none() => {
                1 + usize::from(matches!(s.width, Some(Count::Star)))
                    + usize::from(matches!(s.precision, Some(Count::Star)))
            }
            _ => 0,
        })
        .sum();
    let is_seq = matches!(args.kind(), ValueKind::Seq | ValueKind::Iterable);
    let positional: Vec<Value> = if tuple || (is_seq && wanted > 1) {
        args.try_iter()?.collect()
    } else {
        vec![args.clone()]
    };
    let mapping = (args.kind() == ValueKind::Map).then_some(args);
    let mut next = 0usize;
    let mut take = || -> Result<Value, Error> {
        let v = positional
            .get(next)
            .cloned()
            .ok_or_else(|| err("not enough arguments for format string"))?;
        next += 1;
        Ok(v)
    };
    let mut out = String::new();
    for piece in pieces {
        let spec = match piece {
            Piece::Text(t) => {
                out.push_str(t);
                continue;
            }
            Piece::Field(s) => s,
        };
        let mut star = |c: &Option<Count>| -> Result<Option<i64>, Error> {
            Ok(match c {
                None => None,
                Some(Count::N(n)) => Some(*n as i64),
                Some(Count::Star) => Some(take()?.as_i64().ok_or_else(|| err("* wants int"))?),
            })
        };
        let mut width = star(&spec.width)?;
        let precision = star(&spec.precision)?.map(|p| p.max(0) as usize);
        // a width pads, a precision adds digits: refuse a field that alone
        // would exceed the cap before it is built
        let asked = width.map_or(0, i64::unsigned_abs) as usize;
        let digits = match spec.ty {
            's' | 'r' | 'a' | 'c' | '%' => 0,
            _ => precision.unwrap_or(0),
        };
        super::limit::check(asked.max(digits), "'%' formatting")?;
        let mut left = spec.left;
        if let Some(w) = width {
            if w < 0 {
                left = true;
                width = Some(-w);
            }
        }
        let value = match &spec.key {
            Some(key) => {
                let m = mapping.ok_or_else(|| err("format requires a mapping"))?;
                let v = m.get_item(&Value::from(key.as_str()))?;
                if v.is_undefined() {
                    return Err(err(format!("KeyError: '{key}'")));
                }
                v
            }
            None if spec.ty == '%' => Value::from("%"),
            None => take()?,
        };
        let field = Field {
            spec: &spec,
            left,
            width: width.unwrap_or(0).max(0) as usize,
            precision,
        };
        out.push_str(&field.render(&value)?);
        super::limit::check(out.len(), "'%' formatting")?;
    }
    if next < positional.len() && mapping.is_none() {
        return Err(err("not all arguments converted during string formatting"));
    }
    Ok(out)
}

struct Field<'s> {
    spec: &'s Spec,
    left: bool,
    width: usize,
    precision: Option<usize>,
}

impl Field<'_> {
    /// `digits` widened with zeros to the precision (`%.3d`).
    fn zero_fill(&self, digits: String) -> String {
        match self.precision {
            Some(p) if digits.len() < p => "0".repeat(p - digits.len()) + &digits,
            _ => digits,
        }
    }

    fn pad(&self, body: String) -> String {
        let n = body.chars().count();
        if n >= self.width {
            return body;
        }
        let fill = " ".repeat(self.width - n);
        if self.left {
            body + &fill
        } else {
            fill + &body
        }
    }

    /// Sign, prefix and digits, padded with zeros or spaces.
    fn number(&self, negative: bool, prefix: &str, digits: String) -> String {
        let sign = if negative {
            "-"
        } else if self.spec.plus {
            "+"
        } else if self.spec.space {
            " "
        } else {
            ""
        };
        let head = format!("{sign}{prefix}");
        if self.spec.zero && !self.left {
            let n = head.len() + digits.len();
            let zeros = "0".repeat(self.width.saturating_sub(n));
            format!("{head}{zeros}{digits}")
        } else {
            self.pad(format!("{head}{digits}"))
        }
    }

    fn render(&self, v: &Value) -> Result<String, Error> {
        let ty = self.spec.ty;
        match ty {
            '%' => Ok(self.pad("%".into())),
            's' | 'r' | 'a' => {
                let mut s = if ty == 's' {
                    py_str(v)?
                } else {
                    let mut s = String::new();
                    repr(v, &mut s)?;
                    s
                };
                if let Some(p) = self.precision {
                    s = s.chars().take(p).collect();
                }
                Ok(self.pad(s))
            }
            'c' => {
                let c = match (num(v), v.as_str()) {
                    (Some(Num::Int(i)), _) => u32::try_from(i)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| err("%c arg not in range(0x110000)"))?,
                    (_, Some(s)) if s.chars().count() == 1 => s.chars().next().unwrap_or(' '),
                    _ => return Err(err("%c requires an int or a unicode character")),
                };
                Ok(self.pad(c.to_string()))
            }
            'd' | 'i' | 'u' => {
                let i = match num(v) {
                    Some(Num::Int(i)) => i,
                    // Python's int(f): every finite float is a whole
                    // number's exact digits once truncated, also past i128
                    // (`'%d' % 1e300` has 301 digits, not i128::MAX)
                    Some(Num::Float(f)) if f.is_finite() => {
                        let t = f.trunc();
                        // Rust prints a float's exact decimal expansion
                        let digits = format!("{:.0}", t.abs());
                        return Ok(self.number(t < 0.0, "", self.zero_fill(digits)));
                    }
                    Some(Num::Float(_)) => {
                        return Err(err("cannot convert float NaN or infinity to integer"))
                    }
                    None => {
                        return Err(err(format!(
                            "%{ty} format: a real number is required, not {}",
                            py_type(v)
                        )))
                    }
                };
                let digits = self.zero_fill(i.unsigned_abs().to_string());
                Ok(self.number(i < 0, "", digits))
            }
            'x' | 'X' | 'o' => {
                let i = match num(v) {
                    Some(Num::Int(i)) => i,
                    _ => {
                        return Err(err(format!(
                            "%{ty} format: an integer is required, not {}",
                            py_type(v)
                        )))
                    }
                };
                let a = i.unsigned_abs();
                let (digits, prefix) = match ty {
                    'x' => (format!("{a:x}"), "0x"),
                    'X' => (format!("{a:X}"), "0X"),
                    _ => (format!("{a:o}"), "0o"),
                };
                let mut digits = digits;
                if let Some(p) = self.precision {
                    if digits.len() < p {
                        digits = "0".repeat(p - digits.len()) + &digits;
                    }
                }
                Ok(self.number(i < 0, if self.spec.alt { prefix } else { "" }, digits))
            }
            _ => {
                let f = match num(v) {
                    Some(n) => n.as_f64(),
                    None => return Err(err(format!("must be real number, not {}", py_type(v)))),
                };
                let upper = ty.is_ascii_uppercase();
                if !f.is_finite() {
                    let s = if f.is_nan() { "nan" } else { "inf" };
                    let s = if upper { s.to_uppercase() } else { s.into() };
                    let field = Field {
                        spec: &Spec {
                            zero: false,
                            plus: self.spec.plus,
                            space: self.spec.space,
                            ..Spec::default()
                        },
                        ..*self
                    };
                    return Ok(field.number(f.is_sign_negative() && !f.is_nan(), "", s));
                }
                let p = self.precision.unwrap_or(6);
                let body = match ty.to_ascii_lowercase() {
                    'f' => {
                        let mut s = format!("{:.*}", p, f.abs());
                        if self.spec.alt && p == 0 {
                            s.push('.');
                        }
                        s
                    }
                    'e' => exp(f.abs(), p, self.spec.alt),
                    _ => general(f.abs(), p, self.spec.alt),
                };
                let body = if upper { body.to_uppercase() } else { body };
                Ok(self.number(f.is_sign_negative(), "", body))
            }
        }
    }
}

/// C's `%e`: `1.234568e+04`.
fn exp(f: f64, p: usize, alt: bool) -> String {
    let s = format!("{:.*e}", p, f);
    let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let mut mant = mant.to_string();
    if alt && p == 0 {
        mant.push('.');
    }
    format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// C's `%g`: `%e` or `%f` by the exponent, trailing zeros removed.
fn general(f: f64, p: usize, alt: bool) -> String {
    let p = p.max(1);
    let x = if f == 0.0 {
        0
    } else {
        let s = format!("{:.*e}", p - 1, f);
        s.split_once('e')
            .and_then(|(_, e)| e.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let s = if -4 <= x && x < p as i64 {
        format!("{:.*}", (p as i64 - 1 - x).max(0) as usize, f)
    } else {
        exp(f, p - 1, alt)
    };
    if alt {
        return s;
    }
    let (mant, tail) = match s.find('e') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.as_str(), ""),
    };
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    format!("{mant}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: Value, tuple: bool) -> Result<String, String> {
        format(fmt, &args, tuple).map_err(|e| e.detail().unwrap_or_default().to_string())
    }

    fn t(items: Vec<Value>) -> Value {
        Value::from(items)
    }

    /// Each expected string is what Python 3 (ansible-core 2.19's Jinja2) printed.
    #[test]
    fn conversions_as_python_prints_them() {
        let v = |x: f64| Value::from(x);
        assert_eq!(
            f("%s-%02d", t(vec!["a".into(), 5.into()]), true).unwrap(),
            "a-05"
        );
        assert_eq!(
            f(
                "%5.2f|%-4s|%x|%o|%e|%r|%%",
                t(vec![
                    v(3.14359),
                    "ab".into(),
                    255.into(),
                    8.into(),
                    v(12345.678),
                    "q".into()
                ]),
                true
            )
            .unwrap(),
            " 3.14|ab  |ff|10|1.234568e+04|'q'|%"
        );
        assert_eq!(
            f(
                "%i|%u|%X|%#x|%+d|% d|%05.1f",
                t(vec![
                    1.into(),
                    2.into(),
                    255.into(),
                    255.into(),
                    3.into(),
                    4.into(),
                    v(2.25)
                ]),
                true
            )
            .unwrap(),
            "1|2|FF|0xff|+3| 4|002.2"
        );
        assert_eq!(f("%c", 65.into(), false).unwrap(), "A");
        assert_eq!(f("%.3s", "abcdef".into(), false).unwrap(), "abc");
        assert_eq!(
            f("%*d", t(vec![5.into(), 3.into()]), true).unwrap(),
            "    3"
        );
        assert_eq!(f("%s", Value::from(()), false).unwrap(), "None");
        assert_eq!(f("%s", true.into(), false).unwrap(), "True");
        assert_eq!(
            f("%g|%g|%g", t(vec![v(0.0001), v(1e20), v(2.5)]), true).unwrap(),
            "0.0001|1e+20|2.5"
        );
        assert_eq!(f("%d", v(-3.7), false).unwrap(), "-3");
        // Python's int(1e300): the float's exact digits, not i128::MAX
        assert_eq!(
            f("%d", v(1e300), false).unwrap(),
            "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160"
        );
        assert_eq!(f("%d", v(-1e20), false).unwrap(), "-100000000000000000000");
        assert_eq!(f("%.3d", v(7.9), false).unwrap(), "007");
        assert_eq!(f("%d", v(-0.5), false).unwrap(), "0");
        assert_eq!(f("%.3d", 5.into(), false).unwrap(), "005");
    }

    #[test]
    fn mapping_keys_and_argument_rules() {
        let d = Value::from_serialize(serde_json::json!({"k": "x", "v": 3}));
        assert_eq!(f("%(k)s=%(v)d", d.clone(), false).unwrap(), "x=3");
        assert_eq!(f("%s", d, false).unwrap(), "{'k': 'x', 'v': 3}");
        let l = Value::from(vec![1, 2]);
        assert_eq!(f("%s", l.clone(), false).unwrap(), "[1, 2]");
        // Python: a list is one argument; baton takes it as the tuple it may
        // have been (see the module doc)
        assert_eq!(f("%s %s", l, false).unwrap(), "1 2");
        assert_eq!(
            f("%s %s", t(vec![1.into()]), true).unwrap_err(),
            "not enough arguments for format string"
        );
        assert_eq!(
            f("%s", t(vec![1.into(), 2.into()]), true).unwrap_err(),
            "not all arguments converted during string formatting"
        );
        assert_eq!(
            f("%d", "3".into(), false).unwrap_err(),
            "%d format: a real number is required, not str"
        );
        assert_eq!(
            f("%y", 1.into(), false).unwrap_err(),
            "unsupported format character 'y' (0x79) at index 1"
        );
        assert_eq!(
            f("abc", 5.into(), false).unwrap_err(),
            "not all arguments converted during string formatting"
        );
    }
}
