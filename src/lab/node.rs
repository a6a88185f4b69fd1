//! One lab node: its disk (overlay upper dirs), its init process and its sshd.
//!
//! A node is a process tree started by `ip netns exec NS unshare --mount --uts
//! --ipc --pid ...`: PID 1 is a small shell script (`init.sh`, below) that
//! mounts the node's own views of the filesystem, starts sshd and then reaps
//! orphans. Killing it ends every process of the node; the kernel then drops
//! the node's mounts with its mount namespace, so nothing is mounted on the host.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::preflight::{Tool, Tools};
use super::process::{self, ProcRecord};
use super::state::{LabState, NodeRecord};
use super::subnet::Subnet;
use super::LabError;

/// Host trees each node sees through its own copy-on-write overlay.
pub const OVERLAID: &[&str] = &["etc", "opt", "var", "home"];
pub const HOST_KEY: &str = "etc/ssh/ssh_host_ed25519_key";
const INIT_SCRIPT_NAME: &str = "init.sh";
const LOG_NAME: &str = "init.log";
/// How long `up` waits for the next node's sshd to listen. The clock
/// restarts each time a node comes up: 100 nodes booting at once on two
/// busy cores take longer than 15 s in all, but never 15 s without one of
/// them coming up.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The deadline of [`wait_ready`]: `timeout` after the start or after the
/// last node that came up, whichever is later.
struct ReadyClock {
    timeout: Duration,
    deadline: Instant,
}

impl ReadyClock {
    fn new(now: Instant, timeout: Duration) -> ReadyClock {
        ReadyClock {
            timeout,
            deadline: now + timeout,
        }
    }

    /// A node came up at `now`.
    fn progress(&mut self, now: Instant) {
        self.deadline = now + self.timeout;
    }

    fn expired(&self, now: Instant) -> bool {
        now >= self.deadline
    }
}

const INIT_SCRIPT: &str = r#"# PID 1 of a baton lab node (written by `baton lab up`).
# Gives the node its own filesystem view, starts sshd and the node's
# /etc/rc.local boot hook, then reaps orphans.
set -eu
name=$1 disk_on_host=$2 lab_dir=$3 sshd=$4
echo "$name" > /proc/sys/kernel/hostname

# This mount namespace is a copy of the host's, with the /run/netns handles of
# every namespace on the machine. Drop them, or another lab's namespaces would
# outlive their deletion for as long as this node runs.
sed -n 's/^\([^ ]* \)\{4\}\([^ ]*\) .* - nsfs .*/\2/p' /proc/self/mountinfo |
while read -r m; do umount -n -l "$(printf '%b' "$m")" 2>/dev/null || :; done

# mount -n throughout: plain mount would record the node's mounts in the host's /run/mount/utab.
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
# Reach the node's disk through /run, before the overlays cover paths under /var or /home.
disk=/run/.baton-lab-disk
mkdir "$disk"
mount -n --bind "$disk_on_host" "$disk"
# /root is an overlay on /etc/skel: a fresh home, so a slow host .bashrc does not slow every ssh command.
mount -n -t overlay overlay -o "lowerdir=/etc/skel,upperdir=$disk/upper/root,workdir=$disk/work/root" /root
for d in etc opt var home; do
  [ -d "/$d" ] || continue
  mount -n -t overlay overlay -o "lowerdir=/$d,upperdir=$disk/upper/$d,workdir=$disk/work/$d" "/$d"
