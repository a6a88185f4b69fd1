//! The scheduler daemon (`hvrscheduler HUBDB`): for every channel of the hub it captures the
//! local changes committed in this node's database (by reading the DBMS journal from the
//! capture position) and integrates them into the channel's integrate locations through their
//! nodes' hvrremotelistener, once they are `HVRSIM_LAG_MS` old.
//!
//! Each channel has a capture job and an integrate job, PENDING (cycling) or SUSPEND, as HVR 5's
//! Scheduler has (https://fivetran.com/docs/hvr5/commands/hvrsuspend). `hvrstart` triggers one
//! extra cycle of a job and, with `-w`, waits for it to complete
//! (https://fivetran.com/docs/hvr5/commands/hvrcontrol): a capture cycle reads the journal to
//! its end; an integrate cycle sends everything captured so far without waiting for the lag.
//! That is how a flush is built from documented commands: `hvrstart -w HUB CHN-cap`, then
//! `hvrstart -w HUB CHN-integ`.
//!
//! Captured changes wait in memory until the integrate location acknowledges them. The capture
//! position is saved when changes are captured and the integrate position when they are
//! acknowledged. A SIGKILL (or a crash of the node) loses only the scheduler's memory: the
//! committed changes stay in the DBMS journal, so the next start captures again, for each
//! integrate location, what it never acknowledged, and sends it. HVR's log-based capture reads
//! the DBMS log from its saved position and keeps what it captured in transaction files in the
//! router directory until integrate has applied them (hvrlogrelease keeps the logs capture still
//! needs: https://fivetran.com/docs/hvr5/commands/hvrlogrelease; "changes keep being recorded at
//! the source ... and are picked up later", HVR 5's Replication Overview). Phantom changes are
//! the changes of a node that is dead or tainted: they are lost because that node's scheduler
//! never runs again before hvrrefresh and hvrinit (which discards them), not because of a restart.
//! `hvrscheduler -k` stops the jobs where they are and does NOT flush (HVR 5's page does not say
//! what -k does to running jobs); it moves the capture position back to what every integrate
//! location acknowledged, so the next start captures those changes again, as HVR would still
//! integrate the transaction files it left in its router directory.
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
use crate::router::{ChannelFiles, JobStates};
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
/// How long `hvrstart -w` may wait for a cycle before the daemon gives up answering (the
/// command itself has no time-out, as in HVR: callers bound it).
const CYCLE_WAIT_LIMIT: Duration = Duration::from_secs(3600);
/// How long `-k` waits for the channel workers to park before it saves their positions.
const HALT_WAIT: Duration = Duration::from_secs(10);

/// Which job of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Capture,
    Integrate,
}

impl Job {
    pub fn word(self) -> &'static str {
        match self {
            Job::Capture => "cap",
            Job::Integrate => "integ",
        }
    }

    pub fn parse(word: &str) -> Option<Job> {
        match word {
            "cap" => Some(Job::Capture),
            "integ" => Some(Job::Integrate),
            _ => None,
        }
    }
}
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

/// A channel's jobs, shared between the control handler and the channel's worker: their
/// SUSPEND states and the cycles `hvrstart` asked for (a request number per job; the worker
/// reports the last request it completed).
#[derive(Default)]
struct Jobs {
    cap_suspended: AtomicBool,
    integ_suspended: AtomicBool,
    cap_requested: AtomicU64,
    cap_done: AtomicU64,
    integ_requested: AtomicU64,
    integ_done: AtomicU64,
}

impl Jobs {
    fn suspended(&self, job: Job) -> &AtomicBool {
        match job {
            Job::Capture => &self.cap_suspended,
            Job::Integrate => &self.integ_suspended,
        }
    }

    fn requested(&self, job: Job) -> &AtomicU64 {
        match job {
            Job::Capture => &self.cap_requested,
            Job::Integrate => &self.integ_requested,
        }
    }

    fn done(&self, job: Job) -> &AtomicU64 {
        match job {
            Job::Capture => &self.cap_done,
            Job::Integrate => &self.integ_done,
        }
    }

    fn states(&self) -> JobStates {
        JobStates {
            cap_suspended: self.cap_suspended.load(Ordering::SeqCst),
            integ_suspended: self.integ_suspended.load(Ordering::SeqCst),
        }
    }
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
    phantom: u64,
    /// Set by the worker once it has parked for `-k`.
    halted: bool,
    targets: Vec<TargetStatus>,
}

