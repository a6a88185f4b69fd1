//! Files on the host: content (copy, template), attributes and links (file),
//! edits in place (lineinfile, blockinfile, replace), facts about a path
//! (stat), and reading files back (slurp, fetch to the controller).

pub mod blockinfile;
pub mod copy;
pub mod fetch;
pub mod file;
pub mod lineinfile;
pub mod replace;
pub mod slurp;
pub mod stat;
pub mod template;

/// The most bytes of a file `slurp` and `fetch` carry: its base64 (4/3 of
/// it, and line breaks) must fit the 16 MiB baton keeps of a task's output
/// ([`crate::transport::capture::MAX_CAPTURE_BYTES`]).
pub const MAX_READ_BYTES: u64 = 12 << 20;

/// Shell lines (after `_p` is set and the directory case is refused) that
/// refuse a path that is not a regular file, naming its kind (`/dev/zero`
/// is a character device: read, it never ends), and a file over
/// [`MAX_READ_BYTES`], reporting its size as `size`.
pub fn regular_file_check() -> String {
    format!(
        r#"if [ ! -f "$_p" ]; then
  if [ -c "$_p" ]; then _fail chardev; elif [ -b "$_p" ]; then _fail blockdev
  elif [ -p "$_p" ]; then _fail fifo; elif [ -S "$_p" ]; then _fail socket; else _fail notfile; fi
fi
_s=$(wc -c < "$_p") || _fail read
if [ "$_s" -gt {max} ]; then _b size "$_s"; _fail toolarge; fi
"#,
        max = MAX_READ_BYTES
    )
}

/// The message for a failure reported by [`regular_file_check`], `None`
/// for another failure.
pub(crate) fn regular_file_failure(
    answer: &crate::modules::kit::answer::Answer,
    module: &str,
    src: &str,
) -> Option<String> {
    let kind = match answer.failure()? {
        "chardev" => "a character device",
        "blockdev" => "a block device",
        "fifo" => "a named pipe (FIFO)",
        "socket" => "a socket",
        "notfile" => "not a regular file",
        "toolarge" => {
            return Some(format!(
                "{src} is {} bytes; {module} carries at most {} MiB ({MAX_READ_BYTES} bytes) \
                 through the task's output; copy large files with another tool (rsync, scp, \
                 `synchronize`), or compress or split them first",
                answer.get("size").unwrap_or("too many"),
                MAX_READ_BYTES >> 20
            ))
        }
        _ => return None,
    };
    Some(format!(
        "{src} is {kind}, not a regular file; {module} reads only regular files (a device or \
         pipe may never end); copy what you need into a file first"
    ))
}
