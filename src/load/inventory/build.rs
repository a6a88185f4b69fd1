//! The one way to make an [`Inventory`]: every loader (YAML, INI, comma list)
//! adds groups, hosts and variables through a [`Builder`], whose `finish`
//! then derives what the sources leave implicit.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::source::Origin;

use super::model::{Group, Host, Inventory, VarsFiles, ALL, UNGROUPED};

impl Default for Inventory {
    fn default() -> Self {
        Inventory::empty()
    }
}

impl Inventory {
    /// An inventory with only the built-in groups `all` and `ungrouped`.
    pub fn empty() -> Inventory {
        Builder::new().finish_acyclic()
    }
}

/// An inventory being built: groups and hosts are added in source order, and
/// nothing derived (depths, memberships, merge orders) is valid until
/// [`Builder::finish`]. Not `Clone`: a copy costs the whole inventory so far.
pub(super) struct Builder {
    inv: Inventory,
    /// The file being loaded, recorded on hosts it introduces.
    current_source: Option<PathBuf>,
    /// Every `children` entry in the order read (parent, child, where),
    /// checked for cycles once, in [`Builder::finish`].
    child_links: Vec<(usize, usize, Origin)>,
    /// Every (parent, child) pair linked, so that linking is O(1) however
    /// many children a group has.
    linked: HashSet<(usize, usize)>,
}

impl Builder {
    /// A builder holding only the built-in groups `all` and `ungrouped`.
    pub(super) fn new() -> Builder {
        let mut builder = Builder {
            inv: Inventory {
                hosts: Vec::new(),
                host_index: HashMap::new(),
                groups: Vec::new(),
                group_index: HashMap::new(),
                merge_order: Vec::new(),
                members: Vec::new(),
                inventory_files: VarsFiles::default(),
                playbook_files: VarsFiles::default(),
                warnings: Vec::new(),
            },
            current_source: None,
            child_links: Vec::new(),
            linked: HashSet::new(),
        };
        builder.ensure_group("all");
        builder.ensure_group("ungrouped");
        builder.link(ALL, UNGROUPED);
        builder
    }

    /// A builder as [`Builder::new`] makes it, adding hosts from the same
    /// file as this one.
    pub(super) fn fresh(&self) -> Builder {
        let mut fresh = Builder::new();
        fresh.current_source = self.current_source.clone();
        fresh
    }

    /// Whether nothing was added yet: `self` is what [`Builder::fresh`]
    /// gives (the built-in groups, bare, and their one link).
    pub(super) fn is_fresh(&self) -> bool {
        let inv = &self.inv;
        inv.hosts.is_empty()
            && inv.groups.len() == 2
            && inv.warnings.is_empty()
            && self.child_links.is_empty()
            && self.linked.len() == 1
            && inv.groups.iter().all(|g| {
                g.vars.is_empty() && g.origins.is_empty() && g.hosts.is_empty() && g.priority == 1
            })
    }

    /// The file whose hosts are being added (`inventory_file`); `None` for a
    /// comma list.
    pub(super) fn set_source(&mut self, source: Option<PathBuf>) {
        self.current_source = source;
    }

    /// The finished inventory, with what the sources leave implicit derived.
    ///
    /// Errors: a `children` entry that makes a cycle (the first one read
    /// that does, naming the cycle).
    pub(super) fn finish(self) -> Result<Inventory, InputError> {
        self.check_cycles()?;
        for (vars, origins) in self
            .inv
            .hosts
            .iter()
            .map(|h| (&h.vars, &h.origins))
            .chain(self.inv.groups.iter().map(|g| (&g.vars, &g.origins)))
        {
            super::model::check_connection_vars(vars, origins)?;
        }
        Ok(self.finish_acyclic())
    }

    fn finish_acyclic(mut self) -> Inventory {
        self.reconcile();
        self.inv.derive();
        self.inv
    }

