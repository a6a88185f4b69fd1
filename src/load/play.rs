//! Plays.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{did_you_mean, InputError};
use crate::source::Origin;
use crate::yaml::{Node, NodeValue};

use super::fields::{self, boolean, expect_map, key_text, string, var_pairs};
use super::keywords::apply_common;
use super::role::{role_entry_common, RoleLoader};
use super::task::{Item, Task, TaskCommon, TaskSource};
use super::task_parser::{parse_items, role_handler_items, role_task_items, ParseCtx};

pub const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "serial",
    "order",
    "vars",
    "vars_files",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "any_errors_fatal",
    "max_fail_percentage",
    "become",
    "become_user",
    "become_method",
    "environment",
    "gather_facts",
    "tags",
    "check_mode",
    "diff",
    "no_log",
    "ignore_errors",
    "ignore_unreachable",
    "connection",
    "remote_user",
    "strategy",
    "force_handlers",
    "collections",
    "timeout",
];

/// One step of `serial`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Serial {
    Count(usize),
    Percent(f64),
}

/// How a play's hosts walk its tasks (Ansible's strategy plugins `linear`
/// and `free`, `lib/ansible/plugins/strategy/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// A task finishes on every host of the batch before the next starts.
    #[default]
    Linear,
    /// Each host of the batch runs its tasks without waiting for the others.
    Free,
}

