//! Typed access to the keys of a YAML mapping, with errors that point at the
//! offending value and say what shape was expected.

use crate::error::InputError;
use crate::yaml::{Node, NodeValue};

pub fn expect_map<'a>(node: &'a Node, what: &str) -> Result<&'a [(Node, Node)], InputError> {
    node.as_map().ok_or_else(|| {
        InputError::at(
            &node.origin,
            format!("{what} must be a mapping, not {}", node.kind_name()),
            "expected `key: value` pairs here",
        )
    })
}

pub fn expect_seq<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], InputError> {
    node.as_seq().ok_or_else(|| {
        InputError::at(
            &node.origin,
            format!("{what} must be a list, not {}", node.kind_name()),
            "expected a list (`- item` lines) here",
        )
    })
}

/// A key's text (mapping keys are scalars in everything baton reads).
pub fn key_text(key: &Node) -> Result<String, InputError> {
    key.scalar_text().ok_or_else(|| {
        InputError::at(
            &key.origin,
            "a mapping key must be a plain word",
            "this key",
        )
    })
}

pub fn boolean(node: &Node, key: &str) -> Result<bool, InputError> {
    match &node.value {
        NodeValue::Bool(b) => Ok(*b),
        NodeValue::Str(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") => {
            Ok(true)
        }
        NodeValue::Str(s) if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") => {
            Ok(false)
        }
        _ => Err(InputError::at(
            &node.origin,
            format!("`{key}` must be true or false, not {}", describe(node)),
            "expected a boolean",
        )
        .with_help(format!("write `{key}: true` or `{key}: false`"))),
    }
}

pub fn string(node: &Node, key: &str) -> Result<String, InputError> {
    match &node.value {
        NodeValue::Str(_) | NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
            Ok(node.scalar_text().unwrap_or_default())
        }
        _ => Err(InputError::at(
            &node.origin,
            format!("`{key}` must be a string, not {}", node.kind_name()),
            "expected text",
        )),
    }
}

pub fn number(node: &Node, key: &str) -> Result<f64, InputError> {
    match &node.value {
        NodeValue::Int(i) => Ok(*i as f64),
        NodeValue::Float(f) => Ok(*f),
        NodeValue::Str(s) => s.trim().parse::<f64>().map_err(|_| {
            InputError::at(
                &node.origin,
                format!("`{key}` must be a number, not `{s}`"),
                "expected a number",
            )
        }),
        _ => Err(InputError::at(
            &node.origin,
            format!("`{key}` must be a number, not {}", node.kind_name()),
            "expected a number",
        )),
    }
}

/// A number of seconds, bounded by [`crate::bounds::seconds`].
pub fn seconds(node: &Node, key: &str) -> Result<f64, InputError> {
    let n = number(node, key)?;
    crate::bounds::seconds(n, &format!("`{key}`"))
        .map_err(|m| InputError::at(&node.origin, m, "here"))
}

/// A whole number from `min` to `max`, bounded by [`crate::bounds::count`].
pub fn count(node: &Node, key: &str, min: u64, max: u64) -> Result<u64, InputError> {
    let n = number(node, key)?;
    crate::bounds::count(n, &format!("`{key}`"), min, max)
        .map_err(|m| InputError::at(&node.origin, m, "here"))
}

/// A string or a list of strings (`tags: a` or `tags: [a, b]`; also "a,b").
pub fn string_list(node: &Node, key: &str) -> Result<Vec<String>, InputError> {
    match &node.value {
        NodeValue::Null => Ok(Vec::new()),
        // each item a string: `tags: [[nested]]` is a list, which `tags`
        // may be; the inner list is what is wrong, and the message says so
        NodeValue::Seq(items) => items
            .iter()
            .map(|i| {
                string(i, key).map_err(|_| {
                    InputError::at(
                        &i.origin,
                        format!(
                            "each item of `{key}` must be a string, not {} (`{key}` is a string or a list of strings)",
                            i.kind_name()
                        ),
                        "this item",
                    )
                })
            })
            .collect(),
        _ => Ok(string(node, key)?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()),
    }
}

/// A condition or a list of conditions (all must hold).
pub fn conditions(node: &Node) -> Vec<Node> {
    match &node.value {
        NodeValue::Seq(items) => items.clone(),
        NodeValue::Null => Vec::new(),
        _ => vec![node.clone()],
    }
}

/// `vars:`-style mapping into ordered (name, value) pairs, its literal
/// connection values checked (see [`check_connection_pairs`]).
pub fn var_pairs(node: &Node, what: &str) -> Result<Vec<(String, Node)>, InputError> {
    let out = var_pairs_nested(node, what)?;
    check_connection_pairs(&out)?;
    Ok(out)
}

/// [`var_pairs`] for variables that will sit under another one
/// (`include_vars` with `name:`): their names are no connection variables.
pub fn var_pairs_nested(node: &Node, what: &str) -> Result<Vec<(String, Node)>, InputError> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let map = expect_map(node, what)?;
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let name = key_text(k)?;
        check_var_name(&name, k)?;
        out.push((name, v.clone()));
    }
    Ok(out)
}

/// A literal connection value baton cannot use (a port outside 1 to 65535,
/// a `baton_ssh_kex` or `baton_persist` outside what they take, a
/// connection type that is none), wherever variables are written (play,
/// block and task `vars`, vars files, role vars), refused at its line as an
/// inventory's is, before anything runs. Templated values are checked when
/// the host connects.
pub fn check_connection_pairs(pairs: &[(String, Node)]) -> Result<(), InputError> {
    let mut vars = serde_json::Map::new();
    let mut origins = crate::load::inventory::VarOrigins::new();
    for (name, node) in pairs {
        if crate::load::inventory::is_connection_var_name(name) {
            vars.insert(name.clone(), node.to_json());
            origins.insert(name.clone(), node.origin.clone());
        }
    }
    if vars.is_empty() {
        return Ok(());
    }
    crate::load::inventory::check_connection_vars(&vars, &origins)
}

/// Whether `name` can be a variable: ASCII letters, digits and `_`, not
/// starting with a digit (a template could not name it otherwise).
pub fn is_var_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn check_var_name(name: &str, at: &Node) -> Result<(), InputError> {
    if is_var_name(name) {
        Ok(())
    } else {
        Err(InputError::at(
            &at.origin,
            format!("`{name}` is not a valid variable name"),
            "this name",
        )
        .with_help(
            "variable names are letters, digits and underscores, and do not start with a digit",
        ))
    }
}

fn describe(node: &Node) -> String {
    match &node.value {
        NodeValue::Str(s) => format!("`{s}`"),
        _ => node.kind_name().to_string(),
    }
}

/// The one-line `key=value ...` form of a task's options (`include_vars:
/// file=x name=y`, `include_role: name=r`), as Ansible splits it (shell
/// words), each value a text node at the line's place. `module` and
/// `help` name the task in the errors: an unclosed quote, a word without
/// `=`.
pub fn inline_options(
    value: &Node,
    text: &str,
    module: &str,
    help: &str,
) -> Result<Vec<(String, Node)>, InputError> {
    let words = shlex::split(text).ok_or_else(|| {
        InputError::at(
            &value.origin,
            format!("unbalanced quotes in `{module}`"),
            "here",
        )
    })?;
    let mut pairs = Vec::new();
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(InputError::at(
                &value.origin,
                format!("`{word}` is not `key=value`"),
                "here",
            )
            .with_help(help.to_string()));
        };
        let node = Node {
            value: NodeValue::Str(v.to_string()),
            origin: value.origin.clone(),
        };
        pairs.push((k.to_string(), node));
    }
    Ok(pairs)
}
