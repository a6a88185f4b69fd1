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
