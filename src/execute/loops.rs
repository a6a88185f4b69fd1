//! `loop:` and `with_<lookup>:` on one host: the items (the lookup over the
//! templated terms), then each item with its `loop_var`, `index_var`,
//! `ansible_loop` (with `extended`) and label, `pause` between items,
//! `break_when` after each, then the aggregate result and the registered
//! `results`, in Ansible's shape (ansible-core `executor/task_executor.py`
//! `_get_loop_items`, `_run_loop`).

use std::sync::atomic::Ordering;

use serde_json::{json, Map, Value};

use crate::bounds::{LOOP_ITEM_BYTES, LOOP_REGISTERED_ITEM_BYTES, MAX_LOOP_RESULT_BYTES};
use crate::error::InputError;
use crate::load::loops::LoopWith;
use crate::load::task::Task;
use crate::modules::{Status, TaskResult};
use crate::plan::context::Context;
use crate::plan::jinja::{native, python_repr};
use crate::plan::lookups;
use crate::plan::vars;
use crate::source::Origin;
use crate::yaml::Node;

use super::host_task::{
    now_epoch, run_once, settle, settled, wait_unless_stopped, within_limit, Failure, HostJob,
    HostOutcome, LoopItem, TaskShared,
};

pub(super) async fn run_loop(
    shared: &TaskShared<'_>,
    task: &Task,
    job: &HostJob,
    check_mode: bool,
    out: &mut HostOutcome,
) -> Result<(), Failure> {
    let Some(loop_node) = &task.loop_items else {
        let mut result = run_once(shared, task, job, &job.vars, check_mode).await?;
        settle(&mut result);
        out.outcome = result.status;
        out.facts.clone_from(&result.facts);
        out.ansible_facts.clone_from(&result.ansible_facts);
        out.result = result;
        return Ok(());
    };
    let items = loop_items(shared, task, loop_node, &job.vars)?;
    if items.is_empty() {
        out.result = TaskResult::skipped("no items in the loop");
        out.outcome = Status::Skipped;
        out.registered =
            json!({"results": [], "skipped": true, "changed": false, "msg": "no items"});
        return Ok(());
    }
    let count = items.len();
    let registers =
        task.register.is_some() || matches!(task.action, crate::load::task::Action::Include { .. });
    // What the loop keeps, counted before the first item and after each.
    let per_item = LOOP_ITEM_BYTES
        + if registers {
            LOOP_REGISTERED_ITEM_BYTES
        } else {
            0
        };
    if count.saturating_mul(per_item) > MAX_LOOP_RESULT_BYTES {
        return Err(Failure::Input(loop_too_big(
            shared,
            &loop_node.origin,
            format!(
                "has {count} items; baton keeps each item's result until the loop ends, about {} KiB an item{}, {} MiB in all",
                per_item >> 10,
                if registers { " with `register`" } else { "" },
                count.saturating_mul(per_item) >> 20
            ),
            registers,
        )));
    }
    let mut kept: usize = 0;
    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
    let control = &task.loop_control;
    // Facts set by earlier items (`set_fact`, `include_vars`, a module's
    // `ansible_facts`): later items see them, as in Ansible, whose loop
    // updates the task's variables with each item's facts.
    let mut host_vars = job.vars.clone();
    // a templated pause, rendered once with the task's variables
    let pause = match &control.pause_template {
        Some(node) => {
            let secs =
                super::host_task::templated_seconds(shared, node, &job.vars, "loop_control.pause")?;
            (secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs))
        }
        None => control.pause,
    };
    // Run in a block so that the facts of the items that ran are kept
    // even when an item ends the loop with an error.
    let looped: Result<(), Failure> = async {
        for (index, item) in items.iter().cloned().enumerate() {
            if index > 0 {
                if let Some(pause) = pause {
                    // A stop request ends the wait: the loop stops before its next item.
                    wait_unless_stopped(pause, shared.interrupt).await;
                }
            }
            // A stop request ends the loop after the item that was running.
            let signal = shared.interrupt.load(Ordering::SeqCst);
            if signal != 0 {
                let left = if index + 1 == count {
                    format!("item {count} did not run")
                } else {
                    format!("items {} to {count} did not run", index + 1)
                };
                out.cut = Some(super::host_task::Cut {
                    host: job.host.clone(),
                    before: format!("`{}` on ", shared.info.name),
                    after: format!(
                        " stopped before item {} of {count} ({}): {left}",
                        index + 1,
                        super::stop_cause(signal),
                    ),
                });
                break;
            }
            // each item's own timing, for its `host_result` event
            let (item_started, item_started_at) = (std::time::Instant::now(), now_epoch());
            let mut ctx = item_vars(task, &host_vars, index, &items);
            let label = match &control.label {
                Some(node) => match shared.templater.render_node(node, &ctx)? {
                    Value::String(s) => s,
                    other => py_str(&other),
                },
                None => py_str(&item),
            };
            // what a quit at once prints: masked like every other channel
            let running_label = if task.common.no_log == Some(true) {
                "(hidden: no_log)"
            } else {
                label.as_str()
            };
            shared
                .running
                .item(&job.host, index + 1, count, running_label);
            let result = run_once(shared, task, job, &ctx, check_mode).await?;
            if result.status == Status::Changed {
                shared.running.item_changed(&job.host, running_label);
            }
            see_facts(&mut host_vars, &result);
            any_changed |= result.status == Status::Changed;
            any_failed |= result.status == Status::Failed;
            all_skipped &= result.status == Status::Skipped;
            // `break_when` sees this item's result under the `register` name,
            // as Ansible sets it after each item.
            let stop = if control.break_when.is_empty() {
                false
            } else {
                if let Some(name) = &task.register {
                    ctx.set(
                        name.clone(),
                        item_registered(task, &result, item, index, ansible_loop(&ctx)),
                    );
                }
                let mut all = true;
                for cond in &control.break_when {
                    all &= shared.templater.condition_node(cond, &ctx)?;
                }
                all
            };
            // Only the result is kept per item: the registered form (a mapping
            // of a dozen keys, about 3 KB) is made at the end, and only when
            // something reads it. Source of the shape: ansible-core
            // `_run_loop` (each item's result with `item`, `ansible_loop_var`...).
            let text = result_text_bytes(&label, &result);
            kept = kept.saturating_add(per_item).saturating_add(if registers {
                text.saturating_mul(2)
            } else {
                text
            });
            if kept > MAX_LOOP_RESULT_BYTES {
                return Err(Failure::Input(loop_too_big(
                    shared,
                    &loop_node.origin,
                    format!(
                        "kept {} MiB of results after item {} of {count} (its result alone {} KiB)",
                        kept >> 20,
                        index + 1,
                        text >> 10
                    ),
                    registers,
                )));
            }
            let status = result.status;
            out.items.push(LoopItem {
                label,
                result,
                status,
                started_at: item_started_at,
                elapsed: item_started.elapsed(),
            });
            if stop {
                break;
            }
        }
        Ok(())
    }
    .await;
    // The task's facts: each name's value from the last item that set it
    // (in the order names were first set), copied once, not once per item.
    last_of_each(&out.items, |r| &r.facts, true, &mut out.facts);
    last_of_each(
        &out.items,
        |r| &r.ansible_facts,
        false,
        &mut out.ansible_facts,
    );
    looped?;
    let status = if any_failed {
        Status::Failed
    } else if all_skipped {
        Status::Skipped
    } else if any_changed {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut msg = loop_message(&out.items);
    if let Some(cut) = &out.cut {
        msg = format!("{msg}; {}", cut.sentence());
    }
    out.result = TaskResult {
        status,
        msg: Some(msg.clone()),
        facts: out.facts.clone(),
        ..TaskResult::default()
    };
    out.outcome = out.result.status;
    // `results` is read by `register`, by an include's items, and by a
    // rescue (`ansible_failed_result`) after a failure; otherwise a loop of
    // a million items would hold a million registered mappings for nothing.
    let is_include = matches!(task.action, crate::load::task::Action::Include { .. });
    let mut results: Vec<Value> = Vec::new();
    if task.register.is_some() || is_include || any_failed {
        // Measured as they are made: registered, once they are over the
        // value cap together the rest are not made (a `set_fact` that doubles a
        // list per item holds twice its last value in all), and the
        // register is refused ([`super::host_task`]'s check of the
        // registered value).
        let mut total = 0usize;
        for (index, LoopItem { result, .. }) in out.items.iter().enumerate() {
            let item = items.get(index).cloned().unwrap_or(Value::Null);
            let looped = if control.extended {
                ansible_loop(&item_vars(task, &host_vars, index, &items))
            } else {
                None
            };
            let registered = item_registered(task, result, item, index, looped);
            total = total.saturating_add(crate::plan::vars::value_text_bytes(&registered));
            results.push(registered);
            if task.register.is_some() && total > crate::plan::vars::MAX_VALUE_BYTES {
                break;
            }
        }
    }
    out.registered = json!({"results": results, "changed": any_changed, "failed": any_failed, "skipped": all_skipped, "msg": msg});
    Ok(())
}

