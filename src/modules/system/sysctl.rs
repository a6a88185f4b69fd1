//! `sysctl`: a kernel parameter in a sysctl file (default /etc/sysctl.conf)
//! and, optionally, in the running kernel, as Ansible's
//! `ansible.posix.sysctl` (formerly `ansible.builtin.sysctl`) does.
//!
//! Ansible's rules, ported: the file's lines are `key = value` (`#` and `;`
//! start comments, the last line of a key wins); when the file's value
//! differs (or the key must go) the file is rewritten with every `key=value`
//! line normalised and later duplicates dropped, as Ansible's `fix_lines`
//! does. Changed when the file changes; or, when the file is already right
//! and `reload` is on, when the running value differs; or with `sysctl_set`,
//! when the running value differs (then `sysctl -w` sets it). After a change
//! with `reload` (the default), `sysctl -p FILE` (`-e` with `ignoreerrors`)
//! applies the file; a non-zero exit, or stderr saying a key could not be set
//! ("Invalid argument", "Read-only file system"), fails the task with what
//! sysctl said. Values `yes`/`true` become `1`, `no`/`false` `0`; running
//! values are compared with whitespace collapsed (`4096 131072 6291456`).
//!
//! Round trips: 2 when nothing changes (the running value, then the file);
//! 3 when the file changes; one more for the reload.

use std::sync::{Arc, Mutex};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::{parse_bool, ArgReader};
use crate::modules::kit::chain::{and_then, Then};
use crate::modules::kit::rewrite::{Edit, Rewrite};
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Status, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Sysctl;

