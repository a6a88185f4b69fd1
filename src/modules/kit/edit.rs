//! Controller-side line editing for `lineinfile` and `blockinfile`: pure
//! functions over a file's bytes, ported from Ansible's algorithms so the same
//! task edits a file the same way.
//!
//! Regular expressions are Python's dialect ([`crate::pyregex`], as Ansible's
//! `re`). A pattern is matched against a line without its final `\n`, which
//! is where Python's `$` would match anyway.

use crate::pyregex::bytes::{Captures, Regex};

/// Split into lines that keep their `\n` (Python's `readlines`).
pub(crate) fn split_lines(content: &[u8]) -> Vec<Vec<u8>> {
    content
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn strip_nl(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let Some(rest) = l.strip_suffix(b"\n").or_else(|| l.strip_suffix(b"\r")) {
        l = rest;
    }
    l
}

fn ends_with_eol(line: &[u8]) -> bool {
    matches!(line.last(), Some(b'\n' | b'\r'))
}

/// Where a line or block goes when nothing matched.
#[derive(Debug)]
pub(crate) enum Anchor {
    /// `insertafter: EOF` (the default).
    Eof,
    /// `insertbefore: BOF` (or `insertafter: BOF`).
    Bof,
    After(Regex),
    Before(Regex),
}

impl Anchor {
    /// From the `insertafter` / `insertbefore` arguments (at most one given).
    pub fn from_args(after: Option<&str>, before: Option<&str>) -> Result<Anchor, String> {
        let compile = |name: &str, re: &str| {
            Regex::new(re).map_err(|e| format!("argument `{name}`: bad regular expression: {e}"))
        };
        Ok(match (after, before) {
            (Some(_), Some(_)) => {
                return Err("give `insertafter` or `insertbefore`, not both".into())
            }
            (Some("BOF"), None) | (None, Some("BOF")) => Anchor::Bof,
            (Some("EOF"), None) | (None, None) => Anchor::Eof,
            (Some(re), None) => Anchor::After(compile("insertafter", re)?),
            (None, Some(re)) => Anchor::Before(compile("insertbefore", re)?),
        })
    }

    fn regex(&self) -> Option<&Regex> {
        match self {
            Anchor::After(re) | Anchor::Before(re) => Some(re),
            Anchor::Eof | Anchor::Bof => None,
        }
    }
}

/// What selects the line `lineinfile` manages.
#[derive(Debug)]
pub(crate) enum Selector {
    Regexp(Regex),
    SearchString(Vec<u8>),
    /// Only the exact line itself.
    Line,
}

#[derive(Debug)]
pub(crate) struct LineParams {
    pub selector: Selector,
    pub line: Vec<u8>,
    pub anchor: Anchor,
    pub backrefs: bool,
    pub firstmatch: bool,
}

/// Where `line_present` acts: the matching line (by `regexp` /
/// `search_string`, else an identical line), where a new line would go (by
/// `insertafter` / `insertbefore`), and whether the selector matched.
fn find_line(lines: &[Vec<u8>], p: &LineParams) -> (Option<usize>, Option<usize>, bool) {
    let mut found: Option<usize> = None;
    let mut insert_at: Option<usize> = None;
    let mut selector_matched = false;
    match &p.selector {
        Selector::Regexp(re) => {
            for (i, l) in lines.iter().enumerate() {
                if re.is_match(strip_nl(l)) {
                    found = Some(i);
                    selector_matched = true;
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
        Selector::SearchString(s) => {
            for (i, l) in lines.iter().enumerate() {
                if contains(l, s) {
                    found = Some(i);
                    selector_matched = true;
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
        Selector::Line => {}
    }
    if !selector_matched {
        let insert_re = p.anchor.regex();
        for (i, l) in lines.iter().enumerate() {
            if strip_eol(l) == p.line.as_slice() {
                found = Some(i);
            } else if let Some(re) = insert_re {
                if re.is_match(strip_nl(l)) {
                    insert_at = Some(match p.anchor {
                        Anchor::After(_) => i + 1,
                        _ => i,
                    });
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    (found, insert_at, selector_matched)
}

/// `lineinfile state=present`. Returns the message when something changed.
pub(crate) fn line_present(
    lines: &mut Vec<Vec<u8>>,
    p: &LineParams,
) -> Result<Option<&'static str>, String> {
    let (found, insert_at, selector_matched) = find_line(lines, p);
    let with_nl = |mut l: Vec<u8>| {
        if !l.ends_with(b"\n") {
            l.push(b'\n');
        }
        l
    };
    if let Some(i) = found {
        let new_line = match (&p.selector, p.backrefs && selector_matched) {
            (Selector::Regexp(re), true) => {
                let line = lines[i].clone();
                let caps = re
                    .captures(strip_nl(&line))
                    .ok_or_else(|| "internal: a matched line no longer matches".to_string())?;
                expand_python(&p.line, &caps)?
            }
            _ => p.line.clone(),
        };
        let new_line = with_nl(new_line);
        if lines[i] != new_line {
            lines[i] = new_line;
            return Ok(Some("line replaced"));
        }
        return Ok(None);
    }
    if p.backrefs {
        // Without a match there is nothing to fill the back-references from.
        return Ok(None);
    }
    let new_line = with_nl(p.line.clone());
    match (&p.anchor, insert_at) {
        (Anchor::Bof, _) => {
            lines.insert(0, new_line);
        }
        (Anchor::Eof, _) | (_, None) => {
            if let Some(last) = lines.last_mut() {
                if !ends_with_eol(last) {
                    last.push(b'\n');
                }
            }
            lines.push(new_line);
        }
        (Anchor::After(_), Some(at)) => {
            if at == lines.len() {
                if strip_eol(&lines[at - 1]) == p.line.as_slice() {
                    return Ok(None);
                }
                if !ends_with_eol(&lines[at - 1]) {
                    lines[at - 1].push(b'\n');
                }
                lines.push(new_line);
            } else {
                if strip_eol(&lines[at]) == p.line.as_slice() {
                    return Ok(None);
                }
                lines.insert(at, new_line);
            }
        }
        (Anchor::Before(_), Some(at)) => {
            lines.insert(at, new_line);
        }
    }
    Ok(Some("line added"))
}

/// `lineinfile state=absent`: the number of lines removed.
pub(crate) fn line_absent(lines: &mut Vec<Vec<u8>>, selector: &Selector, line: &[u8]) -> usize {
    let before = lines.len();
    lines.retain(|l| {
        let hit = match selector {
            Selector::Regexp(re) => re.is_match(strip_nl(l)),
            Selector::SearchString(s) => contains(l, s),
            Selector::Line => strip_eol(l) == line,
        };
        !hit
    });
    before - lines.len()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Python's `Match.expand`: `\1`..`\99`, `\g<n>`, `\g<name>`, and the usual
/// character escapes. A group that did not take part expands to nothing.
pub(crate) fn expand_python(template: &[u8], caps: &Captures<'_>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    let group = |out: &mut Vec<u8>, name: &str| -> Result<(), String> {
        let m = match name.parse::<usize>() {
            Ok(n) if n < caps.len() => caps.get(n),
            Ok(n) => {
                return Err(format!(
                    "invalid group reference \\{n} in `line` (the regexp has {} groups)",
                    caps.len() - 1
                ))
            }
            Err(_) => {
                // Look the name up; a name the pattern does not define is an error.
                match caps.name(name) {
                    Some(m) => Some(m),
                    None => return Err(format!("unknown group name `{name}` in `line`")),
                }
            }
        };
        if let Some(m) = m {
            out.extend_from_slice(m.as_bytes());
        }
        Ok(())
    };
    while i < template.len() {
        let c = template[i];
        if c != b'\\' || i + 1 == template.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = template[i + 1];
        match next {
            b'1'..=b'9' => {
                let mut end = i + 2;
                if end < template.len() && template[end].is_ascii_digit() {
                    end += 1;
                }
                let digits = std::str::from_utf8(&template[i + 1..end]).unwrap_or("0");
                group(&mut out, digits)?;
                i = end;
            }
            b'g' if template.get(i + 2) == Some(&b'<') => {
                let rest = &template[i + 3..];
                let close = rest.iter().position(|b| *b == b'>').ok_or_else(|| {
                    "missing `>` in a \\g<...> group reference in `line`".to_string()
                })?;
                let name = String::from_utf8_lossy(&rest[..close]).into_owned();
                group(&mut out, &name)?;
                i += 3 + close + 1;
            }
            b'n' => {
                out.push(b'\n');
                i += 2;
            }
            b't' => {
                out.push(b'\t');
                i += 2;
            }
            b'r' => {
                out.push(b'\r');
                i += 2;
            }
            b'\\' => {
                out.push(b'\\');
                i += 2;
            }
            _ => {
                out.push(b'\\');
                out.push(next);
                i += 2;
            }
        }
    }
    Ok(out)
}

#[derive(Debug)]
pub(crate) struct BlockParams {
    pub block: Vec<u8>,
    pub marker_begin: Vec<u8>,
    pub marker_end: Vec<u8>,
    pub present: bool,
    pub anchor: Anchor,
}

impl BlockParams {
    /// `marker` with `{mark}` replaced by `marker_begin` / `marker_end`.
    pub fn markers(marker: &str, begin: &str, end: &str) -> (Vec<u8>, Vec<u8>) {
        (
            marker.replace("{mark}", begin).into_bytes(),
            marker.replace("{mark}", end).into_bytes(),
        )
    }
}

/// `blockinfile`: the new content, from the old (`None`: no file yet).
pub(crate) fn block_edit(original: Option<&[u8]>, p: &BlockParams) -> Vec<u8> {
    let mut lines = original.map(split_lines).unwrap_or_default();
    let mut marker0 = p.marker_begin.clone();
    marker0.push(b'\n');
    let mut marker1 = p.marker_end.clone();
    marker1.push(b'\n');
    let block_lines: Vec<Vec<u8>> = if p.present && !p.block.is_empty() {
        let mut block = p.block.clone();
        if !block.ends_with(b"\n") {
            block.push(b'\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(split_lines(&block));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };
    let mut n0 = None;
    let mut n1 = None;
    for (i, l) in lines.iter().enumerate() {
        if strip_eol(l) == p.marker_begin.as_slice() {
            n0 = Some(i);
        }
        if strip_eol(l) == p.marker_end.as_slice() {
            n1 = Some(i);
        }
    }
    let at = match (n0, n1) {
        (Some(a), Some(b)) if a < b => {
            lines.drain(a..=b);
            a
        }
        (Some(a), Some(b)) => {
            lines.drain(b..=a);
            b
        }
        _ => match &p.anchor {
            Anchor::After(re) | Anchor::Before(re) => {
                let hit = lines.iter().rposition(|l| re.is_match(strip_nl(l)));
                match (hit, &p.anchor) {
                    (None, _) => lines.len(),
                    (Some(i), Anchor::After(_)) => i + 1,
                    (Some(i), _) => i,
                }
            }
            Anchor::Bof => 0,
            Anchor::Eof => lines.len(),
        },
    };
    if at > 0 && !lines[at - 1].ends_with(b"\n") {
        lines[at - 1].push(b'\n');
    }
    lines.splice(at..at, block_lines);
    lines.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(selector: Selector, line: &str, anchor: Anchor) -> LineParams {
        LineParams {
            selector,
            line: line.as_bytes().to_vec(),
            anchor,
            backrefs: false,
            firstmatch: false,
        }
    }

    fn present(text: &str, p: &LineParams) -> (String, Option<&'static str>) {
        let mut lines = split_lines(text.as_bytes());
        let msg = line_present(&mut lines, p).unwrap();
        (String::from_utf8(lines.concat()).unwrap(), msg)
    }

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    #[test]
    fn regexp_replaces_the_last_match_and_is_then_stable() {
        let p = params(Selector::Regexp(re("^port=")), "port=8080", Anchor::Eof);
        let (out, msg) = present("a=1\nport=1\nport=2\n", &p);
        assert_eq!(
            (out.as_str(), msg),
            ("a=1\nport=1\nport=8080\n", Some("line replaced"))
        );
        assert_eq!(present(&out, &p).1, None);
    }

    #[test]
    fn dollar_matches_at_the_end_of_a_line_like_python() {
        let p = params(
            Selector::Regexp(re("^SELINUX=.*$")),
            "SELINUX=disabled",
            Anchor::Eof,
        );
        assert_eq!(present("SELINUX=enforcing\n", &p).0, "SELINUX=disabled\n");
    }

    #[test]
    fn patterns_are_python_dialect_with_look_around_and_backrefs() {
        // Look-behind/look-ahead and `(?P<name>)` are Python's `re`, not Rust's `regex`.
        let p = params(
            Selector::Regexp(re(r"^(?P<k>port)=(?!8080)\d+\Z")),
            "port=8080",
            Anchor::After(re(r"(?<=^\[)main(?=\])")),
        );
        assert_eq!(present("[main]\nport=1\n", &p).0, "[main]\nport=8080\n");
        assert_eq!(present("[main]\nx=1\n", &p).0, "[main]\nport=8080\nx=1\n");
        assert!(Anchor::from_args(Some("(a"), None).is_err());
    }

    #[test]
    fn adds_at_eof_fixing_a_missing_final_newline() {
        let p = params(Selector::Line, "new", Anchor::Eof);
        assert_eq!(
            present("old", &p),
            ("old\nnew\n".into(), Some("line added"))
        );
        assert_eq!(present("", &p).0, "new\n");
        assert_eq!(present("new\n", &p).1, None);
    }

    #[test]
    fn insertafter_and_insertbefore_use_the_last_match_unless_firstmatch() {
        let p = params(Selector::Line, "X", Anchor::After(re("^#")));
        assert_eq!(present("#a\n1\n#b\n2\n", &p).0, "#a\n1\n#b\nX\n2\n");
        let mut first = params(Selector::Line, "X", Anchor::After(re("^#")));
        first.firstmatch = true;
        assert_eq!(present("#a\n1\n#b\n2\n", &first).0, "#a\nX\n1\n#b\n2\n");
        let p = params(Selector::Line, "X", Anchor::Before(re("^2")));
        assert_eq!(present("1\n2\n", &p).0, "1\nX\n2\n");
        let p = params(Selector::Line, "X", Anchor::Bof);
        assert_eq!(present("1\n", &p).0, "X\n1\n");
        // Not matched: falls back to the end.
        let p = params(Selector::Line, "X", Anchor::After(re("^nothing")));
        assert_eq!(present("1\n", &p).0, "1\nX\n");
        // Already right after the anchor: nothing to do.
        let p = params(Selector::Line, "X", Anchor::After(re("^1")));
        assert_eq!(present("1\nX\n", &p).1, None);
    }

    #[test]
    fn regexp_takes_precedence_over_insertafter() {
        let p = params(
            Selector::Regexp(re("^key=")),
            "key=2",
            Anchor::After(re("^\\[s\\]")),
        );
        assert_eq!(present("[s]\nother\nkey=1\n", &p).0, "[s]\nother\nkey=2\n");
    }

    #[test]
    fn backrefs_fill_groups_and_do_nothing_without_a_match() {
        let mut p = params(
            Selector::Regexp(re("^(\\w+)=(?P<v>.*)$")),
            "\\1 = \\g<v>!",
            Anchor::Eof,
        );
        p.backrefs = true;
        assert_eq!(present("name=val\n", &p).0, "name = val!\n");
        assert_eq!(
            present("nothing here\n", &p),
            ("nothing here\n".into(), None)
        );
    }

    #[test]
    fn bad_group_references_are_errors() {
        let r = re("^(a)");
        let caps = r.captures(b"a").unwrap();
        assert!(expand_python(b"\\2", &caps).is_err());
        assert!(expand_python(b"\\g<nope>", &caps).is_err());
        assert_eq!(expand_python(b"\\1\\n\\\\", &caps).unwrap(), b"a\n\\");
    }

    #[test]
    fn absent_removes_every_matching_line() {
        let mut lines = split_lines(b"a\nb1\nb2\nc\n");
        assert_eq!(line_absent(&mut lines, &Selector::Regexp(re("^b")), b""), 2);
        assert_eq!(lines.concat(), b"a\nc\n");
        let mut lines = split_lines(b"x\r\ny\n");
        assert_eq!(line_absent(&mut lines, &Selector::Line, b"x"), 1);
        let mut lines = split_lines(b"some text here\n");
        assert_eq!(
            line_absent(&mut lines, &Selector::SearchString(b"text".to_vec()), b""),
            1
        );
    }

    fn block(text: &str, present: bool, anchor: Anchor) -> BlockParams {
        let (b, e) = BlockParams::markers("# {mark} ANSIBLE MANAGED BLOCK", "BEGIN", "END");
        BlockParams {
            block: text.as_bytes().to_vec(),
            marker_begin: b,
            marker_end: e,
            present,
            anchor,
        }
    }

    #[test]
    fn blocks_are_inserted_replaced_and_removed_between_markers() {
        let p = block("a\nb", true, Anchor::Eof);
        let once = block_edit(Some(b"top"), &p);
        let want = "top\n# BEGIN ANSIBLE MANAGED BLOCK\na\nb\n# END ANSIBLE MANAGED BLOCK\n";
        assert_eq!(String::from_utf8_lossy(&once), want);
        assert_eq!(block_edit(Some(&once), &p), once);
        let changed = block_edit(Some(&once), &block("c\n", true, Anchor::Eof));
        assert_eq!(
            String::from_utf8_lossy(&changed),
            "top\n# BEGIN ANSIBLE MANAGED BLOCK\nc\n# END ANSIBLE MANAGED BLOCK\n"
        );
        assert_eq!(
            block_edit(Some(&once), &block("", false, Anchor::Eof)),
            b"top\n"
        );
        assert_eq!(
            block_edit(Some(&once), &block("", true, Anchor::Eof)),
            b"top\n"
        );
    }

    #[test]
    fn blocks_go_after_the_last_anchor_match_or_at_bof() {
        let p = block("x", true, Anchor::After(re("^\\[main\\]")));
        let out = block_edit(Some(b"[main]\nk=v\n[other]\n"), &p);
        assert!(
            String::from_utf8_lossy(&out).starts_with("[main]\n# BEGIN"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        let p = block("x", true, Anchor::Bof);
        assert!(block_edit(Some(b"a\n"), &p).starts_with(b"# BEGIN"));
        assert_eq!(
            block_edit(None, &p).len(),
            "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n".len()
        );
    }
}
