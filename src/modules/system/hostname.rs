//! `hostname`: the host's name, as Ansible's `ansible.builtin.hostname` does,
//! with three of its strategies (`use`):
//! - `systemd`: `hostnamectl --static/--transient status` to read,
//!   `hostnamectl --pretty --static set-hostname` then `--transient
//!   set-hostname` to set (the permanent name first, as Ansible does, so
//!   NetworkManager does not complain);
//! - `debian` (also `file`): the permanent name in /etc/hostname, the
//!   current one with `hostname`;
//! - `generic`: the current name with `hostname` only (nothing permanent).
//!
//! Without `use`, systemd when PID 1 is systemd and `hostnamectl` exists,
//! else debian when /etc/hostname exists, else generic (Ansible picks by
//! distribution). Changed when the current or the permanent name differs;
//! check mode only compares. Returns the facts `ansible_hostname` (the first
//! label), `ansible_nodename` and `ansible_domain`, as Ansible does. A name
//! longer than 64 characters is refused (the kernel's limit; Ansible's
//! systemd message).
//!
//! Round trips: 1.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, FileDiff, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Hostname;

static SPEC: ModuleSpec = ModuleSpec {
    name: "hostname",
    args: &[
        ArgSpec::required("name"),
        ArgSpec::optional("use").choices(&["systemd", "debian", "file", "generic"]),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// The file the `debian` strategy keeps the permanent name in.
const HOSTNAME_FILE: &str = "/etc/hostname";

const SCRIPT: &str = r#"if [ "$_s" = auto ]; then
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v hostnamectl >/dev/null 2>&1; then _s=systemd
  elif [ -f "$_f" ]; then _s=debian
  else _s=generic; fi
fi
_b use "$_s"
case $_s in
  systemd)
    command -v hostnamectl >/dev/null 2>&1 || _fail nohostnamectl
    _p=$(hostnamectl --static status) || _fail status
    _c=$(hostnamectl --transient status) || _fail status ;;
  *)
    command -v hostname >/dev/null 2>&1 || _fail nohostname
    _c=$(hostname) || _fail status
    if [ "$_s" = debian ]; then
      _p=; if [ -f "$_f" ]; then _p=$(cat -- "$_f") || _fail readfile; fi
      set -f; set -- $_p; set +f; _p="$*"
    else _p=$_n; fi ;;
esac
_b permanent "$_p"; _b current "$_c"
if [ "$_p" != "$_n" ]; then
  _b changed 1
  if [ "$_ck" != 1 ]; then
    if [ "$_s" = systemd ]; then hostnamectl --pretty --static set-hostname "$_n" || _fail setpermanent
    else
      _t="$_f.baton.$$"
      { printf '%s\n' "$_n" >"$_t" && chmod 644 "$_t" && mv -f -- "$_t" "$_f"; } || { rm -f -- "$_t"; _fail writefile; }
    fi
  fi
fi
if [ "$_c" != "$_n" ]; then
  _b changed 1
  if [ "$_ck" != 1 ]; then
    if [ "$_s" = systemd ]; then hostnamectl --transient set-hostname "$_n" || _fail setcurrent
    else hostname "$_n" || _fail setcurrent; fi
  fi
fi
_b done 1
"#;

impl Module for Hostname {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        prepare(args, ctx, HOSTNAME_FILE)
    }
}

