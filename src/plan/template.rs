//! Templating for strings, values, conditions and template files: Jinja2
//! (minijinja, see [`super::jinja`]) everywhere, handlebars for `.hbs` files.
//!
//! Every template carries the [`Origin`] of the YAML value it came from, so an
//! error (an undefined variable, a syntax error, an unknown filter) is
//! reported at its file, line and column.

use std::path::{Component, Path, PathBuf};

use handlebars::{Handlebars, RenderError, RenderErrorReason};
use minijinja::{Environment, ErrorKind};
use serde_json::{Map, Value};

use super::backslash::escape_backslashes;
use super::context::{AsContext, Context};
use super::helpers;
use super::jinja::{check, env, header, native, rewrite};
use crate::error::{did_you_mean, InputError};
use crate::source::Origin;
use crate::template_text::is_template;
use crate::yaml::{Node, NodeValue};

/// What `ansible_managed` says in a rendered template file: ansible-core's
/// default (`DEFAULT_MANAGED_STR`), so rendered files match Ansible's byte
/// for byte.
pub const ANSIBLE_MANAGED: &str = "Ansible managed";

pub struct Templater {
    jinja: Environment<'static>,
    hb: Handlebars<'static>,
    /// The most steps one Jinja render may take ([`bounds::template_steps`]).
    steps: u64,
}

impl Default for Templater {
    fn default() -> Self {
        Templater::new()
    }
}

/// The expression of a condition: the text itself, or the inside of a lone
/// `{{ expr }}` (Ansible accepts `when: "{{ x }}"`, with a warning).
fn condition_source(expr: &str) -> &str {
    let trimmed = expr.trim();
    native::single_expression(trimmed).unwrap_or(trimmed)
}

/// The error of a condition whose result is not a boolean, worded as
/// ansible-core 2.19's ("Conditional result (True) was derived from value of
/// type 'str' ... Conditionals must have a boolean result"); it fails the task.
fn not_a_boolean(value: &minijinja::Value, expr: &str, origin: &Origin) -> InputError {
    let json = native::to_json(value);
    let (type_name, help) = match &json {
        Value::String(_) => (
            "str",
            "`| bool` reads a yes/no string, `| length > 0` tests that it is not empty",
        ),
        Value::Number(n) if n.is_f64() => ("float", "compare it, e.g. `x > 0`, or use `| bool`"),
        Value::Number(_) => ("int", "compare it, e.g. `x > 0`, or use `| bool`"),
        Value::Array(_) => ("list", "`| length > 0` tests that it is not empty"),
        Value::Object(_) => ("dict", "`| length > 0` tests that it is not empty"),
        _ => ("NoneType", "`is none` / `is not none` test for null"),
    };
    let python_truth = if helpers::python_truthy(&json) {
        "True"
    } else {
        "False"
    };
    InputError::at(
        origin,
        format!(
            "conditional result ({python_truth}) of `{}` was derived from value of type '{type_name}'; conditionals must have a boolean result",
            expr.trim()
        ),
        "this condition",
    )
    .with_help(format!("make the test explicit: {help}"))
    .failing_the_task()
}

/// Whether a rendered value is `omit` (the argument or entry is dropped).
pub fn is_omit(value: &Value) -> bool {
    value.as_str() == Some(native::OMIT)
}

/// A rendered value nested too deep, at the template that built it.
pub(crate) fn too_deep(e: native::TooBig, origin: &Origin) -> InputError {
    let help = match e {
        native::TooBig::Deep => "build the value flat (a list of items, a mapping of keys) instead of wrapping it again each time",
        native::TooBig::Large => "build the value so that it does not hold the same part many times, or keep it smaller than 16 MiB",
        native::TooBig::Stopped => "the run was asked to stop; run it again to render this",
    };
    InputError::at(origin, e.message(), "this template's value").with_help(help)
}

/// A concatenation of lists (`l + l`: minijinja keeps it lazy, an
/// iterable over its parts that cannot be indexed) as one list of the same
/// items, shared, not copied; only when it has at most
/// [`FLATTEN_MAX_ITEMS`] items, so that the list made costs at most a few
/// times the value cap however small its items measure. A longer one is
/// left as it is, for the caller's measure to refuse without building it
/// (or to convert, when its items are that small). Other values as they
/// are: an unsized iterable may be a stream that must not be consumed.
fn flatten_sized(value: minijinja::Value) -> minijinja::Value {
    if !is_sized_iterable(&value) || value.len().is_none_or(|n| n > FLATTEN_MAX_ITEMS) {
        return value;
    }
    match value.try_iter() {
        Ok(items) => minijinja::Value::from(items.collect::<Vec<_>>()),
        Err(_) => value,
    }
}

/// The most items [`flatten_sized`] makes into a list: one per 8 bytes of
/// the value cap (a number measures 8), 2 Mi items, 48 MiB of list.
const FLATTEN_MAX_ITEMS: usize = crate::plan::vars::MAX_VALUE_BYTES / 8;

/// An iterable that knows its length (a lazy concatenation of lists), not
/// a stream.
fn is_sized_iterable(value: &minijinja::Value) -> bool {
    value.kind() == minijinja::value::ValueKind::Iterable && value.len().is_some()
}

/// Byte offset of `part` (a subslice of `whole`) inside `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .filter(|o| *o <= whole.len())
        .unwrap_or(0)
}

/// 1-based line and column of a byte offset in text.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The origin of a byte range inside a template string.
fn place(origin: &Origin, text: &str, range: std::ops::Range<usize>) -> Origin {
    let (line, col) = line_col(text, range.start);
    origin.inner(line, col, range.len().max(1))
}

/// Load-time check of a template string: syntax, filters and tests exist
/// (also in branches that never run), literal regexes compile.
pub fn check_template(text: &str, origin: &Origin) -> Result<(), InputError> {
    if !is_template(text) {
        return Ok(());
    }
    check::template(text).map_err(|p| problem(p, text, 0, origin))
}

/// Load-time check of a condition (a bare Jinja expression).
pub fn check_condition(expr: &str, origin: &Origin) -> Result<(), InputError> {
    let source = condition_source(expr);
    check::expression(source).map_err(|p| problem(p, expr, offset_in(expr, source), origin))
}

/// Load-time check of every template string in a YAML node (keys included).
pub fn check_node(node: &Node) -> Result<(), InputError> {
    match &node.value {
        NodeValue::Str(s) => check_template(&escape_backslashes(s), &node.origin),
        NodeValue::Seq(items) => items.iter().try_for_each(check_node),
        NodeValue::Map(entries) => entries.iter().try_for_each(|(k, v)| {
            check_node(k)?;
            check_node(v)
        }),
        _ => Ok(()),
    }
}

/// Load-time check of a condition node (an expression, a list of them, a literal).
pub fn check_condition_node(node: &Node) -> Result<(), InputError> {
    match &node.value {
        NodeValue::Str(s) => check_condition(s, &node.origin),
        NodeValue::Seq(items) => items.iter().try_for_each(check_condition_node),
        _ => Ok(()),
    }
}

fn problem(p: check::Problem, text: &str, base: usize, origin: &Origin) -> InputError {
    let range = base + p.range.start..base + p.range.end;
    let label = if p.message.contains("syntax") {
        "here"
    } else {
        "used here"
    };
    let err = InputError::at(&place(origin, text, range), p.message, label);
    match p.help {
        Some(h) => err.with_help(h),
        None => err,
    }
}

/// Whether a template file may load others (`include`, `import`, `from`,
/// `extends`): only those need a loader.
fn names_other_templates(text: &str) -> bool {
    text.contains("{%")
        && ["include", "import", "extends"]
            .iter()
            .any(|w| text.contains(w))
}

