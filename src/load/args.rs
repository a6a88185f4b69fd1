//! Module arguments: the mapping form, the `key=value` string form, and
//! free-form text (`command: ls -l`), checked against the module's spec.

use crate::error::{did_you_mean, InputError};
use crate::modules::{Module, ModuleSpec};
use crate::template_text::is_template;
use crate::yaml::{Node, NodeValue};

use super::fields::key_text;

/// One shell-like word: its raw text (quotes kept), its value (quotes
/// removed) and where it sits in the text (byte offsets).
struct Word {
    raw: String,
    value: String,
    start: usize,
    end: usize,
}

fn split_words(text: &str) -> Option<Vec<Word>> {
    let mut words = Vec::new();
    let mut chars = text.char_indices().peekable();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let (mut raw, mut value) = (String::new(), String::new());
        let mut quote: Option<char> = None;
        // Open `{{ }}`, `{% %}` and `{# #}` spans: their spaces do not break
        // a word (Ansible's `split_args`).
        let mut jinja = 0usize;
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if quote.is_none() && jinja == 0 && c.is_whitespace() {
                break;
            }
            chars.next();
            raw.push(c);
            end = i + c.len_utf8();
            if quote.is_none() {
                let next = text[end..].chars().next();
                let pair = match (c, next) {
                    ('{', Some('{' | '%' | '#')) => Some(true),
                    ('}' | '%' | '#', Some('}')) if jinja > 0 => Some(false),
                    _ => None,
                };
                if let Some(open) = pair {
                    if let Some((j, n)) = chars.next() {
                        raw.push(n);
                        value.push(c);
                        value.push(n);
                        end = j + n.len_utf8();
                    }
                    jinja = if open { jinja + 1 } else { jinja - 1 };
                    continue;
                }
            }
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (Some('"') | None, '\\') => {
                    if let Some((j, n)) = chars.next() {
                        raw.push(n);
                        value.push(n);
                        end = j + n.len_utf8();
                    }
                }
                _ => value.push(c),
            }
        }
        if quote.is_some() {
            return None;
        }
        words.push(Word {
            raw,
            value,
            start,
            end,
        });
    }
    Some(words)
}

/// The value of a `key=value` word as Ansible's `parse_kv` makes it: escape
/// sequences decoded (`\n`, `\t`, `\\`, `\'`, `\"`, `\xHH`, `\uXXXX`, octal;
/// its `_decode_escapes`), then one pair of surrounding quotes removed.
fn kv_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let simple = match chars.peek() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') => Some('"'),
            Some('a') => Some('\u{7}'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\u{b}'),
            _ => None,
        };
        if let Some(s) = simple {
            chars.next();
            out.push(s);
            continue;
        }
        let (radix, len) = match chars.peek() {
            Some('x') => (16, 2),
            Some('u') => (16, 4),
            Some('U') => (16, 8),
            Some('0'..='7') => (8, 3),
            _ => {
                out.push(c);
                continue;
            }
        };
        let mut probe = chars.clone();
        if radix == 16 {
            probe.next();
        }
        let digits: String = std::iter::from_fn(|| probe.next_if(|d| d.is_digit(radix)))
            .take(len)
            .collect();
        let complete = if radix == 8 {
            !digits.is_empty()
        } else {
            digits.len() == len
        };
        match u32::from_str_radix(&digits, radix)
            .ok()
            .and_then(char::from_u32)
        {
            Some(decoded) if complete => {
                out.push(decoded);
                chars = probe;
            }
            _ => out.push(c),
        }
    }
    let quoted = out.len() >= 2
        && ((out.starts_with('"') && out.ends_with('"'))
            || (out.starts_with('\'') && out.ends_with('\'')));
    if quoted {
        out[1..out.len() - 1].to_string()
    } else {
        out
    }
}

/// Split `key=value` pairs out of a string. For free-form modules only known
/// argument names are taken, and the rest stays the free-form text.
fn parse_string_args(
    spec: &ModuleSpec,
    node: &Node,
    text: &str,
) -> Result<Vec<(String, Node)>, InputError> {
    let words = split_words(text).ok_or_else(|| {
        InputError::at(&node.origin, "unbalanced quote in module arguments", "here")
            .with_help("close every ' and \" in the argument string")
    })?;
    let mut args = Vec::new();
    let mut free = Vec::new();
    let mut taken: Vec<(usize, usize)> = Vec::new();
    for word in words {
        let pair = word.value.split_once('=').filter(|(k, _)| {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !word.raw.starts_with(['\'', '"'])
        });
        match pair {
            Some((k, _)) if spec.free_form.is_none() || spec.canonical_arg(k).is_some() => {
                taken.push((word.start, word.end));
                let v = word.raw.split_once('=').map_or("", |(_, v)| v);
                args.push((
                    k.to_string(),
                    Node::new(NodeValue::Str(kv_value(v)), node.origin.clone()),
                ));
            }
            _ => free.push(word.raw),
        }
    }
    if !free.is_empty() {
        match spec.free_form {
            Some(name) => args.push((
                name.to_string(),
                Node::new(
                    NodeValue::Str(without_spans(text, &taken)),
                    node.origin.clone(),
                ),
            )),
            None => {
                return Err(InputError::at(
                    &node.origin,
                    format!(
                        "module `{}` takes key=value arguments, not free text (`{}`)",
                        spec.name,
                        free.join(" ")
                    ),
                    "these arguments",
                )
                .with_help(format!(
                    "write the arguments as a mapping under `{}:`, e.g. `path: /tmp/x`",
                    spec.name
                )))
            }
        }
    }
    Ok(args)
}

