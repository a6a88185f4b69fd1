//! Test helpers: run module scripts through a real local shell exactly as the
//! transports do, and a small evaluator.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::modules::{Args, Evaluator, Module, Step, TaskContext, TaskResult};
use crate::transport::{ExecOutput, SCRIPT_RUNNER};

/// Run `script` the way the transports do (on the runner's stdin), with extra
/// environment variables.
pub(crate) fn run_script(script: &str, env: &[(&str, &str)]) -> ExecOutput {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT_RUNNER)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write script");
    let out = child.wait_with_output().expect("wait for sh");
    ExecOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Drive a step to its result locally; also returns the number of round trips.
pub(crate) fn finish(step: Step) -> (TaskResult, usize) {
    finish_with_env(step, &[])
}

pub(crate) fn finish_with_env(mut step: Step, env: &[(&str, &str)]) -> (TaskResult, usize) {
    let mut trips = 0;
    loop {
        match step {
            Step::Done(result) => return (result, trips),
            Step::Sleep(_, result) => return (result, trips),
            Step::Wait(duration, next) => {
                std::thread::sleep(duration);
                step = *next;
            }
            Step::Exclusive(_, next) => step = *next,
            // No stop request reaches a unit test.
            Step::UnlessStopped { next, .. } => step = *next,
            Step::Reconnect(rc) => {
                // Over the local shell nothing goes away: run the trigger,
                // then probe until the module says the host is back.
                trips += 1;
                let out = run_script(&rc.trigger, env);
                if let Some(result) = (rc.triggered)(Some(&out)) {
                    return (result, trips);
                }
                let mut back = rc.back;
                let started = std::time::Instant::now();
                step = loop {
                    trips += 1;
                    match back(&run_script(&rc.probe, env), started.elapsed()) {
                        Ok(next) => break next,
                        Err(why) if started.elapsed() >= rc.timeout => {
                            break Step::Done(TaskResult::failed(why))
                        }
                        Err(_) => std::thread::sleep(rc.interval),
                    }
                };
            }
            Step::Remote { script, interpret } => {
                trips += 1;
                step = interpret(&run_script(&script, env));
            }
        }
    }
}

/// Renders `{{name}}` from a fixed variable set; conditions are literals.
pub(crate) struct TestEval {
    pub vars: serde_json::Map<String, Value>,
}

impl Evaluator for TestEval {
    fn render(&self, _name: &str, text: &str) -> Result<String, String> {
        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        hb.render_template(text, &self.vars)
            .map_err(|e| e.to_string())
    }
    fn condition(&self, expr: &str) -> Result<bool, String> {
        match expr.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("cannot evaluate `{other}`")),
        }
    }
    fn lookup(&self, path: &str) -> Result<Option<Value>, String> {
        let found = (|| {
            let mut cur = self.vars.get(path.split('.').next()?)?;
            for part in path.split('.').skip(1) {
                cur = cur.get(part)?;
            }
            Some(cur.clone())
        })();
        Ok(found)
    }
}

/// Options for [`prepare`].
pub(crate) struct Ctx {
    pub check: bool,
    pub diff: bool,
    pub search: Vec<PathBuf>,
    pub eval: TestEval,
}

impl Default for Ctx {
    fn default() -> Self {
        Ctx {
            check: false,
            diff: false,
            search: Vec::new(),
            eval: TestEval {
                vars: serde_json::Map::new(),
            },
        }
    }
}

/// Prepare `module` with JSON `args` and run it to the end locally.
pub(crate) fn run(module: &dyn Module, args: Value, ctx: &Ctx) -> TaskResult {
    run_with_env(module, args, ctx, &[])
}

/// [`run`] with extra environment variables for the scripts (a `PATH` of
/// fake or missing tools).
pub(crate) fn run_with_env(
    module: &dyn Module,
    args: Value,
    ctx: &Ctx,
    env: &[(&str, &str)],
) -> TaskResult {
    let args: Args = args.as_object().cloned().expect("args object");
    let context = TaskContext {
        host: "testhost",
        check_mode: ctx.check,
        diff: ctx.diff,
        nonce: "n0nce",
        search_paths: &ctx.search,
        eval: &ctx.eval,
    };
    match module.prepare(&args, &context) {
        Ok(step) => finish_with_env(step, env).0,
        Err(e) => TaskResult::failed(format!("prepare: {e}")),
    }
}

/// Prepare only; the error text when it fails.
pub(crate) fn prepare_error(module: &dyn Module, args: Value) -> String {
    let args: Args = args.as_object().cloned().expect("args object");
    let ctx = Ctx::default();
    let context = TaskContext {
        host: "testhost",
        check_mode: false,
        diff: false,
        nonce: "n0nce",
        search_paths: &ctx.search,
        eval: &ctx.eval,
    };
    match module.prepare(&args, &context) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}
