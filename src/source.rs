//! Where text came from: a loaded file (or a synthetic one) and a byte range
//! in it. Below every stage and below `error`, so errors can point at a place
//! without the error type depending on the YAML parser.
//!
//! [`SourceFile::read`], which reports an `InputError`, is defined in
//! `yaml.rs` (an inherent impl may live anywhere in the crate), so this file
//! imports nothing from baton.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded text file (or a synthetic one, such as `-e` on the command line).
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Arc<SourceFile> {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Arc::new(SourceFile {
            path: path.into(),
            text,
            line_starts,
        })
    }

    /// The path as the operator will recognise it: relative to the current
    /// directory when the file is under it.
    pub fn display_name(&self) -> String {
        let relative = std::env::current_dir()
            .ok()
            .and_then(|cwd| self.path.strip_prefix(&cwd).ok().map(Path::to_path_buf));
        relative
            .unwrap_or_else(|| self.path.clone())
            .display()
            .to_string()
    }

    /// Byte offset of a 1-based line and 0-based column (in chars).
    pub(crate) fn offset_of(&self, line: usize, col: usize) -> usize {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let rest = &self.text[start..];
        start
            + rest
                .char_indices()
                .nth(col)
                .map(|(i, _)| i)
                .unwrap_or(rest.len())
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

/// Where a value came from: a file and a byte range in it.
#[derive(Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    pub offset: usize,
    pub len: usize,
}

impl Origin {
    /// An origin for values that have no file, e.g. `-e key=value`.
    pub fn synthetic(name: &str, text: &str) -> Origin {
        let file = SourceFile::new(name, text);
        Origin {
            len: text.len(),
            file,
            offset: 0,
        }
    }

    /// `path:line:col`
    pub fn describe(&self) -> String {
        let (line, col) = self.file.line_col(self.offset);
        format!("{}:{line}:{col}", self.file.display_name())
    }

    /// The origin moved to a line/column *inside* this value (1-based), e.g. the
    /// place of an undefined variable inside a template string.
    pub fn inner(&self, line: usize, col: usize, len: usize) -> Origin {
        let (base_line, mut base_col) = self.file.line_col(self.offset);
        if self.file.text[self.offset..].starts_with(['"', '\'']) {
            base_col += 1;
        }
        let offset = if line <= 1 {
            // First template line: same source line, shifted by the column.
            let shift = col.saturating_sub(1);
            self.file.offset_of(base_line, base_col - 1 + shift)
        } else {
            self.file
                .offset_of(base_line + line - 1, col.saturating_sub(1))
        };
        let end = self.offset + self.len;
        let offset = offset.clamp(self.offset, end.max(self.offset));
        Origin {
            file: Arc::clone(&self.file),
            offset,
            len: len.min(end.saturating_sub(offset)).max(1),
        }
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The text of a loaded file's bytes: a UTF-8 byte order mark at the start is
/// skipped (as PyYAML does); bytes that are not UTF-8 are refused with the
/// file, line and byte offset of the first bad one.
pub fn text_of(path: &std::path::Path, mut bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
        format!(
            "{}:{line}: not UTF-8 text: invalid byte 0x{:02x} at byte offset {at}",
            path.display(),
            bytes.get(at).copied().unwrap_or_default()
        )
    })
}
