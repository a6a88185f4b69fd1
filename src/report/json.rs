//! JSON lines: one object per event, flushed at once so a pipeline (or a
//! person tailing the file) sees each result as it happens. The schema is
//! documented in docs/json-events.md; keep the two in step.

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::recap::millis;
use super::{Event, HostResult, HostStats, Recap, Reporter, TaskInfo};
use crate::modules::TaskResult;

pub struct JsonReporter {
    state: Mutex<Output>,
}

struct Output {
    out: Box<dyn Write + Send>,
    write_failed: bool,
}

impl JsonReporter {
    pub fn new(writer: Box<dyn Write + Send>) -> JsonReporter {
        JsonReporter {
            state: Mutex::new(Output {
                out: writer,
                write_failed: false,
            }),
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&self, event: &Event) {
        let Some(value) = event_json(event) else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Output { out, write_failed } = &mut *state;
        let result = serde_json::to_writer(&mut *out, &value)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(err) = result {
            if !*write_failed {
                *write_failed = true;
                super::stderr_line(&super::write_error_line("JSON events", &err));
            }
        }
    }

    fn finish(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Output { out, write_failed } = &mut *state;
        if let Err(err) = out.flush() {
            if !*write_failed {
                *write_failed = true;
                super::stderr_line(&super::write_error_line("JSON events", &err));
            }
        }
        !*write_failed
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The JSON object for an event; `None` for events that only drive the
/// live display (HostStart).
pub fn event_json(event: &Event) -> Option<Value> {
    let mut obj = match event {
        Event::PlayStart {
            name,
            hosts,
            strategy,
        } => json!({
            "event": "play_start",
            "name": name,
            "hosts": hosts,
            "strategy": strategy,
        }),
        Event::TaskStart { task, hosts } => json!({
            "event": "task_start",
            "task": task_json(task),
            "hosts": hosts,
        }),
        Event::ConnectStart { play, hosts } => json!({
            "event": "connect_start",
            "play": play,
            "hosts": hosts,
        }),
        Event::HostConnected {
            host,
            target,
            started_at,
            elapsed,
            error,
        } => json!({
            "event": "host_connected",
            "host": host,
            "target": target,
            "ok": error.is_none(),
            "msg": error,
            "started_at": started_at,
            "elapsed_ms": millis(*elapsed),
        }),
        Event::HostStart { .. } => return None,
        Event::HostResult { task, result } => host_result_json(task, result),
        Event::Warning { host, message } => json!({
            "event": "warning",
            "host": host,
            "message": message,
        }),
        Event::Cut {
            task,
            host,
            started_at,
            elapsed,
        } => json!({
            "event": "cut",
            "task": task_json(task),
            "host": host,
            "started_at": started_at,
            "elapsed_ms": millis(*elapsed),
        }),
        Event::Stopped { reason } => json!({
            "event": "stopped",
            "reason": reason,
        }),
        Event::Recap(recap) => recap_json(recap),
    };
    if let Value::Object(map) = &mut obj {
        map.insert("time".into(), json!(now()));
    }
    Some(obj)
}

fn task_json(task: &TaskInfo) -> Value {
    json!({
        "name": task.name,
        "module": task.module,
        "origin": task.origin,
        "is_handler": task.is_handler,
        "play": task.play,
    })
}

fn host_result_json(task: &TaskInfo, r: &HostResult) -> Value {
    json!({
        "event": "host_result",
        "task": task_json(task),
        "host": r.host,
        "outcome": r.outcome,
        "ignored": r.ignored,
        "item": r.item,
        "delegated_to": r.delegated_to,
        "check_mode": r.check_mode,
        "started_at": r.started_at,
        "elapsed_ms": millis(r.elapsed),
        "result": result_json(&r.result),
    })
}

/// Every key is always present (null or empty when unset) so consumers can
/// index without guarding each field.
fn result_json(r: &TaskResult) -> Value {
    let diff: Vec<Value> = r
        .diff
        .iter()
        .map(|d| json!({"path": d.path, "before": d.before, "after": d.after}))
        .collect();
    json!({
        "status": r.status,
        "msg": r.msg,
        "rc": r.rc,
        "stdout": r.stdout,
        "stderr": r.stderr,
        "diff": diff,
        "facts": r.facts,
        "data": r.data,
    })
}

fn stats_json(s: &HostStats) -> Value {
    json!({
        "ok": s.ok,
        "changed": s.changed,
        "unreachable": s.unreachable,
        "failed": s.failed,
        "skipped": s.skipped,
        "rescued": s.rescued,
        "ignored": s.ignored,
    })
}

fn recap_json(recap: &Recap) -> Value {
    let hosts: Map<String, Value> = recap
        .hosts
        .iter()
        .map(|(h, s)| (h.clone(), stats_json(s)))
        .collect();
    let slowest: Vec<Value> = recap
        .slowest
        .iter()
        .map(|t| {
            let mut entry =
                json!({"task": t.task, "origin": t.origin, "elapsed_ms": millis(t.elapsed)});
            if let (Some(host), Some(map)) = (&t.host, entry.as_object_mut()) {
                map.insert("host".into(), json!(host));
            }
            entry
        })
        .collect();
    let c = &recap.connect;
    let connect = json!({
        "elapsed_ms": millis(c.elapsed),
        "hosts": c.hosts,
        "failed": c.failed,
        "slowest": c.slowest.as_ref().map(|(host, d)| json!({"host": host, "elapsed_ms": millis(*d)})),
    });
    json!({
        "event": "recap",
        "hosts": hosts,
        "slowest": slowest,
        "connect": connect,
        "tasks_ms": millis(recap.elapsed.saturating_sub(c.elapsed)),
        "elapsed_ms": millis(recap.elapsed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_start_is_not_written() {
        let task = TaskInfo {
            name: "t".into(),
            module: "ping".into(),
            origin: String::new(),
            is_handler: false,
            play: "p".into(),
        };
        assert!(event_json(&Event::HostStart {
            host: "bc1".into(),
            task
        })
        .is_none());
    }

    #[test]
    fn result_keys_are_present_even_when_empty() {
        let value = result_json(&TaskResult::ok());
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["status", "msg", "rc", "stdout", "stderr", "diff", "facts", "data"]
        );
        assert_eq!(value["status"], "ok");
        assert!(value["msg"].is_null() && value["rc"].is_null());
    }

    #[test]
    fn warning_without_host_has_null_host() {
        let value = event_json(&Event::Warning {
            host: None,
            message: "m".into(),
        })
        .unwrap();
        assert_eq!(value["event"], "warning");
        assert!(value["host"].is_null());
        assert!(value["time"].is_f64());
    }
}
