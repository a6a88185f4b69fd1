//! The inventory: which hosts exist, how they are grouped, and their variables.
//!
//! Static Ansible inventories load unchanged: the YAML shape (`all` /
//! `children` / `hosts` / `vars`, read here), the INI shape (`inventory_ini`),
//! a directory of such files, and a comma list (`web1,web2,`). `group_vars/`
//! and `host_vars/` beside each source are read too. Host selection by pattern
//! lives in `pattern`.
//!
//! Where Ansible is ambiguous or lenient, baton is strict: a key Ansible would
//! skip with a warning (a typo such as `host:` for `hosts:`) is an error here,
//! because silently dropping hosts from a failover run is worse than stopping.

// InputError (the crate's contract) is large; boxing it is the contract's call.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{did_you_mean, InputError};
use crate::source::{Origin, SourceFile};
use crate::yaml::{self, Node, NodeValue};

use super::inventory_ini;

/// Names that mean "this machine"; when the inventory lacks them they resolve
/// to an implicit host that runs with `ansible_connection=local`, as in Ansible.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Index of the `all` group; it is created first in every inventory.
const ALL: usize = 0;
/// Index of the `ungrouped` group; created second.
const UNGROUPED: usize = 1;

/// A `[1:1000000]` typo must not allocate a million hosts.
const MAX_RANGE_HOSTS: usize = 100_000;

/// Files Ansible skips in an inventory directory (ansible-core 2.19 defaults,
/// which read `.ini` files).
const IGNORED_EXTENSIONS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// Variables that describe the inventory itself; `--list` leaves them out.
const MAGIC_VARS: [&str; 6] = [
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "groups",
    "inventory_file",
    "inventory_dir",
];

const YAML_SHAPE_HELP: &str = "an inventory looks like:\n  all:\n    children:\n      web:\n        hosts:\n          web1:\n            ansible_host: 10.0.0.1\n        vars:\n          http_port: 80";

#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    /// Variables set on the host itself (not its groups).
    pub vars: Map<String, Value>,
    /// Groups the host was put in directly, by index.
    groups: Vec<usize>,
    /// The file that first named the host (`inventory_file`).
    source: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    /// Variables set on the group in the inventory source (not group_vars/).
    pub vars: Map<String, Value>,
    /// Hosts put directly in this group, in the order they were (for
    /// `ungrouped`: the hosts in no other group but `all`).
    pub hosts: Vec<String>,
    /// Direct child groups, in the order they were added.
    pub children: Vec<String>,
    child_ids: Vec<usize>,
    parent_ids: Vec<usize>,
    /// `ansible_group_priority`: among groups of the same depth, a higher
    /// priority merges later and so wins.
    priority: i64,
    /// Longest distance from `all`; deeper groups merge later and so win.
    depth: usize,
}

impl Group {
    fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            vars: Map::new(),
            hosts: Vec::new(),
            children: Vec::new(),
            child_ids: Vec::new(),
            parent_ids: Vec::new(),
            priority: 1,
            depth: 0,
        }
    }

    pub fn priority(&self) -> i64 {
        self.priority
    }

    pub fn depth(&self) -> usize {
        self.depth
    }
}

/// group_vars/ and host_vars/ file contents, merged per entity.
#[derive(Clone, Debug, Default)]
struct VarsFiles {
    groups: HashMap<String, Map<String, Value>>,
    hosts: HashMap<String, Map<String, Value>>,
}

#[derive(Clone, Debug)]
pub struct Inventory {
    hosts: Vec<Host>,
    host_index: HashMap<String, usize>,
    groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    /// Per host: every group it belongs to (directly or through a child group),
    /// `all` excluded, in variable merge order.
    merge_order: Vec<Vec<usize>>,
    /// Per group: its hosts and its descendants' hosts, in inventory order.
    members: Vec<Vec<usize>>,
    /// The `groups` magic variable, built once.
    groups_var: Value,
    /// group_vars/ and host_vars/ beside the inventory sources.
    inventory_files: VarsFiles,
    /// group_vars/ and host_vars/ beside the playbook; they win over the
    /// inventory's at the same level, as in Ansible.
    playbook_files: VarsFiles,
    warnings: Vec<String>,
    /// The file being loaded, recorded on hosts it introduces.
    current_source: Option<PathBuf>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::empty()
    }
}

impl Inventory {
    /// An inventory with only the built-in groups `all` and `ungrouped`.
    pub fn empty() -> Inventory {
        let mut inv = Inventory {
            hosts: Vec::new(),
            host_index: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            merge_order: Vec::new(),
            members: Vec::new(),
            groups_var: Value::Object(Map::new()),
            inventory_files: VarsFiles::default(),
            playbook_files: VarsFiles::default(),
            warnings: Vec::new(),
            current_source: None,
        };
        inv.ensure_group("all");
        inv.ensure_group("ungrouped");
        inv.link(ALL, UNGROUPED);
        inv.finish();
        inv
    }

