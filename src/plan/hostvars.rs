//! `groups` and `hostvars`, the magic variables as big as the inventory, as
//! lazy views shared by every host of a task (see [`super::context`]).
//!
//! - `groups`: one per run; a group's list of host names is made the first
//!   time a template reads that group.
//! - `hostvars`: one per task, over a snapshot of what the run knows (each
//!   host's inventory variables, facts and registered values, shared by
//!   reference). A host's entry is made the first time it is read, and its
//!   templated inventory variables are rendered one by one as they are
//!   read (as Ansible's `hostvars` renders lazily): `hostvars['h2'].ip`
//!   renders h2's `ip` and what it needs, nothing else. A variable that
//!   cannot be rendered (undefined, a cycle, too large) is undefined there.
//!
//! Memory is linear in hosts × variables however many hosts read them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as Jinja};
use serde_json::{Map, Value};

use super::context::Shared;
use super::template::Templater;
use super::vars::{Layer, Vars};
use crate::load::inventory::{Inventory, VarOrigins};

/// Each inventory host's inventory variables (see
/// [`Inventory::host_vars`]), computed once per run, on first use, and
/// shared by reference with every `hostvars` snapshot.
pub struct InventoryVars {
    inventory: Inventory,
    /// Every inventory host, in inventory order (`hostvars`' keys).
    names: Arc<[String]>,
    index: Arc<HashMap<String, usize>>,
    cache: Mutex<HashMap<String, HostInventory>>,
}

/// One host's inventory variables and where each was set.
#[derive(Clone)]
pub struct HostInventory {
    pub vars: Arc<Map<String, Value>>,
    pub origins: Arc<VarOrigins>,
}

impl InventoryVars {
    pub fn new(inventory: &Inventory) -> InventoryVars {
        let names: Arc<[String]> = inventory.host_names().into();
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        InventoryVars {
            inventory: inventory.clone(),
            names,
            index: Arc::new(index),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A host's inventory variables (any name: one the inventory lacks gets
    /// what [`Inventory::host_vars`] gives it).
    pub fn get(&self, host: &str) -> Arc<Map<String, Value>> {
        self.get_placed(host).vars
    }

    /// [`InventoryVars::get`] with where each variable was set (see
    /// [`Inventory::var_origins`]).
    pub fn get_placed(&self, host: &str) -> HostInventory {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .entry(host.to_string())
            .or_insert_with(|| HostInventory {
                vars: Arc::new(self.inventory.host_vars(host)),
                origins: Arc::new(self.inventory.var_origins(host)),
            })
            .clone()
    }
}

/// `groups`: every group's hosts by name, a list made when first read.
pub struct GroupsView {
    /// Host names by position in the inventory.
    hosts: Vec<Jinja>,
    groups: Vec<(String, Arc<[usize]>)>,
    index: HashMap<String, usize>,
    lists: Vec<OnceLock<Jinja>>,
}

impl GroupsView {
    /// The view, as a template value.
    pub fn value(inventory: &Inventory) -> Jinja {
        let hosts = inventory
            .hosts()
            .iter()
            .map(|h| Jinja::from(h.name.as_str()))
            .collect();
        let groups: Vec<(String, Arc<[usize]>)> = inventory
            .group_memberships()
            .map(|(name, members)| (name.to_string(), Arc::clone(members)))
            .collect();
        let index = groups
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        let lists = groups.iter().map(|_| OnceLock::new()).collect();
        Jinja::from_object(GroupsView {
            hosts,
            groups,
            index,
            lists,
        })
    }
}

impl fmt::Debug for GroupsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<groups: {} groups>", self.groups.len())
    }
}

impl Object for GroupsView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        let i = *self.index.get(key.as_str()?)?;
        let list = self.lists[i].get_or_init(|| {
            let members = &self.groups[i].1;
            Jinja::from(
                members
                    .iter()
                    .map(|&h| self.hosts[h].clone())
                    .collect::<Vec<_>>(),
            )
        });
        Some(list.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.groups
                .iter()
                .map(|(n, _)| Jinja::from(n.as_str()))
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.groups.len())
    }
}

/// What the run knows of one host when a task starts.
#[derive(Clone, Default)]
pub struct Known {
    pub facts: Arc<Map<String, Value>>,
    pub registered: Arc<Map<String, Value>>,
}

/// `hostvars` for one task: each inventory host's variables, lazily.
pub struct HostvarsView {
    inventory: Arc<InventoryVars>,
    known: HashMap<String, Known>,
    groups: Jinja,
    templater: Arc<Templater>,
    entries: Vec<OnceLock<Jinja>>,
}

impl HostvarsView {
    /// The view, as a template value. `known`: facts and registered values
    /// of the hosts that have any.
    pub fn value(
        inventory: Arc<InventoryVars>,
        known: HashMap<String, Known>,
        groups: Jinja,
        templater: Arc<Templater>,
    ) -> Jinja {
        let entries = inventory.names.iter().map(|_| OnceLock::new()).collect();
        Jinja::from_object(HostvarsView {
            inventory,
            known,
            groups,
            templater,
            entries,
        })
    }

    fn entry(&self, i: usize) -> Jinja {
        let name = &self.inventory.names[i];
        let inventory = self.inventory.get_placed(name);
        let known = self.known.get(name).cloned().unwrap_or_default();
        let vars = Vars::new(&[
            Layer::Inventory(&inventory.vars, &inventory.origins),
            Layer::Data(&known.facts),
            Layer::Data(&known.registered),
        ])
        .with_shared(Shared::new(BTreeMap::from([(
            "groups".to_string(),
            self.groups.clone(),
        )])));
        Jinja::from_object(HostEntry {
            host: name.clone(),
            vars,
            templater: Arc::clone(&self.templater),
        })
    }
}

