//! One task over the active hosts of a batch: tags, Ctrl-C and
//! `--start-at-task`, each host's job (variables, `delegate_to`), running
//! the jobs in parallel up to `forks`, `run_once`, reporting each outcome and
//! recording it in the run's state, and `any_errors_fatal`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Map, Value};

use super::host_task::{self, HostJob, HostOutcome};
use super::play::{Enclosing, Flow, PlayScope, Runner};
use super::state::{Failure, TaskRecord, NO_LOG_MESSAGE};
use crate::error::InputError;
use crate::load::task::{Action, Task};
use crate::modules::{Status, TaskResult};
use crate::plan::context::Shared;
use crate::plan::host_vars::HostVars;
use crate::report::controls::shown_name;
use crate::report::{Event, HostResult, TaskInfo};

impl Runner<'_> {
    /// Run a task's prepared jobs in parallel, up to `forks` at a time.
    pub(super) async fn run_jobs(
        &self,
        info: &TaskInfo,
        task: &Task,
        jobs: Vec<Job>,
    ) -> Vec<HostOutcome> {
        let shared = self.shared(info);
        let futures = jobs.into_iter().map(|job| {
            let shared = &shared;
            let semaphore = &self.forks;
            async move {
                match job {
                    Job::Ready(job) => {
                        let _permit = semaphore.acquire().await;
                        // A host whose turn (`forks`) comes after a stop
                        // request does not start the task.
                        let signal = self.options.interrupt.load(Ordering::SeqCst);
                        if signal != 0 {
                            let why = "while it waited for its turn under --forks";
                            return not_started_outcome(
                                job.host,
                                job.delegated_to,
                                job.no_log,
                                info,
                                signal,
                                why,
                            );
                        }
                        let _running = self.options.running.enter(&job.host, &info.name);
                        let outcome = host_task::run(shared, task, job).await;
                        // Known to a quit at once as soon as this host is
                        // done, not when every host is (the stop report,
                        // written later, has it too).
                        if outcome.outcome == Status::Changed {
                            self.options.running.changed(
                                &outcome.host,
                                &super::state::changed_what(&info.name, outcome.check_mode),
                            );
                        }
                        outcome
                    }
                    Job::Invalid(host, e) => input_error_outcome(host, e, task),
                    Job::Unprepared(host, signal) => {
                        // Its `no_log` was never rendered: masked (fail closed).
                        let no_log = task.common.no_log == Some(true)
                            || task.common.no_log_template.is_some();
                        let why = "before it was prepared";
                        not_started_outcome(host, None, no_log, info, signal, why)
                    }
                }
            }
        });
        join_all(futures).await
    }

    fn task_info(scope: &PlayScope<'_>, task: &Task, is_handler: bool) -> TaskInfo {
        TaskInfo {
            name: task.display_name(),
            module: task.module_name().to_string(),
            origin: task.origin.describe(),
            is_handler,
            play: scope.play.name.clone(),
        }
    }

    /// Whether a task runs at all on `hosts`: tags, Ctrl-C, `--start-at-task`,
    /// and under `free` whether another host's lane ended the play or the
    /// run (`meta: end_play`, `any_errors_fatal`): this host then stops
    /// before its next task, as Ansible's free strategy stops it.
    fn should_run(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        hosts: &[String],
        is_handler: bool,
    ) -> Result<bool, Flow> {
        if !is_handler && !self.tags.selects_task(&task.common) {
            return Ok(false);
        }
        let signal = self.options.interrupt.load(Ordering::SeqCst);
        if signal != 0 {
            let mut state = self.state();
            if scope.free {
                // Each lane stops at its own task: the stop report lists them.
                for host in hosts {
                    state.free_stops.push((
                        format!(
                            "`{}` ({})",
                            shown_name(&task.display_name()),
                            task.origin.describe()
                        ),
                        host.clone(),
                    ));
                }
                if state.abort_reason.is_none() {
                    state.abort_reason = Some(self.options.running.stop_reason(signal));
                }
            } else {
                // Under `serial`, earlier batches ran this task: say whose
                // run of it did not start.
                let whose = if scope.batch.len() < scope.hosts_len() {
                    format!(" on {} (this batch)", scope.batch.join(", "))
                } else {
                    String::new()
                };
                state.abort_reason = Some(format!(
                    "{}; `{}` ({}) and everything after it did not start{whose}",
                    self.options.running.stop_reason(signal),
                    shown_name(&task.display_name()),
                    task.origin.describe()
                ));
            }
            return Err(Flow::Abort);
        }
        if scope.free {
            if self.state().abort_reason.is_some() {
                return Err(Flow::Abort);
            }
            if scope.play_ended.load(Ordering::SeqCst) {
                return Err(Flow::EndPlay);
            }
        }
        let mut start_at = self.start_at.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = start_at.as_ref() {
            if scope.free {
                // Each host skips until it reaches the task; the run forgets
                // the name once the batch is done (`run_batch`).
                let mut reached = self
                    .start_reached
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let host = hosts.first().cloned().unwrap_or_default();
                if reached.contains(&host) {
                    return Ok(true);
                }
                if !task.answers_to(name) {
                    return Ok(false);
                }
                reached.insert(host);
                return Ok(true);
            }
            if !task.answers_to(name) {
                return Ok(false);
            }
            *start_at = None;
        }
        Ok(true)
    }

    pub(super) async fn run_task(
        &self,
        scope: &PlayScope<'_>,
        task: &Arc<Task>,
        hosts: &[String],
        enclosing: Enclosing,
        is_handler: bool,
    ) -> Flow {
        if scope.free {
            // Each lane lets the others take their turn before its next
            // task, as Ansible's free strategy hands every host one task per
            // pass: a task that never waits (`meta: end_host`, a skipped
            // task) is seen by the other lanes' next task, not raced past.
            tokio::task::yield_now().await;
        }
        match self.should_run(scope, task, hosts, is_handler) {
            Ok(true) => {}
            Ok(false) => return Flow::Continue,
            Err(flow) => return flow,
        }
        // Handlers get the hosts flush_handlers chose: with `force_handlers`
        // that includes hosts that failed after being notified.
        let active: Vec<String> = if is_handler {
            hosts.to_vec()
        } else {
            // A task an include brought in runs only where the include ran.
            let state = self.state();
            state
                .active(hosts)
                .into_iter()
                .filter(|h| {
                    state.get(h).is_none_or(|s| {
                        !task
                            .common
                            .includes
                            .iter()
                            .any(|g| s.skipped_includes.contains(&g.id))
                    })
                })
                .collect()
        };
        if active.is_empty() {
            return Flow::Continue;
        }
        let info = Self::task_info(scope, task, is_handler);
        if let Action::Meta(meta) = &task.action {
            return self
                .run_meta(scope, task, *meta, &active, &info, enclosing)
                .await;
        }
        let run_once = task.common.run_once == Some(true);
        if run_once && scope.free {
            // The first host to reach it runs it, for the batch; a host that
            // reaches it while it runs waits, then goes on with its result
            // (Ansible's free strategy runs it on every host, with a warning).
            let cell = scope.run_once_cell(task);
            return *cell
                .get_or_init(|| self.run_on(scope, task, &active, info, enclosing, true))
                .await;
        }
        self.run_on(scope, task, &active, info, enclosing, run_once)
            .await
    }

    /// A task (not `meta:`) on the hosts it runs on: `active`, or with
    /// `run_once` the first of them, its result shared with the others.
    async fn run_on(
        &self,
        scope: &PlayScope<'_>,
        task: &Arc<Task>,
        active: &[String],
        mut info: TaskInfo,
        enclosing: Enclosing,
        run_once: bool,
    ) -> Flow {
        let targets = if run_once { &active[..1] } else { active };
        let started = Instant::now();
        let shared = self.shared_for(scope);
        let mut jobs: Vec<Job> = Vec::new();
        for host in targets {
            // Preparing renders each host's variables: over thousands of
            // hosts that takes long enough that a stop must not wait for it.
            let signal = self.options.interrupt.load(Ordering::SeqCst);
            if signal != 0 {
                jobs.push(Job::Unprepared(host.clone(), signal));
                continue;
            }
            jobs.push(match self.prepare_job(scope, task, host, &shared) {
                Ok(job) => Job::Ready(job),
                Err(e) => Job::Invalid(host.clone(), e),
            });
        }
        // The jobs hold what they need; none may outlive them (see shared_for).
        drop(shared);
        // A templated name (`Stop HVR on {{ node }}`) is shown rendered with the
        // first host's variables, as Ansible does; if it cannot be, as written.
        // A `no_log` task keeps the template text (`set {{ secret }}`): the
        // name reaches every output channel (header, slowest tasks, stop
        // report, JSON, JUnit), and the rendered one could carry a secret.
        // Ansible prints the rendered name; this is a listed difference.
        let no_log = task.common.no_log == Some(true);
        if let (false, Some(name), Some(Job::Ready(job))) = (no_log, &task.name, jobs.first()) {
            if let Some(text) = name
                .as_str()
                .filter(|t| crate::template_text::is_template(t))
            {
                if let Ok(rendered) = self.templater.render_str(text, &job.vars, &name.origin) {
                    info.name = rendered;
                }
            }
        }
        self.reporter.event(&Event::TaskStart {
            task: info.clone(),
            hosts: targets.to_vec(),
        });
        let outcomes = self.run_jobs(&info, task, jobs).await;
        let mut newly_failed = Vec::new();
        for outcome in outcomes {
            let host = outcome.host.clone();
            if scope.free {
                // Each host walks alone under `free`: its lane's wall time
                // would count the wait for a fork slot, so time the host's
                // own run, named, as its `host_result` does.
                self.state().add_timing(&info, Some(&host), outcome.elapsed);
            }
            if run_once {
                // Under `free` the batch's other hosts, wherever they are.
                let others = if scope.free {
                    self.state().active(&scope.batch)
                } else {
                    active.to_vec()
                };
                for other in others.iter().filter(|h| **h != host) {
                    self.state()
                        .share(other, task.register.as_deref(), &outcome);
                }
            }
            let mut extra_ok = 0;
            if let Action::Include { id, .. } = &task.action {
                if outcome.outcome == Status::Skipped {
                    self.state().host(&host).skipped_includes.push(*id);
                } else if task.loop_items.is_some() {
                    let items = include_item_vars(task, &outcome.registered);
                    // Ansible counts each included item ok.
                    extra_ok = u32::try_from(items.len().saturating_sub(1)).unwrap_or(u32::MAX);
                    self.state().host(&host).include_items.insert(*id, items);
                }
            }
            self.state().host(&host).stats.ok += extra_ok;
            if self.apply_outcome(scope, &info, task, outcome, enclosing) {
                newly_failed.push(host);
            }
        }
        if !scope.free {
            self.state().add_timing(&info, None, started.elapsed());
            if super::connect::uses_the_hosts_connection(task) {
                self.charge_unreached_at_connect(scope, task, &mut newly_failed);
            }
        }
        // Hosts running forced handlers are not counted until they are done
        // (ansible-core: in its handlers state, not complete).
        let forced_handler = info.is_handler && scope.play.force_handlers;
        match self.check_fatal(scope, &info, task, &newly_failed, enclosing) {
            Flow::Continue if !scope.free && !forced_handler => self.check_max_fail(scope, &info),
            flow => flow,
        }
    }

    /// The hosts that could not be connected to before the batch's first
    /// task are unreachable at the first task that needs their connection,
    /// as in Ansible, which connects there: under `any_errors_fatal` that
    /// task stops the others (an unreachable host never spreads a
    /// `run_once` failure).
    pub(super) fn charge_unreached_at_connect(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        newly_failed: &mut Vec<String>,
    ) {
        let unreached = self.state().take_unreached_at_connect();
        if any_errors_fatal(scope, task) {
            newly_failed.extend(unreached.into_iter().filter(|h| scope.batch.contains(h)));
        }
    }

    /// `max_fail_percentage`, after each task as ansible-core 2.19's linear
    /// strategy checks it: more than that share of the batch failed stops
    /// the play there (the other hosts run nothing more, later batches and
    /// plays do not start).
    pub(super) fn check_max_fail(&self, scope: &PlayScope<'_>, info: &TaskInfo) -> Flow {
        let Some(pct) = scope.play.max_fail_percentage else {
            return Flow::Continue;
        };
        let mut state = self.state();
        let failed = state.failed_against_max(&scope.batch, scope.play.force_handlers);
        let total = scope.batch.len().max(1);
        let ratio = 100.0 * failed as f64 / total as f64;
        if ratio <= pct {
            return Flow::Continue;
        }
        let others = state.active(&scope.batch);
        let others = if others.is_empty() {
            String::new()
        } else {
            format!("; {} stopped here too", others.join(", "))
        };
        state.abort_reason = Some(format!(
            "play `{}` stopped at task `{}` ({}): {failed} of {total} hosts in the batch failed ({ratio:.0}% > max_fail_percentage {pct}%){others}. Nothing after this task ran on any host; later batches and plays were not started",
            shown_name(&scope.play.name),
            shown_name(&info.name),
            info.origin,
        ));
        Flow::Abort
    }

    /// When a task's variables cannot all be rendered: the variables its
    /// `when` reads, if that `when` is false for the host (the task is then
    /// skipped, and what it would have read is never rendered, as in
    /// Ansible). `None` when it has no `when`, a loop (whose items `when`
    /// may read), or a `when` that holds or cannot be told: the caller
    /// reports the first error.
    fn when_false_vars(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        host: &str,
        shared: &Shared,
    ) -> Option<HostVars> {
        if task.common.when.is_empty() || task.loop_items.is_some() {
            return None;
        }
        let demand = crate::plan::host_vars::when_refs(task);
        let vars = self
            .host_vars(scope, host, Some(task), shared, Some(demand))
            .ok()?;
        // In order, up to the first false one, as `run_once` evaluates them.
        for cond in &task.common.when {
            if !self.templater.condition_node(cond, &vars.context).ok()? {
                return Some(vars);
            }
        }
        None
    }

    /// A host's run of a task: its variables and where the task runs
    /// (the host, or its `delegate_to` with this host's variables).
    fn prepare_job(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        host: &str,
        shared: &Shared,
    ) -> Result<HostJob, InputError> {
        let HostVars {
            context: vars,
            lazy,
        } = match self.host_vars(scope, host, Some(task), shared, None) {
            Ok(v) => v,
            Err(e) => self.when_false_vars(scope, task, host, shared).ok_or(e)?,
        };
        let (target_host, delegated_to) = match &task.common.delegate_to {
            Some(node) => {
                let name = self.templater.render_str(
                    node.as_str().unwrap_or_default(),
                    &vars,
                    &node.origin,
                )?;
                if !self.inventory.contains_host(&name)
                    && name != "localhost"
                    && name != "127.0.0.1"
                {
                    return Err(InputError::at(
                        &node.origin,
                        format!("delegate_to `{name}` is not in the inventory"),
                        "delegated here",
                    )
                    .with_help("delegate to an inventory host, or to localhost"));
                }
                (name.clone(), Some(name))
            }
            None => (host.to_string(), None),
        };
        let delegated_vars;
        let target_vars = if delegated_to.is_some() {
            let mut v = self.delegated_connection_vars(&target_host, shared)?;
            if target_host == "localhost" && !self.inventory.contains_host("localhost") {
                v.insert("ansible_connection".into(), json!("local"));
            }
            delegated_vars = v;
            &delegated_vars
        } else {
            vars.own()
        };
        let target = self.connection_spec(scope.play, &target_host, target_vars, &vars)?;
        let no_log = host_no_log(&self.templater, task, &vars);
        Ok(HostJob {
            host: host.to_string(),
            vars,
            lazy: Some(lazy),
            target,
            delegated_to,
            no_log,
        })
    }

    /// Report a host's outcome and record it. Returns whether the host just
    /// left the play (failed or unreachable, not ignored).
    pub(super) fn apply_outcome(
        &self,
        scope: &PlayScope<'_>,
        info: &TaskInfo,
        task: &Task,
        mut outcome: HostOutcome,
        enclosing: Enclosing,
    ) -> bool {
        let no_log = outcome.no_log;
        // A quit at once killed this task on this host: what it returns now
        // is the kill's doing, not a result of the task (a run that ended
        // on its own before the kill landed still counts).
        if !matches!(
            outcome.outcome,
            Status::Ok | Status::Changed | Status::Skipped
        ) && crate::transport::groups::quitting()
            && self.options.running.was_cut(&info.name, &outcome.host)
        {
            // The loop items that finished before the cut are results like
            // any other (a run without a stop reports each); those that
            // changed the host are in the stop report's changes.
            let mut items = std::mem::take(&mut outcome.items);
            // The item that ran when the quit came is the cut, not a failure.
            if items.last().is_some_and(|i| {
                !matches!(i.status, Status::Ok | Status::Changed | Status::Skipped)
            }) {
                items.pop();
            }
            let changed: Vec<String> = items
                .iter()
                .filter(|i| i.status == Status::Changed)
                .map(|i| {
                    if no_log {
                        "(hidden: no_log)".to_string()
                    } else {
                        i.label.clone()
                    }
                })
                .collect();
            self.report_items(info, no_log, items, &outcome);
            if !changed.is_empty() {
                self.state().host(&outcome.host).changed_tasks.push(format!(
                    "{} ({} {}, before the quit cut it)",
                    super::state::changed_what(&info.name, outcome.check_mode),
                    if changed.len() == 1 { "item" } else { "items" },
                    changed.join(", ")
                ));
            }
            self.reporter.event(&Event::Cut {
                task: info.clone(),
                host: outcome.host.clone(),
                started_at: outcome.started_at,
                elapsed: outcome.elapsed,
            });
            return false;
        }
        // A loop's item results go to the reporter one by one, each dropped
        // here once reported: the reporter keeps its own copy of each until
        // the task's report, so reporting from a borrowed list held every
        // item twice (a loop near its 256 MiB bound peaked at 551 MB).
        // Recording the outcome does not read them.
        let items = std::mem::take(&mut outcome.items);
        self.report_outcome(info, no_log, items, &outcome);
        let record = TaskRecord {
            info,
            task_name: task.bare_name().unwrap_or_default(),
            play: &scope.play.name,
            register: task.register.as_deref(),
            notify: &task.notify,
            no_log,
            rescuable: enclosing.rescue,
            handled: enclosing.rescue || enclosing.always,
        };
        self.state().record(&record, outcome)
    }

    /// One `HostResult` event per loop item, then one for the task.
    fn report_outcome(
        &self,
        info: &TaskInfo,
        no_log: bool,
        items: Vec<super::host_task::LoopItem>,
        outcome: &HostOutcome,
    ) {
        self.report_items(info, no_log, items, outcome);
        self.reporter.event(&Event::HostResult {
            task: info.clone(),
            result: HostResult {
                host: outcome.host.clone(),
                outcome: outcome.outcome,
                ignored: outcome.ignored,
                item: None,
                delegated_to: outcome.delegated_to.clone(),
                result: self.shown(no_log, outcome.result.clone()),
                elapsed: outcome.elapsed,
                started_at: outcome.started_at,
                check_mode: outcome.check_mode,
            },
        });
    }

    /// A result as the reporters get it: masked under `no_log`; a
    /// `set_fact`'s facts as JSON for reporters that print them.
    fn shown(&self, no_log: bool, result: TaskResult) -> TaskResult {
        if no_log {
            masked(&result)
        } else if self.reporter.prints_facts() {
            // a loop item's `set_fact` facts as JSON, one item at a time
            super::host_task::settled(&result).into_owned()
        } else {
            // for reports that never print facts, left in template
            // form (null placeholders in `facts`)
            result
        }
    }

    /// One `HostResult` event per loop item.
    fn report_items(
        &self,
        info: &TaskInfo,
        no_log: bool,
        items: Vec<super::host_task::LoopItem>,
        outcome: &HostOutcome,
    ) {
        for super::host_task::LoopItem {
            label,
            result,
            status: item_outcome,
            started_at,
            elapsed,
        } in items
        {
            self.reporter.event(&Event::HostResult {
                task: info.clone(),
                result: HostResult {
                    host: outcome.host.clone(),
                    outcome: item_outcome,
                    ignored: false,
                    item: Some(if no_log {
                        "(hidden: no_log)".into()
                    } else {
                        label
                    }),
                    delegated_to: outcome.delegated_to.clone(),
                    result: self.shown(no_log, result),
                    elapsed,
                    started_at,
                    check_mode: outcome.check_mode,
                },
            });
        }
    }

    /// After a task: a fatal failure (`any_errors_fatal`, or a failed `run_once` task,
    /// which Ansible's linear strategy makes fatal: `task.any_errors_fatal
    /// or run_once`): every other host of the batch still in the play
    /// (Ansible's `hosts_left`) stops too. Inside a block with a `rescue`,
    /// under any_errors_fatal, they go to that rescue with no failed task of
    /// their own (not counted `rescued`), as Ansible marks them failed; a
    /// host outside the block (it skipped the include the task came from)
    /// leaves the play without the rescue, and after a `run_once` failure
    /// the other hosts skip the first handling of their block (`fail_out`),
    /// as in ansible-core 2.19. Elsewhere the run stops.
    pub(super) fn check_fatal(
        &self,
        scope: &PlayScope<'_>,
        info: &TaskInfo,
        task: &Task,
        newly_failed: &[String],
        enclosing: Enclosing,
    ) -> Flow {
        let any_errors_fatal = any_errors_fatal(scope, task);
        let run_once = task.common.run_once == Some(true) && !scope.free && !any_errors_fatal;
        if !(any_errors_fatal || run_once) || newly_failed.is_empty() {
            return Flow::Continue;
        }
        // A rescue or an always around the task keeps the play going: every
        // host goes to it first (ansible-core 2.19's `mark_host_failed`), and
        // a host still failed after it leaves the play then.
        if enclosing.rescue || (enclosing.always && !scope.free) {
            if !scope.free {
                let mut state = self.state();
                for host in state.active(&scope.batch) {
                    let outside = state.get(&host).is_some_and(|s| {
                        task.common
                            .includes
                            .iter()
                            .any(|g| s.skipped_includes.contains(&g.id))
                    });
                    let put_out = run_once || outside;
                    let why = if run_once {
                        "the task runs once for every host (run_once) and failed on"
                    } else if outside {
                        "this host skipped the include the task came from, so it is outside the block's rescue, and the play has any_errors_fatal: the task failed on"
                    } else {
                        "the play has any_errors_fatal and the task failed on"
                    };
                    let then = if put_out {
                        "the host skips the rescue of the block it is in (without one, its always), and leaves the play unless an enclosing block's rescue takes it"
                    } else {
                        "the host goes to the rescue or always of the block it is in, and leaves the play unless a rescue takes it"
                    };
                    let failure = Failure {
                        task: shown_name(&info.name).into_owned(),
                        origin: info.origin.clone(),
                        message: format!(
                            "{why} {}; as in Ansible, {then}",
                            newly_failed.join(", ")
                        ),
                        play: shown_name(&scope.play.name).into_owned(),
                        connecting: false,
                    };
                    if put_out {
                        state.fail_out(&host, failure);
                    } else {
                        state.fail_by_others(&host, failure);
                    }
                }
            }
            return Flow::Continue;
        }
        let others = self.state().active(&scope.batch);
        let others = if others.is_empty() {
            "no other host".to_string()
        } else {
            others.join(", ")
        };
        let why = if run_once {
            format!(
                "`{}` (run_once: it ran for every host) failed on {}",
                shown_name(&info.name),
                newly_failed.join(", ")
            )
        } else {
            format!(
                "{} failed and the play has any_errors_fatal",
                newly_failed.join(", ")
            )
        };
        let mut state = self.state();
        state.fatal_stop = true;
        state.abort_reason = Some(if scope.free {
            format!(
                "play `{}` stopped because {why}; under strategy free {others} stopped before their next task",
                shown_name(&scope.play.name),
            )
        } else {
            format!(
                "play `{}` stopped because {why}; {others} stopped here too. Nothing after this task ran on any host{}",
                shown_name(&scope.play.name),
                if scope.play.force_handlers {
                    " but the notified handlers (force_handlers)"
                } else {
                    ""
                }
            )
        });
        Flow::Abort
    }
}