/// A minijinja loader that reads `name` from the first of `dirs` holding it.
/// Absolute names and names with `..` are refused, as Jinja2's
/// `FileSystemLoader` (Ansible's template search path) refuses them.
fn file_loader(
    dirs: Vec<PathBuf>,
    syntax: minijinja::syntax::SyntaxConfig,
) -> impl Fn(&str) -> Result<Option<String>, minijinja::Error> + Send + Sync + 'static {
    move |name: &str| {
        let rel = Path::new(name);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "template `{name}`: only names relative to the template search path \
                     (the template's directory, then `templates/` of the role and playbook) \
                     are allowed"
                ),
            ));
        }
        for dir in &dirs {
            let path = dir.join(rel);
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| {
                    minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("cannot read template {}: {e}", path.display()),
                    )
                })?;
                let text = crate::source::text_of(&path, bytes)
                    .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))?;
                check::depth(&text, syntax.clone(), false).map_err(|p| {
                    minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("template {}: {}", path.display(), p.message),
                    )
                })?;
                return Ok(Some(rewrite::template_with(&text, &syntax).text));
            }
        }
        Ok(None)
    }
}

/// A rendered value: plain data, or a list or mapping still in template
/// form ([`Templater::render_value_native`]).
pub enum Rendered {
    Json(Value),
    Jinja(minijinja::Value),
}

/// Ask every render in progress to end at its next checkpoint (a stop
/// request: Ctrl-C, SIGTERM, SIGHUP); see [`crate::plan::jinja::stop`].
pub fn request_stop() {
    crate::plan::jinja::stop::request_stop();
}

impl Templater {
    pub fn new() -> Templater {
        // An invalid setting is refused by the CLI before anything runs.
        Templater::with_step_limit(
            crate::bounds::template_steps().unwrap_or(crate::bounds::MAX_TEMPLATE_STEPS),
        )
    }