impl fmt::Debug for HostvarsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<hostvars: {} hosts>", self.entries.len())
    }
}

impl Object for HostvarsView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        let i = *self.inventory.index.get(key.as_str()?)?;
        Some(self.entries[i].get_or_init(|| self.entry(i)).clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.inventory
                .names
                .iter()
                .map(|n| Jinja::from(n.as_str()))
                .collect(),
        )
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// One host's entry in `hostvars`: its inventory variables, facts and
/// registered values (later winning), and `groups`; templated ones are
/// rendered, with this host's variables, when read.
struct HostEntry {
    host: String,
    vars: Vars,
    templater: Arc<Templater>,
}

impl fmt::Debug for HostEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<hostvars of {}>", self.host)
    }
}

impl Object for HostEntry {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        let name = key.as_str()?;
        if !self.vars.contains(name) {
            return self.vars.shared().get(name).cloned();
        }
        let value = self.vars.resolve(name, &self.templater).ok()??;
        Some(Jinja::from_serialize(&value))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<Jinja> = self.vars.names().map(Jinja::from).collect();
        names.extend(
            self.vars
                .shared()
                .names()
                .filter(|n| !self.vars.contains(n))
                .map(Jinja::from),
        );
        Enumerator::Values(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Arc<Map<String, Value>> {
        Arc::new(v.as_object().unwrap().clone())
    }

    fn view(known: HashMap<String, Known>) -> (Jinja, Arc<InventoryVars>) {
        let inv = Inventory::from_text(
            "hosts.yml",
            r#"
bc:
  hosts:
    h1:
      ip: "10.0.0.{{ n }}"
      n: 7
      broken: "{{ nope }}"
      self: "{{ self }}"
      big: "{{ n }}{{ n }}"
      peers: "{{ groups.bc | join(',') }}"
    h2: {a: inventory, b: inventory}
"#,
        )
        .unwrap();
        let vars = Arc::new(InventoryVars::new(&inv));
        let groups = GroupsView::value(&inv);
        let hv = HostvarsView::value(Arc::clone(&vars), known, groups, Arc::new(Templater::new()));
        (hv, vars)
    }

    fn get(v: &Jinja, path: &[&str]) -> Jinja {
        path.iter()
            .fold(v.clone(), |v, k| v.get_attr(k).unwrap_or_default())
    }

    #[test]
    fn an_entry_renders_what_is_read_with_its_hosts_variables() {
        let (hv, _) = view(HashMap::new());
        assert_eq!(get(&hv, &["h1", "ip"]).as_str(), Some("10.0.0.7"));
        // `groups` is there, for the host's own templates and for readers
        assert_eq!(get(&hv, &["h1", "peers"]).as_str(), Some("h1,h2"));
        assert_eq!(get(&hv, &["h2", "groups", "bc"]).len(), Some(2));
        // cannot be rendered: undefined, not a half-rendered value
        assert!(get(&hv, &["h1", "broken"]).is_undefined());
        assert!(get(&hv, &["h1", "self"]).is_undefined());
        assert!(get(&hv, &["nobody"]).is_undefined());
        assert_eq!(hv.len(), Some(2));
        // entries are made once per view: the same object for every reader
        let h1 = get(&hv, &["h1"]);
        let entry = h1.downcast_object_ref::<HostEntry>().unwrap();
        // ip, n, peers (and what broken/self needed): `big` never rendered
        let renders = entry.vars.renders();
        assert!(
            std::ptr::eq(
                entry,
                get(&hv, &["h1"])
                    .downcast_object_ref::<HostEntry>()
                    .unwrap()
            ),
            "one entry per host"
        );
        assert_eq!(get(&hv, &["h1", "big"]).as_str(), Some("77"));
        assert_eq!(entry.vars.renders(), renders + 1);
    }

    #[test]
    fn registered_wins_over_facts_over_inventory_and_is_not_templated() {
        let known = HashMap::from([(
            "h2".to_string(),
            Known {
                facts: map(json!({"b": "facts", "c": "facts"})),
                registered: map(json!({"c": "registered", "out": {"stdout": "{{ n }}"}})),
            },
        )]);
        let (hv, _) = view(known);
        let h2 = native_json(&get(&hv, &["h2"]));
        assert_eq!(h2["a"], "inventory");
        assert_eq!(h2["b"], "facts");
        assert_eq!(h2["c"], "registered");
        assert_eq!(h2["out"]["stdout"], "{{ n }}");
        assert_eq!(h2["groups"]["bc"], json!(["h1", "h2"]));
    }

    #[test]
    fn groups_lists_are_made_once_when_read() {
        let inv = Inventory::from_text("hosts.ini", "[a]\nx\ny\n[b:children]\na\n").unwrap();
        let groups = GroupsView::value(&inv);
        let view = groups.downcast_object_ref::<GroupsView>().unwrap();
        assert!(view.lists.iter().all(|l| l.get().is_none()));
        assert_eq!(native_json(&get(&groups, &["b"])), json!(["x", "y"]));
        let made = view.lists.iter().filter(|l| l.get().is_some()).count();
        assert_eq!(made, 1);
        assert_eq!(
            native_json(&groups),
            json!({"all": ["x", "y"], "ungrouped": [], "a": ["x", "y"], "b": ["x", "y"]})
        );
    }

    fn native_json(v: &Jinja) -> Value {
        super::super::jinja::native::to_json(v)
    }
}
