//! A real OpenSSH server on 127.0.0.1 for integration tests.
//!
//! Use it from any file under `tests/` with
//!
//! ```ignore
//! mod support;
//! use support::sshd::TestSshd;
//! ```
//!
//! `TestSshd::start()` runs `sshd -D -e` on a free port, with a freshly
//! generated ed25519 host key, a generated client key authorised for the
//! current user, a temp `sshd_config` (`StrictModes no` because the keys live
//! in a temp dir, `UsePAM no`, `MaxSessions 64`), and a known_hosts file that
//! trusts it. `spec()` gives the `ConnectionSpec` an inventory would. On drop
//! it stops its sshd by PID and removes the temp dir. Needs openssh-server
//! (`/usr/sbin/sshd`); as root it creates sshd's privilege-separation
//! directory `/run/sshd` when missing.
//!
//! As root (with util-linux `unshare`), sshd runs in its own PID and mount
//! namespaces:
//! * stopping it ends every session process too, so nothing outlives a test
//!   (on machines whose init does not reap, orphans would stay as zombies);
//! * sshd runs commands through the user's login shell, and Debian's bash then
//!   reads `~/.bashrc`; a developer's `.bashrc` (pyenv, nvm, ...) can add
//!   100 ms or more to every command. `start()` bind-mounts an empty file over
//!   it inside the namespace (the real file is untouched), like the lab nodes'
//!   fresh `/root`. `start_with_shell_rc()` keeps it.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton::transport::{ConnectionKind, ConnectionSpec};

/// A comment line comes first in the known_hosts file, so the server's entry is
/// on line 2 and tests can check that messages name the right line.
pub const KNOWN_HOSTS_ENTRY_LINE: usize = 2;

pub struct TestSshd {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    /// `sshd`, or the `unshare` whose only child is sshd.
    child: Option<Child>,
    isolated: bool,
    extra_config: String,
    /// The `.bashrc` hidden from sshd's sessions, when one is.
    hidden_shell_rc: Option<PathBuf>,
    /// sshd gets its own empty /run (a tmpfs in its mount namespace), fresh
    /// at each (re)start, as a boot gives a host, and its own /var/tmp (a
    /// directory of the test's, kept across restarts): tests/reboot.rs.
    private_run: bool,
}

impl TestSshd {
    pub fn start() -> TestSshd {
        TestSshd::start_with_config("")
    }

    /// Start with extra `sshd_config` lines appended to the defaults.
    pub fn start_with_config(extra_config: &str) -> TestSshd {
        TestSshd::launch_new(extra_config, true)
    }

    /// Start with the user's own `~/.bashrc` in effect for every command.
    pub fn start_with_shell_rc() -> TestSshd {
        TestSshd::launch_new("", false)
    }

    /// Start with a private /run that each [`TestSshd::restart`] empties, as a
    /// reboot does (root only: it needs a mount namespace).
    pub fn start_with_private_run() -> TestSshd {
        assert!(can_isolate(), "a private /run needs root and unshare");
        let mut sshd = TestSshd::launch_new("", true);
        sshd.stop();
        sshd.private_run = true;
        sshd.launch()
            .unwrap_or_else(|e| panic!("sshd did not start with a private /run: {e}"));
        sshd
    }

    /// Stop sshd (its sessions end) and start it again on the same port with
    /// the same host key: "the host rebooted".
    pub fn restart(&mut self) {
        self.stop();
        self.launch()
            .unwrap_or_else(|e| panic!("sshd did not restart: {e}\n{}", self.log()));
    }

    fn launch_new(extra_config: &str, hide_shell_rc: bool) -> TestSshd {
        let dir = tempfile::Builder::new()
            .prefix("baton-sshd-")
            .tempdir()
            .expect("create sshd temp dir");
        let isolated = can_isolate();
        let mut sshd = TestSshd {
            dir,
            port: 0,
            user: current_user(),
            child: None,
            isolated,
            extra_config: extra_config.to_string(),
            private_run: false,
            hidden_shell_rc: if isolated && hide_shell_rc {
                shell_rc()
            } else {
                None
            },
        };
        keygen(&sshd.host_key());
        keygen(&sshd.client_key());
        fs::copy(
            sshd.client_key().with_extension("pub"),
            sshd.dir.path().join("authorized_keys"),
        )
        .expect("write authorized_keys");
        ensure_privsep_dir();
        // Another process can take the port between our probe and sshd's bind; try again then.
        for _ in 0..5 {
            sshd.port = free_port();
            if sshd.launch().is_ok() {
                sshd.write_known_hosts();
                return sshd;
            }
        }
        panic!("sshd did not start:\n{}", sshd.log());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `.bashrc` hidden from this server's sessions, if any.
    pub fn hidden_shell_rc(&self) -> Option<&Path> {
        self.hidden_shell_rc.as_deref()
    }

    /// The client private key authorised on this server.
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_ed25519")
    }

