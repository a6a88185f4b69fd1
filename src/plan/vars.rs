//! Variables: layers in precedence order, merged per host and task.
//!
//! Precedence, lowest first (a documented simplification of Ansible's):
//! role defaults < inventory (all < parent group < child group < host) <
//! facts < play vars < vars_files < role vars < block/task vars <
//! include_vars, registered results and set_fact < extra vars (-e).
//!
//! Values written in YAML may themselves be templates (`hvr_log:
//! "{{hvr_config}}/log"`); they are resolved against the merged set, so order
//! of definition does not matter. Registered results and facts are data and
//! are never templated again.

use serde_json::{Map, Value};

use super::template::Templater;
use crate::error::InputError;
use crate::source::Origin;
use crate::template_text::is_template;
use crate::yaml::Node;

/// One precedence layer.
pub enum Layer<'a> {
    /// Values from YAML, with their origins; may contain templates.
    Nodes(&'a [(String, Node)]),
    /// Values without origins that may contain templates (inventory, -e).
    Templated(&'a Map<String, Value>, &'a str),
    /// Plain data: registered results, facts. Never templated.
    Data(&'a Map<String, Value>),
    /// A single value (loop item, magic vars).
    One(&'a str, Value),
}

struct Pending {
    name: String,
    origin: Origin,
}

const MAX_DEPTH: usize = 8;

/// Merge layers into one mapping and resolve templated values.
pub fn merge(
    layers: &[Layer<'_>],
    templater: &Templater,
) -> Result<Map<String, Value>, InputError> {
    merge_with(layers, templater, true)
}

/// Like [`merge`], but a value that cannot be resolved yet is left out rather
/// than an error: a play's `hosts:` is rendered before any host is chosen, so
/// play vars that use host variables cannot be resolved for it.
pub fn merge_partial(layers: &[Layer<'_>], templater: &Templater) -> Map<String, Value> {
    merge_with(layers, templater, false).unwrap_or_default()
}

fn merge_with(
    layers: &[Layer<'_>],
    templater: &Templater,
    strict: bool,
) -> Result<Map<String, Value>, InputError> {
    let mut vars = Map::new();
    let mut pending: Vec<Pending> = Vec::new();
    let set = |vars: &mut Map<String, Value>,
               pending: &mut Vec<Pending>,
               name: &str,
               value: Value,
               origin: Option<Origin>| {
        pending.retain(|p| p.name != name);
        if let Some(origin) = origin {
            if contains_template(&value) {
                pending.push(Pending {
                    name: name.to_string(),
                    origin,
                });
            }
        }
        vars.insert(name.to_string(), value);
    };
    for layer in layers {
        match layer {
            Layer::Nodes(pairs) => {
                for (name, node) in pairs.iter() {
                    set(
                        &mut vars,
                        &mut pending,
                        name,
                        node.to_json(),
                        Some(node.origin.clone()),
                    );
                }
            }
            Layer::Templated(map, what) => {
                for (name, value) in map.iter() {
                    let origin = contains_template(value).then(|| {
                        Origin::synthetic(&format!("{what} variable `{name}`"), &value_text(value))
                    });
                    set(&mut vars, &mut pending, name, value.clone(), origin);
                }
            }
            Layer::Data(map) => {
                for (name, value) in map.iter() {
                    set(&mut vars, &mut pending, name, value.clone(), None);
                }
            }
            Layer::One(name, value) => set(&mut vars, &mut pending, name, value.clone(), None),
        }
    }
    resolve(&mut vars, pending, templater, strict)?;
    Ok(vars)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn contains_template(v: &Value) -> bool {
    match v {
        Value::String(s) => is_template(s),
        Value::Array(a) => a.iter().any(contains_template),
        Value::Object(o) => o.values().any(contains_template),
        _ => false,
    }
}

/// Render pending values until none contains a template. Each pass expands one
/// level of reference, so a chain of N references needs N passes.
fn resolve(
    vars: &mut Map<String, Value>,
    mut pending: Vec<Pending>,
    templater: &Templater,
    strict: bool,
) -> Result<(), InputError> {
    for _ in 0..MAX_DEPTH {
        if pending.is_empty() {
            return Ok(());
        }
        let context = Value::Object(vars.clone());
        let mut still = Vec::new();
        for p in pending {
            let Some(current) = vars.get(&p.name) else {
                continue;
            };
            let rendered = match render_value(current, &context, templater, &p.origin) {
                Ok(v) => v,
                Err(e) if strict => return Err(e),
                Err(_) => {
                    vars.remove(&p.name);
                    continue;
                }
            };
            let again = contains_template(&rendered);
            vars.insert(p.name.clone(), rendered);
            if again {
                still.push(p);
            }
        }
        pending = still;
    }
    if !strict {
        for p in &pending {
            vars.remove(&p.name);
        }
        return Ok(());
    }
    match pending.first() {
        None => Ok(()),
        Some(p) => Err(InputError::at(
            &p.origin,
            format!(
                "variable `{}` refers to itself (directly or through other variables)",
                p.name
            ),
            "this value",
        )
        .with_help("break the cycle: a variable cannot be defined in terms of itself")),
    }
}

fn render_value(
    value: &Value,
    context: &Value,
    templater: &Templater,
    origin: &Origin,
) -> Result<Value, InputError> {
    Ok(match value {
        Value::String(s) if is_template(s) => templater.render_value(s, context, origin)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, context, templater, origin))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), render_value(v, context, templater, origin)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::parse;
    use serde_json::json;

    fn pairs(yaml: &str) -> Vec<(String, Node)> {
        let node = parse(&SourceFile::new("vars.yml", yaml)).unwrap();
        node.as_map()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn later_layers_win_and_templates_resolve_across_layers() {
        let t = Templater::new();
        let defaults = pairs("base: /opt/hvr\nconfig: \"{{base}}/config\"\nport: 1\n");
        let play = pairs("log: \"{{config}}/log\"\nport: 2\n");
        let extra: Map<String, Value> = json!({"base": "/srv"}).as_object().unwrap().clone();
        let vars = merge(
            &[
                Layer::Nodes(&defaults),
                Layer::Nodes(&play),
                Layer::Templated(&extra, "-e"),
            ],
            &t,
        )
        .unwrap();
        assert_eq!(vars["log"], "/srv/config/log");
        assert_eq!(vars["port"], 2);
    }

    #[test]
    fn data_layers_are_not_templated() {
        let t = Templater::new();
        let reg: Map<String, Value> = json!({"out": {"stdout": "{{not_a_var}}"}})
            .as_object()
            .unwrap()
            .clone();
        let vars = merge(&[Layer::Data(&reg)], &t).unwrap();
        assert_eq!(vars["out"]["stdout"], "{{not_a_var}}");
    }

    #[test]
    fn undefined_reference_names_the_place() {
        let t = Templater::new();
        let play = pairs("a: 1\nb: \"{{ nope }}\"\n");
        let err = merge(&[Layer::Nodes(&play)], &t).unwrap_err();
        assert_eq!(err.message, "undefined variable `nope`");
        assert!(err.location.unwrap().starts_with("vars.yml:2:"));
    }

    #[test]
    fn partial_merge_leaves_out_what_it_cannot_resolve() {
        let t = Templater::new();
        let play = pairs("greeting: \"hello {{ inventory_hostname }}\"\ntarget: bc1\n");
        let vars = merge_partial(&[Layer::Nodes(&play)], &t);
        assert_eq!(vars["target"], "bc1");
        assert!(!vars.contains_key("greeting"));
    }

    #[test]
    fn self_reference_is_reported() {
        let t = Templater::new();
        let play = pairs("a: \"x{{ b }}\"\nb: \"y{{ a }}\"\n");
        let err = merge(&[Layer::Nodes(&play)], &t).unwrap_err();
        assert!(err.message.contains("refers to itself"), "{}", err.message);
    }
}
