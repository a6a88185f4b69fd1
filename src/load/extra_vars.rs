//! `-e` extra variables: `key=value ...`, inline JSON/YAML, or `@file.yml`.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::load::fields::is_var_name;
use crate::source::SourceFile;
use crate::yaml;

pub fn parse(args: &[String]) -> Result<Map<String, Value>, InputError> {
    let mut vars = Map::new();
    for arg in args {
        let trimmed = arg.trim();
        if let Some(file) = trimmed.strip_prefix('@') {
            if file.is_empty() {
                // It was read as the current directory (Ansible says "Is a
                // directory") or as a file named "" ("cannot read : ...").
                return Err(InputError::plain(format!(
                    "-e `{}`: a file path must follow @",
                    abbreviated(arg)
                ))
                .with_help(
                    "write -e @vars.yml (a YAML mapping of variables), without a space after @",
                ));
            }
            let node = yaml::parse_file(Path::new(file))?;
            if node.is_null() {
                // Ansible refuses these too ("could not be made into a
                // dictionary"): the file given is probably not the one meant.
                let (what, label) = if node.origin.file.text.trim().is_empty() {
                    ("an empty file", "the file is empty")
                } else {
                    (
                        "null (an empty document: only comments, `---` or `null`)",
                        "no mapping here",
                    )
                };
                return Err(InputError::at(
                    &node.origin,
                    format!("-e @{file} must hold a mapping of variables, not {what}"),
                    label,
                )
                .with_help(
                    "e.g. `hvr_hubdb: hub` lines in the file; drop the -e if there are none",
                ));
            }
            if node.as_map().is_none() {
                return Err(InputError::at(
                    &node.origin,
                    format!(
                        "-e @{file} must hold a mapping of variables, not {}",
                        node.kind_name()
                    ),
                    "here",
                )
                .with_help("e.g. `hvr_hubdb: hub` lines in the file"));
            }
            check_names(&node, &format!("-e @{file}"))?;
            // Literal connection values, at their line, as in any vars file.
            crate::load::fields::var_pairs(&node, &format!("-e @{file}"))?;
            merge_mapping(&mut vars, node.to_json(), &format!("-e @{file}"))?;
        } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
            // Inline JSON or YAML, as Ansible reads a value starting with
            // `{` or `[`; it must be a mapping.
            let node = yaml::parse(&SourceFile::new("-e", trimmed.to_string())).map_err(|e| {
                if e.message.contains("recursion limit exceeded") {
                    InputError::plain(format!(
                        "-e: the inline value is nested more than {} lists or mappings deep (recursion limit exceeded)",
                        yaml::MAX_DEPTH
                    ))
                    .with_help("flatten the value; extra variables nest at most that deep, in -e @file too")
                } else {
                    e
                }
            })?;
            if node.as_map().is_none() && !node.is_null() {
                return Err(InputError::plain(format!(
                    "-e `{}` must be a mapping of variables, not {}",
                    abbreviated(trimmed),
                    node.kind_name()
                ))
                .with_help("write -e '{\"key\": [1, 2]}', -e key=value or -e @vars.yml"));
            }
            check_names(&node, &format!("-e `{}`", abbreviated(trimmed)))?;
            crate::load::fields::var_pairs(&node, "-e")?;
            merge_mapping(&mut vars, node.to_json(), "-e")?;
        } else {
            let words = split_args(trimmed).map_err(|what| {
                InputError::plain(format!("-e `{}` has {what}", abbreviated(arg)))
                    .with_help("close it, or quote the whole value: -e 'key=\"a b\"'")
            })?;
            for word in words {
                let Some((k, v)) = word.split_once('=') else {
                    return Err(InputError::plain(format!(
                        "-e `{}` is not KEY=VALUE",
                        abbreviated(&word)
                    ))
                    .with_help("write -e key=value, -e '{\"key\": [1, 2]}' or -e @vars.yml"));
                };
                if !is_var_name(k) {
                    return Err(InputError::plain(format!(
                        "-e `{}`: {}",
                        abbreviated(&word),
                        bad_name(k)
                    ))
                    .with_help(NAME_HELP));
                }
                let value = Value::String(unquote(v).to_string());
                // Literal connection values, before anything runs (they
                // were refused per host, when it connected, without `-e`).
                let one = Map::from_iter([(k.to_string(), value.clone())]);
                crate::load::inventory::check_connection_vars(&one, &Default::default()).map_err(
                    |mut e| {
                        e.message = format!("-e {}", e.message);
                        e
                    },
                )?;
                vars.insert(k.to_string(), value);
            }
        }
    }
    Ok(vars)
}

/// What is wrong with a name [`is_var_name`] refused.
fn bad_name(name: &str) -> String {
    if name.is_empty() {
        "the variable name is empty".into()
    } else if name.chars().count() <= 60 {
        format!("`{name}` is not a valid variable name")
    } else {
        // The quoted part is text of the file, so that the error of a
        // private file masks it (see `InputError::at`).
        let head: String = name.chars().take(60).collect();
        format!(
            "`{head}`… ({} characters) is not a valid variable name",
            name.chars().count()
        )
    }
}

const NAME_HELP: &str = "variable names are letters, digits and underscores, and do not start with a digit (Ansible takes any name from -e, but no template could name such a variable)";

