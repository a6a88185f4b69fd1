//! `stat`: facts about a path, in Ansible's `stat` shape. Never changes
//! anything, so it always reports ok (also in check mode).
//!
//! Round trips: 1.

use serde_json::{Map, Value};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Stat;

static SPEC: ModuleSpec = ModuleSpec {
    name: "stat",
    args: &[
        ArgSpec::required("path").aliases(&["dest", "name"]),
        ArgSpec::optional("follow"),
        ArgSpec::optional("get_checksum"),
        ArgSpec::optional("checksum_algorithm")
            .aliases(&["checksum", "checksum_algo"])
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
        // Accepted for compatibility; baton does not report MIME types or attributes.
        ArgSpec::optional("get_mime"),
        ArgSpec::optional("get_attributes"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Stat {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        // Only quoted into the script and never printed back (the answers
        // are `stat -c` fields without `%n`, access letters, a checksum), so
        // a name with a line break is stat'ed as ansible-core does.
        let path = r
            .path_any_line("path")?
            .ok_or_else(|| ModuleError::Args("missing required argument `path`".into()))?;
        let follow = r.bool("follow", false)?;
        let checksum = r.bool("get_checksum", true)?;
        let algorithm = r
            .choice("checksum_algorithm")?
            .unwrap_or_else(|| "sha1".into());
        let mut s = prelude(ctx.nonce);
        s.push_str(&format!("_p={}\n", shell::quote(&path)));
        let (exists, stat) = if follow {
            ("[ -e \"$_p\" ]", "stat -L")
        } else {
            ("[ -e \"$_p\" ] || [ -L \"$_p\" ]", "stat")
        };
        s.push_str(&format!(
            "if {exists}; then\n  _x=$({stat} -c '%f %u %g %s %X %Y %Z %i %d %h %U:%G' -- \"$_p\") || _fail stat\n  _b stat \"$_x\"\n"
        ));
        // stat names an id without a name UNKNOWN, which a user or group
        // could be called: ask, only then.
        s.push_str(
            "  case $_x in *' UNKNOWN:'*) _b unknown_uid \"$(id -u -- UNKNOWN 2>/dev/null)\" ;; esac\n  case $_x in *:UNKNOWN) _x=$(getent group UNKNOWN 2>/dev/null); _x=${_x#*:*:}; _b unknown_gid \"${_x%%:*}\" ;; esac\n",
        );
        if !follow {
            s.push_str("  if [ -L \"$_p\" ]; then _b lnk_target \"$(readlink -- \"$_p\")\"; _b lnk_source \"$(readlink -f -- \"$_p\")\"; fi\n");
        }
        s.push_str("  _a=; [ ! -r \"$_p\" ] || _a=r; [ ! -w \"$_p\" ] || _a=${_a}w; [ ! -x \"$_p\" ] || _a=${_a}x; _b access \"$_a\"\n");
        if checksum {
            let link_guard = if follow { "" } else { " && [ ! -L \"$_p\" ]" };
            s.push_str(&format!(
                "  if [ -f \"$_p\" ]{link_guard} && [ -r \"$_p\" ]; then _h=$({algorithm}sum < \"$_p\") && _b checksum \"${{_h%% *}}\"; fi\n"
            ));
        }
        s.push_str("else\n  _b missing 1\nfi\n_b done 1\n");
        let nonce = ctx.nonce.to_string();
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &nonce);
                Step::Done(interpret(&answer, &path))
            }),
        })
    }
}

