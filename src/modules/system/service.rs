//! `service` (and its alias `systemd`): start, stop, restart, reload, enable
//! or disable a systemd unit. One `systemctl show` learns the unit's state;
//! systemctl runs again only for what has to change.
//!
//! Hosts without systemd (no /run/systemd/system) fail with a message that
//! names what PID 1 is, instead of guessing at another init system.
//!
//! Round trips: 1 (state and changes in the same script).

use serde_json::{Map, Value};

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Service;
pub struct Systemd;

const ARGS: &[ArgSpec] = &[
    ArgSpec::required("name").aliases(&["service", "unit"]),
    ArgSpec::optional("state").choices(&["started", "stopped", "restarted", "reloaded"]),
    ArgSpec::optional("enabled"),
    ArgSpec::optional("daemon_reload").aliases(&["daemon-reload"]),
];

static SERVICE_SPEC: ModuleSpec = ModuleSpec {
    name: "service",
    args: ARGS,
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

static SYSTEMD_SPEC: ModuleSpec = ModuleSpec {
    name: "systemd",
    args: ARGS,
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

/// Where systemd shows that it runs (sd_booted(3)).
const SYSTEMD_MARKER: &str = "/run/systemd/system";

impl Module for Service {
    fn spec(&self) -> &'static ModuleSpec {
        &SERVICE_SPEC
    }
    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        Plan::from_args(&ArgReader::new(&SERVICE_SPEC, args)).map(|p| p.step(ctx, SYSTEMD_MARKER))
    }
}

impl Module for Systemd {
    fn spec(&self) -> &'static ModuleSpec {
        &SYSTEMD_SPEC
    }
    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        Plan::from_args(&ArgReader::new(&SYSTEMD_SPEC, args)).map(|p| p.step(ctx, SYSTEMD_MARKER))
    }
}

struct Plan {
    name: String,
    state: Option<String>,
    enabled: Option<bool>,
    daemon_reload: bool,
}

impl Plan {
    fn from_args(r: &ArgReader<'_>) -> Result<Plan, ModuleError> {
        let name = r.required_string("name")?;
        if name.is_empty() || name.contains(['\n', ' ', '/']) {
            return Err(ModuleError::Args(format!(
                "argument `name`: `{name}` is not a unit name"
            )));
        }
        let plan = Plan {
            name,
            state: r.choice("state")?,
            enabled: r.opt_bool("enabled")?,
            daemon_reload: r.bool("daemon_reload", false)?,
        };
        if plan.state.is_none() && plan.enabled.is_none() && !plan.daemon_reload {
            return Err(ModuleError::Args(
                "give at least one of `state`, `enabled` or `daemon_reload`".into(),
            ));
        }
        Ok(plan)
    }

    fn step(self, ctx: &TaskContext<'_>, systemd_marker: &str) -> Step {
        let script = self.script(ctx.nonce, ctx.check_mode, systemd_marker);
        let nonce = ctx.nonce.to_string();
        let host = ctx.host.to_string();
        Step::Remote {
            script,
            interpret: Box::new(move |out| {
                Step::Done(self.interpret(&Answer::parse(out, &nonce), &host))
            }),
        }
    }

    fn script(&self, nonce: &str, check: bool, systemd_marker: &str) -> String {
        let mut s = prelude(nonce);
        s.push_str(&format!(
            r#"if [ ! -d {marker} ]; then
  _p1=unknown
  [ ! -r /proc/1/comm ] || read -r _p1 < /proc/1/comm
  _b pid1 "$_p1"
  _fail nosystemd
fi
command -v systemctl >/dev/null 2>&1 || _fail nosystemctl
_ck={check} _u={unit} _chg=0
"#,
            marker = shell::quote(systemd_marker),
            check = u8::from(check),
            unit = shell::quote(&self.name),
        ));
        if self.daemon_reload {
            s.push_str("[ \"$_ck\" = 1 ] || systemctl daemon-reload || _fail daemon-reload\n");
        }
        s.push_str(
            r#"_x=$(systemctl show -p LoadState -p ActiveState -p UnitFileState -- "$_u") || _fail show
_ls= _as= _fs=
set -f
for _l in $_x; do
  case $_l in LoadState=*) _ls=${_l#*=} ;; ActiveState=*) _as=${_l#*=} ;; UnitFileState=*) _fs=${_l#*=} ;; esac
done
set +f
_b status "$_ls $_as $_fs"
[ "$_ls" != not-found ] || _fail notfound
_run() { _chg=1; [ "$_ck" = 1 ] || systemctl "$1" -- "$_u" || _fail "$1"; }
"#,
        );
        match self.state.as_deref() {
            Some("started") => {
                s.push_str("case $_as in active|activating|reloading) ;; *) _run start ;; esac\n")
            }
            Some("stopped") => s.push_str(
                "case $_as in active|activating|reloading|deactivating) _run stop ;; esac\n",
            ),
            Some("restarted") => s.push_str("_run restart\n"),
            Some("reloaded") => s.push_str(
                "case $_as in active|activating|reloading) _run reload ;; *) _run start ;; esac\n",
            ),
            _ => {}
        }
        match self.enabled {
            // `systemctl is-enabled` counts these as enabled; static units cannot be toggled.
            Some(true) => s.push_str("case $_fs in enabled|enabled-runtime|static|indirect|generated|alias|linked|linked-runtime|transient) ;; *) _run enable ;; esac\n"),
            Some(false) => s.push_str("case $_fs in enabled|enabled-runtime|linked|linked-runtime) _run disable ;; esac\n"),
            None => {}
        }
        s.push_str("_b changed \"$_chg\"\n_b done 1\n");
        s
    }

