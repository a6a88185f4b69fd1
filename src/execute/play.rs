//! The play runner, a conductor: it selects a play's hosts, walks its
//! batches and sections, runs each task on every active host of the batch
//! (through [`host_task`]) and hands the outcomes to [`RunState`]. Blocks
//! live in `blocks.rs`, handlers and `meta:` in `handlers.rs`, batching and
//! ordering in `batches.rs`, a host's variables in `plan::host_vars`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use super::batches::{batches, no_hosts_left, order_hosts, over_max_fail};
use super::connections::{spec_for, Connections};
use super::handlers::check_notify_targets;
use super::host_task::{self, HostJob, HostOutcome, TaskShared};
use super::state::{RunState, TaskRecord, NO_LOG_MESSAGE};
use super::tags::TagFilter;
use super::{RunOptions, RunSummary};
use crate::error::InputError;
use crate::load::inventory::Inventory;
use crate::load::play::Play;
use crate::load::playbook::Playbook;
use crate::load::task::{Action, Task, TaskCommon, TaskSource};
use crate::modules::TaskResult;
use crate::plan::host_vars::{self, HostFacts, PlayVars};
use crate::plan::template::Templater;
use crate::report::{Event, HostResult, Outcome, Reporter, TaskInfo};
use crate::yaml::Node;

/// Whether the play goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    /// `meta: end_play`: this play is over, the next one runs.
    EndPlay,
    /// `any_errors_fatal` or `max_fail_percentage`: the whole run stops.
    Abort,
}

/// The play being run and what was computed for it once.
pub(super) struct PlayScope<'p> {
    pub play: &'p Play,
    vars_files: Vec<(String, Node)>,
    /// All hosts of the play (for `ansible_play_hosts`).
    hosts: Vec<String>,
    pub batch: Vec<String>,
    /// Whether anything the play reads mentions `hostvars` (see
    /// [`host_vars::mentions_hostvars`]).
    uses_hostvars: bool,
}

pub struct Runner<'a> {
    inventory: &'a Inventory,
    options: &'a RunOptions,
    pub(super) reporter: &'a dyn Reporter,
    pub(super) templater: Templater,
    connections: Connections,
    tags: TagFilter,
    /// Each host's inventory variables, computed once per run.
    inventory_vars: HashMap<String, Map<String, Value>>,
    pub(super) state: RunState,
    /// `--start-at-task`, until that task is reached.
    start_at: Option<String>,
}

