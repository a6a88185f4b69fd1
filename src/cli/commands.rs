//! What each subcommand does, from parsed flags to an exit code.

use crate::report::controls::one_line;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::output::{stderr_line, stderr_painted, stdout_raw, stdout_text};
use super::{AdhocArgs, ConnectArgs, InventoryArgs, OutputFormat, PingArgs, RunArgs};
use crate::error::{exit_code, Error, InputError};
use crate::execute::{self, ConnectOptions, RunOptions};
use crate::load::inventory::Inventory;
use crate::load::playbook::{self, Playbook};
use crate::load::{extra_vars, play::Play};
use crate::plan::template::Templater;
use crate::report::human::{HumanOptions, HumanReporter};
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::{AdhocReporter, Fanout, Reporter};

pub fn install_diagnostics_hook() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .terminal_links(false)
                .context_lines(2)
                .build(),
        )
    }));
}

/// Print an error with its source snippet; return its exit code.
fn report_error(e: impl Into<Error>) -> i32 {
    let e: Error = e.into();
    let code = e.exit_code();
    stderr_painted(&e.rendered());
    code
}

fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // 8 MiB, as the main thread: templates render on these threads
        // (the expression depth limit is measured to fit in 2 MiB)
        .thread_stack_size(8 << 20)
        .enable_all()
        .build()
        .map_err(|e| {
            report_error(Error::Internal(format!(
                "cannot start the async runtime: {e}"
            )))
        })
}

fn reporters(connect: &ConnectArgs, check: bool, diff: bool, junit: Option<&Path>) -> Fanout {
    let mut list: Vec<Box<dyn Reporter>> = Vec::new();
    match connect.output {
        OutputFormat::Human => {
            let tty = std::io::stdout().is_terminal();
            let options = HumanOptions {
                verbosity: connect.verbose,
                diff,
                check_mode: check,
                color: tty && std::env::var_os("NO_COLOR").is_none(),
                progress: tty,
            };
            list.push(Box::new(HumanReporter::new(
                options,
                Box::new(std::io::stdout()),
            )));
        }
        OutputFormat::Json => list.push(Box::new(JsonReporter::new(Box::new(std::io::stdout())))),
    }
    if let Some(path) = junit {
        list.push(Box::new(JunitReporter::new(path.to_path_buf())));
    }
    Fanout::new(list)
}

fn run_options(connect: &ConnectArgs, extra: Map<String, Value>) -> RunOptions {
    RunOptions {
        forks: connect.forks.max(1),
        extra_vars: extra,
        connect: ConnectOptions {
            connect_timeout: Duration::from_secs(connect.connect_timeout.max(1)),
            accept_new_host_keys: connect.ssh_accept_new,
            default_connection: connect.connection.clone(),
            persist: (connect.persist > 0).then(|| Duration::from_secs(connect.persist)),
        },
        verbosity: connect.verbose,
        ..RunOptions::default()
    }
}

/// Load what every host-facing command needs.
fn load_common(
    inventory: &[PathBuf],
    extra: &[String],
) -> Result<(Inventory, Map<String, Value>), InputError> {
    crate::bounds::template_steps().map_err(|m| {
        InputError::plain(m).with_help(format!(
            "unset it, or give e.g. {}={}",
            crate::bounds::TEMPLATE_STEPS_VAR,
            crate::bounds::MAX_TEMPLATE_STEPS
        ))
    })?;
    let extra = extra_vars::parse(extra)?;
    if inventory.is_empty() {
        // As ansible-core says it: a command copied without its `-i` would
        // otherwise fail later on an empty group, without saying why.
        stderr_line("[WARNING]: No inventory was parsed (no -i given), only implicit localhost is available");
    }
    let inventory = Inventory::load(inventory)?;
    for warning in inventory.warnings() {
        stderr_line(&format!("[WARNING]: {warning}"));
    }
    Ok((inventory, extra))
}

