//! `baton lab up`: build the lab, recording each step before taking it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::artifacts;
use super::dir;
use super::health::{self, BRIDGE, BRIDGE_ROOT_PORT, NODE_DEV};
use super::netns::{self, Ip};
use super::node::{self, Starting};
use super::preflight::{self, Tools, FOR_UP};
use super::process::named_netns_inode;
use super::state::{LabState, NetnsRecord};
use super::subnet::{Subnet, MAX_NODES};
use super::LabError;

pub const DEFAULT_NODES: u32 = 2;
pub const DEFAULT_SUBNET: &str = "10.77.0.0/24";
pub const DEFAULT_PREFIX: &str = "baton";
/// Longest prefix such that `<prefix>-h` fits Linux's 15-byte interface names.
const MAX_PREFIX_LEN: usize = 12;

pub struct UpOptions {
    pub dir: PathBuf,
    pub prefix: String,
    /// Whether --prefix was given (so a different recorded prefix is a conflict).
    pub prefix_given: bool,
    pub nodes: Option<u32>,
    pub subnet: Option<String>,
}

pub fn validate_prefix(prefix: &str) -> Result<(), LabError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_LEN
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(LabError::Precondition(format!(
            "--prefix `{prefix}`: use 1 to {MAX_PREFIX_LEN} lowercase letters, digits or `-`, starting with a letter"
        )))
    }
}

/// The root-namespace veth of a lab.
pub fn host_veth(prefix: &str) -> String {
    format!("{prefix}-h")
}

pub fn up(opts: UpOptions) -> Result<(), LabError> {
    let started = Instant::now();
    let tools = preflight::check(FOR_UP)?;
    let ip = Ip::new(&tools);
    validate_prefix(&opts.prefix)?;
    let subnet: Subnet = opts
        .subnet
        .as_deref()
        .unwrap_or(DEFAULT_SUBNET)
        .parse()
        .map_err(|e| LabError::Precondition(format!("--subnet {e}")))?;
    let node_count = opts.nodes.unwrap_or(DEFAULT_NODES);
    if !(1..=MAX_NODES).contains(&node_count) {
        return Err(LabError::Precondition(format!(
            "--nodes must be 1 to {MAX_NODES}"
        )));
    }

    let created_dirs = dir::create_recording(&opts.dir)?;
    let _lock = dir::lock(&opts.dir)?;
    if let Some(state) = LabState::load(&opts.dir)? {
        return already_there(&state, &opts, &ip);
    }
    let mut state = LabState::new(&opts.prefix, &subnet, &opts.dir, node_count);
    if let Err(e) = refuse_conflicts(&state, &ip) {
        dir::remove_if_empty(&created_dirs);
        return Err(e);
    }
    state.created_dirs = created_dirs;
    state.save()?;
    build(&mut state, &tools, &ip, &subnet).map_err(|e| {
        LabError::Failed(format!(
            "{e}\nthe lab is half-up; `baton lab down --dir {}` removes what was created",
            opts.dir.display()
        ))
    })?;
    say!(
        "lab {} is up: {} node(s) on {} in {:.2} s",
        state.prefix,
        state.nodes.len(),
        subnet,
        started.elapsed().as_secs_f64()
    );
    print_summary(&state, &subnet);
    Ok(())
}

/// A lab is recorded in the directory: fine if healthy and asked for the same shape.
fn already_there(state: &LabState, opts: &UpOptions, ip: &Ip) -> Result<(), LabError> {
    let dir = opts.dir.display();
    let mut differs = Vec::new();
    if opts.prefix_given && opts.prefix != state.prefix {
        differs.push(format!(
            "prefix {} (asked for {})",
            state.prefix, opts.prefix
        ));
    }
    if let Some(n) = opts.nodes {
        if n as usize != state.nodes.len() {
            differs.push(format!("{} node(s) (asked for {n})", state.nodes.len()));
        }
    }
    if let Some(s) = &opts.subnet {
        if s.parse::<Subnet>().ok() != state.subnet().ok() {
            differs.push(format!("subnet {} (asked for {s})", state.subnet));
        }
    }
    if !differs.is_empty() {
        return Err(LabError::Precondition(format!(
            "{dir} already holds a lab with {}; `baton lab down --dir {dir}` first, or use another --dir",
            differs.join(", ")
        )));
    }
    let health = health::check(state, ip);
    if health.is_healthy() {
        say!(
            "lab {} is already up and healthy ({} node(s)); nothing changed",
            state.prefix,
            state.nodes.len()
        );
        print_summary(state, &state.subnet()?);
        return Ok(());
    }
    Err(LabError::Failed(format!(
        "the lab in {dir} is half-up:\n  - {}\n`baton lab down --dir {dir}` removes it, then `baton lab up` builds it again",
        health.problems.join("\n  - ")
    )))
}

