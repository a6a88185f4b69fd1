//! Tasks and blocks as loaded: the module is resolved and its arguments
//! checked, so a typo fails before anything runs. Values stay YAML nodes
//! (with origins) until the executor templates them per host.

use std::path::PathBuf;
use std::sync::Arc;

use crate::modules::Module;
use crate::source::Origin;
use crate::yaml::Node;

use super::loops::{LoopControl, LoopWith};

/// Keywords a task, block or play shares; blocks and roles pass them down to
/// their tasks at load time (see [`TaskCommon::inherit`]).
#[derive(Clone, Debug, Default)]
pub struct TaskCommon {
    /// All must hold.
    pub when: Vec<Node>,
    pub tags: Vec<String>,
    pub vars: Vec<(String, Node)>,
    /// Mappings of environment variables; later ones win.
    pub environment: Vec<Node>,
    pub become_: Option<bool>,
    pub become_user: Option<Node>,
    pub ignore_errors: Option<bool>,
    pub ignore_unreachable: Option<bool>,
    pub delegate_to: Option<Node>,
    pub run_once: Option<bool>,
    pub no_log: Option<bool>,
    /// A templated `no_log`, rendered per host when the task runs (`no_log`
    /// is then `Some(true)`: what shows before that is masked).
    pub no_log_template: Option<Node>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub any_errors_fatal: Option<bool>,
    pub timeout: Option<u64>,
    /// A templated `timeout`, rendered and bounded when the task runs.
    pub timeout_template: Option<Node>,
    /// Each enclosing `include_tasks`/`include_role`, outermost first. A task
    /// an include brought in runs on a host only where the include itself
    /// ran: its tags were selected (Ansible's tags on an include apply to the
    /// include only; `import_*` tags are in `tags`) and its `when` held (it is
    /// checked once, for the include, not again per included task).
    pub includes: Vec<IncludeGate>,
}

/// An enclosing include, as its included tasks see it.
#[derive(Clone, Debug, Default)]
pub struct IncludeGate {
    /// The include task's [`Action::Include`] id.
    pub id: u64,
    /// The include's tags (with those it inherited).
    pub tags: Vec<String>,
}

impl TaskCommon {
    /// Take what this item does not set from its parent (block, role, play).
    pub fn inherit(&mut self, parent: &TaskCommon) {
        let mut when = parent.when.clone();
        when.append(&mut self.when);
        self.when = when;
        for t in &parent.tags {
            if !self.tags.contains(t) {
                self.tags.push(t.clone());
            }
        }
        let mut vars = parent.vars.clone();
        vars.append(&mut self.vars);
        self.vars = vars;
        let mut env = parent.environment.clone();
        env.append(&mut self.environment);
        self.environment = env;
        self.become_ = self.become_.or(parent.become_);
        if self.become_user.is_none() {
            self.become_user.clone_from(&parent.become_user);
        }
        self.ignore_errors = self.ignore_errors.or(parent.ignore_errors);
        self.ignore_unreachable = self.ignore_unreachable.or(parent.ignore_unreachable);
        if self.delegate_to.is_none() {
            self.delegate_to.clone_from(&parent.delegate_to);
        }
        self.run_once = self.run_once.or(parent.run_once);
        if self.no_log.is_none() {
            self.no_log_template.clone_from(&parent.no_log_template);
        }
        self.no_log = self.no_log.or(parent.no_log);
        self.check_mode = self.check_mode.or(parent.check_mode);
        self.diff = self.diff.or(parent.diff);
        self.any_errors_fatal = self.any_errors_fatal.or(parent.any_errors_fatal);
        if self.timeout.is_none() && self.timeout_template.is_none() {
            self.timeout = parent.timeout;
            self.timeout_template.clone_from(&parent.timeout_template);
        }
        let mut gates = parent.includes.clone();
        gates.append(&mut self.includes);
        self.includes = gates;
    }
}

