//! The process groups baton's tasks run in, here and on the hosts, and the
//! SSH masters it starts, so that "quit at once" (a second Ctrl-C or
//! SIGTERM) can end them instead of leaving them running.
//!
//! Every task script runs in a process group (and, on a host, a session)
//! that a quit can end: locally `sh` is spawned with `process_group(0)`;
//! over SSH a script in a session of its own (`setsid`) reports its PID
//! (= PGID = SID) first on stderr, in a marker line carrying the request's
//! nonce, and a script in the host's persistent worker shell reports the
//! worker's session, which sshd created for it (ending it ends the worker,
//! which a quit ends anyway).
//! While the script runs its group is registered here; [`kill_all`] sends
//! TERM and then KILL to every registered group (on a host through a short
//! command over the host's master connection) and then ends the SSH masters,
//! so nothing baton started outlives it.
//!
//! Nothing may start once a quit has begun: every start first takes a
//! [`StartPermit`], refused after [`kill_all`] began, and holds it until what
//! it started is registered. [`kill_all`] waits (a bounded time) for the
//! permits in flight, so a script or master that was starting as the quit
//! began is registered, and ended, too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Something baton started that must not outlive a quit.
pub enum Group {
    /// A local script's process group.
    Local { pgid: i32 },
    /// A script's process group and session on a host, reached over `session`.
    Remote {
        session: Arc<openssh::Session>,
        pgid: i32,
    },
    /// An SSH master, connecting or connected: the private directory that
    /// holds its control socket. Every `ssh` process of this connection
    /// (the one connecting, then the master it forks into) names that
    /// directory on its command line, which is how a quit finds their PIDs.
    Master { dir: PathBuf },
}

static GROUPS: Mutex<BTreeMap<u64, Group>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(0);
/// Set when a quit at once begins; from then on nothing new may start.
static QUITTING: AtomicBool = AtomicBool::new(false);
/// Starts in flight: permits taken and not yet dropped.
static STARTING: AtomicUsize = AtomicUsize::new(0);

/// How long a quit waits for starts in flight to register what they started.
const SETTLE: Duration = Duration::from_secs(3);

/// Why something was not started.
pub const NOT_STARTED: &str =
    "not started: baton is quitting at once (a second stop signal arrived)";

/// Permission to start a process that [`kill_all`] must be able to end. Take
/// it before starting and keep it until the process is registered.
pub struct StartPermit(());

impl Drop for StartPermit {
    fn drop(&mut self) {
        STARTING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A permit, or `None` once a quit at once has begun.
pub fn permit_start() -> Option<StartPermit> {
    // Counted before the flag is read, and the quit sets the flag before it
    // reads the count (both SeqCst): either this start sees the quit and
    // gives up, or the quit sees this start and waits for it.
    STARTING.fetch_add(1, Ordering::SeqCst);
    if QUITTING.load(Ordering::SeqCst) {
        STARTING.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(StartPermit(()))
}

/// Whether a quit at once has begun.
pub fn quitting() -> bool {
    QUITTING.load(Ordering::SeqCst)
}

/// Keeps a group registered; dropping it (the script ended) forgets it.
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut groups) = GROUPS.lock() {
            groups.remove(&self.0);
        }
    }
}

pub fn register(group: Group) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut groups) = GROUPS.lock() {
        groups.insert(id, group);
    }
    Registered(id)
}

/// An SSH master's registration that also ends it, by PID, when dropped: a
/// connection dropped without `close` (one forgotten after it failed, or
/// dropped by a panic) leaves no master behind.
pub struct MasterGuard {
    _registered: Registered,
    dir: PathBuf,
    /// Whether dropping the guard ends the master (not for a persisted one).
    armed: bool,
}

impl MasterGuard {
    /// Forget the master without ending it: a persisted master (`--persist`)
    /// outlives the run and is closed by its idle time or `baton connections --close`.
    pub fn release(mut self) {
        self.armed = false;
    }
}

