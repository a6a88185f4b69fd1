//! The Jinja2 environment every template and condition is rendered with.
//!
//! Strict undefined (an undefined value is an error when printed, iterated
//! or tested for truth; `default`, `is defined` and `default(omit)` handle
//! it), `trim_blocks` as Ansible's `template` sets it (a `#jinja2:` line
//! may change it per template, see [`super::header`]), no HTML escaping, Python string/dict methods
//! (minijinja-contrib's `pycompat`), values printed as Python prints them,
//! and Ansible's filters and tests.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::{filters, limit, lookup, mathstuff, native, ops, paths, python_repr, tests, text};

/// minijinja's builtin filters (`minijinja` 2.24, `builtins` feature).
const BUILTIN_FILTERS: &[&str] = &[
    "safe",
    "escape",
    "e",
    "lower",
    "upper",
    "title",
    "replace",
    "length",
    "count",
    "dictsort",
    "items",
    "reverse",
    "trim",
    "join",
    "split",
    "lines",
    "default",
    "d",
    "round",
    "abs",
    "int",
    "float",
    "attr",
    "first",
    "last",
    "min",
    "max",
    "sort",
    "list",
    "string",
    "bool",
    "batch",
    "slice",
    "sum",
    "indent",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "map",
    "groupby",
    "unique",
    "chain",
    "zip",
    "pprint",
    "format",
    "tojson",
    "urlencode",
];

/// minijinja's builtin tests.
const BUILTIN_TESTS: &[&str] = &[
    "defined",
    "undefined",
    "none",
    "safe",
    "escaped",
    "boolean",
    "odd",
    "even",
    "divisibleby",
    "number",
    "integer",
    "int",
    "float",
    "string",
    "sequence",
    "iterable",
    "mapping",
    "lower",
    "upper",
    "sameas",
    "eq",
    "equalto",
    "==",
    "ne",
    "!=",
    "lt",
    "lessthan",
    "<",
    "le",
    "<=",
    "gt",
    "greaterthan",
    ">",
    "ge",
    ">=",
    "in",
    "true",
    "false",
    "filter",
    "test",
    "startingwith",
    "endingwith",
];

/// The prefix Ansible accepts before every builtin filter and test name
/// (`x | ansible.builtin.to_json`, `p is ansible.builtin.file`), also in
/// `map('ansible.builtin.string')`.
pub const BUILTIN_PREFIX: &str = "ansible.builtin.";

fn own_filters() -> Vec<&'static str> {
    let mut v: Vec<&str> = BUILTIN_FILTERS
        .iter()
        .chain(filters::NAMES)
        .chain(mathstuff::NAMES)
        .chain(paths::FILTERS)
        .chain(text::NAMES)
        .copied()
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn own_tests() -> Vec<&'static str> {
    let mut v: Vec<&str> = BUILTIN_TESTS
        .iter()
        .chain(tests::NAMES)
        .chain(paths::TESTS)
        .copied()
        .filter(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `names` and each with [`BUILTIN_PREFIX`] (made once, for the process).
fn with_prefixed(names: Vec<&'static str>) -> Vec<&'static str> {
    let prefixed: Vec<&'static str> = names
        .iter()
        .map(|n| &*Box::leak(format!("{BUILTIN_PREFIX}{n}").into_boxed_str()))
        .collect();
    let mut v = names;
    v.extend(prefixed);
    v.sort_unstable();
    v
}

/// Every filter name a template may use.
pub static FILTERS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| with_prefixed(own_filters()));

/// Every test name a template may use.
pub static TESTS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut v = with_prefixed(own_tests());
    // operator-like names (`==`, `<`...) have no prefixed form
    v.extend(
        BUILTIN_TESTS
            .iter()
            .filter(|n| !n.chars().all(char::is_alphanumeric)),
    );
    v.sort_unstable();
    v.dedup();
    v
});

/// Names the environment defines itself (functions and `omit`).
pub const GLOBALS: &[&str] = &[
    "omit",
    "lookup",
    "query",
    "q",
    "range",
    "dict",
    "namespace",
    "lipsum",
    "cycler",
    "joiner",
    "debug",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
];

