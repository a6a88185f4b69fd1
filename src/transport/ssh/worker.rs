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
///
/// Where the host has `perl` (Debian's perl-base is Essential), the worker
/// also keeps one file-attribute helper for its whole life, so a module's
/// script can learn a file's mode and owner without starting `stat` (a fork
/// and an exec, 1.3 to 2 ms of a 1 to 4 ms task): see [`FILE_ATTRS`].
pub const WORKER_INIT: &str = r#"__baton_sid= __baton_setsid= __baton_self=
{ read -r __baton_self _ _ _ _ __baton_sid _ </proc/self/stat; } 2>/dev/null
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
    __baton_rq=$1 __baton_n=0
    eval "set --; $2"
  ) </dev/null
  __baton_end "$1" "$?"
}
__baton_own() {
  if [ -n "$__baton_setsid" ]; then setsid -w sh -c MARKED "$2" "$1" </dev/null 8>&- 9<&-
  else sh -c "$2" </dev/null 8>&- 9<&-; fi
  __baton_end "$1" "$?"
}
"#;

/// The file-attribute helper: what [`WORKER_INIT`] adds to offer it, and
/// the contract a script relies on.
///
/// When `$__baton_fa` is `1`, `__baton_fstat PATH` sets `$__baton_fs` to
/// what `stat -c '%a %u %g %s %U:%G' -- PATH` prints (octal mode bits, uid,
/// gid, size in bytes, user and group names; the link itself for a
/// symbolic link, as GNU stat without `-L`), except that an id without a
/// name is given as the id where stat says `UNKNOWN`, and returns 0. It returns
/// 1 whenever it cannot answer for sure (no such file, the helper gone, a
/// path too long to send in one atomic pipe write, the helper stopped
/// (SIGSTOP: state `T`), replaced or gone as `/proc/PID/status` tells,
/// read without a process before each request, since a shell's `read` has
/// no timeout; a ptrace stop, `t`, is a tracer such as strace following
/// it and passes. Where /proc does not show the shell's own PID namespace
/// (`/proc/self` is not `$$`: a PID namespace without its own /proc), that
/// look cannot work and is not made): the caller then runs
/// `stat` itself, which also gives the real error message. It needs no
/// process per call: the request and the answer go through two FIFOs
/// opened once by the worker (fds 8 and 9) to one `perl` reading
/// NUL-terminated paths.
///
/// Each request carries the request's nonce and a counter, and the answer
/// repeats them: an answer left in the pipe by a script cut off before it
/// read it is skipped, never taken for another file's. The helper exits at
/// end of input or, checked every 5 s, once the worker that started it has
/// gone (a daemon started by a task may hold the FIFOs open); a quit at once
/// ends it with the worker's session. `__baton_own` scripts get neither fd.
pub const FILE_ATTRS: &str = r#"__baton_fa= __baton_fp=
__baton_alive() {
  __baton_an= __baton_as=
  { while read -r __baton_k __baton_v __baton_r; do
      case $__baton_k in Name:) __baton_an=$__baton_v ;; State:) __baton_as=$__baton_v; break ;; esac
    done; } <"/proc/$__baton_fp/status" 2>/dev/null
  [ "$__baton_an" = perl ] && case $__baton_as in R|S|D|t) true ;; *) false ;; esac
}
__baton_fstat() {
  [ "$__baton_fa" = 1 ] && [ "${#1}" -lt 3000 ] || return 1
  [ "$__baton_self" != "$$" ] || __baton_alive || { __baton_fa=; return 1; }
  __baton_n=$((__baton_n + 1))
  __baton_tk="$__baton_rq.$__baton_n"
  trap '' PIPE
  if ! printf '%s %s\0' "$__baton_tk" "$1" >&8 2>/dev/null; then trap - PIPE; __baton_fa=; return 1; fi
  trap - PIPE
  while IFS= read -r __baton_fs <&9; do
    case $__baton_fs in
      "$__baton_tk "[0-7]*) __baton_fs=${__baton_fs#"$__baton_tk "}; return 0 ;;
      "$__baton_tk "*) return 1 ;;
    esac
  done
  __baton_fa=; return 1
}
if command -v perl >/dev/null 2>&1 && __baton_t=$(mktemp -d 2>/dev/null); then
  if mkfifo -m 600 "$__baton_t/q" "$__baton_t/a" 2>/dev/null; then
    PERL5OPT= PERL5LIB= PERLLIB= perl -e 'HELPER' <"$__baton_t/q" >"$__baton_t/a" 2>/dev/null &
    __baton_fp=$!
    if command exec 8>"$__baton_t/q" 9<"$__baton_t/a"; then
      if IFS= read -r __baton_fs <&9 && [ "$__baton_fs" = ready ]; then __baton_fa=1
      else command exec 8>&- 9<&-; fi
    fi
  fi
  rm -rf -- "$__baton_t"
