//! Errors as values. Input problems carry the source span that caused them, so
//! every message can name the file, the line and what to do.

use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use crate::controls::{escape_controls, escaped_len, is_control, one_line};
use crate::source::Origin;

/// Process exit codes; documented in `baton --help` and the README.
pub mod exit_code {
    pub const OK: i32 = 0;
    pub const INTERNAL: i32 = 1;
    pub const TASK_FAILED: i32 = 2;
    pub const UNREACHABLE: i32 = 3;
    pub const INVALID_INPUT: i32 = 4;
    /// A signal stopped the run: 128 + its number, as a shell reports it.
    pub const SIGNALLED: i32 = 128;
    /// The operator interrupted the run (Ctrl-C), as a shell reports SIGINT.
    pub const INTERRUPTED: i32 = 130;
    /// SIGHUP (the terminal or session went away): 128 + 1.
    pub const HANGUP: i32 = 129;
    /// SIGTERM (a service manager or `kill`): 128 + 15.
    pub const TERMINATED: i32 = 143;
}

/// A problem with what the user gave us: a playbook, an inventory, a variable, a flag.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct InputError {
    pub message: String,
    #[source_code]
    pub src: Option<Snippet>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
    /// `file:line:col`, kept so plain-text reporters (JSON, JUnit) can name the place.
    pub location: Option<String>,
    /// A `no_log` task's values, masked in the message and in help added
    /// later (see [`InputError::hide_for_no_log`]).
    pub masked: Vec<String>,
    /// The error fails the task as a module failure would (exit 2, rescuable),
    /// not the run as invalid input (exit 4): Ansible treats a condition
    /// whose result is not a boolean that way.
    pub task_failure: bool,
}

impl InputError {
    /// An error pointing at a place in a source file.
    pub fn at(origin: &Origin, message: impl Into<String>, label: impl Into<String>) -> Self {
        let span_end = origin.offset.saturating_add(origin.len);
        if let Some(no_log) = origin.file.no_log_near(origin.offset..span_end) {
            // The error is inside a `no_log` play, block or task: its lines
            // may hold the secret.
            return InputError {
                location: Some(origin.describe()),
                ..InputError::plain(message)
            }
            .hide_for_no_log(&no_log.values);
        }
        if origin.file.private() {
            return InputError {
                location: Some(origin.describe()),
                ..InputError::plain(format!(
                    "{}: {} {PRIVATE_HIDDEN}",
                    origin.describe(),
                    mask_private(&message.into(), &origin.file.text)
                ))
            };
        }
        let (src, span) = Snippet::around(origin);
        InputError {
            message: message.into(),
            src: Some(src),
            span: Some(span),
            label: label.into(),
            help: None,
            location: Some(origin.describe()),
            masked: Vec::new(),
            task_failure: false,
        }
    }

