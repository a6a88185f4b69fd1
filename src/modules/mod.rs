//! Modules: small, pure units. A module turns its (already templated)
//! arguments into a [`Step`]: a shell script plus a function that reads that
//! script's answer into a [`TaskResult`] (ok, changed, failed), or the next
//! script. Most modules check and apply in ONE round trip (command, file,
//! stat, service, wait_for, copy up to 64 KiB); lineinfile, blockinfile and
//! cron read the file, edit it on the controller and write it back (two trips
//! when something changes); copy and template above 64 KiB send the content
//! in a second trip when the hashes differ; assert, fail, debug, set_fact and
//! pause run on the controller (none). Each module's doc comment says which.
//!
//! Modules never touch the network themselves; the executor sends the script
//! over the host's connection. Controller-side work (reading a `src` file,
//! rendering a template, evaluating an `assert`) happens in `prepare`.
//!
//! Layout: `kit/` holds what modules are built from (argument reading, the
//! answer protocol, file attributes, atomic writes, controller-side edits, the
//! result type); each module is one file in its domain folder (`files/`,
//! `commands/`, `system/`, `packaging/`, `control/`) and one line in [`all`].

mod kit;

pub mod commands;
pub mod control;
pub mod files;
pub mod net;
pub mod packaging;
pub mod software;
pub mod system;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

pub use kit::result::{
    lines_over_limit, FileDiff, Status, TaskResult, LINE_SLOT_BYTES, MAX_LINES_BYTES,
};

use crate::transport::ExecOutput;

/// Rendered task arguments.
pub type Args = Map<String, Value>;

/// One argument a module accepts.
#[derive(Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub required: bool,
    pub aliases: &'static [&'static str],
    /// Allowed literal values (empty: anything).
    pub choices: &'static [&'static str],
}

impl ArgSpec {
    pub const fn optional(name: &'static str) -> ArgSpec {
        ArgSpec {
            name,
            required: false,
            aliases: &[],
            choices: &[],
        }
    }
    pub const fn required(name: &'static str) -> ArgSpec {
        ArgSpec {
            name,
            required: true,
            aliases: &[],
            choices: &[],
        }
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> ArgSpec {
        self.aliases = aliases;
        self
    }
    pub const fn choices(mut self, choices: &'static [&'static str]) -> ArgSpec {
        self.choices = choices;
        self
    }
}

/// What a module accepts; checked at load time, before anything runs.
#[derive(Debug)]
pub struct ModuleSpec {
    pub name: &'static str,
    pub args: &'static [ArgSpec],
    /// `command: ls -l` style free-form text goes into this argument.
    pub free_form: Option<&'static str>,
    /// Groups of arguments of which exactly one must be given (e.g. copy: content | src).
    pub one_of: &'static [&'static [&'static str]],
    /// Arguments the executor must NOT template: they are expressions the
    /// module evaluates itself (assert `that`, debug `var`).
    pub raw_args: &'static [&'static str],
    /// Any argument name is accepted (set_fact).
    pub any_args: bool,
    /// Under `--check` the module does not run at all (it cannot predict its
    /// effect: command, shell, raw) unless `creates`/`removes` decide; the
    /// report says so instead of printing a bare "skipped".
    pub skips_in_check_mode: bool,
    /// Where a relative `src` is looked up: this subdirectory (`files`,
    /// `templates`) of each search path first, then the search path itself,
    /// as Ansible does. `None`: the module reads no controller-side files.
    pub source_dir: Option<&'static str>,
}

impl ModuleSpec {
    /// Canonical name of an argument or alias.
    pub fn canonical_arg(&self, name: &str) -> Option<&'static str> {
        self.args
            .iter()
            .find(|a| a.name == name || a.aliases.contains(&name))
            .map(|a| a.name)
    }
}

