//! Is the recorded lab whole? Used by `status`, and by `up` to decide between
//! "already up" and "half-up".

use std::fmt::Write as _;

use super::netns::{self, Ip, LinkInfo};
use super::node;
use super::process::{self, named_netns_inode};
use super::state::{LabState, NodeRecord};

pub const BRIDGE: &str = "br0";
/// The root-namespace veth's peer, on the bridge.
pub const BRIDGE_ROOT_PORT: &str = "root";
pub const NODE_DEV: &str = "eth0";

pub struct NodeStatus {
    pub name: String,
    pub address: String,
    pub sshd_pid: Option<i32>,
    pub sshd_alive: bool,
    pub crashed: bool,
    /// None when the node's netns is gone.
    pub eth0: Option<LinkInfo>,
}

pub struct Health {
    pub nodes: Vec<NodeStatus>,
    pub client: Option<LinkInfo>,
    pub problems: Vec<String>,
}

impl Health {
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn check(state: &LabState, ip: &Ip) -> Health {
    let mut problems = Vec::new();
    if !state.complete {
        problems.push("`baton lab up` did not finish (it failed or was interrupted)".to_string());
    }
    check_network(state, ip, &mut problems);
    let client = netns::netns_exists(&state.client_netns)
        .then(|| ip.link_info(Some(&state.client_netns), NODE_DEV).ok())
        .flatten();
    if state.complete {
        match &client {
            Some(info) if !info.is_up() => {
                problems.push(format!("client: {NODE_DEV} is {}", info.operstate))
            }
            Some(_) => {}
            None => problems.push(format!("client: no {NODE_DEV} in {}", state.client_netns)),
        }
    }
    let nodes = state
        .nodes
        .iter()
        .map(|n| check_node(state, n, ip, &mut problems))
        .collect();
    Health {
        nodes,
        client,
        problems,
    }
}

/// The namespaces (same inode as recorded), the controller's veth and the bridge.
fn check_network(state: &LabState, ip: &Ip, problems: &mut Vec<String>) {
    for ns in &state.netns {
        match (named_netns_inode(&netns::netns_path(&ns.name)), ns.inode) {
            (None, _) => problems.push(format!("network namespace {} is gone", ns.name)),
            (Some(now), Some(then)) if now != then => problems.push(format!(
                "network namespace {} was replaced by another one of the same name",
                ns.name
            )),
            _ => {}
        }
    }
    if let Some(veth) = &state.host_veth {
        match ip.link_info(None, veth) {
            Ok(info) if !info.is_up() => problems.push(format!(
                "{veth} (the controller's veth) is {}",
                info.operstate
            )),
            Ok(info) => {
                if let Ok(subnet) = state.subnet() {
                    if !info.has_address(&subnet.controller().to_string()) {
                        problems.push(format!(
                            "{veth} lost the controller address {}",
                            subnet.controller()
                        ));
                    }
                }
            }
            Err(_) => problems.push(format!("{veth} (the controller's veth) is gone")),
        }
    }
    let bridge_ns = state.bridge_netns();
    if netns::netns_exists(&bridge_ns) {
        match ip.link_info(Some(&bridge_ns), BRIDGE) {
            Ok(info) if !info.admin_up => {
                problems.push(format!("bridge {BRIDGE} in {bridge_ns} is down"))
            }
            Ok(_) => {}
            Err(_) => problems.push(format!("bridge {BRIDGE} in {bridge_ns} is gone")),
        }
    }
}

/// One node: init and sshd alive (and listening), eth0 up with its address.
fn check_node(state: &LabState, n: &NodeRecord, ip: &Ip, problems: &mut Vec<String>) -> NodeStatus {
    let init_alive = n.init.as_ref().is_some_and(process::is_alive);
    let sshd_alive = n.sshd.as_ref().is_some_and(process::is_alive);
    let eth0 = netns::netns_exists(&n.netns)
        .then(|| ip.link_info(Some(&n.netns), NODE_DEV).ok())
        .flatten();
    if n.crashed {
        problems.push(format!(
            "{}: crashed (`baton lab boot {}` brings it back)",
            n.name, n.name
        ));
    } else if state.complete {
        if !init_alive {
            problems.push(format!("{}: its init process is not running", n.name));
        }
        match (&n.sshd, sshd_alive) {
            (None, _) => problems.push(format!("{}: no sshd recorded", n.name)),
            (Some(rec), false) => {
                problems.push(format!("{}: sshd (pid {}) is not running", n.name, rec.pid))
            }
            (Some(rec), true) if !node::listens_on_ssh(rec.pid) => problems.push(format!(
                "{}: sshd (pid {}) does not listen on port 22",
                n.name, rec.pid
            )),
            _ => {}
        }
        match &eth0 {
            None => problems.push(format!("{}: no {NODE_DEV}", n.name)),
            Some(info) => {
                if !info.is_up() {
                    problems.push(format!("{}: {NODE_DEV} is {}", n.name, info.operstate));
                }
                if !info.has_address(&n.address) {
                    problems.push(format!(
                        "{}: {NODE_DEV} lost its address {}",
                        n.name, n.address
                    ));
                }
            }
        }
    }
    NodeStatus {
        name: n.name.clone(),
        address: n.address.clone(),
        sshd_pid: n.sshd.as_ref().map(|r| r.pid),
        sshd_alive,
        crashed: n.crashed,
        eth0,
    }
}

fn addresses(info: &LinkInfo) -> String {
    let list: Vec<String> = info
        .ipv4
        .iter()
        .map(|(a, label)| match label {
            Some(l) => format!("{a} ({l})"),
            None => a.clone(),
        })
        .collect();
    if list.is_empty() {
        "-".into()
    } else {
        list.join(", ")
    }
}

/// The `status` table.
pub fn render(state: &LabState, health: &Health) -> String {
    let mut s = String::new();
    let subnet = state
        .subnet()
        .map(|sub| format!("{sub}, controller {}, VIP {}", sub.controller(), sub.vip()))
        .unwrap_or_else(|_| state.subnet.clone());
    let _ = writeln!(
        s,
        "lab {} in {}: subnet {subnet}",
        state.prefix,
        state.dir.display()
    );
    let mut rows = vec![[
        "NODE".to_string(),
        "ADDRESS".into(),
        "SSHD PID".into(),
        "ETH0".into(),
        "ETH0 ADDRESSES".into(),
    ]];
    for n in &health.nodes {
        let sshd = match (n.sshd_pid, n.sshd_alive, n.crashed) {
            (_, _, true) => "crashed".to_string(),
            (Some(pid), true, _) => format!("{pid} alive"),
            (Some(pid), false, _) => format!("{pid} dead"),
            (None, _, _) => "-".into(),
        };
        let (link, addrs) = match &n.eth0 {
            Some(info) => (
                if info.is_up() {
                    "UP".to_string()
                } else {
                    info.operstate.clone()
                },
                addresses(info),
            ),
            None => ("gone".into(), "-".into()),
        };
        rows.push([n.name.clone(), n.address.clone(), sshd, link, addrs]);
    }
    let (link, addrs) = match &health.client {
        Some(info) => (
            if info.is_up() {
                "UP".to_string()
            } else {
                info.operstate.clone()
            },
            addresses(info),
        ),
        None => ("gone".into(), "-".into()),
    };
    rows.push([
        "client".into(),
        state
            .subnet()
            .map(|s| s.client().to_string())
            .unwrap_or_default(),
        "-".into(),
        link,
        addrs,
    ]);
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<w$}", w = widths[c]))
            .collect();
        let _ = writeln!(s, "  {}", line.join("  ").trim_end());
    }
    if health.is_healthy() {
        let _ = writeln!(s, "healthy");
    } else {
        let _ = writeln!(s, "unhealthy:");
        for p in &health.problems {
            let _ = writeln!(s, "  - {p}");
        }
    }
    s
}