done
# The node's boot hook is its own /etc/rc.local (written on the node, never the host's).
boot_hook=no
if [ -x "$disk/upper/etc/rc.local" ]; then boot_hook=yes; fi
umount -n "$disk"
rmdir "$disk"
# The rest of the host's tree is read-only here: no node can change the host or another node.
mount -n -o remount,bind,ro /
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
# Hide the lab directory: the other nodes' disks and the client key.
if [ -d "$lab_dir" ]; then mount -n -t tmpfs -o ro,mode=0755,size=4k tmpfs "$lab_dir"; fi
mkdir -p -m 0755 /run/sshd
mkdir -p -m 1777 /run/lock
# Without PAM, sshd refuses a locked account even for key logins.
if grep -q '^root:!' /etc/shadow; then sed -i 's/^root:![^:]*:/root:*:/' /etc/shadow; fi
# The node's only host key is its own ed25519 key; the host's keys are not the node's.
for t in rsa ecdsa dsa; do rm -f "/etc/ssh/ssh_host_${t}_key" "/etc/ssh/ssh_host_${t}_key.pub"; done
# Check config and key first: a broken sshd then fails `up` at once, not after a timeout.
"$sshd" -t
"$sshd" -D -e &
# Like a real init: run the boot hook once sshd is up (it starts the DBMS and HVR's boot).
if [ "$boot_hook" = yes ]; then /etc/rc.local </dev/null >/var/log/rc.local.log 2>&1 & fi
set +e
while :; do sleep 3600 & wait; done
"#;

/// The node's sshd configuration.
pub fn sshd_config(node: &str) -> String {
    format!(
        "# Written by `baton lab up` for lab node {node}.\n\
         Port 22\n\
         ListenAddress 0.0.0.0\n\
         HostKey /{HOST_KEY}\n\
         PidFile /run/sshd.pid\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         UseDNS no\n\
         MaxSessions 64\n\
         MaxStartups 64:30:256\n\
         # sntrup761 costs ~200 ms per connection; curve25519 is plenty on a lab bridge.\n\
         KexAlgorithms -sntrup761x25519-sha512@openssh.com,sntrup761x25519-sha512\n\
         X11Forwarding no\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         AcceptEnv LANG LC_*\n\
         Subsystem sftp internal-sftp\n"
    )
}

/// The node's /etc/hosts: every lab member by name.
pub fn hosts_file(state: &LabState, subnet: &Subnet) -> String {
    let mut s = String::from(
        "# Written by `baton lab up`.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    );
    s.push_str(&format!("{}\tlab-controller\n", subnet.controller()));
    s.push_str(&format!("{}\tlab-client\n", subnet.client()));
    for n in &state.nodes {
        s.push_str(&format!("{}\t{}\n", n.address, n.name));
    }
    s
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> LabError {
    LabError::Failed(format!("cannot {what} {}: {e}", path.display()))
}

/// A directory with the mode and owner of `like`, the host directory it shadows
/// (an overlay shows the upper dir's own attributes).
fn mkdir_like(path: &Path, like: &Path) -> Result<(), LabError> {
    fs::create_dir(path).map_err(|e| io_err("create", path, e))?;
    let (mode, uid, gid) = match fs::metadata(like) {
        Ok(m) => (m.mode() & 0o7777, m.uid(), m.gid()),
        Err(_) => (0o755, 0, 0),
    };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_err("chmod", path, e))?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| io_err("chown", path, e))
}

