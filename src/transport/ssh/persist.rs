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
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(target_dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(MASTER_DIR_PREFIX)
        })
        .map(|e| e.path().join("master"))
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
        if let Some(target_dir) = socket.parent().and_then(Path::parent) {
            if sockets(target_dir).is_empty() {
                let _ = std::fs::remove_dir_all(target_dir);
            }
        }
        out.push(Persisted {
            target,
            socket,
            alive,
        });
    }
    out
}

fn all_sockets(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
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
