//! Roles: `tasks/`, `handlers/`, `templates/`, `files/`, `defaults/`, `vars/`
//! and `meta/main.yml` dependencies.
//!
//! This finds and reads a role; it does not parse its task files. The task
//! parser expands a role into tasks (`task_parser::role_task_items`), so the
//! dependency runs one way: task_parser -> role.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::bounds::MAX_TASK_NESTING;
use crate::error::InputError;
use crate::source::Origin;
use crate::yaml::Node;

use super::ansible_cfg::{self, RolesPath};
use super::expansion::Expansion;
use super::fields::{self, expect_map, expect_seq, key_text, string, var_pairs};
use super::keywords::apply_common;
use super::task::{RoleInfo, TaskCommon};

pub struct LoadedRole {
    pub info: Arc<RoleInfo>,
    pub defaults: Vec<(String, Node)>,
    pub vars: Vec<(String, Node)>,
    pub(super) tasks_file: Option<PathBuf>,
    pub(super) handlers_file: Option<PathBuf>,
    /// `meta/main.yml` `dependencies:` entries, unparsed (see [`role_entry_common`]).
    pub(super) dependencies: Vec<Node>,
    pub(super) playbook_dir: PathBuf,
    /// `meta/main.yml` `allow_duplicates`: run again when named again with
    /// the same parameters.
    pub(super) allow_duplicates: bool,
}

/// A role as it is named: name, `tasks_from` and the playbook's directory.
type RoleKey = (String, Option<String>, PathBuf);

/// Finds and loads roles; remembers every role a play loaded so the play can
/// put their defaults and vars at the right precedence.
pub struct RoleLoader {
    search: Vec<PathBuf>,
    /// Where the configured part of `search` came from, for messages.
    roles_path: RolesPath,
    loaded: RefCell<Vec<Arc<LoadedRole>>>,
    /// Roles being expanded (name, directory, task file), outermost first:
    /// a role (with the same `tasks_from`) met
    /// again while it is on this chain is a cycle (through `dependencies`,
    /// `include_role` or `import_role`).
    chain: RefCell<Vec<(String, PathBuf, Option<PathBuf>)>>,
    /// What is being expanded, outermost first: blocks, task files and
    /// roles, counted together against [`MAX_TASK_NESTING`]. Kept here
    /// because the loader is shared by everything a play expands (a role's
    /// task files start a fresh include stack, this chain goes on). Each
    /// level keeps the entry that opened it (an include, import or role
    /// entry; none for a role's own task file), to name the chain.
    nesting: RefCell<Vec<(Nest, Option<Origin>)>>,
    /// The count of tasks against [`crate::bounds::MAX_TASKS`] and the
    /// parsed task files, shared with the loaders of imported playbooks.
    expansion: Rc<Expansion>,
    /// Roles found and read, by name, `tasks_from` and playbook directory:
    /// a role named from many places (a diamond of `dependencies`) is
    /// searched for and read once.
    found: RefCell<HashMap<RoleKey, Arc<LoadedRole>>>,
    /// The roles this play already expanded, by [`role_key`]: Ansible runs a
    /// role once per play unless its parameters differ or it allows
    /// duplicates (`playbook/role/__init__.py` `_get_hash_dict`, and
    /// `PlayIterator` skipping a completed role).
    expanded: RefCell<Vec<String>>,
}

/// One level of task nesting.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Nest {
    Block,
    File(PathBuf),
    Role(String),
}

/// A level of task nesting, left when dropped.
pub(super) struct Nested<'a>(&'a RefCell<Vec<(Nest, Option<Origin>)>>);

impl Drop for Nested<'_> {
    fn drop(&mut self) {
        self.0.borrow_mut().pop();
    }
}

