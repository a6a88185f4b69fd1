//! Strict handlebars templating for strings, values and conditions.
//!
//! Every template carries the [`Origin`] of the YAML value it came from, so an
//! undefined variable is reported at its file, line and column.

use handlebars::{Handlebars, RenderError, RenderErrorReason};
use serde_json::{Map, Value};

use super::helpers::{self, NATIVE_HELPER, TRUTHY_HELPER};
use crate::error::{did_you_mean, InputError};
use crate::source::Origin;
use crate::template_text::is_template;
use crate::yaml::{Node, NodeValue};

pub struct Templater {
    hb: Handlebars<'static>,
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new()
    }
}

impl Templater {
    pub fn new() -> Templater {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut hb);
        helpers::register_blocks(&mut hb);
        Templater { hb }
    }

    /// Render text to a string.
    pub fn render_str(
        &self,
        text: &str,
        vars: &Value,
        origin: &Origin,
    ) -> Result<String, InputError> {
        if !is_template(text) {
            return Ok(text.to_string());
        }
        self.hb
            .render_template(text, vars)
            .map_err(|e| self.render_error(e, text, vars, origin))
    }

    /// Render text to a value. A string that is exactly one `{{ expression }}`
    /// keeps the expression's type (a list stays a list, a number a number),
    /// as Ansible does; anything else is a string.
    pub fn render_value(
        &self,
        text: &str,
        vars: &Value,
        origin: &Origin,
    ) -> Result<Value, InputError> {
        if !is_template(text) {
            return Ok(Value::String(text.to_string()));
        }
        if let Some(expr) = single_expression(text) {
            let wrapped = format!("{{{{{NATIVE_HELPER} {}}}}}", as_param(expr));
            let json = self
                .hb
                .render_template(&wrapped, vars)
                .map_err(|e| self.render_error(e, text, vars, origin))?;
            return Ok(serde_json::from_str(&json).unwrap_or(Value::String(json)));
        }
        self.render_str(text, vars, origin).map(Value::String)
    }

    /// Render every string inside a YAML node.
    pub fn render_node(&self, node: &Node, vars: &Value) -> Result<Value, InputError> {
        Ok(match &node.value {
            NodeValue::Str(s) => self.render_value(s, vars, &node.origin)?,
            NodeValue::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|n| self.render_node(n, vars))
                    .collect::<Result<_, _>>()?,
            ),
            NodeValue::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = match &k.value {
                        NodeValue::Str(s) => self.render_str(s, vars, &k.origin)?,
                        _ => k.scalar_text().unwrap_or_default(),
                    };
                    map.insert(key, self.render_node(v, vars)?);
                }
                Value::Object(map)
            }
            _ => node.to_json(),
        })
    }

    /// Evaluate a condition: a handlebars expression such as
    /// `(eq hvr_state "START")`, a variable name, `{{ expr }}`, or a literal
    /// boolean. Simple Ansible forms (`a == b`, `x is defined`, `not x`) are
    /// translated first.
    pub fn condition(&self, expr: &str, vars: &Value, origin: &Origin) -> Result<bool, InputError> {
        let trimmed = expr.trim();
        let inner = single_expression(trimmed).unwrap_or(trimmed);
        let translated = super::jinja::translate(inner);
        let source = translated.as_deref().unwrap_or(inner);
        let wrapped = format!("{{{{{TRUTHY_HELPER} {}}}}}", as_param(source));
        match self.hb.render_template(&wrapped, vars) {
            Ok(out) => Ok(out == "1"),
            Err(e) => Err(self.render_error(e, expr, vars, origin)),
        }
    }

    /// Evaluate a condition given as a YAML node (a boolean or an expression string).
    pub fn condition_node(&self, node: &Node, vars: &Value) -> Result<bool, InputError> {
        match &node.value {
            NodeValue::Bool(b) => Ok(*b),
            NodeValue::Str(s) => self.condition(s, vars, &node.origin),
            NodeValue::Int(i) => Ok(*i != 0),
            NodeValue::Null => Ok(false),
            _ => Err(InputError::at(
                &node.origin,
                format!(
                    "a condition must be an expression or a boolean, not {}",
                    node.kind_name()
                ),
                "this condition",
            )
            .with_help("write e.g. `when: (eq hvr_state \"START\")`")),
        }
    }

    fn render_error(
        &self,
        err: RenderError,
        text: &str,
        vars: &Value,
        origin: &Origin,
    ) -> InputError {
        let line = err.line_no.unwrap_or(1);
        let col = err.column_no.unwrap_or(1);
        match err.reason() {
            RenderErrorReason::MissingVariable(path) => {
                let name = path.clone().unwrap_or_else(|| "?".into());
                let place = locate(text, &name)
                    .map(|(l, c)| origin.inner(l, c, name.len()))
                    .unwrap_or_else(|| origin.clone());
                let mut help = format!(
                    "define `{name}` (inventory, group_vars, play vars, register, or -e {name}=...), or write (default {name} \"...\") if it is optional"
                );
                if let Some(close) = similar_name(&name, vars) {
                    help = format!("did you mean `{close}`? Otherwise {help}");
                }
                InputError::at(
                    &place,
                    format!("undefined variable `{name}`"),
                    "undefined here",
                )
                .with_help(help)
            }
            RenderErrorReason::TemplateError(t) => {
                let place = match t.pos() {
                    Some((l, c)) if !text.starts_with("{{__baton") => origin.inner(l, c, 2),
                    _ => origin.clone(),
                };
                InputError::at(&place, format!("template syntax error: {}", t.reason()), "in this template")
                    .with_help("templates use handlebars: {{var}}, {{helper arg ...}}, {{#if (eq a b)}}...{{/if}}")
            }
            RenderErrorReason::HelperNotFound(name) => {
                let hint = did_you_mean(name, helpers::HELPER_NAMES.iter().copied())
                    .map(|h| format!("did you mean `{h}`? "))
                    .unwrap_or_default();
                InputError::at(
                    origin,
                    format!("unknown template helper `{name}`"),
                    "used here",
                )
                .with_help(format!(
                    "{hint}available helpers: {}",
                    helpers::HELPER_NAMES.join(", ")
                ))
            }
            other => {
                let place = if line > 1 || col > 1 {
                    origin.inner(line, col, 1)
                } else {
                    origin.clone()
                };
                InputError::at(
                    &place,
                    format!("cannot render template: {other}"),
                    "in this template",
                )
            }
        }
    }
}