    /// An error with no source place (a CLI flag, a missing file).
    pub fn plain(message: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
            src: None,
            span: None,
            label: String::new(),
            help: None,
            location: None,
            masked: Vec::new(),
            task_failure: false,
        }
    }

    /// Mark the error as failing the task, not the run (see `task_failure`).
    pub fn failing_the_task(mut self) -> Self {
        self.task_failure = true;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(mask_values(&help.into(), &self.masked));
        self
    }

    /// The error of a `no_log` task: the place only. The source snippet shows
    /// the task's arguments and the message may quote templated values, so
    /// both are hidden, as Ansible censors a `no_log` task's failure.
    pub fn redacted(self) -> Self {
        // a file's error already hidden (`hide_file_for_no_log`): what is
        // wrong with it is no secret
        if self.src.is_none() && self.message.contains(NO_LOG_FILE_HIDDEN) {
            return self;
        }
        let at = self.location.map(|l| format!("{l}: ")).unwrap_or_default();
        InputError::plain(format!(
            "{at}a template or condition of a `no_log` task failed; the details are hidden because of `no_log: true` (run the task without it to see them)"
        ))
    }

    /// The error of a `no_log` task found while loading: the place and what
    /// is wrong, without the source snippet, and with `values` (the task's
    /// string values) masked in the message and help, as `(source hidden:
    /// no_log)` says. Already hidden errors stay as they are.
    pub fn hide_for_no_log(self, values: &[String]) -> Self {
        let mut masked = self.masked;
        masked.extend(values.iter().cloned());
        if self.src.is_none() && self.message.contains(NO_LOG_HIDDEN) {
            return InputError {
                message: mask_values(&self.message, &masked),
                help: self.help.map(|h| mask_values(&h, &masked)),
                masked,
                ..self
            };
        }
        let at = self
            .location
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        InputError {
            message: format!("{at}{} {NO_LOG_HIDDEN}", mask_values(&self.message, values)),
            src: None,
            span: None,
            label: String::new(),
            help: self.help.map(|h| mask_values(&h, values)),
            // The place leads the message (there is no snippet to carry it);
            // `one_line` does not say it twice.
            location: self.location,
            masked,
            task_failure: self.task_failure,
        }
    }

    /// A data file's error (a YAML error, a bad variable name in an
    /// `include_vars` file) under `no_log`: as [`Self::hide_for_no_log`],
    /// no source lines and `values` masked, and then kept as it is by
    /// [`Self::redacted`]: the kind of error and its place are no secret,
    /// and "a template or condition failed" would name the wrong problem.
    pub fn hide_file_for_no_log(self, values: &[String]) -> Self {
        let mut e = self.hide_for_no_log(values);
        e.message = e.message.replace(NO_LOG_HIDDEN, NO_LOG_FILE_HIDDEN);
        e
    }

    /// One line, for reporters that cannot draw a snippet.
    pub fn one_line(&self) -> String {
        let mut s = match &self.location {
            Some(loc) if !self.message.starts_with(loc.as_str()) => {
                format!("{loc}: {}", self.message)
            }
            _ => self.message.clone(),
        };
        if let Some(help) = &self.help {
            s.push_str(" (");
            s.push_str(help);
            s.push(')');
        }
        s
    }
}

/// What a `no_log` task's load-time error says in place of its source.
pub const NO_LOG_HIDDEN: &str = "(source hidden: no_log)";

/// The mark of an error in a private file ([`crate::source::is_private`]).
pub const PRIVATE_HIDDEN: &str = "(lines not shown: the file is not readable by other users)";

/// `message` with each `quoted` part that is text of the private file
/// (`root:*:20228:…` as a bad variable name) replaced by `…`.
pub fn mask_private(message: &str, file_text: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len() < 3 {
        return message.to_string();
    }
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        // odd parts are inside backticks (when a closing one follows)
        if i % 2 == 1 && i + 1 < parts.len() && !part.is_empty() && file_text.contains(part) {
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The mark of [`InputError::hide_file_for_no_log`].
pub const NO_LOG_FILE_HIDDEN: &str = "(file lines and values hidden: no_log)";

/// `text` with each of `values` replaced by `********`. Values shorter
/// than three characters are left: masking them would garble the message,
/// not hide a secret. Whole values only: the words of a templated value are
/// mostly names (a filter, a variable) that the message needs.
fn mask_values(text: &str, values: &[String]) -> String {
    let mut secrets: Vec<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| v.chars().count() >= 3)
        .collect();
    // Longest first, so a value is masked whole before a shorter one in it.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let mut out = text.to_string();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, "********");
        }
    }
    out
}

/// Lines longer than this (bytes) are not drawn in full: the snippet is cut
/// to the span's line, around the span. A diagnostic drawn from a line of
/// 65,536 columns or more makes miette panic (a format width out of range),
/// and a 70,000-character line helps nobody at 3 a.m.
const MAX_SNIPPET_LINE: usize = 400;
/// Bytes kept each side of the span on a cut line.
const CUT_CONTEXT: usize = 80;
/// The most bytes of a span underlined on a cut line.
const CUT_SPAN: usize = 160;

