//! A bound on what a task's output streams may hold in baton's memory.
//!
//! A task can print without end (`shell: yes | head -c 2G`, `cat` of a huge
//! log); kept whole, its stdout ended in an aborted allocation. Every
//! transport reads each stream through [`Capture`]: the first
//! [`MAX_CAPTURE_BYTES`] are kept, the rest is read (so the script runs to
//! its end, as it would with a reader that keeps up) and counted but not
//! kept, except a short tail where the worker looks for its end-of-answer
//! marker. The task's result then holds the first 16 MiB of the stream and
//! its stderr ends with a line saying how much was dropped: a marked
//! truncation, not a failure (a module whose answer is cut fails when it
//! parses it). Output that never ends is a script that never ends: the
//! task's `timeout:` bounds it.

/// The most bytes of one output stream (stdout or stderr) of one task that
/// baton keeps: 16 MiB, the size of the largest value it keeps
/// (`plan::vars::MAX_VALUE_BYTES`; the transport may not import the plan
/// stage, so `tests/value_cap.rs` checks that the two agree).
pub const MAX_CAPTURE_BYTES: usize = 16 << 20;

/// Bytes past the cap kept at the end, where a marker may be arriving.
const KEEP_TAIL: usize = 4096;

/// One stream's captured bytes.
#[derive(Debug, Default)]
pub struct Capture {
    /// The first [`MAX_CAPTURE_BYTES`], then at most a tail of
    /// [`KEEP_TAIL`] (and one read) after them.
    pub buffer: Vec<u8>,
    /// Bytes read and not kept, between the kept head and the tail.
    pub dropped: u64,
}

impl Capture {
    /// Add bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > MAX_CAPTURE_BYTES + 2 * KEEP_TAIL {
            let cut_end = self.buffer.len() - KEEP_TAIL;
            self.dropped += (cut_end - MAX_CAPTURE_BYTES) as u64;
            self.buffer.drain(MAX_CAPTURE_BYTES..cut_end);
        }
    }

    /// Where to start looking for a marker after a push of `n` bytes whose
    /// longest line is `marker_line` bytes: the new bytes and a marker that
    /// may have begun before them, not the whole buffer again (which made
    /// reading a large output quadratic).
    pub fn search_from(&self, n: usize, marker_line: usize) -> usize {
        self.buffer.len().saturating_sub(n + marker_line)
    }

    /// The text of the stream's first `end` bytes (all when `None`), and
    /// the note to add when some of it was dropped.
    pub fn text(&self, end: Option<usize>, stream: &str) -> (String, Option<String>) {
        let end = end.unwrap_or(self.buffer.len()).min(self.buffer.len());
        let (kept, dropped) = if self.dropped > 0 || end > MAX_CAPTURE_BYTES {
            let kept = end.min(MAX_CAPTURE_BYTES);
            (kept, self.dropped + (end - kept) as u64)
        } else {
            (end, 0)
        };
        let text = String::from_utf8_lossy(&self.buffer[..kept]).into_owned();
        let note = (dropped > 0).then(|| truncation_note(stream, kept as u64 + dropped));
        (text, note)
    }
}

/// The line added to a task's stderr when a stream was cut.
pub fn truncation_note(stream: &str, total: u64) -> String {
    format!(
        "[baton: the task's {stream} was {total} bytes; only the first {} MiB were kept \
         (baton's limit per output stream); write large output to a file on the host and \
         fetch or slurp it if you need it]",
        MAX_CAPTURE_BYTES >> 20
    )
}

/// `stderr` with the notes for the streams that were cut, each on its own line.
pub fn with_notes(mut stderr: String, notes: impl IntoIterator<Item = Option<String>>) -> String {
    for note in notes.into_iter().flatten() {
        if !stderr.is_empty() && !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        stderr.push_str(&note);
        stderr.push('\n');
    }
    stderr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_kept_and_the_rest_counted_with_a_short_tail() {
        let mut c = Capture::default();
        let chunk = vec![b'y'; 1 << 20];
        for _ in 0..40 {
            c.push(&chunk);
        }
        c.push(b"END");
        assert!(c.buffer.len() <= MAX_CAPTURE_BYTES + 2 * KEEP_TAIL + (1 << 20));
        assert!(c.buffer.ends_with(b"yEND"));
        let (text, note) = c.text(None, "stdout");
        assert_eq!(text.len(), MAX_CAPTURE_BYTES);
        let note = note.expect("a note");
        assert!(note.contains("stdout was 41943043 bytes"), "{note}");
        // Under the cap: all of it, no note.
        let mut small = Capture::default();
        small.push(b"hello\n");
        assert_eq!(small.text(None, "stdout"), ("hello\n".to_string(), None));
        assert_eq!(small.text(Some(2), "stdout").0, "he");
        assert_eq!(
            with_notes("err".into(), [None, Some("n".into())]),
            "err\nn\n"
        );
    }
}
