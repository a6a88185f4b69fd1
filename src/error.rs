//! Errors as values. Input problems carry the source span that caused them, so
//! every message can name the file, the line and what to do.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

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
    pub src: Option<NamedSource<Arc<str>>>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
    /// `file:line:col`, kept so plain-text reporters (JSON, JUnit) can name the place.
    pub location: Option<String>,
    /// The error fails the task as a module failure would (exit 2, rescuable),
    /// not the run as invalid input (exit 4): Ansible treats a condition
    /// whose result is not a boolean that way.
    pub task_failure: bool,
}

impl InputError {
    /// An error pointing at a place in a source file.
    pub fn at(origin: &Origin, message: impl Into<String>, label: impl Into<String>) -> Self {
        InputError {
            message: message.into(),
            src: Some(NamedSource::new(
                origin.file.display_name(),
                Arc::clone(&origin.file.text),
            )),
            span: Some(SourceSpan::new(origin.offset.into(), origin.len)),
            label: label.into(),
            help: None,
            location: Some(origin.describe()),
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
            task_failure: false,
        }
    }

    /// Mark the error as failing the task, not the run (see `task_failure`).
    pub fn failing_the_task(mut self) -> Self {
        self.task_failure = true;
        self
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