fi
unset __baton_t
"#;

/// The helper itself (Perl 5, core only; no single quote, as it goes
/// between single quotes). It first says `ready`, which the worker waits
/// for: until the forked shell has become `perl`, /proc names it `sh` and
/// the look before a request would take it for something else and give
/// the helper up. Requests are `TOKEN PATH\0`; answers
/// `TOKEN MODE UID GID SIZE USER:GROUP\n` (names last, as they may hold
/// spaces; an id without a name as the id), or `TOKEN -\n` when `lstat`
/// fails. Reads with `sysread` and a 5 s `select`, so a signal cannot end
/// a buffered read early and the parent check needs no alarm.
const FILE_ATTRS_HELPER: &str = r#"$|=1; print "ready\n"; my $pp=getppid; my $b="";
sub ans { my ($t,$p)=split(/ /,$_[0],2); return unless defined $p;
  my @s=lstat($p); if (!@s) { print "$t -\n"; return }
  my $u=getpwuid($s[4]); my $g=getgrgid($s[5]);
  printf("%s %o %s %s %s %s:%s\n",$t,$s[2]&07777,$s[4],$s[5],$s[7],defined $u?$u:$s[4],defined $g?$g:$s[5]) }
while (1) { my $in=""; vec($in,0,1)=1; my $n=select(my $r=$in,undef,undef,5);
  if ($n<=0) { exit 0 if $n<0 && !$!{EINTR}; exit 0 if getppid()!=$pp; next }
  my $k=sysread(STDIN,$b,65536,length $b); exit 0 unless $k;
  while ((my $i=index($b,"\0"))>=0) { ans(substr($b,0,$i)); substr($b,0,$i+1)="" }
  exit 0 if length($b)>65536 }"#;

