//! Load-time compile of every template and condition in a playbook: task
//! arguments, names, vars, `when`/`changed_when`/`failed_when`/`until`,
//! `assert: that`, `loop`, `hosts`, and template files named by a literal
//! `src:`. A syntax error, an unknown filter or test (also in a branch that
//! never runs) or an unsupported regex (in a template, or a literal
//! `lineinfile`/`blockinfile` `regexp`/`insertafter`/`insertbefore`) fails
//! here, before anything runs.

use crate::error::InputError;
use crate::load::loops::LoopWith;
use crate::load::playbook::Playbook;
use crate::load::task::{Action, Task};
use crate::source::{Origin, SourceFile};
use crate::template_text::is_template;

use super::template::{check_condition_node, check_node, check_template};

pub fn check_playbook(playbook: &Playbook) -> Result<(), InputError> {
    for play in &playbook.plays {
        check_node(&play.hosts)?;
        for entry in &play.vars_files {
            check_node(entry)?;
        }
        if let Some(serial) = &play.serial_template {
            check_node(serial)?;
        }
        for (_, v) in play
            .vars
            .iter()
            .chain(&play.role_defaults)
            .chain(&play.role_vars)
        {
            check_node(v)?;
        }
        for t in play.all_tasks().iter().chain(&play.handlers) {
            check_task(t)?;
        }
    }
    Ok(())
}

/// A `no_log` task's error shows no source and masks the task's values
/// (its own `no_log`, or one it inherits from an include, role or play in
/// another file).
fn check_task(task: &Task) -> Result<(), InputError> {
    check_task_parts(task).map_err(|e| {
        if task.common.no_log != Some(true) {
            return e;
        }
        let mut values = Vec::new();
        if let Action::Module { args, .. } = &task.action {
            for (_, v) in args {
                crate::yaml::string_values(v, &mut values);
            }
        }
        for n in task
            .name
            .iter()
            .chain(task.common.vars.iter().map(|(_, v)| v))
        {
            crate::yaml::string_values(n, &mut values);
        }
        e.hide_for_no_log(&values)
    })
}

fn check_task_parts(task: &Task) -> Result<(), InputError> {
    let c = &task.common;
    for n in task
        .name
        .iter()
        .chain(&c.environment)
        .chain(&c.become_user)
        .chain(&c.delegate_to)
    {
        check_node(n)?;
    }
    for (_, v) in &c.vars {
        check_node(v)?;
    }
    for n in task
        .loop_items
        .iter()
        .chain(&task.loop_control.label)
        .chain(&task.retries)
        .chain(&task.delay)
    {
        check_node(n)?;
    }
    for n in c
        .when
        .iter()
        .chain(task.until.iter())
        .chain(task.changed_when.iter().flatten())
        .chain(task.failed_when.iter().flatten())
    {
        check_condition_node(n)?;
    }
    if let (LoopWith::Lookup(name), Some(node)) = (task.loop_with, &task.loop_items) {
        super::lookups::check_literal(name, node)?;
    }
    match &task.action {
        Action::Module { module, args } => {
            let name = module.spec().name;
            for (key, value) in args {
                if name == "assert" && key == "that" {
                    check_condition_node(value)?;
                } else {
                    check_node(value)?;
                }
                if name == "template" && key == "src" {
                    check_template_file(task, value.as_str(), &value.origin)?;
                }
                if matches!(name, "lineinfile" | "blockinfile") {
                    check_literal_regex(key, value)?;
                }
            }
        }
        Action::IncludeVars(a) => {
            for n in a.nodes() {
                check_node(n)?;
            }
        }
        Action::Meta(_) | Action::Include { .. } => {}
    }
    Ok(())
}

/// A literal `regexp`/`insertafter`/`insertbefore` of `lineinfile` or
/// `blockinfile` must compile in Python's dialect ([`crate::pyregex`]), so a
/// bad pattern fails before anything runs. A templated one is checked when
/// the module runs.
fn check_literal_regex(key: &str, value: &crate::yaml::Node) -> Result<(), InputError> {
    if !matches!(key, "regexp" | "insertafter" | "insertbefore") {
        return Ok(());
    }
    let Some(pattern) = value.as_str().filter(|s| !is_template(s)) else {
        return Ok(());
    };
    if key != "regexp" && matches!(pattern, "BOF" | "EOF") {
        return Ok(());
    }
    crate::pyregex::compile(pattern, false, false)
        .map(|_| ())
        .map_err(|e| {
            InputError::at(
                &value.origin,
                format!("argument `{key}`: {e}"),
                "this pattern",
            )
            .with_help(
                "write the pattern in Python's `re` syntax (look-around and backreferences work)",
            )
        })
}

/// A literal `template: src=` file is compiled too (Jinja2 unless `.hbs`).
fn check_template_file(task: &Task, src: Option<&str>, origin: &Origin) -> Result<(), InputError> {
    let Some(src) = src.filter(|s| !is_template(s)) else {
        return Ok(());
    };
    if src.ends_with(".hbs") {
        return Ok(());
    }
    // The template module's lookup order: `templates/x`, then `x`, per base.
    let found = task
        .source
        .search_paths()
        .into_iter()
        .flat_map(|d| [d.join("templates").join(src), d.join(src)])
        .find(|p| p.is_file());
    // A missing file is the module's error at run time (it may be created by
    // an earlier task); only a file that exists is compiled here.
    let Some(path) = found else { return Ok(()) };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let file = SourceFile::new(path.display().to_string(), text.as_str());
    if crate::source::is_private(&path) {
        file.mark_private();
    }
    let whole = Origin {
        file,
        offset: 0,
        len: text.len(),
    };
    check_template(&text, &whole).map_err(|e| {
        let before = e.help.clone().map(|h| format!("{h}; ")).unwrap_or_default();
        let used = format!(
            "{before}the template file is used by `src: {src}` at {}",
            origin.describe()
        );
        e.with_help(used)
    })
}
