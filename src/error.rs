//! Errors as values. Input problems carry the source span that caused them, so
//! every message can name the file, the line and what to do.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

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
}

impl InputError {
    /// An error pointing at a place in a source file.
    pub fn at(origin: &Origin, message: impl Into<String>, label: impl Into<String>) -> Self {
        let (src, span) = Snippet::around(origin);
        InputError {
            message: message.into(),
            src: Some(src),
            span: Some(span),
            label: label.into(),
            help: None,
            location: Some(origin.describe()),
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
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The error of a `no_log` task: the place only. The source snippet shows
    /// the task's arguments and the message may quote templated values, so
    /// both are hidden, as Ansible censors a `no_log` task's failure.
    pub fn redacted(self) -> Self {
        let at = self.location.map(|l| format!("{l}: ")).unwrap_or_default();
        InputError::plain(format!(
            "{at}a template or condition of a `no_log` task failed; the details are hidden because of `no_log: true` (run the task without it to see them)"
        ))
    }

    /// One line, for reporters that cannot draw a snippet.
    pub fn one_line(&self) -> String {
        let mut s = match &self.location {
            Some(loc) => format!("{loc}: {}", self.message),
            None => self.message.clone(),
        };
        if let Some(help) = &self.help {
            s.push_str(" (");
            s.push_str(help);
            s.push(')');
        }
        s
    }
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
#[derive(Clone, Debug)]
pub struct Snippet {
    name: String,
    text: Arc<str>,
    /// 0-based line in the file of `text`'s first line.
    first_line: usize,
    /// Bytes of the file's line cut off before `text`'s first line, less the
    /// `…` marker that replaces them.
    column_shift: isize,
}

impl Snippet {
    /// The snippet for `origin` and the span in it to underline.
    pub fn around(origin: &Origin) -> (Snippet, SourceSpan) {
        let text = &origin.file.text;
        let name = origin.file.display_name();
        let offset = text.floor_char_boundary(origin.offset);
        let len = origin.len.min(text.len() - offset);
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
        if !long {
            let whole = Snippet {
                name,
                text: Arc::clone(text),
                first_line: 0,
                column_shift: 0,
            };
            return (whole, SourceSpan::new(offset.into(), len));
        }
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line = &text[line_start..line_end];
        let at = offset - line_start;
        let start = line.floor_char_boundary(at.saturating_sub(CUT_CONTEXT));
        let span_len = len.min(CUT_SPAN).min(line.len() - at);
        let end = line.ceil_char_boundary(at + span_len + CUT_CONTEXT);
        let head = if start > 0 { "…" } else { "" };
        let tail = if end < line.len() { "…" } else { "" };
        let cut = format!("{head}{}{tail}", &line[start..end]);
        let (file_line, _) = origin.file.line_col(offset);
        let snippet = Snippet {
            name,
            text: cut.into(),
            first_line: file_line - 1,
            column_shift: start as isize - head.len() as isize,
        };
        let span = SourceSpan::new((head.len() + at - start).into(), span_len);
        (snippet, span)
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
        let column = if inner.line() == 0 {
            (inner.column() as isize + self.column_shift).max(0) as usize
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
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
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate by edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

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
        assert!(out.contains("…éé") && out.contains("éz"), "{out}");
        assert!(out.len() < 2_000, "{} bytes drawn", out.len());
    }

    #[test]
    fn short_lines_are_drawn_whole_with_context() {
        let text = "- a: 1\n  b: 2\n  c: BAD\n  d: 3\n";
        let out = render(error_at(text, "BAD"));
        assert!(out.contains("[pb.yml:3:6]"), "{out}");
        assert!(out.contains("b: 2") && out.contains("d: 3"), "{out}");
    }
}