/// Controller-side services a module may need while preparing.
pub trait Evaluator: Sync {
    /// Render template text (a `template` module source) with the host's vars:
    /// handlebars when `name` ends in `.hbs`, Jinja2 otherwise. `name` names
    /// the source in errors.
    fn render(&self, name: &str, text: &str) -> Result<String, String>;
    /// Evaluate a condition (a bare Jinja2 expression) to a boolean.
    fn condition(&self, expr: &str) -> Result<bool, String>;
    /// Look up a variable by dotted path (debug `var`), `Ok(None)` when
    /// undefined. Errors: the variable cannot be rendered (a cycle, an
    /// undefined variable in its template), in one line.
    fn lookup(&self, path: &str) -> Result<Option<Value>, String>;
}

/// What a module knows about the task it is preparing.
pub struct TaskContext<'a> {
    pub host: &'a str,
    pub check_mode: bool,
    pub diff: bool,
    /// A per-task random token; marker lines in a script's answer carry it so
    /// they cannot be confused with a command's own output.
    pub nonce: &'a str,
    /// Base directories for a relative `src`, in order: the role's
    /// directory, the task file's directory, the playbook's directory. The
    /// module looks in its [`ModuleSpec::source_dir`] of each first. Empty
    /// for modules without a `source_dir`.
    pub search_paths: &'a [PathBuf],
    pub eval: &'a dyn Evaluator,
}

/// Reads a script's answer. Usually `Step::Done(result)`; a module that needs
/// a second round trip (e.g. send a large file only after its hash differed)
/// returns another `Step::Remote`.
pub type Interpret = Box<dyn FnOnce(&ExecOutput) -> Step + Send>;

/// What the executor does for a task.
pub enum Step {
    /// Nothing to send: the result is known on the controller.
    Done(TaskResult),
    /// Send this script, then read its answer.
    Remote {
        script: String,
        interpret: Interpret,
    },
    /// Wait on the controller (pause), then report the result.
    Sleep(Duration, TaskResult),
    /// Wait on the controller, then go on with the step (a back-off before
    /// a retry). A stop request ends the wait early.
    Wait(Duration, Box<Step>),
    /// Run the step to its end holding the run's lock named by the string
    /// (a file's path) for the machine the script runs on: the hosts of one
    /// run that edit one file there (every host on the `local` connection,
    /// `delegate_to` one host) take turns instead of colliding and retrying.
    Exclusive(String, Box<Step>),
    /// Cross a deliberate loss of the connection (`reboot`): see [`Reconnect`].
    Reconnect(Box<Reconnect>),
    /// Go on with `next`, unless a stop request (Ctrl-C, SIGTERM...) came:
    /// then the task ends with `stopped`'s result, given the stop's cause.
    /// A long wait made of short rounds (`wait_for`) is cut this way, as
    /// [`Step::Sleep`] and [`Step::Wait`] are.
    UnlessStopped { next: Box<Step>, stopped: Stopped },
}

/// The result of a task cut by a stop request, given its cause (e.g.
/// "stopped by SIGTERM"); see [`Step::UnlessStopped`].
pub type Stopped = Box<dyn FnOnce(&str) -> TaskResult + Send>;

/// A step across a deliberate loss of the connection, for `reboot`.
///
/// Reconnecting is the executor's job, so the module only describes it: the
/// executor sends `trigger` (the connection may drop while it runs: that is
/// the reboot starting, not an unreachable host) and hands its answer
/// (`None` when the connection dropped) to `triggered`, which stops the task
/// with a result (the command failed) or lets it go on (`None`). The executor then
/// closes and forgets the host's connection, waits `delay`, and every
/// `interval` until `timeout` has passed since the trigger opens a fresh
/// connection and sends `probe`; `back` reads each answer with the time
/// since the trigger and returns the next step once the host is back, or why
/// it is not yet. Connection errors are retried the same way; at the
/// timeout the task fails with `action`, the timeout and the last reason.
/// A `local` connection is refused before anything runs: the trigger would
/// reboot the controller (Ansible's `reboot` refuses it the same way).
pub struct Reconnect {
    /// The module's name, for messages.
    pub action: &'static str,
    pub trigger: String,
    pub triggered: Triggered,
    pub delay: Duration,
    pub interval: Duration,
    pub timeout: Duration,
    pub probe: String,
    pub back: Back,
}

