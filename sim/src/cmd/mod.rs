//! The commands: each turns its arguments into calls on the simulator's parts and prints what
//! an operator (or a playbook) needs to see.

mod catalog;
mod client;
mod ingres;
mod listener;
mod logrelease;
mod maint;
pub mod refresh;
mod router;
pub mod scheduler;

use crate::error::{SimError, SimResult};
use crate::paths::Layout;

pub struct CommandSpec {
    pub name: &'static str,
    pub summary: &'static str,
    pub usage: &'static str,
    /// Installed as a symlink in `$HVR_HOME/bin`; otherwise only `hvrsim <name>` runs it.
    pub link: bool,
    pub run: fn(&[String]) -> SimResult<u8>,
}

pub const COMMANDS: &[CommandSpec] = &[
    ingres::INGSTART,
    ingres::INGSTOP,
    ingres::INGSTATUS,
    listener::HVRREMOTELISTENER,
    listener::HVRTESTLISTENER,
    scheduler::HVRSCHEDULER,
    scheduler::HVRTESTSCHEDULER,
    scheduler::HVRSTART,
    scheduler::HVRSUSPEND,
    router::HVRROUTERVIEW,
    router::ROUTERSTATE,
    router::HVRINIT,
    refresh::HVRREFRESH,
    refresh::HVRCOMPARE,
    maint::HVRMAINT,
    logrelease::HVRLOGRELEASE,
    client::HVRSIMCLIENT,
    catalog::CATALOG,
];

/// Entry of a detached daemon (see `daemon::spawn`).
pub fn run_daemon(command: &str, args: &[String]) -> SimResult<()> {
    let layout = Layout::from_env()?;
    match (command, args) {
        ("ingstart", []) => crate::dbms::run_daemon(&layout),
        ("hvrremotelistener", [port]) => {
            crate::remote_listener::run_daemon(&layout, listener::parse_port(port)?)
        }
        ("hvrscheduler", [hub]) => crate::scheduler::run_daemon(&layout, hub),
        _ => Err(SimError::usage(format!(
            "{command} has no daemon taking {args:?}"
        ))),
    }
}
