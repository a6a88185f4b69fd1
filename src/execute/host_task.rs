//! One task on one host: `when`, `loop`, templating the arguments, the
//! module's round trip(s), `until`, `changed_when` and `failed_when`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use minijinja::Value as Jinja;
use serde_json::{json, Map, Value};

use crate::bounds;
use crate::error::InputError;
use crate::load::task::{Action, IncludeVarsArgs, Task};
use crate::modules::{Evaluator, Reconnect, Status, Step, TaskContext, TaskResult};
use crate::plan::context::Context;
use crate::plan::jinja::native;
use crate::plan::template::{too_deep, Rendered, Templater};
use crate::plan::vars::{self, condition_refs, node_refs, text_refs, Vars};
use crate::report::{Event, Reporter, TaskInfo};
use crate::shell::{new_nonce, quote};
use crate::source::Origin;
use crate::transport::{ConnectionKind, ConnectionSpec, ExecRequest, TransportError};
use crate::yaml::{Node, NodeValue};

use super::connections::Connections;
use super::loops::run_loop;
use super::overrides::apply_overrides;

/// What every host's run of a task shares.
pub struct TaskShared<'a> {
    pub templater: &'a Templater,
    pub connections: &'a Connections,
    pub reporter: &'a dyn Reporter,
    pub check: bool,
    pub diff: bool,
    pub info: &'a TaskInfo,
    /// The stop signal's number once the operator asked to stop (0 before):
    /// a `pause` ends early then, as Ansible's does on Ctrl-C.
    pub interrupt: &'a std::sync::atomic::AtomicI32,
    /// Where a loop says which item runs and which changed the host.
    pub running: &'a super::RunningTasks,
}

/// One host's run of a task, prepared by the play runner.
pub struct HostJob {
    pub host: String,
    /// The host's variables for the task, with the task's shared values.
    pub vars: Context,
    /// The rest of the host's variables, rendered when something that shows
    /// only at run time reads them (a template file, `debug: var`); `None`
    /// when `vars` is all there is (gathering facts).
    pub lazy: Option<Arc<Vars>>,
    /// Where the task's scripts run (the host, or its `delegate_to`).
    pub target: ConnectionSpec,
    pub delegated_to: Option<String>,
    /// Whether this host's results are hidden (`no_log`, rendered for the
    /// host when templated).
    pub no_log: bool,
}

/// How it ended.
pub struct HostOutcome {
    pub host: String,
    pub outcome: Status,
    pub ignored: bool,
    /// Aggregate result (unmasked; the caller masks for `no_log`).
    pub result: TaskResult,
    /// Per loop item: label, result, outcome, timing.
    pub items: Vec<LoopItem>,
    /// The value for `register`.
    pub registered: Value,
    /// Variables set for the host (`set_fact`, `include_vars`).
    pub facts: Map<String, Value>,
    /// Facts the module returned about the host (`setup`), `ansible_*` names.
    pub ansible_facts: Map<String, Value>,
    pub input_error: Option<InputError>,
    pub delegated_to: Option<String>,
    /// The host's `no_log` ([`HostJob::no_log`]).
    pub no_log: bool,
    pub started_at: f64,
    pub elapsed: Duration,
    pub check_mode: bool,
    /// A loop (or `until` retries) a stop request ended early: what did not
    /// run, for the stop report.
    pub cut: Option<Cut>,
}

/// What a stop request left undone of a task on a host, said as `before`
/// HOST `after`, so that hosts it left alike share one line of the stop
/// report (at 100 hosts, one line each buried it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub host: String,
    pub before: String,
    pub after: String,
}

impl Cut {
    /// The sentence for this host alone (its result's message).
    pub fn sentence(&self) -> String {
        format!("{}{}{}", self.before, self.host, self.after)
    }
}

/// One loop item's result as reported: each item's own start and duration,
/// so that `host_result` events of a loop's items say when each ran.
pub struct LoopItem {
    pub label: String,
    pub result: TaskResult,
    pub status: Status,
    pub started_at: f64,
    pub elapsed: Duration,
}

/// Lets modules render and evaluate with this host's variables.
struct HostEvaluator<'a> {
    templater: &'a Templater,
    vars: &'a Context,
    lazy: Option<&'a Vars>,
    origin: &'a Origin,
    /// A template file's rendering error, kept whole (file, line, variable)
    /// so that it ends the run as invalid input (exit 4), as an error in
    /// task arguments does, rather than as the module's failure.
    render_error: std::sync::Mutex<Option<InputError>>,
    /// The task's search paths (role, task file's and playbook's directories).
    search_paths: &'a [std::path::PathBuf],
}

impl HostEvaluator<'_> {
    /// The variables with those `names` read rendered in (see [`Vars::complete`]).
    fn with(&self, names: Vec<String>) -> Result<std::borrow::Cow<'_, Context>, InputError> {
        match self.lazy {
            Some(lazy) => lazy
                .complete(self.vars, names, self.templater)
                .map(std::borrow::Cow::Owned),
            None => Ok(std::borrow::Cow::Borrowed(self.vars)),
        }
    }
}

