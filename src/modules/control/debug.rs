//! `debug`: show a message or a variable. `var` is a raw argument (a
//! variable path, looked up here); `msg` is templated like any argument.
//!
//! `verbosity` is returned in the result's data (`verbosity`) for the
//! reporter to hide the output below that `-v` level; modules do not know it.
//!
//! Round trips: 0 (controller side).

use serde_json::Value;

use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct Debug;

static SPEC: ModuleSpec = ModuleSpec {
    name: "debug",
    args: &[
        ArgSpec::optional("msg"),
        ArgSpec::optional("var"),
        ArgSpec::optional("verbosity"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &["var"],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Debug {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let verbosity = r.integer("verbosity", 0..=10)?.unwrap_or(0);
        let mut result = TaskResult::ok();
        match (r.value("msg"), r.string("var")?) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Args("give `msg` or `var`, not both".into()))
            }
            (_, Some(var)) => {
                let var = var.trim().to_string();
                let value = if var.contains("{{") {
                    Value::String(
                        ctx.eval
                            .render("debug var", &var)
                            .map_err(|e| ModuleError::Controller(format!("debug: {e}")))?,
                    )
                } else {
                    ctx.eval
                        .lookup(&var)
                        .map_err(|e| ModuleError::Controller(format!("debug: {e}")))?
                        .unwrap_or_else(|| Value::String("VARIABLE IS NOT DEFINED!".into()))
                };
                result.data.insert(var, value);
            }
            (msg, None) => {
                // As ansible-core: "Hello world!" only when `msg` is not
                // given; a `msg` that is or renders to null (`{{ none }}`, a
                // `regex_search` that found nothing) shows `null`.
                let msg = match (msg, args.get("msg")) {
                    (Some(msg), _) => msg.clone(),
                    (None, Some(_)) => Value::Null,
                    (None, None) => Value::String("Hello world!".into()),
                };
                result.msg = Some(match &msg {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                result.data.insert("msg".into(), msg);
            }
        }
        if verbosity > 0 {
            result
                .data
                .insert("verbosity".into(), Value::from(verbosity));
        }
        Ok(Step::Done(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx, TestEval};
    use serde_json::json;

    #[test]
    fn shows_messages_and_variables() {
        let r = run(&Debug, json!({"msg": ["a", 1]}), &Ctx::default());
        assert_eq!(r.msg.as_deref(), Some("[\"a\",1]"));
        assert_eq!(
            run(&Debug, json!({}), &Ctx::default()).msg.as_deref(),
            Some("Hello world!")
        );
        // a null `msg` is shown as null, not as the default greeting
        let r = run(&Debug, json!({"msg": null}), &Ctx::default());
        assert_eq!(r.data["msg"], Value::Null);
        assert_eq!(r.msg.as_deref(), Some("null"));
        let mut vars = serde_json::Map::new();
        vars.insert("hvr".into(), json!({"state": "START"}));
        let ctx = Ctx {
            eval: TestEval { vars },
            ..Ctx::default()
        };
        let r = run(&Debug, json!({"var": "hvr.state", "verbosity": 2}), &ctx);
        assert_eq!(r.data["hvr.state"], "START");
        assert_eq!(r.data["verbosity"], 2);
        let r = run(&Debug, json!({"var": "nope"}), &ctx);
        assert_eq!(r.data["nope"], "VARIABLE IS NOT DEFINED!");
        assert!(prepare_error(&Debug, json!({"msg": "a", "var": "b"})).contains("not both"));
    }
}
