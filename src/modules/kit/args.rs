//! Typed access to a module's rendered arguments.
//!
//! The loader has already rejected unknown arguments, but values arrive as
//! whatever YAML or a template produced (`"yes"`, `true`, `0644`, `"10"`), so
//! every accessor accepts the spellings Ansible accepts and names the argument
//! when a value does not fit.

use serde_json::Value;

use crate::modules::{Args, ModuleError, ModuleSpec};

pub(crate) struct ArgReader<'a> {
    spec: &'static ModuleSpec,
    args: &'a Args,
}

impl<'a> ArgReader<'a> {
    pub fn new(spec: &'static ModuleSpec, args: &'a Args) -> ArgReader<'a> {
        ArgReader { spec, args }
    }

    /// The value of `name` given under its own name or any alias; `null` counts as absent.
    pub fn value(&self, name: &str) -> Option<&'a Value> {
        if let Some(v) = self.args.get(name).filter(|v| !v.is_null()) {
            return Some(v);
        }
        let arg = self.spec.args.iter().find(|a| a.name == name)?;
        arg.aliases
            .iter()
            .find_map(|alias| self.args.get(*alias).filter(|v| !v.is_null()))
    }

    /// A scalar as text: strings as they are, numbers and booleans spelled out.
    pub fn string(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => scalar_text(v)
                .map(Some)
                .ok_or_else(|| type_error(name, "a string", v)),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, ModuleError> {
        self.string(name)?
            .ok_or_else(|| ModuleError::Args(format!("missing required argument `{name}`")))
    }

    /// A filesystem path: non-empty and on one line. Linux allows a line
    /// break in a name, but most modules' scripts answer line by line and
    /// some print paths back (`find` listings, backups, link targets), where
    /// such a name would be cut or split; refusing says so rather than
    /// acting on part of a name. See [`ArgReader::path_any_line`].
    pub fn path(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.path_any_line(name)? {
            Some(p) if p.contains(['\n', '\r']) => Err(ModuleError::Args(format!(
                "argument `{name}` contains a line break: {p:?}; this module's answers are read line by line, so baton does not take such a path here (`stat` does; see README \"What differs from Ansible\")"
            ))),
            p => Ok(p),
        }
    }

    /// A filesystem path that may hold line breaks, for a module whose
    /// script only quotes it (shell::quote keeps a newline inside single
    /// quotes) and never prints it back. Empty and NUL are refused: no
    /// path can hold a NUL (the kernel ends the name there).
    pub fn path_any_line(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.string(name)? {
            None => Ok(None),
            Some(p) if p.is_empty() => Err(ModuleError::Args(format!(
                "argument `{name}` is empty; give a path"
            ))),
            Some(p) if p.contains('\0') => Err(ModuleError::Args(format!(
                "argument `{name}` contains a NUL byte, which no path can hold: {p:?}"
            ))),
            Some(p) => Ok(Some(p)),
        }
    }

    pub fn required_path(&self, name: &str) -> Result<String, ModuleError> {
        self.path(name)?
            .ok_or_else(|| ModuleError::Args(format!("missing required argument `{name}`")))
    }

    /// Ansible booleans: true/false, yes/no, on/off, 1/0, y/n, t/f (any case).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ModuleError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => parse_bool(v)
                .map(Some)
                .ok_or_else(|| type_error(name, "a boolean (yes/no, true/false)", v)),
        }
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ModuleError> {
        Ok(self.opt_bool(name)?.unwrap_or(default))
    }

    /// A number, given as a number or a numeric string.
    pub fn number(&self, name: &str) -> Result<Option<f64>, ModuleError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| type_error(name, "a number", &Value::Number(n.clone()))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| type_error(name, "a number", &Value::String(s.clone()))),
            Some(v) => Err(type_error(name, "a number", v)),
        }
    }

    /// A non-negative number of seconds (fractions allowed).
    pub fn seconds(&self, name: &str) -> Result<Option<f64>, ModuleError> {
        match self.number(name)? {
            Some(n) => crate::bounds::seconds(n, &format!("argument `{name}`"))
                .map(Some)
                .map_err(ModuleError::Args),
            None => Ok(None),
        }
    }

    /// A whole number within `range`.
    pub fn integer(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ModuleError> {
        match self.number(name)? {
            None => Ok(None),
            Some(n) if n.fract() == 0.0 && range.contains(&(n as i64)) => Ok(Some(n as i64)),
            Some(n) => Err(ModuleError::Args(format!(
                "argument `{name}` must be a whole number from {} to {} (got {n})",
                range.start(),
                range.end()
            ))),
        }
    }

    /// A list of scalars; a single scalar counts as a one-element list.
    pub fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ModuleError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| scalar_text(v).ok_or_else(|| type_error(name, "a list of strings", v)))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => scalar_text(v)
                .map(|s| Some(vec![s]))
                .ok_or_else(|| type_error(name, "a list of strings", v)),
        }
    }

    /// A value that must be one of the spec's `choices` for `name`.
    pub fn choice(&self, name: &str) -> Result<Option<String>, ModuleError> {
        let Some(value) = self.string(name)? else {
            return Ok(None);
        };
        let choices = self
            .spec
            .args
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.choices)
            .unwrap_or(&[]);
        if choices.is_empty() || choices.contains(&value.as_str()) {
            Ok(Some(value))
        } else {
            Err(ModuleError::Args(format!(
                "argument `{name}` must be one of {}, not `{value}`",
                choices.join(", ")
            )))
        }
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" | "t" => Some(true),
            "false" | "no" | "off" | "0" | "n" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn type_error(name: &str, expected: &str, got: &Value) -> ModuleError {
    let got = match got {
        Value::Null => "nothing".to_string(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("`{s}`"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    };
    ModuleError::Args(format!("argument `{name}` must be {expected}, got {got}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::ArgSpec;
    use serde_json::json;

    static SPEC: ModuleSpec = ModuleSpec {
        name: "t",
        args: &[
            ArgSpec::optional("path").aliases(&["dest", "name"]),
            ArgSpec::optional("state").choices(&["present", "absent"]),
            ArgSpec::optional("flag"),
            ArgSpec::optional("n"),
            ArgSpec::optional("items"),
        ],
        free_form: None,
        one_of: &[],
        raw_args: &[],
        any_args: false,
        skips_in_check_mode: false,
        source_dir: None,
    };

    fn reader(v: Value) -> (Args, &'static ModuleSpec) {
        (v.as_object().cloned().unwrap(), &SPEC)
    }

    #[test]
    fn aliases_resolve_to_the_canonical_argument() {
        let (args, spec) = reader(json!({"dest": "/tmp/x"}));
        let r = ArgReader::new(spec, &args);
        assert_eq!(r.path("path").unwrap().as_deref(), Some("/tmp/x"));
        let (args, spec) = reader(json!({"path": null, "name": "/a"}));
        assert_eq!(
            ArgReader::new(spec, &args).path("path").unwrap().as_deref(),
            Some("/a")
        );
    }

    #[test]
    fn booleans_take_ansible_spellings_and_reject_others() {
        for (v, want) in [
            (json!("yes"), true),
            (json!("No"), false),
            (json!(1), true),
            (json!(true), true),
        ] {
            let (args, spec) = reader(json!({ "flag": v }));
            assert_eq!(
                ArgReader::new(spec, &args).bool("flag", !want).unwrap(),
                want
            );
        }
        let (args, spec) = reader(json!({"flag": "maybe"}));
        let err = ArgReader::new(spec, &args).bool("flag", false).unwrap_err();
        assert!(err.to_string().contains("`flag`"), "{err}");
    }

    #[test]
    fn choices_and_numbers_are_checked_with_the_argument_name() {
        let (args, spec) = reader(json!({"state": "gone", "n": "1.5", "items": "one"}));
        let r = ArgReader::new(spec, &args);
        let err = r.choice("state").unwrap_err().to_string();
        assert!(
            err.contains("present, absent") && err.contains("gone"),
            "{err}"
        );
        assert_eq!(r.number("n").unwrap(), Some(1.5));
        assert!(r.integer("n", 0..=10).is_err());
        assert_eq!(
            r.string_list("items").unwrap(),
            Some(vec!["one".to_string()])
        );
    }

    #[test]
    fn paths_must_be_single_line() {
        let (args, spec) = reader(json!({"path": "/tmp/a\n"}));
        assert!(ArgReader::new(spec, &args).path("path").is_err());
    }
}
