//! Python's semantics for the operators [`super::rewrite`] turns into calls:
//! comparisons (`<`, `<=`, `>`, `>=`, `in`, `not in`, chains), `%` and `-`.
//!
//! Source: Python's data model, which Ansible's Jinja2 runs on:
//! - ordering compares numbers with numbers (`bool` is a number), strings
//!   with strings, lists item by item; anything else raises `TypeError: '>'
//!   not supported between instances of 'str' and 'int'` (Ansible 2.19
//!   fails the task with it). `==`/`!=` never raise (`'5' == 5` is false).
//! - `x in s`: a substring test when `s` is a string (then `x` must be one),
//!   an item test for a list, a key test for a mapping; anything else raises.
//! - `%`: printf-style formatting when the left side is a string
//!   ([`super::percent`]), else the modulo of numbers with the divisor's sign.
//! - `-`: numbers, and datetimes ([`super::datetime`]).
//! - `/`, `//`: minijinja's, but a zero divisor raises Python's
//!   `ZeroDivisionError` text (`division by zero`) instead of giving
//!   infinity or NaN.
//! - `*`, `+`, `~`: minijinja's own operators (so numbers keep its
//!   semantics: i128 arithmetic, an overflow is an error), after a check
//!   that the result fits [`super::limit::MAX_VALUE_BYTES`], made from the
//!   operands' sizes before anything is allocated.

use std::cmp::Ordering;

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::datetime;
use super::percent;

pub fn register(env: &mut Environment<'static>) {
    // each operator is a checkpoint of a stop request (super::stop)
    use super::stop::checkpoint;
    env.add_function(super::rewrite::CMP, |args: Rest<Value>| {
        checkpoint()?;
        compare_chain(args)
    });
    env.add_function(
        super::rewrite::MOD,
        |a: Value, b: Value, tuple: Option<bool>| {
            checkpoint()?;
            modulo(a, b, tuple)
        },
    );
    env.add_function(super::rewrite::SUB, |a: Value, b: Value| {
        checkpoint()?;
        subtract(a, b)
    });
    env.add_function(super::rewrite::CHAIN, |base: Value, keys: Rest<Value>| {
        checkpoint().map(|()| chain(base, keys))
    });
    env.add_function(super::rewrite::MUL, |a: Value, b: Value| {
        checkpoint()?;
        multiply(a, b)
    });
    env.add_function(super::rewrite::ADD, |a: Value, b: Value| {
        checkpoint()?;
        add(a, b)
    });
    env.add_function(super::rewrite::CAT, |a: Value, b: Value| {
        checkpoint()?;
        concat(a, b)
    });
    env.add_function(super::rewrite::DIV, |a: Value, b: Value| {
        checkpoint()?;
        divide(a, b)
    });
    env.add_function(super::rewrite::FLOORDIV, |a: Value, b: Value| {
        checkpoint()?;
        floor_divide(a, b)
    });
    env.add_function(
        super::rewrite::SLICE,
        |v: Value, start: Value, stop: Value, step: Value| {
            checkpoint()?;
            slice(v, start, stop, step)
        },
    );
    env.add_function(super::rewrite::POW, |a: Value, b: Value| {
        checkpoint()?;
        power(a, b)
    });
}

/// minijinja's `a * b`, `a + b` and `a ~ b`, compiled once in a plain
/// environment: the operators do not depend on the environment's settings.
static PLAIN: std::sync::LazyLock<Environment<'static>> =
    std::sync::LazyLock::new(Environment::new);

fn builtin(op: &'static str, a: Value, b: Value) -> Result<Value, Error> {
    static EXPRS: std::sync::LazyLock<
        Vec<(&'static str, minijinja::Expression<'static, 'static>)>,
    > = std::sync::LazyLock::new(|| {
        ["*", "+", "~", "/", "//", "**"]
            .into_iter()
            .filter_map(|op| {
                let src: &'static str = match op {
                    "*" => "a * b",
                    "+" => "a + b",
                    "/" => "a / b",
                    "//" => "a // b",
                    "**" => "a ** b",
                    _ => "a ~ b",
                };
                PLAIN.compile_expression(src).ok().map(|e| (op, e))
            })
            .collect()
    });
    let expr = EXPRS
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, e)| e)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "internal: operator missing"))?;
    expr.eval(minijinja::context! { a => a, b => b })
}

