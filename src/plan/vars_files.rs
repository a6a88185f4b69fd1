//! A play's `vars_files`, read as Ansible reads them (ansible-core 2.19
//! `vars/manager.py` `get_vars`):
//!
//! - An entry is a file name, or a list of names of which the first that
//!   exists is read (`- ["vars/{{ ansible_os_family }}.yml", vars/default.yml]`).
//! - Names are templates, rendered per host with what is known of it: its
//!   inventory variables and facts, the play's `vars`, the vars files read
//!   before this entry, `-e` and the magic variables. So
//!   `vars/{{ ansible_os_family }}.yml` works once facts were gathered, and an
//!   entry may use a variable from an earlier vars file.
//! - A relative name is looked for in the playbook directory's `vars/`, then
//!   in the playbook directory (`path_dwim_relative_stack(..., 'vars', ...)`).
//! - An entry that cannot be rendered (an undefined variable) is skipped
//!   with a warning while the host has no gathered facts, and is an error
//!   once it has; this is Ansible's rule. Ansible also skips an entry none of
//!   whose files exists, silently; baton refuses it, naming what it tried.
//!
//! The play's hosts are chosen before any host is known: for `hosts:` the
//! entries are read best-effort with the play's `vars` and `-e` only
//! ([`OnUndefined::Ignore`], missing files skipped), as Ansible's
//! host-less `get_vars(play)` does.

use serde_json::{Map, Value};

use super::context::AsContext;
use super::host_vars::{hosts_refs, pattern_vars};
use super::template::Templater;
use super::vars::node_refs;
use crate::error::InputError;
use crate::load::fields::var_pairs;
use crate::load::play::{vars_file_candidates, Play};
use crate::yaml::{Node, NodeValue};

/// What an entry whose name cannot be rendered does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnUndefined {
    /// Skip it without a word (choosing the play's hosts).
    Ignore,
    /// Skip it with a warning (a host without gathered facts).
    Warn,
    /// Refuse it (a host with gathered facts).
    Fail,
}

/// The variables of the vars files read, in order, and what was skipped.
#[derive(Default)]
pub struct Resolved {
    pub pairs: Vec<(String, Node)>,
    /// One line per skipped entry (with [`OnUndefined::Warn`]).
    pub warnings: Vec<String>,
}

/// Read a play's `vars_files` in order. `vars_for(pairs, names)` gives the
/// variables to render an entry's names with: `pairs` are the vars files
/// read so far, `names` the variables the entry's templates mention.
///
/// Errors: with [`OnUndefined::Fail`], a name that cannot be rendered; with
/// `missing_fails`, an entry none of whose files exists (naming every path
/// tried); a file that is not YAML, or not a mapping of variables.
pub fn resolve<C: AsContext>(
    play: &Play,
    templater: &Templater,
    on_undefined: OnUndefined,
    missing_fails: bool,
    mut vars_for: impl FnMut(&[(String, Node)], &[String]) -> Result<C, InputError>,
) -> Result<Resolved, InputError> {
    let mut out = Resolved::default();
    for entry in &play.vars_files {
        let names: Vec<&Node> = match &entry.value {
            NodeValue::Seq(items) => items.iter().collect(),
            _ => vec![entry],
        };
        let mut demand = Vec::new();
        names.iter().for_each(|n| node_refs(n, &mut demand));
        let rendered = render_names(&names, &demand, &out.pairs, templater, &mut vars_for);
        let rendered = match rendered {
            Ok(r) => r,
            Err(e) => match on_undefined {
                OnUndefined::Ignore => continue,
                OnUndefined::Warn => {
                    out.warnings.push(format!(
                        "vars_files entry at {} skipped: {} (as Ansible does while the host has no gathered facts)",
                        entry.origin.describe(),
                        e.message
                    ));
                    continue;
                }
                OnUndefined::Fail => {
                    return Err(e.with_help(
                        "a vars_files name is rendered per host once its facts are gathered; define the variable (inventory, `vars`, an earlier vars file, -e) or give a list of alternatives",
                    ))
                }
            },
        };
        let tried: Vec<std::path::PathBuf> = rendered
            .iter()
            .flat_map(|name| vars_file_candidates(&play.dir, name))
            .collect();
        let Some(path) = tried.iter().find(|p| p.is_file()) else {
            if let Some(why) = crate::source::first_unreadable(&tried) {
                return Err(InputError::at(
                    &entry.origin,
                    format!("vars file {why}"),
                    "vars_files entry",
                ));
            }
            if !missing_fails {
                continue;
            }
            let listed: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            return Err(InputError::at(
                &entry.origin,
                format!(
                    "no vars file of this entry exists (rendered: {}; tried {})",
                    rendered.join(", "),
                    listed.join(", ")
                ),
                "vars_files entry",
            )
            .with_help("vars_files names are relative to the playbook's directory (its `vars/` first); give a list whose last name always exists for a default"));
        };
        let loaded = crate::yaml::parse_file(path)?;
        out.pairs.extend(var_pairs(
            &loaded,
            &format!("vars file {}", path.display()),
        )?);
    }
    Ok(out)
}

