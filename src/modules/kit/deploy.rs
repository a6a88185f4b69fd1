//! Putting known content into a remote file: the engine behind `copy` and
//! `template`.
//!
//! The script compares the destination's sha256 with the content's and only
//! writes when they differ, through a temporary file and a rename. Content up
//! to [`INLINE_LIMIT`] travels inside that one script; larger content is sent
//! only after a first script has found that the hashes differ.

use serde_json::{Map, Value};

use super::answer::{prelude, Answer};
use super::fileops::{self, Attrs, FILE_LIB};
use crate::modules::{Step, TaskResult};
use crate::shell;
use crate::transport::ExecOutput;

/// Content up to this size is checked and written in one round trip.
pub(crate) const INLINE_LIMIT: usize = 64 * 1024;

pub(crate) struct Deploy {
    /// `dest` as the task gave it.
    pub dest: String,
    pub content: Vec<u8>,
    /// File name to use when `dest` is a directory (the source's name).
    pub src_name: Option<String>,
    pub attrs: Attrs,
    pub backup: bool,
    /// `force: no`: leave an existing destination alone even when it differs.
    pub force: bool,
    /// A `_validate` shell function (see [`fileops::validate_function`]).
    pub validate: Option<String>,
    pub check: bool,
    pub diff: bool,
    pub nonce: String,
    /// Extra return values (e.g. `src`).
    pub data: Map<String, Value>,
}

/// Content compared in the shell rather than by hash, at most this many
/// bytes: `read` takes a byte per system call.
pub(crate) const COMPARE_LIMIT: usize = 16 * 1024;

/// `_same PATH`: whether PATH holds exactly `$_c`, read with builtins only.
/// The caller has checked that the file's size is `$_cl`, the length of
/// `$_c` in bytes. `read` drops NUL bytes (dash and bash), which can only
/// make a file with NULs read shorter than its size and so differ: never
/// equal by mistake. The last line's text stays in `_l` when the file does
/// not end with a newline.
const SAME_FN: &str = r#"_same() {
  _r= _l=
  while IFS= read -r _l; do _r="$_r$_l
"; done <"$1" || return 1
  [ "$_r$_l" = "$_c" ]
}
"#;

/// The content as a shell string, when it is text a shell string holds (no
/// NUL) and small enough to compare with builtins.
fn compare_in_shell(content: &[u8]) -> Option<&str> {
    if content.is_empty() || content.len() > COMPARE_LIMIT {
        return None;
    }
    std::str::from_utf8(content)
        .ok()
        .filter(|text| !text.contains('\0'))
}

impl Deploy {
    /// The first round trip.
    pub fn step(self) -> Step {
        // Check mode never needs the content: the hash decides.
        let with_content = !self.check && self.content.len() <= INLINE_LIMIT;
        self.remote(with_content)
    }

    fn remote(self, with_content: bool) -> Step {
        let script = self.script(with_content);
        Step::Remote {
            script,
            interpret: Box::new(move |out| self.interpret(out, with_content)),
        }
    }

