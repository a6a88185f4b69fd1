//! What the machine must offer before the lab touches it: root, and the tools
//! the lab runs, resolved once to absolute paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::LabError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tool {
    Ip,
    Sshd,
    SshKeygen,
    Unshare,
    Nsenter,
    Mount,
    Arping,
    Ping,
}

impl Tool {
    pub fn command(self) -> &'static str {
        match self {
            Tool::Ip => "ip",
            Tool::Sshd => "sshd",
            Tool::SshKeygen => "ssh-keygen",
            Tool::Unshare => "unshare",
            Tool::Nsenter => "nsenter",
            Tool::Mount => "mount",
            Tool::Arping => "arping",
            Tool::Ping => "ping",
        }
    }

    /// The Debian package that provides the command.
    pub fn package(self) -> &'static str {
        match self {
            Tool::Ip => "iproute2",
            Tool::Sshd => "openssh-server",
            Tool::SshKeygen => "openssh-client",
            Tool::Unshare | Tool::Nsenter => "util-linux",
            Tool::Mount => "mount",
            Tool::Arping => "iputils-arping",
            Tool::Ping => "iputils-ping",
        }
    }
}

/// Everything `up` and `boot` run, plus what tests and scenarios run inside the lab.
pub const FOR_UP: &[Tool] = &[
    Tool::Ip,
    Tool::Sshd,
    Tool::SshKeygen,
    Tool::Unshare,
    Tool::Nsenter,
    Tool::Mount,
    Tool::Arping,
    Tool::Ping,
];

/// Resolved absolute paths of the tools a command needs.
#[derive(Debug, Clone)]
pub struct Tools {
    paths: BTreeMap<Tool, PathBuf>,
}

impl Tools {
    /// The path of a tool that was checked by [`check`]. Falls back to the bare
    /// command name, which only happens when a caller forgot to ask for it.
    pub fn path(&self, tool: Tool) -> PathBuf {
        self.paths
            .get(&tool)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(tool.command()))
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Root, then every tool in `needed`; one line naming all that is missing.
pub fn check(needed: &[Tool]) -> Result<Tools, LabError> {
    if !is_root() {
        return Err(LabError::Precondition(
            "baton lab needs root (it creates network namespaces and mounts); run it with sudo"
                .into(),
        ));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path_var).collect();
    let mut paths = BTreeMap::new();
    let mut missing = Vec::new();
    for &tool in needed {
        // sshd lives in sbin, which a sudo'd PATH sometimes lacks.
        let extra: &[&str] = if tool == Tool::Sshd {
            &["/usr/sbin", "/sbin"]
        } else {
            &[]
        };
        dirs.extend(extra.iter().map(PathBuf::from));
        match find_in(&dirs, tool.command()) {
            Some(p) => {
                paths.insert(tool, p);
            }
            None => missing.push(tool),
        }
        dirs.truncate(dirs.len() - extra.len());
    }
    if missing.is_empty() {
        return Ok(Tools { paths });
    }
    Err(LabError::Precondition(missing_message(&missing)))
}

fn missing_message(missing: &[Tool]) -> String {
    let mut packages: Vec<&str> = missing.iter().map(|t| t.package()).collect();
    packages.dedup();
    let names: Vec<String> = missing
        .iter()
        .map(|t| format!("{} (package {})", t.command(), t.package()))
        .collect();
    format!(
        "baton lab: missing {}; install with: apt-get install {}",
        names.join(", "),
        packages.join(" ")
    )
}

fn find_in(dirs: &[PathBuf], command: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| d.join(command))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tools_name_their_debian_packages_on_one_line() {
        let msg = missing_message(&[Tool::Ip, Tool::Unshare, Tool::Nsenter, Tool::Arping]);
        assert!(!msg.contains('\n'));
        assert!(msg.contains("ip (package iproute2)"));
        assert!(msg.contains("arping (package iputils-arping)"));
        assert!(
            msg.ends_with("apt-get install iproute2 util-linux iputils-arping"),
            "{msg}"
        );
    }

    #[test]
    fn tools_are_found_only_when_executable() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("ip");
        std::fs::write(&plain, "").unwrap();
        assert_eq!(find_in(&[dir.path().to_path_buf()], "ip"), None);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in(&[dir.path().to_path_buf()], "ip"), Some(plain));
    }
}
