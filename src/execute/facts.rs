//! The small fact set `gather_facts` collects, in ONE script: hostname, OS,
//! interfaces with their IPv4 addresses, and the default-route interface.

use serde_json::{json, Map, Value};

use crate::modules::TaskResult;
use crate::shell::{emit, markers};
use crate::transport::ExecOutput;

pub fn script(nonce: &str) -> String {
    format!(
        r#"{host}
{fqdn}
{kernel}
{arch}
{user}
if [ -r /etc/os-release ]; then . /etc/os-release; fi
{os_id}
{os_version}
{os_name}
{os_like}
if command -v ip >/dev/null 2>&1; then
  ip -o -4 addr show 2>/dev/null | while read -r _ ifname _ cidr rest; do {addr}; done
  ip -o link show 2>/dev/null | while IFS=': ' read -r _ ifname rest; do {link}; done
  ip -o -4 route show default 2>/dev/null | head -n1 | while read -r _ _ gw _ dev rest; do {route}; done
fi
"#,
        host = emit(nonce, "hostname", "\"$(hostname 2>/dev/null || uname -n)\""),
        fqdn = emit(nonce, "fqdn", "\"$(hostname -f 2>/dev/null || uname -n)\""),
        kernel = emit(nonce, "kernel", "\"$(uname -r)\""),
        arch = emit(nonce, "arch", "\"$(uname -m)\""),
        user = emit(nonce, "user", "\"$(id -un)\""),
        os_id = emit(nonce, "os_id", "\"${ID:-$(uname -s)}\""),
        os_version = emit(nonce, "os_version", "\"${VERSION_ID:-}\""),
        os_name = emit(nonce, "os_name", "\"${PRETTY_NAME:-$(uname -s)}\""),
        os_like = emit(nonce, "os_like", "\"${ID_LIKE:-}\""),
        addr = emit(nonce, "addr", "\"$ifname $cidr $rest\""),
        link = emit(nonce, "link", "\"${ifname%@*}\""),
        route = emit(nonce, "route", "\"$dev $gw\""),
    )
}

/// Read the facts script's answer.
pub fn answer(out: &ExecOutput, nonce: &str) -> TaskResult {
    if out.code != Some(0) {
        return TaskResult::failed(format!(
            "gathering facts failed (exit {:?}): {}",
            out.code,
            out.stderr.trim()
        ));
    }
    let mut result = TaskResult::ok();
    result.facts = parse(&out.stdout, nonce);
    result
}

fn os_family(id: &str, like: &str) -> &'static str {
    let all = format!("{id} {like}");
    if all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if all.contains("rhel") || all.contains("fedora") || all.contains("centos") {
        "RedHat"
    } else if all.contains("suse") {
        "Suse"
    } else {
        "Linux"
    }
}

