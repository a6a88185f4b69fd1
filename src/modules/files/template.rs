//! `template`: render a Jinja2 file (handlebars for `.hbs`) on the controller
//! and put the result on the host (same comparison and atomic write as `copy`).
//!
//! Round trips: as `copy`: 1 up to 64 KiB of rendered text; above it, 2 when
//! the hashes differ.

use serde_json::{Map, Value};

use super::copy::find_source;
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::deploy::Deploy;
use crate::modules::kit::fileops::{self, Attrs};
use crate::modules::{ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext};

pub struct Template;

static SPEC: ModuleSpec = ModuleSpec {
    name: "template",
    args: &[
        ArgSpec::required("src"),
        ArgSpec::required("dest"),
        ArgSpec::optional("mode"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
        ArgSpec::optional("backup"),
        ArgSpec::optional("force"),
        ArgSpec::optional("validate"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: Some("templates"),
};

impl Module for Template {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let src = r.required_path("src")?;
        let dest = r.required_path("dest")?;
        let attrs = Attrs::from_args(&r)?;
        let path = find_source(&src, ctx.search_paths, &SPEC)?;
        let bytes = std::fs::read(&path).map_err(|e| {
            ModuleError::Controller(format!("cannot read template {}: {e}", path.display()))
        })?;
        // A BOM is skipped and non-UTF-8 named by its byte offset, as for
        // every file baton loads.
        let text = crate::source::text_of(&path, bytes)
            .map_err(|e| ModuleError::Controller(format!("template {e}")))?;
        let display = path.display().to_string();
        let rendered = ctx
            .eval
            .render(&display, &text)
            .map_err(|e| ModuleError::Controller(format!("template {display}: {e}")))?;
        // Into a directory the file keeps the template's name without its
        // template extension (`motd.hbs` -> `motd`).
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let src_name = [".hbs", ".j2"]
            .iter()
            .find_map(|ext| file_name.strip_suffix(ext))
            .filter(|stem| !stem.is_empty())
            .unwrap_or(&file_name)
            .to_string();
        let validate = r
            .string("validate")?
            .map(|v| fileops::validate_function(&v))
            .transpose()?;
        let mut data = Map::new();
        data.insert("src".into(), Value::String(display));
        Ok(Deploy {
            dest,
            content: rendered.into_bytes(),
            src_name: Some(src_name),
            attrs,
            backup: r.bool("backup", false)?,
            force: r.bool("force", true)?,
            validate,
            check: ctx.check_mode,
            diff: ctx.diff,
            nonce: ctx.nonce.to_string(),
            data,
        }
        .step())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx, TestEval};
    use crate::modules::Status;
    use serde_json::json;

    fn ctx(dir: &std::path::Path, check: bool) -> Ctx {
        let mut vars = serde_json::Map::new();
        vars.insert("who".into(), json!("ops"));
        Ctx {
            check,
            diff: true,
            search: vec![dir.to_path_buf()],
            eval: TestEval { vars },
        }
    }

    #[test]
    fn renders_from_templates_dir_into_a_directory_without_the_extension() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/motd.hbs"), "hi {{who}}\n").unwrap();
        let out = dir.path().join("etc");
        std::fs::create_dir(&out).unwrap();
        let args = json!({"src": "motd.hbs", "dest": format!("{}/", out.display())});
        let check = run(&Template, args.clone(), &ctx(dir.path(), true));
        assert_eq!(check.status, Status::Changed);
        assert_eq!(check.diff[0].after, "hi ops\n");
        assert!(!out.join("motd").exists(), "check mode wrote the file");
        let first = run(&Template, args.clone(), &ctx(dir.path(), false));
        assert!(first.is_changed(), "{first:?}");
        assert_eq!(
            std::fs::read_to_string(out.join("motd")).unwrap(),
            "hi ops\n"
        );
        let second = run(&Template, args, &ctx(dir.path(), false));
        assert_eq!(second.status, Status::Ok, "{second:?}");
    }

    #[test]
    fn an_undefined_variable_is_a_controller_error_naming_the_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.hbs"), "{{missing}}").unwrap();
        let r = run(
            &Template,
            json!({"src": "bad.hbs", "dest": dir.path().join("x")}),
            &ctx(dir.path(), false),
        );
        assert!(r.is_failed());
        assert!(r.msg.as_deref().unwrap().contains("bad.hbs"), "{r:?}");
    }
}