/// One channel as the control handler sees it.
struct ChannelHandle {
    name: String,
    files: ChannelFiles,
    jobs: Arc<Jobs>,
    status: Arc<Mutex<ChannelStatus>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Control {
    hub: String,
    log: Logger,
    /// Set by `-k`: every worker parks where it is.
    halt: Arc<AtomicBool>,
    stop_in_progress: AtomicBool,
    channels: Vec<ChannelHandle>,
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
    let halt = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    let mut channels = Vec::new();
    for channel in hub.channels.values() {
        let worker = ChannelWorker::prepare(layout, &hub, channel, &log, timing)?;
        let states = worker.files.load_jobs()?;
        let jobs = Arc::new(Jobs::default());
        jobs.cap_suspended
            .store(states.cap_suspended, Ordering::SeqCst);
        jobs.integ_suspended
            .store(states.integ_suspended, Ordering::SeqCst);
        for (job, suspended) in [
            (Job::Capture, states.cap_suspended),
            (Job::Integrate, states.integ_suspended),
        ] {
            if suspended {
                log.info(&format!(
                    "job {}-{} is SUSPEND (hvrsuspend -u or hvrstart -u runs it)",
                    channel.name,
                    job.word()
                ));
            }
        }
        let status = Arc::new(Mutex::new(worker.status(false)));
        channels.push(ChannelHandle {
            name: channel.name.clone(),
            files: worker.files.clone(),
            jobs: Arc::clone(&jobs),
            status: Arc::clone(&status),
        });
        workers.push((worker, jobs, status));
    }
    for (worker, jobs, status) in workers {
        let halt = Arc::clone(&halt);
        thread::spawn(move || worker.run(&halt, &jobs, &status));
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
        halt,
        stop_in_progress: AtomicBool::new(false),
        channels,
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
            let words: Vec<&str> = line.split(' ').collect();
            let reply = match words.as_slice() {
                ["PING"] => format!(
                    "PONG hvrscheduler hub={} pid={}",
                    self.hub,
                    std::process::id()
                ),
                ["STATUS"] => self.status(),
                ["STOP"] => self.stop(&mut out),
                ["CYCLE", channel, job, wait, unsuspend] => match Job::parse(job) {
                    Some(job) => self.cycle(channel, job, *wait == "1", *unsuspend == "1"),
                    None => format!("ERR unknown job kind {job:?}"),
                },
                ["SUSPEND", channel, job, suspend] => match Job::parse(job) {
                    Some(job) => self.suspend(channel, job, *suspend == "1"),
                    None => format!("ERR unknown job kind {job:?}"),
                },
                _ => format!("ERR unknown control request {line:?}"),
            };
            if out.write_all(format!("{reply}\n").as_bytes()).is_err() {
                return;
            }
        }
    }