    /// Load and merge inventory sources, in order: YAML or INI files, directories
    /// (every file in them, as Ansible does), or comma lists such as `web1,web2,`
    /// (a string with a comma that is not an existing path). No source at all
    /// gives an empty inventory. `group_vars/` and `host_vars/` next to each
    /// source (inside it, for a directory) are loaded too.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory, InputError> {
        let mut inv = Inventory::empty();
        let mut vars_dirs: Vec<PathBuf> = Vec::new();
        for source in sources {
            if let Some(dir) = inv.load_source(source)? {
                if !vars_dirs.contains(&dir) {
                    vars_dirs.push(dir);
                }
            }
        }
        inv.current_source = None;
        inv.finish();
        for dir in &vars_dirs {
            let mut files = std::mem::take(&mut inv.inventory_files);
            let loaded = files.load(dir, &inv);
            inv.inventory_files = files;
            loaded?;
        }
        Ok(inv)
    }

    /// An inventory from text, as if read from a file named `name` (its
    /// extension picks the format as for files: `.yml`/`.yaml`/`.json` YAML,
    /// none sniffed, anything else INI). No group_vars/ or host_vars/.
    pub fn from_text(name: &str, text: &str) -> Result<Inventory, InputError> {
        let mut inv = Inventory::empty();
        let file = SourceFile::new(name, text.to_string());
        inv.load_source_file(Path::new(name), &file)?;
        inv.finish();
        Ok(inv)
    }

    /// Load `group_vars/` and `host_vars/` beside a playbook. They override the
    /// inventory's files at the same level (Ansible's "playbook group_vars").
    pub fn load_playbook_vars(&mut self, playbook_dir: &Path) -> Result<(), InputError> {
        let mut files = std::mem::take(&mut self.playbook_files);
        let loaded = files.load(playbook_dir, self);
        self.playbook_files = files;
        loaded
    }

    /// Every host, in inventory order as Ansible defines it (what `hosts: all`
    /// runs in): hosts of `all` itself, then of its child groups (`ungrouped`
    /// first), then of their children, and so on, level by level.
    pub fn host_names(&self) -> Vec<String> {
        self.group_hosts("all").unwrap_or_default()
    }

    /// Every host, in the order the sources first name them.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.host_index.get(name).map(|&i| &self.hosts[i])
    }

    pub fn contains_host(&self, name: &str) -> bool {
        self.host_index.contains_key(name)
    }

    /// Every group, `all` and `ungrouped` first, then in the order first named.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_index.get(name).map(|&i| &self.groups[i])
    }

    /// Things worth telling the user that do not stop the run.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Hosts in a group or any group below it, in inventory order (see
    /// [`Inventory::host_names`]).
    pub fn group_hosts(&self, group: &str) -> Option<Vec<String>> {
        let gi = *self.group_index.get(group)?;
        Some(
            self.members[gi]
                .iter()
                .map(|&h| self.hosts[h].name.clone())
                .collect(),
        )
    }

    pub(crate) fn group_member_positions(&self, group: usize) -> &[usize] {
        &self.members[group]
    }

    /// Merged variables for a host, lowest precedence first (as in Ansible):
    /// the `all` group < the host's other groups, shallow before deep (same
    /// depth: by `ansible_group_priority`, then by name) < `group_vars/all`
    /// files < `group_vars/GROUP` files in the same group order < the host's
    /// own vars < `host_vars/HOST` files. At each file level the playbook's
    /// files win over the inventory's. Then the magic variables
    /// `inventory_hostname`, `inventory_hostname_short`, `group_names`
    /// (sorted, without `all`), `groups`, `inventory_file` and `inventory_dir`.
    ///
    /// A name the inventory lacks gets only the `all` level; a localhost name
    /// also gets `ansible_connection: local` (Ansible's implicit localhost).
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        let mut vars = self.merged_vars(host);
        self.add_magic_vars(host, &mut vars);
        vars
    }

    /// [`Inventory::host_vars`] without the magic variables.
    pub fn merged_vars(&self, host: &str) -> Map<String, Value> {
        let index = self.host_index.get(host).copied();
        let groups: &[usize] = match index {
            Some(i) => &self.merge_order[i],
            None => &[],
        };
        let layers = [&self.inventory_files, &self.playbook_files];
        let mut vars = self.groups[ALL].vars.clone();
        for &g in groups {
            extend(&mut vars, &self.groups[g].vars);
        }
        for files in layers {
            if let Some(file_vars) = files.groups.get("all") {
                extend(&mut vars, file_vars);
            }
        }
        for files in layers {
            for &g in groups {
                if let Some(file_vars) = files.groups.get(&self.groups[g].name) {
                    extend(&mut vars, file_vars);
                }
            }
        }
        match index {
            Some(i) => extend(&mut vars, &self.hosts[i].vars),
            None if is_localhost_name(host) => {
                vars.insert("ansible_connection".into(), Value::from("local"));
            }
            None => {}
        }
        for files in layers {
            if let Some(file_vars) = files.hosts.get(host) {
                extend(&mut vars, file_vars);
            }
        }
        vars
    }

    fn add_magic_vars(&self, host: &str, vars: &mut Map<String, Value>) {
        let index = self.host_index.get(host).copied();
        vars.insert("inventory_hostname".into(), Value::from(host));
        let short = host.split('.').next().unwrap_or(host);
        vars.insert("inventory_hostname_short".into(), Value::from(short));
        let mut group_names: Vec<&str> = match index {
            Some(i) => self.merge_order[i]
                .iter()
                .map(|&g| self.groups[g].name.as_str())
                .collect(),
            None => Vec::new(),
        };
        group_names.sort_unstable();
        vars.insert("group_names".into(), Value::from(group_names));
        vars.insert("groups".into(), self.groups_var.clone());
        if let Some(source) = index.and_then(|i| self.hosts[i].source.as_ref()) {
            vars.insert(
                "inventory_file".into(),
                Value::from(source.display().to_string()),
            );
            let dir = source.parent().unwrap_or(Path::new("."));
            vars.insert(
                "inventory_dir".into(),
                Value::from(dir.display().to_string()),
            );
        }
    }

    /// Hosts matching an Ansible host pattern; see [`super::pattern`].
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InputError> {
        super::pattern::select(self, pattern, None)
    }

    /// [`Inventory::select`] for a pattern read from a file (a play's `hosts:`),
    /// so that an error points into that file.
    pub fn select_at(&self, pattern: &str, origin: &Origin) -> Result<Vec<String>, InputError> {
        super::pattern::select(self, pattern, Some(origin))
    }

    /// The `ansible-inventory --list` shape: `_meta.hostvars` with each host's
    /// merged variables, then one entry per non-empty group with its `hosts`,
    /// `children` and `vars` (own and group_vars/). Object keys are sorted, as
    /// ansible-inventory prints them; lists keep inventory order.
    pub fn to_list_json(&self) -> Value {
        let mut out = Map::new();
        for group in &self.groups {
            if let Some(entry) = self.list_entry(group) {
                out.insert(group.name.clone(), entry);
            }
        }
        let mut hostvars = Map::new();
        for name in self.host_names() {
            let mut vars = self.merged_vars(&name);
            for magic in MAGIC_VARS {
                vars.remove(magic);
            }
            if !vars.is_empty() {
                hostvars.insert(name, Value::Object(vars));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        out.insert("_meta".into(), Value::Object(meta));
        sort_keys(Value::Object(out))
    }

    /// One group of `--list`; `None` when it would be empty (as Ansible drops it).
    fn list_entry(&self, group: &Group) -> Option<Value> {
        let mut entry = Map::new();
        if group.name != "all" && !group.hosts.is_empty() {
            entry.insert("hosts".into(), Value::from(group.hosts.clone()));
        }
        if !group.children.is_empty() {
            entry.insert("children".into(), Value::from(group.children.clone()));
        }
        let mut vars = group.vars.clone();
        for files in [&self.inventory_files, &self.playbook_files] {
            if let Some(file_vars) = files.groups.get(&group.name) {
                extend(&mut vars, file_vars);
            }
        }
        if group.priority != 1 {
            vars.insert("ansible_group_priority".into(), Value::from(group.priority));
        }
        if !vars.is_empty() {
            entry.insert("vars".into(), Value::Object(vars));
        }
        (!entry.is_empty()).then_some(Value::Object(entry))
    }

    /// The `ansible-inventory --graph` shape, without a trailing newline:
    ///
    /// ```text
    /// @all:
    ///   |--@ungrouped:
    ///   |--@web:
    ///   |  |--web1
    /// ```
    pub fn to_graph(&self) -> String {
        enum Step {
            Group(usize, usize),
            Hosts(usize, usize),
        }
        // An explicit stack: INI files can chain groups deeper than the call stack.
        let mut lines = Vec::new();
        let mut stack = vec![Step::Group(ALL, 0)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Group(g, depth) => {
                    lines.push(graph_line(&format!("@{}:", self.groups[g].name), depth));
                    if g != ALL {
                        stack.push(Step::Hosts(g, depth + 1));
                    }
                    for &child in self.groups[g].child_ids.iter().rev() {
                        stack.push(Step::Group(child, depth + 1));
                    }
                }
                Step::Hosts(g, depth) => {
                    for host in &self.groups[g].hosts {
                        lines.push(graph_line(host, depth));
                    }
                }
            }
        }
        lines.join("\n")
    }

    // ---- building -------------------------------------------------------

    pub(super) fn has_group(&self, name: &str) -> bool {
        self.group_index.contains_key(name)
    }

    pub(super) fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.name.as_str())
    }

    pub(super) fn ensure_group(&mut self, name: &str) -> usize {
        if let Some(&i) = self.group_index.get(name) {
            return i;
        }
        self.groups.push(Group::new(name));
        let i = self.groups.len() - 1;
        self.group_index.insert(name.to_string(), i);
        i
    }

    /// Put a host (created on first sight) in a group. A port from `host:PORT`
    /// becomes `ansible_port`; vars given after it override it.
    pub(super) fn add_host(&mut self, name: &str, group: usize, port: Option<u16>) -> usize {
        let hi = match self.host_index.get(name) {
            Some(&i) => i,
            None => {
                self.hosts.push(Host {
                    name: name.to_string(),
                    vars: Map::new(),
                    groups: Vec::new(),
                    source: self.current_source.clone(),
                });
                let i = self.hosts.len() - 1;
                self.host_index.insert(name.to_string(), i);
                i
            }
        };
        if let Some(port) = port {
            self.hosts[hi]
                .vars
                .insert("ansible_port".into(), Value::from(port));
        }
        if !self.hosts[hi].groups.contains(&group) {
            self.hosts[hi].groups.push(group);
            self.groups[group].hosts.push(name.to_string());
        }
        hi
    }

    pub(super) fn set_host_var(&mut self, host: usize, key: String, value: Value) {
        self.hosts[host].vars.insert(key, value);
    }

    /// Set a group variable; `ansible_group_priority` sets the merge priority
    /// instead, as in Ansible.
    pub(super) fn set_group_var(
        &mut self,
        group: usize,
        key: String,
        value: Value,
        origin: &Origin,
    ) -> Result<(), InputError> {
        if key != "ansible_group_priority" {
            self.groups[group].vars.insert(key, value);
            return Ok(());
        }
        let priority = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match priority {
            Some(p) => {
                self.groups[group].priority = p;
                Ok(())
            }
            None => Err(InputError::at(
                origin,
                format!(
                    "ansible_group_priority of group `{}` must be an integer, found {value}",
                    self.groups[group].name
                ),
                "not an integer",
            )
            .with_help("write a whole number, e.g. `ansible_group_priority: 10`; higher wins over groups of the same depth")),
        }
    }

    /// Make `child` a child group of `parent`, refusing cycles.
    pub(super) fn add_child(
        &mut self,
        parent: usize,
        child: usize,
        origin: &Origin,
    ) -> Result<(), InputError> {
        if child == ALL {
            return Err(InputError::at(
                origin,
                format!("`all` cannot be a child of group `{}`", self.groups[parent].name),
                "`all` used as a child",
            )
            .with_help("`all` is the root of every inventory and contains every group already; remove this entry"));
        }
        if let Some(path) = self.path_down(child, parent) {
            let mut names: Vec<&str> = path.iter().map(|&g| self.groups[g].name.as_str()).collect();
            names.push(&self.groups[child].name);
            return Err(InputError::at(
                origin,
                format!(
                    "group `{}` cannot be a child of `{}`: that makes a cycle ({})",
                    self.groups[child].name,
                    self.groups[parent].name,
                    names.join(" -> ")
                ),
                "this child closes the cycle",
            )
            .with_help("a group cannot contain itself, directly or through its children; remove one of the `children` entries"));
        }
        self.link(parent, child);
        Ok(())
    }

    fn link(&mut self, parent: usize, child: usize) {
        if !self.groups[parent].child_ids.contains(&child) {
            let name = self.groups[child].name.clone();
            self.groups[parent].child_ids.push(child);
            self.groups[parent].children.push(name);
            self.groups[child].parent_ids.push(parent);
        }
    }

    /// A path of child links from `from` down to `to` (both included), if any.
    fn path_down(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut previous: HashMap<usize, usize> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([from]);
        let mut seen = HashSet::from([from]);
        while let Some(g) = queue.pop_front() {
            if g == to {
                let mut path = vec![g];
                let mut at = g;
                while let Some(&p) = previous.get(&at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            for &c in &self.groups[g].child_ids {
                if seen.insert(c) {
                    previous.insert(c, g);
                    queue.push_back(c);
                }
            }
        }
        None
    }

    /// Derive what the sources leave implicit, as Ansible's reconcile step does:
    /// groups without a parent go under `all`, hosts in no group go in
    /// `ungrouped`; then depths, memberships and merge orders.
    fn finish(&mut self) {
        for gi in 0..self.groups.len() {
            if gi != ALL && self.groups[gi].parent_ids.is_empty() {
                self.link(ALL, gi);
            }
        }
        for host in &mut self.hosts {
            let grouped = host.groups.iter().any(|&g| g != ALL && g != UNGROUPED);
            if grouped {
                host.groups.retain(|&g| g != UNGROUPED);
            } else if !host.groups.contains(&UNGROUPED) {
                host.groups.push(UNGROUPED);
            }
        }
        self.groups[UNGROUPED].hosts = self
            .hosts
            .iter()
            .filter(|h| h.groups.contains(&UNGROUPED))
            .map(|h| h.name.clone())
            .collect();

        // Depth and ancestors in topological order (parents before children).
        let count = self.groups.len();
        let mut pending_parents: Vec<usize> =
            self.groups.iter().map(|g| g.parent_ids.len()).collect();
        let mut order = vec![ALL];
        let mut depth = vec![0usize; count];
        let mut next = 0;
        while next < order.len() {
            let g = order[next];
            next += 1;
            for &c in &self.groups[g].child_ids {
                depth[c] = depth[c].max(depth[g] + 1);
                pending_parents[c] -= 1;
                if pending_parents[c] == 0 {
                    order.push(c);
                }
            }
        }
        let mut ancestors: Vec<Vec<usize>> = vec![Vec::new(); count];
        for &g in &order {
            let mut mine: Vec<usize> = vec![g];
            for &p in &self.groups[g].parent_ids {
                mine.extend(ancestors[p].iter().copied());
            }
            mine.sort_unstable();
            mine.dedup();
            ancestors[g] = mine;
        }
        for (g, d) in depth.into_iter().enumerate() {
            self.groups[g].depth = d;
        }

        self.members = (0..count).map(|g| self.hosts_in_ansible_order(g)).collect();
        self.merge_order = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            let mut belongs: Vec<usize> = Vec::new();
            for &g in &host.groups {
                belongs.extend(ancestors[g].iter().copied());
            }
            belongs.sort_unstable();
            belongs.dedup();
            belongs.retain(|&g| g != ALL);
            let groups = &self.groups;
            belongs.sort_by(|&a, &b| {
                let (a, b) = (&groups[a], &groups[b]);
                (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
            });
            self.merge_order.push(belongs);
        }

        let mut groups_var = Map::new();
        for (gi, group) in self.groups.iter().enumerate() {
            let names: Vec<&str> = self.members[gi]
                .iter()
                .map(|&h| self.hosts[h].name.as_str())
                .collect();
            groups_var.insert(group.name.clone(), Value::from(names));
        }
        self.groups_var = Value::Object(groups_var);

        self.warnings
            .retain(|w| !w.starts_with("both a group and a host are named"));
        for group in &self.groups {
            if self.host_index.contains_key(&group.name) {
                self.warnings.push(format!(
                    "both a group and a host are named `{}`; the plain pattern `{}` selects only the host",
                    group.name, group.name
                ));
            }
        }
    }

    /// Ansible's `Group.get_hosts()` order, which is what "inventory order"
    /// means there: the group's own hosts, then its descendants' level by
    /// level (children, grandchildren, ...), each group's hosts in the order
    /// they were added. (Ansible walks a level in set order; baton walks it in
    /// the order the groups were added, so runs are repeatable.)
    fn hosts_in_ansible_order(&self, group: usize) -> Vec<usize> {
        let mut ordered = vec![group];
        let mut seen_groups = HashSet::from([group]);
        let mut level = vec![group];
        while !level.is_empty() {
            let mut next = Vec::new();
            for &g in &level {
                for &child in &self.groups[g].child_ids {
                    if seen_groups.insert(child) {
                        next.push(child);
                    }
                }
            }
            ordered.extend_from_slice(&next);
            level = next;
        }
        let mut seen_hosts = HashSet::new();
        let mut hosts = Vec::new();
        for g in ordered {
            for name in &self.groups[g].hosts {
                if let Some(&h) = self.host_index.get(name) {
                    if seen_hosts.insert(h) {
                        hosts.push(h);
                    }
                }
            }
        }
        hosts
    }

    // ---- sources --------------------------------------------------------

    /// Load one `-i` source; returns the directory whose group_vars/ and
    /// host_vars/ belong to it.
    fn load_source(&mut self, source: &Path) -> Result<Option<PathBuf>, InputError> {
        if source.is_dir() {
            let mut visited = HashSet::new();
            self.load_dir(source, &mut visited)?;
            return Ok(Some(source.to_path_buf()));
        }
        if source.is_file() {
            self.load_file(source)?;
            let dir = match source.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            return Ok(Some(dir));
        }
        let text = source.to_string_lossy();
        if text.contains(',') {
            self.current_source = None;
            self.load_host_list(&text)?;
            return Ok(None);
        }
        if source.exists() {
            return Err(InputError::plain(format!(
                "inventory source {} is neither a file nor a directory",
                source.display()
            ))
            .with_help("pass a YAML or INI file, a directory of them, or a comma list such as `web1,web2,`"));
        }
        Err(InputError::plain(format!("inventory source {} does not exist", source.display())).with_help(
            "check the path (relative paths start at the current directory); a list of hosts needs a comma: `-i web1,`",
        ))
    }

    fn load_dir(&mut self, dir: &Path, visited: &mut HashSet<PathBuf>) -> Result<(), InputError> {
        // Symlinked directories could loop forever.
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if !visited.insert(canonical) {
            return Ok(());
        }
        for path in sorted_dir_entries(dir)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if skipped_in_inventory_dir(&name) {
                continue;
            }
            if path.is_dir() {
                self.load_dir(&path, visited)?;
            } else {
                self.load_file(&path)?;
            }
        }
        Ok(())
    }

    fn load_file(&mut self, path: &Path) -> Result<(), InputError> {
        let file = SourceFile::read(path)?;
        self.current_source =
            Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        self.load_source_file(path, &file)
    }

    fn load_source_file(&mut self, path: &Path, file: &Arc<SourceFile>) -> Result<(), InputError> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if file.text.starts_with("#!") {
            return Err(InputError::at(
                &line_origin(file, 1),
                format!("{} looks like a dynamic inventory script", file.display_name()),
                "a script",
            )
            .with_help("baton reads static YAML and INI inventories; save the script's output with `ansible-inventory -i SCRIPT --list -y > inventory.yml`"));
        }
        if file.text.trim_start().starts_with("$ANSIBLE_VAULT;") {
            return Err(vault_file_error(file));
        }
        match extension.as_str() {
            "yml" | "yaml" => {
                let root = yaml::parse(file)?;
                self.load_yaml(&root)
            }
            "json" => {
                let root = parse_json_or_yaml(file)?;
                self.load_yaml(&root)
            }
            "toml" => Err(InputError::at(
                &line_origin(file, 1),
                format!(
                    "{} is a TOML inventory, which baton does not read",
                    file.display_name()
                ),
                "TOML",
            )
            .with_help("convert it with `ansible-inventory -i FILE --list -y > inventory.yml`")),
            // Like Ansible: only extension-less files may be YAML; anything else is INI.
            "" => self.load_unknown_format(file),
            _ => inventory_ini::load(self, file),
        }
    }

    /// An extension-less file: YAML if it parses as a mapping, else INI.
    fn load_unknown_format(&mut self, file: &Arc<SourceFile>) -> Result<(), InputError> {
        let yaml_error = match yaml::parse(file) {
            Ok(root) if root.is_null() => return Ok(()),
            Ok(root) if root.as_map().is_some() => return self.load_yaml(&root),
            Ok(_) => None,
            Err(e) => Some(e),
        };
        // A failed load abandons the whole inventory, so a half-applied INI
        // parse needs no undoing.
        match inventory_ini::load(self, file) {
            Ok(()) => Ok(()),
            Err(ini_error) => match yaml_error {
                Some(yaml_error) if looks_like_yaml(&file.text) => Err(yaml_error),
                _ => Err(ini_error),
            },
        }
    }

    fn load_host_list(&mut self, list: &str) -> Result<(), InputError> {
        let file = SourceFile::new("inventory list", list.to_string());
        let mut offset = 0;
        for piece in list.split(',') {
            let start = offset;
            offset += piece.len() + 1;
            let name = piece.trim();
            if name.is_empty() {
                continue;
            }
            let lead = piece.len() - piece.trim_start().len();
            let origin = Origin {
                file: Arc::clone(&file),
                offset: start + lead,
                len: name.len(),
            };
            let (host, port) = split_port(name, &origin)?;
            self.add_host(&host, UNGROUPED, port);
        }
        Ok(())
    }

    // ---- YAML -----------------------------------------------------------

    fn load_yaml(&mut self, root: &Node) -> Result<(), InputError> {
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
            let gi = self.ensure_group(&name);
            self.load_yaml_group(gi, value)?;
        }
        Ok(())
    }

    fn load_yaml_group(&mut self, gi: usize, node: &Node) -> Result<(), InputError> {
        let group = self.groups[gi].name.clone();
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
                Some("hosts") => self.load_yaml_hosts(gi, value)?,
                Some("children") => self.load_yaml_children(gi, value)?,
                Some("vars") => self.load_yaml_group_vars(gi, value)?,
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

    fn load_yaml_hosts(&mut self, gi: usize, node: &Node) -> Result<(), InputError> {
        let group = self.groups[gi].name.clone();
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
                Some(v) => {
                    var_entries(v, &format!("vars of host `{text}`"), |name| {
                        format!("write `{name}:` alone, or followed by indented `ansible_host: ...` lines")
                    })?
                }
            };
            for name in &names {
                let hi = self.add_host(name, gi, port);
                for (key, value) in &vars {
                    self.set_host_var(hi, key.clone(), value.clone());
                }
            }
        }
        Ok(())
    }

    fn load_yaml_children(&mut self, gi: usize, node: &Node) -> Result<(), InputError> {
        let group = self.groups[gi].name.clone();
        let entries = name_entries(
            node,
            &format!("`children` of group `{group}` must be a mapping of group names"),
            "write each child group as a key ending in `:` (not a `- ` list item), e.g.\n  children:\n    web:\n    db:",
        )?;
        for (key, value) in entries {
            let name = name_of(key, "group")?;
            let child = self.ensure_group(&name);
            self.add_child(gi, child, &key.origin)?;
            if let Some(value) = value {
                self.load_yaml_group(child, value)?;
            }
        }
        Ok(())
    }

    fn load_yaml_group_vars(&mut self, gi: usize, node: &Node) -> Result<(), InputError> {
        let group = self.groups[gi].name.clone();
        let what = format!("`vars` of group `{group}`");
        let entries = var_entries(node, &what, |_| {
            "write `vars:` followed by indented `name: value` lines".to_string()
        })?;
        for ((key, value), origin) in entries.into_iter().zip(var_origins(node)) {
            self.set_group_var(gi, key, value, &origin)?;
        }
        Ok(())
    }
}

