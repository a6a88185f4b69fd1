//! What the run knows about each host, and the bookkeeping of outcomes:
//! recap counters, what each host changed before it stopped (for the stop
//! report), which hosts failed or became unreachable, registered values and
//! facts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::host_task::HostOutcome;
use crate::error::InputError;
use crate::modules::Status;
use crate::plan::hostvars::{Known, KnownHosts};
use crate::report::controls::shown_name;
use crate::report::{ConnectTiming, HostStats, Recap, TaskInfo, TaskTiming};

/// Shown in place of a `no_log` task's failure message.
pub const NO_LOG_MESSAGE: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

#[derive(Clone, Debug)]
pub struct Failure {
    pub task: String,
    pub origin: String,
    pub message: String,
    pub play: String,
    /// The host's connection failed before the batch's first task (`task`
    /// is then empty and `origin` the play's).
    pub connecting: bool,
}

/// A host's state. Its facts and registered values are kept in the run's
/// [`KnownHosts`] (see [`RunState::known`]); whether it is still in the
/// play is changed only through [`RunState`] (see
/// [`RunState::membership`]).
#[derive(Default, Debug)]
pub struct HostState {
    /// Left the play because a task failed (and nothing rescued it).
    failed: bool,
    /// Failed by another host's fatal failure (`any_errors_fatal`,
    /// `run_once`) inside a block with a rescue, not by a task of its own:
    /// it goes to the rescue but is not counted `rescued` (Ansible's
    /// `mark_host_failed`).
    pub failed_by_others: bool,
    /// Failed by a `run_once` task that failed for it on another host,
    /// inside a block with a rescue: ansible-core 2.19 marks it failed
    /// twice, so the block it is in skips its first handling for it (its
    /// rescue, or else its always; `run_block`), then an enclosing block's
    /// rescue may take it. Not counted in the recap; if it stays failed the
    /// run exits 2.
    pub failed_out: bool,
    /// Counted against `max_fail_percentage`: ansible-core counts a host
    /// whose failed task left it nothing to run (no rescue or always around
    /// it) or that another host's fatal failure failed; never one that went
    /// to a rescue or an always, even if it stays failed after them.
    max_fail_counted: bool,
    /// Running an `always` after a failure it goes back to once the always
    /// is done, unless `meta: clear_host_errors` clears it there.
    pub refail_after_always: bool,
    /// `stats.failed` when `meta: clear_host_errors` last cleared the host:
    /// failures up to then no longer make the run exit 2 (the recap still
    /// counts them), as in ansible-core.
    failed_cleared: u32,
    unreachable: bool,
    /// `meta: end_host`: done with this play, not failed.
    ended: bool,
    /// Facts were gathered (or set by a module's `ansible_facts`).
    pub facts_gathered: bool,
    /// Handlers notified and not yet run, in notification order.
    pub notified: Vec<String>,
    pub stats: HostStats,
    /// Names of tasks that changed this host, for the report when a run stops.
    pub changed_tasks: Vec<String>,
    /// Why the host stopped; set through [`HostState::set_failure`].
    pub failure: Option<Failure>,
    /// How many of `changed_tasks` came before `failure`: a failed block's
    /// always (or a handler) may change more after it, and the stop report
    /// must not say those came first.
    changed_at_failure: usize,
    /// Ids of `include_tasks`/`include_role` tasks skipped on this host
    /// (`when` false): the tasks they brought in do not run here.
    pub skipped_includes: Vec<u64>,
    /// A looped `include_tasks` (by id): the loop variables of each item it
    /// ran for on this host (`loop_var`, `index_var`, `ansible_loop`), in order.
    pub include_items: BTreeMap<u64, Vec<Map<String, Value>>>,
    /// The loop variables of the looped includes the host is inside now
    /// (Ansible's include parameters: above registered values and facts,
    /// below `-e`).
    pub include_scope: Map<String, Value>,
}