/// `any_errors_fatal` for `task`: its own, else its play's.
fn any_errors_fatal(scope: &PlayScope<'_>, task: &Task) -> bool {
    task.common
        .any_errors_fatal
        .unwrap_or(scope.play.any_errors_fatal)
}

/// The loop variables of each item a looped `include_tasks` ran for (its
/// `when` held), from the include's registered `results`: the `loop_var`,
/// `ansible_loop_var`, the `index_var` with `ansible_index_var`, and
/// `ansible_loop` with `extended`, as Ansible gives the included tasks.
fn include_item_vars(task: &Task, registered: &Value) -> Vec<Map<String, Value>> {
    let control = &task.loop_control;
    let Some(Value::Array(results)) = registered.get("results") else {
        return Vec::new();
    };
    results
        .iter()
        .filter(|r| r.get("skipped") != Some(&Value::Bool(true)))
        .map(|r| {
            let mut vars = Map::new();
            let names = [
                Some(control.loop_var.as_str()),
                Some("ansible_loop_var"),
                control.index_var.as_deref(),
                control.index_var.as_ref().map(|_| "ansible_index_var"),
                Some("ansible_loop"),
            ];
            for name in names.into_iter().flatten() {
                if let Some(v) = r.get(name) {
                    vars.insert(name.to_string(), v.clone());
                }
            }
            vars
        })
        .collect()
}