    /// Every Jinja render runs on a budget of `steps` instructions (minijinja's
    /// fuel), so that no template, however it loops, holds a run for ever.
    pub fn with_step_limit(steps: u64) -> Templater {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut hb);
        helpers::register_blocks(&mut hb);
        let mut jinja = env::environment();
        jinja.set_fuel(Some(steps));
        Templater { jinja, hb, steps }
    }

    /// Render text to a string.
    pub fn render_str(
        &self,
        text: &str,
        vars: &(impl AsContext + ?Sized),
        origin: &Origin,
    ) -> Result<String, InputError> {
        if !is_template(text) {
            return Ok(text.to_string());
        }
        let text = escape_backslashes(text);
        self.string_with(&text, &vars.as_context().jinja(), origin)
    }

    fn string_with(
        &self,
        text: &str,
        ctx: &minijinja::Value,
        origin: &Origin,
    ) -> Result<String, InputError> {
        self.render_text("<string>", text, ctx, origin, &[])
    }

    /// Render a template (inline or a file's text): its `#jinja2:` line
    /// applied to a copy of the environment, `dirs` the search path of
    /// `{% include %}` and friends (a loader is set only when the text names
    /// other templates), Python's operators rewritten, and the template's
    /// trailing newlines kept as Ansible's templar keeps them.
    fn render_text(
        &self,
        name: &str,
        text: &str,
        ctx: &minijinja::Value,
        origin: &Origin,
        dirs: &[PathBuf],
    ) -> Result<String, InputError> {
        // the 16 MiB cap on this render's output, counted as it is written
        let _budget = crate::plan::jinja::python_repr::OutputBudget::start();
        let _watch = crate::plan::jinja::stop::RenderWatch::start();
        let head = header::split(text).map_err(|p| problem(p, text, 0, origin))?;
        let (body, overrides) = match &head {
            Some(h) => (h.body, Some(&h.overrides)),
            None => (text, None),
        };
        let base = text.len() - body.len();
        check::depth(
            body,
            overrides.map(|o| o.syntax()).unwrap_or_default(),
            false,
        )
        .map_err(|p| problem(p, text, base, origin))?;
        let loader = !dirs.is_empty() && names_other_templates(body);
        let custom;
        let env = if overrides.is_some() || loader {
            // A copy per template: names resolve against this template's
            // search path (the cache of loaded templates must not mix two
            // roles' `header.j2`), and header settings stay with it.
            let mut jinja = self.jinja.clone();
            let syntax = overrides.map(|o| o.syntax()).unwrap_or_default();
            if let Some(o) = overrides {
                o.apply(&mut jinja);
            }
            if loader {
                jinja.set_loader(file_loader(dirs.to_vec(), syntax));
            }
            custom = jinja;
            &custom
        } else {
            &self.jinja
        };
        let rw = match overrides {
            Some(o) => rewrite::template_with(&o.body_text(body), &o.syntax()),
            None => rewrite::template(body),
        }
        .shifted(base);
        env.render_named_str(name, &rw.text, ctx)
            // a loop over a range cut by a stop request ended early: its
            // output is not the template's
            .and_then(|out| crate::plan::jinja::stop::checkpoint().map(|()| out))
            .map(|out| env::keep_trailing_newlines(body, out))
            .map_err(|e| self.error(e, text, text, false, ctx, origin, &rw))
    }

    /// Render text to a value. A string that is exactly one `{{ expression }}`
    /// keeps the expression's type (a list stays a list, a number a number),
    /// as Ansible does; anything else (even whitespace around it) is a string.
    pub fn render_value(
        &self,
        text: &str,
        vars: &(impl AsContext + ?Sized),
        origin: &Origin,
    ) -> Result<Value, InputError> {
        if !is_template(text) {
            return Ok(Value::String(text.to_string()));
        }
        self.value_with(text, &vars.as_context().jinja(), origin)
    }

    /// [`Self::render_value`], but a lone expression that gives a list or
    /// mapping is kept as the template value it is, unconverted: its parts
    /// stay shared (`[v, v]` holds `v` once), so a variable built from
    /// others costs its own size in memory, not its size written out, and
    /// the caller measures it before converting anything
    /// ([`native::measure`]).
    pub fn render_value_native(
        &self,
        text: &str,
        vars: &Context,
        origin: &Origin,
    ) -> Result<Rendered, InputError> {
        if is_template(text) {
            // the conversion below belongs to the render: a stop cuts it
            let _watch = crate::plan::jinja::stop::RenderWatch::start();
            let escaped = escape_backslashes(text);
            if let Some(expr) = native::single_expression(&escaped) {
                let ctx = vars.jinja();
                let value = self.eval(&escaped, expr, &ctx, origin)?;
                let value = flatten_sized(value);
                if matches!(
                    value.kind(),
                    minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Map
                ) || is_sized_iterable(&value)
                {
                    return Ok(Rendered::Jinja(value));
                }
                // as `value_with` does with a lone expression's value
                let value = native::to_json_bounded(&value).map_err(|e| too_deep(e, origin))?;
                return Ok(Rendered::Json(match value {
                    Value::String(s) => Value::String(env::keep_trailing_newlines(&escaped, s)),
                    other => other,
                }));
            }
        }
        self.render_value(text, vars, origin).map(Rendered::Json)
    }

    fn value_with(
        &self,
        text: &str,
        ctx: &minijinja::Value,
        origin: &Origin,
    ) -> Result<Value, InputError> {
        if !is_template(text) {
            return Ok(Value::String(text.to_string()));
        }
        // the conversion below belongs to the render: a stop cuts it
        let _watch = crate::plan::jinja::stop::RenderWatch::start();
        let escaped = escape_backslashes(text);
        let text: &str = &escaped;
        if let Some(expr) = native::single_expression(text) {
            let value = self.eval(text, expr, ctx, origin)?;
            // A string result gets the template's trailing newlines back, as
            // Ansible 2.19's `_post_render_mutation` does; other types keep
            // their type and lose the newline.
            let value = native::to_json_bounded(&value).map_err(|e| too_deep(e, origin))?;
            return Ok(match value {
                Value::String(s) => Value::String(env::keep_trailing_newlines(text, s)),
                other => other,
            });
        }
        // Ansible 2.19 (Jinja2's native concat): a template that outputs
        // nothing at all, no text and no `{{ }}` (only blocks whose
        // conditions are false, loops over nothing), is None, not ''.
        let before = crate::plan::jinja::python_repr::outputs_formatted();
        let out = self.string_with(text, ctx, origin)?;
        if out.is_empty() && crate::plan::jinja::python_repr::outputs_formatted() == before {
            return Ok(Value::Null);
        }
        Ok(Value::String(out))
    }

    /// Evaluate `expr` (a subslice of `text`); undefined is an error.
    fn eval(
        &self,
        text: &str,
        expr: &str,
        ctx: &minijinja::Value,
        origin: &Origin,
    ) -> Result<minijinja::Value, InputError> {
        check::depth(expr, Default::default(), true)
            .map_err(|p| problem(p, text, offset_in(text, expr), origin))?;
        if !native::is_one_expression(expr) {
            return Err(match check::expression(expr) {
                Err(p) => problem(p, text, offset_in(text, expr), origin),
                Ok(()) => InputError::at(origin, "not one Jinja expression", "here"),
            });
        }
        let rw = rewrite::expression(expr);
        let _watch = crate::plan::jinja::stop::RenderWatch::start();
        let value = self
            .jinja
            .compile_expression_owned(rw.text.clone())
            .and_then(|e| e.eval(ctx))
            .and_then(|v| {
                // a loop over a range cut by a stop request ended early: its
                // result is not the template's
                crate::plan::jinja::stop::checkpoint().map(|()| v)
            })
            .map_err(|e| self.error(e, text, expr, true, ctx, origin, &rw))?;
        if value.is_undefined() {
            let err = minijinja::Error::from(ErrorKind::UndefinedError);
            return Err(self.error(err, text, expr, true, ctx, origin, &rw));
        }
        Ok(value)
    }

    /// [`Self::render_node`], but a node that is one string holding one
    /// `{{ expression }}` whose value is a list or mapping gives that value
    /// in template form, unconverted ([`Self::render_value_native`]): the
    /// caller measures it ([`native::measure`], linear in its size in
    /// memory) before converting or keeping it. A `set_fact` doubling a
    /// list in a loop is then refused without building the refused value
    /// as JSON.
    pub fn render_node_native(&self, node: &Node, vars: &Context) -> Result<Rendered, InputError> {
        match &node.value {
            NodeValue::Str(s) if is_template(s) => self.render_value_native(s, vars, &node.origin),
            _ => self.render_node(node, vars).map(Rendered::Json),
        }
    }

    /// Render every string inside a YAML node. A mapping entry whose value is
    /// `omit` is dropped.
    pub fn render_node(
        &self,
        node: &Node,
        vars: &(impl AsContext + ?Sized),
    ) -> Result<Value, InputError> {
        // The variables are made template values once, and only if a string
        // needs them.
        let vars = vars.as_context();
        let ctx = std::cell::OnceCell::new();
        self.node_with(node, &ctx, &vars)
    }

    fn node_with(
        &self,
        node: &Node,
        lazy: &std::cell::OnceCell<minijinja::Value>,
        vars: &Context,
    ) -> Result<Value, InputError> {
        let ctx = || lazy.get_or_init(|| vars.jinja());
        Ok(match &node.value {
            NodeValue::Str(s) if !is_template(s) => Value::String(s.clone()),
            NodeValue::Str(s) => self.value_with(s, ctx(), &node.origin)?,
            NodeValue::Seq(items) => {
                let mut list = Vec::with_capacity(items.len());
                for n in items {
                    let value = self.node_with(n, lazy, vars)?;
                    // A list item that is `omit` is left out too (Ansible 2.19).
                    if !is_omit(&value) {
                        list.push(value);
                    }
                }
                Value::Array(list)
            }
            NodeValue::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = match &k.value {
                        NodeValue::Str(s) if is_template(s) => {
                            self.string_with(&escape_backslashes(s), ctx(), &k.origin)?
                        }
                        _ => k.scalar_text().unwrap_or_default(),
                    };
                    let value = self.node_with(v, lazy, vars)?;
                    if is_omit(&value) {
                        continue;
                    }
                    map.insert(key, value);
                }
                Value::Object(map)
            }
            _ => node.to_json(),
        })
    }

    /// Evaluate a condition: a bare Jinja expression (`hvr_state == 'START'`,
    /// `r is failed`, `x | bool`), or a lone `{{ expr }}`.
    ///
    /// The result must be a boolean, as in ansible-core 2.19 (without
    /// `ALLOW_BROKEN_CONDITIONALS`): a string, number, list, mapping or null
    /// fails the task ([`InputError::task_failure`], exit 2), naming the type
    /// and how to write the test. A lone `{{ expr }}` that gives a string is
    /// evaluated once more as an expression, as Ansible does (`when: "{{ flag
    /// }}"` with `flag: "false"` is false).
    pub fn condition(
        &self,
        expr: &str,
        vars: &(impl AsContext + ?Sized),
        origin: &Origin,
    ) -> Result<bool, InputError> {
        let source = condition_source(expr);
        let ctx = vars.as_context().jinja();
        let mut value = self.eval(expr, source, &ctx, origin)?;
        if source != expr.trim() {
            if let Some(again) = value.as_str().map(str::to_string) {
                value = self.eval(&again, &again, &ctx, origin)?;
            }
        }
        if let Some(b) = native::to_json_bounded(&value)
            .map_err(|e| too_deep(e, origin))?
            .as_bool()
        {
            return Ok(b);
        }
        Err(not_a_boolean(&value, expr, origin))
    }

    /// Evaluate a condition given as a YAML node: an expression string, a
    /// literal boolean or number, or a list of them (all must hold).
    pub fn condition_node(
        &self,
        node: &Node,
        vars: &(impl AsContext + ?Sized),
    ) -> Result<bool, InputError> {
        match &node.value {
            NodeValue::Bool(b) => Ok(*b),
            NodeValue::Str(s) => self.condition(s, vars, &node.origin),
            // An empty `when:` is no condition (Ansible runs the task).
            NodeValue::Null => Ok(true),
            NodeValue::Seq(items) => {
                for item in items {
                    if !self.condition_node(item, vars)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            // Ansible fails the task: "Conditional expressions must be strings."
            _ => Err(InputError::at(
                &node.origin,
                format!(
                    "a condition must be an expression or a boolean, not {}",
                    node.kind_name()
                ),
                "this condition",
            )
            .with_help("write e.g. `when: hvr_state == 'START'`")
            .failing_the_task()),
        }
    }

    /// Render a template file (the `template` module's `src`): handlebars for
    /// a `.hbs` file, Jinja2 for `.j2` and anything else. `ansible_managed`
    /// is defined unless the variables define it.
    pub fn render_file(
        &self,
        name: &str,
        text: &str,
        vars: &(impl AsContext + ?Sized),
    ) -> Result<String, InputError> {
        let own: Vec<PathBuf> = Path::new(name)
            .parent()
            .map(Path::to_path_buf)
            .into_iter()
            .collect();
        self.render_file_in(name, text, vars, &own)
    }

    /// [`Self::render_file`] with `dirs`, the places (in order) where
    /// `{% include %}`, `{% import %}`, `{% from %}` and `{% extends %}` look
    /// up the names they are given, as Ansible's template search path: the
    /// template's own directory, then the `templates/` directories of the
    /// role and the playbook. A name must be relative and stay inside them
    /// (no `..`), as with Jinja2's `FileSystemLoader`.
    pub fn render_file_in(
        &self,
        name: &str,
        text: &str,
        vars: &(impl AsContext + ?Sized),
        dirs: &[PathBuf],
    ) -> Result<String, InputError> {
        let vars = vars.as_context();
        let origin = Origin::synthetic(name, text);
        // a template file not readable by others shows no lines in an error
        if crate::source::is_private(Path::new(name)) {
            origin.file.mark_private();
        }
        if name.ends_with(".hbs") {
            // Handlebars reads plain data: the shared values (as big as the
            // inventory) only when the template names them.
            let data = vars.to_json(|shared| text.contains(shared));
            return self
                .hb
                .render_template(text, &data)
                .map_err(|e| self.hbs_error(e, text, &vars.jinja(), &origin));
        }
        let mut ctx = vars.jinja();
        if !vars.contains("ansible_managed") {
            ctx = minijinja::context! { ansible_managed => ANSIBLE_MANAGED, ..ctx };
        }
        self.render_text(name, text, &ctx, &origin, dirs)
    }

    /// A minijinja error as an input error at its place. `source` is what was
    /// written (a subslice of `text`), `is_expr` whether it is a bare
    /// expression, `rw` the rewritten source that was compiled (its ranges
    /// map back to `source`).
    #[allow(clippy::too_many_arguments)]
    fn error(
        &self,
        err: minijinja::Error,
        text: &str,
        source: &str,
        is_expr: bool,
        vars: &minijinja::Value,
        origin: &Origin,
        rw: &rewrite::Rewritten,
    ) -> InputError {
        let err_range = err.range().map(|r| rw.original_range(r));
        let base = offset_in(text, source);
        // Syntax errors, unknown filters and tests: the load-time check names them.
        if matches!(
            err.kind(),
            ErrorKind::SyntaxError | ErrorKind::UnknownFilter | ErrorKind::UnknownTest
        ) {
            let checked = if is_expr {
                check::expression(source)
            } else {
                check::template(source)
            };
            if let Err(p) = checked {
                return problem(p, text, base, origin);
            }
        }
        let range = err_range
            .clone()
            .map(|r| base + r.start..base + r.end)
            .unwrap_or(base..base + source.len());
        if err.kind() == ErrorKind::UndefinedError {
            if let Some((name, at)) = undefined_name(source, is_expr, vars, err_range) {
                let here = place(origin, text, base + at.start..base + at.end);
                if let Some(cycle) = super::hostvars::take_cycle(Some(&name)) {
                    return hostvars_cycle(cycle, &here);
                }
                let mut help = format!(
                    "define `{name}` (inventory, group_vars, play vars, register, or -e {name}=...), or write `{name} | default(...)` if it is optional"
                );
                if let Some(close) = similar_name(&name, vars) {
                    help = format!("did you mean `{close}`? Otherwise {help}");
                }
                return InputError::at(
                    &here,
                    format!("undefined variable `{name}`"),
                    "undefined here",
                )
                .with_help(help);
            }
            let here = place(origin, text, range.clone());
            if source.contains("hostvars") {
                if let Some(cycle) = super::hostvars::take_cycle(None) {
                    return hostvars_cycle(cycle, &here);
                }
            }
            let detail = err.detail().unwrap_or("an undefined value is used");
            return InputError::at(
                &place(origin, text, range),
                format!("undefined value: {detail}"),
                "undefined here",
            )
            .with_help("guard it with `is defined` or `| default(...)`");
        }
        if err.kind() == ErrorKind::OutOfFuel {
            return InputError::at(
                &place(origin, text, base..base + source.len()),
                format!(
                    "template stopped after {} steps, the most one template may take: it loops far longer than intended",
                    self.steps
                ),
                "this template",
            )
            .with_help(format!(
                "shorten its loops; if it really needs more, set {}={} or higher",
                crate::bounds::TEMPLATE_STEPS_VAR,
                self.steps.saturating_mul(10)
            ));
        }
        if let Some(chain) = include_cycle(&err) {
            return InputError::at(
                &place(origin, text, range),
                format!("cannot render template: it includes or imports itself: {chain}"),
                "in this template",
            )
            .with_help(
                "an `{% include %}`, `{% import %}` or `{% from %}` that reaches its own \
                 template again never ends; remove the one that closes the cycle",
            );
        }
        let detail = err
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| err.kind().to_string());
        let e = InputError::at(
            &place(origin, text, range),
            format!("cannot render template: {detail}"),
            "in this template",
        );
        if detail.contains("not supported between instances of")
            || detail.contains("requires string as left operand")
            || detail.contains("unsupported operand type")
        {
            // Python's TypeError, as Ansible 2.19 raises it
            return e.with_help(
                "convert one side first, e.g. `x | int > 3`, `x | string == '5'`, \
                 `x | float` (Ansible 2.19 refuses this too)",
            );
        }
        e
    }

    fn hbs_error(
        &self,
        err: RenderError,
        text: &str,
        vars: &minijinja::Value,
        origin: &Origin,
    ) -> InputError {
        let line = err.line_no.unwrap_or(1);
        let col = err.column_no.unwrap_or(1);
        match err.reason() {
            RenderErrorReason::MissingVariable(path) => {
                let name = path.clone().unwrap_or_else(|| "?".into());
                let place = locate(text, &name)
                    .map(|(l, c)| origin.inner(l, c, name.len()))
                    .unwrap_or_else(|| origin.clone());
                let mut help = format!(
                    "define `{name}` (inventory, group_vars, play vars, register, or -e {name}=...), or write (default {name} \"...\") if it is optional"
                );
                if let Some(close) = similar_name(&name, vars) {
                    help = format!("did you mean `{close}`? Otherwise {help}");
                }
                InputError::at(
                    &place,
                    format!("undefined variable `{name}`"),
                    "undefined here",
                )
                .with_help(help)
            }
            RenderErrorReason::TemplateError(t) => {
                let place = match t.pos() {
                    Some((l, c)) => origin.inner(l, c, 2),
                    None => origin.clone(),
                };
                InputError::at(&place, format!("template syntax error: {}", t.reason()), "in this template")
                    .with_help(".hbs templates use handlebars: {{var}}, {{helper arg ...}}, {{#if (eq a b)}}...{{/if}}")
            }
            RenderErrorReason::HelperNotFound(name) => {
                let hint = did_you_mean(name, helpers::HELPER_NAMES.iter().copied())
                    .map(|h| format!("did you mean `{h}`? "))
                    .unwrap_or_default();
                InputError::at(
                    origin,
                    format!("unknown template helper `{name}`"),
                    "used here",
                )
                .with_help(format!(
                    "{hint}available helpers: {}",
                    helpers::HELPER_NAMES.join(", ")
                ))
            }
            other => {
                let place = if line > 1 || col > 1 {
                    origin.inner(line, col, 1)
                } else {
                    origin.clone()
                };
                InputError::at(
                    &place,
                    format!("cannot render template: {other}"),
                    "in this template",
                )
            }
        }
    }
}