/// A loop over [`MAX_LOOP_RESULT_BYTES`]: `what` says by how much.
fn loop_too_big(shared: &TaskShared<'_>, at: &Origin, what: String, registers: bool) -> InputError {
    InputError::at(
        at,
        format!(
            "the loop of task `{}` {what}, more than the {} MiB a loop may keep on one host",
            shared.info.name,
            MAX_LOOP_RESULT_BYTES >> 20
        ),
        "this loop",
    )
    .with_help(format!(
        "loop over fewer items (about {} at most{}): split the list over several tasks, or let one command or script do the work of many items",
        MAX_LOOP_RESULT_BYTES / (LOOP_ITEM_BYTES + if registers { LOOP_REGISTERED_ITEM_BYTES } else { 0 }),
        if registers { " with `register`" } else { "" }
    ))
}

/// The text an item's result keeps: its label, message, output, returned
/// values and facts (strings by length, see [`vars::value_text_bytes`]:
/// the slots are in the loop's per-item figure).
fn result_text_bytes(label: &str, result: &TaskResult) -> usize {
    let map_bytes = |m: &serde_json::Map<String, Value>| {
        m.iter()
            .map(|(k, v)| k.len().saturating_add(vars::value_text_bytes(v)))
            .fold(0usize, usize::saturating_add)
    };
    [
        label.len(),
        result.msg.as_ref().map_or(0, String::len),
        result.stdout.as_ref().map_or(0, String::len),
        result.stderr.as_ref().map_or(0, String::len),
        map_bytes(&result.data),
        map_bytes(&result.facts),
        map_bytes(&result.ansible_facts),
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

/// `ansible_loop` of an item's variables (with `extended`).
fn ansible_loop(ctx: &Context) -> Option<Value> {
    ctx.get("ansible_loop").map(std::borrow::Cow::into_owned)
}

/// One item's registered result: the module's result with `item` (and the
/// `loop_var`), `ansible_loop_var`, the `index_var` and `ansible_loop`.
fn item_registered(
    task: &Task,
    result: &TaskResult,
    item: Value,
    index: usize,
    looped: Option<Value>,
) -> Value {
    let control = &task.loop_control;
    let mut registered = settled(result).to_registered();
    if let Value::Object(m) = &mut registered {
        m.insert(control.loop_var.clone(), item);
        m.insert(
            "item".into(),
            m.get(&control.loop_var).cloned().unwrap_or(Value::Null),
        );
        m.insert("ansible_loop_var".into(), json!(control.loop_var));
        if let Some(iv) = &control.index_var {
            m.insert(iv.clone(), json!(index));
            m.insert("ansible_index_var".into(), json!(iv));
        }
        if let Some(l) = looped {
            m.insert("ansible_loop".into(), l);
        }
    }
    registered
}

/// The loop's items: `loop:`'s list (nothing for null), or the lookup of
/// `with_<name>:` over its templated terms. Ansible's terms: the templated
/// value when it is a list, else a list of that one value.
fn loop_items(
    shared: &TaskShared<'_>,
    task: &Task,
    loop_node: &Node,
    vars: &Context,
) -> Result<Vec<Value>, Failure> {
    let value = shared.templater.render_node(loop_node, vars)?;
    within_limit(shared, "the loop's list", &value, &loop_node.origin)?;
    let name = match task.loop_with {
        LoopWith::Loop => return match value {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
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
        },
        LoopWith::Lookup(name) => name,
    };
    let terms = lookups::terms(value);
    let failed = |msg: String| Failure::Input(lookups::loop_error(&loop_node.origin, name, &msg));
    if matches!(name, "file" | "template" | "env" | "vars" | "first_found") {
        // The template engine's lookups: the items are `query(name, *terms)`.
        let mut with_terms = vars.clone();
        with_terms.set(TERMS_VAR, Value::Array(terms));
        let expr = format!("{{{{ query('{name}', *{TERMS_VAR}) }}}}");
        let items = shared
            .templater
            .render_value(&expr, &with_terms, &loop_node.origin)?;
        within_limit(shared, "the loop's list", &items, &loop_node.origin)?;
        return match items {
            Value::Array(items) => Ok(items),
            other => Err(failed(format!(
                "the lookup gave {}, not a list",
                kind(&other)
            ))),
        };
    }
    let search = task.source.search_paths();
    let items = lookups::run(name, terms, &search).map_err(failed)?;
    let list = Value::Array(items);
    within_limit(shared, "the loop's list", &list, &loop_node.origin)?;
    match list {
        Value::Array(items) => Ok(items),
        _ => Ok(Vec::new()),
    }
}

/// The variable that hands a `with_<lookup>`'s terms to `query()`.
const TERMS_VAR: &str = "__baton_with_terms";

/// A value as Ansible prints an item label: Python's `str()`.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // an item is plain data, already within the value cap
        other => python_repr::py_str(&native::from_json(other)).unwrap_or_else(|e| e.to_string()),
    }
}

