//! Control characters in text baton shows on a terminal or writes to stderr
//! (a task's name, a file path, a YAML line in an error's snippet, a value
//! quoted in a message) are shown escaped, never sent raw: they could
//! clear the screen, move the cursor, retitle or reprogram the operator's
//! terminal (`\e]0;PWNED\a`), or hide and reorder what they read. One
//! implementation, below every stage: `error` escapes diagnostics with it,
//! `report` the lines of the report, `cli` its own lines. JSON output is
//! never passed through here: serde already escapes what JSON must.

use std::borrow::Cow;

/// Whether `c` would act on a terminal rather than print: C0 controls but
/// tab and newline, DEL, the C1 controls (U+0080-U+009F; U+009B is an
/// 8-bit CSI), and the bidirectional formatting characters (U+202A-U+202E
/// embeddings and overrides, U+2066-U+2069 isolates, U+200E/U+200F marks,
/// U+061C): a right-to-left override in a task name reorders the rest of
/// the line as the operator reads it ("Trojan Source", CVE-2021-42574).
pub fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{80}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// How a control character is shown: as Python's `repr` writes it (`\r`,
/// `\x1b`, `\x9b`, `\u202e`).
pub fn push_escaped(c: char, out: &mut String) {
    match c {
        '\r' => out.push_str("\\r"),
        c if (c as u32) > 0xff => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\x{:02x}", c as u32)),
    }
}

/// How many bytes `c` takes once escaped (see [`push_escaped`]).
pub fn escaped_len(c: char) -> usize {
    match c {
        '\r' => 2,
        c if (c as u32) > 0xff => 6,
        _ => 4,
    }
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

/// Text rendered for a terminal whose own colours are SGR sequences
/// (`ESC [ digits ; ... m`, as miette and clap paint): those are kept, every
/// other control character escaped (newline and tab kept). The text's
/// quoted parts must have been escaped before it was painted (a user's own
/// `\e[31m` would otherwise pass as a colour): this is the last guard, so
/// that nothing but colour ever reaches the terminal.
pub fn escape_keeping_colours(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            let sgr = rest.strip_prefix("\x1b[").and_then(|after| {
                let body = after
                    .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                    .filter(|&end| after[end..].starts_with('m'))?;
                Some(2 + body + 1)
            });
            if let Some(len) = sgr {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if is_control(c) {
            push_escaped(c, &mut out);
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Write one line to stderr, its control characters escaped (newline and
/// tab kept: a message may span lines); a closed or failing stderr is
/// ignored (`eprintln!` would panic, and there is nowhere left to say so).
/// Every plain line baton writes to stderr (`[WARNING]: ...`, `baton: ...`)
/// goes through here, so a value quoted in it never reaches the terminal raw.
pub fn stderr_line(text: &str) {
    write_stderr(&escape_controls(text));
}

/// Write text painted for the terminal (a diagnostic drawn by miette, a
/// command line error drawn by clap) to stderr: colour sequences kept,
/// every other control escaped (see [`escape_keeping_colours`]).
pub fn stderr_painted(text: &str) {
    write_stderr(&escape_keeping_colours(text));
}

fn write_stderr(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
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
/// `--start-at-task`; a file name in an error's header): every control
/// character escaped, newline and tab too.
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
        for c in ['\r', '\x1b', '\u{9b}', '\u{7f}', '\u{202e}', '\u{2069}'] {
            let mut out = String::new();
            push_escaped(c, &mut out);
            assert_eq!(out.len(), escaped_len(c), "{out}");
        }
    }

    #[test]
    fn only_colour_sequences_survive_a_painted_text() {
        let text =
            "\x1b[31;1m×\x1b[0m bad \x1b]0;PWNED\x07 \x1b[2J \u{9b}2J \x1b[38;5;12mok\x1b[0m\n\tx";
        assert_eq!(
            escape_keeping_colours(text),
            "\x1b[31;1m×\x1b[0m bad \\x1b]0;PWNED\\x07 \\x1b[2J \\x9b2J \x1b[38;5;12mok\x1b[0m\n\tx"
        );
        assert_eq!(escape_keeping_colours("\x1b["), "\\x1b[");
        assert_eq!(escape_keeping_colours("\x1b[12"), "\\x1b[12");
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
}
