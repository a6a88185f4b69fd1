//! `fail`: stop the host with a message.
//!
//! Round trips: 0 (controller side).

use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct Fail;

static SPEC: ModuleSpec = ModuleSpec {
    name: "fail",
    args: &[ArgSpec::optional("msg")],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Fail {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, _ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let msg = ArgReader::new(&SPEC, args)
            .string("msg")?
            .unwrap_or_else(|| "Failed as requested from task".into());
        Ok(Step::Done(TaskResult::failed(msg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx};
    use serde_json::json;

    #[test]
    fn fails_with_the_message_or_ansibles_default() {
        let r = run(&Fail, json!({"msg": "not the primary"}), &Ctx::default());
        assert!(r.is_failed());
        assert_eq!(r.msg.as_deref(), Some("not the primary"));
        assert_eq!(
            run(&Fail, json!({}), &Ctx::default()).msg.as_deref(),
            Some("Failed as requested from task")
        );
    }
}