/// An item's facts into the variables the next items see: `set_fact` and
/// `include_vars` names as they are; `ansible_*` facts also under
/// `ansible_facts` without the prefix (as `HostState::merge_facts`).
///
/// A fact `set_fact` rendered as a list or mapping is set in its template
/// form ([`TaskResult::native_facts`]): a fact that doubles per item is
/// then neither copied as JSON into the next item's variables nor
/// converted back for its templates.
fn see_facts(vars: &mut Context, result: &TaskResult) {
    for (k, v) in &result.facts {
        match result.native_facts.get(k) {
            Some(native) => vars.set_jinja(k.clone(), native.clone()),
            None => vars.set(k.clone(), v.clone()),
        }
    }
    if result.ansible_facts.is_empty() {
        return;
    }
    for (k, v) in &result.ansible_facts {
        vars.set(k.clone(), v.clone());
    }
    let short = result.ansible_facts.iter().map(|(k, v)| {
        (
            k.strip_prefix("ansible_").unwrap_or(k).to_string(),
            v.clone(),
        )
    });
    let all = match vars.get("ansible_facts").as_deref() {
        Some(Value::Object(all)) => {
            let mut all = all.clone();
            all.extend(short);
            all
        }
        _ => short.collect(),
    };
    vars.set("ansible_facts", Value::Object(all));
}

