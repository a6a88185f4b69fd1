//! Writing the commands' own output (listings, `--syntax-check`, errors)
//! without panicking: `println!`/`eprintln!` panic when the reader has gone
//! (`baton run --list-tasks pb.yml | head -1`).
//!
//! A closed stdout ends a listing quietly with exit 0, as `ls | head` looks
//! to the shell: whoever stopped reading had what they wanted. SIGPIPE is
//! not reset to its default instead (what many Rust CLIs do): baton writes
//! to ssh's and the worker shell's pipes, where a dead peer must be an error
//! it reports, not a signal that kills the run half-way. The reporters of a
//! run go on after a closed stdout for the same reason, but a run then
//! exits 1 rather than 0: its output is the record of what it changed, and
//! the rest of it was not shown (see `report::write_error_line`).

use std::io::Write;

use crate::error::exit_code;

/// Write `text` to stdout, its control characters escaped (newline and
/// tab kept: a host or file name in a listing never reaches the terminal
/// raw); the exit code to end with: 0 when written or when the reader has
/// gone, 1 (said on stderr) for any other write error, such as a full disk
/// under `> file`.
pub fn stdout_text(text: &str) -> i32 {
    stdout_raw(&crate::controls::escape_controls(text))
}

/// [`stdout_text`] without the escaping, for JSON: serde already escapes
/// what JSON must, and the output must stay byte for byte what it wrote.
pub fn stdout_raw(text: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => exit_code::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit_code::OK,
        Err(e) => {
            stderr_line(&format!("baton: cannot write the output: {e}"));
            exit_code::INTERNAL
        }
    }
}

pub use crate::controls::{stderr_line, stderr_painted};