/// [`Hostname::prepare`] with the debian strategy's file (tests use a temporary one).
fn prepare(args: &Args, ctx: &TaskContext<'_>, file: &str) -> Result<Step, ModuleError> {
    let r = ArgReader::new(&SPEC, args);
    let name = r.required_string("name")?.trim().to_string();
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(ModuleError::Args(format!(
            "argument `name` must be a host name without spaces, not {name:?}"
        )));
    }
    if name.len() > 64 {
        return Err(ModuleError::Args(
            "name cannot be longer than 64 characters on systemd servers, try a shorter name"
                .into(),
        ));
    }
    let strategy = match r.choice("use")?.as_deref() {
        None => "auto",
        Some("file") | Some("debian") => "debian",
        Some("systemd") => "systemd",
        Some(_) => "generic",
    };
    let mut s = prelude(ctx.nonce);
    s.push_str(&format!(
        "_n={} _s={} _f={} _ck={}\n",
        shell::quote(&name),
        shell::quote(strategy),
        shell::quote(file),
        u8::from(ctx.check_mode)
    ));
    s.push_str(SCRIPT);
    let nonce = ctx.nonce.to_string();
    let diff = ctx.diff;
    Ok(Step::Remote {
        script: s,
        interpret: Box::new(move |out| {
            Step::Done(interpret(&Answer::parse(out, &nonce), &name, diff))
        }),
    })
}

