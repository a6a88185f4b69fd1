//! The `ssh` transport: one OpenSSH master connection per host, opened once,
//! with every script run as a new session multiplexed over it through the
//! `openssh` crate's native mux client (no `ssh` process per task).
//!
//! Behaves like plain `ssh`: the user's `~/.ssh/config`, `/etc/ssh/ssh_config`
//! and `~/.ssh/known_hosts` apply unless the inventory names others; see
//! [`client_config`] for how inventory `-o` options reach ssh. Host keys are
//! checked strictly; `--ssh-accept-new` learns unknown keys, never changed ones.
//!
//! Each connection owns a private directory (mode 0700) under a short temp
//! path holding its control socket, its ssh config and the master's log. A
//! long `ControlPath` breaks ssh (the socket path limit is about 100 bytes), so
//! the directory is deliberately not under `$HOME`. It is removed on close and
//! on drop.

mod client_config;
mod diagnose;
pub mod persist;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::capture::{self, Capture};
use super::fd_limit;
use super::groups::{self, Group};
use super::{
    command_line, command_line_with, ConnectionSpec, ExecOutput, ExecRequest, Persist,
    TransportError,
};
use client_config::Keepalive;
use worker::{Worker, WorkerError};

/// The state of a host's persistent shell.
enum WorkerSlot {
    NotStarted,
    Running(Box<Worker>),
    /// It could not start or broke; every task uses its own session.
    Unavailable,
}

/// After a timeout, coreutils `timeout` sends TERM; this long later, KILL.
const KILL_AFTER_SECS: u64 = 2;
/// `timeout`'s exit status when it ended the command (124), or when it was
/// itself run with `--foreground` and had to KILL (137).
const TIMED_OUT_CODES: [i32; 2] = [124, 137];
/// How much longer than the remote `timeout` the local backstop waits.
const BACKSTOP_SLACK: Duration = Duration::from_secs(3);
/// Socket paths are limited to about 100 bytes; ssh adds ~40 below this directory.
const MAX_CONTROL_ROOT_LEN: usize = 40;

pub struct SshConnection {
    /// The persistent shell, started on first use; `None` inside once it failed.
    worker: tokio::sync::Mutex<WorkerSlot>,
    // Declared before the directory so it is dropped first: the master must be
    // told to exit while its socket still exists, before `private_dir` is removed.
    session: Arc<Session>,
    /// The master's log (`ssh -E`), and how much of it was written while connecting.
    log: PathBuf,
    log_len_at_connect: u64,
    /// The master, registered so a quit at once can end it, and ended by
    /// PID if the connection is dropped without `close`.
    /// `None` for a persisted master, which outlives the run by design.
    master: Option<groups::MasterGuard>,
    dir: Dir,
    /// A persisted master from an earlier run was reused.
    reused: bool,
    connect_time: Duration,
    /// A warning for the run, taken once: the persisted masters from
    /// earlier runs that had died and were replaced by this connection.
    note: std::sync::Mutex<Option<String>>,
}

/// Where the control socket lives.
enum Dir {
    /// This run's own directory, removed on close and on drop.
    Private(tempfile::TempDir),
    /// A `--persist` target directory, kept (see [`persist`]).
    Persisted(PathBuf),
}

impl SshConnection {
    pub async fn open(spec: &ConnectionSpec) -> Result<SshConnection, TransportError> {
        check_address(&spec.address)?;
        match &spec.persist {
            Some(persist) => Self::open_persisted(spec, persist).await,
            None => Self::open_private(spec).await,
        }
    }

    /// A master of this run only, in a private directory removed on close.
    async fn open_private(spec: &ConnectionSpec) -> Result<SshConnection, TransportError> {
        let started = Instant::now();
        let private_dir = tempfile::Builder::new()
            .prefix("baton-ssh-")
            .tempdir_in(control_root())
            .map_err(|e| {
                TransportError::Other(format!("cannot create a directory for the ssh socket: {e}"))
            })?;
        let keepalive = Keepalive::for_connect_timeout(spec.connect_timeout);
        let config = private_dir.path().join("config");
        let user_config = client_config::user_config();
        write_private(
            &config,
            &client_config::render(spec, keepalive, user_config.as_deref())?,
        )?;
        let builder = builder(spec, private_dir.path(), &config)?;
        let (session, master) = launch(&builder, spec, keepalive, private_dir.path()).await?;
        Ok(Self::with_session(
            session,
            Some(master),
            Dir::Private(private_dir),
            false,
            started,
        ))
    }