/// `__baton_div(a, b)`: `a / b`, refused as Python refuses it when `b` is
/// zero (`division by zero`; minijinja would answer infinity).
fn divide(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    if num(&a).is_some() && num(&b).is_some_and(|n| n.as_f64() == 0.0) {
        return Err(type_error(match (num(&a), num(&b)) {
            (Some(Num::Int(_)), Some(Num::Int(_))) => "division by zero".to_string(),
            _ => "float division by zero".to_string(),
        }));
    }
    builtin("/", a, b)
}

/// `__baton_pow(a, b)`: `a ** b` as Python computes it: a negative integer
/// exponent gives a float (`2 ** -1` is 0.5, where minijinja fails), a
/// negative base with a fractional exponent is refused (Python would give a
/// complex number), an integer result too large is refused by minijinja.
fn power(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(e))) if e >= 0 => int_power(x, e),
        (Some(x), Some(y)) => {
            let (x, y) = (x.as_f64(), y.as_f64());
            if x == 0.0 && y < 0.0 {
                return Err(type_error(
                    "0.0 cannot be raised to a negative power".to_string(),
                ));
            }
            let r = x.powf(y);
            if r.is_nan() {
                return Err(type_error(format!(
                    "{x} ** {y} is not a real number (Python gives a complex number)"
                )));
            }
            Ok(Value::from(r))
        }
        _ => builtin("**", a, b),
    }
}

/// `x ** e` for integers, exact as Python's while it fits in 128 bits
/// (`2 ** 126`, `10 ** 38`). Past that it is refused: baton's integers are
/// 128-bit, and digits kept as text would be a string to the next operator
/// (`10 ** 40 * 2` repeated the text: hostile trial t9d).
fn int_power(x: i128, e: i128) -> Result<Value, Error> {
    match x {
        0 => return Ok(Value::from(i64::from(e == 0))),
        1 => return Ok(Value::from(1)),
        -1 => return Ok(Value::from(if e % 2 == 0 { 1 } else { -1 })),
        _ => {}
    }
    if let Some(r) = u32::try_from(e).ok().and_then(|e| x.checked_pow(e)) {
        return Ok(Num::Int(r).value());
    }
    Err(type_error(format!(
        "{x} ** {e} is past 128 bits: baton's integers are 128-bit (Python's are unbounded); \
         use a float (`{x} ** {e}.0`) if an approximation will do"
    )))
}

/// `__baton_floordiv(a, b)`: `a // b`, with Python's message for a zero
/// divisor (minijinja's float `//` would answer NaN or infinity).
fn floor_divide(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    if num(&a).is_some() && num(&b).is_some_and(|n| n.as_f64() == 0.0) {
        return Err(type_error(match (num(&a), num(&b)) {
            (Some(Num::Int(_)), Some(Num::Int(_))) => {
                "integer division or modulo by zero".to_string()
            }
            _ => "float floor division by zero".to_string(),
        }));
    }
    builtin("//", a, b)
}

