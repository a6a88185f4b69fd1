//! The `#jinja2:` first line of a template: Jinja settings for that one
//! template, as Ansible's `template` module (and, since 2.19, any templated
//! string) honours them:
//!
//! ```text
//! #jinja2: trim_blocks: False, lstrip_blocks: True
//! #jinja2: variable_start_string: '[%', variable_end_string: '%]'
//! ```
//!
//! Source: ansible-core 2.19 `_internal/_templating/_jinja_bits.py`
//! (`TemplateOverrides._extract_template_overrides`): the line is split on
//! `,`, each pair on its first `:`, the value read as a Python literal
//! (`True`, `'[%'`, `None`); the keys are `block_start_string`,
//! `block_end_string`, `variable_start_string`, `variable_end_string`,
//! `comment_start_string`, `comment_end_string`, `line_statement_prefix`,
//! `line_comment_prefix`, `trim_blocks`, `lstrip_blocks`,
//! `newline_sequence` and `keep_trailing_newline`; anything else, or a
//! header without a newline after it, is an error. The line is not part of
//! the output.

use std::ops::Range;

use minijinja::syntax::SyntaxConfig;
use minijinja::Environment;

use super::check::Problem;

pub const PREFIX: &str = "#jinja2:";

const KEYS: &[&str] = &[
    "block_end_string",
    "block_start_string",
    "comment_end_string",
    "comment_start_string",
    "keep_trailing_newline",
    "line_comment_prefix",
    "line_statement_prefix",
    "lstrip_blocks",
    "newline_sequence",
    "trim_blocks",
    "variable_end_string",
    "variable_start_string",
];

/// The settings a header gives (unset ones keep the environment's).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub trim_blocks: Option<bool>,
    pub lstrip_blocks: Option<bool>,
    pub keep_trailing_newline: Option<bool>,
    pub newline_sequence: Option<String>,
    block: (Option<String>, Option<String>),
    variable: (Option<String>, Option<String>),
    comment: (Option<String>, Option<String>),
    line_statement_prefix: Option<String>,
    line_comment_prefix: Option<String>,
    /// The syntax the delimiters make (checked when the header is read).
    syntax: Option<SyntaxConfig>,
}

/// A template split into its header settings and the text after the line.
#[derive(Debug)]
pub struct Header<'a> {
    pub overrides: Overrides,
    /// The template after the header line (a subslice of the input).
    pub body: &'a str,
}

impl Overrides {
    /// The syntax to parse the body with.
    pub fn syntax(&self) -> SyntaxConfig {
        self.syntax.clone().unwrap_or_default()
    }

    /// Apply the settings to (a clone of) the environment.
    pub fn apply(&self, env: &mut Environment<'_>) {
        if let Some(b) = self.trim_blocks {
            env.set_trim_blocks(b);
        }
        if let Some(b) = self.lstrip_blocks {
            env.set_lstrip_blocks(b);
        }
        if let Some(b) = self.keep_trailing_newline {
            env.set_keep_trailing_newline(b);
        }
        if let Some(s) = &self.syntax {
            env.set_syntax(s.clone());
        }
    }

    /// The body with its line breaks written as `newline_sequence` (Jinja
    /// writes the template's own newlines that way), except the trailing
    /// ones, which Ansible appends as `\n`.
    pub fn body_text(&self, body: &str) -> String {
        match self.newline_sequence.as_deref() {
            None | Some("\n") => body.to_string(),
            Some(seq) => {
                let trimmed = body.trim_end_matches('\n');
                let tail = &body[trimmed.len()..];
                let unified = trimmed.replace("\r\n", "\n").replace('\r', "\n");
                format!("{}{tail}", unified.replace('\n', seq))
            }
        }
    }
}

/// A Python literal as `ast.literal_eval` reads the values of a header:
/// `True`/`False`, `None`, a quoted string (with `\n`, `\r`, `\t`, `\\`,
/// `\'`, `\"` escapes) or an integer.
#[derive(Debug, PartialEq)]
enum Literal {
    Bool(bool),
    None,
    Str(String),
    Int(i64),
}

fn literal(text: &str) -> Option<Literal> {
    let t = text.trim();
    match t {
        "True" => return Some(Literal::Bool(true)),
        "False" => return Some(Literal::Bool(false)),
        "None" => return Some(Literal::None),
        _ => {}
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Literal::Int(i));
    }
    let q = t.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = t.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == q {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(Literal::Str(out))
}

