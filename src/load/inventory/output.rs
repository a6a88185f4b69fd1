//! `baton inventory --list` and `--graph`, in `ansible-inventory`'s shapes.

use serde_json::{Map, Value};

use super::model::{extend, Group, Inventory, ALL};

/// Variables that describe the inventory itself; `--list` leaves them out.
const MAGIC_VARS: [&str; 6] = [
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "groups",
    "inventory_file",
    "inventory_dir",
];

/// `_meta.profile` as ansible-core 2.19's `ansible-inventory --list` prints it
/// (the shape of the JSON, which earlier versions left unnamed).
pub const LIST_PROFILE: &str = "inventory_legacy";

/// A host's variables as ansible-inventory prints them: no magic variables.
fn without_magic(mut vars: Map<String, Value>) -> Map<String, Value> {
    for magic in MAGIC_VARS {
        vars.remove(magic);
    }
    vars
}

impl Inventory {
    /// The `ansible-inventory --list` shape (ansible-core 2.19): `_meta` with
    /// `hostvars` (each host's merged variables) and `profile`, then one entry
    /// per non-empty group with its `hosts` and `children`. Group variables
    /// appear only merged into hostvars, as in Ansible; with `export` (Ansible's
    /// `--export`) they stay on their group under `vars` instead, and hostvars
    /// keep only what was set on the host itself (inventory and host_vars/).
    /// Object keys are sorted, as ansible-inventory prints them; lists keep
    /// inventory order.
    pub fn to_list_json(&self, export: bool) -> Value {
        let mut out = Map::new();
        for group in &self.groups {
            if let Some(entry) = self.list_entry(group, export) {
                out.insert(group.name.clone(), entry);
            }
        }
        let mut hostvars = Map::new();
        for name in self.host_names() {
            let vars = if export {
                self.own_vars(&name)
            } else {
                self.host_list_vars(&name)
            };
            if !vars.is_empty() {
                hostvars.insert(name, Value::Object(vars));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        meta.insert("profile".into(), Value::from(LIST_PROFILE));
        out.insert("_meta".into(), Value::Object(meta));
        sort_keys(Value::Object(out))
    }

    /// `ansible-inventory --host HOST`: the host's merged variables without
    /// the magic ones, keys sorted; `None` for a host not in the inventory.
    pub fn to_host_json(&self, host: &str) -> Option<Value> {
        self.host_index
            .contains_key(host)
            .then(|| sort_keys(Value::Object(self.host_list_vars(host))))
    }

    fn host_list_vars(&self, host: &str) -> Map<String, Value> {
        without_magic(self.merged_vars(host))
    }

    /// What `--export` keeps in a host's hostvars: its inventory line or
    /// entry, then host_vars/ files (beside the inventory, then the playbook).
    fn own_vars(&self, host: &str) -> Map<String, Value> {
        let mut vars = Map::new();
        if let Some(&i) = self.host_index.get(host) {
            extend(&mut vars, &self.hosts[i].vars);
        }
        for files in [&self.inventory_files, &self.playbook_files] {
            if let Some(file_vars) = files.hosts.get(host) {
                extend(&mut vars, file_vars);
            }
        }
        without_magic(vars)
    }

    /// One group of `--list`; `None` when it would be empty (as Ansible drops it).
    fn list_entry(&self, group: &Group, export: bool) -> Option<Value> {
        let mut entry = Map::new();
        if group.name != "all" && !group.hosts.is_empty() {
            entry.insert("hosts".into(), Value::from(group.hosts.clone()));
        }
        if !group.children.is_empty() {
            entry.insert("children".into(), Value::from(group.children.clone()));
        }
        if export {
            let vars = self.group_own_vars(group);
            if !vars.is_empty() {
                entry.insert("vars".into(), Value::Object(vars));
            }
        }
        (!entry.is_empty()).then_some(Value::Object(entry))
    }

    /// A group's own variables as ansible-inventory shows them (`--export`,
    /// `--graph --vars`): the inventory's, then group_vars/ files, and
    /// `ansible_group_priority` when it is not 1.
    fn group_own_vars(&self, group: &Group) -> Map<String, Value> {
        let mut vars = group.vars.clone();
        for files in [&self.inventory_files, &self.playbook_files] {
            if let Some(file_vars) = files.groups.get(&group.name) {
                extend(&mut vars, file_vars);
            }
        }
        if group.priority != 1 {
            vars.insert("ansible_group_priority".into(), Value::from(group.priority));
        }
        vars
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
        self.to_graph_from("all", None).unwrap_or_default()
    }

    /// `ansible-inventory --graph [GROUP] [--vars]`: the tree below `group`
    /// (`None` when no group has that name: ansible-inventory's "Pattern
    /// must be valid group name"). With `show`, each host's variables (as
    /// `--host` gives them) follow it and each group's own (as `--export`
    /// gives them) close it, `{name = VALUE}` sorted by name, VALUE as
    /// `show` prints it (ansible-inventory: Python's `str()`).
    pub fn to_graph_from(
        &self,
        group: &str,
        show: Option<&dyn Fn(&Value) -> String>,
    ) -> Option<String> {
        enum Step {
            Group(usize, usize),
            Hosts(usize, usize),
            Vars(usize, usize),
        }
        let start = *self.group_index.get(group)?;
        let vars_lines = |lines: &mut Vec<String>, vars: Map<String, Value>, depth: usize| {
            if let Some(show) = show {
                let mut vars: Vec<(String, Value)> = vars.into_iter().collect();
                vars.sort_by(|a, b| a.0.cmp(&b.0));
                for (name, value) in vars {
                    lines.push(graph_line(&format!("{{{name} = {}}}", show(&value)), depth));
                }
            }
        };
        // An explicit stack: INI files can chain groups deeper than the call stack.
        let mut lines = Vec::new();
        let mut stack = vec![Step::Group(start, 0)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Group(g, depth) => {
                    lines.push(graph_line(&format!("@{}:", self.groups[g].name), depth));
                    stack.push(Step::Vars(g, depth + 1));
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
                        if show.is_some() {
                            vars_lines(&mut lines, self.host_list_vars(host), depth + 1);
                        }
                    }
                }
                Step::Vars(g, depth) => {
                    if show.is_some() {
                        vars_lines(&mut lines, self.group_own_vars(&self.groups[g]), depth);
                    }
                }
            }
        }
        Some(lines.join("\n"))
    }
}

