//! `groups` and `hostvars`, the magic variables as big as the inventory, as
//! lazy views shared by every host of a task (see [`super::context`]).
//!
//! - `groups`: one per run; a group's list of host names is made the first
//!   time a template reads that group.
//! - `hostvars`: one per task, over what the run knows (each host's
//!   inventory variables, and its facts and registered values from the
//!   run's [`KnownHosts`], shared by reference). Making a view costs the
//!   same at 10 hosts as at 10,000: nothing is copied per host until a
//!   template reads that host. A host's entry is made the first time it is
//!   read (taking the host's facts and registered values as they are then,
//!   kept for the rest of the view's task), and its
//!   templated inventory variables are rendered one by one as they are
//!   read (as Ansible's `hostvars` renders lazily): `hostvars['h2'].ip`
//!   renders h2's `ip` and what it needs, nothing else. A variable that
//!   cannot be rendered (undefined, a cycle, too large) is undefined there.
//!   An entry's templates read `hostvars` too; a cycle through entries
//!   (`x` of a reads `hostvars['b'].y`, which reads `hostvars['a'].x`) is
//!   found per thread and named by the template that read it (see
//!   [`take_cycle`]), not reported as undefined.
//!
//! Memory is linear in hosts × variables however many hosts read them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as Jinja};
use serde_json::{Map, Value};

use super::context::Shared;
use super::template::Templater;
use super::vars::{Layer, Vars};
use crate::load::inventory::{Inventory, VarOrigins};
use crate::source::Origin;

