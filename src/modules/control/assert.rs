//! `assert`: every expression in `that` must be true. The expressions are
//! not templated by the executor (`raw_args`); they are conditions, evaluated
//! here with the same helpers as `when:`.
//!
//! Round trips: 0 (controller side).

use serde_json::Value;

use crate::modules::kit::args::ArgReader;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};

pub struct Assert;

static SPEC: ModuleSpec = ModuleSpec {
    name: "assert",
    args: &[
        ArgSpec::required("that"),
        ArgSpec::optional("fail_msg").aliases(&["msg"]),
        ArgSpec::optional("success_msg"),
        ArgSpec::optional("quiet"),
    ],
    free_form: None,
    one_of: &[],
    raw_args: &["that"],
    any_args: false,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for Assert {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let that = r
            .string_list("that")?
            .ok_or_else(|| ModuleError::Args("missing required argument `that`".into()))?;
        if that.is_empty() {
            return Err(ModuleError::Args(
                "`that` is an empty list; give at least one condition".into(),
            ));
        }
        let quiet = r.bool("quiet", false)?;
        for expr in &that {
            let holds = ctx.eval.condition(expr).map_err(|e| {
                ModuleError::Controller(format!("assert: cannot evaluate `{expr}`: {e}"))
            })?;
            if !holds {
                let mut result = TaskResult::failed(
                    r.string("fail_msg")?
                        .unwrap_or_else(|| "Assertion failed".into()),
                );
                result
                    .data
                    .insert("assertion".into(), Value::String(expr.clone()));
                result
                    .data
                    .insert("evaluated_to".into(), Value::Bool(false));
                return Ok(Step::Done(result));
            }
        }
        let mut result = TaskResult::ok();
        if !quiet {
            result.msg = Some(
                r.string("success_msg")?
                    .unwrap_or_else(|| "All assertions passed".into()),
            );
        }
        Ok(Step::Done(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx};
    use serde_json::json;

    #[test]
    fn passes_fails_on_the_first_false_and_reports_which() {
        let ok = run(
            &Assert,
            json!({"that": ["true", "true"], "success_msg": "fine"}),
            &Ctx::default(),
        );
        assert_eq!(
            (ok.status, ok.msg.as_deref()),
            (crate::modules::Status::Ok, Some("fine"))
        );
        let bad = run(
            &Assert,
            json!({"that": ["true", "false"], "fail_msg": "replication is not running"}),
            &Ctx::default(),
        );
        assert!(bad.is_failed());
        assert_eq!(bad.msg.as_deref(), Some("replication is not running"));
        assert_eq!(bad.data["assertion"], "false");
        let single = run(
            &Assert,
            json!({"that": "false", "msg": "via alias"}),
            &Ctx::default(),
        );
        assert_eq!(single.msg.as_deref(), Some("via alias"));
        let quiet = run(
            &Assert,
            json!({"that": "true", "quiet": true}),
            &Ctx::default(),
        );
        assert_eq!(quiet.msg, None);
    }

    #[test]
    fn an_expression_that_cannot_be_evaluated_is_an_error_naming_it() {
        let r = run(&Assert, json!({"that": ["(eq x 1)"]}), &Ctx::default());
        assert!(r.is_failed());
        assert!(r.msg.unwrap().contains("`(eq x 1)`"));
    }
}
