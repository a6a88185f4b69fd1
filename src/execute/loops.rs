//! `loop:` (and `with_items`, `with_list`) on one host: each item with its
//! `loop_var`, `index_var`, `ansible_loop` and label, then the aggregate
//! result and the registered `results`, in Ansible's shape.

use serde_json::{json, Value};

use crate::error::InputError;
use crate::load::task::Task;
use crate::modules::{Status, TaskResult};
use crate::plan::context::Context;
use crate::yaml::Node;

use super::host_task::{run_once, within_limit, Failure, HostJob, HostOutcome, TaskShared};

pub(super) async fn run_loop(
    shared: &TaskShared<'_>,
    task: &Task,
    job: &HostJob,
    check_mode: bool,
    out: &mut HostOutcome,
) -> Result<(), Failure> {
    let Some(loop_node) = &task.loop_items else {
        let result = run_once(shared, task, job, &job.vars, check_mode).await?;
        out.outcome = result.status;
        out.facts.clone_from(&result.facts);
        out.ansible_facts.clone_from(&result.ansible_facts);
        out.result = result;
        return Ok(());
    };
    let items = loop_items(shared, loop_node, &job.vars, task.loop_flatten)?;
    if items.is_empty() {
        out.result = TaskResult::skipped("no items in the loop");
        out.outcome = Status::Skipped;
        out.registered =
            json!({"results": [], "skipped": true, "changed": false, "msg": "no items"});
        return Ok(());
    }
    let count = items.len();
    let mut results = Vec::with_capacity(count);
    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
    for (index, item) in items.iter().cloned().enumerate() {
        let ctx = item_vars(task, job, index, &items);
        let label = match &task.loop_label {
            Some(node) => match shared.templater.render_node(node, &ctx)? {
                Value::String(s) => s,
                other => other.to_string(),
            },
            None => match &item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        };
        let result = run_once(shared, task, job, &ctx, check_mode).await?;
        any_changed |= result.status == Status::Changed;
        any_failed |= result.status == Status::Failed;
        all_skipped &= result.status == Status::Skipped;
        for (k, v) in &result.facts {
            out.facts.insert(k.clone(), v.clone());
        }
        for (k, v) in &result.ansible_facts {
            out.ansible_facts.insert(k.clone(), v.clone());
        }
        let mut registered = result.to_registered();
        if let Value::Object(m) = &mut registered {
            m.insert(task.loop_var.clone(), item);
            m.insert(
                "item".into(),
                m.get(&task.loop_var).cloned().unwrap_or(Value::Null),
            );
        }
        results.push(registered);
        out.items.push((label, result.clone(), result.status));
        if let Some(pause) = task.loop_pause {
            if index + 1 < count {
                tokio::time::sleep(pause).await;
            }
        }
    }
    let status = if any_failed {
        Status::Failed
    } else if all_skipped {
        Status::Skipped
    } else if any_changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let msg = loop_message(&out.items);
    out.result = TaskResult {
        status,
        msg: Some(msg.clone()),
        facts: out.facts.clone(),
        ..TaskResult::default()
    };
    out.outcome = out.result.status;
    out.registered = json!({"results": results, "changed": any_changed, "failed": any_failed, "skipped": all_skipped, "msg": msg});
    Ok(())
}

/// The loop's items: a list, or nothing for null.
fn loop_items(
    shared: &TaskShared<'_>,
    loop_node: &Node,
    vars: &Context,
    flatten: bool,
) -> Result<Vec<Value>, Failure> {
    let rendered = shared.templater.render_node(loop_node, vars)?;
    within_limit(shared, "the loop's list", &rendered, &loop_node.origin)?;
    match rendered {
        // `with_items` (Ansible's `items` lookup) flattens one level after
        // templating: `["{{ a }}", "{{ b }}"]` loops over a's and b's items.
        Value::Array(items) if flatten => Ok(items
            .into_iter()
            .flat_map(|i| match i {
                Value::Array(inner) => inner,
                other => vec![other],
            })
            .collect()),
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        // `with_items: foo` loops once, over `foo`.
        other if flatten => Ok(vec![other]),
        other => Err(Failure::Input(
            InputError::at(
                &loop_node.origin,
                format!("`loop` needs a list, but this is {}", kind(&other)),
                "not a list",
            )
            .with_help(
                "give a YAML list, or a variable holding one, e.g. `loop: \"{{ groups.bc }}\"`",
            ),
        )),
    }
}

/// The host's variables for one item: `loop_var`, `index_var`,
/// `ansible_loop`, set over the host's variables (shared, not copied: the
/// cost of an item does not grow with the host's variables or the loop).
fn item_vars(task: &Task, job: &HostJob, index: usize, items: &[Value]) -> Context {
    let count = items.len();
    let mut vars = job.vars.clone();
    vars.set(
        task.loop_var.clone(),
        items.get(index).cloned().unwrap_or(Value::Null),
    );
    if let Some(iv) = &task.index_var {
        vars.set(iv.clone(), json!(index));
    }
    // Ansible's `loop_control: extended` fields (always present here);
    // `previtem`/`nextitem` are undefined at the ends, as in Ansible.
    let mut ansible_loop = json!({
        "index": index + 1, "index0": index,
        "revindex": count - index, "revindex0": count - index - 1,
        "first": index == 0, "last": index + 1 == count, "length": count,
    });
    if let Value::Object(m) = &mut ansible_loop {
        if let Some(prev) = index.checked_sub(1).and_then(|i| items.get(i)) {
            m.insert("previtem".into(), prev.clone());
        }
        if let Some(next) = items.get(index + 1) {
            m.insert("nextitem".into(), next.clone());
        }
    }
    vars.set("ansible_loop", ansible_loop);
    vars.set("ansible_loop_var", json!(task.loop_var));
    vars
}

/// The aggregate message: all done, or which items failed.
fn loop_message(items: &[(String, TaskResult, Status)]) -> String {
    let failed_items: Vec<&str> = items
        .iter()
        .filter(|(_, r, _)| r.status == Status::Failed)
        .map(|(l, _, _)| l.as_str())
        .collect();
    if failed_items.is_empty() {
        "All items completed".to_string()
    } else {
        format!(
            "{} of {} items failed: {}",
            failed_items.len(),
            items.len(),
            failed_items.join(", ")
        )
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