impl HostState {
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }

    /// Failed or unreachable: out of the rest of the run.
    pub fn left(&self) -> bool {
        self.failed || self.unreachable
    }

    /// Left the play because a task failed (and nothing rescued it).
    pub fn failed(&self) -> bool {
        self.failed
    }

    pub fn unreachable(&self) -> bool {
        self.unreachable
    }

    pub fn set_failure(&mut self, failure: Failure) {
        self.failure = Some(failure);
        self.changed_at_failure = self.changed_tasks.len();
    }

    /// The tasks that changed the host before its failure, and after it.
    fn changed_around_failure(&self) -> (&[String], &[String]) {
        self.changed_tasks
            .split_at(self.changed_at_failure.min(self.changed_tasks.len()))
    }
}

/// Merge a module's `ansible_facts` (`ansible_*` names) into a host's
/// facts, as Ansible does for any module: each fact is a variable of its
/// own and, without the prefix, a key of `ansible_facts`.
pub fn merge_facts(mine: &mut Map<String, Value>, facts: Map<String, Value>) {
    let mut short = Map::new();
    for (name, value) in facts {
        let bare = name.strip_prefix("ansible_").unwrap_or(&name).to_string();
        short.insert(bare, value.clone());
        mine.insert(name, value);
    }
    match mine.get_mut("ansible_facts") {
        Some(Value::Object(all)) => all.extend(short),
        _ => {
            mine.insert("ansible_facts".into(), Value::Object(short));
        }
    }
}

/// What a task contributes to the bookkeeping of one host's outcome.
pub struct TaskRecord<'a> {
    pub info: &'a TaskInfo,
    /// The task's own `name:` as `ansible_failed_task.name` gives it: empty
    /// for an unnamed task (ansible-core 2.19 gives '', not the module).
    pub task_name: String,
    pub play: &'a str,
    pub register: Option<&'a str>,
    pub notify: &'a [String],
    pub no_log: bool,
    /// Inside a block with `rescue`: a failure is not counted (yet).
    pub rescuable: bool,
    /// Inside a block with a `rescue` or an `always`, which the host runs
    /// next if the task fails.
    pub handled: bool,
}

/// Every host's state and what the run as a whole collected.
#[derive(Default)]
pub struct RunState {
    hosts: BTreeMap<String, HostState>,
    /// Every host's facts and registered values (`register`, `set_fact`,
    /// `include_vars`; they outlive the play), shared with the `hostvars`
    /// views.
    known: Arc<KnownHosts>,
    /// Counts the changes to which hosts are still in the play (failed,
    /// unreachable, ended, and back): the play-wide lists (`play_hosts`,
    /// `ansible_play_batch`) are made again only when it moved.
    membership: u64,
    /// Undefined variables and other input problems met while running.
    pub input_errors: Vec<InputError>,
    pub timings: Vec<TaskTiming>,
    /// Connection set-up before first tasks (`connect.rs`).
    pub connect: ConnectTiming,
    /// Why the whole run stopped early (any_errors_fatal, max_fail_percentage,
    /// no hosts left, Ctrl-C).
    pub abort_reason: Option<String>,
    /// The stop was a fatal failure (`any_errors_fatal`, `run_once`): with
    /// `force_handlers` the notified handlers still run.
    pub fatal_stop: bool,
    /// Hosts whose connection failed before the batch's first task, not yet
    /// charged to a task: Ansible connects at the first task that runs on a
    /// host, so that task sees them unreachable (and `any_errors_fatal`
    /// stops the others after it).
    unreached_at_connect: Vec<String>,
    /// Loops and retries a stop request ended early, and what they left.
    pub cut: Vec<super::host_task::Cut>,
    /// A stop signal ended the run: the stop report says, for every host,
    /// what had changed on it.
    pub signalled: bool,
    /// Under `strategy: free`, where each host's lane stopped after a stop
    /// request: ("`task` (file:line)", host), grouped by task when reported.
    pub free_stops: Vec<(String, String)>,
}

