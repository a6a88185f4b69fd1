//! `command`: run a program with arguments, no shell. Also the runner behind
//! `shell` and `raw`.
//!
//! The script checks `chdir`, `creates` and `removes`, prints one marker line
//! and then `exec`s the program as its last act, so the program's output and
//! exit status are the script's own: nothing to separate, nothing to lose.
//!
//! Round trips: 1; 0 under `--check` (skipped on the controller) unless
//! `creates`/`removes` decide, which takes 1: as in Ansible, the command is
//! then "changed" when it would run and "ok" when they say it would not.

use std::time::Instant;

use serde_json::Value;

use crate::modules::kit::answer::{prelude, Answer};
use crate::modules::kit::args::ArgReader;
use crate::modules::kit::fileops;
use crate::modules::{
    ArgSpec, Args, Module, ModuleError, ModuleSpec, Step, TaskContext, TaskResult,
};
use crate::shell;
use crate::transport::ExecOutput;

pub struct Command;

static SPEC: ModuleSpec = ModuleSpec {
    name: "command",
    args: &[
        ArgSpec::optional("cmd"),
        ArgSpec::optional("argv"),
        ArgSpec::optional("chdir"),
        ArgSpec::optional("creates"),
        ArgSpec::optional("removes"),
        ArgSpec::optional("stdin"),
        ArgSpec::optional("stdin_add_newline"),
        ArgSpec::optional("strip_empty_ends"),
    ],
    free_form: Some("cmd"),
    one_of: &[&["cmd", "argv"]],
    raw_args: &[],
    any_args: false,
    skips_in_check_mode: true,
    source_dir: None,
};

/// The most any Linux host lets `execve` take in arguments and environment
/// together: a quarter of the stack limit, never more than 3/4 of 8 MiB
/// (fs/exec.c). A longer command can only fail with E2BIG, and splitting it
/// first would cost far more memory than its text (a 14 MB line of short
/// words took 1.6 GB).
const MAX_ARGV_BYTES: usize = 6 * 1024 * 1024;

impl Module for Command {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn prepare(&self, args: &Args, ctx: &TaskContext<'_>) -> Result<Step, ModuleError> {
        let args = with_inline_options(args);
        let r = ArgReader::new(&SPEC, &args);
        let (cmd, list) = (r.string("cmd")?, r.string_list("argv")?);
        let size = cmd.as_ref().map_or(0, String::len)
            + list.iter().flatten().map(|a| a.len() + 1).sum::<usize>();
        if size > MAX_ARGV_BYTES {
            return Err(ModuleError::Args(format!(
                "the command is {:.1} MiB: Linux starts a program with at most 6 MiB of arguments and environment together (a quarter of the stack limit, `ulimit -s`: 2 MiB by default; execve(2)); pass the data through a file (`copy` with `content`) or stdin (`stdin`)",
                size as f64 / (1024.0 * 1024.0)
            )));
        }
        let argv = match (cmd, list) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Args(
                    "give either `cmd` (or free-form text) or `argv`, not both".into(),
                ))
            }
            (Some(cmd), None) => shlex::split(&cmd).ok_or_else(|| {
                ModuleError::Args(format!(
                    "cmd: unbalanced quote or trailing backslash in `{cmd}`"
                ))
            })?,
            (None, Some(argv)) => argv,
            (None, None) => {
                return Err(ModuleError::Args(
                    "no command given: use free-form text, `cmd` or `argv`".into(),
                ))
            }
        };
        if argv.is_empty() || argv[0].is_empty() {
            return Err(ModuleError::Args("the command is empty".into()));
        }
        Run::from_args(&r, Program::Argv(argv), "command", ctx).map(Run::step)
    }
}

/// What to run.
pub(crate) enum Program {
    /// A program and its arguments, found on PATH; no shell involved.
    Argv(Vec<String>),
    /// Shell text; by the script's own shell, or `executable -c TEXT`.
    Shell {
        text: String,
        executable: Option<String>,
    },
}

pub(crate) struct Run {
    pub program: Program,
    pub module: &'static str,
    pub chdir: Option<String>,
    pub creates: Option<String>,
    pub removes: Option<String>,
    pub stdin: Option<Vec<u8>>,
    pub strip_empty_ends: bool,
    pub check: bool,
    pub nonce: String,
}