impl Strategy {
    /// The strategy a `strategy:` value names (`free`, `ansible.builtin.free`,
    /// `linear`, `ansible.builtin.linear`); errors point at `origin`.
    pub fn parse(name: &str, origin: &Origin) -> Result<Strategy, InputError> {
        match name.trim() {
            "linear" | "ansible.builtin.linear" | "ansible.legacy.linear" => Ok(Strategy::Linear),
            "free" | "ansible.builtin.free" | "ansible.legacy.free" => Ok(Strategy::Free),
            other => Err(InputError::at(
                origin,
                format!("strategy `{other}` is not supported"),
                "here",
            )
            .with_help(
                "baton runs `linear` (the default: a task finishes on every host before the next starts) \
                 and `free` (each host runs its tasks without waiting for the others); use `serial` to batch hosts",
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Linear => "linear",
            Strategy::Free => "free",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HostOrder {
    #[default]
    Inventory,
    ReverseInventory,
    Sorted,
    ReverseSorted,
    Shuffle,
}

pub struct Play {
    pub name: String,
    pub hosts: Node,
    pub origin: Origin,
    pub serial: Vec<Serial>,
    /// A `serial` that holds a template (`"{{ batch }}"`): rendered with the
    /// play's variables and `-e` when the play starts (see
    /// [`serial_from_json`]), as Ansible templates it; `serial` is then empty.
    pub serial_template: Option<Node>,
    pub order: HostOrder,
    pub strategy: Strategy,
    /// A `strategy` that holds a template (`"{{ how }}"`): rendered with the
    /// play's variables and `-e` when the play starts, as Ansible templates
    /// play keywords; `strategy` is then the default until it is.
    pub strategy_template: Option<Node>,
    pub vars: Vec<(String, Node)>,
    pub vars_files: Vec<Node>,
    pub role_defaults: Vec<(String, Node)>,
    pub role_vars: Vec<(String, Node)>,
    pub pre_tasks: Vec<Item>,
    /// Roles' tasks first, then `tasks:`.
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    pub handlers: Vec<Arc<Task>>,
    pub any_errors_fatal: bool,
    pub max_fail_percentage: Option<f64>,
    pub gather_facts: bool,
    pub force_handlers: bool,
    /// Play-level `connection:` / `remote_user:`, used when the inventory
    /// sets none: text, kept as nodes for their place (a template in them
    /// is rendered per host when it connects).
    pub connection: Option<Node>,
    pub remote_user: Option<Node>,
    pub dir: PathBuf,
}

impl Play {
    pub fn all_tasks(&self) -> Vec<Arc<Task>> {
        self.pre_tasks
            .iter()
            .chain(&self.tasks)
            .chain(&self.post_tasks)
            .flat_map(Item::tasks)
            .collect()
    }
}

/// Where a `vars_files` name is looked for, in order: as it is when
/// absolute (`~/` expanded), else the playbook directory's `vars/`, then the
/// playbook directory (Ansible's `path_dwim_relative_stack(..., 'vars', ...)`).
pub fn vars_file_candidates(playbook_dir: &Path, name: &str) -> Vec<PathBuf> {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if let (Some(rest), Some(home)) = (name.strip_prefix("~/"), home()) {
        return vec![home.join(rest)];
    }
    let path = Path::new(name);
    if path.is_absolute() {
        return vec![path.to_path_buf()];
    }
    vec![
        playbook_dir.join("vars").join(path),
        playbook_dir.join(path),
    ]
}

/// Each `vars_files` entry is a name or a list of alternative names. An
/// entry named literally (no template) must have a file that exists and
/// parses now, before any play runs: a typo must not surface after earlier
/// plays changed hosts. A templated entry is checked when its play starts.
fn check_vars_files(files: &[Node], playbook_dir: &Path) -> Result<(), InputError> {
    for entry in files {
        let names: Vec<&Node> = match &entry.value {
            NodeValue::Seq(items) if !items.is_empty() => items.iter().collect(),
            NodeValue::Seq(_) => {
                return Err(InputError::at(
                    &entry.origin,
                    "an empty list of vars files",
                    "here",
                )
                .with_help("a vars_files entry is a file name, or a list of names of which the first that exists is read"))
            }
            _ => vec![entry],
        };
        let mut texts = Vec::new();
        for n in &names {
            if n.as_str().is_none() {
                return Err(InputError::at(
                    &n.origin,
                    "a vars_files entry must be a file name or a list of file names",
                    "not a file name",
                )
                .with_help("write e.g. `vars_files: [vars/common.yml, [\"vars/{{ ansible_os_family }}.yml\", vars/default.yml]]`"));
            }
            texts.push(n.as_str().unwrap_or_default().to_string());
        }
        if texts.iter().any(|t| crate::template_text::is_template(t)) {
            continue;
        }
        let tried: Vec<PathBuf> = texts
            .iter()
            .flat_map(|t| vars_file_candidates(playbook_dir, t))
            .collect();
        let Some(path) = tried.iter().find(|p| p.is_file()) else {
            // A candidate that exists but is not a file (a directory, a
            // FIFO) is named for what it is; otherwise none exists.
            let what = match crate::source::first_unreadable(&tried) {
                Some(why) => format!("vars file {why}"),
                None => {
                    let listed: Vec<String> =
                        tried.iter().map(|p| p.display().to_string()).collect();
                    format!(
                        "vars file {} does not exist (tried {})",
                        texts.join(" or "),
                        listed.join(", ")
                    )
                }
            };
            return Err(
                InputError::at(&entry.origin, what, "listed here").with_help(
                    "vars_files names are relative to the playbook's directory (its `vars/` first)",
                ),
            );
        };
        let loaded = crate::yaml::parse_file(path)?;
        var_pairs(&loaded, &format!("vars file {}", path.display()))?;
    }
    Ok(())
}

/// A `serial` value, as YAML wrote it or as a template rendered it.
enum SerialIn<'a> {
    Int(i64),
    Str(&'a str),
    /// A number that is not an `i64`: a fraction, or a whole number past
    /// `i64::MAX` that a template rendered as a float (YAML keeps such a
    /// number's digits, as text).
    Float(f64),
    Other(&'static str),
}

/// One step of `serial`, as Ansible's `pct_to_int` reads it: a whole
/// number of hosts (`0` is one batch of all hosts), or a percentage of the
/// play's hosts, rounded down and at least one host (`"0%"` is one host per
/// batch, `"101%"` all hosts in one).
fn one_serial(value: SerialIn<'_>, origin: &Origin) -> Result<Serial, InputError> {
    let bad = |what: String| {
        InputError::at(
            origin,
            format!("`serial` must be a number, a percentage or a list of them, not {what}"),
            "invalid serial",
        )
        .with_help("e.g. `serial: 1`, `serial: \"30%\"` or `serial: [1, \"50%\"]`")
    };
    match value {
        // `serial: 0` is one batch of every host, as in Ansible.
        SerialIn::Int(0) => Ok(Serial::Percent(100.0)),
        SerialIn::Int(i) if i > 0 => Ok(Serial::Count(i as usize)),
        SerialIn::Int(i) => Err(bad(format!("{i}"))),
        SerialIn::Str(text) => {
            let s = text.trim();
            if let Some(p) = s.strip_suffix('%') {
                return match p.trim().parse::<f64>() {
                    Ok(pct) if pct.is_finite() && pct >= 0.0 => Ok(Serial::Percent(pct)),
                    _ => Err(bad(format!("`{text}`"))),
                };
            }
            match s.parse::<i64>() {
                Ok(i) if i >= 0 => one_serial(SerialIn::Int(i), origin),
                // a whole number past i64 (YAML keeps its digits as text)
                Err(_) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                    Err(bad(format!(
                        "{s}: a number of hosts past {}, more than baton counts",
                        i64::MAX
                    )))
                }
                _ => Err(bad(format!("`{text}`"))),
            }
        }
        SerialIn::Float(f) if f.is_finite() && f.fract() == 0.0 && f > 0.0 => Err(bad(format!(
            "{f:e}: a number of hosts past {}, more than baton counts",
            i64::MAX
        ))),
        SerialIn::Float(f) if f.is_finite() && f.fract() != 0.0 => Err(bad(format!(
            "the fraction {f} (a number of hosts is whole)"
        ))),
        SerialIn::Float(f) => Err(bad(format!("{f}"))),
        SerialIn::Other(kind) => Err(bad(kind.to_string())),
    }
}

fn parse_serial(node: &Node) -> Result<Vec<Serial>, InputError> {
    let one = |n: &Node| {
        let value = match &n.value {
            NodeValue::Int(i) => SerialIn::Int(*i),
            NodeValue::Float(f) => SerialIn::Float(*f),
            NodeValue::Str(s) => SerialIn::Str(s),
            _ => SerialIn::Other(n.kind_name()),
        };
        one_serial(value, &n.origin)
    };
    match &node.value {
        // An empty list is Ansible's default (`Play.serial`): one batch of
        // every host (`_get_serialized_batches` reads it as `[-1]`).
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Seq(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(node)?]),
    }
}

/// The steps of a templated `serial` (see [`Play::serial_template`]) once
/// rendered; errors point at the template.
pub fn serial_from_json(
    value: &serde_json::Value,
    origin: &Origin,
) -> Result<Vec<Serial>, InputError> {
    use serde_json::Value;
    let one = |v: &Value| {
        let value = match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) => SerialIn::Int(i),
                None => SerialIn::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => SerialIn::Str(s),
            Value::Null => SerialIn::Other("null"),
            Value::Bool(_) => SerialIn::Other("a boolean"),
            Value::Array(_) => SerialIn::Other("a list inside the list"),
            Value::Object(_) => SerialIn::Other("a mapping"),
        };
        one_serial(value, origin)
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(value)?]),
    }
}

