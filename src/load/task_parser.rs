//! Reading task lists: tasks, blocks, includes and imports, and roles
//! expanded into their tasks and handlers (these recurse into each other).
//! One task mapping's keys are read by `task_keys`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{did_you_mean, InputError};
use crate::template_text::is_template;
use crate::yaml::{self, Node, NodeValue};

use super::fields::{expect_map, expect_seq, inline_options, key_text, string};
use super::keywords::{apply_common, BLOCK_KEYWORDS};
use super::loops::parse_loop_control;
use super::role::{role_entry_common, LoadedRole, Nest, RoleLoader};
use super::task::{Action, Block, IncludeGate, Item, Task, TaskCommon, TaskSource};
use super::task_keys::{check_delay, check_retries, read_task_keys, single_module, task_action};

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
    if !ctx.roles.is_file(path) {
        let why = crate::source::not_a_file(path).unwrap_or_else(|| "does not exist".into());
        let msg = format!("task file {} {why}", path.display());
        return Err(match at {
            Some(n) => InputError::at(&n.origin, msg, "included here"),
            None => InputError::plain(msg),
        }
        .with_help("paths are relative to the file that includes them"));
    }
    let _nested = ctx.roles.nest(Nest::File(path.to_path_buf()), at)?;
    // Under a `no_log` include, role or block, the file's errors show no
    // source and mask its values: its lines may hold the secrets.
    let hide = parent.no_log == Some(true);
    let node = ctx
        .roles
        .parse_file(path)
        .map_err(|e| if hide { e.hide_for_no_log(&[]) } else { e })?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let sub = ctx.with_dir(&dir, path.to_path_buf());
    parse_items(&node, "a task file", parent, &sub).map_err(|e| {
        if hide {
            let mut values = Vec::new();
            yaml::string_values(&node, &mut values);
            e.hide_for_no_log(&values)
        } else {
            e
        }
    })
}

