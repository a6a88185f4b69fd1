//! The lookup plugins behind `with_<lookup>` loops that shape lists:
//! `items`, `list`, `dict`, `nested`, `cartesian`, `together`,
//! `indexed_items`, `subelements`, `sequence` and `fileglob`. Pure functions
//! from the lookup's terms (already templated) to the loop's items.
//!
//! Sources: ansible-core 2.19 `lib/ansible/plugins/lookup/<name>.py` and
//! `LookupBase._flatten`/`_combine`; `cartesian` is community.general's.
//! Where a plugin iterates a value Python-style, a string gives its
//! characters and a mapping its keys, as in Ansible. The lookups that read
//! files or variables while templating (`file`, `template`, `env`, `vars`,
//! `first_found`) are the template engine's (`plan::jinja::lookup`).

mod sequence;

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::error::InputError;
use crate::load::inventory::glob::Glob;
use crate::source::Origin;
use crate::yaml::{Node, NodeValue};

/// The items of `with_<name>` over `terms`. `search` is where relative
/// `fileglob` patterns are looked for (the role's directory, the task
/// file's, the playbook's; each's `files/` first). Errors are Ansible's
/// messages where it has one.
pub fn run(name: &str, terms: Vec<Value>, search: &[PathBuf]) -> Result<Vec<Value>, String> {
    match name {
        "items" => Ok(flatten(terms)),
        "list" => Ok(terms),
        "dict" => dict(terms),
        "nested" => nested(terms),
        "cartesian" => cartesian(terms),
        "together" => together(terms),
        "indexed_items" => Ok(flatten(terms)
            .into_iter()
            .enumerate()
            .map(|(i, v)| json!([i, v]))
            .collect()),
        "subelements" => subelements(terms),
        "sequence" => {
            let mut out = Vec::new();
            for term in terms {
                let text = match term {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.extend(sequence::sequence(&text)?);
            }
            Ok(out)
        }
        "fileglob" => fileglob(terms, search),
        other => Err(format!("no loop lookup `{other}`")),
    }
}

/// A lookup's terms from the templated value of `with_<name>:`: the value
/// when it is a list, else a list of that one value (Ansible's
/// `_get_loop_items`).
pub fn terms(value: Value) -> Vec<Value> {
    match value {
        Value::Array(terms) => terms,
        other => vec![other],
    }
}

/// A lookup's failure, at the `with_<name>:` value.
pub fn loop_error(origin: &Origin, name: &str, msg: &str) -> InputError {
    InputError::at(origin, format!("with_{name}: {msg}"), "these terms").with_help(format!(
        "the items come from Ansible's `{name}` lookup over these terms; see its documentation for their shape"
    ))
}

/// Check a `with_<name>:` whose terms hold no template now, when the
/// playbook loads: its items cannot change when it runs, so a bad shape
/// (`with_sequence: start=5 end=1`, `with_dict` over a list) fails before
/// anything runs. `fileglob` (reads the controller when it runs) and the
/// template engine's lookups are left to run time.
pub fn check_literal(name: &str, node: &Node) -> Result<(), InputError> {
    fn templated(n: &Node) -> bool {
        match &n.value {
            NodeValue::Str(s) => crate::template_text::is_template(s),
            NodeValue::Seq(items) => items.iter().any(templated),
            NodeValue::Map(entries) => entries.iter().any(|(k, v)| templated(k) || templated(v)),
            _ => false,
        }
    }
    let pure = matches!(
        name,
        "dict" | "nested" | "cartesian" | "together" | "indexed_items" | "subelements" | "sequence"
    );
    if !pure || templated(node) {
        return Ok(());
    }
    run(name, terms(node.to_json()), &[])
        .map(|_| ())
        .map_err(|msg| loop_error(&node.origin, name, &msg))
}

/// Python's `type(v).__name__` for messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `for x in v` in Python: a list's items, a string's characters, a
/// mapping's keys; anything else is not iterable.
fn py_iter(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::Array(items) => Ok(items.clone()),
        Value::String(s) => Ok(s.chars().map(|c| Value::String(c.to_string())).collect()),
        Value::Object(m) => Ok(m.keys().map(|k| Value::String(k.clone())).collect()),
        other => Err(format!("'{}' object is not iterable", type_name(other))),
    }
}

