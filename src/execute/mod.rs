//! Execution: plays over hosts with the linear strategy (a task finishes on
//! every host of the batch before the next starts) or the free one (each
//! host runs its tasks without waiting for the others, `strategy.rs`); hosts
//! run in parallel up to `forks`, each over its one connection.

pub mod batches;
mod blocks;
mod connect;
pub mod connections;
mod handlers;
pub mod host_task;
mod loops;
mod overrides;
pub mod play;
pub mod state;
mod strategy;
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
use crate::report::controls::shown_name;
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
    /// The signal that asked the run to stop (SIGINT, SIGTERM, SIGHUP,
    /// SIGUSR1, SIGUSR2, SIGALRM; SIGQUIT quits at once), 0 for
    /// none: the running task finishes on every host, then the run stops,
    /// reports what it left and exits 128 + the signal's number.
    pub interrupt: Arc<AtomicI32>,
    /// Which host runs which task right now and what changed, for "quit at
    /// once" to say what it cut and what it left.
    pub running: Arc<RunningTasks>,
}

/// The tasks in flight, and what each host changed so far: what a quit at
/// once (which does not wait for the run's own report) says it cut and left.
#[derive(Debug, Default)]
pub struct RunningTasks {
    next: AtomicU64,
    tasks: Mutex<BTreeMap<u64, RunningTask>>,
    /// Every host that started a task, with the tasks that changed it.
    changes: Mutex<BTreeMap<String, Vec<String>>>,
    /// Set by a quit at once: the (task, host) pairs it cut, for the stop
    /// report the run may still print before the process exits.
    cut: Mutex<Option<Vec<(String, String)>>>,
    /// A RUN STOPPED block was written (by the run's end or by the quit):
    /// there is one per run.
    stop_said: std::sync::atomic::AtomicBool,
}