/// Registers the master of the connection whose private directory is `dir`
/// (before it starts: see [`Group::Master`]).
pub fn register_master(dir: &Path) -> MasterGuard {
    MasterGuard {
        _registered: register(Group::Master {
            dir: dir.to_path_buf(),
        }),
        dir: dir.to_path_buf(),
        armed: true,
    }
}

impl Drop for MasterGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for pid in pids_naming(&self.dir) {
            // SAFETY: kill(2) on an ssh process of this connection (see
            // [`end_master`]); no memory is touched.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
}

/// The stderr marker line a script writes first: `\x1f` NONCE ` ` PID `\n`.
pub fn pgid_marker_prefix(nonce: &str) -> String {
    format!("\x1f{nonce} ")
}

/// Finds and removes the marker line for `nonce` from `stderr`; returns the PID.
pub fn take_pgid_marker(stderr: &mut Vec<u8>, nonce: &str) -> Option<i32> {
    let prefix = pgid_marker_prefix(nonce).into_bytes();
    let at = stderr.windows(prefix.len()).position(|w| w == prefix)?;
    let rest = &stderr[at + prefix.len()..];
    let newline = rest.iter().position(|&b| b == b'\n')?;
    let pid = std::str::from_utf8(&rest[..newline])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    stderr.drain(at..at + prefix.len() + newline + 1);
    Some(pid)
}

/// For the persistent worker: `setsid -w sh -c MARKED_EVAL sh SCRIPT NONCE`
/// writes the marker and runs SCRIPT in the same shell, sparing the `exec`
/// of a second `sh` per task. `set --` first, so the script sees what `sh -c
/// SCRIPT` would give it: `$0` is `sh`, no positional parameters, `$$` its own PID.
pub const MARKED_EVAL: &str = r#"printf '\037%s %s\n' "$2" "$$" >&2; eval "set --; $1""#;

/// For a script in a session of its own: `sh -c MARKED_WAIT NONCE LINE`
/// writes the marker, runs LINE in a child shell and exits with its status
/// (128 + N after signal N) for `setsid -w` to pass on, since `setsid -w`
/// reports a child killed by a signal with the bare signal number.
pub const MARKED_WAIT: &str = r#"printf '\037%s %s\n' "$0" "$$" >&2; sh -c "$1"; exit $?"#;

/// The remote command that ends a group and the session it leads: TERM
/// first (sudo relays it to a command it runs in a pty of its own), then KILL.
fn remote_kill_command(pgid: i32) -> String {
    format!(
        "for s in TERM KILL; do pkill -$s -s {pgid} 2>/dev/null; kill -$s -- -{pgid} 2>/dev/null; [ $s = KILL ] || sleep 0.3; done; true"
    )
}

/// What a quit ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    /// Task process groups signalled (local and remote).
    pub groups: usize,
    /// SSH master connections ended (connected or still connecting).
    pub masters: usize,
}

/// Ends every registered group and SSH master, after refusing every new
/// start and waiting (at most [`SETTLE`]) for the starts in flight.
pub async fn kill_all() -> Ended {
    QUITTING.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + SETTLE;
    while STARTING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut total = Ended::default();
    // A start that outlived the wait registers later: sweep again.
    for _ in 0..3 {
        let groups: Vec<Group> = match GROUPS.lock() {
            Ok(mut groups) => std::mem::take(&mut *groups).into_values().collect(),
            Err(_) => break,
        };
        if groups.is_empty() {
            break;
        }
        let ended = end(groups).await;
        total.groups += ended.groups;
        total.masters += ended.masters;
    }
    total
}

