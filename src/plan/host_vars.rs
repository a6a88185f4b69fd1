//! A host's variables for one task: its precedence layers (see the README,
//! "Variables and precedence") and the play's magic variables
//! (`ansible_play_name`, `role_path`, ...). The inventory's own magic
//! variables (`inventory_hostname`, `group_names`) come with the inventory
//! variables. Those as big as the play or the inventory (`groups`,
//! `hostvars`, `play_hosts`, `ansible_play_batch`, ...) are the same for
//! every host: the executor builds them once per task, as [`Shared`]
//! values (see [`super::context`] and [`super::hostvars`]).
//!
//! Pure functions: the executor passes in what it knows about the host.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::{Context, Shared};
use super::template::Templater;
use super::vars::{condition_refs, merge_partial, node_refs, text_refs, Layer, Vars};
use crate::error::InputError;
use crate::load::inventory::VarOrigins;
use crate::load::play::Play;
use crate::load::task::{Action, Task};
use crate::yaml::{Node, NodeValue};

/// What is the same for every host of a play.
pub struct PlayVars<'a> {
    pub play: &'a Play,
    /// `vars_files`, loaded once per play.
    pub vars_files: &'a [(String, Node)],
    /// `-e`
    pub extra_vars: &'a Map<String, Value>,
    pub check: bool,
    pub diff: bool,
}

/// What the run knows about one host.
pub struct HostFacts<'a> {
    /// The inventory's variables for the host, with its magic variables.
    pub inventory: &'a Map<String, Value>,
    /// Where each inventory variable was set.
    pub inventory_origins: &'a VarOrigins,
    pub facts: &'a Map<String, Value>,
    /// `register`, `set_fact`, `include_vars`.
    pub registered: &'a Map<String, Value>,
    /// The loop variables of the looped `include_tasks` the task is in.
    pub include_scope: &'a Map<String, Value>,
    /// The task's play-wide values (`groups`, `hostvars`, `play_hosts`, ...).
    pub shared: &'a Shared,
}

/// A host's variables for one task.
pub struct HostVars {
    /// Every variable that needs no rendering, and the templated ones the
    /// task's own templates and conditions read (transitively), rendered;
    /// with the task's shared values.
    pub context: Context,
    /// All of them, rendered on demand: for what shows only at run time
    /// which variables it reads (a template file, `debug: var`).
    pub lazy: Arc<Vars>,
}

/// Variables for one host and task, in precedence order, lowest first.
/// Templated values are rendered only when the task reads them (see
/// [`super::vars`]); connection variables (`ansible_*`, `baton_*`) always are.
///
/// Errors: an undefined variable, a cycle, or an oversized value in a
/// variable the task reads.
pub fn host_vars(
    play: &PlayVars<'_>,
    host: &HostFacts<'_>,
    task: Option<&Task>,
    templater: &Templater,
) -> Result<HostVars, InputError> {
    let demand = task.map(task_refs).unwrap_or_default();
    host_vars_demanding(play, host, task, demand, templater)
}

/// [`host_vars`] with the templated variables `demand` names rendered (and
/// those they read): for what is not a task, e.g. a `vars_files` name.
pub fn host_vars_demanding(
    play: &PlayVars<'_>,
    host: &HostFacts<'_>,
    task: Option<&Task>,
    mut demand: Vec<String>,
    templater: &Templater,
) -> Result<HostVars, InputError> {
    let p = play.play;
    let no_task_vars: Vec<(String, Node)> = Vec::new();
    let task_vars = task.map_or(&no_task_vars, |t| &t.common.vars);
    let role_path = task
        .and_then(|t| t.source.role.as_ref())
        .map(|r| (json!(r.path.display().to_string()), json!(r.name)));
    let mut layers = vec![
        Layer::Nodes(&p.role_defaults),
        Layer::Inventory(host.inventory, host.inventory_origins),
        Layer::Data(host.facts),
        Layer::Nodes(&p.vars),
        Layer::Nodes(play.vars_files),
        Layer::Nodes(&p.role_vars),
        Layer::Nodes(task_vars),
        Layer::Data(host.registered),
        Layer::Data(host.include_scope),
        Layer::Templated(play.extra_vars, "-e"),
        Layer::One("ansible_play_name", json!(p.name)),
        Layer::One("ansible_check_mode", json!(play.check)),
        Layer::One("ansible_diff_mode", json!(play.diff)),
        Layer::One("playbook_dir", json!(p.dir.display().to_string())),
    ];
    // Ansible's magic `ansible_search_path`: where a task's relative
    // lookups (`fileglob`) look (the role, the task file's directory, the
    // playbook's), as `with_fileglob` does.
    if let Some(t) = task {
        let search: Vec<String> = t
            .source
            .search_paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        layers.push(Layer::One("ansible_search_path", json!(search)));
    }
    if let Some((path, name)) = role_path {
        layers.push(Layer::One("role_path", path));
        layers.push(Layer::One("role_name", name));
    }
    let vars = Vars::new(&layers).with_shared(host.shared.clone());
    demand.extend(
        vars.templated_names()
            .filter(|n| crate::load::inventory::is_connection_var_name(n))
            .map(str::to_string),
    );
    let map = vars.to_map(demand.iter().map(String::as_str), templater, true)?;
    Ok(HostVars {
        context: Context::new(map, host.shared.clone()),
        lazy: Arc::new(vars),
    })
}