    pub fn host_key(&self) -> PathBuf {
        self.dir.path().join("host_ed25519")
    }

    /// A known_hosts file holding this server's current key (on [`KNOWN_HOSTS_ENTRY_LINE`]).
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// The known_hosts entry for the server's current key: `[127.0.0.1]:PORT ssh-ed25519 AAAA…`.
    pub fn known_hosts_entry(&self) -> String {
        let public = fs::read_to_string(self.host_key().with_extension("pub"))
            .expect("read host public key");
        let mut fields = public.split_whitespace();
        let (kind, key) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        format!("[127.0.0.1]:{} {kind} {key}", self.port)
    }

    /// The PID of the listening sshd (as seen from the tests).
    pub fn pid(&self) -> u32 {
        self.listener_pid().expect("sshd is running")
    }

    /// What sshd logged (`-e`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// A connection spec for this server, the way an inventory would give it.
    pub fn spec(&self, host_name: &str) -> ConnectionSpec {
        ConnectionSpec {
            host_name: host_name.to_string(),
            kind: ConnectionKind::Ssh,
            address: "127.0.0.1".to_string(),
            port: Some(self.port),
            user: Some(self.user.clone()),
            private_key: Some(self.client_key()),
            known_hosts: Some(self.known_hosts()),
            ssh_config: None,
            ssh_options: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            accept_new_host_keys: false,
            persist: None,
        }
    }

    /// Replace the host key with a new one and restart sshd on the same port,
    /// leaving the known_hosts file with the old key: "the host was reinstalled".
    pub fn regenerate_host_key_and_restart(&mut self) {
        self.stop();
        let _ = fs::remove_file(self.host_key());
        let _ = fs::remove_file(self.host_key().with_extension("pub"));
        keygen(&self.host_key());
        self.launch()
            .unwrap_or_else(|e| panic!("sshd did not restart: {e}\n{}", self.log()));
    }