/// The signal watch of a command that runs tasks (`run`, `ping`, `adhoc`),
/// started before anything is loaded, so that a signal while loading is
/// answered too (it used to end baton silently with the signal's default
/// action).
struct Watch {
    rt: tokio::runtime::Runtime,
    interrupt: std::sync::Arc<std::sync::atomic::AtomicI32>,
    running: std::sync::Arc<execute::RunningTasks>,
    /// The run's reporters, once the run starts (a quit at once writes them).
    reporter: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<Fanout>>>,
}

impl Watch {
    fn start() -> Result<Watch, i32> {
        let rt = runtime()?;
        let watch = Watch {
            rt,
            interrupt: std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0)),
            running: std::sync::Arc::new(execute::RunningTasks::default()),
            reporter: std::sync::Arc::new(std::sync::OnceLock::new()),
        };
        // The handlers are installed when this returns (tokio registers
        // them as each stream is made), not when the task first runs.
        let streams = {
            let _inside = watch.rt.enter();
            signal_streams()
        };
        watch.rt.spawn(watch_signals(
            streams,
            std::sync::Arc::clone(&watch.interrupt),
            std::sync::Arc::clone(&watch.running),
            std::sync::Arc::clone(&watch.reporter),
        ));
        Ok(watch)
    }

    /// The run's options share the watch's stop flag and running tasks.
    fn attach(&self, options: &mut RunOptions) {
        options.interrupt = std::sync::Arc::clone(&self.interrupt);
        options.running = std::sync::Arc::clone(&self.running);
    }
}

