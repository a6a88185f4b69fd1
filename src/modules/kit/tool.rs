//! Running a host's own tools (useradd, apt-get, pip) from a module script:
//! a missing tool is named, and a tool that fails is quoted (its exit status
//! and what it printed), never guessed at.
//!
//! Script side: [`require`] fails with the code `notool` (and a `tool`
//! marker) when a command is missing; [`run`] runs one command line, prints
//! its exit status (`KEY_rc`) and output (block `KEY`), and fails with the
//! code `KEY` when the status is not 0. Controller side: [`failure`] turns
//! those codes into a failed result.

use crate::modules::kit::answer::Answer;
use crate::modules::TaskResult;
use crate::shell;

/// Script lines failing with `notool` when `tool` is not on the PATH.
pub(crate) fn require(tool: &str) -> String {
    let q = shell::quote(tool);
    format!("command -v {q} >/dev/null 2>&1 || {{ _b tool {q}; _fail notool; }}\n")
}

/// Each word quoted, joined into one command line.
pub(crate) fn command_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell::quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Script lines running `command` (shell text whose values are already
/// quoted) with its output captured: `KEY_rc` and block `KEY`; `_fail KEY`
/// when the exit status is not 0. `key` is a marker-safe word (no spaces).
pub(crate) fn run(key: &str, command: &str) -> String {
    format!(
        "_o=$({command} 2>&1); _rc=$?\n_b {key}_rc \"$_rc\"\n_b begin {key}; printf '%s\\n' \"$_o\"; _b end {key}\n[ \"$_rc\" = 0 ] || _fail {key}\n"
    )
}

/// The exit status and output of a command [`run`] ran under `key`.
pub(crate) fn output(answer: &Answer, key: &str) -> Option<(i32, String)> {
    let rc = answer.get(&format!("{key}_rc"))?.parse().ok()?;
    let out = answer.block(key)?.trim_end().to_string();
    Some((rc, out))
}

/// A failed result for the codes of [`require`] and [`run`]; `None` for
/// other codes (the module's own) and when the script did not fail.
pub(crate) fn failure(answer: &Answer) -> Option<TaskResult> {
    let code = answer.failure()?;
    if code == "notool" {
        let tool = answer.get("tool").unwrap_or("a required command");
        return Some(TaskResult::failed(format!("{tool} not found on host")));
    }
    let (rc, out) = output(answer, code)?;
    let mut result = TaskResult::failed(if out.is_empty() {
        format!("{code} failed (exit status {rc}) and printed nothing")
    } else {
        format!("{code} failed (exit status {rc}): {out}")
    });
    result.rc = Some(rc);
    result.stdout = Some(out);
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::kit::answer::prelude;
    use crate::modules::kit::testutil::run_script;

    #[test]
    fn missing_tools_are_named_and_failures_quoted() {
        let s = format!("{}{}", prelude("t"), require("baton-no-such-tool"));
        let a = Answer::parse(&run_script(&s, &[]), "t");
        assert_eq!(
            failure(&a).unwrap().msg.as_deref(),
            Some("baton-no-such-tool not found on host")
        );
        let s = format!(
            "{}{}_b done 1\n",
            prelude("t"),
            run("ls", &command_line(&["ls", "/no/such dir"]))
        );
        let a = Answer::parse(&run_script(&s, &[]), "t");
        let r = failure(&a).unwrap();
        assert_eq!(r.rc, Some(2));
        assert!(r
            .msg
            .unwrap()
            .contains("ls failed (exit status 2): ls: cannot access '/no/such dir'"));
        assert_eq!(a.get("done"), None);
        let s = format!("{}{}_b done 1\n", prelude("t"), run("echo", "echo hi"));
        let a = Answer::parse(&run_script(&s, &[]), "t");
        assert!(failure(&a).is_none());
        assert_eq!(output(&a, "echo"), Some((0, "hi".to_string())));
    }
}
