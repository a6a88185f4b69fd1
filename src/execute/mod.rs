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

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
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
    /// Set when the operator asked to stop (Ctrl-C): the running task finishes
    /// on every host, then the run stops and reports what it left.
    pub interrupt: Arc<AtomicBool>,
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
            interrupt: Arc::new(AtomicBool::new(false)),
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
    pub fn compute_exit_code(recap: &Recap, input_errors: &[InputError], interrupted: bool) -> i32 {
        if interrupted {
            return exit_code::INTERRUPTED;
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