    /// A master that outlives the run (`--persist`): reuse a live one for
    /// the same target and options, or open one with `ControlPersist=SECS`.
    ///
    /// A master that died (killed, or its link lost) is found here: its
    /// socket no longer answers, or its directory is left without a socket
    /// and with ssh's last words in its log. Its directory is removed, a new
    /// master is opened, and the connection carries a note saying so (see
    /// [`SshConnection::take_note`]); if the new one fails too, the error
    /// says that the persisted one had died.
    async fn open_persisted(
        spec: &ConnectionSpec,
        persist: &Persist,
    ) -> Result<SshConnection, TransportError> {
        let started = Instant::now();
        persist::ensure_private_dir(&persist.root)?;
        let keepalive = Keepalive::for_connect_timeout(spec.connect_timeout);
        let user_config = client_config::user_config();
        let config_text = client_config::render(spec, keepalive, user_config.as_deref())?;
        let target_dir = persist.root.join(persist::key(spec, &config_text));
        persist::ensure_private_dir(&target_dir)?;
        // One run at a time finds, cleans up and launches the target's
        // master, so a directory without a socket is never another run's
        // master still connecting.
        let wait = Duration::from_secs(client_config::whole_seconds(spec.connect_timeout))
            + keepalive.detection_time()
            + BACKSTOP_SLACK;
        let _lock = persist::lock_target(&target_dir, wait).await?;
        let mut died = Vec::new();
        for socket in persist::sockets(&target_dir) {
            let log = socket.with_file_name("log");
            let session = Session::resume_mux(socket.clone().into(), Some(log.into()));
            // The multiplex protocol's alive check, as `ssh -O check` sends.
            if session.check().await.is_ok() {
                persist::mark_used(&target_dir, persist.idle);
                let connection =
                    Self::with_session(session, None, Dir::Persisted(target_dir), true, started);
                connection.hold_master().await;
                return Ok(connection);
            }
            died.push(persist::dead_master(&socket));
            persist::remove_master_dir(&socket);
        }
        died.extend(persist::take_ended_masters(&target_dir));
        let died = (!died.is_empty()).then(|| persist::died_note(&died));
        let config = target_dir.join("config");
        replace_private(&config, &config_text)?;
        replace_private(&target_dir.join("target"), &persist::describe(spec))?;
        let mut builder = builder(spec, &target_dir, &config)?;
        let idle = std::num::NonZeroUsize::new(persist.idle.as_secs().max(1) as usize)
            .unwrap_or(std::num::NonZeroUsize::MIN);
        builder.control_persist(openssh::ControlPersist::IdleFor(idle));
        // Before launching: the master's idle time cannot start earlier,
        // so an end before this + idle is not its idle time.
        persist::mark_used(&target_dir, persist.idle);
        let (session, master) = match launch(&builder, spec, keepalive, &target_dir).await {
            Ok(launched) => launched,
            Err(error) => {
                // A failed attempt leaves its directory (an empty socket
                // place and ssh's log); nothing will use it.
                persist::take_ended_masters(&target_dir);
                return Err(match died {
                    Some(note) => with_note(error, &format!("{note}; connecting again failed")),
                    None => error,
                });
            }
        };
        // From here the master belongs to no run: detached, a dropped session
        // does not tell it to exit.
        let (ctl, log) = session.detach();
        let session = Session::resume_mux(ctl, log);
        master.release();
        let connection =
            Self::with_session(session, None, Dir::Persisted(target_dir), false, started);
        connection.hold_master().await;
        if let Some(note) = died {
            connection.set_note(format!("{note}; connected again"));
        }
        Ok(connection)
    }

