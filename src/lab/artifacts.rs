//! What `up` leaves for its users under `--dir`: the client key, known_hosts,
//! an ssh config and an Ansible-compatible YAML inventory.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::state::LabState;
use super::subnet::Subnet;
use super::LabError;
use crate::shell::quote;

pub const CLIENT_KEY: &str = "id_ed25519";
pub const KNOWN_HOSTS: &str = "known_hosts";
pub const SSH_CONFIG: &str = "ssh_config";
pub const INVENTORY: &str = "lab.yml";
/// The inventory group of the nodes.
pub const NODE_GROUP: &str = "bc";

pub fn client_key(dir: &Path) -> PathBuf {
    dir.join(CLIENT_KEY)
}

pub fn client_public_key(dir: &Path) -> PathBuf {
    dir.join(format!("{CLIENT_KEY}.pub"))
}

/// Every artifact path, in the order `up` prints them.
pub fn paths(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("inventory", dir.join(INVENTORY)),
        ("ssh config", dir.join(SSH_CONFIG)),
        ("known_hosts", dir.join(KNOWN_HOSTS)),
        ("client key", client_key(dir)),
    ]
}

pub fn known_hosts(state: &LabState) -> String {
    let mut s = String::new();
    for n in &state.nodes {
        if let Some(key) = &n.host_key {
            s.push_str(&format!("{} {key}\n", n.address));
        }
    }
    s
}

/// ssh_config values containing spaces must be double-quoted.
fn ssh_config_value(path: &Path) -> String {
    let text = path.display().to_string();
    if text.contains([' ', '\t']) {
        format!("\"{text}\"")
    } else {
        text
    }
}

pub fn ssh_config(state: &LabState) -> String {
    let dir = &state.dir;
    let mut s = format!(
        "# Written by `baton lab up` for lab `{}`; use with `ssh -F {}/{SSH_CONFIG} bc1`.\n",
        state.prefix,
        dir.display()
    );
    let mut names = Vec::new();
    for n in &state.nodes {
        s.push_str(&format!("Host {}\n  HostName {}\n", n.name, n.address));
        names.push(n.name.as_str());
        names.push(n.address.as_str());
    }
    s.push_str(&format!(
        "Host {}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
         GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n  LogLevel ERROR\n",
        names.join(" "),
        ssh_config_value(&client_key(dir)),
        ssh_config_value(&dir.join(KNOWN_HOSTS)),
    ));
    s
}

/// The YAML inventory: group `bc` with connection settings and the lab facts
/// the failover playbooks use.
pub fn inventory(state: &LabState, subnet: &Subnet) -> String {
    let dir = &state.dir;
    let known_hosts = dir.join(KNOWN_HOSTS).display().to_string();
    let mut hosts = Map::new();
    for n in &state.nodes {
        hosts.insert(
            n.name.clone(),
            json!({ "ansible_host": n.address, "bc_index": n.index }),
        );
    }
    let vars = json!({
        "ansible_user": "root",
        "ansible_ssh_private_key_file": client_key(dir).display().to_string(),
        "ansible_ssh_common_args": format!("-o UserKnownHostsFile={} -o IdentitiesOnly=yes", quote(&known_hosts)),
        "baton_ssh_known_hosts_file": known_hosts,
        "lab_prefix": state.prefix,
        "lab_subnet": subnet.to_string(),
        "lab_prefix_len": subnet.prefix_len(),
        "lab_controller_address": subnet.controller().to_string(),
        "lab_client_address": subnet.client().to_string(),
        "lab_client_netns": state.client_netns,
        "vip_address": subnet.vip().to_string(),
    });
    let doc = json!({
        "all": {
            "children": {
                NODE_GROUP: { "hosts": Value::Object(hosts), "vars": vars }
            }
        }
    });
    format!(
        "# Written by `baton lab up` for lab `{}`; removed by `baton lab down`.\n# The client netns has no sshd: reach it with `baton lab shell client -- CMD`.\n{}",
        state.prefix,
        crate::yaml::to_yaml_string(&doc)
    )
}

/// Write the text artifacts (the key is written by ssh-keygen); returns the paths written.
pub fn write_all(state: &LabState) -> Result<Vec<PathBuf>, LabError> {
    let subnet = state.subnet()?;
    let files = [
        (KNOWN_HOSTS, known_hosts(state)),
        (SSH_CONFIG, ssh_config(state)),
        (INVENTORY, inventory(state, &subnet)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = state.dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| LabError::Failed(format!("cannot write {}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::parse;

    fn lab() -> (LabState, Subnet) {
        let subnet: Subnet = "10.77.0.0/24".parse().unwrap();
        let mut state = LabState::new("baton", &subnet, Path::new("/srv/my lab"), 2);
        state.nodes[0].host_key = Some("ssh-ed25519 AAAAone".into());
        state.nodes[1].host_key = Some("ssh-ed25519 AAAAtwo".into());
        (state, subnet)
    }

    #[test]
    fn inventory_is_yaml_with_the_bc_group_and_lab_facts() {
        let (state, subnet) = lab();
        let text = inventory(&state, &subnet);
        let doc = parse(&SourceFile::new("lab.yml", text.as_str())).unwrap();
        let bc = doc
            .get("all")
            .unwrap()
            .get("children")
            .unwrap()
            .get("bc")
            .unwrap();
        let bc2 = bc.get("hosts").unwrap().get("bc2").unwrap();
        assert_eq!(
            bc2.get("ansible_host").unwrap().scalar_text().unwrap(),
            "10.77.0.12"
        );
        assert_eq!(bc2.get("bc_index").unwrap().scalar_text().unwrap(), "2");
        let vars = bc.get("vars").unwrap();
        let var = |k: &str| vars.get(k).unwrap().scalar_text().unwrap();
        assert_eq!(var("ansible_user"), "root");
        assert_eq!(
            var("ansible_ssh_private_key_file"),
            "/srv/my lab/id_ed25519"
        );
        assert_eq!(var("baton_ssh_known_hosts_file"), "/srv/my lab/known_hosts");
        assert_eq!(
            var("ansible_ssh_common_args"),
            "-o UserKnownHostsFile='/srv/my lab/known_hosts' -o IdentitiesOnly=yes"
        );
        assert_eq!(var("vip_address"), "10.77.0.254");
        assert_eq!(var("lab_subnet"), "10.77.0.0/24");
        assert_eq!(var("lab_prefix_len"), "24");
        assert_eq!(var("lab_client_netns"), "baton-client");
    }

    #[test]
    fn known_hosts_and_ssh_config_name_every_node() {
        let (state, _) = lab();
        assert_eq!(
            known_hosts(&state),
            "10.77.0.11 ssh-ed25519 AAAAone\n10.77.0.12 ssh-ed25519 AAAAtwo\n"
        );
        let cfg = ssh_config(&state);
        assert!(cfg.contains("Host bc2\n  HostName 10.77.0.12\n"));
        assert!(cfg.contains("Host bc1 10.77.0.11 bc2 10.77.0.12\n"));
        assert!(cfg.contains("  IdentityFile \"/srv/my lab/id_ed25519\"\n"));
        assert!(cfg.contains("  UserKnownHostsFile \"/srv/my lab/known_hosts\"\n"));
        assert!(cfg.contains("  StrictHostKeyChecking yes\n"));
    }
}
