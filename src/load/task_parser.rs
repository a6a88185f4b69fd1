//! Reading task lists: tasks, blocks, includes and imports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{did_you_mean, InputError};
use crate::modules;
use crate::template_text::is_template;
use crate::yaml::{self, Node, NodeValue};

use super::fields::{
    self, boolean, conditions, expect_map, expect_seq, key_text, string, string_list, var_pairs,
};
use super::role::RoleLoader;
use super::task::{Action, Block, Item, MetaAction, Task, TaskCommon, TaskSource};

/// Keywords of a task (besides its one module).
pub const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "register",
    "loop",
    "with_items",
    "with_list",
    "loop_control",
    "until",
    "retries",
    "delay",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "tags",
    "notify",
    "delegate_to",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "timeout",
    "become",
    "become_user",
    "become_method",
    "environment",
    "vars",
    "args",
    "listen",
    "any_errors_fatal",
];

/// Keywords of a block.
pub const BLOCK_KEYWORDS: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "tags",
    "vars",
    "environment",
    "become",
    "become_user",
    "become_method",
    "ignore_errors",
    "ignore_unreachable",
    "delegate_to",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "timeout",
];

/// Task-level words that are not modules but are handled by the loader.
const LOADER_ACTIONS: &[&str] = &[
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "meta",
    "include_vars",
];

/// What the parser needs to know about where it is.
pub struct ParseCtx<'a> {
    pub source: Arc<TaskSource>,
    pub roles: &'a RoleLoader,
    /// Files being included, for cycle detection.
    pub stack: Vec<PathBuf>,
    /// Handlers also take `listen`.
    pub handlers: bool,
}

impl ParseCtx<'_> {
    fn with_dir(&self, dir: &Path, file: PathBuf) -> ParseCtx<'_> {
        let mut stack = self.stack.clone();
        stack.push(file);
        ParseCtx {
            source: Arc::new(TaskSource {
                dir: dir.to_path_buf(),
                role: self.source.role.clone(),
                playbook_dir: self.source.playbook_dir.clone(),
            }),
            roles: self.roles,
            stack,
            handlers: self.handlers,
        }
    }
}

/// Parse a list of tasks (`tasks:`, `pre_tasks:`, a block's `block:` …).
pub fn parse_items(
    node: &Node,
    what: &str,
    parent: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<Vec<Item>, InputError> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let list = expect_seq(node, what)?;
    let mut items = Vec::with_capacity(list.len());
    for entry in list {
        items.extend(parse_item(entry, parent, ctx)?);
    }
    Ok(items)
}

/// Parse a whole task file (for import_tasks and role tasks/main.yml).
pub fn parse_task_file(
    path: &Path,
    parent: &TaskCommon,
    ctx: &ParseCtx<'_>,
    at: Option<&Node>,
) -> Result<Vec<Item>, InputError> {
    if ctx.stack.iter().any(|p| p == path) {
        let msg = format!(
            "{} includes itself (through {})",
            path.display(),
            ctx.stack
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" -> ")
        );
        return Err(match at {
            Some(n) => InputError::at(&n.origin, msg, "this include closes the cycle"),
            None => InputError::plain(msg),
        });
    }
    if !path.is_file() {
        let msg = format!("task file {} does not exist", path.display());
        return Err(match at {
            Some(n) => InputError::at(&n.origin, msg, "included here"),
            None => InputError::plain(msg),
        }
        .with_help("paths are relative to the file that includes them"));
    }
    let node = yaml::parse_file(path)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let sub = ctx.with_dir(&dir, path.to_path_buf());
    parse_items(&node, "a task file", parent, &sub)
}