/// Ends the SSH masters still registered (a connection that was never
/// closed); for the end of a run, whatever way it ended.
pub async fn end_masters() -> usize {
    let masters: Vec<Group> = match GROUPS.lock() {
        Ok(mut groups) => {
            let ids: Vec<u64> = groups
                .iter()
                .filter(|(_, g)| matches!(g, Group::Master { .. }))
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| groups.remove(id)).collect()
        }
        Err(_) => return 0,
    };
    end(masters).await.masters
}

/// TERM, then KILL, to each group; then the masters.
async fn end(groups: Vec<Group>) -> Ended {
    let mut ended = Ended::default();
    let mut remote = Vec::new();
    let mut masters = Vec::new();
    for group in groups {
        match group {
            Group::Local { pgid } => {
                ended.groups += 1;
                // SAFETY: kill(2) on a process group baton created; no memory is touched.
                unsafe {
                    libc::kill(-pgid, libc::SIGTERM);
                }
                remote.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    // SAFETY: as above.
                    unsafe {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                }));
            }
            Group::Remote { session, pgid } => {
                ended.groups += 1;
                remote.push(tokio::spawn(async move {
                    let mut kill = session.raw_command(remote_kill_command(pgid));
                    let _ = tokio::time::timeout(Duration::from_secs(5), kill.status()).await;
                }));
            }
            Group::Master { dir } => masters.push(dir),
        }
    }
    for task in remote {
        let _ = task.await;
    }
    // The masters persist on their own (ControlPersist); with them gone, each
    // host's sshd ends the persistent worker shells too.
    let ends: Vec<_> = masters
        .into_iter()
        .map(|dir| tokio::spawn(async move { end_master(&dir).await }))
        .collect();
    for task in ends {
        if let Ok(true) = task.await {
            ended.masters += 1;
        }
    }
    ended
}

/// `ssh -O exit` on a master's control socket, waited for at most 5 s.
async fn ask_master_exit(socket: &Path) {
    let exit = tokio::process::Command::new("ssh")
        .arg("-S")
        .arg(socket)
        .args(["-O", "exit", "baton-master"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(5), exit).await;
}

/// Ends the `ssh` processes of one connection: by PID where `/proc` lists
/// them (TERM, then KILL), else by asking its master to exit over the
/// control socket. Removes the connection's private directory. Returns
/// whether a process was found.
pub async fn end_master(dir: &Path) -> bool {
    end_masters_of(&[dir.to_path_buf()]).await
}

/// The control sockets the openssh crate made in a connection's directory
/// (`.ssh-connectionXXXX/master`).
fn control_sockets(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("master"))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default()
}

/// PIDs of the processes whose command line contains `dir` (from `/proc`;
/// empty where there is none). baton itself is never among them.
fn pids_naming(dir: &Path) -> Vec<i32> {
    pids_naming_any(&[dir.to_path_buf()])
        .into_iter()
        .map(|(_, pid)| pid)
        .collect()
}

/// [`pids_naming`] for many directories in one look through `/proc`: each
/// PID found, with the index in `dirs` of the directory it names.
fn pids_naming_any(dirs: &[PathBuf]) -> Vec<(usize, i32)> {
    // With the separator after it: `/tmp/baton-ssh-ab` must not match
    // `/tmp/baton-ssh-abc/...`.
    let needles: Vec<(usize, Vec<u8>)> = dirs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.as_os_str().is_empty())
        .map(|(i, d)| {
            let mut needle = d.as_os_str().as_encoded_bytes().to_vec();
            needle.push(b'/');
            (i, needle)
        })
        .collect();
    if needles.is_empty() {
        return Vec::new();
    }
    let own = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for pid in entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != own)
    {
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let hit = needles
            .iter()
            .find(|(_, needle)| cmd.windows(needle.len()).any(|w| w == needle.as_slice()));
        if let (Some((i, _)), Ok(pid)) = (hit, i32::try_from(pid)) {
            found.push((*i, pid));
        }
    }
    found
}