static SPEC: ModuleSpec = ModuleSpec {
    name: "sysctl",
    args: &[
        ArgSpec::required("name").aliases(&["key"]),
        ArgSpec::optional("value").aliases(&["val"]),
        ArgSpec::optional("state").choices(&["present", "absent"]),
        ArgSpec::optional("sysctl_file"),
        ArgSpec::optional("reload"),
        ArgSpec::optional("sysctl_set"),
        ArgSpec::optional("ignoreerrors"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// Ansible's `_parse_value`: booleans as 1/0, strings trimmed.
fn parse_value(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Bool(_) => parse_bool(v).map(|b| if b { "1" } else { "0" }.into()),
        serde_json::Value::String(s) => Some(match s.to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "y" | "t" => "1".into(),
            "no" | "off" | "false" | "n" | "f" => "0".into(),
            _ => s.trim().to_string(),
        }),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whitespace collapsed, as Ansible's `_values_is_equal` compares.
fn normalize(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of `name` in a sysctl file (the last line wins), Ansible's
/// `read_sysctl_file`.
pub(crate) fn file_value(text: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = t.split_once('=') {
            if k.trim() == name {
                found = Some(v.trim().to_string());
            }
        }
    }
    found
}

/// Ansible's `fix_lines`: the file with `name` set to `value` (or removed).
pub(crate) fn fix_lines(text: &str, name: &str, value: Option<&str>) -> String {
    let mut checked: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') || !t.contains('=') {
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push('\n');
            }
            continue;
        }
        let (k, v) = t.split_once('=').unwrap_or((t, ""));
        let (k, v) = (k.trim(), v.trim());
        if checked.iter().any(|c| c == k) {
            continue;
        }
        checked.push(k.to_string());
        if k == name {
            if let Some(value) = value {
                out.push_str(&format!("{k}={value}\n"));
            }
        } else {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    if let (false, Some(value)) = (checked.iter().any(|c| c == name), value) {
        out.push_str(&format!("{name}={value}\n"));
    }
    out
}

/// Ansible's `_stderr_failed`: sysctl exits 0 although a key was not set.
fn stderr_failed(err: &str) -> bool {
    err.lines().any(|l| {
        l.starts_with("sysctl: setting key \"")
            && (l.ends_with("\": Invalid argument") || l.ends_with("\": Read-only file system"))
    })
}

impl Module for Sysctl {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let name = r.required_string("name")?.trim().to_string();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '=') {
            return Err(ModuleError::Args(format!(
                "argument `name` must be a sysctl key like net.ipv4.ip_forward, not `{name}`"
            )));
        }
        let present = r.choice("state")?.as_deref() != Some("absent");
        let value = match r.value("value") {
            Some(v) => Some(parse_value(v).ok_or_else(|| {
                ModuleError::Args("argument `value` must be a string, number or boolean".into())
            })?),
            None => None,
        };
        let value = match (present, value) {
            (true, None) => {
                return Err(ModuleError::Args(
                    "state is present but all of the following are missing: value".into(),
                ))
            }
            (true, Some(v)) if v.is_empty() || v.contains(['\n', '\r']) => {
                return Err(ModuleError::Args(format!(
                    "argument `value` must be one non-empty line, not {v:?}"
                )))
            }
            (_, v) => v,
        };
        let file = r
            .path("sysctl_file")?
            .unwrap_or_else(|| "/etc/sysctl.conf".into());
        let reload = r.bool("reload", true)?;
        let set = r.bool("sysctl_set", false)? && present;
        let ignore = r.bool("ignoreerrors", false)?;
        let want = value.clone().unwrap_or_default();
        let check = ctx.check_mode;
        let nonce = ctx.nonce.to_string();

        // Trip 1: the running value; with sysctl_set, set it when it differs.
        let mut s = prelude(&nonce);
        s.push_str(&format!(
            "_k={} _v={} _w={} _set={}\n",
            shell::quote(&name),
            shell::quote(&want),
            shell::quote(&normalize(&want)),
            u8::from(set && !check)
        ));
        s.push_str(
            r#"command -v sysctl >/dev/null 2>&1 || _fail nosysctl
if _c=$(sysctl -e -n "$_k" 2>/dev/null); then
  set -f; set -- $_c; set +f; _c="$*"
  _b cur "$_c"
  if [ "$_set" = 1 ] && [ "$_c" != "$_w" ]; then
    sysctl -w "$_k=$_v" >/dev/null || _fail set
    _b set 1
  fi
else
  _b nocur 1
fi
_b done 1
"#,
        );
        let rewrite = Rewrite::from_args(file.clone(), &r, "backup_file", ctx)?;
        let edit_name = name.clone();
        let edit_value = value.clone();
        let editor = Box::new(move |old: Option<&[u8]>| {
            let text = match old.map(std::str::from_utf8) {
                None => "",
                Some(Ok(t)) => t,
                Some(Err(_)) => {
                    return Edit::Stop(Box::new(TaskResult::failed(
                        "the sysctl file is not UTF-8 text",
                    )))
                }
            };
            let current = file_value(text, &edit_name);
            let write = match (&current, present) {
                (None, true) => true,
                (None, false) => false,
                (Some(_), false) => true,
                (Some(c), true) => Some(c) != edit_value.as_ref(),
            };
            if !write {
                return Edit::Keep(None);
            }
            Edit::Replace {
                content: fix_lines(text, &edit_name, edit_value.as_deref().filter(|_| present))
                    .into_bytes(),
                msg: format!("{edit_name} updated in the sysctl file"),
            }
        });
        let shown = name.clone();
        let running: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let seen = running.clone();
        let after_file: Then = Box::new(move |file_result: TaskResult| {
            let cur = seen.lock().ok().and_then(|c| c.clone());
            let differs = cur.as_deref() != Some(normalize(&want).as_str());
            let file_changed = file_result.status == Status::Changed;
            let changed = file_changed || (present && (reload || set) && differs);
            let mut result = if changed {
                TaskResult {
                    status: Status::Changed,
                    ..file_result
                }
            } else {
                file_result
            };
            if changed && result.msg.is_none() {
                result.msg = Some(format!("{name} differs in the running kernel"));
            }
            if !changed || !reload || check {
                return Step::Done(result);
            }
            let mut s = prelude(&nonce);
            s.push_str(&format!(
                "_f={} _e={}\n",
                shell::quote(&file),
                if ignore { "-e" } else { "" }
            ));
            s.push_str(
                r#"_o=$(sysctl $_e -p "$_f" 2>&1 >/dev/null); _rc=$?
_b rc "$_rc"
_b begin err
printf '%s\n' "$_o"
_b end err
_b done 1
"#,
            );
            Step::Remote {
                script: s,
                interpret: Box::new(move |out| {
                    let answer = Answer::parse(out, &nonce);
                    if answer.get("done") != Some("1") {
                        return Step::Done(answer.unexpected());
                    }
                    let err = answer.block("err").unwrap_or_default().trim().to_string();
                    let rc = answer.get("rc").and_then(|c| c.parse::<i32>().ok());
                    if rc != Some(0) || stderr_failed(&err) {
                        return Step::Done(TaskResult {
                            rc,
                            stderr: Some(err.clone()),
                            ..TaskResult::failed(format!("Failed to reload sysctl: {err}"))
                        });
                    }
                    Step::Done(result)
                }),
            }
        });
        let read_nonce = ctx.nonce.to_string();
        Ok(Step::Remote {
            script: s,
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &read_nonce);
                match answer.failure() {
                    Some("nosysctl") => {
                        return Step::Done(
                            answer.failed_with("`sysctl` is missing on the host (install procps)"),
                        )
                    }
                    Some("set") => {
                        return Step::Done(answer.failed_with(format!("setting {shown} failed")))
                    }
                    Some(other) => {
                        return Step::Done(
                            answer.failed_with(format!("sysctl: the host reported `{other}`")),
                        )
                    }
                    None => {}
                }
                if answer.get("done") != Some("1") {
                    return Step::Done(answer.unexpected());
                }
                if let Ok(mut slot) = running.lock() {
                    *slot = answer.get("cur").map(str::to_string);
                }
                and_then(rewrite.step(editor), after_file)
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, Ctx};
    use serde_json::json;

    /// A fake `sysctl` on PATH keeping values as files in a directory, so no
    /// test touches this machine's kernel settings.
    struct Fake {
        _dir: tempfile::TempDir,
        bin: String,
        values: std::path::PathBuf,
        conf: std::path::PathBuf,
    }

    const FAKE: &str = r#"#!/bin/sh
d=$FAKE_SYSCTL_DIR; e=0; rc=0
while [ $# -gt 0 ]; do
  case $1 in
    -e) e=1 ;;
    -n) ;;
    -w) shift; k=${1%%=*}; v=${1#*=}
        [ -f "$d/$k" ] || { echo "sysctl: cannot stat /proc/sys/$k: No such file or directory" >&2; exit 255; }
        printf '%s\n' "$v" >"$d/$k"; echo "$k = $v" ;;
    -p) shift
        while IFS= read -r l; do
          case $l in ''|'#'*|';'*) continue ;; esac
          k=$(echo ${l%%=*}); v=$(echo ${l#*=})
          if [ -f "$d/$k" ]; then printf '%s\n' "$v" >"$d/$k"; echo "$k = $v"
          elif [ $e = 0 ]; then echo "sysctl: cannot stat /proc/sys/$k: No such file or directory" >&2; rc=255; fi
        done <"$1"
        exit $rc ;;
    *) if [ -f "$d/$1" ]; then cat "$d/$1"
       elif [ $e = 0 ]; then echo "sysctl: cannot stat /proc/sys/$1: No such file or directory" >&2; exit 255; fi ;;
  esac
  shift
done
"#;

    impl Fake {
        fn new() -> Fake {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let bin = dir.path().join("bin");
            let values = dir.path().join("values");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::create_dir_all(&values).unwrap();
            let tool = bin.join("sysctl");
            std::fs::write(&tool, FAKE).unwrap();
            std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::write(values.join("net.ipv4.ip_forward"), "0\n").unwrap();
            std::fs::write(values.join("net.ipv4.tcp_rmem"), "4096\t131072\t6291456\n").unwrap();
            let conf = dir.path().join("sysctl.conf");
            Fake {
                bin: format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
                values,
                conf,
                _dir: dir,
            }
        }

        fn run(&self, args: serde_json::Value, check: bool) -> (TaskResult, usize) {
            let mut args = args.as_object().cloned().unwrap();
            args.insert("sysctl_file".into(), json!(self.conf));
            let ctx = Ctx::default();
            let context = TaskContext {
                host: "t",
                check_mode: check,
                diff: true,
                nonce: "n0nce",
                search_paths: &ctx.search,
                eval: &ctx.eval,
            };
            let step = Sysctl.prepare(&args, &context).unwrap();
            finish_with_env(
                step,
                &[
                    ("PATH", self.bin.as_str()),
                    ("FAKE_SYSCTL_DIR", self.values.to_str().unwrap()),
                ],
            )
        }

        fn kernel(&self, key: &str) -> String {
            std::fs::read_to_string(self.values.join(key))
                .unwrap()
                .trim()
                .to_string()
        }
    }

    #[test]
    fn file_lines_follow_ansibles_fix_lines() {
        let text = "# comment\nnet.a = 1\n; other\nnet.b=2\nnet.a=3\nnot a setting\n";
        assert_eq!(file_value(text, "net.a").as_deref(), Some("3"));
        assert_eq!(file_value(text, "net.c"), None);
        assert_eq!(
            fix_lines(text, "net.a", Some("5")),
            "# comment\nnet.a=5\n; other\nnet.b=2\nnot a setting\n"
        );
        assert_eq!(
            fix_lines(text, "net.a", None),
            "# comment\n; other\nnet.b=2\nnot a setting\n"
        );
        assert_eq!(fix_lines("", "net.c", Some("1")), "net.c=1\n");
        assert_eq!(parse_value(&json!("yes")).as_deref(), Some("1"));
        assert_eq!(parse_value(&json!(false)).as_deref(), Some("0"));
        assert_eq!(parse_value(&json!(" 4096 ")).as_deref(), Some("4096"));
        assert!(stderr_failed(
            "sysctl: setting key \"net.x\": Invalid argument\n"
        ));
        assert!(!stderr_failed("net.x = 1\n"));
    }

    #[test]
    fn sets_the_file_and_reloads_then_is_stable_and_check_mode_changes_nothing() {
        let f = Fake::new();
        let args = json!({"name": "net.ipv4.ip_forward", "value": "1"});
        let (dry, _) = f.run(args.clone(), true);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, "net.ipv4.ip_forward=1\n");
        assert!(!f.conf.exists());
        assert_eq!(f.kernel("net.ipv4.ip_forward"), "0");
        let (first, trips) = f.run(args.clone(), false);
        assert_eq!((first.status, trips), (Status::Changed, 4), "{first:?}");
        assert_eq!(
            std::fs::read_to_string(&f.conf).unwrap(),
            "net.ipv4.ip_forward=1\n"
        );
        // Reloaded: the running value follows the file.
        assert_eq!(f.kernel("net.ipv4.ip_forward"), "1");
        let (second, trips) = f.run(args, false);
        assert_eq!((second.status, trips), (Status::Ok, 2), "{second:?}");
    }

    #[test]
    fn a_running_value_that_differs_is_reloaded_or_set() {
        let f = Fake::new();
        std::fs::write(&f.conf, "net.ipv4.ip_forward = 1\n").unwrap();
        // The file is right but the kernel is not: changed, and the reload fixes it.
        let (r, _) = f.run(json!({"name": "net.ipv4.ip_forward", "value": 1}), false);
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(f.kernel("net.ipv4.ip_forward"), "1");
        assert_eq!(
            std::fs::read_to_string(&f.conf).unwrap(),
            "net.ipv4.ip_forward = 1\n"
        );
        // sysctl_set without reload: `sysctl -w`; whitespace does not count.
        let args = json!({"name": "net.ipv4.tcp_rmem", "value": "4096 131072 6291456",
            "sysctl_set": true, "reload": false});
        let (r, _) = f.run(args.clone(), false);
        assert_eq!(r.status, Status::Changed, "file: {r:?}");
        let (r, _) = f.run(args, false);
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let args = json!({"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456",
            "sysctl_set": true, "reload": false});
        let (dry, _) = f.run(args.clone(), true);
        assert_eq!(dry.status, Status::Changed);
        assert_eq!(f.kernel("net.ipv4.tcp_rmem"), "4096\t131072\t6291456");
        let (r, _) = f.run(args, false);
        assert_eq!(r.status, Status::Changed);
        assert_eq!(f.kernel("net.ipv4.tcp_rmem"), "4096 87380 6291456");
    }

    #[test]
    fn absent_removes_the_line_and_failures_quote_sysctl() {
        let f = Fake::new();
        std::fs::write(&f.conf, "net.ipv4.ip_forward=1\nnet.ipv4.tcp_rmem=1 2 3\n").unwrap();
        let gone = json!({"name": "net.ipv4.tcp_rmem", "state": "absent", "reload": false});
        assert_eq!(f.run(gone.clone(), false).0.status, Status::Changed);
        assert_eq!(
            std::fs::read_to_string(&f.conf).unwrap(),
            "net.ipv4.ip_forward=1\n"
        );
        assert_eq!(f.run(gone, false).0.status, Status::Ok);
        // An unknown key: the reload fails with sysctl's own words...
        let (r, _) = f.run(json!({"name": "net.nope", "value": "1"}), false);
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.starts_with("Failed to reload sysctl:") && msg.contains("cannot stat"),
            "{msg}"
        );
        // ...unless ignoreerrors; and sysctl_set says which key failed.
        let (r, _) = f.run(
            json!({"name": "net.nope", "value": "1", "ignoreerrors": true}),
            false,
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        let (r, _) = f.run(
            json!({"name": "net.nope2", "value": "1", "sysctl_set": true, "reload": false}),
            false,
        );
        let msg = r.msg.unwrap();
        assert!(
            msg.starts_with("setting net.nope2 failed") && msg.contains("cannot stat"),
            "{msg}"
        );
        assert!(prepare_error(&Sysctl, json!({"name": "net.x"})).contains("value"));
        assert!(prepare_error(&Sysctl, json!({"name": "a b", "value": 1})).contains("`name`"));
    }
}