fn execute(
    watch: Watch,
    playbook: &Playbook,
    inventory: &Inventory,
    options: &RunOptions,
    reporter: Fanout,
) -> i32 {
    let rt = &watch.rt;
    let reporter = std::sync::Arc::new(reporter);
    let _ = watch.reporter.set(std::sync::Arc::clone(&reporter));
    // From here a signal stops the run instead of the load; one that came
    // while loading has claimed the phase and is ending baton (it said so).
    if PHASE
        .compare_exchange(
            LOADING,
            RUNNING,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
        )
        .is_err()
    {
        loop {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let summary = rt.block_on(execute::run_playbook(
        playbook, inventory, options, &*reporter,
    ));
    RUN_ENDED.store(true, std::sync::atomic::Ordering::SeqCst);
    // Every exit path ends the masters it started: a connection the run did
    // not close (one still held when it ended) would otherwise stay, as
    // ControlPersist keeps masters.
    if !QUITTING.load(std::sync::atomic::Ordering::SeqCst) {
        rt.block_on(crate::transport::groups::end_masters());
    }
    // A quit at once in progress ends the process itself, with its own exit
    // code, once it has ended every task's processes; the run may have ended
    // first because those processes died.
    while QUITTING.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let written = reporter.finish();
    let code = match summary {
        Ok(summary) => {
            for e in summary.input_errors {
                report_error(e);
            }
            summary.exit_code
        }
        Err(e) => report_error(e),
    };
    // A lost report (full disk, stdout on /dev/full) must not read as
    // success: the message naming the file and error is already on stderr.
    if !written && code == exit_code::OK {
        exit_code::INTERNAL
    } else {
        code
    }
}

/// Set while a quit at once ends the tasks' processes.
static QUITTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set when the run has reported its end (stop report and recap).
static RUN_ENDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long a quit at once waits for the run to report its own end once the
/// tasks' processes are ended (a killed task returns at once; a render or a
/// write may hold the run longer).
const QUIT_REPORT_WAIT: Duration = Duration::from_secs(3);

/// Where a command that runs tasks is: loading (nothing has run yet), or
/// running; a signal while loading claims [`STOPPED_LOADING`] and ends baton.
static PHASE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(LOADING);
const LOADING: u8 = 0;
const RUNNING: u8 = 1;
const STOPPED_LOADING: u8 = 2;

/// The signals a run answers, and how:
/// - SIGINT (Ctrl-C), SIGTERM, SIGHUP, and SIGUSR1, SIGUSR2 and SIGALRM
///   (whose default action, and Python's, hence Ansible's, is to end the
///   process: a stop request, made safe): a stop request, see
///   [`watch_signals`];
/// - SIGQUIT (Ctrl-\\, "quit and dump core"): a quit at once straight
///   away, as a second stop request (no core file: the task processes are
///   ended and the reports written instead).
///
/// Without a handler each of these ended baton by its default action and
/// left the running task's processes behind.
const WATCHED: [i32; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

/// One stream per watched signal, each registered (its handler installed)
/// before this returns; merged into one channel of signal numbers.
fn signal_streams() -> tokio::sync::mpsc::UnboundedReceiver<i32> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<i32>();
    for number in WATCHED {
        let Ok(mut stream) = signal(SignalKind::from_raw(number)) else {
            stderr_line(&format!(
                "baton: [WARNING]: cannot watch signal {number}; it will end baton at once"
            ));
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(number).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// A stop request (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM): the
/// first lets the running task finish on every host, then the run stops with
/// its stop report and recap and exits 128 + the signal's number. A second
/// (any of them), or SIGQUIT at any time, quits at once: it ends the process
/// groups of the tasks still running, here and on the hosts, says which
/// tasks it cut, and exits 128 + that signal's number.
///
/// While loading (before anything ran) any of them ends baton at once with
/// 128 + its number, saying that nothing ran.
///
/// The quit still writes the reports (`--junit`, the JSON events): a
/// `Stopped` event names the tasks it cut on which hosts, then every
/// reporter finishes, as at the end of a run.
async fn watch_signals(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<i32>,
    interrupt: std::sync::Arc<std::sync::atomic::AtomicI32>,
    running: std::sync::Arc<execute::RunningTasks>,
    reporter: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<Fanout>>>,
) {
    let Some(first) = rx.recv().await else {
        return;
    };
    if PHASE
        .compare_exchange(
            LOADING,
            STOPPED_LOADING,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
        )
        .is_ok()
    {
        stderr_line(&format!(
            "\nbaton: {} while loading the playbook, inventory and variables: nothing ran on any host",
            execute::stop_cause(first)
        ));
        std::process::exit(exit_code::SIGNALLED + first);
    }
    // a render running now ends at its next checkpoint, not its last step
    crate::plan::template::request_stop();
    let quit = if first == libc::SIGQUIT {
        first
    } else {
        interrupt.store(first, std::sync::atomic::Ordering::SeqCst);
        stderr_line(&format!(
            "\nbaton: {}: letting the running task finish on every host, then stopping (Ctrl-C or SIGTERM again, or Ctrl-\\, to quit at once)",
            execute::stop_cause(first)
        ));
        let Some(second) = rx.recv().await else {
            return;
        };
        second
    };
    quit_at_once(quit, &interrupt, &running, reporter.get()).await;
}

/// End the running tasks' process groups and the SSH masters, say what was
/// cut and what had changed, see that the one stop report and the reports
/// are written, and exit 128 + `signal`.
async fn quit_at_once(
    signal: i32,
    interrupt: &std::sync::atomic::AtomicI32,
    running: &execute::RunningTasks,
    reporter: Option<&std::sync::Arc<Fanout>>,
) {
    QUITTING.store(true, std::sync::atomic::Ordering::SeqCst);
    stderr_line(&format!(
        "baton: quit at once ({}): ending the running tasks' processes",
        signal_name(signal)
    ));
    // What runs and what changed, as the quit found them.
    let report = running.quit_report();
    // A SIGQUIT that came first is the run's stop request too, set only now
    // that the cut tasks are known, so the run's own stop report names them.
    let _ = interrupt.compare_exchange(
        0,
        signal,
        std::sync::atomic::Ordering::SeqCst,
        std::sync::atomic::Ordering::SeqCst,
    );
    // Refuse every new start first, then end what runs: a loop's next item
    // or a task's next connection cannot slip in between.
    let ended = crate::transport::groups::kill_all().await;
    if !report.iter().any(|l| l.starts_with("cut: ")) {
        stderr_line("baton: no task was running");
    }
    for line in &report {
        stderr_line(&format!("baton: {line}"));
    }
    stderr_line(&format!(
        "baton: ended {} process group(s) of running tasks and {} ssh master connection(s)",
        ended.groups, ended.masters
    ));
    // The run's own end, when it comes soon (a killed task returns at
    // once), writes the one stop report, naming the quit and the cut tasks
    // (which it reports as cut, not failed), and the recap.
    let waited = std::time::Instant::now();
    while !RUN_ENDED.load(std::sync::atomic::Ordering::SeqCst)
        && waited.elapsed() < QUIT_REPORT_WAIT
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Otherwise (a render or a write holds the run) the quit writes it,
    // saying where it cut the run, so the reports are still written.
    if let Some(reporter) = reporter {
        if running.claim_stop_report() {
            let mut reason = format!("quit at once ({})", signal_name(signal));
            for line in &report {
                reason.push_str("; ");
                reason.push_str(line);
            }
            reporter.event(&crate::report::Event::Stopped { reason });
        }
        if !reporter.finish() {
            stderr_line("baton: a report could not be written completely (see above)");
        }
    }
    std::process::exit(exit_code::SIGNALLED + signal);
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT, Ctrl-\\",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGALRM => "SIGALRM",
        _ => "Ctrl-C",
    }
}

pub fn run(args: RunArgs) -> i32 {
    let watch = match Watch::start() {
        Ok(watch) => watch,
        Err(code) => return code,
    };
    let (inventory, extra) = match load_common(&args.connect.inventory, &args.connect.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    // Load, then compile every template and condition, before anything runs.
    let playbook = match playbook::resolve(&args.playbook)
        .and_then(|p| playbook::load(&p))
        .and_then(|pb| crate::plan::compile::check_playbook(&pb).map(|()| pb))
    {
        Ok(pb) => pb,
        Err(e) => return report_error(e),
    };
    let mut inventory = inventory;
    let playbook_dir = playbook
        .path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if let Err(e) = inventory.load_playbook_vars(&playbook_dir) {
        return report_error(e);
    }
    // With --list-hosts/--list-tasks too, the listing follows the check's
    // line (ansible-playbook lists too: a listing loads and checks
    // everything; it used to print only the check's line).
    let syntax_line = args.syntax_check.then(|| {
        format!(
            "playbook: {} (syntax OK: {} plays, {} tasks)\n",
            playbook.path.display(),
            playbook.plays.len(),
            playbook
                .plays
                .iter()
                .map(|p| p.all_tasks().len())
                .sum::<usize>()
        )
    });
    let listing = args.list_hosts || args.list_tasks;
    if let (Some(line), false) = (&syntax_line, listing) {
        return stdout_text(line);
    }
    let mut options = run_options(&args.connect, extra);
    watch.attach(&mut options);
    options.check = args.check;
    options.diff = args.diff;
    options.limit = match args.limit.as_deref().map(|l| limit_pattern(l, &inventory)) {
        None => None,
        Some(Ok(limit)) => Some(limit),
        Some(Err(e)) => return report_error(e),
    };
    options.tags = args.tags.clone();
    options.skip_tags = args.skip_tags.clone();
    options.start_at_task = args.start_at_task.clone();
    if args.list_hosts || args.list_tasks {
        return match list(
            &playbook,
            &inventory,
            &options,
            args.list_hosts,
            args.list_tasks,
        ) {
            Ok(text) => stdout_text(&format!("{}{text}", syntax_line.unwrap_or_default())),
            Err(e) => report_error(e),
        };
    }
    if let Some(path) = &args.junit {
        if let Err(e) = check_writable(path, &playbook.path, &args.connect.inventory) {
            return report_error(e);
        }
    }
    let reporter = reporters(&args.connect, args.check, args.diff, args.junit.as_deref());
    execute(watch, &playbook, &inventory, &options, reporter)
}

/// `-l PATTERN` or `-l @FILE` (one pattern per line, as Ansible), checked to
/// match at least one host: Ansible also refuses a limit that matches nothing.
fn limit_pattern(limit: &str, inventory: &Inventory) -> Result<String, InputError> {
    let (pattern, file) = match limit.strip_prefix('@') {
        Some(file) => {
            let text = limit_file(file)?;
            let pattern = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join(":");
            (pattern, Some((file, text)))
        }
        None => (limit.to_string(), None),
    };
    let selected = inventory.select(&pattern).map_err(|e| match &file {
        None => e,
        // A file no other user may read (`-l @/etc/shadow`): its lines are
        // not drawn and names quoted from them are masked, as for any input
        // file (see `InputError::at`).
        Some((file, text)) if crate::source::is_private(Path::new(file)) => {
            InputError::plain(format!(
                "-l @{file}: {} {}",
                crate::error::mask_private(&e.message, text),
                crate::error::PRIVATE_HIDDEN
            ))
            .with_help(LIMIT_FILE_HELP)
        }
        Some((file, _)) => InputError {
            message: format!("-l @{file}: {}", e.message),
            ..e
        },
    })?;
    if selected.is_empty() {
        return Err(InputError::plain(format!(
            "-l/--limit `{limit}` matches no host in the inventory"
        ))
        .with_help("check the host and group names with `baton inventory -i INVENTORY --graph`"));
    }
    // As ansible-core: a name that matches nothing is said, not dropped
    // silently (`-l web1,wbe2` would otherwise run web1 alone unremarked).
    for term in inventory.unmatched_terms(&pattern) {
        stderr_line(&format!(
            "[WARNING]: Could not match supplied host pattern, ignoring: {term}"
        ));
    }
    Ok(pattern)
}

const LIMIT_FILE_HELP: &str = "-l @FILE reads a file of host patterns, one per line";

/// The text of `-l @FILE`, refused in words about host patterns (it is no
/// YAML file): a missing path after `@`, a path that is no regular file
/// (a directory, a FIFO that would block), a file over 64 MiB, one that is
/// not UTF-8 text or holds a NUL byte (a binary file), each naming the file.
fn limit_file(file: &str) -> Result<String, InputError> {
    let refuse =
        |what: String| InputError::plain(format!("-l @{file}: {what}")).with_help(LIMIT_FILE_HELP);
    if file.is_empty() {
        return Err(InputError::plain("-l @: a file path must follow @").with_help(LIMIT_FILE_HELP));
    }
    let path = Path::new(file);
    if let Some(why) = crate::source::not_a_file(path) {
        return Err(refuse(format!("{file} {why}")));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() > crate::yaml::MAX_FILE_BYTES {
            return Err(refuse(format!(
                "{file} is {} MiB; a file of host patterns may hold at most {} MiB",
                meta.len() >> 20,
                crate::yaml::MAX_FILE_BYTES >> 20
            )));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| refuse(format!("cannot read {file}: {e}")))?;
    crate::source::note_read(path);
    let text = crate::source::text_of(path, bytes)
        .map_err(|m| refuse(format!("{m}; is it a binary file?")))?;
    if let Some(at) = text.find('\0') {
        let line = 1 + text[..at].matches('\n').count();
        return Err(refuse(format!(
            "{file}:{line}: a NUL byte (\\0) at byte offset {at}; is it a binary file?"
        )));
    }
    Ok(text)
}

/// Refuse a `--junit` path that cannot be written before anything runs,
/// rather than after the run changed hosts. An existing file is left as it
/// is; a file this check creates is removed again.
///
/// Also refused, so a report never destroys what it reports on: a path that
/// is an input of this run (the playbook, an inventory, any file read while
/// loading), and an existing file that is not empty and not a JUnit report
/// (a template or a `copy` source read later, a file given by mistake).
fn check_writable(path: &Path, playbook: &Path, inventories: &[PathBuf]) -> Result<(), InputError> {
    let refuse = |why: String| {
        InputError::plain(format!(
            "cannot write the JUnit report {}: {why}",
            path.display()
        ))
        .with_help("give a path in a directory you can write to")
    };
    if path.is_dir() {
        return Err(refuse("it is a directory".into()));
    }
    if let Some(input) = same_file_as_input(path, playbook, inventories) {
        return Err(InputError::plain(format!(
            "--junit {} would overwrite {input}, an input of this run",
            path.display()
        ))
        .with_help("give the report a path of its own, e.g. `--junit report.xml`"));
    }
    if path.exists() {
        // A device or FIFO is never read (`/dev/zero` has no end, a FIFO
        // blocks) nor written: a report is a regular file.
        if let Some(why) = crate::source::not_a_file(path) {
            return Err(refuse(why));
        }
    }
    let head = std::fs::File::open(path).ok().and_then(|f| {
        use std::io::Read;
        let mut buf = Vec::new();
        f.take(4096).read_to_end(&mut buf).ok().map(|_| buf)
    });
    if let Some(text) = head {
        let head = String::from_utf8_lossy(&text).into_owned();
        if !head.trim().is_empty() && !head.contains("<testsuites") {
            return Err(InputError::plain(format!(
                "--junit {} exists and is not a JUnit report; baton does not overwrite it",
                path.display()
            ))
            .with_help("remove it first if it may go, or give another path"));
        }
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| refuse(e.to_string()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// The input `path` is the same file as (by device and inode, so links and
/// `./x` are seen through), named as the operator knows it.
fn same_file_as_input(path: &Path, playbook: &Path, inventories: &[PathBuf]) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let target = std::fs::metadata(path).ok()?;
    let same = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
    };
    if same(playbook) {
        return Some(format!("the playbook {}", playbook.display()));
    }
    if let Some(inv) = inventories.iter().find(|i| same(i)) {
        return Some(format!("the inventory {}", inv.display()));
    }
    crate::source::files_read()
        .iter()
        .find(|p| same(p))
        .map(|p| format!("{}, read while loading", p.display()))
}

fn play_hosts(
    play: &Play,
    inventory: &Inventory,
    options: &RunOptions,
) -> Result<Vec<String>, InputError> {
    let templater = Templater::new();
    let (_, vars) = crate::plan::vars_files::before_hosts(play, &options.extra_vars, &templater)?;
    let pattern = templater.render_str(
        play.hosts.as_str().unwrap_or_default(),
        &vars,
        &play.hosts.origin,
    )?;
    let mut hosts = inventory.select(&pattern)?;
    if let Some(limit) = &options.limit {
        inventory.retain_selected(&mut hosts, limit)?;
    }
    Ok(hosts)
}

fn list(
    playbook: &Playbook,
    inventory: &Inventory,
    options: &RunOptions,
    hosts: bool,
    tasks: bool,
) -> Result<String, InputError> {
    use std::fmt::Write;
    let filter = execute::tags::TagFilter::new(&options.tags, &options.skip_tags);
    let mut out = String::new();
    let _ = writeln!(out, "playbook: {}", playbook.path.display());
    for play in &playbook.plays {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  play: {} ({})",
            one_line(&play.name),
            one_line(play.hosts.as_str().unwrap_or_default())
        );
        if hosts {
            let list = play_hosts(play, inventory, options)?;
            let _ = writeln!(out, "    hosts ({}):", list.len());
            for h in list {
                let _ = writeln!(out, "      {h}");
            }
        }
        if tasks {
            let _ = writeln!(out, "    tasks:");
            for task in play.all_tasks() {
                if !filter.selects_task(&task.common) {
                    continue;
                }
                let tags = if task.common.tags.is_empty() {
                    String::new()
                } else {
                    format!("  TAGS: [{}]", one_line(&task.common.tags.join(", ")))
                };
                let _ = writeln!(
                    out,
                    "      {}  ({}){tags}",
                    one_line(&task.display_name()),
                    task.origin.describe()
                );
            }
        }
    }
    Ok(out)
}

pub fn inventory(args: InventoryArgs) -> i32 {
    let (inventory, _extra) = match load_common(&args.inventory, &args.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    let text = if let Some(group) = &args.graph {
        let show = |v: &serde_json::Value| {
            crate::plan::jinja::python_repr::py_str(&minijinja::Value::from_serialize(v))
                .unwrap_or_else(|e| format!("<{e}>"))
        };
        let show: Option<&dyn Fn(&serde_json::Value) -> String> =
            if args.vars { Some(&show) } else { None };
        match inventory.to_graph_from(group, show) {
            Some(graph) => graph,
            None => {
                return report_error(
                    InputError::plain(format!(
                        "--graph `{group}`: no group of that name (--graph takes a group name, not a pattern)"
                    ))
                    .with_help("list the groups with `baton inventory -i INVENTORY --graph`"),
                )
            }
        }
    } else if let Some(host) = &args.host {
        match inventory.to_host_json(host) {
            Some(vars) => match inventory_json(&vars) {
                Ok(text) => text,
                Err(e) => return report_error(e),
            },
            None => {
                return report_error(
                    InputError::plain(format!("--host `{host}` is not in the inventory"))
                        .with_help("list the hosts with `baton inventory -i INVENTORY --graph`"),
                )
            }
        }
    } else {
        match inventory_json(&inventory.to_list_json(args.export)) {
            Ok(text) => text,
            Err(e) => return report_error(e),
        }
    };
    match &args.output {
        // As ansible-inventory: the file gets the text without a final newline.
        Some(path) => match std::fs::write(path, text.as_bytes()) {
            Ok(()) => exit_code::OK,
            Err(e) => report_error(
                InputError::plain(format!("--output {}: cannot write it: {e}", path.display()))
                    .with_help("give a file in a directory that exists and that you can write"),
            ),
        },
        // The graph holds names from the inventory: control characters in
        // them are escaped on a terminal's stream; JSON escapes its own.
        None if args.graph.is_some() => stdout_text(&format!("{text}\n")),
        None => stdout_raw(&format!("{text}\n")),
    }
}

/// JSON as ansible-inventory prints it (Python's `json.dumps(indent=4)`), so
/// its output diffs clean against Ansible's.
fn inventory_json(value: &serde_json::Value) -> Result<String, Error> {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    serde::Serialize::serialize(value, &mut ser).map_err(|e| Error::Internal(e.to_string()))?;
    String::from_utf8(buf).map_err(|e| Error::Internal(e.to_string()))
}

/// Build a one-task play for `ping` and `adhoc`.
fn one_task_playbook(
    pattern: &str,
    module: &str,
    args: &str,
    become_user: Option<&str>,
) -> Result<Playbook, InputError> {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let task_args = if args.trim().is_empty() {
        "null".to_string()
    } else {
        quoted(args)
    };
    let become_lines = match become_user {
        Some(user) => format!("  become: true\n  become_user: {}\n", quoted(user)),
        None => String::new(),
    };
    let text = format!(
        "- name: ad-hoc\n  hosts: {}\n  gather_facts: false\n{become_lines}  tasks:\n    - name: {}\n      {module}: {task_args}\n",
        quoted(pattern),
        quoted(format!("{module} {args}").trim()),
    );
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let playbook = playbook::load_text("ad-hoc", text, &dir)?;
    crate::plan::compile::check_playbook(&playbook)?;
    Ok(playbook)
}

pub fn adhoc(args: AdhocArgs) -> i32 {
    let watch = match Watch::start() {
        Ok(watch) => watch,
        Err(code) => return code,
    };
    let (inventory, extra) = match load_common(&args.connect.inventory, &args.connect.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    if args
        .module
        .contains(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return report_error(InputError::plain(format!(
            "`{}` is not a module name",
            args.module
        )));
    }
    let playbook = match one_task_playbook(
        &args.pattern,
        &args.module,
        &args.args,
        args.become_.then_some(args.become_user.as_str()),
    ) {
        Ok(pb) => pb,
        Err(e) => return report_error(e),
    };
    let mut options = run_options(&args.connect, extra);
    watch.attach(&mut options);
    options.check = args.check;
    options.diff = args.diff;
    // As `ansible`: each host's result as it finishes, no task lines or recap.
    let reporter = match args.connect.output {
        OutputFormat::Human => Fanout::new(vec![Box::new(AdhocReporter::new(Box::new(
            std::io::stdout(),
        )))]),
        OutputFormat::Json => reporters(&args.connect, args.check, args.diff, None),
    };
    execute(watch, &playbook, &inventory, &options, reporter)
}

pub fn ping(args: PingArgs) -> i32 {
    let watch = match Watch::start() {
        Ok(watch) => watch,
        Err(code) => return code,
    };
    let (inventory, extra) = match load_common(&args.connect.inventory, &args.connect.extra_vars) {
        Ok(x) => x,
        Err(e) => return report_error(e),
    };
    let playbook = match one_task_playbook(&args.pattern, "ping", "", None) {
        Ok(pb) => pb,
        Err(e) => return report_error(e),
    };
    let mut options = run_options(&args.connect, extra);
    watch.attach(&mut options);
    let reporter = reporters(&args.connect, false, false, None);
    execute(watch, &playbook, &inventory, &options, reporter)
}

pub fn modules(name: Option<&str>) -> i32 {
    let list: Vec<&'static dyn crate::modules::Module> = match name {
        Some(n) => match crate::modules::find(n) {
            Some(m) => vec![m],
            None => {
                let hint = crate::error::did_you_mean(n, crate::modules::names())
                    .map(|h| format!("did you mean `{h}`? "))
                    .unwrap_or_default();
                return report_error(
                    InputError::plain(format!("no module named `{n}`"))
                        .with_help(format!("{hint}`baton modules` lists them")),
                );
            }
        },
        None => crate::modules::all().to_vec(),
    };
    use std::fmt::Write;
    let mut out = String::new();
    for module in list {
        let spec = module.spec();
        let _ = writeln!(out, "{}", spec.name);
        if let Some(free) = spec.free_form {
            let _ = writeln!(out, "  (free-form text goes to `{free}`)");
        }
        if spec.any_args {
            let _ = writeln!(out, "  (any argument name: each becomes a variable)");
        }
        for arg in spec.args {
            let mut line = format!("  {}", arg.name);
            if arg.required {
                line.push_str("  [required]");
            }
            if !arg.aliases.is_empty() {
                line.push_str(&format!("  aliases: {}", arg.aliases.join(", ")));
            }
            if !arg.choices.is_empty() {
                line.push_str(&format!("  one of: {}", arg.choices.join(" | ")));
            }
            let _ = writeln!(out, "{line}");
        }
        for group in spec.one_of {
            let _ = writeln!(out, "  exactly one of: {}", group.join(", "));
        }
    }
    stdout_text(&out)
}

/// `baton connections [--close]`: the masters under the persist root
/// (`$BATON_CONTROL_DIR`, else a per-user directory in the temp directory).
pub fn connections(args: &crate::cli::ConnectionsArgs) -> i32 {
    use crate::transport::ssh::persist;
    let root = persist::default_root();
    // A root that is there but not private (a file, a 0777 directory) is
    // refused as a run refuses it, rather than reported empty; one that is
    // not there holds no connections.
    if std::fs::symlink_metadata(&root).is_ok() {
        if let Err(e) = persist::check_private_dir(&root) {
            stderr_line(&format!("baton connections: {e}"));
            return exit_code::INVALID_INPUT;
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            stderr_line(&format!("baton connections: cannot start the runtime: {e}"));
            return exit_code::INTERNAL;
        }
    };
    let found = runtime.block_on(async {
        if args.close {
            persist::close_all(&root).await
        } else {
            persist::list(&root).await
        }
    });
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if found.is_empty() {
        let _ = writeln!(out, "no persisted connections under {}", root.display());
        return exit_code::OK;
    }
    for master in &found {
        let state = match (args.close, master.alive) {
            (true, true) => "closed",
            (true, false) => "removed (was not answering)",
            (false, true) => "alive",
            (false, false) => "not answering",
        };
        let line = format!("{state}: {} [{}]", master.target, master.socket.display());
        let _ = writeln!(out, "{}", crate::controls::escape_controls(&line));
    }
    exit_code::OK
}
