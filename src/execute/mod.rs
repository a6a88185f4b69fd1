//! Execution: plays over hosts with the linear strategy. A task finishes on
//! every host of the batch before the next starts; hosts run in parallel up
//! to `forks`, each over its one connection.

pub mod batches;
mod blocks;
pub mod connections;
mod handlers;
pub mod host_task;
mod loops;
mod overrides;
pub mod play;
pub mod state;
pub mod tags;
mod task;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{exit_code, InputError};
use crate::load::inventory::Inventory;
use crate::load::playbook::Playbook;
use crate::report::{Recap, Reporter};

pub use connections::ConnectOptions;

/// What `baton run` was asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub limit: Option<String>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub start_at_task: Option<String>,
    pub extra_vars: Map<String, Value>,
    pub connect: ConnectOptions,
    pub verbosity: u8,
    /// The signal that asked the run to stop (SIGINT, SIGTERM, SIGHUP), 0 for
    /// none: the running task finishes on every host, then the run stops,
    /// reports what it left and exits 128 + the signal's number.
    pub interrupt: Arc<AtomicI32>,
    /// Which host runs which task right now, for "quit at once" to say what
    /// it cut.
    pub running: Arc<RunningTasks>,
}

/// The (host, task) pairs in flight.
#[derive(Debug, Default)]
pub struct RunningTasks {
    next: AtomicU64,
    tasks: Mutex<BTreeMap<u64, (String, String)>>,
}

/// Keeps a (host, task) pair listed while it runs.
pub struct Running<'a> {
    tasks: &'a RunningTasks,
    id: u64,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut tasks) = self.tasks.tasks.lock() {
            tasks.remove(&self.id);
        }
    }
}

impl RunningTasks {
    pub fn enter(&self, host: &str, task: &str) -> Running<'_> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.insert(id, (host.to_string(), task.to_string()));
        }
        Running { tasks: self, id }
    }

    /// (host, task) pairs, in the order they started.
    pub fn list(&self) -> Vec<(String, String)> {
        self.tasks
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// How the stop report names what stopped the run.
pub fn stop_cause(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "stopped by SIGTERM",
        libc::SIGHUP => "stopped by SIGHUP (the terminal or session went away)",
        _ => "interrupted by the operator (Ctrl-C)",
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            diff: false,
            forks: 50,
            limit: None,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            start_at_task: None,
            extra_vars: Map::new(),
            connect: ConnectOptions {
                connect_timeout: Duration::from_secs(10),
                accept_new_host_keys: false,
            },
            verbosity: 0,
            interrupt: Arc::new(AtomicI32::new(0)),
            running: Arc::new(RunningTasks::default()),
        }
    }
}

/// How a run ended.
pub struct RunSummary {
    pub recap: Recap,
    pub exit_code: i32,
    /// Undefined variables and other input problems met while running; the
    /// CLI prints them with their source snippets.
    pub input_errors: Vec<InputError>,
}

impl RunSummary {
    /// `signal`: what stopped the run (0: nothing); a shell reports 128 + N.
    pub fn compute_exit_code(recap: &Recap, input_errors: &[InputError], signal: i32) -> i32 {
        if signal > 0 {
            return exit_code::SIGNALLED + signal;
        }
        if !input_errors.is_empty() {
            return exit_code::INVALID_INPUT;
        }
        let failed = recap.hosts.values().any(|s| s.failed > 0);
        let unreachable = recap.hosts.values().any(|s| s.unreachable > 0);
        if failed {
            exit_code::TASK_FAILED
        } else if unreachable {
            exit_code::UNREACHABLE
        } else {
            exit_code::OK
        }
    }
}

/// Run every play of a playbook.
pub async fn run_playbook(
    playbook: &Playbook,
    inventory: &Inventory,
    options: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<RunSummary, InputError> {
    play::Runner::new(inventory, options, reporter)
        .run(playbook)
        .await
}