impl Run {
    /// The options `command` and `shell` share.
    pub fn from_args(
        r: &ArgReader<'_>,
        program: Program,
        module: &'static str,
        ctx: &TaskContext<'_>,
    ) -> Result<Run, ModuleError> {
        let stdin = match r.string("stdin")? {
            Some(mut s) => {
                if r.bool("stdin_add_newline", true)? {
                    s.push('\n');
                }
                Some(s.into_bytes())
            }
            None => None,
        };
        Ok(Run {
            program,
            module,
            chdir: r.path("chdir")?,
            creates: r.path("creates")?,
            removes: r.path("removes")?,
            stdin,
            strip_empty_ends: r.bool("strip_empty_ends", true)?,
            check: ctx.check_mode,
            nonce: ctx.nonce.to_string(),
        })
    }

    pub fn step(self) -> Step {
        if self.check && self.creates.is_none() && self.removes.is_none() {
            return Step::Done(self.check_mode_skip());
        }
        let script = self.script();
        let started = Instant::now();
        Step::Remote {
            script,
            interpret: Box::new(move |out| Step::Done(self.interpret(out, started))),
        }
    }

    fn check_mode_skip(&self) -> TaskResult {
        let what = match self.module {
            "raw" => "raw cannot predict its effect",
            _ => "command/shell cannot predict their effect",
        };
        if self.module == "raw" {
            let mut result = TaskResult::skipped(format!("skipped in check mode: {what}"));
            for key in ["rc", "start", "end", "delta"] {
                result.data.insert(key.into(), Value::Null);
            }
            return result;
        }
        // ansible-core 2.19's command module, skipping in check mode,
        // registers `rc: 0`, its `cmd`, empty output, null times and this
        // exact msg (checked against ansible-playbook --check), so roles that
        // test `r.rc == 0` after a skipped probe behave as under Ansible.
        let mut result = TaskResult {
            rc: Some(0),
            stdout: Some(String::new()),
            stderr: Some(String::new()),
            ..TaskResult::skipped("Command would have run if not in check mode")
        };
        result.data.insert("cmd".into(), self.cmd_value());
        for key in ["start", "end", "delta"] {
            result.data.insert(key.into(), Value::Null);
        }
        result
    }

    /// `cmd` as Ansible registers it: the argv list for `command`, the text
    /// for `shell`.
    fn cmd_value(&self) -> Value {
        match &self.program {
            Program::Argv(argv) => Value::from(argv.clone()),
            Program::Shell { text, .. } => Value::String(text.clone()),
        }
    }

    fn script(&self) -> String {
        let mut s = prelude(&self.nonce);
        if let Some(dir) = &self.chdir {
            s.push_str(&format!("cd -- {} || _fail chdir\n", shell::quote(dir)));
        }
        if let Some(pattern) = &self.creates {
            s.push_str(&format!(
                "for _f in {}; do if [ -e \"$_f\" ] || [ -L \"$_f\" ]; then _b skip creates; exit 0; fi; done\n",
                glob_word(pattern)
            ));
        }
        if let Some(pattern) = &self.removes {
            s.push_str(&format!(
                "_f=0; for _g in {}; do if [ -e \"$_g\" ] || [ -L \"$_g\" ]; then _f=1; fi; done; [ \"$_f\" = 1 ] || {{ _b skip removes; exit 0; }}\n",
                glob_word(pattern)
            ));
        }
        if self.check {
            s.push_str("_b skip check\nexit 0\n");
            return s;
        }
        let run = match &self.program {
            Program::Argv(argv) => {
                let words: Vec<String> = argv.iter().map(|w| shell::quote(w)).collect();
                s.push_str(&format!(
                    "command -v {} >/dev/null 2>&1 || _fail notfound\n",
                    words[0]
                ));
                format!("exec {}", words.join(" "))
            }
            Program::Shell {
                text,
                executable: Some(exe),
            } => {
                s.push_str(&format!(
                    "command -v {} >/dev/null 2>&1 || _fail noexecutable\n",
                    shell::quote(exe)
                ));
                format!("exec {} -c {}", shell::quote(exe), shell::quote(text))
            }
            Program::Shell {
                text,
                executable: None,
            } => format!("eval {}", shell::quote(text)),
        };
        s.push_str("_b run 1\n");
        match &self.stdin {
            Some(data) => {
                let words = fileops::payload_words(data);
                let (enc, payload) = words.split_at(1);
                let feed = if enc == "t" {
                    format!("printf '%s'{payload}")
                } else {
                    format!("printf '%s'{payload} | base64 -d")
                };
                s.push_str(&format!("{feed} | {{ {run}; }}\n"));
            }
            None => s.push_str(&format!("{run} </dev/null\n")),
        }
        s
    }