impl<'a> Runner<'a> {
    pub fn new(
        inventory: &'a Inventory,
        options: &'a RunOptions,
        reporter: &'a dyn Reporter,
    ) -> Runner<'a> {
        Runner {
            inventory,
            options,
            reporter,
            templater: Templater::new(),
            connections: Connections::new(options.connect.clone()),
            tags: TagFilter::new(&options.tags, &options.skip_tags),
            inventory_vars: HashMap::new(),
            state: RunState::default(),
            start_at: options.start_at_task.clone(),
        }
    }

    pub async fn run(mut self, playbook: &Playbook) -> Result<RunSummary, InputError> {
        let started = Instant::now();
        if let Some(name) = &self.start_at {
            let found = playbook
                .plays
                .iter()
                .flat_map(Play::all_tasks)
                .any(|t| t.display_name() == *name);
            if !found {
                return Err(InputError::plain(format!(
                    "--start-at-task: no task is named `{name}`"
                ))
                .with_help("`baton run PLAYBOOK --list-tasks` shows the task names"));
            }
        }
        for play in &playbook.plays {
            check_notify_targets(play)?;
        }
        let mut result = Ok(());
        for play in &playbook.plays {
            if let Err(e) = self.run_play(play).await {
                result = Err(e);
                break;
            }
            if self.state.abort_reason.is_some() {
                break;
            }
        }
        self.connections.close_all().await;
        if let Some(reason) = self.state.stop_report() {
            self.reporter.event(&Event::Stopped { reason });
        }
        let recap = self.state.recap(started.elapsed());
        self.reporter.event(&Event::Recap(recap.clone()));
        result?;
        let interrupted = self.options.interrupt.load(Ordering::SeqCst);
        let exit_code =
            RunSummary::compute_exit_code(&recap, &self.state.input_errors, interrupted);
        Ok(RunSummary {
            recap,
            exit_code,
            input_errors: self.state.input_errors,
        })
    }

    fn inventory_vars(&mut self, host: &str) -> &Map<String, Value> {
        if !self.inventory_vars.contains_key(host) {
            let vars = self.inventory.host_vars(host);
            self.inventory_vars.insert(host.to_string(), vars);
        }
        &self.inventory_vars[host]
    }

    /// The play's hosts (its pattern within `--limit`, without hosts that
    /// already left the run), in its `order:`. `None` when there are none;
    /// a warning says why.
    fn select_hosts(&self, play: &Play, vars: &Value) -> Result<Option<Vec<String>>, InputError> {
        let pattern = self.templater.render_str(
            play.hosts.as_str().unwrap_or_default(),
            vars,
            &play.hosts.origin,
        )?;
        let mut hosts = self.inventory.select_at(&pattern, &play.hosts.origin)?;
        if let Some(limit) = &self.options.limit {
            let allowed = self.inventory.select(limit)?;
            hosts.retain(|h| allowed.contains(h));
        }
        let before = hosts.len();
        hosts.retain(|h| !self.state.has_left(h));
        if hosts.is_empty() {
            let why = if before > 0 {
                "every matching host already failed or was unreachable".to_string()
            } else if self.options.limit.is_some() {
                format!("no host matches `{pattern}` within --limit")
            } else {
                format!("no host matches `{pattern}`")
            };
            self.reporter.event(&Event::Warning {
                host: None,
                message: format!("play `{}` skipped: {why}", play.name),
            });
            return Ok(None);
        }
        order_hosts(&mut hosts, play.order);
        Ok(Some(hosts))
    }

    async fn run_play(&mut self, play: &Play) -> Result<(), InputError> {
        let pattern_vars = host_vars::pattern_vars(play, &self.options.extra_vars, &self.templater);
        let Some(hosts) = self.select_hosts(play, &pattern_vars)? else {
            return Ok(());
        };
        for h in &hosts {
            self.state.host(h).ended = false;
        }
        self.reporter.event(&Event::PlayStart {
            name: play.name.clone(),
            hosts: hosts.clone(),
        });
        let vars_files = host_vars::load_vars_files(play, &pattern_vars, &self.templater)?;
        let uses_hostvars = host_vars::mentions_hostvars(
            play,
            &vars_files,
            &self.options.extra_vars,
            &self.inventory.to_list_json().to_string(),
        );
        let mut scope = PlayScope {
            play,
            vars_files,
            hosts: hosts.clone(),
            batch: Vec::new(),
            uses_hostvars,
        };
        for batch in batches(&hosts, &play.serial) {
            scope.batch = batch;
            let flow = self.run_batch(&scope).await;
            if flow == Flow::Abort || self.state.abort_reason.is_some() {
                break;
            }
            if let Some(reason) = no_hosts_left(play, &scope.batch, &self.state) {
                self.state.abort_reason = Some(reason);
                break;
            }
            if flow == Flow::EndPlay {
                break;
            }
            if let Some(reason) = over_max_fail(play, &scope.batch, &self.state) {
                self.state.abort_reason = Some(reason);
                break;
            }
        }
        Ok(())
    }

    /// One batch: facts, then each section followed by its handlers.
    async fn run_batch(&mut self, scope: &PlayScope<'_>) -> Flow {
        let play = scope.play;
        if play.gather_facts {
            self.gather_facts(scope).await;
        }
        let mut flow = Flow::Continue;
        for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
            if flow != Flow::Continue {
                break;
            }
            flow = self.run_items(scope, section, &scope.batch, false).await;
            if flow == Flow::Continue || (flow == Flow::EndPlay && play.force_handlers) {
                let f = self.flush_handlers(scope, &scope.batch).await;
                if flow == Flow::Continue {
                    flow = f;
                }
            }
        }
        flow
    }

    /// Variables for one host and task, in precedence order.
    pub(super) fn host_vars(
        &mut self,
        scope: &PlayScope<'_>,
        host: &str,
        task: Option<&Task>,
        hostvars: &Value,
    ) -> Result<Map<String, Value>, InputError> {
        let inventory = self.inventory_vars(host).clone();
        let empty = Map::new();
        let state = self.state.get(host);
        let layers = HostFacts {
            inventory: &inventory,
            facts: state.map_or(&empty, |s| &s.facts),
            registered: state.map_or(&empty, |s| &s.registered),
            hostvars,
            play_hosts: self.state.active(&scope.hosts),
            batch: self.state.active(&scope.batch),
        };
        let play = PlayVars {
            play: scope.play,
            vars_files: &scope.vars_files,
            extra_vars: &self.options.extra_vars,
            check: self.options.check,
            diff: self.options.diff,
        };
        host_vars::host_vars(&play, &layers, task, &self.templater)
    }

    /// `hostvars` (empty when the play never mentions it).
    pub(super) fn hostvars_for(&mut self, scope: &PlayScope<'_>) -> Value {
        if !scope.uses_hostvars {
            return Value::Object(Map::new());
        }
        let hosts: Vec<(String, Map<String, Value>)> = self
            .inventory
            .host_names()
            .into_iter()
            .map(|h| {
                let vars = self.inventory_vars(&h).clone();
                (h, vars)
            })
            .collect();
        let state = &self.state;
        host_vars::hostvars(hosts.into_iter().map(|(h, vars)| {
            let known = state.get(&h).map(|s| (&s.facts, &s.registered));
            (h, vars, known)
        }))
    }

    /// `gather_facts`: Ansible's implicit "Gathering Facts" task, the `setup`
    /// module on each active host of the batch that has no facts yet. It
    /// connects with the inventory's variables only, as before any task's
    /// variables are known, and its failure never stops the run by itself.
    async fn gather_facts(&mut self, scope: &PlayScope<'_>) {
        let hosts: Vec<String> = self
            .state
            .active(&scope.batch)
            .into_iter()
            .filter(|h| !self.state.get(h).is_some_and(|s| s.facts_gathered))
            .collect();
        if hosts.is_empty() {
            return;
        }
        let task = gathering_facts_task(scope.play);
        let info = TaskInfo {
            name: "Gathering Facts".into(),
            module: "gather_facts".into(),
            origin: scope.play.origin.describe(),
            is_handler: false,
            play: scope.play.name.clone(),
        };
        self.reporter.event(&Event::TaskStart {
            task: info.clone(),
            hosts: hosts.clone(),
        });
        let started = Instant::now();
        let mut jobs = Vec::new();
        for host in &hosts {
            let vars = self.inventory_vars(host).clone();
            let job = spec_for(
                host,
                &vars,
                scope.play.connection.as_deref(),
                scope.play.remote_user.as_deref(),
                self.connections.options(),
            )
            .map(|target| HostJob {
                host: host.clone(),
                vars,
                target,
                delegated_to: None,
            });
            jobs.push(job.map_err(|e| (host.clone(), e)));
        }
        let outcomes = self.run_jobs(&info, &task, jobs).await;
        for outcome in outcomes {
            self.apply_outcome(scope, &info, &task, outcome, false);
        }
        self.state.add_timing(&info, started.elapsed());
    }

    fn shared<'s>(&'s self, info: &'s TaskInfo) -> TaskShared<'s> {
        TaskShared {
            templater: &self.templater,
            connections: &self.connections,
            reporter: self.reporter,
            check: self.options.check,
            diff: self.options.diff,
            info,
        }
    }

    /// Run a task's prepared jobs in parallel, up to `forks` at a time.
    async fn run_jobs(
        &self,
        info: &TaskInfo,
        task: &Task,
        jobs: Vec<Result<HostJob, (String, InputError)>>,
    ) -> Vec<HostOutcome> {
        let shared = self.shared(info);
        let semaphore = Semaphore::new(self.options.forks.max(1));
        let futures = jobs.into_iter().map(|job| {
            let shared = &shared;
            let semaphore = &semaphore;
            async move {
                match job {
                    Ok(job) => {
                        let _permit = semaphore.acquire().await;
                        host_task::run(shared, task, job).await
                    }
                    Err((host, e)) => input_error_outcome(host, e),
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

    /// Whether a task runs at all: tags, Ctrl-C, `--start-at-task`.
    fn should_run(&mut self, task: &Task, is_handler: bool) -> Result<bool, Flow> {
        if !is_handler && !self.tags.selects(&task.common.tags) {
            return Ok(false);
        }
        if self.options.interrupt.load(Ordering::SeqCst) {
            self.state.abort_reason = Some(format!(
                "interrupted by the operator (Ctrl-C): tasks already running finished on every host; `{}` ({}) and everything after it did not start",
                task.display_name(),
                task.origin.describe()
            ));
            return Err(Flow::Abort);
        }
        if let Some(name) = &self.start_at {
            if task.display_name() != *name {
                return Ok(false);
            }
            self.start_at = None;
        }
        Ok(true)
    }

    pub(super) async fn run_task(
        &mut self,
        scope: &PlayScope<'_>,
        task: &Arc<Task>,
        hosts: &[String],
        rescuable: bool,
        is_handler: bool,
    ) -> Flow {
        match self.should_run(task, is_handler) {
            Ok(true) => {}
            Ok(false) => return Flow::Continue,
            Err(flow) => return flow,
        }
        let active = self.state.active(hosts);
        if active.is_empty() {
            return Flow::Continue;
        }
        let mut info = Self::task_info(scope, task, is_handler);
        if let Action::Meta(meta) = &task.action {
            return self.run_meta(scope, task, *meta, &active, &info).await;
        }
        let run_once = task.common.run_once == Some(true);
        let targets = if run_once { &active[..1] } else { &active[..] };
        let started = Instant::now();
        let hostvars = self.hostvars_for(scope);
        let mut jobs: Vec<Result<HostJob, (String, InputError)>> = Vec::new();
        for host in targets {
            jobs.push(
                self.prepare_job(scope, task, host, &hostvars)
                    .map_err(|e| (host.clone(), e)),
            );
        }
        // A templated name (`Stop HVR on {{ node }}`) is shown rendered with the
        // first host's variables, as Ansible does; if it cannot be, as written.
        if let (Some(name), Some(Ok(job))) = (&task.name, jobs.first()) {
            if let Some(text) = name
                .as_str()
                .filter(|t| crate::plan::template::is_template(t))
            {
                let vars = Value::Object(job.vars.clone());
                if let Ok(rendered) = self.templater.render_str(text, &vars, &name.origin) {
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
            if run_once {
                for other in active.iter().filter(|h| **h != host) {
                    self.state.share(other, task.register.as_deref(), &outcome);
                }
            }
            if self.apply_outcome(scope, &info, task, outcome, rescuable) {
                newly_failed.push(host);
            }
        }
        self.state.add_timing(&info, started.elapsed());
        let fatal = task
            .common
            .any_errors_fatal
            .unwrap_or(scope.play.any_errors_fatal);
        self.check_fatal(scope, &newly_failed, fatal && !rescuable)
    }

    /// A host's run of a task: its variables and where the task runs
    /// (the host, or its `delegate_to` with this host's variables).
    fn prepare_job(
        &mut self,
        scope: &PlayScope<'_>,
        task: &Task,
        host: &str,
        hostvars: &Value,
    ) -> Result<HostJob, InputError> {
        let vars = self.host_vars(scope, host, Some(task), hostvars)?;
        let (target_host, delegated_to) = match &task.common.delegate_to {
            Some(node) => {
                let name = self.templater.render_str(
                    node.as_str().unwrap_or_default(),
                    &Value::Object(vars.clone()),
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
        let target_vars = if delegated_to.is_some() {
            let mut v = self.inventory_vars(&target_host).clone();
            if target_host == "localhost" && !self.inventory.contains_host("localhost") {
                v.insert("ansible_connection".into(), json!("local"));
            }
            v
        } else {
            vars.clone()
        };
        let target = spec_for(
            &target_host,
            &target_vars,
            scope.play.connection.as_deref(),
            scope.play.remote_user.as_deref(),
            self.connections.options(),
        )?;
        Ok(HostJob {
            host: host.to_string(),
            vars,
            target,
            delegated_to,
        })
    }

    /// Report a host's outcome and record it. Returns whether the host just
    /// left the play (failed or unreachable, not ignored).
    fn apply_outcome(
        &mut self,
        scope: &PlayScope<'_>,
        info: &TaskInfo,
        task: &Task,
        outcome: HostOutcome,
        rescuable: bool,
    ) -> bool {
        let no_log = task.common.no_log == Some(true);
        self.report_outcome(info, no_log, &outcome);
        let record = TaskRecord {
            info,
            play: &scope.play.name,
            register: task.register.as_deref(),
            notify: &task.notify,
            no_log,
            rescuable,
        };
        self.state.record(&record, outcome)
    }

    /// One `HostResult` event per loop item, then one for the task.
    fn report_outcome(&self, info: &TaskInfo, no_log: bool, outcome: &HostOutcome) {
        let shown = |result: &TaskResult| {
            if no_log {
                masked(result)
            } else {
                result.clone()
            }
        };
        for (label, result, item_outcome) in &outcome.items {
            self.reporter.event(&Event::HostResult {
                task: info.clone(),
                result: HostResult {
                    host: outcome.host.clone(),
                    outcome: *item_outcome,
                    ignored: false,
                    item: Some(if no_log {
                        "(hidden: no_log)".into()
                    } else {
                        label.clone()
                    }),
                    delegated_to: outcome.delegated_to.clone(),
                    result: shown(result),
                    elapsed: Duration::ZERO,
                    started_at: outcome.started_at,
                    check_mode: outcome.check_mode,
                },
            });
        }
        self.reporter.event(&Event::HostResult {
            task: info.clone(),
            result: HostResult {
                host: outcome.host.clone(),
                outcome: outcome.outcome,
                ignored: outcome.ignored,
                item: None,
                delegated_to: outcome.delegated_to.clone(),
                result: shown(&outcome.result),
                elapsed: outcome.elapsed,
                started_at: outcome.started_at,
                check_mode: outcome.check_mode,
            },
        });
    }

    /// After a task: stop the run if a failure is fatal.
    fn check_fatal(&mut self, scope: &PlayScope<'_>, newly_failed: &[String], fatal: bool) -> Flow {
        if fatal && !newly_failed.is_empty() {
            let others = self.state.active(&scope.batch);
            self.state.abort_reason = Some(format!(
                "play `{}` stopped because {} failed and the play has any_errors_fatal; {} stopped here too{}",
                scope.play.name,
                newly_failed.join(", "),
                if others.is_empty() { "no other host".to_string() } else { others.join(", ") },
                ". Nothing after this task ran on any host"
            ));
            return Flow::Abort;
        }
        Flow::Continue
    }
}

/// The `setup` task `gather_facts: true` stands for. Facts are read in check
/// mode too (setup changes nothing), so it never counts as a check-mode run.
fn gathering_facts_task(play: &Play) -> Task {
    Task {
        name: None,
        action: Action::Module {
            module: &crate::modules::setup::Setup,
            args: Vec::new(),
        },
        common: TaskCommon {
            check_mode: Some(false),
            ..TaskCommon::default()
        },
        loop_items: None,
        loop_var: "item".into(),
        index_var: None,
        loop_label: None,
        loop_pause: None,
        register: None,
        until: None,
        retries: None,
        delay: None,
        changed_when: None,
        failed_when: None,
        notify: Vec::new(),
        listen: Vec::new(),
        origin: play.origin.clone(),
        source: Arc::new(TaskSource {
            dir: play.dir.clone(),
            role: None,
            playbook_dir: play.dir.clone(),
        }),
    }
}

fn input_error_outcome(host: String, e: InputError) -> HostOutcome {
    HostOutcome {
        host,
        outcome: Outcome::Failed,
        ignored: false,
        result: TaskResult::failed(e.one_line()),
        items: Vec::new(),
        registered: Value::Null,
        facts: Map::new(),
        ansible_facts: Map::new(),
        input_error: Some(e),
        delegated_to: None,
        started_at: 0.0,
        elapsed: Duration::ZERO,
        check_mode: false,
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
