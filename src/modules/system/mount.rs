//! `mount`: a filesystem's entry in fstab and its mount state, as Ansible's
//! `mount` (`ansible.posix.mount`).
//!
//! `state`: `present` (the fstab entry only), `absent` (no entry, not
//! mounted, an emptied mount point removed), `mounted` (the entry, and
//! mounted: the mount point is created; an entry changed while mounted is
//! remounted), `unmounted` (not mounted, fstab untouched), `remounted`
//! (always remounts; always changed, as in Ansible). The fstab entry is
//! matched by its mount point (second field) and edited on the controller
//! through the kit's read-edit-write (check, diff, `backup`); mounting
//! uses the host's `mount -T FSTAB PATH` (`mount PATH` for /etc/fstab),
//! `umount PATH` and `mountpoint -q PATH`.
//!
//! Round trips: 1 to 2 for the fstab (see `kit::rewrite`), then 1 for the
//! mount state (states other than `present`).

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::rewrite::{Edit, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Mount;

static SPEC: ModuleSpec = ModuleSpec {
    name: "mount",
    args: &[
        ArgSpec::required("path").aliases(&["name"]),
        ArgSpec::optional("src"),
        ArgSpec::optional("fstype"),
        ArgSpec::optional("opts"),
        ArgSpec::optional("dump"),
        ArgSpec::optional("passno"),
        ArgSpec::required("state").choices(&[
            "mounted",
            "unmounted",
            "present",
            "absent",
            "remounted",
        ]),
        ArgSpec::optional("fstab"),
        ArgSpec::optional("backup"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

const DEFAULT_FSTAB: &str = "/etc/fstab";

/// One fstab line's fields, escaped as fstab spells them (`\040` for a space).
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    src: String,
    path: String,
    fstype: String,
    opts: String,
    dump: String,
    passno: String,
}

impl Entry {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}\n",
            self.src, self.path, self.fstype, self.opts, self.dump, self.passno
        )
    }
}

/// fstab's escapes (fstab(5)): space, tab and backslash as octal.
fn escape(field: &str) -> String {
    field
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
}

/// Put the entry for `entry.path` in `text`: replace the first line for that
/// mount point when it differs, append when there is none. `None`: no change.
fn set_entry(text: &str, entry: &Entry) -> Option<String> {
    let mut out = String::new();
    let mut found = false;
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let is_ours =
            !line.trim_start().starts_with('#') && fields.get(1) == Some(&entry.path.as_str());
        if is_ours && !found {
            found = true;
            let current = Entry {
                src: fields[0].to_string(),
                path: fields[1].to_string(),
                fstype: fields.get(2).unwrap_or(&"").to_string(),
                opts: fields.get(3).unwrap_or(&"defaults").to_string(),
                dump: fields.get(4).unwrap_or(&"0").to_string(),
                passno: fields.get(5).unwrap_or(&"0").to_string(),
            };
            if &current == entry {
                out.push_str(line);
            } else {
                changed = true;
                out.push_str(&entry.line());
            }
        } else {
            out.push_str(line);
        }
    }
    if !found {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&entry.line());
        changed = true;
    }
    changed.then_some(out)
}

/// Remove every entry for mount point `path`. `None`: there was none.
fn remove_entry(text: &str, path: &str) -> Option<String> {
    let mut removed = false;
    let out: String = text
        .split_inclusive('\n')
        .filter(|line| {
            let ours =
                !line.trim_start().starts_with('#') && line.split_whitespace().nth(1) == Some(path);
            removed |= ours;
            !ours
        })
        .collect();
    removed.then_some(out)
}

