//! Modules: small, pure units. A module turns its (already templated)
//! arguments into a [`Step`]: usually ONE shell script that checks and applies
//! in the same round trip, plus a function that reads that script's answer
//! into a [`TaskResult`] (ok, changed, failed).
//!
//! Modules never touch the network themselves; the executor sends the script
//! over the host's connection. Controller-side work (reading a `src` file,
//! rendering a template, evaluating an `assert`) happens in `prepare`.

pub mod result;
pub mod script;

mod answer;
mod args;
mod deploy;
mod edit;
mod fileops;
mod rewrite;
#[cfg(test)]
mod testutil;

pub mod assert;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod cron;
pub mod debug;
pub mod fail;
pub mod file;
pub mod lineinfile;
pub mod pause;
pub mod ping;
pub mod raw;
pub mod service;
pub mod set_fact;
pub mod shell;
pub mod stat;
pub mod template;
pub mod wait_for;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

pub use result::{FileDiff, Status, TaskResult};

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
    /// Look up a variable by dotted path (debug `var`), `None` when undefined.
    fn lookup(&self, path: &str) -> Option<Value>;
}

/// What a module knows about the task it is preparing.
pub struct TaskContext<'a> {
    pub host: &'a str,
    pub check_mode: bool,
    pub diff: bool,
    /// A per-task random token; marker lines in a script's answer carry it so
    /// they cannot be confused with a command's own output.
    pub nonce: &'a str,
    /// Where `copy src=` and `template src=` look, in order (role files/ or
    /// templates/ first, then the playbook's directory).
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
}

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
        &command::Command,
        &shell::Shell,
        &raw::Raw,
        &copy::Copy,
        &template::Template,
        &file::File,
        &lineinfile::LineInFile,
        &blockinfile::BlockInFile,
        &cron::Cron,
        &wait_for::WaitFor,
        &stat::Stat,
        &ping::Ping,
        &assert::Assert,
        &fail::Fail,
        &debug::Debug,
        &set_fact::SetFact,
        &pause::Pause,
        &service::Service,
        &service::Systemd,
    ]
}

/// Find a module by name; accepts the `ansible.builtin.` / `ansible.legacy.` prefixes.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    all().iter().copied().find(|m| m.spec().name == short)
}

/// Names of all modules, for "did you mean" hints.
pub fn names() -> impl Iterator<Item = &'static str> {
    all().iter().map(|m| m.spec().name)
}