impl VarsFiles {
    /// Read `dir/group_vars/NAME*` for every group and `dir/host_vars/NAME*`
    /// for every host (and the localhost names, for the implicit localhost).
    fn load(&mut self, dir: &Path, inv: &Inventory) -> Result<(), InputError> {
        let group_dir = dir.join("group_vars");
        if group_dir.is_dir() {
            for group in &inv.groups {
                if let Some(vars) = read_entity_vars(&group_dir, &group.name)? {
                    extend(self.groups.entry(group.name.clone()).or_default(), &vars);
                }
            }
        }
        let host_dir = dir.join("host_vars");
        if host_dir.is_dir() {
            let implicit = LOCALHOST_NAMES
                .iter()
                .filter(|n| !inv.contains_host(n))
                .map(|n| n.to_string());
            let names: Vec<String> = inv
                .hosts
                .iter()
                .map(|h| h.name.clone())
                .chain(implicit)
                .collect();
            for name in names {
                if let Some(vars) = read_entity_vars(&host_dir, &name)? {
                    extend(self.hosts.entry(name).or_default(), &vars);
                }
            }
        }
        Ok(())
    }
}

/// Ansible's lookup for one entity in group_vars/ or host_vars/: the first of
/// `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; a directory is
/// read whole (sorted, recursively).
fn read_entity_vars(base: &Path, name: &str) -> Result<Option<Map<String, Value>>, InputError> {
    // A host named `../x` must not read files outside the vars directory.
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Ok(None);
    }
    for extension in ["", ".yml", ".yaml", ".json"] {
        let path = base.join(format!("{name}{extension}"));
        if !path.exists() {
            continue;
        }
        let files = if path.is_dir() {
            let mut files = Vec::new();
            vars_dir_files(&path, &mut files)?;
            files
        } else {
            vec![path]
        };
        let mut vars = Map::new();
        for file in files {
            extend(&mut vars, &read_vars_file(&file)?);
        }
        return Ok(Some(vars));
    }
    Ok(None)
}