/// The chain as a reader follows it: files and roles by name, runs of
/// blocks counted; the middle of a long chain left out.
fn describe_nesting(chain: &[Nest]) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    let mut blocks = 0;
    let flush = |blocks: &mut usize, parts: &mut Vec<String>| {
        match *blocks {
            0 => {}
            1 => parts.push("a block".to_string()),
            n => parts.push(format!("{n} nested blocks")),
        }
        *blocks = 0;
    };
    for nest in chain {
        match nest {
            Nest::Block => blocks += 1,
            Nest::File(p) => {
                flush(&mut blocks, &mut parts);
                parts.push(p.strip_prefix(&cwd).unwrap_or(p).display().to_string());
            }
            Nest::Role(name) => {
                flush(&mut blocks, &mut parts);
                parts.push(format!("role `{name}`"));
            }
        }
    }
    flush(&mut blocks, &mut parts);
    if parts.len() > 10 {
        let left_out = parts.len() - 8;
        let tail = parts.split_off(parts.len() - 4);
        parts.truncate(4);
        parts.push(format!("({left_out} more)"));
        parts.extend(tail);
    }
    parts.join(" -> ")
}

fn main_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    main_candidates(dir, stem).into_iter().find(|p| p.is_file())
}

fn main_candidates(dir: &Path, stem: &str) -> Vec<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .chain(std::iter::once(dir.join(stem)))
        .collect()
}

/// [`main_file`], refusing a candidate that is there but no readable file
/// (`tasks/main.yml` a directory, `vars/main/` a directory of files Ansible
/// would load and baton does not, a dangling link): skipping it would run
/// the role without its tasks or variables and say nothing.
fn main_file_checked(
    dir: &Path,
    stem: &str,
    role: &str,
    at: &Node,
) -> Result<Option<PathBuf>, InputError> {
    if let Some(found) = main_file(dir, stem) {
        return Ok(Some(found));
    }
    match crate::source::first_unreadable(&main_candidates(dir, stem)) {
        Some(why) => Err(
            InputError::at(&at.origin, format!("role `{role}`: {why}"), "this role")
                .with_help("give the role a YAML file there (a directory of files is not read)"),
        ),
        None => Ok(None),
    }
}

impl RoleLoader {
    /// Roles are searched as Ansible searches them
    /// (`playbook/role/definition.py` `_load_role_path`): `roles/` beside the
    /// playbook, then `BATON_ROLES_PATH`, then the configured roles path
    /// (`ANSIBLE_ROLES_PATH`, else `roles_path` of the `ansible.cfg` Ansible
    /// would read, else its default; see [`super::ansible_cfg`]), then the
    /// playbook's directory itself. Then, as baton always did, `roles/`
    /// beside the playbook's directory (playbooks/ and roles/ side by side)
    /// and `./roles`.
    ///
    /// `expansion` counts the tasks read (shared by a playbook and those it
    /// imports) and holds the task files parsed so far.
    ///
    /// Errors: an `ansible.cfg` that cannot be read as INI.
    pub fn new(playbook_dir: &Path, expansion: Rc<Expansion>) -> Result<RoleLoader, InputError> {
        let roles_path = ansible_cfg::roles_path(&ansible_cfg::Environment::current())?;
        let mut search = vec![playbook_dir.join("roles")];
        if let Ok(paths) = std::env::var("BATON_ROLES_PATH") {
            search.extend(std::env::split_paths(&paths));
        }
        search.extend(roles_path.dirs.iter().cloned());
        search.push(playbook_dir.to_path_buf());
        if let Some(parent) = playbook_dir.parent() {
            search.push(parent.join("roles"));
        }
        search.push(PathBuf::from("roles"));
        let mut seen = std::collections::HashSet::new();
        search.retain(|p| seen.insert(p.clone()));
        Ok(RoleLoader {
            search,
            roles_path,
            loaded: RefCell::new(Vec::new()),
            chain: RefCell::new(Vec::new()),
            nesting: RefCell::new(Vec::new()),
            expanded: RefCell::new(Vec::new()),
            expansion,
            found: RefCell::new(HashMap::new()),
        })
    }