fn parse_item(
    node: &Node,
    parent: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<Vec<Item>, InputError> {
    let map = expect_map(node, "a task")?;
    ctx.roles.charge(node)?;
    if node.get("block").is_some() {
        return parse_block(node, map, parent, ctx).map(|b| vec![Item::Block(Arc::new(b))]);
    }
    let mut keys = read_task_keys(map, ctx.handlers)?;
    let (module_key, module_value, module_name) = single_module(node, &keys.module_keys)?;
    keys.common.inherit(parent);

    let extra_args = keys.extra_args.as_ref();
    // In `handlers:` an include brings its tasks in as handlers of their own
    // (no include task that a `notify` could name and find empty).
    let kind = match (module_name.as_str(), ctx.handlers) {
        ("include_tasks", true) => "import_tasks",
        ("include_role", true) => "import_role",
        (name, _) => name,
    };
    let action = match kind {
        "import_tasks" => {
            return include_tasks(
                module_key,
                module_value,
                extra_args,
                keys.loop_items.as_ref(),
                &keys.common,
                ctx,
            )
            .map(|(_, items)| items);
        }
        "import_role" => {
            return include_role(module_value, &keys.common, ctx).map(|(_, items)| items);
        }
        "include_tasks" | "include_role" => {
            // The include is a task of its own (Ansible counts it ok); its
            // tags select the include, not the tasks it brings in.
            // Its `when` is checked once, for the include: the included
            // tasks run where the include ran (see `TaskCommon::includes`).
            static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut inner = keys.common.clone();
            inner.when.clear();
            let tags = std::mem::take(&mut inner.tags);
            inner.includes.push(IncludeGate { id, tags });
            let looped = keys.loop_items.is_some();
            let (keyword, (target, items)) = if module_name == "include_tasks" {
                let loaded =
                    include_tasks(module_key, module_value, extra_args, None, &inner, ctx)?;
                ("include_tasks", loaded)
            } else {
                if let Some(l) = &keys.loop_items {
                    return Err(InputError::at(
                        &l.origin,
                        "looping over `include_role` is not supported",
                        "here",
                    )
                    .with_help("loop over an `include_tasks` file that includes the role, or put the loop on the role's tasks"));
                }
                ("include_role", include_role(module_value, &inner, ctx)?)
            };
            let loop_control = parse_loop_control(keys.loop_control)?;
            let marker = Task {
                name: keys.name,
                action: Action::Include {
                    keyword,
                    target,
                    id,
                },
                common: keys.common,
                loop_items: keys.loop_items,
                loop_with: keys.loop_with,
                loop_control,
                register: None,
                until: None,
                retries: None,
                delay: None,
                changed_when: None,
                failed_when: None,
                notify: Vec::new(),
                listen: Vec::new(),
                origin: node.origin.clone(),
                source: Arc::clone(&ctx.source),
            };
            let mut all = vec![Item::Task(Arc::new(marker))];
            if looped {
                // Run once per item of the include on each host (see
                // `Block::include_loop`).
                all.push(Item::Block(Arc::new(Block {
                    name: None,
                    block: items,
                    rescue: Vec::new(),
                    always: Vec::new(),
                    origin: node.origin.clone(),
                    include_loop: Some(id),
                })));
            } else {
                all.extend(items);
            }
            return Ok(all);
        }
        name => task_action(name, module_key, module_value, extra_args, ctx.handlers)?,
    };

    let loop_control = parse_loop_control(keys.loop_control)?;
    if let Some(d) = &keys.delay {
        check_delay(d)?;
    }
    if let Some(r) = &keys.retries {
        check_retries(r)?;
    }
    Ok(vec![Item::Task(Arc::new(Task {
        name: keys.name,
        action,
        common: keys.common,
        loop_items: keys.loop_items,
        loop_with: keys.loop_with,
        loop_control,
        register: keys.register,
        until: keys.until,
        retries: keys.retries,
        delay: keys.delay,
        changed_when: keys.changed_when,
        failed_when: keys.failed_when,
        notify: keys.notify,
        listen: keys.listen,
        origin: node.origin.clone(),
        source: Arc::clone(&ctx.source),
    }))])
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
    let _nested = ctx.roles.nest(Nest::Block, Some(node))?;
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
        include_loop: None,
    })
}

