//! JSON and YAML text as Ansible's `to_json`, `to_nice_json`, `to_yaml` and
//! `to_nice_yaml` filters print it (they call Python's `json.dumps` and
//! PyYAML's `yaml.dump`).
//!
//! Source: ansible-core `lib/ansible/plugins/filter/core.py`:
//! - `to_json`: `json.dumps(a)`: separators `", "` and `": "`, key order
//!   kept, non-ASCII escaped as `\uXXXX` (`ensure_ascii=True`).
//! - `to_nice_json`: `json.dumps(a, indent=4, sort_keys=True,
//!   separators=(',', ': '))`.
//! - `to_yaml`: `yaml.dump(a, allow_unicode=True, default_flow_style=None)`:
//!   keys sorted (PyYAML's default), a collection of scalars in flow style
//!   (`k: [1, 2]`), others in block style with 2 spaces.
//! - `to_nice_yaml`: `yaml.dump(a, indent=4, allow_unicode=True,
//!   default_flow_style=False)`: block style everywhere.
//!
//! Covered: null, booleans, numbers, strings (plain, single-quoted when they
//! would read back as another type or start/contain YAML indicators,
//! double-quoted when they hold line breaks or control characters), nested
//! mappings and lists. Not covered: PyYAML's folding of lines past 80
//! columns.

use serde_json::Value as Json;

/// Python's `json.dumps` options that Ansible's `to_json`/`to_nice_json`
/// pass on: `indent`, `sort_keys`, `ensure_ascii`, `separators`.
#[derive(Debug, Clone)]
pub struct JsonOpts {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
    /// Between items; Python's default is `", "`, or `","` with an indent.
    pub item_sep: String,
    /// Between a key and its value; default `": "`.
    pub key_sep: String,
}

impl JsonOpts {
    /// `json.dumps` defaults, with `indent` and `sort_keys`.
    pub fn new(indent: Option<usize>, sort_keys: bool) -> JsonOpts {
        JsonOpts {
            indent,
            sort_keys,
            ensure_ascii: true,
            item_sep: if indent.is_some() { "," } else { ", " }.into(),
            key_sep: ": ".into(),
        }
    }
}

/// Python's `json.dumps(value)`; `indent` and `sort_keys` as its arguments
/// (with an indent the item separator is `,`, as `to_nice_json` passes).
pub fn json_dumps(value: &Json, indent: Option<usize>, sort_keys: bool) -> String {
    json_dumps_with(value, &JsonOpts::new(indent, sort_keys))
}

/// Python's `json.dumps(value, **opts)`.
pub fn json_dumps_with(value: &Json, opts: &JsonOpts) -> String {
    let mut out = String::new();
    json_into(value, opts, 0, &mut out);
    out
}

/// The bytes of layout `json.dumps(value, **opts)` writes (saturating):
/// indentation (each item of a non-empty list or mapping at depth `d` is
/// indented `(d + 1) × indent`, its closing bracket `d × indent`) and
/// separators. Known before writing, so a huge `indent`
/// (`to_nice_json(indent=10**9)`) or separator can be refused instead of
/// allocated.
pub fn json_layout_bytes(value: &Json, opts: &JsonOpts) -> usize {
    let indent = opts.indent.unwrap_or(0);
    let mut total = 0usize;
    let mut todo = vec![(value, 0usize)];
    while let Some((v, depth)) = todo.pop() {
        let (n, key_seps) = match v {
            Json::Array(items) if !items.is_empty() => {
                todo.extend(items.iter().map(|c| (c, depth + 1)));
                (items.len(), 0)
            }
            Json::Object(map) if !map.is_empty() => {
                todo.extend(map.values().map(|c| (c, depth + 1)));
                (map.len(), map.len().saturating_mul(opts.key_sep.len()))
            }
            _ => continue,
        };
        let spaces = n.saturating_mul(depth + 1).saturating_add(depth);
        let item_seps = (n - 1).saturating_mul(opts.item_sep.len());
        total = total
            .saturating_add(spaces.saturating_mul(indent))
            .saturating_add(item_seps)
            .saturating_add(key_seps);
    }
    total
}

