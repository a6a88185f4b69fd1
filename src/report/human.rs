//! Human output: one line per task once every host has finished it, details
//! for whatever needs attention, live spinners for hosts still working, and
//! the PLAY RECAP.
//!
//! Lines are only ever written while the spinners are suspended (cleared), so
//! a task line can never be torn by a progress bar redrawing over it.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use similar::TextDiff;

use super::controls::{escape_controls, escape_line, pad_end, shown_name};
use super::recap::{file_line, human_duration, recap_block};
use super::style::{outcome_color, Color, Style};
use super::{Event, HostResult, Recap, Reporter, TaskInfo};
use crate::modules::{self, FileDiff, Status, TaskResult};

/// Where the host columns of a task line start, so short task names line up.
const RESULT_COLUMN: usize = 44;
/// A task line wraps its host columns beyond this width.
const LINE_WIDTH: usize = 120;
/// Every outcome label fits this width ("would change", "unreachable").
const LABEL_WIDTH: usize = 12;
/// Output lines shown from the end of a failed command's stderr/stdout.
const TAIL_LINES: usize = 10;
/// Same, at -v.
const TAIL_LINES_VERBOSE: usize = 40;
const SPINNER_TICK: Duration = Duration::from_millis(120);

#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    /// Number of `-v`: 1 shows every host's message, skip reasons, loop
    /// items and task origins; 2 adds command output of successful hosts.
    pub verbosity: u8,
    /// Print unified diffs of changed files.
    pub diff: bool,
    /// The run is in check mode (said on the PLAY line and in the recap).
    pub check_mode: bool,
    /// Use ANSI colors.
    pub color: bool,
    /// Draw a live spinner per in-flight host (only when stdout is a terminal).
    pub progress: bool,
}

pub struct HumanReporter {
    state: Mutex<State>,
}

impl HumanReporter {
    pub fn new(options: HumanOptions, writer: Box<dyn Write + Send>) -> HumanReporter {
        HumanReporter::with_progress_target(options, writer, ProgressDrawTarget::stdout())
    }

    /// Like [`HumanReporter::new`], with spinners drawn to `target` instead of
    /// stdout (tests draw them into an in-memory terminal).
    pub fn with_progress_target(
        options: HumanOptions,
        writer: Box<dyn Write + Send>,
        target: ProgressDrawTarget,
    ) -> HumanReporter {
        let multi = options
            .progress
            .then(|| MultiProgress::with_draw_target(target));
        HumanReporter {
            state: Mutex::new(State {
                options,
                style: Style::new(options.color),
                out: writer,
                write_failed: false,
                multi,
                spinners: HashMap::new(),
                host_width: 0,
                pending: PendingLines::default(),
                connect_heading: false,
                free: false,
            }),
        }
    }
}

impl Reporter for HumanReporter {
    /// It never prints a result's facts.
    fn prints_facts(&self) -> bool {
        false
    }
    fn event(&self, event: &Event) {
        // A poisoned lock means another thread panicked mid-print; keep
        // reporting rather than lose the rest of the run's output.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.handle(event);
    }

    fn finish(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.flush_pending();
        state.clear_spinners();
        if let Some(multi) = &state.multi {
            let _ = multi.clear();
        }
        if let Err(err) = state.out.flush() {
            state.write_error(&err);
        }
        !state.write_failed
    }
}

/// A task some hosts are still running.
/// A loop item's result as the report keeps it until its task ends:
/// without its `facts`, which it never prints (a `set_fact` loop's items
/// hold the fact's every value, twice its last in all).
fn kept_item(result: &HostResult) -> HostResult {
    let r = &result.result;
    HostResult {
        host: result.host.clone(),
        outcome: result.outcome,
        ignored: result.ignored,
        item: result.item.clone(),
        delegated_to: result.delegated_to.clone(),
        result: TaskResult {
            status: r.status,
            msg: r.msg.clone(),
            rc: r.rc,
            stdout: r.stdout.clone(),
            stderr: r.stderr.clone(),
            diff: r.diff.clone(),
            data: r.data.clone(),
            ..TaskResult::default()
        },
        elapsed: result.elapsed,
        started_at: result.started_at,
        check_mode: result.check_mode,
    }
}

struct PendingTask {
    task: TaskInfo,
    /// Hosts in the order the executor listed them.
    hosts: Vec<String>,
    finals: HashMap<String, HostResult>,
    /// Loop items' results by host, in order (by host so that counting and
    /// printing a host's items does not scan every host's: a 10,000-item
    /// loop was quadratic here).
    items: HashMap<String, Vec<HostResult>>,
    /// Hosts whose run of the task a quit at once killed (no result), with
    /// when it started and how long it ran until killed.
    cut: HashMap<String, (f64, Duration)>,
}

impl PendingTask {
    fn is_complete(&self) -> bool {
        // `finals` and `cut` only hold hosts of `hosts` (see `host_result`).
        self.finals.len() + self.cut.len() >= self.hosts.len()
    }
}

fn same_task(a: &TaskInfo, b: &TaskInfo) -> bool {
    a.name == b.name && a.origin == b.origin && a.play == b.play && a.is_handler == b.is_handler
}

/// The task lines still waiting for results, in the order they started,
/// with each host's lines indexed: under `strategy: free` every host's
/// task is a line of its own, and a thousand hosts each looking for theirs
/// in a list (and shifting it on removal) made that quadratic (issue 14).
#[derive(Default)]
struct PendingLines {
    lines: BTreeMap<u64, PendingTask>,
    next: u64,
    /// For each host, the keys of the lines listing it, oldest first.
    by_host: HashMap<String, Vec<u64>>,
}

