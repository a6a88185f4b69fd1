//! Network namespaces, veths and the bridge, through iproute2's `ip`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::preflight::{Tool, Tools};
use super::subnet::Subnet;
use super::LabError;

/// Where iproute2 keeps named network namespaces.
pub const NETNS_DIR: &str = "/run/netns";

pub fn netns_path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

pub fn netns_exists(name: &str) -> bool {
    netns_path(name).exists()
}

/// The state of one interface, from `ip -j addr show`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    /// Administratively up (`ip link set ... up`).
    pub admin_up: bool,
    /// `operstate`: UP, DOWN, LOWERLAYERDOWN, ...
    pub operstate: String,
    pub mac: String,
    /// IPv4 addresses as `addr/len`, with their label when it differs from the device name.
    pub ipv4: Vec<(String, Option<String>)>,
}

impl LinkInfo {
    pub fn is_up(&self) -> bool {
        self.admin_up && self.operstate == "UP"
    }

    pub fn has_address(&self, addr: &str) -> bool {
        self.ipv4
            .iter()
            .any(|(a, _)| a.split('/').next() == Some(addr))
    }
}

pub struct Ip {
    path: PathBuf,
}

impl Ip {
    pub fn new(tools: &Tools) -> Ip {
        Ip {
            path: tools.path(Tool::Ip),
        }
    }