/// The text an error's snippet is drawn from: the whole file, or, when a line
/// near the span is longer than [`MAX_SNIPPET_LINE`], the span's line cut
/// around the span (`…` marks the cuts). Line and column in the snippet's
/// header stay those of the file.
///
/// When the error is drawn ([`Error::rendered`]), control characters in the
/// lines are escaped before miette measures them ([`Snippet::escaped`]), and
/// the span moved with them: a YAML line holding
/// `\e]0;PWNED\a` is drawn as `\x1b]0;PWNED\x07`, never sent to the
/// terminal, and the underline, measured on the escaped line, still sits
/// under its token.
#[derive(Clone, Debug)]
pub struct Snippet {
    /// (an `Arc`, as the escapes a `Box`: an error is moved around in
    /// results, and [`InputError`] is kept small)
    name: Arc<str>,
    text: Arc<str>,
    /// 0-based line in the file of `text`'s first line.
    first_line: usize,
    /// Bytes of the file's line cut off before `text`'s first line, less the
    /// `…` marker that replaces them.
    column_shift: isize,
    /// In an escaped snippet, where `text` holds an escaped control
    /// character: its offset in `text` and the bytes the escape added, so
    /// the header's column is the file's, not the escaped line's.
    escapes: Box<[(usize, usize)]>,
}

impl Snippet {
    /// The snippet for `origin` and the span in it to underline.
    pub fn around(origin: &Origin) -> (Snippet, SourceSpan) {
        let text = &origin.file.text;
        // A file name is one line, its control characters escaped.
        let name: Arc<str> = one_line(&origin.file.display_name()).into();
        let offset = text.floor_char_boundary(origin.offset);
        // The span ends on a character boundary too (a span may be counted
        // in characters where the text has multi-byte ones).
        let len = text.ceil_char_boundary(offset.saturating_add(origin.len)) - offset;
        // Lines drawn: the span's, and two of context each side (as the
        // diagnostics hook asks).
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let from = text[..line_start.saturating_sub(1)]
            .rmatch_indices('\n')
            .nth(1)
            .map_or(0, |(i, _)| i + 1);
        let to = text[offset + len..]
            .match_indices('\n')
            .nth(2)
            .map_or(text.len(), |(i, _)| offset + len + i);
        let long = text[from..to]
            .split('\n')
            .any(|line| line.len() > MAX_SNIPPET_LINE);
        if !long && origin.file.no_log_near(from..to).is_some() {
            // A `no_log` task next to the span: draw the span's own lines
            // only, not the context lines that would show its secrets.
            let end = text[offset + len..]
                .find('\n')
                .map_or(text.len(), |i| offset + len + i);
            let (file_line, _) = origin.file.line_col(offset);
            let own = Snippet::new(name, text[line_start..end].into(), file_line - 1, 0);
            return (own, SourceSpan::new((offset - line_start).into(), len));
        }
        if !long {
            let whole = Snippet::new(name, Arc::clone(text), 0, 0);
            return (whole, SourceSpan::new(offset.into(), len));
        }
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line = &text[line_start..line_end];
        let at = offset - line_start;
        let start = line.floor_char_boundary(at.saturating_sub(CUT_CONTEXT));
        let span_end = line.floor_char_boundary(at + len.min(CUT_SPAN).min(line.len() - at));
        let span_end = if span_end == at && len > 0 {
            line.ceil_char_boundary(at + 1)
        } else {
            span_end
        };
        let span_len = span_end - at;
        let end = line.ceil_char_boundary(at + span_len + CUT_CONTEXT);
        let head = if start > 0 { "…" } else { "" };
        let tail = if end < line.len() { "…" } else { "" };
        let cut = format!("{head}{}{tail}", &line[start..end]);
        let (file_line, _) = origin.file.line_col(offset);
        let shift = start as isize - head.len() as isize;
        let snippet = Snippet::new(name, cut.into(), file_line - 1, shift);
        let span = SourceSpan::new((head.len() + at - start).into(), span_len);
        (snippet, span)
    }