    /// Start the host's worker shell now rather than at the first task: its
    /// session keeps a persisted master busy, so the master's idle time
    /// (`ControlPersist`, SECS) does not run out between the connection
    /// phase and the first task. At 100 hosts that phase takes 6 to 10 s on
    /// the loaded 2-core machine, and `--persist 5` lost a third of the
    /// masters before their first task. A worker that cannot start is left
    /// to `exec`, as before.
    async fn hold_master(&self) {
        let mut slot = self.worker.lock().await;
        if matches!(*slot, WorkerSlot::NotStarted) {
            *slot = match Worker::start(&self.session).await {
                Ok(worker) => WorkerSlot::Running(Box::new(worker)),
                Err(_) => WorkerSlot::Unavailable,
            };
        }
    }

    fn set_note(&self, note: String) {
        if let Ok(mut slot) = self.note.lock() {
            *slot = Some(note);
        }
    }

    /// The warning opening this connection left for the run (a persisted
    /// master from an earlier run had died and was replaced), once.
    pub fn take_note(&self) -> Option<String> {
        self.note.lock().ok().and_then(|mut slot| slot.take())
    }

    fn with_session(
        session: Session,
        master: Option<groups::MasterGuard>,
        dir: Dir,
        reused: bool,
        started: Instant,
    ) -> SshConnection {
        let log = session.control_socket().with_file_name("log");
        let log_len_at_connect = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        SshConnection {
            worker: tokio::sync::Mutex::new(WorkerSlot::NotStarted),
            session: Arc::new(session),
            log,
            log_len_at_connect,
            master,
            dir,
            reused,
            connect_time: started.elapsed(),
            note: std::sync::Mutex::new(None),
        }
    }

    /// Whether a persisted master from an earlier run was reused (no new
    /// SSH connection, no authentication).
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// How long opening (or finding) the master took.
    pub fn connect_time(&self) -> Duration {
        self.connect_time
    }

    /// The control socket of the master.
    pub fn control_socket(&self) -> &Path {
        self.session.control_socket()
    }

    /// Run one script. The usual task goes through the host's persistent
    /// worker shell; a script with become or a timeout, a large one, or one
    /// that arrives while the worker is busy runs in a new session over the
    /// master connection (many of those may run at once).
    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, TransportError> {
        if request.become_user.is_none() && request.timeout.is_none() && !request.script_on_stdin()
        {
            if let Ok(mut slot) = self.worker.try_lock() {
                if let Some(result) = self.exec_in_worker(&mut slot, &request.script).await {
                    return result;
                }
            }
        }
        let nonce = crate::shell::new_nonce();
        let command = own_group(&remote_command(request), &nonce);
        let stdin = if request.script_on_stdin() {
            request.script.as_str()
        } else {
            ""
        };
        let Some(limit) = request.timeout else {
            return self.run(&command, stdin, &nonce).await;
        };
        let started = Instant::now();
        let backstop = limit + Duration::from_secs(KILL_AFTER_SECS) + BACKSTOP_SLACK;
        match tokio::time::timeout(backstop, self.run(&command, stdin, &nonce)).await {
            Err(_) => Err(TransportError::Timeout(limit)),
            // `timeout` exits 124 after TERM; after KILL it is killed with its
            // process group, so there is no exit status at all.
            Ok(Ok(output))
                if started.elapsed() >= limit
                    && output.code.is_none_or(|c| TIMED_OUT_CODES.contains(&c)) =>
            {
                Err(TransportError::Timeout(limit))
            }
            Ok(result) => result,
        }
    }

    /// Tell the master to exit, end it if it has not, then remove the
    /// private directory.
    pub async fn close(self) {
        let SshConnection {
            worker,
            session,
            dir,
            master,
            ..
        } = self;
        // The worker's channel holds a reference to the session: end it first.
        drop(worker);
        let private_dir = match dir {
            Dir::Private(private_dir) => private_dir,
            Dir::Persisted(_) => {
                // The master outlives the run: its idle time or
                // `baton connections --close` ends it. The session was
                // resumed, so dropping it sends no exit.
                drop(session);
                return;
            }
        };
        // A master that is already gone has nothing left to close.
        if let Ok(session) = Arc::try_unwrap(session) {
            let _ = session.close().await;
        }
        // A master still serving a session (a script that would not end)
        // outlives `close`, which only stops it listening: end it by PID.
        groups::end_master(private_dir.path()).await;
        drop(master);
        let _ = private_dir.close();
    }

