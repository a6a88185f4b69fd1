//! The play runner, a conductor: it selects a play's hosts, walks its
//! batches and sections, and gathers facts. One task over a batch is in
//! `task.rs` (each host's run in `host_task.rs`), outcomes are kept by
//! [`RunState`], blocks live in `blocks.rs`, handlers and `meta:` in
//! `handlers.rs`, batching and ordering in `batches.rs`, a host's variables
//! in `plan::host_vars`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Semaphore;

use serde_json::{Map, Value};

use super::batches::{batches, no_hosts_left, order_hosts, over_max_fail};
use super::connections::Connections;
use super::handlers::check_notify_targets;
use super::host_task::{HostJob, TaskShared};
use super::state::RunState;
use super::tags::TagFilter;
use super::{RunOptions, RunSummary};
use crate::error::InputError;
use crate::load::inventory::Inventory;
use crate::load::loops::{LoopControl, LoopWith};
use crate::load::play::{Play, Strategy};
use crate::load::playbook::Playbook;
use crate::load::task::{Action, Task, TaskCommon, TaskSource};
use crate::plan::context::Shared;
use crate::plan::host_vars::{self, HostFacts, HostVars, PlayVars};
use crate::plan::hostvars::{GroupsView, HostvarsView, InventoryVars};
use crate::plan::template::Templater;
use crate::plan::vars_files::{self, OnUndefined};
use crate::report::controls::shown_name;
use crate::report::{Event, Reporter, TaskInfo};
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

/// What the blocks around a task do with a failure there: whether one of
/// them has a `rescue` (the failure is not counted until the rescue fails
/// too) and whether one has an `always`. Under `any_errors_fatal`, or for a
/// failed `run_once` task, either keeps the play going: the hosts go to
/// that rescue or always first, as Ansible's `mark_host_failed` sends them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Enclosing {
    pub rescue: bool,
    pub always: bool,
}

/// The play being run and what was computed for it once.
pub(super) struct PlayScope<'p> {
    pub play: &'p Play,
    /// `vars_files` as read before any host was known (for hosts whose own
    /// were not read, see [`Runner::read_vars_files`]).
    vars_files: Vec<(String, Node)>,
    /// All hosts of the play (for `ansible_play_hosts`).
    hosts: Vec<String>,
    /// `ansible_play_hosts_all`, made once per play.
    hosts_all: minijinja::Value,
    pub batch: Vec<String>,
    /// `strategy: free`: each host of the batch walks the tasks in its own
    /// lane (`strategy.rs`).
    pub free: bool,
    /// Under `free`, set by `meta: end_play` in one lane: the others stop
    /// before their next task.
    pub play_ended: AtomicBool,
    /// Under `free`, each `run_once` task's run (by the task's address):
    /// the first lane to reach it runs it, the others wait for its flow.
    run_once: Mutex<HashMap<usize, Arc<tokio::sync::OnceCell<Flow>>>>,
    /// `play_hosts` and `ansible_play_batch` of this batch as last made
    /// (see [`Runner::shared_for`]); never held across an `.await`.
    lists: Mutex<Option<PlayLists>>,
}

impl PlayScope<'_> {
    /// How many hosts the play has (every batch together).
    pub fn hosts_len(&self) -> usize {
        self.hosts.len()
    }
}

/// The play's and the batch's active hosts, as made when the run's
/// membership count was `membership`: shared by every task (and lane)
/// until a host joins or leaves.
#[derive(Clone)]
struct PlayLists {
    membership: u64,
    hosts: minijinja::Value,
    batch: minijinja::Value,
}

impl PlayScope<'_> {
    pub(super) fn run_once_cell(&self, task: &Arc<Task>) -> Arc<tokio::sync::OnceCell<Flow>> {
        let key = Arc::as_ptr(task) as usize;
        let mut cells = self.run_once.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(cells.entry(key).or_default())
    }
}

