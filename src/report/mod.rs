//! Reporting: the executor emits [`Event`]s; reporters turn them into human
//! output (with live progress), JSON lines, or a JUnit file. Values of a
//! `no_log` task are already masked before an event is built.

pub mod adhoc;
pub mod controls;
pub mod human;
pub mod json;
pub mod junit;
pub mod recap;
pub mod style;

pub use adhoc::AdhocReporter;
pub use human::{HumanOptions, HumanReporter};
pub use json::JsonReporter;
pub use junit::JunitReporter;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::modules::{Status, TaskResult};

/// The one line a reporter says on stderr when stdout cannot take the
/// run's output (`what`: "the run's output", "JSON events"; a closed pipe
/// is said the same for all). Every write
/// error loses output, a reader that went away too (EPIPE, `baton run ... |
/// head`): the run still goes on to its end (a failover is not abandoned
/// half-way because a pager or terminal closed), but what follows is not
/// shown, so the run does not exit 0 (it exits 1; a failed run keeps its
/// own code). Listings are another matter: see `cli::output`.
pub(crate) fn write_error_line(what: &str, err: &std::io::Error) -> String {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        format!(
            "baton: stdout was closed (its reader went away: {err}): what the run does next is not shown; it goes on to its end, and exits 1 if it would have exited 0"
        )
    } else {
        format!("baton: cannot write {what} to stdout: {err}")
    }
}

pub(crate) use crate::controls::stderr_line;

/// What a task is, for display.
#[derive(Clone, Debug, Serialize)]
pub struct TaskInfo {
    /// The task's name, or `module args` when it has none.
    pub name: String,
    pub module: String,
    /// `file:line:col` of the task.
    pub origin: String,
    pub is_handler: bool,
    /// The play this task belongs to.
    pub play: String,
}

/// One host's result for one task (or one loop item of it).
#[derive(Clone, Debug, Serialize)]
pub struct HostResult {
    pub host: String,
    pub outcome: Status,
    /// The failure was ignored (`ignore_errors` / `ignore_unreachable`).
    pub ignored: bool,
    /// Loop item label, when the task loops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// `delegate_to` target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
    /// The result, masked when the task is `no_log`.
    pub result: TaskResult,
    pub elapsed: Duration,
    /// Start time, Unix epoch seconds with fractions.
    pub started_at: f64,
    /// Check mode was on for this task.
    pub check_mode: bool,
}

/// Per-host counters, as in Ansible's PLAY RECAP. `ok` counts changed tasks too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// One timed task, for the "slowest tasks" list.
#[derive(Clone, Debug, Serialize)]
pub struct TaskTiming {
    pub task: String,
    pub origin: String,
    /// Under `free`, the host this entry times: each host runs the task on
    /// its own, so one entry per host. `None` under `linear`, where one
    /// entry covers the batch.
    pub host: Option<String>,
    /// Under `linear`, wall time from the task's start to the last host
    /// finishing it; under `free`, the host's own task time (as its
    /// `host_result`), not the wait for a fork slot.
    pub elapsed: Duration,
}

/// Connection set-up before the first tasks, apart from task time: each
/// batch's connections open together (up to `forks`) before its first task.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConnectTiming {
    /// Wall time of every batch's connection phase, summed.
    pub elapsed: Duration,
    /// Hosts whose connection was opened (or tried) before a first task.
    pub hosts: u32,
    /// Of those, the hosts it failed for (unreachable).
    pub failed: u32,
    /// The host whose connection took longest, and how long.
    pub slowest: Option<(String, Duration)>,
}

/// The end of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Recap {
    pub hosts: BTreeMap<String, HostStats>,
    /// Slowest first.
    pub slowest: Vec<TaskTiming>,
    /// Connection set-up, counted in `elapsed` too.
    pub connect: ConnectTiming,
    pub elapsed: Duration,
}

// Events are built once each and passed by reference; boxing the large
// variants would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Event {
    PlayStart {
        name: String,
        hosts: Vec<String>,
        /// `linear` or `free` (see `execute/strategy.rs`).
        strategy: String,
    },
    TaskStart {
        task: TaskInfo,
        hosts: Vec<String>,
    },
    /// A batch's connections open, all at once (up to `forks`), before its
    /// first task: `hosts` are those without a connection yet.
    ConnectStart {
        play: String,
        hosts: Vec<String>,
    },
    /// One host's connection is open, or could not be opened (`error`: the
    /// message an unreachable task result would give); such a host is
    /// unreachable from here on, before any task ran on it.
    HostConnected {
        host: String,
        /// `address` or `address:port`, or `local`.
        target: String,
        /// Start time, Unix epoch seconds with fractions.
        started_at: f64,
        elapsed: Duration,
        error: Option<String>,
    },
    /// A host begins the current task (drives the spinner).
    HostStart {
        host: String,
        task: TaskInfo,
    },
    /// A host's result. A looping task emits one per item (`item` set), then
    /// one aggregate with `item: None`; that last one means the host is done.
    HostResult {
        task: TaskInfo,
        result: HostResult,
    },
    /// A run-level note (e.g. a task skipped in check mode, deprecated syntax).
    Warning {
        host: Option<String>,
        message: String,
    },
    /// A quit at once (a second stop signal) killed `host`'s run of `task`:
    /// no result, neither ok nor failed (as in Ansible, whose interrupted
    /// task has none); the host's recap does not count it, the stop report
    /// names it, JUnit makes it an error case of type `cut`.
    Cut {
        task: TaskInfo,
        host: String,
        /// When the host started the task, Unix epoch seconds with fractions.
        started_at: f64,
        /// How long the task ran until the kill ended it: the time it
        /// really took, as a result's `elapsed` (it was once shown as 0 ms).
        elapsed: Duration,
    },
    /// The run stopped early: which host, at which task, and what state it left.
    Stopped {
        reason: String,
    },
    Recap(Recap),
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
    /// Whether this reporter reads results' `facts`. Only then are a loop
    /// item's `set_fact` facts, kept in template form between items, made
    /// JSON for its event (a list doubled per item would be converted at
    /// each item for a report that never prints it).
    fn prints_facts(&self) -> bool {
        true
    }
    /// Called once at the end; writes files (JUnit) and clears progress bars.
    /// Returns whether everything this reporter had to write was written
    /// (a failure was already said on stderr, naming the file and error);
    /// a run whose report was lost does not exit 0.
    fn finish(&self) -> bool {
        true
    }
}

/// Sends every event to several reporters.
///
/// It finishes once: the run's end and a quit at once (a second signal)
/// may both ask, from different threads; the second waits for the first
/// and gets its answer, so a report is written whole and once.
#[derive(Default)]
pub struct Fanout {
    reporters: Vec<Box<dyn Reporter>>,
    finished: std::sync::Mutex<Option<bool>>,
}

impl Fanout {
    pub fn new(reporters: Vec<Box<dyn Reporter>>) -> Fanout {
        Fanout {
            reporters,
            finished: std::sync::Mutex::new(None),
        }
    }
}

impl Reporter for Fanout {
    fn event(&self, event: &Event) {
        for r in &self.reporters {
            r.event(event);
        }
    }
    fn prints_facts(&self) -> bool {
        self.reporters.iter().any(|r| r.prints_facts())
    }
    fn finish(&self) -> bool {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(all) = *finished {
            return all;
        }
        // Every reporter finishes, even after one failed.
        let mut all = true;
        for r in &self.reporters {
            all &= r.finish();
        }
        *finished = Some(all);
        all
    }
}