    /// [`SshConnection::close`] for many connections at once (the end of a
    /// run): each master is told to exit, all together, then one search of
    /// `/proc` per round ends those still running, instead of one search
    /// per connection (22 s for 100 hosts on the loaded 2-core machine).
    pub async fn close_many(connections: Vec<SshConnection>) {
        let graceful = connections.into_iter().map(|connection| async move {
            let SshConnection {
                worker,
                session,
                dir,
                master,
                ..
            } = connection;
            drop(worker);
            let private_dir = match dir {
                Dir::Private(private_dir) => private_dir,
                Dir::Persisted(_) => return None,
            };
            if let Ok(session) = Arc::try_unwrap(session) {
                let _ = session.close().await;
            }
            Some((private_dir, master))
        });
        let closed: Vec<_> = futures::future::join_all(graceful)
            .await
            .into_iter()
            .flatten()
            .collect();
        let dirs: Vec<PathBuf> = closed
            .iter()
            .map(|(dir, _)| dir.path().to_path_buf())
            .collect();
        groups::end_masters_of(&dirs).await;
        for (private_dir, master) in closed {
            // Ended above: the guard has nothing left to end.
            if let Some(master) = master {
                master.release();
            }
            let _ = private_dir.close();
        }
    }

    /// The private directory holding the control socket, config and log.
    pub fn control_dir(&self) -> &Path {
        match &self.dir {
            Dir::Private(dir) => dir.path(),
            Dir::Persisted(dir) => dir,
        }
    }

    /// Run `command` (made by [`own_group`] with `nonce`) in a session of its own.
    async fn run(
        &self,
        command: &str,
        script: &str,
        nonce: &str,
    ) -> Result<ExecOutput, TransportError> {
        // Held until the script's process group is registered (or its
        // stderr ends without one), so a quit at once cannot miss it.
        let permit = groups::permit_start()
            .ok_or_else(|| TransportError::Other(groups::NOT_STARTED.into()))?;
        let spawned = self
            .session
            .raw_command(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await;
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => return Err(self.exec_error(error).await),
        };

        let stdin = child.stdin().take();
        let write = async move {
            if let Some(mut stdin) = stdin {
                // The remote side may exit without reading everything (sudo
                // refusing, say); its exit status tells what happened.
                let _ = stdin.write_all(script.as_bytes()).await;
                let _ = stdin.flush().await;
            }
        };
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        let (_, stdout, stderr) = tokio::join!(
            write,
            read_all(stdout),
            read_stderr(stderr, &self.session, nonce, permit)
        );

        let code = match child.wait().await {
            // The marked shell of `own_group` reports signal N as 128 + N, as
            // the worker does: no exit status, as ssh would have said.
            Ok(status) => status.code().filter(|c| !(129..193).contains(c)),
            // The crate turns exit status 127 into this error; for a script it is
            // just "command not found" inside it, an ordinary failure.
            Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => Some(127),
            // No exit status: killed by a signal, or the connection went away;
            // the multiplex protocol cannot tell which, so ask the master.
            Err(openssh::Error::RemoteProcessTerminated) => match self.gone().await {
                None => None,
                Some(error) => return Err(error),
            },
            Err(error) => return Err(self.exec_error(error).await),
        };
        match (stdout, stderr) {
            (Ok(stdout), Ok(stderr)) => {
                let (stdout, out_note) = stdout.text(None, "stdout");
                let (stderr, err_note) = stderr.text(None, "stderr");
                Ok(ExecOutput {
                    code,
                    stdout,
                    stderr: capture::with_notes(stderr, [out_note, err_note]),
                })
            }
            (Err(e), _) | (_, Err(e)) => Err(self.exec_error(e).await),
        }
    }

    /// Whether the master still answers. A master that just lost its link may
    /// need a moment to exit, so a live answer is checked once more.
    /// `None`: the worker cannot be used (it could not start); run another way.
    async fn exec_in_worker(
        &self,
        slot: &mut WorkerSlot,
        script: &str,
    ) -> Option<Result<ExecOutput, TransportError>> {
        if matches!(slot, WorkerSlot::NotStarted) {
            *slot = match Worker::start(&self.session).await {
                Ok(worker) => WorkerSlot::Running(Box::new(worker)),
                Err(_) => WorkerSlot::Unavailable,
            };
        }
        let WorkerSlot::Running(worker) = slot else {
            return None;
        };
        match worker.run(script).await {
            Ok(output) => Some(Ok(output)),
            Err(WorkerError::Quitting) => {
                Some(Err(TransportError::Other(groups::NOT_STARTED.into())))
            }
            Err(WorkerError::NotSent) => {
                *slot = WorkerSlot::Unavailable;
                None
            }
            Err(WorkerError::Broken(why)) => {
                *slot = WorkerSlot::Unavailable;
                Some(Err(match self.gone().await {
                    None => TransportError::Other(format!("the remote shell ended while running the task ({why}); the task may have run in part")),
                    Some(error) => error,
                }))
            }
        }
    }