/// The cycle of templates an `{% include %}`/`{% import %}` error went
/// round (`self.j2 -> self.j2`, `a.j2 -> b.j2 -> a.j2`), when it ended in
/// minijinja's recursion limit; `None` for other errors. minijinja wraps
/// the error of each included template in "error in \"NAME\"" (kind
/// `BadInclude`) and stops at its recursion limit with "recursion limit
/// exceeded": the names down that chain repeat at the cycle. (`{% extends
/// %}` of itself has its own message, "cycle in template inheritance".)
fn include_cycle(err: &minijinja::Error) -> Option<String> {
    if err.kind() != ErrorKind::BadInclude {
        return None;
    }
    let mut names: Vec<String> = err.name().map(str::to_string).into_iter().collect();
    let mut recursion = false;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(me) = e.downcast_ref::<minijinja::Error>() {
            let detail = me.detail().unwrap_or_default();
            if me.kind() == ErrorKind::BadInclude {
                if let Some(name) = detail
                    .strip_prefix("error in \"")
                    .and_then(|d| d.strip_suffix('"'))
                {
                    names.push(name.to_string());
                }
            } else if detail == "recursion limit exceeded" {
                recursion = true;
            }
        }
        cur = e.source();
    }
    if !recursion {
        return None;
    }
    // The template rendered first is named by its path
    // (`templates/a.j2`), the ones it includes by the name written
    // (`a.j2`, looked up in the same directories): the same file.
    if let Some((top, rest)) = names.split_first_mut() {
        if let Some(short) = rest.iter().find(|n| top.ends_with(&format!("/{n}"))) {
            *top = short.clone();
        }
    }
    // the first name met again closes the cycle
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|n| n == name) {
            return Some(names[j..=i].join(" -> "));
        }
    }
    None
}

