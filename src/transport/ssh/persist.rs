//! Warm connections across runs (`--persist SECS`, inventory `baton_persist`),
//! as Ansible's `ControlPersist`: the SSH master outlives baton for SECS of
//! idle time, and a later run with the same target reuses it instead of
//! connecting again.
//!
//! Layout: one private root per user (mode 0700, owned by the user; anything
//! else is refused, since it lives in a shared temp directory), then one
//! directory per target, named by a hash of user, host, port, key, known-hosts
//! file and the rendered ssh options (so a run with other options never reuses
//! a master made with different ones). Inside: `target` (a line naming it, for
//! `baton connections`), `config` (the master's ssh config) and the crate's
//! `.ssh-connection*/{master,log}`.
//!
//! A master is found by its control socket and checked with the multiplex
//! protocol's alive check (what `ssh -O check` sends); it is closed with
//! `ssh -O exit` on its socket, never by guessing PIDs. Host key checking is
//! unchanged: the master was opened with the strict (or accept-new) check,
//! and a reused one is the very connection that passed it.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::transport::{ConnectionSpec, TransportError};

/// The crate's prefix for a master's directory inside the target directory.
pub const MASTER_DIR_PREFIX: &str = ".ssh-connection";

/// Persisted masters live here unless the spec names another root:
/// `$BATON_CONTROL_DIR`, else `<short tmp>/baton-persist-<uid>`.
pub fn default_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("BATON_CONTROL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    super::control_root().join(format!("baton-persist-{uid}"))
}

/// Create `dir` (mode 0700) or check that the existing one is a real
/// directory owned by this user and closed to others.
pub fn ensure_private_dir(dir: &Path) -> Result<(), TransportError> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(TransportError::Other(format!(
                "cannot create the connection directory {}: {e}",
                dir.display()
            )))
        }
    }
    check_private_dir(dir)
}

/// Check that an existing `dir` is a real directory owned by this user and
/// closed to others; the one refusal for a run and `baton connections`.
pub fn check_private_dir(dir: &Path) -> Result<(), TransportError> {
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| TransportError::Other(format!("cannot inspect {}: {e}", dir.display())))?;
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    if !meta.file_type().is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(TransportError::Other(format!(
            "the connection directory {} is not a private directory of this user (it must be a directory owned by uid {uid} with mode 0700); remove it, or set BATON_CONTROL_DIR to another path",
            dir.display()
        )));
    }
    Ok(())
}