    /// What Ansible's reconcile step does: groups without a parent go under
    /// `all`, hosts in no group go in `ungrouped`.
    fn reconcile(&mut self) {
        for gi in 0..self.inv.groups.len() {
            if gi != ALL && self.inv.groups[gi].parent_ids.is_empty() {
                self.link(ALL, gi);
            }
        }
        for host in &mut self.inv.hosts {
            let grouped = host.groups.iter().any(|&g| g != ALL && g != UNGROUPED);
            if grouped {
                host.groups.retain(|&g| g != UNGROUPED);
            } else if !host.groups.contains(&UNGROUPED) {
                host.groups.push(UNGROUPED);
            }
        }
        let inv = &mut self.inv;
        inv.groups[UNGROUPED].hosts = inv
            .hosts
            .iter()
            .filter(|h| h.groups.contains(&UNGROUPED))
            .map(|h| h.name.clone())
            .collect();
    }

    /// The name of group `group` (an index from [`Builder::ensure_group`]).
    pub(super) fn group_name(&self, group: usize) -> &str {
        &self.inv.groups[group].name
    }

    pub(super) fn has_group(&self, name: &str) -> bool {
        self.inv.group_index.contains_key(name)
    }

    pub(super) fn group_names(&self) -> impl Iterator<Item = &str> {
        self.inv.groups.iter().map(|g| g.name.as_str())
    }

    /// The index of group `name`, created (with no parent yet) on first sight.
    pub(super) fn ensure_group(&mut self, name: &str) -> usize {
        if let Some(&i) = self.inv.group_index.get(name) {
            return i;
        }
        self.inv.groups.push(Group::new(name));
        let i = self.inv.groups.len() - 1;
        self.inv.group_index.insert(name.to_string(), i);
        i
    }

    /// Put a host (created on first sight) in a group. A port from `host:PORT`
    /// becomes `ansible_port`; vars given after it override it.
    pub(super) fn add_host(&mut self, name: &str, group: usize, port: Option<u16>) -> usize {
        let hi = match self.inv.host_index.get(name) {
            Some(&i) => i,
            None => {
                self.inv.hosts.push(Host {
                    name: name.to_string(),
                    vars: Map::new(),
                    origins: Default::default(),
                    groups: Vec::new(),
                    source: self.current_source.clone(),
                });
                let i = self.inv.hosts.len() - 1;
                self.inv.host_index.insert(name.to_string(), i);
                i
            }
        };
        if let Some(port) = port {
            let host = &mut self.inv.hosts[hi];
            host.vars.insert("ansible_port".into(), Value::from(port));
            host.origins.remove("ansible_port");
        }
        if !self.inv.hosts[hi].groups.contains(&group) {
            self.inv.hosts[hi].groups.push(group);
            self.inv.groups[group].hosts.push(name.to_string());
        }
        hi
    }

    /// Set a host variable; `origin`: where its value is written.
    pub(super) fn set_host_var(&mut self, host: usize, key: String, value: Value, origin: &Origin) {
        let host = &mut self.inv.hosts[host];
        host.origins.insert(key.clone(), origin.clone());
        host.vars.insert(key, value);
    }

    /// Set a group variable (`origin`: where its value is written);
    /// `ansible_group_priority` sets the merge priority instead, as in
    /// Ansible.
    pub(super) fn set_group_var(
        &mut self,
        group: usize,
        key: String,
        value: Value,
        origin: &Origin,
    ) -> Result<(), InputError> {
        if key != "ansible_group_priority" {
            let group = &mut self.inv.groups[group];
            group.origins.insert(key.clone(), origin.clone());
            group.vars.insert(key, value);
            return Ok(());
        }
        let priority = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match priority {
            Some(p) => {
                self.inv.groups[group].priority = p;
                Ok(())
            }
            None => Err(InputError::at(
                origin,
                format!(
                    "ansible_group_priority of group `{}` must be an integer, found {value}",
                    self.inv.groups[group].name
                ),
                "not an integer",
            )
            .with_help("write a whole number, e.g. `ansible_group_priority: 10`; higher wins over groups of the same depth")),
        }
    }

    /// Make `child` a child group of `parent`. Cycles are refused by
    /// [`Builder::finish`]: checked here, each entry cost a walk of the
    /// child's descendants (quadratic for a long chain read bottom up).
    pub(super) fn add_child(
        &mut self,
        parent: usize,
        child: usize,
        origin: &Origin,
    ) -> Result<(), InputError> {
        if child == ALL {
            return Err(InputError::at(
                origin,
                format!("`all` cannot be a child of group `{}`", self.inv.groups[parent].name),
                "`all` used as a child",
            )
            .with_help("`all` is the root of every inventory and contains every group already; remove this entry"));
        }
        self.child_links.push((parent, child, origin.clone()));
        self.link(parent, child);
        Ok(())
    }

