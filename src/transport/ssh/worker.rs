//! A persistent shell per host: one long-lived channel over the master that
//! runs scripts one after the other.
//!
//! A new SSH session per task costs the server a fork, a login shell and its
//! start-up files (a few milliseconds, more with a heavy `.bashrc`). The
//! worker pays that once. It is a `sh -s` reading shell commands from the
//! channel: each request is one line, `__baton_sub NONCE 'SCRIPT'` (or
//! `__baton_own`), the script single-quoted (see [`crate::shell::quote`]), so
//! the shell's own buffered parser reads it and no process is started to
//! receive it. A module's script that promises it (see [`WORKER_INIT`]) then
//! runs in a subshell `( ... )`: a fork, no `exec`. The answer is
//! the script's own stdout and stderr, each followed by a marker line
//! carrying the ID (and, on stdout, the exit code). The ID is a fresh random
//! nonce per request, so no output can forge a marker.

use std::sync::Arc;

use openssh::{Child, ChildStderr, ChildStdin, ChildStdout, Session, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::transport::capture::{self, Capture};
use crate::transport::{groups, ExecOutput};

/// The command line that starts the worker; its argument names it in `ps`.
pub const WORKER_COMMAND: &str = "sh -s baton-worker";

/// What the worker shell reads first: its session id and the request functions.
///
/// Each script runs as it would in `sh -c SCRIPT`: its `exit`, `cd`,
/// variables, functions and options are its own, `$0` is `sh`, it has no
/// positional parameters, and stdin is /dev/null as for any task.
///
/// A script that starts with [`crate::shell::CONTAINED`] runs in a subshell
/// of the worker (`__baton_sub`): a fork, no `exec`. There `$$` and the
/// process group are the worker's, which such a script promises not to use.
/// sshd starts every session's command in a session of its own; the worker
/// reads that session's id from `/proc/self/stat` (the redirection is opened
/// by the shell itself, no process) and the script reports it first on
/// stderr (see [`groups`]), so a quit at once can end the session: the
/// worker, the running script and its children.
///
/// Any other script (`__baton_own`) leads a process group and session of
/// its own where `setsid` exists (util-linux) and first reports its PID, so
/// a quit ends it and its children and its `kill 0` or `$$` are its own.
pub const WORKER_INIT: &str = r#"__baton_sid= __baton_setsid=
{ read -r _ _ _ _ _ __baton_sid _ </proc/self/stat; } 2>/dev/null
case $__baton_sid in ''|*[!0-9]*|0|1) __baton_sid= ;; esac
command -v setsid >/dev/null 2>&1 && __baton_setsid=1
unset _
__baton_end() {
  printf '\n\036%s %s\n' "$1" "$2"
  printf '\n\036%s\n' "$1" >&2
}
__baton_sub() {
  (
    [ -z "$__baton_sid" ] || printf '\037%s %s\n' "$1" "$__baton_sid" >&2
    eval "set --; $2"
  ) </dev/null
  __baton_end "$1" "$?"
}
__baton_own() {
  if [ -n "$__baton_setsid" ]; then setsid -w sh -c MARKED "$2" "$1" </dev/null
  else sh -c "$2" </dev/null; fi
  __baton_end "$1" "$?"
}
"#;

/// [`WORKER_INIT`] with its `MARKED` placeholder filled in.
fn worker_init() -> String {
    WORKER_INIT.replace(
        "MARKED",
        &format!("{} sh", crate::shell::quote(groups::MARKED_EVAL)),
    )
}

/// One request line for the worker.
fn request_line(id: &str, script: &str) -> String {
    let function = if script.starts_with(crate::shell::CONTAINED) {
        "__baton_sub"
    } else {
        "__baton_own"
    };
    format!(
        "{function} {} {}\n",
        crate::shell::quote(id),
        crate::shell::quote(script)
    )
}

pub struct Worker {
    // Declared first: dropped (and so closed) before the session it borrows.
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
    _child: Child<Arc<Session>>,
    /// For ending a script's process group on the host (a quit at once).
    session: Arc<Session>,
    out: Capture,
    err: Capture,
}

/// Why a request through the worker did not produce an answer.
pub enum WorkerError {
    /// Nothing was sent: the caller can run the script another way.
    NotSent,
    /// The channel broke after the script was sent; it may have run in part.
    Broken(String),
    /// Nothing was sent: baton is quitting at once.
    Quitting,
}