/// `LookupBase._flatten`: one level; lists are spliced in, the rest kept.
fn flatten(terms: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(terms.len());
    for t in terms {
        match t {
            Value::Array(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

/// `_flatten` applied to a value Python iterates (`_flatten(x)` on an item).
fn flatten_iter(v: &Value) -> Result<Value, String> {
    Ok(Value::Array(flatten(py_iter(v)?)))
}

fn dict(terms: Vec<Value>) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for term in terms {
        let Value::Object(map) = term else {
            return Err(format!(
                "the 'dict' lookup plugin expects a dictionary, got '{}' of type {}",
                display(&term),
                type_name(&term)
            ));
        };
        out.extend(map.into_iter().map(|(k, v)| json!({"key": k, "value": v})));
    }
    Ok(out)
}

/// Refuse a product of `lists` with more than
/// [`crate::bounds::MAX_LOOP_ITEMS`] combinations, or whose items would
/// hold more than [`crate::plan::vars::MAX_VALUE_BYTES`] together, before
/// it is built: a few lists of a hundred items make billions of
/// combinations, which ended in an aborted allocation.
fn check_product(lists: &[Vec<Value>]) -> Result<(), String> {
    use crate::plan::vars::{value_bytes, MAX_VALUE_BYTES};
    let lens: Vec<usize> = lists.iter().map(Vec::len).collect();
    let shape = || {
        lens.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" x ")
    };
    let Some(total) = crate::bounds::combinations(lens.iter().copied()) else {
        return Err(format!(
            "lists of {} items make more than the {} combinations baton allows in one loop; \
             loop over fewer or shorter lists (or split the task)",
            shape(),
            crate::bounds::MAX_LOOP_ITEMS
        ));
    };
    if total == 0 {
        return Ok(());
    }
    // Each item of list i appears in total / len_i combinations.
    let bytes = lists.iter().fold(0usize, |sum, list| {
        let each = total / list.len();
        let list_bytes = list
            .iter()
            .fold(0usize, |b, v| b.saturating_add(value_bytes(v)));
        sum.saturating_add(list_bytes.saturating_mul(each))
    });
    if bytes > MAX_VALUE_BYTES {
        return Err(format!(
            "lists of {} items make {total} combinations holding {} {}; loop over fewer or \
             shorter lists (or split the task)",
            shape(),
            if bytes == usize::MAX {
                "more than 2^64 bytes".to_string()
            } else {
                format!("{bytes} bytes")
            },
            crate::plan::vars::value_limit_words()
        ));
    }
    Ok(())
}

fn nested(terms: Vec<Value>) -> Result<Vec<Value>, String> {
    if terms.is_empty() {
        return Err("with_nested requires at least one element in the nested list".into());
    }
    let lists: Vec<Vec<Value>> = terms.iter().map(py_iter).collect::<Result<_, _>>()?;
    check_product(&lists)?;
    let mut lists = lists.into_iter();
    let mut result = lists.next().unwrap_or_default();
    for next in lists {
        let mut combined = Vec::with_capacity(result.len() * next.len());
        for x in &result {
            for y in &next {
                combined.push(Value::Array(flatten(vec![x.clone(), y.clone()])));
            }
        }
        result = combined;
    }
    result.iter().map(flatten_iter).collect()
}

fn cartesian(terms: Vec<Value>) -> Result<Vec<Value>, String> {
    if terms.is_empty() {
        return Err("with_cartesian requires at least one element in each list".into());
    }
    // community.general listifies each term: a string is one item.
    let lists: Vec<Vec<Value>> = terms
        .into_iter()
        .map(|t| match t {
            Value::Array(items) => items,
            other => vec![other],
        })
        .collect();
    check_product(&lists)?;
    let mut product: Vec<Vec<Value>> = vec![Vec::new()];
    for list in &lists {
        let mut next = Vec::with_capacity(product.len() * list.len());
        for prefix in &product {
            for item in list {
                let mut p = prefix.clone();
                p.push(item.clone());
                next.push(p);
            }
        }
        product = next;
    }
    Ok(product
        .into_iter()
        .map(|tuple| Value::Array(flatten(tuple)))
        .collect())
}

fn together(terms: Vec<Value>) -> Result<Vec<Value>, String> {
    if terms.is_empty() {
        return Err("with_together requires at least one element in each list".into());
    }
    let lists: Vec<Vec<Value>> = terms.iter().map(py_iter).collect::<Result<_, _>>()?;
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..len)
        .map(|i| {
            let tuple = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                .collect();
            Value::Array(flatten(tuple))
        })
        .collect())
}

