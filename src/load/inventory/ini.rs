//! Ansible's INI inventory format.
//!
//! ```ini
//! loose.example.com              # before any section: ungrouped
//! [web]
//! web[01:03].example.com:2222 ansible_user=deploy http_port=8080
//! [web:vars]
//! proxy=proxy.example.com
//! [prod:children]
//! web
//! ```
//!
//! As in Ansible, host lines are split like a shell would (quotes, `#`
//! comments) and every value then goes through Python literal parsing:
//! `port=22` is a number, `flag=True` a boolean, `flag=true` the string
//! "true", `list="[1, 2]"` a list. `[group:vars]` lines are `key=value` split at
//! the first `=`, and keep a trailing `# ...` as part of the value, as Ansible
//! does. `[group:vars]` and `[group:children]` may name groups declared later
//! in the file, but every group must be declared somewhere.

// InputError (the crate's contract) is large; boxing it is the contract's call.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::error::{did_you_mean, InputError};
use crate::source::{Origin, SourceFile};

use super::build::Builder;
use super::py_literal::parse_value;
use super::ranges::expand_host_entry;

static SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").unwrap_or_else(|e| unreachable!("{e}"))
});
static GROUP_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").unwrap_or_else(|e| unreachable!("{e}"))
});

#[derive(Clone, Copy)]
enum Section {
    Hosts(usize),
    Vars(usize),
    Children(usize),
}

/// A group named before it is declared.
enum Pending {
    /// `[name:vars]` seen, `[name]` or `[name:children]` not yet.
    Vars(Origin),
    /// Listed under `[parent:children]`; linked once declared.
    Child {
        first: Origin,
        parents: Vec<(usize, Origin)>,
    },
}

/// Groups named before they are declared, in the order first named, found
/// by name in O(1) (a list scanned per section was quadratic for thousands
/// of groups named ahead of their sections).
#[derive(Default)]
struct PendingGroups {
    /// `None` once declared.
    list: Vec<Option<(String, Pending)>>,
    index: HashMap<String, usize>,
}

impl PendingGroups {
    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Pending> {
        let i = *self.index.get(name)?;
        self.list[i].as_mut().map(|(_, p)| p)
    }

    fn push(&mut self, name: &str, pending: Pending) {
        self.index.insert(name.to_string(), self.list.len());
        self.list.push(Some((name.to_string(), pending)));
    }

    /// The group is declared: what was pending for it.
    fn take(&mut self, name: &str) -> Option<Pending> {
        let i = self.index.remove(name)?;
        self.list[i].take().map(|(_, p)| p)
    }

    /// The first group still pending.
    fn into_first(self) -> Option<(String, Pending)> {
        self.list.into_iter().flatten().next()
    }
}

/// Parse an INI inventory into `b`.
pub(super) fn load(b: &mut Builder, file: &Arc<SourceFile>) -> Result<(), InputError> {
    let ungrouped = b.ensure_group("ungrouped");
    let mut section = Section::Hosts(ungrouped);
    let mut pending = PendingGroups::default();
    // A byte-order mark from a Windows editor is not part of the first line.
    let bom = if file.text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut line_start = bom;
    for raw in file.text[bom..].split('\n') {
        let start = line_start;
        line_start += raw.len() + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let text = raw.trim();
        if text.is_empty() || text.starts_with(['#', ';']) {
            continue;
        }
        let lead = raw.len() - raw.trim_start().len();
        let line = Line {
            text,
            origin: Origin {
                file: Arc::clone(file),
                offset: start + lead,
                len: text.len(),
            },
        };
        if let Some(caps) = SECTION.captures(text) {
            let name = caps.get(1).map_or("", |m| m.as_str());
            let kind = caps.get(2).map_or("hosts", |m| m.as_str());
            section = open_section(b, &mut pending, name, kind, &line)?;
            continue;
        }
        if text.starts_with('[') && text.ends_with(']') {
            return Err(InputError::at(
                &line.origin,
                format!("invalid section header `{text}`"),
                "not a section header",
            )
            .with_help("a section is `[group]`, `[group:vars]` or `[group:children]`, with no spaces or extra `:` in the group name"));
        }
        match section {
            Section::Hosts(group) => host_line(b, group, &line)?,
            Section::Vars(group) => var_line(b, group, &line)?,
            Section::Children(group) => child_line(b, &mut pending, group, &line)?,
        }
    }
    match pending.into_first() {
        None => Ok(()),
        Some((name, Pending::Vars(origin))) => Err(InputError::at(
            &origin,
            format!("section [{name}:vars] is for group `{name}`, which is never declared"),
            "undeclared group",
        )
        .with_help(format!(
            "declare the group with a `[{name}]` section listing its hosts (or `[{name}:children]`), or fix the name{}",
            suggestion(b, &name)
        ))),
        Some((name, Pending::Child { first, parents })) => {
            let parent = parents.first().map_or("?", |(p, _)| b.group_name(*p));
            Err(InputError::at(
                &first,
                format!("[{parent}:children] lists group `{name}`, which is never declared"),
                "undeclared group",
            )
            .with_help(format!(
                "add a `[{name}]` section with its hosts (it may come later in the file), or fix the name{}",
                suggestion(b, &name)
            )))
        }
    }
}

