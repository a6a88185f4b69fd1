//! Ansible's filters that minijinja does not have, or has with other
//! semantics. Each follows the Ansible filter documentation
//! (docs.ansible.com, `ansible.builtin.*` filters); minijinja's builtins
//! (`default`/`d`, `join`, `length`, `lower`, `upper`, `replace`, `trim`,
//! `split`, `first`, `last`, `unique`, `sort`, `min`, `max`, `sum`, `map`,
//! `select`, `reject`, `selectattr`, `rejectattr`, `list`, `items`, `zip`...)
//! are used as they are.

use base64::Engine as _;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;
use sha2::Digest;

use super::native::{from_json, to_json};
use super::pyformat;
use super::python_repr::py_str;
use super::regex;

/// Filters added to (or replacing) minijinja's builtins.
pub const NAMES: &[&str] = &[
    "bool",
    "int",
    "float",
    "string",
    "capitalize",
    "union",
    "difference",
    "intersect",
    "symmetric_difference",
    "combine",
    "dict2items",
    "items2dict",
    "dict",
    "zip",
    "zip_longest",
    "flatten",
    "to_json",
    "to_nice_json",
    "from_json",
    "to_yaml",
    "to_nice_yaml",
    "from_yaml",
    "b64encode",
    "b64decode",
    "basename",
    "dirname",
    "quote",
    "ternary",
    "mandatory",
    "regex_search",
    "regex_replace",
    "regex_findall",
    "regex_escape",
    "hash",
    "checksum",
    "extract",
    "type_debug",
    "splitext",
    "realpath",
    "strftime",
    "to_datetime",
];

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("string", |v: Value| py_str(&v));
    env.add_filter("capitalize", capitalize);
    env.add_filter("union", |a: Value, b: Value| set_op(a, b, SetOp::Union));
    env.add_filter("difference", |a: Value, b: Value| {
        set_op(a, b, SetOp::Difference)
    });
    env.add_filter("intersect", |a: Value, b: Value| {
        set_op(a, b, SetOp::Intersect)
    });
    env.add_filter("symmetric_difference", |a: Value, b: Value| {
        set_op(a, b, SetOp::Symmetric)
    });
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("dict", dict);
    env.add_function("dict", dict_function);
    env.add_filter("zip", |a: Value, rest: minijinja::value::Rest<Value>| {
        zip(a, rest.0, false)
    });
    env.add_filter(
        "zip_longest",
        |a: Value, rest: minijinja::value::Rest<Value>| zip(a, rest.0, true),
    );
    env.add_filter("flatten", flatten);
    env.add_filter("to_json", |v: Value, kw: Kwargs| {
        json_text(&v, kw, None, false)
    });
    env.add_filter("to_nice_json", |v: Value, kw: Kwargs| {
        json_text(&v, kw, Some(4), true)
    });
    env.add_filter("from_json", from_json_filter);
    env.add_filter("to_yaml", |v: Value, kw: Kwargs| yaml_text(&v, kw, 2, true));
    env.add_filter("to_nice_yaml", |v: Value, kw: Kwargs| {
        yaml_text(&v, kw, 4, false)
    });
    env.add_filter("from_yaml", from_yaml_filter);
    env.add_filter("b64encode", |s: String| {
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    });
    env.add_filter("b64decode", b64decode);
    env.add_filter("basename", |s: String| {
        s.rsplit('/').next().unwrap_or_default().to_string()
    });
    env.add_filter("dirname", dirname);
    env.add_filter("splitext", splitext);
    env.add_filter("realpath", |s: String| s);
    env.add_filter("quote", |v: Value| shell_quote(&py_str(&v)));
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", |s: String| {
        fancy_regex::escape(&s).into_owned()
    });
    env.add_filter("hash", |s: Value, algo: Option<String>| {
        hash(&py_str(&s), algo.as_deref().unwrap_or("sha1"))
    });
    env.add_filter("checksum", |s: Value| hash(&py_str(&s), "sha1"));
    env.add_filter("extract", extract);
    env.add_filter("type_debug", type_debug);
    env.add_filter("strftime", super::datetime::strftime);
    env.add_filter("to_datetime", super::datetime::to_datetime);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Ansible's `bool`: true for `true yes on 1 y t` (any case) and true values;
/// other strings are false.
pub fn to_bool(v: Value) -> bool {
    match v.kind() {
        ValueKind::String => matches!(
            v.as_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "true" | "yes" | "on" | "1" | "y" | "t"
        ),
        ValueKind::Number => v.as_i64().map_or_else(|| v.is_true(), |i| i == 1),
        _ => v.is_true(),
    }
}