impl PendingLines {
    fn push(&mut self, pending: PendingTask) -> u64 {
        let key = self.next;
        self.next += 1;
        for host in &pending.hosts {
            self.by_host.entry(host.clone()).or_default().push(key);
        }
        self.lines.insert(key, pending);
        key
    }

    /// The oldest line of `task`; with `host`, the oldest one listing it.
    fn find(&self, task: &TaskInfo, host: Option<&str>) -> Option<u64> {
        match host {
            Some(host) => self
                .by_host
                .get(host)?
                .iter()
                .copied()
                .find(|k| self.lines.get(k).is_some_and(|p| same_task(&p.task, task))),
            None => self
                .lines
                .iter()
                .find(|(_, p)| same_task(&p.task, task))
                .map(|(k, _)| *k),
        }
    }

    fn get_mut(&mut self, key: u64) -> Option<&mut PendingTask> {
        self.lines.get_mut(&key)
    }

    /// List `host` on line `key` too (a result without its own start).
    fn add_host(&mut self, key: u64, host: &str) {
        if let Some(p) = self.lines.get_mut(&key) {
            if !p.hosts.iter().any(|h| h == host) {
                p.hosts.push(host.to_string());
                self.by_host.entry(host.to_string()).or_default().push(key);
            }
        }
    }

    fn remove(&mut self, key: u64) -> Option<PendingTask> {
        let pending = self.lines.remove(&key)?;
        for host in &pending.hosts {
            if let Some(keys) = self.by_host.get_mut(host) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.by_host.remove(host);
                }
            }
        }
        Some(pending)
    }

    /// Every line, oldest first; none is left.
    fn take_all(&mut self) -> Vec<PendingTask> {
        self.by_host.clear();
        std::mem::take(&mut self.lines).into_values().collect()
    }
}

struct State {
    options: HumanOptions,
    style: Style,
    out: Box<dyn Write + Send>,
    write_failed: bool,
    multi: Option<MultiProgress>,
    spinners: HashMap<String, ProgressBar>,
    /// Width of the widest host name of the current play.
    host_width: usize,
    pending: PendingLines,
    /// The heading of the connection failures of the current batch is out.
    connect_heading: bool,
    /// The play runs `strategy: free`: each host's task is its own line,
    /// printed when that host finishes it (tasks of different hosts
    /// interleave, so results are matched by task and host).
    free: bool,
}

impl State {
    fn handle(&mut self, event: &Event) {
        match event {
            Event::PlayStart {
                name,
                hosts,
                strategy,
            } => {
                self.play_start(name, hosts, strategy);
                self.free = strategy == "free";
            }
            Event::TaskStart { task, hosts } => self.task_start(task, hosts),
            Event::ConnectStart { .. } => self.connect_heading = false,
            Event::HostConnected {
                host,
                error: Some(error),
                ..
            } => self.connect_failed(host, error),
            Event::HostConnected { .. } => {}
            Event::HostStart { host, task } => self.host_start(host, task),
            Event::HostResult { task, result } => self.host_result(task, result),
            Event::Cut {
                task,
                host,
                started_at,
                elapsed,
            } => self.host_cut(task, host, (*started_at, *elapsed)),
            Event::Warning { host, message } => {
                let text = match host {
                    Some(host) => format!("{}: {message}", shown_name(host)),
                    None => message.clone(),
                };
                let label = self.style.bold_color(Color::Magenta, "[WARNING]:");
                let mut lines = Vec::new();
                push_multiline(&mut lines, &format!("{label} "), "           ", &text);
                self.emit(lines);
            }
            Event::Stopped { reason } => {
                self.flush_pending();
                self.clear_spinners();
                self.emit(self.stopped_block(reason));
            }
            Event::Recap(recap) => self.recap(recap),
        }
    }

    /// Write lines with the spinners out of the way. A write error (closed
    /// pipe) is said once on stderr and otherwise ignored: losing the
    /// screen must not abort a failover half-way.
    fn emit(&mut self, lines: Vec<String>) {
        let State {
            options,
            out,
            multi,
            ..
        } = self;
        let own_colors = options.color;
        let mut write = || -> std::io::Result<()> {
            for line in &lines {
                writeln!(out, "{}", escape_line(line, own_colors))?;
            }
            out.flush()
        };
        let result = match multi {
            Some(multi) => multi.suspend(write),
            None => write(),
        };
        if let Err(err) = result {
            self.write_error(&err);
        }
    }

    /// Said once on stderr; `finish` then reports the loss (no exit 0).
    fn write_error(&mut self, err: &std::io::Error) {
        if !self.write_failed {
            self.write_failed = true;
            super::stderr_line(&super::write_error_line("the run's output", err));
        }
    }

    fn play_start(&mut self, name: &str, hosts: &[String], strategy: &str) {
        self.flush_pending();
        self.host_width = hosts
            .iter()
            .map(|h| shown_name(h).chars().count())
            .max()
            .unwrap_or(0);
        let name = shown_name(name);
        let mut line = format!(
            "PLAY [{name}] on {} host{}: {}",
            hosts.len(),
            if hosts.len() == 1 { "" } else { "s" },
            play_hosts_shown(hosts)
        );
        if strategy == "free" {
            line.push_str(
                " (strategy free: each host runs ahead on its own; one line per host and task)",
            );
        }
        if hosts.is_empty() {
            line = format!("PLAY [{name}]: no hosts matched");
        }
        let mut line = self.style.bold(&line);
        if self.options.check_mode {
            line.push_str("  ");
            line.push_str(
                &self
                    .style
                    .bold_color(Color::Cyan, "[CHECK MODE: nothing will be changed]"),
            );
        }
        self.emit(vec![String::new(), line]);
    }