fn is_seq_like(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// `__baton_mul(a, b)`: `a * b`; a string or list repeated `n` times is
/// refused when `size × n` exceeds the cap.
fn multiply(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    let repeated = if a.kind() == ValueKind::String || is_seq_like(&a) {
        Some((&a, &b))
    } else if b.kind() == ValueKind::String || is_seq_like(&b) {
        Some((&b, &a))
    } else {
        None
    };
    if let Some((v, n)) = repeated {
        // Python repeats a string or list a negative number of times as
        // none (`'x' * -1` is `''`); minijinja refuses it
        if matches!(num(n), Some(Num::Int(k)) if k < 0) {
            return Ok(if v.kind() == ValueKind::String {
                Value::from("")
            } else {
                Value::from(Vec::<Value>::new())
            });
        }
        if let Some(n) = n.as_usize() {
            super::limit::check_product(super::limit::size(v), n, "'*'")?;
        }
    }
    builtin("*", a, b)
}

/// `__baton_add(a, b)`: `a + b`; strings and lists are refused when their
/// sizes add up to more than the cap.
fn add(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    if (a.kind() == ValueKind::String && b.kind() == ValueKind::String)
        || (is_seq_like(&a) && is_seq_like(&b))
    {
        super::limit::check_sum(super::limit::size(&a), super::limit::size(&b), "'+'")?;
    }
    builtin("+", a, b)
}

/// `__baton_cat(a, b)`: `a ~ b`, refused when the two texts add up to more
/// than the cap.
fn concat(a: Value, b: Value) -> Result<Value, Error> {
    super::limit::check_sum(super::limit::size(&a), super::limit::size(&b), "'~'")?;
    // `size` is a lower bound that looks at a few thousand items; a list or
    // mapping written out as text is walked against the cap first
    for v in [&a, &b] {
        if matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
        ) {
            super::native::check_walkable(v, "'~'")?;
        }
    }
    // `~` is str() of each side: a float as Python prints it (`1e-05`,
    // not minijinja's `0.00001`: trial t9d)
    let as_text = |v: Value| -> Result<Value, Error> {
        if v.kind() == ValueKind::Number && !v.is_integer() {
            Ok(Value::from(super::python_repr::py_str(&v)?))
        } else {
            Ok(v)
        }
    };
    builtin("~", as_text(a)?, as_text(b)?)
}

/// `base.k1.k2…` read by `default` or `is defined`, with Ansible's chainable
/// undefined: a step on an undefined value, a missing key or index, or a
/// value that has no such attribute (`1.b`) gives undefined instead of an
/// error, so `cfg.db.port | default(5432)` is 5432 when `cfg` has no `db`.
fn chain(base: Value, keys: Rest<Value>) -> Value {
    let mut v = base;
    for key in keys.iter() {
        if v.is_undefined() {
            break;
        }
        v = v.get_item(key).unwrap_or(Value::UNDEFINED);
    }
    v
}

fn type_error(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

fn undefined() -> Error {
    Error::from(ErrorKind::UndefinedError)
}

/// Python's name of a value's type, as its error messages print it.
pub fn py_type(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => datetime::py_type(v).unwrap_or("object"),
    }
}

/// A number as Python sees it: `bool` is an int.
#[derive(Clone, Copy)]
pub enum Num {
    Int(i128),
    Float(f64),
}

pub fn num(v: &Value) -> Option<Num> {
    match v.kind() {
        ValueKind::Bool => Some(Num::Int(i128::from(v.is_true()))),
        ValueKind::Number if v.is_integer() => i128::try_from(v.clone()).ok().map(Num::Int),
        ValueKind::Number => f64::try_from(v.clone()).ok().map(Num::Float),
        _ => None,
    }
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub fn value(self) -> Value {
        match self {
            Num::Int(i) => match i64::try_from(i) {
                Ok(small) => Value::from(small),
                Err(_) => Value::from(i),
            },
            Num::Float(f) => Value::from(f),
        }
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        _ => a.as_f64().partial_cmp(&b.as_f64()),
    }
}

/// `a op b` for `<`, `<=`, `>`, `>=`, `==`, `!=`, `in`, `not in`.
pub fn compare(a: &Value, op: &str, b: &Value) -> Result<bool, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    match op {
        "==" => return Ok(a == b),
        "!=" => return Ok(a != b),
        "in" => return contains(b, a),
        "not in" => return contains(b, a).map(|c| !c),
        _ => {}
    }
    let unsupported = || {
        type_error(format!(
            "'{op}' not supported between instances of '{}' and '{}'",
            py_type(a),
            py_type(b)
        ))
    };
    let ord = if let (Some(x), Some(y)) = (num(a), num(b)) {
        num_cmp(x, y)
    } else if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        // Python compares code points; UTF-8 byte order is the same order.
        Some(x.cmp(y))
    } else if is_seq(a) && is_seq(b) {
        return seq_compare(a, op, b);
    } else if let Some(ord) = datetime::compare(a, b) {
        ord
    } else {
        return Err(unsupported());
    };
    Ok(match ord {
        None => false, // NaN
        Some(o) => match op {
            "<" => o == Ordering::Less,
            "<=" => o != Ordering::Greater,
            ">" => o == Ordering::Greater,
            ">=" => o != Ordering::Less,
            _ => return Err(unsupported()),
        },
    })
}