impl Evaluator for HostEvaluator<'_> {
    fn render(&self, name: &str, text: &str) -> Result<String, String> {
        let mut names = Vec::new();
        if name.ends_with(".hbs") {
            // handlebars: any word in a `{{ }}` may be a variable
            names.extend(handlebars_words(text));
        } else {
            text_refs(text, &mut names);
        }
        // `{% include %}` and friends look in the template's own directory,
        // then in `templates/` of the role and playbook.
        let own = std::path::Path::new(name)
            .parent()
            .map(std::path::Path::to_path_buf);
        let dirs: Vec<std::path::PathBuf> = own
            .into_iter()
            .chain(
                self.search_paths
                    .iter()
                    .flat_map(|base| [base.join("templates"), base.clone()]),
            )
            .collect();
        if !name.ends_with(".hbs") {
            included_refs(text, &dirs, &mut names);
        }
        let rendered = self
            .with(names)
            .and_then(|vars| self.templater.render_file_in(name, text, &*vars, &dirs))
            .and_then(|out| {
                // The size of the text, as a string value's would be counted.
                if out.len() <= vars::MAX_VALUE_BYTES {
                    return Ok(out);
                }
                Err(InputError::at(
                    &Origin::synthetic(name, text),
                    format!(
                        "template `{name}` renders to {} bytes, {}",
                        out.len(),
                        vars::value_limit_words()
                    ),
                    "this template",
                )
                .with_help(vars::VALUE_SIZE_HELP))
            });
        rendered.map_err(|e| {
            let line = e.one_line();
            if let Ok(mut slot) = self.render_error.lock() {
                slot.get_or_insert(e);
            }
            line
        })
    }
    fn condition(&self, expr: &str) -> Result<bool, String> {
        let mut names = Vec::new();
        condition_refs(expr, &mut names);
        let vars = self.with(names).map_err(|e| e.one_line())?;
        self.templater
            .condition(expr, &*vars, self.origin)
            .map_err(|e| e.one_line())
    }
    fn lookup(&self, path: &str) -> Result<Option<Value>, String> {
        let head = path.split(['.', '[']).next().unwrap_or(path).to_string();
        let mut parts = path.split('.');
        if parts.next() != Some(head.as_str()) {
            return Ok(None);
        }
        // A variable whose template reads an undefined one is not defined,
        // as Ansible's debug says; any other failure to render it (a cycle)
        // is an error, as Ansible's "recursive loop detected" is.
        let vars = match self.with(vec![head.clone()]) {
            Ok(vars) => vars,
            Err(e) if e.message.starts_with("undefined") => return Ok(None),
            Err(e) => return Err(e.one_line()),
        };
        let Some(first) = vars.get(&head) else {
            return Ok(None);
        };
        let mut cur: &Value = &first;
        for part in parts {
            let next = match cur {
                Value::Object(m) => m.get(part),
                Value::Array(a) => part
                    .trim_matches(['[', ']'])
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i)),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => return Ok(None),
            }
        }
        Ok(Some(cur.clone()))
    }
}

/// The variables read by the template files `text` may load (a quoted name
/// in a `{% %}` tag that is a file in `dirs`), and by the ones those load, so
/// that lazily rendered variables are ready for them too.
fn included_refs(text: &str, dirs: &[std::path::PathBuf], names: &mut Vec<String>) {
    let mut todo = vec![text.to_string()];
    let mut seen: Vec<std::path::PathBuf> = Vec::new();
    while let Some(text) = todo.pop() {
        for tag in text.split("{%").skip(1) {
            let tag = tag.split("%}").next().unwrap_or_default();
            for (i, part) in tag.split(['\'', '"']).enumerate() {
                if i % 2 == 0
                    || part.is_empty()
                    || std::path::Path::new(part).is_absolute()
                    || seen.len() >= 100
                {
                    continue;
                }
                let found = dirs.iter().map(|d| d.join(part)).find(|p| p.is_file());
                if let Some(path) = found {
                    if seen.contains(&path) {
                        continue;
                    }
                    if let Ok(inner) = std::fs::read_to_string(&path) {
                        text_refs(&inner, names);
                        todo.push(inner);
                    }
                    seen.push(path);
                }
            }
        }
    }
}

/// The words inside a handlebars template's `{{ }}`, as candidate variable names.
fn handlebars_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for block in text.split("{{").skip(1) {
        let inner = block.split("}}").next().unwrap_or_default();
        for w in inner.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if !w.is_empty() && !words.iter().any(|x| x == w) {
                words.push(w.to_string());
            }
        }
    }
    words
}

pub(super) enum Failure {
    Input(InputError),
    Unreachable(String),
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::Input(e)
    }
}

pub(super) fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub async fn run(shared: &TaskShared<'_>, task: &Task, job: HostJob) -> HostOutcome {
    let started = Instant::now();
    let started_at = now_epoch();
    shared.reporter.event(&Event::HostStart {
        host: job.host.clone(),
        task: shared.info.clone(),
    });
    let check_mode = task.common.check_mode.unwrap_or(shared.check);
    let mut outcome = HostOutcome {
        host: job.host.clone(),
        outcome: Status::Ok,
        ignored: false,
        result: TaskResult::ok(),
        items: Vec::new(),
        registered: Value::Null,
        facts: Map::new(),
        ansible_facts: Map::new(),
        input_error: None,
        delegated_to: job.delegated_to.clone(),
        no_log: job.no_log,
        started_at,
        elapsed: Duration::ZERO,
        check_mode,
        cut: None,
    };
    match run_loop(shared, task, &job, check_mode, &mut outcome).await {
        Ok(()) => {}
        Err(Failure::Input(e)) => {
            outcome.result = TaskResult::failed(e.one_line());
            outcome.outcome = Status::Failed;
            outcome.input_error = (!e.task_failure).then_some(e);
        }
        Err(Failure::Unreachable(msg)) => {
            outcome.result = TaskResult::failed(msg);
            outcome.outcome = Status::Unreachable;
        }
    }
    if outcome.registered.is_null() {
        outcome.registered = outcome.result.to_registered();
        // Ansible registers an unreachable host's result as `unreachable:
        // true` with its `msg`, and no `failed` (so `r is failed` is false).
        if outcome.outcome == Status::Unreachable {
            if let Value::Object(m) = &mut outcome.registered {
                m.shift_remove("failed");
                m.insert("unreachable".into(), Value::Bool(true));
            }
        }
    }
    registered_within_limit(shared, task, &mut outcome);
    outcome.ignored = match outcome.outcome {
        // As Ansible: `ignore_errors` also covers a templating error met
        // while running (undefined variable, type error): the task counts as
        // failed and ignored, with the error as its `msg`, and the run goes
        // on; without it the error ends the run with exit 4.
        Status::Failed => task.common.ignore_errors == Some(true),
        Status::Unreachable => task.common.ignore_unreachable == Some(true),
        _ => false,
    };
    if outcome.ignored {
        outcome.input_error = None;
    }
    outcome.elapsed = started.elapsed();
    outcome
}

