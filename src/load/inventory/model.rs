//! The inventory as data: hosts, groups, their variables, and the merged view
//! a host gets. Nothing here reads files; the builder (`build.rs`) makes an
//! [`Inventory`], the loaders feed the builder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::error::InputError;
use crate::source::Origin;

/// Where each variable of a host, a group or a vars file was set: its
/// value's place in the inventory source (file, line, column), so a
/// template in it that cannot be rendered is named there.
pub type VarOrigins = HashMap<String, Origin>;

/// Names that mean "this machine"; when the inventory lacks them they resolve
/// to an implicit host that runs with `ansible_connection=local`, as in Ansible.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Index of the `all` group; it is created first in every inventory.
pub(super) const ALL: usize = 0;
/// Index of the `ungrouped` group; created second.
pub(super) const UNGROUPED: usize = 1;

#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    /// Variables set on the host itself (not its groups).
    pub vars: Map<String, Value>,
    /// Where each of `vars` was set (a var set by `host:PORT` has none).
    pub(super) origins: VarOrigins,
    /// Groups the host was put in directly, by index.
    pub(super) groups: Vec<usize>,
    /// The file that first named the host (`inventory_file`).
    pub(super) source: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    /// Variables set on the group in the inventory source (not group_vars/).
    pub vars: Map<String, Value>,
    /// Where each of `vars` was set.
    pub(super) origins: VarOrigins,
    /// Hosts put directly in this group, in the order they were (for
    /// `ungrouped`: the hosts in no other group but `all`).
    pub hosts: Vec<String>,
    /// Direct child groups, in the order they were added.
    pub children: Vec<String>,
    pub(super) child_ids: Vec<usize>,
    pub(super) parent_ids: Vec<usize>,
    /// `ansible_group_priority`: among groups of the same depth, a higher
    /// priority merges later and so wins.
    pub(super) priority: i64,
    /// Longest distance from `all`; deeper groups merge later and so win.
    pub(super) depth: usize,
}

impl Group {
    pub(super) fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            vars: Map::new(),
            origins: VarOrigins::new(),
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
pub(super) struct VarsFiles {
    pub(super) groups: HashMap<String, Map<String, Value>>,
    pub(super) hosts: HashMap<String, Map<String, Value>>,
    /// Where each variable of `groups` and `hosts` was set, by entity.
    pub(super) group_origins: HashMap<String, VarOrigins>,
    pub(super) host_origins: HashMap<String, VarOrigins>,
}

#[derive(Clone, Debug)]
pub struct Inventory {
    pub(super) hosts: Vec<Host>,
    pub(super) host_index: HashMap<String, usize>,
    pub(super) groups: Vec<Group>,
    pub(super) group_index: HashMap<String, usize>,
    /// Per host: every group it belongs to (directly or through a child group),
    /// `all` excluded, in variable merge order. Shared by hosts in the same groups.
    pub(super) merge_order: Vec<Arc<[usize]>>,
    /// Per group: its hosts and its descendants' hosts (positions in
    /// [`Inventory::hosts`]), in inventory order. Shared along chains of
    /// groups that add no hosts.
    pub(super) members: Vec<Arc<[usize]>>,
    /// group_vars/ and host_vars/ beside the inventory sources.
    pub(super) inventory_files: VarsFiles,
    /// group_vars/ and host_vars/ beside the playbook; they win over the
    /// inventory's at the same level, as in Ansible.
    pub(super) playbook_files: VarsFiles,
    pub(super) warnings: Vec<String>,
}

impl Inventory {
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

    /// Each group's name and its hosts (positions in [`Inventory::hosts`],
    /// see [`Inventory::group_hosts`]): what the `groups` magic variable
    /// shows, without a copy of each host's name per group.
    pub fn group_memberships(&self) -> impl Iterator<Item = (&str, &Arc<[usize]>)> {
        self.groups
            .iter()
            .zip(&self.members)
            .map(|(g, m)| (g.name.as_str(), m))
    }

    /// The `groups` magic variable as JSON: every group's hosts by name.
    /// As big as groups × hosts; the runner shares one lazy view instead.
    pub fn groups_json(&self) -> Value {
        let groups = self
            .group_memberships()
            .map(|(name, members)| {
                let names: Vec<&str> = members
                    .iter()
                    .map(|&h| self.hosts[h].name.as_str())
                    .collect();
                (name.to_string(), Value::from(names))
            })
            .collect();
        Value::Object(groups)
    }

