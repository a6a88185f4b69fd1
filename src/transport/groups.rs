//! The process groups baton's tasks run in, here and on the hosts, so that
//! "quit at once" (a second Ctrl-C or SIGTERM) can end them instead of leaving
//! them running.
//!
//! Every task script runs as the leader of its own process group (and, on a
//! host, its own session through `setsid`): locally `sh` is spawned with
//! `process_group(0)`; over SSH the script's first act is to report its PID
//! (= PGID = SID) on stderr, in a marker line carrying the request's nonce.
//! While the script runs its group is registered here; [`kill_all`] sends
//! TERM and then KILL to every registered group (on a host through a short
//! command over the host's master connection) and then tells the SSH masters
//! to exit, so nothing baton started outlives it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Something baton started that must not outlive a quit.
pub enum Group {
    /// A local script's process group.
    Local { pgid: i32 },
    /// A script's process group and session on a host, reached over `session`.
    Remote {
        session: Arc<openssh::Session>,
        pgid: i32,
    },
    /// An SSH master connection (its control socket).
    Master { control_socket: PathBuf },
}

static GROUPS: Mutex<BTreeMap<u64, Group>> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

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

/// For the persistent worker: `sh -c MARKED_EVAL sh SCRIPT NONCE` writes the
/// marker and runs SCRIPT in the same shell, sparing the `exec` of a second
/// `sh` per task. `set --` first, so the script sees what `sh -c SCRIPT`
/// would give it: `$0` is `sh`, no positional parameters, `$$` its own PID.
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

/// Ends every registered group and SSH master. Returns how many task groups
/// were signalled (local and remote).
pub async fn kill_all() -> usize {
    let groups: Vec<Group> = match GROUPS.lock() {
        Ok(mut groups) => std::mem::take(&mut *groups).into_values().collect(),
        Err(_) => return 0,
    };
    end(groups).await
}

/// TERM, then KILL, to each group; then the masters' exit.
async fn end(groups: Vec<Group>) -> usize {
    let mut count = 0;
    let mut remote = Vec::new();
    let mut masters = Vec::new();
    for group in groups {
        match group {
            Group::Local { pgid } => {
                count += 1;
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
                count += 1;
                remote.push(tokio::spawn(async move {
                    let mut kill = session.raw_command(remote_kill_command(pgid));
                    let _ = tokio::time::timeout(Duration::from_secs(5), kill.status()).await;
                }));
            }
            Group::Master { control_socket } => masters.push(control_socket),
        }
    }
    for task in remote {
        let _ = task.await;
    }
    // The masters persist on their own (ControlPersist); with them gone, each
    // host's sshd ends the persistent worker shells too.
    for socket in masters {
        let exit = tokio::process::Command::new("ssh")
            .arg("-S")
            .arg(&socket)
            .args(["-O", "exit", "baton-master"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(5), exit).await;
    }
    count
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
        assert_eq!(end(vec![Group::Local { pgid }]).await, 1);
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