impl RunState {
    pub fn host(&mut self, host: &str) -> &mut HostState {
        self.hosts.entry(host.to_string()).or_default()
    }

    pub fn get(&self, host: &str) -> Option<&HostState> {
        self.hosts.get(host)
    }

    /// The run's facts and registered values of every host, for `hostvars`.
    pub fn known(&self) -> Arc<KnownHosts> {
        Arc::clone(&self.known)
    }

    /// `host`'s facts and registered values now (shared, not copied).
    pub fn known_of(&self, host: &str) -> Known {
        self.known.get(host)
    }

    /// Moves whenever a host joins or leaves the play's active hosts (it
    /// may also move when nothing did): what was made from the active
    /// hosts at one value is still right at the same value.
    pub fn membership(&self) -> u64 {
        self.membership
    }

    /// A task failed on `host` (`true`), or a `rescue` or
    /// `meta: clear_host_errors` forgave it (`false`).
    pub fn set_failed(&mut self, host: &str, failed: bool) {
        self.membership += 1;
        let state = self.host(host);
        state.failed = failed;
        if !failed {
            state.max_fail_counted = false;
        }
    }

    /// Another host's fatal failure inside a block with a rescue or an
    /// always: `host` leaves the block's tasks for them (see
    /// `failed_by_others`); `failure` says why, for the stop report if no
    /// rescue takes it.
    pub fn fail_by_others(&mut self, host: &str, failure: Failure) {
        self.set_failed(host, true);
        let state = self.host(host);
        state.failed_by_others = true;
        state.max_fail_counted = true;
        state.set_failure(failure);
    }

    /// A `run_once` task failed on another host inside a block with a
    /// rescue, or `host` is outside that block: it skips the block's first
    /// handling (see `failed_out`); `failure` says why, for the stop report.
    pub fn fail_out(&mut self, host: &str, failure: Failure) {
        self.set_failed(host, true);
        let state = self.host(host);
        state.failed_out = true;
        state.set_failure(failure);
    }

    /// Whether a host failed by another host's failure is still failed (the
    /// run then exits 2, though the recap counts no failure for it).
    /// Whether the run ends with a failed host, for its exit code: a task
    /// failed on it that `meta: clear_host_errors` did not clear since, or
    /// another host's failure (`run_once`, `any_errors_fatal`) still holds it.
    pub fn any_failed(&self) -> bool {
        self.hosts.values().any(|s| {
            s.stats.failed > s.failed_cleared || (s.failed && (s.failed_out || s.failed_by_others))
        })
    }

    /// `meta: clear_host_errors` on `host`, as ansible-core 2.19 clears a
    /// host's errors (`PlayIterator.clear_host_errors`): one running an
    /// `always` after a failure goes on after it; one that had left the play
    /// does not come back to it (its tasks are done there) but is no longer
    /// failed: later plays run on it and the run does not exit 2 for it.
    pub fn clear_host_errors(&mut self, host: &str) {
        let was_failed = self.host(host).failed;
        if was_failed {
            self.set_failed(host, false);
            self.set_ended(host, true);
        }
        let state = self.host(host);
        if was_failed || state.refail_after_always {
            state.refail_after_always = false;
            state.failure = None;
            state.failed_by_others = false;
            state.failed_out = false;
        }
        state.failed_cleared = state.stats.failed;
    }

    /// `meta: end_host` (`true`), or a new play (`false`).
    pub fn set_ended(&mut self, host: &str, ended: bool) {
        self.membership += 1;
        self.host(host).ended = ended;
    }

    /// A new batch (or play) starts: the hosts of `hosts` that `meta:
    /// end_host` ended are back in the play's lists, as Ansible forgets
    /// ended hosts between batches (failed and unreachable ones stay out).
    pub fn clear_ended(&mut self, hosts: &[String]) {
        for host in hosts {
            if self.hosts.get(host).is_some_and(|s| s.ended) {
                self.set_ended(host, false);
            }
        }
    }