/// A host's connection variables as a task delegated to it connects with
/// them: its inventory variables (with its facts and registered values,
/// as `hostvars[host]` has them) and `-e` (which wins everywhere), the
/// templated connection variables (`ansible_*`, `baton_*`) rendered in that
/// host's own context.
///
/// Errors: a templated connection variable that is undefined there, a
/// cycle, or an oversized value, named at its inventory line.
pub fn delegated_connection_vars(
    host: &HostFacts<'_>,
    extra_vars: &Map<String, Value>,
    templater: &Templater,
) -> Result<Map<String, Value>, InputError> {
    let vars = Vars::new(&[
        Layer::Inventory(host.inventory, host.inventory_origins),
        Layer::Data(host.facts),
        Layer::Data(host.registered),
        Layer::Templated(extra_vars, "-e"),
    ])
    .with_shared(host.shared.clone());
    let demand: Vec<String> = vars
        .templated_names()
        .filter(|n| crate::load::inventory::is_connection_var_name(n))
        .map(str::to_string)
        .collect();
    vars.to_map(demand.iter().map(String::as_str), templater, true)
}

/// The variable names a task's templates and conditions read: its name,
/// arguments, `when`, `loop`, `loop_control.label`, `environment`,
/// `delegate_to`, `become_user`, `until`, `retries`, `delay`,
/// `changed_when`, `failed_when`, `include_vars` file name.
pub fn task_refs(task: &Task) -> Vec<String> {
    let mut out = Vec::new();
    for_each_text(task, &mut |text, condition| {
        if condition {
            condition_refs(text, &mut out);
        } else {
            text_refs(text, &mut out);
        }
    });
    out
}

/// The variable names a task's `when` reads: what must render to decide
/// whether the task runs at all. Ansible evaluates `when` before it
/// templates anything else of the task, so a skipped task's arguments and
/// `vars` may refer to what is undefined.
pub fn when_refs(task: &Task) -> Vec<String> {
    let mut out = Vec::new();
    for cond in &task.common.when {
        cond_strings(cond, &mut out);
    }
    out
}

fn cond_strings(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        NodeValue::Str(s) => condition_refs(s, out),
        NodeValue::Seq(items) => items.iter().for_each(|n| cond_strings(n, out)),
        _ => {}
    }
}

/// Every string a task templates or evaluates; `true` for conditions.
fn for_each_text(task: &Task, f: &mut dyn FnMut(&str, bool)) {
    fn strings(node: &Node, condition: bool, f: &mut dyn FnMut(&str, bool)) {
        match &node.value {
            NodeValue::Str(s) => f(s, condition),
            NodeValue::Seq(items) => items.iter().for_each(|n| strings(n, condition, f)),
            NodeValue::Map(entries) => entries.iter().for_each(|(k, v)| {
                strings(k, condition, f);
                strings(v, condition, f);
            }),
            _ => {}
        }
    }
    let c = &task.common;
    let nodes = [
        task.name.as_ref(),
        task.loop_items.as_ref(),
        task.loop_control.label.as_ref(),
        task.retries.as_ref(),
        task.delay.as_ref(),
        c.delegate_to.as_ref(),
        c.become_user.as_ref(),
    ];
    for node in nodes.into_iter().flatten().chain(&c.environment) {
        strings(node, false, f);
    }
    match &task.action {
        Action::Module { args, .. } => args.iter().for_each(|(_, n)| strings(n, false, f)),
        Action::IncludeVars(a) => a.nodes().for_each(|n| strings(n, false, f)),
        Action::Meta(_) | Action::Include { .. } => {}
    }
    let conditions = c
        .when
        .iter()
        .chain(task.until.as_ref())
        .chain(task.changed_when.iter().flatten())
        .chain(task.failed_when.iter().flatten());
    for cond in conditions {
        strings(cond, true, f);
    }
}

/// The variables a play's `hosts:` pattern (`demand` names those it reads)
/// and its `vars_files` names may use before any host is chosen: play vars,
/// the vars files read so far and `-e`. Undefined ones stay as written.
pub fn pattern_vars(
    play: &Play,
    vars_files: &[(String, Node)],
    extra_vars: &Map<String, Value>,
    demand: &[String],
    templater: &Templater,
) -> Value {
    let layers = [
        Layer::Nodes(&play.vars),
        Layer::Nodes(vars_files),
        Layer::Templated(extra_vars, "-e"),
    ];
    Value::Object(merge_partial(
        &layers,
        demand.iter().map(String::as_str),
        templater,
    ))
}

/// The variables `hosts:` and a templated `serial` read.
pub fn hosts_refs(play: &Play) -> Vec<String> {
    let mut demand = Vec::new();
    text_refs(play.hosts.as_str().unwrap_or_default(), &mut demand);
    play.serial_template
        .iter()
        .for_each(|n| node_refs(n, &mut demand));
    demand
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_task_reads_what_its_templates_and_conditions_name() {
        let pb = crate::load::playbook::load_text(
            "play.yml",
            r#"
- hosts: all
  gather_facts: false
  vars:
    unused: "{{ nope }}"
  tasks:
    - name: "copy {{ title }}"
      copy:
        dest: "/tmp/{{ item }}"
        content: "{{ body.text }}"
      loop: "{{ items }}"
      when: wanted | bool
      environment:
        E: "{{ env_value }}"
      changed_when: ["r.rc == 0", "{{ guard }}"]
      register: r
"#
            .into(),
            Path::new("."),
        )
        .unwrap();
        let task = &pb.plays[0].all_tasks()[0];
        let mut refs = task_refs(task);
        refs.sort();
        assert_eq!(
            refs,
            [
                "body",
                "env_value",
                "guard",
                "item",
                "items",
                "r",
                "title",
                "wanted"
            ]
        );
    }
}