/// Ansible's `int(default=0, base=10)`: unparsable text gives the default.
fn to_int(v: Value, default: Option<Value>, base: Option<u32>) -> Value {
    let fallback = default.unwrap_or(Value::from(0));
    match v.kind() {
        ValueKind::Bool => Value::from(i64::from(v.is_true())),
        ValueKind::Number => v
            .as_i64()
            .map(Value::from)
            .or_else(|| {
                f64::try_from(v.clone())
                    .ok()
                    .map(|f| Value::from(f.trunc() as i64))
            })
            .unwrap_or(fallback),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().trim();
            let radix = base.unwrap_or(10);
            let digits = match radix {
                16 => s.trim_start_matches("0x").trim_start_matches("0X"),
                8 => s.trim_start_matches("0o"),
                2 => s.trim_start_matches("0b"),
                _ => s,
            };
            i64::from_str_radix(digits, radix)
                .map(Value::from)
                .ok()
                .or_else(|| {
                    (radix == 10)
                        .then(|| s.parse::<f64>().ok())
                        .flatten()
                        .map(|f| Value::from(f.trunc() as i64))
                })
                .unwrap_or(fallback)
        }
        _ => fallback,
    }
}

fn to_float(v: Value, default: Option<Value>) -> Value {
    let fallback = default.unwrap_or(Value::from(0.0));
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(v.clone())
            .map(Value::from)
            .unwrap_or(fallback),
        ValueKind::String => v
            .as_str()
            .unwrap_or_default()
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(fallback),
        _ => fallback,
    }
}