/// The target directory's name: 16 hex digits of SHA-256 over everything that
/// makes two connections differ.
pub fn key(spec: &ConnectionSpec, config_text: &str) -> String {
    let mut hash = Sha256::new();
    let fields = [
        spec.user.clone().unwrap_or_default(),
        spec.address.clone(),
        spec.port.map(|p| p.to_string()).unwrap_or_default(),
        path_text(spec.private_key.as_deref()),
        path_text(spec.known_hosts.as_deref()),
        path_text(spec.ssh_config.as_deref()),
        spec.accept_new_host_keys.to_string(),
        config_text.to_string(),
    ];
    for field in fields {
        hash.update((field.len() as u64).to_le_bytes());
        hash.update(field.as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
}

fn path_text(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_default()
}

/// What `baton connections` prints for a target.
pub fn describe(spec: &ConnectionSpec) -> String {
    let user = spec
        .user
        .as_deref()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let port = spec.port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{} ({user}{}{port})", spec.host_name, spec.address)
}

/// The control sockets of the masters under a target directory, newest first.
pub fn sockets(target_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = master_dirs(target_dir)
        .into_iter()
        .map(|dir| dir.join("master"))
        .filter_map(|p| {
            let meta = std::fs::symlink_metadata(&p).ok()?;
            Some((meta.modified().ok()?, p))
        })
        .collect();
    found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// Remove a dead master's directory (its socket no longer answers).
pub fn remove_master_dir(socket: &Path) {
    if let Some(dir) = socket.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Why a master whose socket no longer answers died, for the run's warning:
/// ssh's last line in its log, if it wrote one (`kill -9` leaves none).
pub fn dead_master(socket: &Path) -> String {
    let why = last_log_line(&socket.with_file_name("log"))
        .map(|line| format!(", its log ends with \"{line}\""))
        .unwrap_or_else(|| ", its log says nothing: killed, or ended without cleaning up".into());
    format!("its socket {} no longer answered{why}", socket.display())
}

/// Remove the master directories of `target_dir` that hold no socket: an
/// ssh that ended (its idle time passed, its link was lost, or it failed to
/// connect) removes its socket and leaves the directory with its log. Only
/// call it while holding the target's lock ([`lock_target`]), or another
/// run's master may be connecting there. Returns, for those whose log
/// says why they ended (a master that just timed out its idle time says
/// nothing), that reason.
pub fn take_ended_masters(target_dir: &Path) -> Vec<String> {
    let mut reasons = Vec::new();
    for dir in master_dirs(target_dir) {
        if std::fs::symlink_metadata(dir.join("master")).is_ok() {
            continue;
        }
        if let Some(line) = last_log_line(&dir.join("log")) {
            reasons.push(format!("it had ended: \"{line}\""));
        } else if let Some(early) = ended_early(target_dir, &dir) {
            reasons.push(early);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    reasons
}

/// The file recording a run's last connection through the target's master:
/// its modification time, and the idle time (`ControlPersist`) in seconds.
pub const USED_FILE: &str = "used";

/// Record that a run connects through the target's master now, with idle
/// time `idle`: a master that ends silently before that idle time has
/// passed did not end by its idle time (see [`take_ended_masters`]).
pub fn mark_used(target_dir: &Path, idle: Duration) {
    let _ = std::fs::write(target_dir.join(USED_FILE), idle.as_secs().to_string());
}

/// A master that ended without a word in its log, before its idle time
/// could have passed since a run last connected through it: the server
/// closed the connection (sshd killed, host rebooted). The master's
/// directory changed last when ssh removed its socket.
fn ended_early(target_dir: &Path, master_dir: &Path) -> Option<String> {
    let used = target_dir.join(USED_FILE);
    let idle: u64 = std::fs::read_to_string(&used).ok()?.trim().parse().ok()?;
    let used_at = std::fs::metadata(&used).ok()?.modified().ok()?;
    let ended_at = std::fs::metadata(master_dir).ok()?.modified().ok()?;
    let after = ended_at.duration_since(used_at).unwrap_or_default();
    (after + Duration::from_secs(1) < Duration::from_secs(idle)).then(|| {
        format!(
            "it ended {} s after a run last connected through it, before its idle time of {idle} s, and its log says nothing: the server closed the connection",
            after.as_secs()
        )
    })
}

/// The warning for a target whose persisted masters died (`reasons` from
/// [`dead_master`] and [`take_ended_masters`]).
pub fn died_note(reasons: &[String]) -> String {
    format!(
        "the persisted ssh master from an earlier run had died ({})",
        reasons.join("; ")
    )
}

fn master_dirs(target_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(target_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(MASTER_DIR_PREFIX)
        })
        .map(|e| e.path())
        .collect()
}

/// The last non-empty line of an ssh log (at most 300 characters of it).
fn last_log_line(log: &Path) -> Option<String> {
    let text = std::fs::read(log).ok()?;
    let text = String::from_utf8_lossy(&text);
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    Some(line.chars().take(300).collect())
}

/// The target's lock (`lock`, an advisory `flock`), held while one run
/// finds, cleans up or launches its master; waits at most `wait`.
///
/// Errors: the lock file cannot be opened, or another run held it all along.
pub async fn lock_target(
    target_dir: &Path,
    wait: Duration,
) -> Result<std::fs::File, TransportError> {
    let path = target_dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| TransportError::Other(format!("cannot open {}: {e}", path.display())))?;
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(TransportError::Other(format!(
                    "another baton run held {} for {} s while connecting to the same target; try again, or close it with `baton connections --close`",
                    path.display(),
                    wait.as_secs()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(TransportError::Other(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )))
            }
        }
    }
}

/// One persisted master, as `baton connections` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persisted {
    /// The target line (`host (user@address:port)`).
    pub target: String,
    pub socket: PathBuf,
    /// Whether it answered `ssh -O check`.
    pub alive: bool,
}

/// Every persisted master under `root`, checked with `ssh -O check`.
pub async fn list(root: &Path) -> Vec<Persisted> {
    let mut out = Vec::new();
    for (target, socket) in all_sockets(root) {
        let alive = control(&socket, "check").await;
        out.push(Persisted {
            target,
            socket,
            alive,
        });
    }
    out
}

/// Close every persisted master under `root` with `ssh -O exit` on its
/// socket, and remove the directories. Returns what was there.
pub async fn close_all(root: &Path) -> Vec<Persisted> {
    let mut out = Vec::new();
    for (target, socket) in all_sockets(root) {
        let alive = control(&socket, "exit").await;
        remove_master_dir(&socket);
        out.push(Persisted {
            target,
            socket,
            alive,
        });
    }
    // Then every target directory left without a master (those whose
    // masters ended by themselves too), unless a run is connecting there.
    for dir in target_dirs(root) {
        let Ok(lock) = std::fs::File::open(dir.join("lock")) else {
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        };
        if lock.try_lock().is_ok() {
            take_ended_masters(&dir);
            if sockets(&dir).is_empty() {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    out
}

fn target_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn all_sockets(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for dir in target_dirs(root) {
        let target = std::fs::read_to_string(dir.join("target"))
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|_| dir.display().to_string());
        for socket in sockets(&dir) {
            out.push((target.clone(), socket));
        }
    }
    out
}

/// `ssh -S SOCKET -O COMMAND`; whether ssh said it worked (5 s at most).
async fn control(socket: &Path, command: &str) -> bool {
    let status = tokio::process::Command::new("ssh")
        .arg("-S")
        .arg(socket)
        .args(["-O", command, "baton-master"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), status).await,
        Ok(Ok(s)) if s.success()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_differs_by_user_port_and_options() {
        let mut a = ConnectionSpec::local("db1");
        a.address = "10.0.0.1".into();
        let base = key(&a, "Host *\n");
        assert_eq!(base.len(), 16);
        assert_eq!(base, key(&a, "Host *\n"));
        let mut b = a.clone();
        b.port = Some(2222);
        assert_ne!(base, key(&b, "Host *\n"));
        let mut c = a.clone();
        c.user = Some("hvr".into());
        assert_ne!(base, key(&c, "Host *\n"));
        assert_ne!(base, key(&a, "Host *\n  Ciphers aes128-ctr\n"));
    }

    #[test]
    fn ended_masters_are_removed_and_their_last_words_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path();
        let lost = target.join(format!("{MASTER_DIR_PREFIX}aaa"));
        std::fs::create_dir(&lost).unwrap();
        std::fs::write(
            lost.join("log"),
            "Warning: x\r\nTimeout, server 10.0.0.1 not responding.\r\n\n",
        )
        .unwrap();
        let idle = target.join(format!("{MASTER_DIR_PREFIX}bbb"));
        std::fs::create_dir(&idle).unwrap();
        std::fs::write(idle.join("log"), "").unwrap();
        let live = target.join(format!("{MASTER_DIR_PREFIX}ccc"));
        std::fs::create_dir(&live).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(live.join("master")).unwrap();
        let reasons = take_ended_masters(target);
        assert_eq!(
            reasons,
            ["it had ended: \"Timeout, server 10.0.0.1 not responding.\""]
        );
        assert!(!lost.exists() && !idle.exists() && live.exists());
        // A silent end soon after a run used the master, before its idle
        // time: not its idle time, so it is reported too.
        mark_used(target, Duration::from_secs(600));
        let quiet = target.join(format!("{MASTER_DIR_PREFIX}ddd"));
        std::fs::create_dir(&quiet).unwrap();
        let early = take_ended_masters(target);
        assert_eq!(early.len(), 1, "{early:?}");
        assert!(
            early[0].contains("before its idle time of 600 s"),
            "{early:?}"
        );
        mark_used(target, Duration::from_secs(1));
        std::fs::create_dir(&quiet).unwrap();
        assert!(take_ended_masters(target).is_empty());
        let note = died_note(&reasons);
        assert!(
            note.starts_with("the persisted ssh master from an earlier run had died (it had ended"),
            "{note}"
        );
        // A socket nobody listens on: killed without a word.
        let dead = dead_master(&live.join("master"));
        assert!(
            dead.contains("no longer answered") && dead.contains("killed"),
            "{dead}"
        );
    }

    #[tokio::test]
    async fn a_target_lock_is_held_by_one_run_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock_target(tmp.path(), Duration::from_secs(1))
            .await
            .unwrap();
        let err = lock_target(tmp.path(), Duration::from_millis(100))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("another baton run held"), "{err}");
        drop(held);
        lock_target(tmp.path(), Duration::from_millis(100))
            .await
            .unwrap();
    }

    #[test]
    fn a_directory_open_to_others_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("not a private directory"), "{err}");
        let link = tmp.path().join("l");
        std::os::unix::fs::symlink(tmp.path(), &link).unwrap();
        assert!(ensure_private_dir(&link).is_err());
    }
}
