//! Failure drills on a running lab: `link` (cut or restore a node's cable),
//! `partition` (the nodes cannot reach each other, everyone else reaches
//! them), `crash` (abrupt host failure) and `boot` (the host coming back).
//!
//! A crash is what a power cut does: every process of the node dies at once
//! (SIGKILL to its init, which takes the whole PID namespace with it) and the
//! node stops answering on the network (its eth0 goes down, so a VIP it held
//! no longer answers ARP or ping). Its disk — the overlay upper dirs under
//! /etc /opt /var /home /root — survives. `boot` is the reboot: fresh /run and
//! /tmp, addresses reset to the node's own (a VIP does not survive a reboot),
//! the same host key, sshd started again.

use std::path::Path;
use std::time::Instant;

use super::down::stop_processes;
use super::health::NODE_DEV;
use super::netns::{self, Ip};
use super::node::{self, Starting};
use super::preflight::{self, Tool, FOR_UP};
use super::process;
use super::shell::CLIENT;
use super::state::{LabState, NetnsRecord};
use super::LabError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkState {
    Up,
    Down,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PartitionState {
    On,
    Off,
}

fn netns_of(state: &LabState, target: &str) -> Result<String, LabError> {
    if target == CLIENT {
        return Ok(state.client_netns.clone());
    }
    state
        .node(target)
        .map(|n| n.netns.clone())
        .ok_or_else(|| unknown_node(state, target))
}

fn unknown_node(state: &LabState, target: &str) -> LabError {
    let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
    LabError::Precondition(format!(
        "no node `{target}` in lab {}; nodes: {}",
        state.prefix,
        names.join(", ")
    ))
}

pub fn link(lab_dir: &Path, target: &str, to: LinkState) -> Result<(), LabError> {
    let tools = preflight::check(&[Tool::Ip])?;
    let state = super::load_required(lab_dir)?;
    let ns = netns_of(&state, target)?;
    let word = match to {
        LinkState::Up => "up",
        LinkState::Down => "down",
    };
    Ip::new(&tools).run(&["-n", &ns, "link", "set", "dev", NODE_DEV, word])?;
    say!("{target}: {NODE_DEV} {word}");
    Ok(())
}

/// `on`: every node's bridge port isolated (the Linux bridge's port
/// isolation, `bridge_slave isolated`: an isolated port forwards only to
/// ports that are not isolated), so no frame passes between two nodes, not
/// even ARP, while the controller's and the client's ports still reach all
/// of them: a partition between the nodes only. `off` undoes it.
pub fn partition(lab_dir: &Path, on: bool) -> Result<(), LabError> {
    let tools = preflight::check(&[Tool::Ip])?;
    let state = super::load_required(lab_dir)?;
    let word = if on { "on" } else { "off" };
    let cmds: Vec<String> = state
        .nodes
        .iter()
        .map(|n| format!("link set dev {} type bridge_slave isolated {word}", n.name))
        .collect();
    Ip::new(&tools).batch(Some(&state.bridge_netns()), &cmds)?;
    let names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
    if on {
        say!(
            "partition: {} cannot reach each other; the controller and the client reach every node; `baton lab partition off` heals it",
            names.join(", ")
        );
    } else {
        say!(
            "partition healed: {} reach each other again",
            names.join(", ")
        );
    }
    Ok(())
}

pub fn crash(lab_dir: &Path, target: &str) -> Result<(), LabError> {
    let tools = preflight::check(&[Tool::Ip])?;
    let dir_lock = super::dir::lock(lab_dir)?;
    let mut state = super::load_required(lab_dir)?;
    let node = state
        .node(target)
        .cloned()
        .ok_or_else(|| unknown_node(&state, target))?;
    let recorded: Vec<_> = [&node.unshare, &node.init, &node.sshd]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let own_ns: Vec<NetnsRecord> = state
        .netns
        .iter()
        .filter(|ns| ns.name == node.netns)
        .cloned()
        .collect();
    let killed = stop_processes(&recorded, &own_ns).map_err(LabError::Failed)?;
    Ip::new(&tools).run(&["-n", &node.netns, "link", "set", "dev", NODE_DEV, "down"])?;
    if let Some(n) = state.node_mut(target) {
        n.crashed = true;
    }
    state.save()?;
    drop(dir_lock);
    say!("{target} crashed: {killed} process(es) killed, {NODE_DEV} down; `baton lab boot {target}` brings it back");
    Ok(())
}

pub fn boot(lab_dir: &Path, target: &str) -> Result<(), LabError> {
    let started = Instant::now();
    let tools = preflight::check(FOR_UP)?;
    let ip = Ip::new(&tools);
    let dir_lock = super::dir::lock(lab_dir)?;
    let mut state = super::load_required(lab_dir)?;
    let node = state
        .node(target)
        .cloned()
        .ok_or_else(|| unknown_node(&state, target))?;
    if node.init.as_ref().is_some_and(process::is_alive) {
        return Err(LabError::Precondition(format!(
            "{target} is running; `baton lab crash {target}` first"
        )));
    }
    if !netns::netns_exists(&node.netns) {
        return Err(LabError::Failed(format!(
            "{target}: its network namespace {} is gone; `baton lab down` and `up` rebuild the lab",
            node.netns
        )));
    }
    let disk = node::disk_of(&node)?;
    let subnet = state.subnet()?;
    // Leftovers of a half-dead node (e.g. its sshd outlived init) go first.
    let recorded: Vec<_> = [&node.unshare, &node.sshd]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let own_ns: Vec<NetnsRecord> = state
        .netns
        .iter()
        .filter(|ns| ns.name == node.netns)
        .cloned()
        .collect();
    stop_processes(&recorded, &own_ns).map_err(LabError::Failed)?;
    ip.batch(
        Some(&node.netns),
        &[
            format!("addr flush dev {NODE_DEV}"),
            format!(
                "addr add {}/{} dev {NODE_DEV}",
                node.address,
                subnet.prefix_len()
            ),
            format!("link set {NODE_DEV} up"),
        ],
    )?;
    let child = node::spawn(&tools, &node, &disk, &state.dir)?;
    let starting = Starting::new(&node.name, &disk, child, state.netns_inode(&node.netns)?)?;
    if let Some(n) = state.node_mut(target) {
        n.unshare = Some(starting.unshare.clone());
        n.init = None;
        n.sshd = None;
    }
    state.save()?;
    let mut sshd_pid = 0;
    node::wait_ready(vec![starting], |_, s| {
        sshd_pid = s.sshd.pid;
        if let Some(n) = state.node_mut(target) {
            n.init = Some(s.init);
            n.sshd = Some(s.sshd);
            n.crashed = false;
        }
        state.save()
    })?;
    drop(dir_lock);
    say!(
        "{target} booted in {:.2} s (sshd pid {sshd_pid})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
