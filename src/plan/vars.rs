//! Variables: layers in precedence order, merged per host and task, and
//! rendered lazily.
//!
//! Precedence, lowest first (a documented simplification of Ansible's):
//! role defaults < inventory (all < parent group < child group < host) <
//! facts < play vars < vars_files < role vars < block/task vars <
//! include_vars, registered results and set_fact < extra vars (-e).
//!
//! Values written in YAML may themselves be templates (`hvr_log:
//! "{{hvr_config}}/log"`); they are resolved against the merged set, so order
//! of definition does not matter. Registered results and facts are data and
//! are never templated again.
//!
//! Rendering is lazy, as in Ansible: [`Vars`] holds the merged, unrendered
//! values and renders a templated one only when something asks for it
//! ([`Vars::resolve`]): first the variables its own template names (found
//! in the template's syntax tree, [`check::variables`]), transitively, then
//! the template itself. Each variable is rendered at most once per [`Vars`]
//! (one host and task), so `v17: '{{v16}}{{v16}}'` costs 17 renders, and a
//! variable nobody reads costs nothing, even a broken one. A
//! visiting/visited mark per variable finds a cycle exactly, in linear time,
//! however long a cycle-free chain is; a rendered value over
//! [`MAX_VALUE_BYTES`] is an error.

use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use minijinja::Value as Jinja;

use serde_json::{Map, Value};

use super::context::{Context, Shared};
use super::jinja::{check, lookup};
use super::template::{too_deep as too_deep_error, Rendered, Templater};
use crate::error::InputError;
use crate::load::inventory::VarOrigins;
use crate::source::Origin;
use crate::template_text::is_template;
use crate::yaml::{Node, NodeValue};

/// The largest value baton renders or keeps (a variable, a task argument,
/// a loop list, a template file, a registered result), in bytes of memory
/// (strings by length, collections by the sum of their parts plus the
/// slot of each item and entry, see [`value_bytes`]): 16 MiB.
/// Bigger is a runaway template (each variable doubling the one before, a
/// `set_fact` doubling a value in a loop), not configuration; without a
/// bound it ends in an aborted allocation.
pub const MAX_VALUE_BYTES: usize = 16 << 20;

/// The memory one list item takes beyond its contents: the slot of a
/// `serde_json::Value` in its list (72 bytes with `preserve_order`;
/// minijinja's own slot is 24). Counting text alone let a list of 2^20
/// numbers (`[x, x]` doubled by 20 `set_fact` tasks) measure 8 MiB, under
/// the cap, while it took 160 bytes a leaf as JSON and more again as
/// template values: the run aborted on an allocation at 1.8 GB.
pub const ITEM_SLOT_BYTES: usize = std::mem::size_of::<Value>();

/// The memory one mapping entry takes beyond its key's text and its
/// value's contents: the value's slot, the key's `String`, and the
/// entry's hash and index in the ordered map (measured: 154 bytes an entry
/// of a million `k123456: 1`, of which 112 are counted here and 8 for the
/// number).
pub const ENTRY_SLOT_BYTES: usize =
    std::mem::size_of::<Value>() + std::mem::size_of::<String>() + 2 * std::mem::size_of::<usize>();

/// Bytes a value takes in memory, about: strings by length, numbers and
/// the like as 8, collections as the sum of their parts and keys plus
/// [`ITEM_SLOT_BYTES`] a list item and [`ENTRY_SLOT_BYTES`] a mapping entry.
/// Stops counting past [`MAX_VALUE_BYTES`] (the answer is then only "too
/// large"), so measuring a huge value costs no more than measuring the
/// limit.
pub fn value_bytes(value: &Value) -> usize {
    measure_json(value, true)
}

/// [`value_bytes`] without the slots: the text a value holds (strings and
/// keys by length, other scalars 8). For results whose memory a budget of
/// their own bounds (a loop's items, [`crate::execute`]): their text is
/// what grows without bound.
pub fn value_text_bytes(value: &Value) -> usize {
    measure_json(value, false)
}

fn measure_json(value: &Value, slots: bool) -> usize {
    let (item, entry) = if slots {
        (ITEM_SLOT_BYTES, ENTRY_SLOT_BYTES)
    } else {
        (0, 0)
    };
    let mut total: usize = 0;
    let mut todo = vec![value];
    while let Some(v) = todo.pop() {
        total = total.saturating_add(match v {
            Value::String(s) => s.len(),
            Value::Array(items) => {
                todo.extend(items);
                items.len().saturating_mul(item)
            }
            Value::Object(map) => {
                todo.extend(map.values());
                map.keys()
                    .map(|k| k.len().saturating_add(entry))
                    .fold(0, usize::saturating_add)
            }
            _ => 8,
        });
        if total > MAX_VALUE_BYTES {
            break;
        }
    }
    total
}

