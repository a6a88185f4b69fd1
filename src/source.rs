//! Where text came from: a loaded file (or a synthetic one) and a byte range
//! in it. Below every stage and below `error`, so errors can point at a place
//! without the error type depending on the YAML parser.
//!
//! [`SourceFile::read`], which reports an `InputError`, is defined in
//! `yaml.rs` (an inherent impl may live anywhere in the crate), so this file
//! imports nothing from baton.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A loaded text file (or a synthetic one, such as `-e` on the command line).
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Byte offset of every [`CHAR_STEP`]th char; empty when the text is
    /// ASCII (a char is then a byte). Turns a (line, column) into a byte
    /// offset without walking the line from its start: a long line of many
    /// values (a flow mapping of 50,000 keys) loads in linear time.
    char_marks: Vec<usize>,
    /// Its `no_log` plays, blocks and tasks, as the YAML loader finds them.
    no_log: Mutex<NoLogSpans>,
    /// Not readable by every user of the machine ([`is_private`]): an
    /// error names the place but shows none of its text.
    private: std::sync::atomic::AtomicBool,
}

/// Whether the file at `path` is private: its mode lacks read permission
/// for others (`o+r`), as `/etc/shadow` (0640), an SSH key or a 0600 vars
/// file. Its lines are then never shown in an error (no snippet, quoted
/// text masked), whoever runs baton: an error message may be pasted into
/// a ticket or a CI log that other people read. A file any user may read
/// shows its lines as usual, whoever owns it (showing them reveals nothing
/// the reader could not read): ordinary project files (0644) keep their
/// snippets. A path that cannot be looked at is not private (it was read).
pub fn is_private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 == 0)
}

/// The parts of a file that belong to a play, block or task with `no_log`
/// set (byte ranges), and the string values inside them. An error's snippet
/// never shows these lines, and its message has these values masked.
#[derive(Clone, Debug, Default)]
pub struct NoLogSpans {
    pub ranges: Vec<Range<usize>>,
    pub values: Vec<String>,
}

