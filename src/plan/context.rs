//! What a template reads: one host's variables for one task, in layers that
//! are shared rather than copied.
//!
//! Three layers, the later winning:
//! - the host's own variables (JSON, as [`super::host_vars::host_vars`]
//!   merged them), converted to template values once, however many
//!   templates, loop items or retries read them;
//! - the [`Shared`] values: the same for every host of a task (`groups`,
//!   `hostvars`, `play_hosts`, ...), built once per task and shared by every
//!   host, as Ansible's magic variables win over every other variable;
//! - a few values set over those: the loop item and its `ansible_loop`, a
//!   registered result for `until`/`changed_when`.
//!
//! Before this, each host's variables held `groups` and `hostvars` (every
//! host's variables, each with `groups` again), copied per host, task and
//! loop item and converted to template values per template: memory cubic
//! in the hosts (250 hosts: 7.4 GB) and loops quadratic in their items.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use minijinja::value::{merge_maps, Value as Jinja};
use serde_json::{Map, Value};

use super::jinja::native;

/// Values every host of a task sees the same: one map, shared.
#[derive(Clone, Debug, Default)]
pub struct Shared {
    values: Arc<BTreeMap<String, Jinja>>,
}

impl Shared {
    pub fn new(values: BTreeMap<String, Jinja>) -> Shared {
        Shared {
            values: Arc::new(values),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Jinja> {
        self.values.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    fn jinja(&self) -> Jinja {
        Jinja::from_dyn_object(Arc::clone(&self.values))
    }
}

/// The host's own variables and their template form, made once.
#[derive(Debug, Default)]
struct Own {
    json: Map<String, Value>,
    jinja: OnceLock<Jinja>,
}

/// One host's variables for one task, as templates read them. Cloning is
/// cheap: the host's variables and the shared values are reference-counted.
#[derive(Clone, Debug, Default)]
pub struct Context {
    own: Arc<Own>,
    shared: Shared,
    /// Variables kept in template form (lists and mappings rendered from
    /// other variables, parts shared), over the own ones, under the shared.
    values: Arc<BTreeMap<String, Jinja>>,
    /// Facts set over the others in template form ([`Context::set_jinja`]):
    /// a `set_fact` list or mapping that loop items read and grow, kept as
    /// rendered rather than converted to JSON and back per item.
    facts: Arc<BTreeMap<String, Jinja>>,
    /// Set over the others (loop item, registered result): few and small.
    top: Map<String, Value>,
    /// Everything merged, as templates see it; made on first use.
    merged: OnceLock<Jinja>,
}

impl Context {
    /// A host's own variables with the task's shared values.
    pub fn new(own: Map<String, Value>, shared: Shared) -> Context {
        Context {
            own: Arc::new(Own {
                json: own,
                jinja: OnceLock::new(),
            }),
            shared,
            values: Arc::default(),
            facts: Arc::default(),
            top: Map::new(),
            merged: OnceLock::new(),
        }
    }

    /// [`Context::new`] with variables already in template form (whose
    /// parts stay shared, never copied to JSON and back), over `own`.
    pub fn with_values(
        own: Map<String, Value>,
        values: BTreeMap<String, Jinja>,
        shared: Shared,
    ) -> Context {
        let mut ctx = Context::new(own, shared);
        ctx.values = Arc::new(values);
        ctx
    }

    /// Plain variables (a JSON mapping; anything else is no variables).
    pub fn from_json(vars: &Value) -> Context {
        match vars {
            Value::Object(map) => Context::new(map.clone(), Shared::default()),
            _ => Context::default(),
        }
    }

    /// Set a variable over every other (a loop item, a registered result).
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.top.insert(name.into(), value);
        self.merged = OnceLock::new();
    }

    /// Set a variable over every other, in template form (as
    /// [`Context::set`], without converting it: its parts stay shared with
    /// the value it was rendered from). A later [`Context::set`] of the
    /// same name wins over it.
    pub fn set_jinja(&mut self, name: impl Into<String>, value: Jinja) {
        let name = name.into();
        self.top.shift_remove(&name);
        Arc::make_mut(&mut self.facts).insert(name, value);
        self.merged = OnceLock::new();
    }

    /// The host's own variables (connection settings are read here).
    pub fn own(&self) -> &Map<String, Value> {
        &self.own.json
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    pub fn contains(&self, name: &str) -> bool {
        self.top.contains_key(name)
            || self.facts.contains_key(name)
            || self.shared.get(name).is_some()
            || self.values.contains_key(name)
            || self.own.json.contains_key(name)
    }

    /// A variable as JSON (a shared one is converted, whole).
    pub fn get(&self, name: &str) -> Option<Cow<'_, Value>> {
        if let Some(v) = self.top.get(name) {
            return Some(Cow::Borrowed(v));
        }
        if let Some(v) = self.facts.get(name) {
            return Some(Cow::Owned(native::to_json(v)));
        }
        if let Some(v) = self.shared.get(name) {
            return Some(Cow::Owned(native::to_json(v)));
        }
        if let Some(v) = self.values.get(name) {
            return Some(Cow::Owned(native::to_json(v)));
        }
        self.own.json.get(name).map(Cow::Borrowed)
    }

    /// Every variable's name, once each.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .own
            .json
            .keys()
            .chain(self.top.keys())
            .chain(self.values.keys())
            .chain(self.facts.keys())
            .map(String::as_str)
            .chain(self.shared.names())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The variables as one template value: a lazy merge of the layers,
    /// nothing copied.
    pub fn jinja(&self) -> Jinja {
        self.merged
            .get_or_init(|| {
                let own = self
                    .own
                    .jinja
                    .get_or_init(|| Jinja::from_serialize(&self.own.json))
                    .clone();
                let mut layers = vec![own];
                if !self.values.is_empty() {
                    layers.push(Jinja::from_dyn_object(Arc::clone(&self.values)));
                }
                if !self.shared.values.is_empty() {
                    layers.push(self.shared.jinja());
                }
                if !self.facts.is_empty() {
                    layers.push(Jinja::from_dyn_object(Arc::clone(&self.facts)));
                }
                if !self.top.is_empty() {
                    layers.push(Jinja::from_serialize(&self.top));
                }
                merge_maps(layers)
            })
            .clone()
    }

    /// As JSON, whole, for what needs plain data (handlebars): the own and
    /// set variables, and the shared ones `wanted` names (a shared value
    /// such as `hostvars` is as big as the inventory).
    pub fn to_json(&self, wanted: impl Fn(&str) -> bool) -> Value {
        let mut out = self.own.json.clone();
        for (name, v) in self.values.iter() {
            out.insert(name.clone(), native::to_json(v));
        }
        for (name, v) in self.shared.values.iter() {
            if wanted(name) {
                out.insert(name.clone(), native::to_json(v));
            }
        }
        for (name, v) in self.facts.iter() {
            out.insert(name.clone(), native::to_json(v));
        }
        out.extend(self.top.iter().map(|(k, v)| (k.clone(), v.clone())));
        Value::Object(out)
    }
}

/// What the templater accepts as variables: a [`Context`], or plain JSON
/// (a mapping), converted.
pub trait AsContext {
    fn as_context(&self) -> Cow<'_, Context>;
}

impl AsContext for Context {
    fn as_context(&self) -> Cow<'_, Context> {
        Cow::Borrowed(self)
    }
}

impl AsContext for Value {
    fn as_context(&self) -> Cow<'_, Context> {
        Cow::Owned(Context::from_json(self))
    }
}