    fn interpret(&self, answer: &Answer, host: &str) -> TaskResult {
        let name = &self.name;
        if let Some(code) = answer.failure() {
            return match code {
                "nosystemd" => TaskResult::failed(format!(
                    "{host} does not run systemd (PID 1 is `{}`, and /run/systemd/system is missing); baton's service module manages systemd units only",
                    answer.get("pid1").unwrap_or("unknown")
                )),
                "nosystemctl" => TaskResult::failed(format!(
                    "{host} runs systemd but has no systemctl on PATH"
                )),
                "notfound" => TaskResult::failed(format!(
                    "Could not find the requested service {name}: no such unit on {host}"
                )),
                "show" => answer.failed_with(format!("cannot read the state of {name}")),
                "daemon-reload" => answer.failed_with("systemctl daemon-reload failed"),
                action => answer.failed_with(format!("Unable to {action} service {name}")),
            };
        }
        if answer.get("done") != Some("1") {
            return answer.unexpected();
        }
        let mut result = if answer.flag("changed") {
            TaskResult::changed()
        } else {
            TaskResult::ok()
        };
        result
            .data
            .insert("name".into(), Value::String(name.clone()));
        if let Some(state) = &self.state {
            result
                .data
                .insert("state".into(), Value::String(state.clone()));
        }
        if let Some(enabled) = self.enabled {
            result.data.insert("enabled".into(), Value::Bool(enabled));
        }
        let fields: Vec<&str> = answer
            .get("status")
            .unwrap_or_default()
            .split(' ')
            .collect();
        let mut status = Map::new();
        for (key, value) in ["LoadState", "ActiveState", "UnitFileState"]
            .iter()
            .zip(fields)
        {
            status.insert((*key).into(), Value::String(value.into()));
        }
        result.data.insert("status".into(), Value::Object(status));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish_with_env, prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    /// A fake systemctl whose unit state lives in files under $FAKE_SD, and
    /// which logs every call, so the decision logic runs for real.
    struct FakeSystemd {
        dir: tempfile::TempDir,
        path: String,
    }

    impl FakeSystemd {
        fn new(active: &str, enabled: &str) -> FakeSystemd {
            let dir = tempfile::tempdir().unwrap();
            let bin = dir.path().join("bin");
            std::fs::create_dir_all(dir.path().join("run")).unwrap();
            std::fs::create_dir(&bin).unwrap();
            std::fs::write(dir.path().join("active"), active).unwrap();
            std::fs::write(dir.path().join("enabled"), enabled).unwrap();
            std::fs::write(
                bin.join("systemctl"),
                r#"#!/bin/sh
echo "$*" >> "$FAKE_SD/log"
for unit; do :; done
case $1 in
  show) [ "$unit" = hvr ] || { printf 'LoadState=not-found\nActiveState=inactive\nUnitFileState=\n'; exit 0; }
        printf 'LoadState=loaded\nActiveState=%s\nUnitFileState=%s\n' "$(cat "$FAKE_SD/active")" "$(cat "$FAKE_SD/enabled")" ;;
  start|restart|reload) echo active > "$FAKE_SD/active" ;;
  stop) echo inactive > "$FAKE_SD/active" ;;
  enable) echo enabled > "$FAKE_SD/enabled" ;;
  disable) echo disabled > "$FAKE_SD/enabled" ;;
