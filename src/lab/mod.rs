//! `baton lab`: a local network of real SSH hosts built from network namespaces.
//!
//! Layout of a lab with prefix P on subnet S (host numbers from `subnet`):
//! a bridge `br0` in netns `P-net`; one netns per node (`P-bc1`, `P-bc2`, ...)
//! whose `eth0` sits on the bridge at .11, .12, ...; a client netns `P-client`
//! at .5; and a veth `P-h` in the root namespace at .1, so the controller
//! reaches every node directly. Each node also has its own mount, PID, UTS and
//! IPC namespaces, copy-on-write views of /etc /opt /var /home, private /run
//! /tmp /root, and its own sshd (see `node`).
//!
//! Everything created is recorded in `<dir>/state.json` (see `state`), and
//! `down` removes exactly that. Exit codes: 0 ok; 1 a step failed or the lab
//! is unhealthy; 4 not root, a missing tool, a bad flag, or a name, subnet or
//! file that belongs to someone else. `shell` passes the command's code through.

#[macro_use]
mod output {
    /// Print a line of output. A closed stdout (`baton lab up | head -1`) must
    /// not turn a finished command into a panic, so write errors are ignored.
    macro_rules! say {
        ($($arg:tt)*) => {{
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout().lock(), $($arg)*);
        }};
    }
}

mod artifacts;
mod control;
mod dir;
mod down;
mod health;
mod netns;
mod node;
mod preflight;
mod process;
mod shell;
mod state;
mod subnet;
mod up;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::exit_code;

pub use control::{LinkState, PartitionState};

/// Where a lab lives. Commands other than `up` find everything else in its state file.
#[derive(clap::Args, Debug, Clone)]
pub struct LabPlace {
    /// Lab directory: state, inventory, ssh config, keys, node disks [default: /var/lib/baton-lab/PREFIX]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Name prefix of the lab's namespaces and root veth (lets several labs coexist) [default: baton]
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
}

impl LabPlace {
    fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or(up::DEFAULT_PREFIX)
    }

    fn dir(&self) -> Result<PathBuf, LabError> {
        dir::resolve(self.dir.as_deref(), self.prefix())
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum LabCommand {
    /// Create the lab: nodes with their own sshd, a client netns, and an inventory under --dir
    Up {
        #[command(flatten)]
        place: LabPlace,
        /// Number of nodes (bc1, bc2, ...) [default: 2]
        #[arg(long, value_name = "N")]
        nodes: Option<u32>,
        /// Private IPv4 subnet of the lab, /24 or larger [default: 10.77.0.0/24]
        #[arg(long, value_name = "CIDR")]
        subnet: Option<String>,
    },
    /// Remove everything the lab created (processes, namespaces, veth, disks, files), and nothing else
    Down {
        #[command(flatten)]
        place: LabPlace,
    },
    /// Show each node's address, sshd and eth0 addresses; exit 1 when unhealthy
    Status {
        #[command(flatten)]
        place: LabPlace,
    },
    /// Open a shell, or run CMD, inside a node (bc1, bc2, ...) or the client netns (client)
    Shell {
        /// bc1, bc2, ... or client
        node: String,
        #[command(flatten)]
        place: LabPlace,
        /// Command to run instead of a login shell; its exit code is passed through
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Set a node's eth0 up or down (a cut cable; processes keep running)
    Link {
        /// bc1, bc2, ... or client
        node: String,
        #[arg(value_enum)]
        state: LinkState,
        #[command(flatten)]
        place: LabPlace,
    },
    /// Partition the nodes: `on` isolates every node's bridge port (no frame, not even ARP,
    /// passes between nodes; the controller and the client still reach each node); `off` heals it
    Partition {
        #[arg(value_enum)]
        state: PartitionState,
        #[command(flatten)]
        place: LabPlace,
    },
    /// Abrupt failure: SIGKILL every process of the node and take its eth0 down; its disk survives
    Crash {
        node: String,
        #[command(flatten)]
        place: LabPlace,
    },
    /// Start a crashed node again: same disk and host key, fresh /run and /tmp, own address only
    Boot {
        node: String,
        #[command(flatten)]
        place: LabPlace,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Not root, a missing tool, a bad flag, or something that is not the lab's to touch.
    #[error("{0}")]
    Precondition(String),
    /// A step failed, or the lab is not healthy.
    #[error("{0}")]
    Failed(String),
}

impl LabError {
    fn exit_code(&self) -> i32 {
        match self {
            LabError::Precondition(_) => exit_code::INVALID_INPUT,
            LabError::Failed(_) => exit_code::INTERNAL,
        }
    }
}

/// The recorded lab in `dir`, or an error saying there is none.
fn load_required(lab_dir: &Path) -> Result<state::LabState, LabError> {
    state::LabState::load(lab_dir)?.ok_or_else(|| {
        LabError::Failed(format!(
            "no lab in {}; `baton lab up --dir {}` creates one",
            lab_dir.display(),
            lab_dir.display()
        ))
    })
}

fn status(lab_dir: &Path) -> Result<i32, LabError> {
    let tools = preflight::check(&[preflight::Tool::Ip])?;
    let state = load_required(lab_dir)?;
    let health = health::check(&state, &netns::Ip::new(&tools));
    say!("{}", health::render(&state, &health).trim_end());
    Ok(if health.is_healthy() {
        exit_code::OK
    } else {
        exit_code::INTERNAL
    })
}

fn dispatch(cmd: LabCommand) -> Result<i32, LabError> {
    match cmd {
        LabCommand::Up {
            place,
            nodes,
            subnet,
        } => up::up(up::UpOptions {
            dir: place.dir()?,
            prefix: place.prefix().to_string(),
            prefix_given: place.prefix.is_some(),
            nodes,
            subnet,
        })
        .map(|()| exit_code::OK),
        LabCommand::Down { place } => {
            down::down(&place.dir()?, place.prefix()).map(|()| exit_code::OK)
        }
        LabCommand::Status { place } => status(&place.dir()?),
        LabCommand::Shell {
            node,
            place,
            command,
        } => shell::shell(&place.dir()?, &node, &command),
        LabCommand::Link { node, state, place } => {
            control::link(&place.dir()?, &node, state).map(|()| exit_code::OK)
        }
        LabCommand::Partition { state, place } => {
            control::partition(&place.dir()?, state == PartitionState::On).map(|()| exit_code::OK)
        }
        LabCommand::Crash { node, place } => {
            control::crash(&place.dir()?, &node).map(|()| exit_code::OK)
        }
        LabCommand::Boot { node, place } => {
            control::boot(&place.dir()?, &node).map(|()| exit_code::OK)
        }
    }
}

pub fn run(cmd: LabCommand) -> i32 {
    match dispatch(cmd) {
        Ok(code) => code,
        Err(e) => {
            let text = e.to_string();
            if text.starts_with("baton lab") {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            } else {
                let _ = writeln!(std::io::stderr().lock(), "baton lab: {text}");
            }
            e.exit_code()
        }
    }
}
