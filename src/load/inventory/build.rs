//! The one way to make an [`Inventory`]: every loader (YAML, INI, comma list)
//! adds groups, hosts and variables through a [`Builder`], whose `finish`
//! then derives what the sources leave implicit.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

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
        Builder::new().finish()
    }
}

/// An inventory being built: groups and hosts are added in source order, and
/// nothing derived (depths, memberships, merge orders) is valid until
/// [`Builder::finish`].
#[derive(Clone)]
pub(super) struct Builder {
    inv: Inventory,
    /// The file being loaded, recorded on hosts it introduces.
    current_source: Option<PathBuf>,
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
                groups_var: Value::Object(Map::new()),
                inventory_files: VarsFiles::default(),
                playbook_files: VarsFiles::default(),
                warnings: Vec::new(),
            },
            current_source: None,
        };
        builder.ensure_group("all");
        builder.ensure_group("ungrouped");
        builder.link(ALL, UNGROUPED);
        builder
    }

    /// The file whose hosts are being added (`inventory_file`); `None` for a
    /// comma list.
    pub(super) fn set_source(&mut self, source: Option<PathBuf>) {
        self.current_source = source;
    }

    /// The finished inventory, with what the sources leave implicit derived.
    pub(super) fn finish(mut self) -> Inventory {
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
                    groups: Vec::new(),
                    source: self.current_source.clone(),
                });
                let i = self.inv.hosts.len() - 1;
                self.inv.host_index.insert(name.to_string(), i);
                i
            }
        };
        if let Some(port) = port {
            self.inv.hosts[hi]
                .vars
                .insert("ansible_port".into(), Value::from(port));
        }
        if !self.inv.hosts[hi].groups.contains(&group) {
            self.inv.hosts[hi].groups.push(group);
            self.inv.groups[group].hosts.push(name.to_string());
        }
        hi
    }

    pub(super) fn set_host_var(&mut self, host: usize, key: String, value: Value) {
        self.inv.hosts[host].vars.insert(key, value);
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
            self.inv.groups[group].vars.insert(key, value);
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
                format!("`all` cannot be a child of group `{}`", self.inv.groups[parent].name),
                "`all` used as a child",
            )
            .with_help("`all` is the root of every inventory and contains every group already; remove this entry"));
        }
        if let Some(path) = self.path_down(child, parent) {
            let mut names: Vec<&str> = path
                .iter()
                .map(|&g| self.inv.groups[g].name.as_str())
                .collect();
            names.push(&self.inv.groups[child].name);
            return Err(InputError::at(
                origin,
                format!(
                    "group `{}` cannot be a child of `{}`: that makes a cycle ({})",
                    self.inv.groups[child].name,
                    self.inv.groups[parent].name,
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
        let groups = &mut self.inv.groups;
        if !groups[parent].child_ids.contains(&child) {
            let name = groups[child].name.clone();
            groups[parent].child_ids.push(child);
            groups[parent].children.push(name);
            groups[child].parent_ids.push(parent);
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
            for &c in &self.inv.groups[g].child_ids {
                if seen.insert(c) {
                    previous.insert(c, g);
                    queue.push_back(c);
                }
            }
        }
        None
    }
}

impl Inventory {
    /// Derive depths, memberships, merge orders and the `groups` variable
    /// from the reconciled groups and hosts.
    fn derive(&mut self) {
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
