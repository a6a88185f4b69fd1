//! Ansible's math and combinatorics filters: `log`, `pow`, `root`,
//! `human_readable`, `human_to_bytes`, `product`, `permutations`,
//! `combinations`, `rekey_on_member`.
//!
//! Source: ansible-core `plugins/filter/mathstuff.py` and
//! `module_utils/common/text/formatters.py` (`bytes_to_human`,
//! `human_to_bytes`); the combinatorics are Python's `itertools`, whose
//! tuples print as lists here.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::ops::{num, py_type};
use super::python_repr::py_str;

pub const NAMES: &[&str] = &[
    "log",
    "pow",
    "root",
    "human_readable",
    "human_to_bytes",
    "product",
    "permutations",
    "combinations",
    "rekey_on_member",
];

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("log", log);
    env.add_filter("pow", |x: Value, y: Value| -> Result<f64, Error> {
        math_pow(float(&x, "pow")?, float(&y, "pow")?).map_err(|e| err(format!("pow: {e}")))
    });
    env.add_filter(
        "root",
        |x: Value, base: Option<Value>| -> Result<f64, Error> {
            let x = float(&x, "root")?;
            // Ansible: math.sqrt, or math.pow(x, 1.0 / base); a ValueError
            // is reported as `root() can only be used on numbers: ...`
            let domain = |e: &str| match e {
                "math domain error" => err(format!("root() can only be used on numbers: {e}")),
                _ => err(format!("root: {e}")),
            };
            let b = match base {
                None => 2.0,
                Some(b) => float(&b, "root")?,
            };
            if b == 2.0 {
                return if x < 0.0 {
                    Err(domain("math domain error"))
                } else {
                    Ok(x.sqrt())
                };
            }
            if b == 0.0 {
                return Err(err("root: float division by zero"));
            }
            math_pow(x, 1.0 / b).map_err(domain)
        },
    );
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
    env.add_filter("product", product);
    env.add_filter("permutations", permutations);
    env.add_filter("combinations", combinations);
    env.add_filter("rekey_on_member", rekey_on_member);
}

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn float(v: &Value, filter: &str) -> Result<f64, Error> {
    num(v)
        .map(super::ops::Num::as_f64)
        .ok_or_else(|| err(format!("{filter}() can only be used on numbers")))
}

/// Python's `math.pow`: a NaN from finite operands (`-8 ** (1/3)`, `0 **
/// -1`) is `math domain error`, an infinity from finite operands `math
/// range error` (OverflowError); ansible-core fails the task with either
/// (issue 9, trial cases 180 and 181), where `powf` gave NaN or inf.
fn math_pow(x: f64, y: f64) -> Result<f64, &'static str> {
    let r = x.powf(y);
    let finite = x.is_finite() && y.is_finite();
    if finite && (r.is_nan() || (x == 0.0 && y < 0.0)) {
        return Err("math domain error");
    }
    if finite && r.is_infinite() {
        return Err("math range error");
    }
    Ok(r)
}

/// `log(base=e)`: Python's `math.log(x, base)`, which is `log(x) /
/// log(base)`: base 1 divides by zero (issue 9, trial case 178).
fn log(x: Value, base: Option<Value>) -> Result<f64, Error> {
    let x = float(&x, "log")?;
    if x <= 0.0 {
        return Err(err("log: math domain error"));
    }
    Ok(match base {
        None => x.ln(),
        Some(b) => {
            let b = float(&b, "log")?;
            if b <= 0.0 {
                return Err(err("log: math domain error"));
            }
            if b == 1.0 {
                return Err(err("log: float division by zero"));
            }
            if b == 10.0 {
                x.log10()
            } else {
                x.ln() / b.ln()
            }
        }
    })
}

const SIZE_RANGES: &[(char, f64)] = &[
    ('Y', 1_208_925_819_614_629_174_706_176.0), // 1 << 80
    ('Z', 1_180_591_620_717_411_303_424.0),     // 1 << 70
    ('E', 1_152_921_504_606_846_976.0),         // 1 << 60
    ('P', 1_125_899_906_842_624.0),
    ('T', 1_099_511_627_776.0),
    ('G', 1_073_741_824.0),
    ('M', 1_048_576.0),
    ('K', 1024.0),
    ('B', 1.0),
];