    fn script(&self, with_content: bool) -> String {
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
            "_ck={} _e=0 _ac=0 _bk={} _vf=0 _mk=0\n",
            u8::from(self.check),
            u8::from(self.backup)
        ));
        s.push_str(&self.attrs.assignments());
        if let Some(f) = &self.validate {
            s.push_str(f);
        }
        let name = self.src_name.as_deref().map(shell::quote);
        if let Some(dir) = self.dest.strip_suffix('/') {
            // `dest: /some/dir/` names a directory, created when missing.
            let dir = if dir.is_empty() { "/" } else { dir };
            s.push_str(&format!(
                "_d={}\n[ -d \"$_d\" ] || _mk=1\n[ \"$_mk\" = 0 ] || [ \"$_ck\" = 1 ] || mkdir -p -- \"$_d\" || _fail mkdir\n_d=\"${{_d%/}}\"/{}\n",
                shell::quote(dir),
                name.as_deref().unwrap_or("''"),
            ));
        } else {
            s.push_str(&format!("_d={}\n", shell::quote(&self.dest)));
            match &name {
                Some(name) => s.push_str(&format!(
                    "if [ -d \"$_d\" ]; then _d=\"${{_d%/}}\"/{name}; fi\n"
                )),
                None => s.push_str("if [ -d \"$_d\" ]; then _fail destdir; fi\n"),
            }
        }
        let want = fileops::sha256_hex(&self.content);
        // Small text content in the script is compared in the shell, byte
        // for byte, with no `sha256sum` to start; the hash of what is there
        // is needed only to report it (`force: no`).
        let text = with_content
            .then(|| compare_in_shell(&self.content))
            .flatten();
        match text {
            Some(text) => s.push_str(&format!(
                "_c={} _cl={}
{SAME_FN}",
                shell::quote(text),
                self.content.len()
            )),
            None => s.push_str("_c= _cl=\n"),
        }
        s.push_str(&format!("_hn={}\n", u8::from(!self.force)));
        s.push_str(
            &r#"if [ -L "$_d" ]; then _d=$(readlink -f -- "$_d") || _fail readlink; fi
_b dest "$_d"
if [ -e "$_d" ]; then
  [ ! -d "$_d" ] || _fail isdir
  _stat "$_d" || _fail stat
  _e=1
  [ -r "$_d" ] || _fail read
  if [ -n "$_cl" ] && [ "$_s" = "$_cl" ] && _same "$_d"; then _h=WANT
  elif [ -n "$_cl" ] && [ "$_hn" = 0 ]; then _h=differs
  else
    _h=$(sha256sum < "$_d") || _fail read
    _h=${_h%% *}
  fi
else
  _h=
fi
_b exists "$_e"
# No directory to write into: an error, except in check mode, which predicts
# (an earlier task, e.g. `file state=directory`, would have created it), as Ansible.
if [ "$_e" = 0 ] && [ "$_mk" = 0 ]; then case $_d in */*) [ -d "${_d%/*}" ] || { [ "$_ck" = 1 ] && _b nodir 1; } || _fail nodir ;; esac; fi
"#
            .replace("WANT", &want),
        );
        s.push_str(&format!("if [ \"$_h\" = {want} ]; then\n"));
        if self.diff {
            // What an attribute-only change is shown against.
            s.push_str("  _b attrs_before \"$_m $_u $_g $_U:$_G\"\n");
        }
        // Read again after a change, for the names chown made (a numeric
        // owner's name) and a mode it or a symbolic chmod left unknown.
        s.push_str(&format!(
            "  _attrs \"$_d\" {}\n  if [ -z \"$_m\" ] || [ -n \"$_ach\" ]; then _stat \"$_d\" || _fail stat; fi\n  _b mode \"$_m\"; _b owner \"$_U\"; _b group \"$_G\"; _b attrs \"$_ac\"; _b done same\n  exit 0\nfi\n",
            Attrs::ATTRS_ARGS
        ));
        if !self.force {
            s.push_str("if [ \"$_e\" = 1 ]; then _b checksum \"$_h\"; _b mode \"$_m\"; _b done kept; exit 0; fi\n");
        }
        if self.diff && (self.check || with_content) {
            s.push_str(&format!(
                "if [ \"$_e\" = 1 ] && [ \"$_s\" -le {} ]; then _b begin before; base64 < \"$_d\" || _fail read; _b end before; fi\n",
                fileops::DIFF_LIMIT
            ));
        }
        s.push_str("if [ \"$_ck\" = 1 ]; then _b done would; exit 0; fi\n");
        if !with_content {
            s.push_str("_b done need\nexit 0\n");
            return s;
        }
        if text.is_some() {
            s.push_str("_put t \"$_c\"\n");
        } else {
            s.push_str(&format!("_put {}\n", fileops::payload_words(&self.content)));
        }
        s.push_str("_stat \"$_d\" || _fail stat\n_b mode \"$_m\"; _b owner \"$_U\"; _b group \"$_G\"; _b done written\n");
        s
    }

    fn interpret(self, out: &ExecOutput, with_content: bool) -> Step {
        let answer = Answer::parse(out, &self.nonce);
        let dest = answer.get("dest").unwrap_or(&self.dest).to_string();
        if let Some(code) = answer.failure() {
            let msg = match code {
                "destdir" => format!(
                    "{} is a directory; `content` needs a file path as `dest`",
                    self.dest
                ),
                code => fileops::failure_message(code, &dest),
            };
            return Step::Done(answer.failed_with(msg));
        }
        let done = answer.get("done").unwrap_or_default();
        let mut result = match done {
            "need" if !with_content => return self.remote(true),
            "same" if answer.flag("attrs") => TaskResult::changed(),
            "same" | "kept" => TaskResult::ok(),
            "would" | "written" => TaskResult::changed(),
            _ => return Step::Done(answer.unexpected()),
        };
        let checksum = match done {
            "kept" => answer.get("checksum").unwrap_or_default().to_string(),
            _ => fileops::sha256_hex(&self.content),
        };
        let mut data = self.data;
        data.insert("dest".into(), Value::String(dest.clone()));
        data.insert("checksum".into(), Value::String(checksum));
        if done != "kept" {
            data.insert("size".into(), Value::from(self.content.len()));
        }
        if let Some(mode) = answer.get("mode").filter(|m| !m.is_empty()) {
            data.insert("mode".into(), Value::String(fileops::display_mode(mode)));
        }
        for key in ["owner", "group", "backup_file"] {
            if let Some(v) = answer.get(key).filter(|v| !v.is_empty()) {
                data.insert(key.into(), Value::String(v.to_string()));
            }
        }
        if done == "would" && answer.flag("nodir") {
            result.msg = Some(format!(
                "check mode: {dest} would be created; its directory does not exist yet (an earlier task must create it)"
            ));
        }
        if done == "kept" {
            result.msg = Some(format!("{dest} exists and force is off; left unchanged"));
        }
        if self.diff && done == "same" && answer.flag("attrs") {
            result.diff.extend(fileops::answered_attrs_diff(
                &dest,
                &answer,
                self.attrs.mode.as_ref(),
                self.check,
            ));
        }
        if self.diff && matches!(done, "would" | "written") {
            let before = if answer.flag("exists") {
                match answer.block_bytes("before") {
                    Some(b) => fileops::diff_side(&b),
                    None => "[previous content over the diff limit, not shown]\n".to_string(),
                }
            } else {
                String::new()
            };
            result.diff.push(crate::modules::FileDiff {
                path: dest,
                before,
                after: fileops::diff_side(&self.content),
            });
        }
        result.data = data;
        Step::Done(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish, finish_with_env, run_script};

    fn deploy(dest: &str, content: &[u8]) -> Deploy {
        Deploy {
            dest: dest.to_string(),
            content: content.to_vec(),
            src_name: None,
            attrs: Attrs::default(),
            backup: false,
            force: true,
            validate: None,
            check: false,
            diff: true,
            nonce: "t1".into(),
            data: Map::new(),
        }
    }

    #[test]
    fn small_content_travels_in_the_first_script_large_content_does_not() {
        let Step::Remote { script, .. } = deploy("/x", b"hello world").step() else {
            panic!("expected a remote step")
        };
        assert!(script.contains("_c='hello world' _cl=11\n"), "{script}");
        assert!(script.contains("_put t \"$_c\"\n"), "{script}");
        let big = vec![b'a'; INLINE_LIMIT + 1];
        let Step::Remote { script, .. } = deploy("/x", &big).step() else {
            panic!("expected a remote step")
        };
        assert!(!script.contains("aaaaaaaa"));
        assert!(script.contains("_b done need"));
    }

    /// A directory of symbolic links to the named tools only: a script run
    /// with it as PATH can start nothing else.
    fn only_tools(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .unwrap();
            let path = String::from_utf8(path.stdout).unwrap();
            std::os::unix::fs::symlink(path.trim(), dir.path().join(name)).unwrap();
        }
        dir
    }

    #[test]
    fn an_unchanged_small_text_file_is_compared_without_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("c.conf");
        let text = b"  leading space\tand tab\nback\\slash \\n\r\n\xc3\xa9t\xc3\xa9\nno newline at the end";
        let (result, _) = finish(deploy(dest.to_str().unwrap(), text).step());
        assert!(result.is_changed(), "{result:?}");
        // Only `stat` can run now (and the `sh` and `cat` of the test's
        // script runner): the comparison is the shell's own.
        let tools = only_tools(&["sh", "cat", "stat"]);
        let path = tools.path().to_str().unwrap();
        let (result, trips) = finish_with_env(
            deploy(dest.to_str().unwrap(), text).step(),
            &[("PATH", path)],
        );
        assert_eq!(
            (result.status, trips),
            (crate::modules::Status::Ok, 1),
            "{result:?}"
        );
        assert_eq!(result.data["checksum"], fileops::sha256_hex(text));
    }

    #[test]
    fn content_of_the_same_size_that_differs_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("c.conf");
        // Equal sizes, so the shell compares the bytes. The NUL cases: `read`
        // drops NUL bytes, so a file with one reads shorter and differs,
        // even where a NUL read as a newline would have matched.
        for (there, wanted) in [
            (&b"abc\n"[..], &b"abd\n"[..]),
            (b"ab\nc", b"abc\n"),
            (b"a\0b\n", b"a\nb\n"),
            (b"ab\0", b"ab\n"),
            (b"\nab", b"ab\n"),
            (b"a b\n", b"a\tb\n"),
        ] {
            std::fs::write(&dest, there).unwrap();
            let (result, _) = finish(deploy(dest.to_str().unwrap(), wanted).step());
            assert!(result.is_changed(), "{there:?} -> {wanted:?}: {result:?}");
            assert_eq!(std::fs::read(&dest).unwrap(), wanted, "{there:?}");
        }
    }

    #[test]
    fn force_off_reports_the_checksum_of_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("c.conf");
        std::fs::write(&dest, b"old\n").unwrap();
        let mut d = deploy(dest.to_str().unwrap(), b"new content\n");
        d.force = false;
        let (result, _) = finish(d.step());
        assert_eq!(result.status, crate::modules::Status::Ok, "{result:?}");
        assert_eq!(result.data["checksum"], fileops::sha256_hex(b"old\n"));
        assert_eq!(std::fs::read(&dest).unwrap(), b"old\n");
    }

    #[test]
    fn large_content_takes_a_second_trip_only_when_it_differs() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("big");
        let big: Vec<u8> = (0..INLINE_LIMIT + 10).map(|i| (i % 251) as u8).collect();
        let (result, trips) = finish(deploy(dest.to_str().unwrap(), &big).step());
        assert!(result.is_changed(), "{result:?}");
        assert_eq!(trips, 2);
        assert_eq!(std::fs::read(&dest).unwrap(), big);
        let (result, trips) = finish(deploy(dest.to_str().unwrap(), &big).step());
        assert_eq!((result.status, trips), (crate::modules::Status::Ok, 1));
    }

    #[test]
    fn the_answer_of_a_probe_reports_failures_with_the_path() {
        let d = deploy("/nonexistent-dir/x", b"a");
        let Step::Remote { script, interpret } = d.step() else {
            panic!()
        };
        let out = run_script(&script, &[]);
        let Step::Done(result) = interpret(&out) else {
            panic!()
        };
        assert!(result.is_failed());
        assert!(
            result
                .msg
                .as_deref()
                .unwrap()
                .contains("destination directory of /nonexistent-dir/x does not exist"),
            "{result:?}"
        );
        let mut in_check = deploy("/nonexistent-dir/x", b"a");
        in_check.check = true;
        // Check mode predicts: an earlier task may create the directory.
        let (result, _) = finish(in_check.step());
        assert!(result.is_changed(), "{result:?}");
        assert!(
            result
                .msg
                .as_deref()
                .unwrap()
                .contains("directory does not exist yet"),
            "{result:?}"
        );
    }
}