/// The rendered text with the template's trailing newlines restored, as
/// Ansible's templar does for inline values (`"{% for %}...{% endfor %}\n"`
/// keeps its `\n`, which `trim_blocks` would otherwise eat). Source:
/// ansible-core `Templar` (it counts the newlines at the end of the template
/// and of the result and appends the difference).
pub fn keep_trailing_newlines(text: &str, mut out: String) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let missing = count(text).saturating_sub(count(&out));
    out.extend(std::iter::repeat_n('\n', missing));
    out
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    // Jinja's default: the lexer drops one trailing newline, and the caller
    // appends the template's trailing newlines the result lacks, as
    // Ansible's templar does (`_post_render_mutation`).
    env.set_keep_trailing_newline(false);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_unknown_method_callback(limit::unknown_method);
    env.set_formatter(python_repr::formatter);
    env.add_global("omit", native::OMIT);
    env.add_global("True", true);
    env.add_global("False", false);
    env.add_global("None", minijinja::Value::from(()));
    // minijinja's range, as a checkpoint of a stop request
    env.add_function("range", super::stop::range);
    filters::register(&mut env);
    tests::register(&mut env);
    lookup::register(&mut env);
    ops::register(&mut env);
    mathstuff::register(&mut env);
    paths::register(&mut env);
    text::register(&mut env);
    limit::register(&mut env);
    super::grow::register(&mut env);
    // `ansible.builtin.NAME` forwards to NAME
    for name in own_filters() {
        env.add_filter(
            format!("{BUILTIN_PREFIX}{name}"),
            move |state: &minijinja::State, args: minijinja::value::Rest<minijinja::Value>| {
                state.apply_filter(name, &args)
            },
        );
    }
    for name in own_tests() {
        env.add_test(
            format!("{BUILTIN_PREFIX}{name}"),
            move |state: &minijinja::State, args: minijinja::value::Rest<minijinja::Value>| {
                state.perform_test(name, &args)
            },
        );
    }
    env
}

#[cfg(test)]
mod unit {
    use super::*;

    /// The load-time check accepts exactly the names the environment has.
    #[test]
    fn every_listed_filter_and_test_exists() {
        let env = environment();
        let mut missing = Vec::new();
        for name in FILTERS.iter() {
            let src = format!("{{{{ 1 | {name} }}}}");
            if let Err(e) = env.render_str(&src, ()) {
                if e.kind() == minijinja::ErrorKind::UnknownFilter {
                    missing.push(*name);
                }
            }
        }
        for name in TESTS
            .iter()
            .filter(|n| n.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            let src = format!("{{{{ 1 is {name} }}}}");
            if let Err(e) = env.render_str(&src, ()) {
                if e.kind() == minijinja::ErrorKind::UnknownTest {
                    missing.push(*name);
                }
            }
        }
        assert!(missing.is_empty(), "listed but missing: {missing:?}");
    }
}

/// No builtin filter, test or operator panics, whatever its operands
/// (issue 9: `5 is divisibleby(0)` panicked inside minijinja).
#[cfg(test)]
mod no_panic {
    use super::*;

    const VALUES: &[&str] = &[
        "5",
        "0",
        "-1",
        "2.5",
        "0.0",
        "9223372036854775807",
        "(-9223372036854775807 - 1)",
        "1e308",
        "'x'",
        "''",
        "[1, 2, 3]",
        "{'a': 1}",
        "none",
        "true",
    ];

    fn render_catching(env: &Environment<'static>, src: &str) -> Option<String> {
        // rewritten as baton renders it: Python's operators are functions
        let text = super::super::rewrite::template(src).text;
        let run = std::panic::AssertUnwindSafe(|| {
            let _ = env.render_str(&text, ());
        });
        std::panic::catch_unwind(run).err().map(|_| src.to_string())
    }

    #[test]
    fn no_filter_test_or_operator_panics_on_odd_arguments() {
        let env = environment();
        let mut panicked = Vec::new();
        let args = VALUES;
        for name in own_filters() {
            for v in ["5", "'x'", "[1, 2, 3]", "{'a': 1}", "-1", "2.5"] {
                let mut srcs = vec![format!("{{{{ {v} | {name} }}}}")];
                for a in args {
                    srcs.push(format!("{{{{ {v} | {name}({a}) }}}}"));
                    srcs.push(format!("{{{{ {v} | {name}({a}, {a}) }}}}"));
                    srcs.push(format!("{{{{ {v} | {name}('x', {a}) }}}}"));
                }
                for src in srcs {
                    panicked.extend(render_catching(&env, &src));
                }
            }
        }
        for name in own_tests() {
            for v in VALUES {
                for a in args {
                    let src = format!("{{{{ {v} is {name}({a}) }}}}");
                    panicked.extend(render_catching(&env, &src));
                    let src = format!("{{{{ [{v}] | select('{name}', {a}) | list }}}}");
                    panicked.extend(render_catching(&env, &src));
                }
            }
        }
        for a in VALUES {
            for b in VALUES {
                for op in ["%", "//", "/", "**", "*", "+", "-"] {
                    panicked.extend(render_catching(&env, &format!("{{{{ {a} {op} {b} }}}}")));
                }
                for src in [
                    format!("{{{{ [1, 2, 3][{a}:{b}:{a}] }}}}"),
                    format!("{{{{ 'abc'[{a}::{b}] }}}}"),
                    format!("{{{{ range({a}, {b}, {a}) | list | length }}}}"),
                    format!("{{{{ range(0, 3, {b}) | list | length }}}}"),
                ] {
                    panicked.extend(render_catching(&env, &src));
                }
            }
        }
        assert!(panicked.is_empty(), "these panicked: {panicked:#?}");
    }
}
