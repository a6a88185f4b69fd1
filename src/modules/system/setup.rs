//! `setup`: the small fact set, gathered in ONE script: hostname, OS,
//! interfaces with their IPv4 addresses, and the default-route interface.
//!
//! As Ansible's `setup`, it returns the facts as `ansible_facts` (names with
//! the `ansible_` prefix); the executor merges them into the host's facts,
//! where they are also visible under `ansible_facts` without the prefix.
//! `gather_facts: true` runs it as the implicit "Gathering Facts" task.
//! Source: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/setup_module.html
//! (only the facts listed in the README; no `gather_subset`, `filter`).

use serde_json::{json, Map, Value};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::{Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult};
use crate::transport::ExecOutput;

pub struct Setup;

static SPEC: ModuleSpec = ModuleSpec {
    name: "setup",
    args: &[],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Setup {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    /// Reads the host only, so check mode changes nothing about it.
    fn prepare(&self, _args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let nonce = ctx.nonce.to_string();
        Ok(Step::Remote {
            script: script(ctx.nonce),
            interpret: Box::new(move |out| Step::Done(answer(out, &nonce))),
        })
    }
}

fn script(nonce: &str) -> String {
    format!(
        r#"{prelude}_b hostname "$(hostname 2>/dev/null || uname -n)"
_b fqdn "$(hostname -f 2>/dev/null || uname -n)"
_b kernel "$(uname -r)"
_b arch "$(uname -m)"
_b user "$(id -un)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
_b os_id "${{ID:-$(uname -s)}}"
_b os_version "${{VERSION_ID:-}}"
_b os_name "${{PRETTY_NAME:-$(uname -s)}}"
_b os_like "${{ID_LIKE:-}}"
for _pm in apt-get dnf yum; do command -v "$_pm" >/dev/null 2>&1 && _b has_pkg_mgr "$_pm"; done
if command -v ip >/dev/null 2>&1; then
  ip -o -4 addr show 2>/dev/null | while read -r _ ifname _ cidr rest; do _b addr "$ifname $cidr $rest"; done
  ip -o link show 2>/dev/null | while IFS=': ' read -r _ ifname rest; do _b link "${{ifname%@*}}"; done
  ip -o -4 route show default 2>/dev/null | head -n1 | while read -r _ _ gw _ dev rest; do _b route "$dev $gw"; done
fi
"#,
        prelude = prelude(nonce),
    )
}

/// Read the script's answer: the facts in `ansible_facts`.
fn answer(out: &ExecOutput, nonce: &str) -> TaskResult {
    if out.code != Some(0) {
        return TaskResult::failed(format!(
            "gathering facts failed (exit {:?}): {}",
            out.code,
            out.stderr.trim()
        ));
    }
    let mut result = TaskResult::ok();
    result.ansible_facts = parse(&Answer::parse(out, nonce));
    result
}

pub(crate) fn os_family(id: &str, like: &str) -> &'static str {
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

/// Facts as `ansible_*` variables, the names Ansible uses.
fn parse(answer: &Answer) -> Map<String, Value> {
    let mut facts = Map::new();
    let mut interfaces: Vec<String> = Vec::new();
    let mut addresses: Map<String, Value> = Map::new();
    let mut all_ipv4 = Vec::new();
    let mut default = None;
    let (mut os_id, mut os_like) = (String::new(), String::new());
    let mut pkg_tools: Vec<String> = Vec::new();
    for (key, value) in answer.values() {
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
            "has_pkg_mgr" => pkg_tools.push(value.to_string()),
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
                if let Some(ip) = add_address(&mut addresses, value) {
                    all_ipv4.push(json!(ip));
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
    let family = os_family(&os_id, &os_like);
    facts.insert("os_family".into(), json!(family));
    facts.insert("pkg_mgr".into(), json!(pkg_mgr(family, &pkg_tools)));
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
    facts
        .into_iter()
        .map(|(k, v)| (format!("ansible_{k}"), v))
        .collect()
}

/// One `ip -o -4 addr` line ("eth0 10.77.0.11/24 brd 10.77.0.255 scope
/// global eth0:1"): the device's first address is its `ipv4`, later ones
/// its `ipv4_secondaries`. Returns the address.
fn add_address<'v>(addresses: &mut Map<String, Value>, value: &'v str) -> Option<&'v str> {
    let mut parts = value.split_whitespace();
    let (Some(dev), Some(cidr)) = (parts.next(), parts.next()) else {
        return None;
    };
    // `ip -o` ends the address part with `\` before the lifetimes
    // (`... scope global secondary eth0:vip\ valid_lft forever ...`); the
    // label is the last word of the address part.
    let address_part = value.split('\\').next().unwrap_or(value);
    let label = address_part
        .split_whitespace()
        .last()
        .filter(|_| address_part.split_whitespace().count() > 2)
        .unwrap_or(dev)
        .to_string();
    let (ip, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let entry = addresses
        .entry(dev.to_string())
        .or_insert_with(|| json!({"device": dev, "ipv4": null, "ipv4_secondaries": []}));
    let address = json!({"address": ip, "prefix": prefix, "label": label});
    if entry["ipv4"].is_null() {
        entry["ipv4"] = address;
    } else if let Some(list) = entry["ipv4_secondaries"].as_array_mut() {
        list.push(address);
    }
    Some(ip)
}

/// Ansible's `ansible_pkg_mgr`: `apt`, `dnf`, `yum` or `unknown`, from the
/// package tools found on the host (`tools`: `apt-get`, `dnf`, `yum` in
/// that order), the OS family's own tool first, so a Debian host with a
/// stray `yum` is still `apt`.
pub(crate) fn pkg_mgr(family: &str, tools: &[String]) -> &'static str {
    let has = |t: &str| tools.iter().any(|x| x == t);
    let order: &[(&str, &'static str)] = if family == "RedHat" {
        &[("dnf", "dnf"), ("yum", "yum"), ("apt-get", "apt")]
    } else {
        &[("apt-get", "apt"), ("dnf", "dnf"), ("yum", "yum")]
    };
    order
        .iter()
        .find(|(tool, _)| has(tool))
        .map(|(_, name)| *name)
        .unwrap_or("unknown")
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

    #[test]
    fn labels_come_from_the_address_part_not_the_lifetimes() {
        let mut addresses = Map::new();
        let lines = [
            r"eth0 10.0.0.1/24 brd 10.0.0.255 scope global eth0\       valid_lft forever preferred_lft forever",
            r"eth0 10.0.0.100/24 scope global secondary eth0:vip\       valid_lft forever preferred_lft forever",
        ];
        for l in lines {
            add_address(&mut addresses, l);
        }
        assert_eq!(addresses["eth0"]["ipv4"]["label"], "eth0");
        assert_eq!(
            addresses["eth0"]["ipv4_secondaries"][0]["label"],
            "eth0:vip"
        );
        assert_eq!(
            addresses["eth0"]["ipv4_secondaries"][0]["address"],
            "10.0.0.100"
        );
    }

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
        let facts = answer(&out, nonce).ansible_facts;
        assert!(!facts["ansible_hostname"].as_str().unwrap().is_empty());
        assert!(facts["ansible_interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "lo"));
        assert_eq!(facts["ansible_lo"]["ipv4"]["address"], "127.0.0.1");
        assert_eq!(facts["ansible_lo"]["ipv4"]["prefix"], "8");
    }

    #[test]
    fn is_a_module_that_reads_the_host_in_one_round_trip() {
        use crate::modules::kit::testutil::{run, Ctx};
        let result = run(&Setup, serde_json::json!({}), &Ctx::default());
        assert_eq!(result.status, crate::modules::Status::Ok);
        assert_eq!(result.ansible_facts["ansible_system"], "Linux");
        assert!(result.facts.is_empty(), "facts are not set_fact variables");
        let registered = result.to_registered();
        assert_eq!(
            registered["ansible_facts"]["ansible_lo"]["ipv4"]["address"],
            "127.0.0.1"
        );
        assert!(crate::modules::find("ansible.builtin.setup").is_some());
    }

    #[test]
    fn parses_vip_as_secondary_with_label() {
        let out = "__baton_x addr eth0 10.77.0.11/24 brd 10.77.0.255 scope global eth0\n__baton_x addr eth0 10.77.0.100/24 scope global secondary eth0:1\n__baton_x route eth0 10.77.0.1\n__baton_x os_id debian\n";
        let out = ExecOutput {
            code: Some(0),
            stdout: out.into(),
            stderr: String::new(),
        };
        let f = answer(&out, "x").ansible_facts;
        assert_eq!(f["ansible_eth0"]["ipv4"]["address"], "10.77.0.11");
        assert_eq!(
            f["ansible_eth0"]["ipv4_secondaries"][0]["address"],
            "10.77.0.100"
        );
        assert_eq!(f["ansible_eth0"]["ipv4_secondaries"][0]["label"], "eth0:1");
        assert_eq!(f["ansible_default_ipv4"]["address"], "10.77.0.11");
        assert_eq!(f["ansible_os_family"], "Debian");
        assert_eq!(f["ansible_pkg_mgr"], "unknown");
    }

    #[test]
    fn the_package_manager_is_the_os_familys_own_first() {
        let tools = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(pkg_mgr("Debian", &tools(&["apt-get", "yum"])), "apt");
        assert_eq!(pkg_mgr("RedHat", &tools(&["apt-get", "dnf", "yum"])), "dnf");
        assert_eq!(pkg_mgr("RedHat", &tools(&["yum"])), "yum");
        assert_eq!(pkg_mgr("Linux", &tools(&["dnf"])), "dnf");
        assert_eq!(pkg_mgr("Linux", &[]), "unknown");
        // This machine (Debian, with apt-get) as setup sees it.
        use crate::modules::kit::testutil::{run, Ctx};
        let facts = run(&Setup, serde_json::json!({}), &Ctx::default()).ansible_facts;
        if std::path::Path::new("/usr/bin/apt-get").exists() {
            assert_eq!(facts["ansible_pkg_mgr"], "apt");
        }
    }
}