/// One iteration: `when`, then the module with `until`, then the overrides.
pub(super) async fn run_once(
    shared: &TaskShared<'_>,
    task: &Task,
    job: &HostJob,
    vars: &Context,
    check_mode: bool,
) -> Result<TaskResult, Failure> {
    for cond in &task.common.when {
        if !shared.templater.condition_node(cond, vars)? {
            let text = cond.scalar_text().unwrap_or_default();
            return Ok(TaskResult::skipped(format!("condition was false: {text}")));
        }
    }
    let retries = match &task.retries {
        Some(n) => {
            let v = number_of(shared.templater.render_node(n, vars)?, n, "retries")?;
            bounds::count(v, "`retries`", 0, bounds::MAX_RETRIES)
                .map_err(|m| InputError::at(&n.origin, m, "here"))?
        }
        None => 3,
    };
    let delay = match &task.delay {
        Some(n) => {
            let v = number_of(shared.templater.render_node(n, vars)?, n, "delay")?;
            bounds::duration(v, "`delay`").map_err(|m| InputError::at(&n.origin, m, "here"))?
        }
        None => Duration::from_secs(5),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut result = run_module(shared, task, job, vars, check_mode).await?;
        // the registered value only for conditions that may read it (made
        // per item, it would copy a growing `set_fact` fact whole each time)
        let overrides = task.changed_when.is_some() || task.failed_when.is_some();
        let mut bound = vars.clone();
        if let (Some(name), true) = (&task.register, overrides) {
            bound.set(name.clone(), settled(&result).to_registered());
        }
        apply_overrides(shared, task, &bound, &mut result)?;
        let Some(until) = &task.until else {
            return Ok(result);
        };
        if let Some(name) = &task.register {
            bound.set(name.clone(), settled(&result).to_registered());
        }
        let done =
            result.status != Status::Skipped && shared.templater.condition_node(until, &bound)?;
        if done || attempt > retries {
            result.data.insert("attempts".into(), json!(attempt));
            if !done {
                result.status = Status::Failed;
                let last = result.msg.clone().unwrap_or_default();
                result.msg = Some(format!(
                    "`until` was still false after {attempt} attempts ({}){}",
                    until.scalar_text().unwrap_or_default(),
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!("; last result: {last}")
                    }
                ));
            }
            return Ok(result);
        }
        // A stop request ends the retries: the run stops after this task.
        let signal = shared.interrupt.load(std::sync::atomic::Ordering::SeqCst);
        if signal == 0 && wait_unless_stopped(delay, shared.interrupt).await {
            continue;
        }
        result.data.insert("attempts".into(), json!(attempt));
        result.status = Status::Failed;
        result.msg = Some(format!(
            "`until` was still false after {attempt} attempts ({}); the retries left were not made: {}",
            until.scalar_text().unwrap_or_default(),
            super::stop_cause(shared.interrupt.load(std::sync::atomic::Ordering::SeqCst))
        ));
        return Ok(result);
    }
}

/// A templated duration keyword (`timeout`, `loop_control.pause`) or
/// module argument (`pause` `seconds`, `wait_for` `timeout`...), rendered
/// and bounded as a literal one is at load ([`bounds::seconds`]): a bad
/// value is invalid input (exit 4) at the template, whether YAML wrote it
/// or a template made it.
pub(super) fn templated_seconds(
    shared: &TaskShared<'_>,
    node: &Node,
    vars: &Context,
    key: &str,
) -> Result<f64, InputError> {
    let value = shared.templater.render_node(node, vars)?;
    let n = bounds::number_in(&value).ok_or_else(|| {
        InputError::at(
            &node.origin,
            format!("`{key}` must be a number of seconds, got {value}"),
            "rendered from here",
        )
    })?;
    bounds::seconds(n, &format!("`{key}`"))
        .map_err(|m| InputError::at(&node.origin, m, "rendered from here"))
}

/// A rendered duration argument of a module, bounded as a literal one is
/// at load (see [`crate::load::args::DURATION_ARGS`]).
fn rendered_duration_within_bounds(
    module: &str,
    name: &str,
    value: &Value,
    node: &Node,
) -> Result<(), InputError> {
    let Some((_, _, unit)) = crate::load::args::DURATION_ARGS
        .iter()
        .find(|(m, a, _)| *m == module && *a == name)
    else {
        return Ok(());
    };
    // null (`{{ none }}`): not given, the module's default applies; `omit`
    // (`{{ m | default(omit) }}`): left out, as in Ansible
    if value.is_null() || crate::plan::template::is_omit(value) {
        return Ok(());
    }
    // not a number: refused at the template, as a literal one is at load
    // (the module's own message could not name the line)
    let Some(n) = bounds::number_in(value) else {
        return Err(InputError::at(
            &node.origin,
            format!("`{module}` argument `{name}` must be a number of seconds, got {value}"),
            "rendered from here",
        ));
    };
    bounds::seconds(n * unit, &format!("`{module}` argument `{name}`"))
        .map(|_| ())
        .map_err(|m| InputError::at(&node.origin, m, "rendered from here"))
}

fn number_of(v: Value, node: &Node, what: &str) -> Result<f64, InputError> {
    bounds::number_in(&v).ok_or_else(|| {
        InputError::at(
            &node.origin,
            format!("`{what}` must be a number, got {v}"),
            "here",
        )
    })
}