fn capitalize(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

enum SetOp {
    Union,
    Difference,
    Intersect,
    Symmetric,
}

fn list_of(v: &Value, what: &str) -> Result<Vec<Json>, Error> {
    match to_json(v) {
        Json::Array(items) => Ok(items),
        Json::String(s) => Ok(s.chars().map(|c| Json::String(c.to_string())).collect()),
        other => Err(invalid(format!("{what} expects a list, got {other}"))),
    }
}

/// Ansible's set filters: the result keeps first-seen order, without duplicates.
fn set_op(a: Value, b: Value, op: SetOp) -> Result<Value, Error> {
    let a = list_of(&a, "the set filter")?;
    let b = list_of(&b, "the set filter")?;
    let mut out: Vec<Json> = Vec::new();
    let mut push = |x: &Json| {
        if !out.contains(x) {
            out.push(x.clone());
        }
    };
    match op {
        SetOp::Union => a.iter().chain(b.iter()).for_each(&mut push),
        SetOp::Difference => a.iter().filter(|x| !b.contains(x)).for_each(&mut push),
        SetOp::Intersect => a.iter().filter(|x| b.contains(x)).for_each(&mut push),
        SetOp::Symmetric => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .for_each(&mut push),
    }
    Ok(from_json(&Json::Array(out)))
}

/// `combine(*dicts, recursive=False, list_merge='replace')`.
fn combine(
    base: Value,
    rest: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let recursive: bool = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge: String = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    let mut acc = to_json(&base);
    if !acc.is_object() {
        return Err(invalid("combine expects dictionaries"));
    }
    let mut others = Vec::new();
    for v in rest.0.iter() {
        match to_json(v) {
            Json::Array(items) => others.extend(items),
            other => others.push(other),
        }
    }
    for other in others {
        if !other.is_object() {
            return Err(invalid("combine expects dictionaries"));
        }
        merge(&mut acc, other, recursive, &list_merge);
    }
    Ok(from_json(&acc))
}

fn merge(acc: &mut Json, other: Json, recursive: bool, list_merge: &str) {
    match (acc, other) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if recursive && existing.is_object() && v.is_object() => {
                        merge(existing, v, recursive, list_merge)
                    }
                    Some(Json::Array(existing)) if v.is_array() && list_merge != "replace" => {
                        let new = match v {
                            Json::Array(n) => n,
                            _ => Vec::new(),
                        };
                        match list_merge {
                            "append" => existing.extend(new),
                            "prepend" => {
                                let old = std::mem::take(existing);
                                *existing = new.into_iter().chain(old).collect();
                            }
                            "append_rp" => {
                                existing.retain(|x| !new.contains(x));
                                existing.extend(new);
                            }
                            "prepend_rp" => {
                                let old: Vec<Json> = std::mem::take(existing)
                                    .into_iter()
                                    .filter(|x| !new.contains(x))
                                    .collect();
                                *existing = new.into_iter().chain(old).collect();
                            }
                            "keep" => {}
                            _ => *existing = new,
                        }
                    }
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (acc, other) => *acc = other,
    }
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    match to_json(&v) {
        Json::Object(m) => Ok(from_json(&Json::Array(
            m.into_iter()
                .map(|(k, v)| {
                    let mut item = serde_json::Map::new();
                    item.insert(key_name.clone(), Json::String(k));
                    item.insert(value_name.clone(), v);
                    Json::Object(item)
                })
                .collect(),
        ))),
        other => Err(invalid(format!(
            "dict2items expects a dictionary, got {other}"
        ))),
    }
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    let mut out = serde_json::Map::new();
    for item in list_of(&v, "items2dict")? {
        let key = item
            .get(&key_name)
            .ok_or_else(|| invalid(format!("items2dict: an item has no `{key_name}`")))?;
        let key = match key {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.insert(key, item.get(&value_name).cloned().unwrap_or(Json::Null));
    }
    Ok(from_json(&Json::Object(out)))
}

/// A list of pairs as a mapping (`keys | zip(values) | dict`, Python's `dict()`).
fn dict(v: Value) -> Result<Value, Error> {
    if v.kind() == ValueKind::Map {
        return Ok(v);
    }
    let mut out = serde_json::Map::new();
    for pair in list_of(&v, "dict")? {
        match pair {
            Json::Array(kv) if kv.len() == 2 => {
                let key = match &kv[0] {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(key, kv[1].clone());
            }
            other => return Err(invalid(format!("dict expects pairs, got {other}"))),
        }
    }
    Ok(from_json(&Json::Object(out)))
}

/// Python's `dict(pairs, **kwargs)` as a global function.
fn dict_function(args: minijinja::value::Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut out = match args.0.first() {
        Some(v) => to_json(&dict(v.clone())?),
        None => Json::Object(serde_json::Map::new()),
    };
    if let Json::Object(m) = &mut out {
        for key in kwargs.args() {
            let v: Value = kwargs.get(key)?;
            m.insert(key.to_string(), to_json(&v));
        }
    }
    kwargs.assert_all_used()?;
    Ok(from_json(&out))
}

fn zip(first: Value, rest: Vec<Value>, longest: bool) -> Result<Value, Error> {
    let mut lists = vec![list_of(&first, "zip")?];
    for r in &rest {
        lists.push(list_of(r, "zip")?);
    }
    let lens = lists.iter().map(Vec::len);
    let n = if longest { lens.max() } else { lens.min() }.unwrap_or(0);
    let rows = (0..n)
        .map(|i| {
            Json::Array(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                    .collect(),
            )
        })
        .collect();
    Ok(from_json(&Json::Array(rows)))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(v: Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<usize>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    fn go(items: Vec<Json>, depth: Option<usize>, skip_nulls: bool, out: &mut Vec<Json>) {
        for item in items {
            match item {
                Json::Array(inner) if depth != Some(0) => {
                    go(inner, depth.map(|d| d - 1), skip_nulls, out)
                }
                Json::Null if skip_nulls => {}
                other => out.push(other),
            }
        }
    }
    let mut out = Vec::new();
    go(list_of(&v, "flatten")?, levels, skip_nulls, &mut out);
    Ok(from_json(&Json::Array(out)))
}

/// `to_json` / `to_nice_json` as Python's `json.dumps` prints them
/// ([`super::pyformat`]); `indent=` and `sort_keys=` as Ansible passes them on.
fn json_text(
    v: &Value,
    kw: Kwargs,
    indent: Option<usize>,
    sort_keys: bool,
) -> Result<String, Error> {
    let indent = kw.get::<Option<usize>>("indent")?.or(indent);
    let sort_keys = kw.get::<Option<bool>>("sort_keys")?.unwrap_or(sort_keys);
    kw.assert_all_used()?;
    Ok(pyformat::json_dumps(&to_json(v), indent, sort_keys))
}

/// `to_yaml` / `to_nice_yaml` as PyYAML's `yaml.dump` prints them; `indent=`
/// and `default_flow_style=` (`None` or `false`) as Ansible passes them on.
fn yaml_text(v: &Value, kw: Kwargs, indent: usize, leaf_flow: bool) -> Result<String, Error> {
    let indent = kw.get::<Option<usize>>("indent")?.unwrap_or(indent);
    let leaf_flow = match kw.get::<Option<Value>>("default_flow_style")? {
        Some(f) if f.is_none() => true,
        Some(f) if !f.is_true() => false,
        Some(_) => return Err(invalid("default_flow_style=true is not supported")),
        None => leaf_flow,
    };
    kw.assert_all_used()?;
    Ok(pyformat::yaml_dump(&to_json(v), indent, leaf_flow))
}

fn from_json_filter(s: String) -> Result<Value, Error> {
    serde_json::from_str::<Json>(&s)
        .map(|j| from_json(&j))
        .map_err(|e| {
            invalid(format!(
                "from_json: the text is not JSON ({e}): {}",
                preview(&s)
            ))
        })
}

fn from_yaml_filter(s: String) -> Result<Value, Error> {
    let file = crate::source::SourceFile::new("from_yaml", s.as_str());
    crate::yaml::parse(&file)
        .map(|n| from_json(&n.to_json()))
        .map_err(|e| invalid(format!("from_yaml: the text is not YAML: {}", e.message)))
}

fn preview(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        format!("{t}...")
    } else {
        t
    }
}

fn b64decode(s: String) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the decoded bytes are not UTF-8"))
}

fn dirname(s: String) -> String {
    match s.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => s[..i].to_string(),
        None => String::new(),
    }
}