/// Where a task's relative files are found.
#[derive(Debug)]
pub struct TaskSource {
    /// The directory of the file the task is written in.
    pub dir: PathBuf,
    /// The role the task belongs to, if any.
    pub role: Option<Arc<RoleInfo>>,
    /// The playbook's directory.
    pub playbook_dir: PathBuf,
}

impl TaskSource {
    /// Base directories for a relative `copy src=` / `template src=`, in
    /// order: the role's, the task file's, the playbook's. The module looks
    /// in its own subdirectory of each first (`ModuleSpec::source_dir`).
    pub fn search_paths(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Some(role) = &self.role {
            paths.push(role.path.clone());
        }
        paths.push(self.dir.clone());
        paths.push(self.playbook_dir.clone());
        paths.dedup();
        paths
    }
}

#[derive(Debug)]
pub struct RoleInfo {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaAction {
    FlushHandlers,
    EndPlay,
    EndHost,
    Noop,
    ClearHostErrors,
}

impl MetaAction {
    pub const NAMES: &'static [&'static str] = &[
        "flush_handlers",
        "end_play",
        "end_host",
        "noop",
        "clear_host_errors",
    ];

    pub fn parse(name: &str) -> Option<MetaAction> {
        Some(match name {
            "flush_handlers" => MetaAction::FlushHandlers,
            "end_play" => MetaAction::EndPlay,
            "end_host" => MetaAction::EndHost,
            "noop" => MetaAction::Noop,
            "clear_host_errors" => MetaAction::ClearHostErrors,
            _ => return None,
        })
    }
}

pub enum Action {
    Module {
        module: &'static dyn Module,
        /// Canonical argument names with their (untemplated) values.
        args: Vec<(String, Node)>,
    },
    Meta(MetaAction),
    /// `include_vars`: load a vars file (or a directory's) for the host at
    /// run time.
    IncludeVars(Box<IncludeVarsArgs>),
    /// The `include_tasks`/`include_role` task itself (its tasks follow it,
    /// loaded before the run): ok on every host, counted in the recap as
    /// Ansible counts the include. `keyword` is the module name, `target`
    /// the file or role.
    Include {
        keyword: &'static str,
        target: String,
        /// Unique per loaded include; its tasks name it in
        /// [`TaskCommon::includes`].
        id: u64,
    },
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Module { module, args } => f
                .debug_struct("Module")
                .field("name", &module.spec().name)
                .field("args", &args.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .finish(),
            Action::Meta(m) => write!(f, "Meta({m:?})"),
            Action::IncludeVars(_) => f.write_str("IncludeVars"),
            Action::Include {
                keyword, target, ..
            } => write!(f, "Include({keyword}: {target})"),
        }
    }
}

/// `include_vars`'s arguments (ansible.builtin.include_vars).
#[derive(Debug)]
pub struct IncludeVarsArgs {
    /// `file` (or the free-form name); templated. Exactly one of `file` and `dir`.
    pub file: Option<Node>,
    /// `dir`: every vars file under it, by sorted name, top directory first.
    pub dir: Option<Node>,
    /// `name`: put the variables under this one variable instead of at the top.
    pub name: Option<Node>,
    /// `dir` only: how many directory levels to read (0: all).
    pub depth: u64,
    /// `dir` only: read only files whose name this Python regex finds.
    pub files_matching: Option<String>,
    /// `dir` only: file names to skip.
    pub ignore_files: Vec<String>,
    /// `dir` only: the file name extensions read [default: yaml, yml, json].
    pub extensions: Vec<String>,
    /// `dir` only: skip other files instead of failing.
    pub ignore_unknown_extensions: bool,
}

impl IncludeVarsArgs {
    /// The templated values, for variable references and checks.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        [&self.file, &self.dir, &self.name].into_iter().flatten()
    }
}

