//! `set_fact`: set host variables from the (templated) arguments.
//!
//! Round trips: 0 (controller side).

use crate::modules::{Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult};

pub struct SetFact;

static SPEC: ModuleSpec = ModuleSpec {
    name: "set_fact",
    args: &[],
    free_form: None,
    one_of: &[],
    raw_args: &[],
    any_args: true,
    skips_in_check_mode: false,
    source_dir: None,
};

impl Module for SetFact {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, _ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let mut result = TaskResult::ok();
        for (name, value) in args {
            // Facts are never cached between runs; the flag changes nothing.
            if name == "cacheable" {
                continue;
            }
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(ModuleError::Args(format!(
                    "`{name}` is not a valid variable name (letters, digits and _, not starting with a digit)"
                )));
            }
            result.facts.insert(name.clone(), value.clone());
        }
        if result.facts.is_empty() {
            return Err(ModuleError::Args(
                "set_fact needs at least one variable to set".into(),
            ));
        }
        Ok(Step::Done(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use serde_json::json;

    #[test]
    fn sets_facts_and_checks_names() {
        let r = run(
            &SetFact,
            json!({"primary": "node1", "ports": [1, 2], "cacheable": true}),
            &Ctx::default(),
        );
        assert_eq!(r.facts.len(), 2);
        assert_eq!(r.facts["ports"], json!([1, 2]));
        assert!(
            prepare_error(&SetFact, json!({"bad-name": 1})).contains("not a valid variable name")
        );
        assert!(prepare_error(&SetFact, json!({"cacheable": true})).contains("at least one"));
    }
}
