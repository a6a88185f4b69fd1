//! The command line (clap). Parses flags, then hands off to the stages.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::exit_code;

const EXIT_CODES: &str = "\
Exit codes:
  0  all ok
  1  internal error (a bug in baton, or the controller ran out of something,
     or a report (--junit, stdout) could not be written)
  2  a task failed on some host
  3  a host was unreachable (and no task failed)
  4  invalid input: playbook, inventory, variables or command line
  129 SIGHUP, 130 Ctrl-C (SIGINT), 143 SIGTERM, 138 SIGUSR1, 140 SIGUSR2,
      142 SIGALRM: the running task finished, then the run stopped; a second
      signal quits at once, ending the running tasks' processes
  131 SIGQUIT (Ctrl-\\): quit at once, ending the running tasks' processes
  Any of these while loading: nothing ran";

#[derive(Parser, Debug)]
#[command(
    name = "baton",
    version,
    about = "Agentless orchestration: runs YAML playbooks over SSH, built for HVR failover",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a playbook (a path, or a bare name resolved to playbooks/NAME.yml)
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Show the inventory
    Inventory(InventoryArgs),
    /// Check that hosts answer (connect and run a no-op)
    #[command(after_help = EXIT_CODES)]
    Ping(PingArgs),
    /// Run one module against hosts
    #[command(after_help = EXIT_CODES)]
    Adhoc(AdhocArgs),
    /// List modules and their arguments (or one module's)
    Modules {
        /// A module name
        name: Option<String>,
    },
    /// A disaster-recovery drill with measured RTO and RPO (a lab, or a real pair)
    Drill(crate::drill::DrillArgs),
    /// SSH masters kept warm by `--persist` / `baton_persist`: list them, or close them
    Connections(ConnectionsArgs),
    /// A local lab of real SSH hosts in network namespaces (needs root)
    Lab {
        #[command(subcommand)]
        command: crate::lab::LabCommand,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

/// `-f N`: a whole number from 1 to [`crate::bounds::MAX_FORKS`] (tokio's
/// semaphore panics on huge permit counts; 0 would run nothing).
fn parse_forks(text: &str) -> Result<usize, String> {
    let n: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("-f/--forks must be a whole number, not `{text}`"))?;
    crate::bounds::count(n, "-f/--forks", 1, crate::bounds::MAX_FORKS).map(|n| n as usize)
}

/// `-c`/`--connection NAME`: the rule of a play's `connection:`
/// ([`crate::load::inventory::connection_refusal`]).
fn parse_connection(text: &str) -> Result<String, String> {
    use crate::load::inventory::{connection_refusal, ConnectionSource};
    match connection_refusal(text, ConnectionSource::PlayOrCli) {
        None => Ok(text.to_string()),
        Some((message, help)) => Err(format!("{message}; {help}")),
    }
}

/// `-t`/`--skip-tags LIST`: comma-separated tags, at least one of them not
/// empty. `-t ",,,"` names no tag: baton ran every task for it (as if no
/// `-t` were given); ansible-playbook keeps the empty name and runs only
/// `always` tasks. Either is a surprise from what is most likely an unset
/// shell variable (`-t "$TAGS"`), so it is refused.
fn parse_tags(text: &str) -> Result<String, String> {
    if text.split(',').all(|t| t.trim().is_empty()) {
        return Err(format!(
            "`{text}` names no tag (only commas or spaces); give at least one tag, \
             or leave the option out to select every task"
        ));
    }
    Ok(text.to_string())
}

/// `--connect-timeout N`: whole seconds from 1 to a day. 0 would give up
/// before any host could answer (ssh's `ConnectTimeout=0` means no timeout
/// at all, the opposite of what it reads as).
fn parse_connect_timeout(text: &str) -> Result<u64, String> {
    let n: f64 = text.trim().parse().map_err(|_| {
        format!("--connect-timeout must be a whole number of seconds, not `{text}`")
    })?;
    crate::bounds::count(n, "--connect-timeout", 1, 86_400)
}

/// `--persist SECS`: whole seconds from 0 (off) to a week.
fn parse_persist(text: &str) -> Result<u64, String> {
    let n: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("--persist must be a whole number of seconds, not `{text}`"))?;
    crate::bounds::count(n, "--persist", 0, 604_800)
}

#[derive(Args, Debug, Clone, Default)]
pub struct ConnectionsArgs {
    /// Close every persisted master (`ssh -O exit` on its control socket)
    /// and remove its directory
    #[arg(long)]
    pub close: bool,
}