    fn task_start(&mut self, task: &TaskInfo, hosts: &[String]) {
        if hosts.is_empty() {
            let line = format!("{} (no hosts left to run it)", self.task_heading(task));
            self.emit(vec![line]);
            return;
        }
        // The same task again (a second serial batch; under `free`, the same
        // host again) starts a fresh line.
        if let Some(key) = self.find_pending(task, hosts.first().map(String::as_str)) {
            if let Some(old) = self.pending.remove(key) {
                self.print_task(old);
            }
        }
        let mut seen = std::collections::HashSet::new();
        self.pending.push(PendingTask {
            task: task.clone(),
            hosts: hosts.iter().filter(|h| seen.insert(*h)).cloned().collect(),
            finals: HashMap::new(),
            items: HashMap::new(),
            cut: Default::default(),
        });
    }

    fn host_start(&mut self, host: &str, task: &TaskInfo) {
        let Some(multi) = &self.multi else {
            return;
        };
        if let Some(old) = self.spinners.remove(host) {
            old.finish_and_clear();
            multi.remove(&old);
        }
        let template = if self.options.color {
            "{spinner:.cyan} {prefix:.bold} {msg} {elapsed:.dim}"
        } else {
            "{spinner} {prefix} {msg} {elapsed}"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = multi.add(
            ProgressBar::new_spinner()
                .with_style(style)
                .with_prefix(pad_end(&shown_name(host), self.host_width))
                .with_message(escape_controls(&self.task_heading_plain(task)).into_owned()),
        );
        bar.enable_steady_tick(SPINNER_TICK);
        self.spinners.insert(host.to_string(), bar);
    }

    fn drop_spinner(&mut self, host: &str) {
        if let Some(bar) = self.spinners.remove(host) {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(&bar);
            }
        }
    }

    fn clear_spinners(&mut self) {
        let hosts: Vec<String> = self.spinners.keys().cloned().collect();
        for host in hosts {
            self.drop_spinner(&host);
        }
    }

    /// The pending line of `task`; under `free`, the one of `host`'s run.
    fn find_pending(&self, task: &TaskInfo, host: Option<&str>) -> Option<u64> {
        self.pending.find(task, host.filter(|_| self.free))
    }

    fn host_result(&mut self, task: &TaskInfo, result: &HostResult) {
        let key = match self.find_pending(task, Some(&result.host)) {
            Some(key) => key,
            None => {
                // A result without a TaskStart: still report it, on its own line.
                self.pending.push(PendingTask {
                    task: task.clone(),
                    hosts: vec![result.host.clone()],
                    finals: HashMap::new(),
                    items: HashMap::new(),
                    cut: Default::default(),
                })
            }
        };
        if let Some(item) = &result.item {
            let done = self
                .pending
                .get_mut(key)
                .and_then(|p| p.items.get(&result.host))
                .map_or(0, Vec::len)
                + 1;
            if let Some(bar) = self.spinners.get(&result.host) {
                bar.set_message(format!(
                    "{}  item {done} done: {} ({})",
                    escape_controls(&self.task_heading_plain(task)),
                    shown_name(item),
                    outcome_label(result)
                ));
            }
            if let Some(p) = self.pending.get_mut(key) {
                p.items
                    .entry(result.host.clone())
                    .or_default()
                    .push(kept_item(result));
            }
            return;
        }
        self.drop_spinner(&result.host);
        self.pending.add_host(key, &result.host);
        let Some(pending) = self.pending.get_mut(key) else {
            return;
        };
        pending.finals.insert(result.host.clone(), result.clone());
        if pending.is_complete() {
            if let Some(done) = self.pending.remove(key) {
                self.print_task(done);
            }
        }
    }

    /// A quit at once killed `host`'s run of `task`: its cell says `cut`.
    fn host_cut(&mut self, task: &TaskInfo, host: &str, ran: (f64, Duration)) {
        self.drop_spinner(host);
        let key = match self.find_pending(task, Some(host)) {
            Some(key) => key,
            None => self.pending.push(PendingTask {
                task: task.clone(),
                hosts: vec![host.to_string()],
                finals: HashMap::new(),
                items: HashMap::new(),
                cut: Default::default(),
            }),
        };
        self.pending.add_host(key, host);
        let Some(pending) = self.pending.get_mut(key) else {
            return;
        };
        pending.cut.insert(host.to_string(), ran);
        if pending.is_complete() {
            if let Some(done) = self.pending.remove(key) {
                self.print_task(done);
            }
        }
    }

    /// Print tasks that will get no more results (the run stopped or moved
    /// on); hosts that never answered say so instead of vanishing.
    fn flush_pending(&mut self) {
        for pending in self.pending.take_all() {
            self.print_task(pending);
        }
    }

    /// A host whose connection failed before the batch's first task, under
    /// one `CONNECT` heading per batch (a batch whose connections all open
    /// prints nothing: the recap gives the time).
    fn connect_failed(&mut self, host: &str, error: &str) {
        let mut lines = Vec::new();
        if !self.connect_heading {
            self.connect_heading = true;
            lines.push(String::new());
            lines.push(self.style.bold("CONNECT [before the first task]"));
        }
        let head = self.style.bold_color(Color::Red, "UNREACHABLE");
        let msg = error.strip_prefix("unreachable: ").unwrap_or(error);
        let host = shown_name(host);
        push_multiline(&mut lines, &format!("  {host} {head}: "), "      ", msg);
        self.emit(lines);
    }

