//! The YAML inventory loader: Ansible's `all` / `children` / `hosts` / `vars`
//! shape (JSON too, being YAML), read into a [`Builder`].

use std::sync::Arc;

use serde_json::Value;

use crate::error::{did_you_mean, InputError};
use crate::source::{Origin, SourceFile};
use crate::yaml::{self, Node, NodeValue};

use super::build::Builder;
use super::ranges::expand_host_entry;

const YAML_SHAPE_HELP: &str = "an inventory looks like:\n  all:\n    children:\n      web:\n        hosts:\n          web1:\n            ansible_host: 10.0.0.1\n        vars:\n          http_port: 80";

/// Read a parsed YAML (or JSON) inventory into `b`.
pub(super) fn load(b: &mut Builder, root: &Node) -> Result<(), InputError> {
    let entries = match &root.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        _ => {
            return Err(InputError::at(
                &root.origin,
                format!(
                    "an inventory must be a mapping of group names, found {}",
                    root.kind_name()
                ),
                "expected a mapping",
            )
            .with_help(YAML_SHAPE_HELP))
        }
    };
    if let Some((key, _)) = entries.iter().find(|(k, _)| k.as_str() == Some("_meta")) {
        return Err(InputError::at(
            &key.origin,
            "this is `ansible-inventory --list` JSON (the script format), not an inventory file",
            "`--list` output",
        )
        .with_help("export the inventory as YAML instead: `ansible-inventory -i SOURCE --list -y > inventory.yml`"));
    }
    if let Some((key, _)) = entries.iter().find(|(k, _)| k.as_str() == Some("plugin")) {
        return Err(InputError::at(
            &key.origin,
            "this is an inventory plugin configuration, which baton cannot run",
            "plugin configuration",
        )
        .with_help("baton reads static inventories; export this one with `ansible-inventory -i FILE --list -y > inventory.yml`"));
    }
    for (key, value) in entries {
        let name = name_of(key, "group")?;
        let gi = b.ensure_group(&name);
        load_group(b, gi, value)?;
    }
    Ok(())
}

fn load_group(b: &mut Builder, gi: usize, node: &Node) -> Result<(), InputError> {
    let group = b.group_name(gi).to_string();
    let entries = match &node.value {
        NodeValue::Null => return Ok(()),
        NodeValue::Map(entries) => entries,
        _ => {
            return Err(InputError::at(
                &node.origin,
                format!(
                    "group `{group}` must be a mapping with `hosts`, `children` or `vars`, found {}",
                    node.kind_name()
                ),
                "expected a mapping",
            )
            .with_help(format!(
                "write the group as a key followed by indented sections, e.g.\n  {group}:\n    hosts:\n      host1:"
            )))
        }
    };
    for (key, value) in entries {
        match key.as_str() {
            Some("hosts") => load_hosts(b, gi, value)?,
            Some("children") => load_children(b, gi, value)?,
            Some("vars") => load_group_vars(b, gi, value)?,
            _ => {
                let word = key.scalar_text().unwrap_or_default();
                let sections = ["hosts", "children", "vars"];
                let (message, help) = match did_you_mean(&word, sections) {
                    Some(s) => (
                        format!("unknown key `{word}` in group `{group}`; did you mean `{s}`?"),
                        "a group holds only `hosts`, `children` and `vars`".to_string(),
                    ),
                    None => (
                        format!("unknown key `{word}` in group `{group}`"),
                        format!(
                            "a group holds only `hosts`, `children` and `vars`; a host or a child group goes under one of them:\n  hosts:\n    {word}:"
                        ),
                    ),
                };
                return Err(InputError::at(&key.origin, message, "unknown key").with_help(help));
            }
        }
    }
    Ok(())
}

fn load_hosts(b: &mut Builder, gi: usize, node: &Node) -> Result<(), InputError> {
    let group = b.group_name(gi).to_string();
    let entries = name_entries(
        node,
        &format!("`hosts` of group `{group}` must be a mapping of host names"),
        "write each host as a key ending in `:` (not a `- ` list item), e.g.\n  hosts:\n    web1:\n    web2:\n      ansible_host: 10.0.0.2",
    )?;
    for (key, value) in entries {
        let text = name_of(key, "host")?;
        let (names, port) = expand_host_entry(&text, &key.origin)?;
        let vars = match value {
            None => Vec::new(),
            Some(v) => var_entries(v, &format!("vars of host `{text}`"), |name| {
                format!("write `{name}:` alone, or followed by indented `ansible_host: ...` lines")
            })?,
        };
        for name in &names {
            let hi = b.add_host(name, gi, port);
            for (key, value, origin) in &vars {
                b.set_host_var(hi, key.clone(), value.clone(), origin);
            }
        }
    }
    Ok(())
}

fn load_children(b: &mut Builder, gi: usize, node: &Node) -> Result<(), InputError> {
    let group = b.group_name(gi).to_string();
    let entries = name_entries(
        node,
        &format!("`children` of group `{group}` must be a mapping of group names"),
        "write each child group as a key ending in `:` (not a `- ` list item), e.g.\n  children:\n    web:\n    db:",
    )?;
    for (key, value) in entries {
        let name = name_of(key, "group")?;
        let child = b.ensure_group(&name);
        b.add_child(gi, child, &key.origin)?;
        if let Some(value) = value {
            load_group(b, child, value)?;
        }
    }
    Ok(())
}

fn load_group_vars(b: &mut Builder, gi: usize, node: &Node) -> Result<(), InputError> {
    let group = b.group_name(gi).to_string();
    let what = format!("`vars` of group `{group}`");
    let entries = var_entries(node, &what, |_| {
        "write `vars:` followed by indented `name: value` lines".to_string()
    })?;
    for (key, value, origin) in entries {
        b.set_group_var(gi, key, value, &origin)?;
    }
    Ok(())
}