/// The top-level names of an `-e` mapping (`what`: the `-e` argument) are
/// variable names, as in `key=value` and every `vars:`: a refused name is
/// said with its place (file and line for `-e @file`; a file not readable
/// by other users, such as `/etc/shadow`, has the name masked).
fn check_names(node: &yaml::Node, what: &str) -> Result<(), InputError> {
    for (key, _) in node.as_map().unwrap_or_default() {
        let name = crate::load::fields::key_text(key)?;
        if !is_var_name(&name) {
            return Err(InputError::at(
                &key.origin,
                format!("{what}: {}", bad_name(&name)),
                "this name",
            )
            .with_help(NAME_HELP));
        }
    }
    Ok(())
}

/// `key=value key2="a b"` split into words as Ansible's `split_args`
/// (lib/ansible/parsing/splitter.py) splits them: at whitespace outside
/// quotes and outside Jinja2 blocks (`{{ }}`, `{% %}`, `{# #}`), the quotes
/// kept (`parse_kv` removes a value's surrounding pair, see [`unquote`]).
/// `x={{ lookup('pipe', 'id') }}` is one word whose inner quotes stay.
/// Errors: what is left open ("an unclosed quote", "an unclosed `{{`").
fn split_args(text: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    // Open Jinja2 blocks: the closing pair of each, innermost last.
    let mut blocks: Vec<&'static str> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        if c == '\\' && quote.is_some() {
            word.push(c);
            if let Some(n) = chars.next() {
                word.push(n);
            }
            continue;
        }
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            _ => {}
        }
        if quote.is_none() {
            let opened = match (c, next) {
                ('{', Some('{')) => Some("}}"),
                ('{', Some('%')) => Some("%}"),
                ('{', Some('#')) => Some("#}"),
                _ => None,
            };
            if let Some(close) = opened {
                blocks.push(close);
                word.push(c);
                word.extend(chars.next());
                continue;
            }
            if let (Some(close), Some(n)) = (blocks.last(), next) {
                if close.starts_with(c) && close.ends_with(n) {
                    blocks.pop();
                    word.push(c);
                    word.extend(chars.next());
                    continue;
                }
            }
            if c.is_whitespace() && blocks.is_empty() {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
        }
        word.push(c);
    }
    if quote.is_some() {
        return Err("an unclosed quote");
    }
    match blocks.last() {
        Some(&"}}") => return Err("an unclosed `{{`"),
        Some(&"%}") => return Err("an unclosed `{%`"),
        Some(_) => return Err("an unclosed `{#`"),
        None => {}
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// A value without its surrounding pair of quotes, as Ansible's `unquote`.
fn unquote(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// A command-line value as quoted in a message: at most 60 characters, so
/// a huge argument does not flood the terminal.
fn abbreviated(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}… ({} characters)", text.chars().count())
    }
}

fn merge_mapping(
    vars: &mut Map<String, Value>,
    value: Value,
    what: &str,
) -> Result<(), InputError> {
    match value {
        Value::Object(m) => {
            vars.extend(m);
            Ok(())
        }
        Value::Null => Ok(()),
        _ => Err(
            InputError::plain(format!("{what} must hold a mapping of variables"))
                .with_help("e.g. `hvr_hubdb: hub` lines in the file"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_json_and_errors() {
        let v = parse(&["from=bc1 to='bc 2'".into(), "{\"n\": [1, 2]}".into()]).unwrap();
        assert_eq!(v["from"], "bc1");
        assert_eq!(v["to"], "bc 2");
        assert_eq!(v["n"], serde_json::json!([1, 2]));
        assert!(parse(&["novalue".into()])
            .unwrap_err()
            .message
            .contains("not KEY=VALUE"));
        assert!(parse(&["1x=2".into()]).is_err());
        let list = parse(&["[1, 2]".into()]).unwrap_err().message;
        assert_eq!(
            list,
            "-e `[1, 2]` must be a mapping of variables, not a list"
        );
        assert!(parse(&["@/nonexistent/file.yml".into()])
            .unwrap_err()
            .message
            .contains("cannot read"));
    }

    /// As Ansible's `parse_kv`: Jinja2 blocks and quoted values are one
    /// word, their inner quotes kept; a value's surrounding pair goes.
    #[test]
    fn key_values_split_as_ansible_splits_them() {
        let v = parse(&[
            "x={{ x }} y={{ lookup('pipe','id') }} z=\"a b\" w={% if a %}1{% endif %}".into(),
        ])
        .unwrap();
        assert_eq!(v["x"], "{{ x }}");
        assert_eq!(v["y"], "{{ lookup('pipe','id') }}");
        assert_eq!(v["z"], "a b");
        assert_eq!(v["w"], "{% if a %}1{% endif %}");
        for (arg, what) in [
            ("x={{ y", "an unclosed `{{`"),
            ("x='a b", "an unclosed quote"),
            ("x={% if", "an unclosed `{%`"),
        ] {
            let e = parse(&[arg.into()]).unwrap_err().message;
            assert!(e.ends_with(what), "{arg}: {e}");
        }
    }

    /// 100,000 `[` (as a tester typed it, and inside a mapping): a clear
    /// message naming `-e` and the limit, not a 100,000-character echo.
    #[test]
    fn deeply_nested_inline_values_are_refused_naming_e() {
        for arg in [
            "[".repeat(100_000),
            format!("{{\"a\": {}", "[".repeat(100_000)),
        ] {
            let e = parse(&[arg]).unwrap_err();
            assert_eq!(
                e.message,
                format!(
                    "-e: the inline value is nested more than {} lists or mappings deep (recursion limit exceeded)",
                    yaml::MAX_DEPTH
                )
            );
        }
        let long = "x".repeat(100);
        let e = parse(&[long]).unwrap_err();
        assert!(e.message.len() < 120, "{}", e.message);
        assert!(e.message.contains("(100 characters)"), "{}", e.message);
    }
}
