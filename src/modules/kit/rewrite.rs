//! Editing a remote text file on the controller, in at most two round trips.
//!
//! Trip 1 applies mode/owner/group (they do not depend on the content) and
//! reads the file. The controller computes the new content; when it is the
//! same, the task is done. Otherwise trip 2 writes the new content atomically,
//! but only if the file still has the sha256 of what trip 1 read.
//!
//! The check and the rename are one atomic step on the node: trip 2 holds an
//! exclusive `flock(1)` on the target's directory, from the hash check to the
//! rename (the rename replaces the file, so the file itself cannot be locked;
//! the directory outlives the rename, and locking it leaves nothing behind,
//! where a lock file beside the target would stay in /etc for good). Two
//! runs editing files in one directory therefore never both pass the check
//! against the same content; they wait for each other only for the few
//! milliseconds of the check and rename. A file that changed between the
//! trips is read and edited again after a random wait that doubles with each
//! attempt (exponential back-off with full jitter, see [`Retry`]), so that
//! writers that collided (two runs, a shared NFS file) spread out instead of
//! colliding again and again; only after [`RETRY_SECS`] of collisions does
//! the task fail, without writing. Within one run the hosts that edit one
//! file on one machine (the `local` connection, `delegate_to` one host) do
//! not collide at all: the whole read-edit-write is a [`Step::Exclusive`]
//! keyed by the path, so they take turns on the controller. A host without
//! `flock` (util-linux) fails the task rather than risk a lost edit.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::answer::{prelude, Answer};
use super::fileops::{self, Attrs, FILE_LIB};
use crate::modules::{FileDiff, Step, TaskResult};
use crate::shell;
use crate::transport::ExecOutput;

/// The controller's verdict on the file's content.
pub(crate) enum Edit {
    /// Leave the content as it is (a message for the result, if any).
    Keep(Option<String>),
    /// Write this content.
    Replace { content: Vec<u8>, msg: String },
    /// Remove the file (e.g. a cron file left with no entries).
    Delete { msg: String },
    /// Stop with this result (e.g. the file is missing and may not be created).
    Stop(Box<TaskResult>),
}

/// Computes the new content from the current one (`None`: the file is missing).
/// Called again when the file changed between the read and the write.
pub(crate) type Editor = Box<dyn FnMut(Option<&[u8]>) -> Edit + Send>;

/// The most read-edit-write attempts of one task on a file that keeps
/// changing under it (a bound on top of [`RETRY_SECS`]).
pub(crate) const MAX_ATTEMPTS: u32 = 1000;

/// How long a task goes on reading and editing again a file that other
/// writers keep changing under it, in seconds.
pub(crate) const RETRY_SECS: u64 = 60;

/// The first back-off bound; it doubles with each attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The largest back-off bound.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The retries of an optimistic edit: which attempt this is, since when, and
/// the bounds. After a collision the next attempt waits a random time from
/// zero to a bound that doubles with each attempt ("full jitter", AWS
/// Architecture Blog, "Exponential Backoff And Jitter"): writers that
/// collided spread out, so each next round has fewer of them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    /// From 1.
    pub attempt: u32,
    pub started: Instant,
    pub max_attempts: u32,
    pub budget: Duration,
}

impl Retry {
    pub fn first() -> Retry {
        Retry {
            attempt: 1,
            started: Instant::now(),
            max_attempts: MAX_ATTEMPTS,
            budget: Duration::from_secs(RETRY_SECS),
        }
    }

    /// After a collision: the wait before the next attempt and that attempt,
    /// or `None` when the attempts or the time are used up. `seed` (the
    /// task's nonce) makes each task's waits its own.
    pub fn next(self, seed: &str) -> Option<(Duration, Retry)> {
        if self.attempt >= self.max_attempts || self.started.elapsed() >= self.budget {
            return None;
        }
        let doublings = (self.attempt - 1).min(16);
        let bound = FIRST_BACKOFF
            .saturating_mul(1u32 << doublings)
            .min(MAX_BACKOFF);
        let wait = bound.mul_f64(unit_random(seed, self.attempt));
        Some((
            wait,
            Retry {
                attempt: self.attempt + 1,
                ..self
            },
        ))
    }