    /// `None` while the master answers; else why the connection is gone:
    /// out of open files here (which says nothing about the host), or lost.
    async fn gone(&self) -> Option<TransportError> {
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if let Err(error) = self.session.check().await {
                let text = error_chain(&error);
                return Some(if fd_limit::is_emfile(&text) {
                    TransportError::Other(fd_limit::emfile_message("ssh"))
                } else {
                    self.lost()
                });
            }
        }
        None
    }

    async fn exec_error(&self, error: openssh::Error) -> TransportError {
        let text = error_chain(&error);
        if fd_limit::is_emfile(&text) {
            return TransportError::Other(fd_limit::emfile_message(&format!("ssh: {text}")));
        }
        match self.gone().await {
            None => TransportError::Other(format!("ssh: {text}")),
            Some(error) => error,
        }
    }

    /// The connection is gone; the master's log since connecting says why.
    fn lost(&self) -> TransportError {
        let log = std::fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(self.log_len_at_connect)
            .unwrap_or(usize::MAX)
            .min(log.len());
        let error = diagnose::connection_lost(&String::from_utf8_lossy(&log[start..]));
        if self.reused {
            with_note(
                error,
                "over a persisted master from an earlier run, which has now ended; the next run connects afresh",
            )
        } else {
            error
        }
    }
}

/// The crate's builder for `spec`, with its socket under `dir`.
fn builder(
    spec: &ConnectionSpec,
    dir: &Path,
    config: &Path,
) -> Result<SessionBuilder, TransportError> {
    let connect_secs = client_config::whole_seconds(spec.connect_timeout);
    let mut builder = SessionBuilder::default();
    builder
        .known_hosts_check(if spec.accept_new_host_keys {
            KnownHosts::Add
        } else {
            KnownHosts::Strict
        })
        .control_directory(dir)
        .config_file(config)
        .connect_timeout(Duration::from_secs(connect_secs));
    if let Some(port) = spec.port {
        builder.port(port);
    }
    if let Some(user) = &spec.user {
        builder.user(user.clone());
    }
    if let Some(key) = &spec.private_key {
        // ssh only says "Permission denied (publickey)" when it cannot
        // read the key; say which file and why before trying. (A missing
        // key is left to ssh, which warns and tries its other keys.)
        let unreadable = std::fs::File::open(key)
            .err()
            .filter(|e| e.kind() != std::io::ErrorKind::NotFound);
        if let Some(e) = unreadable {
            return Err(TransportError::Unreachable(format!(
                "cannot read the private key {} ({e}); run baton as a user who can read it (a `baton lab` key belongs to root), or set ansible_ssh_private_key_file",
                key.display()
            )));
        }
        builder.keyfile(key);
    }
    Ok(builder)
}

