//! One task mapping: its keys sorted into keywords and its one module, and
//! what that module entry does (`meta`, `include_vars`, a module with checked
//! arguments). Includes, blocks and roles, which recurse, are the task
//! parser's.

use crate::error::{did_you_mean, InputError};
use crate::modules;
use crate::template_text::is_template;
use crate::yaml::{Node, NodeValue};

use super::fields::{self, conditions, key_text, string};
use super::keywords::{apply_common, TASK_KEYWORDS};
use super::loops::LoopWith;
use super::task::{Action, IncludeVarsArgs, MetaAction, TaskCommon};

/// Task-level words that are not modules but are handled by the loader.
const LOADER_ACTIONS: &[&str] = &[
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "meta",
    "include_vars",
];

/// The keys of one task mapping, sorted into task keywords and module
/// entries (there should be exactly one of those; see [`single_module`]).
#[derive(Default)]
pub(super) struct TaskKeys<'n> {
    /// (key, value, module name without `ansible.builtin.`/`ansible.legacy.`).
    pub(super) module_keys: Vec<(&'n Node, &'n Node, String)>,
    pub(super) common: TaskCommon,
    pub(super) name: Option<Node>,
    pub(super) loop_items: Option<Node>,
    pub(super) loop_with: LoopWith,
    pub(super) loop_control: Option<&'n Node>,
    pub(super) register: Option<String>,
    pub(super) until: Option<Node>,
    pub(super) retries: Option<Node>,
    pub(super) delay: Option<Node>,
    pub(super) changed_when: Option<Vec<Node>>,
    pub(super) failed_when: Option<Vec<Node>>,
    pub(super) notify: Vec<String>,
    pub(super) listen: Vec<String>,
    pub(super) extra_args: Option<Node>,
}

impl TaskKeys<'_> {
    /// `loop:` or one `with_<lookup>:`; two loops, or a `with_` without a
    /// value, are refused as Ansible refuses them.
    fn set_loop(&mut self, k: &Node, v: &Node, with: LoopWith) -> Result<(), InputError> {
        if let Some(first) = &self.loop_items {
            return Err(InputError::at(
                &k.origin,
                format!(
                    "a task has one loop, but this one has `{}` and `{}`",
                    self.loop_with.keyword(),
                    with.keyword()
                ),
                "second loop",
            )
            .with_help(format!(
                "keep one of them (the first is at {})",
                first.origin.describe()
            )));
        }
        if with != LoopWith::Loop && v.is_null() {
            return Err(InputError::at(
                &v.origin,
                format!("`{}` needs a value", with.keyword()),
                "empty",
            )
            .with_help("give the lookup's terms, e.g. `with_items: [a, b]`"));
        }
        if v.is_null() {
            // Ansible 2.19 takes a null `loop` for no loop and runs the task
            // once without `item`; baton's stricter: the list was forgotten.
            return Err(InputError::at(
                &v.origin,
                "`loop` needs a list, but this is null (`~` or nothing)",
                "no items",
            )
            .with_help("give the items, e.g. `loop: [a, b]`, or remove `loop`"));
        }
        self.loop_items = Some(v.clone());
        self.loop_with = with;
        Ok(())
    }
}

