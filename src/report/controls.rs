//! Control characters in what tasks print (a command's `\e[2J`, a bell, a
//! carriage return) are shown escaped, never sent to the operator's
//! terminal or log: they could clear the screen, move the cursor, retitle
//! the window or hide lines of the report. Colour is baton's own (see
//! [`super::style`]), only on a terminal. What a control character is and
//! how it is escaped is [`crate::controls`], shared with error messages.

use std::borrow::Cow;

pub use crate::controls::{escape_controls, one_line, shown_name, NAME_SHOWN_CHARS};
use crate::controls::{is_control, push_escaped};

/// The colour sequences [`super::style::Style`] writes; on a line painted by
/// baton these are kept, every other escape sequence is escaped.
const OWN_SEQUENCES: &[&str] = &[
    "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[36m",
];

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