fn vars_dir_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InputError> {
    for path in sorted_dir_entries(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() {
            if extension.is_none() {
                vars_dir_files(&path, found)?;
            }
        } else if matches!(extension.as_deref(), None | Some("yml" | "yaml" | "json")) {
            found.push(path);
        }
    }
    Ok(())
}

fn read_vars_file(path: &Path) -> Result<Map<String, Value>, InputError> {
    let file = SourceFile::read(path)?;
    if file.text.trim_start().starts_with("$ANSIBLE_VAULT;") {
        return Err(vault_file_error(&file));
    }
    let is_json = path.extension().is_some_and(|e| e == "json");
    let root = if is_json {
        parse_json_or_yaml(&file)?
    } else {
        yaml::parse(&file)?
    };
    let what = format!("variables file {}", file.display_name());
    let entries = var_entries(&root, &what, |_| {
        "write `name: value` lines at the top level".to_string()
    })?;
    Ok(entries.into_iter().collect())
}

fn sorted_dir_entries(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let read = std::fs::read_dir(dir).map_err(|e| {
        InputError::plain(format!("cannot read directory {}: {e}", dir.display()))
            .with_help("check that the directory exists and is readable")
    })?;
    let mut paths = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| {
            InputError::plain(format!("cannot read directory {}: {e}", dir.display()))
        })?;
        paths.push(entry.path());
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(paths)
}

