//! A slow node: every process of one lab node frozen and thawed in cycles
//! through cgroup v2's `cgroup.freeze` (Linux 5.2+,
//! https://docs.kernel.org/admin-guide/cgroup-v2.html "cgroup.freeze"),
//! until the fault is cleared. The cycle is the issue's: frozen 200 ms,
//! running 200 ms, five times, then frozen 1 s, running 1 s; again.
//!
//! The node's processes are moved into a cgroup of this drill's own under
//! the v2 hierarchy (on this host `/sys/fs/cgroup/unified`, the hybrid
//! layout; `/sys/fs/cgroup` when it is v2 only): every host process in the
//! node's PID namespace (read inside the node, `readlink /proc/self/ns/pid`).
//! Processes the node forks later (a new SSH session) are born in it. Clearing thaws it and
//! moves them back to the root cgroup they came from, then removes it.
//!
//! [`while_frozen`] freezes a node once, for the length of one action (the
//! disk-full fault's clearing, which copies HVR_CONFIG back while nothing of
//! the node can write to it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::super::setup::LabHandle;

/// (frozen, running) phases of one round.
pub const CYCLE: &[(Duration, Duration)] = &[
    (Duration::from_millis(200), Duration::from_millis(200)),
    (Duration::from_millis(200), Duration::from_millis(200)),
    (Duration::from_millis(200), Duration::from_millis(200)),
    (Duration::from_millis(200), Duration::from_millis(200)),
    (Duration::from_millis(200), Duration::from_millis(200)),
    (Duration::from_secs(1), Duration::from_secs(1)),
];

struct Cycler {
    node: String,
    dir: PathBuf,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The running cycler (one fault at a time per drill).
static RUNNING: Mutex<Option<Cycler>> = Mutex::new(None);

/// The v2 hierarchy's root: where `cgroup.freeze` exists for children.
fn v2_root() -> Result<PathBuf, String> {
    for root in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
        let p = Path::new(root);
        // cgroup.controllers exists only in a v2 hierarchy.
        if p.join("cgroup.controllers").exists() && p.join("cgroup.procs").exists() {
            return Ok(p.to_path_buf());
        }
    }
    Err("no cgroup v2 hierarchy (neither /sys/fs/cgroup/unified nor /sys/fs/cgroup has cgroup.controllers): the slow-node fault needs cgroup v2's cgroup.freeze".into())
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value)
        .map_err(|e| format!("cannot write {value:?} to {}: {e}", path.display()))
}

/// Moves every host process in the PID namespace `ns` (as `readlink
/// /proc/PID/ns/pid` prints it) into the cgroup `dir`; the count moved.
fn move_in(ns: &str, dir: &Path) -> Result<usize, String> {
    let procs = dir.join("cgroup.procs");
    let mut n = 0;
    let entries = std::fs::read_dir("/proc").map_err(|e| format!("cannot read /proc: {e}"))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(link) = std::fs::read_link(entry.path().join("ns/pid")) else {
            continue;
        };
        // A process that ended meanwhile cannot be moved: not an error.
        if link.to_string_lossy() == ns && std::fs::write(&procs, pid).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// Moves every process of `node` into a new cgroup of this drill's,
/// named after `what`. Returns the v2 root, the cgroup and what was moved.
fn enclose(lab: &LabHandle, node: &str, what: &str) -> Result<(PathBuf, PathBuf, String), String> {
    let root = v2_root()?;
    let dir = root.join(format!("baton-{what}-{}-{node}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create the cgroup {}: {e}", dir.display()))?;
    if !dir.join("cgroup.freeze").exists() {
        let _ = std::fs::remove_dir(&dir);
        return Err(format!(
            "{} has no cgroup.freeze (Linux 5.2+ needed)",
            dir.display()
        ));
    }
    // The node's PID namespace, as a process inside it sees it; its
    // processes are then found on the host (the node's /sys has no cgroup
    // hierarchy of the host's to write to).
    let moved = lab
        .lab(&["shell", node], &["readlink", "/proc/self/ns/pid"])
        .and_then(|ns| {
            let ns = ns.trim();
            if !ns.starts_with("pid:[") {
                return Err(format!("{node}: readlink /proc/self/ns/pid printed {ns:?}"));
            }
            match move_in(ns, &dir)? {
                0 => Err(format!(
                    "{node}: no process found in its PID namespace {ns}"
                )),
                n => Ok(format!("{n} process(es)")),
            }
        });
    match moved {
        Ok(m) => Ok((root, dir, m)),
        Err(e) => {
            let _ = release(&root, &dir);
            Err(e)
        }
    }
}

/// Runs `f` with every process of `node` frozen, and thaws them after it,
/// whatever `f` returned. Processes `f` starts in the node (`baton lab
/// shell`) are born outside the cgroup, so they run. The freeze is
/// awaited (`cgroup.events` says `frozen 1`, at most 2 s) before `f` runs.
/// Where the node cannot be frozen (no cgroup v2 freezer), `f` runs
/// anyway and its output says so: the fault is then as it was before the
/// freeze was added, not skipped.
pub fn while_frozen(
    lab: &LabHandle,
    node: &str,
    f: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let (root, dir) = match enclose(lab, node, "frozen") {
        Ok((root, dir, _)) => (root, dir),
        Err(why) => return unfrozen(why, f),
    };
    let frozen = write(&dir.join("cgroup.freeze"), "1").and_then(|()| {
        for _ in 0..100 {
            let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
            if events.lines().any(|l| l.trim() == "frozen 1") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("{node}: its processes did not freeze within 2 s"))
    });
    if let Err(why) = frozen {
        release(&root, &dir)?;
        return unfrozen(why, f);
    }
    let result = f();
    let released = release(&root, &dir);
    let value = result?;
    released.map(|()| value)
}

/// `f` run without the freeze, its output saying why.
fn unfrozen(why: String, f: impl FnOnce() -> Result<String, String>) -> Result<String, String> {
    f().map(|out| format!("{} (run unfrozen: {why})", out.trim_end()))
}

/// Starts freezing `node` in cycles. Returns what was done.
pub fn start(lab: &LabHandle, node: &str) -> Result<String, String> {
    let mut running = RUNNING
        .lock()
        .map_err(|_| "the slow-node state is poisoned".to_string())?;
    if let Some(c) = running.as_ref() {
        return Err(format!("{} is slowed already", c.node));
    }
    let (_, dir, moved) = enclose(lab, node, "slow")?;
    let stop = Arc::new(AtomicBool::new(false));
    let freeze = dir.join("cgroup.freeze");
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        'cycles: loop {
            for (frozen, running) in CYCLE {
                if flag.load(Ordering::SeqCst) {
                    break 'cycles;
                }
                let _ = std::fs::write(&freeze, "1");
                sleep_unless(&flag, *frozen);
                let _ = std::fs::write(&freeze, "0");
                sleep_unless(&flag, *running);
            }
        }
        let _ = std::fs::write(&freeze, "0");
    });
    *running = Some(Cycler {
        node: node.to_string(),
        dir: dir.clone(),
        stop,
        thread,
    });
    Ok(format!(
        "{node}: {moved} in {}, frozen/running 200/200 ms x5 then 1/1 s, repeated",
        dir.display()
    ))
}

