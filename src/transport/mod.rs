//! How a script reaches a host. One connection per host, opened once and reused
//! for every task of the run.
//!
//! A transport runs exactly one thing: a POSIX shell script. A module's data
//! (file content, stdin for a command) travels inside the script. Small
//! scripts go in the command line (`sh -c 'SCRIPT'`); large ones on the
//! remote shell's standard input (`sh -c 'eval "$(cat)"'`), read whole before
//! they start. Either way commands in the script see an empty stdin.

pub mod capture;
pub mod fd_limit;
pub mod groups;
pub mod local;
pub mod ssh;

use std::path::PathBuf;
use std::time::Duration;

/// The remote command line every transport runs: read the whole script, then run it.
pub const SCRIPT_RUNNER: &str = r#"sh -c 'eval "$(cat)"'"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionKind {
    Local,
    Ssh,
}

/// Everything needed to open a connection, taken from inventory vars and CLI flags.
#[derive(Clone, Debug)]
pub struct ConnectionSpec {
    /// The inventory name, for messages.
    pub host_name: String,
    pub kind: ConnectionKind,
    /// `ansible_host`, or the inventory name.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    /// `baton_ssh_known_hosts_file` / `ansible_ssh_known_hosts_file`.
    pub known_hosts: Option<PathBuf>,
    /// `baton_ssh_config_file`, or `-F FILE` from `ansible_ssh_common_args`.
    pub ssh_config: Option<PathBuf>,
    /// `-o Key=Value` pairs from `ansible_ssh_common_args` / `ansible_ssh_extra_args`.
    pub ssh_options: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// `--ssh-accept-new`: learn unknown host keys, still refuse changed ones.
    pub accept_new_host_keys: bool,
    /// `--persist SECS` / inventory `baton_persist`: keep the master alive
    /// after the run (see [`ssh::persist`]).
    pub persist: Option<Persist>,
}

/// A master that outlives the run, as Ansible's `ControlPersist`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persist {
    /// Idle time before the master exits by itself (`ControlPersist=SECS`).
    pub idle: Duration,
    /// The private root directory (mode 0700) holding the masters.
    pub root: PathBuf,
}

impl ConnectionSpec {
    pub fn local(host_name: &str) -> ConnectionSpec {
        ConnectionSpec {
            host_name: host_name.to_string(),
            kind: ConnectionKind::Local,
            address: host_name.to_string(),
            port: None,
            user: None,
            private_key: None,
            known_hosts: None,
            ssh_config: None,
            ssh_options: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            accept_new_host_keys: false,
            persist: None,
        }
    }
}

/// One script to run.
#[derive(Clone, Debug, Default)]
pub struct ExecRequest {
    pub script: String,
    /// Run as this user through `sudo -n -u USER` (become).
    pub become_user: Option<String>,
    /// Kill the remote script after this long; `TransportError::Timeout` then.
    pub timeout: Option<Duration>,
}

/// What the script did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The host could not be reached or the connection dropped.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The host key is unknown or changed; never retried.
    #[error("host key verification failed: {0}")]
    HostKey(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Other(String),
}

impl TransportError {
    /// Whether the host should be counted UNREACHABLE (rather than the task FAILED).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable(_) | TransportError::HostKey(_)
        )
    }
}

/// An open connection to one host.
pub enum Connection {
    Local(local::LocalConnection),
    /// Boxed: a connection's state is large, `Local` is empty.
    Ssh(Box<ssh::SshConnection>),
}

impl Connection {
    pub async fn open(spec: &ConnectionSpec) -> Result<Connection, TransportError> {
        match spec.kind {
            ConnectionKind::Local => Ok(Connection::Local(local::LocalConnection::new())),
            ConnectionKind::Ssh => Ok(Connection::Ssh(Box::new(
                ssh::SshConnection::open(spec).await?,
            ))),
        }
    }

    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, TransportError> {
        match self {
            Connection::Local(c) => c.exec(request).await,
            Connection::Ssh(c) => c.exec(request).await,
        }
    }

    /// Whether this is an SSH connection (it holds open files, see [`fd_limit`]).
    pub fn is_ssh(&self) -> bool {
        matches!(self, Connection::Ssh(_))
    }

    /// What opening the connection found worth a warning, given once: a
    /// persisted master from an earlier run that had died and was replaced.
    pub fn take_note(&self) -> Option<String> {
        match self {
            Connection::Local(_) => None,
            Connection::Ssh(c) => c.take_note(),
        }
    }

    pub async fn close(self) {
        match self {
            Connection::Local(_) => {}
            Connection::Ssh(c) => c.close().await,
        }
    }

    /// Close many connections at once (see [`ssh::SshConnection::close_many`]).
    pub async fn close_all(connections: Vec<Connection>) {
        let ssh = connections
            .into_iter()
            .filter_map(|c| match c {
                Connection::Ssh(c) => Some(*c),
                Connection::Local(_) => None,
            })
            .collect();
        ssh::SshConnection::close_many(ssh).await;
    }
}

/// Scripts up to this size travel inside the command line (`sh -c 'SCRIPT'`),
/// which saves the remote `cat` and its fork on every task; larger ones go on
/// stdin, so no argument-length limit (128 KiB per argument on Linux) applies.
pub const INLINE_SCRIPT_LIMIT: usize = 32 * 1024;

impl ExecRequest {
    /// Whether the script is sent on the remote command's stdin.
    pub fn script_on_stdin(&self) -> bool {
        self.script.len() > INLINE_SCRIPT_LIMIT
    }

    /// What runs the script: `sh -c 'SCRIPT'`, or the stdin runner.
    pub fn runner(&self) -> String {
        if self.script_on_stdin() {
            SCRIPT_RUNNER.to_string()
        } else {
            format!("sh -c {}", crate::shell::quote(&self.script))
        }
    }
}

/// The command line for a request: sudo for become, then `guard` (e.g. a
/// coreutils `timeout` prefix, placed inside sudo so it can kill what runs as
/// the become user), then the script runner.
pub fn command_line_with(request: &ExecRequest, guard: &str) -> String {
    let runner = request.runner();
    match &request.become_user {
        Some(user) => format!(
            "sudo -n -H -u {} -- {guard}{runner}",
            crate::shell::quote(user)
        ),
        None => format!("{guard}{runner}"),
    }
}

/// The command line for a request with no guard.
pub fn command_line(request: &ExecRequest) -> String {
    command_line_with(request, "")
}