/// `human_readable(isbits=False, unit=None)`: `1.50 KB`, `0.00 Bytes`.
fn human_readable(
    size: Value,
    isbits: Option<bool>,
    unit: Option<String>,
    kw: Kwargs,
) -> Result<String, Error> {
    let isbits = match isbits {
        Some(b) => b,
        None => kw.get::<Option<bool>>("isbits")?.unwrap_or(false),
    };
    let unit = match unit {
        Some(u) => Some(u),
        None => kw.get::<Option<String>>("unit")?,
    };
    kw.assert_all_used()?;
    let size = num(&size)
        .map(super::ops::Num::as_f64)
        .ok_or_else(|| err("human_readable() failed on bad input"))?;
    let base = if isbits { "bits" } else { "Bytes" };
    let mut chosen = ('B', 1.0);
    for &(suffix, limit) in SIZE_RANGES {
        chosen = (suffix, limit);
        let hit = match &unit {
            None => size >= limit,
            Some(u) => u.to_uppercase().starts_with(suffix),
        };
        if hit {
            break;
        }
    }
    let (suffix, limit) = chosen;
    let suffix = if limit != 1.0 {
        format!("{suffix}{}", &base[..1])
    } else {
        base.to_string()
    };
    Ok(format!("{:.2} {suffix}", size / limit))
}