    /// The first `children` entry (in reading order) that closes a cycle, as
    /// the error the entry would have been had it been checked when read:
    /// found by bisecting the entries with a linear cycle test, so the whole
    /// check is O((groups + entries) log entries).
    fn check_cycles(&self) -> Result<(), InputError> {
        let count = self.inv.groups.len();
        if !has_cycle(count, &self.child_links) {
            return Ok(());
        }
        // The shortest prefix of entries that holds a cycle: its last entry
        // closed the first cycle.
        let (mut lo, mut hi) = (0, self.child_links.len());
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if has_cycle(count, &self.child_links[..mid]) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let before = &self.child_links[..hi - 1];
        let (parent, child, origin) = &self.child_links[hi - 1];
        let path = path_down(count, before, *child, *parent).unwrap_or_else(|| vec![*child]);
        let mut names: Vec<&str> = path
            .iter()
            .map(|&g| self.inv.groups[g].name.as_str())
            .collect();
        names.push(&self.inv.groups[*child].name);
        Err(InputError::at(
            origin,
            format!(
                "group `{}` cannot be a child of `{}`: that makes a cycle ({})",
                self.inv.groups[*child].name,
                self.inv.groups[*parent].name,
                names.join(" -> ")
            ),
            "this child closes the cycle",
        )
        .with_help("a group cannot contain itself, directly or through its children; remove one of the `children` entries"))
    }

    fn link(&mut self, parent: usize, child: usize) {
        if self.linked.insert((parent, child)) {
            let groups = &mut self.inv.groups;
            let name = groups[child].name.clone();
            groups[parent].child_ids.push(child);
            groups[parent].children.push(name);
            groups[child].parent_ids.push(parent);
        }
    }
}

/// Child lists of `count` groups from (parent, child) entries.
fn children_of(count: usize, links: &[(usize, usize, Origin)]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); count];
    for (parent, child, _) in links {
        children[*parent].push(*child);
    }
    children
}

/// Whether the entries make a cycle (Kahn's algorithm: a cycle is what is
/// left when groups without a parent are taken away one by one). O(V + E).
fn has_cycle(count: usize, links: &[(usize, usize, Origin)]) -> bool {
    let children = children_of(count, links);
    let mut parents = vec![0usize; count];
    for list in &children {
        for &c in list {
            parents[c] += 1;
        }
    }
    let mut free: Vec<usize> = (0..count).filter(|&g| parents[g] == 0).collect();
    let mut taken = 0;
    while let Some(g) = free.pop() {
        taken += 1;
        for &c in &children[g] {
            parents[c] -= 1;
            if parents[c] == 0 {
                free.push(c);
            }
        }
    }
    taken < count
}

/// A path of child links from `from` down to `to` (both included), if any.
fn path_down(
    count: usize,
    links: &[(usize, usize, Origin)],
    from: usize,
    to: usize,
) -> Option<Vec<usize>> {
    let children = children_of(count, links);
    let mut previous: Vec<Option<usize>> = vec![None; count];
    let mut seen = vec![false; count];
    seen[from] = true;
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(g) = queue.pop_front() {
        if g == to {
            let mut path = vec![g];
            let mut at = g;
            while let Some(p) = previous[at] {
                path.push(p);
                at = p;
            }
            path.reverse();
            return Some(path);
        }
        for &c in &children[g] {
            if !seen[c] {
                seen[c] = true;
                previous[c] = Some(g);
                queue.push_back(c);
            }
        }
    }
    None
}