    /// Stop sshd. When isolated, its session processes end with it; otherwise
    /// open sessions keep their own processes until their clients leave.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        match (self.isolated, listener_of(&child)) {
            // sshd exits on TERM; as its namespace's init, it takes every
            // session with it, and then `unshare` exits.
            (true, Some(listener)) => signal(listener, libc::SIGTERM),
            _ => {
                let _ = child.kill();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The per-connection sshd processes and everything they started.
    pub fn session_pids(&self) -> Vec<u32> {
        let Some(listener) = self.listener_pid() else {
            return Vec::new();
        };
        let mut found = descendants(listener);
        found.retain(|&pid| pid != listener);
        found
    }

    /// Stop (SIGSTOP) every session process: the server then answers nothing,
    /// as if the network link had gone down. Undone by [`Frozen`]'s drop.
    pub fn freeze_sessions(&self) -> Frozen {
        let pids = self.session_pids();
        for &pid in &pids {
            signal(pid, libc::SIGSTOP);
        }
        Frozen { pids }
    }

    fn listener_pid(&self) -> Option<u32> {
        let child = self.child.as_ref()?;
        if self.isolated {
            listener_of(child)
        } else {
            Some(child.id())
        }
    }

    fn launch(&mut self) -> Result<(), String> {
        let config = self.dir.path().join("sshd_config");
        fs::write(&config, self.sshd_config()).map_err(|e| e.to_string())?;
        let log_path = self.dir.path().join("sshd.log");
        let log = fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let mut command = if self.isolated {
            let empty = self.dir.path().join("empty_shell_rc");
            fs::write(&empty, "").map_err(|e| e.to_string())?;
            let mut command = Command::new("unshare");
            command
                .args([
                    "--mount",
                    "--propagation",
                    "private",
                    "--pid",
                    "--fork",
                    "--kill-child",
                    "--",
                    "sh",
                    "-c",
                ])
                .arg(
                    r#"if [ -n "$2" ]; then mount --bind "$1" "$2" || exit 1; fi
                       if [ "$5" = 1 ]; then
                         mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd || exit 1
                         mkdir -p -m 1777 "$6" && mount --bind "$6" /var/tmp || exit 1
                       fi
                       exec "$3" -D -e -f "$4""#,
                )
                .arg("sh")
                .arg(&empty)
                .arg(self.hidden_shell_rc.as_deref().unwrap_or(Path::new("")))
                .arg(sshd_binary())
                .arg(&config)
                .arg(if self.private_run { "1" } else { "0" })
                .arg(self.dir.path().join("var-tmp"));
            command
        } else {
            let mut command = Command::new(sshd_binary());
            command.arg("-D").arg("-e").arg("-f").arg(&config);
            command
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run sshd (install openssh-server): {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.log().contains("Server listening on") {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .map(|c| matches!(c.try_wait(), Ok(Some(_))))
                .unwrap_or(true);
            if exited || Instant::now() > deadline {
                self.stop();
                return Err(self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn sshd_config(&self) -> String {
        let dir = self.dir.path().display();
        format!(
            "Port {port}\n\
             ListenAddress 127.0.0.1\n\
             HostKey {dir}/host_ed25519\n\
             AuthorizedKeysFile {dir}/authorized_keys\n\
             PidFile {dir}/sshd.pid\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\n\
             MaxSessions 64\n\
             MaxStartups 64:30:128\n\
             {extra}\n",
            port = self.port,
            extra = self.extra_config,
        )
    }

    fn write_known_hosts(&self) {
        fs::write(
            self.known_hosts(),
            format!(
                "# known_hosts for the baton test sshd\n{}\n",
                self.known_hosts_entry()
            ),
        )
        .expect("write known_hosts");
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Session processes stopped by [`TestSshd::freeze_sessions`]; continued on drop.
pub struct Frozen {
    pids: Vec<u32>,
}

impl Frozen {
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.pids {
            signal(pid, libc::SIGCONT);
        }
    }
}

/// The user name the tests run as (ssh logs in as this user).
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether a process with this PID exists.
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Root with util-linux `unshare` can give sshd its own PID and mount namespaces.
fn can_isolate() -> bool {
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    is_root
        && Command::new("unshare")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The current user's `~/.bashrc`, home taken from the passwd entry as sshd does.
fn shell_rc() -> Option<PathBuf> {
    let out = Command::new("getent")
        .args(["passwd", &current_user()])
        .output()
        .ok()?;
    let entry = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let home = entry.split(':').nth(5)?;
    let shell_rc = Path::new(home).join(".bashrc");
    shell_rc.is_file().then_some(shell_rc)
}

/// sshd, the only child of the `unshare` that started it.
fn listener_of(unshare: &Child) -> Option<u32> {
    let parent = unshare.id();
    process_table()
        .into_iter()
        .find(|&(_, ppid)| ppid == parent)
        .map(|(pid, _)| pid)
}

/// `root` and every process below it.
fn descendants(root: u32) -> Vec<u32> {
    let table = process_table();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            table
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found
}

fn signal(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) on a PID of our sshd or one of its sessions; no memory is touched.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// (pid, parent pid) of every process, from /proc.
fn process_table() -> Vec<(u32, u32)> {
    let mut table = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return table;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let mut stat = String::new();
        if fs::File::open(entry.path().join("stat"))
            .and_then(|mut f| f.read_to_string(&mut stat))
            .is_err()
        {
            continue;
        }
        // The command name is in parentheses and may contain spaces; fields follow the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            table.push((pid, ppid));
        }
    }
    table
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "baton-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen (install openssh-client)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

fn sshd_binary() -> PathBuf {
    let standard = PathBuf::from("/usr/sbin/sshd");
    if standard.exists() {
        standard
    } else {
        PathBuf::from("sshd")
    }
}

/// sshd refuses to start without its privilege-separation directory, which
/// the distribution's service unit normally creates.
fn ensure_privsep_dir() {
    let dir = Path::new("/run/sshd");
    if !dir.exists() {
        let _ = fs::create_dir_all(dir);
    }
}