    fn set_unreachable(&mut self, host: &str) {
        self.membership += 1;
        self.host(host).unreachable = true;
    }

    /// Merge a module's `ansible_facts` into `host`'s facts (see
    /// [`merge_facts`]).
    pub fn merge_facts(&mut self, host: &str, facts: Map<String, Value>) {
        self.known
            .update(host, |k| merge_facts(Arc::make_mut(&mut k.facts), facts));
        self.host(host).facts_gathered = true;
    }

    /// Every host seen so far, by name.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, &HostState)> {
        self.hosts.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_active(&self, host: &str) -> bool {
        self.hosts.get(host).is_none_or(HostState::active)
    }

    /// How many of `batch` count against `max_fail_percentage` now, as
    /// ansible-core 2.19's linear strategy counts after each task: failed
    /// hosts (not unreachable ones) whose failure left them nothing to run
    /// (see `max_fail_counted`), except, under `force_handlers`, those with
    /// notified handlers to run (ansible-core moves them to the handlers).
    pub fn failed_against_max(&self, batch: &[String], force_handlers: bool) -> usize {
        batch
            .iter()
            .filter_map(|h| self.hosts.get(h))
            .filter(|s| {
                let handlers_first = force_handlers && !s.notified.is_empty();
                s.failed && s.max_fail_counted && !handlers_first
            })
            .count()
    }

    /// Failed or unreachable (a host never seen has not).
    pub fn has_left(&self, host: &str) -> bool {
        self.hosts.get(host).is_some_and(HostState::left)
    }

    /// The hosts of `hosts` still in the play, in order.
    pub fn active(&self, hosts: &[String]) -> Vec<String> {
        hosts
            .iter()
            .filter(|h| self.is_active(h))
            .cloned()
            .collect()
    }

    /// An input error found while running; the same one on many hosts is kept once.
    pub fn add_input_error(&mut self, e: InputError) {
        if !self
            .input_errors
            .iter()
            .any(|x| x.location == e.location && x.message == e.message)
        {
            self.input_errors.push(e);
        }
    }

    /// `run_once`: one run stands for every host of the batch, so `host`
    /// gets the result's registered value and variables too.
    pub fn share(&mut self, host: &str, register: Option<&str>, outcome: &HostOutcome) {
        self.host(host);
        self.known.update(host, |k| {
            let registered = Arc::make_mut(&mut k.registered);
            if let Some(name) = register {
                registered.insert(name.to_string(), outcome.registered.clone());
            }
            registered.extend(outcome.facts.clone());
        });
    }

