//! `blockinfile`: a block of lines between marker comments, inserted,
//! updated or removed; edited on the controller, written atomically.
//!
//! Round trips: 1 when the block is already right (or in check mode); 2 when
//! the file changes (read, edit on the controller, write).

use crate::modules::kit::args::ArgReader;
use crate::modules::kit::edit::{self, Anchor, BlockParams};
use crate::modules::kit::rewrite::{Edit, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct BlockInFile;

static SPEC: ModuleSpec = ModuleSpec {
    name: "blockinfile",
    args: &[
        ArgSpec::required("path").aliases(&["dest", "destfile", "name"]),
        ArgSpec::optional("block").aliases(&["content"]),
        ArgSpec::optional("marker"),
        ArgSpec::optional("marker_begin"),
        ArgSpec::optional("marker_end"),
        ArgSpec::optional("state").choices(&["present", "absent"]),
        ArgSpec::optional("insertafter"),
        ArgSpec::optional("insertbefore"),
        ArgSpec::optional("create"),
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

impl Module for BlockInFile {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let path = r.required_path("path")?;
        let present = r.choice("state")?.as_deref() != Some("absent");
        let marker = r
            .string("marker")?
            .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".into());
        let begin = r.string("marker_begin")?.unwrap_or_else(|| "BEGIN".into());
        let end = r.string("marker_end")?.unwrap_or_else(|| "END".into());
        if !marker.contains("{mark}") || begin == end {
            return Err(ModuleError::Args(
                "`marker` must contain {mark} and `marker_begin` and `marker_end` must differ, or baton cannot find the block again".into(),
            ));
        }
        if marker.contains('\n') || begin.contains('\n') || end.contains('\n') {
            return Err(ModuleError::Args("markers must be single lines".into()));
        }
        let (marker_begin, marker_end) = BlockParams::markers(&marker, &begin, &end);
        let anchor = Anchor::from_args(
            r.string("insertafter")?.as_deref(),
            r.string("insertbefore")?.as_deref(),
        )
        .map_err(ModuleError::Args)?;
        let params = BlockParams {
            block: r.string("block")?.unwrap_or_default().into_bytes(),
            marker_begin,
            marker_end,
            present,
            anchor,
        };
        let create = r.bool("create", false)?;
        let shown_path = path.clone();
        let rewrite = Rewrite::from_args(path, &r, "backup_file", ctx)?;
        Ok(rewrite.step(Box::new(move |old| {
            match old {
                None if !present => return Edit::Keep(Some("File not present".into())),
                None if !create => {
                    return Edit::Stop(Box::new(TaskResult {
                        rc: Some(257),
                        ..TaskResult::failed(format!(
                            "Path {shown_path} does not exist ! (create=yes would create it)"
                        ))
                    }))
                }
                _ => {}
            }
            let new = edit::block_edit(old, &params);
            let msg = match old {
                Some(old) if old == new.as_slice() => return Edit::Keep(None),
                None => "File created",
                Some(_) if !params.present || params.block.is_empty() => "Block removed",
                Some(_) => "Block inserted",
            };
            Edit::Replace {
                content: new,
                msg: msg.into(),
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
    fn inserts_updates_removes_and_stays_stable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts");
        std::fs::write(&p, "127.0.0.1 localhost\n").unwrap();
        let args =
            json!({"path": p, "block": "10.0.0.1 a\n10.0.0.2 b", "marker": "# {mark} baton"});
        let r = run(&BlockInFile, args.clone(), &Ctx::default());
        assert_eq!(r.msg.as_deref(), Some("Block inserted"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "127.0.0.1 localhost\n# BEGIN baton\n10.0.0.1 a\n10.0.0.2 b\n# END baton\n"
        );
        assert_eq!(run(&BlockInFile, args, &Ctx::default()).status, Status::Ok);
        let gone = json!({"path": p, "marker": "# {mark} baton", "state": "absent"});
        let dry = run(
            &BlockInFile,
            gone.clone(),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(dry.status, Status::Changed);
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .contains("# BEGIN baton"));
        assert_eq!(
            run(&BlockInFile, gone.clone(), &Ctx::default())
                .msg
                .as_deref(),
            Some("Block removed")
        );
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "127.0.0.1 localhost\n"
        );
        assert_eq!(run(&BlockInFile, gone, &Ctx::default()).status, Status::Ok);
    }

    #[test]
    fn missing_files_and_markers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new");
        let r = run(
            &BlockInFile,
            json!({"path": p, "block": "x"}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("does not exist !"));
        let r = run(
            &BlockInFile,
            json!({"path": p, "block": "x", "create": true}),
            &Ctx::default(),
        );
        assert_eq!(r.msg.as_deref(), Some("File created"));
        assert!(
            prepare_error(&BlockInFile, json!({"path": "/x", "marker": "# managed"}))
                .contains("{mark}")
        );
    }
}