    fn interpret(&self, out: &ExecOutput, started: Instant) -> TaskResult {
        let answer = Answer::parse(out, &self.nonce);
        let cmd = self.cmd_value();
        let skip = answer.get("skip");
        let mut result = match skip {
            Some(why) => self.skipped_by(why, &answer),
            None => match answer.failure() {
                Some(code) => self.failure(code, &answer),
                None => self.ran(out),
            },
        };
        result.data.insert("cmd".into(), cmd);
        if skip.is_some() {
            // Nothing ran: Ansible registers null times (as in check mode).
            for key in ["start", "end", "delta"] {
                result.data.insert(key.into(), Value::Null);
            }
        } else {
            result.data.insert(
                "delta".into(),
                Value::String(format_delta(started.elapsed())),
            );
        }
        result
    }

    fn skipped_by(&self, why: &str, answer: &Answer) -> TaskResult {
        let verb = if self.check { "Would" } else { "Did" };
        let (msg, stdout) = match why {
            "creates" => {
                let c = self.creates.as_deref().unwrap_or_default();
                (
                    format!("{verb} not run command since '{c}' exists"),
                    format!("skipped, since {c} exists"),
                )
            }
            "removes" => {
                let r = self.removes.as_deref().unwrap_or_default();
                (
                    format!("{verb} not run command since '{r}' does not exist"),
                    format!("skipped, since {r} does not exist"),
                )
            }
            // Ansible's rule: in check mode, `creates`/`removes` that let the
            // command run make it "changed" (it would run); with neither, it
            // is skipped.
            "check" if self.creates.is_some() || self.removes.is_some() => {
                return TaskResult {
                    rc: Some(0),
                    stdout: Some(String::new()),
                    stderr: Some(String::new()),
                    ..TaskResult::changed().with_msg("Command would have run if not in check mode")
                };
            }
            "check" => return self.check_mode_skip(),
            _ => return answer.unexpected(),
        };
        TaskResult {
            rc: Some(0),
            stdout: Some(stdout),
            stderr: Some(String::new()),
            ..TaskResult::ok().with_msg(msg)
        }
    }

    fn failure(&self, code: &str, answer: &Answer) -> TaskResult {
        let mut result = match code {
            "chdir" => answer.failed_with(format!(
                "cannot change directory to {} before running the command",
                self.chdir.as_deref().unwrap_or_default()
            )),
            "notfound" => {
                let name = match &self.program {
                    Program::Argv(argv) => argv[0].as_str(),
                    Program::Shell { .. } => "",
                };
                TaskResult::failed(format!(
                    "command not found on the host: `{name}` (not installed, or not on PATH)"
                ))
            }
            "noexecutable" => {
                let exe = match &self.program {
                    Program::Shell { executable, .. } => executable.as_deref().unwrap_or_default(),
                    Program::Argv(_) => "",
                };
                TaskResult::failed(format!("executable `{exe}` not found on the host"))
            }
            _ => answer.unexpected(),
        };
        if code == "notfound" || code == "noexecutable" {
            result.rc = Some(127);
        }
        result
    }

    fn ran(&self, out: &ExecOutput) -> TaskResult {
        let marker = format!("__baton_{} run 1\n", self.nonce);
        let Some(at) = out.stdout.find(&marker) else {
            return Answer::parse(out, &self.nonce).unexpected();
        };
        let mut stdout = out.stdout[at + marker.len()..].to_string();
        let mut stderr = out.stderr.clone();
        if self.strip_empty_ends {
            stdout.truncate(stdout.trim_end_matches(['\r', '\n']).len());
            stderr.truncate(stderr.trim_end_matches(['\r', '\n']).len());
        }
        let mut result = match out.code {
            Some(0) => TaskResult::changed(),
            Some(_) => TaskResult::failed("non-zero return code"),
            None => TaskResult::failed("the command was killed by a signal"),
        };
        result.rc = Some(out.code.unwrap_or(-1));
        if result.is_failed() {
            // The command ran: Ansible reports `changed: true` with the failure.
            result.data.insert("changed".into(), Value::Bool(true));
        }
        result.stdout = Some(stdout);
        result.stderr = Some(stderr);
        result
    }
}