#[derive(Debug)]
pub struct Task {
    pub name: Option<Node>,
    pub action: Action,
    pub common: TaskCommon,
    /// The value of `loop:` or `with_<lookup>:`, as written.
    pub loop_items: Option<Node>,
    /// Which lookup makes the items of `loop_items`.
    pub loop_with: LoopWith,
    pub loop_control: LoopControl,
    pub register: Option<String>,
    pub until: Option<Node>,
    pub retries: Option<Node>,
    pub delay: Option<Node>,
    pub changed_when: Option<Vec<Node>>,
    pub failed_when: Option<Vec<Node>>,
    pub notify: Vec<String>,
    /// Handler topics (`listen`).
    pub listen: Vec<String>,
    pub origin: Origin,
    pub source: Arc<TaskSource>,
}

impl Task {
    pub fn module_name(&self) -> &'static str {
        match &self.action {
            Action::Module { module, .. } => module.spec().name,
            Action::Meta(_) => "meta",
            Action::IncludeVars(_) => "include_vars",
            Action::Include { keyword, .. } => keyword,
        }
    }

    /// The task's own `name:` as written, without its role (None when unnamed).
    pub fn bare_name(&self) -> Option<String> {
        self.name
            .as_ref()
            .map(|n| n.scalar_text().unwrap_or_default())
    }

    /// The role the task comes from, as Ansible names it in `role : task`.
    pub fn role_name(&self) -> Option<&str> {
        self.source.role.as_ref().map(|r| {
            let name = r.name.trim_end_matches('/');
            name.rsplit('/').next().unwrap_or(name)
        })
    }

    /// The name to show: the task's name, or `module: args` as Ansible shows it.
    /// An unnamed `no_log` task (its own or inherited from a block, role or
    /// play) is named by its module alone, as Ansible does: the name goes to
    /// every output channel (headers, recap, JSON, JUnit, `--list-tasks`, the
    /// stop report), so it must not carry the arguments.
    ///
    /// A task from a role is shown as `role : name`, as Ansible shows it
    /// (`TASK [web : restart]`); [`Task::answers_to`] still accepts the bare name.
    pub fn display_name(&self) -> String {
        let own = self.own_display_name();
        match self.role_name() {
            Some(role) => format!("{role} : {own}"),
            None => own,
        }
    }

    /// Whether `name` names this task, as Ansible matches `--start-at-task`
    /// and `notify` (`strategy/__init__.py` `search_handlers_by_notification`):
    /// the bare `name:` or the shown `role : name`.
    pub fn answers_to(&self, name: &str) -> bool {
        self.bare_name().is_some_and(|b| b == name) || self.display_name() == name
    }

    /// The name without the role: `name:`, or `module args`.
    fn own_display_name(&self) -> String {
        if let Some(name) = self.bare_name() {
            return name;
        }
        match &self.action {
            Action::Module { module, .. } if self.common.no_log == Some(true) => {
                module.spec().name.to_string()
            }
            Action::Module { module, args } => {
                let summary = args
                    .iter()
                    .find(|(k, _)| Some(k.as_str()) == module.spec().free_form)
                    .and_then(|(_, v)| v.as_str())
                    .map(|s| {
                        // A multi-line script shows as one line.
                        let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
                        format!(" {}", flat.chars().take(50).collect::<String>())
                    })
                    .unwrap_or_default();
                format!("{}{summary}", module.spec().name)
            }
            Action::Meta(m) => format!("meta: {m:?}"),
            Action::IncludeVars(_) => "include_vars".into(),
            Action::Include {
                keyword, target, ..
            } => format!("{keyword}: {target}"),
        }
    }
}

#[derive(Debug)]
pub struct Block {
    pub name: Option<String>,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    pub origin: Origin,
    /// The tasks of a looped `include_tasks` (the include's
    /// [`Action::Include`] id): run once per item the include ran for on
    /// each host, with that item's loop variables (Ansible's included file
    /// per item).
    pub include_loop: Option<u64>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

impl Item {
    /// Every task inside, depth first (for --list-tasks and --start-at-task).
    pub fn tasks(&self) -> Vec<Arc<Task>> {
        match self {
            Item::Task(t) => vec![Arc::clone(t)],
            Item::Block(b) => b
                .block
                .iter()
                .chain(&b.rescue)
                .chain(&b.always)
                .flat_map(Item::tasks)
                .collect(),
        }
    }
}
