//! Jinja2, baton's expression language (minijinja), with Ansible's filters,
//! tests, typing rule and Python-style printing.
//!
//! - [`env`]: the environment (strict undefined, Ansible options).
//! - [`filters`] / [`tests`]: Ansible's filters and tests.
//! - [`lookup`]: `lookup()`/`query()` plugins (file, template, env, vars, first_found).
//! - [`native`]: a lone `{{ expr }}` keeps its type; JSON bridge; `omit`.
//! - [`pyformat`]: `to_json`/`to_yaml` text as Python's json and PyYAML print it.
//! - [`python_repr`]: values inside strings print as Python prints them.
//! - [`regex`]: Python's regex dialect on fancy-regex.
//! - [`check`]: load-time syntax tree walk (unknown filters/tests, regexes).
//! - [`header`]: a template's `#jinja2:` settings line.
//! - [`rewrite`] / [`ops`]: Python's operators (`'5' > 3` is an error, `%`
//!   formats strings, datetimes subtract), by rewriting the source.
//! - [`percent`]: Python's printf-style `%` formatting.
//! - [`datetime`]: `strftime`, `to_datetime` and Python datetimes.
//! - [`mathstuff`], [`paths`], [`text`], [`crypt`], [`pyrandom`]: more of
//!   Ansible's filters (and the file tests), by theme.

pub mod check;
pub mod crypt;
pub mod datetime;
pub mod env;
pub mod filters;
pub mod header;
pub mod lookup;
pub mod mathstuff;
pub mod native;
pub mod ops;
pub mod paths;
pub mod percent;
pub mod pyformat;
pub mod pyrandom;
pub mod python_repr;
pub mod regex;
pub mod rewrite;
pub mod tests;
pub mod text;