    /// Why the task gave up: `what` changed under it again and again.
    pub fn exhausted(&self, what: &str) -> String {
        format!(
            "{what} changed on the host between reading and writing it {} times in a row over {:.0} s (other writers keep changing it); nothing was written",
            self.attempt,
            self.started.elapsed().as_secs_f64()
        )
    }
}

/// A number in [0, 1) from `seed` and `n`.
fn unit_random(seed: &str, n: u32) -> f64 {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(seed.as_bytes());
    hasher.update(n.to_le_bytes());
    // Also the clock: two tasks of one run share no nonce, but be safe.
    hasher.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
            .to_le_bytes(),
    );
    let digest = hasher.finalize();
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// How long the write waits for another writer's lock, in seconds.
pub(crate) const LOCK_WAIT_SECS: u32 = 60;

/// Shell lines taking an exclusive lock on `$_lk` (a path, or a directory
/// opened read-only when `$_lkd` is 1) on fd 9, held until the script exits.
/// A missing `flock` fails closed: without it the check-and-replace is not
/// atomic and a concurrent edit could be lost.
pub(crate) fn lock_lines() -> String {
    format!(
        r#"command -v flock >/dev/null 2>&1 || _fail noflock
if [ "$_lkd" = 1 ]; then [ -r "$_lk" ] || _fail lock; exec 9<"$_lk"
else true 2>/dev/null >>"$_lk" || _fail lock; exec 9>>"$_lk"; fi
flock -w {LOCK_WAIT_SECS} 9 || _fail locked
"#
    )
}

/// Messages for the lock's `_fail` codes (`lock` names what is locked).
pub(crate) fn lock_failure(code: &str, lock: &str) -> Option<String> {
    Some(match code {
        "noflock" => "`flock` is missing on the host; baton locks a file while it checks and replaces it, so that concurrent runs lose no edit. Install util-linux (it provides flock(1)) and run again".to_string(),
        "lock" => format!("cannot open {lock} to lock it"),
        "locked" => format!(
            "{lock} stayed locked for {LOCK_WAIT_SECS}s (another run is editing the file); nothing was written"
        ),
        _ => return None,
    })
}

pub(crate) struct Rewrite {
    pub path: String,
    pub attrs: Attrs,
    pub backup: bool,
    /// Result key for the backup file's path (`backup` for lineinfile, as in Ansible).
    pub backup_key: &'static str,
    /// A `_validate` shell function (see [`fileops::validate_function`]).
    pub validate: Option<String>,
    /// Mode for a file this task creates when `mode` is not given (octal).
    pub create_mode: Option<u32>,
    pub check: bool,
    pub diff: bool,
    pub nonce: String,
    /// The retries after a collision ([`Retry::first`] for a task).
    pub retry: Retry,
}

impl Rewrite {
    /// A rewrite of `path` with the task's file arguments: `mode`, `owner`,
    /// `group`, `backup` and `validate`.
    pub fn from_args(
        path: String,
        r: &super::args::ArgReader<'_>,
        backup_key: &'static str,
        ctx: &crate::modules::TaskContext<'_>,
    ) -> Result<Rewrite, crate::modules::ModuleError> {
        let validate = r
            .string("validate")?
            .map(|v| fileops::validate_function(&v))
            .transpose()?;
        Ok(Rewrite {
            path,
            attrs: Attrs::from_args(r)?,
            backup: r.bool("backup", false)?,
            backup_key,
            validate,
            create_mode: None,
            check: ctx.check_mode,
            diff: ctx.diff,
            nonce: ctx.nonce.to_string(),
            retry: Retry::first(),
        })
    }

