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
        let wait = async {
            let (out, err) = tokio::join!(read_capped(stdout), read_capped(stderr));
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((status, out?, err?))
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

/// A child's stream read to its end through a [`Capture`].
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    stream: Option<R>,
) -> std::io::Result<Capture> {
    use tokio::io::AsyncReadExt;
    let mut capture = Capture::default();
    if let Some(mut stream) = stream {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
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