struct Line<'a> {
    text: &'a str,
    origin: Origin,
}

impl Line<'_> {
    /// The origin of a byte range inside the (trimmed) line.
    fn part(&self, start: usize, end: usize) -> Origin {
        Origin {
            file: Arc::clone(&self.origin.file),
            offset: self.origin.offset + start,
            len: end.saturating_sub(start).max(1),
        }
    }
}

fn suggestion(b: &Builder, name: &str) -> String {
    did_you_mean(name, b.group_names().filter(|g| *g != name))
        .map(|g| format!(" (did you mean `{g}`?)"))
        .unwrap_or_default()
}

fn open_section(
    b: &mut Builder,
    pending: &mut PendingGroups,
    name: &str,
    kind: &str,
    line: &Line,
) -> Result<Section, InputError> {
    if !matches!(kind, "hosts" | "vars" | "children") {
        let hint = did_you_mean(kind, ["hosts", "vars", "children"])
            .map(|k| format!("; did you mean `[{name}:{k}]`?"))
            .unwrap_or_default();
        return Err(InputError::at(
            &line.origin,
            format!("section [{name}:{kind}] has unknown type `{kind}`{hint}"),
            "unknown section type",
        )
        .with_help("a section is `[group]` (hosts), `[group:vars]` or `[group:children]`"));
    }
    if !b.has_group(name) && kind == "vars" && !pending.contains(name) {
        pending.push(name, Pending::Vars(line.origin.clone()));
    }
    let group = b.ensure_group(name);
    if kind != "vars" {
        if let Some(Pending::Child { parents, .. }) = pending.take(name) {
            for (parent, origin) in parents {
                b.add_child(parent, group, &origin)?;
            }
        }
    }
    Ok(match kind {
        "vars" => Section::Vars(group),
        "children" => Section::Children(group),
        _ => Section::Hosts(group),
    })
}

fn host_line(b: &mut Builder, group: usize, line: &Line) -> Result<(), InputError> {
    let words = split_words(line.text).map_err(|(at, why)| {
        InputError::at(
            &line.part(at, line.text.len()),
            format!("cannot parse host line: {why}"),
            why,
        )
        .with_help("a host line is `NAME key=value ...`; quote values with spaces: `key=\"a b\"`")
    })?;
    let Some(first) = words.first() else {
        // Only a comment after all, e.g. `"" # nothing`.
        return Ok(());
    };
    let first_origin = line.part(first.start, first.end);
    if first.text.is_empty() {
        return Err(
            InputError::at(&first_origin, "host name is empty", "empty name")
                .with_help("a host line starts with the host's name"),
        );
    }
    let (names, port) = expand_host_entry(&first.text, &first_origin)?;
    if names.iter().any(|n| n.trim() == "---") {
        return Err(InputError::at(
            &first_origin,
            "`---` is not a host name; this looks like a YAML file",
            "YAML marker",
        )
        .with_help("give a YAML inventory a .yml or .yaml extension"));
    }
    let mut vars = Vec::new();
    for word in &words[1..] {
        let origin = line.part(word.start, word.end);
        let Some((key, value)) = word.text.split_once('=') else {
            return Err(InputError::at(
                &origin,
                format!("expected key=value after host `{}`, found `{}`", first.text, word.text),
                "not key=value",
            )
            .with_help("host variables are `name=value`, separated by spaces; quote values with spaces: `key=\"a b\"`"));
        };
        if key.is_empty() {
            return Err(InputError::at(
                &origin,
                format!("`{}` has no variable name before `=`", word.text),
                "no name",
            )
            .with_help("host variables are `name=value`"));
        }
        // where the value is written (after `=`, as quoted in the file)
        let raw = line.text.get(word.start..word.end).unwrap_or_default();
        let value_start = raw.find('=').map_or(word.start, |i| word.start + i + 1);
        let value_origin = line.part(value_start, word.end);
        vars.push((key.to_string(), parse_value(value), value_origin));
    }
    for name in &names {
        let host = b.add_host(name, group, port);
        for (key, value, origin) in &vars {
            b.set_host_var(host, key.clone(), value.clone(), origin);
        }
    }
    Ok(())
}