/// Python's `boolean(value, strict=False)`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t"
        ),
        Value::Number(n) => n.as_f64() == Some(1.0),
        _ => false,
    }
}

/// Whether `skipped` is set to anything but `false` (a skipped registered
/// result, or an item of one).
fn skipped(m: &Map<String, Value>) -> bool {
    m.get("skipped").is_some_and(|s| s != &Value::Bool(false))
}

fn subelements(terms: Vec<Value>) -> Result<Vec<Value>, String> {
    let terms_error =
        |msg: &str| format!("subelements lookup expects a list of two or three items, {msg}");
    if !(2..=3).contains(&terms.len()) {
        return Err(terms_error(""));
    }
    let Value::String(path) = &terms[1] else {
        return Err(terms_error(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let elements: Vec<Value> = match &terms[0] {
        Value::Array(items) => items.clone(),
        Value::Object(m) if skipped(m) => return Ok(Vec::new()),
        Value::Object(m) => m.values().cloned().collect(),
        _ => {
            return Err(terms_error(
                "first a dict or a list, second a string pointing to the subkey",
            ))
        }
    };
    let skip_missing = match terms.get(2) {
        None => false,
        Some(Value::Object(flags)) => {
            if let Some(k) = flags.keys().find(|k| k.as_str() != "skip_missing") {
                return Err(terms_error(&format!(
                    "the optional third item must be a dict with flags ('skip_missing',), not `{k}`"
                )));
            }
            flags.get("skip_missing").is_some_and(truthy)
        }
        Some(_) => {
            return Err(terms_error(
                "the optional third item must be a dict with flags ('skip_missing',)",
            ))
        }
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    for item0 in elements {
        let Value::Object(mut record) = item0 else {
            return Err(format!(
                "subelements lookup expects a dictionary, got '{}'",
                display(&item0)
            ));
        };
        if skipped(&record) {
            continue;
        }
        // Walk to the list, then take it out of the record: Ansible pops the
        // subkey, so `item.0` no longer holds it.
        let sublist = take_sublist(&mut record, &keys, skip_missing)?;
        let record = Value::Object(record);
        out.extend(
            sublist
                .into_iter()
                .map(|item1| json!([record.clone(), item1])),
        );
    }
    Ok(out)
}

/// The list at `keys` inside `record`, removed from it. A missing key is an
/// error unless `skip_missing` (then the walk goes on at the same level, as
/// Ansible's loop `continue`s).
fn take_sublist(
    record: &mut Map<String, Value>,
    keys: &[&str],
    skip_missing: bool,
) -> Result<Vec<Value>, String> {
    let Some((last, parents)) = keys.split_last() else {
        return Ok(Vec::new());
    };
    let mut at: &mut Map<String, Value> = record;
    for key in parents {
        match at.get(*key) {
            None if skip_missing => continue,
            None => {
                return Err(format!(
                    "could not find '{key}' key in iterated item '{}'",
                    display(&Value::Object(at.clone()))
                ))
            }
            Some(Value::Object(_)) => {}
            Some(_) if skip_missing => continue,
            Some(other) => {
                return Err(format!(
                    "the key {key} should point to a dictionary, got '{}'",
                    display(other)
                ))
            }
        }
        match at.get_mut(*key) {
            Some(Value::Object(inner)) => at = inner,
            _ => return Ok(Vec::new()),
        }
    }
    match at.get(*last) {
        None if skip_missing => Ok(Vec::new()),
        None => Err(format!(
            "could not find '{last}' key in iterated item '{}'",
            display(&Value::Object(at.clone()))
        )),
        Some(Value::Array(_)) => match at.shift_remove(*last) {
            Some(Value::Array(list)) => Ok(list),
            _ => Ok(Vec::new()),
        },
        Some(other) => Err(format!(
            "the key {last} should point to a list, got '{}'",
            display(other)
        )),
    }
}

/// Python's `glob.glob` over the first search directory with a match, as
/// the `fileglob` lookup does. A term with a directory part is globbed in
/// the first `files/<dir>` or `<dir>` found on the search path (an absolute
/// directory as it is). Only files match; results are sorted (Python's
/// order is the directory's, which no two machines share).
fn fileglob(terms: Vec<Value>, search: &[PathBuf]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for term in terms {
        let Value::String(term) = term else {
            return Err(format!(
                "fileglob: each term must be a string, not {}",
                display(&term)
            ));
        };
        let path = Path::new(&term);
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_string()) else {
            continue;
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let dirs: Vec<PathBuf> = match dir {
            Some(d) if d.is_absolute() => vec![d.to_path_buf()],
            Some(d) => search
                .iter()
                .flat_map(|base| [base.join("files").join(d), base.join(d)])
                .find(|c| c.is_dir())
                .into_iter()
                .collect(),
            None => search
                .iter()
                .flat_map(|base| [base.join("files"), base.clone()])
                .collect(),
        };
        let glob = Glob::new(&name);
        for d in dirs {
            let mut found = glob_dir(&d, &name, &glob);
            if !found.is_empty() {
                found.sort();
                out.extend(found.into_iter().map(Value::String));
                break;
            }
        }
    }
    Ok(out)
}

/// The files in `dir` whose names match (a leading `.` only when the
/// pattern starts with one, as Python's glob).
fn glob_dir(dir: &Path, pattern: &str, glob: &Glob) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let hidden_ok = !name.starts_with('.') || pattern.starts_with('.');
            let path = e.path();
            (hidden_ok && glob.matches(&name) && path.is_file()).then(|| path.display().to_string())
        })
        .collect()
}

/// A value as Python's `str()` prints it in a message (near enough: JSON).
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_json(name: &str, terms: Value) -> Value {
        let Value::Array(terms) = terms else { panic!() };
        Value::Array(run(name, terms, &[]).unwrap())
    }

    // The expectations are what ansible-core 2.19 looped over for the same
    // terms (debug: var=item under each with_<name>).
    #[test]
    fn items_flatten_one_level_and_list_keeps_items() {
        assert_eq!(
            run_json("items", json!([1, [2, [3]], 4])),
            json!([1, 2, [3], 4])
        );
        assert_eq!(run_json("list", json!([1, [2, 3]])), json!([1, [2, 3]]));
    }

    #[test]
    fn dict_gives_key_value_pairs_in_order() {
        assert_eq!(
            run_json("dict", json!([{"alice": {"uid": 1}, "bob": {"uid": 2}}])),
            json!([{"key": "alice", "value": {"uid": 1}}, {"key": "bob", "value": {"uid": 2}}])
        );
        let err = run("dict", vec![json!([1])], &[]).unwrap_err();
        assert!(err.contains("expects a dictionary"), "{err}");
    }

    #[test]
    fn nested_and_cartesian_refuse_huge_products_before_building_them() {
        let hundred: Vec<Value> = (0..100).map(|i| json!(i)).collect();
        for name in ["nested", "cartesian"] {
            // 100^5 combinations: refused at once, not built
            let err = run(name, vec![Value::Array(hundred.clone()); 5], &[]).unwrap_err();
            assert!(err.contains("100 x 100 x 100 x 100 x 100"), "{err}");
            assert!(err.contains("more than the 1000000 combinations"), "{err}");
            // 100^12 overflows u64
            assert!(run(name, vec![Value::Array(hundred.clone()); 12], &[]).is_err());
            // few combinations of large items: refused by their size
            let big = json!(["x".repeat(1 << 20)]);
            let err = run(name, vec![big, Value::Array(hundred.clone())], &[]).unwrap_err();
            assert!(err.contains("16 MiB limit"), "{err}");
            // 100^3 numbers take 24 MB: over the value cap
            let err = run(name, vec![Value::Array(hundred.clone()); 3], &[]).unwrap_err();
            assert!(
                err.contains("1000000 combinations holding 24000000 bytes"),
                "{err}"
            );
            // 100 x 100 x 10 are fine
            let ten = Value::Array(hundred[..10].to_vec());
            let lists = vec![
                Value::Array(hundred.clone()),
                Value::Array(hundred.clone()),
                ten,
            ];
            assert_eq!(run(name, lists, &[]).map(|v| v.len()), Ok(100_000));
        }
    }

    #[test]
    fn nested_and_cartesian_give_every_combination() {
        let want = json!([["a", 1, "x"], ["a", 2, "x"], ["b", 1, "x"], ["b", 2, "x"]]);
        assert_eq!(run_json("nested", json!([["a", "b"], [1, 2], ["x"]])), want);
        assert_eq!(
            run_json("cartesian", json!([["a", "b"], [1, 2], ["x"]])),
            want
        );
        // One list: Python iterates each item, so a string splits into characters.
        assert_eq!(
            run_json("nested", json!([["a", "bb"]])),
            json!([["a"], ["b", "b"]])
        );
        assert!(run("nested", vec![], &[]).is_err());
    }

    #[test]
    fn together_pads_with_none_and_indexed_items_number_from_zero() {
        assert_eq!(
            run_json("together", json!([["a", "b", "c"], [1, 2]])),
            json!([["a", 1], ["b", 2], ["c", null]])
        );
        assert_eq!(
            run_json("indexed_items", json!(["a", ["b", "c"]])),
            json!([[0, "a"], [1, "b"], [2, "c"]])
        );
    }

    #[test]
    fn subelements_pops_the_subkey_and_skips_what_is_missing() {
        let users = json!([
            {"name": "alice", "keys": ["k1", "k2"], "db": {"hosts": ["h1"]}},
            {"name": "bob", "keys": ["k3"], "db": {"hosts": []}},
            {"name": "carol"}
        ]);
        assert_eq!(
            run_json(
                "subelements",
                json!([users, "keys", {"skip_missing": true}])
            ),
            json!([
                [{"name": "alice", "db": {"hosts": ["h1"]}}, "k1"],
                [{"name": "alice", "db": {"hosts": ["h1"]}}, "k2"],
                [{"name": "bob", "db": {"hosts": []}}, "k3"]
            ])
        );
        assert_eq!(
            run_json(
                "subelements",
                json!([users, "db.hosts", {"skip_missing": true}])
            ),
            json!([[{"name": "alice", "keys": ["k1", "k2"], "db": {}}, "h1"]])
        );
        let err = run("subelements", vec![users.clone(), json!("keys")], &[]).unwrap_err();
        assert!(err.contains("could not find 'keys' key"), "{err}");
        let err = run("subelements", vec![users, json!("name")], &[]).unwrap_err();
        assert!(err.contains("should point to a list"), "{err}");
        // A skipped registered result gives no items.
        assert_eq!(
            run_json(
                "subelements",
                json!([{"skipped": true, "results": []}, "x"])
            ),
            json!([])
        );
    }

    #[test]
    fn sequence_terms_are_strings() {
        assert_eq!(
            run_json("sequence", json!(["start=1 end=3 format=n%02d", "2"])),
            json!(["n01", "n02", "n03", "1", "2"])
        );
    }

    #[test]
    fn fileglob_matches_files_in_the_first_directory_with_a_match() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("files/conf")).unwrap();
        for f in [
            "files/b.conf",
            "files/a.conf",
            "files/.hidden.conf",
            "top.conf",
            "files/conf/c.conf",
        ] {
            std::fs::write(base.join(f), "x").unwrap();
        }
        std::fs::create_dir(base.join("files/d.conf")).unwrap();
        let search = vec![base.to_path_buf()];
        let got = run("fileglob", vec![json!("*.conf")], &search).unwrap();
        let want: Vec<Value> = ["files/a.conf", "files/b.conf"]
            .iter()
            .map(|f| json!(base.join(f).display().to_string()))
            .collect();
        assert_eq!(
            got, want,
            "files/ is searched first, dirs and dot files are left out"
        );
        let got = run("fileglob", vec![json!("conf/*")], &search).unwrap();
        assert_eq!(
            got,
            vec![json!(base.join("files/conf/c.conf").display().to_string())]
        );
        let abs = format!("{}/*.conf", base.display());
        let got = run("fileglob", vec![json!(abs)], &search).unwrap();
        assert_eq!(
            got,
            vec![json!(base.join("top.conf").display().to_string())]
        );
        assert!(run("fileglob", vec![json!("*.none")], &search)
            .unwrap()
            .is_empty());
    }
}
