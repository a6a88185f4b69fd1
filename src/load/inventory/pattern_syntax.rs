//! The text of a host pattern: terms split on `:`, `,` and spaces, each with
//! its operator (`&` intersect, `!` exclude) and byte offset, and `[i]` /
//! `[a:b]` subscripts. Knows nothing of an inventory.

use std::sync::LazyLock;

use regex::Regex;

static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\]$")
        .unwrap_or_else(|e| unreachable!("{e}"))
});

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Op {
    Union,
    Intersect,
    Exclude,
}

#[derive(Debug, PartialEq)]
pub(super) struct Term<'a> {
    pub(super) op: Op,
    /// The term without its `&`/`!`.
    pub(super) body: &'a str,
    /// Byte offset of `body` in the pattern.
    pub(super) offset: usize,
}

/// A pattern problem: where in the pattern (bytes), what, and how to fix it.
pub(super) struct Problem {
    pub(super) offset: usize,
    pub(super) len: usize,
    pub(super) message: String,
    pub(super) help: &'static str,
}

/// Split on `,`, `:` and whitespace outside `[...]`; a term that reads as an
/// IPv6 address keeps its colons.
pub(super) fn split_terms(pattern: &str) -> Result<Vec<Term<'_>>, Problem> {
    let mut chunks: Vec<(usize, &str)> = Vec::new();
    let mut start = 0;
    let mut open: Option<usize> = None;
    for (i, c) in pattern.char_indices() {
        match c {
            '[' if open.is_none() => open = Some(i),
            ']' if open.is_some() => open = None,
            ']' => {
                return Err(Problem {
                    offset: i,
                    len: 1,
                    message: "`]` without a matching `[` in the host pattern".into(),
                    help: "brackets hold a subscript (`web[0]`, `web[0:2]`) or a set of characters (`web[12]`)",
                })
            }
            ',' | ' ' | '\t' | '\n' if open.is_none() => {
                chunks.push((start, &pattern[start..i]));
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if let Some(at) = open {
        return Err(Problem {
            offset: at,
            len: pattern.len() - at,
            message: "`[` is never closed in the host pattern".into(),
            help: "close the bracket: `web[0]`, `web[0:2]`, `web[12]`",
        });
    }
    chunks.push((start, &pattern[start..]));

    let mut terms = Vec::new();
    for (offset, chunk) in chunks {
        let mut piece_start = 0;
        let mut depth = 0usize;
        for (i, c) in chunk.char_indices() {
            // An IPv6 address can only be told apart as the rest of the chunk
            // (`fe80::1`, `all:!fe80::1`); elsewhere its colons separate terms.
            if i == piece_start && looks_like_ipv6(chunk[i..].trim_start_matches(['&', '!'])) {
                break;
            }
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ':' if depth == 0 => {
                    push_term(&mut terms, offset + piece_start, &chunk[piece_start..i])?;
                    piece_start = i + 1;
                }
                _ => {}
            }
        }
        push_term(&mut terms, offset + piece_start, &chunk[piece_start..])?;
    }
    Ok(terms)
}

fn push_term<'a>(terms: &mut Vec<Term<'a>>, offset: usize, text: &'a str) -> Result<(), Problem> {
    if text.is_empty() {
        return Ok(());
    }
    let (op, body) = match text.as_bytes()[0] {
        b'&' => (Op::Intersect, &text[1..]),
        b'!' => (Op::Exclude, &text[1..]),
        _ => (Op::Union, text),
    };
    let operator_problem = |message: String| Problem {
        offset,
        len: text.len(),
        message,
        help: "write `a:&b` for hosts in both a and b, `a:!b` for hosts in a but not b",
    };
    if body.is_empty() {
        return Err(operator_problem(format!(
            "`{text}` must be followed by a host or group name"
        )));
    }
    if body.starts_with(['&', '!']) {
        return Err(operator_problem(format!(
            "`{text}` has more than one `&`/`!`"
        )));
    }
    terms.push(Term {
        op,
        body,
        offset: offset + (text.len() - body.len()),
    });
    Ok(())
}

/// `::1`, `fe80::1`, or a full eight-part address: colons in these are part of
/// the address, not separators.
fn looks_like_ipv6(text: &str) -> bool {
    let hex_only = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    hex_only && (text.contains("::") || text.matches(':').count() == 7)
}

#[derive(Debug, PartialEq)]
pub(super) enum Subscript {
    Index(i64),
    /// Inclusive; `None` end means "to the last".
    Range(usize, Option<usize>),
}

impl Subscript {
    pub(super) fn apply(&self, hosts: Vec<String>) -> Vec<String> {
        let len = hosts.len();
        match *self {
            Subscript::Index(i) => {
                let at = if i < 0 { len as i64 + i } else { i };
                usize::try_from(at)
                    .ok()
                    .and_then(|at| hosts.into_iter().nth(at))
                    .into_iter()
                    .collect()
            }
            Subscript::Range(start, end) => {
                let end = end.map_or(len, |e| e.saturating_add(1).min(len));
                hosts.into_iter().take(end).skip(start).collect()
            }
        }
    }
}

/// `web[0]`, `web[-1]`, `web[1:3]`, `web[2:]`.
pub(super) fn split_subscript(body: &str) -> (&str, Option<Subscript>) {
    let Some(caps) = SUBSCRIPT.captures(body) else {
        return (body, None);
    };
    let expression = caps.get(1).map_or(body, |m| m.as_str());
    let subscript = if let Some(index) = caps.get(2) {
        index.as_str().parse().ok().map(Subscript::Index)
    } else {
        let start = caps.get(3).and_then(|m| m.as_str().parse().ok());
        let end = caps.get(4).map(|m| m.as_str()).filter(|s| !s.is_empty());
        match (start, end.map(str::parse::<usize>)) {
            (Some(s), None) => Some(Subscript::Range(s, None)),
            (Some(s), Some(Ok(e))) => Some(Subscript::Range(s, Some(e))),
            _ => None,
        }
    };
    match subscript {
        Some(subscript) => (expression, Some(subscript)),
        None => (body, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_splitting() {
        let terms = split_terms("a:&b, !c d[0:2]").unwrap_or_else(|p| panic!("{}", p.message));
        let got: Vec<(Op, &str, usize)> = terms.iter().map(|t| (t.op, t.body, t.offset)).collect();
        assert_eq!(
            got,
            [
                (Op::Union, "a", 0),
                (Op::Intersect, "b", 3),
                (Op::Exclude, "c", 7),
                (Op::Union, "d[0:2]", 9)
            ]
        );
    }
}