/// Arguments kept in template form, by name (see [`render_args`]).
type NativeArgs = BTreeMap<String, Jinja>;

/// A task's arguments, rendered, each within [`vars::MAX_VALUE_BYTES`].
/// For `set_fact`, an argument that rendered to a list or mapping (a lone
/// `{{ expression }}`) is kept in template form, as rendered, and its JSON
/// is a null placeholder: the fact goes to the next loop items unconverted
/// ([`TaskResult::native_facts`]) and is made JSON once, when something
/// reads it as JSON ([`settle`]).
///
/// A list or mapping is measured before it is converted to JSON
/// ([`native::measure`]: linear in its size in memory, a shared part
/// counted once per place it appears), so one over the limit is refused
/// without being built twice over.
fn render_args(
    shared: &TaskShared<'_>,
    task: &Task,
    args: &[(String, Node)],
    vars: &Context,
) -> Result<(Map<String, Value>, NativeArgs), InputError> {
    let raw: &[&str] = match &task.action {
        Action::Module { module, .. } => module.spec().raw_args,
        _ => &[],
    };
    let sets_facts =
        matches!(&task.action, Action::Module { module, .. } if module.spec().name == "set_fact");
    let mut out = Map::new();
    let mut natives = BTreeMap::new();
    for (name, node) in args {
        let value = if raw.contains(&name.as_str()) {
            node.to_json()
        } else {
            let what = format!("argument `{name}`");
            let value = match shared.templater.render_node_native(node, vars)? {
                Rendered::Json(value) => {
                    within_limit(shared, &what, &value, &node.origin)?;
                    value
                }
                Rendered::Jinja(value) => {
                    let (size, omit) = native::measure(&value)
                        .map_err(|e| too_deep(e, &node.origin))
                        .map_err(|e| named_refusal(shared, &what, e))?;
                    if size > vars::MAX_VALUE_BYTES {
                        return Err(over_limit(shared, &what, size, &node.origin));
                    }
                    // a list kept lazy (too long to make one) is JSON only:
                    // a fact must read as a list (`l[0]`)
                    let list_or_map = matches!(
                        value.kind(),
                        minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Map
                    );
                    if !omit && sets_facts && list_or_map {
                        // kept as rendered; its JSON is made when something
                        // needs it ([`settle`]), not per loop item
                        natives.insert(name.clone(), value);
                        Value::Null
                    } else {
                        // holding `omit`, the conversion drops it: only the
                        // JSON is the value
                        native::to_json_bounded(&value)
                            .map_err(|e| too_deep(e, &node.origin))
                            .map_err(|e| named_refusal(shared, &what, e))?
                    }
                }
            };
            if let Action::Module { module, .. } = &task.action {
                rendered_duration_within_bounds(module.spec().name, name, &value, node)?;
            }
            value
        };
        // `x | default(omit)`: the argument is left out, as in Ansible.
        if crate::plan::template::is_omit(&value) {
            natives.remove(name);
            continue;
        }
        out.insert(name.clone(), value);
    }
    Ok((out, natives))
}

/// `result` with its `set_fact` facts that are in template form only
/// ([`TaskResult::native_facts`], a null placeholder in `facts`) made JSON
/// in their place; they are then only JSON. Each was measured within the
/// value cap when it was rendered.
pub(super) fn settle(result: &mut TaskResult) {
    for (name, value) in std::mem::take(&mut result.native_facts) {
        if let Some(slot) = result.facts.get_mut(&name) {
            *slot = native::to_json(&value);
        }
    }
}

/// [`settle`] without changing `result` (a copy only when it has facts in
/// template form).
pub(super) fn settled(result: &TaskResult) -> std::borrow::Cow<'_, TaskResult> {
    if result.native_facts.is_empty() {
        return std::borrow::Cow::Borrowed(result);
    }
    let mut copy = result.clone();
    settle(&mut copy);
    std::borrow::Cow::Owned(copy)
}

/// A value refused while it was measured or converted, with what it was
/// (`argument `l``) and the task, as [`within_limit`] names one refused
/// after.
fn named_refusal(shared: &TaskShared<'_>, what: &str, mut e: InputError) -> InputError {
    if e.message == native::TooBig::Large.message() {
        e.message = format!(
            "{what} of task `{}` is too large: {}",
            shared.info.name, e.message
        );
    }
    e
}

/// A rendered value within [`vars::MAX_VALUE_BYTES`], or an input error
/// at the template it came from, naming what it is and the task.
pub(super) fn within_limit(
    shared: &TaskShared<'_>,
    what: &str,
    value: &Value,
    origin: &Origin,
) -> Result<(), InputError> {
    let Some(size) = vars::over_value_limit(value) else {
        return Ok(());
    };
    Err(over_limit(shared, what, size, origin))
}

/// The error for a rendered value of `size` bytes, over the limit.
fn over_limit(shared: &TaskShared<'_>, what: &str, size: usize, origin: &Origin) -> InputError {
    InputError::at(
        origin,
        format!(
            "{what} of task `{}` renders to {size} bytes or more, {}",
            shared.info.name,
            vars::value_limit_words()
        ),
        "rendered from here",
    )
    .with_help(vars::VALUE_SIZE_HELP)
}

