//! `lookup()`, `query()` and `q()`: Ansible's lookup plugins that read the
//! controller while templating.
//!
//! Plugins (names also with `ansible.builtin.`):
//! - `file`: a file's text, trailing whitespace stripped (`rstrip=true`,
//!   `lstrip=false`); relative paths are searched in the role's `files/`,
//!   the role, the playbook directory's `files/`, then the playbook
//!   directory (Ansible's `find_file_in_search_path`).
//! - `template`: a file searched the same way under `templates/`, rendered
//!   with the current variables.
//! - `env`: an environment variable of the controller, `''` (or
//!   `default=`) when unset.
//! - `vars`: a variable by name; `default=` when it is undefined.
//! - `first_found`: the first of the given files (also `files=`/`paths=`)
//!   that exists, searched under `files/`; an error when none does unless
//!   `skip=true` (then an empty list).
//! - `fileglob`: the controller's files matching each pattern, searched as
//!   `with_fileglob` does (`ansible_search_path`: the role, the task file's
//!   directory, the playbook's, each's `files/` first); see
//!   `plan::lookups::fileglob`.
//!
//! `lookup()` joins several results with `,` (unless `wantlist=true`);
//! `query()`/`q()` always return a list. `errors='ignore'`/`'warn'` turn a
//! failure into an empty result, as Ansible's lookup does.
//!
//! Not supported: `pipe` (and every other plugin): it would run commands on
//! the controller while a value is templated. Source: ansible-core
//! `lib/ansible/plugins/lookup/{file,template,env,vars,first_found}.py`.

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

/// The lookup plugins baton has.
pub const PLUGINS: &[&str] = &["file", "template", "env", "vars", "first_found", "fileglob"];

/// A plugin name without `ansible.builtin.`/`ansible.legacy.`.
pub fn plugin_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