fn splitext(s: String) -> Value {
    let base_start = s.rfind('/').map_or(0, |i| i + 1);
    match s[base_start..].rfind('.') {
        Some(i) if i > 0 => {
            let at = base_start + i;
            Value::from(vec![Value::from(&s[..at]), Value::from(&s[at..])])
        }
        _ => Value::from(vec![Value::from(s.as_str()), Value::from("")]),
    }
}

/// Python's `shlex.quote` (what Ansible's `quote` filter calls).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// `ternary(true_val, false_val, none_val=None)`.
fn ternary(v: Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if v.is_none() => n,
        _ if v.is_true() => yes,
        _ => no,
    }
}

fn mandatory(v: Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "mandatory variable not defined".into()),
        ))
    } else {
        Ok(v)
    }
}

fn flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    Ok((
        kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    ))
}

/// `regex_search(pattern, '\\1'..., ignorecase, multiline)`: the match (or the
/// named groups as a list), or None.
fn regex_search(
    s: String,
    pattern: String,
    groups: minijinja::value::Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let (i, m) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = regex::compile(&pattern, i, m).map_err(invalid)?;
    let caps = re.captures(&s).map_err(|e| invalid(e.to_string()))?;
    let Some(caps) = caps else {
        return Ok(Value::from(()));
    };
    if groups.0.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.0.iter() {
        let g = g.trim_start_matches('\\');
        let name = g
            .strip_prefix("g<")
            .and_then(|x| x.strip_suffix('>'))
            .unwrap_or(g);
        let m = match name.parse::<usize>() {
            Ok(n) => caps.get(n),
            Err(_) => caps.name(name),
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

fn regex_replace(
    s: String,
    pattern: String,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let (i, m) = flags(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let re = regex::compile(&pattern, i, m).map_err(invalid)?;
    let repl = regex::replacement(repl.as_deref().unwrap_or(""));
    Ok(re.replacen(&s, count, repl.as_str()).into_owned())
}

fn regex_findall(s: String, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let (i, m) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = regex::compile(&pattern, i, m).map_err(invalid)?;
    let mut out = Vec::new();
    for caps in re.captures_iter(&s) {
        let caps = caps.map_err(|e| invalid(e.to_string()))?;
        // Python's findall: the whole match without groups, the group with
        // one, a tuple of groups with several.
        let n = caps.len();
        let item = match n {
            1 => Value::from(caps.get(0).map_or("", |m| m.as_str())),
            2 => Value::from(caps.get(1).map_or("", |m| m.as_str())),
            _ => Value::from(
                (1..n)
                    .map(|g| Value::from(caps.get(g).map_or("", |m| m.as_str())))
                    .collect::<Vec<_>>(),
            ),
        };
        out.push(item);
    }
    Ok(Value::from(out))
}

/// `hash('sha1'|'md5'|'sha256'|'sha512')` and `checksum` (sha1), hex digests.
fn hash(s: &str, algo: &str) -> Result<String, Error> {
    Ok(match algo {
        "sha1" => hex::encode(sha1::Sha1::digest(s.as_bytes())),
        "md5" => hex::encode(md5::Md5::digest(s.as_bytes())),
        "sha224" => hex::encode(sha2::Sha224::digest(s.as_bytes())),
        "sha256" => hex::encode(sha2::Sha256::digest(s.as_bytes())),
        "sha384" => hex::encode(sha2::Sha384::digest(s.as_bytes())),
        "sha512" => hex::encode(sha2::Sha512::digest(s.as_bytes())),
        other => {
            return Err(invalid(format!(
                "hash: unsupported algorithm `{other}` (md5, sha1, sha224, sha256, sha384, sha512)"
            )))
        }
    })
}

/// `key | extract(container, morekeys)`.
fn extract(
    state: &State,
    key: Value,
    container: Value,
    more: Option<Value>,
) -> Result<Value, Error> {
    let _ = state;
    let mut v = container.get_item(&key)?;
    if let Some(more) = more {
        let keys: Vec<Value> = if more.kind() == ValueKind::Seq {
            more.try_iter()?.collect()
        } else {
            vec![more]
        };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}

fn type_debug(v: Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}