/// The mount-state script: `_act` is mounted, unmounted, absent or
/// remounted; `_fc=1` when this task changed the fstab entry.
const ACT: &str = r#"command -v mountpoint >/dev/null 2>&1 || _fail no_mountpoint
_mnt() { command -v mount >/dev/null 2>&1 || _fail no_mount; mount ${_fst:+-T "$_fst"} "$@" -- "$_p" >&2; }
if mountpoint -q -- "$_p"; then _is=1; else _is=0; fi
_b was_mounted "$_is"
case $_act in
  mounted)
    if [ "$_is" = 1 ]; then
      if [ "$_fc" = 1 ]; then [ "$_ck" = 1 ] || _mnt -o remount || _fail remount; _b did remounted; fi
    else
      if [ ! -d "$_p" ]; then [ "$_ck" = 1 ] || mkdir -p -- "$_p" || _fail mkdir; fi
      [ "$_ck" = 1 ] || _mnt || _fail mount
      _b did mounted
    fi ;;
  unmounted|absent)
    if [ "$_is" = 1 ]; then
      command -v umount >/dev/null 2>&1 || _fail no_umount
      [ "$_ck" = 1 ] || umount -- "$_p" >&2 || _fail umount
      _b did unmounted
    fi
    if [ "$_act" = absent ] && { [ "$_is" = 1 ] || [ "$_fc" = 1 ]; } && [ -d "$_p" ] && [ -z "$(ls -A -- "$_p" 2>/dev/null)" ]; then
      [ "$_ck" = 1 ] || rmdir -- "$_p" 2>/dev/null && _b removed 1
    fi ;;
  remounted)
    if [ "$_is" = 1 ]; then [ "$_ck" = 1 ] || _mnt -o remount || _fail remount
    else [ "$_ck" = 1 ] || _mnt || _fail mount; fi
    _b did remounted ;;
esac
_b done 1
"#;

/// `dump` or `passno`: fstab's numbers, digits only (default 0). A literal
/// value is checked at load (src/load/args.rs); this catches a templated one.
fn digits(r: &ArgReader<'_>, name: &str) -> Result<String, ModuleError> {
    let v = r.string(name)?.unwrap_or_else(|| "0".to_string());
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ModuleError::Args(format!(
            "argument `{name}` must be a number of digits (fstab's field), not `{v}`"
        )));
    }
    Ok(v)
}