/// Refuse to touch anything that is not ours: names, the subnet, files in the directory.
fn refuse_conflicts(state: &LabState, ip: &Ip) -> Result<(), LabError> {
    let dir = &state.dir;
    let mut names = vec![state.bridge_netns(), state.client_netns.clone()];
    names.extend(state.nodes.iter().map(|n| n.netns.clone()));
    for name in &names {
        if netns::netns_exists(name) {
            return Err(LabError::Precondition(format!(
                "network namespace {name} already exists but is not recorded in {}: another lab uses prefix `{}`; choose another --prefix (or --dir of that lab)",
                dir.display(),
                state.prefix
            )));
        }
    }
    let veth = host_veth(&state.prefix);
    if ip.root_link_exists(&veth) {
        return Err(LabError::Precondition(format!(
            "interface {veth} already exists: another lab uses prefix `{}`; choose another --prefix",
            state.prefix
        )));
    }
    let subnet = state.subnet()?;
    if let Some((_, what)) = ip
        .root_ipv4_networks()?
        .into_iter()
        .find(|(net, _)| net.overlaps(&subnet))
    {
        return Err(LabError::Precondition(format!(
            "subnet {subnet} collides with {what} on this machine; choose another --subnet"
        )));
    }
    let mut ours: Vec<PathBuf> = artifacts::paths(dir).into_iter().map(|(_, p)| p).collect();
    ours.push(artifacts::client_public_key(dir));
    ours.extend(state.nodes.iter().map(|n| disk_path(dir, &n.name)));
    if let Some(p) = ours.iter().find(|p| p.symlink_metadata().is_ok()) {
        return Err(LabError::Precondition(format!(
            "{} already exists but no lab is recorded in {}; move it away or choose another --dir",
            p.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn disk_path(dir: &Path, node: &str) -> PathBuf {
    dir.join("nodes").join(node)
}

/// Build the lab in stages, recording each thing the moment it exists so
/// that `down` can remove it even if `up` dies half-way.
fn build(state: &mut LabState, tools: &Tools, ip: &Ip, subnet: &Subnet) -> Result<(), LabError> {
    let names = record_names(state)?;
    create_links(state, ip, subnet, &names)?;
    configure_namespaces(state, ip, subnet)?;
    make_disks(state, subnet)?;
    make_keys(state, tools)?;
    start_nodes(state, tools)?;
    let written = artifacts::write_all(state)?;
    state.files.extend(written);
    state.complete = true;
    state.save()
}

/// Names first: from here on `down` knows what to remove even if we die.
fn record_names(state: &mut LabState) -> Result<Vec<String>, LabError> {
    let mut names = vec![state.bridge_netns(), state.client_netns.clone()];
    names.extend(state.nodes.iter().map(|n| n.netns.clone()));
    state.netns = names
        .iter()
        .map(|name| NetnsRecord {
            name: name.clone(),
            inode: None,
        })
        .collect();
    state.host_veth = Some(host_veth(&state.prefix));
    state.save()?;
    Ok(names)
}

/// The namespaces and the veth pairs between them, in one `ip -batch`.
fn create_links(
    state: &mut LabState,
    ip: &Ip,
    subnet: &Subnet,
    names: &[String],
) -> Result<(), LabError> {
    let bridge_ns = state.bridge_netns();
    let client_ns = state.client_netns.clone();
    let veth = host_veth(&state.prefix);
    let mut root = Vec::new();
    root.extend(names.iter().map(|n| format!("netns add {n}")));
    root.push(format!(
        "link add {veth} type veth peer name {BRIDGE_ROOT_PORT} netns {bridge_ns}"
    ));
    root.push(format!(
        "link add client netns {bridge_ns} type veth peer name {NODE_DEV} netns {client_ns}"
    ));
    for n in &state.nodes {
        root.push(format!(
            "link add {} netns {bridge_ns} type veth peer name {NODE_DEV} netns {}",
            n.name, n.netns
        ));
    }
    root.push(format!(
        "addr add {}/{} dev {veth}",
        subnet.controller(),
        subnet.prefix_len()
    ));
    root.push(format!("link set {veth} up"));
    ip.batch(None, &root)?;
    for ns in &mut state.netns {
        ns.inode = named_netns_inode(&netns::netns_path(&ns.name));
    }
    state.save()
}

/// Inside each namespace: the bridge, or an endpoint's address; all at once.
fn configure_namespaces(state: &LabState, ip: &Ip, subnet: &Subnet) -> Result<(), LabError> {
    let len = subnet.prefix_len();
    let mut per_ns: Vec<(String, Vec<String>)> = Vec::new();
    let mut bridge = vec![
        "link set lo up".to_string(),
        format!("link add {BRIDGE} type bridge"),
        format!("link set {BRIDGE} up"),
    ];
    let ports = std::iter::once(BRIDGE_ROOT_PORT.to_string())
        .chain(std::iter::once("client".to_string()))
        .chain(state.nodes.iter().map(|n| n.name.clone()));
    for port in ports {
        bridge.push(format!("link set {port} master {BRIDGE} up"));
    }
    per_ns.push((state.bridge_netns(), bridge));
    let endpoint = |addr: String| {
        vec![
            "link set lo up".to_string(),
            format!("addr add {addr}/{len} dev {NODE_DEV}"),
            format!("link set {NODE_DEV} up"),
        ]
    };
    per_ns.push((
        state.client_netns.clone(),
        endpoint(subnet.client().to_string()),
    ));
    for n in &state.nodes {
        per_ns.push((n.netns.clone(), endpoint(n.address.clone())));
    }
    std::thread::scope(|s| {
        let runs: Vec<_> = per_ns
            .iter()
            .map(|(ns, lines)| s.spawn(move || ip.batch(Some(ns), lines)))
            .collect();
        runs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(LabError::Failed("ip batch thread panicked".into())))
            })
            .collect::<Result<Vec<()>, LabError>>()
    })?;
    Ok(())
}

/// Disks: each directory is recorded the moment it exists.
fn make_disks(state: &mut LabState, subnet: &Subnet) -> Result<(), LabError> {
    let nodes_dir = state.dir.join("nodes");
    if !nodes_dir.exists() {
        std::fs::create_dir(&nodes_dir)
            .map_err(|e| LabError::Failed(format!("cannot create {}: {e}", nodes_dir.display())))?;
        state.created_dirs.push(nodes_dir);
        state.save()?;
    }
    let hosts = node::hosts_file(state, subnet);
    for i in 0..state.nodes.len() {
        let name = state.nodes[i].name.clone();
        let disk = disk_path(&state.dir, &name);
        std::fs::create_dir(&disk).map_err(|e| {
            LabError::Failed(format!(
                "cannot create the disk of {name} at {}: {e}",
                disk.display()
            ))
        })?;
        state.nodes[i].storage = Some(disk.clone());
        state.save()?;
        node::fill_disk(&disk, &name, &hosts)?;
    }
    Ok(())
}

/// Keys, all at once: the client key and each node's host key.
fn make_keys(state: &mut LabState, tools: &Tools) -> Result<(), LabError> {
    let client_key = artifacts::client_key(&state.dir);
    state.files.push(client_key.clone());
    state.files.push(artifacts::client_public_key(&state.dir));
    state.save()?;
    let client_job = node::keygen(tools, &client_key, &format!("baton-lab-{}", state.prefix))?;
    let mut host_jobs = Vec::new();
    for n in &state.nodes {
        let disk = n.storage.clone().unwrap_or_default();
        let path = node::host_key_path(&disk);
        host_jobs.push((
            node::keygen(tools, &path, &format!("root@{}", n.name))?,
            path,
        ));
    }
    let client_public = node::finish_keygen(client_job, &client_key)?;
    for (i, (job, path)) in host_jobs.into_iter().enumerate() {
        state.nodes[i].host_key = Some(node::finish_keygen(job, &path)?);
        node::authorize(&node::disk_of(&state.nodes[i])?, &client_public)?;
    }
    state.save()
}

/// Nodes, all at once; each one's processes are recorded as they start.
fn start_nodes(state: &mut LabState, tools: &Tools) -> Result<(), LabError> {
    let mut starting = Vec::new();
    for n in &state.nodes {
        let disk = node::disk_of(n)?;
        let child = node::spawn(tools, n, &disk, &state.dir)?;
        starting.push(Starting::new(
            &n.name,
            &disk,
            child,
            state.netns_inode(&n.netns)?,
        )?);
    }
    for s in &starting {
        if let Some(n) = state.node_mut(&s.name) {
            n.unshare = Some(s.unshare.clone());
        }
    }
    state.save()?;
    node::wait_ready(starting, |name, started| {
        if let Some(n) = state.node_mut(name) {
            n.init = Some(started.init);
            n.sshd = Some(started.sshd);
        }
        state.save()
    })
}

pub fn print_summary(state: &LabState, subnet: &Subnet) {
    let dir = state.dir.display();
    for n in &state.nodes {
        let pid = n
            .sshd
            .as_ref()
            .map(|r| format!("sshd pid {}", r.pid))
            .unwrap_or_default();
        say!("  {:<6} {:<15} {pid}", n.name, n.address);
    }
    say!(
        "  {:<6} {:<15} netns {} (`baton lab shell client --dir {dir} -- CMD`)",
        "client",
        subnet.client(),
        state.client_netns
    );
    for (what, path) in artifacts::paths(&state.dir) {
        say!("  {:<12} {}", format!("{what}:"), path.display());
    }
    say!(
        "  try: ssh -F {dir}/{} bc1 hostname   |   baton lab down --dir {dir}",
        artifacts::SSH_CONFIG
    );
}