/// A play's `connection:`: a literal name baton cannot run is refused here,
/// by the inventory's rule ([`connection_refusal`]), rather than when the
/// play reaches its hosts; a templated one is checked when a host connects.
fn play_connection(v: &Node) -> Result<Node, InputError> {
    use crate::load::inventory::{connection_refusal, ConnectionSource};
    let name = string(v, "connection")?;
    let node = Node {
        value: crate::yaml::NodeValue::Str(name.clone()),
        origin: v.origin.clone(),
    };
    if has_template(v) {
        return Ok(node);
    }
    match connection_refusal(&name, ConnectionSource::PlayOrCli) {
        None => Ok(node),
        Some((message, help)) => Err(InputError::at(
            &v.origin,
            format!("connection: {message}"),
            "this connection type",
        )
        .with_help(help)),
    }
}

/// Whether a node holds a template anywhere.
fn has_template(node: &Node) -> bool {
    match &node.value {
        NodeValue::Str(s) => crate::template_text::is_template(s),
        NodeValue::Seq(items) => items.iter().any(has_template),
        _ => false,
    }
}

fn parse_order(node: &Node) -> Result<HostOrder, InputError> {
    let s = string(node, "order")?;
    Ok(match s.as_str() {
        "inventory" => HostOrder::Inventory,
        "reverse_inventory" => HostOrder::ReverseInventory,
        "sorted" => HostOrder::Sorted,
        "reverse_sorted" => HostOrder::ReverseSorted,
        "shuffle" => HostOrder::Shuffle,
        _ => {
            let choices = [
                "inventory",
                "reverse_inventory",
                "sorted",
                "reverse_sorted",
                "shuffle",
            ];
            let hint = did_you_mean(&s, choices)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            return Err(
                InputError::at(&node.origin, format!("unknown host order `{s}`"), "here")
                    .with_help(format!("{hint}choose one of: {}", choices.join(", "))),
            );
        }
    })
}