fn skipped_in_inventory_dir(name: &str) -> bool {
    name.starts_with('.')
        || matches!(name, "group_vars" | "host_vars" | "vars_plugins")
        || IGNORED_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// JSON is YAML, but yaml-rust2 rejects some JSON layouts (tab indentation);
/// fall back to serde_json, losing inner positions but not the file.
fn parse_json_or_yaml(file: &Arc<SourceFile>) -> Result<Node, InputError> {
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

fn vault_file_error(file: &Arc<SourceFile>) -> InputError {
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

/// Heuristic for an extension-less file that failed both parsers: report the
/// YAML error when the file reads like YAML.
fn looks_like_yaml(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(line) => line == "---" || line.ends_with(':') || line.contains(": "),
        None => false,
    }
}

fn graph_line(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

/// Later keys replace earlier ones whole (Ansible's default `hash_behaviour`).
fn extend(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

pub(super) fn is_localhost_name(name: &str) -> bool {
    LOCALHOST_NAMES.contains(&name)
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

/// `name: value` pairs of a vars mapping (null means none).
fn var_entries(
    node: &Node,
    what: &str,
    help: impl Fn(&str) -> String,
) -> Result<Vec<(String, Value)>, InputError> {
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
        vars.push((name, value.to_json()));
    }
    Ok(vars)
}

fn var_origins(node: &Node) -> Vec<Origin> {
    node.as_map()
        .map(|entries| entries.iter().map(|(_, v)| v.origin.clone()).collect())
        .unwrap_or_default()
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

/// Split `host:PORT` or `[v6addr]:PORT`; Ansible's rules (a colon inside
/// `[...]` is a range, a bare IPv6 address keeps its colons).
pub(super) fn split_port(
    entry: &str,
    origin: &Origin,
) -> Result<(String, Option<u16>), InputError> {
    let port_error = |digits: &str| {
        InputError::at(
            origin,
            format!("port {digits} in `{entry}` is out of range"),
            "bad port",
        )
        .with_help("a port is a number from 1 to 65535")
    };
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some(close) = rest.rfind("]:") {
            let (inner, digits) = (&rest[..close], &rest[close + 2..]);
            if !inner.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            {
                let port = digits
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| port_error(digits))?;
                return Ok((inner.to_string(), Some(port)));
            }
        }
    }
    if let Some(colon) = entry.rfind(':') {
        let (host, digits) = (&entry[..colon], &entry[colon + 1..]);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && is_plain_host_part(host)
        {
            let port = digits
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| port_error(digits))?;
            return Ok((host.to_string(), Some(port)));
        }
    }
    if entry.ends_with(':') && !entry.ends_with("::") {
        return Err(InputError::at(
            origin,
            format!("host `{entry}` ends in `:`"),
            "trailing colon",
        )
        .with_help(
            "`:` after a host name introduces its port (`web1:2222`); remove it or add the port",
        ));
    }
    Ok((entry.to_string(), None))
}

/// Ansible's `hostport` rule: no colon outside complete `[...]` groups.
fn is_plain_host_part(host: &str) -> bool {
    let mut in_brackets = false;
    for c in host.chars() {
        match (c, in_brackets) {
            ('[', false) => in_brackets = true,
            (']', true) => in_brackets = false,
            (':' | ']', false) => return false,
            _ => {}
        }
    }
    !in_brackets
}

/// A host entry of an inventory: a name or a `web[01:10]` / `db-[a:c]` range
/// (with an optional `:step`), optionally followed by `:PORT`.
pub(super) fn expand_host_entry(
    entry: &str,
    origin: &Origin,
) -> Result<(Vec<String>, Option<u16>), InputError> {
    let (host, port) = split_port(entry, origin)?;
    if !host.contains('[') {
        if host.contains(']') {
            return Err(range_error(origin, entry, "`]` without a matching `[`"));
        }
        return Ok((vec![host], port));
    }
    let mut names = Vec::new();
    expand_ranges(&host, &mut names).map_err(|why| range_error(origin, entry, &why))?;
    Ok((names, port))
}

fn range_error(origin: &Origin, entry: &str, why: &str) -> InputError {
    InputError::at(origin, format!("bad host range in `{entry}`: {why}"), "bad range").with_help(
        "a range is [START:END] or [START:END:STEP] of numbers (`web[01:10]`, zero-padded alike) or single letters (`db-[a:f]`); an IPv6 address takes brackets only with a port (`[::1]:22`)",
    )
}

fn expand_ranges(pattern: &str, names: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err("`]` without a matching `[`".into());
        }
        names.push(pattern.to_string());
        return Ok(());
    };
    let head = &pattern[..open];
    if head.contains(']') {
        return Err("`]` without a matching `[`".into());
    }
    let Some(close) = pattern[open..].find(']').map(|i| open + i) else {
        return Err("`[` is never closed".into());
    };
    let range = &pattern[open + 1..close];
    let tail = &pattern[close + 1..];
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!("`[{range}]` is not START:END or START:END:STEP"));
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(format!("`[{range}]` has no end"));
    }
    let step = match bounds.get(2) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("step `{s}` must be a positive whole number")),
        },
    };
    let values: Vec<String> = if is_letter(begin) && is_letter(end) {
        const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let (b, e) = (
            LETTERS.find(begin).unwrap_or(0),
            LETTERS.find(end).unwrap_or(0),
        );
        if b > e {
            return Err(format!("`{begin}` comes after `{end}`"));
        }
        LETTERS[b..=e]
            .chars()
            .step_by(step)
            .map(String::from)
            .collect()
    } else {
        let b: u64 = begin
            .parse()
            .map_err(|_| format!("`{begin}` is not a number or a single letter"))?;
        let e: u64 = end
            .parse()
            .map_err(|_| format!("`{end}` is not a number or a single letter"))?;
        if b > e {
            return Err(format!("start {begin} is after end {end}"));
        }
        let count = ((e - b) / step as u64).saturating_add(1);
        if count as usize > MAX_RANGE_HOSTS || names.len() + count as usize > MAX_RANGE_HOSTS {
            return Err(format!("it makes more than {MAX_RANGE_HOSTS} hosts"));
        }
        let width = if begin.len() > 1 && begin.starts_with('0') {
            if begin.len() != end.len() {
                return Err(format!(
                    "zero-padded `{begin}` and `{end}` must have the same width"
                ));
            }
            begin.len()
        } else {
            0
        };
        (b..=e)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    };
    for value in values {
        expand_ranges(&format!("{head}{value}{tail}"), names)?;
        if names.len() > MAX_RANGE_HOSTS {
            return Err(format!("it makes more than {MAX_RANGE_HOSTS} hosts"));
        }
    }
    Ok(())
}