/// `creates`/`removes` are glob patterns (as in Ansible): the glob characters
/// stay live, everything else is quoted.
fn glob_word(pattern: &str) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    for c in pattern.chars() {
        if matches!(c, '*' | '?' | '[' | ']') {
            if !literal.is_empty() {
                out.push_str(&shell::quote(&literal));
                literal.clear();
            }
            out.push(c);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() || out.is_empty() {
        out.push_str(&shell::quote(&literal));
    }
    out
}

/// Ansible's `delta` format: `H:MM:SS.ffffff`.
fn format_delta(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        d.subsec_micros()
    )
}

/// Options Ansible accepts inside free-form text (`command: make chdir=/src`).
const INLINE_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// Move `key=value` options out of the free-form `cmd` text, as Ansible does
/// for command and shell. Only unquoted words naming a known option move; an
/// option also given as a real argument keeps the real argument. The rest of
/// the text stays byte for byte.
pub(crate) fn with_inline_options(args: &Args) -> Args {
    let mut args = args.clone();
    let Some(Value::String(text)) = args.get("cmd").cloned() else {
        return args;
    };
    let mut kept = String::new();
    let mut last = 0;
    for (start, end) in word_spans(&text) {
        let word = &text[start..end];
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        if !INLINE_OPTIONS.contains(&key) {
            continue;
        }
        let value = match shlex::split(value) {
            Some(words) if words.len() == 1 => words[0].clone(),
            Some(words) if words.is_empty() => String::new(),
            _ => continue,
        };
        kept.push_str(text[last..start].trim_end_matches([' ', '\t']));
        last = end;
        args.entry(key.to_string()).or_insert(Value::String(value));
    }
    if last == 0 {
        return args;
    }
    kept.push_str(&text[last..]);
    args.insert("cmd".into(), Value::String(kept.trim().to_string()));
    args
}