/// A play's hosts: all of them, then those still in the run (see
/// [`Runner::select_hosts`]).
type SelectedHosts = (Vec<String>, Vec<String>);

pub struct Runner<'a> {
    pub(super) inventory: &'a Inventory,
    pub(super) options: &'a RunOptions,
    pub(super) reporter: &'a dyn Reporter,
    /// Shared with the `hostvars` views, which render lazily.
    pub(super) templater: Arc<Templater>,
    pub(super) connections: Connections,
    pub(super) tags: TagFilter,
    /// Each host's inventory variables, computed once per run.
    inventory_vars: Arc<InventoryVars>,
    /// `groups`, one lazy view for the run.
    groups: minijinja::Value,
    /// Behind a lock: under `strategy: free` each host's lane runs the
    /// same task code at once (never held across an `.await`).
    state: Mutex<RunState>,
    /// `--start-at-task`, until that task is reached.
    pub(super) start_at: Mutex<Option<String>>,
    /// `forks`: how many hosts run a task at once, over the whole run (under
    /// `free`, lanes at different tasks share it).
    pub(super) forks: Semaphore,
    /// Under `free` with `--start-at-task`: the hosts that reached it.
    pub(super) start_reached: Mutex<BTreeSet<String>>,
    /// Each host's `vars_files` of the current play, read when its batch
    /// starts (after gathering facts).
    host_vars_files: HashMap<String, Arc<Vec<(String, Node)>>>,
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
            templater: Arc::new(Templater::new()),
            connections: Connections::new(options.connect.clone()),
            tags: TagFilter::new(&options.tags, &options.skip_tags),
            inventory_vars: Arc::new(
                InventoryVars::new(inventory).with_extra_vars(options.extra_vars.clone()),
            ),
            groups: GroupsView::value(inventory),
            state: Mutex::new(RunState::default()),
            start_at: Mutex::new(options.start_at_task.clone()),
            forks: Semaphore::new(options.forks.max(1)),
            start_reached: Mutex::new(BTreeSet::new()),
            host_vars_files: HashMap::new(),
        }
    }

    /// The run's state; never held across an `.await`.
    pub(super) fn state(&self) -> MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub async fn run(mut self, playbook: &Playbook) -> Result<RunSummary, InputError> {
        let started = Instant::now();
        if let Some(name) = self.options.start_at_task.as_ref() {
            let found = playbook
                .plays
                .iter()
                .flat_map(Play::all_tasks)
                .any(|t| t.answers_to(name));
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
            if self.state().abort_reason.is_some() {
                break;
            }
        }
        self.connections.close_all().await;
        // A play's error (`serial`, `hosts`, `vars_files`) is said where it
        // stopped the run: before the stop report and the recap.
        let play_error = match result {
            Ok(()) => false,
            Err(e) => {
                let e = crate::error::Error::from(e);
                crate::controls::stderr_painted(&e.rendered());
                true
            }
        };
        let signal = self.options.interrupt.load(Ordering::SeqCst);
        self.state().signalled = signal != 0;
        if signal != 0 && self.state().abort_reason.is_none() {
            // The request came during the last task: nothing was left to skip
            // but what that task's loops did not run.
            self.state().abort_reason = Some(format!(
                "{}; no task was left to start",
                self.options.running.stop_reason(signal)
            ));
        }
        let stop_report = self.state().stop_report();
        if let Some(reason) = stop_report {
            if self.options.running.claim_stop_report() {
                self.reporter.event(&Event::Stopped { reason });
            }
        }
        let recap = self.state().recap(started.elapsed());
        self.reporter.event(&Event::Recap(recap.clone()));
        let exit_code = if play_error {
            crate::error::exit_code::INVALID_INPUT
        } else {
            let state = self.state();
            RunSummary::compute_exit_code(&recap, &state.input_errors, signal, state.any_failed())
        };
        Ok(RunSummary {
            recap,
            exit_code,
            input_errors: std::mem::take(&mut self.state().input_errors),
        })
    }

    /// The play's hosts (its pattern within `--limit`), in its `order:`:
    /// all of them (`ansible_play_hosts_all`, which keeps hosts that failed
    /// in an earlier play, as Ansible's does), and those that have not left
    /// the run. `None` when none is left; a warning says why.
    fn select_hosts(&self, play: &Play, vars: &Value) -> Result<Option<SelectedHosts>, InputError> {
        let pattern = self.templater.render_str(
            play.hosts.as_str().unwrap_or_default(),
            vars,
            &play.hosts.origin,
        )?;
        let mut hosts = self.inventory.select_at(&pattern, &play.hosts.origin)?;
        if let Some(limit) = &self.options.limit {
            self.inventory.retain_selected(&mut hosts, limit)?;
        }
        order_hosts(&mut hosts, play.order);
        let all = hosts.clone();
        hosts.retain(|h| !self.state().has_left(h));
        if hosts.is_empty() {
            let why = if !all.is_empty() {
                "every matching host already failed or was unreachable".to_string()
            } else if self.options.limit.is_some() {
                format!("no host matches `{pattern}` within --limit")
            } else {
                format!("no host matches `{pattern}`")
            };
            self.reporter.event(&Event::Warning {
                host: None,
                message: format!("play `{}` skipped: {why}", shown_name(&play.name)),
            });
            return Ok(None);
        }
        Ok(Some((all, hosts)))
    }

    async fn run_play(&mut self, play: &Play) -> Result<(), InputError> {
        self.host_vars_files.clear();
        // Before any host is chosen: the vars files whose names need no
        // host, for `hosts:`.
        let (early, pattern_vars) =
            vars_files::before_hosts(play, &self.options.extra_vars, &self.templater)?;
        let Some((all, hosts)) = self.select_hosts(play, &pattern_vars)? else {
            return Ok(());
        };
        // Before the play's header: a bad `serial` is an error of the play,
        // which then does not start (as in Ansible).
        let strategy = match &play.strategy_template {
            Some(node) => {
                let value = self.templater.render_node(node, &pattern_vars)?;
                let name = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Strategy::parse(&name, &node.origin)?
            }
            None => play.strategy,
        };
        let serial = match &play.serial_template {
            Some(node) => {
                let value = self.templater.render_node(node, &pattern_vars)?;
                crate::load::play::serial_from_json(&value, &node.origin)?
            }
            None => play.serial.clone(),
        };
        self.reporter.event(&Event::PlayStart {
            name: play.name.clone(),
            hosts: hosts.clone(),
            strategy: strategy.name().to_string(),
        });
        let mut scope = PlayScope {
            play,
            vars_files: early,
            hosts_all: minijinja::Value::from(all),
            hosts: hosts.clone(),
            batch: Vec::new(),
            free: strategy == Strategy::Free,
            play_ended: AtomicBool::new(false),
            run_once: Mutex::new(HashMap::new()),
            lists: Mutex::new(None),
        };
        for batch in batches(&hosts, &serial) {
            scope.batch = batch;
            // `meta: end_host` ends a host for its batch (and play): in the
            // next batch it is in `ansible_play_hosts` again, as in Ansible.
            self.state().clear_ended(&hosts);
            // `run_once` runs once per batch, as under `linear`.
            scope.run_once.get_mut().map(HashMap::clear).ok();
            // The lists of active hosts are the new batch's.
            scope.lists.get_mut().map(|l| *l = None).ok();
            let flow = self.run_batch(&scope).await?;
            if flow == Flow::Abort || self.state().abort_reason.is_some() {
                // A stop request ends the play for the hosts of the batches
                // that never started too: they are in the stop report
                // ("nothing had been changed") and the recap, whether the
                // stop landed between two batches or inside a block.
                if self.options.interrupt.load(Ordering::SeqCst) != 0 {
                    let mut state = self.state();
                    for host in &hosts {
                        state.host(host);
                    }
                }
                break;
            }
            let no_hosts = no_hosts_left(play, &scope.batch, &self.state());
            if let Some(reason) = no_hosts {
                self.state().abort_reason = Some(reason);
                break;
            }
            if flow == Flow::EndPlay {
                break;
            }
            // Under `linear` it is checked after each task (task.rs).
            let over = over_max_fail(play, &scope.batch, &self.state());
            if let Some(reason) = over.filter(|_| scope.free) {
                self.state().abort_reason = Some(reason);
                break;
            }
        }
        Ok(())
    }

    /// One batch: facts, each host's `vars_files`, then each section
    /// followed by its handlers.
    ///
    /// Errors: a host's `vars_files` entry that cannot be read (see
    /// [`Runner::read_vars_files`]); the run stops there, as Ansible's does.
    async fn run_batch(&mut self, scope: &PlayScope<'_>) -> Result<Flow, InputError> {
        let play = scope.play;
        // Connections first, all at once (`connect.rs`), with the variables
        // the first task will connect with: before facts, the vars files
        // whose names need none; without facts, every host's own.
        if play.gather_facts {
            self.connect_batch(scope).await?;
            let flow = self.gather_facts(scope).await;
            if flow != Flow::Continue {
                return Ok(flow);
            }
        }
        self.read_vars_files(scope)?;
        if !play.gather_facts {
            self.connect_batch(scope).await?;
        }
        Ok(self.run_strategy(scope).await)
    }

    pub(super) fn start_reached_is_empty(&self) -> bool {
        self.start_reached.lock().map_or(true, |r| r.is_empty())
    }

    /// `--start-at-task` was reached: run every task from now on.
    pub(super) fn forget_start_at(&self) {
        *self.start_at.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Each active host of the batch reads the play's `vars_files` now
    /// that its facts are known (`plan::vars_files`): names rendered with
    /// its variables, the first existing alternative read. An entry that
    /// cannot be rendered is skipped with a warning for a host without
    /// gathered facts, and refused for one with them, as in Ansible.
    fn read_vars_files(&mut self, scope: &PlayScope<'_>) -> Result<(), InputError> {
        let play = scope.play;
        if play.vars_files.is_empty() {
            return Ok(());
        }
        let mut warnings: Vec<String> = Vec::new();
        // One for every host: `groups`, `play_hosts`, ... (and `hostvars`)
        // as a task would see them.
        let shared = self.shared_for(scope);
        let active = self.state().active(&scope.batch);
        for host in active {
            let inventory = self.inventory_vars.get_placed(&host);
            let empty = Map::new();
            let (known, gathered) = {
                let state = self.state();
                let gathered = state.get(&host).is_some_and(|s| s.facts_gathered);
                (state.known_of(&host), gathered)
            };
            let (facts, registered) = (known.facts, known.registered);
            let layers = HostFacts {
                inventory: &inventory.vars,
                inventory_origins: &inventory.origins,
                facts: &facts,
                registered: &registered,
                include_scope: &empty,
                shared: &shared,
            };
            let on_undefined = if gathered {
                OnUndefined::Fail
            } else {
                OnUndefined::Warn
            };
            let templater = &self.templater;
            let extra_vars = &self.options.extra_vars;
            let (check, diff) = (self.options.check, self.options.diff);
            let read =
                vars_files::resolve(play, templater, on_undefined, true, |pairs, demand| {
                    let play_vars = PlayVars {
                        play,
                        vars_files: pairs,
                        extra_vars,
                        check,
                        diff,
                    };
                    host_vars::host_vars_demanding(
                        &play_vars,
                        &layers,
                        None,
                        demand.to_vec(),
                        templater,
                    )
                    .map(|v| v.context)
                })?;
            for w in read.warnings {
                if !warnings.contains(&w) {
                    warnings.push(w);
                }
            }
            self.host_vars_files.insert(host, Arc::new(read.pairs));
        }
        for message in warnings {
            self.reporter.event(&Event::Warning {
                host: None,
                message,
            });
        }
        Ok(())
    }

    /// The connection variables of a host a task is delegated to: its
    /// inventory's, templated ones rendered in its own context (see
    /// [`host_vars::delegated_connection_vars`]).
    pub(super) fn delegated_connection_vars(
        &self,
        host: &str,
        shared: &Shared,
    ) -> Result<Map<String, Value>, InputError> {
        let inventory = self.inventory_vars.get_placed(host);
        let known = self.state().known_of(host);
        let empty = Map::new();
        let layers = HostFacts {
            inventory: &inventory.vars,
            inventory_origins: &inventory.origins,
            facts: &known.facts,
            registered: &known.registered,
            include_scope: &empty,
            shared,
        };
        host_vars::delegated_connection_vars(&layers, &self.options.extra_vars, &self.templater)
    }

    /// Variables for one host and task, in precedence order; with `demand`,
    /// only those names (and what they read) are rendered, not every name
    /// the task reads.
    pub(super) fn host_vars(
        &self,
        scope: &PlayScope<'_>,
        host: &str,
        task: Option<&Task>,
        shared: &Shared,
        demand: Option<Vec<String>>,
    ) -> Result<HostVars, InputError> {
        let inventory = self.inventory_vars.get_placed(host);
        let empty = Map::new();
        let guard = self.state();
        let state = guard.get(host);
        let known = guard.known_of(host);
        let layers = HostFacts {
            inventory: &inventory.vars,
            inventory_origins: &inventory.origins,
            facts: &known.facts,
            registered: &known.registered,
            include_scope: state.map_or(&empty, |s| &s.include_scope),
            shared,
        };
        let own = self.host_vars_files.get(host).cloned();
        let play = PlayVars {
            play: scope.play,
            vars_files: own.as_deref().map_or(&scope.vars_files[..], |v| &v[..]),
            extra_vars: &self.options.extra_vars,
            check: self.options.check,
            diff: self.options.diff,
        };
        match demand {
            None => host_vars::host_vars(&play, &layers, task, &self.templater),
            Some(names) => {
                host_vars::host_vars_demanding(&play, &layers, task, names, &self.templater)
            }
        }
    }

    /// What every host of the batch sees the same in a task, built once
    /// per task (per task and host under `free`): `groups`, `hostvars` (a
    /// lazy view over what the run knows, see [`HostvarsView`]),
    /// `play_hosts`, `ansible_play_hosts`, `ansible_play_hosts_all`,
    /// `ansible_play_batch`.
    ///
    /// Its cost does not grow with the hosts: the lists of active hosts
    /// are made again only when a host joined or left the play since they
    /// were last made ([`RunState::membership`]), and `hostvars` takes a
    /// host's values only when a template reads that host. Under `free`,
    /// each host's lane makes one per task; a copy of every host per call
    /// made that quadratic in the hosts (issue 14).
    ///
    /// Drop it before the task's outcomes are recorded: its `hostvars`
    /// entries share the registered values of the hosts read, which
    /// recording would otherwise copy.
    pub(super) fn shared_for(&self, scope: &PlayScope<'_>) -> Shared {
        let (known, lists) = {
            let state = self.state();
            let mut cached = scope.lists.lock().unwrap_or_else(PoisonError::into_inner);
            let lists = match &*cached {
                Some(l) if l.membership == state.membership() => l.clone(),
                _ => {
                    let made = PlayLists {
                        membership: state.membership(),
                        hosts: minijinja::Value::from(state.active(&scope.hosts)),
                        batch: minijinja::Value::from(state.active(&scope.batch)),
                    };
                    *cached = Some(made.clone());
                    made
                }
            };
            (state.known(), lists)
        };
        let hostvars = HostvarsView::value(
            Arc::clone(&self.inventory_vars),
            known,
            self.groups.clone(),
            Arc::clone(&self.templater),
        );
        let play_hosts = lists.hosts;
        Shared::new(BTreeMap::from([
            ("groups".to_string(), self.groups.clone()),
            ("hostvars".to_string(), hostvars),
            // `play_hosts` is the batch, as Ansible's (deprecated) alias of
            // `ansible_play_batch`; they differ under `serial`.
            ("play_hosts".to_string(), lists.batch.clone()),
            ("ansible_play_hosts".to_string(), play_hosts),
            (
                "ansible_play_hosts_all".to_string(),
                scope.hosts_all.clone(),
            ),
            ("ansible_play_batch".to_string(), lists.batch),
        ]))
    }

    /// `gather_facts`: Ansible's implicit "Gathering Facts" task, the `setup`
    /// module on each active host of the batch that has no facts yet. It
    /// connects as a task without vars of its own would before facts are
    /// known: inventory, play `vars`, the `vars_files` whose names need no
    /// fact, `-e`, templated connection variables rendered (as Ansible's
    /// does). It is the play's first task: `any_errors_fatal` and
    /// `max_fail_percentage` apply to it, as in Ansible.
    async fn gather_facts(&mut self, scope: &PlayScope<'_>) -> Flow {
        let hosts: Vec<String> = {
            let state = self.state();
            state
                .active(&scope.batch)
                .into_iter()
                .filter(|h| !state.get(h).is_some_and(|s| s.facts_gathered))
                .collect()
        };
        if hosts.is_empty() {
            return Flow::Continue;
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
        let shared = self.shared_for(scope);
        for host in &hosts {
            let job = self
                .host_vars(scope, host, None, &shared, None)
                .and_then(|vars| {
                    let target =
                        self.connection_spec(scope.play, host, vars.context.own(), &vars.context)?;
                    Ok(HostJob {
                        host: host.clone(),
                        vars: vars.context,
                        lazy: None,
                        target,
                        delegated_to: None,
                        no_log: task.common.no_log == Some(true),
                    })
                });
            jobs.push(match job {
                Ok(job) => super::task::Job::Ready(job),
                Err(e) => super::task::Job::Invalid(host.clone(), e),
            });
        }
        drop(shared);
        let outcomes = self.run_jobs(&info, &task, jobs).await;
        let mut newly_failed = Vec::new();
        for outcome in outcomes {
            let host = outcome.host.clone();
            if self.apply_outcome(scope, &info, &task, outcome, Enclosing::default()) {
                newly_failed.push(host);
            }
        }
        self.state().add_timing(&info, None, started.elapsed());
        if scope.free {
            return Flow::Continue;
        }
        self.charge_unreached_at_connect(scope, &task, &mut newly_failed);
        match self.check_fatal(scope, &info, &task, &newly_failed, Enclosing::default()) {
            Flow::Continue => self.check_max_fail(scope, &info),
            flow => flow,
        }
    }

    pub(super) fn shared<'s>(&'s self, info: &'s TaskInfo) -> TaskShared<'s> {
        TaskShared {
            templater: &self.templater,
            connections: &self.connections,
            reporter: self.reporter,
            check: self.options.check,
            diff: self.options.diff,
            info,
            interrupt: &self.options.interrupt,
            running: &self.options.running,
        }
    }
}

/// The `setup` task `gather_facts: true` stands for. Facts are read in check
/// mode too (setup changes nothing), so it never counts as a check-mode run.
fn gathering_facts_task(play: &Play) -> Task {
    Task {
        name: None,
        action: Action::Module {
            module: &crate::modules::system::setup::Setup,
            args: Vec::new(),
        },
        common: TaskCommon {
            check_mode: Some(false),
            ..TaskCommon::default()
        },
        loop_items: None,
        loop_with: LoopWith::Loop,
        loop_control: LoopControl::default(),
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