/// Each inventory host's inventory variables (see
/// [`Inventory::host_vars`]), computed once per run, on first use, and
/// shared by reference with every `hostvars` snapshot.
pub struct InventoryVars {
    inventory: Inventory,
    /// Every inventory host, in inventory order (`hostvars`' keys).
    names: Arc<[String]>,
    index: Arc<HashMap<String, usize>>,
    cache: Mutex<HashMap<String, HostInventory>>,
    /// `-e`, which wins over a host's own variables in `hostvars` too.
    extra_vars: Arc<Map<String, Value>>,
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
            extra_vars: Arc::new(Map::new()),
        }
    }

    /// With `-e`: every `hostvars` entry has them, above the host's own
    /// (as Ansible's `hostvars[h]` has the extra vars).
    pub fn with_extra_vars(mut self, extra_vars: Map<String, Value>) -> InventoryVars {
        self.extra_vars = Arc::new(extra_vars);
        self
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

/// What the run knows of one host: its facts and registered values.
#[derive(Clone, Default)]
pub struct Known {
    pub facts: Arc<Map<String, Value>>,
    pub registered: Arc<Map<String, Value>>,
}

/// Every host's facts and registered values as the run knows them now: one
/// store for the run, written as outcomes are recorded, read by every
/// `hostvars` view when a template first reads a host.
///
/// Before it, each view copied every host's two handles when it was made,
/// once per task; under `strategy: free` each host's lane makes a view per
/// task, so that was quadratic in the hosts, in time and (lanes waiting
/// for `forks` hold their views) in memory: 1,000 hosts, one task, 290 MB
/// (issue 14).
///
/// A value handed out shares its maps: changing a host's values while a
/// view holds them copies that host's map once (copy on write), the view
/// keeping what it read.
#[derive(Default)]
pub struct KnownHosts {
    hosts: Mutex<HashMap<String, Known>>,
}

impl KnownHosts {
    /// A store holding `known` (hosts without an entry know nothing).
    pub fn new(known: HashMap<String, Known>) -> KnownHosts {
        KnownHosts {
            hosts: Mutex::new(known),
        }
    }

    /// What the run knows of `host` now (empty maps for a host it does
    /// not know); the maps are shared, not copied.
    pub fn get(&self, host: &str) -> Known {
        self.lock().get(host).cloned().unwrap_or_default()
    }

    /// Change what the run knows of `host` (its entry made if needed).
    /// `f` must not read this store (the store is locked while it runs).
    pub fn update<T>(&self, host: &str, f: impl FnOnce(&mut Known) -> T) -> T {
        let mut hosts = self.lock();
        match hosts.get_mut(host) {
            Some(known) => f(known),
            None => f(hosts.entry(host.to_string()).or_default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `hostvars` for one task: each inventory host's variables, lazily.
pub struct HostvarsView {
    inventory: Arc<InventoryVars>,
    known: Arc<KnownHosts>,
    groups: Jinja,
    templater: Arc<Templater>,
    /// Each host's entry by its place in the inventory, made when first
    /// read (a map, not a slot per host: a view is made per task and lane,
    /// and most read few hosts or none).
    entries: Mutex<HashMap<usize, Jinja>>,
}

impl HostvarsView {
    /// The view, as a template value: no work per host until one is read.
    /// `known`: the run's facts and registered values.
    pub fn value(
        inventory: Arc<InventoryVars>,
        known: Arc<KnownHosts>,
        groups: Jinja,
        templater: Arc<Templater>,
    ) -> Jinja {
        Jinja::from_object(HostvarsView {
            inventory,
            known,
            groups,
            templater,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// Host `i`'s entry. Its templates see `groups` and `hostvars` (this
    /// view, held weakly: the view owns its entries).
    fn entry(self: &Arc<Self>, i: usize) -> Jinja {
        let name = &self.inventory.names[i];
        let shared = Shared::new(BTreeMap::from([
            ("groups".to_string(), self.groups.clone()),
            (
                "hostvars".to_string(),
                Jinja::from_object(HostvarsRef(Arc::downgrade(self))),
            ),
        ]));
        let entry = HostEntry {
            host: name.clone(),
            inventory: self.inventory.get_placed(name),
            known: self.known.get(name),
            extra_vars: Arc::clone(&self.inventory.extra_vars),
            shared,
            vars: OnceLock::new(),
            cycles: Mutex::new(HashMap::new()),
            templater: Arc::clone(&self.templater),
        };
        Jinja::from_object(entry)
    }
}

impl fmt::Debug for HostvarsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<hostvars: {} hosts>", self.inventory.names.len())
    }
}

impl Object for HostvarsView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        forget_stale_cycle();
        let i = *self.inventory.index.get(key.as_str()?)?;
        let lock = || self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = lock().get(&i) {
            return Some(entry.clone());
        }
        // Made unlocked (the host's inventory variables may be computed
        // now); two readers racing keep the first one made.
        let made = self.entry(i);
        Some(lock().entry(i).or_insert(made).clone())
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
        Some(self.inventory.names.len())
    }
}

/// `hostvars` as the entries' own templates see it: the view, without
/// keeping it alive.
struct HostvarsRef(Weak<HostvarsView>);

impl fmt::Debug for HostvarsRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<hostvars>")
    }
}

impl Object for HostvarsRef {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        self.0.upgrade()?.get_value(key)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.0.upgrade() {
            Some(view) => view.enumerate(),
            None => Enumerator::Empty,
        }
    }
}

/// A host's variable, as `(host, name)`.
type Read = (String, String);

/// A variable on a cycle: `(host, name)` and where its value is written.
pub type CycleStep = (Read, Option<Origin>);

thread_local! {
    /// The `hostvars` entries' variables being rendered on this thread,
    /// outermost first: one read again before it is done is a cycle
    /// (`x` of a reads `hostvars['b'].y`, which reads `hostvars['a'].x`).
    static READING: RefCell<Vec<CycleStep>> = const { RefCell::new(Vec::new()) };
    /// The cycle the outermost read on this thread ran into, if any.
    static FOUND: RefCell<Option<Arc<[CycleStep]>>> = const { RefCell::new(None) };
    /// Values read below the outermost read (each rendered once per
    /// outermost read, as each variable is once per host and task).
    static NESTED: RefCell<HashMap<Read, Option<Value>>> = RefCell::new(HashMap::new());
    /// The last read that came back undefined because of a cycle, and the
    /// cycle: what the template that made it reports (see [`take_cycle`]).
    static PENDING: RefCell<Option<(Read, Arc<[CycleStep]>)>> = const { RefCell::new(None) };
}

/// The cycle behind the undefined `hostvars.HOST.NAME` a template just
/// failed on, if a cycle made it undefined: the variables in order, the
/// first one last again. Taken once.
/// `None` for the name: the template's undefined value has none (a host
/// chosen by an expression, `hostvars[inventory_hostname].x`).
pub fn take_cycle(undefined: Option<&str>) -> Option<Vec<CycleStep>> {
    let (read, cycle) = PENDING.with(|p| p.borrow_mut().take())?;
    let path = format!("hostvars.{}.{}", read.0, read.1);
    undefined
        .is_none_or(|name| name == path)
        .then(|| cycle.to_vec())
}

/// A new `hostvars` read from outside every entry: a cycle an earlier
/// template met (and guarded with `default`) is no longer this one's.
fn forget_stale_cycle() {
    if READING.with(|r| r.borrow().is_empty()) {
        PENDING.with(|p| p.borrow_mut().take());
    }
}

/// One host's entry in `hostvars`: its inventory variables, facts and
/// registered values (later winning), `groups` and `hostvars`; templated
/// ones are rendered, with this host's variables, when read.
///
/// A read from inside another entry's template (`x` of a reading
/// `hostvars['b'].y`) renders with variables of its own, not the entry's
/// memo (whose lock the outer read may hold), once per outermost read;
/// a variable met again on the way is a cycle, named by [`take_cycle`].
struct HostEntry {
    host: String,
    inventory: HostInventory,
    known: Known,
    extra_vars: Arc<Map<String, Value>>,
    shared: Shared,
    /// Made on first read.
    vars: OnceLock<Vars>,
    /// Variables that failed on a cycle, and the cycle.
    cycles: Mutex<HashMap<String, Arc<[CycleStep]>>>,
    templater: Arc<Templater>,
}

impl HostEntry {
    fn new_vars(&self) -> Vars {
        Vars::new(&[
            Layer::Inventory(&self.inventory.vars, &self.inventory.origins),
            Layer::Data(&self.known.facts),
            Layer::Data(&self.known.registered),
            Layer::Templated(&self.extra_vars, "-e"),
        ])
        .with_shared(self.shared.clone())
    }

    fn vars(&self) -> &Vars {
        self.vars.get_or_init(|| self.new_vars())
    }

    /// A templated variable, rendered; `None` when it cannot be (undefined,
    /// too large, a cycle).
    fn read(&self, name: &str) -> Option<Value> {
        let read = (self.host.clone(), name.to_string());
        let step = (read.clone(), self.inventory.origins.get(name).cloned());
        let (outermost, seen) = READING.with(|r| {
            let r = r.borrow();
            (r.is_empty(), r.iter().position(|(x, _)| *x == read))
        });
        if let Some(start) = seen {
            let cycle: Arc<[CycleStep]> = READING.with(|r| {
                let r = r.borrow();
                let mut cycle = r[start..].to_vec();
                cycle.push(step);
                cycle.into()
            });
            FOUND.with(|f| {
                f.borrow_mut().get_or_insert(cycle);
            });
            return self.undefined(read);
        }
        if !outermost {
            if let Some(v) = NESTED.with(|n| n.borrow().get(&read).cloned()) {
                return v.or_else(|| self.undefined(read));
            }
        }
        READING.with(|r| r.borrow_mut().push(step));
        let value = if outermost {
            self.vars().resolve(name, &self.templater).ok().flatten()
        } else {
            self.new_vars()
                .resolve(name, &self.templater)
                .ok()
                .flatten()
        };
        READING.with(|r| r.borrow_mut().pop());
        if outermost {
            NESTED.with(|n| n.borrow_mut().clear());
            let found = FOUND.with(|f| f.borrow_mut().take());
            if let (None, Some(cycle)) = (&value, found) {
                self.cycles
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(name.to_string(), cycle);
            }
        } else {
            NESTED.with(|n| n.borrow_mut().insert(read.clone(), value.clone()));
        }
        value.or_else(|| self.undefined(read))
    }

    /// Undefined: if a cycle made it so, say which for [`take_cycle`].
    fn undefined(&self, read: Read) -> Option<Value> {
        let known = self
            .cycles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&read.1)
            .cloned();
        let cycle = known.or_else(|| FOUND.with(|f| f.borrow().clone()));
        if let Some(cycle) = cycle {
            PENDING.with(|p| *p.borrow_mut() = Some((read, cycle)));
        }
        None
    }
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
        forget_stale_cycle();
        let name = key.as_str()?;
        let vars = self.vars();
        if !vars.contains(name) {
            // `hostvars` is for the entry's own templates, not a key of it
            // (`hostvars | to_json` would never end)
            return self
                .shared
                .get(name)
                .filter(|_| name != "hostvars")
                .cloned();
        }
        let value = if vars.is_templated(name) {
            self.read(name)?
        } else {
            vars.resolve(name, &self.templater).ok()??
        };
        Some(Jinja::from_serialize(&value))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let vars = self.vars();
        let mut names: Vec<Jinja> = vars.names().map(Jinja::from).collect();
        names.extend(
            self.shared
                .names()
                .filter(|n| *n != "hostvars" && !vars.contains(n))
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
        view_over(Arc::new(KnownHosts::new(known)))
    }

    fn view_over(known: Arc<KnownHosts>) -> (Jinja, Arc<InventoryVars>) {
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
        let renders = entry.vars().renders();
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
        assert_eq!(entry.vars().renders(), renders + 1);
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
    fn a_view_takes_a_hosts_values_when_first_read_and_keeps_them() {
        // Views are made per task without copying every host (issue 14):
        // each takes a host's values from the run's store when a template
        // first reads that host, and keeps them for its task.
        let store = Arc::new(KnownHosts::default());
        let set = |v: i64| {
            store.update("h2", |k| {
                Arc::make_mut(&mut k.registered).insert("r".into(), json!(v));
            })
        };
        let (hv, _) = view_over(Arc::clone(&store));
        set(1);
        assert_eq!(native_json(&get(&hv, &["h2", "r"])), json!(1));
        set(2);
        assert_eq!(native_json(&get(&hv, &["h2", "r"])), json!(1), "kept");
        assert_eq!(store.get("h2").registered["r"], json!(2));
        let (next, _) = view_over(Arc::clone(&store));
        assert_eq!(native_json(&get(&next, &["h2", "r"])), json!(2));
        // a host the store does not know: its inventory variables only
        assert_eq!(get(&next, &["h1", "n"]).as_i64(), Some(7));
        assert!(store.get("h1").registered.is_empty());
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

    /// An inventory (YAML text, as `hosts.yml`), and the shared values a
    /// task sees: `hostvars` over it.
    fn task_of(inventory: &str) -> (Inventory, Shared) {
        let inv = Inventory::from_text("hosts.yml", inventory).unwrap();
        let vars = Arc::new(InventoryVars::new(&inv));
        let groups = GroupsView::value(&inv);
        let known = Arc::default();
        let hv = HostvarsView::value(vars, known, groups, Arc::new(Templater::new()));
        (
            inv,
            Shared::new(BTreeMap::from([("hostvars".to_string(), hv)])),
        )
    }

    const CYCLE: &str = "all:\n  hosts:\n    a:\n      x: \"{{ hostvars['b'].y }}\"\n      z: \"{{ 'z' * 3 }}\"\n      w: \"{{ hostvars['b'].v }}\"\n    b:\n      y: \"{{ hostvars['a'].x }}\"\n      v: \"v{{ hostvars['a'].z }}\"\n";

    #[test]
    fn an_entry_reads_other_entries_and_a_cycle_through_them_is_named() {
        let t = Templater::new();
        let (_, shared) = task_of(CYCLE);
        let ctx = crate::plan::context::Context::new(Map::new(), shared);
        let here = crate::source::Origin::synthetic("play.yml", "{{ hostvars['a'].x }}");
        // a -> b -> a again, another variable: no cycle (and no deadlock on
        // a's entry, busy with `w`)
        let w = t
            .render_value("{{ hostvars['a'].w }}", &ctx, &here)
            .unwrap();
        assert_eq!(w, json!("vzzz"));
        for _ in 0..2 {
            // found, then remembered: the same words
            let err = t
                .render_value("{{ hostvars['a'].x }}", &ctx, &here)
                .unwrap_err();
            assert_eq!(
                err.message,
                "variable `x` of host `a` refers to itself through hostvars: x (host a) -> y (host b) -> x (host a)"
            );
            assert_eq!(err.location.as_deref(), Some("play.yml:1:12"));
        }
        // entered from b's side, it starts there
        let err = t
            .render_value("{{ hostvars['b'].y }}", &ctx, &here)
            .unwrap_err();
        assert!(
            err.message
                .ends_with(": y (host b) -> x (host a) -> y (host b)"),
            "{}",
            err.message
        );
        // guarded, it is only undefined
        let d = t
            .render_value("{{ hostvars['a'].x | default('d') }}", &ctx, &here)
            .unwrap();
        assert_eq!(d, json!("d"));
        // and not blamed on what reads `hostvars` next
        let mut ctx = ctx;
        ctx.set("first", json!("a"));
        let err = t
            .render_value("{{ hostvars[first].nothing }}", &ctx, &here)
            .unwrap_err();
        assert!(!err.message.contains("refers to itself"), "{}", err.message);
    }

    #[test]
    fn a_hosts_own_variable_on_a_hostvars_cycle_is_named_from_itself_at_its_line() {
        // as the executor renders a task's variables on host a
        let t = Templater::new();
        let (inv, shared) = task_of(CYCLE);
        let (own, places) = (inv.host_vars("a"), inv.var_origins("a"));
        let vars = Vars::new(&[Layer::Inventory(&own, &places)]).with_shared(shared);
        let err = vars.resolve("x", &t).unwrap_err();
        assert_eq!(
            err.message,
            "variable `x` of host `a` refers to itself through hostvars: x (host a) -> y (host b) -> x (host a)"
        );
        // at `hostvars['b'].y` in x's value, line 4
        assert_eq!(err.location.as_deref(), Some("hosts.yml:4:22"));
        assert!(err.help.unwrap().contains("break the cycle"));
    }

    fn native_json(v: &Jinja) -> Value {
        super::super::jinja::native::to_json(v)
    }
}