fn is_seq(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// Python's list ordering: the first items that differ decide (compared
/// with `op`, which may raise), else the lengths.
fn seq_compare(a: &Value, op: &str, b: &Value) -> Result<bool, Error> {
    let xs: Vec<Value> = a.try_iter()?.collect();
    let ys: Vec<Value> = b.try_iter()?.collect();
    for (x, y) in xs.iter().zip(ys.iter()) {
        if x != y {
            return compare(x, op, y);
        }
    }
    let (n, m) = (xs.len(), ys.len());
    Ok(match op {
        "<" => n < m,
        "<=" => n <= m,
        ">" => n > m,
        _ => n >= m,
    })
}

/// Python's `item in container`.
pub fn contains(container: &Value, item: &Value) -> Result<bool, Error> {
    if container.is_undefined() || item.is_undefined() {
        return Err(undefined());
    }
    match container.kind() {
        ValueKind::String => match item.as_str() {
            Some(needle) => Ok(container.as_str().unwrap_or_default().contains(needle)),
            None => Err(type_error(format!(
                "'in <string>' requires string as left operand, not {}",
                py_type(item)
            ))),
        },
        ValueKind::Seq | ValueKind::Iterable => Ok(container.try_iter()?.any(|x| &x == item)),
        ValueKind::Map => {
            if matches!(item.kind(), ValueKind::Seq | ValueKind::Map) {
                return Err(type_error(format!("unhashable type: '{}'", py_type(item))));
            }
            Ok(!container.get_item(item)?.is_undefined())
        }
        _ => Err(type_error(format!(
            "argument of type '{}' is not iterable",
            py_type(container)
        ))),
    }
}

/// `__baton_cmp(a, op, b, op, c, ...)`: Python's chained comparison (each
/// pair must hold).
fn compare_chain(args: Rest<Value>) -> Result<bool, Error> {
    let args = args.0;
    if args.len() < 3 || args.len().is_multiple_of(2) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "internal: malformed comparison",
        ));
    }
    for i in (0..args.len() - 2).step_by(2) {
        let op = args[i + 1].as_str().unwrap_or_default();
        if !compare(&args[i], op, &args[i + 2])? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `__baton_mod(a, b[, tuple])`: string formatting or Python's modulo.
pub fn modulo(a: Value, b: Value, tuple: Option<bool>) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    if let Some(fmt) = a.as_str() {
        return percent::format(fmt, &b, tuple.unwrap_or(false)).map(Value::from);
    }
    let unsupported = || {
        type_error(format!(
            "unsupported operand type(s) for %: '{}' and '{}'",
            py_type(&a),
            py_type(&b)
        ))
    };
    let (Some(x), Some(y)) = (num(&a), num(&b)) else {
        return Err(unsupported());
    };
    match (x, y) {
        (Num::Int(_), Num::Int(0)) => Err(Error::new(
            ErrorKind::InvalidOperation,
            "integer modulo by zero",
        )),
        (Num::Int(x), Num::Int(y)) => {
            let r = x.checked_rem(y).unwrap_or(0);
            let r = if r != 0 && (r < 0) != (y < 0) {
                r + y
            } else {
                r
            };
            Ok(Num::Int(r).value())
        }
        (x, y) => {
            let (x, y) = (x.as_f64(), y.as_f64());
            if y == 0.0 {
                return Err(Error::new(ErrorKind::InvalidOperation, "float modulo"));
            }
            let r = x % y;
            let r = if r != 0.0 && (r < 0.0) != (y < 0.0) {
                r + y
            } else {
                r
            };
            Ok(Value::from(r))
        }
    }
}