    fn recap(&mut self, recap: &Recap) {
        self.flush_pending();
        self.clear_spinners();
        let lines = recap_block(recap, self.style, self.options.check_mode);
        self.emit(lines);
    }

    fn stopped_block(&self, reason: &str) -> Vec<String> {
        let rule = "=".repeat(72);
        let mut lines = vec![
            String::new(),
            self.style.bold_color(Color::Red, &rule),
            self.style.bold_color(Color::Red, "RUN STOPPED"),
        ];
        for line in reason.lines() {
            lines.push(format!("  {line}"));
        }
        lines.push(self.style.bold_color(Color::Red, &rule));
        lines
    }

    fn task_heading_plain(&self, task: &TaskInfo) -> String {
        let kind = if task.is_handler { "HANDLER" } else { "TASK" };
        format!("{kind} [{}]", shown_name(&task.name))
    }

    fn task_heading(&self, task: &TaskInfo) -> String {
        self.style.bold(&self.task_heading_plain(task))
    }

    fn print_task(&mut self, pending: PendingTask) {
        let lines = self.render_task(&pending);
        self.emit(lines);
    }

    fn render_task(&self, pending: &PendingTask) -> Vec<String> {
        let heading_plain = self.task_heading_plain(&pending.task);
        let mut first = format!("{} ", self.task_heading(&pending.task));
        let heading_len = heading_plain.chars().count() + 1;
        if heading_len < RESULT_COLUMN {
            first.push_str(&".".repeat(RESULT_COLUMN - heading_len));
        } else {
            first.push_str("...");
        }
        first.push(' ');

        let labels: Vec<String> = pending
            .hosts
            .iter()
            .map(|h| match pending.finals.get(h) {
                Some(r) => host_label(r),
                None => shown_name(h).into_owned(),
            })
            .collect();
        let host_width = labels
            .iter()
            .map(|l| l.chars().count())
            .chain([self.host_width])
            .max()
            .unwrap_or(0);
        let cell_width = host_width + 2 + LABEL_WIDTH;
        let per_line = ((LINE_WIDTH - RESULT_COLUMN) / (cell_width + 2)).max(1);

        let mut cells = Vec::new();
        for (host, label) in pending.hosts.iter().zip(&labels) {
            let (text, color) = match pending.finals.get(host) {
                Some(r) => (outcome_label(r), outcome_color(r.outcome, r.ignored)),
                None if pending.cut.contains_key(host) => ("cut".to_string(), Color::Red),
                None => ("no result".to_string(), Color::Red),
            };
            let pad = LABEL_WIDTH.saturating_sub(text.chars().count());
            cells.push(format!(
                "{}: {}{}",
                pad_end(label, host_width),
                self.style.paint(color, &text),
                " ".repeat(pad)
            ));
        }

        let mut lines = Vec::new();
        let mut line = first;
        for (i, chunk) in cells.chunks(per_line).enumerate() {
            if i > 0 {
                lines.push(line.trim_end().to_string());
                line = " ".repeat(RESULT_COLUMN + 1);
            }
            line.push_str(&chunk.join("  "));
        }
        // The last cell keeps its padding so durations line up.
        line.push_str(&format!(
            "  ({})",
            human_duration(task_span(
                pending
                    .finals
                    .values()
                    .map(|r| (r.started_at, r.elapsed))
                    .chain(pending.cut.values().copied())
            ))
        ));
        if self.options.verbosity >= 1 && !pending.task.origin.is_empty() {
            line.push_str(&format!("  {}", file_line(&pending.task.origin)));
        }
        lines.push(line);

        // Hosts refused with the same bare message (the same variable's
        // template, from a group's vars) are said once, on one line.
        let mut alike: HashMap<&str, Vec<&str>> = HashMap::new();
        for host in &pending.hosts {
            if let Some(msg) = pending.finals.get(host).and_then(|r| bare_failure(r)) {
                if pending.items.get(host).is_none_or(Vec::is_empty) {
                    alike.entry(msg).or_default().push(host);
                }
            }
        }
        let (cut_hosts, lost_hosts): (Vec<&str>, Vec<&str>) = pending
            .hosts
            .iter()
            .filter(|h| !pending.finals.contains_key(*h))
            .map(String::as_str)
            .partition(|h| pending.cut.contains_key(*h));
        for host in &pending.hosts {
            match pending.finals.get(host) {
                Some(result) => {
                    let group = bare_failure(result).and_then(|m| alike.get(m));
                    match group {
                        Some(hosts) if hosts.len() > 1 => {
                            if hosts.first() == Some(&host.as_str()) {
                                let labels: Vec<String> = hosts
                                    .iter()
                                    .filter_map(|h| pending.finals.get(*h))
                                    .map(host_label)
                                    .collect();
                                self.render_problem(&labels.join(", "), result, "  ", &mut lines);
                            }
                            continue;
                        }
                        _ => {}
                    }
                    let items: Vec<&HostResult> =
                        pending.items.get(host).into_iter().flatten().collect();
                    self.render_host(&pending.task, result, &items, &mut lines);
                }
                // Hosts without a result are said once each way, on one
                // line, where the first of them stands.
                None => {
                    let cut = pending.cut.contains_key(host);
                    let alike = if cut { &cut_hosts } else { &lost_hosts };
                    if alike.first() != Some(&host.as_str()) {
                        continue;
                    }
                    // in the recap's (name) order, as the stop report
                    let mut names: Vec<String> =
                        alike.iter().map(|h| shown_name(h).into_owned()).collect();
                    names.sort_unstable();
                    let what = if cut {
                        "cut: the quit at once killed the task while it ran; it may have done part of its work (not counted in the recap)"
                    } else {
                        "no result was received before the run stopped"
                    };
                    lines.push(format!(
                        "  {} {}: {what}",
                        self.style.bold_color(Color::Red, "!"),
                        names.join(", ")
                    ));
                }
            }
        }
        lines
    }