impl Inventory {
    /// Derive depths, memberships and merge orders from the reconciled
    /// groups and hosts. Linear in groups, links and hosts for the shapes
    /// inventories have (a 20,000-deep `children` chain took 1.6 GB and
    /// 30 s when every group kept the list of all its ancestors): nothing
    /// per group is a list of other groups, memberships are shared along
    /// chains, and hosts in the same groups share one merge order.
    fn derive(&mut self) {
        // Depth in topological order (parents before children).
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
        for (g, d) in depth.into_iter().enumerate() {
            self.groups[g].depth = d;
        }
        self.members = self.all_members(&order);
        self.merge_order = self.merge_orders();

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

    /// Per host: every group it belongs to (directly or through a child
    /// group), `all` excluded, in variable merge order. Hosts put in the
    /// same groups share one list.
    fn merge_orders(&self) -> Vec<Arc<[usize]>> {
        let mut known: HashMap<Vec<usize>, Arc<[usize]>> = HashMap::new();
        // `mark[g] == stamp`: g already collected for the current host.
        let mut mark = vec![usize::MAX; self.groups.len()];
        let mut out = Vec::with_capacity(self.hosts.len());
        for (stamp, host) in self.hosts.iter().enumerate() {
            let mut direct = host.groups.clone();
            direct.sort_unstable();
            direct.dedup();
            if let Some(order) = known.get(&direct) {
                out.push(Arc::clone(order));
                continue;
            }
            // The groups and all their ancestors, walking up iteratively.
            let mut belongs = Vec::new();
            let mut stack = direct.clone();
            while let Some(g) = stack.pop() {
                if mark[g] == stamp {
                    continue;
                }
                mark[g] = stamp;
                if g != ALL {
                    belongs.push(g);
                }
                stack.extend(self.groups[g].parent_ids.iter().copied());
            }
            let groups = &self.groups;
            belongs.sort_by(|&a, &b| {
                let (a, b) = (&groups[a], &groups[b]);
                (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name))
            });
            let order: Arc<[usize]> = belongs.into();
            known.insert(direct, Arc::clone(&order));
            out.push(order);
        }
        out
    }

    /// Every group's hosts in inventory order (see
    /// [`Self::hosts_in_ansible_order`]), children before parents: a group
    /// with one child and no hosts of its own has exactly its child's
    /// hosts, and shares the child's list.
    fn all_members(&self, order: &[usize]) -> Vec<Arc<[usize]>> {
        let count = self.groups.len();
        let mut members: Vec<Arc<[usize]>> = vec![Arc::from(Vec::new()); count];
        let mut group_mark = vec![usize::MAX; count];
        let mut host_mark = vec![usize::MAX; self.hosts.len()];
        for &g in order.iter().rev() {
            let group = &self.groups[g];
            members[g] = match group.child_ids.as_slice() {
                [] if group.hosts.is_empty() => Arc::from(Vec::new()),
                [child] if group.hosts.is_empty() => Arc::clone(&members[*child]),
                [child] => {
                    // The group's BFS is the group, then its child's BFS.
                    let own = group.hosts.iter().filter_map(|n| self.host_index.get(n));
                    let mut list = Vec::new();
                    for &h in own.chain(members[*child].iter()) {
                        if host_mark[h] != g {
                            host_mark[h] = g;
                            list.push(h);
                        }
                    }
                    list.into()
                }
                _ => self
                    .hosts_in_ansible_order(g, &mut group_mark, &mut host_mark)
                    .into(),
            };
        }
        members
    }

    /// Ansible's `Group.get_hosts()` order, which is what "inventory order"
    /// means there: the group's own hosts, then its descendants' level by
    /// level (children, grandchildren, ...), each group's hosts in the order
    /// they were added. (Ansible walks a level in set order; baton walks it in
    /// the order the groups were added, so runs are repeatable.) The marks
    /// are scratch space: `mark[x] == group` means x is already taken.
    fn hosts_in_ansible_order(
        &self,
        group: usize,
        group_mark: &mut [usize],
        host_mark: &mut [usize],
    ) -> Vec<usize> {
        let mut ordered = vec![group];
        group_mark[group] = group;
        let mut start = 0;
        while start < ordered.len() {
            let end = ordered.len();
            for i in start..end {
                for &child in &self.groups[ordered[i]].child_ids {
                    if group_mark[child] != group {
                        group_mark[child] = group;
                        ordered.push(child);
                    }
                }
            }
            start = end;
        }
        let mut hosts = Vec::new();
        for g in ordered {
            for name in &self.groups[g].hosts {
                if let Some(&h) = self.host_index.get(name) {
                    if host_mark[h] != group {
                        host_mark[h] = group;
                        hosts.push(h);
                    }
                }
            }
        }
        hosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_inventory(text: &str) -> Result<Inventory, InputError> {
        Inventory::from_text("inv.yml", text)
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
}
