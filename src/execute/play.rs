//! The play runner: host selection, serial batches, sections, blocks with
//! rescue/always, handlers, and the stop rules (`any_errors_fatal`,
//! `max_fail_percentage`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{join_all, BoxFuture};
use futures::FutureExt;
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use super::connections::{spec_for, Connections};
use super::host_task::{self, HostJob, HostOutcome, TaskShared};
use super::state::{Failure, HostState};
use super::tags::TagFilter;
use super::{facts, RunOptions, RunSummary};
use crate::error::InputError;
use crate::load::inventory::Inventory;
use crate::load::play::{HostOrder, Play, Serial};
use crate::load::playbook::Playbook;
use crate::load::task::{Action, Item, MetaAction, Task};
use crate::modules::script::new_nonce;
use crate::modules::TaskResult;
use crate::plan::template::Templater;
use crate::plan::vars::{merge, merge_partial, Layer};
use crate::report::{Event, HostResult, Outcome, Recap, Reporter, TaskInfo, TaskTiming};
use crate::yaml::Node;

const NO_LOG_MESSAGE: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// Whether the play goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    /// `meta: end_play`: this play is over, the next one runs.
    EndPlay,
    /// `any_errors_fatal` or `max_fail_percentage`: the whole run stops.
    Abort,
}

/// The play being run and what was computed for it once.
struct PlayScope<'p> {
    play: &'p Play,
    vars_files: Vec<(String, Node)>,
    /// All hosts of the play (for `ansible_play_hosts`).
    hosts: Vec<String>,
    batch: Vec<String>,
    /// Whether anything the play reads mentions `hostvars`. Building it costs
    /// every host's variables for every host and task, so it is built only then.
    uses_hostvars: bool,
}