fn parse_item(
    node: &Node,
    parent: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<Vec<Item>, InputError> {
    let map = expect_map(node, "a task")?;
    if node.get("block").is_some() {
        return parse_block(node, map, parent, ctx).map(|b| vec![Item::Block(Arc::new(b))]);
    }
    let mut module_keys: Vec<(&Node, &Node, String)> = Vec::new();
    let mut common = TaskCommon::default();
    let mut task_name = None;
    let mut loop_items = None;
    let mut loop_control = None;
    let mut register = None;
    let mut until = None;
    let mut retries = None;
    let mut delay = None;
    let mut changed_when = None;
    let mut failed_when = None;
    let mut notify = Vec::new();
    let mut listen = Vec::new();
    let mut extra_args = None;

    for (k, v) in map {
        let key = key_text(k)?;
        match key.as_str() {
            "name" => task_name = Some(v.clone()),
            "loop" | "with_list" => loop_items = Some(v.clone()),
            "with_items" => loop_items = Some(flatten_once(v)),
            "loop_control" => loop_control = Some(v),
            "register" => {
                let name = string(v, "register")?;
                fields::check_var_name(&name, v)?;
                register = Some(name);
            }
            "until" => until = Some(v.clone()),
            "retries" => retries = Some(v.clone()),
            "delay" => delay = Some(v.clone()),
            "changed_when" => changed_when = Some(conditions(v)),
            "failed_when" => failed_when = Some(conditions(v)),
            "notify" => notify = string_list_exact(v, "notify")?,
            "listen" if ctx.handlers => listen = string_list_exact(v, "listen")?,
            "args" => extra_args = Some(v.clone()),
            _ if apply_common(&mut common, &key, v)? => {}
            _ if modules::find(&key).is_some()
                || LOADER_ACTIONS.contains(&modules::canonical_name(&key)) =>
            {
                let short = modules::canonical_name(&key).to_string();
                module_keys.push((k, v, short));
            }
            _ => return Err(unknown_key(k, &key, ctx.handlers)),
        }
    }
    let (module_key, module_value, module_name) = match module_keys.as_slice() {
        [one] => (one.0, one.1, one.2.clone()),
        [] => {
            return Err(InputError::at(&node.origin, "this task has no module", "task starts here").with_help(
                "add one module, e.g. `command: /bin/true`; `baton run --help` lists modules in the README",
            ))
        }
        [first, second, ..] => {
            return Err(InputError::at(
                &second.0.origin,
                format!("a task runs one module, but this one has `{}` and `{}`", first.2, second.2),
                "second module",
            )
            .with_help("split it into two tasks"))
        }
    };
    common.inherit(parent);

    let action = match module_name.as_str() {
        "include_tasks" | "import_tasks" => {
            return include_tasks(
                module_key,
                module_value,
                extra_args.as_ref(),
                loop_items.as_ref(),
                &common,
                ctx,
            );
        }
        "include_role" | "import_role" => {
            return include_role(module_value, &common, ctx);
        }
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
            Action::Meta(meta)
        }
        "include_vars" => {
            let file = match module_value.get("file") {
                Some(f) => f.clone(),
                None => module_value.clone(),
            };
            if file.as_str().is_none() {
                return Err(InputError::at(
                    &module_value.origin,
                    "`include_vars` needs a file name",
                    "here",
                ));
            }
            Action::IncludeVars(file)
        }
        name => {
            let module =
                modules::find(name).ok_or_else(|| unknown_key(module_key, name, ctx.handlers))?;
            let args = super::args::parse(module, module_value, extra_args.as_ref())?;
            Action::Module { module, args }
        }
    };

    let (loop_var, index_var, loop_label, loop_pause) = parse_loop_control(loop_control)?;
    if let Some(r) = &retries {
        fields::number(r, "retries")
            .ok()
            .filter(|n| *n >= 0.0)
            .map(|_| ())
            .or_else(|| r.as_str().filter(|s| is_template(s)).map(|_| ()))
            .ok_or_else(|| InputError::at(&r.origin, "`retries` must be a whole number", "here"))?;
    }
    Ok(vec![Item::Task(Arc::new(Task {
        name: task_name,
        action,
        common,
        loop_items,
        loop_var,
        index_var,
        loop_label,
        loop_pause,
        register,
        until,
        retries,
        delay,
        changed_when,
        failed_when,
        notify,
        listen,
        origin: node.origin.clone(),
        source: Arc::clone(&ctx.source),
    }))])
}