/// The size of a value over [`MAX_VALUE_BYTES`] (at least that many
/// bytes; counting stops past the limit), `None` when within it.
pub fn over_value_limit(value: &Value) -> Option<usize> {
    let size = value_bytes(value);
    (size > MAX_VALUE_BYTES).then_some(size)
}

/// "over the 16 MiB limit on a value", for messages.
pub fn value_limit_words() -> String {
    format!("over the {} MiB limit on a value", MAX_VALUE_BYTES >> 20)
}

/// The help for a value over [`MAX_VALUE_BYTES`].
pub const VALUE_SIZE_HELP: &str = "a value this large is a runaway template (a variable or `set_fact` doubling a value, a loop building a string); keep large data in files (`copy: src=`, `template`) rather than in variables";

/// One precedence layer.
pub enum Layer<'a> {
    /// Values from YAML, with their origins; may contain templates.
    Nodes(&'a [(String, Node)]),
    /// Values without origins that may contain templates (-e).
    Templated(&'a Map<String, Value>, &'a str),
    /// A host's inventory variables, which may contain templates, with
    /// where each was set in the inventory (see
    /// [`crate::load::inventory::Inventory::var_origins`]); one without a
    /// place is named as "inventory variable `NAME`".
    Inventory(&'a Map<String, Value>, &'a VarOrigins),
    /// Plain data: registered results, facts. Never templated.
    Data(&'a Map<String, Value>),
    /// A single value (loop item, magic vars).
    One(&'a str, Value),
}

/// Where a variable stands in a resolution.
enum Slot {
    /// Being resolved: met again before it is done, it is a cycle.
    Visiting,
    Done(Done),
    Failed(InputError),
}

/// A rendered variable: JSON, or a list or mapping in template form whose
/// parts are shared with the variables it was built from (`v1: "{{ [v0,
/// v0] }}"` holds `v0` once), converted to JSON only when asked for.
struct Done {
    jinja: Option<Jinja>,
    json: OnceLock<Value>,
}

impl Done {
    fn json(value: Value) -> Done {
        Done {
            jinja: None,
            json: OnceLock::from(value),
        }
    }

    /// As JSON (measured within [`MAX_VALUE_BYTES`] when it was rendered).
    fn value(&self) -> &Value {
        self.json.get_or_init(|| {
            self.jinja
                .as_ref()
                .map_or(Value::Null, super::jinja::native::to_json)
        })
    }
}

/// A host's variables for one task: merged, rendered on demand, memoised.
///
/// Shared by reference between the task's consumers; the memo sits behind a
/// mutex so a job may carry it across threads.
pub struct Vars {
    /// Every variable's winning value, as written (templates unrendered).
    values: Map<String, Value>,
    /// Variables whose winning value holds a template, with its origin.
    templated: HashMap<String, Origin>,
    memo: Mutex<HashMap<String, Slot>>,
    /// How many templated variables were rendered (tests prove laziness).
    renders: AtomicUsize,
    /// Play-wide values templates may read (`groups`, `hostvars`, ...),
    /// shared, never copied in.
    shared: Shared,
}

/// A resolution in progress: a variable and the names its template reads.
struct Frame {
    name: String,
    refs: Vec<String>,
    next: usize,
}

impl Vars {
    /// Merge layers, later ones winning. Nothing is rendered yet.
    pub fn new(layers: &[Layer<'_>]) -> Vars {
        let mut values = Map::new();
        let mut templated = HashMap::new();
        let mut set = |name: &str, value: Value, origin: Option<Origin>| {
            match origin {
                Some(origin) if contains_template(&value) => {
                    templated.insert(name.to_string(), origin);
                }
                _ => {
                    templated.remove(name);
                }
            }
            values.insert(name.to_string(), value);
        };
        for layer in layers {
            match layer {
                Layer::Nodes(pairs) => {
                    for (name, node) in pairs.iter() {
                        set(name, node.to_json(), Some(node.origin.clone()));
                    }
                }
                Layer::Templated(map, what) => {
                    for (name, value) in map.iter() {
                        let origin = contains_template(value).then(|| {
                            Origin::synthetic(
                                &format!("{what} variable `{name}`"),
                                &value_text(value),
                            )
                        });
                        set(name, value.clone(), origin);
                    }
                }
                Layer::Inventory(map, places) => {
                    for (name, value) in map.iter() {
                        let origin = contains_template(value).then(|| {
                            places.get(name).cloned().unwrap_or_else(|| {
                                Origin::synthetic(
                                    &format!("inventory variable `{name}`"),
                                    &value_text(value),
                                )
                            })
                        });
                        set(name, value.clone(), origin);
                    }
                }
                Layer::Data(map) => {
                    for (name, value) in map.iter() {
                        set(name, value.clone(), None);
                    }
                }
                Layer::One(name, value) => set(name, value.clone(), None),
            }
        }
        Vars {
            values,
            templated,
            memo: Mutex::new(HashMap::new()),
            renders: AtomicUsize::new(0),
            shared: Shared::default(),
        }
    }

    /// The play-wide values templates read besides these variables.
    pub fn with_shared(mut self, shared: Shared) -> Vars {
        self.shared = shared;
        self
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Every variable's name (not the shared values').
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// How many templated variables have been rendered so far.
    pub fn renders(&self) -> usize {
        self.renders.load(Ordering::Relaxed)
    }

    /// Whether `name`'s value holds a template (rendered on demand).
    pub fn is_templated(&self, name: &str) -> bool {
        self.templated.contains_key(name)
    }

    /// Whether `name` is defined at all (rendered or not).
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A variable's value, rendered (with what its template reads, and
    /// nothing else) the first time it is asked for. `None`: undefined.
    ///
    /// Errors: an undefined variable in its template (or in one it reads),
    /// a cycle (`a -> b -> a`, at the first variable's definition), a value
    /// over [`MAX_VALUE_BYTES`].
    pub fn resolve(&self, name: &str, templater: &Templater) -> Result<Option<Value>, InputError> {
        if !self.templated.contains_key(name) {
            return Ok(self.values.get(name).cloned());
        }
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        match memo.get(name) {
            Some(Slot::Done(v)) => return Ok(Some(v.value().clone())),
            Some(Slot::Failed(e)) => return Err(copy_error(e)),
            Some(Slot::Visiting) | None => {}
        }
        // An explicit stack, not recursion: a chain of any length resolves
        // without exhausting a worker thread's stack.
        let mut stack = vec![self.frame(name)];
        memo.insert(name.to_string(), Slot::Visiting);
        while let Some(top) = stack.last_mut() {
            if let Some(next) = top.refs.get(top.next).cloned() {
                top.next += 1;
                if !self.templated.contains_key(&next) {
                    continue;
                }
                match memo.get(&next) {
                    Some(Slot::Done(_)) => {}
                    Some(Slot::Failed(e)) => {
                        let e = copy_error(e);
                        return Err(fail(&mut memo, &stack, e));
                    }
                    Some(Slot::Visiting) => {
                        let e = self.cycle(&stack, &next);
                        return Err(fail(&mut memo, &stack, e));
                    }
                    None => {
                        memo.insert(next.clone(), Slot::Visiting);
                        stack.push(self.frame(&next));
                    }
                }
                continue;
            }
            let frame_name = top.name.clone();
            let _ = lookup::take_missing_vars();
            let rendered = self.render(&frame_name, &top.refs, &memo, templater);
            match rendered {
                Ok(v) => {
                    memo.insert(frame_name, Slot::Done(v));
                    stack.pop();
                }
                Err(e) => {
                    // `lookup('vars', NAME)` with a name computed at run
                    // time: render NAME first (meeting it on the stack is a
                    // cycle), then this variable again.
                    let more: Vec<String> = lookup::take_missing_vars()
                        .into_iter()
                        .filter(|n| self.values.contains_key(n) && !top.refs.contains(n))
                        .collect();
                    if more.is_empty() {
                        return Err(fail(&mut memo, &stack, e));
                    }
                    for n in more {
                        if !top.refs.contains(&n) {
                            top.refs.push(n);
                        }
                    }
                }
            }
        }
        match memo.get(name) {
            Some(Slot::Done(v)) => Ok(Some(v.value().clone())),
            _ => Ok(None),
        }
    }

    fn frame(&self, name: &str) -> Frame {
        let refs = self.values.get(name).map(value_refs).unwrap_or_default();
        Frame {
            name: name.to_string(),
            refs,
            next: 0,
        }
    }

    /// Render one variable whose references are all resolved.
    fn render(
        &self,
        name: &str,
        refs: &[String],
        memo: &HashMap<String, Slot>,
        templater: &Templater,
    ) -> Result<Done, InputError> {
        let (Some(value), Some(origin)) = (self.values.get(name), self.templated.get(name)) else {
            return Ok(Done::json(Value::Null));
        };
        self.renders.fetch_add(1, Ordering::Relaxed);
        let mut ctx = Map::new();
        let mut kept = BTreeMap::new();
        for r in refs {
            let v = match memo.get(r) {
                // in template form: handed on as it is, its parts shared
                Some(Slot::Done(Done { jinja: Some(j), .. })) => {
                    kept.insert(r.clone(), j.clone());
                    continue;
                }
                Some(Slot::Done(v)) => Some(v.value()),
                _ if !self.templated.contains_key(r) => self.values.get(r),
                _ => None,
            };
            if let Some(v) = v {
                ctx.insert(r.clone(), v.clone());
            }
        }
        let context = Context::with_values(ctx, kept, self.shared.clone());
        let rendered = match value {
            Value::String(s) => templater.render_value_native(s, &context, origin),
            _ => render_value(value, &context, templater, origin).map(Rendered::Json),
        };
        let rendered = match rendered {
            Ok(Rendered::Jinja(j)) => return self.keep(name, j, origin),
            Ok(Rendered::Json(v)) => v,
            Err(e) if e.message.starts_with("undefined variable") => {
                // Again with every name known, for the did-you-mean.
                let mut all = Map::new();
                for (k, v) in &self.values {
                    let v = match memo.get(k) {
                        Some(Slot::Done(v)) => v.value().clone(),
                        _ if self.templated.contains_key(k) => Value::Null,
                        _ => v.clone(),
                    };
                    all.insert(k.clone(), v);
                }
                let context = Context::new(all, self.shared.clone());
                return Err(render_value(value, &context, templater, origin)
                    .err()
                    .unwrap_or(e));
            }
            Err(e) => return Err(name_refused(name, e)),
        };
        let size = value_bytes(&rendered);
        if size > MAX_VALUE_BYTES {
            return Err(too_large(name, size, origin));
        }
        Ok(Done::json(rendered))
    }

    /// A list or mapping rendered in template form, measured (its shared
    /// parts once each, so `[v, v]` down a chain is refused at the first
    /// variable over the limit, at once) and kept unconverted. One holding
    /// `omit` is converted now, which drops it, as any rendered value is.
    fn keep(&self, name: &str, value: Jinja, origin: &Origin) -> Result<Done, InputError> {
        use super::jinja::native;
        let (size, omit) =
            native::measure(&value).map_err(|e| name_refused(name, too_deep_error(e, origin)))?;
        if size > MAX_VALUE_BYTES {
            return Err(too_large(name, size, origin));
        }
        if omit {
            let json = native::to_json_bounded(&value)
                .map_err(|e| name_refused(name, too_deep_error(e, origin)))?;
            return Ok(Done::json(json));
        }
        Ok(Done {
            jinja: Some(value),
            json: OnceLock::new(),
        })
    }

    /// The cycle error: the stack from `name`'s first frame, back to `name`.
    fn cycle(&self, stack: &[Frame], name: &str) -> InputError {
        let start = stack.iter().position(|f| f.name == name).unwrap_or(0);
        let mut path: Vec<&str> = stack[start..].iter().map(|f| f.name.as_str()).collect();
        path.push(name);
        let message = format!("variable `{name}` refers to itself: {}", path.join(" -> "));
        let help = "break the cycle: a variable cannot be defined in terms of itself (a task's `x: \"{{ x }}-more\"` does not read a lower-precedence `x` either; name it differently)";
        match self.templated.get(name) {
            Some(origin) => InputError::at(origin, message, "this value").with_help(help),
            None => InputError::plain(message).with_help(help),
        }
    }

    /// The variables the names ask for, rendered, with every variable that
    /// needs no rendering. A templated variable nobody asked for is left out
    /// (rendering it could fail or cost). With `strict` false, one that
    /// cannot be rendered is left out too rather than an error.
    pub fn to_map<'n>(
        &self,
        demand: impl IntoIterator<Item = &'n str>,
        templater: &Templater,
        strict: bool,
    ) -> Result<Map<String, Value>, InputError> {
        let mut any = false;
        let wanted: HashSet<&str> = demand
            .into_iter()
            .inspect(|n| any |= *n == check::ANY_VARIABLE)
            .filter(|n| self.templated.contains_key(*n))
            .collect();
        let mut out = Map::new();
        // Why a variable that only a computed `lookup('vars', ...)` name may
        // read was left out: the lookup says so instead of "no variable".
        let mut unrendered = Map::new();
        for (name, value) in &self.values {
            if !self.templated.contains_key(name) {
                out.insert(name.clone(), value.clone());
                continue;
            }
            let named = wanted.contains(name.as_str());
            if !named && !any {
                continue;
            }
            match self.resolve(name, templater) {
                Ok(Some(v)) => {
                    out.insert(name.clone(), v);
                }
                Ok(None) => {}
                Err(e) if strict && named => return Err(e),
                Err(e) => {
                    unrendered.insert(name.clone(), Value::String(e.one_line()));
                }
            }
        }
        if !unrendered.is_empty() {
            out.insert(lookup::UNRENDERED.to_string(), Value::Object(unrendered));
        }
        Ok(out)
    }

    /// Every variable as written, templates unrendered.
    pub fn into_written(self) -> Map<String, Value> {
        self.values
    }

    /// Every templated variable's name (to ask for all of them).
    pub fn templated_names(&self) -> impl Iterator<Item = &str> {
        self.templated.keys().map(String::as_str)
    }

    /// `vars` with the variables `names` mention that it lacks, rendered:
    /// for what only shows at run time which variables it reads (a template
    /// file, `debug: var`, an `include_vars` file).
    pub fn complete(
        &self,
        vars: &Context,
        names: impl IntoIterator<Item = String>,
        templater: &Templater,
    ) -> Result<Context, InputError> {
        let mut out = vars.clone();
        for name in names {
            if self.templated.contains_key(&name) && !out.contains(&name) {
                if let Some(v) = self.resolve(&name, templater)? {
                    out.set(name, v);
                }
            }
        }
        Ok(out)
    }
}

/// A value refused while it was converted (it holds one part many times,
/// `[v0, v0]` down a chain), with the variable's name, as [`too_large`]
/// names it for one refused after.
fn name_refused(name: &str, mut e: InputError) -> InputError {
    if e.message == super::jinja::native::TooBig::Large.message() {
        e.message = format!("variable `{name}` is too large: {}", e.message);
    }
    e
}

fn too_large(name: &str, size: usize, origin: &Origin) -> InputError {
    InputError::at(
        origin,
        format!(
            "variable `{name}` is too large: {size} bytes when rendered (the limit is {} MiB)",
            MAX_VALUE_BYTES >> 20
        ),
        "defined here",
    )
    .with_help("a value this large is a runaway template (e.g. each variable doubling the one before); render less, or keep the data in a file")
}

/// Mark every variable on the stack failed with `e` (a variable that needs
/// a failed one fails the same way), and give `e` back.
fn fail(memo: &mut HashMap<String, Slot>, stack: &[Frame], e: InputError) -> InputError {
    for f in stack {
        memo.insert(f.name.clone(), Slot::Failed(copy_error(&e)));
    }
    e
}

fn copy_error(e: &InputError) -> InputError {
    InputError {
        message: e.message.clone(),
        src: e.src.clone(),
        span: e.span,
        label: e.label.clone(),
        help: e.help.clone(),
        location: e.location.clone(),
        masked: e.masked.clone(),
        task_failure: e.task_failure,
    }
}

/// Merge layers into one mapping and render every templated value.
///
/// Errors: as [`Vars::resolve`], for any variable.
pub fn merge(
    layers: &[Layer<'_>],
    templater: &Templater,
) -> Result<Map<String, Value>, InputError> {
    let vars = Vars::new(layers);
    let names: Vec<String> = vars.templated_names().map(str::to_string).collect();
    vars.to_map(names.iter().map(String::as_str), templater, true)
}

/// Like [`merge`], but only the templated variables `demand` names are
/// rendered, and one that cannot be rendered is left out rather than an
/// error: a play's `hosts:` is rendered before any host is chosen, so play
/// vars that use host variables cannot be resolved for it.
pub fn merge_partial<'n>(
    layers: &[Layer<'_>],
    demand: impl IntoIterator<Item = &'n str>,
    templater: &Templater,
) -> Map<String, Value> {
    Vars::new(layers)
        .to_map(demand, templater, false)
        .unwrap_or_default()
}

/// The names of the variables a template text reads (the heads of `a.b`),
/// in source order, once each. A text that does not parse reads nothing
/// here (its render reports the syntax error).
pub fn text_refs(text: &str, out: &mut Vec<String>) {
    if !is_template(text) {
        return;
    }
    for r in check::variables(text, false) {
        if let Some(head) = r.path.into_iter().next() {
            if !out.contains(&head) {
                out.push(head);
            }
        }
    }
}

/// The names a condition (a bare expression, or a lone `{{ expr }}`) reads.
pub fn condition_refs(expr: &str, out: &mut Vec<String>) {
    if is_template(expr) {
        return text_refs(expr, out);
    }
    for r in check::variables(expr.trim(), true) {
        if let Some(head) = r.path.into_iter().next() {
            if !out.contains(&head) {
                out.push(head);
            }
        }
    }
}

/// The names every template string inside a YAML node reads (keys included).
pub fn node_refs(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        NodeValue::Str(s) => text_refs(s, out),
        NodeValue::Seq(items) => items.iter().for_each(|n| node_refs(n, out)),
        NodeValue::Map(entries) => entries.iter().for_each(|(k, v)| {
            node_refs(k, out);
            node_refs(v, out);
        }),
        _ => {}
    }
}

/// The names every template string inside a value reads.
fn value_refs(value: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => text_refs(s, out),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn contains_template(v: &Value) -> bool {
    match v {
        Value::String(s) => is_template(s),
        Value::Array(a) => a.iter().any(contains_template),
        Value::Object(o) => o.values().any(contains_template),
        _ => false,
    }
}

fn render_value(
    value: &Value,
    context: &Context,
    templater: &Templater,
    origin: &Origin,
) -> Result<Value, InputError> {
    Ok(match value {
        Value::String(s) if is_template(s) => templater.render_value(s, context, origin)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, context, templater, origin))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), render_value(v, context, templater, origin)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_sizes_count_every_part_and_stop_past_the_limit() {
        let v = json!({"ab": ["xyz", 1, {"k": null}]});
        let slots = 2 * ENTRY_SLOT_BYTES + 3 * ITEM_SLOT_BYTES;
        assert_eq!(value_bytes(&v), 2 + 3 + 8 + 1 + 8 + slots);
        assert_eq!(value_text_bytes(&v), 2 + 3 + 8 + 1 + 8);
        let big = Value::String("x".repeat(MAX_VALUE_BYTES));
        assert_eq!(over_value_limit(&big), None);
        let list = Value::Array(vec![big.clone(), big.clone(), big]);
        // counting stops once past the limit
        assert_eq!(
            over_value_limit(&list),
            Some(MAX_VALUE_BYTES + 3 * ITEM_SLOT_BYTES)
        );
        assert_eq!(value_limit_words(), "over the 16 MiB limit on a value");
    }

    use crate::source::SourceFile;
    use crate::yaml::parse;
    use serde_json::json;

    fn pairs(yaml: &str) -> Vec<(String, Node)> {
        let node = parse(&SourceFile::new("vars.yml", yaml)).unwrap();
        node.as_map()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn later_layers_win_and_templates_resolve_across_layers() {
        let t = Templater::new();
        let defaults = pairs("base: /opt/hvr\nconfig: \"{{base}}/config\"\nport: 1\n");
        let play = pairs("log: \"{{config}}/log\"\nport: 2\n");
        let extra: Map<String, Value> = json!({"base": "/srv"}).as_object().unwrap().clone();
        let vars = merge(
            &[
                Layer::Nodes(&defaults),
                Layer::Nodes(&play),
                Layer::Templated(&extra, "-e"),
            ],
            &t,
        )
        .unwrap();
        assert_eq!(vars["log"], "/srv/config/log");
        assert_eq!(vars["port"], 2);
    }

    #[test]
    fn data_layers_are_not_templated() {
        let t = Templater::new();
        let reg: Map<String, Value> = json!({"out": {"stdout": "{{not_a_var}}"}})
            .as_object()
            .unwrap()
            .clone();
        let vars = merge(&[Layer::Data(&reg)], &t).unwrap();
        assert_eq!(vars["out"]["stdout"], "{{not_a_var}}");
    }

    #[test]
    fn undefined_reference_names_the_place() {
        let t = Templater::new();
        let play = pairs("a: 1\nb: \"{{ nope }}\"\n");
        let err = merge(&[Layer::Nodes(&play)], &t).unwrap_err();
        assert_eq!(err.message, "undefined variable `nope`");
        assert!(err.location.unwrap().starts_with("vars.yml:2:"));
    }

    #[test]
    fn partial_merge_leaves_out_what_it_cannot_resolve() {
        let t = Templater::new();
        let play = pairs("greeting: \"hello {{ inventory_hostname }}\"\ntarget: bc1\n");
        let vars = merge_partial(&[Layer::Nodes(&play)], ["greeting", "target"], &t);
        assert_eq!(vars["target"], "bc1");
        assert!(!vars.contains_key("greeting"));
    }

    #[test]
    fn self_reference_is_reported() {
        let t = Templater::new();
        let play = pairs("a: \"x{{ b }}\"\nb: \"y{{ a }}\"\n");
        let err = merge(&[Layer::Nodes(&play)], &t).unwrap_err();
        assert!(err.message.contains("refers to itself"), "{}", err.message);
    }

    fn chain(n: usize, body: impl Fn(usize) -> String) -> Vec<(String, Node)> {
        let mut yaml = String::from("v0: ab\n");
        for i in 1..=n {
            yaml.push_str(&format!("v{i}: '{}'\n", body(i - 1)));
        }
        pairs(&yaml)
    }

    fn doubling(n: usize) -> Vec<(String, Node)> {
        chain(n, |p| format!("{{{{v{p}}}}}{{{{v{p}}}}}"))
    }

    #[test]
    fn an_unused_variable_is_never_rendered() {
        let t = Templater::new();
        // 30 doublings would be 2 GiB; a broken one would be an error.
        let mut play = doubling(30);
        play.extend(pairs("broken: \"{{ nope }}\"\nused: \"{{ v3 }}!\"\n"));
        let vars = Vars::new(&[Layer::Nodes(&play)]);
        let map = vars.to_map(["used"], &t, true).unwrap();
        assert_eq!(map["used"], json!(format!("{}!", "ab".repeat(8))));
        // `used`, v3, v2, v1: nothing else was rendered
        assert_eq!(vars.renders(), 4);
        assert!(!map.contains_key("v30") && !map.contains_key("broken"));
        assert_eq!(map["v0"], "ab");
        // asked for, the broken one is the error Ansible would give then
        let err = vars.resolve("broken", &t).unwrap_err();
        assert_eq!(err.message, "undefined variable `nope`");
        assert!(err.location.unwrap().starts_with("vars.yml:1:"));
    }

    #[test]
    fn doubling_renders_each_level_once() {
        let t = Templater::new();
        let play = doubling(17);
        let inventory: Map<String, Value> =
            play.iter().map(|(k, n)| (k.clone(), n.to_json())).collect();
        for layer in [
            Layer::Nodes(&play),
            Layer::Templated(&inventory, "inventory"),
        ] {
            let vars = Vars::new(&[layer]);
            let v17 = vars.resolve("v17", &t).unwrap().unwrap();
            assert_eq!(v17.as_str().map(str::len), Some(2 << 17));
            assert_eq!(vars.renders(), 17);
            // memoised: asking again renders nothing
            vars.resolve("v16", &t).unwrap();
            assert_eq!(vars.renders(), 17);
        }
    }

    #[test]
    fn an_inventory_variable_is_refused_where_the_inventory_sets_it() {
        let t = Templater::new();
        let mut ini = String::from("[g]\nh1\nh2\n[g:vars]\nv0=ab\n");
        for i in 1..=30 {
            ini.push_str(&format!("v{i}={{{{v{p}}}}}{{{{v{p}}}}}\n", p = i - 1));
        }
        ini.push_str("broken = x{{ nope }}\n");
        let inv = crate::load::inventory::Inventory::from_text("hosts.ini", &ini).unwrap();
        for host in ["h1", "h2"] {
            let (vars, places) = (inv.host_vars(host), inv.var_origins(host));
            let vars = Vars::new(&[Layer::Inventory(&vars, &places)]);
            let err = vars.resolve("v30", &t).unwrap_err();
            assert!(
                err.message.starts_with("variable `v24` is too large"),
                "{}",
                err.message
            );
            // v24 is on line 5 + 24; its value starts after `v24=`
            assert_eq!(err.location.as_deref(), Some("hosts.ini:29:5"));
            let err = vars.resolve("broken", &t).unwrap_err();
            assert_eq!(err.message, "undefined variable `nope`");
            assert_eq!(err.location.as_deref(), Some("hosts.ini:36:14"));
        }
        // a value without a place is still named, by what it is
        let bare: Map<String, Value> = json!({"x": "{{ nope }}"}).as_object().unwrap().clone();
        let vars = Vars::new(&[Layer::Inventory(&bare, &VarOrigins::new())]);
        let err = vars.resolve("x", &t).unwrap_err();
        assert!(err.location.unwrap().starts_with("inventory variable `x`"));
    }

    #[test]
    fn a_long_chain_is_no_cycle() {
        let t = Templater::new();
        let play = chain(257, |p| format!("{{{{ v{p} }}}}"));
        let vars = merge(&[Layer::Nodes(&play)], &t).unwrap();
        assert_eq!(vars["v257"], "ab");
        // much longer, on a small stack: no recursion per link
        let play = chain(5000, |p| format!("{{{{ v{p} }}}}"));
        let v = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let t = Templater::new();
                Vars::new(&[Layer::Nodes(&play)])
                    .resolve("v5000", &t)
                    .unwrap()
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(v, Some(json!("ab")));
    }

    #[test]
    fn cycles_are_named_with_their_place() {
        let t = Templater::new();
        let play = pairs("x: 1\na: \"{{ b }}\"\nb: \"{{ a }}\"\n");
        let err = merge(&[Layer::Nodes(&play)], &t).unwrap_err();
        assert_eq!(err.message, "variable `a` refers to itself: a -> b -> a");
        assert!(err.location.unwrap().starts_with("vars.yml:2:"));

        let play = pairs("a: \"{{ b }}\"\nb: \"x{{ c }}\"\nc: \"{{ [a] }}\"\nd: \"{{ c }}\"\n");
        let vars = Vars::new(&[Layer::Nodes(&play)]);
        let err = vars.resolve("d", &t).unwrap_err();
        assert_eq!(
            err.message,
            "variable `c` refers to itself: c -> a -> b -> c"
        );
        assert!(err.location.unwrap().starts_with("vars.yml:3:"));
        // every variable on the cycle fails the same way, again
        assert!(vars
            .resolve("b", &t)
            .unwrap_err()
            .message
            .contains("c -> a -> b -> c"));
    }

    #[test]
    fn a_task_var_reading_its_own_name_is_a_cycle() {
        // as before lazy rendering: the task's `x` hides the inventory's
        let t = Templater::new();
        let inventory: Map<String, Value> = json!({"x": "base"}).as_object().unwrap().clone();
        let task = pairs("x: \"{{ x }}-suffix\"\n");
        let err = merge(
            &[
                Layer::Templated(&inventory, "inventory"),
                Layer::Nodes(&task),
            ],
            &t,
        )
        .unwrap_err();
        assert_eq!(err.message, "variable `x` refers to itself: x -> x");
        assert_eq!(err.location.as_deref(), Some("vars.yml:1:4"));
    }

    #[test]
    fn types_undefined_and_omit_are_kept() {
        let t = Templater::new();
        let play = pairs(
            "n: \"{{ 40 + 2 }}\"\nl: \"{{ [n, n] }}\"\ns: \" {{ n }}\"\nm: \"{{ z | default(omit) }}\"\nbad: \"{{ hvr_hub }}\"\nhvr_hubdb: h\n",
        );
        let vars = Vars::new(&[Layer::Nodes(&play)]);
        assert_eq!(vars.resolve("l", &t).unwrap(), Some(json!([42, 42])));
        assert_eq!(vars.resolve("s", &t).unwrap(), Some(json!(" 42")));
        let omitted = vars.resolve("m", &t).unwrap().unwrap();
        assert!(crate::plan::template::is_omit(&omitted));
        let err = vars.resolve("bad", &t).unwrap_err();
        assert_eq!(err.message, "undefined variable `hvr_hub`");
        assert_eq!(err.location.as_deref(), Some("vars.yml:5:10"));
        assert!(err.help.unwrap().contains("did you mean `hvr_hubdb`"));
    }

    #[test]
    fn an_oversized_value_is_refused_with_its_origin() {
        let t = Templater::new();
        let play = doubling(30);
        let vars = Vars::new(&[Layer::Nodes(&play)]);
        let err = vars.resolve("v30", &t).unwrap_err();
        // v23 is 16 MiB; v24 is the first over the limit
        assert!(
            err.message.starts_with("variable `v24` is too large"),
            "{}",
            err.message
        );
        assert!(err.location.unwrap().starts_with("vars.yml:25:"));
        assert_eq!(vars.renders(), 24);
    }

    #[test]
    fn complete_adds_only_what_is_missing() {
        let t = Templater::new();
        let play = pairs("a: \"{{ b }}1\"\nb: \"2\"\nc: \"{{ nope }}\"\n");
        let vars = Vars::new(&[Layer::Nodes(&play)]);
        let have = json!({"item": 7, "a": "mine"});
        let out = vars
            .complete(
                &Context::from_json(&have),
                ["a".to_string(), "item".into()],
                &t,
            )
            .unwrap();
        assert_eq!(out.to_json(|_| true), have);
        assert_eq!(vars.renders(), 0);
        let out = vars
            .complete(&Context::default(), ["a".to_string()], &t)
            .unwrap();
        assert_eq!(out.to_json(|_| true), json!({"a": "21"}));
    }
}
