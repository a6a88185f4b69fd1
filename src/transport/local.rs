//! The `local` transport: scripts run on the controller through a child `sh`.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::capture::Capture;
use super::{ExecOutput, ExecRequest, TransportError};

#[derive(Debug, Default)]
pub struct LocalConnection;

impl LocalConnection {
    pub fn new() -> LocalConnection {
        LocalConnection
    }

    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, TransportError> {
        // No login shell to parse a command line here: run `sh -c SCRIPT`
        // directly (behind sudo for become), stdin only for large scripts.
        let on_stdin = request.script_on_stdin();
        let script_arg = if on_stdin {
            r#"eval "$(cat)""#
        } else {
            request.script.as_str()
        };
        let mut command = match &request.become_user {
            Some(user) => {
                let mut c = Command::new("sudo");
                c.args(["-n", "-H", "-u", user, "--", "sh", "-c", script_arg]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", script_arg]);
                c
            }
        };
        // Nothing starts once a quit at once began; one that starts now is
        // registered before the quit ends the registered groups.
        let permit = super::groups::permit_start()
            .ok_or_else(|| TransportError::Other(super::groups::NOT_STARTED.into()))?;
        let mut child = command
            .stdin(if on_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .map_err(|e| {
                TransportError::Other(format!(
                    "cannot start {}: {e}",
                    if request.become_user.is_some() {
                        "sudo"
                    } else {
                        "sh"
                    }
                ))
            })?;
        let stdin = child.stdin.take();
        let script = if on_stdin {
            request.script.clone()
        } else {
            String::new()
        };
        let writer = tokio::spawn(async move {
            if let Some(mut stdin) = stdin {
                let _ = stdin.write_all(script.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
        });
        let pid = child.id();
        // The group is ours (process_group(0)): a quit at once ends it.
        let _registered = pid
            .and_then(|p| i32::try_from(p).ok())
            .map(|pgid| super::groups::register(super::groups::Group::Local { pgid }));
        drop(permit);
        // Read both streams through a capture (their first 16 MiB kept), then
        // wait: `wait_with_output` would keep them whole.
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // The script's own exit is waited for beside the reads, so it is
        // reaped at once; a background child it left may hold the pipes
        // open for as long as it lives (`(sleep 333 &)`), so once the
        // script has exited the reads stop at EOF or after IDLE_AFTER_EXIT
        // without output, as Ansible's run_command stops when the process
        // has ended and its pipes have been quiet for its 1 s select.
        let (exited_tx, exited_rx) = tokio::sync::watch::channel(false);
        let wait = async {
            let reads = async {
                tokio::join!(
                    read_capped(stdout, exited_rx.clone()),
                    read_capped(stderr, exited_rx.clone())
                )
            };
            let waiter = async {
                let status = child.wait().await;
                let _ = exited_tx.send(true);
                status
            };
            let ((out, err), status) = tokio::join!(reads, waiter);
            Ok::<_, std::io::Error>((status?, out?, err?))
        };
        let output = match request.timeout {
            Some(limit) => match tokio::time::timeout(limit, wait).await {
                Ok(out) => out,
                Err(_) => {
                    // The script may have started children; end the whole group we created.
                    if let Some(pid) = pid {
                        // SAFETY: kill(2) on a process group id we created; no memory is touched.
                        unsafe {
                            libc::kill(-(pid as i32), libc::SIGKILL);
                        }
                    }
                    return Err(TransportError::Timeout(limit));
                }
            },
            None => wait.await,
        }
        .map_err(|e| TransportError::Other(format!("waiting for sh: {e}")))?;
        let _ = writer.await;
        let (status, out, err) = output;
        let (stdout, out_note) = out.text(None, "stdout");
        let (stderr, err_note) = err.text(None, "stderr");
        Ok(ExecOutput {
            code: status.code(),
            stdout,
            stderr: super::capture::with_notes(stderr, [out_note, err_note]),
        })
    }
}

/// How long a stream may stay quiet, once the script itself has exited,
/// before the output is taken as complete (Ansible's run_command: 1 s).
pub const IDLE_AFTER_EXIT: std::time::Duration = std::time::Duration::from_secs(1);

/// A child's stream read through a [`Capture`] to its end, or, once
/// `exited` turns true, until it has been quiet for [`IDLE_AFTER_EXIT`].
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
    mut exited: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Capture> {
    use tokio::io::AsyncReadExt;
    let mut capture = Capture::default();
    if let Some(mut stream) = stream {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = if *exited.borrow() {
                match tokio::time::timeout(IDLE_AFTER_EXIT, stream.read(&mut chunk)).await {
                    Ok(n) => n?,
                    Err(_) => break,
                }
            } else {
                // A child's pipe read is cancel-safe: nothing read is lost
                // when the exit wins the race.
                tokio::select! {
                    n = stream.read(&mut chunk) => n?,
                    changed = exited.changed() => {
                        if changed.is_err() {
                            // The waiter is gone without saying: read to EOF.
                            let n = stream.read(&mut chunk).await?;
                            if n == 0 {
                                break;
                            }
                            capture.push(&chunk[..n]);
                        }
                        continue;
                    }
                }
            };
            if n == 0 {
                break;
            }
            capture.push(&chunk[..n]);
        }
    }
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn output_past_the_cap_is_drained_and_cut_with_a_note() {
        let conn = LocalConnection::new();
        let out = conn
            .exec(&ExecRequest {
                script: "yes | head -c 40000000; echo done >&2\n".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.code, Some(0));
        assert_eq!(
            out.stdout.len(),
            crate::transport::capture::MAX_CAPTURE_BYTES
        );
        assert!(out.stdout.starts_with("y\ny\n"));
        assert!(out.stderr.starts_with("done\n"), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("stdout was 40000000 bytes; only the first 16 MiB were kept"),
            "{}",
            out.stderr
        );
    }

    /// A background child that keeps the script's stdout open does not
    /// hold the task: once the script has exited and its output has been
    /// quiet for IDLE_AFTER_EXIT, the output is complete (as Ansible's
    /// run_command); output written until the exit is all kept.
    #[tokio::test]
    async fn a_background_child_holding_stdout_does_not_hold_the_task() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let conn = LocalConnection::new();
        let out = conn
            .exec(&ExecRequest {
                script: format!(
                    "seq 1 20000; sleep 30 & echo $! > {}; echo done >&2; exit 5\n",
                    crate::shell::quote(pidfile.to_str().unwrap())
                ),
                ..Default::default()
            })
            .await
            .unwrap();
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: signal 0 and SIGKILL to the sleep this test started.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        unsafe { libc::kill(pid, libc::SIGKILL) };
        assert!(alive, "exec waited for the background child to end");
        assert_eq!(out.code, Some(5));
        assert_eq!(out.stdout.lines().count(), 20000);
        assert!(out.stdout.ends_with("20000\n"));
        assert_eq!(out.stderr, "done\n");
    }

    #[tokio::test]
    async fn runs_script_from_stdin_with_empty_stdin_for_commands() {
        let conn = LocalConnection::new();
        let out = conn
            .exec(&ExecRequest {
                script: "echo one\nread x || echo no-input\necho two >&2\nexit 3\n".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.stdout, "one\nno-input\n");
        assert_eq!(out.stderr, "two\n");
        assert_eq!(out.code, Some(3));
    }

    #[tokio::test]
    async fn large_scripts_travel_on_stdin() {
        let conn = LocalConnection::new();
        let body = format!(
            "x='{}'\necho ${{#x}}\nread y || echo empty-stdin\n",
            "a".repeat(200_000)
        );
        let out = conn
            .exec(&ExecRequest {
                script: body,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.stdout, "200000\nempty-stdin\n");
    }

    #[tokio::test]
    async fn timeout_kills_the_script() {
        let conn = LocalConnection::new();
        let started = std::time::Instant::now();
        let err = conn
            .exec(&ExecRequest {
                script: "sleep 5".into(),
                timeout: Some(Duration::from_millis(200)),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, TransportError::Timeout(_)));
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