    pub fn step(self, editor: Editor) -> Step {
        let key = format!("edit {}", self.path);
        Step::Exclusive(key, Box::new(self.read(editor)))
    }

    /// Trip 1 of attempt `self.retry.attempt`.
    fn read(self, editor: Editor) -> Step {
        let script = self.read_script();
        Step::Remote {
            script,
            interpret: Box::new(move |out| self.after_read(out, editor)),
        }
    }

    fn head(&self, check: bool) -> String {
        // Known tools only, unless `validate` runs the user's command; and
        // a backup's name holds `$$`, which must be the task's own there.
        let mut s = String::from(if self.validate.is_none() && !self.backup {
            shell::CONTAINED
        } else {
            ""
        });
        s.push_str(&prelude(&self.nonce));
        s.push_str(FILE_LIB);
        s.push_str(&format!(
            "_ck={} _ac=0 _e=0 _bk={} _vf=0 _nf=\n",
            u8::from(check),
            u8::from(self.backup)
        ));
        s.push_str(&self.attrs.assignments());
        s
    }

    fn read_script(&self) -> String {
        let mut s = self.head(self.check);
        s.push_str(&format!("_d={}\n", shell::quote(&self.path)));
        s.push_str(&format!(
            r#"if [ -L "$_d" ]; then _d=$(readlink -f -- "$_d") || _fail readlink; fi
_b path "$_d"
if [ -e "$_d" ]; then
  [ ! -d "$_d" ] || _fail isdir
  [ -r "$_d" ] || _fail read
  if [ -n "$_mo$_ow$_gr" ]; then _stat "$_d" || _fail stat; ATTRS_BEFORE_attrs "$_d" {}; fi
  ATTRS_AFTER
  _b exists 1; _b attrs "$_ac"
  _b begin content; base64 < "$_d"; _b end content
else
  _b exists 0
fi
_b done 1
"#,
            Attrs::ATTRS_ARGS
        ));
        // With --diff, an attribute-only change is shown against what was
        // there (read again after a chown, for the names it made).
        let (before, after) = if self.diff {
            (
                "_b attrs_before \"$_m $_u $_g $_U:$_G\"; ",
                "if [ \"$_ac\" = 1 ]; then { [ -n \"$_m\" ] && [ -z \"$_ach\" ]; } || _stat \"$_d\" || _fail stat; _b mode \"$_m\"; _b owner \"$_U\"; _b group \"$_G\"; fi",
            )
        } else {
            ("", ":")
        };
        s.replace("ATTRS_BEFORE", before)
            .replace("ATTRS_AFTER", after)
    }