fn is_letter(s: &str) -> bool {
    s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Look up a connection setting in a host's merged vars: `baton_KEY`, else
/// `ansible_KEY`, else Ansible's older spelling (`ansible_ssh_host`, ...).
/// `key` is given without prefix (`host`, `port`, `user`, `connection`,
/// `ssh_private_key_file`, `ssh_common_args`, ...); a prefixed key is
/// accepted too. A null value counts as unset.
pub fn connection_var<'a>(vars: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let key = key
        .strip_prefix("baton_")
        .or_else(|| key.strip_prefix("ansible_"))
        .unwrap_or(key);
    let get = |name: &str| vars.get(name).filter(|v| !v.is_null());
    let legacy = match key {
        "host" => Some("ansible_ssh_host"),
        "port" => Some("ansible_ssh_port"),
        "user" => Some("ansible_ssh_user"),
        "ssh_private_key_file" => Some("ansible_private_key_file"),
        "password" => Some("ansible_ssh_pass"),
        _ => None,
    };
    get(&format!("baton_{key}"))
        .or_else(|| get(&format!("ansible_{key}")))
        .or_else(|| legacy.and_then(get))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml_inventory(text: &str) -> Result<Inventory, InputError> {
        let file = SourceFile::new("inv.yml", text.to_string());
        let root = yaml::parse(&file)?;
        let mut inv = Inventory::empty();
        inv.load_yaml(&root)?;
        inv.finish();
        Ok(inv)
    }

    fn origin() -> Origin {
        Origin::synthetic("t", "x")
    }

    #[test]
    fn expands_numeric_alpha_and_stepped_ranges() {
        let (names, port) = expand_host_entry("web[01:03].example.com", &origin()).unwrap();
        assert_eq!(
            names,
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(port, None);
        let (names, _) = expand_host_entry("db-[a:c]", &origin()).unwrap();
        assert_eq!(names, ["db-a", "db-b", "db-c"]);
        let (names, _) = expand_host_entry("n[1:7:3]", &origin()).unwrap();
        assert_eq!(names, ["n1", "n4", "n7"]);
        let (names, _) = expand_host_entry("r[1:2]c[a:b]", &origin()).unwrap();
        assert_eq!(names, ["r1ca", "r1cb", "r2ca", "r2cb"]);
        let (names, port) = expand_host_entry("app[8:10]:2222", &origin()).unwrap();
        assert_eq!(names, ["app8", "app9", "app10"]);
        assert_eq!(port, Some(2222));
    }

    #[test]
    fn bad_ranges_are_errors() {
        for (entry, why) in [
            ("web[1:x]", "`x` is not a number"),
            ("web[1:3", "never closed"),
            ("web[5:1]", "after end"),
            ("web[01:100]", "same width"),
            ("web[1]", "not START:END"),
            ("web[1:]", "has no end"),
            ("web[1:4:0]", "positive"),
            ("web[0:999999]", "more than"),
            ("[::1]", "has no end"),
        ] {
            let err = expand_host_entry(entry, &origin()).unwrap_err();
            assert!(err.message.contains(why), "{entry}: {}", err.message);
        }
    }

    #[test]
    fn ports_and_ipv6() {
        assert_eq!(
            split_port("web1:2222", &origin()).unwrap(),
            ("web1".into(), Some(2222))
        );
        assert_eq!(
            split_port("[::1]:22", &origin()).unwrap(),
            ("::1".into(), Some(22))
        );
        assert_eq!(
            split_port("fe80::1", &origin()).unwrap(),
            ("fe80::1".into(), None)
        );
        assert_eq!(
            split_port("10.0.0.1", &origin()).unwrap(),
            ("10.0.0.1".into(), None)
        );
        assert!(split_port("web1:", &origin())
            .unwrap_err()
            .message
            .contains("ends in `:`"));
        assert!(split_port("web1:70000", &origin())
            .unwrap_err()
            .message
            .contains("out of range"));
    }

    #[test]
    fn child_groups_win_over_parents_and_host_wins_over_groups() {
        let inv = yaml_inventory(
            "all:\n  vars: {level: all, a: 1}\n  children:\n    prod:\n      vars: {level: prod, b: 2}\n      children:\n        web:\n          vars: {level: web}\n          hosts:\n            web1: {level: host}\n            web2:\n",
        )
        .unwrap();
        let web1 = inv.host_vars("web1");
        assert_eq!(web1["level"], json!("host"));
        assert_eq!(web1["a"], json!(1));
        assert_eq!(web1["b"], json!(2));
        assert_eq!(inv.host_vars("web2")["level"], json!("web"));
    }

    #[test]
    fn same_depth_groups_merge_by_priority_then_name() {
        let text = "all:\n  children:\n    alpha:\n      vars: {who: alpha}\n      hosts: {h1: }\n    beta:\n      vars: {who: beta}\n      hosts: {h1: }\n";
        let inv = yaml_inventory(text).unwrap();
        assert_eq!(
            inv.host_vars("h1")["who"],
            json!("beta"),
            "same priority: later name wins"
        );
        let text = "all:\n  children:\n    alpha:\n      vars: {who: alpha, ansible_group_priority: 5}\n      hosts: {h1: }\n    beta:\n      vars: {who: beta}\n      hosts: {h1: }\n";
        let inv = yaml_inventory(text).unwrap();
        assert_eq!(
            inv.host_vars("h1")["who"],
            json!("alpha"),
            "higher priority wins"
        );
        assert!(!inv.host_vars("h1").contains_key("ansible_group_priority"));
    }

    #[test]
    fn deeper_group_wins_even_when_named_first() {
        let text = "all:\n  children:\n    zeta:\n      vars: {who: zeta}\n      children:\n        aaa:\n          vars: {who: aaa}\n          hosts: {h1: }\n";
        let inv = yaml_inventory(text).unwrap();
        assert_eq!(inv.host_vars("h1")["who"], json!("aaa"));
        assert_eq!(inv.group("aaa").unwrap().depth(), 2);
    }

    #[test]
    fn magic_vars() {
        let inv = yaml_inventory("all:\n  hosts:\n    loose.example.com:\n  children:\n    web:\n      hosts: {w1.example.com: }\n    prod:\n      children: {web: }\n").unwrap();
        let vars = inv.host_vars("w1.example.com");
        assert_eq!(vars["inventory_hostname"], json!("w1.example.com"));
        assert_eq!(vars["inventory_hostname_short"], json!("w1"));
        assert_eq!(vars["group_names"], json!(["prod", "web"]));
        assert_eq!(
            vars["groups"]["all"],
            json!(["loose.example.com", "w1.example.com"])
        );
        assert_eq!(vars["groups"]["prod"], json!(["w1.example.com"]));
        assert_eq!(vars["groups"]["ungrouped"], json!(["loose.example.com"]));
        assert_eq!(
            inv.host_vars("loose.example.com")["group_names"],
            json!(["ungrouped"])
        );
    }

    #[test]
    fn implicit_localhost_runs_locally_and_gets_all_vars() {
        let inv =
            yaml_inventory("all:\n  vars: {x: 1, ansible_connection: ssh}\n  hosts: {web1: }\n")
                .unwrap();
        let vars = inv.host_vars("localhost");
        assert_eq!(vars["ansible_connection"], json!("local"));
        assert_eq!(vars["x"], json!(1));
        assert_eq!(vars["group_names"], json!([]));
        assert!(!inv.contains_host("localhost"));
        assert_eq!(inv.host_vars("web1")["ansible_connection"], json!("ssh"));
    }

    #[test]
    fn cycles_are_refused() {
        let err =
            yaml_inventory("a:\n  children:\n    b:\n      children:\n        a:\n").unwrap_err();
        assert!(
            err.message.contains("cycle (a -> b -> a)"),
            "{}",
            err.message
        );
        assert_eq!(err.location.as_deref(), Some("inv.yml:5:9"));
        let err = yaml_inventory("a:\n  children:\n    a:\n").unwrap_err();
        assert!(err.message.contains("cycle"), "{}", err.message);
        let err = yaml_inventory("a:\n  children:\n    all:\n").unwrap_err();
        assert!(
            err.message.contains("`all` cannot be a child"),
            "{}",
            err.message
        );
    }

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

    #[test]
    fn connection_var_prefers_baton_spelling() {
        let vars: Map<String, Value> = serde_json::from_value(json!({
            "ansible_host": "10.0.0.1", "baton_host": "10.0.0.2",
            "ansible_user": "ops", "ansible_ssh_port": 2222, "baton_port": null
        }))
        .unwrap();
        assert_eq!(connection_var(&vars, "host"), Some(&json!("10.0.0.2")));
        assert_eq!(connection_var(&vars, "ansible_user"), Some(&json!("ops")));
        assert_eq!(connection_var(&vars, "port"), Some(&json!(2222)));
        assert_eq!(connection_var(&vars, "connection"), None);
    }

    #[test]
    fn graph_and_list_shapes() {
        let inv = yaml_inventory(
            "all:\n  hosts: {solo: }\n  children:\n    prod:\n      vars: {tier: 1}\n      children:\n        web:\n          hosts: {w2: {x: 1}, w1: }\n",
        )
        .unwrap();
        assert_eq!(
            inv.to_graph(),
            "@all:\n  |--@ungrouped:\n  |  |--solo\n  |--@prod:\n  |  |--@web:\n  |  |  |--w2\n  |  |  |--w1"
        );
        let list = inv.to_list_json();
        assert_eq!(list["all"], json!({"children": ["ungrouped", "prod"]}));
        assert_eq!(
            list["prod"],
            json!({"children": ["web"], "vars": {"tier": 1}})
        );
        assert_eq!(list["web"], json!({"hosts": ["w2", "w1"]}));
        assert_eq!(list["ungrouped"], json!({"hosts": ["solo"]}));
        assert_eq!(list["_meta"]["hostvars"]["w2"], json!({"tier": 1, "x": 1}));
        assert!(list["_meta"]["hostvars"].get("solo").is_none());
        let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["_meta", "all", "prod", "ungrouped", "web"]);
    }
}