/// `human_to_bytes(default_unit=None, isbits=False)`: `'1.5 MB'` is 1572864.
fn human_to_bytes(
    size: Value,
    default_unit: Option<String>,
    isbits: Option<bool>,
    kw: Kwargs,
) -> Result<i64, Error> {
    let default_unit = match default_unit {
        Some(u) => Some(u),
        None => kw.get::<Option<String>>("default_unit")?,
    };
    let isbits = match isbits {
        Some(b) => b,
        None => kw.get::<Option<bool>>("isbits")?.unwrap_or(false),
    };
    kw.assert_all_used()?;
    let text = py_str(&size)?;
    let fail = |why: String| err(format!("human_to_bytes() can't interpret the input: {why}"));
    // ^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$
    let t = text.trim_end();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, rest) = t.split_at(split);
    let unit = rest.trim_start();
    let valid_number =
        !number.is_empty() && number.matches('.').count() <= 1 && !number.ends_with('.');
    if !valid_number || !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(fail(format!("can't interpret following string: {text}")));
    }
    let n: f64 = number
        .parse()
        .map_err(|_| fail(format!("can't interpret following number: {number}")))?;
    let unit = if unit.is_empty() {
        default_unit
    } else {
        Some(unit.to_string())
    };
    let Some(unit) = unit else {
        return Ok(n.round_ties_even() as i64);
    };
    let key = unit
        .chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('B');
    let Some(&(_, limit)) = SIZE_RANGES.iter().find(|(k, _)| *k == key) else {
        return Err(fail(format!(
            "failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        )));
    };
    if unit.len() > 1 {
        let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
        let long = match key {
            'B' => class_name.to_string(),
            'K' => format!("kilo{class_name}"),
            'M' => format!("mega{class_name}"),
            'G' => format!("giga{class_name}"),
            'T' => format!("tera{class_name}"),
            'P' => format!("peta{class_name}"),
            'E' => format!("exa{class_name}"),
            'Z' => format!("zeta{class_name}"),
            _ => format!("yotta{class_name}"),
        };
        let short = if key == 'B' {
            class.to_string()
        } else {
            format!("{key}{class}")
        };
        if unit.to_lowercase() != long && unit != short {
            let expect = if key == 'B' {
                format!("expect {class} or {class_name}")
            } else {
                format!("expect {key}{class} or {key}")
            };
            return Err(fail(format!(
                "failed to convert {text}. Value is not a valid string ({expect})"
            )));
        }
    }
    Ok((n * limit).round_ties_even() as i64)
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::String => Ok(v
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect()),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => Ok(v.try_iter()?.collect()),
        _ => Err(err(format!("'{}' object is not iterable", py_type(v)))),
    }
}

/// `product(*lists, repeat=1)`: the cartesian product.
fn product(first: Value, rest: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let repeat = kw.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kw.assert_all_used()?;
    let mut pools = vec![items(&first)?];
    for r in rest.iter() {
        pools.push(items(r)?);
    }
    // Count before building anything: `repeat` copies the pools, and the
    // product of the lengths overflows `usize` long before it is built.
    if repeat == 0 {
        // itertools: one empty combination
        return Ok(Value::from(vec![Value::from(Vec::<Value>::new())]));
    }
    let lens = pools.iter().map(Vec::len);
    let count = if pools.iter().any(Vec::is_empty) {
        Some(0)
    } else if repeat > 64 && pools.iter().any(|p| p.len() > 1) {
        None
    } else {
        crate::bounds::combinations((0..repeat).flat_map(|_| lens.clone()))
    };
    let Some(total) = count else {
        return Err(err(format!(
            "product: more than the {} combinations baton allows in one value; use fewer or shorter lists",
            crate::bounds::MAX_LOOP_ITEMS
        )));
    };
    if total == 0 {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    // Each item of a pool appears in total / len combinations.
    let bytes = pools.iter().fold(0usize, |sum, pool| {
        let each = total / pool.len();
        let pool_bytes = pool
            .iter()
            .fold(0usize, |b, v| b.saturating_add(super::limit::size(v)));
        sum.saturating_add(pool_bytes.saturating_mul(each).saturating_mul(repeat))
    });
    super::limit::check(bytes, "product")?;
    // each combination a list of one item from each pool
    let width = pools.len().saturating_mul(repeat);
    super::grow::charge(total.saturating_mul(1 + width), 0, 0, "product")?;
    let pools: Vec<Vec<Value>> = (0..repeat).flat_map(|_| pools.clone()).collect();
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                pool.iter().map(move |x| {
                    let mut p = prefix.clone();
                    p.push(x.clone());
                    p
                })
            })
            .collect();
    }
    Ok(Value::from(
        out.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// Index tuples of `r` out of `n`, in itertools' order.
fn combos(n: usize, r: usize, out: &mut Vec<Vec<usize>>, cur: &mut Vec<usize>, start: usize) {
    if cur.len() == r {
        out.push(cur.clone());
        return;
    }
    for i in start..n {
        cur.push(i);
        combos(n, r, out, cur, i + 1);
        cur.pop();
    }
}

fn perms(n: usize, r: usize, out: &mut Vec<Vec<usize>>, cur: &mut Vec<usize>) {
    if cur.len() == r {
        out.push(cur.clone());
        return;
    }
    for i in 0..n {
        if !cur.contains(&i) {
            cur.push(i);
            perms(n, r, out, cur);
            cur.pop();
        }
    }
}

fn pick(pool: &[Value], idx: Vec<Vec<usize>>) -> Value {
    Value::from(
        idx.into_iter()
            .map(|t| Value::from(t.into_iter().map(|i| pool[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    )
}

fn guard(count: f64) -> Result<(), Error> {
    if count > 1_000_000.0 {
        return Err(err("more than 1,000,000 results"));
    }
    Ok(())
}

/// itertools' check of `r`: Python's message where a `usize` conversion
/// would say "cannot convert number to usize".
fn non_negative(r: i64) -> Result<usize, Error> {
    usize::try_from(r).map_err(|_| err("r must be non-negative"))
}

/// `permutations(r=None)`.
fn permutations(v: Value, r: Option<i64>, kw: Kwargs) -> Result<Value, Error> {
    let r = match r {
        Some(r) => Some(r),
        None => kw.get::<Option<i64>>("r")?,
    };
    kw.assert_all_used()?;
    let r = r.map(non_negative).transpose()?;
    let pool = items(&v)?;
    let n = pool.len();
    let r = r.unwrap_or(n);
    if r > n {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let count: f64 = ((n - r + 1)..=n).map(|x| x as f64).product();
    guard(count)?;
    super::grow::charge((count as usize).saturating_mul(r + 1), 0, 0, "permutations")?;
    let mut out = Vec::new();
    perms(n, r, &mut out, &mut Vec::new());
    Ok(pick(&pool, out))
}

/// `combinations(r)`.
fn combinations(v: Value, r: Option<i64>, kw: Kwargs) -> Result<Value, Error> {
    let r = match r {
        Some(r) => r,
        None => kw
            .get::<Option<i64>>("r")?
            .ok_or_else(|| err("combinations() missing required argument 'r'"))?,
    };
    kw.assert_all_used()?;
    let r = non_negative(r)?;
    let pool = items(&v)?;
    let n = pool.len();
    if r > n {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let count: f64 = (0..r).map(|i| (n - i) as f64 / (i + 1) as f64).product();
    guard(count)?;
    super::grow::charge((count as usize).saturating_mul(r + 1), 0, 0, "combinations")?;
    let mut out = Vec::new();
    combos(n, r, &mut out, &mut Vec::new(), 0);
    Ok(pick(&pool, out))
}

/// `rekey_on_member(key, duplicates='error')`: a mapping from each item's
/// `key` to the item.
fn rekey_on_member(
    data: Value,
    key: Value,
    duplicates: Option<String>,
    kw: Kwargs,
) -> Result<Value, Error> {
    let duplicates = match duplicates {
        Some(d) => d,
        None => kw
            .get::<Option<String>>("duplicates")?
            .unwrap_or_else(|| "error".into()),
    };
    kw.assert_all_used()?;
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(err(format!(
            "duplicates parameter to rekey_on_member has unknown value '{duplicates}'"
        )));
    }
    let list: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(err("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in list {
        if item.kind() != ValueKind::Map {
            return Err(err("List item is not a valid dict"));
        }
        let k = item.get_item(&key)?;
        if k.is_undefined() {
            return Err(err(format!("Key '{}' was not found.", py_str(&key)?)));
        }
        match out.iter_mut().find(|(x, _)| *x == k) {
            Some(_) if duplicates == "error" => {
                return Err(err(format!(
                    "Key '{}' is not unique, cannot convert to dict.",
                    py_str(&k)?
                )))
            }
            Some(slot) => slot.1 = item,
            None => out.push((k, item)),
        }
    }
    Ok(Value::from_iter(out))
}

#[cfg(test)]
mod tests {
    use crate::plan::jinja::eval_py as eval;

    /// Expected values: what ansible-core 2.19 printed.
    #[test]
    fn as_ansible_prints_them() {
        for (e, want) in [
            ("[1,2] | product(['a','b']) | list", "[[1, 'a'], [1, 'b'], [2, 'a'], [2, 'b']]"),
            ("'abc' | product('xy') | list | length", "6"),
            ("[1,2,3] | combinations(2) | list", "[[1, 2], [1, 3], [2, 3]]"),
            ("[1,2,3] | permutations(2) | list", "[[1, 2], [1, 3], [2, 1], [2, 3], [3, 1], [3, 2]]"),
            ("[1,2,3] | permutations | list | length", "6"),
            ("100 | log(10)", "2.0"),
            ("8 | log(2)", "3.0"),
            ("2 | pow(10)", "1024.0"),
            ("16 | root", "4.0"),
            ("27 | root(3)", "3.0"),
            ("1024 | human_readable", "1.00 KB"),
            ("1536 | human_readable", "1.50 KB"),
            ("1048576 | human_readable(unit='K')", "1024.00 KB"),
            ("1000 | human_readable(isbits=true)", "1000.00 bits"),
            ("0 | human_readable", "0.00 Bytes"),
            ("'1K' | human_to_bytes", "1024"),
            ("'1.5 MB' | human_to_bytes", "1572864"),
            ("'10Mb' | human_to_bytes(isbits=true)", "10485760"),
            ("'100' | human_to_bytes", "100"),
            ("'2' | human_to_bytes('M')", "2097152"),
            (
                "{'a': {'id': 1, 'n': 'x'}, 'b': {'id': 2, 'n': 'y'}} | rekey_on_member('n')",
                "{'x': {'id': 1, 'n': 'x'}, 'y': {'id': 2, 'n': 'y'}}",
            ),
            (
                "[{'id': 1, 'n': 'x'}, {'id': 2, 'n': 'x'}] | rekey_on_member('n', duplicates='overwrite')",
                "{'x': {'id': 2, 'n': 'x'}}",
            ),
        ] {
            assert_eq!(eval(e), want, "{e}");
        }
        // itertools: "r must be non-negative" (ansible-core 2.19 shows it)
        for e in [
            "[1, 2] | permutations(-1) | list",
            "[1, 2] | combinations(r=-1) | list",
        ] {
            assert!(
                eval(e).contains("r must be non-negative"),
                "{e}: {}",
                eval(e)
            );
        }
        assert!(eval("'1 KiB' | human_to_bytes").contains("expect KB or K"));
        assert!(eval("[{'n': 1}, {'n': 1}] | rekey_on_member('n')").contains("not unique"));
    }

    #[test]
    fn product_is_counted_before_it_is_built() {
        for e in [
            "range(100) | product(range(100), range(100), range(100)) | list | length",
            // 100^12 overflows usize; repeat copies the pools
            "range(100) | product(range(100), repeat=6) | list | length",
            "[1, 2] | product(repeat=1000000000) | list | length",
        ] {
            let got = eval(e);
            assert!(
                got.contains("more than the 1000000 combinations"),
                "{e}: {got}"
            );
        }
        // under the count, over the size cap
        let got = eval("[('x' * 1000000)] | product(range(100)) | list | length");
        assert!(got.contains("16 MiB limit"), "{got}");
        assert_eq!(
            eval("range(100) | product(range(100)) | list | length"),
            "10000"
        );
        assert_eq!(eval("[1] | product(repeat=0) | list"), "[[]]");
        assert_eq!(eval("[] | product(range(100), repeat=100) | list"), "[]");
    }
}