/// A `hostvars` read that is undefined because it is a cycle, named as
/// [`super::vars`] names one within a host: `x (host a) -> y (host b) ->
/// x (host a)`.
fn hostvars_cycle(mut cycle: Vec<super::hostvars::CycleStep>, here: &Origin) -> InputError {
    cycle.pop();
    // from the variable whose template this is (its value holds `here`),
    // when it is on the cycle; else from the first variable read
    let holds_here = |o: &Option<Origin>| {
        o.as_ref().is_some_and(|o| {
            std::sync::Arc::ptr_eq(&o.file, &here.file)
                && (o.offset..o.offset + o.len.max(1)).contains(&here.offset)
        })
    };
    if let Some(i) = cycle.iter().position(|(_, o)| holds_here(o)) {
        cycle.rotate_left(i);
    }
    let Some(((host, name), _)) = cycle.first().cloned() else {
        return InputError::at(here, "`hostvars` refers to itself", "read here");
    };
    let mut path: Vec<String> = cycle
        .iter()
        .map(|((h, v), _)| format!("{v} (host {h})"))
        .collect();
    path.push(format!("{name} (host {host})"));
    let first = (host, name);
    InputError::at(
        here,
        format!(
            "variable `{}` of host `{}` refers to itself through hostvars: {}",
            first.1,
            first.0,
            path.join(" -> ")
        ),
        "read here",
    )
    .with_help(
        "break the cycle: give one of these variables a value that does not read the next one",
    )
}

/// The undefined variable a failed render read: the first unguarded variable
/// path (in the failing range when minijinja gives one) that does not resolve
/// in `vars`. Returns the dotted name and its byte range in `source`.
fn undefined_name(
    source: &str,
    is_expr: bool,
    vars: &minijinja::Value,
    failing: Option<std::ops::Range<usize>>,
) -> Option<(String, std::ops::Range<usize>)> {
    let refs = check::variables(source, is_expr);
    let missing = |r: &check::VarRef| -> Option<String> {
        let head = r.path.first()?;
        if env::GLOBALS.contains(&head.as_str()) && step(vars, head).is_none() {
            return None;
        }
        // Under `default`/`is defined` only the last step may be undefined:
        // Jinja's strict undefined fails on an attribute of an undefined value.
        let path = if r.guarded {
            &r.path[..r.path.len().saturating_sub(1)]
        } else {
            &r.path[..]
        };
        let mut cur = vars.clone();
        for (i, seg) in path.iter().enumerate() {
            match step(&cur, seg) {
                Some(v) => cur = v,
                None => return Some(path[..=i].join(".")),
            }
        }
        None
    };
    let overlaps = |r: &check::VarRef| {
        failing
            .as_ref()
            .is_none_or(|f| r.range.start < f.end && f.start < r.range.end)
    };
    let pick = |want_overlap: bool| {
        refs.iter()
            .filter(|r| !want_overlap || overlaps(r))
            .find_map(|r| missing(r).map(|n| (n, r.range.clone())))
    };
    pick(true).or_else(|| pick(false))
}

/// One step of a variable path: a mapping's key, or a list's index.
fn step(value: &minijinja::Value, seg: &str) -> Option<minijinja::Value> {
    use minijinja::value::ValueKind;
    let next = match value.kind() {
        ValueKind::Map => value.get_attr(seg).ok(),
        ValueKind::Seq => seg
            .parse::<usize>()
            .ok()
            .and_then(|n| value.get_item(&minijinja::Value::from(n)).ok()),
        _ => None,
    }?;
    (!next.is_undefined()).then_some(next)
}

/// 1-based line/column of the first occurrence of a variable name in text.
fn locate(text: &str, name: &str) -> Option<(usize, usize)> {
    let first = name.split(['.', '[']).next().unwrap_or(name);
    let idx = text.find(name).or_else(|| text.find(first))?;
    Some(line_col(text, idx))
}