fn interpret(answer: &Answer, name: &str, diff: bool) -> TaskResult {
    if let Some(code) = answer.failure() {
        let msg = match code {
            "nohostnamectl" => "`hostnamectl` is missing on the host (use: systemd)".to_string(),
            "nohostname" => "`hostname` is missing on the host (install hostname)".to_string(),
            "status" => "cannot read the host name".to_string(),
            "readfile" | "writefile" => format!(
                "cannot {} {HOSTNAME_FILE}",
                if code == "readfile" { "read" } else { "write" }
            ),
            "setpermanent" => format!("cannot set the permanent host name to {name}"),
            "setcurrent" => format!("cannot set the current host name to {name}"),
            other => format!("hostname: the host reported `{other}`"),
        };
        return answer.failed_with(msg);
    }
    let (Some(current), Some(permanent), Some(strategy), Some("1")) = (
        answer.get("current"),
        answer.get("permanent"),
        answer.get("use"),
        answer.get("done"),
    ) else {
        return answer.unexpected();
    };
    let mut result = if answer.flag("changed") {
        TaskResult::changed()
    } else {
        TaskResult::ok()
    };
    if diff && answer.flag("changed") {
        result.diff.push(FileDiff {
            path: "hostname".into(),
            before: format!("hostname = {current}\n"),
            after: format!("hostname = {name}\n"),
        });
    }
    let (short, domain) = name.split_once('.').unwrap_or((name, ""));
    for (k, v) in [
        ("ansible_hostname", short),
        ("ansible_nodename", name),
        ("ansible_domain", domain),
    ] {
        result
            .ansible_facts
            .insert(k.into(), Value::String(v.into()));
    }
    result
        .data
        .insert("name".into(), Value::String(name.to_string()));
    result
        .data
        .insert("use".into(), Value::String(strategy.to_string()));
    result
        .data
        .insert("before_permanent".into(), Value::String(permanent.into()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    /// Fake `hostname` and `hostnamectl` on PATH keeping the names in files,
    /// so no test changes this machine's name.
    struct Fake {
        dir: tempfile::TempDir,
        path_env: String,
    }

    impl Fake {
        fn new() -> Fake {
            let dir = tempfile::tempdir().unwrap();
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            let d = dir.path().display();
            let tools = [
                (
                    "hostname",
                    format!("#!/bin/sh\nif [ $# = 0 ]; then cat {d}/current; else printf '%s\\n' \"$1\" >{d}/current; fi\n"),
                ),
                (
                    "hostnamectl",
                    format!(
                        r#"#!/bin/sh
case "$*" in
  "--static status") cat {d}/static ;;
  "--transient status") cat {d}/current ;;
  "--pretty --static set-hostname "*) printf '%s\n' "$4" >{d}/static ;;
  "--transient set-hostname "*) printf '%s\n' "$3" >{d}/current ;;
  *) echo "hostnamectl: unexpected $*" >&2; exit 1 ;;
esac
"#
                    ),
                ),
            ];
            for (tool, text) in tools {
                std::fs::write(bin.join(tool), text).unwrap();
                std::fs::set_permissions(bin.join(tool), std::fs::Permissions::from_mode(0o755))
                    .unwrap();
            }
            std::fs::write(dir.path().join("current"), "old\n").unwrap();
            std::fs::write(dir.path().join("static"), "old\n").unwrap();
            std::fs::write(dir.path().join("etc_hostname"), "old\n").unwrap();
            Fake {
                path_env: format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
                dir,
            }
        }

        fn read(&self, f: &str) -> String {
            std::fs::read_to_string(self.dir.path().join(f))
                .unwrap()
                .trim()
                .to_string()
        }

        fn run(&self, args: serde_json::Value, check: bool) -> TaskResult {
            let args = args.as_object().cloned().unwrap();
            let ctx = Ctx::default();
            let context = TaskContext {
                host: "t",
                check_mode: check,
                diff: true,
                nonce: "n0nce",
                search_paths: &ctx.search,
                eval: &ctx.eval,
            };
            let file = self.dir.path().join("etc_hostname");
            let step = prepare(&args, &context, file.to_str().unwrap()).unwrap();
            finish_with_env(step, &[("PATH", self.path_env.as_str())]).0
        }
    }

    #[test]
    fn systemd_sets_both_names_then_is_stable_and_check_mode_only_reports() {
        let f = Fake::new();
        let args = json!({"name": "bc1.lab.example", "use": "systemd"});
        let dry = f.run(args.clone(), true);
        assert_eq!(dry.status, Status::Changed, "{dry:?}");
        assert_eq!(dry.diff[0].after, "hostname = bc1.lab.example\n");
        assert_eq!(
            (f.read("current"), f.read("static")),
            ("old".into(), "old".into())
        );
        let first = f.run(args.clone(), false);
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert_eq!(
            (f.read("current"), f.read("static")),
            ("bc1.lab.example".into(), "bc1.lab.example".into())
        );
        assert_eq!(first.ansible_facts["ansible_hostname"], "bc1");
        assert_eq!(first.ansible_facts["ansible_domain"], "lab.example");
        assert_eq!(f.run(args, false).status, Status::Ok);
        // Only the transient name drifted: changed again, and fixed.
        std::fs::write(f.dir.path().join("current"), "drift\n").unwrap();
        assert_eq!(
            f.run(json!({"name": "bc1.lab.example", "use": "systemd"}), false)
                .status,
            Status::Changed
        );
        assert_eq!(f.read("current"), "bc1.lab.example");
    }

    #[test]
    fn debian_writes_the_file_and_generic_only_the_current_name() {
        let f = Fake::new();
        let args = json!({"name": "bc2", "use": "debian"});
        assert_eq!(f.run(args.clone(), true).status, Status::Changed);
        assert_eq!(f.read("etc_hostname"), "old");
        assert_eq!(f.run(args.clone(), false).status, Status::Changed);
        assert_eq!(
            (f.read("etc_hostname"), f.read("current")),
            ("bc2".into(), "bc2".into())
        );
        assert_eq!(f.run(args, false).status, Status::Ok);
        let generic = json!({"name": "bc3", "use": "generic"});
        assert_eq!(f.run(generic.clone(), false).status, Status::Changed);
        assert_eq!(
            (f.read("etc_hostname"), f.read("current")),
            ("bc2".into(), "bc3".into())
        );
        assert_eq!(f.run(generic, false).status, Status::Ok);
    }

    #[test]
    fn failures_quote_the_tool() {
        let f = Fake::new();
        std::fs::remove_file(f.dir.path().join("static")).unwrap();
        let r = f.run(json!({"name": "x", "use": "systemd"}), false);
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(
            msg.contains("cannot read the host name") && msg.contains("No such file"),
            "{msg}"
        );
        assert!(prepare_error(&Hostname, json!({"name": "a b"})).contains("`name`"));
        assert!(prepare_error(&Hostname, json!({"name": "a".repeat(65)})).contains("64"));
    }
}
