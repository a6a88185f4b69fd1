//! Jinja2, baton's expression language (minijinja), with Ansible's filters,
//! tests, typing rule and Python-style printing.
//!
//! - [`env`]: the environment (strict undefined, Ansible options).
//! - [`filters`] / [`tests`]: Ansible's filters and tests.
//! - [`lookup`]: `lookup()`/`query()` plugins (file, template, env, vars, first_found).
//! - [`native`]: a lone `{{ expr }}` keeps its type; JSON bridge; `omit`.
//! - `to_json`/`to_yaml` text comes from [`crate::pyformat`].
//! - [`pyjson`]: `from_json` as Python's `json.loads` reads (NaN, 1e400).
//! - [`python_repr`]: values inside strings print as Python prints them.
//! - [`regex`]: Python's regex dialect on fancy-regex.
//! - [`check`]: load-time syntax tree walk (unknown filters/tests, regexes).
//! - [`header`]: a template's `#jinja2:` settings line.
//! - [`rewrite`] / [`ops`]: Python's operators (`'5' > 3` is an error, `%`
//!   formats strings, datetimes subtract), by rewriting the source.
//! - [`strmethods`]: Python string methods pycompat lacks (`zfill`...).
//! - [`percent`]: Python's printf-style `%` formatting.
//! - [`stop`]: a stop request cuts a render in progress.
//! - [`grow`]: filters that build collections, counted and stoppable.
//! - [`datetime`]: `strftime`, `to_datetime` and Python datetimes.
//! - [`mathstuff`], [`paths`], [`text`], [`crypt`], [`pyrandom`]: more of
//!   Ansible's filters (and the file tests), by theme.

pub mod check;
pub mod crypt;
pub mod datetime;
pub mod env;
pub mod filters;
pub mod grow;
pub mod header;
pub mod limit;
pub mod lookup;
pub mod mathstuff;
pub mod native;
pub mod ops;
pub mod paths;
pub mod percent;
pub mod pyjson;
pub mod pyrandom;
pub mod python_repr;
pub mod regex;
pub mod rewrite;
pub mod stop;
pub mod strmethods;
pub mod tests;
pub mod text;

/// For filter tests: `expr` evaluated in baton's environment and printed
/// as Python's `str()`, or `ERROR <detail>`.
#[cfg(test)]
pub(crate) fn eval_py(expr: &str) -> String {
    env::environment()
        .compile_expression(expr)
        .unwrap()
        .eval(())
        .and_then(|v| python_repr::py_str(&v))
        .unwrap_or_else(|e| format!("ERROR {}", e.detail().unwrap_or_default()))
}

/// For cap tests: `expr` rewritten as baton rewrites every expression (so
/// `*`, `+` and `~` go through the capped operators), evaluated with no
/// variables, printed by minijinja; or the error's detail.
#[cfg(test)]
pub(crate) fn eval_rewritten(expr: &str) -> Result<String, String> {
    let src = rewrite::expression(expr).text;
    env::environment()
        .compile_expression_owned(src)
        .and_then(|e| e.eval(minijinja::context! {}))
        .map(|v| v.to_string())
        .map_err(|e| e.detail().unwrap_or_default().to_string())
}