    fn render_host(
        &self,
        task: &TaskInfo,
        result: &HostResult,
        items: &[&HostResult],
        lines: &mut Vec<String>,
    ) {
        let verbose = self.options.verbosity >= 1;
        let host = host_label(result);

        for item in items {
            let problem = matches!(item.outcome, Status::Failed | Status::Unreachable);
            if !verbose && !problem {
                continue;
            }
            let label = outcome_label(item);
            lines.push(format!(
                "  {host} [item={}]: {}   ({})",
                shown_name(item.item.as_deref().unwrap_or_default()),
                self.style
                    .paint(outcome_color(item.outcome, item.ignored), &label),
                human_duration(item.elapsed)
            ));
            self.render_result(task, item, "      ", lines);
        }

        let indent = "  ";
        match result.outcome {
            Status::Failed | Status::Unreachable => {
                self.render_problem(&host, result, indent, lines)
            }
            Status::Skipped => {
                if verbose || skipped_for_check_mode(task, result) {
                    let reason = result
                        .result
                        .msg
                        .clone()
                        .unwrap_or_else(|| skip_reason_fallback(task, result));
                    push_multiline(
                        lines,
                        &format!("{indent}{host} skipped: "),
                        &format!("{indent}    "),
                        &reason,
                    );
                }
            }
            Status::Ok | Status::Changed => {
                if is_debug(task) {
                    let text = debug_text(&result.result);
                    push_multiline(
                        lines,
                        &format!("{indent}{host}: "),
                        &format!("{indent}    "),
                        &text,
                    );
                } else if verbose {
                    let show_output = self.options.verbosity >= 2 && has_output(&result.result);
                    match &result.result.msg {
                        Some(msg) => push_multiline(
                            lines,
                            &format!("{indent}{host}: "),
                            &format!("{indent}    "),
                            msg,
                        ),
                        None if show_output => lines.push(format!("{indent}{host}:")),
                        None => {}
                    }
                    if show_output {
                        self.render_output(&result.result, &format!("{indent}    "), lines);
                    }
                }
            }
        }

        if self.options.diff {
            let diffs = if result.result.diff.is_empty() {
                items
                    .iter()
                    .flat_map(|i| &i.result.diff)
                    .collect::<Vec<_>>()
            } else {
                result.result.diff.iter().collect()
            };
            for diff in diffs {
                self.render_diff(&host, diff, lines);
            }
        }
    }

    /// An item's result under its `[item=...]` line: the problem details,
    /// or at -v its message.
    fn render_result(
        &self,
        task: &TaskInfo,
        item: &HostResult,
        indent: &str,
        lines: &mut Vec<String>,
    ) {
        match item.outcome {
            Status::Failed | Status::Unreachable => {
                if let Some(msg) = &item.result.msg {
                    push_multiline(lines, indent, indent, msg);
                }
                self.render_output(&item.result, indent, lines);
            }
            _ => {
                let text = if is_debug(task) {
                    Some(debug_text(&item.result))
                } else {
                    item.result.msg.clone()
                };
                if let Some(text) = text {
                    push_multiline(lines, indent, indent, &text);
                }
            }
        }
    }

    fn render_problem(
        &self,
        host: &str,
        result: &HostResult,
        indent: &str,
        lines: &mut Vec<String>,
    ) {
        let kind = match result.outcome {
            Status::Unreachable => "UNREACHABLE",
            _ => "FAILED",
        };
        let mut head = self
            .style
            .bold_color(outcome_color(result.outcome, result.ignored), kind);
        if result.ignored {
            head.push_str(match result.outcome {
                Status::Unreachable => " (ignored: ignore_unreachable, the play goes on)",
                _ => " (ignored: ignore_errors, the play goes on)",
            });
        }
        let r = &result.result;
        // The transport's message starts "unreachable: "; the head says it.
        let msg = r.msg.as_deref().map(|m| match result.outcome {
            Status::Unreachable => m.strip_prefix("unreachable: ").unwrap_or(m).to_string(),
            _ => m.to_string(),
        });
        let msg = msg.unwrap_or_else(|| {
            if r.rc.is_some() || r.stderr.is_some() || r.stdout.is_some() {
                "(no message; see below)".to_string()
            } else {
                "(the module gave no message)".to_string()
            }
        });
        push_multiline(
            lines,
            &format!("{indent}{host} {head}: "),
            &format!("{indent}    "),
            &msg,
        );
        self.render_output(r, &format!("{indent}    "), lines);
    }

