//! A task's loop as written: which lookup makes its items (`loop:` or
//! `with_<lookup>:`) and its `loop_control`.
//!
//! Ansible turns `with_X: terms` into the lookup plugin `X` run over the
//! terms (ansible-core `playbook/task.py` `_preprocess_with_loop`,
//! `executor/task_executor.py` `_get_loop_items`); a `with_X` whose lookup
//! does not exist is refused when the playbook loads ("'with_X' is not a
//! valid attribute for a Task"). The items themselves are made when the task
//! runs (`plan::lookups`).

use std::time::Duration;

use crate::error::{did_you_mean, InputError};
use crate::yaml::Node;

use super::fields::{self, boolean, conditions, expect_map, key_text, string};

/// Which lookup makes a task's loop items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoopWith {
    /// `loop:`: the templated value must be a list, used as it is.
    #[default]
    Loop,
    /// A `with_<name>` lookup, e.g. `with_dict` is `LoopWith::Lookup("dict")`
    /// (one of [`WITH_LOOKUPS`]).
    Lookup(&'static str),
}

/// The lookups a `with_<name>` may name. The loop-shaping ones run in
/// `plan::lookups`; `file`, `template`, `env`, `vars` and `first_found` are
/// the template engine's `query()` plugins. `cartesian` is
/// community.general's (ansible-core alone has `nested`, the same items).
pub const WITH_LOOKUPS: &[&str] = &[
    "items",
    "list",
    "dict",
    "nested",
    "cartesian",
    "together",
    "indexed_items",
    "sequence",
    "subelements",
    "fileglob",
    "first_found",
    "file",
    "template",
    "env",
    "vars",
];

/// ansible-core lookups baton has no loop for, and what to write instead.
const NOT_SUPPORTED: &[(&str, &str)] = &[
    ("lines", "it runs a command on the controller; use a `command` task with `delegate_to: localhost`, `register`, and `loop: \"{{ result.stdout_lines }}\"`"),
    ("pipe", "it runs a command on the controller; use a `command` task with `delegate_to: localhost`, `register`, and `loop: \"{{ result.stdout_lines }}\"`"),
    ("inventory_hostnames", "write `loop: \"{{ groups['GROUP'] }}\"` (or `ansible_play_hosts`)"),
    ("random_choice", "choose the value in a variable (e.g. with `-e`) instead"),
    ("varnames", "list the variables in `vars:` and loop over them"),
    ("config", "baton has no Ansible configuration lookup"),
    ("csvfile", "read the file with `include_vars` (YAML) instead"),
    ("ini", "read the file with `include_vars` (YAML) instead"),
    ("password", "generate secrets outside the playbook and pass them with `-e @file`"),
    ("url", "fetch the data with a task and `register` it"),
    ("unvault", "baton cannot decrypt vault data"),
];

impl LoopWith {
    /// The lookup for a `with_<name>` key; an unknown name is an error at
    /// the key, with a did-you-mean.
    pub fn from_key(key: &str, at: &Node) -> Result<LoopWith, InputError> {
        let name = key.strip_prefix("with_").unwrap_or(key);
        if let Some(known) = WITH_LOOKUPS.iter().find(|n| **n == name) {
            return Ok(LoopWith::Lookup(known));
        }
        let help = match NOT_SUPPORTED.iter().find(|(n, _)| *n == name) {
            Some((_, instead)) => format!("baton has no `{name}` lookup: {instead}"),
            None => {
                let hint = did_you_mean(name, WITH_LOOKUPS.iter().copied())
                    .map(|n| format!("did you mean `with_{n}`? "))
                    .unwrap_or_default();
                format!(
                    "{hint}a `with_<lookup>` loop names a lookup plugin; baton has with_{}",
                    WITH_LOOKUPS.join(", with_")
                )
            }
        };
        Err(InputError::at(
            &at.origin,
            format!("`{key}` is not a loop baton knows: there is no lookup `{name}`"),
            "unknown loop keyword",
        )
        .with_help(help))
    }

    /// The keyword as written: `loop` or `with_<name>`.
    pub fn keyword(self) -> String {
        match self {
            LoopWith::Loop => "loop".to_string(),
            LoopWith::Lookup(name) => format!("with_{name}"),
        }
    }
}

