//! What a drill runs against: the lab it builds (and always removes), or a
//! real inventory checked before anything runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

use super::nodes::SampleVars;
use super::probe::ProbeSpec;
use super::runner::Runner;
use super::scenario::{self, PhaseKind, RealTarget};
use super::shell::Place;
use super::{say, warn, DrillError};
use crate::load::inventory::{connection_var, Inventory};

/// The group of the two BC nodes (`hvr_group`'s default).
const BC_GROUP: &str = "bc";
const HVRENV: &str = "/opt/hvr/bin/hvrenv";
const STATE_FILE: &str = "/opt/hvr/hvr_config/files/hvrfailover.state";

/// A lab this drill built: `baton lab down` when dropped, whatever happened.
pub struct LabHandle {
    pub exe: PathBuf,
    pub dir: PathBuf,
    /// Holds the lab directory and the unpacked simulator; removed after `down`.
    _work: tempfile::TempDir,
    /// `lab up` refused before building anything: `down` runs (harmless)
    /// but says nothing, as there is no lab to remove.
    never_built: bool,
}

impl LabHandle {
    /// `baton lab ARGS --dir DIR` (for `shell`, pass the command after `--` in `tail`).
    pub fn lab(&self, args: &[&str], tail: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("lab").args(args).arg("--dir").arg(&self.dir);
        if !tail.is_empty() {
            cmd.arg("--").args(tail);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run baton lab: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`baton lab {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for LabHandle {
    fn drop(&mut self) {
        if !self.never_built {
            say(&format!("==> removing the lab ({})", self.dir.display()));
        }
        // Its own process group: a second Ctrl-C at the terminal must not
        // cut the removal short.
        use std::os::unix::process::CommandExt;
        let out = Command::new(&self.exe)
            .args(["lab", "down", "--dir"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .process_group(0)
            .output();
        match out {
            Ok(_) if self.never_built => {}
            Ok(o) if o.status.success() => say("    <== lab removed"),
            Ok(o) => warn(&format!(
                "baton drill: lab down failed; run `{} lab down --dir {}`: {}",
                self.exe.display(),
                self.dir.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => warn(&format!("baton drill: cannot run lab down: {e}")),
        }
    }
}

pub struct Target {
    pub kind: &'static str,
    pub runner: Runner,
    pub nodes: Vec<(String, Place)>,
    pub sample: SampleVars,
    pub probe: ProbeSpec,
    pub vip: String,
    /// Dropped last: removes the lab.
    pub lab: Option<LabHandle>,
}

fn baton_exe() -> Result<PathBuf, DrillError> {
    std::env::current_exe()
        .map_err(|e| DrillError::Setup(format!("cannot find baton's own executable: {e}")))
}

fn check_playbooks(dir: &Path) -> Result<(), DrillError> {
    for name in ["switchover", "failover", "recover", "start", "install"] {
        let path = dir.join(format!("{name}.yml"));
        if !path.is_file() {
            return Err(DrillError::Refused(format!(
                "baton drill: no playbook {}; run from baton's checkout or pass --playbooks DIR",
                path.display()
            )));
        }
    }
    Ok(())
}

fn str_var<'a>(vars: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    vars.get(key).and_then(Value::as_str)
}

/// A var for the samplers: its value unless it is a template (the drill
/// does not render templates), else the default.
fn plain_or(vars: &Map<String, Value>, key: &str, default: &str) -> String {
    match str_var(vars, key) {
        Some(v) if !v.contains("{{") => v.to_string(),
        _ => default.to_string(),
    }
}

/// Builds the lab and everything the drill needs in it. The lab is removed
/// when the returned target is dropped, even if a later step fails.
pub fn lab(args: &super::DrillArgs) -> Result<Target, DrillError> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(DrillError::Refused(
            "baton drill --lab: the lab needs root (network namespaces): run it with sudo".into(),
        ));
    }
    let dist = args.dist.clone().ok_or_else(|| {
        DrillError::Refused(
            "baton drill --lab: --dist TARBALL is missing: the HVR distribution to install (the simulator's: `sim/package.sh DIR` prints its path)".into(),
        )
    })?;
    if !dist.is_file() {
        return Err(DrillError::Refused(format!(
            "baton drill --lab: --dist {}: no such file",
            dist.display()
        )));
    }
    let dist = dist.canonicalize().unwrap_or(dist);
    check_playbooks(&args.playbooks)?;
    let baton = baton_exe()?;
    let work = tempfile::Builder::new()
        .prefix("baton-drill.")
        .tempdir()
        .map_err(|e| DrillError::Setup(format!("cannot make a work directory: {e}")))?;
    let sim = work.path().join("sim");
    std::fs::create_dir_all(&sim)
        .map_err(|e| DrillError::Setup(format!("cannot create {}: {e}", sim.display())))?;
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(&dist)
        .arg("-C")
        .arg(&sim)
        .output()
        .map_err(|e| DrillError::Setup(format!("cannot run tar: {e}")))?;
    if !tar.status.success() {
        return Err(DrillError::Refused(format!(
            "baton drill --lab: cannot unpack {}: {}",
            dist.display(),
            String::from_utf8_lossy(&tar.stderr).trim()
        )));
    }
    let client = sim.join("bin/hvrsimclient");
    if !client.exists() {
        return Err(DrillError::Refused(format!(
            "baton drill --lab: {} has no bin/hvrsimclient: is it the simulator's distribution?",
            dist.display()
        )));
    }
    let dir = work.path().join("lab");
    let mut handle = LabHandle {
        exe: baton.clone(),
        dir: dir.clone(),
        _work: work,
        never_built: false,
    };
    let started = super::now();
    let up = Command::new(&baton)
        .args([
            "lab",
            "up",
            "--prefix",
            &args.lab_prefix,
            "--subnet",
            &args.lab_subnet,
            "--dir",
        ])
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DrillError::Setup(format!("cannot run baton lab up: {e}")))?;
    if !up.status.success() {
        let text = lab_flags(String::from_utf8_lossy(&up.stderr).trim());
        // A bad prefix or subnet, or one in use, is the operator's to fix;
        // `lab up` refused it before building anything.
        return Err(if up.status.code() == Some(4) {
            handle.never_built = true;
            DrillError::Refused(format!("baton drill --lab: {text}"))
        } else {
            DrillError::Setup(format!("lab up failed: {text}"))
        });
    }
    let inventory_path = dir.join("lab.yml");
    let inventory = Inventory::load(std::slice::from_ref(&inventory_path))
        .map_err(|e| DrillError::Setup(format!("cannot read the lab's inventory: {e}")))?;
    let names = inventory.group_hosts(BC_GROUP).unwrap_or_default();
    let first = names
        .first()
        .ok_or_else(|| DrillError::Setup("the lab's inventory has no bc hosts".into()))?;
    let vars = inventory.merged_vars(first);
    let vip = str_var(&vars, "vip_address")
        .ok_or_else(|| DrillError::Setup("the lab's inventory has no vip_address".into()))?
        .to_string();
    say(&format!(
        "==> lab up: prefix {}, subnet {}",
        args.lab_prefix, args.lab_subnet
    ));
    say(&format!(
        "    <== lab is up: {} and a client, VIP {vip} ({:.1} s)",
        names.join(", "),
        super::now() - started
    ));
    let nodes = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                Place::Lab {
                    exe: baton.clone(),
                    dir: dir.clone(),
                    node: n.clone(),
                },
            )
        })
        .collect();
    let c = crate::shell::quote(&client.display().to_string());
    // The connect timeout bounds a failed sample, so it sets the probe's
    // resolution during an outage: the issue asks for a sample every 20 ms.
    let timeouts = "--connect-timeout-ms 30 --io-timeout-ms 1000";
    let probe = ProbeSpec {
        place: Place::Lab {
            exe: baton.clone(),
            dir: dir.clone(),
            node: "client".into(),
        },
        write_cmd: format!("{c} put \"$DRILL_KEY\" \"$DRILL_VALUE\" --host {vip} {timeouts}"),
        read_cmd: format!("{c} get \"$DRILL_KEY\" --host {vip} {timeouts}"),
    };
    let mut extra_vars = vec![
        format!("hvr_dist_tarball={}", dist.display()),
        // Every stop proves its flush with a canary row, as the lab tests do.
        "hvr_canary_table=simtable".to_string(),
        // A booting START node waits this x its bc_index for its peer.
        "hvr_boot_peer_delay=1.5".to_string(),
    ];
    extra_vars.extend(args.extra_vars.iter().cloned());
    Ok(Target {
        kind: "lab",
        runner: Runner {
            exe: baton,
            playbooks: args.playbooks.clone(),
            inventory: vec![inventory_path],
            extra_vars,
            quiet: false,
        },
        nodes,
        sample: SampleVars {
            vip: vip.clone(),
            interface: "eth0".into(),
            hvrenv: HVRENV.into(),
            hub: "hvrhub".into(),
            state_file: STATE_FILE.into(),
        },
        probe,
        vip,
        lab: Some(handle),
    })
}

/// ssh arguments for a host from its inventory connection vars.
fn ssh_place(inventory: &Inventory, host: &str) -> Place {
    let vars = inventory.merged_vars(host);
    let text = |key: &str| {
        connection_var(&vars, key).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let mut args: Vec<String> = [
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=3",
        "-o",
        "ServerAliveInterval=1",
        "-o",
        "ServerAliveCountMax=2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(port) = text("port") {
        args.extend(["-p".into(), port]);
    }
    if let Some(user) = text("user") {
        args.extend(["-l".into(), user]);
    }
    if let Some(key) = text("ssh_private_key_file") {
        args.extend(["-i".into(), key]);
    }
    if let Some(common) = text("ssh_common_args") {
        args.extend(shlex::split(&common).unwrap_or_default());
    }
    Place::Ssh {
        args,
        host: text("host").unwrap_or_else(|| host.to_string()),
    }
}

/// `baton lab up`'s message in the drill's terms: its `--prefix` and
/// `--subnet` are the drill's `--lab-prefix` and `--lab-subnet`; its
/// `--dir` is the drill's own temporary directory, not the user's to choose.
fn lab_flags(text: &str) -> String {
    text.replace(" (or --dir of that lab)", "")
        .replace("--prefix", "--lab-prefix")
        .replace("--subnet", "--lab-subnet")
}

/// A real inventory: every refusal rule is checked here, before anything runs.
pub fn real(args: &super::DrillArgs, phases: &[PhaseKind]) -> Result<Target, DrillError> {
    let inventory = Inventory::load(&args.inventory)
        .map_err(|e| DrillError::Refused(format!("baton drill: {e}")))?;
    let extra = crate::load::extra_vars::parse(&args.extra_vars)
        .map_err(|e| DrillError::Refused(format!("baton drill: {e}")))?;
    let names = inventory.group_hosts(BC_GROUP).unwrap_or_default();
    if names.len() != 2 {
        return Err(DrillError::Refused(format!(
            "baton drill: the inventory's `{BC_GROUP}` group must hold exactly the two BC nodes; it holds {}",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        )));
    }
    // -e wins over the inventory, as in a run.
    let mut vars = inventory.merged_vars(&names[0]);
    vars.extend(extra);
    let probe_host = str_var(&vars, "drill_probe_host");
    let rules = RealTarget {
        allow_abrupt: args.allow_abrupt,
        fence_command: str_var(&vars, "hvr_fence_command"),
        probe_host,
        probe_write_cmd: str_var(&vars, "drill_probe_write_cmd"),
        probe_read_cmd: str_var(&vars, "drill_probe_read_cmd"),
        probe_host_known: probe_host.is_some_and(|h| inventory.contains_host(h)),
    };
    scenario::check_real(phases, &rules).map_err(DrillError::Refused)?;
    check_playbooks(&args.playbooks)?;
    let vip = str_var(&vars, "vip_address")
        .ok_or_else(|| {
            DrillError::Refused("baton drill: vip_address is not set in the inventory".into())
        })?
        .to_string();
    let probe_place = match probe_host {
        Some("localhost") | None => Place::Local,
        Some(h) => ssh_place(&inventory, h),
    };
    let probe = ProbeSpec {
        place: probe_place,
        write_cmd: rules.probe_write_cmd.unwrap_or_default().to_string(),
        read_cmd: rules.probe_read_cmd.unwrap_or_default().to_string(),
    };
    let sample = SampleVars {
        vip: vip.clone(),
        interface: plain_or(&vars, "vip_interface", "eth0"),
        hvrenv: plain_or(&vars, "drill_hvrenv", HVRENV),
        hub: plain_or(&vars, "hvr_hubdb", "hvrhub"),
        state_file: plain_or(&vars, "drill_state_file", STATE_FILE),
    };
    let nodes = names
        .iter()
        .map(|n| (n.clone(), ssh_place(&inventory, n)))
        .collect();
    Ok(Target {
        kind: "inventory",
        runner: Runner {
            exe: baton_exe()?,
            playbooks: args.playbooks.clone(),
            inventory: args.inventory.clone(),
            extra_vars: args.extra_vars.clone(),
            quiet: false,
        },
        nodes,
        sample,
        probe,
        vip,
        lab: None,
    })
}

#[cfg(test)]
mod flag_tests {
    #[test]
    fn lab_up_errors_name_the_drill_s_flags() {
        assert_eq!(
            super::lab_flags("--prefix `X`: use lowercase; --subnet `1.2.3.4/8` is not private"),
            "--lab-prefix `X`: use lowercase; --lab-subnet `1.2.3.4/8` is not private"
        );
        assert_eq!(
            super::lab_flags(
                "another lab uses prefix `p`; choose another --prefix (or --dir of that lab)"
            ),
            "another lab uses prefix `p`; choose another --lab-prefix"
        );
    }
}