    /// rc and the end of stderr/stdout: the part that says why.
    fn render_output(&self, r: &TaskResult, indent: &str, lines: &mut Vec<String>) {
        if let Some(rc) = r.rc {
            lines.push(format!("{indent}rc: {rc}"));
        }
        let keep = if self.options.verbosity >= 2 {
            usize::MAX
        } else if self.options.verbosity == 1 {
            TAIL_LINES_VERBOSE
        } else {
            TAIL_LINES
        };
        for (name, text) in [("stderr", &r.stderr), ("stdout", &r.stdout)] {
            let Some(text) = text else { continue };
            let all: Vec<&str> = text.lines().collect();
            if all.iter().all(|l| l.trim().is_empty()) {
                continue;
            }
            let shown = &all[all.len().saturating_sub(keep)..];
            if shown.len() < all.len() {
                lines.push(format!(
                    "{indent}{name} (last {} of {} lines):",
                    shown.len(),
                    all.len()
                ));
            } else {
                lines.push(format!("{indent}{name}:"));
            }
            for l in shown {
                lines.push(format!("{indent}  | {l}").trim_end().to_string());
            }
        }
    }

    fn render_diff(&self, host: &str, diff: &FileDiff, lines: &mut Vec<String>) {
        if diff.before == diff.after {
            return;
        }
        lines.push(format!("  {host}: diff of {}", diff.path));
        let text = TextDiff::from_lines(&diff.before, &diff.after);
        let unified = text
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (before)", diff.path),
                &format!("{} (after)", diff.path),
            )
            .to_string();
        for l in unified.lines() {
            let painted = if l.starts_with("+++") || l.starts_with("---") {
                self.style.bold(l)
            } else if l.starts_with('+') {
                self.style.paint(Color::Green, l)
            } else if l.starts_with('-') {
                self.style.paint(Color::Red, l)
            } else if l.starts_with("@@") {
                self.style.paint(Color::Cyan, l)
            } else {
                l.to_string()
            };
            lines.push(format!("    {painted}"));
        }
    }
}

/// A failure that is only a message (no output, no diff, not ignored):
/// hosts refused the same way can share one line.
fn bare_failure(r: &HostResult) -> Option<&str> {
    let t = &r.result;
    let bare = r.outcome == Status::Failed
        && !r.ignored
        && t.rc.is_none()
        && t.stdout.is_none()
        && t.stderr.is_none()
        && t.diff.is_empty();
    bare.then_some(t.msg.as_deref()).flatten()
}

/// The host, and where the task really ran when it was delegated (as
/// shown: see [`shown_name`]).
fn host_label(result: &HostResult) -> String {
    match &result.delegated_to {
        Some(target) if target != &result.host => {
            format!("{}->{}", shown_name(&result.host), shown_name(target))
        }
        _ => shown_name(&result.host).into_owned(),
    }
}

fn outcome_label(result: &HostResult) -> String {
    match result.outcome {
        Status::Ok => "ok",
        // In check mode nothing changed; say what the task would have done.
        Status::Changed if result.check_mode => "would change",
        Status::Changed => "changed",
        Status::Failed if result.ignored => "failed (ignored)",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::Unreachable if result.ignored => "unreachable (ignored)",
        Status::Unreachable => "unreachable",
    }
    .to_string()
}

fn has_output(r: &TaskResult) -> bool {
    let blank = |t: &Option<String>| t.as_deref().is_none_or(|t| t.trim().is_empty());
    r.rc.is_some() || !blank(&r.stdout) || !blank(&r.stderr)
}

fn is_debug(task: &TaskInfo) -> bool {
    modules::canonical_name(&task.module) == "debug"
}

/// A module that does not run under `--check` (command, shell, raw), by its spec.
fn is_command_like(task: &TaskInfo) -> bool {
    modules::find(&task.module).is_some_and(|m| m.spec().skips_in_check_mode)
}

/// Ansible skips command/shell in check mode without a word (#61285); baton
/// always says so, because an operator reading a dry run must know which
/// steps it did not exercise.
fn skipped_for_check_mode(task: &TaskInfo, result: &HostResult) -> bool {
    result.outcome == Status::Skipped
        && result.check_mode
        && (is_command_like(task)
            || result
                .result
                .msg
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("check mode")))
}

fn skip_reason_fallback(task: &TaskInfo, result: &HostResult) -> String {
    if result.check_mode && is_command_like(task) {
        format!("{} does not run in check mode", task.module)
    } else {
        "(no reason given)".to_string()
    }
}

fn debug_text(result: &TaskResult) -> String {
    match &result.msg {
        Some(msg) => msg.clone(),
        None if !result.data.is_empty() => {
            serde_json::to_string_pretty(&result.data).unwrap_or_default()
        }
        None => String::new(),
    }
}

/// First line after `first`, the rest after `rest`, so a multi-line message
/// stays visibly attached to its host.
fn push_multiline(lines: &mut Vec<String>, first: &str, rest: &str, text: &str) {
    let mut iter = text.lines();
    lines.push(
        format!("{first}{}", iter.next().unwrap_or_default())
            .trim_end()
            .to_string(),
    );
    for l in iter {
        lines.push(format!("{rest}{l}").trim_end().to_string());
    }
}

/// Wall time of a task: from the first host starting to the last finishing,
/// taken from the results (and the runs a quit at once cut, as `(started_at,
/// elapsed)`) so it matches the JSON and JUnit reports.
fn task_span(runs: impl Iterator<Item = (f64, Duration)>) -> Duration {
    let mut start = f64::INFINITY;
    let mut end: f64 = 0.0;
    let mut longest = Duration::ZERO;
    let mut timed = true;
    for (started_at, elapsed) in runs {
        longest = longest.max(elapsed);
        if started_at > 0.0 {
            start = start.min(started_at);
            end = end.max(started_at + elapsed.as_secs_f64());
        } else {
            timed = false;
        }
    }
    if !timed || !start.is_finite() {
        return longest;
    }
    Duration::try_from_secs_f64(end - start)
        .map(|span| span.max(longest))
        .unwrap_or(longest)
}

