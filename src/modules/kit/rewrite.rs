//! Editing a remote text file on the controller, in at most two round trips.
//!
//! Trip 1 applies mode/owner/group (they do not depend on the content) and
//! reads the file. The controller computes the new content; when it is the
//! same, the task is done. Otherwise trip 2 writes the new content atomically,
//! but only if the file still has the sha256 of what trip 1 read; a file that
//! changed in between is refused rather than overwritten.

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
pub(crate) type Editor = Box<dyn FnOnce(Option<&[u8]>) -> Edit + Send>;

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
        })
    }

    pub fn step(self, editor: Editor) -> Step {
        let script = self.read_script();
        Step::Remote {
            script,
            interpret: Box::new(move |out| self.after_read(out, editor)),
        }
    }

    fn head(&self, check: bool) -> String {
        let mut s = prelude(&self.nonce);
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
  if [ -n "$_mo$_ow$_gr" ]; then _stat "$_d" || _fail stat; _attrs "$_d" {}; fi
  _b exists 1; _b attrs "$_ac"
  _b begin content; base64 < "$_d"; _b end content
else
  _b exists 0
fi
_b done 1
"#,
            Attrs::ATTRS_ARGS
        ));
        s
    }

    fn after_read(self, out: &ExecOutput, editor: Editor) -> Step {
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
                if let Some(code) = answer.failure() {
                    return Step::Done(answer.failed_with(fileops::failure_message(code, &path)));
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
        s.push_str(&format!("_d={}\n", shell::quote(path)));
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
            None => s.push_str(
                r#"[ ! -e "$_d" ] || _fail raced
case $_d in */*) [ -d "${_d%/*}" ] || mkdir -p -- "${_d%/*}" || _fail mkdir ;; esac
"#,
            ),
        }
        match content {
            Some(content) => s.push_str(&format!("_put {}\n", fileops::payload_words(content))),
            None => s.push_str(
                r#"if [ "$_bk" = 1 ]; then
  _bkf="$_d.$$.$(date '+%Y-%m-%d@%H:%M:%S~')"
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
    fn a_file_changed_between_the_trips_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc\n").unwrap();
        let Step::Remote { script, interpret } = rewrite(&p, false).step(upper()) else {
            panic!()
        };
        let first = run_script(&script, &[]);
        std::fs::write(&p, "someone else\n").unwrap();
        let Step::Remote { script, interpret } = interpret(&first) else {
            panic!()
        };
        let Step::Done(r) = interpret(&run_script(&script, &[])) else {
            panic!()
        };
        assert!(r.is_failed());
        assert!(r
            .msg
            .unwrap()
            .contains("changed on the host while baton was editing it"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "someone else\n");
    }
}