impl Module for Mount {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let path = r.required_path("path")?;
        if !path.starts_with('/') {
            return Err(ModuleError::Args(format!(
                "argument `path` must be an absolute mount point, not `{path}`"
            )));
        }
        let path = match path.trim_end_matches('/') {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        let state = r.choice("state")?.unwrap_or_default();
        let fstab = r.path("fstab")?.unwrap_or_else(|| DEFAULT_FSTAB.into());
        let field = |name: &str, default: &str| -> Result<String, ModuleError> {
            let v = r.string(name)?.unwrap_or_else(|| default.to_string());
            if v.is_empty() || v.contains(['\n', '\r']) {
                return Err(ModuleError::Args(format!(
                    "argument `{name}` must be one non-empty line"
                )));
            }
            Ok(escape(&v))
        };
        let needs_entry = matches!(state.as_str(), "present" | "mounted");
        if needs_entry {
            for name in ["src", "fstype"] {
                if r.string(name)?.is_none() {
                    return Err(ModuleError::Args(format!(
                        "state {state} needs `{name}` (the fstab entry's {})",
                        if name == "src" {
                            "device"
                        } else {
                            "filesystem type"
                        }
                    )));
                }
            }
        }
        let entry = Entry {
            src: if needs_entry {
                field("src", "")?
            } else {
                String::new()
            },
            path: escape(&path),
            fstype: if needs_entry {
                field("fstype", "")?
            } else {
                String::new()
            },
            opts: field("opts", "defaults")?,
            dump: digits(&r, "dump")?,
            passno: digits(&r, "passno")?,
        };
        let mut data = serde_json::Map::new();
        data.insert("name".into(), Value::String(path.clone()));
        data.insert("fstab".into(), Value::String(fstab.clone()));
        for (k, v) in [
            ("src", r.string("src")?),
            ("fstype", r.string("fstype")?),
            (
                "opts",
                Some(r.string("opts")?.unwrap_or_else(|| "defaults".into())),
            ),
        ] {
            if let Some(v) = v {
                data.insert(k.into(), Value::String(v));
            }
        }
        let act = Act {
            path: path.clone(),
            state: state.clone(),
            fstab: (fstab != DEFAULT_FSTAB).then(|| fstab.clone()),
            check: ctx.check_mode,
            nonce: ctx.nonce.to_string(),
            data,
        };
        if state == "unmounted" || state == "remounted" {
            return Ok(act.step(TaskResult::ok()));
        }
        let mut rewrite = Rewrite::from_args(fstab.clone(), &r, "backup_file", ctx)?;
        rewrite.attrs = Default::default();
        rewrite.create_mode = Some(0o644);
        let escaped_path = entry.path.clone();
        let shown_fstab = fstab.clone();
        let editor = Box::new(move |old: Option<&[u8]>| {
            // A lossy decode would write U+FFFD over the bytes it could not
            // read: refuse instead, as sysctl and authorized_key do.
            let text = match old.map(std::str::from_utf8) {
                None => "",
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    return Edit::Stop(Box::new(TaskResult::failed(format!(
                        "{shown_fstab} is not UTF-8 text (invalid byte at offset {}); mount edits fstab as text only: fix that line, then run again",
                        e.valid_up_to()
                    ))))
                }
            };
            let new = if needs_entry {
                set_entry(text, &entry)
            } else {
                remove_entry(text, &escaped_path)
            };
            match new {
                Some(content) => Edit::Replace {
                    content: content.into_bytes(),
                    msg: format!(
                        "fstab {} updated",
                        if needs_entry {
                            "entry"
                        } else {
                            "entry removed:"
                        }
                    ),
                },
                None => Edit::Keep(None),
            }
        });
        let edit = rewrite.step(editor);
        if state == "present" {
            return Ok(then(edit, move |r| Step::Done(act.finish(r, None))));
        }
        Ok(then(edit, move |r| {
            if r.is_failed() {
                Step::Done(r)
            } else if state == "absent" && !r.is_changed() {
                // ansible.posix's mount unmounts (and removes the mount
                // point) only when it removed the fstab entry: a path
                // mounted by hand, with no entry, is left alone.
                Step::Done(act.finish(r, None))
            } else {
                act.step(r)
            }
        }))
    }
}

/// Go on with `next` once `step` has its result (the fstab edit, then the
/// mount state), keeping the steps' waits and locks.
fn then(step: Step, next: impl FnOnce(TaskResult) -> Step + Send + 'static) -> Step {
    match step {
        Step::Done(r) => next(r),
        Step::Sleep(d, r) => Step::Wait(d, Box::new(next(r))),
        Step::Wait(d, inner) => Step::Wait(d, Box::new(then(*inner, next))),
        Step::Exclusive(key, inner) => Step::Exclusive(key, Box::new(then(*inner, next))),
        Step::UnlessStopped {
            next: inner,
            stopped,
        } => Step::UnlessStopped {
            next: Box::new(then(*inner, next)),
            stopped,
        },
        Step::Remote { script, interpret } => Step::Remote {
            script,
            interpret: Box::new(move |out| then(interpret(out), next)),
        },
        Step::Reconnect(mut rc) => {
            let mut inner = rc.back;
            let mut next = Some(next);
            rc.back = Box::new(move |out, elapsed| {
                let step = inner(out, elapsed)?;
                Ok(match next.take() {
                    Some(next) => then(step, next),
                    None => step,
                })
            });
            Step::Reconnect(rc)
        }
    }
}

struct Act {
    path: String,
    state: String,
    fstab: Option<String>,
    check: bool,
    nonce: String,
    data: serde_json::Map<String, Value>,
}