/// One play. Long (~185 lines) because it is one `match` over the play's
/// keywords, one short arm each, so every keyword is checked in one place.
pub fn parse_play(
    node: &Node,
    playbook_dir: &Path,
    roles: &RoleLoader,
) -> Result<Play, InputError> {
    let map = expect_map(node, "a play")?;
    let hosts = play_hosts(node)?;
    let mut common = TaskCommon::default();
    let mut play = Play {
        name: String::new(),
        hosts,
        origin: node.origin.clone(),
        serial: Vec::new(),
        serial_template: None,
        order: HostOrder::Inventory,
        strategy: Strategy::Linear,
        strategy_template: None,
        vars: Vec::new(),
        vars_files: Vec::new(),
        role_defaults: Vec::new(),
        role_vars: Vec::new(),
        pre_tasks: Vec::new(),
        tasks: Vec::new(),
        post_tasks: Vec::new(),
        handlers: Vec::new(),
        any_errors_fatal: false,
        max_fail_percentage: None,
        gather_facts: true,
        force_handlers: false,
        connection: None,
        remote_user: None,
        dir: playbook_dir.to_path_buf(),
    };
    let sections = read_play_keys(map, &mut play, &mut common)?;
    check_vars_files(&play.vars_files, playbook_dir)?;
    if play.name.is_empty() {
        play.name = play.hosts.scalar_text().unwrap_or_default();
    }
    if common.any_errors_fatal == Some(true) {
        play.any_errors_fatal = true;
    }
    parse_sections(&mut play, &sections, &common, playbook_dir, roles)?;
    Ok(play)
}

