//! The scheduler daemon (`hvrscheduler HUBDB`): for every channel of the hub it captures the
//! local changes committed in this node's database (by reading the DBMS journal from the
//! capture position) and integrates them into the channel's integrate locations through their
//! nodes' hvrremotelistener, once they are `HVRSIM_LAG_MS` old.
//!
//! Captured changes wait in memory until the integrate location acknowledges them. The capture
//! position is saved when changes are captured and the integrate position when they are
//! acknowledged, so a SIGKILL loses exactly the changes in flight: the next start finds them
//! captured but never integrated, reports them as phantom changes and does not send them.
//! A graceful stop (`hvrscheduler -k`) first captures everything committed and integrates it
//! without waiting for the lag; if that cannot finish in time the scheduler keeps running.
//!
//! The scheduler listens on the hub's scheduler port and greets every connection with a banner
//! (what hvrtestlistener and hvrtestscheduler look for); commands use its control socket.

use std::collections::VecDeque;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::catalog::{Channel, Hub, Location};
use crate::codec::{escape, read_line};
use crate::daemon::{signal_ready, DaemonLock, Instance};
use crate::error::{SimError, SimResult};
use crate::hubproto::{connect_listener, HubBackend, HubClient};
use crate::journal::{journal_end, scan_after, Change, JournalCursor, Origin};
use crate::log::Logger;
use crate::net;
use crate::paths::Layout;
use crate::router::ChannelFiles;
use crate::settings;
use crate::timefmt::{human, now_ms};

pub const BANNER_PREFIX: &str = "HVRSIM-SCHEDULER";

const CAPTURE_BATCH: usize = 5000;
const INTEGRATE_BATCH: usize = 1000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a running capture rewrites its state file even without new changes, so
/// hvrlogrelease can tell a live capture from an abandoned one.
const CAPTURE_HEARTBEAT: Duration = Duration::from_secs(10);
const REPEAT_ERROR_LOG: Duration = Duration::from_secs(30);
const STATS_LOG: Duration = Duration::from_secs(10);

pub fn instance(layout: &Layout, hub: &str) -> Instance {
    Instance::new(
        layout,
        &format!("hvrscheduler_{hub}"),
        format!("scheduler of hub {hub}"),
        layout.hvr_out(hub),
    )
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    lag: Duration,
    poll: Duration,
    retry: Duration,
}

/// Shared between the control handler and the channel workers.
#[derive(Default)]
struct Flush {
    /// While set, workers integrate without waiting for the lag.
    active: AtomicBool,
    /// Bumped by every stop request; a worker reports it back once it has caught up after it.
    generation: AtomicU64,
    stop_in_progress: AtomicBool,
}