/// Reads a [`Reconnect`] trigger's answer (`None`: the connection dropped);
/// `Some(result)` stops the task with it (the reboot command failed).
pub type Triggered = Box<dyn FnOnce(Option<&ExecOutput>) -> Option<TaskResult> + Send>;

/// Reads a [`Reconnect`] probe's answer with the time since the trigger:
/// the next step once the host is back, or why it is not yet.
pub type Back = Box<dyn FnMut(&ExecOutput, Duration) -> Result<Step, String> + Send>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ModuleError {
    /// Arguments that cannot work together or a bad value; names the argument.
    #[error("{0}")]
    Args(String),
    /// A controller-side problem (a missing `src` file, a template error).
    #[error("{0}")]
    Controller(String),
}

pub trait Module: Send + Sync {
    fn spec(&self) -> &'static ModuleSpec;
    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError>;
}

/// Every module, by canonical name.
pub fn all() -> &'static [&'static dyn Module] {
    &[
        &commands::command::Command,
        &commands::shell::Shell,
        &commands::raw::Raw,
        &files::copy::Copy,
        &files::template::Template,
        &files::file::File,
        &files::lineinfile::LineInFile,
        &files::blockinfile::BlockInFile,
        &system::cron::Cron,
        &control::wait_for::WaitFor,
        &files::stat::Stat,
        &control::ping::Ping,
        &control::assert::Assert,
        &control::fail::Fail,
        &control::debug::Debug,
        &control::set_fact::SetFact,
        &system::setup::Setup,
        &control::pause::Pause,
        &system::service::Service,
        &system::service::Systemd,
        &files::replace::Replace,
        &files::slurp::Slurp,
        &files::fetch::Fetch,
        &system::sysctl::Sysctl,
        &system::authorized_key::AuthorizedKey,
        &system::known_hosts::KnownHosts,
        &system::hostname::Hostname,
        &system::mount::Mount,
        &system::reboot::Reboot,
        &software::unarchive::Unarchive,
        &net::get_url::GetUrl,
        &net::uri::Uri,
        &software::git::Git,
        &system::user::User,
        &system::group::Group,
        &packaging::package::Package,
        &packaging::apt::Apt,
        &packaging::dnf::Dnf,
        &packaging::pip::Pip,
    ]
}

/// Modules of the `ansible.posix` collection (which took them over from
/// `ansible.builtin`) that baton also accepts under that collection's name:
/// `ansible.posix.sysctl` is `sysctl`. Any other `ansible.posix.` name is an
/// unknown module.
const POSIX_MODULES: &[&str] = &["sysctl", "authorized_key", "mount"];

/// The canonical (short) name of a module or task keyword: `name` without an
/// `ansible.builtin.` or `ansible.legacy.` prefix. Every stage that compares
/// module or action names (load, report) goes through this one function.
pub fn canonical_name(name: &str) -> &str {
    if let Some(short) = name.strip_prefix("ansible.posix.") {
        if POSIX_MODULES.contains(&short) {
            return short;
        }
    }
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

/// Find a module by name; accepts the `ansible.builtin.` / `ansible.legacy.` prefixes.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    let short = canonical_name(name);
    all().iter().copied().find(|m| m.spec().name == short)
}

/// Names of all modules, for "did you mean" hints.
pub fn names() -> impl Iterator<Item = &'static str> {
    all().iter().map(|m| m.spec().name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_collection_names_resolve_only_for_its_modules() {
        assert_eq!(
            find("ansible.posix.sysctl").map(|m| m.spec().name),
            Some("sysctl")
        );
        assert_eq!(
            find("ansible.posix.authorized_key").map(|m| m.spec().name),
            Some("authorized_key")
        );
        assert!(find("ansible.posix.copy").is_none());
        assert_eq!(canonical_name("ansible.posix.copy"), "ansible.posix.copy");
    }
}