    /// Merged variables for a host, lowest precedence first (as in Ansible):
    /// the `all` group < the host's other groups, shallow before deep (same
    /// depth: by `ansible_group_priority`, then by name) < `group_vars/all`
    /// files < `group_vars/GROUP` files in the same group order < the host's
    /// own vars < `host_vars/HOST` files. At each file level the playbook's
    /// files win over the inventory's. Then the magic variables
    /// `inventory_hostname`, `inventory_hostname_short`, `group_names`
    /// (sorted, without `all`), `inventory_file` and `inventory_dir`.
    /// Not `groups`, the same for every host and as big as the inventory:
    /// see [`Inventory::groups_json`].
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
        let mut vars = Map::new();
        for (layer, _) in self.var_layers(host) {
            extend(&mut vars, layer);
        }
        vars
    }

    /// Where each of a host's merged variables (see
    /// [`Inventory::merged_vars`]) was set, for those the winning source
    /// gives a place (not `host:PORT`'s `ansible_port`, not the magic
    /// variables).
    pub fn var_origins(&self, host: &str) -> VarOrigins {
        let mut origins = VarOrigins::new();
        for (layer, places) in self.var_layers(host) {
            for name in layer.keys() {
                match places.and_then(|p| p.get(name)) {
                    Some(origin) => origins.insert(name.clone(), origin.clone()),
                    None => origins.remove(name),
                };
            }
        }
        origins
    }

    /// A host's variable layers, lowest precedence first (see
    /// [`Inventory::host_vars`]), each with where its variables were set.
    fn var_layers<'s>(
        &'s self,
        host: &str,
    ) -> Vec<(&'s Map<String, Value>, Option<&'s VarOrigins>)> {
        static LOCAL: OnceLock<Map<String, Value>> = OnceLock::new();
        let index = self.host_index.get(host).copied();
        let groups: &[usize] = match index {
            Some(i) => &self.merge_order[i],
            None => &[],
        };
        let files = [&self.inventory_files, &self.playbook_files];
        let group = |g: &'s Group| (&g.vars, Some(&g.origins));
        let mut layers = vec![group(&self.groups[ALL])];
        layers.extend(groups.iter().map(|&g| group(&self.groups[g])));
        for f in files {
            if let Some(file_vars) = f.groups.get("all") {
                layers.push((file_vars, f.group_origins.get("all")));
            }
        }
        for f in files {
            for &g in groups {
                let name = &self.groups[g].name;
                if let Some(file_vars) = f.groups.get(name) {
                    layers.push((file_vars, f.group_origins.get(name)));
                }
            }
        }
        match index {
            Some(i) => layers.push((&self.hosts[i].vars, Some(&self.hosts[i].origins))),
            None if is_localhost_name(host) => {
                let local = LOCAL.get_or_init(|| {
                    let mut m = Map::new();
                    m.insert("ansible_connection".into(), Value::from("local"));
                    m
                });
                layers.push((local, None));
            }
            None => {}
        }
        for f in files {
            if let Some(file_vars) = f.hosts.get(host) {
                layers.push((file_vars, f.host_origins.get(host)));
            }
        }
        layers
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
}

/// The `ansible_connection` values baton runs, Ansible's aliases and
/// fully qualified names included: `ssh` (`smart`, `paramiko`) or `local`.
pub const CONNECTIONS: [&str; 11] = [
    "ssh",
    "smart",
    "paramiko",
    "paramiko_ssh",
    "ansible.builtin.ssh",
    "ansible.builtin.paramiko_ssh",
    // ansible.legacy.NAME is the same plugin found by the legacy search
    // (ansible-core resolves builtin plugins under both names).
    "ansible.legacy.ssh",
    "ansible.legacy.paramiko_ssh",
    "local",
    "ansible.builtin.local",
    "ansible.legacy.local",
];

/// Ansible connection plugins baton does not run. An inventory shared with
/// Ansible may give them to hosts no baton play targets, so these (and any
/// collection's `ns.coll.name`) are refused only when such a host is
/// connected to; any other name is a typo, refused where it is written.
const OTHER_ANSIBLE_CONNECTIONS: [&str; 21] = [
    "winrm",
    "psrp",
    "docker",
    "podman",
    "buildah",
    "lxc",
    "lxd",
    "incus",
    "chroot",
    "jail",
    "zone",
    "iocage",
    "kubectl",
    "oc",
    "aws_ssm",
    "network_cli",
    "httpapi",
    "netconf",
    "libvirt_qemu",
    "qubes",
    "saltstack",
];

