//! `changed_when` / `failed_when`: the task's own verdict over the module's.

use serde_json::Value;

use crate::error::InputError;
use crate::load::task::Task;
use crate::modules::{Status, TaskResult};
use crate::plan::context::Context;
use crate::yaml::Node;

use super::host_task::TaskShared;

/// `changed_when` / `failed_when`.
pub(super) fn apply_overrides(
    shared: &TaskShared<'_>,
    task: &Task,
    vars: &Context,
    result: &mut TaskResult,
) -> Result<(), InputError> {
    if result.status == Status::Skipped {
        return Ok(());
    }
    // A list of conditions holds when every one does (as in Ansible); stop at
    // the first false one, so later ones may rely on it.
    let all_hold = |conds: &[Node]| -> Result<bool, InputError> {
        for c in conds {
            if !shared.templater.condition_node(c, vars)? {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let changed_when = task.changed_when.as_deref();
    if let (Some(conds), false) = (changed_when, result.status == Status::Failed) {
        result.status = if all_hold(conds)? {
            Status::Changed
        } else {
            Status::Ok
        };
    }
    let Some(conds) = &task.failed_when else {
        return Ok(());
    };
    if !conds.is_empty() && all_hold(conds)? {
        if result.status != Status::Failed {
            // Ansible keeps `changed: true` on a result failed_when fails
            // (and the recap counts it when the failure is ignored).
            if result.status == Status::Changed {
                result.data.insert("changed".into(), Value::Bool(true));
            }
            result.status = Status::Failed;
            let text = conds
                .iter()
                .filter_map(|c| c.scalar_text())
                .collect::<Vec<_>>()
                .join(" and ");
            result.msg = Some(format!("failed_when was true: {text}"));
        }
    } else if result.status == Status::Failed {
        // Not a failure after all. A command ran (rc is set), so it changed
        // something unless changed_when says otherwise.
        let changed = match changed_when {
            Some(conds) => all_hold(conds)?,
            None => result.rc.is_some(),
        };
        result.status = if changed { Status::Changed } else { Status::Ok };
        result.data.remove("changed");
    }
    Ok(())
}