/// A registered result over [`vars::MAX_VALUE_BYTES`] is not kept: the
/// task fails, saying so (a module's output, or a loop's results, this big
/// would be copied into every later task's variables).
fn registered_within_limit(shared: &TaskShared<'_>, task: &Task, outcome: &mut HostOutcome) {
    let Some(name) = &task.register else {
        return;
    };
    // The lines' own message only when the rest fits: a result already over
    // the limit without them is refused as any other.
    // A loop's results are measured by their text: the memory of their
    // items is bounded by the loop's own budget ([`super::loops`], 5 KiB an
    // item), which lets 52,428 registered items through; slots counted here
    // as well would stop such a loop at about 15,000.
    let size = if task.loop_items.is_some() {
        vars::value_text_bytes(&outcome.registered)
    } else {
        vars::value_bytes(&outcome.registered)
    };
    let msg = if size > vars::MAX_VALUE_BYTES {
        format!(
            "the result of task `{}` (register: {name}) is {size} bytes or more, {}; it is not kept",
            shared.info.name,
            vars::value_limit_words()
        )
    } else if let Some((stream, lines, cost)) = lines_too_large(outcome) {
        format!(
            "the result of task `{}` (register: {name}) is not kept: its {stream} has {lines} \
             lines, which as `{stream}_lines` take {cost} bytes or more (each line counted \
             with {} bytes for its slot), {}; write large output to a file on the host and \
             fetch or slurp it, or filter it in the command (`| tail -n 1000`)",
            shared.info.name,
            crate::modules::LINE_SLOT_BYTES,
            vars::value_limit_words()
        )
    } else {
        return;
    };
    outcome.outcome = Status::Failed;
    outcome.result = TaskResult::failed(msg.clone());
    outcome.items.clear();
    outcome.registered = json!({"failed": true, "changed": false, "msg": msg});
}

/// The first stream of the task's result or of a loop item's whose lines
/// are over the budget ([`crate::modules::lines_over_limit`]):
/// `(stream, lines, cost)`. Its `*_lines` were not built, so registering it
/// would silently lack them.
fn lines_too_large(outcome: &HostOutcome) -> Option<(&'static str, usize, usize)> {
    use crate::modules::lines_over_limit;
    std::iter::once(&outcome.result)
        .chain(outcome.items.iter().map(|i| &i.result))
        .find_map(|r| {
            [("stdout", &r.stdout), ("stderr", &r.stderr)]
                .into_iter()
                .find_map(|(stream, text)| {
                    let (lines, cost) = lines_over_limit(text.as_deref()?)?;
                    Some((stream, lines, cost))
                })
        })
}

/// Linux's limit on one environment string (`NAME=value` and its NUL):
/// `MAX_ARG_STRLEN`, 32 pages, 128 KiB with 4 KiB pages. A longer one makes
/// every program the task starts fail with E2BIG ("Argument list too long",
/// exit 126 from the shell); see execve(2).
const MAX_ENV_STRING: usize = 128 * 1024;

/// What a task's `environment` adds, to explain an E2BIG it causes.
#[derive(Default)]
struct EnvSizes {
    /// Bytes of every `NAME=value` string with its NUL.
    total: usize,
    /// The largest variable and its `NAME=value` size.
    largest: Option<(String, usize)>,
}

impl EnvSizes {
    /// Why a failed task's program could not start, when the host said
    /// E2BIG and this environment is large enough to be the cause: all
    /// arguments and environment together are limited too (to a quarter of
    /// the stack limit, `ulimit -s`: about 2 MiB by default), a limit only
    /// the host knows, so this one is explained after the fact.
    fn explain_e2big(&self, result: &TaskResult) -> Option<String> {
        let said = [&result.stderr, &result.stdout, &result.msg]
            .into_iter()
            .flatten()
            .any(|t| t.contains("Argument list too long"));
        let (name, size) = self.largest.as_ref()?;
        if result.status != Status::Failed || !said || self.total < 64 * 1024 {
            return None;
        }
        Some(format!(
            "E2BIG, \"Argument list too long\": the task's `environment` adds {} bytes, the largest `{name}` {size} bytes; Linux limits all arguments and environment of a program together to about 2 MiB (a quarter of the stack limit, `ulimit -s`) and one `NAME=value` string to 128 KiB; pass large data in a file instead (copy or template it, and give its path)",
            self.total
        ))
    }
}

fn environment_prefix(
    shared: &TaskShared<'_>,
    task: &Task,
    vars: &Context,
) -> Result<Result<(String, EnvSizes), String>, InputError> {
    let mut prefix = String::new();
    let mut sizes = EnvSizes::default();
    for env in &task.common.environment {
        let rendered = shared.templater.render_node(env, vars)?;
        within_limit(shared, "`environment`", &rendered, &env.origin)?;
        let map = match rendered {
            Value::Object(map) => map,
            // `environment: "{{ x | default(omit) }}"`: no variables.
            v if crate::plan::template::is_omit(&v) => continue,
            other => {
                return Err(InputError::at(
                    &env.origin,
                    format!(
                        "`environment` must give a mapping of variable names to values, but `{}` gave {}",
                        env.scalar_text().unwrap_or_default(),
                        json_kind(&other)
                    ),
                    "not a mapping",
                )
                .with_help("make the variable a mapping, e.g. `proxy_env: {http_proxy: \"http://proxy:3128\"}`"));
            }
        };
        for (k, v) in map {
            if !crate::load::keywords::valid_env_name(&k) {
                return Ok(Err(format!(
                    "{}: `{k}` is not a valid environment variable name (letters, digits and `_`, not starting with a digit)",
                    env.origin.describe()
                )));
            }
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            // Known before anything runs: refused here rather than as the
            // shell's bare "rc 126" from the host.
            let size = k.len() + 1 + text.len() + 1;
            if size > MAX_ENV_STRING {
                return Ok(Err(format!(
                    "{}: `environment` variable `{k}` is {} bytes long ({size} bytes as `{k}=value`); Linux refuses to start any program whose one environment string is over 128 KiB ({MAX_ENV_STRING} bytes, MAX_ARG_STRLEN) with E2BIG, \"Argument list too long\" (and all arguments and environment together over about 2 MiB); nothing was run. Pass large data in a file instead (copy or template it, and give its path)",
                    env.origin.describe(),
                    text.len()
                )));
            }
            sizes.total += size;
            if sizes.largest.as_ref().is_none_or(|(_, l)| size > *l) {
                sizes.largest = Some((k.clone(), size));
            }
            prefix.push_str(&format!("export {k}={}\n", quote(&text)));
        }
    }
    Ok(Ok((prefix, sizes)))
}

fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 60 => "a string".into(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn become_user(
    shared: &TaskShared<'_>,
    task: &Task,
    job: &HostJob,
    vars: &Context,
) -> Result<Option<String>, InputError> {
    if task.common.become_ != Some(true) {
        return Ok(None);
    }
    let user = match &task.common.become_user {
        Some(node) => match shared.templater.render_node(node, vars)? {
            Value::String(s) => s,
            other => other.to_string(),
        },
        None => "root".to_string(),
    };
    // Already that user: sudo would only add a dependency and a round of PAM.
    let connected_as = match job.target.kind {
        ConnectionKind::Local => Some(current_user()),
        ConnectionKind::Ssh => job.target.user.clone(),
    };
    Ok(if connected_as.as_deref() == Some(user.as_str()) {
        None
    } else {
        Some(user)
    })
}

fn current_user() -> String {
    // SAFETY: geteuid has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } == 0 {
        "root".into()
    } else {
        std::env::var("USER").unwrap_or_default()
    }
}

async fn run_module(
    shared: &TaskShared<'_>,
    task: &Task,
    job: &HostJob,
    vars: &Context,
    check_mode: bool,
) -> Result<TaskResult, Failure> {
    match &task.action {
        Action::Meta(_) | Action::Include { .. } => Ok(TaskResult::ok()),
        Action::IncludeVars(args) => Ok(include_vars(shared, task, job, args, vars)?),
        Action::Module { module, args } => {
            let (args, natives) = render_args(shared, task, args, vars)?;
            let nonce = new_nonce();
            let search_paths = match module.spec().source_dir {
                Some(_) => task.source.search_paths(),
                None => Vec::new(),
            };
            let evaluator = HostEvaluator {
                templater: shared.templater,
                vars,
                lazy: job.lazy.as_deref(),
                origin: &task.origin,
                render_error: std::sync::Mutex::new(None),
                search_paths: &search_paths,
            };
            let ctx = TaskContext {
                host: &job.host,
                check_mode,
                diff: task.common.diff.unwrap_or(shared.diff),
                nonce: &nonce,
                search_paths: &search_paths,
                eval: &evaluator,
            };
            let step = match module.prepare(&args, &ctx) {
                Ok(step) => step,
                Err(e) => {
                    let input = evaluator
                        .render_error
                        .lock()
                        .ok()
                        .and_then(|mut s| s.take());
                    return match input {
                        Some(input) => Err(input.into()),
                        None => Ok(TaskResult::failed(e.to_string())),
                    };
                }
            };
            // An invalid name is the task's failure (so `ignore_errors`
            // applies), not an input error: it only exists after templating.
            let (env, env_sizes) = match environment_prefix(shared, task, vars)? {
                Ok(env) => env,
                Err(msg) => return Ok(TaskResult::failed(msg)),
            };
            let become_user = become_user(shared, task, job, vars)?;
            let timeout = match &task.common.timeout_template {
                Some(node) => {
                    let value = shared.templater.render_node(node, vars)?;
                    let secs = bounds::number_in(&value)
                        .ok_or_else(|| {
                            format!("`timeout` must be a number of seconds, got {value}")
                        })
                        .and_then(bounds::timeout_seconds)
                        .map_err(|m| InputError::at(&node.origin, m, "rendered from here"))?;
                    Some(Duration::from_secs(secs))
                }
                None => task.common.timeout.map(Duration::from_secs),
            };
            let mut result = run_steps(shared, job, step, &env, become_user, timeout).await?;
            if let Some(why) = env_sizes.explain_e2big(&result) {
                let msg = result.msg.take().unwrap_or_default();
                result.msg = Some(format!("{msg} ({why})").trim_start().to_string());
            }
            if module.spec().name == "set_fact" {
                result.native_facts = natives
                    .into_iter()
                    .filter(|(name, _)| result.facts.contains_key(name))
                    .collect();
            }
            Ok(result)
        }
    }
}

async fn run_steps(
    shared: &TaskShared<'_>,
    job: &HostJob,
    mut step: Step,
    env: &str,
    become_user: Option<String>,
    timeout: Option<Duration>,
) -> Result<TaskResult, Failure> {
    // Held until the step chain ends.
    let mut exclusive = None;
    loop {
        step = match step {
            Step::Done(result) => return Ok(result),
            Step::Sleep(duration, result) => {
                return Ok(sleep_unless_stopped(duration, result, shared.interrupt).await);
            }
            Step::Wait(duration, next) => {
                wait_unless_stopped(duration, shared.interrupt).await;
                *next
            }
            Step::UnlessStopped { next, stopped } => {
                let signal = shared.interrupt.load(std::sync::atomic::Ordering::SeqCst);
                if signal != 0 {
                    return Ok(stopped(super::stop_cause(signal)));
                }
                *next
            }
            Step::Exclusive(key, next) => {
                // One lock per step chain (a second would risk a deadlock).
                if exclusive.is_none() {
                    exclusive = Some(shared.connections.exclusive(&job.target, &key).await);
                }
                *next
            }
            Step::Reconnect(rc) => {
                if job.target.kind == ConnectionKind::Local {
                    return Ok(TaskResult::failed(format!(
                        "Running {} with local connection would reboot the control node.",
                        rc.action
                    )));
                }
                reconnect(shared, job, *rc, env, become_user.clone()).await?
            }
            Step::Remote { script, interpret } => {
                let connection = match shared.connections.get(&job.target, shared.reporter).await {
                    Ok(connection) => connection,
                    Err(e) => {
                        // Try afresh next time: a host kept in play by
                        // ignore_unreachable may come back.
                        shared.connections.forget(&job.target.host_name);
                        return Err(unreachable_or_failed(&job.target, e));
                    }
                };
                let request = ExecRequest {
                    script: if env.is_empty() {
                        script
                    } else {
                        format!("{env}{script}")
                    },
                    become_user: become_user.clone(),
                    timeout,
                };
                match connection.exec(&request).await {
                    Ok(output) => interpret(&output),
                    Err(TransportError::Timeout(d)) => {
                        return Ok(TaskResult::failed(format!(
                            "timed out after {} s (task `timeout`)",
                            d.as_secs_f64()
                        )))
                    }
                    Err(e) if e.is_unreachable() => {
                        shared.connections.forget(&job.target.host_name);
                        return Err(Failure::Unreachable(e.to_string()));
                    }
                    Err(e) => return Ok(TaskResult::failed(e.to_string())),
                }
            }
        }
    }
}

