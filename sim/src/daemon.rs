//! Running simulator servers as daemons, the way HVR's run on Unix: the starting command returns
//! at once (so `ssh node hvrscheduler hub` does not hang), the daemon runs in its own session
//! with `/` as working directory, stdin from /dev/null and its output appended to a log file.
//!
//! Each daemon holds an exclusive lock on its PID file for its whole life. The lock, not the PID,
//! says whether it runs: the kernel drops it when the process dies, even by SIGKILL, so a stale
//! PID file can never make a dead daemon look alive. Commands talk to a daemon over a Unix socket
//! next to its PID file.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::codec::read_line;
use crate::error::{Context, SimError, SimResult};
use crate::paths::Layout;
use crate::timefmt::human;

/// First argument of a daemon process; marks it as the detached half of a start command.
pub const DAEMON_FLAG: &str = "--daemon-child";

/// Longest Unix socket path Linux accepts (sun_path is 108 bytes including the NUL).
const MAX_SOCKET_PATH: usize = 107;

#[derive(Debug, Clone)]
pub struct Instance {
    /// For messages: "scheduler of hub hubdb".
    pub label: String,
    pub pid_path: PathBuf,
    pub sock_path: PathBuf,
    pub log_path: PathBuf,
}

impl Instance {
    pub fn new(layout: &Layout, stem: &str, label: impl Into<String>, log_path: PathBuf) -> Self {
        let files = layout.files_dir();
        Instance {
            label: label.into(),
            pid_path: files.join(format!("{stem}.pid")),
            sock_path: files.join(format!("{stem}.sock")),
            log_path,
        }
    }

    /// The PID of the running daemon, or `None` when none runs.
    pub fn running_pid(&self) -> SimResult<Option<u32>> {
        let file = match File::open(&self.pid_path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context(|| format!("opening {}", self.pid_path.display())),
        };
        match file.try_lock_shared() {
            // We could lock it, so nobody holds it: the file is left over from a dead daemon.
            Ok(()) => Ok(None),
            Err(TryLockError::WouldBlock) => Ok(Some(
                fs::read_to_string(&self.pid_path)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(0),
            )),
            Err(TryLockError::Error(e)) => {
                Err(e).context(|| format!("locking {}", self.pid_path.display()))
            }
        }
    }

    /// Opens the control socket.
    pub fn connect(&self, timeout: Duration) -> SimResult<UnixStream> {
        let stream = UnixStream::connect(&self.sock_path).map_err(|e| {
            SimError::failed(format!(
                "{} does not answer on {}: {e}",
                self.label,
                self.sock_path.display()
            ))
        })?;
        let _ = stream.set_read_timeout(Some(timeout));
        let _ = stream.set_write_timeout(Some(timeout));
        Ok(stream)
    }

    /// Sends one request line and returns the one-line reply; `ERR ...` replies become errors.
    pub fn request(&self, line: &str, timeout: Duration) -> SimResult<String> {
        let mut stream = self.connect(timeout)?;
        let talk = |stream: &mut UnixStream| -> io::Result<Option<String>> {
            stream.write_all(format!("{line}\n").as_bytes())?;
            let mut reader = BufReader::new(stream);
            read_line(&mut reader, crate::codec::MAX_LINE)
        };
        let reply = talk(&mut stream)
            .map_err(|e| SimError::failed(format!("talking to {}: {e}", self.label)))?
            .ok_or_else(|| SimError::failed(format!("{} closed the connection", self.label)))?;
        match reply.strip_prefix("ERR ") {
            Some(message) => Err(SimError::failed(message.to_string())),
            None => Ok(reply),
        }
    }

