//! `baton lab down`: remove exactly what the state file records, in an order
//! that works for a whole lab and for any half of one.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::dir;
use super::netns::{self, Ip};
use super::preflight::{self, Tool};
use super::process::{self, named_netns_inode, ProcRecord};
use super::state::{LabState, NetnsRecord};
use super::LabError;

const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// `prefix` is only used to point at namespaces that look like a lab's but
/// are not recorded in `lab_dir` (they are left alone).
pub fn down(lab_dir: &Path, prefix: &str) -> Result<(), LabError> {
    let started = Instant::now();
    let tools = preflight::check(&[Tool::Ip])?;
    let ip = Ip::new(&tools);
    let recorded = if lab_dir.is_dir() {
        let lock = dir::lock(lab_dir)?;
        LabState::load(lab_dir)?.map(|s| (s, lock))
    } else {
        None
    };
    let Some((state, lock)) = recorded else {
        say!(
            "no lab recorded in {}; nothing to remove",
            lab_dir.display()
        );
        let strays = unrecorded_namespaces(prefix);
        if !strays.is_empty() {
            let _ = writeln!(
                std::io::stderr().lock(),
                "baton lab down: note: namespaces {} exist but are not recorded in {}; if they are a lab's, pass that lab's --dir (or remove them with `ip netns delete`)",
                strays.join(", "),
                lab_dir.display()
            );
        }
        return Ok(());
    };
    let mut r = Removal::default();
    let mut recorded = Vec::new();
    for n in &state.nodes {
        recorded.extend(
            [&n.unshare, &n.init, &n.sshd]
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    let killed = match stop_processes(&recorded, &state.netns) {
        Ok(k) => k,
        Err(e) => {
            r.errors.push(e);
            0
        }
    };
    r.links(&state, &ip);
    r.namespaces(&state, &ip);
    r.disks(&state);
    r.files(&state);
    let Removal {
        errors,
        notes,
        links,
        namespaces,
        disks,
        files,
    } = r;
    for note in &notes {
        let _ = writeln!(std::io::stderr().lock(), "baton lab down: {note}");
    }
    if !errors.is_empty() {
        return Err(LabError::Failed(format!(
            "could not remove everything:\n  - {}\nthe record stays in {}; run `baton lab down` again once fixed",
            errors.join("\n  - "),
            state.state_path().display()
        )));
    }
    std::fs::remove_file(state.state_path()).map_err(|e| {
        LabError::Failed(format!(
            "cannot remove {}: {e}",
            state.state_path().display()
        ))
    })?;
    drop(lock);
    dir::remove_if_empty(&state.created_dirs);
    say!(
        "lab {} removed: {killed} process(es), {namespaces} namespace(s), {links} root veth, {disks} disk(s), {files} file(s) in {:.2} s",
        state.prefix,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What `down` removed, and what it could not (each step goes on after an
/// error, so one stuck item does not leave everything else behind).
#[derive(Default)]
struct Removal {
    errors: Vec<String>,
    notes: Vec<String>,
    links: usize,
    namespaces: usize,
    disks: usize,
    files: usize,
}

impl Removal {
    fn links(&mut self, state: &LabState, ip: &Ip) {
        let Some(veth) = &state.host_veth else { return };
        if ip.root_link_exists(veth) {
            match ip.run(&["link", "del", "dev", veth]) {
                Ok(_) => self.links += 1,
                Err(e) => self.errors.push(e.to_string()),
            }
        }
    }

    /// Only a namespace whose inode is the one recorded at `up` is deleted.
    fn namespaces(&mut self, state: &LabState, ip: &Ip) {
        for ns in state.netns.iter().rev() {
            let path = netns::netns_path(&ns.name);
            match (named_netns_inode(&path), ns.inode) {
                (None, _) => {}
                (Some(now), Some(then)) if now != then => self.notes.push(format!(
                    "left network namespace {}: it is not the one this lab created",
                    ns.name
                )),
                _ => match ip.run(&["netns", "delete", &ns.name]) {
                    Ok(_) => self.namespaces += 1,
                    Err(e) => self.errors.push(e.to_string()),
                },
            }
        }
    }

    /// A disk with something still mounted inside is left alone.
    fn disks(&mut self, state: &LabState) {
        for n in &state.nodes {
            let Some(disk) = &n.storage else { continue };
            if !disk.exists() {
                continue;
            }
            if let Some(m) = mount_under(disk) {
                self.errors.push(format!(
                    "not removing {}: {m} is mounted inside it",
                    disk.display()
                ));
                continue;
            }
            match std::fs::remove_dir_all(disk) {
                Ok(()) => self.disks += 1,
                Err(e) => self
                    .errors
                    .push(format!("cannot remove {}: {e}", disk.display())),
            }
        }
    }

    fn files(&mut self, state: &LabState) {
        for f in &state.files {
            match std::fs::remove_file(f) {
                Ok(()) => self.files += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => self
                    .errors
                    .push(format!("cannot remove {}: {e}", f.display())),
            }
        }
    }
}

/// Named network namespaces that look like a lab with this prefix.
fn unrecorded_namespaces(prefix: &str) -> Vec<String> {
    let lab_like = |name: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|role| {
                role == "net"
                    || role == "client"
                    || role
                        .strip_prefix("bc")
                        .is_some_and(|n| n.parse::<u32>().is_ok())
            })
    };
    let mut names: Vec<String> = std::fs::read_dir(netns::NETNS_DIR)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| lab_like(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// SIGKILL the recorded processes that are still themselves, and every process
/// inside the lab's own network namespaces (init, sshd, their children, shells
/// entered with `lab shell`). Returns how many were killed.
pub fn stop_processes(
    recorded: &[ProcRecord],
    namespaces: &[NetnsRecord],
) -> Result<usize, String> {
    let mut victims: Vec<ProcRecord> = recorded
        .iter()
        .filter(|r| process::is_alive(r))
        .cloned()
        .collect();
    for ns in namespaces {
        let Some(inode) = ns.inode else { continue };
        // An inode is only proof while the name still points at it; a freed
        // namespace's inode number can be reused by someone else's.
        if named_netns_inode(&netns::netns_path(&ns.name)) != Some(inode) {
            continue;
        }
        for pid in process::in_netns(inode) {
            if let Some(rec) = process::record(pid) {
                if rec.netns_inode == inode && !victims.iter().any(|v| v.pid == pid) {
                    victims.push(rec);
                }
            }
        }
    }
    let mut killed = 0;
    for v in &victims {
        if process::kill_recorded(v) {
            killed += 1;
        }
    }
    let left = process::wait_gone(&victims, KILL_TIMEOUT);
    if left.is_empty() {
        Ok(killed)
    } else {
        let pids: Vec<String> = left
            .iter()
            .map(|r| format!("{} ({})", r.pid, r.comm))
            .collect();
        Err(format!(
            "process(es) still running after SIGKILL: {}",
            pids.join(", ")
        ))
    }
}

/// The first host mount point at or below `path`, if any.
fn mount_under(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mount_point_under(&text, path)
}

fn mount_point_under(mountinfo: &str, path: &Path) -> Option<String> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mount_path)
        .find(|m| Path::new(m).starts_with(path))
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_inside_a_disk_are_found_even_with_escaped_names() {
        let info = "22 27 0:21 / /proc rw - proc proc rw\n\
                    90 27 0:50 / /srv/my\\040lab/nodes/bc1/x rw - tmpfs tmpfs rw\n";
        assert_eq!(
            mount_point_under(info, Path::new("/srv/my lab/nodes/bc1")),
            Some("/srv/my lab/nodes/bc1/x".to_string())
        );
        assert_eq!(
            mount_point_under(info, Path::new("/srv/my lab/nodes/bc2")),
            None
        );
        assert_eq!(
            mount_point_under(info, Path::new("/pro")),
            None,
            "path prefix, not string prefix"
        );
    }
}