fn similar_name(name: &str, vars: &minijinja::Value) -> Option<String> {
    let (head, rest) = match name.rsplit_once('.') {
        Some((h, r)) => (Some(h), r),
        None => (None, name),
    };
    let scope = match head {
        Some(h) => h.split('.').try_fold(vars.clone(), |v, k| step(&v, k))?,
        None => vars.clone(),
    };
    if scope.kind() != minijinja::value::ValueKind::Map {
        return None;
    }
    let keys: Vec<String> = scope
        .try_iter()
        .ok()?
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    did_you_mean(rest, keys.iter().map(String::as_str)).map(|k| match head {
        Some(h) => format!("{h}.{k}"),
        None => k.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::parse;
    use serde_json::json;

    #[test]
    fn chains_at_the_depth_limit_render_on_a_tokio_worker_sized_stack() {
        // 4 MiB: half the 8 MiB of every thread that renders (the main
        // thread, the runtime's workers); each kind of chain just under the
        // limit must fit in it, even unoptimised
        let depth = check::MAX_EXPRESSION_DEPTH - 2;
        let ok = std::thread::Builder::new()
            .stack_size(4 << 20)
            .spawn(move || {
                let t = Templater::new();
                let vars = json!({"x": {"a": 1}});
                let o = Origin::synthetic("t", "");
                for text in [
                    format!("{{{{ {}1 }}}}", "-".repeat(depth)),
                    format!("{{{{ 1{} }}}}", " + 1".repeat(depth)),
                    format!("{{{{ 1{} }}}}", " ~ 1".repeat(depth)),
                    format!("{{{{ x{} }}}}", ".a".repeat(depth)),
                    format!("{{{{ 1{} }}}}", "|string".repeat(depth)),
                ] {
                    let _ = t.render_value(&text, &vars, &o);
                }
                let _ = t.condition(&format!("{}1", "not ".repeat(depth)), &vars, &o);
                let _ = t.condition(&format!("x{}", " or x".repeat(depth)), &vars, &o);
                // one past the limit is refused with the limit, not parsed
                let past = format!("{{{{ 1{} }}}}", " + 1".repeat(depth + 3));
                t.render_value(&past, &vars, &o).unwrap_err().message
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(ok.contains("nests more than 256 operators"), "{ok}");
    }

    #[test]
    fn a_template_that_loops_past_the_step_bound_stops_with_a_clear_error() {
        let t = Templater::with_step_limit(100_000);
        let origin = Origin::synthetic("play.yml", "x");
        let endless =
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
        let file = t
            .render_file("x.j2", endless, &json!({}))
            .map(Value::String);
        for render in [
            t.render_str(endless, &json!({}), &origin)
                .map(Value::String),
            t.render_value(endless, &json!({}), &origin),
            file,
        ] {
            let err = render.map(|_| ()).unwrap_err();
            assert!(
                err.message.contains("template stopped after 100000 steps"),
                "{}",
                err.message
            );
            assert!(
                err.help
                    .as_deref()
                    .unwrap_or("")
                    .contains("BATON_MAX_TEMPLATE_STEPS=1000000"),
                "{:?}",
                err.help
            );
        }
        // A template of ordinary size is far below the bound.
        assert_eq!(
            t.render_str(
                "{% for i in range(100) %}{{ i }}{% endfor %}",
                &json!({}),
                &origin
            )
            .unwrap()
            .len(),
            190
        );
    }

    fn node(yaml: &str, key: &str) -> Node {
        parse(&SourceFile::new("play.yml", yaml))
            .unwrap()
            .get(key)
            .unwrap()
            .clone()
    }

    fn o() -> Origin {
        Origin::synthetic("t", "")
    }

    #[test]
    fn lone_expression_keeps_its_type_text_makes_a_string() {
        let t = Templater::new();
        let vars = json!({"port": 4343, "nodes": ["bc1", "bc2"], "flag": true, "m": {"k": "v"}});
        let root = parse(&SourceFile::new(
            "p.yml",
            "a: \"{{ port }}\"\nb: \"{{nodes}}\"\nc: \"p={{port}}\"\nd: \"{{ nodes | join(' ') }}\"\ne: \" {{ port }}\"\nf: \"{{ nodes }} {{ flag }} {{ m }} {{ none }}\"\ng: \"{{ none }}\"\nh: \"{{ port }}\\n\"\ni: \"{{ port }}\\n\\n\"\nj: |\n  {{ nodes }}\nk: \"{{ nodes[0] }}\\n\"\n",
        ))
        .unwrap();
        let r = |k: &str| t.render_node(root.get(k).unwrap(), &vars).unwrap();
        assert_eq!(r("a"), json!(4343));
        assert_eq!(r("b"), json!(["bc1", "bc2"]));
        assert_eq!(r("c"), json!("p=4343"));
        assert_eq!(r("d"), json!("bc1 bc2"));
        assert_eq!(r("e"), json!(" 4343"));
        // Ansible 2.19: a null inside text prints as nothing; alone it stays null.
        assert_eq!(r("f"), json!("['bc1', 'bc2'] True {'k': 'v'} "));
        assert_eq!(r("g"), json!(null));
        // Ansible 2.19: one trailing newline does not stop the typing rule
        // (a YAML `|` block of one expression is native); two do
        assert_eq!(r("h"), json!(4343));
        // ... a string result gets its newline back
        assert_eq!(r("k"), json!("bc1\n"));
        assert_eq!(r("i"), json!("4343\n\n"));
        assert_eq!(r("j"), json!(["bc1", "bc2"]));
    }

    #[test]
    fn inline_values_keep_their_trailing_newlines() {
        let t = Templater::new();
        let vars = json!({"n": 2});
        let r = |s: &str| t.render_str(s, &vars, &o()).unwrap();
        // trim_blocks eats the newline after `{% endfor %}`; Ansible puts it back.
        assert_eq!(
            r("{% for i in range(n) %}r{{ i }} {% endfor %}\n"),
            "r0 r1 \n"
        );
        assert_eq!(r("{% if n %}y{% endif %}\n\n"), "y\n\n");
        assert_eq!(r("{{ n }}\n"), "2\n");
        assert_eq!(r("{% if n %}y\n{% endif %}"), "y\n");
    }

    #[test]
    fn statements_and_comments_work_inline() {
        let t = Templater::new();
        assert!(is_template("{% if x %}y{% endif %}") && is_template("a {# c #}"));
        let out = t
            .render_str(
                "{# note #}{% for n in ns %}{{ n }},{% endfor %}",
                &json!({"ns": [1, 2]}),
                &o(),
            )
            .unwrap();
        assert_eq!(out, "1,2,");
    }

    #[test]
    fn backslashes_in_literals_are_kept_in_values_not_in_conditions_or_files() {
        let t = Templater::new();
        let vars = json!({"h": "web-01.x"});
        let n = node(
            "args:\n  a: \"{{ h | regex_replace('^([^.]+)\\\\..*$', '\\\\1') }}\\n\"\n  b: \"{{ 'a\\\\tb' }}\"\n",
            "args",
        );
        assert_eq!(
            t.render_node(&n, &vars).unwrap(),
            json!({"a": "web-01\n", "b": "a\\tb"})
        );
        assert_eq!(t.render_str(r"{{ 'x\ty' }}", &vars, &o()).unwrap(), r"x\ty");
        assert_eq!(
            t.render_value(r"{{ 'x\ty' }}", &vars, &o()).unwrap(),
            json!(r"x\ty")
        );
        // Conditions and template files: Jinja's own escapes.
        assert!(t.condition(r"'a\tb' == 'a	b'", &vars, &o()).unwrap());
        assert_eq!(
            t.render_file("f.j2", r"{{ 'x\ty' }}", &vars).unwrap(),
            "x\ty"
        );
    }

    #[test]
    fn omit_drops_the_argument() {
        let t = Templater::new();
        let n = node(
            "args:\n  a: \"{{ x | default(omit) }}\"\n  b: \"{{ y | default(omit) }}\"\n",
            "args",
        );
        assert_eq!(
            t.render_node(&n, &json!({"y": 2})).unwrap(),
            json!({"b": 2})
        );
        let n = node("args:\n  l: [1, \"{{ omit }}\", 2]\n", "args");
        assert_eq!(t.render_node(&n, &json!({})).unwrap(), json!({"l": [1, 2]}));
    }

    #[test]
    fn filters_families() {
        let t = Templater::new();
        let vars = json!({
            "l": [3, 1, 2, 1], "m": {"a": 1}, "n": {"b": {"c": 2}}, "s": "Hello World",
            "y": "yes", "e": "", "j": "{\"k\": [1]}", "p": "/etc/hvr/hub.conf",
            "r": {"rc": 0, "failed": false, "changed": true},
            "ys": "a: 1\n---\nb: [2]\n"
        });
        let cases = [
            ("{{ l | unique | sort }}", json!([1, 2, 3])),
            ("{{ l | union([4]) }}", json!([3, 1, 2, 4])),
            ("{{ l | difference([1]) }}", json!([3, 2])),
            ("{{ l | intersect([2, 3]) }}", json!([3, 2])),
            ("{{ l | min }}{{ l | max }}{{ l | sum }}", json!("137")),
            ("{{ m | combine(n) }}", json!({"a": 1, "b": {"c": 2}})),
            ("{{ n | combine({'b': {'d': 3}}, recursive=true) }}", json!({"b": {"c": 2, "d": 3}})),
            ("{{ m | dict2items }}", json!([{"key": "a", "value": 1}])),
            ("{{ m | dict2items | items2dict }}", json!({"a": 1})),
            ("{{ ['a', 'b'] | zip([1, 2]) | list }}", json!([["a", 1], ["b", 2]])),
            ("{{ dict(['a', 'b'] | zip([1, 2])) }}", json!({"a": 1, "b": 2})),
            ("{{ [1, [2, [3]]] | flatten }}", json!([1, 2, 3])),
            ("{{ [1, [2, [3]]] | flatten(1) }}", json!([1, 2, [3]])),
            ("{{ j | from_json }}", json!({"k": [1]})),
            ("{{ m | to_json }}", json!("{\"a\": 1}")),
            ("{{ 'a: 1' | from_yaml }}", json!({"a": 1})),
            ("{{ ys | from_yaml_all | list }}", json!([{"a": 1}, {"b": [2]}])),
            ("{{ none | from_yaml_all }}", json!([])),
            ("{{ 'hi' | b64encode }}", json!("aGk=")),
            ("{{ 'aGk=' | b64decode }}", json!("hi")),
            ("{{ p | basename }}", json!("hub.conf")),
            ("{{ p | dirname }}", json!("/etc/hvr")),
            ("{{ \"a'b c\" | quote }}", json!("'a'\"'\"'b c'")),
            ("{{ y | bool }}", json!(true)),
            ("{{ 'off' | bool }}", json!(false)),
            ("{{ '12' | int + 1 }}", json!(13)),
            ("{{ 'x' | int }}", json!(0)),
            ("{{ '1.5' | float }}", json!(1.5)),
            ("{{ e | default('d') }}", json!("")),
            ("{{ e | default('d', true) }}", json!("d")),
            ("{{ nope | d('d') }}", json!("d")),
            ("{{ (1 == 1) | ternary('y', 'n') }}", json!("y")),
            ("{{ s | lower }}|{{ s | upper }}|{{ 'abc' | capitalize }}", json!("hello world|HELLO WORLD|Abc")),
            ("{{ s | replace('World', 'BC') | trim }}", json!("Hello BC")),
            ("{{ s | split(' ') | first }}{{ s.split() | last }}", json!("HelloWorld")),
            ("{{ s | length }}", json!(11)),
            ("{{ s | regex_replace('(\\w+) (?P<w>\\w+)', '\\g<w> \\1') }}", json!("World Hello")),
            ("{{ s | regex_search('W(or)', '\\1') }}", json!(["or"])),
            ("{{ s | regex_findall('o.') }}", json!(["o ", "or"])),
            ("{{ 'x' | hash('sha1') }}", json!("11f6ad8ec52a2984abaafd7c3b516503785c2072")),
            ("{{ 'x' | checksum }}", json!("11f6ad8ec52a2984abaafd7c3b516503785c2072")),
            ("{{ 'x' | hash('md5') }}", json!("9dd4e461268c8034f5c8564e155c67a6")),
            ("{{ [{'n': 1, 'k': 'a'}, {'n': 2, 'k': 'b'}] | selectattr('n', 'gt', 1) | map(attribute='k') | list }}", json!(["b"])),
            ("{{ [1, 2, 3] | select('odd') | list }}", json!([1, 3])),
            ("{{ [1, 2, 3] | reject('odd') | list }}", json!([2])),
            ("{{ s.startswith('He') and s.endswith('ld') }}", json!(true)),
            ("{{ '{}-{}'.format(1, 2) }}", json!("1-2")),
            ("{{ s.split(' ')[1].strip().lower() }}", json!("world")),
            ("{{ [1] | to_nice_json }}", json!("[\n    1\n]")),
            ("{{ m | to_yaml | trim }}", json!("{a: 1}")),
            ("{{ {'m': m} | to_nice_yaml | trim }}", json!("m:\n    a: 1")),
        ];
        for (text, want) in cases {
            let got = t
                .render_value(text, &vars, &o())
                .unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(got, want, "{text}");
        }
        let err = t
            .render_value("{{ nope | mandatory('set nope') }}", &vars, &o())
            .unwrap_err();
        assert!(err.message.contains("set nope"), "{}", err.message);
        // A missing group is Python's error, not a silent deletion.
        let err = t
            .render_value("{{ s | regex_replace('(\\w+)', '\\2') }}", &vars, &o())
            .unwrap_err();
        assert!(
            err.message.contains("invalid group reference 2"),
            "{}",
            err.message
        );
    }

    #[test]
    fn tests_family() {
        let t = Templater::new();
        let vars = json!({
            "ok": {"rc": 0, "failed": false, "changed": true}, "bad": {"failed": true},
            "sk": {"skipped": true}, "v": "5.3.1", "s": "state=START", "n": null, "l": [1], "m": {}
        });
        let cases = [
            ("ok is succeeded and ok is success and ok is changed", true),
            (
                "bad is failed and bad is failure and bad is not succeeded",
                true,
            ),
            ("sk is skipped and ok is not skipped", true),
            (
                "v is version('5.2', '>=') and v is version('5.10', 'lt')",
                true,
            ),
            ("v is version('5.3.1')", true),
            (
                "s is search('ST(?=ART)') and s is match('state') and s is not match('START')",
                true,
            ),
            ("s is regex('^state')", true),
            ("nope is undefined and v is defined and n is none", true),
            (
                "v is string and 1 is number and 1 is integer and 1.5 is float and true is boolean",
                true,
            ),
            ("m is mapping and l is iterable and l is sequence", true),
            ("1 in l and 'x' not in l", true),
            ("true is true and false is false", true),
            ("nope is defined and nope.x", false),
            ("v is defined or nope.x", true),
        ];
        for (expr, want) in cases {
            assert_eq!(
                t.condition(expr, &vars, &o())
                    .unwrap_or_else(|e| panic!("{expr}: {e:?}")),
                want,
                "{expr}"
            );
        }
        let err = t.condition("'x' is failed", &vars, &o()).unwrap_err();
        assert!(
            err.message.contains("expects a registered result"),
            "{}",
            err.message
        );
    }

    #[test]
    fn conditions() {
        let t = Templater::new();
        let vars =
            json!({"s": "START", "n": 3, "e": "5", "flag": "false", "list": [], "r": {"rc": 0}});
        let cases = [
            ("s == 'START'", true),
            ("s != \"START\"", false),
            ("n > 2", true),
            ("e | int <= 4", false),
            ("flag | bool", false),
            ("not list", true),
            ("list | length > 0", false),
            ("n == 3 and (flag | bool or s == 'START')", true),
            // a lone `{{ }}` giving a string is read once more as an expression
            ("{{ flag }}", false),
            ("{{ r.rc == 0 }}", true),
            ("r.rc == 0", true),
            ("true", true),
        ];
        for (expr, want) in cases {
            assert_eq!(t.condition(expr, &vars, &o()).unwrap(), want, "{expr}");
        }
        let n = node("when:\n  - n == 3\n  - s == 'STOP'\n", "when");
        assert!(!t.condition_node(&n, &vars).unwrap());
    }

    #[test]
    fn a_condition_that_is_not_a_boolean_fails_the_task() {
        // ansible-core 2.19: "Conditional result (True) was derived from value
        // of type 'str' ... Conditionals must have a boolean result".
        let t = Templater::new();
        let vars = json!({"flag": "false", "s": "abc", "lst": [1], "n": 0, "z": null, "d": {}});
        let cases = [
            ("flag", "(True)", "'str'", "| bool"),
            ("s", "(True)", "'str'", "| length > 0"),
            ("lst", "(True)", "'list'", "| length > 0"),
            ("n", "(False)", "'int'", "x > 0"),
            ("z", "(False)", "'NoneType'", "is none"),
            ("d", "(False)", "'dict'", "| length > 0"),
            ("true and s", "(True)", "'str'", "| bool"),
        ];
        for (expr, truth, type_name, hint) in cases {
            let err = t.condition(expr, &vars, &o()).unwrap_err();
            assert!(err.task_failure, "{expr}: fails the task, not the run");
            assert!(err.message.contains(truth), "{expr}: {}", err.message);
            assert!(err.message.contains(type_name), "{expr}: {}", err.message);
            assert!(err.message.contains("must have a boolean result"));
            assert!(
                err.help.as_deref().unwrap_or_default().contains(hint),
                "{expr}"
            );
            assert!(err.location.is_some(), "{expr}: names the file and line");
        }
        // A literal number is not an expression (Ansible: "Conditional
        // expressions must be strings"); an empty `when:` is no condition.
        let n = node("when: 1\n", "when");
        assert!(t.condition_node(&n, &vars).unwrap_err().task_failure);
        let n = node("when:\n", "when");
        assert!(t.condition_node(&n, &vars).unwrap());
        // An undefined variable stays an input error.
        assert!(!t.condition("nope", &vars, &o()).unwrap_err().task_failure);
    }

    #[test]
    fn comparing_types_python_cannot_order_is_an_error_at_its_place() {
        let t = Templater::new();
        let vars = json!({"x": "10", "n": 3});
        let n = node("a: 1\nwhen: n > 1 and x > 3\n", "when");
        let err = t.condition_node(&n, &vars).unwrap_err();
        assert_eq!(
            err.message,
            "cannot render template: '>' not supported between instances of 'str' and 'int'"
        );
        // the failing comparison, not the whole condition
        assert_eq!(err.location.as_deref(), Some("play.yml:2:17"));
        assert!(err.help.unwrap().contains("x | int > 3"));
        assert!(t.condition("x | int > 3", &vars, &o()).unwrap());
        assert!(!t.condition("x == 10", &vars, &o()).unwrap());
        assert!(t.condition("x != 10", &vars, &o()).unwrap());
        let err = t.render_value("{{ 5 in x }}", &vars, &o()).unwrap_err();
        assert!(err
            .message
            .contains("'in <string>' requires string as left operand, not int"));
        // template files too
        let err = t
            .render_file("f.j2", "line 1\n{% if x >= 3 %}big{% endif %}\n", &vars)
            .unwrap_err();
        assert!(
            err.message.contains("'>=' not supported"),
            "{}",
            err.message
        );
        assert_eq!(err.location.as_deref(), Some("f.j2:2:7"));
    }

    #[test]
    fn undefined_variable_names_variable_file_line_and_column() {
        let t = Templater::new();
        let n = node("x: 1\nmsg: \"hello {{ hvr_hub }}\"\n", "msg");
        let err = t.render_node(&n, &json!({"hvr_hubdb": "hub"})).unwrap_err();
        assert_eq!(err.message, "undefined variable `hvr_hub`");
        assert_eq!(err.location.as_deref(), Some("play.yml:2:16"));
        assert!(err.help.unwrap().contains("did you mean `hvr_hubdb`"));

        let n = node("when: hvr_state == 'START'\n", "when");
        let err = t.condition_node(&n, &json!({"hvr_stat": 1})).unwrap_err();
        assert_eq!(err.message, "undefined variable `hvr_state`");
        assert_eq!(err.location.as_deref(), Some("play.yml:1:7"));
        assert!(err.help.unwrap().contains("did you mean `hvr_stat`"));

        // a defined mapping without the key is undefined too
        let err = t
            .render_str(
                "{{ x | default(1) }} {{ hvr.stat }}",
                &json!({"hvr": {"state": "x"}}),
                &o(),
            )
            .unwrap_err();
        assert_eq!(err.message, "undefined variable `hvr.stat`");
        assert!(err.help.unwrap().contains("did you mean `hvr.state`"));

        // guarded forms are fine
        let vars = json!({"hvr": {}});
        assert_eq!(
            t.render_value("{{ hvr.x | default('d') }}", &vars, &o())
                .unwrap(),
            json!("d")
        );
        assert!(!t.condition("hvr.x is defined", &vars, &o()).unwrap());
        // README's workaround for an undefined parent
        assert_eq!(
            t.render_value("{{ (nope | default({})).b | default(1) }}", &vars, &o())
                .unwrap(),
            json!(1)
        );
        // as Ansible's chainable undefined: the chain under `default` stops
        // at `nope`; outside `default` it is still an error naming `nope`
        assert_eq!(
            t.render_value("{{ nope.b | default(1) }}", &vars, &o())
                .unwrap(),
            json!(1)
        );
        let err = t
            .render_value("{{ nope.b | int }}", &vars, &o())
            .unwrap_err();
        assert_eq!(err.message, "undefined variable `nope`");
    }

    #[test]
    fn unknown_filter_is_a_load_error_even_in_a_dead_branch() {
        let n = node(
            "msg: \"{% if false %}{{ x | to_jsno }}{% endif %}\"\n",
            "msg",
        );
        let err = check_node(&n).unwrap_err();
        assert_eq!(err.message, "unknown filter `to_jsno`");
        assert!(err.help.unwrap().contains("did you mean `to_json`"));
        assert_eq!(err.location.as_deref(), Some("play.yml:1:28"));
        let n = node("when: x is sucess\n", "when");
        let err = check_condition_node(&n).unwrap_err();
        assert_eq!(err.message, "unknown test `sucess`");
        let n = node("when: x ==\n", "when");
        assert!(check_condition_node(&n)
            .unwrap_err()
            .message
            .contains("syntax error"));
        let n = node("when: \"{{ x }}\"\n", "when");
        assert!(check_condition_node(&n).is_ok());
    }

    /// Expected outputs: what ansible-core 2.19's `template` module wrote.
    #[test]
    fn jinja2_header_lines_set_options_per_template() {
        let t = Templater::new();
        let vars = json!({"x": 7, "l": [1, 2], "text": "nl\n"});
        let r = |src: &str| t.render_file("t.j2", src, &vars).unwrap();
        assert_eq!(
            r("#jinja2: trim_blocks: False, lstrip_blocks: True\nstart\n    {% for i in l %}\n  item {{ i }}\n    {% endfor %}\nend\n"),
            "start\n\n  item 1\n\n  item 2\n\nend\n"
        );
        assert_eq!(
            r("#jinja2:variable_start_string:'[%', variable_end_string:'%]'\nvalue [% x %] and {{ x }}\n"),
            "value 7 and {{ x }}\n"
        );
        assert_eq!(
            r("#jinja2: block_start_string: '<%', block_end_string: '%>', comment_start_string: '<#', comment_end_string: '#>'\n<% if x > 1 %>yes<% endif %> <# c #>{{ x }} {% raw %}\n"),
            "yes 7 {% raw %}\n"
        );
        assert_eq!(
            r("#jinja2: trim_blocks:False\n{% if x %}\nyes\n{% endif %}\n"),
            "\nyes\n"
        );
        assert_eq!(
            r("#jinja2: newline_sequence: '\\r\\n'\nA\nB {{ x }}\n"),
            "A\r\nB 7\n"
        );
        // the settings stay with that template
        assert_eq!(r("{% if x %}\nyes\n{% endif %}\n{{ text }}\n"), "yes\nnl\n");
        // inline values too (Ansible 2.19)
        let n = node(
            "v: \"#jinja2: variable_start_string: '[[', variable_end_string: ']]'\\nv=[[ x ]] {{ x }}\\n\"\n",
            "v",
        );
        assert_eq!(t.render_node(&n, &vars).unwrap(), json!("v=7 {{ x }}\n"));
        // a bad header is an error at its line, before anything renders
        let err = t
            .render_file("h.j2", "#jinja2: bogus: 1\nx\n", &vars)
            .unwrap_err();
        assert_eq!(err.message, "invalid '#jinja2:' override key 'bogus'");
        assert_eq!(err.location.as_deref(), Some("h.j2:1:1"));
        assert!(check_template("#jinja2: trim_blocks: maybe\n", &o()).is_err());
        // an undefined variable under custom delimiters is named at its line
        let err = t
            .render_file(
                "u.j2",
                "#jinja2: variable_start_string: '[%', variable_end_string: '%]'\nok\n[% nope %]\n",
                &vars,
            )
            .unwrap_err();
        assert_eq!(err.message, "undefined variable `nope`");
        assert_eq!(err.location.as_deref(), Some("u.j2:3:4"));
    }

    #[test]
    fn template_files_by_extension() {
        let t = Templater::new();
        let vars = json!({"who": "ops", "l": ["a", "b"]});
        assert_eq!(
            t.render_file("motd.hbs", "hi {{who}} {{join l \",\"}}\n", &vars)
                .unwrap(),
            "hi ops a,b\n"
        );
        assert_eq!(
            t.render_file(
                "motd.j2",
                "# {{ ansible_managed }}\n{% for x in l %}\n{{ x }}\n{% endfor %}\n",
                &vars
            )
            .unwrap(),
            "# Ansible managed\na\nb\n"
        );
        let err = t.render_file("motd.hbs", "{{nope}}", &vars).unwrap_err();
        assert_eq!(err.message, "undefined variable `nope`");
    }
}