/// Sort a task's keys; an unknown key is an error naming the closest keyword
/// or module.
pub(super) fn read_task_keys<'n>(
    map: &'n [(Node, Node)],
    handlers: bool,
) -> Result<TaskKeys<'n>, InputError> {
    let mut keys = TaskKeys::default();
    for (k, v) in map {
        let key = key_text(k)?;
        match key.as_str() {
            "name" => keys.name = Some(v.clone()),
            "loop" => keys.set_loop(k, v, LoopWith::Loop)?,
            with if with.starts_with("with_") => {
                keys.set_loop(k, v, LoopWith::from_key(with, k)?)?
            }
            "loop_control" => keys.loop_control = Some(v),
            "register" => {
                let name = string(v, "register")?;
                fields::check_var_name(&name, v)?;
                keys.register = Some(name);
            }
            "until" => keys.until = Some(v.clone()),
            "retries" => keys.retries = Some(v.clone()),
            "delay" => keys.delay = Some(v.clone()),
            "changed_when" => keys.changed_when = Some(conditions(v)),
            "failed_when" => keys.failed_when = Some(conditions(v)),
            "notify" => keys.notify = string_list_exact(v, "notify")?,
            "listen" if handlers => keys.listen = string_list_exact(v, "listen")?,
            "args" => keys.extra_args = Some(v.clone()),
            _ if apply_common(&mut keys.common, &key, v)? => {}
            _ if modules::find(&key).is_some()
                || LOADER_ACTIONS.contains(&modules::canonical_name(&key)) =>
            {
                let short = modules::canonical_name(&key).to_string();
                keys.module_keys.push((k, v, short));
            }
            _ => return Err(unknown_key(k, &key, handlers)),
        }
    }
    Ok(keys)
}

/// The task's one module entry; none or two are errors.
pub(super) fn single_module<'n>(
    node: &Node,
    module_keys: &[(&'n Node, &'n Node, String)],
) -> Result<(&'n Node, &'n Node, String), InputError> {
    match module_keys {
        [one] => Ok((one.0, one.1, one.2.clone())),
        [] => Err(InputError::at(&node.origin, "this task has no module", "task starts here").with_help(
            "add one module, e.g. `command: /bin/true`; `baton run --help` lists modules in the README",
        )),
        [first, second, ..] => Err(InputError::at(
            &second.0.origin,
            format!("a task runs one module, but this one has `{}` and `{}`", first.2, second.2),
            "second module",
        )
        .with_help("split it into two tasks")),
    }
}

