//! `reboot`: reboot the host and wait until it is back, as Ansible's
//! `ansible.builtin.reboot`.
//!
//! How "back" is told (Ansible reads the boot id; baton adds a marker):
//! before the reboot the module reads `boot_time_command` (the kernel's boot
//! id) and leaves a marker file in /run, which every boot empties (a tmpfs).
//! After `reboot_command` the executor reconnects ([`Step::Reconnect`]) until
//! the boot id differs or the marker is gone, and `test_command` succeeds.
//! The marker is what makes a lab node's reboot visible: lab nodes share the
//! host's kernel, so their boot id never changes, but `baton lab boot` gives
//! a node a fresh /run. `changed` is always true (a reboot is a change), as
//! in Ansible; check mode reports it without rebooting. A `local`
//! connection is refused (it would reboot the controller), as Ansible does,
//! in check mode too.
//!
//! Round trips: 1 (record the boot id, leave the marker, run the reboot
//! command), then 1 per probe until the host is back.

use std::time::Duration;

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Reconnect, Step, TaskContext, TaskResult,
};
use crate::shell;

pub struct Reboot;

static SPEC: ModuleSpec = ModuleSpec {
    name: "reboot",
    args: &[
        ArgSpec::optional("reboot_timeout"),
        ArgSpec::optional("pre_reboot_delay"),
        ArgSpec::optional("post_reboot_delay"),
        ArgSpec::optional("test_command"),
        ArgSpec::optional("reboot_command"),
        ArgSpec::optional("boot_time_command"),
        ArgSpec::optional("msg"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

const DEFAULT_MSG: &str = "Reboot initiated by Ansible";
const DEFAULT_TEST: &str = "whoami";
const DEFAULT_BOOT_TIME: &str = "cat /proc/sys/kernel/random/boot_id";
/// Where the reboot marker goes: /run, which every boot empties. Unit tests
/// run on the machine itself and leave its /run alone.
const MARKER_DIR: &str = if cfg!(test) { "/tmp" } else { "/run" };
/// Where the state file goes (what the boot id was, whether the marker was
/// made): /var/tmp, which a reboot keeps.
const STATE_DIR: &str = if cfg!(test) { "/tmp" } else { "/var/tmp" };
/// Between two probes of a host that is not back yet.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

struct Plan {
    timeout: f64,
    pre_delay: f64,
    post_delay: f64,
    test_command: String,
    reboot_command: String,
    boot_time_command: String,
    nonce: String,
}

impl Module for Reboot {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let command = |name: &str, default: &str| -> Result<String, ModuleError> {
            match r.string(name)? {
                Some(c) if c.trim().is_empty() => Err(ModuleError::Args(format!(
                    "argument `{name}` is empty; give a command or leave it out"
                ))),
                Some(c) => Ok(c),
                None => Ok(default.to_string()),
            }
        };
        let msg = r.string("msg")?.unwrap_or_else(|| DEFAULT_MSG.into());
        let plan = Plan {
            timeout: r.seconds("reboot_timeout")?.unwrap_or(600.0),
            pre_delay: r.seconds("pre_reboot_delay")?.unwrap_or(0.0),
            post_delay: r.seconds("post_reboot_delay")?.unwrap_or(0.0),
            test_command: command("test_command", DEFAULT_TEST)?,
            // Ansible's Linux default: `shutdown -r +MINUTES MSG`; the
            // pre_reboot_delay is slept first here, so the shutdown is now.
            reboot_command: command(
                "reboot_command",
                &format!("shutdown -r +0 {}", shell::quote(&msg)),
            )?,
            boot_time_command: command("boot_time_command", DEFAULT_BOOT_TIME)?,
            nonce: ctx.nonce.to_string(),
        };
        if plan.timeout == 0.0 {
            return Err(ModuleError::Args(
                "argument `reboot_timeout` must be more than 0 seconds".into(),
            ));
        }
        if ctx.check_mode {
            // Through Reconnect all the same, so that the executor refuses a
            // local connection in check mode too (Ansible checks it first);
            // the trigger is a no-op and the task stops right after it.
            let mut would =
                TaskResult::changed().with_msg("check mode: the host would be rebooted");
            would.data.insert("rebooted".into(), Value::Bool(true));
            would.data.insert("elapsed".into(), Value::from(0));
            return Ok(Step::Reconnect(Box::new(Reconnect {
                action: "reboot",
                trigger: ":".into(),
                triggered: Box::new(move |_| Some(would)),
                delay: Duration::ZERO,
                interval: PROBE_INTERVAL,
                timeout: Duration::ZERO,
                probe: ":".into(),
                back: Box::new(|_, _| Err("check mode".into())),
            })));
        }
        Ok(plan.step())
    }
}

impl Plan {
    fn marker(&self) -> String {
        format!("{MARKER_DIR}/.baton-reboot-{}", self.nonce)
    }

    fn state(&self) -> String {
        format!("{STATE_DIR}/.baton-reboot-{}", self.nonce)
    }

    /// One [`Step::Reconnect`]: nothing runs before it, so the executor
    /// refuses a local connection before the host is touched.
    ///
    /// The trigger records, on the host, what tells a reboot (the boot id,
    /// and whether the /run marker exists) in a state file under /var/tmp,
    /// which a reboot keeps, then runs `reboot_command`; a probe compares
    /// with that record on the host itself, so nothing depends on the
    /// trigger's answer arriving (the connection may drop under it).
    fn step(self) -> Step {
        let nonce = self.nonce.clone();
        let (marker, state) = (shell::quote(&self.marker()), shell::quote(&self.state()));
        let mut trigger = prelude(&nonce);
        trigger.push_str(&format!(
            "_old=$( ( {boot}\n) ) || _fail boot_time\n\
             _mk=0; if [ -d {mdir} ] && : > {marker} 2>/dev/null; then _mk=1; fi\n\
             [ -n \"$_old\" ] || [ \"$_mk\" = 1 ] || _fail cannot_tell\n\
             printf '%s\\n%s\\n' \"$_mk\" \"$_old\" > {state} || {{ rm -f -- {marker}; _fail state; }}\n",
            boot = self.boot_time_command,
            mdir = MARKER_DIR,
        ));
        if self.pre_delay > 0.0 {
            trigger.push_str(&format!("sleep {}\n", self.pre_delay));
        }
        // The command's own output goes to stderr: the answer keeps only markers.
        trigger.push_str(&format!(
            "( {}\n) >&2\n_rc=$?\n[ \"$_rc\" = 0 ] || rm -f -- {marker} {state}\n_b rc \"$_rc\"\n",
            self.reboot_command,
        ));
        let mut probe = prelude(&nonce);
        probe.push_str(&format!(
            "{{ read -r _mk; read -r _old; }} < {state} 2>/dev/null || _fail nostate\n\
             _now=$( ( {boot}\n) 2>/dev/null)\n\
             _bt=0\n\
             if [ \"$_mk\" = 1 ] && [ ! -e {marker} ]; then _bt=1; fi\n\
             if [ -n \"$_old\" ] && [ -n \"$_now\" ] && [ \"$_now\" != \"$_old\" ]; then _bt=1; fi\n\
             _b booted \"$_bt\"\n\
             [ \"$_bt\" = 1 ] || exit 0\n\
             ( {test}\n) >&2\n_rc=$?\n\
             [ \"$_rc\" != 0 ] || rm -f -- {marker} {state}\n\
             _b test \"$_rc\"\n",
            boot = self.boot_time_command,
            test = self.test_command,
        ));
        let reboot_command = self.reboot_command.clone();
        let boot_time_command = self.boot_time_command.clone();
        let test_command = self.test_command.clone();
        let trigger_nonce = nonce.clone();
        Step::Reconnect(Box::new(Reconnect {
            action: "reboot",
            trigger,
            triggered: Box::new(move |out| {
                let out = out?;
                let answer = Answer::parse(out, &trigger_nonce);
                let failed = |msg: String| Some(answer.failed_with(msg));
                match (answer.failure(), answer.get("rc")) {
                    (Some("boot_time"), _) => failed(format!(
                        "boot_time_command `{boot_time_command}` failed; the host was not rebooted"
                    )),
                    (Some("cannot_tell"), _) => failed(format!(
                        "cannot tell a reboot on this host: boot_time_command `{boot_time_command}` printed nothing and {MARKER_DIR} is not writable; the host was not rebooted"
                    )),
                    (Some("state"), _) => failed(format!(
                        "cannot write the reboot state file in {STATE_DIR}; the host was not rebooted"
                    )),
                    (Some(other), _) => failed(format!("the host reported `{other}`")),
                    (None, Some("0") | None) => None,
                    (None, Some(rc)) => failed(format!(
                        "Reboot command failed (`{reboot_command}` exited {rc}); the host was not rebooted"
                    )),
                }
            }),
            delay: Duration::from_secs_f64(self.post_delay),
            interval: PROBE_INTERVAL,
            timeout: Duration::from_secs_f64(self.timeout),
            probe,
            back: Box::new(move |out, elapsed| {
                let answer = Answer::parse(out, &nonce);
                if answer.failure() == Some("nostate") {
                    return Err(format!(
                        "the reboot state file {STATE_DIR}/.baton-reboot-{nonce} is gone, so a reboot cannot be told"
                    ));
                }
                match (answer.get("booted"), answer.get("test")) {
                    (Some("1"), Some("0")) => {}
                    (Some("0"), _) => {
                        return Err("the host answers but has not rebooted yet (same boot id, reboot marker still in /run)".into())
                    }
                    (Some("1"), Some(rc)) => {
                        return Err(format!(
                            "test_command `{test_command}` exited {rc}: {}",
                            answer.stderr_text()
                        ))
                    }
                    _ => return Err(format!("the probe stopped early: {}", answer.stderr_text())),
                }
                let mut result = TaskResult::changed();
                result.data.insert("rebooted".into(), Value::Bool(true));
                result
                    .data
                    .insert("elapsed".into(), Value::from(elapsed.as_secs()));
                Ok(Step::Done(result))
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{finish, prepare_error, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    /// Each run with its own nonce: the marker's name, and tests run in parallel.
    fn run(module: &Reboot, args: Value, ctx: &Ctx) -> TaskResult {
        let args: Args = args.as_object().cloned().unwrap();
        let nonce = crate::shell::new_nonce();
        let context = TaskContext {
            host: "h",
            check_mode: ctx.check,
            diff: false,
            nonce: &nonce,
            search_paths: &ctx.search,
            eval: &ctx.eval,
        };
        let result = match module.prepare(&args, &context) {
            Ok(step) => finish(step).0,
            Err(e) => TaskResult::failed(e.to_string()),
        };
        let _ = std::fs::remove_file(format!("{MARKER_DIR}/.baton-reboot-{nonce}"));
        let _ = std::fs::remove_file(format!("{STATE_DIR}/.baton-reboot-{nonce}"));
        result
    }

    /// Over the local shell (the unit-test runner, not the executor) with a
    /// boot id in a file that the "reboot command" changes: no real reboot.
    #[test]
    fn waits_until_the_boot_id_changes_and_the_test_passes() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("boot_id");
        std::fs::write(&id, "one\n").unwrap();
        let flag = dir.path().join("ready");
        let args = json!({
            "boot_time_command": format!("cat {}", id.display()),
            // The "reboot" changes the boot id now and the host is ready a bit later.
            "reboot_command": format!("echo two > {}; (sleep 1; touch {}) &", id.display(), flag.display()),
            "test_command": format!("test -e {}", flag.display()),
            "reboot_timeout": 20,
        });
        let r = run(&Reboot, args, &Ctx::default());
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(r.data["rebooted"], true);
        assert!(flag.exists());
    }

    #[test]
    fn a_failing_reboot_command_or_a_host_that_never_reboots_fails() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("boot_id");
        std::fs::write(&id, "same\n").unwrap();
        let boot = format!("cat {}", id.display());
        let r = run(
            &Reboot,
            json!({"boot_time_command": boot, "reboot_command": "echo nope >&2; exit 3", "reboot_timeout": 2}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        let msg = r.msg.unwrap();
        assert!(msg.contains("exited 3") && msg.contains("nope"), "{msg}");
        let r = run(
            &Reboot,
            json!({"boot_time_command": boot, "reboot_command": "true", "reboot_timeout": 1}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert!(r.msg.unwrap().contains("has not rebooted yet"));
        let r = run(
            &Reboot,
            json!({"boot_time_command": "exit 1", "reboot_command": "true", "reboot_timeout": 2}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("boot_time_command"));
    }

    #[test]
    fn check_mode_reboots_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("rebooted");
        let r = run(
            &Reboot,
            json!({"reboot_command": format!("touch {}", flag.display())}),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert!(!flag.exists());
        assert!(prepare_error(&Reboot, json!({"test_command": " "})).contains("test_command"));
        assert!(prepare_error(&Reboot, json!({"reboot_timeout": -1})).contains("reboot_timeout"));
    }
}