fn include_tasks(
    key: &Node,
    value: &Node,
    extra: Option<&Node>,
    loop_items: Option<&Node>,
    common: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<(String, Vec<Item>), InputError> {
    if let Some(l) = loop_items {
        return Err(InputError::at(
            &l.origin,
            "`import_tasks` cannot loop (Ansible refuses it too)",
            "here",
        )
        .with_help("use `include_tasks` to run a file once per item"));
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
    let path = if ctx.roles.is_file(&path) {
        path
    } else if let Some(role) = &ctx.source.role {
        role.path.join("tasks").join(&file)
    } else {
        path
    };
    Ok((file, parse_task_file(&path, common, ctx, Some(file_node))?))
}

fn include_role(
    value: &Node,
    common: &TaskCommon,
    ctx: &ParseCtx<'_>,
) -> Result<(String, Vec<Item>), InputError> {
    // The one-line form, `include_role: name=r tasks_from=x`, as Ansible
    // takes it: the same options as a mapping.
    let inline;
    let value = match value.as_str() {
        Some(text) if text.contains('=') => {
            let entries = inline_options(
                value,
                text,
                "include_role",
                "write `include_role: name=ROLE` or the options as a mapping",
            )?
            .into_iter()
            .map(|(k, v)| {
                let key = Node {
                    value: NodeValue::Str(k),
                    origin: v.origin.clone(),
                };
                (key, v)
            })
            .collect();
            inline = Node {
                value: NodeValue::Map(entries),
                origin: value.origin.clone(),
            };
            &inline
        }
        _ => value,
    };
    let name_node = value
        .get("name")
        .or_else(|| value.get("role"))
        .ok_or_else(|| {
            InputError::at(
                &value.origin,
                "`include_role`/`import_role` needs `name:`",
                "here",
            )
        })?;
    let name = string(name_node, "name")?;
    // Options baton does not act on are refused, not ignored: a role's
    // vars from another file silently left unread runs the role wrong.
    for (key, _) in value.as_map().unwrap_or_default() {
        let key_name = key.as_str().unwrap_or_default();
        let why = match key_name {
            "name" | "role" | "tasks_from" | "public" | "allow_duplicates"
            | "rolespec_validate" => continue,
            "vars_from" | "defaults_from" | "handlers_from" | "apply" => {
                format!("`{key_name}` of include_role/import_role is not supported")
            }
            _ => format!("`{key_name}` is not an option of include_role/import_role"),
        };
        return Err(InputError::at(&key.origin, why, "here").with_help(
            "include_role and import_role take name and tasks_from (public, allow_duplicates and rolespec_validate are accepted); set the role's variables with the task's `vars:`",
        ));
    }
    let tasks_from = value
        .get("tasks_from")
        .map(|n| string(n, "tasks_from").map(|file| (file, n)))
        .transpose()?;
    let role = ctx.roles.load(
        &name,
        name_node,
        tasks_from.as_ref().map(|(file, n)| (file.as_str(), *n)),
        &ctx.source.playbook_dir,
    )?;
    Ok((name, role_task_items(&role, common, ctx.roles, name_node)?))
}

/// A role's tasks (after its dependencies' tasks, recursively), each
/// inheriting `common`. Errors: the role's or a dependency's bad task files,
/// and dependencies that are not found.
///
/// `at` is the entry that names the role (a `roles:` item, a dependency, an
/// `include_role`); a role that comes back to itself is refused there.
pub fn role_task_items(
    role: &LoadedRole,
    common: &TaskCommon,
    roles: &RoleLoader,
    at: &Node,
) -> Result<Vec<Item>, InputError> {
    roles.charge(at)?;
    let _nested = roles.nest(Nest::Role(role.info.name.clone()), Some(at))?;
    roles.enter(role, at)?;
    let items = role_task_items_inner(role, common, roles);
    roles.leave();
    items
}

fn role_task_items_inner(
    role: &LoadedRole,
    common: &TaskCommon,
    roles: &RoleLoader,
) -> Result<Vec<Item>, InputError> {
    let mut items = Vec::new();
    for dep in &role.dependencies {
        let (name, at, own) = role_entry_common(dep)?;
        let dependency = roles.load(&name, &at, None, &role.playbook_dir)?;
        let Some(key) = roles.to_expand(&dependency, &own) else {
            continue;
        };
        let mut dep_common = own;
        dep_common.inherit(common);
        items.extend(role_task_items(&dependency, &dep_common, roles, &at)?);
        roles.expanded(key);
    }
    if let Some(file) = &role.tasks_file {
        let ctx = role_ctx(role, roles, role.info.path.join("tasks"), false);
        items.extend(parse_task_file(file, common, &ctx, None)?);
    }
    Ok(items)
}

/// A role's `handlers/main.yml` as items (none when the role has no handlers).
/// `common` carries what the handlers inherit (the role's parameters).
pub fn role_handler_items(
    role: &LoadedRole,
    common: &TaskCommon,
    roles: &RoleLoader,
) -> Result<Vec<Item>, InputError> {
    match &role.handlers_file {
        Some(file) => {
            let ctx = role_ctx(role, roles, role.info.path.join("handlers"), true);
            parse_task_file(file, common, &ctx, None)
        }
        None => Ok(Vec::new()),
    }
}

fn role_ctx<'a>(
    role: &LoadedRole,
    roles: &'a RoleLoader,
    dir: PathBuf,
    handlers: bool,
) -> ParseCtx<'a> {
    ParseCtx {
        source: Arc::new(TaskSource {
            dir,
            role: Some(Arc::clone(&role.info)),
            playbook_dir: role.playbook_dir.clone(),
        }),
        roles,
        stack: Vec::new(),
        handlers,
    }
}
