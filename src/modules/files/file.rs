//! `file`: a path's type (file, directory, link, hard link, absent) and its
//! mode, owner and group. Everything is decided and applied in one script.
//!
//! `state: touch` reports changed on every run, as in Ansible, because it
//! updates the timestamps; `modification_time: preserve` and
//! `access_time: preserve` make it create-only and idempotent.
//!
//! Round trips: 1.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops::{self, Attrs, Mode, FILE_LIB};
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct File;

static SPEC: ModuleSpec = ModuleSpec {
    name: "file",
    args: &[
        ArgSpec::required("path").aliases(&["dest", "name"]),
        ArgSpec::optional("state").choices(&[
            "file",
            "directory",
            "absent",
            "touch",
            "link",
            "hard",
        ]),
        ArgSpec::optional("src"),
        ArgSpec::optional("mode"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
        ArgSpec::optional("recurse"),
        ArgSpec::optional("force"),
        ArgSpec::optional("follow"),
        ArgSpec::optional("modification_time").choices(&["now", "preserve"]),
        ArgSpec::optional("access_time").choices(&["now", "preserve"]),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for File {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let plan = Plan::from_args(&r)?;
        let script = plan.script(ctx.nonce, ctx.check_mode);
        let nonce = ctx.nonce.to_string();
        let diff = ctx.diff;
        Ok(Step::Remote {
            script,
            interpret: Box::new(move |out| {
                Step::Done(plan.interpret(&Answer::parse(out, &nonce), diff))
            }),
        })
    }
}

struct Plan {
    path: String,
    /// `None`: keep whatever type the path has (it must exist).
    state: Option<String>,
    src: Option<String>,
    attrs: Attrs,
    recurse: bool,
    force: bool,
    follow: bool,
    touch_mtime: bool,
    touch_atime: bool,
}

impl Plan {
    fn from_args(r: &ArgReader<'_>) -> Result<Plan, ModuleError> {
        let mut path = r.required_path("path")?;
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        if path.starts_with('-') {
            // Keeps the path from being read as an option by find/chmod.
            path.insert_str(0, "./");
        }
        let state = r.choice("state")?;
        let src = r.path("src")?;
        let recurse = r.bool("recurse", false)?;
        match (state.as_deref(), &src) {
            (Some("link" | "hard"), None) => {
                return Err(ModuleError::Args(format!(
                    "state={} needs `src` (the file the link points to)",
                    state.as_deref().unwrap_or_default()
                )))
            }
            (Some("link" | "hard"), Some(_)) => {}
            (_, Some(_)) => {
                return Err(ModuleError::Args(
                    "`src` only applies to state=link or state=hard".into(),
                ))
            }
            _ => {}
        }
        if recurse && state.as_deref() != Some("directory") {
            return Err(ModuleError::Args("`recurse` needs state=directory".into()));
        }
        if state.as_deref() == Some("absent") && path == "/" {
            return Err(ModuleError::Args(
                "refusing state=absent on / (it would remove the whole filesystem)".into(),
            ));
        }
        let now = |name: &str| -> Result<bool, ModuleError> {
            Ok(r.choice(name)?.as_deref() != Some("preserve"))
        };
        Ok(Plan {
            path,
            state,
            src,
            attrs: Attrs::from_args(r)?,
            recurse,
            force: r.bool("force", false)?,
            follow: r.bool("follow", true)?,
            touch_mtime: now("modification_time")?,
            touch_atime: now("access_time")?,
        })
    }

    fn script(&self, nonce: &str, check: bool) -> String {
        // Known tools only: it may run in the worker shell's subshell.
        let mut s = String::from(shell::CONTAINED);
        s.push_str(&prelude(nonce));
        s.push_str(FILE_LIB);
        s.push_str(&format!("_ck={} _ac=0 _chg=0 _nf=\n", u8::from(check)));
        s.push_str(&self.attrs.assignments());
        s.push_str(&format!("_p={}\n", shell::quote(&self.path)));
        s.push_str(TYPE_FN);
        s.push_str("_type \"$_p\"\n_b prev \"$_ty\"\n");
        if self.follow {
            // Operate on what a link points to, when it points somewhere.
            let follow_states = matches!(
                self.state.as_deref(),
                None | Some("file" | "directory" | "touch")
            );
            if follow_states {
                s.push_str(
                    "if [ \"$_ty\" = link ] && [ -e \"$_p\" ]; then _p=$(readlink -f -- \"$_p\") || _fail readlink; _type \"$_p\"; _b target \"$_p\"; fi\n",
                );
            }
        }
        let apply = if self.recurse {
            self.recursive_attrs()
        } else {
            format!("_attrs \"$_p\" {}", Attrs::ATTRS_ARGS)
        };
        let existing =
            "if [ \"$_ty\" != absent ] && _stat \"$_p\"; then _b before \"$_m $_u $_g $_U:$_G\"; fi\n";
        match self.state.as_deref() {
            Some("absent") => s.push_str(
                "if [ \"$_ty\" != absent ]; then _chg=1; [ \"$_ck\" = 1 ] || rm -rf -- \"$_p\" || _fail rm; fi\n_b state absent\n",
            ),
            Some("directory") => {
                s.push_str(existing);
                s.push_str(&directory_script(&apply));
            }
            Some("file") | None => {
                s.push_str(existing);
                let allowed = if self.state.is_some() { "file" } else { "file|directory|link" };
                s.push_str(&format!(
                    "case $_ty in\n  {allowed}) [ \"$_ty\" != link ] || _nf=1; {apply} ;;\n  *) _fail \"is_$_ty\" ;;\nesac\n_b state \"$_ty\"\n"
                ));
            }
            Some("touch") => {
                s.push_str(existing);
                s.push_str(&self.touch_script(&apply));
            }
            Some("link") => s.push_str(&self.link_script()),
            Some("hard") => s.push_str(&self.hard_script()),
            Some(_) => {}
        }
        s.push_str(
            "if [ \"$_ck\" != 1 ] && [ \"$_chg$_ac\" != 00 ] && { [ -e \"$_p\" ] || [ -L \"$_p\" ]; }; then _stat \"$_p\" && _b after \"$_m $_u $_g $_U:$_G\" && _b size \"$_s\"; \
             elif [ -n \"$_s\" ]; then [ -n \"$_m\" ] || _stat \"$_p\"; _b after \"$_m $_u $_g $_U:$_G\"; _b size \"$_s\"; fi\n_b changed \"$_chg\"; _b attrs \"$_ac\"; _b done 1\n",
        );
        s
    }

    /// `state: touch`: create the file, or update its timestamps (unless both
    /// are `preserve`), then apply the attributes (`apply`).
    fn touch_script(&self, apply: &str) -> String {
        let touch = match (self.touch_atime, self.touch_mtime) {
            (true, true) => Some("touch --"),
            (true, false) => Some("touch -a --"),
            (false, true) => Some("touch -m --"),
            (false, false) => None,
        };
        let update = match touch {
            Some(cmd) => format!("_chg=1; [ \"$_ck\" = 1 ] || {cmd} \"$_p\" || _fail touch; "),
            None => String::new(),
        };
        format!(
            r#"case $_ty in
  absent)
    _chg=1
    if [ "$_ck" != 1 ]; then
      true >>"$_p" || _fail touch
      _stat "$_p" || _fail stat
      {apply}
    fi
    _ty=file ;;
  file|directory) {update}{apply} ;;
  *) _fail "is_$_ty" ;;
esac
_b state "$_ty"
"#
        )
    }

    /// `recurse: yes`: the attributes on everything below the directory.
    fn recursive_attrs(&self) -> String {
        let a = &self.attrs;
        let mut check_terms = Vec::new();
        let mut apply = Vec::new();
        // Digits are an id (Ansible's `int(owner)` first): find's `-uid`,
        // chown's `+N`; find's `-user` and chown would take a user named
        // by the digits first.
        let numeric = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        let chown_word = |v: &str| {
            if numeric(v) {
                format!("+{v}")
            } else {
                v.to_string()
            }
        };
        if let Some(o) = &a.owner {
            let test = if numeric(o) { "-uid" } else { "-user" };
            check_terms.push(format!("! {test} {}", shell::quote(o)));
        }
        if let Some(g) = &a.group {
            let test = if numeric(g) { "-gid" } else { "-group" };
            check_terms.push(format!("! {test} {}", shell::quote(g)));
        }
        let spec = match (&a.owner, &a.group) {
            (Some(o), Some(g)) => Some((format!("{}:{}", chown_word(o), chown_word(g)), "chown")),
            (Some(o), None) => Some((chown_word(o), "chown")),
            (None, Some(g)) => Some((format!(":{}", chown_word(g)), "chgrp")),
            (None, None) => None,
        };
        if let Some((spec, code)) = spec {
            apply.push(format!(
                "_x=$(chown -R -h -c -- {} \"$_p\") || _fail {code}; [ -z \"$_x\" ] || _ac=1",
                shell::quote(&spec)
            ));
        }
        let mut symbolic_in_check = false;
        match &a.mode {
            Some(Mode::Octal(m)) => {
                check_terms.push(format!("\\( ! -type l ! -perm {m:o} \\)"));
                apply.push(format!(
                    "_x=$(chmod -R -c -- 00{m:o} \"$_p\") || _fail chmod; [ -z \"$_x\" ] || _ac=1"
                ));
            }
            Some(Mode::Symbolic(sym)) => {
                symbolic_in_check = true;
                apply.push(format!(
                    "_x=$(chmod -R -c -- {} \"$_p\") || _fail chmod; [ -z \"$_x\" ] || _ac=1",
                    shell::quote(sym)
                ));
            }
            None => {}
        }
        let check = if check_terms.is_empty() {
            String::from(":")
        } else {
            format!(
                "_x=$(find \"$_p\" \\( {} \\) -print -quit); [ -z \"$_x\" ] || _ac=1",
                check_terms.join(" -o ")
            )
        };
        let check = if symbolic_in_check {
            format!("{check}; _ac=1; _b guess 1")
        } else {
            check
        };
        if apply.is_empty() {
            return ":".into();
        }
        format!(
            "if [ \"$_ck\" = 1 ]; then {check}; else {}; fi",
            apply.join("; ")
        )
    }

    fn link_script(&self) -> String {
        let src = self.src.as_deref().unwrap_or_default();
        format!(
            r#"_src={src} _fo={force}
case $_src in
  /*) _abs=$_src ;;
  *) if [ "$_ty" = directory ]; then _abs=$_p/$_src; else case $_p in */*) _abs=${{_p%/*}}/$_src ;; *) _abs=$_src ;; esac; fi ;;
esac
[ -e "$_abs" ] || [ "$_fo" = 1 ] || _fail nosrc
_cur=
[ "$_ty" != link ] || _cur=$(readlink -- "$_p")
if [ "$_ty" != link ] || [ "$_cur" != "$_src" ]; then
  case $_ty in
    directory)
      [ "$_fo" = 1 ] || _fail dir_to_link
      [ -z "$(ls -A -- "$_p")" ] || _fail dir_not_empty ;;
    file) [ "$_fo" = 1 ] || _fail file_to_link ;;
  esac
  _chg=1
  if [ "$_ck" != 1 ]; then
    if [ "$_ty" = directory ]; then rmdir -- "$_p" || _fail rm; _ty=absent; fi
    if [ "$_ty" = absent ]; then
      ln -s -- "$_src" "$_p" || _fail ln
    else
      case $_p in */*) _tmp=${{_p%/*}}/.baton.$$.link ;; *) _tmp=.baton.$$.link ;; esac
      rm -f -- "$_tmp"
      ln -s -- "$_src" "$_tmp" && mv -Tf -- "$_tmp" "$_p" || {{ rm -f -- "$_tmp"; _fail ln; }}
    fi
  fi
fi
if [ -L "$_p" ]; then
  _stat "$_p" || _fail stat
  _nf=1; _attrs "$_p" "" "$_ow" "$_gr"
fi
_b state link
"#,
            src = shell::quote(src),
            force = u8::from(self.force),
        )
    }

    fn hard_script(&self) -> String {
        let src = self.src.as_deref().unwrap_or_default();
        format!(
            r#"_src={src} _fo={force}
case $_src in
  /*) _abs=$_src ;;
  *) case $_p in */*) _abs=${{_p%/*}}/$_src ;; *) _abs=$_src ;; esac ;;
esac
[ -e "$_abs" ] || _fail nosrc_hard
[ ! -d "$_abs" ] || _fail src_is_dir
if ! [ "$_p" -ef "$_abs" ]; then
  case $_ty in
    absent) ;;
    directory) _fail dir_to_hard ;;
    *) [ "$_fo" = 1 ] || _fail exists_hard ;;
  esac
  _chg=1
  if [ "$_ck" != 1 ]; then
    if [ "$_ty" = absent ]; then
      ln -- "$_abs" "$_p" || _fail ln
    else
      case $_p in */*) _tmp=${{_p%/*}}/.baton.$$.link ;; *) _tmp=.baton.$$.link ;; esac
      rm -f -- "$_tmp"
      ln -- "$_abs" "$_tmp" && mv -f -- "$_tmp" "$_p" || {{ rm -f -- "$_tmp"; _fail ln; }}
    fi
  fi
fi
if [ -e "$_p" ]; then
  _stat "$_p" || _fail stat
  _attrs "$_p" "$_mo" "$_ow" "$_gr"
elif [ "$_ck" = 1 ]; then
  _stat "$_abs" || _fail stat
  _attrs "$_abs" "$_mo" "$_ow" "$_gr"
fi
_b state hard
"#,
            src = shell::quote(src),
            force = u8::from(self.force),
        )
    }

    fn interpret(&self, answer: &Answer, diff: bool) -> TaskResult {
        let path = answer.get("target").unwrap_or(&self.path).to_string();
        if let Some(code) = answer.failure() {
            return answer.failed_with(self.failure_message(code, &path));
        }
        if answer.get("done") != Some("1") {
            return answer.unexpected();
        }
        let changed = answer.flag("changed");
        let attrs_changed = answer.flag("attrs");
        let mut result = if changed || attrs_changed {
            TaskResult::changed()
        } else {
            TaskResult::ok()
        };
        let state = answer.get("state").unwrap_or_default().to_string();
        result
            .data
            .insert("path".into(), Value::String(path.clone()));
        result
            .data
            .insert("state".into(), Value::String(state.clone()));
        if let Some(after) = answer.get("after").and_then(fileops::SeenAttrs::parse) {
            if !after.mode.is_empty() {
                result.data.insert(
                    "mode".into(),
                    Value::String(fileops::display_mode(&after.mode)),
                );
            }
            result
                .data
                .insert("owner".into(), Value::String(after.owner));
            result
                .data
                .insert("group".into(), Value::String(after.group));
            let size = answer.get("size").unwrap_or_default();
            for (k, v) in [("uid", &*after.uid), ("gid", &*after.gid), ("size", size)] {
                if let Ok(n) = v.parse::<u64>() {
                    result.data.insert(k.into(), Value::from(n));
                }
            }
        }
        if answer.flag("guess") {
            result.msg = Some(
                "check mode cannot predict a recursive symbolic mode; reported as changed".into(),
            );
        }
        if diff && result.is_changed() {
            result.diff.push(self.diff(&path, answer, &state));
        }
        result
    }

    fn diff(&self, path: &str, answer: &Answer, state: &str) -> FileDiff {
        let prev = answer.get("prev").unwrap_or("absent");
        let seen = answer.get("before").and_then(fileops::SeenAttrs::parse);
        let mut before = format!("path: {path}\nstate: {prev}\n");
        let mut after = format!("path: {path}\nstate: {state}\n");
        // A numeric owner or group is an id: the one there already is no
        // change, shown by its name as before.
        let same_id = |want: &Option<String>, id: Option<&str>| -> bool {
            match (want.as_deref().and_then(|w| w.parse::<u64>().ok()), id) {
                (Some(w), Some(id)) => id.parse::<u64>().ok() == Some(w),
                _ => false,
            }
        };
        let owner_same = same_id(&self.attrs.owner, seen.as_ref().map(|s| s.uid.as_str()));
        let group_same = same_id(&self.attrs.group, seen.as_ref().map(|s| s.gid.as_str()));
        let wanted = [
            (
                "mode",
                self.attrs.mode.as_ref().map(|m| match m {
                    Mode::Octal(o) => format!("{o:04o}"),
                    Mode::Symbolic(s) => s.clone(),
                }),
            ),
            ("owner", self.attrs.owner.clone().filter(|_| !owner_same)),
            ("group", self.attrs.group.clone().filter(|_| !group_same)),
        ];
        let old_values = seen.map(|s| [fileops::display_mode(&s.mode), s.owner, s.group]);
        for (i, (key, want)) in wanted.iter().enumerate() {
            let old = old_values.as_ref().map(|v| v[i].clone());
            if let Some(old) = &old {
                before.push_str(&format!("{key}: {old}\n"));
            }
            if state != "absent" {
                if let Some(v) = want.as_ref().or(old.as_ref()) {
                    after.push_str(&format!("{key}: {v}\n"));
                }
            }
        }
        FileDiff {
            path: path.to_string(),
            before,
            after,
        }
    }

    fn failure_message(&self, code: &str, path: &str) -> String {
        let src = self.src.as_deref().unwrap_or_default();
        match code {
            "is_absent" => format!(
                "file ({path}) is absent, cannot continue; the file does not exist: use state=touch to create an empty file, or copy/template to create it with content"
            ),
            "is_directory" => format!("file ({path}) is directory, cannot continue"),
            "is_link" => format!("file ({path}) is link, cannot continue"),
            "is_other" => format!("file ({path}) is a special file (device, fifo or socket), cannot continue"),
            "exists_file" | "exists_link" | "exists_other" => format!(
                "{path} already exists as a {}",
                code.trim_start_matches("exists_")
            ),
            "rm" => format!("cannot remove {path}"),
            "touch" => format!("cannot touch {path}"),
            "ln" => format!("cannot create the link {path}"),
            "nosrc" => format!(
                "src file does not exist, use \"force=yes\" if you really want to create the link: {src}"
            ),
            "nosrc_hard" => format!("src file does not exist: {src}; a hard link needs an existing file"),
            "src_is_dir" => format!("src {src} is a directory; hard links to directories are not possible"),
            "dir_to_link" => format!("refusing to convert from directory to symlink for {path} (force=yes replaces an empty directory)"),
            "dir_not_empty" => format!("the directory {path} is not empty, refusing to convert it"),
            "file_to_link" => format!("refusing to convert from file to symlink for {path} (use force=yes)"),
            "dir_to_hard" => format!("cannot link, a directory exists at {path}"),
            "exists_hard" => format!("cannot link, {path} exists and is a different file (use force=yes to replace it)"),
            code => fileops::failure_message(code, path),
        }
    }
}

/// `_type PATH` sets `_ty` to link, directory, file, other or absent.
const TYPE_FN: &str = r#"_type() {
  if [ -L "$1" ]; then _ty=link
  elif [ -d "$1" ]; then _ty=directory
  elif [ -f "$1" ]; then _ty=file
  elif [ -e "$1" ]; then _ty=other
  else _ty=absent; fi
}
"#;

/// `state: directory`: create it with its missing parents, applying the
/// attributes to each directory created (Ansible's behaviour), or apply them
/// (`apply`) to the existing one.
fn directory_script(apply: &str) -> String {
    format!(
        r#"case $_ty in
  directory) {apply} ;;
  absent)
    _top=$_p; _q=${{_p%/*}}
    while [ -n "$_q" ] && [ "$_q" != "$_top" ] && [ ! -e "$_q" ]; do _top=$_q; _q=${{_q%/*}}; done
    _chg=1
    if [ "$_ck" != 1 ]; then
      mkdir -p -- "$_p" || _fail mkdir
      if [ -n "$_mo$_ow$_gr" ]; then
        _q=$_p
        while :; do
          _stat "$_q" || _fail stat
          _attrs "$_q" "$_mo" "$_ow" "$_gr"
          [ "$_q" != "$_top" ] || break
          _q=${{_q%/*}}
        done
      fi
    fi ;;
  *) _fail "exists_$_ty" ;;
esac
_b state directory
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(p: &std::path::Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn check() -> Ctx {
        Ctx {
            check: true,
            diff: true,
            ..Ctx::default()
        }
    }

    #[test]
    fn directory_is_created_with_mode_on_every_new_level_then_ok() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c");
        let args = json!({"path": p, "state": "directory", "mode": "0750"});
        let dry = run(&File, args.clone(), &check());
        assert_eq!(dry.status, Status::Changed);
        assert!(!dir.path().join("a").exists());
        assert!(
            dry.diff[0].after.contains("state: directory"),
            "{:?}",
            dry.diff
        );
        let first = run(&File, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(mode_of(&p), 0o750);
        assert_eq!(mode_of(&dir.path().join("a")), 0o750);
        assert_eq!(first.data["mode"], "0750");
        let second = run(&File, args, &Ctx::default());
        assert_eq!(second.status, Status::Ok, "{second:?}");
    }

    #[test]
    fn state_file_on_a_missing_path_fails_like_ansible() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            &File,
            json!({"path": dir.path().join("nope"), "state": "file"}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("is absent, cannot continue") && msg.contains("state=touch"),
            "{msg}"
        );
    }

    #[test]
    fn mode_changes_are_detected_and_check_mode_leaves_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let args = json!({"path": p, "mode": "u+x,g-r"});
        assert_eq!(run(&File, args.clone(), &check()).status, Status::Changed);
        assert_eq!(mode_of(&p), 0o644);
        assert_eq!(
            run(&File, args.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(mode_of(&p), 0o704);
        assert_eq!(run(&File, args.clone(), &check()).status, Status::Ok);
        assert_eq!(run(&File, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn links_are_made_replaced_and_refused_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t1");
        std::fs::write(&target, "1").unwrap();
        std::fs::write(dir.path().join("t2"), "2").unwrap();
        let link = dir.path().join("l");
        let args = json!({"path": link, "src": "t1", "state": "link"});
        assert_eq!(
            run(&File, args.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some("t1"));
        assert_eq!(run(&File, args, &Ctx::default()).status, Status::Ok);
        let swap = json!({"path": link, "src": "t2", "state": "link"});
        assert_eq!(run(&File, swap.clone(), &check()).status, Status::Changed);
        assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some("t1"));
        assert_eq!(run(&File, swap, &Ctx::default()).status, Status::Changed);
        assert_eq!(std::fs::read_link(&link).unwrap().to_str(), Some("t2"));
        let over_file = run(
            &File,
            json!({"path": target, "src": "t2", "state": "link"}),
            &Ctx::default(),
        );
        assert!(over_file
            .msg
            .unwrap()
            .contains("refusing to convert from file to symlink"));
        let dangling = run(
            &File,
            json!({"path": dir.path().join("d"), "src": "nowhere", "state": "link"}),
            &Ctx::default(),
        );
        assert!(dangling.msg.unwrap().contains("src file does not exist"));
    }

    #[test]
    fn hard_links_share_the_inode() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("s");
        std::fs::write(&src, "x").unwrap();
        let h = dir.path().join("h");
        let args = json!({"path": h, "src": src, "state": "hard"});
        assert_eq!(
            run(&File, args.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(
            std::fs::metadata(&h).unwrap().ino(),
            std::fs::metadata(&src).unwrap().ino()
        );
        assert_eq!(run(&File, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn absent_removes_trees_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tree");
        std::fs::create_dir_all(p.join("x/y")).unwrap();
        let args = json!({"path": p, "state": "absent"});
        assert_eq!(run(&File, args.clone(), &check()).status, Status::Changed);
        assert!(p.exists());
        assert_eq!(
            run(&File, args.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert!(!p.exists());
        assert_eq!(run(&File, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn touch_creates_and_preserve_makes_it_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let always = json!({"path": p, "state": "touch"});
        assert_eq!(
            run(&File, always.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert!(p.exists());
        assert_eq!(run(&File, always, &Ctx::default()).status, Status::Changed);
        let keep = json!({"path": p, "state": "touch", "modification_time": "preserve", "access_time": "preserve"});
        assert_eq!(run(&File, keep, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn recursive_mode_reaches_files_below() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r");
        std::fs::create_dir_all(p.join("sub")).unwrap();
        std::fs::write(p.join("sub/f"), "x").unwrap();
        std::fs::set_permissions(p.join("sub/f"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let args = json!({"path": p, "state": "directory", "mode": "0755", "recurse": true});
        assert_eq!(run(&File, args.clone(), &check()).status, Status::Changed);
        assert_eq!(mode_of(&p.join("sub/f")), 0o600);
        assert_eq!(
            run(&File, args.clone(), &Ctx::default()).status,
            Status::Changed
        );
        assert_eq!(mode_of(&p.join("sub/f")), 0o755);
        assert_eq!(run(&File, args.clone(), &check()).status, Status::Ok);
        assert_eq!(run(&File, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn argument_combinations_are_checked_before_anything_runs() {
        assert!(
            prepare_error(&File, json!({"path": "/x", "state": "link"})).contains("needs `src`")
        );
        assert!(prepare_error(&File, json!({"path": "/x", "src": "/y"})).contains("state=link"));
        assert!(prepare_error(&File, json!({"path": "/x", "recurse": true}))
            .contains("state=directory"));
        assert!(prepare_error(&File, json!({"path": "/", "state": "absent"})).contains("refusing"));
    }
}
