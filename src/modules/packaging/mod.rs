//! Software: OS packages (`apt`, `dnf`, and `package`, which picks one of
//! them from the `ansible_pkg_mgr` fact) and Python packages (`pip`).
//!
//! The OS package modules share one decision ([`decide`]): each reads what
//! is installed (and what the repositories offer) first, then the
//! controller works out the one install or remove command that is needed.

pub mod apt;
pub mod dnf;
pub mod package;
pub mod pip;

use serde_json::json;

use crate::modules::{FileDiff, TaskResult};

/// The `state` of an OS package task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkgState {
    Present,
    Absent,
    Latest,
}

impl PkgState {
    /// Ansible's spellings: `present`/`installed`, `absent`/`removed`, `latest`.
    pub fn parse(s: Option<&str>) -> PkgState {
        match s {
            Some("absent" | "removed") => PkgState::Absent,
            Some("latest") => PkgState::Latest,
            _ => PkgState::Present,
        }
    }
}

/// One requested package as the host knows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// As given (`nginx`, `nginx=1.24*`): what is passed to the installer.
    pub spec: String,
    pub name: String,
    /// The version asked for (`=` in apt), a trailing `*` matching any rest.
    pub pin: Option<String>,
    /// The installed version, `None` when not installed.
    pub installed: Option<String>,
    /// The version the repositories would install, `None` when none does.
    pub candidate: Option<String>,
}

/// What to run: packages to install and to remove, each by its spec/name.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Todo {
    pub install: Vec<String>,
    pub remove: Vec<String>,
    /// "name: before -> after" lines for `--diff` and `-v`.
    pub lines: Vec<(String, String, String)>,
}

fn pin_matches(pin: &str, version: &str) -> bool {
    match pin.strip_suffix('*') {
        Some(prefix) => version.starts_with(prefix),
        None => version == pin,
    }
}

/// Ansible's `changed` rules for a package list: `present` installs what is
/// missing (or installed at another version than pinned), `latest` also
/// upgrades what the repositories have newer, `absent` removes what is
/// installed. A package to install that no repository offers fails with
/// Ansible's message.
pub(crate) fn decide(state: PkgState, found: &[Found]) -> Result<Todo, String> {
    let mut todo = Todo::default();
    for f in found {
        let installed = f.installed.as_deref();
        let shown = |v: Option<&str>| v.map_or("not installed".to_string(), str::to_string);
        match state {
            PkgState::Absent => {
                if installed.is_some() {
                    todo.remove.push(f.name.clone());
                    todo.lines
                        .push((f.name.clone(), shown(installed), "not installed".into()));
                }
            }
            PkgState::Present | PkgState::Latest => {
                let pin_ok = match (&f.pin, installed) {
                    (Some(pin), Some(v)) => pin_matches(pin, v),
                    _ => true,
                };
                let newer = state == PkgState::Latest
                    && installed.is_some()
                    && f.candidate.is_some()
                    && f.candidate.as_deref() != installed;
                if installed.is_none() || !pin_ok || newer {
                    let Some(candidate) = &f.candidate else {
                        return Err(format!("No package matching '{}' is available", f.spec));
                    };
                    let target = f.pin.clone().unwrap_or_else(|| candidate.clone());
                    todo.install.push(f.spec.clone());
                    todo.lines.push((f.name.clone(), shown(installed), target));
                }
            }
        }
    }
    Ok(todo)
}

impl Todo {
    pub fn is_empty(&self) -> bool {
        self.install.is_empty() && self.remove.is_empty()
    }

    /// The change as a diff of "name: version" lines.
    pub fn diff(&self) -> FileDiff {
        let mut before = String::new();
        let mut after = String::new();
        for (name, b, a) in &self.lines {
            before.push_str(&format!("{name}: {b}\n"));
            after.push_str(&format!("{name}: {a}\n"));
        }
        FileDiff {
            path: "packages".into(),
            before,
            after,
        }
    }

    /// A changed result saying what would change / changed.
    pub fn result(&self, diff: bool) -> TaskResult {
        let mut r = TaskResult::changed();
        let summary: Vec<String> = self
            .lines
            .iter()
            .map(|(n, b, a)| format!("{n} ({b} -> {a})"))
            .collect();
        r.msg = Some(summary.join(", "));
        if diff {
            r.diff.push(self.diff());
        }
        r.data.insert("installed".into(), json!(self.install));
        r.data.insert("removed".into(), json!(self.remove));
        r
    }
}

/// Package names must be one word that cannot be read as an option.
pub(crate) fn check_names(names: &[String]) -> Result<(), String> {
    for n in names {
        if n.is_empty() || n.starts_with('-') || n.contains(char::is_whitespace) {
            return Err(format!("argument `name`: {n:?} is not a package name"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(spec: &str, installed: Option<&str>, candidate: Option<&str>) -> Found {
        let (name, pin) = match spec.split_once('=') {
            Some((n, p)) => (n.to_string(), Some(p.to_string())),
            None => (spec.to_string(), None),
        };
        Found {
            spec: spec.into(),
            name,
            pin,
            installed: installed.map(Into::into),
            candidate: candidate.map(Into::into),
        }
    }

    #[test]
    fn ansibles_changed_rules() {
        let list = [f("a", Some("1"), Some("2")), f("b", None, Some("3"))];
        let t = decide(PkgState::Present, &list).unwrap();
        assert_eq!((t.install, t.remove), (vec!["b".to_string()], vec![]));
        let t = decide(PkgState::Latest, &list).unwrap();
        assert_eq!(t.install, vec!["a", "b"]);
        let t = decide(PkgState::Absent, &list).unwrap();
        assert_eq!((t.install.len(), t.remove), (0, vec!["a".to_string()]));
        assert!(decide(PkgState::Latest, &[f("a", Some("2"), Some("2"))])
            .unwrap()
            .is_empty());
        // Installed but not in any repository: present and latest are met.
        assert!(decide(PkgState::Latest, &[f("a", Some("2"), None)])
            .unwrap()
            .is_empty());
        assert_eq!(
            decide(PkgState::Present, &[f("x", None, None)]).unwrap_err(),
            "No package matching 'x' is available"
        );
        let pinned = [f("a=1.2*", Some("1.2.5"), Some("1.3"))];
        assert!(decide(PkgState::Present, &pinned).unwrap().is_empty());
        let pinned = [f("a=1.3", Some("1.2.5"), Some("1.3"))];
        let t = decide(PkgState::Present, &pinned).unwrap();
        assert_eq!(t.install, vec!["a=1.3"]);
        assert_eq!(t.diff().after, "a: 1.3\n");
        assert_eq!(t.diff().before, "a: 1.2.5\n");
    }
}