/// The free-form text: `text` without the `key=value` words taken out of it,
/// its own line breaks and spacing intact (a multi-line `shell: |` script).
fn without_spans(text: &str, taken: &[(usize, usize)]) -> String {
    let mut kept = String::new();
    let mut last = 0;
    for &(start, end) in taken {
        kept.push_str(text[last..start].trim_end_matches([' ', '\t']));
        last = end;
    }
    kept.push_str(&text[last..]);
    kept.trim().to_string()
}

/// Parse and check a task's module arguments.
///
/// Long (~130 lines) because it is one pass in Ansible's order: gather the
/// free-form, inline `k=v` and `args:` forms, resolve aliases, then check
/// required, one-of and choices; each step names the offending node.
pub fn parse(
    module: &dyn Module,
    value: &Node,
    extra: Option<&Node>,
) -> Result<Vec<(String, Node)>, InputError> {
    let spec = module.spec();
    let mut raw: Vec<(String, Node, Node)> = Vec::new();
    let push_map = |node: &Node, raw: &mut Vec<(String, Node, Node)>| -> Result<(), InputError> {
        match &node.value {
            NodeValue::Null => Ok(()),
            NodeValue::Map(entries) => {
                for (k, v) in entries {
                    raw.push((key_text(k)?, k.clone(), v.clone()));
                }
                Ok(())
            }
            NodeValue::Str(text) => {
                for (k, v) in parse_string_args(spec, node, text)? {
                    raw.push((k, node.clone(), v));
                }
                Ok(())
            }
            // `shell: yes` would run `true`, a command nobody wrote: as
            // Ansible ("unexpected parameter type in action"), a number, a
            // boolean or a list is no free-form text.
            _ if spec.free_form.is_some() => Err(InputError::at(
                &node.origin,
                format!(
                    "arguments of `{}` must be its free-form text or a mapping, not {}",
                    spec.name,
                    node.kind_name()
                ),
                "here",
            )
            .with_help(format!(
                "write the command as quoted text (`{}: \"...\"`), or the arguments as a mapping",
                spec.name
            ))),
            _ => Err(InputError::at(
                &node.origin,
                format!(
                    "arguments of `{}` must be a mapping, not {}",
                    spec.name,
                    node.kind_name()
                ),
                "here",
            )),
        }
    };
    push_map(value, &mut raw)?;
    if let Some(extra) = extra {
        push_map(extra, &mut raw)?;
    }

    let mut args: Vec<(String, Node)> = Vec::new();
    for (name, key_node, value) in raw {
        let canonical = if name == "_raw_params" {
            spec.free_form.map(str::to_string)
        } else if spec.any_args {
            Some(name.clone())
        } else {
            spec.canonical_arg(&name).map(str::to_string)
        };
        let Some(canonical) = canonical else {
            let names = spec
                .args
                .iter()
                .flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied()));
            let hint = did_you_mean(&name, names)
                .map(|n| format!("did you mean `{n}`? "))
                .unwrap_or_default();
            let accepted: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
            return Err(InputError::at(
                &key_node.origin,
                format!("module `{}` has no argument `{name}`", spec.name),
                "unknown argument",
            )
            .with_help(if accepted.is_empty() {
                format!("`{}` takes no arguments", spec.name)
            } else {
                format!("{hint}`{}` accepts: {}", spec.name, accepted.join(", "))
            }));
        };
        if let Some(pos) = args.iter().position(|(k, _)| *k == canonical) {
            args.remove(pos);
        }
        if let Some(arg) = spec.args.iter().find(|a| a.name == canonical) {
            check_choice(spec.name, arg.name, arg.choices, &value)?;
        }
        args.push((canonical, value));
    }

    let anchor = value;
    for arg in spec.args.iter().filter(|a| a.required) {
        if !args.iter().any(|(k, _)| k == arg.name) {
            return Err(InputError::at(
                &anchor.origin,
                format!("module `{}` needs the argument `{}`", spec.name, arg.name),
                "missing here",
            )
            .with_help(format!(
                "add `{}: ...` to the task's `{}` arguments",
                arg.name, spec.name
            )));
        }
    }
    for group in spec.one_of {
        let given: Vec<&str> = group
            .iter()
            .copied()
            .filter(|g| args.iter().any(|(k, _)| k == g))
            .collect();
        if given.len() != 1 {
            let names = group
                .iter()
                .map(|g| format!("`{g}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            let problem = if given.is_empty() {
                "needs one of"
            } else {
                "takes only one of"
            };
            return Err(InputError::at(
                &anchor.origin,
                format!("module `{}` {problem} {names}", spec.name),
                "here",
            ));
        }
    }
    check_durations(spec.name, &args)?;
    check_exclusive(spec.name, &args)?;
    check_digits(spec.name, &args)?;
    Ok(args)
}