/// The expression of a string that is exactly `{{ expr }}`.
fn single_expression(text: &str) -> Option<&str> {
    let t = text.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.starts_with(['#', '/', '!', '>', '~'])
    {
        return None;
    }
    Some(inner.trim())
}

/// Turn mustache content into one helper parameter: `helper a b` → `(helper a b)`.
fn as_param(expr: &str) -> String {
    let e = expr.trim();
    if e.starts_with('(') || !e.contains(char::is_whitespace) || e.starts_with(['"', '\'']) {
        e.to_string()
    } else {
        format!("({e})")
    }
}

/// 1-based line/column of the first occurrence of a variable name in text.
fn locate(text: &str, name: &str) -> Option<(usize, usize)> {
    let first = name.split(['.', '[']).next().unwrap_or(name);
    let idx = text.find(name).or_else(|| text.find(first))?;
    let before = &text[..idx];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

fn similar_name(name: &str, vars: &Value) -> Option<String> {
    let (head, rest) = match name.rsplit_once('.') {
        Some((h, r)) => (Some(h), r),
        None => (None, name),
    };
    let scope = match head {
        Some(h) => h.split('.').try_fold(vars, |v, k| v.get(k))?,
        None => vars,
    };
    let keys = scope.as_object()?;
    did_you_mean(rest, keys.keys().map(String::as_str)).map(|k| match head {
        Some(h) => format!("{h}.{k}"),
        None => k.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::parse;
    use serde_json::json;

    fn node(yaml: &str, key: &str) -> Node {
        parse(&SourceFile::new("play.yml", yaml))
            .unwrap()
            .get(key)
            .unwrap()
            .clone()
    }

    #[test]
    fn renders_strings_and_keeps_native_types() {
        let t = Templater::new();
        let vars = json!({"port": 4343, "nodes": ["bc1", "bc2"], "name": "x"});
        let root = parse(&SourceFile::new(
            "p.yml",
            "a: \"{{ port }}\"\nb: \"{{nodes}}\"\nc: \"p={{port}}\"\nd: '{{join nodes \" \"}}'\n",
        ))
        .unwrap();
        assert_eq!(
            t.render_node(root.get("a").unwrap(), &vars).unwrap(),
            json!(4343)
        );
        assert_eq!(
            t.render_node(root.get("b").unwrap(), &vars).unwrap(),
            json!(["bc1", "bc2"])
        );
        assert_eq!(
            t.render_node(root.get("c").unwrap(), &vars).unwrap(),
            json!("p=4343")
        );
        assert_eq!(
            t.render_node(root.get("d").unwrap(), &vars).unwrap(),
            json!("bc1 bc2")
        );
    }

    #[test]
    fn from_json_turns_command_output_into_a_value() {
        let t = Templater::new();
        let o = Origin::synthetic("t", "");
        let vars = json!({"r": {"stdout": "{\"state\": \"START\", \"lag_ms\": 412}\n"}});
        assert_eq!(
            t.render_value("{{ from_json r.stdout }}", &vars, &o)
                .unwrap(),
            json!({"state": "START", "lag_ms": 412})
        );
        assert!(t
            .condition(
                "(gt (lookup (from_json r.stdout) \"lag_ms\") 400)",
                &vars,
                &o
            )
            .unwrap());
        let bad = json!({"r": {"stdout": "state=START"}});
        let err = t
            .render_value("{{ from_json r.stdout }}", &bad, &o)
            .unwrap_err();
        assert!(err.message.contains("not JSON"), "{}", err.message);
    }

    #[test]
    fn undefined_variable_names_variable_file_and_line() {
        let t = Templater::new();
        let n = node("x: 1\nmsg: \"hello {{ hvr_hub }}\"\n", "msg");
        let err = t.render_node(&n, &json!({"hvr_hubdb": "hub"})).unwrap_err();
        assert_eq!(err.message, "undefined variable `hvr_hub`");
        assert_eq!(err.location.as_deref(), Some("play.yml:2:16"));
        assert!(err.help.unwrap().contains("did you mean `hvr_hubdb`"));
    }

    #[test]
    fn undefined_variable_inside_helper_is_named() {
        let t = Templater::new();
        let n = node("when: (eq hvr_state \"START\")\n", "when");
        let err = t.condition_node(&n, &json!({})).unwrap_err();
        assert_eq!(err.message, "undefined variable `hvr_state`");
        assert_eq!(err.location.as_deref(), Some("play.yml:1:11"));
    }

    #[test]
    fn conditions() {
        let t = Templater::new();
        let o = Origin::synthetic("c", "");
        let vars =
            json!({"s": "START", "n": 3, "e": "5", "flag": "false", "list": [], "r": {"rc": 0}});
        let cases = [
            ("(eq s \"START\")", true),
            ("(ne s \"START\")", false),
            ("(gt n 2)", true),
            ("(lte e 4)", false),
            ("(eq e 5)", true),
            ("flag", false),
            ("list", false),
            ("(not list)", true),
            ("(and (eq n 3) (or flag s))", true),
            ("{{ (eq r.rc 0) }}", true),
            ("(defined nope)", false),
            ("(eq (default nope \"x\") \"x\")", true),
            ("(contains \"abc\" \"b\")", true),
            ("(and (defined nope) nope.x)", false),
            ("(or (defined s) nope.x)", true),
        ];
        for (expr, want) in cases {
            assert_eq!(t.condition(expr, &vars, &o).unwrap(), want, "{expr}");
        }
    }

    #[test]
    fn strict_if_block() {
        let t = Templater::new();
        let o = Origin::synthetic("c", "");
        assert_eq!(
            t.render_str("{{#if a}}y{{else}}n{{/if}}", &json!({"a": 0}), &o)
                .unwrap(),
            "n"
        );
        let err = t
            .render_str("{{#if missing}}y{{/if}}", &json!({}), &o)
            .unwrap_err();
        assert!(err.message.contains("`missing`"));
    }

    #[test]
    fn quote_helper_makes_shell_safe_text() {
        let t = Templater::new();
        let o = Origin::synthetic("c", "");
        let out = t
            .render_str("echo {{quote v}}", &json!({"v": "a'b c"}), &o)
            .unwrap();
        assert_eq!(out, r"echo 'a'\''b c'");
    }

    #[test]
    fn unknown_helper_suggests() {
        let t = Templater::new();
        let o = Origin::synthetic("c", "");
        let err = t
            .render_str("{{jion a \",\"}}", &json!({"a": []}), &o)
            .unwrap_err();
        assert!(err.help.unwrap().contains("did you mean `join`"),);
    }
}