/// Run a [`Reconnect`]: the trigger (a dropped connection is expected), then
/// fresh connections and probes until the module says the host is back or
/// the timeout passes. Returns the module's next step.
async fn reconnect(
    shared: &TaskShared<'_>,
    job: &HostJob,
    rc: Reconnect,
    env: &str,
    become_user: Option<String>,
) -> Result<Step, Failure> {
    let request = |script: &str| ExecRequest {
        script: format!("{env}{script}"),
        become_user: become_user.clone(),
        timeout: None,
    };
    let connection = match shared.connections.get(&job.target, shared.reporter).await {
        Ok(connection) => connection,
        Err(e) => {
            shared.connections.forget(&job.target.host_name);
            return Err(unreachable_or_failed(&job.target, e));
        }
    };
    let started = Instant::now();
    // An error here is the connection going down under the trigger: the
    // reboot has begun.
    let answer = connection.exec(&request(&rc.trigger)).await.ok();
    if let Some(result) = (rc.triggered)(answer.as_ref()) {
        return Ok(Step::Done(result));
    }
    // The old connection (an ssh master to a host that is going away) is
    // closed, so no later task reuses it.
    shared.connections.forget(&job.target.host_name);
    if let Ok(connection) = Arc::try_unwrap(connection) {
        connection.close().await;
    }
    let mut back = rc.back;
    let mut last = "no answer yet".to_string();
    if !wait_unless_stopped(rc.delay, shared.interrupt).await {
        return Ok(Step::Done(TaskResult::failed(format!(
            "{}: stopped while waiting for the host to come back",
            rc.action
        ))));
    }
    loop {
        if started.elapsed() >= rc.timeout {
            return Ok(Step::Done(TaskResult::failed(format!(
                "{}: the host did not come back within {} s (last: {last})",
                rc.action,
                rc.timeout.as_secs_f64()
            ))));
        }
        // Each probe gets what is left of the timeout, at most a minute.
        let left = rc.timeout.saturating_sub(started.elapsed());
        let mut probe = request(&rc.probe);
        probe.timeout = Some(left.min(Duration::from_secs(60)));
        match shared.connections.get(&job.target, shared.reporter).await {
            Err(e) => {
                shared.connections.forget(&job.target.host_name);
                last = e.to_string();
            }
            Ok(connection) => match connection.exec(&probe).await {
                Ok(out) => match back(&out, started.elapsed()) {
                    Ok(step) => return Ok(step),
                    Err(why) => last = why,
                },
                Err(e) => {
                    shared.connections.forget(&job.target.host_name);
                    last = e.to_string();
                }
            },
        }
        if !wait_unless_stopped(rc.interval, shared.interrupt).await {
            return Ok(Step::Done(TaskResult::failed(format!(
                "{}: stopped while waiting for the host to come back (last: {last})",
                rc.action
            ))));
        }
    }
}

fn unreachable_or_failed(spec: &ConnectionSpec, e: TransportError) -> Failure {
    Failure::Unreachable(unreachable_message(spec, e))
}

/// What an unreachable host's result says when its connection cannot be
/// opened: the transport's error and the address (and port) it tried.
pub(super) fn unreachable_message(spec: &ConnectionSpec, e: TransportError) -> String {
    let target = match spec.port {
        Some(p) => format!("{}:{p}", spec.address),
        None => spec.address.clone(),
    };
    format!("{e} (connecting to {target})")
}