fn var_line(b: &mut Builder, group: usize, line: &Line) -> Result<(), InputError> {
    let group_name = b.group_name(group).to_string();
    let Some((key, value)) = line.text.split_once('=') else {
        return Err(InputError::at(
            &line.origin,
            format!(
                "expected key=value in [{group_name}:vars], found `{}`",
                line.text
            ),
            "not key=value",
        )
        .with_help(
            "each line of a `:vars` section is `name=value`; hosts go in a `[group]` section",
        ));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(InputError::at(
            &line.origin,
            format!("`{}` has no variable name before `=`", line.text),
            "no name",
        )
        .with_help("each line of a `:vars` section is `name=value`"));
    }
    // where the value is written, for a template in it that fails
    let text = value.trim();
    let start = line.text.len() - value.trim_start().len();
    let origin = line.part(start, start + text.len());
    b.set_group_var(group, key.to_string(), parse_value(text), &origin)
}

fn child_line(
    b: &mut Builder,
    pending: &mut PendingGroups,
    parent: usize,
    line: &Line,
) -> Result<(), InputError> {
    let parent_name = b.group_name(parent).to_string();
    let Some(child) = GROUP_NAME.captures(line.text).and_then(|c| c.get(1)) else {
        return Err(InputError::at(
            &line.origin,
            format!(
                "expected a group name in [{parent_name}:children], found `{}`",
                line.text
            ),
            "not a group name",
        )
        .with_help("list one child group per line; hosts go in a `[group]` section"));
    };
    let origin = line.part(child.start(), child.end());
    let child = child.as_str();
    if b.has_group(child) {
        let child = b.ensure_group(child);
        return b.add_child(parent, child, &origin);
    }
    match pending.get_mut(child) {
        Some(Pending::Child { parents, .. }) => parents.push((parent, origin)),
        // Cannot happen: a pending `:vars` group was already created.
        Some(Pending::Vars(_)) => {}
        None => pending.push(
            child,
            Pending::Child {
                first: origin.clone(),
                parents: vec![(parent, origin)],
            },
        ),
    }
    Ok(())
}

/// One word of a host line with its byte range in the line.
#[derive(Debug, PartialEq)]
struct Word {
    text: String,
    start: usize,
    end: usize,
}

/// Python's `shlex.split(line, comments=True)`: whitespace separates words,
/// quotes group, a backslash escapes, `#` outside quotes ends the line.
/// Errors carry the byte offset of the problem.
fn split_words(line: &str) -> Result<Vec<Word>, (usize, &'static str)> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            if let Some(mut word) = current.take() {
                word.end = i;
                words.push(word);
            }
            continue;
        }
        if c == '#' {
            if let Some(mut word) = current.take() {
                word.end = i;
                words.push(word);
            }
            return Ok(words);
        }
        let word = current.get_or_insert_with(|| Word {
            text: String::new(),
            start: i,
            end: i,
        });
        match c {
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, ch)) => word.text.push(ch),
                    None => return Err((i, "unclosed single quote")),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, ch @ ('"' | '\\'))) => word.text.push(ch),
                        Some((_, ch)) => {
                            word.text.push('\\');
                            word.text.push(ch);
                        }
                        None => return Err((i, "unclosed double quote")),
                    },
                    Some((_, ch)) => word.text.push(ch),
                    None => return Err((i, "unclosed double quote")),
                }
            },
            '\\' => match chars.next() {
                Some((_, ch)) => word.text.push(ch),
                None => return Err((i, "backslash at the end of the line")),
            },
            _ => word.text.push(c),
        }
    }
    if let Some(mut word) = current.take() {
        word.end = line.len();
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::super::Inventory;
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_words(line)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn splits_like_shlex() {
        assert_eq!(
            words("web1 a=1  b='x y' c=\"q \\\" r\""),
            ["web1", "a=1", "b=x y", "c=q \" r"]
        );
        assert_eq!(words("web1 a=b#c d=e"), ["web1", "a=b"]);
        assert_eq!(words("web1 # comment"), ["web1"]);
        assert_eq!(words("h k=a\\ b"), ["h", "k=a b"]);
        assert_eq!(words("h k=\"a\\nb\""), ["h", "k=a\\nb"]);
        assert_eq!(words("h k=''"), ["h", "k="]);
        assert_eq!(
            split_words("h k='open").unwrap_err(),
            (4, "unclosed single quote")
        );
        let positions: Vec<(usize, usize)> = split_words("ab  c='d e'")
            .unwrap()
            .iter()
            .map(|w| (w.start, w.end))
            .collect();
        assert_eq!(positions, [(0, 2), (4, 11)]);
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let inv = Inventory::from_text("h.ini", "\u{feff}[web]\nweb1\n").unwrap();
        assert_eq!(inv.select("web").unwrap(), ["web1"]);
    }
}