fn interpret(answer: &Answer, path: &str) -> TaskResult {
    if answer.failure().is_some() {
        return answer.failed_with(format!("cannot stat {path}"));
    }
    if answer.get("done") != Some("1") {
        return answer.unexpected();
    }
    let mut stat = Map::new();
    if answer.flag("missing") {
        stat.insert("exists".into(), Value::Bool(false));
    } else {
        // The names come last, split at the colon no name holds: they may
        // hold spaces (`domain users`).
        let Some(fields) = answer
            .get("stat")
            .map(|s| s.splitn(11, ' ').collect::<Vec<_>>())
        else {
            return answer.unexpected();
        };
        let [raw_mode, uid, gid, size, atime, mtime, ctime, inode, dev, nlink, names] = fields[..]
        else {
            return answer.unexpected();
        };
        let Some((user, group)) = names.split_once(':') else {
            return answer.unexpected();
        };
        let Ok(raw) = u32::from_str_radix(raw_mode, 16) else {
            return answer.unexpected();
        };
        let num = |s: &str| s.parse::<u64>().map(Value::from).unwrap_or(Value::Null);
        let kind = raw & 0o170000;
        let perm = raw & 0o7777;
        let access = answer.get("access").unwrap_or_default();
        let entries: Vec<(&str, Value)> = vec![
            ("exists", Value::Bool(true)),
            ("path", Value::String(path.to_string())),
            ("mode", Value::String(format!("{perm:04o}"))),
            ("isdir", Value::Bool(kind == 0o040000)),
            ("isreg", Value::Bool(kind == 0o100000)),
            ("islnk", Value::Bool(kind == 0o120000)),
            ("ischr", Value::Bool(kind == 0o020000)),
            ("isblk", Value::Bool(kind == 0o060000)),
            ("isfifo", Value::Bool(kind == 0o010000)),
            ("issock", Value::Bool(kind == 0o140000)),
            ("uid", num(uid)),
            ("gid", num(gid)),
            ("size", num(size)),
            ("atime", num(atime)),
            ("mtime", num(mtime)),
            ("ctime", num(ctime)),
            ("inode", num(inode)),
            ("dev", num(dev)),
            ("nlink", num(nlink)),
            ("rusr", Value::Bool(perm & 0o400 != 0)),
            ("wusr", Value::Bool(perm & 0o200 != 0)),
            ("xusr", Value::Bool(perm & 0o100 != 0)),
            ("rgrp", Value::Bool(perm & 0o040 != 0)),
            ("wgrp", Value::Bool(perm & 0o020 != 0)),
            ("xgrp", Value::Bool(perm & 0o010 != 0)),
            ("roth", Value::Bool(perm & 0o004 != 0)),
            ("woth", Value::Bool(perm & 0o002 != 0)),
            ("xoth", Value::Bool(perm & 0o001 != 0)),
            ("isuid", Value::Bool(perm & 0o4000 != 0)),
            ("isgid", Value::Bool(perm & 0o2000 != 0)),
            ("readable", Value::Bool(access.contains('r'))),
            ("writeable", Value::Bool(access.contains('w'))),
            ("executable", Value::Bool(access.contains('x'))),
        ];
        for (k, v) in entries {
            stat.insert(k.into(), v);
        }
        // An id without a name has no `pw_name` / `gr_name`, as in
        // Ansible; stat's word for it, UNKNOWN, is kept only for a user or
        // group really called so, with that id.
        for (key, name, id, real) in [
            ("pw_name", user, uid, "unknown_uid"),
            ("gr_name", group, gid, "unknown_gid"),
        ] {
            if name != "UNKNOWN" || answer.get(real) == Some(id) {
                stat.insert(key.into(), Value::String(name.to_string()));
            }
        }
        for key in ["checksum", "lnk_source", "lnk_target"] {
            if let Some(v) = answer.get(key) {
                stat.insert(key.into(), Value::String(v.to_string()));
            }
        }
    }
    let mut result = TaskResult::ok();
    result.data.insert("stat".into(), Value::Object(stat));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parses_a_canned_answer() {
        let out = crate::transport::ExecOutput {
            code: Some(0),
            // Names with spaces (sssd's `domain users`) come last, whole.
            stdout: "__baton_n stat 41ed 0 1001 4096 1 2 3 42 2049 5 root:domain users\n__baton_n access rx\n__baton_n done 1\n".into(),
            stderr: String::new(),
        };
        let r = interpret(&Answer::parse(&out, "n"), "/etc");
        let s = &r.data["stat"];
        assert_eq!(
            (s["isdir"].clone(), s["mode"].clone(), s["nlink"].clone()),
            (json!(true), json!("0755"), json!(5))
        );
        assert_eq!(
            (
                s["pw_name"].clone(),
                s["gr_name"].clone(),
                s["gid"].clone(),
                s["size"].clone()
            ),
            (
                json!("root"),
                json!("domain users"),
                json!(1001),
                json!(4096)
            )
        );
        assert_eq!(
            (s["readable"].clone(), s["writeable"].clone()),
            (json!(true), json!(false))
        );
        let unnamed = |extra: &str| {
            crate::transport::ExecOutput {
            code: Some(0),
            stdout: format!("__baton_n stat 81a4 3900000001 5000 1 1 2 3 42 2049 1 UNKNOWN:UNKNOWN\n{extra}__baton_n done 1\n"),
            stderr: String::new(),
        }
        };
        let r = interpret(&Answer::parse(&unnamed(""), "n"), "/f");
        let s = &r.data["stat"];
        assert_eq!(
            (s.get("pw_name"), s.get("gr_name"), &s["uid"]),
            (None, None, &json!(3900000001u64))
        );
        // A group really called UNKNOWN with that gid keeps its name.
        let r = interpret(
            &Answer::parse(
                &unnamed("__baton_n unknown_uid \n__baton_n unknown_gid 5000\n"),
                "n",
            ),
            "/f",
        );
        let s = &r.data["stat"];
        assert_eq!(
            (s.get("pw_name"), s.get("gr_name")),
            (None, Some(&json!("UNKNOWN")))
        );
        let broken = crate::transport::ExecOutput {
            code: Some(0),
            stdout: "__baton_n stat 1 2\n__baton_n done 1\n".into(),
            stderr: String::new(),
        };
        assert!(interpret(&Answer::parse(&broken, "n"), "/x").is_failed());
    }

    #[test]
    fn describes_files_links_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "hello").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let r = run(&Stat, json!({"path": f}), &Ctx::default());
        let s = &r.data["stat"];
        assert_eq!(s["exists"], true);
        assert_eq!(s["mode"], "0640");
        assert_eq!(
            (s["isreg"].clone(), s["isdir"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(s["size"], 5);
        assert_eq!(s["checksum"], "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
        assert_eq!(
            (s["rgrp"].clone(), s["woth"].clone()),
            (json!(true), json!(false))
        );

        let l = dir.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        let r = run(&Stat, json!({"path": l}), &Ctx::default());
        assert_eq!(r.data["stat"]["islnk"], true);
        assert_eq!(r.data["stat"]["lnk_source"], f.to_str().unwrap());
        assert!(r.data["stat"].get("checksum").is_none());
        let r = run(
            &Stat,
            json!({"path": l, "follow": true, "checksum_algorithm": "sha256"}),
            &Ctx::default(),
        );
        assert_eq!(r.data["stat"]["isreg"], true);
        assert_eq!(
            r.data["stat"]["checksum"],
            crate::modules::kit::fileops::sha256_hex(b"hello")
        );

        let r = run(
            &Stat,
            json!({"path": dir.path().join("none")}),
            &Ctx::default(),
        );
        assert_eq!(r.status, crate::modules::Status::Ok);
        assert_eq!(r.data["stat"], json!({"exists": false}));
    }

    #[test]
    fn a_path_with_a_line_break_is_stated_as_any_other() {
        // Was refused ("contains a line break or NUL"); ansible-core says
        // exists: false, or stats the file when there is one.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("nl\nname");
        let r = run(&Stat, json!({"path": f}), &Ctx::default());
        assert_eq!(r.status, crate::modules::Status::Ok, "{:?}", r.data);
        assert_eq!(r.data["stat"], json!({"exists": false}));
        std::fs::write(&f, "hello").unwrap();
        // A file named `nl` beside it must not be what is stat'ed.
        std::fs::write(dir.path().join("nl"), "other content").unwrap();
        let r = run(&Stat, json!({"path": f}), &Ctx::default());
        assert_eq!(r.data["stat"]["exists"], true, "{:?}", r.data);
        assert_eq!(r.data["stat"]["size"], 5);
        assert_eq!(r.data["stat"]["path"], f.to_str().unwrap());
        let r = run(&Stat, json!({"path": "/tmp/a\0b"}), &Ctx::default());
        assert!(r.is_failed(), "{:?}", r.data);
    }
}