/// `with_items` flattens one level of nested lists.
fn flatten_once(node: &Node) -> Node {
    match &node.value {
        NodeValue::Seq(items) => {
            let mut out = Vec::new();
            for i in items {
                match &i.value {
                    NodeValue::Seq(inner) => out.extend(inner.iter().cloned()),
                    _ => out.push(i.clone()),
                }
            }
            Node::new(NodeValue::Seq(out), node.origin.clone())
        }
        _ => node.clone(),
    }
}

fn string_list_exact(node: &Node, key: &str) -> Result<Vec<String>, InputError> {
    match &node.value {
        NodeValue::Seq(items) => items.iter().map(|i| string(i, key)).collect(),
        _ => Ok(vec![string(node, key)?]),
    }
}

type LoopControl = (String, Option<String>, Option<Node>, Option<f64>);

fn parse_loop_control(node: Option<&Node>) -> Result<LoopControl, InputError> {
    let mut out = ("item".to_string(), None, None, None);
    let Some(node) = node else { return Ok(out) };
    for (k, v) in expect_map(node, "`loop_control`")? {
        match key_text(k)?.as_str() {
            "loop_var" => {
                let name = string(v, "loop_var")?;
                fields::check_var_name(&name, v)?;
                out.0 = name;
            }
            "index_var" => {
                let name = string(v, "index_var")?;
                fields::check_var_name(&name, v)?;
                out.1 = Some(name);
            }
            "label" => out.2 = Some(v.clone()),
            "pause" => out.3 = Some(fields::number(v, "pause")?),
            "extended" => {}
            other => {
                let hint = did_you_mean(
                    other,
                    ["loop_var", "index_var", "label", "pause", "extended"],
                )
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
                return Err(InputError::at(
                    &k.origin,
                    format!("unknown `loop_control` key `{other}`"),
                    "here",
                )
                .with_help(format!(
                    "{hint}supported: loop_var, index_var, label, pause"
                )));
            }
        }
    }
    Ok(out)
}