/// See [`SourceFile::char_marks`].
const CHAR_STEP: usize = 64;

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Arc<SourceFile> {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let char_marks = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(CHAR_STEP)
                .map(|(i, _)| i)
                .collect()
        };
        Arc::new(SourceFile {
            path: path.into(),
            text,
            line_starts,
            char_marks,
            no_log: Mutex::new(NoLogSpans::default()),
            private: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Mark the file private ([`is_private`]).
    pub fn mark_private(&self) {
        self.private
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether its lines must not be shown ([`is_private`]).
    pub fn private(&self) -> bool {
        self.private.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Mark `range` as part of a `no_log` play, block or task holding
    /// `values`.
    pub fn add_no_log(&self, range: Range<usize>, values: Vec<String>) {
        let mut spans = self.no_log.lock().unwrap_or_else(|e| e.into_inner());
        spans.ranges.push(range);
        spans.values.extend(values);
    }

    /// The `no_log` parts of the file that share a line with `range`
    /// (whole lines: a snippet shows lines); `None` when there are none.
    pub fn no_log_near(&self, range: Range<usize>) -> Option<NoLogSpans> {
        let spans = self.no_log.lock().unwrap_or_else(|e| e.into_inner());
        if spans.ranges.is_empty() {
            return None;
        }
        let text = &self.text;
        let start = text
            .get(..range.start.min(text.len()))
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        let end = range.end.max(range.start).min(text.len());
        let end = text
            .get(end..)
            .and_then(|t| t.find('\n'))
            .map_or(text.len(), |i| end + i);
        let ranges: Vec<Range<usize>> = spans
            .ranges
            .iter()
            .filter(|r| r.start <= end && r.end > start)
            .cloned()
            .collect();
        (!ranges.is_empty()).then(|| NoLogSpans {
            ranges,
            values: spans.values.clone(),
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

    /// Byte offset of a 1-based line and 0-based column (in chars); a
    /// column past the line's end goes on into the next lines, a place past
    /// the end is the end. O(log n).
    pub(crate) fn offset_of(&self, line: usize, col: usize) -> usize {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        if self.char_marks.is_empty() {
            return start.saturating_add(col).min(self.text.len());
        }
        let target = self.char_index(start).saturating_add(col);
        let Some(&mark) = self.char_marks.get(target / CHAR_STEP) else {
            return self.text.len();
        };
        let rest = &self.text[mark..];
        walked(target % CHAR_STEP);
        mark + rest
            .char_indices()
            .nth(target % CHAR_STEP)
            .map_or(rest.len(), |(i, _)| i)
    }

    /// How many chars come before a byte offset (a char boundary).
    fn char_index(&self, offset: usize) -> usize {
        let k = match self.char_marks.binary_search(&offset) {
            Ok(k) => return k * CHAR_STEP,
            Err(k) => k.saturating_sub(1),
        };
        let mark = self.char_marks.get(k).copied().unwrap_or(0);
        let between = self.text.get(mark..offset).map_or(0, |s| s.chars().count());
        walked(between);
        k * CHAR_STEP + between
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = match self.text.get(start..offset) {
            None => 0,
            Some(s) if self.char_marks.is_empty() => s.len(),
            Some(_) => self.char_index(offset) - self.char_index(start),
        };
        (line + 1, col + 1)
    }
}

#[cfg(test)]
thread_local! {
    /// Chars stepped over to turn places into offsets (tests prove it stays
    /// linear in the input).
    static WALKED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
fn walked(n: usize) {
    WALKED.with(|w| w.set(w.get() + n));
}

/// Chars stepped over on this thread so far (see `offset_of`), after
/// `reset`: 0.
#[cfg(test)]
pub(crate) fn chars_walked(reset: bool) -> usize {
    WALKED.with(|w| {
        let n = w.get();
        if reset {
            w.set(0);
        }
        n
    })
}

#[cfg(not(test))]
fn walked(_: usize) {}

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
        let head = self.file.text.get(self.offset..).unwrap_or_default();
        let mut end = self.offset + self.len;
        let offset = if head.starts_with(['|', '>']) {
            // A block scalar (`|`, `|-`, `>`...): its text starts on the line
            // after the header, each line indented. Line for line for `|`;
            // for `>` the right line as long as no lines were folded.
            let indent = self.block_indent(base_line);
            let offset = self
                .file
                .offset_of(base_line + line, indent + col.saturating_sub(1));
            end = end.max(self.file.offset_of(base_line + line + 1, 0));
            offset
        } else {
            let quoted = head.starts_with(['"', '\'']);
            if quoted {
                base_col += 1;
            }
            if line <= 1 {
                // First template line: same source line, shifted by the column.
                let shift = col.saturating_sub(1);
                self.file.offset_of(base_line, base_col - 1 + shift)
            } else {
                // A later line of a multi-line (quoted or plain) scalar: YAML
                // drops the continuation line's indentation.
                let at = base_line + line - 1;
                let indent = self.line_indent(at);
                // `len` counts the value's text, shorter than its lines.
                end = end.max(self.file.offset_of(at + 1, 0));
                self.file.offset_of(at, indent + col.saturating_sub(1))
            }
        };
        let offset = offset.clamp(self.offset, end.max(self.offset));
        Origin {
            file: Arc::clone(&self.file),
            offset,
            len: len.min(end.saturating_sub(offset)).max(1),
        }
    }

    /// The indentation (in chars) of a block scalar's text: its first
    /// non-blank line after the header on `header_line`.
    fn block_indent(&self, header_line: usize) -> usize {
        let text = &self.file.text;
        text.get(self.file.offset_of(header_line + 1, 0)..)
            .unwrap_or_default()
            .lines()
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| l.len() - l.trim_start_matches(' ').len())
    }

    /// The leading spaces and tabs of a 1-based line.
    fn line_indent(&self, line: usize) -> usize {
        let text = &self.file.text;
        let l = text
            .get(self.file.offset_of(line, 0)..)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default();
        l.len() - l.trim_start_matches([' ', '\t']).len()
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Every file this process read as input (playbooks, task files, roles,
/// inventories, vars files, `-e @FILE`, `-l @FILE`), in reading order. A
/// report path (`--junit`) that is one of them is refused: writing it would
/// destroy an input.
static FILES_READ: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Note that `path` was read as input.
pub fn note_read(path: &Path) {
    FILES_READ
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

/// The files read as input so far (see [`note_read`]).
pub fn files_read() -> Vec<PathBuf> {
    FILES_READ.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Why `path` cannot be read as a file: `None` for a regular file (or a
/// link to one); otherwise what it is, in words that follow its path
/// ("does not exist", "is a directory, not a file", "is a named pipe
/// (FIFO), not a regular file"). A FIFO would block the read until someone
/// writes to it; a device or a socket is no playbook either.
pub fn not_a_file(path: &Path) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Something is there: a symbolic link to nothing.
            return Some(match std::fs::read_link(path) {
                Ok(to) => format!(
                    "is a symbolic link to {}, which does not exist",
                    to.display()
                ),
                Err(_) => "does not exist".into(),
            });
        }
        // ELOOP: named for what it is, not as the OS's "too many levels".
        Err(e) if e.raw_os_error() == Some(40) => {
            return Some("is a loop of symbolic links (one of them points back)".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Some(format!(
                "cannot be read: permission denied ({e}); check the modes of the file and of the directories above it"
            ))
        }
        Err(e) => return Some(format!("cannot be read: {e}")),
        Ok(m) => m.file_type(),
    };
    if kind.is_file() {
        return None;
    }
    Some(
        if kind.is_dir() {
            "is a directory, not a file"
        } else if kind.is_fifo() {
            "is a named pipe (FIFO), not a regular file"
        } else if kind.is_socket() {
            "is a socket, not a regular file"
        } else if kind.is_block_device() || kind.is_char_device() {
            "is a device, not a regular file"
        } else {
            "is not a regular file"
        }
        .into(),
    )
}

/// Whether something is at `path` that is not a readable regular file: a
/// directory, a FIFO, a device, a dangling link, a loop of links, or a
/// path the controller may not look into. Then a "not found" would send
/// the user looking for a file that is there: callers searching candidate
/// paths name this one instead (with [`not_a_file`]).
pub fn there_but_unreadable(path: &Path) -> Option<String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        _ => not_a_file(path),
    }
}

/// The first of `candidates` that is [`there_but_unreadable`], with why,
/// as `PATH WHY` ("vars/x.yml is a directory, not a file").
pub fn first_unreadable<'a>(candidates: impl IntoIterator<Item = &'a PathBuf>) -> Option<String> {
    candidates
        .into_iter()
        .find_map(|p| there_but_unreadable(p).map(|why| format!("{} {why}", p.display())))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `offset_of` and `line_col` as the plain walk from the line's start.
    fn naive_offset(text: &str, line: usize, col: usize) -> usize {
        let start: usize = text
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum();
        let start = start.min(text.len());
        let rest = &text[start..];
        start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i)
    }

    #[test]
    fn offsets_and_columns_agree_with_a_walk_in_ascii_and_not() {
        for text in [
            "ab\ncdé\n\nxyz".to_string(),
            "é€😀a\nb".repeat(50),
            "plain ascii\nlines\n".repeat(20),
        ] {
            let file = SourceFile::new("t", text.as_str());
            let lines = text.split('\n').count();
            for line in 1..=lines + 1 {
                for col in 0..text.chars().count() + 3 {
                    let off = file.offset_of(line, col);
                    assert_eq!(off, naive_offset(&text, line, col), "{line}:{col}");
                }
            }
            for (off, _) in text.char_indices() {
                let line = text[..off].matches('\n').count() + 1;
                let start = text[..off].rfind('\n').map_or(0, |i| i + 1);
                let col = text[start..off].chars().count() + 1;
                assert_eq!(file.line_col(off), (line, col), "offset {off}");
            }
        }
    }

    /// The origin of the scalar starting at `marker` in `text`.
    fn at(text: &str, marker: &str, len: usize) -> Origin {
        Origin {
            file: SourceFile::new("p.yml", text),
            offset: text.find(marker).unwrap(),
            len,
        }
    }

    #[test]
    fn inner_places_in_a_literal_block_scalar_count_header_and_indentation() {
        let mut text = String::from("- hosts: all\n  tasks:\n    - copy:\n        content: |\n");
        for i in 1..=30 {
            text.push_str(&format!("          line {i} {{{{ v{i} }}}}\n"));
        }
        text.push_str("        dest: /tmp/x\n");
        // The value is shorter than its lines (the indentation is not in it).
        let value_len = (1..=30)
            .map(|i| format!("line {i} {{{{ v{i} }}}}\n").len())
            .sum();
        for marker in ["|\n", "|-\n"] {
            let text = text.replace("|\n", marker);
            let origin = at(&text, marker, value_len);
            // Template line 26 (`line 26 {{ v26 }}`), the `v26` at column 11.
            assert_eq!(origin.inner(26, 11, 3).describe(), "p.yml:30:21");
            assert_eq!(origin.inner(1, 1, 1).describe(), "p.yml:5:11");
        }
        // Folded: the right line while no lines were folded together.
        let folded = text.replace("|\n", ">\n");
        let origin = at(&folded, ">\n", value_len);
        assert_eq!(origin.inner(2, 1, 1).describe(), "p.yml:6:11");
    }
}
