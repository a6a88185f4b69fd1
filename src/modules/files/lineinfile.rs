//! `lineinfile`: make sure one line is in a file (or is not), edited on the
//! controller with Ansible's algorithm (see `edit.rs`), written atomically.
//!
//! Round trips: 1 when the line is already right (or in check mode); 2 when the
//! file changes (read, edit on the controller, write).

use crate::pyregex::bytes::Regex;

use crate::modules::kit::args::ArgReader;
use crate::modules::kit::edit::{self, Anchor, LineParams, Selector};
use crate::modules::kit::rewrite::{Edit, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct LineInFile;

static SPEC: ModuleSpec = ModuleSpec {
    name: "lineinfile",
    args: &[
        ArgSpec::required("path").aliases(&["dest", "destfile", "name"]),
        ArgSpec::optional("regexp").aliases(&["regex"]),
        ArgSpec::optional("search_string"),
        ArgSpec::optional("line").aliases(&["value"]),
        ArgSpec::optional("state").choices(&["present", "absent"]),
        ArgSpec::optional("insertafter"),
        ArgSpec::optional("insertbefore"),
        ArgSpec::optional("create"),
        ArgSpec::optional("backrefs"),
        ArgSpec::optional("firstmatch"),
        ArgSpec::optional("backup"),
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

impl Module for LineInFile {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let path = r.required_path("path")?;
        let present = r.choice("state")?.as_deref() != Some("absent");
        let regexp = r
            .string("regexp")?
            .map(|re| {
                Regex::new(&re).map_err(|e| {
                    ModuleError::Args(format!("argument `regexp`: bad regular expression: {e}"))
                })
            })
            .transpose()?;
        let search_string = r.string("search_string")?;
        let line = r.string("line")?;
        let backrefs = r.bool("backrefs", false)?;
        let create = r.bool("create", false)?;
        let selector = match (regexp, search_string) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Args(
                    "give `regexp` or `search_string`, not both".into(),
                ))
            }
            (Some(re), None) => Selector::Regexp(re),
            (None, Some(s)) => {
                if backrefs {
                    return Err(ModuleError::Args(
                        "`backrefs` needs `regexp` (search_string has no groups)".into(),
                    ));
                }
                Selector::SearchString(s.into_bytes())
            }
            (None, None) => {
                if backrefs {
                    return Err(ModuleError::Args("`backrefs` needs `regexp`".into()));
                }
                Selector::Line
            }
        };
        if present && line.is_none() {
            return Err(ModuleError::Args(
                "`line` is required with state=present".into(),
            ));
        }
        if !present && line.is_none() && matches!(selector, Selector::Line) {
            return Err(ModuleError::Args(
                "one of `line`, `search_string` or `regexp` is required with state=absent".into(),
            ));
        }
        let anchor = Anchor::from_args(
            r.string("insertafter")?.as_deref(),
            r.string("insertbefore")?.as_deref(),
        )
        .map_err(ModuleError::Args)?;
        let params = LineParams {
            selector,
            line: line.unwrap_or_default().into_bytes(),
            anchor,
            backrefs,
            firstmatch: r.bool("firstmatch", false)?,
        };
        let shown_path = path.clone();
        let rewrite = Rewrite::from_args(path, &r, "backup", ctx)?;
        Ok(rewrite.step(Box::new(move |old| {
            let old = match old {
                Some(old) => old,
                None if !present => return Edit::Keep(Some("file not present".into())),
                None if !create => {
                    return Edit::Stop(Box::new(TaskResult {
                        rc: Some(257),
                        ..TaskResult::failed(format!(
                            "Destination {shown_path} does not exist ! (create=yes would create it)"
                        ))
                    }))
                }
                None => &[],
            };
            let mut lines = edit::split_lines(old);
            if present {
                match edit::line_present(&mut lines, &params) {
                    Ok(Some(msg)) => Edit::Replace {
                        content: lines.concat(),
                        msg: msg.into(),
                    },
                    Ok(None) => Edit::Keep(None),
                    Err(e) => Edit::Stop(Box::new(TaskResult::failed(e))),
                }
            } else {
                match edit::line_absent(&mut lines, &params.selector, &params.line) {
                    0 => Edit::Keep(None),
                    n => Edit::Replace {
                        content: lines.concat(),
                        msg: format!("{n} line(s) removed"),
                    },
                }
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

    #[test]
    fn replaces_then_is_stable_and_check_mode_only_reports() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sshd_config");
        std::fs::write(&p, "Port 22\nPermitRootLogin yes\n").unwrap();
        let args = json!({"path": p, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no"});
        let dry = run(
            &LineInFile,
            args.clone(),
            &Ctx {
                check: true,
                diff: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed);
        assert_eq!(dry.diff[0].after, "Port 22\nPermitRootLogin no\n");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "Port 22\nPermitRootLogin yes\n"
        );
        let first = run(&LineInFile, args.clone(), &Ctx::default());
        assert_eq!(first.msg.as_deref(), Some("line replaced"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "Port 22\nPermitRootLogin no\n"
        );
        assert_eq!(run(&LineInFile, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn a_missing_file_fails_unless_create() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/new.conf");
        let r = run(
            &LineInFile,
            json!({"path": p, "line": "a=1"}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert_eq!(r.rc, Some(257));
        assert!(r.msg.unwrap().contains("does not exist !"));
        let r = run(
            &LineInFile,
            json!({"path": p, "line": "a=1", "create": true, "mode": "0600"}),
            &Ctx::default(),
        );
        assert!(r.is_changed(), "{r:?}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a=1\n");
        let absent = run(
            &LineInFile,
            json!({"path": dir.path().join("none"), "line": "x", "state": "absent"}),
            &Ctx::default(),
        );
        assert_eq!(
            (absent.status, absent.msg.as_deref()),
            (Status::Ok, Some("file not present"))
        );
    }

    #[test]
    fn mode_alone_changes_in_one_trip_and_check_mode_leaves_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "a=1\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let args = json!({"path": p, "line": "a=1", "mode": "0600"});
        let dry = run(
            &LineInFile,
            args.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let r = run(&LineInFile, args.clone(), &Ctx::default());
        assert_eq!(
            r.msg.as_deref(),
            Some("ownership, perms or SE linux context changed")
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(run(&LineInFile, args, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn absent_counts_removed_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "keep\n#x\n#y\n").unwrap();
        let r = run(
            &LineInFile,
            json!({"path": p, "regexp": "^#", "state": "absent"}),
            &Ctx::default(),
        );
        assert_eq!(r.msg.as_deref(), Some("2 line(s) removed"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "keep\n");
    }

    #[test]
    fn argument_errors_name_the_argument() {
        assert!(prepare_error(
            &LineInFile,
            json!({"path": "/x", "regexp": "(", "line": "a"})
        )
        .contains("`regexp`"));
        assert!(prepare_error(&LineInFile, json!({"path": "/x"})).contains("`line` is required"));
        assert!(prepare_error(
            &LineInFile,
            json!({"path": "/x", "line": "a", "backrefs": true})
        )
        .contains("needs `regexp`"));
        assert!(
            prepare_error(&LineInFile, json!({"path": "/x", "state": "absent"}))
                .contains("required with state=absent")
        );
        assert!(prepare_error(
            &LineInFile,
            json!({"path": "/x", "line": "a", "insertafter": "x", "insertbefore": "y"})
        )
        .contains("not both"));
    }
}