/// Apply a keyword shared by tasks, blocks, roles and plays. Returns whether
/// the key was one of them.
pub fn apply_common(common: &mut TaskCommon, key: &str, v: &Node) -> Result<bool, InputError> {
    match key {
        "when" => common.when.extend(conditions(v)),
        "tags" => common.tags = string_list(v, "tags")?,
        "vars" => common.vars = var_pairs(v, "`vars`")?,
        "environment" => {
            if !v.is_null() {
                expect_map(v, "`environment`")?;
                common.environment.push(v.clone());
            }
        }
        "become" => common.become_ = Some(boolean(v, "become")?),
        "become_user" => common.become_user = Some(v.clone()),
        "become_method" => {
            let m = string(v, "become_method")?;
            if m != "sudo" {
                return Err(InputError::at(
                    &v.origin,
                    format!("become_method `{m}` is not supported"),
                    "here",
                )
                .with_help("baton becomes other users with `sudo -n` only"));
            }
        }
        "ignore_errors" => common.ignore_errors = Some(boolean(v, "ignore_errors")?),
        "ignore_unreachable" => common.ignore_unreachable = Some(boolean(v, "ignore_unreachable")?),
        "delegate_to" => common.delegate_to = Some(v.clone()),
        "run_once" => common.run_once = Some(boolean(v, "run_once")?),
        "no_log" => common.no_log = Some(boolean(v, "no_log")?),
        "check_mode" => common.check_mode = Some(boolean(v, "check_mode")?),
        "diff" => common.diff = Some(boolean(v, "diff")?),
        "any_errors_fatal" => common.any_errors_fatal = Some(boolean(v, "any_errors_fatal")?),
        "timeout" => {
            let secs = fields::number(v, "timeout")?;
            if secs <= 0.0 {
                return Err(InputError::at(
                    &v.origin,
                    "`timeout` must be a positive number of seconds",
                    "here",
                ));
            }
            common.timeout = Some(secs.ceil() as u64);
        }
        _ => return Ok(false),
    }
    Ok(true)
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

fn parse_block(
    node: &Node,
    map: &[(Node, Node)],
    parent: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<Block, InputError> {
    let mut common = TaskCommon::default();
    let mut name = None;
    let (mut block, mut rescue, mut always) = (None, None, None);
    for (k, v) in map {
        let key = key_text(k)?;
        match key.as_str() {
            "block" => block = Some(v),
            "rescue" => rescue = Some(v),
            "always" => always = Some(v),
            "name" => name = Some(string(v, "name")?),
            _ if apply_common(&mut common, &key, v)? => {}
            _ => {
                let hint = did_you_mean(&key, BLOCK_KEYWORDS.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Err(InputError::at(&k.origin, format!("`{key}` is not a block keyword"), "here")
                    .with_help(format!("{hint}a block has `block`, `rescue`, `always` and task keywords such as `when`; modules go inside `block:`")));
            }
        }
    }
    common.inherit(parent);
    let parse = |n: Option<&Node>, what: &str| match n {
        Some(n) => parse_items(n, what, &common, ctx),
        None => Ok(Vec::new()),
    };
    Ok(Block {
        name,
        block: parse(block, "`block`")?,
        rescue: parse(rescue, "`rescue`")?,
        always: parse(always, "`always`")?,
        origin: node.origin.clone(),
    })
}

fn include_tasks(
    key: &Node,
    value: &Node,
    extra: Option<&Node>,
    loop_items: Option<&Node>,
    common: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<Vec<Item>, InputError> {
    if let Some(l) = loop_items {
        return Err(InputError::at(
            &l.origin,
            "looping over an include is not supported",
            "here",
        )
        .with_help("put the loop on the tasks inside the included file"));
    }
    let file_node = match (
        &value.value,
        value.get("file"),
        extra.and_then(|e| e.get("file")),
    ) {
        (NodeValue::Str(_), _, _) => value,
        (_, Some(f), _) | (_, _, Some(f)) => f,
        _ => {
            return Err(
                InputError::at(&key.origin, "`include_tasks` needs a file name", "here")
                    .with_help("write `include_tasks: other.yml`"),
            )
        }
    };
    let file = string(file_node, "file")?;
    if is_template(&file) {
        return Err(InputError::at(&file_node.origin, "include file names cannot use variables", "templated name")
            .with_help("baton reads every included file before running, so a typo fails early; use a fixed path and `when:` to choose"));
    }
    let path = ctx.source.dir.join(&file);
    let path = if path.is_file() {
        path
    } else if let Some(role) = &ctx.source.role {
        role.path.join("tasks").join(&file)
    } else {
        path
    };
    parse_task_file(&path, common, ctx, Some(file_node))
}

fn include_role(
    value: &Node,
    common: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<Vec<Item>, InputError> {
    let name_node = value
        .get("name")
        .or_else(|| value.get("role"))
        .ok_or_else(|| InputError::at(&value.origin, "`import_role` needs `name:`", "here"))?;
    let name = string(name_node, "name")?;
    let tasks_from = value
        .get("tasks_from")
        .map(|n| string(n, "tasks_from"))
        .transpose()?;
    let role = ctx.roles.load(
        &name,
        name_node,
        tasks_from.as_deref(),
        &ctx.source.playbook_dir,
    )?;
    role.task_items(common, ctx.roles)
}

/// Parse role entries in a play: `- name` or `- role: name` with keywords and params.
pub fn role_entry_common(entry: &Node) -> Result<(String, Node, TaskCommon), InputError> {
    if let Some(name) = entry.as_str() {
        return Ok((name.to_string(), entry.clone(), TaskCommon::default()));
    }
    let map = expect_map(entry, "a role entry")?;
    let mut common = TaskCommon::default();
    let mut name = None;
    let mut params = Vec::new();
    for (k, v) in map {
        let key = key_text(k)?;
        match key.as_str() {
            "role" | "name" => name = Some((string(v, "role")?, v.clone())),
            _ if apply_common(&mut common, &key, v)? => {}
            _ => {
                fields::check_var_name(&key, k)?;
                params.push((key, v.clone()));
            }
        }
    }
    common.vars.extend(params);
    let (name, node) = name
        .ok_or_else(|| InputError::at(&entry.origin, "a role entry needs `role: NAME`", "here"))?;
    Ok((name, node, common))
}