fn json_into(value: &Json, opts: &JsonOpts, depth: usize, out: &mut String) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = opts.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * depth));
        }
    };
    let sep = opts.item_sep.as_str();
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&number(n)),
        Json::String(s) => json_string(s, opts.ensure_ascii, out),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                json_into(item, opts, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                json_string(k, opts.ensure_ascii, out);
                out.push_str(&opts.key_sep);
                json_into(v, opts, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

/// A JSON string literal; with `ensure_ascii` non-ASCII as `\uXXXX`.
fn json_string(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c if !ensure_ascii && c >= ' ' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// A number as Python prints it: integers as digits, floats as `repr(float)`
/// (`1.0`, `1.5`, `1e+20`, `1e-05`).
fn number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        n.as_f64().map_or_else(|| n.to_string(), py_float)
    } else {
        n.to_string()
    }
}

pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's Debug switches to exponent notation where Python's repr does
    // (below 1e-4, from 1e16); Python writes the exponent signed, 2+ digits.
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let mantissa = mantissa.strip_suffix(".0").unwrap_or(mantissa);
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// PyYAML's `yaml.dump(value, indent=indent, default_flow_style=flow)` with
/// `allow_unicode=True`; `flow` is `None` (collections of scalars in flow
/// style) or `Some(false)` (block style everywhere).
pub fn yaml_dump(value: &Json, indent: usize, leaf_flow: bool) -> String {
    // PyYAML's Emitter: `if indent and 1 < indent < 10`, else 2
    let indent = if (2..=9).contains(&indent) { indent } else { 2 };
    let y = Yaml { indent, leaf_flow };
    let mut out = String::new();
    match value {
        Json::Array(a) if !a.is_empty() && !y.flow(value) => y.block_seq(a, 0, &mut out),
        Json::Object(m) if !m.is_empty() && !y.flow(value) => y.block_map(m, 0, &mut out),
        Json::Array(_) | Json::Object(_) => {
            y.flow_node(value, &mut out);
            out.push('\n');
        }
        scalar => {
            let text = yaml_scalar(scalar, false);
            out.push_str(&text);
            out.push('\n');
            // PyYAML ends a document that is one plain scalar with `...`.
            if !text.starts_with(['\'', '"']) {
                out.push_str("...\n");
            }
        }
    }
    out
}

struct Yaml {
    indent: usize,
    leaf_flow: bool,
}

fn is_collection(v: &Json) -> bool {
    matches!(v, Json::Array(_) | Json::Object(_))
}

fn sorted(m: &serde_json::Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

impl Yaml {
    /// Whether a collection is written in flow style: empty ones always;
    /// with `default_flow_style=None` those holding only scalars.
    fn flow(&self, v: &Json) -> bool {
        match v {
            Json::Array(a) => a.is_empty() || (self.leaf_flow && !a.iter().any(is_collection)),
            Json::Object(m) => m.is_empty() || (self.leaf_flow && !m.values().any(is_collection)),
            _ => true,
        }
    }

    fn flow_node(&self, v: &Json, out: &mut String) {
        match v {
            Json::Array(a) => {
                out.push('[');
                for (i, item) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.flow_node(item, out);
                }
                out.push(']');
            }
            Json::Object(m) => {
                out.push('{');
                for (i, (k, item)) in sorted(m).into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&yaml_str(k, true));
                    out.push_str(": ");
                    self.flow_node(item, out);
                }
                out.push('}');
            }
            scalar => out.push_str(&yaml_scalar(scalar, true)),
        }
    }

    /// A block mapping whose keys sit at column `col`; the first key is
    /// written where the cursor is (after a `- ` it shares the line).
    fn block_map(&self, m: &serde_json::Map<String, Json>, col: usize, out: &mut String) {
        for (i, (k, v)) in sorted(m).into_iter().enumerate() {
            if i > 0 {
                pad(out, col);
            }
            out.push_str(&yaml_str(k, false));
            out.push(':');
            self.value_after_key(v, col, out);
        }
    }

    fn value_after_key(&self, v: &Json, col: usize, out: &mut String) {
        match v {
            Json::Object(m) if !self.flow(v) => {
                out.push('\n');
                pad(out, col + self.indent);
                self.block_map(m, col + self.indent, out);
            }
            // A sequence in a mapping is not indented (PyYAML's "indentless").
            Json::Array(a) if !self.flow(v) => {
                out.push('\n');
                pad(out, col);
                self.block_seq(a, col, out);
            }
            _ => {
                out.push(' ');
                self.flow_node(v, out);
                out.push('\n');
            }
        }
    }

    /// A block sequence whose dashes sit at column `col`; the first dash is
    /// written where the cursor is.
    fn block_seq(&self, a: &[Json], col: usize, out: &mut String) {
        for (i, item) in a.iter().enumerate() {
            if i > 0 {
                pad(out, col);
            }
            out.push('-');
            match item {
                Json::Object(m) if !self.flow(item) => {
                    out.extend(std::iter::repeat_n(' ', self.indent - 1));
                    self.block_map(m, col + self.indent, out);
                }
                Json::Array(inner) if !self.flow(item) => {
                    out.extend(std::iter::repeat_n(' ', self.indent - 1));
                    self.block_seq(inner, col + self.indent, out);
                }
                _ => {
                    out.push(' ');
                    self.flow_node(item, out);
                    out.push('\n');
                }
            }
        }
    }
}

fn pad(out: &mut String, col: usize) {
    out.extend(std::iter::repeat_n(' ', col));
}