/// Start the master. It is registered before it starts, by `dir` (on its
/// command line), so that a quit at once ends it whether it is still
/// connecting or connected.
async fn launch(
    builder: &SessionBuilder,
    spec: &ConnectionSpec,
    keepalive: Keepalive,
    dir: &Path,
) -> Result<(Session, groups::MasterGuard), TransportError> {
    let connect_secs = client_config::whole_seconds(spec.connect_timeout);
    let permit =
        groups::permit_start().ok_or_else(|| TransportError::Other(groups::NOT_STARTED.into()))?;
    let master = groups::register_master(dir);
    // ssh bounds every phase itself (ConnectTimeout for TCP and the banner,
    // the keepalive for key exchange and authentication); this only guards
    // against an ssh that never returns.
    let backstop = Duration::from_secs(connect_secs) + keepalive.detection_time() + BACKSTOP_SLACK;
    let mut connect = std::pin::pin!(tokio::time::timeout(
        backstop,
        builder.connect_mux(&spec.address)
    ));
    // The first poll spawns `ssh` (openssh 0.11's `launch_master` spawns
    // it before its first await); from then on a quit finds it by the
    // directory on its command line, so the permit can go.
    let first = futures::poll!(connect.as_mut());
    drop(permit);
    let connected = match first {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => connect.await,
    };
    match connected {
        Ok(Ok(session)) => Ok((session, master)),
        Ok(Err(error)) => Err(connect_error(error, spec)),
        Err(_) => {
            // The `ssh` that never returned would otherwise go on
            // connecting, and stay as a master nobody uses.
            groups::end_master(dir).await;
            Err(TransportError::Unreachable(format!(
                "no working ssh connection to {} after {}s",
                spec.address,
                backstop.as_secs()
            )))
        }
    }
}

/// A stream read to its end through a [`Capture`] (its first 16 MiB kept).
async fn read_all<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
) -> Result<Capture, openssh::Error> {
    let mut capture = Capture::default();
    if let Some(mut stream) = stream {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(openssh::Error::ChildIo)?;
            if n == 0 {
                break;
            }
            capture.push(&chunk[..n]);
        }
    }
    Ok(capture)
}

/// Reads a script's stderr, taking out the marker line with its process
/// group's id; the group stays registered (to be ended by a quit at once)
/// until the stream closes.
async fn read_stderr<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
    session: &Arc<Session>,
    nonce: &str,
    permit: groups::StartPermit,
) -> Result<Capture, openssh::Error> {
    let mut buffer = Capture::default();
    let mut registered = None;
    let mut permit = Some(permit);
    if let Some(mut stream) = stream {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(openssh::Error::ChildIo)?;
            if n == 0 {
                break;
            }
            buffer.push(&chunk[..n]);
            // the marker is the first line; see the worker
            if registered.is_none() && buffer.buffer.len() <= 64 * 1024 {
                if let Some(pgid) = groups::take_pgid_marker(&mut buffer.buffer, nonce) {
                    registered = Some(groups::register(Group::Remote {
                        session: Arc::clone(session),
                        pgid,
                    }));
                    permit = None;
                }
            }
        }
    }
    drop(permit);
    drop(registered);
    Ok(buffer)
}

/// `line` run as the leader of a new process group and session on the host,
/// reporting its PID first (see [`groups`]); as is where `setsid` is missing.
fn own_group(line: &str, nonce: &str) -> String {
    format!(
        "c={line}; command -v setsid >/dev/null 2>&1 && exec setsid -w sh -c {marked} {nonce} \"$c\"; exec sh -c \"$c\"",
        line = crate::shell::quote(line),
        marked = crate::shell::quote(groups::MARKED_WAIT),
        nonce = crate::shell::quote(nonce),
    )
}

/// The remote command line. With a timeout, coreutils `timeout` runs the script
/// runner (inside sudo, so it can kill what runs as the become user): the
/// remote script must not outlive its timeout even if the link is gone, and
/// closing an ssh session does not signal the remote process.
fn remote_command(request: &ExecRequest) -> String {
    let line = command_line(request);
    let Some(limit) = request.timeout else {
        return line;
    };
    // `timeout 0` would mean no limit at all.
    let secs = limit.as_secs_f64().max(0.001);
    let guard = format!("timeout -k {KILL_AFTER_SECS}s {secs:.3}s ");
    command_line_with(request, &guard)
}

/// `error` with `note` added in parentheses, of the same kind.
fn with_note(error: TransportError, note: &str) -> TransportError {
    match error {
        TransportError::Unreachable(m) => TransportError::Unreachable(format!("{m} ({note})")),
        TransportError::HostKey(m) => TransportError::HostKey(format!("{m} ({note})")),
        TransportError::Other(m) => TransportError::Other(format!("{m} ({note})")),
        timeout @ TransportError::Timeout(_) => timeout,
    }
}