/// [`WORKER_INIT`] with its `MARKED` placeholder filled in, then
/// [`FILE_ATTRS`] with its helper.
fn worker_init() -> String {
    let init = WORKER_INIT.replace(
        "MARKED",
        &format!("{} sh", crate::shell::quote(groups::MARKED_EVAL)),
    );
    init + &FILE_ATTRS.replace("'HELPER'", &crate::shell::quote(FILE_ATTRS_HELPER))
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

#[cfg(test)]
mod file_attrs_tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::process::Stdio as S;

    /// Runs `scripts` (id, script) through a local worker `sh -s`; returns
    /// stdout and stderr.
    async fn drive(scripts: &[(&str, String)]) -> (String, String) {
        drive_with_path(scripts, None).await
    }

    async fn drive_with_path(
        scripts: &[(&str, String)],
        path: Option<&std::path::Path>,
    ) -> (String, String) {
        let mut command = tokio::process::Command::new("setsid");
        if let Some(path) = path {
            command.env("PATH", path);
        }
        let mut child = command
            .args(["sh", "-s", "baton-worker"])
            .kill_on_drop(true)
            .stdin(S::piped())
            .stdout(S::piped())
            .stderr(S::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(worker_init().as_bytes()).await.unwrap();
        for (id, script) in scripts {
            stdin
                .write_all(request_line(id, script).as_bytes())
                .await
                .unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn contained(script: &str) -> String {
        format!("{}{script}", crate::shell::CONTAINED)
    }

    fn gnu_stat(path: &std::path::Path) -> String {
        let out = std::process::Command::new("stat")
            .args(["-c", "%a %u %g %s %U:%G", "--"])
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    }

    /// Debian's perl-base is Essential: every test machine has it. A host
    /// without it is tested with a PATH that hides it.
    fn require_perl() {
        let ok = std::process::Command::new("perl")
            .arg("-v")
            .stdout(S::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "perl is needed (Debian: perl-base)");
    }

    #[tokio::test]
    async fn the_helper_answers_as_gnu_stat_does_and_says_no_when_unsure() {
        require_perl();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let plain = d.join("plain");
        std::fs::write(&plain, "twelve bytes").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o4751)).unwrap();
        let odd = d.join("sp ace\nnew'line");
        std::fs::write(&odd, "").unwrap();
        std::fs::set_permissions(&odd, std::fs::Permissions::from_mode(0o0)).unwrap();
        let sub = d.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let link = d.join("link");
        symlink("plain", &link).unwrap();
        let nobody = d.join("nobody");
        std::fs::write(&nobody, "x").unwrap();
        std::os::unix::fs::chown(&nobody, Some(54321), Some(54321)).unwrap();
        let paths = [&plain, &odd, &sub, &link, &nobody];
        let mut script = String::new();
        for p in paths {
            script.push_str(&format!(
                "if [ \"$__baton_fa\" = 1 ] && __baton_fstat {}; then printf '%s\\n' \"$__baton_fs\"; else echo NO; fi\n",
                crate::shell::quote(&p.to_string_lossy())
            ));
        }
        // No such file, and a path too long for one atomic request: no answer.
        script.push_str(&format!(
            "__baton_fstat {} || echo NO-missing\n__baton_fstat /{} || echo NO-long\n",
            crate::shell::quote(&d.join("missing").to_string_lossy()),
            "x".repeat(3000)
        ));
        let (out, _) = drive(&[("a1", contained(&script))]).await;
        let mut lines = out.lines();
        // An id without a name: stat says UNKNOWN, which a user could be
        // called; the helper gives the id, as Ansible reports it.
        assert!(gnu_stat(&nobody).ends_with(" UNKNOWN:UNKNOWN"));
        for p in paths {
            let want = gnu_stat(p).replace("UNKNOWN:UNKNOWN", "54321:54321");
            assert_eq!(lines.next(), Some(want.as_str()), "{p:?}\n{out}");
        }
        assert_eq!(lines.next(), Some("NO-missing"), "{out}");
        assert_eq!(lines.next(), Some("NO-long"), "{out}");
    }

    #[tokio::test]
    async fn an_answer_left_unread_is_never_taken_for_the_next_file() {
        require_perl();
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "aaaa").unwrap();
        std::fs::write(&b, "bb").unwrap();
        let qa = crate::shell::quote(&a.to_string_lossy());
        let qb = crate::shell::quote(&b.to_string_lossy());
        // The first script asks about `a` and ends before reading the answer
        // (as one cut off by a timeout would); the next asks about `b`.
        let (out, _) = drive(&[
            (
                "a1",
                contained(&format!(
                    "__baton_n=1; printf '%s %s\\0' \"$__baton_rq.1\" {qa} >&8; echo sent"
                )),
            ),
            (
                "b2",
                contained(&format!(
                    "__baton_fstat {qb} && echo \"$__baton_fs\"; __baton_fstat {qa} && echo \"$__baton_fs\""
                )),
            ),
        ])
        .await;
        let want = format!("sent\n\n\x1ea1 0\n{}\n{}\n", gnu_stat(&b), gnu_stat(&a));
        assert!(out.starts_with(&want), "{out:?}");
    }

    #[tokio::test]
    async fn a_stopped_helper_is_told_apart_and_never_waited_for() {
        require_perl();
        // SIGSTOP: a read from it would block the task for as long as it
        // stays stopped. The request is not sent; `stat` answers instead.
        // `kill` returns before the helper has stopped (it must run to take
        // the signal; on a loaded machine that can take a while): the script
        // waits for /proc to say `T`, as a helper stopped after the look is
        // the window the README names, not this test's subject.
        let scripts = [(
            "a1",
            contained(
                "__baton_fstat / && echo first\n\
                 kill -STOP \"$__baton_fp\"\n\
                 i=0; until grep -q '^State:[[:space:]]*T' \"/proc/$__baton_fp/status\"; do\n\
                   i=$((i + 1)); [ $i -lt 500 ] || { echo never-stopped; break; }; sleep 0.01\n\
                 done\n\
                 if [ \"$__baton_self\" != $$ ]; then echo \"no look: /proc/self is $__baton_self, not $$\"\n\
                 else __baton_fstat / || echo \"no answer [$__baton_fa]\"; fi\n\
                 kill -CONT \"$__baton_fp\"; echo done",
            ),
        )];
        let run = drive(&scripts);
        let (out, _) = tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .expect("a request to a stopped helper was waited for");
        assert!(out.contains("first\nno answer []\ndone\n"), "{out:?}");
    }

    #[tokio::test]
    async fn with_the_helper_gone_a_script_is_told_no_and_runs_on() {
        require_perl();
        // The helper killed under the worker: the next request gets EOF or
        // EPIPE (no SIGPIPE ends the script), the script falls back.
        let (out, err) = drive(&[
            (
                "a1",
                contained("pkill -KILL -P $$ -x perl || echo not-found; sleep 0.2; echo killed"),
            ),
            (
                "b2",
                contained("__baton_fstat / || echo \"no answer [$__baton_fa]\"; echo on"),
            ),
        ])
        .await;
        assert!(out.contains("\nno answer []\non\n"), "{out:?} {err:?}");
    }

    #[tokio::test]
    async fn scripts_of_their_own_get_no_helper_fds_and_no_helper_outlives_the_worker() {
        require_perl();
        // b2 names the worker's helper and leaves a process holding the
        // helper's pipes (as a daemon started by a task would), so the
        // helper sees no end of input when the worker ends: it must notice
        // its parent is gone (checked every 5 s).
        let (out, _) = drive(&[
            (
                "a1",
                "ls /proc/$$/fd; echo \"[${__baton_fa-}]\"".to_string(),
            ),
            (
                "b2",
                contained(
                    "[ -e /proc/$$/fd/8 ] && echo fd8; echo \"fa=$__baton_fa\"\n\
                     echo \"helper=$(pgrep -P $$ -x perl)\"\n\
                     sleep 20 >/dev/null 2>&1 </dev/null & echo \"holder=$!\"",
                ),
            ),
        ])
        .await;
        let own = out.split("\x1ea1").next().unwrap();
        assert!(!own.lines().any(|l| l == "8" || l == "9"), "{own:?}");
        assert!(own.contains("[]"), "{own:?}");
        assert!(out.contains("fd8\nfa=1\n"), "{out:?}");
        let pid_of = |key: &str| -> i32 {
            out.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {key} in {out:?}"))
        };
        let (helper, holder) = (pid_of("helper="), pid_of("holder="));
        let alive = |pid: i32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("getppid"))
        };
        let mut gone = false;
        for _ in 0..80 {
            if !alive(helper) {
                gone = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // The holder was started here, by this test's worker: end it by PID.
        unsafe {
            libc::kill(holder, libc::SIGKILL);
        }
        assert!(
            gone,
            "the file-attribute helper {helper} outlived its worker by 8 s"
        );
    }

    /// A directory of links to these tools only, for a PATH without perl.
    fn path_of(tools: &[&str]) -> tempfile::TempDir {
        let bin = tempfile::tempdir().unwrap();
        for tool in tools {
            let found = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap();
            let target = String::from_utf8(found.stdout).unwrap();
            symlink(target.trim(), bin.path().join(tool)).unwrap();
        }
        bin
    }

    #[tokio::test]
    async fn a_host_without_perl_is_offered_no_helper_and_stat_runs_instead() {
        // A PATH with the tools the worker and FILE_LIB use, but no perl.
        let bin = path_of(&["sh", "mktemp", "mkfifo", "rm", "stat", "setsid"]);
        let (out, _) = drive_with_path(
            &[(
                "a1",
                contained("echo \"fa=[$__baton_fa]\"; __baton_fstat / || echo no; stat -c %a /"),
            )],
            Some(bin.path()),
        )
        .await;
        let root = gnu_stat(std::path::Path::new("/"));
        let mode = root.split(' ').next().unwrap();
        assert!(out.starts_with(&format!("fa=[]\nno\n{mode}\n")), "{out:?}");
    }

    #[tokio::test]
    async fn a_helper_that_never_says_ready_is_not_used() {
        // A `perl` that starts but is not the helper (or dies before its
        // first line): the worker waits for `ready`, sees something else or
        // the end of the pipe, and offers no helper.
        let bin = path_of(&["sh", "mktemp", "mkfifo", "rm", "stat", "setsid", "cat"]);
        let fake = bin.path().join("perl");
        std::fs::write(
            &fake,
            "#!/bin/sh
echo hello
cat >/dev/null
",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (out, _) = drive_with_path(
            &[(
                "a1",
                contained("echo \"fa=[$__baton_fa]\"; __baton_fstat / || echo no"),
            )],
            Some(bin.path()),
        )
        .await;
        assert!(out.starts_with("fa=[]\nno\n"), "{out:?}");
    }
}