    /// Waits until the daemon has exited; false on timeout.
    pub fn wait_stopped(&self, timeout: Duration) -> SimResult<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.running_pid()?.is_none() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

// SAFETY: setsid(2) takes no arguments and only changes the calling process's session.
unsafe extern "C" {
    fn setsid() -> i32;
}

fn new_session() -> io::Result<()> {
    // SAFETY: setsid is async-signal-safe, so it may run between fork and exec.
    if unsafe { setsid() } == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Starts `arg0 --daemon-child args...` (this same binary) detached, and waits until it reports
/// that it is serving or why it could not start. Returns its PID.
pub fn spawn(
    instance: &Instance,
    layout: &Layout,
    arg0: &str,
    args: &[String],
    ready_timeout: Duration,
) -> SimResult<u32> {
    let exe = std::env::current_exe().context(|| "locating the hvrsim binary")?;
    if let Some(dir) = instance.log_path.parent() {
        fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&instance.log_path)
        .context(|| format!("opening {}", instance.log_path.display()))?;
    let (reader, writer) = io::pipe().context(|| "creating a pipe")?;
    let mut command = Command::new(exe);
    command
        .arg0(arg0)
        .arg(DAEMON_FLAG)
        .args(args)
        .env("HVR_CONFIG", layout.config())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(log)
        .current_dir("/");
    // SAFETY: new_session only calls setsid, which is async-signal-safe.
    unsafe {
        command.pre_exec(new_session);
    }
    let mut child = command
        .spawn()
        .context(|| format!("starting the {}", instance.label))?;
    // Our copy of the pipe's write end lives in `command`: close it so the read below sees
    // end-of-file if the daemon dies before it reports.
    drop(command);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let _ = tx.send(read_line(&mut reader, 64 * 1024));
    });
    let log_name = instance.log_path.display();
    match rx.recv_timeout(ready_timeout) {
        Ok(Ok(Some(line))) => {
            if let Some(pid) = line.strip_prefix("READY ") {
                return Ok(pid.trim().parse().unwrap_or_else(|_| child.id()));
            }
            let _ = child.wait();
            let message = line.strip_prefix("ERROR ").unwrap_or(&line);
            Err(SimError::failed(message.to_string()))
        }
        Ok(_) => {
            let status = child
                .wait()
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string());
            Err(SimError::failed(format!(
                "the {} exited during startup ({status}); see {log_name}",
                instance.label
            )))
        }
        Err(_) => Err(SimError::failed(format!(
            "the {} (pid {}) did not report ready within {}; see {log_name}",
            instance.label,
            child.id(),
            human(ready_timeout)
        ))),
    }
}

/// Held by a daemon for its lifetime: the PID file lock that makes it the only instance.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    instance: Instance,
}

impl DaemonLock {
    pub fn acquire(instance: &Instance) -> SimResult<Self> {
        if let Some(dir) = instance.pid_path.parent() {
            fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&instance.pid_path)
            .context(|| format!("opening {}", instance.pid_path.display()))?;
        // A status check briefly holds a shared lock; retry for a moment before giving up.
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    let pid = fs::read_to_string(&instance.pid_path).unwrap_or_default();
                    return Err(SimError::failed(format!(
                        "the {} is already running (pid {})",
                        instance.label,
                        pid.trim()
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(e).context(|| format!("locking {}", instance.pid_path.display()))
                }
            }
        }
        let write_pid = |mut f: &File| -> io::Result<()> {
            f.set_len(0)?;
            f.write_all(format!("{}\n", std::process::id()).as_bytes())
        };
        write_pid(&file).context(|| format!("writing {}", instance.pid_path.display()))?;
        Ok(DaemonLock {
            _file: file,
            instance: instance.clone(),
        })
    }

    /// Binds the control socket; a leftover socket file is ours to replace since we hold the lock.
    pub fn bind_control(&self) -> SimResult<UnixListener> {
        let path = &self.instance.sock_path;
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(SimError::usage(format!(
                "control socket path {} is longer than {MAX_SOCKET_PATH} bytes; use a shorter HVR_CONFIG",
                path.display()
            )));
        }
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(|| format!("removing {}", path.display())),
        }
        UnixListener::bind(path).context(|| format!("binding {}", path.display()))
    }

    /// Removes the PID file and the socket; the lock goes when the process exits.
    pub fn remove_files(&self) {
        let _ = fs::remove_file(&self.instance.sock_path);
        let _ = fs::remove_file(&self.instance.pid_path);
    }
}

/// Tells the starting command that the daemon serves. Nothing may be written to stdout after
/// this: the starting command has gone, and the pipe with it.
pub fn signal_ready() {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "READY {}", std::process::id());
    let _ = out.flush();
}

/// Tells the starting command why the daemon could not start.
pub fn signal_failure(message: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "ERROR {}", message.replace('\n', " "));
    let _ = out.flush();
}