esac
"#,
            )
            .unwrap();
            std::fs::set_permissions(
                bin.join("systemctl"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
            let path = format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            );
            FakeSystemd { dir, path }
        }

        fn run(&self, args: serde_json::Value, check: bool) -> TaskResult {
            let plan =
                Plan::from_args(&ArgReader::new(&SERVICE_SPEC, args.as_object().unwrap())).unwrap();
            let ctx = Ctx::default();
            let context = TaskContext {
                host: "node1",
                check_mode: check,
                diff: false,
                nonce: "sd",
                search_paths: &[],
                eval: &ctx.eval,
            };
            let marker = self.dir.path().join("run");
            let step = plan.step(&context, marker.to_str().unwrap());
            let sd = self.dir.path().to_str().unwrap().to_string();
            finish_with_env(step, &[("PATH", &self.path), ("FAKE_SD", &sd)]).0
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        }
    }

    #[test]
    fn starts_and_enables_once_then_reports_ok() {
        let sd = FakeSystemd::new("inactive", "disabled");
        let args = json!({"name": "hvr", "state": "started", "enabled": true});
        let dry = sd.run(args.clone(), true);
        assert_eq!(dry.status, Status::Changed);
        assert!(!sd.log().contains("start"), "check mode ran: {}", sd.log());
        let first = sd.run(args.clone(), false);
        assert_eq!(first.status, Status::Changed, "{first:?}");
        assert!(sd.log().contains("start -- hvr") && sd.log().contains("enable -- hvr"));
        let second = sd.run(args, false);
        assert_eq!(second.status, Status::Ok, "{second:?}");
        assert_eq!(second.data["status"]["ActiveState"], "active");
    }

    #[test]
    fn stop_disable_restart_and_unknown_units() {
        let sd = FakeSystemd::new("active", "enabled");
        assert!(sd
            .run(
                json!({"name": "hvr", "state": "stopped", "enabled": false}),
                false
            )
            .is_changed());
        assert_eq!(
            sd.run(json!({"name": "hvr", "state": "stopped"}), false)
                .status,
            Status::Ok
        );
        assert!(sd
            .run(json!({"name": "hvr", "state": "restarted"}), false)
            .is_changed());
        let r = sd.run(json!({"name": "nope", "state": "started"}), false);
        assert!(r
            .msg
            .unwrap()
            .contains("Could not find the requested service nope"));
    }

    #[test]
    fn a_host_without_systemd_says_what_pid_1_is() {
        let r = run(
            &Service,
            json!({"name": "hvr", "state": "started"}),
            &Ctx::default(),
        );
        if std::path::Path::new(SYSTEMD_MARKER).is_dir() {
            // The no-systemd message is covered by the fake only here.
            return;
        }
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(msg.contains("does not run systemd (PID 1 is `"), "{msg}");
    }

    #[test]
    fn the_script_checks_systemd_first_and_answers_are_read() {
        let plan = Plan {
            name: "hvr".into(),
            state: Some("started".into()),
            enabled: None,
            daemon_reload: true,
        };
        let script = plan.script("n", false, SYSTEMD_MARKER);
        let marker_check = script.find("/run/systemd/system").unwrap();
        assert!(marker_check < script.find("daemon-reload").unwrap());
        let out = crate::transport::ExecOutput {
            code: Some(0),
            stdout: "__baton_n pid1 bash\n__baton_n fail nosystemd\n".into(),
            stderr: String::new(),
        };
        let r = plan.interpret(&Answer::parse(&out, "n"), "bc1");
        assert_eq!(
            r.msg.as_deref(),
            Some("bc1 does not run systemd (PID 1 is `bash`, and /run/systemd/system is missing); baton's service module manages systemd units only")
        );
        let out = crate::transport::ExecOutput {
            code: Some(0),
            stdout: String::new(),
            stderr: "Job for hvr.service failed.\n".into(),
        };
        let failed = Answer::parse(
            &crate::transport::ExecOutput {
                stdout: "__baton_n fail start\n".into(),
                ..out
            },
            "n",
        );
        assert_eq!(
            plan.interpret(&failed, "bc1").msg.as_deref(),
            Some("Unable to start service hvr: Job for hvr.service failed.")
        );
    }

    #[test]
    fn something_to_do_is_required() {
        assert!(prepare_error(&Service, json!({"name": "hvr"})).contains("at least one"));
    }
}
