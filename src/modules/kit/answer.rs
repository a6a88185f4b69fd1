//! The shared shape of a module script's answer.
//!
//! Scripts print marker lines through the `_b KEY VALUE` shell function (the
//! `shell::markers` format), blocks of raw lines between `_b begin KEY` and
//! `_b end KEY`, and stop early with `_fail CODE` after the failing command
//! has written its own complaint to stderr. The controller turns codes into
//! messages, so nothing user-controlled has to survive a round trip through a
//! marker line.

use base64::Engine;

use crate::modules::TaskResult;
use crate::shell;
use crate::transport::ExecOutput;

/// Shell functions every module script starts with.
pub(crate) fn prelude(nonce: &str) -> String {
    format!(
        "_b() {{ printf '__baton_%s %s %s\\n' {n} \"$1\" \"$2\"; }}\n\
         _fail() {{ _b fail \"$1\"; exit 0; }}\n",
        n = shell::quote(nonce)
    )
}

#[derive(Debug, Default)]
pub(crate) struct Answer {
    values: Vec<(String, String)>,
    blocks: Vec<(String, String)>,
    pub code: Option<i32>,
    pub stderr: String,
}

impl Answer {
    pub fn parse(out: &ExecOutput, nonce: &str) -> Answer {
        let prefix = format!("__baton_{nonce} ");
        let mut answer = Answer {
            code: out.code,
            stderr: out.stderr.clone(),
            ..Answer::default()
        };
        let mut open: Option<(String, String)> = None;
        for line in out.stdout.lines() {
            let marker = line.strip_prefix(prefix.as_str());
            match (&mut open, marker) {
                (Some((key, text)), Some(rest)) => {
                    if rest.strip_prefix("end ") == Some(key.as_str()) {
                        let (key, text) = (std::mem::take(key), std::mem::take(text));
                        answer.blocks.push((key, text));
                        open = None;
                    }
                }
                (Some((_, text)), None) => {
                    text.push_str(line);
                    text.push('\n');
                }
                (None, Some(rest)) => {
                    let (key, value) = rest.split_once(' ').unwrap_or((rest, ""));
                    if key == "begin" {
                        open = Some((value.to_string(), String::new()));
                    } else {
                        answer.values.push((key.to_string(), value.to_string()));
                    }
                }
                (None, None) => {}
            }
        }
        answer
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every marker line's (key, value), in order; a key may repeat.
    pub fn values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A `1`/`0` marker; absent counts as false.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("1")
    }

    /// A block's raw text (lines joined with `\n`, each line terminated).
    pub fn block(&self, key: &str) -> Option<&str> {
        self.blocks
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A block holding `base64` output, decoded.
    pub fn block_bytes(&self, key: &str) -> Option<Vec<u8>> {
        let text: String = self.block(key)?.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    }

    /// The `_fail` code, when the script stopped early.
    pub fn failure(&self) -> Option<&str> {
        self.get("fail")
    }

    /// stderr, trimmed, for the end of a failure message.
    pub fn stderr_text(&self) -> String {
        self.stderr.trim().to_string()
    }

    /// `msg: <stderr>` or just `msg` when the host said nothing.
    pub fn failed_with(&self, msg: impl Into<String>) -> TaskResult {
        let msg = msg.into();
        let err = self.stderr_text();
        let mut result = if err.is_empty() {
            TaskResult::failed(msg)
        } else {
            TaskResult::failed(format!("{msg}: {err}"))
        };
        if !self.stderr.is_empty() {
            result.stderr = Some(self.stderr.clone());
        }
        result
    }

    /// The script ended without the marker that says it finished.
    pub fn unexpected(&self) -> TaskResult {
        let code = match self.code {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        };
        self.failed_with(format!("the module script stopped unexpectedly ({code})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stdout: &str) -> ExecOutput {
        ExecOutput {
            code: Some(0),
            stdout: stdout.into(),
            stderr: "oops\n".into(),
        }
    }

    #[test]
    fn reads_values_and_blocks_with_the_nonce_only() {
        let a = Answer::parse(
            &out("__baton_n1 exists 1\nnoise\n__baton_n1 begin content\naGVsbG8=\n__baton_n2 end content\n__baton_n1 end content\n__baton_n0 fail forged\n"),
            "n1",
        );
        assert!(a.flag("exists"));
        assert_eq!(
            a.block("content"),
            Some("aGVsbG8=\n__baton_n2 end content\n")
        );
        assert_eq!(a.failure(), None);
        let a = Answer::parse(
            &out("__baton_n1 begin c\naGVs\nbG8=\n__baton_n1 end c\n"),
            "n1",
        );
        assert_eq!(a.block_bytes("c").as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn the_prelude_prints_markers_a_real_shell_understands() {
        let script = format!("{}_b mode 644\n_fail chmod\necho never\n", prelude("abc"));
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let a = Answer::parse(
            &ExecOutput {
                code: output.status.code(),
                stdout: String::from_utf8_lossy(&output.stdout).into(),
                stderr: String::new(),
            },
            "abc",
        );
        assert_eq!(a.get("mode"), Some("644"));
        assert_eq!(a.failure(), Some("chmod"));
        assert!(!String::from_utf8_lossy(&output.stdout).contains("never"));
    }

    #[test]
    fn failures_carry_the_hosts_complaint() {
        let a = Answer::parse(&out(""), "n");
        let r = a.failed_with("cannot write /x");
        assert_eq!(r.msg.as_deref(), Some("cannot write /x: oops"));
        assert!(a.unexpected().msg.unwrap().contains("exit status 0"));
    }
}
