//! `-e` extra variables: `key=value ...`, inline JSON/YAML, or `@file.yml`.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::source::SourceFile;
use crate::yaml;

pub fn parse(args: &[String]) -> Result<Map<String, Value>, InputError> {
    let mut vars = Map::new();
    for arg in args {
        let trimmed = arg.trim();
        if let Some(file) = trimmed.strip_prefix('@') {
            let node = yaml::parse_file(Path::new(file))?;
            if node.as_map().is_none() && !node.is_null() {
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
            merge_mapping(&mut vars, node.to_json(), &format!("-e @{file}"))?;
        } else if trimmed.starts_with('{') {
            let node = yaml::parse(&SourceFile::new("-e", trimmed.to_string()))?;
            merge_mapping(&mut vars, node.to_json(), "-e")?;
        } else {
            let words = shlex::split(trimmed)
                .ok_or_else(|| InputError::plain(format!("-e `{arg}` has an unclosed quote")))?;
            for word in words {
                let Some((k, v)) = word.split_once('=') else {
                    return Err(InputError::plain(format!("-e `{word}` is not KEY=VALUE"))
                        .with_help("write -e key=value, -e '{\"key\": [1, 2]}' or -e @vars.yml"));
                };
                if k.is_empty()
                    || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    || k.starts_with(|c: char| c.is_ascii_digit())
                {
                    return Err(InputError::plain(format!(
                        "-e `{k}` is not a valid variable name"
                    ))
                    .with_help("variable names are letters, digits and underscores"));
                }
                vars.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
    Ok(vars)
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
        assert!(parse(&["@/nonexistent/file.yml".into()])
            .unwrap_err()
            .message
            .contains("cannot read"));
    }
}
