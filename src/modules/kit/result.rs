//! The outcome of one task on one host: the one status type shared by
//! modules, the executor and the reporters.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Changed,
    Failed,
    Skipped,
    /// The host could not be reached. Set by the executor when the transport
    /// fails; a module never returns it.
    Unreachable,
}

/// A file's content before and after, for `--diff`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub before: String,
    pub after: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct TaskResult {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rc: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<FileDiff>,
    /// Variables this task sets for the host (`set_fact`).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub facts: Map<String, Value>,
    /// The `facts` that were rendered as a list or mapping, as rendered
    /// (template form, parts shared), set by the executor for `set_fact`:
    /// the next loop items and tasks read them without converting the
    /// JSON back, so a fact that grows per item is not copied whole twice
    /// per item. The same values as `facts`; left out of reports.
    #[serde(skip)]
    pub native_facts: std::collections::BTreeMap<String, minijinja::Value>,
    /// Facts about the host (`setup`), named `ansible_*` as Ansible's modules
    /// return them; the executor merges them into the host's facts. Left out
    /// of reports (they describe the host, not what the task did); `register`
    /// keeps them under `ansible_facts`.
    #[serde(skip)]
    pub ansible_facts: Map<String, Value>,
    /// Module-specific return values (e.g. `stat`), merged into the registered value.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
}

impl TaskResult {
    pub fn ok() -> TaskResult {
        TaskResult::default()
    }

    pub fn changed() -> TaskResult {
        TaskResult {
            status: Status::Changed,
            ..TaskResult::default()
        }
    }

    pub fn failed(msg: impl Into<String>) -> TaskResult {
        TaskResult {
            status: Status::Failed,
            msg: Some(msg.into()),
            ..TaskResult::default()
        }
    }

    pub fn skipped(msg: impl Into<String>) -> TaskResult {
        TaskResult {
            status: Status::Skipped,
            msg: Some(msg.into()),
            ..TaskResult::default()
        }
    }

    pub fn with_msg(mut self, msg: impl Into<String>) -> TaskResult {
        self.msg = Some(msg.into());
        self
    }

    pub fn is_failed(&self) -> bool {
        self.status == Status::Failed
    }

    pub fn is_changed(&self) -> bool {
        self.status == Status::Changed
    }

    /// The value `register:` stores, in Ansible's shape.
    pub fn to_registered(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "changed".into(),
            Value::Bool(self.status == Status::Changed),
        );
        m.insert("failed".into(), Value::Bool(self.status == Status::Failed));
        // Ansible sets `skipped` only on a result that was skipped (a task
        // that ran, or a loop item that ran, has no `skipped` key), so
        // `results | rejectattr('skipped', 'defined')` keeps the items that ran.
        if self.status == Status::Skipped {
            m.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), Value::String(msg.clone()));
        }
        if let Some(rc) = self.rc {
            m.insert("rc".into(), Value::from(rc));
        }
        for (key, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = text.clone().unwrap_or_default();
            // Past the budget the lines are not built at all: the
            // executor refuses to register such a result, naming the
            // stream ([`lines_over_limit`]).
            if lines_over_limit(&text).is_none() {
                let lines: Vec<Value> =
                    text.lines().map(|l| Value::String(l.to_string())).collect();
                m.insert(format!("{key}_lines"), Value::Array(lines));
            }
            m.insert(key.into(), Value::String(text));
        }
        for (k, v) in &self.data {
            m.insert(k.clone(), v.clone());
        }
        if !self.facts.is_empty() {
            m.insert("ansible_facts".into(), Value::Object(self.facts.clone()));
        }
        if !self.ansible_facts.is_empty() {
            m.insert(
                "ansible_facts".into(),
                Value::Object(self.ansible_facts.clone()),
            );
        }
        Value::Object(m)
    }
}

/// The most bytes a stream's `stdout_lines`/`stderr_lines` may take, counted
/// by [`lines_cost`]: 16 MiB, the limit on one value
/// (`plan::vars::MAX_VALUE_BYTES`; modules do not import the plan stage, so
/// `tests/value_cap.rs` checks that the two agree).
pub const MAX_LINES_BYTES: usize = 16 << 20;

/// Bytes each line of `stdout_lines` is counted as besides its text: the
/// memory of its slot in the list and of its string (a JSON value is 32
/// bytes, a string's allocation at least 16 more). Counting text alone let
/// 16 MiB of two-byte lines (`yes`) pass as 8 MiB while the 8 million
/// values took about 900 MB.
pub const LINE_SLOT_BYTES: usize = 32;

/// `(lines, cost)` of `text` split into lines, when the cost (its bytes
/// plus [`LINE_SLOT_BYTES`] a line) is over [`MAX_LINES_BYTES`]; `None`
/// when the lines fit. Counted without building them.
pub fn lines_over_limit(text: &str) -> Option<(usize, usize)> {
    let newlines = text.bytes().filter(|&b| b == b'\n').count();
    let lines = newlines + usize::from(!text.is_empty() && !text.ends_with('\n'));
    let cost = text
        .len()
        .saturating_add(lines.saturating_mul(LINE_SLOT_BYTES));
    (cost > MAX_LINES_BYTES).then_some((lines, cost))
}

#[cfg(test)]
mod lines_tests {
    use super::*;

    #[test]
    fn lines_past_the_budget_are_counted_not_built() {
        assert_eq!(lines_over_limit(""), None);
        assert_eq!(lines_over_limit("a\nb"), None);
        // 16 MiB of `y\n`: 8 Mi lines, 8 Mi x 34 bytes
        let yes = "y\n".repeat(MAX_LINES_BYTES / 2);
        assert_eq!(
            lines_over_limit(&yes),
            Some((MAX_LINES_BYTES / 2, MAX_LINES_BYTES / 2 * 34))
        );
        let r = TaskResult {
            stdout: Some(yes),
            stderr: Some("one\ntwo\n".into()),
            ..TaskResult::default()
        };
        let v = r.to_registered();
        assert!(v.get("stdout_lines").is_none(), "not built past the budget");
        assert_eq!(v["stdout"].as_str().map(str::len), Some(MAX_LINES_BYTES));
        assert_eq!(v["stderr_lines"], serde_json::json!(["one", "two"]));
        // a few long lines fit: their text is counted once
        let long = format!("{}\n", "x".repeat(1 << 20)).repeat(8);
        assert_eq!(lines_over_limit(&long), None);
    }
}