/// `__baton_slice(v, start, stop, step)`: `v[start:stop:step]`. A negative
/// step over a string or a list is Python's slice, computed here in i128
/// (minijinja's own arithmetic overflows, a panic in debug builds, for
/// `[1, 2, 3][-1:5:-1]` or a step of i64::MIN); anything else is
/// minijinja's slice.
fn slice(v: Value, start: Value, stop: Value, step: Value) -> Result<Value, Error> {
    let index = |x: &Value| -> Option<Option<i128>> {
        match (x.kind(), num(x)) {
            (ValueKind::None, _) => Some(None),
            (_, Some(Num::Int(i))) => Some(Some(i)),
            _ => None,
        }
    };
    let items: Option<Vec<Value>> = match v.kind() {
        ValueKind::String => Some(
            v.as_str()
                .unwrap_or_default()
                .chars()
                .map(Value::from)
                .collect(),
        ),
        ValueKind::Seq | ValueKind::Iterable => v.try_iter().ok().map(Iterator::collect),
        _ => None,
    };
    let bounds = [index(&start), index(&stop), index(&step)];
    if items.is_some() && bounds.iter().any(Option::is_none) {
        return Err(type_error(
            "slice indices must be integers or None or have an __index__ method".to_string(),
        ));
    }
    if let (Some(items), [Some(a), Some(b), Some(Some(s))]) = (items, bounds) {
        if s < 0 {
            let n = items.len() as i128;
            let clamp = |i: i128| if i < 0 { (i + n).max(-1) } else { i.min(n - 1) };
            let mut i = a.map_or(n - 1, clamp);
            let end = b.map_or(-1, clamp);
            let mut picked = Vec::new();
            while i > end {
                if let Some(item) = usize::try_from(i).ok().and_then(|k| items.get(k)) {
                    picked.push(item.clone());
                }
                i += s;
            }
            return Ok(if v.kind() == ValueKind::String {
                Value::from(picked.iter().filter_map(Value::as_str).collect::<String>())
            } else {
                Value::from(picked)
            });
        }
    }
    PLAIN
        .compile_expression("v[a:b:c]")
        .and_then(|e| e.eval(minijinja::context! { v => v, a => start, b => stop, c => step }))
}