impl AsContext for Map<String, Value> {
    fn as_context(&self) -> Cow<'_, Context> {
        Cow::Owned(Context::new(self.clone(), Shared::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn set_wins_over_shared_over_own() {
        let shared = Shared::new(BTreeMap::from([
            ("groups".to_string(), Jinja::from(vec!["h1"])),
            ("x".to_string(), Jinja::from("shared")),
        ]));
        let mut ctx = Context::new(map(json!({"x": "own", "y": 1})), shared);
        assert_eq!(ctx.get("x").unwrap().as_ref(), &json!("shared"));
        let j = ctx.jinja();
        assert_eq!(j.get_attr("x").unwrap().as_str(), Some("shared"));
        assert_eq!(j.get_attr("y").unwrap(), Jinja::from(1));
        ctx.set("x", json!("top"));
        assert_eq!(ctx.jinja().get_attr("x").unwrap().as_str(), Some("top"));
        assert_eq!(ctx.get("groups").unwrap().as_ref(), &json!(["h1"]));
        assert_eq!(ctx.names(), ["groups", "x", "y"]);
        assert!(ctx.contains("groups") && !ctx.contains("z"));
        // handlebars' JSON has only the shared values it names
        let j = ctx.to_json(|n| n == "groups");
        assert_eq!(j, json!({"x": "top", "y": 1, "groups": ["h1"]}));
    }

    #[test]
    fn clones_share_the_converted_variables() {
        let ctx = Context::new(map(json!({"big": [1, 2, 3]})), Shared::default());
        let _ = ctx.jinja();
        let mut item = ctx.clone();
        item.set("item", json!(7));
        assert!(Arc::ptr_eq(&ctx.own, &item.own));
        assert!(item.own.jinja.get().is_some());
        assert_eq!(item.jinja().get_attr("item").unwrap(), Jinja::from(7));
    }
}
