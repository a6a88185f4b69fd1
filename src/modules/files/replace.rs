//! `replace`: replace every match of a regular expression in a file, as
//! Ansible's `ansible.builtin.replace` does: the pattern is Python's dialect
//! compiled with `re.MULTILINE` over the whole file, `replace` may use `\1`
//! and `\g<name>`, and `after`/`before` limit the edit to the text after the
//! first match of `after` and before the last match of `before` (`re.DOTALL`,
//! Ansible's `after(?P<subsection>.*?)before`). The file is edited on the
//! controller with the lock-protected read/edit/write kit (`kit/rewrite.rs`),
//! as `lineinfile` is.
//!
//! Changed rules (Ansible's): changed when at least one match was replaced and
//! the text differs; a missing file fails with rc 257 ("Path ... does not
//! exist !"); an `after`/`before` that does not match is ok, with a message.
//!
//! Round trips: 1 when nothing is replaced (or in check mode); 2 when the file
//! changes (read, edit on the controller, write).

use crate::modules::kit::args::ArgReader;
use crate::modules::kit::rewrite::{Edit, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::pyregex;

pub struct Replace;

static SPEC: ModuleSpec = ModuleSpec {
    name: "replace",
    args: &[
        ArgSpec::required("path").aliases(&["dest", "destfile", "name"]),
        ArgSpec::required("regexp"),
        ArgSpec::optional("replace"),
        ArgSpec::optional("after"),
        ArgSpec::optional("before"),
        ArgSpec::optional("backup"),
        ArgSpec::optional("encoding").choices(&["utf-8", "utf8", "UTF-8", "UTF8"]),
        ArgSpec::optional("mode"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
        ArgSpec::optional("validate"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// What one edit of the text does.
#[derive(Debug)]
pub(crate) struct ReplaceParams {
    pub regexp: fancy_regex::Regex,
    /// The replacement in fancy-regex syntax (see [`pyregex::replacement`]).
    pub replace: String,
    /// The `after`/`before` section pattern (`re.DOTALL`), if any.
    pub section: Option<(fancy_regex::Regex, String)>,
}

/// The outcome of [`ReplaceParams::apply`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `n` replacements made; the new text.
    Replaced(usize, String),
    /// Nothing to change.
    Same,
    /// The `after`/`before` pattern did not match (Ansible: ok, with a message).
    NoSection(String),
}

impl ReplaceParams {
    pub fn apply(&self, text: &str) -> Result<Outcome, String> {
        let (start, end) = match &self.section {
            None => (0, text.len()),
            Some((re, shown)) => match re.captures(text) {
                Ok(Some(caps)) => match caps.name("subsection") {
                    Some(m) => (m.start(), m.end()),
                    None => return Ok(Outcome::NoSection(shown.clone())),
                },
                Ok(None) => return Ok(Outcome::NoSection(shown.clone())),
                Err(e) => return Err(format!("matching `after`/`before` failed: {e}")),
            },
        };
        let section = &text[start..end];
        let mut out = String::with_capacity(section.len());
        let mut last = 0;
        let mut count = 0;
        for caps in crate::pyregex::py_captures(&self.regexp, section) {
            let caps = caps.map_err(|e| format!("matching `regexp` failed: {e}"))?;
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&section[last..m.start()]);
            caps.expand(&self.replace, &mut out);
            last = m.end();
            count += 1;
        }
        out.push_str(&section[last..]);
        if count == 0 || out == section {
            return Ok(Outcome::Same);
        }
        Ok(Outcome::Replaced(
            count,
            format!("{}{}{}", &text[..start], out, &text[end..]),
        ))
    }
}

impl Module for Replace {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let path = r.required_path("path")?;
        let regexp = r.required_string("regexp")?;
        let regexp = pyregex::compile(&regexp, false, true)
            .map_err(|e| ModuleError::Args(format!("argument `regexp`: {e}")))?;
        let replace = r.string("replace")?.unwrap_or_default();
        pyregex::check_replacement(&replace, &regexp)
            .map_err(|e| ModuleError::Args(format!("argument `replace`: {e}")))?;
        let replace = pyregex::replacement(&replace);
        let after = r.string("after")?;
        let before = r.string("before")?;
        let pattern = match (&after, &before) {
            (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
            (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
            (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
            (None, None) => None,
        };
        let section = pattern
            .map(|p| {
                pyregex::compile(&format!("(?s){p}"), false, false)
                    .map(|re| (re, p))
                    .map_err(|e| ModuleError::Args(format!("arguments `after`/`before`: {e}")))
            })
            .transpose()?;
        let params = ReplaceParams {
            regexp,
            replace,
            section,
        };
        r.choice("encoding")?;
        let shown_path = path.clone();
        let rewrite = Rewrite::from_args(path, &r, "backup_file", ctx)?;
        Ok(rewrite.step(Box::new(move |old| {
            let Some(old) = old else {
                return Edit::Stop(Box::new(TaskResult {
                    rc: Some(257),
                    ..TaskResult::failed(format!("Path {shown_path} does not exist !"))
                }));
            };
            let Ok(text) = std::str::from_utf8(old) else {
                return Edit::Stop(Box::new(TaskResult::failed(format!(
                    "{shown_path} is not UTF-8 text; replace edits text files only"
                ))));
            };
            match params.apply(text) {
                Ok(Outcome::Same) => Edit::Keep(None),
                Ok(Outcome::NoSection(p)) => Edit::Keep(Some(format!(
                    "Pattern for before/after params did not match the given file: {p}"
                ))),
                Ok(Outcome::Replaced(n, new)) => Edit::Replace {
                    content: new.into_bytes(),
                    msg: format!("{n} replacements made"),
                },
                Err(e) => Edit::Stop(Box::new(TaskResult::failed(e))),
            }
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    fn params(regexp: &str, replace: &str, after: Option<&str>, before: Option<&str>) -> Args {
        let mut a = json!({"path": "/x", "regexp": regexp, "replace": replace});
        if let Some(x) = after {
            a["after"] = json!(x);
        }
        if let Some(x) = before {
            a["before"] = json!(x);
        }
        a.as_object().cloned().unwrap()
    }

    /// The edit alone, as the module builds it.
    fn edit(text: &str, args: Args) -> Outcome {
        let r = ArgReader::new(&SPEC, &args);
        let regexp = pyregex::compile(&r.string("regexp").unwrap().unwrap(), false, true).unwrap();
        let after = r.string("after").unwrap();
        let before = r.string("before").unwrap();
        let section = match (after, before) {
            (Some(a), Some(b)) => Some(format!("{a}(?P<subsection>.*?){b}")),
            (Some(a), None) => Some(format!("{a}(?P<subsection>.*)")),
            (None, Some(b)) => Some(format!("(?P<subsection>.*){b}")),
            _ => None,
        }
        .map(|p| {
            (
                pyregex::compile(&format!("(?s){p}"), false, false).unwrap(),
                p,
            )
        });
        ReplaceParams {
            regexp,
            replace: pyregex::replacement(&r.string("replace").unwrap().unwrap_or_default()),
            section,
        }
        .apply(text)
        .unwrap()
    }

    #[test]
    fn multiline_anchors_groups_and_sections_follow_python() {
        // `^`/`$` match at each line (re.MULTILINE); `\1` and `\g<name>` expand.
        assert_eq!(
            edit(
                "a=1\nb=2\n",
                params(r"^(?P<k>\w)=(\d)$", r"\g<k>: \2", None, None)
            ),
            Outcome::Replaced(2, "a: 1\nb: 2\n".into())
        );
        // Only between the first `after` match and the `before` match.
        let text = "x=1\n[s]\nx=1\n[t]\nx=1\n";
        assert_eq!(
            edit(text, params("x=1", "x=2", Some(r"\[s\]"), Some(r"\[t\]"))),
            Outcome::Replaced(1, "x=1\n[s]\nx=2\n[t]\nx=1\n".into())
        );
        assert_eq!(
            edit(text, params("x=1", "x=2", Some(r"\[s\]"), None)),
            Outcome::Replaced(2, "x=1\n[s]\nx=2\n[t]\nx=2\n".into())
        );
        assert_eq!(
            edit(text, params("x=1", "x=2", None, Some(r"\[t\]"))),
            Outcome::Replaced(2, "x=2\n[s]\nx=2\n[t]\nx=1\n".into())
        );
        assert!(matches!(
            edit(text, params("x=1", "x=2", Some("nope"), None)),
            Outcome::NoSection(_)
        ));
        // A match replaced by itself is no change; a literal `$` stays literal.
        assert_eq!(edit("a\n", params("a", "a", None, None)), Outcome::Same);
        assert_eq!(
            edit("price\n", params("price", "$5", None, None)),
            Outcome::Replaced(1, "$5\n".into())
        );
    }

    #[test]
    fn replaces_then_is_stable_and_check_mode_only_reports() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        std::fs::write(&p, "10.0.0.1 old.example old\n10.0.0.2 other\n").unwrap();
        let args = json!({"path": p, "regexp": r"(\s+)old\.example(\s+.*)?$", "replace": r"\1new.example\2"});
        let dry = run(
            &Replace,
            args.clone(),
            &Ctx {
                check: true,
                diff: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(
            dry.diff[0].after,
            "10.0.0.1 new.example old\n10.0.0.2 other\n"
        );
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "10.0.0.1 old.example old\n10.0.0.2 other\n"
        );
        let first = run(&Replace, args.clone(), &Ctx::default());
        assert_eq!(first.msg.as_deref(), Some("1 replacements made"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "10.0.0.1 new.example old\n10.0.0.2 other\n"
        );
        assert_eq!(run(&Replace, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn backup_keeps_the_old_file_and_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "a\n").unwrap();
        let r = run(
            &Replace,
            json!({"path": p, "regexp": "a", "replace": "b", "backup": true}),
            &Ctx::default(),
        );
        let backup = r.data["backup_file"].as_str().unwrap().to_string();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "a\n");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "b\n");
    }

    /// Through a symlink, as Ansible's replace: the target is edited and the
    /// link kept; the backup is a regular file holding the target's old
    /// content, named after the path as given (backup_local(path)).
    #[test]
    fn backup_through_a_symlink_is_of_the_target() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/f");
        std::fs::write(&target, "a\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real/f", &link).unwrap();
        let r = run(
            &Replace,
            json!({"path": link, "regexp": "a", "replace": "b", "backup": true}),
            &Ctx::default(),
        );
        assert!(r.is_changed(), "{r:?}");
        let backup = std::path::PathBuf::from(r.data["backup_file"].as_str().unwrap());
        assert!(
            backup
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("link."),
            "{backup:?}"
        );
        assert_eq!(backup.parent(), Some(dir.path()));
        let meta = std::fs::symlink_metadata(&backup).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the backup is a copy of the link"
        );
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), "a\n");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "b\n");
        assert_eq!(
            std::fs::read_dir(dir.path().join("real")).unwrap().count(),
            1
        );
    }

    #[test]
    fn failure_modes() {
        let dir = tempfile::tempdir().unwrap();
        let missing = run(
            &Replace,
            json!({"path": dir.path().join("none"), "regexp": "a"}),
            &Ctx::default(),
        );
        assert!(missing.is_failed());
        assert_eq!(missing.rc, Some(257));
        assert!(missing.msg.unwrap().contains("does not exist !"));
        let p = dir.path().join("bin");
        std::fs::write(&p, [0xffu8, 0xfe, b'a']).unwrap();
        let binary = run(&Replace, json!({"path": p, "regexp": "a"}), &Ctx::default());
        assert!(binary.msg.unwrap().contains("not UTF-8"));
        assert_eq!(std::fs::read(&p).unwrap(), [0xffu8, 0xfe, b'a']);
        let nosection = dir.path().join("s");
        std::fs::write(&nosection, "a\n").unwrap();
        let r = run(
            &Replace,
            json!({"path": nosection, "regexp": "a", "replace": "b", "after": "zzz"}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok);
        assert!(r.msg.unwrap().contains("did not match"));
        assert!(prepare_error(&Replace, json!({"path": "/x", "regexp": "("})).contains("`regexp`"));
        // A group the pattern lacks fails as Python's re.sub does, before
        // anything is written (fancy-regex alone would expand it to "").
        let text = dir.path().join("t");
        std::fs::write(&text, "port=80\n").unwrap();
        for (repl, said) in [
            ("\\2", "invalid group reference 2"),
            ("\\g<q>", "unknown group name 'q'"),
        ] {
            let r = run(
                &Replace,
                json!({"path": text, "regexp": "port=(\\d+)", "replace": repl}),
                &Ctx::default(),
            );
            assert!(r.is_failed(), "{r:?}");
            assert!(r.msg.as_deref().unwrap().contains(said), "{r:?}");
            assert_eq!(std::fs::read_to_string(&text).unwrap(), "port=80\n");
        }
        assert!(
            prepare_error(&Replace, json!({"path": "/x", "regexp": "a", "after": "("}))
                .contains("`after`/`before`")
        );
    }
}
