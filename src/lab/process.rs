//! Host-side processes of the lab, identified so that a recycled PID can never
//! be mistaken for ours: PID + start time + command name + network namespace.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A process the lab started, as seen from the root PID namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcRecord {
    pub pid: i32,
    /// Clock ticks since boot (field 22 of /proc/PID/stat).
    pub start_time: u64,
    pub comm: String,
    /// Inode of the network namespace the process runs in.
    pub netns_inode: u64,
}

/// The parts of /proc/PID/stat the lab uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub start_time: u64,
}

pub fn parse_stat(text: &str) -> Option<Stat> {
    // The command name may itself contain spaces and parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let state = rest.first()?.chars().next()?;
    let ppid = rest.get(1)?.parse().ok()?;
    // Field 22 overall; `rest` starts at field 3.
    let start_time = rest.get(19)?.parse().ok()?;
    Some(Stat {
        comm,
        state,
        ppid,
        start_time,
    })
}

pub fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Inode of a process's network namespace; None for zombies and the vanished.
pub fn netns_inode(pid: i32) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| m.ino())
}

/// Inode of a named network namespace (`/run/netns/NAME` is a bind of its nsfs file).
pub fn named_netns_inode(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.ino())
}

pub fn record(pid: i32) -> Option<ProcRecord> {
    let st = stat(pid)?;
    Some(ProcRecord {
        pid,
        start_time: st.start_time,
        comm: st.comm,
        netns_inode: netns_inode(pid)?,
    })
}

/// Whether the recorded process is still that very process, alive.
pub fn is_alive(rec: &ProcRecord) -> bool {
    match stat(rec.pid) {
        Some(st) => {
            st.state != 'Z'
                && st.start_time == rec.start_time
                && st.comm == rec.comm
                && netns_inode(rec.pid) == Some(rec.netns_inode)
        }
        None => false,
    }
}

/// Direct children of a process.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<i32>().ok()),
                );
            }
        }
    }
    out
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every live process in the network namespace with this inode.
pub fn in_netns(inode: u64) -> Vec<i32> {
    let me = std::process::id() as i32;
    all_pids()
        .into_iter()
        .filter(|&pid| pid != me && netns_inode(pid) == Some(inode))
        .collect()
}

/// SIGKILL, only if `pid` is still the recorded process.
pub fn kill_recorded(rec: &ProcRecord) -> bool {
    is_alive(rec) && kill(rec.pid)
}

/// SIGKILL a PID the caller has just verified.
pub fn kill(pid: i32) -> bool {
    // SAFETY: kill(2) with a positive PID signals exactly that process.
    pid > 0 && unsafe { libc::kill(pid, libc::SIGKILL) } == 0
}

/// Whether the process has not finished exiting. Weaker than [`is_alive`] on
/// purpose: an exiting process drops its namespaces before it becomes a zombie.
fn not_yet_exited(rec: &ProcRecord) -> bool {
    stat(rec.pid)
        .is_some_and(|st| st.start_time == rec.start_time && !matches!(st.state, 'Z' | 'X'))
}

/// Wait until every record has exited (or is a zombie); returns those still running at the deadline.
pub fn wait_gone(records: &[ProcRecord], timeout: Duration) -> Vec<ProcRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let alive: Vec<ProcRecord> = records
            .iter()
            .filter(|r| not_yet_exited(r))
            .cloned()
            .collect();
        if alive.is_empty() || Instant::now() >= deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_survives_odd_command_names() {
        let line =
            "4242 (sh (x) y) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 1 0";
        let st = parse_stat(line).unwrap();
        assert_eq!(st.comm, "sh (x) y");
        assert_eq!(st.state, 'S');
        assert_eq!(st.ppid, 17);
        assert_eq!(st.start_time, 987654);
        assert_eq!(parse_stat("12 (x) S"), None);
    }

    #[test]
    fn a_record_matches_only_its_own_live_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let rec = record(pid).unwrap();
        assert_eq!(rec.comm, "sleep");
        assert!(is_alive(&rec));
        assert!(children(std::process::id() as i32).contains(&pid));
        let recycled = ProcRecord {
            start_time: rec.start_time + 1,
            ..rec.clone()
        };
        assert!(
            !is_alive(&recycled),
            "a different start time means another process"
        );
        assert!(!kill_recorded(&recycled));
        assert!(
            is_alive(&rec),
            "refusing the impostor must not touch the real one"
        );
        assert!(kill_recorded(&rec));
        child.wait().unwrap();
        assert!(!is_alive(&rec));
        assert!(wait_gone(&[rec], Duration::from_millis(10)).is_empty());
    }
}