/// Whether a host's results are hidden: `no_log` as written, or a templated
/// one rendered with the host's variables. Fail closed: only a value Ansible
/// reads as false (`false`, `no`, `off`, `n`, `f`, `0`, any case) shows them;
/// one that does not render, or is not a boolean, hides them.
pub(super) fn host_no_log(
    templater: &crate::plan::template::Templater,
    task: &Task,
    vars: &crate::plan::context::Context,
) -> bool {
    let Some(node) = &task.common.no_log_template else {
        return task.common.no_log == Some(true);
    };
    match templater.render_node(node, vars) {
        Ok(Value::Bool(b)) => b,
        Ok(Value::Number(n)) => n.as_f64() != Some(0.0),
        Ok(Value::String(s)) => !matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "n" | "f" | "0"
        ),
        _ => true,
    }
}

/// One host's share of a task, as `run_jobs` takes it.
pub(super) enum Job {
    Ready(HostJob),
    /// Its task `vars` or `delegate_to` did not render.
    Invalid(String, InputError),
    /// A stop request (this signal) came before it was prepared.
    Unprepared(String, i32),
}

/// A host that a stop request reached before the task started on it:
/// `when` says at what point ("while it waited for its turn under --forks").
fn not_started_outcome(
    host: String,
    delegated_to: Option<String>,
    no_log: bool,
    info: &TaskInfo,
    signal: i32,
    when: &str,
) -> HostOutcome {
    let cut = super::host_task::Cut {
        host: host.clone(),
        before: format!("`{}` did not start on ", info.name),
        after: format!(" ({} {when})", super::stop_cause(signal)),
    };
    let result = TaskResult::skipped(cut.sentence());
    HostOutcome {
        host,
        outcome: Status::Skipped,
        ignored: false,
        registered: result.to_registered(),
        result,
        items: Vec::new(),
        facts: Map::new(),
        ansible_facts: Map::new(),
        input_error: None,
        delegated_to,
        no_log,
        started_at: 0.0,
        elapsed: Duration::ZERO,
        check_mode: false,
        cut: Some(cut),
    }
}

/// A host whose run could not even be prepared (its task `vars`, its
/// `delegate_to` did not render). As in Ansible, and as an error met while
/// running: `ignore_errors` makes it a failed and ignored task, else the run
/// ends with exit 4.
fn input_error_outcome(host: String, e: InputError, task: &Task) -> HostOutcome {
    let ignored = task.common.ignore_errors == Some(true);
    let result = TaskResult::failed(e.one_line());
    HostOutcome {
        host,
        outcome: Status::Failed,
        ignored,
        registered: result.to_registered(),
        result,
        items: Vec::new(),
        facts: Map::new(),
        ansible_facts: Map::new(),
        input_error: (!ignored).then_some(e),
        delegated_to: None,
        no_log: task.common.no_log == Some(true),
        started_at: 0.0,
        elapsed: Duration::ZERO,
        check_mode: false,
        cut: None,
    }
}

fn masked(result: &TaskResult) -> TaskResult {
    TaskResult {
        status: result.status,
        msg: Some(NO_LOG_MESSAGE.into()),
        rc: result.rc,
        ..TaskResult::default()
    }
}