    /// Run `ip ARGS`; stdout on success, the command and its stderr on failure.
    pub fn run(&self, args: &[&str]) -> Result<String, LabError> {
        let out = Command::new(&self.path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| LabError::Failed(format!("cannot run {}: {e}", self.path.display())))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(LabError::Failed(format!(
                "`ip {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Run many `ip` commands in one process (`ip -batch -`), optionally inside a netns.
    /// Stops at the first failing line.
    pub fn batch(&self, netns: Option<&str>, lines: &[String]) -> Result<(), LabError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut cmd = Command::new(&self.path);
        if let Some(ns) = netns {
            cmd.args(["-n", ns]);
        }
        let mut child = cmd
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LabError::Failed(format!("cannot run {}: {e}", self.path.display())))?;
        let script = lines.join("\n") + "\n";
        if let Some(mut stdin) = child.stdin.take() {
            // A write error means ip stopped early; its exit status says why.
            let _ = stdin.write_all(script.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| LabError::Failed(format!("ip -batch: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let place = netns.map(|n| format!(" in netns {n}")).unwrap_or_default();
        Err(LabError::Failed(format!(
            "ip{place} failed: {} (commands: {})",
            String::from_utf8_lossy(&out.stderr).trim(),
            lines.join("; ")
        )))
    }

    /// Whether an interface of this name exists in the root namespace.
    pub fn root_link_exists(&self, name: &str) -> bool {
        self.run(&["-o", "link", "show", "dev", name]).is_ok()
    }

    /// State and IPv4 addresses of one device, in a netns (or the root namespace).
    pub fn link_info(&self, netns: Option<&str>, dev: &str) -> Result<LinkInfo, LabError> {
        let mut args = vec!["-j"];
        if let Some(ns) = netns {
            args.extend(["-n", ns]);
        }
        args.extend(["addr", "show", "dev", dev]);
        let text = self.run(&args)?;
        parse_link_info(&text).ok_or_else(|| {
            LabError::Failed(format!(
                "unexpected output from `ip {}`: {text}",
                args.join(" ")
            ))
        })
    }

    /// Every IPv4 network the root namespace routes or owns, with a description
    /// (for refusing a lab subnet that would collide with it).
    pub fn root_ipv4_networks(&self) -> Result<Vec<(Subnet, String)>, LabError> {
        let routes = self.run(&["-j", "-4", "route", "show", "table", "all"])?;
        let addrs = self.run(&["-j", "-4", "addr", "show"])?;
        Ok(parse_networks(&routes, &addrs))
    }
}

pub fn parse_link_info(json: &str) -> Option<LinkInfo> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let link = v.as_array()?.first()?;
    let name = link.get("ifname")?.as_str()?;
    let admin_up = link
        .get("flags")?
        .as_array()?
        .iter()
        .any(|f| f.as_str() == Some("UP"));
    let ipv4 = link
        .get("addr_info")
        .and_then(|a| a.as_array())
        .map(|infos| {
            infos
                .iter()
                .filter(|i| i.get("family").and_then(|f| f.as_str()) == Some("inet"))
                .filter_map(|i| {
                    let local = i.get("local")?.as_str()?;
                    let len = i.get("prefixlen")?.as_u64()?;
                    let label = i
                        .get("label")
                        .and_then(|l| l.as_str())
                        .filter(|l| *l != name)
                        .map(str::to_string);
                    Some((format!("{local}/{len}"), label))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(LinkInfo {
        admin_up,
        operstate: link
            .get("operstate")
            .and_then(|s| s.as_str())
            .unwrap_or("UNKNOWN")
            .to_string(),
        mac: link
            .get("address")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_string(),
        ipv4,
    })
}

fn parse_networks(routes_json: &str, addrs_json: &str) -> Vec<(Subnet, String)> {
    let mut out = Vec::new();
    let routes: serde_json::Value = serde_json::from_str(routes_json).unwrap_or_default();
    for r in routes.as_array().into_iter().flatten() {
        let Some(dst) = r.get("dst").and_then(|d| d.as_str()) else {
            continue;
        };
        if let Some(net) = Subnet::parse_loose(dst) {
            let dev = r.get("dev").and_then(|d| d.as_str()).unwrap_or("?");
            out.push((net, format!("route {dst} dev {dev}")));
        }
    }
    let addrs: serde_json::Value = serde_json::from_str(addrs_json).unwrap_or_default();
    for link in addrs.as_array().into_iter().flatten() {
        let dev = link.get("ifname").and_then(|d| d.as_str()).unwrap_or("?");
        for a in link
            .get("addr_info")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            let (Some(local), Some(len)) = (
                a.get("local").and_then(|l| l.as_str()),
                a.get("prefixlen").and_then(|l| l.as_u64()),
            ) else {
                continue;
            };
            if let Some(net) = Subnet::parse_loose(&format!("{local}/{len}")) {
                out.push((net, format!("address {local}/{len} on {dev}")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH0: &str = r#"[{"ifindex":2,"link_index":4,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"8a:1f:00:aa:bb:cc","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":0,"addr_info":[{"family":"inet","local":"10.77.0.11","prefixlen":24,"broadcast":"10.77.0.255","scope":"global","label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet","local":"10.77.0.100","prefixlen":24,"scope":"global","secondary":true,"label":"eth0:1","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]"#;

    #[test]
    fn link_info_shows_a_labelled_vip() {
        let info = parse_link_info(ETH0).unwrap();
        assert!(info.is_up());
        assert_eq!(info.mac, "8a:1f:00:aa:bb:cc");
        assert_eq!(
            info.ipv4,
            vec![
                ("10.77.0.11/24".to_string(), None),
                ("10.77.0.100/24".to_string(), Some("eth0:1".to_string()))
            ]
        );
        assert!(info.has_address("10.77.0.100"));
        assert!(!info.has_address("10.77.0.1"));
        let down = ETH0
            .replace(r#","UP","LOWER_UP""#, "")
            .replace(r#""operstate":"UP""#, r#""operstate":"DOWN""#);
        let info = parse_link_info(&down).unwrap();
        assert!(!info.admin_up && !info.is_up());
        assert_eq!(info.operstate, "DOWN");
    }

    #[test]
    fn root_networks_come_from_routes_and_addresses() {
        let routes = r#"[{"dst":"default","gateway":"172.17.0.1","dev":"eth0"},{"dst":"10.77.0.0/24","dev":"baton-h","protocol":"kernel"},{"type":"local","dst":"192.168.1.7","table":"local","dev":"wlan0"}]"#;
        let addrs = r#"[{"ifname":"wlan0","addr_info":[{"family":"inet","local":"192.168.1.7","prefixlen":24}]}]"#;
        let nets = parse_networks(routes, addrs);
        let texts: Vec<String> = nets.iter().map(|(n, d)| format!("{n} {d}")).collect();
        assert_eq!(
            texts,
            vec![
                "10.77.0.0/24 route 10.77.0.0/24 dev baton-h",
                "192.168.1.7/32 route 192.168.1.7 dev wlan0",
                "192.168.1.0/24 address 192.168.1.7/24 on wlan0",
            ]
        );
    }
}