#[derive(Debug, Clone, Default)]
struct TargetStatus {
    location: String,
    queued: usize,
    integrated_seq: u64,
    error: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct ChannelStatus {
    channel: String,
    capture_seq: u64,
    capture_error: Option<String>,
    flushed_generation: u64,
    targets: Vec<TargetStatus>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Control {
    hub: String,
    log: Logger,
    flush: Arc<Flush>,
    statuses: Vec<Arc<Mutex<ChannelStatus>>>,
    lock: DaemonLock,
}

pub fn run_daemon(layout: &Layout, hub_name: &str) -> SimResult<()> {
    let instance = instance(layout, hub_name);
    let daemon_lock = DaemonLock::acquire(&instance)?;
    let hub = Hub::load(layout, hub_name)?;
    let log = Logger::new(layout.hvr_out(hub_name), "hvrscheduler");
    let timing = Timing {
        lag: settings::integrate_lag()?,
        poll: settings::capture_poll()?,
        retry: settings::integrate_retry()?,
    };
    let port = hub.scheduler_port()?;
    let tcp = net::bind(settings::bind_addr()?, port, "the scheduler")?;
    let control_socket = daemon_lock.bind_control()?;
    for problem in hub.naming_problems() {
        log.warn(
            "W_JSIM03",
            &format!("catalog does not follow the hvrfailover naming rule: {problem}"),
        );
    }
    let flush = Arc::new(Flush::default());
    let mut workers = Vec::new();
    let mut statuses = Vec::new();
    for channel in hub.channels.values() {
        let worker = ChannelWorker::prepare(layout, &hub, channel, &log, timing)?;
        let status = Arc::new(Mutex::new(worker.status(0)));
        statuses.push(Arc::clone(&status));
        workers.push((worker, status));
    }
    for (worker, status) in workers {
        let flush = Arc::clone(&flush);
        thread::spawn(move || worker.run(&flush, &status));
    }
    let banner = format!(
        "{BANNER_PREFIX} 1 hvr-simulator/{} hub={hub_name} node={} (HVR simulator)\n",
        settings::version(),
        settings::node_name()
    );
    thread::spawn(move || {
        let never = AtomicBool::new(false);
        let _ = net::accept_loop(&tcp, &never, |mut stream| {
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(banner.as_bytes());
        });
    });
    log.info(&format!(
        "Scheduler (simulator) started for hub {hub_name}, pid {}, port {port}, channels: {}; \
         integrate lag {}",
        std::process::id(),
        hub.channels.keys().cloned().collect::<Vec<_>>().join(","),
        human(timing.lag)
    ));
    signal_ready();
    let control = Arc::new(Control {
        hub: hub_name.to_string(),
        log,
        flush,
        statuses,
        lock: daemon_lock,
    });
    for stream in control_socket.incoming().flatten() {
        let control = Arc::clone(&control);
        thread::spawn(move || control.serve(stream));
    }
    Ok(())
}

impl Control {
    fn serve(&self, stream: UnixStream) {
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut out = stream;
        while let Ok(Some(line)) = read_line(&mut reader, 4096) {
            let reply = match line.split_once(' ').unwrap_or((&line, "")) {
                ("PING", _) => format!(
                    "PONG hvrscheduler hub={} pid={}",
                    self.hub,
                    std::process::id()
                ),
                ("STATUS", _) => self.status(),
                ("STOP", timeout) => match timeout.trim().parse::<u64>() {
                    Ok(ms) => self.stop(Duration::from_millis(ms), &mut out),
                    Err(_) => "ERR STOP needs a timeout in ms".to_string(),
                },
                _ => format!("ERR unknown control request {line:?}"),
            };
            if out.write_all(format!("{reply}\n").as_bytes()).is_err() {
                return;
            }
        }
    }

    /// One `CAPTURE` line per channel and one `LOCATION` line per integrate location, then `END`.
    fn status(&self) -> String {
        let mut lines = Vec::new();
        for status in &self.statuses {
            let s = lock(status).clone();
            lines.push(format!(
                "CAPTURE {} seq={} error={}",
                s.channel,
                s.capture_seq,
                s.capture_error.as_deref().map_or("-".to_string(), escape)
            ));
            for t in &s.targets {
                lines.push(format!(
                    "LOCATION {} {} queued={} integrated_seq={} error={}",
                    s.channel,
                    t.location,
                    t.queued,
                    t.integrated_seq,
                    t.error.as_deref().map_or("-".to_string(), escape)
                ));
            }
        }
        lines.push("END".to_string());
        lines.join("\n")
    }

    /// Flushes and exits, or reports why the flush did not complete and keeps running.
    fn stop(&self, timeout: Duration, out: &mut UnixStream) -> String {
        if self.flush.stop_in_progress.swap(true, Ordering::SeqCst) {
            return "ERR a stop of this scheduler is already in progress".to_string();
        }
        let generation = self.flush.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.flush.active.store(true, Ordering::SeqCst);
        self.log.info(&format!(
            "Stop requested (hvrscheduler -k): flushing captured changes (timeout {})",
            human(timeout)
        ));
        let deadline = Instant::now() + timeout;
        loop {
            let done = self
                .statuses
                .iter()
                .all(|s| lock(s).flushed_generation >= generation);
            if done {
                self.log
                    .info("Scheduler (simulator) stopped: all captured changes were integrated");
                let _ = out.write_all(b"OK flushed\n");
                self.lock.remove_files();
                std::process::exit(0);
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        self.flush.active.store(false, Ordering::SeqCst);
        self.flush.stop_in_progress.store(false, Ordering::SeqCst);
        let mut reasons = Vec::new();
        for status in &self.statuses {
            let s = lock(status).clone();
            if let Some(error) = &s.capture_error {
                reasons.push(format!("channel {}: capture failing: {error}", s.channel));
            }
            for t in s
                .targets
                .iter()
                .filter(|t| t.queued > 0 || t.error.is_some())
            {
                reasons.push(format!(
                    "channel {} -> {}: {} changes not integrated{}",
                    s.channel,
                    t.location,
                    t.queued,
                    t.error
                        .as_deref()
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ));
            }
        }
        if reasons.is_empty() {
            reasons.push("changes kept arriving faster than they were integrated".to_string());
        }
        let message = format!(
            "flush incomplete after {}: {}; the scheduler keeps running",
            human(timeout),
            reasons.join("; ")
        );
        self.log
            .error("F_JSIM30", &format!("Stop refused: {message}"));
        format!("ERR {message}")
    }
}

/// One integrate location of a channel: its queue of captured changes and its connection.
struct Target {
    location: Location,
    log: Logger,
    queue: VecDeque<Change>,
    integrated_seq: u64,
    saved_seq: u64,
    conn: Option<HubClient<TcpStream>>,
    retry_at: Option<Instant>,
    error: Option<String>,
    failing_since: Option<Instant>,
    error_logged_at: Option<Instant>,
    integrated_since_log: u64,
}

impl Target {
    fn integrate(&mut self, capture_seq: u64, lag: Duration, timing: Timing, files: &ChannelFiles) {
        if self.queue.is_empty() {
            self.advance(capture_seq, files);
            return;
        }
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        let ripe_before = now_ms().saturating_sub(lag.as_millis() as u64);
        let due = self
            .queue
            .iter()
            .take(INTEGRATE_BATCH)
            .take_while(|c| c.ts_ms <= ripe_before)
            .count();
        if due == 0 {
            return;
        }
        let batch: Vec<Change> = self.queue.iter().take(due).cloned().collect();
        match self.send(&batch) {
            Ok(_) => {
                self.queue.drain(..due);
                let seq = self.queue.front().map_or(capture_seq, |c| c.seq - 1);
                self.advance(seq, files);
                self.integrated_since_log += due as u64;
                self.retry_at = None;
                if self.error.take().is_some() {
                    let down = self
                        .failing_since
                        .take()
                        .map(|t| t.elapsed())
                        .unwrap_or_default();
                    self.log.info(&format!(
                        "integration into {} resumed after {}",
                        self.location.name,
                        human(down)
                    ));
                }
                self.error_logged_at = None;
            }
            Err(e) => {
                self.conn = None;
                self.retry_at = Some(Instant::now() + timing.retry);
                self.failing_since.get_or_insert_with(Instant::now);
                let repeat = self
                    .error_logged_at
                    .is_none_or(|at| at.elapsed() >= REPEAT_ERROR_LOG);
                if repeat {
                    self.log.error(
                        "F_JSIM20",
                        &format!(
                            "integration failed: {e}; {} changes queued, retrying every {}",
                            self.queue.len(),
                            human(timing.retry)
                        ),
                    );
                    self.error_logged_at = Some(Instant::now());
                }
                self.error = Some(e.message().to_string());
            }
        }
    }

    fn advance(&mut self, seq: u64, files: &ChannelFiles) {
        self.integrated_seq = seq;
        if self.saved_seq == seq {
            return;
        }
        match files.save_integ(&self.location.name, seq) {
            Ok(()) => self.saved_seq = seq,
            Err(e) => self
                .log
                .error("F_JSIM21", &format!("cannot save integrate position: {e}")),
        }
    }

    fn send(&mut self, batch: &[Change]) -> SimResult<()> {
        if self.conn.is_none() {
            let Location { name, node, port } = &self.location;
            let label = format!("location {name} ({node}:{port})");
            self.conn = Some(connect_listener(node, *port, CONNECT_TIMEOUT, &label)?);
        }
        match self.conn.as_mut() {
            Some(conn) => conn.apply(batch).map(|_| ()),
            None => Err(SimError::failed("no connection")),
        }
    }
}

struct ChannelWorker {
    name: String,
    files: ChannelFiles,
    log: Logger,
    timing: Timing,
    cursor: JournalCursor,
    capture_seq: u64,
    saved_capture_seq: u64,
    saved_capture_at: Instant,
    phantom: u64,
    blocked: Option<String>,
    capture_error: Option<String>,
    captured_since_log: u64,
    targets: Vec<Target>,
}

impl ChannelWorker {
    /// Loads the channel's positions. Changes that the previous scheduler captured but never
    /// got acknowledged were lost with it: they are counted as phantom changes and skipped.
    fn prepare(
        layout: &Layout,
        hub: &Hub,
        channel: &Channel,
        log: &Logger,
        timing: Timing,
    ) -> SimResult<Self> {
        let files = ChannelFiles::new(layout, &hub.name, &channel.name);
        let journal = layout.journal_dir();
        let end = journal_end(&journal)?;
        let cap_log = log.with_component(format!("{}-cap-{}", channel.name, channel.capture));
        let (capture_seq, mut phantom) = match files.load_capture()? {
            Some(state) => (state.seq, state.phantom),
            None => {
                cap_log.warn(
                    "W_JSIM01",
                    &format!(
                        "channel {} was never initialized (hvrinit); capture starts at the end of the journal (seq {end})",
                        channel.name
                    ),
                );
                files.save_capture(end, 0)?;
                (end, 0)
            }
        };
        let blocked = (capture_seq > end).then(|| {
            format!(
                "capture position {capture_seq} is beyond the end of the journal ({end}); was the \
                 database recreated? run hvrinit"
            )
        });
        if let Some(reason) = &blocked {
            cap_log.error("F_JSIM11", reason);
        }
        let mut targets = Vec::new();
        for name in &channel.integrate {
            let location = hub
                .locations
                .get(name)
                .cloned()
                .ok_or_else(|| SimError::usage(format!("location {name} is not defined")))?;
            let integ_log = log.with_component(format!("{}-integ-{name}", channel.name));
            let integrated = files.load_integ(name)?.unwrap_or(capture_seq);
            if integrated < capture_seq {
                let mut lost = 0;
                let counted = scan_after(&journal, integrated, |c| {
                    if c.origin == Origin::Local && c.seq <= capture_seq {
                        lost += 1;
                    }
                });
                if let Err(e) = counted {
                    integ_log.warn("W_JSIM04", &format!("cannot count lost changes: {e}"));
                }
                if lost > 0 {
                    integ_log.warn(
                        "W_JSIM02",
                        &format!(
                            "{lost} changes captured from {} but never integrated into {name} were lost: \
                             the previous scheduler did not stop gracefully (phantom changes); \
                             resynchronize with hvrrefresh and hvrinit",
                            channel.capture
                        ),
                    );
                    phantom = phantom.max(lost);
                }
            }
            // Written even when unchanged: hvrrouterview must see this location's position,
            // not fall back to the capture position.
            files.save_integ(name, capture_seq)?;
            targets.push(Target {
                location,
                log: integ_log,
                queue: VecDeque::new(),
                integrated_seq: capture_seq,
                saved_seq: capture_seq,
                conn: None,
                retry_at: None,
                error: None,
                failing_since: None,
                error_logged_at: None,
                integrated_since_log: 0,
            });
        }
        files.save_capture(capture_seq, phantom)?;
        Ok(ChannelWorker {
            name: channel.name.clone(),
            files,
            log: cap_log,
            timing,
            cursor: JournalCursor::new(&journal, capture_seq),
            capture_seq,
            saved_capture_seq: capture_seq,
            saved_capture_at: Instant::now(),
            phantom,
            blocked,
            capture_error: None,
            captured_since_log: 0,
            targets,
        })
    }

    fn run(mut self, flush: &Flush, status: &Mutex<ChannelStatus>) {
        let mut stats_logged_at = Instant::now();
        loop {
            let generation = flush.generation.load(Ordering::SeqCst);
            let flushing = flush.active.load(Ordering::SeqCst);
            if flushing && lock(status).flushed_generation >= generation {
                // Flushed for this stop: capture nothing more until the scheduler exits or the
                // stop is abandoned, or a change committed now would be captured, saved as
                // captured, and lost at the exit.
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            let lag = if flushing {
                Duration::ZERO
            } else {
                self.timing.lag
            };
            let at_end = self.capture();
            for target in &mut self.targets {
                target.integrate(self.capture_seq, lag, self.timing, &self.files);
            }
            let drained = self.targets.iter().all(|t| t.queue.is_empty());
            let flushed = if flushing && at_end && drained {
                generation
            } else {
                lock(status).flushed_generation
            };
            *lock(status) = self.status(flushed);
            if stats_logged_at.elapsed() >= STATS_LOG {
                self.log_stats();
                stats_logged_at = Instant::now();
            }
            let busy = flushing
                && !drained
                && self
                    .targets
                    .iter()
                    .any(|t| t.retry_at.is_none() && !t.queue.is_empty());
            thread::sleep(if busy {
                Duration::from_millis(1)
            } else {
                self.timing.poll
            });
        }
    }

    /// Reads new journal records; true when it reached the end of the journal.
    fn capture(&mut self) -> bool {
        if self.blocked.is_some() {
            return false;
        }
        let changes = match self.cursor.read(CAPTURE_BATCH) {
            Ok(changes) => changes,
            Err(e) => {
                if self.capture_error.as_deref() != Some(e.message()) {
                    self.log.error("F_JSIM10", &format!("capture failed: {e}"));
                }
                self.capture_error = Some(e.message().to_string());
                return false;
            }
        };
        if self.capture_error.take().is_some() {
            self.log.info("capture resumed");
        }
        let at_end = changes.len() < CAPTURE_BATCH;
        for change in changes.into_iter().filter(|c| c.origin == Origin::Local) {
            self.captured_since_log += 1;
            for target in &mut self.targets {
                target.queue.push_back(change.clone());
            }
        }
        self.capture_seq = self.cursor.position();
        let heartbeat_due = self.saved_capture_at.elapsed() >= CAPTURE_HEARTBEAT;
        if self.capture_seq != self.saved_capture_seq || heartbeat_due {
            match self.files.save_capture(self.capture_seq, self.phantom) {
                Ok(()) => {
                    self.saved_capture_seq = self.capture_seq;
                    self.saved_capture_at = Instant::now();
                }
                Err(e) => self
                    .log
                    .error("F_JSIM12", &format!("cannot save capture position: {e}")),
            }
        }
        at_end
    }

    fn log_stats(&mut self) {
        if self.captured_since_log > 0 {
            self.log.info(&format!(
                "captured {} changes; capture position {}",
                self.captured_since_log, self.capture_seq
            ));
            self.captured_since_log = 0;
        }
        for target in &mut self.targets {
            if target.integrated_since_log > 0 {
                target.log.info(&format!(
                    "integrated {} changes into {}; integrate position {}, {} queued",
                    target.integrated_since_log,
                    target.location.name,
                    target.integrated_seq,
                    target.queue.len()
                ));
                target.integrated_since_log = 0;
            }
        }
    }

    fn status(&self, flushed_generation: u64) -> ChannelStatus {
        ChannelStatus {
            channel: self.name.clone(),
            capture_seq: self.capture_seq,
            capture_error: self.blocked.clone().or_else(|| self.capture_error.clone()),
            flushed_generation,
            targets: self
                .targets
                .iter()
                .map(|t| TargetStatus {
                    location: t.location.name.clone(),
                    queued: t.queue.len(),
                    integrated_seq: t.integrated_seq,
                    error: t.error.clone(),
                })
                .collect(),
        }
    }
}