fn yaml_scalar(v: &Json, in_flow: bool) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => if *b { "true" } else { "false" }.into(),
        Json::Number(n) => {
            let s = number(n);
            match s.as_str() {
                "NaN" => ".nan".into(),
                "Infinity" => ".inf".into(),
                "-Infinity" => "-.inf".into(),
                // PyYAML writes `1e+20` as `1.0e+20` so it reads back a float.
                _ if n.is_f64() && !s.contains('.') => s.replacen('e', ".0e", 1),
                _ => s,
            }
        }
        Json::String(s) => yaml_str(s, in_flow),
        other => other.to_string(),
    }
}

/// Words and number shapes YAML 1.1 (PyYAML's resolver) reads as something
/// other than a string: such a string is quoted.
static NOT_A_STRING: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"^(?:~|null|Null|NULL|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE",
        r"|on|On|ON|off|Off|OFF|=|<<",
        r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)$"
    ))
    .ok()
});

/// A string as PyYAML writes it: plain when it reads back as the same
/// string, else single-quoted, or double-quoted with escapes when it holds
/// line breaks or non-printable characters.
fn yaml_str(s: &str, in_flow: bool) -> String {
    let special = s
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == '\u{feff}');
    if special || s.contains('\n') {
        return double_quoted(s);
    }
    if is_plain(s, in_flow) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Whether PyYAML would write `s` (one line, printable) without quotes.
fn is_plain(s: &str, in_flow: bool) -> bool {
    const INDICATORS: [char; 16] = [
        '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`',
    ];
    let first = s.chars().next();
    let second_is_space = s.chars().nth(1).is_none_or(|c| c == ' ');
    if s.is_empty()
        || NOT_A_STRING.as_ref().is_some_and(|r| r.is_match(s))
        || s.starts_with(INDICATORS)
        || (matches!(first, Some('-' | '?' | ':')) && second_is_space)
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(": ")
        || s.ends_with(':')
        || s.contains(" #")
        || s.contains('\t')
    {
        return false;
    }
    !(in_flow && s.contains([',', '?', '[', ']', '{', '}', ':']))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_like_python_json_dumps() {
        let v = json!({"port": 80, "tls": true, "names": ["a"], "x": null, "f": 1.0, "u": "é\"\u{1F600}"});
        assert_eq!(
            json_dumps(&v, None, false),
            r#"{"port": 80, "tls": true, "names": ["a"], "x": null, "f": 1.0, "u": "\u00e9\"\ud83d\ude00"}"#
        );
        let nice = json_dumps(&json!({"z": [1, {}], "a": []}), Some(4), true);
        assert_eq!(
            nice,
            "{\n    \"a\": [],\n    \"z\": [\n        1,\n        {}\n    ]\n}"
        );
        assert_eq!(py_float(1e20), "1e+20");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(2.5), "2.5");
    }

    #[test]
    fn yaml_like_pyyaml_dump() {
        let v = json!({"k": [1, 2], "m": {"b": "x", "a": null}, "l": [{"n": 1, "o": [true]}, "s"]});
        assert_eq!(
            yaml_dump(&v, 2, true),
            "k: [1, 2]\nl:\n- n: 1\n  o: [true]\n- s\nm: {a: null, b: x}\n"
        );
        assert_eq!(
            yaml_dump(&v, 4, false),
            "k:\n- 1\n- 2\nl:\n-   n: 1\n    o:\n    - true\n- s\nm:\n    a: null\n    b: x\n"
        );
        assert_eq!(yaml_dump(&json!("abc"), 2, true), "abc\n...\n");
        assert_eq!(
            yaml_dump(&json!([[1], [2, 3]]), 2, false),
            "- - 1\n- - 2\n  - 3\n"
        );
    }

    #[test]
    fn yaml_quotes_what_would_read_back_otherwise() {
        assert_eq!(yaml_str("yes", false), "'yes'");
        assert_eq!(yaml_str("n", false), "n");
        assert_eq!(yaml_str("0755", false), "'0755'");
        assert_eq!(yaml_str("1.5", false), "'1.5'");
        assert_eq!(yaml_str("", false), "''");
        assert_eq!(yaml_str("a: b", false), "'a: b'");
        assert_eq!(yaml_str("it's", false), "it's");
        assert_eq!(yaml_str("'q", false), "'''q'");
        assert_eq!(yaml_str("- x", false), "'- x'");
        assert_eq!(yaml_str("-x", false), "-x");
        assert_eq!(yaml_str("a,b", false), "a,b");
        assert_eq!(yaml_str("a,b", true), "'a,b'");
        assert_eq!(yaml_str("a\nb", false), "\"a\\nb\"");
        assert_eq!(yaml_str("héllo", false), "héllo");
        assert_eq!(yaml_str("2024-01-02", false), "'2024-01-02'");
    }
}