/// Module arguments that are fstab numbers: digits only. Checked here when
/// written literally; the module checks a templated value when the task runs.
pub(crate) const DIGIT_ARGS: &[(&str, &str)] = &[("mount", "dump"), ("mount", "passno")];

fn check_digits(module: &str, args: &[(String, Node)]) -> Result<(), InputError> {
    for (name, value) in args {
        if !DIGIT_ARGS.iter().any(|(m, a)| *m == module && a == name) {
            continue;
        }
        let text = value.scalar_text().unwrap_or_default();
        if is_template(&text) || (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        return Err(InputError::at(
            &value.origin,
            format!("`{module}` argument `{name}` must be a number of digits (fstab's field), not `{text}`"),
            "not digits",
        )
        .with_help(format!("write `{name}: 0` (the usual value) or another whole number")));
    }
    Ok(())
}

/// Module arguments that are durations, with the seconds in one unit. Checked
/// here when written literally, so `pause: {minutes: 1e300}` is refused
/// before anything runs; a templated value is checked when the task runs.
pub(crate) const DURATION_ARGS: &[(&str, &str, f64)] = &[
    ("pause", "seconds", 1.0),
    ("pause", "minutes", 60.0),
    ("wait_for", "timeout", 1.0),
    ("wait_for", "delay", 1.0),
    ("wait_for", "sleep", 1.0),
    ("wait_for", "connect_timeout", 1.0),
];

fn check_durations(module: &str, args: &[(String, Node)]) -> Result<(), InputError> {
    for (name, value) in args {
        let Some((_, _, unit)) = DURATION_ARGS
            .iter()
            .find(|(m, a, _)| *m == module && a == name)
        else {
            continue;
        };
        if value.as_str().is_some_and(is_template) {
            continue;
        }
        let n = super::fields::number(value, name)?;
        crate::bounds::seconds(n * unit, &format!("`{module}` argument `{name}`"))
            .map_err(|m| InputError::at(&value.origin, m, "here"))?;
    }
    Ok(())
}

/// Arguments a module takes only one of (Ansible's `mutually_exclusive`
/// in each module's or action's argument spec). The module refuses both
/// when it runs; given literally, both are refused here, so
/// `--syntax-check` finds `pause: {minutes: 1, seconds: 1}` and nothing
/// runs first. A template may render to `omit`, so it is left to the
/// module.
const EXCLUSIVE_ARGS: &[(&str, &str, &str)] = &[
    ("pause", "minutes", "seconds"),
    ("debug", "msg", "var"),
    ("lineinfile", "regexp", "search_string"),
    ("lineinfile", "insertafter", "insertbefore"),
    ("blockinfile", "insertafter", "insertbefore"),
];

fn check_exclusive(module: &str, args: &[(String, Node)]) -> Result<(), InputError> {
    let literal = |name: &str| {
        args.iter().find(|(k, v)| {
            k == name && !matches!(v.value, NodeValue::Null) && !v.as_str().is_some_and(is_template)
        })
    };
    for (_, a, b) in EXCLUSIVE_ARGS.iter().filter(|(m, _, _)| *m == module) {
        let (Some(first), Some(second)) = (literal(a), literal(b)) else {
            continue;
        };
        // point at the one written second
        let (earlier, later) = if first.1.origin.offset <= second.1.origin.offset {
            (first, second)
        } else {
            (second, first)
        };
        return Err(InputError::at(
            &later.1.origin,
            format!(
                "`{module}` takes `{}` or `{}`, not both (Ansible's `{module}` refuses both too)",
                earlier.0, later.0
            ),
            "the second of the two",
        )
        .with_help(format!("keep one: remove `{}` or `{}`", earlier.0, later.0)));
    }
    Ok(())
}

fn check_choice(module: &str, arg: &str, choices: &[&str], value: &Node) -> Result<(), InputError> {
    if choices.is_empty() {
        return Ok(());
    }
    let Some(text) = value.scalar_text() else {
        return Ok(());
    };
    if is_template(&text) || choices.contains(&text.as_str()) {
        return Ok(());
    }
    // YAML 1.1 turns `yes`/`no` into booleans; Ansible accepts those for boolean-ish choices.
    if matches!(value.value, NodeValue::Bool(_))
        && choices.iter().any(|c| *c == "true" || *c == "yes")
    {
        return Ok(());
    }
    let hint = did_you_mean(&text, choices.iter().copied())
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    Err(InputError::at(
        &value.origin,
        format!("`{text}` is not a valid `{arg}` for module `{module}`"),
        "invalid value",
    )
    .with_help(format!("{hint}choose one of: {}", choices.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal `dump`/`passno` that is not digits is refused at load,
    /// naming the argument and the value; digits and templates pass.
    #[test]
    fn mount_dump_and_passno_are_digits_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let m = crate::modules::find("ansible.posix.mount").unwrap();
        let parse = |extra: &str| {
            let path = dir.path().join("t.yml");
            std::fs::write(
                &path,
                format!("path: /srv/d\nsrc: tmpfs\nfstype: tmpfs\nstate: present\n{extra}\n"),
            )
            .unwrap();
            let node = crate::yaml::parse_file(&path).unwrap();
            parse(m, &node, None)
        };
        for extra in [
            "dump: 0",
            "passno: 2",
            "dump: \"1\"",
            "passno: \"{{ pn }}\"",
        ] {
            assert!(parse(extra).is_ok(), "{extra}");
        }
        for (extra, shown) in [
            ("dump: -1", "-1"),
            ("passno: 1.5", "1.5"),
            ("dump: yes", "true"),
            ("passno: \"1 0\"", "1 0"),
        ] {
            let err = parse(extra).unwrap_err();
            let name = extra.split(':').next().unwrap();
            assert_eq!(
                err.message,
                format!("`mount` argument `{name}` must be a number of digits (fstab's field), not `{shown}`"),
                "{extra}"
            );
        }
    }

    #[test]
    fn words_keep_raw_quotes() {
        let w = split_words(r#"echo "a b" c='d e' f\ g"#).unwrap();
        let raw: Vec<&str> = w.iter().map(|w| w.raw.as_str()).collect();
        let val: Vec<&str> = w.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(raw, vec!["echo", "\"a b\"", "c='d e'", "f\\ g"]);
        assert_eq!(val, vec!["echo", "a b", "c=d e", "f g"]);
        assert!(split_words("echo 'oops").is_none());
    }

    #[test]
    fn jinja_spans_do_not_break_words_and_kv_values_decode_escapes() {
        let w =
            split_words("path={{ out }}/a state=touch msg={% if x %}{{ y }}{% endif %}").unwrap();
        let raw: Vec<&str> = w.iter().map(|w| w.raw.as_str()).collect();
        assert_eq!(
            raw,
            vec![
                "path={{ out }}/a",
                "state=touch",
                "msg={% if x %}{{ y }}{% endif %}"
            ]
        );
        let spec = crate::modules::find("copy").unwrap().spec();
        let origin = crate::source::Origin::synthetic("t", "");
        let text = r#"dest={{ out }}/c content="x y\n" mode='0644'"#;
        let node = Node::new(NodeValue::Str(text.into()), origin);
        let args = parse_string_args(spec, &node, text).unwrap();
        let get = |k: &str| {
            args.iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.as_str())
        };
        assert_eq!(get("dest"), Some("{{ out }}/c"));
        assert_eq!(get("content"), Some("x y\n"));
        assert_eq!(get("mode"), Some("0644"));
        assert_eq!(kv_value(r"a\tb\x41\u00e9\101\\"), "a\tbAéA\\");
        assert_eq!(kv_value(r"'\q'"), r"\q");
    }

    #[test]
    fn free_form_text_keeps_its_lines_and_spacing() {
        let spec = crate::modules::find("shell").unwrap().spec();
        let origin = crate::source::Origin::synthetic("t", "");
        let script = "if true; then\n    echo \"a  b\"\nfi\n";
        let node = Node::new(NodeValue::Str(script.into()), origin.clone());
        let args = parse_string_args(spec, &node, script).unwrap();
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].0, "cmd");
        assert_eq!(
            args[0].1.as_str(),
            Some("if true; then\n    echo \"a  b\"\nfi")
        );
        let text = "cd /x\nls -l  creates=/tmp/done\npwd";
        let node = Node::new(NodeValue::Str(text.into()), origin);
        let args = parse_string_args(spec, &node, text).unwrap();
        let get = |k: &str| args.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("creates"), Some(Some("/tmp/done")));
        assert_eq!(get("cmd"), Some(Some("cd /x\nls -l\npwd")));
    }
}