fn graph_line(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml_inventory(text: &str) -> Result<Inventory, crate::error::InputError> {
        Inventory::from_text("inv.yml", text)
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
        let list = inv.to_list_json(false);
        assert_eq!(list["all"], json!({"children": ["ungrouped", "prod"]}));
        // Group vars only merged into hostvars, as ansible-inventory --list.
        assert_eq!(list["prod"], json!({"children": ["web"]}));
        assert_eq!(list["web"], json!({"hosts": ["w2", "w1"]}));
        assert_eq!(list["ungrouped"], json!({"hosts": ["solo"]}));
        assert_eq!(list["_meta"]["hostvars"]["w2"], json!({"tier": 1, "x": 1}));
        assert_eq!(list["_meta"]["hostvars"]["w1"], json!({"tier": 1}));
        assert_eq!(list["_meta"]["profile"], json!("inventory_legacy"));
        assert!(list["_meta"]["hostvars"].get("solo").is_none());
        // --export: group vars stay on the group, hostvars hold the host's own.
        let export = inv.to_list_json(true);
        assert_eq!(
            export["prod"],
            json!({"children": ["web"], "vars": {"tier": 1}})
        );
        assert_eq!(export["_meta"]["hostvars"], json!({"w2": {"x": 1}}));
        assert_eq!(inv.to_host_json("w1"), Some(json!({"tier": 1})));
        assert_eq!(inv.to_host_json("solo"), Some(json!({})));
        assert_eq!(inv.to_host_json("nope"), None);
        let keys: Vec<&String> = list.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["_meta", "all", "prod", "ungrouped", "web"]);
    }
}