    fn new(name: Arc<str>, text: Arc<str>, first_line: usize, column_shift: isize) -> Snippet {
        Snippet {
            name,
            text,
            first_line,
            column_shift,
            escapes: Box::default(),
        }
    }

    /// The snippet as drawn on a terminal: its control characters escaped
    /// (newline and tab kept, and a carriage return before a newline, which
    /// ends the line as miette draws it). Made only when an error is drawn
    /// (an error is often made and dropped, as a failed item's): the text
    /// may be a whole file.
    fn escaped(&self) -> Snippet {
        let text = &self.text;
        let acts = |(i, c): (usize, char)| {
            is_control(c) && !(c == '\r' && text[i + 1..].starts_with('\n'))
        };
        if !text.char_indices().any(acts) {
            return self.clone();
        }
        let mut shown = String::with_capacity(text.len() + 64);
        let mut escapes = Vec::new();
        for (i, c) in text.char_indices() {
            if !acts((i, c)) {
                shown.push(c);
                continue;
            }
            escapes.push((shown.len(), escaped_len(c) - c.len_utf8()));
            crate::controls::push_escaped(c, &mut shown);
        }
        Snippet {
            text: shown.into(),
            escapes: escapes.into(),
            ..self.clone()
        }
    }

    /// Where byte `raw` of the unescaped text is in this (escaped) text.
    fn shown_offset(&self, raw: usize) -> usize {
        let mut added = 0;
        for &(at, extra) in self.escapes.iter() {
            // `at - added`: where this escape's character is in the raw text
            if at - added >= raw {
                break;
            }
            added += extra;
        }
        raw + added
    }

    /// `span` of the unescaped text, in this (escaped) text.
    fn shown_span(&self, span: &SourceSpan) -> SourceSpan {
        let start = self.shown_offset(span.offset());
        let end = self.shown_offset(span.offset() + span.len());
        SourceSpan::new(start.into(), end - start)
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_ref()
                .read_span(span, context_lines_before, context_lines_after)?;
        // The column miette counted on the escaped line, less what the
        // escapes before the span on that line added: the file's column.
        let line_start = span.offset().saturating_sub(inner.column());
        let added: usize = self
            .escapes
            .iter()
            .filter(|(at, _)| (line_start..span.offset()).contains(at))
            .map(|(_, extra)| extra)
            .sum();
        let column = inner.column().saturating_sub(added);
        let column = if inner.line() == 0 {
            (column as isize + self.column_shift).max(0) as usize
        } else {
            column
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

/// Every error baton can end with.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(Box<InputError>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => exit_code::INVALID_INPUT,
            Error::Internal(_) => exit_code::INTERNAL,
        }
    }

    /// The error drawn for a terminal or stderr by the diagnostics hook
    /// (with its source snippet), every control character that came from
    /// the input escaped: the message, help and label (a variable's name, a
    /// value quoted in them), the file name and the lines of the snippet
    /// ([`Snippet`]). Only the hook's own colours are left as escape
    /// sequences. JSON and JUnit take [`InputError::one_line`] unescaped
    /// (their writers escape what their format needs).
    pub fn rendered(self) -> String {
        let snippet = match &self {
            Error::Input(e) => e.src.as_ref().map(Snippet::escaped),
            Error::Internal(_) => None,
        };
        let shown = Shown {
            error: self,
            snippet,
        };
        let drawn = format!("{:?}", miette::Report::new(shown));
        crate::controls::escape_keeping_colours(&drawn).into_owned()
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`Error`] whose text miette draws escaped (see [`Error::rendered`]).
#[derive(Debug)]
struct Shown {
    error: Error,
    /// The error's snippet, escaped; its labels are moved onto it.
    snippet: Option<Snippet>,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&escape_controls(&self.error.to_string()))
    }
}

impl std::error::Error for Shown {}