fn sleep_unless(flag: &AtomicBool, d: Duration) {
    let step = Duration::from_millis(20);
    let mut left = d;
    while !left.is_zero() && !flag.load(Ordering::SeqCst) {
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
}

/// Thaws the node's cgroup, moves its processes back to the root cgroup and
/// removes it.
fn release(root: &Path, dir: &Path) -> Result<(), String> {
    if dir.join("cgroup.freeze").exists() {
        write(&dir.join("cgroup.freeze"), "0")?;
    }
    // A process forked after cgroup.procs was read is born inside the
    // cgroup, and the kernel empties a cgroup asynchronously after its last
    // exit: so move whatever is listed on every try, for up to 5 s (under
    // load a 1 s retry left busy cgroups behind).
    for _ in 0..250 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.split_whitespace() {
            // A process that ended meanwhile is gone from both: not an error.
            let _ = std::fs::write(root.join("cgroup.procs"), pid);
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    std::fs::remove_dir(dir).map_err(|e| format!("cannot remove the cgroup {}: {e}", dir.display()))
}

/// Clears the fault on `node`: stops the cycles, thaws, releases.
/// Nothing to clear (the injection failed) is not an error.
pub fn stop(_lab: &LabHandle, node: &str) -> Result<(), String> {
    let cycler = RUNNING
        .lock()
        .map_err(|_| "the slow-node state is poisoned".to_string())?
        .take();
    let Some(c) = cycler else {
        return Ok(());
    };
    c.stop.store(true, Ordering::SeqCst);
    let _ = c.thread.join();
    if c.node != node {
        return Err(format!("{} was slowed, not {node}", c.node));
    }
    release(&v2_root()?, &c.dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_has_both_periods() {
        assert!(CYCLE.iter().any(|c| c.0 == Duration::from_millis(200)));
        assert!(CYCLE.iter().any(|c| c.0 == Duration::from_secs(1)));
    }

    #[test]
    fn releasing_moves_out_what_was_forked_inside_and_removes_the_cgroup() {
        if !super::super::root_or_skip() {
            return;
        }
        let root = v2_root().unwrap();
        let dir = root.join(format!("baton-test-release-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        // A parent forking a child that outlives any short retry, every
        // 10 ms: children keep being born inside while it is released.
        let mut forker = std::process::Command::new("sh")
            .args(["-c", "while :; do sleep 3 & sleep 0.01; done"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = forker.id().to_string();
        write(&dir.join("cgroup.procs"), &pid).unwrap();
        write(&dir.join("cgroup.freeze"), "1").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        write(&dir.join("cgroup.freeze"), "0").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let released = release(&root, &dir);
        let alive = forker.try_wait().unwrap().is_none();
        let home = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let _ = forker.kill();
        let _ = forker.wait();
        if released.is_err() {
            // Leave no cgroup behind: the last child ends within 3 s.
            std::thread::sleep(Duration::from_millis(3200));
            let _ = std::fs::remove_dir(&dir);
        }
        released.unwrap();
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(alive, "releasing must not end the processes");
        assert!(!home.contains("baton-test-release"), "{home}");
    }

    #[test]
    fn a_namespace_nobody_is_in_moves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(move_in("pid:[1]", dir.path()).unwrap(), 0);
        assert!(!dir.path().join("cgroup.procs").exists());
    }
}
