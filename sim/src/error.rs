//! Errors of the simulator's commands and the exit codes they map to.

use std::fmt;
use std::io;

/// Exit codes shared by every simulator command (documented in README.md).
pub mod exit {
    pub const OK: u8 = 0;
    /// The operation failed, or its answer is negative (compare found differences,
    /// nothing answered, a flush did not complete).
    pub const FAILED: u8 = 1;
    /// The command line, an option file or the hub catalog is wrong: the caller must fix it.
    pub const USAGE: u8 = 2;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    Usage(String),
    Failed(String),
}

impl SimError {
    pub fn usage(message: impl Into<String>) -> Self {
        SimError::Usage(message.into())
    }

    pub fn failed(message: impl Into<String>) -> Self {
        SimError::Failed(message.into())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            SimError::Usage(_) => exit::USAGE,
            SimError::Failed(_) => exit::FAILED,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            SimError::Usage(m) | SimError::Failed(m) => m,
        }
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for SimError {}

pub type SimResult<T> = Result<T, SimError>;

/// Names what was being done when an I/O operation failed.
pub trait Context<T> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> SimResult<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> SimResult<T> {
        self.map_err(|e| SimError::Failed(format!("{}: {e}", what().into())))
    }
}
