//! The lab's record of everything it created, kept in `<dir>/state.json`.
//!
//! `up` writes it before and after each step, so that `down` can remove exactly
//! what exists, even after an `up` that failed or was killed half-way.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::process::ProcRecord;
use super::subnet::Subnet;
use super::LabError;

pub const STATE_FILE: &str = "state.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetnsRecord {
    pub name: String,
    /// None between "about to create" and "created": the name alone is ours then,
    /// since `up` checked it was free.
    pub inode: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// `bc1`, `bc2`, ...; also the node's hostname.
    pub name: String,
    pub index: u32,
    pub address: String,
    pub netns: String,
    /// The node's disk: overlay upper and work dirs, its host key, its log.
    pub storage: Option<PathBuf>,
    /// The public host key line (`ssh-ed25519 AAAA...`).
    pub host_key: Option<String>,
    /// `unshare`, the host-side parent that holds the node's namespaces open.
    pub unshare: Option<ProcRecord>,
    /// PID 1 of the node; killing it ends every process in the node.
    pub init: Option<ProcRecord>,
    pub sshd: Option<ProcRecord>,
    /// Set by `crash`, cleared by `boot`.
    pub crashed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    pub version: u32,
    pub prefix: String,
    pub subnet: String,
    pub dir: PathBuf,
    /// Directories `up` created, in creation order; `down` removes them when empty.
    pub created_dirs: Vec<PathBuf>,
    /// Network namespaces in creation order.
    pub netns: Vec<NetnsRecord>,
    /// The veth in the root namespace.
    pub host_veth: Option<String>,
    pub client_netns: String,
    pub nodes: Vec<NodeRecord>,
    /// Files `up` wrote (artifacts), removed by `down`.
    pub files: Vec<PathBuf>,
    /// True once `up` finished every step.
    pub complete: bool,
}

impl LabState {
    pub fn new(prefix: &str, subnet: &Subnet, dir: &Path, node_count: u32) -> LabState {
        let nodes = (1..=node_count)
            .map(|index| NodeRecord {
                name: node_name(index),
                index,
                address: subnet.node(index).to_string(),
                netns: format!("{prefix}-{}", node_name(index)),
                storage: None,
                host_key: None,
                unshare: None,
                init: None,
                sshd: None,
                crashed: false,
            })
            .collect();
        LabState {
            version: FORMAT_VERSION,
            prefix: prefix.to_string(),
            subnet: subnet.to_string(),
            dir: dir.to_path_buf(),
            created_dirs: Vec::new(),
            netns: Vec::new(),
            host_veth: None,
            client_netns: format!("{prefix}-client"),
            nodes,
            files: Vec::new(),
            complete: false,
        }
    }

    pub fn subnet(&self) -> Result<Subnet, LabError> {
        self.subnet.parse().map_err(|e| {
            LabError::Failed(format!(
                "{}: bad subnet in the state file: {e}",
                self.state_path().display()
            ))
        })
    }

    pub fn bridge_netns(&self) -> String {
        format!("{}-net", self.prefix)
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub fn node(&self, name: &str) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The recorded inode of one of the lab's network namespaces.
    pub fn netns_inode(&self, name: &str) -> Result<u64, LabError> {
        self.netns
            .iter()
            .find(|ns| ns.name == name)
            .and_then(|ns| ns.inode)
            .ok_or_else(|| LabError::Failed(format!("network namespace {name} is not recorded")))
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut NodeRecord> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }

    /// Load the state of the lab in `dir`; None when no lab is recorded there.
    pub fn load(dir: &Path) -> Result<Option<LabState>, LabError> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(LabError::Failed(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let state: LabState = serde_json::from_str(&text).map_err(|e| {
            LabError::Failed(format!(
                "{} is not a baton lab state file ({e}); remove the lab's namespaces by hand with `ip netns delete`",
                path.display()
            ))
        })?;
        if state.version != FORMAT_VERSION {
            return Err(LabError::Failed(format!(
                "{} has format version {}, this baton reads version {FORMAT_VERSION}",
                path.display(),
                state.version
            )));
        }
        Ok(Some(state))
    }

    /// Write atomically (temp file + rename), so a crash never leaves half a record.
    pub fn save(&self) -> Result<(), LabError> {
        let path = self.state_path();
        let tmp = self.dir.join(format!(".{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| LabError::Failed(format!("cannot serialise the lab state: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| LabError::Failed(format!("cannot write {}: {e}", path.display())))
    }
}

pub fn node_name(index: u32) -> String {
    format!("bc{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let subnet: Subnet = "10.88.0.0/24".parse().unwrap();
        let mut state = LabState::new("t1", &subnet, dir.path(), 3);
        assert_eq!(state.nodes.len(), 3);
        assert_eq!(state.nodes[2].name, "bc3");
        assert_eq!(state.nodes[2].netns, "t1-bc3");
        assert_eq!(state.nodes[2].address, "10.88.0.13");
        assert_eq!(state.bridge_netns(), "t1-net");
        assert_eq!(state.client_netns, "t1-client");
        state.netns.push(NetnsRecord {
            name: "t1-net".into(),
            inode: Some(4026532000),
        });
        state.node_mut("bc1").unwrap().sshd = Some(ProcRecord {
            pid: 77,
            start_time: 5,
            comm: "sshd".into(),
            netns_inode: 4026532001,
        });
        state.save().unwrap();
        let back = LabState::load(dir.path()).unwrap().unwrap();
        assert_eq!(back, state);
        assert_eq!(back.subnet().unwrap(), subnet);
        assert!(!dir.path().join(format!(".{STATE_FILE}.tmp")).exists());
    }

    #[test]
    fn no_state_file_means_no_lab_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(STATE_FILE), "{not json").unwrap();
        assert!(matches!(
            LabState::load(dir.path()),
            Err(LabError::Failed(_))
        ));
    }
}