fn mkdir_mode(path: &Path, mode: u32) -> Result<(), LabError> {
    fs::create_dir(path).map_err(|e| io_err("create", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_err("chmod", path, e))
}

fn write_mode(path: &Path, text: &str, mode: u32) -> Result<(), LabError> {
    fs::write(path, text).map_err(|e| io_err("write", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_err("chmod", path, e))
}

/// A fresh random machine-id (32 hex digits), so nodes do not share the host's.
fn machine_id() -> Result<String, LabError> {
    let source = Path::new("/proc/sys/kernel/random/uuid");
    fs::read_to_string(source)
        .map(|u| u.trim().replace('-', ""))
        .map_err(|e| io_err("read", source, e))
}

/// Fill a node's (just created, empty) disk: overlay upper/work dirs pre-filled
/// with the node's identity (hostname, hosts, machine-id, sshd config). The host
/// key and root's authorized key come later, so all keys are made in parallel.
pub fn fill_disk(storage: &Path, node: &str, hosts: &str) -> Result<(), LabError> {
    let upper = storage.join("upper");
    let work = storage.join("work");
    mkdir_mode(&upper, 0o755)?;
    mkdir_mode(&work, 0o700)?;
    for d in OVERLAID {
        mkdir_like(&upper.join(d), &Path::new("/").join(d))?;
        mkdir_mode(&work.join(d), 0o700)?;
    }
    mkdir_mode(&upper.join("root"), 0o700)?;
    mkdir_mode(&work.join("root"), 0o700)?;
    let etc = upper.join("etc");
    mkdir_like(&etc.join("ssh"), Path::new("/etc/ssh"))?;
    write_mode(&etc.join("hostname"), &format!("{node}\n"), 0o644)?;
    write_mode(&etc.join("hosts"), hosts, 0o644)?;
    write_mode(
        &etc.join("machine-id"),
        &format!("{}\n", machine_id()?),
        0o444,
    )?;
    write_mode(&etc.join("ssh/sshd_config"), &sshd_config(node), 0o644)?;
    mkdir_mode(&upper.join("root/.ssh"), 0o700)?;
    write_mode(&storage.join(INIT_SCRIPT_NAME), INIT_SCRIPT, 0o644)
}

/// A node's disk, which `up` records before anything needs it.
pub fn disk_of(node: &NodeRecord) -> Result<PathBuf, LabError> {
    node.storage
        .clone()
        .ok_or_else(|| LabError::Failed(format!("node {} has no disk recorded", node.name)))
}

/// Where a node's host key is generated.
pub fn host_key_path(storage: &Path) -> PathBuf {
    storage.join("upper").join(HOST_KEY)
}

/// Let the client key log in as root (sshd's StrictModes wants 0600 in a 0700 dir).
pub fn authorize(storage: &Path, public_key: &str) -> Result<(), LabError> {
    write_mode(
        &storage.join("upper/root/.ssh/authorized_keys"),
        &format!("{}\n", public_key.trim()),
        0o600,
    )
}

/// Start `ssh-keygen` for a new ed25519 key without a passphrase; wait with [`finish_keygen`].
pub fn keygen(tools: &Tools, path: &Path, comment: &str) -> Result<Child, LabError> {
    Command::new(tools.path(Tool::SshKeygen))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Failed(format!("cannot run ssh-keygen: {e}")))
}

/// Wait for a [`keygen`] and return the public key line.
pub fn finish_keygen(child: Child, path: &Path) -> Result<String, LabError> {
    let out = child
        .wait_with_output()
        .map_err(|e| LabError::Failed(format!("ssh-keygen: {e}")))?;
    if !out.status.success() {
        return Err(LabError::Failed(format!(
            "ssh-keygen for {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let public = path.with_file_name(format!(
        "{}.pub",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    ));
    let text = fs::read_to_string(&public).map_err(|e| io_err("read", &public, e))?;
    // Keep `type base64`, drop the comment.
    let key: Vec<&str> = text.split_whitespace().take(2).collect();
    if key.len() != 2 {
        return Err(LabError::Failed(format!(
            "{} holds no public key",
            public.display()
        )));
    }
    Ok(key.join(" "))
}

/// Start a node's init, detached from baton (own session, output to the node's log).
/// The returned child is `unshare`, the node's host-side anchor.
pub fn spawn(
    tools: &Tools,
    node: &NodeRecord,
    storage: &Path,
    lab_dir: &Path,
) -> Result<Child, LabError> {
    let log_path = storage.join(LOG_NAME);
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io_err("open", &log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io_err("open", &log_path, e))?;
    let mut cmd = Command::new(tools.path(Tool::Ip));
    cmd.args(["netns", "exec", &node.netns])
        .arg(tools.path(Tool::Unshare))
        .args([
            "--mount",
            "--propagation",
            "private",
            "--uts",
            "--ipc",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "/bin/sh",
        ])
        .arg(storage.join(INIT_SCRIPT_NAME))
        .arg(&node.name)
        .arg(storage)
        .arg(lab_dir)
        .arg(tools.path(Tool::Sshd))
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid is async-signal-safe; it detaches the node from baton's
    // terminal so a Ctrl-C aimed at a later command never reaches the lab.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| LabError::Failed(format!("cannot start node {}: {e}", node.name)))
}

/// The processes of a node that has come up.
pub struct Started {
    pub init: ProcRecord,
    pub sshd: ProcRecord,
}

/// Whether the process itself holds a socket listening on TCP port 22 (read
/// from /proc, so readiness costs no packets and no sshd log lines).
/// `/proc/PID/net/tcp` lists every socket of the process's network
/// namespace, so a port that listens there proves nothing about this PID: a
/// short-lived `sshd` of the node (the `sshd -t` check) would pass for the
/// listener, and `lab status` later report the node's sshd dead. The socket's
/// inode must be among the process's open files (`socket:[INODE]`).
pub fn listens_on_ssh(pid: i32) -> bool {
    holds_listener(pid, 22)
}

fn holds_listener(pid: i32, port: u16) -> bool {
    let inodes: Vec<String> = ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .flat_map(|t| listening_inodes(&t, port))
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .any(|target| {
            let target = target.to_string_lossy();
            inodes.iter().any(|i| target == format!("socket:[{i}]"))
        })
}

/// The inodes of the sockets listening on `port` in a `/proc/net/tcp` (or
/// tcp6) table: column 2 the local address ending `:PORT` in hex, column 4
/// the state (`0A` is LISTEN), column 10 the inode.
fn listening_inodes(proc_net_tcp: &str, port: u16) -> Vec<String> {
    let port_hex = format!(":{port:04X}");
    proc_net_tcp
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let listens = cols.get(1).is_some_and(|local| local.ends_with(&port_hex))
                && cols.get(3) == Some(&"0A");
            listens
                .then(|| cols.get(9).map(|i| i.to_string()))
                .flatten()
        })
        .filter(|inode| inode != "0")
        .collect()
}

/// The last lines of a node's log, for error messages.
pub fn log_tail(storage: &Path) -> String {
    let path = storage.join(LOG_NAME);
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(&path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(2000)));
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().rev().take(8).collect();
    let tail: Vec<&str> = lines.into_iter().rev().collect();
    if tail.is_empty() {
        format!("(log {} is empty)", path.display())
    } else {
        format!(
            "last lines of {}:\n    {}",
            path.display(),
            tail.join("\n    ")
        )
    }
}

