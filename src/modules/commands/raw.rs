//! `raw`: send text to the host's shell as it is. Takes no options besides
//! `executable`; in check mode it is skipped.
//!
//! Round trips: 1; 0 under `--check`.

use super::command::{Program, Run};
use crate::modules::kit::args::ArgReader;
use crate::modules::{ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext};

pub struct Raw;

static SPEC: ModuleSpec = ModuleSpec {
    name: "raw",
    args: &[ArgSpec::required("cmd"), ArgSpec::optional("executable")],
    free_form: Some("cmd"),
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: true,
    source_dir: None,
};

impl Module for Raw {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let r = ArgReader::new(&SPEC, args);
        let text = r.required_string("cmd")?;
        let program = Program::Shell {
            text,
            executable: r.path("executable")?,
        };
        Ok(Run {
            program,
            module: "raw",
            chdir: None,
            creates: None,
            removes: None,
            stdin: None,
            strip_empty_ends: true,
            check: ctx.check_mode,
            nonce: ctx.nonce.to_string(),
        }
        .step())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn runs_text_as_is_and_is_skipped_in_check_mode() {
        let r = run(
            &Raw,
            json!({"cmd": "echo chdir=/tmp; exit 0"}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Changed);
        assert_eq!(r.stdout.as_deref(), Some("chdir=/tmp"));
        let r = run(
            &Raw,
            json!({"cmd": "echo hi"}),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(r.status, Status::Skipped);
        assert_eq!(
            r.msg.as_deref(),
            Some("skipped in check mode: raw cannot predict its effect")
        );
    }
}