/// The play's `hosts:` as one pattern (a list is joined with `:`).
fn play_hosts(node: &Node) -> Result<Node, InputError> {
    let hosts = node.get("hosts").cloned().ok_or_else(|| {
        InputError::at(&node.origin, "this play has no `hosts`", "play starts here")
            .with_help("add `hosts: all` or a group or host pattern")
    })?;
    if hosts.as_str().is_none() && hosts.as_seq().is_none() {
        return Err(InputError::at(
            &hosts.origin,
            format!("`hosts` must be a pattern, not {}", hosts.kind_name()),
            "here",
        ));
    }
    Ok(match hosts.as_seq() {
        Some(list) => {
            let joined = list
                .iter()
                .map(|h| h.scalar_text().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(":");
            Node::new(NodeValue::Str(joined), hosts.origin.clone())
        }
        None => hosts,
    })
}

/// Set the play's keywords on `play` and `common`; returns the task sections
/// (`pre_tasks`, `roles`, `tasks`, `post_tasks`, `handlers`) in file order,
/// parsed once every keyword is known.
fn read_play_keys<'n>(
    map: &'n [(Node, Node)],
    play: &mut Play,
    common: &mut TaskCommon,
) -> Result<Vec<(&'n str, &'n Node)>, InputError> {
    let mut sections: Vec<(&str, &Node)> = Vec::new();
    for (k, v) in map {
        let key = key_text(k)?;
        match key.as_str() {
            "name" => play.name = string(v, "name")?,
            "hosts" | "collections" => {}
            "serial" if has_template(v) => play.serial_template = Some(v.clone()),
            "serial" => play.serial = parse_serial(v)?,
            "order" => play.order = parse_order(v)?,
            "vars" => play.vars = var_pairs(v, "play `vars`")?,
            "vars_files" => {
                play.vars_files = match &v.value {
                    NodeValue::Seq(items) => items.clone(),
                    NodeValue::Null => Vec::new(),
                    _ => vec![v.clone()],
                }
            }
            "pre_tasks" | "roles" | "tasks" | "post_tasks" | "handlers" => {
                sections.push((k.as_str().unwrap_or_default(), v))
            }
            "any_errors_fatal" => {
                play.any_errors_fatal = boolean(v, "any_errors_fatal")?;
            }
            "max_fail_percentage" => play.max_fail_percentage = Some(max_fail_percentage(v)?),
            "gather_facts" => play.gather_facts = boolean(v, "gather_facts")?,
            "force_handlers" => play.force_handlers = boolean(v, "force_handlers")?,
            "connection" => play.connection = Some(play_connection(v)?),
            "remote_user" => {
                play.remote_user = Some(Node {
                    value: crate::yaml::NodeValue::Str(string(v, "remote_user")?),
                    origin: v.origin.clone(),
                })
            }
            "strategy" if has_template(v) => play.strategy_template = Some(v.clone()),
            "strategy" => play.strategy = Strategy::parse(&string(v, "strategy")?, &v.origin)?,
            "when" => {
                return Err(
                    InputError::at(&k.origin, "a play cannot have `when`", "here").with_help(
                        "put `when` on tasks or blocks, or select hosts with `hosts:` and `-l`",
                    ),
                )
            }
            "vars_prompt" => {
                return Err(
                    InputError::at(&k.origin, "`vars_prompt` is not supported", "here")
                        .with_help("baton never waits for keyboard input; pass values with -e"),
                )
            }
            _ if key != "vars" && apply_common(common, &key, v)? => {}
            _ => {
                let hint = did_you_mean(&key, PLAY_KEYWORDS.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Err(InputError::at(
                    &k.origin,
                    format!("`{key}` is not a play keyword"),
                    "unknown keyword",
                )
                .with_help(format!(
                    "{hint}tasks go under `tasks:`; play keywords: {}",
                    PLAY_KEYWORDS.join(", ")
                )));
            }
        }
    }
    Ok(sections)
}

fn max_fail_percentage(v: &Node) -> Result<f64, InputError> {
    let pct = fields::number(v, "max_fail_percentage")?;
    if !(0.0..=100.0).contains(&pct) {
        return Err(InputError::at(
            &v.origin,
            "`max_fail_percentage` must be between 0 and 100",
            "here",
        ));
    }
    Ok(pct)
}

/// Parse the task sections into `play`: roles' tasks run before `tasks:`,
/// as in Ansible; handlers come from `handlers:` and the roles.
fn parse_sections(
    play: &mut Play,
    sections: &[(&str, &Node)],
    common: &TaskCommon,
    playbook_dir: &Path,
    roles: &RoleLoader,
) -> Result<(), InputError> {
    roles.start_play();
    let ctx = ParseCtx {
        source: Arc::new(TaskSource {
            dir: playbook_dir.to_path_buf(),
            role: None,
            playbook_dir: playbook_dir.to_path_buf(),
        }),
        roles,
        stack: Vec::new(),
        handlers: false,
    };
    let mut role_tasks = Vec::new();
    let mut handler_items = Vec::new();
    for (section, v) in sections {
        match *section {
            "pre_tasks" => play.pre_tasks = parse_items(v, "`pre_tasks`", common, &ctx)?,
            "tasks" => play.tasks = parse_items(v, "`tasks`", common, &ctx)?,
            "post_tasks" => play.post_tasks = parse_items(v, "`post_tasks`", common, &ctx)?,
            "handlers" => {
                let hctx = ParseCtx {
                    source: Arc::clone(&ctx.source),
                    roles,
                    stack: Vec::new(),
                    handlers: true,
                };
                handler_items.extend(parse_items(v, "`handlers`", common, &hctx)?);
            }
            "roles" => {
                if v.is_null() {
                    continue;
                }
                for entry in fields::expect_seq(v, "`roles`")? {
                    let (name, at, own) = role_entry_common(entry)?;
                    let role = roles.load(&name, &at, None, playbook_dir)?;
                    let Some(key) = roles.to_expand(&role, &own) else {
                        continue;
                    };
                    let mut role_common = own;
                    role_common.inherit(common);
                    role_tasks.extend(role_task_items(&role, &role_common, roles, &at)?);
                    roles.expanded(key);
                    // The role's handlers, once per distinct role, see its
                    // parameters (Ansible: handler blocks carry the role).
                    let handler_common = TaskCommon {
                        vars: role_common.vars.clone(),
                        ..TaskCommon::default()
                    };
                    handler_items.extend(role_handler_items(&role, &handler_common, roles)?);
                }
            }
            _ => {}
        }
    }
    role_tasks.append(&mut play.tasks);
    play.tasks = role_tasks;
    for role in roles.take_loaded() {
        play.role_defaults.extend(role.defaults.iter().cloned());
        play.role_vars.extend(role.vars.iter().cloned());
    }
    for item in handler_items {
        for task in item.tasks() {
            play.handlers.push(task);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::synthetic("play.yml", "strategy: x")
    }

    #[test]
    fn strategy_names_ansible_accepts_are_accepted() {
        for (name, want) in [
            ("linear", Strategy::Linear),
            ("ansible.builtin.linear", Strategy::Linear),
            ("free", Strategy::Free),
            ("ansible.builtin.free", Strategy::Free),
            (" free ", Strategy::Free),
        ] {
            assert_eq!(Strategy::parse(name, &origin()).ok(), Some(want), "{name}");
        }
    }

    #[test]
    fn other_strategies_are_refused_by_name() {
        for name in [
            "host_pinned",
            "debug",
            "mitogen_linear",
            "mitogen_free",
            "Free",
            "",
        ] {
            let e = Strategy::parse(name, &origin()).err().map(|e| e.one_line());
            let e = e.unwrap_or_default();
            assert!(
                e.contains(&format!("strategy `{}` is not supported", name.trim())),
                "{name}: {e}"
            );
        }
    }
}