/// Why a plugin name is refused, with a did-you-mean; `None` when it exists.
pub fn unknown_plugin(name: &str) -> Option<(String, String)> {
    let bare = plugin_name(name);
    if PLUGINS.contains(&bare) {
        return None;
    }
    let hint = crate::error::did_you_mean(bare, PLUGINS.iter().copied())
        .map(|h| format!("did you mean `{h}`? "))
        .unwrap_or_default();
    let why = if bare == "pipe" {
        "`pipe` would run a command on the controller while templating; use a `command` task with `delegate_to: localhost` and `register`. "
    } else {
        ""
    };
    Some((
        format!("unknown lookup plugin `{name}`"),
        format!(
            "{hint}{why}baton's lookups are {}",
            PLUGINS
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup(state: &State, name: String, terms: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    let wantlist = kw.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    // ansible-core 2.19 `_invoke_lookup`: an ignored failure is None (`[]`
    // with wantlist); otherwise no result is an empty list, one is itself,
    // several strings are joined with `,`, several of anything else stay a
    // list.
    let Some(results) = run(state, &name, &terms, &kw)? else {
        return Ok(if wantlist {
            Value::from(Vec::<Value>::new())
        } else {
            Value::from(())
        });
    };
    if wantlist {
        return Ok(Value::from(results));
    }
    Ok(match results.len() {
        0 => Value::from(Vec::<Value>::new()),
        1 => results.into_iter().next().unwrap_or_default(),
        _ if results.iter().all(|r| r.as_str().is_some()) => Value::from(
            results
                .iter()
                .map(super::python_repr::py_str)
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
        ),
        _ => Value::from(results),
    })
}

fn query(state: &State, name: String, terms: Rest<Value>, kw: Kwargs) -> Result<Value, Error> {
    run(state, &name, &terms, &kw).map(|r| Value::from(r.unwrap_or_default()))
}

fn fail(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// One plugin over its terms; `errors=` decides what a failure gives
/// (`None`: a failure `errors=ignore`/`warn` let pass).
fn run(
    state: &State,
    name: &str,
    terms: &[Value],
    kw: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kw.get::<Option<String>>("errors")?;
    let result = plugin(state, name, terms, kw);
    let _ = kw.get::<Option<bool>>("wantlist")?;
    if result.is_ok() {
        kw.assert_all_used()?;
    }
    match (result, errors.as_deref()) {
        (Ok(v), _) => Ok(Some(v)),
        (Err(_), Some("ignore" | "warn")) => Ok(None),
        (Err(e), None | Some("strict")) => Err(e),
        (Err(_), Some(other)) => Err(fail(format!(
            "lookup: errors={other:?} must be `strict`, `warn` or `ignore`"
        ))),
    }
}

fn plugin(state: &State, name: &str, terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    if let Some((msg, help)) = unknown_plugin(name) {
        return Err(fail(format!("{msg}: {help}")));
    }
    let strings = || -> Result<Vec<String>, Error> {
        terms
            .iter()
            .map(|t| {
                t.as_str().map(str::to_string).ok_or_else(|| {
                    fail(format!(
                        "lookup('{name}'): each term must be a string, not {t}"
                    ))
                })
            })
            .collect()
    };
    match plugin_name(name) {
        "file" => {
            let lstrip = kw.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            let rstrip = kw.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            strings()?
                .iter()
                .map(|t| {
                    let text = read(state, "files", t, "file")?;
                    let text = if rstrip { text.trim_end() } else { &text[..] };
                    let text = if lstrip { text.trim_start() } else { text };
                    Ok(Value::from(text))
                })
                .collect()
        }
        "template" => strings()?
            .iter()
            .map(|t| {
                let (found, text) = read_found(state, "templates", t, "template")?;
                let _nested = TemplateChain::enter(t, &found)?;
                let ctx: std::collections::BTreeMap<String, Value> = state
                    .known_variables()
                    .into_iter()
                    .filter_map(|n| state.lookup(&n).map(|v| (n.to_string(), v)))
                    .collect();
                let syntax = match super::header::split(&text) {
                    Ok(Some(h)) => h.overrides.syntax(),
                    _ => Default::default(),
                };
                super::check::depth(&text, syntax, false)
                    .map_err(|p| fail(format!("lookup('template', '{t}'): {}", p.message)))?;
                // a `#jinja2:` line applies to this file only
                match super::header::split(&text) {
                    Ok(Some(h)) => {
                        let mut env = state.env().clone();
                        h.overrides.apply(&mut env);
                        let body = h.overrides.body_text(h.body);
                        let src = super::rewrite::template_with(&body, &h.overrides.syntax()).text;
                        env.render_str(&src, ctx)
                            .map(|out| Value::from(super::env::keep_trailing_newlines(h.body, out)))
                    }
                    Ok(None) => state
                        .env()
                        .render_str(&super::rewrite::template(&text).text, ctx)
                        .map(|out| Value::from(super::env::keep_trailing_newlines(&text, out))),
                    Err(p) => Err(fail(format!("lookup('template', '{t}'): {}", p.message))),
                }
            })
            .collect(),
        "env" => {
            let default = kw.get::<Option<Value>>("default")?;
            Ok(strings()?
                .iter()
                .map(|t| match std::env::var(t) {
                    Ok(v) => Value::from(v),
                    Err(_) => default.clone().unwrap_or_else(|| Value::from("")),
                })
                .collect())
        }
        "vars" => {
            let default = kw.get::<Option<Value>>("default")?;
            strings()?
                .iter()
                .map(
                    |t| match (state.lookup(t).filter(|v| !v.is_undefined()), &default) {
                        (Some(v), _) => Ok(v),
                        (None, Some(d)) => Ok(d.clone()),
                        (None, None) => {
                            note_missing_var(t);
                            let why = state
                                .lookup(UNRENDERED)
                                .and_then(|u| u.get_attr(t).ok())
                                .filter(|w| !w.is_undefined());
                            Err(match why {
                                // Defined, but it cannot be rendered (a
                                // cycle, an undefined name in it).
                                Some(why) => fail(format!("lookup('vars', '{t}'): {why}")),
                                None => Error::new(
                                    ErrorKind::UndefinedError,
                                    format!("lookup('vars', '{t}'): no variable `{t}`"),
                                ),
                            })
                        }
                    },
                )
                .collect()
        }
        "first_found" => first_found(state, terms, kw),
        "fileglob" => {
            let terms = strings()?
                .into_iter()
                .map(serde_json::Value::String)
                .collect();
            crate::plan::lookups::run("fileglob", terms, &search_path(state))
                .map(|found| found.into_iter().map(Value::from_serialize).collect())
                .map_err(|msg| fail(format!("lookup('fileglob'): {msg}")))
        }
        _ => Err(fail(format!("unknown lookup plugin `{name}`"))),
    }
}

/// The variable holding, for a task whose `lookup('vars', ...)` computes
/// its name, why each variable left out of its context could not be
/// rendered (see `Vars::to_map`).
pub const UNRENDERED: &str = "__baton_unrendered";

thread_local! {
    /// Names `lookup('vars', NAME)` asked for and did not find, since the
    /// last [`take_missing_vars`]. Variables are rendered lazily, each with
    /// only the variables its template names; a name computed at run time
    /// (`lookup('vars', 'db_' ~ site)`) shows only here, so the caller can
    /// render that variable (or find the cycle through it) and try again.
    static MISSING_VARS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn note_missing_var(name: &str) {
    MISSING_VARS.with(|m| m.borrow_mut().push(name.to_string()));
}

/// The names `lookup('vars')` missed on this thread since the last call,
/// and forget them.
pub fn take_missing_vars() -> Vec<String> {
    MISSING_VARS.with(|m| std::mem::take(&mut *m.borrow_mut()))
}

/// Where a relative path is searched: the role's `<subdir>/` and the role,
/// then the playbook directory's `<subdir>/` and the playbook directory.
fn candidates(state: &State, subdir: &str, path: &str) -> Vec<PathBuf> {
    let p = Path::new(path);
    if p.is_absolute() {
        return vec![p.to_path_buf()];
    }
    let dir = |var: &str| {
        state
            .lookup(var)
            .and_then(|v| v.as_str().map(PathBuf::from))
    };
    let mut out = Vec::new();
    for base in [dir("role_path"), dir("playbook_dir")]
        .into_iter()
        .flatten()
    {
        out.push(base.join(subdir).join(p));
        out.push(base.join(p));
    }
    if out.is_empty() {
        out.push(p.to_path_buf());
    }
    out
}

/// The task's `ansible_search_path` (see `plan::host_vars`); without one,
/// the role and the playbook directory.
fn search_path(state: &State) -> Vec<PathBuf> {
    let listed: Option<Vec<PathBuf>> = state
        .lookup("ansible_search_path")
        .and_then(|v| v.try_iter().ok())
        .map(|it| {
            it.filter_map(|p| p.as_str().map(PathBuf::from))
                .collect::<Vec<_>>()
        });
    match listed {
        Some(paths) if !paths.is_empty() => paths,
        _ => ["role_path", "playbook_dir"]
            .iter()
            .filter_map(|var| {
                state
                    .lookup(var)
                    .and_then(|v| v.as_str().map(PathBuf::from))
            })
            .collect(),
    }
}

fn find(state: &State, subdir: &str, path: &str) -> Option<PathBuf> {
    candidates(state, subdir, path)
        .into_iter()
        .find(|c| c.is_file())
}

fn read(state: &State, subdir: &str, path: &str, plugin: &str) -> Result<String, Error> {
    read_found(state, subdir, path, plugin).map(|(_, text)| text)
}

/// The file found for `path` and its text.
fn read_found(
    state: &State,
    subdir: &str,
    path: &str,
    plugin: &str,
) -> Result<(PathBuf, String), Error> {
    let found = find(state, subdir, path).ok_or_else(|| {
        if let Some(why) = crate::source::first_unreadable(&candidates(state, subdir, path)) {
            return fail(format!("lookup('{plugin}'): {why}"));
        }
        fail(format!(
            "lookup('{plugin}'): could not find `{path}` (searched {})",
            candidates(state, subdir, path)
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    // `find` takes regular files only (no FIFO, no device); one past the
    // value cap could not be kept as a value, so it is not read whole.
    let cap = crate::plan::vars::MAX_VALUE_BYTES;
    let size = std::fs::metadata(&found).map(|m| m.len()).unwrap_or(0);
    if size > cap as u64 {
        return Err(fail(format!(
            "lookup('{plugin}'): {} is {size} bytes, over the {cap}-byte value limit",
            found.display()
        )));
    }
    let bytes = std::fs::read(&found)
        .map_err(|e| fail(format!("lookup('{plugin}'): {}: {e}", found.display())))?;
    let text = crate::source::text_of(&found, bytes)
        .map_err(|e| fail(format!("lookup('{plugin}'): {e}")))?;
    Ok((found, text))
}

/// The most `lookup('template')` calls rendering inside one another. A
/// template that looks itself up (directly or through others) would
/// otherwise recurse until the stack overflows; Ansible has no explicit
/// bound (Python's recursion limit ends it).
pub const MAX_TEMPLATE_NESTING: usize = 32;

thread_local! {
    /// The templates being rendered by `lookup('template')` on this thread,
    /// outermost first. Rendering is synchronous, so a thread's stack of
    /// lookups is exactly this list.
    static TEMPLATE_CHAIN: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One template on [`TEMPLATE_CHAIN`], removed when dropped (also when its
/// rendering fails).
struct TemplateChain;

impl TemplateChain {
    fn enter(term: &str, found: &Path) -> Result<TemplateChain, Error> {
        TEMPLATE_CHAIN.with(|chain| {
            let mut chain = chain.borrow_mut();
            if chain.len() >= MAX_TEMPLATE_NESTING {
                return Err(fail(nesting_message(term, found, &chain)));
            }
            chain.push(found.to_path_buf());
            Ok(TemplateChain)
        })
    }
}

impl Drop for TemplateChain {
    fn drop(&mut self) {
        TEMPLATE_CHAIN.with(|chain| {
            chain.borrow_mut().pop();
        });
    }
}

/// Why a `lookup('template')` is refused: the chain of templates, cut to
/// the loop when one repeats.
fn nesting_message(term: &str, found: &Path, chain: &[PathBuf]) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let name = |p: &PathBuf| p.strip_prefix(&cwd).unwrap_or(p).display().to_string();
    let shown = match chain.iter().rposition(|p| p == found) {
        Some(first) => {
            let mut cycle: Vec<String> = chain[first..].iter().map(name).collect();
            cycle.push(name(&found.to_path_buf()));
            format!(
                "it goes round: {} (a template that looks itself up, directly or through others, never ends)",
                cycle.join(" -> ")
            )
        }
        None => format!(
            "the chain: {} -> ... -> {} -> {}",
            chain
                .iter()
                .take(3)
                .map(name)
                .collect::<Vec<_>>()
                .join(" -> "),
            chain
                .iter()
                .rev()
                .take(3)
                .rev()
                .map(name)
                .collect::<Vec<_>>()
                .join(" -> "),
            name(&found.to_path_buf())
        ),
    };
    format!(
        "lookup('template', '{term}') is nested more than {MAX_TEMPLATE_NESTING} deep, the most baton allows; {shown}"
    )
}

fn first_found(state: &State, terms: &[Value], kw: &Kwargs) -> Result<Vec<Value>, Error> {
    let list = |v: Value| -> Vec<String> {
        match v.as_str() {
            Some(s) => s.split([',', ';']).map(|x| x.trim().to_string()).collect(),
            None => v
                .try_iter()
                .map(|it| it.filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        }
    };
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    for t in terms {
        if t.kind() == minijinja::value::ValueKind::Map {
            if let Ok(f) = t.get_attr("files") {
                files.extend(list(f));
            }
            if let Ok(p) = t.get_attr("paths") {
                paths.extend(list(p));
            }
        } else if t.as_str().is_some() {
            files.push(t.as_str().unwrap_or_default().to_string());
        } else {
            files.extend(list(t.clone()));
        }
    }
    if let Some(f) = kw.get::<Option<Value>>("files")? {
        files.extend(list(f));
    }
    if let Some(p) = kw.get::<Option<Value>>("paths")? {
        paths.extend(list(p));
    }
    let skip = kw.get::<Option<bool>>("skip")?.unwrap_or(false);
    for file in &files {
        let mut tries: Vec<PathBuf> = paths.iter().map(|p| Path::new(p).join(file)).collect();
        if paths.is_empty() {
            tries = candidates(state, "files", file);
        } else {
            tries = tries
                .into_iter()
                .flat_map(|t| candidates(state, "files", &t.to_string_lossy()))
                .collect();
        }
        if let Some(hit) = tries.into_iter().find(|c| c.exists()) {
            return Ok(vec![Value::from(hit.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(fail(format!(
        "lookup('first_found'): none of {files:?} was found"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, ctx: Value) -> Result<String, Error> {
        super::super::env::environment().render_str(src, ctx)
    }

    #[test]
    fn file_env_vars_template_first_found_and_query() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("files")).unwrap();
        std::fs::create_dir_all(d.join("templates")).unwrap();
        std::fs::write(d.join("files/a.txt"), "alpha\n\n").unwrap();
        std::fs::write(d.join("b.txt"), "beta").unwrap();
        std::fs::write(d.join("templates/t.j2"), "x={{ x }}").unwrap();
        let ctx = minijinja::context! { playbook_dir => d.display().to_string(), x => 7 };
        let r = |s: &str| render(s, ctx.clone()).unwrap();
        assert_eq!(r("{{ lookup('file', 'a.txt') }}"), "alpha");
        assert_eq!(
            r("{{ lookup('ansible.builtin.file', 'a.txt', 'b.txt') }}"),
            "alpha,beta"
        );
        assert_eq!(
            r("{{ query('file', 'a.txt', 'b.txt') }}"),
            "['alpha', 'beta']"
        );
        assert_eq!(r("{{ q('file', 'b.txt') | length }}"), "1");
        assert_eq!(r("{{ lookup('template', 't.j2') }}"), "x=7");
        assert_eq!(r("{{ lookup('vars', 'x') + 1 }}"), "8");
        assert_eq!(r("{{ lookup('vars', 'nope', default='d') }}"), "d");
        assert_eq!(r("[{{ lookup('env', 'BATON_SURELY_UNSET_VAR') }}]"), "[]");
        assert_eq!(
            r("{{ lookup('env', 'BATON_SURELY_UNSET_VAR', default='u') }}"),
            "u"
        );
        assert_eq!(
            r("{{ lookup('first_found', ['missing.txt', 'b.txt']) }}"),
            d.join("b.txt").display().to_string()
        );
        assert_eq!(
            r("{{ query('first_found', 'missing.txt', skip=true) }}"),
            "[]"
        );
        assert_eq!(
            r("[{{ lookup('file', 'missing', errors='ignore') }}]"),
            "[]"
        );
        assert!(render("{{ lookup('file', 'missing') }}", ctx.clone()).is_err());
        // In a role: the role's files/ wins over the playbook's.
        let role = d.join("roles/r");
        std::fs::create_dir_all(role.join("files")).unwrap();
        std::fs::write(role.join("files/a.txt"), "from role").unwrap();
        let in_role =
            minijinja::context! { role_path => role.display().to_string(), ..ctx.clone() };
        assert_eq!(
            render("{{ lookup('file', 'a.txt') }}", in_role.clone()).unwrap(),
            "from role"
        );
        assert_eq!(
            render("{{ lookup('file', 'b.txt') }}", in_role).unwrap(),
            "beta"
        );
        let err = render("{{ lookup('pipe', 'date') }}", ctx).unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown lookup plugin"),
            "{err:#}"
        );
    }

    #[test]
    fn a_lookup_names_the_bad_byte_and_refuses_a_file_past_the_value_cap() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("latin1.txt"), b"caf\xe9\n").unwrap();
        let ctx = minijinja::context! { playbook_dir => d.display().to_string() };
        let err = render("{{ lookup('file', 'latin1.txt') }}", ctx.clone()).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("latin1.txt:1: not UTF-8 text: invalid byte 0xe9 at byte offset 3"),
            "{text}"
        );
        // A sparse file one byte past the cap: refused by size, unread.
        let big = std::fs::File::create(d.join("big.txt")).unwrap();
        big.set_len(crate::plan::vars::MAX_VALUE_BYTES as u64 + 1)
            .unwrap();
        let err = render("{{ lookup('file', 'big.txt') }}", ctx).unwrap_err();
        assert!(
            format!("{err:#}").contains("over the 16777216-byte value limit"),
            "{err:#}"
        );
    }

    #[test]
    fn a_template_that_looks_itself_up_is_refused_naming_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("templates")).unwrap();
        std::fs::write(d.join("templates/x.j2"), "{{ lookup('template', 'x.j2') }}").unwrap();
        std::fs::write(
            d.join("templates/a.j2"),
            "a{{ lookup('template', 'b.j2') }}",
        )
        .unwrap();
        std::fs::write(
            d.join("templates/b.j2"),
            "b{{ lookup('template', 'a.j2') }}",
        )
        .unwrap();
        let ctx = minijinja::context! { playbook_dir => d.display().to_string() };
        // Without the bound this overflows the stack (an abort, not a test
        // failure).
        let err = render("{{ lookup('template', 'x.j2') }}", ctx.clone()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("nested more than 32 deep"), "{msg}");
        assert!(msg.contains("x.j2 -> "), "{msg}");
        assert!(msg.contains("never ends"), "{msg}");
        let err = render("{{ lookup('template', 'a.j2') }}", ctx.clone()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("a.j2 -> ") && msg.contains("b.j2 -> "),
            "{msg}"
        );
        // The chain is unwound after the failure: a later lookup works.
        std::fs::write(d.join("templates/ok.j2"), "fine").unwrap();
        assert_eq!(
            render("{{ lookup('template', 'ok.j2') }}", ctx).unwrap(),
            "fine"
        );
    }

    #[test]
    fn unknown_plugins_get_a_did_you_mean() {
        assert!(unknown_plugin("ansible.builtin.env").is_none());
        let (msg, help) = unknown_plugin("fiel").unwrap();
        assert!(
            msg.contains("`fiel`") && help.contains("did you mean `file`"),
            "{help}"
        );
        let (_, help) = unknown_plugin("pipe").unwrap();
        assert!(help.contains("controller"), "{help}");
    }
}

#[cfg(test)]
mod fileglob_tests {
    use super::*;

    fn render(src: &str, ctx: Value) -> Result<String, Error> {
        super::super::env::environment().render_str(src, ctx)
    }

    #[test]
    fn fileglob_searches_ansible_search_path_and_lookup_shapes_results() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("role"), dir.path().join("play"));
        std::fs::create_dir_all(first.join("files")).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        std::fs::write(second.join("p.conf"), "").unwrap();
        std::fs::write(first.join("files/b.conf"), "").unwrap();
        std::fs::write(first.join("files/a.conf"), "").unwrap();
        let ctx = Value::from_serialize(serde_json::json!({
            "ansible_search_path": [first.display().to_string(), second.display().to_string()],
        }));
        let files = first.join("files");
        let (a, b) = (files.join("a.conf"), files.join("b.conf"));
        // the first directory on the path with a match wins; sorted
        assert_eq!(
            render("{{ query('fileglob', '*.conf') | join('|') }}", ctx.clone()).unwrap(),
            format!("{}|{}", a.display(), b.display())
        );
        assert_eq!(
            render("{{ lookup('fileglob', '*.conf') }}", ctx.clone()).unwrap(),
            format!("{},{}", a.display(), b.display())
        );
        // no match: `[]` from lookup, as ansible-core 2.19 (not None)
        assert_eq!(
            render("{{ lookup('fileglob', '*.none') }}", ctx.clone()).unwrap(),
            "[]"
        );
        // several non-strings stay a list
        let ctx = Value::from_serialize(serde_json::json!({"x": 1, "y": [2]}));
        assert_eq!(
            render("{{ lookup('vars', 'x', 'y') | length }}", ctx).unwrap(),
            "2"
        );
    }
}
