//! Control characters in what tasks print (a command's `\e[2J`, a bell, a
//! carriage return) are shown escaped, never sent to the operator's
//! terminal or log: they could clear the screen, move the cursor, retitle
//! the window or hide lines of the report. Colour is baton's own (see
//! [`super::style`]), only on a terminal.

use std::borrow::Cow;

/// The colour sequences [`super::style::Style`] writes; on a line painted by
/// baton these are kept, every other escape sequence is escaped.
const OWN_SEQUENCES: &[&str] = &[
    "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[36m",
];

/// Whether `c` would act on a terminal rather than print: C0 controls but
/// tab and newline, DEL, the C1 controls (U+0080-U+009F; U+009B is an
/// 8-bit CSI), and the bidirectional formatting characters (U+202A-U+202E
/// embeddings and overrides, U+2066-U+2069 isolates, U+200E/U+200F marks,
/// U+061C): a right-to-left override in a task name reorders the rest of
/// the line as the operator reads it ("Trojan Source", CVE-2021-42574).
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{80}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// How a control character is shown: as Python's `repr` writes it (`\r`,
/// `\x1b`, `\x9b`).
fn push_escaped(c: char, out: &mut String) {
    match c {
        '\r' => out.push_str("\\r"),
        c if (c as u32) > 0xff => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\x{:02x}", c as u32)),
    }
}

/// How many characters of a name (task, play, handler, host, loop item) the
/// human report shows; the rest is said as a count. JSON and JUnit keep the
/// whole name. A 65,536-character name once made the report's alignment
/// panic (Rust's format width limit) after the tasks had run.
pub const NAME_SHOWN_CHARS: usize = 200;

/// A name as the human report shows it, on one line: every control
/// character escaped, newline and tab too (a task named `a\nPLAY RECAP\n...`
/// must not print a line that reads as baton's own), and a name longer than
/// [`NAME_SHOWN_CHARS`] shortened with an ellipsis and its length.
pub fn shown_name(name: &str) -> Cow<'_, str> {
    shorten(name, NAME_SHOWN_CHARS)
}

/// A name on one line, whole (`--list-tasks`, where it is copied for
/// `--start-at-task`): every control character escaped, newline and tab too.
pub fn one_line(name: &str) -> Cow<'_, str> {
    shorten(name, usize::MAX)
}

fn shorten(name: &str, max_chars: usize) -> Cow<'_, str> {
    let long = name.len() > max_chars && name.chars().nth(max_chars).is_some();
    if !long
        && !name
            .chars()
            .any(|c| c == '\n' || c == '\t' || is_control(c))
    {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len().min(max_chars.saturating_mul(4)) + 32);
    for c in name.chars().take(max_chars) {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => push_escaped(c, &mut out),
            c => out.push(c),
        }
    }
    if long {
        out.push_str(&format!("… ({} characters)", name.chars().count()));
    }
    Cow::Owned(out)
}

/// `text` padded with spaces to `width` characters (as `{:<width$}` would,
/// which panics beyond 65,535).
pub fn pad_end(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let mut out = String::with_capacity(text.len() + width.saturating_sub(len));
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out
}

/// `text` right-aligned to `width` characters (as `{:>width$}` would).
pub fn pad_start(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let mut out = String::with_capacity(text.len() + width.saturating_sub(len));
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out.push_str(text);
    out
}

/// `text` with its control characters escaped (newline and tab kept).
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            push_escaped(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A line of the report with control characters escaped, except baton's own
/// colour sequences when `own_colors` (the line was painted for a terminal).
/// A line is one line: a newline inside it (a name that reached it
/// unescaped) is shown as `\n`, never printed as a line of its own.
pub fn escape_line(line: &str, own_colors: bool) -> Cow<'_, str> {
    if !line.chars().any(|c| c == '\n' || is_control(c)) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' && own_colors {
            if let Some(own) = OWN_SEQUENCES.iter().find(|s| rest.starts_with(**s)) {
                out.push_str(own);
                rest = &rest[own.len()..];
                continue;
            }
        }
        if c == '\n' {
            out.push_str("\\n");
        } else if is_control(c) {
            push_escaped(c, &mut out);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_newlines_and_tabs_kept() {
        assert_eq!(escape_controls("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            escape_controls(
                "red \x1b[31mRED\x1b[0m bell \x07 cr \r back \x08 csi \u{9b}2J del \x7f"
            ),
            "red \\x1b[31mRED\\x1b[0m bell \\x07 cr \\r back \\x08 csi \\x9b2J del \\x7f"
        );
        assert_eq!(escape_controls("café ✓"), "café ✓");
        // bidi overrides and isolates, as Python's repr writes them
        assert_eq!(
            escape_controls("restart \u{202e}gnp.exe \u{2066}x\u{2069} \u{200f}"),
            "restart \\u202egnp.exe \\u2066x\\u2069 \\u200f"
        );
        assert_eq!(escape_controls("שלום עולם"), "שלום עולם");
    }

    #[test]
    fn a_painted_line_keeps_only_batons_own_colours() {
        let line = "\x1b[1m\x1b[31mfailed\x1b[0m\x1b[0m: \x1b[2J\x1b[31mfake\x1b]0;title\x07";
        assert_eq!(
            escape_line(line, true),
            "\x1b[1m\x1b[31mfailed\x1b[0m\x1b[0m: \\x1b[2J\x1b[31mfake\\x1b]0;title\\x07"
        );
        assert_eq!(
            escape_line(line, false),
            "\\x1b[1m\\x1b[31mfailed\\x1b[0m\\x1b[0m: \\x1b[2J\\x1b[31mfake\\x1b]0;title\\x07"
        );
    }

    #[test]
    fn names_are_one_line_and_long_ones_are_shortened_with_their_length() {
        assert_eq!(shown_name("restart hvr"), "restart hvr");
        assert_eq!(
            shown_name("a\nPLAY RECAP\r\tx\x1b"),
            "a\\nPLAY RECAP\\r\\tx\\x1b"
        );
        let long = "é".repeat(70_000);
        let shown = shown_name(&long);
        assert!(shown.starts_with(&"é".repeat(NAME_SHOWN_CHARS)));
        assert!(shown.ends_with("… (70000 characters)"), "{shown}");
        assert_eq!(
            shown_name(&"x".repeat(NAME_SHOWN_CHARS)).len(),
            NAME_SHOWN_CHARS
        );
        assert_eq!(one_line(&long), long);
        assert_eq!(one_line("a\nb"), "a\\nb");
    }

    #[test]
    fn padding_by_hand_goes_past_the_format_width_limit() {
        assert_eq!(pad_end("ab", 4), "ab  ");
        assert_eq!(pad_start("ab", 4), "  ab");
        assert_eq!(pad_end("abc", 2), "abc");
        assert_eq!(pad_end("", 70_000).len(), 70_000);
    }

    #[test]
    fn a_line_is_one_line_whatever_it_holds() {
        assert_eq!(
            escape_line("TASK [a\nPLAY RECAP]", false),
            "TASK [a\\nPLAY RECAP]"
        );
        assert_eq!(
            escape_line("\x1b[1mx\ny\x1b[0m", true),
            "\x1b[1mx\\ny\x1b[0m"
        );
    }
}