/// Split off a `#jinja2:` header. `Ok(None)` when the text has none; a
/// problem (at the header line) when it is malformed.
pub fn split(text: &str) -> Result<Option<Header<'_>>, Problem> {
    let Some(rest) = text.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let line_range = |r: Range<usize>| r;
    let Some(eol) = rest.find('\n') else {
        return Err(Problem {
            message: "missing newline after the '#jinja2:' override line".into(),
            help: Some("the header is the first line; the template starts on the next".into()),
            range: line_range(0..text.len()),
        });
    };
    let line = &rest[..eol];
    let line_span = 0..PREFIX.len() + eol;
    let body = &rest[eol + 1..];
    let fail = |message: String, help: &str| Problem {
        message,
        help: Some(help.into()),
        range: line_span.clone(),
    };
    let mut o = Overrides::default();
    for pair in line.split(',') {
        if pair.trim().is_empty() {
            return Err(fail(
                "empty '#jinja2:' override pair".into(),
                "write `key: value` pairs separated by commas",
            ));
        }
        let Some((key, value)) = pair.split_once(':') else {
            return Err(fail(
                format!("missing key-value separator `:` in '#jinja2:' override pair '{pair}'"),
                "write `key: value` pairs separated by commas",
            ));
        };
        let key = key.trim();
        if !KEYS.contains(&key) {
            let hint = crate::error::did_you_mean(key, KEYS.iter().copied())
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            return Err(fail(
                format!("invalid '#jinja2:' override key '{key}'"),
                &format!("{hint}the keys are {}", KEYS.join(", ")),
            ));
        }
        let Some(v) = literal(value) else {
            return Err(fail(
                format!(
                    "'#jinja2:' override `{key}`: `{}` is not a Python literal",
                    value.trim()
                ),
                "write True/False, or a quoted string such as '[%'",
            ));
        };
        let want_bool = |v: Literal| match v {
            Literal::Bool(b) => Ok(b),
            _ => Err(fail(
                format!("'#jinja2:' override `{key}` must be True or False"),
                "write True or False",
            )),
        };
        let want_str = |v: Literal, none_ok: bool| match v {
            Literal::Str(s) if !s.is_empty() => Ok(Some(s)),
            Literal::None if none_ok => Ok(None),
            _ => Err(fail(
                format!("'#jinja2:' override `{key}` must be a non-empty quoted string"),
                "write a quoted string such as '[%'",
            )),
        };
        match key {
            "trim_blocks" => o.trim_blocks = Some(want_bool(v)?),
            "lstrip_blocks" => o.lstrip_blocks = Some(want_bool(v)?),
            "keep_trailing_newline" => o.keep_trailing_newline = Some(want_bool(v)?),
            "newline_sequence" => {
                let s = want_str(v, false)?.unwrap_or_default();
                if !matches!(s.as_str(), "\n" | "\r\n" | "\r") {
                    return Err(fail(
                        "'#jinja2:' override `newline_sequence` must be '\\n', '\\r\\n' or '\\r'"
                            .into(),
                        "write newline_sequence: '\\r\\n'",
                    ));
                }
                o.newline_sequence = Some(s);
            }
            "block_start_string" => o.block.0 = want_str(v, false)?,
            "block_end_string" => o.block.1 = want_str(v, false)?,
            "variable_start_string" => o.variable.0 = want_str(v, false)?,
            "variable_end_string" => o.variable.1 = want_str(v, false)?,
            "comment_start_string" => o.comment.0 = want_str(v, false)?,
            "comment_end_string" => o.comment.1 = want_str(v, false)?,
            "line_statement_prefix" => o.line_statement_prefix = want_str(v, true)?,
            "line_comment_prefix" => o.line_comment_prefix = want_str(v, true)?,
            _ => {}
        }
    }
    let custom = [&o.block, &o.variable, &o.comment]
        .iter()
        .any(|(a, b)| a.is_some() || b.is_some())
        || o.line_statement_prefix.is_some()
        || o.line_comment_prefix.is_some();
    if custom {
        let pick = |p: &(Option<String>, Option<String>), s: &str, e: &str| {
            (
                p.0.clone().unwrap_or_else(|| s.into()),
                p.1.clone().unwrap_or_else(|| e.into()),
            )
        };
        let block = pick(&o.block, "{%", "%}");
        let variable = pick(&o.variable, "{{", "}}");
        let comment = pick(&o.comment, "{#", "#}");
        if block.0 == variable.0 || variable.0 == comment.0 || comment.0 == block.0 {
            return Err(fail(
                "'#jinja2:' block, variable and comment start strings must be different".into(),
                "choose three different start strings",
            ));
        }
        let mut b = SyntaxConfig::builder();
        b.block_delimiters(block.0, block.1)
            .variable_delimiters(variable.0, variable.1)
            .comment_delimiters(comment.0, comment.1);
        if let Some(p) = &o.line_statement_prefix {
            b.line_statement_prefix(p.clone());
        }
        if let Some(p) = &o.line_comment_prefix {
            b.line_comment_prefix(p.clone());
        }
        o.syntax = Some(b.build().map_err(|e| {
            fail(
                format!(
                    "'#jinja2:' override: {}",
                    e.detail().unwrap_or("invalid delimiters")
                ),
                "choose delimiters that do not overlap",
            )
        })?);
    }
    Ok(Some(Header { overrides: o, body }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_and_strips_the_line() {
        let h = split("#jinja2: trim_blocks: False, lstrip_blocks: True\nbody\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.body, "body\n");
        assert_eq!(h.overrides.trim_blocks, Some(false));
        assert_eq!(h.overrides.lstrip_blocks, Some(true));
        let h = split("#jinja2:variable_start_string:'[%', variable_end_string:'%]'\nx\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.overrides.syntax().variable_delimiters(), ("[%", "%]"));
        assert!(split("no header\n").unwrap().is_none());
        assert!(split(" #jinja2: trim_blocks: False\n").unwrap().is_none());
    }

    #[test]
    fn malformed_headers_are_errors_at_the_line() {
        let e = split("#jinja2: bogus: 1\nx\n").unwrap_err();
        assert_eq!(e.message, "invalid '#jinja2:' override key 'bogus'");
        assert_eq!(e.range, 0..17);
        let e = split("#jinja2: trim_block: False\nx").unwrap_err();
        assert!(e.help.unwrap().contains("did you mean `trim_blocks`"));
        assert!(split("#jinja2: trim_blocks: False").is_err());
        assert!(split("#jinja2: trim_blocks False\nx").is_err());
        assert!(split("#jinja2: trim_blocks: 'no'\nx").is_err());
        assert!(split("#jinja2: block_start_string: '{{'\nx").is_err());
    }

    #[test]
    fn newline_sequence_rewrites_the_body_but_not_the_trailing_newlines() {
        let h = split("#jinja2: newline_sequence: '\\r\\n'\nA\nB\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.overrides.body_text(h.body), "A\r\nB\n");
    }
}