impl Diagnostic for Shown {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let help = self.error.help()?.to_string();
        Some(Box::new(escape_controls(&help).into_owned()))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.error.labels()?.map(|l| {
            // a label is drawn on one line, after the underline
            let text = l.label().map(|t| one_line(t).into_owned());
            let span = match &self.snippet {
                Some(snippet) => snippet.shown_span(l.inner()),
                None => *l.inner(),
            };
            if l.primary() {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        });
        Some(Box::new(labels))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match &self.snippet {
            Some(snippet) => Some(snippet),
            None => self.error.source_code(),
        }
    }
}

/// The closest candidate by edit distance, for "did you mean" hints; never
/// `word` itself (a name that exists but could not be read, as a variable
/// whose own template failed, is no typo).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d > 0 && *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn did_you_mean_never_offers_the_word_itself() {
        assert_eq!(did_you_mean("x", ["x", "y"]), Some("y"));
        assert_eq!(did_you_mean("hvr_hubdb", ["hvr_hubdb"]), None);
        assert_eq!(did_you_mean("hvr_hubd", ["hvr_hubdb"]), Some("hvr_hubdb"));
    }

    fn render(e: InputError) -> String {
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_context_lines(2)
            .render_report(&mut out, &e)
            .expect("renders");
        out
    }

    fn error_at(text: &str, needle: &str) -> InputError {
        let file = SourceFile::new("pb.yml", text);
        let offset = text.find(needle).expect("needle");
        let origin = Origin {
            file,
            offset,
            len: needle.len(),
        };
        InputError::at(&origin, "bad", "here")
    }

    #[test]
    fn a_span_past_column_65535_is_drawn_cut_around_it() {
        // miette panics ("Formatting argument out of range") drawing an
        // underline that starts past column 65,535.
        let text = format!(
            "- a: 1\n  b: \"{}HERE{}\"\n  c: 2\n",
            "x".repeat(70_000),
            "y".repeat(900)
        );
        let out = render(error_at(&text, "HERE"));
        assert!(out.contains("[pb.yml:2:70007]"), "{out}");
        assert!(out.contains("…xxxx"), "{out}");
        assert!(out.contains("HEREyyyy"), "{out}");
        assert!(out.len() < 2_000, "{} bytes drawn", out.len());
        // A long span on a long line is underlined in part, and multi-byte
        // characters are not cut in half.
        let text = format!("k: \"{}{}\"\n", "é".repeat(40_000), "z".repeat(40_000));
        let out = render(error_at(&text, &"z".repeat(40_000)));
        // A long span of multi-byte characters is cut between characters.
        let text = format!("k: \"{}\"\n", "€".repeat(40_000));
        render(error_at(&text, &"€".repeat(39_000)));
        assert!(out.contains("…éé") && out.contains("éz"), "{out}");
        assert!(out.len() < 2_000, "{} bytes drawn", out.len());
    }

    #[test]
    fn errors_inside_no_log_lines_hide_source_and_values() {
        let text = "- a: 1\n- password: s3cret!\n  no_log: true\n- c: BAD\n";
        let file = SourceFile::new("pb.yml", text);
        let start = text.find("password").unwrap();
        let end = text.find("true").unwrap() + 4;
        file.add_no_log(start..end, vec!["s3cret!".into()]);
        let origin = |needle: &str| Origin {
            file: Arc::clone(&file),
            offset: text.find(needle).unwrap(),
            len: needle.len(),
        };
        let e = InputError::at(&origin("s3cret!"), "bad value `s3cret!`", "here")
            .with_help("not `s3cret!`");
        assert_eq!(
            e.message,
            "pb.yml:2:13: bad value `********` (source hidden: no_log)"
        );
        assert_eq!(e.help.as_deref(), Some("not `********`"));
        assert!(e.src.is_none());
        assert_eq!(
            e.one_line(),
            "pb.yml:2:13: bad value `********` (source hidden: no_log) (not `********`)"
        );
        // Hiding twice changes nothing.
        let again = e.hide_for_no_log(&["other".into()]);
        assert!(again.message.starts_with("pb.yml:2:13: bad value"));
        // Next to the no_log lines: the error's own line, no context.
        let out = render(InputError::at(&origin("BAD"), "bad", "here"));
        assert!(out.contains("c: BAD"), "{out}");
        assert!(!out.contains("s3cret") && !out.contains("no_log"), "{out}");
        assert!(out.contains("[pb.yml:4:6]"), "{out}");
    }

    #[test]
    fn a_span_ending_inside_a_character_is_drawn_not_a_panic() {
        let text = "a: b\nc: \u{e9}\u{e9}x\n";
        let file = SourceFile::new("pb.yml", text);
        let at = text.find('\u{e9}').unwrap();
        for (offset, len) in [(at, 1), (at + 1, 2), (at, 100), (text.len() + 5, 3)] {
            let origin = Origin {
                file: Arc::clone(&file),
                offset,
                len,
            };
            render(InputError::at(&origin, "bad", "here"));
        }
    }

    /// The snippet's lines are escaped before miette measures them: the
    /// underline sits under its token, the header keeps the file's column,
    /// on a whole file, a cut long line and a `no_log` neighbour's own line.
    #[test]
    fn control_characters_in_a_snippet_are_escaped_and_the_caret_stays_on_its_token() {
        let raw = "\x1b]0;PWNED\x07\u{9b}2J\u{202e}\r";
        let shown = "\\x1b]0;PWNED\\x07\\x9b2J\\u202e\\r";
        let long = "y".repeat(500);
        for (text, line) in [
            (format!("a: 1\r\nb: \"{raw}\" HERE\r\nc: 2\n"), 2),
            (format!("a: 1\nb: \"{long}{raw}\" HERE {long}\nc: 2\n"), 2),
        ] {
            let e = error_at(&text, "HERE");
            let out = Error::from(e).rendered();
            assert!(
                !out.contains(['\x1b', '\x07', '\u{9b}', '\u{202e}']),
                "{out:?}"
            );
            let offset = text.find("HERE").unwrap();
            let line_start = text[..offset].rfind('\n').unwrap() + 1;
            let header = format!("pb.yml:{line}:{}]", offset - line_start + 1);
            assert!(out.contains(&header), "{header} in {out}");
            let lines: Vec<&str> = out.lines().collect();
            let drawn = lines
                .iter()
                .position(|l| l.contains(shown) && l.contains("HERE"))
                .unwrap_or_else(|| panic!("{out}"));
            // in characters: the theme may draw with `│` and `─`
            let token = lines[drawn][..lines[drawn].find("HERE").unwrap()]
                .chars()
                .count();
            let underline = lines[drawn + 1].chars().position(|c| c == '─' || c == '^');
            assert_eq!(underline, Some(token), "{out}");
        }
        // CRLF line ends stay line ends, not `\r` at each line's end
        let out = Error::from(error_at("a: 1\r\nb: HERE\r\n", "HERE")).rendered();
        assert!(!out.contains("\\r"), "{out}");
        assert!(out.contains("pb.yml:2:4]"), "{out}");
        // the message, label and help
        let e = error_at("a: 1\n", "a").with_help(format!("help {raw}"));
        let e = InputError {
            message: format!("bad `{raw}`"),
            label: format!("here\n{raw}"),
            ..e
        };
        let out = Error::from(e).rendered();
        assert!(out.contains(&format!("bad `{shown}`")), "{out}");
        assert!(out.contains(&format!("help {shown}")), "{out}");
        assert!(out.contains(&format!("here\\n{shown}")), "{out}");
    }

    #[test]
    fn short_lines_are_drawn_whole_with_context() {
        let text = "- a: 1\n  b: 2\n  c: BAD\n  d: 3\n";
        let out = render(error_at(text, "BAD"));
        assert!(out.contains("[pb.yml:3:6]"), "{out}");
        assert!(out.contains("b: 2") && out.contains("d: 3"), "{out}");
    }
}
