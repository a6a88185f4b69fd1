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

use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::error::{did_you_mean, InputError};
use crate::source::{Origin, SourceFile};

use super::inventory::{expand_host_entry, Inventory};

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

/// Parse an INI inventory into `inv`.
pub(super) fn load(inv: &mut Inventory, file: &Arc<SourceFile>) -> Result<(), InputError> {
    let ungrouped = inv.ensure_group("ungrouped");
    let mut section = Section::Hosts(ungrouped);
    let mut pending: Vec<(String, Pending)> = Vec::new();
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
            section = open_section(inv, &mut pending, name, kind, &line)?;
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
            Section::Hosts(group) => host_line(inv, group, &line)?,
            Section::Vars(group) => var_line(inv, group, &line)?,
            Section::Children(group) => child_line(inv, &mut pending, group, &line)?,
        }
    }
    match pending.into_iter().next() {
        None => Ok(()),
        Some((name, Pending::Vars(origin))) => Err(InputError::at(
            &origin,
            format!("section [{name}:vars] is for group `{name}`, which is never declared"),
            "undeclared group",
        )
        .with_help(format!(
            "declare the group with a `[{name}]` section listing its hosts (or `[{name}:children]`), or fix the name{}",
            suggestion(inv, &name)
        ))),
        Some((name, Pending::Child { first, parents })) => {
            let parent = parents.first().map_or("?", |(p, _)| inv.groups()[*p].name.as_str());
            Err(InputError::at(
                &first,
                format!("[{parent}:children] lists group `{name}`, which is never declared"),
                "undeclared group",
            )
            .with_help(format!(
                "add a `[{name}]` section with its hosts (it may come later in the file), or fix the name{}",
                suggestion(inv, &name)
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

fn suggestion(inv: &Inventory, name: &str) -> String {
    did_you_mean(name, inv.group_names().filter(|g| *g != name))
        .map(|g| format!(" (did you mean `{g}`?)"))
        .unwrap_or_default()
}

fn open_section(
    inv: &mut Inventory,
    pending: &mut Vec<(String, Pending)>,
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
    let is_pending = pending.iter().any(|(n, _)| n == name);
    if !inv.has_group(name) && kind == "vars" && !is_pending {
        pending.push((name.to_string(), Pending::Vars(line.origin.clone())));
    }
    let group = inv.ensure_group(name);
    if kind != "vars" {
        if let Some(i) = pending.iter().position(|(n, _)| n == name) {
            let (_, declared) = pending.remove(i);
            if let Pending::Child { parents, .. } = declared {
                for (parent, origin) in parents {
                    inv.add_child(parent, group, &origin)?;
                }
            }
        }
    }
    Ok(match kind {
        "vars" => Section::Vars(group),
        "children" => Section::Children(group),
        _ => Section::Hosts(group),
    })
}

fn host_line(inv: &mut Inventory, group: usize, line: &Line) -> Result<(), InputError> {
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
        vars.push((key.to_string(), parse_value(value)));
    }
    for name in &names {
        let host = inv.add_host(name, group, port);
        for (key, value) in &vars {
            inv.set_host_var(host, key.clone(), value.clone());
        }
    }
    Ok(())
}

fn var_line(inv: &mut Inventory, group: usize, line: &Line) -> Result<(), InputError> {
    let group_name = inv.groups()[group].name.clone();
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
    inv.set_group_var(
        group,
        key.to_string(),
        parse_value(value.trim()),
        &line.origin,
    )
}

fn child_line(
    inv: &mut Inventory,
    pending: &mut Vec<(String, Pending)>,
    parent: usize,
    line: &Line,
) -> Result<(), InputError> {
    let parent_name = inv.groups()[parent].name.clone();
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
    if inv.has_group(child) {
        let child = inv.ensure_group(child);
        return inv.add_child(parent, child, &origin);
    }
    match pending.iter_mut().find(|(n, _)| n == child) {
        Some((_, Pending::Child { parents, .. })) => parents.push((parent, origin)),
        // Cannot happen: a pending `:vars` group was already created.
        Some((_, Pending::Vars(_))) => {}
        None => pending.push((
            child.to_string(),
            Pending::Child {
                first: origin.clone(),
                parents: vec![(parent, origin)],
            },
        )),
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

/// Ansible's `_parse_value`: a Python literal if the text is one
/// (`ast.literal_eval`), else the text itself.
pub(super) fn parse_value(text: &str) -> Value {
    let mut parser = PyLiteral {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    match parser.value() {
        Some(value) if parser.at_end() => value,
        _ => Value::String(text.to_string()),
    }
}

/// The subset of Python literal syntax `ast.literal_eval` accepts that maps to
/// JSON: numbers (one leading sign), strings (with prefixes, escapes and
/// implicit concatenation), `True`/`False`/`None`, lists, tuples, sets and dicts.
struct PyLiteral {
    chars: Vec<char>,
    pos: usize,
    /// Bracket nesting; bounded so that `[[[[...` cannot exhaust the stack.
    depth: usize,
}

const MAX_LITERAL_DEPTH: usize = 64;

impl PyLiteral {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.pos += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.skip_space();
        self.pos == self.chars.len()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_space();
        let opens = matches!(self.peek()?, '[' | '(' | '{');
        if opens && self.depth >= MAX_LITERAL_DEPTH {
            return None;
        }
        self.depth += usize::from(opens);
        let value = self.value_inner();
        self.depth -= usize::from(opens);
        value
    }

    fn value_inner(&mut self) -> Option<Value> {
        match self.peek()? {
            '[' => {
                self.pos += 1;
                Some(Value::Array(self.items(']')?.0))
            }
            '(' => {
                self.pos += 1;
                let (mut items, trailing_comma) = self.items(')')?;
                // `(x)` is just x; `(x,)` is a tuple.
                if items.len() == 1 && !trailing_comma {
                    items.pop()
                } else {
                    Some(Value::Array(items))
                }
            }
            '{' => {
                self.pos += 1;
                self.dict_or_set()
            }
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.pos += 1;
                self.skip_space();
                let n = self.number()?;
                if !negative {
                    return Some(n);
                }
                match n {
                    Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                        (Some(i), _) => Some(Value::from(i.checked_neg()?)),
                        (None, Some(f)) => Number::from_f64(-f).map(Value::Number),
                        _ => None,
                    },
                    _ => None,
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            c if c == '\'' || c == '"' => self.strings(),
            c if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    prefix
                        if is_string_prefix(prefix) && matches!(self.peek(), Some('\'' | '"')) =>
                    {
                        self.pos = start;
                        self.strings()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Comma-separated values up to `close`; also whether a comma trailed.
    fn items(&mut self, close: char) -> Option<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.eat(close) {
                return Some((items, trailing_comma));
            }
            items.push(self.value()?);
            trailing_comma = self.eat(',');
            if !trailing_comma {
                return self.eat(close).then_some((items, false));
            }
        }
    }

    fn dict_or_set(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.value()?;
        if !self.eat(':') {
            // A set: JSON has only lists.
            let mut items = vec![first];
            while self.eat(',') {
                if self.eat('}') {
                    return Some(Value::Array(items));
                }
                items.push(self.value()?);
            }
            return self.eat('}').then_some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.value()?;
            map.insert(key_text(&key)?, value);
            if !self.eat(',') {
                return self.eat('}').then_some(Value::Object(map));
            }
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            key = self.value()?;
            if !self.eat(':') {
                return None;
            }
        }
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<Value> {
        let mut text = String::new();
        loop {
            self.skip_space();
            let start = self.pos;
            let mut raw = false;
            while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
                raw |= c == 'r' || c == 'R';
                self.pos += 1;
            }
            let prefix: String = self.chars[start..self.pos].iter().collect();
            if !is_string_prefix(&prefix) || !matches!(self.peek(), Some('\'' | '"')) {
                self.pos = start;
                break;
            }
            text.push_str(&self.string_body(raw)?);
        }
        Some(Value::String(text))
    }

    fn string_body(&mut self, raw: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.chars.get(self.pos..self.pos + 3) == Some(&[quote, quote, quote][..]);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote
                && (!triple
                    || self.chars.get(self.pos..self.pos + 3) == Some(&[quote, quote, quote][..]))
            {
                self.pos += if triple { 3 } else { 1 };
                return Some(out);
            }
            self.pos += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let next = self.peek()?;
            self.pos += 1;
            if raw {
                out.push('\\');
                out.push(next);
                continue;
            }
            match next {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0'..='7' => {
                    let mut code = next.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(code)?);
                }
                'x' => out.push(self.hex_escape(2)?),
                'u' => out.push(self.hex_escape(4)?),
                'U' => out.push(self.hex_escape(8)?),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\\' | '\'' | '"' => out.push(next),
                '\n' => {}
                // Python keeps unknown escapes as written.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, digits: usize) -> Option<char> {
        let hex: String = self
            .chars
            .get(self.pos..self.pos + digits)?
            .iter()
            .collect();
        self.pos += digits;
        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
    }

    /// A Python int or float literal (no sign).
    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let after_exponent = self.pos > start
                && matches!(self.chars[self.pos - 1], 'e' | 'E')
                && !self.chars[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'));
            if c.is_ascii_alphanumeric()
                || c == '_'
                || c == '.'
                || (after_exponent && (c == '+' || c == '-'))
            {
                self.pos += 1;
            } else {
                break;
            }
        }
        let token: String = self.chars[start..self.pos].iter().collect();
        python_number(&token)
    }
}

fn is_string_prefix(prefix: &str) -> bool {
    matches!(
        prefix.to_ascii_lowercase().as_str(),
        "" | "r" | "u" | "b" | "br" | "rb"
    )
}

fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

/// Python 3 numeric literal rules: `_` only between digits, no leading zeros
/// on decimal integers, `0x`/`0o`/`0b` prefixes, floats with `.` or exponent.
fn python_number(token: &str) -> Option<Value> {
    let lower = token.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits);
            if !underscores_ok(digits) {
                return None;
            }
            return i64::from_str_radix(&digits.replace('_', ""), radix)
                .ok()
                .map(Value::from);
        }
    }
    if lower.contains(['.', 'e']) {
        let (mantissa, exponent) = match lower.split_once('e') {
            Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
            None => (lower.as_str(), None),
        };
        let parts_ok = mantissa
            .split('.')
            .all(|p| p.is_empty() || underscores_ok(p))
            && mantissa.chars().any(|c| c.is_ascii_digit())
            && mantissa.matches('.').count() <= 1
            && exponent.is_none_or(underscores_ok);
        if !parts_ok {
            return None;
        }
        let f: f64 = lower.replace('_', "").parse().ok()?;
        return Number::from_f64(f).map(Value::Number);
    }
    if !underscores_ok(&lower) {
        return None;
    }
    let digits = lower.replace('_', "");
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
        return None;
    }
    match digits.parse::<i64>() {
        Ok(i) => Some(Value::from(i)),
        Err(_) => digits.parse::<u64>().ok().map(Value::from),
    }
}

/// Non-empty alphanumerics with single `_` strictly between them.
fn underscores_ok(digits: &str) -> bool {
    !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn values_follow_python_literal_rules() {
        assert_eq!(parse_value("22"), json!(22));
        assert_eq!(parse_value("-5"), json!(-5));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("0x1F"), json!(31));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("None"), json!(null));
        assert_eq!(parse_value("true"), json!("true"));
        assert_eq!(
            parse_value("0644"),
            json!("0644"),
            "leading zeros are not a Python int"
        );
        assert_eq!(parse_value("10.0.0.1"), json!("10.0.0.1"));
        assert_eq!(parse_value("'quoted'"), json!("quoted"));
        assert_eq!(parse_value("\"a\\tb\""), json!("a\tb"));
        assert_eq!(parse_value("'a' \"b\""), json!("ab"));
        assert_eq!(parse_value("[1, 'two', [3]]"), json!([1, "two", [3]]));
        assert_eq!(parse_value("(1,)"), json!([1]));
        assert_eq!(parse_value("(1)"), json!(1));
        assert_eq!(
            parse_value("{'a': 1, 2: [True]}"),
            json!({"a": 1, "2": [true]})
        );
        assert_eq!(parse_value("{1, 2}"), json!([1, 2]));
        assert_eq!(parse_value(""), json!(""));
        assert_eq!(parse_value("a b"), json!("a b"));
        assert_eq!(
            parse_value("-o StrictHostKeyChecking=no"),
            json!("-o StrictHostKeyChecking=no")
        );
        assert_eq!(parse_value("[1, 2"), json!("[1, 2"));
        assert_eq!(parse_value("--5"), json!("--5"));
        assert_eq!(parse_value("r'\\d'"), json!("\\d"));
        assert_eq!(parse_value("1_"), json!("1_"));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_value(&deep),
            json!(deep),
            "too deep: kept as text, no stack overflow"
        );
    }
}