    fn after_read(self, out: &ExecOutput, mut editor: Editor) -> Step {
        let answer = Answer::parse(out, &self.nonce);
        let path = answer.get("path").unwrap_or(&self.path).to_string();
        if let Some(code) = answer.failure() {
            return Step::Done(answer.failed_with(fileops::failure_message(code, &path)));
        }
        if answer.get("done") != Some("1") {
            return Step::Done(answer.unexpected());
        }
        let exists = answer.flag("exists");
        let attrs_changed = answer.flag("attrs");
        let original = if exists {
            match answer.block_bytes("content") {
                Some(c) => Some(c),
                None => return Step::Done(answer.failed_with(format!("cannot read {path}"))),
            }
        } else {
            None
        };
        let (content, msg) = match editor(original.as_deref()) {
            Edit::Stop(result) => return Step::Done(*result),
            Edit::Keep(msg) => {
                let mut result = if attrs_changed {
                    TaskResult::changed().with_msg(attrs_message(msg.as_deref().unwrap_or("")))
                } else {
                    TaskResult {
                        msg,
                        ..TaskResult::ok()
                    }
                };
                if self.diff && attrs_changed {
                    result.diff.extend(fileops::answered_attrs_diff(
                        &path,
                        &answer,
                        self.attrs.mode.as_ref(),
                        self.check,
                    ));
                }
                result.data.insert("path".into(), Value::String(path));
                return Step::Done(result);
            }
            Edit::Replace { content, msg } => (Some(content), msg),
            Edit::Delete { msg } => (None, msg),
        };
        let msg = if attrs_changed {
            attrs_message(&msg)
        } else {
            msg
        };
        let diff = self.diff.then(|| FileDiff {
            path: path.clone(),
            before: original
                .as_deref()
                .map(fileops::diff_side)
                .unwrap_or_default(),
            after: content
                .as_deref()
                .map(fileops::diff_side)
                .unwrap_or_default(),
        });
        if self.check {
            let mut result = TaskResult::changed().with_msg(msg);
            result.diff.extend(diff);
            result.data.insert("path".into(), Value::String(path));
            return Step::Done(result);
        }
        let script = self.write_script(&path, original.as_deref(), content.as_deref());
        Step::Remote {
            script,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &self.nonce);
                match answer.failure() {
                    // Someone wrote between the trips: wait a little, then
                    // read and edit again.
                    Some("raced") => {
                        return match self.retry.next(&self.nonce) {
                            Some((wait, retry)) => {
                                Step::Wait(wait, Box::new(Rewrite { retry, ..self }.read(editor)))
                            }
                            None => Step::Done(answer.failed_with(self.retry.exhausted(&path))),
                        }
                    }
                    Some(code) => {
                        let lock = lock_path(&path);
                        let msg = lock_failure(code, &lock)
                            .unwrap_or_else(|| fileops::failure_message(code, &path));
                        return Step::Done(answer.failed_with(msg));
                    }
                    None => {}
                }
                if answer.get("done") != Some("written") {
                    return Step::Done(answer.unexpected());
                }
                let mut result = TaskResult::changed().with_msg(msg);
                result.diff.extend(diff);
                result.data.insert("path".into(), Value::String(path));
                if let Some(b) = answer.get("backup_file") {
                    result
                        .data
                        .insert(self.backup_key.into(), Value::String(b.to_string()));
                }
                Step::Done(result)
            }),
        }
    }

    /// Writes `content`, or removes the file when it is `None`.
    fn write_script(&self, path: &str, original: Option<&[u8]>, content: Option<&[u8]>) -> String {
        let mut s = self.head(false);
        if let (None, None, Some(mode)) = (original, &self.attrs.mode, self.create_mode) {
            s.push_str(&format!("_mo={mode:o}\n"));
        }
        if let Some(f) = &self.validate {
            s.push_str(f);
        }
        // A backup is named after the path as given, a symlink's too, and
        // holds the target's content: Ansible's backup_local(path).
        s.push_str(&format!(
            "_d={}\n_bkn={}\n_lkd=1 _lk={}\n",
            shell::quote(path),
            shell::quote(&self.path),
            shell::quote(&lock_path(path))
        ));
        // The directory must exist: it is the lock.
        if original.is_none() {
            s.push_str(
                "case $_d in */*) [ -d \"${_d%/*}\" ] || mkdir -p -- \"${_d%/*}\" || _fail mkdir ;; esac\n",
            );
        }
        // From here to the rename, no other baton run can check or replace the file.
        s.push_str(&lock_lines());
        match original {
            Some(before) => s.push_str(&format!(
                r#"[ -e "$_d" ] || _fail raced
_h=$(sha256sum < "$_d") || _fail read
[ "${{_h%% *}}" = {} ] || _fail raced
_stat "$_d" || _fail stat
_e=1
"#,
                fileops::sha256_hex(before)
            )),
            None => s.push_str("[ ! -e \"$_d\" ] || _fail raced\n"),
        }
        match content {
            Some(content) => s.push_str(&format!("_put {}\n", fileops::payload_words(content))),
            None => s.push_str(
                r#"if [ "$_bk" = 1 ]; then
  _bkf="$_bkn.$$.$(date '+%Y-%m-%d@%H:%M:%S~')"
  cp -p -- "$_d" "$_bkf" || { rm -f -- "$_bkf"; _fail backup; }
  _b backup_file "$_bkf"
fi
rm -f -- "$_d" || _fail rm
"#,
            ),
        }
        s.push_str("_b done written\n");
        s
    }
}