/// Hosts named on a PLAY line: all of them up to [`PLAY_HOSTS_NAMED`], else
/// the first few and how many more (1,000 names made one line of 10 kB;
/// Ansible prints none). `--list-hosts` and the JSON report give them all.
const PLAY_HOSTS_NAMED: usize = 8;

fn play_hosts_shown(hosts: &[String]) -> String {
    let named = if hosts.len() > PLAY_HOSTS_NAMED {
        PLAY_HOSTS_NAMED - 1
    } else {
        hosts.len()
    };
    let mut shown = hosts
        .iter()
        .take(named)
        .map(|h| shown_name(h))
        .collect::<Vec<_>>()
        .join(", ");
    if named < hosts.len() {
        shown.push_str(&format!(
            " and {} more (--list-hosts lists them)",
            hosts.len() - named
        ));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(module: &str) -> TaskInfo {
        TaskInfo {
            name: "t".into(),
            module: module.into(),
            origin: "p.yml:3:5".into(),
            is_handler: false,
            play: "p".into(),
        }
    }

    fn hr(host: &str, outcome: Status, started_at: f64, ms: u64) -> HostResult {
        HostResult {
            host: host.into(),
            outcome,
            ignored: false,
            item: None,
            delegated_to: None,
            result: TaskResult::default(),
            elapsed: Duration::from_millis(ms),
            started_at,
            check_mode: false,
        }
    }

    fn render(options: HumanOptions, events: &[Event]) -> String {
        #[derive(Clone, Default)]
        struct Buf(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let reporter = HumanReporter::new(options, Box::new(buf.clone()));
        for e in events {
            reporter.event(e);
        }
        reporter.finish();
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// Seconds (best of 3) to report one task under `strategy: free` on
    /// `n` hosts: every host starts it, then they finish in reverse order.
    fn free_task_seconds(n: usize) -> f64 {
        let hosts: Vec<String> = (0..n).map(|i| format!("h{i}")).collect();
        let mut events = vec![Event::PlayStart {
            name: "p".into(),
            hosts: hosts.clone(),
            strategy: "free".into(),
        }];
        for h in &hosts {
            events.push(Event::TaskStart {
                task: info("command"),
                hosts: vec![h.clone()],
            });
        }
        for h in hosts.iter().rev() {
            events.push(Event::HostResult {
                task: info("command"),
                result: hr(h, Status::Ok, 0.0, 1),
            });
        }
        (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                let reporter =
                    HumanReporter::new(HumanOptions::default(), Box::new(std::io::sink()));
                for e in &events {
                    reporter.event(e);
                }
                started.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    }

    #[test]
    fn free_lines_cost_linear_time_in_the_hosts() {
        // Under `free` each host's task is a line of its own; each host used
        // to look for its line in a list of all of them (issue 14): eight
        // times the hosts took some 35 times as long, now about 8.
        // The best of three each: a machine busy with other work during one
        // of them (a parallel test run) must not read as a slow algorithm.
        let best = |hosts| {
            (0..3)
                .map(|_| free_task_seconds(hosts))
                .fold(f64::INFINITY, f64::min)
        };
        let small = best(500);
        let large = best(4000);
        assert!(
            large < 20.0 * small.max(1e-4),
            "500 hosts: {small:.3} s, 4000 hosts: {large:.3} s"
        );
    }

    #[test]
    fn span_runs_from_first_start_to_last_end() {
        let a = hr("a", Status::Ok, 100.0, 50);
        let b = hr("b", Status::Ok, 100.2, 100);
        assert_eq!(
            task_span([&a, &b].into_iter().map(|r| (r.started_at, r.elapsed))),
            Duration::from_millis(300)
        );
    }

    #[test]
    fn span_without_start_times_is_the_longest_host() {
        let a = hr("a", Status::Ok, 0.0, 50);
        let b = hr("b", Status::Ok, 100.0, 70);
        assert_eq!(
            task_span([&a, &b].into_iter().map(|r| (r.started_at, r.elapsed))),
            Duration::from_millis(70)
        );
        assert_eq!(task_span(std::iter::empty()), Duration::ZERO);
    }

    #[test]
    fn labels_tell_check_mode_and_ignored_apart() {
        let mut r = hr("a", Status::Changed, 0.0, 1);
        assert_eq!(outcome_label(&r), "changed");
        r.check_mode = true;
        assert_eq!(outcome_label(&r), "would change");
        r.outcome = Status::Unreachable;
        r.ignored = true;
        assert_eq!(outcome_label(&r), "unreachable (ignored)");
    }

    #[test]
    fn delegated_host_shows_where_it_ran() {
        let mut r = hr("bc1", Status::Ok, 0.0, 1);
        assert_eq!(host_label(&r), "bc1");
        r.delegated_to = Some("bc2".into());
        assert_eq!(host_label(&r), "bc1->bc2");
        r.delegated_to = Some("bc1".into());
        assert_eq!(host_label(&r), "bc1");
    }

    #[test]
    fn check_mode_skip_is_explained_only_for_commands_or_check_mode_reasons() {
        let mut r = hr("a", Status::Skipped, 0.0, 1);
        r.check_mode = true;
        assert!(skipped_for_check_mode(&info("ansible.builtin.command"), &r));
        assert!(!skipped_for_check_mode(&info("copy"), &r));
        r.result.msg = Some("Skipped in CHECK MODE".into());
        assert!(skipped_for_check_mode(&info("copy"), &r));
        r.check_mode = false;
        assert!(!skipped_for_check_mode(&info("command"), &r));
    }

    #[test]
    fn multiline_text_stays_indented_under_its_host() {
        let mut lines = Vec::new();
        push_multiline(&mut lines, "  bc1: ", "      ", "one\ntwo\n");
        assert_eq!(lines, vec!["  bc1: one", "      two"]);
    }

    #[test]
    fn task_without_hosts_says_so() {
        let text = render(
            HumanOptions::default(),
            &[Event::TaskStart {
                task: info("ping"),
                hosts: vec![],
            }],
        );
        assert_eq!(text, "TASK [t] (no hosts left to run it)\n");
    }

    #[test]
    fn result_without_task_start_is_still_reported() {
        let text = render(
            HumanOptions::default(),
            &[Event::HostResult {
                task: info("ping"),
                result: hr("bc1", Status::Ok, 0.0, 3),
            }],
        );
        assert!(
            text.starts_with("TASK [t] ....") && text.contains("bc1: ok"),
            "{text}"
        );
    }

    #[test]
    fn loop_items_interleaved_across_hosts_print_under_their_host_in_order() {
        let task = info("file");
        let item = |host: &str, i: usize| {
            let mut r = hr(host, Status::Ok, 0.0, 1);
            r.item = Some(format!("{host}-{i}"));
            Event::HostResult {
                task: task.clone(),
                result: r,
            }
        };
        let mut events = vec![Event::TaskStart {
            task: task.clone(),
            hosts: vec!["a".into(), "b".into(), "a".into()],
        }];
        for i in 0..3 {
            events.push(item("a", i));
            events.push(item("b", i));
        }
        events.push(item("a", 3));
        for host in ["b", "a"] {
            events.push(Event::HostResult {
                task: task.clone(),
                result: hr(host, Status::Ok, 0.0, 1),
            });
        }
        let text = render(
            HumanOptions {
                verbosity: 1,
                ..HumanOptions::default()
            },
            &events,
        );
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("[item=")).collect();
        let items: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.split("[item=").nth(1)?.split(']').next())
            .collect();
        // each host's items, in their order, under that host (listed once)
        assert_eq!(
            items,
            ["a-0", "a-1", "a-2", "a-3", "b-0", "b-1", "b-2"],
            "{text}"
        );
        assert_eq!(text.matches("TASK [t]").count(), 1, "{text}");
    }

    #[test]
    fn hosts_refused_the_same_way_share_one_line() {
        let task = info("debug");
        let failed = |host: &str, msg: &str, rc: Option<i32>| {
            let mut r = hr(host, Status::Failed, 0.0, 1);
            r.result.msg = Some(msg.into());
            r.result.rc = rc;
            Event::HostResult {
                task: task.clone(),
                result: r,
            }
        };
        let mut events = vec![Event::TaskStart {
            task: task.clone(),
            hosts: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
        }];
        events.push(failed("a", "hosts.ini:30:5: too large", None));
        events.push(failed("b", "other", None));
        events.push(failed("c", "hosts.ini:30:5: too large", None));
        // a module's failure has its own output: said per host
        events.push(failed("d", "non-zero return code", Some(1)));
        events.push(failed("e", "non-zero return code", Some(1)));
        let text = render(HumanOptions::default(), &events);
        let problems: Vec<&str> = text.lines().filter(|l| l.contains(" FAILED")).collect();
        assert_eq!(
            problems,
            [
                "  a, c FAILED: hosts.ini:30:5: too large",
                "  b FAILED: other",
                "  d FAILED: non-zero return code",
                "  e FAILED: non-zero return code",
            ],
            "{text}"
        );
    }

    #[test]
    fn handlers_are_labelled_as_handlers() {
        let mut task = info("service");
        task.is_handler = true;
        let text = render(
            HumanOptions::default(),
            &[Event::HostResult {
                task,
                result: hr("bc1", Status::Changed, 0.0, 3),
            }],
        );
        assert!(text.starts_with("HANDLER [t] "), "{text}");
    }

    #[test]
    fn verbose_2_shows_output_of_successful_hosts() {
        let mut r = hr("bc1", Status::Changed, 0.0, 3);
        r.result.stdout = Some("hvr 5.7\n".into());
        let event = Event::HostResult {
            task: info("command"),
            result: r,
        };
        let v1 = render(
            HumanOptions {
                verbosity: 1,
                ..HumanOptions::default()
            },
            std::slice::from_ref(&event),
        );
        assert!(!v1.contains("hvr 5.7"), "{v1}");
        let v2 = render(
            HumanOptions {
                verbosity: 2,
                ..HumanOptions::default()
            },
            &[event],
        );
        assert!(
            v2.contains("\n  bc1:\n      stdout:\n        | hvr 5.7\n"),
            "{v2}"
        );
    }

    #[test]
    fn identical_before_and_after_prints_no_diff() {
        let mut r = hr("bc1", Status::Ok, 0.0, 3);
        r.result.diff.push(FileDiff {
            path: "/etc/hvrtab".into(),
            before: "same\n".into(),
            after: "same\n".into(),
        });
        let text = render(
            HumanOptions {
                diff: true,
                ..HumanOptions::default()
            },
            &[Event::HostResult {
                task: info("copy"),
                result: r,
            }],
        );
        assert!(!text.contains("diff of"), "{text}");
    }
}