impl Act {
    /// The mount-state trip, after the fstab result `fstab`.
    fn step(self, fstab: TaskResult) -> Step {
        let mut s = prelude(&self.nonce);
        s.push_str(&format!(
            "_ck={} _fc={} _act={} _p={} _fst={}\n",
            u8::from(self.check),
            u8::from(fstab.is_changed()),
            shell::quote(&self.state),
            shell::quote(&self.path),
            shell::quote(self.fstab.as_deref().unwrap_or_default()),
        ));
        s.push_str(ACT);
        Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &self.nonce);
                Step::Done(self.finish(fstab, Some(answer)))
            }),
        }
    }

    fn finish(self, fstab: TaskResult, answer: Option<Answer>) -> TaskResult {
        let mut result = fstab;
        if let Some(answer) = answer {
            let p = &self.path;
            if let Some(code) = answer.failure() {
                let msg = match code {
                    "no_mountpoint" => {
                        "mountpoint not found on host (util-linux); install it".to_string()
                    }
                    "no_mount" => "mount not found on host (util-linux); install it".to_string(),
                    "no_umount" => "umount not found on host (util-linux); install it".to_string(),
                    "mount" => format!("Error mounting {p}"),
                    "remount" => format!("Error remounting {p}"),
                    "umount" => format!("Error unmounting {p}"),
                    "mkdir" => format!("Error making dir {p}"),
                    other => format!("{p}: the host reported `{other}`"),
                };
                let mut failed = answer.failed_with(msg);
                failed.diff = result.diff;
                return failed;
            }
            if answer.get("done") != Some("1") {
                return answer.unexpected();
            }
            if let Some(did) = answer.get("did") {
                result.status = crate::modules::Status::Changed;
                let msg = match (did, self.check) {
                    (did, true) => format!("check mode: {p} would be {did}"),
                    (did, false) => format!("{p} {did}"),
                };
                result.msg = Some(match result.msg.take() {
                    Some(m) => format!("{m}; {msg}"),
                    None => msg,
                });
            }
            if answer.flag("removed") {
                result.status = crate::modules::Status::Changed;
            }
        }
        result.data.extend(self.data);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::path::Path;

    const FSTAB: &str = "# /etc/fstab\nUUID=1 / ext4 defaults 0 1\n";

    #[test]
    fn fstab_entries_are_added_changed_and_removed_once() {
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fstab");
        std::fs::write(&fstab, FSTAB).unwrap();
        let args = json!({"path": "/srv/my data", "src": "tmpfs", "fstype": "tmpfs",
                          "opts": "size=1m", "state": "present", "fstab": fstab});
        let dry = run(
            &Mount,
            args.clone(),
            &Ctx {
                check: true,
                diff: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(
            std::fs::read_to_string(&fstab).unwrap(),
            FSTAB,
            "check mode wrote"
        );
        assert!(dry.diff[0]
            .after
            .contains("tmpfs /srv/my\\040data tmpfs size=1m 0 0"));
        assert!(run(&Mount, args.clone(), &Ctx::default()).is_changed());
        assert_eq!(
            std::fs::read_to_string(&fstab).unwrap(),
            format!("{FSTAB}tmpfs /srv/my\\040data tmpfs size=1m 0 0\n")
        );
        assert_eq!(
            run(&Mount, args.clone(), &Ctx::default()).status,
            Status::Ok
        );
        // New options replace the line in place.
        let mut changed = args.clone();
        changed["opts"] = json!("size=2m,noexec");
        assert!(run(&Mount, changed, &Ctx::default()).is_changed());
        let text = std::fs::read_to_string(&fstab).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.contains("my\\040data")).count(),
            1
        );
        assert!(text.contains("size=2m,noexec"));
        let absent = json!({"path": "/srv/my data", "state": "absent", "fstab": fstab});
        assert!(run(&Mount, absent.clone(), &Ctx::default()).is_changed());
        assert_eq!(std::fs::read_to_string(&fstab).unwrap(), FSTAB);
        assert_eq!(run(&Mount, absent, &Ctx::default()).status, Status::Ok);
        assert!(prepare_error(&Mount, json!({"path": "/x", "state": "mounted"})).contains("`src`"));
        assert!(
            prepare_error(&Mount, json!({"path": "x", "state": "absent"})).contains("absolute")
        );
    }

    /// `dump` and `passno` are fstab's numbers: a templated value that is
    /// not digits is refused before fstab is read or written.
    #[test]
    fn dump_and_passno_must_be_digits() {
        for (name, bad) in [
            ("dump", "1 2"),
            ("passno", "-1"),
            ("passno", "x"),
            ("dump", ""),
        ] {
            let mut args =
                json!({"path": "/srv/d", "src": "tmpfs", "fstype": "tmpfs", "state": "present"});
            args[name] = json!(bad);
            let err = prepare_error(&Mount, args);
            assert!(
                err.contains(&format!("argument `{name}` must be a number of digits")),
                "{name}={bad:?}: {err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fstab");
        let args = json!({"path": "/srv/d", "src": "tmpfs", "fstype": "tmpfs", "state": "present",
                          "dump": 1, "passno": "2", "fstab": fstab});
        assert!(run(&Mount, args, &Ctx::default()).is_changed());
        assert_eq!(
            std::fs::read_to_string(&fstab).unwrap(),
            "tmpfs /srv/d tmpfs defaults 1 2\n"
        );
    }

    /// Fake `mount`, `umount` and `mountpoint` keeping their state in a
    /// file: the mount state is never real, this machine's mounts are
    /// never touched.
    fn fakes(bin: &Path, state: &Path, log: &Path) {
        let s = state.display();
        let l = log.display();
        for (name, body) in [
            ("mountpoint", format!("[ \"$1\" = -q ] && shift; [ \"$1\" = -- ] && shift; grep -qxF -- \"$1\" {s} 2>/dev/null")),
            ("mount", format!("echo \"mount $*\" >> {l}; for a; do p=$a; done; case \"$*\" in *remount*) grep -qxF -- \"$p\" {s} || {{ echo \"mount: $p: not mounted\" >&2; exit 32; }};; *) [ -d \"$p\" ] || {{ echo \"mount: $p: mount point does not exist\" >&2; exit 32; }}; echo \"$p\" >> {s};; esac")),
            ("umount", format!("echo \"umount $*\" >> {l}; for a; do p=$a; done; grep -vxF -- \"$p\" {s} > {s}.new; mv {s}.new {s}")),
        ] {
            let file = bin.join(name);
            std::fs::write(&file, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    fn run_with_path(args: Value, check: bool, bin: &Path) -> TaskResult {
        let args: Args = args.as_object().cloned().unwrap();
        let ctx = Ctx::default();
        let context = TaskContext {
            host: "h",
            check_mode: check,
            diff: false,
            nonce: "n0",
            search_paths: &ctx.search,
            eval: &ctx.eval,
        };
        let step = match Mount.prepare(&args, &context) {
            Ok(s) => s,
            Err(e) => return TaskResult::failed(e.to_string()),
        };
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        finish_with_env(step, &[("PATH", path.as_str())]).0
    }

    #[test]
    fn mounted_unmounted_remounted_and_absent_drive_mount_once() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let (state, log) = (dir.path().join("mounted"), dir.path().join("log"));
        std::fs::write(&state, "").unwrap();
        fakes(&bin, &state, &log);
        let fstab = dir.path().join("fstab");
        let mp = dir.path().join("mnt/point");
        let mps = mp.display().to_string();
        let args = json!({"path": mp, "src": "tmpfs", "fstype": "tmpfs", "state": "mounted", "fstab": fstab});
        let dry = run_with_path(args.clone(), true, &bin);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert!(
            !fstab.exists() && !mp.exists() && !log.exists(),
            "check mode acted"
        );
        let first = run_with_path(args.clone(), false, &bin);
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert!(mp.is_dir(), "the mount point is created");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            format!("mount -T {} -- {mps}\n", fstab.display())
        );
        assert!(std::fs::read_to_string(&fstab)
            .unwrap()
            .contains(&format!("tmpfs {mps} tmpfs defaults 0 0")));
        assert_eq!(run_with_path(args.clone(), false, &bin).status, Status::Ok);
        // Changed options while mounted: remounted.
        let mut opts = args.clone();
        opts["opts"] = json!("ro");
        assert!(run_with_path(opts, false, &bin).is_changed());
        assert!(std::fs::read_to_string(&log)
            .unwrap()
            .contains("-o remount"));
        let unmount = json!({"path": mp, "state": "unmounted", "fstab": fstab});
        assert!(run_with_path(unmount.clone(), true, &bin).is_changed());
        assert_eq!(
            std::fs::read_to_string(&state).unwrap().trim(),
            mps,
            "check mode unmounted"
        );
        assert!(run_with_path(unmount.clone(), false, &bin).is_changed());
        assert_eq!(run_with_path(unmount, false, &bin).status, Status::Ok);
        assert!(
            fstab.exists() && std::fs::read_to_string(&fstab).unwrap().contains(&mps),
            "unmounted keeps fstab"
        );
        assert!(run_with_path(
            json!({"path": mp, "state": "remounted", "fstab": fstab}),
            false,
            &bin
        )
        .is_changed());
        let absent = json!({"path": mp, "state": "absent", "fstab": fstab});
        assert!(run_with_path(absent.clone(), false, &bin).is_changed());
        assert!(!std::fs::read_to_string(&fstab).unwrap().contains(&mps));
        assert!(!mp.exists(), "the empty mount point is removed");
        assert_eq!(run_with_path(absent, false, &bin).status, Status::Ok);
    }

    #[test]
    fn absent_without_an_entry_unmounts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let (state, log) = (dir.path().join("mounted"), dir.path().join("log"));
        let mp = dir.path().join("by-hand");
        std::fs::create_dir(&mp).unwrap();
        // Mounted (in the fake), but fstab has no entry for it.
        std::fs::write(&state, format!("{}\n", mp.display())).unwrap();
        fakes(&bin, &state, &log);
        let fstab = dir.path().join("fstab");
        std::fs::write(&fstab, FSTAB).unwrap();
        let absent = json!({"path": mp, "state": "absent", "fstab": fstab});
        for check in [true, false] {
            let r = run_with_path(absent.clone(), check, &bin);
            assert_eq!(r.status, Status::Ok, "check={check}: {r:?}");
        }
        assert!(!log.exists(), "umount was called");
        assert!(mp.is_dir(), "the mount point was removed");
        assert_eq!(std::fs::read_to_string(&fstab).unwrap(), FSTAB);
    }

    #[test]
    fn a_non_utf8_fstab_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fstab");
        let bytes = b"UUID=1 / ext4 defaults 0 1\n/dev/sdb1 /caf\xe9 ext4 defaults 0 2\n".to_vec();
        std::fs::write(&fstab, &bytes).unwrap();
        for state in ["present", "absent"] {
            let r = run(
                &Mount,
                json!({"path": "/srv/x", "src": "tmpfs", "fstype": "tmpfs", "state": state, "fstab": fstab}),
                &Ctx::default(),
            );
            assert!(r.is_failed(), "{r:?}");
            assert!(
                r.msg.as_deref().unwrap().contains("not UTF-8 text"),
                "{r:?}"
            );
            assert_eq!(std::fs::read(&fstab).unwrap(), bytes);
        }
    }

    #[test]
    fn a_failing_mount_is_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let (state, log) = (dir.path().join("mounted"), dir.path().join("log"));
        std::fs::write(&state, "").unwrap();
        fakes(&bin, &state, &log);
        // remount of something not mounted fails in the fake, as real mount does.
        std::fs::write(bin.join("mountpoint"), "#!/bin/sh\nexit 0\n").unwrap();
        let r = run_with_path(
            json!({"path": dir.path().join("m"), "state": "remounted"}),
            false,
            &bin,
        );
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("Error remounting") && msg.contains("not mounted"),
            "{msg}"
        );
    }
}