/// [`end_master`] for many connections at once (the end of a run): one
/// look through `/proc` per round for all of them, instead of one per
/// connection, which at 100 hosts on a loaded machine took 0.2 s each.
/// Returns whether a process (or a control socket) was found.
pub async fn end_masters_of(dirs: &[PathBuf]) -> bool {
    let pids = pids_naming_any(dirs);
    // Where `/proc` shows none, ask the master over its socket.
    let sockets: Vec<PathBuf> = dirs
        .iter()
        .enumerate()
        .filter(|(i, _)| !pids.iter().any(|(j, _)| j == i))
        .flat_map(|(_, dir)| control_sockets(dir))
        .collect();
    let found = !pids.is_empty() || !sockets.is_empty();
    futures::future::join_all(sockets.iter().map(|socket| ask_master_exit(socket))).await;
    if !pids.is_empty() {
        for (_, pid) in &pids {
            // SAFETY: kill(2) on an ssh process whose command line names
            // one of these connections' private directories, which only
            // baton's own ssh processes do; no memory is touched.
            unsafe {
                libc::kill(*pid, libc::SIGTERM);
            }
        }
        let mut left = pids;
        for _ in 0..20 {
            let now = pids_naming_any(dirs);
            left.retain(|p| now.contains(p));
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        for (_, pid) in left {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_found_and_removed_wherever_it_lands() {
        let mut err = b"abc\x1fn1 4242\ndef\n".to_vec();
        assert_eq!(take_pgid_marker(&mut err, "n1"), Some(4242));
        assert_eq!(err, b"abcdef\n");
        let mut other = b"\x1fzz 1\n".to_vec();
        assert_eq!(take_pgid_marker(&mut other, "n1"), None);
        let mut partial = b"\x1fn1 12".to_vec();
        assert_eq!(take_pgid_marker(&mut partial, "n1"), None);
    }

    /// A process standing for an ssh master: its command line names `dir`.
    /// (Short sleeps, and no inherited output, so that ending the shell
    /// leaves nothing behind for long.)
    fn fake_master(dir: &Path) -> std::process::Child {
        std::process::Command::new("sh")
            .arg("-c")
            .arg("while :; do sleep 0.05; done")
            .arg(dir.join(".ssh-connectionX/master"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    fn ended(child: &mut std::process::Child) -> bool {
        for _ in 0..100 {
            if child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[tokio::test]
    async fn a_master_is_ended_by_pid_found_by_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let mut master = fake_master(dir.path());
        let mut bystander = fake_master(other.path());
        // A directory whose name extends this one's is another connection's.
        let longer = std::path::PathBuf::from(format!("{}x", dir.path().display()));
        let mut similar = fake_master(&longer);
        std::thread::sleep(Duration::from_millis(100));
        assert!(end_master(dir.path()).await);
        assert!(ended(&mut master), "the master survived");
        assert!(!dir.path().exists(), "its directory is left");
        for c in [&mut bystander, &mut similar] {
            assert!(c.try_wait().unwrap().is_none(), "another process was ended");
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    #[test]
    fn a_dropped_master_guard_ends_its_master() {
        let dir = tempfile::tempdir().unwrap();
        let mut master = fake_master(dir.path());
        std::thread::sleep(Duration::from_millis(100));
        let guard = register_master(dir.path());
        drop(guard);
        assert!(ended(&mut master), "the master survived its connection");
    }

    #[tokio::test]
    async fn kill_all_ends_a_registered_local_group_with_its_children() {
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = child.id().unwrap() as i32;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Not through the shared registry: other tests' groups live there.
        assert_eq!(end(vec![Group::Local { pgid }]).await.groups, 1);
        let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(!status.success());
        // The orphaned `sleep` is reaped by init shortly after it died.
        let mut alive = true;
        for _ in 0..40 {
            // SAFETY: probing a process group with signal 0.
            alive = unsafe { libc::kill(-pgid, 0) } == 0;
            if !alive {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!alive, "a process of the group survived");
    }
}
