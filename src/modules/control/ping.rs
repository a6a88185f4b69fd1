//! `ping`: proves the host runs a shell for us; answers `pong`.
//!
//! Round trips: 1.

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct Ping;

static SPEC: ModuleSpec = ModuleSpec {
    name: "ping",
    args: &[ArgSpec::optional("data")],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Ping {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let data = ArgReader::new(&SPEC, args)
            .string("data")?
            .unwrap_or_else(|| "pong".into());
        let nonce = ctx.nonce.to_string();
        Ok(Step::Remote {
            script: format!(
                "{}{}_b ping 1\n",
                crate::shell::CONTAINED,
                prelude(ctx.nonce)
            ),
            interpret: Box::new(move |out| {
                let answer = Answer::parse(out, &nonce);
                if !answer.flag("ping") {
                    return Step::Done(answer.unexpected());
                }
                let mut result = TaskResult::ok();
                result.data.insert("ping".into(), Value::String(data));
                Step::Done(result)
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx};
    use serde_json::json;

    #[test]
    fn answers_pong_or_the_given_data() {
        assert_eq!(run(&Ping, json!({}), &Ctx::default()).data["ping"], "pong");
        assert_eq!(
            run(&Ping, json!({"data": "hi"}), &Ctx::default()).data["ping"],
            "hi"
        );
    }
}