/// Before any host is chosen: the vars files whose names need no host
/// (read best-effort: an entry that cannot be rendered or has no file is
/// left for the hosts), and the variables the play's `hosts:` may use with
/// them (play vars, those files, `-e`), as Ansible's host-less
/// `get_vars(play)`.
///
/// Errors: a file that exists but is not a mapping of variables.
pub fn before_hosts(
    play: &Play,
    extra_vars: &Map<String, Value>,
    templater: &Templater,
) -> Result<(Vec<(String, Node)>, Value), InputError> {
    let early = resolve(
        play,
        templater,
        OnUndefined::Ignore,
        false,
        |pairs, demand| Ok(pattern_vars(play, pairs, extra_vars, demand, templater)),
    )?;
    let vars = pattern_vars(play, &early.pairs, extra_vars, &hosts_refs(play), templater);
    Ok((early.pairs, vars))
}

/// An entry's names rendered; a literal entry needs no variables.
fn render_names<C: AsContext>(
    names: &[&Node],
    demand: &[String],
    pairs: &[(String, Node)],
    templater: &Templater,
    vars_for: &mut impl FnMut(&[(String, Node)], &[String]) -> Result<C, InputError>,
) -> Result<Vec<String>, InputError> {
    let texts = || names.iter().map(|n| n.as_str().unwrap_or_default());
    if texts().all(|t| !crate::template_text::is_template(t)) {
        return Ok(texts().map(str::to_string).collect());
    }
    let vars = vars_for(pairs, demand)?;
    let vars = vars.as_context();
    names
        .iter()
        .map(|n| templater.render_str(n.as_str().unwrap_or_default(), &*vars, &n.origin))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn play(dir: &Path, vars_files: &str) -> Play {
        let text = format!(
            "- hosts: all\n  gather_facts: false\n  vars_files: {vars_files}\n  tasks: []\n"
        );
        let pb =
            crate::load::playbook::load_text(dir.join("play.yml").to_str().unwrap(), text, dir)
                .unwrap();
        pb.plays.into_iter().next().unwrap()
    }

    /// Variables as a host would have them: `known` plus the pairs read so far.
    fn vars_for<'a>(
        known: &'a Map<String, Value>,
        templater: &'a Templater,
    ) -> impl FnMut(&[(String, Node)], &[String]) -> Result<Value, InputError> + 'a {
        move |pairs, demand| {
            let layers = [
                super::super::vars::Layer::Data(known),
                super::super::vars::Layer::Nodes(pairs),
            ];
            Ok(Value::Object(super::super::vars::merge_partial(
                &layers,
                demand.iter().map(String::as_str),
                templater,
            )))
        }
    }

    #[test]
    fn names_use_facts_and_earlier_files_and_the_first_existing_alternative_wins() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("vars")).unwrap();
        std::fs::write(d.join("vars/base.yml"), "flavor: Debian\n").unwrap();
        std::fs::write(d.join("vars/Debian.yml"), "pkg: deb\n").unwrap();
        std::fs::write(d.join("vars/Linux.yml"), "kernel: linux\n").unwrap();
        std::fs::write(d.join("default.yml"), "fallback: yes\n").unwrap();
        let p = play(
            d,
            r#"[base.yml, "vars/{{ flavor }}.yml", ["{{ ansible_system }}-nope.yml", "{{ ansible_system }}.yml"], [nope.yml, default.yml]]"#,
        );
        let templater = Templater::new();
        let known = json!({"ansible_system": "Linux"})
            .as_object()
            .unwrap()
            .clone();
        let got = resolve(
            &p,
            &templater,
            OnUndefined::Fail,
            true,
            vars_for(&known, &templater),
        )
        .unwrap();
        let names: Vec<&str> = got.pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["flavor", "pkg", "kernel", "fallback"]);
        assert!(got.warnings.is_empty());
    }

    #[test]
    fn undefined_names_are_skipped_warned_or_refused_and_missing_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.yml"), "a: 1\n").unwrap();
        let p = play(d, r#"["{{ ansible_system }}.yml", a.yml]"#);
        let templater = Templater::new();
        let known = Map::new();
        let ignore = resolve(
            &p,
            &templater,
            OnUndefined::Ignore,
            false,
            vars_for(&known, &templater),
        )
        .unwrap();
        assert_eq!(ignore.pairs.len(), 1);
        assert!(ignore.warnings.is_empty());
        let warn = resolve(
            &p,
            &templater,
            OnUndefined::Warn,
            true,
            vars_for(&known, &templater),
        )
        .unwrap();
        assert_eq!(warn.pairs.len(), 1);
        assert_eq!(warn.warnings.len(), 1);
        assert!(
            warn.warnings[0].contains("play.yml:3"),
            "{}",
            warn.warnings[0]
        );
        assert!(
            warn.warnings[0].contains("ansible_system"),
            "{}",
            warn.warnings[0]
        );
        let err = resolve(
            &p,
            &templater,
            OnUndefined::Fail,
            true,
            vars_for(&known, &templater),
        )
        .err()
        .unwrap();
        assert!(err.message.contains("ansible_system"), "{}", err.message);

        let p = play(d, r#"["{{ x }}-1.yml"]"#);
        let known = json!({"x": "none"}).as_object().unwrap().clone();
        let err = resolve(
            &p,
            &templater,
            OnUndefined::Fail,
            true,
            vars_for(&known, &templater),
        )
        .err()
        .unwrap();
        assert!(err.message.contains("none-1.yml"), "{}", err.message);
        assert!(err.message.contains("vars/none-1.yml"), "{}", err.message);
        let skipped = resolve(
            &p,
            &templater,
            OnUndefined::Ignore,
            false,
            vars_for(&known, &templater),
        )
        .unwrap();
        assert!(skipped.pairs.is_empty());
    }
}