/// Into `out`, each name of the items' `field` with the value the last
/// item that set it gave, in the order names were first set (as inserting
/// every item's values in turn gives), each value copied once; with
/// `native`, a `set_fact` fact in template form made JSON, once.
fn last_of_each(
    items: &[LoopItem],
    field: impl Fn(&TaskResult) -> &Map<String, Value>,
    native: bool,
    out: &mut Map<String, Value>,
) {
    let mut last: indexmap::IndexMap<&str, (&TaskResult, &Value)> = indexmap::IndexMap::new();
    for LoopItem { result, .. } in items {
        for (k, v) in field(result) {
            last.insert(k.as_str(), (result, v));
        }
    }
    for (k, (result, v)) in last {
        let value = match result.native_facts.get(k).filter(|_| native) {
            Some(j) => native::to_json(j),
            None => v.clone(),
        };
        out.insert(k.to_string(), value);
    }
}

/// The host's variables for one item: `loop_var`, `index_var`, and with
/// `extended` `ansible_loop` (`previtem`/`nextitem` undefined at the ends,
/// `allitems` unless `extended_allitems: false`), as Ansible sets them;
/// set over the host's variables (shared, not copied: the cost of an item
/// does not grow with the host's variables).
fn item_vars(task: &Task, host_vars: &Context, index: usize, items: &[Value]) -> Context {
    let control = &task.loop_control;
    let count = items.len();
    let mut vars = host_vars.clone();
    vars.set(
        control.loop_var.clone(),
        items.get(index).cloned().unwrap_or(Value::Null),
    );
    if let Some(iv) = &control.index_var {
        vars.set(iv.clone(), json!(index));
        vars.set("ansible_index_var", json!(iv));
    }
    if control.extended {
        let mut ansible_loop = json!({
            "index": index + 1, "index0": index,
            "first": index == 0, "last": index + 1 == count, "length": count,
            "revindex": count - index, "revindex0": count - index - 1,
        });
        if let Value::Object(m) = &mut ansible_loop {
            if control.extended_allitems {
                m.insert("allitems".into(), Value::Array(items.to_vec()));
            }
            if let Some(next) = items.get(index + 1) {
                m.insert("nextitem".into(), next.clone());
            }
            if let Some(prev) = index.checked_sub(1).and_then(|i| items.get(i)) {
                m.insert("previtem".into(), prev.clone());
            }
        }
        vars.set("ansible_loop", ansible_loop);
    }
    vars.set("ansible_loop_var", json!(control.loop_var));
    vars
}

/// The aggregate message: all done, or which items failed.
fn loop_message(items: &[LoopItem]) -> String {
    // Labels as the report shows them: one line each (a label is data).
    let failed_items: Vec<_> = items
        .iter()
        .filter(|i| i.result.status == Status::Failed)
        .map(|i| crate::report::controls::shown_name(&i.label))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_items_kept_text_counts_its_label_output_and_values() {
        let mut result = TaskResult::changed();
        result.stdout = Some("x".repeat(1000));
        result.msg = Some("done".into());
        result.data.insert("path".into(), json!("/etc/motd"));
        // label 5 + stdout 1000 + msg 4 + "path" 4 + "/etc/motd" 9
        assert_eq!(result_text_bytes("item1", &result), 1022);
        // A million items of the smallest result pass the bound by count alone.
        const { assert!(1_000_000 * LOOP_ITEM_BYTES > MAX_LOOP_RESULT_BYTES) };
    }
}