fn connect_error(error: openssh::Error, spec: &ConnectionSpec) -> TransportError {
    if let openssh::Error::Connect(e) = &error {
        if fd_limit::is_emfile(&e.to_string()) {
            return TransportError::Other(fd_limit::emfile_message(&format!(
                "cannot start ssh for {}",
                spec.address
            )));
        }
    }
    match error {
        // An OS error means ssh itself could not be run (or left no log), not
        // that the host refused.
        openssh::Error::Connect(e) if e.raw_os_error().is_some() => TransportError::Other(format!(
            "cannot run ssh (is the OpenSSH client installed and on PATH?): {e}"
        )),
        // Otherwise the message is what ssh wrote to its log.
        openssh::Error::Connect(e) => diagnose::connect_failure(&e.to_string(), spec),
        other => TransportError::Other(format!("ssh: {}", error_chain(&other))),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Inventory addresses go on ssh's command line; one starting with `-` would be
/// read as an option.
fn check_address(address: &str) -> Result<(), TransportError> {
    if address.is_empty()
        || address.starts_with('-')
        || address.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(TransportError::Other(format!(
            "{address:?} is not a valid ssh host address"
        )));
    }
    Ok(())
}

/// `$TMPDIR` if it is short enough for a socket path, else `/tmp`.
fn control_root() -> PathBuf {
    let tmp = std::env::temp_dir();
    if tmp.as_os_str().len() <= MAX_CONTROL_ROOT_LEN && tmp.is_absolute() {
        tmp
    } else {
        PathBuf::from("/tmp")
    }
}

/// Write `path` (mode 0600) through a temporary file renamed over it, so a
/// concurrent run never reads half of it.
fn replace_private(path: &Path, text: &str) -> Result<(), TransportError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| TransportError::Other(format!("cannot write in {}: {e}", dir.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.flush())
        .map_err(|e| TransportError::Other(format!("cannot write {}: {e}", path.display())))?;
    file.persist(path)
        .map_err(|e| TransportError::Other(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<(), TransportError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| TransportError::Other(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::SCRIPT_RUNNER;

    #[test]
    fn a_timeout_wraps_the_script_runner_inside_sudo() {
        let request = ExecRequest {
            script: "true".into(),
            become_user: Some("o'brien".into()),
            timeout: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            remote_command(&request),
            "sudo -n -H -u 'o'\\''brien' -- timeout -k 2s 1.500s sh -c true"
        );
        let large = ExecRequest {
            script: "x".repeat(crate::transport::INLINE_SCRIPT_LIMIT + 1),
            timeout: Some(Duration::from_millis(1500)),
            ..Default::default()
        };
        assert_eq!(
            remote_command(&large),
            format!("timeout -k 2s 1.500s {SCRIPT_RUNNER}")
        );
    }

    #[test]
    fn a_timeout_without_become_wraps_the_script_runner() {
        let request = ExecRequest {
            timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        };
        assert_eq!(remote_command(&request), "timeout -k 2s 30.000s sh -c ''");
        let zero = ExecRequest {
            timeout: Some(Duration::ZERO),
            ..Default::default()
        };
        assert!(remote_command(&zero).starts_with("timeout -k 2s 0.001s "));
    }

    #[test]
    fn without_a_timeout_the_command_line_is_the_shared_one() {
        let request = ExecRequest {
            become_user: Some("hvr".into()),
            ..Default::default()
        };
        assert_eq!(remote_command(&request), command_line(&request));
    }

    #[test]
    fn addresses_that_ssh_would_read_as_options_are_refused() {
        for bad in ["", "-oProxyCommand=sh", "db1 -v", "db\n1"] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        for good in ["db1", "10.77.0.11", "::1", "db1.example.com"] {
            assert!(check_address(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn the_control_root_leaves_room_for_the_socket_name() {
        assert!(control_root().as_os_str().len() <= MAX_CONTROL_ROOT_LEN.max(4));
    }

    #[tokio::test]
    async fn a_missing_ssh_config_file_fails_before_running_ssh() {
        let spec = ConnectionSpec {
            kind: super::super::ConnectionKind::Ssh,
            ssh_config: Some(PathBuf::from("/nonexistent/baton-test/config")),
            ..ConnectionSpec::local("db1")
        };
        match SshConnection::open(&spec).await {
            Err(TransportError::Other(message)) => {
                assert!(
                    message.contains("/nonexistent/baton-test/config"),
                    "{message}"
                )
            }
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("connected without a config file"),
        }
    }
}