    fn channel(&self, name: &str) -> Option<&ChannelHandle> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// One `CAPTURE` line per channel and one `LOCATION` line per integrate location, then `END`.
    fn status(&self) -> String {
        let mut lines = Vec::new();
        for channel in &self.channels {
            let s = lock(&channel.status).clone();
            let jobs = channel.jobs.states();
            lines.push(format!(
                "CAPTURE {} seq={} error={} cap={} integ={}",
                s.channel,
                s.capture_seq,
                s.capture_error.as_deref().map_or("-".to_string(), escape),
                if jobs.cap_suspended {
                    "SUSPEND"
                } else {
                    "PENDING"
                },
                if jobs.integ_suspended {
                    "SUSPEND"
                } else {
                    "PENDING"
                },
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

    /// `hvrstart`: one more cycle of a job; with `wait`, answers when it completed.
    fn cycle(&self, channel: &str, job: Job, wait: bool, unsuspend: bool) -> String {
        let Some(handle) = self.channel(channel) else {
            return format!("ERR hub {} has no channel {channel}", self.hub);
        };
        let name = format!("{channel}-{}", job.word());
        if handle.jobs.suspended(job).load(Ordering::SeqCst) {
            if !unsuspend {
                return format!("SKIPPED job {name} is SUSPEND (hvrstart -u runs it)");
            }
            if let Err(e) = self.set_suspended(handle, job, false) {
                return format!("ERR {e}");
            }
        }
        let request = handle.jobs.requested(job).fetch_add(1, Ordering::SeqCst) + 1;
        self.log
            .info(&format!("hvrstart: one more cycle of job {name} requested"));
        if !wait {
            return format!("TRIGGERED job {name}");
        }
        let deadline = Instant::now() + CYCLE_WAIT_LIMIT;
        while Instant::now() < deadline {
            if handle.jobs.done(job).load(Ordering::SeqCst) >= request {
                return format!("DONE job {name} completed a cycle");
            }
            thread::sleep(Duration::from_millis(5));
        }
        format!(
            "ERR job {name} did not complete a cycle within {}",
            human(CYCLE_WAIT_LIMIT)
        )
    }

    fn set_suspended(&self, handle: &ChannelHandle, job: Job, suspend: bool) -> SimResult<()> {
        handle.jobs.suspended(job).store(suspend, Ordering::SeqCst);
        handle.files.save_jobs(handle.jobs.states())?;
        self.log.info(&format!(
            "job {}-{} is now {}",
            handle.name,
            job.word(),
            if suspend { "SUSPEND" } else { "PENDING" }
        ));
        Ok(())
    }

    /// `hvrsuspend [-u]`.
    fn suspend(&self, channel: &str, job: Job, suspend: bool) -> String {
        let Some(handle) = self.channel(channel) else {
            return format!("ERR hub {} has no channel {channel}", self.hub);
        };
        match self.set_suspended(handle, job, suspend) {
            Ok(()) => format!(
                "OK job {channel}-{} {}",
                job.word(),
                if suspend { "SUSPEND" } else { "PENDING" }
            ),
            Err(e) => format!("ERR {e}"),
        }
    }

    /// `-k`: parks every worker, moves each channel's capture position back to what all its
    /// integrate locations acknowledged (nothing captured is lost: the next start captures it
    /// again), and exits. No flush.
    fn stop(&self, out: &mut UnixStream) -> String {
        if self.stop_in_progress.swap(true, Ordering::SeqCst) {
            return "ERR a stop of this scheduler is already in progress".to_string();
        }
        self.log
            .info("Stop requested (hvrscheduler -k): stopping the jobs where they are");
        self.halt.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + HALT_WAIT;
        while !self.channels.iter().all(|c| lock(&c.status).halted) {
            if Instant::now() >= deadline {
                self.halt.store(false, Ordering::SeqCst);
                self.stop_in_progress.store(false, Ordering::SeqCst);
                return format!(
                    "ERR the jobs did not stop within {}; the scheduler keeps running",
                    human(HALT_WAIT)
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
        for channel in &self.channels {
            let s = lock(&channel.status).clone();
            let acknowledged = s
                .targets
                .iter()
                .map(|t| t.integrated_seq)
                .min()
                .unwrap_or(s.capture_seq)
                .min(s.capture_seq);
            if let Err(e) = channel.files.save_capture(acknowledged, s.phantom) {
                self.log.error(
                    "F_JSIM12",
                    &format!("channel {}: cannot save capture position: {e}", s.channel),
                );
            }
            if acknowledged < s.capture_seq {
                self.log.info(&format!(
                    "channel {}: changes captured after journal record {acknowledged} were not \
                     integrated yet; the next start captures them again",
                    s.channel
                ));
            }
        }
        self.log
            .info("Scheduler (simulator) stopped (hvrscheduler -k)");
        let _ = out.write_all(b"OK stopped\n");
        self.lock.remove_files();
        std::process::exit(0);
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
            // Never backwards: while capture reads again what an unclean stop left, a location
            // may already have acknowledged beyond it.
            self.advance(capture_seq.max(self.integrated_seq), files);
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
    /// got acknowledged (it was killed, or the node crashed) are captured again from the
    /// journal, each integrate location from its own acknowledged position: the journal holds
    /// every committed change, as the DBMS log does for HVR's log-based capture.
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
        let (capture_seq, phantom) = match files.load_capture()? {
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
            // Never above the capture position: what was not captured was not acknowledged.
            let integrated = files
                .load_integ(name)?
                .unwrap_or(capture_seq)
                .min(capture_seq);
            if integrated < capture_seq {
                let mut again = 0;
                let counted = scan_after(&journal, integrated, |c| {
                    if c.origin == Origin::Local && c.seq <= capture_seq {
                        again += 1;
                    }
                });
                if let Err(e) = counted {
                    integ_log.warn(
                        "W_JSIM04",
                        &format!("cannot count the changes to capture again: {e}"),
                    );
                }
                if again > 0 {
                    integ_log.warn(
                        "W_JSIM02",
                        &format!(
                            "{again} changes captured from {} but never acknowledged by {name}: \
                             the previous scheduler did not stop gracefully; capturing them again \
                             from journal record {integrated}",
                            channel.capture
                        ),
                    );
                }
            }
            // Written even when unchanged: hvrrouterview must see this location's position,
            // not fall back to the capture position.
            files.save_integ(name, integrated)?;
            targets.push(Target {
                location,
                log: integ_log,
                queue: VecDeque::new(),
                integrated_seq: integrated,
                saved_seq: integrated,
                conn: None,
                retry_at: None,
                error: None,
                failing_since: None,
                error_logged_at: None,
                integrated_since_log: 0,
            });
        }
        // Capture reads again from the oldest unacknowledged change (as -k leaves it); each
        // location is sent only what it has not acknowledged (`capture`).
        let read_from = targets
            .iter()
            .map(|t| t.integrated_seq)
            .min()
            .unwrap_or(capture_seq);
        files.save_capture(read_from, phantom)?;
        Ok(ChannelWorker {
            name: channel.name.clone(),
            files,
            log: cap_log,
            timing,
            cursor: JournalCursor::new(&journal, read_from),
            capture_seq: read_from,
            saved_capture_seq: read_from,
            saved_capture_at: Instant::now(),
            phantom,
            blocked,
            capture_error: None,
            captured_since_log: 0,
            targets,
        })
    }

    fn run(mut self, halt: &AtomicBool, jobs: &Jobs, status: &Mutex<ChannelStatus>) {
        let mut stats_logged_at = Instant::now();
        // The capture position when the pending integrate cycle began: the cycle is complete
        // once every location has acknowledged everything up to it.
        let mut integ_cycle: Option<(u64, u64)> = None;
        loop {
            if halt.load(Ordering::SeqCst) {
                // Parked for -k: capture and integrate nothing more, so the positions the
                // control handler saves stay true until the process exits.
                *lock(status) = self.status(true);
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            let cap_request = jobs.cap_requested.load(Ordering::SeqCst);
            let integ_request = jobs.integ_requested.load(Ordering::SeqCst);
            let mut busy = false;
            if !jobs.cap_suspended.load(Ordering::SeqCst) {
                let at_end = self.capture();
                if at_end && cap_request > jobs.cap_done.load(Ordering::SeqCst) {
                    jobs.cap_done.store(cap_request, Ordering::SeqCst);
                }
                busy |= !at_end && self.capture_error.is_none() && self.blocked.is_none();
            }
            if integ_request > jobs.integ_done.load(Ordering::SeqCst) {
                let (_, upto) = integ_cycle.get_or_insert((integ_request, self.capture_seq));
                let upto = *upto;
                if !jobs.integ_suspended.load(Ordering::SeqCst) {
                    for target in &mut self.targets {
                        target.integrate(
                            self.capture_seq,
                            Duration::ZERO,
                            self.timing,
                            &self.files,
                        );
                    }
                }
                if self.targets.iter().all(|t| t.integrated_seq >= upto) {
                    if let Some((request, _)) = integ_cycle.take() {
                        jobs.integ_done.store(request, Ordering::SeqCst);
                    }
                } else {
                    busy |= self
                        .targets
                        .iter()
                        .any(|t| t.retry_at.is_none() && !t.queue.is_empty());
                }
            } else if !jobs.integ_suspended.load(Ordering::SeqCst) {
                for target in &mut self.targets {
                    target.integrate(self.capture_seq, self.timing.lag, self.timing, &self.files);
                }
            }
            *lock(status) = self.status(false);
            if stats_logged_at.elapsed() >= STATS_LOG {
                self.log_stats();
                stats_logged_at = Instant::now();
            }
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
            for target in self
                .targets
                .iter_mut()
                .filter(|t| change.seq > t.integrated_seq)
            {
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

    fn status(&self, halted: bool) -> ChannelStatus {
        ChannelStatus {
            channel: self.name.clone(),
            capture_seq: self.capture_seq,
            capture_error: self.blocked.clone().or_else(|| self.capture_error.clone()),
            phantom: self.phantom,
            halted,
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