/// `__baton_sub(a, b)`: numbers, datetimes and timedeltas.
fn subtract(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_undefined() || b.is_undefined() {
        return Err(undefined());
    }
    if let Some(v) = datetime::subtract(&a, &b) {
        return v;
    }
    match (num(&a), num(&b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => x
            .checked_sub(y)
            .map(|r| Num::Int(r).value())
            .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "integer overflow")),
        (Some(x), Some(y)) => Ok(Value::from(x.as_f64() - y.as_f64())),
        _ => Err(type_error(format!(
            "unsupported operand type(s) for -: '{}' and '{}'",
            py_type(&a),
            py_type(&b)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::env::environment;
    use super::super::rewrite;
    use minijinja::Value;

    fn eval(expr: &str) -> Result<Value, String> {
        let env = environment();
        let src = rewrite::expression(expr).text;
        env.compile_expression_owned(src)
            .and_then(|e| e.eval(minijinja::context! { s10 => "10", n => 3, l => vec![1, 2] }))
            .map_err(|e| e.detail().unwrap_or_default().to_string())
    }

    #[test]
    fn ordering_of_different_types_is_refused_as_python_does() {
        assert_eq!(
            eval("'5' > 3").unwrap_err(),
            "'>' not supported between instances of 'str' and 'int'"
        );
        assert_eq!(
            eval("s10 > 3").unwrap_err(),
            "'>' not supported between instances of 'str' and 'int'"
        );
        assert_eq!(
            eval("none < 1").unwrap_err(),
            "'<' not supported between instances of 'NoneType' and 'int'"
        );
        assert_eq!(
            eval("{} < {}").unwrap_err(),
            "'<' not supported between instances of 'dict' and 'dict'"
        );
        assert_eq!(
            eval("[1] < ['a']").unwrap_err(),
            "'<' not supported between instances of 'int' and 'str'"
        );
        assert_eq!(
            eval("0 < s10 <= 9").unwrap_err(),
            "'<' not supported between instances of 'int' and 'str'"
        );
    }

    #[test]
    fn ordering_of_compatible_types_answers() {
        for (e, want) in [
            ("s10 | int > 3", true),
            ("'a' < 'b'", true),
            ("true < 2", true),
            ("1.5 >= 1", true),
            ("[1, 2] < [1, 3]", true),
            ("[1] < [1, 'a']", true),
            ("0 < n <= 3", true),
            ("0 < n < 3", false),
            ("'5' == 5", false),
            ("'5' != 5", true),
            ("1 == 1.0", true),
        ] {
            assert_eq!(eval(e).unwrap(), Value::from(want), "{e}");
        }
    }

    #[test]
    fn membership_as_python() {
        assert_eq!(eval("'a' in 'abc'").unwrap(), Value::from(true));
        assert_eq!(eval("2 in l and 3 not in l").unwrap(), Value::from(true));
        assert_eq!(eval("'k' in {'k': 1}").unwrap(), Value::from(true));
        assert_eq!(
            eval("5 in 'abc'").unwrap_err(),
            "'in <string>' requires string as left operand, not int"
        );
        assert_eq!(
            eval("'a' in 5").unwrap_err(),
            "argument of type 'int' is not iterable"
        );
    }

    #[test]
    fn modulo_and_subtraction_as_python() {
        assert_eq!(eval("-7 % 3").unwrap(), Value::from(2));
        assert_eq!(eval("7 % -3").unwrap(), Value::from(-2));
        assert_eq!(eval("7.5 % 2").unwrap(), Value::from(1.5));
        assert_eq!(eval("n - 1").unwrap(), Value::from(2));
        assert_eq!(
            eval("s10 - 1").unwrap_err(),
            "unsupported operand type(s) for -: 'str' and 'int'"
        );
        assert_eq!(eval("1 % 0").unwrap_err(), "integer modulo by zero");
        // ZeroDivisionError as Python words it (minijinja gives inf/NaN)
        assert_eq!(eval("1 / 0").unwrap_err(), "division by zero");
        assert_eq!(eval("1.5 / 0").unwrap_err(), "float division by zero");
        assert_eq!(eval("n / 0.0").unwrap_err(), "float division by zero");
        assert_eq!(
            eval("1 // 0").unwrap_err(),
            "integer division or modulo by zero"
        );
        assert_eq!(
            eval("1 // 0.0").unwrap_err(),
            "float floor division by zero"
        );
        assert_eq!(eval("n / 2").unwrap(), Value::from(1.5));
        assert_eq!(eval("7 // 2").unwrap(), Value::from(3));
        assert_eq!(eval("-7 // 2").unwrap(), Value::from(-4));
    }

    /// Python's slices with a negative step; minijinja's arithmetic
    /// overflowed (a panic in debug builds) on the first and last rows.
    #[test]
    fn slices_with_a_negative_step_as_python() {
        let show = |e: &str| eval(e).map(|v| super::super::python_repr::py_str(&v).unwrap());
        for (expr, python) in [
            ("[1, 2, 3][-1:5:-1]", "[]"),
            ("[1, 2, 3][::-1]", "[3, 2, 1]"),
            ("[1, 2, 3][::-2]", "[3, 1]"),
            ("[1, 2, 3][5:0:-1]", "[3, 2]"),
            ("[1, 2, 3][-2:-9:-1]", "[2, 1]"),
            ("'abc'[::-1]", "cba"),
            ("range(5)[::-2]", "[4, 2, 0]"),
            ("[1, 2, 3][0:2:1]", "[1, 2]"),
            ("[1, 2, 3][::(-9223372036854775807 - 1)]", "[3]"),
        ] {
            assert_eq!(show(expr).as_deref(), Ok(python), "{expr}");
        }
        assert!(eval("[1, 2, 3][1:2.0:-1]")
            .unwrap_err()
            .contains("slice indices must be integers"));
    }

    #[test]
    fn power_as_python() {
        assert_eq!(eval("2 ** -1").unwrap(), Value::from(0.5));
        assert_eq!(eval("n ** 2").unwrap(), Value::from(9));
        assert_eq!(eval("4 ** 0.5").unwrap(), Value::from(2.0));
        assert_eq!(eval("(-8) ** 2").unwrap(), Value::from(64));
        assert!(eval("(-8) ** 0.5")
            .unwrap_err()
            .contains("not a real number"));
        assert!(eval("0 ** -1").unwrap_err().contains("negative power"));
        // past i128: refused, never digits a later operator takes as text
        // (trial t9d: `10 ** 40 * 2` repeated the text)
        for big in ["10 ** 40", "(-3) ** 101", "2 ** 200", "2 ** 127"] {
            assert!(eval(big).unwrap_err().contains("past 128 bits"), "{big}");
        }
        assert_eq!(
            eval("2 ** 100").unwrap().to_string(),
            "1267650600228229401496703205376"
        );
        assert_eq!(
            eval("(-2) ** 127").unwrap().to_string(),
            "-170141183460469231731687303715884105728"
        );
        assert_eq!(eval("1 ** 99999999999").unwrap(), Value::from(1));
        assert_eq!(eval("(-1) ** 99999999999").unwrap(), Value::from(-1));
        assert_eq!(eval("0 ** 0").unwrap(), Value::from(1));
        assert!(eval("7 ** 99999999999")
            .unwrap_err()
            .contains("past 128 bits"));
    }

    #[test]
    fn multiply_add_and_concat_keep_minijinja_semantics() {
        // str() of a float is Python's repr (trial t9d: `'x' ~ 1e-5`)
        assert_eq!(eval("'x' ~ 1e-5").unwrap(), Value::from("x1e-05"));
        assert_eq!(eval("1.5e-10 ~ ''").unwrap(), Value::from("1.5e-10"));
        assert_eq!(eval("'v' ~ 2.5 ~ 3").unwrap(), Value::from("v2.53"));
        for (e, want) in [
            ("'ab' * 3", Value::from("ababab")),
            // trial case 110: Python's `'x' * -1` is ''
            ("'x' * -1", Value::from("")),
            ("-2 * 'x'", Value::from("")),
            ("[1] * -3", Value::from(Vec::<i32>::new())),
            ("3 * 'ab'", Value::from("ababab")),
            ("[1, 2] + [3]", Value::from(vec![1, 2, 3])),
            ("[1] * 3", Value::from(vec![1, 1, 1])),
            ("'a' ~ 1", Value::from("a1")),
            ("'a' + 'b'", Value::from("ab")),
            ("2 * 3 + 1", Value::from(7)),
            ("1.5 * 2", Value::from(3.0)),
            ("n * 2 + 0.5", Value::from(6.5)),
            ("true + 1", Value::from(2)),
        ] {
            let got = eval(e).unwrap();
            // lazy sequences compare by items
            assert_eq!(got.to_string(), want.to_string(), "{e}");
        }
        // integer overflow stays minijinja's error, not a wrap
        assert!(eval("170141183460469231731687303715884105727 + 1")
            .unwrap_err()
            .contains("unable to calculate"));
        assert!(eval("'a' * 'b'").is_err());
        assert!(eval("l + 1").is_err());
    }

    #[test]
    fn growing_operators_refuse_values_over_the_cap() {
        for e in [
            "'x' * 100000000",
            "[1] * 1000000000",
            "('x' * 10000000) ~ ('x' * 10000000)",
        ] {
            let err = eval(e).unwrap_err();
            assert!(err.contains("exceeds baton's 16 MiB limit"), "{e}: {err}");
        }
        assert_eq!(
            eval("('x' * 16777216) | length").unwrap(),
            Value::from(16777216)
        );
    }

    #[test]
    fn undefined_operands_stay_undefined_errors() {
        let env = environment();
        let src = rewrite::expression("nope > 1").text;
        let err = env
            .compile_expression_owned(src)
            .and_then(|e| e.eval(()))
            .unwrap_err();
        assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError);
    }
}
