//! `copy`: put a controller file (`src`) or literal `content` on the host.
//!
//! Round trips: 1 for content up to 64 KiB (and in check mode); above 64 KiB, 1
//! when the hashes match and 2 when they differ (the content is sent only
//! then).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::modules::kit::args::ArgReader;
use crate::modules::kit::deploy::Deploy;
use crate::modules::kit::fileops::{self, Attrs, Mode};
use crate::modules::{ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext};

pub struct Copy;

static SPEC: ModuleSpec = ModuleSpec {
    name: "copy",
    args: &[
        ArgSpec::optional("src"),
        ArgSpec::optional("content"),
        ArgSpec::required("dest"),
        ArgSpec::optional("mode"),
        ArgSpec::optional("owner"),
        ArgSpec::optional("group"),
        ArgSpec::optional("backup"),
        ArgSpec::optional("force").aliases(&["thirsty"]),
        ArgSpec::optional("validate"),
    ],
    free_form: None,
    one_of: &[&["content", "src"]],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: Some("files"),
};

impl Module for Copy {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let dest = r.required_path("dest")?;
        let preserve = r.string("mode")?.as_deref() == Some("preserve");
        let mut attrs = if preserve {
            Attrs::ownership(&r)?
        } else {
            Attrs::from_args(&r)?
        };
        let mut data = Map::new();
        let (content, src_name) = match (r.value("content"), r.path("src")?) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Args(
                    "give either `content` or `src`, not both".into(),
                ))
            }
            (None, None) => {
                return Err(ModuleError::Args(
                    "give `content` or `src`: the module needs something to copy".into(),
                ))
            }
            (Some(value), None) => {
                if preserve {
                    return Err(ModuleError::Args(
                        "`mode: preserve` needs `src` (there is no source file to take the mode from)".into(),
                    ));
                }
                if dest.ends_with('/') {
                    return Err(ModuleError::Args(format!(
                        "`dest` {dest} names a directory; with `content` give a file path"
                    )));
                }
                let text = content_text(value);
                (text.into_bytes(), None)
            }
            (None, Some(src)) => {
                let path = find_source(&src, ctx.search_paths, &SPEC)?;
                let bytes = std::fs::read(&path).map_err(|e| {
                    ModuleError::Controller(format!("cannot read src {}: {e}", path.display()))
                })?;
                if preserve {
                    attrs.mode = Some(Mode::Octal(local_mode(&path)?));
                }
                data.insert("src".into(), Value::String(path.display().to_string()));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (bytes, Some(name))
            }
        };
        let validate = r
            .string("validate")?
            .map(|v| fileops::validate_function(&v))
            .transpose()?;
        Ok(Deploy {
            dest,
            content,
            src_name,
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

#[cfg(unix)]
fn local_mode(path: &Path) -> Result<u32, ModuleError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .map_err(|e| {
            ModuleError::Controller(format!("cannot read the mode of {}: {e}", path.display()))
        })
}

/// Find a controller-side source file: an absolute path as is; a relative one
/// in each search path's `spec.source_dir` (`files`, `templates`), then in the
/// search path itself (Ansible's order: `role/files/x` before `role/x`).
pub(crate) fn find_source(
    src: &str,
    search_paths: &[PathBuf],
    spec: &ModuleSpec,
) -> Result<PathBuf, ModuleError> {
    let given = Path::new(src);
    let candidates: Vec<PathBuf> = if given.is_absolute() {
        vec![given.to_path_buf()]
    } else {
        let mut c: Vec<PathBuf> = Vec::new();
        for base in search_paths {
            if let Some(subdir) = spec.source_dir {
                c.push(base.join(subdir).join(given));
            }
            c.push(base.join(given));
        }
        if search_paths.is_empty() {
            c.push(given.to_path_buf());
        }
        // The task's directory is often the playbook's (`.` and `` spell the
        // same place): list each place once, in search order.
        let mut seen: Vec<PathBuf> = Vec::new();
        c.retain(|p| {
            let key: PathBuf = p
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            let new = !seen.contains(&key);
            seen.push(key);
            new
        });
        c
    };
    for candidate in &candidates {
        if candidate.is_dir() {
            return Err(ModuleError::Controller(format!(
                "src {} is a directory; copy and template send single files (loop over the files instead)",
                candidate.display()
            )));
        }
        if candidate.is_file() {
            return Ok(candidate.clone());
        }
    }
    if let Some(why) = crate::source::first_unreadable(&candidates) {
        return Err(ModuleError::Controller(format!("src {why}")));
    }
    let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    Err(ModuleError::Controller(format!(
        "src `{src}` not found on the controller; looked in: {}",
        looked.join(", ")
    )))
}

/// The text `content` writes when it is not a string, as Ansible's `copy`
/// action makes it: a mapping or list through Python's `json.dumps` (`{"a":
/// 1, "c": [1]}`, non-ASCII as `\uXXXX`, floats as Python prints them), any
/// other value through `str()` (`True`, `5`, `2.5`).
fn content_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => crate::pyformat::json_dumps(other, None, false),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn content_that_is_not_a_string_is_written_as_python_writes_it() {
        let v = json!({"a": 1, "c": [1, 1e20, 0.1, -0.0], "u": "é", "n": null, "t": true, "e": {}});
        assert_eq!(
            content_text(&v),
            r#"{"a": 1, "c": [1, 1e+20, 0.1, -0.0], "u": "\u00e9", "n": null, "t": true, "e": {}}"#
        );
        assert_eq!(
            content_text(&json!([1, "a", {"b": 2.0}])),
            r#"[1, "a", {"b": 2.0}]"#
        );
        assert_eq!(content_text(&json!(true)), "True");
        assert_eq!(content_text(&json!(5)), "5");
        assert_eq!(content_text(&json!(2.5)), "2.5");
        assert_eq!(content_text(&json!("as is")), "as is");
    }
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn a_missing_source_lists_each_searched_place_once() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_path_buf();
        let dotted = base.join(".");
        let err = find_source("nope.j2", &[base.clone(), dotted, base.clone()], &SPEC).unwrap_err();
        let text = err.to_string();
        let looked = text.split("looked in: ").nth(1).unwrap();
        let places: Vec<&str> = looked.split(", ").collect();
        // `files/nope.j2` and `nope.j2` under the one base, once each.
        assert_eq!(places.len(), 2, "{text}");
    }

    #[test]
    fn a_failed_backup_leaves_no_partial_copy() {
        // A `cp` that creates its target and then fails, as a full disk does.
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("cp");
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor last; do :; done\n: > \"$last\"\nexit 1\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .args(["+x"])
            .arg(&fake)
            .status()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app.conf");
        std::fs::write(&dest, "old\n").unwrap();
        let args = json!({"content": "new\n", "dest": dest, "backup": true});
        let args: crate::modules::Args = args.as_object().cloned().unwrap();
        let ctx = Ctx::default();
        let context = crate::modules::TaskContext {
            host: "h",
            check_mode: false,
            diff: false,
            nonce: "n",
            search_paths: &ctx.search,
            eval: &ctx.eval,
        };
        let step = Copy.prepare(&args, &context).unwrap();
        let path = format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap()
        );
        let (result, _) =
            crate::modules::kit::testutil::finish_with_env(step, &[("PATH", path.as_str())]);
        assert_eq!(result.status, Status::Failed, "{result:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("app.conf")], "{left:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
    }

    #[test]
    fn content_is_written_once_then_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("motd");
        let args = json!({"content": "hello\n", "dest": dest, "mode": "0640"});
        let first = run(&Copy, args.clone(), &Ctx::default());
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(first.data["mode"], "0640");
        assert_eq!(first.data["checksum"], fileops::sha256_hex(b"hello\n"));
        let second = run(&Copy, args, &Ctx::default());
        assert_eq!(second.status, Status::Ok, "{second:?}");
    }

    #[test]
    fn src_is_searched_in_files_dirs_and_dest_dirs_take_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let role = dir.path().join("role");
        std::fs::create_dir_all(role.join("files")).unwrap();
        std::fs::write(role.join("files/app.conf"), "x=1\n").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let ctx = Ctx {
            search: vec![role.clone()],
            ..Ctx::default()
        };
        let r = run(&Copy, json!({"src": "app.conf", "dest": out}), &ctx);
        assert!(r.is_changed(), "{r:?}");
        assert_eq!(
            std::fs::read_to_string(out.join("app.conf")).unwrap(),
            "x=1\n"
        );
        let missing = run(&Copy, json!({"src": "nope.conf", "dest": out}), &ctx);
        assert!(missing.msg.unwrap().contains("src `nope.conf` not found"));
    }

    #[test]
    fn nasty_names_and_content_survive_the_shell() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("it's $(here) `x`");
        std::fs::create_dir(&sub).unwrap();
        let dest = sub.join("-n a\\b*");
        let content = "it's $(rm -rf /) `id` \\n %s\n\twith\r\nCRLF and \u{e9}";
        let args = json!({"content": content, "dest": dest});
        assert!(run(&Copy, args.clone(), &Ctx::default()).is_changed());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), content);
        assert_eq!(run(&Copy, args, &Ctx::default()).status, Status::Ok);
        let binary: Vec<u8> = (0..=255).collect();
        let bin_dest = sub.join("bin");
        let ctx = Ctx::default();
        let src = dir.path().join("blob");
        std::fs::write(&src, &binary).unwrap();
        let r = run(&Copy, json!({"src": src, "dest": bin_dest}), &ctx);
        assert!(r.is_changed(), "{r:?}");
        assert_eq!(std::fs::read(&bin_dest).unwrap(), binary);
    }

    #[test]
    fn a_symlinked_dest_is_written_through_and_force_no_keeps_files() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        std::fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let kept = run(
            &Copy,
            json!({"content": "new\n", "dest": link, "force": false}),
            &Ctx::default(),
        );
        assert_eq!(kept.status, Status::Ok);
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "old\n");
        let r = run(
            &Copy,
            json!({"content": "new\n", "dest": link}),
            &Ctx::default(),
        );
        assert!(r.is_changed());
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new\n");
        assert_eq!(r.data["dest"], real.to_str().unwrap());
    }

    #[test]
    fn validate_failure_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sudoers");
        std::fs::write(&dest, "good\n").unwrap();
        let r = run(
            &Copy,
            json!({"content": "bad\n", "dest": dest, "validate": "grep -q good %s"}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert!(r.msg.unwrap().contains("validation"));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "good\n");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
        let r = run(
            &Copy,
            json!({"content": "good too\n", "dest": dest, "validate": "grep -q good %s"}),
            &Ctx::default(),
        );
        assert!(r.is_changed());
    }

    #[test]
    fn content_and_src_together_or_neither_are_refused() {
        let err = prepare_error(&Copy, json!({"content": "a", "src": "b", "dest": "/x"}));
        assert!(err.contains("not both"), "{err}");
        let err = prepare_error(&Copy, json!({"dest": "/x"}));
        assert!(err.contains("`content` or `src`"), "{err}");
    }
}