    /// Go one level deeper (into a block, a task file or a role), refused
    /// past [`MAX_TASK_NESTING`] with the chain named, at `at` (the entry
    /// that goes too deep). The level is left when the guard drops.
    pub(super) fn nest(&self, level: Nest, at: Option<&Node>) -> Result<Nested<'_>, InputError> {
        let mut chain = self.nesting.borrow_mut();
        if chain.len() >= MAX_TASK_NESTING {
            let mut shown: Vec<Nest> = chain.iter().map(|(n, _)| n.clone()).collect();
            shown.push(level);
            let msg = format!(
                "tasks nest more than {MAX_TASK_NESTING} levels deep (blocks, task files and roles inside each other), the most baton allows: {}",
                describe_nesting(&shown)
            );
            let help = "flatten the chain: import the files one after another instead of each from the last";
            return Err(match at {
                Some(n) => InputError::at(&n.origin, msg, "one level too deep"),
                None => InputError::plain(msg),
            }
            .with_help(help));
        }
        chain.push((level, at.map(|n| n.origin.clone())));
        Ok(Nested(&self.nesting))
    }

    /// Count one more task, block, include, role or play (`node`, its
    /// entry) against [`crate::bounds::MAX_TASKS`]. Past it, the error is at
    /// the innermost include, import or role entry being expanded (at `node`
    /// when there is none) and names the chain of entries that led there.
    pub(super) fn charge(&self, node: &Node) -> Result<(), InputError> {
        if self.expansion.charge() {
            return Ok(());
        }
        let limit = self.expansion.limit();
        let chain = self.nesting.borrow();
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut steps: Vec<String> = chain
            .iter()
            .filter_map(|(nest, at)| {
                let at = at.as_ref()?.describe();
                match nest {
                    Nest::Block => None,
                    Nest::File(p) => Some(format!(
                        "{at} includes {}",
                        p.strip_prefix(&cwd).unwrap_or(p).display()
                    )),
                    Nest::Role(name) => Some(format!("{at} names role `{name}`")),
                }
            })
            .collect();
        if steps.len() > 10 {
            let left_out = steps.len() - 8;
            let tail = steps.split_off(steps.len() - 4);
            steps.truncate(4);
            steps.push(format!("({left_out} more)"));
            steps.extend(tail);
        }
        let innermost = chain
            .iter()
            .rev()
            .filter(|(nest, _)| !matches!(nest, Nest::Block))
            .find_map(|(_, at)| at.as_ref());
        let mut msg = format!(
            "this playbook expands to more than {limit} tasks (tasks, blocks, includes, roles and plays counted together), the most baton allows"
        );
        if !steps.is_empty() {
            msg.push_str(&format!(
                "; the chain that passed it: {}",
                steps.join(" -> ")
            ));
        }
        let (origin, label) = match innermost {
            Some(origin) => (origin, "expanding this passed the bound"),
            None => (&node.origin, "this one passed the bound"),
        };
        Err(InputError::at(origin, msg, label).with_help(format!(
            "a task file or role named from several places is expanded once for each: look for a file or role that includes the next one more than once (the count doubles at each level); split a long playbook into runs, or raise the bound with {}=N",
            crate::bounds::TASKS_VAR
        )))
    }

    /// Whether `path` is a regular file (see [`Expansion::is_file`]).
    pub(super) fn is_file(&self, path: &Path) -> bool {
        self.expansion.is_file(path)
    }

    /// The YAML of a task file, parsed once per load (see [`Expansion`]).
    pub(super) fn parse_file(&self, path: &Path) -> Result<Rc<Node>, InputError> {
        self.expansion.parse_file(path)
    }

    /// The count and the parsed files, to share with an imported playbook.
    pub fn expansion(&self) -> Rc<Expansion> {
        Rc::clone(&self.expansion)
    }

    /// Start expanding `role`; refused when it is already being expanded,
    /// naming the cycle (`r1 -> r2 -> r1`) at `at`, the entry that closes it.
    /// Every successful `enter` is followed by one [`RoleLoader::leave`].
    pub(super) fn enter(&self, role: &LoadedRole, at: &Node) -> Result<(), InputError> {
        let mut chain = self.chain.borrow_mut();
        if let Some(start) = chain
            .iter()
            .position(|(_, p, t)| *p == role.info.path && *t == role.tasks_file)
        {
            let cycle: Vec<&str> = chain[start..]
                .iter()
                .map(|(n, _, _)| n.as_str())
                .chain(std::iter::once(role.info.name.as_str()))
                .collect();
            return Err(InputError::at(
                &at.origin,
                format!(
                    "role `{}` depends on or includes itself: {}",
                    role.info.name,
                    cycle.join(" -> ")
                ),
                "this entry closes the cycle",
            )
            .with_help("remove one of the dependencies or includes of the cycle"));
        }
        chain.push((
            role.info.name.clone(),
            role.info.path.clone(),
            role.tasks_file.clone(),
        ));
        Ok(())
    }

    pub(super) fn leave(&self) {
        self.chain.borrow_mut().pop();
    }

    /// Forget the roles expanded so far: a new play starts.
    pub fn start_play(&self) {
        self.expanded.borrow_mut().clear();
    }

    /// Whether `role`, named by an entry with its own keywords and
    /// parameters `own` (before inheriting its parent's), is to be expanded:
    /// `None` when the play already expanded it with the same name, path,
    /// task file, parameters, `vars`, `when` and `tags` (Ansible's role
    /// identity), unless its `meta/main.yml` sets `allow_duplicates: true`.
    /// Otherwise the key to pass to [`RoleLoader::expanded`] once the role's
    /// tasks are read (not before, so a role reached again through its own
    /// dependencies is still refused as a cycle).
    pub(super) fn to_expand(&self, role: &LoadedRole, own: &TaskCommon) -> Option<String> {
        if role.allow_duplicates {
            return Some(String::new());
        }
        let key = role_key(role, own);
        (!self.expanded.borrow().contains(&key)).then_some(key)
    }

    /// Remember a role expanded in this play (a key from [`RoleLoader::to_expand`]).
    pub(super) fn expanded(&self, key: String) {
        if !key.is_empty() {
            self.expanded.borrow_mut().push(key);
        }
    }

    /// Roles loaded since the last call, in load order.
    pub fn take_loaded(&self) -> Vec<Arc<LoadedRole>> {
        std::mem::take(&mut *self.loaded.borrow_mut())
    }

    /// `tasks_from` is the file's name and the value that gave it (errors
    /// about that file point there, not at the role's name).
    pub fn load(
        &self,
        name: &str,
        at: &Node,
        tasks_from: Option<(&str, &Node)>,
        playbook_dir: &Path,
    ) -> Result<Arc<LoadedRole>, InputError> {
        let key = (
            name.to_string(),
            tasks_from.map(|(file, _)| file.to_string()),
            playbook_dir.to_path_buf(),
        );
        if let Some(role) = self.found.borrow().get(&key) {
            self.loaded.borrow_mut().push(Arc::clone(role));
            return Ok(Arc::clone(role));
        }
        let role = self.find_and_read(name, at, tasks_from, playbook_dir)?;
        self.found.borrow_mut().insert(key, Arc::clone(&role));
        self.loaded.borrow_mut().push(Arc::clone(&role));
        Ok(role)
    }

    fn find_and_read(
        &self,
        name: &str,
        at: &Node,
        tasks_from: Option<(&str, &Node)>,
        playbook_dir: &Path,
    ) -> Result<Arc<LoadedRole>, InputError> {
        // A name with a `/` is a path: the search directories first, then
        // the playbook's directory and the name as it is (Ansible: relative
        // to the current directory).
        let mut tried: Vec<PathBuf> = self.search.iter().map(|d| d.join(name)).collect();
        if name.contains('/') {
            tried.push(playbook_dir.join(name));
            tried.push(PathBuf::from(name));
        }
        let Some(path) = tried.iter().find(|p| p.is_dir()).cloned() else {
            let looked: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            return Err(InputError::at(
                &at.origin,
                format!("role `{name}` not found"),
                "this role",
            )
            .with_help(format!(
                "looked in: {} (the configured part from {}); set roles_path in ansible.cfg or ANSIBLE_ROLES_PATH",
                looked.join(", "),
                self.roles_path.source
            )));
        };
        let load_vars = |dir: &str| -> Result<Vec<(String, Node)>, InputError> {
            match main_file_checked(&path.join(dir), "main", name, at)? {
                Some(f) => var_pairs(&*self.parse_file(&f)?, &format!("{}/{dir}/main.yml", name)),
                None => Ok(Vec::new()),
            }
        };
        let tasks_file = match tasks_from {
            Some((file, from)) => {
                let stem = file.trim_end_matches(".yml").trim_end_matches(".yaml");
                Some(
                    main_file_checked(&path.join("tasks"), stem, name, from)?.ok_or_else(|| {
                        InputError::at(
                            &from.origin,
                            format!("role `{name}` has no tasks/{file}"),
                            "tasks_from",
                        )
                    })?,
                )
            }
            None => main_file_checked(&path.join("tasks"), "main", name, at)?,
        };
        let meta = main_file_checked(&path.join("meta"), "main", name, at)?
            .map(|f| self.parse_file(&f))
            .transpose()?;
        let dependencies = match meta.as_ref().and_then(|m| m.get("dependencies")) {
            Some(d) if !d.is_null() => expect_seq(d, "`dependencies`")?.to_vec(),
            _ => Vec::new(),
        };
        let allow_duplicates = match meta.as_ref().and_then(|m| m.get("allow_duplicates")) {
            Some(n) if !n.is_null() => fields::boolean(n, "allow_duplicates")?,
            _ => false,
        };
        let role = Arc::new(LoadedRole {
            info: Arc::new(RoleInfo {
                name: name.to_string(),
                path: path.clone(),
            }),
            defaults: load_vars("defaults")?,
            vars: load_vars("vars")?,
            handlers_file: main_file_checked(&path.join("handlers"), "main", name, at)?,
            tasks_file,
            dependencies,
            playbook_dir: playbook_dir.to_path_buf(),
            allow_duplicates,
        });
        Ok(role)
    }
}