    /// Record a host's outcome: registered values, facts, counters, changed
    /// tasks, notified handlers, failure. Returns whether the host just left
    /// the play (failed or unreachable, not ignored).
    pub fn record(&mut self, task: &TaskRecord<'_>, outcome: HostOutcome) -> bool {
        if let Some(cut) = &outcome.cut {
            self.cut.push(cut.clone());
        }
        if let Some(e) = outcome.input_error {
            self.add_input_error(if task.no_log { e.redacted() } else { e });
        }
        // What a `rescue` section sees (Ansible's `ansible_failed_task` and
        // `ansible_failed_result`), masked under no_log.
        let failed_vars = (outcome.outcome == Status::Failed && !outcome.ignored).then(|| {
            let result = if task.no_log {
                json!({"censored": NO_LOG_MESSAGE, "failed": true})
            } else {
                outcome.registered.clone()
            };
            (
                json!({
                    "name": task.task_name,
                    "action": task.info.module,
                    "origin": task.info.origin,
                }),
                result,
            )
        });
        // A failed result may still have changed something (a command that ran).
        let result_changed = outcome.registered.get("changed") == Some(&Value::Bool(true));
        let host = outcome.host.clone();
        // Only what changes: a task that registers and sets nothing leaves
        // the host's map alone (a `hostvars` view may share it).
        if failed_vars.is_some() || task.register.is_some() || !outcome.facts.is_empty() {
            self.host(&host);
            self.known.update(&host, |k| {
                let registered = Arc::make_mut(&mut k.registered);
                if let Some((failed_task, failed_result)) = failed_vars {
                    registered.insert("ansible_failed_task".into(), failed_task);
                    registered.insert("ansible_failed_result".into(), failed_result);
                }
                if let Some(name) = task.register {
                    registered.insert(name.to_string(), outcome.registered);
                }
                for (k, v) in outcome.facts {
                    registered.insert(k, v);
                }
            });
        }
        // As Ansible: facts from a failed or unreachable result are dropped.
        if matches!(outcome.outcome, Status::Ok | Status::Changed)
            && !outcome.ansible_facts.is_empty()
        {
            self.merge_facts(&host, outcome.ansible_facts);
        }
        if matches!(outcome.outcome, Status::Failed | Status::Unreachable) && !outcome.ignored {
            self.membership += 1;
        }
        let state = self.host(&host);
        let failure = |message: String| Failure {
            task: shown_name(&task.info.name).into_owned(),
            origin: task.info.origin.clone(),
            message,
            play: shown_name(task.play).into_owned(),
            connecting: false,
        };
        match outcome.outcome {
            Status::Ok => state.stats.ok += 1,
            Status::Changed => {
                state.stats.ok += 1;
                state.stats.changed += 1;
                state
                    .changed_tasks
                    .push(changed_what(&task.info.name, outcome.check_mode));
                for n in task.notify {
                    if !state.notified.contains(n) {
                        state.notified.push(n.clone());
                    }
                }
            }
            Status::Skipped => state.stats.skipped += 1,
            // As Ansible's strategy counts an ignored failure: `ok` and
            // `ignored`, and `changed` when the failed result changed something.
            Status::Failed | Status::Unreachable if outcome.ignored => {
                state.stats.ok += 1;
                state.stats.ignored += 1;
                if result_changed {
                    state.stats.changed += 1;
                }
            }
            Status::Failed => {
                state.failed = true;
                state.set_failure(failure(if task.no_log {
                    NO_LOG_MESSAGE.into()
                } else {
                    failure_text(&outcome.result)
                }));
                state.max_fail_counted = !task.handled;
                if !task.rescuable {
                    state.stats.failed += 1;
                }
                return true;
            }
            Status::Unreachable => {
                state.unreachable = true;
                state.stats.unreachable += 1;
                state.set_failure(failure(outcome.result.msg.clone().unwrap_or_default()));
                return true;
            }
        }
        false
    }

    /// `host`'s connection failed before any task of `play` ran on it: it
    /// is unreachable from here on, counted once in the recap as an
    /// unreachable task is.
    pub fn connect_failed(&mut self, host: &str, play: &str, origin: &str, message: &str) {
        self.set_unreachable(host);
        self.unreached_at_connect.push(host.to_string());
        let state = self.host(host);
        state.stats.unreachable += 1;
        state.set_failure(Failure {
            task: String::new(),
            origin: origin.to_string(),
            message: message.to_string(),
            play: play.to_string(),
            connecting: true,
        });
    }