pub struct Runner<'a> {
    inventory: &'a Inventory,
    options: &'a RunOptions,
    reporter: &'a dyn Reporter,
    templater: Templater,
    connections: Connections,
    tags: TagFilter,
    inventory_vars: HashMap<String, Map<String, Value>>,
    states: BTreeMap<String, HostState>,
    input_errors: Vec<InputError>,
    timings: Vec<TaskTiming>,
    start_at: Option<String>,
    abort_reason: Option<String>,
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
            states: BTreeMap::new(),
            input_errors: Vec::new(),
            timings: Vec::new(),
            start_at: options.start_at_task.clone(),
            abort_reason: None,
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
            if self.abort_reason.is_some() {
                break;
            }
        }
        self.connections.close_all().await;
        self.report_stops();
        let recap = Recap {
            hosts: self
                .states
                .iter()
                .map(|(h, s)| (h.clone(), s.stats))
                .collect(),
            slowest: {
                let mut t = self.timings.clone();
                t.sort_by_key(|x| std::cmp::Reverse(x.elapsed));
                t
            },
            elapsed: started.elapsed(),
        };
        self.reporter.event(&Event::Recap(recap.clone()));
        result?;
        let interrupted = self.options.interrupt.load(Ordering::SeqCst);
        let exit_code = RunSummary::compute_exit_code(&recap, &self.input_errors, interrupted);
        Ok(RunSummary {
            recap,
            exit_code,
            input_errors: self.input_errors,
        })
    }

    /// Say, for every host that stopped, where and what it left behind.
    fn report_stops(&self) {
        let mut lines = Vec::new();
        if let Some(reason) = &self.abort_reason {
            lines.push(reason.clone());
        }
        for (host, state) in &self.states {
            let Some(failure) = &state.failure else {
                continue;
            };
            let kind = if state.unreachable {
                "became UNREACHABLE"
            } else {
                "FAILED"
            };
            let changed = if state.changed_tasks.is_empty() {
                format!("Nothing had been changed on {host} before that")
            } else {
                format!(
                    "Changed on {host} before that: {}",
                    state.changed_tasks.join("; ")
                )
            };
            lines.push(format!(
                "{host} {kind} at task `{}` ({}) in play `{}`: {}. {changed}. The rest of the run skipped {host}.",
                failure.task, failure.origin, failure.play, failure.message
            ));
        }
        if !lines.is_empty() {
            // One report, so the operator reads the whole story in one place.
            self.reporter.event(&Event::Stopped {
                reason: lines.join("\n"),
            });
        }
    }

    fn state(&mut self, host: &str) -> &mut HostState {
        self.states.entry(host.to_string()).or_default()
    }

    fn is_active(&self, host: &str) -> bool {
        self.states.get(host).is_none_or(HostState::active)
    }

    fn inventory_vars(&mut self, host: &str) -> &Map<String, Value> {
        if !self.inventory_vars.contains_key(host) {
            let vars = self.inventory.host_vars(host);
            self.inventory_vars.insert(host.to_string(), vars);
        }
        &self.inventory_vars[host]
    }

    async fn run_play(&mut self, play: &Play) -> Result<(), InputError> {
        let pattern_vars = {
            let layers = [
                Layer::Nodes(&play.vars),
                Layer::Templated(&self.options.extra_vars, "-e"),
            ];
            Value::Object(merge_partial(&layers, &self.templater))
        };
        let pattern = self.templater.render_str(
            play.hosts.as_str().unwrap_or_default(),
            &pattern_vars,
            &play.hosts.origin,
        )?;
        let mut hosts = self.inventory.select_at(&pattern, &play.hosts.origin)?;
        if let Some(limit) = &self.options.limit {
            let allowed = self.inventory.select(limit)?;
            hosts.retain(|h| allowed.contains(h));
        }
        let before = hosts.len();
        hosts.retain(|h| {
            self.states
                .get(h)
                .is_none_or(|s| !s.failed && !s.unreachable)
        });
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
            return Ok(());
        }
        order_hosts(&mut hosts, play.order);
        for h in &hosts {
            self.state(h).ended = false;
        }
        self.reporter.event(&Event::PlayStart {
            name: play.name.clone(),
            hosts: hosts.clone(),
        });
        let vars_files = self.load_vars_files(play, &pattern_vars)?;
        let uses_hostvars = self.mentions_hostvars(play, &vars_files);
        let mut scope = PlayScope {
            play,
            vars_files,
            hosts: hosts.clone(),
            batch: Vec::new(),
            uses_hostvars,
        };
        for batch in batches(&hosts, &play.serial) {
            scope.batch = batch;
            let mut flow = Flow::Continue;
            if play.gather_facts {
                flow = self.gather_facts(&scope).await;
            }
            for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
                if flow != Flow::Continue {
                    break;
                }
                let batch = scope.batch.clone();
                flow = self.run_items(&scope, section, &batch, false).await;
                if flow == Flow::Continue || (flow == Flow::EndPlay && play.force_handlers) {
                    let f = self.flush_handlers(&scope, &batch).await;
                    if flow == Flow::Continue {
                        flow = f;
                    }
                }
            }
            if flow == Flow::Abort || self.abort_reason.is_some() {
                break;
            }
            // As Ansible ("NO MORE HOSTS LEFT"): when every host of a batch
            // failed, the run ends; later batches and plays do not start.
            let all_failed = scope.batch.iter().all(|h| {
                self.states
                    .get(h)
                    .is_some_and(|s| s.failed || s.unreachable)
            });
            if all_failed {
                self.abort_reason = Some(format!(
                    "every host of play `{}` ({}) failed or was unreachable: no hosts left, so the run stopped; later plays were not started",
                    play.name,
                    scope.batch.join(", ")
                ));
                break;
            }
            if flow == Flow::EndPlay {
                break;
            }
            if let Some(pct) = play.max_fail_percentage {
                let failed = scope
                    .batch
                    .iter()
                    .filter(|h| {
                        self.states
                            .get(*h)
                            .is_some_and(|s| s.failed || s.unreachable)
                    })
                    .count();
                let ratio = 100.0 * failed as f64 / scope.batch.len().max(1) as f64;
                if ratio > pct {
                    self.abort_reason = Some(format!(
                        "play `{}` stopped: {failed} of {} hosts in the batch failed ({ratio:.0}% > max_fail_percentage {pct}%); later batches were not started",
                        play.name,
                        scope.batch.len()
                    ));
                    break;
                }
            }
        }
        Ok(())
    }

    fn load_vars_files(
        &self,
        play: &Play,
        vars: &Value,
    ) -> Result<Vec<(String, Node)>, InputError> {
        let mut pairs = Vec::new();
        for node in &play.vars_files {
            let name =
                self.templater
                    .render_str(node.as_str().unwrap_or_default(), vars, &node.origin)?;
            let path = play.dir.join(&name);
            if !path.is_file() {
                return Err(InputError::at(
                    &node.origin,
                    format!("vars file {} does not exist", path.display()),
                    "listed here",
                )
                .with_help("vars_files paths are relative to the playbook's directory"));
            }
            let loaded = crate::yaml::parse_file(Path::new(&path))?;
            pairs.extend(crate::load::fields::var_pairs(
                &loaded,
                &format!("vars file {}", path.display()),
            )?);
        }
        Ok(pairs)
    }

    /// Variables for one host and task, in precedence order.
    fn host_vars(
        &mut self,
        scope: &PlayScope<'_>,
        host: &str,
        task: Option<&Task>,
        hostvars: &Value,
    ) -> Result<Map<String, Value>, InputError> {
        let inventory = self.inventory_vars(host).clone();
        let state = self.states.get(host);
        let empty = Map::new();
        let facts = state.map_or(&empty, |s| &s.facts);
        let registered = state.map_or(&empty, |s| &s.registered);
        let play = scope.play;
        let no_task_vars: Vec<(String, Node)> = Vec::new();
        let task_vars = task.map_or(&no_task_vars, |t| &t.common.vars);
        let role_path = task
            .and_then(|t| t.source.role.as_ref())
            .map(|r| (json!(r.path.display().to_string()), json!(r.name)));
        let all_hosts: Vec<Value> = scope.hosts.iter().map(|h| json!(h)).collect();
        let active: Vec<Value> = scope
            .hosts
            .iter()
            .filter(|h| self.is_active(h))
            .map(|h| json!(h))
            .collect();
        let batch: Vec<Value> = scope
            .batch
            .iter()
            .filter(|h| self.is_active(h))
            .map(|h| json!(h))
            .collect();
        let mut layers = vec![
            Layer::Nodes(&play.role_defaults),
            Layer::Templated(&inventory, "inventory"),
            Layer::Data(facts),
            Layer::Nodes(&play.vars),
            Layer::Nodes(&scope.vars_files),
            Layer::Nodes(&play.role_vars),
            Layer::Nodes(task_vars),
            Layer::Data(registered),
            Layer::Templated(&self.options.extra_vars, "-e"),
            Layer::One("hostvars", hostvars.clone()),
            Layer::One("play_hosts", Value::Array(active.clone())),
            Layer::One("ansible_play_hosts", Value::Array(active)),
            Layer::One("ansible_play_hosts_all", Value::Array(all_hosts)),
            Layer::One("ansible_play_batch", Value::Array(batch)),
            Layer::One("ansible_play_name", json!(play.name)),
            Layer::One("ansible_check_mode", json!(self.options.check)),
            Layer::One("ansible_diff_mode", json!(self.options.diff)),
            Layer::One("playbook_dir", json!(play.dir.display().to_string())),
        ];
        if let Some((path, name)) = role_path {
            layers.push(Layer::One("role_path", path));
            layers.push(Layer::One("role_name", name));
        }
        merge(&layers, &self.templater)
    }

    fn mentions_hostvars(&self, play: &Play, vars_files: &[(String, Node)]) -> bool {
        const WORD: &str = "hostvars";
        let in_files = play
            .all_tasks()
            .iter()
            .chain(play.handlers.iter())
            .map(|t| &t.origin.file)
            .chain(
                play.vars
                    .iter()
                    .chain(vars_files)
                    .chain(&play.role_defaults)
                    .chain(&play.role_vars)
                    .map(|(_, n)| &n.origin.file),
            )
            .any(|f| f.text.contains(WORD));
        // Files read only at run time (include_vars) cannot be scanned now.
        let reads_more = play
            .all_tasks()
            .iter()
            .any(|t| matches!(t.action, Action::IncludeVars(_)));
        in_files
            || reads_more
            || serde_json::to_string(&self.options.extra_vars).is_ok_and(|t| t.contains(WORD))
            || self.inventory.to_list_json().to_string().contains(WORD)
    }

    /// `hostvars`: every inventory host's inventory vars, facts and registered
    /// values (empty when the play never mentions it).
    fn hostvars_for(&mut self, scope: &PlayScope<'_>) -> Value {
        if scope.uses_hostvars {
            self.hostvars()
        } else {
            Value::Object(Map::new())
        }
    }

    /// `hostvars`: every inventory host's inventory vars, facts and registered values.
    fn hostvars(&mut self) -> Value {
        let mut all = Map::new();
        for host in self.inventory.host_names() {
            let mut vars = self.inventory_vars(&host).clone();
            if let Some(state) = self.states.get(&host) {
                vars.extend(state.facts.clone());
                vars.extend(state.registered.clone());
            }
            all.insert(host, Value::Object(vars));
        }
        Value::Object(all)
    }

    async fn gather_facts(&mut self, scope: &PlayScope<'_>) -> Flow {
        let hosts: Vec<String> = scope
            .batch
            .iter()
            .filter(|h| self.is_active(h) && !self.states.get(*h).is_some_and(|s| s.facts_gathered))
            .cloned()
            .collect();
        if hosts.is_empty() {
            return Flow::Continue;
        }
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
            match spec_for(
                host,
                &vars,
                scope.play.connection.as_deref(),
                scope.play.remote_user.as_deref(),
                self.connections.options(),
            ) {
                Ok(spec) => jobs.push((host.clone(), Ok(spec))),
                Err(e) => jobs.push((host.clone(), Err(e))),
            }
        }
        let shared = self.shared(&info);
        let semaphore = Semaphore::new(self.options.forks.max(1));
        let futures = jobs.into_iter().map(|(host, spec)| {
            let shared = &shared;
            let semaphore = &semaphore;
            async move {
                let _permit = semaphore.acquire().await;
                let started_at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                let t0 = Instant::now();
                shared.reporter.event(&Event::HostStart {
                    host: host.clone(),
                    task: shared.info.clone(),
                });
                let (result, outcome, input_error) = match spec {
                    Err(e) => (TaskResult::failed(e.one_line()), Outcome::Failed, Some(e)),
                    Ok(spec) => match shared.connections.get(&spec).await {
                        Err(e) => (
                            TaskResult::failed(format!("{e}")),
                            Outcome::Unreachable,
                            None,
                        ),
                        Ok(conn) => {
                            let nonce = new_nonce();
                            let request = crate::transport::ExecRequest {
                                script: facts::script(&nonce),
                                ..Default::default()
                            };
                            match conn.exec(&request).await {
                                Ok(out) => {
                                    let r = facts::answer(&out, &nonce);
                                    let o = if r.is_failed() {
                                        Outcome::Failed
                                    } else {
                                        Outcome::Ok
                                    };
                                    (r, o, None)
                                }
                                Err(e) if e.is_unreachable() => (
                                    TaskResult::failed(e.to_string()),
                                    Outcome::Unreachable,
                                    None,
                                ),
                                Err(e) => {
                                    (TaskResult::failed(e.to_string()), Outcome::Failed, None)
                                }
                            }
                        }
                    },
                };
                HostOutcome {
                    host,
                    outcome,
                    ignored: false,
                    registered: Value::Null,
                    facts: Map::new(),
                    items: Vec::new(),
                    result,
                    input_error,
                    delegated_to: None,
                    started_at,
                    elapsed: t0.elapsed(),
                    check_mode: false,
                }
            }
        });
        let outcomes = join_all(futures).await;
        for mut outcome in outcomes {
            if outcome.outcome == Outcome::Ok {
                let state = self.state(&outcome.host);
                state.facts = std::mem::take(&mut outcome.result.facts);
                state.facts_gathered = true;
            }
            self.apply_outcome(scope, &info, None, outcome, false);
        }
        self.timings.push(TaskTiming {
            task: info.name.clone(),
            origin: info.origin.clone(),
            elapsed: started.elapsed(),
        });
        self.check_fatal(scope, &[], false)
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

    fn run_items<'s>(
        &'s mut self,
        scope: &'s PlayScope<'s>,
        items: &'s [Item],
        hosts: &'s [String],
        rescuable: bool,
    ) -> BoxFuture<'s, Flow> {
        async move {
            for item in items {
                let flow = match item {
                    Item::Task(task) => self.run_task(scope, task, hosts, rescuable, false).await,
                    Item::Block(block) => {
                        let entered: Vec<String> = hosts
                            .iter()
                            .filter(|h| self.is_active(h))
                            .cloned()
                            .collect();
                        if entered.is_empty() {
                            continue;
                        }
                        let mut flow = self
                            .run_items(
                                scope,
                                &block.block,
                                &entered,
                                rescuable || !block.rescue.is_empty(),
                            )
                            .await;
                        let failed_here: Vec<String> = entered
                            .iter()
                            .filter(|h| {
                                self.states
                                    .get(*h)
                                    .is_some_and(|s| s.failed && !s.unreachable)
                            })
                            .cloned()
                            .collect();
                        if flow != Flow::Abort
                            && !block.rescue.is_empty()
                            && !failed_here.is_empty()
                        {
                            for h in &failed_here {
                                self.state(h).failed = false;
                            }
                            let rescue_flow = self
                                .run_items(scope, &block.rescue, &failed_here, rescuable)
                                .await;
                            for h in &failed_here {
                                let state = self.state(h);
                                if !state.failed {
                                    state.stats.rescued += 1;
                                    state.failure = None;
                                }
                            }
                            if rescue_flow != Flow::Continue {
                                flow = rescue_flow;
                            }
                        }
                        if flow != Flow::Abort && !block.always.is_empty() {
                            let still_failed: Vec<String> = entered
                                .iter()
                                .filter(|h| self.states.get(*h).is_some_and(|s| s.failed))
                                .cloned()
                                .collect();
                            for h in &still_failed {
                                self.state(h).failed = false;
                            }
                            let always_hosts: Vec<String> = entered
                                .iter()
                                .filter(|h| self.is_active(h))
                                .cloned()
                                .collect();
                            let always_flow = self
                                .run_items(scope, &block.always, &always_hosts, rescuable)
                                .await;
                            for h in &still_failed {
                                self.state(h).failed = true;
                            }
                            if always_flow != Flow::Continue {
                                flow = always_flow;
                            }
                        }
                        flow
                    }
                };
                if flow != Flow::Continue {
                    return flow;
                }
            }
            Flow::Continue
        }
        .boxed()
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

    async fn run_task(
        &mut self,
        scope: &PlayScope<'_>,
        task: &Arc<Task>,
        hosts: &[String],
        rescuable: bool,
        is_handler: bool,
    ) -> Flow {
        if !is_handler && !self.tags.selects(&task.common.tags) {
            return Flow::Continue;
        }
        if self.options.interrupt.load(Ordering::SeqCst) {
            self.abort_reason = Some(format!(
                "interrupted by the operator (Ctrl-C): tasks already running finished on every host; `{}` ({}) and everything after it did not start",
                task.display_name(),
                task.origin.describe()
            ));
            return Flow::Abort;
        }
        if let Some(name) = &self.start_at {
            if task.display_name() != *name {
                return Flow::Continue;
            }
            self.start_at = None;
        }
        let active: Vec<String> = hosts
            .iter()
            .filter(|h| self.is_active(h))
            .cloned()
            .collect();
        if active.is_empty() {
            return Flow::Continue;
        }
        let mut info = Self::task_info(scope, task, is_handler);
        if let Action::Meta(meta) = &task.action {
            return self.run_meta(scope, task, *meta, &active, &info).await;
        }
        let run_once = task.common.run_once == Some(true);
        let targets: Vec<String> = if run_once {
            active[..1].to_vec()
        } else {
            active.clone()
        };
        let started = Instant::now();
        let hostvars = self.hostvars_for(scope);
        let mut jobs: Vec<Result<HostJob, (String, InputError)>> = Vec::new();
        for host in &targets {
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
            hosts: targets.clone(),
        });
        let outcomes = {
            let shared = self.shared(&info);
            let semaphore = Semaphore::new(self.options.forks.max(1));
            let futures = jobs.into_iter().map(|job| {
                let shared = &shared;
                let semaphore = &semaphore;
                let task: &Task = task;
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
        };
        let mut newly_failed = Vec::new();
        for outcome in outcomes {
            let host = outcome.host.clone();
            if run_once {
                // One run stands for every host of the batch: they all get its result.
                for other in active.iter().filter(|h| **h != host) {
                    let state = self.state(other);
                    if let Some(name) = &task.register {
                        state
                            .registered
                            .insert(name.clone(), outcome.registered.clone());
                    }
                    state.registered.extend(outcome.facts.clone());
                }
            }
            if self.apply_outcome(scope, &info, Some(task), outcome, rescuable) {
                newly_failed.push(host);
            }
        }
        self.timings.push(TaskTiming {
            task: info.name.clone(),
            origin: info.origin.clone(),
            elapsed: started.elapsed(),
        });
        let fatal = task
            .common
            .any_errors_fatal
            .unwrap_or(scope.play.any_errors_fatal);
        self.check_fatal(scope, &newly_failed, fatal && !rescuable)
    }

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

    /// Record a host's outcome and report it. Returns whether the host just
    /// left the play (failed or unreachable, not ignored).
    fn apply_outcome(
        &mut self,
        scope: &PlayScope<'_>,
        info: &TaskInfo,
        task: Option<&Task>,
        outcome: HostOutcome,
        rescuable: bool,
    ) -> bool {
        let no_log = task.and_then(|t| t.common.no_log) == Some(true);
        let host = outcome.host.clone();
        for (label, result, item_outcome) in &outcome.items {
            self.reporter.event(&Event::HostResult {
                task: info.clone(),
                result: HostResult {
                    host: host.clone(),
                    outcome: *item_outcome,
                    ignored: false,
                    item: Some(if no_log {
                        "(hidden: no_log)".into()
                    } else {
                        label.clone()
                    }),
                    delegated_to: outcome.delegated_to.clone(),
                    result: if no_log {
                        masked(result)
                    } else {
                        result.clone()
                    },
                    elapsed: Duration::ZERO,
                    started_at: outcome.started_at,
                    check_mode: outcome.check_mode,
                },
            });
        }
        self.reporter.event(&Event::HostResult {
            task: info.clone(),
            result: HostResult {
                host: host.clone(),
                outcome: outcome.outcome,
                ignored: outcome.ignored,
                item: None,
                delegated_to: outcome.delegated_to.clone(),
                result: if no_log {
                    masked(&outcome.result)
                } else {
                    outcome.result.clone()
                },
                elapsed: outcome.elapsed,
                started_at: outcome.started_at,
                check_mode: outcome.check_mode,
            },
        });
        if let Some(e) = outcome.input_error {
            if !self
                .input_errors
                .iter()
                .any(|x| x.location == e.location && x.message == e.message)
            {
                self.input_errors.push(e);
            }
        }
        let play_name = scope.play.name.clone();
        // What a `rescue` section sees (Ansible's `ansible_failed_task` and
        // `ansible_failed_result`), masked under no_log.
        let failed_vars = (outcome.outcome == Outcome::Failed && !outcome.ignored).then(|| {
            let result = if no_log {
                json!({"censored": NO_LOG_MESSAGE, "failed": true})
            } else {
                outcome.registered.clone()
            };
            (json!({"name": info.name, "origin": info.origin}), result)
        });
        let state = self.state(&host);
        if let Some((failed_task, failed_result)) = failed_vars {
            state
                .registered
                .insert("ansible_failed_task".into(), failed_task);
            state
                .registered
                .insert("ansible_failed_result".into(), failed_result);
        }
        if let Some(task) = task {
            if let Some(name) = &task.register {
                state.registered.insert(name.clone(), outcome.registered);
            }
        }
        for (k, v) in outcome.facts {
            state.registered.insert(k, v);
        }
        let failure = |message: String| Failure {
            task: info.name.clone(),
            origin: info.origin.clone(),
            message,
            play: play_name.clone(),
        };
        match outcome.outcome {
            Outcome::Ok => state.stats.ok += 1,
            Outcome::Changed => {
                state.stats.ok += 1;
                state.stats.changed += 1;
                let what = if outcome.check_mode {
                    format!("{} (check mode: would change)", info.name)
                } else {
                    info.name.clone()
                };
                state.changed_tasks.push(what);
                if let Some(task) = task {
                    for n in &task.notify {
                        if !state.notified.contains(n) {
                            state.notified.push(n.clone());
                        }
                    }
                }
            }
            Outcome::Skipped => state.stats.skipped += 1,
            Outcome::Failed if outcome.ignored => state.stats.ignored += 1,
            Outcome::Unreachable if outcome.ignored => state.stats.ignored += 1,
            Outcome::Failed => {
                state.failed = true;
                state.failure = Some(failure(if no_log {
                    NO_LOG_MESSAGE.into()
                } else {
                    outcome.result.msg.clone().unwrap_or_default()
                }));
                if !rescuable {
                    state.stats.failed += 1;
                }
                return true;
            }
            Outcome::Unreachable => {
                state.unreachable = true;
                state.stats.unreachable += 1;
                state.failure = Some(failure(outcome.result.msg.clone().unwrap_or_default()));
                return true;
            }
        }
        false
    }

    /// After a task: stop the run if a failure is fatal.
    fn check_fatal(&mut self, scope: &PlayScope<'_>, newly_failed: &[String], fatal: bool) -> Flow {
        if fatal && !newly_failed.is_empty() {
            let others: Vec<String> = scope
                .batch
                .iter()
                .filter(|h| self.is_active(h))
                .cloned()
                .collect();
            self.abort_reason = Some(format!(
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

    async fn run_meta(
        &mut self,
        scope: &PlayScope<'_>,
        task: &Arc<Task>,
        meta: MetaAction,
        active: &[String],
        info: &TaskInfo,
    ) -> Flow {
        let hostvars = self.hostvars_for(scope);
        let mut applies = Vec::new();
        for host in active {
            let vars = match self.host_vars(scope, host, Some(task), &hostvars) {
                Ok(v) => Value::Object(v),
                Err(e) => {
                    self.input_errors.push(e);
                    continue;
                }
            };
            let mut yes = true;
            for cond in &task.common.when {
                match self.templater.condition_node(cond, &vars) {
                    Ok(b) => yes &= b,
                    Err(e) => {
                        self.input_errors.push(e);
                        yes = false;
                    }
                }
            }
            if yes {
                applies.push(host.clone());
            }
        }
        match meta {
            MetaAction::FlushHandlers => self.flush_handlers(scope, active).await,
            MetaAction::Noop => Flow::Continue,
            MetaAction::EndHost => {
                for h in &applies {
                    self.state(h).ended = true;
                }
                if !applies.is_empty() {
                    self.reporter.event(&Event::Warning {
                        host: None,
                        message: format!(
                            "{}: meta end_host ended the play for {}",
                            info.origin,
                            applies.join(", ")
                        ),
                    });
                }
                Flow::Continue
            }
            MetaAction::EndPlay => {
                if applies.is_empty() {
                    return Flow::Continue;
                }
                self.reporter.event(&Event::Warning {
                    host: None,
                    message: format!(
                        "{}: meta end_play ended play `{}`",
                        info.origin, scope.play.name
                    ),
                });
                Flow::EndPlay
            }
            MetaAction::ClearHostErrors => {
                for h in &scope.batch {
                    let state = self.state(h);
                    if state.failed {
                        state.failed = false;
                        state.failure = None;
                    }
                }
                Flow::Continue
            }
        }
    }

    fn flush_handlers<'s>(
        &'s mut self,
        scope: &'s PlayScope<'s>,
        hosts: &'s [String],
    ) -> BoxFuture<'s, Flow> {
        async move {
            loop {
                let mut ran = false;
                for handler in &scope.play.handlers {
                    let mut names = vec![handler.display_name()];
                    names.extend(handler.listen.iter().cloned());
                    let notified: Vec<String> = hosts
                        .iter()
                        .filter(|h| {
                            let Some(s) = self.states.get(*h) else {
                                return false;
                            };
                            let eligible = s.active()
                                || (scope.play.force_handlers && s.failed && !s.unreachable);
                            eligible && s.notified.iter().any(|n| names.contains(n))
                        })
                        .cloned()
                        .collect();
                    if notified.is_empty() {
                        continue;
                    }
                    for h in &notified {
                        self.state(h).notified.retain(|n| !names.contains(n));
                    }
                    ran = true;
                    let flow = self.run_task(scope, handler, &notified, false, true).await;
                    if flow != Flow::Continue {
                        return flow;
                    }
                }
                if !ran {
                    return Flow::Continue;
                }
            }
        }
        .boxed()
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

/// Every notify must name a handler (by name or `listen`); checked before the play runs.
fn check_notify_targets(play: &Play) -> Result<(), InputError> {
    let mut known: Vec<String> = Vec::new();
    for h in &play.handlers {
        known.push(h.display_name());
        known.extend(h.listen.iter().cloned());
    }
    for task in play.all_tasks().iter().chain(play.handlers.iter()) {
        for n in &task.notify {
            if !known.contains(n) {
                let hint = crate::error::did_you_mean(n, known.iter().map(String::as_str))
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                let at = task.name.as_ref().map_or(&task.origin, |n| &n.origin);
                return Err(InputError::at(
                    at,
                    format!(
                        "task notifies `{n}`, but play `{}` has no handler by that name",
                        play.name
                    ),
                    "in this task",
                )
                .with_help(format!(
                    "{hint}handlers: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
    }
    Ok(())
}

fn order_hosts(hosts: &mut [String], order: HostOrder) {
    match order {
        HostOrder::Inventory => {}
        HostOrder::ReverseInventory => hosts.reverse(),
        HostOrder::Sorted => hosts.sort(),
        HostOrder::ReverseSorted => {
            hosts.sort();
            hosts.reverse();
        }
        HostOrder::Shuffle => {
            // A cheap shuffle is enough: order only has to be unpredictable, not secure.
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos() as usize);
            for i in (1..hosts.len()).rev() {
                let j = (seed.wrapping_mul(2654435761).wrapping_add(i * 40503)) % (i + 1);
                hosts.swap(i, j);
            }
        }
    }
}

/// Split hosts into `serial` batches; the last step repeats, as in Ansible.
pub fn batches(hosts: &[String], serial: &[Serial]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let step = serial[i.min(serial.len() - 1)];
        let size = match step {
            Serial::Count(n) => n,
            Serial::Percent(p) => ((hosts.len() as f64 * p / 100.0).floor() as usize).max(1),
        }
        .min(rest.len());
        out.push(rest[..size].to_vec());
        rest = &rest[size..];
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    #[test]
    fn serial_batches() {
        assert_eq!(batches(&hosts(3), &[]).len(), 1);
        let b = batches(&hosts(5), &[Serial::Count(1), Serial::Count(2)]);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 2, 2]);
        let b = batches(&hosts(4), &[Serial::Percent(50.0)]);
        assert_eq!(
            b,
            vec![
                vec!["h1".to_string(), "h2".into()],
                vec!["h3".into(), "h4".into()]
            ]
        );
        let b = batches(&hosts(3), &[Serial::Percent(10.0)]);
        assert_eq!(b.len(), 3);
    }
}