/// `loop_control`, as Ansible's `playbook/loop_control.py` defines it.
#[derive(Clone, Debug)]
pub struct LoopControl {
    /// The item's variable name (`item`).
    pub loop_var: String,
    /// Where the item's 0-based index goes, if anywhere.
    pub index_var: Option<String>,
    /// What the report shows for an item (default: the item).
    pub label: Option<Node>,
    /// Wait between two items.
    pub pause: Option<Duration>,
    /// A templated `pause`, rendered and bounded before the loop runs.
    pub pause_template: Option<Node>,
    /// `extended`: `ansible_loop` (index, first, last, ...) is defined.
    pub extended: bool,
    /// `extended_allitems` (default true): `ansible_loop.allitems` too.
    pub extended_allitems: bool,
    /// `break_when`: conditions checked after each item (with the item's
    /// registered result); when all hold, the loop stops there.
    pub break_when: Vec<Node>,
}

impl Default for LoopControl {
    fn default() -> Self {
        LoopControl {
            loop_var: "item".to_string(),
            index_var: None,
            label: None,
            pause: None,
            pause_template: None,
            extended: false,
            extended_allitems: true,
            break_when: Vec::new(),
        }
    }
}

const LOOP_CONTROL_KEYS: &[&str] = &[
    "loop_var",
    "index_var",
    "label",
    "pause",
    "extended",
    "extended_allitems",
    "break_when",
];

/// Read `loop_control`; an unknown key is an error naming the closest one.
pub fn parse_loop_control(node: Option<&Node>) -> Result<LoopControl, InputError> {
    let mut out = LoopControl::default();
    let Some(node) = node else { return Ok(out) };
    if node.is_null() {
        return Ok(out);
    }
    for (k, v) in expect_map(node, "`loop_control`")? {
        match key_text(k)?.as_str() {
            "loop_var" => {
                let name = string(v, "loop_var")?;
                fields::check_var_name(&name, v)?;
                out.loop_var = name;
            }
            "index_var" => {
                let name = string(v, "index_var")?;
                fields::check_var_name(&name, v)?;
                out.index_var = Some(name);
            }
            "label" => out.label = Some(v.clone()),
            // rendered when the loop runs (Ansible accepts `pause: "{{ p }}"`)
            "pause" if v.as_str().is_some_and(crate::template_text::is_template) => {
                out.pause_template = Some(v.clone());
            }
            "pause" => {
                let secs = fields::seconds(v, "loop_control.pause")?;
                out.pause = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            "extended" => out.extended = boolean(v, "loop_control.extended")?,
            "extended_allitems" => {
                out.extended_allitems = boolean(v, "loop_control.extended_allitems")?
            }
            "break_when" => out.break_when = conditions(v),
            other => {
                let hint = did_you_mean(other, LOOP_CONTROL_KEYS.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Err(InputError::at(
                    &k.origin,
                    format!("unknown `loop_control` key `{other}`"),
                    "here",
                )
                .with_help(format!("{hint}supported: {}", LOOP_CONTROL_KEYS.join(", "))));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        crate::yaml::parse(&crate::source::SourceFile::new("t.yml", text.to_string())).unwrap()
    }

    #[test]
    fn with_keys_name_their_lookup_and_unknown_ones_are_refused_with_a_hint() {
        let at = node("x");
        assert_eq!(
            LoopWith::from_key("with_dict", &at).unwrap(),
            LoopWith::Lookup("dict")
        );
        assert_eq!(LoopWith::Lookup("dict").keyword(), "with_dict");
        let err = LoopWith::from_key("with_dcit", &at).unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("with_dcit"), "{text}");
        assert!(text.contains("did you mean `with_dict`"), "{text}");
        let err = LoopWith::from_key("with_pipe", &at).unwrap_err();
        assert!(format!("{err:?}").contains("runs a command on the controller"));
    }

    #[test]
    fn loop_control_reads_every_key_and_refuses_unknown_ones() {
        let lc = parse_loop_control(Some(&node(
            "{loop_var: srv, index_var: i, label: x, pause: 0.5, extended: true, extended_allitems: false, break_when: [a, b]}",
        )))
        .unwrap();
        assert_eq!(lc.loop_var, "srv");
        assert_eq!(lc.index_var.as_deref(), Some("i"));
        assert_eq!(lc.pause, Some(Duration::from_millis(500)));
        assert!(lc.extended && !lc.extended_allitems);
        assert_eq!(lc.break_when.len(), 2);
        let d = parse_loop_control(None).unwrap();
        assert_eq!(d.loop_var, "item");
        assert!(!d.extended && d.extended_allitems);
        let err = parse_loop_control(Some(&node("{extnded: true}"))).unwrap_err();
        assert!(format!("{err:?}").contains("did you mean `extended`"));
    }
}
