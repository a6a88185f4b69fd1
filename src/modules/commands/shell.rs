//! `shell`: run text through the host's shell (pipes, redirections,
//! variables), or through `executable -c TEXT`.
//!
//! Round trips: 1; 0 under `--check` unless `creates`/`removes` decide (see
//! `command`).

use super::command::{with_inline_options, Program, Run};
use crate::modules::kit::args::ArgReader;
use crate::modules::{ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext};

pub struct Shell;

static SPEC: ModuleSpec = ModuleSpec {
    name: "shell",
    args: &[
        ArgSpec::required("cmd"),
        ArgSpec::optional("chdir"),
        ArgSpec::optional("creates"),
        ArgSpec::optional("removes"),
        ArgSpec::optional("stdin"),
        ArgSpec::optional("stdin_add_newline"),
        ArgSpec::optional("strip_empty_ends"),
        ArgSpec::optional("executable"),
    ],
    free_form: Some("cmd"),
    one_of: &[],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: true,
    source_dir: None,
};

impl Module for Shell {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let args = with_inline_options(args);
        let r = ArgReader::new(&SPEC, &args);
        let text = r.required_string("cmd")?;
        if text.trim().is_empty() {
            return Err(ModuleError::Args("the command is empty".into()));
        }
        let program = Program::Shell {
            text,
            executable: r.path("executable")?,
        };
        Run::from_args(&r, program, "shell", ctx).map(Run::step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn pipes_variables_and_exit_codes_work() {
        let r = run(
            &Shell,
            json!({"cmd": "x=abc; echo $x | tr a-z A-Z; echo warn >&2"}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(r.stdout.as_deref(), Some("ABC"));
        assert_eq!(r.stderr.as_deref(), Some("warn"));
        let r = run(
            &Shell,
            json!({"cmd": "echo partial; exit 4"}),
            &Ctx::default(),
        );
        assert_eq!((r.status, r.rc), (Status::Failed, Some(4)));
        assert_eq!(r.stdout.as_deref(), Some("partial"));
    }

    #[test]
    fn executable_and_stdin_and_check_mode() {
        let r = run(
            &Shell,
            json!({"cmd": "read -r l; echo \"${BASH_VERSION:+bash}:$l\"", "executable": "/bin/bash", "stdin": "in"}),
            &Ctx::default(),
        );
        assert_eq!(r.stdout.as_deref(), Some("bash:in"), "{r:?}");
        let r = run(
            &Shell,
            json!({"cmd": "exit 1"}),
            &Ctx {
                check: true,
                ..Ctx::default()
            },
        );
        assert_eq!(r.status, Status::Skipped);
        let r = run(
            &Shell,
            json!({"cmd": "true", "executable": "/no/shell"}),
            &Ctx::default(),
        );
        assert!(r.msg.unwrap().contains("executable `/no/shell` not found"));
    }

    #[test]
    fn multi_line_scripts_keep_their_lines() {
        let r = run(
            &Shell,
            json!({"cmd": "echo one\necho two chdir=/\npwd"}),
            &Ctx::default(),
        );
        assert_eq!(r.stdout.as_deref(), Some("one\ntwo\n/"), "{r:?}");
    }
}