/// What a task that is not an include does: `meta`, `include_vars`, or a
/// module with checked arguments.
pub(super) fn task_action(
    name: &str,
    module_key: &Node,
    module_value: &Node,
    extra_args: Option<&Node>,
    handlers: bool,
) -> Result<Action, InputError> {
    match name {
        "meta" => {
            let name = string(module_value, "meta")?;
            let meta = MetaAction::parse(&name).ok_or_else(|| {
                let hint = did_you_mean(&name, MetaAction::NAMES.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                InputError::at(
                    &module_value.origin,
                    format!("unknown meta action `{name}`"),
                    "here",
                )
                .with_help(format!("{hint}supported: {}", MetaAction::NAMES.join(", ")))
            })?;
            Ok(Action::Meta(meta))
        }
        "include_vars" => include_vars_args(module_value).map(|a| Action::IncludeVars(Box::new(a))),
        name => {
            let module =
                modules::find(name).ok_or_else(|| unknown_key(module_key, name, handlers))?;
            let args = super::args::parse(module, module_value, extra_args)?;
            Ok(Action::Module { module, args })
        }
    }
}

/// `include_vars: file.yml`, `include_vars: file=x name=y`, or a mapping
/// of ansible.builtin.include_vars's options. Errors: no `file`/`dir`, both,
/// an option it does not know, a bad `files_matching` regex.
fn include_vars_args(value: &Node) -> Result<IncludeVarsArgs, InputError> {
    const OPTIONS: &[&str] = &[
        "file",
        "dir",
        "name",
        "depth",
        "files_matching",
        "ignore_files",
        "extensions",
        "ignore_unknown_extensions",
    ];
    let pairs: Vec<(String, Node)> = match &value.value {
        NodeValue::Str(s) if s.contains('=') => fields::inline_options(
            value,
            s,
            "include_vars",
            "write `include_vars: file=vars.yml name=cfg` or a mapping",
        )?,
        NodeValue::Str(_) => vec![("file".to_string(), value.clone())],
        NodeValue::Map(entries) => entries
            .iter()
            .map(|(k, v)| Ok((fields::key_text(k)?, v.clone())))
            .collect::<Result<_, InputError>>()?,
        _ => {
            return Err(
                InputError::at(&value.origin, "`include_vars` needs a file name", "here")
                    .with_help(
                    "write `include_vars: vars.yml` or `include_vars: {file: vars.yml, name: cfg}`",
                ),
            )
        }
    };
    let mut args = IncludeVarsArgs {
        file: None,
        dir: None,
        name: None,
        depth: 0,
        files_matching: None,
        ignore_files: Vec::new(),
        extensions: vec!["yaml".into(), "yml".into(), "json".into()],
        ignore_unknown_extensions: false,
    };
    for (key, v) in pairs {
        let text = |v: &Node| -> Result<Node, InputError> {
            fields::string(v, &key)?;
            Ok(v.clone())
        };
        match key.as_str() {
            "file" | "_raw_params" => args.file = Some(text(&v)?),
            "dir" => args.dir = Some(text(&v)?),
            "name" => args.name = Some(text(&v)?),
            "depth" => args.depth = fields::count(&v, "depth", 0, 1000)?,
            "files_matching" => {
                let pattern = fields::string(&v, "files_matching")?;
                crate::pyregex::compile(&pattern, false, false).map_err(|e| {
                    InputError::at(
                        &v.origin,
                        format!("`files_matching` is not a regex baton can run: {e}"),
                        "here",
                    )
                })?;
                args.files_matching = Some(pattern);
            }
            "ignore_files" => args.ignore_files = fields::string_list(&v, "ignore_files")?,
            "extensions" => args.extensions = fields::string_list(&v, "extensions")?,
            "ignore_unknown_extensions" => {
                args.ignore_unknown_extensions = fields::boolean(&v, "ignore_unknown_extensions")?
            }
            other => {
                let hint = did_you_mean(other, OPTIONS.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Err(InputError::at(
                    &v.origin,
                    format!("`include_vars` has no option `{other}`"),
                    "here",
                )
                .with_help(format!(
                    "{hint}baton's include_vars takes: {}",
                    OPTIONS.join(", ")
                )));
            }
        }
    }
    match (&args.file, &args.dir) {
        (Some(_), None) | (None, Some(_)) => Ok(args),
        (Some(_), Some(_)) => Err(InputError::at(
            &value.origin,
            "`include_vars` takes `file` or `dir`, not both",
            "here",
        )),
        (None, None) => Err(InputError::at(
            &value.origin,
            "`include_vars` needs a file name",
            "here",
        )
        .with_help("write `include_vars: vars.yml` or `include_vars: {dir: vars/, name: cfg}`")),
    }
}

/// `retries` is a whole number, or a template checked when it runs.
pub(super) fn check_retries(r: &Node) -> Result<(), InputError> {
    if r.as_str().is_some_and(is_template) {
        return Ok(());
    }
    fields::count(r, "retries", 0, crate::bounds::MAX_RETRIES).map(|_| ())
}

/// `delay` is a number of seconds, or a template checked when it runs.
pub(super) fn check_delay(d: &Node) -> Result<(), InputError> {
    if d.as_str().is_some_and(is_template) {
        return Ok(());
    }
    fields::seconds(d, "delay").map(|_| ())
}

fn string_list_exact(node: &Node, key: &str) -> Result<Vec<String>, InputError> {
    match &node.value {
        NodeValue::Seq(items) => items.iter().map(|i| string(i, key)).collect(),
        _ => Ok(vec![string(node, key)?]),
    }
}

fn unknown_key(k: &Node, key: &str, handlers: bool) -> InputError {
    let mut candidates: Vec<&str> = TASK_KEYWORDS.to_vec();
    candidates.extend(LOADER_ACTIONS);
    candidates.extend(modules::names());
    if handlers {
        candidates.push("listen");
    }
    let hint = did_you_mean(key, candidates.iter().copied())
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    let modules: Vec<&str> = modules::names().collect();
    InputError::at(
        &k.origin,
        format!("unknown module or task keyword `{key}`"),
        "not a module or keyword",
    )
    .with_help(format!("{hint}modules: {}", modules.join(", ")))
}