/// A role's identity in a play (see [`RoleLoader::first_time`]).
fn role_key(role: &LoadedRole, own: &TaskCommon) -> String {
    let when: Vec<_> = own.when.iter().map(Node::to_json).collect();
    // Parameters compare as a mapping (Ansible's dict equality): by key.
    let mut vars: Vec<_> = own.vars.iter().map(|(k, v)| (k, v.to_json())).collect();
    vars.sort_by(|a, b| a.0.cmp(b.0));
    serde_json::json!({
        "name": role.info.name,
        "path": role.info.path,
        "tasks_from": role.tasks_file,
        "when": when,
        "tags": own.tags,
        "vars": vars,
    })
    .to_string()
}

/// Parse role entries in a play: `- name` or `- role: name` with keywords and params.
pub fn role_entry_common(entry: &Node) -> Result<(String, Node, TaskCommon), InputError> {
    if let Some(name) = entry.as_str() {
        return Ok((name.to_string(), entry.clone(), TaskCommon::default()));
    }
    let map = expect_map(entry, "a role entry")?;
    let mut common = TaskCommon::default();
    let mut name = None;
    let mut params = Vec::new();
    for (k, v) in map {
        let key = key_text(k)?;
        match key.as_str() {
            "role" | "name" => name = Some((string(v, "role")?, v.clone())),
            _ if apply_common(&mut common, &key, v)? => {}
            _ => {
                fields::check_var_name(&key, k)?;
                params.push((key, v.clone()));
            }
        }
    }
    // Role parameters are variables too: their literal connection values
    // are refused at their line, as in `vars:`.
    fields::check_connection_pairs(&params)?;
    common.vars.extend(params);
    let (name, node) = name
        .ok_or_else(|| InputError::at(&entry.origin, "a role entry needs `role: NAME`", "here"))?;
    Ok((name, node, common))
}