/// Byte spans of whitespace-separated words, quotes respected.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') if quote != Some('\'') => {
                escaped = true;
                start.get_or_insert(i);
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    spans.push((s, i));
                }
            }
            (None, c) => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::testutil::{prepare_error, run, Ctx};
    use crate::modules::Status;
    use serde_json::json;

    #[test]
    fn runs_argv_without_a_shell_and_reports_output() {
        let r = run(
            &Command,
            json!({"cmd": "printf '%s|%s' 'a b' $HOME"}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Changed, "{r:?}");
        assert_eq!(r.stdout.as_deref(), Some("a b|$HOME"));
        assert_eq!(r.rc, Some(0));
        assert_eq!(r.data["cmd"], json!(["printf", "%s|%s", "a b", "$HOME"]));
    }

    #[test]
    fn output_without_a_final_newline_and_stderr_are_kept_apart() {
        let r = run(
            &Command,
            json!({"argv": ["sh", "-c", "printf out; printf err >&2; exit 3"]}),
            &Ctx::default(),
        );
        assert!(r.is_failed());
        assert_eq!(r.msg.as_deref(), Some("non-zero return code"));
        assert_eq!(
            (r.rc, r.stdout.as_deref(), r.stderr.as_deref()),
            (Some(3), Some("out"), Some("err"))
        );
    }

    #[test]
    fn creates_and_removes_decide_with_globs_relative_to_chdir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("done.flag"), "").unwrap();
        let r = run(
            &Command,
            json!({"cmd": "false", "chdir": dir.path(), "creates": "*.flag"}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(
            r.msg.as_deref(),
            Some("Did not run command since '*.flag' exists")
        );
        let r = run(
            &Command,
            json!({"cmd": "true", "chdir": dir.path(), "removes": "*.nothing"}),
            &Ctx::default(),
        );
        assert_eq!(r.status, Status::Ok);
        let r = run(
            &Command,
            json!({"cmd": "pwd", "chdir": dir.path(), "removes": "done.flag"}),
            &Ctx::default(),
        );
        assert_eq!(r.stdout.as_deref(), Some(dir.path().to_str().unwrap()));
    }

    #[test]
    fn check_mode_skips_and_says_why_unless_creates_already_decides() {
        let ctx = Ctx {
            check: true,
            ..Ctx::default()
        };
        let r = run(&Command, json!({"cmd": "touch /should/not/run"}), &ctx);
        assert_eq!(r.status, Status::Skipped);
        assert_eq!(
            r.msg.as_deref(),
            Some("Command would have run if not in check mode")
        );
        // Registered as ansible-core 2.19 does: rc 0, cmd, empty output,
        // null times.
        let registered = r.to_registered();
        assert_eq!(registered["rc"], json!(0));
        assert_eq!(registered["cmd"], json!(["touch", "/should/not/run"]));
        assert_eq!(registered["stdout"], json!(""));
        assert_eq!(registered["stdout_lines"], json!([]));
        assert_eq!(registered.get("delta"), Some(&Value::Null));
        assert_eq!(registered["skipped"], json!(true));
        let r = run(&Command, json!({"cmd": "false", "creates": "/"}), &ctx);
        assert_eq!(r.status, Status::Ok);
        assert!(r.msg.unwrap().starts_with("Would not run"));
    }

    #[test]
    fn stdin_reaches_the_program() {
        let r = run(
            &Command,
            json!({"cmd": "cat", "stdin": "it's\nhere"}),
            &Ctx::default(),
        );
        assert_eq!(r.stdout.as_deref(), Some("it's\nhere"));
        let r = run(
            &Command,
            json!({"cmd": "od -An -c", "stdin": "x", "stdin_add_newline": false}),
            &Ctx::default(),
        );
        assert_eq!(r.stdout.as_deref().map(str::trim), Some("x"));
    }

    #[test]
    fn a_missing_program_and_a_bad_chdir_say_so() {
        let r = run(
            &Command,
            json!({"cmd": "no-such-program-xyz --help"}),
            &Ctx::default(),
        );
        assert!(r
            .msg
            .unwrap()
            .contains("command not found on the host: `no-such-program-xyz`"));
        let r = run(
            &Command,
            json!({"cmd": "true", "chdir": "/no/such/dir"}),
            &Ctx::default(),
        );
        assert!(r
            .msg
            .unwrap()
            .contains("cannot change directory to /no/such/dir"));
    }

    #[test]
    fn free_form_options_move_out_of_the_text() {
        let args = json!({"cmd": "make  install chdir=/src 'creates=/quoted' creates=\"/a b\""});
        let moved = with_inline_options(args.as_object().unwrap());
        assert_eq!(moved["cmd"], "make  install 'creates=/quoted'");
        assert_eq!(moved["chdir"], "/src");
        assert_eq!(moved["creates"], "/a b");
        let untouched = json!({"cmd": "echo a=b", "chdir": "/x"});
        assert_eq!(
            &with_inline_options(untouched.as_object().unwrap()),
            untouched.as_object().unwrap()
        );
    }

    #[test]
    fn bad_quoting_is_an_argument_error() {
        assert!(prepare_error(&Command, json!({"cmd": "echo 'oops"})).contains("unbalanced quote"));
        assert!(prepare_error(&Command, json!({"cmd": "a", "argv": ["b"]})).contains("not both"));
    }

    #[test]
    fn output_after_the_run_marker_is_the_programs_own() {
        let run = Run {
            program: Program::Argv(vec!["x".into()]),
            module: "command",
            chdir: None,
            creates: None,
            removes: None,
            stdin: None,
            strip_empty_ends: false,
            check: false,
            nonce: "n".into(),
        };
        let script = run.script();
        assert!(
            script.ends_with("_b run 1\nexec x </dev/null\n"),
            "{script}"
        );
        let out = ExecOutput {
            code: Some(1),
            stdout: "__baton_n run 1\n__baton_forged run 1\nno newline".into(),
            stderr: "e\n".into(),
        };
        let r = run.interpret(&out, Instant::now());
        assert_eq!(
            r.stdout.as_deref(),
            Some("__baton_forged run 1\nno newline")
        );
        assert_eq!(
            (r.status, r.rc, r.stderr.as_deref()),
            (Status::Failed, Some(1), Some("e\n"))
        );
        let killed = ExecOutput {
            code: None,
            stdout: "__baton_n run 1\n".into(),
            stderr: String::new(),
        };
        assert!(run
            .interpret(&killed, Instant::now())
            .msg
            .unwrap()
            .contains("killed by a signal"));
    }

    #[test]
    fn glob_words_quote_everything_but_glob_characters() {
        assert_eq!(glob_word("/var/run/*.pid"), "/var/run/*.pid");
        assert_eq!(glob_word("/a b/*"), "'/a b/'*");
        assert_eq!(glob_word("$(x)"), "'$(x)'");
    }
}
