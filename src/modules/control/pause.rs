//! `pause`: wait a fixed time on the controller. baton runs unattended, so a
//! pause without a duration (which in Ansible waits for a key press) is an
//! error rather than a hang.
//!
//! Round trips: 0 (waits on the controller).

use serde_json::Value;

use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct Pause;

static SPEC: ModuleSpec = ModuleSpec {
    name: "pause",
    args: &[
        ArgSpec::optional("seconds"),
        ArgSpec::optional("minutes"),
        ArgSpec::optional("prompt"),
        ArgSpec::optional("echo"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Pause {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, _ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let seconds = match (r.seconds("seconds")?, r.seconds("minutes")?) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Args("give `seconds` or `minutes`, not both".into()))
            }
            (Some(s), None) => s,
            (None, Some(m)) => m * 60.0,
            (None, None) => {
                return Err(ModuleError::Args(
                    "pause needs `seconds` or `minutes`: baton never waits for keyboard input (it runs unattended)".into(),
                ))
            }
        };
        let mut result = TaskResult::ok();
        result.msg = r.string("prompt")?;
        result.stdout = Some(format!("Paused for {seconds} seconds"));
        result.data.insert(
            "delta".into(),
            serde_json::Number::from_f64(seconds)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
        let duration = crate::bounds::duration(seconds, "the pause").map_err(ModuleError::Args)?;
        Ok(Step::Sleep(duration, result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, Ctx};
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn sleeps_for_the_duration_and_refuses_to_wait_for_a_key() {
        let args = json!({"minutes": 0.5, "prompt": "letting replication settle"});
        let ctx = Ctx::default();
        let context = crate::modules::TaskContext {
            host: "h",
            check_mode: false,
            diff: false,
            nonce: "n",
            search_paths: &[],
            eval: &ctx.eval,
        };
        match Pause.prepare(args.as_object().unwrap(), &context).unwrap() {
            Step::Sleep(d, r) => {
                assert_eq!(d, Duration::from_secs(30));
                assert_eq!(r.msg.as_deref(), Some("letting replication settle"));
            }
            _ => panic!("expected a sleep"),
        }
        assert!(prepare_error(&Pause, json!({"prompt": "press enter"}))
            .contains("never waits for keyboard input"));
    }
}