fn include_vars(
    shared: &TaskShared<'_>,
    task: &Task,
    job: &HostJob,
    args: &IncludeVarsArgs,
    vars: &Context,
) -> Result<TaskResult, InputError> {
    let render = |node: &Node| {
        shared
            .templater
            .render_str(node.as_str().unwrap_or_default(), vars, &node.origin)
    };
    let (node, is_dir) = match (&args.file, &args.dir) {
        (Some(f), _) => (f, false),
        (None, Some(d)) => (d, true),
        (None, None) => return Ok(TaskResult::failed("include_vars needs `file` or `dir`")),
    };
    let name = render(node)?;
    // As Ansible: the task file's directory, the role's `vars/`, the playbook's.
    let mut candidates = vec![task.source.dir.join(&name)];
    if let Some(role) = &task.source.role {
        candidates.push(role.path.join("vars").join(&name));
    }
    candidates.push(task.source.playbook_dir.join(&name));
    let found = candidates
        .iter()
        .find(|p| if is_dir { p.is_dir() } else { p.is_file() });
    let Some(path) = found else {
        return Err(InputError::at(
            &node.origin,
            format!(
                "vars {} `{name}` not found",
                if is_dir { "directory" } else { "file" }
            ),
            "here",
        )
        .with_help(format!(
            "looked at: {}",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let files = if is_dir {
        match vars_dir_files(path, args) {
            Ok(files) => files,
            Err(msg) => return Ok(TaskResult::failed(msg)),
        }
    } else {
        vec![path.clone()]
    };
    // Under `no_log` a file that cannot be read as variables is named with
    // its line and what is wrong (a YAML error, a bad variable name), with
    // no source lines and its values masked, rather than the blanket
    // "a template or condition failed" (the kind of error is no secret).
    let hide = |e: InputError, values: &[String]| {
        if job.no_log {
            e.hide_file_for_no_log(values)
        } else {
            e
        }
    };
    let mut pairs = Vec::new();
    for file in &files {
        let loaded = crate::yaml::parse_file(file).map_err(|e| hide(e, &[]))?;
        // Under `name:` they are one variable's keys, no connection variables.
        let read = if args.name.is_some() {
            crate::load::fields::var_pairs_nested
        } else {
            crate::load::fields::var_pairs
        };
        pairs.extend(
            read(&loaded, &format!("vars file {}", file.display()))
                .map_err(|e| hide(e, &scalar_texts(&loaded)))?,
        );
    }
    // The file's templates may read variables the task itself does not.
    let mut names = Vec::new();
    pairs.iter().for_each(|(_, v)| node_refs(v, &mut names));
    let completed;
    let vars = match &job.lazy {
        Some(lazy) => {
            completed = lazy.complete(vars, names, shared.templater)?;
            &completed
        }
        None => vars,
    };
    let mut loaded = Map::new();
    for (k, v) in pairs {
        let value = shared.templater.render_node(&v, vars)?;
        within_limit(shared, &format!("variable `{k}`"), &value, &v.origin)?;
        loaded.insert(k, value);
    }
    let mut result = TaskResult::ok();
    match &args.name {
        // `name:` puts them all under one variable, as Ansible does.
        Some(n) => {
            let under =
                shared
                    .templater
                    .render_str(n.as_str().unwrap_or_default(), vars, &n.origin)?;
            // Each value is within the limit; together they may not be.
            let all = Value::Object(loaded);
            within_limit(shared, &format!("variable `{under}`"), &all, &n.origin)?;
            result.facts.insert(under, all);
        }
        None => result.facts = loaded,
    }
    Ok(result)
}

/// Every string value in `node`, for masking under `no_log`.
fn scalar_texts(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        match &n.value {
            NodeValue::Str(s) if !s.is_empty() => out.push(s.clone()),
            NodeValue::Seq(items) => todo.extend(items),
            NodeValue::Map(pairs) => todo.extend(pairs.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    out
}

/// The files `include_vars: dir=` reads, as ansible.builtin.include_vars
/// walks them: the top directory first, then each subdirectory (to `depth`
/// levels; 0: all), names sorted in each; `ignore_files` and names that
/// `files_matching` does not find are skipped; a file with another
/// extension than `extensions` fails the task unless
/// `ignore_unknown_extensions`. Errors: that message.
fn vars_dir_files(root: &Path, args: &IncludeVarsArgs) -> Result<Vec<PathBuf>, String> {
    let matcher = match &args.files_matching {
        Some(p) => Some(crate::pyregex::compile(p, false, false)?),
        None => None,
    };
    let mut out = Vec::new();
    // Breadth by directory as os.walk yields them (top-down, sorted).
    let mut dirs = vec![(root.to_path_buf(), 1u64)];
    // Directories read, by device and inode: a directory met twice (a bind
    // mount inside itself) would be walked for ever.
    let mut seen = std::collections::HashSet::new();
    while let Some((dir, level)) = dirs.pop() {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(&dir) {
            if !seen.insert((meta.dev(), meta.ino())) {
                return Err(format!(
                    "{} is a directory already read under {} (a loop in the tree); \
                     include_vars reads each directory once: remove the loop or set `depth`",
                    dir.display(),
                    root.display()
                ));
            }
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        let mut subdirs = Vec::new();
        for path in entries {
            // A symbolic link to a directory is not walked, as os.walk
            // (followlinks=False) in Ansible's include_vars: a link to an
            // ancestor would otherwise loop for ever.
            let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
            if is_link && path.is_dir() {
                continue;
            }
            if path.is_dir() {
                if args.depth == 0 || level < args.depth {
                    subdirs.push((path, level + 1));
                }
                continue;
            }
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if args.ignore_files.contains(&file_name) {
                continue;
            }
            if let Some(m) = &matcher {
                if !m.is_match(&file_name).unwrap_or(false) {
                    continue;
                }
            }
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !args.extensions.contains(&ext) {
                if args.ignore_unknown_extensions {
                    continue;
                }
                return Err(format!(
                    "{} does not have a valid extension: {}",
                    path.display(),
                    args.extensions.join(", ")
                ));
            }
            out.push(path);
        }
        // Popped last first: push in reverse so the first subdirectory is next.
        dirs.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// Wait out a `pause`, ending early when the operator asks to stop: the run
/// stops after this task anyway, so waiting longer would only delay it.
async fn sleep_unless_stopped(
    duration: Duration,
    result: TaskResult,
    interrupt: &std::sync::atomic::AtomicI32,
) -> TaskResult {
    let started = Instant::now();
    if wait_unless_stopped(duration, interrupt).await {
        return result;
    }
    result.with_msg(format!(
        "paused {:.1} s of {:.1} s: cut short by the stop request",
        started.elapsed().as_secs_f64(),
        duration.as_secs_f64()
    ))
}

/// Wait `duration`, or less when a stop request arrives (also a `delay`
/// of `until` and `loop_control.pause`). Returns whether it waited it all.
pub(super) async fn wait_unless_stopped(
    duration: Duration,
    interrupt: &std::sync::atomic::AtomicI32,
) -> bool {
    const TICK: Duration = Duration::from_millis(50);
    let started = Instant::now();
    while started.elapsed() < duration {
        if interrupt.load(std::sync::atomic::Ordering::SeqCst) != 0 {
            return false;
        }
        tokio::time::sleep(TICK.min(duration.saturating_sub(started.elapsed()))).await;
    }
    true
}