/// What is locked while `path` is checked and replaced: its directory.
pub(crate) fn lock_path(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    }
}

fn attrs_message(msg: &str) -> String {
    if msg.is_empty() {
        "ownership, perms or SE linux context changed".into()
    } else {
        format!("{msg} and ownership, perms or SE linux context changed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish, run_script};
    use crate::modules::Status;

    fn rewrite(path: &std::path::Path, check: bool) -> Rewrite {
        Rewrite {
            path: path.display().to_string(),
            attrs: Attrs::default(),
            backup: false,
            backup_key: "backup",
            validate: None,
            create_mode: None,
            check,
            diff: true,
            nonce: "rw".into(),
            retry: Retry::first(),
        }
    }

    /// The step inside the run's lock on the file.
    fn inner(step: Step) -> Step {
        match step {
            Step::Exclusive(key, step) => {
                assert!(key.starts_with("edit /"), "{key}");
                *step
            }
            other => other,
        }
    }

    fn upper() -> Editor {
        Box::new(|old: Option<&[u8]>| {
            let old = old.unwrap_or_default();
            let new = old.to_ascii_uppercase();
            if new == old {
                Edit::Keep(None)
            } else {
                Edit::Replace {
                    content: new,
                    msg: "upper".into(),
                }
            }
        })
    }

    #[test]
    fn unchanged_content_takes_one_trip_changed_two() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let (r, trips) = finish(rewrite(&p, false).step(upper()));
        assert_eq!((r.status, trips), (Status::Changed, 2));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "ABC\n");
        assert_eq!(r.diff[0].before, "abc\n");
        let (r, trips) = finish(rewrite(&p, false).step(upper()));
        assert_eq!((r.status, trips), (Status::Ok, 1));
    }

    #[test]
    fn check_mode_reports_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let (r, trips) = finish(rewrite(&p, true).step(upper()));
        assert_eq!((r.status, trips), (Status::Changed, 1));
        assert_eq!(r.diff[0].after, "ABC\n");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "abc\n");
    }

    #[test]
    fn a_file_changed_between_the_trips_is_read_and_edited_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let Step::Remote { script, interpret } = inner(rewrite(&p, false).step(upper())) else {
            panic!()
        };
        let first = run_script(&script, &[]);
        std::fs::write(&p, "someone else\n").unwrap();
        let Step::Remote { script, interpret } = interpret(&first) else {
            panic!()
        };
        // The write refuses (the hash changed) and asks to read again, after
        // a back-off within the first bound.
        let Step::Wait(wait, next) = interpret(&run_script(&script, &[])) else {
            panic!("a raced write must lead to a wait, then a new read")
        };
        assert!(wait <= FIRST_BACKOFF, "{wait:?}");
        let Step::Remote { script: reread, .. } = *next else {
            panic!("a raced write must lead to a new read")
        };
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "someone else\n");
        assert!(reread.contains("base64 <"), "{reread}");
        // Run the whole task again from scratch: the other writer's content is edited, not lost.
        let (r, _) = finish(rewrite(&p, false).step(upper()));
        assert_eq!(r.status, Status::Changed);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "SOMEONE ELSE\n");
        // The lock leaves nothing beside the file.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
    }

    #[test]
    fn a_file_that_keeps_changing_fails_after_the_bounded_retries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let mut quick = rewrite(&p, false);
        quick.retry.max_attempts = 10;
        let mut step = quick.step(upper());
        let mut writes = 0;
        let result = loop {
            match step {
                Step::Remote { script, interpret } => {
                    if script.contains("flock") {
                        // Another writer gets in before every write.
                        writes += 1;
                        std::fs::write(&p, format!("other {writes}\n")).unwrap();
                    }
                    step = interpret(&run_script(&script, &[]));
                }
                Step::Wait(_, next)
                | Step::Exclusive(_, next)
                | Step::UnlessStopped { next, .. } => step = *next,
                Step::Done(r) | Step::Sleep(_, r) => break r,
                Step::Reconnect(_) => unreachable!("a file edit never reconnects"),
            }
        };
        assert_eq!(writes, 10);
        assert!(result.is_failed());
        let msg = result.msg.unwrap();
        assert!(msg.contains("10 times in a row"), "{msg}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "other 10\n");
    }

    #[test]
    fn the_write_waits_for_the_lock_on_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let lock = dir.path();
        // Another writer holds the lock for a second.
        let mut holder = std::process::Command::new("flock")
            .arg(lock)
            .args(["sleep", "1"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let started = std::time::Instant::now();
        let (r, _) = finish(rewrite(&p, false).step(upper()));
        holder.wait().unwrap();
        assert_eq!(r.status, Status::Changed);
        assert!(started.elapsed() >= std::time::Duration::from_millis(500));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "ABC\n");
    }

    #[test]
    fn a_host_without_flock_fails_closed_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let Step::Remote { script, interpret } = inner(rewrite(&p, false).step(upper())) else {
            panic!()
        };
        let Step::Remote { script, interpret } = interpret(&run_script(&script, &[])) else {
            panic!()
        };
        // A PATH with only what runs the script itself.
        let empty = tempfile::tempdir().unwrap();
        for tool in ["sh", "cat"] {
            let real = ["/bin", "/usr/bin"]
                .iter()
                .map(|d| std::path::Path::new(d).join(tool))
                .find(|p| p.exists())
                .unwrap();
            std::os::unix::fs::symlink(real, empty.path().join(tool)).unwrap();
        }
        let no_flock = run_script(&script, &[("PATH", empty.path().to_str().unwrap())]);
        let Step::Done(r) = interpret(&no_flock) else {
            panic!()
        };
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("`flock` is missing") && msg.contains("util-linux"),
            "{msg}"
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "abc\n");
    }

    #[test]
    fn back_off_bounds_double_up_to_a_second_and_time_runs_out() {
        let mut retry = Retry::first();
        let mut bounds = Vec::new();
        for _ in 0..12 {
            let (wait, next) = retry.next("seed").unwrap();
            let bound = FIRST_BACKOFF
                .saturating_mul(1 << (retry.attempt - 1))
                .min(MAX_BACKOFF);
            assert!(
                wait <= bound,
                "attempt {}: {wait:?} > {bound:?}",
                retry.attempt
            );
            bounds.push(bound.as_millis());
            retry = next;
        }
        assert_eq!(&bounds[..8], &[10, 20, 40, 80, 160, 320, 640, 1000]);
        // Two tasks (two nonces) do not wait alike.
        let waits = |seed: &str| -> Vec<Duration> {
            let mut r = Retry::first();
            (0..8)
                .map(|_| {
                    let (w, n) = r.next(seed).unwrap();
                    r = n;
                    w
                })
                .collect()
        };
        assert_ne!(waits("a"), waits("b"));
        let spent = Retry {
            started: Instant::now() - Duration::from_secs(RETRY_SECS + 1),
            ..Retry::first()
        };
        assert!(spent.next("seed").is_none());
        assert!(spent.exhausted("/etc/f").contains("over 61 s"));
        let many = Retry {
            attempt: MAX_ATTEMPTS,
            ..Retry::first()
        };
        assert!(many.next("seed").is_none());
    }

    #[test]
    fn the_lock_is_the_targets_directory() {
        assert_eq!(lock_path("/etc/cron.d/x"), "/etc/cron.d");
        assert_eq!(lock_path("/x"), "/");
        assert_eq!(lock_path("f"), ".");
    }
}