/// Where a connection name is written, for [`connection_refusal`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConnectionSource {
    /// An inventory variable (`ansible_connection`, `baton_connection`).
    Inventory,
    /// A play's `connection:` or `-c`/`--connection`.
    PlayOrCli,
}

/// Why baton refuses the literal connection name `name` written in
/// `source` (`None`: taken), with the help to show. The one rule for the
/// inventory, a play's `connection:` and `-c`: baton runs [`CONNECTIONS`];
/// any other name that is no Ansible plugin (`telnet`) is a typo. Another
/// Ansible plugin (or a collection's `ns.coll.name`) is taken in an
/// inventory shared with Ansible, and refused when such a host is connected
/// to; a play or `-c` applies its value to the hosts it runs on, so there
/// it is refused at once rather than after earlier plays ran.
pub fn connection_refusal(name: &str, source: ConnectionSource) -> Option<(String, &'static str)> {
    if CONNECTIONS.contains(&name) {
        return None;
    }
    let ansible = OTHER_ANSIBLE_CONNECTIONS.contains(&name) || name.contains('.');
    match (ansible, source) {
        (true, ConnectionSource::Inventory) => None,
        (true, ConnectionSource::PlayOrCli) => Some((
            format!("connection type `{name}` is an Ansible plugin baton does not run"),
            "baton connects with `ssh` (the default, also `smart`, `paramiko`) or `local`",
        )),
        (false, _) => Some((
            format!("connection type `{name}` is not supported"),
            "baton connects with `ssh` (the default, also `smart`, `paramiko`) or `local`",
        )),
    }
}

/// Refuse, at its place in the file, a literal connection value baton
/// cannot use: an `ansible_connection` (or `baton_connection`) that names
/// no connection at all, a port outside 1 to 65535, a `baton_ssh_kex` or
/// `baton_persist` outside what they take. A templated value is checked
/// when the host connects (naming the host), by the same functions.
pub fn check_connection_vars(
    vars: &Map<String, Value>,
    origins: &VarOrigins,
) -> Result<(), InputError> {
    let refuse = |key: &str, message: String, label: &str, help: &str| {
        let message = format!("{key}: {message}");
        let error = match origins.get(key) {
            Some(origin) => InputError::at(origin, message, label),
            None => InputError::plain(message),
        };
        Err(error.with_help(help.to_string()))
    };
    for key in ["baton_connection", "ansible_connection"] {
        let name = match literal(vars.get(key)) {
            Some(Value::String(s)) => s.clone(),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => continue,
        };
        let Some((message, _)) = connection_refusal(&name, ConnectionSource::Inventory) else {
            continue;
        };
        return refuse(
            key,
            message,
            "this connection type",
            "baton connects with `ssh` (the default) or `local`; set ansible_connection to one of them",
        );
    }
    // Each literal value with a closed range, checked by the parser the
    // connection uses: (keys, valid?, refusal, label, help).
    type Check = (
        &'static [&'static str],
        fn(&Value) -> bool,
        &'static str,
        &'static str,
        &'static str,
    );
    let checks: [Check; 4] = [
        (
            TEXT_CONNECTION_VARS,
            is_text_value,
            TEXT_REFUSAL,
            "this value",
            TEXT_HELP,
        ),
        (
            &["baton_port", "ansible_port", "ansible_ssh_port"],
            // Empty text is no port (unset), as when connecting.
            |v| v.as_str() == Some("") || port_number(v).is_some(),
            PORT_REFUSAL,
            "this port",
            PORT_HELP,
        ),
        (
            &["baton_ssh_kex"],
            |v| kex_choice(v).is_some(),
            KEX_REFUSAL,
            "this key exchange",
            KEX_HELP,
        ),
        (
            &["baton_persist"],
            |v| persist_secs(v).is_some(),
            PERSIST_REFUSAL,
            "these seconds",
            PERSIST_HELP,
        ),
    ];
    for (keys, valid, refusal, label, help) in checks {
        for key in keys {
            if let Some(value) = literal(vars.get(*key)).filter(|v| !valid(v)) {
                return refuse(key, format!("`{}` {refusal}", shown(value)), label, help);
            }
        }
    }
    Ok(())
}