/// Flags shared by everything that connects to hosts.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// Inventory file (YAML or INI), a directory, or `host1,host2,`; repeatable
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<PathBuf>,
    /// Extra variables: KEY=VALUE ..., JSON/YAML inline, or @FILE.yml; repeatable; highest precedence
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// Parallel hosts (1 to 10000)
    #[arg(short = 'f', long = "forks", default_value_t = 50, value_parser = parse_forks)]
    pub forks: usize,
    /// Connection type for hosts whose inventory and play name none (as
    /// ansible-playbook's -c)
    #[arg(short = 'c', long = "connection", value_parser = parse_connection)]
    pub connection: Option<String>,
    /// Learn the host keys of hosts never seen before (a changed key is still refused)
    #[arg(long)]
    pub ssh_accept_new: bool,
    /// Seconds to wait for an SSH connection (1 to 86400)
    #[arg(long, default_value_t = 10, value_parser = parse_connect_timeout)]
    pub connect_timeout: u64,
    /// Keep SSH masters alive this many seconds of idle time after baton
    /// exits, and reuse a live one (as Ansible's ControlPersist); 0 = off.
    /// A host's `baton_persist` var wins. `baton connections --close` ends them.
    #[arg(long, default_value_t = 0, value_parser = parse_persist)]
    pub persist: u64,
    /// More output (-v: task results, -vv: scripts' stderr, -vvv: connection details)
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Playbook path, or a name resolved to playbooks/NAME.yml
    pub playbook: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Limit to hosts matching this pattern; @FILE reads one pattern per line
    #[arg(short = 'l', long = "limit")]
    pub limit: Option<String>,
    /// Only tasks with these tags (comma-separated)
    #[arg(short = 't', long = "tags", value_parser = parse_tags)]
    pub tags: Vec<String>,
    /// Skip tasks with these tags (comma-separated)
    #[arg(long = "skip-tags", value_parser = parse_tags)]
    pub skip_tags: Vec<String>,
    /// Change nothing; report what would change
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show unified diffs of changed files
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Start at the first task with this name
    #[arg(long)]
    pub start_at_task: Option<String>,
    /// Write a JUnit XML report (one testcase per host x task)
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Only check the playbook's syntax and arguments
    #[arg(long)]
    pub syntax_check: bool,
    /// List the tasks that would run
    #[arg(long)]
    pub list_tasks: bool,
    /// List the hosts each play would run on
    #[arg(long)]
    pub list_hosts: bool,
}

#[derive(Args, Debug, Clone)]
pub struct InventoryArgs {
    /// Inventory file (YAML or INI), a directory, or `host1,host2,`; repeatable
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<PathBuf>,
    /// Print hosts, groups and vars as JSON (ansible-inventory --list shape)
    #[arg(long, conflicts_with_all = ["graph", "host"])]
    pub list: bool,
    /// With --list: keep group vars on their groups instead of merging them
    /// into hostvars (ansible-inventory --export)
    #[arg(long, requires = "list")]
    pub export: bool,
    /// Print one host's variables as JSON (ansible-inventory --host)
    #[arg(long, value_name = "HOST", conflicts_with = "graph")]
    pub host: Option<String>,
    /// Print the group tree, from GROUP (default: all)
    #[arg(long, value_name = "GROUP", num_args = 0..=1, default_missing_value = "all")]
    pub graph: Option<String>,
    /// With --graph: each host's and group's variables (ansible-inventory
    /// --vars; ignored otherwise, as there)
    #[arg(long)]
    pub vars: bool,
    /// Write the output to FILE instead of stdout, without a final newline
    /// (ansible-inventory --output)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Extra variables (applied to every host in --list)
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct PingArgs {
    /// Host pattern
    #[arg(default_value = "all")]
    pub pattern: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Args, Debug, Clone)]
pub struct AdhocArgs {
    /// Host pattern
    pub pattern: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Module name
    #[arg(short = 'm', long = "module-name", default_value = "command")]
    pub module: String,
    /// Module arguments: 'k=v k2="v 2"', or free-form text for command/shell
    #[arg(short = 'a', long = "args", default_value = "")]
    pub args: String,
    /// Change nothing; report what would change
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show unified diffs of changed files
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Run through sudo as this user
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    #[arg(long = "become-user", default_value = "root")]
    pub become_user: String,
}

mod commands;
mod output;

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit_code::INVALID_INPUT
            } else {
                exit_code::OK
            };
            if !e.use_stderr() {
                // --help, --version: clap's own text
                let _ = e.print();
                return code;
            }
            // An unknown flag or a bad value is quoted in the error: drawn
            // with its control characters escaped, clap's colours kept.
            let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none();
            let drawn = if color {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            crate::controls::stderr_painted(drawn.trim_end_matches('\n'));
            return code;
        }
    };
    commands::install_diagnostics_hook();
    // Every SSH host holds open files for the whole run; the soft limit
    // (often 1024) is the one the user could raise anyway (see `fd_limit`).
    crate::transport::fd_limit::raise_soft_limit();
    match cli.command {
        Command::Run(args) => commands::run(args),
        Command::Inventory(args) => commands::inventory(args),
        Command::Ping(args) => commands::ping(args),
        Command::Adhoc(args) => commands::adhoc(args),
        Command::Modules { name } => commands::modules(name.as_deref()),
        Command::Drill(args) => crate::drill::run(args),
        Command::Connections(args) => commands::connections(&args),
        Command::Lab { command } => crate::lab::run(command),
    }
}