/// One node being started: its name, disk and `unshare` child.
pub struct Starting {
    pub name: String,
    pub storage: PathBuf,
    pub child: Child,
    pub unshare: ProcRecord,
}

/// Command names of a node's processes once they have exec'd (before that,
/// `ip netns exec` is still `ip`, and init is still a forked `unshare`).
const UNSHARE_COMM: &str = "unshare";
const INIT_COMM: &str = "sh";
const SSHD_COMM: &str = "sshd";

impl Starting {
    /// Wait (briefly) for the spawned `ip netns exec` to become `unshare` inside
    /// the node's netns, then record it.
    pub fn new(
        name: &str,
        storage: &Path,
        mut child: Child,
        netns_inode: u64,
    ) -> Result<Starting, LabError> {
        let pid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(rec) = process::record(pid) {
                if rec.comm == UNSHARE_COMM && rec.netns_inode == netns_inode {
                    return Ok(Starting {
                        name: name.to_string(),
                        storage: storage.to_path_buf(),
                        child,
                        unshare: rec,
                    });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(LabError::Failed(format!(
                    "node {name}: `ip netns exec` exited ({status}); {}",
                    log_tail(storage)
                )));
            }
            if Instant::now() >= deadline {
                return Err(LabError::Failed(format!(
                    "node {name}: process {pid} did not enter its namespace in time; {}",
                    log_tail(storage)
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn child_named(parent: i32, comm: &str) -> Option<ProcRecord> {
    process::children(parent)
        .into_iter()
        .filter_map(process::record)
        .find(|r| r.comm == comm)
}

/// Wait until every node's sshd listens; calls `on_started` as each node comes up.
pub fn wait_ready(
    mut starting: Vec<Starting>,
    mut on_started: impl FnMut(&str, Started) -> Result<(), LabError>,
) -> Result<(), LabError> {
    let mut clock = ReadyClock::new(Instant::now(), READY_TIMEOUT);
    while !starting.is_empty() {
        let mut i = 0;
        while i < starting.len() {
            let s = &mut starting[i];
            if let Ok(Some(status)) = s.child.try_wait() {
                return Err(LabError::Failed(format!(
                    "node {}: init exited ({status}) before sshd was ready; {}",
                    s.name,
                    log_tail(&s.storage)
                )));
            }
            let init = child_named(s.unshare.pid, INIT_COMM);
            // The listener, not the first child named sshd: the `sshd -t`
            // check may still be there.
            let sshd = init.as_ref().and_then(|init| {
                process::children(init.pid)
                    .into_iter()
                    .filter_map(process::record)
                    .find(|r| r.comm == SSHD_COMM && listens_on_ssh(r.pid))
            });
            match (init, sshd) {
                (Some(init), Some(sshd)) => {
                    let s = starting.remove(i);
                    clock.progress(Instant::now());
                    on_started(&s.name, Started { init, sshd })?;
                }
                _ => i += 1,
            }
        }
        if starting.is_empty() {
            break;
        }
        if clock.expired(Instant::now()) {
            let names: Vec<&str> = starting.iter().map(|s| s.name.as_str()).collect();
            return Err(LabError::Failed(format!(
                "node(s) {} not ready {}s after the last node came up (or after the start); {}",
                names.join(", "),
                READY_TIMEOUT.as_secs(),
                log_tail(&starting[0].storage)
            )));
        }
        std::thread::sleep(Duration::from_millis(3));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_clock_restarts_as_nodes_come_up() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut clock = ReadyClock::new(t0, 15 * s);
        assert!(!clock.expired(t0 + 14 * s));
        // A hundred nodes, one every 0.4 s: 40 s in all, never 15 s idle.
        for n in 1..=100u32 {
            let now = t0 + n * Duration::from_millis(400);
            assert!(!clock.expired(now), "node {n}");
            clock.progress(now);
        }
        assert!(!clock.expired(t0 + 54 * s));
        assert!(clock.expired(t0 + 55 * s));
    }

    #[test]
    fn listening_socket_is_found_by_port_and_state() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n";
        assert_eq!(listening_inodes(tcp, 22), ["1"]);
        assert!(listening_inodes(tcp, 2222).is_empty());
        let established = tcp.replace(" 0A ", " 01 ");
        assert!(listening_inodes(&established, 22).is_empty());
    }

    #[test]
    fn a_process_that_does_not_hold_the_listening_socket_is_not_the_listener() {
        // A child in this namespace sees the port listening in its
        // /proc/PID/net/tcp but holds no such socket (as the `sshd -t` check
        // beside a node's listener): it must not pass for the listener.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let me = std::process::id() as i32;
        let other = child.id() as i32;
        let verdicts = (holds_listener(me, port), holds_listener(other, port));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(verdicts, (true, false));
        assert!(!holds_listener(i32::MAX, port));
    }

    #[test]
    fn sshd_config_allows_root_by_key_only() {
        let c = sshd_config("bc1");
        for line in [
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "MaxSessions 64",
            "UseDNS no",
            "HostKey /etc/ssh/ssh_host_ed25519_key",
        ] {
            assert!(c.lines().any(|l| l == line), "missing `{line}`");
        }
    }

    #[test]
    fn a_disk_holds_the_node_identity_with_strict_modes() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("bc1");
        fs::create_dir(&disk).unwrap();
        fill_disk(&disk, "bc1", "10.0.0.11\tbc1\n").unwrap();
        authorize(&disk, "ssh-ed25519 AAAAkey").unwrap();
        let read = |p: &str| fs::read_to_string(disk.join(p)).unwrap();
        assert_eq!(read("upper/etc/hostname"), "bc1\n");
        assert_eq!(
            read("upper/root/.ssh/authorized_keys"),
            "ssh-ed25519 AAAAkey\n"
        );
        let mode = |p: &str| fs::metadata(disk.join(p)).unwrap().mode() & 0o777;
        assert_eq!(mode("upper/root"), 0o700);
        assert_eq!(mode("upper/root/.ssh"), 0o700);
        assert_eq!(mode("upper/root/.ssh/authorized_keys"), 0o600);
        assert_eq!(
            mode("upper/etc"),
            fs::metadata("/etc").unwrap().mode() & 0o777
        );
        assert_eq!(read("upper/etc/machine-id").trim().len(), 32);
        assert!(disk.join("work/var").is_dir());
        assert_eq!(
            host_key_path(&disk),
            disk.join("upper/etc/ssh/ssh_host_ed25519_key")
        );
    }
}