/// JSON is YAML, but yaml-rust2 rejects some JSON layouts (tab indentation);
/// fall back to serde_json, losing inner positions but not the file.
pub(super) fn parse_json_or_yaml(file: &Arc<SourceFile>) -> Result<Node, InputError> {
    match yaml::parse(file) {
        Ok(node) => Ok(node),
        Err(yaml_error) => match serde_json::from_str::<Value>(&file.text) {
            Ok(value) => Ok(Node::from_json(&value, &line_origin(file, 1))),
            Err(e) if e.line() > 0 => Err(InputError::at(
                &line_origin(file, e.line()),
                format!("JSON syntax error in {}: {e}", file.display_name()),
                "here",
            )
            .with_help("check brackets, commas and quoting near this line")),
            Err(_) => Err(yaml_error),
        },
    }
}

pub(super) fn vault_file_error(file: &Arc<SourceFile>) -> InputError {
    InputError::at(
        &line_origin(file, 1),
        format!("{} is encrypted with ansible-vault", file.display_name()),
        "vault header",
    )
    .with_help("baton cannot decrypt vault files; decrypt it (`ansible-vault decrypt`) or pass the secrets with `-e @file`")
}

/// An origin covering one whole line (1-based) of a file.
pub(super) fn line_origin(file: &Arc<SourceFile>, line: usize) -> Origin {
    let text: &str = &file.text;
    let mut offset = 0;
    for _ in 1..line {
        match text[offset..].find('\n') {
            Some(i) => offset += i + 1,
            None => break,
        }
    }
    let len = text[offset..].find('\n').unwrap_or(text.len() - offset);
    Origin {
        file: Arc::clone(file),
        offset,
        len: len.max(1),
    }
}

/// The entries of a `hosts:` or `children:` value: a mapping of names (each
/// with an optional value), a lone name (Ansible accepts one), or nothing.
fn name_entries<'n>(
    node: &'n Node,
    message: &str,
    help: &str,
) -> Result<Vec<(&'n Node, Option<&'n Node>)>, InputError> {
    match &node.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Str(_) => Ok(vec![(node, None)]),
        NodeValue::Map(entries) => Ok(entries.iter().map(|(k, v)| (k, Some(v))).collect()),
        _ => Err(InputError::at(
            &node.origin,
            format!("{message}, found {}", node.kind_name()),
            "expected a mapping",
        )
        .with_help(help)),
    }
}

/// The text of a group or host name key; names must be strings.
fn name_of(key: &Node, what: &str) -> Result<String, InputError> {
    let name = match &key.value {
        NodeValue::Str(s) => s.trim().to_string(),
        NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
            let text = key.scalar_text().unwrap_or_default();
            return Err(InputError::at(
                &key.origin,
                format!(
                    "{what} name `{text}` must be a string, found {}",
                    key.kind_name()
                ),
                "not a string",
            )
            .with_help(format!("quote it: `\"{text}\":`")));
        }
        _ => String::new(),
    };
    if name.is_empty() {
        return Err(
            InputError::at(&key.origin, format!("{what} name is empty"), "empty name")
                .with_help(format!("give the {what} a name")),
        );
    }
    Ok(name)
}

/// `name: value` pairs of a vars mapping (null means none), each with
/// where its value is written.
pub(super) fn var_entries(
    node: &Node,
    what: &str,
    help: impl Fn(&str) -> String,
) -> Result<Vec<(String, Value, Origin)>, InputError> {
    let entries = match &node.value {
        NodeValue::Null => return Ok(Vec::new()),
        NodeValue::Map(entries) => entries,
        _ => {
            return Err(InputError::at(
                &node.origin,
                format!(
                    "{what} must be a mapping of variable names to values, found {}",
                    node.kind_name()
                ),
                "expected a mapping",
            )
            .with_help(help(&node.scalar_text().unwrap_or_default())))
        }
    };
    let mut vars = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let name = match key.scalar_text() {
            Some(name) if !key.is_null() && !name.is_empty() => name,
            _ => {
                return Err(InputError::at(
                    &key.origin,
                    format!("{what}: a variable name is missing"),
                    "no name",
                )
                .with_help("each variable is `name: value`"))
            }
        };
        refuse_vault_value(value)?;
        vars.push((name, value.to_json(), value.origin.clone()));
    }
    Ok(vars)
}

/// `!vault |` values reach us as their ciphertext; using that as the value
/// would be silently wrong.
fn refuse_vault_value(node: &Node) -> Result<(), InputError> {
    match &node.value {
        NodeValue::Str(s) if s.trim_start().starts_with("$ANSIBLE_VAULT;") => Err(InputError::at(
            &node.origin,
            "this value is encrypted with ansible-vault",
            "vault-encrypted",
        )
        .with_help("baton cannot decrypt vault values; pass the secret with `-e @file` or an environment lookup")),
        NodeValue::Seq(items) => items.iter().try_for_each(refuse_vault_value),
        NodeValue::Map(entries) => entries.iter().try_for_each(|(_, v)| refuse_vault_value(v)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Inventory;

    #[test]
    fn list_output_is_not_taken_for_an_inventory() {
        let inv = Inventory::from_text(
            "x.json",
            "{\"_meta\": {\"hostvars\": {}}, \"all\": {\"children\": [\"ungrouped\"]}}",
        );
        let err = inv.unwrap_err();
        assert!(
            err.message.contains("ansible-inventory --list"),
            "{}",
            err.message
        );
    }
}
