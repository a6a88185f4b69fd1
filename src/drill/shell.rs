//! A long-lived shell on a node or the probe host: a script that answers
//! lines on stdout, each timestamped on the controller when it arrives.
//! Lab: `baton lab shell NODE -- sh -c SCRIPT` (a node's own namespaces, so
//! a node whose link is cut is still seen as it is); a real inventory: ssh
//! with the host's inventory connection vars, or `sh -c` for `localhost`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::now;

/// How to reach a host to run a script on it.
#[derive(Clone, Debug)]
pub enum Place {
    /// `baton lab shell --dir DIR NODE`.
    Lab {
        exe: PathBuf,
        dir: PathBuf,
        node: String,
    },
    /// `ssh ARGS HOST`, the args from the inventory's connection vars.
    Ssh { args: Vec<String>, host: String },
    /// The controller itself.
    Local,
}

impl Place {
    /// The command that runs `sh -c SCRIPT drill ARGS...` there.
    pub fn command(&self, script: &str, args: &[String]) -> Command {
        match self {
            Place::Lab { exe, dir, node } => {
                let mut cmd = Command::new(exe);
                cmd.arg("lab")
                    .arg("shell")
                    .arg("--dir")
                    .arg(dir)
                    .arg(node)
                    .args(["--", "sh", "-c", script, "drill"])
                    .args(args);
                cmd
            }
            Place::Ssh { args: ssh, host } => {
                // ssh joins its arguments into one remote shell line: quote each.
                let mut remote = vec![
                    "sh".to_string(),
                    "-c".to_string(),
                    script.to_string(),
                    "drill".to_string(),
                ];
                remote.extend(args.iter().cloned());
                let line: Vec<String> = remote.iter().map(|a| crate::shell::quote(a)).collect();
                let mut cmd = Command::new("ssh");
                cmd.args(ssh).arg(host).arg(line.join(" "));
                cmd
            }
            Place::Local => {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", script, "drill"]).args(args);
                cmd
            }
        }
    }
}

/// A running script: lines in, timestamped lines out.
pub struct Shell {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Option<Receiver<(f64, String)>>,
}

impl Shell {
    pub fn spawn(place: &Place, script: &str, args: &[String]) -> Result<Shell, String> {
        let mut child = place
            .command(script, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start a shell ({place:?}): {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| "the shell has no stdout".to_string())?;
        let stdin = child.stdin.take();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((now(), line)).is_err() {
                    break;
                }
            }
        });
        Ok(Shell {
            child,
            stdin,
            lines: Some(rx),
        })
    }

    pub fn send(&mut self, line: &str) -> bool {
        match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{line}")
                .and_then(|()| stdin.flush())
                .is_ok(),
            None => false,
        }
    }

    /// The next line, `Err(true)` on timeout, `Err(false)` when the shell ended.
    pub fn recv(&self, within: Duration) -> Result<(f64, String), bool> {
        let Some(lines) = self.lines.as_ref() else {
            return Err(false);
        };
        match lines.recv_timeout(within) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(true),
            Err(RecvTimeoutError::Disconnected) => Err(false),
        }
    }
}

impl Drop for Shell {
    /// Closing stdin ends a reading loop; a sampling loop ends at its next
    /// write (its stdout reader is gone). One that does not is killed, by
    /// the PID we started.
    fn drop(&mut self) {
        self.stdin.take();
        // The reader thread ends at the next line, closing the pipe.
        self.lines.take();
        for _ in 0..30 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