impl Worker {
    pub async fn start(session: &Arc<Session>) -> Result<Worker, String> {
        let mut child = Session::to_raw_command(Arc::clone(session), WORKER_COMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .await
            .map_err(|e| e.to_string())?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) = (
            child.stdin().take(),
            child.stdout().take(),
            child.stderr().take(),
        ) else {
            return Err("the worker channel has no pipes".into());
        };
        stdin
            .write_all(worker_init().as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        Ok(Worker {
            stdin,
            stdout,
            stderr,
            _child: child,
            session: Arc::clone(session),
            out: Capture::default(),
            err: Capture::default(),
        })
    }

    pub async fn run(&mut self, script: &str) -> Result<ExecOutput, WorkerError> {
        if script.is_empty() {
            return Ok(ExecOutput {
                code: Some(0),
                ..ExecOutput::default()
            });
        }
        // Held until the script's process group is registered (or its
        // answer is complete), so a quit at once cannot miss it.
        let Some(permit) = groups::permit_start() else {
            return Err(WorkerError::Quitting);
        };
        let mut permit = Some(permit);
        let id = crate::shell::new_nonce();
        let request = request_line(&id, script);
        if let Err(e) = self.stdin.write_all(request.as_bytes()).await {
            let _ = e;
            return Err(WorkerError::NotSent);
        }
        if let Err(e) = self.stdin.flush().await {
            return Err(WorkerError::Broken(e.to_string()));
        }
        let out_marker = format!("\n\x1e{id} ").into_bytes();
        let err_marker = format!("\n\x1e{id}\n").into_bytes();
        let mut answer: Option<(usize, usize, i32)> = None;
        let mut err_end: Option<usize> = None;
        let mut chunk = vec![0u8; 16 * 1024];
        let mut chunk2 = vec![0u8; 16 * 1024];
        let mut registered: Option<groups::Registered> = None;
        while answer.is_none() || err_end.is_none() {
            tokio::select! {
                n = self.stdout.read(&mut chunk), if answer.is_none() => {
                    let n = n.map_err(|e| WorkerError::Broken(e.to_string()))?;
                    if n == 0 {
                        return Err(WorkerError::Broken("the worker's stdout closed".into()));
                    }
                    self.out.push(&chunk[..n]);
                    // the marker line: marker, exit code, newline
                    let from = self.out.search_from(n, out_marker.len() + 16);
                    answer = find_answer(&self.out.buffer[from..], &out_marker)
                        .map(|(at, end, code)| (from + at, from + end, code));
                }
                n = self.stderr.read(&mut chunk2), if err_end.is_none() => {
                    let n = n.map_err(|e| WorkerError::Broken(e.to_string()))?;
                    if n == 0 {
                        return Err(WorkerError::Broken("the worker's stderr closed".into()));
                    }
                    self.err.push(&chunk2[..n]);
                    // The group's marker is the first line the script's
                    // shell writes; past the first reads it is not coming
                    // (no `setsid`), and scanning a large stderr again at
                    // every read would be quadratic.
                    if registered.is_none() && self.err.buffer.len() <= 64 * 1024 {
                        if let Some(pgid) = groups::take_pgid_marker(&mut self.err.buffer, &id) {
                            registered = Some(groups::register(groups::Group::Remote {
                                session: Arc::clone(&self.session),
                                pgid,
                            }));
                            permit = None;
                        }
                    }
                    let from = self.err.search_from(n, err_marker.len());
                    err_end = find(&self.err.buffer[from..], &err_marker).map(|at| from + at);
                }
            }
        }
        drop(permit);
        drop(registered);
        let (out_end, line_end, code) = answer.unwrap_or_default();
        let err_at = err_end.unwrap_or_default();
        let (stdout, out_note) = self.out.text(Some(out_end), "stdout");
        let (stderr, err_note) = self.err.text(Some(err_at), "stderr");
        let stderr = capture::with_notes(stderr, [out_note, err_note]);
        self.out.buffer.drain(..line_end);
        self.out.dropped = 0;
        self.err.buffer.drain(..err_at + err_marker.len());
        self.err.dropped = 0;
        Ok(ExecOutput {
            // Like a shell reporting a killed command: 128+N means signal N.
            code: if code > 128 && code < 128 + 65 {
                None
            } else {
                Some(code)
            },
            stdout,
            stderr,
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where the output ends, where the marker line ends, and the exit code.
fn find_answer(buffer: &[u8], marker: &[u8]) -> Option<(usize, usize, i32)> {
    let at = find(buffer, marker)?;
    let rest = &buffer[at + marker.len()..];
    let newline = rest.iter().position(|&b| b == b'\n')?;
    let code = std::str::from_utf8(&rest[..newline])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((at, at + marker.len() + newline + 1, code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_split_at_the_marker_with_its_newline_removed() {
        let buf = b"hello\n\n\x1eabc 3\nrest";
        assert_eq!(find_answer(buf, b"\n\x1eabc "), Some((6, 14, 3)));
        let no_newline = b"hi\n\x1eabc 0\n";
        assert_eq!(find_answer(no_newline, b"\n\x1eabc "), Some((2, 10, 0)));
        assert_eq!(find_answer(b"partial\n\x1eabc 1", b"\n\x1eabc "), None);
        assert_eq!(find_answer(b"\n\x1exyz 0\n", b"\n\x1eabc "), None);
    }

    #[tokio::test]
    async fn the_worker_shell_frames_scripts_in_subshells_of_its_own() {
        // Drive the worker with a local `sh -s` through the same framing. In
        // a session of its own, as sshd starts it, so the marker names it.
        use std::process::Stdio as S;
        let mut child = tokio::process::Command::new("setsid")
            .args(["sh", "-s", "baton-worker"])
            .stdin(S::piped())
            .stdout(S::piped())
            .stderr(S::piped())
            .spawn()
            .unwrap();
        let child_pid = child.id().unwrap() as i32;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(worker_init().as_bytes()).await.unwrap();
        let contained = |script: &str| format!("{}{script}", crate::shell::CONTAINED);
        for (id, script) in [
            ("a1", contained("echo out; echo err >&2; exit 3")),
            (
                "b2",
                contained("printf 'no newline'; cd /; x=1; f() { :; }; set -e"),
            ),
            (
                "c3",
                contained("echo \"[$x]\"; pwd; read y || echo empty; command -v f || echo no-f; false; echo \"$0 $# $1\""),
            ),
            // Quotes, a here-document and the bytes a single-quoted word must keep.
            ("d4", contained("cat <<'E'\nit's \"q\" $HOME `x` \\\n\x1e\r\nE\n")),
            ("e5", contained("if then")),
            // Without the promise: a session of its own, whose `kill 0` and
            // `$$` do not reach the worker.
            ("f6", "echo \"$$\"; read y || echo empty".to_string()),
            ("g7", "sleep 5 & kill 0".to_string()),
            ("h8", contained("echo still here")),
        ] {
            stdin
                .write_all(request_line(id, &script).as_bytes())
                .await
                .unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        // Each contained script reported the worker's session first; the
        // others their own.
        let mut err = out.stderr;
        for id in ["a1", "b2", "c3", "d4", "e5", "h8"] {
            assert_eq!(
                groups::take_pgid_marker(&mut err, id),
                Some(child_pid),
                "{id}"
            );
        }
        let f6 = groups::take_pgid_marker(&mut err, "f6").expect("f6's own session");
        let g7 = groups::take_pgid_marker(&mut err, "g7").expect("g7's own session");
        assert!(f6 != child_pid && g7 != child_pid && f6 != g7, "{f6} {g7}");
        let stderr = String::from_utf8(err).unwrap();
        assert_eq!(
            find_answer(stdout.as_bytes(), b"\n\x1ea1 ").map(|a| (a.0, a.2)),
            Some((4, 3))
        );
        assert!(stdout.contains("no newline\n\x1eb2 0\n"), "{stdout:?}");
        // No variable, function, option or directory leaks from one script to the next.
        let after_b2 = &stdout[stdout.find("\x1eb2 0\n").unwrap() + 6..];
        assert!(
            after_b2.starts_with(&format!(
                "[]\n{}\nempty\nno-f\nsh 0 \n\n\x1ec3 0\n",
                std::env::current_dir().unwrap().display()
            )),
            "{after_b2:?}"
        );
        assert!(
            stdout.contains("it's \"q\" $HOME `x` \\\n\x1e\r\n\n\x1ed4 0\n"),
            "{stdout:?}"
        );
        // A syntax error ends only its own subshell: the worker answers on.
        assert!(stdout.contains("\n\x1ee5 2\n"), "{stdout:?}");
        assert!(
            stdout.contains(&format!("{f6}\nempty\n\n\x1ef6 0\n")),
            "{stdout:?}"
        );
        assert!(
            stdout.ends_with("\x1eg7 143\nstill here\n\n\x1eh8 0\n"),
            "{stdout:?}"
        );
        assert!(stderr.starts_with("err\n\n\x1ea1\n"), "{stderr:?}");
        assert!(stderr.ends_with("\n\x1eh8\n"), "{stderr:?}");
    }
}