/// A value as written, not templated (a template is checked once rendered)
/// and not null (unset).
fn literal(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !crate::template_text::is_template(s),
        _ => true,
    })
}

/// A value as an error message shows it: a string without JSON's quotes.
pub fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The refusal of a port that is none (after "`VALUE` ").
pub const PORT_REFUSAL: &str = "is not a port number";

/// Connection variables whose value is one piece of text (a name, a path,
/// ssh arguments): a list, a mapping or a boolean there is a mistake, not
/// "unset" (it was read as unset: a host meant to be `local` was reached
/// over ssh).
pub const TEXT_CONNECTION_VARS: &[&str] = &[
    "baton_connection",
    "ansible_connection",
    "baton_host",
    "ansible_host",
    "ansible_ssh_host",
    "baton_user",
    "ansible_user",
    "ansible_ssh_user",
    "baton_ssh_private_key_file",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "baton_ssh_known_hosts_file",
    "baton_ssh_config_file",
    "baton_ssh_common_args",
    "ansible_ssh_common_args",
    "baton_ssh_extra_args",
    "ansible_ssh_extra_args",
];
/// Whether a value can stand for text in a [`TEXT_CONNECTION_VARS`] variable
/// (a string or a number; not a list, a mapping or a boolean).
pub fn is_text_value(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_) | Value::Bool(_))
}
pub const TEXT_REFUSAL: &str = "is not text (a list, a mapping or a boolean)";
pub const TEXT_HELP: &str = "write one value as text, e.g. `ansible_connection: local`";
pub const PORT_HELP: &str = "use a number from 1 to 65535";

