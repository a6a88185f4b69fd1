//! `baton adhoc` output in the shape of `ansible`'s (its `minimal` callback):
//! one block per host as each finishes.
//!
//! - command, shell, raw: `HOST | CHANGED | rc=0 >>` then what the command
//!   wrote (stdout, then stderr, then the message, each when not empty);
//!   `SUCCESS` when nothing changed, `FAILED` when it failed;
//! - any other module: `HOST | SUCCESS => {JSON}` (or `CHANGED`, `FAILED!`),
//!   the result with sorted keys, indented by four as Ansible prints it;
//! - `HOST | UNREACHABLE! => {JSON}` and `HOST | SKIPPED`.
//!
//! Warnings go to stderr; there is no recap, as with `ansible`. Control
//! characters in what commands print are shown escaped (`\x1b`), where
//! `ansible` passes them to the terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

use super::{stderr_line, Event, HostResult, Reporter, TaskInfo};
use crate::modules::{Status, TaskResult};

/// Modules whose output `ansible` prints as text, not JSON (`MODULE_NO_JSON`).
const TEXT_MODULES: [&str; 3] = ["command", "shell", "raw"];

pub struct AdhocReporter {
    out: Mutex<Box<dyn Write + Send>>,
    /// A write failed (said once on stderr); the run then does not exit 0.
    write_failed: std::sync::atomic::AtomicBool,
}

impl AdhocReporter {
    pub fn new(writer: Box<dyn Write + Send>) -> AdhocReporter {
        AdhocReporter {
            out: Mutex::new(writer),
            write_failed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A closed pipe must not stop the run; the exit code still tells.
        // What commands print is shown with its control characters escaped.
        let text = super::controls::escape_controls(text);
        if let Err(err) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            if !self
                .write_failed
                .swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                stderr_line(&super::write_error_line("the output", &err));
            }
        }
    }
}

impl Reporter for AdhocReporter {
    fn event(&self, event: &Event) {
        match event {
            Event::HostResult { task, result } if result.item.is_none() => {
                self.write(&host_block(task, result));
            }
            Event::HostConnected {
                host,
                error: Some(error),
                ..
            } => {
                let result = crate::modules::TaskResult::failed(error.clone());
                self.write(&format!(
                    "{host} | UNREACHABLE! => {}\n",
                    json(&result, true)
                ));
            }
            Event::Warning { host, message } => match host {
                Some(host) => stderr_line(&format!("[WARNING]: {host}: {message}")),
                None => stderr_line(&format!("[WARNING]: {message}")),
            },
            _ => {}
        }
    }

    fn finish(&self) -> bool {
        !self.write_failed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// One host's result as `ansible` prints it, ending with a newline.
pub fn host_block(task: &TaskInfo, result: &HostResult) -> String {
    let host = &result.host;
    let r = &result.result;
    let module = task.module.rsplit('.').next().unwrap_or_default();
    let state = match result.outcome {
        Status::Skipped => return format!("{host} | SKIPPED\n"),
        Status::Unreachable => return format!("{host} | UNREACHABLE! => {}\n", json(r, true)),
        Status::Changed => "CHANGED",
        Status::Ok => "SUCCESS",
        Status::Failed => "FAILED",
    };
    if TEXT_MODULES.contains(&module) && r.rc.is_some() {
        let mut text = format!("{host} | {state} | rc={} >>\n", r.rc.unwrap_or(-1));
        let parts = [r.stdout.as_deref(), r.stderr.as_deref(), r.msg.as_deref()];
        for part in parts.into_iter().flatten() {
            let part = part.trim_end_matches('\n');
            if !part.is_empty() {
                text.push_str(part);
                text.push('\n');
            }
        }
        return text;
    }
    let marker = if result.outcome == Status::Failed {
        "FAILED!"
    } else {
        state
    };
    format!("{host} | {marker} => {}\n", json(r, false))
}

/// The result as Ansible's JSON: `changed`, the module's data, `msg`, `rc`,
/// output; keys sorted, four-space indent.
fn json(r: &TaskResult, unreachable: bool) -> String {
    let mut map: BTreeMap<String, Value> = BTreeMap::new();
    map.insert("changed".into(), Value::Bool(r.status == Status::Changed));
    if let Some(msg) = &r.msg {
        map.insert("msg".into(), Value::String(msg.clone()));
    }
    if let Some(rc) = r.rc {
        map.insert("rc".into(), Value::from(rc));
    }
    for (key, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        if let Some(text) = text {
            map.insert(key.into(), Value::String(text.clone()));
            let lines = text.lines().map(|l| Value::String(l.into())).collect();
            map.insert(format!("{key}_lines"), Value::Array(lines));
        }
    }
    for (k, v) in &r.data {
        map.insert(k.clone(), v.clone());
    }
    // `setup` returns its facts as `ansible_facts` (`ansible -m setup`).
    if !r.ansible_facts.is_empty() {
        map.insert(
            "ansible_facts".into(),
            Value::Object(r.ansible_facts.clone()),
        );
    } else if !r.facts.is_empty() {
        map.insert("ansible_facts".into(), Value::Object(r.facts.clone()));
    }
    if unreachable {
        map.insert("unreachable".into(), Value::Bool(true));
    }
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    match map.serialize(&mut ser) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(e) => format!("{{\"msg\": \"cannot show the result: {e}\"}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn block(module: &str, result: TaskResult) -> String {
        let task = TaskInfo {
            name: "t".into(),
            module: module.into(),
            origin: "x:1:1".into(),
            is_handler: false,
            play: "p".into(),
        };
        let host = HostResult {
            host: "bc1".into(),
            outcome: result.status,
            ignored: false,
            item: None,
            delegated_to: None,
            result,
            elapsed: Duration::ZERO,
            started_at: 0.0,
            check_mode: false,
        };
        host_block(&task, &host)
    }

    #[test]
    fn commands_print_their_output_other_modules_json() {
        let ran = TaskResult {
            rc: Some(0),
            stdout: Some("hello\n".into()),
            stderr: Some(String::new()),
            ..TaskResult::changed()
        };
        assert_eq!(
            block("ansible.builtin.shell", ran),
            "bc1 | CHANGED | rc=0 >>\nhello\n"
        );
        let mut ping = TaskResult::ok();
        ping.data
            .insert("ping".into(), Value::String("pong".into()));
        assert_eq!(
            block("ping", ping),
            "bc1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
        );
        assert!(block("fail", TaskResult::failed("no")).starts_with("bc1 | FAILED! => {"));
        assert_eq!(
            block("command", TaskResult::skipped("check")),
            "bc1 | SKIPPED\n"
        );
    }
}