/// Facts as `ansible_*` variables (and the same under `ansible_facts`
/// without the prefix), the names Ansible uses.
pub fn parse(stdout: &str, nonce: &str) -> Map<String, Value> {
    let mut facts = Map::new();
    let mut interfaces: Vec<String> = Vec::new();
    let mut addresses: Map<String, Value> = Map::new();
    let mut all_ipv4 = Vec::new();
    let mut default = None;
    let (mut os_id, mut os_like) = (String::new(), String::new());
    for (key, value) in markers(stdout, nonce) {
        match key {
            "hostname" => {
                facts.insert(
                    "hostname".into(),
                    json!(value.split('.').next().unwrap_or(value)),
                );
                facts.insert("nodename".into(), json!(value));
            }
            "fqdn" => {
                facts.insert("fqdn".into(), json!(value));
            }
            "kernel" => {
                facts.insert("kernel".into(), json!(value));
            }
            "arch" => {
                facts.insert("architecture".into(), json!(value));
            }
            "user" => {
                facts.insert("user_id".into(), json!(value));
            }
            "os_id" => {
                os_id = value.to_string();
                facts.insert("distribution".into(), json!(capitalize(value)));
            }
            "os_like" => os_like = value.to_string(),
            "os_version" => {
                facts.insert("distribution_version".into(), json!(value));
                facts.insert(
                    "distribution_major_version".into(),
                    json!(value.split('.').next().unwrap_or(value)),
                );
            }
            "os_name" => {
                facts.insert("os_pretty_name".into(), json!(value));
            }
            "link" if !value.is_empty() && !interfaces.iter().any(|i| i == value) => {
                interfaces.push(value.to_string());
            }
            "addr" => {
                // "eth0 10.77.0.11/24 brd 10.77.0.255 scope global eth0:1"
                let mut parts = value.split_whitespace();
                let (Some(dev), Some(cidr)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let label = value.split_whitespace().last().unwrap_or(dev).to_string();
                let (ip, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
                all_ipv4.push(json!(ip));
                let entry = addresses.entry(dev.to_string()).or_insert_with(
                    || json!({"device": dev, "ipv4": null, "ipv4_secondaries": []}),
                );
                let address = json!({"address": ip, "prefix": prefix, "label": label});
                if entry["ipv4"].is_null() {
                    entry["ipv4"] = address;
                } else if let Some(list) = entry["ipv4_secondaries"].as_array_mut() {
                    list.push(address);
                }
            }
            "route" => {
                let mut parts = value.split_whitespace();
                if let (Some(dev), Some(gw)) = (parts.next(), parts.next()) {
                    default = Some((dev.to_string(), gw.to_string()));
                }
            }
            _ => {}
        }
    }
    facts.insert("os_family".into(), json!(os_family(&os_id, &os_like)));
    facts.insert("system".into(), json!("Linux"));
    for dev in addresses.keys() {
        if !interfaces.contains(dev) {
            interfaces.push(dev.clone());
        }
    }
    if let Some((dev, gw)) = &default {
        let address = addresses
            .get(dev)
            .map(|a| a["ipv4"]["address"].clone())
            .unwrap_or(Value::Null);
        facts.insert(
            "default_ipv4".into(),
            json!({"interface": dev, "gateway": gw, "address": address}),
        );
    } else {
        facts.insert("default_ipv4".into(), json!({}));
    }
    facts.insert("interfaces".into(), json!(interfaces));
    facts.insert("all_ipv4_addresses".into(), Value::Array(all_ipv4));
    for (dev, info) in addresses {
        facts.insert(dev.replace(['-', '.'], "_"), info);
    }
    let mut out = Map::new();
    for (k, v) in &facts {
        out.insert(format!("ansible_{k}"), v.clone());
    }
    out.insert("ansible_facts".into(), Value::Object(facts));
    out
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gathers_from_this_machine() {
        let nonce = "n1";
        let conn = crate::transport::local::LocalConnection::new();
        let out = conn
            .exec(&crate::transport::ExecRequest {
                script: script(nonce),
                ..Default::default()
            })
            .await
            .unwrap();
        let facts = answer(&out, nonce).facts;
        assert!(!facts["ansible_hostname"].as_str().unwrap().is_empty());
        assert!(facts["ansible_interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "lo"));
        assert_eq!(facts["ansible_lo"]["ipv4"]["address"], "127.0.0.1");
        assert_eq!(facts["ansible_facts"]["lo"]["ipv4"]["prefix"], "8");
    }

    #[test]
    fn parses_vip_as_secondary_with_label() {
        let out = "__baton_x addr eth0 10.77.0.11/24 brd 10.77.0.255 scope global eth0\n__baton_x addr eth0 10.77.0.100/24 scope global secondary eth0:1\n__baton_x route eth0 10.77.0.1\n__baton_x os_id debian\n";
        let f = parse(out, "x");
        assert_eq!(f["ansible_eth0"]["ipv4"]["address"], "10.77.0.11");
        assert_eq!(
            f["ansible_eth0"]["ipv4_secondaries"][0]["address"],
            "10.77.0.100"
        );
        assert_eq!(f["ansible_eth0"]["ipv4_secondaries"][0]["label"], "eth0:1");
        assert_eq!(f["ansible_default_ipv4"]["address"], "10.77.0.11");
        assert_eq!(f["ansible_os_family"], "Debian");
    }
}