/// `ansible_port`/`baton_port`: a number (or numeric text) from 1 to 65535.
pub fn port_number(value: &Value) -> Option<u16> {
    let port = match value {
        Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (port > 0).then_some(port)
}

/// The refusal of a `baton_ssh_kex` baton does not know (after "`VALUE` ").
pub const KEX_REFUSAL: &str = "is not a key exchange baton knows";
pub const KEX_HELP: &str =
    "use `curve25519` (faster handshakes, no post-quantum protection) or `default` (ssh's own choice)";

/// `baton_ssh_kex`: `Some(true)` for `curve25519`, `Some(false)` for
/// `default` (or empty), `None` for anything else. Case and surrounding
/// blanks do not matter.
pub fn kex_choice(value: &Value) -> Option<bool> {
    match value {
        Value::Null => Some(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "default" | "" => Some(false),
            "curve25519" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// The refusal of a `baton_persist` out of range (after "`VALUE` ").
pub const PERSIST_REFUSAL: &str = "is not whole seconds from 0 to 604800";
pub const PERSIST_HELP: &str = "use whole seconds from 0 (no persistence) to 604800 (a week)";

/// `baton_persist`: whole seconds from 0 (off, also `false`) to a week;
/// `Some(None)` for off.
pub fn persist_secs(value: &Value) -> Option<Option<std::time::Duration>> {
    let secs = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(false) => Some(0.0),
        _ => None,
    }?;
    (secs.fract() == 0.0 && (0.0..=604_800.0).contains(&secs))
        .then(|| (secs > 0.0).then(|| std::time::Duration::from_secs(secs as u64)))
}

/// Later keys replace earlier ones whole (Ansible's default `hash_behaviour`).
pub(super) fn extend(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

pub(super) fn is_localhost_name(name: &str) -> bool {
    LOCALHOST_NAMES.contains(&name)
}

/// Whether `name` is spelled as a connection setting (`ansible_port`, and
/// its `baton_port` twin, which wins): such variables are rendered for every
/// task, read or not, so both spellings are rendered and validated the same
/// way (undefined is an error at the variable's line). `ansible_*` names
/// that are no connection setting (`ansible_play_name`) are rendered too,
/// as before.
pub fn is_connection_var_name(name: &str) -> bool {
    name.starts_with("ansible_") || name.starts_with("baton_")
}

/// Look up a connection setting in a host's merged vars: `baton_KEY`, else
/// `ansible_KEY`, else Ansible's older spelling (`ansible_ssh_host`, ...).
/// `key` is given without prefix (`host`, `port`, `user`, `connection`,
/// `ssh_private_key_file`, `ssh_common_args`, ...); a prefixed key is
/// accepted too. A null value counts as unset.
pub fn connection_var<'a>(vars: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    connection_var_entry(vars, key).map(|(_, v)| v)
}

/// [`connection_var`] with the name the value was found under
/// (`baton_port`, `ansible_port` or `ansible_ssh_port`), for messages that
/// name what the user wrote.
pub fn connection_var_entry<'a>(
    vars: &'a Map<String, Value>,
    key: &str,
) -> Option<(&'a str, &'a Value)> {
    let key = key
        .strip_prefix("baton_")
        .or_else(|| key.strip_prefix("ansible_"))
        .unwrap_or(key);
    let get = |name: &str| {
        vars.get_key_value(name)
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), v))
    };
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
    use crate::error::InputError;
    use serde_json::json;

    fn yaml_inventory(text: &str) -> Result<Inventory, InputError> {
        Inventory::from_text("inv.yml", text)
    }

    /// `path:line:col` of where a host's variable was set.
    fn place(inv: &Inventory, host: &str, name: &str) -> Option<String> {
        inv.var_origins(host).get(name).map(Origin::describe)
    }

    #[test]
    fn a_literal_connection_baton_cannot_run_is_refused_where_it_is_written() {
        let refused = |name: &str, text: &str| {
            let err = Inventory::from_text(name, text).unwrap_err();
            (err.message, err.location.unwrap_or_default())
        };
        let want = |key: &str| format!("{key}: connection type `telepathy` is not supported");
        assert_eq!(
            refused("hosts", "[web]\nweb1 ansible_connection=telepathy\n"),
            (want("ansible_connection"), "hosts:2:25".into())
        );
        assert_eq!(
            refused(
                "hosts",
                "[web]\nweb1\n[web:vars]\nx=1\nansible_connection=telepathy\n"
            ),
            (want("ansible_connection"), "hosts:5:20".into())
        );
        assert_eq!(
            refused(
                "inv.yml",
                "all:\n  hosts:\n    web1:\n      baton_connection: telepathy\n"
            ),
            (want("baton_connection"), "inv.yml:4:25".into())
        );
        assert_eq!(
            refused(
                "inv.yml",
                "web:\n  vars:\n    ansible_connection: 7\n  hosts: {web1: }\n"
            )
            .0,
            "ansible_connection: connection type `7` is not supported"
        );
        // Templated: checked when the host connects. Another Ansible plugin
        // (a host of a shared inventory baton's plays may never target):
        // refused when connected to. Baton's own names and aliases: taken.
        for ok in [
            "\"{{ conn }}\"",
            "winrm",
            "community.docker.docker",
            "ssh",
            "smart",
            "paramiko_ssh",
            "local",
            "ansible.builtin.local",
        ] {
            let text = format!("all:\n  hosts:\n    w:\n      ansible_connection: {ok}\n");
            assert!(yaml_inventory(&text).is_ok(), "{ok}");
        }
    }

    /// A literal `baton_ssh_kex`, `baton_persist` or port baton cannot use
    /// is refused at load, where it is written (it passed --syntax-check and
    /// was reported, without file:line, when the first task ran).
    #[test]
    fn literal_connection_values_out_of_their_range_are_refused_where_written() {
        let refused = |name: &str, text: &str| {
            let err = Inventory::from_text(name, text).unwrap_err();
            (err.message, err.location.unwrap_or_default())
        };
        assert_eq!(
            refused("hosts", "x baton_ssh_kex=bogus\n"),
            (
                "baton_ssh_kex: `bogus` is not a key exchange baton knows".into(),
                "hosts:1:17".into()
            )
        );
        for bad in ["99999999", "-5", "1.5", "soon"] {
            assert_eq!(
                refused("hosts", &format!("x baton_persist={bad}\n")),
                (
                    format!("baton_persist: `{bad}` is not whole seconds from 0 to 604800"),
                    "hosts:1:17".into()
                )
            );
        }
        assert_eq!(
            refused(
                "inv.yml",
                "all:\n  vars:\n    baton_port: 70000\n  hosts: {w: }\n"
            ),
            (
                "baton_port: `70000` is not a port number".into(),
                "inv.yml:3:17".into()
            )
        );
        for key in ["ansible_port", "ansible_ssh_port"] {
            assert!(refused("hosts", &format!("x {key}=ssh\n"))
                .0
                .starts_with(key));
        }
        // In range, templated (checked once rendered), or unset: taken.
        for ok in [
            "baton_ssh_kex=curve25519",
            "baton_ssh_kex=Default",
            "baton_ssh_kex=\"{{ kx }}\"",
            "baton_persist=0",
            "baton_persist=604800",
            "baton_persist=\"{{ secs }}\"",
            "ansible_port=2222",
            "baton_port=\"{{ p }}\"",
        ] {
            let text = format!("x {ok}\n");
            assert!(Inventory::from_text("hosts", &text).is_ok(), "{ok}");
        }
    }

    #[test]
    fn both_spellings_of_a_connection_variable_are_rendered_with_every_task() {
        for name in [
            "ansible_port",
            "baton_port",
            "baton_ssh_kex",
            "baton_persist",
        ] {
            assert!(is_connection_var_name(name), "{name}");
        }
        assert!(!is_connection_var_name("port"));
    }

    #[test]
    fn each_variable_keeps_where_its_winning_value_is_written() {
        let inv = yaml_inventory(
            "all:\n  vars:\n    a: \"{{ b }}\"\n    b: 1\n  children:\n    web:\n      vars:\n        b: \"{{ c }}\"\n      hosts:\n        web1:\n          a: 2\n        web2:8022:\n",
        )
        .unwrap();
        assert_eq!(place(&inv, "web1", "a").as_deref(), Some("inv.yml:11:14"));
        assert_eq!(place(&inv, "web2", "a").as_deref(), Some("inv.yml:3:8"));
        // the child group's value wins, and with it its place
        assert_eq!(place(&inv, "web2", "b").as_deref(), Some("inv.yml:8:12"));
        // `host:PORT` and the magic variables have none
        assert_eq!(place(&inv, "web2", "ansible_port"), None);
        assert_eq!(place(&inv, "web2", "inventory_hostname"), None);

        let ini = Inventory::from_text(
            "hosts.ini",
            "[web]\nweb1 x=1 greet=\"hi {{ x }}\"\n[web:vars]\nlevel = {{ x }}{{ x }}\n",
        )
        .unwrap();
        // the value after `=`: quoted as written, or trimmed
        assert_eq!(
            place(&ini, "web1", "greet").as_deref(),
            Some("hosts.ini:2:16")
        );
        assert_eq!(
            place(&ini, "web1", "level").as_deref(),
            Some("hosts.ini:4:9")
        );
    }

    #[test]
    fn vars_files_keep_where_each_variable_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts.ini");
        std::fs::write(&hosts, "[db]\ndb1 who=inventory\n").unwrap();
        std::fs::create_dir_all(dir.path().join("group_vars/db")).unwrap();
        std::fs::create_dir_all(dir.path().join("host_vars")).unwrap();
        std::fs::write(
            dir.path().join("group_vars/db/a.yml"),
            "x: 1\nwho: \"{{ x }}\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("group_vars/db/b.yml"),
            "\n\nx: \"{{ y }}\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("host_vars/db1.yml"), "y: \"{{ z }}\"\n").unwrap();
        let inv = Inventory::load(&[hosts]).unwrap();
        let at = |name: &str| {
            let origin = inv.var_origins("db1").get(name).cloned().unwrap();
            let (line, col) = origin.file.line_col(origin.offset);
            (
                origin
                    .file
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                line,
                col,
            )
        };
        // the host's own value wins over group_vars/
        assert_eq!(at("who"), ("hosts.ini".to_string(), 2, 9));
        // the later file of a group_vars/ directory wins
        assert_eq!(at("x"), ("b.yml".to_string(), 3, 4));
        assert_eq!(at("y"), ("db1.yml".to_string(), 1, 4));
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
        // `groups` is the same for every host: not copied into each one's vars
        assert!(vars.get("groups").is_none());
        let groups = inv.groups_json();
        assert_eq!(
            groups["all"],
            json!(["loose.example.com", "w1.example.com"])
        );
        assert_eq!(groups["prod"], json!(["w1.example.com"]));
        assert_eq!(groups["ungrouped"], json!(["loose.example.com"]));
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
}