    /// The hosts whose connection failed before the first task and that no
    /// task has seen unreachable yet; taken once.
    pub fn take_unreached_at_connect(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unreached_at_connect)
    }

    /// One batch's connection phase: its wall time, and each host's time
    /// and whether it failed.
    pub fn add_connect_timing(&mut self, wall: Duration, hosts: &[(String, Duration, bool)]) {
        let c = &mut self.connect;
        c.elapsed += wall;
        for (host, elapsed, failed) in hosts {
            c.hosts += 1;
            c.failed += u32::from(*failed);
            if c.slowest.as_ref().is_none_or(|(_, d)| elapsed > d) {
                c.slowest = Some((host.clone(), *elapsed));
            }
        }
    }

    pub fn add_timing(&mut self, info: &TaskInfo, host: Option<&str>, elapsed: Duration) {
        self.timings.push(TaskTiming {
            task: info.name.clone(),
            origin: info.origin.clone(),
            host: host.map(str::to_string),
            elapsed,
        });
    }

    /// For every host that stopped: where, why and what it left behind; the
    /// run's abort reason first. `None` when nothing stopped.
    pub fn stop_report(&self) -> Option<String> {
        let mut lines = Vec::new();
        if let Some(reason) = &self.abort_reason {
            if self.free_stops.is_empty() {
                lines.push(reason.clone());
            } else {
                lines.push(format!(
                    "{reason}; under strategy free each host stopped at its own place, and these tasks and everything after them did not start: {}",
                    grouped(self.free_stops.iter().map(|(t, h)| (t.clone(), h.as_str())))
                        .into_iter()
                        .map(|(task, mut hosts)| {
                            // in the recap's order, not the order lanes stopped
                            hosts.sort_unstable();
                            format!("{task} on {}", hosts.join(", "))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
        // Hosts a stop left alike (the same item of the same loop, the
        // same task not started) share one line.
        for ((before, after), hosts) in grouped(
            self.cut
                .iter()
                .map(|c| ((c.before.as_str(), c.after.as_str()), c.host.as_str())),
        ) {
            let mut hosts = hosts;
            hosts.sort_unstable();
            lines.push(format!("{before}{}{after}", hosts.join(", ")));
        }
        // Hosts that stopped the same way with nothing changed (the same
        // refused template, from a group's vars) are one line.
        let mut alike: Vec<(String, Vec<&str>, usize)> = Vec::new();
        for (host, state) in &self.hosts {
            let Some(failure) = &state.failure else {
                continue;
            };
            let kind = if state.unreachable {
                "became UNREACHABLE"
            } else {
                "FAILED"
            };
            let (before, after) = state.changed_around_failure();
            let mut changed = if before.is_empty() {
                format!("Nothing had been changed on {host} before that")
            } else {
                format!("Changed on {host} before that: {}", before.join("; "))
            };
            if !after.is_empty() {
                // a failed block's always, or handlers, ran after it
                changed.push_str(&format!(
                    ". Changed on {host} after it (always or handlers): {}",
                    after.join("; ")
                ));
            }
            // One full stop after the reason, whether or not it ends in one.
            let reason = failure.message.trim_end().trim_end_matches('.');
            let reason = if state.unreachable {
                reason.strip_prefix("unreachable: ").unwrap_or(reason)
            } else {
                reason
            };
            let at = if failure.connecting {
                format!(
                    "while connecting, before the first task of play `{}` ({})",
                    failure.play, failure.origin
                )
            } else {
                format!(
                    "at task `{}` ({}) in play `{}`",
                    failure.task, failure.origin, failure.play
                )
            };
            if before.is_empty() && after.is_empty() {
                let said = format!("{kind} {at}: {reason}.");
                match alike.iter_mut().find(|(s, _, _)| *s == said) {
                    Some((_, hosts, _)) => hosts.push(host),
                    None => {
                        // its place in host order, written below
                        alike.push((said, vec![host], lines.len()));
                        lines.push(String::new());
                    }
                }
                continue;
            }
            lines.push(format!(
                "{host} {kind} {at}: {reason}. {changed}. The rest of the run skipped {host}."
            ));
        }
        for (said, hosts, at) in alike {
            let hosts = hosts.join(", ");
            lines[at] = format!(
                "{hosts} {said} Nothing had been changed on {hosts} before that. The rest of the run skipped {hosts}."
            );
        }
        if self.signalled {
            // Hosts that changed the same tasks (often all of them, or none)
            // share one line: at 100 hosts, one line each buried the report.
            let said = self
                .hosts
                .iter()
                .filter(|(_, s)| s.failure.is_none())
                .map(|(host, s)| (s.changed_tasks.join("; "), host.as_str()));
            for (changed, hosts) in grouped(said) {
                let hosts = hosts.join(", ");
                lines.push(if changed.is_empty() {
                    format!("Nothing had been changed on {hosts}.")
                } else {
                    format!("Changed on {hosts} before the stop: {changed}.")
                });
            }
        }
        // One report, so the operator reads the whole story in one place.
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    pub fn recap(&self, elapsed: Duration) -> Recap {
        let mut slowest = self.timings.clone();
        slowest.sort_by_key(|x| std::cmp::Reverse(x.elapsed));
        Recap {
            hosts: self
                .hosts
                .iter()
                .map(|(h, s)| (h.clone(), s.stats))
                .collect(),
            slowest,
            connect: self.connect.clone(),
            elapsed,
        }
    }
}

/// How a stop report names a task that changed a host.
pub fn changed_what(task: &str, check_mode: bool) -> String {
    if check_mode {
        format!("{} (check mode: would change)", shown_name(task))
    } else {
        shown_name(task).into_owned()
    }
}

/// Hosts grouped by what is said of them, in the order each saying first
/// appears, every host kept: at 100 hosts, one line each buries a report.
pub(super) fn grouped<'h, K: Clone + Eq + std::hash::Hash>(
    said: impl Iterator<Item = (K, &'h str)>,
) -> Vec<(K, Vec<&'h str>)> {
    let mut groups: Vec<(K, Vec<&'h str>)> = Vec::new();
    let mut index: HashMap<K, usize> = HashMap::new();
    for (text, host) in said {
        match index.get(&text) {
            Some(&i) => groups[i].1.push(host),
            None => {
                index.insert(text.clone(), groups.len());
                groups.push((text, vec![host]));
            }
        }
    }
    groups
}

/// Longest quote of a program's output in a failure's one-line text (bytes).
const QUOTED_OUTPUT_MAX: usize = 400;

/// A failed result as one line for the stop report: its `msg`, and when
/// that is only the command module's generic "non-zero return code", the
/// exit code and what the program said last (stderr's last line, else
/// stdout's), so an operator reads the cause where the run stopped.
fn failure_text(result: &crate::modules::TaskResult) -> String {
    let msg = result.msg.clone().unwrap_or_default();
    let Some(rc) = result.rc.filter(|_| msg == "non-zero return code") else {
        return msg;
    };
    let last = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| t.lines().map(str::trim).rfind(|l| !l.is_empty()))
            .map(str::to_string)
    };
    match last(&result.stderr).or_else(|| last(&result.stdout)) {
        Some(said) => {
            let mut end = said.len().min(QUOTED_OUTPUT_MAX);
            while !said.is_char_boundary(end) {
                end -= 1;
            }
            let cut = if end < said.len() { " ..." } else { "" };
            format!("{msg} ({rc}): {}{cut}", &said[..end])
        }
        None => format!("{msg} ({rc}), no output"),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_failed_commands_stop_text_quotes_what_it_said_last() {
        let mut r = crate::modules::TaskResult::failed("non-zero return code");
        r.rc = Some(1);
        r.stdout = Some(
            "ok: lock held\nFAILED: the scheduler did not start: No space left on device\n\n"
                .into(),
        );
        assert_eq!(
            failure_text(&r),
            "non-zero return code (1): FAILED: the scheduler did not start: No space left on device"
        );
        r.stderr = Some("warning\nhvrscheduler: cannot bind\n".into());
        assert_eq!(
            failure_text(&r),
            "non-zero return code (1): hvrscheduler: cannot bind"
        );
        r.stderr = Some("é".repeat(QUOTED_OUTPUT_MAX));
        let text = failure_text(&r);
        assert!(
            text.ends_with(" ...") && text.len() < QUOTED_OUTPUT_MAX + 40,
            "{text}"
        );
        r.stderr = None;
        r.stdout = Some("\n".into());
        assert_eq!(failure_text(&r), "non-zero return code (1), no output");
        // a message of the task's own is kept as it is
        let mut own = crate::modules::TaskResult::failed("switchover refused: bc2 is tainted");
        own.rc = Some(2);
        own.stdout = Some("details".into());
        assert_eq!(failure_text(&own), "switchover refused: bc2 is tainted");
    }
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_stopped_the_same_way_with_nothing_changed_are_one_line() {
        let mut run = RunState::default();
        let failure = |message: &str| Failure {
            task: "debug".into(),
            origin: "play.yml:4:7".into(),
            message: message.into(),
            play: "all".into(),
            connecting: false,
        };
        for host in ["a", "b", "c", "d"] {
            let msg = if host == "c" {
                "other"
            } else {
                "hosts.ini:30:5: too large"
            };
            run.host(host).set_failure(failure(msg));
        }
        // b changed `copy` before its failure and `template` after it
        run.host("b").changed_tasks.push("copy".into());
        run.host("b")
            .set_failure(failure("hosts.ini:30:5: too large"));
        run.host("b").changed_tasks.push("template".into());
        let report = run.stop_report().unwrap();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(
            lines,
            [
                "a, d FAILED at task `debug` (play.yml:4:7) in play `all`: hosts.ini:30:5: too large. Nothing had been changed on a, d before that. The rest of the run skipped a, d.",
                // what changed is each host's own
                "b FAILED at task `debug` (play.yml:4:7) in play `all`: hosts.ini:30:5: too large. Changed on b before that: copy. Changed on b after it (always or handlers): template. The rest of the run skipped b.",
                "c FAILED at task `debug` (play.yml:4:7) in play `all`: other. Nothing had been changed on c before that. The rest of the run skipped c.",
            ]
        );
    }

    #[test]
    fn facts_are_variables_and_keys_of_ansible_facts() {
        let mut run = RunState::default();
        let mut facts = Map::new();
        facts.insert("ansible_hostname".into(), json!("bc1"));
        facts.insert("ansible_lo".into(), json!({"ipv4": {"prefix": "8"}}));
        run.merge_facts("h", facts);
        let known = run.known_of("h");
        assert_eq!(known.facts["ansible_hostname"], "bc1");
        assert_eq!(known.facts["ansible_facts"]["lo"]["ipv4"]["prefix"], "8");
        let mut more = Map::new();
        more.insert("ansible_kernel".into(), json!("6.1"));
        run.merge_facts("h", more);
        // what was handed out before is kept as it was (copy on write)
        assert!(known.facts["ansible_facts"].get("kernel").is_none());
        let facts = run.known_of("h").facts;
        assert_eq!(facts["ansible_facts"]["hostname"], "bc1");
        assert_eq!(facts["ansible_facts"]["kernel"], "6.1");
        assert!(run.get("h").is_some_and(|s| s.facts_gathered));
    }

    #[test]
    fn membership_moves_when_a_host_leaves_or_returns() {
        let mut run = RunState::default();
        let hosts = ["a".to_string(), "b".to_string()];
        let at_start = run.membership();
        run.connect_failed("a", "all", "play.yml:1:3", "refused");
        let after_a = run.membership();
        assert_ne!(after_a, at_start);
        assert_eq!(run.active(&hosts), ["b"]);
        run.set_ended("b", true);
        assert_ne!(run.membership(), after_a);
        assert!(run.active(&hosts).is_empty());
        let ended = run.membership();
        run.set_ended("b", false);
        assert_ne!(run.membership(), ended);
        assert_eq!(run.active(&hosts), ["b"]);
    }
}
