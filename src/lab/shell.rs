//! `baton lab shell NODE [-- CMD...]`: a shell or a command inside a node
//! (all of its namespaces) or inside the client's network namespace.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use super::netns;
use super::preflight::{self, Tool};
use super::process;
use super::LabError;

pub const CLIENT: &str = "client";

/// Runs the command, then `cd /root` like a login would; "$@" keeps arguments intact.
const IN_HOME: &str = r#"cd /root 2>/dev/null || cd /; exec "$@""#;

pub fn shell(lab_dir: &Path, target: &str, command: &[String]) -> Result<i32, LabError> {
    let tools = preflight::check(&[Tool::Nsenter])?;
    let state = super::load_required(lab_dir)?;
    let mut cmd = Command::new(tools.path(Tool::Nsenter));
    if target == CLIENT {
        let path = netns::netns_path(&state.client_netns);
        if !path.exists() {
            return Err(LabError::Failed(format!(
                "the client netns {} is gone; `baton lab status --dir {}` says more",
                state.client_netns,
                lab_dir.display()
            )));
        }
        cmd.arg(format!("--net={}", path.display())).arg("--");
        if command.is_empty() {
            cmd.arg(std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into()));
        } else {
            cmd.args(command);
        }
    } else {
        let node = state.node(target).ok_or_else(|| {
            let mut names: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
            names.push(CLIENT);
            LabError::Precondition(format!(
                "no node `{target}` in lab {}; choose one of: {}",
                state.prefix,
                names.join(", ")
            ))
        })?;
        let init = node
            .init
            .as_ref()
            .filter(|r| process::is_alive(r))
            .ok_or_else(|| {
                LabError::Failed(format!(
                    "node {target} is not running{}",
                    if node.crashed {
                        format!(" (crashed; `baton lab boot {target}` starts it)")
                    } else {
                        String::new()
                    }
                ))
            })?;
        cmd.args([
            "-t",
            &init.pid.to_string(),
            "--net",
            "--mount",
            "--pid",
            "--uts",
            "--ipc",
        ])
        .args(["--", "/bin/sh", "-c", IN_HOME, "baton-lab-shell"])
        .env("HOME", "/root")
        .env("USER", "root")
        .env("LOGNAME", "root");
        if command.is_empty() {
            // The node shares the host's /bin, so the host tells what exists.
            if Path::new("/bin/bash").exists() {
                cmd.args(["/bin/bash", "-l"]);
            } else {
                cmd.args(["/bin/sh", "-l"]);
            }
        } else {
            cmd.args(command);
        }
    }
    let status = cmd
        .status()
        .map_err(|e| LabError::Failed(format!("cannot run nsenter: {e}")))?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}