/// A host running a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningTask {
    pub host: String,
    pub task: String,
    /// The loop item running: 1-based number, item count, label.
    pub item: Option<(usize, usize, String)>,
    /// Labels of the task's loop items that changed the host so far.
    pub changed_items: Vec<String>,
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
            tasks.insert(
                id,
                RunningTask {
                    host: host.to_string(),
                    task: task.to_string(),
                    item: None,
                    changed_items: Vec::new(),
                },
            );
        }
        if let Ok(mut changes) = self.changes.lock() {
            changes.entry(host.to_string()).or_default();
        }
        Running { tasks: self, id }
    }

    /// Apply `f` to the task `host` runs (one at a time per host).
    fn update(&self, host: &str, f: impl FnOnce(&mut RunningTask)) {
        if let Ok(mut tasks) = self.tasks.lock() {
            if let Some(t) = tasks.values_mut().rev().find(|t| t.host == host) {
                f(t);
            }
        }
    }

    /// `host` starts loop item `number` (from 1) of `count`.
    pub fn item(&self, host: &str, number: usize, count: usize, label: &str) {
        self.update(host, |t| t.item = Some((number, count, label.to_string())));
    }

    /// A loop item of the task `host` runs changed it.
    pub fn item_changed(&self, host: &str, label: &str) {
        self.update(host, |t| t.changed_items.push(label.to_string()));
    }

    /// `what` (a task's name) changed `host`.
    pub fn changed(&self, host: &str, what: &str) {
        if let Ok(mut changes) = self.changes.lock() {
            changes
                .entry(host.to_string())
                .or_default()
                .push(what.to_string());
        }
    }

    /// The tasks in flight, in the order they started.
    pub fn list(&self) -> Vec<RunningTask> {
        self.tasks
            .lock()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// What a quit at once reports: each task it cut (hosts, task, loop
    /// item, the items that had changed the hosts), then what finished
    /// tasks had changed, hosts cut or changed alike on one line each.
    /// It also records the cut tasks for [`RunningTasks::stop_reason`].
    pub fn quit_report(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let running = self.list();
        if let Ok(mut cut) = self.cut.lock() {
            *cut = Some(
                running
                    .iter()
                    .map(|t| (t.task.clone(), t.host.clone()))
                    .collect(),
            );
        }
        let cut = state::grouped(running.iter().map(|t| {
            let at = match &t.item {
                Some((n, count, label)) => {
                    format!(" at item {n} of {count} ({})", shown_name(label))
                }
                None => String::new(),
            };
            ((&t.task, at, t.changed_items.join(", ")), t.host.as_str())
        }));
        for ((task, at, items), mut hosts) in cut {
            // in the recap's order, not the order the hosts started
            hosts.sort_unstable();
            let hosts = hosts.join(", ");
            let items = if items.is_empty() {
                String::new()
            } else {
                format!("; earlier items of it changed {hosts}: {items}")
            };
            lines.push(format!(
                "cut: task `{}` on {hosts}{at} (it may have done part of its work){items}",
                shown_name(task)
            ));
        }
        let changes = self.changes.lock().map(|c| c.clone()).unwrap_or_default();
        let changes = state::grouped(
            changes
                .iter()
                .map(|(host, changed)| (changed.join("; "), host.as_str())),
        );
        for (changed, hosts) in changes {
            let hosts = hosts.join(", ");
            lines.push(if changed.is_empty() {
                format!("nothing had been changed on {hosts} by a finished task")
            } else {
                format!("changed on {hosts} before the quit: {changed}")
            });
        }
        lines
    }

    /// Whether the quit at once cut `host`'s run of `task` (a result it
    /// gives now is the kill's, not the task's).
    pub fn was_cut(&self, task: &str, host: &str) -> bool {
        self.cut.lock().ok().is_some_and(|c| {
            c.as_ref()
                .is_some_and(|c| c.iter().any(|(t, h)| t == task && h == host))
        })
    }

    /// True once, for whoever writes the run's one RUN STOPPED block: the
    /// run's end, or a quit at once whose run did not end in time.
    pub fn claim_stop_report(&self) -> bool {
        !self.stop_said.swap(true, Ordering::SeqCst)
    }

    /// The stop report's first words after `signal` stopped the run: the
    /// running task finished, or, after a quit at once, which tasks were
    /// killed on which hosts.
    pub fn stop_reason(&self, signal: i32) -> String {
        let cut = self.cut.lock().ok().and_then(|c| c.clone());
        // SIGQUIT quits at once by itself, not after a first stop request.
        let then = if signal == libc::SIGQUIT {
            ""
        } else {
            ", then quit at once"
        };
        match cut {
            None => format!(
                "{}: the running task finished on every host (a loop after its current item)",
                stop_cause(signal)
            ),
            Some(cut) if cut.is_empty() => {
                format!("{}{then}: no task was running", stop_cause(signal))
            }
            Some(cut) => format!(
                "{}{then}: the running task was killed ({}); it may have done part of its work",
                stop_cause(signal),
                state::grouped(cut.iter().map(|(task, host)| (task, host.as_str())))
                    .into_iter()
                    .map(|(task, mut hosts)| {
                        hosts.sort_unstable();
                        format!("`{}` on {}", shown_name(task), hosts.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

/// How the stop report names what stopped the run.
pub fn stop_cause(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "stopped by SIGTERM",
        libc::SIGHUP => "stopped by SIGHUP (the terminal or session went away)",
        libc::SIGQUIT => "quit at once by SIGQUIT (Ctrl-\\)",
        libc::SIGUSR1 => "stopped by SIGUSR1",
        libc::SIGUSR2 => "stopped by SIGUSR2",
        libc::SIGALRM => "stopped by SIGALRM (a timer ran out)",
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
                default_connection: None,
                persist: None,
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
    /// `failed`: the run ends with a failed host (`RunState::any_failed`:
    /// not the recap's counter, which `meta: clear_host_errors` leaves, and
    /// which a host failed by another host's failure does not have).
    pub fn compute_exit_code(
        recap: &Recap,
        input_errors: &[InputError],
        signal: i32,
        failed: bool,
    ) -> i32 {
        if signal > 0 {
            return exit_code::SIGNALLED + signal;
        }
        if !input_errors.is_empty() {
            return exit_code::INVALID_INPUT;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quit_report_says_hosts_cut_or_changed_alike_on_one_line() {
        let running = RunningTasks::default();
        for host in ["h1", "h2", "h3"] {
            drop(running.enter(host, "prep"));
        }
        running.changed("h1", "prep");
        running.changed("h2", "prep");
        // started out of order: said in the recap's (name) order
        let _guards: Vec<_> = ["h2", "h1", "h3"]
            .iter()
            .map(|h| running.enter(h, "loopy"))
            .collect();
        running.item("h1", 2, 3, "b");
        running.item("h2", 2, 3, "b");
        running.item("h3", 1, 3, "a");
        running.item_changed("h1", "a");
        running.item_changed("h2", "a");
        assert_eq!(
            running.quit_report(),
            [
                "cut: task `loopy` on h1, h2 at item 2 of 3 (b) (it may have done part of its work); earlier items of it changed h1, h2: a",
                "cut: task `loopy` on h3 at item 1 of 3 (a) (it may have done part of its work)",
                "changed on h1, h2 before the quit: prep",
                "nothing had been changed on h3 by a finished task",
            ]
        );
        assert_eq!(
            running.stop_reason(libc::SIGINT),
            "interrupted by the operator (Ctrl-C), then quit at once: the running task was killed (`loopy` on h1, h2, h3); it may have done part of its work"
        );
    }
}
